/* SPDX-License-Identifier: ISC */
/*
 * route.c: forwarding call messages.  Relays keep no state: a call and
 * its answer each carry the node they are for, and every hop picks the
 * next link afresh, so a relay that restarts loses nothing but the
 * messages on its queues.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "link.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "originauth.h"
#include "ratelog.h"
#include "route.h"

#define LINKS_MAX	256	/* links a hop is chosen among: degree_max's most */

struct route {
	struct route_params	 par;
	struct mesh		*mesh;
	const struct members	*members;
	struct nodemap		*via;		/* node ID: its record came by */
	struct {
		route_deliver_fn	*fn;
		void			*arg;
	}			 deliver[CALLMSG_TYPES];
	struct cbor_buf		 buf;		/* scratch for encoding */
	struct ratelog		 droplog;	/* messages failing originauth */
};

struct route *
route_new(const struct route_params *p, struct mesh *mesh,
    const struct members *members)
{
	struct route	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->via = nodemap_new(NODE_ID_LEN, MEMBERS_MAX)) == NULL) {
		free(r);
		log_warn("route");
		return NULL;
	}
	r->par = *p;
	r->mesh = mesh;
	r->members = members;
	return r;
}

void
route_free(struct route *r)
{
	if (r == NULL)
		return;
	nodemap_free(r->via);
	cbor_buf_free(&r->buf);
	free(r);
}

void
route_deliver(struct route *r, enum callmsg_type t, route_deliver_fn *fn,
    void *arg)
{
	r->deliver[t].fn = fn;
	r->deliver[t].arg = arg;
}

void
route_heard(struct route *r, const uint8_t *id, const uint8_t *via)
{
	uint8_t	*v;

	if ((v = nodemap_put(r->via, id)) != NULL)
		memcpy(v, via, NODE_ID_LEN);
}

void
route_forget(struct route *r, const uint8_t *id)
{
	nodemap_del(r->via, id);
}

/*
 * The link towards id: a direct one, else the one its record came by,
 * else (that neighbour gone, or the message came from it) another one
 * at random: every node knows every member, and the hop limit ends a
 * search that finds no way.  Random, for a first choice would send
 * every message the same way: to a relay whose record of id came from
 * here, and back, so that none ever arrived.
 */
static struct link *
next_hop(struct route *r, const uint8_t *id, struct link *from)
{
	struct link	*l, *up[LINKS_MAX];
	const uint8_t	*via;
	size_t		 i, n, k = 0;

	if ((l = mesh_link_to(r->mesh, id)) != NULL && l != from)
		return l;
	if (members_get(r->members, id) == NULL)
		return NULL;
	if ((via = nodemap_get(r->via, id)) != NULL &&
	    (l = mesh_link_to(r->mesh, via)) != NULL && l != from)
		return l;
	n = mesh_links(r->mesh, up, LINKS_MAX);
	for (i = 0; i < n; i++)
		if (up[i] != from)
			up[k++] = up[i];
	return k > 0 ? up[randombytes_uniform((uint32_t)k)] : NULL;
}

/*
 * A message for this node (from the link peer via, NULL: from here) to
 * whoever takes it.
 */
static void
deliver(struct route *r, const struct callmsg *m, const uint8_t *via)
{
	if (r->deliver[m->type].fn != NULL)
		r->deliver[m->type].fn(r->deliver[m->type].arg, m, via);
}

static enum route_result	send_on(struct route *, const struct callmsg *,
			    struct link *, bool);

enum route_result
route_send(struct route *r, const struct callmsg *m, struct link *from)
{
	return send_on(r, m, from, true);
}

enum route_result
route_send_quiet(struct route *r, const struct callmsg *m, struct link *from)
{
	return send_on(r, m, from, false);
}

/*
 * A message made here, for the link l: an answer a relay makes says so
 * (by); one through a relay is sealed, for its addressee to check; one
 * on the addressee's own link needs nothing, the link proves its
 * author, and goes as it is, uncopied.  What to send (in, or mine
 * filled in), or NULL if it cannot be sent.
 */
static const struct callmsg *
seal(struct route *r, const struct callmsg *in, struct link *l,
    struct callmsg *mine)
{
	bool	direct = in->has_mac ||
		    mesh_link_to(r->mesh, callmsg_dest(in)) == l;
	bool	relay_answer = in->type == CALLMSG_ANSWER &&
		    memcmp(in->provider, r->par.self, NODE_ID_LEN) != 0;

	if (!relay_answer &&
	    memcmp(originauth_author(in), r->par.self, NODE_ID_LEN) != 0) {
		log_warnx("route: a %s made here names another author",
		    callmsg_type_name(in->type));
		return NULL;
	}
	if (direct && !relay_answer)
		return in;
	*mine = *in;
	if (relay_answer) {
		memcpy(mine->by, r->par.self, NODE_ID_LEN);
		mine->has_by = true;
	}
	if (direct)
		return mine;
	return originauth_seal(r->par.oa, mine) == 0 ? mine : NULL;
}

