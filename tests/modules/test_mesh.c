/* SPDX-License-Identifier: ISC */
/*
 * test_mesh.c: mesh.c against fake links.  The rules: one link per pair
 * of nodes, the one whose initiator has the larger node ID (or, from one
 * initiator, the larger handshake hash) kept and only that one reported
 * up; a link to this node itself closed and its address not dialed
 * again; how a dial went and why an up link went down; link messages
 * by type; bye and the hold it starts; kept addresses dialed at once,
 * again after a backoff, not while their node is linked anyway, and
 * forgotten on reset; shedding the slowest link and closing idle links
 * dialed for calls; the bounds on inbound handshakes, per source address
 * (IPv4, IPv6 /64) and in all, each closing to make room the oldest that
 * sent no valid handshake message, or the oldest when all did; and the
 * control ops peers, connect, disconnect and ping.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "addr.h"
#include "clock.h"
#include "control.h"
#include "fake_link.h"
#include "harness.h"
#include "hello.h"
#include "identity.h"
#include "mesh.h"
#include "noise.h"

#define NNODES		6
#define REPORTS_MAX	32
#define HS_MAX		16	/* inbound handshakes under way, in all */
#define HS_PER_SOURCE	4	/* and from one address */
/* Longer than a first backoff (0.2 s, jitter up to 1.2 times). */
#define PAST_BACKOFF_MS	400

/* What the mesh told its owner. */
struct report {
	struct link		*l;
	enum mesh_reason	 why;
};

/* How one dial went, as its callback heard it. */
struct outcome {
	int			 n;
	enum mesh_dial_result	 res;
};

static struct event_base	*base;
static struct tnode		 self, node[NNODES];
static struct identity		 id;
static struct hello		 hello;
static struct mesh		*mesh;
static struct mesh_params	 mpar;		/* mesh's */
static struct report		 ups[REPORTS_MAX], downs[REPORTS_MAX];
static int			 nups, ndowns;
static struct control		*ctl;
static struct client		*cli;
static char			 dir[128];

/* Handler calls, for the message tests. */
static int			 nhandled;
static void			*handled_arg;
static struct link		*handled_link;
static char			 handled_type[32];
static uint64_t			 handled_v;

static void
on_up(void *arg, struct link *l)
{
	(void)arg;
	ck_assert_int_lt(nups, REPORTS_MAX);
	ups[nups++].l = l;
}

static void
on_down(void *arg, struct link *l, enum mesh_reason why)
{
	(void)arg;
	ck_assert_int_lt(ndowns, REPORTS_MAX);
	downs[ndowns].l = l;
	downs[ndowns++].why = why;
}

static const struct mesh_ops	ops = { on_up, on_down, NULL };

static void
setup(void)
{
	char			name[16];
	int			i;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tnode_new(&self, "self");
	for (i = 0; i < NNODES; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		tnode_new(&node[i], name);
	}
	memset(&id, 0, sizeof(id));
	memcpy(id.pk, self.pk, NODE_ID_LEN);
	memcpy(id.sk, self.sk, sizeof(id.sk));
	memcpy(id.id, self.idstr, sizeof(id.id));
	memset(&hello, 0, sizeof(hello));
	hello.version = HELLO_VERSION;
	memcpy(hello.id, self.pk, NODE_ID_LEN);
	snprintf(hello.name, sizeof(hello.name), "self");
	memset(&mpar, 0, sizeof(mpar));
	mpar.id = &id;
	mpar.hello = &hello;
	mpar.max_message = 1 << 20;
	mpar.call_dial = true;
	mpar.ping_interval = 1000;
	mpar.dead_after = 3000;
	mpar.handshake_timeout = 1000;
	mpar.max_handshakes = HS_MAX;
	mpar.max_handshakes_per_address = HS_PER_SOURCE;
	mesh = mesh_new(base, &mpar, &ops, NULL);
	ck_assert_ptr_nonnull(mesh);
	nups = ndowns = 0;
	nhandled = 0;
}

static void
teardown(void)
{
	/* The mesh answers its waiters on the way out: control goes after. */
	mesh_free(mesh);
	client_close(cli);
	cli = NULL;
	control_free(ctl);
	ctl = NULL;
	if (dir[0] != '\0')
		tmpdir_remove(dir);
	dir[0] = '\0';
	event_base_free(base);
}

/* A node on the given side of self: sign > 0 above, < 0 below. */
static void
tnode_beside(struct tnode *n, const char *name, int sign)
{
	do
		tnode_new(n, name);
	while ((memcmp(n->pk, self.pk, NODE_ID_LEN) > 0) != (sign > 0));
}

/* The link the mesh made last. */
static struct link *
newest(void)
{
	ck_assert_uint_gt(fake_links_made(), 0);
	return fake_link_made(fake_links_made() - 1);
}

/* Hears how a dial went. */
static void
dial_done_fn(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct outcome	*o = arg;

	(void)reason;
	o->n++;
	o->res = res;
}

/* A member dial of n at addr; its link, not up yet. */
static struct link *
dial(const struct tnode *n, const char *addr, struct outcome *o)
{
	size_t	before = fake_links_made();

	ck_assert_int_eq(mesh_dial_member(mesh, n != NULL ? n->pk : NULL,
	    addr, MESH_DIAL_RECORD, o != NULL ? dial_done_fn : NULL, o), 0);
	ck_assert_uint_eq(fake_links_made(), before + 1);
	return newest();
}

/* An inbound connection, still in its handshake. */
static struct link *
accept_one(void)
{
	struct sockaddr_in	sin;
	size_t			before = fake_links_made();

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The fake link takes no descriptor. */
	mesh_accept(mesh, -1, (struct sockaddr *)&sin);
	ck_assert_uint_eq(fake_links_made(), before + 1);
	return newest();
}

/* An inbound connection from addr ("ADDR:PORT"), in its handshake. */
static struct link *
accept_from(const char *addr)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	size_t			before = fake_links_made();
	char			err[128];

	ck_assert_msg(addr_parse(addr, &ss, &len, err, sizeof(err)) == 0,
	    "%s: %s", addr, err);
	mesh_accept(mesh, -1, (struct sockaddr *)&ss);
	ck_assert_uint_eq(fake_links_made(), before + 1);
	return newest();
}

/* An up link we dialed to n. */
static struct link *
up_out(const struct tnode *n, const char *addr)
{
	struct link	*l = dial(n, addr, NULL);

	fake_link_up(l, n->pk, n->name);
	return l;
}

/* An up link n dialed. */
static struct link *
up_in(const struct tnode *n)
{
	struct link	*l = accept_one();

	fake_link_up(l, n->pk, n->name);
	return l;
}

/* Whether the mesh reported l up. */
static bool
reported_up(const struct link *l)
{
	int	i;

	for (i = 0; i < nups; i++)
		if (ups[i].l == l)
			return true;
	return false;
}

