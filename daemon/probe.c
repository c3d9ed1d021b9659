/* SPDX-License-Identifier: ISC */
/*
 * probe.c: rounds that ask whether a node is there, directly and
 * through others (SWIM's indirect probe), and answers to others' asks.
 *
 * A round waits twice the direct probe's timeout: helpers need one to
 * probe and a little more to answer.  The timeout grows with the round
 * trip times our links measure, so that slow networks are not taken
 * for dead nodes.  A round whose deadline we meet late (our process
 * was stopped or starved) proves nothing and says so.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "clock.h"
#include "duration.h"
#include "link.h"
#include "log.h"
#include "probe.h"
#include "proto.h"

#define PROBE_ROUNDS_MAX	64	/* our rounds under way */
#define PROBE_HELPS_MAX		64	/* others' requests under way */
#define PROBE_RTTS		4	/* a probe waits this many round trips */
#define PROBE_ASK_MAX_MS	10000	/* the longest probe others may ask */

/* One round of ours. */
struct round {
	TAILQ_ENTRY(round)	 entry;
	struct probe		*p;
	uint8_t			 id[NODE_ID_LEN];
	uint64_t		 n;		/* random: answers name it */
	probe_fn		*fn;
	void			*arg;
	struct event		*timer;
	int64_t			 due_ms;
	uint64_t		 timeout;	/* ms, of the direct probe */
	bool			 checking;	/* a direct probe under way */
	bool			 direct_silent;
	uint8_t			 asked[PROBE_HELPERS][NODE_ID_LEN];
	bool			 answered[PROBE_HELPERS];
	int			 nasked;
	uint8_t			 nackers[PROBE_HELPERS][NODE_ID_LEN];
	int			 nnack;
};

/*
 * One direct probe under way: for a round of ours (found again by its
 * number, as the round may have ended) or for a node that asked us.
 */
struct check {
	struct probe		*p;
	uint8_t			 id[NODE_ID_LEN];
	uint64_t		 n;
	bool			 for_other;
	uint8_t			 asker[NODE_ID_LEN];
};

struct probe {
	struct event_base	*base;
	struct probe_params	 par;
	struct mesh		*mesh;
	const struct probe_ops	*ops;
	void			*arg;
	TAILQ_HEAD(, round)	 rounds;
	int			 nrounds;
	int			 nhelps;
	uint64_t		 started, helped;
	struct cbor_buf		 out;
};

/*
 * The direct probe's timeout: par.timeout, or PROBE_RTTS round trips
 * if more, or as many times our own loop's lag.
 */
static uint64_t
probe_timeout(struct probe *p, const uint8_t *id)
{
	struct link		*links[64], *l;
	struct link_info	 li;
	int64_t			 rtt = -1;
	size_t			 i, n;

	if ((l = mesh_link_to(p->mesh, id)) != NULL &&
	    (link_info(l, &li), li.rtt_avg_us >= 0))
		rtt = li.rtt_avg_us;
	else {
		n = mesh_links(p->mesh, links, 64);
		for (i = 0; i < n; i++)
			if ((link_info(links[i], &li), li.rtt_avg_us > rtt))
				rtt = li.rtt_avg_us;
	}
	/* Our own loop's lag: a busy node gives others longer. */
	if (clock_lag_ms() * 1000 > rtt)
		rtt = clock_lag_ms() * 1000;
	if (rtt > 0 && (uint64_t)(PROBE_RTTS * rtt / 1000) > p->par.timeout)
		return (uint64_t)(PROBE_RTTS * rtt / 1000);
	return p->par.timeout;
}

static struct round *
round_find(const struct probe *p, uint64_t n)
{
	struct round	*r;

	TAILQ_FOREACH(r, &p->rounds, entry)
		if (r->n == n)
			return r;
	return NULL;
}

