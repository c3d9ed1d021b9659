/* SPDX-License-Identifier: ISC */
/*
 * test_control.c: the control socket under bad input and load: every
 * bad client is answered and dropped alone; good clients keep being
 * served.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "frame.h"
#include "harness.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

/* The daemon's frame limit on defaults: max_message 16 MiB + 64 KiB. */
#define FRAME_MAX_DEFAULT	((16u << 20) + (64u << 10))

static struct daemon	d;

static void
setup(void)
{
	daemon_init(&d);
	daemon_start(&d, "ctl", NULL);
}

static void
teardown(void)
{
	daemon_free(&d);
}

/* Sends all of buf, ignoring a peer that closes early. */
static void
send_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;		/* the daemon dropped us: fine */
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Reads one frame within 5 s and returns its error code, or -1 if none
 * came; sets *eof if the daemon then closed the connection.
 */
static int
read_error(int fd, bool *eof)
{
	static uint8_t	 buf[1 << 16];
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	struct ctl_msg	 m;
	enum peer_code	 code;
	size_t		 len = 0;
	uint32_t	 flen;
	ssize_t		 n;
	char		 why[160], msg[256];
	int		 rc = -1;

	*eof = false;
	while (poll(&pfd, 1, 5000) == 1) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0) {
			*eof = true;
			break;
		}
		len += (size_t)n;
		if (rc == -1 && frame_check(buf, len, sizeof(buf), &flen) ==
		    FRAME_OK) {
			ck_assert_int_eq(ctl_msg_decode(buf + FRAME_HDR, flen,
			    &m, why, sizeof(why)), 0);
			ck_assert_ptr_nonnull(ctl_msg_get(&m, "error"));
			ck_assert(ctl_read_error(ctl_msg_get(&m, "error"), &code,
			    msg, sizeof(msg)));
			rc = (int)code;
		}
	}
	return rc;
}

/* The daemon still serves a fresh client and the given open one. */
static void
assert_serving(struct peer *old)
{
	struct peer_status	*st;
	struct peer_error	 err;
	struct peer		*p;

	p = peer_open(d.sock, &err);
	ck_assert_msg(p != NULL, "new client refused: %s", err.message);
	ck_assert_str_eq(peer_node_name(p), "ctl");
	ck_assert_uint_eq(strlen(peer_node_id(p)), 52);
	ck_assert_int_eq(peer_status(p, &st, &err), 0);
	ck_assert_str_eq(st->name, "ctl");
	peer_status_free(st);
	peer_close(p);
	if (old != NULL) {
		ck_assert_msg(peer_status(old, &st, &err) == 0,
		    "connected client lost: %s", err.message);
		peer_status_free(st);
	}
}

/*
 * Sends buf on a new connection (shutting down the sending side if
 * half_close), and asserts one error with code, then a disconnect,
 * while the daemon keeps serving.
 */
static void
expect_dropped(const void *buf, size_t len, bool half_close, int code)
{
	bool	eof;
	int	fd;

	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	send_all(fd, buf, len);
	if (half_close)
		shutdown(fd, SHUT_WR);
	ck_assert_int_eq(read_error(fd, &eof), code);
	ck_assert_msg(eof, "not disconnected");
	close(fd);
	assert_serving(NULL);
}

START_TEST(test_random_megabyte)
{
	struct peer	*bystander;
	uint8_t		*junk;
	size_t		 len = 1 << 20;
	uint32_t	 claimed;
	bool		 eof;
	int		 fd, code;

	ck_assert_ptr_nonnull(bystander = peer_open(d.sock, NULL));
	ck_assert_ptr_nonnull(junk = malloc(len));
	randombytes_buf(junk, len);
	/* Small declared length: the frame is garbage, not oversized. */
	frame_put_len(junk, 1000);
	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	send_all(fd, junk, len);
	code = read_error(fd, &eof);
	ck_assert_int_eq(code, PEER_INVALID_ARGUMENT);
	ck_assert(eof);
	close(fd);

	/*
	 * Fully random, header included.  What the header claims decides
	 * the answer: more than the limit (almost always), a whole frame of
	 * garbage, or a frame still unfinished when the client stops.
	 */
	randombytes_buf(junk, len);
	claimed = (uint32_t)junk[0] << 24 | (uint32_t)junk[1] << 16 |
	    (uint32_t)junk[2] << 8 | junk[3];
	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	send_all(fd, junk, len);
	shutdown(fd, SHUT_WR);
	code = read_error(fd, &eof);
	if (claimed > FRAME_MAX_DEFAULT)
		ck_assert_int_eq(code, PEER_RESOURCE_EXHAUSTED);
	else
		ck_assert_int_eq(code, PEER_INVALID_ARGUMENT);
	ck_assert(eof);
	close(fd);
	free(junk);
	assert_serving(bystander);
	peer_close(bystander);
	ck_assert(daemon_log_has(&d, "closing"));
}
END_TEST

