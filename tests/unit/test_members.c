/* SPDX-License-Identifier: ISC */
/*
 * test_members.c: signed records and the member table: forged,
 * altered and replayed records are rejected, incarnations order
 * everything, and claims of failure obey them.  Also the topic
 * patterns that records carry, and how they match topics.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "members.h"
#include "record.h"
#include "suites.h"

struct node {
	uint8_t	pk[32], sk[64];
};

static void
node_new(struct node *n)
{
	crypto_sign_keypair(n->pk, n->sk);
}

/* A bare record of n at incarnation 1, named name, for a test to fill. */
static void
bare_record(struct record *r, const struct node *n, const char *name)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->id, n->pk, 32);
	strcpy(r->name, name);
	r->incarnation = 1;
}

/* A signed record of n at incarnation inc, in b. */
static void
signed_record(const struct node *n, uint64_t inc, bool left,
    struct cbor_buf *b)
{
	struct record	r;

	bare_record(&r, n, "node");
	strcpy(r.addrs[0], "127.0.0.1:7654");
	r.naddrs = 1;
	strcpy(r.groups[0], "lab");
	r.ngroups = 1;
	r.hub = true;
	r.left = left;
	r.incarnation = inc;
	r.started_at = 1700000000;
	cbor_buf_reset(b);
	record_sign(&r, n->sk, b);
	ck_assert(!b->failed);
}

