/* SPDX-License-Identifier: ISC */
/*
 * peerctl.c: the command-line client of peerd.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "call.h"
#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"
#include "event.h"
#include "monitor.h"
#include "peer.h"
#include "serve.h"
#include "stats.h"

#define PEERCTL_VERSION	"0.1.0"
#define CTL_FIELDS	20	/* keys in one peers entry */

/* Exit statuses, documented in peerctl(1). */
#define EXIT_OK		0
#define EXIT_FAILED	1	/* peerd answered with an error */
#define EXIT_USAGE	2
#define EXIT_NO_DAEMON	3	/* peerd is not running or not reachable */

struct opts {
	const char	*socket;	/* NULL: libpeer's default */
	bool		 json;
};

struct command {
	const char	*name;
	const char	*args;
	const char	*summary;	/* one line, for peerctl --help */
	const char	*help;
	int		(*fn)(const struct opts *, int, char **);
};

static int	cmd_call(const struct opts *, int, char **);
static int	cmd_connect(const struct opts *, int, char **);
static int	cmd_disconnect(const struct opts *, int, char **);
static int	cmd_id(const struct opts *, int, char **);
static int	cmd_invite(const struct opts *, int, char **);
static int	cmd_join(const struct opts *, int, char **);
static int	cmd_members(const struct opts *, int, char **);
static int	cmd_monitor(const struct opts *, int, char **);
static int	cmd_peers(const struct opts *, int, char **);
static int	cmd_ping(const struct opts *, int, char **);
static int	cmd_publish(const struct opts *, int, char **);
static int	cmd_serve(const struct opts *, int, char **);
static int	cmd_services(const struct opts *, int, char **);
static int	cmd_stats(const struct opts *, int, char **);
static int	cmd_status(const struct opts *, int, char **);
static int	cmd_subscribe(const struct opts *, int, char **);
static int	cmd_tags(const struct opts *, int, char **);
static int	cmd_topics(const struct opts *, int, char **);

static const struct command commands[] = {
	{ "call",	"SERVICE.METHOD [ARG ...]\n"
	    "       [--to NODE|GROUP|tag:KEY[=VALUE]] [--all] "
	    "[--timeout DURATION]",
	    "call a method of a service",
	    "Call METHOD of SERVICE on a node that offers it and print the\n"
	    "result as JSON on one line.  Each ARG is one JSON value (quote\n"
	    "strings: '\"text\"'); the method gets them as an array.  --to\n"
	    "picks the node (its name or 4 or more characters of its ID), a\n"
	    "group, or the nodes with a tag (tag:KEY or tag:KEY=VALUE); --all\n"
	    "calls every node that offers the service and prints one line per\n"
	    "answer; --timeout gives up after DURATION (500ms, 2s, 1m; default\n"
	    "5s).", cmd_call },
	{ "connect",	"HOST:PORT", "link to another peerd", "Link to the peerd at HOST:PORT (IPv6 as "
	    "[ADDR]:PORT) and keep\nre-linking to it while this daemon runs. "
	    "Waits for the handshake;\nfails if the first attempt does. "
	    "Needs root or the daemon's user.", cmd_connect },
	{ "disconnect",	"NODE", "close the link to a node", "Close the link to NODE (a name, or 4 or more "
	    "characters of its\nID) and stop dialing it.  Needs root or the "
	    "daemon's user.", cmd_disconnect },
	{ "id",		"", "print this node's ID", "Print this node's ID (the full base32 public key).",
	    cmd_id },
	{ "invite",	"", "print a token that lets another node join",
	    "Print a one-line token carrying this network's key and this\n"
	    "node's addresses, for peerctl join or peerd --join on a new host.\n"
	    "Anyone holding it can join the network: pass it on privately.\n"
	    "Needs root or the daemon's user.", cmd_invite },
	{ "join",	"TOKEN [--force]", "join the network of a token",
	    "Store the token's network key and link to its addresses, then\n"
	    "wait up to 10 s for a link.  A node that knows members of another\n"
	    "network refuses unless --force, which leaves that network.\n"
	    "Needs root or the daemon's user.", cmd_join },
	{ "members",	"[--group GROUP] [--hubs] [--tag KEY[=VALUE]]\n"
	    "       [--state STATE] [--name REGEX]", "list every known node",
	    "List every node this one knows of: ID, name, state (alive,\n"
	    "suspect, dead, left), incarnation, addresses, groups, tags, hub\n"
	    "flag, and round-trip time where linked.  --group shows only\n"
	    "members of GROUP, --hubs only hubs, --tag only nodes with the tag\n"
	    "KEY (with that VALUE if given; repeatable, all must match),\n"
	    "--state only nodes in STATE, --name only nodes whose name matches\n"
	    "the extended regular expression REGEX.", cmd_members },
	{ "monitor",	"[--members] [--services] [--log LEVEL]\n"
	    "       [--count N]",
	    "print changes of members and services as they happen",
	    "Print each change of a member (join, alive, suspect, dead, left,\n"
	    "forgotten) with --members, of a service on any node (registered,\n"
	    "withdrawn) with --services, and the daemon's log lines of LEVEL\n"
	    "(error, warn, info, debug) and more severe with --log, as they\n"
	    "happen; with none of them, members and services.  One line each:\n"
	    "time, kind, node name and ID, service and group, and the evidence;\n"
	    "with --json, one JSON object.  --log needs root, the daemon's user\n"
	    "or admin_group.  Messages dropped because this reader was too slow\n"
	    "are counted on standard error.  Runs until SIGINT or SIGTERM, or\n"
	    "until N messages came; reconnects if the connection to peerd is\n"
	    "lost.", cmd_monitor },
	{ "peers",	"", "list the links to other nodes", "List the links of this node: ID, name, address, "
	    "direction, state,\nround-trip time (last/average/minimum), "
	    "uptime, and bytes and\nmessages in and out.", cmd_peers },
	{ "ping",	"NODE [--count N] [--size BYTES] [--interval MS]",
	    "measure round trips to a node", "Send round trips to NODE over its link, each carrying BYTES of\n"
	    "payload (default 0), and print each round-trip time.  --count\n"
	    "defaults to 4 (0: until interrupted), --interval to 1000 ms.",
	    cmd_ping },
	{ "publish",	"TOPIC [JSON]", "send an event to its subscribers",
	    "Publish an event under TOPIC (1 to 64 of a-z 0-9 . _ -) to every\n"
	    "client subscribed to a matching pattern, on any node.  JSON, one\n"
	    "JSON value (quote strings: '\"text\"'), is the event's data; without\n"
	    "it the event has none.  Prints nothing; with --json, the sequence\n"
	    "number and how many nodes it went to.", cmd_publish },
	{ "serve",	"NAME [--group GROUP] [--jobs N]\n"
	    "       [--verbose] -- COMMAND [ARG ...]",
	    "offer a command as a service",
	    "Offer the service NAME and run COMMAND ARG ... METHOD ARGS for\n"
	    "each call, where ARGS is the call's arguments as one JSON text.\n"
	    "What the command prints is the result: its JSON value, or else a\n"
	    "string.  A command that fails fails the call with UNKNOWN and what\n"
	    "it wrote to standard error.  At most N commands run at once\n"
	    "(default 4; up to 1024 more calls wait), each until the call's\n"
	    "deadline.  Runs until SIGINT or SIGTERM; --verbose logs each call\n"
	    "on standard error.", cmd_serve },
	{ "services",	"[--service NAME]", "list the services of every node",
	    "List the services that local programs registered, on every live\n"
	    "node of the mesh: service, group, and the node offering it.\n"
	    "--service shows only NAME.", cmd_services },
	{ "stats",	"", "show this node's counters and gauges",
	    "Show the numbers this node keeps for monitoring, the same as its\n"
	    "metrics_listen address serves in Prometheus format: links and\n"
	    "their round trips, members by state, calls made and served by\n"
	    "outcome with their latency, events, bytes and messages over\n"
	    "links, failed handshakes, dropped records, control clients and\n"
	    "memory.  One line per number: METRIC LABELS VALUE; a histogram\n"
	    "shows its count and sum.  With --json, every number with its\n"
	    "type, help and histogram buckets.", cmd_stats },
	{ "status",	"", "show this node's status",
	    "Show the node's ID, name, version, uptime, mesh "
	    "listen addresses,\nprocess ID, connected clients and number of linked peers.", cmd_status },
	{ "subscribe",	"PATTERN [--count N]", "print the events of a pattern",
	    "Subscribe to PATTERN, a topic, a prefix ending in \".*\" (\"a.*\"\n"
	    "matches \"a.b\" and \"a.b.c\", not \"a\") or \"*\" (every topic), and\n"
	    "print each event on one line: TOPIC NAME SEQ DATA, where NAME is\n"
	    "the publishing node and DATA the event's data as JSON (null if\n"
	    "none); with --json, one JSON object per event.  Events dropped\n"
	    "because this reader was too slow are counted on standard error.\n"
	    "Runs until SIGINT or SIGTERM, or until N events came; reconnects\n"
	    "if the connection to peerd is lost.", cmd_subscribe },
	{ "tags",	"[set KEY=VALUE ... | unset KEY ...]",
	    "show or change this node's tags",
	    "Without arguments, list the tags this node announces in its\n"
	    "record, each with where it comes from (config, or run-time).  set\n"
	    "adds tags or changes their values, unset removes them, whether\n"
	    "configured or set at run time; either re-signs and floods the\n"
	    "record.  Changes last until peerd stops; a reload keeps them on\n"
	    "top of the configured tags.  A key is 1-64 of a-z 0-9 . _ -, a\n"
	    "value 0-256 bytes of UTF-8 without control characters; at most\n"
	    "32 tags.  set and unset need root or the daemon's user.", cmd_tags },
	{ "topics",	"", "list the subscriptions of every node",
	    "List the patterns that local programs subscribed to, on every\n"
	    "live node of the mesh: pattern, and the name and ID of the node,\n"
	    "marked local for this one.", cmd_topics },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;
	size_t	 i;

	fprintf(f, "usage: peerctl [-hV] [-s socket] [--json] command [args]\n");
	if (status != 0)
		exit(status);
	fprintf(f, "\nTalks to the local peerd over its control socket.  See "
	    "peerctl(1).\n\n"
"  -s, --socket PATH  peerd's control socket (default $PEERD_SOCKET, else\n"
"                     $XDG_RUNTIME_DIR/peerd.sock if it exists, else\n"
"                     /run/peerd/peerd.sock)\n"
"  -j, --json         print results as JSON\n"
"  -V, --version      print the version and exit\n"
"  -h, --help         print this help, or a command's with COMMAND --help\n"
"\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-11s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 peerd answered with an error, "
	    "2 usage error,\n3 peerd not running or not reachable.\n");
	exit(0);
}

