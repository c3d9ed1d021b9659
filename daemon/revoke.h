/* SPDX-License-Identifier: ISC */
/*
 * revoke.h: revocations, the admins' signed word that a node is out of
 * the network for good (doc/trust-design.md section 4.6).  Owns the set
 * of revoked nodes, its file STATE/revoked, the link message `rvk` and
 * the ops `revoke` and `revoked`; what a revocation makes the other
 * modules do, its owner does, through revoke_ops.
 */
#ifndef PEERD_REVOKE_H
#define PEERD_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admins.h"
#include "cbor_buf.h"
#include "control.h"
#include "identity.h"
#include "mesh.h"

#define REVOKE_VERSION	1
#define REVOKE_MAX	1024	/* revocations held at most */
#define REVOKE_WHY_MAX	200	/* bytes of a reason */
#define REVOKE_RAW_MAX	512	/* a signed revocation, far above any real one */
#define REVOKE_HOPS	16	/* links a flooded revocation crosses */
#define REVOKE_DIGEST_LEN 8	/* HELLO rv: the XOR of the IDs' hashes */

/* A revocation, once its signature is checked. */
struct revocation {
	uint8_t		id[NODE_ID_LEN];	/* the node revoked */
	uint8_t		by[NODE_ID_LEN];	/* the admin who signed */
	uint64_t	ts;			/* ms since the epoch, by's clock */
	char		why[REVOKE_WHY_MAX + 1];
};

/* The signed form {"b": body, "s": signature by r->by}, into b. */
void	revocation_sign(const struct revocation *, const uint8_t sk[64],
	    struct cbor_buf *b);
/*
 * Decodes a signed form and checks its signature by its "by": 0, or -1
 * with *why naming what is wrong.  Whether by may revoke is the
 * caller's question.
 */
int	revocation_open(const uint8_t *, size_t, struct revocation *,
	    const char **why);
/* The part of a set's digest that the node id adds (XORed in). */
void	revocation_hash(const uint8_t id[NODE_ID_LEN],
	    uint8_t out[REVOKE_DIGEST_LEN]);

struct revoke;
struct members;

struct revoke_params {
	const struct identity	*id;
	const struct admins	*admins;	/* read at each revocation */
	const char		*state_dir;	/* holds the file "revoked" */
	const struct members	*members;	/* names for the op; may be NULL */
	uint64_t		 max_message;	/* sends to one peer: half */
};

/* How revoke reports to its owner. */
struct revoke_ops {
	/*
	 * id is revoked now (from the file at the start too): its links,
	 * its record and what others keep of it are to go.  id may be this
	 * node itself, which is then to stop dialing.
	 */
	void	(*revoked)(void *arg, struct revoke *, const uint8_t *id);
};

/*
 * Loads STATE/revoked, reporting each revocation in it through ops.
 * NULL after logging (a malformed file, out of memory).
 */
struct revoke	*revoke_new(const struct revoke_params *, struct mesh *,
		    const struct revoke_ops *, void *arg);
void		 revoke_free(struct revoke *);
bool		 revoke_has(const struct revoke *, const uint8_t *id);
/* How many are held, and their digest (HELLO rv). */
size_t		 revoke_count(const struct revoke *);
void		 revoke_digest(const struct revoke *,
		    uint8_t out[REVOKE_DIGEST_LEN]);
/*
 * Takes a signed revocation as if it came from a link (l may be NULL):
 * checked, held, saved, reported and flooded on with hops left.  0 if
 * it is new and taken, else -1 with *why.
 */
int		 revoke_offer(struct revoke *, struct link *, const uint8_t *,
		    size_t, uint64_t hops, const char **why);
/* From the mesh: a link came up; it gets ours if its set differs. */
void		 revoke_link_up(struct revoke *, struct link *);

/* The link message rvk, called with the revoke. */
extern const struct mesh_handler	revoke_handlers[];
/* Control ops revoke and revoked (see doc/PROTOCOL.md). */
extern const struct ctl_op		revoke_ctl_ops[];

#endif
