/* SPDX-License-Identifier: ISC */
/*
 * call.c: the parts of peerctl call that do not talk to peerd.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call.h"
#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"
#include "duration.h"

/*
 * Arrays and objects one argument may nest: the message map and the
 * args array around it count against the daemon's CBOR_SCAN_DEPTH.
 */
#define CALL_ARG_DEPTH	(CBOR_SCAN_DEPTH - 2)

size_t
call_split(const char *word, const char *const *known, size_t n)
{
	const char	*dot;
	size_t		 i, len, best = 0, wlen = strlen(word);

	/* Service names may hold dots: "camera.front.snap". */
	for (i = 0; i < n; i++) {
		len = strlen(known[i]);
		if (len > best && len + 1 < wlen && word[len] == '.' &&
		    strncmp(word, known[i], len) == 0)
			best = len;
	}
	if (best > 0)
		return best;
	if ((dot = strchr(word, '.')) == NULL || dot == word ||
	    dot[1] == '\0')
		return 0;
	return (size_t)(dot - word);
}

int
call_duration(const char *s, int max)
{
	uint64_t	ms;

	if (duration_parse(s, &ms) == -1 || ms == 0 || ms > (uint64_t)max)
		return -1;
	return (int)ms;
}

int
call_args(char *const *argv, int n, struct cbor_buf *b, char *err,
    size_t errlen)
{
	json_error_t	 e;
	json_t		*j;
	bool		 bare;
	int		 i, rc;

	cbor_put_array(b, (size_t)n);
	for (i = 0; i < n; i++) {
		j = json_loadb(argv[i], strlen(argv[i]),
		    JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
		    &e);
		if (j == NULL) {
			/* The usual slip: a bare word where a string goes. */
			bare = argv[i][0] == '\0' ||
			    strchr("\"[{-0123456789 \t\n\r", argv[i][0]) == NULL;
			snprintf(err, errlen, "argument %d is not JSON: %s%s",
			    i + 1, e.text, bare ?
			    " (a string needs quotes: '\"text\"')" : "");
			return -1;
		}
		rc = json_to_cbor(j, CALL_ARG_DEPTH, b);
		json_decref(j);
		if (rc == -1) {
			snprintf(err, errlen, "argument %d nests more than %d "
			    "arrays and objects", i + 1, CALL_ARG_DEPTH);
			return -1;
		}
	}
	return 0;
}
