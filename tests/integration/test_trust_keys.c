/* SPDX-License-Identifier: ISC */
/*
 * test_trust_keys.c: rotating the network key (doc/trust-design.md,
 * sections 4.2 to 4.5): five daemons calling each other through a
 * rotation, a sixth that was away during it, and rotations that nobody
 * may make: on a node that is no admin, and by a rogue member.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "harness.h"
#include "identity.h"
#include "keyrot.h"
#include "peer.h"
#include "rogue.h"
#include "suites.h"

#define N		5
#define CALL_MS		2000	/* one echo call's timeout */
#define GRACE		"3s"
#define GRACE_MS	3000

static struct daemon	d[N + 1];
static pid_t		svc[N + 1];
static char		token[8192];

/* The admin k0 makes the network; the others join with its token. */
static void
setup(void)
{
	json_t	*j;
	char	 name[16];
	int	 i, status;

	for (i = 0; i <= N; i++) {
		daemon_init(&d[i]);
		/* A file to change and reload (SIGHUP). */
		daemon_config(&d[i], "");
		svc[i] = -1;
	}
	daemon_start(&d[0], "k0", NULL);
	ck_assert((j = peerctl_json(&d[0], &status, "invite", NULL)) != NULL);
	snprintf(token, sizeof(token), "%s",
	    json_string_value(json_object_get(j, "token")));
	json_decref(j);
	for (i = 1; i < N; i++) {
		const char	*extra[] = { "--join", token, NULL };

		snprintf(name, sizeof(name), "k%d", i);
		daemon_start(&d[i], name, extra);
	}
}

static void
teardown(void)
{
	daemons_free_with_apps(d, svc, N + 1);
}

static bool
all_alive(void *arg)
{
	int	n = *(int *)arg, i;

	for (i = 0; i < n; i++)
		if (d[i].pid > 0 && count_listed(&d[i], "members", "members",
		    "state", "alive") != n)
			return false;
	return true;
}

static void
wait_mesh(int n)
{
	ck_assert_msg(wait_until(all_alive, &n, 15000), "the %d daemons do "
	    "not all know each other alive", n);
}

/* The bytes of a file of d's state directory; its length, -1 if none. */
static ssize_t
state_file(const struct daemon *dm, const char *name, uint8_t *buf,
    size_t len)
{
	char	path[256];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dm->state, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

/* The generation in d's network.gen, 0 if absent. */
static unsigned long
gen_of(const struct daemon *dm)
{
	uint8_t	buf[32];
	ssize_t	n = state_file(dm, "network.gen", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoul((char *)buf, NULL, 10);
}

struct at_gen {
	int		from, to;
	unsigned long	gen;
};

static bool
reached_gen(void *arg)
{
	struct at_gen	*a = arg;
	int		 i;

	for (i = a->from; i < a->to; i++)
		if (gen_of(&d[i]) != a->gen)
			return false;
	return true;
}

/*
 * A caller on daemon from: echo calls to the node named to until
 * until_ms, writing one byte to ready after its first answer; exits 0
 * if none failed.
 */
static pid_t
caller_start(int from, const char *to, long until_ms, int ready)
{
	struct peer_call_opts	 opts = { to, false, CALL_MS };
	struct peer_error	 err;
	struct peer		*p;
	uint8_t			*res;
	size_t			 len;
	pid_t			 pid;
	int			 n = 0;

	if ((pid = fork_child(NULL)) != 0)
		return pid;
	if ((p = peer_open(d[from].sock, &err)) == NULL)
		_exit(2);
	while (test_now_ms() < until_ms) {
		if (peer_call_sync(p, "echo", "echo", "\x61x", 2, &opts, &res,
		    &len, &err) == -1) {
			fprintf(stderr, "call %d from k%d to %s: %s\n", n, from,
			    to, err.message);
			_exit(1);
		}
		free(res);
		if (n++ == 0 && write(ready, "", 1) != 1)
			_exit(4);
	}
	peer_close(p);
	_exit(n > 0 ? 0 : 3);
}

/* Whether n bytes came on fd within ms: each caller had an answer. */
static bool
callers_ready(int fd, int n, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	long		end = test_now_ms() + ms;
	char		b;

	while (n > 0 && test_now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - test_now_ms())) == 1 &&
		    read(fd, &b, 1) == 1)
			n--;
	}
	return n == 0;
}

