/* SPDX-License-Identifier: ISC */
/*
 * test_peer_event.c: libpeer's events (subscribe, unsubscribe, publish,
 * delivery, renewal after a reconnect) against a fake daemon: a thread
 * that listens on a private socket and speaks the control protocol from
 * a script, checking each frame it gets.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "frame.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

#define B(...)		((const uint8_t[]){ __VA_ARGS__ })
#define FAKE_WAIT_MS	5000	/* for any one frame */

struct fake {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	int		 cfd;
	int		 gate[2];	/* the test lets the script go on */
	pthread_t	 thread;
	void		(*script)(struct fake *);
	char		 why[512];	/* first failure, or "" */
	uint8_t		 buf[65536];	/* the last frame received */
	struct ctl_msg	 m;
};

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the first failure; the script then ends and hangs up. */
#define FCHECK(f, cond)	do {						\
	if (!(cond)) {							\
		if ((f)->why[0] == '\0')				\
			snprintf((f)->why, sizeof((f)->why),		\
			    "fake daemon, line %d: %s", __LINE__, #cond); \
		return;							\
	}								\
} while (0)

static bool
fake_wait(int fd, short events)
{
	struct pollfd	pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, FAKE_WAIT_MS) == 1;
}

static bool
fake_read_full(int fd, uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if (!fake_wait(fd, POLLIN) || (n = read(fd, buf, len)) <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
fake_accept(struct fake *f)
{
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = -1;
	if (!fake_wait(f->lfd, POLLIN))
		return false;
	return (f->cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) != -1;
}

static void
fake_hangup(struct fake *f)
{
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = -1;
}

/* Receives one frame into f->m. */
static bool
fake_recv(struct fake *f)
{
	uint8_t		hdr[FRAME_HDR];
	uint32_t	len;
	char		why[128];

	if (!fake_read_full(f->cfd, hdr, sizeof(hdr)) ||
	    frame_check(hdr, sizeof(hdr), sizeof(f->buf), &len) !=
	    FRAME_NEED_MORE || !fake_read_full(f->cfd, f->buf, len))
		return false;
	return ctl_msg_decode(f->buf, len, &f->m, why, sizeof(why)) == 0;
}

/* Sends the frames in b, and empties it. */
static bool
fake_send(struct fake *f, struct cbor_buf *b)
{
	size_t	off = 0;
	ssize_t	n;

	if (b->failed)
		return false;
	while (off < b->len) {
		if (!fake_wait(f->cfd, POLLOUT) ||
		    (n = write(f->cfd, b->data + off, b->len - off)) <= 0)
			return false;
		off += (size_t)n;
	}
	cbor_buf_reset(b);
	return true;
}

static bool
op_is(const struct fake *f, const char *op)
{
	return strcmp(f->m.op, op) == 0;
}

static bool
text_is(const struct fake *f, const char *key, const char *want)
{
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;

	if ((v = ctl_msg_get(&f->m, key)) == NULL)
		return want == NULL;
	return want != NULL && cbor_read_text(v->val, v->vallen, &s, &n) &&
	    n == strlen(want) && memcmp(s, want, n) == 0;
}

static bool
item_is(const struct fake *f, const char *key, const uint8_t *want,
    size_t len)
{
	const struct cbor_field	*v;

	if ((v = ctl_msg_get(&f->m, key)) == NULL)
		return want == NULL;
	return want != NULL && v->vallen == len &&
	    memcmp(v->val, want, len) == 0;
}

/* A reply frame {"id": id, "result": raw}. */
static void
put_result(struct cbor_buf *b, uint64_t id, const uint8_t *raw, size_t len)
{
	size_t	start = ctl_frame_begin(b);

	ctl_put_result(b, id);
	cbor_put_raw(b, raw, len);
	ctl_frame_end(b, start, 1 << 20);
}

static void
put_error(struct cbor_buf *b, uint64_t id, enum peer_code code,
    const char *msg)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_uint(b, id);
	cbor_put_text(b, "error");
	ctl_put_error_value(b, code, msg, strlen(msg), NULL, 0);
	ctl_frame_end(b, start, 1 << 20);
}

/* The result of subscribe and unsubscribe: {"topic": pattern}. */
static void
put_topic(struct cbor_buf *b, uint64_t id, const char *pattern)
{
	size_t	start = ctl_frame_begin(b);

	ctl_put_result(b, id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "topic");
	cbor_put_text(b, pattern);
	ctl_frame_end(b, start, 1 << 20);
}

/* An event frame; NULL (or lost 0) leaves a key out. */
static void
put_event(struct cbor_buf *b, const char *topic, const uint8_t *data,
    size_t datalen, uint64_t seq, uint64_t lost)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 5 + (data != NULL) + (lost > 0));
	cbor_put_text(b, "op");
	cbor_put_text(b, "event");
	cbor_put_text(b, "topic");
	cbor_put_text(b, topic);
	if (data != NULL) {
		cbor_put_text(b, "data");
		cbor_put_raw(b, data, datalen);
	}
	cbor_put_text(b, "node");
	cbor_put_text(b, "pubnode");
	cbor_put_text(b, "name");
	cbor_put_text(b, "pubname");
	cbor_put_text(b, "seq");
	cbor_put_uint(b, seq);
	if (lost > 0) {
		cbor_put_text(b, "lost");
		cbor_put_uint(b, lost);
	}
	ctl_frame_end(b, start, 1 << 20);
}

