/* SPDX-License-Identifier: ISC */
/*
 * test_netns.c: hosts in network namespaces on one bridge, as on a
 * LAN.  Three nodes with no bootstrap find each other by multicast; a
 * fourth with another network key stays invisible; cutting one host's
 * link marks it dead on the others, and restoring it heals membership.
 * On a line of three hosts A - B - C, where A and C share no network,
 * A's calls to C's service are relayed by B; on a square A - B - C,
 * A - D - C, they go through D once B is gone.  Needs root (CI runs as
 * root); elsewhere it says SKIP and passes.
 */
#include <sys/wait.h>

#include <errno.h>
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

/*
 * Deletes the namespaces of earlier runs that died half-way (a failed
 * test skips its teardown): "pdtPID-..." whose PID is gone.
 */
static void
netns_reap(void)
{
	FILE	*f;
	char	 line[256], name[64];
	int	 pid;

	if ((f = popen("ip netns list 2>/dev/null", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%63s", name) == 1 &&
		    sscanf(name, "pdt%d-", &pid) == 1 && pid > 0 &&
		    kill(pid, 0) == -1 && errno == ESRCH)
			(void)ip("netns", "del", name, NULL);
	(void)pclose(f);
}

static void
setup(void)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		daemon_init(&h[i]);
	if (geteuid() == 0)
		netns_reap();
	have_netns = geteuid() == 0 && netns_up();
	if (!have_netns)
		netns_down();
}

static void	wired_down(void);

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
	wired_down();
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
 * Hosts joined by point-to-point cables (veth pairs), none forwarding
 * IP: two hosts reach each other only over a cable between them, or
 * through peerd on a host in the middle.
 */
static char	wired_ns[4][32];
static int	nwired;

/* Namespaces for n hosts, a, b, c, ... */
static bool
wired_up(int n)
{
	int	i;

	for (i = 0; i < n; i++, nwired++) {
		snprintf(wired_ns[i], sizeof(wired_ns[i]), "pdt%d-w%c",
		    (int)getpid(), 'a' + i);
		if (!ip("netns", "add", wired_ns[i], NULL) ||
		    !ip("-n", wired_ns[i], "link", "set", "lo", "up", NULL))
			return false;
	}
	return true;
}

/* A cable from host x's interface xif to host y's yif, with addresses. */
static bool
cable(int x, const char *xif, const char *xaddr, int y, const char *yif,
    const char *yaddr)
{
	return ip("-n", wired_ns[x], "link", "add", xif, "type", "veth",
	    "peer", "name", yif, "netns", wired_ns[y], NULL) &&
	    ip("-n", wired_ns[x], "addr", "add", xaddr, "dev", xif, NULL) &&
	    ip("-n", wired_ns[y], "addr", "add", yaddr, "dev", yif, NULL) &&
	    ip("-n", wired_ns[x], "link", "set", xif, "up", NULL) &&
	    ip("-n", wired_ns[y], "link", "set", yif, "up", NULL);
}

static void
wired_down(void)
{
	int	i;

	for (i = 0; i < nwired; i++)
		(void)ip("netns", "del", wired_ns[i], NULL);
	nwired = 0;
}

/* The line: A (10.76.55.1) - B (10.76.55.2, 10.76.56.2) - C (10.76.56.3). */
static void
line_setup(void)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		daemon_init(&h[i]);
	if (geteuid() == 0)
		netns_reap();
	have_netns = geteuid() == 0 && wired_up(3) &&
	    cable(0, "eth0", "10.76.55.1/24", 1, "eth0", "10.76.55.2/24") &&
	    cable(1, "eth1", "10.76.56.2/24", 2, "eth0", "10.76.56.3/24");
	if (!have_netns)
		wired_down();
}

/*
 * The square: A - B - C and A - D - C, each side a subnet of its own:
 * A 10.76.57.1 (to B), 10.76.58.1 (to D); B 10.76.57.2, 10.76.59.2;
 * C 10.76.59.3 (to B), 10.76.60.3 (to D); D 10.76.58.4, 10.76.60.4.
 */
static void
square_setup(void)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		daemon_init(&h[i]);
	if (geteuid() == 0)
		netns_reap();
	have_netns = geteuid() == 0 && wired_up(4) &&
	    cable(0, "eth0", "10.76.57.1/24", 1, "eth0", "10.76.57.2/24") &&
	    cable(0, "eth1", "10.76.58.1/24", 3, "eth0", "10.76.58.4/24") &&
	    cable(1, "eth1", "10.76.59.2/24", 2, "eth0", "10.76.59.3/24") &&
	    cable(3, "eth1", "10.76.60.4/24", 2, "eth1", "10.76.60.3/24");
	if (!have_netns)
		wired_down();
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
		snprintf(h[i].netns, sizeof(h[i].netns), "%.31s", wired_ns[i]);
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

