/* SPDX-License-Identifier: ISC */
/*
 * identity.h: the node's Ed25519 key pair and the network key, kept in
 * the state directory.  The node ID is the public key.
 */
#ifndef PEERD_IDENTITY_H
#define PEERD_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "base32.h"

#define NODE_ID_LEN	crypto_sign_PUBLICKEYBYTES		/* 32 */
#define NODE_ID_STRLEN	(BASE32_LEN(NODE_ID_LEN) + 1)		/* 52 + NUL */
#define NODE_ID_SHORT	12
#define NODE_ID_PREFIX_MIN	4	/* characters that name a node */
#define NETWORK_KEY_LEN	32

struct identity {
	uint8_t	pk[NODE_ID_LEN];
	uint8_t	sk[crypto_sign_SECRETKEYBYTES];
	uint8_t	x_sk[crypto_scalarmult_curve25519_BYTES]; /* Noise static */
	uint8_t	network_key[NETWORK_KEY_LEN];
	char	id[NODE_ID_STRLEN];	/* base32 of pk */
};

/*
 * Loads identity.key and network.key from dir, creating the directory
 * (0700) and any missing key (0600).  Refuses keys that others can read
 * or that belong to another user.  0, or -1 after logging why.
 */
int	identity_load(struct identity *, const char *dir);
/*
 * Writes a new network key to dir (replacing the old one atomically,
 * the directory synced) and uses it from now on.  0, or -1 after
 * logging why.
 */
int	identity_set_network_key(struct identity *, const char *dir,
	    const uint8_t key[NETWORK_KEY_LEN]);
/* Whether dir holds a network key other than key. */
bool	identity_other_network(const char *dir,
	    const uint8_t key[NETWORK_KEY_LEN]);
/*
 * Locks dir (creating it) for this process's life: two daemons on one
 * state directory would fight over its keys and peer cache.  -1 after
 * logging why.
 */
int	state_dir_lock(const char *dir);
/*
 * Checks, creating nothing, what identity_load and state_dir_lock would
 * refuse: the state directory (or, if it is missing, that it can be
 * made) and the key files in it.  *busy: another process holds its
 * lock.  0, or -1 with the reason in err.
 */
int	identity_check(const char *dir, bool *busy, char *err,
	    size_t errlen);
/*
 * Whether another process holds the flock(2) of the file at path,
 * without creating it (absent: not busy); a free lock is taken and let
 * go at once.  0, or -1 with the reason in err.
 */
int	lock_probe(const char *path, bool *busy, char *err, size_t errlen);
/*
 * Takes the flock(2) of fd, waiting out a probe's brief hold (100 ms at
 * most).  -1 with errno EWOULDBLOCK if another process keeps it.
 */
int	lock_take(int fd);
/*
 * Whether spec names the node ID idstr (base32): NODE_ID_PREFIX_MIN or
 * more of its first characters, in either case.
 */
bool	node_id_prefix(const char *idstr, const char *spec);
/* Whether spec could begin a node ID but is too short to name one. */
bool	node_id_prefix_short(const char *spec);
/* Wipes the secrets. */
void	identity_clear(struct identity *);

#endif
