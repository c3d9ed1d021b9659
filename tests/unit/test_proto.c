/* SPDX-License-Identifier: ISC */
/*
 * test_proto.c: the control protocol codec: requests, replies, errors.
 */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "frame.h"
#include "proto.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })

static int
decode(const uint8_t *buf, size_t len, struct ctl_msg *m, char *why)
{
	return ctl_msg_decode(buf, len, m, why, 160);
}

START_TEST(test_request_round_trip)
{
	struct cbor_buf		 b = { 0 };
	struct ctl_msg		 m;
	const struct cbor_field	*f;
	uint64_t		 u;
	size_t			 start;
	uint32_t		 len;
	char			 why[160];

	start = ctl_frame_begin(&b);
	ctl_put_request(&b, "status", 42, 1);
	cbor_put_text(&b, "extra");
	cbor_put_uint(&b, 9);
	ck_assert_int_eq(ctl_frame_end(&b, start, 1 << 20), 0);
	ck_assert_int_eq(frame_check(b.data, b.len, 1 << 20, &len), FRAME_OK);
	ck_assert_uint_eq(len, b.len - FRAME_HDR);
	ck_assert_int_eq(decode(b.data + FRAME_HDR, len, &m, why), 0);
	ck_assert_str_eq(m.op, "status");
	ck_assert(m.has_id);
	ck_assert_uint_eq(m.id, 42);
	ck_assert_ptr_nonnull(f = ctl_msg_get(&m, "extra"));
	ck_assert(cbor_read_uint(f->val, f->vallen, &u));
	ck_assert_uint_eq(u, 9);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_unknown_keys_ignored)
{
	struct ctl_msg	m;
	char		why[160];

	/* {"id": 1, "op": "hello", "future": {"a": [1]}} */
	ck_assert_int_eq(decode(B(0xa3, 0x62, 'i', 'd', 0x01, 0x62, 'o', 'p',
	    0x65, 'h', 'e', 'l', 'l', 'o', 0x66, 'f', 'u', 't', 'u', 'r', 'e',
	    0xa1, 0x61, 'a', 0x81, 0x01), 26, &m, why), 0);
	ck_assert_str_eq(m.op, "hello");
	ck_assert_int_eq(m.nf, 3);
}
END_TEST

START_TEST(test_wrong_types)
{
	struct ctl_msg	m;
	char		why[160];

	/* id as text */
	ck_assert_int_eq(decode(B(0xa1, 0x62, 'i', 'd', 0x61, '1'), 6, &m,
	    why), -1);
	ck_assert(strstr(why, "id") != NULL);
	/* id negative */
	ck_assert_int_eq(decode(B(0xa1, 0x62, 'i', 'd', 0x20), 5, &m, why), -1);
	/* op as integer */
	ck_assert_int_eq(decode(B(0xa1, 0x62, 'o', 'p', 0x01), 5, &m, why), -1);
	ck_assert(strstr(why, "op") != NULL);
	/* op with a bad character, and an empty op */
	ck_assert_int_eq(decode(B(0xa1, 0x62, 'o', 'p', 0x62, 'a', '\n'), 7,
	    &m, why), -1);
	ck_assert_int_eq(decode(B(0xa1, 0x62, 'o', 'p', 0x60), 5, &m, why), -1);
	/* not a map at all */
	ck_assert_int_eq(decode(B(0x83, 0x01, 0x02, 0x03), 4, &m, why), -1);
	ck_assert_int_eq(decode(B(0x01), 1, &m, why), -1);
}
END_TEST

