/* SPDX-License-Identifier: ISC */
/*
 * test_control.c: control.c serving small op tables of the suite's own
 * over a real socket.  The rules: each op's handler is called with the
 * arg its table was added with, and an op name is taken once; an
 * unknown op or a request without an op is answered and the connection
 * stays, a request without an id of 1 or more closes it; an op marked
 * CTL_OP_NO_ID takes messages without an id; admin ops need root or the
 * daemon's uid; an oversized, empty, malformed or truncated frame gets
 * one id-0 error and closes the connection; the owner hears once of each
 * client that goes, and the requests it had deferred are cancelled; a
 * client with too much deferred is not read from until an answer comes;
 * a result too large fails alone; clients over max_clients are refused;
 * one server holds a socket path, and removes its file when freed; a
 * frame must be finished within the frame timeout of its first byte,
 * however slowly it comes; clients together buffer no more than
 * input_max, those without room wait their turn and all are served;
 * one user's waiting frames do not hold back another's; a waiting
 * client that stops sending is read to its end and leaves.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "clock.h"
#include "control.h"
#include "frame.h"
#include "harness.h"

#define MAX_MESSAGE	4096
#define MAX_FRAME	(MAX_MESSAGE + (64u << 10))
#define MAX_CLIENTS	4
#define WAIT_MS		2000	/* for what must happen */
#define QUIET_MS	100	/* for what must not */
#define DEFERS_MAX	1024	/* what a client may have deferred */
#define NOBODY		65534

/* Whose table an op came from: its handler answers with the name. */
struct owner {
	const char	*name;
	int		 calls;
};

/* A request an op deferred, until answered or cancelled. */
struct pending {
	struct ctl_defer	*d;
	struct ctl_conn		*c;
	uint64_t		 id;
	bool			 cancelled;
};

static char		 dir[128], path[192];
static struct event_base *base;
static struct control	*ctl;
static struct client	*cl[MAX_CLIENTS + 2];
static struct owner	 first = { "first", 0 }, second = { "second", 0 };
static struct owner	 third = { "third", 0 };
static struct ctl_conn	*last_conn;	/* whose request came last */
static struct ctl_conn	*gone_conn;
static int		 ngone;
static struct pending	 pend[DEFERS_MAX + 8];
static int		 npend, ncancelled, ninvoked;
static int		 noid_calls;
static bool		 noid_had_id;
static uint64_t		 noid_n;
static uint8_t		 zeros[MAX_FRAME];

static void
client_gone(void *arg, struct ctl_conn *c)
{
	ck_assert_ptr_eq(arg, &first);
	gone_conn = c;
	ngone++;
}

static const struct control_ops ops = { client_gone };

static void
op_echo(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct owner	*o = arg;
	struct cbor_buf	*b;

	o->calls++;
	last_conn = c;
	b = ctl_result_begin(c, m->id);
	cbor_put_text(b, o->name);
	ctl_result_end(c);
}

static void
op_fail(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	(void)arg;
	last_conn = c;
	ctl_reply_error(c, m->id, PEER_NOT_FOUND, "no such thing");
}

static void
cancel_pending(void *arg)
{
	struct pending	*p = arg;

	ck_assert(!p->cancelled);
	p->cancelled = true;
	p->d = NULL;
	ncancelled++;
}

/* Defers the request; its answer comes from the test. */
static struct ctl_defer *
defer(struct ctl_conn *c, const struct ctl_msg *m)
{
	struct pending	*p;

	ck_assert_int_lt(npend, (int)(sizeof(pend) / sizeof(pend[0])));
	last_conn = c;
	p = &pend[npend];
	p->c = c;
	p->id = m->id;
	p->d = ctl_defer(c, m->id, cancel_pending, p);
	ck_assert_ptr_nonnull(p->d);
	npend++;
	return p->d;
}

static void
op_wait(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	(void)arg;
	(void)defer(c, m);
}

/* A deferred request as heavy as a client may have in flight. */
static void
op_heavy(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	(void)arg;
	ctl_defer_weigh(defer(c, m), 8u << 20);
}

/* Answers the client's own deferred "target"; says if it found it. */
static void
op_find(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct ctl_defer	*d;
	struct pending		*p;
	struct cbor_buf		*b;
	uint64_t		 target = 0;

	(void)arg;
	if (!ctl_arg_uint(c, m, "target", &target, UINT64_MAX))
		return;
	if ((d = ctl_defer_find(c, target, cancel_pending)) != NULL) {
		p = ctl_defer_arg(d);
		ck_assert_ptr_eq(p->d, d);
		ck_assert_ptr_eq(p->c, c);
		b = ctl_defer_begin(d);
		cbor_put_text(b, "found");
		ctl_defer_end(d);
		p->d = NULL;
	}
	b = ctl_result_begin(c, m->id);
	cbor_put_bool(b, d != NULL);
	ctl_result_end(c);
}

/* Sends a message of the daemon's own, then answers. */
static void
op_invoke(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct cbor_buf	*b;

	(void)arg;
	last_conn = c;
	b = ctl_message_begin(c);
	cbor_put_map(b, 2);
	cbor_put_text(b, "op");
	cbor_put_text(b, "invoke");
	cbor_put_text(b, "n");
	cbor_put_uint(b, m->id * 10);
	ctl_message_end(c);
	b = ctl_result_begin(c, m->id);
	cbor_put_uint(b, m->id);
	ctl_result_end(c);
	ninvoked++;
}

/* An app's answer to an invoke: no reply. */
static void
op_reply(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	const struct cbor_field	*f;

	(void)c; (void)arg;
	noid_calls++;
	noid_had_id = m->has_id;
	if ((f = ctl_msg_get(m, "n")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &noid_n))
		noid_n = 0;
}

