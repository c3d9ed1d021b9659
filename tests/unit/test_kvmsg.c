/* SPDX-License-Identifier: ISC */
/*
 * test_kvmsg.c: the bodies of "kv" messages: every kind decodes to what
 * was encoded, with only its own keys on the wire, and every way a
 * peer's body can be wrong is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "callmsg.h"
#include "cbor_scan.h"
#include "kvmsg.h"
#include "linkmsg.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })

static struct kvmsg_space	space, space2;
static struct kv_item		items[KVMSG_ITEMS_MAX];
static struct kvmsg_entry	entries[KVMSG_ITEMS_MAX];

static const uint8_t	node_a[NODE_ID_LEN] = { 0xa1, 0xa2, 0xa3 };
static const uint8_t	node_b[NODE_ID_LEN] = { 0xb1, 0xb2, 0xb3, 0xb4 };
/* {"n": 1, "s": "x"} */
static const uint8_t	map_val[] = { 0xa2, 0x61, 'n', 0x01, 0x61, 's', 0x61,
			    'x' };

static bool
same_span(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	if (alen == 0)
		return (a == NULL) == (b == NULL);
	return a != NULL && b != NULL && memcmp(a, b, alen) == 0;
}

static bool
same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
same_version(const struct kv_version *a, const struct kv_version *b)
{
	return a->hlc == b->hlc && memcmp(a->node, b->node, NODE_ID_LEN) == 0;
}

static bool
same_item(const struct kv_item *a, const struct kv_item *b)
{
	return same_text(a->key, a->keylen, b->key, b->keylen) &&
	    same_version(&a->ver, &b->ver) && a->expires_ms == b->expires_ms &&
	    a->tombstone == b->tombstone &&
	    same_span(a->value, a->valuelen, b->value, b->valuelen);
}

static bool
same_error(const struct ctl_error *a, const struct ctl_error *b)
{
	return a->code == b->code && (a->code == PEER_OK ||
	    (same_text(a->msg, a->msglen, b->msg, b->msglen) &&
	    same_span(a->context, a->contextlen, b->context, b->contextlen)));
}

/* The fields of a's kind are b's. */
static void
assert_same(const struct kvmsg *a, const struct kvmsg *b)
{
	size_t	i;

	ck_assert_int_eq(a->kind, b->kind);
	switch (a->kind) {
	case KVMSG_WRITE:
		ck_assert(same_text(a->key, a->keylen, b->key, b->keylen));
		ck_assert_int_eq(a->op, b->op);
		ck_assert(same_span(a->value, a->valuelen, b->value,
		    b->valuelen));
		ck_assert_int_eq(a->has_if_version, b->has_if_version);
		ck_assert_uint_eq(a->if_version, b->if_version);
		ck_assert_uint_eq(a->ttl_ms, b->ttl_ms);
		ck_assert_uint_eq(a->timeout_ms, b->timeout_ms);
		break;
	case KVMSG_WRITTEN:
	case KVMSG_STORED:
		ck_assert(same_text(a->key, a->keylen, b->key, b->keylen));
		ck_assert(same_error(&a->err, &b->err));
		if (a->err.code == PEER_OK)
			ck_assert(same_version(&a->ver, &b->ver));
		ck_assert_int_eq(a->has_item, b->has_item);
		if (a->has_item)
			ck_assert(same_item(&a->item, &b->item));
		break;
	case KVMSG_STORE:
		ck_assert(same_text(a->key, a->keylen, b->key, b->keylen));
		ck_assert(same_item(&a->item, &b->item));
		ck_assert(same_version(&a->base, &b->base));
		ck_assert_int_eq(a->repair, b->repair);
		break;
	case KVMSG_READ:
	case KVMSG_READ_ANSWER:
	case KVMSG_CHANGE:
		ck_assert(same_text(a->key, a->keylen, b->key, b->keylen));
		ck_assert_int_eq(a->has_item, b->has_item);
		if (a->has_item)
			ck_assert(same_item(&a->item, &b->item));
		if (a->kind == KVMSG_CHANGE)
			ck_assert_int_eq(a->change_op, b->change_op);
		break;
	case KVMSG_LIST:
		ck_assert(same_text(a->prefix, a->prefixlen, b->prefix,
		    b->prefixlen));
		ck_assert_int_eq(a->after == NULL, b->after == NULL);
		ck_assert(same_text(a->after, a->afterlen, b->after,
		    b->afterlen));
		ck_assert_uint_eq(a->limit, b->limit);
		ck_assert_int_eq(a->values, b->values);
		break;
	case KVMSG_LIST_ANSWER:
		ck_assert_uint_eq(a->nitems, b->nitems);
		for (i = 0; i < a->nitems; i++)
			ck_assert(same_item(&a->items[i], &b->items[i]));
		ck_assert_int_eq(a->more, b->more);
		break;
	case KVMSG_DIGEST:
		ck_assert_mem_eq(a->digest, b->digest, sizeof(a->digest));
		break;
	case KVMSG_HAVE:
	case KVMSG_WANT:
		ck_assert_uint_eq(a->nentries, b->nentries);
		for (i = 0; i < a->nentries; i++) {
			ck_assert(same_text(a->entries[i].key,
			    a->entries[i].keylen, b->entries[i].key,
			    b->entries[i].keylen));
			ck_assert(same_version(&a->entries[i].ver,
			    &b->entries[i].ver));
		}
		if (a->kind == KVMSG_HAVE)
			ck_assert_uint_eq(a->buckets, b->buckets);
		break;
	case KVMSG_WATCH:
		ck_assert_uint_eq(a->nprefixes, b->nprefixes);
		for (i = 0; i < a->nprefixes; i++)
			ck_assert(same_text(a->prefixes[i], a->prefixlens[i],
			    b->prefixes[i], b->prefixlens[i]));
		ck_assert_uint_eq(a->lease_ms, b->lease_ms);
		break;
	}
}

