/* SPDX-License-Identifier: ISC */
/*
 * call.c: the calls this node's clients make.  A call is answered once:
 * by its provider, at its deadline, by a cancel, or with UNAVAILABLE as
 * soon as membership says its provider's node died.  A fan-out is a set
 * of calls, one per provider, answered together as one array, or each
 * as it comes if the client asks for progress.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "access.h"
#include "call.h"
#include "callmsg.h"
#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "cred.h"
#include "duration.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "metrics.h"
#include "nodemap.h"
#include "proto.h"
#include "reqnum.h"
#include "route.h"
#include "tagset.h"

#define CALL_BUCKETS		4096		/* power of two */
#define CALL_TIMEOUT_DEFAULT	5000		/* ms */
/* Bytes of "to": "tag:KEY=VALUE" at the longest. */
#define CALL_TARGET_MAX		(4 + TAG_KEY_MAX + 1 + TAG_VALUE_MAX)
#define CALL_BACKLOG_MAX	(64u << 20)	/* unread answers at a client */
#define CALL_REDIAL_MS		10000		/* between dials for relayed calls */

struct fan;
struct dial_wait;

struct call {
	TAILQ_ENTRY(call)	 entry;		/* in calls.all */
	TAILQ_ENTRY(call)	 fan_entry;	/* in fan.calls */
	struct call		*hnext;		/* in its bucket, by cid */
	struct calls		*cs;
	uint64_t		 cid;
	uint8_t			 provider[NODE_ID_LEN];
	char			 pid[NODE_ID_STRLEN];
	char			 pname[NODE_NAME_MAX + 1];
	struct ctl_defer	*defer;		/* alone: the client's request */
	struct event		*timer;		/* alone: its deadline */
	int64_t			 deadline_ms;	/* monotonic */
	int64_t			 started_us;	/* monotonic */
	struct fan		*fan;		/* or one answer of a fan-out */
	/* Waiting for a link to the provider: the message, args copied. */
	struct callmsg		*parked;
};

struct fan {
	TAILQ_ENTRY(fan)	 entry;		/* in calls.fans */
	struct calls		*cs;
	struct ctl_defer	*defer;
	struct event		*timer;
	TAILQ_HEAD(, call)	 calls;		/* not answered yet */
	struct cbor_buf		 answers;	/* encoded, one map each */
	size_t			 nanswers;
	bool			 starting;	/* calls still being sent */
	bool			 progress;	/* each answer sent as it comes */
};

/* Our dials to a provider. */
struct dials {
	int64_t		 last_ms;	/* the last one */
	unsigned	 next;		/* picks its address */
};

struct calls {
	struct event_base	*base;
	struct calls_params	 par;
	const struct members	*members;
	struct route		*route;
	struct mesh		*mesh;
	struct nodemap		*dials;		/* struct dials */
	TAILQ_HEAD(, call)	 all;
	TAILQ_HEAD(, fan)	 fans;
	TAILQ_HEAD(, dial_wait)	 dials_waited;	/* parked calls wait on these */
	struct call		*bucket[CALL_BUCKETS];
	struct reqnum		 cids;
	unsigned		 turn;		/* round robin between equals */
	const struct member	*cand[MEMBERS_MAX];
	struct calls_stats	 st;
};

/* What a call or notify request asks for. */
struct call_req {
	char		 service[SERVICE_NAME_MAX + 1];
	char		 method[METHOD_NAME_MAX + 1];
	char		 to[CALL_TARGET_MAX + 1];
	const uint8_t	*args;
	size_t		 argslen;
	uint64_t	 timeout_ms;
	bool		 all;
	bool		 progress;	/* with all: "answer" messages */
	char		 group[GROUP_NAME_MAX + 1];	/* "to" named a group */
};

static void	call_free(struct call *);
static void	call_drop(struct call *);
static void	fan_finish(struct fan *);

struct calls *
calls_new(struct event_base *base, const struct calls_params *p,
    const struct members *members, struct route *route, struct mesh *mesh)
{
	struct calls	*cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    (cs->dials = nodemap_new(sizeof(struct dials), MEMBERS_MAX)) ==
	    NULL) {
		free(cs);
		log_warn("calls");
		return NULL;
	}
	cs->base = base;
	cs->par = *p;
	cs->members = members;
	cs->route = route;
	cs->mesh = mesh;
	/*
	 * Numbers only this node can predict: no relay that saw some can
	 * forge an answer, and answers meant for a previous run match none.
	 */
	reqnum_init(&cs->cids);
	TAILQ_INIT(&cs->all);
	TAILQ_INIT(&cs->fans);
	TAILQ_INIT(&cs->dials_waited);
	return cs;
}

