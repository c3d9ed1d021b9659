/* SPDX-License-Identifier: ISC */
/*
 * test_serve.c: serve.c with a real registry and control server, its
 * apps real control clients, and a fake router.  The rules: a call for
 * a registered service becomes an invoke at the app whose turn it is,
 * and the app's reply goes back to the caller as the answer; a call
 * nobody here can take is refused at once (NOT_FOUND, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED); an invocation ends once, by the reply, its
 * deadline, its caller's cancel or death (the app hears "cancelled",
 * nothing is answered), or its app going away (UNAVAILABLE); a reply
 * after the end is dropped; a malformed reply closes the app.  The
 * access rules: a call from the mesh is refused (PERMISSION_DENIED,
 * the rule named) unless its origin is admitted, and, for an origin not
 * verified, the link peer it came from too; a call from this node's own
 * clients is not checked here; root may serve whatever the rules say.
 * The invoke says whether its "from" is verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "access.h"
#include "callmsg.h"
#include "control.h"
#include "fake_route.h"
#include "harness.h"
#include "registry.h"
#include "serve.h"

#define MAX_MESSAGE	256	/* serve's limit, small enough to cross */
#define WAIT		1000	/* ms: what must happen, happens by then */
#define NAPPS		4

static struct event_base	*base;
static struct tnode		 self, a, b;
static struct members		*members;
static struct registry		*registry;
static struct access		*rules;		/* none unless a test adds */
static struct control		*control;
static struct route		*route;
static struct serve		*serve;
static struct client		*apps[NAPPS];
static int			 napps;
static int			 ngone;		/* clients withdrawn */
static char			 dir[64], sockpath[128];
static uint64_t			 next_id;

/* The args of every call: the text "hi". */
static const uint8_t	ARGS[] = { 0x62, 'h', 'i' };
/* A result: the text "ok". */
static const uint8_t	RESULT[] = { 0x62, 'o', 'k' };
/* An error's context: the map {"k": 1}. */
static const uint8_t	CONTEXT[] = { 0xa1, 0x61, 'k', 0x01 };

/* The registry's record does not matter here. */
static void
services(void *arg, const struct record_service *svc, int n)
{
	(void)arg; (void)svc; (void)n;
}

/* As peerd.c wires it: the client's services go, then its calls fail. */
static void
client_gone(void *arg, struct ctl_conn *c)
{
	(void)arg;
	registry_client_gone(registry, c);
	serve_client_gone(serve, c);
	ngone++;
}

static const struct registry_ops	reg_ops = { services };
static const struct control_ops		ctl_ops = { client_gone };

static void
setup(void)
{
	struct control_params	cp;
	struct serve_params	sp;
	struct record		r;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	members = tnode_members(&self);
	tnode_record(&a, 1, &r);
	tnode_offer(members, &a, &r);
	tnode_record(&b, 1, &r);
	tnode_offer(members, &b, &r);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tmpdir_make(dir, sizeof(dir), "serve");
	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", dir);
	rules = access_new(geteuid());
	ck_assert_ptr_nonnull(rules);
	registry = registry_new(members, rules, &reg_ops, NULL);
	ck_assert_ptr_nonnull(registry);
	memset(&cp, 0, sizeof(cp));
	control_params_init(&cp, sockpath);
	cp.max_message = 1 << 20;
	cp.max_clients = 16;
	control = control_open(base, &cp, &ctl_ops, NULL);
	ck_assert_ptr_nonnull(control);
	route = fake_route_new(self.pk);
	sp.self = self.pk;
	sp.name = "self";
	sp.max_message = MAX_MESSAGE;
	sp.access = rules;
	serve = serve_new(base, &sp, members, registry, route);
	ck_assert_ptr_nonnull(serve);
	ck_assert_int_eq(control_add_ops(control, registry_ctl_ops, registry),
	    0);
	ck_assert_int_eq(control_add_ops(control, serve_ctl_ops, serve), 0);
	napps = 0;
	ngone = 0;
	next_id = 0;
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < napps; i++)
		client_close(apps[i]);
	control_free(control);
	serve_free(serve);
	registry_free(registry);
	access_free(rules);
	fake_route_free(route);
	members_free(members);
	event_base_free(base);
	tmpdir_remove(dir);
}

/* An app: a client that registered service (in group, if not ""). */
static struct client *
app_open(const char *service, const char *group)
{
	struct client		*c;
	struct cbor_buf		*buf;
	const struct ctl_msg	*m;
	uint64_t		 id = ++next_id;
	char			 why[256];

	ck_assert_int_lt(napps, NAPPS);
	c = apps[napps++] = client_open(sockpath);
	buf = client_begin(c, "register", id, group[0] != '\0' ? 2 : 1);
	cbor_put_text(buf, "service");
	cbor_put_text(buf, service);
	if (group[0] != '\0') {
		cbor_put_text(buf, "group");
		cbor_put_text(buf, group);
	}
	client_send(c);
	m = client_reply(c, base, id, WAIT);
	ck_assert_msg(m != NULL, "no reply to register %s", service);
	ck_assert_msg(reply_code(m, why, sizeof(why)) == PEER_OK,
	    "register %s: %s", service, why);
	return c;
}

/* The app disconnects; teardown must not close it again. */
static void
app_close(struct client *c)
{
	int	i;

	for (i = 0; i < napps; i++)
		if (apps[i] == c)
			apps[i] = NULL;
	client_close(c);
}

