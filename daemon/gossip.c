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
 * suspect_timeout.  A node refutes a claim about itself by signing a
 * record with a higher incarnation.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "call.h"
#include "cbor_buf.h"
#include "control.h"
#include "discover.h"
#include "gossip.h"
#include "link.h"
#include "listen.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "peerd.h"
#include "proto.h"
#include "serve.h"

#define GOSSIP_HOPS		16	/* a flood goes this many links at most */
#define GOSSIP_TICK_MS		100	/* suspicion and overlay granularity */
#define OVERLAY_EVERY_MS	1000	/* degree checks */
#define REDIAL_DEAD_MS		5000	/* partitions heal this fast */
#define REDIAL_DEAD_MAX_MS	300000	/* at worst this slowly */
#define REDIAL_DEAD_PER_TICK	2	/* dead members dialed a second */
#define CACHE_EVERY_MS		5000	/* peers.cache writes, at most */
#define CACHE_MAX		32	/* addresses kept there */
#define DIGEST_ENTRY		(NODE_ID_LEN + 8 + 1)

struct gossip {
	struct peerd		*d;
	struct members		*members;
	struct record		 self;
	struct event		*tick;
	int64_t			 next_exchange, next_overlay, next_expire;
	int64_t			 next_cache, next_cached_dial;
	bool			 cache_dirty;
	char			 cache[CACHE_MAX][HOST_MAX + 8];
	int			 ncache;
	struct cbor_buf		 out;
};

static int64_t
now_ms(void)
{
	return peerd_now_ms();
}

static uint64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
	n = mesh_links(g->d->mesh, links, 512);
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
	    link_queued(l) > g->d->conf.max_message / 2;
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

/* Our addresses as others can dial them: wildcards become interfaces. */
static void
self_addrs(struct gossip *g, struct record *r)
{
	struct listeners	*ls = g->d->listeners;
	struct ifaddrs		*ifa, *i;
	char			 host[ADDR_STRLEN], *colon;
	const char		*a;
	size_t			 k;

	r->naddrs = 0;
	for (k = 0; k < listeners_count(ls) && r->naddrs < RECORD_ADDRS_MAX;
	    k++) {
		a = listeners_addr(ls, k);
		if (strncmp(a, "0.0.0.0:", 8) != 0 && strncmp(a, "[::]:", 5) != 0) {
			snprintf(r->addrs[r->naddrs++], ADDR_STRLEN, "%s", a);
			continue;
		}
		if ((colon = strrchr(a, ':')) == NULL || getifaddrs(&ifa) == -1)
			continue;
		for (i = ifa; i != NULL && r->naddrs < RECORD_ADDRS_MAX;
		    i = i->ifa_next) {
			if (i->ifa_addr == NULL || (i->ifa_addr->sa_family !=
			    (a[0] == '[' ? AF_INET6 : AF_INET)))
				continue;
			addr_format(i->ifa_addr, host);
			/* Loopback and link-local are of no use to others. */
			if (strncmp(host, "127.", 4) == 0 ||
			    strncmp(host, "[::1]", 5) == 0 ||
			    strncmp(host, "[fe80", 5) == 0)
				continue;
			*strrchr(host, ':') = '\0';
			snprintf(r->addrs[r->naddrs++], ADDR_STRLEN, "%s%s",
			    host, colon);
		}
		freeifaddrs(ifa);
	}
}

