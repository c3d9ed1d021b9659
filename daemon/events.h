/* SPDX-License-Identifier: ISC */
/*
 * events.h: publish and subscribe across the mesh.  Clients subscribe
 * to topics or topic prefixes; the node's record lists them, so that a
 * publish travels only to the nodes that want it.
 */
#ifndef PEERD_EVENTS_H
#define PEERD_EVENTS_H

#include <stdint.h>

#include "control.h"
#include "record.h"

struct events;
struct callmsg;
struct ctl_conn;
struct members;
struct route;

struct events_params {
	const uint8_t	*self;		/* our node ID */
	const char	*name;		/* our name, as events from here show */
	uint64_t	 max_message;
};

/* Events counted since the start. */
struct events_stats {
	uint64_t	published;	/* by this node's clients */
	uint64_t	sent;		/* to other nodes, one per node */
	uint64_t	received;	/* from links, for this node */
	uint64_t	dropped;	/* received again or out of order */
	uint64_t	delivered;	/* to this node's clients, one each */
	uint64_t	lost;		/* not given to a client too slow */
};

/* How events reports to its owner. */
struct events_ops {
	/*
	 * The distinct patterns subscribed to here may have changed: the
	 * set, sorted, for our record (at most RECORD_TOPICS_MAX).
	 */
	void	(*topics)(void *arg, char (*)[TOPIC_MAX + 1], int n);
};

/*
 * Subscribers are found among members; events travel by route.  NULL
 * after logging.
 */
struct events	*events_new(const struct events_params *,
		    const struct members *, struct route *,
		    const struct events_ops *, void *arg);
void		 events_free(struct events *);
/* An event for this node, from a link. */
void		 events_deliver(struct events *, const struct callmsg *);
/* The member id is forgotten: so is the last event taken from it. */
void		 events_forget(struct events *, const uint8_t *id);
/* A control client went away: its subscriptions go. */
void		 events_client_gone(struct events *, struct ctl_conn *);
void		 events_stats(const struct events *, struct events_stats *);

/* Control ops (see doc/PROTOCOL.md), called with the events. */
extern const struct ctl_op	events_ctl_ops[];

#endif