START_TEST(test_oversized_frame)
{
	uint8_t	hdr[FRAME_HDR];

	/* Refused from the header alone, without waiting for the body. */
	frame_put_len(hdr, 0x7fffffff);
	expect_dropped(hdr, sizeof(hdr), false, PEER_RESOURCE_EXHAUSTED);
	ck_assert(daemon_log_has(&d, "bytes exceeds"));
}
END_TEST

START_TEST(test_empty_and_wrong_types)
{
	/* frame 0 bytes; then a CBOR array; then {"op": 5, "id": 1} */
	static const uint8_t	empty[] = { 0, 0, 0, 0 };
	static const uint8_t	array[] = { 0, 0, 0, 2, 0x81, 0x01 };
	static const uint8_t	optype[] = { 0, 0, 0, 9, 0xa2, 0x62, 'o', 'p',
	    0x05, 0x62, 'i', 'd', 0x01 };

	expect_dropped(empty, sizeof(empty), false, PEER_INVALID_ARGUMENT);
	expect_dropped(array, sizeof(array), false, PEER_INVALID_ARGUMENT);
	expect_dropped(optype, sizeof(optype), false, PEER_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_truncated_frame)
{
	static const uint8_t	part[] = { 0, 0, 0, 50, 0xa2, 0x62 };

	expect_dropped(part, sizeof(part), true, PEER_INVALID_ARGUMENT);
	ck_assert(daemon_log_has(&d, "truncated frame"));
}
END_TEST

START_TEST(test_half_close_gets_all_replies)
{
	static uint8_t	 buf[1 << 20];
	struct cbor_buf	 b = { 0 };
	struct pollfd	 pfd;
	struct ctl_msg	 m;
	size_t		 start, len = 0, off;
	uint32_t	 flen;
	uint64_t	 id, next = 1;
	ssize_t		 n;
	char		 why[160];
	int		 fd;

	/* 1000 requests, then only the sending side is shut down. */
	for (id = 1; id <= 1000; id++) {
		start = ctl_frame_begin(&b);
		ctl_put_request(&b, "status", id, 0);
		ck_assert_int_eq(ctl_frame_end(&b, start, 1 << 20), 0);
	}
	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	send_all(fd, b.data, b.len);
	shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 5000) == 1 && (n = read(fd, buf + len,
	    sizeof(buf) - len)) > 0)
		len += (size_t)n;
	/* Every reply came, in order, before the daemon closed. */
	for (off = 0; frame_check(buf + off, len - off, sizeof(buf), &flen) ==
	    FRAME_OK; off += FRAME_HDR + flen) {
		ck_assert_int_eq(ctl_msg_decode(buf + off + FRAME_HDR, flen, &m,
		    why, sizeof(why)), 0);
		ck_assert_uint_eq(m.id, next);
		ck_assert_ptr_nonnull(ctl_msg_get(&m, "result"));
		next++;
	}
	ck_assert_uint_eq(next, 1001);
	ck_assert_uint_eq(off, len);
	close(fd);
	cbor_buf_free(&b);
	assert_serving(NULL);
}
END_TEST

