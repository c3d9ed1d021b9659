/* SPDX-License-Identifier: ISC */
/*
 * peer_kv.c: the key-value store's ops (kv_get, kv_put, kv_del,
 * kv_merge, kv_list, kv_where): requests checked before they leave,
 * replies decoded into structs; and kv watches: the prefixes this
 * client watches, renewed after a reconnect, and the daemon's
 * "kv_change" frames routed to their callbacks.  Replies and changes
 * come from the daemon but are checked like any input.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"

#define KV_LIST_MAX	1000	/* items in a kv_list reply */
#define KV_OWNERS_MAX	64	/* owners in a kv_where reply */
#define KV_FIELDS_MAX	16	/* keys of one item or owner map */

enum kv_op {
	KV_GET,
	KV_PUT,
	KV_DEL,
	KV_MERGE,
	KV_LIST,
	KV_WHERE,
};

static const char *const	kv_op_names[] = {
	[KV_GET] = "kv_get",
	[KV_PUT] = "kv_put",
	[KV_DEL] = "kv_del",
	[KV_MERGE] = "kv_merge",
	[KV_LIST] = "kv_list",
	[KV_WHERE] = "kv_where",
};

static const char *const	kind_names[] = {
	[PEER_KV_PUT] = "put",
	[PEER_KV_DEL] = "del",
	[PEER_KV_MERGE] = "merge",
	[PEER_KV_EXPIRED] = "expired",
};
#define NKINDS	(sizeof(kind_names) / sizeof(kind_names[0]))

/* What a request carries; unset fields stay out of it. */
struct kv_args {
	const char			*key;
	const void			*value;
	size_t				 value_len;
	const struct peer_kv_opts	*o;
	const struct peer_kv_list_opts	*lo;
	int				 timeout_ms;
};

/*
 * A request in flight: the kv_reply_cb arg.  keep: the decoded result
 * is one allocation that fn takes (the synchronous functions).
 */
struct kv_req {
	enum kv_op	 op;
	peer_kv_fn	*fn;
	void		*arg;
	bool		 keep;
	bool		 heap;		/* freed once fn has run */
};

/* Where a synchronous request leaves its outcome. */
struct kv_sync {
	bool			 done;
	struct peer_error	 err;
	uint64_t		 version;
	void			*block;
};

struct kvw {
	struct kvw		*next;
	char			*prefix;
	peer_kv_watch_fn	*fn;
	void			*arg;
};

const char *
peer_kv_kind_name(enum peer_kv_kind k)
{
	return (unsigned)k < NKINDS ? kind_names[k] : NULL;
}

static bool
text_ok(const char *s)
{
	return cbor_text_valid(s, strlen(s));
}

/* The value of a put or merge: one item, nested one level down. */
static int
value_check(const void *value, size_t len, struct peer_error *err)
{
	if (value != NULL && len > PEER_FRAME_MAX) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "value larger than "
		    "%u bytes", PEER_FRAME_MAX);
		return -1;
	}
	if (value == NULL || len == 0 ||
	    cbor_scan_item_in(value, len, 1) != len) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "value is not one "
		    "well-formed CBOR item, or nests too deep");
		return -1;
	}
	return 0;
}

/*
 * Checks, once, what the daemon would drop the connection for (text
 * that is not UTF-8, a value that is not one item) and what does not
 * apply to op; the daemon checks the rest.
 */
static int
kv_check(enum kv_op op, const struct kv_args *a, struct peer_error *err)
{
	const struct peer_kv_list_opts	*lo = a->lo;

	if (op == KV_LIST) {
		if (lo != NULL && ((lo->prefix != NULL &&
		    !text_ok(lo->prefix)) || (lo->after != NULL &&
		    !text_ok(lo->after)))) {
			peer_seterr(err, PEER_INVALID_ARGUMENT, "prefix or "
			    "after is not valid UTF-8");
			return -1;
		}
		return 0;
	}
	if (a->key == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "%s needs a key",
		    kv_op_names[op]);
		return -1;
	}
	if (!text_ok(a->key)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "key is not valid "
		    "UTF-8");
		return -1;
	}
	if ((op == KV_PUT || op == KV_MERGE) &&
	    value_check(a->value, a->value_len, err) == -1)
		return -1;
	if (op == KV_DEL && a->o != NULL && a->o->ttl_ms > 0) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "kv_del takes no ttl");
		return -1;
	}
	return 0;
}

