/* SPDX-License-Identifier: ISC */
/*
 * test_revoke.c: revoke.c against a fake mesh and fake links.  The
 * rules: a revocation is taken only with a good signature by an admin,
 * and never of an admin; a new one is reported once, kept in
 * STATE/revoked (0600) and flooded on every other link with one hop
 * less; copies are dropped; the file is loaded at the start, under the
 * admins of then; at most REVOKE_MAX are held; a link up whose peer's
 * HELLO rv differs gets ours.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "admins.h"
#include "cbor_buf.h"
#include "cbor_scan.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "identity.h"
#include "linkmsg.h"
#include "revoke.h"

#define REPORTS_MAX	(REVOKE_MAX + 8)

static struct tnode		 self, admin, admin2, x, y, na, nb;
static struct identity		 id;
static struct admins		 admins;
static struct mesh		*mesh;
static struct revoke		*rv;
static struct link		*la, *lb;
static char			 dir[256];
static uint8_t			 reported[REPORTS_MAX][NODE_ID_LEN];
static size_t			 nreported;

static void
on_revoked(void *arg, struct revoke *r, const uint8_t *node)
{
	(void)arg;
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_lt(nreported, REPORTS_MAX);
	memcpy(reported[nreported++], node, NODE_ID_LEN);
}

static const struct revoke_ops ops = { on_revoked };

static struct revoke *
start(void)
{
	struct revoke_params	par = { &id, &admins, dir, NULL, 1 << 20 };

	return revoke_new(&par, mesh, &ops, NULL);
}

/*
 * A signed revocation made by hand, so that any field can be wrong:
 * body fields as given, signed with signer's key.
 */
static void
sign_body(const struct tnode *signer, uint64_t version, const uint8_t *node,
    const uint8_t *by, const char *why, struct cbor_buf *out)
{
	struct cbor_buf	body = { 0 };
	uint8_t		sig[crypto_sign_BYTES];

	cbor_put_map(&body, 5);
	cbor_put_text(&body, "v");
	cbor_put_uint(&body, version);
	cbor_put_text(&body, "id");
	cbor_put_bytes(&body, node, NODE_ID_LEN);
	cbor_put_text(&body, "by");
	cbor_put_bytes(&body, by, NODE_ID_LEN);
	cbor_put_text(&body, "ts");
	cbor_put_uint(&body, 1700000000000ULL);
	cbor_put_text(&body, "why");
	cbor_put_text(&body, why);
	ck_assert(!body.failed);
	crypto_sign_detached(sig, NULL, body.data, body.len, signer->sk);
	cbor_buf_reset(out);
	cbor_put_map(out, 2);
	cbor_put_text(out, "b");
	cbor_put_bytes(out, body.data, body.len);
	cbor_put_text(out, "s");
	cbor_put_bytes(out, sig, sizeof(sig));
	ck_assert(!out->failed);
	cbor_buf_free(&body);
}

/* signer's revocation of node, as its own. */
static void
signed_by(const struct tnode *signer, const uint8_t *node, struct cbor_buf *out)
{
	sign_body(signer, REVOKE_VERSION, node, signer->pk, "compromised", out);
}

/* The message rvk carrying raw arrives on l. */
static void
arrives(struct link *l, const struct cbor_buf *raw, uint64_t hops)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, 3);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "rvk");
	cbor_put_text(&m, "r");
	cbor_put_bytes(&m, raw->data, raw->len);
	cbor_put_text(&m, "h");
	cbor_put_uint(&m, hops);
	ck_assert(link_message_arrives(revoke_handlers, rv, l, &m));
	cbor_buf_free(&m);
}

/* The hop count of the i-th message sent on l, an rvk. */
static uint64_t
sent_hops(const struct link *l, size_t i)
{
	struct linkmsg		 m;
	const struct cbor_field	*v;
	uint64_t		 h;

	ck_assert(fake_link_sent_msg(l, i, &m));
	ck_assert_str_eq(m.type, "rvk");
	v = cbor_field_get(m.f, m.nf, "h");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_uint(v->val, v->vallen, &h));
	return h;
}

