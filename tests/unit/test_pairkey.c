/* SPDX-License-Identifier: ISC */
/*
 * test_pairkey.c: pairwise keys: both sides of a pair derive the same
 * key and mirrored directional subkeys, other pairs differ, IDs with no
 * X25519 form have no key, and the table's bound, eviction and forget.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "identity.h"
#include "pairkey.h"
#include "suites.h"

/* An identity from a seed of 32 bytes of b. */
static void
ident(struct identity *id, uint8_t b)
{
	uint8_t	seed[crypto_sign_SEEDBYTES];

	memset(id, 0, sizeof(*id));
	memset(seed, b, sizeof(seed));
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(id->x_sk,
	    id->sk), 0);
}

START_TEST(test_pair_agrees)
{
	struct identity		a, b, c;
	struct pairkeys		ab, ba, ac, cb;

	ck_assert_int_ge(sodium_init(), 0);
	ident(&a, 1);
	ident(&b, 2);
	ident(&c, 3);
	ck_assert_int_eq(pairkey_derive(&ab, &a, b.pk), 0);
	ck_assert_int_eq(pairkey_derive(&ba, &b, a.pk), 0);
	ck_assert_mem_eq(ab.k, ba.k, PAIRKEY_LEN);
	ck_assert_mem_eq(ab.tx, ba.rx, PAIRKEY_LEN);
	ck_assert_mem_eq(ab.rx, ba.tx, PAIRKEY_LEN);
	/* Each direction its own key, neither the pair key. */
	ck_assert(memcmp(ab.tx, ab.rx, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(ab.tx, ab.k, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(ab.rx, ab.k, PAIRKEY_LEN) != 0);

	/* A third node shares other keys with either. */
	ck_assert_int_eq(pairkey_derive(&ac, &a, c.pk), 0);
	ck_assert_int_eq(pairkey_derive(&cb, &c, b.pk), 0);
	ck_assert(memcmp(ac.k, ab.k, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(cb.k, ab.k, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(cb.k, ac.k, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(ac.tx, ab.tx, PAIRKEY_LEN) != 0);
	ck_assert(memcmp(cb.rx, ab.tx, PAIRKEY_LEN) != 0);
}
END_TEST

/*
 * The pair key of the identities with seeds of 0x01 and 0x02 bytes and
 * the subkey of 1 -> 2, worked out apart from libsodium (Python's
 * hashlib and cryptography): the format every implementation shares.
 */
static const char	*k12_hex =
    "9afb1f38db5474f85fee67770625682ccec6a0ce042aa94b79071cac7b2d5617";
static const char	*tx12_hex =
    "1fc960cf9030426b019870b66606d92e1e0eb433cdac0b713e3ac661a56c080c";

START_TEST(test_vector)
{
	struct identity	a, b;
	struct pairkeys	ab;
	uint8_t		want[PAIRKEY_LEN];

	ck_assert_int_ge(sodium_init(), 0);
	ident(&a, 1);
	ident(&b, 2);
	ck_assert_int_eq(sodium_hex2bin(want, sizeof(want), k12_hex,
	    strlen(k12_hex), NULL, NULL, NULL), 0);
	ck_assert_int_eq(pairkey_derive(&ab, &a, b.pk), 0);
	ck_assert_mem_eq(ab.k, want, PAIRKEY_LEN);
	ck_assert_int_eq(sodium_hex2bin(want, sizeof(want), tx12_hex,
	    strlen(tx12_hex), NULL, NULL, NULL), 0);
	ck_assert_mem_eq(ab.tx, want, PAIRKEY_LEN);
}
END_TEST

START_TEST(test_bad_ids)
{
	struct identity		a;
	struct pairkeys		out;
	struct pairkey		*t;
	uint8_t			id[NODE_ID_LEN];

	ck_assert_int_ge(sodium_init(), 0);
	ident(&a, 1);
	ck_assert_ptr_nonnull(t = pairkey_new(&a, 8));

	/* The neutral point: small order. */
	memset(id, 0, sizeof(id));
	id[0] = 1;
	ck_assert_int_eq(pairkey_derive(&out, &a, id), -1);
	ck_assert_ptr_null(pairkey_get(t, id));
	ck_assert_ptr_null(pairkey_get(t, id));	/* remembered */
	ck_assert_uint_eq(pairkey_count(t), 1);

	/* Not a canonical encoding of any point. */
	memset(id, 0xff, sizeof(id));
	ck_assert_int_eq(pairkey_derive(&out, &a, id), -1);
	ck_assert_ptr_null(pairkey_get(t, id));
	ck_assert_uint_eq(pairkey_count(t), 2);
	pairkey_free(t);
}
END_TEST

START_TEST(test_table)
{
	struct identity		 self, peer[6];
	struct pairkeys		 want;
	const struct pairkeys	*got;
	struct pairkey		*t;
	int			 i, j;

	ck_assert_int_ge(sodium_init(), 0);
	ident(&self, 100);
	for (i = 0; i < 6; i++)
		ident(&peer[i], (uint8_t)(i + 1));
	ck_assert_ptr_nonnull(t = pairkey_new(&self, 3));

	/* A hit is the same entry, not a new one. */
	ck_assert_ptr_nonnull(got = pairkey_get(t, peer[0].pk));
	ck_assert_ptr_eq(pairkey_get(t, peer[0].pk), got);
	ck_assert_uint_eq(pairkey_count(t), 1);
	ck_assert_uint_eq(pairkey_computed(t), 1);

	/* Full: a new node's key takes another's place and is kept. */
	for (i = 1; i < 4; i++)
		ck_assert_ptr_nonnull(pairkey_get(t, peer[i].pk));
	ck_assert_uint_eq(pairkey_count(t), 3);
	ck_assert_uint_eq(pairkey_computed(t), 4);
	ck_assert_ptr_nonnull(pairkey_get(t, peer[3].pk));
	ck_assert_uint_eq(pairkey_computed(t), 4);

	/* Past the bound, entries make room and keys stay right. */
	for (j = 0; j < 3; j++)
		for (i = 0; i < 6; i++) {
			ck_assert_ptr_nonnull(got = pairkey_get(t,
			    peer[i].pk));
			ck_assert_int_eq(pairkey_derive(&want, &self,
			    peer[i].pk), 0);
			ck_assert_mem_eq(got, &want, sizeof(want));
			ck_assert_uint_le(pairkey_count(t), 3);
		}
	ck_assert_uint_eq(pairkey_count(t), 3);

	/* The one just used is kept; forgetting it drops it. */
	pairkey_forget(t, peer[5].pk);
	ck_assert_uint_eq(pairkey_count(t), 2);
	pairkey_forget(t, peer[5].pk);		/* absent: nothing */
	ck_assert_uint_eq(pairkey_count(t), 2);
	ck_assert_ptr_nonnull(got = pairkey_get(t, peer[5].pk));
	ck_assert_int_eq(pairkey_derive(&want, &self, peer[5].pk), 0);
	ck_assert_mem_eq(got, &want, sizeof(want));
	ck_assert_uint_eq(pairkey_count(t), 3);
	pairkey_free(t);
	pairkey_free(NULL);
}
END_TEST

Suite *
pairkey_suite(void)
{
	Suite	*s = suite_create("pairkey");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_pair_agrees);
	tcase_add_test(tc, test_vector);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);
	return s;
}
