/* SPDX-License-Identifier: ISC */
/*
 * peerctl.c: the command-line client of peerd.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"
#include "duration.h"
#include "event.h"
#include "monitor.h"
#include "out.h"
#include "peer.h"
#include "peerctl.h"
#include "serve.h"
#include "stats.h"

#define PEERCTL_VERSION	"0.1.0"

struct command {
	const char	*name;
	const char	*args;
	const char	*summary;	/* one line, for peerctl --help */
	const char	*help;
	int		(*fn)(const struct opts *, int, char **);
};

static int	cmd_disconnect(const struct opts *, int, char **);
static int	cmd_help(const struct opts *, int, char **);
static int	cmd_id(const struct opts *, int, char **);
static int	cmd_invite(const struct opts *, int, char **);
static int	cmd_key(const struct opts *, int, char **);
static int	cmd_members(const struct opts *, int, char **);
static int	cmd_monitor(const struct opts *, int, char **);
static int	cmd_peers(const struct opts *, int, char **);
static int	cmd_publish(const struct opts *, int, char **);
static int	cmd_revoke(const struct opts *, int, char **);
static int	cmd_revoked(const struct opts *, int, char **);
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
	    "result as JSON on one line (with --json, as an indented\n"
	    "document).  Each ARG is one JSON value (quote strings:\n"
	    "'\"text\"'); the method gets them as an array.  --to picks the\n"
	    "nodes: the first of a node name, 4 or more characters of a node\n"
	    "ID, a group of the service, a group of the nodes that selects any;\n"
	    "or with tag:KEY or tag:KEY=VALUE the nodes with that tag.\n"
	    "--all calls every node that offers the service and prints one\n"
	    "line per answer as it comes; --timeout gives up after DURATION\n"
	    "(500ms, 2s, 1m; default 5s).", cmd_call },
	{ "connect",	"HOST:PORT", "link to another peerd",
	    "Link to the peerd at HOST:PORT (IPv6 as [ADDR]:PORT) and keep\n"
	    "re-linking to it while this daemon runs.  Waits for the handshake\n"
	    "(up to 65 s, counting on a terminal); fails if the first attempt\n"
	    "does.  Needs root or the daemon's user.", cmd_connect },
	{ "disconnect",	"NODE", "close the link to a node",
	    "Close the link to NODE (a name, or 4 or more characters of its\n"
	    "ID) and stop dialing it.  Needs root or the daemon's user.",
	    cmd_disconnect },
	{ "help",	"[COMMAND]", "print this help, or a command's",
	    "Print the help of peerctl, as --help does, or of COMMAND, as\n"
	    "COMMAND --help does.", cmd_help },
	{ "id",		"", "print this node's ID",
	    "Print this node's ID (the full base32 public key).", cmd_id },
	{ "invite",	"", "print a token that lets another node join",
	    "Print a one-line token carrying this network's key and this\n"
	    "node's addresses, for peerctl join or peerd --join on a new host.\n"
	    "Anyone holding it can join the network: pass it on privately.\n"
	    "Needs root or the daemon's user.", cmd_invite },
	{ "join",	"TOKEN [--force]", "join the network of a token",
	    "Store the token's network key and link to its addresses, then\n"
	    "wait up to 10 s for a link, counting on a terminal.  A node that\n"
	    "knows members of another network refuses unless --force, which\n"
	    "leaves that network.  Needs root or the daemon's user.",
	    cmd_join },
	{ "key",	"rotate [--grace DURATION]",
	    "rotate the network key",
	    "Make a new network key and send it, sealed for each member but\n"
	    "revoked ones, to every node; each takes it as it arrives, and the\n"
	    "old key still opens links for DURATION (1s to 24h; default the\n"
	    "daemon's key_grace, 10m), after which the links of nodes that\n"
	    "never took the new key close.  Prints the new generation, the\n"
	    "key's ID and how many members it was sealed for.  Only on an\n"
	    "admin node (peerd.conf's admins, or the node that made the\n"
	    "network); needs root or the daemon's user.", cmd_key },
	{ "kv",		"get KEY | put KEY JSON [--if-version V] [--ttl DURATION]\n"
	    "       | del KEY [--if-version V] | merge KEY JSON\n"
	    "       | list [PREFIX] [--limit N] [--after KEY] [--all]\n"
	    "       | where KEY | watch PREFIX [--count N]\n"
	    "       [--timeout DURATION]",
	    "read and write the replicated key-value store",
	    "Read and write the key-value store that the nodes of the mesh\n"
	    "keep together, each key on kv_replicas of them.  A KEY is 1-256\n"
	    "bytes of UTF-8 without control characters; a value is one JSON\n"
	    "value (quote strings: '\"text\"').  Every write gives the key a\n"
	    "new version, a number that grows with each write.\n"
	    "  get KEY      print the value as JSON on one line\n"
	    "  put KEY JSON store the value and print its version; with\n"
	    "               --if-version V only if the key is at version V\n"
	    "               (0: only if absent), with --ttl DURATION until then\n"
	    "  del KEY      delete the key and print the version of the delete;\n"
	    "               --if-version as for put\n"
	    "  merge KEY JSON\n"
	    "               merge a JSON object into the object stored: its keys\n"
	    "               replace the stored ones, a null removes one\n"
	    "  list [PREFIX]\n"
	    "               print KEY VERSION VALUE of the keys under PREFIX, N\n"
	    "               (--limit, default 100, at most 1000) after KEY\n"
	    "               (--after); a last line tells where more begin, or\n"
	    "               --all lists them all\n"
	    "  where KEY    print the nodes that own KEY, the coordinator marked,\n"
	    "               and the version each holds\n"
	    "  watch PREFIX print each change of a key under PREFIX (\"\" for\n"
	    "               all) on one line: CHANGE KEY VERSION WRITER [VALUE],\n"
	    "               until SIGINT or SIGTERM or N changes (--count);\n"
	    "               reconnects if the connection to peerd is lost\n"
	    "--timeout gives up after DURATION (500ms, 2s, 1m; default 5s).  A\n"
	    "write that fails with UNAVAILABLE may still have taken effect.\n"
	    "With --json: get prints {key, value, version, writer, expires},\n"
	    "put, del and merge {key, version}, list {items, next}, where\n"
	    "{key, owners}, watch one object per change.", cmd_kv },
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
	{ "notify",	"SERVICE.METHOD [ARG ...]\n"
	    "       [--to NODE|GROUP|tag:KEY[=VALUE]] [--all] "
	    "[--timeout DURATION]",
	    "call a method without waiting for an answer",
	    "Send a call of METHOD of SERVICE that wants no answer (a one-way\n"
	    "call): to one node that offers it, chosen as call does, or with\n"
	    "--all to every one.  ARG, --to and --timeout (handed to the\n"
	    "method) are as for call.  Prints nothing; with --json, how many\n"
	    "nodes it went to.  Fails only if it went to none.", cmd_notify },
	{ "peers",	"", "list the links to other nodes",
	    "List the links of this node: ID, name, address, direction,\n"
	    "state, round-trip time (last/average/minimum), uptime, and bytes\n"
	    "and messages in and out.", cmd_peers },
	{ "ping",	"NODE [--count N] [--size BYTES] [--interval MS]",
	    "measure round trips to a node",
	    "Send round trips to NODE over its link, each carrying BYTES of\n"
	    "payload (default 0), print each round-trip time, then a summary.\n"
	    "--count defaults to 4 (0: until interrupted), --interval to\n"
	    "1000 ms.", cmd_ping },
	{ "publish",	"TOPIC [JSON]", "send an event to its subscribers",
	    "Publish an event under TOPIC (1 to 64 of a-z 0-9 . _ -) to every\n"
	    "client subscribed to a matching pattern, on any node.  JSON, one\n"
	    "JSON value (quote strings: '\"text\"'), is the event's data; without\n"
	    "it the event has none.  Prints nothing; with --json, the sequence\n"
	    "number and how many nodes it went to.", cmd_publish },
	{ "revoke",	"NODE [--reason TEXT]", "revoke a node for good",
	    "Revoke NODE (its whole ID, or the name or 4 or more characters\n"
	    "of the ID of a member): every node closes its links, forgets it\n"
	    "and refuses its handshakes and records from then on, also after\n"
	    "restarts.  TEXT (up to 200 bytes) is the reason the revoked node\n"
	    "and the list show.  Only on a node listed in admins, and an admin\n"
	    "cannot be revoked.  Needs root or the daemon's user.", cmd_revoke },
	{ "revoked",	"", "list the revoked nodes",
	    "List the nodes revoked so far: ID, the admin that revoked it,\n"
	    "when (by the admin's clock) and the reason.", cmd_revoked },
	{ "serve",	"NAME [--group GROUP] [--jobs N]\n"
	    "       [--verbose] -- COMMAND [ARG ...]",
	    "offer a command as a service",
	    "Offer the service NAME and run COMMAND ARG ... METHOD ARGS for\n"
	    "each call, where ARGS is the call's arguments as one JSON text.\n"
	    "COMMAND is looked for in PATH, as the shell does; one that is not\n"
	    "found or not executable is refused at once.  What the command\n"
	    "prints is the result: its JSON value, or else a string.  A command\n"
	    "that fails fails the call with UNKNOWN and what it wrote to\n"
	    "standard error.  At most N commands run at once (default 4; up to\n"
	    "1024 more calls wait), each until the call's deadline.  Runs\n"
	    "until SIGINT or SIGTERM; --verbose logs each call on standard\n"
	    "error.", cmd_serve },
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
	    "Show the node's ID, name, version, process ID, uptime, mesh\n"
	    "listen addresses, connected clients, linked peers and live\n"
	    "members.", cmd_status },
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
	    "live node of the mesh: pattern, and the ID and name of the node,\n"
	    "marked (this node) for this one.", cmd_topics },
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
"  -j, --json         print results and errors as JSON\n"
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

