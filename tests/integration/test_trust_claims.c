/* SPDX-License-Identifier: ISC */
/*
 * test_trust_claims.c: forged death claims (doc/trust-design.md,
 * section 2).  A rogue member linked to all five daemons says a live
 * node V is dead and suspect, at V's current incarnation and in the
 * name ("by") of real members, five times a second on every link, and
 * sends digests listing V dead: no daemon ever shows V suspect or dead,
 * V refutes at most about once a second, and calls to V keep working.
 * A real kill -9 during the attack, of another node or of V itself, is
 * still seen dead by every daemon within a second.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "base32.h"
#include "harness.h"
#include "peer.h"
#include "rogue.h"
#include "suites.h"

#define N		5
#define V		1		/* the victim of the forged claims */
#define W		2		/* killed for real during the attack */
#define CALLER		0		/* calls V's echo service */
#define TICK_MS		200		/* claims: 5 a second a link */
#define DIGEST_MS	1000		/* a digest listing V dead */
#define POLL_MS		100
#define SEEN_DEAD_MS	1000
#define DIGEST_ENTRY	(32 + 8 + 1)
#define STATE_DEAD	2		/* as digests encode it */

static struct daemon	n[N];
static char		names[N][16];
static uint8_t		ids[N][32];
static uint8_t		netkey[32];
static pid_t		echo = -1;

/* The attack under way: the rogue's links and what it says. */
struct attack {
	struct rogue	 r[N];
	bool		 up[N];		/* its link to n[i] is open */
	json_int_t	 inc;		/* V's incarnation, as seen last */
	long		 next_tick, next_digest;
	int		 sent;		/* claims sent, all links */
	int		 by;		/* whose name the next "sus" forges */
};

static bool
converged(void *arg)
{
	char		*s;
	int		 i, k;
	bool		 ok = true;

	(void)arg;
	for (i = 0; i < N && ok; i++)
		for (k = 0; k < N && ok; k++) {
			s = member_state(&n[i], names[k], NULL);
			ok = s != NULL && strcmp(s, "alive") == 0;
			free(s);
		}
	return ok;
}

/* Five daemons, default timings but rare pings: the rogue reads nothing. */
static void
setup(void)
{
	char	id[64];
	int	i;

	randombytes_buf(netkey, sizeof(netkey));
	for (i = 0; i < N; i++) {
		daemon_init(&n[i]);
		daemon_set_network_key(&n[i], netkey);
		daemon_config(&n[i], "ping_interval = 5s\ndead_after = 60s\n");
		snprintf(names[i], sizeof(names[i]), "c%d", i);
		daemon_start_boot(&n[i], names[i], i > 0 ? &n[0] : NULL);
	}
	for (i = 0; i < N; i++) {
		daemon_id(&n[i], id);
		ck_assert(base32_decode(id, ids[i], sizeof(ids[i])));
	}
	ck_assert_msg(wait_until(converged, NULL, 15000),
	    "the five daemons never all saw each other alive");
	echo = echo_start(&n[V], "echo", NULL);
	wait_providers(&n[CALLER], "echo", 1);
}

static void
teardown(void)
{
	if (echo > 0)
		(void)echo_stop(echo, SIGTERM);
	echo = -1;
	daemons_free(n, N);
}

/*
 * How d lists the node named name: into state (empty if not listed) and
 * *inc.  False if d did not answer.
 */
