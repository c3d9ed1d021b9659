/* SPDX-License-Identifier: ISC */
/*
 * test_reqnum.c: request numbers are SipHash-2-4 of a counter under the
 * key, never 0, all distinct, not consecutive, different per key, and
 * skip a number still in use.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "reqnum.h"
#include "suites.h"

#define NUMS	1000

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_reqnum_is_siphash_of_counter)
{
	struct reqnum	rn;
	uint8_t		out[crypto_shorthash_BYTES];
	uint64_t	ctr, want;
	size_t		i;

	for (i = 0; i < sizeof(rn.key); i++)
		rn.key[i] = (uint8_t)i;
	rn.next = ctr = 41;
	crypto_shorthash(out, (const uint8_t *)&ctr, sizeof(ctr), rn.key);
	memcpy(&want, out, sizeof(want));
	ck_assert_uint_eq(reqnum_next(&rn, NULL, NULL), want);
	ck_assert_uint_eq(rn.next, 42);
}
END_TEST

START_TEST(test_reqnum_unpredictable)
{
	struct reqnum	rn;
	uint64_t	*n;
	size_t		i, near = 0;

	ck_assert_int_ge(sodium_init(), 0);
	reqnum_init(&rn);
	n = calloc(NUMS, sizeof(*n));
	ck_assert_ptr_nonnull(n);
	for (i = 0; i < NUMS; i++) {
		n[i] = reqnum_next(&rn, NULL, NULL);
		ck_assert_uint_ne(n[i], 0);
		/*
		 * A counter, even one started at random, gives numbers one
		 * apart; random ones are within 2^16 of the last with
		 * chance 2^-47.
		 */
		if (i > 0 && (n[i] - n[i - 1] < 65536 ||
		    n[i - 1] - n[i] < 65536))
			near++;
	}
	ck_assert_uint_eq(near, 0);
	qsort(n, NUMS, sizeof(*n), cmp_u64);
	for (i = 1; i < NUMS; i++)
		ck_assert_uint_ne(n[i], n[i - 1]);
	free(n);
}
END_TEST

START_TEST(test_reqnum_per_key)
{
	struct reqnum	a, b;

	ck_assert_int_ge(sodium_init(), 0);
	reqnum_init(&a);
	b = a;
	/* The same counter under a new key: another number. */
	randombytes_buf(b.key, sizeof(b.key));
	ck_assert_uint_ne(reqnum_next(&a, NULL, NULL),
	    reqnum_next(&b, NULL, NULL));
	/* Two starts: other numbers (answers to the first match none). */
	reqnum_init(&b);
	ck_assert_uint_ne(reqnum_next(&a, NULL, NULL),
	    reqnum_next(&b, NULL, NULL));
}
END_TEST

static bool
taken(void *arg, uint64_t n)
{
	return n == *(uint64_t *)arg;
}

START_TEST(test_reqnum_skips_in_use)
{
	struct reqnum	rn, copy;
	uint64_t	first, second, got;

	ck_assert_int_ge(sodium_init(), 0);
	reqnum_init(&rn);
	copy = rn;
	first = reqnum_next(&copy, NULL, NULL);
	second = reqnum_next(&copy, NULL, NULL);
	/* The first is still open: the next counter's number instead. */
	got = reqnum_next(&rn, taken, &first);
	ck_assert_uint_eq(got, second);
	ck_assert_uint_eq(rn.next, copy.next);
}
END_TEST

Suite *
reqnum_suite(void)
{
	Suite	*s = suite_create("reqnum");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_reqnum_is_siphash_of_counter);
	tcase_add_test(tc, test_reqnum_unpredictable);
	tcase_add_test(tc, test_reqnum_per_key);
	tcase_add_test(tc, test_reqnum_skips_in_use);
	suite_add_tcase(s, tc);
	return s;
}
