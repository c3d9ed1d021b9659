/* SPDX-License-Identifier: ISC */
/*
 * test_gossip.c: gossip.c, with a real probe.c, against a fake mesh and
 * fake links.  The rules: a link coming up gets our digest; a new or
 * newer record floods to the other links with one hop less, a stale,
 * repeated or forged one goes nowhere.  A claim at the incarnation held
 * changes nothing and goes nowhere: it makes us probe the member
 * directly (a dial whose link closes once idle), within a budget per
 * link and overall, and not again for a claimant our probe proved wrong
 * lately; refused is dead, silence suspect from the first claim, alive
 * nothing (the member is told, to refute), and with nothing to probe
 * with, two claimants make it suspect.  A claim about ourselves is
 * refuted, at most once a second; one about a member whose link to us
 * answers is passed to the member instead of probed.  A lost or quiet
 * link, or an overlay dial with no answer, starts a round of probes
 * (directly, and "preq" to the other links): refused is dead at once,
 * silence directly and from every helper (or until the round's timer)
 * is suspect with our own "by", a helper's yes is alive; a member with
 * no address is probed through others only, and suspected at once if
 * nobody can be asked.  The "by" of a "sus" confirms only a suspicion
 * we hold already.  A suspect turns dead unless it refutes in time: 3
 * suspect_timeout with no confirmation in a small mesh, suspect_timeout
 * with two, later by as long as our own loop stalled.  Digests and wants send
 * each side what it lacks, within a budget per link; dead members
 * expire; reset, services and leaving re-sign our record; the members
 * op lists the table.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <event2/event.h>

#include "clock.h"
#include "control.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "gossip.h"
#include "harness.h"
#include "identity.h"
#include "linkmsg.h"
#include "probe.h"
#include "tagset.h"

#define HOPS		16	/* what a node's own floods start with */
#define ENTRY		(NODE_ID_LEN + 8 + 1)	/* one digest entry */
#define MAX_MESSAGE	(1u << 20)
#define SUSPECT_MS	150
#define PROBE_MS	100	/* probe timeout; a round lasts twice that */
#define CLAIM_GAP_MS	300	/* claim_probe_gap */
#define CLAIM_BURST	20	/* claims a link may make at once */
#define CLAIM_PROBES	40	/* rounds claims may start at once */
#define REFUTE_GAP_MS	1000	/* refutations at least this apart */
/* libevent's coarse clock may fire a timer this much early by ours. */
#define CLOCK_SLACK_MS	10

static struct tnode		 self, a, b, c, far, x, y;
static struct identity		 ident;
static struct gossip_params	 par;
static struct event_base	*base;
static struct mesh		*mesh;
static struct probe		*probe;
static struct gossip		*g;
static struct link		*la, *lb, *lc;

static const char		 self_addrs[1][ADDR_STRLEN] = {
	"127.0.0.1:7000"
};

/* What the owner heard through gossip_ops. */
struct heard {
	uint8_t			 id[NODE_ID_LEN];
	enum member_state	 state;
	uint64_t		 inc;
	bool			 has_via;
	uint8_t			 via[NODE_ID_LEN];
};
static struct heard		 heard[64];
static int			 nheard;
static uint8_t			 forgot[64][NODE_ID_LEN];
static int			 nforgot;

static void
on_member(void *arg, const struct member *m, const uint8_t *via,
    const char *why)
{
	struct heard	*h;

	(void)arg;
	/* Watchers are told why: every change comes with its evidence. */
	ck_assert_ptr_nonnull(why);
	ck_assert_int_gt(strlen(why), 0);
	ck_assert_int_lt(nheard, 64);
	h = &heard[nheard++];
	memcpy(h->id, m->rec.id, NODE_ID_LEN);
	h->state = m->state;
	h->inc = m->rec.incarnation;
	h->has_via = via != NULL;
	if (via != NULL)
		memcpy(h->via, via, NODE_ID_LEN);
}

static void
on_forgotten(void *arg, const uint8_t *id)
{
	(void)arg;
	ck_assert_int_lt(nforgot, 64);
	memcpy(forgot[nforgot++], id, NODE_ID_LEN);
}

static const struct gossip_ops	ops = { on_member, on_forgotten };

/* As the daemon does: the probe dials the addresses gossip knows. */
static const char *
address_of(void *arg, const uint8_t *id)
{
	(void)arg;
	return gossip_member_address(g, id);
}

static const struct probe_ops	probe_ops = { address_of };

static void
start(void)
{
	g = gossip_new(base, &par, mesh, probe, &ops, NULL);
	ck_assert_ptr_nonnull(g);
}

static void
setup(void)
{
	struct probe_params	pp;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&far, "far");
	tnode_new(&x, "x");
	tnode_new(&y, "y");
	memset(&ident, 0, sizeof(ident));
	memcpy(ident.pk, self.pk, NODE_ID_LEN);
	memcpy(ident.sk, self.sk, sizeof(ident.sk));
	memcpy(ident.id, self.idstr, sizeof(ident.id));
	memset(&par, 0, sizeof(par));
	par.id = &ident;
	par.name = "self";
	par.addrs = self_addrs;
	par.naddrs = 1;
	par.started_at = 1700000000;
	par.gossip_interval = 200;
	par.suspect_timeout = SUSPECT_MS;
	par.member_expire = 3600 * 1000;
	par.max_message = MAX_MESSAGE;
	par.claim_rate = 2000;
	par.claim_probe_gap = CLAIM_GAP_MS;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	mesh = fake_mesh_new();
	la = fake_link_new(a.pk, "a", true);
	lb = fake_link_new(b.pk, "b", true);
	lc = fake_link_new(c.pk, "c", false);
	fake_mesh_add(mesh, la);
	fake_mesh_add(mesh, lb);
	fake_mesh_add(mesh, lc);
	nheard = nforgot = 0;
	memset(&pp, 0, sizeof(pp));
	pp.self = self.pk;
	pp.timeout = PROBE_MS;
	probe = probe_new(base, &pp, mesh, &probe_ops, NULL);
	ck_assert_ptr_nonnull(probe);
	start();
}

/*
 * As the daemon does: the mesh goes first, ending every dial and ping
 * under way (their outcomes still reach gossip), then the probe, then
 * gossip.
 */
static void
teardown(void)
{
	struct link	*links[64];
	size_t		 i, n;

	for (i = 0; i < fake_mesh_ndials(mesh); i++)
		if (!fake_mesh_dial(mesh, i)->ended)
			fake_mesh_dial_end(mesh, i, MESH_DIAL_FAILED);
	n = mesh_links(mesh, links, 64);
	for (i = 0; i < n; i++)
		fake_link_end(links[i], LINK_END_HERE, "shutting down");
	probe_free(probe);
	gossip_free(g);
	fake_mesh_free(mesh);
	event_base_free(base);
}

/*
 * The message m arrives on l, through the handler for its type: gossip's,
 * or the probe's ("preq", "pres").
 */
static void
arrive(struct link *l, const struct cbor_buf *m)
{
	ck_assert_msg(link_message_arrives(gossip_handlers, g, l, m) ||
	    link_message_arrives(probe_handlers, probe, l, m),
	    "neither gossip nor probe takes the message");
}

/* A rec message with the signed bytes raw; hops < 0 leaves "h" out. */
static void
arrive_raw(struct link *l, const uint8_t *raw, size_t len, int hops)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, hops < 0 ? 2 : 3);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "rec");
	cbor_put_text(&m, "r");
	cbor_put_bytes(&m, raw, len);
	if (hops >= 0) {
		cbor_put_text(&m, "h");
		cbor_put_uint(&m, (uint64_t)hops);
	}
	arrive(l, &m);
	cbor_buf_free(&m);
}

/* r, signed by signer, arrives on l. */
static void
arrive_rec(struct link *l, const struct tnode *signer, const struct record *r,
    int hops)
{
	struct cbor_buf	rb = { 0 };

	tnode_sign(signer, r, &rb);
	arrive_raw(l, rb.data, rb.len, hops);
	cbor_buf_free(&rb);
}

/* A "sus" or "dead" claim arrives on l, made by by (NULL: no "by"). */
static void
arrive_claim_by(struct link *l, const char *type, const uint8_t *id,
    uint64_t inc, uint64_t hops, const uint8_t *by)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, by != NULL ? 5 : 4);
	if (by != NULL) {
		cbor_put_text(&m, "by");
		cbor_put_bytes(&m, by, NODE_ID_LEN);
	}
	cbor_put_text(&m, "t");
	cbor_put_text(&m, type);
	cbor_put_text(&m, "id");
	cbor_put_bytes(&m, id, NODE_ID_LEN);
	cbor_put_text(&m, "inc");
	cbor_put_uint(&m, inc);
	cbor_put_text(&m, "h");
	cbor_put_uint(&m, hops);
	arrive(l, &m);
	cbor_buf_free(&m);
}

static void
arrive_claim(struct link *l, const char *type, const uint8_t *id,
    uint64_t inc, uint64_t hops)
{
	arrive_claim_by(l, type, id, inc, hops, NULL);
}

/* A helper's answer to our round n arrives on l. */
static void
arrive_pres(struct link *l, uint64_t n, bool ok)
{
	struct cbor_buf	m = { 0 };

	put_pres(&m, n, ok);
	arrive(l, &m);
	cbor_buf_free(&m);
}

/* A "dig" or "want" with the byte string d under key arrives on l. */
static void
arrive_bytes(struct link *l, const char *type, const char *key,
    const uint8_t *d, size_t len)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, 2);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, type);
	cbor_put_text(&m, key);
	cbor_put_bytes(&m, d, len);
	arrive(l, &m);
	cbor_buf_free(&m);
}

/* Digest entry i of d. */
static void
entry(uint8_t *d, size_t i, const uint8_t *id, uint64_t inc,
    enum member_state state)
{
	uint8_t	*e = d + i * ENTRY;
	int	 k;

	memcpy(e, id, NODE_ID_LEN);
	for (k = 0; k < 8; k++)
		e[NODE_ID_LEN + k] = (uint8_t)(inc >> (56 - 8 * k));
	e[NODE_ID_LEN + 8] = (uint8_t)state;
}

static void
forget_sent(void)
{
	fake_link_forget_sent(la);
	fake_link_forget_sent(lb);
	fake_link_forget_sent(lc);
}

/*
 * We learn n's record at inc (into r if not NULL), or, with inc 0, the
 * record the caller filled in r; what that sent and caused is then
 * forgotten, so that a test sees only its own doings.
 */
static void
learn(const struct tnode *n, uint64_t inc, struct record *r)
{
	struct record	fresh;

	if (r == NULL)
		r = &fresh;
	if (inc != 0)
		tnode_record(n, inc, r);
	arrive_rec(la, n, r, 0);
	ck_assert_msg(members_get(gossip_members(g), n->pk) != NULL,
	    "record of %s not taken", n->name);
	forget_sent();
	nheard = 0;
}

