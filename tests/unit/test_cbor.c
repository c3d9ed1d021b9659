/* SPDX-License-Identifier: ISC */
/*
 * test_cbor.c: scanning encoded CBOR in place, and the encoder buffer.
 */
#include <string.h>

#include <check.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })
#define SCAN(...) cbor_scan_item(B(__VA_ARGS__), sizeof(B(__VA_ARGS__)))

START_TEST(test_scan_well_formed)
{
	ck_assert_uint_eq(SCAN(0x00), 1);			/* 0 */
	ck_assert_uint_eq(SCAN(0x19, 0x01, 0x00), 3);		/* 256 */
	ck_assert_uint_eq(SCAN(0x38, 0x63), 2);			/* -100 */
	ck_assert_uint_eq(SCAN(0x63, 'a', 'b', 'c'), 4);	/* "abc" */
	ck_assert_uint_eq(SCAN(0x82, 0x01, 0x02), 3);		/* [1, 2] */
	ck_assert_uint_eq(SCAN(0xa1, 0x61, 'k', 0x80), 4);	/* {"k": []} */
	ck_assert_uint_eq(SCAN(0x9f, 0x01, 0x9f, 0xff, 0xff), 5); /* [_ 1, [_]] */
	ck_assert_uint_eq(SCAN(0xbf, 0x61, 'k', 0x01, 0xff), 5);  /* {_ "k": 1} */
	ck_assert_uint_eq(SCAN(0x5f, 0x41, 0x01, 0x42, 0x02, 0x03, 0xff), 7);
	ck_assert_uint_eq(SCAN(0xc1, 0x1a, 0, 0, 0, 1), 6);	/* tag 1 */
	ck_assert_uint_eq(SCAN(0xf5), 1);			/* true */
	ck_assert_uint_eq(SCAN(0xf6), 1);			/* null */
	ck_assert_uint_eq(SCAN(0xfb, 0, 0, 0, 0, 0, 0, 0, 0), 9); /* 0.0 */
	/* Only the first item counts: trailing bytes are the caller's. */
	ck_assert_uint_eq(SCAN(0x01, 0x02), 1);
}
END_TEST

START_TEST(test_scan_malformed)
{
	ck_assert_uint_eq(cbor_scan_item(B(0x00), 0), 0);	/* empty */
	ck_assert_uint_eq(SCAN(0x19, 0x01), 0);			/* short int */
	ck_assert_uint_eq(SCAN(0x63, 'a', 'b'), 0);		/* short text */
	ck_assert_uint_eq(SCAN(0x82, 0x01), 0);			/* short array */
	ck_assert_uint_eq(SCAN(0xa1, 0x01), 0);			/* key only */
	ck_assert_uint_eq(SCAN(0xff), 0);			/* stray break */
	ck_assert_uint_eq(SCAN(0x9f, 0x01), 0);			/* no break */
	ck_assert_uint_eq(SCAN(0xbf, 0x01, 0xff), 0);		/* odd map */
	ck_assert_uint_eq(SCAN(0x5f, 0x61, 'a', 0xff), 0);	/* text chunk */
	ck_assert_uint_eq(SCAN(0x5f, 0x01, 0xff), 0);		/* int chunk */
	ck_assert_uint_eq(SCAN(0xc1), 0);			/* bare tag */
	ck_assert_uint_eq(SCAN(0x9f, 0xc1, 0xff), 0);		/* tag, break */
	ck_assert_uint_eq(SCAN(0x1c), 0);			/* reserved */
	/* Text must be UTF-8: bad byte, overlong, surrogate, cut short. */
	ck_assert_uint_eq(SCAN(0x62, 0xff, 0xfe), 0);
	ck_assert_uint_eq(SCAN(0x62, 0xc0, 0xaf), 0);
	ck_assert_uint_eq(SCAN(0x63, 0xed, 0xa0, 0x80), 0);
	ck_assert_uint_eq(SCAN(0x62, 0xe2, 0x82), 0);
	ck_assert_uint_eq(SCAN(0x7f, 0x61, 0xc3, 0xff), 0);	/* chunk */
	ck_assert_uint_eq(SCAN(0x63, 0xe2, 0x82, 0xac), 4);	/* euro sign */
	ck_assert_uint_eq(SCAN(0x64, 0xf0, 0x9f, 0x98, 0x80), 5);
	/* A map count whose doubling wraps to 2: one pair must not do. */
	ck_assert_uint_eq(SCAN(0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x61, 'k',
	    0x01), 0);
	/* Counts larger than the bytes left are refused outright. */
	ck_assert_uint_eq(SCAN(0x83, 0x01, 0x02), 0);
	ck_assert_uint_eq(SCAN(0xa2, 0x61, 'k', 0x01), 0);
	/* A huge declared count costs nothing: it is just truncated. */
	ck_assert_uint_eq(SCAN(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0x00), 0);
	ck_assert_uint_eq(SCAN(0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0x00), 0);
}
END_TEST