/*
 * A request answered at once.  Frames are handled in order: once it is
 * answered, whatever c sent before has been handled.
 */
static void
app_sync(struct client *c)
{
	uint64_t	id = ++next_id;

	(void)client_begin(c, "services", id, 0);
	client_send(c);
	ck_assert_msg(client_reply(c, base, id, WAIT) != NULL,
	    "the app's connection does not answer");
}

/*
 * A "reply" message: it has no id, so it is built here, not by
 * client_begin.  result and error are encoded items, NULL to leave out.
 */
static void
app_send_reply(struct client *c, bool has_call, uint64_t iid,
    const uint8_t *result, size_t resultlen, const uint8_t *error,
    size_t errorlen)
{
	struct cbor_buf	buf = { 0 };
	size_t		start;

	start = ctl_frame_begin(&buf);
	cbor_put_map(&buf, 1 + has_call + (result != NULL) + (error != NULL));
	cbor_put_text(&buf, "op");
	cbor_put_text(&buf, "reply");
	if (has_call) {
		cbor_put_text(&buf, "call");
		cbor_put_uint(&buf, iid);
	}
	if (result != NULL) {
		cbor_put_text(&buf, "result");
		cbor_put_raw(&buf, result, resultlen);
	}
	if (error != NULL) {
		cbor_put_text(&buf, "error");
		cbor_put_raw(&buf, error, errorlen);
	}
	ck_assert_int_eq(ctl_frame_end(&buf, start, 64u << 20), 0);
	client_write(c, buf.data, buf.len);
	cbor_buf_free(&buf);
}

static void
app_result(struct client *c, uint64_t iid)
{
	app_send_reply(c, true, iid, RESULT, sizeof(RESULT), NULL, 0);
}

/* The next invoke at c, which must come; valid until c is used again. */
static const struct ctl_msg *
invoke_at(struct client *c)
{
	const struct ctl_msg	*m = client_message(c, base, "invoke", WAIT);

	ck_assert_msg(m != NULL, "no invoke reached the app");
	return m;
}

/* The call number of the next invoke at c. */
static uint64_t
invoked(struct client *c)
{
	return msg_uint(invoke_at(c), "call");
}

/* The next cancelled at c: it must be for iid, its reason mention why. */
static void
cancelled_at(struct client *c, uint64_t iid, const char *why)
{
	const struct ctl_msg	*m;
	char			 reason[128];

	m = client_message(c, base, "cancelled", WAIT);
	ck_assert_msg(m != NULL, "the app was not told of the end of %llu",
	    (unsigned long long)iid);
	ck_assert_uint_eq(msg_uint(m, "call"), iid);
	msg_text(m, "reason", reason, sizeof(reason));
	ck_assert_msg(strstr(reason, why) != NULL, "reason \"%s\", not "
	    "\"%s\"", reason, why);
}

/*
 * No cancelled has come to c: what the daemon wrote before answering
 * app_sync is in by then.
 */
static void
no_cancelled_at(struct client *c)
{
	app_sync(c);
	ck_assert_msg(client_message(c, base, "cancelled", 1) == NULL,
	    "the app was told of an end it should not hear of");
}

/* No invoke has come to c (as no_cancelled_at). */
static void
no_invoke_at(struct client *c)
{
	app_sync(c);
	ck_assert_msg(client_message(c, base, "invoke", 1) == NULL,
	    "the app was invoked for a call it should not see");
}

/*
 * A call for this node from caller, as route would hand it over: its
 * origin verified (the test makes it unverified where it says so).
 */
static void
call_msg(struct callmsg *m, const struct tnode *caller, uint64_t cid)
{
	memset(m, 0, sizeof(*m));
	m->verified = true;
	m->type = CALLMSG_CALL;
	memcpy(m->origin, caller->pk, NODE_ID_LEN);
	memcpy(m->provider, self.pk, NODE_ID_LEN);
	m->cid = cid;
	m->hops = CALLMSG_HOPS - 2;
	strcpy(m->service, "echo");
	strcpy(m->method, "say");
	m->args = ARGS;
	m->argslen = sizeof(ARGS);
	m->timeout_ms = 5000;
}

/* serve_call of a call from caller with number cid. */
static void
call(const struct tnode *caller, uint64_t cid, uint64_t timeout_ms)
{
	struct callmsg	m;

	call_msg(&m, caller, cid);
	m.timeout_ms = timeout_ms;
	serve_call(serve, &m, m.origin);
}

/* Answers sent and failures, together. */
static size_t
nanswered(void)
{
	return fake_route_count(route) + fake_route_nfails(route);
}

static bool
answered_n(void *arg)
{
	return nanswered() >= *(size_t *)arg;
}

/* Runs the loop until n answers in all have been given. */
static void
wait_answers(size_t n)
{
	ck_assert_msg(loop_until(base, answered_n, &n, WAIT),
	    "%zu answers expected, %zu given", n, nanswered());
	ck_assert_uint_eq(nanswered(), n);
}

static bool
gone_n(void *arg)
{
	return ngone >= *(int *)arg;
}

/* Runs the loop until n clients have been withdrawn in all. */
static void
wait_gone(int n)
{
	ck_assert_msg(loop_until(base, gone_n, &n, WAIT),
	    "%d clients gone expected, %d", n, ngone);
}

