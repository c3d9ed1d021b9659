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

#include "call.h"
#include "events.h"
#include "gossip.h"
#include "link.h"
#include "log.h"
#include "mesh.h"
#include "members.h"
#include "peerd.h"
#include "route.h"
#include "serve.h"

struct route {
	struct peerd	*d;
	struct cbor_buf	 buf;		/* scratch for encoding */
};

struct route *
route_new(struct peerd *d)
{
	struct route	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("route");
		return NULL;
	}
	r->d = d;
	return r;
}

void
route_free(struct route *r)
{
	if (r == NULL)
		return;
	cbor_buf_free(&r->buf);
	free(r);
}

/*
 * The link towards id: a direct one, else the one its record came by,
 * else (that neighbour gone) any other: every node knows every member,
 * and the hop limit ends a search that finds no way.
 */
static struct link *
next_hop(struct route *r, const uint8_t *id, struct link *from)
{
	struct mesh	*mesh = r->d->mesh;
	struct member	*m;
	struct link	*l, *up[8];
	size_t		 i, n;

	if ((l = mesh_link_to(mesh, id)) != NULL && l != from)
		return l;
	if ((m = gossip_member(r->d->gossip, id)) == NULL)
		return NULL;
	if (m->has_via && (l = mesh_link_to(mesh, m->via)) != NULL)
		return l != from ? l : NULL;
	n = mesh_links(mesh, up, 8);
	for (i = 0; i < n; i++)
		if (up[i] != from)
			return up[i];
	return NULL;
}

static void
deliver(struct route *r, const struct callmsg *m)
{
	switch (m->type) {
	case CALLMSG_CALL:
		serve_call(r->d->serve, m);
		break;
	case CALLMSG_CANCEL:
		serve_cancel(r->d->serve, m);
		break;
	case CALLMSG_ANSWER:
		calls_answer(r->d->calls, m);
		break;
	case CALLMSG_EVENT:
		events_deliver(r->d->events, m);
		break;
	}
}

enum route_result
route_send(struct route *r, const struct callmsg *m, struct link *from)
{
	const uint8_t	*dest = callmsg_dest(m);
	struct link	*l;
	/* Far below the queue limit at which the link itself gives up. */
	size_t		 budget = r->d->conf.max_message + (1u << 20);

	if (memcmp(dest, r->d->id.pk, NODE_ID_LEN) == 0) {
		deliver(r, m);
		return ROUTE_SENT;
	}
	if ((l = next_hop(r, dest, from)) == NULL)
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
	char		msg[256];

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

bool
route_message(struct route *r, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct callmsg	m;
	const char	*why;

	if (!callmsg_is(type))
		return false;
	if (callmsg_decode(type, f, nf, &m, &why) == -1) {
		log_warnx("link %s: dropped a call message: %s", link_name(l),
		    why);
		return true;
	}
	if (memcmp(callmsg_dest(&m), r->d->id.pk, NODE_ID_LEN) == 0) {
		deliver(r, &m);
		return true;
	}
	/* A relay: pass it on, or tell the caller why it cannot go on. */
	if (m.hops == 0) {
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_UNAVAILABLE, "no route to the "
			    "provider within %d hops", CALLMSG_HOPS);
		return true;
	}
	if (m.type == CALLMSG_CALL && m.timeout_ms == 0) {
		route_fail(r, &m, PEER_DEADLINE_EXCEEDED, "deadline passed on "
		    "the way");
		return true;
	}
	m.hops--;
	switch (route_send(r, &m, l)) {
	case ROUTE_SENT:
		break;
	case ROUTE_NO_PATH:
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_UNAVAILABLE, "relay %s has no "
			    "route to the provider", r->d->conf.name);
		break;
	case ROUTE_FULL:
		if (m.type == CALLMSG_CALL)
			route_fail(r, &m, PEER_RESOURCE_EXHAUSTED, "relay %s: "
			    "link to the provider is full", r->d->conf.name);
		else
			log_warnx("route: dropped a forwarded %s message: link "
			    "full", type);
		break;
	}
	return true;
}
