/* SPDX-License-Identifier: ISC */
/*
 * test_originauth.c: the MAC of a call message (a vector, and a change
 * to any covered field or to the body fails it) and the replay window
 * (new, repeated and too old counters, sliding across its 1024 slots
 * against a plain model, and a new run of the author).
 */
#include <stdbool.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "identity.h"
#include "originauth.h"
#include "pairkey.h"
#include "suites.h"

#define NFIELDS	5

struct msg {
	uint8_t			o[NODE_ID_LEN], p[NODE_ID_LEN];
	uint8_t			author[NODE_ID_LEN];
	uint8_t			s[4], m[4], d[8], w[1];
	struct oa_field		fields[NFIELDS];
	struct oa_header	h;
	uint8_t			body[64];
};

/* A call of the vector: o = author = seed 1's ID, p = seed 2's. */
static void
sample(struct msg *m, const uint8_t *o, const uint8_t *p)
{
	size_t	i;

	memset(m, 0, sizeof(*m));
	memcpy(m->o, o, NODE_ID_LEN);
	memcpy(m->p, p, NODE_ID_LEN);
	memcpy(m->author, o, NODE_ID_LEN);
	memcpy(m->s, "echo", 4);
	memcpy(m->m, "ping", 4);
	m->d[6] = 5000 >> 8;
	m->d[7] = 5000 & 0xff;
	m->w[0] = 1;
	m->fields[0] = (struct oa_field){ m->s, sizeof(m->s) };
	m->fields[1] = (struct oa_field){ NULL, 0 };	/* no g */
	m->fields[2] = (struct oa_field){ m->m, sizeof(m->m) };
	m->fields[3] = (struct oa_field){ m->d, sizeof(m->d) };
	m->fields[4] = (struct oa_field){ m->w, sizeof(m->w) };
	for (i = 0; i < sizeof(m->body); i++)
		m->body[i] = (uint8_t)i;
	m->h = (struct oa_header){ 'c', m->o, m->p, UINT64_C(0x0102030405060708),
	    UINT64_C(1700000000000000), m->author, m->fields, NFIELDS };
}

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

/* Worked out apart from libsodium, as test_pairkey.c's vector. */
static const char	*x_hex = "b86f7af4f50494ef71b01ce61e2933ff";

START_TEST(test_mac_vector)
{
	struct identity	a, b;
	struct pairkeys	ab, ba;
	struct msg	m;
	uint8_t		x[OA_MAC_LEN], want[OA_MAC_LEN];

	ck_assert_int_ge(sodium_init(), 0);
	ident(&a, 1);
	ident(&b, 2);
	ck_assert_int_eq(pairkey_derive(&ab, &a, b.pk), 0);
	ck_assert_int_eq(pairkey_derive(&ba, &b, a.pk), 0);
	sample(&m, a.pk, b.pk);
	originauth_mac(x, ab.tx, &m.h, m.body, sizeof(m.body));
	ck_assert_int_eq(sodium_hex2bin(want, sizeof(want), x_hex,
	    strlen(x_hex), NULL, NULL, NULL), 0);
	ck_assert_mem_eq(x, want, OA_MAC_LEN);
	/* The addressee checks under its theirs-to-ours key. */
	ck_assert(originauth_mac_ok(x, ba.rx, &m.h, m.body, sizeof(m.body)));
	/* Not under the other direction's. */
	ck_assert(!originauth_mac_ok(x, ba.tx, &m.h, m.body, sizeof(m.body)));
	ck_assert(!originauth_mac_ok(x, ab.rx, &m.h, m.body, sizeof(m.body)));
}
END_TEST

