/* SPDX-License-Identifier: ISC */
/*
 * test_membership.c: membership across 20 daemons on 127.0.0.1, each
 * bootstrapped to one random earlier daemon: everyone comes to know
 * everyone, a crash is seen as dead everywhere, a restart as alive
 * with a higher incarnation, a clean stop as left.  Each wait has a
 * deadline and prints how long it took.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define N	20

static struct daemon	n[N];
static char		names[N][16];

static void
setup(void)
{
	int	i;

	daemons_init_mesh(n, N);
	for (i = 0; i < N; i++)
		snprintf(names[i], sizeof(names[i]), "n%02d", i);
}

static void
teardown(void)
{
	daemons_free(n, N);
}

struct view {
	int		 skip;		/* a daemon not to ask, or -1 */
	const char	*name;		/* the member looked at */
	const char	*state;
	json_int_t	 above;		/* incarnation must exceed this */
	int		 alive;		/* or: every daemon sees this many */
};

/* True when every running daemon but skip agrees. */
static bool
all_agree(void *arg)
{
	struct view	*v = arg;
	json_int_t	 inc = 0;
	char		*s;
	bool		 ok;
	int		 i;

	for (i = 0; i < N; i++) {
		if (i == v->skip || n[i].pid == -1)
			continue;
		if (v->name == NULL) {
			if (count_listed(&n[i], "members", "members",
			    "state", "alive") != v->alive)
				return false;
			continue;
		}
		s = member_state(&n[i], v->name, &inc);
		ok = s != NULL && strcmp(s, v->state) == 0 && inc > v->above;
		free(s);
		if (!ok)
			return false;
	}
	return true;
}

static void
start(int i, int boot)
{
	daemon_start_boot(&n[i], names[i], boot >= 0 ? &n[boot] : NULL);
}

START_TEST(test_twenty_daemons)
{
	struct view	 v;
	json_int_t	 inc_before = 0;
	long		 t0;
	char		*s;
	int		 i, boot[N];

	t0 = test_now_ms();
	for (i = 0; i < N; i++) {
		boot[i] = i == 0 ? -1 : (int)randombytes_uniform((uint32_t)i);
		start(i, boot[i]);
	}
	fprintf(stderr, "membership: %d daemons started in %ld ms\n", N,
	    test_now_ms() - t0);

	t0 = test_now_ms();
	v = (struct view){ -1, NULL, NULL, 0, N };
	ck_assert_msg(wait_until(all_agree, &v, 15000),
	    "not every daemon lists all %d alive", N);
	fprintf(stderr, "membership: all %d see all %d alive after %ld ms\n",
	    N, N, test_now_ms() - t0);

	/* kill -9 of one: every other daemon marks it dead. */
	s = member_state(&n[7], names[7], &inc_before);
	free(s);
	t0 = test_now_ms();
	daemon_stop(&n[7], SIGKILL);
	v = (struct view){ 7, names[7], "dead", inc_before - 1, 0 };
	ck_assert_msg(wait_until(all_agree, &v, 10000),
	    "not every daemon marks the killed one dead");
	fprintf(stderr, "membership: kill -9 seen as dead by all after "
	    "%ld ms\n", test_now_ms() - t0);

	/* Restarted: alive again, with a higher incarnation. */
	t0 = test_now_ms();
	start(7, boot[7]);
	v = (struct view){ -1, names[7], "alive", inc_before, 0 };
	ck_assert_msg(wait_until(all_agree, &v, 10000),
	    "the restarted daemon is not alive everywhere");
	fprintf(stderr, "membership: restart seen as alive (higher "
	    "incarnation) by all after %ld ms\n", test_now_ms() - t0);

	/* SIGTERM of another: seen as left. */
	t0 = test_now_ms();
	ck_assert_int_eq(daemon_stop(&n[12], SIGTERM), 0);
	v = (struct view){ 12, names[12], "left", 0, 0 };
	ck_assert_msg(wait_until(all_agree, &v, 10000),
	    "not every daemon sees the stopped one as left");
	fprintf(stderr, "membership: SIGTERM seen as left by all after "
	    "%ld ms\n", test_now_ms() - t0);
}
END_TEST