/* Signs r as our record, stores it, and floods it. */
static int
publish_self(struct gossip *g)
{
	struct cbor_buf	 b = { 0 };
	int		 rc;

	record_sign(&g->self, g->d->id.sk, &b);
	rc = b.failed ? -1 : members_set_self(g->members, b.data, b.len,
	    now_ms());
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
	return wall_ms() > next ? wall_ms() : next;
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

static void
member_changed(struct gossip *g)
{
	g->cache_dirty = true;
}

/* A member died or left: callers waiting on it are told now. */
static void
member_down(struct gossip *g)
{
	member_changed(g);
	if (g->d->calls != NULL)
		calls_members_changed(g->d->calls);
	if (g->d->serve != NULL)
		serve_members_changed(g->d->serve);
}

/* Declares m dead (from probing or a timed-out suspicion) and floods it. */
static void
declare_dead(struct gossip *g, struct member *m, const char *why)
{
	if (!members_dead(g->members, m->rec.id, m->rec.incarnation, now_ms()))
		return;
	log_info("member %s (%.12s) dead: %s", m->rec.name, m->idstr, why);
	member_down(g);
	put_claim(g, "dead", m->rec.id, m->rec.incarnation, GOSSIP_HOPS);
	flood_out(g, NULL);
}

static void
died_cb(struct member *m, void *arg)
{
	struct gossip	*g = arg;

	log_info("member %s (%.12s) dead: did not refute suspicion in time",
	    m->rec.name, m->idstr);
	member_down(g);
	put_claim(g, "dead", m->rec.id, m->state_inc, GOSSIP_HOPS);
	flood_out(g, NULL);
}

/* What a probe of a member found. */
struct probe {
	struct gossip	*g;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc;
};

static void
probe_done(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct probe	*p = arg;
	struct gossip	*g = p->g;
	struct member	*m = members_get(g->members, p->id);

	/* A dead member that refuses: its process is gone, stop dialing. */
	if (m != NULL && m->state == MEMBER_DEAD) {
		if (res == MESH_DIAL_REFUSED)
			m->refused = true;
		else if (res == MESH_DIAL_FAILED)
			m->redial_ms = m->redial_ms == 0 ? REDIAL_DEAD_MS :
			    (m->redial_ms * 2 > REDIAL_DEAD_MAX_MS ?
			    REDIAL_DEAD_MAX_MS : m->redial_ms * 2);
	}

	if (m != NULL && m->state == MEMBER_ALIVE &&
	    m->rec.incarnation == p->inc) {
		if (res == MESH_DIAL_REFUSED)
			declare_dead(g, m, reason);
		else if (res == MESH_DIAL_FAILED &&
		    members_suspect(g->members, m->rec.id, m->rec.incarnation,
		    now_ms(), now_ms() + (int64_t)g->d->conf.suspect_timeout)) {
			log_info("member %s (%.12s) suspect: %s", m->rec.name,
			    m->idstr, reason);
			member_changed(g);
			put_claim(g, "sus", m->rec.id, m->rec.incarnation,
			    GOSSIP_HOPS);
			flood_out(g, NULL);
		}
	}
	free(p);
}

static void	dial_member(struct gossip *, struct member *);

void
gossip_link_down(struct gossip *g, struct link *l, bool intentional,
    const char *reason)
{
	struct member	*m;

	if (g == NULL || link_state(l) != LINK_CLOSED || link_up_since(l) == 0)
		return;
	m = members_get(g->members, link_remote(l)->id);
	if (m == NULL || m->self || m->state != MEMBER_ALIVE || intentional ||
	    mesh_link_to(g->d->mesh, m->rec.id) != NULL)
		return;
	if (m->rec.naddrs == 0) {
		/* Nothing to probe: suspect it, and let it refute. */
		if (members_suspect(g->members, m->rec.id, m->rec.incarnation,
		    now_ms(), now_ms() + (int64_t)g->d->conf.suspect_timeout)) {
			log_info("member %s (%.12s) suspect: %s", m->rec.name,
			    m->idstr, reason);
			member_changed(g);
			put_claim(g, "sus", m->rec.id, m->rec.incarnation,
			    GOSSIP_HOPS);
			flood_out(g, NULL);
		}
		return;
	}
	/* Its process gone, or just this link?  Dial it once to find out. */
	log_debug("member %s (%.12s): link lost (%s), probing", m->rec.name,
	    m->idstr, reason);
	dial_member(g, m);
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
	if (g == NULL)
		return;
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
			    members_dead(g->members, e, inc, now_ms())) {
				log_info("member %s (%.12s) dead: so says %s",
				    m->rec.name, m->idstr, link_name(l));
				member_down(g);
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
	size_t		 i;

	if (len % NODE_ID_LEN != 0 || len / NODE_ID_LEN > MEMBERS_MAX)
		return;
	/* wire is in the link's buffers, which a closing link frees. */
	if ((ids = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(ids, wire, len);
	for (i = 0; i < len / NODE_ID_LEN && !reply_budget_spent(g, l); i++)
		if ((m = members_get(g->members, ids + i * NODE_ID_LEN)) !=
		    NULL && m->state != MEMBER_DEAD && !m->sent_mark) {
			m->sent_mark = true;	/* each at most once */
			put_rec(g, m, GOSSIP_HOPS);
			send_out(g, l);
		}
	for (i = 0; i < members_count(g->members); i++)
		members_at(g->members, i)->sent_mark = false;
	free(ids);
}

static void
on_rec(struct gossip *g, struct link *l, const uint8_t *raw, size_t len,
    uint64_t hops)
{
	struct member		*m;
	enum members_result	 r;
	const char		*why;

	r = members_offer(g->members, raw, len, now_ms(), &m, &why);
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
	memcpy(m->via, link_remote(l)->id, NODE_ID_LEN);
	m->has_via = true;
	if (m->state == MEMBER_LEFT)
		member_down(g);
	else
		member_changed(g);
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
	changed = dead ? members_dead(g->members, id, inc, now_ms()) :
	    members_suspect(g->members, id, inc, now_ms(),
	    now_ms() + (int64_t)g->d->conf.suspect_timeout);
	if (!changed)
		return;
	if (dead)
		member_down(g);
	else
		member_changed(g);
	log_info("member %s (%.12s) %s: so says %s", m->rec.name, m->idstr,
	    dead ? "dead" : "suspect", link_name(l));
	if (hops > 0) {
		put_claim(g, dead ? "dead" : "sus", id, inc, hops - 1);
		flood_out(g, l);
	}
}

bool
gossip_message(struct gossip *g, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;
	const uint8_t		*p;
	size_t			 n;
	uint64_t		 hops = 0, inc = 0;

	if (strcmp(type, "rec") != 0 && strcmp(type, "sus") != 0 &&
	    strcmp(type, "dead") != 0 && strcmp(type, "dig") != 0 &&
	    strcmp(type, "want") != 0)
		return false;
	if (g == NULL)
		return true;
	if ((v = cbor_field_get(f, nf, "h")) != NULL &&
	    (!cbor_read_uint(v->val, v->vallen, &hops) || hops > GOSSIP_HOPS))
		hops = GOSSIP_HOPS;
	if (strcmp(type, "rec") == 0) {
		if ((v = cbor_field_get(f, nf, "r")) != NULL &&
		    cbor_read_bytes(v->val, v->vallen, &p, &n))
			on_rec(g, l, p, n, hops);
	} else if (strcmp(type, "dig") == 0) {
		if ((v = cbor_field_get(f, nf, "d")) != NULL &&
		    cbor_read_bytes(v->val, v->vallen, &p, &n))
			on_digest(g, l, p, n);
	} else if (strcmp(type, "want") == 0) {
		if ((v = cbor_field_get(f, nf, "ids")) != NULL &&
		    cbor_read_bytes(v->val, v->vallen, &p, &n))
			on_want(g, l, p, n);
	} else if ((v = cbor_field_get(f, nf, "id")) != NULL &&
	    cbor_read_bytes(v->val, v->vallen, &p, &n) && n == NODE_ID_LEN &&
	    (v = cbor_field_get(f, nf, "inc")) != NULL &&
	    cbor_read_uint(v->val, v->vallen, &inc))
		on_claim(g, l, type[0] == 'd', p, inc, hops);
	return true;
}

void
gossip_hold(struct gossip *g, const uint8_t *id, int64_t ms)
{
	struct member	*m;

	if (g != NULL && (m = members_get(g->members, id)) != NULL)
		m->hold_until_ms = ms > 0 ? now_ms() + ms : 0;
}

void
gossip_found(struct gossip *g, const uint8_t *id, const struct sockaddr *sa)
{
	struct member	*m;
	char		 addr[ADDR_STRLEN], idstr[NODE_ID_STRLEN];

	if (g == NULL || memcmp(id, g->d->id.pk, NODE_ID_LEN) == 0 ||
	    mesh_link_to(g->d->mesh, id) != NULL ||
	    mesh_dialing(g->d->mesh, id))
		return;
	/*
	 * A member we know of is gossip's and the overlay's business: dial
	 * it only while short of links, and not while it is held off.
	 */
	if ((m = members_get(g->members, id)) != NULL &&
	    m->hold_until_ms > now_ms())
		return;
	/*
	 * Beacons are cheap to send, dials are not: only while short of
	 * links, and never more dials at once than links wanted.  A new
	 * node is short of links itself and dials us, so it is found.
	 */
	if (mesh_links(g->d->mesh, NULL, 0) >= g->d->conf.degree_min ||
	    mesh_dials(g->d->mesh) >= g->d->conf.degree_min)
		return;
	addr_format(sa, addr);
	base32_encode(id, NODE_ID_LEN, idstr);
	log_info("discovery: node %.12s at %s", idstr, addr);
	(void)mesh_dial_member(g->d->mesh, id, addr, NULL, NULL);
}

/*
 * Dials one of m's addresses, a different one each time.  The outcome
 * counts as a probe: a member nobody is linked to would otherwise stay
 * alive forever after it died (or if it never existed).
 */
static void
dial_member(struct gossip *g, struct member *m)
{
	struct probe	*p;

	if (m->rec.naddrs == 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->g = g;
	memcpy(p->id, m->rec.id, NODE_ID_LEN);
	p->inc = m->rec.incarnation;
	m->dialed_ms = now_ms();
	if (mesh_dial_member(g->d->mesh, m->rec.id,
	    m->rec.addrs[m->dial_count++ % (unsigned)m->rec.naddrs],
	    probe_done, p) == -1)
		free(p);
}

/*
 * Keeps between degree_min and degree_max links: dials random members
 * (hubs first) when short, sheds the slowest link when over.  A few dead
 * members are re-dialed each time, each with its own backoff from
 * REDIAL_DEAD_MS, so a healed partition joins up again quickly.
 */
static void
overlay(struct gossip *g)
{
	struct mesh	*mesh = g->d->mesh;
	struct member	*m;
	size_t		 n = members_count(g->members), up, want, i, k, start;
	int		 pass;

	mesh_close_idle(mesh);
	up = mesh_links(mesh, NULL, 0);
	if (up > g->d->conf.degree_max) {
		mesh_shed(mesh);
		return;
	}
	want = up + mesh_dials(mesh) < g->d->conf.degree_min ?
	    g->d->conf.degree_min - up - mesh_dials(mesh) : 0;
	start = n > 1 ? randombytes_uniform((uint32_t)n) : 0;
	for (pass = 0; pass < 2 && want > 0; pass++)
		for (k = 0; k < n && want > 0; k++) {
			m = members_at(g->members, (start + k) % n);
			if (m->self || m->state != MEMBER_ALIVE ||
			    m->hold_until_ms > now_ms() ||
			    m->rec.hub != (pass == 0) ||
			    mesh_link_to(mesh, m->rec.id) != NULL ||
			    mesh_dialing(mesh, m->rec.id))
				continue;
			dial_member(g, m);
			want--;
		}
	/* A few dead members a tick, each with its own backoff. */
	for (i = 0, k = 0; i < n && k < REDIAL_DEAD_PER_TICK; i++) {
		m = members_at(g->members, (start + i) % n);
		if (m->state == MEMBER_DEAD && !m->refused &&
		    now_ms() - m->dialed_ms >= (m->redial_ms ? m->redial_ms :
		    REDIAL_DEAD_MS) && m->hold_until_ms <= now_ms() &&
		    !mesh_dialing(mesh, m->rec.id) &&
		    mesh_link_to(mesh, m->rec.id) == NULL) {
			dial_member(g, m);
			k++;
		}
	}
}

/* False if the path does not fit. */
static bool
cache_path(struct gossip *g, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "%s/peers.cache", g->d->conf.state_dir);

	return n > 0 && (size_t)n < len;
}

/* peers.cache: one address a line, so a restart finds the mesh again. */
static void
cache_write(struct gossip *g)
{
	struct member	*m;
	char		 path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE		*f;
	size_t		 i;
	int		 n = 0, fd;

	if (!cache_path(g, path, sizeof(path)))
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("gossip: %s", tmp);
		return;
	}
	fprintf(f, "# peerd: addresses of members, to rejoin after a "
	    "restart\n");
	for (i = 0; i < members_count(g->members) && n < CACHE_MAX; i++) {
		m = members_at(g->members, i);
		if (m->self || m->state != MEMBER_ALIVE || m->rec.naddrs == 0)
			continue;
		fprintf(f, "%s\n", m->rec.addrs[0]);
		n++;
	}
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		log_warn("gossip: %s", path);
		(void)unlink(tmp);
		return;		/* still dirty: tried again later */
	}
	g->cache_dirty = false;
}

static void
cache_read(struct gossip *g)
{
	char		 path[PATH_MAX], line[HOST_MAX + 16], host[HOST_MAX];
	char		 err[64];
	uint16_t	 port;
	FILE		*f;

	if (!cache_path(g, path, sizeof(path)) ||
	    (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && g->ncache < CACHE_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0' ||
		    strlen(line) >= sizeof(g->cache[0]) ||
		    addr_split(line, host, &port, err, sizeof(err)) == -1 ||
		    port == 0)
			continue;
		memcpy(g->cache[g->ncache++], line, strlen(line) + 1);
	}
	fclose(f);
	if (g->ncache > 0)
		log_info("gossip: %d addresses in %s", g->ncache, path);
}

static void
exchange(struct gossip *g)
{
	struct link	*links[512];
	size_t		 n = mesh_links(g->d->mesh, links, 512);

	if (n == 0)
		return;
	put_digest(g);
	send_out(g, links[randombytes_uniform((uint32_t)n)]);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gossip	*g = arg;
	int64_t		 now = now_ms();
	int		 i;

	(void)fd; (void)what;
	members_tick(g->members, now, died_cb, g);
	if (now >= g->next_exchange) {
		exchange(g);
		/* 80-120%, so that neighbours do not exchange in step. */
		g->next_exchange = now + (int64_t)g->d->conf.gossip_interval *
		    (80 + (int64_t)randombytes_uniform(41)) / 100;
	}
	if (now >= g->next_overlay) {
		overlay(g);
		g->next_overlay = now + OVERLAY_EVERY_MS;
	}
	/* Alone: try the addresses remembered from the last run. */
	if (now >= g->next_cached_dial && mesh_links(g->d->mesh, NULL, 0) == 0) {
		for (i = 0; i < g->ncache; i++)
			(void)mesh_dial_member(g->d->mesh, NULL, g->cache[i],
			    NULL, NULL);
		g->next_cached_dial = now + REDIAL_DEAD_MS;
	}
	if (now >= g->next_expire) {
		if (members_expire(g->members, now,
		    (int64_t)g->d->conf.member_expire) > 0)
			member_changed(g);
		/* Often enough that a short member_expire is kept to. */
		g->next_expire = now + (g->d->conf.member_expire / 2 < 10000 ?
		    (int64_t)g->d->conf.member_expire / 2 : 10000);
	}
	if (g->cache_dirty && now >= g->next_cache) {
		cache_write(g);
		g->next_cache = now + CACHE_EVERY_MS;
	}
}

struct gossip *
gossip_new(struct peerd *d)
{
	struct gossip	*g;
	struct cbor_buf	 b = { 0 };
	struct timeval	 tv = { 0, GOSSIP_TICK_MS * 1000 };
	int		 i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("gossip");
		return NULL;
	}
	g->d = d;
	memcpy(g->self.id, d->id.pk, NODE_ID_LEN);
	snprintf(g->self.name, sizeof(g->self.name), "%s", d->conf.name);
	self_addrs(g, &g->self);
	for (i = 0; i < d->conf.ngroups; i++)
		snprintf(g->self.groups[i], sizeof(g->self.groups[i]), "%s",
		    d->conf.groups[i]);
	g->self.ngroups = d->conf.ngroups;
	g->self.hub = d->conf.hub;
	/* Wall-clock milliseconds: a restarted node always comes back newer. */
	g->self.incarnation = wall_ms();
	g->self.started_at = (uint64_t)d->started_at;
	record_sign(&g->self, d->id.sk, &b);
	if (b.failed || (g->members = members_new(b.data, b.len,
	    now_ms())) == NULL) {
		log_warnx("gossip: cannot sign our record");
		cbor_buf_free(&b);
		free(g);
		return NULL;
	}
	cbor_buf_free(&b);
	cache_read(g);
	g->tick = event_new(d->base, -1, EV_PERSIST, tick_cb, g);
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
	if (g->cache_dirty)
		cache_write(g);
	if (g->tick != NULL)
		event_free(g->tick);
	members_free(g->members);
	cbor_buf_free(&g->out);
	free(g);
}

