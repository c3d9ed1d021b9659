/* SPDX-License-Identifier: ISC */
/*
 * mesh.c: the set of links.  Accepts and dials them, keeps one link per
 * pair of nodes (the one initiated by the larger node ID survives, so
 * both ends agree without talking), and re-dials the addresses it was
 * given, with exponential backoff and jitter: those of connect whenever
 * no link to that node is up, bootstrap addresses only while no link at
 * all is up, as they are for joining.
 *
 * A dial to an address from a member's record, which anyone with the
 * network key can sign, takes a token from each of three buckets: in
 * all, of its host, of its address; so fake records naming many ports
 * of one victim make few connections to it.  A dial for a node we have
 * had a link with takes only from the first: such a node proved its
 * identity by a handshake, which a flood of fakes cannot do at the
 * rate it signs records, and a dead node's address must be dialed at
 * once to see that it is gone.  The addresses we were given (connect,
 * bootstrap, a join token) are never counted.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <sodium.h>

#include "addr.h"
#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "dispatch.h"
#include "duration.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "mesh.h"
#include "nodemap.h"
#include "noise.h"
#include "proto.h"
#include "rate.h"
#include "ratelog.h"

_Static_assert(LINK_END_REVOKED + 1 == MESH_LINK_ENDS,
    "mesh_stats has a slot per enum link_end");
_Static_assert(MESH_LOST + 1 == MESH_REASONS,
    "mesh_stats has a slot per enum mesh_reason");

#define BACKOFF_MIN_MS		200
#define BACKOFF_MAX_MS		30000
#define PING_TIMEOUT_MS		5000
#define PING_TIMEOUT_MAX_MS	60000
#define HS_LOG_MS		5000	/* ms between drop log lines */
#define STALE_LOG_MS		60000	/* a target's "network key changed" */
#define HS_SOURCE_LEN		9	/* family, IPv4 address or IPv6 /64 */
#define HOLD_MS			60000	/* no overlay dials after a bye */
#define HOLD_MAX_MS		3600000	/* a kept address shed again and again */
#define CALL_LINK_IDLE_MS	60000	/* links dialed for calls, unused */
#define MESH_ENVELOPE		(64u << 10) /* link messages: max_message + this */
#define HOLDS_MAX		4096	/* nodes held off at once */
#define DRAIN_MS		1000	/* a duplicate link's last messages */
#define DIAL_KEYS_MAX		4096	/* hosts, and addresses, with buckets */
#define LINKED_MAX		4096	/* nodes remembered as once linked */
/* A node named on the command line: an ID prefix or a name. */
#define SPEC_MAX		(NODE_NAME_MAX + 1 > NODE_ID_STRLEN ? \
				 NODE_NAME_MAX + 1 : NODE_ID_STRLEN)

/* A link the mesh knows of. */
struct mlink {
	TAILQ_ENTRY(mlink)	 entry;
	struct mesh		*m;
	struct link		*l;
	struct target		*t;	/* the target that dialed it, or NULL */
	uint8_t			 dial_id[NODE_ID_LEN];
	bool			 has_dial_id;	/* a member dial, for this node */
	mesh_dial_fn		*dial_fn;	/* who waits for its outcome */
	void			*dial_arg;
	bool			 intentional;	/* closed on purpose, either end */
	struct event		*drain;		/* a duplicate: closes when due */
	bool			 for_calls;	/* dialed to carry calls */
	bool			 reported;	/* its owner was told it is up */
	/* An inbound handshake under way: in m->handshakes, by source. */
	bool			 in_hs;
	TAILQ_ENTRY(mlink)	 hs_entry;
	uint8_t			 src[HS_SOURCE_LEN];
};

/* Someone waiting for a target's dial to succeed or fail. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct target		*t;
	struct ctl_defer	*defer;
};

/* An address to keep a link to. */
struct target {
	TAILQ_ENTRY(target)	 entry;
	struct mesh		*m;
	char			 addr[HOST_MAX + 8];
	struct mlink		*ml;		/* dialing or linked */
	uint8_t			 id[NODE_ID_LEN];
	bool			 has_id;	/* a handshake succeeded once */
	bool			 is_self;	/* the address is our own */
	bool			 boot;		/* bootstrap: never given up */
	bool			 keep;		/* connect: re-dial whenever down */
	bool			 dormant;	/* boot, not dialed while linked */
	uint64_t		 backoff_ms;
	uint64_t		 hold_ms;	/* after the other end shed it */
	struct ratelog		 stale_log;	/* refuses our network key */
	struct event		*timer;
	TAILQ_HEAD(, waiter)	 waiters;
};

struct mesh {
	struct event_base		*base;
	const struct mesh_ops		*ops;
	void				*arg;
	struct link_params		 par;
	struct hello			 hello;
	struct evdns_base		*dns;
	TAILQ_HEAD(, mlink)		 links;
	TAILQ_HEAD(, target)		 targets;
	struct dispatch			 handlers;	/* by message type */
	struct nodemap			*holds;		/* int64_t: until */
	/* Inbound handshakes under way, oldest first, and their limits. */
	TAILQ_HEAD(, mlink)		 handshakes;
	size_t				 nhandshakes;
	uint64_t			 max_hs, max_hs_src;
	bool				 call_dial;
	bool				 no_dials;	/* this node is revoked */
	uint64_t			 hs_dropped;
	struct mesh_stats		 st;	/* of links closed */
	/*
	 * Handshakes dropped since the last line about them, and when the
	 * next such line may go out (hs_log says how many once it may).
	 */
	struct event			*hs_log;
	int64_t				 hs_quiet_until;
	uint64_t			 hs_unlogged_src, hs_unlogged_all;
	uint64_t			 hs_unlogged_heard;
	char				 hs_last[ADDR_STRLEN];
	/* Failed inbound handshakes: anyone can cause them. */
	struct ratelog			 hs_failed_log;
	/* Dials of records' addresses: in all, by host, by address. */
	uint64_t			 dial_rate[MESH_DIAL_BUCKETS];
	uint64_t			 dial_burst[MESH_DIAL_BUCKETS];
	struct bucket			 dial_all;
	struct ratemap			*dial_hosts, *dial_addrs;
	struct nodemap			*linked;	/* nodes linked once */
	struct ratelog			 stale_log;	/* dials of no target */
};

static const struct link_ops	mesh_link_ops;

static void	target_dial(struct target *);
static void	target_sleep(struct target *);

/* Another link to the same node that is up, or NULL. */
static struct mlink *
mesh_find_up(struct mesh *m, const uint8_t id[NODE_ID_LEN], struct mlink *not)
{
	struct mlink	*ml;

	TAILQ_FOREACH(ml, &m->links, entry)
		if (ml != not && link_state(ml->l) == LINK_UP &&
		    ml->drain == NULL &&
		    memcmp(link_remote(ml->l)->id, id, NODE_ID_LEN) == 0)
			return ml;
	return NULL;
}