void
calls_free(struct calls *cs)
{
	if (cs == NULL)
		return;
	/* The clients went first, and took their calls with them. */
	nodemap_free(cs->dials);
	free(cs);
}

static struct call **
slot(struct calls *cs, uint64_t cid)
{
	struct call	**pp = &cs->bucket[cid & (CALL_BUCKETS - 1)];

	while (*pp != NULL && (*pp)->cid != cid)
		pp = &(*pp)->hnext;
	return pp;
}

static bool
cid_in_use(void *arg, uint64_t cid)
{
	return *slot(arg, cid) != NULL;
}

static void
call_free(struct call *call)
{
	struct calls	*cs = call->cs;
	struct call	**pp = slot(cs, call->cid);

	*pp = call->hnext;
	TAILQ_REMOVE(&cs->all, call, entry);
	if (call->fan != NULL)
		TAILQ_REMOVE(&call->fan->calls, call, fan_entry);
	if (call->timer != NULL)
		event_free(call->timer);
	if (call->parked != NULL) {
		free((void *)call->parked->args);
		free(call->parked);
	}
	free(call);
}

/* Counts a call that ends now with code. */
static void
call_count(struct call *call, int code)
{
	struct calls	*cs = call->cs;

	cs->st.by_code[metrics_code(code)]++;
	metrics_observe(&cs->st.latency,
	    (double)(clock_us() - call->started_us) / 1e6);
}

/*
 * Frees a call unanswered and tells its provider to stop: the app's
 * answer would be dropped.  The call goes first, so that nothing the
 * sending does can end it a second time.
 */
static void
call_drop(struct call *call)
{
	struct calls	*cs = call->cs;
	struct callmsg	 m;
	bool		 sent = call->parked == NULL;

	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_CANCEL;
	memcpy(m.origin, cs->par.self, NODE_ID_LEN);
	memcpy(m.provider, call->provider, NODE_ID_LEN);
	m.cid = call->cid;
	m.hops = CALLMSG_HOPS;
	call_count(call, PEER_CANCELLED);
	call_free(call);
	if (sent)
		(void)route_send(cs->route, &m, NULL);
}

/*
 * One map of a fan-out's answers: the node, then what it said, or why
 * it is not kept.
 */
static void
put_answer(struct cbor_buf *b, const struct call *call,
    const struct callmsg *ans, const char *dropped)
{
	cbor_put_map(b, 3);
	cbor_put_text(b, "node");
	cbor_put_text(b, call->pid);
	cbor_put_text(b, "name");
	cbor_put_text(b, call->pname);
	if (dropped != NULL) {
		cbor_put_text(b, "error");
		ctl_put_error_value(b, PEER_RESOURCE_EXHAUSTED, dropped,
		    strlen(dropped), NULL, 0);
	} else if (ans->result != NULL) {
		cbor_put_text(b, "result");
		cbor_put_raw(b, ans->result, ans->resultlen);
	} else {
		cbor_put_text(b, "error");
		ctl_put_error_value(b, ans->err.code, ans->err.msg,
		    ans->err.msglen, ans->err.context, ans->err.contextlen);
	}
}

/*
 * A fan-out's answer: into its array, or with progress at once to the
 * client as an "answer" message (doc/PROTOCOL.md, call).
 */
static void
fan_add(struct call *call, const struct callmsg *ans)
{
	struct fan	*fan = call->fan;
	struct ctl_conn	*c;
	struct cbor_buf	*b;
	const char	*dropped = NULL;
	size_t		 len;

	fan->nanswers++;
	if (fan->progress) {
		c = ctl_defer_conn(fan->defer);
		/*
		 * One answer must fit a control frame with its wrapping: a
		 * link brings up to 64 KiB more than max_message.
		 */
		len = ans->result != NULL ? ans->resultlen : ans->err.msglen +
		    ans->err.contextlen;
		if (ctl_queued(c) > CALL_BACKLOG_MAX)
			dropped = "answers not read";
		else if (len > fan->cs->par.max_message)
			dropped = "too large";
		b = ctl_message_begin(c);
		cbor_put_map(b, 3);
		cbor_put_text(b, "op");
		cbor_put_text(b, "answer");
		cbor_put_text(b, "call");
		cbor_put_uint(b, ctl_defer_id(fan->defer));
		cbor_put_text(b, "answer");
		put_answer(b, call, ans, dropped);
		ctl_message_end(c);
		return;
	}
	/* Past max_message in all, answers are not kept: see fan_finish. */
	put_answer(&fan->answers, call, ans, fan->answers.len >
	    fan->cs->par.max_message ? "too large" : NULL);
}

