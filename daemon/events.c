/* SPDX-License-Identifier: ISC */
/*
 * events.c: publish and subscribe.  A node's record lists the patterns
 * its clients subscribe to; a publish goes to every live node with a
 * matching pattern, and each node hands it to its matching clients
 * once each.  Delivery is at most once: a node drops an event whose
 * sequence number is not above the last one it took from that
 * publisher, which keeps each publisher's order however the mesh
 * routes.  A client that reads too slowly loses events, and the next
 * one it gets says how many.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"
#include "callmsg.h"
#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "events.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"
#include "proto.h"
#include "record.h"
#include "route.h"
#include "topic.h"

#define EVENTS_SUBS_MAX		1024		/* on one node, all clients */
#define EVENTS_BACKLOG_MAX	(1u << 20)	/* unread bytes at a client */
#define EVENTS_AHEAD_MAX	(1ull << 40)	/* seq above its run's start */

/* A subscribing client, and what it lost since its last event. */
struct evclient {
	TAILQ_ENTRY(evclient)	 entry;
	struct ctl_conn		*c;
	uint64_t		 lost;
	uint64_t		 epoch;		/* the last event it was given */
	int			 nsubs;
};

struct subscription {
	struct evclient		*cl;
	char			 pattern[TOPIC_MAX + 1];
};

/* What was taken from one publisher. */
struct taken {
	uint64_t		 seq;		/* its last event taken here */
	uint64_t		 started;	/* from its run that started then */
};

struct events {
	struct events_params	 par;
	const struct members	*members;
	struct route		*route;
	const struct events_ops	*ops;
	void			*arg;
	struct nodemap		*taken;		/* struct taken */
	TAILQ_HEAD(, evclient)	 clients;
	struct subscription	*sub;
	size_t			 nsub;
	uint64_t		 next_seq;
	uint64_t		 epoch;
	struct events_stats	 st;
};

struct events *
events_new(const struct events_params *p, const struct members *members,
    struct route *route, const struct events_ops *ops, void *arg)
{
	struct events	*ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    (ev->sub = calloc(EVENTS_SUBS_MAX, sizeof(*ev->sub))) == NULL ||
	    (ev->taken = nodemap_new(sizeof(struct taken), MEMBERS_MAX)) ==
	    NULL) {
		if (ev != NULL)
			free(ev->sub);
		free(ev);
		log_warn("events");
		return NULL;
	}
	ev->par = *p;
	ev->members = members;
	ev->route = route;
	ev->ops = ops;
	ev->arg = arg;
	TAILQ_INIT(&ev->clients);
	/*
	 * Sequence numbers start at the wall clock's microseconds, so that
	 * a restarted publisher goes on above what subscribers took.
	 */
	ev->next_seq = clock_wall_us();
	return ev;
}

void
events_free(struct events *ev)
{
	struct evclient	*cl;

	if (ev == NULL)
		return;
	while ((cl = TAILQ_FIRST(&ev->clients)) != NULL) {
		TAILQ_REMOVE(&ev->clients, cl, entry);
		free(cl);
	}
	nodemap_free(ev->taken);
	free(ev->sub);
	free(ev);
}

static int
pattern_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * Puts the distinct patterns in our record, sorted so that the same
 * set signs the same; false (nothing changed) if there are too many.
 */
static bool
publish_topics(struct events *ev)
{
	char	topics[RECORD_TOPICS_MAX][TOPIC_MAX + 1];
	size_t	i;
	int	k, n = 0;

	memset(topics, 0, sizeof(topics));
	for (i = 0; i < ev->nsub; i++) {
		for (k = 0; k < n; k++)
			if (strcmp(topics[k], ev->sub[i].pattern) == 0)
				break;
		if (k < n)
			continue;
		if (n == RECORD_TOPICS_MAX)
			return false;
		memcpy(topics[n++], ev->sub[i].pattern, TOPIC_MAX + 1);
	}
	qsort(topics, (size_t)n, sizeof(topics[0]), pattern_cmp);
	ev->ops->topics(ev->arg, topics, n);
	return true;
}

static struct evclient *
client_of(struct events *ev, struct ctl_conn *c)
{
	struct evclient	*cl;

	TAILQ_FOREACH(cl, &ev->clients, entry)
		if (cl->c == c)
			return cl;
	return NULL;
}

/* Removes subscription i; its client goes with its last one. */
static void
sub_remove(struct events *ev, size_t i)
{
	struct evclient	*cl = ev->sub[i].cl;

	ev->sub[i] = ev->sub[--ev->nsub];
	if (--cl->nsubs == 0) {
		TAILQ_REMOVE(&ev->clients, cl, entry);
		free(cl);
	}
}

void
events_client_gone(struct events *ev, struct ctl_conn *c)
{
	size_t	i = 0, before = ev->nsub;

	while (i < ev->nsub) {
		if (ev->sub[i].cl->c == c)
			sub_remove(ev, i);
		else
			i++;
	}
	if (ev->nsub != before)
		(void)publish_topics(ev);
}

