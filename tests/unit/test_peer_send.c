/* SPDX-License-Identifier: ISC */
/*
 * test_peer_send.c: libpeer's non-blocking sending (the bounded output
 * queue, its writable notice, handlers that answer into it) against
 * the fake daemon of fake_peerd.h, and reading and writing byte
 * strings with peer_bytes and peer_bytes_head.
 */
#include <sys/socket.h>

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "fake_peerd.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

#define LIMIT		(16u << 10)	/* the client's queue limit */
#define ARGS		(4u << 10)	/* payload of a small call */
#define BIG		(24u << 10)	/* more than the limit */
#define SMALL_CALLS	4		/* what the queue takes, see below */
#define INVOKES		16
#define INVOKE_ARGS	(8u << 10)

/* Small socket buffers, so that the queue has to wait for the reader. */
static void
small_sndbuf(int fd)
{
	int	n = 4096;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)),
	    0);
}

/* A byte string of n bytes, each the byte tag. */
static uint8_t *
bytes_item(size_t n, uint8_t tag, size_t *len)
{
	uint8_t	*b;
	size_t	 h;

	ck_assert_ptr_nonnull(b = malloc(PEER_BYTES_HEAD_MAX + n));
	h = peer_bytes_head(b, n);
	memset(b + h, tag, n);
	*len = h + n;
	return b;
}

/* f->m's args are a byte string of n bytes, each tag. */
static bool
args_are(const struct fake *f, size_t n, uint8_t tag)
{
	const struct cbor_field	*v;
	const uint8_t		*d;
	size_t			 dn, i;

	if ((v = ctl_msg_get(&f->m, "args")) == NULL ||
	    peer_bytes(v->val, v->vallen, &d, &dn) == -1 || dn != n)
		return false;
	for (i = 0; i < n; i++)
		if (d[i] != tag)
			return false;
	return true;
}

/* Receives a call to bulk.put with n bytes of tag, and answers tag. */
static bool
fake_bulk(struct fake *f, size_t n, uint8_t tag)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "call") || !f->m.has_id ||
	    !text_is(f, "service", "bulk") || !text_is(f, "method", "put") ||
	    !args_are(f, n, tag))
		return false;
	put_result(&b, f->m.id, B(tag), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

static void
script_bound(struct fake *f)
{
	int	i;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	/* Nothing is read until the client has filled its queue. */
	FCHECK(f, fake_gate(f));
	for (i = 0; i < SMALL_CALLS; i++)
		FCHECK(f, fake_bulk(f, ARGS, (uint8_t)i));
	FCHECK(f, fake_bulk(f, ARGS, SMALL_CALLS));
	FCHECK(f, fake_bulk(f, BIG, 0x20));
	/* Full again, then the connection goes. */
	FCHECK(f, fake_gate(f));
}

struct sender {
	int		 replies;
	int		 failed;	/* replies with an error */
	int		 lost;		/* those with UNAVAILABLE */
	int		 writable;
	uint8_t		 last;		/* the last result byte */
};

static void
bulk_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct sender	*s = arg;

	(void)p;
	s->replies++;
	if (r->error != NULL) {
		s->failed++;
		if (r->error->code == PEER_UNAVAILABLE)
			s->lost++;
	} else if (r->result_len == 1)
		s->last = r->result[0];
}

static void
on_writable(struct peer *p, void *arg)
{
	struct sender	*s = arg;

	(void)p;
	s->writable++;
}

static int
bulk_call(struct peer *p, const uint8_t *args, size_t len, struct sender *s,
    struct peer_error *err)
{
	return peer_call(p, "bulk", "put", args, len, NULL, bulk_cb, s, NULL,
	    err);
}

static bool
step_writable(struct peer *p, void *arg)
{
	struct sender	*s = arg;

	(void)p;
	return s->replies == SMALL_CALLS && s->writable == 1;
}

static bool
step_big(struct peer *p, void *arg)
{
	struct sender	*s = arg;

	(void)p;
	return s->replies == SMALL_CALLS + 2;
}