/* Ends a call with ans: to its client, or into its fan-out. */
static void
call_end(struct call *call, const struct callmsg *ans)
{
	struct fan	*fan = call->fan;
	struct cbor_buf	*b;

	call_count(call, ans->result != NULL ? PEER_OK : (int)ans->err.code);
	if (fan != NULL) {
		fan_add(call, ans);
		call_free(call);
		if (!fan->starting && TAILQ_EMPTY(&fan->calls))
			fan_finish(fan);
		return;
	}
	/* A client that does not read its answers gets no more of them. */
	if (ctl_defer_queued(call->defer) > CALL_BACKLOG_MAX)
		ctl_defer_error(call->defer, PEER_RESOURCE_EXHAUSTED, "over "
		    "%u bytes of answers not read", CALL_BACKLOG_MAX);
	else if (ans->result != NULL) {
		b = ctl_defer_begin(call->defer);
		cbor_put_raw(b, ans->result, ans->resultlen);
		ctl_defer_end(call->defer);
	} else
		ctl_defer_error_value(call->defer, &ans->err);
	call_free(call);
}

/* Ends a call with an error of this node's own. */
static void
call_fail(struct call *call, enum peer_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
call_fail(struct call *call, enum peer_code code, const char *fmt, ...)
{
	struct callmsg	ans;
	va_list		ap;
	char		msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&ans, 0, sizeof(ans));
	ans.err.code = code;
	ans.err.msg = msg;
	ans.err.msglen = strlen(msg);
	call_end(call, &ans);
}

static void
fan_finish(struct fan *fan)
{
	struct cbor_buf	*b;

	if (fan->progress) {
		b = ctl_defer_begin(fan->defer);
		cbor_put_map(b, 1);
		cbor_put_text(b, "answers");
		cbor_put_uint(b, fan->nanswers);
		ctl_defer_end(fan->defer);
	} else if (fan->answers.failed ||
	    fan->answers.len > fan->cs->par.max_message)
		ctl_defer_error(fan->defer, PEER_RESOURCE_EXHAUSTED, "the %zu "
		    "answers together are larger than max_message",
		    fan->nanswers);
	else {
		b = ctl_defer_begin(fan->defer);
		cbor_put_array(b, fan->nanswers);
		cbor_put_raw(b, fan->answers.data, fan->answers.len);
		ctl_defer_end(fan->defer);
	}
	TAILQ_REMOVE(&fan->cs->fans, fan, entry);
	event_free(fan->timer);
	cbor_buf_free(&fan->answers);
	free(fan);
}

static void
call_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct call	*call = arg;

	(void)fd; (void)what;
	call_fail(call, PEER_DEADLINE_EXCEEDED, "no answer from %s in time",
	    call->pname);
}

static void
fan_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct fan	*fan = arg;
	struct call	*call;

	(void)fd; (void)what;
	fan->starting = true;	/* finish once, below */
	while ((call = TAILQ_FIRST(&fan->calls)) != NULL)
		call_fail(call, PEER_DEADLINE_EXCEEDED, "no answer in time");
	fan_finish(fan);
}

/* The client went away: its call ends unanswered. */
static void
call_client_gone(void *arg)
{
	call_drop(arg);
}

/* Drops a fan-out's calls and the fan-out; its defer is not answered. */
static void
fan_drop(struct fan *fan)
{
	struct call	*call;

	while ((call = TAILQ_FIRST(&fan->calls)) != NULL)
		call_drop(call);
	TAILQ_REMOVE(&fan->cs->fans, fan, entry);
	event_free(fan->timer);
	cbor_buf_free(&fan->answers);
	free(fan);
}

static void
fan_client_gone(void *arg)
{
	fan_drop(arg);
}

void
calls_answer(struct calls *cs, const struct callmsg *m)
{
	struct call	*call = *slot(cs, m->cid);

	/* Late answers, and answers from a node not asked, are dropped. */
	if (call == NULL || memcmp(call->provider, m->provider,
	    NODE_ID_LEN) != 0)
		return;
	call_end(call, m);
}

/* Calls to the provider id fail: its node died, left or is forgotten. */
static void
fail_calls_to(struct calls *cs, const uint8_t *id, const char *what)
{
	struct call	*call, *next;

	for (call = TAILQ_FIRST(&cs->all); call != NULL; call = next) {
		next = TAILQ_NEXT(call, entry);
		if (memcmp(call->provider, id, NODE_ID_LEN) != 0)
			continue;
		/* Ending a call frees no other: next stays valid. */
		call_fail(call, PEER_UNAVAILABLE, "provider %s %s during the "
		    "call", call->pname, what);
	}
}

