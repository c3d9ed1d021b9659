/* SPDX-License-Identifier: ISC */
/*
 * kvpost.c: sending the key-value store's messages.  Each is encoded
 * once, into a buffer kept for the next, and handed to the router as a
 * "kv" call message; one for this node is delivered at once.
 */
#include <stdlib.h>
#include <string.h>

#include "kvpost.h"
#include "log.h"

struct kvpost {
	struct route	*route;
	uint8_t		 self[NODE_ID_LEN];
	uint64_t	 max_message;
	struct cbor_buf	 buf;		/* the body being sent */
	bool		 busy;		/* buf is being delivered here */
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
	free(p);
}

enum route_result
kvpost_send(struct kvpost *p, const uint8_t *dest, uint64_t cid,
    const struct kvmsg *m)
{
	struct cbor_buf		 own = { 0 }, *b;
	struct callmsg		 cm;
	enum route_result	 res = ROUTE_FULL;

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
		log_warnx("kvpost: a message of %zu bytes exceeds "
		    "max_message, not sent", b->len);
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
	res = route_send(p->route, &cm, NULL);
	if (b == &p->buf)
		p->busy = false;
done:
	cbor_buf_free(&own);
	return res;
}
