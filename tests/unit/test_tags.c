/* SPDX-License-Identifier: ISC */
/*
 * test_tags.c: node tags: the rules of keys and values, the tag set,
 * the "tags" field of signed records (every bad byte and every limit),
 * the "auth" field beside it, and the tag lines of the configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "config.h"
#include "record.h"
#include "suites.h"
#include "tagset.h"

static uint8_t	pk[32], sk[64];

static void
keys(void)
{
	crypto_sign_keypair(pk, sk);
}

START_TEST(test_key_and_value_rules)
{
	static const char *const good_values[] = { "", "eu-1", "a b # c",
	    "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "=", "x=y" };
	static const char *const bad_values[] = { "a\tb", "a\nb", "\x7f",
	    "\xc2\x85",			/* U+0085, a C1 control */
	    "\xc3",			/* cut short */
	    "\xc0\xaf",			/* overlong '/' */
	    "\xe0\x80\xaf",		/* overlong, three bytes */
	    "\xed\xa0\x80",		/* a surrogate */
	    "\xf4\x90\x80\x80",		/* past U+10FFFF */
	    "\x80", "\xff", "\x1b[31m" };
	char	big[TAG_VALUE_MAX + 2];
	size_t	i;

	ck_assert(tag_key_valid("zone", 4));
	ck_assert(tag_key_valid("a.b-c_d9", 8));
	ck_assert(!tag_key_valid("", 0));
	ck_assert(!tag_key_valid("Zone", 4));
	ck_assert(!tag_key_valid("a=b", 3));
	ck_assert(!tag_key_valid("a b", 3));
	ck_assert(!tag_key_valid("a:b", 3));
	memset(big, 'k', sizeof(big));
	ck_assert(tag_key_valid(big, TAG_KEY_MAX));
	ck_assert(!tag_key_valid(big, TAG_KEY_MAX + 1));
	for (i = 0; i < sizeof(good_values) / sizeof(good_values[0]); i++)
		ck_assert_msg(tag_value_valid(good_values[i],
		    strlen(good_values[i])), "value %zu refused", i);
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		ck_assert_msg(!tag_value_valid(bad_values[i],
		    strlen(bad_values[i])), "value %zu taken", i);
	ck_assert(!tag_value_valid("a\0b", 3));
	memset(big, 'v', sizeof(big));
	ck_assert(tag_value_valid(big, TAG_VALUE_MAX));
	ck_assert(!tag_value_valid(big, TAG_VALUE_MAX + 1));
}
END_TEST