static void
command_help(const struct command *c, FILE *f)
{
	fprintf(f, "usage: peerctl [-s socket] [--json] %s%s%s\n\n%s\n",
	    c->name, *c->args ? " " : "", c->args, c->help);
}

/* Connects, or reports why not; exits with EXIT_NO_DAEMON on failure. */
static struct peer *
connect_or_exit(const struct opts *o)
{
	struct peer_error	 err;
	struct peer		*p;

	if ((p = peer_open(o->socket, &err)) == NULL) {
		fprintf(stderr, "peerctl: %s\n", err.message);
		exit(err.code == PEER_UNAVAILABLE ? EXIT_NO_DAEMON : EXIT_FAILED);
	}
	return p;
}

/*
 * Reports a failed request.  Exit 3 only if the daemon itself went
 * away; an UNAVAILABLE answer about a remote node is an ordinary error.
 */
static int
fail(const struct peer *p, const struct peer_error *err)
{
	fprintf(stderr, "peerctl: %s: %s\n", peer_code_name(err->code),
	    err->message);
	return peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
}

/* Prints an encoded CBOR result as indented JSON. */
static int
print_json(const uint8_t *buf, size_t len)
{
	json_t	*j;

	if ((j = cbor_to_json(buf, len)) == NULL) {
		fprintf(stderr, "peerctl: peerd sent a result that is not "
		    "valid CBOR\n");
		return EXIT_FAILED;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(j);
	return EXIT_OK;
}

static void
print_duration(uint64_t ms)
{
	uint64_t	s = ms / 1000;

	if (s >= 86400)
		printf("%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m\n", s / 86400,
		    s % 86400 / 3600, s % 3600 / 60);
	else if (s >= 3600)
		printf("%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s\n", s / 3600,
		    s % 3600 / 60, s % 60);
	else if (s >= 60)
		printf("%" PRIu64 "m %" PRIu64 "s\n", s / 60, s % 60);
	else
		printf("%" PRIu64 ".%01" PRIu64 "s\n", s, ms % 1000 / 100);
}

static int
cmd_status(const struct opts *o, int argc, char **argv)
{
	struct peer_error	 err;
	struct peer_status	*st;
	struct peer		*p;
	uint8_t			*res;
	size_t			 len, i;
	int			 rc = EXIT_OK;

	(void)argv;
	if (argc != 1)
		return -1;
	p = connect_or_exit(o);
	if (o->json) {
		if (peer_op(p, "status", NULL, 0, 0, 0, &res, &len, &err) == -1)
			rc = fail(p, &err);
		else {
			rc = print_json(res, len);
			free(res);
		}
	} else if (peer_status(p, &st, &err) == -1)
		rc = fail(p, &err);
	else {
		printf("node      %s\n", st->node_id);
		printf("name      %s\n", st->name);
		printf("version   %s\n", st->version);
		printf("pid       %" PRIu64 "\n", st->pid);
		printf("uptime    ");
		print_duration(st->uptime_ms);
		printf("listen   ");
		for (i = 0; i < st->nlisten; i++)
			printf(" %s", st->listen[i]);
		printf("\nclients   %" PRIu64 "\n", st->clients);
		printf("peers     %" PRIu64 "\n", st->peers);
		printf("members   %" PRIu64 " alive\n", st->members);
		peer_status_free(st);
	}
	peer_close(p);
	return rc;
}

/* Runs op with body and prints the result as JSON, or hands it to fn. */
static int
run_op(const struct opts *o, const char *op, struct cbor_buf *body,
    size_t nbody, int timeout_ms, int (*fn)(const uint8_t *, size_t))
{
	struct peer_error	 err;
	struct peer		*p;
	uint8_t			*res;
	size_t			 len;
	int			 rc;

	if (body->failed) {
		fprintf(stderr, "peerctl: out of memory\n");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	if (peer_op(p, op, body->data, body->len, nbody, timeout_ms, &res,
	    &len, &err) == -1)
		rc = fail(p, &err);
	else {
		rc = o->json || fn == NULL ? print_json(res, len) : fn(res, len);
		free(res);
	}
	peer_close(p);
	cbor_buf_free(body);
	return rc;
}

/* An op that takes no arguments: the command alone on the line. */
static int
run_bare_op(const struct opts *o, int argc, const char *op,
    int (*fn)(const uint8_t *, size_t))
{
	struct cbor_buf	body = { 0 };

	if (argc != 1)
		return -1;
	return run_op(o, op, &body, 0, 0, fn);
}

static int
cmd_stats(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "stats", stats_print);
}

/* Text field of a result map, or "-". */
static const char *
text_field(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t len)
{
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;

	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_read_text(v->val, v->vallen, &s, &n) || n == 0)
		return "-";
	snprintf(buf, len, "%.*s", (int)n, s);
	return buf;
}

