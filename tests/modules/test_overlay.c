/* SPDX-License-Identifier: ISC */
/*
 * test_overlay.c: overlay.c against a fake mesh, fake links and a fake
 * gossip.  The rules: every second, short of degree_min links (up links
 * plus dials under way) it probes alive members, hubs first, never
 * itself nor one held off, linked or being dialed; over degree_max it
 * sheds and dials nothing; idle links are closed at every check; at
 * most 2 dead members are re-dialed a check, each after 5 s (doubling
 * after failures), never again after a refusal until a new record;
 * peers.cache holds the first address of each alive member, is written
 * when the members changed (at most every 5 s), is dialed while no link
 * is up, and is emptied when we join another network.
 *
 * The overlay's waits are constants of seconds, so the clock here runs
 * at real speed plus a skew that a test pushes forward: a degree check
 * "a second later" is one 100 ms tick away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "clock.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "gossip.h"
#include "harness.h"
#include "identity.h"
#include "overlay.h"

#define PROBES_MAX	256
#define CHECK_WAIT_MS	500	/* a tick is 100 ms: a check comes by then */
#define CACHE_LINES	64	/* addresses read back from peers.cache */
#define LINE_LEN	512

/* The gossip as overlay.c sees it: a member table, and probes. */
struct gossip {
	struct members	*members;
	struct mesh	*mesh;
};

/* A probe overlay.c asked for; the test ends its dial in the mesh. */
struct probe {
	uint8_t		 id[NODE_ID_LEN];
	gossip_probe_fn	*fn;
	void		*arg;
	size_t		 dial;		/* its dial in the fake mesh */
	bool		 dialed;
};

static struct probe	 probes[PROBES_MAX];
static size_t		 nprobes;
static int64_t		 skew_ms;

static struct event_base	*base;
static struct tnode		 self;
static struct identity		 ident;
static struct members		*members;
static struct mesh		*mesh;
static struct gossip		 gossip;
static struct overlay		*overlay;
static char			 dir[64], cache[128];

/*
 * The clock, in place of daemon/clock.c: real time, pushed forward by
 * skew_ms.
 */

static int64_t
real_us(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_ms(void)
{
	return real_us(CLOCK_MONOTONIC) / 1000 + skew_ms;
}

int64_t
clock_us(void)
{
	return real_us(CLOCK_MONOTONIC) + skew_ms * 1000;
}

uint64_t
clock_wall_ms(void)
{
	return (uint64_t)(real_us(CLOCK_REALTIME) / 1000 + skew_ms);
}

uint64_t
clock_wall_us(void)
{
	return (uint64_t)(real_us(CLOCK_REALTIME) + skew_ms * 1000);
}

/* The gossip calls overlay.c makes. */

/* A probe's dial ended: its owner hears how, as gossip would tell. */
static void
probe_dialed(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct probe	*p = arg;

	(void)reason;
	if (p->fn != NULL)
		p->fn(p->id, res, p->arg);
}

int
gossip_probe(struct gossip *g, const uint8_t *id, gossip_probe_fn *fn,
    void *arg)
{
	struct member	*m = members_get(g->members, id);
	struct probe	*p;

	ck_assert_uint_lt(nprobes, PROBES_MAX);
	p = &probes[nprobes++];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, id, NODE_ID_LEN);
	p->fn = fn;
	p->arg = arg;
	/* As the real one: no dial to ourselves or to no address. */
	if (m == NULL || m->self || m->rec.naddrs == 0)
		return -1;
	p->dial = fake_mesh_ndials(g->mesh);
	p->dialed = true;
	return mesh_dial_member(g->mesh, id, m->rec.addrs[0],
	    MESH_DIAL_RECORD, probe_dialed, p);
}

const struct members *
gossip_members(const struct gossip *g)
{
	return g->members;
}

static void
setup(void)
{
	skew_ms = 0;
	nprobes = 0;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tnode_new(&self, "self");
	memset(&ident, 0, sizeof(ident));
	memcpy(ident.pk, self.pk, NODE_ID_LEN);
	members = tnode_members(&self);
	mesh = fake_mesh_new();
	gossip.members = members;
	gossip.mesh = mesh;
	tmpdir_make(dir, sizeof(dir), "overlay");
	snprintf(cache, sizeof(cache), "%s/peers.cache", dir);
	overlay = NULL;
}

static void
teardown(void)
{
	overlay_free(overlay);
	fake_mesh_free(mesh);
	members_free(members);
	event_base_free(base);
	tmpdir_remove(dir);
}

