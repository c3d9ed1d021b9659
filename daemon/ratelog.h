/* SPDX-License-Identifier: ISC */
/*
 * ratelog.h: log lines of one kind at most once an interval, so that a
 * flood of the same event (refused clients, denied calls) is a few
 * lines and a count, not one line each.
 */
#ifndef PEERD_RATELOG_H
#define PEERD_RATELOG_H

#include <stdbool.h>
#include <stdint.h>

struct ratelog {
	int64_t		last_ms;	/* when a line was last let through */
	unsigned	skipped;	/* held back since */
};

/*
 * True if a line may be logged now (none for interval_ms); *skipped
 * then gets the number held back since the last one, to say so.
 */
bool	ratelog_ok(struct ratelog *, int64_t interval_ms, unsigned *skipped);

#endif