START_TEST(test_queue_bound)
{
	struct fake		 f;
	struct sender		 s;
	struct peer		*p;
	struct peer_error	 err;
	uint8_t			*args[SMALL_CALLS + 1], *big;
	size_t			 len, biglen, queued, i;
	int			 id;

	memset(&s, 0, sizeof(s));
	fake_start(&f, "bound", script_bound);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	small_sndbuf(peer_fd(p));
	peer_set_nonblocking(p, true);
	peer_set_queue_limit(p, LIMIT);
	peer_on_writable(p, on_writable, &s);
	ck_assert(!peer_wants_write(p));
	ck_assert(!peer_queue_full(p));

	/*
	 * A frame begun below the limit is taken: four of about 4.1 KiB
	 * reach 16 KiB, and the fifth is refused.
	 */
	for (i = 0; i <= SMALL_CALLS; i++)
		args[i] = bytes_item(ARGS, (uint8_t)i, &len);
	for (i = 0; i < SMALL_CALLS; i++) {
		ck_assert(!peer_queue_full(p));
		ck_assert_int_eq(bulk_call(p, args[i], len, &s, &err), 0);
	}
	ck_assert(peer_queue_full(p));
	ck_assert(peer_wants_write(p));
	queued = peer_queued(p);
	ck_assert_uint_ge(queued, LIMIT);
	ck_assert_uint_lt(queued, LIMIT + len + 128);
	ck_assert_int_eq(bulk_call(p, args[SMALL_CALLS], len, &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(err.message, "output queue full"));
	/* However often it is tried, nothing more is kept. */
	for (id = 0; id < 1000; id++) {
		ck_assert_int_eq(bulk_call(p, args[SMALL_CALLS], len, &s,
		    &err), -1);
		ck_assert_int_eq(peer_publish(p, "t", NULL, 0, NULL, NULL,
		    &err), -1);
		ck_assert_int_eq(err.code, PEER_RESOURCE_EXHAUSTED);
		ck_assert_int_eq(peer_cancel(p, 2, &err), -1);
		ck_assert_int_eq(err.code, PEER_RESOURCE_EXHAUSTED);
	}
	ck_assert_uint_eq(peer_queued(p), queued);
	ck_assert_int_eq(s.replies, 0);

	/* The daemon reads: the queue goes out, the program hears it. */
	fake_go(&f);
	ck_assert_int_eq(pump(p, step_writable, &s, 5000, &err), 1);
	ck_assert_int_eq(s.failed, 0);
	ck_assert_uint_eq(s.last, SMALL_CALLS - 1);
	ck_assert(!peer_queue_full(p));
	ck_assert(!peer_wants_write(p));
	ck_assert_int_eq(bulk_call(p, args[SMALL_CALLS], len, &s, &err), 0);
	/* A frame larger than the limit fits a queue below it. */
	big = bytes_item(BIG, 0x20, &biglen);
	ck_assert_int_eq(bulk_call(p, big, biglen, &s, &err), 0);
	ck_assert(peer_queue_full(p));
	ck_assert_int_eq(bulk_call(p, args[0], len, &s, &err), -1);
	ck_assert_int_eq(pump(p, step_big, &s, 5000, &err), 1);
	ck_assert_int_eq(s.failed, 0);
	ck_assert_uint_eq(s.last, 0x20);
	ck_assert_int_eq(s.writable, 2);

	/* Full when the connection goes: the queue is dropped, and said so. */
	for (i = 0; i < SMALL_CALLS; i++)
		ck_assert_int_eq(bulk_call(p, args[i], len, &s, &err), 0);
	ck_assert(peer_queue_full(p));
	fake_go(&f);
	ck_assert_int_eq(pump(p, step_lost, NULL, 5000, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	ck_assert_int_eq(s.writable, 3);
	ck_assert_int_eq(s.lost, SMALL_CALLS);
	ck_assert(!peer_queue_full(p));
	ck_assert_uint_eq(peer_queued(p), 0);
	ck_assert_int_eq(bulk_call(p, args[0], len, &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	fake_finish(&f);
	peer_close(p);
	for (i = 0; i <= SMALL_CALLS; i++)
		free(args[i]);
	free(big);
}
END_TEST

/* Blocking, the default: a send waits for the socket, nothing queues. */
static void
script_blocking(struct fake *f)
{
	int	i;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	for (i = 0; i < SMALL_CALLS + 1; i++)
		FCHECK(f, fake_bulk(f, ARGS, (uint8_t)i));
	FCHECK(f, fake_gate(f));
}

static bool
step_blocking(struct peer *p, void *arg)
{
	struct sender	*s = arg;

	(void)p;
	return s->replies == SMALL_CALLS + 1;
}

START_TEST(test_blocking)
{
	struct fake		 f;
	struct sender		 s;
	struct peer		*p;
	struct peer_error	 err;
	uint8_t			*args;
	size_t			 len;
	int			 i;

	memset(&s, 0, sizeof(s));
	fake_start(&f, "blocking", script_blocking);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	small_sndbuf(peer_fd(p));
	peer_set_queue_limit(p, LIMIT);
	for (i = 0; i < SMALL_CALLS + 1; i++) {
		args = bytes_item(ARGS, (uint8_t)i, &len);
		ck_assert_int_eq(bulk_call(p, args, len, &s, &err), 0);
		ck_assert(!peer_wants_write(p));
		ck_assert(!peer_queue_full(p));
		free(args);
	}
	ck_assert_int_eq(pump(p, step_blocking, &s, 5000, &err), 1);
	ck_assert_int_eq(s.failed, 0);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

/*
 * The daemon sends many calls before it reads a single answer, through
 * small buffers: the handlers answer into a queue that fills, the
 * client reads on meanwhile, and no answer is refused or lost.
 */
static void
script_invokes(struct fake *f)
{
	struct cbor_buf		 b = { 0 };
	const struct cbor_field	*v;
	const uint8_t		*d;
	uint8_t			 args[PEER_BYTES_HEAD_MAX + INVOKE_ARGS];
	size_t			 start, h, n, i;
	bool			 ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_recv(f) && op_is(f, "register"));
	put_text_result(&b, f->m.id, "service", "echo");
	ok = fake_send(f, &b);
	FCHECK(f, ok);
	small_sndbuf(f->cfd);
	for (i = 0; i < INVOKES; i++) {
		h = peer_bytes_head(args, INVOKE_ARGS);
		memset(args + h, (int)i, INVOKE_ARGS);
		start = ctl_frame_begin(&b);
		cbor_put_map(&b, 6);
		cbor_put_text(&b, "op");
		cbor_put_text(&b, "invoke");
		cbor_put_text(&b, "call");
		cbor_put_uint(&b, 100 + i);
		cbor_put_text(&b, "service");
		cbor_put_text(&b, "echo");
		cbor_put_text(&b, "method");
		cbor_put_text(&b, "echo");
		cbor_put_text(&b, "from");
		cbor_put_text(&b, "caller");
		cbor_put_text(&b, "args");
		cbor_put_raw(&b, args, h + INVOKE_ARGS);
		ctl_frame_end(&b, start, 1 << 20);
	}
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
	for (i = 0; i < INVOKES; i++) {
		FCHECK(f, fake_recv(f) && op_is(f, "reply") &&
		    uint_is(f, "call", 100 + i));
		FCHECK(f, (v = ctl_msg_get(&f->m, "result")) != NULL &&
		    peer_bytes(v->val, v->vallen, &d, &n) == 0 &&
		    n == INVOKE_ARGS && d[0] == i && d[n - 1] == i);
	}
	/*
	 * Hang up only once the test has seen its last write go: the
	 * client's dispatch that writes the last reply may read on, and
	 * would find the connection ended.
	 */
	FCHECK(f, fake_gate(f));
}

struct server {
	int	handled;
	int	refused;	/* answers that failed */
	int	entered_full;	/* handlers run with the queue full */
	size_t	most;		/* the most the queue held */
};

static void
echo_handler(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct server		*sv = arg;
	struct peer_error	 err;

	sv->handled++;
	if (peer_queue_full(p))
		sv->entered_full++;
	if (peer_answer(p, inv->call, inv->args, inv->args_len, &err) == -1)
		sv->refused++;
	if (peer_queued(p) > sv->most)
		sv->most = peer_queued(p);
}

static bool
step_handled(struct peer *p, void *arg)
{
	struct server	*sv = arg;

	return sv->handled == INVOKES && !peer_wants_write(p);
}

START_TEST(test_handler_answers)
{
	struct fake		 f;
	struct server		 sv;
	struct peer		*p;
	struct peer_error	 err;
	int			 r;

	memset(&sv, 0, sizeof(sv));
	fake_start(&f, "answers", script_invokes);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	small_sndbuf(peer_fd(p));
	peer_set_nonblocking(p, true);
	peer_set_queue_limit(p, LIMIT);
	ck_assert_int_eq(peer_serve(p, "echo", NULL, echo_handler, &sv, &err),
	    0);
	r = pump(p, step_handled, &sv, 5000, &err);
	ck_assert_msg(r == 1, "pump: %s", r == 0 ? "timed out" : err.message);
	fake_go(&f);
	fake_finish(&f);
	ck_assert_int_eq(sv.refused, 0);
	ck_assert_int_eq(sv.entered_full, 0);
	ck_assert_uint_lt(sv.most, LIMIT + INVOKE_ARGS + 128);
	peer_close(p);
}
END_TEST

/*
 * Requests end at their own timeouts, whatever ended before them: the
 * soonest deadline is kept, not looked for at each dispatch.
 */
static void
script_timeouts(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	uint64_t	first;
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_recv(f) && op_is(f, "status"));
	first = f->m.id;
	FCHECK(f, fake_recv(f) && op_is(f, "status"));
	FCHECK(f, fake_recv(f) && op_is(f, "status"));
	put_result(&b, first, B(0xf6), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
	FCHECK(f, fake_gate(f));
}

struct ended {
	long		 at[3];
	enum peer_code	 code[3];
	int		 n;
};

static void
ended_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct ended	*e = arg;

	(void)p;
	if (e->n < 3) {
		e->at[e->n] = now_ms();
		e->code[e->n++] = r->error != NULL ? r->error->code : PEER_OK;
	}
}

static bool
step_ended(struct peer *p, void *arg)
{
	(void)p;
	return ((struct ended *)arg)->n == 3;
}

START_TEST(test_timeouts)
{
	struct fake		 f;
	struct ended		 e;
	struct peer		*p;
	struct peer_error	 err;
	long			 t0;

	memset(&e, 0, sizeof(e));
	fake_start(&f, "timeouts", script_timeouts);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	peer_set_nonblocking(p, true);
	t0 = now_ms();
	/* The soonest first, answered; then two left to time out. */
	ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0, 200, ended_cb,
	    &e, NULL, &err), 0);
	ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0, 900, ended_cb,
	    &e, NULL, &err), 0);
	ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0, 400, ended_cb,
	    &e, NULL, &err), 0);
	ck_assert_int_eq(pump(p, step_ended, &e, 5000, &err), 1);
	ck_assert_int_eq(e.code[0], PEER_OK);
	ck_assert_int_eq(e.code[1], PEER_DEADLINE_EXCEEDED);
	ck_assert_int_eq(e.code[2], PEER_DEADLINE_EXCEEDED);
	ck_assert_int_ge(e.at[1] - t0, 400);
	ck_assert_int_lt(e.at[1] - t0, 800);
	ck_assert_int_ge(e.at[2] - t0, 900);
	ck_assert_int_lt(e.at[2] - t0, 1300);
	ck_assert_int_eq(peer_timeout(p), -1);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

