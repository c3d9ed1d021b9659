/* SPDX-License-Identifier: ISC */
/*
 * test_kvsync.c: kvsync.c between two to five nodes of a test, each
 * with a real store in a directory of its own and a real ring over its
 * own member table; their "kv" messages go through a fake net
 * (fake_kvpost.h), and a repair a node is sent is stored as kv.c
 * stores it.  The rules: stores that agree trade digests and nothing
 * else; a key missing on an owner is copied to it; the newer version
 * wins, whichever side holds it, tombstones too; a digest that comes
 * between rounds is answered by a scan, not a round; a key a node does
 * not own goes to its owners and is dropped only once each of them has
 * it, and an owner that never answers only delays that, round after
 * round; expired items (the coordinator telling the watches) and old
 * tombstones are forgotten; a full route paces the sends and loses
 * none; the keys of a dead owner are copied to the new one, 10,000 of
 * them within the 5 s; a joining node takes its keys from the
 * owners before it, which then drop them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "clock.h"
#include "fake_kvpost.h"
#include "harness.h"
#include "hlc.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvsync.h"

#define NODES_MAX	5
#define WAIT		5000	/* ms: what must happen, happens by then */
#define SETTLE_MS	20
#define LONG_MS		60000	/* an interval no test waits for */

struct tn {
	struct tnode	 node;
	char		 dir[128];
	struct kvstore	*store;
	struct members	*members;
	struct kvring	*ring;
	struct kvpost	*post;
	struct kvsync	*sync;
	bool		 dead;
};

static struct event_base	*base;
static struct fake_kvnet	*net;
static struct tn		 nodes[NODES_MAX];
static int			 nn;
/* What kvwatch_changed was told: by which node, of which key. */
#define EXPIRIES_MAX	8
static struct {
	struct tn	*at;
	char		 key[64];
}				 expiries[EXPIRIES_MAX];
static int			 nexpiries;

/* A value: the text "hello", one CBOR item. */
static const uint8_t	VALUE[] = { 0x65, 'h', 'e', 'l', 'l', 'o' };

/*
 * The watches, as kvsync tells them of an expiry: each node's kvsync is
 * given its struct tn as its kvwatch.
 */
void
kvwatch_changed(struct kvwatch *w, enum kv_write_op op,
    const struct kv_item *it)
{
	ck_assert_int_eq(op, KV_EXPIRE);
	ck_assert_int_lt(nexpiries, EXPIRIES_MAX);
	ck_assert_uint_lt(it->keylen, sizeof(expiries[0].key));
	expiries[nexpiries].at = (struct tn *)w;
	memcpy(expiries[nexpiries].key, it->key, it->keylen);
	expiries[nexpiries].key[it->keylen] = '\0';
	nexpiries++;
}

/* How many times the watches heard of key's expiry, and from whom. */
static int
expiries_of(const char *key, struct tn **at)
{
	int	i, n = 0;

	for (i = 0; i < nexpiries; i++)
		if (strcmp(expiries[i].key, key) == 0) {
			*at = expiries[i].at;
			n++;
		}
	return n;
}

/* Whether t is key's coordinator. */
static bool
coordinates(const struct tn *t, const char *key)
{
	uint8_t	owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];

	return kvring_owners(nodes[0].ring, key, strlen(key), owners) > 0 &&
	    memcmp(owners[0], t->node.pk, NODE_ID_LEN) == 0;
}

/* As kv.c takes a STORE repair: the newer is kept. */
static void
deliver(void *arg, const uint8_t *from, uint64_t cid, const struct kvmsg *m)
{
	struct tn	*t = arg;

	if (t->sync == NULL)
		return;
	if (m->kind == KVMSG_STORE) {
		/* Not ck_assert, which is slow for every message. */
		if (!m->repair || cid != 0 ||
		    kvstore_put(t->store, &m->item) == KVSTORE_ERROR)
			ck_abort_msg("a STORE not as kv.c takes a repair");
		return;
	}
	kvsync_message(t->sync, from, cid, m);
}