/* Whether it reported l down, and why. */
static bool
reported_down(const struct link *l, enum mesh_reason *why)
{
	int	i;

	for (i = 0; i < ndowns; i++)
		if (downs[i].l == l) {
			if (why != NULL)
				*why = downs[i].why;
			return true;
		}
	return false;
}

/* l was reported down once, for why. */
static void
assert_down(const struct link *l, enum mesh_reason why)
{
	enum mesh_reason	got;
	int			i, n = 0;

	for (i = 0; i < ndowns; i++)
		if (downs[i].l == l)
			n++;
	ck_assert_msg(n == 1, "link %s reported down %d times", link_name(l),
	    n);
	ck_assert(reported_down(l, &got));
	ck_assert_msg(got == why, "link %s down as %s, not %s", link_name(l),
	    mesh_reason_name(got), mesh_reason_name(why));
}

/* l was closed on purpose by this node: bye first, its node held. */
static void
assert_closed_with_bye(struct link *l, const struct tnode *n)
{
	struct linkmsg	m;

	ck_assert_int_eq(link_state(l), LINK_CLOSED);
	ck_assert_uint_eq(fake_link_nsent(l), 1);
	ck_assert(fake_link_sent_msg(l, 0, &m));
	ck_assert_str_eq(m.type, "bye");
	ck_assert(mesh_held(mesh, n->pk));
	assert_down(l, MESH_ON_PURPOSE);
}

/* A message {"t": type, "v": v} arrives on l. */
static void
receive(struct link *l, const char *type, uint64_t v)
{
	struct cbor_buf	b = { 0 };

	cbor_put_map(&b, 2);
	cbor_put_text(&b, "t");
	cbor_put_text(&b, type);
	cbor_put_text(&b, "v");
	cbor_put_uint(&b, v);
	ck_assert(!b.failed);
	fake_link_receive(l, b.data, b.len);
	cbor_buf_free(&b);
}

static void
receive_bye(struct link *l)
{
	/* {"t": "bye"}, as every node sends it. */
	static const uint8_t	bye[] = {
		0xa1, 0x61, 't', 0x63, 'b', 'y', 'e'
	};

	fake_link_receive(l, bye, sizeof(bye));
}

static bool
links_made_reach(void *arg)
{
	return fake_links_made() >= *(size_t *)arg;
}

/* Waits up to 1 s for the mesh to have made n links in all. */
static bool
wait_links_made(size_t n)
{
	return loop_until(base, links_made_reach, &n, 1000);
}

static bool
link_closed(void *arg)
{
	return link_state(arg) == LINK_CLOSED;
}

/*
 * The loser of a duplicate: still open, for what is on its way, but no
 * longer the node's link; closed once the drain is over.
 */
static void
assert_drained(struct link *l, const uint8_t *node_id)
{
	ck_assert_int_eq(link_state(l), LINK_UP);
	ck_assert_ptr_ne(mesh_link_to(mesh, node_id), l);
	ck_assert_msg(loop_until(base, link_closed, l, 3000),
	    "a duplicate link stayed open");
}

START_TEST(test_duplicate_ours_kept)
{
	struct tnode	 a, b;
	struct link	*out, *in;

	tnode_beside(&a, "a", -1);
	tnode_beside(&b, "b", -1);

	/* Ours first: theirs, from the smaller ID, is closed unreported. */
	out = up_out(&a, "127.0.0.1:7001");
	ck_assert(reported_up(out));
	in = up_in(&a);
	assert_drained(in, a.pk);
	ck_assert_int_eq(link_state(out), LINK_UP);
	ck_assert(!reported_up(in));
	ck_assert(!reported_down(in, NULL));
	ck_assert_uint_eq(fake_link_count(in, "bye"), 0);
	ck_assert_ptr_eq(mesh_link_to(mesh, a.pk), out);
	ck_assert_int_eq(nups, 1);
	ck_assert_int_eq(ndowns, 0);

	/* Theirs first: ours replaces it, and theirs goes down on purpose. */
	in = up_in(&b);
	ck_assert(reported_up(in));
	out = up_out(&b, "127.0.0.1:7002");
	assert_drained(in, b.pk);
	ck_assert(reported_up(out));
	assert_down(in, MESH_ON_PURPOSE);
	ck_assert_uint_eq(fake_link_count(in, "bye"), 0);
	ck_assert_ptr_eq(mesh_link_to(mesh, b.pk), out);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 2);
}
END_TEST

START_TEST(test_duplicate_theirs_kept)
{
	struct tnode	 a, b;
	struct link	*out, *in;
	struct outcome	 o = { 0 };

	tnode_beside(&a, "a", 1);
	tnode_beside(&b, "b", 1);

	/* Ours first: theirs, from the larger ID, replaces it. */
	out = up_out(&a, "127.0.0.1:7001");
	in = up_in(&a);
	assert_drained(out, a.pk);
	ck_assert_int_eq(link_state(in), LINK_UP);
	ck_assert(reported_up(in));
	assert_down(out, MESH_ON_PURPOSE);
	ck_assert_uint_eq(fake_link_count(out, "bye"), 0);
	ck_assert_ptr_eq(mesh_link_to(mesh, a.pk), in);

	/* Theirs first: ours is closed unreported; the dial still linked. */
	nups = ndowns = 0;
	in = up_in(&b);
	out = dial(&b, "127.0.0.1:7002", &o);
	fake_link_up(out, b.pk, b.name);
	assert_drained(out, b.pk);
	ck_assert(!reported_up(out));
	ck_assert(!reported_down(out, NULL));
	ck_assert_int_eq(nups, 1);
	ck_assert_int_eq(ndowns, 0);
	ck_assert_ptr_eq(mesh_link_to(mesh, b.pk), in);
	ck_assert_int_eq(o.n, 1);
	ck_assert_int_eq(o.res, MESH_DIAL_LINKED);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 2);
}
END_TEST

START_TEST(test_duplicate_one_initiator_by_hash)
{
	struct link	*first, *second, *kept, *lost;

	/* We reach n0 by two addresses: the larger handshake hash stays. */
	first = up_out(&node[0], "127.0.0.1:7001");
	second = up_out(&node[0], "[::1]:7001");
	if (memcmp(link_hash(second), link_hash(first), NOISE_HASH_LEN) > 0) {
		kept = second;
		lost = first;
	} else {
		kept = first;
		lost = second;
	}
	ck_assert_int_eq(link_state(kept), LINK_UP);
	assert_drained(lost, node[0].pk);
	ck_assert_ptr_eq(mesh_link_to(mesh, node[0].pk), kept);
	ck_assert(reported_up(kept));
	ck_assert(!reported_down(kept, NULL));
	/* The first was reported up: it goes down; the second never was. */
	if (lost == first)
		assert_down(first, MESH_ON_PURPOSE);
	else
		ck_assert(!reported_up(second) && !reported_down(second, NULL));
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 1);
}
END_TEST

