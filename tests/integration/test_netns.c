/* SPDX-License-Identifier: ISC */
/*
 * test_netns.c: hosts in network namespaces on one bridge, as on a
 * LAN.  Three nodes with no bootstrap find each other by multicast; a
 * fourth with another network key stays invisible; cutting one host's
 * link marks it dead on the others, and restoring it heals membership.
 * On a line of three hosts A - B - C, where A and C share no network,
 * A's calls to C's service are relayed by B.  Needs root (CI runs as
 * root); elsewhere it says SKIP and passes.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define HOSTS	4

static struct daemon	h[HOSTS];
static char		bridge_ns[32], host_ns[HOSTS][32];
static bool		have_netns;

/* Runs ip with the NULL-terminated arguments; true if it succeeded. */
static bool
ip(const char *first, ...)
{
	const char	*argv[24], *a;
	va_list		 ap;
	pid_t		 pid;
	int		 n = 0, status;

	argv[n++] = "ip";
	argv[n++] = first;
	va_start(ap, first);
	while ((a = va_arg(ap, const char *)) != NULL && n < 23)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	if ((pid = fork()) == -1)
		return false;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execvp("ip", (char *const *)argv);
		_exit(127);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
}

static void
netns_down(void)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		if (host_ns[i][0] != '\0')
			(void)ip("netns", "del", host_ns[i], NULL);
	if (bridge_ns[0] != '\0')
		(void)ip("netns", "del", bridge_ns, NULL);
}

/*
 * A bridge in a namespace of its own, and HOSTS namespaces with a veth
 * each plugged into it: nothing touches the machine's own interfaces.
 */
static bool
netns_up(void)
{
	char	addr[32], peer[16];
	int	i;

	snprintf(bridge_ns, sizeof(bridge_ns), "pdt%d-br", (int)getpid());
	if (!ip("netns", "add", bridge_ns, NULL) ||
	    !ip("-n", bridge_ns, "link", "add", "br0", "type", "bridge",
	    NULL) ||
	    !ip("-n", bridge_ns, "link", "set", "br0", "up", NULL))
		return false;
	for (i = 0; i < HOSTS; i++) {
		snprintf(host_ns[i], sizeof(host_ns[i]), "pdt%d-h%d",
		    (int)getpid(), i);
		snprintf(peer, sizeof(peer), "br-h%d", i);
		snprintf(addr, sizeof(addr), "10.76.54.%d/24", i + 1);
		if (!ip("netns", "add", host_ns[i], NULL) ||
		    !ip("-n", host_ns[i], "link", "add", "eth0", "type", "veth",
		    "peer", "name", peer, NULL) ||
		    !ip("-n", host_ns[i], "link", "set", peer, "netns",
		    bridge_ns, NULL) ||
		    !ip("-n", bridge_ns, "link", "set", peer, "master", "br0",
		    NULL) ||
		    !ip("-n", bridge_ns, "link", "set", peer, "up", NULL) ||
		    !ip("-n", host_ns[i], "addr", "add", addr, "dev", "eth0",
		    NULL) ||
		    !ip("-n", host_ns[i], "link", "set", "lo", "up", NULL) ||
		    !ip("-n", host_ns[i], "link", "set", "eth0", "up", NULL))
			return false;
	}
	return true;
}

static void
setup(void)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		daemon_init(&h[i]);
	have_netns = geteuid() == 0 && netns_up();
	if (!have_netns)
		netns_down();
}

static void
teardown(void)
{
	char	why[256], first[256] = "";
	int	i;

	for (i = 0; i < HOSTS; i++) {
		daemon_release(&h[i], why, sizeof(why));
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", why);
	}
	/* The namespaces go whatever happened, then any failure counts. */
	netns_down();
	ck_assert_msg(first[0] == '\0', "%s", first);
}

struct want {
	int		 host;		/* who is asked; -1: hosts 0-2 */
	const char	*name;
	const char	*state;		/* NULL: not listed at all */
};

static bool
seen(void *arg)
{
	struct want	*w = arg;
	char		*s;
	bool		 ok = true;
	int		 i;

	for (i = 0; i < 3 && ok; i++) {
		if ((w->host != -1 && i != w->host) ||
		    strcmp(h[i].netns, w->name) == 0)
			continue;
		s = member_state(&h[i], w->name, NULL);
		ok = w->state == NULL ? s == NULL :
		    s != NULL && strcmp(s, w->state) == 0;
		free(s);
	}
	return ok;
}