/* Each daemon's links: the node and its uptime, to tell one never closed. */
struct linkset {
	char	node[N][64];
	long	uptime[N];
	int	n;
};

static void
links_of(const struct daemon *dm, struct linkset *s)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;

	memset(s, 0, sizeof(*s));
	ck_assert((j = peerctl_json(dm, &status, "peers", NULL)) != NULL);
	json_array_foreach(json_object_get(j, "peers"), i, e) {
		if (s->n == N || strcmp(json_string_value(json_object_get(e,
		    "state")), "up") != 0)
			continue;
		snprintf(s->node[s->n], sizeof(s->node[0]), "%s",
		    json_string_value(json_object_get(e, "node")));
		s->uptime[s->n++] = (long)json_integer_value(json_object_get(e,
		    "uptime_ms"));
	}
	json_decref(j);
}

/* Every link of before is still up, elapsed_ms older. */
static void
links_kept(const struct daemon *dm, const struct linkset *before,
    long elapsed_ms)
{
	struct linkset	after;
	int		i, k;

	links_of(dm, &after);
	for (i = 0; i < before->n; i++) {
		for (k = 0; k < after.n; k++)
			if (strcmp(before->node[i], after.node[k]) == 0)
				break;
		ck_assert_msg(k < after.n, "%s: the link to %.12s closed",
		    dm->dir, before->node[i]);
		ck_assert_msg(after.uptime[k] >= before->uptime[i] + elapsed_ms -
		    500, "%s: the link to %.12s is new (up %ld ms)", dm->dir,
		    before->node[i], after.uptime[k]);
	}
}

/*
 * Five daemons call each other in a ring while the admin rotates the
 * key with a grace of 3 s: no call fails, no link closes, every node
 * takes generation 1 and the same key, and no link is closed when the
 * grace ends.
 */
START_TEST(test_rotate_five)
{
	struct linkset	before[N];
	struct at_gen	at = { 0, N, 1 };
	pid_t		callers[N];
	uint8_t		key0[64], key[64];
	char		to[16], addr[32], out[512], err[512];
	long		t0, until;
	int		i, status, ready[2];

	wait_mesh(N);
	for (i = 0; i < N; i++)
		svc[i] = echo_start(&d[i], "echo", NULL);
	wait_providers(&d[0], "echo", N);
	for (i = 0; i < N; i++)
		links_of(&d[i], &before[i]);
	t0 = test_now_ms();
	until = t0 + 2000 + GRACE_MS + 2000;
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		snprintf(to, sizeof(to), "k%d", (i + 1) % N);
		callers[i] = caller_start(i, to, until, ready[1]);
	}
	/* Calls are flowing on every daemon before the key changes. */
	ck_assert_msg(callers_ready(ready[0], N, 5000), "not every caller "
	    "had an answer within 5 s");
	close(ready[0]);
	close(ready[1]);
	ck_assert_msg(peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "key", "rotate", "--grace", GRACE, NULL) == 0, "key rotate: %s",
	    err);
	ck_assert_msg(strstr(out, "generation 1") != NULL &&
	    strstr(out, "sealed for 4 members") != NULL, "key rotate: %s", out);
	ck_assert_msg(wait_until(reached_gen, &at, 5000), "not every node "
	    "took generation 1");
	for (i = 0; i < N; i++)
		ck_assert_msg(daemon_log_wait(&d[i], "the grace of generation 1 "
		    "ended; 0 links under the old key closed", GRACE_MS + 5000),
		    "k%d: no grace end, or links closed", i);
	for (i = 0; i < N; i++) {
		ck_assert_msg(waitpid(callers[i], &status, 0) == callers[i],
		    "caller %d", i);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "caller on k%d failed (status %#x)", i, status);
	}
	for (i = 0; i < N; i++)
		links_kept(&d[i], &before[i], test_now_ms() - t0);
	ck_assert_int_eq(state_file(&d[0], "network.key", key0,
	    sizeof(key0)), 32);
	for (i = 1; i < N; i++) {
		ck_assert_int_eq(state_file(&d[i], "network.key", key,
		    sizeof(key)), 32);
		ck_assert_msg(memcmp(key, key0, 32) == 0, "k%d has another key",
		    i);
	}
	/* A link made now is under the new key. */
	ck_assert(peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "disconnect", "k0", NULL) == 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&d[0]));
	ck_assert_msg(peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL) == 0, "a new link under the new key: %s",
	    err);
}
END_TEST