static uint64_t
uint_field(const struct cbor_field *f, int nf, const char *key, bool *ok)
{
	const struct cbor_field	*v;
	uint64_t		 u = 0;

	*ok = (v = cbor_field_get(f, nf, key)) != NULL &&
	    cbor_read_uint(v->val, v->vallen, &u);
	return u;
}

/* Boolean field of a result map; false if absent or not a boolean. */
static bool
bool_field(const struct cbor_field *f, int nf, const char *key)
{
	const struct cbor_field	*v;
	bool			 b = false;

	if ((v = cbor_field_get(f, nf, key)) != NULL)
		(void)cbor_read_bool(v->val, v->vallen, &b);
	return b;
}

/* Starts it on the array under key in a result map; false if none. */
static bool
list_iter(const uint8_t *res, size_t len, const char *key,
    struct cbor_iter *it)
{
	struct cbor_field	 top[4];
	const struct cbor_field	*v;
	int			 nf;

	return (nf = cbor_scan_map(res, len, top, 4)) != -1 &&
	    (v = cbor_field_get(top, nf, key)) != NULL &&
	    cbor_array_iter(v->val, v->vallen, it);
}

/* list_iter(), saying on stderr that the reply is malformed if not. */
static bool
open_list(const uint8_t *res, size_t len, const char *key,
    struct cbor_iter *it)
{
	if (list_iter(res, len, key, it))
		return true;
	fprintf(stderr, "peerctl: malformed %s reply\n", key);
	return false;
}

/*
 * The fields of the next map of a list, into f[CTL_FIELDS]; false at
 * the end.  Entries that are not maps are passed over.
 */
static bool
next_entry(struct cbor_iter *it, struct cbor_field *f, int *nf)
{
	const uint8_t	*item;
	size_t		 len;

	while (cbor_iter_next(it, &item, &len))
		if ((*nf = cbor_scan_map(item, len, f, CTL_FIELDS)) != -1)
			return true;
	return false;
}

/* Prints "VERB NAME (ID)" from a {node, name} result. */
static int
print_node(const char *verb, const uint8_t *res, size_t len)
{
	struct cbor_field	f[8];
	char			name[80], node[64];
	int			nf;

	if ((nf = cbor_scan_map(res, len, f, 8)) == -1)
		return EXIT_FAILED;
	printf("%s %s (%s)\n", verb, text_field(f, nf, "name", name,
	    sizeof(name)), text_field(f, nf, "node", node, sizeof(node)));
	return EXIT_OK;
}

static int
print_connected(const uint8_t *res, size_t len)
{
	return print_node("linked to", res, len);
}

static int
print_disconnected(const uint8_t *res, size_t len)
{
	return print_node("disconnected", res, len);
}

static int
cmd_connect(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	body = { 0 };

	if (argc != 2)
		return -1;
	cbor_put_text(&body, "addr");
	cbor_put_text(&body, argv[1]);
	/* The daemon bounds the attempt by its handshake_timeout. */
	return run_op(o, "connect", &body, 1, 65000, print_connected);
}

static int
cmd_disconnect(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	body = { 0 };

	if (argc != 2)
		return -1;
	cbor_put_text(&body, "node");
	cbor_put_text(&body, argv[1]);
	return run_op(o, "disconnect", &body, 1, 0, print_disconnected);
}

/* Microseconds as milliseconds with three decimals, or "-". */
static const char *
fmt_rtt(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t len)
{
	bool		ok;
	uint64_t	us = uint_field(f, nf, key, &ok);

	if (!ok)
		return "-";
	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
	return buf;
}

static int
print_peers(const uint8_t *res, size_t len)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	char			 node[64], name[80], addr[300], dir[8], state[16];
	char			 r1[32], r2[32], r3[32], rtt[100];
	bool			 ok;
	int			 nf;

	if (!open_list(res, len, "peers", &it))
		return EXIT_FAILED;
	printf("%-12s %-16s %-22s %-3s %-10s %-26s %-9s %s\n", "NODE", "NAME",
	    "ADDRESS", "DIR", "STATE", "RTT ms last/avg/min", "UPTIME",
	    "IN/OUT bytes (msgs)");
	while (next_entry(&it, f, &nf)) {
		snprintf(rtt, sizeof(rtt), "%s/%s/%s",
		    fmt_rtt(f, nf, "rtt_us", r1, sizeof(r1)),
		    fmt_rtt(f, nf, "rtt_avg_us", r2, sizeof(r2)),
		    fmt_rtt(f, nf, "rtt_min_us", r3, sizeof(r3)));
		printf("%-12.12s %-16s %-22s %-3s %-10s %-26s %-9" PRIu64 " "
		    "%" PRIu64 "/%" PRIu64 " (%" PRIu64 "/%" PRIu64 ")\n",
		    text_field(f, nf, "node", node, sizeof(node)),
		    text_field(f, nf, "name", name, sizeof(name)),
		    text_field(f, nf, "addr", addr, sizeof(addr)),
		    text_field(f, nf, "direction", dir, sizeof(dir)),
		    text_field(f, nf, "state", state, sizeof(state)), rtt,
		    uint_field(f, nf, "uptime_ms", &ok) / 1000,
		    uint_field(f, nf, "bytes_in", &ok),
		    uint_field(f, nf, "bytes_out", &ok),
		    uint_field(f, nf, "msgs_in", &ok),
		    uint_field(f, nf, "msgs_out", &ok));
	}
	return EXIT_OK;
}