/*
 * Encodes m, checks its body has nf keys, decodes it into back and
 * checks it is m; then that encoding back gives the same bytes.
 */
static void
round_trip(const struct kvmsg *m, int nf, struct kvmsg *back)
{
	struct cbor_buf		 b = { 0 }, b2 = { 0 };
	struct cbor_field	 f[32];
	struct kvmsg		 again;
	const char		*why = NULL;
	int			 rc;

	kvmsg_encode(&b, m);
	ck_assert(!b.failed);
	ck_assert_int_eq(cbor_scan_map(b.data, b.len, f, 32), nf);
	rc = kvmsg_decode(b.data, b.len, back, &space, &why);
	ck_assert_msg(rc == 0, "refused: %s", why);
	assert_same(m, back);
	kvmsg_encode(&b2, back);
	ck_assert(!b2.failed);
	ck_assert_uint_eq(b2.len, b.len);
	ck_assert_mem_eq(b2.data, b.data, b.len);
	ck_assert_int_eq(kvmsg_decode(b2.data, b2.len, &again, &space2, &why),
	    0);
	assert_same(back, &again);
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}

static void
version(struct kv_version *v, uint64_t hlc, const uint8_t *node)
{
	v->hlc = hlc;
	memcpy(v->node, node, NODE_ID_LEN);
}

static void
item(struct kv_item *it, const char *key, uint64_t hlc)
{
	memset(it, 0, sizeof(*it));
	it->key = key;
	it->keylen = strlen(key);
	version(&it->ver, hlc, node_a);
	it->value = map_val;
	it->valuelen = sizeof(map_val);
}

static void
msg(struct kvmsg *m, enum kvmsg_kind kind, const char *key)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	if (key != NULL) {
		m->key = key;
		m->keylen = strlen(key);
	}
}

START_TEST(test_write)
{
	struct kvmsg	m, back;

	msg(&m, KVMSG_WRITE, "cfg/a");
	m.op = KV_PUT;
	m.value = B(0x18, 0x2a);
	m.valuelen = 2;
	m.timeout_ms = 5000;
	round_trip(&m, 5, &back);
	ck_assert(!back.has_if_version);
	ck_assert_uint_eq(back.ttl_ms, 0);

	/* Compare-and-set on absence, with a ttl. */
	m.has_if_version = true;
	m.if_version = 0;
	m.ttl_ms = 60000;
	round_trip(&m, 7, &back);
	ck_assert(back.has_if_version);
	ck_assert_uint_eq(back.if_version, 0);
	ck_assert_uint_eq(back.ttl_ms, 60000);

	/* A delete has no value; a ttl is only a put's. */
	msg(&m, KVMSG_WRITE, "cfg/a");
	m.op = KV_DEL;
	m.has_if_version = true;
	m.if_version = UINT64_MAX;
	m.timeout_ms = 1;
	round_trip(&m, 5, &back);
	ck_assert_ptr_null(back.value);

	msg(&m, KVMSG_WRITE, "m");
	m.op = KV_MERGE;
	m.value = map_val;
	m.valuelen = sizeof(map_val);
	round_trip(&m, 5, &back);
	ck_assert_int_eq(back.op, KV_MERGE);

	/* null is a value. */
	msg(&m, KVMSG_WRITE, "n");
	m.op = KV_PUT;
	m.value = B(0xf6);
	m.valuelen = 1;
	round_trip(&m, 5, &back);
}
END_TEST

START_TEST(test_written_stored)
{
	struct kvmsg	m, back;
	const uint8_t	ctx[] = { 0x81, 0x07 };

	msg(&m, KVMSG_WRITTEN, "cfg/a");
	version(&m.ver, 0x0001234500000003ull, node_b);
	round_trip(&m, 3, &back);
	ck_assert_int_eq(back.err.code, PEER_OK);
	ck_assert(!back.has_item);

	msg(&m, KVMSG_WRITTEN, "cfg/a");
	m.err.code = PEER_FAILED_PRECONDITION;
	m.err.msg = "version is 5, not 4";
	m.err.msglen = strlen(m.err.msg);
	m.err.context = ctx;
	m.err.contextlen = sizeof(ctx);
	round_trip(&m, 3, &back);
	ck_assert_uint_eq(back.ver.hlc, 0);

	msg(&m, KVMSG_STORED, "cfg/a");
	version(&m.ver, 77, node_a);
	round_trip(&m, 3, &back);

	/* Stale: the error and the item held, which names the key. */
	msg(&m, KVMSG_STORED, NULL);
	m.err.code = PEER_FAILED_PRECONDITION;
	m.err.msg = "";
	m.has_item = true;
	item(&m.item, "cfg/a", 99);
	m.key = m.item.key;
	m.keylen = m.item.keylen;
	round_trip(&m, 3, &back);
	ck_assert_ptr_eq(back.key, back.item.key);

	msg(&m, KVMSG_STORED, "big");
	m.err.code = PEER_RESOURCE_EXHAUSTED;
	m.err.msg = "full";
	m.err.msglen = 4;
	round_trip(&m, 3, &back);
}
END_TEST