void
calls_member(struct calls *cs, const struct member *m)
{
	if (!member_live(m))
		fail_calls_to(cs, m->rec.id, m->state == MEMBER_LEFT ? "left" :
		    "died");
}

void
calls_forget(struct calls *cs, const uint8_t *id)
{
	nodemap_del(cs->dials, id);
	fail_calls_to(cs, id, "died");
}

/* A dial for parked calls: which provider it is for. */
struct dial_wait {
	TAILQ_ENTRY(dial_wait)	 entry;		/* in calls.dials */
	struct calls		*cs;
	uint8_t			 id[NODE_ID_LEN];
};

static void	call_route(struct call *, const struct callmsg *, bool);

/*
 * Sends or fails the calls parked for the dialed node.  They are moved
 * to a list of their own first: sending one can end others (a link
 * that fails as it is written to).
 */
static void
dial_done(enum mesh_dial_result res, const char *reason, void *arg)
{
	struct dial_wait	*w = arg;
	struct calls		*cs = w->cs;
	struct call		*call, *next;
	struct callmsg		*msg;
	TAILQ_HEAD(, call)	 parked = TAILQ_HEAD_INITIALIZER(parked);

	TAILQ_REMOVE(&cs->dials_waited, w, entry);
	for (call = TAILQ_FIRST(&cs->all); call != NULL; call = next) {
		next = TAILQ_NEXT(call, entry);
		if (call->parked != NULL &&
		    memcmp(call->provider, w->id, NODE_ID_LEN) == 0) {
			TAILQ_REMOVE(&cs->all, call, entry);
			TAILQ_INSERT_TAIL(&parked, call, entry);
		}
	}
	free(w);
	while ((call = TAILQ_FIRST(&parked)) != NULL) {
		TAILQ_REMOVE(&parked, call, entry);
		TAILQ_INSERT_TAIL(&cs->all, call, entry);
		if (res != MESH_DIAL_LINKED) {
			call_fail(call, PEER_UNAVAILABLE, "cannot reach %s: %s",
			    call->pname, reason);
			continue;
		}
		msg = call->parked;
		call->parked = NULL;
		/* The deadline kept running while the call waited. */
		if (call->deadline_ms - clock_ms() <= 0)
			call_fail(call, PEER_DEADLINE_EXCEEDED, "no link to "
			    "%s in time", call->pname);
		else {
			msg->timeout_ms = (uint64_t)(call->deadline_ms -
			    clock_ms());
			call_route(call, msg, false);
		}
		free((void *)msg->args);
		free(msg);
	}
}

/*
 * Dials the provider: so that later calls go direct (wait false), or
 * for the calls parked on it (wait true), which dial_done sends or
 * fails once the dial ends.  -1 if no dial started.
 */
static int
dial_provider(struct calls *cs, const uint8_t *id, bool wait)
{
	struct member		*m = members_get(cs->members, id);
	struct dial_wait	*w = NULL;
	struct dials		*d;

	if (m == NULL || m->rec.naddrs == 0 ||
	    (d = nodemap_put(cs->dials, id)) == NULL)
		return -1;
	/*
	 * Relayed calls work meanwhile: a node we cannot reach is not
	 * dialed again for each of them.  Parked calls need a dial whose
	 * outcome they hear: one for all of them.
	 */
	if (!wait && (mesh_dialing(cs->mesh, id) || (d->last_ms != 0 &&
	    clock_ms() - d->last_ms < CALL_REDIAL_MS)))
		return -1;
	if (wait)
		TAILQ_FOREACH(w, &cs->dials_waited, entry)
			if (memcmp(w->id, id, NODE_ID_LEN) == 0)
				return 0;
	d->last_ms = clock_ms();
	if (wait) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -1;
		w->cs = cs;
		memcpy(w->id, id, NODE_ID_LEN);
	}
	if (mesh_dial_for_calls(cs->mesh, id, m->rec.addrs[d->next++ %
	    (unsigned)m->rec.naddrs], wait ? dial_done : NULL, w) == -1) {
		free(w);
		return -1;
	}
	if (w != NULL)
		TAILQ_INSERT_TAIL(&cs->dials_waited, w, entry);
	return 0;
}

/* Keeps a copy of msg until a link to the provider is up. */
static int
call_park(struct call *call, const struct callmsg *msg)
{
	struct callmsg	*copy;
	uint8_t		*args = NULL;

	if ((copy = malloc(sizeof(*copy))) == NULL ||
	    (msg->args != NULL && (args = malloc(msg->argslen)) == NULL)) {
		free(copy);
		return -1;
	}
	*copy = *msg;
	if (args != NULL)
		memcpy(args, msg->args, msg->argslen);
	copy->args = args;
	call->parked = copy;
	return 0;
}