static enum member_state
state_of(const struct tnode *n)
{
	struct member	*m = members_get(gossip_members(g), n->pk);

	ck_assert_msg(m != NULL, "%s is not a member", n->name);
	return m->state;
}

/* Message k of type t sent on l. */
static bool
nth_sent(const struct link *l, const char *t, size_t k, struct linkmsg *m)
{
	size_t	i;

	for (i = 0; i < fake_link_nsent(l); i++)
		if (fake_link_sent_msg(l, i, m) && strcmp(m->type, t) == 0 &&
		    k-- == 0)
			return true;
	return false;
}

static uint64_t
field_uint(const struct linkmsg *m, const char *key)
{
	const struct cbor_field	*f = cbor_field_get(m->f, m->nf, key);
	uint64_t		 v;

	ck_assert_msg(f != NULL && cbor_read_uint(f->val, f->vallen, &v),
	    "%s message without unsigned %s", m->type, key);
	return v;
}

static const uint8_t *
field_bytes(const struct linkmsg *m, const char *key, size_t *len)
{
	const struct cbor_field	*f = cbor_field_get(m->f, m->nf, key);
	const uint8_t		*p;

	ck_assert_msg(f != NULL && cbor_read_bytes(f->val, f->vallen, &p,
	    len), "%s message without bytes %s", m->type, key);
	return p;
}

/* The k-th rec sent on l: its record and hops. */
static void
sent_rec(const struct link *l, size_t k, struct record *r, uint64_t *hops)
{
	struct linkmsg	 m;
	const uint8_t	*raw;
	const char	*why;
	size_t		 len;

	ck_assert_msg(nth_sent(l, "rec", k, &m), "no rec #%zu on %s", k,
	    link_name(l));
	raw = field_bytes(&m, "r", &len);
	ck_assert_msg(record_open(raw, len, r, &why) == 0,
	    "a rec that does not open: %s", why);
	if (hops != NULL)
		*hops = field_uint(&m, "h");
}

/* The k-th claim of type t sent on l. */
static void
sent_claim(const struct link *l, const char *t, size_t k, uint8_t *id,
    uint64_t *inc, uint64_t *hops)
{
	struct linkmsg	 m;
	const uint8_t	*p;
	size_t		 len;

	ck_assert_msg(nth_sent(l, t, k, &m), "no %s #%zu on %s", t, k,
	    link_name(l));
	p = field_bytes(&m, "id", &len);
	ck_assert_uint_eq(len, NODE_ID_LEN);
	memcpy(id, p, NODE_ID_LEN);
	*inc = field_uint(&m, "inc");
	*hops = field_uint(&m, "h");
}

/* The "by" of the k-th claim of type t sent on l; false if it has none. */
static bool
sent_by(const struct link *l, const char *t, size_t k, uint8_t *by)
{
	struct linkmsg	 m;
	const uint8_t	*p;
	size_t		 len;

	ck_assert_msg(nth_sent(l, t, k, &m), "no %s #%zu on %s", t, k,
	    link_name(l));
	if (cbor_field_get(m.f, m.nf, "by") == NULL)
		return false;
	p = field_bytes(&m, "by", &len);
	ck_assert_uint_eq(len, NODE_ID_LEN);
	memcpy(by, p, NODE_ID_LEN);
	return true;
}

/*
 * The one preq sent on l, about n: its round number.  It gives the probe
 * timeout, PROBE_MS or more if our own loop ran late.
 */
static uint64_t
sent_preq(const struct link *l, const struct tnode *n)
{
	struct linkmsg	 m;
	const uint8_t	*p;
	size_t		 len;

	ck_assert_msg(fake_link_count(l, "preq") == 1, "%zu preq on %s",
	    fake_link_count(l, "preq"), link_name(l));
	ck_assert(nth_sent(l, "preq", 0, &m));
	p = field_bytes(&m, "id", &len);
	ck_assert_uint_eq(len, NODE_ID_LEN);
	ck_assert_mem_eq(p, n->pk, NODE_ID_LEN);
	ck_assert_uint_ge(field_uint(&m, "ms"), PROBE_MS);
	return field_uint(&m, "n");
}

/* How many messages of type t about node n were sent on l. */
static size_t
sent_about(const struct link *l, const char *t, const struct tnode *n)
{
	struct linkmsg	 m;
	struct record	 r;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc, hops;
	size_t		 k, found = 0;

	for (k = 0; nth_sent(l, t, k, &m); k++) {
		if (strcmp(t, "rec") == 0) {
			sent_rec(l, k, &r, NULL);
			memcpy(id, r.id, NODE_ID_LEN);
		} else
			sent_claim(l, t, k, id, &inc, &hops);
		if (memcmp(id, n->pk, NODE_ID_LEN) == 0)
			found++;
	}
	return found;
}

/* The last thing the owner heard: about n, in state s. */
static void
heard_last(const struct tnode *n, enum member_state s)
{
	ck_assert_msg(nheard > 0, "the owner heard nothing");
	ck_assert_msg(memcmp(heard[nheard - 1].id, n->pk, NODE_ID_LEN) == 0,
	    "the owner heard of another node than %s", n->name);
	ck_assert_str_eq(member_state_name(heard[nheard - 1].state),
	    member_state_name(s));
}

/* Our own record, re-signed: sent once on every up link, newer than inc. */
static void
republished(uint64_t inc, struct record *r)
{
	struct link	*l[3] = { la, lb, lc };
	int		 i;
	uint64_t	 hops;

	ck_assert_uint_gt(gossip_self(g)->incarnation, inc);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(fake_link_count(l[i], "rec"), 1);
		sent_rec(l[i], 0, r, &hops);
		ck_assert_mem_eq(r->id, self.pk, NODE_ID_LEN);
		ck_assert_uint_eq(r->incarnation,
		    gossip_self(g)->incarnation);
		ck_assert_uint_eq(hops, HOPS);
	}
}

/*
 * The probe that a claim about n started: the last dial, of n's address
 * for its ID, with a probe's timeout, its link closed once idle.  Its
 * index.
 */
static size_t
claim_dial(const struct tnode *n)
{
	struct fake_dial	*d;
	size_t			 k = fake_mesh_ndials(mesh);

	ck_assert_uint_gt(k, 0);
	d = fake_mesh_dial(mesh, k - 1);
	ck_assert(!d->ended);
	ck_assert(d->has_id);
	ck_assert_mem_eq(d->id, n->pk, NODE_ID_LEN);
	ck_assert_msg(d->for_calls, "a claim's probe dial stays linked");
	ck_assert_uint_ge(d->timeout_ms, PROBE_MS);
	return k - 1;
}

/* A "dead" about n at inc comes on l: our probe is refused, n is dead. */
static void
claimed_dead(struct link *l, const struct tnode *n, uint64_t inc)
{
	size_t	k = fake_mesh_ndials(mesh);

	arrive_claim(l, "dead", n->pk, inc, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), k + 1);
	ck_assert_int_eq(state_of(n), MEMBER_ALIVE);
	fake_mesh_dial_end(mesh, claim_dial(n), MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(n), MEMBER_DEAD);
}

/* Nothing of type t sent on any link. */
static size_t
sent_anywhere(const char *t)
{
	return fake_link_count(la, t) + fake_link_count(lb, t) +
	    fake_link_count(lc, t);
}

/* n is suspect by our own word: heard, and "sus" flooded with our by. */
static void
we_suspect(const struct tnode *n, uint64_t want_inc)
{
	struct link	*l[3] = { la, lb, lc };
	uint8_t		 id[NODE_ID_LEN], by[NODE_ID_LEN];
	uint64_t	 inc, hops;
	int		 i, nup = 0;

	ck_assert_int_eq(state_of(n), MEMBER_SUSPECT);
	heard_last(n, MEMBER_SUSPECT);
	for (i = 0; i < 3; i++) {
		if (link_state(l[i]) != LINK_UP)
			continue;
		nup++;
		ck_assert_uint_eq(sent_about(l[i], "sus", n), 1);
		sent_claim(l[i], "sus", fake_link_count(l[i], "sus") - 1, id,
		    &inc, &hops);
		ck_assert_mem_eq(id, n->pk, NODE_ID_LEN);
		ck_assert_uint_eq(inc, want_inc);
		ck_assert_uint_eq(hops, HOPS);
		ck_assert_msg(sent_by(l[i], "sus", fake_link_count(l[i],
		    "sus") - 1, by), "our sus without by");
		ck_assert_mem_eq(by, self.pk, NODE_ID_LEN);
	}
	ck_assert_int_gt(nup, 0);
}

START_TEST(test_link_up_gets_our_digest)
{
	struct tnode	 d;
	struct link	*ld;
	struct linkmsg	 m;
	const uint8_t	*p;
	uint8_t		 want[3 * ENTRY];
	size_t		 len, i, k;

	learn(&a, 5, NULL);
	learn(&far, 7, NULL);
	claimed_dead(lb, &far, 7);
	forget_sent();
	entry(want, 0, self.pk, gossip_self(g)->incarnation, MEMBER_ALIVE);
	entry(want, 1, a.pk, 5, MEMBER_ALIVE);
	entry(want, 2, far.pk, 7, MEMBER_DEAD);
	tnode_new(&d, "d");
	ld = fake_link_new(d.pk, "d", false);
	fake_mesh_add(mesh, ld);
	gossip_link_up(g, ld);
	ck_assert_uint_eq(fake_link_nsent(ld), 1);
	ck_assert(nth_sent(ld, "dig", 0, &m));
	p = field_bytes(&m, "d", &len);
	ck_assert_uint_eq(len, sizeof(want));
	/* Every member once, in no particular order. */
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 3; i++)
			if (memcmp(p + i * ENTRY, want + k * ENTRY,
			    ENTRY) == 0)
				break;
		ck_assert_msg(i < 3, "digest entry %zu missing or wrong", k);
	}
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
}
END_TEST