START_TEST(test_bytes)
{
	static const uint8_t	 three[] = { 0x43, 1, 2, 3 };
	static const uint8_t	 none[] = { 0x40 };
	static const uint8_t	 longer[] = { 0x58, 0x02, 7, 8 };
	static const struct {
		size_t	n;
		size_t	headlen;
		uint8_t	first;
	} heads[] = {
		{ 0, 1, 0x40 }, { 23, 1, 0x57 }, { 24, 2, 0x58 },
		{ 255, 2, 0x58 }, { 256, 3, 0x59 }, { 65535, 3, 0x59 },
		{ 65536, 5, 0x5a },
	};
	const uint8_t		*d;
	uint8_t			 head[PEER_BYTES_HEAD_MAX], *buf;
	size_t			 n, h, i;

	ck_assert_int_eq(peer_bytes(three, sizeof(three), &d, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(d, three + 1);
	ck_assert_int_eq(peer_bytes(none, sizeof(none), &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(peer_bytes(longer, sizeof(longer), &d, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(d, longer + 2);
	/* Truncated head, length past the end, trailing bytes. */
	ck_assert_int_eq(peer_bytes(B(0x59, 0x01), 2, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x58), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x45, 1, 2), 3, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0), 10, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x41, 1, 2), 3, &d, &n), -1);
	/* Other major types, chunks, nothing. */
	ck_assert_int_eq(peer_bytes(B(0x63, 'a', 'b', 'c'), 4, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x03), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x81, 0x41, 0x01), 3, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0xf6), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x5f, 0x41, 1, 0xff), 4, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x43, 1, 2, 3), 0, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(NULL, 0, &d, &n), -1);

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		h = peer_bytes_head(head, heads[i].n);
		ck_assert_uint_eq(h, heads[i].headlen);
		ck_assert_uint_eq(head[0], heads[i].first);
		ck_assert_ptr_nonnull(buf = calloc(1, h + heads[i].n));
		memcpy(buf, head, h);
		ck_assert_uint_eq(cbor_scan_item(buf, h + heads[i].n),
		    h + heads[i].n);
		ck_assert_int_eq(peer_bytes(buf, h + heads[i].n, &d, &n), 0);
		ck_assert_uint_eq(n, heads[i].n);
		ck_assert_ptr_eq(d, buf + h);
		free(buf);
	}
	ck_assert_uint_eq(peer_bytes_head(head, (size_t)1 << 32), 9);
	ck_assert_uint_eq(head[0], 0x5b);
}
END_TEST

