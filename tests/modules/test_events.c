/* SPDX-License-Identifier: ISC */
/*
 * test_events.c: events.c against the fake route, a real member table
 * and a real control server driven by clients.  The rules: the node's
 * distinct patterns, sorted, go up for its record (at most 64), each
 * client holding a pattern once, until it unsubscribes or goes away; a
 * publish sends one ev to each other live member whose record wants
 * the topic and hands it to the matching clients here, once each; an
 * event from another node is taken at most once and in order per run
 * of its publisher, never far above that run's start; a client that
 * does not read loses events and is told how many; each event says
 * whether its publisher is verified; "topics" lists what every live
 * member wants.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "callmsg.h"
#include "clock.h"
#include "control.h"
#include "events.h"
#include "fake_route.h"
#include "harness.h"
#include "log.h"

#define WAIT_MS		2000	/* for a reply that must come */
#define MAX_MESSAGE	4096	/* events' max_message */
#define AHEAD_MAX	(1ull << 40)	/* seq above its run's start */

/* tnode_record's started_at, in microseconds: a run's first numbers. */
#define RUN1		(1700000000ull * 1000000)

static struct event_base	*base;
static struct tnode		 self, a, b, c, d, e;
static struct members		*members;
static struct route		*route;
static struct control		*ctl;
static struct events		*events;
static char			 dir[64], sock[128];
static uint64_t			 next_id, t0, self_inc;
static char			 errmsg[256];	/* of the last publish */

/* The patterns the topics callback heard last, and how often. */
static char			 heard[RECORD_TOPICS_MAX][TOPIC_MAX + 1];
static int			 nheard, ncalls;

/* Keeps what events says, and re-signs our record as gossip would. */
static void
topics_cb(void *arg, char (*topics)[TOPIC_MAX + 1], int n)
{
	struct cbor_buf	 buf = { 0 };
	struct record	 r;
	int		 i;

	(void)arg;
	ck_assert_int_ge(n, 0);
	ck_assert_int_le(n, RECORD_TOPICS_MAX);
	memcpy(heard, topics, (size_t)n * sizeof(heard[0]));
	nheard = n;
	ncalls++;
	tnode_record(&self, ++self_inc, &r);
	for (i = 0; i < n; i++)
		memcpy(r.topics[i], topics[i], TOPIC_MAX + 1);
	r.ntopics = n;
	tnode_sign(&self, &r, &buf);
	ck_assert_int_eq(members_set_self(members, buf.data, buf.len, 0), 0);
	cbor_buf_free(&buf);
}

static void
client_gone(void *arg, struct ctl_conn *cc)
{
	(void)arg;
	events_client_gone(events, cc);
}

static const struct events_ops	events_ops = { topics_cb };
static const struct control_ops	control_ops = { client_gone };

/* Offers n's record listing the patterns given (NULL-terminated). */
static void
offer(const struct tnode *n, uint64_t inc, uint64_t started, bool left, ...)
{
	struct record	 r;
	const char	*p;
	va_list		 ap;

	tnode_record(n, inc, &r);
	r.started_at = started;
	r.left = left;
	va_start(ap, left);
	while ((p = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(r.ntopics, RECORD_TOPICS_MAX);
		strcpy(r.topics[r.ntopics++], p);
	}
	va_end(ap);
	tnode_offer(members, n, &r);
}

static void
setup(void)
{
	struct events_params	ep;
	struct control_params	cp;

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&d, "d");
	tnode_new(&e, "e");
	members = tnode_members(&self);
	self_inc = 1;
	/* a and b alive, c dead, d left, e suspect. */
	offer(&a, 1, 1700000000, false, "sensor.*", NULL);
	offer(&b, 1, 1700000000, false, "door.open", NULL);
	offer(&c, 1, 1700000000, false, "*", NULL);
	ck_assert(members_dead(members, c.pk, 1, 0));
	offer(&d, 1, 1700000000, true, "*", NULL);
	ck_assert_int_eq(members_get(members, d.pk)->state, MEMBER_LEFT);
	offer(&e, 1, 1700000000, false, "sensor.temp", NULL);
	ck_assert(members_suspect(members, e.pk, 1, 0, 1000000));

	tmpdir_make(dir, sizeof(dir), "events");
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	control_params_init(&cp, sock);
	cp.max_message = 1u << 20;
	cp.max_clients = CLIENTS_MAX + 8;
	ctl = control_open(base, &cp, &control_ops, NULL);
	ck_assert_ptr_nonnull(ctl);

	route = fake_route_new(self.pk);
	ep.self = self.pk;
	ep.name = "self";
	ep.max_message = MAX_MESSAGE;
	t0 = clock_wall_us();
	events = events_new(&ep, members, route, &events_ops, NULL);
	ck_assert_ptr_nonnull(events);
	ck_assert_int_eq(control_add_ops(ctl, events_ctl_ops, events), 0);
	next_id = 0;
	nheard = ncalls = 0;
}

static void
teardown(void)
{
	clients_close_all();
	control_free(ctl);		/* tells events of its clients first */
	events_free(events);
	fake_route_free(route);
	members_free(members);
	event_base_free(base);
	tmpdir_remove(dir);
}

/* The reply to request id, which must come. */
static const struct ctl_msg *
reply(struct client *cl, uint64_t id)
{
	return client_must_reply(cl, base, id, WAIT_MS);
}