/* The entries of the request's body after op and id: how many. */
static size_t
kv_count(enum kv_op op, const struct kv_args *a)
{
	const struct peer_kv_list_opts	*lo = a->lo;
	size_t				 n = a->timeout_ms > 0;

	if (op == KV_LIST)
		return n + (lo != NULL && lo->prefix != NULL &&
		    *lo->prefix != '\0') + (lo != NULL && lo->after != NULL &&
		    *lo->after != '\0') +
		    (lo != NULL && lo->limit > 0) +
		    (lo != NULL && lo->keys_only);
	n++;
	if (op == KV_PUT || op == KV_MERGE)
		n++;
	if (a->o != NULL)
		n += a->o->if_version_set + (a->o->ttl_ms > 0);
	return n;
}

static void
kv_body(struct cbor_buf *b, enum kv_op op, const struct kv_args *a)
{
	const struct peer_kv_list_opts	*lo = a->lo;

	if (op == KV_LIST) {
		if (lo != NULL && lo->prefix != NULL && *lo->prefix != '\0') {
			cbor_put_text(b, "prefix");
			cbor_put_text(b, lo->prefix);
		}
		if (lo != NULL && lo->after != NULL && *lo->after != '\0') {
			cbor_put_text(b, "after");
			cbor_put_text(b, lo->after);
		}
		if (lo != NULL && lo->limit > 0) {
			cbor_put_text(b, "limit");
			cbor_put_uint(b, lo->limit);
		}
		if (lo != NULL && lo->keys_only) {
			cbor_put_text(b, "values");
			cbor_put_bool(b, false);
		}
	} else {
		cbor_put_text(b, "key");
		cbor_put_text(b, a->key);
	}
	if (op == KV_PUT || op == KV_MERGE) {
		cbor_put_text(b, "value");
		cbor_put_raw(b, a->value, a->value_len);
	}
	if (a->o != NULL && a->o->if_version_set) {
		cbor_put_text(b, "if_version");
		cbor_put_uint(b, a->o->if_version);
	}
	if (a->o != NULL && a->o->ttl_ms > 0) {
		cbor_put_text(b, "ttl");
		cbor_put_uint(b, a->o->ttl_ms);
	}
	if (a->timeout_ms > 0) {
		cbor_put_text(b, "timeout");
		cbor_put_uint(b, (uint64_t)a->timeout_ms);
	}
}

