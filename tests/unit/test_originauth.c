/* SPDX-License-Identifier: ISC */
/*
 * test_originauth.c: the MAC of a call message (a vector, and a change
 * to any covered field or to the body fails it) and the replay window
 * (new, repeated and too old counters, sliding across its 1024 slots
 * against a plain model, and a new run of the author); sealing and
 * opening call messages of every type through the link codec, with
 * tampering, replays, answers made by relays, and messages without a
 * MAC under origin_auth = auto and required.
 */
#include <stdbool.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "callmsg.h"
#include "clock.h"
#include "identity.h"
#include "linkmsg.h"
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
static const char	*x_hex = "ebd6affc0094ea8dfbf8fdea5038b435";

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

	/*
	 * A new run's messages that came before its record did stay
	 * taken once the record comes: no replay when it does.
	 */
	memset(&w, 0, sizeof(w));
	ck_assert(oa_window_take(&w, S0, Q0 + 5));
	ck_assert(oa_window_take(&w, S0, q1 + 7));
	ck_assert(!oa_window_take(&w, s1, q1 + 7));
	ck_assert(oa_window_take(&w, s1, q1 + 8));
	/* Nor again when the record, lost a while (0), comes back. */
	ck_assert(oa_window_take(&w, 0, q1 + 9));
	ck_assert(!oa_window_take(&w, s1, q1 + 9));

	/* A start too large to be a time refuses everything. */
	ck_assert(!oa_window_take(&w, UINT64_MAX / 1000, UINT64_MAX));
}
END_TEST

/* Three nodes: A and B at the ends, R a relay between them. */
struct node {
	struct identity		 id;
	struct pairkey		*keys;
	struct originauth	*oa;
};

/* The records the nodes under test hold, the same for all. */
static struct {
	bool		held, auth;
	uint64_t	started;
}			recs[3];
static struct node	nodes[3];
enum { A, B, R };

static bool
record_of(void *arg, const uint8_t *id, bool *auth, uint64_t *started)
{
	int	i;

	(void)arg;
	for (i = 0; i < 3; i++)
		if (memcmp(id, nodes[i].id.pk, NODE_ID_LEN) == 0 &&
		    recs[i].held) {
			*auth = recs[i].auth;
			*started = recs[i].started;
			return true;
		}
	return false;
}

static bool	revoked[3];

static bool
is_revoked(void *arg, const uint8_t *id)
{
	int	i;

	(void)arg;
	for (i = 0; i < 3; i++)
		if (memcmp(id, nodes[i].id.pk, NODE_ID_LEN) == 0)
			return revoked[i];
	return false;
}

static void
nodes_up(bool required)
{
	struct originauth_params	p;
	int				i;

	ck_assert_int_ge(sodium_init(), 0);
	for (i = 0; i < 3; i++) {
		ident(&nodes[i].id, (uint8_t)(0x41 + i));
		ck_assert_ptr_nonnull(nodes[i].keys =
		    pairkey_new(&nodes[i].id, 16));
		p = (struct originauth_params){ nodes[i].id.pk, required, 16,
		    record_of, is_revoked, NULL };
		revoked[i] = false;
		ck_assert_ptr_nonnull(nodes[i].oa = originauth_new(&p,
		    nodes[i].keys));
		recs[i].held = true;
		recs[i].auth = true;
		recs[i].started = clock_wall_ms() / 1000 - 10;
	}
}

static void
nodes_down(void)
{
	int	i;

	for (i = 0; i < 3; i++) {
		originauth_free(nodes[i].oa);
		pairkey_free(nodes[i].keys);
	}
}

static const uint8_t	args[] = { 0xa1, 0x61, 'k', 0x63, 'v', 'a', 'l' };
static const uint8_t	ctx[] = { 0x81, 0x07 };