/* Sends op with a "topic", without waiting; the request's id. */
static uint64_t
send_topic(struct client *cl, const char *op, const char *topic)
{
	struct cbor_buf	*buf = client_begin(cl, op, ++next_id, 1);

	cbor_put_text(buf, "topic");
	cbor_put_text(buf, topic);
	client_send(cl);
	return next_id;
}

/* op ("subscribe", "unsubscribe") on topic; its code, msg if wanted. */
static enum peer_code
topic_op(struct client *cl, const char *op, const char *topic, char *msg,
    size_t cap)
{
	const struct ctl_msg	*m = reply(cl, send_topic(cl, op, topic));
	enum peer_code		 code = reply_code(m, msg, cap);
	const struct cbor_field	*r;
	struct cbor_field	 f[4];
	char			 got[TOPIC_MAX + 1];
	int			 n;

	if (code == PEER_OK) {
		/* The result names the pattern. */
		r = ctl_msg_get(m, "result");
		n = cbor_scan_map(r->val, r->vallen, f, 4);
		ck_assert_int_eq(n, 1);
		ck_assert(cbor_read_name(f[0].val, f[0].vallen, got,
		    sizeof(got), NULL));
		ck_assert_str_eq(got, topic);
	}
	return code;
}

static enum peer_code
subscribe(struct client *cl, const char *topic)
{
	return topic_op(cl, "subscribe", topic, NULL, 0);
}

static enum peer_code
unsubscribe(struct client *cl, const char *topic)
{
	return topic_op(cl, "unsubscribe", topic, NULL, 0);
}

/* The field key of m's result map. */
static const struct cbor_field *
result_get(const struct ctl_msg *m, const char *key, struct cbor_field *f,
    size_t max)
{
	const struct cbor_field	*r = ctl_msg_get(m, "result");
	int			 n;

	ck_assert_ptr_nonnull(r);
	n = cbor_scan_map(r->val, r->vallen, f, max);
	ck_assert_int_ge(n, 0);
	return cbor_field_get(f, n, key);
}

static uint64_t
field_uint(const struct cbor_field *fl)
{
	uint64_t	v;

	ck_assert_ptr_nonnull(fl);
	ck_assert(cbor_read_uint(fl->val, fl->vallen, &v));
	return v;
}

/*
 * Publishes topic with data (one encoded item, or NULL); the code, and
 * on success the reply's seq and nodes.
 */
static enum peer_code
publish(struct client *cl, const char *topic, const void *data, size_t len,
    uint64_t *seq, uint64_t *nodes)
{
	const struct ctl_msg	*m;
	struct cbor_buf		*buf;
	struct cbor_field	 f[4];
	enum peer_code		 code;

	buf = client_begin(cl, "publish", ++next_id, data != NULL ? 2 : 1);
	cbor_put_text(buf, "topic");
	cbor_put_text(buf, topic);
	if (data != NULL) {
		cbor_put_text(buf, "data");
		cbor_put_raw(buf, data, len);
	}
	client_send(cl);
	m = reply(cl, next_id);
	if ((code = reply_code(m, errmsg, sizeof(errmsg))) != PEER_OK)
		return code;
	*seq = field_uint(result_get(m, "seq", f, 4));
	*nodes = field_uint(result_get(m, "nodes", f, 4));
	return code;
}

/*
 * An event from pub, as route hands one over from a link: its publisher
 * verified, or (an old node's, in origin_auth = auto) not.
 */
static void
deliver_as(const uint8_t *pub, uint64_t seq, const char *topic,
    const void *data, size_t len, bool verified)
{
	struct callmsg	m;

	memset(&m, 0, sizeof(m));
	m.verified = verified;
	m.type = CALLMSG_EVENT;
	memcpy(m.origin, pub, NODE_ID_LEN);
	memcpy(m.provider, self.pk, NODE_ID_LEN);
	m.cid = seq;
	m.hops = CALLMSG_HOPS - 1;
	snprintf(m.topic, sizeof(m.topic), "%s", topic);
	m.args = data;
	m.argslen = len;
	events_deliver(events, &m);
}

static void
deliver(const uint8_t *pub, uint64_t seq, const char *topic,
    const void *data, size_t len)
{
	deliver_as(pub, seq, topic, data, len, true);
}

/* The next event cl is given, which must come. */
static const struct ctl_msg *
next_event(struct client *cl)
{
	const struct ctl_msg	*m = client_message(cl, base, "event",
				    WAIT_MS);

	ck_assert_msg(m != NULL, "no event came");
	return m;
}

/* The name of the node with that ID string, for messages. */
static const char *
who(const char *idstr)
{
	const struct member	*m;
	size_t			 i;

	for (i = 0; i < members_count(members); i++) {
		m = members_at(members, i);
		if (strcmp(m->idstr, idstr) == 0)
			return m->rec.name;
	}
	return "a node unknown";
}