/* Copies the text item at v into *pos, NUL-terminated; false if not text. */
static bool
take_text(const uint8_t *v, size_t vlen, char **pos, const char **out)
{
	const char	*s;
	size_t		 n;

	if (!cbor_read_text(v, vlen, &s, &n) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(*pos, s, n);
	(*pos)[n] = '\0';
	*out = *pos;
	*pos += n + 1;
	return true;
}

static bool
field_text(const struct cbor_field *f, int nf, const char *key,
    bool required, char **pos, const char **out)
{
	const struct cbor_field	*v;

	*out = NULL;
	if ((v = cbor_field_get(f, nf, key)) == NULL)
		return !required;
	return take_text(v->val, v->vallen, pos, out);
}

static bool
field_uint(const struct cbor_field *f, int nf, const char *key,
    bool required, uint64_t *u)
{
	const struct cbor_field	*v;

	*u = 0;
	if ((v = cbor_field_get(f, nf, key)) == NULL)
		return !required;
	return cbor_read_uint(v->val, v->vallen, u);
}

static bool
field_bool(const struct cbor_field *f, int nf, const char *key,
    bool required, bool *b)
{
	const struct cbor_field	*v;

	*b = false;
	if ((v = cbor_field_get(f, nf, key)) == NULL)
		return !required;
	return cbor_read_bool(v->val, v->vallen, b);
}

/* An item map {key, [value], version, writer, [expires]}. */
static bool
item_decode(const uint8_t *buf, size_t len, bool need_value, char **pos,
    struct peer_kv_item *it)
{
	struct cbor_field	 f[KV_FIELDS_MAX];
	const struct cbor_field	*v;
	int			 nf;

	memset(it, 0, sizeof(*it));
	if ((nf = cbor_scan_map(buf, len, f, KV_FIELDS_MAX)) == -1 ||
	    !field_text(f, nf, "key", true, pos, &it->key) ||
	    !field_uint(f, nf, "version", true, &it->version) ||
	    !field_text(f, nf, "writer", true, pos, &it->writer) ||
	    !field_uint(f, nf, "expires", false, &it->expires_ms))
		return false;
	if ((v = cbor_field_get(f, nf, "value")) != NULL) {
		it->value = v->val;
		it->value_len = v->vallen;
	}
	return it->value != NULL || !need_value;
}

/* An owner map {node, name, coordinator, answered, [version], [deleted]}. */
static bool
owner_decode(const uint8_t *buf, size_t len, char **pos,
    struct peer_kv_owner *o)
{
	struct cbor_field	f[KV_FIELDS_MAX];
	int			nf;

	memset(o, 0, sizeof(*o));
	if ((nf = cbor_scan_map(buf, len, f, KV_FIELDS_MAX)) == -1 ||
	    !field_text(f, nf, "node", true, pos, &o->node) ||
	    !field_text(f, nf, "name", true, pos, &o->name) ||
	    !field_bool(f, nf, "coordinator", true, &o->coordinator) ||
	    !field_bool(f, nf, "answered", true, &o->answered) ||
	    !field_uint(f, nf, "version", false, &o->version) ||
	    !field_bool(f, nf, "deleted", false, &o->deleted))
		return false;
	o->has_version = cbor_field_get(f, nf, "version") != NULL;
	return true;
}

/*
 * One allocation: the result struct (head bytes), n elements of size
 * elem, room for the texts of a len-byte reply (each text takes at
 * most the bytes of its item), and with keep a copy of the reply, which
 * *raw then points to.
 */
static void *
block_new(size_t head, size_t n, size_t elem, const uint8_t **raw,
    size_t len, bool keep, char **texts)
{
	uint8_t	*b;
	size_t	 size = head + n * elem;

	if ((b = calloc(1, size + len + (keep ? len : 0) + 1)) == NULL)
		return NULL;
	*texts = (char *)b + size;
	if (keep) {
		memcpy(b + size + len, *raw, len);
		*raw = b + size + len;
	}
	return b;
}

static bool
decode_item(const uint8_t *res, size_t len, bool keep, void **block,
    struct peer_kv_result *out, bool *nomem)
{
	struct peer_kv_item	*it;
	char			*pos;

	if ((it = block_new(sizeof(*it), 0, 0, &res, len, keep, &pos)) == NULL) {
		*nomem = true;
		return false;
	}
	*block = it;
	if (!item_decode(res, len, true, &pos, it))
		return false;
	out->item = it;
	return true;
}

static bool
item_elem(const uint8_t *buf, size_t len, char **pos, void *out)
{
	return item_decode(buf, len, false, pos, out);
}

static bool
owner_elem(const uint8_t *buf, size_t len, char **pos, void *out)
{
	return owner_decode(buf, len, pos, out);
}

/*
 * A reply map whose field name is an array of at most max elements:
 * one block (*block, freed by the caller even on failure) of head
 * bytes, then the elements, elem bytes each, decoded by fn; *n of
 * them.  f and *nf are the reply's fields, from the copy with keep;
 * further texts go on at *pos.
 */
static bool
decode_array(const uint8_t *res, size_t len, bool keep, const char *name,
    size_t max, size_t head, size_t elem,
    bool (*fn)(const uint8_t *, size_t, char **, void *), void **block,
    struct cbor_field *f, int *nf, char **pos, size_t *n, bool *nomem)
{
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*e;
	uint8_t			*elems;
	size_t			 elen, count;

	/* Counted on the reply as it came; decoded from the copy. */
	if ((*nf = cbor_scan_map(res, len, f, KV_FIELDS_MAX)) == -1 ||
	    (v = cbor_field_get(f, *nf, name)) == NULL ||
	    !cbor_array_iter(v->val, v->vallen, &it) ||
	    (count = it.items) > max)
		return false;
	if ((*block = block_new(head, count, elem, &res, len, keep,
	    pos)) == NULL) {
		*nomem = true;
		return false;
	}
	elems = (uint8_t *)*block + head;
	if ((*nf = cbor_scan_map(res, len, f, KV_FIELDS_MAX)) == -1 ||
	    (v = cbor_field_get(f, *nf, name)) == NULL ||
	    !cbor_array_iter(v->val, v->vallen, &it))
		return false;
	for (*n = 0; *n < count && cbor_iter_next(&it, &e, &elen); (*n)++)
		if (!fn(e, elen, pos, elems + *n * elem))
			return false;
	return *n == count;
}

static bool
decode_list(const uint8_t *res, size_t len, bool keep, void **block,
    struct peer_kv_result *out, bool *nomem)
{
	struct cbor_field	 f[KV_FIELDS_MAX];
	struct peer_kv_list	*l;
	size_t			 n;
	char			*pos;
	int			 nf;

	if (!decode_array(res, len, keep, "items", KV_LIST_MAX, sizeof(*l),
	    sizeof(*l->items), item_elem, block, f, &nf, &pos, &n, nomem))
		return false;
	l = *block;
	l->items = (struct peer_kv_item *)(l + 1);
	l->nitems = n;
	if (!field_text(f, nf, "next", false, &pos, &l->next))
		return false;
	out->list = l;
	return true;
}

static bool
decode_where(const uint8_t *res, size_t len, bool keep, void **block,
    struct peer_kv_result *out, bool *nomem)
{
	struct cbor_field	 f[KV_FIELDS_MAX];
	struct peer_kv_where	*w;
	size_t			 n;
	char			*pos;
	int			 nf;

	if (!decode_array(res, len, keep, "owners", KV_OWNERS_MAX, sizeof(*w),
	    sizeof(*w->owners), owner_elem, block, f, &nf, &pos, &n, nomem))
		return false;
	w = *block;
	w->owners = (struct peer_kv_owner *)(w + 1);
	w->nowners = n;
	if (!field_text(f, nf, "key", true, &pos, &w->key))
		return false;
	out->where = w;
	return true;
}

/* {key, version}: what a write answers. */
static bool
decode_written(const uint8_t *res, size_t len, struct peer_kv_result *out)
{
	struct cbor_field	 f[KV_FIELDS_MAX];
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;
	int			 nf;

	return (nf = cbor_scan_map(res, len, f, KV_FIELDS_MAX)) != -1 &&
	    (v = cbor_field_get(f, nf, "key")) != NULL &&
	    cbor_read_text(v->val, v->vallen, &s, &n) &&
	    field_uint(f, nf, "version", true, &out->version);
}

/*
 * Decodes the result of op into out; *block is then what to free (or
 * keep), NULL if nothing was allocated.  False with err set if the
 * result is malformed or memory ran out.
 */
static bool
kv_decode(enum kv_op op, const uint8_t *res, size_t len, bool keep,
    void **block, struct peer_kv_result *out, struct peer_error *err)
{
	bool	ok, nomem = false;

	*block = NULL;
	switch (op) {
	case KV_GET:
		ok = decode_item(res, len, keep, block, out, &nomem);
		break;
	case KV_LIST:
		ok = decode_list(res, len, keep, block, out, &nomem);
		break;
	case KV_WHERE:
		ok = decode_where(res, len, keep, block, out, &nomem);
		break;
	default:
		ok = decode_written(res, len, out);
		break;
	}
	if (ok)
		return true;
	out->item = NULL;
	out->list = NULL;
	out->where = NULL;
	out->version = 0;
	if (nomem)
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
	else
		peer_seterr(err, PEER_INTERNAL, "malformed %s result from "
		    "peerd", kv_op_names[op]);
	free(*block);
	*block = NULL;
	return false;
}

bool
peer_kv_decode(const char *op, const uint8_t *res, size_t len, bool keep,
    void **block, struct peer_kv_result *out, struct peer_error *err)
{
	size_t	i;

	*block = NULL;
	for (i = 0; i < sizeof(kv_op_names) / sizeof(kv_op_names[0]); i++)
		if (strcmp(op, kv_op_names[i]) == 0)
			return kv_decode((enum kv_op)i, res, len, keep, block,
			    out, err);
	peer_seterr(err, PEER_INVALID_ARGUMENT, "%s is not a kv op", op);
	return false;
}

static void
kv_reply_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct kv_req		*rq = arg;
	struct peer_kv_result	 res;
	struct peer_error	 e;
	void			*block = NULL;

	memset(&res, 0, sizeof(res));
	res.id = r->id;
	if (r->error != NULL)
		res.error = r->error;
	else if (!kv_decode(rq->op, r->result, r->result_len, rq->keep,
	    &block, &res, &e))
		res.error = &e;
	rq->fn(p, &res, rq->arg);
	/* Kept, the block is fn's now. */
	if (!rq->keep)
		free(block);
	if (rq->heap)
		free(rq);
}