START_TEST(test_scan_depth_limit)
{
	uint8_t	buf[CBOR_SCAN_DEPTH + 2];

	memset(buf, 0x81, sizeof(buf));		/* [[[...]]] */
	buf[CBOR_SCAN_DEPTH] = 0x00;
	ck_assert_uint_eq(cbor_scan_item(buf, CBOR_SCAN_DEPTH + 1),
	    CBOR_SCAN_DEPTH + 1);
	buf[CBOR_SCAN_DEPTH] = 0x81;
	buf[CBOR_SCAN_DEPTH + 1] = 0x00;
	ck_assert_uint_eq(cbor_scan_item(buf, sizeof(buf)), 0);
}
END_TEST

/* An item to nest inside level containers has that much less room. */
START_TEST(test_scan_item_in)
{
	uint8_t	buf[CBOR_SCAN_DEPTH + 1];

	memset(buf, 0x81, sizeof(buf));		/* 32 arrays deep */
	buf[CBOR_SCAN_DEPTH] = 0x00;
	ck_assert_uint_eq(cbor_scan_item_in(buf, sizeof(buf), 0), sizeof(buf));
	ck_assert_uint_eq(cbor_scan_item_in(buf, sizeof(buf), 1), 0);
	ck_assert_uint_eq(cbor_scan_item_in(buf + 1, sizeof(buf) - 1, 1),
	    sizeof(buf) - 1);
	ck_assert_uint_eq(cbor_scan_item_in(buf + 1, sizeof(buf) - 1, 2), 0);
	ck_assert_uint_eq(cbor_scan_item_in(B(0x01), 1, -1), 0);
	ck_assert_uint_eq(cbor_scan_item_in(B(0x01), 1, CBOR_SCAN_DEPTH), 0);
	ck_assert_uint_eq(cbor_scan_item_in(B(0x01), 1, CBOR_SCAN_DEPTH - 1),
	    1);
	/* The other checks stay. */
	ck_assert_uint_eq(cbor_scan_item_in(B(0x62, 0xc0, 0x80), 3, 1), 0);
	ck_assert_uint_eq(cbor_scan_item_in(B(0x82, 0x01), 2, 1), 0);
}
END_TEST

