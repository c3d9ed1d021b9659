/* SPDX-License-Identifier: ISC */
/*
 * serve.c: invocations, the calls this node's apps are answering.  An
 * invocation lives until its app replies, its deadline passes, its
 * caller cancels, or its app goes away; only the first of these is
 * answered, the last with UNAVAILABLE at once.
 */
#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "access.h"
#include "base32.h"
#include "callmsg.h"
#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "duration.h"
#include "log.h"
#include "members.h"
#include "metrics.h"
#include "proto.h"
#include "registry.h"
#include "route.h"
#include "serve.h"

#define SERVE_BUCKETS		4096		/* power of two */
#define SERVE_INFLIGHT_MAX	65536		/* invocations, node-wide */
#define SERVE_BACKLOG_MAX	(64u << 20)	/* unread bytes at an app */

struct invocation {
	TAILQ_ENTRY(invocation)	 entry;
	struct invocation	*hnext;		/* in its bucket, by iid */
	struct invocation	*cnext;		/* by caller: see by_call */
	struct serve		*sv;
	struct ctl_conn		*c;		/* the app answering */
	uint64_t		 iid;		/* the invoke's "call" */
	uint8_t			 origin[NODE_ID_LEN];
	uint8_t			 provider[NODE_ID_LEN];
	uint64_t		 cid;
	int64_t			 started_us;	/* monotonic */
	struct event		*timer;		/* the caller's deadline */
};

struct serve {
	struct event_base	*base;
	struct serve_params	 par;
	const struct members	*members;
	struct registry		*registry;
	struct route		*route;
	TAILQ_HEAD(, invocation) all;
	struct invocation	*bucket[SERVE_BUCKETS];
	struct invocation	*by_call[SERVE_BUCKETS];	/* cid, origin */
	uint8_t			 key[crypto_shorthash_KEYBYTES];
	size_t			 n;
	uint64_t		 next_iid;
	struct serve_stats	 st;
};

struct serve *
serve_new(struct event_base *base, const struct serve_params *p,
    const struct members *members, struct registry *registry,
    struct route *route)
{
	struct serve	*sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		log_warn("serve");
		return NULL;
	}
	sv->base = base;
	sv->par = *p;
	sv->members = members;
	sv->registry = registry;
	sv->route = route;
	/* Callers choose origin and cid: keyed, they cannot aim a bucket. */
	randombytes_buf(sv->key, sizeof(sv->key));
	TAILQ_INIT(&sv->all);
	return sv;
}

static struct invocation **
slot(struct serve *sv, uint64_t iid)
{
	struct invocation	**pp = &sv->bucket[iid & (SERVE_BUCKETS - 1)];

	while (*pp != NULL && (*pp)->iid != iid)
		pp = &(*pp)->hnext;
	return pp;
}

/* Where the invocation for (origin, cid) is, or would be, in by_call. */
static struct invocation **
call_slot(struct serve *sv, const uint8_t *origin, uint64_t cid)
{
	struct invocation	**pp;
	uint8_t			  in[NODE_ID_LEN + sizeof(cid)];
	uint8_t			  h[crypto_shorthash_BYTES];
	uint64_t		  bucket;

	memcpy(in, origin, NODE_ID_LEN);
	memcpy(in + NODE_ID_LEN, &cid, sizeof(cid));
	crypto_shorthash(h, in, sizeof(in), sv->key);
	memcpy(&bucket, h, sizeof(bucket));
	pp = &sv->by_call[bucket & (SERVE_BUCKETS - 1)];
	while (*pp != NULL && ((*pp)->cid != cid ||
	    memcmp((*pp)->origin, origin, NODE_ID_LEN) != 0))
		pp = &(*pp)->cnext;
	return pp;
}

/* Counts a call served here that ends with code, after us. */
static void
count(struct serve *sv, int code, double seconds)
{
	sv->st.by_code[metrics_code(code)]++;
	metrics_observe(&sv->st.latency, seconds);
}

static double
inv_seconds(const struct invocation *inv)
{
	return (double)(clock_us() - inv->started_us) / 1e6;
}