START_TEST(test_store)
{
	struct kvmsg	m, back;

	msg(&m, KVMSG_STORE, NULL);
	item(&m.item, "cfg/a", 10);
	m.item.expires_ms = 1800000000000ull;
	m.key = m.item.key;
	m.keylen = m.item.keylen;
	version(&m.base, 9, node_b);
	round_trip(&m, 3, &back);
	ck_assert(back.has_item);
	ck_assert(!back.repair);

	/* A repair of a tombstone: no base, no value. */
	item(&m.item, "cfg/a", 11);
	m.item.tombstone = true;
	m.item.value = NULL;
	m.item.valuelen = 0;
	memset(&m.base, 0, sizeof(m.base));
	m.repair = true;
	round_trip(&m, 3, &back);
	ck_assert(back.item.tombstone);
	ck_assert_ptr_null(back.item.value);
	ck_assert_uint_eq(back.base.hlc, 0);
}
END_TEST

START_TEST(test_read)
{
	struct kvmsg	m, back;
	char		key[KV_KEY_MAX];

	msg(&m, KVMSG_READ, "cfg/a");
	round_trip(&m, 2, &back);

	memset(key, 'k', sizeof(key));
	msg(&m, KVMSG_READ, NULL);
	m.key = key;
	m.keylen = KV_KEY_MAX;
	round_trip(&m, 2, &back);

	msg(&m, KVMSG_READ_ANSWER, "cfg/none");
	round_trip(&m, 2, &back);
	ck_assert(!back.has_item);

	msg(&m, KVMSG_READ_ANSWER, NULL);
	m.has_item = true;
	item(&m.item, "caf\xc3\xa9", UINT64_MAX);
	m.key = m.item.key;
	m.keylen = m.item.keylen;
	round_trip(&m, 2, &back);
}
END_TEST

START_TEST(test_list)
{
	struct kvmsg	m, back;

	msg(&m, KVMSG_LIST, NULL);
	m.prefix = "";
	m.limit = 1;
	round_trip(&m, 3, &back);
	ck_assert_uint_eq(back.prefixlen, 0);
	ck_assert_ptr_null(back.after);
	ck_assert(!back.values);

	m.prefix = "jobs/";
	m.prefixlen = 5;
	m.after = "jobs/17";
	m.afterlen = 7;
	m.limit = 1000;
	m.values = true;
	round_trip(&m, 5, &back);

	msg(&m, KVMSG_LIST_ANSWER, NULL);
	m.items = items;
	round_trip(&m, 2, &back);
	ck_assert_uint_eq(back.nitems, 0);
	ck_assert_ptr_eq(back.items, space.items);

	/* A value, a tombstone, one listed without its value. */
	item(&items[0], "a", 1);
	items[0].expires_ms = 5;
	item(&items[1], "b", 2);
	items[1].tombstone = true;
	items[1].value = NULL;
	items[1].valuelen = 0;
	item(&items[2], "c", 3);
	items[2].value = NULL;
	items[2].valuelen = 0;
	m.nitems = 3;
	m.more = true;
	round_trip(&m, 3, &back);
	ck_assert_ptr_null(back.items[2].value);
	ck_assert(!back.items[2].tombstone);
}
END_TEST

START_TEST(test_list_answer_full)
{
	struct kvmsg	m, back;
	static char	keys[KVMSG_ITEMS_MAX][8];
	size_t		i;

	msg(&m, KVMSG_LIST_ANSWER, NULL);
	m.items = items;
	for (i = 0; i < KVMSG_ITEMS_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		item(&items[i], keys[i], i + 1);
	}
	m.nitems = KVMSG_ITEMS_MAX;
	round_trip(&m, 2, &back);
}
END_TEST

START_TEST(test_sync)
{
	struct kvmsg	m, back;
	static char	keys[KVMSG_ITEMS_MAX][8];
	size_t		i;

	msg(&m, KVMSG_DIGEST, NULL);
	for (i = 0; i < sizeof(m.digest); i++)
		((uint8_t *)m.digest)[i] = (uint8_t)(i * 7);
	round_trip(&m, 2, &back);

	msg(&m, KVMSG_HAVE, NULL);
	m.entries = entries;
	m.buckets = UINT64_MAX;
	round_trip(&m, 3, &back);
	ck_assert_uint_eq(back.nentries, 0);

	for (i = 0; i < KVMSG_ITEMS_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		entries[i].key = keys[i];
		entries[i].keylen = strlen(keys[i]);
		version(&entries[i].ver, i, i % 2 ? node_a : node_b);
	}
	m.nentries = KVMSG_ITEMS_MAX;
	m.buckets = 1ull << 63 | 5;
	round_trip(&m, 3, &back);
	ck_assert_ptr_eq(back.entries, space.entries);
	/* hlc 0: none held. */
	ck_assert_uint_eq(back.entries[0].ver.hlc, 0);

	msg(&m, KVMSG_WANT, NULL);
	m.entries = entries;
	m.nentries = 2;
	round_trip(&m, 2, &back);
	m.nentries = 0;
	round_trip(&m, 2, &back);
}
END_TEST