/* An event frame with one entry replaced by a raw key and value. */
static void
put_odd_event(struct cbor_buf *b, const char *key, const uint8_t *val,
    size_t vallen)
{
	static const char *const	 keys[] = { "topic", "node", "name",
					    "seq" };
	static const uint8_t		 good[][8] = { { 0x61, 'x' },
					    { 0x61, 'n' }, { 0x61, 'm' },
					    { 0x01 } };
	size_t				 i, n = 1, start;

	start = ctl_frame_begin(b);
	for (i = 0; i < 4; i++)
		n += strcmp(keys[i], key) != 0 || val != NULL;
	cbor_put_map(b, n + (strcmp(key, "lost") == 0));
	cbor_put_text(b, "op");
	cbor_put_text(b, "event");
	for (i = 0; i < 4; i++) {
		if (strcmp(keys[i], key) == 0) {
			if (val != NULL) {
				cbor_put_text(b, key);
				cbor_put_raw(b, val, vallen);
			}
			continue;
		}
		cbor_put_text(b, keys[i]);
		cbor_put_raw(b, good[i], i == 3 ? 1 : 2);
	}
	if (strcmp(key, "lost") == 0) {
		cbor_put_text(b, key);
		cbor_put_raw(b, val, vallen);
	}
	ctl_frame_end(b, start, 1 << 20);
}

static bool
fake_event(struct fake *f, const char *topic, const uint8_t *data,
    size_t datalen, uint64_t seq, uint64_t lost)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	put_event(&b, topic, data, datalen, seq, lost);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* Answers hello as a daemon would. */
static bool
fake_hello(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	size_t		start;
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "hello") || !f->m.has_id)
		return false;
	start = ctl_frame_begin(&b);
	ctl_put_result(&b, f->m.id);
	cbor_put_map(&b, 3);
	cbor_put_text(&b, "protocol");
	cbor_put_uint(&b, PROTO_VERSION);
	cbor_put_text(&b, "node");
	cbor_put_text(&b, "fakenodeid");
	cbor_put_text(&b, "name");
	cbor_put_text(&b, "fake");
	ctl_frame_end(&b, start, 1 << 20);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* Receives op (subscribe or unsubscribe) for pattern and confirms it. */
static bool
fake_sub(struct fake *f, const char *op, const char *pattern)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, op) || !f->m.has_id || f->m.nf != 3 ||
	    !text_is(f, "topic", pattern))
		return false;
	put_topic(&b, f->m.id, pattern);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* Receives op for pattern and refuses it with code. */
static bool
fake_sub_refuse(struct fake *f, const char *op, const char *pattern,
    enum peer_code code)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, op) || !f->m.has_id ||
	    !text_is(f, "topic", pattern))
		return false;
	put_error(&b, f->m.id, code, "refused");
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* Waits until the test calls fake_go. */
static bool
fake_gate(struct fake *f)
{
	char	c;

	return fake_wait(f->gate[0], POLLIN) && read(f->gate[0], &c, 1) == 1;
}