/* Ends a round and tells its owner, who may start another. */
static void
round_end(struct round *r, enum probe_result res, const char *why)
{
	struct probe	*p = r->p;
	uint8_t		 id[NODE_ID_LEN];
	uint8_t		 nackers[PROBE_HELPERS][NODE_ID_LEN];
	int		 nnack = r->nnack;
	probe_fn	*fn = r->fn;
	void		*arg = r->arg;

	memcpy(id, r->id, NODE_ID_LEN);
	memcpy(nackers, r->nackers, sizeof(nackers));
	TAILQ_REMOVE(&p->rounds, r, entry);
	p->nrounds--;
	event_free(r->timer);
	free(r);
	fn(id, res, (const uint8_t (*)[NODE_ID_LEN])nackers, nnack, why, arg);
}

/* Silent once the node and every helper asked said nothing. */
static void
round_check_done(struct round *r)
{
	if (r->direct_silent && r->nnack == r->nasked)
		round_end(r, PROBE_SILENT, "no answer, directly or through "
		    "others");
}

static void
round_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct round	*r = arg;

	(void)fd; (void)what;
	clock_note_late(clock_ms() - r->due_ms);
	if (clock_ms() - r->due_ms > (int64_t)r->timeout / 2)
		round_end(r, PROBE_UNSURE, "our own loop stalled");
	else
		round_end(r, PROBE_SILENT, "no answer in time");
}

/* Answers the node that asked us to probe. */
static void
answer_asker(struct probe *p, const struct check *c, bool ok)
{
	struct link	*l;

	if ((l = mesh_link_to(p->mesh, c->asker)) == NULL)
		return;
	cbor_buf_reset(&p->out);
	cbor_put_map(&p->out, 3);
	cbor_put_text(&p->out, "t");
	cbor_put_text(&p->out, "pres");
	cbor_put_text(&p->out, "n");
	cbor_put_uint(&p->out, c->n);
	cbor_put_text(&p->out, "ok");
	cbor_put_bool(&p->out, ok);
	if (!p->out.failed)
		(void)link_send(l, p->out.data, p->out.len);
}

/* A direct probe ended. */
static void
check_done(struct check *c, enum probe_result res, const char *why)
{
	struct probe	*p = c->p;
	struct round	*r;

	if (c->for_other) {
		p->nhelps--;
		if (res != PROBE_UNSURE)
			answer_asker(p, c, res == PROBE_ALIVE);
	} else if ((r = round_find(p, c->n)) != NULL) {
		r->checking = false;
		if (res == PROBE_ALIVE || res == PROBE_REFUSED)
			round_end(r, res, why);
		else {
			r->direct_silent = true;
			round_check_done(r);
		}
	}
	free(c);
}

static void
check_pinged(enum link_ping_result res, int64_t rtt_us, const char *why,
    void *arg)
{
	(void)rtt_us;
	/* A link that closed under the ping (shed, say) is no evidence. */
	check_done(arg, res == LINK_PING_ANSWERED ? PROBE_ALIVE :
	    res == LINK_PING_TIMEOUT ? PROBE_SILENT : PROBE_UNSURE,
	    why != NULL ? why : "answered");
}

static void
check_dialed(enum mesh_dial_result res, const char *why, void *arg)
{
	check_done(arg, res == MESH_DIAL_LINKED ? PROBE_ALIVE :
	    res == MESH_DIAL_REFUSED ? PROBE_REFUSED : PROBE_SILENT, why);
}

/*
 * Asks c->id directly: a ping on its link, else a dial.  A quiet link
 * is pinged too: a dial would make a second link, and one of the two
 * would be closed, with whatever it carried.  -1 if neither could
 * start (c is the caller's then).
 */
static int
check_start(struct check *c, uint64_t timeout, int flags)
{
	struct probe	*p = c->p;
	struct link	*l = mesh_link_to(p->mesh, c->id);
	const char	*addr;

	if (l != NULL && link_ping(l, 0, timeout, check_pinged, c) == 0)
		return 0;
	if ((addr = p->ops->address(p->arg, c->id)) == NULL)
		return -1;
	return mesh_dial_probe(p->mesh, c->id, addr, timeout,
	    (flags & PROBE_TRANSIENT) != 0 ? MESH_DIAL_TRANSIENT : 0,
	    check_dialed, c);
}