/*
 * Sends a call on its way, or parks it until a dial to the provider
 * ends (if may_park).  The last thing done with the call: a local
 * provider can answer before this returns.
 */
static void
call_route(struct call *call, const struct callmsg *msg, bool may_park)
{
	struct calls	*cs = call->cs;
	uint8_t		 id[NODE_ID_LEN];
	bool		 relayed;

	memcpy(id, call->provider, NODE_ID_LEN);
	relayed = memcmp(id, cs->par.self, NODE_ID_LEN) != 0 &&
	    mesh_link_to(cs->mesh, id) == NULL;
	switch (route_send(cs->route, msg, NULL)) {
	case ROUTE_SENT:
		/* A direct link, for the calls after this one. */
		if (relayed)
			(void)dial_provider(cs, id, false);
		break;
	case ROUTE_FULL:
		call_fail(call, PEER_RESOURCE_EXHAUSTED, "the link towards %s "
		    "is full", call->pname);
		break;
	case ROUTE_NO_PATH:
		if (!may_park || call_park(call, msg) == -1 ||
		    dial_provider(cs, id, true) == -1) {
			call_fail(call, PEER_UNAVAILABLE, "no route to %s",
			    call->pname);
		}
		break;
	}
}

/* A new call to provider m, in a fan-out or for defer. */
static struct call *
call_new(struct calls *cs, const struct member *m, struct fan *fan,
    uint64_t timeout_ms)
{
	struct call	*call, **pp;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		return NULL;
	if (fan == NULL && (call->timer = evtimer_new(cs->base,
	    call_deadline, call)) == NULL) {
		free(call);
		return NULL;
	}
	call->cs = cs;
	call->cid = reqnum_next(&cs->cids, cid_in_use, cs);
	call->deadline_ms = clock_ms() + (int64_t)timeout_ms;
	call->started_us = clock_us();
	call->fan = fan;
	memcpy(call->provider, m->rec.id, NODE_ID_LEN);
	memcpy(call->pid, m->idstr, sizeof(call->pid));
	memcpy(call->pname, m->rec.name, sizeof(call->pname));
	pp = slot(cs, call->cid);
	call->hnext = *pp;
	*pp = call;
	TAILQ_INSERT_TAIL(&cs->all, call, entry);
	if (fan != NULL)
		TAILQ_INSERT_TAIL(&fan->calls, call, fan_entry);
	return call;
}

static void
msg_init(struct callmsg *msg, const struct calls *cs, const struct call_req *rq,
    const struct member *m, uint64_t cid, bool oneway)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = CALLMSG_CALL;
	memcpy(msg->origin, cs->par.self, NODE_ID_LEN);
	memcpy(msg->provider, m->rec.id, NODE_ID_LEN);
	msg->cid = cid;
	msg->hops = CALLMSG_HOPS;
	memcpy(msg->service, rq->service, sizeof(msg->service));
	memcpy(msg->group, rq->group, sizeof(msg->group));
	memcpy(msg->method, rq->method, sizeof(msg->method));
	msg->args = rq->args;
	msg->argslen = rq->argslen;
	msg->timeout_ms = rq->timeout_ms;
	msg->oneway = oneway;
}

/* Whether m offers the service, in the group if one is asked for. */
static bool
offers(const struct member *m, const char *service, const char *group)
{
	int	k;

	for (k = 0; k < m->rec.nservices; k++)
		if (strcmp(m->rec.services[k].name, service) == 0 &&
		    (group[0] == '\0' ||
		    strcmp(m->rec.services[k].group, group) == 0))
			return true;
	return false;
}

/*
 * The readings of "to", in the order they are tried: the first that
 * leaves a provider wins (doc/PROTOCOL.md, call).
 */
enum to_kind {
	TO_NODE_NAME,
	TO_NODE_ID,		/* 4 or more characters, either case */
	TO_SERVICE_GROUP,	/* the group of the service: the call names it */
	TO_NODE_GROUP,		/* a group of the node's own record */
	TO_KINDS
};

static bool
to_matches(const struct member *m, const char *to, enum to_kind kind)
{
	int	k;

	switch (kind) {
	case TO_NODE_NAME:
		return strcmp(m->rec.name, to) == 0;
	case TO_NODE_ID:
		return node_id_prefix(m->idstr, to);
	case TO_SERVICE_GROUP:
		return true;	/* offers() checks the group */
	case TO_NODE_GROUP:
		for (k = 0; k < m->rec.ngroups; k++)
			if (strcmp(m->rec.groups[k], to) == 0)
				return true;
		return false;
	default:
		return false;
	}
}

