/* SPDX-License-Identifier: ISC */
/*
 * rate.h: token buckets, for what another node can make us do (claims
 * probed, new identities taken, gossip bytes sent, dials made), and a
 * bounded table of them keyed by node ID or by a hash of an address.
 * Integer arithmetic only: a bucket neither drifts nor overflows
 * however often or seldom it is used.
 */
#ifndef PEERD_RATE_H
#define PEERD_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Units: a rate is in thousandths of a token a second (2/s is 2000,
 * 0.2/s is 200), a burst and a take in whole tokens.  Larger values
 * are taken as these maxima: 2^40 tokens, 2^42 thousandths a second
 * (over 4 * 10^9 tokens a second).
 */
#define RATE_PER_S		1000
#define BUCKET_BURST_MAX	((uint64_t)1 << 40)
#define BUCKET_RATE_MAX		((uint64_t)1 << 42)

/*
 * A bucket starts full when zeroed, and is owned by the caller (beside
 * the link, or in a ratemap).  Pass the same rate and burst each time;
 * a change applies from that call on.
 */
struct bucket {
	uint64_t	used;	/* millionths of a token below full */
	int64_t		at_ms;	/* when used was last brought up to date */
};

/*
 * Takes n tokens if there are n, then true; else takes none, false.  A
 * clock that went back mints nothing: the bucket refills from the new
 * now on.  n of 0 always passes; n above burst never does.
 */
bool	bucket_take(struct bucket *, uint64_t rate, uint64_t burst,
	    int64_t now_ms, uint64_t n);
/*
 * Whether bucket_take would pass, taking nothing: to check several
 * buckets before taking from any.
 */
bool	bucket_ready(struct bucket *, uint64_t rate, uint64_t burst,
	    int64_t now_ms, uint64_t n);
/*
 * Takes n tokens whether there are or not, for what must go out anyway
 * but should still count: the bucket then owes them, down to one burst
 * below empty, and refuses takes until it has refilled.
 */
void	bucket_charge(struct bucket *, uint64_t rate, uint64_t burst,
	    int64_t now_ms, uint64_t n);

#define RATEMAP_KEY_LEN		32	/* a node ID, or ratemap_key() */

struct ratemap;

/* At most max buckets (max > 0).  NULL: out of memory. */
struct ratemap	*ratemap_new(size_t max);
/* NULL is fine. */
void		 ratemap_free(struct ratemap *);
/*
 * The bucket of key, added full if it was not there.  When the table
 * is full it makes room by dropping the least recently used of a few
 * buckets picked at random: a dropped bucket comes back full, and the
 * one used longest ago has refilled the most.  Valid until the next
 * ratemap_get or ratemap_forget on the table.  NULL: out of memory.
 */
struct bucket	*ratemap_get(struct ratemap *,
		    const uint8_t key[RATEMAP_KEY_LEN]);
/* Drops key's bucket, if any. */
void		 ratemap_forget(struct ratemap *,
		    const uint8_t key[RATEMAP_KEY_LEN]);
size_t		 ratemap_count(const struct ratemap *);
/* The key of a name (a host, HOST:PORT): BLAKE2b-256 of its bytes. */
void		 ratemap_key(uint8_t key[RATEMAP_KEY_LEN], const void *name,
		    size_t len);

#endif
