/* SPDX-License-Identifier: ISC */
/*
 * test_beacon.c: sealing and opening discovery beacons: the round trip,
 * beacons of other networks, damage anywhere, timestamps at the edge of
 * the window, and every malformed plaintext.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "beacon.h"
#include "cbor_buf.h"
#include "suites.h"

#define NOW	1700000000ull

static uint8_t	netkey[32], key[BEACON_KEY_LEN], id[32];

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(netkey, sizeof(netkey));
	randombytes_buf(id, sizeof(id));
	beacon_key(netkey, key);
}

/* Opens b at time now; checks the result against id and port. */
static int
open_check(const uint8_t *b, size_t len, uint64_t now, uint16_t want_port)
{
	uint8_t		got[32];
	uint16_t	port = 0;

	if (beacon_open(key, b, len, now, got, &port) == -1)
		return -1;
	ck_assert_mem_eq(got, id, sizeof(got));
	ck_assert_uint_eq(port, want_port);
	return 0;
}

START_TEST(test_round_trip)
{
	uint8_t	a[BEACON_MAX], b[BEACON_MAX];
	ssize_t	na, nb;

	na = beacon_seal(key, id, 7654, NOW, a, sizeof(a));
	ck_assert_int_gt(na, BEACON_OVERHEAD);
	ck_assert_int_le(na, BEACON_MAX);
	ck_assert_int_eq(a[0], BEACON_VERSION);
	ck_assert_int_eq(open_check(a, (size_t)na, NOW, 7654), 0);

	/* A fresh nonce each time: equal beacons never look alike. */
	nb = beacon_seal(key, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_eq(na, nb);
	ck_assert(memcmp(a, b, (size_t)na) != 0);

	nb = beacon_seal(key, id, 65535, NOW, b, sizeof(b));
	ck_assert_int_eq(open_check(b, (size_t)nb, NOW, 65535), 0);
	nb = beacon_seal(key, id, 1, NOW, b, sizeof(b));
	ck_assert_int_eq(open_check(b, (size_t)nb, NOW, 1), 0);
}
END_TEST

START_TEST(test_seal_needs_room)
{
	uint8_t	b[BEACON_MAX], big[BEACON_PLAIN_MAX + 1];
	ssize_t	n;

	n = beacon_seal(key, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(beacon_seal(key, id, 7654, NOW, b, (size_t)n - 1), -1);
	ck_assert_int_eq(beacon_seal(key, id, 7654, NOW, b, (size_t)n), n);
	memset(big, 0, sizeof(big));
	ck_assert_int_eq(beacon_seal_plain(key, big, sizeof(big), b,
	    sizeof(b)), -1);
	ck_assert_int_eq(beacon_seal_plain(key, big, sizeof(big) - 1, b,
	    sizeof(b)), BEACON_MAX);
}
END_TEST

START_TEST(test_key_derivation)
{
	uint8_t	k1[BEACON_KEY_LEN], k2[BEACON_KEY_LEN], other[32];

	beacon_key(netkey, k1);
	ck_assert_mem_eq(k1, key, sizeof(k1));
	/* Not the network key, which the mesh handshake uses as its psk. */
	ck_assert(memcmp(k1, netkey, sizeof(k1)) != 0);
	memcpy(other, netkey, sizeof(other));
	other[31] ^= 1;
	beacon_key(other, k2);
	ck_assert(memcmp(k1, k2, sizeof(k1)) != 0);
}
END_TEST

START_TEST(test_other_network)
{
	uint8_t		b[BEACON_MAX], other[32], got[32];
	uint8_t		okey[BEACON_KEY_LEN];
	uint16_t	port;
	ssize_t		n;

	randombytes_buf(other, sizeof(other));
	beacon_key(other, okey);
	n = beacon_seal(okey, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), -1);
	ck_assert_int_eq(beacon_open(okey, b, (size_t)n, NOW, got, &port), 0);
	/* Sealed with the raw network key instead of the derived one. */
	n = beacon_seal(netkey, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), -1);
}
END_TEST