START_TEST(test_link_to_itself)
{
	struct outcome	 o = { 0 };
	struct link	*t, *d;

	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7001"), 0);
	t = newest();
	d = dial(NULL, "127.0.0.1:7002", &o);
	fake_link_up(t, self.pk, "self");
	fake_link_up(d, self.pk, "self");
	ck_assert_int_eq(link_state(t), LINK_CLOSED);
	ck_assert_int_eq(link_state(d), LINK_CLOSED);
	ck_assert_int_eq(o.n, 1);
	ck_assert_int_eq(o.res, MESH_DIAL_FAILED);
	ck_assert_int_eq(nups, 0);
	ck_assert_int_eq(ndowns, 0);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 0);
	/* The kept address leads to ourselves: never dialed again. */
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), 2);
}
END_TEST

/* A dial of a record's address at addr: 0, or -1 with errno EAGAIN. */
static int
dial_record(const char *addr)
{
	errno = 0;
	if (mesh_dial_member(mesh, NULL, addr, MESH_DIAL_RECORD, NULL,
	    NULL) == 0)
		return 0;
	ck_assert_int_eq(errno, EAGAIN);
	return -1;
}

START_TEST(test_dial_buckets)
{
	struct mesh_stats	 st;
	size_t			 made = fake_links_made();
	char			 addr[ADDR_STRLEN];
	int			 i;

	/* An address: 3 at once; another port of its host is another. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(dial_record("127.0.0.1:7000"), 0);
	ck_assert_int_eq(dial_record("127.0.0.1:7000"), -1);
	ck_assert_int_eq(dial_record("[::ffff:127.0.0.1]:7000"), -1);
	/* Addresses we were not given by a record are not counted. */
	ck_assert_int_eq(mesh_dial_member(mesh, NULL, "127.0.0.1:7000",
	    MESH_DIAL_CACHE, NULL, NULL), 0);
	ck_assert_int_eq(mesh_dial_member(mesh, NULL, "127.0.0.1:7000",
	    MESH_DIAL_BEACON, NULL, NULL), 0);
	/* A host: 20 at once, whatever the ports. */
	for (i = 1; i < 18; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 7000 + i);
		ck_assert_int_eq(dial_record(addr), 0);
	}
	ck_assert_int_eq(dial_record("127.0.0.1:8000"), -1);
	/* In all: 40 at once, whatever the hosts (IPv6 by /64). */
	for (i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "[2001:db8:0:%d::1]:7000", i);
		ck_assert_int_eq(dial_record(addr), 0);
	}
	ck_assert_int_eq(dial_record("192.0.2.1:7000"), -1);
	/* Probes and call dials take from the same buckets. */
	ck_assert_int_eq(mesh_dial_probe(mesh, node[0].pk, "192.0.2.2:7000",
	    100, 0, NULL, NULL), -1);
	ck_assert_int_eq(mesh_dial_for_calls(mesh, node[0].pk,
	    "192.0.2.3:7000", NULL, NULL), -1);
	mesh_stats(mesh, &st);
	ck_assert_uint_eq(st.dials[MESH_DIAL_RECORD], 40);
	ck_assert_uint_eq(st.dials[MESH_DIAL_CACHE], 1);
	ck_assert_uint_eq(st.dials[MESH_DIAL_BEACON], 1);
	ck_assert_uint_eq(st.dials_throttled[2], 2);
	ck_assert_uint_eq(st.dials_throttled[1], 1);
	ck_assert_uint_eq(st.dials_throttled[0], 3);
	ck_assert_uint_eq(fake_links_made(), made + 42);
	/* The overall bucket refills at 20 a second. */
	loop_for(base, 200);
	ck_assert_int_eq(dial_record("192.0.2.1:7000"), 0);
	/* A node once linked: only the bucket in all counts. */
	ck_assert_int_eq(mesh_dial_member(mesh, node[1].pk, "127.0.0.1:7000",
	    MESH_DIAL_CACHE, NULL, NULL), 0);
	fake_link_up(newest(), node[1].pk, node[1].name);
	ck_assert_ptr_nonnull(mesh_link_to(mesh, node[1].pk));
	ck_assert_int_eq(mesh_dial_probe(mesh, node[1].pk, "127.0.0.1:7000",
	    100, 0, NULL, NULL), 0);
	ck_assert_int_eq(mesh_dial_member(mesh, node[2].pk, "127.0.0.1:7000",
	    MESH_DIAL_RECORD, NULL, NULL), -1);
}
END_TEST

START_TEST(test_dial_outcomes)
{
	struct outcome		 o[7] = { { 0 } };
	struct link		*l[7];
	struct mesh_stats	 st;
	char			 addr[ADDR_STRLEN];
	int			 i;

	l[0] = dial(&node[0], "127.0.0.1:7000", &o[0]);
	ck_assert(mesh_dialing(mesh, node[0].pk));
	l[1] = dial(&node[1], "127.0.0.1:7001", &o[1]);
	l[2] = dial(NULL, "127.0.0.1:7002", &o[2]);
	for (i = 3; i < 7; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 7000 + i);
		l[i] = dial(&node[i - 1], addr, &o[i]);
	}
	ck_assert_uint_eq(mesh_dials(mesh), 7);

	/* The node dialed, someone else, and anyone (no node asked). */
	fake_link_up(l[0], node[0].pk, node[0].name);
	fake_link_up(l[1], node[5].pk, node[5].name);
	fake_link_up(l[2], node[4].pk, node[4].name);
	fake_link_end(l[3], LINK_END_REFUSED, "Connection refused");
	fake_link_end(l[4], LINK_END_EOF, "connection closed by peer");
	fake_link_end(l[5], LINK_END_SILENT, "handshake timed out");
	fake_link_end(l[6], LINK_END_FAILED, "bad record");

	for (i = 0; i < 7; i++)
		ck_assert_msg(o[i].n == 1, "dial %d heard %d times", i,
		    o[i].n);
	ck_assert_int_eq(o[0].res, MESH_DIAL_LINKED);
	ck_assert_int_eq(o[1].res, MESH_DIAL_FAILED);
	ck_assert_int_eq(o[2].res, MESH_DIAL_LINKED);
	ck_assert_int_eq(o[3].res, MESH_DIAL_REFUSED);
	ck_assert_int_eq(o[4].res, MESH_DIAL_FAILED);
	ck_assert_int_eq(o[5].res, MESH_DIAL_FAILED);
	ck_assert_int_eq(o[6].res, MESH_DIAL_FAILED);
	ck_assert(!mesh_dialing(mesh, node[0].pk));
	ck_assert_uint_eq(mesh_dials(mesh), 0);
	/* Dials that never came up are not reported down. */
	ck_assert_int_eq(ndowns, 0);
	ck_assert_int_eq(nups, 3);
	/* They are counted as failed handshakes, by why; l[1] is not. */
	mesh_stats(mesh, &st);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_REFUSED], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_EOF], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_SILENT], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_FAILED], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_HERE], 0);
}
END_TEST

