/* SPDX-License-Identifier: ISC */
/*
 * clock.h: the daemon's clocks.  Timers and ages use the monotonic
 * clock; only what must survive a restart in order (incarnations,
 * event sequence numbers) follows the wall clock.
 */
#ifndef PEERD_CLOCK_H
#define PEERD_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds and microseconds. */
int64_t		clock_ms(void);
int64_t		clock_us(void);
/* Wall-clock milliseconds and microseconds since the epoch. */
uint64_t	clock_wall_ms(void);
uint64_t	clock_wall_us(void);

#endif
