/* SPDX-License-Identifier: ISC */
/*
 * test_keyrot.c: rotating the network key over fake links: the admin's
 * key_rotate and its refusals, a member taking the key from its entry,
 * nkey parts flooded once each, signatures of no admin and bad ones
 * dropped, a node left out, revoked members skipped, a late peer sent
 * its part on link up, and the grace end closing only the links under
 * the old key whose peer never showed the new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>
#include <sodium.h>

#include "admins.h"
#include "cbor_scan.h"
#include "control.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "keyrot.h"
#include "members.h"
#include "netkeys.h"

#define MAX_MESSAGE	(16u << 20)

/* One node of a test: its keys, members, links and keyrot. */
struct node {
	struct tnode	 t;
	struct identity	 id;
	struct netkeys	 nk;
	struct admins	 admins;
	struct members	*members;
	struct mesh	*mesh;
	struct keyrot	*kr;
	char		 dir[128];
	int		 adopted;
	uint64_t	 adopted_gen;
};

static struct event_base	*base;
static struct node		 a, b, c, x;
static uint8_t			 netkey0[NETWORK_KEY_LEN];
static uint8_t			 revoked[NODE_ID_LEN];
static bool			 has_revoked;

static void
on_adopted(void *arg, uint64_t gen)
{
	struct node	*n = arg;

	n->adopted++;
	n->adopted_gen = gen;
}

static const struct keyrot_ops	ops = { on_adopted };

static bool
is_revoked(void *arg, const uint8_t *id)
{
	(void)arg;
	return has_revoked && memcmp(id, revoked, NODE_ID_LEN) == 0;
}

static void
node_init(struct node *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	tnode_new(&n->t, name);
	memcpy(n->id.pk, n->t.pk, NODE_ID_LEN);
	memcpy(n->id.sk, n->t.sk, sizeof(n->id.sk));
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(n->id.x_sk,
	    n->id.sk), 0);
	memcpy(n->id.network_key, netkey0, NETWORK_KEY_LEN);
	memcpy(n->id.id, n->t.idstr, sizeof(n->id.id));
	tmpdir_make(n->dir, sizeof(n->dir), "keyrot");
	n->members = tnode_members(&n->t);
	n->mesh = fake_mesh_new();
}

/* Starts n's keyrot with admin as its one admin, max_message max. */
static void
node_start(struct node *n, const struct node *admin, uint64_t max)
{
	struct keyrot_params	p = { n->dir, max, 600000, 60000,
				    is_revoked, NULL };

	n->admins.n = 1;
	memcpy(n->admins.ids[0], admin->t.pk, NODE_ID_LEN);
	n->kr = keyrot_new(base, &p, &n->id, &n->nk, &n->admins, n->mesh,
	    n->members, &ops, n);
	ck_assert_ptr_nonnull(n->kr);
}

static void
node_free(struct node *n)
{
	keyrot_free(n->kr);
	members_free(n->members);
	fake_mesh_free(n->mesh);
	netkeys_clear(&n->nk);
	tmpdir_remove(n->dir);
}

/* n knows m as a member. */
static void
knows(struct node *n, const struct node *m)
{
	struct record	r;

	tnode_record(&m->t, 1, &r);
	ck_assert_ptr_nonnull(tnode_offer(n->members, &m->t, &r));
}

/* An up link from n to m, in n's mesh. */
static struct link *
link_of(struct node *n, const struct node *m)
{
	struct link	*l = fake_link_new(m->t.pk, m->t.name, true);

	fake_mesh_add(n->mesh, l);
	return l;
}

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	randombytes_buf(netkey0, sizeof(netkey0));
	has_revoked = false;
	node_init(&a, "a");
	node_init(&b, "b");
	node_init(&c, "c");
	node_init(&x, "x");
}

static void
teardown(void)
{
	node_free(&a);
	node_free(&b);
	node_free(&c);
	node_free(&x);
	event_base_free(base);
}

static void
client_gone(void *arg, struct ctl_conn *cc)
{
	(void)arg; (void)cc;
}

