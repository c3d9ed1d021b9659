/* SPDX-License-Identifier: ISC */
/*
 * clock.c: the monotonic and wall clocks, in the units the daemon uses.
 */
#include <time.h>

#include "clock.h"

static struct timespec
now(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ts;
}

int64_t
clock_ms(void)
{
	struct timespec	ts = now(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_us(void)
{
	struct timespec	ts = now(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t
clock_wall_ms(void)
{
	struct timespec	ts = now(CLOCK_REALTIME);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define LAG_HALF_LIFE_MS	5000

static int64_t	lag_ms, lag_at_ms;

/* The lag noted so far, halved for each half-life since. */
static int64_t
lag_now(int64_t now)
{
	int64_t	age = now - lag_at_ms, lag = lag_ms;

	for (; age >= LAG_HALF_LIFE_MS && lag > 0; age -= LAG_HALF_LIFE_MS)
		lag /= 2;
	return lag;
}

void
clock_note_late(int64_t late_ms)
{
	int64_t	now = clock_ms(), lag = lag_now(now);

	if (late_ms > lag) {
		lag_ms = late_ms;
		lag_at_ms = now;
	}
}

int64_t
clock_lag_ms(void)
{
	return lag_now(clock_ms());
}

uint64_t
clock_wall_us(void)
{
	struct timespec	ts = now(CLOCK_REALTIME);

	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
