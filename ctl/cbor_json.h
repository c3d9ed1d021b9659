/* SPDX-License-Identifier: ISC */
/*
 * cbor_json.h: CBOR results as JSON, for peerctl --json, and JSON
 * values as CBOR, for the arguments and results of calls; and text
 * from other nodes made safe for a terminal.
 */
#ifndef PEERCTL_CBOR_JSON_H
#define PEERCTL_CBOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cbor_buf.h"

/*
 * Converts one encoded CBOR item.  Byte strings become base64 text,
 * non-text map keys their JSON text, tags are dropped, undefined is
 * null, integers outside 64-bit signed range the nearest double.  NULL
 * if buf is not one well-formed item.  Caller owns the result
 * (json_decref).
 */
json_t	*cbor_to_json(const uint8_t *buf, size_t len);

/*
 * Appends j to b as one CBOR item: integers as integers, reals as
 * doubles, objects as maps with text keys in their order.  -1 if it
 * nests more than maxdepth arrays and objects; b may then hold part of
 * it.  Check b->failed for allocation failures.
 */
int	 json_to_cbor(json_t *j, int maxdepth, struct cbor_buf *b);

/*
 * Text from another node, bound for a terminal: control characters are
 * escaped, newlines and tabs too unless lines are allowed.
 */
void	print_safe(FILE *, const char *s, size_t n, bool lines);

#endif
