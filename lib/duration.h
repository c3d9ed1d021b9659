/* SPDX-License-Identifier: ISC */
/*
 * duration.h: durations as people write them in peerd.conf and on
 * peerctl's command line: a number of milliseconds, or a number
 * followed by ms, s, m or h.
 */
#ifndef PEER_DURATION_H
#define PEER_DURATION_H

#include <sys/time.h>

#include <stdint.h>

/* 0 with *ms set, or -1 if s is not a duration (the number over 2^32-1). */
int	duration_parse(const char *s, uint64_t *ms);
/* ms milliseconds as a timeval, for timers. */
void	duration_timeval(uint64_t ms, struct timeval *tv);

#endif