/*
 * A sixth daemon away during the rotation: back after the grace it is
 * refused and told the key changed; back within the grace it takes the
 * new key over its old-key link.
 */
static void
away(bool within)
{
	const char	*extra[] = { "--join", token, NULL };
	struct at_gen	 at = { 0, N + 1, 1 };
	char		 out[512], err[512];

	daemon_start(&d[N], "k5", extra);
	wait_mesh(N + 1);
	ck_assert_int_eq(daemon_stop(&d[N], SIGTERM), 0);
	ck_assert_msg(peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "key", "rotate", "--grace", GRACE, NULL) == 0, "key rotate: %s",
	    err);
	ck_assert_msg(strstr(out, "sealed for 5 members") != NULL, "%s", out);
	at.to = N;
	ck_assert(wait_until(reached_gen, &at, 5000));
	if (!within)
		ck_assert(daemon_log_wait(&d[0], "the grace of generation 1 "
		    "ended", GRACE_MS + 5000));
	daemon_start(&d[N], "k5", NULL);
	if (!within) {
		ck_assert_msg(daemon_log_wait(&d[N], "network key changed",
		    10000), "k5 was not told the key changed");
		ck_assert(daemon_log_has(&d[N], "rejoin with a new token"));
		ck_assert_uint_eq(gen_of(&d[N]), 0);
		return;
	}
	at.to = N + 1;
	ck_assert_msg(wait_until(reached_gen, &at, 5000), "k5 did not take "
	    "generation 1 within the grace");
	ck_assert(daemon_log_wait(&d[N], "network key rotated by", 1000));
	/* It keeps its links after the grace: it showed the new key. */
	ck_assert(daemon_log_wait(&d[0], "the grace of generation 1 ended; 0 "
	    "links under the old key closed", GRACE_MS + 5000));
	wait_mesh(N + 1);
}

START_TEST(test_old_key_refused)
{
	away(false);
}
END_TEST

START_TEST(test_old_key_within_grace)
{
	away(true);
}
END_TEST

/* An nkey of generation 1 for node `for` sealed by id, signed by sk. */
static void
rogue_nkey(struct rogue *r, const struct identity *by, const uint8_t *sk,
    const uint8_t *for_id)
{
	struct keyrot_body	 k;
	struct cbor_buf		 body = { 0 }, msg = { 0 };
	uint8_t			 entry[KEYROT_ENTRY_LEN], newkey[32];
	uint8_t			 sig[crypto_sign_BYTES];

	randombytes_buf(newkey, sizeof(newkey));
	ck_assert_int_eq(keyrot_wrap(entry, by, for_id, newkey, 1), 0);
	memset(&k, 0, sizeof(k));
	k.gen = 1;
	keyrot_kid(newkey, k.kid);
	memcpy(k.by, by->pk, sizeof(k.by));
	k.ts = (uint64_t)time(NULL) * 1000;
	k.grace = 60000;
	k.parts = 1;
	k.e = entry;
	k.ne = 1;
	keyrot_body_encode(&body, &k);
	crypto_sign_detached(sig, NULL, body.data, body.len, sk);
	cbor_put_map(&msg, 4);
	cbor_put_text(&msg, "t");
	cbor_put_text(&msg, "nkey");
	cbor_put_text(&msg, "b");
	cbor_put_bytes(&msg, body.data, body.len);
	cbor_put_text(&msg, "s");
	cbor_put_bytes(&msg, sig, sizeof(sig));
	cbor_put_text(&msg, "h");
	cbor_put_uint(&msg, 0);
	rogue_send_msg(r, &msg);
	cbor_buf_free(&body);
	cbor_buf_free(&msg);
}