/* Answer i went back to caller for cid: its error code, or PEER_OK. */
static enum peer_code
answer_to(size_t i, const struct tnode *caller, uint64_t cid)
{
	const struct callmsg	*m = fake_route_msg(route, i);

	ck_assert_int_eq(m->type, CALLMSG_ANSWER);
	ck_assert_mem_eq(m->origin, caller->pk, NODE_ID_LEN);
	ck_assert_mem_eq(m->provider, self.pk, NODE_ID_LEN);
	ck_assert_uint_eq(m->cid, cid);
	ck_assert_uint_eq(m->hops, CALLMSG_HOPS);
	return m->result != NULL ? PEER_OK : m->err.code;
}

/* The one answer that went back to caller for cid, in any order. */
static enum peer_code
answer_for(const struct tnode *caller, uint64_t cid)
{
	const struct callmsg	*m;
	size_t			 i, found = 0, n = 0;

	for (i = 0; i < fake_route_count(route); i++) {
		m = fake_route_msg(route, i);
		if (m->cid == cid &&
		    memcmp(m->origin, caller->pk, NODE_ID_LEN) == 0) {
			found = i;
			n++;
		}
	}
	ck_assert_msg(n == 1, "%zu answers to %s for call %llu", n,
	    caller->name, (unsigned long long)cid);
	return answer_to(found, caller, cid);
}

/* Failure i (route_fail) went to caller for cid with code. */
static void
failed_with(size_t i, const struct tnode *caller, uint64_t cid,
    enum peer_code code)
{
	const struct fake_fail	*f = fake_route_fail(route, i);

	ck_assert_mem_eq(f->origin, caller->pk, NODE_ID_LEN);
	ck_assert_uint_eq(f->cid, cid);
	ck_assert_msg(f->code == code, "code %d, not %d (%s)", (int)f->code,
	    (int)code, f->msg);
}

/* Serving's counters now. */
static struct serve_stats
stats(void)
{
	struct serve_stats	st;

	serve_stats(serve, &st);
	return st;
}

START_TEST(test_call_becomes_invoke)
{
	struct client		*app = app_open("echo", "");
	const struct ctl_msg	*m;
	const struct cbor_field	*f;
	char			 buf[128];
	uint64_t		 first;

	call(&a, 77, 5000);
	m = invoke_at(app);
	/* Numbers start at 1. */
	first = msg_uint(m, "call");
	ck_assert_uint_eq(first, 1);
	ck_assert_str_eq(msg_text(m, "service", buf, sizeof(buf)), "echo");
	ck_assert_str_eq(msg_text(m, "method", buf, sizeof(buf)), "say");
	ck_assert_str_eq(msg_text(m, "from", buf, sizeof(buf)), a.idstr);
	ck_assert(msg_bool(m, "verified"));
	ck_assert_uint_eq(msg_uint(m, "timeout"), 5000);
	/* The args byte for byte. */
	f = ctl_msg_get(m, "args");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->vallen, sizeof(ARGS));
	ck_assert_mem_eq(f->val, ARGS, sizeof(ARGS));
	ck_assert_ptr_null(ctl_msg_get(m, "group"));
	ck_assert_ptr_null(ctl_msg_get(m, "oneway"));
	/* Nothing is answered before the app replies. */
	ck_assert_uint_eq(nanswered(), 0);
	/* Another call, its cid the same but from b: a new number. */
	call(&b, 77, 5000);
	ck_assert_uint_gt(invoked(app), first);
	ck_assert_uint_eq(nanswered(), 0);
}
END_TEST

START_TEST(test_invoke_without_args)
{
	struct client		*app = app_open("echo", "");
	struct callmsg		 m;
	const struct ctl_msg	*inv;

	call_msg(&m, &a, 1);
	m.args = NULL;
	m.argslen = 0;
	serve_call(serve, &m, m.origin);
	inv = invoke_at(app);
	ck_assert_ptr_null(ctl_msg_get(inv, "args"));
	ck_assert_uint_eq(msg_uint(inv, "timeout"), 5000);
}
END_TEST

START_TEST(test_invoke_names_the_group)
{
	struct client		*app = app_open("echo", "blue");
	struct callmsg		 m;
	char			 buf[64];

	/* A call for any group reaches it, and it learns its group. */
	call(&a, 1, 5000);
	ck_assert_str_eq(msg_text(invoke_at(app), "group", buf, sizeof(buf)),
	    "blue");
	call_msg(&m, &a, 2);
	strcpy(m.group, "blue");
	serve_call(serve, &m, m.origin);
	ck_assert_str_eq(msg_text(invoke_at(app), "group", buf, sizeof(buf)),
	    "blue");
	ck_assert_uint_eq(nanswered(), 0);
}
END_TEST

START_TEST(test_result_goes_back_to_the_caller)
{
	struct client		*app = app_open("echo", "");
	const struct callmsg	*ans;
	uint64_t		 iid;

	call(&a, 77, 5000);
	iid = invoked(app);
	app_result(app, iid);
	wait_answers(1);
	ck_assert_uint_eq(fake_route_nfails(route), 0);
	ck_assert_int_eq(answer_to(0, &a, 77), PEER_OK);
	ans = fake_route_msg(route, 0);
	ck_assert_uint_eq(ans->resultlen, sizeof(RESULT));
	ck_assert_mem_eq(ans->result, RESULT, sizeof(RESULT));
	/* Answered once: a second reply is late, dropped, and harmless. */
	app_result(app, iid);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 1);
	ck_assert_uint_eq(stats().by_code[PEER_OK], 1);
	ck_assert_uint_eq(stats().latency.count, 1);
}
END_TEST

