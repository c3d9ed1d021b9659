/* SPDX-License-Identifier: ISC */
/*
 * fuzz_kvmsg.c: libFuzzer target for the bodies of "kv" messages.  The
 * input is one body, read as kv_deliver() reads the args of a "kv"
 * message: kvmsg_decode().
 *
 * A body that decodes must satisfy what the store relies on (keys and
 * prefixes that kv_key_valid accepts, versions held with an hlc, values
 * that are one whole item no deeper than KVMSG_VALUE_LEVEL allows,
 * counts within their maxima, spans inside the input), must encode
 * again, and must decode from that encoding to the same body field by
 * field.  Encoding the copy again must give the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "kvmsg.h"
#include "peer.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct kvmsg_space	space, space2, space3;
static const uint8_t		zero[NODE_ID_LEN];

static bool
within(const void *vp, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t	*p = vp;

	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static void
check_key(const char *k, size_t n, bool prefix, const uint8_t *base,
    size_t len)
{
	if (n == 0 ? !prefix || k == NULL : !kv_key_valid(k, n))
		abort();
	if (!within(k, n, base, len))
		abort();
}

static void
check_value(const uint8_t *v, size_t n, const uint8_t *base, size_t len)
{
	if (v == NULL || !within(v, n, base, len) ||
	    cbor_scan_item_in(v, n, KVMSG_VALUE_LEVEL) != n)
		abort();
}

static void
check_item(const struct kv_item *it, bool need_value, const uint8_t *base,
    size_t len)
{
	check_key(it->key, it->keylen, false, base, len);
	if (it->ver.hlc == 0)
		abort();
	if (it->tombstone) {
		if (it->value != NULL || it->valuelen != 0)
			abort();
	} else if (it->value != NULL)
		check_value(it->value, it->valuelen, base, len);
	else if (need_value || it->valuelen != 0)
		abort();
}

/* An answer's key is its item's, when it has one. */
static void
check_answer(const struct kvmsg *m, const uint8_t *base, size_t len)
{
	check_key(m->key, m->keylen, false, base, len);
	if (m->has_item) {
		check_item(&m->item, true, base, len);
		if (m->key != m->item.key || m->keylen != m->item.keylen)
			abort();
	}
}

static void
check_outcome(const struct kvmsg *m, const uint8_t *base, size_t len)
{
	if (m->err.code == PEER_OK) {
		if (m->ver.hlc == 0)
			abort();
	} else if (m->err.msglen > CTL_MSG_MAX ||
	    !within(m->err.msg, m->err.msglen, base, len))
		abort();
}

static void
check_invariants(const struct kvmsg *m, const uint8_t *base, size_t len)
{
	size_t	i;

	switch (m->kind) {
	case KVMSG_WRITE:
		check_key(m->key, m->keylen, false, base, len);
		if (m->op == KV_EXPIRE || m->timeout_ms > 86400000)
			abort();
		if (m->op == KV_DEL) {
			if (m->value != NULL || m->ttl_ms != 0)
				abort();
		} else {
			check_value(m->value, m->valuelen, base, len);
			if (m->op == KV_MERGE && ((m->value[0] & 0xe0) != 0xa0 ||
			    m->ttl_ms != 0))
				abort();
		}
		if (!m->has_if_version && m->if_version != 0)
			abort();
		break;
	case KVMSG_WRITTEN:
		check_key(m->key, m->keylen, false, base, len);
		if (m->has_item)
			abort();
		check_outcome(m, base, len);
		break;
	case KVMSG_STORE:
	case KVMSG_CHANGE:
		if (!m->has_item)
			abort();
		check_answer(m, base, len);
		/* No base: none at all, not a version of hlc 0. */
		if (m->kind == KVMSG_STORE && m->base.hlc == 0 &&
		    memcmp(m->base.node, zero, NODE_ID_LEN) != 0)
			abort();
		break;
	case KVMSG_STORED:
		check_answer(m, base, len);
		check_outcome(m, base, len);
		break;
	case KVMSG_READ:
		check_key(m->key, m->keylen, false, base, len);
		if (m->has_item)
			abort();
		break;
	case KVMSG_READ_ANSWER:
		check_answer(m, base, len);
		break;
	case KVMSG_LIST:
		check_key(m->prefix, m->prefixlen, true, base, len);
		if (m->after != NULL)
			check_key(m->after, m->afterlen, false, base, len);
		if (m->limit == 0 || m->limit > 1000)
			abort();
		break;
	case KVMSG_LIST_ANSWER:
		if (m->nitems > KVMSG_ITEMS_MAX)
			abort();
		for (i = 0; i < m->nitems; i++)
			check_item(&m->items[i], false, base, len);
		break;
	case KVMSG_DIGEST:
		break;
	case KVMSG_HAVE:
	case KVMSG_WANT:
		if (m->nentries > KVMSG_ITEMS_MAX)
			abort();
		for (i = 0; i < m->nentries; i++)
			check_key(m->entries[i].key, m->entries[i].keylen,
			    false, base, len);
		break;
	case KVMSG_WATCH:
		if (m->nprefixes > KVMSG_PREFIXES_MAX)
			abort();
		for (i = 0; i < m->nprefixes; i++)
			check_key(m->prefixes[i], m->prefixlens[i], true, base,
			    len);
		break;
	default:
		abort();
	}
}