/*
 * Across a rotation: a beacon sealed with either of two keys opens
 * under the pair, saying which; one of a third network does not.
 */
START_TEST(test_open_any)
{
	uint8_t		keys[2][BEACON_KEY_LEN], other[32], b[BEACON_MAX];
	uint8_t		got[32];
	uint16_t	port = 0;
	ssize_t		n;

	memcpy(keys[0], key, BEACON_KEY_LEN);
	randombytes_buf(other, sizeof(other));
	beacon_key(other, keys[1]);
	n = beacon_seal(keys[1], id, 7001, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])
	    keys, 2, b, (size_t)n, NOW, got, &port), 1);
	ck_assert_mem_eq(got, id, sizeof(got));
	ck_assert_uint_eq(port, 7001);
	/* The current key alone: the old network's beacon is not ours. */
	ck_assert_int_eq(beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])
	    keys, 1, b, (size_t)n, NOW, got, &port), -1);
	n = beacon_seal(keys[0], id, 7002, NOW, b, sizeof(b));
	ck_assert_int_eq(beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])
	    keys, 2, b, (size_t)n, NOW, got, &port), 0);
	ck_assert_uint_eq(port, 7002);
	randombytes_buf(other, sizeof(other));
	beacon_key(other, keys[1]);
	n = beacon_seal(keys[1], id, 7003, NOW, b, sizeof(b));
	beacon_key(netkey, keys[1]);
	ck_assert_int_eq(beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])
	    keys, 2, b, (size_t)n, NOW, got, &port), -1);
	ck_assert_int_eq(beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])
	    keys, 0, b, (size_t)n, NOW, got, &port), -1);
}
END_TEST

START_TEST(test_bit_flips)
{
	uint8_t	b[BEACON_MAX];
	ssize_t	n;
	size_t	i;
	int	bit;

	n = beacon_seal(key, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	for (i = 0; i < (size_t)n; i++)
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1 << bit);
			ck_assert_msg(open_check(b, (size_t)n, NOW, 7654) == -1,
			    "flipped bit %d of byte %zu opened", bit, i);
			b[i] ^= (uint8_t)(1 << bit);
		}
	ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), 0);
}
END_TEST

START_TEST(test_truncated_and_extended)
{
	uint8_t	b[BEACON_MAX + 1];
	ssize_t	n;
	size_t	len;

	n = beacon_seal(key, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	for (len = 0; len < (size_t)n; len++)
		ck_assert_msg(open_check(b, len, NOW, 7654) == -1,
		    "%zu of %zd bytes opened", len, n);
	b[n] = 0;
	ck_assert_int_eq(open_check(b, (size_t)n + 1, NOW, 7654), -1);
	ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), 0);
}
END_TEST

START_TEST(test_oversized)
{
	uint8_t	b[BEACON_MAX + 1], plain[BEACON_PLAIN_MAX];
	ssize_t	n;

	/* The largest beacon that fits opens as far as the plaintext. */
	memset(plain, 0, sizeof(plain));
	n = beacon_seal_plain(key, plain, sizeof(plain), b, sizeof(b));
	ck_assert_int_eq(n, BEACON_MAX);
	ck_assert_int_eq(open_check(b, BEACON_MAX + 1, NOW, 7654), -1);
}
END_TEST

START_TEST(test_wrong_version)
{
	uint8_t	b[BEACON_MAX];
	ssize_t	n;
	int	v;

	n = beacon_seal(key, id, 7654, NOW, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	for (v = 0; v < 256; v++) {
		if (v == BEACON_VERSION)
			continue;
		b[0] = (uint8_t)v;
		ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), -1);
	}
	b[0] = BEACON_VERSION;
	ck_assert_int_eq(open_check(b, (size_t)n, NOW, 7654), 0);
}
END_TEST

