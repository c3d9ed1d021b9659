/* SPDX-License-Identifier: ISC */
/*
 * test_place.c: rendezvous owners are the same for any order of the
 * nodes, distinct, spread evenly, and a node joining takes keys only
 * for itself: no other key moves.
 */
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "place.h"
#include "suites.h"

#define NODES	11
#define KEYS	10000

static uint8_t	ids[NODES][NODE_ID_LEN];

static void
make_ids(void)
{
	size_t	i;

	for (i = 0; i < NODES; i++)
		randombytes_buf(ids[i], NODE_ID_LEN);
}

static size_t
key_of(char *buf, size_t cap, unsigned i)
{
	return (size_t)snprintf(buf, cap, "user/%u/profile", i);
}

START_TEST(test_place_deterministic)
{
	uint8_t	rev[NODES][NODE_ID_LEN];
	size_t	a[PLACE_REPLICAS_MAX], b[PLACE_REPLICAS_MAX], i, n, m;
	char	key[64];
	size_t	klen;
	unsigned k;

	make_ids();
	for (i = 0; i < NODES; i++)
		memcpy(rev[i], ids[NODES - 1 - i], NODE_ID_LEN);
	for (k = 0; k < 500; k++) {
		klen = key_of(key, sizeof(key), k);
		n = place_owners(key, klen, (const uint8_t (*)[32])ids, NODES,
		    3, a);
		m = place_owners(key, klen, (const uint8_t (*)[32])rev, NODES,
		    3, b);
		ck_assert_uint_eq(n, 3);
		ck_assert_uint_eq(m, 3);
		for (i = 0; i < n; i++)
			ck_assert_mem_eq(ids[a[i]], rev[b[i]], NODE_ID_LEN);
		/* Best first. */
		ck_assert_uint_ge(place_score(key, klen, ids[a[0]]),
		    place_score(key, klen, ids[a[1]]));
		ck_assert_uint_ge(place_score(key, klen, ids[a[1]]),
		    place_score(key, klen, ids[a[2]]));
	}
	/*
	 * Every node, whatever its byte order, must rank alike: BLAKE2b-128
	 * of "a" keyed with 32 zero bytes, its first 8 bytes little-endian
	 * (Python: hashlib.blake2b(b"a", digest_size=16, key=bytes(32))).
	 */
	memset(rev[0], 0, NODE_ID_LEN);
	ck_assert_uint_eq(place_score("a", 1, rev[0]),
	    UINT64_C(14117138870256912044));
	ck_assert_uint_ne(place_score("b", 1, rev[0]),
	    UINT64_C(14117138870256912044));
	ck_assert_uint_eq(place_bucket("a", 1, 64), 39);
}
END_TEST

START_TEST(test_place_distinct_and_few)
{
	size_t	o[PLACE_REPLICAS_MAX], i, j, n;

	make_ids();
	n = place_owners("k", 1, (const uint8_t (*)[32])ids, NODES,
	    PLACE_REPLICAS_MAX, o);
	ck_assert_uint_eq(n, PLACE_REPLICAS_MAX);
	for (i = 0; i < n; i++) {
		ck_assert_uint_lt(o[i], NODES);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(o[i], o[j]);
	}
	/* Fewer nodes than replicas: each once. */
	ck_assert_uint_eq(place_owners("k", 1, (const uint8_t (*)[32])ids, 2,
	    3, o), 2);
	ck_assert_uint_ne(o[0], o[1]);
	ck_assert_uint_eq(place_owners("k", 1, (const uint8_t (*)[32])ids, 0,
	    3, o), 0);
	/* More than the most replicas asked: the most. */
	ck_assert_uint_eq(place_owners("k", 1, (const uint8_t (*)[32])ids,
	    NODES, 100, o), PLACE_REPLICAS_MAX);
}
END_TEST

