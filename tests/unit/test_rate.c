/* SPDX-License-Identifier: ISC */
/*
 * test_rate.c: token buckets over simulated time: full at first, the
 * refill exact to the token over hours of uneven steps, the burst cap,
 * takes of many tokens, refusals that take nothing, a clock that steps
 * back, idles as long as 64 bits of milliseconds allow, a rate of 0,
 * debts; and the table of buckets by key.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "rate.h"
#include "suites.h"

/* Takes one token at a time while it can; how many it took. */
static uint64_t
drain(struct bucket *b, uint64_t rate, uint64_t burst, int64_t now)
{
	uint64_t	n = 0;

	while (bucket_take(b, rate, burst, now, 1))
		n++;
	return n;
}

START_TEST(test_starts_full)
{
	struct bucket	b = { 0 };

	ck_assert_uint_eq(drain(&b, 2 * RATE_PER_S, 20, 123456), 20);
	ck_assert(!bucket_ready(&b, 2 * RATE_PER_S, 20, 123456, 1));
	/* Full whatever the clock reads at first use. */
	memset(&b, 0, sizeof(b));
	ck_assert_uint_eq(drain(&b, 2 * RATE_PER_S, 20, -5000), 20);
}
END_TEST

/*
 * Drained at 0, then stepped through [0, end] by steps of step_ms (or
 * uneven ones if step_ms is 0), taking n whenever it can: the tokens
 * minted are rate * end / 1000 to the millionth, so the takes are
 * exactly floor(rate * end / 1000 / n) however the time was cut.
 */
static void
check_refill(uint64_t rate, uint64_t burst, uint64_t n, int64_t end,
    int64_t step_ms)
{
	struct bucket	b = { 0 };
	uint64_t	taken = 0, want;
	uint32_t	x = 12345;
	int64_t		t = 0;

	drain(&b, rate, burst, 0);
	while (t < end) {
		if (step_ms != 0)
			t += step_ms;
		else {
			x = x * 1103515245 + 12345;
			t += 1 + (x >> 16) % 997;
		}
		if (t > end)
			t = end;
		while (bucket_take(&b, rate, burst, t, n))
			taken++;
	}
	want = (uint64_t)end * rate / (1000 * RATE_PER_S) / n;
	ck_assert_msg(taken == want, "rate %llu, n %llu, %lld ms: took %llu "
	    "times, want %llu", (unsigned long long)rate,
	    (unsigned long long)n, (long long)end,
	    (unsigned long long)taken, (unsigned long long)want);
}

START_TEST(test_refill_exact)
{
	check_refill(2 * RATE_PER_S, 20, 1, 10 * 1000, 1);
	/* 0.3/s in 7 ms steps for 10000 s: 3000, none lost to rounding. */
	check_refill(300, 5, 1, 10000004, 7);
	/* Uneven steps for an hour, a rate that is no whole ms. */
	check_refill(333, 20, 1, 3600 * 1000, 0);
	check_refill(20 * RATE_PER_S, 40, 1, 3600 * 1000, 0);
	/* Bytes: 64 KiB/s taken 1000 at a time, 65.536 a ms. */
	check_refill(65536ull * RATE_PER_S, 1 << 20, 1000, 10 * 1000, 1);
	check_refill(65536ull * RATE_PER_S, 1 << 20, 1500, 600 * 1000, 0);
}
END_TEST

START_TEST(test_refill_timing)
{
	struct bucket	b = { 0 };

	/* 4/s: the next token 250 ms after the last, not a ms sooner. */
	drain(&b, 4 * RATE_PER_S, 2, 1000);
	ck_assert(!bucket_take(&b, 4 * RATE_PER_S, 2, 1249, 1));
	ck_assert(bucket_take(&b, 4 * RATE_PER_S, 2, 1250, 1));
	ck_assert(!bucket_take(&b, 4 * RATE_PER_S, 2, 1250, 1));
	/* A slow rate builds up over calls that each mint less than 1. */
	memset(&b, 0, sizeof(b));
	drain(&b, 10, 1, 0);
	ck_assert(!bucket_take(&b, 10, 1, 99999, 1));
	ck_assert(bucket_take(&b, 10, 1, 100000, 1));	/* 0.01/s */
}
END_TEST

START_TEST(test_burst_cap)
{
	struct bucket	b = { 0 };

	ck_assert_uint_eq(drain(&b, 5 * RATE_PER_S, 20, 0), 20);
	/* An hour idle at 5/s: still only 20. */
	ck_assert_uint_eq(drain(&b, 5 * RATE_PER_S, 20, 3600 * 1000), 20);
	/* Half refilled, then full, never above. */
	ck_assert_uint_eq(drain(&b, 5 * RATE_PER_S, 20, 3602 * 1000), 10);
	ck_assert_uint_eq(drain(&b, 5 * RATE_PER_S, 20, 3610 * 1000), 20);
}
END_TEST