/*
 * The live members offering rq's service whose node has the tag that
 * rq->to names after "tag:" (KEY, or KEY=VALUE).  Their number.
 */
static size_t
tag_candidates(struct calls *cs, const struct call_req *rq)
{
	const struct member	*m;
	size_t			 i, n = 0;

	for (i = 0; i < members_count(cs->members); i++) {
		m = members_at(cs->members, i);
		if (member_live(m) && offers(m, rq->service, "") &&
		    tagset_match(&m->rec.tags, rq->to + 4))
			cs->cand[n++] = m;
	}
	return n;
}

/*
 * Whether to is the name, a group or a service group of any member,
 * whatever its state: then it is not a node ID prefix cut too short.
 */
static bool
to_known(struct calls *cs, const char *to)
{
	const struct member	*m;
	size_t			 i;
	int			 k;

	for (i = 0; i < members_count(cs->members); i++) {
		m = members_at(cs->members, i);
		if (to_matches(m, to, TO_NODE_NAME) ||
		    to_matches(m, to, TO_NODE_GROUP))
			return true;
		for (k = 0; k < m->rec.nservices; k++)
			if (strcmp(m->rec.services[k].group, to) == 0)
				return true;
	}
	return false;
}

/*
 * The live members offering rq's service that rq->to allows, read as
 * the first of enum to_kind that leaves any (a service group is set in
 * rq->group).  Their number.
 */
static size_t
candidates(struct calls *cs, struct call_req *rq)
{
	const struct member	*m;
	size_t			 i, n = 0;
	int			 kind;
	bool			 group;

	rq->group[0] = '\0';
	if (strncmp(rq->to, "tag:", 4) == 0)
		return tag_candidates(cs, rq);
	group = group_name_valid(rq->to, strlen(rq->to));
	for (kind = 0; kind < TO_KINDS && n == 0; kind++) {
		if ((kind == TO_SERVICE_GROUP || kind == TO_NODE_GROUP) &&
		    !group)
			continue;
		if (kind == TO_SERVICE_GROUP)
			memcpy(rq->group, rq->to, strlen(rq->to) + 1);
		else
			rq->group[0] = '\0';
		for (i = 0; i < members_count(cs->members); i++) {
			m = members_at(cs->members, i);
			if (!member_live(m) ||
			    !offers(m, rq->service, rq->group) ||
			    (rq->to[0] != '\0' && !to_matches(m, rq->to, kind)))
				continue;
			cs->cand[n++] = m;
		}
		/* Without "to" every provider is one. */
		if (rq->to[0] == '\0')
			break;
	}
	return n;
}

/*
 * How far a provider is: a tier, lower first (this node; then alive
 * nodes linked and measured, linked, not linked; then suspect ones in
 * the same order), and the round trip within the measured tiers.
 */
struct rank {
	int	tier;
	int64_t	rtt_us;
};

#define TIER_MEASURED	1	/* a link with a round trip: by rtt_us */
#define TIER_SUSPECT	3	/* added for a suspect node */

static struct rank
rank_of(struct calls *cs, const struct member *m)
{
	struct rank		 r = { 0, 0 };
	struct link_info	 info;
	struct link		*l;

	if (m->self)
		return r;
	if ((l = mesh_link_to(cs->mesh, m->rec.id)) == NULL)
		r.tier = 3;
	else {
		link_info(l, &info);
		r.tier = info.rtt_avg_us < 0 ? 2 : TIER_MEASURED;
		r.rtt_us = info.rtt_avg_us;
	}
	if (m->state == MEMBER_SUSPECT)
		r.tier += TIER_SUSPECT;
	return r;
}

static bool
rank_below(struct rank a, struct rank b)
{
	return a.tier != b.tier ? a.tier < b.tier : a.rtt_us < b.rtt_us;
}

/*
 * Whether r counts as equal to the best: in its tier, and in a measured
 * one within a quarter of its round trip and 100 us.
 */
static bool
close_to(struct rank r, struct rank best)
{
	if (r.tier != best.tier)
		return false;
	if (r.tier % TIER_SUSPECT != TIER_MEASURED)
		return true;
	return r.rtt_us <= best.rtt_us + best.rtt_us / 4 + 100;
}

