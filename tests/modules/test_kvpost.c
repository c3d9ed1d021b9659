/* SPDX-License-Identifier: ISC */
/*
 * test_kvpost.c: kvpost.c over the real router, with a fake mesh and
 * fake links.  A message for another node leaves on its link as a "kv"
 * message whose body decodes to what was sent; one for this node is
 * delivered at once, and its receiver may send again from there; one
 * larger than max_message is not sent.
 */
#include <string.h>

#include <check.h>

#include "callmsg.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "kvmsg.h"
#include "link.h"
#include "kvpost.h"
#include "log.h"
#include "originauth.h"
#include "pairkey.h"
#include "route.h"

#define MAX_MESSAGE	(256u << 10)
#define ANSWER_KEY	"an answer with a longer key than the read's"

static struct tnode		 self, a, far;
static struct members		*members;
static struct mesh		*mesh;
static struct route		*route;
static struct identity		 selfid;	/* seals what goes by relay */
static struct pairkey		*keys;
static struct originauth	*oa;
static struct kvpost		*post;
static struct link		*la;
static struct kvmsg_space	 space;

/* What the kv receiver here was given, decoded. */
static int			 ngot;
static struct callmsg		 got;
static struct kvmsg		 got_body;
static char			 got_key[KV_KEY_MAX + 1];
static bool			 answer_here;	/* the receiver answers a */

static void
take(void *arg, const struct callmsg *m, const uint8_t *via)
{
	struct kvmsg	 ans;
	const char	*why;

	(void)arg;
	ck_assert_ptr_null(via);
	got = *m;
	ck_assert_msg(kvmsg_decode(m->args, m->argslen, &got_body, &space,
	    &why) == 0, "refused: %s", why);
	ngot++;
	if (answer_here) {
		/* Sent while the body is still in use: it must stay intact. */
		memset(&ans, 0, sizeof(ans));
		ans.kind = KVMSG_READ_ANSWER;
		ans.key = ANSWER_KEY;
		ans.keylen = strlen(ans.key);
		ck_assert_int_eq(kvpost_send(post, a.pk, m->cid, &ans),
		    ROUTE_SENT);
	}
	ck_assert_uint_lt(got_body.keylen, sizeof(got_key));
	memcpy(got_key, got_body.key, got_body.keylen);
	got_key[got_body.keylen] = '\0';
}

/* Nobody's record is held: a relayed message is sealed, as by peerd. */
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
setup(void)
{
	struct originauth_params op;
	struct route_params	 p;
	struct record		 r;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&far, "far");
	members = tnode_members(&self);
	tnode_record(&a, 1, &r);
	tnode_offer(members, &a, &r);
	mesh = fake_mesh_new();
	la = fake_link_new(a.pk, "a", true);
	fake_mesh_add(mesh, la);
	memcpy(selfid.pk, self.pk, NODE_ID_LEN);
	memcpy(selfid.sk, self.sk, sizeof(selfid.sk));
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(selfid.x_sk,
	    selfid.sk), 0);
	ck_assert_ptr_nonnull(keys = pairkey_new(&selfid, 16));
	op = (struct originauth_params){ self.pk, false, 16, no_record, NULL,
	    NULL };
	ck_assert_ptr_nonnull(oa = originauth_new(&op, keys));
	memset(&p, 0, sizeof(p));
	p.self = self.pk;
	p.name = "self";
	p.max_message = MAX_MESSAGE;
	p.oa = oa;
	route = route_new(&p, mesh, members);
	ck_assert_ptr_nonnull(route);
	route_deliver(route, CALLMSG_KV, take, NULL);
	post = kvpost_new(route, self.pk, MAX_MESSAGE);
	ck_assert_ptr_nonnull(post);
	ngot = 0;
	answer_here = false;
}

static void
teardown(void)
{
	kvpost_free(post);
	route_free(route);
	originauth_free(oa);
	pairkey_free(keys);
	fake_mesh_free(mesh);
	members_free(members);
}

static void
read_msg(struct kvmsg *m, const char *key)
{
	memset(m, 0, sizeof(m[0]));
	m->kind = KVMSG_READ;
	m->key = key;
	m->keylen = strlen(key);
}

