/* SPDX-License-Identifier: ISC */
/*
 * gossip.c: membership over the mesh.
 *
 * Records flood: a node that learns a newer record passes it to its
 * other links, with a hop limit, and the (id, incarnation) order makes
 * every copy after the first a no-op.  Claims that a node is suspect or
 * dead flood the same way.  Every gossip_interval a node sends a digest
 * of what it knows to one random neighbour, and each side then sends
 * the other what it lacks: that heals what flooding missed, and is how
 * a new node learns everyone (peer exchange).
 *
 * A link that fails to a live member is probed by dialing the member
 * once: refused means its process is gone, so it is dead at once; no
 * answer makes it suspect, and dead if it does not refute in
 * suspect_timeout.  The overlay's dials are probes too.  A node refutes
 * a claim about itself by signing a record with a higher incarnation.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "gossip.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "proto.h"

#define GOSSIP_HOPS		16	/* a flood goes this many links at most */
#define GOSSIP_TICK_MS		100	/* suspicion granularity */
#define DIGEST_ENTRY		(NODE_ID_LEN + 8 + 1)

struct gossip {
	struct gossip_params	 par;
	struct mesh		*mesh;
	const struct gossip_ops	*ops;
	void			*arg;
	struct members		*members;
	struct record		 self;
	struct nodemap		*probes;	/* unsigned: next address */
	struct event		*tick;
	int64_t			 next_exchange, next_expire;
	struct cbor_buf		 out;
};

/* Sends the message built in g->out on l; a closed link just drops it. */
static void
send_out(struct gossip *g, struct link *l)
{
	if (!g->out.failed && link_state(l) == LINK_UP)
		(void)link_send(l, g->out.data, g->out.len);
}

/*
 * Sends g->out on every up link but one.  A send can close a link (its
 * queue full), and closing can make gossip build another message in
 * g->out, so the message is copied first, and each link is checked
 * before it is used: closed links stay valid until the loop returns.
 */
