/* SPDX-License-Identifier: ISC */
/*
 * kvmsg.c: encoding and decoding the bodies of "kv" messages.  Every
 * key, version, count and value is checked here, so the store's code
 * only sees well-formed bodies; values stay encoded spans.  Keys that a
 * kind does not use are ignored, as newer peers may send more.
 */
#include <string.h>

#include "callmsg.h"
#include "cbor_scan.h"
#include "kvmsg.h"

#define BODY_FIELDS_MAX	16
#define ITEM_FIELDS_MAX	8
#define LIST_LIMIT_MAX	1000

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[] = {
	[KVMSG_WRITE] = "w",
	[KVMSG_WRITTEN] = "wa",
	[KVMSG_STORE] = "s",
	[KVMSG_STORED] = "sa",
	[KVMSG_READ] = "r",
	[KVMSG_READ_ANSWER] = "ra",
	[KVMSG_LIST] = "l",
	[KVMSG_LIST_ANSWER] = "la",
	[KVMSG_DIGEST] = "d",
	[KVMSG_HAVE] = "h",
	[KVMSG_WANT] = "n",
	[KVMSG_WATCH] = "wl",
	[KVMSG_CHANGE] = "c",
};

static const char *const op_names[] = {
	[KV_PUT] = "put",
	[KV_DEL] = "del",
	[KV_MERGE] = "merge",
	[KV_EXPIRE] = "expire",
};

const char *
kv_write_op_name(enum kv_write_op op)
{
	return (size_t)op < NITEMS(op_names) ? op_names[op] : "unknown";
}

static bool
is_map(const uint8_t *val, size_t len)
{
	return len > 0 && (val[0] & 0xe0) == 0xa0;
}

/* A value: one item that fits wherever the store carries it. */
static bool
read_value(const uint8_t *val, size_t len)
{
	return cbor_scan_item_in(val, len, KVMSG_VALUE_LEVEL) == len;
}

static bool
read_key(const uint8_t *val, size_t len, const char **s, size_t *n)
{
	return cbor_read_text(val, len, s, n) && kv_key_valid(*s, *n);
}

/* A prefix: empty, or text a key could be. */
static bool
read_prefix(const uint8_t *val, size_t len, const char **s, size_t *n)
{
	return cbor_read_text(val, len, s, n) &&
	    (*n == 0 || kv_key_valid(*s, *n));
}

static bool
read_op(const uint8_t *val, size_t len, enum kv_write_op *op)
{
	const char	*s;
	size_t		 n, i;

	if (!cbor_read_text(val, len, &s, &n))
		return false;
	for (i = 0; i < NITEMS(op_names); i++)
		if (strlen(op_names[i]) == n && memcmp(op_names[i], s, n) == 0) {
			*op = (enum kv_write_op)i;
			return true;
		}
	return false;
}

/* The node of a version: a byte string of NODE_ID_LEN. */
static bool
read_node(const uint8_t *val, size_t len, uint8_t *node)
{
	const uint8_t	*p;
	size_t		 n;

	if (!cbor_read_bytes(val, len, &p, &n) || n != NODE_ID_LEN)
		return false;
	memcpy(node, p, NODE_ID_LEN);
	return true;
}

/* [hlc, node]; a version held is never hlc 0. */
static bool
read_version(const uint8_t *val, size_t len, struct kv_version *v)
{
	struct cbor_iter	 it;
	const uint8_t		*p;
	size_t			 n;

	if (!cbor_array_iter(val, len, &it) || it.items != 2 ||
	    !cbor_iter_next(&it, &p, &n) || !cbor_read_uint(p, n, &v->hlc) ||
	    !cbor_iter_next(&it, &p, &n) || !read_node(p, n, v->node))
		return false;
	return v->hlc != 0 && it.left == 0;
}

/* [key, hlc, node]; hlc 0: none held. */
static bool
read_entry(const uint8_t *val, size_t len, struct kvmsg_entry *e)
{
	struct cbor_iter	 it;
	const uint8_t		*p;
	size_t			 n;

	if (!cbor_array_iter(val, len, &it) || it.items != 3 ||
	    !cbor_iter_next(&it, &p, &n) ||
	    !read_key(p, n, &e->key, &e->keylen) ||
	    !cbor_iter_next(&it, &p, &n) ||
	    !cbor_read_uint(p, n, &e->ver.hlc) ||
	    !cbor_iter_next(&it, &p, &n) || !read_node(p, n, e->ver.node))
		return false;
	return it.left == 0;
}

