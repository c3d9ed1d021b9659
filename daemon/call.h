/* SPDX-License-Identifier: ISC */
/*
 * call.h: calls made by this node's clients: choosing a provider,
 * sending the call on its way, and answering the client when the
 * provider answers, the deadline passes, the client cancels, or the
 * provider's node is known to have died.
 */
#ifndef PEERD_CALL_H
#define PEERD_CALL_H

#include <stdint.h>

#include "control.h"
#include "metrics.h"

struct access;
struct event_base;
struct calls;
struct callmsg;
struct member;
struct members;
struct mesh;
struct route;

struct calls_params {
	const uint8_t	*self;		/* our node ID */
	uint64_t	 max_message;
	struct access	*access;	/* who may call what; NULL: all */
};

/*
 * The calls that ended, each call of a fan-out on its own: by the code
 * of the answer that ended it (CANCELLED when the client cancelled or
 * went away), and how long each took; and the requests refused before
 * any call was made (malformed, denied, no provider).
 */
struct calls_stats {
	uint64_t		 by_code[METRICS_CODES];
	uint64_t		 refused;
	struct metrics_hist	 latency;
};

/*
 * Providers are chosen from members; calls travel by route, and mesh
 * tells round trip times and dials providers.  NULL after logging.
 */
struct calls	*calls_new(struct event_base *, const struct calls_params *,
		    const struct members *, struct route *, struct mesh *);
/*
 * The clients go first, and take their calls with them; the mesh goes
 * first too, ending the dials calls wait on.
 */
void		 calls_free(struct calls *);
/* An answer for a call of this node. */
void		 calls_answer(struct calls *, const struct callmsg *);
/* A member changed: calls to it fail at once if it died or left. */
void		 calls_member(struct calls *, const struct member *);
/* A member is forgotten: calls to it fail at once. */
void		 calls_forget(struct calls *, const uint8_t *id);
void		 calls_stats(const struct calls *, struct calls_stats *);

/* Control ops (see doc/PROTOCOL.md), called with the calls. */
extern const struct ctl_op	calls_ctl_ops[];

#endif