START_TEST(test_text_valid)
{
	ck_assert(cbor_text_valid("", 0));
	ck_assert(cbor_text_valid("sensor.temp", 11));
	ck_assert(cbor_text_valid("\xc3\xa9t\xc3\xa9", 6));
	ck_assert(cbor_text_valid("\xf0\x9f\x98\x80", 4));
	ck_assert(!cbor_text_valid("\xff", 1));
	ck_assert(!cbor_text_valid("\xc0\x80", 2));		/* overlong */
	ck_assert(!cbor_text_valid("\xed\xa0\x80", 3));	/* surrogate */
	ck_assert(!cbor_text_valid("\xc3", 1));			/* cut short */
	ck_assert(!cbor_text_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
}
END_TEST

START_TEST(test_scan_map_fields)
{
	struct cbor_field	 f[4];
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;
	uint64_t		 u;
	bool			 b;
	/* {"op": "status", "id": 7, "x": [true]} */
	const uint8_t		 map[] = { 0xa3, 0x62, 'o', 'p', 0x66, 's', 't',
	    'a', 't', 'u', 's', 0x62, 'i', 'd', 0x07, 0x61, 'x', 0x81, 0xf5 };

	ck_assert_int_eq(cbor_scan_map(map, sizeof(map), f, 4), 3);
	v = cbor_field_get(f, 3, "op");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_text(v->val, v->vallen, &s, &n));
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(s, "status", 6) == 0);
	v = cbor_field_get(f, 3, "id");
	ck_assert(cbor_read_uint(v->val, v->vallen, &u));
	ck_assert_uint_eq(u, 7);
	ck_assert(!cbor_read_text(v->val, v->vallen, &s, &n));
	ck_assert(!cbor_read_bool(v->val, v->vallen, &b));
	v = cbor_field_get(f, 3, "x");
	ck_assert_uint_eq(v->vallen, 2);
	ck_assert_ptr_null(cbor_field_get(f, 3, "o"));
	/* Too many fields for the caller's array. */
	ck_assert_int_eq(cbor_scan_map(map, sizeof(map), f, 2), -1);
	/* Trailing byte, truncation. */
	ck_assert_int_eq(cbor_scan_map(map, sizeof(map) - 1, f, 4), -1);
}
END_TEST

START_TEST(test_scan_map_rejects)
{
	struct cbor_field	f[4];

	/* not a map */
	ck_assert_int_eq(cbor_scan_map(B(0x80), 1, f, 4), -1);
	/* integer key */
	ck_assert_int_eq(cbor_scan_map(B(0xa1, 0x01, 0x02), 3, f, 4), -1);
	/* byte-string key */
	ck_assert_int_eq(cbor_scan_map(B(0xa1, 0x41, 'k', 0x02), 4, f, 4), -1);
	/* repeated key */
	ck_assert_int_eq(cbor_scan_map(B(0xa2, 0x61, 'k', 0x01, 0x61, 'k',
	    0x02), 7, f, 4), -1);
	/* trailing bytes after the map */
	ck_assert_int_eq(cbor_scan_map(B(0xa0, 0x00), 2, f, 4), -1);
	/* indefinite map */
	ck_assert_int_eq(cbor_scan_map(B(0xbf, 0x61, 'k', 0x01, 0xff), 5, f, 4),
	    1);
	ck_assert_int_eq(cbor_scan_map(B(0xbf, 0x61, 'k', 0x01), 4, f, 4), -1);
	/* empty map */
	ck_assert_int_eq(cbor_scan_map(B(0xa0), 1, f, 4), 0);
}
END_TEST

/* Walks the map in buf: its entries' key and value lengths, or -1. */
static int
walk(const uint8_t *buf, size_t len, size_t *lens, size_t max)
{
	struct cbor_map_iter	 it;
	const uint8_t		*k, *v;
	size_t			 kn, vn, n = 0;

	if (!cbor_map_begin(buf, len, &it))
		return -1;
	while (cbor_map_next(&it, &k, &kn, &v, &vn)) {
		ck_assert_uint_lt(n, max);
		ck_assert_ptr_eq(v, k + kn);
		lens[2 * n] = kn;
		lens[2 * n + 1] = vn;
		n++;
	}
	if (!it.done)
		return -1;
	/* Ended: stays ended, and p is past the map. */
	ck_assert(!cbor_map_next(&it, &k, &kn, &v, &vn));
	ck_assert_ptr_eq(it.p, buf + (len - it.left));
	return (int)n;
}

#define WALK(lens, ...) walk(B(__VA_ARGS__), sizeof(B(__VA_ARGS__)), \
	(lens), sizeof(lens) / sizeof((lens)[0]) / 2)