static bool
same_span(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen || (a == NULL) != (b == NULL))
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

static bool
same_version(const struct kv_version *a, const struct kv_version *b)
{
	return a->hlc == b->hlc && memcmp(a->node, b->node, NODE_ID_LEN) == 0;
}

static bool
same_item(const struct kv_item *a, const struct kv_item *b)
{
	return same_span(a->key, a->keylen, b->key, b->keylen) &&
	    same_version(&a->ver, &b->ver) && a->expires_ms == b->expires_ms &&
	    a->tombstone == b->tombstone &&
	    same_span(a->value, a->valuelen, b->value, b->valuelen);
}

/* Every field a decode sets, of every kind, is the same in a and b. */
static void
check_same(const struct kvmsg *a, const struct kvmsg *b)
{
	size_t	i;

	if (a->kind != b->kind ||
	    !same_span(a->key, a->keylen, b->key, b->keylen) ||
	    a->op != b->op ||
	    !same_span(a->value, a->valuelen, b->value, b->valuelen) ||
	    a->has_if_version != b->has_if_version ||
	    a->if_version != b->if_version || a->ttl_ms != b->ttl_ms ||
	    a->timeout_ms != b->timeout_ms)
		abort();
	if (a->err.code != b->err.code ||
	    !same_span(a->err.msg, a->err.msglen, b->err.msg, b->err.msglen) ||
	    !same_span(a->err.context, a->err.contextlen, b->err.context,
	    b->err.contextlen) || !same_version(&a->ver, &b->ver))
		abort();
	if (a->has_item != b->has_item || !same_item(&a->item, &b->item) ||
	    !same_version(&a->base, &b->base) || a->repair != b->repair ||
	    a->change_op != b->change_op)
		abort();
	if (!same_span(a->prefix, a->prefixlen, b->prefix, b->prefixlen) ||
	    !same_span(a->after, a->afterlen, b->after, b->afterlen) ||
	    a->limit != b->limit || a->values != b->values ||
	    a->nitems != b->nitems || a->more != b->more)
		abort();
	for (i = 0; i < a->nitems; i++)
		if (!same_item(&a->items[i], &b->items[i]))
			abort();
	if (memcmp(a->digest, b->digest, sizeof(a->digest)) != 0 ||
	    a->nentries != b->nentries || a->buckets != b->buckets)
		abort();
	for (i = 0; i < a->nentries; i++)
		if (!same_span(a->entries[i].key, a->entries[i].keylen,
		    b->entries[i].key, b->entries[i].keylen) ||
		    !same_version(&a->entries[i].ver, &b->entries[i].ver))
			abort();
	if (a->nprefixes != b->nprefixes || a->lease_ms != b->lease_ms)
		abort();
	for (i = 0; i < a->nprefixes; i++)
		if (!same_span(a->prefixes[i], a->prefixlens[i],
		    b->prefixes[i], b->prefixlens[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kvmsg	 m, back, again;
	struct cbor_buf		 b = { 0 }, b2 = { 0 };
	const char		*why = NULL;

	if (kvmsg_decode(data, size, &m, &space, &why) == -1) {
		if (why == NULL || *why == '\0')
			abort();
		return 0;
	}
	check_invariants(&m, data, size);

	/* Sent on as kvpost does it, then read at the next node. */
	kvmsg_encode(&b, &m);
	if (b.failed)
		abort();
	if (kvmsg_decode(b.data, b.len, &back, &space2, &why) == -1)
		abort();
	check_invariants(&back, b.data, b.len);
	check_same(&m, &back);

	/* The encoding of a decoded body is a fixed point. */
	kvmsg_encode(&b2, &back);
	if (b2.failed || b2.len != b.len || memcmp(b2.data, b.data, b.len) != 0)
		abort();
	if (kvmsg_decode(b2.data, b2.len, &again, &space3, &why) == -1)
		abort();
	check_same(&back, &again);

	cbor_buf_free(&b);
	cbor_buf_free(&b2);
	return 0;
}