static void
start_host(int i, const uint8_t key[32])
{
	char	name[16];

	daemon_set_network_key(&h[i], key);
	snprintf(h[i].netns, sizeof(h[i].netns), "%s", host_ns[i]);
	snprintf(h[i].listen, sizeof(h[i].listen), "10.76.54.%d:7654", i + 1);
	h[i].discovery = true;
	/* Beacons only on the namespace's own link, quickly. */
	daemon_config(&h[i], "discovery_interface = eth0\n"
	    "beacon_interval = 300ms\nping_interval = 200ms\n"
	    "dead_after = 1s\nsuspect_timeout = 1s\nhandshake_timeout = 1s\n");
	snprintf(name, sizeof(name), "h%d", i);
	daemon_start(&h[i], name, NULL);
}

START_TEST(test_lan_discovery_and_partition)
{
	uint8_t		 key[32], other[32];
	struct want	 w;
	long		 t0;
	char		 peer[16], *s;
	int		 i, j;

	if (!have_netns) {
		fprintf(stderr, "SKIP: network namespace tests need root and "
		    "iproute2\n");
		return;
	}
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	for (i = 0; i < 3; i++)
		start_host(i, key);
	start_host(3, other);

	t0 = test_now_ms();
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			char	name[16];

			snprintf(name, sizeof(name), "h%d", j);
			w = (struct want){ i, name, "alive" };
			ck_assert_msg(wait_until(seen, &w, 10000),
			    "h%d never found h%d", i, j);
		}
	fprintf(stderr, "netns: 3 hosts found each other by multicast in "
	    "%ld ms\n", test_now_ms() - t0);

	/* The other network's node: nobody lists it, it lists nobody. */
	w = (struct want){ -1, "h3", NULL };
	ck_assert(seen(&w));
	for (j = 0; j < 3; j++) {
		char	name[16];

		snprintf(name, sizeof(name), "h%d", j);
		s = member_state(&h[3], name, NULL);
		ck_assert_msg(s == NULL, "h3 learned of %s", name);
	}

	/* Cut h2's link: the others mark it dead. */
	snprintf(peer, sizeof(peer), "br-h%d", 2);
	t0 = test_now_ms();
	ck_assert(ip("-n", bridge_ns, "link", "set", peer, "down", NULL));
	w = (struct want){ 0, "h2", "dead" };
	ck_assert_msg(wait_until(seen, &w, 15000), "h0 never marked h2 dead");
	w = (struct want){ 1, "h2", "dead" };
	ck_assert_msg(wait_until(seen, &w, 15000), "h1 never marked h2 dead");
	fprintf(stderr, "netns: a cut host marked dead after %ld ms\n",
	    test_now_ms() - t0);

	/* Restore it: membership heals. */
	t0 = test_now_ms();
	ck_assert(ip("-n", bridge_ns, "link", "set", peer, "up", NULL));
	w = (struct want){ 0, "h2", "alive" };
	ck_assert_msg(wait_until(seen, &w, 20000), "h0 never saw h2 again");
	w = (struct want){ 1, "h2", "alive" };
	ck_assert_msg(wait_until(seen, &w, 20000), "h1 never saw h2 again");
	w = (struct want){ 2, "h0", "alive" };
	ck_assert_msg(wait_until(seen, &w, 20000), "h2 never saw h0 again");
	fprintf(stderr, "netns: healed after %ld ms\n", test_now_ms() - t0);
}
END_TEST

/*
 * The line: A (10.76.55.1) - B (10.76.55.2, 10.76.56.2) - C (10.76.56.3)
 * over two veth pairs.  B does not forward IP, so A and C cannot reach
 * each other except through peerd on B.
 */
static char	line_ns[3][32];

static bool
line_up(void)
{
	static const char *const	names[] = { "a", "b", "c" };
	int				i;

	for (i = 0; i < 3; i++) {
		snprintf(line_ns[i], sizeof(line_ns[i]), "pdt%d-l%s",
		    (int)getpid(), names[i]);
		if (!ip("netns", "add", line_ns[i], NULL) ||
		    !ip("-n", line_ns[i], "link", "set", "lo", "up", NULL))
			return false;
	}
	return ip("-n", line_ns[0], "link", "add", "eth0", "type", "veth",
	    "peer", "name", "eth0", "netns", line_ns[1], NULL) &&
	    ip("-n", line_ns[1], "link", "add", "eth1", "type", "veth",
	    "peer", "name", "eth0", "netns", line_ns[2], NULL) &&
	    ip("-n", line_ns[0], "addr", "add", "10.76.55.1/24", "dev", "eth0",
	    NULL) &&
	    ip("-n", line_ns[1], "addr", "add", "10.76.55.2/24", "dev", "eth0",
	    NULL) &&
	    ip("-n", line_ns[1], "addr", "add", "10.76.56.2/24", "dev", "eth1",
	    NULL) &&
	    ip("-n", line_ns[2], "addr", "add", "10.76.56.3/24", "dev", "eth0",
	    NULL) &&
	    ip("-n", line_ns[0], "link", "set", "eth0", "up", NULL) &&
	    ip("-n", line_ns[1], "link", "set", "eth0", "up", NULL) &&
	    ip("-n", line_ns[1], "link", "set", "eth1", "up", NULL) &&
	    ip("-n", line_ns[2], "link", "set", "eth0", "up", NULL);
}