START_TEST(test_error_keeps_code_message_context)
{
	struct client		*app = app_open("echo", "");
	struct cbor_buf		 err = { 0 };
	const struct callmsg	*ans;
	uint64_t		 iid;

	call(&a, 5, 5000);
	iid = invoked(app);
	ctl_put_error_value(&err, PEER_UNIMPLEMENTED, "no method say", 13,
	    CONTEXT, sizeof(CONTEXT));
	app_send_reply(app, true, iid, NULL, 0, err.data, err.len);
	cbor_buf_free(&err);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &a, 5), PEER_UNIMPLEMENTED);
	ans = fake_route_msg(route, 0);
	ck_assert_uint_eq(ans->err.msglen, 13);
	ck_assert_mem_eq(ans->err.msg, "no method say", 13);
	ck_assert_uint_eq(ans->err.contextlen, sizeof(CONTEXT));
	ck_assert_mem_eq(ans->err.context, CONTEXT, sizeof(CONTEXT));
}
END_TEST

START_TEST(test_no_provider_is_not_found)
{
	struct client	*app;
	struct callmsg	 m;

	/* Nobody offers it. */
	call(&a, 1, 5000);
	ck_assert_uint_eq(fake_route_nfails(route), 1);
	failed_with(0, &a, 1, PEER_NOT_FOUND);
	/* Offered, but not in the group asked. */
	app = app_open("echo", "blue");
	call_msg(&m, &b, 2);
	strcpy(m.group, "red");
	serve_call(serve, &m, m.origin);
	ck_assert_uint_eq(fake_route_nfails(route), 2);
	failed_with(1, &b, 2, PEER_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(fake_route_fail(route, 1)->msg, "red"));
	/* Another service. */
	call_msg(&m, &a, 3);
	strcpy(m.service, "other");
	serve_call(serve, &m, m.origin);
	failed_with(2, &a, 3, PEER_NOT_FOUND);
	no_invoke_at(app);
	ck_assert_uint_eq(fake_route_count(route), 0);
	/* Refused here: counted by their code. */
	ck_assert_uint_eq(stats().by_code[PEER_NOT_FOUND], 3);
	ck_assert_uint_eq(stats().latency.count, 3);
}
END_TEST

START_TEST(test_no_time_left)
{
	struct client	*app = app_open("echo", "");

	call(&a, 9, 0);
	ck_assert_uint_eq(nanswered(), 1);
	failed_with(0, &a, 9, PEER_DEADLINE_EXCEEDED);
	no_invoke_at(app);
}
END_TEST

START_TEST(test_args_larger_than_max_message)
{
	struct client		*app = app_open("echo", "");
	static uint8_t		 big[3 + MAX_MESSAGE + 1];
	const struct ctl_msg	*inv;
	struct callmsg		 m;

	/* A byte string of MAX_MESSAGE - 3 bytes: MAX_MESSAGE in all. */
	big[0] = 0x59;
	big[1] = (MAX_MESSAGE - 3) >> 8;
	big[2] = (MAX_MESSAGE - 3) & 0xff;
	call_msg(&m, &a, 1);
	m.args = big;
	m.argslen = MAX_MESSAGE;
	serve_call(serve, &m, m.origin);
	inv = invoke_at(app);
	ck_assert_uint_eq(ctl_msg_get(inv, "args")->vallen, MAX_MESSAGE);
	ck_assert_uint_eq(nanswered(), 0);
	/* One byte more is refused, and the app sees nothing. */
	big[1] = (MAX_MESSAGE - 2) >> 8;
	big[2] = (MAX_MESSAGE - 2) & 0xff;
	call_msg(&m, &a, 2);
	m.args = big;
	m.argslen = MAX_MESSAGE + 1;
	serve_call(serve, &m, m.origin);
	ck_assert_uint_eq(nanswered(), 1);
	failed_with(0, &a, 2, PEER_RESOURCE_EXHAUSTED);
	no_invoke_at(app);
}
END_TEST

START_TEST(test_deadline_cancels_at_the_app)
{
	struct client	*app = app_open("echo", "");
	uint64_t	 late, kept;

	call(&a, 1, 50);
	late = invoked(app);
	call(&a, 2, 5000);
	kept = invoked(app);
	cancelled_at(app, late, "deadline");
	/* The caller's node answers its client itself: nothing from here. */
	ck_assert_uint_eq(nanswered(), 0);
	app_result(app, late);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 0);
	/* The other call is still open. */
	app_result(app, kept);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &a, 2), PEER_OK);
	ck_assert_uint_eq(stats().by_code[PEER_DEADLINE_EXCEEDED], 1);
	ck_assert_uint_eq(stats().by_code[PEER_OK], 1);
}
END_TEST

START_TEST(test_caller_cancel)
{
	struct client	*app = app_open("echo", "");
	struct callmsg	 m;
	uint64_t	 ia, ib;

	/* Two calls numbered 7, by different callers. */
	call(&a, 7, 5000);
	ia = invoked(app);
	call(&b, 7, 5000);
	ib = invoked(app);
	call_msg(&m, &a, 7);
	m.type = CALLMSG_CANCEL;
	serve_cancel(serve, &m);
	cancelled_at(app, ia, "cancelled by the caller");
	/* Only that one; a cancel of a call not open does nothing. */
	call_msg(&m, &a, 8);
	m.type = CALLMSG_CANCEL;
	serve_cancel(serve, &m);
	app_result(app, ia);
	app_result(app, ib);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &b, 7), PEER_OK);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 1);
	no_cancelled_at(app);
	ck_assert_uint_eq(stats().by_code[PEER_CANCELLED], 1);
	ck_assert_uint_eq(stats().by_code[PEER_OK], 1);
}
END_TEST

