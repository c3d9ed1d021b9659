/* SPDX-License-Identifier: ISC */
/*
 * peerd.c: start-up, signals and shutdown of the daemon.
 */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "call.h"
#include "config.h"
#include "discover.h"
#include "events.h"
#include "control.h"
#include "identity.h"
#include "join.h"
#include "listen.h"
#include "log.h"
#include "gossip.h"
#include "mesh.h"
#include "notify.h"
#include "peerd.h"
#include "registry.h"
#include "route.h"
#include "serve.h"

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
"                         a peer to link to and keep re-linking to; repeat\n"
"                         for more (replaces the config file's bootstrap)\n"
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

/*
 * Builds the configuration: defaults, then the file, then the command
 * line.  -1 with the reason in err.
 */
static int
load_config(struct config *c, const char *path, bool path_given, char *err,
    size_t errlen)
{
	int	i;

	config_init(c);
	if (path_given || access(path, F_OK) == 0) {
		if (config_load(c, path, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < noverrides; i++)
		if (config_override(c, overrides[i].key, overrides[i].value,
		    err, errlen) == -1)
			return -1;
	return config_finish(c, err, errlen);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct peerd	*d = arg;

	(void)what;
	log_info("%s: shutting down", strsignal((int)sig));
	event_base_loopexit(d->base, NULL);
}

/* SIGHUP: re-reads the configuration and applies the log level. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct peerd	*d = arg;
	struct config	 c;
	char		 err[512];

	(void)sig; (void)what;
	notify_reloading();
	if (load_config(&c, d->config_path ? d->config_path :
	    CONFIG_PATH_DEFAULT, d->config_path != NULL, err,
	    sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the running configuration", err);
	else {
		/* Say so at whichever of the old and new levels is louder. */
		if (c.log_level >= LOG_LEVEL_INFO)
			log_set_level(c.log_level);
		log_info("reload: log_level %s", log_level_name(c.log_level));
		log_set_level(c.log_level);
		d->conf.log_level = c.log_level;
	}
	notify_ready(d->base, d->status);
}

/* Clients and links each take a descriptor: allow what the hard limit does. */
static void
raise_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Runs the loop until the links' queues are written, 500 ms at most. */
static void
drain_links(struct peerd *d)
{
	struct timeval	tv = { 0, 500000 };

	event_base_loopexit(d->base, &tv);
	while (mesh_queued(d->mesh) > 0 &&
	    event_base_loop(d->base, EVLOOP_ONCE) == 0 &&
	    !event_base_got_exit(d->base))
		;
}

static void
on_accept(int fd, const struct sockaddr *sa, void *arg)
{
	struct peerd	*d = arg;

	mesh_accept(d->mesh, fd, sa);
}

static struct event *
add_signal(struct peerd *d, int sig, event_callback_fn fn)
{
	struct event	*ev;

	if ((ev = evsignal_new(d->base, sig, fn, d)) == NULL ||
	    event_add(ev, NULL) == -1)
		fatalx("cannot watch signal %d", sig);
	return ev;
}

int
main(int argc, char *argv[])
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
	struct peerd	 d;
	struct event	*sigs[3];
	const char	*path = CONFIG_PATH_DEFAULT;
	char		 err[512];
	char		*join = NULL;
	bool		 check_only = false, force = false;
	int		 ch, rc, status = 0;
	size_t		 i;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "b:c:o:S:l:nVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			add_override("bootstrap", optarg);
			break;
		case 'c':
			path = d.config_path = optarg;
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
			check_only = true;
			break;
		case 'J':
			/* The token holds the network key: keep it out of ps. */
			if ((join = strdup(optarg)) == NULL)
				fatal("--join");
			memset(optarg, 'x', strlen(optarg));
			break;
		case 'F':
			force = true;
			break;
		case 'V':
			printf("peerd %s\n", PEERD_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);

	if (load_config(&d.conf, path, d.config_path != NULL, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "peerd: %s\n", err);
		return 2;
	}
	if (check_only) {
		config_dump(&d.conf, stdout);
		return 0;
	}
	if (force && join == NULL) {
		fprintf(stderr, "peerd: --force goes with --join\n");
		return 2;
	}
	/* Before anything in the state directory is read or written. */
	if (state_dir_lock(d.conf.state_dir) == -1)
		return 1;
	if (join != NULL) {
		rc = join_at_start(&d.conf, join, force, err, sizeof(err));
		/* It holds the network key: no copy outlives its use. */
		sodium_memzero(join, strlen(join));
		free(join);
		if (rc == -1) {
			fprintf(stderr, "peerd: %s\n", err);
			return 1;
		}
	}
	log_set_level(d.conf.log_level);
	if (d.config_path == NULL && access(path, F_OK) == -1)
		log_info("no %s: running on defaults", path);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	if (identity_load(&d.id, d.conf.state_dir) == -1)
		fatalx("cannot load the node identity from %s",
		    d.conf.state_dir);
	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	d.started_at = time(NULL);
	d.started_ms = peerd_now_ms();
	sigs[0] = add_signal(&d, SIGTERM, on_term);
	sigs[1] = add_signal(&d, SIGINT, on_term);
	sigs[2] = add_signal(&d, SIGHUP, on_hup);

	if ((d.listeners = listeners_open(d.base, d.conf.listen,
	    d.conf.nlisten, on_accept, &d)) == NULL)
		fatalx("cannot listen for mesh connections");
	if ((d.control = control_open(&d)) == NULL)
		fatalx("cannot open the control socket");
	if ((d.gossip = gossip_new(&d)) == NULL)
		fatalx("cannot start membership");
	if ((d.registry = registry_new(&d)) == NULL ||
	    (d.route = route_new(&d)) == NULL ||
	    (d.calls = calls_new(&d)) == NULL ||
	    (d.serve = serve_new(&d)) == NULL ||
	    (d.events = events_new(&d)) == NULL)
		fatalx("cannot start the service registry");
	if ((d.mesh = mesh_new(&d)) == NULL)
		fatalx("cannot start the mesh");
	if (gossip_discovery_start(&d) == -1)
		fatalx("cannot start LAN discovery");

	snprintf(d.status, sizeof(d.status), "node %.12s (%s) on %s", d.id.id,
	    d.conf.name, listeners_addr(d.listeners, 0));
	log_info("peerd %s ready: node %s (%s)", PEERD_VERSION, d.id.id,
	    d.conf.name);
	notify_ready(d.base, d.status);

	if (event_base_dispatch(d.base) == -1) {
		log_warnx("event loop failed");
		status = 1;
	}

	notify_stopping();
	/* Tell the mesh we leave, and give the links a moment to say it. */
	gossip_leave(d.gossip);
	drain_links(&d);
	discover_free(d.discover);
	/* Clients first: their pending requests must not outlive the mesh. */
	control_free(d.control);
	listeners_free(d.listeners);
	mesh_free(d.mesh);
	calls_free(d.calls);
	serve_free(d.serve);
	events_free(d.events);
	route_free(d.route);
	registry_free(d.registry);
	gossip_free(d.gossip);
	/* Let closed links finish freeing themselves. */
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	notify_done();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		event_free(sigs[i]);
	event_base_free(d.base);
	identity_clear(&d.id);
	log_info("stopped");
	return status;
}
