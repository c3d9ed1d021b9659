/* SPDX-License-Identifier: ISC */
/*
 * harness.c: process and socket helpers for the integration tests.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "peer.h"
#include "users.h"

#define ARGS_MAX	32

static bool	daemon_exited(void *);
static pid_t	echo_start_group_as(const struct test_user *,
		    const struct daemon *, const char *, const char *);

const char *
peerd_bin(void)
{
	const char	*s = getenv("PEERD");

	return s != NULL ? s : "build/peerd";
}

const char *
echo_server_bin(void)
{
	const char	*s = getenv("ECHO_SERVER");

	return s != NULL ? s : "build/examples/echo_server";
}

const char *
impair_bin(void)
{
	const char	*s = getenv("IMPAIR");

	return s != NULL ? s : "build/tests/impair";
}

const char *
peerctl_bin(void)
{
	const char	*s = getenv("PEERCTL");

	return s != NULL ? s : "build/peerctl";
}

long
test_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
member_state(const struct daemon *d, const char *name, json_int_t *inc)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;
	char	*s = NULL;

	if ((j = peerctl_json(d, &status, "members", NULL)) == NULL)
		return NULL;
	json_array_foreach(json_object_get(j, "members"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0) {
			free(s);
			s = strdup(json_string_value(json_object_get(e,
			    "state")));
			if (inc != NULL)
				*inc = json_integer_value(json_object_get(e,
				    "incarnation"));
		}
	json_decref(j);
	return s;
}

pid_t
fork_child(const struct test_user *u)
{
	pid_t	parent = getpid(), pid;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	/* setuid and setgid clear the death signal: set it after them. */
	if (u != NULL)
		become(u);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(126);
	/* The parent died before the signal was set. */
	if (getppid() != parent)
		_exit(126);
	return 0;
}

bool
wait_until(bool (*cond)(void *), void *arg, int ms)
{
	long	deadline = test_now_ms() + ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (test_now_ms() >= deadline)
			return false;
		usleep(10000);
	}
}

void
daemon_init(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->pid = -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/peerd-it.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/peerd.sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/peerd.log", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/peerd.conf", d->dir);
}

void
daemon_set_network_key(struct daemon *d, const uint8_t key[32])
{
	char	path[256];
	FILE	*f;

	mkdir(d->state, 0700);
	snprintf(path, sizeof(path), "%s/network.key", d->state);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fwrite(key, 1, 32, f), 32);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

void
daemons_init_mesh(struct daemon *ds, int n)
{
	uint8_t	key[32];
	int	i;

	randombytes_buf(key, sizeof(key));
	for (i = 0; i < n; i++) {
		daemon_init(&ds[i]);
		daemon_set_network_key(&ds[i], key);
	}
}

void
daemon_config(struct daemon *d, const char *text)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fputs(text, f);
	fclose(f);
}

json_t *
peerctl_json(const struct daemon *d, int *status, ...)
{
	const char	*argv[ARGS_MAX], *a;
	static char	 out[1 << 16], err[4096];
	json_error_t	 jerr;
	va_list		 ap;
	int		 n = 0;

	argv[n++] = peerctl_bin();
	argv[n++] = "-s";
	argv[n++] = d->sock;
	argv[n++] = "--json";
	va_start(ap, status);
	while ((a = va_arg(ap, const char *)) != NULL && n < ARGS_MAX - 1)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	*status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	if (*status != 0)
		return NULL;
	return json_loads(out, 0, &jerr);
}

static int
peerctl_vrun(const struct test_user *u, const struct daemon *d, char *out,
    size_t outlen, char *err, size_t errlen, va_list ap)
{
	const char	*argv[ARGS_MAX], *a;
	int		 n = 0;

	argv[n++] = peerctl_bin();
	argv[n++] = "-s";
	argv[n++] = d->sock;
	while ((a = va_arg(ap, const char *)) != NULL && n < ARGS_MAX - 1)
		argv[n++] = a;
	argv[n] = NULL;
	return run_capture_as(u, argv, out, outlen, err, errlen);
}

