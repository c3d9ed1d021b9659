/* SPDX-License-Identifier: ISC */
/*
 * gossip.c: membership over the mesh.
 *
 * Records flood: a node that learns a newer record passes it to its
 * other links, with a hop limit, and the (id, incarnation) order makes
 * every copy after the first a no-op.  Every gossip_interval (up to
 * eight of them while nothing changes) a node sends a digest of what it
 * knows to one random neighbour, and each side then sends the other
 * what it lacks: that heals what flooding missed, and is how a new node
 * learns everyone (peer exchange).
 *
 * A live member whose link goes quiet or down, or that an overlay dial
 * does not reach, is probed (probe.c): directly, and through a few
 * other nodes.  Refused means its process is gone, so it is dead at
 * once; no answer anywhere makes it suspect, and dead if it does not
 * refute in time.  A node refutes a claim about itself by signing a
 * record with a higher incarnation, at most once a second.
 *
 * A claim that a member is suspect or dead (a "sus" or "dead", or a
 * digest entry) is no evidence: any member can make one.  It only makes
 * us probe the member ourselves, within a budget per link and overall,
 * and what our probe finds is what we believe and flood.  Claims we
 * hear are never passed on.
 *
 * Suspicion lasts between suspect_timeout and a few times that, more in
 * larger meshes, and the more nodes confirm it, the shorter (Lifeguard):
 * helpers that heard nothing either confirm, and so does every node
 * whose own probe of the suspect, made when it heard the claim, fails.
 * A claim names who makes it ("by"), so each confirms once; a "by" only
 * shortens a suspicion we hold on our own evidence.
 *
 * What a neighbour makes us do is bounded per link (doc/MESH.md, flood
 * bounds): the records of nodes we do not know that we check, store
 * and flood on, and the membership bytes we send it and read from it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "duration.h"
#include "gossip.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "probe.h"
#include "proto.h"
#include "rate.h"

#define GOSSIP_HOPS		16	/* a flood goes this many links at most */
#define GOSSIP_STALL_MS		500	/* a timer this late: our loop stalled */
#define SUSPECT_CONFIRMS	2	/* confirmations for the least timeout */
#define STRETCH_MAX		8	/* a quiet table: digests this rarer */
#define WANT_PER_DIGEST		64	/* records asked of one neighbour */
#define WANT_WAIT_MS		2000	/* before a record is asked again */
#define DIGEST_ENTRY		(NODE_ID_LEN + 8 + 1)
#define EVIDENCE_MAX		512	/* "so says" and a link's name */
#define LINK_BUCKETS		1024	/* link peers with buckets at once */
#define INBOUND_TIMES		4	/* of gossip_rate a peer may send us */
#define INBOUND_BURST_S		10	/* ...sustained this long */
#define CLAIM_BURST		20	/* claims one link may make at once */
#define CLAIM_PROBE_RATE	(10 * RATE_PER_S) /* rounds claims start */
#define CLAIM_PROBE_BURST	40
#define CLAIM_LINKS_MAX		1024	/* links with a claim bucket */
#define CLAIMANTS_MAX		3	/* links whose claims are noted */
#define CLAIM_WRONG_MAX		8	/* claimants proved wrong, kept */
#define CLAIMS_KEEP_MS		10000	/* unsettled claims older: forgotten */
#define REFUTE_GAP_MS		1000	/* refutations at least this apart */

/* Our probes of a member. */
struct probing {
	unsigned	 next;		/* address to dial next */
	uint64_t	 inc;		/* the record the round is about */
};

/*
 * Claims that a member failed, by the link peers that made them, about
 * its record inc: unsettled until a probe of ours tells.  And the
 * claimants a probe found wrong, whose claims wait claim_probe_gap.
 */
struct claims {
	uint64_t	 inc;
	int64_t		 first_ms;	/* the first unsettled one */
	bool		 dead;		/* one of them said dead */
	uint8_t		 by[CLAIMANTS_MAX][NODE_ID_LEN];
	int		 nby;
	uint8_t		 wrong[CLAIM_WRONG_MAX][NODE_ID_LEN];
	int64_t		 wrong_ms[CLAIM_WRONG_MAX];
	int		 nwrong;
};

/* A suspicion and the nodes that confirmed it, ourselves included. */
struct suspicion {
	uint64_t	 inc;
	int64_t		 since_ms;
	uint8_t		 by[SUSPECT_CONFIRMS + 1][NODE_ID_LEN];
	int		 nby;
};

struct gossip {
	struct gossip_params	 par;
	struct mesh		*mesh;
	const struct gossip_ops	*ops;
	void			*arg;
	struct members		*members;
	struct record		 self;
	struct probe		*probe;
	struct nodemap		*probes;	/* struct probing */
	struct nodemap		*suspicions;	/* struct suspicion */
	struct nodemap		*claims;	/* struct claims */
	struct nodemap		*wanted;	/* int64_t: asked for until */
	struct ratemap		*claim_links;	/* claims each link may make */
	struct bucket		 claim_probes;	/* rounds claims may start */
	uint64_t		 claims_throttled;
	struct event		*refute_ev;	/* a refutation that waits */
	int64_t			 refuted_ms;	/* the last one */
	bool			 refuted, refute_pending;
	uint64_t		 refute_inc;	/* what the waiting one answers */
	struct event		*tick;
	int64_t			 due_ms;	/* when the tick should run */
	int64_t			 next_exchange, next_expire;
	int			 stretch;	/* exchanges this many intervals apart */
	struct cbor_buf		 out;
	/* By link peer: new identities it sent, bytes we sent it, and it us. */
	struct ratemap		*new_ids, *sent, *recv;
	struct gossip_stats	 st;
};