/*
 * An item map.  A tombstone has no value; others must have one if
 * need_value (a list answer without values has none).
 */
static bool
read_item(const uint8_t *val, size_t len, struct kv_item *it, bool need_value)
{
	struct cbor_field	 f[ITEM_FIELDS_MAX];
	const struct cbor_field	*k, *v, *x, *d;
	int			 nf;

	memset(it, 0, sizeof(*it));
	if ((nf = cbor_scan_map(val, len, f, NITEMS(f))) == -1 ||
	    (k = cbor_field_get(f, nf, "key")) == NULL ||
	    !read_key(k->val, k->vallen, &it->key, &it->keylen) ||
	    (v = cbor_field_get(f, nf, "ver")) == NULL ||
	    !read_version(v->val, v->vallen, &it->ver))
		return false;
	if ((x = cbor_field_get(f, nf, "x")) != NULL &&
	    !cbor_read_uint(x->val, x->vallen, &it->expires_ms))
		return false;
	if ((d = cbor_field_get(f, nf, "del")) != NULL &&
	    !cbor_read_bool(d->val, d->vallen, &it->tombstone))
		return false;
	v = cbor_field_get(f, nf, "val");
	if (it->tombstone)
		return v == NULL;
	if (v == NULL)
		return !need_value;
	if (!read_value(v->val, v->vallen))
		return false;
	it->value = v->val;
	it->valuelen = v->vallen;
	return true;
}

/* "e", if present: the error; else success (err.code PEER_OK). */
static bool
read_error(const struct cbor_field *f, int nf, struct ctl_error *err)
{
	const struct cbor_field	*e;

	if ((e = cbor_field_get(f, nf, "e")) == NULL)
		return true;
	return ctl_error_decode(e->val, e->vallen, err) &&
	    err->msglen <= CTL_MSG_MAX;
}

/* The key of an answer: its item's, or "key" when it has none. */
static bool
read_answer_key(const struct cbor_field *f, int nf, struct kvmsg *m)
{
	const struct cbor_field	*k, *i;
	const char		*s;
	size_t			 n;

	k = cbor_field_get(f, nf, "key");
	if ((i = cbor_field_get(f, nf, "it")) == NULL)
		return k != NULL && read_key(k->val, k->vallen, &m->key,
		    &m->keylen);
	if (!read_item(i->val, i->vallen, &m->item, true))
		return false;
	m->has_item = true;
	m->key = m->item.key;
	m->keylen = m->item.keylen;
	/* Both: they must agree. */
	return k == NULL || (read_key(k->val, k->vallen, &s, &n) &&
	    n == m->keylen && memcmp(s, m->key, n) == 0);
}

static bool
read_flag(const struct cbor_field *f, int nf, const char *key, bool *b)
{
	const struct cbor_field	*v;

	*b = false;
	return (v = cbor_field_get(f, nf, key)) == NULL ||
	    cbor_read_bool(v->val, v->vallen, b);
}

/* The body's "key". */
static bool
read_body_key(const struct cbor_field *f, int nf, struct kvmsg *m)
{
	const struct cbor_field	*k;

	return (k = cbor_field_get(f, nf, "key")) != NULL &&
	    read_key(k->val, k->vallen, &m->key, &m->keylen);
}

