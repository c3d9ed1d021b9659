/* SPDX-License-Identifier: ISC */
/*
 * test_frame.c: the control frame length prefix.
 */
#include <check.h>

#include "frame.h"
#include "suites.h"

START_TEST(test_put_and_check)
{
	uint8_t		buf[FRAME_HDR + 300] = { 0 };
	uint32_t	len = 0;

	frame_put_len(buf, 300);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[2], 1);
	ck_assert_int_eq(buf[3], 44);
	ck_assert_int_eq(frame_check(buf, sizeof(buf), 1000, &len), FRAME_OK);
	ck_assert_uint_eq(len, 300);
}
END_TEST

START_TEST(test_short_header)
{
	uint8_t		buf[3] = { 0, 0, 1 };
	uint32_t	len = 0;
	size_t		i;

	for (i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(frame_check(buf, i, 100, &len),
		    FRAME_NEED_MORE);
}
END_TEST

START_TEST(test_truncated_payload)
{
	uint8_t		buf[FRAME_HDR + 10] = { 0 };
	uint32_t	len = 0;

	frame_put_len(buf, 11);
	ck_assert_int_eq(frame_check(buf, sizeof(buf), 100, &len),
	    FRAME_NEED_MORE);
	ck_assert_uint_eq(len, 11);
}
END_TEST

START_TEST(test_oversized_refused_from_header)
{
	uint8_t		buf[FRAME_HDR];
	uint32_t	len = 0;

	/* Refused as soon as the 4 header bytes are in. */
	frame_put_len(buf, 101);
	ck_assert_int_eq(frame_check(buf, sizeof(buf), 100, &len),
	    FRAME_TOO_BIG);
	frame_put_len(buf, UINT32_MAX);
	ck_assert_int_eq(frame_check(buf, sizeof(buf), 100, &len),
	    FRAME_TOO_BIG);
	ck_assert_uint_eq(len, UINT32_MAX);
	frame_put_len(buf, 100);
	ck_assert_int_eq(frame_check(buf, sizeof(buf), 100, &len),
	    FRAME_NEED_MORE);
}
END_TEST

START_TEST(test_empty)
{
	uint8_t		buf[FRAME_HDR] = { 0, 0, 0, 0 };
	uint32_t	len = 1;

	ck_assert_int_eq(frame_check(buf, sizeof(buf), 100, &len), FRAME_EMPTY);
	ck_assert_uint_eq(len, 0);
}
END_TEST

Suite *
frame_suite(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("frame");

	tcase_add_test(tc, test_put_and_check);
	tcase_add_test(tc, test_short_header);
	tcase_add_test(tc, test_truncated_payload);
	tcase_add_test(tc, test_oversized_refused_from_header);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}