/* The bucket of l's peer in t; NULL: out of memory. */
static struct bucket *
link_bucket(struct ratemap *t, struct link *l)
{
	return ratemap_get(t, link_remote(l)->id);
}

/*
 * Whether len bytes may go to l now, taken from its budget.  What must
 * go (own: our record, our claims, the digest of a new link) goes
 * anyway and is charged, so the rest waits the longer.
 */
static bool
budget_take(struct gossip *g, struct link *l, size_t len, bool own)
{
	struct bucket	*b;

	if ((b = link_bucket(g->sent, l)) == NULL)
		return own;
	if (own)
		bucket_charge(b, g->par.gossip_rate, g->par.gossip_burst,
		    clock_ms(), len);
	else if (!bucket_take(b, g->par.gossip_rate, g->par.gossip_burst,
	    clock_ms(), len)) {
		g->st.sent_skipped++;
		return false;
	}
	g->st.sent_bytes += len;
	return true;
}

/* Sends msg on l if it is up and its budget allows (see budget_take). */
static void
send_msg(struct gossip *g, struct link *l, const uint8_t *msg, size_t len,
    bool own)
{
	if (link_state(l) == LINK_UP && budget_take(g, l, len, own))
		(void)link_send(l, msg, len);
}

/*
 * Sends the message built in g->out on l; a closed link just drops it,
 * and so does one whose budget is spent: anti-entropy sends it later.
 */
static void
send_out(struct gossip *g, struct link *l)
{
	if (!g->out.failed)
		send_msg(g, l, g->out.data, g->out.len, false);
}

/*
 * Sends g->out on every up link but one.  A send can close a link (its
 * queue full), and closing can make gossip build another message in
 * g->out, so the message is copied first, and each link is checked
 * before it is used: closed links stay valid until the loop returns.
 * A flood with no link to spare (except NULL) is our own, and goes out
 * over any budget; one passed on skips the links that have none left.
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
		if (links[i] != except)
			send_msg(g, links[i], msg, len, except == NULL);
	free(msg);
}

/*
 * Replies to one peer stop here, its queue half full or its budget
 * spent; the next exchange sends the rest.
 */
static bool
reply_budget_spent(struct gossip *g, struct link *l)
{
	struct bucket	*b;

	return link_state(l) != LINK_UP ||
	    link_queued(l) > g->par.max_message / 2 ||
	    (b = link_bucket(g->sent, l)) == NULL ||
	    !bucket_ready(b, g->par.gossip_rate, g->par.gossip_burst,
	    clock_ms(), 1);
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
    uint64_t hops, const uint8_t *by)
{
	cbor_buf_reset(&g->out);
	cbor_put_map(&g->out, by != NULL ? 5 : 4);
	if (by != NULL) {
		cbor_put_text(&g->out, "by");
		cbor_put_bytes(&g->out, by, NODE_ID_LEN);
	}
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
 * answer to a claim that we failed.  Each floods to the whole mesh, so
 * one claim after another makes one a second: a claim sooner than that
 * is answered when the second is up, never dropped.
 */
static void
refute(struct gossip *g, uint64_t inc)
{
	struct timeval	tv;
	uint64_t	next;
	int64_t		now = clock_ms();

	if (g->self.left || inc == UINT64_MAX ||
	    g->self.incarnation == UINT64_MAX)
		return;
	if (g->refuted && now - g->refuted_ms < REFUTE_GAP_MS &&
	    now >= g->refuted_ms) {
		if (!g->refute_pending || inc > g->refute_inc)
			g->refute_inc = inc;
		if (!g->refute_pending) {
			g->refute_pending = true;
			duration_timeval((uint64_t)(g->refuted_ms +
			    REFUTE_GAP_MS - now), &tv);
			evtimer_add(g->refute_ev, &tv);
		}
		return;
	}
	g->refuted = true;
	g->refuted_ms = now;
	next = next_incarnation(g, inc);
	log_info("gossip: refuting a claim that we failed (incarnation %"
	    PRIu64 " -> %" PRIu64 ")", g->self.incarnation, next);
	g->self.incarnation = next;
	(void)publish_self(g);
}

static void
refute_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gossip	*g = arg;

	(void)fd; (void)what;
	if (!g->refute_pending)
		return;
	g->refute_pending = false;
	/* A newer record of ours went out meanwhile: that answered it. */
	if (g->refute_inc >= g->self.incarnation)
		refute(g, g->refute_inc);
}

static void	gossip_arm(struct gossip *);

/* The next digest exchange: gossip_interval apart, ±20%, stretched. */
static void
next_exchange(struct gossip *g, int64_t now)
{
	/* 80-120%, so that neighbours do not exchange in step. */
	g->next_exchange = now + (int64_t)g->par.gossip_interval * g->stretch *
	    (80 + (int64_t)randombytes_uniform(41)) / 100;
}

/*
 * Tells the owner that m changed; via: where its new record came from;
 * why: the evidence for its new state.
 * A change is also news for anti-entropy: digests go every
 * gossip_interval again, as they do while the table changes; a table
 * that stays the same has them twice as rare each time, down to one
 * every STRETCH_MAX intervals.
 */
static void
member_changed(struct gossip *g, const struct member *m, const uint8_t *via,
    const char *why)
{
	int64_t	now = clock_ms();

	g->ops->member(g->arg, m, via, why);
	if (g->stretch > 1) {
		g->stretch = 1;
		if (g->next_exchange > now + (int64_t)g->par.gossip_interval) {
			next_exchange(g, now);
			gossip_arm(g);
		}
	}
}

