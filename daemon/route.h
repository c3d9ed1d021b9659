/* SPDX-License-Identifier: ISC */
/*
 * route.h: moving call messages towards the node they are for: to this
 * node's own callers or apps, over a direct link, or through the
 * neighbour the destination's record first arrived from.
 */
#ifndef PEERD_ROUTE_H
#define PEERD_ROUTE_H

#include <stdbool.h>

#include "callmsg.h"
#include "peer.h"

struct peerd;
struct route;
struct link;

enum route_result {
	ROUTE_SENT,		/* delivered here or queued on a link */
	ROUTE_NO_PATH,		/* no link leads there now */
	ROUTE_FULL,		/* the link's queue has no room for it */
};

struct route	*route_new(struct peerd *);
void		 route_free(struct route *);
/*
 * Delivers m here if it is for this node, else queues it on a link
 * other than from (NULL: any).  Local delivery runs the receiver now.
 */
enum route_result route_send(struct route *, const struct callmsg *m,
		    struct link *from);
/* Answers call with an error, towards its origin; oneway calls: none. */
void		 route_fail(struct route *, const struct callmsg *call,
		    enum peer_code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* A message from link l: true if it was a call message (handled). */
bool		 route_message(struct route *, struct link *l,
		    const char *type, const struct cbor_field *, int nf);

#endif
