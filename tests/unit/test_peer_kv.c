/* SPDX-License-Identifier: ISC */
/*
 * test_peer_kv.c: libpeer's key-value functions against the fake daemon
 * of fake_peerd.h: the keys each request sends, results decoded, the
 * daemon's errors passed on, malformed results refused, arguments
 * refused before anything is sent; kv watches, their changes, and
 * their renewal after a reconnect.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "cbor_buf.h"
#include "fake_peerd.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

/* Receives a request op with n keys in all (op and id included). */
static bool
recv_op(struct fake *f, const char *op, int n)
{
	return fake_recv(f) && op_is(f, op) && f->m.has_id && f->m.nf == n;
}

/* Answers the last request with the result r holds, and empties r. */
static bool
answer(struct fake *f, struct cbor_buf *r)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	put_result(&b, f->m.id, r->data, r->len);
	ok = !r->failed && fake_send(f, &b);
	cbor_buf_free(&b);
	cbor_buf_reset(r);
	return ok;
}

static bool
refuse(struct fake *f, enum peer_code code, const char *msg)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	put_error(&b, f->m.id, code, msg, NULL, 0);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* {key, version}: what a write answers. */
static void
put_written(struct cbor_buf *r, const char *key, uint64_t version)
{
	cbor_put_map(r, 2);
	cbor_put_text(r, "key");
	cbor_put_text(r, key);
	cbor_put_text(r, "version");
	cbor_put_uint(r, version);
}

/* An item map; value (raw) NULL and expires 0 leave their keys out. */
static void
put_item(struct cbor_buf *r, const char *key, const uint8_t *value,
    size_t len, uint64_t version, uint64_t expires)
{
	cbor_put_map(r, 3 + (value != NULL) + (expires > 0));
	cbor_put_text(r, "key");
	cbor_put_text(r, key);
	if (value != NULL) {
		cbor_put_text(r, "value");
		cbor_put_raw(r, value, len);
	}
	cbor_put_text(r, "version");
	cbor_put_uint(r, version);
	cbor_put_text(r, "writer");
	cbor_put_text(r, "writernode");
	if (expires > 0) {
		cbor_put_text(r, "expires");
		cbor_put_uint(r, expires);
	}
}

/* An owner map; version 0 leaves it out. */
static void
put_owner(struct cbor_buf *r, const char *node, bool coord, bool answered,
    uint64_t version, bool deleted)
{
	cbor_put_map(r, 4 + (version > 0) + deleted);
	cbor_put_text(r, "node");
	cbor_put_text(r, node);
	cbor_put_text(r, "name");
	cbor_put_text(r, "name-of-node");
	cbor_put_text(r, "coordinator");
	cbor_put_bool(r, coord);
	cbor_put_text(r, "answered");
	cbor_put_bool(r, answered);
	if (version > 0) {
		cbor_put_text(r, "version");
		cbor_put_uint(r, version);
	}
	if (deleted) {
		cbor_put_text(r, "deleted");
		cbor_put_bool(r, true);
	}
}