/*
 * Starts op, encoded straight into the output queue; as peer_request.
 * force: even into a full queue (a caller that waits).
 */
static int
kv_start(struct peer *p, struct kv_req *rq, const struct kv_args *a,
    bool force, uint64_t *id, struct peer_error *err)
{
	struct pending	*pd;
	size_t		 start;
	int		 t, timeout;

	if (rq->fn == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "%s needs a callback",
		    kv_op_names[rq->op]);
		return -1;
	}
	if (kv_check(rq->op, a, err) == -1)
		return -1;
	t = a->timeout_ms > 0 ? a->timeout_ms : PEER_TIMEOUT_DEFAULT;
	timeout = t > INT_MAX - PEER_CALL_MARGIN ? INT_MAX :
	    t + PEER_CALL_MARGIN;
	if ((pd = peer_request_begin(p, kv_op_names[rq->op], kv_count(rq->op,
	    a), timeout, kv_reply_cb, rq, force, &start, err)) == NULL)
		return -1;
	kv_body(&p->out, rq->op, a);
	return peer_request_end(p, pd, start, id, err);
}

/* An asynchronous request: its record lives until its callback has run. */
static int
kv_async(struct peer *p, enum kv_op op, const struct kv_args *a,
    peer_kv_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_req	*rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	rq->op = op;
	rq->fn = fn;
	rq->arg = arg;
	rq->heap = true;
	/* Not sent, fn never runs: nor does anything free rq. */
	if (kv_start(p, rq, a, false, id, err) == -1) {
		free(rq);
		return -1;
	}
	return 0;
}