/*
 * A request that times out, and whose callback's blocking send loses
 * the connection, while a newer request shares its bucket: every
 * request still ends exactly once, and no finished one is seen again.
 */
#define EXPIRE_FILL	1024	/* ids: the newest shares the first's bucket */

static void
script_stall(struct fake *f)
{
	int	i;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	for (i = 0; i <= EXPIRE_FILL; i++)
		FCHECK(f, fake_recv(f) && op_is(f, "status"));
	/* Reads nothing more: the client's next send fills the socket. */
	FCHECK(f, fake_gate(f));
}

struct expire_lost {
	int		 ended[EXPIRE_FILL + 8];
	uint64_t	 first;
	uint8_t		*big;
	size_t		 biglen;
	int		 resent;
};

static void
expire_count_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct expire_lost	*x = arg;
	size_t			 i = r->id - x->first;

	(void)p;
	if (i < EXPIRE_FILL + 8)
		x->ended[i]++;
}

/* The first request's callback: sends what the stalled socket cannot take. */
static void
expire_resend_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct expire_lost	*x = arg;
	struct peer_error	 err;

	expire_count_cb(p, r, arg);
	x->resent = peer_request(p, "status", x->big, x->biglen, 1, 200,
	    expire_count_cb, x, NULL, &err);
}