static void
waiters_answer(struct target *t, struct link *l, enum peer_code code,
    const char *why)
{
	struct waiter	*w;
	struct cbor_buf	*b;

	while ((w = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, w, entry);
		if (l == NULL)
			ctl_defer_error(w->defer, code, "%s: %s", t->addr, why);
		else {
			b = ctl_defer_begin(w->defer);
			cbor_put_map(b, 3);
			cbor_put_text(b, "node");
			cbor_put_text(b, link_id_str(l));
			cbor_put_text(b, "name");
			cbor_put_text(b, link_remote(l)->name);
			cbor_put_text(b, "addr");
			cbor_put_text(b, t->addr);
			ctl_defer_end(w->defer);
		}
		free(w);
	}
}

static void
target_free(struct target *t)
{
	waiters_answer(t, NULL, PEER_UNAVAILABLE, "no longer dialed");
	if (t->ml != NULL && t->ml->t == t)
		t->ml->t = NULL;
	TAILQ_REMOVE(&t->m->targets, t, entry);
	event_free(t->timer);
	free(t);
}

static void
target_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;

	(void)fd; (void)what;
	target_dial(t);
}

/* Schedules the next dial, backing off with jitter. */
static void
target_retry(struct target *t)
{
	struct timeval	tv;
	uint64_t	ms;

	/* 80-120% of the backoff, so that many nodes do not dial in step. */
	ms = t->backoff_ms * (80 + randombytes_uniform(41)) / 100;
	duration_timeval(ms, &tv);
	evtimer_add(t->timer, &tv);
	t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    t->backoff_ms * 2;
}

static struct mlink *
mlink_new(struct mesh *m)
{
	struct mlink	*ml;

	if ((ml = calloc(1, sizeof(*ml))) == NULL)
		return NULL;
	ml->m = m;
	return ml;
}

static void
target_dial(struct target *t)
{
	struct mesh	*m = t->m;
	struct mlink	*ml, *up;

	if (t->ml != NULL || t->is_self || m->no_dials)
		return;
	/* Linked already, perhaps by the other side: no second link. */
	if (t->has_id && (up = mesh_find_up(m, t->id, NULL)) != NULL) {
		t->ml = up;
		up->t = t;
		t->dormant = false;
		return;
	}
	if (!t->keep && mesh_links(m, NULL, 0) > 0) {
		target_sleep(t);
		return;
	}
	t->dormant = false;
	m->st.dials_kept++;
	if ((ml = mlink_new(m)) == NULL ||
	    (ml->l = link_dial(&m->par, t->addr, &mesh_link_ops, ml)) == NULL) {
		free(ml);
		target_retry(t);
		return;
	}
	log_debug("mesh: dialing %s", t->addr);
	ml->t = t;
	t->ml = ml;
	TAILQ_INSERT_TAIL(&m->links, ml, entry);
}

/*
 * A bootstrap address while this node has links: it joined, and keeps
 * its links through the overlay.  Dialed again only once no link is
 * up (mesh_wake_boot), or it would keep its node a hub.
 */
static void
target_sleep(struct target *t)
{
	evtimer_del(t->timer);
	t->backoff_ms = BACKOFF_MIN_MS;
	t->hold_ms = 0;
	if (!t->dormant)
		log_info("mesh: bootstrap %s: not dialed again while this "
		    "node has links", t->addr);
	t->dormant = true;
}

/*
 * No link is up: a bootstrap address is dialed again, after a short
 * wait, as the overlay may find members first.
 */
static void
target_wake(struct target *t)
{
	log_info("mesh: no links left; dialing bootstrap %s again", t->addr);
	t->dormant = false;
	t->backoff_ms = BACKOFF_MIN_MS;
	target_retry(t);
}

static void
mesh_wake_boot(struct mesh *m)
{
	struct target	*t;

	TAILQ_FOREACH(t, &m->targets, entry)
		if (t->dormant && t->ml == NULL)
			target_wake(t);
}

static struct target *
target_new(struct mesh *m, const char *addr, bool boot)
{
	struct target	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->timer = evtimer_new(m->base, target_timer_cb, t)) == NULL) {
		free(t);
		return NULL;
	}
	t->m = m;
	t->boot = boot;
	t->keep = !boot;
	t->backoff_ms = BACKOFF_MIN_MS;
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	TAILQ_INIT(&t->waiters);
	TAILQ_INSERT_TAIL(&m->targets, t, entry);
	return t;
}

/*
 * Of two links between the same pair, keeps the one whose initiator
 * has the larger node ID; both ends compute the same answer.
 */
static bool
mesh_keep_new(struct mesh *m, struct link *older, struct link *newer)
{
	const uint8_t	*self = m->par.id->pk;
	const uint8_t	*io, *in;
	int		 c;

	io = link_outbound(older) ? self : link_remote(older)->id;
	in = link_outbound(newer) ? self : link_remote(newer)->id;
	if ((c = memcmp(in, io, NODE_ID_LEN)) != 0)
		return c > 0;
	/*
	 * One node started both: the handshake hashes, the same at both
	 * ends, decide, as each end may have seen them come up in a
	 * different order.
	 */
	return memcmp(link_hash(newer), link_hash(older), NOISE_HASH_LEN) > 0;
}

static void
mlink_drained(evutil_socket_t fd, short what, void *arg)
{
	struct mlink	*ml = arg;

	(void)fd; (void)what;
	link_close(ml->l, "duplicate link");
}

/*
 * The loser of a pair of links to one node: nothing new goes on it, but
 * it stays open DRAIN_MS for what is already on its way either way (a
 * call, its answer), as the other end may not have seen the winner yet.
 * The other end, which made the same choice, does the same.
 */
static void
mlink_retire(struct mlink *ml)
{
	struct timeval	tv = { DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000 };

	ml->intentional = true;
	if (ml->drain != NULL)
		return;
	if ((ml->drain = evtimer_new(ml->m->base, mlink_drained, ml)) ==
	    NULL || evtimer_add(ml->drain, &tv) == -1)
		link_close(ml->l, "duplicate link");
}

/* The link's handshake is over, whichever way it ended. */
static void
hs_forget(struct mlink *ml)
{
	if (!ml->in_hs)
		return;
	TAILQ_REMOVE(&ml->m->handshakes, ml, hs_entry);
	ml->m->nhandshakes--;
	ml->in_hs = false;
}