START_TEST(test_new_record_floods_to_other_links)
{
	struct cbor_buf	 rb = { 0 };
	struct record	 r, out;
	struct linkmsg	 m;
	const uint8_t	*raw;
	size_t		 len;
	uint64_t	 hops;

	tnode_record(&far, 5, &r);
	tnode_sign(&far, &r, &rb);
	arrive_raw(la, rb.data, rb.len, 5);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 1);
	ck_assert_uint_eq(fake_link_count(lc, "rec"), 1);
	sent_rec(lc, 0, &out, &hops);
	ck_assert_uint_eq(hops, 4);
	/* Passed on as signed, byte for byte. */
	ck_assert(nth_sent(lb, "rec", 0, &m));
	raw = field_bytes(&m, "r", &len);
	ck_assert_uint_eq(len, rb.len);
	ck_assert_mem_eq(raw, rb.data, len);
	/* The owner hears of it, and by whose link it came. */
	ck_assert_int_eq(nheard, 1);
	heard_last(&far, MEMBER_ALIVE);
	ck_assert(heard[0].has_via);
	ck_assert_mem_eq(heard[0].via, a.pk, NODE_ID_LEN);
	ck_assert_uint_eq(heard[0].inc, 5);

	/* Again, or older, by any link: nothing new, nothing sent. */
	forget_sent();
	arrive_raw(lb, rb.data, rb.len, 5);
	tnode_record(&far, 4, &r);
	arrive_rec(lc, &far, &r, 5);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	ck_assert_int_eq(nheard, 1);

	/* Newer, by b's link: everywhere but there. */
	tnode_record(&far, 6, &r);
	arrive_rec(lb, &far, &r, HOPS);
	ck_assert_uint_eq(fake_link_nsent(lb), 0);
	sent_rec(la, 0, &out, &hops);
	ck_assert_uint_eq(out.incarnation, 6);
	ck_assert_uint_eq(hops, HOPS - 1);
	ck_assert_uint_eq(fake_link_count(lc, "rec"), 1);
	ck_assert_int_eq(nheard, 2);
	ck_assert_mem_eq(heard[1].via, b.pk, NODE_ID_LEN);
	ck_assert_uint_eq(heard[1].inc, 6);
	cbor_buf_free(&rb);
}
END_TEST

START_TEST(test_hop_zero_taken_not_passed_on)
{
	struct record	r, out;
	uint64_t	hops;

	tnode_record(&far, 5, &r);
	arrive_rec(la, &far, &r, 0);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 1);
	ck_assert_uint_eq(fake_link_nsent(lb) + fake_link_nsent(lc), 0);
	/* No "h" at all counts as 0; one above the limit as the limit. */
	tnode_record(&x, 5, &r);
	arrive_rec(la, &x, &r, -1);
	ck_assert_int_eq(state_of(&x), MEMBER_ALIVE);
	ck_assert_uint_eq(fake_link_nsent(lb) + fake_link_nsent(lc), 0);
	tnode_record(&y, 5, &r);
	arrive_rec(la, &y, &r, 1000);
	sent_rec(lb, 0, &out, &hops);
	ck_assert_uint_eq(hops, HOPS - 1);
}
END_TEST

START_TEST(test_bad_signature_dropped)
{
	struct cbor_buf	rb = { 0 };
	struct record	r;

	/* Signed by a, in far's name. */
	tnode_record(&far, 5, &r);
	arrive_rec(la, &a, &r, HOPS);
	ck_assert_ptr_null(members_get(gossip_members(g), far.pk));
	/* far's own, with its signature spoilt. */
	tnode_sign(&far, &r, &rb);
	rb.data[rb.len - 1] ^= 0x01;
	arrive_raw(la, rb.data, rb.len, HOPS);
	ck_assert_ptr_null(members_get(gossip_members(g), far.pk));
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	cbor_buf_free(&rb);
}
END_TEST

START_TEST(test_claim_probed_not_believed)
{
	struct link	*lf;
	uint8_t		 d[ENTRY], id[NODE_ID_LEN];
	uint64_t	 inc, hops;
	size_t		 k;

	learn(&far, 7, NULL);
	arrive_claim_by(la, "sus", far.pk, 7, 3, x.pk);
	/* Nothing changes, nothing goes on: we dial far, and ask nobody. */
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	k = claim_dial(&far);
	/* More claims meanwhile, a digest's too: still the one probe. */
	arrive_claim(lb, "dead", far.pk, 7, HOPS);
	entry(d, 0, far.pk, 7, MEMBER_DEAD);
	arrive_bytes(lc, "dig", "d", d, sizeof(d));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_uint_eq(sent_anywhere("sus") + sent_anywhere("dead") +
	    sent_anywhere("preq"), 0);
	/* It answers, on the link the dial made: told, so that it refutes. */
	lf = fake_link_new(far.pk, "far", true);
	fake_mesh_add(mesh, lf);
	fake_mesh_dial_end(mesh, k, MESH_DIAL_LINKED);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lf, "dead"), 1);
	sent_claim(lf, "dead", 0, id, &inc, &hops);
	ck_assert_mem_eq(id, far.pk, NODE_ID_LEN);
	ck_assert_uint_eq(inc, 7);
	ck_assert_uint_eq(hops, 0);
	ck_assert_uint_eq(sent_anywhere("sus") + sent_anywhere("dead"), 0);
	ck_assert_uint_eq(gossip_claims_throttled(g), 0);
}
END_TEST

START_TEST(test_claim_alive_waits_the_gap)
{
	size_t	k;

	learn(&far, 7, NULL);
	arrive_claim(la, "dead", far.pk, 7, 0);
	arrive_claim(lb, "sus", far.pk, 7, 0);
	k = claim_dial(&far);
	fake_mesh_dial_end(mesh, k, MESH_DIAL_LINKED);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	/* Both were proved wrong: their claims wait claim_probe_gap. */
	arrive_claim(la, "dead", far.pk, 7, 0);
	arrive_claim(lb, "dead", far.pk, 7, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_uint_eq(gossip_claims_throttled(g), 2);
	/* Not c's, and not claims about another member. */
	arrive_claim(lc, "dead", far.pk, 7, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 2);
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_LINKED);
	learn(&x, 3, NULL);
	arrive_claim(la, "dead", x.pk, 3, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 3);
	fake_mesh_dial_end(mesh, claim_dial(&x), MESH_DIAL_LINKED);
	/* Once the gap is over, a's word is probed again. */
	loop_for(base, CLAIM_GAP_MS + 50);
	arrive_claim(la, "dead", far.pk, 7, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 4);
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&far), MEMBER_DEAD);
	ck_assert_int_eq(state_of(&x), MEMBER_ALIVE);
	ck_assert_uint_eq(gossip_claims_throttled(g), 2);
}
END_TEST

START_TEST(test_claim_refused_is_dead)
{
	uint8_t		id[NODE_ID_LEN], by[NODE_ID_LEN];
	uint64_t	inc, hops;
	struct link	*l[3] = { la, lb, lc };
	int		i;

	learn(&far, 7, NULL);
	arrive_claim(lb, "dead", far.pk, 7, 5);
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&far), MEMBER_DEAD);
	heard_last(&far, MEMBER_DEAD);
	/* Our own evidence: our own claim, on every link, b's too. */
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(fake_link_count(l[i], "dead"), 1);
		sent_claim(l[i], "dead", 0, id, &inc, &hops);
		ck_assert_mem_eq(id, far.pk, NODE_ID_LEN);
		ck_assert_uint_eq(inc, 7);
		ck_assert_uint_eq(hops, HOPS);
		ck_assert(!sent_by(l[i], "dead", 0, by));
	}
	/* Claims about the dead start nothing. */
	forget_sent();
	arrive_claim(la, "dead", far.pk, 7, HOPS);
	arrive_claim(la, "sus", far.pk, 7, HOPS);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
}
END_TEST

START_TEST(test_claim_silent_is_suspect_from_the_first)
{
	struct member	*m;
	int64_t		 t0;
	size_t		 k;

	learn(&far, 7, NULL);
	t0 = clock_ms();
	arrive_claim_by(la, "sus", far.pk, 7, 0, x.pk);
	k = claim_dial(&far);
	arrive_claim(lb, "dead", far.pk, 7, 0);
	loop_for(base, 50);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	/* Our own dial hears nothing: suspect, in our name. */
	fake_mesh_dial_end(mesh, k, MESH_DIAL_FAILED);
	we_suspect(&far, 7);
	ck_assert_uint_eq(sent_anywhere("preq"), 0);
	/*
	 * Confirmed by us and both claimants: the least timeout, counted
	 * from the first claim, not from our probe's end.
	 */
	m = members_get(gossip_members(g), far.pk);
	ck_assert_int_ge(m->deadline_ms, t0 + SUSPECT_MS);
	ck_assert_int_lt(m->deadline_ms, t0 + 50 + SUSPECT_MS);
}
END_TEST

START_TEST(test_claim_nothing_to_probe_two_claimants)
{
	struct record	r;

	tnode_record(&far, 7, &r);
	r.naddrs = 0;
	learn(&far, 0, &r);
	/* No address, and no helper to ask: our probe cannot tell. */
	fake_link_quiet(la, true);
	fake_link_quiet(lb, true);
	fake_link_quiet(lc, true);
	arrive_claim(la, "dead", far.pk, 7, 0);
	arrive_claim(la, "sus", far.pk, 7, 0);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	/* A second link says so: suspect, to refute in time, not flooded. */
	arrive_claim(lb, "dead", far.pk, 7, 0);
	ck_assert_int_eq(state_of(&far), MEMBER_SUSPECT);
	heard_last(&far, MEMBER_SUSPECT);
	ck_assert_uint_eq(sent_anywhere("sus") + sent_anywhere("dead") +
	    sent_anywhere("preq"), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
}
END_TEST

START_TEST(test_claims_throttled)
{
	static struct tnode	 many[2 * CLAIM_BURST + 2];
	size_t			 i;
	char			 name[16];

	for (i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		tnode_new(&many[i], name);
		learn(&many[i], 1, NULL);
	}
	/* One link: CLAIM_BURST claims probed, the rest dropped. */
	for (i = 0; i < CLAIM_BURST + 2; i++)
		arrive_claim(la, "dead", many[i].pk, 1, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), CLAIM_BURST);
	ck_assert_uint_eq(gossip_claims_throttled(g), 2);
	/* Another link has its own budget, to the overall one. */
	for (i = 0; i < CLAIM_BURST; i++)
		arrive_claim(lb, "dead", many[CLAIM_BURST + i].pk, 1, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), CLAIM_PROBES);
	arrive_claim(lc, "dead", many[2 * CLAIM_BURST + 1].pk, 1, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), CLAIM_PROBES);
	ck_assert_uint_eq(gossip_claims_throttled(g), 3);
	for (i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		ck_assert_int_eq(state_of(&many[i]), MEMBER_ALIVE);
	ck_assert_uint_eq(sent_anywhere("dead") + sent_anywhere("sus"), 0);
	/* The link's budget comes back at claim_rate, 2 a second. */
	for (i = 0; i < CLAIM_PROBES; i++)
		fake_mesh_dial_end(mesh, i, MESH_DIAL_LINKED);
	loop_for(base, 600);
	arrive_claim(la, "dead", many[CLAIM_BURST].pk, 1, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), CLAIM_PROBES + 1);
}
END_TEST

