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

#include <check.h>

struct daemon {
	pid_t	pid;
	char	dir[64];	/* private temp directory, removed on free */
	char	sock[128];
	char	state[128];
	char	log[128];	/* the daemon's stderr */
	int	status;		/* wait status once it has exited */
};

/* Makes the directory; does not start anything. */
void	daemon_init(struct daemon *);
/*
 * Starts peerd on 127.0.0.1:0 with the given name and extra arguments
 * (NULL-terminated, may be NULL).  Returns once it answers on its
 * socket, or fails the test after 5 s.
 */
void	daemon_start(struct daemon *, const char *name,
	    const char *const *extra);
/* Starts peerd and waits for it to exit; returns its exit status. */
int	daemon_run_to_exit(struct daemon *, const char *const *argv_tail);
/* Sends sig and waits up to 5 s for the exit; returns the wait status. */
int	daemon_stop(struct daemon *, int sig);
/* Stops it if running and removes its directory. */
void	daemon_free(struct daemon *);
/* True if its log contains s. */
bool	daemon_log_has(const struct daemon *, const char *s);

/* Polls cond every 10 ms until it holds or ms have passed. */
bool	wait_until(bool (*cond)(void *), void *arg, int ms);

/*
 * Runs argv (argv[0] found as given), capturing stdout into out (NUL-
 * terminated, cut to outlen) and stderr into err.  Returns the exit
 * status, or -1 if it did not exit within 10 s.
 */
int	run_capture(const char *const *argv, char *out, size_t outlen,
	    char *err, size_t errlen);

/* A connected Unix stream socket to path, or -1. */
int	unix_connect(const char *path);

const char *peerd_bin(void);
const char *peerctl_bin(void);

#endif
