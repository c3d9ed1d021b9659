/* SPDX-License-Identifier: ISC */
/*
 * pairkey.h: the key this node shares with each other node, from the
 * two node IDs alone (X25519 of the static keys, then BLAKE2b), and
 * one subkey for each direction; kept in a bounded table by node ID.
 */
#ifndef PEERD_PAIRKEY_H
#define PEERD_PAIRKEY_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define PAIRKEY_LEN	32

struct pairkey;

struct pairkeys {
	uint8_t	k[PAIRKEY_LEN];		/* K(self, peer), both sides alike */
	uint8_t	tx[PAIRKEY_LEN];	/* Kd(self -> peer) */
	uint8_t	rx[PAIRKEY_LEN];	/* Kd(peer -> self) */
};

/*
 * Keys of self with at most max other nodes at once (max > 0).  Keeps
 * a pointer to self, which must outlive the table.  NULL: out of
 * memory.
 */
struct pairkey	*pairkey_new(const struct identity *self, size_t max);
/* NULL is fine.  Wipes every key with sodium_memzero(). */
void		 pairkey_free(struct pairkey *);
/*
 * The keys shared with the node id, computed on first use (a full table
 * drops some other node's to make room).  NULL if id has no X25519 form
 * or the shared secret is degenerate: no key, now or later.  Valid
 * until the next call on the table.
 */
const struct pairkeys *pairkey_get(struct pairkey *,
		    const uint8_t id[NODE_ID_LEN]);
/* Wipes and drops what is kept for id, if anything. */
void		 pairkey_forget(struct pairkey *, const uint8_t id[NODE_ID_LEN]);
/* Nodes kept, bad IDs included. */
size_t		 pairkey_count(const struct pairkey *);
/* Keys computed so far (misses): what the table saved shows beside it. */
uint64_t	 pairkey_computed(const struct pairkey *);

/*
 * The same keys without a table, for one pair: 0, or -1 (as NULL
 * above).  out is wiped on failure.
 */
int		 pairkey_derive(struct pairkeys *out, const struct identity *self,
		    const uint8_t id[NODE_ID_LEN]);

#endif