START_TEST(test_watch_change)
{
	struct kvmsg	m, back;
	static char	pres[KVMSG_PREFIXES_MAX][8];
	size_t		i;

	msg(&m, KVMSG_WATCH, NULL);
	m.lease_ms = 30000;
	round_trip(&m, 3, &back);
	ck_assert_uint_eq(back.nprefixes, 0);

	for (i = 0; i < KVMSG_PREFIXES_MAX; i++) {
		snprintf(pres[i], sizeof(pres[i]), "p%zu/", i);
		m.prefixes[i] = pres[i];
		m.prefixlens[i] = strlen(pres[i]);
	}
	/* The empty prefix watches every key. */
	m.prefixes[3] = "";
	m.prefixlens[3] = 0;
	m.nprefixes = KVMSG_PREFIXES_MAX;
	round_trip(&m, 3, &back);

	for (i = KV_PUT; i <= KV_EXPIRE; i++) {
		msg(&m, KVMSG_CHANGE, NULL);
		m.change_op = i;
		m.has_item = true;
		item(&m.item, "cfg/a", 1000 + i);
		if (i == KV_DEL) {
			m.item.tombstone = true;
			m.item.value = NULL;
			m.item.valuelen = 0;
		}
		m.key = m.item.key;
		m.keylen = m.item.keylen;
		round_trip(&m, 3, &back);
	}
}
END_TEST

START_TEST(test_op_names)
{
	ck_assert_str_eq(kv_write_op_name(KV_PUT), "put");
	ck_assert_str_eq(kv_write_op_name(KV_DEL), "del");
	ck_assert_str_eq(kv_write_op_name(KV_MERGE), "merge");
	ck_assert_str_eq(kv_write_op_name(KV_EXPIRE), "expire");
}
END_TEST

/* Decodes b, which must be refused with a reason that mentions word. */
static void
refused_buf(const uint8_t *p, size_t len, const char *word)
{
	struct kvmsg	 m;
	const char	*why = NULL;

	ck_assert_int_eq(kvmsg_decode(p, len, &m, &space, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, word) != NULL, "\"%s\" lacks \"%s\"", why,
	    word);
}

static void
refused(const struct cbor_buf *b, const char *word)
{
	ck_assert(!b->failed);
	refused_buf(b->data, b->len, word);
}

static void
accepted(const struct cbor_buf *b, struct kvmsg *m)
{
	const char	*why = NULL;

	ck_assert(!b->failed);
	ck_assert_msg(kvmsg_decode(b->data, b->len, m, &space, &why) == 0,
	    "refused: %s", why);
}

/*
 * The body of m with its key named key left out (val NULL) or given the
 * encoded value val instead; a key m lacks is added.
 */
static void
mutate(struct cbor_buf *out, const struct kvmsg *m, const char *key,
    const uint8_t *val, size_t vallen)
{
	struct cbor_buf		 b = { 0 };
	struct cbor_field	 f[32];
	int			 nf, i;
	bool			 had;

	kvmsg_encode(&b, m);
	ck_assert(!b.failed);
	nf = cbor_scan_map(b.data, b.len, f, 32);
	ck_assert_int_ge(nf, 1);
	had = cbor_field_get(f, nf, key) != NULL;
	cbor_buf_reset(out);
	cbor_put_map(out, nf - had + (val != NULL));
	for (i = 0; i < nf; i++) {
		if (f[i].keylen == strlen(key) &&
		    memcmp(f[i].key, key, f[i].keylen) == 0)
			continue;
		cbor_put_textn(out, f[i].key, f[i].keylen);
		cbor_put_raw(out, f[i].val, f[i].vallen);
	}
	if (val != NULL) {
		cbor_put_text(out, key);
		cbor_put_raw(out, val, vallen);
	}
	cbor_buf_free(&b);
}

#define MUTATE(out, m, key, ...) \
	mutate((out), (m), (key), B(__VA_ARGS__), sizeof(B(__VA_ARGS__)))

static void
encode(struct cbor_buf *b, const struct kvmsg *m)
{
	cbor_buf_reset(b);
	kvmsg_encode(b, m);
}

static void
sample_write(struct kvmsg *m)
{
	static const uint8_t	one[] = { 0x01 };

	msg(m, KVMSG_WRITE, "cfg/a");
	m->op = KV_PUT;
	m->value = one;
	m->valuelen = sizeof(one);
	m->timeout_ms = 100;
}

