/* SPDX-License-Identifier: ISC */
/*
 * test_route.c: route.c against a fake mesh and fake links.  The rules:
 * a message for this node goes to whoever takes its type; others take
 * the direct link, else the link their record came by, else (that link
 * gone, or where they came from) any other at random, never back where
 * they came from; a relay spends one hop, and
 * answers a call it cannot pass on (no hops left, deadline passed, no
 * path, a full link) with an error towards the caller.  A call marks
 * the link it takes used; a kv message does not.  Origins: what this
 * node sends through a relay is sealed, on the addressee's own link
 * not; what comes for it is opened (forged, replayed and unsealed ones
 * relayed are dropped); a relay passes q, x, by and e on byte for
 * byte, and its own answers say by.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "callmsg.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "originauth.h"
#include "pairkey.h"
#include "route.h"

/* A node's origin authentication: self's is route's, others' the test's. */
struct auth {
	struct identity		 id;
	struct pairkey		*keys;
	struct originauth	*oa;
};

static struct tnode	 self, a, b, c, far;
static struct auth	 self_auth, a_auth, b_auth, far_auth;
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

/* Self's view: the member table's records. */
static bool
record_of(void *arg, const uint8_t *id, bool *auth, uint64_t *started)
{
	const struct member	*m;

	(void)arg;
	if ((m = members_get(members, id)) == NULL)
		return false;
	*auth = m->rec.auth;
	*started = m->rec.started_at;
	return true;
}

/* The other nodes hold no records: their windows start at 0. */
static bool
no_record(void *arg, const uint8_t *id, bool *auth, uint64_t *started)
{
	(void)arg;
	(void)id;
	(void)auth;
	(void)started;
	return false;
}

static void
auth_new(struct auth *au, const struct tnode *n, bool mine)
{
	struct originauth_params	p;

	memset(au, 0, sizeof(*au));
	memcpy(au->id.pk, n->pk, NODE_ID_LEN);
	memcpy(au->id.sk, n->sk, sizeof(au->id.sk));
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(au->id.x_sk,
	    au->id.sk), 0);
	ck_assert_ptr_nonnull(au->keys = pairkey_new(&au->id, 16));
	p = (struct originauth_params){ n->pk, false, 16,
	    mine ? record_of : no_record, NULL, NULL };
	ck_assert_ptr_nonnull(au->oa = originauth_new(&p, au->keys));
}

static void
auth_free(struct auth *au)
{
	originauth_free(au->oa);
	pairkey_free(au->keys);
}

/* A member of this version: its record says it seals. */
static void
offer(const struct tnode *n)
{
	struct record	r;

	tnode_record(n, 1, &r);
	r.auth = true;
	tnode_offer(members, n, &r);
}

static void
setup(void)
{
	struct route_params	 p;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&far, "far");
	members = tnode_members(&self);
	offer(&a);
	offer(&b);
	offer(&c);
	offer(&far);
	auth_new(&self_auth, &self, true);
	auth_new(&a_auth, &a, false);
	auth_new(&b_auth, &b, false);
	auth_new(&far_auth, &far, false);
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
	p.oa = self_auth.oa;
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
	auth_free(&self_auth);
	auth_free(&a_auth);
	auth_free(&b_auth);
	auth_free(&far_auth);
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
	ck_assert(got.verified);
	/*
	 * From a link too, with its peer (the origin's own link: proven
	 * by the link); a type nobody takes is dropped.
	 */
	arrive(la, &m);
	ck_assert_int_eq(ngot, 2);
	ck_assert_mem_eq(got_via, a.pk, NODE_ID_LEN);
	ck_assert(got.verified);
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
	call_msg(&m, &self, &c);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_FULL);
	call_msg(&m, &a, &c);
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
	arrive(la, &m);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got.type, CALLMSG_KV);
	ck_assert_mem_eq(got_via, a.pk, NODE_ID_LEN);
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

/* The bytes of message i sent on l. */
static void
sent_bytes(struct link *l, size_t i, struct cbor_buf *out)
{
	const uint8_t	*p;
	size_t		 len;

	p = fake_link_sent(l, i, &len);
	cbor_buf_reset(out);
	cbor_put_raw(out, p, len);
}

/* Decodes bytes as a call message (spans point into them). */
static void
decode_bytes(const struct cbor_buf *bytes, struct callmsg *m)
{
	struct linkmsg	 lm;
	const char	*why;

	ck_assert_int_eq(linkmsg_decode(bytes->data, bytes->len, &lm), 0);
	ck_assert_int_eq(callmsg_decode(lm.type, lm.f, lm.nf, m, &why), 0);
}

/* Through a relay a message made here is sealed; on the link to its
 * addressee it is not. */