/*
 * Runs the case: the request whose callback loses the connection is the
 * oldest of its bucket (newest_first: a newer one precedes it in the
 * chain) or the newest (the older one, not due, precedes it).
 */
static void
expire_lost_case(bool newest_first)
{
	struct fake		 f;
	struct expire_lost	 x;
	struct peer		*p;
	struct peer_error	 err;
	uint64_t		 id;
	size_t			 i;
	int			 due = 100, later = 20000, t;

	memset(&x, 0, sizeof(x));
	/* One entry, "x": 4 MiB of bytes. */
	x.big = bytes_item(4u << 20, 7, &x.biglen);
	ck_assert_ptr_nonnull(x.big = realloc(x.big, x.biglen + 2));
	memmove(x.big + 2, x.big, x.biglen);
	x.big[0] = 0x61;
	x.big[1] = 'x';
	x.biglen += 2;
	fake_start(&f, "expirelost", script_stall);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	/* Blocking (the default): the first of a bucket, then fillers. */
	ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0,
	    newest_first ? due : later, newest_first ? expire_resend_cb :
	    expire_count_cb, &x, &x.first, &err), 0);
	for (i = 1; i < EXPIRE_FILL; i++)
		ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0, due,
		    expire_count_cb, &x, NULL, &err), 0);
	/* The newest, in the first's bucket. */
	ck_assert_int_eq(peer_request(p, "status", NULL, 0, 0,
	    newest_first ? later : due, newest_first ? expire_count_cb :
	    expire_resend_cb, &x, &id, &err), 0);
	ck_assert_uint_eq(id, x.first + EXPIRE_FILL);
	/* Until every due request is past its deadline, dispatching none. */
	for (i = 0; i < 50 && (t = peer_timeout(p)) != 0; i++)
		(void)poll(NULL, 0, t > 0 && t < 100 ? t : 100);
	ck_assert_int_eq(peer_timeout(p), 0);
	(void)pump(p, step_lost, NULL, 3000, &err);
	ck_assert_int_eq(peer_fd(p), -1);
	for (i = 0; i <= EXPIRE_FILL; i++)
		ck_assert_msg(x.ended[i] == 1, "request %zu ended %d times", i,
		    x.ended[i]);
	/* Closing frees each spare record once (ASan sees a double free). */
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
	free(x.big);
}