/* The next event cl gets is pub's number seq. */
static void
expect_event(struct client *cl, const struct tnode *pub, uint64_t seq)
{
	const struct ctl_msg	*m;
	char			 node[NODE_ID_STRLEN];
	uint64_t		 got;

	m = client_message(cl, base, "event", WAIT_MS);
	ck_assert_msg(m != NULL, "no event came: %s's %llu was due",
	    pub->name, (unsigned long long)seq);
	msg_text(m, "node", node, sizeof(node));
	got = msg_uint(m, "seq");
	ck_assert_msg(strcmp(node, pub->idstr) == 0 && got == seq,
	    "%s's event %llu came where %s's %llu was due", who(node),
	    (unsigned long long)got, pub->name, (unsigned long long)seq);
}

/* Whether what the topics callback heard last is exactly this list. */
static bool
heard_is(const char *const *want, int n)
{
	int	i;

	if (nheard != n)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(heard[i], want[i]) != 0)
			return false;
	return true;
}

static bool
heard_none(void *arg)
{
	(void)arg;
	return nheard == 0;
}

static bool
heard_only_y(void *arg)
{
	static const char *const	want[] = { "y.*" };

	(void)arg;
	return heard_is(want, 1);
}

/* The ev message sent to provider, or NULL. */
static const struct callmsg *
sent_to(const struct tnode *provider)
{
	const struct callmsg	*m;
	size_t			 i;

	for (i = 0; i < fake_route_count(route); i++) {
		m = fake_route_msg(route, i);
		if (memcmp(m->provider, provider->pk, NODE_ID_LEN) == 0)
			return m;
	}
	return NULL;
}

START_TEST(test_topics_heard_sorted_and_distinct)
{
	static const char *const	one[] = { "zeta" };
	static const char *const	two[] = { "alpha.*", "zeta" };
	static const char *const	three[] = { "*", "alpha.*", "zeta" };
	static const char *const	after[] = { "*", "zeta" };
	struct client			*c1 = clients_open(sock);
	struct client			*c2 = clients_open(sock);

	ck_assert_int_eq(subscribe(c1, "zeta"), PEER_OK);
	ck_assert(heard_is(one, 1));
	ck_assert_int_eq(subscribe(c1, "alpha.*"), PEER_OK);
	ck_assert(heard_is(two, 2));
	/* Another client's same pattern is listed once. */
	ck_assert_int_eq(subscribe(c2, "alpha.*"), PEER_OK);
	ck_assert(heard_is(two, 2));
	ck_assert_int_eq(subscribe(c2, "*"), PEER_OK);
	ck_assert(heard_is(three, 3));
	/* A pattern stays while any client holds it. */
	ck_assert_int_eq(unsubscribe(c1, "alpha.*"), PEER_OK);
	ck_assert(heard_is(three, 3));
	ck_assert_int_eq(unsubscribe(c2, "alpha.*"), PEER_OK);
	ck_assert(heard_is(after, 2));
}
END_TEST

START_TEST(test_subscribe_twice_already_exists)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	int		 before;

	ck_assert_int_eq(subscribe(c1, "sensor.*"), PEER_OK);
	before = ncalls;
	ck_assert_int_eq(subscribe(c1, "sensor.*"), PEER_ALREADY_EXISTS);
	ck_assert_int_eq(ncalls, before);
	/* Overlapping patterns differ, and other clients may share one. */
	ck_assert_int_eq(subscribe(c1, "*"), PEER_OK);
	ck_assert_int_eq(subscribe(c2, "sensor.*"), PEER_OK);
	/* Held once: one unsubscribe ends it. */
	ck_assert_int_eq(unsubscribe(c1, "sensor.*"), PEER_OK);
	ck_assert_int_eq(unsubscribe(c1, "sensor.*"), PEER_NOT_FOUND);
}
END_TEST

START_TEST(test_unsubscribe_not_held_not_found)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	char		 msg[256];

	ck_assert_int_eq(topic_op(c1, "unsubscribe", "door.open", msg,
	    sizeof(msg)), PEER_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(msg, "door.open"));
	ck_assert_int_eq(subscribe(c1, "sensor.*"), PEER_OK);
	/* Patterns are not matched, and another client's are not ours. */
	ck_assert_int_eq(unsubscribe(c1, "sensor.temp"), PEER_NOT_FOUND);
	ck_assert_int_eq(unsubscribe(c2, "sensor.*"), PEER_NOT_FOUND);
	ck_assert_int_eq(nheard, 1);
	ck_assert_int_eq(unsubscribe(c1, "sensor.*"), PEER_OK);
	ck_assert_int_eq(nheard, 0);
}
END_TEST

