/* SPDX-License-Identifier: ISC */
/*
 * kvpost.c: sending the key-value store's messages.  Each is encoded
 * once, into a buffer kept for the next, and handed to the router as a
 * "kv" call message; one for this node is delivered at once.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "kvpost.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "ratelog.h"

struct kvpost {
	struct route		*route;
	uint8_t			 self[NODE_ID_LEN];
	uint64_t		 max_message;
	struct cbor_buf		 buf;		/* the body being sent */
	bool			 busy;		/* buf is being delivered here */
	struct ratelog		 biglog;	/* messages too large */
	/* Dialing members we have no link to, if asked */
	struct mesh		*mesh;
	const struct members	*members;
	struct nodemap		*dialed;	/* node ID: int64_t last dial */
};

struct kvpost *
kvpost_new(struct route *route, const uint8_t *self, uint64_t max_message)
{
	struct kvpost	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->route = route;
	memcpy(p->self, self, NODE_ID_LEN);
	p->max_message = max_message;
	return p;
}

void
kvpost_free(struct kvpost *p)
{
	if (p == NULL)
		return;
	cbor_buf_free(&p->buf);
	nodemap_free(p->dialed);
	free(p);
}

/*
 * Syncs, repairs and watch leases go between every pair of the store's
 * nodes all the time: were they to mark links used, no link would ever
 * be shed.  Requests and their answers do, as calls do, so that a link
 * is not closed under them.
 */
static bool
background(const struct kvmsg *m)
{
	switch (m->kind) {
	case KVMSG_DIGEST:
	case KVMSG_HAVE:
	case KVMSG_WANT:
	case KVMSG_WATCH:
		return true;
	case KVMSG_STORE:
		return m->repair;
	default:
		return false;
	}
}

void
kvpost_dial_direct(struct kvpost *p, struct mesh *mesh,
    const struct members *members)
{
	if (p->dialed == NULL &&
	    (p->dialed = nodemap_new(sizeof(int64_t), MEMBERS_MAX)) == NULL) {
		log_warn("kvpost");
		return;
	}
	p->mesh = mesh;
	p->members = members;
}

void
kvpost_forget(struct kvpost *p, const uint8_t *id)
{
	if (p->dialed != NULL)
		nodemap_del(p->dialed, id);
}

/* A link of its own to dest, for the messages after this one. */
static void
dial(struct kvpost *p, const uint8_t *dest)
{
	const struct member	*m;
	int64_t			*last, now = clock_ms();

	if (p->mesh == NULL || mesh_link_to(p->mesh, dest) != NULL ||
	    mesh_dialing(p->mesh, dest) ||
	    (m = members_get(p->members, dest)) == NULL || m->rec.naddrs == 0)
		return;
	if ((last = nodemap_get(p->dialed, dest)) != NULL &&
	    now - *last < KVPOST_REDIAL_MS)
		return;
	if (last == NULL && (last = nodemap_put(p->dialed, dest)) == NULL)
		return;
	*last = now;
	(void)mesh_dial_for_calls(p->mesh, dest,
	    m->rec.addrs[randombytes_uniform((uint32_t)m->rec.naddrs)], NULL,
	    NULL);
}

enum route_result
kvpost_send(struct kvpost *p, const uint8_t *dest, uint64_t cid,
    const struct kvmsg *m)
{
	struct cbor_buf		 own = { 0 }, *b;
	struct callmsg		 cm;
	enum route_result	 res = ROUTE_FULL;
	unsigned		 skipped;

	/*
	 * A receiver here may send while it still reads the body it was
	 * given, which lies in buf: that send takes a buffer of its own.
	 */
	if (p->busy)
		b = &own;
	else {
		b = &p->buf;
		cbor_buf_reset(b);
	}
	kvmsg_encode(b, m);
	if (b->failed)
		goto done;
	/* The envelope adds a little more than two node IDs. */
	if (b->len > p->max_message || p->max_message - b->len < 128) {
		if (ratelog_ok(&p->biglog, 1000, &skipped))
			log_warnx("kvpost: a message of %zu bytes exceeds "
			    "max_message, not sent (%u more not logged)",
			    b->len, skipped);
		goto done;
	}
	memset(&cm, 0, sizeof(cm));
	cm.type = CALLMSG_KV;
	memcpy(cm.origin, p->self, NODE_ID_LEN);
	memcpy(cm.provider, dest, NODE_ID_LEN);
	cm.cid = cid;
	cm.hops = CALLMSG_HOPS;
	cm.args = b->data;
	cm.argslen = b->len;
	if (b == &p->buf)
		p->busy = true;
	if (background(m))
		res = route_send_quiet(p->route, &cm, NULL);
	else {
		res = route_send(p->route, &cm, NULL);
		if (memcmp(dest, p->self, NODE_ID_LEN) != 0)
			dial(p, dest);
	}
	if (b == &p->buf)
		p->busy = false;
done:
	cbor_buf_free(&own);
	return res;
}