START_TEST(test_record_round_trip)
{
	struct cbor_buf	 b = { 0 };
	struct node	 n;
	struct record	 r;
	const char	*why;

	node_new(&n);
	signed_record(&n, 42, false, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_mem_eq(r.id, n.pk, 32);
	ck_assert_str_eq(r.name, "node");
	ck_assert_uint_eq(r.incarnation, 42);
	ck_assert_str_eq(r.addrs[0], "127.0.0.1:7654");
	ck_assert(record_in_group(&r, "lab"));
	ck_assert(!record_in_group(&r, "other"));
	ck_assert(r.hub);
	ck_assert(!r.left);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_record_services)
{
	struct cbor_buf	 b = { 0 };
	struct node	 n;
	struct record	 in, r;
	const char	*why;

	node_new(&n);
	bare_record(&in, &n, "node");
	strcpy(in.services[0].name, "calc");
	strcpy(in.services[1].name, "camera.front");
	strcpy(in.services[1].group, "lab");
	in.nservices = 2;
	record_sign(&in, n.sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.nservices, 2);
	ck_assert_str_eq(r.services[0].name, "calc");
	ck_assert_str_eq(r.services[0].group, "");
	ck_assert_str_eq(r.services[1].name, "camera.front");
	ck_assert_str_eq(r.services[1].group, "lab");
	/* A signed record with an impossible service name is refused. */
	strcpy(in.services[1].name, "Camera Front");
	cbor_buf_reset(&b);
	record_sign(&in, n.sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	ck_assert(service_name_valid("stats.reset", 11));
	ck_assert(!service_name_valid("", 0));
	ck_assert(!service_name_valid("a/b", 3));
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_record_forged_or_altered)
{
	struct cbor_buf	 b = { 0 }, f = { 0 };
	struct node	 a, m;
	struct record	 r;
	const char	*why;
	size_t		 i;
	int		 rejected = 0;

	node_new(&a);
	node_new(&m);
	signed_record(&a, 7, false, &b);
	/* Any single flipped bit is rejected, whatever it hits. */
	for (i = 0; i < b.len; i++) {
		b.data[i] ^= 0x01;
		if (record_open(b.data, b.len, &r, &why) == -1)
			rejected++;
		b.data[i] ^= 0x01;
	}
	ck_assert_int_eq(rejected, (int)b.len);
	/* Signed by someone else (m) while naming a's ID: forged. */
	{
		struct record	fake;

		ck_assert_int_eq(record_open(b.data, b.len, &fake, &why), 0);
		fake.incarnation = 8;
		record_sign(&fake, m.sk, &f);
		ck_assert_int_eq(record_open(f.data, f.len, &r, &why), -1);
		ck_assert_str_eq(why, "bad signature");
	}
	/* Truncated anywhere. */
	for (i = 0; i < b.len; i++)
		ck_assert_int_eq(record_open(b.data, i, &r, &why), -1);
	cbor_buf_free(&b);
	cbor_buf_free(&f);
}
END_TEST

START_TEST(test_record_impossible_fields)
{
	struct cbor_buf	 b = { 0 };
	struct node	 n;
	struct record	 r, in;
	const char	*why;

	node_new(&n);
	/* Signed, but not a valid name. */
	bare_record(&in, &n, "bad name");
	record_sign(&in, n.sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	cbor_buf_reset(&b);
	strcpy(in.name, "ok");
	strcpy(in.addrs[0], "no-port");	/* not HOST:PORT */
	in.naddrs = 1;
	record_sign(&in, n.sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	ck_assert_str_eq(why, "record with impossible fields");
	cbor_buf_free(&b);
}
END_TEST

/*
 * A signed record of n whose "topics" are the first ntopics of topics,
 * each of the given length: written by hand, so that it can hold what
 * struct record cannot.
 */
static void
signed_topics(const struct node *n, const char *const *topics,
    const size_t *lens, size_t ntopics, struct cbor_buf *b)
{
	struct cbor_buf	body = { 0 };
	uint8_t		sig[crypto_sign_BYTES];
	size_t		i;

	cbor_put_map(&body, 6);
	cbor_put_text(&body, "v");
	cbor_put_uint(&body, RECORD_VERSION);
	cbor_put_text(&body, "id");
	cbor_put_bytes(&body, n->pk, 32);
	cbor_put_text(&body, "name");
	cbor_put_text(&body, "node");
	cbor_put_text(&body, "inc");
	cbor_put_uint(&body, 1);
	cbor_put_text(&body, "started");
	cbor_put_uint(&body, 1700000000);
	cbor_put_text(&body, "topics");
	cbor_put_array(&body, ntopics);
	for (i = 0; i < ntopics; i++)
		cbor_put_textn(&body, topics[i], lens[i]);
	ck_assert(!body.failed);
	crypto_sign_detached(sig, NULL, body.data, body.len, n->sk);
	cbor_buf_reset(b);
	cbor_put_map(b, 2);
	cbor_put_text(b, "b");
	cbor_put_bytes(b, body.data, body.len);
	cbor_put_text(b, "s");
	cbor_put_bytes(b, sig, sizeof(sig));
	ck_assert(!b->failed);
	cbor_buf_free(&body);
}

START_TEST(test_record_topics)
{
	struct cbor_buf	 b = { 0 };
	struct node	 n;
	struct record	 in, r;
	const char	*why;
	int		 i;

	node_new(&n);
	bare_record(&in, &n, "node");
	strcpy(in.topics[0], "sensor.*");
	strcpy(in.topics[1], "door.front");
	strcpy(in.topics[2], "*");
	in.ntopics = 3;
	record_sign(&in, n.sk, &b);
	ck_assert(!b.failed);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.ntopics, 3);
	ck_assert_str_eq(r.topics[0], "sensor.*");
	ck_assert_str_eq(r.topics[1], "door.front");
	ck_assert_str_eq(r.topics[2], "*");

	/* As many patterns as a record may hold, each as long as may be. */
	for (i = 0; i < RECORD_TOPICS_MAX; i++) {
		memset(in.topics[i], 'a' + i % 26, TOPIC_MAX - 2);
		memcpy(in.topics[i] + TOPIC_MAX - 2, ".*", 3);
	}
	in.ntopics = RECORD_TOPICS_MAX;
	cbor_buf_reset(&b);
	record_sign(&in, n.sk, &b);
	ck_assert(!b.failed);
	ck_assert_uint_le(b.len, RECORD_MAX);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.ntopics, RECORD_TOPICS_MAX);
	ck_assert_uint_eq(strlen(r.topics[RECORD_TOPICS_MAX - 1]), TOPIC_MAX);

	/* None at all: an empty array. */
	in.ntopics = 0;
	cbor_buf_reset(&b);
	record_sign(&in, n.sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.ntopics, 0);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_record_bad_topics)
{
	static const char *const bad[] = { "Sensor", "a*", "*.b", "", ".*",
	    "sensor.*.*", "sensor*", "a b", "**", "sensor.t*" };
	struct cbor_buf	 b = { 0 };
	struct node	 n;
	struct record	 r;
	const char	*why, *topics[RECORD_TOPICS_MAX + 1];
	size_t		 lens[RECORD_TOPICS_MAX + 1], i;
	char		 big[TOPIC_MAX + 2];

	node_new(&n);
	/* Each bad pattern, alone or after a good one, spoils the record. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		topics[0] = bad[i];
		lens[0] = strlen(bad[i]);
		signed_topics(&n, topics, lens, 1, &b);
		ck_assert_msg(record_open(b.data, b.len, &r, &why) == -1,
		    "\"%s\" taken", bad[i]);
		ck_assert_str_eq(why, "record with impossible fields");
		topics[0] = "ok";
		lens[0] = 2;
		topics[1] = bad[i];
		lens[1] = strlen(bad[i]);
		signed_topics(&n, topics, lens, 2, &b);
		ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	}

	/* 64 bytes, pattern or not, is the most. */
	memset(big, 'x', sizeof(big));
	topics[0] = big;
	lens[0] = TOPIC_MAX;
	signed_topics(&n, topics, lens, 1, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	lens[0] = TOPIC_MAX + 1;
	signed_topics(&n, topics, lens, 1, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	memcpy(big + TOPIC_MAX - 1, ".*", 2);
	signed_topics(&n, topics, lens, 1, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);

	/* 64 patterns, no more. */
	for (i = 0; i <= RECORD_TOPICS_MAX; i++) {
		topics[i] = "sensor.*";
		lens[i] = 8;
	}
	signed_topics(&n, topics, lens, RECORD_TOPICS_MAX, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.ntopics, RECORD_TOPICS_MAX);
	signed_topics(&n, topics, lens, RECORD_TOPICS_MAX + 1, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	ck_assert_str_eq(why, "record with impossible fields");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_topic_names)
{
	char	s[TOPIC_MAX + 2];

	ck_assert(topic_valid("sensor.temp", 11));
	ck_assert(topic_valid("a", 1));
	ck_assert(topic_valid("door-1_b.x", 10));
	ck_assert(!topic_valid("", 0));
	ck_assert(!topic_valid("Sensor", 6));
	ck_assert(!topic_valid("sensor.*", 8));
	ck_assert(!topic_valid("*", 1));
	ck_assert(!topic_valid("a/b", 3));
	memset(s, 't', sizeof(s));
	ck_assert(topic_valid(s, TOPIC_MAX));
	ck_assert(!topic_valid(s, TOPIC_MAX + 1));

	ck_assert(topic_pattern_valid("*", 1));
	ck_assert(topic_pattern_valid("sensor.*", 8));
	ck_assert(topic_pattern_valid("a.b.*", 5));
	ck_assert(topic_pattern_valid("sensor.temp", 11));
	ck_assert(!topic_pattern_valid("", 0));
	ck_assert(!topic_pattern_valid("Sensor", 6));
	ck_assert(!topic_pattern_valid("Sensor.*", 8));
	ck_assert(!topic_pattern_valid("a*", 2));
	ck_assert(!topic_pattern_valid("*.b", 3));
	ck_assert(!topic_pattern_valid(".*", 2));
	ck_assert(!topic_pattern_valid("**", 2));
	ck_assert(!topic_pattern_valid("a.*.*", 5));
	ck_assert(!topic_pattern_valid("a.*.b", 5));
	ck_assert(!topic_pattern_valid(s, TOPIC_MAX + 1));
	ck_assert(topic_pattern_valid(s, TOPIC_MAX));
	memcpy(s + TOPIC_MAX - 2, ".*", 2);
	ck_assert(topic_pattern_valid(s, TOPIC_MAX));
}
END_TEST

START_TEST(test_topic_matches)
{
	ck_assert(topic_matches("sensor.*", "sensor.temp"));
	ck_assert(topic_matches("sensor.*", "sensor.a.b"));
	ck_assert(topic_matches("sensor.*", "sensor.."));
	ck_assert(!topic_matches("sensor.*", "sensor"));
	ck_assert(!topic_matches("sensor.*", "sensor."));
	ck_assert(!topic_matches("sensor.*", "sensorx"));
	ck_assert(!topic_matches("sensor.*", "sensorx.temp"));
	ck_assert(!topic_matches("sensor.*", "door.sensor.temp"));
	ck_assert(!topic_matches("sensor.*", "sens"));
	ck_assert(topic_matches("a.b.*", "a.b.c"));
	ck_assert(!topic_matches("a.b.*", "a.c.d"));

	ck_assert(topic_matches("*", "sensor.temp"));
	ck_assert(topic_matches("*", "x"));
	ck_assert(topic_matches("*", "a.b.c.d"));

	ck_assert(topic_matches("sensor.temp", "sensor.temp"));
	ck_assert(!topic_matches("sensor.temp", "sensor.tem"));
	ck_assert(!topic_matches("sensor.temp", "sensor.temp2"));
	ck_assert(!topic_matches("sensor.temp", "sensor.temp.c"));
	ck_assert(!topic_matches("sensor", "sensor.temp"));
}
END_TEST

static struct members *
table(struct node *self)
{
	struct cbor_buf	 b = { 0 };
	struct members	*t;

	node_new(self);
	signed_record(self, 100, false, &b);
	ck_assert_ptr_nonnull(t = members_new(b.data, b.len, 0));
	cbor_buf_free(&b);
	return t;
}

START_TEST(test_incarnations_and_replay)
{
	struct cbor_buf	 old = { 0 }, cur = { 0 };
	struct members	*t;
	struct member	*m;
	struct node	 self, a;
	const char	*why;

	t = table(&self);
	node_new(&a);
	signed_record(&a, 5, false, &old);
	signed_record(&a, 6, false, &cur);
	ck_assert_int_eq(members_offer(t, cur.data, cur.len, NULL, 1, &m, &why),
	    MEMBERS_NEW);
	ck_assert_int_eq(members_offer(t, cur.data, cur.len, NULL, 2, &m, &why),
	    MEMBERS_SAME);
	/* A replayed older record changes nothing and is counted. */
	ck_assert_int_eq(members_offer(t, old.data, old.len, NULL, 3, &m, &why),
	    MEMBERS_STALE);
	ck_assert_uint_eq(m->rec.incarnation, 6);
	ck_assert_uint_eq(members_stats(t)->stale, 1);
	ck_assert_uint_eq(members_count(t), 2);
	/* Nobody may replace our own record, even with a higher number. */
	{
		struct cbor_buf	mine = { 0 };

		signed_record(&self, 999, false, &mine);
		ck_assert_int_ne(members_offer(t, mine.data, mine.len, NULL, 4,
		    &m, &why), MEMBERS_UPDATED);
		ck_assert_uint_eq(members_self(t)->rec.incarnation, 100);
		cbor_buf_free(&mine);
	}
	cbor_buf_free(&old);
	cbor_buf_free(&cur);
	members_free(t);
}
END_TEST

/* The node whose ID is arg is revoked. */
static bool
is_revoked_node(void *arg, const uint8_t *id)
{
	return memcmp(arg, id, 32) == 0;
}

static void
count_forgotten(const struct member *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
}

/*
 * A revoked node's records are refused, a newer one too, and the table
 * forgets a member on request, telling whoever listens; never ourselves.
 */
START_TEST(test_forget_and_revoked)
{
	struct cbor_buf	 b = { 0 };
	struct members	*t;
	struct member	*m;
	struct node	 self, a, x;
	const char	*why;
	int		 forgotten = 0;

	t = table(&self);
	node_new(&a);
	node_new(&x);
	members_on_forget(t, count_forgotten, &forgotten);
	signed_record(&a, 5, false, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 1, &m, &why),
	    MEMBERS_NEW);
	ck_assert(members_forget(t, a.pk));
	ck_assert_int_eq(forgotten, 1);
	ck_assert_ptr_null(members_get(t, a.pk));
	ck_assert(!members_forget(t, a.pk));
	ck_assert(!members_forget(t, self.pk));
	ck_assert_ptr_nonnull(members_self(t));
	ck_assert_uint_eq(members_count(t), 1);

	members_on_revoked(t, is_revoked_node, a.pk);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 2, &m, &why),
	    MEMBERS_INVALID);
	ck_assert_str_eq(why, "a record of a revoked node");
	signed_record(&a, 6, false, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 3, &m, &why),
	    MEMBERS_INVALID);
	ck_assert_ptr_null(members_get(t, a.pk));
	/* Others still come in. */
	signed_record(&x, 1, false, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 4, &m, &why),
	    MEMBERS_NEW);
	cbor_buf_free(&b);
	members_free(t);
}
END_TEST

