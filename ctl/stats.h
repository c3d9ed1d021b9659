/* SPDX-License-Identifier: ISC */
/*
 * stats.h: peerctl stats: the daemon's numbers as a table.
 */
#ifndef PEERCTL_STATS_H
#define PEERCTL_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Prints the result of the stats op, one line per number: the metric,
 * its labels (KEY=VALUE,...; "-" if none) and its value, in aligned
 * columns; a histogram as NAME_count and NAME_sum.  0, or 1 after saying
 * the reply is malformed.
 */
int	stats_print(const uint8_t *res, size_t len);

#endif