/* The overlay, with discovery off as in every test. */
static void
start(uint64_t degree_min, uint64_t degree_max)
{
	struct overlay_params	p;

	memset(&p, 0, sizeof(p));
	p.tick_ms = 100;
	p.degree_min = degree_min;
	p.degree_max = degree_max;
	p.state_dir = dir;
	p.discovery = false;
	p.id = &ident;
	overlay = overlay_new(base, &p, mesh, &gossip);
	ck_assert_ptr_nonnull(overlay);
}

/* n joins the table, alive, at incarnation 1. */
static struct member *
join(const struct tnode *n, bool hub)
{
	struct record	r;

	tnode_record(n, 1, &r);
	r.hub = hub;
	return tnode_offer(members, n, &r);
}

/* n is declared dead at the record we hold, as gossip would. */
static void
die(const struct tnode *n)
{
	struct member	*m = members_get(members, n->pk);

	ck_assert(members_dead(members, n->pk, m->rec.incarnation, 0));
}

/* n comes back with a new record, and dies again at it. */
static struct member *
reborn_dead(const struct tnode *n)
{
	struct member	*m = members_get(members, n->pk);
	struct record	 r;

	tnode_record(n, m->rec.incarnation + 1, &r);
	m = tnode_offer(members, n, &r);
	die(n);
	return m;
}

/* An up link to n. */
static struct link *
link_to(const struct tnode *n)
{
	struct link	*l = fake_link_new(n->pk, n->name, true);

	fake_mesh_add(mesh, l);
	return l;
}

static bool
checked(void *arg)
{
	return fake_mesh_idle_closes(mesh) >= *(int *)arg;
}

/* Waits for the degree check of the first tick. */
static void
first_check(void)
{
	int	want = 1;

	ck_assert_msg(loop_until(base, checked, &want, CHECK_WAIT_MS),
	    "no degree check (mesh_close_idle) on the first tick");
}

/* Moves the clock ms on and waits for the degree check that follows. */
static void
next_check(int64_t ms)
{
	int	want = fake_mesh_idle_closes(mesh) + 1;

	skew_ms += ms;
	ck_assert_msg(loop_until(base, checked, &want, CHECK_WAIT_MS),
	    "no degree check (mesh_close_idle) %lld ms on", (long long)ms);
}

/* How many probes of n were asked for. */
static size_t
probes_of(const struct tnode *n)
{
	size_t	i, k = 0;

	for (i = 0; i < nprobes; i++)
		if (memcmp(probes[i].id, n->pk, NODE_ID_LEN) == 0)
			k++;
	return k;
}

/* The last probe of n, which the test ends with res. */
static void
probe_end(const struct tnode *n, enum mesh_dial_result res)
{
	size_t	i;

	for (i = nprobes; i-- > 0;)
		if (memcmp(probes[i].id, n->pk, NODE_ID_LEN) == 0)
			break;
	ck_assert_msg(i < nprobes && probes[i].dialed, "%s not probed",
	    n->name);
	fake_mesh_dial_end(mesh, probes[i].dial, res);
}

/* Dials of addr without a node id: those of peers.cache. */
static size_t
cache_dials(const char *addr)
{
	struct fake_dial	*d;
	size_t			 i, k = 0;

	for (i = 0; i < fake_mesh_ndials(mesh); i++) {
		d = fake_mesh_dial(mesh, i);
		if (!d->has_id && (addr == NULL || strcmp(d->addr, addr) == 0))
			k++;
	}
	return k;
}

static void
write_cache(const char *text)
{
	FILE	*f = fopen(cache, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The addresses in peers.cache, in order; -1 if there is no file. */
static int
read_cache(char lines[CACHE_LINES][LINE_LEN])
{
	char	 buf[LINE_LEN];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(cache, "r")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL && n < CACHE_LINES) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		memcpy(lines[n++], buf, sizeof(buf));
	}
	fclose(f);
	return n;
}

static bool
cache_has(char lines[CACHE_LINES][LINE_LEN], int n, const char *addr)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(lines[i], addr) == 0)
			return true;
	return false;
}

static bool
cache_exists(void *arg)
{
	(void)arg;
	return access(cache, F_OK) == 0;
}

static bool
cache_lacks(void *arg)
{
	char	lines[CACHE_LINES][LINE_LEN];
	int	n = read_cache(lines);

	return n >= 0 && !cache_has(lines, n, arg);
}