START_TEST(test_down_reasons)
{
	struct link		*l[5], *never_out, *never_in;
	struct mesh_stats	 st;
	int			 i;

	for (i = 0; i < 5; i++)
		l[i] = i % 2 == 0 ? up_out(&node[i], "127.0.0.1:7000") :
		    up_in(&node[i]);
	never_out = dial(&node[5], "127.0.0.1:7005", NULL);
	never_in = accept_one();

	receive_bye(l[0]);
	fake_link_end(l[0], LINK_END_EOF, "connection closed by peer");
	fake_link_end(l[1], LINK_END_SILENT, "no traffic for 3000 ms");
	fake_link_end(l[2], LINK_END_REFUSED, "Connection reset by peer");
	fake_link_end(l[3], LINK_END_EOF, "connection closed by peer");
	fake_link_end(l[4], LINK_END_FAILED, "bad record");
	fake_link_end(never_out, LINK_END_REFUSED, "Connection refused");
	fake_link_end(never_in, LINK_END_SILENT, "handshake timed out");

	assert_down(l[0], MESH_ON_PURPOSE);
	assert_down(l[1], MESH_SILENT);
	assert_down(l[2], MESH_REFUSED);
	assert_down(l[3], MESH_LOST);
	assert_down(l[4], MESH_LOST);
	ck_assert_int_eq(ndowns, 5);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 0);
	mesh_stats(mesh, &st);
	ck_assert_uint_eq(st.links_down[MESH_ON_PURPOSE], 1);
	ck_assert_uint_eq(st.links_down[MESH_SILENT], 1);
	ck_assert_uint_eq(st.links_down[MESH_REFUSED], 1);
	ck_assert_uint_eq(st.links_down[MESH_LOST], 2);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_REFUSED], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_SILENT], 1);
	ck_assert_uint_eq(st.handshakes_failed[LINK_END_EOF], 0);
}
END_TEST

static void
handle(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;

	nhandled++;
	handled_arg = arg;
	handled_link = l;
	snprintf(handled_type, sizeof(handled_type), "%s", type);
	v = cbor_field_get(f, nf, "v");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_uint(v->val, v->vallen, &handled_v));
}

START_TEST(test_messages_by_type)
{
	static const struct mesh_handler	hs[] = {
		{ "x", handle },
		{ "y", handle },
		{ NULL, NULL },
	};
	static const struct mesh_handler	again[] = {
		{ "z", handle },
		{ "y", handle },
		{ NULL, NULL },
	};
	int		 tag;
	struct link	*l;

	ck_assert_int_eq(mesh_handle(mesh, hs, &tag), 0);
	l = up_out(&node[0], "127.0.0.1:7000");
	receive(l, "y", 42);
	ck_assert_int_eq(nhandled, 1);
	ck_assert_ptr_eq(handled_arg, &tag);
	ck_assert_ptr_eq(handled_link, l);
	ck_assert_str_eq(handled_type, "y");
	ck_assert_uint_eq(handled_v, 42);
	receive(l, "x", 7);
	ck_assert_int_eq(nhandled, 2);
	ck_assert_str_eq(handled_type, "x");
	/* A type nobody takes is skipped; the link stays up. */
	receive(l, "future", 1);
	ck_assert_int_eq(nhandled, 2);
	ck_assert_int_eq(link_state(l), LINK_UP);
	/* A type taken already cannot be taken again. */
	ck_assert_int_eq(mesh_handle(mesh, again, NULL), -1);
	receive(l, "y", 5);
	ck_assert_ptr_eq(handled_arg, &tag);
}
END_TEST

START_TEST(test_bye_received_holds)
{
	struct link	*a, *b;

	a = up_out(&node[0], "127.0.0.1:7000");
	b = up_in(&node[1]);
	ck_assert(!mesh_held(mesh, node[0].pk));
	receive_bye(a);
	ck_assert(mesh_held(mesh, node[0].pk));
	ck_assert(!mesh_held(mesh, node[1].pk));
	/* Nothing is closed by us: the other end does it. */
	ck_assert_int_eq(link_state(a), LINK_UP);
	ck_assert_int_eq(link_state(b), LINK_UP);
	ck_assert_uint_eq(fake_link_nsent(a), 0);
}
END_TEST

START_TEST(test_shed_slowest_with_bye)
{
	struct link	*a, *b, *c;

	a = up_out(&node[0], "127.0.0.1:7000");
	b = up_out(&node[1], "127.0.0.1:7001");
	c = up_in(&node[2]);
	fake_link_rtt(a, 1000);
	fake_link_rtt(b, 5000);
	fake_link_rtt(c, 3000);
	mesh_shed(mesh);
	assert_closed_with_bye(b, &node[1]);
	ck_assert_int_eq(ndowns, 1);
	ck_assert(!mesh_held(mesh, node[0].pk));
	mesh_shed(mesh);
	assert_closed_with_bye(c, &node[2]);
	ck_assert_int_eq(link_state(a), LINK_UP);
	ck_assert_int_eq(ndowns, 2);
}
END_TEST

START_TEST(test_shed_unpinged_first)
{
	struct link	*slow, *out, *in;

	slow = up_out(&node[0], "127.0.0.1:7000");
	fake_link_rtt(slow, 900000);
	out = up_out(&node[1], "127.0.0.1:7001");
	in = up_in(&node[2]);
	/* No ping answered: slowest; of two such, the inbound one first. */
	mesh_shed(mesh);
	assert_closed_with_bye(in, &node[2]);
	mesh_shed(mesh);
	assert_closed_with_bye(out, &node[1]);
	mesh_shed(mesh);
	assert_closed_with_bye(slow, &node[0]);
}
END_TEST

START_TEST(test_shed_spares_used_not_bootstrap)
{
	struct link	*boot, *used, *fast;

	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	boot = newest();
	fake_link_up(boot, node[0].pk, node[0].name);
	fake_link_rtt(boot, 900000);
	used = up_in(&node[1]);
	fake_link_rtt(used, 800000);
	link_mark_used(used);
	fast = up_out(&node[2], "127.0.0.1:7002");
	fake_link_rtt(fast, 1000);
	/* A bootstrap address is for joining: its link goes like any. */
	mesh_shed(mesh);
	assert_closed_with_bye(boot, &node[0]);
	mesh_shed(mesh);
	assert_closed_with_bye(fast, &node[2]);
	/* Nothing left to shed. */
	mesh_shed(mesh);
	ck_assert_int_eq(ndowns, 2);
	ck_assert_int_eq(link_state(used), LINK_UP);
	/* Calls last used it over a minute ago: it may go now. */
	fake_link_times(used, clock_ms() - 120000, clock_ms() - 61000);
	mesh_shed(mesh);
	assert_closed_with_bye(used, &node[1]);
}
END_TEST

