/* SPDX-License-Identifier: ISC */
/*
 * serve.h: calls that arrive for this node's apps.  Each becomes an
 * invoke sent to the control client that registered the service, and
 * the client's reply goes back to the caller's node as the answer.
 */
#ifndef PEERD_SERVE_H
#define PEERD_SERVE_H

#include <stdint.h>

#include "control.h"
#include "metrics.h"

struct access;
struct event_base;
struct serve;
struct callmsg;
struct ctl_conn;
struct member;
struct members;
struct registry;
struct route;

struct serve_params {
	const uint8_t	*self;		/* our node ID */
	const char	*name;		/* our name, for error messages */
	uint64_t	 max_message;
	struct access	*access;	/* who may call from the mesh; NULL: all */
};

/*
 * The calls (not notifies) that came for this node's apps and ended:
 * by the code of the answer sent back (DEADLINE_EXCEEDED when the
 * deadline passed here, CANCELLED when the caller gave up or its node
 * died), and how long each was here.
 */
struct serve_stats {
	uint64_t		 by_code[METRICS_CODES];
	struct metrics_hist	 latency;
};

/*
 * Calls go to the clients the registry picks; answers travel by route.
 * members gives the node groups of callers.  NULL after logging.
 */
struct serve	*serve_new(struct event_base *, const struct serve_params *,
		    const struct members *, struct registry *,
		    struct route *);
/* Forgets every invocation; their callers are not answered. */
void		 serve_free(struct serve *);
/*
 * A call for this node, from the link peer via (NULL: from this node's
 * own clients, which the access rules checked as they called).  The app
 * is told whether m's origin is verified (m->verified, or via NULL).
 */
void		 serve_call(struct serve *, const struct callmsg *,
		    const uint8_t *via);
/* Its caller gave up: the app is told, its answer will be dropped. */
void		 serve_cancel(struct serve *, const struct callmsg *);
/* A member changed: calls from it are dropped if it died or left. */
void		 serve_member(struct serve *, const struct member *);
/* A member is forgotten: calls from it are dropped. */
void		 serve_forget(struct serve *, const uint8_t *id);
/* A control client went away: calls it was serving fail, UNAVAILABLE. */
void		 serve_client_gone(struct serve *, struct ctl_conn *);
void		 serve_stats(const struct serve *, struct serve_stats *);

/* The "reply" message of a serving client (see doc/PROTOCOL.md). */
extern const struct ctl_op	serve_ctl_ops[];

#endif