/* The result of key_rotate on n with grace (0: none given). */
struct rotated {
	enum peer_code	code;
	char		msg[256];
	uint64_t	gen, members;
	char		kid[32];
};

static void
rotate(struct node *n, uint64_t grace, struct rotated *out)
{
	static const struct control_ops	 cops = { client_gone };
	struct control_params		 cp;
	struct control			*ctl;
	struct client			*cl;
	struct cbor_buf			*req;
	const struct ctl_msg		*m;
	const struct cbor_field		*res, *v;
	struct cbor_field		 f[8];
	const char			*s;
	char				 dir[128], path[192];
	size_t				 len;
	int				 nf;

	memset(out, 0, sizeof(*out));
	tmpdir_make(dir, sizeof(dir), "keyrot-ctl");
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	control_params_init(&cp, path);
	ck_assert_ptr_nonnull(ctl = control_open(base, &cp, &cops, NULL));
	ck_assert_int_eq(control_add_ops(ctl, keyrot_ctl_ops, n->kr), 0);
	cl = client_open(path);
	req = client_begin(cl, "key_rotate", 1, grace > 0 ? 1 : 0);
	if (grace > 0) {
		cbor_put_text(req, "grace");
		cbor_put_uint(req, grace);
	}
	client_send(cl);
	m = client_must_reply(cl, base, 1, 5000);
	out->code = reply_code(m, out->msg, sizeof(out->msg));
	if (out->code == PEER_OK) {
		res = ctl_msg_get(m, "result");
		ck_assert_int_gt(nf = cbor_scan_map(res->val, res->vallen, f,
		    8), 0);
		ck_assert((v = cbor_field_get(f, nf, "gen")) != NULL &&
		    cbor_read_uint(v->val, v->vallen, &out->gen));
		ck_assert((v = cbor_field_get(f, nf, "members")) != NULL &&
		    cbor_read_uint(v->val, v->vallen, &out->members));
		ck_assert((v = cbor_field_get(f, nf, "kid")) != NULL &&
		    cbor_read_text(v->val, v->vallen, &s, &len) && len == 16);
		memcpy(out->kid, s, len);
	}
	client_close(cl);
	control_free(ctl);
	tmpdir_remove(dir);
}

/* The i-th message of type t sent on l, as it arrives elsewhere. */
static bool
sent_of(struct link *l, const char *t, size_t nth, struct cbor_buf *out)
{
	struct linkmsg	 m;
	const uint8_t	*p;
	size_t		 i, len, k = 0;

	for (i = 0; i < fake_link_nsent(l); i++)
		if (fake_link_sent_msg(l, i, &m) && strcmp(m.type, t) == 0 &&
		    k++ == nth) {
			p = fake_link_sent(l, i, &len);
			cbor_buf_reset(out);
			cbor_put_raw(out, p, len);
			return true;
		}
	return false;
}

/* Hands every nkey sent on from to to's keyrot, over link via. */
static size_t
pass_nkeys(struct link *from, struct node *to, struct link *via)
{
	struct cbor_buf	m = { 0 };
	size_t		n;

	for (n = 0; sent_of(from, "nkey", n, &m); n++)
		ck_assert(link_message_arrives(keyrot_handlers, to->kr, via,
		    &m));
	cbor_buf_free(&m);
	return n;
}

/*
 * The admin seals the key for its members and takes it itself; a
 * member takes it from its entry, says so on its links, and passes the
 * part on once.
 */