START_TEST(test_claims_follow_incarnations)
{
	struct cbor_buf	 b = { 0 };
	struct members	*t;
	struct member	*m;
	struct node	 self, a;
	const char	*why;

	t = table(&self);
	node_new(&a);
	signed_record(&a, 10, false, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 0, &m, &why),
	    MEMBERS_NEW);
	/* A claim about an older incarnation is ignored, and so is one
	 * about a newer one: the node never signed it, it is forged. */
	ck_assert(!members_suspect(t, a.pk, 9, 0, 100));
	ck_assert(!members_suspect(t, a.pk, 11, 0, 100));
	ck_assert(!members_dead(t, a.pk, UINT64_MAX, 0));
	ck_assert(members_suspect(t, a.pk, 10, 0, 100));
	ck_assert_int_eq(m->state, MEMBER_SUSPECT);
	/* Unrefuted past its deadline: dead. */
	ck_assert_uint_eq(members_tick(t, 99, NULL, NULL), 0);
	ck_assert_uint_eq(members_tick(t, 100, NULL, NULL), 1);
	ck_assert_int_eq(m->state, MEMBER_DEAD);
	/* A newer record refutes: alive again. */
	signed_record(&a, 11, false, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 200, &m, &why),
	    MEMBERS_UPDATED);
	ck_assert_int_eq(m->state, MEMBER_ALIVE);
	ck_assert(!members_dead(t, a.pk, 10, 201));	/* old news */
	ck_assert(members_dead(t, a.pk, 11, 201));
	/* A LEAVE is final for that incarnation; claims do not undo it. */
	signed_record(&a, 12, true, &b);
	ck_assert_int_eq(members_offer(t, b.data, b.len, NULL, 300, &m, &why),
	    MEMBERS_UPDATED);
	ck_assert_int_eq(m->state, MEMBER_LEFT);
	ck_assert(!members_dead(t, a.pk, 12, 301));
	/* Claims about ourselves are not applied (we refute them). */
	ck_assert(!members_dead(t, self.pk, 100, 302));
	ck_assert_int_eq(members_self(t)->state, MEMBER_ALIVE);
	/* Dead and left members expire; we never do. */
	ck_assert_uint_eq(members_expire(t, 300 + 999, 1000), 0);
	ck_assert_uint_eq(members_expire(t, 300 + 1000, 1000), 1);
	ck_assert_uint_eq(members_count(t), 1);
	cbor_buf_free(&b);
	members_free(t);
}
END_TEST