struct peer *
connect_or_exit(const struct opts *o)
{
	struct peer_error	 err;
	struct peer		*p;

	if ((p = peer_open(o->socket, &err)) == NULL) {
		out_errx(err.code, "%s", err.message);
		exit(err.code == PEER_UNAVAILABLE ? EXIT_NO_DAEMON : EXIT_FAILED);
	}
	return p;
}

/* Exit 3 only if the daemon went away: UNAVAILABLE may be about a node. */
int
fail(const struct peer *p, const char *what, const struct peer_error *err)
{
	out_fail(what, err, NULL, 0);
	return peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
}

int
print_json(const uint8_t *buf, size_t len)
{
	json_t	*j;

	if ((j = cbor_to_json(buf, len)) == NULL) {
		out_errx(PEER_INTERNAL, "peerd sent a result that is not "
		    "valid CBOR");
		return EXIT_FAILED;
	}
	out_doc(j);
	return EXIT_OK;
}

bool
opt_value(const char *cmd, int argc, char **argv, int k)
{
	if (k + 1 < argc)
		return true;
	out_errx(PEER_INVALID_ARGUMENT, "%s: %s needs a value", cmd, argv[k]);
	return false;
}

bool
opt_num(const char *cmd, int argc, char **argv, int *k, long long min,
    long long max, long long *v)
{
	const char	*s;
	char		*end;
	long long	 n;

	if (!opt_value(cmd, argc, argv, *k))
		return false;
	s = argv[*k + 1];
	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n < min ||
	    n > max) {
		out_errx(PEER_INVALID_ARGUMENT, "%s: %s: \"%s\" is not a whole "
		    "number from %lld to %lld", cmd, argv[*k], s, min, max);
		return false;
	}
	*v = n;
	*k += 1;
	return true;
}

