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

/*
 * How late our own timers run: the event loop's health, as Lifeguard
 * calls it.  Timers note how late they fired; clock_lag_ms is the worst
 * of late, halved for every 5 s since.  A busy or starved process gives
 * others longer to answer, rather than take its own slowness for
 * theirs.
 */
void		clock_note_late(int64_t late_ms);
int64_t		clock_lag_ms(void);

#endif