static void
inv_free(struct invocation *inv)
{
	struct serve		*sv = inv->sv;
	struct invocation	**pp = slot(sv, inv->iid);

	*pp = inv->hnext;
	pp = call_slot(sv, inv->origin, inv->cid);
	while (*pp != inv)
		pp = &(*pp)->cnext;
	*pp = inv->cnext;
	TAILQ_REMOVE(&sv->all, inv, entry);
	sv->n--;
	event_free(inv->timer);
	free(inv);
}

void
serve_free(struct serve *sv)
{
	struct invocation	*inv;

	if (sv == NULL)
		return;
	while ((inv = TAILQ_FIRST(&sv->all)) != NULL)
		inv_free(inv);
	free(sv);
}

/*
 * Tells the app that an answer to the call is no longer wanted; code
 * says why, for the count.
 */
static void
inv_cancelled(struct invocation *inv, enum peer_code code, const char *reason)
{
	struct cbor_buf	*b = ctl_message_begin(inv->c);

	count(inv->sv, code, inv_seconds(inv));
	cbor_put_map(b, 3);
	cbor_put_text(b, "op");
	cbor_put_text(b, "cancelled");
	cbor_put_text(b, "call");
	cbor_put_uint(b, inv->iid);
	cbor_put_text(b, "reason");
	cbor_put_text(b, reason);
	ctl_message_end(inv->c);
	inv_free(inv);
}

/* The caller has given up by now, and will not wait for an answer. */
static void
inv_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	inv_cancelled(arg, PEER_DEADLINE_EXCEEDED, "deadline passed");
}

/* Sends an answer (the fields of ans other than the addresses) back. */
static void
inv_answer(struct invocation *inv, struct callmsg *ans)
{
	struct route	*r = inv->sv->route;

	ans->type = CALLMSG_ANSWER;
	memcpy(ans->origin, inv->origin, NODE_ID_LEN);
	memcpy(ans->provider, inv->provider, NODE_ID_LEN);
	ans->cid = inv->cid;
	ans->hops = CALLMSG_HOPS;
	count(inv->sv, ans->result != NULL ? PEER_OK : (int)ans->err.code,
	    inv_seconds(inv));
	inv_free(inv);
	switch (route_send(r, ans, NULL)) {
	case ROUTE_SENT:
		break;
	case ROUTE_FULL:
		/* A short error fits where the answer did not. */
		route_fail(r, ans, PEER_RESOURCE_EXHAUSTED, "the link back "
		    "to the caller is full");
		break;
	case ROUTE_NO_PATH:
		log_debug("serve: no route back to the caller of call %llu",
		    (unsigned long long)ans->cid);
		break;
	}
}

static void
inv_error(struct invocation *inv, enum peer_code code, const char *msg)
{
	struct callmsg	ans;

	memset(&ans, 0, sizeof(ans));
	ans.err.code = code;
	ans.err.msg = msg;
	ans.err.msglen = strlen(msg);
	inv_answer(inv, &ans);
}

/* verified: whether the caller's node is known to be m's origin. */
static void
put_invoke(struct cbor_buf *b, uint64_t iid, const struct callmsg *m,
    const char *group, bool verified)
{
	char	from[NODE_ID_STRLEN];

	base32_encode(m->origin, NODE_ID_LEN, from);
	cbor_put_map(b, 7 + (group[0] != '\0') + (m->args != NULL) +
	    m->oneway);
	cbor_put_text(b, "op");
	cbor_put_text(b, "invoke");
	cbor_put_text(b, "call");
	cbor_put_uint(b, iid);
	cbor_put_text(b, "service");
	cbor_put_text(b, m->service);
	if (group[0] != '\0') {
		cbor_put_text(b, "group");
		cbor_put_text(b, group);
	}
	cbor_put_text(b, "method");
	cbor_put_text(b, m->method);
	if (m->args != NULL) {
		cbor_put_text(b, "args");
		cbor_put_raw(b, m->args, m->argslen);
	}
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, m->timeout_ms);
	cbor_put_text(b, "from");
	cbor_put_text(b, from);
	cbor_put_text(b, "verified");
	cbor_put_bool(b, verified);
	if (m->oneway) {
		cbor_put_text(b, "oneway");
		cbor_put_bool(b, true);
	}
}

