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

uint64_t
clock_wall_us(void)
{
	struct timespec	ts = now(CLOCK_REALTIME);

	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