static int
cmd_peers(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "peers", print_peers);
}

static volatile sig_atomic_t	interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Parses a whole decimal number no larger than max; -1 if it is not. */
static long long
parse_num(const char *s, long long max)
{
	char		*end;
	long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	return *end != '\0' || v > max ? -1 : v;
}

static int
cmd_ping(const struct opts *o, int argc, char **argv)
{
	struct peer_error	 err;
	struct cbor_buf		 body = { 0 };
	struct cbor_field	 f[8];
	struct peer		*p;
	const char		*node = NULL;
	uint8_t			*res;
	size_t			 len;
	long long		 count = 4, size = 0, interval = 1000, i;
	uint64_t		 rtt, min = UINT64_MAX, max = 0, sum = 0;
	unsigned		 ok = 0, lost = 0;
	bool			 good;
	int			 k, nf, rc = EXIT_OK;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--count") == 0 && k + 1 < argc)
			count = parse_num(argv[++k], 1000000);
		else if (strcmp(argv[k], "--size") == 0 && k + 1 < argc)
			size = parse_num(argv[++k], 1ll << 30);
		else if (strcmp(argv[k], "--interval") == 0 && k + 1 < argc)
			interval = parse_num(argv[++k], 3600000);
		else if (node == NULL && argv[k][0] != '-')
			node = argv[k];
		else
			return -1;
		if (count < 0 || size < 0 || interval < 0)
			return -1;
	}
	if (node == NULL)
		return -1;
	p = connect_or_exit(o);
	signal(SIGINT, on_interrupt);
	for (i = 0; (count == 0 || i < count) && !interrupted; i++) {
		if (i > 0)
			usleep((useconds_t)interval * 1000);
		if (interrupted)
			break;
		cbor_buf_reset(&body);
		cbor_put_text(&body, "node");
		cbor_put_text(&body, node);
		cbor_put_text(&body, "size");
		cbor_put_uint(&body, (uint64_t)size);
		if (peer_op(p, "ping", body.data, body.len, 2, 10000, &res,
		    &len, &err) == -1) {
			if (err.code == PEER_DEADLINE_EXCEEDED) {
				if (o->json)
					printf("{\"seq\": %lld, \"error\": "
					    "\"DEADLINE_EXCEEDED\"}\n", i + 1);
				else
					printf("no reply from %s: %s\n", node,
					    err.message);
				lost++;
				continue;
			}
			rc = fail(p, &err);
			goto done;
		}
		nf = cbor_scan_map(res, len, f, 8);
		rtt = nf == -1 ? 0 : uint_field(f, nf, "rtt_us", &good);
		free(res);
		ok++;
		sum += rtt;
		min = rtt < min ? rtt : min;
		max = rtt > max ? rtt : max;
		if (o->json)
			printf("{\"seq\": %lld, \"size\": %lld, \"rtt_us\": %"
			    PRIu64 "}\n", i + 1, size, rtt);
		else
			printf("%lld bytes to %s: seq=%lld time=%" PRIu64 ".%03"
			    PRIu64 " ms\n", size, node, i + 1, rtt / 1000,
			    rtt % 1000);
		fflush(stdout);
	}
	if (!o->json && ok > 0)
		printf("%u sent, %u answered, rtt min/avg/max = %" PRIu64 ".%03"
		    PRIu64 "/%" PRIu64 ".%03" PRIu64 "/%" PRIu64 ".%03" PRIu64
		    " ms\n", ok + lost, ok, min / 1000, min % 1000,
		    sum / ok / 1000, sum / ok % 1000, max / 1000, max % 1000);
	if (ok == 0)
		rc = EXIT_FAILED;
done:
	cbor_buf_free(&body);
	peer_close(p);
	return rc;
}

/* Joins a member's array of texts with commas into buf. */
static const char *
join_texts(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t len)
{
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*item;
	const char		*s;
	size_t			 itemlen, n, off = 0;

	buf[0] = '\0';
	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_array_iter(v->val, v->vallen, &it))
		return "-";
	while (cbor_iter_next(&it, &item, &itemlen))
		if (cbor_read_text(item, itemlen, &s, &n) && off + n + 2 < len) {
			off += (size_t)snprintf(buf + off, len - off, "%s%.*s",
			    off ? "," : "", (int)n, s);
		}
	return buf[0] ? buf : "-";
}

/* Joins a member's tags map as KEY=VALUE with commas into buf. */
static const char *
join_tags(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t len)
{
	const struct cbor_field	*v;
	struct cbor_field	 tf[64];
	const char		*s;
	size_t			 n, off = 0;
	int			 i, ntf;

	buf[0] = '\0';
	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    (ntf = cbor_scan_map(v->val, v->vallen, tf, 64)) == -1)
		return "-";
	for (i = 0; i < ntf; i++)
		if (cbor_read_text(tf[i].val, tf[i].vallen, &s, &n) &&
		    off + tf[i].keylen + n + 3 < len)
			off += (size_t)snprintf(buf + off, len - off,
			    "%s%.*s=%.*s", off ? "," : "", (int)tf[i].keylen,
			    tf[i].key, (int)n, s);
	return buf[0] ? buf : "-";
}

static int
print_members(const uint8_t *res, size_t len)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	char			 node[64], name[80], state[16], addrs[512];
	char			 groups[512], rtt[32], tags[1024];
	bool			 ok, h;
	int			 nf;

	if (!open_list(res, len, "members", &it))
		return EXIT_FAILED;
	printf("%-12s %-16s %-8s %-14s %-3s %-10s %-16s %-16s %s\n", "NODE",
	    "NAME", "STATE", "INCARNATION", "HUB", "RTT ms", "GROUPS", "TAGS",
	    "ADDRESSES");
	while (next_entry(&it, f, &nf)) {
		h = bool_field(f, nf, "hub");
		printf("%-12.12s %-16s %-8s %-14" PRIu64 " %-3s %-10s %-16s "
		    "%-16s %s\n",
		    text_field(f, nf, "node", node, sizeof(node)),
		    text_field(f, nf, "name", name, sizeof(name)),
		    text_field(f, nf, "state", state, sizeof(state)),
		    uint_field(f, nf, "incarnation", &ok), h ? "yes" : "-",
		    fmt_rtt(f, nf, "rtt_us", rtt, sizeof(rtt)),
		    join_texts(f, nf, "groups", groups, sizeof(groups)),
		    join_tags(f, nf, "tags", tags, sizeof(tags)),
		    join_texts(f, nf, "addrs", addrs, sizeof(addrs)));
	}
	return EXIT_OK;
}

