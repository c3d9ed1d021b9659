/* SPDX-License-Identifier: ISC */
/*
 * test_hlc.c: clock readings only grow, through a wall clock that
 * stands still or steps back and a counter that fills; versions order
 * by reading, then by writer.
 */
#include <string.h>

#include <check.h>

#include "hlc.h"
#include "suites.h"

START_TEST(test_hlc_follows_wall)
{
	struct hlc	h = { 0 };
	uint64_t	a, b;

	a = hlc_now(&h, 1000);
	ck_assert_uint_eq(a, UINT64_C(1000) << HLC_COUNTER_BITS);
	ck_assert_uint_eq(hlc_wall_ms(a), 1000);
	b = hlc_now(&h, 1000);
	ck_assert_uint_eq(b, a + 1);
	b = hlc_now(&h, 1005);
	ck_assert_uint_eq(b, UINT64_C(1005) << HLC_COUNTER_BITS);
}
END_TEST

START_TEST(test_hlc_clock_steps_back)
{
	struct hlc	h = { 0 };
	uint64_t	prev, cur;
	int		i;

	prev = hlc_now(&h, 5000000);
	/* An hour back, and the readings still grow, counting. */
	for (i = 0; i < 1000; i++) {
		cur = hlc_now(&h, 5000000 - 3600000 + i);
		ck_assert_uint_gt(cur, prev);
		ck_assert_uint_eq(hlc_wall_ms(cur), 5000000);
		prev = cur;
	}
	/* Once the wall clock passes the last reading, it leads again. */
	cur = hlc_now(&h, 5000001);
	ck_assert_uint_eq(cur, UINT64_C(5000001) << HLC_COUNTER_BITS);
}
END_TEST

START_TEST(test_hlc_counter_carries)
{
	struct hlc	h = { 0 };
	uint64_t	prev, cur;
	unsigned	i;

	prev = hlc_now(&h, 7);
	for (i = 1; i < (1u << HLC_COUNTER_BITS); i++) {
		cur = hlc_now(&h, 7);
		ck_assert_uint_eq(cur, prev + 1);
		prev = cur;
	}
	ck_assert_uint_eq(hlc_wall_ms(prev), 7);
	ck_assert_uint_eq(prev & 0xffff, 0xffff);
	/* The full counter carries into the milliseconds. */
	cur = hlc_now(&h, 7);
	ck_assert_uint_gt(cur, prev);
	ck_assert_uint_eq(hlc_wall_ms(cur), 8);
	ck_assert_uint_eq(cur & 0xffff, 0);
	/* The wall clock at 8 now is behind the reading: counting goes on. */
	ck_assert_uint_eq(hlc_now(&h, 8), cur + 1);
}
END_TEST

START_TEST(test_hlc_seen)
{
	struct hlc	h = { 0 };
	uint64_t	far = (UINT64_C(9000) << HLC_COUNTER_BITS) + 40;

	(void)hlc_now(&h, 1000);
	hlc_seen(&h, far);
	ck_assert_uint_eq(hlc_now(&h, 1001), far + 1);
	/* An older reading seen moves nothing. */
	hlc_seen(&h, 5);
	ck_assert_uint_eq(hlc_now(&h, 1002), far + 2);
}
END_TEST

START_TEST(test_version_cmp)
{
	struct kv_version	a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.hlc = b.hlc = 100;
	ck_assert_int_eq(kv_version_cmp(&a, &b), 0);
	b.node[31] = 1;
	ck_assert_int_lt(kv_version_cmp(&a, &b), 0);
	ck_assert_int_gt(kv_version_cmp(&b, &a), 0);
	/* The reading decides before the writer. */
	a.hlc = 101;
	a.node[0] = 0;
	ck_assert_int_gt(kv_version_cmp(&a, &b), 0);
	b.node[0] = 0xff;
	ck_assert_int_gt(kv_version_cmp(&a, &b), 0);
	a.hlc = 99;
	ck_assert_int_lt(kv_version_cmp(&a, &b), 0);
	/* Large readings compare as unsigned. */
	a.hlc = UINT64_MAX;
	b.hlc = 1;
	ck_assert_int_gt(kv_version_cmp(&a, &b), 0);
}
END_TEST

Suite *
hlc_suite(void)
{
	Suite	*s = suite_create("hlc");
	TCase	*tc = tcase_create("hlc");

	tcase_add_test(tc, test_hlc_follows_wall);
	tcase_add_test(tc, test_hlc_clock_steps_back);
	tcase_add_test(tc, test_hlc_counter_carries);
	tcase_add_test(tc, test_hlc_seen);
	tcase_add_test(tc, test_version_cmp);
	suite_add_tcase(s, tc);
	return s;
}