START_TEST(test_short_dials_hubs_first)
{
	struct tnode	h1, h2, a, b, c;

	tnode_new(&h1, "h1");
	tnode_new(&h2, "h2");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	join(&a, false);
	join(&h1, true);
	join(&b, false);
	join(&h2, true);
	join(&c, false);
	start(3, 6);
	first_check();
	ck_assert_uint_eq(nprobes, 3);
	/* Both hubs before anyone else, then one of the others. */
	ck_assert_msg(memcmp(probes[0].id, h1.pk, NODE_ID_LEN) == 0 ||
	    memcmp(probes[0].id, h2.pk, NODE_ID_LEN) == 0,
	    "the first probe is not of a hub");
	ck_assert_uint_eq(probes_of(&h1), 1);
	ck_assert_uint_eq(probes_of(&h2), 1);
	ck_assert_uint_eq(probes_of(&a) + probes_of(&b) + probes_of(&c), 1);
	ck_assert_uint_eq(probes_of(&self), 0);
}
END_TEST

START_TEST(test_short_counts_links_and_dials)
{
	struct tnode	a, b, c, d, e;

	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&d, "d");
	tnode_new(&e, "e");
	join(&a, false);
	join(&b, false);
	join(&c, false);
	join(&d, false);
	join(&e, false);
	link_to(&a);
	ck_assert_int_eq(mesh_dial_member(mesh, b.pk, "127.0.0.1:9",
	    MESH_DIAL_RECORD, NULL, NULL), 0);
	start(3, 6);
	/* One up, one dialing: one more is wanted, not a nor b. */
	first_check();
	ck_assert_uint_eq(nprobes, 1);
	ck_assert_uint_eq(probes_of(&a) + probes_of(&b), 0);
	/* Its own probe is a dial under way: enough for now. */
	next_check(1000);
	ck_assert_uint_eq(nprobes, 1);
	/* It failed: a slot is free again. */
	fake_mesh_dial_end(mesh, probes[0].dial, MESH_DIAL_FAILED);
	next_check(1000);
	ck_assert_uint_eq(nprobes, 2);
	ck_assert_uint_eq(probes_of(&a) + probes_of(&b), 0);
}
END_TEST

START_TEST(test_short_skips_unfit_members)
{
	struct tnode	fit, sus, gone, held, linked, dialing;
	struct record	r;

	tnode_new(&fit, "fit");
	tnode_new(&sus, "sus");
	tnode_new(&gone, "gone");
	tnode_new(&held, "held");
	tnode_new(&linked, "linked");
	tnode_new(&dialing, "dialing");
	join(&fit, false);
	join(&sus, true);
	ck_assert(members_suspect(members, sus.pk, 1, 0, INT64_MAX));
	tnode_record(&gone, 1, &r);
	r.left = true;
	r.hub = true;
	tnode_offer(members, &gone, &r);
	join(&held, true);
	fake_mesh_hold(mesh, held.pk, true);
	join(&linked, true);
	link_to(&linked);
	join(&dialing, true);
	ck_assert_int_eq(mesh_dial_member(mesh, dialing.pk, "127.0.0.1:9",
	    MESH_DIAL_RECORD, NULL, NULL), 0);
	start(10, 20);
	first_check();
	ck_assert_msg(nprobes == 1 && probes_of(&fit) == 1,
	    "%zu probes; the only fit member probed %zu times", nprobes,
	    probes_of(&fit));
	/* Let go, held is fair game at the next check. */
	fake_mesh_hold(mesh, held.pk, false);
	next_check(1000);
	ck_assert_uint_eq(probes_of(&held), 1);
	ck_assert_uint_eq(nprobes, 2);
}
END_TEST

START_TEST(test_over_max_sheds_and_dials_nothing)
{
	struct tnode	a, b, c, dead, lone;
	struct link	*lc;

	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&dead, "dead");
	tnode_new(&lone, "lone");
	join(&a, false);
	join(&b, false);
	join(&c, false);
	join(&dead, false);
	die(&dead);
	join(&lone, true);
	link_to(&a);
	link_to(&b);
	lc = link_to(&c);
	start(1, 2);
	first_check();
	ck_assert_int_eq(fake_mesh_sheds(mesh), 1);
	ck_assert_uint_eq(nprobes, 0);
	next_check(1000);
	/* Idle links are closed at every check, shedding or not. */
	ck_assert_int_eq(fake_mesh_sheds(mesh), 2);
	ck_assert_int_eq(fake_mesh_idle_closes(mesh), 2);
	ck_assert_uint_eq(nprobes, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	/* At degree_max, nothing is shed, and the dead are dialed again. */
	fake_mesh_remove(mesh, lc);
	next_check(1000);
	ck_assert_int_eq(fake_mesh_sheds(mesh), 2);
	ck_assert_int_eq(fake_mesh_idle_closes(mesh), 3);
	ck_assert_uint_eq(probes_of(&dead), 1);
	ck_assert_uint_eq(probes_of(&lone), 0);
}
END_TEST