/*
 * The members of a result whose name matches re, as a result of the
 * same shape in out; false if the result is malformed.  Names are
 * matched here, not by peerd: a costly pattern costs this process only.
 */
static bool
keep_named(const uint8_t *res, size_t len, const regex_t *re,
    struct cbor_buf *out)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	const uint8_t		*item;
	char			 name[80];
	size_t			 itemlen, n = 0;
	int			 nf, pass;

	for (pass = 0; pass < 2; pass++) {
		if (!open_list(res, len, "members", &it))
			return false;
		if (pass == 1) {
			cbor_put_map(out, 1);
			cbor_put_text(out, "members");
			cbor_put_array(out, n);
		}
		while (cbor_iter_next(&it, &item, &itemlen)) {
			if ((nf = cbor_scan_map(item, itemlen, f,
			    CTL_FIELDS)) == -1 || regexec(re, text_field(f,
			    nf, "name", name, sizeof(name)), 0, NULL, 0) != 0)
				continue;
			if (pass == 0)
				n++;
			else
				cbor_put_raw(out, item, itemlen);
		}
	}
	return !out->failed;
}

/* The members op with body; named, if not NULL, filters the names. */
static int
run_members(const struct opts *o, struct cbor_buf *body, size_t nbody,
    const regex_t *named)
{
	struct peer_error	 err;
	struct peer		*p;
	struct cbor_buf		 kept = { 0 };
	uint8_t			*res;
	size_t			 len;
	int			 rc;

	if (named == NULL)
		return run_op(o, "members", body, nbody, 0, print_members);
	if (body->failed) {
		fprintf(stderr, "peerctl: out of memory\n");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	if (peer_op(p, "members", body->data, body->len, nbody, 0, &res, &len,
	    &err) == -1)
		rc = fail(p, &err);
	else {
		if (!keep_named(res, len, named, &kept))
			rc = EXIT_FAILED;
		else
			rc = o->json ? print_json(kept.data, kept.len) :
			    print_members(kept.data, kept.len);
		free(res);
	}
	peer_close(p);
	cbor_buf_free(&kept);
	cbor_buf_free(body);
	return rc;
}

#define MEMBERS_TAGS_MAX	32	/* --tag options, as peerd takes */

static int
cmd_members(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	 body = { 0 };
	const char	*tags[MEMBERS_TAGS_MAX], *name = NULL;
	regex_t		 re;
	char		 why[256];
	size_t		 n = 0, ntags = 0, i;
	int		 k, rc;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--group") == 0 && k + 1 < argc) {
			cbor_put_text(&body, "group");
			cbor_put_text(&body, argv[++k]);
			n++;
		} else if (strcmp(argv[k], "--hubs") == 0) {
			cbor_put_text(&body, "hubs");
			cbor_put_bool(&body, true);
			n++;
		} else if (strcmp(argv[k], "--state") == 0 && k + 1 < argc) {
			cbor_put_text(&body, "state");
			cbor_put_text(&body, argv[++k]);
			n++;
		} else if (strcmp(argv[k], "--tag") == 0 && k + 1 < argc) {
			if (ntags == MEMBERS_TAGS_MAX) {
				fprintf(stderr, "peerctl: --tag: more than %d\n",
				    MEMBERS_TAGS_MAX);
				cbor_buf_free(&body);
				return EXIT_USAGE;
			}
			tags[ntags++] = argv[++k];
		} else if (strcmp(argv[k], "--name") == 0 && k + 1 < argc &&
		    name == NULL)
			name = argv[++k];
		else {
			cbor_buf_free(&body);
			return -1;
		}
	}
	if (ntags > 0) {
		cbor_put_text(&body, "tags");
		cbor_put_array(&body, ntags);
		for (i = 0; i < ntags; i++)
			cbor_put_text(&body, tags[i]);
		n++;
	}
	if (name == NULL)
		return run_members(o, &body, n, NULL);
	if ((rc = regcomp(&re, name, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, why, sizeof(why));
		fprintf(stderr, "peerctl: --name: %s: %s\n", name, why);
		cbor_buf_free(&body);
		return EXIT_USAGE;
	}
	rc = run_members(o, &body, n, &re);
	regfree(&re);
	return rc;
}

static int
print_token(const uint8_t *res, size_t len)
{
	struct cbor_field	f[4];
	char			token[8192];
	int			nf;

	if ((nf = cbor_scan_map(res, len, f, 4)) == -1)
		return EXIT_FAILED;
	printf("%s\n", text_field(f, nf, "token", token, sizeof(token)));
	return EXIT_OK;
}

static int
cmd_invite(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "invite", print_token);
}

static int
cmd_join(const struct opts *o, int argc, char **argv)
{
	struct peer_error	 err;
	struct peer_status	*st;
	struct cbor_buf		 body = { 0 };
	struct peer		*p;
	uint8_t			*res;
	size_t			 len;
	const char		*token = NULL;
	bool			 force = false;
	int			 k, i, rc = EXIT_FAILED;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--force") == 0)
			force = true;
		else if (token == NULL)
			token = argv[k];
		else
			return -1;
	}
	if (token == NULL)
		return -1;
	cbor_put_text(&body, "token");
	cbor_put_text(&body, token);
	cbor_put_text(&body, "force");
	cbor_put_bool(&body, force);
	p = connect_or_exit(o);
	if (peer_op(p, "join", body.data, body.len, 2, 0, &res, &len,
	    &err) == -1) {
		rc = fail(p, &err);
		goto done;
	}
	free(res);
	/* The daemon dials in the background: wait a while for a link. */
	for (i = 0; i < 100; i++) {
		if (peer_status(p, &st, &err) == -1) {
			rc = fail(p, &err);
			goto done;
		}
		if (st->peers > 0) {
			printf("joined: linked to %" PRIu64 " node%s\n",
			    st->peers, st->peers == 1 ? "" : "s");
			peer_status_free(st);
			rc = EXIT_OK;
			goto done;
		}
		peer_status_free(st);
		usleep(100000);
	}
	fprintf(stderr, "peerctl: key stored, but no link after 10 s; the "
	    "daemon keeps trying the token's addresses\n");
done:
	cbor_buf_free(&body);
	peer_close(p);
	return rc;
}

static int
print_services(const uint8_t *res, size_t len)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	char			 svc[80], group[48], node[64], name[80];
	bool			 l;
	int			 nf;

	if (!open_list(res, len, "services", &it))
		return EXIT_FAILED;
	printf("%-24s %-16s %-12s %s\n", "SERVICE", "GROUP", "NODE", "NAME");
	while (next_entry(&it, f, &nf)) {
		l = bool_field(f, nf, "local");
		printf("%-24s %-16s %-12.12s %s%s\n",
		    text_field(f, nf, "service", svc, sizeof(svc)),
		    text_field(f, nf, "group", group, sizeof(group)),
		    text_field(f, nf, "node", node, sizeof(node)),
		    text_field(f, nf, "name", name, sizeof(name)),
		    l ? " (this node)" : "");
	}
	return EXIT_OK;
}