START_TEST(test_place_ties_by_id)
{
	uint8_t	same[2][NODE_ID_LEN];
	size_t	o[2];

	/* The same node twice scores the same: the lower index ties first. */
	memset(same, 0x42, sizeof(same));
	ck_assert_uint_eq(place_owners("k", 1, (const uint8_t (*)[32])same, 2,
	    2, o), 2);
	ck_assert_uint_eq(o[0], 0);
	ck_assert_uint_eq(o[1], 1);
}
END_TEST

START_TEST(test_place_balance)
{
	unsigned	load[NODES] = { 0 }, first[NODES] = { 0 }, k;
	size_t		o[3], i, n;
	char		key[64];

	make_ids();
	for (k = 0; k < KEYS; k++) {
		n = place_owners(key, key_of(key, sizeof(key), k),
		    (const uint8_t (*)[32])ids, 10, 3, o);
		ck_assert_uint_eq(n, 3);
		for (i = 0; i < n; i++)
			load[o[i]]++;
		first[o[0]]++;
	}
	/* Each node holds about 3/10 of the keys and leads 1/10. */
	for (i = 0; i < 10; i++) {
		ck_assert_uint_gt(load[i], KEYS * 3 / 10 * 8 / 10);
		ck_assert_uint_lt(load[i], KEYS * 3 / 10 * 12 / 10);
		ck_assert_uint_gt(first[i], KEYS / 10 * 7 / 10);
		ck_assert_uint_lt(first[i], KEYS / 10 * 13 / 10);
	}
}
END_TEST

START_TEST(test_place_join_moves_only_its_keys)
{
	size_t		a[3], b[3], i, j;
	unsigned	k, taken = 0;
	char		key[64];
	size_t		klen;
	bool		same;

	make_ids();
	for (k = 0; k < KEYS; k++) {
		klen = key_of(key, sizeof(key), k);
		(void)place_owners(key, klen, (const uint8_t (*)[32])ids, 10,
		    3, a);
		/* The eleventh node joins. */
		(void)place_owners(key, klen, (const uint8_t (*)[32])ids, 11,
		    3, b);
		same = memcmp(a, b, sizeof(a)) == 0;
		if (same)
			continue;
		/* It took a place; the others keep their order around it. */
		taken++;
		for (i = 0, j = 0; i < 3; i++) {
			if (b[i] == 10)
				continue;
			ck_assert_uint_eq(b[i], a[j]);
			j++;
		}
		ck_assert_uint_eq(j, 2);
	}
	/* It takes about 3 keys in 11. */
	ck_assert_uint_gt(taken, KEYS * 3 / 11 * 8 / 10);
	ck_assert_uint_lt(taken, KEYS * 3 / 11 * 12 / 10);
}
END_TEST

START_TEST(test_place_bucket)
{
	unsigned	count[64] = { 0 }, k;
	uint32_t	b;
	char		key[64];
	size_t		klen, i;

	for (k = 0; k < KEYS; k++) {
		klen = key_of(key, sizeof(key), k);
		b = place_bucket(key, klen, 64);
		ck_assert_uint_lt(b, 64);
		ck_assert_uint_eq(b, place_bucket(key, klen, 64));
		count[b]++;
	}
	for (i = 0; i < 64; i++)
		ck_assert_uint_gt(count[i], KEYS / 64 / 2);
	ck_assert_uint_eq(place_bucket("x", 1, 1), 0);
	ck_assert_uint_eq(place_bucket("x", 1, 0), 0);
}
END_TEST

Suite *
place_suite(void)
{
	Suite	*s = suite_create("place");
	TCase	*tc = tcase_create("place");

	tcase_add_test(tc, test_place_deterministic);
	tcase_add_test(tc, test_place_distinct_and_few);
	tcase_add_test(tc, test_place_ties_by_id);
	tcase_add_test(tc, test_place_balance);
	tcase_add_test(tc, test_place_join_moves_only_its_keys);
	tcase_add_test(tc, test_place_bucket);
	suite_add_tcase(s, tc);
	return s;
}
