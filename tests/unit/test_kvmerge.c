/* SPDX-License-Identifier: ISC */
/*
 * test_kvmerge.c: merging a delta into a stored map: replacing, adding
 * and removing keys, the order of the result, duplicate keys, keys of
 * any type, indefinite maps, inputs that are not maps, and the bound
 * on entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cbor_scan.h"
#include "kvmerge.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })
#define LEN(...) sizeof(B(__VA_ARGS__))

/* Merges delta into stored; the result must be one well-formed map. */
static enum kvmerge_result
run(const uint8_t *stored, size_t slen, const uint8_t *delta, size_t dlen,
    struct cbor_buf *out)
{
	enum kvmerge_result	res;

	res = kvmerge(stored, slen, delta, dlen, out);
	if (res == KVMERGE_OK) {
		ck_assert(!out->failed);
		ck_assert_uint_gt(out->len, 0);
		ck_assert_uint_eq(cbor_scan_item(out->data, out->len),
		    out->len);
		ck_assert_uint_eq(out->data[0] & 0xe0, 0xa0);
	} else
		ck_assert_uint_eq(out->len, 0);
	return res;
}

/* Merging gives exactly the bytes want. */
static void
merges_to(const uint8_t *stored, size_t slen, const uint8_t *delta,
    size_t dlen, const uint8_t *want, size_t wlen)
{
	struct cbor_buf	out = { 0 };

	ck_assert_int_eq(run(stored, slen, delta, dlen, &out), KVMERGE_OK);
	ck_assert_uint_eq(out.len, wlen);
	ck_assert_mem_eq(out.data, want, wlen);
	cbor_buf_free(&out);
}

static enum kvmerge_result
merge_result(const uint8_t *stored, size_t slen, const uint8_t *delta,
    size_t dlen)
{
	struct cbor_buf		out = { 0 };
	enum kvmerge_result	res;

	res = run(stored, slen, delta, dlen, &out);
	cbor_buf_free(&out);
	return res;
}

/* {"a": 1, "b": 2} */
static const uint8_t	ab[] = { 0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x02 };

START_TEST(test_replace)
{
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'a', 0x63, 'n', 'e', 'w'),
	    LEN(0xa1, 0x61, 'a', 0x63, 'n', 'e', 'w'),
	    B(0xa2, 0x61, 'a', 0x63, 'n', 'e', 'w', 0x61, 'b', 0x02),
	    LEN(0xa2, 0x61, 'a', 0x63, 'n', 'e', 'w', 0x61, 'b', 0x02));
	/* A value that is a map replaces, it does not merge deeper. */
	merges_to(B(0xa1, 0x61, 'm', 0xa1, 0x61, 'x', 0x01),
	    LEN(0xa1, 0x61, 'm', 0xa1, 0x61, 'x', 0x01),
	    B(0xa1, 0x61, 'm', 0xa1, 0x61, 'y', 0x02),
	    LEN(0xa1, 0x61, 'm', 0xa1, 0x61, 'y', 0x02),
	    B(0xa1, 0x61, 'm', 0xa1, 0x61, 'y', 0x02),
	    LEN(0xa1, 0x61, 'm', 0xa1, 0x61, 'y', 0x02));
}
END_TEST

START_TEST(test_add)
{
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'c', 0x03),
	    LEN(0xa1, 0x61, 'c', 0x03),
	    B(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'c', 0x03),
	    LEN(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'c', 0x03));
	/* Nothing stored: an empty map. */
	merges_to(NULL, 0, ab, sizeof(ab), ab, sizeof(ab));
	merges_to(B(0xa0), 1, ab, sizeof(ab), ab, sizeof(ab));
}
END_TEST

START_TEST(test_remove)
{
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'a', 0xf6),
	    LEN(0xa1, 0x61, 'a', 0xf6), B(0xa1, 0x61, 'b', 0x02),
	    LEN(0xa1, 0x61, 'b', 0x02));
	merges_to(ab, sizeof(ab),
	    B(0xa2, 0x61, 'a', 0xf6, 0x61, 'b', 0xf6),
	    LEN(0xa2, 0x61, 'a', 0xf6, 0x61, 'b', 0xf6), B(0xa0), 1);
	/* Only null removes: undefined, false and a tagged null are values. */
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'a', 0xf7),
	    LEN(0xa1, 0x61, 'a', 0xf7),
	    B(0xa2, 0x61, 'a', 0xf7, 0x61, 'b', 0x02),
	    LEN(0xa2, 0x61, 'a', 0xf7, 0x61, 'b', 0x02));
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'a', 0xc1, 0xf6),
	    LEN(0xa1, 0x61, 'a', 0xc1, 0xf6),
	    B(0xa2, 0x61, 'a', 0xc1, 0xf6, 0x61, 'b', 0x02),
	    LEN(0xa2, 0x61, 'a', 0xc1, 0xf6, 0x61, 'b', 0x02));
}
END_TEST