START_TEST(test_dead_redialed_two_per_check)
{
	struct tnode	alive, d[3], held;
	size_t		i, n;

	tnode_new(&alive, "alive");
	join(&alive, false);
	for (i = 0; i < 3; i++) {
		tnode_new(&d[i], "dead");
		join(&d[i], i == 0);
		die(&d[i]);
	}
	tnode_new(&held, "held");
	join(&held, false);
	die(&held);
	fake_mesh_hold(mesh, held.pk, true);
	start(10, 20);
	/* Short of links, yet the dead are only the re-dial's, 2 a check. */
	first_check();
	ck_assert_uint_eq(probes_of(&alive), 1);
	for (i = 0, n = 0; i < 3; i++)
		n += probes_of(&d[i]);
	ck_assert_msg(n == 2, "%zu dead members dialed in one check", n);
	ck_assert_uint_eq(nprobes, 3);
	/* The next check takes the third; never the held one. */
	next_check(1000);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(probes_of(&d[i]), 1);
	ck_assert_uint_eq(probes_of(&held), 0);
	ck_assert_uint_eq(nprobes, 4);
}
END_TEST

START_TEST(test_failed_dead_waits)
{
	struct tnode	a, dead;

	tnode_new(&a, "a");
	tnode_new(&dead, "dead");
	join(&a, false);
	join(&dead, false);
	die(&dead);
	link_to(&a);
	start(1, 4);
	first_check();
	ck_assert_uint_eq(probes_of(&dead), 1);
	probe_end(&dead, MESH_DIAL_FAILED);
	/* The first wait is 1 s: the next check dials it again. */
	next_check(1000);
	ck_assert_uint_eq(probes_of(&dead), 2);
	/* Failed twice: the wait doubles, to 2 s, then to 4 s. */
	probe_end(&dead, MESH_DIAL_FAILED);
	next_check(1000);
	ck_assert_uint_eq(probes_of(&dead), 2);
	next_check(1000);
	ck_assert_uint_eq(probes_of(&dead), 3);
	probe_end(&dead, MESH_DIAL_FAILED);
	next_check(3000);
	ck_assert_uint_eq(probes_of(&dead), 3);
	next_check(1000);
	ck_assert_uint_eq(probes_of(&dead), 4);
}
END_TEST

START_TEST(test_refused_dead_never_again)
{
	struct tnode	a, refused, failed;
	struct member	*m;

	tnode_new(&a, "a");
	tnode_new(&refused, "refused");
	tnode_new(&failed, "failed");
	join(&a, false);
	join(&refused, false);
	die(&refused);
	join(&failed, false);
	die(&failed);
	link_to(&a);
	start(1, 4);
	first_check();
	ck_assert_uint_eq(probes_of(&refused), 1);
	ck_assert_uint_eq(probes_of(&failed), 1);
	probe_end(&refused, MESH_DIAL_REFUSED);
	probe_end(&failed, MESH_DIAL_FAILED);
	next_check(5000);
	ck_assert_uint_eq(probes_of(&failed), 2);
	ck_assert_uint_eq(probes_of(&refused), 1);
	next_check(600000);
	ck_assert_uint_eq(probes_of(&refused), 1);
	/* Told again of the same record: still refused. */
	overlay_member(overlay, members_get(members, refused.pk));
	next_check(1000);
	ck_assert_uint_eq(probes_of(&refused), 1);
	/* A new record (dead again at it) lifts the refusal. */
	m = reborn_dead(&refused);
	overlay_member(overlay, m);
	next_check(1000);
	ck_assert_uint_eq(probes_of(&refused), 2);
}
END_TEST