/* Refuses a call before it reaches an app: answered and counted. */
static void
refuse(struct serve *sv, const struct callmsg *m, enum peer_code code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct serve *sv, const struct callmsg *m, enum peer_code code,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!m->oneway)
		count(sv, code, 0);
	route_fail(sv->route, m, code, "%s", msg);
}

/* The rule that keeps node id from calling service, or NULL. */
static const struct access_rule *
node_denied(struct serve *sv, const uint8_t *id, const char *service)
{
	const struct member	*mb = members_get(sv->members, id);

	/* A node we hold no record of is in no group. */
	return access_remote(sv->par.access, id, mb != NULL ?
	    (const char (*)[GROUP_NAME_MAX + 1])mb->rec.groups : NULL,
	    mb != NULL ? mb->rec.ngroups : 0, service);
}

/*
 * Whether the access rules let a call from the mesh in: its origin
 * must be admitted and, when the origin is not verified (an old node's
 * call, taken on the word of the link it came by), so must the link
 * peer that relayed it.  False after answering.
 */
static bool
remote_admitted(struct serve *sv, const struct callmsg *m, const uint8_t *via)
{
	const struct access_rule	*rule;
	char				 id[NODE_ID_STRLEN], why[512];
	bool				 relay = false;

	if ((rule = node_denied(sv, m->origin, m->service)) == NULL &&
	    !m->verified && memcmp(via, m->origin, NODE_ID_LEN) != 0) {
		rule = node_denied(sv, via, m->service);
		relay = true;
	}
	if (rule == NULL)
		return true;
	base32_encode(relay ? via : m->origin, NODE_ID_LEN, id);
	snprintf(why, sizeof(why), "rule %s does not let %snode %s call %s "
	    "on %s", access_rule_name(rule), relay ? "relay " : "", id,
	    m->service, sv->par.name);
	access_log(sv->par.access, "serve: %s", why);
	refuse(sv, m, PEER_PERMISSION_DENIED, "%s", why);
	return false;
}

