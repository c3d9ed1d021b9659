/* SPDX-License-Identifier: ISC */
/*
 * test_route.c: route.c against a fake mesh and fake links.  The rules:
 * a message for this node goes to whoever takes its type; others take
 * the direct link, else the link their record came by, else (that link
 * gone, or where they came from) any other at random, never back where
 * they came from; a relay spends one hop, and
 * answers a call it cannot pass on (no hops left, deadline passed, no
 * path, a full link) with an error towards the caller.  A call marks
 * the link it takes used; a kv message does not.
 */
#include <string.h>

#include <check.h>

#include "callmsg.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "route.h"

static struct tnode	 self, a, b, c, far;
static struct members	*members;
static struct mesh	*mesh;
static struct route	*route;
static struct link	*la, *lb, *lc;
static struct callmsg	 got;
static uint8_t		 got_via[NODE_ID_LEN];	/* zero: none */
static int		 ngot;

static void
take(void *arg, const struct callmsg *m, const uint8_t *via)
{
	(void)arg;
	got = *m;
	if (via != NULL)
		memcpy(got_via, via, NODE_ID_LEN);
	else
		memset(got_via, 0, NODE_ID_LEN);
	ngot++;
}

static void
setup(void)
{
	struct route_params	 p;
	struct record		 r;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&far, "far");
	members = tnode_members(&self);
	tnode_record(&a, 1, &r);
	tnode_offer(members, &a, &r);
	tnode_record(&b, 1, &r);
	tnode_offer(members, &b, &r);
	tnode_record(&c, 1, &r);
	tnode_offer(members, &c, &r);
	tnode_record(&far, 1, &r);
	tnode_offer(members, &far, &r);
	mesh = fake_mesh_new();
	la = fake_link_new(a.pk, "a", true);
	lb = fake_link_new(b.pk, "b", true);
	lc = fake_link_new(c.pk, "c", true);
	fake_mesh_add(mesh, la);
	fake_mesh_add(mesh, lb);
	fake_mesh_add(mesh, lc);
	p.self = self.pk;
	p.name = "self";
	p.max_message = 1 << 20;
	route = route_new(&p, mesh, members);
	ck_assert_ptr_nonnull(route);
	route_deliver(route, CALLMSG_CALL, take, NULL);
	route_deliver(route, CALLMSG_ANSWER, take, NULL);
	ngot = 0;
}

static void
teardown(void)
{
	route_free(route);
	fake_mesh_free(mesh);
	members_free(members);
}

/* A call from origin to provider, as a link would carry it. */
static void
call_msg(struct callmsg *m, const struct tnode *origin,
    const struct tnode *provider)
{
	memset(m, 0, sizeof(*m));
	m->type = CALLMSG_CALL;
	memcpy(m->origin, origin->pk, NODE_ID_LEN);
	memcpy(m->provider, provider->pk, NODE_ID_LEN);
	m->cid = 77;
	m->hops = CALLMSG_HOPS;
	strcpy(m->service, "echo");
	strcpy(m->method, "say");
	m->timeout_ms = 1000;
}

/* m arrives on link l, through route's handler for its type. */
static void
arrive(struct link *l, const struct callmsg *m)
{
	struct cbor_buf			 buf = { 0 };
	const struct mesh_handler	*h;
	struct linkmsg			 lm;

	callmsg_encode(&buf, m);
	ck_assert(!buf.failed);
	ck_assert_int_eq(linkmsg_decode(buf.data, buf.len, &lm), 0);
	for (h = route_handlers; h->type != NULL; h++)
		if (strcmp(h->type, lm.type) == 0)
			break;
	ck_assert_msg(h->type != NULL, "route takes no %s", lm.type);
	h->fn(route, l, lm.type, lm.f, lm.nf);
	cbor_buf_free(&buf);
}

/* The one call message sent on l, decoded into *m. */
static void
sent_on(struct link *l, struct callmsg *m, struct linkmsg *lm)
{
	const char	*why;

	ck_assert_uint_eq(fake_link_nsent(l), 1);
	ck_assert(fake_link_sent_msg(l, 0, lm));
	ck_assert_int_eq(callmsg_decode(lm->type, lm->f, lm->nf, m, &why), 0);
}