START_TEST(test_app_gone_answers_unavailable)
{
	struct client	*app = app_open("echo", "");
	struct client	*other = app_open("other", "");
	struct callmsg	 m;
	uint64_t	 iid;

	call(&a, 1, 5000);
	(void)invoked(app);
	call(&b, 3, 5000);
	(void)invoked(app);
	call_msg(&m, &a, 2);
	strcpy(m.service, "other");
	serve_call(serve, &m, m.origin);
	iid = invoked(other);
	app_close(app);
	wait_gone(1);
	/* Each of its calls fails at its own caller, the other's stays. */
	wait_answers(2);
	ck_assert_uint_eq(fake_route_nfails(route), 0);
	ck_assert_int_eq(answer_for(&a, 1), PEER_UNAVAILABLE);
	ck_assert_int_eq(answer_for(&b, 3), PEER_UNAVAILABLE);
	app_result(other, iid);
	wait_answers(3);
	ck_assert_int_eq(answer_for(&a, 2), PEER_OK);
}
END_TEST

/* Two calls from a and one from b, open at app; their numbers. */
static void
calls_from_a_and_b(struct client *app, uint64_t *a1, uint64_t *a2,
    uint64_t *b1)
{
	call(&a, 1, 5000);
	*a1 = invoked(app);
	call(&b, 2, 5000);
	*b1 = invoked(app);
	call(&a, 3, 5000);
	*a2 = invoked(app);
}

/* The calls of a were ended by its death; b's is still open. */
static void
only_b_remains(struct client *app, uint64_t a1, uint64_t a2, uint64_t b1)
{
	cancelled_at(app, a1, "the caller's node died");
	cancelled_at(app, a2, "the caller's node died");
	app_result(app, a1);
	app_result(app, a2);
	app_result(app, b1);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &b, 2), PEER_OK);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 1);
	no_cancelled_at(app);
}

START_TEST(test_dead_caller_node)
{
	struct client	*app = app_open("echo", "");
	uint64_t	 a1, a2, b1;

	calls_from_a_and_b(app, &a1, &a2, &b1);
	/* Suspect is still live: its calls go on. */
	ck_assert(members_suspect(members, a.pk, 1, 0, 1000));
	serve_member(serve, members_get(members, a.pk));
	app_result(app, a1);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &a, 1), PEER_OK);
	/* Dead: the rest of them end, unanswered. */
	ck_assert(members_dead(members, a.pk, 1, 0));
	serve_member(serve, members_get(members, a.pk));
	cancelled_at(app, a2, "the caller's node died");
	app_result(app, a2);
	app_result(app, b1);
	wait_answers(2);
	ck_assert_int_eq(answer_to(1, &b, 2), PEER_OK);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 2);
	no_cancelled_at(app);
}
END_TEST

START_TEST(test_caller_node_left)
{
	struct client	*app = app_open("echo", "");
	struct record	 r;
	struct member	*m;
	uint64_t	 a1, a2, b1;

	calls_from_a_and_b(app, &a1, &a2, &b1);
	/* A newer record of b, still alive, ends nothing. */
	tnode_record(&b, 2, &r);
	serve_member(serve, tnode_offer(members, &b, &r));
	tnode_record(&a, 2, &r);
	r.left = true;
	m = tnode_offer(members, &a, &r);
	ck_assert_int_eq(m->state, MEMBER_LEFT);
	serve_member(serve, m);
	only_b_remains(app, a1, a2, b1);
}
END_TEST

START_TEST(test_forgotten_caller_node)
{
	struct client	*app = app_open("echo", "");
	uint64_t	 a1, a2, b1;

	calls_from_a_and_b(app, &a1, &a2, &b1);
	serve_forget(serve, a.pk);
	only_b_remains(app, a1, a2, b1);
}
END_TEST

START_TEST(test_own_node_leaving_keeps_local_calls)
{
	struct client	*app = app_open("echo", "");
	struct cbor_buf	 raw = { 0 };
	struct record	 r;
	uint64_t	 iid;

	call(&self, 1, 5000);
	iid = invoked(app);
	tnode_record(&self, 2, &r);
	r.left = true;
	tnode_sign(&self, &r, &raw);
	ck_assert_int_eq(members_set_self(members, raw.data, raw.len, 0), 0);
	cbor_buf_free(&raw);
	ck_assert_int_eq(members_self(members)->state, MEMBER_LEFT);
	serve_member(serve, members_self(members));
	app_result(app, iid);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &self, 1), PEER_OK);
	no_cancelled_at(app);
}
END_TEST