static void
mesh_link_up(struct link *l, void *arg)
{
	struct mlink		*ml = arg, *other;
	struct mesh		*m = ml->m;
	struct target		*t;
	const uint8_t		*id = link_remote(l)->id;
	mesh_dial_fn		*fn;
	void			*fnarg;
	enum mesh_dial_result	 res;

	hs_forget(ml);
	if (memcmp(id, m->par.id->pk, NODE_ID_LEN) == 0) {
		if (ml->t != NULL && !ml->t->is_self) {
			log_warnx("mesh: %s is this node itself; not dialing "
			    "it again", ml->t->addr);
			ml->t->is_self = true;
			waiters_answer(ml->t, NULL, PEER_INVALID_ARGUMENT,
			    "that is this node itself");
		}
		ml->intentional = true;
		if (ml->dial_fn != NULL) {
			ml->dial_fn(MESH_DIAL_FAILED, "that is this node",
			    ml->dial_arg);
			ml->dial_fn = NULL;
		}
		link_close(l, "connected to itself");
		return;
	}
	log_info("link %s: up (%s)", link_name(l),
	    link_outbound(l) ? "outbound" : "inbound");
	/*
	 * Whoever dialed for a node learns whether that node answered, last:
	 * once a duplicate is resolved, and ml may be gone.
	 */
	fn = ml->dial_fn;
	fnarg = ml->dial_arg;
	res = !ml->has_dial_id || memcmp(ml->dial_id, id, NODE_ID_LEN) == 0 ?
	    MESH_DIAL_LINKED : MESH_DIAL_FAILED;
	ml->dial_fn = NULL;
	if ((t = ml->t) != NULL) {
		memcpy(t->id, id, NODE_ID_LEN);
		t->has_id = true;
		t->backoff_ms = BACKOFF_MIN_MS;
		waiters_answer(t, l, PEER_OK, NULL);
	}
	/* Targets waiting to re-dial this node need not. */
	TAILQ_FOREACH(t, &m->targets, entry)
		if (t->ml == NULL && t->has_id &&
		    memcmp(t->id, id, NODE_ID_LEN) == 0) {
			evtimer_del(t->timer);
			t->ml = ml;
			t->dormant = false;
			if (ml->t == NULL)
				ml->t = t;
		}
	if ((other = mesh_find_up(m, id, ml)) != NULL &&
	    !mesh_keep_new(m, other->l, l))
		mlink_retire(ml);
	else {
		if (other != NULL)
			mlink_retire(other);
		/* The link kept is reported like any other. */
		if (link_state(l) == LINK_UP) {
			ml->reported = true;
			/* Full: its dials are bounded as a stranger's. */
			(void)nodemap_put(m->linked, id);
			m->ops->up(m->arg, l);
		}
	}
	if (fn != NULL)
		fn(res, "another node answered", fnarg);
}

static enum mesh_reason
mesh_reason(const struct mlink *ml, enum link_end why)
{
	if (ml->intentional)
		return MESH_ON_PURPOSE;
	switch (why) {
	case LINK_END_REFUSED:
		return MESH_REFUSED;
	case LINK_END_SILENT:
		return MESH_SILENT;
	default:
		return MESH_LOST;
	}
}

const char *
mesh_reason_name(enum mesh_reason r)
{
	switch (r) {
	case MESH_ON_PURPOSE:
		return "closed on purpose";
	case MESH_REFUSED:
		return "refused";
	case MESH_SILENT:
		return "silent";
	default:
		return "lost";
	}
}

/*
 * A failed handshake, logged here rather than by the link: our own dials
 * are bounded by their backoff, but whoever can reach a listener can
 * make inbound ones fail as fast as it likes.
 */
static void
mesh_log_handshake(struct mesh *m, struct link *l, const char *reason)
{
	unsigned	skipped;

	if (link_outbound(l)) {
		log_warnx("link %s: %s", link_name(l), reason);
		return;
	}
	if (!ratelog_ok(&m->hs_failed_log, 1000, &skipped))
		return;
	if (skipped > 0)
		log_warnx("mesh: %u more inbound handshakes failed", skipped);
	log_warnx("link %s: %s, closing", link_name(l), reason);
}

/*
 * A handshake under a retired network key.  Dialing, the peer told us:
 * the node cannot join until someone rejoins it, so it says so loudly,
 * though not on every redial.
 */
static void
mesh_log_stale(struct mesh *m, struct mlink *ml, struct link *l,
    const char *reason)
{
	struct ratelog	*rl = ml->t != NULL ? &ml->t->stale_log : &m->stale_log;
	unsigned	 skipped;

	if (!link_outbound(l)) {
		mesh_log_handshake(m, l, reason);
		return;
	}
	if (!ratelog_ok(rl, STALE_LOG_MS, &skipped))
		return;
	if (skipped > 0)
		log_errorx("%s (%u more times)", reason, skipped);
	else
		log_errorx("%s", reason);
}

static void
mesh_link_down(struct link *l, enum link_end why, const char *reason,
    void *arg)
{
	struct mlink		*ml = arg, *up;
	struct mesh		*m = ml->m;
	struct target		*t;
	struct link_info	 info;

	if (why == LINK_END_HANDSHAKE || why == LINK_END_REVOKED)
		mesh_log_handshake(m, l, reason);
	else if (why == LINK_END_STALE_KEY)
		mesh_log_stale(m, ml, l, reason);
	hs_forget(ml);
	link_info(l, &info);
	m->st.bytes_in += info.bytes_in;
	m->st.bytes_out += info.bytes_out;
	m->st.msgs_in += info.msgs_in;
	m->st.msgs_out += info.msgs_out;
	if (link_up_since(l) == 0 && (unsigned)why < MESH_LINK_ENDS)
		m->st.handshakes_failed[why]++;
	if (ml->reported)
		m->st.links_down[mesh_reason(ml, why)]++;
	if (ml->drain != NULL)
		event_free(ml->drain);
	TAILQ_REMOVE(&m->links, ml, entry);
	if (ml->dial_fn != NULL)
		ml->dial_fn(why == LINK_END_REFUSED ? MESH_DIAL_REFUSED :
		    MESH_DIAL_FAILED, reason, ml->dial_arg);
	if (ml->reported)
		m->ops->down(m->arg, l, mesh_reason(ml, why));
	TAILQ_FOREACH(t, &m->targets, entry) {
		if (t->ml != ml)
			continue;
		t->ml = NULL;
		if (t->has_id && (up = mesh_find_up(m, t->id, ml)) != NULL) {
			t->ml = up;	/* the pair's other link survives */
			if (up->t == NULL)
				up->t = t;
			continue;
		}
		/* Whoever waits on this attempt hears how it ended. */
		waiters_answer(t, NULL, PEER_UNAVAILABLE, reason);
		if (!t->has_id && !t->boot) {
			/* A connect that never linked: not retried. */
			target_free(t);
			break;
		}
		if (t->is_self)
			continue;
		if (!t->keep) {
			/*
			 * Bootstrap: dormant while other links are up, else
			 * dialed again soon, whatever closed the link.
			 */
			if (mesh_links(m, NULL, 0) > 0)
				target_sleep(t);
			else if (t->has_id)
				target_wake(t);
			else
				target_retry(t);
		} else if (ml->intentional) {
			/*
			 * Closed on purpose (shed, say): do not fight it,
			 * and wait longer each time it happens again.
			 */
			struct timeval	tv;

			t->hold_ms = t->hold_ms == 0 ? HOLD_MS :
			    (t->hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS :
			    t->hold_ms * 2);
			tv.tv_sec = (time_t)(t->hold_ms / 1000);
			tv.tv_usec = 0;
			t->backoff_ms = BACKOFF_MIN_MS;
			evtimer_add(t->timer, &tv);
		} else
			target_retry(t);
	}
	if (mesh_links(m, NULL, 0) == 0)
		mesh_wake_boot(m);
	free(ml);
}