/* Gives one event to one client, or counts it lost there. */
static void
give(struct events *ev, struct evclient *cl, const struct callmsg *m,
    const char *node, const char *name)
{
	struct cbor_buf	*b;

	if (ctl_queued(cl->c) > EVENTS_BACKLOG_MAX) {
		cl->lost++;
		ev->st.lost++;
		return;
	}
	ev->st.delivered++;
	b = ctl_message_begin(cl->c);
	cbor_put_map(b, 6 + (m->args != NULL) + (cl->lost > 0));
	cbor_put_text(b, "op");
	cbor_put_text(b, "event");
	cbor_put_text(b, "topic");
	cbor_put_text(b, m->topic);
	if (m->args != NULL) {
		cbor_put_text(b, "data");
		cbor_put_raw(b, m->args, m->argslen);
	}
	cbor_put_text(b, "node");
	cbor_put_text(b, node);
	cbor_put_text(b, "name");
	cbor_put_text(b, name);
	cbor_put_text(b, "seq");
	cbor_put_uint(b, m->cid);
	cbor_put_text(b, "verified");
	cbor_put_bool(b, m->verified);
	if (cl->lost > 0) {
		cbor_put_text(b, "lost");
		cbor_put_uint(b, cl->lost);
		cl->lost = 0;
	}
	ctl_message_end(cl->c);
}

/* Hands an event to every matching client here, once each. */
static void
deliver_local(struct events *ev, const struct callmsg *m, const char *name)
{
	struct evclient	*cl;
	char		 node[NODE_ID_STRLEN];
	size_t		 i;

	base32_encode(m->origin, NODE_ID_LEN, node);
	ev->epoch++;
	for (i = 0; i < ev->nsub; i++) {
		cl = ev->sub[i].cl;
		if (cl->epoch == ev->epoch ||
		    !topic_matches(ev->sub[i].pattern, m->topic))
			continue;
		cl->epoch = ev->epoch;
		give(ev, cl, m, node, name);
	}
}

static bool
wanted_here(const struct events *ev, const char *topic)
{
	size_t	i;

	for (i = 0; i < ev->nsub; i++)
		if (topic_matches(ev->sub[i].pattern, topic))
			return true;
	return false;
}

void
events_deliver(struct events *ev, const struct callmsg *m)
{
	struct member	*pub = members_get(ev->members, m->origin);
	struct taken	*t;

	ev->st.received++;
	/*
	 * At most once, in order: nothing at or below what came before
	 * from this run of the publisher.  Its numbers start at its start
	 * time, which its record signs: one far above is forged or broken
	 * and must not hold back the real ones.
	 */
	if (pub != NULL && (t = nodemap_put(ev->taken, m->origin)) != NULL) {
		if (t->started != pub->rec.started_at) {
			t->started = pub->rec.started_at;
			t->seq = 0;
		}
		if (m->cid <= t->seq || m->cid > pub->rec.started_at *
		    1000000 + EVENTS_AHEAD_MAX) {
			ev->st.dropped++;
			return;
		}
		t->seq = m->cid;
	}
	deliver_local(ev, m, pub != NULL ? pub->rec.name : "");
}

void
events_forget(struct events *ev, const uint8_t *id)
{
	nodemap_del(ev->taken, id);
}

/* Reads the "topic" of a request into buf; false after replying. */
static bool
read_topic(struct ctl_conn *c, const struct ctl_msg *msg, char *buf,
    bool pattern)
{
	if (!ctl_arg_text(c, msg, "topic", buf, TOPIC_MAX + 1, true))
		return false;
	if (pattern ? !topic_pattern_valid(buf, strlen(buf)) :
	    !topic_valid(buf, strlen(buf))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "topic: not "
		    "a %s of 1-%d lowercase letters, digits, '-', '_' or "
		    "'.'%s", pattern ? "pattern" : "topic", TOPIC_MAX,
		    pattern ? ", or such a prefix ending in \".*\", or \"*\"" :
		    "");
		return false;
	}
	return true;
}

static void
reply_topic(struct ctl_conn *c, uint64_t id, const char *topic)
{
	struct cbor_buf	*b = ctl_result_begin(c, id);

	cbor_put_map(b, 1);
	cbor_put_text(b, "topic");
	cbor_put_text(b, topic);
	ctl_result_end(c);
}

static ssize_t
find(struct events *ev, struct ctl_conn *c, const char *pattern)
{
	size_t	i;

	for (i = 0; i < ev->nsub; i++)
		if (ev->sub[i].cl->c == c &&
		    strcmp(ev->sub[i].pattern, pattern) == 0)
			return (ssize_t)i;
	return -1;
}