/* A link dialed for calls to n, up. */
static struct link *
up_for_calls(const struct tnode *n, const char *addr)
{
	struct link	*l;

	ck_assert_int_eq(mesh_dial_for_calls(mesh, n->pk, addr, NULL, NULL),
	    0);
	l = newest();
	fake_link_up(l, n->pk, n->name);
	return l;
}

/* With call_dial = no, calls make no links; other dials still go. */
START_TEST(test_no_call_dials)
{
	size_t	made;

	mesh_free(mesh);
	mpar.call_dial = false;
	mesh = mesh_new(base, &mpar, &ops, NULL);
	ck_assert_ptr_nonnull(mesh);
	made = fake_links_made();
	ck_assert_int_eq(mesh_dial_for_calls(mesh, node[0].pk,
	    "127.0.0.1:7000", NULL, NULL), -1);
	ck_assert_uint_eq(fake_links_made(), made);
	ck_assert_int_eq(mesh_dial_member(mesh, node[0].pk,
	    "127.0.0.1:7000", MESH_DIAL_RECORD, NULL, NULL), 0);
	ck_assert_uint_eq(fake_links_made(), made + 1);
}
END_TEST

START_TEST(test_close_idle_call_links)
{
	struct link	*idle1, *idle2, *used, *fresh, *member;
	int64_t		 now = clock_ms();

	idle1 = up_for_calls(&node[0], "127.0.0.1:7000");
	fake_link_times(idle1, now - 61000, 0);
	used = up_for_calls(&node[1], "127.0.0.1:7001");
	fake_link_times(used, now - 120000, now - 1000);
	fresh = up_for_calls(&node[2], "127.0.0.1:7002");
	member = up_out(&node[3], "127.0.0.1:7003");
	fake_link_times(member, now - 120000, 0);
	idle2 = up_for_calls(&node[4], "127.0.0.1:7004");
	fake_link_times(idle2, now - 300000, now - 200000);

	/* Not more links than keep: none goes. */
	mesh_close_idle(mesh, 5);
	ck_assert_int_eq(ndowns, 0);
	/* One over: one idle link goes. */
	mesh_close_idle(mesh, 4);
	assert_closed_with_bye(idle1, &node[0]);
	ck_assert_int_eq(ndowns, 1);
	ck_assert_int_eq(link_state(idle2), LINK_UP);
	/* However few are kept, links in use or not dialed for calls stay. */
	mesh_close_idle(mesh, 0);
	assert_closed_with_bye(idle2, &node[4]);
	ck_assert_int_eq(ndowns, 2);
	ck_assert_int_eq(link_state(used), LINK_UP);
	ck_assert_int_eq(link_state(fresh), LINK_UP);
	ck_assert_int_eq(link_state(member), LINK_UP);
}
END_TEST

/* Each of the n links is still in its handshake. */
static void
assert_handshaking(struct link **l, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		ck_assert_msg(link_state(l[i]) == LINK_HANDSHAKE,
		    "handshake %d closed", i);
}

START_TEST(test_handshakes_per_source)
{
	struct link	*a[HS_PER_SOURCE], *b, *c[HS_PER_SOURCE], *l, *l2, *d;
	char		 addr[64];
	int		 i;

	/* A full quota from 192.0.2.9; one from its neighbour. */
	for (i = 0; i < HS_PER_SOURCE; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.9:%d", 1000 + i);
		a[i] = accept_from(addr);
	}
	b = accept_from("192.0.2.10:1000");
	assert_handshaking(a, HS_PER_SOURCE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 0);

	/* One more from 192.0.2.9: its oldest goes, nothing else. */
	l = accept_from("192.0.2.9:2000");
	ck_assert_int_eq(link_state(a[0]), LINK_CLOSED);
	assert_handshaking(a + 1, HS_PER_SOURCE - 1);
	ck_assert_int_eq(link_state(b), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(l), LINK_HANDSHAKE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 1);

	/* The same address mapped into IPv6 is the same source. */
	l2 = accept_from("[::ffff:192.0.2.9]:2001");
	ck_assert_int_eq(link_state(a[1]), LINK_CLOSED);
	assert_handshaking(a + 2, HS_PER_SOURCE - 2);
	ck_assert_int_eq(link_state(l2), LINK_HANDSHAKE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 2);

	/* A handshake that completes, or fails, frees its place. */
	fake_link_up(a[2], node[0].pk, node[0].name);
	fake_link_end(a[3], LINK_END_SILENT, "handshake timed out");
	(void)accept_from("192.0.2.9:2002");
	(void)accept_from("192.0.2.9:2003");
	ck_assert_int_eq(link_state(l), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(l2), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(a[2]), LINK_UP);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 2);
	(void)accept_from("192.0.2.9:2004");
	ck_assert_int_eq(link_state(l), LINK_CLOSED);
	ck_assert_int_eq(link_state(l2), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(a[2]), LINK_UP);

	/* IPv6 counts by /64: other hosts of it share one quota. */
	for (i = 0; i < HS_PER_SOURCE; i++) {
		snprintf(addr, sizeof(addr), "[2001:db8:1:2::%x]:1000", i + 1);
		c[i] = accept_from(addr);
	}
	d = accept_from("[2001:db8:1:3::1]:1000");	/* another /64 */
	assert_handshaking(c, HS_PER_SOURCE);
	l = accept_from("[2001:db8:1:2:ffff::1]:1000");
	ck_assert_int_eq(link_state(c[0]), LINK_CLOSED);
	assert_handshaking(c + 1, HS_PER_SOURCE - 1);
	ck_assert_int_eq(link_state(l), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(d), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(b), LINK_HANDSHAKE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 4);
	/* Handshakes closed to make room were never up: nothing reported. */
	ck_assert_int_eq(ndowns, 0);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 1);
}
END_TEST