static void
kv_sync_cb(struct peer *p, const struct peer_kv_result *r, void *arg)
{
	struct kv_sync	*s = arg;

	(void)p;
	s->done = true;
	if (r->error != NULL) {
		s->err = *r->error;
		return;
	}
	s->version = r->version;
	if (r->item != NULL)
		s->block = (void *)(uintptr_t)r->item;
	else if (r->list != NULL)
		s->block = (void *)(uintptr_t)r->list;
	else if (r->where != NULL)
		s->block = (void *)(uintptr_t)r->where;
}

/* A synchronous request: 0 with s filled in, or -1 with err. */
static int
kv_sync(struct peer *p, enum kv_op op, const char *fname,
    const struct kv_args *a, struct kv_sync *s, struct peer_error *err)
{
	struct kv_req		rq;
	struct peer_error	werr;
	uint64_t		id;

	memset(s, 0, sizeof(*s));
	memset(&rq, 0, sizeof(rq));
	rq.op = op;
	rq.fn = kv_sync_cb;
	rq.arg = s;
	rq.keep = true;
	if (peer_in_callback(p, fname, err) ||
	    kv_start(p, &rq, a, true, &id, err) == -1)
		return -1;
	if (peer_wait(p, id, &werr) == -1 && !s->done) {
		/* Not ended (poll failed): it must not keep pointing at rq. */
		peer_pending_forget(p, id);
		if (err != NULL)
			*err = werr;
		return -1;
	}
	if (s->err.code != PEER_OK) {
		if (err != NULL)
			*err = s->err;
		return -1;
	}
	return 0;
}