START_TEST(test_bad_topic_or_pattern_invalid)
{
	static const char *const	 bad[] = { "Sensor", "a*", "*.b",
					    ".*", "a.*.b", "a.*.*", "",
					    "a b", "**", "a.b*" };
	struct client			*cl = clients_open(sock);
	const struct ctl_msg		*m;
	uint64_t			 seq, nodes;
	char				 long_topic[TOPIC_MAX + 2];
	size_t				 i;

	memset(long_topic, 'a', TOPIC_MAX + 1);
	long_topic[TOPIC_MAX + 1] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(subscribe(cl, bad[i]) == PEER_INVALID_ARGUMENT,
		    "subscribe \"%s\" taken", bad[i]);
		ck_assert_msg(unsubscribe(cl, bad[i]) ==
		    PEER_INVALID_ARGUMENT, "unsubscribe \"%s\" taken", bad[i]);
		ck_assert_msg(publish(cl, bad[i], NULL, 0, &seq, &nodes) ==
		    PEER_INVALID_ARGUMENT, "publish \"%s\" taken", bad[i]);
	}
	ck_assert_int_eq(subscribe(cl, long_topic), PEER_INVALID_ARGUMENT);
	/* A pattern is not a topic to publish on. */
	ck_assert_int_eq(publish(cl, "sensor.*", NULL, 0, &seq, &nodes),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(publish(cl, "*", NULL, 0, &seq, &nodes),
	    PEER_INVALID_ARGUMENT);
	/* No topic at all. */
	client_begin(cl, "subscribe", ++next_id, 0);
	client_send(cl);
	m = reply(cl, next_id);
	ck_assert_int_eq(reply_code(m, NULL, 0), PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(ncalls, 0);
	ck_assert_uint_eq(fake_route_count(route), 0);
	/* The longest topic and each kind of pattern are fine. */
	long_topic[TOPIC_MAX] = '\0';
	ck_assert_int_eq(subscribe(cl, long_topic), PEER_OK);
	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	ck_assert_int_eq(subscribe(cl, "door-1.open_x"), PEER_OK);
	ck_assert_int_eq(subscribe(cl, "sensor.a.*"), PEER_OK);
}
END_TEST

START_TEST(test_65th_distinct_pattern_refused)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	char		 p[16], msg[256];
	int		 i;

	for (i = 0; i < RECORD_TOPICS_MAX; i++) {
		snprintf(p, sizeof(p), "p%02d", i);
		ck_assert_int_eq(subscribe(c1, p), PEER_OK);
	}
	ck_assert_int_eq(nheard, RECORD_TOPICS_MAX);
	ck_assert_int_eq(topic_op(c1, "subscribe", "p64", msg, sizeof(msg)),
	    PEER_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(msg, "64 patterns"));
	/* From a client holding nothing yet, too. */
	ck_assert_int_eq(subscribe(c2, "p99.*"), PEER_RESOURCE_EXHAUSTED);
	/* The set is unchanged, and neither client holds the refused one. */
	ck_assert_int_eq(nheard, RECORD_TOPICS_MAX);
	for (i = 0; i < RECORD_TOPICS_MAX; i++) {
		snprintf(p, sizeof(p), "p%02d", i);
		ck_assert_str_eq(heard[i], p);
	}
	ck_assert_int_eq(unsubscribe(c1, "p64"), PEER_NOT_FOUND);
	ck_assert_int_eq(unsubscribe(c2, "p99.*"), PEER_NOT_FOUND);
	/* One more client of a pattern held is no new pattern. */
	ck_assert_int_eq(subscribe(c2, "p07"), PEER_OK);
	/* Room again once one goes. */
	ck_assert_int_eq(unsubscribe(c1, "p00"), PEER_OK);
	ck_assert_int_eq(subscribe(c2, "p64"), PEER_OK);
	ck_assert_int_eq(nheard, RECORD_TOPICS_MAX);
	ck_assert_str_eq(heard[RECORD_TOPICS_MAX - 1], "p64");
}
END_TEST

START_TEST(test_1024_subscriptions_on_a_node)
{
	struct client	*cl[17];
	char		 p[16], msg[256];
	uint64_t	 first;
	int		 i, k;

	/* 16 clients each hold the same 64 patterns: 1024 in all. */
	for (i = 0; i < 16; i++) {
		cl[i] = clients_open(sock);
		first = next_id + 1;
		for (k = 0; k < RECORD_TOPICS_MAX; k++) {
			snprintf(p, sizeof(p), "p%02d", k);
			(void)send_topic(cl[i], "subscribe", p);
		}
		for (k = 0; k < RECORD_TOPICS_MAX; k++)
			ck_assert_int_eq(reply_code(reply(cl[i], first + k),
			    NULL, 0), PEER_OK);
	}
	cl[16] = clients_open(sock);
	ck_assert_int_eq(topic_op(cl[16], "subscribe", "p00", msg,
	    sizeof(msg)), PEER_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(msg, "1024"));
	ck_assert_int_eq(unsubscribe(cl[3], "p05"), PEER_OK);
	ck_assert_int_eq(subscribe(cl[16], "p00"), PEER_OK);
	ck_assert_int_eq(subscribe(cl[16], "p01"), PEER_RESOURCE_EXHAUSTED);
}
END_TEST

START_TEST(test_client_gone_takes_its_patterns)
{
	static const char *const	 both[] = { "x", "y.*" };
	struct client			*c1 = clients_open(sock);
	struct client			*c2 = clients_open(sock);

	ck_assert_int_eq(subscribe(c1, "x"), PEER_OK);
	ck_assert_int_eq(subscribe(c1, "y.*"), PEER_OK);
	ck_assert_int_eq(subscribe(c2, "y.*"), PEER_OK);
	ck_assert(heard_is(both, 2));
	clients_drop(c1);
	ck_assert_msg(loop_until(base, heard_only_y, NULL, WAIT_MS),
	    "the patterns of a client gone stay (%d heard)", nheard);
	/* Its events go nowhere; the other client's still come. */
	deliver(a.pk, RUN1 + 1, "x", NULL, 0);
	deliver(a.pk, RUN1 + 2, "y.z", NULL, 0);
	expect_event(c2, &a, RUN1 + 2);
	clients_drop(c2);
	ck_assert(loop_until(base, heard_none, NULL, WAIT_MS));
	deliver(a.pk, RUN1 + 3, "y.z", NULL, 0);
}
END_TEST

