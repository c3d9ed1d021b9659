/* SPDX-License-Identifier: ISC */
/*
 * test_trust_revoke.c: revocation (doc/trust-design.md section 4.6)
 * among five daemons, one of them the admin: a revoked daemon is
 * dropped by all and refused from then on, across restarts, and after a
 * rotation of the network key it is left out of, as is a fresh identity
 * with the old key; a revocation that no admin signed, sent by the
 * rogue member, changes nothing.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "base32.h"
#include "harness.h"
#include "revoke.h"
#include "rogue.h"
#include "suites.h"

#define N		5
#define ADMIN		0
#define R		4	/* the daemon revoked */
#define WAIT_MS		10000

static const char *const names[N] = { "admin", "b", "c", "d", "r" };
static struct daemon	d[N];
static uint8_t		netkey[32], admin_pk[32], admin_sk[64];
static char		rid[64];

/* Writes the admin's identity, whose ID the config of all names. */
static void
set_identity(struct daemon *dm, const uint8_t seed[32])
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/identity.key", dm->state);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fwrite(seed, 1, 32, f), 32);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/* Each daemon lists the other four as alive members. */
static bool
all_alive(void *arg)
{
	int	i, n = *(int *)arg;

	for (i = 0; i < n; i++)
		if (count_listed(&d[i], "members", "members", "state",
		    "alive") != n)
			return false;
	return true;
}

static void
setup(void)
{
	uint8_t	seed[32];
	char	conf[256], id[NODE_ID_STRLEN];
	int	i, n = N;

	randombytes_buf(netkey, sizeof(netkey));
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(admin_pk, admin_sk, seed);
	base32_encode(admin_pk, sizeof(admin_pk), id);
	snprintf(conf, sizeof(conf), "admins = %s\n", id);
	for (i = 0; i < N; i++) {
		daemon_init(&d[i]);
		daemon_set_network_key(&d[i], netkey);
		daemon_config(&d[i], conf);
	}
	set_identity(&d[ADMIN], seed);
	sodium_memzero(seed, sizeof(seed));
	daemon_start(&d[ADMIN], names[ADMIN], NULL);
	for (i = 1; i < N; i++)
		daemon_start_boot(&d[i], names[i], &d[ADMIN]);
	ck_assert_msg(wait_until(all_alive, &n, WAIT_MS),
	    "the five daemons do not all see each other alive");
	daemon_id(&d[R], rid);
}

static void
teardown(void)
{
	daemons_free(d, N);
}

/* No daemon but R lists R as a member, a link, or not as revoked. */
static bool
r_dropped(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < N; i++) {
		if (i == R)
			continue;
		if (count_listed(&d[i], "members", "members", "name", "r") !=
		    0 || count_listed(&d[i], "peers", "peers", "name", "r") !=
		    0 || count_listed(&d[i], "revoked", "revoked", "node",
		    rid) != 1)
			return false;
	}
	return true;
}

/* R has no link up. */
static bool
r_alone(void *arg)
{
	(void)arg;
	return count_listed(&d[R], "peers", "peers", "state", "up") == 0;
}

/* The link message rvk of a revocation signed with sk. */
static void
put_rvk(struct cbor_buf *m, const uint8_t *node, const uint8_t *by,
    const uint8_t *sk)
{
	struct revocation	r;
	struct cbor_buf		raw = { 0 };

	memset(&r, 0, sizeof(r));
	memcpy(r.id, node, NODE_ID_LEN);
	memcpy(r.by, by, NODE_ID_LEN);
	r.ts = 1;
	snprintf(r.why, sizeof(r.why), "rogue");
	revocation_sign(&r, sk, &raw);
	ck_assert(!raw.failed);
	cbor_buf_reset(m);
	cbor_put_map(m, 3);
	cbor_put_text(m, "t");
	cbor_put_text(m, "rvk");
	cbor_put_text(m, "r");
	cbor_put_bytes(m, raw.data, raw.len);
	cbor_put_text(m, "h");
	cbor_put_uint(m, 16);
	ck_assert(!m->failed);
	cbor_buf_free(&raw);
}