START_TEST(test_remove_absent)
{
	merges_to(ab, sizeof(ab), B(0xa1, 0x61, 'z', 0xf6),
	    LEN(0xa1, 0x61, 'z', 0xf6), ab, sizeof(ab));
	merges_to(NULL, 0, B(0xa1, 0x61, 'z', 0xf6),
	    LEN(0xa1, 0x61, 'z', 0xf6), B(0xa0), 1);
}
END_TEST

START_TEST(test_order)
{
	/* Stored order kept; new keys after, in the delta's order. */
	merges_to(B(0xa3, 0x61, 'c', 0x03, 0x61, 'a', 0x01, 0x61, 'b', 0x02),
	    LEN(0xa3, 0x61, 'c', 0x03, 0x61, 'a', 0x01, 0x61, 'b', 0x02),
	    B(0xa4, 0x61, 'z', 0x16, 0x61, 'b', 0x12, 0x61, 'y', 0x15,
	    0x61, 'c', 0xf6),
	    LEN(0xa4, 0x61, 'z', 0x16, 0x61, 'b', 0x12, 0x61, 'y', 0x15,
	    0x61, 'c', 0xf6),
	    B(0xa4, 0x61, 'a', 0x01, 0x61, 'b', 0x12, 0x61, 'z', 0x16,
	    0x61, 'y', 0x15),
	    LEN(0xa4, 0x61, 'a', 0x01, 0x61, 'b', 0x12, 0x61, 'z', 0x16,
	    0x61, 'y', 0x15));
}
END_TEST

START_TEST(test_keys_as_encoded)
{
	/* 1, "1", h'31', 1.0 and [1] are five keys. */
	merges_to(B(0xa2, 0x01, 0x02, 0x61, '1', 0x03),
	    LEN(0xa2, 0x01, 0x02, 0x61, '1', 0x03),
	    B(0xa4, 0x41, '1', 0x04, 0xf9, 0x3c, 0x00, 0x05, 0x81, 0x01, 0x06,
	    0x01, 0x07),
	    LEN(0xa4, 0x41, '1', 0x04, 0xf9, 0x3c, 0x00, 0x05, 0x81, 0x01,
	    0x06, 0x01, 0x07),
	    B(0xa5, 0x01, 0x07, 0x61, '1', 0x03, 0x41, '1', 0x04, 0xf9, 0x3c,
	    0x00, 0x05, 0x81, 0x01, 0x06),
	    LEN(0xa5, 0x01, 0x07, 0x61, '1', 0x03, 0x41, '1', 0x04, 0xf9,
	    0x3c, 0x00, 0x05, 0x81, 0x01, 0x06));
	/* The same number encoded longer is another key: 1 and 0x18 0x01. */
	merges_to(B(0xa1, 0x01, 0x02), LEN(0xa1, 0x01, 0x02),
	    B(0xa1, 0x18, 0x01, 0x03), LEN(0xa1, 0x18, 0x01, 0x03),
	    B(0xa2, 0x01, 0x02, 0x18, 0x01, 0x03),
	    LEN(0xa2, 0x01, 0x02, 0x18, 0x01, 0x03));
}
END_TEST

START_TEST(test_not_maps)
{
	/* The stored value is not a map. */
	ck_assert_int_eq(merge_result(B(0x01), 1, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0x80), 1, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0xf6), 1, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0xc1, 0xa0), 2, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0x61, 'a'), 2, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	/* Nor is what is not one whole item. */
	ck_assert_int_eq(merge_result(B(0xa1, 0x01), 2, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0xa0, 0xa0), 2, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);
	ck_assert_int_eq(merge_result(B(0xa0), 0, ab, sizeof(ab)),
	    KVMERGE_NOT_MAP);

	/* The delta is not a map (checked first). */
	ck_assert_int_eq(merge_result(ab, sizeof(ab), B(0x01), 1),
	    KVMERGE_BAD_DELTA);
	ck_assert_int_eq(merge_result(B(0x01), 1, B(0xf6), 1),
	    KVMERGE_BAD_DELTA);
	ck_assert_int_eq(merge_result(NULL, 0, B(0x82, 0x01, 0x02), 3),
	    KVMERGE_BAD_DELTA);
	ck_assert_int_eq(merge_result(ab, sizeof(ab), B(0xbf, 0x01, 0x02), 3),
	    KVMERGE_BAD_DELTA);
	ck_assert_int_eq(merge_result(ab, sizeof(ab), NULL, 0),
	    KVMERGE_BAD_DELTA);
}
END_TEST