/* Sends n pipelined hellos and half-closes; returns replies received. */
static unsigned
half_closed_client(unsigned n)
{
	static uint8_t	 buf[1 << 20];
	struct cbor_buf	 b = { 0 };
	struct pollfd	 pfd;
	size_t		 start, len = 0, off, i;
	uint32_t	 flen;
	ssize_t		 r;
	unsigned	 got = 0;
	int		 fd;

	for (i = 1; i <= n; i++) {
		start = ctl_frame_begin(&b);
		ctl_put_request(&b, "hello", i, 0);
		ck_assert_int_eq(ctl_frame_end(&b, start, 1 << 20), 0);
	}
	ck_assert_int_ne(fd = unix_connect(d.sock), -1);
	send_all(fd, b.data, b.len);
	shutdown(fd, SHUT_WR);
	cbor_buf_free(&b);
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* Count frames as they come; keep only the unfinished tail. */
	while (poll(&pfd, 1, 10000) == 1 && (r = read(fd, buf + len,
	    sizeof(buf) - len)) > 0) {
		len += (size_t)r;
		for (off = 0; frame_check(buf + off, len - off, sizeof(buf),
		    &flen) == FRAME_OK; off += FRAME_HDR + flen)
			got++;
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	close(fd);
	return got;
}

START_TEST(test_many_half_closed_clients)
{
	pid_t	pids[20];
	int	i, status, ok = 0;

	/* Enough at once that the daemon must interleave them. */
	for (i = 0; i < 20; i++) {
		ck_assert_int_ne(pids[i] = fork(), -1);
		if (pids[i] == 0)
			_exit(half_closed_client(3000) == 3000 ? 0 : 1);
	}
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	ck_assert_int_eq(ok, 20);
	ck_assert(!daemon_log_has(&d, "truncated frame"));
	assert_serving(NULL);
}
END_TEST

START_TEST(test_request_without_id)
{
	/* {"op": "status"}: nothing to answer it with, so the client goes. */
	static const uint8_t	noid[] = { 0, 0, 0, 11, 0xa1, 0x62, 'o', 'p',
	    0x66, 's', 't', 'a', 't', 'u', 's' };

	expect_dropped(noid, sizeof(noid), false, PEER_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_unknown_op_keeps_client)
{
	struct peer_error	 err;
	struct peer		*p;
	uint8_t			*res = NULL;
	size_t			 len;

	ck_assert_ptr_nonnull(p = peer_open(d.sock, &err));
	ck_assert_int_eq(peer_op(p, "no.such_op", NULL, 0, 0, 0, &res, &len,
	    &err), -1);
	ck_assert_int_eq(err.code, PEER_UNIMPLEMENTED);
	ck_assert(strstr(err.message, "no.such_op") != NULL);
	assert_serving(p);	/* same connection still works */
	peer_close(p);
}
END_TEST

struct pipeline {
	unsigned	answered;
	unsigned	bad;
	uint64_t	ids[1000];
};

static void
pipeline_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct pipeline	*pl = arg;

	(void)p;
	if (r->error != NULL || r->id != pl->ids[pl->answered])
		pl->bad++;
	pl->answered++;
}

START_TEST(test_pipelined_requests)
{
	struct pipeline		 pl = { 0, 0, { 0 } };
	struct peer_error	 err;
	struct peer		*p;
	unsigned		 i;

	ck_assert_ptr_nonnull(p = peer_open(d.sock, &err));
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0, 10000,
		    pipeline_cb, &pl, &pl.ids[i], &err), 0);
	ck_assert_int_eq(peer_wait(p, pl.ids[999], &err), 0);
	ck_assert_uint_eq(pl.answered, 1000);
	ck_assert_uint_eq(pl.bad, 0);
	peer_close(p);
}
END_TEST

START_TEST(test_many_clients)
{
	struct peer	*p[64];
	size_t		 i;

	for (i = 0; i < 64; i++)
		ck_assert_ptr_nonnull(p[i] = peer_open(d.sock, NULL));
	for (i = 0; i < 64; i++)
		assert_serving(p[i]);
	for (i = 0; i < 64; i++)
		peer_close(p[i]);
}
END_TEST

static bool
only_one_client(void *arg)
{
	struct peer_status	*st;
	bool			 one;

	if (peer_status(arg, &st, NULL) == -1)
		return false;
	one = st->clients == 1;
	peer_status_free(st);
	return one;
}

START_TEST(test_client_limit)
{
	struct daemon		 small;
	struct peer		*p[3];
	struct peer_error	 err;

	daemon_init(&small);
	daemon_config(&small, "max_clients = 2\n");
	daemon_start(&small, "small", NULL);
	ck_assert_ptr_nonnull(p[0] = peer_open(small.sock, &err));
	/* daemon_start's probe must be gone before the count is exact. */
	ck_assert_msg(wait_until(only_one_client, p[0], 3000),
	    "probe connection still counted");
	ck_assert_ptr_nonnull(p[1] = peer_open(small.sock, &err));
	p[2] = peer_open(small.sock, &err);
	ck_assert_ptr_null(p[2]);
	ck_assert_msg(err.code == PEER_RESOURCE_EXHAUSTED, "%s: %s",
	    peer_code_name(err.code), err.message);
	ck_assert_str_eq(err.message, "too many clients");
	ck_assert(daemon_log_has(&small, "refused: too many clients"));
	peer_close(p[0]);
	peer_close(p[1]);
	daemon_free(&small);
}
END_TEST

Suite *
control_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc = tcase_create("control");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_random_megabyte);
	tcase_add_test(tc, test_oversized_frame);
	tcase_add_test(tc, test_empty_and_wrong_types);
	tcase_add_test(tc, test_truncated_frame);
	tcase_add_test(tc, test_half_close_gets_all_replies);
	tcase_add_test(tc, test_many_half_closed_clients);
	tcase_add_test(tc, test_request_without_id);
	tcase_add_test(tc, test_unknown_op_keeps_client);
	tcase_add_test(tc, test_pipelined_requests);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_client_limit);
	suite_add_tcase(s, tc);
	return s;
}
