/* SPDX-License-Identifier: ISC */
/*
 * call.h: the parts of peerctl call that do not talk to peerd: splitting
 * SERVICE.METHOD, reading durations, encoding the arguments.
 */
#ifndef PEERCTL_CALL_H
#define PEERCTL_CALL_H

#include <stddef.h>

#include "cbor_buf.h"

#define CALL_TIMEOUT_MAX	86400000	/* ms: one day */

/*
 * The length of the service part of word (SERVICE.METHOD): the longest
 * of the n known service names that word starts with, followed by a dot
 * and at least one character; else the part before the first dot.  0 if
 * word has no dot, or either part would be empty.
 */
size_t	call_split(const char *word, const char *const *known, size_t n);

/*
 * A duration as peerd.conf takes them, "500", "500ms", "2s", "1m" or
 * "1h", in milliseconds; -1 if s is none or is outside 1 to max ms.
 */
int	call_duration(const char *s, int max);

/*
 * Appends the n arguments to b as one CBOR array, each parsed as a JSON
 * value.  -1 with err naming the argument if one is not JSON or nests
 * too deeply to be sent.
 */
int	call_args(char *const *argv, int n, struct cbor_buf *b, char *err,
	    size_t errlen);

#endif
