/* SPDX-License-Identifier: ISC */
/*
 * test_kvring.c: the store's nodes as the member table gives them:
 * live members of the group, sorted, ourselves included; owners as
 * rendezvous hashing ranks them; the quorate rule with dead members
 * counted until forgotten and members that left not counted.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "kvring.h"
#include "members.h"
#include "record.h"
#include "suites.h"

#define NODES	6

struct node {
	uint8_t	pk[NODE_ID_LEN], sk[64];
};

static struct node	nodes[NODES];	/* 0 is ourselves */

/* n's signed record at incarnation inc, in group if not NULL. */
static void
signed_record(const struct node *n, uint64_t inc, const char *group,
    bool left, struct cbor_buf *b)
{
	struct record	r;

	memset(&r, 0, sizeof(r));
	memcpy(r.id, n->pk, NODE_ID_LEN);
	strcpy(r.name, "node");
	strcpy(r.addrs[0], "127.0.0.1:7654");
	r.naddrs = 1;
	if (group != NULL) {
		strcpy(r.groups[0], group);
		r.ngroups = 1;
	}
	r.left = left;
	r.incarnation = inc;
	r.started_at = 1700000000;
	cbor_buf_reset(b);
	record_sign(&r, n->sk, b);
	ck_assert(!b->failed);
}

static void
offer(struct members *t, int i, uint64_t inc, const char *group, bool left)
{
	struct cbor_buf	 b = { 0 };
	struct member	*m;
	const char	*why;

	signed_record(&nodes[i], inc, group, left, &b);
	ck_assert_int_le(members_offer(t, b.data, b.len, NULL, 0, &m, &why),
	    MEMBERS_UPDATED);
	cbor_buf_free(&b);
}

/* A table of NODES members, ourselves first; groups[i] of each. */
static struct members *
table(const char *const *groups)
{
	struct cbor_buf	 b = { 0 };
	struct members	*t;
	int		 i;

	for (i = 0; i < NODES; i++)
		crypto_sign_keypair(nodes[i].pk, nodes[i].sk);
	signed_record(&nodes[0], 1, groups[0], false, &b);
	ck_assert_ptr_nonnull(t = members_new(b.data, b.len, 0));
	cbor_buf_free(&b);
	for (i = 1; i < NODES; i++)
		offer(t, i, 1, groups[i], false);
	return t;
}

static const char *const no_groups[NODES] = { NULL };

START_TEST(test_kvring_owners)
{
	const uint8_t	(*ids)[NODE_ID_LEN];
	uint8_t		 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	size_t		 o[3], i, j, n, k;
	struct kvring_params p = { nodes[0].pk, "", 3 };
	struct members	*t;
	struct kvring	*r;
	char		 key[32];
	bool		 owner;

	t = table(no_groups);
	p.self = nodes[0].pk;
	ck_assert_ptr_nonnull(r = kvring_new(&p, t));
	ck_assert_uint_eq(kvring_replicas(r), 3);
	n = kvring_nodes(r, &ids);
	ck_assert_uint_eq(n, NODES);
	for (i = 1; i < n; i++)
		ck_assert_int_lt(memcmp(ids[i - 1], ids[i], NODE_ID_LEN), 0);
	for (i = 0; i < NODES; i++)
		ck_assert(kvring_has(r, nodes[i].pk));
	for (k = 0; k < 200; k++) {
		snprintf(key, sizeof(key), "k%zu", k);
		ck_assert_uint_eq(kvring_owners(r, key, strlen(key), owners),
		    3);
		ck_assert_uint_eq(place_owners(key, strlen(key), ids, n, 3, o),
		    3);
		for (i = 0; i < 3; i++)
			ck_assert_mem_eq(owners[i], ids[o[i]], NODE_ID_LEN);
		for (i = 0; i < NODES; i++) {
			owner = false;
			for (j = 0; j < 3; j++)
				owner |= memcmp(owners[j], nodes[i].pk,
				    NODE_ID_LEN) == 0;
			ck_assert(kvring_owns(r, nodes[i].pk, key,
			    strlen(key)) == owner);
		}
	}
	ck_assert_uint_eq(kvring_majority(1), 1);
	ck_assert_uint_eq(kvring_majority(2), 2);
	ck_assert_uint_eq(kvring_majority(3), 2);
	ck_assert_uint_eq(kvring_majority(4), 3);
	ck_assert_uint_eq(kvring_majority(7), 4);
	kvring_free(r);
	members_free(t);
}
END_TEST