/* Message i sent on l: a "kv" message, decoded with its body. */
static void
sent_kv(struct link *l, size_t i, struct callmsg *cm, struct kvmsg *body)
{
	struct linkmsg	 lm;
	const char	*why;

	ck_assert(fake_link_sent_msg(l, i, &lm));
	ck_assert_str_eq(lm.type, "kv");
	ck_assert_int_eq(callmsg_decode(lm.type, lm.f, lm.nf, cm, &why), 0);
	ck_assert_int_eq(cm->type, CALLMSG_KV);
	ck_assert_msg(kvmsg_decode(cm->args, cm->argslen, body, &space,
	    &why) == 0, "refused: %s", why);
}

START_TEST(test_to_another_node)
{
	struct kvmsg	m, body;
	struct callmsg	cm;

	read_msg(&m, "cfg/a");
	ck_assert_int_eq(kvpost_send(post, a.pk, 41, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	sent_kv(la, 0, &cm, &body);
	ck_assert_mem_eq(cm.origin, self.pk, NODE_ID_LEN);
	ck_assert_mem_eq(cm.provider, a.pk, NODE_ID_LEN);
	ck_assert_uint_eq(cm.cid, 41);
	ck_assert_uint_eq(cm.hops, CALLMSG_HOPS);
	ck_assert_int_eq(body.kind, KVMSG_READ);
	ck_assert_uint_eq(body.keylen, 5);
	ck_assert_mem_eq(body.key, "cfg/a", 5);
	ck_assert_int_eq(ngot, 0);

	/* cid 0: no answer wanted; the buffer serves the next message. */
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_WATCH;
	m.prefixes[0] = "jobs/";
	m.prefixlens[0] = 5;
	m.nprefixes = 1;
	m.lease_ms = 30000;
	ck_assert_int_eq(kvpost_send(post, a.pk, 0, &m), ROUTE_SENT);
	sent_kv(la, 1, &cm, &body);
	ck_assert_uint_eq(cm.cid, 0);
	ck_assert_int_eq(body.kind, KVMSG_WATCH);
	ck_assert_uint_eq(body.nprefixes, 1);
	ck_assert_uint_eq(body.lease_ms, 30000);
}
END_TEST

/* Syncs and leases leave a link free to be shed; requests keep it. */
START_TEST(test_requests_mark_links_used)
{
	struct kvmsg	m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_DIGEST;
	ck_assert_int_eq(kvpost_send(post, a.pk, 7, &m), ROUTE_SENT);
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_WATCH;
	m.lease_ms = 30000;
	ck_assert_int_eq(kvpost_send(post, a.pk, 0, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la), 2);
	ck_assert_int_eq(link_used_ms(la), 0);
	read_msg(&m, "cfg/a");
	ck_assert_int_eq(kvpost_send(post, a.pk, 8, &m), ROUTE_SENT);
	ck_assert_int_gt(link_used_ms(la), 0);
}
END_TEST

/*
 * A request for a member we have no link to goes by a relay, and dials
 * it, once, so that the next ones go direct; syncs dial nobody.
 */
START_TEST(test_request_dials_direct)
{
	struct record	r;
	struct kvmsg	m;

	tnode_record(&far, 1, &r);
	tnode_offer(members, &far, &r);
	route_heard(route, far.pk, a.pk);
	kvpost_dial_direct(post, mesh, members);
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_DIGEST;
	ck_assert_int_eq(kvpost_send(post, far.pk, 1, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	read_msg(&m, "cfg/a");
	ck_assert_int_eq(kvpost_send(post, far.pk, 2, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la), 2);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_mem_eq(fake_mesh_dial(mesh, 0)->id, far.pk, NODE_ID_LEN);
	ck_assert(fake_mesh_dial(mesh, 0)->for_calls);
	/* Not again while it is under way, nor soon after. */
	ck_assert_int_eq(kvpost_send(post, far.pk, 3, &m), ROUTE_SENT);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	ck_assert_int_eq(kvpost_send(post, far.pk, 4, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	/* Nor to a node with a link of its own. */
	ck_assert_int_eq(kvpost_send(post, a.pk, 5, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
}
END_TEST

START_TEST(test_to_self)
{
	struct kvmsg	m;

	read_msg(&m, "cfg/self");
	ck_assert_int_eq(kvpost_send(post, self.pk, 7, &m), ROUTE_SENT);
	/* Delivered before kvpost_send returned; nothing on a link. */
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got.type, CALLMSG_KV);
	ck_assert_mem_eq(got.origin, self.pk, NODE_ID_LEN);
	ck_assert_mem_eq(got.provider, self.pk, NODE_ID_LEN);
	ck_assert_uint_eq(got.cid, 7);
	ck_assert_int_eq(got_body.kind, KVMSG_READ);
	ck_assert_str_eq(got_key, "cfg/self");
	ck_assert_uint_eq(fake_link_nsent(la), 0);
}
END_TEST

START_TEST(test_send_from_delivery)
{
	struct kvmsg	m, body;
	struct callmsg	cm;

	answer_here = true;
	read_msg(&m, "cfg/b");
	ck_assert_int_eq(kvpost_send(post, self.pk, 8, &m), ROUTE_SENT);
	ck_assert_int_eq(ngot, 1);
	/* The body read after the answer went is still the read's. */
	ck_assert_str_eq(got_key, "cfg/b");
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	sent_kv(la, 0, &cm, &body);
	ck_assert_uint_eq(cm.cid, 8);
	ck_assert_int_eq(body.kind, KVMSG_READ_ANSWER);
	ck_assert_uint_eq(body.keylen, strlen(ANSWER_KEY));
	ck_assert_mem_eq(body.key, ANSWER_KEY, body.keylen);

	/* And the buffer is the outer send's again. */
	answer_here = false;
	read_msg(&m, "cfg/c");
	ck_assert_int_eq(kvpost_send(post, a.pk, 9, &m), ROUTE_SENT);
	sent_kv(la, 1, &cm, &body);
	ck_assert_mem_eq(body.key, "cfg/c", 5);
}
END_TEST

static int	ntoo_large;

static void
count_too_large(void *arg, enum log_level level, const char *line)
{
	(void)arg; (void)level;
	if (strstr(line, "exceeds max_message") != NULL)
		ntoo_large++;
}

START_TEST(test_not_sent)
{
	static uint8_t	big[MAX_MESSAGE];
	struct kvmsg	m;
	int		i;

	/* No way to a node that is not a member. */
	read_msg(&m, "cfg/a");
	ck_assert_int_eq(kvpost_send(post, far.pk, 1, &m), ROUTE_NO_PATH);
	/* A full link. */
	fake_link_queue(la, MAX_MESSAGE + (1u << 20));
	ck_assert_int_eq(kvpost_send(post, a.pk, 1, &m), ROUTE_FULL);
	fake_link_queue(la, 0);
	ck_assert_uint_eq(fake_link_nsent(la), 0);

	/* Larger than max_message: a link would refuse it; so do we. */
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_WRITE;
	m.key = "big";
	m.keylen = 3;
	m.op = KV_PUT;
	big[0] = 0x5a;		/* bytes, 4-byte length */
	big[1] = 0;
	big[2] = (MAX_MESSAGE - 5) >> 16;
	big[3] = ((MAX_MESSAGE - 5) >> 8) & 0xff;
	big[4] = (MAX_MESSAGE - 5) & 0xff;
	m.value = big;
	m.valuelen = MAX_MESSAGE;
	m.timeout_ms = 1000;
	log_set_tap(count_too_large, NULL);
	log_tap_level(LOG_LEVEL_WARN);
	ck_assert_int_eq(kvpost_send(post, a.pk, 2, &m), ROUTE_FULL);
	ck_assert_int_eq(kvpost_send(post, self.pk, 2, &m), ROUTE_FULL);
	/* Each is some node's request: a flood of them is one line. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(kvpost_send(post, a.pk, 2, &m), ROUTE_FULL);
	log_set_tap(NULL, NULL);
	ck_assert_int_eq(ntoo_large, 1);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_int_eq(ngot, 0);
	/* Smaller by the envelope's room: it goes. */
	m.valuelen = MAX_MESSAGE - 256;
	big[2] = (MAX_MESSAGE - 256 - 5) >> 16;
	big[3] = ((MAX_MESSAGE - 256 - 5) >> 8) & 0xff;
	big[4] = (MAX_MESSAGE - 256 - 5) & 0xff;
	ck_assert_int_eq(kvpost_send(post, a.pk, 3, &m), ROUTE_SENT);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("kvpost");
	TCase	*tc = tcase_create("kvpost");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_to_another_node);
	tcase_add_test(tc, test_requests_mark_links_used);
	tcase_add_test(tc, test_request_dials_direct);
	tcase_add_test(tc, test_to_self);
	tcase_add_test(tc, test_send_from_delivery);
	tcase_add_test(tc, test_not_sent);
	suite_add_tcase(s, tc);
	return s;
}
