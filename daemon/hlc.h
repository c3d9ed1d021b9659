/* SPDX-License-Identifier: ISC */
/*
 * hlc.h: versions of key-value items.  A version is a hybrid logical
 * clock reading (48 bits of wall-clock milliseconds, 16 bits of counter)
 * and the node that wrote it, so versions from different nodes order
 * totally, and one node's readings only ever grow, even when the wall
 * clock steps back.
 */
#ifndef PEERD_HLC_H
#define PEERD_HLC_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"

#define HLC_COUNTER_BITS	16

struct kv_version {
	uint64_t	hlc;			/* 0: no version (absent) */
	uint8_t		node[NODE_ID_LEN];	/* the writer */
};

struct hlc {
	uint64_t	last;			/* the highest reading given or seen */
};

/* A reading above every one given or seen before; wall_ms is now. */
uint64_t	hlc_now(struct hlc *, uint64_t wall_ms);
/* A reading seen in a message: later readings are above it. */
void		hlc_seen(struct hlc *, uint64_t hlc);
/* The wall-clock milliseconds of a reading. */
uint64_t	hlc_wall_ms(uint64_t hlc);
/* <0, 0, >0 as a is older than, the same as, or newer than b. */
int		kv_version_cmp(const struct kv_version *a,
		    const struct kv_version *b);

#endif