START_TEST(test_peer_cache_rejoins)
{
	struct view	 v;
	int		 i;

	/* Three linked nodes; the third then restarts with no bootstrap. */
	start(0, -1);
	start(1, 0);
	start(2, 1);
	v = (struct view){ -1, names[2], "alive", 0, 0 };
	ck_assert(wait_until(all_agree, &v, 10000));
	/* peers.cache is written within 5 s of a change. */
	{
		char		path[256];

		snprintf(path, sizeof(path), "%s/peers.cache", n[2].state);
		for (i = 0; i < 100 && access(path, F_OK) == -1; i++)
			usleep(100000);
		ck_assert_msg(access(path, F_OK) == 0, "no %s", path);
	}
	ck_assert_int_eq(daemon_stop(&n[2], SIGTERM), 0);
	start(2, -1);
	v = (struct view){ -1, NULL, NULL, 0, 3 };
	ck_assert_msg(wait_until(all_agree, &v, 10000),
	    "a restarted node did not rejoin from its peer cache");
}
END_TEST

/* Waits until d lists name as alive. */
struct sees {
	struct daemon	*d;
	const char	*name;
};

static bool
sees_alive(void *arg)
{
	struct sees	*w = arg;
	char		*s = member_state(w->d, w->name, NULL);
	bool		 ok = s != NULL && strcmp(s, "alive") == 0;

	free(s);
	return ok;
}

static bool
old_network_saw_c_leave(void *arg)
{
	char	*s = member_state(&n[3], "c", NULL);
	bool	 ok = s != NULL && strcmp(s, "left") == 0;

	(void)arg;
	free(s);
	return ok;
}

/* name is listed by none of the running daemons. */
static bool
forgotten(void *arg)
{
	char	*s;
	int	 i;

	for (i = 0; i < N; i++) {
		if (n[i].pid == -1)
			continue;
		if ((s = member_state(&n[i], arg, NULL)) != NULL) {
			free(s);
			return false;
		}
	}
	return true;
}

static bool
reappeared(void *arg)
{
	return !forgotten(arg);
}

START_TEST(test_dead_members_expire)
{
	struct view	v;
	int		i;

	for (i = 0; i < 3; i++) {
		daemon_config(&n[i], "member_expire = 1s\n");
		start(i, i == 0 ? -1 : 0);
	}
	v = (struct view){ -1, NULL, NULL, 0, 3 };
	ck_assert(wait_until(all_agree, &v, 10000));
	daemon_stop(&n[2], SIGKILL);
	v = (struct view){ 2, names[2], "dead", 0, 0 };
	ck_assert(wait_until(all_agree, &v, 10000));
	/* Then it is gone and stays gone. */
	ck_assert_msg(wait_until(forgotten, names[2], 5000),
	    "the dead member was not forgotten");
	ck_assert_msg(!wait_until(reappeared, names[2], 3000),
	    "the expired member came back");
}
END_TEST