START_TEST(test_handshakes_in_all)
{
	struct link	*l[HS_MAX], *n1, *n2, *up;
	char		 addr[64];
	int		 i;

	/* One handshake each from HS_MAX addresses fills the total. */
	for (i = 0; i < HS_MAX; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d:1000", i + 1);
		l[i] = accept_from(addr);
	}
	assert_handshaking(l, HS_MAX);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 0);

	/* A new one, from anywhere, closes the oldest of all. */
	n1 = accept_from("203.0.113.1:1000");
	ck_assert_int_eq(link_state(l[0]), LINK_CLOSED);
	assert_handshaking(l + 1, HS_MAX - 1);
	n2 = accept_from("[2001:db8::1]:1000");
	ck_assert_int_eq(link_state(l[1]), LINK_CLOSED);
	assert_handshaking(l + 2, HS_MAX - 2);
	ck_assert_int_eq(link_state(n1), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(n2), LINK_HANDSHAKE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 2);

	/* Up links and our own dials do not count. */
	up = up_in(&node[0]);		/* its accept closed l[2] */
	ck_assert_int_eq(link_state(l[2]), LINK_CLOSED);
	(void)dial(&node[1], "127.0.0.1:7001", NULL);
	(void)accept_from("203.0.113.2:1000");	/* takes up's place */
	assert_handshaking(l + 3, HS_MAX - 3);
	(void)accept_from("203.0.113.3:1000");
	ck_assert_int_eq(link_state(l[3]), LINK_CLOSED);
	assert_handshaking(l + 4, HS_MAX - 4);
	ck_assert_int_eq(link_state(up), LINK_UP);
	ck_assert(mesh_dialing(mesh, node[1].pk));
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), 4);
	ck_assert_int_eq(ndowns, 0);
}
END_TEST

/* A flood: n connections, each from its own IPv6 /64 of one /48. */
static void
flood_many(struct link **l, int n, int first)
{
	char	addr[64];
	int	i;

	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "[2001:db8:7:%x::1]:1000",
		    first + i);
		l[i] = accept_from(addr);
	}
}

START_TEST(test_handshakes_heard_kept_per_source)
{
	struct link	*h, *s[3 * HS_PER_SOURCE], *late, *l;
	char		 addr[64];
	int		 i, k;

	/* A real node's first message came; then its address floods. */
	h = accept_from("192.0.2.9:1000");
	fake_link_hs_heard(h);
	for (i = 0; i < 3 * HS_PER_SOURCE; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.9:%d", 2000 + i);
		s[i] = accept_from(addr);
		/* The silent ones go oldest first; h stays. */
		ck_assert_int_eq(link_state(h), LINK_HANDSHAKE);
		for (k = 0; k <= i; k++)
			ck_assert_msg(link_state(s[k]) == (k < i + 2 -
			    HS_PER_SOURCE ? LINK_CLOSED : LINK_HANDSHAKE),
			    "after %d: silent %d in state %d", i, k,
			    link_state(s[k]));
	}
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh),
	    2 * HS_PER_SOURCE + 1);

	/* A silent one older than h goes before it too. */
	late = accept_from("192.0.2.10:1000");
	for (i = 0; i < HS_PER_SOURCE - 1; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.10:%d", 2000 + i);
		s[i] = accept_from(addr);
		fake_link_hs_heard(s[i]);
	}
	l = accept_from("192.0.2.10:3000");
	ck_assert_int_eq(link_state(late), LINK_CLOSED);
	assert_handshaking(s, HS_PER_SOURCE - 1);
	fake_link_hs_heard(l);

	/* All of an address past their first message: the oldest goes. */
	(void)accept_from("192.0.2.10:3001");
	ck_assert_int_eq(link_state(s[0]), LINK_CLOSED);
	assert_handshaking(s + 1, HS_PER_SOURCE - 2);
	ck_assert_int_eq(link_state(l), LINK_HANDSHAKE);

	/* h finishes, through all of it. */
	ck_assert_int_eq(link_state(h), LINK_HANDSHAKE);
	fake_link_up(h, node[0].pk, node[0].name);
	ck_assert(reported_up(h));
	ck_assert_int_eq(ndowns, 0);
}
END_TEST

START_TEST(test_handshakes_heard_kept_in_all)
{
	struct link	*h[2], *s[3 * HS_MAX], *late, *l;
	/* The flood's that still hold a place: all but h's two. */
	const int	 kept = 3 * HS_MAX - (HS_MAX - 2);
	int		 k;

	/* Two real nodes' first messages came, one of them behind a NAT. */
	h[0] = accept_from("198.51.100.1:1000");
	fake_link_hs_heard(h[0]);
	late = accept_from("198.51.100.2:1000");	/* silent */
	h[1] = accept_from("198.51.100.2:1001");
	fake_link_hs_heard(h[1]);

	/* A flood from thousands of /64s: silent ones go, oldest first. */
	flood_many(s, 3 * HS_MAX, 1);
	ck_assert_int_eq(link_state(late), LINK_CLOSED);
	for (k = 0; k < 3 * HS_MAX; k++)
		ck_assert_msg(link_state(s[k]) == (k < kept ?
		    LINK_CLOSED : LINK_HANDSHAKE), "silent %d in state %d", k,
		    link_state(s[k]));
	ck_assert_int_eq(link_state(h[0]), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(h[1]), LINK_HANDSHAKE);
	ck_assert_uint_eq(mesh_handshakes_dropped(mesh), kept + 1);

	/* Only once every one is past its first message does h[0] go. */
	for (k = kept; k < 3 * HS_MAX; k++)
		fake_link_hs_heard(s[k]);
	l = accept_from("203.0.113.1:1000");
	ck_assert_int_eq(link_state(h[0]), LINK_CLOSED);
	ck_assert_int_eq(link_state(h[1]), LINK_HANDSHAKE);
	ck_assert_int_eq(link_state(l), LINK_HANDSHAKE);
	/* And a new silent one goes before the heard ones again. */
	(void)accept_from("203.0.113.2:1000");
	ck_assert_int_eq(link_state(l), LINK_CLOSED);
	ck_assert_int_eq(link_state(h[1]), LINK_HANDSHAKE);
	assert_handshaking(s + kept, 3 * HS_MAX - kept);
	fake_link_up(h[1], node[1].pk, node[1].name);
	ck_assert(reported_up(h[1]));
	ck_assert_int_eq(ndowns, 0);
}
END_TEST

START_TEST(test_target_dialed_and_redialed)
{
	int64_t	start;

	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	ck_assert_uint_eq(fake_links_made(), 1);
	ck_assert_str_eq(fake_link_addr(newest()), "127.0.0.1:7000");
	fake_link_end(newest(), LINK_END_REFUSED, "Connection refused");
	ck_assert_msg(wait_links_made(2), "not dialed again");
	ck_assert_str_eq(fake_link_addr(newest()), "127.0.0.1:7000");
	/* The same address again: one target, no second dial. */
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	ck_assert_uint_eq(fake_links_made(), 2);
	/* Failed again: the backoff doubled (0.4 s, at least 0.32 s). */
	start = clock_ms();
	fake_link_end(newest(), LINK_END_SILENT, "handshake timed out");
	ck_assert_msg(wait_links_made(3), "not dialed a third time");
	ck_assert_int_ge(clock_ms() - start, 320);
	ck_assert_str_eq(fake_link_addr(newest()), "127.0.0.1:7000");
}
END_TEST

