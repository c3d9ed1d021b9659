/* SPDX-License-Identifier: ISC */
/*
 * options.c: peerd's command line.  Most options set a config key, and
 * are applied over the config file each time the configuration is read,
 * at start-up and on SIGHUP.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "options.h"

#define OVERRIDES_MAX	(CONFIG_LISTEN_MAX + CONFIG_BOOTSTRAP_MAX + 32)

/* Settings from the command line, applied over the config file. */
struct override {
	const char	*key;
	const char	*value;
};

static struct override	overrides[OVERRIDES_MAX];
static int		noverrides;

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: peerd [-hnV] [-b host:port] [-c file] [-o key=value] [-S socket]\n"
"             [--state-dir dir] [--listen addr:port] [--name name]\n"
"             [--log-level level] [--join token [--force]]\n");
	if (status == 0)
		fprintf(f, "\n"
"Runs a peerd node in the foreground, serving local clients on a control\n"
"socket.  See peerd(8).\n\n"
"  -b, --bootstrap HOST:PORT\n"
"                         a peer to join through, dialed again only while\n"
"                         no link is up; repeat for more (replaces the\n"
"                         config file's bootstrap)\n"
"  -c, --config FILE      config file (default " CONFIG_PATH_DEFAULT ",\n"
"                         used only if it exists)\n"
"  -o KEY=VALUE           set any config key, as a line of the config file\n"
"                         would; repeat for more\n"
"  -S, --socket PATH      control socket (default /run/peerd/peerd.sock as\n"
"                         root, else $XDG_RUNTIME_DIR/peerd.sock)\n"
"      --state-dir DIR    keys and caches (default /var/lib/peerd as root,\n"
"                         else $XDG_STATE_HOME/peerd)\n"
"  -l, --listen ADDR:PORT mesh TCP address; repeat for more (default\n"
"                         0.0.0.0:7654 and [::]:7654; port 0 picks one)\n"
"      --name NAME        node name (default: the short host name)\n"
"      --log-level LEVEL  error, warn, info (default) or debug\n"
"      --join TOKEN       join the network of a token from peerctl invite:\n"
"                         store its key and link to its addresses\n"
"      --force            let --join leave the network this node was in\n"
"  -n, --check-config     check the configuration, print it, and exit\n"
"  -V, --version          print the version and exit\n"
"  -h, --help             print this help and exit\n"
"\nExit status: 0 after a clean shutdown, 1 if the daemon could not start\n"
"or failed, 2 for a bad option or configuration.\n");
	exit(status);
}

static void
add_override(const char *key, const char *value)
{
	if (noverrides == OVERRIDES_MAX) {
		fprintf(stderr, "peerd: too many options\n");
		exit(2);
	}
	overrides[noverrides].key = key;
	overrides[noverrides++].value = value;
}

/* -o KEY=VALUE: splits it in place into an override. */
static void
add_option(char *kv)
{
	char	*eq;

	if ((eq = strchr(kv, '=')) == NULL || eq == kv) {
		fprintf(stderr, "peerd: -o %s: expected KEY=VALUE\n", kv);
		exit(2);
	}
	*eq = '\0';
	add_override(kv, eq + 1);
}

int
options_config(const struct options *o, struct config *c, char *err,
    size_t errlen)
{
	const char	*path = o->config_path != NULL ? o->config_path :
			    CONFIG_PATH_DEFAULT;
	int		 i;

	config_init(c);
	if (o->config_path != NULL || access(path, F_OK) == 0) {
		if (config_load(c, path, err, errlen) == -1)
			goto fail;
	}
	for (i = 0; i < noverrides; i++)
		if (config_override(c, overrides[i].key, overrides[i].value,
		    err, errlen) == -1)
			goto fail;
	/* After -o, which may name another service_dir. */
	if (config_load_services(c, path, err, errlen) == -1 ||
	    config_finish(c, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	config_free(c);
	return -1;
}

void
options_parse(int argc, char *argv[], struct options *o)
{
	static const struct option longopts[] = {
		{ "bootstrap",	  required_argument, NULL, 'b' },
		{ "config",	  required_argument, NULL, 'c' },
		{ "socket",	  required_argument, NULL, 'S' },
		{ "state-dir",	  required_argument, NULL, 's' },
		{ "listen",	  required_argument, NULL, 'l' },
		{ "name",	  required_argument, NULL, 'N' },
		{ "log-level",	  required_argument, NULL, 'L' },
		{ "check-config", no_argument,	     NULL, 'n' },
		{ "join",	  required_argument, NULL, 'J' },
		{ "force",	  no_argument,	     NULL, 'F' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "b:c:o:S:l:nVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			add_override("bootstrap", optarg);
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'o':
			add_option(optarg);
			break;
		case 'S':
			add_override("socket", optarg);
			break;
		case 's':
			add_override("state_dir", optarg);
			break;
		case 'l':
			add_override("listen", optarg);
			break;
		case 'N':
			add_override("name", optarg);
			break;
		case 'L':
			add_override("log_level", optarg);
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'J':
			/* The token holds the network key: keep it out of ps. */
			if ((o->join = strdup(optarg)) == NULL)
				fatal("--join");
			memset(optarg, 'x', strlen(optarg));
			break;
		case 'F':
			o->force = true;
			break;
		case 'V':
			printf("peerd %s\n", PEERD_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}