START_TEST(test_join_flow)
{
	uint8_t		 other[32];
	char		 token[8192], bad[8192], out[1024], err[1024];
	struct sees	 w;
	const char	*extra[] = { "--join", token, NULL };
	int		 i;

	/* Each node makes a network key of its own, as fresh hosts do. */
	for (i = 0; i < 5; i++) {
		daemon_free(&n[i]);
		daemon_init(&n[i]);
	}
	daemon_start(&n[0], "a", NULL);
	daemon_start(&n[1], "b", NULL);
	ck_assert_int_eq(peerctl_run(&n[0], token, sizeof(token), err,
	    sizeof(err), "invite", NULL), 0);
	token[strcspn(token, "\n")] = '\0';
	ck_assert_msg(strncmp(token, "peerd1-", 7) == 0, "%s", token);

	/* A damaged token is refused, not misread. */
	snprintf(bad, sizeof(bad), "%s", token);
	bad[20] = bad[20] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(peerctl_run(&n[1], out, sizeof(out), err, sizeof(err),
	    "join", bad, NULL), 1);
	ck_assert_msg(strstr(err, "damaged") != NULL, "%s", err);

	ck_assert_int_eq(peerctl_run(&n[1], out, sizeof(out), err, sizeof(err),
	    "join", token, NULL), 0);
	ck_assert(strstr(out, "joined: linked to") != NULL);
	w = (struct sees){ &n[0], "b" };
	ck_assert(wait_until(sees_alive, &w, 5000));

	/* c and d form a network of their own: c refuses unless forced. */
	randombytes_buf(other, sizeof(other));
	daemon_set_network_key(&n[2], other);
	daemon_set_network_key(&n[3], other);
	daemon_start(&n[2], "c", NULL);
	start(3, 2);
	w = (struct sees){ &n[2], names[3] };
	ck_assert(wait_until(sees_alive, &w, 5000));
	ck_assert_int_eq(peerctl_run(&n[2], out, sizeof(out), err, sizeof(err),
	    "join", token, NULL), 1);
	ck_assert_msg(strstr(err, "member of another network") != NULL, "%s",
	    err);
	ck_assert_int_eq(peerctl_run(&n[2], out, sizeof(out), err, sizeof(err),
	    "join", token, "--force", NULL), 0);
	w = (struct sees){ &n[0], "c" };
	ck_assert(wait_until(sees_alive, &w, 5000));
	/* Its old network saw it leave. */
	ck_assert_msg(wait_until(old_network_saw_c_leave, NULL, 5000),
	    "the old network did not see c leave");

	/* peerd --join on a fresh host. */
	daemon_start(&n[4], "e", extra);
	w = (struct sees){ &n[0], "e" };
	ck_assert(wait_until(sees_alive, &w, 5000));
	w = (struct sees){ &n[4], "b" };
	ck_assert(wait_until(sees_alive, &w, 5000));
}
END_TEST

/* How many links d has up. */
static size_t
links_up(struct daemon *d)
{
	json_t	*j;
	size_t	 count;
	int	 status;

	if ((j = peerctl_json(d, &status, "peers", NULL)) == NULL)
		return SIZE_MAX;
	count = json_array_size(json_object_get(j, "peers"));
	json_decref(j);
	return count;
}

static bool
hub_shed(void *arg)
{
	return links_up(arg) <= 2;
}

/* Names d lists with extra filter arguments, comma-joined into buf. */
static void
listed(struct daemon *d, const char *a1, const char *a2, char *buf,
    size_t len)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;

	buf[0] = '\0';
	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "members", a1, a2,
	    NULL));
	json_array_foreach(json_object_get(j, "members"), i, e) {
		strncat(buf, json_string_value(json_object_get(e, "name")),
		    len - strlen(buf) - 2);
		strcat(buf, ",");
	}
	json_decref(j);
}

START_TEST(test_degree_and_filters)
{
	struct view	v;
	char		buf[256];
	int		i;

	/* A hub that may keep two links, and four nodes that all dial it. */
	daemon_config(&n[0], "hub = yes\ngroup = lab\ngroup = edge\n"
	    "degree_min = 1\ndegree_max = 2\n");
	start(0, -1);
	for (i = 1; i < 5; i++) {
		daemon_config(&n[i], "degree_min = 2\n");
		start(i, 0);
	}
	for (i = 5; i < N; i++)
		n[i].pid = -1;
	ck_assert_msg(wait_until(hub_shed, &n[0], 10000),
	    "the hub kept %zu links over degree_max 2", links_up(&n[0]));
	/* Shedding cut no one off: everyone still knows everyone alive. */
	v = (struct view){ -1, NULL, NULL, 0, 5 };
	ck_assert_msg(wait_until(all_agree, &v, 10000),
	    "members lost after shedding");
	ck_assert_uint_le(links_up(&n[0]), 2);

	listed(&n[3], "--group", "edge", buf, sizeof(buf));
	ck_assert_str_eq(buf, "n00,");
	listed(&n[3], "--hubs", NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "n00,");
	listed(&n[3], "--group", "none", buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

/* Whether d has a link up to the node called name. */
static bool
linked_to(struct daemon *d, const char *name)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;
	bool	 found = false;

	if ((j = peerctl_json(d, &status, "peers", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "peers"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "state")),
		    "up") == 0 && strcmp(json_string_value(json_object_get(e,
		    "name")), name) == 0)
			found = true;
	json_decref(j);
	return found;
}

