/* SPDX-License-Identifier: ISC */
/*
 * test_peer_serve.c: libpeer's calls, serving and reconnecting, against
 * the fake daemon of fake_peerd.h, each test with its own script.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cbor_buf.h"
#include "fake_peerd.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

struct invoke {
	bool		 has_call;
	uint64_t	 call;
	const char	*service;
	const char	*group;
	const char	*method;
	const uint8_t	*args;
	size_t		 argslen;
	bool		 oneway;
};

static void
put_invoke(struct cbor_buf *b, const struct invoke *iv)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 3 + iv->has_call + (iv->service != NULL) +
	    (iv->group != NULL) + (iv->method != NULL) +
	    (iv->args != NULL) + iv->oneway);
	cbor_put_text(b, "op");
	cbor_put_text(b, "invoke");
	if (iv->has_call) {
		cbor_put_text(b, "call");
		cbor_put_uint(b, iv->call);
	}
	if (iv->service != NULL) {
		cbor_put_text(b, "service");
		cbor_put_text(b, iv->service);
	}
	if (iv->group != NULL) {
		cbor_put_text(b, "group");
		cbor_put_text(b, iv->group);
	}
	if (iv->method != NULL) {
		cbor_put_text(b, "method");
		cbor_put_text(b, iv->method);
	}
	if (iv->args != NULL) {
		cbor_put_text(b, "args");
		cbor_put_raw(b, iv->args, iv->argslen);
	}
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, 1000);
	cbor_put_text(b, "from");
	cbor_put_text(b, "caller");
	if (iv->oneway) {
		cbor_put_text(b, "oneway");
		cbor_put_bool(b, true);
	}
	ctl_frame_end(b, start, 1 << 20);
}

static bool
fake_invoke(struct fake *f, const struct invoke *iv)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	put_invoke(&b, iv);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/*
 * Sends an invoke of echo's method "verified" with the item verified
 * as its "verified", or none if NULL.
 */
static bool
fake_invoke_verified(struct fake *f, uint64_t call, const uint8_t *verified)
{
	struct cbor_buf	b = { 0 };
	size_t		start = ctl_frame_begin(&b);
	bool		ok;

	cbor_put_map(&b, 6 + (verified != NULL));
	cbor_put_text(&b, "op");
	cbor_put_text(&b, "invoke");
	cbor_put_text(&b, "call");
	cbor_put_uint(&b, call);
	cbor_put_text(&b, "service");
	cbor_put_text(&b, "echo");
	cbor_put_text(&b, "method");
	cbor_put_text(&b, "verified");
	cbor_put_text(&b, "timeout");
	cbor_put_uint(&b, 1000);
	cbor_put_text(&b, "from");
	cbor_put_text(&b, "caller");
	if (verified != NULL) {
		cbor_put_text(&b, "verified");
		cbor_put_raw(&b, verified, 1);
	}
	ctl_frame_end(&b, start, 1 << 20);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* Receives register for (service, group) and answers it. */
static bool
fake_register(struct fake *f, const char *service, const char *group)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "register") || !f->m.has_id ||
	    !text_is(f, "service", service) || !text_is(f, "group", group))
		return false;
	put_text_result(&b, f->m.id, "service", service);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* The next frame must be {"op": "reply", "call": call, "result": want}. */
static bool
fake_expect_result(struct fake *f, uint64_t call, const uint8_t *want,
    size_t len)
{
	return fake_recv(f) && op_is(f, "reply") && !f->m.has_id &&
	    f->m.nf == 3 && uint_is(f, "call", call) &&
	    item_is(f, "result", want, len);
}

/* The next frame must be an error reply to call. */
static bool
fake_expect_error(struct fake *f, uint64_t call, enum peer_code code,
    const char *msg, const uint8_t *ctx, size_t ctxlen)
{
	const struct cbor_field	*v;
	struct ctl_error	 e;

	return fake_recv(f) && op_is(f, "reply") && !f->m.has_id &&
	    f->m.nf == 3 && uint_is(f, "call", call) &&
	    (v = ctl_msg_get(&f->m, "error")) != NULL &&
	    ctl_error_decode(v->val, v->vallen, &e) && e.code == code &&
	    e.msglen >= strlen(msg) && memcmp(e.msg, msg, strlen(msg)) == 0 &&
	    (ctx == NULL ? e.context == NULL : e.contextlen == ctxlen &&
	    memcmp(e.context, ctx, ctxlen) == 0);
}

