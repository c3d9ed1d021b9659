/* SPDX-License-Identifier: ISC */
/*
 * test_token.c: join tokens: round trips up to the largest token, what
 * copy and paste does to them, and every malformed token, including
 * well-checksummed ones with bad contents.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "suites.h"
#include "token.h"

#define PLEN	(sizeof(TOKEN_PREFIX) - 1)

static const char	*sixteen[TOKEN_ADDRS_MAX] = {
	"192.0.2.1:7654", "[2001:db8::1]:7654", "[fe80::1%eth0]:7654",
	"[::1]:1", "node-1.example.org:7654", "localhost:65535",
	"10.0.0.1:443", "[2001:db8:85a3::8a2e:370:7334]:7654",
	"peer_2.lan:9000", "198.51.100.7:7654", "[::ffff:192.0.2.1]:7654",
	"a:1", "203.0.113.255:7654", "xn--bcher-kva.example:7654",
	"[fd00::abcd]:65535", "127.0.0.1:7654",
};

static void
sample(struct token *t, int naddrs)
{
	int	i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < TOKEN_KEY_LEN; i++)
		t->network_key[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < naddrs; i++)
		snprintf(t->addrs[i], TOKEN_ADDR_LEN, "%s", sixteen[i]);
	t->naddrs = naddrs;
}

static void
assert_same(const struct token *a, const struct token *b)
{
	int	i;

	ck_assert_mem_eq(a->network_key, b->network_key, TOKEN_KEY_LEN);
	ck_assert_int_eq(a->naddrs, b->naddrs);
	for (i = 0; i < a->naddrs; i++)
		ck_assert_str_eq(a->addrs[i], b->addrs[i]);
	ck_assert_int_eq(a->nadmins, b->nadmins);
	for (i = 0; i < a->nadmins; i++)
		ck_assert_mem_eq(a->admins[i], b->admins[i], TOKEN_ID_LEN);
}

/* n admins, each ID of bytes i + 1. */
static void
sample_admins(struct token *t, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		memset(t->admins[i], i + 1, TOKEN_ID_LEN);
	t->nadmins = n;
}

/* Encodes t, decodes it and checks both the token and its text. */
static void
round_trip(const struct token *t, char *text)
{
	struct token	 back;
	char		 again[TOKEN_STRLEN_MAX];
	const char	*why = "untouched";

	ck_assert_int_eq(token_encode(t, text, TOKEN_STRLEN_MAX), 0);
	ck_assert_uint_lt(strlen(text), TOKEN_STRLEN_MAX);
	ck_assert_int_eq(strncmp(text, TOKEN_PREFIX, PLEN), 0);
	ck_assert_msg(token_decode(text, &back, &why) == 0, "%s", why);
	ck_assert_str_eq(why, "untouched");
	assert_same(t, &back);
	ck_assert_int_eq(token_encode(&back, again, sizeof(again)), 0);
	ck_assert_str_eq(again, text);
}

START_TEST(test_round_trip_one)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX];
	size_t		i;

	sample(&t, 1);
	round_trip(&t, text);
	for (i = PLEN; text[i] != '\0'; i++)
		ck_assert(islower((unsigned char)text[i]) ||
		    (text[i] >= '2' && text[i] <= '7'));
}
END_TEST

START_TEST(test_round_trip_sixteen)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX];

	sample(&t, TOKEN_ADDRS_MAX);
	round_trip(&t, text);
}
END_TEST

/* Sixteen addresses as long as addr_split() allows: the largest token. */
START_TEST(test_round_trip_longest)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX], host[HOST_MAX];
	int		i;

	memset(host, 'h', HOST_MAX - 1);
	host[HOST_MAX - 1] = '\0';
	sample(&t, 0);
	memset(t.network_key, 0xff, sizeof(t.network_key));
	for (i = 0; i < TOKEN_ADDRS_MAX; i++) {
		ck_assert_int_eq(snprintf(t.addrs[i], TOKEN_ADDR_LEN,
		    "[%s]:65535", host), TOKEN_ADDR_LEN - 1);
		t.addrs[i][1 + i % 8] = (char)('0' + i % 10);
	}
	t.naddrs = TOKEN_ADDRS_MAX;
	sample_admins(&t, TOKEN_ADMINS_MAX);
	round_trip(&t, text);
	/* The derived bound is an upper bound, and not a loose one. */
	ck_assert_uint_le(TOKEN_STRLEN_MAX - strlen(text), 16);
}
END_TEST