static void
op_admin(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct cbor_buf	*b;

	(void)arg;
	b = ctl_result_begin(c, m->id);
	cbor_put_bool(b, true);
	ctl_result_end(c);
}

/* A result whose frame would be larger than the limit. */
static void
op_big(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct cbor_buf	*b;

	(void)arg;
	b = ctl_result_begin(c, m->id);
	cbor_put_bytes(b, zeros, sizeof(zeros));
	ctl_result_end(c);
}

static const struct ctl_op first_ops[] = {
	{ "echo", 0, op_echo },
	{ "fail", 0, op_fail },
	{ "wait", 0, op_wait },
	{ "heavy", 0, op_heavy },
	{ "find", 0, op_find },
	{ "invoke", 0, op_invoke },
	{ "reply", CTL_OP_NO_ID, op_reply },
	{ "admin", CTL_OP_ADMIN, op_admin },
	{ "big", 0, op_big },
	{ NULL, 0, NULL }
};

static const struct ctl_op second_ops[] = {
	{ "other", 0, op_echo },
	{ NULL, 0, NULL }
};

static const struct ctl_op taken_ops[] = {
	{ "echo", 0, op_echo },
	{ NULL, 0, NULL }
};

static struct control *
open_control(void)
{
	struct control_params	p;

	control_params_init(&p, path);
	p.max_message = MAX_MESSAGE;
	p.max_clients = MAX_CLIENTS;
	return control_open(base, &p, &ops, &first);
}

static void
setup(void)
{
	/* As the daemon does: a client gone mid-write is an error, no more. */
	signal(SIGPIPE, SIG_IGN);
	tmpdir_make(dir, sizeof(dir), "control");
	snprintf(path, sizeof(path), "%s/peerd.sock", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ctl = open_control();
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(control_add_ops(ctl, first_ops, &first), 0);
	ck_assert_int_eq(control_add_ops(ctl, second_ops, &second), 0);
}

static void
teardown(void)
{
	size_t	i;

	control_free(ctl);
	for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++)
		client_close(cl[i]);
	event_base_free(base);
	tmpdir_remove(dir);
}

static bool
has_clients(void *arg)
{
	return control_clients(ctl) == *(unsigned *)arg;
}

/* Whether control_clients() comes to n in time. */
static bool
clients_come_to(unsigned n)
{
	return loop_until(base, has_clients, &n, WAIT_MS);
}

static bool
has_pending(void *arg)
{
	return npend >= *(int *)arg;
}

/* Waits until n requests in all were deferred. */
static void
wait_pending(int n)
{
	ck_assert_msg(loop_until(base, has_pending, &n, WAIT_MS),
	    "%d requests deferred, not %d", npend, n);
}

static bool
has_gone(void *arg)
{
	return ngone >= *(int *)arg;
}

static void
send_req(struct client *c, const char *op, uint64_t id)
{
	client_begin(c, op, id, 0);
	client_send(c);
}

/* The reply to id comes, with this code. */
static void
expect_code(struct client *c, uint64_t id, enum peer_code want)
{
	const struct ctl_msg	*m;
	enum peer_code		 code;
	char			 msg[256];

	m = client_reply(c, base, id, WAIT_MS);
	ck_assert_msg(m != NULL, "no reply to request %llu",
	    (unsigned long long)id);
	code = reply_code(m, msg, sizeof(msg));
	ck_assert_msg(code == want, "request %llu: %s (%s), not %s",
	    (unsigned long long)id, peer_code_name(code), msg,
	    peer_code_name(want));
}

/* echo id answers with the name of the owner of its table. */
static void
expect_echo(struct client *c, const char *op, uint64_t id, const char *name)
{
	const struct ctl_msg	*m;
	char			 buf[32];

	send_req(c, op, id);
	m = client_reply(c, base, id, WAIT_MS);
	ck_assert_msg(m != NULL, "no reply to %s %llu", op,
	    (unsigned long long)id);
	ck_assert_int_eq(reply_code(m, NULL, 0), PEER_OK);
	ck_assert_str_eq(msg_text(m, "result", buf, sizeof(buf)), name);
}

/* The connection is closed after one id-0 error with this code. */
static void
expect_closed_with(struct client *c, enum peer_code want)
{
	const struct ctl_msg	*m;
	enum peer_code		 code;
	char			 msg[256];

	m = client_reply(c, base, 0, WAIT_MS);
	ck_assert_msg(m != NULL, "no id-0 error about the connection came");
	code = reply_code(m, msg, sizeof(msg));
	ck_assert_msg(code == want, "id-0 error %s (%s), not %s",
	    peer_code_name(code), msg, peer_code_name(want));
	ck_assert_msg(client_closed(c, base, WAIT_MS),
	    "the connection stayed open after an id-0 error");
}

/* Writes the frame built in b since start, and frees b. */
static void
send_frame(struct client *c, struct cbor_buf *b, size_t start)
{
	ck_assert_int_eq(ctl_frame_end(b, start, 64u << 20), 0);
	client_write(c, b->data, b->len);
	cbor_buf_free(b);
}

/* Writes a frame header saying len, and nothing more. */
static void
send_header(struct client *c, uint32_t len)
{
	uint8_t	hdr[FRAME_HDR];

	frame_put_len(hdr, len);
	client_write(c, hdr, sizeof(hdr));
}

/* Answers the deferred request of pend[i]. */
static void
answer(int i)
{
	struct cbor_buf	*b;

	ck_assert_ptr_nonnull(pend[i].d);
	b = ctl_defer_begin(pend[i].d);
	cbor_put_uint(b, pend[i].id);
	ctl_defer_end(pend[i].d);
	pend[i].d = NULL;
}

