/* SPDX-License-Identifier: ISC */
/*
 * test_trust_flood.c: a member holding the network key floods its
 * neighbour with self-signed identities and asks it for everything it
 * knows, again and again (doc/trust-design.md, sections 3 and 6.1):
 * what the daemons check, store, send and dial stays within the flood
 * bounds, and the real members stay alive everywhere.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "harness.h"
#include "rogue.h"
#include "suites.h"

#define NODES		4
#define FAKES		3000		/* identities the rogue mints */
#define FLOOD_MS	8000
#define SOFT		256
#define QUOTA		64
#define NEW_BURST	400
#define NEW_RATE	50		/* a second */
#define GOSSIP_RATE	(16 << 10)	/* bytes a second */
#define GOSSIP_BURST	(256 << 10)
#define HOST_RATE	2		/* dials a second to 127.0.0.1 */
#define HOST_BURST	20
#define DIGEST_EVERY	25		/* fakes sent between empty digests */
#define DRAIN_MAX	256		/* records read at once */
/* Dials of real members, linked once, which count only in all. */
#define REAL_DIALS	8
/* Newer records of real members a may take meanwhile. */
#define REAL_RECORDS	16
/* Pings and the daemon's own records and claims, which go out anyway. */
#define SLACK		(64 << 10)

static struct daemon	n[NODES];
static const char	*const names[NODES] = { "a", "b", "c", "d" };
static uint8_t		netkey[32];

static void
setup(void)
{
	int	i;

	randombytes_buf(netkey, sizeof(netkey));
	for (i = 0; i < NODES; i++) {
		daemon_init(&n[i]);
		daemon_set_network_key(&n[i], netkey);
		/*
		 * The rogue answers pings only now and then; degree_min
		 * above the mesh's size keeps the overlay dialing, fakes
		 * among what it dials.
		 */
		daemon_config(&n[i], "group = real\n"
		    "ping_interval = 5s\n"
		    "dead_after = 30s\n"
		    "degree_min = 8\n"
		    "degree_max = 12\n"
		    "members_soft = 256\n"
		    "intro_quota = 64\n"
		    "members_settle = 60s\n"
		    "new_members_rate = 50\n"
		    "new_members_burst = 400\n"
		    "gossip_rate = 16K\n"
		    "gossip_burst = 256K\n"
		    "dial_rate_per_host = 2\n");
	}
}

static void
teardown(void)
{
	daemons_free(n, NODES);
}

/* The value of a sample of family in peerctl stats (label NULL: any). */
static double
stat_of(const struct daemon *d, const char *family, const char *label,
    const char *value)
{
	json_t		*j, *s, *l;
	double		 v = NAN;
	size_t		 i;
	int		 status;

	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "stats", NULL));
	json_array_foreach(json_object_get(json_object_get(j, family),
	    "samples"), i, s) {
		l = json_object_get(json_object_get(s, "labels"), label);
		if (label == NULL || (json_is_string(l) &&
		    strcmp(json_string_value(l), value) == 0)) {
			v = json_number_value(json_object_get(s, "value"));
			break;
		}
	}
	json_decref(j);
	ck_assert_msg(!isnan(v), "no %s{%s=%s} in peerctl stats", family,
	    label != NULL ? label : "", value != NULL ? value : "");
	return v;
}

struct counts {
	double	dials, throttled, sent, dropped_quota, accepted;
};

static void
counts_of(const struct daemon *d, struct counts *c)
{
	c->dials = stat_of(d, "peerd_dials_total", "cause", "record");
	c->throttled = stat_of(d, "peerd_records_throttled_total", NULL,
	    NULL);
	c->sent = stat_of(d, "peerd_gossip_sent_bytes_total", NULL, NULL);
	c->dropped_quota = stat_of(d, "peerd_records_dropped_total",
	    "reason", "quota");
	c->accepted = stat_of(d, "peerd_records_accepted_total", NULL, NULL);
}

/*
 * The real members d lists alive (the real ones are in group real:
 * the whole table would not fit peerctl_json's buffer).
 */