static void
script_ops(struct fake *f)
{
	struct cbor_buf	r = { 0 };

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));

	/* get: only the key, no timeout unless asked for. */
	FCHECK(f, recv_op(f, "kv_get", 3) && text_is(f, "key", "a/b"));
	put_item(&r, "a/b", B(0xa1, 0x61, 'x', 0x01), 4, 42, 1796600000000ull);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_get", 4) && text_is(f, "key", "gone") &&
	    uint_is(f, "timeout", 250));
	FCHECK(f, refuse(f, PEER_NOT_FOUND, "no key gone"));

	/* put: value, if_version 0 (only if absent), ttl, timeout. */
	FCHECK(f, recv_op(f, "kv_put", 7) && text_is(f, "key", "k") &&
	    item_is(f, "value", B(0x82, 0x01, 0x02), 3) &&
	    uint_is(f, "if_version", 0) && uint_is(f, "ttl", 1500) &&
	    uint_is(f, "timeout", 2000));
	put_written(&r, "k", 77);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_put", 4) && text_is(f, "key", "k") &&
	    item_is(f, "value", B(0x05), 1) && item_is(f, "if_version", NULL,
	    0) && item_is(f, "ttl", NULL, 0));
	FCHECK(f, refuse(f, PEER_FAILED_PRECONDITION, "version is 78, not 77"));

	/* del with if_version; merge. */
	FCHECK(f, recv_op(f, "kv_del", 4) && text_is(f, "key", "k") &&
	    uint_is(f, "if_version", 77));
	put_written(&r, "k", 80);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_merge", 4) && text_is(f, "key", "m") &&
	    item_is(f, "value", B(0xa1, 0x61, 'a', 0xf6), 4));
	FCHECK(f, refuse(f, PEER_UNAVAILABLE, "1 of 3 owners stored the write, "
	    "2 needed"));

	/* list: every option; then none. */
	FCHECK(f, recv_op(f, "kv_list", 7) && text_is(f, "prefix", "p/") &&
	    text_is(f, "after", "p/a") && uint_is(f, "limit", 2) &&
	    item_is(f, "values", B(0xf4), 1) && uint_is(f, "timeout", 3000));
	cbor_put_map(&r, 2);
	cbor_put_text(&r, "items");
	cbor_put_array(&r, 2);
	put_item(&r, "p/b", NULL, 0, 1, 0);
	put_item(&r, "p/c", B(0x07), 1, 2, 5);
	cbor_put_text(&r, "next");
	cbor_put_text(&r, "p/c");
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_list", 2));
	cbor_put_map(&r, 1);
	cbor_put_text(&r, "items");
	cbor_put_array(&r, 0);
	FCHECK(f, answer(f, &r));

	/* where. */
	FCHECK(f, recv_op(f, "kv_where", 3) && text_is(f, "key", "k"));
	cbor_put_map(&r, 2);
	cbor_put_text(&r, "key");
	cbor_put_text(&r, "k");
	cbor_put_text(&r, "owners");
	cbor_put_array(&r, 3);
	put_owner(&r, "n1", true, true, 80, false);
	put_owner(&r, "n2", false, true, 70, true);
	put_owner(&r, "n3", false, false, 0, false);
	FCHECK(f, answer(f, &r));

	/* Two asynchronous requests, answered in the other order. */
	FCHECK(f, recv_op(f, "kv_get", 3) && text_is(f, "key", "x"));
	{
		uint64_t	first = f->m.id;

		FCHECK(f, recv_op(f, "kv_put", 4) && text_is(f, "key", "y"));
		put_written(&r, "y", 9);
		FCHECK(f, answer(f, &r));
		f->m.id = first;
		put_item(&r, "x", B(0x63, 'a', 'b', 'c'), 4, 8, 0);
		FCHECK(f, answer(f, &r));
	}
	cbor_buf_free(&r);
	FCHECK(f, fake_gate(f));
}

struct got {
	int		 n;
	uint64_t	 id;
	enum peer_code	 code;
	char		 message[512];
	uint64_t	 version;
	char		 key[32];
	uint8_t		 value[16];
	size_t		 value_len;
};

static void
got_cb(struct peer *p, const struct peer_kv_result *r, void *arg)
{
	struct got	*g = arg;

	(void)p;
	g->n++;
	g->id = r->id;
	g->code = r->error != NULL ? r->error->code : PEER_OK;
	if (r->error != NULL)
		snprintf(g->message, sizeof(g->message), "%s",
		    r->error->message);
	g->version = r->version;
	if (r->item != NULL) {
		snprintf(g->key, sizeof(g->key), "%s", r->item->key);
		if (r->item->value_len <= sizeof(g->value)) {
			memcpy(g->value, r->item->value, r->item->value_len);
			g->value_len = r->item->value_len;
		}
	}
}

static bool
step_got(struct peer *p, void *arg)
{
	(void)p;
	return ((struct got *)arg)->n > 0;
}