START_TEST(test_claims_at_other_incarnation_ignored)
{
	learn(&far, 7, NULL);
	arrive_claim(la, "sus", far.pk, 6, HOPS);
	arrive_claim(la, "sus", far.pk, 8, HOPS);
	arrive_claim(la, "dead", far.pk, 6, HOPS);
	arrive_claim(la, "dead", far.pk, 8, HOPS);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
}
END_TEST

static bool
refuted_past(void *arg)
{
	return gossip_self(g)->incarnation > *(uint64_t *)arg;
}

START_TEST(test_claim_about_us_refuted)
{
	struct record	r;
	uint64_t	inc = gossip_self(g)->incarnation;
	int64_t		t0;

	arrive_claim(la, "sus", self.pk, inc, HOPS);
	republished(inc, &r);
	ck_assert(!r.left);
	ck_assert_int_eq(members_self(gossip_members(g))->state,
	    MEMBER_ALIVE);
	t0 = clock_ms();
	/*
	 * Declared dead at the new one, again and again: refuted once
	 * more, a second after the first refutation, not before.
	 */
	forget_sent();
	inc = gossip_self(g)->incarnation;
	arrive_claim(lb, "dead", self.pk, inc, HOPS);
	arrive_claim(lc, "sus", self.pk, inc, HOPS);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	ck_assert(loop_until(base, refuted_past, &inc, REFUTE_GAP_MS + 500));
	ck_assert_int_ge(clock_ms() - t0, REFUTE_GAP_MS - CLOCK_SLACK_MS);
	republished(inc, &r);
	/* Once: the two claims waited for the same slot. */
	inc = gossip_self(g)->incarnation;
	loop_for(base, REFUTE_GAP_MS + 100);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 1);
}
END_TEST

START_TEST(test_claim_not_at_our_incarnation_ignored)
{
	uint64_t	inc = gossip_self(g)->incarnation;

	/* Above ours: forged, nobody holds such a record of us. */
	arrive_claim(la, "sus", self.pk, inc + 1, HOPS);
	arrive_claim(la, "dead", self.pk, inc + 1, HOPS);
	/* Below: a record already outdone. */
	arrive_claim(la, "dead", self.pk, inc - 1, HOPS);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
}
END_TEST

START_TEST(test_our_record_from_elsewhere_outdone)
{
	struct member	*me = members_self(gossip_members(g));
	struct record	 r;
	uint64_t	 inc = gossip_self(g)->incarnation;

	/* Our own record coming back changes nothing. */
	arrive_raw(la, me->raw, me->rawlen, HOPS);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc), 0);
	/* One we signed in a run whose clock was ahead: outdone. */
	tnode_record(&self, inc + 1000, &r);
	arrive_rec(la, &self, &r, HOPS);
	republished(inc + 1000, &r);
}
END_TEST


START_TEST(test_claim_against_answering_link_told_to_member)
{
	uint8_t		d[ENTRY], id[NODE_ID_LEN];
	uint64_t	inc, hops;
	size_t		k;

	learn(&a, 5, NULL);
	/* a answers on its link: what others say is a's to refute. */
	arrive_claim_by(lb, "sus", a.pk, 5, 3, x.pk);
	arrive_claim(lb, "dead", a.pk, 5, HOPS);
	entry(d, 0, a.pk, 5, MEMBER_SUSPECT);
	arrive_bytes(lc, "dig", "d", d, sizeof(d));
	entry(d, 0, a.pk, 5, MEMBER_DEAD);
	arrive_bytes(lc, "dig", "d", d, sizeof(d));
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus") + fake_link_count(lb, "dead") +
	    fake_link_count(lc, "dead"), 0);
	ck_assert(!fake_link_pinged(la));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	/* Each claim went to a, to go no further. */
	ck_assert_uint_eq(fake_link_count(la, "sus"), 2);
	ck_assert_uint_eq(fake_link_count(la, "dead"), 2);
	for (k = 0; k < 2; k++) {
		sent_claim(la, "sus", k, id, &inc, &hops);
		ck_assert_mem_eq(id, a.pk, NODE_ID_LEN);
		ck_assert_uint_eq(inc, 5);
		ck_assert_uint_eq(hops, 0);
		sent_claim(la, "dead", k, id, &inc, &hops);
		ck_assert_mem_eq(id, a.pk, NODE_ID_LEN);
		ck_assert_uint_eq(inc, 5);
		ck_assert_uint_eq(hops, 0);
	}

	/* Quiet, it may have failed: the claim is probed, on that link. */
	forget_sent();
	fake_link_quiet(la, true);
	entry(d, 0, a.pk, 5, MEMBER_DEAD);
	arrive_bytes(lc, "dig", "d", d, sizeof(d));
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert(fake_link_pinged(la));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	fake_link_pong(la, -1);
	we_suspect(&a, 5);
	ck_assert_uint_eq(sent_anywhere("dead"), 0);
}
END_TEST

START_TEST(test_sus_about_linked_member_probed_and_confirmed)
{
	learn(&a, 5, NULL);
	fake_link_quiet(la, true);
	arrive_claim_by(lb, "sus", a.pk, 5, 3, x.pk);
	/* Not believed, not passed on... */
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_uint_eq(sent_anywhere("sus"), 0);
	/* ...but probed by us, directly only: a ping on its link. */
	ck_assert(fake_link_pinged(la));
	ck_assert_uint_eq(sent_anywhere("preq"), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	/* No pong: suspect, in our own name. */
	fake_link_pong(la, -1);
	we_suspect(&a, 5);

	/* b's link is quiet too, but b answers our ping: alive, and told. */
	learn(&b, 5, NULL);
	fake_link_quiet(lb, true);
	arrive_claim_by(lc, "sus", b.pk, 5, 3, x.pk);
	ck_assert(fake_link_pinged(lb));
	fake_link_pong(lb, 1000);
	ck_assert_int_eq(state_of(&b), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(sent_about(lb, "sus", &b), 1);
	ck_assert_uint_eq(sent_about(la, "sus", &b) +
	    sent_about(lc, "sus", &b), 0);
}
END_TEST

START_TEST(test_by_only_shortens_our_suspicion)
{
	struct member	*m;
	int64_t		 before;

	learn(&far, 7, NULL);
	learn(&x, 1, NULL);
	learn(&y, 1, NULL);
	/* In the name of members, still only a probe. */
	arrive_claim_by(la, "sus", far.pk, 7, 5, x.pk);
	arrive_claim_by(la, "sus", far.pk, 7, 5, y.pk);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	/* Our probe fails: suspect, confirmed by us and a (the claimant). */
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_FAILED);
	we_suspect(&far, 7);
	m = members_get(gossip_members(g), far.pk);
	before = m->deadline_ms;
	forget_sent();
	/* No confirmation: nobody, a non-member, us, far itself. */
	arrive_claim(lb, "sus", far.pk, 7, 5);
	arrive_claim_by(lb, "sus", far.pk, 7, 5, c.pk);
	arrive_claim_by(lb, "sus", far.pk, 7, 5, self.pk);
	arrive_claim_by(lb, "sus", far.pk, 7, 5, far.pk);
	ck_assert_int_eq(m->deadline_ms, before);
	/* A member's name, once we suspect it ourselves: sooner. */
	arrive_claim_by(lb, "sus", far.pk, 7, 5, y.pk);
	ck_assert_int_lt(m->deadline_ms, before);
	ck_assert_int_eq(state_of(&far), MEMBER_SUSPECT);
	/* Never passed on. */
	ck_assert_uint_eq(sent_anywhere("sus"), 0);
}
END_TEST

/* a's link is lost, not on purpose. */
static void
lose_la(enum mesh_reason why)
{
	fake_link_end(la, LINK_END_EOF, "gone");
	gossip_link_down(g, la, why);
}

/* A member, and a state for it to reach. */
struct in_state {
	const struct tnode	*n;
	enum member_state	 s;
};

static bool
reached(void *arg)
{
	const struct in_state	*w = arg;

	return state_of(w->n) == w->s;
}

/*
 * The round of probes a lost link started about a (record r): a probe
 * dial of its address, for its ID, and a preq to each other up link,
 * with the same round number (into *n); nothing changed yet.
 */
static void
round_started(const struct record *r, uint64_t *n)
{
	struct fake_dial	*d;

	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	d = fake_mesh_dial(mesh, 0);
	ck_assert(d->has_id);
	ck_assert_mem_eq(d->id, a.pk, NODE_ID_LEN);
	ck_assert_str_eq(d->addr, r->addrs[0]);
	ck_assert(!d->for_calls);
	ck_assert_uint_ge(d->timeout_ms, PROBE_MS);
	*n = sent_preq(lb, &a);
	ck_assert_uint_eq(sent_preq(lc, &a), *n);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus"), 0);
}

START_TEST(test_lost_link_probed_refused_is_dead)
{
	struct record	r;
	uint8_t		id[NODE_ID_LEN], by[NODE_ID_LEN];
	uint64_t	inc, hops, n;

	learn(&a, 5, &r);
	lose_la(MESH_LOST);
	round_started(&r, &n);

	fake_mesh_dial_end(mesh, 0, MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&a), MEMBER_DEAD);
	heard_last(&a, MEMBER_DEAD);
	ck_assert(!heard[nheard - 1].has_via);
	sent_claim(lb, "dead", 0, id, &inc, &hops);
	ck_assert_mem_eq(id, a.pk, NODE_ID_LEN);
	ck_assert_uint_eq(inc, 5);
	ck_assert_uint_eq(hops, HOPS);
	ck_assert(!sent_by(lb, "dead", 0, by));
	ck_assert_uint_eq(fake_link_count(lc, "dead"), 1);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus"), 0);
	/* The round is over: a helper's late word changes nothing. */
	arrive_pres(lb, n, true);
	ck_assert_int_eq(state_of(&a), MEMBER_DEAD);
}
END_TEST