/* Holds id off for HOLD_MS, or lifts its hold (ms 0). */
static void
mesh_hold(struct mesh *m, const uint8_t *id, int64_t ms)
{
	int64_t		*until, now = clock_ms();
	const uint8_t	*held;
	size_t		 i;

	if (ms == 0) {
		nodemap_del(m->holds, id);
		return;
	}
	if (nodemap_count(m->holds) == HOLDS_MAX)
		for (i = nodemap_count(m->holds); i-- > 0; )
			if (*(int64_t *)nodemap_at(m->holds, i, &held) <= now)
				nodemap_del(m->holds, held);
	/* Full of live holds: this one is not kept, a dial comes sooner. */
	if ((until = nodemap_put(m->holds, id)) != NULL)
		*until = now + ms;
}

bool
mesh_held(struct mesh *m, const uint8_t *id)
{
	int64_t	*until = nodemap_get(m->holds, id);

	if (until == NULL)
		return false;
	if (*until > clock_ms())
		return true;
	nodemap_del(m->holds, id);
	return false;
}

static void
mesh_link_message(struct link *l, const char *type, const struct cbor_field *f,
    int nf, const uint8_t *msg, size_t len, void *arg)
{
	const struct dispatch_entry	*e;
	const struct mesh_handler	*h;
	struct mlink			*ml = arg;
	char				 esc[64];

	(void)msg; (void)len;
	if (strcmp(type, "bye") == 0) {
		/* The other end closes this link on purpose: not a failure. */
		ml->intentional = true;
		mesh_hold(ml->m, link_remote(l)->id, HOLD_MS);
		return;
	}
	if ((e = dispatch_find(&ml->m->handlers, type)) != NULL) {
		h = e->handler;
		h->fn(e->arg, l, type, f, nf);
		return;
	}
	/* Newer nodes may send what this one does not know: skip it. */
	log_debug("link %s: ignoring message %s", link_name(l),
	    log_escape(type, strlen(type), esc, sizeof(esc)));
}

int
mesh_handle(struct mesh *m, const struct mesh_handler *h, void *arg)
{
	for (; h->type != NULL; h++)
		if (dispatch_add(&m->handlers, "mesh: message", h->type, h,
		    arg) == -1)
			return -1;
	return 0;
}

/* Closes an up link on purpose, telling the other end first. */
static void
mesh_close_on_purpose(struct mlink *ml, const char *reason)
{
	static const uint8_t	bye[] = { 0xa1, 0x61, 't', 0x63, 'b', 'y', 'e' };

	struct link	*l = ml->l;

	ml->intentional = true;
	if (link_state(l) == LINK_UP) {
		mesh_hold(ml->m, link_remote(l)->id, HOLD_MS);
		/* The send may close l already, freeing ml: use l only. */
		(void)link_send(l, bye, sizeof(bye));
	}
	link_close(l, reason);
}

/* Whether ml is a link to id, or a dial for it. */
static bool
mlink_to(const struct mlink *ml, const uint8_t *id)
{
	switch (link_state(ml->l)) {
	case LINK_UP:
		return memcmp(link_remote(ml->l)->id, id, NODE_ID_LEN) == 0;
	case LINK_CLOSED:
		return false;
	default:
		return ml->has_dial_id &&
		    memcmp(ml->dial_id, id, NODE_ID_LEN) == 0;
	}
}

void
mesh_revoke(struct mesh *m, const uint8_t *id)
{
	struct mlink	*ml;
	int64_t		*until;

	/* One at a time, from the start: a close may change the list. */
	do {
		TAILQ_FOREACH(ml, &m->links, entry)
			if (mlink_to(ml, id))
				break;
		if (ml != NULL)
			mesh_close_on_purpose(ml, "revoked");
	} while (ml != NULL);
	/* After the closes, whose holds end. */
	if ((until = nodemap_put(m->holds, id)) != NULL)
		*until = INT64_MAX;
}

void
mesh_stop_dialing(struct mesh *m)
{
	m->no_dials = true;
}

/* An up link whose peer stopped answering pings: gossip probes it. */
static void
mesh_link_quiet(struct link *l, void *arg)
{
	struct mlink	*ml = arg;

	if (ml->reported && ml->drain == NULL && ml->m->ops->quiet != NULL)
		ml->m->ops->quiet(ml->m->arg, l);
}

static const struct link_ops mesh_link_ops = {
	mesh_link_up, mesh_link_down, mesh_link_message, mesh_link_quiet,
};

/*
 * Where a connection comes from, as max_handshakes_per_address counts
 * it: an IPv4 address (IPv4-mapped IPv6 too), or an IPv6 /64, the
 * least a host is usually given.
 */
static void
hs_source(const struct sockaddr *sa, uint8_t src[HS_SOURCE_LEN])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(src, 0, HS_SOURCE_LEN);
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		src[0] = 4;
		memcpy(src + 1, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			src[0] = 4;
			memcpy(src + 1, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			src[0] = 6;
			memcpy(src + 1, sin6->sin6_addr.s6_addr, 8);
		}
	}
}

/* "192.0.2.1" or "2001:db8:1:2::/64", for logs. */
static const char *
hs_source_str(const uint8_t src[HS_SOURCE_LEN], char buf[ADDR_STRLEN])
{
	struct in6_addr	a6;
	char		s6[INET6_ADDRSTRLEN];

	if (src[0] == 4 && inet_ntop(AF_INET, src + 1, buf, ADDR_STRLEN) !=
	    NULL)
		return buf;
	memset(&a6, 0, sizeof(a6));
	memcpy(a6.s6_addr, src + 1, 8);
	if (src[0] == 6 && inet_ntop(AF_INET6, &a6, s6, sizeof(s6)) != NULL)
		snprintf(buf, ADDR_STRLEN, "%s/64", s6);
	else
		snprintf(buf, ADDR_STRLEN, "an unknown address");
	return buf;
}

/* Says how many handshakes were dropped since the last line said so. */
static void
hs_log_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mesh	*m = arg;

	(void)fd; (void)what;
	if (m->hs_unlogged_src + m->hs_unlogged_all == 0)
		return;
	log_warnx("mesh: %" PRIu64 " more handshakes closed in the last %d s "
	    "to make room: %" PRIu64 " over max_handshakes_per_address, %"
	    PRIu64 " over max_handshakes, %" PRIu64 " of them after a valid "
	    "first message; the last was from %s",
	    m->hs_unlogged_src + m->hs_unlogged_all, HS_LOG_MS / 1000,
	    m->hs_unlogged_src, m->hs_unlogged_all, m->hs_unlogged_heard,
	    m->hs_last);
	m->hs_unlogged_src = m->hs_unlogged_all = m->hs_unlogged_heard = 0;
	m->hs_quiet_until = clock_ms() + HS_LOG_MS;
}

/*
 * Closes ml, the handshake of its source (src not NULL, n of them under
 * way) or of all (n in all) that hs_victim chose, to make room for a new
 * one.  A flood would log thousands of lines: the first drop is logged,
 * the rest are counted into one line per HS_LOG_MS.
 */