START_TEST(test_rotate_and_take)
{
	struct rotated	 r;
	struct link	*ab, *ba, *bc;
	uint8_t		 kid[KEYROT_KID_LEN];
	char		 hex[17];
	int		 i;

	knows(&a, &b);
	knows(&a, &c);
	node_start(&a, &a, MAX_MESSAGE);
	node_start(&b, &a, MAX_MESSAGE);
	ab = link_of(&a, &b);
	ba = link_of(&b, &a);
	bc = link_of(&b, &c);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	ck_assert_uint_eq(r.gen, 1);
	ck_assert_uint_eq(r.members, 2);
	ck_assert_uint_eq(a.nk.gen, 1);
	ck_assert(a.nk.has_prev);
	ck_assert(memcmp(a.id.network_key, netkey0, NETWORK_KEY_LEN) != 0);
	ck_assert_int_eq(a.adopted, 1);
	keyrot_kid(a.id.network_key, kid);
	for (i = 0; i < KEYROT_KID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", kid[i]);
	ck_assert_str_eq(r.kid, hex);
	ck_assert_uint_eq(fake_link_count(ab, "nkey"), 1);
	ck_assert_uint_eq(fake_link_count(ab, "nkok"), 1);

	ck_assert_uint_eq(pass_nkeys(ab, &b, ba), 1);
	ck_assert_uint_eq(b.nk.gen, 1);
	ck_assert_int_eq(b.adopted, 1);
	ck_assert_uint_eq(b.adopted_gen, 1);
	ck_assert(memcmp(b.id.network_key, a.id.network_key,
	    NETWORK_KEY_LEN) == 0);
	/* The grace: 10 minutes from now at most. */
	ck_assert(b.nk.has_prev);
	ck_assert(memcmp(b.nk.prev.key, netkey0, NETWORK_KEY_LEN) == 0);
	ck_assert_int_le(b.nk.prev.until_ms, a.nk.prev.until_ms + 1000);
	/* Flooded on, not back; nkok to every link. */
	ck_assert_uint_eq(fake_link_count(bc, "nkey"), 1);
	ck_assert_uint_eq(fake_link_count(ba, "nkey"), 0);
	ck_assert_uint_eq(fake_link_count(ba, "nkok"), 1);
	ck_assert_uint_eq(fake_link_count(bc, "nkok"), 1);
	/* A second copy changes nothing and goes nowhere. */
	ck_assert_uint_eq(pass_nkeys(ab, &b, ba), 1);
	ck_assert_uint_eq(fake_link_count(bc, "nkey"), 1);
	ck_assert_int_eq(b.adopted, 1);
}
END_TEST

/* Many members: several parts, each flooded once, each node's taken. */
START_TEST(test_parts)
{
	struct node	 many[20];
	struct rotated	 r;
	struct link	*ab, *ba, *bc;
	size_t		 i;

	for (i = 0; i < 20; i++) {
		node_init(&many[i], "m");
		knows(&a, &many[i]);
	}
	knows(&a, &b);
	/* 4096 / 4 less 256: 7 entries a part, 21 members: 3 parts. */
	node_start(&a, &a, 4096);
	node_start(&b, &a, 4096);
	ab = link_of(&a, &b);
	ba = link_of(&b, &a);
	bc = link_of(&b, &c);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	ck_assert_uint_eq(r.members, 21);
	ck_assert_uint_eq(fake_link_count(ab, "nkey"), 3);
	ck_assert_uint_eq(pass_nkeys(ab, &b, ba), 3);
	ck_assert_uint_eq(b.nk.gen, 1);
	ck_assert_int_eq(b.adopted, 1);
	ck_assert_uint_eq(fake_link_count(bc, "nkey"), 3);
	for (i = 0; i < 20; i++)
		node_free(&many[i]);
}
END_TEST

/* A node the admin did not know gets no entry, and says so. */
START_TEST(test_not_for_this_node)
{
	struct rotated	 r;
	struct link	*ac, *ca;

	knows(&a, &b);
	node_start(&a, &a, MAX_MESSAGE);
	node_start(&c, &a, MAX_MESSAGE);
	ac = link_of(&a, &c);
	ca = link_of(&c, &a);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	ck_assert_uint_eq(r.members, 1);
	ck_assert_uint_eq(pass_nkeys(ac, &c, ca), 1);
	ck_assert_uint_eq(c.nk.gen, 0);
	ck_assert_int_eq(c.adopted, 0);
	ck_assert(memcmp(c.id.network_key, netkey0, NETWORK_KEY_LEN) == 0);
	ck_assert_uint_eq(fake_link_count(ca, "nkok"), 0);
}
END_TEST

/* Revoked members get no entry. */
START_TEST(test_revoked_skipped)
{
	struct rotated	 r;
	struct link	*ab, *ba;

	knows(&a, &b);
	knows(&a, &c);
	memcpy(revoked, b.t.pk, NODE_ID_LEN);
	has_revoked = true;
	node_start(&a, &a, MAX_MESSAGE);
	node_start(&b, &a, MAX_MESSAGE);
	ab = link_of(&a, &b);
	ba = link_of(&b, &a);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	ck_assert_uint_eq(r.members, 1);
	ck_assert_uint_eq(pass_nkeys(ab, &b, ba), 1);
	ck_assert_uint_eq(b.nk.gen, 0);
}
END_TEST

/*
 * key_rotate only on a node in its own admin list, with one known;
 * a grace out of range is refused.
 */
START_TEST(test_refusals)
{
	struct rotated	r;

	node_start(&b, &a, MAX_MESSAGE);
	rotate(&b, 0, &r);
	ck_assert_int_eq(r.code, PEER_PERMISSION_DENIED);
	ck_assert_str_eq(r.msg, "this node is not an admin");
	b.admins.n = 0;
	rotate(&b, 0, &r);
	ck_assert_int_eq(r.code, PEER_FAILED_PRECONDITION);
	ck_assert_str_eq(r.msg, "no admins known: set admins in peerd.conf "
	    "on every node");
	node_start(&a, &a, MAX_MESSAGE);
	rotate(&a, 999, &r);
	ck_assert_int_eq(r.code, PEER_INVALID_ARGUMENT);
	rotate(&a, 24 * 3600 * 1000 + 1, &r);
	ck_assert_int_eq(r.code, PEER_INVALID_ARGUMENT);
	ck_assert_uint_eq(a.nk.gen, 0);
	ck_assert_uint_eq(b.nk.gen, 0);
}
END_TEST

/* An nkey of the right form from x, who is no admin, or with x's signature. */
static void
forged_nkey(struct cbor_buf *m, const struct node *by, const uint8_t *sk,
    const struct node *to)
{
	struct keyrot_body	 k;
	struct cbor_buf		 body = { 0 };
	uint8_t			 entry[KEYROT_ENTRY_LEN], key[32];
	uint8_t			 sig[crypto_sign_BYTES];

	randombytes_buf(key, sizeof(key));
	ck_assert_int_eq(keyrot_wrap(entry, &by->id, to->t.pk, key, 1), 0);
	memset(&k, 0, sizeof(k));
	k.gen = 1;
	keyrot_kid(key, k.kid);
	memcpy(k.by, by->t.pk, NODE_ID_LEN);
	k.ts = 1;
	k.grace = 60000;
	k.parts = 1;
	k.e = entry;
	k.ne = 1;
	keyrot_body_encode(&body, &k);
	crypto_sign_detached(sig, NULL, body.data, body.len, sk);
	cbor_buf_reset(m);
	cbor_put_map(m, 4);
	cbor_put_text(m, "t");
	cbor_put_text(m, "nkey");
	cbor_put_text(m, "b");
	cbor_put_bytes(m, body.data, body.len);
	cbor_put_text(m, "s");
	cbor_put_bytes(m, sig, sizeof(sig));
	cbor_put_text(m, "h");
	cbor_put_uint(m, 16);
	cbor_buf_free(&body);
}

START_TEST(test_forged)
{
	struct cbor_buf	 m = { 0 };
	struct link	*bx, *bc;

	node_start(&b, &a, MAX_MESSAGE);
	bx = link_of(&b, &x);
	bc = link_of(&b, &c);
	/* Signed by x, which no node takes as an admin. */
	forged_nkey(&m, &x, x.t.sk, &b);
	ck_assert(link_message_arrives(keyrot_handlers, b.kr, bx, &m));
	/* Naming the admin, signed by x. */
	forged_nkey(&m, &a, x.t.sk, &b);
	ck_assert(link_message_arrives(keyrot_handlers, b.kr, bx, &m));
	ck_assert_uint_eq(b.nk.gen, 0);
	ck_assert_int_eq(b.adopted, 0);
	ck_assert(memcmp(b.id.network_key, netkey0, NETWORK_KEY_LEN) == 0);
	ck_assert_uint_eq(fake_link_count(bc, "nkey"), 0);
	/* Signed by the admin, it is taken and passed on. */
	forged_nkey(&m, &a, a.t.sk, &b);
	ck_assert(link_message_arrives(keyrot_handlers, b.kr, bx, &m));
	ck_assert_uint_eq(b.nk.gen, 1);
	ck_assert_uint_eq(fake_link_count(bc, "nkey"), 1);
	cbor_buf_free(&m);
}
END_TEST

/*
 * Part 0 of 2 of a generation-1 rotation by another admin, x, holding
 * only c's entry: what a node holds while it waits for its own part.
 */
static void
other_admin_part(struct cbor_buf *m)
{
	struct keyrot_body	 k;
	struct cbor_buf		 body = { 0 };
	uint8_t			 entry[KEYROT_ENTRY_LEN], key[32];
	uint8_t			 sig[crypto_sign_BYTES];

	randombytes_buf(key, sizeof(key));
	ck_assert_int_eq(keyrot_wrap(entry, &x.id, c.t.pk, key, 1), 0);
	memset(&k, 0, sizeof(k));
	k.gen = 1;
	keyrot_kid(key, k.kid);
	memcpy(k.by, x.t.pk, NODE_ID_LEN);
	k.ts = 1;
	k.grace = 60000;
	k.part = 0;
	k.parts = 2;
	k.e = entry;
	k.ne = 1;
	keyrot_body_encode(&body, &k);
	crypto_sign_detached(sig, NULL, body.data, body.len, x.t.sk);
	cbor_buf_reset(m);
	cbor_put_map(m, 3);
	cbor_put_text(m, "t");
	cbor_put_text(m, "nkey");
	cbor_put_text(m, "b");
	cbor_put_bytes(m, body.data, body.len);
	cbor_put_text(m, "s");
	cbor_put_bytes(m, sig, sizeof(sig));
	cbor_buf_free(&body);
}

/*
 * An admin that holds parts of the next generation from another admin
 * makes no second key of that generation: two keys under one number
 * would split the mesh, and its parts would replace those held.
 */
START_TEST(test_generation_taken)
{
	struct cbor_buf	 m = { 0 };
	struct rotated	 r;
	struct link	*ax;

	knows(&a, &b);
	node_start(&a, &a, MAX_MESSAGE);
	a.admins.n = 2;
	memcpy(a.admins.ids[1], x.t.pk, NODE_ID_LEN);
	ax = link_of(&a, &x);
	other_admin_part(&m);
	ck_assert(link_message_arrives(keyrot_handlers, a.kr, ax, &m));
	ck_assert_uint_eq(a.nk.gen, 0);
	rotate(&a, 0, &r);
	ck_assert_int_eq(r.code, PEER_FAILED_PRECONDITION);
	ck_assert_uint_eq(a.nk.gen, 0);
	ck_assert_int_eq(a.adopted, 0);
	ck_assert(memcmp(a.id.network_key, netkey0, NETWORK_KEY_LEN) == 0);
	ck_assert_uint_eq(fake_link_count(ax, "nkey"), 0);
	cbor_buf_free(&m);
}
END_TEST

/* A peer that links up behind, within the grace, gets its part. */
START_TEST(test_late_peer)
{
	struct rotated	 r;
	struct link	*late, *cur, *c2;

	knows(&a, &b);
	knows(&a, &c);
	node_start(&a, &a, MAX_MESSAGE);
	node_start(&b, &a, MAX_MESSAGE);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	late = link_of(&a, &b);
	fake_link_kg(late, 0);
	keyrot_link_up(a.kr, late);
	ck_assert_uint_eq(fake_link_count(late, "nkey"), 1);
	cur = link_of(&a, &c);
	fake_link_kg(cur, 1);
	keyrot_link_up(a.kr, cur);
	ck_assert_uint_eq(fake_link_count(cur, "nkey"), 0);
	/* Taken over the old-key link. */
	c2 = link_of(&b, &a);
	ck_assert_uint_eq(pass_nkeys(late, &b, c2), 1);
	ck_assert_uint_eq(b.nk.gen, 1);
}
END_TEST

/* A restart within the grace still has the parts, from network.nkey. */
START_TEST(test_parts_kept_on_disk)
{
	struct rotated	 r;
	struct link	*late;
	char		 path[192];
	FILE		*f;
	int		 ch;

	knows(&a, &b);
	node_start(&a, &a, MAX_MESSAGE);
	rotate(&a, 0, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	keyrot_free(a.kr);
	node_start(&a, &a, MAX_MESSAGE);
	late = link_of(&a, &b);
	fake_link_kg(late, 0);
	keyrot_link_up(a.kr, late);
	ck_assert_uint_eq(fake_link_count(late, "nkey"), 1);

	/* A file changed by a byte is not used. */
	keyrot_free(a.kr);
	snprintf(path, sizeof(path), "%s/network.nkey", a.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r+"));
	ck_assert_int_eq(fseek(f, 40, SEEK_SET), 0);
	ck_assert_int_ne(ch = fgetc(f), EOF);
	ck_assert_int_eq(fseek(f, 40, SEEK_SET), 0);
	ck_assert_int_eq(fputc(ch ^ 0xff, f), ch ^ 0xff);
	fclose(f);
	node_start(&a, &a, MAX_MESSAGE);
	late = link_of(&a, &b);
	fake_link_kg(late, 0);
	keyrot_link_up(a.kr, late);
	ck_assert_uint_eq(fake_link_count(late, "nkey"), 0);
}
END_TEST

static bool
link_closed(void *arg)
{
	return link_state(arg) == LINK_CLOSED;
}

/*
 * At the grace end the old key goes, and with it the links made under
 * it whose peer showed the new generation neither in its HELLO nor
 * with an nkok; the others stay.
 */
START_TEST(test_grace_end)
{
	struct rotated	 r;
	struct cbor_buf	 ok = { 0 };
	struct link	*silent, *acked, *hello, *fresh;

	knows(&a, &b);
	node_start(&a, &a, MAX_MESSAGE);
	silent = link_of(&a, &b);
	acked = link_of(&a, &c);
	hello = link_of(&a, &x);
	rotate(&a, 1000, &r);
	ck_assert_msg(r.code == PEER_OK, "%s", r.msg);
	cbor_put_map(&ok, 2);
	cbor_put_text(&ok, "t");
	cbor_put_text(&ok, "nkok");
	cbor_put_text(&ok, "gen");
	cbor_put_uint(&ok, 1);
	ck_assert(link_message_arrives(keyrot_handlers, a.kr, acked, &ok));
	fake_link_kg(hello, 1);
	keyrot_link_up(a.kr, hello);
	fresh = fake_link_new(b.t.pk, "b2", false);
	fake_link_psk(fresh, 1, false);
	fake_mesh_add(a.mesh, fresh);
	ck_assert(a.nk.has_prev);
	ck_assert_msg(loop_until(base, link_closed, silent, 3000),
	    "the link that never took the key is still up");
	ck_assert(!a.nk.has_prev);
	ck_assert_int_eq(fake_mesh_closes(a.mesh), 1);
	ck_assert_int_eq(link_state(acked), LINK_UP);
	ck_assert_int_eq(link_state(hello), LINK_UP);
	ck_assert_int_eq(link_state(fresh), LINK_UP);
	cbor_buf_free(&ok);
}
END_TEST

static int
id_cmp(const void *p, const void *q)
{
	return memcmp(p, q, NODE_ID_LEN);
}

/* The pure parts: wrapping, finding, decoding. */
START_TEST(test_codec)
{
	struct keyrot_body	 k, back;
	struct cbor_buf		 b0 = { 0 };
	uint8_t			 e[3 * KEYROT_ENTRY_LEN], key[32], out[32];
	const char		*why;
	const struct node	*to[3];
	size_t			 i;

	randombytes_buf(key, sizeof(key));
	/* Sorted by ID, as the admin sends them. */
	to[0] = &b;
	to[1] = &c;
	to[2] = &x;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(keyrot_wrap(e + i * KEYROT_ENTRY_LEN, &a.id,
		    to[i]->t.pk, key, 7), 0);
	qsort(e, 3, KEYROT_ENTRY_LEN, id_cmp);
	for (i = 0; i < 3; i++) {
		const uint8_t	*ent = keyrot_find(e, 3, to[i]->t.pk);

		ck_assert_ptr_nonnull(ent);
		ck_assert_int_eq(keyrot_unwrap(out, &to[i]->id, a.t.pk, ent,
		    7), 0);
		ck_assert(memcmp(out, key, 32) == 0);
		/* Another generation, or another sender: it does not open. */
		ck_assert_int_eq(keyrot_unwrap(out, &to[i]->id, a.t.pk, ent,
		    8), -1);
		ck_assert_int_eq(keyrot_unwrap(out, &to[i]->id, x.t.pk, ent,
		    7), -1);
	}
	ck_assert_ptr_null(keyrot_find(e, 3, a.t.pk));

	memset(&k, 0, sizeof(k));
	k.gen = 7;
	k.ts = 5;
	k.grace = 1000;
	k.part = 1;
	k.parts = 2;
	k.e = e;
	k.ne = 3;
	keyrot_body_encode(&b0, &k);
	ck_assert_int_eq(keyrot_body_decode(b0.data, b0.len, &back, &why), 0);
	ck_assert_uint_eq(back.gen, 7);
	ck_assert_uint_eq(back.ne, 3);
	ck_assert_uint_eq(back.part, 1);
	/* Out of order, a part past the end, a grace out of range. */
	k.e = e + KEYROT_ENTRY_LEN;
	k.ne = 2;
	cbor_buf_reset(&b0);
	keyrot_body_encode(&b0, &k);
	ck_assert_int_eq(keyrot_body_decode(b0.data, b0.len, &back, &why), 0);
	memcpy(e + 2 * KEYROT_ENTRY_LEN, e, KEYROT_ENTRY_LEN);
	cbor_buf_reset(&b0);
	keyrot_body_encode(&b0, &k);
	ck_assert_int_eq(keyrot_body_decode(b0.data, b0.len, &back, &why),
	    -1);
	ck_assert_str_eq(why, "entries out of order");
	k.part = 2;
	cbor_buf_reset(&b0);
	keyrot_body_encode(&b0, &k);
	ck_assert_int_eq(keyrot_body_decode(b0.data, b0.len, &back, &why),
	    -1);
	k.part = 0;
	k.grace = 999;
	cbor_buf_reset(&b0);
	keyrot_body_encode(&b0, &k);
	ck_assert_int_eq(keyrot_body_decode(b0.data, b0.len, &back, &why),
	    -1);
	/* Cut short anywhere: refused. */
	k.grace = 1000;
	k.ne = 1;
	cbor_buf_reset(&b0);
	keyrot_body_encode(&b0, &k);
	for (i = 0; i < b0.len; i++)
		ck_assert_int_eq(keyrot_body_decode(b0.data, i, &back, &why),
		    -1);
	cbor_buf_free(&b0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("keyrot");
	TCase	*tc = tcase_create("keyrot");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rotate_and_take);
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_not_for_this_node);
	tcase_add_test(tc, test_revoked_skipped);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_forged);
	tcase_add_test(tc, test_generation_taken);
	tcase_add_test(tc, test_late_peer);
	tcase_add_test(tc, test_parts_kept_on_disk);
	tcase_add_test(tc, test_grace_end);
	tcase_add_test(tc, test_codec);
	suite_add_tcase(s, tc);
	return s;
}