START_TEST(test_oneway_is_not_kept)
{
	struct client		*app = app_open("echo", "");
	const struct ctl_msg	*inv;
	const struct cbor_field	*f;
	struct callmsg		 m;
	uint64_t		 ow, last;
	bool			 v = false;

	call_msg(&m, &a, 1);
	m.oneway = true;
	m.timeout_ms = 20;
	serve_call(serve, &m, m.origin);
	inv = invoke_at(app);
	ow = msg_uint(inv, "call");
	f = ctl_msg_get(inv, "oneway");
	ck_assert_ptr_nonnull(f);
	ck_assert(cbor_read_bool(f->val, f->vallen, &v) && v);
	/* No reply is wanted, and a cancel finds nothing. */
	app_result(app, ow);
	serve_cancel(serve, &m);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 0);
	/* Its deadline passes unremarked, before this one's does. */
	call(&a, 2, 60);
	last = invoked(app);
	cancelled_at(app, last, "deadline");
	no_cancelled_at(app);
	/* Nor is it failed when the app goes. */
	call_msg(&m, &b, 3);
	m.oneway = true;
	serve_call(serve, &m, m.origin);
	(void)invoked(app);
	app_close(app);
	wait_gone(1);
	ck_assert_uint_eq(nanswered(), 0);
	/* Notifies are not counted: only the call that timed out is. */
	ck_assert_uint_eq(stats().latency.count, 1);
	ck_assert_uint_eq(stats().by_code[PEER_DEADLINE_EXCEEDED], 1);
}
END_TEST

/* Each malformed reply closes its app, with an id-0 error. */
START_TEST(test_malformed_reply_closes_the_app)
{
	struct cbor_buf		 err = { 0 }, junk = { 0 };
	const struct ctl_msg	*m;
	struct client		*app;
	char			 why[256];
	uint64_t		 iid;
	int			 i;

	ctl_put_error_value(&err, PEER_UNKNOWN, "bad", 3, NULL, 0);
	cbor_put_text(&junk, "not an error");
	for (i = 0; i < 4; i++) {
		app = app_open("echo", "");
		call(&a, 10 + i, 5000);
		iid = invoked(app);
		switch (i) {
		case 0:		/* no call */
			app_send_reply(app, false, 0, RESULT, sizeof(RESULT),
			    NULL, 0);
			break;
		case 1:		/* both */
			app_send_reply(app, true, iid, RESULT, sizeof(RESULT),
			    err.data, err.len);
			break;
		case 2:		/* neither */
			app_send_reply(app, true, iid, NULL, 0, NULL, 0);
			break;
		case 3:		/* an error that is not one */
			app_send_reply(app, true, iid, NULL, 0, junk.data,
			    junk.len);
			break;
		}
		m = client_reply(app, base, 0, WAIT);
		ck_assert_msg(m != NULL, "malformed reply %d: no id-0 error",
		    i);
		ck_assert_int_eq(reply_code(m, why, sizeof(why)),
		    PEER_INVALID_ARGUMENT);
		ck_assert_ptr_nonnull(strstr(why, "malformed reply"));
		ck_assert(client_closed(app, base, WAIT));
		/* Its open call fails at the caller. */
		wait_answers((size_t)i + 1);
		ck_assert_int_eq(answer_to((size_t)i, &a, 10 + i),
		    PEER_UNAVAILABLE);
		app_close(app);
	}
	cbor_buf_free(&err);
	cbor_buf_free(&junk);
}
END_TEST

START_TEST(test_reply_for_another_apps_call_ignored)
{
	struct client	*app = app_open("echo", "");
	struct client	*other = app_open("other", "");
	uint64_t	 iid;

	call(&a, 1, 5000);
	iid = invoked(app);
	app_result(other, iid);
	app_sync(other);
	ck_assert_uint_eq(nanswered(), 0);
	/* Still open, for its own app to answer. */
	app_result(app, iid);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &a, 1), PEER_OK);
	/* A number never sent is as harmless. */
	app_result(other, iid + 100);
	app_sync(other);
	ck_assert_uint_eq(nanswered(), 1);
}
END_TEST

START_TEST(test_providers_take_turns)
{
	struct client	*app1 = app_open("echo", "");
	struct client	*app2 = app_open("echo", "");
	uint64_t	 i1, i2, j1, j2;

	call(&a, 1, 5000);
	call(&a, 2, 5000);
	call(&a, 3, 5000);
	call(&a, 4, 5000);
	i1 = invoked(app1);
	i2 = invoked(app1);
	j1 = invoked(app2);
	j2 = invoked(app2);
	no_invoke_at(app1);
	no_invoke_at(app2);
	/* Each answers its own. */
	app_result(app1, i1);
	app_result(app1, i2);
	app_result(app2, j1);
	app_result(app2, j2);
	wait_answers(4);
	ck_assert_uint_eq(fake_route_nfails(route), 0);
}
END_TEST

START_TEST(test_result_larger_than_max_message)
{
	struct client		*app = app_open("echo", "");
	static uint8_t		 big[MAX_MESSAGE + 1];
	static char		 longmsg[MAX_MESSAGE + 1];
	struct cbor_buf		 err = { 0 };
	const struct callmsg	*ans;
	char			 why[128];
	uint64_t		 iid;

	/* Exactly max_message bytes go through. */
	big[0] = 0x59;
	big[1] = (MAX_MESSAGE - 3) >> 8;
	big[2] = (MAX_MESSAGE - 3) & 0xff;
	call(&a, 1, 5000);
	iid = invoked(app);
	app_send_reply(app, true, iid, big, MAX_MESSAGE, NULL, 0);
	wait_answers(1);
	ck_assert_int_eq(answer_to(0, &a, 1), PEER_OK);
	ck_assert_uint_eq(fake_route_msg(route, 0)->resultlen, MAX_MESSAGE);
	/* One more does not: the caller hears why, the app nothing. */
	big[1] = (MAX_MESSAGE - 2) >> 8;
	big[2] = (MAX_MESSAGE - 2) & 0xff;
	call(&a, 2, 5000);
	iid = invoked(app);
	app_send_reply(app, true, iid, big, MAX_MESSAGE + 1, NULL, 0);
	wait_answers(2);
	ck_assert_int_eq(answer_to(1, &a, 2), PEER_RESOURCE_EXHAUSTED);
	ans = fake_route_msg(route, 1);
	snprintf(why, sizeof(why), "%.*s", (int)ans->err.msglen,
	    ans->err.msg);
	ck_assert_ptr_nonnull(strstr(why, "larger than max_message"));
	/* So with an error too large. */
	memset(longmsg, 'x', MAX_MESSAGE);
	ctl_put_error_value(&err, PEER_UNKNOWN, longmsg, MAX_MESSAGE,
	    CONTEXT, sizeof(CONTEXT));
	call(&a, 3, 5000);
	iid = invoked(app);
	app_send_reply(app, true, iid, NULL, 0, err.data, err.len);
	cbor_buf_free(&err);
	wait_answers(3);
	ck_assert_int_eq(answer_to(2, &a, 3), PEER_RESOURCE_EXHAUSTED);
	no_cancelled_at(app);
}
END_TEST