static void
forgotten(const struct member *m, void *arg)
{
	struct gossip	*g = arg;

	nodemap_del(g->probes, m->rec.id);
	nodemap_del(g->suspicions, m->rec.id);
	nodemap_del(g->claims, m->rec.id);
	nodemap_del(g->wanted, m->rec.id);
	g->ops->forgotten(g->arg, m->rec.id);
}

/* Declares m dead (from probing or a timed-out suspicion) and floods it. */
static void
declare_dead(struct gossip *g, struct member *m, const char *why)
{
	members_disprove(g->members, m->rec.id);	/* our own evidence */
	if (!members_dead(g->members, m->rec.id, m->rec.incarnation,
	    clock_ms()))
		return;
	log_info("member %s (%.12s) dead: %s", m->rec.name, m->idstr, why);
	member_changed(g, m, NULL, why);
	put_claim(g, "dead", m->rec.id, m->rec.incarnation, GOSSIP_HOPS, NULL);
	flood_out(g, NULL);
}

static void
died_cb(struct member *m, void *arg)
{
	struct gossip	*g = arg;

	const char	*why = "did not refute suspicion in time";

	log_info("member %s (%.12s) dead: %s", m->rec.name, m->idstr, why);
	member_changed(g, m, NULL, why);
	put_claim(g, "dead", m->rec.id, m->state_inc, GOSSIP_HOPS, NULL);
	flood_out(g, NULL);
}

/*
 * How long a suspicion lasts (Lifeguard): from suspect_timeout × (1 +
 * 2 log10 n) with no confirmation, n the members (10 at least), down to
 * suspect_timeout with SUSPECT_CONFIRMS of them.
 */
static int64_t
suspicion_timeout(const struct gossip *g, int confirms)
{
	double	lo = (double)g->par.suspect_timeout, hi, n;

	n = (double)members_count(g->members);
	hi = lo * (1 + 2 * log10(n > 10 ? n : 10));
	if (confirms >= SUSPECT_CONFIRMS)
		return (int64_t)lo;
	return (int64_t)(hi - (hi - lo) * log(confirms + 1) /
	    log(SUSPECT_CONFIRMS + 1));
}

/* The suspicion of m, reset if it is about an earlier state. */
static struct suspicion *
suspicion_of(struct gossip *g, const struct member *m)
{
	struct suspicion	*s;

	if ((s = nodemap_put(g->suspicions, m->rec.id)) != NULL &&
	    (s->inc != m->state_inc || s->nby == 0)) {
		s->inc = m->state_inc;
		s->since_ms = clock_ms();
		s->nby = 0;
	}
	return s;
}

/* Counts by as confirming s, once.  True if it is new. */
static bool
confirm(struct suspicion *s, const uint8_t *by)
{
	int	i;

	for (i = 0; i < s->nby; i++)
		if (memcmp(s->by[i], by, NODE_ID_LEN) == 0)
			return false;
	if (s->nby == SUSPECT_CONFIRMS + 1)
		return false;
	memcpy(s->by[s->nby++], by, NODE_ID_LEN);
	return true;
}

/*
 * Notes the suspect m's confirmations so far in its deadline: the first
 * suspicion, ours or another's, starts it; each other node shortens it.
 */
static void
suspicion_deadline(struct gossip *g, struct member *m, struct suspicion *s)
{
	(void)members_suspect(g->members, m->rec.id, s->inc, clock_ms(),
	    s->since_ms + suspicion_timeout(g, s->nby - 1));
	gossip_arm(g);
}

/*
 * Suspects m (no answer from it, nor from others for it: nackers) and
 * floods the claim, or confirms a suspicion already held.  Claims that
 * came before (cl, or NULL) confirm it too, and it counts from the
 * first: a silent failure is not declared dead later for our probing.
 */
static void
suspect(struct gossip *g, struct member *m, const char *why,
    const uint8_t (*nackers)[NODE_ID_LEN], int nnack,
    const struct claims *cl)
{
	struct suspicion	*s;
	bool			 changed, mine;
	int			 i;

	changed = members_suspect(g->members, m->rec.id, m->rec.incarnation,
	    clock_ms(), clock_ms() + suspicion_timeout(g, 0));
	if (m->state != MEMBER_SUSPECT)
		return;
	if ((s = suspicion_of(g, m)) != NULL) {
		mine = confirm(s, g->par.id->pk);
		for (i = 0; i < nnack; i++)
			(void)confirm(s, nackers[i]);
		for (i = 0; cl != NULL && i < cl->nby; i++)
			(void)confirm(s, cl->by[i]);
		if (cl != NULL && cl->nby > 0 && cl->first_ms < s->since_ms)
			s->since_ms = cl->first_ms;
		suspicion_deadline(g, m, s);
		if (!changed && !mine)
			return;
	}
	if (changed) {
		log_info("member %s (%.12s) suspect: %s", m->rec.name,
		    m->idstr, why);
		member_changed(g, m, NULL, why);
	} else
		log_info("member %s (%.12s): we confirm the suspicion: %s",
		    m->rec.name, m->idstr, why);
	gossip_arm(g);
	put_claim(g, "sus", m->rec.id, m->state_inc, GOSSIP_HOPS,
	    g->par.id->pk);
	flood_out(g, NULL);
}

/*
 * The unsettled claims about m's record, or NULL.  Those about an older
 * record, or too old to date a suspicion from, are forgotten.
 */
static struct claims *
claims_of(struct gossip *g, const struct member *m, bool add)
{
	struct claims	*cl;

	cl = add ? nodemap_put(g->claims, m->rec.id) :
	    nodemap_get(g->claims, m->rec.id);
	if (cl == NULL)
		return NULL;
	if (cl->inc != m->rec.incarnation) {
		memset(cl, 0, sizeof(*cl));
		cl->inc = m->rec.incarnation;
	} else if (cl->nby > 0 && clock_ms() - cl->first_ms > CLAIMS_KEEP_MS)
		cl->nby = 0;
	return cl->nby > 0 || add ? cl : NULL;
}

