/* SPDX-License-Identifier: ISC */
/*
 * route.h: moving call messages towards the node they are for: to this
 * node's own modules (calls, serving, events), over a direct link, or
 * through the neighbour the destination's record last arrived from.
 */
#ifndef PEERD_ROUTE_H
#define PEERD_ROUTE_H

#include <stdbool.h>

#include "callmsg.h"
#include "mesh.h"
#include "peer.h"

struct link;
struct members;
struct originauth;
struct route;

struct route_params {
	const uint8_t		*self;		/* our node ID */
	const char		*name;		/* our name, for error messages */
	uint64_t		 max_message;
	/* Seals what this node sends through relays, opens what it gets. */
	struct originauth	*oa;
};

/*
 * Takes the messages of one type that are for this node.  via is the
 * node ID of the link peer it came from, NULL if it was sent here by
 * this node's own modules.  A message from a link has passed
 * originauth_open(); verified says whether its author is proven.
 */
typedef void	 route_deliver_fn(void *arg, const struct callmsg *,
		    const uint8_t *via);

enum route_result {
	ROUTE_SENT,		/* delivered here or queued on a link */
	ROUTE_NO_PATH,		/* no link leads there now */
	ROUTE_FULL,		/* the link's queue has no room for it */
};

/* NULL after logging.  members is read, to know who is a member. */
struct route	*route_new(const struct route_params *, struct mesh *,
		    const struct members *);
void		 route_free(struct route *);
/* Messages of type t for this node go to fn(arg, msg). */
void		 route_deliver(struct route *, enum callmsg_type,
		    route_deliver_fn *fn, void *arg);
/* The record of id came over the link to via: relay towards id there. */
void		 route_heard(struct route *, const uint8_t *id,
		    const uint8_t *via);
/* The member id is forgotten. */
void		 route_forget(struct route *, const uint8_t *id);
/*
 * Delivers m here if it is for this node, else queues it on a link
 * other than from (NULL: any).  Local delivery runs the receiver now.
 * With from NULL, m is made here (its author is this node): it is
 * sealed (originauth.h) unless it goes on the addressee's own link.
 */
enum route_result route_send(struct route *, const struct callmsg *m,
		    struct link *from);
/*
 * As route_send, but the link is not marked used (link_mark_used), so
 * that background traffic does not keep a link from being shed or
 * closed as idle.
 */
enum route_result route_send_quiet(struct route *, const struct callmsg *m,
		    struct link *from);
/*
 * Answers call with an error, towards its origin; oneway calls: none.
 * At a relay the answer says so ("by").
 */
void		 route_fail(struct route *, const struct callmsg *call,
		    enum peer_code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/* The link messages of calls and events, called with the route. */
extern const struct mesh_handler	route_handlers[];

#endif