/* n nodes, their stores and rings; no sync yet. */
static void
make_nodes(int n, size_t replicas)
{
	struct kvstore_params	 sp;
	struct kvring_params	 rp;
	struct record		 r;
	char			 name[16], err[256];
	int			 i, j;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	net = fake_kvnet_new(base);
	nn = n;
	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		tnode_new(&nodes[i].node, name);
	}
	for (i = 0; i < n; i++) {
		struct tn	*t = &nodes[i];

		t->members = tnode_members(&t->node);
		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			tnode_record(&nodes[j].node, 1, &r);
			tnode_offer(t->members, &nodes[j].node, &r);
		}
		tmpdir_make(t->dir, sizeof(t->dir), "kvsync");
		memset(&sp, 0, sizeof(sp));
		sp.dir = t->dir;
		sp.max_bytes = 1ull << 30;
		t->store = kvstore_open(&sp, err, sizeof(err));
		ck_assert_msg(t->store != NULL, "kvstore_open: %s", err);
		memset(&rp, 0, sizeof(rp));
		rp.self = t->node.pk;
		rp.group = "";
		rp.replicas = replicas;
		t->ring = kvring_new(&rp, t->members);
		ck_assert_ptr_nonnull(t->ring);
		t->post = fake_kvnet_node(net, t->node.pk, deliver, t);
	}
}

/* Each node's sync, with the given interval and tombstone lifetime. */
static void
start_syncs(uint64_t interval_ms, uint64_t settle_ms, uint64_t tomb_ms)
{
	struct kvsync_params	p;
	int			i;

	for (i = 0; i < nn; i++) {
		memset(&p, 0, sizeof(p));
		p.self = nodes[i].node.pk;
		p.interval_ms = interval_ms;
		p.settle_ms = settle_ms;
		p.tombstone_ttl_ms = tomb_ms;
		nodes[i].sync = kvsync_new(base, &p, nodes[i].store,
		    nodes[i].ring, nodes[i].post,
		    (struct kvwatch *)&nodes[i]);
		ck_assert_ptr_nonnull(nodes[i].sync);
	}
	nexpiries = 0;
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < nn; i++) {
		kvsync_free(nodes[i].sync);
		nodes[i].sync = NULL;
	}
	fake_kvnet_free(net);
	for (i = 0; i < nn; i++) {
		kvring_free(nodes[i].ring);
		members_free(nodes[i].members);
		kvstore_close(nodes[i].store);
		tmpdir_remove(nodes[i].dir);
	}
	event_base_free(base);
	nn = 0;
}

static struct kv_version
ver(uint64_t wall_ms, uint16_t counter, const struct tn *writer)
{
	struct kv_version	v;

	v.hlc = wall_ms << HLC_COUNTER_BITS | counter;
	memcpy(v.node, writer->node.pk, NODE_ID_LEN);
	return v;
}

static void
put_item(struct tn *t, const char *key, struct kv_version v, bool tombstone,
    uint64_t expires_ms)
{
	struct kv_item	it;

	memset(&it, 0, sizeof(it));
	it.key = key;
	it.keylen = strlen(key);
	it.ver = v;
	it.expires_ms = expires_ms;
	it.tombstone = tombstone;
	if (!tombstone) {
		it.value = VALUE;
		it.valuelen = sizeof(VALUE);
	}
	ck_assert_int_eq(kvstore_put(t->store, &it), KVSTORE_STORED);
}

static void
put(struct tn *t, const char *key, struct kv_version v)
{
	put_item(t, key, v, false, 0);
}

/* Whether t holds key at version v (a tombstone if tombstone). */
static bool
holds(struct tn *t, const char *key, struct kv_version v, bool tombstone)
{
	struct kv_item	it;

	if (kvstore_get(t->store, key, strlen(key), &it) != 1)
		return false;
	return kv_version_cmp(&it.ver, &v) == 0 && it.tombstone == tombstone;
}

static bool
has_key(struct tn *t, const char *key)
{
	struct kv_item	it;

	return kvstore_get(t->store, key, strlen(key), &it) == 1;
}

static uint64_t
rounds(int i)
{
	struct kvsync_stats	st;

	kvsync_stats(nodes[i].sync, &st);
	return st.rounds;
}

static bool
one_round(void *arg)
{
	return rounds(*(int *)arg) >= 1;
}

static bool
all_had_a_round(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < nn; i++)
		if (!nodes[i].dead && rounds(i) == 0)
			return false;
	return fake_kvnet_queued(net) == 0;
}