int
peerctl_run(const struct daemon *d, char *out, size_t outlen, char *err,
    size_t errlen, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, errlen);
	rc = peerctl_vrun(NULL, d, out, outlen, err, errlen, ap);
	va_end(ap);
	return rc;
}

int
peerctl_run_as(const struct test_user *u, const struct daemon *d, char *out,
    size_t outlen, char *err, size_t errlen, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, errlen);
	rc = peerctl_vrun(u, d, out, outlen, err, errlen, ap);
	va_end(ap);
	return rc;
}

int
daemon_port(struct daemon *d)
{
	json_t	*j;
	int	 status, port = 0;

	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "status", NULL));
	ck_assert_int_eq(sscanf(json_string_value(json_array_get(
	    json_object_get(j, "listen"), 0)), "127.0.0.1:%d", &port), 1);
	json_decref(j);
	return port;
}

void
daemon_id(struct daemon *d, char id[64])
{
	json_t	*j;
	int	 status;

	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "status", NULL));
	snprintf(id, 64, "%s", json_string_value(json_object_get(j, "node")));
	json_decref(j);
}

/* Forks peerd with argv; its stderr goes to the log file. */
static pid_t
spawn_peerd(struct daemon *d, const char *const *argv)
{
	pid_t	pid;
	int	fd;

	/* Never outlive the test, even when it fails half-way. */
	if ((pid = fork_child(NULL)) == 0) {
		fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		for (fd = 0; fd < 2; fd++)
			if (d->env[fd][0] != '\0')
				putenv(d->env[fd]);
		if (d->netns[0] != '\0') {
			const char	*wrap[ARGS_MAX + 4];
			int		 i, k = 0;

			wrap[k++] = "ip";
			wrap[k++] = "netns";
			wrap[k++] = "exec";
			wrap[k++] = d->netns;
			for (i = 0; argv[i] != NULL && k < ARGS_MAX + 3; i++)
				wrap[k++] = argv[i];
			wrap[k] = NULL;
			execvp("ip", (char *const *)wrap);
			_exit(127);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Fills argv with peerd's command line for d. */
static void
build_argv(struct daemon *d, const char **argv, const char *name,
    const char *const *extra)
{
	int	n = 0;

	argv[n++] = peerd_bin();
	argv[n++] = "--state-dir";
	argv[n++] = d->state;
	argv[n++] = "-S";
	argv[n++] = d->sock;
	argv[n++] = "--listen";
	argv[n++] = d->listen[0] != '\0' ? d->listen : "127.0.0.1:0";
	/* Beacons would leave the machine: only namespace tests want them. */
	if (!d->discovery) {
		argv[n++] = "-o";
		argv[n++] = "discovery=no";
	}
	if (name != NULL) {
		argv[n++] = "--name";
		argv[n++] = name;
	}
	if (access(d->conf, F_OK) == 0) {
		argv[n++] = "-c";
		argv[n++] = d->conf;
	}
	while (extra != NULL && *extra != NULL && n < ARGS_MAX - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
}

static bool
daemon_answers(void *arg)
{
	struct daemon	*d = arg;
	struct peer	*p;

	if (waitpid(d->pid, &d->status, WNOHANG) == d->pid) {
		d->pid = -1;
		return true;	/* exited: stop waiting, the caller checks */
	}
	if ((p = peer_open(d->sock, NULL)) == NULL)
		return false;
	peer_close(p);
	return true;
}

void
daemon_start(struct daemon *d, const char *name, const char *const *extra)
{
	const char	*argv[ARGS_MAX];

	build_argv(d, argv, name, extra);
	d->pid = spawn_peerd(d, argv);
	ck_assert_msg(wait_until(daemon_answers, d, 5000),
	    "peerd did not answer on %s within 5 s", d->sock);
	ck_assert_msg(d->pid != -1, "peerd exited at start (status %d); "
	    "see %s", d->status, d->log);
}

void
daemon_start_boot(struct daemon *d, const char *name, struct daemon *boot)
{
	char		 addr[64];
	const char	*extra[] = { "--bootstrap", addr, NULL };

	if (boot != NULL)
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(boot));
	daemon_start(d, name, boot != NULL ? extra : NULL);
}

int
daemon_run_to_exit(struct daemon *d, const char *const *tail)
{
	const char	*argv[ARGS_MAX];
	int		 n = 0;

	argv[n++] = peerd_bin();
	while (tail != NULL && *tail != NULL && n < ARGS_MAX - 1)
		argv[n++] = *tail++;
	argv[n] = NULL;
	d->pid = spawn_peerd(d, argv);
	return daemon_stop(d, 0);
}

static bool
daemon_exited(void *arg)
{
	struct daemon	*d = arg;

	return waitpid(d->pid, &d->status, WNOHANG) == d->pid;
}

int
daemon_stop(struct daemon *d, int sig)
{
	if (d->pid == -1)
		return d->status;
	if (sig != 0)
		kill(d->pid, sig);
	ck_assert_msg(wait_until(daemon_exited, d, 5000),
	    "peerd pid %d did not exit within 5 s", (int)d->pid);
	d->pid = -1;
	return d->status;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* Copies the daemon's log to stderr, so a failure can be read. */
static void
daemon_dump_log(const struct daemon *d)
{
	FILE	*f;
	char	 line[2048];

	if ((f = fopen(d->log, "r")) == NULL)
		return;
	fprintf(stderr, "--- %s\n", d->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

struct peer *
daemon_peer(const struct daemon *d)
{
	struct peer_error	 err;
	struct peer		*p;

	p = peer_open(d->sock, &err);
	ck_assert_msg(p != NULL, "peer_open %s: %s", d->sock, err.message);
	return p;
}

void
daemon_free(struct daemon *d)
{
	char	why[256];

	daemon_release(d, why, sizeof(why));
	ck_assert_msg(why[0] == '\0', "%s", why);
}

void
daemons_free(struct daemon *ds, int n)
{
	char	why[256], first[256] = "";
	int	i;

	/* Every one goes, whatever happened to the others. */
	for (i = 0; i < n; i++) {
		daemon_release(&ds[i], why, sizeof(why));
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", why);
	}
	ck_assert_msg(first[0] == '\0', "%s", first);
}

void
daemons_init_with_apps(struct daemon *ds, pid_t *apps, int n)
{
	int	i;

	daemons_init_mesh(ds, n);
	for (i = 0; i < n; i++)
		apps[i] = -1;
}

void
daemons_free_with_apps(struct daemon *ds, pid_t *apps, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (apps[i] != -1)
			echo_stop(apps[i], SIGKILL);
	daemons_free(ds, n);
}

void
daemon_release(struct daemon *d, char *why, size_t whylen)
{
	why[0] = '\0';

	if (d->pid != -1) {
		/* A clean stop, so that leak checkers get to run at exit. */
		kill(d->pid, SIGCONT);
		kill(d->pid, SIGTERM);
		if (!wait_until(daemon_exited, d, 5000)) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			snprintf(why, whylen, "peerd did not stop on SIGTERM");
		} else if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 0)
			snprintf(why, whylen, "peerd stopped with wait status "
			    "0x%x", (unsigned)d->status);
		d->pid = -1;
	}
	if (why[0] == '\0' && d->dir[0] != '\0' &&
	    (daemon_log_has(d, "Sanitizer") ||
	    daemon_log_has(d, "runtime error:")))
		snprintf(why, whylen, "sanitizer report in peerd's log");
	if (why[0] != '\0')
		daemon_dump_log(d);
	if (d->dir[0] != '\0')
		nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

bool
daemon_log_has(const struct daemon *d, const char *s)
{
	FILE	*f;
	char	 line[2048];
	bool	 found = false;

	if ((f = fopen(d->log, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

struct log_line {
	const struct daemon	*d;
	const char		*s;
};

static bool
log_line_seen(void *arg)
{
	struct log_line	*w = arg;

	return daemon_log_has(w->d, w->s);
}

bool
daemon_log_wait(const struct daemon *d, const char *s, int ms)
{
	struct log_line	w = { d, s };

	return wait_until(log_line_seen, &w, ms);
}

/* Reads whatever fd has into buf at *len, keeping it NUL-terminated. */
static void
drain(int fd, char *buf, size_t cap, size_t *len, bool *open)
{
	char	tmp[4096];
	ssize_t	n = read(fd, tmp, sizeof(tmp));
	size_t	take;

	if (n <= 0) {
		*open = false;
		return;
	}
	take = (size_t)n;
	if (take > cap - 1 - *len)
		take = cap - 1 - *len;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = '\0';
}

int
run_capture(const char *const *argv, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return run_capture_as(NULL, argv, out, outlen, err, errlen);
}

int
run_capture_as(const struct test_user *u, const char *const *argv,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct pollfd	pfd[2];
	int		po[2], pe[2], status;
	size_t		olen = 0, elen = 0;
	bool		oopen = true, eopen = true;
	long		deadline = test_now_ms() + 10000;
	pid_t		pid;

	out[0] = err[0] = '\0';
	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	if ((pid = fork_child(u)) == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((oopen || eopen) && test_now_ms() < deadline) {
		pfd[0].fd = oopen ? po[0] : -1;
		pfd[1].fd = eopen ? pe[0] : -1;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		if (pfd[0].revents)
			drain(po[0], out, outlen, &olen, &oopen);
		if (pfd[1].revents)
			drain(pe[0], err, errlen, &elen, &eopen);
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (test_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		usleep(5000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

pid_t
echo_start(const struct daemon *d, const char *service, const char *group)
{
	return echo_start_group_as(NULL, d, service, group);
}

pid_t
echo_start_as(const struct test_user *u, const struct daemon *d,
    const char *service)
{
	return echo_start_group_as(u, d, service, NULL);
}

static pid_t
echo_start_group_as(const struct test_user *u, const struct daemon *d,
    const char *service, const char *group)
{
	struct pollfd	 pfd;
	char		 line[64];
	size_t		 got = 0;
	ssize_t		 n;
	long		 deadline;
	pid_t		 pid;
	int		 fds[2];

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	if ((pid = fork_child(u)) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(echo_server_bin(), echo_server_bin(), "-s", d->sock,
		    "-n", service, group != NULL ? "-g" : NULL, group,
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	deadline = test_now_ms() + 5000;
	while (got < sizeof(line) - 1 && memchr(line, '\n', got) == NULL) {
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		if (test_now_ms() >= deadline ||
		    poll(&pfd, 1, (int)(deadline - test_now_ms())) <= 0 ||
		    (n = read(fds[0], line + got, sizeof(line) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	line[got] = '\0';
	ck_assert_msg(strncmp(line, "ready", 5) == 0, "%s did not get ready "
	    "serving %s on %s", echo_server_bin(), service, d->sock);
	return pid;
}

bool
echo_stop(pid_t pid, int sig)
{
	long	deadline = test_now_ms() + 5000;
	int	status;

	kill(pid, sig);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (test_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		usleep(10000);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void
impair_init(struct impair *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = -1;
	/*
	 * The kernel's pick of a free port, released for the relay to bind.
	 * Another socket could take it in the moment between; the relay
	 * then exits at start, and impair_start fails the test saying so.
	 */
	close(loopback_socket(&r->port));
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
}

/* True once r accepts a connection, or once it has exited. */
static bool
impair_answers(void *arg)
{
	struct impair		*r = arg;
	struct sockaddr_in	 sin;
	bool			 ok;
	int			 fd;

	if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
		r->pid = -1;
		return true;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)r->port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

void
impair_start(struct impair *r, int target, const char *const *extra)
{
	const char	*argv[ARGS_MAX];
	char		 to[32];
	int		 n = 0;

	snprintf(to, sizeof(to), "127.0.0.1:%d", target);
	argv[n++] = impair_bin();
	argv[n++] = "-l";
	argv[n++] = r->addr;
	argv[n++] = "-t";
	argv[n++] = to;
	while (extra != NULL && *extra != NULL && n < ARGS_MAX - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if ((r->pid = fork_child(NULL)) == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_msg(wait_until(impair_answers, r, 5000),
	    "%s did not accept on %s within 5 s", impair_bin(), r->addr);
	ck_assert_msg(r->pid != -1, "%s on %s exited at start (status 0x%x)",
	    impair_bin(), r->addr, (unsigned)r->status);
}

struct sig_wait {
	pid_t	pid;
	int	sig;
};

/* True once w->sig is pending neither for the process nor its thread. */
static bool
signal_taken(void *arg)
{
	struct sig_wait		*w = arg;
	unsigned long long	 mask, bit = 1ULL << (w->sig - 1);
	char			 path[64], line[256];
	bool			 pending = false;
	FILE			*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)w->pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((sscanf(line, "SigPnd: %llx", &mask) == 1 ||
		    sscanf(line, "ShdPnd: %llx", &mask) == 1) && (mask & bit))
			pending = true;
	fclose(f);
	return !pending;
}

/*
 * Sends sig and waits until the relay's handler has taken it: its loop
 * then acts on it before anything it reads later is due.
 */
static void
impair_signal(const struct impair *r, int sig)
{
	struct sig_wait	w = { r->pid, sig };

	ck_assert_int_eq(kill(r->pid, sig), 0);
	ck_assert_msg(wait_until(signal_taken, &w, 5000), "%s pid %d left "
	    "signal %d pending for 5 s", impair_bin(), (int)r->pid, sig);
}

void
impair_cut(const struct impair *r)
{
	impair_signal(r, SIGUSR1);
}

void
impair_heal(const struct impair *r)
{
	impair_signal(r, SIGUSR2);
}

static bool
impair_exited(void *arg)
{
	struct impair	*r = arg;

	return waitpid(r->pid, &r->status, WNOHANG) == r->pid;
}

bool
impair_stop(struct impair *r)
{
	if (r->pid == -1)
		return true;
	kill(r->pid, SIGTERM);
	if (!wait_until(impair_exited, r, 5000)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &r->status, 0);
		r->pid = -1;
		return false;
	}
	r->pid = -1;
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

struct providers {
	const struct daemon	*at;
	const char		*service;
	int			 count;
};

static bool
providers_listed(void *arg)
{
	struct providers	*o = arg;
	json_t			*j, *e;
	size_t			 i;
	int			 status, n = 0;

	if ((j = peerctl_json(o->at, &status, "services", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "services"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "service")),
		    o->service) == 0)
			n++;
	json_decref(j);
	return n == o->count;
}

void
wait_providers(const struct daemon *at, const char *service, int count)
{
	struct providers	o = { at, service, count };

	ck_assert_msg(wait_until(providers_listed, &o, 10000), "%s never "
	    "listed %d providers of %s", at->sock, count, service);
}

int
count_listed(const struct daemon *d, const char *op, const char *key,
    const char *field, const char *value)
{
	json_t		*j, *e;
	const char	*v;
	size_t		 i;
	int		 status, count = 0;

	if ((j = peerctl_json(d, &status, op, NULL)) == NULL)
		return -1;
	json_array_foreach(json_object_get(j, key), i, e)
		if ((v = json_string_value(json_object_get(e, field))) !=
		    NULL && strcmp(v, value) == 0)
			count++;
	json_decref(j);
	return count;
}

int
loopback_socket(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int
tcp_connect(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	return fd;
}
