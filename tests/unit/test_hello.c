/* SPDX-License-Identifier: ISC */
/*
 * test_hello.c: the HELLO payload: round trip, and every way a peer's
 * HELLO can be wrong.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "hello.h"
#include "suites.h"

static void
sample(struct hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version = HELLO_VERSION;
	memset(h->id, 0x42, sizeof(h->id));
	snprintf(h->name, sizeof(h->name), "node-1");
	snprintf(h->listen[0], ADDR_STRLEN, "10.0.0.1:7654");
	snprintf(h->listen[1], ADDR_STRLEN, "[fd00::1]:7654");
	h->nlisten = 2;
}

START_TEST(test_round_trip)
{
	struct cbor_buf	 b = { 0 };
	struct hello	 h, back;
	const char	*why;

	sample(&h);
	hello_encode(&h, &b);
	ck_assert(!b.failed);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.version, HELLO_VERSION);
	ck_assert_mem_eq(back.id, h.id, sizeof(h.id));
	ck_assert_str_eq(back.name, "node-1");
	ck_assert_int_eq(back.nlisten, 2);
	ck_assert_str_eq(back.listen[1], "[fd00::1]:7654");
	cbor_buf_free(&b);
}
END_TEST

/* Encodes a HELLO-like map whose fields the caller writes. */
static int
decode_map(void (*fill)(struct cbor_buf *), const char **why)
{
	struct cbor_buf	b = { 0 };
	struct hello	h;
	int		rc;

	fill(&b);
	rc = hello_decode(b.data, b.len, &h, why);
	cbor_buf_free(&b);
	return rc;
}

static void
put_common(struct cbor_buf *b, size_t extra, uint64_t v, size_t idlen,
    const char *name)
{
	uint8_t	id[40];

	memset(id, 7, sizeof(id));
	cbor_put_map(b, 3 + extra);
	cbor_put_text(b, "v");
	cbor_put_uint(b, v);
	cbor_put_text(b, "id");
	cbor_put_bytes(b, id, idlen);
	cbor_put_text(b, "name");
	cbor_put_text(b, name);
}

static void fill_ok(struct cbor_buf *b) { put_common(b, 0, 1, 32, "n"); }
static void fill_v2(struct cbor_buf *b) { put_common(b, 0, 2, 32, "n"); }
static void fill_short_id(struct cbor_buf *b) { put_common(b, 0, 1, 31, "n"); }
static void fill_bad_name(struct cbor_buf *b) { put_common(b, 0, 1, 32, "a b"); }
static void fill_empty_name(struct cbor_buf *b) { put_common(b, 0, 1, 32, ""); }

static void
fill_unknown_key(struct cbor_buf *b)
{
	put_common(b, 1, 1, 32, "n");
	cbor_put_text(b, "future");
	cbor_put_map(b, 1);
	cbor_put_text(b, "x");
	cbor_put_null(b);
}

static void
fill_listen_not_text(struct cbor_buf *b)
{
	put_common(b, 1, 1, 32, "n");
	cbor_put_text(b, "listen");
	cbor_put_array(b, 1);
	cbor_put_uint(b, 7654);
}

static void
fill_listen_too_many(struct cbor_buf *b)
{
	int	i;

	put_common(b, 1, 1, 32, "n");
	cbor_put_text(b, "listen");
	cbor_put_array(b, HELLO_ADDRS_MAX + 1);
	for (i = 0; i <= HELLO_ADDRS_MAX; i++)
		cbor_put_text(b, "1.2.3.4:5");
}

static void
fill_listen_too_long(struct cbor_buf *b)
{
	char	s[ADDR_STRLEN + 1];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	put_common(b, 1, 1, 32, "n");
	cbor_put_text(b, "listen");
	cbor_put_array(b, 1);
	cbor_put_text(b, s);
}

static void
fill_no_version(struct cbor_buf *b)
{
	uint8_t	id[32] = { 0 };

	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_bytes(b, id, sizeof(id));
	cbor_put_text(b, "name");
	cbor_put_text(b, "n");
}

static void
fill_not_map(struct cbor_buf *b)
{
	cbor_put_array(b, 0);
}