/* The best provider of the first n candidates; equals take turns. */
static const struct member *
choose(struct calls *cs, size_t n)
{
	struct rank	r[64], best;
	size_t		i, k, equal = 0;

	if (n > 64)
		n = 64;	/* the rest are as good a choice as these */
	for (i = 0; i < n; i++) {
		r[i] = rank_of(cs, cs->cand[i]);
		if (i == 0 || rank_below(r[i], best))
			best = r[i];
	}
	for (i = 0; i < n; i++)
		if (close_to(r[i], best))
			equal++;
	k = cs->turn++ % equal;
	for (i = 0; i < n; i++)
		if (close_to(r[i], best) && k-- == 0)
			break;
	return cs->cand[i];
}

/* Reads the keys of a call or notify; false after replying. */
static bool
read_req(struct calls *cs, struct ctl_conn *c, const struct ctl_msg *msg,
    struct call_req *rq)
{
	const struct cbor_field	*f;

	memset(rq, 0, sizeof(*rq));
	rq->timeout_ms = CALL_TIMEOUT_DEFAULT;
	if (!ctl_arg_text(c, msg, "service", rq->service,
	    sizeof(rq->service), true) ||
	    !ctl_arg_text(c, msg, "method", rq->method, sizeof(rq->method),
	    true) ||
	    !ctl_arg_text(c, msg, "to", rq->to, sizeof(rq->to), false) ||
	    !ctl_arg_uint(c, msg, "timeout", &rq->timeout_ms,
	    CALLMSG_TIMEOUT_MAX))
		return false;
	if (!service_name_valid(rq->service, strlen(rq->service))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "service: "
		    "not a service name");
		return false;
	}
	if (!method_name_valid(rq->method, strlen(rq->method))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "method: "
		    "1-%d bytes without control characters", METHOD_NAME_MAX);
		return false;
	}
	if (rq->timeout_ms == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "timeout: "
		    "must be at least 1 ms");
		return false;
	}
	if ((f = ctl_msg_get(msg, "all")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &rq->all)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "all: not a "
		    "boolean");
		return false;
	}
	if ((f = ctl_msg_get(msg, "progress")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &rq->progress)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "progress: "
		    "not a boolean");
		return false;
	}
	if ((f = ctl_msg_get(msg, "args")) != NULL) {
		if (f->vallen > cs->par.max_message) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "args: larger than max_message (%" PRIu64 " "
			    "bytes)", cs->par.max_message);
			return false;
		}
		rq->args = f->val;
		rq->argslen = f->vallen;
	}
	return true;
}

/*
 * Reads a request, checks that the client may call the service, and
 * finds its providers; 0 after replying.
 */
static size_t
prepare(struct calls *cs, struct ctl_conn *c, const struct ctl_msg *msg,
    struct call_req *rq)
{
	const struct access_rule	*rule;
	char				 why[512];
	size_t				 n;

	if (!read_req(cs, c, msg, rq))
		return 0;
	/* Before anything goes on the mesh, for one provider or all. */
	if ((rule = access_local(cs->par.access, ACCESS_CALL, ctl_cred(c),
	    rq->service)) != NULL) {
		snprintf(why, sizeof(why), "rule %s does not let uid %u call "
		    "%s", access_rule_name(rule), (unsigned)ctl_cred(c)->uid,
		    rq->service);
		access_log(cs->par.access, "call: %s: %s", ctl_name(c), why);
		ctl_reply_error(c, msg->id, PEER_PERMISSION_DENIED, "%s", why);
		return 0;
	}
	if ((n = candidates(cs, rq)) == 0) {
		if (strncmp(rq->to, "tag:", 4) == 0)
			ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "no "
			    "provider of %s has the tag %s", rq->service,
			    rq->to + 4);
		else if (node_id_prefix_short(rq->to) && !to_known(cs, rq->to))
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "to: "
			    "no provider of %s matches %s, and a node ID "
			    "prefix needs %d or more characters", rq->service,
			    rq->to, NODE_ID_PREFIX_MIN);
		else if (rq->to[0] != '\0')
			ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "no "
			    "provider of %s matches %s (a node name, node ID "
			    "prefix, service group or node group)", rq->service,
			    rq->to);
		else
			ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "no "
			    "provider of %s", rq->service);
	}
	return n;
}

static void
start_one(struct calls *cs, struct ctl_conn *c, const struct ctl_msg *msg,
    const struct call_req *rq, size_t n)
{
	const struct member	*m = choose(cs, n);
	struct call		*call;
	struct callmsg	 cm;
	struct timeval	 tv;

	if ((call = call_new(cs, m, NULL, rq->timeout_ms)) == NULL) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
		    "out of memory");
		return;
	}
	if ((call->defer = ctl_defer(c, msg->id, call_client_gone,
	    call)) == NULL) {
		call_free(call);
		return;
	}
	ctl_defer_weigh(call->defer, rq->argslen);
	duration_timeval(rq->timeout_ms, &tv);
	evtimer_add(call->timer, &tv);
	msg_init(&cm, cs, rq, m, call->cid, false);
	call_route(call, &cm, true);
}