/* Every bit of every covered byte, flipped alone, fails the MAC. */
START_TEST(test_mac_flips)
{
	uint8_t		kd[PAIRKEY_LEN], x[OA_MAC_LEN], id1[NODE_ID_LEN],
			id2[NODE_ID_LEN];
	struct msg	m;
	uint8_t		*spans[] = { m.o, m.p, m.author, m.s, m.m, m.d, m.w,
			    m.body };
	size_t		 lens[] = { NODE_ID_LEN, NODE_ID_LEN, NODE_ID_LEN,
			    sizeof(m.s), sizeof(m.m), sizeof(m.d),
			    sizeof(m.w), sizeof(m.body) };
	size_t		 i, j, n = 0;
	int		 bit;

	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(kd, sizeof(kd));
	randombytes_buf(id1, sizeof(id1));
	randombytes_buf(id2, sizeof(id2));
	sample(&m, id1, id2);
	originauth_mac(x, kd, &m.h, m.body, sizeof(m.body));
	ck_assert(originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));

	for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		for (j = 0; j < lens[i]; j++)
			for (bit = 0; bit < 8; bit++) {
				spans[i][j] ^= 1u << bit;
				ck_assert(!originauth_mac_ok(x, kd, &m.h,
				    m.body, sizeof(m.body)));
				spans[i][j] ^= 1u << bit;
				n++;
			}
	ck_assert_uint_eq(n, 8 * (3 * NODE_ID_LEN + 4 + 4 + 8 + 1 + 64));

	for (bit = 0; bit < 8; bit++) {
		m.h.type ^= 1u << bit;
		ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body,
		    sizeof(m.body)));
		m.h.type ^= 1u << bit;
	}
	for (bit = 0; bit < 64; bit++) {
		m.h.c ^= UINT64_C(1) << bit;
		ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body,
		    sizeof(m.body)));
		m.h.c ^= UINT64_C(1) << bit;
		m.h.q ^= UINT64_C(1) << bit;
		ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body,
		    sizeof(m.body)));
		m.h.q ^= UINT64_C(1) << bit;
	}
	for (j = 0; j < OA_MAC_LEN; j++) {
		x[j] ^= 0x80;
		ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body,
		    sizeof(m.body)));
		x[j] ^= 0x80;
	}
	ck_assert(originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));
}
END_TEST

/* Shapes that hash alike without framing: all must differ. */
START_TEST(test_mac_framing)
{
	uint8_t		kd[PAIRKEY_LEN], x[OA_MAC_LEN], id[NODE_ID_LEN];
	uint8_t		sm[8] = { 'e', 'c', 'h', 'o', 'p', 'i', 'n', 'g' };
	struct msg	m;

	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(kd, sizeof(kd));
	randombytes_buf(id, sizeof(id));
	sample(&m, id, id);
	m.fields[0] = (struct oa_field){ sm, 4 };
	m.fields[2] = (struct oa_field){ sm + 4, 4 };
	originauth_mac(x, kd, &m.h, m.body, sizeof(m.body));
	ck_assert(originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));

	/* A byte moved from one field to the next. */
	m.fields[0].len = 3;
	m.fields[2] = (struct oa_field){ sm + 3, 5 };
	ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));
	m.fields[0].len = 4;
	m.fields[2] = (struct oa_field){ sm + 4, 4 };
	/* A field absent is not a field empty. */
	m.fields[1] = (struct oa_field){ sm, 0 };
	ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));
	m.fields[1] = (struct oa_field){ NULL, 0 };
	/* A field fewer; a shorter body. */
	m.h.nfields--;
	ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));
	m.h.nfields++;
	ck_assert(!originauth_mac_ok(x, kd, &m.h, m.body,
	    sizeof(m.body) - 1));
	ck_assert(originauth_mac_ok(x, kd, &m.h, m.body, sizeof(m.body)));

	/* An empty body, as in a cancel, is covered too. */
	m.h.type = 'n';
	m.h.nfields = 0;
	originauth_mac(x, kd, &m.h, NULL, 0);
	ck_assert(originauth_mac_ok(x, kd, &m.h, NULL, 0));
	m.h.c++;
	ck_assert(!originauth_mac_ok(x, kd, &m.h, NULL, 0));
}
END_TEST

#define S0	UINT64_C(1700000000)		/* a run's start, seconds */
#define Q0	(S0 * 1000000)			/* its first counters */

START_TEST(test_window_basics)
{
	struct oa_window	w;
	uint64_t		q;

	memset(&w, 0, sizeof(w));
	for (q = Q0; q < Q0 + 10; q++)
		ck_assert(oa_window_take(&w, S0, q));
	for (q = Q0; q < Q0 + 10; q++)
		ck_assert(!oa_window_take(&w, S0, q));	/* repeats */

	/* Out of order within the window, once each. */
	ck_assert(oa_window_take(&w, S0, Q0 + 2000));
	ck_assert(oa_window_take(&w, S0, Q0 + 2000 - 1023));
	ck_assert(!oa_window_take(&w, S0, Q0 + 2000 - 1023));
	ck_assert(!oa_window_take(&w, S0, Q0 + 2000 - 1024));	/* too old */
	ck_assert(!oa_window_take(&w, S0, Q0 + 5));
	ck_assert(oa_window_take(&w, S0, Q0 + 1999));
	ck_assert(!oa_window_take(&w, S0, Q0 + 2000));

	/* Sliding by exactly the window forgets all but the new top. */
	ck_assert(oa_window_take(&w, S0, Q0 + 2000 + 1024));
	ck_assert(!oa_window_take(&w, S0, Q0 + 2000));
	ck_assert(oa_window_take(&w, S0, Q0 + 2001));
	ck_assert(!oa_window_take(&w, S0, Q0 + 2001));

	/* By one less, the old top stays taken at the far slot. */
	memset(&w, 0, sizeof(w));
	ck_assert(oa_window_take(&w, S0, Q0 + 100));
	ck_assert(oa_window_take(&w, S0, Q0 + 100 + 1023));
	ck_assert(!oa_window_take(&w, S0, Q0 + 100));
	ck_assert(oa_window_take(&w, S0, Q0 + 101));
	ck_assert(oa_window_take(&w, S0, Q0 + 100 + 1024));
	ck_assert(!oa_window_take(&w, S0, Q0 + 100));	/* now too old */
	ck_assert(!oa_window_take(&w, S0, Q0 + 101));	/* taken, far slot */
}
END_TEST