START_TEST(test_ops_called_with_their_arg)
{
	cl[0] = client_open(path);
	expect_echo(cl[0], "echo", 1, "first");
	expect_echo(cl[0], "other", 2, "second");
	expect_echo(cl[0], "echo", 3, "first");
	ck_assert_int_eq(first.calls, 2);
	ck_assert_int_eq(second.calls, 1);
	/* A handler's own error goes to its request; the connection stays. */
	send_req(cl[0], "fail", 4);
	expect_code(cl[0], 4, PEER_NOT_FOUND);
	expect_echo(cl[0], "echo", 5, "first");
}
END_TEST

START_TEST(test_taken_name_keeps_the_first)
{
	ck_assert_int_eq(control_add_ops(ctl, taken_ops, &third), -1);
	cl[0] = client_open(path);
	expect_echo(cl[0], "echo", 1, "first");
	ck_assert_int_eq(third.calls, 0);
}
END_TEST

START_TEST(test_unknown_op_keeps_the_connection)
{
	cl[0] = client_open(path);
	send_req(cl[0], "nosuchop", 7);
	expect_code(cl[0], 7, PEER_UNIMPLEMENTED);
	expect_echo(cl[0], "echo", 8, "first");
}
END_TEST

START_TEST(test_request_without_an_op)
{
	struct cbor_buf	b = { 0 };
	size_t		start;

	cl[0] = client_open(path);
	start = ctl_frame_begin(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "id");
	cbor_put_uint(&b, 5);
	send_frame(cl[0], &b, start);
	expect_code(cl[0], 5, PEER_INVALID_ARGUMENT);
	expect_echo(cl[0], "echo", 6, "first");
}
END_TEST

START_TEST(test_request_without_an_id_closes)
{
	struct cbor_buf	b = { 0 };
	size_t		start;

	/* No id at all. */
	cl[0] = client_open(path);
	start = ctl_frame_begin(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "op");
	cbor_put_text(&b, "echo");
	send_frame(cl[0], &b, start);
	expect_closed_with(cl[0], PEER_INVALID_ARGUMENT);
	/* Id 0, which is for errors about the connection. */
	cl[1] = client_open(path);
	send_req(cl[1], "echo", 0);
	expect_closed_with(cl[1], PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(first.calls, 0);
}
END_TEST

START_TEST(test_no_id_op_takes_a_message)
{
	const struct ctl_msg	*m;
	struct cbor_buf		 b = { 0 };
	size_t			 start;

	cl[0] = client_open(path);
	send_req(cl[0], "invoke", 3);
	m = client_message(cl[0], base, "invoke", WAIT_MS);
	ck_assert_msg(m != NULL, "no invoke message came");
	ck_assert(!m->has_id);
	ck_assert_uint_eq(msg_uint(m, "n"), 30);
	expect_code(cl[0], 3, PEER_OK);
	/* The app's answer, without an id. */
	start = ctl_frame_begin(&b);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "op");
	cbor_put_text(&b, "reply");
	cbor_put_text(&b, "n");
	cbor_put_uint(&b, 30);
	send_frame(cl[0], &b, start);
	expect_echo(cl[0], "echo", 4, "first");
	ck_assert_int_eq(noid_calls, 1);
	ck_assert(!noid_had_id);
	ck_assert_uint_eq(noid_n, 30);
	/* Nothing was said about the connection, which stays. */
	ck_assert_ptr_null(client_reply(cl[0], base, 0, 0));
	ck_assert_int_eq(ngone, 0);
}
END_TEST