START_TEST(test_take_many)
{
	struct bucket	b = { 0 };

	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 4));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 4));
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 0, 4));	/* 2 left */
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 2));
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 0, 1));
	/* 3 s: 3 tokens, so 3 at once but not 4. */
	ck_assert(!bucket_ready(&b, RATE_PER_S, 10, 3000, 4));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 3000, 3));
	/* More than a burst never passes, even full. */
	memset(&b, 0, sizeof(b));
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 0, 11));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 10));
	/* Nothing is always there. */
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 0));
}
END_TEST

START_TEST(test_refusal_takes_nothing)
{
	struct bucket	b = { 0 };
	int		i;

	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 7));
	for (i = 0; i < 100; i++)
		ck_assert(!bucket_take(&b, RATE_PER_S, 10, 0, 5));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 3));
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 0, 1));
	/* Asking whether takes nothing either. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 100; i++)
		ck_assert(bucket_ready(&b, RATE_PER_S, 10, 0, 10));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 0, 10));
	ck_assert(!bucket_ready(&b, RATE_PER_S, 10, 0, 1));
}
END_TEST

START_TEST(test_clock_back)
{
	struct bucket	b = { 0 };
	int		i;

	drain(&b, 4 * RATE_PER_S, 10, 3600 * 1000);
	/* An hour back: nothing minted by the jump. */
	ck_assert(!bucket_take(&b, 4 * RATE_PER_S, 10, 0, 1));
	/* The refill counts from the new now: 250 ms for one token. */
	ck_assert(!bucket_take(&b, 4 * RATE_PER_S, 10, 249, 1));
	ck_assert(bucket_take(&b, 4 * RATE_PER_S, 10, 250, 1));
	ck_assert(!bucket_take(&b, 4 * RATE_PER_S, 10, 250, 1));
	/* A clock that keeps stepping back mints nothing at all. */
	drain(&b, RATE_PER_S, 10, 0);
	for (i = 1; i <= 1000; i++)
		ck_assert(!bucket_take(&b, RATE_PER_S, 10, -i * 1000, 1));
	/* Nor does standing still. */
	for (i = 0; i < 1000; i++)
		ck_assert(!bucket_take(&b, RATE_PER_S, 10, -1000 * 1000, 1));
}
END_TEST

START_TEST(test_long_idle)
{
	struct bucket	b = { 0 };

	/* The whole range of a 64-bit clock, at the largest values. */
	ck_assert(bucket_take(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX,
	    INT64_MIN + 1, BUCKET_BURST_MAX));
	ck_assert(!bucket_ready(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX,
	    INT64_MIN + 1, 1));
	ck_assert(bucket_take(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX,
	    INT64_MAX, BUCKET_BURST_MAX));
	ck_assert(!bucket_ready(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX,
	    INT64_MAX, 1));
	/* A refill of exactly 2^64 millionths is full, not 0. */
	memset(&b, 0, sizeof(b));
	ck_assert(bucket_take(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX, 0,
	    BUCKET_BURST_MAX));
	ck_assert(bucket_take(&b, BUCKET_RATE_MAX, BUCKET_BURST_MAX,
	    (int64_t)1 << 22, BUCKET_BURST_MAX));
	/* Past the maxima: taken as them. */
	memset(&b, 0, sizeof(b));
	ck_assert(bucket_take(&b, UINT64_MAX, UINT64_MAX, 0,
	    BUCKET_BURST_MAX));
	ck_assert(!bucket_take(&b, UINT64_MAX, UINT64_MAX, 0, 1));
	ck_assert(!bucket_take(&b, UINT64_MAX, UINT64_MAX, 0, UINT64_MAX));
	bucket_charge(&b, UINT64_MAX, UINT64_MAX, 0, UINT64_MAX);
	ck_assert(bucket_take(&b, UINT64_MAX, UINT64_MAX, INT64_MAX,
	    BUCKET_BURST_MAX));
	/* A slow rate over a long idle: full, not wrapped around. */
	memset(&b, 0, sizeof(b));
	drain(&b, 1, 1000, 0);
	ck_assert_uint_eq(drain(&b, 1, 1000, INT64_MAX), 1000);
}
END_TEST

