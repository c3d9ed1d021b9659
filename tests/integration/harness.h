/* SPDX-License-Identifier: ISC */
/*
 * harness.h: starting real peerd processes in private directories and
 * waiting on conditions with deadlines, for the integration tests.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <jansson.h>

struct peer;
struct test_user;

struct daemon {
	pid_t	pid;
	char	dir[64];	/* private temp directory, removed on free */
	char	sock[128];
	char	state[128];
	char	log[128];	/* the daemon's stderr */
	char	conf[128];	/* passed with -c if it exists */
	int	status;		/* wait status once it has exited */
	bool	discovery;	/* let it send LAN beacons (default off) */
	char	netns[32];	/* run inside this network namespace */
	char	listen[64];	/* mesh address; default 127.0.0.1:0 */
	char	env[2][160];	/* "KEY=VALUE" set for it, if not empty */
};

/* A tests/impair relay: a TCP proxy on 127.0.0.1 that impairs links. */
struct impair {
	pid_t	pid;
	int	port;		/* where it listens */
	char	addr[32];	/* "127.0.0.1:PORT", for advertise */
	int	status;		/* wait status once it has exited */
};

/* Makes the directory; does not start anything. */
void	daemon_init(struct daemon *);
/* Puts a network key in its state directory, so daemons share a mesh. */
void	daemon_set_network_key(struct daemon *, const uint8_t key[32]);
/* daemon_init for n daemons, all given one new network key: one mesh. */
void	daemons_init_mesh(struct daemon *, int n);
/* Writes text to its peerd.conf; daemon_start then passes -c. */
void	daemon_config(struct daemon *, const char *text);
/* The TCP port its mesh listener got (from status); fails if none. */
int	daemon_port(struct daemon *);
/* Its node ID (from status), into a static buffer per call site. */
void	daemon_id(struct daemon *, char id[64]);
/*
 * Starts peerd on 127.0.0.1:0 with the given name and extra arguments
 * (NULL-terminated, may be NULL).  Returns once it answers on its
 * socket, or fails the test after 5 s.
 */
void	daemon_start(struct daemon *, const char *name,
	    const char *const *extra);
/* daemon_start with --bootstrap to boot's mesh port; NULL: none. */
void	daemon_start_boot(struct daemon *, const char *name,
	    struct daemon *boot);
/* Starts peerd and waits for it to exit; returns its exit status. */
int	daemon_run_to_exit(struct daemon *, const char *const *argv_tail);
/* Sends sig and waits up to 5 s for the exit; returns the wait status. */
int	daemon_stop(struct daemon *, int sig);
/*
 * Stops it if running (SIGTERM, expecting exit 0 and no sanitizer
 * report) and removes its directory; fails the test on a bad exit.
 */
void	daemon_free(struct daemon *);
/* The same for n daemons: all are freed before any failure counts. */
void	daemons_free(struct daemon *, int n);
/* daemons_init_mesh, and no serving app yet on any: apps[i] = -1. */
void	daemons_init_with_apps(struct daemon *, pid_t *apps, int n);
/* Kills the apps that were started (echo_stop), then daemons_free. */
void	daemons_free_with_apps(struct daemon *, pid_t *apps, int n);
/* As daemon_free, but says what went wrong in why ("" if nothing). */
void	daemon_release(struct daemon *, char *why, size_t whylen);
/* A libpeer handle on its socket; fails the test if none opens. */
struct peer	*daemon_peer(const struct daemon *);
/* True if its log contains s. */
bool	daemon_log_has(const struct daemon *, const char *s);
/* Waits up to ms for its log to contain s. */
bool	daemon_log_wait(const struct daemon *, const char *s, int ms);

/* Monotonic milliseconds, for timing what tests wait for. */
long	test_now_ms(void);
/*
 * How d's members list shows name: its state (malloc'd), or NULL if not
 * listed; *inc (if not NULL) gets its incarnation.
 */
char	*member_state(const struct daemon *d, const char *name,
	    json_int_t *inc);

/*
 * fork() for a child that must not outlive the test process: it runs
 * as u (if not NULL, see become), then gets SIGKILL when its parent
 * dies, or exits at once if the parent is already gone.  0 in the
 * child, its pid in the parent; fails the test if fork does.
 */
pid_t	fork_child(const struct test_user *u);

/* Polls cond every 10 ms until it holds or ms have passed. */
bool	wait_until(bool (*cond)(void *), void *arg, int ms);
/*
 * Waits up to 10 s until at's services op lists exactly count providers
 * of service; the test fails if it never does.
 */
void	wait_providers(const struct daemon *at, const char *service,
	    int count);
/*
 * How many entries of the list key of op's JSON answer have field equal
 * to value ("members", "members", "state", "alive", say); -1 if the
 * daemon did not answer.
 */
int	count_listed(const struct daemon *, const char *op, const char *key,
	    const char *field, const char *value);

/*
 * Runs argv (argv[0] found as given), capturing stdout into out (NUL-
 * terminated, cut to outlen) and stderr into err.  Returns the exit
 * status, or -1 if it did not exit within 10 s.
 */
int	run_capture(const char *const *argv, char *out, size_t outlen,
	    char *err, size_t errlen);

/*
 * Runs peerctl -s SOCK with args (NULL-terminated) and --json, and
 * parses its output.  NULL if it failed; *status gets its exit status.
 */
json_t	*peerctl_json(const struct daemon *, int *status, ...);
/* Exit status of peerctl -s SOCK args...; output into out/err. */
int	peerctl_run(const struct daemon *, char *out, size_t outlen,
	    char *err, size_t errlen, ...);

/* A connected Unix stream socket to path, or -1. */
int	unix_connect(const char *path);
/* A TCP socket bound to 127.0.0.1 on a port the kernel picks: *port. */
int	loopback_socket(int *port);
/* A TCP socket connected to 127.0.0.1:port; fails the test if not. */
int	tcp_connect(int port);

/*
 * Starts examples/echo_server on d's socket serving service (in group,
 * if not NULL) and returns its pid once it says it is ready; fails the
 * test after 5 s.  Killed with the test process if that dies.
 */
pid_t	echo_start(const struct daemon *d, const char *service,
	    const char *group);
/* Sends sig and reaps it (within 5 s, else SIGKILL); true if it exited 0. */
bool	echo_stop(pid_t, int sig);

/*
 * Picks a free port on 127.0.0.1 for the relay, so that a daemon can
 * advertise it before the relay starts; starts nothing.
 */
void	impair_init(struct impair *);
/*
 * Starts the relay in front of 127.0.0.1:target with extra arguments
 * (-d, -p, -s; NULL-terminated, may be NULL).  Returns once it accepts
 * connections; fails the test if it exits or does not within 5 s.
 */
void	impair_start(struct impair *, int target, const char *const *extra);
/* A silent partition (SIGUSR1), and its end (SIGUSR2). */
void	impair_cut(const struct impair *);
void	impair_heal(const struct impair *);
/* Stops it if running (SIGTERM); true if it exited 0 within 5 s. */
bool	impair_stop(struct impair *);

const char *echo_server_bin(void);
const char *impair_bin(void);
const char *peerd_bin(void);
const char *peerctl_bin(void);

#endif