START_TEST(test_local_delivery_by_type)
{
	struct callmsg	m;
	uint8_t		zero[NODE_ID_LEN];

	memset(zero, 0, sizeof(zero));
	call_msg(&m, &a, &self);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got.type, CALLMSG_CALL);
	/* Sent here by this node: no link peer. */
	ck_assert_mem_eq(got_via, zero, NODE_ID_LEN);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	/* From a link too, with its peer; a type nobody takes is dropped. */
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 2);
	ck_assert_mem_eq(got_via, b.pk, NODE_ID_LEN);
	m.type = CALLMSG_CANCEL;
	arrive(la, &m);
	ck_assert_int_eq(ngot, 2);
}
END_TEST

START_TEST(test_direct_link_first)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	route_heard(route, b.pk, a.pk);		/* a record said: via a */
	call_msg(&m, &self, &b);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	sent_on(lb, &out, &lm);
	ck_assert_uint_eq(out.cid, 77);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
}
END_TEST

START_TEST(test_relay_via_record)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	route_heard(route, far.pk, b.pk);
	call_msg(&m, &self, &far);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	sent_on(lb, &out, &lm);
	ck_assert_mem_eq(out.provider, far.pk, NODE_ID_LEN);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lc), 0);
	/* A newer record came by c: that way now. */
	route_heard(route, far.pk, c.pk);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(lc), 1);
}
END_TEST

START_TEST(test_any_other_link_when_via_gone)
{
	struct callmsg	m;
	int		i;

	route_heard(route, far.pk, b.pk);
	fake_mesh_remove(mesh, lb);
	call_msg(&m, &self, &far);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lc), 1);
	/*
	 * Each message picks afresh, at random: not all one way, which
	 * could be a relay that sends them back.  Both links in 64 sends
	 * but once in 2^63.
	 */
	for (i = 1; i < 64; i++)
		ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lc), 64);
	ck_assert_uint_gt(fake_link_nsent(la), 0);
	ck_assert_uint_gt(fake_link_nsent(lc), 0);
	/* Forgotten: no member, no way. */
	route_forget(route, far.pk);
	members_clear(members);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_NO_PATH);
}
END_TEST

START_TEST(test_never_back_where_it_came_from)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	/*
	 * far's record came by a, and the call comes from a too: a sent
	 * it here as its way to far, so another link takes it.
	 */
	route_heard(route, far.pk, a.pk);
	call_msg(&m, &b, &far);
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	sent_on(fake_link_nsent(lb) > 0 ? lb : lc, &out, &lm);
	ck_assert_int_eq(out.type, CALLMSG_CALL);
	ck_assert_mem_eq(out.provider, far.pk, NODE_ID_LEN);
	/* Nowhere else to go: the caller hears why, by a's link. */
	fake_mesh_remove(mesh, lb);
	fake_mesh_remove(mesh, lc);
	arrive(la, &m);
	sent_on(la, &out, &lm);
	ck_assert_int_eq(out.type, CALLMSG_ANSWER);
	ck_assert_int_eq(out.err.code, PEER_UNAVAILABLE);
	ck_assert_mem_eq(out.origin, b.pk, NODE_ID_LEN);
}
END_TEST

START_TEST(test_relay_spends_a_hop)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	call_msg(&m, &a, &c);
	m.hops = 5;
	arrive(la, &m);
	sent_on(lc, &out, &lm);
	ck_assert_uint_eq(out.hops, 4);
}
END_TEST

START_TEST(test_no_hops_left)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	call_msg(&m, &a, &c);
	m.hops = 0;
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(lc), 0);
	/* The caller (a) is answered UNAVAILABLE over a's link. */
	sent_on(la, &out, &lm);
	ck_assert_int_eq(out.type, CALLMSG_ANSWER);
	ck_assert_int_eq(out.err.code, PEER_UNAVAILABLE);
	ck_assert_uint_eq(out.cid, 77);
	ck_assert_mem_eq(out.origin, a.pk, NODE_ID_LEN);
}
END_TEST

START_TEST(test_deadline_passed_on_the_way)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	call_msg(&m, &a, &c);
	m.timeout_ms = 0;
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(lc), 0);
	sent_on(la, &out, &lm);
	ck_assert_int_eq(out.err.code, PEER_DEADLINE_EXCEEDED);
}
END_TEST

