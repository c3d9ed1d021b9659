/* SPDX-License-Identifier: ISC */
/*
 * users.c: throwaway users and groups.  Their names start "peerdt-";
 * each is removed when the test process that made it exits.  A test
 * that fails ends with _exit, so what it made is removed by the next
 * test making the same name, or by users_sweep at the next run.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "users.h"

#define PREFIX		"peerdt-"
#define MADE_MAX	16

/* What this process made, removed at exit: users first, then groups. */
static char	made_users[MADE_MAX][32], made_groups[MADE_MAX][32];
static int	nmade_users, nmade_groups;
static pid_t	made_by;

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
remember(char (*list)[32], int *n, const char *name)
{
	ck_assert_int_lt(*n, MADE_MAX);
	if (made_by != getpid()) {
		made_by = getpid();
		nmade_users = nmade_groups = 0;
		atexit(remove_made);
	}
	snprintf(list[(*n)++], 32, "%s", name);
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
	char		 full[32];
	const char	*argv[] = { "/usr/sbin/groupadd", "--system", full,
			    NULL };
	const char	*del[] = { "/usr/sbin/groupdel", full, NULL };

	snprintf(full, sizeof(full), PREFIX "%s", suffix);
	(void)admin_tool(del);		/* left by a failed test */
	ck_assert_msg(admin_tool(argv) == 0, "groupadd %s failed", full);
	remember(made_groups, &nmade_groups, full);
	ck_assert_ptr_nonnull(gr = getgrnam(full));
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

	snprintf(u->name, sizeof(u->name), PREFIX "%s", suffix);
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
	(void)admin_tool(del);		/* left by a failed test */
	ck_assert_msg(admin_tool(argv) == 0, "useradd %s failed", u->name);
	remember(made_users, &nmade_users, u->name);
	ck_assert_ptr_nonnull(pw = getpwnam(u->name));
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
}

/* Deletes every user, then every group, whose name starts PREFIX. */
void
users_sweep(void)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 names[64][32];
	int		 i, n = 0;

	if (!users_available())
		return;
	setpwent();
	while ((pw = getpwent()) != NULL && n < 64)
		if (strncmp(pw->pw_name, PREFIX, strlen(PREFIX)) == 0)
			snprintf(names[n++], 32, "%s", pw->pw_name);
	endpwent();
	for (i = 0; i < n; i++) {
		const char *argv[] = { "/usr/sbin/userdel", names[i], NULL };
		(void)admin_tool(argv);
	}
	n = 0;
	setgrent();
	while ((gr = getgrent()) != NULL && n < 64)
		if (strncmp(gr->gr_name, PREFIX, strlen(PREFIX)) == 0)
			snprintf(names[n++], 32, "%s", gr->gr_name);
	endgrent();
	for (i = 0; i < n; i++) {
		const char *argv[] = { "/usr/sbin/groupdel", names[i], NULL };
		(void)admin_tool(argv);
	}
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