/* Notes the link peer by's claim. */
static void
claim_note(struct claims *cl, const uint8_t *by, bool dead)
{
	int	i;

	if (cl->nby == 0) {
		cl->first_ms = clock_ms();
		cl->dead = false;
	}
	cl->dead = cl->dead || dead;
	for (i = 0; i < cl->nby; i++)
		if (memcmp(cl->by[i], by, NODE_ID_LEN) == 0)
			return;
	if (cl->nby < CLAIMANTS_MAX)
		memcpy(cl->by[cl->nby++], by, NODE_ID_LEN);
}

/* Whether a probe of ours proved by wrong within the last gap. */
static bool
claim_proved_wrong(const struct gossip *g, const struct claims *cl,
    const uint8_t *by)
{
	int	i;

	for (i = 0; i < cl->nwrong; i++)
		if (memcmp(cl->wrong[i], by, NODE_ID_LEN) == 0)
			return clock_ms() - cl->wrong_ms[i] <
			    (int64_t)g->par.claim_probe_gap;
	return false;
}

/* Our probe found the member alive: its claimants were wrong. */
static void
claims_wrong(struct claims *cl)
{
	int64_t	now = clock_ms();
	int	i, k, old;

	for (i = 0; i < cl->nby; i++) {
		for (k = 0, old = 0; k < cl->nwrong; k++) {
			if (memcmp(cl->wrong[k], cl->by[i], NODE_ID_LEN) == 0)
				break;
			if (cl->wrong_ms[k] < cl->wrong_ms[old])
				old = k;
		}
		if (k == cl->nwrong && cl->nwrong < CLAIM_WRONG_MAX)
			cl->nwrong++;
		else if (k == cl->nwrong)
			k = old;
		memcpy(cl->wrong[k], cl->by[i], NODE_ID_LEN);
		cl->wrong_ms[k] = now;
	}
	cl->nby = 0;
}

/*
 * No probe of ours tells whether m failed: only claims from two links
 * make it suspect, dead if it does not refute in time; we flood nothing.
 */
static void
claims_unproven(struct gossip *g, struct member *m, struct claims *cl,
    const char *why)
{
	struct suspicion	*s;
	char			 evidence[EVIDENCE_MAX];
	int			 i;

	if (cl == NULL || cl->nby < 2 || m->state != MEMBER_ALIVE ||
	    !members_suspect(g->members, m->rec.id, m->rec.incarnation,
	    clock_ms(), clock_ms() + suspicion_timeout(g, 0)))
		return;
	if ((s = suspicion_of(g, m)) != NULL) {
		for (i = 0; i < cl->nby; i++)
			(void)confirm(s, cl->by[i]);
		s->since_ms = cl->first_ms;
		suspicion_deadline(g, m, s);
	}
	snprintf(evidence, sizeof(evidence), "so say %d nodes, and our probe "
	    "proves nothing: %s", cl->nby, why);
	log_info("member %s (%.12s) suspect: %s", m->rec.name, m->idstr,
	    evidence);
	member_changed(g, m, NULL, evidence);
	gossip_arm(g);
}

static void	tell_member(struct gossip *, const struct member *, bool,
		    uint64_t);

/* How our round of probes about a member went. */
static void
probed(const uint8_t *id, enum probe_result res,
    const uint8_t (*nackers)[NODE_ID_LEN], int nnack, const char *why,
    void *arg)
{
	struct gossip	*g = arg;
	struct member	*m = members_get(g->members, id);
	struct probing	*p = nodemap_get(g->probes, id);
	struct claims	*cl;

	/* Leaving, our dials end because we close them: no evidence. */
	if (g->self.left || m == NULL || p == NULL ||
	    m->rec.incarnation != p->inc || !member_live(m))
		return;
	cl = claims_of(g, m, false);
	switch (res) {
	case PROBE_ALIVE:
		log_debug("member %s (%.12s) answered a probe", m->rec.name,
		    m->idstr);
		if (cl != NULL) {
			/* Told on the link we have now, it refutes for all. */
			tell_member(g, m, cl->dead, m->rec.incarnation);
			claims_wrong(cl);
		}
		break;
	case PROBE_REFUSED:
		declare_dead(g, m, why);
		break;
	case PROBE_SILENT:
		suspect(g, m, why, nackers, nnack, cl);
		break;
	case PROBE_UNSURE:
		log_info("member %s (%.12s): probe proves nothing: %s",
		    m->rec.name, m->idstr, why);
		claims_unproven(g, m, cl, why);
		break;
	}
}

/*
 * Probes m, directly and through others, on evidence of our own: a lost
 * or quiet link, a dial with no answer.  Nothing if one is under way.
 */
static void
probe_round(struct gossip *g, struct member *m, const char *why)
{
	struct probing	*p;

	if (m->self || g->self.left || probe_running(g->probe, m->rec.id) ||
	    (p = nodemap_put(g->probes, m->rec.id)) == NULL)
		return;
	p->inc = m->rec.incarnation;
	log_debug("member %s (%.12s): %s, probing", m->rec.name, m->idstr,
	    why);
	if (probe_member(g->probe, m->rec.id, PROBE_INDIRECT, probed, g) ==
	    -1) {
		/* Nobody to ask and nothing to dial: let it refute. */
		suspect(g, m, why, NULL, 0, NULL);
	}
}

/*
 * Probes m because others say it failed: directly (a ping on our link,
 * or a dial whose link closes once idle), through others only if we
 * cannot.  A round under way settles cl too; if its own direct probe
 * heard nothing (a dial reset by a process as it died, say), it probes
 * directly again, so that a crash others saw is not waited out.
 */