static void
hs_drop(struct mesh *m, struct mlink *ml, const uint8_t *src, size_t n)
{
	struct timeval	 tv;
	int64_t		 now = clock_ms();
	bool		 heard = link_hs_heard(ml->l);
	const char	*which;
	char		 from[ADDR_STRLEN];

	m->hs_dropped++;
	which = heard ? "oldest, every one having sent a valid first message" :
	    "oldest that sent no valid message";
	if (now >= m->hs_quiet_until) {
		if (src != NULL)
			log_warnx("mesh: %zu handshakes under way from %s, "
			    "closing the %s: %s; more such lines at most "
			    "every %d s", n, hs_source_str(src, from), which,
			    link_name(ml->l), HS_LOG_MS / 1000);
		else
			log_warnx("mesh: %zu handshakes under way, closing the "
			    "%s: %s; more such lines at most every %d s",
			    n, which, link_name(ml->l), HS_LOG_MS / 1000);
		m->hs_quiet_until = now + HS_LOG_MS;
	} else {
		if (src != NULL)
			m->hs_unlogged_src++;
		else
			m->hs_unlogged_all++;
		if (heard)
			m->hs_unlogged_heard++;
		snprintf(m->hs_last, sizeof(m->hs_last), "%s",
		    link_name(ml->l));
		if (!evtimer_pending(m->hs_log, NULL)) {
			duration_timeval((uint64_t)(m->hs_quiet_until - now),
			    &tv);
			evtimer_add(m->hs_log, &tv);
		}
	}
	/* Not up, so never reported: mesh_link_down frees ml, and only it. */
	link_close(ml->l, src != NULL ? "too many handshakes from its address" :
	    "too many handshakes");
}

/*
 * Which handshake under way makes room for a new connection: of those
 * from src if it is not NULL, else of all; *n says how many those are.
 * Never the new one, or a flood that came first would hold its places
 * until handshake_timeout.  A dialer without the network key cannot
 * write a valid first message (XXpsk0 binds it to the key), and a real
 * node's arrives half a round trip after its connection: the oldest that
 * has not sent one goes first, the oldest of all only when every one
 * has.  NULL if there are none.
 */
static struct mlink *
hs_victim(struct mesh *m, const uint8_t *src, size_t *n)
{
	struct mlink	*ml, *oldest = NULL, *silent = NULL;

	*n = 0;
	TAILQ_FOREACH(ml, &m->handshakes, hs_entry) {
		if (src != NULL && memcmp(ml->src, src, HS_SOURCE_LEN) != 0)
			continue;
		if ((*n)++ == 0)
			oldest = ml;
		if (silent == NULL && !link_hs_heard(ml->l))
			silent = ml;
	}
	return silent != NULL ? silent : oldest;
}

void
mesh_accept(struct mesh *m, int fd, const struct sockaddr *sa)
{
	struct mlink	*ml;
	uint8_t		 src[HS_SOURCE_LEN];
	size_t		 n;

	hs_source(sa, src);
	if ((ml = hs_victim(m, src, &n)) != NULL && n >= m->max_hs_src)
		hs_drop(m, ml, src, n);
	else if (m->nhandshakes >= m->max_hs &&
	    (ml = hs_victim(m, NULL, &n)) != NULL)
		hs_drop(m, ml, NULL, m->nhandshakes);

	if ((ml = mlink_new(m)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if ((ml->l = link_accept(&m->par, fd, sa, &mesh_link_ops, ml)) ==
	    NULL) {
		free(ml);
		return;
	}
	TAILQ_INSERT_TAIL(&m->links, ml, entry);
	memcpy(ml->src, src, sizeof(src));
	ml->in_hs = true;
	TAILQ_INSERT_TAIL(&m->handshakes, ml, hs_entry);
	m->nhandshakes++;
}

uint64_t
mesh_handshakes_dropped(const struct mesh *m)
{
	return m->hs_dropped;
}

void
mesh_stats(const struct mesh *m, struct mesh_stats *st)
{
	const struct mlink	*ml;
	struct link_info	 info;

	*st = m->st;
	st->handshakes_dropped = m->hs_dropped;
	TAILQ_FOREACH(ml, &m->links, entry) {
		link_info(ml->l, &info);
		st->bytes_in += info.bytes_in;
		st->bytes_out += info.bytes_out;
		st->msgs_in += info.msgs_in;
		st->msgs_out += info.msgs_out;
	}
}

/* The dial buckets' rates and bursts, the defaults for those not set. */
static void
dial_limits(struct mesh *m, const struct mesh_params *p)
{
	const uint64_t	rate[MESH_DIAL_BUCKETS] = { p->dial_rate,
			    p->dial_rate_per_host, p->dial_rate_per_address };
	const uint64_t	burst[MESH_DIAL_BUCKETS] = { p->dial_burst,
			    p->dial_burst_per_host, p->dial_burst_per_address };
	const uint64_t	drate[MESH_DIAL_BUCKETS] = { MESH_DIAL_RATE,
			    MESH_DIAL_RATE_PER_HOST,
			    MESH_DIAL_RATE_PER_ADDRESS };
	const uint64_t	dburst[MESH_DIAL_BUCKETS] = { MESH_DIAL_BURST,
			    MESH_DIAL_BURST_PER_HOST,
			    MESH_DIAL_BURST_PER_ADDRESS };
	int		i;

	for (i = 0; i < MESH_DIAL_BUCKETS; i++) {
		m->dial_rate[i] = rate[i] != 0 ? rate[i] : drate[i];
		m->dial_burst[i] = burst[i] != 0 ? burst[i] : dburst[i];
	}
}

struct mesh *
mesh_new(struct event_base *base, const struct mesh_params *p,
    const struct mesh_ops *ops, void *arg)
{
	struct mesh	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->holds = nodemap_new(sizeof(int64_t), HOLDS_MAX)) == NULL ||
	    (m->dial_hosts = ratemap_new(DIAL_KEYS_MAX)) == NULL ||
	    (m->dial_addrs = ratemap_new(DIAL_KEYS_MAX)) == NULL ||
	    (m->linked = nodemap_new(1, LINKED_MAX)) == NULL ||
	    (m->hs_log = evtimer_new(base, hs_log_cb, m)) == NULL) {
		if (m != NULL) {
			nodemap_free(m->holds);
			ratemap_free(m->dial_hosts);
			ratemap_free(m->dial_addrs);
			nodemap_free(m->linked);
		}
		free(m);
		log_warn("mesh");
		return NULL;
	}
	m->base = base;
	m->ops = ops;
	m->arg = arg;
	TAILQ_INIT(&m->links);
	TAILQ_INIT(&m->targets);
	TAILQ_INIT(&m->handshakes);
	m->max_hs = p->max_handshakes;
	m->max_hs_src = p->max_handshakes_per_address;
	m->call_dial = p->call_dial;
	dial_limits(m, p);
	m->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (m->dns == NULL) {
		/* No resolv.conf: numeric addresses and /etc/hosts still work. */
		m->dns = evdns_base_new(base, 0);
		if (m->dns != NULL)
			evdns_base_load_hosts(m->dns, NULL);
	}
	if (m->dns == NULL) {
		log_warnx("mesh: cannot set up name resolution");
		event_free(m->hs_log);
		nodemap_free(m->holds);
		ratemap_free(m->dial_hosts);
		ratemap_free(m->dial_addrs);
		nodemap_free(m->linked);
		free(m);
		return NULL;
	}
	m->hello = *p->hello;
	m->par.base = base;
	m->par.dns = m->dns;
	m->par.id = p->id;
	m->par.keys = p->keys;
	m->par.hello = &m->hello;
	/* A call carries up to max_message of arguments, plus its own keys. */
	m->par.max_message = p->max_message + MESH_ENVELOPE;
	m->par.ping_interval = p->ping_interval;
	/* Nodes on one host do not all ping in the same instant. */
	m->par.ping_phase_us = randombytes_uniform((uint32_t)(p->ping_interval *
	    1000));
	m->par.dead_after = p->dead_after;
	m->par.handshake_timeout = p->handshake_timeout;
	m->par.is_revoked = p->is_revoked;
	m->par.revoked_arg = p->revoked_arg;
	return m;
}