/*
 * Admins make a 3-element token; without them the token is the
 * 2-element one that peerd before admins reads, byte for byte.
 */
START_TEST(test_round_trip_admins)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX], plain[TOKEN_STRLEN_MAX];
	int		n;

	sample(&t, 2);
	round_trip(&t, plain);
	for (n = 1; n <= TOKEN_ADMINS_MAX; n++) {
		sample_admins(&t, n);
		round_trip(&t, text);
		ck_assert_uint_gt(strlen(text), strlen(plain));
	}
	t.nadmins = TOKEN_ADMINS_MAX + 1;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	t.nadmins = -1;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	t.nadmins = 0;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	ck_assert_str_eq(text, plain);
}
END_TEST

START_TEST(test_case_and_white_space)
{
	struct token	 t, back;
	char		 text[TOKEN_STRLEN_MAX], wrapped[TOKEN_STRLEN_MAX + 8];
	const char	*why = NULL;
	size_t		 i;

	sample(&t, 3);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	for (i = 0; text[i] != '\0'; i++)
		text[i] = (char)toupper((unsigned char)text[i]);
	ck_assert_msg(token_decode(text, &back, &why) == 0, "%s", why);
	assert_same(&t, &back);

	snprintf(wrapped, sizeof(wrapped), "  \t%s\r\n", text);
	ck_assert_msg(token_decode(wrapped, &back, &why) == 0, "%s", why);
	assert_same(&t, &back);
	snprintf(wrapped, sizeof(wrapped), "%s\n", text);
	wrapped[3] = (char)tolower((unsigned char)wrapped[3]);
	wrapped[20] = (char)tolower((unsigned char)wrapped[20]);
	ck_assert_msg(token_decode(wrapped, &back, &why) == 0, "%s", why);
	assert_same(&t, &back);
}
END_TEST

/* Decodes text, expecting failure with reason want. */
static void
refused(const char *text, const char *want)
{
	struct token	 t;
	const char	*why = NULL;
	static uint8_t	 zero[sizeof(t)];

	ck_assert_int_eq(token_decode(text, &t, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, want);
	/* Nothing of a refused token is left behind, the key least of all. */
	ck_assert_mem_eq(&t, zero, sizeof(t));
}

START_TEST(test_not_a_token)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX], other[TOKEN_STRLEN_MAX + 8];

	sample(&t, 1);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	refused("", "not a peerd token");
	refused(" \t\r\n ", "not a peerd token");
	refused("peerd1", "not a peerd token");
	refused(text + PLEN, "not a peerd token");	/* prefix lost */
	snprintf(other, sizeof(other), "peerd2-%s", text + PLEN);
	refused(other, "not a peerd token");
	snprintf(other, sizeof(other), "x%s", text);
	refused(other, "not a peerd token");
	snprintf(other, sizeof(other), "peerd1_%s", text + PLEN);
	refused(other, "not a peerd token");
	refused(TOKEN_PREFIX, "damaged (length)");
	refused(TOKEN_PREFIX "aaaaaaa", "damaged (length)");
}
END_TEST

START_TEST(test_not_base32)
{
	static const char	*bad[] = { "0", "1", "8", "9", "=", "-", " ",
	    "\t", "\xc3\xa9", "/", "+" };
	struct token		 t;
	char			 text[TOKEN_STRLEN_MAX];
	char			 other[TOKEN_STRLEN_MAX + 8];
	size_t			 i, half;

	sample(&t, 2);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	half = PLEN + (strlen(text) - PLEN) / 2;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* In place of a character, and added in the middle. */
		snprintf(other, sizeof(other), "%.*s%s%s", (int)half, text,
		    bad[i], text + half + 1);
		refused(other, "damaged (not base32)");
		snprintf(other, sizeof(other), "%.*s%s%s", (int)half, text,
		    bad[i], text + half);
		refused(other, "damaged (not base32)");
	}
	/* A token broken over two lines. */
	snprintf(other, sizeof(other), "%.*s\n%s", (int)half, text,
	    text + half);
	refused(other, "damaged (not base32)");
}
END_TEST