/* The handlers' view of the test. */
struct served {
	int		 handled;
	uint64_t	 later;		/* to answer from the loop */
	bool		 from_ok;
	bool		 nested_ok;
	const char	*nested_why;
	bool		 nested_done;	/* its call from a handler ended */
	uint8_t		 nested_result;
	bool		 stop;		/* "stop" calls peer_stop */
};

static void
nested_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct served	*sv = arg;

	(void)p;
	sv->nested_done = true;
	if (r->error == NULL && r->result_len == 1)
		sv->nested_result = r->result[0];
}

#define NESTED(cond)	do {						\
	if (!(cond)) {							\
		sv->nested_why = #cond;					\
		return false;						\
	}								\
} while (0)

/* What a handler may not do, and what it may. */
static bool
nested_checks(struct peer *p, const struct peer_invocation *inv,
    struct served *sv)
{
	struct peer_error	 e;
	struct peer_status	*st;
	uint8_t			*res;
	size_t			 len;
	unsigned		 sent;

	NESTED(peer_call_sync(p, "calc", "add", NULL, 0, NULL, &res, &len,
	    &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_notify(p, "calc", "add", NULL, 0, NULL, &sent, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_serve(p, "other", NULL, NULL, NULL, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_unserve(p, "echo", NULL, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_status(p, &st, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_run(p, &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_dispatch(p, &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	/* Answers that would break the stream are refused, unsent. */
	NESTED(peer_answer(p, inv->call, B(0x82, 0x01), 2, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_answer(p, inv->call, B(0x01), 0, &e) == -1 &&
	    e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_answer_error(p, inv->call, PEER_OK, "no", NULL, 0,
	    &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_answer_error(p, inv->call, PEER_UNKNOWN, "\xff", NULL, 0,
	    &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_answer_error(p, inv->call, PEER_UNKNOWN, "x", B(0x61), 1,
	    &e) == -1 && e.code == PEER_INVALID_ARGUMENT);
	NESTED(peer_call(p, "calc", "add", NULL, 0, NULL, nested_cb, sv, NULL,
	    &e) == 0);
	return true;
}

static void
handler(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct served	*sv = arg;
	struct cbor_buf	 b = { 0 };

	sv->handled++;
	if (strcmp(inv->method, "echo") == 0) {
		sv->from_ok = strcmp(inv->from, "caller") == 0 &&
		    inv->timeout_ms == 1000 && *inv->group == '\0';
		(void)peer_answer(p, inv->call, inv->args, inv->args_len, NULL);
	} else if (strcmp(inv->method, "group") == 0) {
		cbor_put_text(&b, inv->group);
		(void)peer_answer(p, inv->call, b.data, b.len, NULL);
	} else if (strcmp(inv->method, "fail") == 0)
		(void)peer_answer_error(p, inv->call, PEER_UNKNOWN,
		    "failed on purpose", inv->args, inv->args_len, NULL);
	else if (strcmp(inv->method, "nested") == 0) {
		sv->nested_ok = nested_checks(p, inv, sv);
		(void)peer_answer(p, inv->call, sv->nested_ok ? B(0xf5) :
		    B(0xf4), 1, NULL);
	} else if (strcmp(inv->method, "verified") == 0)
		(void)peer_answer(p, inv->call, peer_inv_verified(inv) &&
		    inv->verified ? B(0xf5) : B(0xf4), 1, NULL);
	else if (strcmp(inv->method, "later") == 0)
		sv->later = inv->call;
	else if (strcmp(inv->method, "stop") == 0) {
		(void)peer_answer(p, inv->call, NULL, 0, NULL);
		peer_stop(p);
	} else
		(void)peer_answer_error(p, inv->call, PEER_UNIMPLEMENTED,
		    "no such method", NULL, 0, NULL);
	cbor_buf_free(&b);
}

static void
script_serve(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	struct invoke	iv;
	uint64_t	id;
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_register(f, "echo", NULL));

	/* The first invoke comes in the same write as the register reply. */
	FCHECK(f, fake_recv(f) && op_is(f, "register") &&
	    text_is(f, "service", "echo") && text_is(f, "group", "g1"));
	put_text_result(&b, f->m.id, "service", "echo");
	iv = (struct invoke){ true, 8, "echo", "g1", "group", NULL, 0, false };
	put_invoke(&b, &iv);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
	FCHECK(f, fake_expect_result(f, 8, B(0x62, 'g', '1'), 3));

	iv = (struct invoke){ true, 7, "echo", NULL, "echo", B(0x82, 1, 2), 3,
	    false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_result(f, 7, B(0x82, 1, 2), 3));

	/* Echo of no args is null. */
	iv = (struct invoke){ true, 9, "echo", NULL, "echo", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_result(f, 9, B(0xf6), 1));

	iv = (struct invoke){ true, 10, "nope", NULL, "echo", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_error(f, 10, PEER_UNIMPLEMENTED,
	    "no service nope", NULL, 0));
	iv = (struct invoke){ true, 11, "echo", "g2", "echo", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_error(f, 11, PEER_UNIMPLEMENTED,
	    "no service echo in group g2", NULL, 0));

	/*
	 * A oneway call's answer, an invoke without a call number and a
	 * oneway call to nobody send nothing: the next frame answers 14.
	 */
	iv = (struct invoke){ true, 12, "echo", NULL, "echo", B(0x01), 1,
	    true };
	FCHECK(f, fake_invoke(f, &iv));
	iv = (struct invoke){ false, 0, "echo", NULL, "echo", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	iv = (struct invoke){ true, 13, "nope", NULL, "echo", NULL, 0, true };
	FCHECK(f, fake_invoke(f, &iv));
	iv = (struct invoke){ true, 14, "echo", NULL, NULL, NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_error(f, 14, PEER_INVALID_ARGUMENT,
	    "malformed invoke", NULL, 0));

	iv = (struct invoke){ true, 15, "echo", NULL, "fail", B(0x61, 'x'), 2,
	    false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_error(f, 15, PEER_UNKNOWN, "failed on purpose",
	    B(0x61, 'x'), 2));

	/* The handler calls out, then answers. */
	iv = (struct invoke){ true, 16, "echo", NULL, "nested", NULL, 0,
	    false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_recv(f) && op_is(f, "call") && f->m.has_id &&
	    text_is(f, "service", "calc"));
	id = f->m.id;
	FCHECK(f, fake_expect_result(f, 16, B(0xf5), 1));
	put_result(&b, id, B(0x07), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);

	/* Answered later, from the event loop. */
	iv = (struct invoke){ true, 17, "echo", NULL, "later", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_result(f, 17, B(0x65, 'l', 'a', 't', 'e', 'r'),
	    6));

	/* Whether from is verified: as the daemon says; absent is not. */
	FCHECK(f, fake_invoke_verified(f, 18, B(0xf5)));
	FCHECK(f, fake_expect_result(f, 18, B(0xf5), 1));
	FCHECK(f, fake_invoke_verified(f, 19, B(0xf4)));
	FCHECK(f, fake_expect_result(f, 19, B(0xf4), 1));
	FCHECK(f, fake_invoke_verified(f, 20, NULL));
	FCHECK(f, fake_expect_result(f, 20, B(0xf4), 1));
}

/* Answers a "later" call from outside any callback. */
static bool
step_answer_later(struct peer *p, void *arg)
{
	struct served	*sv = arg;

	if (sv->later != 0) {
		ck_assert_int_eq(peer_answer(p, sv->later, B(0x65, 'l', 'a',
		    't', 'e', 'r'), 6, NULL), 0);
		sv->later = 0;
	}
	return false;
}

START_TEST(test_serve)
{
	struct fake		 f;
	struct served		 sv;
	struct peer		*p;
	struct peer_error	 err;

	memset(&sv, 0, sizeof(sv));
	fake_start(&f, "serve", script_serve);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	ck_assert_str_eq(peer_node_id(p), FAKE_NODE);
	ck_assert_int_eq(peer_serve(p, "echo", NULL, handler, &sv, &err), 0);
	ck_assert_int_eq(peer_serve(p, "echo", NULL, handler, &sv, &err), -1);
	ck_assert_int_eq(err.code, PEER_ALREADY_EXISTS);
	/* Not UTF-8: refused here, the connection stays. */
	ck_assert_int_eq(peer_serve(p, "\xff", NULL, handler, &sv, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_serve(p, "x", "\xff", handler, &sv, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_serve(p, "echo", "g1", handler, &sv, &err), 0);
	/* The script ends by hanging up. */
	ck_assert_int_eq(pump(p, step_answer_later, &sv, 10000, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	fake_finish(&f);
	ck_assert_int_eq(sv.handled, 10);
	ck_assert(sv.from_ok);
	ck_assert_msg(sv.nested_ok, "in a handler: %s", sv.nested_why);
	ck_assert(sv.nested_done);
	ck_assert_uint_eq(sv.nested_result, 0x07);
	ck_assert_int_eq(peer_fd(p), -1);
	peer_close(p);
}
END_TEST

/* An invoke frame whose "call", "service" and extra entry are raw items. */
static void
put_odd_invoke(struct cbor_buf *b, const uint8_t *call, size_t calllen,
    const uint8_t *service, size_t servicelen, const char *key,
    const uint8_t *val, size_t vallen)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 4 + (key != NULL));
	cbor_put_text(b, "op");
	cbor_put_text(b, "invoke");
	cbor_put_text(b, "call");
	cbor_put_raw(b, call, calllen);
	cbor_put_text(b, "service");
	cbor_put_raw(b, service, servicelen);
	cbor_put_text(b, "method");
	cbor_put_text(b, "echo");
	if (key != NULL) {
		cbor_put_text(b, key);
		cbor_put_raw(b, val, vallen);
	}
	ctl_frame_end(b, start, 1 << 20);
}

#define ECHO	B(0x64, 'e', 'c', 'h', 'o'), 5

static void
script_malformed(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_register(f, "echo", NULL));
	/* Dropped: no call number to answer to. */
	put_odd_invoke(&b, B(0x61, '1'), 2, ECHO, NULL, NULL, 0);
	put_odd_invoke(&b, B(0x20), 1, ECHO, NULL, NULL, 0);
	/* Refused. */
	put_odd_invoke(&b, B(0x14), 1, B(0x01), 1, NULL, NULL, 0);
	put_odd_invoke(&b, B(0x15), 1, ECHO, "oneway", B(0x61, 'y'), 2);
	put_odd_invoke(&b, B(0x16), 1, ECHO, "timeout", B(0x20), 1);
	put_odd_invoke(&b, B(0x17), 1, B(0x65, 'e', 'c', 'h', 'o', 0), 6,
	    NULL, NULL, 0);
	put_odd_invoke(&b, B(0x18, 0x18), 2, ECHO, "group", B(0xf6), 1);
	put_odd_invoke(&b, B(0x18, 0x19), 2, ECHO, "verified", B(0x01), 1);
	/* Served: a call number of 2^64 - 1 and args of any type. */
	put_odd_invoke(&b, B(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff), 9, ECHO, "args", B(0xc1, 0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54,
	    0x44, 0x2d, 0x18), 10);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
	FCHECK(f, fake_expect_error(f, 0x14, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: service", NULL, 0));
	FCHECK(f, fake_expect_error(f, 0x15, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: oneway", NULL, 0));
	FCHECK(f, fake_expect_error(f, 0x16, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: timeout", NULL, 0));
	FCHECK(f, fake_expect_error(f, 0x17, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: service", NULL, 0));
	FCHECK(f, fake_expect_error(f, 0x18, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: group", NULL, 0));
	FCHECK(f, fake_expect_error(f, 0x19, PEER_INVALID_ARGUMENT,
	    "malformed invoke from peerd: verified", NULL, 0));
	FCHECK(f, fake_expect_result(f, UINT64_MAX, B(0xc1, 0xfb, 0x40, 0x09,
	    0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), 10));
}

START_TEST(test_invoke_malformed)
{
	struct fake		 f;
	struct served		 sv;
	struct peer		*p;
	struct peer_error	 err;

	memset(&sv, 0, sizeof(sv));
	fake_start(&f, "serve", script_malformed);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	ck_assert_int_eq(peer_serve(p, "echo", NULL, handler, &sv, &err), 0);
	ck_assert_int_eq(pump(p, step_answer_later, &sv, 10000, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	fake_finish(&f);
	ck_assert_int_eq(sv.handled, 1);
	peer_close(p);
}
END_TEST

static void
script_calls(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	uint64_t	call;
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));

	FCHECK(f, fake_recv(f) && op_is(f, "call") && f->m.has_id &&
	    text_is(f, "service", "calc") && text_is(f, "method", "add") &&
	    item_is(f, "args", B(0x82, 1, 2), 3) &&
	    uint_is(f, "timeout", 1500) && text_is(f, "to", "node1") &&
	    item_is(f, "all", B(0xf5), 1));
	put_error(&b, f->m.id, PEER_NOT_FOUND, "no such",
	    B(0xa1, 0x61, 'k', 0x01), 4);
	FCHECK(f, fake_send(f, &b));

	/* Refused locally: the next frame is the synchronous call. */
	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    text_is(f, "method", "get") && item_is(f, "args", NULL, 0) &&
	    uint_is(f, "timeout", PEER_TIMEOUT_DEFAULT) &&
	    text_is(f, "to", NULL) && item_is(f, "all", NULL, 0));
	put_result(&b, f->m.id, B(0x18, 0x2a), 2);
	FCHECK(f, fake_send(f, &b));

	FCHECK(f, fake_recv(f) && op_is(f, "notify") &&
	    text_is(f, "service", "log") &&
	    item_is(f, "args", B(0x61, 'x'), 2));
	put_result(&b, f->m.id, B(0xa1, 0x64, 's', 'e', 'n', 't', 0x03), 7);
	FCHECK(f, fake_send(f, &b));

	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    text_is(f, "method", "slow"));
	call = f->m.id;
	FCHECK(f, fake_recv(f) && op_is(f, "cancel") && f->m.has_id &&
	    uint_is(f, "call", call));
	put_result(&b, f->m.id, B(0xa1, 0x69, 'c', 'a', 'n', 'c', 'e', 'l',
	    'l', 'e', 'd', 0xf5), 12);
	put_error(&b, call, PEER_CANCELLED, "cancelled by the caller", NULL, 0);
	FCHECK(f, fake_send(f, &b));

	/* Never answered: libpeer gives up a margin after the timeout. */
	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    text_is(f, "method", "hang") && uint_is(f, "timeout", 100));
	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    text_is(f, "method", "done"));
	put_result(&b, f->m.id, B(0xf6), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
}

struct outcome {
	bool		done;
	enum peer_code	code;
	char		message[512];
	uint8_t		context[16];
	size_t		context_len;
	bool		has_result;
};

static void
outcome_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct outcome	*o = arg;

	(void)p;
	o->done = true;
	o->has_result = r->result != NULL;
	o->code = r->error != NULL ? r->error->code : PEER_OK;
	if (r->error != NULL)
		memcpy(o->message, r->error->message, sizeof(o->message));
	if (r->context != NULL && r->context_len <= sizeof(o->context)) {
		memcpy(o->context, r->context, r->context_len);
		o->context_len = r->context_len;
	}
}

START_TEST(test_calls)
{
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;
	struct peer_call_opts	 opts = { "node1", true, 1500 };
	struct outcome		 o;
	uint8_t			*res;
	size_t			 len;
	uint64_t		 id;
	unsigned		 sent = 0;
	long			 t0;

	fake_start(&f, "serve", script_calls);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(peer_call(p, "calc", "add", B(0x82, 1, 2), 3, &opts,
	    outcome_cb, &o, &id, &err), 0);
	ck_assert_int_eq(peer_wait(p, id, &err), 0);
	ck_assert(o.done && !o.has_result);
	ck_assert_int_eq(o.code, PEER_NOT_FOUND);
	ck_assert_str_eq(o.message, "no such");
	ck_assert_uint_eq(o.context_len, 4);
	ck_assert_mem_eq(o.context, B(0xa1, 0x61, 'k', 0x01), 4);

	/* Nothing that would break the stream leaves. */
	ck_assert_int_eq(peer_call(p, "calc", "add", B(0x82, 1), 2, NULL,
	    outcome_cb, &o, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_call(p, "calc", "add", B(0x01), 0, NULL,
	    outcome_cb, &o, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_call(p, "\xff", "add", NULL, 0, NULL,
	    outcome_cb, &o, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_call(p, NULL, "add", NULL, 0, NULL,
	    outcome_cb, &o, NULL, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_cancel(p, 12345, &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);

	ck_assert_int_eq(peer_call_sync(p, "calc", "get", NULL, 0, NULL, &res,
	    &len, &err), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(res, B(0x18, 0x2a), 2);
	free(res);

	ck_assert_int_eq(peer_notify(p, "log", "line", B(0x61, 'x'), 2, NULL,
	    &sent, &err), 0);
	ck_assert_uint_eq(sent, 3);

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(peer_call(p, "calc", "slow", NULL, 0, NULL,
	    outcome_cb, &o, &id, &err), 0);
	ck_assert_int_eq(peer_cancel(p, id, &err), 0);
	ck_assert_int_eq(peer_wait(p, id, &err), 0);
	ck_assert(o.done);
	ck_assert_int_eq(o.code, PEER_CANCELLED);

	memset(&o, 0, sizeof(o));
	opts = (struct peer_call_opts){ NULL, false, 100 };
	t0 = now_ms();
	ck_assert_int_eq(peer_call(p, "calc", "hang", NULL, 0, &opts,
	    outcome_cb, &o, &id, &err), 0);
	ck_assert_int_eq(peer_wait(p, id, &err), 0);
	ck_assert_int_eq(o.code, PEER_DEADLINE_EXCEEDED);
	ck_assert_int_ge(now_ms() - t0, 1000);
	ck_assert_int_eq(peer_call_sync(p, "calc", "done", NULL, 0, NULL,
	    &res, &len, &err), 0);
	free(res);

	/* A stop before the run makes it return at once. */
	peer_stop(p);
	ck_assert_int_eq(peer_run(p, &err), 0);
	/* Without reconnecting, the hang-up ends the run. */
	ck_assert_int_eq(peer_run(p, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	ck_assert_int_eq(peer_fd(p), -1);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

/* An "answer" message of call id: {"node": node, "result": 1}. */
static void
put_answer(struct cbor_buf *b, uint64_t id, const char *node)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 3);
	cbor_put_text(b, "op");
	cbor_put_text(b, "answer");
	cbor_put_text(b, "call");
	cbor_put_uint(b, id);
	cbor_put_text(b, "answer");
	cbor_put_map(b, 2);
	cbor_put_text(b, "node");
	cbor_put_text(b, node);
	cbor_put_text(b, "result");
	cbor_put_uint(b, 1);
	ctl_frame_end(b, start, 1 << 20);
}

static void
script_call_each(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    text_is(f, "service", "calc") && item_is(f, "all", B(0xf5), 1) &&
	    item_is(f, "progress", B(0xf5), 1));
	/* For a request not in flight: ignored. */
	put_answer(&b, f->m.id + 100, "other");
	put_answer(&b, f->m.id, "n1");
	put_answer(&b, f->m.id, "n2");
	put_result(&b, f->m.id, B(0xa1, 0x67, 'a', 'n', 's', 'w', 'e', 'r',
	    's', 0x02), 10);
	/* peer_call asks for no progress, with or without all. */
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_recv(f) && op_is(f, "call") &&
	    item_is(f, "all", B(0xf5), 1) && item_is(f, "progress", NULL, 0));
	put_result(&b, f->m.id, B(0x80), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	FCHECK(f, ok);
	/* The hang-up would race the reply. */
	FCHECK(f, fake_gate(f));
}

struct answers {
	char	nodes[8];	/* the last letter of each node, in order */
	size_t	n;
	bool	after_reply;	/* an answer came after the reply */
	bool	replied;
};

static void
count_answer(struct peer *p, uint64_t id, const uint8_t *entry, size_t len,
    void *arg)
{
	struct answers		*a = arg;
	struct cbor_field	 f[4];
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;
	int			 nf;

	(void)p;
	(void)id;
	if (a->replied)
		a->after_reply = true;
	if ((nf = cbor_scan_map(entry, len, f, 4)) != -1 &&
	    (v = cbor_field_get(f, nf, "node")) != NULL &&
	    cbor_read_text(v->val, v->vallen, &s, &n) && n > 0 &&
	    a->n < sizeof(a->nodes) - 1)
		a->nodes[a->n++] = s[n - 1];
}

static void
answers_done(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct answers	*a = arg;

	(void)p;
	(void)r;
	a->replied = true;
}

/* peer_call_each: each answer to its function, before the reply. */
START_TEST(test_call_each)
{
	struct peer_call_opts	 opts = { NULL, true, 1000 };
	struct fake		 f;
	struct peer		*p;
	struct peer_error	 err;
	struct answers		 a;
	uint64_t		 id;

	fake_start(&f, "each", script_call_each);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(peer_call_each(p, "calc", "add", NULL, 0, NULL,
	    count_answer, &a, answers_done, &a, &id, &err), 0);
	ck_assert_int_eq(peer_wait(p, id, &err), 0);
	ck_assert(a.replied && !a.after_reply);
	ck_assert_str_eq(a.nodes, "12");
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(peer_call(p, "calc", "add", NULL, 0, &opts,
	    answers_done, &a, &id, &err), 0);
	ck_assert_int_eq(peer_wait(p, id, &err), 0);
	ck_assert(a.replied && a.n == 0);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

static void
script_reconnect(struct fake *f)
{
	struct invoke	iv;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_register(f, "echo", "g1"));
	fake_hangup(f);

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_register(f, "echo", "g1"));
	iv = (struct invoke){ true, 5, "echo", "g1", "group", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_result(f, 5, B(0x62, 'g', '1'), 3));
	FCHECK(f, fake_gate(f));
	iv = (struct invoke){ true, 6, "echo", "g1", "stop", NULL, 0, false };
	FCHECK(f, fake_invoke(f, &iv));
	FCHECK(f, fake_expect_result(f, 6, B(0xf6), 1));
	FCHECK(f, fake_gate(f));
	fake_unlisten(f);
}

struct watch {
	struct served	*sv;
	bool		 lost;		/* peer_fd was -1 */
	int		 max_wait;	/* peer_timeout, disconnected */
};

static bool
step_reconnected(struct peer *p, void *arg)
{
	struct watch	*w = arg;
	int		 t;

	if (peer_fd(p) == -1) {
		w->lost = true;
		if ((t = peer_timeout(p)) > w->max_wait)
			w->max_wait = t;
	}
	return w->sv->handled >= 1;
}

/* Until the wait for the next attempt passes *arg ms. */
static bool
step_backoff(struct peer *p, void *arg)
{
	return peer_timeout(p) > *(int *)arg;
}

START_TEST(test_reconnect)
{
	struct fake		 f;
	struct served		 sv;
	struct watch		 w;
	struct peer		*p;
	struct peer_error	 err;
	const char		*name;
	int			 t;

	memset(&sv, 0, sizeof(sv));
	memset(&w, 0, sizeof(w));
	w.sv = &sv;
	w.max_wait = -1;
	fake_start(&f, "serve", script_reconnect);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	peer_set_reconnect(p, true);
	name = peer_node_name(p);
	ck_assert_int_eq(peer_serve(p, "echo", "g1", handler, &sv, &err), 0);

	/* Hung up on, it waits 100 ms, reconnects and registers again. */
	ck_assert_int_eq(pump(p, step_reconnected, &w, 5000, &err), 1);
	ck_assert(w.lost);
	ck_assert_int_ge(w.max_wait, 0);
	ck_assert_int_le(w.max_wait, 100);
	/* The same daemon: the same strings. */
	ck_assert_ptr_eq(peer_node_name(p), name);
	/* The "stop" call ends the run. */
	fake_go(&f);
	ck_assert_int_eq(peer_run(p, &err), 0);
	ck_assert_int_eq(sv.handled, 2);
	fake_go(&f);

	/* No daemon now: each attempt fails and doubles the wait. */
	ck_assert_int_eq(pump(p, step_lost, NULL, 5000, &err), 1);
	fake_finish(&f);
	t = peer_timeout(p);
	ck_assert_int_ge(t, 0);
	ck_assert_int_le(t, 100);
	t = 100;
	ck_assert_int_eq(pump(p, step_backoff, &t, 2000, &err), 1);
	ck_assert_int_le(peer_timeout(p), 200);
	t = 200;
	ck_assert_int_eq(pump(p, step_backoff, &t, 2000, &err), 1);
	ck_assert_int_le(peer_timeout(p), 400);
	ck_assert_int_eq(peer_fd(p), -1);
	ck_assert_int_eq(peer_answer(p, 5, NULL, 0, &err), -1);
	ck_assert_int_eq(err.code, PEER_UNAVAILABLE);
	ck_assert_int_eq(peer_unserve(p, "echo", "g1", &err), 0);
	ck_assert_int_eq(peer_unserve(p, "echo", "g1", &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	peer_close(p);
}
END_TEST

Suite *
peer_serve_suite(void)
{
	Suite	*s = suite_create("peer_serve");
	TCase	*tc = tcase_create("peer_serve");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_serve);
	tcase_add_test(tc, test_invoke_malformed);
	tcase_add_test(tc, test_calls);
	tcase_add_test(tc, test_call_each);
	tcase_add_test(tc, test_reconnect);
	suite_add_tcase(s, tc);
	return s;
}
