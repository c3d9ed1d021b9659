/* SPDX-License-Identifier: ISC */
/*
 * duration.c: reading durations.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int
duration_parse(const char *s, uint64_t *ms)
{
	char			*end;
	unsigned long long	 n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || n > UINT32_MAX)
		return -1;
	if (strcmp(end, "s") == 0)
		n *= 1000;
	else if (strcmp(end, "m") == 0)
		n *= 60000;
	else if (strcmp(end, "h") == 0)
		n *= 3600000;
	else if (*end != '\0' && strcmp(end, "ms") != 0)
		return -1;
	*ms = n;
	return 0;
}

void
duration_timeval(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}