static int
decode_write(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*o, *v;

	if (!read_body_key(f, nf, m)) {
		*why = "write: bad key";
		return -1;
	}
	if ((o = cbor_field_get(f, nf, "op")) == NULL ||
	    !read_op(o->val, o->vallen, &m->op) || m->op == KV_EXPIRE) {
		*why = "write: bad op";
		return -1;
	}
	v = cbor_field_get(f, nf, "val");
	if (m->op == KV_DEL ? v != NULL : (v == NULL ||
	    !read_value(v->val, v->vallen) ||
	    (m->op == KV_MERGE && !is_map(v->val, v->vallen)))) {
		*why = "write: bad value";
		return -1;
	}
	if (v != NULL) {
		m->value = v->val;
		m->valuelen = v->vallen;
	}
	if (cbor_field_get(f, nf, "if") != NULL) {
		if (!cbor_field_uint(f, nf, "if", &m->if_version)) {
			*why = "write: bad if_version";
			return -1;
		}
		m->has_if_version = true;
	}
	if (cbor_field_get(f, nf, "ttl") != NULL &&
	    (m->op != KV_PUT || !cbor_field_uint(f, nf, "ttl", &m->ttl_ms))) {
		*why = "write: bad ttl";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "to", &m->timeout_ms)) {
		*why = "write: no timeout";
		return -1;
	}
	/* No node keeps a write longer than a client may ask. */
	if (m->timeout_ms > CALLMSG_TIMEOUT_MAX)
		m->timeout_ms = CALLMSG_TIMEOUT_MAX;
	return 0;
}

/* WRITTEN and STORED: an error, or the version. */
static int
decode_outcome(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*v;

	if (!read_error(f, nf, &m->err)) {
		*why = "malformed error";
		return -1;
	}
	if (m->err.code == PEER_OK &&
	    ((v = cbor_field_get(f, nf, "ver")) == NULL ||
	    !read_version(v->val, v->vallen, &m->ver))) {
		*why = "bad version";
		return -1;
	}
	return 0;
}

static int
decode_store(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*i, *b;

	if ((i = cbor_field_get(f, nf, "it")) == NULL ||
	    !read_item(i->val, i->vallen, &m->item, true)) {
		*why = "store: bad item";
		return -1;
	}
	m->has_item = true;
	m->key = m->item.key;
	m->keylen = m->item.keylen;
	if ((b = cbor_field_get(f, nf, "base")) != NULL &&
	    !read_version(b->val, b->vallen, &m->base)) {
		*why = "store: bad base";
		return -1;
	}
	if (!read_flag(f, nf, "rep", &m->repair)) {
		*why = "store: bad repair flag";
		return -1;
	}
	return 0;
}

static int
decode_list(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*p, *a;

	if ((p = cbor_field_get(f, nf, "pre")) == NULL ||
	    !read_prefix(p->val, p->vallen, &m->prefix, &m->prefixlen)) {
		*why = "list: bad prefix";
		return -1;
	}
	if ((a = cbor_field_get(f, nf, "aft")) != NULL &&
	    !read_key(a->val, a->vallen, &m->after, &m->afterlen)) {
		*why = "list: bad after";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "lim", &m->limit) || m->limit == 0 ||
	    m->limit > LIST_LIMIT_MAX) {
		*why = "list: bad limit";
		return -1;
	}
	if (!read_flag(f, nf, "vals", &m->values)) {
		*why = "list: bad values flag";
		return -1;
	}
	return 0;
}

enum array_result {
	ARRAY_OK,
	ARRAY_BAD,		/* missing, not an array, too long, cut short */
	ARRAY_BAD_ELEMENT,
};

/*
 * The array under key, of at most max elements: fn(arg, i, element)
 * reads element i; *count ends at the number read.
 */
static enum array_result
read_array(const struct cbor_field *f, int nf, const char *key, size_t max,
    bool (*fn)(struct kvmsg *, size_t, const uint8_t *, size_t),
    struct kvmsg *m, size_t *count)
{
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*p;
	size_t			 n;

	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_array_iter(v->val, v->vallen, &it) || it.items > max)
		return ARRAY_BAD;
	while (cbor_iter_next(&it, &p, &n)) {
		if (!fn(m, *count, p, n))
			return ARRAY_BAD_ELEMENT;
		(*count)++;
	}
	return it.items == 0 && it.left == 0 ? ARRAY_OK : ARRAY_BAD;
}

static bool
list_item_at(struct kvmsg *m, size_t i, const uint8_t *p, size_t n)
{
	return read_item(p, n, &m->items[i], false);
}

static bool
entry_at(struct kvmsg *m, size_t i, const uint8_t *p, size_t n)
{
	return read_entry(p, n, &m->entries[i]);
}