static int
cmd_services(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	body = { 0 };
	size_t		n = 0;

	if (argc == 3 && strcmp(argv[1], "--service") == 0) {
		cbor_put_text(&body, "service");
		cbor_put_text(&body, argv[2]);
		n = 1;
	} else if (argc != 1)
		return -1;
	return run_op(o, "services", &body, n, 0, print_services);
}

/* A call's outcome, copied out of the reply callback. */
struct call_reply {
	struct peer_error	 err;
	bool			 failed;
	uint8_t			*result;
	size_t			 len;
	uint8_t			*context;	/* NULL if none */
	size_t			 contextlen;
};

static uint8_t *
copy_item(const uint8_t *buf, size_t len)
{
	uint8_t	*p;

	if ((p = malloc(len ? len : 1)) != NULL && len > 0)
		memcpy(p, buf, len);
	return p;
}

static void
on_call_reply(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct call_reply	*cr = arg;

	(void)p;
	if (r->error != NULL) {
		cr->failed = true;
		cr->err = *r->error;
		if (r->context != NULL &&
		    (cr->context = copy_item(r->context,
		    r->context_len)) != NULL)
			cr->contextlen = r->context_len;
		return;
	}
	if (r->result == NULL)
		return;
	if ((cr->result = copy_item(r->result, r->result_len)) == NULL) {
		cr->failed = true;
		cr->err.code = PEER_RESOURCE_EXHAUSTED;
		snprintf(cr->err.message, sizeof(cr->err.message),
		    "out of memory");
	} else
		cr->len = r->result_len;
}

/* Prints one encoded item as JSON on one line; NULL prints null. */
static int
print_compact(FILE *f, const uint8_t *buf, size_t len)
{
	json_t	*j;

	if (buf == NULL) {
		fprintf(f, "null\n");
		return EXIT_OK;
	}
	if ((j = cbor_to_json(buf, len)) == NULL) {
		fprintf(stderr, "peerctl: peerd sent a result that is not "
		    "valid CBOR\n");
		return EXIT_FAILED;
	}
	json_dumpf(j, f, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', f);
	json_decref(j);
	return EXIT_OK;
}

/* An error's context: text as it is (a command's stderr), else JSON. */
static void
print_context(const struct opts *o, const uint8_t *buf, size_t len)
{
	const char	*s;
	size_t		 n;

	if (!o->json && cbor_read_text(buf, len, &s, &n)) {
		print_safe(stderr, s, n, true);
		if (n == 0 || s[n - 1] != '\n')
			fputc('\n', stderr);
	} else
		(void)print_compact(stderr, buf, len);
}

/*
 * Prints the answers of call --all: as JSON, or one line each.  1 if
 * any is an error.
 */
static int
print_answers(const struct opts *o, const uint8_t *res, size_t len)
{
	struct cbor_field	 f[8], ef[8];
	const struct cbor_field	*v, *e;
	struct cbor_iter	 it;
	const uint8_t		*item;
	const char		*t;
	size_t			 itemlen;
	char			 name[80], node[64], code[32], msg[512];
	int			 nf, nef, rc = EXIT_OK;

	if (res == NULL || !cbor_array_iter(res, len, &it)) {
		fprintf(stderr, "peerctl: malformed call reply\n");
		return EXIT_FAILED;
	}
	if (o->json) {
		if (print_compact(stdout, res, len) != EXIT_OK)
			return EXIT_FAILED;
		while (cbor_iter_next(&it, &item, &itemlen))
			if ((nf = cbor_scan_map(item, itemlen, f, 8)) == -1 ||
			    cbor_field_get(f, nf, "result") == NULL)
				rc = EXIT_FAILED;
		return rc;
	}
	while (cbor_iter_next(&it, &item, &itemlen)) {
		if ((nf = cbor_scan_map(item, itemlen, f, 8)) == -1)
			continue;
		t = text_field(f, nf, "name", name, sizeof(name));
		print_safe(stdout, t, strlen(t), false);
		printf(" (%.12s): ", text_field(f, nf, "node", node,
		    sizeof(node)));
		if ((v = cbor_field_get(f, nf, "result")) != NULL) {
			if (print_compact(stdout, v->val, v->vallen) != EXIT_OK)
				rc = EXIT_FAILED;
			continue;
		}
		rc = EXIT_FAILED;
		if ((e = cbor_field_get(f, nf, "error")) == NULL ||
		    (nef = cbor_scan_map(e->val, e->vallen, ef, 8)) == -1) {
			printf("error\n");
			continue;
		}
		printf("error ");
		t = text_field(ef, nef, "code", code, sizeof(code));
		print_safe(stdout, t, strlen(t), false);
		printf(": ");
		t = text_field(ef, nef, "message", msg, sizeof(msg));
		print_safe(stdout, t, strlen(t), false);
		putchar('\n');
	}
	return rc;
}

/* Service names as the daemon lists them; NULL on failure. */
static char **
service_names(struct peer *p, size_t *n, struct peer_error *err)
{
	struct cbor_field	 f[CTL_FIELDS];
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	uint8_t			*res;
	const char		*s;
	char			**names;
	size_t			 len, sl;
	int			 nf;

	if (peer_op(p, "services", NULL, 0, 0, 0, &res, &len, err) == -1)
		return NULL;
	*n = 0;
	names = NULL;
	if (!list_iter(res, len, "services", &it) ||
	    (names = calloc(it.items + 1, sizeof(*names))) == NULL)
		goto done;
	while (next_entry(&it, f, &nf)) {
		if ((v = cbor_field_get(f, nf, "service")) == NULL ||
		    !cbor_read_text(v->val, v->vallen, &s, &sl))
			continue;
		if ((names[*n] = strndup(s, sl)) != NULL)
			(*n)++;
	}
done:
	free(res);
	if (names == NULL) {
		err->code = PEER_INTERNAL;
		snprintf(err->message, sizeof(err->message), "malformed "
		    "services reply");
	}
	return names;
}

static void
free_names(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n && names != NULL; i++)
		free(names[i]);
	free(names);
}