/* Whether host i lists a link to the node named name. */
static bool
linked_to(int i, const char *name)
{
	json_t	*j, *e;
	size_t	 k;
	int	 status;
	bool	 found = false;

	if ((j = peerctl_json(&h[i], &status, "peers", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "peers"), k, e)
		if (json_string_value(json_object_get(e, "name")) != NULL &&
		    strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0)
			found = true;
	json_decref(j);
	return found;
}

static bool
d_linked(void *arg)
{
	(void)arg;
	return linked_to(0, "d") && linked_to(2, "d");
}

struct whoami {
	struct peer	*p;
	bool		 ok;
};

static bool
c_answers(void *arg)
{
	struct whoami		*w = arg;
	struct peer_call_opts	 opts = { NULL, false, 1000 };
	struct peer_error	 err;
	uint8_t			*res;
	const char		*s;
	size_t			 len, n;

	if (peer_call_sync(w->p, "echo", "whoami", NULL, 0, &opts, &res,
	    &len, &err) == -1)
		return false;
	w->ok = cbor_read_text(res, len, &s, &n) && n == 1 && s[0] == 'c';
	free(res);
	return true;
}

/*
 * C's record reached A through B.  When B dies for good, A's calls to
 * C take the other way, through D, which joined later and so is not
 * where A learned of C.
 */
START_TEST(test_relay_neighbour_gone)
{
	static const char *const	 names[] = { "a", "b", "c", "d" };
	const char			*boot[][5] = {
		{ "--bootstrap", "10.76.57.2:7654", NULL },
		{ NULL },
		{ "--bootstrap", "10.76.59.2:7654", NULL },
		{ "--bootstrap", "10.76.58.1:7654", "--bootstrap",
		    "10.76.60.3:7654", NULL },
	};
	static const int		 order[] = { 1, 0, 2 };
	struct whoami			 w = { NULL, false };
	struct peer_error		 err;
	uint8_t				 key[32];
	pid_t				 echo;
	int				 i, k;

	if (!have_netns) {
		fprintf(stderr, "SKIP: network namespace tests need root and "
		    "iproute2\n");
		return;
	}
	randombytes_buf(key, sizeof(key));
	for (i = 0; i < 4; i++) {
		daemon_set_network_key(&h[i], key);
		snprintf(h[i].netns, sizeof(h[i].netns), "%.31s", wired_ns[i]);
		snprintf(h[i].listen, sizeof(h[i].listen), "0.0.0.0:7654");
		/*
		 * A keeps to its two links: dialing C (which it cannot reach)
		 * would suspect it, and C's refutation would reach A through
		 * D and give A the other way without the relay's help.
		 */
		daemon_config(&h[i], i == 0 ? "ping_interval = 200ms\n"
		    "handshake_timeout = 1s\ndegree_min = 1\n"
		    "degree_max = 2\n" : "ping_interval = 200ms\n"
		    "handshake_timeout = 1s\n");
	}
	for (k = 0; k < 3; k++) {
		i = order[k];
		daemon_start(&h[i], names[i], boot[i][0] != NULL ? boot[i] :
		    NULL);
	}
	echo = echo_start(&h[2], "echo", NULL);
	ck_assert_msg(wait_until(a_sees_c_offer, NULL, 15000),
	    "a never learned of c's service");
	daemon_start(&h[3], names[3], boot[3]);
	ck_assert_msg(wait_until(d_linked, NULL, 15000), "d never linked to "
	    "both a and c");

	daemon_stop(&h[1], SIGKILL);
	w.p = peer_open(h[0].sock, &err);
	ck_assert_msg(w.p != NULL, "%s", err.message);
	ck_assert_msg(wait_until(c_answers, &w, 10000), "a's calls to c "
	    "found no way once b was gone");
	ck_assert(w.ok);
	peer_close(w.p);
	echo_stop(echo, SIGTERM);
}
END_TEST

Suite *
netns_suite(void)
{
	Suite	*s = suite_create("netns");
	TCase	*tc = tcase_create("netns");
	TCase	*line = tcase_create("line");
	TCase	*square = tcase_create("square");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_lan_discovery_and_partition);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(line, line_setup, teardown);
	tcase_set_timeout(line, 60);
	tcase_add_test(line, test_relay_between_separate_networks);
	suite_add_tcase(s, line);
	tcase_add_checked_fixture(square, square_setup, teardown);
	tcase_set_timeout(square, 60);
	tcase_add_test(square, test_relay_neighbour_gone);
	suite_add_tcase(s, square);
	return s;
}
