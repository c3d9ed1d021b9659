/* SPDX-License-Identifier: ISC */
/*
 * users.h: throwaway local users and groups for the access tests, and
 * running programs as them.  Needs root and useradd; elsewhere
 * users_available() is false and the tests say SKIP.
 */
#ifndef TESTS_USERS_H
#define TESTS_USERS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct daemon;

struct test_user {
	char	name[32];
	uid_t	uid;
	gid_t	gid;
};

/* True if this process may create users (root, with useradd). */
bool	users_available(void);
/*
 * A new system group named "peerdt" PID "-" SUFFIX, PID being this
 * run's (see users_sweep); its gid.  Removed when the test process
 * exits, whatever the outcome.  Names fit 31 characters: with PIDs of
 * up to 7 digits, SUFFIX may have 17.
 */
gid_t	group_add(const char *suffix, char *name, size_t namelen);
/*
 * A new user "peerdt" PID "-" SUFFIX in the comma-separated
 * supplementary groups (full names; NULL for none).  Removed at exit.
 */
void	user_add(struct test_user *, const char *suffix, const char *groups);
/*
 * Makes this process's PID the tag of the run: call it from main before
 * any fork.  Removes the users and groups of runs that are over (their
 * PID is no process), and at exit, those of this run that killed tests
 * left.  Names of runs still going are not touched.
 */
void	users_sweep(void);
/* Lets every user reach d's socket (its directory is private). */
void	daemon_open_to_users(const struct daemon *);
/*
 * Drops this (child) process to u with its groups; _exit(126) if not.
 * It clears the death signal: fork_child (harness.h) sets it after.
 */
void	become(const struct test_user *u);

/* As run_capture and peerctl_run, as user u. */
int	run_capture_as(const struct test_user *u, const char *const *argv,
	    char *out, size_t outlen, char *err, size_t errlen);
int	peerctl_run_as(const struct test_user *u, const struct daemon *,
	    char *out, size_t outlen, char *err, size_t errlen, ...);
/* As echo_start, as user u. */
pid_t	echo_start_as(const struct test_user *u, const struct daemon *,
	    const char *service);

#endif
