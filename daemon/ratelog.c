/* SPDX-License-Identifier: ISC */
/*
 * ratelog.c: one log line an interval for events of one kind.
 */
#include "clock.h"
#include "ratelog.h"

bool
ratelog_ok(struct ratelog *r, int64_t interval_ms, unsigned *skipped)
{
	int64_t	now = clock_ms();

	if (r->last_ms != 0 && now - r->last_ms < interval_ms) {
		r->skipped++;
		return false;
	}
	*skipped = r->skipped;
	r->skipped = 0;
	r->last_ms = now;
	return true;
}