START_TEST(test_map_iter)
{
	size_t	l[8];

	ck_assert_int_eq(WALK(l, 0xa0), 0);
	ck_assert_int_eq(WALK(l, 0xbf, 0xff), 0);
	/* {1: "ab", [2]: null}: keys of any type. */
	ck_assert_int_eq(WALK(l, 0xa2, 0x01, 0x62, 'a', 'b', 0x81, 0x02, 0xf6),
	    2);
	ck_assert_uint_eq(l[0], 1);
	ck_assert_uint_eq(l[1], 3);
	ck_assert_uint_eq(l[2], 2);
	ck_assert_uint_eq(l[3], 1);
	/* {_ "k": {_ }, h'00': 1} */
	ck_assert_int_eq(WALK(l, 0xbf, 0x61, 'k', 0xbf, 0xff, 0x41, 0x00, 0x01,
	    0xff), 2);
	ck_assert_uint_eq(l[1], 2);
	ck_assert_uint_eq(l[2], 2);
	/* Bytes after the map are the caller's. */
	ck_assert_int_eq(WALK(l, 0xa1, 0x01, 0x02, 0x03), 1);

	/* Not a map, a tagged one, a count the bytes cannot hold. */
	ck_assert_int_eq(WALK(l, 0x80), -1);
	ck_assert_int_eq(WALK(l, 0xc1, 0xa0), -1);
	ck_assert_int_eq(WALK(l, 0xa2, 0x01, 0x02), -1);
	ck_assert_int_eq(walk(B(0xa0), 0, l, 4), -1);
	/* Cut short, a key without a value, no break. */
	ck_assert_int_eq(WALK(l, 0xa2, 0x01, 0x02, 0x03, 0x18), -1);
	ck_assert_int_eq(WALK(l, 0xbf, 0x01, 0xff), -1);
	ck_assert_int_eq(WALK(l, 0xbf, 0x01, 0x02), -1);
}
END_TEST

START_TEST(test_buf_round_trip)
{
	struct cbor_buf		 b = { 0 };
	struct cbor_field	 f[8];
	const char		*s;
	char			 big[70000];
	size_t			 n, count, off;
	uint64_t		 u;
	int			 nf;

	memset(big, 'x', sizeof(big));
	cbor_put_map(&b, 4);
	cbor_put_text(&b, "u");
	cbor_put_uint(&b, UINT64_MAX);
	cbor_put_text(&b, "neg");
	cbor_put_int(&b, -1000);
	cbor_put_text(&b, "big");
	cbor_put_textn(&b, big, sizeof(big));
	cbor_put_text(&b, "arr");
	cbor_put_array(&b, 2);
	cbor_put_bool(&b, true);
	cbor_put_null(&b);
	ck_assert(!b.failed);
	ck_assert_uint_eq(cbor_scan_item(b.data, b.len), b.len);
	nf = cbor_scan_map(b.data, b.len, f, 8);
	ck_assert_int_eq(nf, 4);
	ck_assert(cbor_read_uint(f[0].val, f[0].vallen, &u));
	ck_assert(u == UINT64_MAX);
	ck_assert_uint_eq(f[1].vallen, 3);	/* 0x39 0x03 0xe7 */
	ck_assert(cbor_read_text(f[2].val, f[2].vallen, &s, &n));
	ck_assert_uint_eq(n, sizeof(big));
	ck_assert(cbor_read_array(f[3].val, f[3].vallen, &count, &off));
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(off, 1);
	cbor_buf_free(&b);
}
END_TEST

Suite *
cbor_suite(void)
{
	Suite	*s = suite_create("cbor");
	TCase	*tc = tcase_create("cbor");

	tcase_add_test(tc, test_scan_well_formed);
	tcase_add_test(tc, test_scan_malformed);
	tcase_add_test(tc, test_scan_depth_limit);
	tcase_add_test(tc, test_scan_item_in);
	tcase_add_test(tc, test_text_valid);
	tcase_add_test(tc, test_scan_map_fields);
	tcase_add_test(tc, test_scan_map_rejects);
	tcase_add_test(tc, test_map_iter);
	tcase_add_test(tc, test_buf_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
