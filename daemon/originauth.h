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

#include "identity.h"
#include "pairkey.h"

#define OA_MAC_LEN	16
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

#endif