START_TEST(test_target_linked_again_not_redialed)
{
	struct tnode	 big;
	struct link	*t, *t1, *in0, *in1;

	/* Both dialed at start-up, while no link is up. */
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	t = newest();
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7001"), 0);
	t1 = newest();
	/* Lost, then its node dials in before the backoff runs out. */
	fake_link_up(t, node[0].pk, node[0].name);
	fake_link_end(t, LINK_END_EOF, "connection closed by peer");
	in0 = up_in(&node[0]);
	ck_assert(reported_up(in0));

	/* Replaced by its node's own link as a duplicate. */
	tnode_beside(&big, "big", 1);
	fake_link_up(t1, big.pk, big.name);
	in1 = up_in(&big);
	assert_drained(t1, big.pk);
	ck_assert_int_eq(link_state(in1), LINK_UP);

	ck_assert_uint_eq(fake_links_made(), 4);
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), 4);
	ck_assert_int_eq(link_state(in0), LINK_UP);
	ck_assert_int_eq(link_state(in1), LINK_UP);
}
END_TEST

START_TEST(test_bootstrap_dormant_while_linked)
{
	struct link	*t, *other, *again;
	size_t		 made;

	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	t = newest();
	fake_link_up(t, node[0].pk, node[0].name);
	other = up_in(&node[1]);
	made = fake_links_made();
	/* Shed by its node while another link is up: not dialed again. */
	receive_bye(t);
	fake_link_end(t, LINK_END_EOF, "connection closed by peer");
	assert_down(t, MESH_ON_PURPOSE);
	ck_assert(mesh_held(mesh, node[0].pk));
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), made);
	/* Alone: dialed again, held or not. */
	fake_link_end(other, LINK_END_EOF, "connection closed by peer");
	ck_assert_msg(wait_links_made(made + 1), "not dialed once alone");
	again = newest();
	ck_assert_str_eq(fake_link_addr(again), "127.0.0.1:7000");
	/* Linked another way meanwhile: its failure leaves it dormant. */
	other = up_in(&node[1]);
	made = fake_links_made();
	fake_link_end(again, LINK_END_REFUSED, "Connection refused");
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), made);
	ck_assert_int_eq(link_state(other), LINK_UP);
}
END_TEST

START_TEST(test_reset_forgets_everything)
{
	struct link	*kept, *in, *dialing;

	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	kept = newest();
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7001"), 0);
	fake_link_end(newest(), LINK_END_REFUSED, "Connection refused");
	fake_link_up(kept, node[0].pk, node[0].name);
	in = up_in(&node[1]);
	dialing = dial(&node[2], "127.0.0.1:7002", NULL);

	mesh_reset(mesh);
	assert_closed_with_bye(kept, &node[0]);
	assert_closed_with_bye(in, &node[1]);
	ck_assert_int_eq(link_state(dialing), LINK_CLOSED);
	ck_assert_int_eq(ndowns, 2);
	ck_assert_uint_eq(mesh_links(mesh, NULL, 0), 0);
	ck_assert_uint_eq(mesh_dials(mesh), 0);
	/* No address is dialed again, failed or linked. */
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), 4);
}
END_TEST

/* The control ops. */

static void
client_gone(void *arg, struct ctl_conn *c)
{
	(void)arg; (void)c;
}

static const struct control_ops	ctl_ops = { client_gone };

/* A control server with the mesh's ops, and a client of it. */
static void
ctl_start(void)
{
	struct control_params	p;
	char			path[256];

	tmpdir_make(dir, sizeof(dir), "mesh");
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	memset(&p, 0, sizeof(p));
	control_params_init(&p, path);
	p.max_message = 1 << 20;
	p.max_clients = 8;
	ctl = control_open(base, &p, &ctl_ops, NULL);
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(control_add_ops(ctl, mesh_ctl_ops, mesh), 0);
	cli = client_open(path);
}

/* Sends op with one text argument. */
static void
request(const char *op, uint64_t rid, const char *key, const char *val)
{
	struct cbor_buf	*b;

	b = client_begin(cli, op, rid, key != NULL ? 1 : 0);
	if (key != NULL) {
		cbor_put_text(b, key);
		cbor_put_text(b, val);
	}
	client_send(cli);
}

static const struct ctl_msg *
reply(uint64_t rid)
{
	const struct ctl_msg	*m = client_reply(cli, base, rid, 1000);

	ck_assert_msg(m != NULL, "no reply to request %llu",
	    (unsigned long long)rid);
	return m;
}

/* The fields of a map value. */
static int
map_fields(const uint8_t *val, size_t len, struct cbor_field *f, size_t max)
{
	int	nf = cbor_scan_map(val, len, f, max);

	ck_assert_int_ge(nf, 0);
	return nf;
}

/* A text field of the map f, or "" (absent, or null). */
static const char *
field_text(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t cap)
{
	const struct cbor_field	*v = cbor_field_get(f, nf, key);
	const char		*s;
	size_t			 n;

	buf[0] = '\0';
	if (v != NULL && cbor_read_text(v->val, v->vallen, &s, &n) &&
	    n < cap) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	return buf;
}

/* A text field of a reply's result map. */
static const char *
result_text(const struct ctl_msg *m, const char *key, char *buf, size_t cap)
{
	const struct cbor_field	*r = ctl_msg_get(m, "result");
	struct cbor_field	 f[16];
	int			 nf;

	ck_assert_ptr_nonnull(r);
	nf = map_fields(r->val, r->vallen, f, 16);
	return field_text(f, nf, key, buf, cap);
}

static void
assert_code(const struct ctl_msg *m, enum peer_code want)
{
	char		msg[256];
	enum peer_code	got = reply_code(m, msg, sizeof(msg));

	ck_assert_msg(got == want, "reply %d (%s), not %d", (int)got, msg,
	    (int)want);
}

START_TEST(test_ctl_peers)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*r;
	struct cbor_field	 f[16], p[16];
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 len;
	char			 buf[128];
	int			 nf, np;

	ctl_start();
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	fake_link_up(newest(), node[0].pk, node[0].name);
	(void)accept_one();
	request("peers", 1, NULL, NULL);
	m = reply(1);
	assert_code(m, PEER_OK);
	r = ctl_msg_get(m, "result");
	nf = map_fields(r->val, r->vallen, f, 16);
	r = cbor_field_get(f, nf, "peers");
	ck_assert_ptr_nonnull(r);
	ck_assert(cbor_array_iter(r->val, r->vallen, &it));
	ck_assert_uint_eq(it.items, 2);

	ck_assert(cbor_iter_next(&it, &item, &len));
	np = map_fields(item, len, p, 16);
	ck_assert_int_eq(np, 14);
	ck_assert_str_eq(field_text(p, np, "node", buf, sizeof(buf)),
	    node[0].idstr);
	ck_assert_str_eq(field_text(p, np, "state", buf, sizeof(buf)), "up");
	ck_assert_str_eq(field_text(p, np, "direction", buf, sizeof(buf)),
	    "out");
	ck_assert_str_eq(field_text(p, np, "target", buf, sizeof(buf)),
	    "127.0.0.1:7000");

	ck_assert(cbor_iter_next(&it, &item, &len));
	np = map_fields(item, len, p, 16);
	ck_assert_str_eq(field_text(p, np, "node", buf, sizeof(buf)), "");
	ck_assert_str_eq(field_text(p, np, "state", buf, sizeof(buf)),
	    "handshake");
	ck_assert_str_eq(field_text(p, np, "direction", buf, sizeof(buf)),
	    "in");
	ck_assert_str_eq(field_text(p, np, "target", buf, sizeof(buf)), "");
}
END_TEST