START_TEST(test_tagset)
{
	struct tagset	 ts, other;
	const char	*k, *v, *why;
	char		 key[16], value[TAG_VALUE_MAX + 1];
	size_t		 off = 0;
	int		 i;

	memset(&ts, 0, sizeof(ts));
	ck_assert_int_eq(tagset_set(&ts, "zone", "eu-1", &why), 0);
	ck_assert_int_eq(tagset_set(&ts, "arch", "arm64", &why), 0);
	ck_assert_int_eq(tagset_set(&ts, "rack", "", &why), 0);
	ck_assert_int_eq(ts.n, 3);
	/* In key order, whatever order they came in. */
	ck_assert(tagset_next(&ts, &off, &k, &v));
	ck_assert_str_eq(k, "arch");
	ck_assert(tagset_next(&ts, &off, &k, &v));
	ck_assert_str_eq(k, "rack");
	ck_assert_str_eq(v, "");
	ck_assert(tagset_next(&ts, &off, &k, &v));
	ck_assert_str_eq(k, "zone");
	ck_assert(!tagset_next(&ts, &off, &k, &v));
	/* Replacing a value keeps one tag. */
	ck_assert_int_eq(tagset_set(&ts, "zone", "eu-2", &why), 0);
	ck_assert_int_eq(ts.n, 3);
	ck_assert_str_eq(tagset_get(&ts, "zone"), "eu-2");
	ck_assert_ptr_null(tagset_get(&ts, "zon"));

	ck_assert(tagset_match(&ts, "zone"));
	ck_assert(tagset_match(&ts, "zone=eu-2"));
	ck_assert(!tagset_match(&ts, "zone=eu-1"));
	ck_assert(!tagset_match(&ts, "zone=eu-2x"));
	ck_assert(!tagset_match(&ts, "zon"));
	ck_assert(tagset_match(&ts, "rack="));
	ck_assert(!tagset_match(&ts, "arch="));

	/* The same tags set in another order are equal. */
	memset(&other, 0, sizeof(other));
	ck_assert_int_eq(tagset_set(&other, "rack", "", &why), 0);
	ck_assert_int_eq(tagset_set(&other, "zone", "eu-2", &why), 0);
	ck_assert(!tagset_equal(&ts, &other));
	ck_assert_int_eq(tagset_set(&other, "arch", "arm64", &why), 0);
	ck_assert(tagset_equal(&ts, &other));

	ck_assert(tagset_unset(&ts, "rack"));
	ck_assert(!tagset_unset(&ts, "rack"));
	ck_assert_int_eq(ts.n, 2);
	ck_assert_ptr_null(tagset_get(&ts, "rack"));
	ck_assert_str_eq(tagset_get(&ts, "arch"), "arm64");
	ck_assert_str_eq(tagset_get(&ts, "zone"), "eu-2");

	/* Bad keys and values leave the set as it was. */
	other = ts;
	ck_assert_int_eq(tagset_set(&ts, "Bad", "x", &why), -1);
	ck_assert_int_eq(tagset_set(&ts, "ok", "a\tb", &why), -1);
	ck_assert(tagset_equal(&ts, &other));

	/* 32 tags, no more. */
	tagset_clear(&ts);
	for (i = 0; i < TAGS_MAX; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		ck_assert_int_eq(tagset_set(&ts, key, "v", &why), 0);
	}
	ck_assert_int_eq(tagset_set(&ts, "k99", "v", &why), -1);
	ck_assert_str_eq(why, "more than 32 tags");
	ck_assert_int_eq(tagset_set(&ts, "k05", "new", &why), 0);

	/* 2048 bytes of keys and values, no more. */
	tagset_clear(&ts);
	memset(value, 'v', sizeof(value));
	value[TAG_VALUE_MAX] = '\0';
	for (i = 0; i < 7; i++) {	/* 7 * (3 + 256) = 1813 */
		snprintf(key, sizeof(key), "k%02d", i);
		ck_assert_int_eq(tagset_set(&ts, key, value, &why), 0);
	}
	value[TAGS_BYTES - 1813 - 3] = '\0';	/* exactly 2048 */
	ck_assert_int_eq(tagset_set(&ts, "k07", value, &why), 0);
	ck_assert_int_eq(tagset_set(&ts, "k08", "", &why), -1);
	ck_assert_str_eq(why, "more than 2048 bytes of keys and values");
	/* A shorter value in place of a longer one fits. */
	ck_assert_int_eq(tagset_set(&ts, "k00", "", &why), 0);
	ck_assert_int_eq(tagset_set(&ts, "k08", "", &why), 0);
}
END_TEST

/* A record with every field at its limit, tags included. */
static void
full_record(struct record *r)
{
	const char	*why;
	char		 key[TAG_KEY_MAX + 1], value[TAG_VALUE_MAX + 1];
	int		 i;

	memset(r, 0, sizeof(*r));
	memcpy(r->id, pk, 32);
	memset(r->name, 'n', NODE_NAME_MAX);
	/* Hosts of 89 bytes, in labels of at most 63. */
	for (i = 0; i < RECORD_ADDRS_MAX; i++) {
		memset(r->addrs[i], 'h', ADDR_STRLEN - 7);
		r->addrs[i][40] = '.';
		memcpy(r->addrs[i] + ADDR_STRLEN - 7, ":65535", 7);
	}
	r->naddrs = RECORD_ADDRS_MAX;
	for (i = 0; i < RECORD_GROUPS_MAX; i++)
		memset(r->groups[i], 'a' + i, GROUP_NAME_MAX);
	r->ngroups = RECORD_GROUPS_MAX;
	for (i = 0; i < RECORD_SERVICES_MAX; i++) {
		memset(r->services[i].name, 'a' + i % 26, SERVICE_NAME_MAX);
		r->services[i].name[0] = '0' + i / 26;
		memset(r->services[i].group, 'g', GROUP_NAME_MAX);
	}
	r->nservices = RECORD_SERVICES_MAX;
	for (i = 0; i < RECORD_TOPICS_MAX; i++)
		memset(r->topics[i], 'a' + i % 26, TOPIC_MAX);
	r->ntopics = RECORD_TOPICS_MAX;
	/* 32 tags of 64 + 0 bytes: 2048 bytes, and 32 more headers. */
	for (i = 0; i < TAGS_MAX; i++) {
		memset(key, 'a' + i % 26, TAG_KEY_MAX);
		key[0] = '0' + i / 26;
		key[TAG_KEY_MAX] = '\0';
		value[0] = '\0';
		ck_assert_int_eq(tagset_set(&r->tags, key, value, &why), 0);
	}
	r->hub = r->left = true;
	r->incarnation = r->started_at = UINT64_MAX;
}

