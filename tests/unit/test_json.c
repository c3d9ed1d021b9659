/* SPDX-License-Identifier: ISC */
/*
 * test_json.c: peerctl's JSON and CBOR conversions, and the pieces of
 * peerctl call and serve that do not talk to peerd (serve's search of
 * PATH for its command among them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "../../ctl/call.h"
#include "../../ctl/cbor_json.h"
#include "../../ctl/serve.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })

/* b holds exactly the bytes given. */
#define ck_assert_cbor(b, ...) do {					\
	ck_assert(!(b)->failed);					\
	ck_assert_uint_eq((b)->len, sizeof(B(__VA_ARGS__)));		\
	ck_assert_mem_eq((b)->data, B(__VA_ARGS__), (b)->len);		\
} while (0)

static const char *round_trips[] = {
	"0", "23", "24", "-1", "-25", "9223372036854775807",
	"-9223372036854775808", "1.5", "-0.25", "1e300", "5e-324",
	"\"\"", "\"text\"", "\"a\\u0000b\"", "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
	"null", "true", "false", "[]", "{}", "[1, [2, [3, []]]]",
	"{\"a\": 1, \"b\": [true, null], \"\": \"x\", \"\\u00e9\": {}}",
	"[0.1, -7, \"s\", {\"k\": [false]}]",
};

START_TEST(test_round_trip)
{
	struct cbor_buf	 b = { 0 };
	json_error_t	 e;
	json_t		*in, *out;
	const char	*text = round_trips[_i];

	in = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	ck_assert_msg(in != NULL, "%s: %s", text, e.text);
	ck_assert_int_eq(json_to_cbor(in, CBOR_SCAN_DEPTH, &b), 0);
	ck_assert(!b.failed);
	ck_assert_uint_eq(cbor_scan_item(b.data, b.len), b.len);
	out = cbor_to_json(b.data, b.len);
	ck_assert_msg(out != NULL, "%s: not decoded", text);
	ck_assert_msg(json_equal(in, out), "%s: changed", text);
	json_decref(in);
	json_decref(out);
	cbor_buf_free(&b);
}
END_TEST

/* The exact encodings: integers stay integers, reals are doubles. */
START_TEST(test_json_to_cbor_bytes)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;

	j = json_loads("[1, -1, 1.5, \"a\", null, true, {\"k\": false}]",
	    0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_to_cbor(j, 4, &b), 0);
	ck_assert_cbor(&b, 0x87, 0x01, 0x20,
	    0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
	    0x61, 'a', 0xf6, 0xf5, 0xa1, 0x61, 'k', 0xf4);
	json_decref(j);
	cbor_buf_free(&b);

	/* Object keys keep their order. */
	j = json_loads("{\"z\": 1, \"a\": 2}", 0, NULL);
	ck_assert_int_eq(json_to_cbor(j, 1, &b), 0);
	ck_assert_cbor(&b, 0xa2, 0x61, 'z', 0x01, 0x61, 'a', 0x02);
	json_decref(j);
	cbor_buf_free(&b);
}
END_TEST

/* What jansson cannot hold as an integer comes out as a double. */
START_TEST(test_cbor_to_json_big_integers)
{
	json_t	*j;

	j = cbor_to_json(B(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff), 9);
	ck_assert(json_is_real(j));
	ck_assert(json_real_value(j) == 18446744073709551615.0);
	json_decref(j);
	j = cbor_to_json(B(0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0), 9);
	ck_assert(json_is_real(j));
	ck_assert(json_real_value(j) == -9223372036854775809.0);
	json_decref(j);
	j = cbor_to_json(B(0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff), 9);
	ck_assert(json_is_integer(j));
	ck_assert(json_integer_value(j) == INT64_MIN);
	json_decref(j);
}
END_TEST

