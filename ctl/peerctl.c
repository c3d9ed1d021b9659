/* SPDX-License-Identifier: ISC */
/*
 * peerctl.c: the command-line client of peerd.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cbor_json.h"
#include "peer.h"

#define PEERCTL_VERSION	"0.1.0"

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
	const char	*help;
	int		(*fn)(const struct opts *, int, char **);
};

static int	cmd_id(const struct opts *, int, char **);
static int	cmd_status(const struct opts *, int, char **);

static const struct command commands[] = {
	{ "id",		"", "Print this node's ID (the full base32 public key).",
	    cmd_id },
	{ "status",	"", "Show the node's ID, name, version, uptime and mesh "
	    "listen\naddresses.", cmd_status },
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
		fprintf(f, "  %-8s %.*s\n", commands[i].name,
		    (int)strcspn(commands[i].help, "\n"), commands[i].help);
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

static int
fail(const struct peer_error *err)
{
	fprintf(stderr, "peerctl: %s: %s\n", peer_code_name(err->code),
	    err->message);
	return err->code == PEER_UNAVAILABLE ? EXIT_NO_DAEMON : EXIT_FAILED;
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
			rc = fail(&err);
		else {
			rc = print_json(res, len);
			free(res);
		}
	} else if (peer_status(p, &st, &err) == -1)
		rc = fail(&err);
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
		peer_status_free(st);
	}
	peer_close(p);
	return rc;
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
	/* Command options: --json and --help may also follow the command. */
	for (i = 1; i < (size_t)argc; i++) {
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
