/* SPDX-License-Identifier: ISC */
/*
 * test_peer_event.c: libpeer's events (subscribe, unsubscribe, publish,
 * delivery, renewal after a reconnect) against the fake daemon of
 * fake_peerd.h, each test with its own script.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "cbor_buf.h"
#include "fake_peerd.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

/* An event frame; NULL (or lost 0) leaves a key out. */
static void
put_event(struct cbor_buf *b, const char *topic, const uint8_t *data,
    size_t datalen, uint64_t seq, uint64_t lost, bool verified)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 6 + (data != NULL) + (lost > 0));
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
	cbor_put_text(b, "verified");
	cbor_put_bool(b, verified);
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
	cbor_put_map(b, n + (strcmp(key, "lost") == 0 ||
	    strcmp(key, "verified") == 0));
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
	if (strcmp(key, "lost") == 0 || strcmp(key, "verified") == 0) {
		cbor_put_text(b, key);
		cbor_put_raw(b, val, vallen);
	}
	ctl_frame_end(b, start, 1 << 20);
}

/* An event of a verified publisher. */
static bool
fake_event(struct fake *f, const char *topic, const uint8_t *data,
    size_t datalen, uint64_t seq, uint64_t lost)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	put_event(&b, topic, data, datalen, seq, lost, true);
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
	put_text_result(&b, f->m.id, "topic", pattern);
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
	put_error(&b, f->m.id, code, "refused", NULL, 0);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
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
	bool		 verified;
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
	s->verified = ev->verified;
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
	/* An old node's event, its publisher not verified. */
	put_event(&b, "sensor", NULL, 0, 8, 0, false);
	ok = fake_send(f, &b);
	FCHECK(f, ok);
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
	put_odd_event(&b, "verified", B(0x01), 1);
	put_event(&b, "sensor.a.b", NULL, 0, UINT64_MAX, 0, true);
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
	put_error(&b, f->m.id, PEER_INVALID_ARGUMENT, "no such topic", NULL,
	    0);
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
	fake_start(&f, "event", script_events);
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
	ck_assert(ev.a.verified);
	/* "sensor.*" does not match "sensor"; "*" does. */
	ck_assert_int_eq(ev.b.n, 1);
	ck_assert_str_eq(ev.b.topic, "sensor");
	ck_assert(!ev.b.has_data);
	ck_assert_uint_eq(ev.b.seq, 8);
	ck_assert_uint_eq(ev.b.lost, 0);
	ck_assert(!ev.b.verified);
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

START_TEST(test_resubscribe)
{
	struct fake		 f;
	struct events		 ev;
	struct peer		*p;
	struct peer_error	 err;

	memset(&ev, 0, sizeof(ev));
	fake_start(&f, "event", script_resubscribe);
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