/* The events' counters now. */
static struct events_stats
stats(void)
{
	struct events_stats	st;

	events_stats(events, &st);
	return st;
}

START_TEST(test_publish_to_live_matching_members)
{
	static const uint8_t	 data[] = { 0xa1, 0x61, 0x63, 0x15 };
	struct client		*cl = clients_open(sock);
	const struct callmsg	*m;
	const struct tnode	*to[2] = { &a, &e };
	uint64_t		 seq, nodes;
	int			 i;

	/* a wants sensor.*, e (suspect) sensor.temp; c (dead), d (left)
	 * want everything, b something else. */
	ck_assert_int_eq(publish(cl, "sensor.temp", data, sizeof(data), &seq,
	    &nodes), PEER_OK);
	ck_assert_uint_eq(nodes, 2);
	ck_assert_uint_eq(fake_route_count(route), 2);
	for (i = 0; i < 2; i++) {
		m = sent_to(to[i]);
		ck_assert_msg(m != NULL, "no ev to %s", to[i]->name);
		ck_assert_int_eq(m->type, CALLMSG_EVENT);
		ck_assert_mem_eq(m->origin, self.pk, NODE_ID_LEN);
		ck_assert_uint_eq(m->cid, seq);
		ck_assert_uint_eq(m->hops, CALLMSG_HOPS);
		ck_assert_str_eq(m->topic, "sensor.temp");
		ck_assert_uint_eq(m->argslen, sizeof(data));
		ck_assert_mem_eq(m->args, data, sizeof(data));
	}
	ck_assert_ptr_null(sent_to(&b));
	ck_assert_ptr_null(sent_to(&c));
	ck_assert_ptr_null(sent_to(&d));

	ck_assert_int_eq(publish(cl, "door.open", NULL, 0, &seq, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(nodes, 1);
	ck_assert_uint_eq(fake_route_count(route), 3);
	m = fake_route_msg(route, 2);
	ck_assert_mem_eq(m->provider, b.pk, NODE_ID_LEN);
	ck_assert_ptr_null(m->args);

	ck_assert_int_eq(publish(cl, "door.closed", NULL, 0, &seq, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(nodes, 0);
	ck_assert_uint_eq(fake_route_count(route), 3);

	/* Our own record lists "*" now: we count, but get no ev. */
	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	ck_assert_int_eq(members_self(members)->rec.ntopics, 1);
	ck_assert_int_eq(publish(cl, "sensor.temp", NULL, 0, &seq, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(nodes, 3);
	ck_assert_uint_eq(fake_route_count(route), 5);
	ck_assert_ptr_null(sent_to(&self));
	ck_assert_uint_eq(stats().published, 4);
	ck_assert_uint_eq(stats().sent, 5);
	ck_assert_uint_eq(stats().delivered, 1);
}
END_TEST

START_TEST(test_publish_numbers_and_unreachable)
{
	struct client	*cl = clients_open(sock);
	uint64_t	 seq, seq2, nodes, now;

	ck_assert_int_eq(publish(cl, "nobody", NULL, 0, &seq, &nodes),
	    PEER_OK);
	now = clock_wall_us();
	/* From the wall clock in microseconds when events started. */
	ck_assert_uint_gt(seq, t0);
	ck_assert_uint_le(seq, now + 1);
	/* Each publish takes the next, whoever subscribes. */
	fake_route_result(route, ROUTE_NO_PATH);
	ck_assert_int_eq(publish(cl, "sensor.temp", NULL, 0, &seq2, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(seq2, seq + 1);
	/* Members it cannot reach are not counted. */
	ck_assert_uint_eq(nodes, 0);
	fake_route_result(route, ROUTE_FULL);
	ck_assert_int_eq(publish(cl, "sensor.temp", NULL, 0, &seq2, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(seq2, seq + 2);
	ck_assert_uint_eq(nodes, 0);
	fake_route_result(route, ROUTE_SENT);
	ck_assert_int_eq(publish(cl, "sensor.temp", NULL, 0, &seq2, &nodes),
	    PEER_OK);
	ck_assert_uint_eq(seq2, seq + 3);
	ck_assert_uint_eq(nodes, 2);
}
END_TEST

START_TEST(test_publish_data_over_max_message)
{
	struct client	*cl = clients_open(sock);
	struct cbor_buf	 data = { 0 };
	uint8_t		*fill;
	uint64_t	 seq, nodes;

	ck_assert_int_eq(subscribe(cl, "sensor.*"), PEER_OK);
	/* A byte string of exactly max_message bytes encoded is fine. */
	fill = calloc(1, MAX_MESSAGE);
	ck_assert_ptr_nonnull(fill);
	cbor_put_bytes(&data, fill, MAX_MESSAGE - 3);
	ck_assert_uint_eq(data.len, MAX_MESSAGE);
	ck_assert_int_eq(publish(cl, "sensor.temp", data.data, data.len, &seq,
	    &nodes), PEER_OK);
	ck_assert_uint_eq(fake_route_count(route), 2);
	(void)next_event(cl);
	/* One more is refused, and goes nowhere. */
	cbor_buf_reset(&data);
	cbor_put_bytes(&data, fill, MAX_MESSAGE - 2);
	ck_assert_uint_eq(data.len, MAX_MESSAGE + 1);
	ck_assert_int_eq(publish(cl, "sensor.temp", data.data, data.len, &seq,
	    &nodes), PEER_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(errmsg, "max_message"));
	ck_assert_uint_eq(fake_route_count(route), 2);
	/* Nor here: the next event is the next publish. */
	ck_assert_int_eq(publish(cl, "sensor.temp", NULL, 0, &seq, &nodes),
	    PEER_OK);
	expect_event(cl, &self, seq);
	free(fill);
	cbor_buf_free(&data);
}
END_TEST

START_TEST(test_local_event_once_per_client)
{
	static const uint8_t	 data[] = { 0x82, 0x01, 0x62, 0x68, 0x69 };
	struct client		*ca = clients_open(sock);
	struct client		*cb = clients_open(sock);
	struct client		*pub = clients_open(sock);
	const struct ctl_msg	*m;
	const struct cbor_field	*fl;
	uint64_t		 s1, s2, nodes;
	char			 buf[NODE_ID_STRLEN];

	ck_assert_int_eq(subscribe(ca, "sensor.*"), PEER_OK);
	ck_assert_int_eq(subscribe(ca, "*"), PEER_OK);
	ck_assert_int_eq(subscribe(ca, "sensor.temp"), PEER_OK);
	ck_assert_int_eq(subscribe(cb, "door.*"), PEER_OK);
	ck_assert_int_eq(subscribe(pub, "sensor.temp"), PEER_OK);

	ck_assert_int_eq(publish(pub, "sensor.temp", data, sizeof(data), &s1,
	    &nodes), PEER_OK);
	ck_assert_uint_eq(nodes, 3);	/* a, e and this node */
	m = next_event(ca);
	ck_assert_str_eq(msg_text(m, "topic", buf, sizeof(buf)),
	    "sensor.temp");
	fl = ctl_msg_get(m, "data");
	ck_assert_ptr_nonnull(fl);
	ck_assert_uint_eq(fl->vallen, sizeof(data));
	ck_assert_mem_eq(fl->val, data, sizeof(data));
	ck_assert_str_eq(msg_text(m, "node", buf, sizeof(buf)), self.idstr);
	ck_assert_str_eq(msg_text(m, "name", buf, sizeof(buf)), "self");
	ck_assert_uint_eq(msg_uint(m, "seq"), s1);
	ck_assert(msg_bool(m, "verified"));
	ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	/* The publishing client subscribes too. */
	expect_event(pub, &self, s1);

	ck_assert_int_eq(publish(pub, "door.open", NULL, 0, &s2, &nodes),
	    PEER_OK);
	/* ca's next is this one: the first came once, for three patterns. */
	m = next_event(ca);
	ck_assert_uint_eq(msg_uint(m, "seq"), s2);
	ck_assert_ptr_null(ctl_msg_get(m, "data"));
	/* cb's first: sensor.temp never reached it. */
	expect_event(cb, &self, s2);
}
END_TEST

START_TEST(test_event_from_another_node)
{
	static const uint8_t	 data[] = { 0x63, 0x61, 0x62, 0x63 };
	struct client		*cl = clients_open(sock);
	const struct ctl_msg	*m;
	const struct cbor_field	*fl;
	char			 buf[NODE_ID_STRLEN];

	ck_assert_int_eq(subscribe(cl, "sensor.*"), PEER_OK);
	deliver(a.pk, RUN1 + 7, "door.open", NULL, 0);
	deliver(a.pk, RUN1 + 8, "sensor.temp", data, sizeof(data));
	m = next_event(cl);
	ck_assert_str_eq(msg_text(m, "topic", buf, sizeof(buf)),
	    "sensor.temp");
	ck_assert_str_eq(msg_text(m, "node", buf, sizeof(buf)), a.idstr);
	ck_assert_str_eq(msg_text(m, "name", buf, sizeof(buf)), "a");
	ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + 8);
	ck_assert(msg_bool(m, "verified"));
	fl = ctl_msg_get(m, "data");
	ck_assert_ptr_nonnull(fl);
	ck_assert_mem_eq(fl->val, data, sizeof(data));
	/* An old node's event, taken on its relay's word: said so. */
	deliver_as(a.pk, RUN1 + 9, "sensor.temp", NULL, 0, false);
	m = next_event(cl);
	ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + 9);
	ck_assert(!msg_bool(m, "verified"));
	/* An event is never passed on from here. */
	ck_assert_uint_eq(fake_route_count(route), 0);
}
END_TEST

START_TEST(test_deliver_at_most_once_in_order)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	deliver(a.pk, RUN1 + 10, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + 10, "sensor.temp", NULL, 0);	/* again */
	deliver(a.pk, RUN1 + 5, "door.open", NULL, 0);	/* late, any topic */
	deliver(b.pk, RUN1 + 3, "door.open", NULL, 0);	/* b's own count */
	deliver(a.pk, RUN1 + 11, "sensor.temp", NULL, 0);
	expect_event(cl, &a, RUN1 + 10);
	expect_event(cl, &b, RUN1 + 3);
	expect_event(cl, &a, RUN1 + 11);
	/* A newer record of the same run keeps what was taken. */
	offer(&a, 2, 1700000000, false, "sensor.*", NULL);
	deliver(a.pk, RUN1 + 6, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + 12, "sensor.temp", NULL, 0);
	expect_event(cl, &a, RUN1 + 12);
	ck_assert_uint_eq(stats().received, 7);
	ck_assert_uint_eq(stats().dropped, 3);
	ck_assert_uint_eq(stats().delivered, 4);
}
END_TEST

START_TEST(test_new_run_starts_afresh)
{
	struct client	*cl = clients_open(sock);
	uint64_t	 run2 = 1699990000ull * 1000000;

	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	deliver(a.pk, RUN1 + 100, "sensor.temp", NULL, 0);
	expect_event(cl, &a, RUN1 + 100);
	/* a restarted with its clock set back: its numbers are lower. */
	offer(&a, 2, 1699990000, false, "sensor.*", NULL);
	deliver(a.pk, run2 + 1, "sensor.temp", NULL, 0);
	deliver(a.pk, run2 + 1, "sensor.temp", NULL, 0);
	deliver(a.pk, run2 + 2, "sensor.temp", NULL, 0);
	/* Far above the new run's start, though not the old one's. */
	deliver(a.pk, run2 + AHEAD_MAX + 1, "sensor.temp", NULL, 0);
	deliver(a.pk, run2 + 3, "sensor.temp", NULL, 0);
	expect_event(cl, &a, run2 + 1);
	expect_event(cl, &a, run2 + 2);
	expect_event(cl, &a, run2 + 3);
}
END_TEST

START_TEST(test_far_ahead_dropped_not_holding_back)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	deliver(a.pk, RUN1 + 1, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + AHEAD_MAX + 1, "sensor.temp", NULL, 0);
	deliver(a.pk, UINT64_MAX, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + 2, "sensor.temp", NULL, 0);
	/* Exactly 2^40 above is still taken, and then holds back. */
	deliver(a.pk, RUN1 + AHEAD_MAX, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + 3, "sensor.temp", NULL, 0);
	deliver(b.pk, RUN1 + 1, "door.open", NULL, 0);	/* a marker */
	expect_event(cl, &a, RUN1 + 1);
	expect_event(cl, &a, RUN1 + 2);
	expect_event(cl, &a, RUN1 + AHEAD_MAX);
	expect_event(cl, &b, RUN1 + 1);
}
END_TEST

START_TEST(test_forget_forgets_taken)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	deliver(a.pk, RUN1 + 10, "sensor.temp", NULL, 0);
	deliver(b.pk, RUN1 + 10, "door.open", NULL, 0);
	/* Forgetting b does not forget a. */
	events_forget(events, b.pk);
	deliver(a.pk, RUN1 + 5, "sensor.temp", NULL, 0);
	deliver(b.pk, RUN1 + 5, "door.open", NULL, 0);
	events_forget(events, a.pk);
	deliver(a.pk, RUN1 + 6, "sensor.temp", NULL, 0);
	deliver(a.pk, RUN1 + 6, "sensor.temp", NULL, 0);
	expect_event(cl, &a, RUN1 + 10);
	expect_event(cl, &b, RUN1 + 10);
	expect_event(cl, &b, RUN1 + 5);
	expect_event(cl, &a, RUN1 + 6);
	deliver(b.pk, RUN1 + 11, "door.open", NULL, 0);
	expect_event(cl, &b, RUN1 + 11);
}
END_TEST

START_TEST(test_unknown_publisher_unchecked)
{
	struct client	*cl = clients_open(sock);
	struct tnode	 x;
	char		 name[NODE_NAME_MAX + 1];
	int		 i;

	tnode_new(&x, "x");
	ck_assert_int_eq(subscribe(cl, "*"), PEER_OK);
	deliver(x.pk, 10, "sensor.temp", NULL, 0);
	deliver(x.pk, 10, "sensor.temp", NULL, 0);
	deliver(x.pk, 5, "sensor.temp", NULL, 0);
	deliver(x.pk, UINT64_MAX, "sensor.temp", NULL, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(msg_text(next_event(cl), "name", name,
		    sizeof(name)), "");
	}
	expect_event(cl, &x, UINT64_MAX);
}
END_TEST

START_TEST(test_slow_client_loses_events)
{
	struct client		*slow = clients_open(sock);
	struct client		*other = clients_open(sock);
	const struct ctl_msg	*m;
	struct cbor_buf		 big = { 0 };
	uint8_t			*fill;
	size_t			 size = 400u << 10;
	int			 i;

	ck_assert_int_eq(subscribe(slow, "big"), PEER_OK);
	ck_assert_int_eq(subscribe(other, "small"), PEER_OK);
	fill = calloc(1, size);
	ck_assert_ptr_nonnull(fill);
	cbor_put_bytes(&big, fill, size);
	ck_assert(!big.failed);
	/*
	 * Without the loop nothing is written out: three events fill
	 * slow's queue past 1 MiB, and the next two are lost there.
	 */
	for (i = 1; i <= 5; i++)
		deliver(a.pk, RUN1 + (uint64_t)i, "big", big.data, big.len);
	deliver(a.pk, RUN1 + 6, "small", NULL, 0);
	/* Another client is not held back. */
	m = next_event(other);
	ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + 6);
	ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	for (i = 1; i <= 3; i++) {
		m = next_event(slow);
		ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + (uint64_t)i);
		ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	}
	/* Read up: the next one says how many it missed, then none. */
	deliver(a.pk, RUN1 + 7, "big", NULL, 0);
	m = next_event(slow);
	ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + 7);
	ck_assert_uint_eq(msg_uint(m, "lost"), 2);
	deliver(a.pk, RUN1 + 8, "big", NULL, 0);
	m = next_event(slow);
	ck_assert_uint_eq(msg_uint(m, "seq"), RUN1 + 8);
	ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	ck_assert_uint_eq(stats().lost, 2);
	ck_assert_uint_eq(stats().delivered, 6);
	free(fill);
	cbor_buf_free(&big);
}
END_TEST

/* One entry of a "topics" result. */
struct entry {
	char	topic[TOPIC_MAX + 1];
	char	node[NODE_ID_STRLEN];
	char	name[NODE_NAME_MAX + 1];
	bool	local;
};

/* Whether the list holds exactly this entry, once. */
static bool
listed(const struct entry *list, int n, const char *topic,
    const struct tnode *node, bool local)
{
	int	i, found = 0;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].topic, topic) == 0 &&
		    strcmp(list[i].node, node->idstr) == 0) {
			ck_assert_str_eq(list[i].name, node->name);
			ck_assert(list[i].local == local);
			found++;
		}
	return found == 1;
}