void
gossip_leave(struct gossip *g)
{
	if (g == NULL)
		return;
	g->self.left = true;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

size_t
gossip_members_alive(const struct gossip *g)
{
	return g == NULL ? 0 : members_alive(g->members);
}

static void
put_texts(struct cbor_buf *b, char *slots, size_t slotlen, int n)
{
	int	i;

	cbor_put_array(b, (size_t)n);
	for (i = 0; i < n; i++)
		cbor_put_text(b, slots + (size_t)i * slotlen);
}

void
gossip_op_members(struct ctl_conn *c, const struct ctl_msg *msg)
{
	struct gossip		*g = ctl_peerd(c)->gossip;
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
		cbor_put_uint(b, (uint64_t)(now_ms() - m->since_ms));
		cbor_put_text(b, "started_at");
		cbor_put_uint(b, m->rec.started_at);
		cbor_put_text(b, "rtt_us");
		if ((l = mesh_link_to(g->d->mesh, m->rec.id)) != NULL &&
		    (link_info(l, &li), li.rtt_avg_us >= 0))
			cbor_put_uint(b, (uint64_t)li.rtt_avg_us);
		else
			cbor_put_null(b);
	}
#undef WANTED
	ctl_result_end(c);
}

size_t
gossip_members_known(const struct gossip *g)
{
	return g == NULL ? 0 : members_count(g->members);
}