START_TEST(test_ctl_disconnect)
{
	const struct ctl_msg	*m;
	struct link		*t, *other;
	char			 buf[128];

	ctl_start();
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	t = newest();
	fake_link_up(t, node[0].pk, node[0].name);
	other = up_in(&node[1]);
	request("disconnect", 1, "node", "nobody");
	assert_code(reply(1), PEER_NOT_FOUND);

	request("disconnect", 2, "node", node[0].name);
	m = reply(2);
	assert_code(m, PEER_OK);
	ck_assert_str_eq(result_text(m, "node", buf, sizeof(buf)),
	    node[0].idstr);
	assert_closed_with_bye(t, &node[0]);
	ck_assert_int_eq(link_state(other), LINK_UP);
	/* Its address is forgotten: not dialed again. */
	loop_for(base, PAST_BACKOFF_MS);
	ck_assert_uint_eq(fake_links_made(), 2);
}
END_TEST

START_TEST(test_ctl_connect_lifts_hold)
{
	const struct ctl_msg	*m;
	struct link		*t;
	char			 buf[128];

	ctl_start();
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7000"), 0);
	t = newest();
	fake_link_up(t, node[0].pk, node[0].name);
	receive_bye(t);
	fake_link_end(t, LINK_END_EOF, "connection closed by peer");
	ck_assert(mesh_held(mesh, node[0].pk));

	/* Dialed at once, hold lifted; answered once the link is up. */
	request("connect", 1, "addr", "127.0.0.1:7000");
	ck_assert_msg(wait_links_made(2), "connect did not dial");
	ck_assert(!mesh_held(mesh, node[0].pk));
	ck_assert_str_eq(fake_link_addr(newest()), "127.0.0.1:7000");
	ck_assert_ptr_null(client_reply(cli, base, 1, 50));
	fake_link_up(newest(), node[0].pk, node[0].name);
	m = reply(1);
	assert_code(m, PEER_OK);
	ck_assert_str_eq(result_text(m, "node", buf, sizeof(buf)),
	    node[0].idstr);
	ck_assert_str_eq(result_text(m, "addr", buf, sizeof(buf)),
	    "127.0.0.1:7000");
}
END_TEST

START_TEST(test_ctl_connect_to_itself)
{
	ctl_start();
	request("connect", 1, "addr", "127.0.0.1:7000");
	ck_assert_msg(wait_links_made(1), "connect did not dial");
	fake_link_up(newest(), self.pk, "self");
	assert_code(reply(1), PEER_INVALID_ARGUMENT);
	/* A kept address known to be ourselves: refused without a dial. */
	ck_assert_int_eq(mesh_add_target(mesh, "127.0.0.1:7001"), 0);
	fake_link_up(newest(), self.pk, "self");
	request("connect", 2, "addr", "127.0.0.1:7001");
	assert_code(reply(2), PEER_INVALID_ARGUMENT);
	ck_assert_uint_eq(fake_links_made(), 2);
}
END_TEST

static bool
pinged(void *arg)
{
	return fake_link_pinged(arg);
}

START_TEST(test_ctl_ping)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*r, *v;
	struct cbor_field	 f[4];
	struct link		*l;
	uint64_t		 rtt;
	int			 nf;

	ctl_start();
	l = up_out(&node[0], "127.0.0.1:7000");
	request("ping", 1, "node", node[0].idstr);
	ck_assert(loop_until(base, pinged, l, 1000));
	fake_link_pong(l, 1234);
	m = reply(1);
	assert_code(m, PEER_OK);
	r = ctl_msg_get(m, "result");
	nf = map_fields(r->val, r->vallen, f, 4);
	v = cbor_field_get(f, nf, "rtt_us");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_uint(v->val, v->vallen, &rtt));
	ck_assert_uint_eq(rtt, 1234);

	request("ping", 2, "node", node[0].name);
	ck_assert(loop_until(base, pinged, l, 1000));
	fake_link_pong(l, -1);
	assert_code(reply(2), PEER_DEADLINE_EXCEEDED);

	request("ping", 3, "node", "nobody");
	assert_code(reply(3), PEER_NOT_FOUND);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("mesh");
	TCase	*tc = tcase_create("mesh");
	TCase	*ctc = tcase_create("control");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_duplicate_ours_kept);
	tcase_add_test(tc, test_duplicate_theirs_kept);
	tcase_add_test(tc, test_duplicate_one_initiator_by_hash);
	tcase_add_test(tc, test_link_to_itself);
	tcase_add_test(tc, test_dial_outcomes);
	tcase_add_test(tc, test_dial_buckets);
	tcase_add_test(tc, test_down_reasons);
	tcase_add_test(tc, test_messages_by_type);
	tcase_add_test(tc, test_bye_received_holds);
	tcase_add_test(tc, test_shed_slowest_with_bye);
	tcase_add_test(tc, test_shed_unpinged_first);
	tcase_add_test(tc, test_shed_spares_used_not_bootstrap);
	tcase_add_test(tc, test_close_idle_call_links);
	tcase_add_test(tc, test_no_call_dials);
	tcase_add_test(tc, test_handshakes_per_source);
	tcase_add_test(tc, test_handshakes_in_all);
	tcase_add_test(tc, test_handshakes_heard_kept_per_source);
	tcase_add_test(tc, test_handshakes_heard_kept_in_all);
	tcase_add_test(tc, test_target_dialed_and_redialed);
	tcase_add_test(tc, test_target_linked_again_not_redialed);
	tcase_add_test(tc, test_bootstrap_dormant_while_linked);
	tcase_add_test(tc, test_reset_forgets_everything);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ctc, setup, teardown);
	tcase_add_test(ctc, test_ctl_peers);
	tcase_add_test(ctc, test_ctl_disconnect);
	tcase_add_test(ctc, test_ctl_connect_lifts_hold);
	tcase_add_test(ctc, test_ctl_connect_to_itself);
	tcase_add_test(ctc, test_ctl_ping);
	suite_add_tcase(s, ctc);
	return s;
}