void
mesh_free(struct mesh *m)
{
	struct target	*t;

	if (m == NULL)
		return;
	while ((t = TAILQ_FIRST(&m->targets)) != NULL)
		target_free(t);
	while (!TAILQ_EMPTY(&m->links))
		mesh_close_on_purpose(TAILQ_FIRST(&m->links), "shutting down");
	evdns_base_free(m->dns, 0);
	dispatch_free(&m->handlers);
	nodemap_free(m->holds);
	ratemap_free(m->dial_hosts);
	ratemap_free(m->dial_addrs);
	nodemap_free(m->linked);
	event_free(m->hs_log);
	free(m);
}

/*
 * The one up link whose node ID starts with spec (at least 4
 * characters) or whose name is spec.  NULL after replying if there is
 * none or more than one.
 */
static struct mlink *
mesh_lookup(struct mesh *m, struct ctl_conn *c, uint64_t id, const char *spec)
{
	struct mlink	*ml, *found = NULL;
	int		 matches = 0;

	TAILQ_FOREACH(ml, &m->links, entry) {
		if (link_state(ml->l) != LINK_UP)
			continue;
		if (node_id_prefix(link_id_str(ml->l), spec) ||
		    strcmp(link_remote(ml->l)->name, spec) == 0) {
			found = ml;
			matches++;
		}
	}
	if (matches == 0)
		ctl_reply_error(c, id, PEER_NOT_FOUND, "no linked node %s "
		    "(give a name or 4+ characters of its ID)", spec);
	else if (matches > 1)
		ctl_reply_error(c, id, PEER_INVALID_ARGUMENT, "%s matches %d "
		    "nodes; give more of the ID", spec, matches);
	return matches == 1 ? found : NULL;
}

static void
waiter_cancel(void *arg)
{
	struct waiter	*w = arg;

	TAILQ_REMOVE(&w->t->waiters, w, entry);
	free(w);
}

static void
mesh_op_connect(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct mesh	*m = arg;
	struct target	*t;
	struct waiter	*w;
	char		 addr[HOST_MAX + 8], host[HOST_MAX], err[128];
	uint16_t	 port;
	bool		 created = false;

	if (!ctl_arg_text(c, msg, "addr", addr, sizeof(addr), true))
		return;
	if (addr_split(addr, host, &port, err, sizeof(err)) == -1) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "addr: %s",
		    err);
		return;
	}
	if (port == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "addr: %s: "
		    "port 0", addr);
		return;
	}
	if (m->no_dials) {
		ctl_reply_error(c, msg->id, PEER_FAILED_PRECONDITION, "this "
		    "node was revoked: other nodes refuse it");
		return;
	}
	TAILQ_FOREACH(t, &m->targets, entry)
		if (strcmp(t->addr, addr) == 0)
			break;
	if (t == NULL) {
		if ((t = target_new(m, addr, false)) == NULL) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return;
		}
		created = true;
	}
	if (t->is_self) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "%s is this "
		    "node itself", addr);
		return;
	}
	/*
	 * Asked for by a user: kept from now on, even a bootstrap address,
	 * and no hold-offs from earlier sheds stand.
	 */
	t->keep = true;
	t->dormant = false;
	t->hold_ms = 0;
	if (t->has_id)
		mesh_hold(m, t->id, 0);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->defer = ctl_defer(c, msg->id, waiter_cancel, w)) == NULL) {
		if (w == NULL)
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
		free(w);
		/* Nobody waits on a target made for this request alone. */
		if (created)
			target_free(t);
		return;
	}
	w->t = t;
	TAILQ_INSERT_TAIL(&t->waiters, w, entry);
	if (t->ml != NULL && link_state(t->ml->l) == LINK_UP) {
		waiters_answer(t, t->ml->l, PEER_OK, NULL);
		return;
	}
	if (t->ml == NULL) {
		evtimer_del(t->timer);
		t->backoff_ms = BACKOFF_MIN_MS;
		target_dial(t);
	}
}

static void
mesh_op_disconnect(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct mesh	*m = arg;
	struct mlink	*ml;
	struct target	*t, *next;
	struct cbor_buf	*b;
	uint8_t		 id[NODE_ID_LEN];
	char		 spec[SPEC_MAX], name[NODE_NAME_MAX + 1];

	if (!ctl_arg_text(c, msg, "node", spec, sizeof(spec), true) ||
	    (ml = mesh_lookup(m, c, msg->id, spec)) == NULL)
		return;
	memcpy(id, link_remote(ml->l)->id, NODE_ID_LEN);
	snprintf(name, sizeof(name), "%s", link_remote(ml->l)->name);
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 2);
	cbor_put_text(b, "node");
	cbor_put_text(b, link_id_str(ml->l));
	cbor_put_text(b, "name");
	cbor_put_text(b, name);
	ctl_result_end(c);
	/* Forget its addresses first, or they would re-dial at once. */
	for (t = TAILQ_FIRST(&m->targets); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if ((t->has_id && memcmp(t->id, id, NODE_ID_LEN) == 0) ||
		    t->ml == ml)
			target_free(t);
	}
	log_info("link %s: disconnected on request", link_name(ml->l));
	mesh_close_on_purpose(ml, "disconnected on request");
}

static void
put_rtt(struct cbor_buf *b, const char *key, int64_t us)
{
	cbor_put_text(b, key);
	if (us < 0)
		cbor_put_null(b);
	else
		cbor_put_uint(b, (uint64_t)us);
}

static const char *
state_name(enum link_state s)
{
	switch (s) {
	case LINK_CONNECTING:
		return "connecting";
	case LINK_HANDSHAKE:
		return "handshake";
	case LINK_UP:
		return "up";
	default:
		return "closed";
	}
}

