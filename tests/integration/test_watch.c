/* SPDX-License-Identifier: ISC */
/*
 * test_watch.c: watch streams on real daemons.  peerctl monitor --json
 * on node a shows a new node joining, that node killed with SIGKILL as
 * dead, and an app's service withdrawn on node b, each within a second
 * of the act; a daemon logging at info streams its debug lines to an
 * admin that asks; a user who is not an admin is refused the log; a
 * watcher that never reads is held to its queue limit and told what it
 * lost once it reads.
 */
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "peer.h"
#include "suites.h"
#include "users.h"

#define N		3
#define WITHIN_MS	1000	/* from an act to its line */

static struct daemon	d[N];
static pid_t		apps[N];

static void
setup(void)
{
	daemons_init_with_apps(d, apps, N);
}

static void
teardown(void)
{
	daemons_free_with_apps(d, apps, N);
}

/* A running peerctl monitor and what it printed. */
struct monitor {
	pid_t	pid;
	int	fd;
	char	buf[1 << 16];
	size_t	len;
	char	seen[1 << 14];	/* the lines read, for failure messages */
	size_t	seenlen;
};

/* Starts peerctl -s SOCK monitor ARGS... (NULL-terminated) as u. */
static void
monitor_start(struct monitor *m, const struct daemon *dm,
    const struct test_user *u, ...)
{
	const char	*argv[16];
	va_list		 ap;
	int		 fds[2], argc = 0;

	memset(m, 0, sizeof(*m));
	argv[argc++] = peerctl_bin();
	argv[argc++] = "-s";
	argv[argc++] = dm->sock;
	argv[argc++] = "monitor";
	va_start(ap, u);
	while ((argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	ck_assert_int_eq(pipe(fds), 0);
	if ((m->pid = fork_child(u)) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	m->fd = fds[0];
}

/*
 * Waits up to ms for a line whose kind (any if NULL), name and service
 * (each if not NULL) are these; the lines before it are passed over.  Returns
 * the monotonic time it was read at, or -1; *line (if not NULL) gets it.
 */
static long
monitor_wait(struct monitor *m, const char *kind, const char *name,
    const char *service, int ms, json_t **line)
{
	struct pollfd	 pfd;
	json_error_t	 je;
	json_t		*j;
	char		*nl;
	long		 deadline = test_now_ms() + ms, now;
	ssize_t		 n;
	size_t		 k;
	bool		 match;

	for (;;) {
		while ((nl = memchr(m->buf, '\n', m->len)) != NULL) {
			*nl = '\0';
			k = strlen(m->buf);
			if (m->seenlen + k + 2 < sizeof(m->seen)) {
				memcpy(m->seen + m->seenlen, m->buf, k);
				m->seenlen += k;
				m->seen[m->seenlen++] = '\n';
				m->seen[m->seenlen] = '\0';
			}
			j = json_loads(m->buf, 0, &je);
			ck_assert_msg(j != NULL, "monitor printed \"%s\", not "
			    "JSON: %s", m->buf, je.text);
			k = (size_t)(nl + 1 - m->buf);
			memmove(m->buf, nl + 1, m->len - k);
			m->len -= k;
			match = (kind == NULL || strcmp(json_string_value(
			    json_object_get(j, "kind")), kind) == 0) &&
			    (name == NULL ||
			    (json_string_value(json_object_get(j, "name")) !=
			    NULL && strcmp(json_string_value(json_object_get(j,
			    "name")), name) == 0)) && (service == NULL ||
			    (json_string_value(json_object_get(j,
			    "service")) != NULL && strcmp(json_string_value(
			    json_object_get(j, "service")), service) == 0));
			if (match) {
				if (line != NULL)
					*line = j;
				else
					json_decref(j);
				return test_now_ms();
			}
			json_decref(j);
		}
		now = test_now_ms();
		if (now >= deadline)
			return -1;
		pfd.fd = m->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
		if (n <= 0)
			return -1;
		m->len += (size_t)n;
	}
}

/* The same, failing the test if no such line comes within ms. */
static long
monitor_expect(struct monitor *m, const char *kind, const char *name,
    const char *service, int ms, json_t **line)
{
	long	t = monitor_wait(m, kind, name, service, ms, line);

	ck_assert_msg(t != -1, "no %s %s%s%s within %d ms; monitor printed:\n"
	    "%s", kind != NULL ? kind : "line", name != NULL ? name : "", service != NULL ? " " : "",
	    service != NULL ? service : "", ms, m->seen);
	return t;
}

/* Stops it with SIGTERM; its exit status. */
static int
monitor_stop(struct monitor *m)
{
	int	status;

	kill(m->pid, SIGTERM);
	ck_assert_int_eq(waitpid(m->pid, &status, 0), m->pid);
	close(m->fd);
	return status;
}

/* Waits for the exit of one that stops by itself; its exit status. */
static int
monitor_exit(struct monitor *m, int ms)
{
	long	deadline = test_now_ms() + ms;
	pid_t	r;
	int	status;

	while ((r = waitpid(m->pid, &status, WNOHANG)) == 0 &&
	    test_now_ms() < deadline)
		usleep(10000);
	if (r == 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, &status, 0);
		ck_abort_msg("monitor did not exit within %d ms", ms);
	}
	close(m->fd);
	return status;
}

/*
 * Waits until m watches a's services: an app on a offers "probe" and
 * goes, again and again, until m shows either.
 */
static void
watching(struct monitor *m)
{
	long	deadline = test_now_ms() + 10000;

	for (;;) {
		apps[0] = echo_start(&d[0], "probe", NULL);
		ck_assert(echo_stop(apps[0], SIGTERM));
		apps[0] = -1;
		if (monitor_wait(m, NULL, "a", "probe", 200, NULL) != -1)
			return;
		ck_assert_msg(kill(m->pid, 0) == 0 && test_now_ms() < deadline,
		    "monitor shows no probe registered; it printed:\n%s",
		    m->seen);
	}
}

static bool
b_alive_at_a(void *arg)
{
	char	*s = member_state(&d[0], "b", NULL);
	bool	 ok = s != NULL && strcmp(s, "alive") == 0;

	(void)arg;
	free(s);
	return ok;
}

/* a, and b linked to it. */
static void
start_ab(void)
{
	daemon_start(&d[0], "a", NULL);
	daemon_start_boot(&d[1], "b", &d[0]);
	ck_assert_msg(wait_until(b_alive_at_a, NULL, 10000),
	    "a does not see b alive within 10 s");
}

/*
 * A dial that meets the killed node's listener while the kernel tears
 * it down is reset rather than refused, which the probes take for no
 * answer: the death then waits out the suspicion, kept short here so
 * that it too is seen within the second.
 */
#define QUICK_SUSPICION	"suspect_timeout = 200ms\n"

START_TEST(test_monitor_join_dead_withdrawn)
{
	struct monitor	 m;
	char		 addr[64], cid[64], out[512], err[512];
	const char	*extra[] = { "--bootstrap", addr, NULL };
	json_t		*line;
	long		 t0, join_ms, dead_ms, gone_ms, update_ms;
	int		 i, status;

	for (i = 0; i < N; i++)
		daemon_config(&d[i], QUICK_SUSPICION);
	start_ab();
	apps[1] = echo_start(&d[1], "calc", "lab");
	wait_providers(&d[0], "calc", 1);
	monitor_start(&m, &d[0], NULL, "--json", NULL);
	watching(&m);

	/* (a) A new node joins. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&d[0]));
	t0 = test_now_ms();
	daemon_start(&d[2], "c", extra);
	join_ms = monitor_expect(&m, "member-join", "c", NULL, 5000, &line) -
	    t0;
	daemon_id(&d[2], cid);
	ck_assert_str_eq(json_string_value(json_object_get(line, "node")),
	    cid);
	ck_assert(json_integer_value(json_object_get(line, "incarnation")) >
	    0);
	ck_assert(json_integer_value(json_object_get(line, "time")) > 0);
	json_decref(line);

	/* (b) It is killed: dead, with the evidence. */
	t0 = test_now_ms();
	daemon_stop(&d[2], SIGKILL);
	dead_ms = monitor_expect(&m, "member-dead", "c", NULL, 5000, &line) -
	    t0;
	ck_assert_ptr_nonnull(json_string_value(json_object_get(line,
	    "why")));
	json_decref(line);

	/* (c) b's app goes: its service is withdrawn on b. */
	t0 = test_now_ms();
	ck_assert(echo_stop(apps[1], SIGTERM));
	apps[1] = -1;
	gone_ms = monitor_expect(&m, "service-withdrawn", "b", "calc", 5000,
	    &line) - t0;
	ck_assert_str_eq(json_string_value(json_object_get(line, "group")),
	    "lab");
	json_decref(line);

	/* (d) b's tags change: its record is updated. */
	t0 = test_now_ms();
	ck_assert_msg(peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "rack=r1", (char *)NULL) == 0, "tags set: %s", err);
	update_ms = monitor_expect(&m, "member-update", "b", NULL, 5000,
	    &line) - t0;
	json_decref(line);

	fprintf(stderr, "watch: join seen in %ld ms, kill -9 as dead in %ld "
	    "ms, withdrawal in %ld ms, tags in %ld ms\n", join_ms, dead_ms,
	    gone_ms, update_ms);
	ck_assert_msg(join_ms < WITHIN_MS, "join took %ld ms", join_ms);
	ck_assert_msg(dead_ms < WITHIN_MS, "dead took %ld ms", dead_ms);
	ck_assert_msg(gone_ms < WITHIN_MS, "withdrawal took %ld ms",
	    gone_ms);
	ck_assert_msg(update_ms < WITHIN_MS, "update took %ld ms", update_ms);
	status = monitor_stop(&m);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "monitor exited with 0x%x", (unsigned)status);
}
END_TEST