START_TEST(test_full_link)
{
	struct callmsg	m, out;
	struct linkmsg	lm;

	fake_link_queue(lc, 3u << 20);
	call_msg(&m, &a, &c);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_FULL);
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(lc), 0);
	sent_on(la, &out, &lm);
	ck_assert_int_eq(out.err.code, PEER_RESOURCE_EXHAUSTED);
	/* An answer for c on the full link is dropped, not answered. */
	call_msg(&m, &c, &b);
	m.type = CALLMSG_ANSWER;
	m.err.code = PEER_UNKNOWN;
	m.err.msg = "no";
	m.err.msglen = 2;
	arrive(lb, &m);
	ck_assert_uint_eq(fake_link_nsent(lb) + fake_link_nsent(lc), 0);
}
END_TEST

/* A kv message is relayed as an event is: on, or dropped unanswered. */
START_TEST(test_kv_relayed_never_answered)
{
	static const uint8_t	 body[] = { 0xa1, 0x61, 'k', 0x61, 'r' };
	struct callmsg		 m, out;
	struct linkmsg		 lm;

	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_KV;
	memcpy(m.origin, a.pk, NODE_ID_LEN);
	memcpy(m.provider, c.pk, NODE_ID_LEN);
	m.cid = 9;
	m.hops = 5;
	m.args = body;
	m.argslen = sizeof(body);
	arrive(la, &m);
	sent_on(lc, &out, &lm);
	ck_assert_str_eq(lm.type, "kv");
	ck_assert_int_eq(out.type, CALLMSG_KV);
	ck_assert_uint_eq(out.hops, 4);
	ck_assert_uint_eq(out.cid, 9);
	ck_assert_uint_eq(out.argslen, sizeof(body));
	ck_assert_mem_eq(out.args, body, sizeof(body));
	fake_link_forget_sent(lc);

	/* No hops left, no path, a full link: dropped, nobody answered. */
	m.hops = 0;
	arrive(la, &m);
	fake_link_queue(lc, 3u << 20);
	m.hops = 5;
	arrive(la, &m);
	memcpy(m.provider, far.pk, NODE_ID_LEN);
	route_forget(route, far.pk);
	members_clear(members);
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);

	/* For this node: to whoever takes kv messages. */
	route_deliver(route, CALLMSG_KV, take, NULL);
	memcpy(m.provider, self.pk, NODE_ID_LEN);
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got.type, CALLMSG_KV);
	ck_assert_mem_eq(got_via, b.pk, NODE_ID_LEN);
}
END_TEST

/* Calls keep the link they take from being shed; kv messages do not. */
START_TEST(test_quiet_send_leaves_links_unused)
{
	static const uint8_t	 body[] = { 0xa1, 0x61, 'k', 0x61, 'd' };
	struct callmsg		 m;

	ck_assert_int_eq(link_used_ms(lb), 0);
	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_KV;
	memcpy(m.origin, self.pk, NODE_ID_LEN);
	memcpy(m.provider, b.pk, NODE_ID_LEN);
	m.hops = CALLMSG_HOPS;
	m.args = body;
	m.argslen = sizeof(body);
	ck_assert_int_eq(route_send_quiet(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	ck_assert_int_eq(link_used_ms(lb), 0);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(lb), 2);
	ck_assert_int_gt(link_used_ms(lb), 0);
}
END_TEST

START_TEST(test_oneway_failure_unanswered)
{
	struct callmsg	m;

	call_msg(&m, &a, &c);
	m.hops = 0;
	m.oneway = true;
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("route");
	TCase	*tc = tcase_create("route");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_local_delivery_by_type);
	tcase_add_test(tc, test_direct_link_first);
	tcase_add_test(tc, test_relay_via_record);
	tcase_add_test(tc, test_any_other_link_when_via_gone);
	tcase_add_test(tc, test_never_back_where_it_came_from);
	tcase_add_test(tc, test_relay_spends_a_hop);
	tcase_add_test(tc, test_no_hops_left);
	tcase_add_test(tc, test_deadline_passed_on_the_way);
	tcase_add_test(tc, test_full_link);
	tcase_add_test(tc, test_oneway_failure_unanswered);
	tcase_add_test(tc, test_kv_relayed_never_answered);
	tcase_add_test(tc, test_quiet_send_leaves_links_unused);
	suite_add_tcase(s, tc);
	return s;
}