static void
line_down(void)
{
	int	i;

	for (i = 0; i < 3; i++)
		if (line_ns[i][0] != '\0')
			(void)ip("netns", "del", line_ns[i], NULL);
}

static void
line_setup(void)
{
	int	i;

	for (i = 0; i < 3; i++)
		daemon_init(&h[i]);
	have_netns = geteuid() == 0 && line_up();
	if (!have_netns)
		line_down();
}

static void
line_teardown(void)
{
	char	why[256], first[256] = "";
	int	i;

	for (i = 0; i < 3; i++) {
		daemon_release(&h[i], why, sizeof(why));
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", why);
	}
	line_down();
	ck_assert_msg(first[0] == '\0', "%s", first);
}

static bool
a_sees_c_offer(void *arg)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;
	bool	 found = false;

	(void)arg;
	if ((j = peerctl_json(&h[0], &status, "services", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "services"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    "c") == 0)
			found = true;
	json_decref(j);
	return found;
}

START_TEST(test_relay_between_separate_networks)
{
	static const char *const	 listen[] = { "10.76.55.1:7654",
					    "0.0.0.0:7654", "10.76.56.3:7654" };
	static const char *const	 names[] = { "a", "b", "c" };
	const char			*boot[] = { "--bootstrap", NULL, NULL };
	struct peer_call_opts		 opts = { NULL, false, 5000 };
	struct peer			*p;
	struct peer_error		 err;
	struct cbor_buf			 b = { 0 };
	uint8_t				 key[32], *res;
	const char			*s;
	size_t				 len, n;
	pid_t				 echo;
	int				 i;

	if (!have_netns) {
		fprintf(stderr, "SKIP: network namespace tests need root and "
		    "iproute2\n");
		return;
	}
	randombytes_buf(key, sizeof(key));
	for (i = 0; i < 3; i++) {
		daemon_set_network_key(&h[i], key);
		snprintf(h[i].netns, sizeof(h[i].netns), "%s", line_ns[i]);
		snprintf(h[i].listen, sizeof(h[i].listen), "%s", listen[i]);
		daemon_config(&h[i], "ping_interval = 200ms\n"
		    "handshake_timeout = 1s\n");
		/* A and C dial B; B's second address is C's way in. */
		boot[1] = i == 0 ? "10.76.55.2:7654" : "10.76.56.2:7654";
		daemon_start(&h[i], names[i], i == 1 ? NULL : boot);
	}
	echo = echo_start(&h[2], "echo", NULL);
	ck_assert_msg(wait_until(a_sees_c_offer, NULL, 15000),
	    "a never learned of c's service");

	p = peer_open(h[0].sock, &err);
	ck_assert_msg(p != NULL, "%s", err.message);
	cbor_put_text(&b, "relayed");
	ck_assert_msg(peer_call_sync(p, "echo", "echo", b.data, b.len, &opts,
	    &res, &len, &err) == 0, "call over the relay: %s", err.message);
	ck_assert(cbor_read_text(res, len, &s, &n) && n == 7 &&
	    memcmp(s, "relayed", 7) == 0);
	free(res);
	ck_assert(peer_call_sync(p, "echo", "whoami", NULL, 0, &opts, &res,
	    &len, &err) == 0);
	ck_assert(cbor_read_text(res, len, &s, &n) && n == 1 && s[0] == 'c');
	free(res);
	cbor_buf_free(&b);
	peer_close(p);
	echo_stop(echo, SIGTERM);
}
END_TEST

Suite *
netns_suite(void)
{
	Suite	*s = suite_create("netns");
	TCase	*tc = tcase_create("netns");
	TCase	*line = tcase_create("line");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_lan_discovery_and_partition);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(line, line_setup, line_teardown);
	tcase_set_timeout(line, 60);
	tcase_add_test(line, test_relay_between_separate_networks);
	suite_add_tcase(s, line);
	return s;
}