/* A message of type t from the node from to the node to. */
static void
make(struct callmsg *m, enum callmsg_type t, int from, int to)
{
	memset(m, 0, sizeof(*m));
	m->type = t;
	memcpy(t == CALLMSG_ANSWER ? m->provider : m->origin,
	    nodes[from].id.pk, NODE_ID_LEN);
	memcpy(t == CALLMSG_ANSWER ? m->origin : m->provider,
	    nodes[to].id.pk, NODE_ID_LEN);
	m->cid = UINT64_C(0x8877665544332211);
	m->hops = CALLMSG_HOPS;
	switch (t) {
	case CALLMSG_CALL:
		strcpy(m->service, "echo");
		strcpy(m->group, "blue");
		strcpy(m->method, "say");
		m->timeout_ms = 1500;
		m->args = args;
		m->argslen = sizeof(args);
		break;
	case CALLMSG_EVENT:
		strcpy(m->topic, "sensor.temp");
		m->args = args;
		m->argslen = sizeof(args);
		break;
	case CALLMSG_KV:
		m->args = args;
		m->argslen = sizeof(args);
		break;
	case CALLMSG_ANSWER:
		m->err.code = PEER_NOT_FOUND;
		m->err.msg = "no such method";
		m->err.msglen = strlen(m->err.msg);
		m->err.context = ctx;
		m->err.contextlen = sizeof(ctx);
		break;
	case CALLMSG_CANCEL:
		break;
	}
}

/* m encoded as a relay sends it, and decoded at the next node. */
static void
wire(const struct callmsg *m, struct cbor_buf *b, struct callmsg *out)
{
	struct linkmsg	 lm;
	const char	*why = NULL;

	cbor_buf_reset(b);
	callmsg_encode(b, m);
	ck_assert(!b->failed);
	ck_assert_int_eq(linkmsg_decode(b->data, b->len, &lm), 0);
	ck_assert_msg(callmsg_decode(lm.type, lm.f, lm.nf, out, &why) == 0,
	    "%s", why);
}

/* Sealed by from, through two relays' codecs, opened by to. */
static void
sealed(struct callmsg *out, struct cbor_buf *b, struct cbor_buf *b2,
    enum callmsg_type t, int from, int to)
{
	struct callmsg	m, hop;

	make(&m, t, from, to);
	ck_assert_int_eq(originauth_seal(nodes[from].oa, &m), 0);
	ck_assert(m.has_mac);
	wire(&m, b, &hop);
	hop.hops--;			/* not covered */
	wire(&hop, b2, out);
	ck_assert(out->has_mac);
}

static enum oa_result
open_at(int at, const struct callmsg *m, int via)
{
	return originauth_open(nodes[at].oa, m, nodes[via].id.pk);
}

START_TEST(test_seal_open_types)
{
	struct cbor_buf	b = { 0 }, b2 = { 0 };
	struct callmsg	m;
	struct oa_stats	st;
	int		t;

	nodes_up(false);
	for (t = CALLMSG_CALL; t < CALLMSG_TYPES; t++) {
		sealed(&m, &b, &b2, t, A, B);
		ck_assert_int_eq(open_at(B, &m, R), OA_OK);
		/* Once only. */
		ck_assert_int_eq(open_at(B, &m, R), OA_REPLAY);
		/* The other way. */
		sealed(&m, &b, &b2, t, B, A);
		ck_assert_int_eq(open_at(A, &m, R), OA_OK);
		/* Not for a node it is not for. */
		ck_assert_int_eq(open_at(R, &m, A), OA_BAD_MAC);
	}
	/* A call without a group, one-way, without arguments. */
	make(&m, CALLMSG_CALL, A, B);
	m.group[0] = '\0';
	m.oneway = true;
	m.args = NULL;
	m.argslen = 0;
	ck_assert_int_eq(originauth_seal(nodes[A].oa, &m), 0);
	ck_assert_int_eq(open_at(B, &m, R), OA_OK);
	/* An answer with a result. */
	make(&m, CALLMSG_ANSWER, B, A);
	m.err = (struct ctl_error){ 0 };
	m.result = args;
	m.resultlen = sizeof(args);
	ck_assert_int_eq(originauth_seal(nodes[B].oa, &m), 0);
	ck_assert_int_eq(open_at(A, &m, R), OA_OK);

	originauth_stats(nodes[B].oa, &st);
	ck_assert_uint_eq(st.opened[CALLMSG_CALL][OA_OK], 2);
	ck_assert_uint_eq(st.opened[CALLMSG_KV][OA_REPLAY], 1);
	ck_assert_uint_eq(st.sealed, CALLMSG_TYPES + 1);
	ck_assert_uint_eq(st.windows, 1);
	ck_assert_str_eq(originauth_result_name(OA_RELAY_ANSWER),
	    "relay_answer");
	nodes_down();
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}
END_TEST