START_TEST(test_truncated)
{
	struct token	 t;
	char		 text[TOKEN_STRLEN_MAX], cut[TOKEN_STRLEN_MAX];
	const char	*why;
	size_t		 len, i;

	sample(&t, 2);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	len = strlen(text);

	/* One character short, then every other length. */
	memcpy(cut, text, len - 1);
	cut[len - 1] = '\0';
	ck_assert_int_eq(token_decode(cut, &t, &why), -1);
	ck_assert_int_eq(strncmp(why, "damaged", 7), 0);
	for (i = 0; i < len; i++) {
		memcpy(cut, text, i);
		cut[i] = '\0';
		ck_assert_int_eq(token_decode(cut, &t, &why), -1);
		if (i < PLEN)
			ck_assert_str_eq(why, "not a peerd token");
		else
			ck_assert_int_eq(strncmp(why, "damaged", 7), 0);
	}
}
END_TEST

START_TEST(test_one_char_changed)
{
	static const char	 alphabet[] =
	    "abcdefghijklmnopqrstuvwxyz234567";
	struct token		 t;
	char			 text[TOKEN_STRLEN_MAX], copy[TOKEN_STRLEN_MAX];
	size_t			 i, k;

	sample(&t, 2);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	for (i = PLEN; text[i] != '\0'; i++) {
		k = (size_t)(strchr(alphabet, text[i]) - alphabet);
		memcpy(copy, text, sizeof(copy));
		copy[i] = alphabet[(k + 1 + i % 31) % 32];
		refused(copy, "damaged (checksum)");
	}
	/* Two characters swapped. */
	memcpy(copy, text, sizeof(copy));
	for (i = PLEN + 10; copy[i] == copy[i + 1]; i++)
		;
	copy[i] = text[i + 1];
	copy[i + 1] = text[i];
	refused(copy, "damaged (checksum)");
}
END_TEST

START_TEST(test_too_long)
{
	size_t	 body = TOKEN_STRLEN_MAX - 1 - PLEN;
	char	*text;
	size_t	 big = 1 << 20;

	ck_assert_ptr_nonnull(text = malloc(big + 1));
	memcpy(text, TOKEN_PREFIX, PLEN);
	memset(text + PLEN, 'a', big - PLEN);
	text[big] = '\0';
	refused(text, "too long for a peerd token");
	text[PLEN + body + 1] = '\0';
	refused(text, "too long for a peerd token");
	/* As long as a token can be: read, then found damaged. */
	text[PLEN + body] = '\0';
	refused(text, "damaged (checksum)");
	free(text);
}
END_TEST

START_TEST(test_encode_small_buffer)
{
	struct token	t;
	char		text[TOKEN_STRLEN_MAX], small[TOKEN_STRLEN_MAX];
	size_t		len;

	sample(&t, 4);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), 0);
	len = strlen(text);
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(token_encode(&t, small, len), -1);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(token_encode(&t, small, 1), -1);
	ck_assert_int_eq(token_encode(&t, small, 0), -1);
	ck_assert_int_eq(token_encode(&t, small, len + 1), 0);
	ck_assert_str_eq(small, text);
}
END_TEST

START_TEST(test_encode_refuses)
{
	static const char	*bad[] = {
		"192.0.2.1:0", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536",
		"192.0.2.1:-1", "192.0.2.1:+80", "::1:7654", "[::1]7654",
		"[::1]", ":7654", "a b:7654", "h\xc3\xa9:7654", "",
	};
	struct token		 t;
	char			 text[TOKEN_STRLEN_MAX];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sample(&t, 2);
		snprintf(t.addrs[1], TOKEN_ADDR_LEN, "%s", bad[i]);
		ck_assert_msg(token_encode(&t, text, sizeof(text)) == -1,
		    "accepted \"%s\"", bad[i]);
	}
	sample(&t, 1);
	t.naddrs = 0;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	t.naddrs = -1;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	sample(&t, TOKEN_ADDRS_MAX);
	t.naddrs = TOKEN_ADDRS_MAX + 1;
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	/* A host name one longer than addr_split() takes. */
	sample(&t, 1);
	memset(t.addrs[0], 'h', HOST_MAX);
	snprintf(t.addrs[0] + HOST_MAX, 7, ":7654");
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
	/* An address that is not NUL-terminated. */
	memset(t.addrs[0], '1', TOKEN_ADDR_LEN);
	ck_assert_int_eq(token_encode(&t, text, sizeof(text)), -1);
}
END_TEST