#define BOOT_N		8
#define BOOT_MAX	3

static bool
boot_shed(void *arg)
{
	(void)arg;
	return links_up(&n[0]) <= BOOT_MAX;
}

/* Node 0 over degree_max again, or a node left with no link. */
static bool
boot_hub_again(void *arg)
{
	int	i;

	(void)arg;
	if (links_up(&n[0]) > BOOT_MAX)
		return true;
	for (i = 0; i < BOOT_N; i++)
		if (count_listed(&n[i], "peers", "peers", "state", "up") == 0)
			return true;
	return false;
}

/*
 * Everyone bootstrapped to node 0: it sheds down to degree_max and
 * stays there, as the nodes it shed do not dial their bootstrap
 * address again while they have other links.
 */
START_TEST(test_bootstrap_node_not_a_hub)
{
	struct view	 v;
	char		 addr[64], line[128];
	int		 i, nshed = 0;

	for (i = 0; i < BOOT_N; i++)
		daemon_config(&n[i], "degree_min = 2\ndegree_max = 3\n");
	for (i = BOOT_N; i < N; i++)
		n[i].pid = -1;
	start(0, -1);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&n[0]));
	for (i = 1; i < BOOT_N; i++)
		start(i, 0);
	v = (struct view){ -1, NULL, NULL, 0, BOOT_N };
	ck_assert_msg(wait_until(all_agree, &v, 15000),
	    "not every daemon lists all %d alive", BOOT_N);
	ck_assert_msg(wait_until(boot_shed, NULL, 15000),
	    "the bootstrap node kept %zu links over degree_max %d",
	    links_up(&n[0]), BOOT_MAX);
	/*
	 * At least BOOT_N - 1 - BOOT_MAX nodes are not linked to node 0:
	 * each keeps its bootstrap address dormant.
	 */
	snprintf(line, sizeof(line), "mesh: bootstrap %s: not dialed again "
	    "while this node has links", addr);
	for (i = 1; i < BOOT_N; i++) {
		if (linked_to(&n[i], names[0]))
			continue;
		ck_assert_msg(daemon_log_wait(&n[i], line, 5000),
		    "%s, not linked to node 0, does not keep its bootstrap "
		    "address dormant", names[i]);
		nshed++;
	}
	ck_assert_int_ge(nshed, BOOT_N - 1 - BOOT_MAX);
	/* Nobody comes back to make it a hub, and nobody is left alone. */
	ck_assert_msg(!wait_until(boot_hub_again, NULL, 5000),
	    "node 0 has %zu links (degree_max %d), or a node is alone",
	    links_up(&n[0]), BOOT_MAX);
}
END_TEST

static bool
linked_again(void *arg)
{
	return count_listed(arg, "peers", "peers", "state", "up") > 0;
}

/*
 * A node whose only link closes on purpose, knowing no other member,
 * dials its bootstrap address again rather than stay alone.
 */
START_TEST(test_alone_dials_bootstrap)
{
	struct sees	 w = { &n[1], names[0] };
	char		 out[512], err[512];
	int		 i;

	for (i = 2; i < N; i++)
		n[i].pid = -1;
	start(0, -1);
	start(1, 0);
	ck_assert(wait_until(sees_alive, &w, 5000));
	ck_assert(wait_until(linked_again, &n[1], 5000));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err,
	    sizeof(err), "disconnect", names[1], NULL), 0);
	ck_assert_msg(daemon_log_wait(&n[1], "mesh: no links left; dialing "
	    "bootstrap", 5000), "the lone node does not dial its bootstrap");
	ck_assert_msg(wait_until(linked_again, &n[1], 5000),
	    "the lone node stays without links");
}
END_TEST

/* Registers service (in group, if not NULL) on p; returns the code. */
static int
register_service(struct peer *p, const char *op, const char *service,
    const char *group)
{
	struct cbor_buf		 b = { 0 };
	struct peer_error	 err;
	uint8_t			*res;
	size_t			 len;
	int			 rc;

	cbor_put_text(&b, "service");
	cbor_put_text(&b, service);
	if (group != NULL) {
		cbor_put_text(&b, "group");
		cbor_put_text(&b, group);
	}
	rc = peer_op(p, op, b.data, b.len, group != NULL ? 2 : 1, 0, &res,
	    &len, &err) == 0 ? PEER_OK : (int)err.code;
	if (rc == PEER_OK)
		free(res);
	cbor_buf_free(&b);
	return rc;
}