int
peer_kv_get(struct peer *p, const char *key, int timeout_ms, peer_kv_fn *fn,
    void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { .key = key, .timeout_ms = timeout_ms };

	return kv_async(p, KV_GET, &a, fn, arg, id, err);
}

int
peer_kv_get_sync(struct peer *p, const char *key, int timeout_ms,
    struct peer_kv_item **item, struct peer_error *err)
{
	struct kv_args	a = { .key = key, .timeout_ms = timeout_ms };
	struct kv_sync	s;

	if (kv_sync(p, KV_GET, "peer_kv_get_sync", &a, &s, err) == -1)
		return -1;
	*item = s.block;
	return 0;
}

void
peer_kv_item_free(struct peer_kv_item *it)
{
	free(it);
}

int
peer_kv_put(struct peer *p, const char *key, const void *value,
    size_t value_len, const struct peer_kv_opts *o, peer_kv_fn *fn,
    void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { key, value, value_len, o, NULL,
			    o != NULL ? o->timeout_ms : 0 };

	return kv_async(p, KV_PUT, &a, fn, arg, id, err);
}

int
peer_kv_put_sync(struct peer *p, const char *key, const void *value,
    size_t value_len, const struct peer_kv_opts *o, uint64_t *version,
    struct peer_error *err)
{
	struct kv_args	a = { key, value, value_len, o, NULL,
			    o != NULL ? o->timeout_ms : 0 };
	struct kv_sync	s;

	if (kv_sync(p, KV_PUT, "peer_kv_put_sync", &a, &s, err) == -1)
		return -1;
	if (version != NULL)
		*version = s.version;
	return 0;
}

int
peer_kv_del(struct peer *p, const char *key, const struct peer_kv_opts *o,
    peer_kv_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { key, NULL, 0, o, NULL,
			    o != NULL ? o->timeout_ms : 0 };

	return kv_async(p, KV_DEL, &a, fn, arg, id, err);
}

int
peer_kv_del_sync(struct peer *p, const char *key,
    const struct peer_kv_opts *o, uint64_t *version, struct peer_error *err)
{
	struct kv_args	a = { key, NULL, 0, o, NULL,
			    o != NULL ? o->timeout_ms : 0 };
	struct kv_sync	s;

	if (kv_sync(p, KV_DEL, "peer_kv_del_sync", &a, &s, err) == -1)
		return -1;
	if (version != NULL)
		*version = s.version;
	return 0;
}

int
peer_kv_merge(struct peer *p, const char *key, const void *value,
    size_t value_len, int timeout_ms, peer_kv_fn *fn, void *arg,
    uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { key, value, value_len, NULL, NULL, timeout_ms };

	return kv_async(p, KV_MERGE, &a, fn, arg, id, err);
}