START_TEST(test_json_to_cbor_depth)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;

	j = json_loads("[[{\"a\": 1}]]", 0, NULL);
	ck_assert_int_eq(json_to_cbor(j, 3, &b), 0);
	cbor_buf_reset(&b);
	ck_assert_int_eq(json_to_cbor(j, 2, &b), -1);
	json_decref(j);
	/* Scalars do not nest. */
	j = json_integer(7);
	cbor_buf_reset(&b);
	ck_assert_int_eq(json_to_cbor(j, 0, &b), 0);
	ck_assert_cbor(&b, 0x07);
	json_decref(j);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_call_split)
{
	const char *const	known[] = { "calc", "camera", "camera.front",
				    "cal" };

	ck_assert_uint_eq(call_split("calc.add", known, 4), 4);
	ck_assert_uint_eq(call_split("camera.zoom", known, 4), 6);
	/* The longest known name wins. */
	ck_assert_uint_eq(call_split("camera.front.snap", known, 4), 12);
	ck_assert_uint_eq(call_split("camera.front.snap.big", known, 4), 12);
	/* A known name needs a method after it. */
	ck_assert_uint_eq(call_split("camera.front.", known, 4), 6);
	/* Unknown names split at the first dot. */
	ck_assert_uint_eq(call_split("x.y.z", known, 4), 1);
	ck_assert_uint_eq(call_split("date.now", NULL, 0), 4);
	ck_assert_uint_eq(call_split("camera.front.snap", NULL, 0), 6);
	/* No dot, or an empty part. */
	ck_assert_uint_eq(call_split("calc", known, 4), 0);
	ck_assert_uint_eq(call_split(".add", known, 4), 0);
	ck_assert_uint_eq(call_split("calc.", known, 4), 0);
	ck_assert_uint_eq(call_split("", known, 4), 0);
}
END_TEST

START_TEST(test_call_duration)
{
	ck_assert_int_eq(call_duration("500", CALL_TIMEOUT_MAX), 500);
	ck_assert_int_eq(call_duration("500ms", CALL_TIMEOUT_MAX), 500);
	ck_assert_int_eq(call_duration("2s", CALL_TIMEOUT_MAX), 2000);
	ck_assert_int_eq(call_duration("1m", CALL_TIMEOUT_MAX), 60000);
	ck_assert_int_eq(call_duration("1h", CALL_TIMEOUT_MAX), 3600000);
	ck_assert_int_eq(call_duration("24h", CALL_TIMEOUT_MAX), 86400000);
	ck_assert_int_eq(call_duration("25h", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("0", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("0s", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("-1", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("+1", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration(" 1", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("1.5s", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("2x", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("2 s", CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("99999999999999999999s",
	    CALL_TIMEOUT_MAX), -1);
	ck_assert_int_eq(call_duration("4294967296", CALL_TIMEOUT_MAX), -1);
}
END_TEST

START_TEST(test_call_args)
{
	struct cbor_buf	 b = { 0 };
	char		*ok[] = { "1", "\"a\"", "[true]", " {} " };
	char		*bare[] = { "1", "abc" };
	char		*empty[] = { "" };
	char		*dup[] = { "{\"a\": 1, \"a\": 2}" };
	char		*trail[] = { "[1] x" };
	char		 deep[64], err[256];
	char		*deeps[] = { deep };

	ck_assert_int_eq(call_args(ok, 4, &b, err, sizeof(err)), 0);
	ck_assert_cbor(&b, 0x84, 0x01, 0x61, 'a', 0x81, 0xf5, 0xa0);

	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(bare, 2, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "argument 2 ") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "quotes") != NULL, "%s", err);

	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(empty, 1, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "argument 1 ") != NULL, "%s", err);

	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(dup, 1, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "duplicate") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "quotes") == NULL, "%s", err);

	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(trail, 1, &b, err, sizeof(err)), -1);

	/* Within the limit, then one level more. */
	memset(deep, '[', 30);
	memset(deep + 30, ']', 30);
	deep[60] = '\0';
	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(deeps, 1, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(cbor_scan_item(b.data, b.len), b.len);
	memset(deep, '[', 31);
	memset(deep + 31, ']', 31);
	deep[62] = '\0';
	cbor_buf_reset(&b);
	ck_assert_int_eq(call_args(deeps, 1, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nests") != NULL, "%s", err);
	cbor_buf_free(&b);
}
END_TEST

#define RESULT(s)	serve_result((s), sizeof(s) - 1, &b)

START_TEST(test_serve_result)
{
	struct cbor_buf	b = { 0 };
	char		deep[80];

	ck_assert_int_eq(RESULT("{\"a\": 1}\n"), 0);
	ck_assert_cbor(&b, 0xa1, 0x61, 'a', 0x01);
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("  42 \r\n\t"), 0);
	ck_assert_cbor(&b, 0x18, 0x2a);
	/* Not JSON: text, less one newline. */
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("hello\n"), 0);
	ck_assert_cbor(&b, 0x65, 'h', 'e', 'l', 'l', 'o');
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("hi\n\n"), 0);
	ck_assert_cbor(&b, 0x63, 'h', 'i', '\n');
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("1 2"), 0);
	ck_assert_cbor(&b, 0x63, '1', ' ', '2');
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("\n"), 0);
	ck_assert_cbor(&b, 0x60);
	/* Nothing at all: null. */
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT(""), 0);
	ck_assert_cbor(&b, 0xf6);
	/* Not UTF-8: bytes. */
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("\xff\xfe\n"), 0);
	ck_assert_cbor(&b, 0x42, 0xff, 0xfe);
	cbor_buf_reset(&b);
	ck_assert_int_eq(RESULT("\xc3\xa9t\xc3\xa9"), 0);	/* "été" */
	ck_assert_cbor(&b, 0x65, 0xc3, 0xa9, 't', 0xc3, 0xa9);
	/* JSON too deep to send is an error, not text. */
	memset(deep, '[', 40);
	memset(deep + 40, ']', 40);
	cbor_buf_reset(&b);
	ck_assert_int_eq(serve_result(deep, sizeof(deep), &b), -1);
	ck_assert_uint_eq(b.len, 0);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_serve_text)
{
	struct cbor_buf	b = { 0 };

	serve_text("ok", 2, &b);
	ck_assert_cbor(&b, 0x62, 'o', 'k');
	cbor_buf_reset(&b);
	/* A surrogate encoded in UTF-8 is not UTF-8. */
	serve_text("\xed\xa0\x80", 3, &b);
	ck_assert_cbor(&b, 0x43, 0xed, 0xa0, 0x80);
	cbor_buf_reset(&b);
	/* Appends after what b holds. */
	cbor_put_array(&b, 2);
	serve_text("\x80", 1, &b);
	serve_text("", 0, &b);
	ck_assert_cbor(&b, 0x82, 0x41, 0x80, 0x60);
	cbor_buf_free(&b);
}
END_TEST