START_TEST(test_topics_op_lists_live_members)
{
	struct client		*c1 = clients_open(sock);
	struct client		*c2 = clients_open(sock);
	const struct ctl_msg	*m;
	const struct cbor_field	*fl, *g;
	struct cbor_field	 f[4], ef[8];
	struct cbor_iter	 it;
	struct entry		 list[16];
	const uint8_t		*item;
	size_t			 len;
	int			 n = 0, nf;

	ck_assert_int_eq(subscribe(c1, "beta"), PEER_OK);
	ck_assert_int_eq(subscribe(c1, "alpha.*"), PEER_OK);
	ck_assert_int_eq(subscribe(c2, "beta"), PEER_OK);
	client_begin(c1, "topics", ++next_id, 0);
	client_send(c1);
	m = reply(c1, next_id);
	ck_assert_int_eq(reply_code(m, NULL, 0), PEER_OK);
	fl = result_get(m, "topics", f, 4);
	ck_assert_ptr_nonnull(fl);
	ck_assert(cbor_array_iter(fl->val, fl->vallen, &it));
	while (cbor_iter_next(&it, &item, &len)) {
		ck_assert_int_lt(n, 16);
		nf = cbor_scan_map(item, len, ef, 8);
		ck_assert_int_eq(nf, 4);
		ck_assert(cbor_read_name(ef[0].val, ef[0].vallen, list[n].topic,
		    sizeof(list[n].topic), NULL));
		g = cbor_field_get(ef, nf, "node");
		ck_assert(g != NULL && cbor_read_name(g->val, g->vallen,
		    list[n].node, sizeof(list[n].node), NULL));
		g = cbor_field_get(ef, nf, "name");
		ck_assert(g != NULL && cbor_read_name(g->val, g->vallen,
		    list[n].name, sizeof(list[n].name), NULL));
		g = cbor_field_get(ef, nf, "local");
		ck_assert(g != NULL && cbor_read_bool(g->val, g->vallen,
		    &list[n].local));
		n++;
	}
	/* Not c (dead) nor d (left); ours once each, however many hold. */
	ck_assert_int_eq(n, 5);
	ck_assert(listed(list, n, "alpha.*", &self, true));
	ck_assert(listed(list, n, "beta", &self, true));
	ck_assert(listed(list, n, "sensor.*", &a, false));
	ck_assert(listed(list, n, "door.open", &b, false));
	ck_assert(listed(list, n, "sensor.temp", &e, false));
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("events");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_topics_heard_sorted_and_distinct);
	tcase_add_test(tc, test_subscribe_twice_already_exists);
	tcase_add_test(tc, test_unsubscribe_not_held_not_found);
	tcase_add_test(tc, test_bad_topic_or_pattern_invalid);
	tcase_add_test(tc, test_65th_distinct_pattern_refused);
	tcase_add_test(tc, test_1024_subscriptions_on_a_node);
	tcase_add_test(tc, test_client_gone_takes_its_patterns);
	tcase_add_test(tc, test_publish_to_live_matching_members);
	tcase_add_test(tc, test_publish_numbers_and_unreachable);
	tcase_add_test(tc, test_publish_data_over_max_message);
	tcase_add_test(tc, test_local_event_once_per_client);
	tcase_add_test(tc, test_event_from_another_node);
	tcase_add_test(tc, test_deliver_at_most_once_in_order);
	tcase_add_test(tc, test_new_run_starts_afresh);
	tcase_add_test(tc, test_far_ahead_dropped_not_holding_back);
	tcase_add_test(tc, test_forget_forgets_taken);
	tcase_add_test(tc, test_unknown_publisher_unchecked);
	tcase_add_test(tc, test_slow_client_loses_events);
	tcase_add_test(tc, test_topics_op_lists_live_members);
	suite_add_tcase(s, tc);
	return s;
}
