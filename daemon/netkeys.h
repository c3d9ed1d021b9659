/* SPDX-License-Identifier: ISC */
/*
 * netkeys.h: the network keys a node holds across a rotation
 * (doc/trust-design.md section 4): the current one (identity's
 * network_key) and its generation, the previous one until its grace
 * ends, and retired ones, kept a while only to tell a peer that still
 * uses one that the key changed.  Kept in the state directory:
 * network.gen, network.prev, network.retired (0600, replaced
 * atomically).
 */
#ifndef PEERD_NETKEYS_H
#define PEERD_NETKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define NETKEYS_RETIRED_MAX	4
#define NETKEYS_MAX		(2 + NETKEYS_RETIRED_MAX)

enum netkey_kind {
	NETKEY_CURRENT,		/* links, beacons and tokens use it */
	NETKEY_PREVIOUS,	/* still accepted until grace_end_ms */
	NETKEY_RETIRED,		/* refused, with a notice that it changed */
};

struct netkey {
	uint8_t		key[NETWORK_KEY_LEN];
	uint64_t	gen;
	int64_t		until_ms;	/* wall clock: grace end, or kept until */
};

struct netkeys {
	uint64_t	gen;		/* of the identity's network_key */
	bool		has_prev;
	struct netkey	prev;
	struct netkey	retired[NETKEYS_RETIRED_MAX];	/* newest first */
	size_t		nretired;
};

/*
 * Reads the generation, the previous key (its grace over or not:
 * netkeys_expire retires it) and the retired keys (those still kept at
 * now_ms) from dir.  Missing files: generation 0, none.  0, or -1
 * after logging why.
 */
int	netkeys_load(struct netkeys *, const char *dir, int64_t now_ms);
/*
 * Makes key, of generation gen, the network key: the current key
 * becomes the previous one until grace_end_ms (the one before moves to
 * the retired keys, each kept retire_keep_ms), and the files are
 * written before id changes.  0, or -1 after logging why (nothing
 * changed then).
 */
int	netkeys_adopt(struct netkeys *, struct identity *, const char *dir,
	    const uint8_t key[NETWORK_KEY_LEN], uint64_t gen,
	    int64_t grace_end_ms, int64_t retire_keep_ms);
/*
 * Ends a grace that is over by now_ms (the previous key is retired) and
 * drops retired keys kept long enough.  True if the previous key went.
 */
bool	netkeys_expire(struct netkeys *, const char *dir, int64_t now_ms,
	    int64_t retire_keep_ms);
/* Forgets every old key and sets generation 0: a join of a network. */
int	netkeys_reset(struct netkeys *, const char *dir);
/*
 * The keys a handshake may be under at now_ms, the current one first:
 * up to max written to keys, with their kinds and generations.  A
 * previous key whose grace is over counts as retired until
 * netkeys_expire retires it.  nk may be NULL: the identity's alone.
 */
size_t	netkeys_candidates(const struct netkeys *, const struct identity *,
	    int64_t now_ms, uint8_t (*keys)[NETWORK_KEY_LEN],
	    enum netkey_kind *kinds, uint64_t *gens, size_t max);
/* Wipes the keys. */
void	netkeys_clear(struct netkeys *);

#endif