static void
events_op_subscribe(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct events	*ev = arg;
	struct evclient	*cl;
	char		 pattern[TOPIC_MAX + 1] = "";

	if (!read_topic(c, msg, pattern, true))
		return;
	if (find(ev, c, pattern) != -1) {
		ctl_reply_error(c, msg->id, PEER_ALREADY_EXISTS, "this client "
		    "subscribes to %s already", pattern);
		return;
	}
	if (ev->nsub == EVENTS_SUBS_MAX) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "%d "
		    "subscriptions on this node already", EVENTS_SUBS_MAX);
		return;
	}
	if ((cl = client_of(ev, c)) == NULL) {
		if ((cl = calloc(1, sizeof(*cl))) == NULL) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return;
		}
		cl->c = c;
		TAILQ_INSERT_TAIL(&ev->clients, cl, entry);
	}
	cl->nsubs++;
	ev->sub[ev->nsub].cl = cl;
	memcpy(ev->sub[ev->nsub++].pattern, pattern, sizeof(pattern));
	if (!publish_topics(ev)) {
		sub_remove(ev, ev->nsub - 1);
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "a node "
		    "subscribes to at most %d patterns", RECORD_TOPICS_MAX);
		return;
	}
	reply_topic(c, msg->id, pattern);
}

static void
events_op_unsubscribe(struct ctl_conn *c, const struct ctl_msg *msg,
    void *arg)
{
	struct events	*ev = arg;
	char		 pattern[TOPIC_MAX + 1];
	ssize_t		 i;

	if (!read_topic(c, msg, pattern, true))
		return;
	if ((i = find(ev, c, pattern)) == -1) {
		ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "this client does "
		    "not subscribe to %s", pattern);
		return;
	}
	sub_remove(ev, (size_t)i);
	(void)publish_topics(ev);
	reply_topic(c, msg->id, pattern);
}

/* Whether member m subscribes to a pattern that topic matches. */
static bool
wants(const struct member *m, const char *topic)
{
	int	k;

	for (k = 0; k < m->rec.ntopics; k++)
		if (topic_matches(m->rec.topics[k], topic))
			return true;
	return false;
}

static void
events_op_publish(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct events		*ev = arg;
	const struct cbor_field	*data;
	const struct member	*m;
	struct callmsg		 em;
	struct cbor_buf		*b;
	size_t			 i;
	uint64_t		 nodes = 0;

	memset(&em, 0, sizeof(em));
	if (!read_topic(c, msg, em.topic, false))
		return;
	if ((data = ctl_msg_get(msg, "data")) != NULL) {
		if (data->vallen > ev->par.max_message) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "data: larger than max_message (%" PRIu64 " bytes)",
			    ev->par.max_message);
			return;
		}
		em.args = data->val;
		em.argslen = data->vallen;
	}
	em.type = CALLMSG_EVENT;
	memcpy(em.origin, ev->par.self, NODE_ID_LEN);
	em.cid = ++ev->next_seq;
	em.hops = CALLMSG_HOPS;
	ev->st.published++;
	for (i = 0; i < members_count(ev->members); i++) {
		m = members_at(ev->members, i);
		if (m->self || !member_live(m) || !wants(m, em.topic))
			continue;
		memcpy(em.provider, m->rec.id, NODE_ID_LEN);
		if (route_send(ev->route, &em, NULL) == ROUTE_SENT) {
			nodes++;
			ev->st.sent++;
		}
	}
	if (wanted_here(ev, em.topic)) {
		/* Published here: from this node, surely. */
		em.verified = true;
		deliver_local(ev, &em, ev->par.name);
		nodes++;
	}
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 2);
	cbor_put_text(b, "seq");
	cbor_put_uint(b, em.cid);
	cbor_put_text(b, "nodes");
	cbor_put_uint(b, nodes);
	ctl_result_end(c);
}

static void
events_op_topics(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	const struct members	*members = ((struct events *)arg)->members;
	const struct member	*m;
	struct cbor_buf		*b = NULL;
	size_t			 i, n = 0;
	int			 k, pass;

	/* Two passes: count, then write.  Only live members subscribe. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			b = ctl_result_begin(c, msg->id);
			cbor_put_map(b, 1);
			cbor_put_text(b, "topics");
			cbor_put_array(b, n);
		}
		for (i = 0; i < members_count(members); i++) {
			m = members_at(members, i);
			if (!member_live(m))
				continue;
			for (k = 0; k < m->rec.ntopics; k++) {
				if (pass == 0) {
					n++;
					continue;
				}
				cbor_put_map(b, 4);
				cbor_put_text(b, "topic");
				cbor_put_text(b, m->rec.topics[k]);
				cbor_put_text(b, "node");
				cbor_put_text(b, m->idstr);
				cbor_put_text(b, "name");
				cbor_put_text(b, m->rec.name);
				cbor_put_text(b, "local");
				cbor_put_bool(b, m->self);
			}
		}
	}
	ctl_result_end(c);
}

void
events_stats(const struct events *ev, struct events_stats *st)
{
	*st = ev->st;
}

const struct ctl_op events_ctl_ops[] = {
	{ "publish",	 0,	events_op_publish },
	{ "subscribe",	 0,	events_op_subscribe },
	{ "topics",	 0,	events_op_topics },
	{ "unsubscribe", 0,	events_op_unsubscribe },
	{ NULL,		 0,	NULL },
};