/*
 * key rotate on a node that is no admin is refused; an nkey that the
 * rogue signs itself, or that names the admin but carries the rogue's
 * signature, changes nothing.
 */
START_TEST(test_non_admin_refused)
{
	struct identity	 rid, admin;
	struct rogue	 r;
	uint8_t		 netkey[64], target[32], before[64], now[64];
	char		 out[512], err[512], id[64];

	wait_mesh(N);
	ck_assert_int_ne(peerctl_run(&d[1], out, sizeof(out), err,
	    sizeof(err), "key", "rotate", NULL), 0);
	ck_assert_msg(strstr(err, "this node is not an admin") != NULL, "%s",
	    err);

	ck_assert_int_eq(state_file(&d[1], "network.key", netkey,
	    sizeof(netkey)), 32);
	memcpy(before, netkey, 32);
	daemon_id(&d[1], id);
	ck_assert(base32_decode(id, target, sizeof(target)));
	rogue_connect(&r, daemon_port(&d[1]), netkey, NULL, 0);
	memset(&rid, 0, sizeof(rid));
	memcpy(rid.pk, r.pk, sizeof(rid.pk));
	memcpy(rid.sk, r.sk, sizeof(rid.sk));
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(rid.x_sk,
	    rid.sk), 0);
	rogue_nkey(&r, &rid, r.sk, target);
	ck_assert(daemon_log_wait(&d[1], "not an admin", 5000));

	/* The admin's ID with the rogue's signature. */
	memset(&admin, 0, sizeof(admin));
	daemon_id(&d[0], id);
	ck_assert(base32_decode(id, admin.pk, sizeof(admin.pk)));
	memcpy(admin.x_sk, rid.x_sk, sizeof(admin.x_sk));
	rogue_nkey(&r, &admin, r.sk, target);
	ck_assert(daemon_log_wait(&d[1], "bad signature", 5000));
	rogue_close(&r);

	ck_assert_uint_eq(gen_of(&d[1]), 0);
	ck_assert_int_eq(state_file(&d[1], "network.key", now, sizeof(now)),
	    32);
	ck_assert(memcmp(now, before, 32) == 0);
	ck_assert(!daemon_log_has(&d[1], "network key rotated by"));

	/*
	 * k1 names itself an admin in its own config (SIGHUP): it may
	 * rotate now, but k0, whose admin it is not, takes none of it.
	 */
	daemon_id(&d[1], id);
	snprintf(out, sizeof(out), "admins = %s\n", id);
	daemon_config(&d[1], out);
	ck_assert_int_eq(kill(d[1].pid, SIGHUP), 0);
	ck_assert(daemon_log_wait(&d[1], "reload: 2 admins", 5000));
	ck_assert_msg(peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "key", "rotate", NULL) == 0, "key rotate on k1: %s", err);
	ck_assert(daemon_log_wait(&d[0], "not an admin", 5000));
	ck_assert_uint_eq(gen_of(&d[1]), 1);
	ck_assert_uint_eq(gen_of(&d[0]), 0);
	ck_assert(!daemon_log_has(&d[0], "network key rotated by"));
}
END_TEST

Suite *
trust_keys_suite(void)
{
	Suite	*s = suite_create("trust_keys");
	TCase	*tc = tcase_create("trust_keys");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rotate_five);
	tcase_add_test(tc, test_old_key_refused);
	tcase_add_test(tc, test_old_key_within_grace);
	tcase_add_test(tc, test_non_admin_refused);
	suite_add_tcase(s, tc);
	return s;
}