int
peer_kv_merge_sync(struct peer *p, const char *key, const void *value,
    size_t value_len, int timeout_ms, uint64_t *version,
    struct peer_error *err)
{
	struct kv_args	a = { key, value, value_len, NULL, NULL, timeout_ms };
	struct kv_sync	s;

	if (kv_sync(p, KV_MERGE, "peer_kv_merge_sync", &a, &s, err) == -1)
		return -1;
	if (version != NULL)
		*version = s.version;
	return 0;
}

int
peer_kv_list(struct peer *p, const struct peer_kv_list_opts *lo,
    peer_kv_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { NULL, NULL, 0, NULL, lo,
			    lo != NULL ? lo->timeout_ms : 0 };

	return kv_async(p, KV_LIST, &a, fn, arg, id, err);
}

int
peer_kv_list_sync(struct peer *p, const struct peer_kv_list_opts *lo,
    struct peer_kv_list **list, struct peer_error *err)
{
	struct kv_args	a = { NULL, NULL, 0, NULL, lo,
			    lo != NULL ? lo->timeout_ms : 0 };
	struct kv_sync	s;

	if (kv_sync(p, KV_LIST, "peer_kv_list_sync", &a, &s, err) == -1)
		return -1;
	*list = s.block;
	return 0;
}

void
peer_kv_list_free(struct peer_kv_list *l)
{
	free(l);
}

int
peer_kv_where(struct peer *p, const char *key, int timeout_ms,
    peer_kv_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	struct kv_args	a = { .key = key, .timeout_ms = timeout_ms };

	return kv_async(p, KV_WHERE, &a, fn, arg, id, err);
}

int
peer_kv_where_sync(struct peer *p, const char *key, int timeout_ms,
    struct peer_kv_where **where, struct peer_error *err)
{
	struct kv_args	a = { .key = key, .timeout_ms = timeout_ms };
	struct kv_sync	s;

	if (kv_sync(p, KV_WHERE, "peer_kv_where_sync", &a, &s, err) == -1)
		return -1;
	*where = s.block;
	return 0;
}

void
peer_kv_where_free(struct peer_kv_where *w)
{
	free(w);
}

/* Watches. */

static void
kvw_free(struct kvw *w)
{
	if (w == NULL)
		return;
	free(w->prefix);
	free(w);
}

static struct kvw **
kvw_slot(struct peer *p, const char *prefix)
{
	struct kvw	**wp;

	for (wp = &p->kvws; *wp != NULL; wp = &(*wp)->next)
		if (strcmp((*wp)->prefix, prefix) == 0)
			break;
	return wp;
}

void
peer_kv_free(struct peer *p)
{
	struct kvw	*w;

	while ((w = p->kvws) != NULL) {
		p->kvws = w->next;
		kvw_free(w);
	}
}

static int
kvw_op(struct peer *p, const char *op, const char *prefix,
    struct peer_error *err)
{
	const char	*kv[] = { "prefix", prefix };

	return peer_text_op(p, op, kv, 1, err);
}

int
peer_kv_watch(struct peer *p, const char *prefix, peer_kv_watch_fn *fn,
    void *arg, struct peer_error *err)
{
	struct kvw	**wp, *w;

	if (peer_in_callback(p, "peer_kv_watch", err))
		return -1;
	if (prefix == NULL || fn == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_kv_watch needs "
		    "a prefix and a callback");
		return -1;
	}
	wp = kvw_slot(p, prefix);
	if (*wp != NULL) {
		peer_seterr(err, PEER_ALREADY_EXISTS, "already watching that "
		    "prefix");
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->prefix = strdup(prefix)) == NULL) {
		kvw_free(w);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	w->fn = fn;
	w->arg = arg;
	/* Listed before the reply: the first change may follow it closely. */
	*wp = w;
	if (kvw_op(p, "kv_watch", prefix, err) == -1) {
		wp = kvw_slot(p, prefix);
		*wp = w->next;
		kvw_free(w);
		return -1;
	}
	return 0;
}