START_TEST(test_zero_rate)
{
	struct bucket	b = { 0 };

	ck_assert_uint_eq(drain(&b, 0, 3, 0), 3);
	ck_assert(!bucket_take(&b, 0, 3, 1000, 1));
	ck_assert(!bucket_take(&b, 0, 3, INT64_MAX, 1));
	/* No burst: nothing ever passes but nothing. */
	memset(&b, 0, sizeof(b));
	ck_assert(!bucket_take(&b, RATE_PER_S, 0, 0, 1));
	ck_assert(!bucket_take(&b, RATE_PER_S, 0, INT64_MAX, 1));
	ck_assert(bucket_take(&b, RATE_PER_S, 0, INT64_MAX, 0));
}
END_TEST

START_TEST(test_charge)
{
	struct bucket	b = { 0 };

	/* 15 out of 10 at 1/s: owes 5, so the next take 6 s on. */
	bucket_charge(&b, RATE_PER_S, 10, 0, 15);
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 5999, 1));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 6000, 1));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 6000, 0));
	/* A debt stops at one burst: 10 s back to empty, whatever owed. */
	memset(&b, 0, sizeof(b));
	bucket_charge(&b, RATE_PER_S, 10, 0, 1000);
	bucket_charge(&b, RATE_PER_S, 10, 0, 1000);
	ck_assert(!bucket_take(&b, RATE_PER_S, 10, 10999, 1));
	ck_assert(bucket_take(&b, RATE_PER_S, 10, 11000, 1));
	/* Charged while there is enough: a plain take. */
	memset(&b, 0, sizeof(b));
	bucket_charge(&b, RATE_PER_S, 10, 0, 4);
	ck_assert_uint_eq(drain(&b, RATE_PER_S, 10, 0), 6);
}
END_TEST

static void
key_of(unsigned n, uint8_t key[RATEMAP_KEY_LEN])
{
	memset(key, 0, RATEMAP_KEY_LEN);
	memcpy(key, &n, sizeof(n));
}

START_TEST(test_ratemap)
{
	struct ratemap	*t = ratemap_new(16);
	struct bucket	*b;
	uint8_t		 key[RATEMAP_KEY_LEN], hot[RATEMAP_KEY_LEN];
	unsigned	 i;

	ck_assert_ptr_nonnull(t);
	key_of(1000, hot);
	b = ratemap_get(t, hot);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(drain(b, RATE_PER_S, 5, 0), 5);	/* new: full */
	ck_assert_ptr_eq(ratemap_get(t, hot), b);
	ck_assert(!bucket_ready(ratemap_get(t, hot), RATE_PER_S, 5, 0, 1));
	ratemap_forget(t, hot);
	ck_assert_uint_eq(ratemap_count(t), 0);
	/* Forgotten: back full. */
	b = ratemap_get(t, hot);
	ck_assert_uint_eq(drain(b, RATE_PER_S, 5, 1000000), 5);

	/*
	 * Past the bound, buckets used long ago go and the one used last
	 * stays (it would go only if all 8 picks fell on it: 16^-8 each).
	 */
	for (i = 0; i < 500; i++) {
		key_of(i, key);
		b = ratemap_get(t, key);
		ck_assert_ptr_nonnull(b);
		ck_assert(bucket_take(b, RATE_PER_S, 5, i, 1));
		ck_assert_uint_le(ratemap_count(t), 16);
	}
	ck_assert_uint_eq(ratemap_count(t), 16);
	b = ratemap_get(t, hot);
	ck_assert(!bucket_ready(b, RATE_PER_S, 5, 1000000, 1));
	ratemap_free(t);
	ratemap_free(NULL);
}
END_TEST

START_TEST(test_ratemap_key)
{
	uint8_t	a[RATEMAP_KEY_LEN], b[RATEMAP_KEY_LEN];

	ratemap_key(a, "10.0.0.1:80", 11);
	ratemap_key(b, "10.0.0.1:80", 11);
	ck_assert_mem_eq(a, b, RATEMAP_KEY_LEN);
	ratemap_key(b, "10.0.0.1:8", 10);
	ck_assert(memcmp(a, b, RATEMAP_KEY_LEN) != 0);
}
END_TEST

Suite *
rate_suite(void)
{
	Suite	*s = suite_create("rate");
	TCase	*tc = tcase_create("rate");

	tcase_add_test(tc, test_starts_full);
	tcase_add_test(tc, test_refill_exact);
	tcase_add_test(tc, test_refill_timing);
	tcase_add_test(tc, test_burst_cap);
	tcase_add_test(tc, test_take_many);
	tcase_add_test(tc, test_refusal_takes_nothing);
	tcase_add_test(tc, test_clock_back);
	tcase_add_test(tc, test_long_idle);
	tcase_add_test(tc, test_zero_rate);
	tcase_add_test(tc, test_charge);
	tcase_add_test(tc, test_ratemap);
	tcase_add_test(tc, test_ratemap_key);
	suite_add_tcase(s, tc);
	return s;
}