START_TEST(test_expire_lost)
{
	expire_lost_case(true);
	expire_lost_case(false);
}
END_TEST

/*
 * A program that fills the queue again each time it drains, from its
 * writable function, still gets its replies meanwhile: the frames held
 * while the queue was full are handled before it hears of room.
 */
#define REFILL_MAX	2000	/* requests, if replies never came */
#define REFILL_ARGS	1024

static void
script_refill(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	for (;;) {
		FCHECK(f, fake_recv(f));
		if (op_is(f, "stop"))
			break;
		FCHECK(f, op_is(f, "status"));
		put_result(&b, f->m.id, B(0xf6), 1);
		ok = fake_send(f, &b);
		FCHECK(f, ok);
	}
	cbor_buf_free(&b);
	FCHECK(f, fake_gate(f));
}

struct refill {
	uint8_t	*body;
	size_t	 bodylen;
	int	 sent, replies, failed;
	int	 sent_at_first;		/* sent when the first reply came */
	bool	 stopped;
};

static void
refill_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct refill	*rf = arg;

	(void)p;
	if (r->error != NULL)
		rf->failed++;
	if (rf->replies++ == 0)
		rf->sent_at_first = rf->sent;
}

/* Sends until the queue is full, as long as no reply has come. */
static void
refill_fill(struct peer *p, void *arg)
{
	struct refill		*rf = arg;
	struct peer_error	 err;

	while (rf->replies == 0 && rf->sent < REFILL_MAX &&
	    peer_request(p, "status", rf->body, rf->bodylen, 1, 10000,
	    refill_cb, rf, NULL, &err) == 0)
		rf->sent++;
}

static bool
step_refilled(struct peer *p, void *arg)
{
	struct refill		*rf = arg;
	struct peer_error	 err;

	if (!rf->stopped && (rf->replies > 0 || rf->sent == REFILL_MAX) &&
	    !peer_queue_full(p)) {
		ck_assert_int_eq(peer_request(p, "stop", NULL, 0, 0, 10000,
		    refill_cb, rf, NULL, &err), 0);
		rf->stopped = true;
	}
	/* "stop" written, too: closing drops what the queue holds. */
	return rf->stopped && rf->replies == rf->sent && !peer_wants_write(p);
}

START_TEST(test_refill_replies)
{
	struct fake		 f;
	struct refill		 rf;
	struct peer		*p;
	struct peer_error	 err;
	uint8_t			*item;
	size_t			 len;

	memset(&rf, 0, sizeof(rf));
	item = bytes_item(REFILL_ARGS, 3, &len);
	ck_assert_ptr_nonnull(rf.body = malloc(len + 2));
	rf.body[0] = 0x61;
	rf.body[1] = 'x';
	memcpy(rf.body + 2, item, len);
	rf.bodylen = len + 2;
	free(item);
	fake_start(&f, "refill", script_refill);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	small_sndbuf(peer_fd(p));
	peer_set_nonblocking(p, true);
	peer_set_queue_limit(p, 4 * REFILL_ARGS);
	peer_on_writable(p, refill_fill, &rf);
	refill_fill(p, &rf);
	ck_assert(peer_queue_full(p));
	ck_assert_int_eq(pump(p, step_refilled, &rf, 10000, &err), 1);
	ck_assert_int_eq(rf.failed, 0);
	/* Replies came while the program still had more to send. */
	ck_assert_int_lt(rf.sent_at_first, REFILL_MAX);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
	free(rf.body);
}
END_TEST

Suite *
peer_send_suite(void)
{
	Suite	*s = suite_create("peer_send");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_queue_bound);
	tcase_add_test(tc, test_blocking);
	tcase_add_test(tc, test_handler_answers);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_expire_lost);
	tcase_add_test(tc, test_refill_replies);
	suite_add_tcase(s, tc);
	return s;
}