START_TEST(test_lost_link_silent_is_suspect_then_dead)
{
	struct in_state	dead = { &a, MEMBER_DEAD };
	struct record	r;
	uint8_t		id[NODE_ID_LEN];
	uint64_t	inc, hops, n;
	int64_t		t0;

	learn(&a, 5, &r);
	lose_la(MESH_SILENT);
	round_started(&r, &n);
	/* No answer directly is no proof while helpers are to answer. */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	arrive_pres(lb, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus"), 0);
	/* Silent through every one of them: suspect, in our name. */
	t0 = clock_ms();
	arrive_pres(lc, n, false);
	we_suspect(&a, 5);
	ck_assert_uint_eq(fake_link_count(lc, "dead"), 0);

	/*
	 * It does not refute: dead once its timeout has passed, which
	 * the two helpers' confirmations make shorter than the 3
	 * suspect_timeout of a suspicion nobody confirms.
	 */
	ck_assert_msg(loop_until(base, reached, &dead, 3 * SUSPECT_MS + 1000),
	    "a suspect did not turn dead");
	ck_assert_int_ge(clock_ms() - t0, SUSPECT_MS);
	ck_assert_int_lt(clock_ms() - t0, 3 * SUSPECT_MS);
	heard_last(&a, MEMBER_DEAD);
	sent_claim(lc, "dead", 0, id, &inc, &hops);
	ck_assert_mem_eq(id, a.pk, NODE_ID_LEN);
	ck_assert_uint_eq(inc, 5);
	ck_assert_uint_eq(hops, HOPS);
	ck_assert_uint_eq(fake_link_count(lb, "dead"), 1);
}
END_TEST

START_TEST(test_claim_probes_again_in_a_silent_round)
{
	struct record	r;
	uint64_t	n;
	size_t		k;

	learn(&a, 5, &r);
	lose_la(MESH_LOST);
	round_started(&r, &n);
	/* Claimed dead while our own dial is under way: no second one. */
	arrive_claim(lb, "dead", a.pk, 5, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	/*
	 * Our dial is reset (a process as it dies), the helpers have not
	 * answered yet: the next claim dials again, and is refused.
	 */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	arrive_claim(lc, "dead", a.pk, 5, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 2);
	k = claim_dial(&a);
	fake_mesh_dial_end(mesh, k, MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&a), MEMBER_DEAD);
	heard_last(&a, MEMBER_DEAD);
	ck_assert_uint_eq(sent_about(lb, "dead", &a), 1);
}
END_TEST

START_TEST(test_lost_link_round_timer_suspects)
{
	struct in_state	sus = { &a, MEMBER_SUSPECT };
	struct record	r;
	uint64_t	n;
	int64_t		t0;

	learn(&a, 5, &r);
	t0 = clock_ms();
	lose_la(MESH_LOST);
	round_started(&r, &n);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	/* b says no; c never answers. */
	arrive_pres(lb, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	/* The round ends at twice the probe timeout. */
	ck_assert_msg(loop_until(base, reached, &sus, 2 * PROBE_MS + 1000),
	    "a silent round did not end");
	ck_assert_int_ge(clock_ms() - t0, 2 * PROBE_MS - CLOCK_SLACK_MS);
	we_suspect(&a, 5);
}
END_TEST

START_TEST(test_lost_link_helper_reaches_it_alive)
{
	struct record	r;
	uint64_t	n;

	learn(&a, 5, &r);
	lose_la(MESH_LOST);
	round_started(&r, &n);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	arrive_pres(lc, n, false);
	/* b reaches it: only our own way to it failed. */
	arrive_pres(lb, n, true);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	/* The round is over: its timer changes nothing. */
	loop_for(base, 2 * PROBE_MS + 100);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus"), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
}
END_TEST

START_TEST(test_suspect_refutes_in_time)
{
	struct record	r;
	uint64_t	n;

	learn(&a, 5, &r);
	lose_la(MESH_LOST);
	round_started(&r, &n);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	arrive_pres(lb, n, false);
	arrive_pres(lc, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_SUSPECT);
	forget_sent();
	/* Its newer record comes by b: alive again, for good. */
	tnode_record(&a, 6, &r);
	arrive_rec(lb, &a, &r, HOPS);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	heard_last(&a, MEMBER_ALIVE);
	ck_assert_uint_eq(heard[nheard - 1].inc, 6);
	ck_assert_uint_eq(fake_link_count(lc, "rec"), 1);
	loop_for(base, 3 * SUSPECT_MS + 100);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_uint_eq(fake_link_count(lb, "dead") +
	    fake_link_count(lc, "dead"), 0);
}
END_TEST

START_TEST(test_no_probe_when_closed_on_purpose)
{
	struct link	*lb2;

	learn(&a, 5, NULL);
	lose_la(MESH_ON_PURPOSE);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(fake_link_nsent(lb) + fake_link_nsent(lc), 0);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	/* Nor when another link to it is still up. */
	learn(&b, 5, NULL);
	lb2 = fake_link_new(b.pk, "b", false);
	fake_mesh_add(mesh, lb2);
	fake_link_end(lb, LINK_END_EOF, "gone");
	gossip_link_down(g, lb, MESH_LOST);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert(!fake_link_pinged(lb2));
	ck_assert_int_eq(state_of(&b), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_nsent(lc), 0);
}
END_TEST

START_TEST(test_no_address_probed_through_others)
{
	struct record	r;
	uint64_t	n;

	tnode_record(&a, 5, &r);
	r.naddrs = 0;
	learn(&a, 0, &r);
	lose_la(MESH_LOST);
	/* Nothing to dial: only the helpers are asked. */
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	n = sent_preq(lb, &a);
	ck_assert_uint_eq(sent_preq(lc, &a), n);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	arrive_pres(lb, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	arrive_pres(lc, n, false);
	we_suspect(&a, 5);
	ck_assert_int_eq(gossip_probe(g, a.pk, NULL, NULL), -1);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
}
END_TEST

START_TEST(test_no_address_nobody_to_ask_suspected_at_once)
{
	struct record	r;

	tnode_record(&a, 5, &r);
	r.naddrs = 0;
	learn(&a, 0, &r);
	/* The other links are quiet: no helper either. */
	fake_link_quiet(lb, true);
	fake_link_quiet(lc, true);
	lose_la(MESH_LOST);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(fake_link_count(lb, "preq") +
	    fake_link_count(lc, "preq"), 0);
	we_suspect(&a, 5);
}
END_TEST

START_TEST(test_quiet_link_probed)
{
	uint64_t	n;

	learn(&a, 5, NULL);
	fake_link_quiet(la, true);
	gossip_link_quiet(g, la);
	/* A ping on the quiet link, not a second link; and the helpers. */
	ck_assert(fake_link_pinged(la));
	ck_assert_uint_ge(fake_link_ping_timeout(la), PROBE_MS);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(fake_link_count(la, "preq"), 0);
	n = sent_preq(lb, &a);
	ck_assert_uint_eq(sent_preq(lc, &a), n);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	/* One round at a time. */
	gossip_link_quiet(g, la);
	ck_assert_uint_eq(fake_link_count(lb, "preq"), 1);
	/* It answers the ping after all: alive, the round over. */
	fake_link_pong(la, 2000);
	loop_for(base, 2 * PROBE_MS + 100);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "sus") +
	    fake_link_count(lc, "sus"), 0);

	/* Quiet again: a new round, silent everywhere this time. */
	forget_sent();
	gossip_link_quiet(g, la);
	ck_assert(fake_link_pinged(la));
	n = sent_preq(lb, &a);
	fake_link_pong(la, -1);
	arrive_pres(lb, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	arrive_pres(lc, n, false);
	we_suspect(&a, 5);
	/* A suspect is not probed again for its quiet link. */
	forget_sent();
	gossip_link_quiet(g, la);
	ck_assert(!fake_link_pinged(la));
	ck_assert_uint_eq(fake_link_count(lb, "preq") +
	    fake_link_count(lc, "preq"), 0);
}
END_TEST

/* What a gossip_probe callback heard, and the member's state then. */
struct probed {
	int			 n;
	uint8_t			 id[NODE_ID_LEN];
	enum mesh_dial_result	 res;
	enum member_state	 state;
};

static void
probed(const uint8_t *id, enum mesh_dial_result res, void *arg)
{
	struct probed	*p = arg;
	struct member	*m = members_get(gossip_members(g), id);

	ck_assert_ptr_nonnull(m);
	p->n++;
	memcpy(p->id, id, NODE_ID_LEN);
	p->res = res;
	p->state = m->state;
}

START_TEST(test_probe_outcome_reported)
{
	struct probed		 p = { 0 };
	struct record		 r;
	struct fake_dial	*d;
	uint64_t		 n;

	tnode_record(&far, 5, &r);
	snprintf(r.addrs[1], ADDR_STRLEN, "127.0.0.2:7654");
	r.naddrs = 2;
	learn(&far, 0, &r);
	ck_assert_int_eq(gossip_probe(g, far.pk, probed, &p), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_str_eq(fake_mesh_dial(mesh, 0)->addr, r.addrs[0]);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_LINKED);
	ck_assert_int_eq(p.n, 1);
	ck_assert_mem_eq(p.id, far.pk, NODE_ID_LEN);
	ck_assert_int_eq(p.res, MESH_DIAL_LINKED);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	/* The next probe tries the next address. */
	ck_assert_int_eq(gossip_probe(g, far.pk, probed, &p), 0);
	ck_assert_str_eq(fake_mesh_dial(mesh, 1)->addr, r.addrs[1]);
	fake_mesh_dial_end(mesh, 1, MESH_DIAL_FAILED);
	ck_assert_int_eq(p.n, 2);
	ck_assert_int_eq(p.res, MESH_DIAL_FAILED);
	/*
	 * No answer proves nothing yet: a round of probes starts, a dial
	 * (of the next address again) and a preq to each of our links.
	 */
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(la, "sus"), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 3);
	d = fake_mesh_dial(mesh, 2);
	ck_assert(d->has_id);
	ck_assert_mem_eq(d->id, far.pk, NODE_ID_LEN);
	ck_assert_str_eq(d->addr, r.addrs[0]);
	ck_assert_uint_ge(d->timeout_ms, PROBE_MS);
	n = sent_preq(la, &far);
	ck_assert_uint_eq(sent_preq(lb, &far), n);
	ck_assert_uint_eq(sent_preq(lc, &far), n);
	/* Silent there too: suspect. */
	fake_mesh_dial_end(mesh, 2, MESH_DIAL_FAILED);
	arrive_pres(la, n, false);
	arrive_pres(lb, n, false);
	arrive_pres(lc, n, false);
	we_suspect(&far, 5);
	ck_assert_int_eq(p.n, 2);

	/* Refused: dead at once, which the callback hears of. */
	learn(&x, 5, NULL);
	ck_assert_int_eq(gossip_probe(g, x.pk, probed, &p), 0);
	fake_mesh_dial_end(mesh, 3, MESH_DIAL_REFUSED);
	ck_assert_int_eq(p.n, 3);
	ck_assert_mem_eq(p.id, x.pk, NODE_ID_LEN);
	ck_assert_int_eq(p.res, MESH_DIAL_REFUSED);
	ck_assert_int_eq(p.state, MEMBER_DEAD);
	ck_assert_int_eq(state_of(&x), MEMBER_DEAD);
	heard_last(&x, MEMBER_DEAD);
	ck_assert_uint_eq(sent_about(la, "dead", &x), 1);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 4);
	/* Nobody to dial: ourselves, or a node we do not know. */
	ck_assert_int_eq(gossip_probe(g, self.pk, probed, &p), -1);
	ck_assert_int_eq(gossip_probe(g, y.pk, probed, &p), -1);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 4);
}
END_TEST