static void
setup(void)
{
	tnode_new(&self, "self");
	tnode_new(&admin, "admin");
	tnode_new(&admin2, "admin2");
	tnode_new(&x, "x");
	tnode_new(&y, "y");
	tnode_new(&na, "a");
	tnode_new(&nb, "b");
	memset(&id, 0, sizeof(id));
	memcpy(id.pk, self.pk, NODE_ID_LEN);
	memcpy(id.sk, self.sk, sizeof(id.sk));
	snprintf(id.id, sizeof(id.id), "%s", self.idstr);
	memset(&admins, 0, sizeof(admins));
	memcpy(admins.ids[0], admin.pk, NODE_ID_LEN);
	memcpy(admins.ids[1], admin2.pk, NODE_ID_LEN);
	admins.n = 2;
	tmpdir_make(dir, sizeof(dir), "revoke");
	mesh = fake_mesh_new();
	la = fake_link_new(na.pk, na.name, true);
	lb = fake_link_new(nb.pk, nb.name, false);
	fake_mesh_add(mesh, la);
	fake_mesh_add(mesh, lb);
	nreported = 0;
	rv = start();
	ck_assert_ptr_nonnull(rv);
}

static void
teardown(void)
{
	revoke_free(rv);
	fake_link_end(la, LINK_END_HERE, "shutting down");
	fake_link_end(lb, LINK_END_HERE, "shutting down");
	fake_mesh_free(mesh);
	tmpdir_remove(dir);
}

/* What a refused revocation leaves: nothing at all. */
static void
nothing_changed(void)
{
	char		path[300];
	struct stat	st;

	ck_assert_uint_eq(nreported, 0);
	ck_assert_uint_eq(revoke_count(rv), 0);
	ck_assert(!revoke_has(rv, y.pk));
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(fake_link_nsent(lb), 0);
	snprintf(path, sizeof(path), "%s/revoked", dir);
	ck_assert_int_eq(stat(path, &st), -1);
}

START_TEST(sign_and_open)
{
	struct revocation	r, got;
	struct cbor_buf		b = { 0 };
	const char		*why;

	memset(&r, 0, sizeof(r));
	memcpy(r.id, y.pk, NODE_ID_LEN);
	memcpy(r.by, admin.pk, NODE_ID_LEN);
	r.ts = 1234567;
	snprintf(r.why, sizeof(r.why), "lost laptop");
	revocation_sign(&r, admin.sk, &b);
	ck_assert(!b.failed);
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), 0);
	ck_assert_mem_eq(got.id, y.pk, NODE_ID_LEN);
	ck_assert_mem_eq(got.by, admin.pk, NODE_ID_LEN);
	ck_assert_uint_eq(got.ts, 1234567);
	ck_assert_str_eq(got.why, "lost laptop");
	/* Any byte changed: the signature or the form fails. */
	b.data[b.len / 2] ^= 0x01;
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), -1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(malformed_refused)
{
	struct cbor_buf		 b = { 0 };
	struct revocation	 got;
	const char		*why;
	char			 long_why[REVOKE_WHY_MAX + 2];

	memset(long_why, 'w', sizeof(long_why) - 1);
	long_why[sizeof(long_why) - 1] = '\0';
	sign_body(&admin, REVOKE_VERSION, y.pk, admin.pk, long_why, &b);
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), -1);
	ck_assert_str_eq(why, "revocation reason too long");
	long_why[REVOKE_WHY_MAX] = '\0';	/* 200 bytes: fine */
	sign_body(&admin, REVOKE_VERSION, y.pk, admin.pk, long_why, &b);
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), 0);
	sign_body(&admin, 2, y.pk, admin.pk, "", &b);
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), -1);
	ck_assert_str_eq(why, "revocation of an unknown version");
	/* Short, trailing bytes, not a map. */
	signed_by(&admin, y.pk, &b);
	ck_assert_int_eq(revocation_open(b.data, b.len - 1, &got, &why), -1);
	cbor_put_uint(&b, 0);
	ck_assert_int_eq(revocation_open(b.data, b.len, &got, &why), -1);
	ck_assert_int_eq(revocation_open((const uint8_t *)"\x01", 1, &got,
	    &why), -1);
	/* Malformed on a link: nothing happens. */
	arrives(la, &b, 3);
	nothing_changed();
	cbor_buf_free(&b);
}
END_TEST