static void
flood_out(struct gossip *g, struct link *except)
{
	struct link	*links[512];
	uint8_t		*msg;
	size_t		 i, n, len = g->out.len;

	if (g->out.failed || (msg = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(msg, g->out.data, len);
	n = mesh_links(g->mesh, links, 512);
	for (i = 0; i < n; i++)
		if (links[i] != except && link_state(links[i]) == LINK_UP)
			(void)link_send(links[i], msg, len);
	free(msg);
}

/* Replies to one peer stop here; the next exchange sends the rest. */
static bool
reply_budget_spent(struct gossip *g, struct link *l)
{
	return link_state(l) != LINK_UP ||
	    link_queued(l) > g->par.max_message / 2;
}

static void
put_rec(struct gossip *g, const struct member *m, uint64_t hops)
{
	cbor_buf_reset(&g->out);
	cbor_put_map(&g->out, 3);
	cbor_put_text(&g->out, "t");
	cbor_put_text(&g->out, "rec");
	cbor_put_text(&g->out, "r");
	cbor_put_bytes(&g->out, m->raw, m->rawlen);
	cbor_put_text(&g->out, "h");
	cbor_put_uint(&g->out, hops);
}

static void
put_claim(struct gossip *g, const char *type, const uint8_t *id, uint64_t inc,
    uint64_t hops)
{
	cbor_buf_reset(&g->out);
	cbor_put_map(&g->out, 4);
	cbor_put_text(&g->out, "t");
	cbor_put_text(&g->out, type);
	cbor_put_text(&g->out, "id");
	cbor_put_bytes(&g->out, id, NODE_ID_LEN);
	cbor_put_text(&g->out, "inc");
	cbor_put_uint(&g->out, inc);
	cbor_put_text(&g->out, "h");
	cbor_put_uint(&g->out, hops);
}

/* Signs r as our record, stores it, and floods it. */
static int
publish_self(struct gossip *g)
{
	struct cbor_buf	 b = { 0 };
	int		 rc;

	record_sign(&g->self, g->par.id->sk, &b);
	rc = b.failed ? -1 : members_set_self(g->members, b.data, b.len,
	    clock_ms());
	cbor_buf_free(&b);
	if (rc == -1) {
		log_warnx("gossip: cannot sign our record");
		return -1;
	}
	put_rec(g, members_self(g->members), GOSSIP_HOPS);
	flood_out(g, NULL);
	return 0;
}

/*
 * Our next incarnation: above both ours and floor, and the wall-clock
 * milliseconds if those are larger, so restarts stay in order.  The
 * caller makes sure neither is UINT64_MAX.
 */
static uint64_t
next_incarnation(const struct gossip *g, uint64_t floor)
{
	uint64_t	next;

	next = (floor > g->self.incarnation ? floor : g->self.incarnation) + 1;
	return clock_wall_ms() > next ? clock_wall_ms() : next;
}

/*
 * Signs a record newer than inc, ours or one someone holds of us: the
 * answer to a claim that we failed.
 */
static void
refute(struct gossip *g, uint64_t inc)
{
	uint64_t	next;

	if (g->self.left || inc == UINT64_MAX ||
	    g->self.incarnation == UINT64_MAX)
		return;
	next = next_incarnation(g, inc);
	log_info("gossip: refuting a claim that we failed (incarnation %"
	    PRIu64 " -> %" PRIu64 ")", g->self.incarnation, next);
	g->self.incarnation = next;
	(void)publish_self(g);
}

/* Tells the owner that m changed; via: where its new record came from. */
static void
member_changed(struct gossip *g, const struct member *m, const uint8_t *via)
{
	g->ops->member(g->arg, m, via);
}

static void
forgotten(const struct member *m, void *arg)
{
	struct gossip	*g = arg;

	nodemap_del(g->probes, m->rec.id);
	g->ops->forgotten(g->arg, m->rec.id);
}

/* Declares m dead (from probing or a timed-out suspicion) and floods it. */
static void
declare_dead(struct gossip *g, struct member *m, const char *why)
{
	if (!members_dead(g->members, m->rec.id, m->rec.incarnation,
	    clock_ms()))
		return;
	log_info("member %s (%.12s) dead: %s", m->rec.name, m->idstr, why);
	member_changed(g, m, NULL);
	put_claim(g, "dead", m->rec.id, m->rec.incarnation, GOSSIP_HOPS);
	flood_out(g, NULL);
}

static void
died_cb(struct member *m, void *arg)
{
	struct gossip	*g = arg;

	log_info("member %s (%.12s) dead: did not refute suspicion in time",
	    m->rec.name, m->idstr);
	member_changed(g, m, NULL);
	put_claim(g, "dead", m->rec.id, m->state_inc, GOSSIP_HOPS);
	flood_out(g, NULL);
}

/* Suspects m (no answer from it) and floods the claim. */
static void
suspect(struct gossip *g, struct member *m, const char *why)
{
	if (!members_suspect(g->members, m->rec.id, m->rec.incarnation,
	    clock_ms(), clock_ms() + (int64_t)g->par.suspect_timeout))
		return;
	log_info("member %s (%.12s) suspect: %s", m->rec.name, m->idstr, why);
	member_changed(g, m, NULL);
	put_claim(g, "sus", m->rec.id, m->rec.incarnation, GOSSIP_HOPS);
	flood_out(g, NULL);
}

/* A probe of a member under way. */
struct probe {
	struct gossip	*g;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc;
	gossip_probe_fn	*fn;
	void		*arg;
};

/* Refused: its process is gone, dead.  No answer: suspect. */
static void
probe_done(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct probe	*p = arg;
	struct gossip	*g = p->g;
	struct member	*m = members_get(g->members, p->id);

	/* Leaving, our dials end because we close them: no evidence. */
	if (g->self.left) {
		free(p);
		return;
	}
	if (m != NULL && m->state == MEMBER_ALIVE &&
	    m->rec.incarnation == p->inc) {
		if (res == MESH_DIAL_REFUSED)
			declare_dead(g, m, reason);
		else if (res == MESH_DIAL_FAILED)
			suspect(g, m, reason);
	}
	if (p->fn != NULL)
		p->fn(p->id, res, p->arg);
	free(p);
}

int
gossip_probe(struct gossip *g, const uint8_t *id, gossip_probe_fn *fn,
    void *arg)
{
	struct member	*m = members_get(g->members, id);
	struct probe	*p;
	unsigned	*next;

	if (m == NULL || m->self || m->rec.naddrs == 0 ||
	    (next = nodemap_put(g->probes, id)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->g = g;
	memcpy(p->id, id, NODE_ID_LEN);
	p->inc = m->rec.incarnation;
	p->fn = fn;
	p->arg = arg;
	if (mesh_dial_member(g->mesh, id,
	    m->rec.addrs[(*next)++ % (unsigned)m->rec.naddrs], probe_done,
	    p) == -1) {
		free(p);
		return -1;
	}
	return 0;
}

void
gossip_link_down(struct gossip *g, struct link *l, enum mesh_reason why)
{
	struct member	*m = members_get(g->members, link_remote(l)->id);

	if (m == NULL || m->self || m->state != MEMBER_ALIVE ||
	    why == MESH_ON_PURPOSE || mesh_link_to(g->mesh, m->rec.id) != NULL)
		return;
	/* Nothing to probe: suspect it, and let it refute. */
	if (m->rec.naddrs == 0) {
		suspect(g, m, mesh_reason_name(why));
		return;
	}
	/* Its process gone, or just this link?  Dial it once to find out. */
	log_debug("member %s (%.12s): link %s, probing", m->rec.name,
	    m->idstr, mesh_reason_name(why));
	(void)gossip_probe(g, m->rec.id, NULL, NULL);
}

/* Our digest: id, incarnation and state of every member, fixed width. */
static void
put_digest(struct gossip *g)
{
	struct member	*m;
	uint8_t		*d, *e;
	size_t		 i, n = members_count(g->members);
	int		 k;

	if ((d = malloc(n * DIGEST_ENTRY + 1)) == NULL) {
		g->out.failed = true;
		return;
	}
	for (i = 0; i < n; i++) {
		m = members_at(g->members, i);
		e = d + i * DIGEST_ENTRY;
		memcpy(e, m->rec.id, NODE_ID_LEN);
		for (k = 0; k < 8; k++)
			e[NODE_ID_LEN + k] = (uint8_t)(m->rec.incarnation >>
			    (56 - 8 * k));
		e[NODE_ID_LEN + 8] = (uint8_t)m->state;
	}
	cbor_buf_reset(&g->out);
	cbor_put_map(&g->out, 2);
	cbor_put_text(&g->out, "t");
	cbor_put_text(&g->out, "dig");
	cbor_put_text(&g->out, "d");
	cbor_put_bytes(&g->out, d, n * DIGEST_ENTRY);
	free(d);
}

void
gossip_link_up(struct gossip *g, struct link *l)
{
	/* Peer exchange: each side learns what the other knows. */
	put_digest(g);
	send_out(g, l);
}

static int
digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NODE_ID_LEN);
}

static uint64_t
digest_inc(const uint8_t *e)
{
	uint64_t	v = 0;
	int		k;

	for (k = 0; k < 8; k++)
		v = v << 8 | e[NODE_ID_LEN + k];
	return v;
}

/* A neighbour's digest: send what it lacks, ask for what we lack. */
static void
on_digest(struct gossip *g, struct link *l, const uint8_t *d, size_t len)
{
	struct member	*m;
	uint8_t		*sorted, *want, *e;
	size_t		 n, i, nwant = 0;
	uint64_t	 inc;
	int		 state;

	if (len % DIGEST_ENTRY != 0 || len / DIGEST_ENTRY > MEMBERS_MAX) {
		log_warnx("link %s: malformed digest, ignored", link_name(l));
		return;
	}
	n = len / DIGEST_ENTRY;
	if ((sorted = malloc(len + 1)) == NULL ||
	    (want = malloc(n * NODE_ID_LEN + 1)) == NULL) {
		free(sorted);
		return;
	}
	memcpy(sorted, d, len);
	qsort(sorted, n, DIGEST_ENTRY, digest_cmp);
	for (i = 0; i < n; i++) {
		e = sorted + i * DIGEST_ENTRY;
		inc = digest_inc(e);
		state = e[NODE_ID_LEN + 8];
		m = members_get(g->members, e);
		if (m == NULL || m->rec.incarnation < inc) {
			/*
			 * Only the living are worth fetching: a dead member's
			 * record would come back as alive, and one we have
			 * let expire would never go away.
			 */
			if (state == MEMBER_ALIVE || state == MEMBER_SUSPECT)
				memcpy(want + nwant++ * NODE_ID_LEN, e,
				    NODE_ID_LEN);
			continue;
		}
		if (m->rec.incarnation != inc)
			continue;
		/* Same record, but they believe it failed. */
		if (state == MEMBER_DEAD || state == MEMBER_SUSPECT) {
			if (m->self)
				refute(g, g->self.incarnation);
			else if (state == MEMBER_DEAD &&
			    members_dead(g->members, e, inc, clock_ms())) {
				log_info("member %s (%.12s) dead: so says %s",
				    m->rec.name, m->idstr, link_name(l));
				member_changed(g, m, NULL);
			}
		}
	}
	for (i = 0; i < members_count(g->members) &&
	    !reply_budget_spent(g, l); i++) {
		m = members_at(g->members, i);
		e = bsearch(m->rec.id, sorted, n, DIGEST_ENTRY, digest_cmp);
		if (e == NULL || digest_inc(e) < m->rec.incarnation) {
			if (m->state == MEMBER_DEAD) {
				/*
				 * They hold an older record as alive: send
				 * ours and say it is dead, or it would come
				 * back to life from them once we expire it.
				 */
				if (e == NULL || e[NODE_ID_LEN + 8] ==
				    MEMBER_DEAD || e[NODE_ID_LEN + 8] ==
				    MEMBER_LEFT)
					continue;
				put_rec(g, m, GOSSIP_HOPS);
				send_out(g, l);
				put_claim(g, "dead", m->rec.id,
				    m->rec.incarnation, GOSSIP_HOPS);
				send_out(g, l);
				continue;
			}
			put_rec(g, m, GOSSIP_HOPS);
			send_out(g, l);
		} else if (digest_inc(e) == m->rec.incarnation &&
		    m->state == MEMBER_DEAD && e[NODE_ID_LEN + 8] ==
		    MEMBER_ALIVE) {
			put_claim(g, "dead", m->rec.id, m->state_inc,
			    GOSSIP_HOPS);
			send_out(g, l);
		}
	}
	if (nwant > 0) {
		cbor_buf_reset(&g->out);
		cbor_put_map(&g->out, 2);
		cbor_put_text(&g->out, "t");
		cbor_put_text(&g->out, "want");
		cbor_put_text(&g->out, "ids");
		cbor_put_bytes(&g->out, want, nwant * NODE_ID_LEN);
		send_out(g, l);
	}
	free(sorted);
	free(want);
}

static void
on_want(struct gossip *g, struct link *l, const uint8_t *wire, size_t len)
{
	struct member	*m;
	uint8_t		*ids;
	size_t		 i, n = len / NODE_ID_LEN;

	if (len % NODE_ID_LEN != 0 || n > MEMBERS_MAX)
		return;
	/* wire is in the link's buffers, which a closing link frees. */
	if ((ids = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(ids, wire, len);
	/* Sorted, so that each is sent at most once. */
	qsort(ids, n, NODE_ID_LEN, digest_cmp);
	for (i = 0; i < n && !reply_budget_spent(g, l); i++) {
		if (i > 0 && memcmp(ids + i * NODE_ID_LEN,
		    ids + (i - 1) * NODE_ID_LEN, NODE_ID_LEN) == 0)
			continue;
		if ((m = members_get(g->members, ids + i * NODE_ID_LEN)) !=
		    NULL && m->state != MEMBER_DEAD) {
			put_rec(g, m, GOSSIP_HOPS);
			send_out(g, l);
		}
	}
	free(ids);
}

static void
on_rec(struct gossip *g, struct link *l, const uint8_t *raw, size_t len,
    uint64_t hops)
{
	struct member		*m;
	enum members_result	 r;
	const char		*why;

	r = members_offer(g->members, raw, len, clock_ms(), &m, &why);
	if (m != NULL && m->self) {
		struct record	theirs;

		/*
		 * A record of ours that we did not sign this run, as new
		 * as ours: our clock went back across a restart.  Outdo it.
		 */
		if (record_open(raw, len, &theirs, &why) == 0 &&
		    theirs.incarnation >= g->self.incarnation &&
		    r != MEMBERS_SAME)
			refute(g, theirs.incarnation);
		return;
	}
	if (r == MEMBERS_INVALID) {
		log_warnx("link %s: dropped a record: %s", link_name(l), why);
		return;
	}
	if (r != MEMBERS_NEW && r != MEMBERS_UPDATED)
		return;
	/* Calls to it that find no direct link are relayed this way. */
	member_changed(g, m, link_remote(l)->id);
	if (m->state == MEMBER_LEFT)
		log_info("member %s (%.12s) left", m->rec.name, m->idstr);
	else
		log_info("member %s (%.12s) %s, incarnation %" PRIu64,
		    m->rec.name, m->idstr, r == MEMBERS_NEW ? "joined" :
		    "alive", m->rec.incarnation);
	if (hops > 0) {
		put_rec(g, m, hops - 1);
		flood_out(g, l);
	}
}

static void
on_claim(struct gossip *g, struct link *l, bool dead, const uint8_t *id,
    uint64_t inc, uint64_t hops)
{
	struct member	*m = members_get(g->members, id);
	bool		 changed;

	if (m == NULL)
		return;
	if (m->self) {
		/* A claim above our incarnation is forged: nobody has it. */
		if (inc == g->self.incarnation)
			refute(g, inc);
		return;
	}
	changed = dead ? members_dead(g->members, id, inc, clock_ms()) :
	    members_suspect(g->members, id, inc, clock_ms(),
	    clock_ms() + (int64_t)g->par.suspect_timeout);
	if (!changed)
		return;
	member_changed(g, m, NULL);
	log_info("member %s (%.12s) %s: so says %s", m->rec.name, m->idstr,
	    dead ? "dead" : "suspect", link_name(l));
	if (hops > 0) {
		put_claim(g, dead ? "dead" : "sus", id, inc, hops - 1);
		flood_out(g, l);
	}
}

/* The hop count "h" a flood has left; a bad one is taken as the most. */
static uint64_t
read_hops(const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;
	uint64_t		 hops = 0;

	if ((v = cbor_field_get(f, nf, "h")) != NULL &&
	    (!cbor_read_uint(v->val, v->vallen, &hops) || hops > GOSSIP_HOPS))
		hops = GOSSIP_HOPS;
	return hops;
}

/* The byte string under key, or false. */
static bool
read_bytes(const struct cbor_field *f, int nf, const char *key,
    const uint8_t **p, size_t *n)
{
	const struct cbor_field	*v = cbor_field_get(f, nf, key);

	return v != NULL && cbor_read_bytes(v->val, v->vallen, p, n);
}

static void
msg_rec(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (read_bytes(f, nf, "r", &p, &n))
		on_rec(arg, l, p, n, read_hops(f, nf));
}

static void
msg_dig(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (read_bytes(f, nf, "d", &p, &n))
		on_digest(arg, l, p, n);
}

static void
msg_want(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (read_bytes(f, nf, "ids", &p, &n))
		on_want(arg, l, p, n);
}

/* "sus" and "dead". */
static void
msg_claim(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;
	const uint8_t		*p;
	size_t			 n;
	uint64_t		 inc;

	if (read_bytes(f, nf, "id", &p, &n) && n == NODE_ID_LEN &&
	    (v = cbor_field_get(f, nf, "inc")) != NULL &&
	    cbor_read_uint(v->val, v->vallen, &inc))
		on_claim(arg, l, type[0] == 'd', p, inc, read_hops(f, nf));
}

const struct mesh_handler gossip_handlers[] = {
	{ "dead",	msg_claim },
	{ "dig",	msg_dig },
	{ "rec",	msg_rec },
	{ "sus",	msg_claim },
	{ "want",	msg_want },
	{ NULL,		NULL },
};

static void
exchange(struct gossip *g)
{
	struct link	*links[512];
	size_t		 n = mesh_links(g->mesh, links, 512);

	if (n == 0)
		return;
	put_digest(g);
	send_out(g, links[randombytes_uniform((uint32_t)n)]);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gossip	*g = arg;
	int64_t		 now = clock_ms();

	(void)fd; (void)what;
	members_tick(g->members, now, died_cb, g);
	if (now >= g->next_exchange) {
		exchange(g);
		/* 80-120%, so that neighbours do not exchange in step. */
		g->next_exchange = now + (int64_t)g->par.gossip_interval *
		    (80 + (int64_t)randombytes_uniform(41)) / 100;
	}
	if (now >= g->next_expire) {
		(void)members_expire(g->members, now,
		    (int64_t)g->par.member_expire);
		/* Often enough that a short member_expire is kept to. */
		g->next_expire = now + (g->par.member_expire / 2 < 10000 ?
		    (int64_t)g->par.member_expire / 2 : 10000);
	}
}

struct gossip *
gossip_new(struct event_base *base, const struct gossip_params *p,
    struct mesh *mesh, const struct gossip_ops *ops, void *arg)
{
	struct gossip	*g;
	struct cbor_buf	 b = { 0 };
	struct timeval	 tv = { 0, GOSSIP_TICK_MS * 1000 };
	int		 i;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->probes = nodemap_new(sizeof(unsigned), MEMBERS_MAX)) == NULL) {
		free(g);
		log_warn("gossip");
		return NULL;
	}
	g->par = *p;
	g->mesh = mesh;
	g->ops = ops;
	g->arg = arg;
	memcpy(g->self.id, p->id->pk, NODE_ID_LEN);
	snprintf(g->self.name, sizeof(g->self.name), "%s", p->name);
	for (i = 0; i < p->naddrs && i < RECORD_ADDRS_MAX; i++)
		snprintf(g->self.addrs[g->self.naddrs++], ADDR_STRLEN, "%s",
		    p->addrs[i]);
	for (i = 0; i < p->ngroups && i < RECORD_GROUPS_MAX; i++)
		snprintf(g->self.groups[g->self.ngroups++],
		    sizeof(g->self.groups[0]), "%s", p->groups[i]);
	g->self.hub = p->hub;
	/* Wall-clock milliseconds: a restarted node always comes back newer. */
	g->self.incarnation = clock_wall_ms();
	g->self.started_at = p->started_at;
	record_sign(&g->self, p->id->sk, &b);
	if (b.failed || (g->members = members_new(b.data, b.len,
	    clock_ms())) == NULL) {
		log_warnx("gossip: cannot sign our record");
		cbor_buf_free(&b);
		gossip_free(g);
		return NULL;
	}
	cbor_buf_free(&b);
	members_on_forget(g->members, forgotten, g);
	g->tick = event_new(base, -1, EV_PERSIST, tick_cb, g);
	if (g->tick == NULL || event_add(g->tick, &tv) == -1) {
		log_warnx("gossip: cannot start the timer");
		gossip_free(g);
		return NULL;
	}
	return g;
}

void
gossip_free(struct gossip *g)
{
	if (g == NULL)
		return;
	if (g->tick != NULL)
		event_free(g->tick);
	members_free(g->members);
	nodemap_free(g->probes);
	cbor_buf_free(&g->out);
	free(g);
}

void
gossip_leave(struct gossip *g)
{
	g->self.left = true;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

static void
put_texts(struct cbor_buf *b, char *slots, size_t slotlen, int n)
{
	int	i;

	cbor_put_array(b, (size_t)n);
	for (i = 0; i < n; i++)
		cbor_put_text(b, slots + (size_t)i * slotlen);
}

static void
gossip_op_members(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct gossip		*g = arg;
	const struct cbor_field	*f;
	struct member		*m;
	struct link		*l;
	struct link_info	 li;
	struct cbor_buf		*b;
	char			 group[GROUP_NAME_MAX + 1];
	bool			 hubs = false;
	size_t			 i, n = 0;

	if (!ctl_arg_text(c, msg, "group", group, sizeof(group), false))
		return;
	if ((f = ctl_msg_get(msg, "hubs")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &hubs)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "hubs: not a boolean");
		return;
	}
#define WANTED(m)	((group[0] == '\0' || record_in_group(&(m)->rec, group)) \
			 && (!hubs || (m)->rec.hub))
	for (i = 0; i < members_count(g->members); i++)
		if (WANTED(members_at(g->members, i)))
			n++;
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "members");
	cbor_put_array(b, n);
	for (i = 0; i < members_count(g->members); i++) {
		m = members_at(g->members, i);
		if (!WANTED(m))
			continue;
		cbor_put_map(b, 11);
		cbor_put_text(b, "node");
		cbor_put_text(b, m->idstr);
		cbor_put_text(b, "name");
		cbor_put_text(b, m->rec.name);
		cbor_put_text(b, "state");
		cbor_put_text(b, member_state_name(m->state));
		cbor_put_text(b, "incarnation");
		cbor_put_uint(b, m->rec.incarnation);
		cbor_put_text(b, "addrs");
		put_texts(b, &m->rec.addrs[0][0], ADDR_STRLEN, m->rec.naddrs);
		cbor_put_text(b, "groups");
		put_texts(b, &m->rec.groups[0][0], GROUP_NAME_MAX + 1,
		    m->rec.ngroups);
		cbor_put_text(b, "hub");
		cbor_put_bool(b, m->rec.hub);
		cbor_put_text(b, "self");
		cbor_put_bool(b, m->self);
		cbor_put_text(b, "since_ms");
		cbor_put_uint(b, (uint64_t)(clock_ms() - m->since_ms));
		cbor_put_text(b, "started_at");
		cbor_put_uint(b, m->rec.started_at);
		cbor_put_text(b, "rtt_us");
		if ((l = mesh_link_to(g->mesh, m->rec.id)) != NULL &&
		    (link_info(l, &li), li.rtt_avg_us >= 0))
			cbor_put_uint(b, (uint64_t)li.rtt_avg_us);
		else
			cbor_put_null(b);
	}
#undef WANTED
	ctl_result_end(c);
}

const struct record *
gossip_self(const struct gossip *g)
{
	return &g->self;
}

void
gossip_reset(struct gossip *g)
{
	members_clear(g->members);	/* every provider but us is gone */
	/* A new incarnation for the new network, no longer leaving. */
	g->self.left = false;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

void
gossip_set_services(struct gossip *g, const struct record_service *svc, int n)
{
	if (n == g->self.nservices && memcmp(svc, g->self.services,
	    (size_t)n * sizeof(*svc)) == 0)
		return;
	memcpy(g->self.services, svc, (size_t)n * sizeof(*svc));
	g->self.nservices = n;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

void
gossip_set_topics(struct gossip *g, char (*topics)[TOPIC_MAX + 1], int n)
{
	if (n == g->self.ntopics && memcmp(topics, g->self.topics,
	    (size_t)n * sizeof(*topics)) == 0)
		return;
	memcpy(g->self.topics, topics, (size_t)n * sizeof(*topics));
	g->self.ntopics = n;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

const struct members *
gossip_members(const struct gossip *g)
{
	return g->members;
}

const struct ctl_op gossip_ctl_ops[] = {
	{ "members",	0,	gossip_op_members },
	{ NULL,		0,	NULL },
};