START_TEST(test_record_tags)
{
	struct cbor_buf	 b = { 0 }, plain = { 0 };
	struct record	 in, r;
	const char	*why;
	char		 value[TAG_VALUE_MAX + 1];
	int		 i;

	keys();
	memset(&in, 0, sizeof(in));
	memcpy(in.id, pk, 32);
	strcpy(in.name, "node");
	in.incarnation = 1;
	/* Without tags the record has no "tags" field at all. */
	record_sign(&in, sk, &plain);
	ck_assert(memmem(plain.data, plain.len, "tags", 4) == NULL);
	ck_assert_int_eq(record_open(plain.data, plain.len, &r, &why), 0);
	ck_assert_int_eq(r.tags.n, 0);

	ck_assert_int_eq(tagset_set(&in.tags, "zone", "eu-1", &why), 0);
	ck_assert_int_eq(tagset_set(&in.tags, "note", "caf\xc3\xa9 # 1", &why),
	    0);
	ck_assert_int_eq(tagset_set(&in.tags, "empty", "", &why), 0);
	record_sign(&in, sk, &b);
	ck_assert(!b.failed);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(tagset_equal(&r.tags, &in.tags));
	ck_assert_str_eq(tagset_get(&r.tags, "note"), "caf\xc3\xa9 # 1");

	/* Every field full, the most tags: still within RECORD_MAX. */
	full_record(&in);
	cbor_buf_reset(&b);
	record_sign(&in, sk, &b);
	ck_assert(!b.failed);
	ck_assert_uint_le(b.len, RECORD_MAX);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_int_eq(r.tags.n, TAGS_MAX);
	ck_assert(tagset_equal(&r.tags, &in.tags));
	/* And the most bytes of tags, in fewer, longer values. */
	tagset_clear(&in.tags);
	memset(value, 'v', sizeof(value));
	value[TAG_VALUE_MAX] = '\0';
	for (i = 0; i < 7; i++) {
		char	key[4] = { 'k', '0' + (char)i, '0', '\0' };

		ck_assert_int_eq(tagset_set(&in.tags, key, value, &why), 0);
	}
	value[TAGS_BYTES - 7 * (3 + TAG_VALUE_MAX) - 3] = '\0';
	ck_assert_int_eq(tagset_set(&in.tags, "k70", value, &why), 0);
	cbor_buf_reset(&b);
	record_sign(&in, sk, &b);
	ck_assert_uint_le(b.len, RECORD_MAX);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	cbor_buf_free(&b);
	cbor_buf_free(&plain);
}
END_TEST

/*
 * A signed record whose body is the required fields, then one more
 * field: key and the encoded value val (len bytes), written by hand so
 * that it can hold what struct record cannot.
 */
static void
signed_with(const char *key, const uint8_t *val, size_t len,
    struct cbor_buf *b)
{
	struct cbor_buf	body = { 0 };
	uint8_t		sig[crypto_sign_BYTES];

	cbor_put_map(&body, 6);
	cbor_put_text(&body, "v");
	cbor_put_uint(&body, RECORD_VERSION);
	cbor_put_text(&body, "id");
	cbor_put_bytes(&body, pk, 32);
	cbor_put_text(&body, "name");
	cbor_put_text(&body, "node");
	cbor_put_text(&body, "inc");
	cbor_put_uint(&body, 1);
	cbor_put_text(&body, "started");
	cbor_put_uint(&body, 1700000000);
	cbor_put_text(&body, key);
	cbor_put_raw(&body, val, len);
	ck_assert(!body.failed);
	crypto_sign_detached(sig, NULL, body.data, body.len, sk);
	cbor_buf_reset(b);
	cbor_put_map(b, 2);
	cbor_put_text(b, "b");
	cbor_put_bytes(b, body.data, body.len);
	cbor_put_text(b, "s");
	cbor_put_bytes(b, sig, sizeof(sig));
	ck_assert(!b->failed);
	cbor_buf_free(&body);
}