START_TEST(test_no_evidence_while_leaving)
{
	struct probed	seen = { 0 };
	uint64_t	n;

	learn(&a, 5, NULL);
	learn(&b, 5, NULL);
	lose_la(MESH_SILENT);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	n = sent_preq(lb, &a);
	/* Closing our links as we leave ends our own dials. */
	gossip_leave(g);
	forget_sent();
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	arrive_pres(lb, n, false);
	arrive_pres(lc, n, false);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_uint_eq(fake_link_count(lb, "sus"), 0);
	ck_assert_uint_eq(fake_link_count(lc, "sus"), 0);
	ck_assert_int_eq(gossip_probe(g, b.pk, probed, &seen), 0);
	fake_mesh_dial_end(mesh, 1, MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&b), MEMBER_ALIVE);
	ck_assert_int_eq(seen.n, 0);
	/* Nor does a quiet link start a round. */
	fake_link_quiet(lb, true);
	gossip_link_quiet(g, lb);
	ck_assert(!fake_link_pinged(lb));
	ck_assert_uint_eq(fake_link_count(lc, "preq"), 0);
}
END_TEST

START_TEST(test_probe_outcome_for_the_probed_record_only)
{
	struct probed	p = { 0 };
	struct record	r;

	learn(&far, 5, NULL);
	ck_assert_int_eq(gossip_probe(g, far.pk, probed, &p), 0);
	tnode_record(&far, 6, &r);
	arrive_rec(la, &far, &r, 0);
	nheard = 0;
	/* Refused, but about incarnation 5: 6 stays alive. */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_REFUSED);
	ck_assert_int_eq(p.n, 1);
	ck_assert_int_eq(p.res, MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_int_eq(nheard, 0);
	ck_assert_uint_eq(fake_link_count(lb, "dead"), 0);
}
END_TEST

/*
 * n is suspect on our own evidence alone: an overlay dial and the
 * round's dial unanswered, and no helper's word before the round's end.
 */
static void
suspect_alone(const struct tnode *n)
{
	struct in_state	sus = { n, MEMBER_SUSPECT };
	size_t		k = fake_mesh_ndials(mesh);

	ck_assert_int_eq(gossip_probe(g, n->pk, NULL, NULL), 0);
	fake_mesh_dial_end(mesh, k, MESH_DIAL_FAILED);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), k + 2);
	fake_mesh_dial_end(mesh, k + 1, MESH_DIAL_FAILED);
	ck_assert_msg(loop_until(base, reached, &sus, 2 * PROBE_MS + 1000),
	    "a silent round did not end");
}

START_TEST(test_unconfirmed_suspicion_lasts_longest)
{
	struct in_state	dead = { &far, MEMBER_DEAD };
	int64_t		t0;

	learn(&far, 7, NULL);
	suspect_alone(&far);
	t0 = clock_ms();
	/* Fewer than 10 members: 3 suspect_timeout. */
	ck_assert_msg(loop_until(base, reached, &dead, 3 * SUSPECT_MS + 1000),
	    "a suspect did not turn dead");
	ck_assert_int_ge(clock_ms() - t0, 3 * SUSPECT_MS - CLOCK_SLACK_MS);
	heard_last(&far, MEMBER_DEAD);
}
END_TEST

START_TEST(test_confirmed_suspicion_shorter)
{
	struct in_state	dead = { &far, MEMBER_DEAD };
	int64_t		t0;

	learn(&far, 7, NULL);
	learn(&x, 1, NULL);
	learn(&y, 1, NULL);
	t0 = clock_ms();
	/* a says so, our probe fails; then x and y confirm. */
	arrive_claim_by(la, "sus", far.pk, 7, 0, x.pk);
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_FAILED);
	ck_assert_int_eq(state_of(&far), MEMBER_SUSPECT);
	arrive_claim_by(lb, "sus", far.pk, 7, 0, x.pk);
	arrive_claim_by(lc, "sus", far.pk, 7, 0, y.pk);
	ck_assert_msg(loop_until(base, reached, &dead, 3 * SUSPECT_MS + 1000),
	    "a suspect did not turn dead");
	ck_assert_int_ge(clock_ms() - t0, SUSPECT_MS - CLOCK_SLACK_MS);
	ck_assert_int_lt(clock_ms() - t0, 2 * SUSPECT_MS);
	heard_last(&far, MEMBER_DEAD);
}
END_TEST

START_TEST(test_digest_answered_both_ways)
{
	uint8_t		 d[6 * ENTRY];
	struct record	 r0, r1;
	struct linkmsg	 m;
	const uint8_t	*ids;
	size_t		 len;
	uint64_t	 hops;

	learn(&a, 5, NULL);
	learn(&b, 5, NULL);
	learn(&c, 5, NULL);
	learn(&far, 5, NULL);
	entry(d, 0, self.pk, gossip_self(g)->incarnation, MEMBER_ALIVE);
	entry(d, 1, a.pk, 5, MEMBER_ALIVE);	/* same: nothing */
	entry(d, 2, b.pk, 3, MEMBER_ALIVE);	/* older: ours goes */
	entry(d, 3, far.pk, 9, MEMBER_SUSPECT);	/* newer: wanted */
	entry(d, 4, x.pk, 9, MEMBER_ALIVE);	/* unknown: wanted */
	entry(d, 5, y.pk, 9, MEMBER_DEAD);	/* dead: not worth it */
	/* c is missing: ours goes. */
	arrive_bytes(la, "dig", "d", d, 6 * ENTRY);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 2);
	sent_rec(la, 0, &r0, &hops);
	ck_assert_uint_eq(hops, HOPS);
	sent_rec(la, 1, &r1, NULL);
	ck_assert((memcmp(r0.id, b.pk, NODE_ID_LEN) == 0 &&
	    memcmp(r1.id, c.pk, NODE_ID_LEN) == 0) ||
	    (memcmp(r0.id, c.pk, NODE_ID_LEN) == 0 &&
	    memcmp(r1.id, b.pk, NODE_ID_LEN) == 0));
	ck_assert_uint_eq(fake_link_count(la, "want"), 1);
	ck_assert(nth_sent(la, "want", 0, &m));
	ids = field_bytes(&m, "ids", &len);
	ck_assert_uint_eq(len, 2 * NODE_ID_LEN);
	ck_assert((memcmp(ids, far.pk, NODE_ID_LEN) == 0 &&
	    memcmp(ids + NODE_ID_LEN, x.pk, NODE_ID_LEN) == 0) ||
	    (memcmp(ids, x.pk, NODE_ID_LEN) == 0 &&
	    memcmp(ids + NODE_ID_LEN, far.pk, NODE_ID_LEN) == 0));
	/* The answer is for the neighbour alone. */
	ck_assert_uint_eq(fake_link_nsent(lb) + fake_link_nsent(lc), 0);
	ck_assert_int_eq(nheard, 0);

	/* A digest of the wrong length is ignored. */
	forget_sent();
	arrive_bytes(la, "dig", "d", d, 6 * ENTRY - 1);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
}
END_TEST

START_TEST(test_digest_saying_we_failed_refuted)
{
	uint8_t		d[2 * ENTRY];
	struct record	r;
	uint64_t	inc = gossip_self(g)->incarnation;

	learn(&far, 5, NULL);
	entry(d, 0, self.pk, inc, MEMBER_SUSPECT);
	entry(d, 1, far.pk, 5, MEMBER_DEAD);
	arrive_bytes(la, "dig", "d", d, sizeof(d));
	/*
	 * Flooded everywhere; the neighbour, whose digest now lists an
	 * older record of us, is sent the new one again.
	 */
	ck_assert_uint_gt(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 1);
	ck_assert_uint_eq(fake_link_count(lc, "rec"), 1);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 2);
	sent_rec(lb, 0, &r, NULL);
	ck_assert_mem_eq(r.id, self.pk, NODE_ID_LEN);
	ck_assert_uint_eq(r.incarnation, gossip_self(g)->incarnation);
	sent_rec(la, 1, &r, NULL);
	ck_assert_uint_eq(r.incarnation, gossip_self(g)->incarnation);
	/* Its word that far is dead is probed, not taken. */
	ck_assert_int_eq(state_of(&far), MEMBER_ALIVE);
	ck_assert_uint_eq(sent_anywhere("dead"), 0);
	fake_mesh_dial_end(mesh, claim_dial(&far), MESH_DIAL_REFUSED);
	ck_assert_int_eq(state_of(&far), MEMBER_DEAD);
	heard_last(&far, MEMBER_DEAD);
}
END_TEST

START_TEST(test_digest_told_of_the_dead)
{
	uint8_t		d[ENTRY];
	struct record	r;
	uint8_t		id[NODE_ID_LEN];
	uint64_t	inc, hops;

	learn(&far, 5, NULL);
	claimed_dead(lb, &far, 5);
	forget_sent();
	/* It holds far alive at the same record: told it is dead. */
	entry(d, 0, far.pk, 5, MEMBER_ALIVE);
	arrive_bytes(la, "dig", "d", d, sizeof(d));
	ck_assert_uint_eq(sent_about(la, "rec", &far), 0);
	ck_assert_uint_eq(sent_about(la, "dead", &far), 1);
	sent_claim(la, "dead", 0, id, &inc, &hops);
	ck_assert_uint_eq(inc, 5);
	ck_assert_uint_eq(hops, HOPS);
	/* At an older record: sent ours, then that it is dead. */
	forget_sent();
	entry(d, 0, far.pk, 3, MEMBER_ALIVE);
	arrive_bytes(la, "dig", "d", d, sizeof(d));
	ck_assert_uint_eq(sent_about(la, "rec", &far), 1);
	ck_assert_uint_eq(sent_about(la, "dead", &far), 1);
	sent_rec(la, fake_link_count(la, "rec") - 1, &r, NULL);
	ck_assert_uint_eq(r.incarnation, 5);
	/* It knows already, or lacks it: a dead member is not sent. */
	forget_sent();
	entry(d, 0, far.pk, 3, MEMBER_DEAD);
	arrive_bytes(la, "dig", "d", d, sizeof(d));
	arrive_bytes(la, "dig", "d", d, 0);
	ck_assert_uint_eq(sent_about(la, "rec", &far), 0);
	ck_assert_uint_eq(sent_about(la, "dead", &far), 0);
	ck_assert_int_eq(state_of(&far), MEMBER_DEAD);
}
END_TEST

START_TEST(test_want_answered_once_each)
{
	uint8_t	ids[4 * NODE_ID_LEN];

	learn(&a, 5, NULL);
	learn(&far, 5, NULL);
	memcpy(ids, far.pk, NODE_ID_LEN);
	memcpy(ids + NODE_ID_LEN, a.pk, NODE_ID_LEN);
	memcpy(ids + 2 * NODE_ID_LEN, x.pk, NODE_ID_LEN);
	memcpy(ids + 3 * NODE_ID_LEN, far.pk, NODE_ID_LEN);
	arrive_bytes(lb, "want", "ids", ids, sizeof(ids));
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 2);
	ck_assert_uint_eq(sent_about(lb, "rec", &far), 1);
	ck_assert_uint_eq(sent_about(lb, "rec", &a), 1);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lc), 0);
	/* Not the record of a dead member. */
	claimed_dead(lc, &far, 5);
	forget_sent();
	arrive_bytes(lb, "want", "ids", ids, NODE_ID_LEN);
	ck_assert_uint_eq(fake_link_nsent(lb), 0);
}
END_TEST

