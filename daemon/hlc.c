/* SPDX-License-Identifier: ISC */
/*
 * hlc.c: hybrid logical clock readings and the order of versions.  A
 * reading is the wall clock in milliseconds shifted over a counter; a
 * reading never falls below the last one given or seen, so when the
 * wall clock stands still or steps back the counter grows instead, and
 * a full counter carries into the milliseconds.
 */
#include <string.h>

#include "hlc.h"

#define WALL_MAX	((UINT64_C(1) << (64 - HLC_COUNTER_BITS)) - 1)

uint64_t
hlc_now(struct hlc *h, uint64_t wall_ms)
{
	uint64_t	cand;

	if (wall_ms > WALL_MAX)
		wall_ms = WALL_MAX;
	cand = wall_ms << HLC_COUNTER_BITS;
	if (cand > h->last)
		h->last = cand;
	else if (h->last < UINT64_MAX)
		h->last++;	/* a full counter carries into the ms */
	return h->last;
}

void
hlc_seen(struct hlc *h, uint64_t hlc)
{
	if (hlc > h->last)
		h->last = hlc;
}

uint64_t
hlc_wall_ms(uint64_t hlc)
{
	return hlc >> HLC_COUNTER_BITS;
}

int
kv_version_cmp(const struct kv_version *a, const struct kv_version *b)
{
	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	return memcmp(a->node, b->node, NODE_ID_LEN);
}