/* Opens a record whose "tags" field is the encoded v; its result. */
static int
open_tags(const struct cbor_buf *v, struct record *r)
{
	struct cbor_buf	 b = { 0 };
	const char	*why;
	int		 rc;

	ck_assert(!v->failed);
	signed_with("tags", v->data, v->len, &b);
	rc = record_open(b.data, b.len, r, &why);
	if (rc == -1)
		ck_assert_msg(strcmp(why, "record with impossible fields") == 0
		    || strcmp(why, "malformed record") == 0, "why: %s", why);
	cbor_buf_free(&b);
	return rc;
}

/* A map of one tag, key and value as raw bytes. */
static void
one_tag(struct cbor_buf *v, const char *key, size_t klen, const char *value,
    size_t vlen)
{
	cbor_buf_reset(v);
	cbor_put_map(v, 1);
	cbor_put_textn(v, key, klen);
	cbor_put_textn(v, value, vlen);
}

START_TEST(test_record_bad_tags)
{
	static const char *const bad_keys[] = { "", "Zone", "a b", "a=b",
	    "a:b", "\xc3\xa9", "a\x01" };
	static const char *const bad_values[] = { "a\tb", "\x1b[2J", "\x7f",
	    "\xc2\x9b" };
	struct cbor_buf	 v = { 0 };
	struct record	 r;
	char		 big[TAG_VALUE_MAX + 2], key[8];
	size_t		 i;

	keys();
	/* The good case, written by hand, opens: the rest fail on one thing. */
	one_tag(&v, "zone", 4, "eu-1", 4);
	ck_assert_int_eq(open_tags(&v, &r), 0);
	ck_assert_str_eq(tagset_get(&r.tags, "zone"), "eu-1");
	/* An empty map is no tags. */
	cbor_buf_reset(&v);
	cbor_put_map(&v, 0);
	ck_assert_int_eq(open_tags(&v, &r), 0);
	ck_assert_int_eq(r.tags.n, 0);

	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		one_tag(&v, bad_keys[i], strlen(bad_keys[i]), "x", 1);
		ck_assert_msg(open_tags(&v, &r) == -1, "key %zu taken", i);
	}
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		one_tag(&v, "k", 1, bad_values[i], strlen(bad_values[i]));
		ck_assert_msg(open_tags(&v, &r) == -1, "value %zu taken", i);
	}
	one_tag(&v, "k", 1, "a\0b", 3);
	ck_assert_int_eq(open_tags(&v, &r), -1);
	/* Not UTF-8 at all: the scanner refuses the record. */
	one_tag(&v, "k", 1, "\xff", 1);
	ck_assert_int_eq(open_tags(&v, &r), -1);

	/* Lengths: 64-byte keys and 256-byte values, no more. */
	memset(big, 'a', sizeof(big));
	one_tag(&v, big, TAG_KEY_MAX, "", 0);
	ck_assert_int_eq(open_tags(&v, &r), 0);
	one_tag(&v, big, TAG_KEY_MAX + 1, "", 0);
	ck_assert_int_eq(open_tags(&v, &r), -1);
	one_tag(&v, "k", 1, big, TAG_VALUE_MAX);
	ck_assert_int_eq(open_tags(&v, &r), 0);
	one_tag(&v, "k", 1, big, TAG_VALUE_MAX + 1);
	ck_assert_int_eq(open_tags(&v, &r), -1);

	/* Wrong types: not a map, a value not text, a key not text. */
	cbor_buf_reset(&v);
	cbor_put_array(&v, 1);
	cbor_put_text(&v, "zone=eu-1");
	ck_assert_int_eq(open_tags(&v, &r), -1);
	cbor_buf_reset(&v);
	cbor_put_text(&v, "zone=eu-1");
	ck_assert_int_eq(open_tags(&v, &r), -1);
	cbor_buf_reset(&v);
	cbor_put_map(&v, 1);
	cbor_put_text(&v, "zone");
	cbor_put_uint(&v, 1);
	ck_assert_int_eq(open_tags(&v, &r), -1);
	cbor_buf_reset(&v);
	cbor_put_map(&v, 1);
	cbor_put_text(&v, "zone");
	cbor_put_bytes(&v, "eu-1", 4);
	ck_assert_int_eq(open_tags(&v, &r), -1);
	cbor_buf_reset(&v);
	cbor_put_map(&v, 1);
	cbor_put_uint(&v, 1);
	cbor_put_text(&v, "x");
	ck_assert_int_eq(open_tags(&v, &r), -1);
	/* A key twice. */
	cbor_buf_reset(&v);
	cbor_put_map(&v, 2);
	cbor_put_text(&v, "zone");
	cbor_put_text(&v, "a");
	cbor_put_text(&v, "zone");
	cbor_put_text(&v, "b");
	ck_assert_int_eq(open_tags(&v, &r), -1);

	/* 32 tags, not 33. */
	cbor_buf_reset(&v);
	cbor_put_map(&v, TAGS_MAX);
	for (i = 0; i < TAGS_MAX; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		cbor_put_text(&v, key);
		cbor_put_text(&v, "v");
	}
	ck_assert_int_eq(open_tags(&v, &r), 0);
	ck_assert_int_eq(r.tags.n, TAGS_MAX);
	cbor_buf_reset(&v);
	cbor_put_map(&v, TAGS_MAX + 1);
	for (i = 0; i <= TAGS_MAX; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		cbor_put_text(&v, key);
		cbor_put_text(&v, "v");
	}
	ck_assert_int_eq(open_tags(&v, &r), -1);

	/* 2048 bytes of keys and values together, not 2049. */
	memset(big, 'v', sizeof(big));
	cbor_buf_reset(&v);
	cbor_put_map(&v, 8);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		cbor_put_text(&v, key);
		cbor_put_textn(&v, big, i < 7 ? TAG_VALUE_MAX :
		    TAGS_BYTES - 7 * (3 + TAG_VALUE_MAX) - 3);
	}
	ck_assert_int_eq(open_tags(&v, &r), 0);
	cbor_buf_reset(&v);
	cbor_put_map(&v, 8);
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		cbor_put_text(&v, key);
		cbor_put_textn(&v, big, i < 7 ? TAG_VALUE_MAX :
		    TAGS_BYTES - 7 * (3 + TAG_VALUE_MAX) - 2);
	}
	ck_assert_int_eq(open_tags(&v, &r), -1);
	cbor_buf_free(&v);
}
END_TEST