START_TEST(test_full_link_back)
{
	struct client	*app = app_open("echo", "");
	uint64_t	 full, nopath;

	call(&a, 4, 5000);
	full = invoked(app);
	fake_route_result(route, ROUTE_FULL);
	app_result(app, full);
	wait_answers(1);
	/* A short error instead, where the answer did not fit. */
	ck_assert_uint_eq(fake_route_nfails(route), 1);
	failed_with(0, &a, 4, PEER_RESOURCE_EXHAUSTED);
	/* Without a path back, the answer is lost. */
	fake_route_result(route, ROUTE_NO_PATH);
	call(&a, 5, 5000);
	nopath = invoked(app);
	app_result(app, nopath);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 1);
	/* Either way the invocation is over: another reply finds nothing. */
	fake_route_result(route, ROUTE_SENT);
	app_result(app, full);
	app_result(app, nopath);
	app_sync(app);
	ck_assert_uint_eq(nanswered(), 1);
	no_cancelled_at(app);
}
END_TEST

/* Appends a rule to the access the registry and serving hold. */
static void
add_rule(const char *text)
{
	struct access_rule	*r;
	char			 err[256];

	r = access_rule_parse(text, "t.conf", (int)access_count(rules) + 1,
	    err, sizeof(err));
	ck_assert_msg(r != NULL, "%s: %s", text, err);
	ck_assert_int_eq(access_add(rules, r), 0);
}

/* n's record again, newer, in group (as its config's group key says). */
static void
join_group(const struct tnode *n, uint64_t inc, const char *group)
{
	struct record	r;

	tnode_record(n, inc, &r);
	snprintf(r.groups[0], sizeof(r.groups[0]), "%s", group);
	r.ngroups = 1;
	tnode_offer(members, n, &r);
}

START_TEST(test_remote_rule_admits_node_groups)
{
	struct client	*app = app_open("echo", "");
	char		 want[256];

	join_group(&a, 2, "lab");
	join_group(&b, 2, "ops");
	add_rule("other remote=none");
	add_rule("echo remote=group:lab");
	call(&a, 1, 5000);
	ck_assert_uint_eq(invoked(app), 1);
	/* b is not in lab: refused before the app hears of it. */
	call(&b, 2, 5000);
	ck_assert_uint_eq(fake_route_nfails(route), 1);
	failed_with(0, &b, 2, PEER_PERMISSION_DENIED);
	snprintf(want, sizeof(want), "rule echo (t.conf:2) does not let node "
	    "%s call echo on self", b.idstr);
	ck_assert_str_eq(fake_route_fail(route, 0)->msg, want);
	no_invoke_at(app);
	ck_assert_uint_eq(access_denied(rules), 1);
}
END_TEST

START_TEST(test_remote_rule_by_node_id)
{
	struct client	*app = app_open("echo", "");
	char		 text[128];

	snprintf(text, sizeof(text), "echo remote=node:%s", b.idstr);
	add_rule(text);
	call(&b, 1, 5000);
	ck_assert_uint_eq(invoked(app), 1);
	call(&a, 2, 5000);
	failed_with(0, &a, 2, PEER_PERMISSION_DENIED);
	no_invoke_at(app);
}
END_TEST

START_TEST(test_unverified_origin_reaches_the_app_as_such)
{
	struct client		*app = app_open("echo", "");
	const struct ctl_msg	*m;
	struct callmsg		 cm;
	char			 buf[128];

	/* An old node's call, relayed by b: delivered, marked. */
	call_msg(&cm, &a, 1);
	cm.verified = false;
	serve_call(serve, &cm, b.pk);
	m = invoke_at(app);
	ck_assert_str_eq(msg_text(m, "from", buf, sizeof(buf)), a.idstr);
	ck_assert(!msg_bool(m, "verified"));
	/* Relayed and verified: said so. */
	call_msg(&cm, &a, 2);
	serve_call(serve, &cm, b.pk);
	ck_assert(msg_bool(invoke_at(app), "verified"));
	/* This node's own client: verified whatever route said. */
	call_msg(&cm, &self, 3);
	cm.verified = false;
	serve_call(serve, &cm, NULL);
	m = invoke_at(app);
	ck_assert_str_eq(msg_text(m, "from", buf, sizeof(buf)), self.idstr);
	ck_assert(msg_bool(m, "verified"));
	ck_assert_uint_eq(nanswered(), 0);
}
END_TEST