START_TEST(test_indefinite)
{
	/* {_ "a": 1, "b": 2} merged with {_ "b": null, "c": [_ 3]}. */
	merges_to(B(0xbf, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0xff),
	    LEN(0xbf, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0xff),
	    B(0xbf, 0x61, 'b', 0xf6, 0x61, 'c', 0x9f, 0x03, 0xff, 0xff),
	    LEN(0xbf, 0x61, 'b', 0xf6, 0x61, 'c', 0x9f, 0x03, 0xff, 0xff),
	    B(0xa2, 0x61, 'a', 0x01, 0x61, 'c', 0x9f, 0x03, 0xff),
	    LEN(0xa2, 0x61, 'a', 0x01, 0x61, 'c', 0x9f, 0x03, 0xff));
	merges_to(B(0xbf, 0xff), 2, B(0xbf, 0xff), 2, B(0xa0), 1);
	/* A chunked text key is its own encoding, not "ab". */
	merges_to(ab, sizeof(ab),
	    B(0xa1, 0x7f, 0x61, 'a', 0x61, 'b', 0xff, 0x05),
	    LEN(0xa1, 0x7f, 0x61, 'a', 0x61, 'b', 0xff, 0x05),
	    B(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x7f, 0x61, 'a', 0x61,
	    'b', 0xff, 0x05),
	    LEN(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x7f, 0x61, 'a',
	    0x61, 'b', 0xff, 0x05));
}
END_TEST

START_TEST(test_duplicates)
{
	/* In the delta the last mention wins, in value and in place. */
	merges_to(ab, sizeof(ab),
	    B(0xa3, 0x61, 'a', 0x05, 0x61, 'a', 0x06, 0x61, 'b', 0x07),
	    LEN(0xa3, 0x61, 'a', 0x05, 0x61, 'a', 0x06, 0x61, 'b', 0x07),
	    B(0xa2, 0x61, 'a', 0x06, 0x61, 'b', 0x07),
	    LEN(0xa2, 0x61, 'a', 0x06, 0x61, 'b', 0x07));
	merges_to(ab, sizeof(ab),
	    B(0xa2, 0x61, 'a', 0xf6, 0x61, 'a', 0x09),
	    LEN(0xa2, 0x61, 'a', 0xf6, 0x61, 'a', 0x09),
	    B(0xa2, 0x61, 'a', 0x09, 0x61, 'b', 0x02),
	    LEN(0xa2, 0x61, 'a', 0x09, 0x61, 'b', 0x02));
	merges_to(ab, sizeof(ab),
	    B(0xa2, 0x61, 'a', 0x09, 0x61, 'a', 0xf6),
	    LEN(0xa2, 0x61, 'a', 0x09, 0x61, 'a', 0xf6),
	    B(0xa1, 0x61, 'b', 0x02), LEN(0xa1, 0x61, 'b', 0x02));
	merges_to(NULL, 0,
	    B(0xa3, 0x61, 'x', 0x01, 0x61, 'y', 0x02, 0x61, 'x', 0x03),
	    LEN(0xa3, 0x61, 'x', 0x01, 0x61, 'y', 0x02, 0x61, 'x', 0x03),
	    B(0xa2, 0x61, 'y', 0x02, 0x61, 'x', 0x03),
	    LEN(0xa2, 0x61, 'y', 0x02, 0x61, 'x', 0x03));
	/*
	 * A key stored twice: untouched, both stay; named by the delta,
	 * the first takes its value and the other goes.
	 */
	merges_to(B(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03),
	    LEN(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03),
	    B(0xa1, 0x61, 'c', 0x04), LEN(0xa1, 0x61, 'c', 0x04),
	    B(0xa4, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03, 0x61,
	    'c', 0x04),
	    LEN(0xa4, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03, 0x61,
	    'c', 0x04));
	merges_to(B(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03),
	    LEN(0xa3, 0x61, 'a', 0x01, 0x61, 'b', 0x02, 0x61, 'a', 0x03),
	    B(0xa1, 0x61, 'a', 0x09), LEN(0xa1, 0x61, 'a', 0x09),
	    B(0xa2, 0x61, 'a', 0x09, 0x61, 'b', 0x02),
	    LEN(0xa2, 0x61, 'a', 0x09, 0x61, 'b', 0x02));
}
END_TEST

