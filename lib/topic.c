/* SPDX-License-Identifier: ISC */
/*
 * topic.c: matching topics against subscription patterns.
 */
#include <string.h>

#include "topic.h"

bool
topic_matches(const char *pattern, const char *topic)
{
	size_t	n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, topic, n - 1) == 0 &&
		    topic[n - 1] != '\0';
	return strcmp(pattern, topic) == 0;
}