START_TEST(test_op_too_long)
{
	struct cbor_buf	b = { 0 };
	struct ctl_msg	m;
	char		op[CTL_OP_MAX + 2], why[160];

	memset(op, 'a', sizeof(op) - 1);
	op[sizeof(op) - 1] = '\0';
	ctl_put_request(&b, op, 1, 0);
	ck_assert_int_eq(decode(b.data, b.len, &m, why), -1);
	cbor_buf_reset(&b);
	op[CTL_OP_MAX] = '\0';
	ctl_put_request(&b, op, 1, 0);
	ck_assert_int_eq(decode(b.data, b.len, &m, why), 0);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_too_many_keys)
{
	struct cbor_buf	b = { 0 };
	struct ctl_msg	m;
	char		key[16], why[160];
	int		i;

	cbor_put_map(&b, CTL_FIELDS_MAX + 1);
	for (i = 0; i <= CTL_FIELDS_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cbor_put_text(&b, key);
		cbor_put_uint(&b, (uint64_t)i);
	}
	ck_assert_int_eq(decode(b.data, b.len, &m, why), -1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_garbage_and_truncation)
{
	struct cbor_buf	b = { 0 };
	struct ctl_msg	m;
	uint8_t		junk[256];
	char		why[160];
	size_t		i;

	ctl_put_request(&b, "status", 3, 0);
	for (i = 0; i < b.len; i++)
		ck_assert_int_eq(decode(b.data, i, &m, why), -1);
	ck_assert_int_eq(decode(b.data, b.len, &m, why), 0);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	ck_assert_int_eq(decode(junk, sizeof(junk), &m, why), -1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_error_reply)
{
	struct cbor_buf		 b = { 0 };
	struct ctl_msg		 m;
	const struct cbor_field	*e;
	enum peer_code		 code;
	char			 msg[16], why[160];

	ctl_put_error(&b, 5, PEER_RESOURCE_EXHAUSTED, "frame too large here");
	ck_assert_int_eq(decode(b.data, b.len, &m, why), 0);
	ck_assert_uint_eq(m.id, 5);
	ck_assert_ptr_nonnull(e = ctl_msg_get(&m, "error"));
	ck_assert(ctl_read_error(e, &code, msg, sizeof(msg)));
	ck_assert_int_eq(code, PEER_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(msg, "frame too large");	/* cut to 15 + NUL */
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_error_malformed)
{
	struct cbor_field	f;
	enum peer_code		code;
	char			msg[16];

	/* {"code": 1} */
	f.val = B(0xa1, 0x64, 'c', 'o', 'd', 'e', 0x01);
	f.vallen = 7;
	ck_assert(!ctl_read_error(&f, &code, msg, sizeof(msg)));
	/* {"code": "NEW_CODE", "message": "m"}: unknown names are UNKNOWN */
	f.val = B(0xa2, 0x64, 'c', 'o', 'd', 'e', 0x68, 'N', 'E', 'W', '_', 'C',
	    'O', 'D', 'E', 0x67, 'm', 'e', 's', 's', 'a', 'g', 'e', 0x61, 'm');
	f.vallen = 25;
	ck_assert(ctl_read_error(&f, &code, msg, sizeof(msg)));
	ck_assert_int_eq(code, PEER_UNKNOWN);
}
END_TEST

START_TEST(test_code_names)
{
	static const enum peer_code codes[] = { PEER_OK, PEER_CANCELLED,
	    PEER_UNKNOWN, PEER_INVALID_ARGUMENT, PEER_DEADLINE_EXCEEDED,
	    PEER_NOT_FOUND, PEER_ALREADY_EXISTS, PEER_PERMISSION_DENIED,
	    PEER_RESOURCE_EXHAUSTED, PEER_UNIMPLEMENTED, PEER_INTERNAL,
	    PEER_UNAVAILABLE };
	size_t	i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_int_eq(peer_code_from_name(peer_code_name(codes[i])),
		    codes[i]);
	ck_assert_str_eq(peer_code_name(PEER_INVALID_ARGUMENT),
	    "INVALID_ARGUMENT");
	ck_assert_str_eq(peer_code_name((enum peer_code)99), "UNKNOWN");
}
END_TEST

START_TEST(test_frame_end_limit)
{
	struct cbor_buf	b = { 0 };
	size_t		start;

	start = ctl_frame_begin(&b);
	ctl_put_error(&b, 1, PEER_INTERNAL, "0123456789");
	ck_assert_int_eq(ctl_frame_end(&b, start, 10), -1);
	ck_assert_int_eq(ctl_frame_end(&b, start, 1000), 0);
	cbor_buf_free(&b);
}
END_TEST

Suite *
proto_suite(void)
{
	Suite	*s = suite_create("proto");
	TCase	*tc = tcase_create("proto");

	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_unknown_keys_ignored);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_op_too_long);
	tcase_add_test(tc, test_too_many_keys);
	tcase_add_test(tc, test_garbage_and_truncation);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_error_malformed);
	tcase_add_test(tc, test_code_names);
	tcase_add_test(tc, test_frame_end_limit);
	suite_add_tcase(s, tc);
	return s;
}