int
opt_unknown(const char *cmd, const char *arg)
{
	out_errx(PEER_INVALID_ARGUMENT, "%s: unknown option %s (see peerctl "
	    "%s --help)", cmd, arg, cmd);
	return EXIT_USAGE;
}

/* A duration as status and peers show it: 12.3s, 5m 7s, 2h 5m 7s, 3d 2h 5m. */
static const char *
fmt_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t	s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m",
		    s / 86400, s % 86400 / 3600, s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s",
		    s / 3600, s % 3600 / 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 "s", s,
		    ms % 1000 / 100);
	return buf;
}

static int
cmd_status(const struct opts *o, int argc, char **argv)
{
	struct peer_error	 err;
	struct peer_status	*st;
	struct peer		*p;
	uint8_t			*res;
	size_t			 len, i;
	char			 up[32];
	int			 rc = EXIT_OK;

	(void)argv;
	if (argc != 1)
		return -1;
	p = connect_or_exit(o);
	if (o->json) {
		if (peer_op(p, "status", NULL, 0, 0, 0, &res, &len, &err) == -1)
			rc = fail(p, NULL, &err);
		else {
			rc = print_json(res, len);
			free(res);
		}
	} else if (peer_status(p, &st, &err) == -1)
		rc = fail(p, NULL, &err);
	else {
		printf("node      %s\n", st->node_id);
		printf("name      %s\n", st->name);
		printf("version   %s\n", st->version);
		printf("pid       %" PRIu64 "\n", st->pid);
		printf("uptime    %s\n", fmt_duration(st->uptime_ms, up,
		    sizeof(up)));
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
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	if (peer_op(p, op, body->data, body->len, nbody, timeout_ms, &res,
	    &len, &err) == -1)
		rc = fail(p, NULL, &err);
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

const char *
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

bool
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
	out_errx(PEER_INTERNAL, "malformed %s reply", key);
	return false;
}

bool
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
print_disconnected(const uint8_t *res, size_t len)
{
	return print_node("disconnected", res, len);
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

static int
print_revoked_one(const uint8_t *res, size_t len)
{
	struct cbor_field	f[8];
	char			node[64], why[256];
	int			nf;

	if ((nf = cbor_scan_map(res, len, f, 8)) == -1)
		return EXIT_FAILED;
	printf("revoked %s: %s\n", text_field(f, nf, "node", node,
	    sizeof(node)), text_field(f, nf, "why", why, sizeof(why)));
	return EXIT_OK;
}

static int
cmd_revoke(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	 body = { 0 };
	const char	*node = NULL, *why = NULL;
	int		 k;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--reason") == 0) {
			if (!opt_value("revoke", argc, argv, k))
				return EXIT_USAGE;
			why = argv[++k];
		} else if (argv[k][0] == '-')
			return opt_unknown("revoke", argv[k]);
		else if (node == NULL)
			node = argv[k];
		else
			return -1;
	}
	if (node == NULL)
		return -1;
	cbor_put_text(&body, "node");
	cbor_put_text(&body, node);
	if (why != NULL) {
		cbor_put_text(&body, "why");
		cbor_put_text(&body, why);
	}
	return run_op(o, "revoke", &body, why != NULL ? 2 : 1, 0,
	    print_revoked_one);
}