START_TEST(test_seal_through_relay)
{
	struct cbor_buf	 bytes = { 0 };
	struct callmsg	 m, out;
	struct linkmsg	 lm;

	call_msg(&m, &self, &b);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	sent_on(lb, &out, &lm);
	ck_assert(!out.has_mac);

	route_heard(route, far.pk, b.pk);
	call_msg(&m, &self, &far);
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(lb), 2);
	sent_bytes(lb, 1, &bytes);
	decode_bytes(&bytes, &out);
	ck_assert(out.has_mac);
	ck_assert(!out.has_by);
	/* far opens it as having come from the relay b. */
	ck_assert_int_eq(originauth_open(far_auth.oa, &out, b.pk), OA_OK);
	ck_assert_int_eq(originauth_open(far_auth.oa, &out, b.pk), OA_REPLAY);
	/* Each message its own q: the next one opens too. */
	ck_assert_int_eq(route_send(route, &m, NULL), ROUTE_SENT);
	sent_bytes(lb, 2, &bytes);
	decode_bytes(&bytes, &out);
	ck_assert_int_eq(originauth_open(far_auth.oa, &out, b.pk), OA_OK);
	/* A kv message, the same. */
	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_KV;
	memcpy(m.origin, self.pk, NODE_ID_LEN);
	memcpy(m.provider, far.pk, NODE_ID_LEN);
	m.hops = CALLMSG_HOPS;
	m.args = (const uint8_t *)"\xa0";
	m.argslen = 1;
	ck_assert_int_eq(route_send_quiet(route, &m, NULL), ROUTE_SENT);
	sent_bytes(lb, 3, &bytes);
	decode_bytes(&bytes, &out);
	ck_assert_int_eq(originauth_open(far_auth.oa, &out, b.pk), OA_OK);
	cbor_buf_free(&bytes);
}
END_TEST

/* Sealed by far for self, as the link to b brings it. */
static void
sealed_call(struct callmsg *m, struct auth *by, const struct tnode *origin)
{
	call_msg(m, origin, &self);
	ck_assert_int_eq(originauth_seal(by->oa, m), 0);
}

START_TEST(test_open_for_self)
{
	struct callmsg	m;
	struct oa_stats	st;

	/* far's own call, through b: proven. */
	sealed_call(&m, &far_auth, &far);
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	ck_assert(got.verified);
	ck_assert_mem_eq(got_via, b.pk, NODE_ID_LEN);
	/* b replays it. */
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	/* b changes a byte of what it carries. */
	sealed_call(&m, &far_auth, &far);
	strcpy(m.method, "sax");
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	/* b sends one as far's, with no MAC or under its own key. */
	call_msg(&m, &far, &self);
	arrive(lb, &m);
	sealed_call(&m, &b_auth, &far);
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	/* b's own, on b's link: the link proves it. */
	call_msg(&m, &b, &self);
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 2);
	ck_assert(got.verified);
	/* Nothing answered the forgeries. */
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	originauth_stats(self_auth.oa, &st);
	ck_assert_uint_eq(st.dropped, 4);
	ck_assert_uint_eq(st.opened[CALLMSG_CALL][OA_REPLAY], 1);
	ck_assert_uint_eq(st.opened[CALLMSG_CALL][OA_BAD_MAC], 2);
	ck_assert_uint_eq(st.opened[CALLMSG_CALL][OA_NO_MAC], 1);
}
END_TEST

/* An old node's record (no "auth"): unsealed and relayed is taken, not
 * proven. */
START_TEST(test_open_old_node)
{
	struct callmsg	m;
	struct record	r;

	tnode_record(&far, 2, &r);
	tnode_offer(members, &far, &r);
	call_msg(&m, &far, &self);
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 1);
	ck_assert(!got.verified);
}
END_TEST

/*
 * A relay passes q, x, by and e on as they came (e in an order and with
 * a code of its own), and the addressee opens what it passed on.
 */
START_TEST(test_relay_keeps_auth_bytes)
{
	struct cbor_buf	 e = { 0 }, want = { 0 }, got_b = { 0 };
	struct callmsg	 m, out;
	struct auth	 c_auth;

	auth_new(&c_auth, &c, false);
	cbor_put_map(&e, 3);
	cbor_put_text(&e, "message");
	cbor_put_text(&e, "later");
	cbor_put_text(&e, "code");
	cbor_put_text(&e, "A_NEWER_CODE");
	cbor_put_text(&e, "x-extra");
	cbor_put_uint(&e, 7);
	ck_assert(!e.failed);
	/* a answers c's call, relayed by self; by says a (not its p). */
	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_ANSWER;
	memcpy(m.origin, c.pk, NODE_ID_LEN);
	memcpy(m.provider, far.pk, NODE_ID_LEN);
	memcpy(m.by, a.pk, NODE_ID_LEN);
	m.has_by = true;
	m.cid = 5;
	m.hops = 7;
	m.errraw = e.data;
	m.errrawlen = e.len;
	m.err.code = PEER_UNAVAILABLE;
	m.err.msg = "later";
	m.err.msglen = 5;
	ck_assert_int_eq(originauth_seal(a_auth.oa, &m), 0);
	m.hops--;
	callmsg_encode(&want, &m);
	m.hops++;
	arrive(la, &m);
	ck_assert_uint_eq(fake_link_nsent(lc), 1);
	sent_bytes(lc, 0, &got_b);
	/* The same bytes but the one hop spent. */
	ck_assert_uint_eq(got_b.len, want.len);
	ck_assert_mem_eq(got_b.data, want.data, want.len);
	decode_bytes(&got_b, &out);
	ck_assert_int_eq(out.err.code, PEER_UNKNOWN);
	/* An unknown code: only a provider's answer may carry it. */
	ck_assert_int_eq(originauth_open(c_auth.oa, &out, self.pk),
	    OA_RELAY_ANSWER);
	/* The provider's own, with its unknown code, opens. */
	m.has_by = false;
	m.has_mac = false;
	m.errraw = e.data;
	m.errrawlen = e.len;
	m.hops = 7;
	ck_assert_int_eq(originauth_seal(far_auth.oa, &m), 0);
	arrive(la, &m);
	sent_bytes(lc, 1, &got_b);
	decode_bytes(&got_b, &out);
	ck_assert_int_eq(originauth_open(c_auth.oa, &out, self.pk), OA_OK);
	auth_free(&c_auth);
	cbor_buf_free(&e);
	cbor_buf_free(&want);
	cbor_buf_free(&got_b);
}
END_TEST

