/* SPDX-License-Identifier: ISC */
/*
 * place.h: where a key lives.  Rendezvous hashing: every node scores
 * BLAKE2b(key, node ID), and the key's owners are the r nodes with the
 * highest scores, best first.  A node joining or leaving moves only the
 * keys it takes or held.
 */
#ifndef PEERD_PLACE_H
#define PEERD_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define PLACE_REPLICAS_MAX	7

/* The score of node for key; ties are broken by node ID. */
uint64_t	place_score(const char *key, size_t keylen,
		    const uint8_t node[NODE_ID_LEN]);
/*
 * The owners of key among nodes (n IDs, in any order), best first:
 * writes their indexes into owners and returns how many, min(r, n).
 * r is at most PLACE_REPLICAS_MAX.
 */
size_t		place_owners(const char *key, size_t keylen,
		    const uint8_t (*nodes)[NODE_ID_LEN], size_t n, size_t r,
		    size_t *owners);
/* A key's bucket for digests (0 to nbuckets-1), from its hash. */
uint32_t	place_bucket(const char *key, size_t keylen, uint32_t nbuckets);

#endif
