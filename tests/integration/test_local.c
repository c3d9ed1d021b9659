/* SPDX-License-Identifier: ISC */
/*
 * test_local.c: local users of one daemon.  Members of socket_group
 * may use it and others may not; admin ops need admin_group; one
 * user's clients cannot keep root out, nor, past max_clients_per_user,
 * the admins, for whom the last admin_clients places are kept; clients
 * holding almost-full frames stay within control_input_max; a frame
 * sent a byte at a time is cut off at its deadline.  The user tests need root (CI runs as
 * root) and say SKIP elsewhere.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"
#include "users.h"

#define HOLDERS		32
#define FLOOD		1024
#define MAX_CLIENTS	100	/* max_clients of the admin places test */
#define ADMIN_PLACES	16	/* admin_clients by default */
#define KEPT		"the last 16 places are kept for admins"
#define HELD		(MAX_CLIENTS - ADMIN_PLACES)	/* a plain user's */

static struct daemon	d;

static void
setup(void)
{
	memset(&d, 0, sizeof(d));
	d.pid = -1;
}

static void
teardown(void)
{
	if (d.dir[0] != '\0')
		daemon_free(&d);
}

static bool
skip_without_users(const char *test)
{
	if (users_available())
		return false;
	fprintf(stderr, "SKIP: %s needs root and useradd\n", test);
	return true;
}

/* A number from d's status. */
static json_int_t
status_uint(const struct daemon *dm, const char *key)
{
	json_t		*j;
	json_int_t	 v;
	int		 status;

	j = peerctl_json(dm, &status, "status", NULL);
	ck_assert_msg(j != NULL, "peerctl status failed: %d", status);
	ck_assert_msg(json_is_integer(json_object_get(j, key)),
	    "status has no %s", key);
	v = json_integer_value(json_object_get(j, key));
	json_decref(j);
	return v;
}

START_TEST(test_socket_group_lets_its_members_in)
{
	struct test_user	 in, out;
	char			 conf[256], group[32], sgroup[40];
	char			 o[4096], e[4096];
	pid_t			 echo;
	int			 rc;

	if (skip_without_users(__func__))
		return;
	(void)group_add("sock", group, sizeof(group));
	snprintf(sgroup, sizeof(sgroup), "%s", group);
	user_add(&in, "in", sgroup);
	user_add(&out, "out", NULL);
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "socket_group = %s\n", group);
	daemon_config(&d, conf);
	daemon_start(&d, "local", NULL);
	daemon_open_to_users(&d);

	rc = peerctl_run_as(&in, &d, o, sizeof(o), e, sizeof(e), "status",
	    NULL);
	ck_assert_msg(rc == 0, "a member of %s: peerctl status: %d: %s",
	    group, rc, e);
	/* A member may serve, and call what is served. */
	echo = echo_start_as(&in, &d, "echo");
	rc = peerctl_run_as(&in, &d, o, sizeof(o), e, sizeof(e), "call",
	    "echo.echo", "\"hi\"", NULL);
	ck_assert_msg(rc == 0, "a member's call: %d: %s", rc, e);
	ck_assert_str_eq(o, "[\"hi\"]\n");
	ck_assert(echo_stop(echo, SIGTERM));
	/* But not use the admin ops. */
	rc = peerctl_run_as(&in, &d, o, sizeof(o), e, sizeof(e), "connect",
	    "127.0.0.1:9", NULL);
	ck_assert_msg(rc != 0 && strstr(e, "PERMISSION_DENIED") != NULL,
	    "a member's connect: %d: %s", rc, e);
	rc = peerctl_run_as(&in, &d, o, sizeof(o), e, sizeof(e), "invite",
	    NULL);
	ck_assert_msg(rc != 0 && strstr(e, "PERMISSION_DENIED") != NULL,
	    "a member's invite: %d: %s", rc, e);
	/* Someone outside the group cannot connect at all. */
	rc = peerctl_run_as(&out, &d, o, sizeof(o), e, sizeof(e), "status",
	    NULL);
	ck_assert_msg(rc != 0 && strstr(e, "Permission denied") != NULL,
	    "a non-member: peerctl status: %d: %s", rc, e);
}
END_TEST