/* A key whose owners, in node 0's view, leave out node not. */
static void
key_not_owned_by(int not, char *key, size_t cap)
{
	int	i;

	for (i = 0; i < 10000; i++) {
		snprintf(key, cap, "handoff/%d", i);
		if (!kvring_owns(nodes[0].ring, nodes[not].node.pk, key,
		    strlen(key)))
			return;
	}
	ck_abort_msg("no key without node %d among its owners", not);
}

START_TEST(test_identical_stores_trade_only_digests)
{
	char	key[32];
	int	i, k;

	make_nodes(3, 3);
	for (k = 0; k < 200; k++) {
		snprintf(key, sizeof(key), "same/%d", k);
		for (i = 0; i < nn; i++)
			put(&nodes[i], key, ver(1000 + k, 0, &nodes[k % 3]));
	}
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	ck_assert(loop_until(base, all_had_a_round, NULL, WAIT));
	loop_for(base, 10 * SETTLE_MS);
	ck_assert_uint_eq(fake_kvnet_sent(net, KVMSG_DIGEST), 6);
	ck_assert_uint_eq(fake_kvnet_sent(net, KVMSG_HAVE), 0);
	ck_assert_uint_eq(fake_kvnet_sent(net, KVMSG_WANT), 0);
	ck_assert_uint_eq(fake_kvnet_sent(net, KVMSG_STORE), 0);
}
END_TEST

struct want {
	struct tn		*t;
	const char		*key;
	struct kv_version	 v;
	bool			 tombstone;
};

static bool
holds_all(void *arg)
{
	struct want	*w;

	for (w = arg; w->t != NULL; w++)
		if (!holds(w->t, w->key, w->v, w->tombstone))
			return false;
	return true;
}

START_TEST(test_missing_key_copied)
{
	struct want		w[2];
	struct kvsync_stats	st;

	make_nodes(2, 2);
	put(&nodes[0], "missing", ver(5000, 1, &nodes[0]));
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	memset(w, 0, sizeof(w));
	w[0] = (struct want){ &nodes[1], "missing", ver(5000, 1, &nodes[0]),
	    false };
	ck_assert_msg(loop_until(base, holds_all, w, WAIT),
	    "the key was not copied to the other owner");
	kvsync_stats(nodes[0].sync, &st);
	ck_assert_uint_ge(st.sent, 1);
}
END_TEST

START_TEST(test_newer_version_wins_both_ways)
{
	struct want	w[5];

	make_nodes(2, 2);
	put(&nodes[0], "a", ver(2000, 0, &nodes[0]));
	put(&nodes[1], "a", ver(1000, 0, &nodes[1]));
	put(&nodes[0], "b", ver(1000, 0, &nodes[0]));
	put(&nodes[1], "b", ver(2000, 0, &nodes[1]));
	/* Same clock reading: the writer's ID decides. */
	put(&nodes[0], "c", ver(3000, 0, &nodes[0]));
	put(&nodes[1], "c", ver(3000, 0, &nodes[1]));
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	memset(w, 0, sizeof(w));
	w[0] = (struct want){ &nodes[1], "a", ver(2000, 0, &nodes[0]), false };
	w[1] = (struct want){ &nodes[0], "b", ver(2000, 0, &nodes[1]), false };
	w[2] = (struct want){ &nodes[0], "c", ver(3000, 0, memcmp(
	    nodes[0].node.pk, nodes[1].node.pk, NODE_ID_LEN) > 0 ?
	    &nodes[0] : &nodes[1]), false };
	w[3] = w[2];
	w[3].t = &nodes[1];
	ck_assert_msg(loop_until(base, holds_all, w, WAIT),
	    "the newer versions did not win on both nodes");
	/* And the older ones stayed put. */
	ck_assert(holds(&nodes[0], "a", ver(2000, 0, &nodes[0]), false));
	ck_assert(holds(&nodes[1], "b", ver(2000, 0, &nodes[1]), false));
}
END_TEST

START_TEST(test_tombstone_spreads)
{
	struct want		w[3];
	struct kv_version	v;

	make_nodes(3, 3);
	put(&nodes[0], "gone", ver(1000, 0, &nodes[0]));
	put(&nodes[1], "gone", ver(1000, 0, &nodes[0]));
	v = ver(clock_wall_ms(), 0, &nodes[2]);
	put_item(&nodes[2], "gone", v, true, 0);
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	memset(w, 0, sizeof(w));
	w[0] = (struct want){ &nodes[0], "gone", v, true };
	w[1] = (struct want){ &nodes[1], "gone", v, true };
	ck_assert_msg(loop_until(base, holds_all, w, WAIT),
	    "the tombstone did not reach the other owners");
}
END_TEST