/* A bare connection, for what the client of the harness cannot do. */
static int
raw_connect(int type)
{
	struct sockaddr_un	sun;
	size_t			n = strlen(path);
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (n >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, n);
	if ((fd = socket(AF_UNIX, type, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What a client of another user got for admin and echo, by pipe. */
static void
child_asks(int out)
{
	struct cbor_buf		 b = { 0 };
	struct ctl_msg		 m;
	struct pollfd		 pfd;
	const struct cbor_field	*f;
	enum peer_code		 code;
	uint8_t			 in[4096], codes[2] = { 255, 255 };
	size_t			 inlen = 0, start;
	uint32_t		 len;
	ssize_t			 n;
	char			 why[160];
	int			 fd, got = 0;

	if (setgroups(0, NULL) == -1 || setgid(NOBODY) == -1 ||
	    setuid(NOBODY) == -1)
		_exit(2);
	if ((fd = raw_connect(SOCK_STREAM)) == -1)
		_exit(3);
	start = ctl_frame_begin(&b);
	ctl_put_request(&b, "admin", 1, 0);
	(void)ctl_frame_end(&b, start, MAX_FRAME);
	start = ctl_frame_begin(&b);
	ctl_put_request(&b, "echo", 2, 0);
	(void)ctl_frame_end(&b, start, MAX_FRAME);
	if (b.failed || write(fd, b.data, b.len) != (ssize_t)b.len)
		_exit(4);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < 2 && poll(&pfd, 1, WAIT_MS) == 1) {
		if ((n = read(fd, in + inlen, sizeof(in) - inlen)) <= 0)
			break;
		inlen += (size_t)n;
		while (frame_check(in, inlen, sizeof(in), &len) == FRAME_OK) {
			if (ctl_msg_decode(in + FRAME_HDR, len, &m, why,
			    sizeof(why)) == 0 && m.has_id &&
			    (m.id == 1 || m.id == 2)) {
				code = PEER_OK;
				if ((f = ctl_msg_get(&m, "error")) != NULL &&
				    !ctl_read_error(f, &code, NULL, 0))
					code = PEER_UNKNOWN;
				codes[m.id - 1] = (uint8_t)code;
				got++;
			}
			inlen -= FRAME_HDR + len;
			memmove(in, in + FRAME_HDR + len, inlen);
		}
	}
	(void)write(out, codes, sizeof(codes));
	_exit(0);
}

/* What is read from a non-blocking fd, until it ends or buf is full. */
struct drain {
	int	fd;
	uint8_t	buf[4096];
	size_t	len;
	bool	eof;
};

/* Reads what is there now. */
static void
drain_some(struct drain *dr)
{
	ssize_t	n;

	while (!dr->eof && dr->len < sizeof(dr->buf)) {
		n = read(dr->fd, dr->buf + dr->len, sizeof(dr->buf) - dr->len);
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0)
			dr->eof = true;
		else
			dr->len += (size_t)n;
	}
}

/* The child wrote its two codes, or ended. */
static bool
child_answered(void *arg)
{
	struct drain	*dr = arg;

	drain_some(dr);
	return dr->eof || dr->len >= 2;
}

/* The daemon closed the connection. */
static bool
drained(void *arg)
{
	struct drain	*dr = arg;

	drain_some(dr);
	return dr->eof;
}

static void
wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
}

START_TEST(test_admin_op_needs_root_or_the_daemons_user)
{
	struct drain		 cc = { 0 };
	struct event		*ev;
	pid_t			 pid;
	int			 p[2], status;

	/* The daemon's own user may. */
	cl[0] = client_open(path);
	send_req(cl[0], "admin", 1);
	expect_code(cl[0], 1, PEER_OK);
	if (geteuid() != 0) {
		fprintf(stderr, "test_admin_op_needs_root_or_the_daemons_user: "
		    "skipped the other user's client: needs root to setuid\n");
		return;
	}
	/* Another user may connect, and use every op but the admin ones. */
	ck_assert_int_eq(chmod(dir, 0711), 0);
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		child_asks(p[1]);
	}
	close(p[1]);
	ck_assert_int_ne(fcntl(p[0], F_SETFL, O_NONBLOCK), -1);
	cc.fd = p[0];
	ev = event_new(base, p[0], EV_READ | EV_PERSIST, wake, NULL);
	ck_assert_ptr_nonnull(ev);
	event_add(ev, NULL);
	(void)loop_until(base, child_answered, &cc, WAIT_MS);
	event_free(ev);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client of uid %d failed (status %d)", NOBODY, status);
	ck_assert_uint_eq(cc.len, 2);
	ck_assert_msg(cc.buf[0] == PEER_PERMISSION_DENIED,
	    "admin op from uid %d: code %u, not PERMISSION_DENIED", NOBODY,
	    cc.buf[0]);
	ck_assert_msg(cc.buf[1] == PEER_OK,
	    "echo from uid %d: code %u, not OK", NOBODY, cc.buf[1]);
}
END_TEST

START_TEST(test_frame_over_the_limit_closes)
{
	struct cbor_buf	b = { 0 };
	size_t		start, pad;

	/* A frame of exactly the limit is read. */
	cl[0] = client_open(path);
	start = ctl_frame_begin(&b);
	ctl_put_request(&b, "echo", 1, 1);
	cbor_put_text(&b, "pad");
	pad = MAX_FRAME - (b.len - start - FRAME_HDR) - 5;
	cbor_put_bytes(&b, zeros, pad);
	ck_assert_uint_eq(b.len - start - FRAME_HDR, MAX_FRAME);
	send_frame(cl[0], &b, start);
	expect_code(cl[0], 1, PEER_OK);
	/* One byte more is refused on its header alone. */
	cl[1] = client_open(path);
	send_header(cl[1], MAX_FRAME + 1);
	expect_closed_with(cl[1], PEER_RESOURCE_EXHAUSTED);
	expect_echo(cl[0], "echo", 2, "first");
}
END_TEST

START_TEST(test_empty_frame_closes)
{
	cl[0] = client_open(path);
	send_header(cl[0], 0);
	expect_closed_with(cl[0], PEER_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_malformed_cbor_closes)
{
	static const uint8_t	 not_a_map[] = { 0, 0, 0, 1, 0x01 };
	static const uint8_t	 cut_map[] = { 0, 0, 0, 3, 0xa1, 0x62, 'o' };
	struct cbor_buf		 b = { 0 };
	size_t			 start;

	cl[0] = client_open(path);
	client_write(cl[0], not_a_map, sizeof(not_a_map));
	expect_closed_with(cl[0], PEER_INVALID_ARGUMENT);
	cl[1] = client_open(path);
	client_write(cl[1], cut_map, sizeof(cut_map));
	expect_closed_with(cl[1], PEER_INVALID_ARGUMENT);
	/* An op of the wrong type: the error carries the id it could read. */
	cl[2] = client_open(path);
	start = ctl_frame_begin(&b);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "id");
	cbor_put_uint(&b, 9);
	cbor_put_text(&b, "op");
	cbor_put_uint(&b, 5);
	send_frame(cl[2], &b, start);
	expect_code(cl[2], 9, PEER_INVALID_ARGUMENT);
	ck_assert(client_closed(cl[2], base, WAIT_MS));
	ck_assert_int_eq(ngone, 3);
}
END_TEST

