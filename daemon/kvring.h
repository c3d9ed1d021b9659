/* SPDX-License-Identifier: ISC */
/*
 * kvring.h: which nodes hold the key-value store, and which of them own
 * a key.  The store's nodes are the live members (alive or suspect) of
 * kv_group, or all live members if it is empty; a key's owners are the
 * kv_replicas of them that rendezvous hashing ranks first (place.h),
 * and the first of those orders its writes (the coordinator).
 */
#ifndef PEERD_KVRING_H
#define PEERD_KVRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "members.h"
#include "place.h"

struct kvring;

struct kvring_params {
	const uint8_t	*self;		/* our node ID */
	const char	*group;		/* kv_group; "": every member */
	size_t		 replicas;	/* 1 to PLACE_REPLICAS_MAX */
};

/* Reads members now and on each kvring_update.  NULL: ENOMEM. */
struct kvring	*kvring_new(const struct kvring_params *,
		    const struct members *);
void		 kvring_free(struct kvring *);
/* Reads the members again; true if the store's nodes changed. */
bool		 kvring_update(struct kvring *);
/* The store's live nodes, self included if it is one, sorted by ID. */
size_t		 kvring_nodes(const struct kvring *,
		    const uint8_t (**ids)[NODE_ID_LEN]);
/* Whether node id is one of the store's live nodes. */
bool		 kvring_has(const struct kvring *, const uint8_t *id);
/*
 * The owners of key, best first (the coordinator first), into owners;
 * how many (at most replicas; 0 if the store has no live node).
 */
size_t		 kvring_owners(const struct kvring *, const char *key,
		    size_t keylen, uint8_t owners[][NODE_ID_LEN]);
/* Whether id is one of key's owners. */
bool		 kvring_owns(const struct kvring *, const uint8_t *id,
		    const char *key, size_t keylen);
/* Answers out of n owners that make a majority: n / 2 + 1. */
size_t		 kvring_majority(size_t n);
/*
 * Whether this node sees more than half of the store's nodes it knows
 * live (dead ones count until forgotten, ones that left do not), as it
 * must to take writes; *live and *known say how many.
 */
bool		 kvring_quorate(const struct kvring *, size_t *live,
		    size_t *known);
size_t		 kvring_replicas(const struct kvring *);

#endif
