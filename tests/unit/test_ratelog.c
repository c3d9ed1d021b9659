/* SPDX-License-Identifier: ISC */
/*
 * test_ratelog.c: one line an interval, and the count of those held
 * back in between given with the next.
 */
#include <check.h>

#include "ratelog.h"
#include "suites.h"

START_TEST(test_one_line_an_interval)
{
	struct ratelog	r = { 0 };
	unsigned	skipped = 99;
	int		i;

	ck_assert(ratelog_ok(&r, 60000, &skipped));
	ck_assert_uint_eq(skipped, 0);
	for (i = 0; i < 5; i++)
		ck_assert(!ratelog_ok(&r, 60000, &skipped));
	/* Once the interval has passed, the next says how many were held. */
	r.last_ms -= 60000;
	ck_assert(ratelog_ok(&r, 60000, &skipped));
	ck_assert_uint_eq(skipped, 5);
	ck_assert(!ratelog_ok(&r, 60000, &skipped));
}
END_TEST

Suite *
ratelog_suite(void)
{
	Suite	*s = suite_create("ratelog");
	TCase	*tc = tcase_create("ratelog");

	tcase_add_test(tc, test_one_line_an_interval);
	suite_add_tcase(s, tc);
	return s;
}