START_TEST(test_kvring_group)
{
	static const char *const groups[NODES] = { "kv", "kv", NULL, "other",
	    "kv", NULL };
	uint8_t		 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	const uint8_t	(*ids)[NODE_ID_LEN];
	struct kvring_params p = { NULL, "kv", 5 };
	struct members	*t;
	struct kvring	*r;
	size_t		 i, k, live, known;

	t = table(groups);
	p.self = nodes[0].pk;
	ck_assert_ptr_nonnull(r = kvring_new(&p, t));
	ck_assert_uint_eq(kvring_nodes(r, &ids), 3);
	ck_assert(kvring_has(r, nodes[0].pk));
	ck_assert(kvring_has(r, nodes[1].pk));
	ck_assert(!kvring_has(r, nodes[2].pk));
	ck_assert(!kvring_has(r, nodes[3].pk));
	ck_assert(kvring_has(r, nodes[4].pk));
	/* Owners come from the group only, however many are asked for. */
	k = kvring_owners(r, "key", 3, owners);
	ck_assert_uint_eq(k, 3);
	for (i = 0; i < k; i++)
		ck_assert(kvring_has(r, owners[i]));
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, 3);
	ck_assert_uint_eq(known, 3);
	/* A member dead outside the group counts for nothing. */
	ck_assert(members_dead(t, nodes[3].pk, 1, 10));
	ck_assert(!kvring_update(r));
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(known, 3);
	/* A member that joins the group is a store node from then on. */
	offer(t, 2, 2, "kv", false);
	ck_assert(kvring_update(r));
	ck_assert(kvring_has(r, nodes[2].pk));
	ck_assert_uint_eq(kvring_nodes(r, &ids), 4);
	kvring_free(r);
	members_free(t);

	/* Not in the group ourselves: not a store node. */
	t = table((const char *const[NODES]){ NULL, "kv", "kv" });
	p.self = nodes[0].pk;
	ck_assert_ptr_nonnull(r = kvring_new(&p, t));
	ck_assert_uint_eq(kvring_nodes(r, &ids), 2);
	ck_assert(!kvring_has(r, nodes[0].pk));
	ck_assert(!kvring_owns(r, nodes[0].pk, "key", 3));
	kvring_free(r);
	members_free(t);
}
END_TEST

START_TEST(test_kvring_update_and_quorate)
{
	const uint8_t	(*ids)[NODE_ID_LEN];
	struct kvring_params p = { NULL, "", 3 };
	struct members	*t;
	struct kvring	*r;
	size_t		 live, known;

	t = table(no_groups);
	p.self = nodes[0].pk;
	ck_assert_ptr_nonnull(r = kvring_new(&p, t));
	ck_assert(!kvring_update(r));
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, NODES);
	ck_assert_uint_eq(known, NODES);

	/* Suspects are live still. */
	ck_assert(members_suspect(t, nodes[1].pk, 1, 0, 1000));
	ck_assert(!kvring_update(r));
	ck_assert(kvring_has(r, nodes[1].pk));

	/* Two of six dead: four live, six known. */
	ck_assert(members_dead(t, nodes[1].pk, 1, 10));
	ck_assert(kvring_update(r));
	ck_assert(!kvring_update(r));
	ck_assert(members_dead(t, nodes[2].pk, 1, 10));
	ck_assert(kvring_update(r));
	ck_assert_uint_eq(kvring_nodes(r, &ids), NODES - 2);
	ck_assert(!kvring_has(r, nodes[1].pk));
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, 4);
	ck_assert_uint_eq(known, 6);

	/* Three dead: three of six is not more than half. */
	ck_assert(members_dead(t, nodes[3].pk, 1, 20));
	ck_assert(kvring_update(r));
	ck_assert(!kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, 3);
	ck_assert_uint_eq(known, 6);

	/* One that left on purpose does not count, but is not live: two of five. */
	offer(t, 4, 2, NULL, true);
	ck_assert(kvring_update(r));
	ck_assert(!kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, 2);
	ck_assert_uint_eq(known, 5);

	/*
	 * Dead ones forgotten stop counting, even read before they went:
	 * two live of two known.
	 */
	ck_assert(!kvring_update(r));
	ck_assert_uint_eq(members_expire(t, 100000, 1000), 4);
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(live, 2);
	ck_assert_uint_eq(known, 2);
	ck_assert(!kvring_update(r));
	ck_assert(kvring_quorate(r, &live, &known));
	ck_assert_uint_eq(known, 2);

	/* A dead member back alive is a store node again. */
	offer(t, 1, 3, NULL, false);
	ck_assert(kvring_update(r));
	ck_assert(kvring_has(r, nodes[1].pk));
	ck_assert_uint_eq(kvring_nodes(r, &ids), 3);
	kvring_free(r);
	members_free(t);
}
END_TEST

Suite *
kvring_suite(void)
{
	Suite	*s = suite_create("kvring");
	TCase	*tc = tcase_create("kvring");

	tcase_add_test(tc, test_kvring_owners);
	tcase_add_test(tc, test_kvring_group);
	tcase_add_test(tc, test_kvring_update_and_quorate);
	suite_add_tcase(s, tc);
	return s;
}
