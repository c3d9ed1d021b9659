/* SPDX-License-Identifier: ISC */
/*
 * kvwatch.h: watches of key-value prefixes.  A node whose clients watch
 * tells every node of the store which prefixes, and renews that lease;
 * a key's coordinator, when a write is acknowledged, sends the change
 * to each node whose lease covers the key, which gives it to its
 * watching clients in version order per key.
 */
#ifndef PEERD_KVWATCH_H
#define PEERD_KVWATCH_H

#include <stdint.h>

#include "control.h"
#include "kvmsg.h"

struct event_base;
struct ctl_conn;
struct kvpost;
struct kvring;
struct kvwatch;

struct kvwatch_params {
	const uint8_t	*self;
	uint64_t	 lease_ms;	/* a lease lasts this long (30000) */
};

struct kvwatch_stats {
	uint64_t	watches;	/* of this node's clients */
	uint64_t	leases;		/* of other nodes, held here */
	uint64_t	sent;		/* changes sent to watching nodes */
	uint64_t	delivered;	/* changes given to this node's clients */
	uint64_t	lost;		/* not given to a client too slow */
};

/* Renews its leases every lease_ms / 3.  NULL after logging. */
struct kvwatch	*kvwatch_new(struct event_base *,
		    const struct kvwatch_params *, struct kvring *,
		    struct kvpost *);
void		 kvwatch_free(struct kvwatch *);
/*
 * A write to key, acknowledged (or an item expired) at its coordinator
 * (this node): the item as it now is.
 */
void		 kvwatch_changed(struct kvwatch *, enum kv_write_op,
		    const struct kv_item *);
/* A WATCH or CHANGE message from node from. */
void		 kvwatch_message(struct kvwatch *, const uint8_t *from,
		    const struct kvmsg *);
/* The store's nodes changed: new ones hear our lease now. */
void		 kvwatch_ring_changed(struct kvwatch *);
void		 kvwatch_forget(struct kvwatch *, const uint8_t *id);
void		 kvwatch_client_gone(struct kvwatch *, struct ctl_conn *);
void		 kvwatch_stats(const struct kvwatch *, struct kvwatch_stats *);

/* kv_watch and kv_unwatch (doc/PROTOCOL.md), called with the kvwatch. */
extern const struct ctl_op	kvwatch_ctl_ops[];

#endif