START_TEST(test_digest_between_rounds_answered)
{
	struct kvsync_params	p;
	struct want		w[2];
	int			who = 0;

	make_nodes(2, 2);
	put(&nodes[0], "early", ver(4000, 0, &nodes[0]));
	/* Node 1's sync starts once node 0's round is over. */
	memset(&p, 0, sizeof(p));
	p.self = nodes[0].node.pk;
	p.interval_ms = 8000;
	p.settle_ms = SETTLE_MS;
	p.tombstone_ttl_ms = LONG_MS;
	nodes[0].sync = kvsync_new(base, &p, nodes[0].store, nodes[0].ring,
	    nodes[0].post, (struct kvwatch *)&nodes[0]);
	ck_assert(loop_until(base, one_round, &who, WAIT));
	loop_for(base, 10 * SETTLE_MS);
	p.self = nodes[1].node.pk;
	nodes[1].sync = kvsync_new(base, &p, nodes[1].store, nodes[1].ring,
	    nodes[1].post, (struct kvwatch *)&nodes[1]);
	/*
	 * Its digest finds node 0 between rounds, its last one lately: a
	 * scan answers it, within a quarter of the interval, no round.
	 */
	memset(w, 0, sizeof(w));
	w[0] = (struct want){ &nodes[1], "early", ver(4000, 0, &nodes[0]),
	    false };
	ck_assert_msg(loop_until(base, holds_all, w, 3000),
	    "the digest was not answered between rounds");
	ck_assert_uint_eq(rounds(0), 1);
}
END_TEST

static bool
dropped(void *arg)
{
	struct want	*w = arg;

	return !has_key(w->t, w->key);
}

START_TEST(test_handoff_waits_for_every_owner)
{
	struct kvsync_stats	st;
	struct kv_version	v;
	struct want		w[3], gone;
	char			key[32];

	make_nodes(3, 2);
	key_not_owned_by(0, key, sizeof(key));
	v = ver(7000, 3, &nodes[0]);
	put(&nodes[0], key, v);
	/* One owner cannot be reached: the key must stay. */
	ck_assert(kvring_owns(nodes[0].ring, nodes[1].node.pk, key,
	    strlen(key)));
	ck_assert(kvring_owns(nodes[0].ring, nodes[2].node.pk, key,
	    strlen(key)));
	fake_kvnet_cut(net, nodes[2].node.pk, true);
	start_syncs(100, SETTLE_MS, LONG_MS);
	memset(w, 0, sizeof(w));
	w[0] = (struct want){ &nodes[1], key, v, false };
	ck_assert_msg(loop_until(base, holds_all, w, WAIT),
	    "the owner that can be reached did not get the key");
	loop_for(base, 1000);
	ck_assert_msg(has_key(&nodes[0], key),
	    "dropped while an owner did not have the key");
	kvsync_stats(nodes[0].sync, &st);
	ck_assert_uint_eq(st.handed_off, 0);
	fake_kvnet_cut(net, nodes[2].node.pk, false);
	gone = (struct want){ &nodes[0], key, v, false };
	ck_assert_msg(loop_until(base, dropped, &gone, WAIT),
	    "the key was not dropped once its owners had it");
	ck_assert(holds(&nodes[1], key, v, false));
	ck_assert(holds(&nodes[2], key, v, false));
	kvsync_stats(nodes[0].sync, &st);
	ck_assert_uint_eq(st.handed_off, 1);
}
END_TEST

static bool
three_rounds(void *arg)
{
	return rounds(*(int *)arg) >= 3;
}

START_TEST(test_silent_owner_ends_rounds_at_deadline)
{
	struct kv_version	v;
	char			key[32];
	int			who = 0;

	make_nodes(3, 2);
	key_not_owned_by(0, key, sizeof(key));
	v = ver(7000, 3, &nodes[0]);
	put(&nodes[0], key, v);
	/* Its messages arrive nowhere: no WANT ever acks our HAVE. */
	fake_kvnet_mute(net, nodes[2].node.pk, true);
	start_syncs(100, SETTLE_MS, LONG_MS);
	ck_assert_msg(loop_until(base, three_rounds, &who, WAIT),
	    "rounds stopped at a node that does not answer");
	ck_assert(has_key(&nodes[0], key));
	ck_assert(holds(&nodes[1], key, v, false));
	fake_kvnet_mute(net, nodes[2].node.pk, false);
	ck_assert_msg(loop_until(base, dropped, &(struct want){ &nodes[0], key,
	    v, false }, WAIT), "not handed off once the owner answered");
	ck_assert(holds(&nodes[2], key, v, false));
}
END_TEST