/* Every covered field changed on the way fails the MAC. */
START_TEST(test_seal_open_tampered)
{
	struct cbor_buf	b = { 0 }, b2 = { 0 };
	struct callmsg	m, x;
	uint8_t		copy[64];
	int		t, i, n;

	nodes_up(false);
	for (t = CALLMSG_CALL; t < CALLMSG_TYPES; t++) {
		sealed(&m, &b, &b2, t, A, B);
		for (i = 0, n = 0; i < 16; i++) {
			x = m;
			switch (i) {
			case 0:
				x.origin[5] ^= 1;
				break;
			case 1:
				x.provider[5] ^= 1;
				break;
			case 2:
				x.cid++;
				break;
			case 3:
				x.seq++;
				break;
			case 4:
				x.mac[15] ^= 0x80;
				break;
			case 5:
				/* another type of the same fields */
				if (t != CALLMSG_CANCEL)
					continue;
				x.type = CALLMSG_CALL;
				strcpy(x.service, "echo");
				strcpy(x.method, "say");
				break;
			case 6:
				if (x.args == NULL)
					continue;
				memcpy(copy, x.args, x.argslen);
				copy[x.argslen - 1] ^= 1;
				x.args = copy;
				break;
			case 7:
				if (t != CALLMSG_CALL && t != CALLMSG_EVENT)
					continue;
				x.args = NULL;
				x.argslen = 0;
				break;
			case 8:
				if (t == CALLMSG_CALL)
					x.service[0] = 'E';
				else if (t == CALLMSG_EVENT)
					x.topic[0] = 'S';
				else
					continue;
				break;
			case 9:
				if (t != CALLMSG_CALL)
					continue;
				x.group[0] = '\0';
				break;
			case 10:
				if (t != CALLMSG_CALL)
					continue;
				x.method[2] = 'w';
				break;
			case 11:
				if (t != CALLMSG_CALL)
					continue;
				x.timeout_ms++;
				break;
			case 12:
				if (t != CALLMSG_CALL)
					continue;
				x.oneway = true;
				break;
			case 13:
				if (t != CALLMSG_ANSWER)
					continue;
				memcpy(copy, x.errraw, x.errrawlen);
				copy[x.errrawlen - 1] ^= 1;
				x.errraw = copy;
				break;
			case 14:
				/* an error made a result */
				if (t != CALLMSG_ANSWER)
					continue;
				x.result = x.errraw;
				x.resultlen = x.errrawlen;
				x.errraw = NULL;
				break;
			case 15:
				/* o or p made the author of another's */
				if (t != CALLMSG_ANSWER)
					continue;
				x.has_by = true;
				memcpy(x.by, nodes[R].id.pk, NODE_ID_LEN);
				x.err.code = PEER_UNAVAILABLE;
				break;
			}
			n++;
			ck_assert_msg(open_at(B, &x, R) != OA_OK,
			    "type %d change %d passed", t, i);
		}
		ck_assert_int_ge(n, 5);
		/* Hops are not covered; the untouched message passes. */
		m.hops = 1;
		ck_assert_int_eq(open_at(B, &m, R), OA_OK);
	}
	nodes_down();
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}
END_TEST

/* A relay cannot author under another's ID with its own keys. */
START_TEST(test_seal_open_forged)
{
	struct callmsg	m;
	int		t;

	nodes_up(false);
	for (t = CALLMSG_CALL; t < CALLMSG_TYPES; t++) {
		make(&m, t, A, B);
		/* R seals what claims to be A's, under R's key with B. */
		ck_assert_int_eq(originauth_seal(nodes[R].oa, &m), 0);
		ck_assert_int_eq(open_at(B, &m, R), OA_BAD_MAC);
		/* Without a MAC, from R: A's record says it has auth. */
		m.has_mac = false;
		ck_assert_int_eq(open_at(B, &m, R), OA_NO_MAC);
		/* The same from A itself, on the link to A: the link says. */
		ck_assert_int_eq(open_at(B, &m, A), OA_OK);
	}
	nodes_down();
}
END_TEST

