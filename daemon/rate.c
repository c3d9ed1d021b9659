/* SPDX-License-Identifier: ISC */
/*
 * rate.c: token buckets.  A bucket counts what it lacks of a full one
 * in millionths of a token; a rate in thousandths of a token a second
 * is the same number of millionths a millisecond, so the refill for
 * any whole number of milliseconds is exact and nothing is rounded
 * away between calls.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "nodemap.h"
#include "rate.h"

#define MICRO		1000000		/* millionths in a token */
#define EVICT_SAMPLES	8		/* buckets looked at to drop one */

_Static_assert(RATEMAP_KEY_LEN == NODE_ID_LEN, "ratemap keys are node IDs");

struct ratemap {
	struct nodemap	*map;		/* struct bucket */
};

static uint64_t
clamp(uint64_t v, uint64_t max)
{
	return v < max ? v : max;
}

/*
 * Brings b up to now.  used stays at most two bursts (one owed by
 * bucket_charge), so used + rate fits in 64 bits, and the refill is
 * only multiplied out when it leaves something used.
 */
static void
refill(struct bucket *b, uint64_t rate, int64_t now_ms)
{
	uint64_t	elapsed;

	rate = clamp(rate, BUCKET_RATE_MAX);
	if (now_ms <= b->at_ms) {
		/* Back in time: nothing minted, refill from now on. */
		b->at_ms = now_ms;
		return;
	}
	elapsed = (uint64_t)now_ms - (uint64_t)b->at_ms;
	b->at_ms = now_ms;
	if (b->used == 0 || rate == 0)
		return;
	if (elapsed > b->used / rate)
		b->used = 0;
	else
		b->used -= elapsed * rate;
}

bool
bucket_ready(struct bucket *b, uint64_t rate, uint64_t burst,
    int64_t now_ms, uint64_t n)
{
	burst = clamp(burst, BUCKET_BURST_MAX);
	refill(b, rate, now_ms);
	if (n == 0)
		return true;
	if (n > burst)
		return false;
	return b->used <= (burst - n) * MICRO;
}

bool
bucket_take(struct bucket *b, uint64_t rate, uint64_t burst,
    int64_t now_ms, uint64_t n)
{
	if (!bucket_ready(b, rate, burst, now_ms, n))
		return false;
	b->used += n * MICRO;
	return true;
}

void
bucket_charge(struct bucket *b, uint64_t rate, uint64_t burst,
    int64_t now_ms, uint64_t n)
{
	uint64_t	max;

	burst = clamp(burst, BUCKET_BURST_MAX);
	max = 2 * burst * MICRO;
	refill(b, rate, now_ms);
	n = clamp(n, 2 * burst);
	b->used = clamp(b->used + n * MICRO, max);
}

struct ratemap *
ratemap_new(size_t max)
{
	struct ratemap	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->map = nodemap_new(sizeof(struct bucket), max)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
ratemap_free(struct ratemap *t)
{
	if (t == NULL)
		return;
	nodemap_free(t->map);
	free(t);
}

/*
 * Drops the bucket used longest ago of a few picked at random: an
 * approximation of least recently used that needs no list, and that a
 * flood of new keys cannot steer, as it cannot see the picks.
 */
static void
evict_one(struct ratemap *t)
{
	const uint8_t	*id, *oldest = NULL;
	struct bucket	*b;
	int64_t		 at = 0;
	size_t		 n;
	int		 i;

	if ((n = nodemap_count(t->map)) == 0)
		return;
	for (i = 0; i < EVICT_SAMPLES; i++) {
		b = nodemap_at(t->map, randombytes_uniform((uint32_t)n), &id);
		if (oldest == NULL || b->at_ms < at) {
			oldest = id;
			at = b->at_ms;
		}
	}
	nodemap_del(t->map, oldest);
}

struct bucket *
ratemap_get(struct ratemap *t, const uint8_t key[RATEMAP_KEY_LEN])
{
	struct bucket	*b;

	if ((b = nodemap_get(t->map, key)) != NULL)
		return b;
	if ((b = nodemap_put(t->map, key)) == NULL) {
		evict_one(t);
		b = nodemap_put(t->map, key);
	}
	return b;
}

void
ratemap_forget(struct ratemap *t, const uint8_t key[RATEMAP_KEY_LEN])
{
	nodemap_del(t->map, key);
}

size_t
ratemap_count(const struct ratemap *t)
{
	return nodemap_count(t->map);
}

void
ratemap_key(uint8_t key[RATEMAP_KEY_LEN], const void *name, size_t len)
{
	crypto_generichash(key, RATEMAP_KEY_LEN, name, len, NULL, 0);
}