START_TEST(test_revoke_real_daemon)
{
	char	out[512], err[512], addr[64];
	long	start;
	int	i, rc;

	/* Only on an admin node. */
	rc = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err), "revoke",
	    "r", NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "this node is not an admin") != NULL,
	    "revoke on a non-admin: %s", err);
	/* Never an admin. */
	rc = peerctl_run(&d[ADMIN], out, sizeof(out), err, sizeof(err),
	    "revoke", "admin", NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_int_eq(count_listed(&d[ADMIN], "revoked", "revoked", "node",
	    rid), 0);

	start = test_now_ms();
	rc = peerctl_run(&d[ADMIN], out, sizeof(out), err, sizeof(err),
	    "revoke", "r", "--reason", "stolen laptop", NULL);
	ck_assert_msg(rc == 0, "revoke: %s", err);
	ck_assert_msg(wait_until(r_dropped, NULL, WAIT_MS),
	    "r is still a member, linked, or not revoked somewhere");
	fprintf(stderr, "trust_revoke: r dropped by all within %ld ms\n",
	    test_now_ms() - start);
	ck_assert(daemon_log_wait(&d[R], "this node was revoked by", WAIT_MS));
	ck_assert(daemon_log_has(&d[R], "stolen laptop"));
	ck_assert(wait_until(r_alone, NULL, WAIT_MS));
	/* The others keep their mesh. */
	for (i = 0; i < N; i++)
		if (i != R)
			ck_assert_int_eq(count_listed(&d[i], "members",
			    "members", "state", "alive"), N - 1);

	/* A dial to r fails before r learns anything of the dialer. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&d[R]));
	rc = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "revoked node") != NULL, "connect: %d %s %s",
	    rc, out, err);
	ck_assert(r_alone(NULL));
	/* r dials no more. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&d[2]));
	rc = peerctl_run(&d[R], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "revoked") != NULL, "connect: %d %s %s",
	    rc, out, err);

	/* Restarted with its state: it knows, and says so again. */
	ck_assert_int_eq(daemon_stop(&d[R], SIGTERM), 0);
	daemon_start_boot(&d[R], "r", &d[ADMIN]);
	ck_assert(daemon_log_wait(&d[R], "this node was revoked by", WAIT_MS));
	/*
	 * Restarted without its own revocation, as a node that never heard
	 * of it: still refused, by the handshake of whom it dials.
	 */
	ck_assert_int_eq(daemon_stop(&d[R], SIGTERM), 0);
	snprintf(out, sizeof(out), "%s/revoked", d[R].state);
	ck_assert_int_eq(unlink(out), 0);
	daemon_start_boot(&d[R], "r", &d[ADMIN]);
	ck_assert(daemon_log_wait(&d[ADMIN], "handshake failed: revoked node",
	    WAIT_MS));
	/*
	 * r, dialing, sends message 3 and counts its link up until the
	 * admin closes it; no message ever comes over it.
	 */
	ck_assert(wait_until(r_alone, NULL, WAIT_MS));
	ck_assert_int_eq(count_listed(&d[R], "members", "members", "state",
	    "alive"), 1);
	ck_assert(r_dropped(NULL));
}
END_TEST

/* The generation in dm's network.gen, 0 if absent. */
static unsigned long
gen_of(const struct daemon *dm)
{
	char	path[256], buf[32];
	size_t	n;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/network.gen", dm->state);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strtoul(buf, NULL, 10);
}

/* Every daemon but r took generation 1. */
static bool
others_rotated(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < N; i++)
		if (i != R && gen_of(&d[i]) != 1)
			return false;
	return true;
}

/*
 * Revoked, then a rotation: r is not sealed the new key, so once the
 * grace is over it holds neither a valid identity nor the key; nor does
 * a fresh identity made with the old key.
 */