static void
mesh_op_peers(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct mesh		*m = arg;
	struct mlink		*ml;
	struct link_info	 i;
	struct cbor_buf		*b;
	size_t			 n = 0;

	TAILQ_FOREACH(ml, &m->links, entry)
		n++;
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "peers");
	cbor_put_array(b, n);
	TAILQ_FOREACH(ml, &m->links, entry) {
		link_info(ml->l, &i);
		cbor_put_map(b, 14);
		cbor_put_text(b, "node");
		cbor_put_text(b, i.id);
		cbor_put_text(b, "name");
		cbor_put_text(b, i.name);
		cbor_put_text(b, "addr");
		cbor_put_text(b, i.addr);
		cbor_put_text(b, "direction");
		cbor_put_text(b, i.outbound ? "out" : "in");
		cbor_put_text(b, "state");
		cbor_put_text(b, ml->drain != NULL ? "draining" :
		    state_name(i.state));
		put_rtt(b, "rtt_us", i.rtt_last_us);
		put_rtt(b, "rtt_avg_us", i.rtt_avg_us);
		put_rtt(b, "rtt_min_us", i.rtt_min_us);
		cbor_put_text(b, "uptime_ms");
		cbor_put_uint(b, (uint64_t)i.uptime_ms);
		cbor_put_text(b, "bytes_in");
		cbor_put_uint(b, i.bytes_in);
		cbor_put_text(b, "bytes_out");
		cbor_put_uint(b, i.bytes_out);
		cbor_put_text(b, "msgs_in");
		cbor_put_uint(b, i.msgs_in);
		cbor_put_text(b, "msgs_out");
		cbor_put_uint(b, i.msgs_out);
		cbor_put_text(b, "target");
		if (ml->t != NULL)
			cbor_put_text(b, ml->t->addr);
		else
			cbor_put_null(b);
	}
	ctl_result_end(c);
}

/* A ping op in flight: the client's request and the link it went on. */
struct ping_req {
	struct ctl_defer	*defer;
	struct link		*l;
	size_t			 size;
};

static void
ping_done(enum link_ping_result res, int64_t rtt_us, const char *why,
    void *arg)
{
	struct ping_req	*p = arg;
	struct cbor_buf	*b;

	if (res != LINK_PING_ANSWERED)
		ctl_defer_error(p->defer, res == LINK_PING_TIMEOUT ?
		    PEER_DEADLINE_EXCEEDED : PEER_UNAVAILABLE, "%s", why);
	else {
		b = ctl_defer_begin(p->defer);
		cbor_put_map(b, 2);
		cbor_put_text(b, "rtt_us");
		cbor_put_uint(b, (uint64_t)rtt_us);
		cbor_put_text(b, "size");
		cbor_put_uint(b, p->size);
		ctl_defer_end(p->defer);
	}
	free(p);
}

static void
ping_cancel(void *arg)
{
	struct ping_req	*p = arg;

	link_ping_cancel(p->l, p);
	free(p);
}

static void
mesh_op_ping(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct mesh	*m = arg;
	struct mlink	*ml;
	struct ping_req	*p;
	char		 spec[SPEC_MAX];
	uint64_t	 size = 0, timeout = PING_TIMEOUT_MS;

	if (!ctl_arg_text(c, msg, "node", spec, sizeof(spec), true) ||
	    !ctl_arg_uint(c, msg, "size", &size, m->par.max_message - 64) ||
	    !ctl_arg_uint(c, msg, "timeout_ms", &timeout, PING_TIMEOUT_MAX_MS) ||
	    (ml = mesh_lookup(m, c, msg->id, spec)) == NULL)
		return;
	if (timeout == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "timeout_ms: must be 1 or more");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
		    "out of memory");
		return;
	}
	p->l = ml->l;
	p->size = (size_t)size;
	if ((p->defer = ctl_defer(c, msg->id, ping_cancel, p)) == NULL) {
		free(p);
		return;
	}
	if (link_ping(ml->l, p->size, timeout, ping_done, p) == -1) {
		ctl_defer_error(p->defer, PEER_RESOURCE_EXHAUSTED, "too many "
		    "pings or bytes in flight on this link");
		free(p);
	}
}

/*
 * The dial tables' keys of addr's host (an IPv4 address, an IPv6 /64,
 * else the name as written, in lower case) and of the host and port.
 */
static void
dial_keys(const char *addr, uint8_t host[RATEMAP_KEY_LEN],
    uint8_t full[RATEMAP_KEY_LEN])
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			 k[1 + HOST_MAX + 2];
	char			 name[HOST_MAX], err[128];
	uint16_t		 port = 0;
	size_t			 n, i;

	memset(k, 0, sizeof(k));
	if (addr_parse(addr, &ss, &sslen, err, sizeof(err)) == 0) {
		hs_source((struct sockaddr *)&ss, k);
		n = HS_SOURCE_LEN;
		port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		if (addr_split(addr, name, &port, err, sizeof(err)) == -1)
			snprintf(name, sizeof(name), "%s", addr);
		k[0] = 'n';
		for (n = strlen(name), i = 0; i < n; i++)
			k[1 + i] = (uint8_t)(name[i] >= 'A' && name[i] <= 'Z' ?
			    name[i] - 'A' + 'a' : name[i]);
		n++;
	}
	ratemap_key(host, k, n);
	k[n] = (uint8_t)(port >> 8);
	k[n + 1] = (uint8_t)port;
	ratemap_key(full, k, n + 2);
}

/*
 * Takes a token from each dial bucket of addr if all have one; else
 * takes none and counts the buckets that had none.  For a node once
 * linked (id), only the first bucket counts.
 */
static bool
dial_allowed(struct mesh *m, const uint8_t *id, const char *addr)
{
	struct bucket	*b[MESH_DIAL_BUCKETS];
	uint8_t		 host[RATEMAP_KEY_LEN], full[RATEMAP_KEY_LEN];
	int64_t		 now = clock_ms();
	bool		 ok = true;
	int		 i, n = MESH_DIAL_BUCKETS;

	b[0] = &m->dial_all;
	if (id != NULL && nodemap_get(m->linked, id) != NULL)
		n = 1;
	else {
		dial_keys(addr, host, full);
		/* Each pointer is good until the next get on its table. */
		if ((b[1] = ratemap_get(m->dial_hosts, host)) == NULL ||
		    (b[2] = ratemap_get(m->dial_addrs, full)) == NULL)
			return false;
	}
	for (i = 0; i < n; i++)
		if (!bucket_ready(b[i], m->dial_rate[i], m->dial_burst[i],
		    now, 1)) {
			m->st.dials_throttled[i]++;
			ok = false;
		}
	if (!ok)
		return false;
	for (i = 0; i < n; i++)
		(void)bucket_take(b[i], m->dial_rate[i], m->dial_burst[i],
		    now, 1);
	return true;
}