/*
 * A field this version does not know is passed over, as older
 * versions pass over "tags": a record with it still opens.
 */
START_TEST(test_record_unknown_field)
{
	struct cbor_buf	 v = { 0 }, b = { 0 };
	struct record	 r;
	const char	*why;

	keys();
	cbor_put_map(&v, 1);
	cbor_put_text(&v, "later");
	cbor_put_uint(&v, 1);
	signed_with("future", v.data, v.len, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert_str_eq(r.name, "node");
	cbor_buf_free(&v);
	cbor_buf_free(&b);
}
END_TEST

/*
 * "auth": written only when set, so an old record is what it was; a
 * uint from 1 says the node seals, anything else is refused.
 */
START_TEST(test_record_auth)
{
	struct cbor_buf	 v = { 0 }, b = { 0 };
	struct record	 in, r;
	const char	*why;

	keys();
	memset(&in, 0, sizeof(in));
	memcpy(in.id, pk, 32);
	strcpy(in.name, "node");
	in.incarnation = 1;
	record_sign(&in, sk, &b);
	ck_assert(memmem(b.data, b.len, "auth", 4) == NULL);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(!r.auth);
	in.auth = true;
	cbor_buf_reset(&b);
	record_sign(&in, sk, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(r.auth);
	/* With every other field full, still within RECORD_MAX. */
	full_record(&in);
	in.auth = true;
	cbor_buf_reset(&b);
	record_sign(&in, sk, &b);
	ck_assert_uint_le(b.len, RECORD_MAX);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(r.auth);

	cbor_put_uint(&v, 2);
	signed_with("auth", v.data, v.len, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(r.auth);
	cbor_buf_reset(&v);
	cbor_put_uint(&v, 0);
	signed_with("auth", v.data, v.len, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), 0);
	ck_assert(!r.auth);
	cbor_buf_reset(&v);
	cbor_put_bool(&v, true);
	signed_with("auth", v.data, v.len, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	cbor_buf_reset(&v);
	cbor_put_text(&v, "1");
	signed_with("auth", v.data, v.len, &b);
	ck_assert_int_eq(record_open(b.data, b.len, &r, &why), -1);
	cbor_buf_free(&v);
	cbor_buf_free(&b);
}
END_TEST

/* Loads text as a config file; "" or the error. */
static const char *
load(struct config *c, const char *text)
{
	static char	err[512];
	char		path[64];
	int		fd;

	config_init(c);
	snprintf(path, sizeof(path), "/tmp/peerd-test-tags.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (config_load(c, path, err, sizeof(err)) == 0)
		err[0] = '\0';
	unlink(path);
	return err;
}

START_TEST(test_config_tags)
{
	struct config	 c;
	char		 err[256], dump[8192], line[400];
	const char	*e;
	FILE		*f;
	int		 i;

	ck_assert_str_eq(load(&c, "tag = zone=eu-1\n"
	    "tag = \"note=a # b \"\n"
	    "tag = empty=\n"
	    "tag = eq=x=y   # a comment\n"), "");
	ck_assert_int_eq(c.tags.n, 4);
	ck_assert_str_eq(tagset_get(&c.tags, "zone"), "eu-1");
	ck_assert_str_eq(tagset_get(&c.tags, "note"), "a # b ");
	ck_assert_str_eq(tagset_get(&c.tags, "empty"), "");
	ck_assert_str_eq(tagset_get(&c.tags, "eq"), "x=y");

	/* peerd -n writes them back as lines that read the same. */
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(dump, "tag = \"note=a # b \"\n"));
	ck_assert_ptr_nonnull(strstr(dump, "tag = zone=eu-1\n"));

	/* Each bad line, with its reason. */
	e = load(&c, "tag = zone\n");
	ck_assert_ptr_nonnull(strstr(e, ":1: tag: \"zone\" is not KEY=VALUE"));
	e = load(&c, "tag = zone=a\ntag = zone=b\n");
	ck_assert_ptr_nonnull(strstr(e, ":2: tag: zone given twice"));
	e = load(&c, "tag = Zone=a\n");
	ck_assert_ptr_nonnull(strstr(e, ":1: tag: \"Zone=a\": a key is 1-64"));
	e = load(&c, "tag = =a\n");
	ck_assert_ptr_nonnull(strstr(e, ":1: tag: \"=a\": a key is 1-64"));
	e = load(&c, "tag = zone=a\tb\n");
	ck_assert_ptr_nonnull(strstr(e, ":1: tag: \"zone=a\tb\": a value is "
	    "0-256 bytes"));
	snprintf(line, sizeof(line), "tag = k=%0*d\n", TAG_VALUE_MAX + 1, 0);
	e = load(&c, line);
	ck_assert_ptr_nonnull(strstr(e, ":1: tag: "));
	snprintf(line, sizeof(line), "tag = k=%0*d\n", TAG_VALUE_MAX + 80, 0);
	e = load(&c, line);
	ck_assert_ptr_nonnull(strstr(e, "is longer than a key (64 bytes), "
	    "'=' and a value (256 bytes)"));
	/* The 33rd tag. */
	dump[0] = '\0';
	for (i = 0; i <= TAGS_MAX; i++) {
		snprintf(line, sizeof(line), "tag = k%02d=v\n", i);
		strcat(dump, line);
	}
	e = load(&c, dump);
	ck_assert_ptr_nonnull(strstr(e, ":33: tag: \"k32=v\": more than 32 "
	    "tags"));

	/* -o tag=... replaces the file's tags, then adds to its own. */
	ck_assert_str_eq(load(&c, "tag = zone=eu-1\ntag = rack=r1\n"), "");
	ck_assert_int_eq(config_override(&c, "tag", "zone=us-2", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "tag", "arch=arm64", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.tags.n, 2);
	ck_assert_str_eq(tagset_get(&c.tags, "zone"), "us-2");
	ck_assert_ptr_null(tagset_get(&c.tags, "rack"));
	ck_assert_int_eq(config_override(&c, "tag", "nothing", err,
	    sizeof(err)), -1);
}
END_TEST

Suite *
tags_suite(void)
{
	Suite	*s = suite_create("tags");
	TCase	*tc = tcase_create("tags");

	tcase_add_test(tc, test_key_and_value_rules);
	tcase_add_test(tc, test_tagset);
	tcase_add_test(tc, test_record_tags);
	tcase_add_test(tc, test_record_bad_tags);
	tcase_add_test(tc, test_record_unknown_field);
	tcase_add_test(tc, test_record_auth);
	tcase_add_test(tc, test_config_tags);
	suite_add_tcase(s, tc);
	return s;
}