START_TEST(test_truncated_frame)
{
	static const uint8_t	 part[] = { 0, 0, 0, 9, 0xa2, 0x62, 'o' };
	struct drain		 dr = { 0 };
	struct ctl_msg		 m;
	struct event		*ev;
	uint32_t		 len;
	char			 why[160];

	/* The client ends its side in mid-frame, and reads on. */
	dr.fd = raw_connect(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_int_ne(dr.fd, -1);
	ck_assert_int_eq(write(dr.fd, part, sizeof(part)),
	    (ssize_t)sizeof(part));
	ck_assert_int_eq(shutdown(dr.fd, SHUT_WR), 0);
	ev = event_new(base, dr.fd, EV_READ | EV_PERSIST, wake, NULL);
	ck_assert_ptr_nonnull(ev);
	event_add(ev, NULL);
	ck_assert_msg(loop_until(base, drained, &dr, WAIT_MS),
	    "the daemon kept a truncated connection open");
	event_free(ev);
	ck_assert_int_eq(ngone, 1);
	ck_assert_int_eq(frame_check(dr.buf, dr.len, sizeof(dr.buf), &len),
	    FRAME_OK);
	ck_assert_int_eq(ctl_msg_decode(dr.buf + FRAME_HDR, len, &m, why,
	    sizeof(why)), 0);
	ck_assert(m.has_id && m.id == 0);
	ck_assert_int_eq(reply_code(&m, NULL, 0), PEER_INVALID_ARGUMENT);
	close(dr.fd);
	ck_assert(clients_come_to(0));
	ck_assert_int_eq(ngone, 1);
}
END_TEST

START_TEST(test_gone_once_on_eof)
{
	struct ctl_conn	*c;

	cl[0] = client_open(path);
	expect_echo(cl[0], "echo", 1, "first");
	c = last_conn;
	client_close(cl[0]);
	cl[0] = NULL;
	ck_assert(clients_come_to(0));
	ck_assert_int_eq(ngone, 1);
	ck_assert_ptr_eq(gone_conn, c);
}
END_TEST

static bool
invoke_written(void *arg)
{
	(void)arg;
	return ninvoked == 1 && ctl_queued(last_conn) == 0;
}

START_TEST(test_gone_once_on_error_cancels_deferred)
{
	cl[0] = client_open(path);
	cl[1] = client_open(path);
	send_req(cl[1], "wait", 1);
	wait_pending(1);
	send_req(cl[0], "wait", 1);
	send_req(cl[0], "wait", 2);
	wait_pending(3);
	/* Replies it leaves unread make its close a reset. */
	send_req(cl[0], "invoke", 3);
	ck_assert(loop_until(base, invoke_written, NULL, WAIT_MS));
	client_close(cl[0]);
	cl[0] = NULL;
	ck_assert(clients_come_to(1));
	ck_assert_int_eq(ngone, 1);
	ck_assert(pend[1].cancelled && pend[2].cancelled);
	ck_assert_int_eq(ncancelled, 2);
	/* The other client's deferred request is still there to answer. */
	ck_assert(!pend[0].cancelled);
	answer(0);
	expect_code(cl[1], 1, PEER_OK);
	loop_for(base, QUIET_MS);
	ck_assert_int_eq(ngone, 1);
}
END_TEST

START_TEST(test_gone_once_on_protocol_failure)
{
	int	one = 1;

	cl[0] = client_open(path);
	send_req(cl[0], "wait", 1);
	wait_pending(1);
	send_header(cl[0], 0);
	expect_code(cl[0], 0, PEER_INVALID_ARGUMENT);
	ck_assert(loop_until(base, has_gone, &one, WAIT_MS));
	/* What it asked before the bad frame is still answered. */
	ck_assert_uint_eq(control_clients(ctl), 1);
	ck_assert(!client_closed(cl[0], base, QUIET_MS));
	answer(0);
	expect_code(cl[0], 1, PEER_OK);
	ck_assert(client_closed(cl[0], base, WAIT_MS));
	client_close(cl[0]);
	cl[0] = NULL;
	ck_assert(clients_come_to(0));
	ck_assert_int_eq(ngone, 1);
	ck_assert_int_eq(ncancelled, 0);
}
END_TEST

START_TEST(test_deferred_answered_later)
{
	const struct ctl_msg	*m;

	cl[0] = client_open(path);
	send_req(cl[0], "wait", 1);
	send_req(cl[0], "wait", 2);
	wait_pending(2);
	ck_assert_ptr_eq(ctl_defer_arg(pend[0].d), &pend[0]);
	/* Other requests are answered meanwhile. */
	expect_echo(cl[0], "echo", 3, "first");
	ck_assert_ptr_null(client_reply(cl[0], base, 1, 0));
	ck_assert_ptr_null(client_reply(cl[0], base, 2, 0));
	ctl_defer_error(pend[1].d, PEER_DEADLINE_EXCEEDED, "too late");
	pend[1].d = NULL;
	expect_code(cl[0], 2, PEER_DEADLINE_EXCEEDED);
	answer(0);
	m = client_reply(cl[0], base, 1, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(msg_uint(m, "result"), 1);
	ck_assert_int_eq(ncancelled, 0);
}
END_TEST

START_TEST(test_deferred_limit_pauses_reading)
{
	struct cbor_buf	b = { 0 };
	uint64_t	id;
	size_t		start;

	/* In one write: a socket holds few small ones. */
	cl[0] = client_open(path);
	for (id = 1; id <= DEFERS_MAX; id++) {
		start = ctl_frame_begin(&b);
		ctl_put_request(&b, "wait", id, 0);
		ck_assert_int_eq(ctl_frame_end(&b, start, MAX_FRAME), 0);
	}
	start = ctl_frame_begin(&b);
	ctl_put_request(&b, "echo", 5000, 0);
	send_frame(cl[0], &b, start);
	wait_pending(DEFERS_MAX);
	/* Not an error: the next request just waits. */
	ck_assert_ptr_null(client_reply(cl[0], base, 5000, QUIET_MS));
	ck_assert_ptr_null(client_reply(cl[0], base, 0, 0));
	ck_assert_int_eq(first.calls, 0);
	answer(7);
	expect_code(cl[0], 8, PEER_OK);
	expect_code(cl[0], 5000, PEER_OK);
	ck_assert_int_eq(first.calls, 1);
	ck_assert_int_eq(npend, DEFERS_MAX);
}
END_TEST

START_TEST(test_deferred_weight_pauses_reading)
{
	cl[0] = client_open(path);
	send_req(cl[0], "heavy", 1);
	send_req(cl[0], "echo", 2);
	wait_pending(1);
	ck_assert_ptr_null(client_reply(cl[0], base, 2, QUIET_MS));
	answer(0);
	expect_code(cl[0], 1, PEER_OK);
	expect_code(cl[0], 2, PEER_OK);
}
END_TEST

START_TEST(test_defer_find_own_request)
{
	const struct ctl_msg	*m;
	struct cbor_buf		*b;
	char			 buf[16];
	bool			 found;

	cl[0] = client_open(path);
	cl[1] = client_open(path);
	send_req(cl[0], "wait", 5);
	wait_pending(1);
	send_req(cl[1], "wait", 5);
	wait_pending(2);
	/* cl[1] finds its own request 5, not cl[0]'s. */
	b = client_begin(cl[1], "find", 6, 1);
	cbor_put_text(b, "target");
	cbor_put_uint(b, 5);
	client_send(cl[1]);
	m = client_reply(cl[1], base, 6, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	ck_assert(cbor_read_bool(ctl_msg_get(m, "result")->val,
	    ctl_msg_get(m, "result")->vallen, &found) && found);
	m = client_reply(cl[1], base, 5, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(msg_text(m, "result", buf, sizeof(buf)), "found");
	ck_assert_ptr_null(pend[1].d);
	ck_assert_ptr_nonnull(pend[0].d);
	ck_assert_ptr_null(client_reply(cl[0], base, 5, 0));
	/* Not twice, and not an id it has not deferred. */
	b = client_begin(cl[1], "find", 7, 1);
	cbor_put_text(b, "target");
	cbor_put_uint(b, 5);
	client_send(cl[1]);
	m = client_reply(cl[1], base, 7, WAIT_MS);
	ck_assert_ptr_nonnull(m);
	ck_assert(cbor_read_bool(ctl_msg_get(m, "result")->val,
	    ctl_msg_get(m, "result")->vallen, &found) && !found);
	ck_assert_ptr_eq(ctl_defer_find(pend[0].c, 5, cancel_pending),
	    pend[0].d);
	ck_assert_ptr_null(ctl_defer_find(pend[0].c, 5, NULL));
	ck_assert_ptr_null(ctl_defer_find(pend[0].c, 6, cancel_pending));
}
END_TEST

START_TEST(test_large_result_fails_alone)
{
	cl[0] = client_open(path);
	send_req(cl[0], "big", 1);
	expect_code(cl[0], 1, PEER_RESOURCE_EXHAUSTED);
	expect_echo(cl[0], "echo", 2, "first");
	ck_assert_ptr_null(client_reply(cl[0], base, 0, 0));
	ck_assert_int_eq(ngone, 0);
}
END_TEST

START_TEST(test_max_clients)
{
	int	i;

	for (i = 0; i < MAX_CLIENTS; i++)
		cl[i] = client_open(path);
	ck_assert(clients_come_to(MAX_CLIENTS));
	cl[MAX_CLIENTS] = client_open(path);
	expect_closed_with(cl[MAX_CLIENTS], PEER_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(control_clients(ctl), MAX_CLIENTS);
	for (i = 0; i < MAX_CLIENTS; i++)
		expect_echo(cl[i], "echo", 1, "first");
	ck_assert_int_eq(ngone, 0);
	/* A place freed is a place for the next. */
	client_close(cl[0]);
	cl[0] = NULL;
	ck_assert(clients_come_to(MAX_CLIENTS - 1));
	cl[0] = client_open(path);
	expect_echo(cl[0], "echo", 2, "first");
}
END_TEST

START_TEST(test_clients_counted)
{
	ck_assert_uint_eq(control_clients(ctl), 0);
	cl[0] = client_open(path);
	cl[1] = client_open(path);
	cl[2] = client_open(path);
	ck_assert(clients_come_to(3));
	client_close(cl[1]);
	cl[1] = NULL;
	ck_assert(clients_come_to(2));
	client_close(cl[0]);
	client_close(cl[2]);
	cl[0] = cl[2] = NULL;
	ck_assert(clients_come_to(0));
	ck_assert_int_eq(ngone, 3);
}
END_TEST

START_TEST(test_one_server_per_path)
{
	struct stat	st;

	ck_assert_ptr_null(open_control());
	cl[0] = client_open(path);
	expect_echo(cl[0], "echo", 1, "first");
	send_req(cl[0], "wait", 2);
	wait_pending(1);
	control_free(ctl);
	ctl = NULL;
	ck_assert_int_eq(ngone, 1);
	ck_assert(pend[0].cancelled);
	ck_assert_msg(stat(path, &st) == -1 && errno == ENOENT,
	    "the socket file is still there");
	ck_assert(client_closed(cl[0], base, WAIT_MS));
	/* The path is free for the next server. */
	ctl = open_control();
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(stat(path, &st), 0);
}
END_TEST

/* Opens the server again with other limits; p from control_params_init. */
static void
reopen_control(struct control_params *p)
{
	control_free(ctl);
	ctl = control_open(base, p, &ops, &first);
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(control_add_ops(ctl, first_ops, &first), 0);
}

/* A byte of a never-ending frame, every tick. */
struct drip {
	struct client	*c;
	int		 sent;
};

static void
drip_byte(evutil_socket_t fd, short what, void *arg)
{
	struct drip	*d = arg;
	uint8_t		 zero = 0;

	(void)fd; (void)what;
	d->sent += (int)client_write_some(d->c, &zero, 1);
}

START_TEST(test_frame_deadline_counts_from_its_first_byte)
{
	struct control_params	 p;
	struct control_stats	 st;
	struct drip		 d = { 0 };
	struct timeval		 tick = { 0, 50 * 1000 };
	struct event		*ev;
	int64_t			 start, took;

	control_params_init(&p, path);
	p.frame_timeout_ms = 300;
	reopen_control(&p);
	/* A byte every 50 ms would have kept a per-read timeout away. */
	d.c = cl[0] = client_open(path);
	start = clock_ms();
	send_header(cl[0], 1000);
	ev = event_new(base, -1, EV_PERSIST, drip_byte, &d);
	ck_assert_ptr_nonnull(ev);
	evtimer_add(ev, &tick);
	expect_closed_with(cl[0], PEER_INVALID_ARGUMENT);
	took = clock_ms() - start;
	event_free(ev);
	ck_assert_msg(took >= 250 && took < 1000, "cut off after %lld ms, "
	    "not at the 300 ms deadline", (long long)took);
	ck_assert_msg(d.sent >= 3, "only %d bytes dripped", d.sent);
	control_stats(ctl, &st);
	ck_assert_uint_eq(st.frames_timed_out, 1);
	/* A frame sent whole in time is not touched by an old deadline. */
	cl[1] = client_open(path);
	expect_echo(cl[1], "echo", 1, "first");
	loop_for(base, 400);
	expect_echo(cl[1], "echo", 2, "first");
}
END_TEST

#define ROOM_CLIENTS	6
#define ROOM_PAD	(600u << 10)
#define ROOM_MAX	(1u << 20)

/* Six clients, each pushing one large echo request as it is taken. */
struct room_run {
	struct cbor_buf	 req[ROOM_CLIENTS];
	size_t		 off[ROOM_CLIENTS];
	uint64_t	 max_input;
	unsigned	 max_waiting;
};

static bool
room_all_written(void *arg)
{
	struct room_run		*r = arg;
	struct control_stats	 st;
	bool			 done = true;
	int			 i;

	for (i = 0; i < ROOM_CLIENTS; i++) {
		r->off[i] += client_write_some(cl[i], r->req[i].data + r->off[i],
		    r->req[i].len - r->off[i]);
		done = done && r->off[i] == r->req[i].len;
	}
	control_stats(ctl, &st);
	if (st.input_bytes > r->max_input)
		r->max_input = st.input_bytes;
	if (st.waiting_input > r->max_waiting)
		r->max_waiting = st.waiting_input;
	return done;
}

START_TEST(test_input_room_bounds_all_clients)
{
	struct control_params	 p;
	struct room_run		 r;
	struct timeval		 tick = { 0, 1000 };
	struct event		*ev;
	uint8_t			*pad;
	size_t			 start;
	int			 i;

	ck_assert_ptr_nonnull(pad = calloc(1, ROOM_PAD));
	control_params_init(&p, path);
	p.max_message = 1u << 20;
	p.input_max = ROOM_MAX;
	reopen_control(&p);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < ROOM_CLIENTS; i++) {
		cl[i] = client_open(path);
		start = ctl_frame_begin(&r.req[i]);
		ctl_put_request(&r.req[i], "echo", 1, 1);
		cbor_put_text(&r.req[i], "pad");
		cbor_put_bytes(&r.req[i], pad, ROOM_PAD);
		ck_assert_int_eq(ctl_frame_end(&r.req[i], start, 4u << 20), 0);
	}
	free(pad);
	ev = event_new(base, -1, EV_PERSIST, wake, NULL);
	ck_assert_ptr_nonnull(ev);
	evtimer_add(ev, &tick);
	ck_assert_msg(loop_until(base, room_all_written, &r, 10 * WAIT_MS),
	    "the requests were not all taken");
	event_free(ev);
	/* One frame had room at a time; the others waited with 16 KiB. */
	ck_assert_msg(r.max_input <= ROOM_MAX, "%llu bytes buffered, over "
	    "input_max %u", (unsigned long long)r.max_input, ROOM_MAX);
	ck_assert_msg(r.max_waiting >= ROOM_CLIENTS - 2, "at most %u clients "
	    "waited for room", r.max_waiting);
	for (i = 0; i < ROOM_CLIENTS; i++) {
		expect_code(cl[i], 1, PEER_OK);
		cbor_buf_free(&r.req[i]);
	}
}
END_TEST

/* Writes a frame header saying len, and a byte of it, to fd. */
static void
start_frame(int fd, uint32_t len)
{
	uint8_t	buf[FRAME_HDR + 1] = { 0 };

	frame_put_len(buf, len);
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

static bool
has_waiting(void *arg)
{
	struct control_stats	st;

	control_stats(ctl, &st);
	return st.waiting_input >= *(unsigned *)arg;
}

/* A client of uid NOBODY starting n frames of len; its pid. */
static pid_t
nobody_starts_frames(int n, uint32_t len)
{
	pid_t	pid;
	int	i, fd;

	ck_assert_int_eq(chmod(dir, 0711), 0);
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	if (setgroups(0, NULL) == -1 || setgid(NOBODY) == -1 ||
	    setuid(NOBODY) == -1)
		_exit(2);
	for (i = 0; i < n; i++) {
		if ((fd = raw_connect(SOCK_STREAM)) == -1)
			_exit(3);
		start_frame(fd, len);
	}
	pause();
	_exit(0);
}

START_TEST(test_one_users_frames_do_not_hold_back_anothers)
{
	struct control_params	 p;
	struct cbor_buf		*b;
	unsigned		 waiting = 5;
	uint8_t			*pad;
	pid_t			 pid;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: skipped: needs root to setuid\n",
		    __func__);
		return;
	}
	control_params_init(&p, path);
	p.max_message = 1u << 20;
	p.input_max = ROOM_MAX;
	reopen_control(&p);
	/* Another user starts six frames that never finish: one has room. */
	pid = nobody_starts_frames(6, ROOM_PAD);
	ck_assert_msg(loop_until(base, has_waiting, &waiting, WAIT_MS),
	    "the other user's frames did not come to wait");
	/* Its user holds its share: root's large request passes its line. */
	ck_assert_ptr_nonnull(pad = calloc(1, 100u << 10));
	cl[0] = client_open(path);
	b = client_begin(cl[0], "echo", 1, 1);
	cbor_put_text(b, "pad");
	cbor_put_bytes(b, pad, 100u << 10);
	client_send(cl[0]);
	free(pad);
	expect_code(cl[0], 1, PEER_OK);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_waiter_that_stops_sending_leaves)
{
	struct control_params	 p;
	struct cbor_buf		*b;
	unsigned		 waiting = 1;
	uint8_t			*pad;
	int			 fd;

	control_params_init(&p, path);
	p.max_message = 1u << 20;
	p.input_max = ROOM_MAX;
	reopen_control(&p);
	/* One frame holds all the room. */
	ck_assert_int_ne(fd = raw_connect(SOCK_STREAM), -1);
	start_frame(fd, ROOM_MAX);
	/* A client waiting behind it hangs up: it goes now, not in turn. */
	cl[0] = client_open(path);
	send_header(cl[0], 200u << 10);
	ck_assert(loop_until(base, has_waiting, &waiting, WAIT_MS));
	client_close(cl[0]);
	cl[0] = NULL;
	ck_assert_msg(clients_come_to(1), "a client that hung up while "
	    "waiting is still counted");
	/* One that sent a whole request and shut down is answered. */
	ck_assert_ptr_nonnull(pad = calloc(1, 100u << 10));
	cl[1] = client_open(path);
	b = client_begin(cl[1], "echo", 1, 1);
	cbor_put_text(b, "pad");
	cbor_put_bytes(b, pad, 100u << 10);
	client_send(cl[1]);
	free(pad);
	ck_assert(loop_until(base, has_waiting, &waiting, WAIT_MS));
	client_shutdown(cl[1]);
	expect_code(cl[1], 1, PEER_OK);
	close(fd);
}
END_TEST

/* A frame being written by its client, a piece at a time. */
struct big_run {
	struct cbor_buf	 req;
	size_t		 off;
};

static bool
big_written(void *arg)
{
	struct big_run	*r = arg;

	r->off += client_write_some(cl[0], r->req.data + r->off,
	    r->req.len - r->off);
	return r->off == r->req.len;
}

/*
 * A frame of more than the 1 MiB discarded while lingering, which closes
 * the connection: its error goes out at once, and the connection lingers
 * and closes from the loop, not under the frame's handling (under ASan,
 * a use after free).
 */
START_TEST(test_large_frame_that_closes)
{
	struct control_params	 p;
	struct big_run		 r;
	struct timeval		 tick = { 0, 1000 };
	struct event		*ev;
	uint8_t			*pad;
	size_t			 start;

	ck_assert_ptr_nonnull(pad = calloc(1, 1536u << 10));
	control_params_init(&p, path);
	p.max_message = 2u << 20;
	reopen_control(&p);
	memset(&r, 0, sizeof(r));
	cl[0] = client_open(path);
	start = ctl_frame_begin(&r.req);
	cbor_put_map(&r.req, 2);
	cbor_put_text(&r.req, "op");
	cbor_put_text(&r.req, "echo");
	cbor_put_text(&r.req, "pad");
	cbor_put_bytes(&r.req, pad, 1536u << 10);
	free(pad);
	ck_assert_int_eq(ctl_frame_end(&r.req, start, 4u << 20), 0);
	ev = event_new(base, -1, EV_PERSIST, wake, NULL);
	ck_assert_ptr_nonnull(ev);
	evtimer_add(ev, &tick);
	ck_assert_msg(loop_until(base, big_written, &r, 10 * WAIT_MS),
	    "the frame was not all taken");
	event_free(ev);
	cbor_buf_free(&r.req);
	expect_closed_with(cl[0], PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(first.calls, 0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc = tcase_create("control");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ops_called_with_their_arg);
	tcase_add_test(tc, test_taken_name_keeps_the_first);
	tcase_add_test(tc, test_unknown_op_keeps_the_connection);
	tcase_add_test(tc, test_request_without_an_op);
	tcase_add_test(tc, test_request_without_an_id_closes);
	tcase_add_test(tc, test_no_id_op_takes_a_message);
	tcase_add_test(tc, test_admin_op_needs_root_or_the_daemons_user);
	tcase_add_test(tc, test_frame_over_the_limit_closes);
	tcase_add_test(tc, test_empty_frame_closes);
	tcase_add_test(tc, test_malformed_cbor_closes);
	tcase_add_test(tc, test_truncated_frame);
	tcase_add_test(tc, test_gone_once_on_eof);
	tcase_add_test(tc, test_gone_once_on_error_cancels_deferred);
	tcase_add_test(tc, test_gone_once_on_protocol_failure);
	tcase_add_test(tc, test_deferred_answered_later);
	tcase_add_test(tc, test_deferred_limit_pauses_reading);
	tcase_add_test(tc, test_deferred_weight_pauses_reading);
	tcase_add_test(tc, test_defer_find_own_request);
	tcase_add_test(tc, test_large_result_fails_alone);
	tcase_add_test(tc, test_max_clients);
	tcase_add_test(tc, test_clients_counted);
	tcase_add_test(tc, test_one_server_per_path);
	tcase_add_test(tc, test_frame_deadline_counts_from_its_first_byte);
	tcase_add_test(tc, test_input_room_bounds_all_clients);
	tcase_add_test(tc, test_one_users_frames_do_not_hold_back_anothers);
	tcase_add_test(tc, test_waiter_that_stops_sending_leaves);
	tcase_add_test(tc, test_large_frame_that_closes);
	suite_add_tcase(s, tc);
	return s;
}