START_TEST(test_cache_written_when_members_change)
{
	char		 lines[CACHE_LINES][LINE_LEN];
	struct tnode	 a, b, dead, sus, gone;
	struct record	 r;
	char		 baddr[ADDR_STRLEN];
	int		 n;

	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&dead, "dead");
	tnode_new(&sus, "sus");
	tnode_new(&gone, "gone");
	tnode_record(&a, 1, &r);
	snprintf(r.addrs[0], ADDR_STRLEN, "10.0.0.1:4001");
	snprintf(r.addrs[1], ADDR_STRLEN, "10.0.0.2:4002");
	r.naddrs = 2;
	tnode_offer(members, &a, &r);
	snprintf(baddr, sizeof(baddr), "%s", join(&b, false)->rec.addrs[0]);
	join(&dead, false);
	die(&dead);
	join(&sus, false);
	ck_assert(members_suspect(members, sus.pk, 1, 0, INT64_MAX));
	tnode_record(&gone, 1, &r);
	r.left = true;
	tnode_offer(members, &gone, &r);
	/* A spare link, so that no cached address is dialed meanwhile. */
	link_to(&a);
	start(1, 4);
	first_check();
	loop_for(base, 250);
	ck_assert_msg(!cache_exists(NULL), "peers.cache written unchanged");
	overlay_member(overlay, members_get(members, a.pk));
	ck_assert(loop_until(base, cache_exists, NULL, CHECK_WAIT_MS));
	n = read_cache(lines);
	ck_assert_int_eq(n, 2);
	ck_assert(cache_has(lines, n, "10.0.0.1:4001"));
	ck_assert(cache_has(lines, n, baddr));
	/* b is gone: rewritten, but not within 5 s of the last write. */
	die(&b);
	overlay_forgotten(overlay, b.pk);
	loop_for(base, 250);
	next_check(1000);
	n = read_cache(lines);
	ck_assert_msg(n == 2 && cache_has(lines, n, baddr),
	    "peers.cache rewritten within 5 s");
	skew_ms += 4000;
	ck_assert_msg(loop_until(base, cache_lacks, baddr, CHECK_WAIT_MS),
	    "peers.cache still lists a dead member");
	n = read_cache(lines);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(lines[0], "10.0.0.1:4001");
}
END_TEST

START_TEST(test_cache_written_at_free)
{
	char		lines[CACHE_LINES][LINE_LEN];
	struct tnode	a;
	struct member	*m;

	tnode_new(&a, "a");
	m = join(&a, false);
	start(1, 4);
	overlay_member(overlay, m);
	overlay_free(overlay);
	overlay = NULL;
	ck_assert_int_eq(read_cache(lines), 1);
	ck_assert_str_eq(lines[0], m->rec.addrs[0]);
}
END_TEST

START_TEST(test_cache_dialed_while_alone)
{
	struct tnode	a;

	write_cache("# peers\n10.1.1.1:4000\nnot an address\n10.1.1.2:0\n"
	    "\n[::1]:4001\n");
	tnode_new(&a, "a");
	start(1, 4);
	first_check();
	ck_assert_uint_eq(cache_dials("10.1.1.1:4000"), 1);
	ck_assert_uint_eq(cache_dials("[::1]:4001"), 1);
	ck_assert_uint_eq(cache_dials(NULL), 2);
	/* Not again before 5 s; then again, while still alone. */
	next_check(1000);
	ck_assert_uint_eq(cache_dials(NULL), 2);
	next_check(4000);
	ck_assert_uint_eq(cache_dials(NULL), 4);
	/* A link is up: the cache rests. */
	link_to(&a);
	next_check(5000);
	next_check(5000);
	ck_assert_uint_eq(cache_dials(NULL), 4);
}
END_TEST

START_TEST(test_reset_empties_cache)
{
	char		lines[CACHE_LINES][LINE_LEN];
	struct tnode	a;

	write_cache("10.1.1.1:4000\n");
	tnode_new(&a, "a");
	join(&a, false);
	start(1, 4);
	first_check();
	ck_assert_uint_eq(cache_dials("10.1.1.1:4000"), 1);
	/* Another network: gossip forgets every member, then this. */
	members_clear(members);
	overlay_forgotten(overlay, a.pk);
	overlay_reset(overlay);
	ck_assert_int_eq(read_cache(lines), 0);
	next_check(5000);
	next_check(5000);
	ck_assert_uint_eq(cache_dials(NULL), 1);
}
END_TEST

START_TEST(test_discovery_off)
{
	start(1, 4);
	ck_assert_int_eq(overlay_discovery_start(overlay), 0);
	first_check();
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("overlay");
	TCase	*tc = tcase_create("overlay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_short_dials_hubs_first);
	tcase_add_test(tc, test_short_counts_links_and_dials);
	tcase_add_test(tc, test_short_skips_unfit_members);
	tcase_add_test(tc, test_over_max_sheds_and_dials_nothing);
	tcase_add_test(tc, test_dead_redialed_two_per_check);
	tcase_add_test(tc, test_failed_dead_waits);
	tcase_add_test(tc, test_refused_dead_never_again);
	tcase_add_test(tc, test_cache_written_when_members_change);
	tcase_add_test(tc, test_cache_written_at_free);
	tcase_add_test(tc, test_cache_dialed_while_alone);
	tcase_add_test(tc, test_reset_empties_cache);
	tcase_add_test(tc, test_discovery_off);
	suite_add_tcase(s, tc);
	return s;
}
