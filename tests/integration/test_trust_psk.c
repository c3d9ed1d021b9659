/* SPDX-License-Identifier: ISC */
/*
 * test_trust_psk.c: links across a rotation of the network key
 * (doc/trust-design.md, sections 4.4 and 4.5), with the key files of a
 * rotation written into the state directories before the daemons
 * start: during the grace a rotated node links with nodes on either
 * key, dialing one on the old key again with it; after the grace a node
 * on the old key is refused, and told why.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "harness.h"
#include "suites.h"

#define FAST	"ping_interval = 200ms\ndead_after = 2s\n" \
		"handshake_timeout = 2s\n"
#define HOUR_MS	3600000LL

static struct daemon	a, b, c;	/* a rotated; b old key, c new */
static uint8_t		k0[32], k1[32];

static void
put_file(const struct daemon *d, const char *name, const void *buf,
    size_t len)
{
	char	path[256];
	FILE	*f;

	mkdir(d->state, 0700);
	snprintf(path, sizeof(path), "%s/%s", d->state, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static bool
has_file(const struct daemon *d, const char *name)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/%s", d->state, name);
	return access(path, F_OK) == 0;
}

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * d has rotated from k0 (generation 0) to k1 (generation 1), its grace
 * ending at grace_end_ms: the files a rotation leaves.
 */
static void
rotated(struct daemon *d, int64_t grace_end_ms)
{
	uint8_t	prev[48];

	daemon_set_network_key(d, k1);
	put_file(d, "network.gen", "1\n", 2);
	memcpy(prev, k0, 32);
	put_be64(prev + 32, (uint64_t)grace_end_ms);
	put_be64(prev + 40, 0);
	put_file(d, "network.prev", prev, sizeof(prev));
}

static void
setup(void)
{
	randombytes_buf(k0, sizeof(k0));
	randombytes_buf(k1, sizeof(k1));
	daemon_init(&a);
	daemon_init(&b);
	daemon_init(&c);
	daemon_config(&a, FAST);
	daemon_config(&b, FAST);
	daemon_config(&c, FAST);
	daemon_set_network_key(&b, k0);
	daemon_set_network_key(&c, k1);
	put_file(&c, "network.gen", "1\n", 2);
}

static void
teardown(void)
{
	struct daemon	ds[3] = { a, b, c };

	daemons_free(ds, 3);
}

/* d's handshakes that ended on a retired key (peerctl stats); -1: none. */
static double
stale_count(const struct daemon *d)
{
	json_t	*j, *smp, *l;
	double	 v = -1;
	size_t	 i;
	int	 status;

	if ((j = peerctl_json(d, &status, "stats", NULL)) == NULL)
		return -1;
	json_array_foreach(json_object_get(json_object_get(j,
	    "peerd_handshakes_failed_total"), "samples"), i, smp) {
		l = json_object_get(json_object_get(smp, "labels"), "reason");
		if (json_is_string(l) &&
		    strcmp(json_string_value(l), "stale_key") == 0)
			v = json_number_value(json_object_get(smp, "value"));
	}
	json_decref(j);
	return v;
}

static bool
stale_thrice(void *arg)
{
	return stale_count(arg) >= 3;
}

struct want {
	const struct daemon	*d;
	const char		*name;
};

/* Whether w->d has a link up to the node named w->name. */
static bool
linked(void *arg)
{
	struct want	*w = arg;
	json_t		*j, *peers, *e;
	size_t		 i;
	bool		 found = false;
	int		 status;

	if ((j = peerctl_json(w->d, &status, "peers", NULL)) == NULL)
		return false;
	peers = json_object_get(j, "peers");
	json_array_foreach(peers, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    w->name) == 0 && strcmp(json_string_value(json_object_get(e,
		    "state")), "up") == 0)
			found = true;
	json_decref(j);
	return found;
}

/*
 * During a's grace: a dials b, which has only the old key, and is
 * closed on message 1; it dials again with the old key and links.  c,
 * on the new key, links with a too.
 */