/* Asks up to PROBE_HELPERS random other linked nodes to probe r->id. */
static void
ask_helpers(struct round *r)
{
	struct probe	*p = r->p;
	struct link	*links[512], *l;
	size_t		 i, n = mesh_links(p->mesh, links, 512), k;

	cbor_buf_reset(&p->out);
	cbor_put_map(&p->out, 4);
	cbor_put_text(&p->out, "t");
	cbor_put_text(&p->out, "preq");
	cbor_put_text(&p->out, "id");
	cbor_put_bytes(&p->out, r->id, NODE_ID_LEN);
	cbor_put_text(&p->out, "n");
	cbor_put_uint(&p->out, r->n);
	cbor_put_text(&p->out, "ms");
	cbor_put_uint(&p->out, r->timeout);
	if (p->out.failed)
		return;
	/* A random pick: swap each chosen link to the front. */
	for (i = 0; i < n && r->nasked < PROBE_HELPERS; i++) {
		k = i + randombytes_uniform((uint32_t)(n - i));
		l = links[k];
		links[k] = links[i];
		if (memcmp(link_remote(l)->id, r->id, NODE_ID_LEN) == 0 ||
		    link_state(l) != LINK_UP || link_quiet(l) ||
		    link_send(l, p->out.data, p->out.len) == -1)
			continue;
		memcpy(r->asked[r->nasked++], link_remote(l)->id, NODE_ID_LEN);
	}
}

int
probe_member(struct probe *p, const uint8_t *id, int flags, probe_fn *fn,
    void *arg)
{
	struct round	*r;
	struct check	*c;
	struct timeval	 tv;

	if (probe_running(p, id) || p->nrounds >= PROBE_ROUNDS_MAX)
		return PROBE_BUSY;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PROBE_BUSY;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (r->timer = evtimer_new(p->base, round_timeout, r)) == NULL) {
		free(c);
		free(r);
		return PROBE_BUSY;
	}
	r->p = p;
	memcpy(r->id, id, NODE_ID_LEN);
	randombytes_buf(&r->n, sizeof(r->n));
	r->fn = fn;
	r->arg = arg;
	r->timeout = probe_timeout(p, id);
	c->p = p;
	memcpy(c->id, id, NODE_ID_LEN);
	c->n = r->n;
	if (check_start(c, r->timeout, flags) == -1) {
		free(c);
		r->direct_silent = true;	/* nothing to ask directly */
	} else
		r->checking = true;
	TAILQ_INSERT_TAIL(&p->rounds, r, entry);
	p->nrounds++;
	if (flags & PROBE_INDIRECT)
		ask_helpers(r);
	if (r->direct_silent && r->nasked == 0) {
		TAILQ_REMOVE(&p->rounds, r, entry);
		p->nrounds--;
		event_free(r->timer);
		free(r);
		return -1;
	}
	p->started++;
	/* Helpers probe for one timeout, and need a little more to answer. */
	r->due_ms = clock_ms() + 2 * (int64_t)r->timeout;
	duration_timeval(2 * r->timeout, &tv);
	evtimer_add(r->timer, &tv);
	return 0;
}

