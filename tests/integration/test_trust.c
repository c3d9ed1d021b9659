/* SPDX-License-Identifier: ISC */
/*
 * test_trust.c: what a member holding the network key can learn or
 * forge about others (doc/trust-design.md, section 6.1), tried with the
 * rogue member of rogue.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "harness.h"
#include "peer.h"
#include "rogue.h"
#include "suites.h"

#define NUMBERS		1000		/* calls observed */
#define NEAR		(UINT64_C(1) << 16)

static struct daemon	a;
static uint8_t		netkey[32];

/* Pings rarely: the rogue answers them only while it reads. */
static void
setup(void)
{
	randombytes_buf(netkey, sizeof(netkey));
	daemon_init(&a);
	daemon_set_network_key(&a, netkey);
	daemon_config(&a, "ping_interval = 5s\ndead_after = 30s\n");
	daemon_start(&a, "a", NULL);
}

static void
teardown(void)
{
	daemon_free(&a);
}

struct reply {
	bool	done;
	bool	ok;
};

static void
on_reply(struct peer *p, const struct peer_reply *rep, void *arg)
{
	struct reply	*r = arg;

	(void)p;
	r->done = true;
	r->ok = rep->error == NULL;
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t	a1 = *(const uint64_t *)x, b1 = *(const uint64_t *)y;

	return a1 < b1 ? -1 : a1 > b1;
}

/* How far apart two numbers are, either way round (mod 2^64). */
static uint64_t
distance(uint64_t x, uint64_t y)
{
	return x - y < y - x ? x - y : y - x;
}

/*
 * The rogue offers a service, so a's calls to it come to the rogue
 * directly, which answers each: the numbers a picks for its own calls
 * must tell the rogue nothing about the next one.
 */
START_TEST(test_predict_number)
{
	static uint64_t		 c[NUMBERS], sorted[NUMBERS];
	struct peer_call_opts	 opts = { .timeout_ms = 5000 };
	struct peer_error	 err;
	struct callmsg		 call, ans;
	struct record		 rec;
	struct reply		 rep;
	struct rogue		 r;
	struct peer		*p;
	uint64_t		 id;
	uint8_t			 result = 0x00;	/* CBOR 0 */
	int			 i;

	rogue_connect(&r, daemon_port(&a), netkey, NULL, 0);
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, r.pk, sizeof(rec.id));
	snprintf(rec.name, sizeof(rec.name), "rogue");
	snprintf(rec.services[0].name, sizeof(rec.services[0].name), "sink");
	rec.nservices = 1;
	rec.incarnation = 1;
	rec.started_at = (uint64_t)time(NULL);
	rogue_record(&r, &rec, NULL);
	wait_providers(&a, "sink", 1);

	p = daemon_peer(&a);
	for (i = 0; i < NUMBERS; i++) {
		memset(&rep, 0, sizeof(rep));
		ck_assert_msg(peer_call(p, "sink", "m", NULL, 0, &opts,
		    on_reply, &rep, &id, &err) == 0, "call %d: %s", i,
		    err.message);
		ck_assert_msg(rogue_recv_callmsg(&r, "call", 3000, &call),
		    "call %d never reached the rogue", i);
		ck_assert(memcmp(call.provider, r.pk, sizeof(r.pk)) == 0);
		c[i] = call.cid;

		memset(&ans, 0, sizeof(ans));
		ans.type = CALLMSG_ANSWER;
		memcpy(ans.origin, call.origin, sizeof(ans.origin));
		memcpy(ans.provider, call.provider, sizeof(ans.provider));
		ans.cid = call.cid;
		ans.hops = CALLMSG_HOPS;
		ans.result = &result;
		ans.resultlen = 1;
		rogue_callmsg(&r, &ans);
		ck_assert_int_eq(peer_wait(p, id, &err), 0);
		ck_assert_msg(rep.done && rep.ok, "call %d failed", i);
	}
	peer_close(p);
	rogue_close(&r);

	memcpy(sorted, c, sizeof(c));
	qsort(sorted, NUMBERS, sizeof(sorted[0]), cmp_u64);
	ck_assert_msg(sorted[0] != 0, "a call that wants an answer got 0");
	for (i = 1; i < NUMBERS; i++)
		ck_assert_msg(sorted[i] != sorted[i - 1], "number %llu twice",
		    (unsigned long long)sorted[i]);
	for (i = 1; i < NUMBERS; i++)
		ck_assert_msg(distance(c[i], c[i - 1]) >= NEAR, "call %d: "
		    "%llu follows %llu", i, (unsigned long long)c[i],
		    (unsigned long long)c[i - 1]);
	/* No step repeats: the last two do not give the next. */
	for (i = 2; i < NUMBERS; i++)
		ck_assert_msg(c[i] != 2 * c[i - 1] - c[i - 2], "call %d: "
		    "%llu extrapolates from the two before", i,
		    (unsigned long long)c[i]);
}
END_TEST

Suite *
trust_suite(void)
{
	Suite	*s = suite_create("trust");
	TCase	*tc = tcase_create("trust");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_predict_number);
	suite_add_tcase(s, tc);
	return s;
}
