/* SPDX-License-Identifier: ISC */
/*
 * users.c: throwaway users and groups.  Their names are tagged with the
 * run, "peerdt" PID "-" SUFFIX, PID being the test runner's main
 * process, so that runs side by side on one host leave each other's
 * alone.  Each is removed when the test process that made it exits.  A
 * test killed half-way leaves what it made to the next test of the run
 * making the same name, to the runner's exit, or to users_sweep at a
 * later run once PID is gone.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "users.h"

#define PREFIX		"peerdt"
#define NAME_LEN	32	/* a name and its NUL; useradd allows 32 */
#define MADE_MAX	16

/* What this process made, removed at exit: users first, then groups. */
static char	made_users[MADE_MAX][NAME_LEN];
static char	made_groups[MADE_MAX][NAME_LEN];
static int	nmade_users, nmade_groups;
static pid_t	made_by;
static pid_t	run_pid;	/* the tag: the runner's main process */

/*
 * Runs a user-admin tool quietly; its exit status, or -1.  No Check
 * asserts: it also runs from the exit handler, after the test.
 */
static int
admin_tool(const char *const *argv)
{
	pid_t	pid;
	int	status, fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
remove_made(void)
{
	int	i;

	if (getpid() != made_by)
		return;		/* a forked child inherited the handler */
	for (i = 0; i < nmade_users; i++) {
		const char *argv[] = { "/usr/sbin/userdel", made_users[i],
		    NULL };
		(void)admin_tool(argv);
	}
	for (i = 0; i < nmade_groups; i++) {
		const char *argv[] = { "/usr/sbin/groupdel", made_groups[i],
		    NULL };
		(void)admin_tool(argv);
	}
	nmade_users = nmade_groups = 0;
}

static void
remember(char (*list)[NAME_LEN], int *n, const char *name)
{
	ck_assert_int_lt(*n, MADE_MAX);
	if (made_by != getpid()) {
		made_by = getpid();
		nmade_users = nmade_groups = 0;
		atexit(remove_made);
	}
	snprintf(list[(*n)++], NAME_LEN, "%s", name);
}

/* PREFIX PID "-" suffix into name; fails the test if it does not fit. */
static void
tagged_name(char *name, size_t len, const char *suffix)
{
	int	n;

	if (run_pid == 0)
		run_pid = getpid();	/* users_sweep was not called */
	n = snprintf(name, len, PREFIX "%d-%s", (int)run_pid, suffix);
	ck_assert_msg(n >= 0 && (size_t)n < len, "name " PREFIX "%d-%s is "
	    "over %zu characters", (int)run_pid, suffix, len - 1);
}

/*
 * The run that tagged name (PREFIX PID "-"), or -1 if name is not
 * tagged so.
 */
static pid_t
tag_of(const char *name)
{
	const char	*p = name + strlen(PREFIX);
	long		 pid = 0;

	if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 || *p == '-')
		return -1;
	for (; *p >= '0' && *p <= '9' && pid < INT_MAX / 10; p++)
		pid = pid * 10 + (*p - '0');
	return *p == '-' && pid > 0 ? (pid_t)pid : -1;
}

/*
 * True if name was made by a run that is over: its PID is no process,
 * or is ours, which a run that made it cannot be but at our own exit.
 */
static bool
left_over(const char *name)
{
	pid_t	pid = tag_of(name);

	if (pid == -1)
		return false;
	return pid == run_pid || (kill(pid, 0) == -1 && errno == ESRCH);
}

bool
users_available(void)
{
	return geteuid() == 0 && access("/usr/sbin/useradd", X_OK) == 0 &&
	    access("/usr/sbin/groupadd", X_OK) == 0;
}

gid_t
group_add(const char *suffix, char *name, size_t namelen)
{
	struct group	*gr;
	char		 full[NAME_LEN];
	const char	*argv[] = { "/usr/sbin/groupadd", "--system", full,
			    NULL };
	const char	*del[] = { "/usr/sbin/groupdel", full, NULL };

	tagged_name(full, sizeof(full), suffix);
	(void)admin_tool(del);		/* left by a killed test of this run */
	ck_assert_msg(admin_tool(argv) == 0, "groupadd %s failed", full);
	remember(made_groups, &nmade_groups, full);
	ck_assert_ptr_nonnull(gr = getgrnam(full));
	ck_assert_uint_lt(strlen(full), namelen);
	snprintf(name, namelen, "%s", full);
	return gr->gr_gid;
}

void
user_add(struct test_user *u, const char *suffix, const char *groups)
{
	struct passwd	*pw;
	const char	*argv[10];
	const char	*del[] = { "/usr/sbin/userdel", u->name, NULL };
	int		 n = 0;

	tagged_name(u->name, sizeof(u->name), suffix);
	argv[n++] = "/usr/sbin/useradd";
	argv[n++] = "--system";
	argv[n++] = "--no-create-home";
	argv[n++] = "--shell";
	argv[n++] = "/usr/sbin/nologin";
	if (groups != NULL) {
		argv[n++] = "--groups";
		argv[n++] = groups;
	}
	argv[n++] = u->name;
	argv[n] = NULL;
	(void)admin_tool(del);		/* left by a killed test of this run */
	ck_assert_msg(admin_tool(argv) == 0, "useradd %s failed", u->name);
	remember(made_users, &nmade_users, u->name);
	ck_assert_ptr_nonnull(pw = getpwnam(u->name));
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
}

/* Deletes every user, then every group, that left_over names. */
static void
sweep(void)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 names[64][NAME_LEN];
	int		 i, n = 0;

	setpwent();
	while ((pw = getpwent()) != NULL && n < 64)
		if (left_over(pw->pw_name))
			snprintf(names[n++], NAME_LEN, "%s", pw->pw_name);
	endpwent();
	for (i = 0; i < n; i++) {
		const char *argv[] = { "/usr/sbin/userdel", names[i], NULL };
		(void)admin_tool(argv);
	}
	n = 0;
	setgrent();
	while ((gr = getgrent()) != NULL && n < 64)
		if (left_over(gr->gr_name))
			snprintf(names[n++], NAME_LEN, "%s", gr->gr_name);
	endgrent();
	for (i = 0; i < n; i++) {
		const char *argv[] = { "/usr/sbin/groupdel", names[i], NULL };
		(void)admin_tool(argv);
	}
}

/* At the runner's exit: what its killed tests left. */
static void
sweep_at_exit(void)
{
	if (getpid() == run_pid)
		sweep();
}

void
users_sweep(void)
{
	run_pid = getpid();
	if (!users_available())
		return;
	sweep();
	atexit(sweep_at_exit);
}

void
daemon_open_to_users(const struct daemon *d)
{
	ck_assert_int_eq(chmod(d->dir, 0711), 0);
}

void
become(const struct test_user *u)
{
	if (initgroups(u->name, u->gid) == -1 || setgid(u->gid) == -1 ||
	    setuid(u->uid) == -1)
		_exit(126);
}