START_TEST(test_not_a_body)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;
	size_t		 i;

	refused_buf(B(0x80), 1, "not a map");
	refused_buf(B(0xf6), 1, "not a map");
	refused_buf(B(0x00), 0, "not a map");
	/* Keys must be text, each once. */
	refused_buf(B(0xa1, 0x01, 0x02), 3, "not a map");
	refused_buf(B(0xa2, 0x61, 'k', 0x61, 'r', 0x61, 'k', 0x61, 'r'), 9,
	    "not a map");
	refused_buf(B(0xa0), 1, "kind");
	refused_buf(B(0xa1, 0x61, 'k', 0x61, 'x'), 5, "kind");
	refused_buf(B(0xa1, 0x61, 'k', 0x62, 'w', 'x'), 6, "kind");
	refused_buf(B(0xa1, 0x61, 'k', 0x01), 4, "kind");
	refused_buf(B(0xa1, 0x61, 'k', 0x41, 'r'), 5, "kind");

	/* Every cut of a body, and a byte after it. */
	sample_write(&m);
	kvmsg_encode(&b, &m);
	for (i = 0; i < b.len; i++)
		refused_buf(b.data, i, "");
	cbor_put_uint(&b, 0);
	refused(&b, "not a map");

	/* Keys of other kinds and unknown ones are ignored. */
	mutate(&b, &m, "future", B(0xa0), 1);
	accepted(&b, &r);
	MUTATE(&b, &m, "pre", 0x01);
	accepted(&b, &r);
	ck_assert_uint_eq(r.prefixlen, 0);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_keys)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;
	char		 key[KV_KEY_MAX + 1];

	sample_write(&m);
	mutate(&b, &m, "key", NULL, 0);
	refused(&b, "bad key");
	MUTATE(&b, &m, "key", 0x60);			/* "" */
	refused(&b, "bad key");
	MUTATE(&b, &m, "key", 0x61, 0x0a);		/* "\n" */
	refused(&b, "bad key");
	MUTATE(&b, &m, "key", 0x61, 0x7f);
	refused(&b, "bad key");
	MUTATE(&b, &m, "key", 0x62, 0xc3, 0x28);	/* not UTF-8 */
	refused(&b, "");
	MUTATE(&b, &m, "key", 0x41, 'a');		/* bytes */
	refused(&b, "bad key");
	MUTATE(&b, &m, "key", 0x7f, 0x61, 'a', 0xff);	/* chunked */
	refused(&b, "bad key");
	memset(key, 'k', sizeof(key));
	m.key = key;
	m.keylen = KV_KEY_MAX + 1;
	encode(&b, &m);
	refused(&b, "bad key");
	m.keylen = KV_KEY_MAX;
	encode(&b, &m);
	accepted(&b, &r);

	msg(&m, KVMSG_READ, "a");
	MUTATE(&b, &m, "key", 0x62, 'a', 0x00);
	refused(&b, "read: bad key");
	msg(&m, KVMSG_READ_ANSWER, "a");
	mutate(&b, &m, "key", NULL, 0);
	refused(&b, "bad key");
	msg(&m, KVMSG_WRITTEN, "a");
	version(&m.ver, 1, node_a);
	MUTATE(&b, &m, "key", 0x01);
	refused(&b, "written: bad key");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_write)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;

	sample_write(&m);
	mutate(&b, &m, "op", NULL, 0);
	refused(&b, "bad op");
	MUTATE(&b, &m, "op", 0x66, 'e', 'x', 'p', 'i', 'r', 'e');
	refused(&b, "bad op");
	MUTATE(&b, &m, "op", 0x63, 'P', 'U', 'T');
	refused(&b, "bad op");
	MUTATE(&b, &m, "op", 0x00);
	refused(&b, "bad op");
	mutate(&b, &m, "val", NULL, 0);
	refused(&b, "bad value");
	mutate(&b, &m, "to", NULL, 0);
	refused(&b, "timeout");
	MUTATE(&b, &m, "to", 0x20);			/* -1 */
	refused(&b, "timeout");
	MUTATE(&b, &m, "if", 0x20);
	refused(&b, "if_version");
	MUTATE(&b, &m, "if", 0xf6);
	refused(&b, "if_version");
	MUTATE(&b, &m, "ttl", 0x61, '1');
	refused(&b, "ttl");
	/* A timeout beyond a day is cut to a day. */
	MUTATE(&b, &m, "to", 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff);
	accepted(&b, &r);
	ck_assert_uint_eq(r.timeout_ms, 86400000);

	/* A delete with a value, or a ttl. */
	m.op = KV_DEL;
	MUTATE(&b, &m, "val", 0x01);
	refused(&b, "bad value");
	MUTATE(&b, &m, "ttl", 0x01);
	refused(&b, "ttl");
	/* A merge's value is a map. */
	m.op = KV_MERGE;
	m.value = B(0x80);
	encode(&b, &m);
	refused(&b, "bad value");
	MUTATE(&b, &m, "val", 0xbf, 0xff);
	accepted(&b, &r);
	m.value = map_val;
	m.valuelen = sizeof(map_val);
	encode(&b, &m);
	accepted(&b, &r);
	MUTATE(&b, &m, "ttl", 0x01);
	refused(&b, "ttl");
	cbor_buf_free(&b);
}
END_TEST

/* A value nested depth deep: [[[...0...]]]. */
static void
nested(uint8_t *buf, int depth)
{
	memset(buf, 0x81, depth);
	buf[depth] = 0x00;
}