START_TEST(test_kv_ops)
{
	struct peer_kv_opts	 o;
	struct peer_kv_list_opts lo;
	struct peer_kv_item	*it;
	struct peer_kv_list	*l;
	struct peer_kv_where	*w;
	struct got		 g1, g2;
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;
	uint64_t		 v, id1, id2;

	fake_start(&f, "kv", script_ops);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));

	ck_assert_int_eq(peer_kv_get_sync(p, "a/b", 0, &it, &err), 0);
	ck_assert_str_eq(it->key, "a/b");
	ck_assert_uint_eq(it->value_len, 4);
	ck_assert_mem_eq(it->value, B(0xa1, 0x61, 'x', 0x01), 4);
	ck_assert_uint_eq(it->version, 42);
	ck_assert_str_eq(it->writer, "writernode");
	ck_assert_uint_eq(it->expires_ms, 1796600000000ull);
	peer_kv_item_free(it);
	ck_assert_int_eq(peer_kv_get_sync(p, "gone", 250, &it, &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	ck_assert_str_eq(err.message, "no key gone");

	memset(&o, 0, sizeof(o));
	o.if_version_set = true;
	o.ttl_ms = 1500;
	o.timeout_ms = 2000;
	ck_assert_int_eq(peer_kv_put_sync(p, "k", B(0x82, 0x01, 0x02), 3, &o,
	    &v, &err), 0);
	ck_assert_uint_eq(v, 77);
	ck_assert_int_eq(peer_kv_put_sync(p, "k", B(0x05), 1, NULL, &v, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_FAILED_PRECONDITION);
	ck_assert_str_eq(err.message, "version is 78, not 77");
	ck_assert_uint_eq(v, 77);

	memset(&o, 0, sizeof(o));
	o.if_version_set = true;
	o.if_version = 77;
	ck_assert_int_eq(peer_kv_del_sync(p, "k", &o, &v, &err), 0);
	ck_assert_uint_eq(v, 80);
	ck_assert_int_eq(peer_kv_merge_sync(p, "m", B(0xa1, 0x61, 'a', 0xf6),
	    4, 0, &v, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);

	memset(&lo, 0, sizeof(lo));
	lo.prefix = "p/";
	lo.after = "p/a";
	lo.limit = 2;
	lo.keys_only = true;
	lo.timeout_ms = 3000;
	ck_assert_int_eq(peer_kv_list_sync(p, &lo, &l, &err), 0);
	ck_assert_uint_eq(l->nitems, 2);
	ck_assert_str_eq(l->items[0].key, "p/b");
	ck_assert_ptr_null(l->items[0].value);
	ck_assert_uint_eq(l->items[0].version, 1);
	ck_assert_uint_eq(l->items[0].expires_ms, 0);
	ck_assert_str_eq(l->items[1].key, "p/c");
	ck_assert_uint_eq(l->items[1].value_len, 1);
	ck_assert_uint_eq(l->items[1].value[0], 0x07);
	ck_assert_uint_eq(l->items[1].expires_ms, 5);
	ck_assert_str_eq(l->items[1].writer, "writernode");
	ck_assert_str_eq(l->next, "p/c");
	peer_kv_list_free(l);
	/* Empty texts are the defaults: the request leaves them out. */
	memset(&lo, 0, sizeof(lo));
	lo.prefix = "";
	lo.after = "";
	ck_assert_int_eq(peer_kv_list_sync(p, &lo, &l, &err), 0);
	ck_assert_uint_eq(l->nitems, 0);
	ck_assert_ptr_null(l->next);
	peer_kv_list_free(l);

	ck_assert_int_eq(peer_kv_where_sync(p, "k", 0, &w, &err), 0);
	ck_assert_str_eq(w->key, "k");
	ck_assert_uint_eq(w->nowners, 3);
	ck_assert_str_eq(w->owners[0].node, "n1");
	ck_assert_str_eq(w->owners[0].name, "name-of-node");
	ck_assert(w->owners[0].coordinator && w->owners[0].answered);
	ck_assert(w->owners[0].has_version && !w->owners[0].deleted);
	ck_assert_uint_eq(w->owners[0].version, 80);
	ck_assert(!w->owners[1].coordinator && w->owners[1].deleted);
	ck_assert_uint_eq(w->owners[1].version, 70);
	ck_assert(!w->owners[2].answered && !w->owners[2].has_version);
	peer_kv_where_free(w);

	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	ck_assert_int_eq(peer_kv_get(p, "x", 0, got_cb, &g1, &id1, &err), 0);
	ck_assert_int_eq(peer_kv_put(p, "y", B(0x01), 1, NULL, got_cb, &g2,
	    &id2, &err), 0);
	ck_assert_int_eq(pump(p, step_got, &g1, 5000, &err), 1);
	ck_assert_int_eq(g2.n, 1);
	ck_assert_uint_eq(g2.id, id2);
	ck_assert_int_eq(g2.code, PEER_OK);
	ck_assert_uint_eq(g2.version, 9);
	ck_assert_int_eq(g1.n, 1);
	ck_assert_uint_eq(g1.id, id1);
	ck_assert_str_eq(g1.key, "x");
	ck_assert_uint_eq(g1.value_len, 4);
	ck_assert_mem_eq(g1.value, B(0x63, 'a', 'b', 'c'), 4);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

/* Results that are not what their op returns, one per request. */
static void
script_malformed(struct fake *f)
{
	struct cbor_buf	r = { 0 };

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));

	/* get: not a map; no writer; no value; a version that is text. */
	FCHECK(f, recv_op(f, "kv_get", 3));
	cbor_put_uint(&r, 1);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_get", 3));
	cbor_put_map(&r, 3);
	cbor_put_text(&r, "key");
	cbor_put_text(&r, "a");
	cbor_put_text(&r, "value");
	cbor_put_uint(&r, 1);
	cbor_put_text(&r, "version");
	cbor_put_uint(&r, 1);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_get", 3));
	put_item(&r, "a", NULL, 0, 1, 0);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_get", 3));
	cbor_put_map(&r, 4);
	cbor_put_text(&r, "key");
	cbor_put_text(&r, "a");
	cbor_put_text(&r, "value");
	cbor_put_uint(&r, 1);
	cbor_put_text(&r, "version");
	cbor_put_text(&r, "1");
	cbor_put_text(&r, "writer");
	cbor_put_text(&r, "w");
	FCHECK(f, answer(f, &r));

	/* put: no version. */
	FCHECK(f, recv_op(f, "kv_put", 4));
	cbor_put_map(&r, 1);
	cbor_put_text(&r, "key");
	cbor_put_text(&r, "a");
	FCHECK(f, answer(f, &r));

	/* list: items not an array; an item not a map; next not text. */
	FCHECK(f, recv_op(f, "kv_list", 2));
	cbor_put_map(&r, 1);
	cbor_put_text(&r, "items");
	cbor_put_map(&r, 0);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_list", 2));
	cbor_put_map(&r, 1);
	cbor_put_text(&r, "items");
	cbor_put_array(&r, 2);
	put_item(&r, "a", NULL, 0, 1, 0);
	cbor_put_uint(&r, 3);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_list", 2));
	cbor_put_map(&r, 2);
	cbor_put_text(&r, "items");
	cbor_put_array(&r, 0);
	cbor_put_text(&r, "next");
	cbor_put_uint(&r, 3);
	FCHECK(f, answer(f, &r));
	/* More items than a page holds. */
	FCHECK(f, recv_op(f, "kv_list", 2));
	{
		int	i;

		cbor_put_map(&r, 1);
		cbor_put_text(&r, "items");
		cbor_put_array(&r, 1001);
		for (i = 0; i < 1001; i++)
			put_item(&r, "a", NULL, 0, 1, 0);
	}
	FCHECK(f, answer(f, &r));

	/* where: an owner without coordinator; no key. */
	FCHECK(f, recv_op(f, "kv_where", 3));
	cbor_put_map(&r, 2);
	cbor_put_text(&r, "key");
	cbor_put_text(&r, "k");
	cbor_put_text(&r, "owners");
	cbor_put_array(&r, 1);
	cbor_put_map(&r, 3);
	cbor_put_text(&r, "node");
	cbor_put_text(&r, "n");
	cbor_put_text(&r, "name");
	cbor_put_text(&r, "n");
	cbor_put_text(&r, "answered");
	cbor_put_bool(&r, true);
	FCHECK(f, answer(f, &r));
	FCHECK(f, recv_op(f, "kv_where", 3));
	cbor_put_map(&r, 1);
	cbor_put_text(&r, "owners");
	cbor_put_array(&r, 0);
	FCHECK(f, answer(f, &r));

	/* The connection is still good. */
	FCHECK(f, recv_op(f, "kv_del", 3));
	put_written(&r, "a", 5);
	FCHECK(f, answer(f, &r));
	cbor_buf_free(&r);
}

/* Expects the request to fail as malformed: INTERNAL, naming the op. */
static void
expect_malformed(int rc, const struct peer_error *err, const char *op)
{
	char	want[64];

	snprintf(want, sizeof(want), "malformed %s result from peerd", op);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err->code, PEER_INTERNAL);
	ck_assert_str_eq(err->message, want);
}

START_TEST(test_kv_malformed)
{
	struct peer_kv_item	*it = NULL;
	struct peer_kv_list	*l = NULL;
	struct peer_kv_where	*w = NULL;
	struct got		 g;
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;
	uint64_t		 v;
	int			 i;

	fake_start(&f, "kv", script_malformed);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	for (i = 0; i < 3; i++)
		expect_malformed(peer_kv_get_sync(p, "a", 0, &it, &err), &err,
		    "kv_get");
	/* Asynchronous: the callback hears the same. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(peer_kv_get(p, "a", 0, got_cb, &g, NULL, &err), 0);
	ck_assert_int_eq(pump(p, step_got, &g, 5000, &err), 1);
	ck_assert_int_eq(g.code, PEER_INTERNAL);
	ck_assert_str_eq(g.message, "malformed kv_get result from peerd");
	expect_malformed(peer_kv_put_sync(p, "a", B(0x01), 1, NULL, &v, &err),
	    &err, "kv_put");
	for (i = 0; i < 4; i++)
		expect_malformed(peer_kv_list_sync(p, NULL, &l, &err), &err,
		    "kv_list");
	for (i = 0; i < 2; i++)
		expect_malformed(peer_kv_where_sync(p, "k", 0, &w, &err), &err,
		    "kv_where");
	ck_assert_ptr_null(it);
	ck_assert_ptr_null(l);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(peer_kv_del_sync(p, "a", NULL, &v, &err), 0);
	ck_assert_uint_eq(v, 5);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

/* The only request that reaches the daemon is the last. */
static void
script_refused(struct fake *f)
{
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, recv_op(f, "kv_get", 3) && text_is(f, "key", "fine"));
	FCHECK(f, refuse(f, PEER_INVALID_ARGUMENT, "key: not text of 1-256 "
	    "bytes without control characters"));
}

static void
noop_cb(struct peer *p, const struct peer_kv_result *r, void *arg)
{
	(void)p;
	(void)r;
	(void)arg;
}

START_TEST(test_kv_refused)
{
	struct peer_kv_opts	 o;
	struct peer_kv_list_opts lo;
	struct peer_kv_item	*it;
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;
	uint64_t		 v;

	fake_start(&f, "kv", script_refused);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	ck_assert_int_eq(peer_kv_get_sync(p, NULL, 0, &it, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_get_sync(p, "\xff", 0, &it, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_get(p, "a", 0, NULL, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	/* A value that is not one item, or none. */
	ck_assert_int_eq(peer_kv_put_sync(p, "a", B(0x82, 0x01), 2, NULL, &v,
	    &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_put_sync(p, "a", B(0x01, 0x01), 2, NULL, &v,
	    &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_put(p, "a", NULL, 0, NULL, noop_cb, NULL,
	    NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_merge_sync(p, "a", B(0xa1), 1, 0, &v, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	/* A del takes no ttl. */
	memset(&o, 0, sizeof(o));
	o.ttl_ms = 10;
	ck_assert_int_eq(peer_kv_del_sync(p, "a", &o, &v, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	memset(&lo, 0, sizeof(lo));
	lo.after = "\xc0";
	ck_assert_int_eq(peer_kv_list(p, &lo, noop_cb, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_watch(p, NULL, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_kv_unwatch(p, "a", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	/* What the daemon refuses comes back as it said it. */
	ck_assert_int_eq(peer_kv_get_sync(p, "fine", 0, &it, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(err.message, "key: not text of 1-256 bytes without "
	    "control characters");
	fake_finish(&f);
	/* Disconnected: nothing is sent, and the callback never runs. */
	ck_assert_int_ne(pump(p, step_lost, NULL, 5000, &err), 0);
	ck_assert_int_eq(peer_fd(p), -1);
	ck_assert_int_eq(peer_kv_get(p, "a", 0, noop_cb, NULL, NULL, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	peer_close(p);
}
END_TEST

/* A kv_change frame; value NULL and lost 0 leave their keys out. */
static void
put_change(struct cbor_buf *b, const char *prefix, const char *key,
    const char *change, const uint8_t *value, size_t len, uint64_t version,
    uint64_t lost)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 6 + (value != NULL) + (lost > 0));
	cbor_put_text(b, "op");
	cbor_put_text(b, "kv_change");
	cbor_put_text(b, "prefix");
	cbor_put_text(b, prefix);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "change");
	cbor_put_text(b, change);
	cbor_put_text(b, "version");
	cbor_put_uint(b, version);
	cbor_put_text(b, "writer");
	cbor_put_text(b, "writernode");
	if (value != NULL) {
		cbor_put_text(b, "value");
		cbor_put_raw(b, value, len);
	}
	if (lost > 0) {
		cbor_put_text(b, "lost");
		cbor_put_uint(b, lost);
	}
	ctl_frame_end(b, start, 1 << 20);
}

/* Receives op (kv_watch or kv_unwatch) for prefix and confirms it. */
static bool
fake_kvw(struct fake *f, const char *op, const char *prefix)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!recv_op(f, op, 3) || !text_is(f, "prefix", prefix))
		return false;
	put_text_result(&b, f->m.id, "prefix", prefix);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

static void
script_watch(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	size_t		start;
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_kvw(f, "kv_watch", "cfg/"));
	FCHECK(f, fake_kvw(f, "kv_watch", ""));
	FCHECK(f, recv_op(f, "kv_watch", 3) && text_is(f, "prefix", "bad"));
	FCHECK(f, refuse(f, PEER_RESOURCE_EXHAUSTED, "64 prefixes"));
	FCHECK(f, fake_gate(f));

	put_change(&b, "cfg/", "cfg/a", "put", B(0x18, 0x2a), 2, 100, 0);
	/* Malformed, or for a prefix not watched: dropped. */
	put_change(&b, "cfg/", "cfg/a", "put", NULL, 0, 101, 0);
	put_change(&b, "cfg/", "cfg/a", "bogus", NULL, 0, 102, 0);
	put_change(&b, "zzz", "zzz1", "del", NULL, 0, 103, 0);
	start = ctl_frame_begin(&b);
	cbor_put_map(&b, 5);
	cbor_put_text(&b, "op");
	cbor_put_text(&b, "kv_change");
	cbor_put_text(&b, "prefix");
	cbor_put_text(&b, "");
	cbor_put_text(&b, "key");
	cbor_put_text(&b, "k");
	cbor_put_text(&b, "change");
	cbor_put_text(&b, "del");
	cbor_put_text(&b, "version");
	cbor_put_text(&b, "104");
	ctl_frame_end(&b, start, 1 << 20);
	put_change(&b, "", "other", "del", NULL, 0, 105, 0);
	put_change(&b, "cfg/", "cfg/b", "merge", B(0xa0), 1, 106, 0);
	put_change(&b, "", "t", "expired", NULL, 0, 107, 3);
	ok = fake_send(f, &b);
	FCHECK(f, ok);
	FCHECK(f, fake_gate(f));
	fake_hangup(f);

	/* Renewed in watch order, on the new connection. */
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_kvw(f, "kv_watch", "cfg/"));
	FCHECK(f, fake_kvw(f, "kv_watch", ""));
	put_change(&b, "cfg/", "cfg/c", "put", B(0xf5), 1, 200, 0);
	ok = fake_send(f, &b);
	FCHECK(f, ok);
	FCHECK(f, fake_kvw(f, "kv_unwatch", ""));
	FCHECK(f, fake_gate(f));
	cbor_buf_free(&b);
}

struct changes {
	int			 n;
	struct {
		char			 prefix[16];
		char			 key[16];
		enum peer_kv_kind	 kind;
		uint64_t		 version;
		char			 writer[16];
		uint8_t			 value[8];
		size_t			 value_len;
		bool			 has_value;
		uint64_t		 lost;
	}			 c[8];
	bool			 nested_ok;
};

static void
on_change(struct peer *p, const struct peer_kv_change *c, void *arg)
{
	struct changes		*ch = arg;
	struct peer_error	 err;
	int			 i;

	if (ch->n >= 8)
		return;
	i = ch->n++;
	snprintf(ch->c[i].prefix, sizeof(ch->c[i].prefix), "%s", c->prefix);
	snprintf(ch->c[i].key, sizeof(ch->c[i].key), "%s", c->key);
	snprintf(ch->c[i].writer, sizeof(ch->c[i].writer), "%s", c->writer);
	ch->c[i].kind = c->kind;
	ch->c[i].version = c->version;
	ch->c[i].has_value = c->value != NULL;
	if (c->value != NULL && c->value_len <= sizeof(ch->c[i].value)) {
		memcpy(ch->c[i].value, c->value, c->value_len);
		ch->c[i].value_len = c->value_len;
	}
	ch->c[i].lost = c->lost;
	/* What waits may not be called here. */
	ch->nested_ok = peer_kv_watch(p, "x", on_change, ch, &err) == -1 &&
	    err.code == PEER_INVALID_ARGUMENT &&
	    peer_kv_put_sync(p, "x", B(0x01), 1, NULL, NULL, &err) == -1 &&
	    err.code == PEER_INVALID_ARGUMENT;
}

static bool
step_changes(struct peer *p, void *arg)
{
	(void)p;
	return ((struct changes *)arg)->n >= 4;
}

static bool
step_changes5(struct peer *p, void *arg)
{
	(void)p;
	return ((struct changes *)arg)->n >= 5;
}

START_TEST(test_kv_watch)
{
	struct changes		 ch;
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;

	memset(&ch, 0, sizeof(ch));
	fake_start(&f, "kv", script_watch);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	peer_set_reconnect(p, true);
	ck_assert_int_eq(peer_kv_watch(p, "cfg/", on_change, &ch, &err), 0);
	ck_assert_int_eq(peer_kv_watch(p, "", on_change, &ch, &err), 0);
	ck_assert_int_eq(peer_kv_watch(p, "cfg/", on_change, &ch, &err), -1);
	ck_assert_int_eq(err.code, PEER_ALREADY_EXISTS);
	ck_assert_int_eq(peer_kv_watch(p, "bad", on_change, &ch, &err), -1);
	ck_assert_int_eq(err.code, PEER_RESOURCE_EXHAUSTED);
	/* Refused, it is not kept. */
	ck_assert_int_eq(peer_kv_unwatch(p, "bad", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_changes, &ch, 5000, &err), 1);
	ck_assert_int_eq(ch.n, 4);
	ck_assert(ch.nested_ok);
	ck_assert_str_eq(ch.c[0].prefix, "cfg/");
	ck_assert_str_eq(ch.c[0].key, "cfg/a");
	ck_assert_int_eq(ch.c[0].kind, PEER_KV_PUT);
	ck_assert_uint_eq(ch.c[0].version, 100);
	ck_assert_str_eq(ch.c[0].writer, "writernode");
	ck_assert_uint_eq(ch.c[0].value_len, 2);
	ck_assert_mem_eq(ch.c[0].value, B(0x18, 0x2a), 2);
	ck_assert_uint_eq(ch.c[0].lost, 0);
	ck_assert_str_eq(ch.c[1].prefix, "");
	ck_assert_str_eq(ch.c[1].key, "other");
	ck_assert_int_eq(ch.c[1].kind, PEER_KV_DEL);
	ck_assert(!ch.c[1].has_value);
	ck_assert_int_eq(ch.c[2].kind, PEER_KV_MERGE);
	ck_assert_uint_eq(ch.c[2].version, 106);
	ck_assert_uint_eq(ch.c[2].value_len, 1);
	ck_assert_int_eq(ch.c[3].kind, PEER_KV_EXPIRED);
	ck_assert_str_eq(ch.c[3].key, "t");
	ck_assert_uint_eq(ch.c[3].lost, 3);
	ck_assert_str_eq(peer_kv_kind_name(ch.c[3].kind), "expired");
	ck_assert_ptr_null(peer_kv_kind_name((enum peer_kv_kind)9));
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_lost, NULL, 5000, &err), 1);
	ck_assert_int_eq(pump(p, step_changes5, &ch, 5000, &err), 1);
	ck_assert_str_eq(ch.c[4].key, "cfg/c");
	ck_assert_uint_eq(ch.c[4].version, 200);
	ck_assert_int_eq(peer_kv_unwatch(p, "", &err), 0);
	ck_assert_int_eq(peer_kv_unwatch(p, "", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

Suite *
peer_kv_suite(void)
{
	Suite	*s = suite_create("peer_kv");
	TCase	*tc = tcase_create("peer_kv");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_kv_ops);
	tcase_add_test(tc, test_kv_malformed);
	tcase_add_test(tc, test_kv_refused);
	tcase_add_test(tc, test_kv_watch);
	suite_add_tcase(s, tc);
	return s;
}