/*
 * Well-checksummed tokens around hand-made CBOR: what only a broken or
 * foreign encoder could produce.
 */
static void
seal(const struct cbor_buf *b, char *text)
{
	uint8_t	raw[TOKEN_RAW_MAX], hash[crypto_generichash_BYTES];

	ck_assert(!b->failed);
	ck_assert_uint_le(b->len, TOKEN_CBOR_MAX);
	memcpy(raw, b->data, b->len);
	crypto_generichash(hash, sizeof(hash), b->data, b->len, NULL, 0);
	memcpy(raw + b->len, hash, TOKEN_SUM_LEN);
	memcpy(text, TOKEN_PREFIX, PLEN);
	base32_encode(raw, b->len + TOKEN_SUM_LEN, text + PLEN);
}

static void
put_key(struct cbor_buf *b, size_t len)
{
	uint8_t	key[TOKEN_KEY_LEN + 1];

	memset(key, 0xa5, sizeof(key));
	cbor_put_bytes(b, key, len);
}

static void
put_addrs(struct cbor_buf *b, size_t n, const char *addr)
{
	size_t	i;

	cbor_put_array(b, n);
	for (i = 0; i < n; i++)
		cbor_put_text(b, addr);
}

static void
put_one(struct cbor_buf *b, const char *addr)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, addr);
}

static void craft_ok(struct cbor_buf *b) { put_one(b, "192.0.2.1:7654"); }
static void craft_port_0(struct cbor_buf *b) { put_one(b, "192.0.2.1:0"); }
static void craft_no_port(struct cbor_buf *b) { put_one(b, "192.0.2.1"); }
static void craft_big_port(struct cbor_buf *b) { put_one(b, "h:65536"); }
static void craft_bare_v6(struct cbor_buf *b) { put_one(b, "fd00::1:7654"); }
static void craft_space(struct cbor_buf *b) { put_one(b, "a b:7654"); }
static void craft_empty_addr(struct cbor_buf *b) { put_one(b, ""); }
static void craft_non_ascii(struct cbor_buf *b) { put_one(b, "\xc3\xa9:7654"); }

static void
craft_key(struct cbor_buf *b, size_t len)
{
	cbor_put_array(b, 2);
	put_key(b, len);
	put_addrs(b, 1, "192.0.2.1:7654");
}

static void craft_key_31(struct cbor_buf *b) { craft_key(b, 31); }
static void craft_key_33(struct cbor_buf *b) { craft_key(b, 33); }
static void craft_key_0(struct cbor_buf *b) { craft_key(b, 0); }

static void
craft_key_text(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	cbor_put_text(b, "0123456789abcdef0123456789abcdef");
	put_addrs(b, 1, "192.0.2.1:7654");
}

static void
craft_naddrs(struct cbor_buf *b, size_t n)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, n, "192.0.2.1:7654");
}

static void craft_0_addrs(struct cbor_buf *b) { craft_naddrs(b, 0); }
static void craft_16_addrs(struct cbor_buf *b) { craft_naddrs(b, 16); }
static void craft_17_addrs(struct cbor_buf *b) { craft_naddrs(b, 17); }

static void
craft_addr_nul(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_array(b, 1);
	cbor_put_textn(b, "a:1\0", 4);
}

static void
craft_addr_uint(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_array(b, 1);
	cbor_put_uint(b, 7654);
}

static void
craft_addr_bytes(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_array(b, 1);
	cbor_put_bytes(b, "a:1", 3);
}

/*
 * A port with a leading zero: addr_split() takes it, but the address is
 * one character too long for struct token.
 */