START_TEST(test_value_depth)
{
	struct cbor_buf	 b = { 0 }, lb = { 0 };
	struct kvmsg	 m, r;
	struct callmsg	 cm;
	struct linkmsg	 lm;
	const char	*why;
	uint8_t		 deep[CBOR_SCAN_DEPTH + 2];
	int		 max = CBOR_SCAN_DEPTH - KVMSG_VALUE_LEVEL;

	/* As deep as a value may be, in a write, an item, a list answer. */
	sample_write(&m);
	nested(deep, max);
	m.value = deep;
	m.valuelen = max + 1;
	encode(&b, &m);
	accepted(&b, &r);
	nested(deep, max + 1);
	m.valuelen = max + 2;
	encode(&b, &m);
	refused(&b, "bad value");

	msg(&m, KVMSG_LIST_ANSWER, NULL);
	m.items = items;
	m.nitems = 1;
	item(&items[0], "a", 1);
	nested(deep, max);
	items[0].value = deep;
	items[0].valuelen = max + 1;
	encode(&b, &m);
	accepted(&b, &r);
	/* ...which fits in a link message. */
	memset(&cm, 0, sizeof(cm));
	cm.type = CALLMSG_KV;
	cm.args = b.data;
	cm.argslen = b.len;
	callmsg_encode(&lb, &cm);
	ck_assert(!lb.failed);
	ck_assert_int_eq(linkmsg_decode(lb.data, lb.len, &lm), 0);
	ck_assert_int_eq(callmsg_decode(lm.type, lm.f, lm.nf, &cm, &why), 0);
	ck_assert_int_eq(kvmsg_decode(cm.args, cm.argslen, &r, &space, &why),
	    0);
	nested(deep, max + 1);
	items[0].valuelen = max + 2;
	encode(&b, &m);
	refused(&b, "bad item");
	cbor_buf_free(&b);
	cbor_buf_free(&lb);
}
END_TEST

/*
 * An item map of n keys written by the caller after "key" and "ver"
 * (unless skipped): the body of a store.
 */
static void
put_store(struct cbor_buf *b, bool key, bool ver, size_t n)
{
	cbor_buf_reset(b);
	cbor_put_map(b, 2);
	cbor_put_text(b, "k");
	cbor_put_text(b, "s");
	cbor_put_text(b, "it");
	cbor_put_map(b, key + ver + n);
	if (key) {
		cbor_put_text(b, "key");
		cbor_put_text(b, "cfg/a");
	}
	if (ver) {
		cbor_put_text(b, "ver");
		cbor_put_array(b, 2);
		cbor_put_uint(b, 5);
		cbor_put_bytes(b, node_a, NODE_ID_LEN);
	}
}

/* A store of an item whose "ver" is the raw value given. */
static void
put_store_ver(struct cbor_buf *b, const uint8_t *v, size_t n)
{
	put_store(b, true, false, 2);
	cbor_put_text(b, "val");
	cbor_put_uint(b, 1);
	cbor_put_text(b, "ver");
	cbor_put_raw(b, v, n);
}