static void
fake_go(struct fake *f)
{
	ck_assert_int_eq(write(f->gate[1], "", 1), 1);
}

static void *
fake_main(void *arg)
{
	struct fake	*f = arg;

	f->script(f);
	fake_hangup(f);
	return NULL;
}

static void
fake_start(struct fake *f, void (*script)(struct fake *))
{
	struct sockaddr_un	sun;

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->script = script;
	strcpy(f->dir, "/tmp/peer-event-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	ck_assert_int_ne(f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0), -1);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	ck_assert_int_eq(pipe2(f->gate, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void
fake_finish(struct fake *f)
{
	ck_assert_int_eq(pthread_join(f->thread, NULL), 0);
	close(f->lfd);
	unlink(f->path);
	close(f->gate[0]);
	close(f->gate[1]);
	rmdir(f->dir);
	ck_assert_msg(f->why[0] == '\0', "%s", f->why);
}

/*
 * Polls and dispatches until step says done (1), ms pass (0) or
 * peer_dispatch fails (-1, with err).
 */
static int
pump(struct peer *p, bool (*step)(struct peer *, void *), void *arg, int ms,
    struct peer_error *err)
{
	struct pollfd	pfd;
	long		deadline = now_ms() + ms, left;
	int		t;

	while (!step(p, arg)) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		t = peer_timeout(p);
		pfd.fd = peer_fd(p);
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, t == -1 || t > left ? (int)left : t);
		if (peer_dispatch(p, err) == -1)
			return -1;
	}
	return 1;
}

/* What the callbacks saw: the last event of each, copied. */
struct seen {
	int		 n;
	char		 topic[80];
	char		 node[80];
	char		 name[80];
	uint8_t		 data[16];
	size_t		 data_len;
	bool		 has_data;
	uint64_t	 seq;
	uint64_t	 lost;
};

struct events {
	struct seen	 a, b;
	int		 total;		/* either */
	bool		 nested_ok;	/* what a callback may not do */
	int		 published;	/* replies to a publish from one */
};

static void
seen_note(struct seen *s, const struct peer_event *ev)
{
	s->n++;
	snprintf(s->topic, sizeof(s->topic), "%s", ev->topic);
	snprintf(s->node, sizeof(s->node), "%s", ev->node);
	snprintf(s->name, sizeof(s->name), "%s", ev->name);
	s->has_data = ev->data != NULL;
	s->data_len = 0;
	if (ev->data != NULL && ev->data_len <= sizeof(s->data)) {
		memcpy(s->data, ev->data, ev->data_len);
		s->data_len = ev->data_len;
	}
	s->seq = ev->seq;
	s->lost = ev->lost;
}

static void
published_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct events	*ev = arg;

	(void)p;
	if (r->error == NULL)
		ev->published++;
}

static void
on_a(struct peer *p, const struct peer_event *e, void *arg)
{
	struct events		*ev = arg;
	struct peer_error	 err;

	seen_note(&ev->a, e);
	ev->total++;
	if (strcmp(e->topic, "sensor.nested") == 0)
		ev->nested_ok = peer_subscribe(p, "x", on_a, ev, &err) == -1 &&
		    err.code == PEER_INVALID_ARGUMENT &&
		    peer_unsubscribe(p, "*", &err) == -1 &&
		    err.code == PEER_INVALID_ARGUMENT &&
		    peer_publish(p, "reply.topic", NULL, 0, published_cb, ev,
		    &err) == 0;
}

static void
on_b(struct peer *p, const struct peer_event *e, void *arg)
{
	struct events	*ev = arg;

	(void)p;
	seen_note(&ev->b, e);
	ev->total++;
}