/* A relay's answer says by = the relay: on the origin's link no MAC,
 * through another relay sealed. */
START_TEST(test_relay_answer_by)
{
	struct cbor_buf	 bytes = { 0 };
	struct callmsg	 m, out;
	struct linkmsg	 lm;

	/* a's call for far, which self cannot pass on: no hops left. */
	call_msg(&m, &a, &far);
	ck_assert_int_eq(originauth_seal(a_auth.oa, &m), 0);
	m.hops = 0;
	arrive(la, &m);
	sent_on(la, &out, &lm);
	ck_assert_int_eq(out.type, CALLMSG_ANSWER);
	ck_assert(out.has_by);
	ck_assert_mem_eq(out.by, self.pk, NODE_ID_LEN);
	ck_assert(!out.has_mac);
	ck_assert_int_eq(originauth_open(a_auth.oa, &out, self.pk), OA_OK);
	/* Not on a's link: the answer goes sealed, through another. */
	fake_mesh_remove(mesh, la);
	route_heard(route, a.pk, b.pk);
	arrive(lc, &m);
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	sent_bytes(lb, 0, &bytes);
	decode_bytes(&bytes, &out);
	ck_assert(out.has_by);
	ck_assert(out.has_mac);
	ck_assert_int_eq(out.err.code, PEER_UNAVAILABLE);
	ck_assert_int_eq(originauth_open(a_auth.oa, &out, b.pk), OA_OK);
	cbor_buf_free(&bytes);
}
END_TEST

/* At the origin: a relay's answer only with by and a relay's code. */
START_TEST(test_relay_answer_at_origin)
{
	struct callmsg	m;

	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_ANSWER;
	memcpy(m.origin, self.pk, NODE_ID_LEN);
	memcpy(m.provider, far.pk, NODE_ID_LEN);
	m.cid = 77;
	m.hops = CALLMSG_HOPS;
	m.err.code = PEER_DEADLINE_EXCEEDED;
	m.err.msg = "late";
	m.err.msglen = 4;
	memcpy(m.by, b.pk, NODE_ID_LEN);
	m.has_by = true;
	ck_assert_int_eq(originauth_seal(b_auth.oa, &m), 0);
	arrive(lc, &m);
	ck_assert_int_eq(ngot, 1);
	ck_assert(got.verified);
	ck_assert(got.has_by);
	/* Any other code: dropped, even sealed by the relay. */
	m.err.code = PEER_NOT_FOUND;
	m.has_mac = false;
	m.errraw = NULL;
	ck_assert_int_eq(originauth_seal(b_auth.oa, &m), 0);
	arrive(lc, &m);
	ck_assert_int_eq(ngot, 1);
	/* Without by, the relay's answer passes for far's: dropped. */
	m.err.code = PEER_UNAVAILABLE;
	m.has_mac = false;
	m.has_by = false;
	m.errraw = NULL;
	ck_assert_int_eq(originauth_seal(b_auth.oa, &m), 0);
	arrive(lc, &m);
	ck_assert_int_eq(ngot, 1);
	/* b's, on b's own link: no MAC needed. */
	m.has_mac = false;
	m.has_by = true;
	m.errraw = NULL;
	arrive(lb, &m);
	ck_assert_int_eq(ngot, 2);
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
	tcase_add_test(tc, test_seal_through_relay);
	tcase_add_test(tc, test_open_for_self);
	tcase_add_test(tc, test_open_old_node);
	tcase_add_test(tc, test_relay_keeps_auth_bytes);
	tcase_add_test(tc, test_relay_answer_by);
	tcase_add_test(tc, test_relay_answer_at_origin);
	suite_add_tcase(s, tc);
	return s;
}