START_TEST(test_bad_items)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;
	uint8_t		 v[64];

	put_store(&b, true, true, 1);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	accepted(&b, &r);
	ck_assert(r.has_item);
	ck_assert_uint_eq(r.keylen, 5);

	put_store(&b, false, true, 1);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	refused(&b, "store: bad item");
	put_store(&b, true, false, 1);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	refused(&b, "store: bad item");
	/* A store needs a value, or a tombstone, not both. */
	put_store(&b, true, true, 0);
	refused(&b, "store: bad item");
	put_store(&b, true, true, 2);
	cbor_put_text(&b, "del");
	cbor_put_bool(&b, true);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	refused(&b, "store: bad item");
	put_store(&b, true, true, 1);
	cbor_put_text(&b, "del");
	cbor_put_bool(&b, true);
	accepted(&b, &r);
	ck_assert(r.item.tombstone);
	put_store(&b, true, true, 2);
	cbor_put_text(&b, "del");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	refused(&b, "store: bad item");
	put_store(&b, true, true, 2);
	cbor_put_text(&b, "x");
	cbor_put_int(&b, -5);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	refused(&b, "store: bad item");
	put_store(&b, true, true, 2);
	cbor_put_text(&b, "x");
	cbor_put_uint(&b, 5);
	cbor_put_text(&b, "val");
	cbor_put_uint(&b, 1);
	accepted(&b, &r);
	ck_assert_uint_eq(r.item.expires_ms, 5);

	/* Versions: [hlc > 0, node of 32 bytes]. */
	v[0] = 0x82;
	v[1] = 0x05;
	v[2] = 0x58;
	v[3] = NODE_ID_LEN;
	memcpy(v + 4, node_a, NODE_ID_LEN);
	put_store_ver(&b, v, 4 + NODE_ID_LEN);
	accepted(&b, &r);
	ck_assert_uint_eq(r.item.ver.hlc, 5);
	ck_assert_mem_eq(r.item.ver.node, node_a, NODE_ID_LEN);
	v[1] = 0x00;
	put_store_ver(&b, v, 4 + NODE_ID_LEN);
	refused(&b, "store: bad item");
	v[1] = 0x20;
	put_store_ver(&b, v, 4 + NODE_ID_LEN);
	refused(&b, "store: bad item");
	v[1] = 0x05;
	v[3] = NODE_ID_LEN - 1;
	put_store_ver(&b, v, 3 + NODE_ID_LEN);
	refused(&b, "store: bad item");
	v[3] = NODE_ID_LEN;
	v[2] = 0x78;				/* text, not bytes */
	memset(v + 4, 'n', NODE_ID_LEN);
	put_store_ver(&b, v, 4 + NODE_ID_LEN);
	refused(&b, "store: bad item");
	memcpy(v + 4, node_a, NODE_ID_LEN);
	v[2] = 0x58;
	v[0] = 0x83;				/* a third element */
	v[4 + NODE_ID_LEN] = 0x00;
	put_store_ver(&b, v, 5 + NODE_ID_LEN);
	refused(&b, "store: bad item");
	put_store_ver(&b, B(0x81, 0x05), 2);
	refused(&b, "store: bad item");
	put_store_ver(&b, B(0x05), 1);
	refused(&b, "store: bad item");
	put_store_ver(&b, B(0x9f, 0x05, 0xff), 3);
	refused(&b, "store: bad item");

	/* The base is a version too. */
	msg(&m, KVMSG_STORE, NULL);
	item(&m.item, "a", 1);
	MUTATE(&b, &m, "base", 0x82, 0x00, 0x40);
	refused(&b, "store: bad base");
	MUTATE(&b, &m, "rep", 0x01);
	refused(&b, "store: bad repair flag");
	MUTATE(&b, &m, "rep", 0xf4);
	accepted(&b, &r);
	ck_assert(!r.repair);
	MUTATE(&b, &m, "it", 0x01);
	refused(&b, "store: bad item");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_answers)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;

	msg(&m, KVMSG_WRITTEN, "a");
	version(&m.ver, 1, node_a);
	mutate(&b, &m, "ver", NULL, 0);
	refused(&b, "bad version");
	MUTATE(&b, &m, "e", 0xa0);
	refused(&b, "malformed error");
	MUTATE(&b, &m, "e", 0x61, 'x');
	refused(&b, "malformed error");

	/* An error needs no version. */
	m.err.code = PEER_UNAVAILABLE;
	m.err.msg = "2 of 3 owners stored the write, 2 needed";
	m.err.msglen = strlen(m.err.msg);
	mutate(&b, &m, "ver", NULL, 0);
	accepted(&b, &r);
	ck_assert_int_eq(r.err.code, PEER_UNAVAILABLE);

	/* A stored answer's key and item's key must agree. */
	msg(&m, KVMSG_STORED, NULL);
	version(&m.ver, 3, node_b);
	m.has_item = true;
	item(&m.item, "a", 2);
	MUTATE(&b, &m, "key", 0x61, 'b');
	refused(&b, "stored: bad key or item");
	MUTATE(&b, &m, "key", 0x61, 'a');
	accepted(&b, &r);
	MUTATE(&b, &m, "it", 0xa0);
	refused(&b, "stored: bad key or item");

	msg(&m, KVMSG_READ_ANSWER, NULL);
	m.has_item = true;
	item(&m.item, "a", 2);
	m.item.value = NULL;
	m.item.valuelen = 0;
	encode(&b, &m);
	refused(&b, "read answer: bad key or item");

	msg(&m, KVMSG_CHANGE, NULL);
	m.has_item = true;
	item(&m.item, "a", 2);
	MUTATE(&b, &m, "op", 0x61, 'x');
	refused(&b, "change: bad op");
	mutate(&b, &m, "it", NULL, 0);
	refused(&b, "change: bad item");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_list)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m, r;

	msg(&m, KVMSG_LIST, NULL);
	m.prefix = "p/";
	m.prefixlen = 2;
	m.limit = 10;
	mutate(&b, &m, "pre", NULL, 0);
	refused(&b, "list: bad prefix");
	MUTATE(&b, &m, "pre", 0x61, 0x01);
	refused(&b, "list: bad prefix");
	MUTATE(&b, &m, "aft", 0x60);
	refused(&b, "list: bad after");
	MUTATE(&b, &m, "aft", 0x41, 'a');
	refused(&b, "list: bad after");
	mutate(&b, &m, "lim", NULL, 0);
	refused(&b, "list: bad limit");
	MUTATE(&b, &m, "lim", 0x00);
	refused(&b, "list: bad limit");
	MUTATE(&b, &m, "lim", 0x19, 0x03, 0xe9);	/* 1001 */
	refused(&b, "list: bad limit");
	MUTATE(&b, &m, "lim", 0x19, 0x03, 0xe8);	/* 1000 */
	accepted(&b, &r);
	ck_assert_uint_eq(r.limit, 1000);
	MUTATE(&b, &m, "vals", 0xf6);
	refused(&b, "list: bad values flag");

	msg(&m, KVMSG_LIST_ANSWER, NULL);
	m.items = items;
	mutate(&b, &m, "its", NULL, 0);
	refused(&b, "list answer: bad items");
	MUTATE(&b, &m, "its", 0xa0);
	refused(&b, "list answer: bad items");
	MUTATE(&b, &m, "its", 0x9f, 0xff);
	refused(&b, "list answer: bad items");
	MUTATE(&b, &m, "its", 0x81, 0x01);
	refused(&b, "list answer: bad item");
	MUTATE(&b, &m, "more", 0x01);
	refused(&b, "list answer: bad more flag");
	cbor_buf_free(&b);
}
END_TEST

/* A body of kind with an array key of n copies of the item elem. */
static void
put_array_body(struct cbor_buf *b, const char *kind, const char *key,
    size_t n, void (*elem)(struct cbor_buf *, size_t), const char *extra)
{
	size_t	i;

	cbor_buf_reset(b);
	cbor_put_map(b, 2 + (extra != NULL));
	cbor_put_text(b, "k");
	cbor_put_text(b, kind);
	cbor_put_text(b, key);
	cbor_put_array(b, n);
	for (i = 0; i < n; i++)
		elem(b, i);
	if (extra != NULL) {
		cbor_put_text(b, extra);
		cbor_put_uint(b, 1000);
	}
}