static void
craft_addr_long(struct cbor_buf *b)
{
	char	s[TOKEN_ADDR_LEN + 1];

	s[0] = '[';
	memset(s + 1, 'h', HOST_MAX - 1);
	snprintf(s + HOST_MAX, sizeof(s) - HOST_MAX, "]:065535");
	ck_assert_uint_eq(strlen(s), TOKEN_ADDR_LEN);
	put_one(b, s);
}

static void
craft_addrs_text(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_text(b, "192.0.2.1:7654");
}

static void craft_map(struct cbor_buf *b) { cbor_put_map(b, 0); }
static void craft_uint(struct cbor_buf *b) { cbor_put_uint(b, 1); }

static void
craft_array_1(struct cbor_buf *b)
{
	cbor_put_array(b, 1);
	put_key(b, TOKEN_KEY_LEN);
}

static void
craft_array_3(struct cbor_buf *b)
{
	cbor_put_array(b, 3);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
	cbor_put_null(b);
}

static void
put_admins(struct cbor_buf *b, size_t n, size_t len)
{
	uint8_t	id[TOKEN_ID_LEN + 1];
	size_t	i;

	cbor_put_array(b, n);
	for (i = 0; i < n; i++) {
		memset(id, (int)i + 1, sizeof(id));
		cbor_put_bytes(b, id, len);
	}
}

static void
craft_admins(struct cbor_buf *b, size_t n, size_t len)
{
	cbor_put_array(b, 3);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
	put_admins(b, n, len);
}

static void craft_1_admin(struct cbor_buf *b) { craft_admins(b, 1, 32); }
static void craft_16_admins(struct cbor_buf *b) { craft_admins(b, 16, 32); }
static void craft_17_admins(struct cbor_buf *b) { craft_admins(b, 17, 32); }
static void craft_0_admins(struct cbor_buf *b) { craft_admins(b, 0, 32); }
static void craft_admin_31(struct cbor_buf *b) { craft_admins(b, 1, 31); }
static void craft_admin_33(struct cbor_buf *b) { craft_admins(b, 1, 33); }

static void
craft_admin_text(struct cbor_buf *b)
{
	cbor_put_array(b, 3);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
	cbor_put_array(b, 1);
	cbor_put_text(b, "0123456789abcdef0123456789abcdef");
}

static void
craft_array_4(struct cbor_buf *b)
{
	cbor_put_array(b, 4);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
	put_admins(b, 1, 32);
	put_admins(b, 1, 32);
}

static void
craft_admins_trailing(struct cbor_buf *b)
{
	craft_1_admin(b);
	cbor_put_uint(b, 0);
}

static void
craft_swapped(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_addrs(b, 1, "192.0.2.1:7654");
	put_key(b, TOKEN_KEY_LEN);
}

static void
craft_trailing(struct cbor_buf *b)
{
	craft_ok(b);
	cbor_put_uint(b, 0);
}

static void
craft_two_items(struct cbor_buf *b)
{
	craft_ok(b);
	craft_ok(b);
}

/* A head longer than it needs to be: the same values, another text. */
static void
craft_long_head(struct cbor_buf *b)
{
	static const uint8_t	head[] = { 0x98, 0x02 };

	cbor_put_raw(b, head, sizeof(head));
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
}

static void
craft_long_text_head(struct cbor_buf *b)
{
	static const uint8_t	head[] = { 0x78, 0x03 };

	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_array(b, 1);
	cbor_put_raw(b, head, sizeof(head));
	cbor_put_raw(b, "a:1", 3);
}

static void
craft_indefinite(struct cbor_buf *b)
{
	static const uint8_t	start = 0x9f, brk = 0xff;

	cbor_put_raw(b, &start, 1);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
	cbor_put_raw(b, &brk, 1);
}

static void
craft_indefinite_addrs(struct cbor_buf *b)
{
	static const uint8_t	start = 0x9f, brk = 0xff;

	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_raw(b, &start, 1);
	cbor_put_text(b, "192.0.2.1:7654");
	cbor_put_raw(b, &brk, 1);
}

static void
craft_tagged_key(struct cbor_buf *b)
{
	static const uint8_t	tag = 0xc2;	/* bignum */

	cbor_put_array(b, 2);
	cbor_put_raw(b, &tag, 1);
	put_key(b, TOKEN_KEY_LEN);
	put_addrs(b, 1, "192.0.2.1:7654");
}