START_TEST(test_expired_items_dropped)
{
	struct kvsync_stats	st;
	struct want		gone[2];
	struct tn		*at = NULL;
	uint64_t		now = clock_wall_ms();
	int			i;

	make_nodes(2, 2);
	for (i = 0; i < nn; i++) {
		put_item(&nodes[i], "old", ver(1000, 0, &nodes[0]), false,
		    now - 1000);
		put_item(&nodes[i], "later", ver(1000, 0, &nodes[0]), false,
		    now + 3600 * 1000);
		put(&nodes[i], "never", ver(1000, 0, &nodes[0]));
	}
	/* Expired on one node only: not copied to the other. */
	put_item(&nodes[0], "lone", ver(1000, 0, &nodes[0]), false,
	    now - 1000);
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	gone[0] = (struct want){ &nodes[0], "old", ver(0, 0, &nodes[0]),
	    false };
	gone[1] = gone[0];
	gone[1].t = &nodes[1];
	ck_assert(loop_until(base, dropped, &gone[0], WAIT));
	ck_assert(loop_until(base, dropped, &gone[1], WAIT));
	ck_assert(loop_until(base, all_had_a_round, NULL, WAIT));
	loop_for(base, 10 * SETTLE_MS);
	for (i = 0; i < nn; i++) {
		ck_assert(has_key(&nodes[i], "later"));
		ck_assert(has_key(&nodes[i], "never"));
		ck_assert(!has_key(&nodes[i], "lone"));
	}
	kvsync_stats(nodes[0].sync, &st);
	ck_assert_uint_eq(st.expired, 2);
	ck_assert_uint_eq(fake_kvnet_sent(net, KVMSG_STORE), 0);
	/* The watches hear of an expiry once, from its coordinator. */
	ck_assert_int_eq(expiries_of("old", &at), 1);
	ck_assert(coordinates(at, "old"));
	ck_assert_int_eq(expiries_of("lone", &at),
	    coordinates(&nodes[0], "lone") ? 1 : 0);
	ck_assert_int_eq(expiries_of("later", &at), 0);
}
END_TEST

START_TEST(test_old_tombstones_dropped)
{
	struct want	gone;
	uint64_t	now = clock_wall_ms();
	int		i;

	make_nodes(2, 2);
	for (i = 0; i < nn; i++) {
		put_item(&nodes[i], "ancient", ver(now - 5000, 0, &nodes[0]),
		    true, 0);
		put_item(&nodes[i], "recent", ver(now, 0, &nodes[0]), true, 0);
	}
	start_syncs(LONG_MS, SETTLE_MS, 2000);
	gone = (struct want){ &nodes[1], "ancient", ver(0, 0, &nodes[0]),
	    false };
	ck_assert(loop_until(base, dropped, &gone, WAIT));
	gone.t = &nodes[0];
	ck_assert(loop_until(base, dropped, &gone, WAIT));
	for (i = 0; i < nn; i++)
		ck_assert(holds(&nodes[i], "recent", ver(now, 0, &nodes[0]),
		    true));
}
END_TEST

struct count {
	struct tn	*t;
	uint64_t	 n;
};

static bool
counts_reached(void *arg)
{
	struct count	*c;

	for (c = arg; c->t != NULL; c++)
		if (kvstore_count(c->t->store) != c->n)
			return false;
	return true;
}

START_TEST(test_full_route_paces_and_loses_nothing)
{
	struct count	c[2];
	char		key[32];
	int		k;

	make_nodes(2, 2);
	for (k = 0; k < 3000; k++) {
		snprintf(key, sizeof(key), "paced/%05d", k);
		put(&nodes[0], key, ver(1000 + k, 0, &nodes[0]));
	}
	fake_kvnet_limit(net, 16 << 10);
	start_syncs(LONG_MS, SETTLE_MS, LONG_MS);
	memset(c, 0, sizeof(c));
	c[0] = (struct count){ &nodes[1], 3000 };
	ck_assert_msg(loop_until(base, counts_reached, c, WAIT),
	    "%llu of 3000 keys arrived",
	    (unsigned long long)kvstore_count(nodes[1].store));
	ck_assert_uint_gt(fake_kvnet_full(net), 0);
}
END_TEST