/* A command is found as execvp would find it, or refused with why. */
START_TEST(test_serve_find_command)
{
	char	dir[] = "/tmp/peerctl-path-XXXXXX", path[256], why[512];
	char	*old = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
	FILE	*f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/plain", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	ck_assert_int_eq(serve_find_command("/bin/sh", why, sizeof(why)), 0);
	ck_assert_int_eq(serve_find_command("/nonexistent/cmd", why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "/nonexistent/cmd: no such file");
	ck_assert_int_eq(serve_find_command(path, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "not an executable file") != NULL, "%s", why);
	ck_assert_int_eq(serve_find_command(dir, why, sizeof(why)), -1);
	/* PATH is searched; a file found there must be executable. */
	snprintf(path, sizeof(path), "/nonexistent:%s:/bin", dir);
	setenv("PATH", path, 1);
	ck_assert_int_eq(serve_find_command("sh", why, sizeof(why)), 0);
	ck_assert_int_eq(serve_find_command("plain", why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "plain: found in PATH, but not an "
	    "executable file") != NULL, "%s", why);
	ck_assert_int_eq(serve_find_command("no-such-command-here", why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "no-such-command-here: command not found in "
	    "PATH");
	ck_assert_int_eq(serve_find_command("", why, sizeof(why)), -1);
	if (old != NULL)
		setenv("PATH", old, 1);
	else
		unsetenv("PATH");
	free(old);
	snprintf(path, sizeof(path), "%s/plain", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *
json_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("json");

	tcase_add_loop_test(tc, test_round_trip, 0,
	    sizeof(round_trips) / sizeof(round_trips[0]));
	tcase_add_test(tc, test_json_to_cbor_bytes);
	tcase_add_test(tc, test_cbor_to_json_big_integers);
	tcase_add_test(tc, test_json_to_cbor_depth);
	tcase_add_test(tc, test_call_split);
	tcase_add_test(tc, test_call_duration);
	tcase_add_test(tc, test_call_args);
	tcase_add_test(tc, test_serve_result);
	tcase_add_test(tc, test_serve_text);
	tcase_add_test(tc, test_serve_find_command);
	suite_add_tcase(s, tc);
	return s;
}