static int
cmd_call(const struct opts *o, int argc, char **argv)
{
	struct peer_call_opts	 co = { NULL, false, 0 };
	struct peer_error	 err;
	struct call_reply	 cr;
	struct cbor_buf		 args = { 0 };
	struct peer		*p;
	const char		*word = NULL;
	char			**names = NULL, **av, *service = NULL, msg[512];
	size_t			 nnames = 0, slen;
	uint64_t		 id;
	int			 k, nargs = 0, rc = EXIT_FAILED;

	if ((av = calloc((size_t)argc, sizeof(*av))) == NULL) {
		fprintf(stderr, "peerctl: out of memory\n");
		return EXIT_FAILED;
	}
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--to") == 0 && k + 1 < argc)
			co.to = argv[++k];
		else if (strcmp(argv[k], "--all") == 0)
			co.all = true;
		else if (strcmp(argv[k], "--timeout") == 0 && k + 1 < argc) {
			co.timeout_ms = call_duration(argv[++k],
			    CALL_TIMEOUT_MAX);
			if (co.timeout_ms == -1) {
				fprintf(stderr, "peerctl: call: --timeout: "
				    "\"%s\" is not a duration from 1ms to "
				    "24h\n", argv[k]);
				free(av);
				return EXIT_USAGE;
			}
		} else if (argv[k][0] == '-' && !isdigit((unsigned char)
		    argv[k][1])) {
			/* No JSON value starts so: an unknown option. */
			free(av);
			return -1;
		} else if (word == NULL)
			word = argv[k];
		else
			av[nargs++] = argv[k];
	}
	/* Known service names change where it splits, never whether. */
	if (word == NULL || call_split(word, NULL, 0) == 0) {
		free(av);
		return -1;
	}
	if (nargs > 0 && call_args(av, nargs, &args, msg, sizeof(msg)) == -1) {
		fprintf(stderr, "peerctl: call %s: %s\n", word, msg);
		free(av);
		cbor_buf_free(&args);
		return EXIT_USAGE;
	}
	free(av);
	if (args.failed) {
		fprintf(stderr, "peerctl: out of memory\n");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	/* With one dot there is only one way to split. */
	if (strchr(word, '.') != strrchr(word, '.') &&
	    (names = service_names(p, &nnames, &err)) == NULL &&
	    peer_fd(p) == -1) {
		rc = fail(p, &err);
		goto done;
	}
	if ((slen = call_split(word, (const char *const *)names,
	    nnames)) == 0) {
		fprintf(stderr, "peerctl: call: %s: not SERVICE.METHOD\n",
		    word);
		rc = EXIT_USAGE;
		goto done;
	}
	if ((service = strndup(word, slen)) == NULL) {
		fprintf(stderr, "peerctl: out of memory\n");
		goto done;
	}
	memset(&cr, 0, sizeof(cr));
	if (peer_call(p, service, word + slen + 1, nargs > 0 ? args.data :
	    NULL, args.len, &co, on_call_reply, &cr, &id, &err) == -1 ||
	    peer_wait(p, id, &err) == -1) {
		cr.failed = true;
		cr.err = err;
	}
	if (cr.failed) {
		fprintf(stderr, "peerctl: call %s: %s: ", word,
		    peer_code_name(cr.err.code));
		print_safe(stderr, cr.err.message, strlen(cr.err.message), false);
		fputc('\n', stderr);
		if (cr.context != NULL)
			print_context(o, cr.context, cr.contextlen);
		rc = peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
	} else if (co.all)
		rc = print_answers(o, cr.result, cr.len);
	else
		rc = print_compact(stdout, cr.result, cr.len);
	free(cr.result);
	free(cr.context);
done:
	free(service);
	free_names(names, nnames);
	cbor_buf_free(&args);
	peer_close(p);
	return rc;
}

static int
cmd_serve(const struct opts *o, int argc, char **argv)
{
	struct serve_conf	 c = { NULL, NULL, NULL, 0, 4, false };
	struct peer_error	 err;
	struct peer		*p;
	long long		 jobs;
	int			 k, rc = EXIT_OK;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--") == 0) {
			k++;
			break;
		}
		if (strcmp(argv[k], "--group") == 0 && k + 1 < argc)
			c.group = argv[++k];
		else if (strcmp(argv[k], "--jobs") == 0 && k + 1 < argc) {
			if ((jobs = parse_num(argv[++k], SERVE_JOBS_MAX)) < 1)
				return -1;
			c.jobs = (int)jobs;
		} else if (strcmp(argv[k], "--verbose") == 0)
			c.verbose = true;
		else if (c.name == NULL && argv[k][0] != '-')
			c.name = argv[k];
		else
			return -1;
	}
	/* COMMAND comes only after "--": it has options of its own. */
	if (c.name == NULL || k >= argc || strcmp(argv[k - 1], "--") != 0)
		return -1;
	c.argv = argv + k;
	c.argc = argc - k;
	p = connect_or_exit(o);
	if (serve_run(p, &c, &err) == -1) {
		fprintf(stderr, "peerctl: serve %s: %s: %s\n", c.name,
		    peer_code_name(err.code), err.message);
		rc = peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
	}
	peer_close(p);
	return rc;
}

/* The outcome of a publish, copied out of the reply callback. */
struct publish_reply {
	bool			 done;
	struct peer_error	 err;
	uint8_t			*result;
	size_t			 len;
};

static void
on_publish_reply(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct publish_reply	*pr = arg;

	pr->done = true;
	peer_stop(p);
	if (r->error != NULL)
		pr->err = *r->error;
	else if (r->result != NULL &&
	    (pr->result = copy_item(r->result, r->result_len)) != NULL)
		pr->len = r->result_len;
	else {
		pr->err.code = PEER_RESOURCE_EXHAUSTED;
		snprintf(pr->err.message, sizeof(pr->err.message),
		    "out of memory");
	}
}

static int
cmd_publish(const struct opts *o, int argc, char **argv)
{
	struct publish_reply	 pr;
	struct peer_error	 err;
	struct cbor_buf		 data = { 0 };
	struct peer		*p;
	json_error_t		 je;
	json_t			*j;
	int			 rc;

	if (argc != 2 && argc != 3)
		return -1;
	if (argc == 3) {
		if ((j = json_loadb(argv[2], strlen(argv[2]), JSON_DECODE_ANY |
		    JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je)) == NULL) {
			fprintf(stderr, "peerctl: publish: data is not JSON: "
			    "%s\n", je.text);
			return EXIT_USAGE;
		}
		/* The request map holds it: one level of the limit. */
		rc = json_to_cbor(j, CBOR_SCAN_DEPTH - 2, &data);
		json_decref(j);
		if (rc == -1) {
			fprintf(stderr, "peerctl: publish: data nests more "
			    "than %d arrays and objects\n",
			    CBOR_SCAN_DEPTH - 2);
			cbor_buf_free(&data);
			return EXIT_USAGE;
		}
		if (data.failed) {
			fprintf(stderr, "peerctl: out of memory\n");
			return EXIT_FAILED;
		}
	}
	p = connect_or_exit(o);
	memset(&pr, 0, sizeof(pr));
	if (peer_publish(p, argv[1], argc == 3 ? data.data : NULL, data.len,
	    on_publish_reply, &pr, &err) == -1 ||
	    (peer_run(p, &err) == -1 && !pr.done)) {
		pr.done = true;
		pr.err = err;
	}
	if (pr.err.code != PEER_OK)
		rc = fail(p, &pr.err);
	else
		rc = o->json ? print_json(pr.result, pr.len) : EXIT_OK;
	free(pr.result);
	cbor_buf_free(&data);
	peer_close(p);
	return rc;
}

