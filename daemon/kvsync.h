/* SPDX-License-Identifier: ISC */
/*
 * kvsync.h: keeping every key on its owners.  Periodically, and soon
 * after the store's nodes change, this node compares with each node it
 * shares keys with a digest of what both should hold, trades the
 * versions of the keys of buckets that differ, and sends the newer
 * items each way; keys it no longer owns it hands to their owners and
 * then drops.  It also forgets expired items and old tombstones.
 */
#ifndef PEERD_KVSYNC_H
#define PEERD_KVSYNC_H

#include <stdint.h>

#include "kvmsg.h"

struct event_base;
struct kvpost;
struct kvring;
struct kvstore;
struct kvsync;
struct kvwatch;

struct kvsync_params {
	const uint8_t	*self;
	uint64_t	 interval_ms;	/* between rounds (kv_sync_interval) */
	uint64_t	 settle_ms;	/* after a change, before a round (200) */
	uint64_t	 tombstone_ttl_ms;
};

struct kvsync_stats {
	uint64_t	rounds;
	uint64_t	sent;		/* items sent to other owners */
	uint64_t	handed_off;	/* keys dropped, their owners having them */
	uint64_t	expired;	/* items and tombstones forgotten */
};

/* Expiries of keys this node coordinates go to watch.  NULL: logged. */
struct kvsync	*kvsync_new(struct event_base *, const struct kvsync_params *,
		    struct kvstore *, struct kvring *, struct kvpost *,
		    struct kvwatch *);
void		 kvsync_free(struct kvsync *);
/* The store's nodes changed: a round soon. */
void		 kvsync_changed(struct kvsync *);
/*
 * A DIGEST, HAVE or WANT message from node from; cid is its request
 * number (a HAVE's, which the WANT that answers it repeats).
 */
void		 kvsync_message(struct kvsync *, const uint8_t *from,
		    uint64_t cid, const struct kvmsg *);
void		 kvsync_stats(const struct kvsync *, struct kvsync_stats *);

#endif