static bool
probe_claimed(struct gossip *g, struct member *m, struct claims *cl)
{
	struct probing	*p;
	int		 rc;

	if (g->self.left)
		return false;
	if (probe_running(g->probe, m->rec.id))
		return probe_again(g->probe, m->rec.id, PROBE_TRANSIENT) == 0;
	if ((p = nodemap_put(g->probes, m->rec.id)) == NULL)
		return false;
	p->inc = m->rec.incarnation;
	log_debug("member %s (%.12s): others say it failed, probing",
	    m->rec.name, m->idstr);
	if ((rc = probe_member(g->probe, m->rec.id, PROBE_TRANSIENT, probed,
	    g)) == -1)
		rc = probe_member(g->probe, m->rec.id, PROBE_INDIRECT, probed,
		    g);
	if (rc == -1)
		claims_unproven(g, m, cl, "nothing to probe it with");
	return rc == 0;
}

const char *
gossip_member_address(struct gossip *g, const uint8_t *id)
{
	struct member	*m = members_get(g->members, id);
	struct probing	*p;

	if (m == NULL || m->self || m->rec.naddrs == 0 ||
	    (p = nodemap_put(g->probes, id)) == NULL)
		return NULL;
	return m->rec.addrs[p->next++ % (unsigned)m->rec.naddrs];
}

/* An overlay dial of a member under way. */
struct dial {
	struct gossip	*g;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc;
	gossip_probe_fn	*fn;
	void		*arg;
};

/* Refused: its process is gone, dead.  No answer: probe it. */
static void
dialed(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct dial	*d = arg;
	struct gossip	*g = d->g;
	struct member	*m = members_get(g->members, d->id);

	if (g->self.left) {
		free(d);
		return;
	}
	if (m != NULL && m->state == MEMBER_ALIVE &&
	    m->rec.incarnation == d->inc) {
		if (res == MESH_DIAL_REFUSED)
			declare_dead(g, m, reason);
		else if (res == MESH_DIAL_FAILED)
			probe_round(g, m, reason);
	}
	if (d->fn != NULL)
		d->fn(d->id, res, d->arg);
	free(d);
}