static void
script_events(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_sub(f, "subscribe", "sensor.*"));
	FCHECK(f, fake_sub(f, "subscribe", "*"));
	FCHECK(f, fake_sub_refuse(f, "subscribe", "BAD",
	    PEER_INVALID_ARGUMENT));
	FCHECK(f, fake_sub(f, "subscribe", "sensor.temp"));
	FCHECK(f, fake_gate(f));

	/* The first pattern in subscribe order that matches wins. */
	FCHECK(f, fake_event(f, "sensor.temp", B(0xa1, 0x61, 'c', 0x18, 0x15),
	    5, 7, 3));
	FCHECK(f, fake_event(f, "sensor", NULL, 0, 8, 0));
	FCHECK(f, fake_gate(f));

	/* Malformed events are dropped; the good one after them is not. */
	put_odd_event(&b, "topic", NULL, 0);
	put_odd_event(&b, "topic", B(0x01), 1);
	put_odd_event(&b, "node", NULL, 0);
	put_odd_event(&b, "node", B(0x41, 'n'), 2);
	put_odd_event(&b, "name", NULL, 0);
	put_odd_event(&b, "name", B(0x62, 'a', 0), 3);
	put_odd_event(&b, "seq", NULL, 0);
	put_odd_event(&b, "seq", B(0x20), 1);
	put_odd_event(&b, "seq", B(0x61, '1'), 2);
	put_odd_event(&b, "lost", B(0xf6), 1);
	put_event(&b, "sensor.a.b", NULL, 0, UINT64_MAX, 0);
	ok = fake_send(f, &b);
	FCHECK(f, ok);
	FCHECK(f, fake_gate(f));

	/* Publishing, with data and without. */
	FCHECK(f, fake_recv(f) && op_is(f, "publish") && f->m.has_id &&
	    f->m.nf == 4 && text_is(f, "topic", "sensor.temp") &&
	    item_is(f, "data", B(0x82, 0x01, 0x62, 'h', 'i'), 5));
	put_result(&b, f->m.id, B(0xa2, 0x63, 's', 'e', 'q', 0x01, 0x65, 'n',
	    'o', 'd', 'e', 's', 0x02), 13);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_recv(f) && op_is(f, "publish") && f->m.has_id &&
	    f->m.nf == 3 && text_is(f, "topic", "bare") &&
	    item_is(f, "data", NULL, 0));
	put_error(&b, f->m.id, PEER_INVALID_ARGUMENT, "no such topic");
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_recv(f) && op_is(f, "publish") &&
	    text_is(f, "topic", "ignored"));
	put_result(&b, f->m.id, B(0xa2, 0x63, 's', 'e', 'q', 0x02, 0x65, 'n',
	    'o', 'd', 'e', 's', 0x00), 13);
	FCHECK(f, fake_send(f, &b));

	/* A callback publishes; it may not subscribe. */
	FCHECK(f, fake_event(f, "sensor.nested", NULL, 0, 9, 0));
	FCHECK(f, fake_recv(f) && op_is(f, "publish") &&
	    text_is(f, "topic", "reply.topic") && item_is(f, "data", NULL, 0));
	put_result(&b, f->m.id, B(0xa2, 0x63, 's', 'e', 'q', 0x03, 0x65, 'n',
	    'o', 'd', 'e', 's', 0x01), 13);
	FCHECK(f, fake_send(f, &b));

	/* Unsubscribed from "*": "other" reaches nobody now. */
	FCHECK(f, fake_sub(f, "unsubscribe", "*"));
	FCHECK(f, fake_sub_refuse(f, "unsubscribe", "sensor.temp",
	    PEER_NOT_FOUND));
	FCHECK(f, fake_sub_refuse(f, "unsubscribe", "sensor.*",
	    PEER_INTERNAL));
	FCHECK(f, fake_event(f, "other", NULL, 0, 10, 0));
	FCHECK(f, fake_event(f, "sensor.last", NULL, 0, 11, 0));
	FCHECK(f, fake_gate(f));
	cbor_buf_free(&b);
}

static bool
step_one(struct peer *p, void *arg)
{
	(void)p;
	return ((struct events *)arg)->total >= 1;
}

static bool
step_total(struct peer *p, void *arg)
{
	struct events	*ev = arg;

	(void)p;
	return ev->total >= 2;
}

static bool
step_total3(struct peer *p, void *arg)
{
	struct events	*ev = arg;

	(void)p;
	return ev->total >= 3;
}

static bool
step_published(struct peer *p, void *arg)
{
	struct events	*ev = arg;

	(void)p;
	return ev->published >= 1;
}