static enum route_result
send_on(struct route *r, const struct callmsg *in, struct link *from,
    bool use)
{
	const uint8_t	*dest = callmsg_dest(in);
	const struct callmsg *m = in;
	struct callmsg	 mine;
	struct link	*l;
	/* Far below the queue limit at which the link itself gives up. */
	size_t		 budget = r->par.max_message + (1u << 20);

	if (memcmp(dest, r->par.self, NODE_ID_LEN) == 0) {
		/* Made here, by this node: its author is no question. */
		mine = *in;
		mine.verified = true;
		deliver(r, &mine, NULL);
		return ROUTE_SENT;
	}
	if ((l = next_hop(r, dest, from)) == NULL)
		return ROUTE_NO_PATH;
	if (from == NULL && (m = seal(r, in, l, &mine)) == NULL)
		return ROUTE_NO_PATH;
	/* Checked before encoding too: a full link costs no copy. */
	if (link_queued(l) + m->argslen + m->resultlen + m->err.msglen +
	    m->err.contextlen > budget)
		return ROUTE_FULL;
	cbor_buf_reset(&r->buf);
	callmsg_encode(&r->buf, m);
	if (r->buf.failed)
		return ROUTE_FULL;
	if (link_queued(l) + r->buf.len > budget)
		return ROUTE_FULL;
	/* A link that calls use is not shed, nor closed as idle. */
	if (use)
		link_mark_used(l);
	return link_send(l, r->buf.data, r->buf.len) == 0 ? ROUTE_SENT :
	    ROUTE_NO_PATH;
}

void
route_fail(struct route *r, const struct callmsg *call, enum peer_code code,
    const char *fmt, ...)
{
	struct callmsg	ans;
	va_list		ap;
	char		msg[512];	/* room for a rule's name and file */

	if (call->oneway)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&ans, 0, sizeof(ans));
	ans.type = CALLMSG_ANSWER;
	memcpy(ans.origin, call->origin, NODE_ID_LEN);
	memcpy(ans.provider, call->provider, NODE_ID_LEN);
	ans.cid = call->cid;
	ans.hops = CALLMSG_HOPS;
	ans.err.code = code;
	ans.err.msg = msg;
	ans.err.msglen = strlen(msg);
	if (route_send(r, &ans, NULL) != ROUTE_SENT)
		log_debug("route: cannot answer call %llu: no way back",
		    (unsigned long long)call->cid);
}

/*
 * Whether m, for this node from the link l, may be delivered: its
 * author proven, or an old node's taken on the link's word.  Others
 * are dropped unanswered (an answer to a forgery would reflect it), and
 * logged once a second at most; the link stays, its peer may be an
 * honest relay.
 */
static bool
opened(struct route *r, struct link *l, struct callmsg *m)
{
	enum oa_result	res;
	unsigned	skipped;
	char		id[NODE_ID_STRLEN];

	res = originauth_open(r->par.oa, m, link_remote(l)->id);
	if (res == OA_OK || res == OA_UNVERIFIED) {
		m->verified = res == OA_OK;
		return true;
	}
	if (!ratelog_ok(&r->droplog, 1000, &skipped))
		return false;
	base32_encode(originauth_author(m), NODE_ID_LEN, id);
	if (skipped > 0)
		log_warnx("link %s: dropped a \"%s\" claiming origin %s: %s "
		    "(%u more since)", link_name(l),
		    callmsg_type_name(m->type), id,
		    originauth_result_name(res), skipped);
	else
		log_warnx("link %s: dropped a \"%s\" claiming origin %s: %s",
		    link_name(l), callmsg_type_name(m->type), id,
		    originauth_result_name(res));
	return false;
}

/* A call message from link l: for this node, or passed on. */
static void
route_message(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct route	*r = arg;
	struct callmsg	 m;
	const char	*why;

	if (callmsg_decode(type, f, nf, &m, &why) == -1) {
		log_warnx("link %s: dropped a call message: %s", link_name(l),
		    why);
		return;
	}
	if (memcmp(callmsg_dest(&m), r->par.self, NODE_ID_LEN) == 0) {
		if (opened(r, l, &m))
			deliver(r, &m, link_remote(l)->id);
		return;
	}
	/* A relay: pass it on, or tell the caller why it cannot go on. */
	if (m.hops == 0) {
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_UNAVAILABLE, "no route to the "
			    "provider within %d hops", CALLMSG_HOPS);
		return;
	}
	if (m.type == CALLMSG_CALL && m.timeout_ms == 0) {
		route_fail(r, &m, PEER_DEADLINE_EXCEEDED, "deadline passed on "
		    "the way");
		return;
	}
	m.hops--;
	/*
	 * A relay cannot tell a key-value request from the store's
	 * background traffic (kvpost.c), which goes between every pair
	 * of its nodes all the time: it keeps no link for either.
	 */
	switch (send_on(r, &m, l, m.type != CALLMSG_KV)) {
	case ROUTE_SENT:
		break;
	case ROUTE_NO_PATH:
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_UNAVAILABLE, "relay %s has no "
			    "route to the provider", r->par.name);
		break;
	case ROUTE_FULL:
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_RESOURCE_EXHAUSTED, "relay %s: "
			    "link to the provider is full", r->par.name);
		else
			log_warnx("route: dropped a forwarded %s message: link "
			    "full", type);
		break;
	}
}

const struct mesh_handler route_handlers[] = {
	{ "ans",	route_message },
	{ "call",	route_message },
	{ "can",	route_message },
	{ "ev",		route_message },
	{ "kv",		route_message },
	{ NULL,		NULL },
};