/* The count says two addresses; only one follows. */
static void
craft_short_addrs(struct cbor_buf *b)
{
	cbor_put_array(b, 2);
	put_key(b, TOKEN_KEY_LEN);
	cbor_put_array(b, 2);
	cbor_put_text(b, "192.0.2.1:7654");
}

static const struct {
	void		(*craft)(struct cbor_buf *);
	const char	*why;		/* NULL: accepted */
} crafted[] = {
	{ craft_ok, NULL },
	{ craft_16_addrs, NULL },
	{ craft_0_addrs, "no addresses" },
	{ craft_17_addrs, "too many addresses" },
	{ craft_port_0, "address with port 0" },
	{ craft_no_port, "bad address" },
	{ craft_big_port, "bad address" },
	{ craft_bare_v6, "bad address" },
	{ craft_space, "bad address" },
	{ craft_empty_addr, "bad address" },
	{ craft_non_ascii, "bad address" },
	{ craft_addr_nul, "bad address" },
	{ craft_addr_uint, "bad address" },
	{ craft_addr_bytes, "bad address" },
	{ craft_addr_long, "bad address" },
	{ craft_key_31, "network key is not 32 bytes" },
	{ craft_key_33, "network key is not 32 bytes" },
	{ craft_key_0, "network key is not 32 bytes" },
	{ craft_key_text, "network key is not 32 bytes" },
	{ craft_tagged_key, "network key is not 32 bytes" },
	{ craft_swapped, "network key is not 32 bytes" },
	{ craft_addrs_text, "malformed contents" },
	{ craft_map, "malformed contents" },
	{ craft_uint, "malformed contents" },
	{ craft_array_1, "malformed contents" },
	{ craft_array_3, "malformed contents" },
	{ craft_trailing, "malformed contents" },
	{ craft_two_items, "malformed contents" },
	{ craft_long_head, "malformed contents" },
	{ craft_long_text_head, "malformed contents" },
	{ craft_indefinite, "malformed contents" },
	{ craft_indefinite_addrs, "malformed contents" },
	{ craft_short_addrs, "malformed contents" },
	{ craft_1_admin, NULL },
	{ craft_16_admins, NULL },
	{ craft_17_admins, "too many admins" },
	{ craft_0_admins, "malformed contents" },
	{ craft_admin_31, "admin ID is not 32 bytes" },
	{ craft_admin_33, "admin ID is not 32 bytes" },
	{ craft_admin_text, "admin ID is not 32 bytes" },
	{ craft_array_4, "malformed contents" },
	{ craft_admins_trailing, "malformed contents" },
};

START_TEST(test_crafted_contents)
{
	struct cbor_buf	 b = { 0 };
	struct token	 t;
	char		 text[TOKEN_STRLEN_MAX], again[TOKEN_STRLEN_MAX];
	const char	*why = NULL;

	crafted[_i].craft(&b);
	seal(&b, text);
	cbor_buf_free(&b);
	if (crafted[_i].why == NULL) {
		ck_assert_msg(token_decode(text, &t, &why) == 0, "%s", why);
		ck_assert_int_eq(token_encode(&t, again, sizeof(again)), 0);
		ck_assert_str_eq(again, text);
	} else
		refused(text, crafted[_i].why);
}
END_TEST

Suite *
token_suite(void)
{
	Suite	*s = suite_create("token");
	TCase	*tc = tcase_create("token");

	tcase_add_test(tc, test_round_trip_one);
	tcase_add_test(tc, test_round_trip_sixteen);
	tcase_add_test(tc, test_round_trip_longest);
	tcase_add_test(tc, test_round_trip_admins);
	tcase_add_test(tc, test_case_and_white_space);
	tcase_add_test(tc, test_not_a_token);
	tcase_add_test(tc, test_not_base32);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_one_char_changed);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_encode_small_buffer);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_loop_test(tc, test_crafted_contents, 0,
	    sizeof(crafted) / sizeof(crafted[0]));
	suite_add_tcase(s, tc);
	return s;
}