static int
print_revoked(const uint8_t *res, size_t len)
{
	struct cbor_field	 f[CTL_FIELDS];
	struct cbor_iter	 it;
	char			 node[64], by[64], why[256];
	bool			 ok;
	int			 nf;

	if (!open_list(res, len, "revoked", &it))
		return EXIT_FAILED;
	printf("%-12s %-12s %-13s %s\n", "NODE", "BY", "TS", "REASON");
	while (next_entry(&it, f, &nf))
		printf("%-12.12s %-12.12s %-13" PRIu64 " %s\n",
		    text_field(f, nf, "node", node, sizeof(node)),
		    text_field(f, nf, "by", by, sizeof(by)),
		    uint_field(f, nf, "ts", &ok),
		    text_field(f, nf, "why", why, sizeof(why)));
	return EXIT_OK;
}

static int
cmd_revoked(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "revoked", print_revoked);
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
	char			 r1[32], r2[32], r3[32], rtt[100], up[32];
	bool			 ok;
	int			 nf;

	if (!open_list(res, len, "peers", &it))
		return EXIT_FAILED;
	printf("%-12s %-16s %-22s %-3s %-10s %-26s %-10s %s\n", "NODE", "NAME",
	    "ADDRESS", "DIR", "STATE", "RTT ms last/avg/min", "UPTIME",
	    "IN/OUT bytes (msgs)");
	while (next_entry(&it, f, &nf)) {
		snprintf(rtt, sizeof(rtt), "%s/%s/%s",
		    fmt_rtt(f, nf, "rtt_us", r1, sizeof(r1)),
		    fmt_rtt(f, nf, "rtt_avg_us", r2, sizeof(r2)),
		    fmt_rtt(f, nf, "rtt_min_us", r3, sizeof(r3)));
		printf("%-12.12s %-16s %-22s %-3s %-10s %-26s %-10s "
		    "%" PRIu64 "/%" PRIu64 " (%" PRIu64 "/%" PRIu64 ")\n",
		    text_field(f, nf, "node", node, sizeof(node)),
		    text_field(f, nf, "name", name, sizeof(name)),
		    text_field(f, nf, "addr", addr, sizeof(addr)),
		    text_field(f, nf, "direction", dir, sizeof(dir)),
		    text_field(f, nf, "state", state, sizeof(state)), rtt,
		    fmt_duration(uint_field(f, nf, "uptime_ms", &ok), up,
		    sizeof(up)),
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
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	if (peer_op(p, "members", body->data, body->len, nbody, 0, &res, &len,
	    &err) == -1)
		rc = fail(p, NULL, &err);
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
		if (strcmp(argv[k], "--group") == 0) {
			if (!opt_value("members", argc, argv, k)) {
				cbor_buf_free(&body);
				return EXIT_USAGE;
			}
			cbor_put_text(&body, "group");
			cbor_put_text(&body, argv[++k]);
			n++;
		} else if (strcmp(argv[k], "--hubs") == 0) {
			cbor_put_text(&body, "hubs");
			cbor_put_bool(&body, true);
			n++;
		} else if ((strcmp(argv[k], "--state") == 0 ||
		    strcmp(argv[k], "--tag") == 0 ||
		    strcmp(argv[k], "--name") == 0) &&
		    !opt_value("members", argc, argv, k)) {
			cbor_buf_free(&body);
			return EXIT_USAGE;
		} else if (strcmp(argv[k], "--state") == 0) {
			cbor_put_text(&body, "state");
			cbor_put_text(&body, argv[++k]);
			n++;
		} else if (strcmp(argv[k], "--tag") == 0) {
			if (ntags == MEMBERS_TAGS_MAX) {
				out_errx(PEER_INVALID_ARGUMENT, "--tag: more "
				    "than %d", MEMBERS_TAGS_MAX);
				cbor_buf_free(&body);
				return EXIT_USAGE;
			}
			tags[ntags++] = argv[++k];
		} else if (strcmp(argv[k], "--name") == 0) {
			if (name != NULL) {
				out_errx(PEER_INVALID_ARGUMENT, "members: "
				    "--name given twice");
				cbor_buf_free(&body);
				return EXIT_USAGE;
			}
			name = argv[++k];
		} else {
			cbor_buf_free(&body);
			return argv[k][0] == '-' ? opt_unknown("members", argv[k]) :
			    -1;
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
		out_errx(PEER_INVALID_ARGUMENT, "--name: %s: %s", name, why);
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
print_rotated(const uint8_t *res, size_t len)
{
	struct cbor_field	f[8];
	char			kid[32];
	bool			ok;
	uint64_t		gen, n;
	int			nf;

	if ((nf = cbor_scan_map(res, len, f, 8)) == -1)
		return EXIT_FAILED;
	gen = uint_field(f, nf, "gen", &ok);
	n = uint_field(f, nf, "members", &ok);
	printf("network key generation %" PRIu64 " (kid %s), sealed for %"
	    PRIu64 " members\n", gen, text_field(f, nf, "kid", kid,
	    sizeof(kid)), n);
	return EXIT_OK;
}

static int
cmd_key(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf	 body = { 0 };
	uint64_t	 grace = 0;
	int		 k;

	if (argc < 2 || strcmp(argv[1], "rotate") != 0)
		return -1;
	for (k = 2; k < argc; k++) {
		if (strcmp(argv[k], "--grace") == 0 && k + 1 < argc) {
			if (duration_parse(argv[++k], &grace) == -1 ||
			    grace < 1000 || grace > 24 * 3600 * 1000) {
				out_errx(PEER_INVALID_ARGUMENT, "key rotate: "
				    "--grace: \"%s\" is not a duration from "
				    "1s to 24h", argv[k]);
				return EXIT_USAGE;
			}
		} else if (argv[k][0] == '-' && strcmp(argv[k], "--grace") != 0)
			return opt_unknown("key rotate", argv[k]);
		else
			return -1;
	}
	if (grace > 0) {
		cbor_put_text(&body, "grace");
		cbor_put_uint(&body, grace);
	}
	return run_op(o, "key_rotate", &body, grace > 0 ? 1 : 0, 0,
	    print_rotated);
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

	if (argc >= 2 && strcmp(argv[1], "--service") == 0) {
		if (!opt_value("services", argc, argv, 1))
			return EXIT_USAGE;
		if (argc != 3)
			return -1;
		cbor_put_text(&body, "service");
		cbor_put_text(&body, argv[2]);
		n = 1;
	} else if (argc >= 2 && argv[1][0] == '-')
		return opt_unknown("services", argv[1]);
	else if (argc != 1)
		return -1;
	return run_op(o, "services", &body, n, 0, print_services);
}

static int
cmd_serve(const struct opts *o, int argc, char **argv)
{
	struct serve_conf	 c = { NULL, NULL, NULL, 0, 4, false };
	struct peer_error	 err;
	struct peer		*p;
	long long		 jobs;
	char			 what[300];
	int			 k, rc = EXIT_OK;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--") == 0) {
			k++;
			break;
		}
		if (strcmp(argv[k], "--group") == 0) {
			if (!opt_value("serve", argc, argv, k))
				return EXIT_USAGE;
			c.group = argv[++k];
		} else if (strcmp(argv[k], "--jobs") == 0) {
			if (!opt_num("serve", argc, argv, &k, 1, SERVE_JOBS_MAX,
			    &jobs))
				return EXIT_USAGE;
			c.jobs = (int)jobs;
		} else if (strcmp(argv[k], "--verbose") == 0)
			c.verbose = true;
		else if (argv[k][0] == '-')
			return opt_unknown("serve", argv[k]);
		else if (c.name == NULL)
			c.name = argv[k];
		else
			return -1;
	}
	/* COMMAND comes only after "--": it has options of its own. */
	if (c.name == NULL || k >= argc || strcmp(argv[k - 1], "--") != 0)
		return -1;
	c.argv = argv + k;
	c.argc = argc - k;
	/* Before registering: a command that cannot run fails every call. */
	if (serve_find_command(c.argv[0], what, sizeof(what)) == -1) {
		out_errx(PEER_INVALID_ARGUMENT, "serve %s: %s", c.name, what);
		return EXIT_USAGE;
	}
	p = connect_or_exit(o);
	if (serve_run(p, &c, &err) == -1) {
		snprintf(what, sizeof(what), "serve %s", c.name);
		rc = fail(p, what, &err);
	}
	peer_close(p);
	return rc;
}

uint8_t *
copy_item(const uint8_t *buf, size_t len)
{
	uint8_t	*p;

	if ((p = malloc(len ? len : 1)) != NULL && len > 0)
		memcpy(p, buf, len);
	return p;
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
			out_errx(PEER_INVALID_ARGUMENT, "publish: data is not "
			    "JSON: %s", je.text);
			return EXIT_USAGE;
		}
		/* The request map holds it: one level of the limit. */
		rc = json_to_cbor(j, CBOR_SCAN_DEPTH - 2, &data);
		json_decref(j);
		if (rc == -1) {
			out_errx(PEER_INVALID_ARGUMENT, "publish: data nests "
			    "more than %d arrays and objects",
			    CBOR_SCAN_DEPTH - 2);
			cbor_buf_free(&data);
			return EXIT_USAGE;
		}
		if (data.failed) {
			out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
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
		rc = fail(p, "publish", &pr.err);
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

	char			 what[300];

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--count") == 0) {
			if (!opt_num("subscribe", argc, argv, &k, 1,
			    1000000000, &n))
				return EXIT_USAGE;
			c.count = (unsigned long)n;
		} else if (argv[k][0] == '-')
			return opt_unknown("subscribe", argv[k]);
		else if (c.pattern == NULL)
			c.pattern = argv[k];
		else
			return -1;
	}
	if (c.pattern == NULL)
		return -1;
	p = connect_or_exit(o);
	if (event_run(p, &c, &err) == -1) {
		snprintf(what, sizeof(what), "subscribe %s", c.pattern);
		rc = fail(p, what, &err);
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
		out_errx(PEER_INVALID_ARGUMENT, "monitor: %s", why);
		return EXIT_USAGE;
	}
	c.json = o->json;
	p = connect_or_exit(o);
	if (monitor_run(p, &c, &err) == -1)
		rc = fail(p, "monitor", &err);
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
	printf("%-24s %-12s %s\n", "PATTERN", "NODE", "NAME");
	while (next_entry(&it, f, &nf)) {
		l = bool_field(f, nf, "local");
		t = text_field(f, nf, "topic", topic, sizeof(topic));
		print_safe(stdout, t, strlen(t), false);
		printf("%*s %-12.12s ", t != NULL && strlen(t) < 24 ?
		    (int)(24 - strlen(t)) : 0, "", text_field(f, nf, "node",
		    node, sizeof(node)));
		t = text_field(f, nf, "name", name, sizeof(name));
		print_safe(stdout, t, strlen(t), false);
		printf("%s\n", l ? " (this node)" : "");
	}
	return EXIT_OK;
}