START_TEST(test_admin_group_may_use_admin_ops)
{
	struct test_user	 admin;
	char			 conf[256], sock[32], adm[32], groups[72];
	char			 o[4096], e[4096];
	int			 rc;

	if (skip_without_users(__func__))
		return;
	(void)group_add("sock2", sock, sizeof(sock));
	(void)group_add("adm", adm, sizeof(adm));
	snprintf(groups, sizeof(groups), "%s,%s", sock, adm);
	user_add(&admin, "admin", groups);
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "socket_group = %s\nadmin_group = %s\n",
	    sock, adm);
	daemon_config(&d, conf);
	daemon_start(&d, "local", NULL);
	daemon_open_to_users(&d);
	rc = peerctl_run_as(&admin, &d, o, sizeof(o), e, sizeof(e), "invite",
	    NULL);
	ck_assert_msg(rc == 0, "an admin's invite: %d: %s", rc, e);
	ck_assert_msg(strncmp(o, "peerd1", 6) == 0 || strlen(o) > 40,
	    "invite printed: %s", o);
}
END_TEST

/* Opens n connections to path as u and holds them until killed. */
static pid_t
flood_as(const struct test_user *u, const char *path, int n, int ready)
{
	struct rlimit	rl;
	pid_t		pid;
	int		i, opened = 0;

	if ((pid = fork_child(u)) != 0)
		return pid;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < n; i++)
		if (unix_connect(path) != -1)
			opened++;
	(void)write(ready, &opened, sizeof(opened));
	pause();
	_exit(0);
}

START_TEST(test_one_users_clients_leave_room_for_root)
{
	struct test_user	 u;
	char			 conf[256], group[32], o[4096], e[4096];
	long			 t0;
	pid_t			 pid;
	int			 p[2], opened = 0, rc;
	json_int_t		 refused, clients;

	if (skip_without_users(__func__))
		return;
	(void)group_add("floodg", group, sizeof(group));
	user_add(&u, "flood", group);
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "socket_group = %s\n", group);
	daemon_config(&d, conf);
	daemon_start(&d, "local", NULL);
	daemon_open_to_users(&d);
	ck_assert_int_eq(pipe(p), 0);
	pid = flood_as(&u, d.sock, FLOOD, p[1]);
	close(p[1]);
	ck_assert_int_eq(read(p[0], &opened, sizeof(opened)),
	    (ssize_t)sizeof(opened));
	close(p[0]);
	ck_assert_msg(opened >= FLOOD / 2, "the flood opened only %d "
	    "connections", opened);
	/* Root gets in at once, while the flood holds what it was given. */
	t0 = test_now_ms();
	rc = peerctl_run(&d, o, sizeof(o), e, sizeof(e), "status", NULL);
	ck_assert_msg(rc == 0, "root's status during the flood: %d: %s", rc,
	    e);
	ck_assert_msg(test_now_ms() - t0 < 1000, "root's status took %ld ms",
	    test_now_ms() - t0);
	refused = status_uint(&d, "clients_refused");
	clients = status_uint(&d, "clients");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_msg(refused >= opened - 64, "%d opened, %lld refused",
	    opened, (long long)refused);
	ck_assert_msg(clients <= 64 + 1, "%lld clients held", (long long)clients);
	ck_assert(daemon_log_has(&d, "the most one user may have"));
}
END_TEST

/* What d's status says of its clients, against what a test waits for. */
struct clients_seen {
	json_int_t	want_clients, want_refused;
	json_int_t	clients, refused;	/* as last seen; -1: no answer */
};

static bool
clients_are(void *arg)
{
	struct clients_seen	*w = arg;
	json_t			*j;
	int			 status;

	w->clients = w->refused = -1;
	if ((j = peerctl_json(&d, &status, "status", NULL)) == NULL)
		return false;
	w->clients = json_integer_value(json_object_get(j, "clients"));
	w->refused = json_integer_value(json_object_get(j, "clients_refused"));
	json_decref(j);
	return w->clients == w->want_clients && w->refused == w->want_refused;
}

/*
 * 0 if u, opening d's socket with libpeer, is refused with
 * RESOURCE_EXHAUSTED and a message holding want; else not 0.
 */