/* Offers a record of n at inc, sent by via, at now. */
static enum members_result
offer(struct members *t, const struct node *n, uint64_t inc,
    const uint8_t *via, int64_t now)
{
	struct cbor_buf		 b = { 0 };
	struct member		*m;
	enum members_result	 r;
	const char		*why;

	signed_record(n, inc, false, &b);
	r = members_offer(t, b.data, b.len, via, now, &m, &why);
	cbor_buf_free(&b);
	return r;
}

START_TEST(test_admission_quota)
{
	struct members_limits	 lim = { 4, 2, 1000 };
	struct members		*t;
	struct node		 self, x, y, n[8];
	int			 i;

	t = table(&self);
	members_set_limits(t, &lim);
	node_new(&x);
	node_new(&y);
	for (i = 0; i < 8; i++)
		node_new(&n[i]);
	/* Below the soft size, anyone introduces anything. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(offer(t, &n[i], 1, x.pk, 0), MEMBERS_NEW);
	ck_assert_uint_eq(members_count(t), 4);
	/* Above it, x already has 3 unsettled: no more from x. */
	ck_assert_int_eq(offer(t, &n[3], 1, x.pk, 10), MEMBERS_FULL);
	ck_assert_uint_eq(members_stats(t)->quota, 1);
	ck_assert_ptr_null(members_get(t, n[3].pk));
	/* y introduced none; a node's own record always comes in. */
	ck_assert_int_eq(offer(t, &n[3], 1, y.pk, 10), MEMBERS_NEW);
	ck_assert_int_eq(offer(t, &n[4], 1, y.pk, 10), MEMBERS_NEW);
	ck_assert_int_eq(offer(t, &n[5], 1, y.pk, 10), MEMBERS_FULL);
	ck_assert_int_eq(offer(t, &n[5], 1, n[5].pk, 10), MEMBERS_NEW);
	ck_assert(members_get(t, n[5].pk)->confirmed);
	ck_assert(members_settled(t, members_get(t, n[5].pk), 10));
	/* A newer record of a held member is no new identity. */
	ck_assert_int_eq(offer(t, &n[0], 2, x.pk, 20), MEMBERS_UPDATED);
	/* Once x's members settle, x may introduce again... */
	ck_assert(!members_settled(t, members_get(t, n[0].pk), 999));
	ck_assert(members_settled(t, members_get(t, n[0].pk), 1000));
	ck_assert_int_eq(offer(t, &n[6], 1, x.pk, 1000), MEMBERS_NEW);
	/* ...but those our own dial found dead stay unsettled. */
	members_disprove(t, n[1].pk);
	members_disprove(t, n[2].pk);
	ck_assert(!members_settled(t, members_get(t, n[1].pk), 5000));
	ck_assert_int_eq(offer(t, &n[7], 1, x.pk, 5000), MEMBERS_FULL);
	ck_assert_uint_eq(members_stats(t)->quota, 3);
	/* A confirmed member is settled whatever our dials said. */
	members_confirm(t, n[1].pk);
	ck_assert(members_settled(t, members_get(t, n[1].pk), 5000));
	ck_assert_int_eq(offer(t, &n[7], 1, x.pk, 5000), MEMBERS_NEW);
	members_free(t);
}
END_TEST