int
gossip_probe(struct gossip *g, const uint8_t *id, gossip_probe_fn *fn,
    void *arg)
{
	struct member	*m = members_get(g->members, id);
	struct dial	*d;
	const char	*addr;

	if (m == NULL || (addr = gossip_member_address(g, id)) == NULL ||
	    (d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->g = g;
	memcpy(d->id, id, NODE_ID_LEN);
	d->inc = m->rec.incarnation;
	d->fn = fn;
	d->arg = arg;
	if (mesh_dial_member(g->mesh, id, addr, MESH_DIAL_RECORD, dialed,
	    d) == -1) {
		free(d);
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
	/* Its process gone, or just this link? */
	probe_round(g, m, mesh_reason_name(why));
}

void
gossip_link_quiet(struct gossip *g, struct link *l)
{
	struct member	*m = members_get(g->members, link_remote(l)->id);

	if (m != NULL && m->state == MEMBER_ALIVE)
		probe_round(g, m, "no answer to a ping");
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
	members_confirm(g->members, link_remote(l)->id);
	/* Peer exchange: each side learns what the other knows. */
	put_digest(g);
	if (!g->out.failed)
		send_msg(g, l, g->out.data, g->out.len, true);
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

/*
 * Whether m's link to us answers: it is up and not quiet.  A claim that
 * it failed is then someone else's mistake (a partition, a slow path)
 * for m to refute, not ours to believe.
 */
static bool
member_answers(struct gossip *g, const struct member *m)
{
	struct link	*l = mesh_link_to(g->mesh, m->rec.id);

	return l != NULL && !link_quiet(l);
}

/* Passes a claim about m to m itself, which refutes it. */
static void
tell_member(struct gossip *g, const struct member *m, bool dead, uint64_t inc)
{
	struct link	*l = mesh_link_to(g->mesh, m->rec.id);

	if (l == NULL)
		return;
	put_claim(g, dead ? "dead" : "sus", m->rec.id, inc, 0, NULL);
	send_out(g, l);
}

/*
 * Whether to ask for id's record now: not if another neighbour was
 * asked for it within WANT_WAIT_MS.  A joiner gets digests from all its
 * first links at once; asking each for everything would fetch every
 * record several times over, mostly from the node everyone joined
 * through.  With at most WANT_PER_DIGEST asked of each, the records
 * come from all of them.
 */
static bool
want_once(struct gossip *g, const uint8_t *id)
{
	int64_t	*until, now = clock_ms();

	/* Full (see forget_asks): asked for again, as without the table. */
	if ((until = nodemap_put(g->wanted, id)) == NULL)
		return true;
	if (*until > now)
		return false;
	*until = now + WANT_WAIT_MS;
	return true;
}

/* Forgets the asks that are over, records that never came among them. */
static void
forget_asks(struct gossip *g, int64_t now)
{
	const uint8_t	*id;
	size_t		 i;

	for (i = nodemap_count(g->wanted); i-- > 0; )
		if (*(int64_t *)nodemap_at(g->wanted, i, &id) <= now)
			nodemap_del(g->wanted, id);
}

static void	on_claim(struct gossip *, struct link *, bool,
		    const uint8_t *, uint64_t, const uint8_t *);

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
			if ((state == MEMBER_ALIVE || state == MEMBER_SUSPECT) &&
			    nwant < WANT_PER_DIGEST && want_once(g, e))
				memcpy(want + nwant++ * NODE_ID_LEN, e,
				    NODE_ID_LEN);
			continue;
		}
		/* Same record, but they believe it failed: a claim. */
		if (m->rec.incarnation == inc && (state == MEMBER_DEAD ||
		    state == MEMBER_SUSPECT))
			on_claim(g, l, state == MEMBER_DEAD, e, inc, NULL);
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
				    m->rec.incarnation, GOSSIP_HOPS, NULL);
				send_out(g, l);
				continue;
			}
			put_rec(g, m, GOSSIP_HOPS);
			send_out(g, l);
		} else if (digest_inc(e) == m->rec.incarnation &&
		    m->state == MEMBER_DEAD && e[NODE_ID_LEN + 8] ==
		    MEMBER_ALIVE) {
			put_claim(g, "dead", m->rec.id, m->state_inc,
			    GOSSIP_HOPS, NULL);
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

/*
 * Whether a record from l may be checked and offered: one of a node we
 * do not know takes a token of l's bucket, unless the node is l's peer.
 * Without one it is dropped unchecked; l offers it again at the next
 * digest exchange.
 */
static bool
new_id_allowed(struct gossip *g, struct link *l, const uint8_t *raw,
    size_t len)
{
	struct bucket	*b;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc;

	/* A malformed one is dropped by members_offer, which says why. */
	if (record_peek(raw, len, id, &inc) == -1 ||
	    members_get(g->members, id) != NULL ||
	    memcmp(id, link_remote(l)->id, NODE_ID_LEN) == 0)
		return true;
	if ((b = link_bucket(g->new_ids, l)) != NULL &&
	    bucket_take(b, g->par.new_members_rate, g->par.new_members_burst,
	    clock_ms(), 1))
		return true;
	g->st.records_throttled++;
	return false;
}

static void
on_rec(struct gossip *g, struct link *l, const uint8_t *raw, size_t len,
    uint64_t hops)
{
	struct member		*m;
	enum members_result	 r;
	const char		*why;
	char			 evidence[EVIDENCE_MAX];

	if (!new_id_allowed(g, l, raw, len))
		return;
	r = members_offer(g->members, raw, len, link_remote(l)->id, clock_ms(),
	    &m, &why);
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
	nodemap_del(g->wanted, m->rec.id);
	if (mesh_link_to(g->mesh, m->rec.id) != NULL)
		members_confirm(g->members, m->rec.id);
	/* Calls to it that find no direct link are relayed this way. */
	snprintf(evidence, sizeof(evidence), "%s record from %s", r == MEMBERS_NEW ?
	    "a first" : "a newer", link_name(l));
	member_changed(g, m, link_remote(l)->id, evidence);
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

/*
 * A claim from l's peer that id, at its record inc, is dead or suspect
 * (by: whom a "sus" names, or NULL).  Anyone can make one, so it is no
 * evidence: within the budget of claims for l and for all, it makes us
 * probe id ourselves (probed), except once our probe found l wrong
 * about it, for claim_probe_gap.  It is never passed on.  by counts
 * only towards a suspicion we hold already: it can shorten one, never
 * start one.
 */
static void
on_claim(struct gossip *g, struct link *l, bool dead, const uint8_t *id,
    uint64_t inc, const uint8_t *by)
{
	struct member		*m = members_get(g->members, id);
	const uint8_t		*from = link_remote(l)->id;
	struct suspicion	*s;
	struct claims		*cl;
	struct bucket		*bk;
	int64_t			 now = clock_ms();

	if (m == NULL)
		return;
	if (m->self) {
		/* A claim above our incarnation is forged: nobody has it. */
		if (inc == g->self.incarnation)
			refute(g, inc);
		return;
	}
	if (member_answers(g, m)) {
		if (inc == m->rec.incarnation && member_live(m))
			tell_member(g, m, dead, inc);
		return;
	}
	if (inc != m->rec.incarnation || !member_live(m))
		return;
	/* Confirmations come from members other than us and the suspect. */
	if (!dead && m->state == MEMBER_SUSPECT && by != NULL &&
	    memcmp(by, g->par.id->pk, NODE_ID_LEN) != 0 &&
	    memcmp(by, id, NODE_ID_LEN) != 0 &&
	    members_get(g->members, by) != NULL &&
	    (s = suspicion_of(g, m)) != NULL && confirm(s, by))
		suspicion_deadline(g, m, s);
	if ((bk = ratemap_get(g->claim_links, from)) == NULL ||
	    !bucket_take(bk, g->par.claim_rate, CLAIM_BURST, now, 1) ||
	    (cl = claims_of(g, m, true)) == NULL ||
	    claim_proved_wrong(g, cl, from) ||
	    !bucket_ready(&g->claim_probes, CLAIM_PROBE_RATE, CLAIM_PROBE_BURST,
	    now, 1)) {
		g->claims_throttled++;
		return;
	}
	claim_note(cl, from, dead);
	/* Only the probes claims start count against all links' budget. */
	if (probe_claimed(g, m, cl))
		bucket_charge(&g->claim_probes, CLAIM_PROBE_RATE,
		    CLAIM_PROBE_BURST, now, 1);
}

/*
 * Whether a membership message from l is read.  A peer that sends more
 * than INBOUND_TIMES our gossip_rate for longer than INBOUND_BURST_S is
 * not gossiping as a node does, whose own bucket bounds what it sends:
 * the excess is ignored, which also bounds the signature checks and
 * digest sorts it costs us.
 */
static bool
inbound_allowed(struct gossip *g, struct link *l, const struct cbor_field *f,
    int nf)
{
	struct bucket	*b;
	uint64_t	 burst, len = 0;
	int		 i;

	for (i = 0; i < nf; i++)
		len += f[i].keylen + f[i].vallen;
	burst = g->par.gossip_rate / RATE_PER_S * INBOUND_BURST_S;
	if (burst < g->par.gossip_burst)
		burst = g->par.gossip_burst;
	if ((b = link_bucket(g->recv, l)) != NULL && bucket_take(b,
	    INBOUND_TIMES * g->par.gossip_rate, INBOUND_TIMES * burst,
	    clock_ms(), len))
		return true;
	g->st.inbound_dropped++;
	return false;
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

static void
msg_rec(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (inbound_allowed(arg, l, f, nf) && cbor_field_bytes(f, nf, "r", &p, &n))
		on_rec(arg, l, p, n, read_hops(f, nf));
}

static void
msg_dig(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (inbound_allowed(arg, l, f, nf) && cbor_field_bytes(f, nf, "d", &p, &n))
		on_digest(arg, l, p, n);
}

static void
msg_want(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*p;
	size_t		 n;

	(void)type;
	if (inbound_allowed(arg, l, f, nf) &&
	    cbor_field_bytes(f, nf, "ids", &p, &n))
		on_want(arg, l, p, n);
}

/* "sus" and "dead". */
static void
msg_claim(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;
	const uint8_t		*p, *by;
	size_t			 n, nby;
	uint64_t		 inc;

	if (!inbound_allowed(arg, l, f, nf))
		return;
	/* "h" is for older nodes, which pass claims on. */
	if (!cbor_field_bytes(f, nf, "by", &by, &nby) || nby != NODE_ID_LEN)
		by = NULL;
	if (cbor_field_bytes(f, nf, "id", &p, &n) && n == NODE_ID_LEN &&
	    (v = cbor_field_get(f, nf, "inc")) != NULL &&
	    cbor_read_uint(v->val, v->vallen, &inc))
		on_claim(arg, l, type[0] == 'd', p, inc, by);
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

/* Sets the timer for what is due next: an exchange, a death, expiry. */
static void
gossip_arm(struct gossip *g)
{
	struct timeval	tv;
	int64_t		due = g->next_exchange, t, now = clock_ms();

	if ((t = members_next_deadline(g->members)) < due)
		due = t;
	if (g->next_expire < due)
		due = g->next_expire;
	if (evtimer_pending(g->tick, NULL) && due >= g->due_ms)
		return;
	/* A deadline already past (brought forward) is due now, not late. */
	g->due_ms = due > now ? due : now;
	duration_timeval(due > now ? (uint64_t)(due - now) : 0, &tv);
	evtimer_add(g->tick, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gossip	*g = arg;
	int64_t		 now = clock_ms(), late = now - g->due_ms;

	(void)fd; (void)what;
	clock_note_late(late);
	/*
	 * Our loop stalled (stopped, starved): suspects had no chance to
	 * refute meanwhile, nor we to hear them.
	 */
	if (late > GOSSIP_STALL_MS) {
		log_info("gossip: our timers ran %" PRId64 " ms late; "
		    "suspicions wait as long", late);
		members_postpone(g->members, late);
	}
	members_tick(g->members, now, died_cb, g);
	if (now >= g->next_exchange) {
		exchange(g);
		next_exchange(g, now);
		if (g->stretch < STRETCH_MAX)
			g->stretch *= 2;
	}
	if (now >= g->next_expire) {
		(void)members_expire(g->members, now,
		    (int64_t)g->par.member_expire);
		forget_asks(g, now);
		/* Often enough that a short member_expire is kept to. */
		g->next_expire = now + (g->par.member_expire / 2 < 10000 ?
		    (int64_t)g->par.member_expire / 2 : 10000);
	}
	gossip_arm(g);
}

struct gossip *
gossip_new(struct event_base *base, const struct gossip_params *p,
    struct mesh *mesh, struct probe *probe, const struct gossip_ops *ops,
    void *arg)
{
	struct gossip	*g;
	struct cbor_buf	 b = { 0 };
	int		 i;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->probes = nodemap_new(sizeof(struct probing), MEMBERS_MAX)) ==
	    NULL || (g->wanted = nodemap_new(sizeof(int64_t), MEMBERS_MAX)) ==
	    NULL || (g->suspicions = nodemap_new(sizeof(struct suspicion),
	    MEMBERS_MAX)) == NULL || (g->claims = nodemap_new(sizeof(struct
	    claims), MEMBERS_MAX)) == NULL || (g->claim_links =
	    ratemap_new(CLAIM_LINKS_MAX)) == NULL ||
	    (g->new_ids = ratemap_new(LINK_BUCKETS)) == NULL ||
	    (g->sent = ratemap_new(LINK_BUCKETS)) == NULL ||
	    (g->recv = ratemap_new(LINK_BUCKETS)) == NULL) {
		if (g != NULL) {
			nodemap_free(g->probes);
			nodemap_free(g->wanted);
			nodemap_free(g->suspicions);
			nodemap_free(g->claims);
			ratemap_free(g->claim_links);
			ratemap_free(g->new_ids);
			ratemap_free(g->sent);
		}
		free(g);
		log_warn("gossip");
		return NULL;
	}
	g->par = *p;
	if (g->par.new_members_rate == 0)
		g->par.new_members_rate = GOSSIP_NEW_MEMBERS_RATE;
	if (g->par.new_members_burst == 0)
		g->par.new_members_burst = GOSSIP_NEW_MEMBERS_BURST;
	if (g->par.gossip_rate == 0)
		g->par.gossip_rate = GOSSIP_RATE;
	if (g->par.gossip_burst == 0)
		g->par.gossip_burst = GOSSIP_BURST;
	if (g->par.claim_rate == 0)
		g->par.claim_rate = GOSSIP_CLAIM_RATE;
	if (g->par.claim_probe_gap == 0)
		g->par.claim_probe_gap = GOSSIP_CLAIM_PROBE_GAP;
	g->mesh = mesh;
	g->probe = probe;
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
	g->self.auth = p->auth;
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
	if (p->limits.soft != 0)
		members_set_limits(g->members, &p->limits);
	members_on_revoked(g->members, p->is_revoked, p->revoked_arg);
	if ((g->tick = evtimer_new(base, tick_cb, g)) == NULL ||
	    (g->refute_ev = evtimer_new(base, refute_cb, g)) == NULL) {
		log_warnx("gossip: cannot start the timer");
		gossip_free(g);
		return NULL;
	}
	g->next_exchange = g->next_expire = clock_ms();
	g->stretch = 1;
	gossip_arm(g);
	return g;
}

void
gossip_free(struct gossip *g)
{
	if (g == NULL)
		return;
	if (g->tick != NULL)
		event_free(g->tick);
	if (g->refute_ev != NULL)
		event_free(g->refute_ev);
	members_free(g->members);
	nodemap_free(g->probes);
	nodemap_free(g->suspicions);
	nodemap_free(g->claims);
	ratemap_free(g->claim_links);
	nodemap_free(g->wanted);
	ratemap_free(g->new_ids);
	ratemap_free(g->sent);
	ratemap_free(g->recv);
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
put_tags(struct cbor_buf *b, const struct tagset *ts)
{
	const char	*k, *v;
	size_t		 off = 0;

	cbor_put_map(b, (size_t)ts->n);
	while (tagset_next(ts, &off, &k, &v)) {
		cbor_put_text(b, k);
		cbor_put_text(b, v);
	}
}

/* What the members op was asked to show. */
struct members_filter {
	char		 group[GROUP_NAME_MAX + 1];
	bool		 hubs;
	int		 state;		/* an enum member_state, or -1 */
	/* "KEY" or "KEY=VALUE", all of which must match */
	char		 tags[TAGS_MAX][TAG_KEY_MAX + TAG_VALUE_MAX + 2];
	int		 ntags;
};

/* Reads the filters of a members request; false after replying. */
static bool
read_filter(struct ctl_conn *c, const struct ctl_msg *msg,
    struct members_filter *mf)
{
	static const enum member_state states[] = { MEMBER_ALIVE,
	    MEMBER_SUSPECT, MEMBER_DEAD, MEMBER_LEFT };
	const struct cbor_field	*f;
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 itemlen, i;
	char			 state[16];

	memset(mf, 0, sizeof(*mf));
	mf->state = -1;
	if (!ctl_arg_text(c, msg, "group", mf->group, sizeof(mf->group),
	    false) ||
	    !ctl_arg_text(c, msg, "state", state, sizeof(state), false))
		return false;
	if ((f = ctl_msg_get(msg, "hubs")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &mf->hubs)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "hubs: not a boolean");
		return false;
	}
	for (i = 0; state[0] != '\0' && i < sizeof(states) / sizeof(states[0]);
	    i++)
		if (strcmp(state, member_state_name(states[i])) == 0)
			mf->state = (int)states[i];
	if (state[0] != '\0' && mf->state == -1) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "state: not one of alive, suspect, dead, left");
		return false;
	}
	if ((f = ctl_msg_get(msg, "tags")) == NULL)
		return true;
	if (!cbor_array_iter(f->val, f->vallen, &it) || it.items > TAGS_MAX) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "tags: not an array of at most %d texts", TAGS_MAX);
		return false;
	}
	while (cbor_iter_next(&it, &item, &itemlen))
		if (!cbor_read_name(item, itemlen, mf->tags[mf->ntags++],
		    sizeof(mf->tags[0]), NULL)) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "tags: each is KEY or KEY=VALUE");
			return false;
		}
	return true;
}