static int
real_alive(const struct daemon *d)
{
	json_t		*j, *e;
	const char	*v;
	size_t		 i;
	int		 status, count = 0;

	if ((j = peerctl_json(d, &status, "members", "--group", "real",
	    NULL)) == NULL)
		return -1;
	json_array_foreach(json_object_get(j, "members"), i, e)
		if ((v = json_string_value(json_object_get(e, "state"))) !=
		    NULL && strcmp(v, "alive") == 0)
			count++;
	json_decref(j);
	return count;
}

static bool
all_alive(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < NODES; i++)
		if (real_alive(&n[i]) != NODES)
			return false;
	return true;
}

/* The members d holds, from its metrics, in any state. */
static int
members_held(const struct daemon *d)
{
	static const char *const	states[] = {
		"alive", "suspect", "dead", "left",
	};
	double				sum = 0;
	size_t				i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		sum += stat_of(d, "peerd_members", "state", states[i]);
	return (int)sum;
}

/* Every real member alive in every table, and never said otherwise. */
static void
check_real_members(void)
{
	char	id[64], line[128];
	int	i, k;

	ck_assert_msg(all_alive(NULL), "a real member is not alive "
	    "everywhere");
	for (k = 0; k < NODES; k++) {
		daemon_id(&n[k], id);
		for (i = 0; i < NODES; i++) {
			snprintf(line, sizeof(line), "member %s (%.12s) dead",
			    names[k], id);
			ck_assert_msg(!daemon_log_has(&n[i], line), "%s: %s",
			    names[i], line);
			snprintf(line, sizeof(line),
			    "member %s (%.12s) suspect", names[k], id);
			ck_assert_msg(!daemon_log_has(&n[i], line), "%s: %s",
			    names[i], line);
		}
	}
}

/* An empty digest: the daemon answers with every record it holds. */
static void
send_empty_digest(struct rogue *r)
{
	struct cbor_buf	cb = { 0 };

	cbor_put_map(&cb, 2);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "dig");
	cbor_put_text(&cb, "d");
	cbor_put_bytes(&cb, NULL, 0);
	rogue_send_msg(r, &cb);
	cbor_buf_free(&cb);
}

/*
 * Reads what has come, the bytes of membership messages added to *got.
 * (The rest is mostly kv: the fakes a holds are store nodes to it.)
 */
static void
drain(struct rogue *r, double *got)
{
	static const char *const	gossip[] = {
		"rec", "sus", "dead", "dig", "want",
	};
	struct linkmsg			m;
	const uint8_t			*msg;
	size_t				len, k;
	int				i;

	for (i = 0; i < DRAIN_MAX && rogue_next_msg(r, 0, &m, &msg, &len);
	    i++)
		for (k = 0; k < sizeof(gossip) / sizeof(gossip[0]); k++)
			if (strcmp(m.type, gossip[k]) == 0)
				*got += (double)len;
}