/* A daemon at info streams its debug lines to an admin that asks. */
START_TEST(test_monitor_log_below_daemon_level)
{
	struct monitor	 m;
	json_t		*line;
	char		 out[256], err[256];
	int		 status;

	daemon_start(&d[0], "a", NULL);
	monitor_start(&m, &d[0], NULL, "--json", "--log", "debug", "--count",
	    "50", NULL);
	/* Each client connecting logs at debug: wait for the watch's. */
	while (monitor_wait(&m, "log", NULL, NULL, 200, &line) == -1) {
		ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), err,
		    sizeof(err), "id", NULL), 0);
		ck_assert_msg(kill(m.pid, 0) == 0, "monitor exited; it "
		    "printed:\n%s", m.seen);
	}
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")),
	    "debug");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(line,
	    "text")), "connected"));
	json_decref(line);
	/* Its own stderr stays at info. */
	ck_assert(!daemon_log_has(&d[0], ": connected"));
	status = monitor_stop(&m);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_log_needs_admin)
{
	struct test_user	 u;
	struct monitor		 m;
	char			 out[512], err[512], group[32], conf[64];
	int			 status;

	if (!users_available()) {
		fprintf(stderr, "SKIP: watch: the admin test needs root and "
		    "useradd\n");
		return;
	}
	(void)group_add("watch-sock", group, sizeof(group));
	user_add(&u, "watcher", group);
	snprintf(conf, sizeof(conf), "socket_group = %s\n", group);
	daemon_config(&d[0], conf);
	daemon_start(&d[0], "a", NULL);
	daemon_open_to_users(&d[0]);
	status = peerctl_run_as(&u, &d[0], out, sizeof(out), err,
	    sizeof(err), "monitor", "--log", "error", NULL);
	ck_assert_msg(status == 1 && strstr(err, "PERMISSION_DENIED") != NULL,
	    "monitor --log as a user: status %d, stderr %s", status, err);
	/* Members and services are for everyone. */
	monitor_start(&m, &d[0], &u, "--json", "--services", "--count", "1",
	    NULL);
	watching(&m);
	status = monitor_exit(&m, 5000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "monitor --count 1 exited with 0x%x", (unsigned)status);
}
END_TEST

