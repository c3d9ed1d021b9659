/* SPDX-License-Identifier: ISC */
/*
 * keyrot.h: rotating the network key (doc/trust-design.md section 4):
 * the op key_rotate on an admin node, which wraps a new key for every
 * member under the key it shares with each and floods it as signed
 * "nkey" messages; taking a new key from them; handing the parts a
 * late peer needs over its old-key link; and, at the end of the grace,
 * closing the links of peers that never took the new key.
 */
#ifndef PEERD_KEYROT_H
#define PEERD_KEYROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admins.h"
#include "cbor_buf.h"
#include "control.h"
#include "identity.h"
#include "mesh.h"
#include "netkeys.h"

#define KEYROT_KID_LEN		8
#define KEYROT_NONCE_LEN	24
/* id || nonce || the key sealed with its 16-byte tag */
#define KEYROT_ENTRY_LEN	(NODE_ID_LEN + KEYROT_NONCE_LEN + \
				    NETWORK_KEY_LEN + 16)
#define KEYROT_PARTS_MAX	64
#define KEYROT_HOPS		16	/* as records flood */
#define KEYROT_SKEW_MS		(5 * 60 * 1000)	/* admin's clock */
#define KEYROT_WRAP_TURN	512	/* entries sealed a turn */
#define KEYROT_GRACE_MIN	1000
#define KEYROT_GRACE_MAX	(24 * 3600 * 1000)

struct event_base;
struct keyrot;
struct link;
struct members;

struct keyrot_params {
	const char	*state_dir;
	uint64_t	 max_message;	/* a part: a quarter at most */
	uint64_t	 grace_ms;	/* key_grace: if the op names none */
	int64_t		 retire_keep_ms;	/* an old key kept as retired */
	/* Whether id is revoked: never wrapped for.  NULL: none is. */
	bool		(*is_revoked)(void *arg, const uint8_t *id);
	void		*revoked_arg;
};

/* How keyrot reports to its owner. */
struct keyrot_ops {
	/*
	 * This node's network key changed: it took the key of generation
	 * gen, or joined another network (keyrot_reset).
	 */
	void	(*adopted)(void *arg, uint64_t gen);
};

/* The body of an nkey message, decoded; e points into the body. */
struct keyrot_body {
	uint64_t	 gen;
	uint8_t		 kid[KEYROT_KID_LEN];
	uint8_t		 by[NODE_ID_LEN];
	uint64_t	 ts;		/* the admin's wall clock, ms */
	uint64_t	 grace;		/* ms */
	uint64_t	 part, parts;
	const uint8_t	*e;		/* entries, sorted by id */
	size_t		 ne;
};

/*
 * Keeps pointers to everything it is given, which must outlive it; arms
 * the end of a grace that netkeys holds (a restart within one).  NULL
 * after logging.
 */
struct keyrot	*keyrot_new(struct event_base *, const struct keyrot_params *,
		    struct identity *, struct netkeys *, const struct admins *,
		    struct mesh *, const struct members *,
		    const struct keyrot_ops *, void *arg);
/* NULL is fine.  A rotation being built is dropped, its client told. */
void		 keyrot_free(struct keyrot *);
/*
 * Forgets the rotations seen: this node joined another network, whose
 * key identity and netkeys hold already.  Reports it as adopted.
 */
void		 keyrot_reset(struct keyrot *);
/*
 * From the mesh: a link is up.  Its peer's HELLO tells the generation
 * it has; one behind ours, within the grace, gets the part holding its
 * entry.
 */
void		 keyrot_link_up(struct keyrot *, struct link *);

/* The key's ID: BLAKE2b-256("peerd/1 kid" || key), its first 8 bytes. */
void		 keyrot_kid(const uint8_t key[NETWORK_KEY_LEN],
		    uint8_t kid[KEYROT_KID_LEN]);
/*
 * Seals key of generation gen for the node id under the key self
 * shares with it.  0, or -1 if id has no such key.
 */
int		 keyrot_wrap(uint8_t entry[KEYROT_ENTRY_LEN],
		    const struct identity *self, const uint8_t *id,
		    const uint8_t key[NETWORK_KEY_LEN], uint64_t gen);
/* Opens an entry for self sealed by the node by.  0, or -1. */
int		 keyrot_unwrap(uint8_t key[NETWORK_KEY_LEN],
		    const struct identity *self, const uint8_t *by,
		    const uint8_t entry[KEYROT_ENTRY_LEN], uint64_t gen);
/* The entry for id among ne sorted entries, or NULL. */
const uint8_t	*keyrot_find(const uint8_t *e, size_t ne, const uint8_t *id);
void		 keyrot_body_encode(struct cbor_buf *,
		    const struct keyrot_body *);
/*
 * Decodes and checks a body (version 1, part below parts, at most
 * KEYROT_PARTS_MAX parts, whole entries in id order).  0, or -1 with
 * *why.
 */
int		 keyrot_body_decode(const uint8_t *, size_t,
		    struct keyrot_body *, const char **why);

/* The link messages keyrot takes ("nkey", "nkok"), called with it. */
extern const struct mesh_handler	keyrot_handlers[];
/* Control ops (see doc/PROTOCOL.md): key_rotate. */
extern const struct ctl_op		keyrot_ctl_ops[];

#endif