static bool
prefix_at(struct kvmsg *m, size_t i, const uint8_t *p, size_t n)
{
	return read_prefix(p, n, &m->prefixes[i], &m->prefixlens[i]);
}

static int
decode_list_answer(const struct cbor_field *f, int nf, struct kvmsg *m,
    struct kvmsg_space *space, const char **why)
{
	m->items = space->items;
	switch (read_array(f, nf, "its", KVMSG_ITEMS_MAX, list_item_at, m,
	    &m->nitems)) {
	case ARRAY_OK:
		break;
	case ARRAY_BAD:
		*why = "list answer: bad items";
		return -1;
	case ARRAY_BAD_ELEMENT:
		*why = "list answer: bad item";
		return -1;
	}
	if (!read_flag(f, nf, "more", &m->more)) {
		*why = "list answer: bad more flag";
		return -1;
	}
	return 0;
}

static int
decode_entries(const struct cbor_field *f, int nf, struct kvmsg *m,
    struct kvmsg_space *space, const char **why)
{
	m->entries = space->entries;
	switch (read_array(f, nf, "ents", KVMSG_ITEMS_MAX, entry_at, m,
	    &m->nentries)) {
	case ARRAY_OK:
		break;
	case ARRAY_BAD:
		*why = "bad entries";
		return -1;
	case ARRAY_BAD_ELEMENT:
		*why = "bad entry";
		return -1;
	}
	if (m->kind == KVMSG_HAVE && !cbor_field_uint(f, nf, "bk", &m->buckets)) {
		*why = "have: bad buckets";
		return -1;
	}
	return 0;
}

static int
decode_digest(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*v;
	const uint8_t		*p;
	size_t			 n;

	if ((v = cbor_field_get(f, nf, "dig")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &p, &n) ||
	    n != sizeof(m->digest)) {
		*why = "digest: bad digest";
		return -1;
	}
	memcpy(m->digest, p, n);
	return 0;
}

static int
decode_watch(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	switch (read_array(f, nf, "pres", KVMSG_PREFIXES_MAX, prefix_at, m,
	    &m->nprefixes)) {
	case ARRAY_OK:
		break;
	case ARRAY_BAD:
		*why = "watch: bad prefixes";
		return -1;
	case ARRAY_BAD_ELEMENT:
		*why = "watch: bad prefix";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "lease", &m->lease_ms)) {
		*why = "watch: bad lease";
		return -1;
	}
	return 0;
}

static int
decode_change(const struct cbor_field *f, int nf, struct kvmsg *m,
    const char **why)
{
	const struct cbor_field	*o, *i;

	if ((o = cbor_field_get(f, nf, "op")) == NULL ||
	    !read_op(o->val, o->vallen, &m->change_op)) {
		*why = "change: bad op";
		return -1;
	}
	if ((i = cbor_field_get(f, nf, "it")) == NULL ||
	    !read_item(i->val, i->vallen, &m->item, true)) {
		*why = "change: bad item";
		return -1;
	}
	m->has_item = true;
	m->key = m->item.key;
	m->keylen = m->item.keylen;
	return 0;
}

static bool
read_kind(const struct cbor_field *f, int nf, enum kvmsg_kind *kind)
{
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n, i;

	if ((v = cbor_field_get(f, nf, "k")) == NULL ||
	    !cbor_read_text(v->val, v->vallen, &s, &n))
		return false;
	for (i = 0; i < NITEMS(kind_names); i++)
		if (strlen(kind_names[i]) == n &&
		    memcmp(kind_names[i], s, n) == 0) {
			*kind = (enum kvmsg_kind)i;
			return true;
		}
	return false;
}

int
kvmsg_decode(const uint8_t *body, size_t len, struct kvmsg *m,
    struct kvmsg_space *space, const char **why)
{
	struct cbor_field	f[BODY_FIELDS_MAX];
	int			nf;