/* What a libpeer watcher took in. */
struct took {
	unsigned long	n;
	uint64_t	lost;
	bool		last;		/* the marker service came */
};

static void
on_watch(struct peer *p, const struct peer_watch_msg *w, void *arg)
{
	struct took	*t = arg;

	(void)p;
	t->n++;
	t->lost += w->lost;
	if (w->service != NULL && strcmp(w->service, "last") == 0)
		t->last = true;
}

static void
on_call(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	(void)arg;
	(void)peer_answer(p, inv->call, NULL, 0, NULL);
}

/* The daemon's resident memory in KiB, from /proc. */
static long
rss_kib(const struct daemon *dm)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)dm->pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Dispatches w until a quiet stretch of ms, or until cond. */
static void
drain(struct peer *w, struct took *t, int ms, bool until_last)
{
	struct peer_error	err;
	struct pollfd		pfd;
	long			deadline = test_now_ms() + 20000;

	while (test_now_ms() < deadline && !(until_last && t->last)) {
		pfd.fd = peer_fd(w);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) == 0 && !until_last)
			return;
		ck_assert_int_eq(peer_dispatch(w, &err), 0);
	}
	ck_assert_msg(!until_last || t->last, "the last change never came");
}

START_TEST(test_slow_watcher_bounded)
{
	struct peer_error	 err;
	struct peer		*w, *app;
	struct took		 t;
	char			 name[16];
	long			 before, after;
	int			 i;

	daemon_start(&d[0], "a", NULL);
	memset(&t, 0, sizeof(t));
	ck_assert_ptr_nonnull(w = daemon_peer(&d[0]));
	ck_assert_int_eq(peer_watch(w, PEER_WATCH_MEMBERS |
	    PEER_WATCH_SERVICES | PEER_WATCH_LOG, PEER_LOG_DEBUG, on_watch, &t,
	    &err), 0);
	app = daemon_peer(&d[0]);
	before = rss_kib(&d[0]);
	/*
	 * w reads nothing while an app registers and withdraws services:
	 * a change and two log lines each, about 10 MB for w.
	 */
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "s%d", i % 64);
		if (i % 128 < 64)
			ck_assert_int_eq(peer_serve(app, name, NULL, on_call,
			    NULL, &err), 0);
		else
			ck_assert_int_eq(peer_unserve(app, name, NULL, &err),
			    0);
	}
	after = rss_kib(&d[0]);
	/* Now it reads: all that was kept, then a change with the count. */
	drain(w, &t, 300, false);
	ck_assert_int_eq(peer_serve(app, "last", NULL, on_call, NULL, &err),
	    0);
	drain(w, &t, 300, true);
	fprintf(stderr, "watch: a watcher that did not read got %lu messages "
	    "and lost %llu; the daemon's RSS went from %ld to %ld KiB\n", t.n,
	    (unsigned long long)t.lost, before, after);
	ck_assert_msg(t.lost > 0, "nothing lost: the queue has no limit");
#ifndef __SANITIZE_ADDRESS__
	/* AddressSanitizer's quarantine keeps what was freed: no measure. */
	ck_assert_msg(after - before < 32 * 1024, "the daemon grew by %ld "
	    "KiB", after - before);
#endif
	peer_close(app);
	peer_close(w);
}
END_TEST

Suite *
watch_suite(void)
{
	Suite	*s = suite_create("watch");
	TCase	*tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_monitor_join_dead_withdrawn);
	tcase_add_test(tc, test_monitor_log_below_daemon_level);
	tcase_add_test(tc, test_log_needs_admin);
	tcase_add_test(tc, test_slow_watcher_bounded);
	suite_add_tcase(s, tc);
	return s;
}