START_TEST(test_eviction_order)
{
	struct members_limits	 lim = { MEMBERS_MAX, MEMBERS_MAX, 1000 };
	struct members		*t;
	struct node		 self, old, linked, dead, fake, n1, n2, n3;
	int			 first, forgotten_calls = 0;

	t = table(&self);
	members_set_limits(t, &lim);
	members_on_forget(t, count_forgotten, &forgotten_calls);
	node_new(&old);
	node_new(&linked);
	node_new(&dead);
	node_new(&n1);
	node_new(&n2);
	node_new(&n3);
	ck_assert_int_eq(offer(t, &old, 1, NULL, 0), MEMBERS_NEW);
	ck_assert_int_eq(offer(t, &linked, 1, linked.pk, 1900), MEMBERS_NEW);
	ck_assert_int_eq(offer(t, &dead, 1, NULL, 1900), MEMBERS_NEW);
	ck_assert(members_dead(t, dead.pk, 1, 1950));
	/* Fakes, all first seen at 2000, fill the table. */
	node_new(&fake);
	first = 1;
	while (members_count(t) < MEMBERS_MAX) {
		if (!first)
			node_new(&fake);
		first = 0;
		ck_assert_int_eq(offer(t, &fake, 1, NULL, 2000), MEMBERS_NEW);
	}
	/* The dead go first. */
	ck_assert_int_eq(offer(t, &n1, 1, NULL, 2500), MEMBERS_NEW);
	ck_assert_ptr_null(members_get(t, dead.pk));
	/* Then the unsettled member seen first most recently. */
	ck_assert_int_eq(offer(t, &n2, 1, NULL, 2600), MEMBERS_NEW);
	ck_assert_ptr_null(members_get(t, n1.pk));
	ck_assert_ptr_nonnull(members_get(t, n2.pk));
	ck_assert_uint_eq(members_count(t), MEMBERS_MAX);
	/* Never ourselves, a linked member, nor one held long enough. */
	ck_assert_ptr_nonnull(members_get(t, old.pk));
	ck_assert_ptr_nonnull(members_get(t, linked.pk));
	ck_assert_ptr_nonnull(members_get(t, self.pk));
	ck_assert_uint_eq(members_stats(t)->evicted, 2);
	ck_assert_int_eq(forgotten_calls, 2);
	/* Much later all have settled but one our dial disproved. */
	members_disprove(t, fake.pk);
	ck_assert_int_eq(offer(t, &n3, 1, NULL, 100000), MEMBERS_NEW);
	ck_assert_ptr_null(members_get(t, fake.pk));
	ck_assert_int_eq(offer(t, &n1, 1, NULL, 200000), MEMBERS_FULL);
	ck_assert_uint_eq(members_stats(t)->full, 1);
	ck_assert_ptr_nonnull(members_get(t, n2.pk));
	/* One dropped on purpose goes through the same hook. */
	ck_assert(members_forget(t, old.pk));
	ck_assert(!members_forget(t, old.pk));
	ck_assert(!members_forget(t, self.pk));
	ck_assert_int_eq(forgotten_calls, 4);
	ck_assert_uint_eq(members_count(t), MEMBERS_MAX - 1);
	members_free(t);
}
END_TEST

Suite *
members_suite(void)
{
	Suite	*s = suite_create("members");
	TCase	*tc = tcase_create("members");
	TCase	*full = tcase_create("members_full");

	tcase_add_test(tc, test_record_round_trip);
	tcase_add_test(tc, test_record_services);
	tcase_add_test(tc, test_record_forged_or_altered);
	tcase_add_test(tc, test_record_impossible_fields);
	tcase_add_test(tc, test_record_topics);
	tcase_add_test(tc, test_record_bad_topics);
	tcase_add_test(tc, test_topic_names);
	tcase_add_test(tc, test_topic_matches);
	tcase_add_test(tc, test_incarnations_and_replay);
	tcase_add_test(tc, test_claims_follow_incarnations);
	tcase_add_test(tc, test_admission_quota);
	tcase_add_test(tc, test_forget_and_revoked);
	suite_add_tcase(s, tc);
	/* Fills a table: 4096 records signed and checked. */
	tcase_set_timeout(full, 30);
	tcase_add_test(full, test_eviction_order);
	suite_add_tcase(s, full);
	return s;
}