static void
start_fan(struct calls *cs, struct ctl_conn *c, const struct ctl_msg *msg,
    const struct call_req *rq, size_t n)
{
	struct fan	*fan;
	struct call	*call;
	struct callmsg	 cm;
	struct timeval	 tv;
	size_t		 i;

	if ((fan = calloc(1, sizeof(*fan))) == NULL ||
	    (fan->timer = evtimer_new(cs->base, fan_deadline,
	    fan)) == NULL) {
		free(fan);
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
		    "out of memory");
		return;
	}
	if ((fan->defer = ctl_defer(c, msg->id, fan_client_gone,
	    fan)) == NULL) {
		event_free(fan->timer);
		free(fan);
		return;
	}
	fan->cs = cs;
	fan->progress = rq->progress;
	TAILQ_INIT(&fan->calls);
	TAILQ_INSERT_TAIL(&cs->fans, fan, entry);
	ctl_defer_weigh(fan->defer, rq->argslen * n);
	duration_timeval(rq->timeout_ms, &tv);
	evtimer_add(fan->timer, &tv);
	/* Local answers come at once: the fan ends after the loop. */
	fan->starting = true;
	for (i = 0; i < n; i++) {
		if ((call = call_new(cs, cs->cand[i], fan,
		    rq->timeout_ms)) == NULL)
			break;
		msg_init(&cm, cs, rq, cs->cand[i], call->cid, false);
		call_route(call, &cm, true);
	}
	fan->starting = false;
	if (TAILQ_EMPTY(&fan->calls))
		fan_finish(fan);
}

static void
call_op_call(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct call_req	rq;
	size_t		n;

	if ((n = prepare(arg, c, msg, &rq)) == 0) {
		((struct calls *)arg)->st.refused++;
		return;
	}
	if (rq.all)
		start_fan(arg, c, msg, &rq, n);
	else
		start_one(arg, c, msg, &rq, n);
}

static void
call_op_notify(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct calls		*cs = arg;
	struct call_req		 rq;
	struct callmsg		 cm;
	const struct member	*m;
	struct cbor_buf		*b;
	size_t			 n, i, sent = 0;

	if ((n = prepare(cs, c, msg, &rq)) == 0)
		return;
	if (!rq.all) {
		cs->cand[0] = choose(cs, n);
		n = 1;
	}
	for (i = 0; i < n; i++) {
		m = cs->cand[i];
		msg_init(&cm, cs, &rq, m, 0, true);
		if (route_send(cs->route, &cm, NULL) == ROUTE_SENT)
			sent++;
		else if (!m->self)
			(void)dial_provider(cs, m->rec.id, false);
	}
	if (sent == 0) {
		ctl_reply_error(c, msg->id, PEER_UNAVAILABLE, "no route to "
		    "any provider of %s", rq.service);
		return;
	}
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "sent");
	cbor_put_uint(b, sent);
	ctl_result_end(c);
}

static void
call_op_cancel(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct ctl_defer	*d;
	struct cbor_buf		*b;
	uint64_t		 id = 0;
	bool			 found = true;

	(void)arg;
	if (ctl_msg_get(msg, "call") == NULL) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "call: "
		    "missing");
		return;
	}
	if (!ctl_arg_uint(c, msg, "call", &id, UINT64_MAX))
		return;
	/* Among the client's own deferred requests: a bounded search. */
	if ((d = ctl_defer_find(c, id, call_client_gone)) != NULL) {
		call_drop(ctl_defer_arg(d));
		ctl_defer_error(d, PEER_CANCELLED, "cancelled by the caller");
	} else if ((d = ctl_defer_find(c, id, fan_client_gone)) != NULL) {
		fan_drop(ctl_defer_arg(d));
		ctl_defer_error(d, PEER_CANCELLED, "cancelled by the caller");
	} else
		found = false;
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "cancelled");
	cbor_put_bool(b, found);
	ctl_result_end(c);
}

void
calls_stats(const struct calls *cs, struct calls_stats *st)
{
	*st = cs->st;
}

const struct ctl_op calls_ctl_ops[] = {
	{ "call",	0,	call_op_call },
	{ "cancel",	0,	call_op_cancel },
	{ "notify",	0,	call_op_notify },
	{ NULL,		0,	NULL },
};