	memset(m, 0, sizeof(*m));
	if ((nf = cbor_scan_map(body, len, f, NITEMS(f))) == -1) {
		*why = "not a map of text keys";
		return -1;
	}
	if (!read_kind(f, nf, &m->kind)) {
		*why = "no known kind";
		return -1;
	}
	switch (m->kind) {
	case KVMSG_WRITE:
		return decode_write(f, nf, m, why);
	case KVMSG_WRITTEN:
		if (!read_body_key(f, nf, m)) {
			*why = "written: bad key";
			return -1;
		}
		return decode_outcome(f, nf, m, why);
	case KVMSG_STORE:
		return decode_store(f, nf, m, why);
	case KVMSG_STORED:
		if (!read_answer_key(f, nf, m)) {
			*why = "stored: bad key or item";
			return -1;
		}
		return decode_outcome(f, nf, m, why);
	case KVMSG_READ:
		if (!read_body_key(f, nf, m)) {
			*why = "read: bad key";
			return -1;
		}
		return 0;
	case KVMSG_READ_ANSWER:
		if (!read_answer_key(f, nf, m)) {
			*why = "read answer: bad key or item";
			return -1;
		}
		return 0;
	case KVMSG_LIST:
		return decode_list(f, nf, m, why);
	case KVMSG_LIST_ANSWER:
		return decode_list_answer(f, nf, m, space, why);
	case KVMSG_DIGEST:
		return decode_digest(f, nf, m, why);
	case KVMSG_HAVE:
	case KVMSG_WANT:
		return decode_entries(f, nf, m, space, why);
	case KVMSG_WATCH:
		return decode_watch(f, nf, m, why);
	case KVMSG_CHANGE:
		return decode_change(f, nf, m, why);
	}
	*why = "no known kind";
	return -1;
}

static void
put_version(struct cbor_buf *b, const struct kv_version *v)
{
	cbor_put_array(b, 2);
	cbor_put_uint(b, v->hlc);
	cbor_put_bytes(b, v->node, NODE_ID_LEN);
}

static void
put_key(struct cbor_buf *b, const char *name, const char *s, size_t n)
{
	cbor_put_text(b, name);
	cbor_put_textn(b, s, n);
}

/* An item: a tombstone without value, others with one if they have it. */
static void
put_item(struct cbor_buf *b, const struct kv_item *it)
{
	bool	value = !it->tombstone && it->value != NULL;

	cbor_put_map(b, 2 + (it->expires_ms != 0) + it->tombstone + value);
	put_key(b, "key", it->key, it->keylen);
	cbor_put_text(b, "ver");
	put_version(b, &it->ver);
	if (it->expires_ms != 0) {
		cbor_put_text(b, "x");
		cbor_put_uint(b, it->expires_ms);
	}
	if (it->tombstone) {
		cbor_put_text(b, "del");
		cbor_put_bool(b, true);
	}
	if (value) {
		cbor_put_text(b, "val");
		cbor_put_raw(b, it->value, it->valuelen);
	}
}

static void
put_outcome(struct cbor_buf *b, const struct kvmsg *m)
{
	if (m->err.code != PEER_OK) {
		cbor_put_text(b, "e");
		ctl_put_error_value(b, m->err.code, m->err.msg, m->err.msglen,
		    m->err.context, m->err.contextlen);
	} else {
		cbor_put_text(b, "ver");
		put_version(b, &m->ver);
	}
}

/* An answer's key: in its item if it has one, else on its own. */
static void
put_answer_key(struct cbor_buf *b, const struct kvmsg *m)
{
	if (m->has_item) {
		cbor_put_text(b, "it");
		put_item(b, &m->item);
	} else
		put_key(b, "key", m->key, m->keylen);
}

static void
put_entries(struct cbor_buf *b, const struct kvmsg *m)
{
	size_t	i;

	cbor_put_text(b, "ents");
	cbor_put_array(b, m->nentries);
	for (i = 0; i < m->nentries; i++) {
		cbor_put_array(b, 3);
		cbor_put_textn(b, m->entries[i].key, m->entries[i].keylen);
		cbor_put_uint(b, m->entries[i].ver.hlc);
		cbor_put_bytes(b, m->entries[i].ver.node, NODE_ID_LEN);
	}
}