/* Replays, reordering, and a counter of the author's earlier run. */
START_TEST(test_seal_open_replay)
{
	struct cbor_buf	b = { 0 }, b2 = { 0 }, keep[4];
	struct callmsg	m[4];
	int		i;

	nodes_up(false);
	memset(keep, 0, sizeof(keep));
	for (i = 0; i < 4; i++)
		sealed(&m[i], &b, &keep[i], CALLMSG_KV, A, B);
	for (i = 1; i < 4; i++)
		ck_assert_uint_eq(m[i].seq, m[i - 1].seq + 1);
	/* Out of order is fine, twice is not. */
	ck_assert_int_eq(open_at(B, &m[2], R), OA_OK);
	ck_assert_int_eq(open_at(B, &m[0], R), OA_OK);
	ck_assert_int_eq(open_at(B, &m[0], R), OA_REPLAY);
	ck_assert_int_eq(open_at(B, &m[3], R), OA_OK);
	ck_assert_int_eq(open_at(B, &m[2], R), OA_REPLAY);
	/* A restarted: its new run refuses what the old one sent. */
	recs[A].started = clock_wall_ms() / 1000 + 5;
	ck_assert_int_eq(open_at(B, &m[1], R), OA_REPLAY);
	/* Forgotten, and no record held: taken once more (the residual). */
	originauth_forget(nodes[B].oa, nodes[A].id.pk);
	recs[A].held = false;
	ck_assert_int_eq(open_at(B, &m[1], R), OA_OK);
	ck_assert_int_eq(open_at(B, &m[1], R), OA_REPLAY);
	/* A forgotten addressee's counter starts again above the old. */
	originauth_forget(nodes[A].oa, nodes[B].id.pk);
	sealed(&m[0], &b, &b2, CALLMSG_KV, A, B);
	ck_assert_uint_gt(m[0].seq, m[3].seq);
	ck_assert_int_eq(open_at(B, &m[0], R), OA_OK);
	for (i = 0; i < 4; i++)
		cbor_buf_free(&keep[i]);
	nodes_down();
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}
END_TEST

/* A relay's answer: only an error a relay can meet, and by it. */
START_TEST(test_relay_answer)
{
	struct cbor_buf	b = { 0 }, b2 = { 0 };
	struct callmsg	m, x;
	static const enum peer_code ok[] = { PEER_UNAVAILABLE,
			    PEER_DEADLINE_EXCEEDED, PEER_RESOURCE_EXHAUSTED };
	size_t		i;

	nodes_up(false);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		/* route_fail at R: o = A, p = B, by = R. */
		make(&m, CALLMSG_ANSWER, B, A);
		m.err.code = ok[i];
		m.err.context = NULL;
		m.has_by = true;
		memcpy(m.by, nodes[R].id.pk, NODE_ID_LEN);
		ck_assert_int_eq(originauth_seal(nodes[R].oa, &m), 0);
		wire(&m, &b, &x);
		ck_assert(x.has_by);
		ck_assert_int_eq(open_at(A, &x, B), OA_OK);
		ck_assert_int_eq(open_at(A, &x, B), OA_REPLAY);
		/* Made directly on the link to R: no MAC needed. */
		m.has_mac = false;
		ck_assert_int_eq(open_at(A, &m, R), OA_OK);
		ck_assert_int_eq(open_at(A, &m, B), OA_NO_MAC);
	}
	/* Any other code, even with a good MAC. */
	make(&m, CALLMSG_ANSWER, B, A);
	m.has_by = true;
	memcpy(m.by, nodes[R].id.pk, NODE_ID_LEN);
	ck_assert_int_eq(originauth_seal(nodes[R].oa, &m), 0);
	ck_assert_int_eq(open_at(A, &m, R), OA_RELAY_ANSWER);
	/* A result. */
	make(&m, CALLMSG_ANSWER, B, A);
	m.err = (struct ctl_error){ 0 };
	m.result = args;
	m.resultlen = sizeof(args);
	m.has_by = true;
	memcpy(m.by, nodes[R].id.pk, NODE_ID_LEN);
	ck_assert_int_eq(originauth_seal(nodes[R].oa, &m), 0);
	ck_assert_int_eq(open_at(A, &m, R), OA_RELAY_ANSWER);
	/* by = p: the provider's own answer goes without by. */
	make(&m, CALLMSG_ANSWER, B, A);
	m.err.code = PEER_UNAVAILABLE;
	m.has_by = true;
	memcpy(m.by, nodes[B].id.pk, NODE_ID_LEN);
	ck_assert_int_eq(originauth_seal(nodes[B].oa, &m), 0);
	ck_assert_int_eq(open_at(A, &m, R), OA_RELAY_ANSWER);
	/* A relay's answer made to look like the provider's. */
	make(&m, CALLMSG_ANSWER, B, A);
	m.err.code = PEER_UNAVAILABLE;
	m.has_by = true;
	memcpy(m.by, nodes[R].id.pk, NODE_ID_LEN);
	ck_assert_int_eq(originauth_seal(nodes[R].oa, &m), 0);
	wire(&m, &b, &x);
	x.has_by = false;
	wire(&x, &b2, &m);
	ck_assert_int_eq(open_at(A, &m, R), OA_BAD_MAC);
	nodes_down();
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}
END_TEST

