/* SPDX-License-Identifier: ISC */
/*
 * peer_call.c: calling services through peerd: call, notify, cancel.
 * Requests are checked here, once, before they leave, since a malformed
 * frame makes the daemon drop the whole connection.
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
 * Checks, once, what the daemon would drop the connection for: names
 * that are not UTF-8, args that are not one item.  Args nest one level
 * down in the request, and the whole must scan.
 */
static int
call_check(const char *service, const char *method, const void *args,
    size_t argslen, const struct peer_call_opts *o, struct peer_error *err)
{
	if (service == NULL || method == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "a call needs a "
		    "service and a method");
		return -1;
	}
	if (args != NULL && argslen > PEER_FRAME_MAX) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "args larger than %u "
		    "bytes", PEER_FRAME_MAX);
		return -1;
	}
	if (args != NULL && (argslen == 0 ||
	    cbor_scan_item_in(args, argslen, 1) != argslen)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "args is not one "
		    "well-formed CBOR item, or nests too deep");
		return -1;
	}
	if (!cbor_text_valid(service, strlen(service)) ||
	    !cbor_text_valid(method, strlen(method)) ||
	    (o->to != NULL && !cbor_text_valid(o->to, strlen(o->to)))) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "service, method or to "
		    "is not valid UTF-8");
		return -1;
	}
	return 0;
}

/*
 * Starts a call or notify request, encoded straight into the output
 * queue; as peer_request.  progress: ask for each answer of a fan-out
 * as it comes.  force: even into a full queue (a caller that waits).
 */
static int
call_start(struct peer *p, const char *op, const char *service,
    const char *method, const void *args, size_t argslen,
    const struct peer_call_opts *o, bool progress, bool force,
    peer_reply_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	static const struct peer_call_opts	 none;
	struct cbor_buf				*b = &p->out;
	struct pending				*pd;
	size_t					 start, n;
	int					 t, timeout;

	if (o == NULL)
		o = &none;
	if (call_check(service, method, args, argslen, o, err) == -1)
		return -1;
	t = o->timeout_ms > 0 ? o->timeout_ms : PEER_TIMEOUT_DEFAULT;
	timeout = t > INT_MAX - PEER_CALL_MARGIN ? INT_MAX :
	    t + PEER_CALL_MARGIN;
	n = 3 + (args != NULL) + (o->to != NULL) + o->all + progress;
	if ((pd = peer_request_begin(p, op, n, timeout, fn, arg, force, &start,
	    err)) == NULL)
		return -1;
	cbor_put_text(b, "service");
	cbor_put_text(b, service);
	cbor_put_text(b, "method");
	cbor_put_text(b, method);
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, (uint64_t)t);
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
	if (args != NULL) {
		cbor_put_text(b, "args");
		cbor_put_raw(b, args, argslen);
	}
	return peer_request_end(p, pd, start, id, err);
}

int
peer_call(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    peer_reply_fn *fn, void *arg, uint64_t *id, struct peer_error *err)
{
	return call_start(p, "call", service, method, args, argslen, o, false,
	    false, fn, arg, id, err);
}

int
peer_call_each(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    peer_answer_fn *each, void *each_arg, peer_reply_fn *fn, void *arg,
    uint64_t *id, struct peer_error *err)
{
	struct peer_call_opts	all = { NULL, true, 0 };
	uint64_t		rid;

	if (each == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_call_each needs "
		    "a function for the answers");
		return -1;
	}
	if (o != NULL)
		all = *o;
	all.all = true;
	if (call_start(p, "call", service, method, args, argslen, &all, true,
	    false, fn, arg, &rid, err) == -1)
		return -1;
	/* Gone already if the connection failed while sending. */
	peer_pending_each(p, rid, each, each_arg);
	if (id != NULL)
		*id = rid;
	return 0;
}

int
peer_call_sync(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    uint8_t **result, size_t *result_len, struct peer_error *err)
{
	struct peer_sync	s;
	uint64_t		id;

	memset(&s, 0, sizeof(s));
	if (peer_in_callback(p, "peer_call_sync", err) ||
	    call_start(p, "call", service, method, args, argslen, o, false,
	    true, peer_sync_cb, &s, &id, err) == -1)
		return -1;
	return peer_sync_wait(p, id, &s, result, result_len, err);
}

int
peer_notify(struct peer *p, const char *service, const char *method,
    const void *args, size_t argslen, const struct peer_call_opts *o,
    unsigned *sent, struct peer_error *err)
{
	struct peer_sync	 s;
	struct cbor_field	 f[CTL_FIELDS_MAX];
	const struct cbor_field	*v;
	uint8_t			*res = NULL;
	size_t			 reslen;
	uint64_t		 u, id;
	int			 nf, r = -1;

	memset(&s, 0, sizeof(s));
	if (peer_in_callback(p, "peer_notify", err) ||
	    call_start(p, "notify", service, method, args, argslen, o, false,
	    true, peer_sync_cb, &s, &id, err) == -1 ||
	    peer_sync_wait(p, id, &s, &res, &reslen, err) == -1)
		return -1;
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
	struct pending	*pd;
	size_t		 start;

	if (!peer_pending_has(p, id)) {
		peer_seterr(err, PEER_NOT_FOUND, "no request %llu in flight",
		    (unsigned long long)id);
		return -1;
	}
	if ((pd = peer_request_begin(p, "cancel", 1, 0, cancel_reply_cb, NULL,
	    false, &start, err)) == NULL)
		return -1;
	cbor_put_text(&p->out, "call");
	cbor_put_uint(&p->out, id);
	return peer_request_end(p, pd, start, NULL, err);
}