int
peer_kv_unwatch(struct peer *p, const char *prefix, struct peer_error *err)
{
	struct kvw		**wp, *w;
	struct peer_error	  e;

	if (peer_in_callback(p, "peer_kv_unwatch", err))
		return -1;
	if (prefix == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "no prefix named");
		return -1;
	}
	if ((w = *kvw_slot(p, prefix)) == NULL) {
		peer_seterr(err, PEER_NOT_FOUND, "not watching that prefix");
		return -1;
	}
	/* Watches end with the connection: nothing left to do then. */
	if (p->fd != -1 && kvw_op(p, "kv_unwatch", prefix, &e) == -1 &&
	    p->fd != -1 && e.code != PEER_NOT_FOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	wp = kvw_slot(p, prefix);
	*wp = w->next;
	kvw_free(w);
	return 0;
}

int
peer_kv_renew(struct peer *p)
{
	struct kvw	*w;

	/* As for subscriptions: one refusal must not cost the others. */
	for (w = p->kvws; w != NULL; w = w->next)
		if (kvw_op(p, "kv_watch", w->prefix, NULL) == -1 &&
		    p->fd == -1)
			return -1;
	return 0;
}

static bool
change_text(const struct ctl_msg *m, const char *key, char **pos,
    const char **out)
{
	const struct cbor_field	*f;

	return (f = ctl_msg_get(m, key)) != NULL &&
	    take_text(f->val, f->vallen, pos, out);
}

/* The kind of a change by its name; false if it is none. */
static bool
change_kind(const char *s, enum peer_kv_kind *k)
{
	size_t	i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum peer_kv_kind)i;
			return true;
		}
	return false;
}

size_t
peer_kv_change_room(const struct ctl_msg *m)
{
	size_t	size = 0;
	int	i;

	/* Room for every field as text: more than the texts need. */
	for (i = 0; i < m->nf; i++)
		size += m->f[i].vallen + 1;
	return size;
}

bool
peer_kv_change_decode(const struct ctl_msg *m, char *texts,
    struct peer_kv_change *c)
{
	const struct cbor_field	*f;
	const char		*kind;
	char			*pos = texts;

	memset(c, 0, sizeof(*c));
	if (!change_text(m, "prefix", &pos, &c->prefix) ||
	    !change_text(m, "key", &pos, &c->key) ||
	    !change_text(m, "change", &pos, &kind) ||
	    !change_kind(kind, &c->kind) ||
	    !change_text(m, "writer", &pos, &c->writer) ||
	    (f = ctl_msg_get(m, "version")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &c->version) ||
	    ((f = ctl_msg_get(m, "lost")) != NULL &&
	    !cbor_read_uint(f->val, f->vallen, &c->lost)))
		return false;
	/* A put or merge carries the value; a delete or expiry none. */
	if (c->kind == PEER_KV_PUT || c->kind == PEER_KV_MERGE) {
		if ((f = ctl_msg_get(m, "value")) == NULL)
			return false;
		c->value = f->val;
		c->value_len = f->vallen;
	}
	return true;
}

void
peer_kv_deliver(struct peer *p, const struct ctl_msg *m)
{
	struct peer_kv_change	 c;
	const struct kvw	*w;
	char			*texts;

	if (p->kvws == NULL)
		return;
	if ((texts = malloc(peer_kv_change_room(m))) == NULL)
		return;
	/* A change of a prefix no longer watched: a reply crossed it. */
	if (peer_kv_change_decode(m, texts, &c) &&
	    (w = *kvw_slot(p, c.prefix)) != NULL) {
		p->depth++;
		w->fn(p, &c, w->arg);
		p->depth--;
	}
	free(texts);
}