/* No MAC, not on the author's link: an old node's, under auto only. */
static void
unverified(bool required)
{
	struct callmsg	m;
	int		t;

	nodes_up(required);
	for (t = CALLMSG_CALL; t < CALLMSG_TYPES; t++) {
		make(&m, t, A, B);
		recs[A].held = true;
		recs[A].auth = false;
		ck_assert_int_eq(open_at(B, &m, R), required ? OA_NO_MAC :
		    OA_UNVERIFIED);
		ck_assert_int_eq(open_at(B, &m, A), OA_OK);
		recs[A].auth = true;
		ck_assert_int_eq(open_at(B, &m, R), OA_NO_MAC);
		recs[A].held = false;
		ck_assert_int_eq(open_at(B, &m, R), OA_NO_MAC);
		ck_assert_int_eq(open_at(B, &m, A), OA_OK);
	}
	nodes_down();
}

START_TEST(test_unverified_auto)
{
	unverified(false);
}
END_TEST

START_TEST(test_unverified_required)
{
	unverified(true);
}
END_TEST

/* An ID with no X25519 form has no key: nothing sealed, nothing opened. */
START_TEST(test_no_key)
{
	struct callmsg	m;

	nodes_up(false);
	make(&m, CALLMSG_CALL, A, B);
	memset(m.provider, 0, NODE_ID_LEN);
	m.provider[0] = 1;		/* the identity point: small order */
	ck_assert_int_eq(originauth_seal(nodes[A].oa, &m), -1);
	make(&m, CALLMSG_CALL, A, B);
	ck_assert_int_eq(originauth_seal(nodes[A].oa, &m), 0);
	memset(m.origin, 0, NODE_ID_LEN);
	m.origin[0] = 1;
	ck_assert_int_eq(open_at(B, &m, R), OA_NO_KEY);
	nodes_down();
}
END_TEST

/*
 * A revoked node's messages are dropped, MAC or not, first hand or
 * relayed: its key comes from its ID, which it keeps.
 */
START_TEST(test_revoked_author)
{
	struct cbor_buf	b = { 0 }, b2 = { 0 };
	struct callmsg	m;
	struct oa_stats	st;

	nodes_up(false);
	sealed(&m, &b, &b2, CALLMSG_CALL, A, B);
	revoked[A] = true;
	ck_assert_int_eq(open_at(B, &m, R), OA_REVOKED);
	ck_assert_int_eq(open_at(B, &m, A), OA_REVOKED);
	make(&m, CALLMSG_EVENT, A, B);
	ck_assert_int_eq(open_at(B, &m, A), OA_REVOKED);
	/* Others' still go. */
	sealed(&m, &b, &b2, CALLMSG_CALL, R, B);
	ck_assert_int_eq(open_at(B, &m, A), OA_OK);
	originauth_stats(nodes[B].oa, &st);
	ck_assert_uint_eq(st.opened[CALLMSG_CALL][OA_REVOKED], 2);
	ck_assert_uint_eq(st.dropped, 3);
	ck_assert_str_eq(originauth_result_name(OA_REVOKED), "revoked");
	nodes_down();
	cbor_buf_free(&b);
	cbor_buf_free(&b2);
}
END_TEST

Suite *
originauth_suite(void)
{
	Suite	*s = suite_create("originauth");
	TCase	*tc = tcase_create("core");

	/* The window model takes 200 000 counters: room on a busy host. */
	tcase_set_timeout(tc, 30);

	tcase_add_test(tc, test_mac_vector);
	tcase_add_test(tc, test_mac_flips);
	tcase_add_test(tc, test_mac_framing);
	tcase_add_test(tc, test_window_basics);
	tcase_add_test(tc, test_window_model);
	tcase_add_test(tc, test_window_restart);
	tcase_add_test(tc, test_seal_open_types);
	tcase_add_test(tc, test_seal_open_tampered);
	tcase_add_test(tc, test_seal_open_forged);
	tcase_add_test(tc, test_seal_open_replay);
	tcase_add_test(tc, test_relay_answer);
	tcase_add_test(tc, test_unverified_auto);
	tcase_add_test(tc, test_unverified_required);
	tcase_add_test(tc, test_no_key);
	tcase_add_test(tc, test_revoked_author);
	suite_add_tcase(s, tc);
	return s;
}