static int
dial(struct mesh *m, const uint8_t *id, const char *addr, mesh_dial_fn *fn,
    void *arg, enum mesh_dial_cause cause, bool for_calls,
    uint64_t timeout_ms)
{
	struct mlink	*ml;

	if (m->no_dials)
		return -1;
	if (cause == MESH_DIAL_RECORD && !dial_allowed(m, id, addr)) {
		log_debug("mesh: not dialing %s: too many dials", addr);
		errno = EAGAIN;
		return -1;
	}
	m->st.dials[cause]++;
	if ((ml = mlink_new(m)) == NULL)
		return -1;
	if (id != NULL) {
		memcpy(ml->dial_id, id, NODE_ID_LEN);
		ml->has_dial_id = true;
	}
	ml->dial_fn = fn;
	ml->dial_arg = arg;
	ml->for_calls = for_calls;
	if ((ml->l = link_dial(&m->par, addr, &mesh_link_ops, ml)) == NULL) {
		free(ml);
		return -1;
	}
	if (timeout_ms != 0)
		(void)link_limit_handshake(ml->l, timeout_ms);
	TAILQ_INSERT_TAIL(&m->links, ml, entry);
	return 0;
}

int
mesh_dial_member(struct mesh *m, const uint8_t *id, const char *addr,
    enum mesh_dial_cause cause, mesh_dial_fn *fn, void *arg)
{
	return dial(m, id, addr, fn, arg, cause, false, 0);
}

int
mesh_dial_probe(struct mesh *m, const uint8_t *id, const char *addr,
    uint64_t timeout_ms, int flags, mesh_dial_fn *fn, void *arg)
{
	return dial(m, id, addr, fn, arg, MESH_DIAL_RECORD,
	    (flags & MESH_DIAL_TRANSIENT) != 0,
	    timeout_ms);
}

int
mesh_dial_for_calls(struct mesh *m, const uint8_t *id, const char *addr,
    mesh_dial_fn *fn, void *arg)
{
	if (!m->call_dial)
		return -1;
	return dial(m, id, addr, fn, arg, MESH_DIAL_RECORD, true, 0);
}

void
mesh_close_idle(struct mesh *m, size_t keep)
{
	struct mlink	*ml, *next;
	int64_t		 now = clock_ms(), last;
	size_t		 up = mesh_links(m, NULL, 0);

	for (ml = TAILQ_FIRST(&m->links); ml != NULL; ml = next) {
		next = TAILQ_NEXT(ml, entry);
		if (up <= keep)
			break;
		if (!ml->for_calls || ml->t != NULL || ml->drain != NULL ||
		    link_state(ml->l) != LINK_UP)
			continue;
		last = link_used_ms(ml->l) > link_up_since(ml->l) ?
		    link_used_ms(ml->l) : link_up_since(ml->l);
		if (now - last < CALL_LINK_IDLE_MS)
			continue;
		log_info("link %s: no calls for %d s, closing",
		    link_name(ml->l), CALL_LINK_IDLE_MS / 1000);
		mesh_close_on_purpose(ml, "idle: dialed for calls");
		up--;
	}
}

size_t
mesh_links(struct mesh *m, struct link **out, size_t max)
{
	struct mlink	*ml;
	size_t		 n = 0;

	TAILQ_FOREACH(ml, &m->links, entry)
		if (link_state(ml->l) == LINK_UP && ml->drain == NULL) {
			if (out != NULL && n < max)
				out[n] = ml->l;
			n++;
		}
	return out != NULL && n > max ? max : n;
}

size_t
mesh_dials(struct mesh *m)
{
	struct mlink	*ml;
	size_t		 n = 0;

	TAILQ_FOREACH(ml, &m->links, entry)
		if (link_outbound(ml->l) && link_state(ml->l) != LINK_UP)
			n++;
	return n;
}

struct link *
mesh_link_to(struct mesh *m, const uint8_t *id)
{
	struct mlink	*ml = mesh_find_up(m, id, NULL);

	return ml != NULL ? ml->l : NULL;
}

bool
mesh_dialing(struct mesh *m, const uint8_t *id)
{
	struct mlink	*ml;

	TAILQ_FOREACH(ml, &m->links, entry)
		if (ml->has_dial_id && link_state(ml->l) != LINK_UP &&
		    memcmp(ml->dial_id, id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

/*
 * How little a link is worth keeping, larger is less: a link that has
 * answered no ping is the worst (a peer that never answers must not
 * look fast), and between equals an inbound link goes before ours.
 */
static int64_t
shed_score(struct link *l)
{
	struct link_info	i;

	link_info(l, &i);
	return (i.rtt_avg_us < 0 ? INT64_MAX / 2 : i.rtt_avg_us) * 2 +
	    (link_outbound(l) ? 0 : 1);
}

void
mesh_shed(struct mesh *m)
{
	struct mlink		*ml, *worst = NULL;
	int64_t			 worst_score = -1, score;

	TAILQ_FOREACH(ml, &m->links, entry) {
		/* Addresses a user asked to keep; bootstrap is for joining. */
		if (link_state(ml->l) != LINK_UP || ml->drain != NULL ||
		    (ml->t != NULL && ml->t->keep))
			continue;
		/* Calls use it: it goes once idle, see mesh_close_idle. */
		if (link_used_ms(ml->l) != 0 && clock_ms() -
		    link_used_ms(ml->l) < CALL_LINK_IDLE_MS)
			continue;
		if ((score = shed_score(ml->l)) > worst_score) {
			worst = ml;
			worst_score = score;
		}
	}
	if (worst != NULL) {
		log_info("link %s: over degree_max, closing the slowest",
		    link_name(worst->l));
		mesh_close_on_purpose(worst, "shed: over degree_max");
	}
}

size_t
mesh_queued(struct mesh *m)
{
	struct mlink	*ml;
	size_t		 n = 0;

	TAILQ_FOREACH(ml, &m->links, entry)
		n += link_queued(ml->l);
	return n;
}

void
mesh_reset(struct mesh *m)
{
	struct target	*t;
	const uint8_t	*id;

	while ((t = TAILQ_FIRST(&m->targets)) != NULL)
		target_free(t);
	while (nodemap_count(m->linked) > 0) {
		(void)nodemap_at(m->linked, 0, &id);
		nodemap_del(m->linked, id);
	}
	while (!TAILQ_EMPTY(&m->links))
		mesh_close_on_purpose(TAILQ_FIRST(&m->links),
		    "joined another network");
}

int
mesh_add_target(struct mesh *m, const char *addr)
{
	struct target	*t;

	TAILQ_FOREACH(t, &m->targets, entry)
		if (strcmp(t->addr, addr) == 0)
			return 0;
	if ((t = target_new(m, addr, true)) == NULL)
		return -1;
	target_dial(t);
	return 0;
}

const struct ctl_op mesh_ctl_ops[] = {
	{ "connect",	CTL_OP_ADMIN,	mesh_op_connect },
	{ "disconnect",	CTL_OP_ADMIN,	mesh_op_disconnect },
	{ "peers",	0,		mesh_op_peers },
	{ "ping",	0,		mesh_op_ping },
	{ NULL,		0,		NULL },
};

void
mesh_close(struct mesh *m, struct link *l, const char *reason)
{
	struct mlink	*ml;

	TAILQ_FOREACH(ml, &m->links, entry)
		if (ml->l == l) {
			mesh_close_on_purpose(ml, reason);
			return;
		}
}

void
mesh_set_hello(struct mesh *m, const struct hello *h)
{
	m->hello = *h;
}