START_TEST(test_empty_delta)
{
	merges_to(ab, sizeof(ab), B(0xa0), 1, ab, sizeof(ab));
	merges_to(ab, sizeof(ab), B(0xbf, 0xff), 2, ab, sizeof(ab));
	merges_to(NULL, 0, B(0xa0), 1, B(0xa0), 1);
	/* An indefinite stored map comes out definite, entries the same. */
	merges_to(B(0xbf, 0x61, 'a', 0x01, 0xff),
	    LEN(0xbf, 0x61, 'a', 0x01, 0xff), B(0xa0), 1,
	    B(0xa1, 0x61, 'a', 0x01), LEN(0xa1, 0x61, 'a', 0x01));
}
END_TEST

/* A map of n entries, keys i + first (uints), values 0. */
static void
put_big(struct cbor_buf *b, size_t n, uint64_t first, bool indef)
{
	size_t	i;

	cbor_buf_reset(b);
	if (indef)
		cbor_put_raw(b, B(0xbf), 1);
	else
		cbor_put_map(b, n);
	for (i = 0; i < n; i++) {
		cbor_put_uint(b, first + i);
		cbor_put_uint(b, 0);
	}
	if (indef)
		cbor_put_raw(b, B(0xff), 1);
	ck_assert(!b->failed);
}

START_TEST(test_bound)
{
	struct cbor_buf	st = { 0 }, dt = { 0 }, out = { 0 };

	put_big(&st, KVMERGE_ENTRIES_MAX, 0, false);
	/* Full: replacing keeps it at the bound; adding one is too many. */
	put_big(&dt, 1, KVMERGE_ENTRIES_MAX - 1, false);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_OK);
	put_big(&dt, 1, KVMERGE_ENTRIES_MAX, true);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_TOO_BIG);
	/* Removing one makes room for another. */
	cbor_buf_reset(&dt);
	cbor_put_map(&dt, 2);
	cbor_put_uint(&dt, 7);
	cbor_put_null(&dt);
	cbor_put_uint(&dt, KVMERGE_ENTRIES_MAX);
	cbor_put_uint(&dt, 1);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_OK);
	/* Half and half: the result holds them all. */
	put_big(&st, KVMERGE_ENTRIES_MAX / 2, 0, true);
	put_big(&dt, KVMERGE_ENTRIES_MAX / 2, KVMERGE_ENTRIES_MAX / 2, false);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_OK);
	ck_assert_mem_eq(out.data, B(0xba, 0x00, 0x01, 0x00, 0x00), 5);
	put_big(&dt, KVMERGE_ENTRIES_MAX / 2 + 1, KVMERGE_ENTRIES_MAX / 2,
	    false);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_TOO_BIG);
	/* An input beyond the bound is refused, whatever it would give. */
	put_big(&st, KVMERGE_ENTRIES_MAX + 1, 0, true);
	put_big(&dt, 0, 0, false);
	ck_assert_int_eq(run(st.data, st.len, dt.data, dt.len, &out),
	    KVMERGE_TOO_BIG);
	ck_assert_int_eq(run(NULL, 0, st.data, st.len, &out),
	    KVMERGE_TOO_BIG);
	cbor_buf_free(&st);
	cbor_buf_free(&dt);
	cbor_buf_free(&out);
}
END_TEST

START_TEST(test_out_reset)
{
	struct cbor_buf	out = { 0 };

	cbor_put_text(&out, "left over");
	ck_assert_int_eq(run(ab, sizeof(ab), B(0xa0), 1, &out), KVMERGE_OK);
	ck_assert_uint_eq(out.len, sizeof(ab));
	ck_assert_mem_eq(out.data, ab, sizeof(ab));
	cbor_put_text(&out, "left over");
	ck_assert_int_eq(run(B(0x01), 1, B(0xa0), 1, &out), KVMERGE_NOT_MAP);
	cbor_buf_free(&out);
}
END_TEST

Suite *
kvmerge_suite(void)
{
	Suite	*s = suite_create("kvmerge");
	TCase	*tc = tcase_create("kvmerge");

	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_remove_absent);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_keys_as_encoded);
	tcase_add_test(tc, test_not_maps);
	tcase_add_test(tc, test_indefinite);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_empty_delta);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_out_reset);
	suite_add_tcase(s, tc);
	return s;
}