struct offer {
	struct daemon	*d;
	const char	*service;
	const char	*group;		/* expected group, NULL: none */
	const char	*node;		/* expected provider's name */
	bool		 present;
};

/* d lists service offered by node (in group) exactly if present. */
static bool
offered(void *arg)
{
	struct offer	*o = arg;
	json_t		*j, *e, *g;
	size_t		 i;
	int		 status;
	bool		 found = false;

	if ((j = peerctl_json(o->d, &status, "services", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "services"), i, e) {
		g = json_object_get(e, "group");
		if (strcmp(json_string_value(json_object_get(e, "service")),
		    o->service) == 0 && strcmp(json_string_value(
		    json_object_get(e, "name")), o->node) == 0 &&
		    (o->group == NULL ? json_is_null(g) :
		    json_is_string(g) && strcmp(json_string_value(g),
		    o->group) == 0))
			found = true;
	}
	json_decref(j);
	return found == o->present;
}

START_TEST(test_services_spread_and_vanish)
{
	struct offer	 o;
	struct peer	*p, *q;

	start(0, -1);
	start(1, 0);
	ck_assert_ptr_nonnull(p = peer_open(n[0].sock, NULL));
	ck_assert_int_eq(register_service(p, "register", "calc", NULL),
	    PEER_OK);
	ck_assert_int_eq(register_service(p, "register", "camera.front",
	    "lab"), PEER_OK);
	ck_assert_int_eq(register_service(p, "register", "calc", NULL),
	    PEER_ALREADY_EXISTS);
	ck_assert_int_eq(register_service(p, "register", "Bad Name", NULL),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(register_service(p, "unregister", "nope", NULL),
	    PEER_NOT_FOUND);

	/* Known mesh-wide, with its group. */
	o = (struct offer){ &n[1], "calc", NULL, "n00", true };
	ck_assert_msg(wait_until(offered, &o, 5000), "calc never reached n01");
	o = (struct offer){ &n[1], "camera.front", "lab", "n00", true };
	ck_assert(wait_until(offered, &o, 5000));
	/* Unregistered: gone everywhere. */
	ck_assert_int_eq(register_service(p, "unregister", "camera.front",
	    "lab"), PEER_OK);
	o = (struct offer){ &n[1], "camera.front", "lab", "n00", false };
	ck_assert_msg(wait_until(offered, &o, 5000),
	    "unregistered service still listed");
	/* Its client disconnects: its services go with it. */
	peer_close(p);
	o = (struct offer){ &n[1], "calc", NULL, "n00", false };
	ck_assert_msg(wait_until(offered, &o, 5000),
	    "a disconnected client's service still listed");
	/* Its node dies: its services go with it. */
	ck_assert_ptr_nonnull(q = peer_open(n[0].sock, NULL));
	ck_assert_int_eq(register_service(q, "register", "calc", NULL),
	    PEER_OK);
	o = (struct offer){ &n[1], "calc", NULL, "n00", true };
	ck_assert(wait_until(offered, &o, 5000));
	daemon_stop(&n[0], SIGKILL);
	o = (struct offer){ &n[1], "calc", NULL, "n00", false };
	ck_assert_msg(wait_until(offered, &o, 5000),
	    "a dead node's service still listed");
	peer_close(q);
}
END_TEST

Suite *
membership_suite(void)
{
	Suite	*s = suite_create("membership");
	TCase	*tc = tcase_create("membership");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_twenty_daemons);
	tcase_add_test(tc, test_peer_cache_rejoins);
	tcase_add_test(tc, test_join_flow);
	tcase_add_test(tc, test_degree_and_filters);
	tcase_add_test(tc, test_bootstrap_node_not_a_hub);
	tcase_add_test(tc, test_alone_dials_bootstrap);
	tcase_add_test(tc, test_dead_members_expire);
	tcase_add_test(tc, test_services_spread_and_vanish);
	suite_add_tcase(s, tc);
	return s;
}