static bool
listed_as(const struct daemon *d, const char *name, char *state,
    size_t statelen, json_int_t *inc)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;

	state[0] = '\0';
	if ((j = peerctl_json(d, &status, "members", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "members"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0) {
			snprintf(state, statelen, "%s", json_string_value(
			    json_object_get(e, "state")));
			*inc = json_integer_value(json_object_get(e,
			    "incarnation"));
		}
	json_decref(j);
	return true;
}

static void
put_claim(struct cbor_buf *cb, const char *type, json_int_t inc,
    const uint8_t *by)
{
	cbor_buf_reset(cb);
	cbor_put_map(cb, by != NULL ? 5 : 4);
	if (by != NULL) {
		cbor_put_text(cb, "by");
		cbor_put_bytes(cb, by, 32);
	}
	cbor_put_text(cb, "t");
	cbor_put_text(cb, type);
	cbor_put_text(cb, "id");
	cbor_put_bytes(cb, ids[V], 32);
	cbor_put_text(cb, "inc");
	cbor_put_uint(cb, (uint64_t)inc);
	cbor_put_text(cb, "h");
	cbor_put_uint(cb, 16);
}

static void
put_digest(struct cbor_buf *cb, json_int_t inc)
{
	uint8_t	e[DIGEST_ENTRY];
	int	k;

	memcpy(e, ids[V], 32);
	for (k = 0; k < 8; k++)
		e[32 + k] = (uint8_t)((uint64_t)inc >> (56 - 8 * k));
	e[40] = STATE_DEAD;
	cbor_buf_reset(cb);
	cbor_put_map(cb, 2);
	cbor_put_text(cb, "t");
	cbor_put_text(cb, "dig");
	cbor_put_text(cb, "d");
	cbor_put_bytes(cb, e, sizeof(e));
}

/* The rogue, one identity, links to every daemon. */
static void
attack_start(struct attack *a)
{
	uint8_t	pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t	sk[crypto_sign_SECRETKEYBYTES];
	char	state[16];
	int	i;

	memset(a, 0, sizeof(*a));
	crypto_sign_keypair(pk, sk);
	for (i = 0; i < N; i++) {
		rogue_connect(&a->r[i], daemon_port(&n[i]), netkey, sk, 0);
		a->up[i] = true;
	}
	ck_assert(listed_as(&n[V], names[V], state, sizeof(state), &a->inc));
	a->next_tick = a->next_digest = test_now_ms();
}

/*
 * Sends what is due: a "dead" and a "sus" (in a real member's name) on
 * every link each TICK_MS, a digest listing V dead each DIGEST_MS, all
 * at V's incarnation as last seen.
 */
static void
attack_tick(struct attack *a)
{
	struct cbor_buf	cb = { 0 };
	long		now = test_now_ms();
	int		i;

	if (now >= a->next_tick) {
		a->next_tick = now + TICK_MS;
		for (i = 0; i < N; i++) {
			if (!a->up[i])
				continue;
			put_claim(&cb, "dead", a->inc, NULL);
			rogue_send_msg(&a->r[i], &cb);
			a->by = (a->by + 1) % N;
			if (a->by == V)
				a->by = (a->by + 1) % N;
			put_claim(&cb, "sus", a->inc, ids[a->by]);
			rogue_send_msg(&a->r[i], &cb);
			a->sent += 2;
		}
	}
	if (now >= a->next_digest) {
		a->next_digest = now + DIGEST_MS;
		put_digest(&cb, a->inc);
		for (i = 0; i < N; i++)
			if (a->up[i])
				rogue_send_msg(&a->r[i], &cb);
	}
	cbor_buf_free(&cb);
}

static void
attack_end(struct attack *a)
{
	int	i;

	for (i = 0; i < N; i++)
		if (a->up[i])
			rogue_close(&a->r[i]);
}

/* One echo call from CALLER to V; true if its answer came back. */
static bool
call_v(struct peer *p)
{
	struct peer_call_opts	 opts = { .timeout_ms = 3000 };
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	uint8_t			*res = NULL;
	size_t			 reslen = 0;
	bool			 ok;

	cbor_put_uint(&b, 42);
	ok = peer_call_sync(p, "echo", "echo", b.data, b.len, &opts, &res,
	    &reslen, &err) == 0 && reslen == b.len &&
	    memcmp(res, b.data, b.len) == 0;
	free(res);
	cbor_buf_free(&b);
	return ok;
}

/*
 * Runs the attack for ms: every POLL_MS each daemon must list V alive,
 * and a call to V must work.  How often V's incarnation rose: into
 * *rises.
 */
static void
attack_for(struct attack *a, struct peer *p, long ms, int *rises)
{
	char		state[16];
	json_int_t	inc, last = a->inc;
	long		end = test_now_ms() + ms, next_poll;
	int		i;

	*rises = 0;
	while (test_now_ms() < end) {
		next_poll = test_now_ms() + POLL_MS;
		attack_tick(a);
		for (i = 0; i < N; i++) {
			ck_assert_msg(listed_as(&n[i], names[V], state,
			    sizeof(state), &inc), "%s did not answer",
			    names[i]);
			ck_assert_msg(strcmp(state, "alive") == 0, "%s lists "
			    "%s as \"%s\" after %d forged claims", names[i],
			    names[V], state, a->sent);
			if (i == V && inc != last) {
				ck_assert_int_gt(inc, last);
				(*rises)++;
				last = a->inc = inc;
			}
			attack_tick(a);
		}
		ck_assert_msg(call_v(p), "a call to %s failed under the attack",
		    names[V]);
		/* The rest of the poll's time, in steps a tick can follow. */
		while (test_now_ms() < next_poll) {
			(void)poll(NULL, 0, 10);
			attack_tick(a);
		}
	}
}

/*
 * Every daemon but the killed one lists it dead: each answer counts if
 * it came back by the deadline.
 */
struct killed {
	int	who;
	long	deadline;
	bool	seen[N];
	long	last;		/* when the last of them answered so */
};

static bool
all_see_dead(struct killed *k)
{
	char		state[16];
	json_int_t	inc;
	int		i;
	bool		ok = true;

	for (i = 0; i < N; i++) {
		if (i == k->who || k->seen[i])
			continue;
		if (listed_as(&n[i], names[k->who], state, sizeof(state),
		    &inc) && strcmp(state, "dead") == 0 &&
		    test_now_ms() <= k->deadline) {
			k->seen[i] = true;
			k->last = test_now_ms();
		} else
			ok = false;
	}
	return ok;
}

/* kill -9 of who while the attack goes on: dead everywhere within 1 s. */
static void
kill_seen_dead(struct attack *a, int who)
{
	struct killed	k = { .who = who };
	long		t0;
	bool		ok;

	t0 = test_now_ms();
	k.deadline = t0 + SEEN_DEAD_MS;
	daemon_stop(&n[who], SIGKILL);
	rogue_close(&a->r[who]);
	a->up[who] = false;
	while (!(ok = all_see_dead(&k)) && test_now_ms() < k.deadline)
		attack_tick(a);
	if (ok)
		fprintf(stderr, "trust_claims: kill -9 of %s under the attack: "
		    "seen dead by all in %ld ms\n", names[who], k.last - t0);
	ck_assert_msg(ok, "%s not seen dead by every daemon within %d ms",
	    names[who], SEEN_DEAD_MS);
}

START_TEST(test_forged_dead_current_inc)
{
	struct attack	 a;
	struct peer	*p = daemon_peer(&n[CALLER]);
	long		 t0;
	int		 rises;

	attack_start(&a);
	t0 = test_now_ms();
	attack_for(&a, p, 10000, &rises);
	fprintf(stderr, "trust_claims: %d forged claims in %ld ms, %s "
	    "refuted %d times\n", a.sent, test_now_ms() - t0, names[V],
	    rises);
	/* At V's own incarnation: the claims reached it, and it refuted. */
	ck_assert_msg(rises >= 1, "%s never refuted: the claims missed it",
	    names[V]);
	ck_assert_msg(rises <= (test_now_ms() - t0) / 1000 + 2, "%s refuted "
	    "%d times in %ld ms", names[V], rises, test_now_ms() - t0);
	kill_seen_dead(&a, W);
	attack_end(&a);
	peer_close(p);
}
END_TEST

START_TEST(test_kill9_victim_still_fast)
{
	struct attack	 a;
	struct peer	*p = daemon_peer(&n[CALLER]);
	int		 rises;

	attack_start(&a);
	attack_for(&a, p, 3000, &rises);
	kill_seen_dead(&a, V);
	attack_end(&a);
	peer_close(p);
}
END_TEST

Suite *
trust_claims_suite(void)
{
	Suite	*s = suite_create("trust_claims");
	TCase	*tc = tcase_create("trust_claims");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_forged_dead_current_inc);
	tcase_add_test(tc, test_kill9_victim_still_fast);
	suite_add_tcase(s, tc);
	return s;
}