const struct record *
gossip_self(const struct gossip *g)
{
	return &g->self;
}

void
gossip_reset(struct gossip *g)
{
	members_clear(g->members);
	member_down(g);		/* every provider but us is gone */
	g->ncache = 0;
	cache_write(g);
	/* A new incarnation for the new network, no longer leaving. */
	g->self.left = false;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

static void
on_found(const uint8_t id[32], const struct sockaddr *sa, socklen_t len,
    void *arg)
{
	struct peerd	*d = arg;

	(void)len;
	gossip_found(d->gossip, id, sa);
}

int
gossip_discovery_start(struct peerd *d)
{
	struct discover_params	 p;
	const char		*a, *colon;

	discover_free(d->discover);
	d->discover = NULL;
	if (!d->conf.discovery)
		return 0;
	memset(&p, 0, sizeof(p));
	a = listeners_addr(d->listeners, 0);
	colon = strrchr(a, ':');
	p.base = d->base;
	p.network_key = d->id.network_key;
	p.id = d->id.pk;
	p.mesh_port = (uint16_t)strtoul(colon + 1, NULL, 10);
	p.port = (uint16_t)d->conf.discovery_port;
	p.interval_ms = d->conf.beacon_interval;
	p.ifaces = d->conf.discovery_ifaces;
	p.nifaces = d->conf.ndiscovery_ifaces;
	if ((d->discover = discover_new(&p, on_found, d)) == NULL) {
		log_warnx("discovery: cannot start; set discovery = no to run "
		    "without it");
		return -1;
	}
	return 0;
}

void
gossip_dropped(const struct gossip *g, uint64_t *invalid, uint64_t *stale)
{
	const struct members_stats	*st = members_stats(g->members);

	*invalid = st->invalid + st->full;
	*stale = st->stale;
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

struct member *
gossip_member(const struct gossip *g, const uint8_t *id)
{
	return members_get(g->members, id);
}

const struct member *
gossip_member_at(const struct gossip *g, size_t i)
{
	return members_at(g->members, i);
}