static int
open_exhausted_as(const struct test_user *u, const char *want)
{
	struct peer_error	 err;
	struct peer		*pc;
	pid_t			 pid;
	int			 status;

	if ((pid = fork_child(u)) == 0) {
		if ((pc = peer_open(d.sock, &err)) != NULL)
			_exit(2);
		if (err.code != PEER_RESOURCE_EXHAUSTED ||
		    strstr(err.message, want) == NULL) {
			fprintf(stderr, "peer_open as %s: %s: %s\n", u->name,
			    peer_code_name(err.code), err.message);
			_exit(3);
		}
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_the_last_places_are_kept_for_admins)
{
	struct test_user	 plain, admin, late;
	struct clients_seen	 w;
	char			 conf[256], sock[32], adm[32], groups[72];
	char			 o[4096], e[4096];
	pid_t			 pid;
	int			 p[2], opened = 0, rc;

	if (skip_without_users(__func__))
		return;
	(void)group_add("keep", sock, sizeof(sock));
	(void)group_add("keepadm", adm, sizeof(adm));
	snprintf(groups, sizeof(groups), "%s,%s", sock, adm);
	user_add(&plain, "keepflood", sock);
	user_add(&admin, "keepadmin", groups);
	user_add(&late, "keeplate", sock);
	daemon_init(&d);
	/* The per-user limit out of the way: only the admin places hold. */
	snprintf(conf, sizeof(conf), "max_clients = %d\n"
	    "max_clients_per_user = 1000\nsocket_group = %s\n"
	    "admin_group = %s\n", MAX_CLIENTS, sock, adm);
	daemon_config(&d, conf);
	daemon_start(&d, "local", NULL);
	daemon_open_to_users(&d);

	/*
	 * The flood's connects are all queued before root's status asks,
	 * so status finds them taken or refused: HELD of them held, and
	 * status's own client in an admin place.
	 */
	ck_assert_int_eq(pipe(p), 0);
	pid = flood_as(&plain, d.sock, MAX_CLIENTS * 3 / 2, p[1]);
	close(p[1]);
	ck_assert_int_eq(read(p[0], &opened, sizeof(opened)),
	    (ssize_t)sizeof(opened));
	close(p[0]);
	ck_assert_msg(opened > MAX_CLIENTS, "the flood opened only %d "
	    "connections", opened);
	w.want_clients = HELD + 1;
	w.want_refused = opened - HELD;
	ck_assert_msg(wait_until(clients_are, &w, 5000), "%d opened: status "
	    "showed %lld clients and %lld refused, not %lld and %lld",
	    opened, (long long)w.clients, (long long)w.refused,
	    (long long)w.want_clients, (long long)w.want_refused);
	ck_assert(daemon_log_has(&d, KEPT));

	/* An admin by a supplementary group gets in, and root does. */
	rc = peerctl_run_as(&admin, &d, o, sizeof(o), e, sizeof(e), "status",
	    NULL);
	ck_assert_msg(rc == 0, "a member of admin_group during the flood: "
	    "peerctl status: %d: %s", rc, e);
	rc = peerctl_run(&d, o, sizeof(o), e, sizeof(e), "status", NULL);
	ck_assert_msg(rc == 0, "root's status during the flood: %d: %s", rc,
	    e);
	/* Another plain user of the socket does not. */
	rc = peerctl_run_as(&late, &d, o, sizeof(o), e, sizeof(e), "status",
	    NULL);
	ck_assert_msg(rc == 1 && strstr(e, KEPT) != NULL, "another plain "
	    "user during the flood: peerctl status: %d: %s", rc, e);
	ck_assert_int_eq(open_exhausted_as(&late, KEPT), 0);
	w.want_refused += 2;
	ck_assert_msg(wait_until(clients_are, &w, 5000), "status showed %lld "
	    "clients and %lld refused, not %lld and %lld",
	    (long long)w.clients, (long long)w.refused,
	    (long long)w.want_clients, (long long)w.want_refused);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/* Resident memory of pid, in KiB. */
static long
rss_kib(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Clients each sending a frame of the largest size, all but its end. */
struct holders {
	int	fd[HOLDERS];
	size_t	sent[HOLDERS];
	size_t	frame;
};

static void
holders_push(struct holders *h)
{
	static uint8_t	zeros[64 << 10];
	uint8_t		hdr[FRAME_HDR];
	size_t		want;
	ssize_t		n;
	int		i;

	frame_put_len(hdr, (uint32_t)h->frame);
	for (i = 0; i < HOLDERS; i++) {
		if (h->sent[i] == 0 && write(h->fd[i], hdr, sizeof(hdr)) ==
		    (ssize_t)sizeof(hdr))
			h->sent[i] = sizeof(hdr);
		while (h->sent[i] > 0 &&
		    h->sent[i] < FRAME_HDR + h->frame - 1) {
			want = FRAME_HDR + h->frame - 1 - h->sent[i];
			if (want > sizeof(zeros))
				want = sizeof(zeros);
			if ((n = write(h->fd[i], zeros, want)) <= 0)
				break;
			h->sent[i] += (size_t)n;
		}
	}
}

struct hold_watch {
	struct holders	*h;
	json_int_t	 max_input, waiting, limit;
};

static bool
holders_settled(void *arg)
{
	struct hold_watch	*w = arg;
	json_int_t		 input;

	holders_push(w->h);
	input = status_uint(&d, "control_input_bytes");
	w->waiting = status_uint(&d, "clients_waiting_input");
	if (input > w->max_input)
		w->max_input = input;
	/*
	 * The frames that got room are in (one user's share of the room
	 * holds one such frame), the rest wait for it.
	 */
	return w->waiting >= HOLDERS - 4 && input >= (json_int_t)w->h->frame;
}

START_TEST(test_almost_full_frames_stay_within_the_input_cap)
{
	struct holders		 h;
	struct hold_watch	 w = { &h, 0, 0, 0 };
	long			 before, after;
	int			 i;

	daemon_init(&d);
	daemon_start(&d, "local", NULL);
	w.limit = status_uint(&d, "control_input_max");
	before = rss_kib(d.pid);
	memset(&h, 0, sizeof(h));
	/* The largest frame on defaults: max_message 16 MiB + 64 KiB. */
	h.frame = (16u << 20) + (64u << 10);
	for (i = 0; i < HOLDERS; i++) {
		ck_assert_int_ne(h.fd[i] = unix_connect(d.sock), -1);
		ck_assert_int_ne(fcntl(h.fd[i], F_SETFL, O_NONBLOCK), -1);
	}
	ck_assert_msg(wait_until(holders_settled, &w, 20000), "the holders "
	    "did not settle: %lld waiting, %lld bytes buffered at most",
	    (long long)w.waiting, (long long)w.max_input);
	after = rss_kib(d.pid);
	ck_assert_msg(w.max_input <= w.limit + HOLDERS * (16 << 10),
	    "%lld bytes buffered, over control_input_max %lld",
	    (long long)w.max_input, (long long)w.limit);
	ck_assert_msg(after - before < (w.limit >> 10) + 32 * 1024,
	    "the daemon grew from %ld to %ld KiB", before, after);
	/* Root is still served meanwhile. */
	ck_assert_int_ge(status_uint(&d, "clients"), HOLDERS);
	for (i = 0; i < HOLDERS; i++)
		close(h.fd[i]);
}
END_TEST

START_TEST(test_a_byte_at_a_time_is_cut_at_the_deadline)
{
	struct pollfd	pfd;
	uint8_t		hdr[FRAME_HDR], zero = 0, in[4096];
	long		t0, cut = -1;
	ssize_t		n;
	int		fd, dripped = 0;

	daemon_init(&d);
	daemon_config(&d, "control_frame_timeout = 2s\n");
	daemon_start(&d, "local", NULL);
	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	frame_put_len(hdr, 1000);
	t0 = test_now_ms();
	ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	/* A byte every 300 ms, until the daemon hangs up or 6 s pass. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (test_now_ms() - t0 < 6000 && cut < 0) {
		if (poll(&pfd, 1, 300) == 1) {
			while ((n = read(fd, in, sizeof(in))) > 0)
				;
			if (n == 0 || (n == -1 && errno != EAGAIN)) {
				cut = test_now_ms() - t0;
				break;
			}
		}
		if (send(fd, &zero, 1, MSG_NOSIGNAL) == 1)
			dripped++;
	}
	close(fd);
	ck_assert_msg(cut >= 1800 && cut < 3500, "cut off after %ld ms, not "
	    "at the 2 s deadline (%d bytes dripped)", cut, dripped);
	ck_assert_int_eq(status_uint(&d, "frames_timed_out"), 1);
	ck_assert(daemon_log_has(&d, "frame not finished within 2 s"));
}
END_TEST

Suite *
local_suite(void)
{
	Suite	*s = suite_create("local");
	TCase	*tc = tcase_create("local");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_socket_group_lets_its_members_in);
	tcase_add_test(tc, test_admin_group_may_use_admin_ops);
	tcase_add_test(tc, test_one_users_clients_leave_room_for_root);
	tcase_add_test(tc, test_the_last_places_are_kept_for_admins);
	tcase_add_test(tc, test_almost_full_frames_stay_within_the_input_cap);
	tcase_add_test(tc, test_a_byte_at_a_time_is_cut_at_the_deadline);
	suite_add_tcase(s, tc);
	return s;
}