/* Node i dies, as every other node's table comes to say. */
static void
kill_node(int i)
{
	int	j;

	nodes[i].dead = true;
	fake_kvnet_cut(net, nodes[i].node.pk, true);
	kvsync_free(nodes[i].sync);
	nodes[i].sync = NULL;
	for (j = 0; j < nn; j++) {
		if (j == i)
			continue;
		ck_assert(members_dead(nodes[j].members, nodes[i].node.pk, 1,
		    clock_ms()));
		ck_assert(kvring_update(nodes[j].ring));
		kvsync_changed(nodes[j].sync);
	}
}

START_TEST(test_dead_owner_keys_copied_again)
{
	struct count	c[NODES_MAX + 1];
	uint8_t		owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	char		key[32];
	size_t		n, o;
	int64_t		t0, ms;
	int		k, i, nkeys = 10000;

	make_nodes(5, 3);
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "k/%05d", k);
		n = kvring_owners(nodes[0].ring, key, strlen(key), owners);
		ck_assert_uint_eq(n, 3);
		for (o = 0; o < n; o++)
			for (i = 0; i < nn; i++)
				if (memcmp(owners[o], nodes[i].node.pk,
				    NODE_ID_LEN) == 0)
					put(&nodes[i], key, ver(1000 + k, 0,
					    &nodes[0]));
	}
	/* The defaults: a round every 10 s, 200 ms after a change. */
	start_syncs(10000, 200, 24 * 3600 * 1000);
	ck_assert(loop_until(base, all_had_a_round, NULL, WAIT));
	fake_kvnet_reset_counts(net);
	t0 = clock_ms();
	kill_node(4);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 4; i++)
		c[i].t = &nodes[i];
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "k/%05d", k);
		n = kvring_owners(nodes[0].ring, key, strlen(key), owners);
		ck_assert_uint_eq(n, 3);
		for (o = 0; o < n; o++)
			for (i = 0; i < 4; i++)
				if (memcmp(owners[o], nodes[i].node.pk,
				    NODE_ID_LEN) == 0)
					c[i].n++;
	}
	ck_assert_msg(loop_until(base, counts_reached, c, 5000),
	    "keys not back at 3 copies within 5 s: %llu %llu %llu %llu held, "
	    "%llu %llu %llu %llu owned",
	    (unsigned long long)kvstore_count(nodes[0].store),
	    (unsigned long long)kvstore_count(nodes[1].store),
	    (unsigned long long)kvstore_count(nodes[2].store),
	    (unsigned long long)kvstore_count(nodes[3].store),
	    (unsigned long long)c[0].n, (unsigned long long)c[1].n,
	    (unsigned long long)c[2].n, (unsigned long long)c[3].n);
	ms = clock_ms() - t0;
	printf("kvsync: %d keys back at 3 copies %lld ms after an owner "
	    "died (200 ms of it settling); %zu items sent\n", nkeys,
	    (long long)ms, fake_kvnet_sent(net, KVMSG_STORE));
	/* Every key on each of its owners now. */
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "k/%05d", k);
		n = kvring_owners(nodes[0].ring, key, strlen(key), owners);
		for (o = 0; o < n; o++)
			for (i = 0; i < 4; i++)
				if (memcmp(owners[o], nodes[i].node.pk,
				    NODE_ID_LEN) == 0)
					ck_assert_msg(has_key(&nodes[i], key),
					    "%s missing on node %d", key, i);
	}
}
END_TEST

/* How many of the live nodes' rings say own each key, into c. */
static void
owned_counts(struct count *c, int nkeys, const char *fmt)
{
	uint8_t	owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	char	key[32];
	size_t	n, o;
	int	k, i;

	memset(c, 0, sizeof(*c) * (NODES_MAX + 1));
	for (i = 0, n = 0; i < nn; i++)
		if (!nodes[i].dead)
			c[n++].t = &nodes[i];
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), fmt, k);
		n = kvring_owners(nodes[0].ring, key, strlen(key), owners);
		for (o = 0; o < n; o++)
			for (i = 0; c[i].t != NULL; i++)
				if (memcmp(owners[o], c[i].t->node.pk,
				    NODE_ID_LEN) == 0)
					c[i].n++;
	}
}