static void
elem_item(struct cbor_buf *b, size_t i)
{
	char	key[16];

	snprintf(key, sizeof(key), "k%zu", i);
	cbor_put_map(b, 2);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "ver");
	cbor_put_array(b, 2);
	cbor_put_uint(b, i + 1);
	cbor_put_bytes(b, node_a, NODE_ID_LEN);
}

static void
elem_entry(struct cbor_buf *b, size_t i)
{
	char	key[16];

	snprintf(key, sizeof(key), "k%zu", i);
	cbor_put_array(b, 3);
	cbor_put_text(b, key);
	cbor_put_uint(b, i);
	cbor_put_bytes(b, node_b, NODE_ID_LEN);
}

static void
elem_prefix(struct cbor_buf *b, size_t i)
{
	char	key[16];

	snprintf(key, sizeof(key), "p%zu", i);
	cbor_put_text(b, key);
}

START_TEST(test_counts)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 r;

	put_array_body(&b, "la", "its", KVMSG_ITEMS_MAX, elem_item, NULL);
	accepted(&b, &r);
	ck_assert_uint_eq(r.nitems, KVMSG_ITEMS_MAX);
	put_array_body(&b, "la", "its", KVMSG_ITEMS_MAX + 1, elem_item, NULL);
	refused(&b, "list answer: bad items");

	put_array_body(&b, "h", "ents", KVMSG_ITEMS_MAX, elem_entry, "bk");
	accepted(&b, &r);
	ck_assert_uint_eq(r.nentries, KVMSG_ITEMS_MAX);
	ck_assert_uint_eq(r.buckets, 1000);
	put_array_body(&b, "h", "ents", KVMSG_ITEMS_MAX + 1, elem_entry, "bk");
	refused(&b, "bad entries");
	put_array_body(&b, "n", "ents", KVMSG_ITEMS_MAX + 1, elem_entry, NULL);
	refused(&b, "bad entries");
	put_array_body(&b, "h", "ents", 3, elem_entry, NULL);
	refused(&b, "have: bad buckets");

	put_array_body(&b, "wl", "pres", KVMSG_PREFIXES_MAX, elem_prefix,
	    "lease");
	accepted(&b, &r);
	ck_assert_uint_eq(r.nprefixes, KVMSG_PREFIXES_MAX);
	ck_assert_uint_eq(r.lease_ms, 1000);
	put_array_body(&b, "wl", "pres", KVMSG_PREFIXES_MAX + 1, elem_prefix,
	    "lease");
	refused(&b, "watch: bad prefixes");
	put_array_body(&b, "wl", "pres", 1, elem_prefix, NULL);
	refused(&b, "watch: bad lease");

	/* A count larger than the bytes that follow. */
	refused_buf(B(0xa2, 0x61, 'k', 0x62, 'l', 'a', 0x63, 'i', 't', 's',
	    0x99, 0xff, 0xff), 13, "not a map");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_sync)
{
	struct cbor_buf	 b = { 0 };
	struct kvmsg	 m;
	uint8_t		 dig[KVMSG_BUCKETS * KVMSG_DIGEST_LEN + 1];

	msg(&m, KVMSG_DIGEST, NULL);
	mutate(&b, &m, "dig", NULL, 0);
	refused(&b, "digest: bad digest");
	memset(dig, 1, sizeof(dig));
	cbor_buf_reset(&b);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "k");
	cbor_put_text(&b, "d");
	cbor_put_text(&b, "dig");
	cbor_put_bytes(&b, dig, sizeof(dig));
	refused(&b, "digest: bad digest");
	cbor_buf_reset(&b);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "k");
	cbor_put_text(&b, "d");
	cbor_put_text(&b, "dig");
	cbor_put_bytes(&b, dig, sizeof(dig) - 2);
	refused(&b, "digest: bad digest");

	msg(&m, KVMSG_WANT, NULL);
	m.entries = entries;
	MUTATE(&b, &m, "ents", 0x81, 0x82, 0x61, 'a', 0x01);
	refused(&b, "bad entry");
	MUTATE(&b, &m, "ents", 0x81, 0x83, 0x60, 0x01, 0x40);
	refused(&b, "bad entry");
	MUTATE(&b, &m, "ents", 0x81, 0x83, 0x61, 'a', 0x01, 0x40);
	refused(&b, "bad entry");
	MUTATE(&b, &m, "ents", 0xa0);
	refused(&b, "bad entries");

	msg(&m, KVMSG_WATCH, NULL);
	MUTATE(&b, &m, "pres", 0x81, 0x01);
	refused(&b, "watch: bad prefix");
	MUTATE(&b, &m, "pres", 0x81, 0x61, 0x09);
	refused(&b, "watch: bad prefix");
	cbor_buf_free(&b);
}
END_TEST

Suite *
kvmsg_suite(void)
{
	Suite	*s = suite_create("kvmsg");
	TCase	*tc = tcase_create("kvmsg");

	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_written_stored);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_answer_full);
	tcase_add_test(tc, test_sync);
	tcase_add_test(tc, test_watch_change);
	tcase_add_test(tc, test_op_names);
	tcase_add_test(tc, test_not_a_body);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_bad_write);
	tcase_add_test(tc, test_value_depth);
	tcase_add_test(tc, test_bad_items);
	tcase_add_test(tc, test_bad_answers);
	tcase_add_test(tc, test_bad_list);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_bad_sync);
	suite_add_tcase(s, tc);
	return s;
}