START_TEST(test_decode_rules)
{
	const char	*why;

	ck_assert_int_eq(decode_map(fill_ok, &why), 0);
	ck_assert_int_eq(decode_map(fill_unknown_key, &why), 0);
	ck_assert_int_eq(decode_map(fill_v2, &why), -1);
	ck_assert_str_eq(why, "unsupported protocol version");
	ck_assert_int_eq(decode_map(fill_short_id, &why), -1);
	ck_assert_str_eq(why, "HELLO without a 32-byte id");
	ck_assert_int_eq(decode_map(fill_bad_name, &why), -1);
	ck_assert_int_eq(decode_map(fill_empty_name, &why), -1);
	ck_assert_str_eq(why, "HELLO without a valid name");
	ck_assert_int_eq(decode_map(fill_listen_not_text, &why), -1);
	ck_assert_int_eq(decode_map(fill_listen_too_many, &why), -1);
	ck_assert_int_eq(decode_map(fill_listen_too_long, &why), -1);
	ck_assert_int_eq(decode_map(fill_no_version, &why), -1);
	ck_assert_str_eq(why, "HELLO without a version");
	ck_assert_int_eq(decode_map(fill_not_map, &why), -1);
}
END_TEST

/* Decodes a HELLO-like map with the given features. */
static unsigned
features_of(const char *const *names, size_t n, bool as_array)
{
	struct cbor_buf	 b = { 0 };
	struct hello	 h;
	const char	*why;
	size_t		 i;

	put_common(&b, 1, 1, 32, "n");
	cbor_put_text(&b, "features");
	if (as_array) {
		cbor_put_array(&b, n);
		for (i = 0; i < n; i++)
			cbor_put_text(&b, names[i]);
	} else
		cbor_put_text(&b, "wide-batch");
	ck_assert_int_eq(hello_decode(b.data, b.len, &h, &why), 0);
	cbor_buf_free(&b);
	return h.features;
}

/*
 * Features are optional: those we know are taken, others ignored, and
 * a malformed list says nothing rather than refusing the peer.
 */
START_TEST(test_features)
{
	static const char *const	 none[] = { NULL };
	static const char *const	 wide[] = { "future", "wide-batch" };
	static const char *const	 both[] = { "auth", "wide-batch" };
	static const char *const	 other[] = { "wide-batch2", "wide" };
	const char			*many[HELLO_FEATURES_MAX + 1];
	struct cbor_buf			 b = { 0 };
	struct hello			 h, back;
	const char			*why;
	size_t				 i;

	sample(&h);
	h.features = HELLO_WIDE_BATCH;
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.features, HELLO_WIDE_BATCH);
	cbor_buf_free(&b);
	sample(&h);
	h.features = HELLO_WIDE_BATCH | HELLO_AUTH;
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.features, HELLO_WIDE_BATCH | HELLO_AUTH);
	cbor_buf_free(&b);
	/* An old peer says nothing. */
	sample(&h);
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.features, 0);
	cbor_buf_free(&b);

	ck_assert_uint_eq(features_of(none, 0, true), 0);
	ck_assert_uint_eq(features_of(wide, 2, true), HELLO_WIDE_BATCH);
	ck_assert_uint_eq(features_of(other, 2, true), 0);
	ck_assert_uint_eq(features_of(both, 2, true), HELLO_WIDE_BATCH |
	    HELLO_AUTH);
	ck_assert_uint_eq(features_of(both, 1, true), HELLO_AUTH);
	ck_assert_uint_eq(features_of(wide, 2, false), 0);
	for (i = 0; i < HELLO_FEATURES_MAX + 1; i++)
		many[i] = "wide-batch";
	ck_assert_uint_eq(features_of(many, HELLO_FEATURES_MAX, true),
	    HELLO_WIDE_BATCH);
	ck_assert_uint_eq(features_of(many, HELLO_FEATURES_MAX + 1, true), 0);
}
END_TEST

/* A HELLO with the given "kg" value after the fields of sample(). */
static int
decode_kg(void (*put)(struct cbor_buf *), struct hello *back)
{
	struct cbor_buf	 b = { 0 };
	struct hello	 h;
	const char	*why;
	int		 rc;

	sample(&h);
	hello_encode(&h, &b);
	b.data[0]++;		/* one more pair in the map */
	cbor_put_text(&b, "kg");
	put(&b);
	rc = hello_decode(b.data, b.len, back, &why);
	cbor_buf_free(&b);
	return rc;
}

static void
kg_uint(struct cbor_buf *b)
{
	cbor_put_uint(b, 3);
}

static void
kg_short_kid(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	cbor_put_uint(b, 3);
	cbor_put_bytes(b, "1234567", 7);
}

static void
kg_three(struct cbor_buf *b)
{
	cbor_put_array(b, 3);
	cbor_put_uint(b, 3);
	cbor_put_bytes(b, "12345678", 8);
	cbor_put_uint(b, 0);
}

static void
kg_text_gen(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	cbor_put_text(b, "3");
	cbor_put_bytes(b, "12345678", 8);
}

/*
 * The key's generation and ID round trip; a malformed "kg" is taken as
 * none, as an old peer sends none, rather than refusing the peer.
 */