/* The keys of m's body, its kind's only. */
static size_t
nfields(const struct kvmsg *m)
{
	switch (m->kind) {
	case KVMSG_WRITE:
		return 4 + (m->op != KV_DEL) + m->has_if_version +
		    (m->op == KV_PUT && m->ttl_ms != 0);
	case KVMSG_STORE:
		return 2 + (m->base.hlc != 0) + m->repair;
	case KVMSG_LIST:
		return 3 + (m->after != NULL) + m->values;
	case KVMSG_LIST_ANSWER:
		return 2 + m->more;
	case KVMSG_WRITTEN:
	case KVMSG_STORED:
	case KVMSG_HAVE:
	case KVMSG_WATCH:
	case KVMSG_CHANGE:
		return 3;
	case KVMSG_READ:
	case KVMSG_READ_ANSWER:
	case KVMSG_DIGEST:
	case KVMSG_WANT:
		return 2;
	}
	return 1;
}

void
kvmsg_encode(struct cbor_buf *b, const struct kvmsg *m)
{
	size_t	i;

	cbor_put_map(b, nfields(m));
	cbor_put_text(b, "k");
	cbor_put_text(b, kind_names[m->kind]);
	switch (m->kind) {
	case KVMSG_WRITE:
		put_key(b, "key", m->key, m->keylen);
		cbor_put_text(b, "op");
		cbor_put_text(b, kv_write_op_name(m->op));
		if (m->op != KV_DEL) {
			cbor_put_text(b, "val");
			cbor_put_raw(b, m->value, m->valuelen);
		}
		if (m->has_if_version) {
			cbor_put_text(b, "if");
			cbor_put_uint(b, m->if_version);
		}
		if (m->op == KV_PUT && m->ttl_ms != 0) {
			cbor_put_text(b, "ttl");
			cbor_put_uint(b, m->ttl_ms);
		}
		cbor_put_text(b, "to");
		cbor_put_uint(b, m->timeout_ms);
		break;
	case KVMSG_WRITTEN:
		put_key(b, "key", m->key, m->keylen);
		put_outcome(b, m);
		break;
	case KVMSG_STORE:
		cbor_put_text(b, "it");
		put_item(b, &m->item);
		if (m->base.hlc != 0) {
			cbor_put_text(b, "base");
			put_version(b, &m->base);
		}
		if (m->repair) {
			cbor_put_text(b, "rep");
			cbor_put_bool(b, true);
		}
		break;
	case KVMSG_STORED:
		put_answer_key(b, m);
		put_outcome(b, m);
		break;
	case KVMSG_READ:
		put_key(b, "key", m->key, m->keylen);
		break;
	case KVMSG_READ_ANSWER:
		put_answer_key(b, m);
		break;
	case KVMSG_LIST:
		put_key(b, "pre", m->prefix, m->prefixlen);
		if (m->after != NULL)
			put_key(b, "aft", m->after, m->afterlen);
		cbor_put_text(b, "lim");
		cbor_put_uint(b, m->limit);
		if (m->values) {
			cbor_put_text(b, "vals");
			cbor_put_bool(b, true);
		}
		break;
	case KVMSG_LIST_ANSWER:
		cbor_put_text(b, "its");
		cbor_put_array(b, m->nitems);
		for (i = 0; i < m->nitems; i++)
			put_item(b, &m->items[i]);
		if (m->more) {
			cbor_put_text(b, "more");
			cbor_put_bool(b, true);
		}
		break;
	case KVMSG_DIGEST:
		cbor_put_text(b, "dig");
		cbor_put_bytes(b, m->digest, sizeof(m->digest));
		break;
	case KVMSG_HAVE:
		put_entries(b, m);
		cbor_put_text(b, "bk");
		cbor_put_uint(b, m->buckets);
		break;
	case KVMSG_WANT:
		put_entries(b, m);
		break;
	case KVMSG_WATCH:
		cbor_put_text(b, "pres");
		cbor_put_array(b, m->nprefixes);
		for (i = 0; i < m->nprefixes; i++)
			cbor_put_textn(b, m->prefixes[i], m->prefixlens[i]);
		cbor_put_text(b, "lease");
		cbor_put_uint(b, m->lease_ms);
		break;
	case KVMSG_CHANGE:
		cbor_put_text(b, "op");
		cbor_put_text(b, kv_write_op_name(m->change_op));
		cbor_put_text(b, "it");
		put_item(b, &m->item);
		break;
	}
}
