/* SPDX-License-Identifier: ISC */
/*
 * peer_call.c: calling services through peerd: call, notify, cancel.
 * Requests are checked here before they leave, since a malformed frame
 * makes the daemon drop the whole connection.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"

/*
 * Encodes the keys of a call or notify request into b as one map, and
 * sets *skip to the length of its head: the entries follow it, *n of
 * them.  Sets *timeout to the request's own timeout.  progress: ask
 * for each answer of a fan-out as it comes.
 */
static int
call_body(struct cbor_buf *b, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    bool progress, size_t *skip, size_t *n, int *timeout,
    struct peer_error *err)
{
	static const struct peer_call_opts	none;
	int					t;

	if (o == NULL)
		o = &none;
	if (service == NULL || method == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "a call needs a "
		    "service and a method");
		return -1;
	}
	if (args != NULL && (argslen == 0 ||
	    cbor_scan_item(args, argslen) != argslen)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "args is not one "
		    "well-formed CBOR item");
		return -1;
	}
	t = o->timeout_ms > 0 ? o->timeout_ms : PEER_TIMEOUT_DEFAULT;
	*timeout = t > INT_MAX - PEER_CALL_MARGIN ? INT_MAX :
	    t + PEER_CALL_MARGIN;
	*n = 3 + (args != NULL) + (o->to != NULL) + o->all + progress;
	cbor_put_map(b, *n);
	*skip = b->len;
	cbor_put_text(b, "service");
	cbor_put_text(b, service);
	cbor_put_text(b, "method");
	cbor_put_text(b, method);
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, (uint64_t)t);
	if (args != NULL) {
		cbor_put_text(b, "args");
		cbor_put_raw(b, args, argslen);
	}
	if (o->to != NULL) {
		cbor_put_text(b, "to");
		cbor_put_text(b, o->to);
	}
	if (o->all) {
		cbor_put_text(b, "all");
		cbor_put_bool(b, true);
	}
	if (progress) {
		cbor_put_text(b, "progress");
		cbor_put_bool(b, true);
	}
	if (b->failed) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	/* The whole map, as the daemon will read it: text must be UTF-8. */
	if (cbor_scan_item(b->data, b->len) != b->len) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "service, method or to "
		    "is not valid UTF-8, or args nest too deep");
		return -1;
	}
	return 0;
}

int
peer_call(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    peer_reply_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	struct cbor_buf	b = { 0 };
	size_t		skip, n;
	int		timeout, r = -1;

	if (call_body(&b, service, method, args, argslen, o, false, &skip,
	    &n, &timeout, err) == 0)
		r = peer_request(p, "call", b.data + skip, b.len - skip, n,
		    timeout, fn, arg, id, err);
	cbor_buf_free(&b);
	return r;
}

int
peer_call_each(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    peer_answer_fn *each, void *each_arg, peer_reply_fn *fn, void *arg,
    uint64_t *id, struct peer_error *err)
{
	struct peer_call_opts	all = { NULL, true, 0 };
	struct cbor_buf		b = { 0 };
	size_t			skip, n;
	uint64_t		rid;
	int			timeout, r = -1;

	if (each == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_call_each needs "
		    "a function for the answers");
		return -1;
	}
	if (o != NULL)
		all = *o;
	all.all = true;
	if (call_body(&b, service, method, args, argslen, &all, true, &skip,
	    &n, &timeout, err) == 0 &&
	    (r = peer_request(p, "call", b.data + skip, b.len - skip, n,
	    timeout, fn, arg, &rid, err)) == 0) {
		/* Gone already if the connection failed while sending. */
		peer_pending_each(p, rid, each, each_arg);
		if (id != NULL)
			*id = rid;
	}
	cbor_buf_free(&b);
	return r;
}

int
peer_call_sync(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    uint8_t **result, size_t *result_len, struct peer_error *err)
{
	struct cbor_buf	b = { 0 };
	size_t		skip, n;
	int		timeout, r = -1;

	if (peer_in_callback(p, "peer_call_sync", err))
		return -1;
	if (call_body(&b, service, method, args, argslen, o, false, &skip,
	    &n, &timeout, err) == 0)
		r = peer_op(p, "call", b.data + skip, b.len - skip, n, timeout,
		    result, result_len, err);
	cbor_buf_free(&b);
	return r;
}

int
peer_notify(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    unsigned *sent, struct peer_error *err)
{
	struct cbor_buf		 b = { 0 };
	struct cbor_field	 f[CTL_FIELDS_MAX];
	const struct cbor_field	*v;
	uint8_t			*res = NULL;
	size_t			 reslen, skip, n;
	uint64_t		 u;
	int			 nf, timeout, r = -1;

	if (peer_in_callback(p, "peer_notify", err))
		return -1;
	if (call_body(&b, service, method, args, argslen, o, false, &skip,
	    &n, &timeout, err) == -1 ||
	    peer_op(p, "notify", b.data + skip, b.len - skip, n, timeout,
	    &res, &reslen, err) == -1)
		goto done;
	if ((nf = cbor_scan_map(res, reslen, f, CTL_FIELDS_MAX)) == -1 ||
	    (v = cbor_field_get(f, nf, "sent")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &u)) {
		peer_seterr(err, PEER_INTERNAL, "malformed notify result from "
		    "peerd");
		goto done;
	}
	if (sent != NULL)
		*sent = u > UINT_MAX ? UINT_MAX : (unsigned)u;
	r = 0;
done:
	free(res);
	cbor_buf_free(&b);
	return r;
}

/* The call itself ends with CANCELLED; this reply says nothing more. */
static void
cancel_reply_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	(void)p;
	(void)r;
	(void)arg;
}

int
peer_cancel(struct peer *p, uint64_t id, struct peer_error *err)
{
	struct cbor_buf	b = { 0 };
	int		r;

	if (!peer_pending_has(p, id)) {
		peer_seterr(err, PEER_NOT_FOUND, "no request %llu in flight",
		    (unsigned long long)id);
		return -1;
	}
	cbor_put_text(&b, "call");
	cbor_put_uint(&b, id);
	if (b.failed) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		cbor_buf_free(&b);
		return -1;
	}
	r = peer_request(p, "cancel", b.data, b.len, 1, 0, cancel_reply_cb,
	    NULL, NULL, err);
	cbor_buf_free(&b);
	return r;
}
