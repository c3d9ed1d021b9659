/* SPDX-License-Identifier: ISC */
/*
 * originauth.h: end-to-end origin authentication of call messages
 * (doc/trust-design.md section 1): the MAC of a message under its
 * direction's pairwise subkey (pairkey.h), and the window that refuses
 * replays of one author's counter q.
 */
#ifndef PEERD_ORIGINAUTH_H
#define PEERD_ORIGINAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callmsg.h"
#include "cbor_buf.h"
#include "identity.h"
#include "pairkey.h"

#define OA_MAC_LEN	CALLMSG_MAC_LEN
#define OA_WINDOW	1024	/* counters taken out of order, per author */

/* A small field the MAC covers; p NULL: absent (not the same as empty). */
struct oa_field {
	const uint8_t	*p;
	size_t		 len;
};

/* What the MAC covers besides the body.  IDs are NODE_ID_LEN bytes. */
struct oa_header {
	uint8_t			 type;	/* 'c' call, 'a' ans, 'n' can, 'e' ev, 'k' kv */
	const uint8_t		*o, *p;
	uint64_t		 c, q;
	const uint8_t		*author;
	const struct oa_field	*fields;
	size_t			 nfields;
};

/* x of a message under kd, the subkey of author -> addressee. */
void	originauth_mac(uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
	    const struct oa_header *, const uint8_t *body, size_t len);
/* Whether x is the MAC of the message under kd (constant time). */
bool	originauth_mac_ok(const uint8_t x[OA_MAC_LEN],
	    const uint8_t kd[PAIRKEY_LEN], const struct oa_header *,
	    const uint8_t *body, size_t len);

/* One author's counters taken: zeroed is a fresh window. */
struct oa_window {
	uint64_t	started;	/* the author's record's started_at */
	uint64_t	top;		/* highest q taken */
	uint64_t	bits[OA_WINDOW / 64];	/* bit d: top - d taken */
};

/*
 * Takes q from the author's run that started at started (seconds since
 * the epoch; 0: no record held): true if q is new, and marks it taken.
 * A changed started resets the window; a q below started's microseconds
 * belongs to an earlier run and is refused.
 */
bool	oa_window_take(struct oa_window *, uint64_t started, uint64_t q);

/* What originauth_open() makes of a message for this node. */
enum oa_result {
	OA_OK,			/* its author is authenticated */
	OA_UNVERIFIED,		/* an old node's, taken on the link's word */
	OA_BAD_MAC,		/* x does not hold */
	OA_NO_MAC,		/* no x where one is needed */
	OA_REPLAY,		/* q taken before, or of an earlier run */
	OA_NO_KEY,		/* its author's ID has no key */
	OA_RELAY_ANSWER,	/* an answer by a relay it may not make */
	OA_REVOKED,		/* its author was revoked by an admin */
};
#define OA_RESULTS	(OA_REVOKED + 1)

struct originauth_params {
	const uint8_t	*self;		/* our node ID */
	bool		 required;	/* origin_auth = required */
	size_t		 max;		/* nodes kept a counter or window of */
	/*
	 * Whether a record of id is held; if so, whether it says "auth"
	 * and when the node's run started (seconds since the epoch).
	 */
	bool		(*record)(void *arg, const uint8_t *id, bool *auth,
			    uint64_t *started);
	/* Whether id was revoked: what it wrote is dropped.  May be NULL. */
	bool		(*is_revoked)(void *arg, const uint8_t *id);
	void		*arg;
};

struct oa_stats {
	uint64_t	sealed;
	uint64_t	opened[CALLMSG_TYPES][OA_RESULTS];
	uint64_t	dropped;	/* all types, all but OK and UNVERIFIED */
	uint64_t	unverified;	/* all types */
	size_t		windows;	/* authors kept a window of */
};

struct originauth;

/* Uses keys, which must outlive it.  NULL: out of memory. */
struct originauth *originauth_new(const struct originauth_params *,
		    struct pairkey *keys);
/* NULL is fine. */
void		 originauth_free(struct originauth *);
/*
 * Sets q and x of a message made here (its author: self), for a relay
 * to carry: 0, or -1 if the addressee's ID has no key.  An error answer
 * gets errraw, pointing into the originauth until its next call.
 */
int		 originauth_seal(struct originauth *, struct callmsg *);
/*
 * Checks a message for this node that came from the link peer via
 * (section 1.8 of doc/trust-design.md), and counts the result.
 */
enum oa_result	 originauth_open(struct originauth *, const struct callmsg *,
		    const uint8_t *via);
/* The author of a message: o, or for an answer by if set, else p. */
const uint8_t	*originauth_author(const struct callmsg *);
/* Forgets the counter and window kept for id. */
void		 originauth_forget(struct originauth *, const uint8_t *id);
void		 originauth_stats(const struct originauth *, struct oa_stats *);
/* "ok", "bad_mac", ...: as the metrics name them. */
const char	*originauth_result_name(enum oa_result);

#endif