/*
 * Random takes against a plain model: a counter is new if above the
 * highest taken, or within 1024 below it and never taken.  Steps of
 * every size cross the 64-bit words of the bitmap at every offset.
 */
#define SPAN	4096

START_TEST(test_window_model)
{
	static bool		taken[SPAN * 8];
	struct oa_window	w;
	uint64_t		top = 0, q, r;
	bool			any = false, want;
	int			i, yes = 0, no = 0;

	memset(&w, 0, sizeof(w));
	memset(taken, 0, sizeof(taken));
	for (i = 0; i < 200000; i++) {
		r = randombytes_uniform(100);
		if (r < 10 || !any)		/* a jump ahead */
			q = top + 1 + randombytes_uniform(r < 2 ? 1500 : 70);
		else				/* around the top */
			q = top + 8 - randombytes_uniform(1100);
		if (q >= SPAN * 8) {
			memset(&w, 0, sizeof(w));
			memset(taken, 0, sizeof(taken));
			top = 0;
			any = false;
			continue;
		}
		if (!any || q > top)
			want = true;
		else
			want = top - q < OA_WINDOW && !taken[q];
		ck_assert_msg(oa_window_take(&w, 0, q) == want,
		    "q %llu top %llu", (unsigned long long)q,
		    (unsigned long long)top);
		if (want) {
			taken[q] = true;
			if (!any || q > top)
				top = q;
			any = true;
			yes++;
		} else
			no++;
	}
	/* Both answers were tried many times. */
	ck_assert_int_gt(yes, 10000);
	ck_assert_int_gt(no, 10000);
}
END_TEST

START_TEST(test_window_restart)
{
	struct oa_window	w;
	uint64_t		s1 = S0 + 60, q1 = s1 * 1000000;

	memset(&w, 0, sizeof(w));
	ck_assert(oa_window_take(&w, S0, Q0 + 5000000));
	ck_assert(oa_window_take(&w, S0, Q0 + 5000001));

	/* A new run: the window starts again at its start... */
	ck_assert(oa_window_take(&w, s1, q1 + 7));
	ck_assert(!oa_window_take(&w, s1, q1 + 7));
	ck_assert(oa_window_take(&w, s1, q1 + 3));
	/* ...and the earlier run's counters are refused. */
	ck_assert(!oa_window_take(&w, s1, Q0 + 5000002));
	ck_assert(!oa_window_take(&w, s1, q1 - 1));
	ck_assert(oa_window_take(&w, s1, q1));

	/* A restart whose clock went back is not locked out. */
	ck_assert(oa_window_take(&w, S0 - 60, (S0 - 60) * 1000000 + 1));
	ck_assert(!oa_window_take(&w, S0 - 60, (S0 - 60) * 1000000 + 1));

	/* No record held (0): any counter, still once. */
	ck_assert(oa_window_take(&w, 0, 5));
	ck_assert(!oa_window_take(&w, 0, 5));
	ck_assert(oa_window_take(&w, 0, 4));

	/* A start too large to be a time refuses everything. */
	ck_assert(!oa_window_take(&w, UINT64_MAX / 1000, UINT64_MAX));
}
END_TEST

Suite *
originauth_suite(void)
{
	Suite	*s = suite_create("originauth");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_mac_vector);
	tcase_add_test(tc, test_mac_flips);
	tcase_add_test(tc, test_mac_framing);
	tcase_add_test(tc, test_window_basics);
	tcase_add_test(tc, test_window_model);
	tcase_add_test(tc, test_window_restart);
	suite_add_tcase(s, tc);
	return s;
}
