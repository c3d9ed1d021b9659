/* SPDX-License-Identifier: ISC */
/*
 * test_netns.c: hosts in network namespaces on one bridge, as on a
 * LAN.  Three nodes with no bootstrap find each other by multicast; a
 * fourth with another network key stays invisible; cutting one host's
 * link marks it dead on the others, and restoring it heals membership.
 * On a line of three hosts A - B - C, where A and C share no network,
 * A's calls to C's service are relayed by B; on a square A - B - C,
 * A - D - C, they go through D once B is gone.  Five hosts split 3 | 2
 * keep the key-value store's writes on the majority side only, and
 * heal to one value per key everywhere.  Needs root (CI runs as root);
 * elsewhere it says SKIP and passes.
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

#define HOSTS	5

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
 * A bridge in a namespace of its own, and n namespaces with a veth each
 * plugged into it: nothing touches the machine's own interfaces.  A
 * second bridge, br1, stands empty for partitions.
 */
static bool
netns_up(int n)
{
	char	addr[32], peer[16];
	int	i;

	snprintf(bridge_ns, sizeof(bridge_ns), "pdt%d-br", (int)getpid());
	if (!ip("netns", "add", bridge_ns, NULL) ||
	    !ip("-n", bridge_ns, "link", "add", "br0", "type", "bridge",
	    NULL) ||
	    !ip("-n", bridge_ns, "link", "set", "br0", "up", NULL) ||
	    !ip("-n", bridge_ns, "link", "add", "br1", "type", "bridge",
	    NULL) ||
	    !ip("-n", bridge_ns, "link", "set", "br1", "up", NULL))
		return false;
	for (i = 0; i < n; i++) {
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

/* Hosts on one bridge: n of them. */
static void
bridge_setup(int n)
{
	int	i;

	for (i = 0; i < HOSTS; i++)
		daemon_init(&h[i]);
	if (geteuid() == 0)
		netns_reap();
	have_netns = geteuid() == 0 && netns_up(n);
	if (!have_netns)
		netns_down();
}

static void
setup(void)
{
	bridge_setup(4);
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

/* Starts host i's daemon with key, discovery on the namespace's own
 * link, quick timers, and the suite's extra config lines. */
static void
start_host(int i, const uint8_t key[32], const char *extra)
{
	char	name[16], conf[512];

	daemon_set_network_key(&h[i], key);
	snprintf(h[i].netns, sizeof(h[i].netns), "%s", host_ns[i]);
	snprintf(h[i].listen, sizeof(h[i].listen), "10.76.54.%d:7654", i + 1);
	h[i].discovery = true;
	/* Beacons only on the namespace's own link, quickly. */
	snprintf(conf, sizeof(conf), "discovery_interface = eth0\n"
	    "beacon_interval = 300ms\nping_interval = 200ms\n"
	    "dead_after = 1s\nsuspect_timeout = 1s\nhandshake_timeout = 1s\n"
	    "%s", extra);
	daemon_config(&h[i], conf);
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
		start_host(i, key, "");
	start_host(3, other, "");

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

/*
 * The key-value store across a partition.  Five hosts on the bridge;
 * hosts 3 and 4 move to the second bridge, br1, so that each side
 * hears only itself (as a switch between two rooms that fails), and
 * back to br0 to heal.
 */
#define KV_HOSTS	5
#define KV_MINORITY	3		/* hosts from here on: the minority */
#define KV_N		6		/* keys of each kind */
#define KV_KEYS		(3 * KV_N)
#define KV_R		3		/* kv_replicas, the default */
#define KV_OP_MS	8000		/* past the ops' own 5 s */

/* A key and the newest write to it that was acknowledged. */
struct kv_want {
	char		key[32];
	char		val[32];	/* "" with deleted */
	uint64_t	ver;
	bool		deleted;
};

static struct kv_want	kv_want[KV_KEYS];
static struct peer	*kv_p[KV_HOSTS];
static char		kv_why[640];	/* why the last check failed */

static void
kv_setup(void)
{
	bridge_setup(KV_HOSTS);
}

/* Moves the minority's ports to bridge br ("br1": cut, "br0": heal). */
static bool
kv_minority_to(const char *br)
{
	char	peer[16];
	int	i;

	for (i = KV_MINORITY; i < KV_HOSTS; i++) {
		snprintf(peer, sizeof(peer), "br-h%d", i);
		if (!ip("-n", bridge_ns, "link", "set", peer, "master", br,
		    NULL))
			return false;
	}
	return true;
}

/* Every host shows every other as alive (split: as its side does). */
static bool
kv_views(void *arg)
{
	bool	 split = *(bool *)arg, near, ok = true;
	char	 name[16], *s;
	int	 i, j;

	for (i = 0; i < KV_HOSTS && ok; i++)
		for (j = 0; j < KV_HOSTS && ok; j++) {
			if (i == j)
				continue;
			near = (i < KV_MINORITY) == (j < KV_MINORITY);
			snprintf(name, sizeof(name), "h%d", j);
			s = member_state(&h[i], name, NULL);
			ok = s != NULL && strcmp(s, !split || near ? "alive" :
			    "dead") == 0;
			if (!ok)
				snprintf(kv_why, sizeof(kv_why), "h%d shows h%d "
				    "%s", i, j, s != NULL ? s : "not at all");
			free(s);
		}
	return ok;
}

/* The uint field name of a result map, or false. */
static bool
kv_field_uint(const uint8_t *res, size_t len, const char *name, uint64_t *v)
{
	struct cbor_field	 f[16];
	const struct cbor_field	*x;
	int			 n;

	return (n = cbor_scan_map(res, len, f, 16)) != -1 &&
	    (x = cbor_field_get(f, n, name)) != NULL &&
	    cbor_read_uint(x->val, x->vallen, v);
}

/*
 * kv_put of text (or kv_del if val is NULL) through host i: 0 with the
 * version, or -1 with err.
 */
static int
kv_write(int i, const char *key, const char *val, uint64_t *ver,
    struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		*res;
	size_t		 len;
	int		 rc;

	cbor_put_text(&b, "key");
	cbor_put_text(&b, key);
	if (val != NULL) {
		cbor_put_text(&b, "value");
		cbor_put_text(&b, val);
	}
	ck_assert(!b.failed);
	rc = peer_op(kv_p[i], val != NULL ? "kv_put" : "kv_del", b.data,
	    b.len, val != NULL ? 2 : 1, KV_OP_MS, &res, &len, err);
	cbor_buf_free(&b);
	if (rc == -1)
		return -1;
	ck_assert_msg(kv_field_uint(res, len, "version", ver), "%s %s: no "
	    "version in the answer", val != NULL ? "kv_put" : "kv_del", key);
	free(res);
	return 0;
}

/*
 * A write on the majority side, through hosts in turn, again while
 * the views of its members still differ; the acknowledged version is
 * kept as the key's want.
 */
static void
kv_write_majority(struct kv_want *w, const char *val, int first)
{
	struct peer_error	err;
	long			end = test_now_ms() + 10000;
	int			i = first;

	while (kv_write(i % KV_MINORITY, w->key, val, &w->ver, &err) == -1) {
		ck_assert_msg(err.code == PEER_UNAVAILABLE &&
		    test_now_ms() < end, "%s %s on h%d (majority side): %s: %s",
		    val != NULL ? "put" : "del", w->key, i % KV_MINORITY,
		    peer_code_name(err.code), err.message);
		i++;
		usleep(100000);
	}
	snprintf(w->val, sizeof(w->val), "%s", val != NULL ? val : "");
	w->deleted = val == NULL;
}

/* The owners kv_where shows through host i all hold w's version. */
static bool
kv_where_agrees(int i, const struct kv_want *w)
{
	struct cbor_buf		 b = { 0 };
	struct cbor_field	 f[8], o[16];
	const struct cbor_field	*owners, *x;
	struct cbor_iter	 it;
	struct peer_error	 err;
	const uint8_t		*item;
	uint8_t			*res;
	size_t			 len, ilen;
	uint64_t		 v;
	bool			 yes, ok = true;
	int			 n, no, k = 0;

	cbor_put_text(&b, "key");
	cbor_put_text(&b, w->key);
	ck_assert(!b.failed);
	if (peer_op(kv_p[i], "kv_where", b.data, b.len, 1, KV_OP_MS, &res,
	    &len, &err) == -1) {
		snprintf(kv_why, sizeof(kv_why), "kv_where %s on h%d: %s: %s",
		    w->key, i, peer_code_name(err.code), err.message);
		cbor_buf_free(&b);
		return false;
	}
	cbor_buf_free(&b);
	ck_assert_msg((n = cbor_scan_map(res, len, f, 8)) != -1 &&
	    (owners = cbor_field_get(f, n, "owners")) != NULL &&
	    cbor_array_iter(owners->val, owners->vallen, &it),
	    "kv_where %s on h%d: no owners in the answer", w->key, i);
	while (ok && cbor_iter_next(&it, &item, &ilen)) {
		k++;
		ck_assert((no = cbor_scan_map(item, ilen, o, 16)) != -1);
		if ((x = cbor_field_get(o, no, "answered")) == NULL ||
		    !cbor_read_bool(x->val, x->vallen, &yes) || !yes) {
			snprintf(kv_why, sizeof(kv_why), "kv_where %s on h%d: "
			    "owner %d did not answer", w->key, i, k);
			ok = false;
			continue;
		}
		x = cbor_field_get(o, no, "deleted");
		if (w->deleted ? x == NULL || !cbor_read_bool(x->val,
		    x->vallen, &yes) || !yes : x != NULL) {
			snprintf(kv_why, sizeof(kv_why), "kv_where %s on h%d: "
			    "owner %d %s", w->key, i, k, w->deleted ?
			    "holds no tombstone" : "holds a tombstone");
			ok = false;
			continue;
		}
		x = cbor_field_get(o, no, "version");
		if (w->deleted ? x != NULL && (!cbor_read_uint(x->val,
		    x->vallen, &v) || v < w->ver) : x == NULL ||
		    !cbor_read_uint(x->val, x->vallen, &v) || v < w->ver) {
			snprintf(kv_why, sizeof(kv_why), "kv_where %s on h%d: "
			    "owner %d holds %s, the write acknowledged is "
			    "%llu", w->key, i, k, x == NULL ? "nothing" :
			    "an older version", (unsigned long long)w->ver);
			ok = false;
		}
	}
	if (ok && k != KV_R) {
		snprintf(kv_why, sizeof(kv_why), "kv_where %s on h%d: %d "
		    "owners, not %d", w->key, i, k, KV_R);
		ok = false;
	}
	free(res);
	return ok;
}

/* kv_get through host i reads w (NOT_FOUND for a tombstone). */
static bool
kv_get_agrees(int i, const struct kv_want *w)
{
	struct cbor_buf		 b = { 0 };
	struct cbor_field	 f[8];
	const struct cbor_field	*x;
	struct peer_error	 err;
	const char		*s;
	uint8_t			*res;
	size_t			 len, slen;
	uint64_t		 v;
	int			 n, rc;
	bool			 ok;

	cbor_put_text(&b, "key");
	cbor_put_text(&b, w->key);
	ck_assert(!b.failed);
	rc = peer_op(kv_p[i], "kv_get", b.data, b.len, 1, KV_OP_MS, &res,
	    &len, &err);
	cbor_buf_free(&b);
	if (rc == -1) {
		snprintf(kv_why, sizeof(kv_why), "kv_get %s on h%d: %s: %s",
		    w->key, i, peer_code_name(err.code), err.message);
		return w->deleted && err.code == PEER_NOT_FOUND;
	}
	ok = !w->deleted && (n = cbor_scan_map(res, len, f, 8)) != -1 &&
	    (x = cbor_field_get(f, n, "value")) != NULL &&
	    cbor_read_text(x->val, x->vallen, &s, &slen) &&
	    slen == strlen(w->val) && memcmp(s, w->val, slen) == 0 &&
	    (x = cbor_field_get(f, n, "version")) != NULL &&
	    cbor_read_uint(x->val, x->vallen, &v) && v >= w->ver;
	if (!ok)
		snprintf(kv_why, sizeof(kv_why), "kv_get %s on h%d: not %s "
		    "at version %llu or later", w->key, i, w->deleted ?
		    "deleted" : w->val, (unsigned long long)w->ver);
	free(res);
	return ok;
}

/*
 * Every host reads one value per key, the newest acknowledged, and
 * every owner holds it.  The owners are asked before the reads, which
 * repair: what they hold came by the store's own sync.
 */
static bool
kv_healed(void *arg)
{
	int	i, k;

	(void)arg;
	for (k = 0; k < KV_KEYS; k++)
		for (i = 0; i < KV_HOSTS; i++)
			if (!kv_where_agrees(i, &kv_want[k]))
				return false;
	for (k = 0; k < KV_KEYS; k++)
		for (i = 0; i < KV_HOSTS; i++)
			if (!kv_get_agrees(i, &kv_want[k]))
				return false;
	return true;
}

START_TEST(test_kv_partition_heals)
{
	struct peer_error	 err;
	struct kv_want		*same, *maj, *mino;
	uint8_t			 key[32];
	uint64_t		 ver;
	char			 val[32];
	long			 t0;
	bool			 split;
	int			 i, k;

	if (!have_netns) {
		fprintf(stderr, "SKIP: network namespace tests need root and "
		    "iproute2\n");
		return;
	}
	randombytes_buf(key, sizeof(key));
	for (i = 0; i < KV_HOSTS; i++)
		start_host(i, key, "kv_sync_interval = 500ms\n");
	split = false;
	ck_assert_msg(wait_until(kv_views, &split, 15000), "the five never "
	    "saw each other: %s", kv_why);
	for (i = 0; i < KV_HOSTS; i++)
		kv_p[i] = daemon_peer(&h[i]);

	/* Keys written on both sides, on the majority's, on the minority's. */
	same = kv_want;
	maj = kv_want + KV_N;
	mino = kv_want + 2 * KV_N;
	for (k = 0; k < KV_N; k++) {
		snprintf(same[k].key, sizeof(same[k].key), "part/same/%d", k);
		snprintf(maj[k].key, sizeof(maj[k].key), "part/major/%d", k);
		snprintf(mino[k].key, sizeof(mino[k].key), "part/minor/%d", k);
	}
	for (k = 0; k < KV_KEYS; k++) {
		snprintf(val, sizeof(val), "before-%d", k);
		kv_write_majority(&kv_want[k], val, k);
	}

	t0 = test_now_ms();
	ck_assert(kv_minority_to("br1"));
	split = true;
	ck_assert_msg(wait_until(kv_views, &split, 15000), "the sides never "
	    "marked each other dead: %s", kv_why);
	fprintf(stderr, "netns kv: split 3 | 2 seen after %ld ms\n",
	    test_now_ms() - t0);

	/*
	 * The minority sees 2 of 5 store nodes live: no write is taken
	 * there, and none is acknowledged.
	 */
	for (k = 0; k < KV_N; k++) {
		i = KV_MINORITY + k % (KV_HOSTS - KV_MINORITY);
		snprintf(val, sizeof(val), "minority-%d", k);
		ck_assert_msg(kv_write(i, same[k].key, val, &ver, &err) == -1,
		    "put %s on h%d (minority side) acknowledged at %llu",
		    same[k].key, i, (unsigned long long)ver);
		ck_assert_msg(err.code == PEER_UNAVAILABLE &&
		    strstr(err.message, "sees 2 of 5") != NULL, "put %s on "
		    "h%d (minority side): %s: %s", same[k].key, i,
		    peer_code_name(err.code), err.message);
		ck_assert_msg(kv_write(i, mino[k].key, val, &ver, &err) == -1,
		    "put %s on h%d (minority side) acknowledged at %llu",
		    mino[k].key, i, (unsigned long long)ver);
		ck_assert_msg(err.code == PEER_UNAVAILABLE, "put %s on h%d "
		    "(minority side): %s: %s", mino[k].key, i,
		    peer_code_name(err.code), err.message);
	}
	ck_assert_msg(kv_write(KV_MINORITY, maj[1].key, NULL, &ver, &err) ==
	    -1 && err.code == PEER_UNAVAILABLE, "del %s on the minority side "
	    "was not refused as UNAVAILABLE", maj[1].key);

	/*
	 * The majority takes them all: the same keys twice over for some,
	 * its own keys once, and a delete.
	 */
	for (k = 0; k < KV_N; k++) {
		snprintf(val, sizeof(val), "majority-%d", k);
		kv_write_majority(&same[k], val, k);
		kv_write_majority(&maj[k], val, k + 1);
	}
	for (k = 0; k < KV_N; k += 2) {
		snprintf(val, sizeof(val), "majority-again-%d", k);
		kv_write_majority(&same[k], val, k + 2);
	}
	kv_write_majority(&maj[0], NULL, 0);

	t0 = test_now_ms();
	ck_assert(kv_minority_to("br0"));
	split = false;
	ck_assert_msg(wait_until(kv_views, &split, 30000), "membership never "
	    "healed: %s", kv_why);
	fprintf(stderr, "netns kv: membership healed after %ld ms\n",
	    test_now_ms() - t0);
	ck_assert_msg(wait_until(kv_healed, NULL, 30000), "the store never "
	    "healed: %s", kv_why);
	fprintf(stderr, "netns kv: every host reads the newest acknowledged "
	    "value of all %d keys, every owner holds it, %ld ms after the "
	    "heal\n", KV_KEYS, test_now_ms() - t0);
	for (i = 0; i < KV_HOSTS; i++)
		peer_close(kv_p[i]);
}
END_TEST

Suite *
netns_suite(void)
{
	Suite	*s = suite_create("netns");
	TCase	*tc = tcase_create("netns");
	TCase	*line = tcase_create("line");
	TCase	*square = tcase_create("square");
	TCase	*kv = tcase_create("kv");

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
	tcase_add_checked_fixture(kv, kv_setup, teardown);
	tcase_set_timeout(kv, 150);
	tcase_add_test(kv, test_kv_partition_heals);
	suite_add_tcase(s, kv);
	return s;
}