START_TEST(test_revoke_then_rotate)
{
	struct daemon	fresh;
	char		out[512], err[512], conf[256], id[NODE_ID_STRLEN];

	ck_assert_msg(peerctl_run(&d[ADMIN], out, sizeof(out), err,
	    sizeof(err), "revoke", "r", NULL) == 0, "revoke: %s", err);
	ck_assert(wait_until(r_dropped, NULL, WAIT_MS));
	ck_assert_msg(peerctl_run(&d[ADMIN], out, sizeof(out), err,
	    sizeof(err), "key", "rotate", "--grace", "2s", NULL) == 0,
	    "key rotate: %s", err);
	ck_assert_msg(strstr(out, "sealed for 3 members") != NULL, "%s", out);
	ck_assert_msg(wait_until(others_rotated, NULL, WAIT_MS),
	    "not every node but r took generation 1");
	ck_assert(daemon_log_wait(&d[ADMIN], "the grace of generation 1 ended",
	    2000 + WAIT_MS));
	ck_assert_uint_eq(gen_of(&d[R]), 0);

	/* r, even unaware of its revocation, holds only the old key. */
	ck_assert_int_eq(daemon_stop(&d[R], SIGTERM), 0);
	snprintf(out, sizeof(out), "%s/revoked", d[R].state);
	ck_assert_int_eq(unlink(out), 0);
	daemon_start_boot(&d[R], "r", &d[ADMIN]);
	ck_assert_msg(daemon_log_wait(&d[R], "network key changed", WAIT_MS),
	    "r was not refused for its key");
	ck_assert(wait_until(r_alone, NULL, WAIT_MS));

	/* A new identity with the old key. */
	base32_encode(admin_pk, sizeof(admin_pk), id);
	snprintf(conf, sizeof(conf), "admins = %s\n", id);
	daemon_init(&fresh);
	daemon_set_network_key(&fresh, netkey);
	daemon_config(&fresh, conf);
	daemon_start_boot(&fresh, "fresh", &d[ADMIN]);
	ck_assert_msg(daemon_log_wait(&fresh, "network key changed",
	    WAIT_MS), "a fresh identity with the old key was not refused");
	ck_assert_int_eq(count_listed(&fresh, "peers", "peers", "state",
	    "up"), 0);
	ck_assert_int_eq(count_listed(&d[ADMIN], "members", "members", "name",
	    "fresh"), 0);
	daemon_free(&fresh);
	ck_assert(r_dropped(NULL));
}
END_TEST

/* at lists the revocation of node. */
struct listed {
	const struct daemon	*at;
	char			 node[NODE_ID_STRLEN];
};

static bool
is_listed(void *arg)
{
	struct listed	*l = arg;

	return count_listed(l->at, "revoked", "revoked", "node", l->node) == 1;
}

START_TEST(test_non_admin_rvk)
{
	struct cbor_buf	m = { 0 };
	struct rogue	rg;
	struct listed	l;
	uint8_t		cpk[32], fake[32];
	char		cid[64], *st;
	int		i;

	daemon_id(&d[2], cid);
	ck_assert(base32_decode(cid, cpk, sizeof(cpk)));
	rogue_connect(&rg, daemon_port(&d[1]), netkey, NULL, 0);
	/* Signed by the rogue, as itself; signed by it, as the admin. */
	put_rvk(&m, cpk, rg.pk, rg.sk);
	rogue_send_msg(&rg, &m);
	put_rvk(&m, cpk, admin_pk, rg.sk);
	rogue_send_msg(&rg, &m);
	/*
	 * Then one the admin did sign, of a node nobody knows: once b has
	 * it, b has read the two before it.
	 */
	randombytes_buf(fake, sizeof(fake));
	put_rvk(&m, fake, admin_pk, admin_sk);
	rogue_send_msg(&rg, &m);
	l.at = &d[1];
	base32_encode(fake, sizeof(fake), l.node);
	ck_assert_msg(wait_until(is_listed, &l, WAIT_MS),
	    "b did not take the admin's revocation");
	for (i = 0; i < N; i++) {
		l.at = &d[i];
		ck_assert(wait_until(is_listed, &l, WAIT_MS));
		ck_assert_int_eq(count_listed(&d[i], "revoked", "revoked",
		    "node", cid), 0);
		ck_assert_ptr_nonnull(st = member_state(&d[i], "c", NULL));
		ck_assert_str_eq(st, "alive");
		free(st);
		ck_assert_int_eq(count_listed(&d[i], "members", "members",
		    "state", "alive"), N);
	}
	ck_assert(daemon_log_has(&d[1], "dropped a revocation: not signed "
	    "by an admin"));
	ck_assert_int_gt(count_listed(&d[2], "peers", "peers", "state", "up"),
	    0);
	rogue_close(&rg);
	cbor_buf_free(&m);
}
END_TEST

Suite *
trust_revoke_suite(void)
{
	Suite	*s = suite_create("trust_revoke");
	TCase	*tc = tcase_create("trust_revoke");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_revoke_real_daemon);
	tcase_add_test(tc, test_non_admin_rvk);
	tcase_add_test(tc, test_revoke_then_rotate);
	suite_add_tcase(s, tc);
	return s;
}