START_TEST(non_admin_refused)
{
	struct cbor_buf	 b = { 0 };
	const char	*why;

	signed_by(&x, y.pk, &b);
	arrives(la, &b, 3);
	nothing_changed();
	ck_assert_int_eq(revoke_offer(rv, NULL, b.data, b.len, 3, &why), -1);
	ck_assert_str_eq(why, "not signed by an admin");
	/* An admin's name on a non-admin's signature. */
	sign_body(&x, REVOKE_VERSION, y.pk, admin.pk, "forged", &b);
	arrives(la, &b, 3);
	nothing_changed();
	ck_assert_int_eq(revoke_offer(rv, NULL, b.data, b.len, 3, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(admin_not_revoked)
{
	struct cbor_buf	 b = { 0 };
	const char	*why;

	signed_by(&admin, admin2.pk, &b);
	ck_assert_int_eq(revoke_offer(rv, NULL, b.data, b.len, 3, &why), -1);
	ck_assert_str_eq(why, "revokes an admin");
	signed_by(&admin, admin.pk, &b);
	arrives(la, &b, 3);
	ck_assert(!revoke_has(rv, admin.pk));
	nothing_changed();
	cbor_buf_free(&b);
}
END_TEST

START_TEST(taken_once_and_flooded)
{
	struct cbor_buf	 b = { 0 };
	const char	*why;

	signed_by(&admin, y.pk, &b);
	arrives(la, &b, 3);
	ck_assert_uint_eq(nreported, 1);
	ck_assert_mem_eq(reported[0], y.pk, NODE_ID_LEN);
	ck_assert(revoke_has(rv, y.pk));
	ck_assert(!revoke_has(rv, x.pk));
	ck_assert_uint_eq(revoke_count(rv), 1);
	/* On to every link but the one it came by, one hop less. */
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	ck_assert_uint_eq(sent_hops(lb, 0), 2);
	/* Copies, from anywhere, change nothing. */
	arrives(lb, &b, 3);
	arrives(la, &b, 16);
	ck_assert_int_eq(revoke_offer(rv, NULL, b.data, b.len, 3, &why), -1);
	ck_assert_str_eq(why, "revoked already");
	ck_assert_uint_eq(nreported, 1);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	/* Another admin's, of another node, with no hops left: kept only. */
	signed_by(&admin2, x.pk, &b);
	arrives(la, &b, 0);
	ck_assert_uint_eq(nreported, 2);
	ck_assert(revoke_has(rv, x.pk));
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(this_node_revoked)
{
	struct cbor_buf	b = { 0 };

	signed_by(&admin, self.pk, &b);
	arrives(la, &b, 3);
	ck_assert_uint_eq(nreported, 1);
	ck_assert_mem_eq(reported[0], self.pk, NODE_ID_LEN);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(kept_across_restarts)
{
	struct cbor_buf	b = { 0 };
	uint8_t		d1[REVOKE_DIGEST_LEN], d2[REVOKE_DIGEST_LEN];
	char		path[300];
	struct stat	st;

	signed_by(&admin, y.pk, &b);
	arrives(la, &b, 3);
	signed_by(&admin2, x.pk, &b);
	arrives(la, &b, 3);
	revoke_digest(rv, d1);
	snprintf(path, sizeof(path), "%s/revoked", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	revoke_free(rv);
	nreported = 0;
	rv = start();
	ck_assert_ptr_nonnull(rv);
	/* Each reported at the start, as the owner must act on it. */
	ck_assert_uint_eq(nreported, 2);
	ck_assert(revoke_has(rv, y.pk));
	ck_assert(revoke_has(rv, x.pk));
	revoke_digest(rv, d2);
	ck_assert_mem_eq(d1, d2, REVOKE_DIGEST_LEN);
	/* The admins of then decide: admin2 no longer is one. */
	revoke_free(rv);
	admins.n = 1;
	nreported = 0;
	rv = start();
	ck_assert_ptr_nonnull(rv);
	ck_assert_uint_eq(nreported, 1);
	ck_assert(revoke_has(rv, y.pk));
	ck_assert(!revoke_has(rv, x.pk));
	cbor_buf_free(&b);
}
END_TEST

/* Writes bytes as STATE/revoked. */
static void
write_file(const void *p, size_t len)
{
	char	path[300];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/revoked", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(bad_file_refused)
{
	struct cbor_buf	 b = { 0 }, file = { 0 };
	uint8_t		 len[2];

	revoke_free(rv);
	rv = NULL;
	/* A length past what follows. */
	write_file("\x01\x00\xa2", 3);
	ck_assert_ptr_null(start());
	/* A byte short of a length. */
	write_file("\x01", 1);
	ck_assert_ptr_null(start());
	/* A signature that does not hold. */
	signed_by(&admin, y.pk, &b);
	b.data[b.len - 1] ^= 0x01;
	len[0] = (uint8_t)(b.len >> 8);
	len[1] = (uint8_t)b.len;
	cbor_put_raw(&file, len, 2);
	cbor_put_raw(&file, b.data, b.len);
	write_file(file.data, file.len);
	ck_assert_ptr_null(start());
	/* Empty: none. */
	write_file("", 0);
	ck_assert_ptr_nonnull(rv = start());
	ck_assert_uint_eq(revoke_count(rv), 0);
	cbor_buf_free(&b);
	cbor_buf_free(&file);
}
END_TEST

START_TEST(bounded)
{
	struct cbor_buf	 b = { 0 }, file = { 0 };
	struct tnode	 n;
	uint8_t		 len[2];
	const char	*why;
	size_t		 i;

	revoke_free(rv);
	for (i = 0; i < REVOKE_MAX; i++) {
		randombytes_buf(n.pk, sizeof(n.pk));
		signed_by(&admin, n.pk, &b);
		len[0] = (uint8_t)(b.len >> 8);
		len[1] = (uint8_t)b.len;
		cbor_put_raw(&file, len, 2);
		cbor_put_raw(&file, b.data, b.len);
	}
	ck_assert(!file.failed);
	write_file(file.data, file.len);
	nreported = 0;
	ck_assert_ptr_nonnull(rv = start());
	ck_assert_uint_eq(revoke_count(rv), REVOKE_MAX);
	ck_assert_uint_eq(nreported, REVOKE_MAX);
	signed_by(&admin, y.pk, &b);
	ck_assert_int_eq(revoke_offer(rv, NULL, b.data, b.len, 3, &why), -1);
	ck_assert_str_eq(why, "too many revocations held");
	arrives(la, &b, 3);
	ck_assert(!revoke_has(rv, y.pk));
	ck_assert_uint_eq(nreported, REVOKE_MAX);
	ck_assert_uint_eq(fake_link_nsent(lb), 0);
	cbor_buf_free(&b);
	cbor_buf_free(&file);
}
END_TEST

START_TEST(sent_on_link_up)
{
	struct cbor_buf	 b = { 0 };
	struct link	*l;
	uint8_t		 d[REVOKE_DIGEST_LEN], zero[REVOKE_DIGEST_LEN];

	/* Nothing held: nothing to send, whatever the peer holds. */
	l = fake_link_new(x.pk, x.name, true);
	memset(zero, 0, sizeof(zero));
	fake_link_rv(l, 3, zero);
	revoke_link_up(rv, l);
	ck_assert_uint_eq(fake_link_nsent(l), 0);
	signed_by(&admin, y.pk, &b);
	arrives(la, &b, 3);
	signed_by(&admin, x.pk, &b);
	arrives(la, &b, 3);
	/* A peer with none, and one with the same set. */
	fake_link_rv(l, 0, zero);
	revoke_link_up(rv, l);
	ck_assert_uint_eq(fake_link_count(l, "rvk"), 2);
	ck_assert_uint_eq(sent_hops(l, 0), REVOKE_HOPS);
	fake_link_forget_sent(l);
	revoke_digest(rv, d);
	fake_link_rv(l, 2, d);
	revoke_link_up(rv, l);
	ck_assert_uint_eq(fake_link_nsent(l), 0);
	/* The same count, another set. */
	d[0] ^= 1;
	fake_link_rv(l, 2, d);
	revoke_link_up(rv, l);
	ck_assert_uint_eq(fake_link_count(l, "rvk"), 2);
	fake_link_end(l, LINK_END_HERE, "done");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(digest_is_of_the_set)
{
	struct cbor_buf	b = { 0 };
	uint8_t		d[REVOKE_DIGEST_LEN], hy[REVOKE_DIGEST_LEN];
	uint8_t		hx[REVOKE_DIGEST_LEN];
	size_t		i;

	/* Whoever signed, in whatever order: XOR of the IDs' hashes. */
	signed_by(&admin2, x.pk, &b);
	arrives(la, &b, 3);
	signed_by(&admin, y.pk, &b);
	arrives(la, &b, 3);
	revoke_digest(rv, d);
	revocation_hash(x.pk, hx);
	revocation_hash(y.pk, hy);
	for (i = 0; i < REVOKE_DIGEST_LEN; i++)
		ck_assert_uint_eq(d[i], hx[i] ^ hy[i]);
	cbor_buf_free(&b);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("revoke");
	TCase	*tc = tcase_create("revoke");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sign_and_open);
	tcase_add_test(tc, malformed_refused);
	tcase_add_test(tc, non_admin_refused);
	tcase_add_test(tc, admin_not_revoked);
	tcase_add_test(tc, taken_once_and_flooded);
	tcase_add_test(tc, this_node_revoked);
	tcase_add_test(tc, kept_across_restarts);
	tcase_add_test(tc, bad_file_refused);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, sent_on_link_up);
	tcase_add_test(tc, digest_is_of_the_set);
	suite_add_tcase(s, tc);
	return s;
}