static const struct {
	int64_t	skew;		/* ts - now */
	int	want;
} skews[] = {
	{ 0, 0 },
	{ -299, 0 },
	{ 299, 0 },
	{ -BEACON_SKEW, 0 },
	{ BEACON_SKEW, 0 },
	{ -301, -1 },
	{ 301, -1 },
	{ -86400, -1 },
	{ 86400, -1 },
};

START_TEST(test_timestamps)
{
	uint8_t		b[BEACON_MAX];
	uint64_t	ts = (uint64_t)((int64_t)NOW + skews[_i].skew);
	ssize_t		n;

	n = beacon_seal(key, id, 7654, ts, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	ck_assert_msg(open_check(b, (size_t)n, NOW, 7654) == skews[_i].want,
	    "ts %+lld s from now", (long long)skews[_i].skew);
}
END_TEST

START_TEST(test_timestamp_extremes)
{
	uint8_t	b[BEACON_MAX];
	ssize_t	n;

	/* No wrap-around at either end of the range. */
	n = beacon_seal(key, id, 7654, UINT64_MAX, b, sizeof(b));
	ck_assert_int_eq(open_check(b, (size_t)n, 0, 7654), -1);
	ck_assert_int_eq(open_check(b, (size_t)n, UINT64_MAX, 7654), 0);
	n = beacon_seal(key, id, 7654, 0, b, sizeof(b));
	ck_assert_int_eq(open_check(b, (size_t)n, UINT64_MAX, 7654), -1);
	ck_assert_int_eq(open_check(b, (size_t)n, 200, 7654), 0);
}
END_TEST

/* Which field a hand-made plaintext spoils, and how. */
enum plain_case {
	PC_VALID,
	PC_VALID_EXTRA_KEYS,
	PC_VALID_REORDERED,
	PC_NOT_A_MAP,
	PC_EMPTY,
	PC_EMPTY_MAP,
	PC_TRAILING_BYTE,
	PC_NO_V,
	PC_V2,
	PC_V0,
	PC_V_TEXT,
	PC_NO_ID,
	PC_ID_31,
	PC_ID_33,
	PC_ID_TEXT,
	PC_NO_PORT,
	PC_PORT_0,
	PC_PORT_65536,
	PC_PORT_NEGATIVE,
	PC_PORT_TEXT,
	PC_NO_TS,
	PC_TS_TEXT,
	PC_TS_NEGATIVE,
	PC_REPEATED_KEY,
	PC_TOO_MANY_KEYS,
	PC_INT_KEY,
	PC_COUNT
};

/* What beacon_open() must say: only the valid cases open. */
static int
plain_want(int c)
{
	return c == PC_VALID || c == PC_VALID_EXTRA_KEYS ||
	    c == PC_VALID_REORDERED ? 0 : -1;
}

/* Writes a beacon's map, spoilt as c says. */
static void
put_fields(struct cbor_buf *b, enum plain_case c)
{
	int	n = 4;

	if (c == PC_NO_V || c == PC_NO_ID || c == PC_NO_PORT ||
	    c == PC_NO_TS)
		n = 3;
	if (c == PC_VALID_EXTRA_KEYS)
		n = 6;
	if (c == PC_REPEATED_KEY)
		n = 5;
	if (c == PC_TOO_MANY_KEYS)
		n = 17;
	if (c == PC_INT_KEY)
		n = 5;
	cbor_put_map(b, (size_t)n);
	if (c == PC_VALID_EXTRA_KEYS) {
		cbor_put_text(b, "name");
		cbor_put_text(b, "future");
		cbor_put_text(b, "addrs");
		cbor_put_array(b, 1);
		cbor_put_bytes(b, "\x7f\0\0\1", 4);
	}
	if (c == PC_VALID_REORDERED) {
		cbor_put_text(b, "ts");
		cbor_put_uint(b, NOW);
	}
	if (c != PC_NO_V) {
		cbor_put_text(b, "v");
		if (c == PC_V2)
			cbor_put_uint(b, 2);
		else if (c == PC_V0)
			cbor_put_uint(b, 0);
		else if (c == PC_V_TEXT)
			cbor_put_text(b, "1");
		else
			cbor_put_uint(b, 1);
	}
	if (c != PC_NO_ID) {
		cbor_put_text(b, "id");
		if (c == PC_ID_31)
			cbor_put_bytes(b, id, 31);
		else if (c == PC_ID_33) {
			uint8_t	long_id[33];

			memcpy(long_id, id, 32);
			long_id[32] = 0;
			cbor_put_bytes(b, long_id, sizeof(long_id));
		} else if (c == PC_ID_TEXT)
			cbor_put_textn(b, "0123456789abcdef0123456789abcdef",
			    32);
		else
			cbor_put_bytes(b, id, 32);
	}
	if (c != PC_NO_PORT) {
		cbor_put_text(b, "port");
		if (c == PC_PORT_0)
			cbor_put_uint(b, 0);
		else if (c == PC_PORT_65536)
			cbor_put_uint(b, 65536);
		else if (c == PC_PORT_NEGATIVE)
			cbor_put_int(b, -7654);
		else if (c == PC_PORT_TEXT)
			cbor_put_text(b, "7654");
		else
			cbor_put_uint(b, 7654);
	}
	if (c != PC_NO_TS && c != PC_VALID_REORDERED) {
		cbor_put_text(b, "ts");
		if (c == PC_TS_TEXT)
			cbor_put_text(b, "1700000000");
		else if (c == PC_TS_NEGATIVE)
			cbor_put_int(b, -1);
		else
			cbor_put_uint(b, NOW);
	}
	if (c == PC_REPEATED_KEY) {
		cbor_put_text(b, "port");
		cbor_put_uint(b, 1);
	}
	if (c == PC_TOO_MANY_KEYS) {
		char	k[4];
		int	i;

		for (i = 0; i < 13; i++) {
			k[0] = 'x';
			k[1] = (char)('a' + i);
			k[2] = '\0';
			cbor_put_text(b, k);
			cbor_put_null(b);
		}
	}
	if (c == PC_INT_KEY) {
		cbor_put_uint(b, 5);
		cbor_put_uint(b, 5);
	}
}

START_TEST(test_malformed_plaintext)
{
	struct cbor_buf	p = { 0 };
	uint8_t		b[BEACON_MAX];
	ssize_t		n;

	switch (_i) {
	case PC_NOT_A_MAP:
		cbor_put_array(&p, 4);
		cbor_put_uint(&p, 1);
		cbor_put_bytes(&p, id, 32);
		cbor_put_uint(&p, 7654);
		cbor_put_uint(&p, NOW);
		break;
	case PC_EMPTY:
		break;
	case PC_EMPTY_MAP:
		cbor_put_map(&p, 0);
		break;
	case PC_TRAILING_BYTE:
		put_fields(&p, PC_VALID);
		cbor_put_null(&p);
		break;
	default:
		put_fields(&p, (enum plain_case)_i);
		break;
	}
	ck_assert(!p.failed);
	n = beacon_seal_plain(key, p.data, p.len, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	ck_assert_msg(open_check(b, (size_t)n, NOW, 7654) == plain_want(_i),
	    "plaintext case %d", _i);
	cbor_buf_free(&p);
}
END_TEST

Suite *
beacon_suite(void)
{
	Suite	*s = suite_create("beacon");
	TCase	*tc = tcase_create("beacon");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_seal_needs_room);
	tcase_add_test(tc, test_key_derivation);
	tcase_add_test(tc, test_other_network);
	tcase_add_test(tc, test_open_any);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_truncated_and_extended);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_wrong_version);
	tcase_add_loop_test(tc, test_timestamps, 0,
	    sizeof(skews) / sizeof(skews[0]));
	tcase_add_test(tc, test_timestamp_extremes);
	tcase_add_loop_test(tc, test_malformed_plaintext, 0, PC_COUNT);
	suite_add_tcase(s, tc);
	return s;
}