int
probe_again(struct probe *p, const uint8_t *id, int flags)
{
	struct round	*r;
	struct check	*c;

	TAILQ_FOREACH(r, &p->rounds, entry)
		if (memcmp(r->id, id, NODE_ID_LEN) == 0)
			break;
	if (r == NULL || r->checking || (c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->p = p;
	memcpy(c->id, id, NODE_ID_LEN);
	c->n = r->n;
	if (check_start(c, r->timeout, flags) == -1) {
		free(c);
		return -1;
	}
	r->checking = true;
	return 0;
}

bool
probe_running(const struct probe *p, const uint8_t *id)
{
	struct round	*r;

	TAILQ_FOREACH(r, &p->rounds, entry)
		if (memcmp(r->id, id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

uint64_t
probe_rounds(const struct probe *p)
{
	return p->started;
}

uint64_t
probe_helped(const struct probe *p)
{
	return p->helped;
}

/* "preq": a linked node asks us to probe a node for it. */
static void
msg_preq(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct probe		*p = arg;
	const struct cbor_field	*v;
	const uint8_t		*id;
	struct check		*c;
	size_t			 len;
	uint64_t		 n, ms;

	(void)type;
	if ((v = cbor_field_get(f, nf, "id")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &id, &len) ||
	    len != NODE_ID_LEN ||
	    (v = cbor_field_get(f, nf, "n")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &n) ||
	    (v = cbor_field_get(f, nf, "ms")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &ms) || ms == 0) {
		log_debug("link %s: malformed probe request, ignored",
		    link_name(l));
		return;
	}
	/* Busy: no answer is no evidence, the asker counts only nacks. */
	if (p->nhelps >= PROBE_HELPS_MAX ||
	    memcmp(id, link_remote(l)->id, NODE_ID_LEN) == 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->p = p;
	memcpy(c->id, id, NODE_ID_LEN);
	c->n = n;
	c->for_other = true;
	memcpy(c->asker, link_remote(l)->id, NODE_ID_LEN);
	if (memcmp(id, p->par.self, NODE_ID_LEN) == 0) {
		p->helped++;
		answer_asker(p, c, true);	/* about us: we are here */
		free(c);
		return;
	}
	if (check_start(c, ms < PROBE_ASK_MAX_MS ? ms : PROBE_ASK_MAX_MS,
	    0) == -1) {
		free(c);
		return;
	}
	p->helped++;
	p->nhelps++;
}

/* "pres": a helper's answer to one of our rounds. */
static void
msg_pres(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct probe		*p = arg;
	const struct cbor_field	*v;
	const uint8_t		*from = link_remote(l)->id;
	struct round		*r;
	uint64_t		 n;
	bool			 ok;
	int			 i;

	(void)type;
	if ((v = cbor_field_get(f, nf, "n")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &n) ||
	    (v = cbor_field_get(f, nf, "ok")) == NULL ||
	    !cbor_read_bool(v->val, v->vallen, &ok) ||
	    (r = round_find(p, n)) == NULL)
		return;
	/* Only the helpers asked, once each. */
	for (i = 0; i < r->nasked; i++)
		if (!r->answered[i] &&
		    memcmp(r->asked[i], from, NODE_ID_LEN) == 0)
			break;
	if (i == r->nasked)
		return;
	r->answered[i] = true;
	if (ok) {
		round_end(r, PROBE_ALIVE, "answered through another node");
		return;
	}
	memcpy(r->nackers[r->nnack++], from, NODE_ID_LEN);
	round_check_done(r);
}

const struct mesh_handler probe_handlers[] = {
	{ "preq",	msg_preq },
	{ "pres",	msg_pres },
	{ NULL,		NULL },
};

struct probe *
probe_new(struct event_base *base, const struct probe_params *par,
    struct mesh *mesh, const struct probe_ops *ops, void *arg)
{
	struct probe	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("probe");
		return NULL;
	}
	p->base = base;
	p->par = *par;
	p->mesh = mesh;
	p->ops = ops;
	p->arg = arg;
	TAILQ_INIT(&p->rounds);
	return p;
}

void
probe_free(struct probe *p)
{
	struct round	*r;

	if (p == NULL)
		return;
	while ((r = TAILQ_FIRST(&p->rounds)) != NULL) {
		TAILQ_REMOVE(&p->rounds, r, entry);
		event_free(r->timer);
		free(r);
	}
	cbor_buf_free(&p->out);
	free(p);
}