START_TEST(test_replies_stop_when_link_is_full)
{
	uint8_t	id[NODE_ID_LEN];

	learn(&far, 5, NULL);
	memcpy(id, far.pk, NODE_ID_LEN);
	fake_link_queue(lb, MAX_MESSAGE / 2 + 1);
	arrive_bytes(lb, "dig", "d", id, 0);
	arrive_bytes(lb, "want", "ids", id, NODE_ID_LEN);
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 0);
	/* Half the limit queued is still within it. */
	fake_link_queue(lb, MAX_MESSAGE / 2);
	arrive_bytes(lb, "want", "ids", id, NODE_ID_LEN);
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 1);
	arrive_bytes(lb, "dig", "d", id, 0);
	ck_assert_uint_eq(sent_about(lb, "rec", &far), 2);
	ck_assert_uint_eq(sent_about(lb, "rec", &self), 1);
}
END_TEST

/* Digests sent on our links. */
static size_t
digests(void)
{
	return fake_link_count(la, "dig") + fake_link_count(lb, "dig") +
	    fake_link_count(lc, "dig");
}

static bool
digests_at_least(void *arg)
{
	return digests() >= *(size_t *)arg;
}

START_TEST(test_digest_to_one_neighbour_each_interval)
{
	size_t	want = 1;

	/* The first tick exchanges, with one neighbour only. */
	ck_assert(loop_until(base, digests_at_least, &want, 1000));
	ck_assert_uint_eq(digests(), 1);
	want = 2;
	ck_assert(loop_until(base, digests_at_least, &want, 1000));
	ck_assert_uint_eq(digests(), 2);
}
END_TEST


START_TEST(test_stalled_loop_postpones_suspicions)
{
	struct in_state	 dead = { &far, MEMBER_DEAD };
	struct member	*m;
	size_t		 want;
	int64_t		 t1, deadline;

	learn(&far, 7, NULL);
	suspect_alone(&far);
	m = members_get(gossip_members(g), far.pk);
	deadline = m->deadline_ms;
	want = digests() + 1;
	/*
	 * Our loop does not run until well past far's deadline, and the
	 * timer's next tick comes over 500 ms late: far had no chance to
	 * refute meanwhile, nor we to hear it.
	 */
	stall_process(3 * SUSPECT_MS + 600);
	t1 = clock_ms();
	ck_assert(loop_until(base, digests_at_least, &want, 1000));
	ck_assert_int_eq(state_of(&far), MEMBER_SUSPECT);
	ck_assert_int_ge(m->deadline_ms, deadline + 500);
	ck_assert_msg(loop_until(base, reached, &dead, 3 * SUSPECT_MS + 1000),
	    "a suspect did not turn dead");
	ck_assert_int_ge(clock_ms() - t1, SUSPECT_MS);
}
END_TEST

START_TEST(test_suspicion_kept_to_its_deadline)
{
	struct in_state	dead = { &far, MEMBER_DEAD };
	size_t		want = 1;
	int64_t		t0;

	/* Exchanges far apart: the timer must be set for the deadline. */
	gossip_free(g);
	par.gossip_interval = 20 * 1000;
	start();
	ck_assert(loop_until(base, digests_at_least, &want, 1000));
	learn(&far, 7, NULL);
	suspect_alone(&far);
	t0 = clock_ms();
	ck_assert_msg(loop_until(base, reached, &dead, 3 * SUSPECT_MS + 1000),
	    "a suspect did not turn dead at its deadline");
	ck_assert_int_ge(clock_ms() - t0, 3 * SUSPECT_MS - CLOCK_SLACK_MS);
}
END_TEST

static bool
forgot_one(void *arg)
{
	(void)arg;
	return nforgot >= 1;
}

START_TEST(test_dead_member_expires)
{
	gossip_free(g);
	par.member_expire = 100;
	start();
	learn(&a, 5, NULL);
	learn(&far, 5, NULL);
	claimed_dead(lb, &far, 5);
	ck_assert_msg(loop_until(base, forgot_one, NULL, 1000),
	    "a dead member was not forgotten");
	ck_assert_int_eq(nforgot, 1);
	ck_assert_mem_eq(forgot[0], far.pk, NODE_ID_LEN);
	ck_assert_ptr_null(members_get(gossip_members(g), far.pk));
	/* The living stay, and so do we. */
	loop_for(base, 250);
	ck_assert_int_eq(nforgot, 1);
	ck_assert_int_eq(state_of(&a), MEMBER_ALIVE);
	ck_assert_uint_eq(members_count(gossip_members(g)), 2);
}
END_TEST

START_TEST(test_reset_forgets_everyone)
{
	struct record	r;
	uint64_t	inc = gossip_self(g)->incarnation;
	bool		fa, ff;

	learn(&a, 5, NULL);
	learn(&far, 5, NULL);
	gossip_reset(g);
	ck_assert_int_eq(nforgot, 2);
	fa = memcmp(forgot[0], a.pk, NODE_ID_LEN) == 0 ||
	    memcmp(forgot[1], a.pk, NODE_ID_LEN) == 0;
	ff = memcmp(forgot[0], far.pk, NODE_ID_LEN) == 0 ||
	    memcmp(forgot[1], far.pk, NODE_ID_LEN) == 0;
	ck_assert(fa && ff);
	ck_assert_uint_eq(members_count(gossip_members(g)), 1);
	republished(inc, &r);
	ck_assert(!r.left);
}
END_TEST

START_TEST(test_services_change_resigns)
{
	struct record_service	svc[2];
	struct record		r;
	uint64_t		inc = gossip_self(g)->incarnation;

	memset(svc, 0, sizeof(svc));
	snprintf(svc[0].name, sizeof(svc[0].name), "echo");
	gossip_set_services(g, svc, 1);
	republished(inc, &r);
	ck_assert_int_eq(r.nservices, 1);
	ck_assert_str_eq(r.services[0].name, "echo");
	/* The same set: nothing to say. */
	inc = gossip_self(g)->incarnation;
	gossip_set_services(g, svc, 1);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 1);
	/* Another: said again. */
	forget_sent();
	snprintf(svc[1].name, sizeof(svc[1].name), "time");
	snprintf(svc[1].group, sizeof(svc[1].group), "lab");
	gossip_set_services(g, svc, 2);
	republished(inc, &r);
	ck_assert_int_eq(r.nservices, 2);
	ck_assert_str_eq(r.services[1].group, "lab");
}
END_TEST

START_TEST(test_topics_change_resigns)
{
	char		topics[1][TOPIC_MAX + 1];
	struct record	r;
	uint64_t	inc = gossip_self(g)->incarnation;

	memset(topics, 0, sizeof(topics));
	snprintf(topics[0], sizeof(topics[0]), "sensor.*");
	gossip_set_topics(g, topics, 1);
	republished(inc, &r);
	ck_assert_int_eq(r.ntopics, 1);
	ck_assert_str_eq(r.topics[0], "sensor.*");
	inc = gossip_self(g)->incarnation;
	gossip_set_topics(g, topics, 1);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 1);
}
END_TEST

START_TEST(test_tags_change_resigns)
{
	struct tagset	 tags;
	struct record	 r;
	const char	*why;
	uint64_t	 inc = gossip_self(g)->incarnation;

	memset(&tags, 0, sizeof(tags));
	ck_assert_int_eq(tagset_set(&tags, "zone", "eu-1", &why), 0);
	gossip_set_tags(g, &tags);
	republished(inc, &r);
	ck_assert_int_eq(r.tags.n, 1);
	ck_assert_str_eq(tagset_get(&r.tags, "zone"), "eu-1");
	/* The same tags: nothing to say. */
	inc = gossip_self(g)->incarnation;
	gossip_set_tags(g, &tags);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(la, "rec"), 1);
	/* None at all: said again, without the field. */
	forget_sent();
	tagset_clear(&tags);
	gossip_set_tags(g, &tags);
	republished(inc, &r);
	ck_assert_int_eq(r.tags.n, 0);
}
END_TEST

START_TEST(test_leave_floods_left_record)
{
	struct record	r;
	uint64_t	inc = gossip_self(g)->incarnation;

	gossip_leave(g);
	republished(inc, &r);
	ck_assert(r.left);
	ck_assert_int_eq(members_self(gossip_members(g))->state, MEMBER_LEFT);
	/* Gone on purpose: a claim is not refuted. */
	forget_sent();
	inc = gossip_self(g)->incarnation;
	arrive_claim(la, "dead", self.pk, inc, HOPS);
	ck_assert_uint_eq(gossip_self(g)->incarnation, inc);
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 0);
	/* Joining another network: back, not leaving. */
	gossip_reset(g);
	republished(inc, &r);
	ck_assert(!r.left);
}
END_TEST

/* Gossip again, with the flood bounds of par. */
static void
restart(void)
{
	gossip_free(g);
	start();
}

START_TEST(test_new_identities_per_link)
{
	struct tnode		 n[5];
	struct record		 r;
	struct gossip_stats	 st;
	int			 i;

	par.new_members_burst = 3;
	par.new_members_rate = RATE_PER_S / 10;
	restart();
	for (i = 0; i < 5; i++) {
		tnode_new(&n[i], "n");
		tnode_record(&n[i], 1, &r);
		arrive_rec(la, &n[i], &r, HOPS);
	}
	/* Three taken and passed on; two dropped, unchecked. */
	for (i = 0; i < 5; i++)
		ck_assert((members_get(gossip_members(g), n[i].pk) != NULL) ==
		    (i < 3));
	ck_assert_uint_eq(fake_link_count(lb, "rec"), 3);
	gossip_stats(g, &st);
	ck_assert_uint_eq(st.records_throttled, 2);
	/* Another link has its own bucket. */
	tnode_record(&n[3], 1, &r);
	arrive_rec(lb, &n[3], &r, HOPS);
	ck_assert_ptr_nonnull(members_get(gossip_members(g), n[3].pk));
	/* Newer records of known nodes, and a node's own, are not counted. */
	tnode_record(&n[0], 2, &r);
	arrive_rec(la, &n[0], &r, HOPS);
	ck_assert_uint_eq(members_get(gossip_members(g), n[0].pk)->
	    rec.incarnation, 2);
	tnode_record(&a, 1, &r);
	arrive_rec(la, &a, &r, HOPS);
	ck_assert(members_get(gossip_members(g), a.pk)->confirmed);
	ck_assert_ptr_null(members_get(gossip_members(g), n[4].pk));
	gossip_stats(g, &st);
	ck_assert_uint_eq(st.records_throttled, 2);
}
END_TEST