START_TEST(test_verified_origin_skips_the_relay_rule)
{
	struct client	*app = app_open("echo", "");
	struct callmsg	 m;

	join_group(&a, 2, "lab");
	add_rule("echo remote=group:lab");
	/* From a, in lab, verified, relayed by b, which is not: in. */
	call_msg(&m, &a, 1);
	serve_call(serve, &m, b.pk);
	ck_assert_uint_eq(invoked(app), 1);
	/* Verified from b, not in lab: refused, the origin named. */
	call_msg(&m, &b, 2);
	serve_call(serve, &m, a.pk);
	failed_with(0, &b, 2, PEER_PERMISSION_DENIED);
	ck_assert_ptr_nonnull(strstr(fake_route_fail(route, 0)->msg,
	    "does not let node "));
	no_invoke_at(app);
	ck_assert_uint_eq(access_denied(rules), 1);
}
END_TEST

START_TEST(test_remote_rule_checks_the_relay)
{
	struct client	*app = app_open("echo", "");
	struct callmsg	 m;
	char		 want[256];

	join_group(&a, 2, "lab");
	add_rule("echo remote=group:lab");
	/*
	 * Unverified origins (an old node's calls) are taken on the word
	 * of their relay.  From a, in lab, relayed by b, which is not:
	 * refused.
	 */
	call_msg(&m, &a, 1);
	m.verified = false;
	serve_call(serve, &m, b.pk);
	failed_with(0, &a, 1, PEER_PERMISSION_DENIED);
	snprintf(want, sizeof(want), "rule echo (t.conf:1) does not let relay "
	    "node %s call echo on self", b.idstr);
	ck_assert_str_eq(fake_route_fail(route, 0)->msg, want);
	/* From b relayed by a: the origin is named. */
	call_msg(&m, &b, 2);
	m.verified = false;
	serve_call(serve, &m, a.pk);
	failed_with(1, &b, 2, PEER_PERMISSION_DENIED);
	ck_assert_ptr_nonnull(strstr(fake_route_fail(route, 1)->msg,
	    "does not let node "));
	no_invoke_at(app);
	/* Both in lab: in. */
	join_group(&b, 2, "lab");
	call_msg(&m, &a, 3);
	m.verified = false;
	serve_call(serve, &m, b.pk);
	ck_assert_uint_eq(invoked(app), 1);
	ck_assert_uint_eq(access_denied(rules), 2);
}
END_TEST

START_TEST(test_local_calls_skip_the_remote_rule)
{
	struct client	*app;
	struct callmsg	 m;

	/* Root registers, whatever serve= says. */
	add_rule("echo serve=none call=none remote=none");
	app = app_open("echo", "");
	/* A call of this node's own client: the call rule was its check. */
	call_msg(&m, &self, 1);
	serve_call(serve, &m, NULL);
	ck_assert_uint_eq(invoked(app), 1);
	ck_assert_uint_eq(fake_route_nfails(route), 0);
	ck_assert_uint_eq(access_denied(rules), 0);
}
END_TEST

START_TEST(test_remote_rule_oneway)
{
	struct client	*app = app_open("echo", "");
	struct callmsg	 m;

	add_rule("echo remote=none");
	/* A notify is dropped, unanswered, and counted. */
	call_msg(&m, &a, 0);
	m.oneway = true;
	serve_call(serve, &m, m.origin);
	no_invoke_at(app);
	ck_assert_uint_eq(nanswered(), 0);
	ck_assert_uint_eq(access_denied(rules), 1);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("serve");
	TCase	*tc = tcase_create("serve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_call_becomes_invoke);
	tcase_add_test(tc, test_invoke_without_args);
	tcase_add_test(tc, test_invoke_names_the_group);
	tcase_add_test(tc, test_result_goes_back_to_the_caller);
	tcase_add_test(tc, test_error_keeps_code_message_context);
	tcase_add_test(tc, test_no_provider_is_not_found);
	tcase_add_test(tc, test_no_time_left);
	tcase_add_test(tc, test_args_larger_than_max_message);
	tcase_add_test(tc, test_deadline_cancels_at_the_app);
	tcase_add_test(tc, test_caller_cancel);
	tcase_add_test(tc, test_app_gone_answers_unavailable);
	tcase_add_test(tc, test_dead_caller_node);
	tcase_add_test(tc, test_caller_node_left);
	tcase_add_test(tc, test_forgotten_caller_node);
	tcase_add_test(tc, test_own_node_leaving_keeps_local_calls);
	tcase_add_test(tc, test_oneway_is_not_kept);
	tcase_add_test(tc, test_malformed_reply_closes_the_app);
	tcase_add_test(tc, test_reply_for_another_apps_call_ignored);
	tcase_add_test(tc, test_providers_take_turns);
	tcase_add_test(tc, test_result_larger_than_max_message);
	tcase_add_test(tc, test_full_link_back);
	tcase_add_test(tc, test_remote_rule_admits_node_groups);
	tcase_add_test(tc, test_remote_rule_by_node_id);
	tcase_add_test(tc, test_unverified_origin_reaches_the_app_as_such);
	tcase_add_test(tc, test_verified_origin_skips_the_relay_rule);
	tcase_add_test(tc, test_remote_rule_checks_the_relay);
	tcase_add_test(tc, test_local_calls_skip_the_remote_rule);
	tcase_add_test(tc, test_remote_rule_oneway);
	suite_add_tcase(s, tc);
	return s;
}