static int
cmd_topics(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	return run_bare_op(o, argc, "topics", print_topics);
}

static const struct command *
find_command(const char *name)
{
	size_t	i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static int
cmd_help(const struct opts *o, int argc, char **argv)
{
	const struct command	*c;

	(void)o;
	if (argc == 1)
		usage(EXIT_OK);
	if (argc != 2)
		return -1;
	if ((c = find_command(argv[1])) == NULL) {
		out_errx(PEER_INVALID_ARGUMENT, "unknown command: %s (see "
		    "peerctl --help)", argv[1]);
		return EXIT_USAGE;
	}
	command_help(c, stdout);
	return EXIT_OK;
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
		out_errx(PEER_INTERNAL, "malformed tags reply");
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
			out_errx(PEER_INVALID_ARGUMENT, "tags set: %s is not "
			    "KEY=VALUE", argv[k]);
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
	json_t		*j;

	(void)argv;
	if (argc != 1)
		return -1;
	p = connect_or_exit(o);
	if (o->json) {
		if ((j = json_object()) != NULL)
			json_object_set_new(j, "node",
			    json_string(peer_node_id(p)));
		out_doc(j);
	} else
		printf("%s\n", peer_node_id(p));
	peer_close(p);
	return EXIT_OK;
}

/* The usage line of c, on stderr: its arguments were not right. */
static void
command_usage(const struct command *c)
{
	char	args[256];
	size_t	i, n = 0;

	/* One line: the continuation lines of args joined. */
	for (i = 0; c->args[i] != '\0' && n + 1 < sizeof(args); i++) {
		if (c->args[i] == '\n') {
			while (c->args[i + 1] == ' ')
				i++;
			args[n++] = ' ';
		} else
			args[n++] = c->args[i];
	}
	args[n] = '\0';
	if (out_json())
		out_errx(PEER_INVALID_ARGUMENT, "usage: peerctl %s%s%s (see "
		    "peerctl %s --help)", c->name, n > 0 ? " " : "", args,
		    c->name);
	else
		fprintf(stderr, "usage: peerctl [-s socket] [--json] %s%s%s\n"
		    "(see peerctl %s --help)\n", c->name, n > 0 ? " " : "",
		    args, c->name);
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
	const struct command	*c;
	struct opts		 o = { NULL, false };
	size_t			 i;
	int			 ch, rc;

	/* Our own messages: "peerctl:", not argv[0], as everywhere. */
	opterr = 0;
	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+s:jVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			out_set_json(true);
			break;
		case 'V':
			printf("peerctl %s\n", PEERCTL_VERSION);
			return EXIT_OK;
		case 'h':
			usage(EXIT_OK);
		default:
			if (optopt == 's' || (optopt == 0 &&
			    strncmp(argv[optind - 1], "--socket", 8) == 0))
				out_errx(PEER_INVALID_ARGUMENT, "%s needs a "
				    "value", argv[optind - 1]);
			else if (optopt != 0)
				out_errx(PEER_INVALID_ARGUMENT, "unknown option "
				    "-%c (see peerctl --help)", optopt);
			else
				out_errx(PEER_INVALID_ARGUMENT, "unknown option "
				    "%s (see peerctl --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 && out_json()) {
		out_errx(PEER_INVALID_ARGUMENT, "no command (see peerctl "
		    "--help)");
		return EXIT_USAGE;
	}
	if (argc == 0)
		usage(EXIT_USAGE);
	if ((c = find_command(argv[0])) == NULL) {
		out_errx(PEER_INVALID_ARGUMENT, "unknown command: %s (see "
		    "peerctl --help)", argv[0]);
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
			out_set_json(true);
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - (int)i) * sizeof(char *));
			argc--;
			i--;
		}
	}
	if ((rc = c->fn(&o, argc, argv)) == -1) {
		command_usage(c);
		return EXIT_USAGE;
	}
	return rc;
}