START_TEST(test_fake_identity_flood)
{
	static uint8_t	 pk[FAKES][crypto_sign_PUBLICKEYBYTES];
	static uint8_t	 sk[FAKES][crypto_sign_SECRETKEYBYTES];
	struct counts	 before[NODES], after[NODES];
	struct record	 rec;
	struct rogue	 r;
	double		 got = 0, secs, max, checked, throttled;
	long		 t0, start;
	int		 i, sent, fakes;

	daemon_start(&n[0], names[0], NULL);
	for (i = 1; i < NODES; i++)
		daemon_start_boot(&n[i], names[i], &n[0]);
	ck_assert_msg(wait_until(all_alive, NULL, 15000),
	    "the mesh never formed");
	for (i = 0; i < FAKES; i++)
		crypto_sign_keypair(pk[i], sk[i]);

	rogue_connect(&r, daemon_port(&n[0]), netkey, NULL, 0);
	t0 = test_now_ms();
	for (i = 0; i < NODES; i++)
		counts_of(&n[i], &before[i]);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "fake");
	/* Nothing listens on the first; the second is a real node's. */
	rec.naddrs = 2;
	snprintf(rec.addrs[1], sizeof(rec.addrs[1]), "127.0.0.1:%d",
	    daemon_port(&n[1]));
	rec.incarnation = 1;
	rec.started_at = (uint64_t)time(NULL);
	start = test_now_ms();
	for (sent = 0; test_now_ms() - start < FLOOD_MS; sent++) {
		i = sent % FAKES;
		memcpy(rec.id, pk[i], sizeof(rec.id));
		snprintf(rec.addrs[0], sizeof(rec.addrs[0]), "127.0.0.1:%d",
		    1 + i);
		rogue_record_hops(&r, &rec, sk[i], 16);
		if (sent % DIGEST_EVERY == 0) {
			send_empty_digest(&r);
			drain(&r, &got);
		}
	}
	drain(&r, &got);
	for (i = 0; i < NODES; i++)
		counts_of(&n[i], &after[i]);
	fprintf(stderr, "trust_flood: %d fakes sent in %.1f s\n", sent,
	    (double)(test_now_ms() - start) / 1000);
	/* Counters before and after: what may have happened in between. */
	secs = (double)(test_now_ms() - t0) / 1000;

	/*
	 * New identities: a checked at most a burst and the rate of them
	 * (taken or refused over the quota), dropped the rest unchecked.
	 */
	checked = after[0].accepted - before[0].accepted +
	    after[0].dropped_quota - before[0].dropped_quota;
	fprintf(stderr, "trust_flood: a checked %.0f new records, throttled "
	    "%.0f, refused %.0f over the quota\n", checked,
	    after[0].throttled - before[0].throttled,
	    after[0].dropped_quota - before[0].dropped_quota);
	ck_assert_double_le(checked, NEW_BURST + NEW_RATE * (secs + 1) +
	    REAL_RECORDS);
	ck_assert_double_gt(after[0].throttled - before[0].throttled, 0);
	ck_assert_double_gt(after[0].dropped_quota - before[0].dropped_quota,
	    0);
	/* Far over four times gossip_rate: most not even read. */
	fprintf(stderr, "trust_flood: a ignored %.0f messages\n",
	    stat_of(&n[0], "peerd_gossip_inbound_dropped_total", NULL, NULL));
	ck_assert_double_gt(stat_of(&n[0],
	    "peerd_gossip_inbound_dropped_total", NULL, NULL), 0);
	fakes = members_held(&n[0]) - NODES;
	fprintf(stderr, "trust_flood: a holds %d fakes\n", fakes);
	ck_assert_int_gt(fakes, QUOTA);
	ck_assert_int_le(fakes, SOFT + QUOTA);
	for (i = 1; i < NODES; i++)
		ck_assert_int_le(members_held(&n[i]) - NODES,
		    SOFT + QUOTA * (NODES - 1));

	/* The rogue asked a for everything every few fakes: a's budget. */
	max = GOSSIP_RATE * secs + 2 * GOSSIP_BURST + SLACK;
	fprintf(stderr, "trust_flood: the rogue got %.0f bytes (at most "
	    "%.0f)\n", got, max);
	ck_assert_double_le(got, max);
	ck_assert_double_gt(got, GOSSIP_BURST / 2);
	ck_assert_double_gt(stat_of(&n[0], "peerd_gossip_skipped_total",
	    NULL, NULL), 0);

	/* Dials of records' addresses: all on 127.0.0.1, one host. */
	for (i = 0, throttled = 0; i < NODES; i++) {
		throttled += stat_of(&n[i], "peerd_dials_throttled_total",
		    "bucket", "host");
		fprintf(stderr, "trust_flood: %s dialed %.0f records' "
		    "addresses, sent %.0f bytes of gossip\n", names[i],
		    after[i].dials - before[i].dials,
		    after[i].sent - before[i].sent);
		ck_assert_double_le(after[i].dials - before[i].dials,
		    HOST_BURST + HOST_RATE * (secs + 1) + REAL_DIALS);
		/* At most NODES links each, the rogue's included. */
		ck_assert_double_le(after[i].sent - before[i].sent,
		    NODES * (GOSSIP_RATE * secs + 2 * GOSSIP_BURST));
	}
	ck_assert_double_gt(throttled, 0);
	rogue_close(&r);
	check_real_members();
}
END_TEST

Suite *
trust_flood_suite(void)
{
	Suite	*s = suite_create("trust_flood");
	TCase	*tc = tcase_create("trust_flood");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fake_identity_flood);
	suite_add_tcase(s, tc);
	return s;
}