START_TEST(test_joining_node_takes_its_keys)
{
	struct count		c[NODES_MAX + 1];
	struct kvsync_params	p;
	struct record		r;
	char			key[32];
	int			k, i, nkeys = 2000;

	make_nodes(4, 2);
	/* Node 3 is not there yet: gone from the others' tables. */
	nodes[3].dead = true;
	for (i = 0; i < 3; i++) {
		ck_assert(members_dead(nodes[i].members, nodes[3].node.pk, 1,
		    clock_ms()));
		ck_assert(kvring_update(nodes[i].ring));
	}
	owned_counts(c, nkeys, "j/%04d");
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "j/%04d", k);
		for (i = 0; i < 3; i++)
			if (kvring_owns(nodes[0].ring, nodes[i].node.pk, key,
			    strlen(key)))
				put(&nodes[i], key, ver(1000 + k, 0,
				    &nodes[0]));
	}
	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.self = nodes[i].node.pk;
		p.interval_ms = 500;
		p.settle_ms = SETTLE_MS;
		p.tombstone_ttl_ms = LONG_MS;
		nodes[i].sync = kvsync_new(base, &p, nodes[i].store,
		    nodes[i].ring, nodes[i].post, NULL);
		ck_assert_ptr_nonnull(nodes[i].sync);
	}
	ck_assert(loop_until(base, all_had_a_round, NULL, WAIT));
	/* It joins: a newer record, alive, in every table. */
	nodes[3].dead = false;
	tnode_record(&nodes[3].node, 2, &r);
	for (i = 0; i < 3; i++) {
		tnode_offer(nodes[i].members, &nodes[3].node, &r);
		ck_assert(kvring_update(nodes[i].ring));
		kvsync_changed(nodes[i].sync);
	}
	p.self = nodes[3].node.pk;
	nodes[3].sync = kvsync_new(base, &p, nodes[3].store, nodes[3].ring,
	    nodes[3].post, NULL);
	ck_assert_ptr_nonnull(nodes[3].sync);
	/* Each key on exactly its two new owners, and nowhere else. */
	owned_counts(c, nkeys, "j/%04d");
	ck_assert_uint_gt(c[3].n, 0);
	ck_assert_msg(loop_until(base, counts_reached, c, WAIT),
	    "keys not on their new owners: %llu %llu %llu %llu held, "
	    "%llu %llu %llu %llu owned",
	    (unsigned long long)kvstore_count(nodes[0].store),
	    (unsigned long long)kvstore_count(nodes[1].store),
	    (unsigned long long)kvstore_count(nodes[2].store),
	    (unsigned long long)kvstore_count(nodes[3].store),
	    (unsigned long long)c[0].n, (unsigned long long)c[1].n,
	    (unsigned long long)c[2].n, (unsigned long long)c[3].n);
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "j/%04d", k);
		for (i = 0; i < 4; i++)
			ck_assert_msg(has_key(&nodes[i], key) ==
			    kvring_owns(nodes[0].ring, nodes[i].node.pk, key,
			    strlen(key)), "%s on node %d", key, i);
	}
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("kvsync");
	TCase	*tc = tcase_create("kvsync");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_identical_stores_trade_only_digests);
	tcase_add_test(tc, test_missing_key_copied);
	tcase_add_test(tc, test_newer_version_wins_both_ways);
	tcase_add_test(tc, test_tombstone_spreads);
	tcase_add_test(tc, test_digest_between_rounds_answered);
	tcase_add_test(tc, test_handoff_waits_for_every_owner);
	tcase_add_test(tc, test_silent_owner_ends_rounds_at_deadline);
	tcase_add_test(tc, test_expired_items_dropped);
	tcase_add_test(tc, test_old_tombstones_dropped);
	tcase_add_test(tc, test_full_route_paces_and_loses_nothing);
	tcase_add_test(tc, test_dead_owner_keys_copied_again);
	tcase_add_test(tc, test_joining_node_takes_its_keys);
	suite_add_tcase(s, tc);
	return s;
}