static bool
filter_wants(const struct members_filter *mf, const struct member *m)
{
	int	i;

	if ((mf->group[0] != '\0' && !record_in_group(&m->rec, mf->group)) ||
	    (mf->hubs && !m->rec.hub) ||
	    (mf->state != -1 && (int)m->state != mf->state))
		return false;
	for (i = 0; i < mf->ntags; i++)
		if (!tagset_match(&m->rec.tags, mf->tags[i]))
			return false;
	return true;
}

static void
gossip_op_members(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct gossip		*g = arg;
	struct members_filter	 mf;
	struct member		*m;
	struct link		*l;
	struct link_info	 li;
	struct cbor_buf		*b;
	size_t			 i, n = 0;

	if (!read_filter(c, msg, &mf))
		return;
#define WANTED(m)	filter_wants(&mf, (m))
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
		cbor_put_map(b, 12);
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
		cbor_put_text(b, "tags");
		put_tags(b, &m->rec.tags);
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
gossip_forget(struct gossip *g, const uint8_t *id)
{
	struct member	*m;

	if ((m = members_get(g->members, id)) != NULL && !m->self)
		log_info("member %s (%.12s) forgotten: revoked", m->rec.name,
		    m->idstr);
	(void)members_forget(g->members, id);
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

void
gossip_set_tags(struct gossip *g, const struct tagset *tags)
{
	if (tagset_equal(tags, &g->self.tags))
		return;
	g->self.tags = *tags;
	g->self.incarnation = next_incarnation(g, g->self.incarnation);
	(void)publish_self(g);
}

void
gossip_stats(const struct gossip *g, struct gossip_stats *st)
{
	*st = g->st;
}

const struct members *
gossip_members(const struct gossip *g)
{
	return g->members;
}

uint64_t
gossip_claims_throttled(const struct gossip *g)
{
	return g->claims_throttled;
}

const struct ctl_op gossip_ctl_ops[] = {
	{ "members",	0,	gossip_op_members },
	{ NULL,		0,	NULL },
};