/* The bytes of the messages sent on l. */
static size_t
bytes_sent(const struct link *l)
{
	size_t	i, len, sum = 0;

	for (i = 0; i < fake_link_nsent(l); i++) {
		(void)fake_link_sent(l, i, &len);
		sum += len;
	}
	return sum;
}

START_TEST(test_gossip_bytes_per_link)
{
	struct tnode		 n[16];
	struct record		 r;
	struct gossip_stats	 st;
	size_t			 before;
	int			 i;

	par.gossip_burst = 2000;
	par.gossip_rate = 1;		/* a thousandth of a byte a second */
	restart();
	for (i = 0; i < 16; i++) {
		tnode_new(&n[i], "n");
		tnode_record(&n[i], 1, &r);
		arrive_rec(la, &n[i], &r, 0);
	}
	forget_sent();
	/* b lacks everything: the answer stops at the budget. */
	arrive_bytes(lb, "dig", "d", NULL, 0);
	ck_assert_uint_gt(fake_link_count(lb, "rec"), 0);
	ck_assert_uint_lt(fake_link_count(lb, "rec"), 16);
	ck_assert_uint_le(bytes_sent(lb), 2000);
	/* So do records passed on; c, with a budget, gets them. */
	before = bytes_sent(lb);
	tnode_new(&n[0], "late");
	tnode_record(&n[0], 1, &r);
	arrive_rec(la, &n[0], &r, HOPS);
	ck_assert_uint_eq(bytes_sent(lb), before);
	ck_assert_uint_eq(fake_link_count(lc, "rec"), 1);
	gossip_stats(g, &st);
	ck_assert_uint_gt(st.sent_skipped, 0);
	/* Our own record goes out anyway. */
	gossip_leave(g);
	ck_assert_uint_gt(bytes_sent(lb), before);
	gossip_stats(g, &st);
	ck_assert_uint_ge(st.sent_bytes, bytes_sent(lb));
}
END_TEST

START_TEST(test_gossip_inbound_excess)
{
	struct tnode		 n;
	struct record		 r;
	struct gossip_stats	 st;
	int			 i, held = 0;

	/* Four times 1000 bytes at once, then four bytes a second. */
	par.gossip_burst = 1000;
	par.gossip_rate = RATE_PER_S;
	restart();
	for (i = 0; i < 40; i++) {
		tnode_new(&n, "n");
		tnode_record(&n, 1, &r);
		arrive_rec(la, &n, &r, 0);
		if (members_get(gossip_members(g), n.pk) != NULL)
			held++;
	}
	ck_assert_int_gt(held, 0);
	ck_assert_int_lt(held, 40);
	gossip_stats(g, &st);
	ck_assert_uint_eq(st.inbound_dropped, 40 - held);
	/* Another link's messages are still read. */
	tnode_record(&b, 1, &r);
	arrive_rec(lb, &b, &r, 0);
	ck_assert_ptr_nonnull(members_get(gossip_members(g), b.pk));
}
END_TEST

static void
client_gone(void *arg, struct ctl_conn *conn)
{
	(void)arg; (void)conn;
}

static const struct control_ops	ctl_ops = { client_gone };

/* A member as the members op lists it. */
struct listed {
	char	node[NODE_ID_STRLEN];
	char	state[16];
	bool	self;
};

static size_t
list_members(struct client *cl, uint64_t id, struct listed *out, size_t max)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*f, *v;
	struct cbor_field	 rf[4], mf[16];
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 len, n = 0;
	int			 nrf, nmf;
	char			 why[256];

	m = client_reply(cl, base, id, 2000);
	ck_assert_msg(m != NULL, "no reply to members");
	ck_assert_msg(reply_code(m, why, sizeof(why)) == PEER_OK,
	    "members: %s", why);
	f = ctl_msg_get(m, "result");
	nrf = cbor_scan_map(f->val, f->vallen, rf, 4);
	ck_assert_int_eq(nrf, 1);
	v = cbor_field_get(rf, nrf, "members");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_array_iter(v->val, v->vallen, &it));
	while (cbor_iter_next(&it, &item, &len)) {
		ck_assert_uint_lt(n, max);
		nmf = cbor_scan_map(item, len, mf, 16);
		ck_assert_int_eq(nmf, 12);
		v = cbor_field_get(mf, nmf, "node");
		ck_assert(v != NULL && cbor_read_name(v->val, v->vallen,
		    out[n].node, sizeof(out[n].node), NULL));
		v = cbor_field_get(mf, nmf, "state");
		ck_assert(v != NULL && cbor_read_name(v->val, v->vallen,
		    out[n].state, sizeof(out[n].state), NULL));
		v = cbor_field_get(mf, nmf, "self");
		ck_assert(v != NULL && cbor_read_bool(v->val, v->vallen,
		    &out[n].self));
		n++;
	}
	return n;
}

/* The entry of n in what the members op listed. */
static const struct listed *
listed(const struct listed *l, size_t n, const struct tnode *node)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(l[i].node, node->idstr) == 0)
			return &l[i];
	ck_abort_msg("%s not listed", node->name);
	return NULL;
}

START_TEST(test_members_op_lists_states)
{
	struct control_params	 cp;
	struct control		*ctl;
	struct client		*cl;
	struct cbor_buf		*req;
	struct listed		 l[8];
	struct record		 r;
	char			 dir[128], path[192];
	size_t			 n;

	tmpdir_make(dir, sizeof(dir), "gossip");
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	memset(&cp, 0, sizeof(cp));
	control_params_init(&cp, path);
	cp.max_message = MAX_MESSAGE;
	cp.max_clients = 4;
	ctl = control_open(base, &cp, &ctl_ops, NULL);
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(control_add_ops(ctl, gossip_ctl_ops, g), 0);
	cl = client_open(path);

	tnode_record(&a, 5, &r);
	snprintf(r.groups[0], sizeof(r.groups[0]), "lab");
	r.ngroups = 1;
	learn(&a, 0, &r);
	learn(&far, 5, NULL);
	claimed_dead(lb, &far, 5);
	tnode_record(&x, 5, &r);
	r.left = true;
	learn(&x, 0, &r);

	(void)client_begin(cl, "members", 1, 0);
	client_send(cl);
	n = list_members(cl, 1, l, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(listed(l, n, &self)->state, "alive");
	ck_assert(listed(l, n, &self)->self);
	ck_assert_str_eq(listed(l, n, &a)->state, "alive");
	ck_assert(!listed(l, n, &a)->self);
	ck_assert_str_eq(listed(l, n, &far)->state, "dead");
	ck_assert_str_eq(listed(l, n, &x)->state, "left");

	/* Those of one group. */
	req = client_begin(cl, "members", 2, 1);
	cbor_put_text(req, "group");
	cbor_put_text(req, "lab");
	client_send(cl);
	n = list_members(cl, 2, l, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(l[0].node, a.idstr);

	client_close(cl);
	control_free(ctl);
	tmpdir_remove(dir);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("gossip");
	TCase	*tc = tcase_create("gossip");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_link_up_gets_our_digest);
	tcase_add_test(tc, test_new_record_floods_to_other_links);
	tcase_add_test(tc, test_hop_zero_taken_not_passed_on);
	tcase_add_test(tc, test_bad_signature_dropped);
	tcase_add_test(tc, test_claim_probed_not_believed);
	tcase_add_test(tc, test_claim_alive_waits_the_gap);
	tcase_add_test(tc, test_claim_refused_is_dead);
	tcase_add_test(tc, test_claim_silent_is_suspect_from_the_first);
	tcase_add_test(tc, test_claim_nothing_to_probe_two_claimants);
	tcase_add_test(tc, test_claims_throttled);
	tcase_add_test(tc, test_claims_at_other_incarnation_ignored);
	tcase_add_test(tc, test_claim_about_us_refuted);
	tcase_add_test(tc, test_claim_not_at_our_incarnation_ignored);
	tcase_add_test(tc, test_our_record_from_elsewhere_outdone);
	tcase_add_test(tc, test_claim_against_answering_link_told_to_member);
	tcase_add_test(tc, test_sus_about_linked_member_probed_and_confirmed);
	tcase_add_test(tc, test_by_only_shortens_our_suspicion);
	tcase_add_test(tc, test_lost_link_probed_refused_is_dead);
	tcase_add_test(tc, test_lost_link_silent_is_suspect_then_dead);
	tcase_add_test(tc, test_claim_probes_again_in_a_silent_round);
	tcase_add_test(tc, test_lost_link_round_timer_suspects);
	tcase_add_test(tc, test_lost_link_helper_reaches_it_alive);
	tcase_add_test(tc, test_suspect_refutes_in_time);
	tcase_add_test(tc, test_no_probe_when_closed_on_purpose);
	tcase_add_test(tc, test_no_address_probed_through_others);
	tcase_add_test(tc, test_no_address_nobody_to_ask_suspected_at_once);
	tcase_add_test(tc, test_quiet_link_probed);
	tcase_add_test(tc, test_probe_outcome_reported);
	tcase_add_test(tc, test_no_evidence_while_leaving);
	tcase_add_test(tc, test_probe_outcome_for_the_probed_record_only);
	tcase_add_test(tc, test_unconfirmed_suspicion_lasts_longest);
	tcase_add_test(tc, test_confirmed_suspicion_shorter);
	tcase_add_test(tc, test_digest_answered_both_ways);
	tcase_add_test(tc, test_digest_saying_we_failed_refuted);
	tcase_add_test(tc, test_digest_told_of_the_dead);
	tcase_add_test(tc, test_want_answered_once_each);
	tcase_add_test(tc, test_replies_stop_when_link_is_full);
	tcase_add_test(tc, test_digest_to_one_neighbour_each_interval);
	tcase_add_test(tc, test_stalled_loop_postpones_suspicions);
	tcase_add_test(tc, test_suspicion_kept_to_its_deadline);
	tcase_add_test(tc, test_dead_member_expires);
	tcase_add_test(tc, test_reset_forgets_everyone);
	tcase_add_test(tc, test_services_change_resigns);
	tcase_add_test(tc, test_topics_change_resigns);
	tcase_add_test(tc, test_tags_change_resigns);
	tcase_add_test(tc, test_leave_floods_left_record);
	tcase_add_test(tc, test_new_identities_per_link);
	tcase_add_test(tc, test_gossip_bytes_per_link);
	tcase_add_test(tc, test_gossip_inbound_excess);
	tcase_add_test(tc, test_members_op_lists_states);
	suite_add_tcase(s, tc);
	return s;
}