START_TEST(test_kg)
{
	static void		(*const bad[])(struct cbor_buf *) = {
				    kg_uint, kg_short_kid, kg_three,
				    kg_text_gen };
	struct cbor_buf		 b = { 0 };
	struct hello		 h, back;
	const char		*why;
	size_t			 i;

	sample(&h);
	h.has_kg = true;
	h.kgen = UINT64_C(1) << 40;
	memcpy(h.kid, "abcdefgh", HELLO_KID_LEN);
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert(back.has_kg);
	ck_assert_uint_eq(back.kgen, h.kgen);
	ck_assert_mem_eq(back.kid, "abcdefgh", HELLO_KID_LEN);
	cbor_buf_free(&b);
	sample(&h);
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert(!back.has_kg);
	cbor_buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(decode_kg(bad[i], &back), 0);
		ck_assert(!back.has_kg);
		ck_assert_uint_eq(back.kgen, 0);
	}
}
END_TEST

/* A HELLO whose "rv" is what fill writes, decoded into h. */
static int
decode_rv(void (*fill)(struct cbor_buf *), struct hello *h)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		 id[NODE_ID_LEN];
	const char	*why;
	int		 rc;

	memset(id, 0x42, sizeof(id));
	cbor_put_map(&b, 4);
	cbor_put_text(&b, "v");
	cbor_put_uint(&b, HELLO_VERSION);
	cbor_put_text(&b, "id");
	cbor_put_bytes(&b, id, sizeof(id));
	cbor_put_text(&b, "name");
	cbor_put_text(&b, "n");
	cbor_put_text(&b, "rv");
	fill(&b);
	rc = hello_decode(b.data, b.len, h, &why);
	cbor_buf_free(&b);
	return rc;
}

static void
rv_text(struct cbor_buf *b)
{
	cbor_put_text(b, "rv");
}

static void
rv_short_digest(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	cbor_put_uint(b, 1);
	cbor_put_bytes(b, "1234567", 7);
}

static void
rv_three(struct cbor_buf *b)
{
	cbor_put_array(b, 3);
	cbor_put_uint(b, 1);
	cbor_put_bytes(b, "12345678", 8);
	cbor_put_uint(b, 1);
}

static void
rv_negative(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	cbor_put_int(b, -1);
	cbor_put_bytes(b, "12345678", 8);
}

/*
 * "rv", the revocations a peer holds: absent when none; a malformed one
 * does not refuse the peer, and reads as a set unlike any (it then gets
 * ours, and drops the copies).
 */
START_TEST(test_revocations)
{
	struct cbor_buf	 b = { 0 };
	struct hello	 h, back;
	const char	*why;

	sample(&h);
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.rv_count, 0);
	cbor_buf_reset(&b);
	h.rv_count = 3;
	memcpy(h.rv, "abcdefgh", HELLO_RV_LEN);
	hello_encode(&h, &b);
	ck_assert_int_eq(hello_decode(b.data, b.len, &back, &why), 0);
	ck_assert_uint_eq(back.rv_count, 3);
	ck_assert_mem_eq(back.rv, "abcdefgh", HELLO_RV_LEN);
	cbor_buf_free(&b);
	ck_assert_int_eq(decode_rv(rv_text, &back), 0);
	ck_assert_uint_eq(back.rv_count, UINT64_MAX);
	ck_assert_int_eq(decode_rv(rv_short_digest, &back), 0);
	ck_assert_uint_eq(back.rv_count, UINT64_MAX);
	ck_assert_int_eq(decode_rv(rv_three, &back), 0);
	ck_assert_uint_eq(back.rv_count, UINT64_MAX);
	ck_assert_int_eq(decode_rv(rv_negative, &back), 0);
	ck_assert_uint_eq(back.rv_count, UINT64_MAX);
}
END_TEST

START_TEST(test_truncated_and_oversized)
{
	struct cbor_buf	 b = { 0 };
	struct hello	 h;
	const char	*why;
	static uint8_t	 big[HELLO_MAX + 1];
	size_t		 i;

	sample(&h);
	hello_encode(&h, &b);
	for (i = 0; i < b.len; i++)
		ck_assert_int_eq(hello_decode(b.data, i, &h, &why), -1);
	ck_assert_int_eq(hello_decode(big, sizeof(big), &h, &why), -1);
	cbor_buf_free(&b);
}
END_TEST

Suite *
hello_suite(void)
{
	Suite	*s = suite_create("hello");
	TCase	*tc = tcase_create("hello");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_decode_rules);
	tcase_add_test(tc, test_features);
	tcase_add_test(tc, test_kg);
	tcase_add_test(tc, test_revocations);
	tcase_add_test(tc, test_truncated_and_oversized);
	suite_add_tcase(s, tc);
	return s;
}