static int
cmd_subscribe(const struct opts *o, int argc, char **argv)
{
	struct event_conf	 c = { NULL, 0, o->json };
	struct peer_error	 err;
	struct peer		*p;
	long long		 n;
	int			 k, rc = EXIT_OK;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--count") == 0 && k + 1 < argc) {
			if ((n = parse_num(argv[++k], 1000000000)) < 1)
				return -1;
			c.count = (unsigned long)n;
		} else if (c.pattern == NULL && argv[k][0] != '-')
			c.pattern = argv[k];
		else
			return -1;
	}
	if (c.pattern == NULL)
		return -1;
	p = connect_or_exit(o);
	if (event_run(p, &c, &err) == -1) {
		fprintf(stderr, "peerctl: subscribe %s: %s: %s\n", c.pattern,
		    peer_code_name(err.code), err.message);
		rc = peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
	}
	peer_close(p);
	return rc;
}

static int
cmd_monitor(const struct opts *o, int argc, char **argv)
{
	struct monitor_conf	 c;
	struct peer_error	 err;
	struct peer		*p;
	char			 why[128];
	int			 rc = EXIT_OK;

	if (monitor_parse(argc, argv, &c, why, sizeof(why)) == -1) {
		if (why[0] == '\0')
			return -1;
		fprintf(stderr, "peerctl: monitor: %s\n", why);
		return EXIT_USAGE;
	}
	c.json = o->json;
	p = connect_or_exit(o);
	if (monitor_run(p, &c, &err) == -1) {
		fprintf(stderr, "peerctl: monitor: %s: %s\n",
		    peer_code_name(err.code), err.message);
		rc = peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
	}
	peer_close(p);
	return rc;
}

static int
print_topics(const uint8_t *res, size_t len)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	const char		*t;
	char			 topic[80], node[64], name[80];
	bool			 l;
	int			 nf;

	if (!open_list(res, len, "topics", &it))
		return EXIT_FAILED;
	while (next_entry(&it, f, &nf)) {
		l = bool_field(f, nf, "local");
		t = text_field(f, nf, "topic", topic, sizeof(topic));
		print_safe(stdout, t, strlen(t), false);
		putchar(' ');
		t = text_field(f, nf, "name", name, sizeof(name));
		print_safe(stdout, t, strlen(t), false);
		printf(" (%.12s)%s\n", text_field(f, nf, "node", node,
		    sizeof(node)), l ? " local" : "");
	}
	return EXIT_OK;
}

static int
cmd_topics(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "topics", print_topics);
}

static int
print_tags(const uint8_t *res, size_t len)
{
	struct cbor_field	 top[8], tf[64], rt[64];
	const struct cbor_field	*v;
	const char		*s;
	char			 key[80];
	size_t			 n;
	int			 ntop, ntf, nrt = 0, i;

	if ((ntop = cbor_scan_map(res, len, top, 8)) == -1 ||
	    (v = cbor_field_get(top, ntop, "tags")) == NULL ||
	    (ntf = cbor_scan_map(v->val, v->vallen, tf, 64)) == -1 ||
	    ((v = cbor_field_get(top, ntop, "set")) != NULL &&
	    (nrt = cbor_scan_map(v->val, v->vallen, rt, 64)) == -1)) {
		fprintf(stderr, "peerctl: malformed tags reply\n");
		return EXIT_FAILED;
	}
	printf("%-24s %-8s %s\n", "KEY", "SOURCE", "VALUE");
	for (i = 0; i < ntf; i++) {
		if (!cbor_read_text(tf[i].val, tf[i].vallen, &s, &n))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)tf[i].keylen,
		    tf[i].key);
		printf("%-24s %-8s %.*s\n", key, cbor_field_get(rt, nrt,
		    key) != NULL ? "run-time" : "config", (int)n, s);
	}
	return EXIT_OK;
}

/*
 * peerctl tags [set KEY=VALUE ... | unset KEY ...]: the tags op, or
 * set_tags with a map to set or an array of keys to unset.
 */
static int
cmd_tags(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	 body = { 0 };
	const char	*eq;
	int		 k;
	bool		 set;

	if (argc == 1)
		return run_op(o, "tags", &body, 0, 0, print_tags);
	if (argc < 3 || (strcmp(argv[1], "set") != 0 &&
	    strcmp(argv[1], "unset") != 0))
		return -1;
	set = strcmp(argv[1], "set") == 0;
	cbor_put_text(&body, set ? "set" : "unset");
	if (set)
		cbor_put_map(&body, (size_t)argc - 2);
	else
		cbor_put_array(&body, (size_t)argc - 2);
	for (k = 2; k < argc; k++) {
		if (!set) {
			cbor_put_text(&body, argv[k]);
			continue;
		}
		if ((eq = strchr(argv[k], '=')) == NULL) {
			fprintf(stderr, "peerctl: tags set: %s is not "
			    "KEY=VALUE\n", argv[k]);
			cbor_buf_free(&body);
			return EXIT_USAGE;
		}
		cbor_put_textn(&body, argv[k], (size_t)(eq - argv[k]));
		cbor_put_text(&body, eq + 1);
	}
	return run_op(o, "set_tags", &body, 1, 0, print_tags);
}

static int
cmd_id(const struct opts *o, int argc, char **argv)
{
	struct peer	*p;

	(void)argv;
	if (argc != 1)
		return -1;
	p = connect_or_exit(o);
	if (o->json)
		printf("{\"node\": \"%s\"}\n", peer_node_id(p));
	else
		printf("%s\n", peer_node_id(p));
	peer_close(p);
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket",	required_argument, NULL, 's' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = NULL;
	struct opts		 o = { NULL, false };
	size_t			 i;
	int			 ch, rc;

	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+s:jVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'V':
			printf("peerctl %s\n", PEERCTL_VERSION);
			return EXIT_OK;
		case 'h':
			usage(EXIT_OK);
		default:
			usage(EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(EXIT_USAGE);
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1)
			usage(EXIT_OK);
		argv++;
		argc--;
		argv[1] = "--help";
		argc = 2;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			c = &commands[i];
	if (c == NULL) {
		fprintf(stderr, "peerctl: unknown command: %s (see peerctl "
		    "--help)\n", argv[0]);
		return EXIT_USAGE;
	}
	/*
	 * Command options: --json and --help may also follow the command,
	 * but not "--", after which come another program's arguments.
	 */
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			command_help(c, stdout);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			o.json = true;
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - (int)i) * sizeof(char *));
			argc--;
			i--;
		}
	}
	if ((rc = c->fn(&o, argc, argv)) == -1) {
		command_help(c, stderr);
		return EXIT_USAGE;
	}
	return rc;
}