struct outcome {
	bool		 done;
	enum peer_code	 code;
	uint8_t		 result[32];
	size_t		 result_len;
};

static void
outcome_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct outcome	*o = arg;

	(void)p;
	o->done = true;
	o->code = r->error != NULL ? r->error->code : PEER_OK;
	if (r->result != NULL && r->result_len <= sizeof(o->result)) {
		memcpy(o->result, r->result, r->result_len);
		o->result_len = r->result_len;
	}
}

static bool
step_done(struct peer *p, void *arg)
{
	(void)p;
	return ((struct outcome *)arg)->done;
}

START_TEST(test_events)
{
	struct fake		 f;
	struct events		 ev;
	struct outcome		 o1, o2;
	struct peer		*p;
	struct peer_error	 err;

	memset(&ev, 0, sizeof(ev));
	fake_start(&f, script_events);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	ck_assert_int_eq(peer_subscribe(p, "sensor.*", on_a, &ev, &err), 0);
	ck_assert_int_eq(peer_subscribe(p, "*", on_b, &ev, &err), 0);
	ck_assert_int_eq(peer_subscribe(p, "*", on_b, &ev, &err), -1);
	ck_assert_int_eq(err.code, PEER_ALREADY_EXISTS);
	ck_assert_int_eq(peer_subscribe(p, "BAD", on_b, &ev, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	/* Refused, it is not kept: NOT_FOUND without asking the daemon. */
	ck_assert_int_eq(peer_unsubscribe(p, "BAD", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	ck_assert_int_eq(peer_subscribe(p, NULL, on_b, &ev, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_subscribe(p, "x", NULL, &ev, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_subscribe(p, "\xff", on_b, &ev, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_subscribe(p, "sensor.temp", on_b, &ev, &err), 0);
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_total, &ev, 5000, &err), 1);
	ck_assert_int_eq(ev.a.n, 1);
	ck_assert_str_eq(ev.a.topic, "sensor.temp");
	ck_assert_str_eq(ev.a.node, "pubnode");
	ck_assert_str_eq(ev.a.name, "pubname");
	ck_assert(ev.a.has_data);
	ck_assert_uint_eq(ev.a.data_len, 5);
	ck_assert_mem_eq(ev.a.data, B(0xa1, 0x61, 'c', 0x18, 0x15), 5);
	ck_assert_uint_eq(ev.a.seq, 7);
	ck_assert_uint_eq(ev.a.lost, 3);
	/* "sensor.*" does not match "sensor"; "*" does. */
	ck_assert_int_eq(ev.b.n, 1);
	ck_assert_str_eq(ev.b.topic, "sensor");
	ck_assert(!ev.b.has_data);
	ck_assert_uint_eq(ev.b.seq, 8);
	ck_assert_uint_eq(ev.b.lost, 0);
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_total3, &ev, 5000, &err), 1);
	ck_assert_int_eq(ev.a.n, 2);
	ck_assert_str_eq(ev.a.topic, "sensor.a.b");
	ck_assert_uint_eq(ev.a.seq, UINT64_MAX);
	ck_assert_int_eq(ev.b.n, 1);
	fake_go(&f);

	/* Nothing that would break the stream leaves. */
	ck_assert_int_eq(peer_publish(p, "t", B(0x82, 0x01), 2, NULL, NULL,
	    &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_publish(p, "t", B(0x01), 0, NULL, NULL, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_publish(p, "\xff", NULL, 0, NULL, NULL, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_publish(p, NULL, NULL, 0, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);

	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	ck_assert_int_eq(peer_publish(p, "sensor.temp", B(0x82, 0x01, 0x62,
	    'h', 'i'), 5, outcome_cb, &o1, &err), 0);
	ck_assert_int_eq(peer_publish(p, "bare", NULL, 0, outcome_cb, &o2,
	    &err), 0);
	ck_assert_int_eq(peer_publish(p, "ignored", NULL, 0, NULL, NULL,
	    &err), 0);
	ck_assert_int_eq(pump(p, step_done, &o2, 5000, &err), 1);
	ck_assert(o1.done);
	ck_assert_int_eq(o1.code, PEER_OK);
	ck_assert_uint_eq(o1.result_len, 13);
	ck_assert_mem_eq(o1.result, B(0xa2, 0x63, 's', 'e', 'q', 0x01, 0x65,
	    'n', 'o', 'd', 'e', 's', 0x02), 13);
	ck_assert_int_eq(o2.code, PEER_INVALID_ARGUMENT);

	ck_assert_int_eq(pump(p, step_published, &ev, 5000, &err), 1);
	ck_assert(ev.nested_ok);
	ck_assert_int_eq(ev.a.n, 3);

	ev.total = 0;
	ck_assert_int_eq(peer_unsubscribe(p, "*", &err), 0);
	ck_assert_int_eq(peer_unsubscribe(p, "*", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	/* Unknown to the daemon: forgotten all the same. */
	ck_assert_int_eq(peer_unsubscribe(p, "sensor.temp", &err), 0);
	/* Any other refusal keeps it. */
	ck_assert_int_eq(peer_unsubscribe(p, "sensor.*", &err), -1);
	ck_assert_int_eq(err.code, PEER_INTERNAL);
	/* Frames are handled in order: "other" came before this one. */
	ck_assert_int_eq(pump(p, step_one, &ev, 5000, &err), 1);
	ck_assert_int_eq(ev.total, 1);
	ck_assert_int_eq(ev.a.n, 4);
	ck_assert_str_eq(ev.a.topic, "sensor.last");
	ck_assert_int_eq(ev.b.n, 1);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

static void
script_resubscribe(struct fake *f)
{
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_sub(f, "subscribe", "a.*"));
	FCHECK(f, fake_sub(f, "subscribe", "b"));
	FCHECK(f, fake_sub(f, "subscribe", "c"));
	fake_hangup(f);

	/* In subscribe order; a refusal does not stop the others. */
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_sub(f, "subscribe", "a.*"));
	FCHECK(f, fake_sub_refuse(f, "subscribe", "b",
	    PEER_RESOURCE_EXHAUSTED));
	FCHECK(f, fake_sub(f, "subscribe", "c"));
	FCHECK(f, fake_event(f, "a.x", B(0x05), 1, 1, 0));
	FCHECK(f, fake_gate(f));
	fake_hangup(f);

	/* What was unsubscribed while disconnected is not renewed. */
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_sub(f, "subscribe", "a.*"));
	FCHECK(f, fake_sub(f, "subscribe", "b"));
	FCHECK(f, fake_event(f, "b", NULL, 0, 2, 0));
	FCHECK(f, fake_gate(f));
}

static bool
step_lost(struct peer *p, void *arg)
{
	(void)arg;
	return peer_fd(p) == -1;
}

START_TEST(test_resubscribe)
{
	struct fake		 f;
	struct events		 ev;
	struct peer		*p;
	struct peer_error	 err;

	memset(&ev, 0, sizeof(ev));
	fake_start(&f, script_resubscribe);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	peer_set_reconnect(p, true);
	ck_assert_int_eq(peer_subscribe(p, "a.*", on_a, &ev, &err), 0);
	ck_assert_int_eq(peer_subscribe(p, "b", on_b, &ev, &err), 0);
	ck_assert_int_eq(peer_subscribe(p, "c", on_b, &ev, &err), 0);

	ck_assert_int_eq(pump(p, step_one, &ev, 5000, &err), 1);
	ck_assert_int_eq(ev.a.n, 1);
	ck_assert_str_eq(ev.a.topic, "a.x");
	ck_assert_uint_eq(ev.a.data_len, 1);
	ck_assert_uint_eq(ev.a.data[0], 0x05);
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_lost, NULL, 5000, &err), 1);
	ck_assert_int_eq(peer_unsubscribe(p, "c", &err), 0);
	ev.total = 0;
	ck_assert_int_eq(pump(p, step_one, &ev, 5000, &err), 1);
	ck_assert_int_eq(ev.b.n, 1);
	ck_assert_str_eq(ev.b.topic, "b");
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

Suite *
peer_event_suite(void)
{
	Suite	*s = suite_create("peer_event");
	TCase	*tc = tcase_create("peer_event");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_resubscribe);
	suite_add_tcase(s, tc);
	return s;
}