void
serve_call(struct serve *sv, const struct callmsg *m, const uint8_t *via)
{
	struct invocation	*inv, **pp;
	struct ctl_conn		*c;
	struct timeval		 tv;
	const char		*group;

	/* Before anything about the service is told or done. */
	if (via != NULL && !remote_admitted(sv, m, via))
		return;
	/* The invoke must fit in the app's control frames. */
	if (m->argslen > sv->par.max_message) {
		refuse(sv, m, PEER_RESOURCE_EXHAUSTED, "args larger than "
		    "max_message on %s", sv->par.name);
		return;
	}
	if (m->timeout_ms == 0) {
		refuse(sv, m, PEER_DEADLINE_EXCEEDED, "deadline passed "
		    "before the call reached %s", sv->par.name);
		return;
	}
	if ((c = registry_pick(sv->registry, m->service, m->group,
	    &group)) == NULL) {
		refuse(sv, m, PEER_NOT_FOUND, "no service %s%s%s on %s",
		    m->service, m->group[0] ? " in group " : "", m->group,
		    sv->par.name);
		return;
	}
	if (ctl_queued(c) > SERVE_BACKLOG_MAX) {
		refuse(sv, m, PEER_RESOURCE_EXHAUSTED, "the provider of %s "
		    "on %s is not keeping up", m->service, sv->par.name);
		return;
	}
	if (!m->oneway && sv->n >= SERVE_INFLIGHT_MAX) {
		refuse(sv, m, PEER_RESOURCE_EXHAUSTED, "%d calls in "
		    "progress on %s", SERVE_INFLIGHT_MAX, sv->par.name);
		return;
	}
	sv->next_iid++;
	if (!m->oneway) {
		if ((inv = calloc(1, sizeof(*inv))) == NULL ||
		    (inv->timer = evtimer_new(sv->base, inv_expired,
		    inv)) == NULL) {
			free(inv);
			refuse(sv, m, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return;
		}
		inv->sv = sv;
		inv->c = c;
		inv->iid = sv->next_iid;
		memcpy(inv->origin, m->origin, NODE_ID_LEN);
		memcpy(inv->provider, m->provider, NODE_ID_LEN);
		inv->cid = m->cid;
		inv->started_us = clock_us();
		pp = slot(sv, inv->iid);
		inv->hnext = *pp;
		*pp = inv;
		pp = call_slot(sv, inv->origin, inv->cid);
		inv->cnext = *pp;
		*pp = inv;
		TAILQ_INSERT_TAIL(&sv->all, inv, entry);
		sv->n++;
		duration_timeval(m->timeout_ms, &tv);
		evtimer_add(inv->timer, &tv);
	}
	/* A call of this node's own clients is from this node. */
	put_invoke(ctl_message_begin(c), sv->next_iid, m, group,
	    via == NULL || m->verified);
	ctl_message_end(c);
}

void
serve_cancel(struct serve *sv, const struct callmsg *m)
{
	struct invocation	*inv;

	if ((inv = *call_slot(sv, m->origin, m->cid)) != NULL)
		inv_cancelled(inv, PEER_CANCELLED, "cancelled by the caller");
}

void
serve_forget(struct serve *sv, const uint8_t *id)
{
	struct invocation	*inv, *next;

	for (inv = TAILQ_FIRST(&sv->all); inv != NULL; inv = next) {
		next = TAILQ_NEXT(inv, entry);
		if (memcmp(inv->origin, id, NODE_ID_LEN) == 0)
			inv_cancelled(inv, PEER_CANCELLED,
			    "the caller's node died");
	}
}

void
serve_member(struct serve *sv, const struct member *m)
{
	/* Our own callers are answered by call.c, not here. */
	if (!member_live(m) && !m->self)
		serve_forget(sv, m->rec.id);
}

void
serve_client_gone(struct serve *sv, struct ctl_conn *c)
{
	struct invocation	*inv, *next;

	for (inv = TAILQ_FIRST(&sv->all); inv != NULL; inv = next) {
		next = TAILQ_NEXT(inv, entry);
		if (inv->c == c)
			inv_error(inv, PEER_UNAVAILABLE, "the provider went "
			    "away during the call");
	}
}

static void
serve_op_reply(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct serve		*sv = arg;
	const struct cbor_field	*call, *res, *err;
	struct invocation	*inv;
	struct callmsg		 ans;
	uint64_t		 iid;

	memset(&ans, 0, sizeof(ans));
	call = ctl_msg_get(msg, "call");
	res = ctl_msg_get(msg, "result");
	err = ctl_msg_get(msg, "error");
	if (call == NULL || !cbor_read_uint(call->val, call->vallen, &iid) ||
	    (res == NULL) == (err == NULL) || (err != NULL &&
	    (!ctl_error_decode(err->val, err->vallen, &ans.err) ||
	    ans.err.msglen > CTL_MSG_MAX))) {
		ctl_fail(c, PEER_INVALID_ARGUMENT, "malformed reply: it needs "
		    "a \"call\" and exactly one of \"result\" and a "
		    "well-formed \"error\"");
		return;
	}
	/* Late (past the deadline, or cancelled): nobody waits for it. */
	if ((inv = *slot(sv, iid)) == NULL || inv->c != c) {
		log_debug("control %s: reply to call %llu that is over",
		    ctl_name(c), (unsigned long long)iid);
		return;
	}
	if ((res != NULL ? res->vallen : ans.err.msglen +
	    ans.err.contextlen) > sv->par.max_message) {
		inv_error(inv, PEER_RESOURCE_EXHAUSTED, res != NULL ?
		    "the result is larger than max_message" :
		    "the error is larger than max_message");
		return;
	}
	if (res != NULL) {
		ans.result = res->val;
		ans.resultlen = res->vallen;
	}
	inv_answer(inv, &ans);
}

void
serve_stats(const struct serve *sv, struct serve_stats *st)
{
	*st = sv->st;
}

const struct ctl_op serve_ctl_ops[] = {
	{ "reply",	CTL_OP_NO_ID,	serve_op_reply },
	{ NULL,		0,		NULL },
};