START_TEST(test_grace_takes_both_keys)
{
	struct want	wb = { &a, "b" }, wc = { &a, "c" };

	rotated(&a, wall_ms() + HOUR_MS);
	daemon_start(&b, "b", NULL);
	daemon_start_boot(&a, "a", &b);
	ck_assert_msg(wait_until(linked, &wb, 10000), "a never linked with b");
	ck_assert(daemon_log_has(&a, "dialing again with the previous "
	    "network key (generation 0)"));
	daemon_start_boot(&c, "c", &a);
	ck_assert_msg(wait_until(linked, &wc, 10000), "a never linked with c");
	ck_assert(!daemon_log_has(&b, "network key changed"));
	/* The grace runs on: the old key is still a's previous one. */
	ck_assert(has_file(&a, "network.prev"));
	ck_assert(!has_file(&a, "network.retired"));
}
END_TEST

/*
 * After a's grace (it ended while a was down): a retires the old key at
 * start, b's dial with it is refused with the notice, and b's connect
 * fails saying what to do, as does its log, once per target however
 * often it redials.  c still links.
 */
START_TEST(test_after_grace_stale_notice)
{
	struct want	wc = { &a, "c" };
	char		addr[64], want[256], out[1024], err[1024];
	int		status;

	rotated(&a, wall_ms() - 1000);
	daemon_start(&a, "a", NULL);
	ck_assert(!has_file(&a, "network.prev"));
	ck_assert(has_file(&a, "network.retired"));
	daemon_start(&b, "b", NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&a));
	snprintf(want, sizeof(want), "network key changed: %s refuses our "
	    "network key (generation 0); rejoin with a new token (peerctl "
	    "join TOKEN)", addr);
	status = peerctl_run(&b, out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	ck_assert(daemon_log_wait(&b, want, 2000));
	ck_assert(daemon_log_has(&b, " error "));
	ck_assert(daemon_log_wait(&a, "uses a retired network key "
	    "(generation 0)", 2000));
	ck_assert(stale_count(&a) == 1);
	ck_assert(stale_count(&b) == 1);

	daemon_start_boot(&c, "c", &a);
	ck_assert_msg(wait_until(linked, &wc, 10000), "a never linked with c");
}
END_TEST

/*
 * b keeps dialing a as its bootstrap: the line comes once, not once a
 * dial.
 */
START_TEST(test_stale_logged_once_per_target)
{
	char	line[1024];
	FILE	*f;
	int	n = 0;

	rotated(&a, wall_ms() - 1000);
	daemon_start(&a, "a", NULL);
	daemon_start_boot(&b, "b", &a);
	ck_assert(daemon_log_wait(&b, "network key changed", 3000));
	/* Three dials at least: the backoff starts at 200 ms. */
	ck_assert_msg(wait_until(stale_thrice, &b, 10000), "b did not dial "
	    "a three times");
	ck_assert_ptr_nonnull(f = fopen(b.log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "network key changed") != NULL)
			n++;
	fclose(f);
	ck_assert_int_eq(n, 1);
}
END_TEST

/*
 * Key files of a rotation that others can read, or malformed: peerd -n
 * refuses them, as the start does (the same checks), and rewrites
 * nothing.
 */
START_TEST(test_bad_key_files_refused)
{
	const char *const tail[] = { "-n", "--state-dir", a.state, "-S",
	    a.sock, NULL };
	char		path[256];
	int		status;

	rotated(&a, wall_ms() + HOUR_MS);
	status = daemon_run_to_exit(&a, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	put_file(&a, "network.prev", k0, 32);
	status = daemon_run_to_exit(&a, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&a, "network.prev: not a previous key"));

	rotated(&a, wall_ms() + HOUR_MS);
	put_file(&a, "network.retired", k0, 32);
	snprintf(path, sizeof(path), "%s/network.retired", a.state);
	ck_assert_int_eq(chmod(path, 0644), 0);
	status = daemon_run_to_exit(&a, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&a, "network.retired: mode 0644 gives "
	    "others access to network keys"));
	ck_assert(has_file(&a, "network.prev"));
}
END_TEST

Suite *
trust_psk_suite(void)
{
	Suite	*s = suite_create("trust_psk");
	TCase	*tc = tcase_create("rotation");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_grace_takes_both_keys);
	tcase_add_test(tc, test_after_grace_stale_notice);
	tcase_add_test(tc, test_stale_logged_once_per_target);
	tcase_add_test(tc, test_bad_key_files_refused);
	suite_add_tcase(s, tc);
	return s;
}
