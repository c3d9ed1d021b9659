/* SPDX-License-Identifier: ISC */
/*
 * cbor_json.h: CBOR results as JSON, for peerctl --json.
 */
#ifndef PEERCTL_CBOR_JSON_H
#define PEERCTL_CBOR_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Converts one encoded CBOR item.  Byte strings become base64 text,
 * non-text map keys their JSON text, tags are dropped, undefined is
 * null.  NULL if buf is not one well-formed item.  Caller owns the
 * result (json_decref).
 */
json_t	*cbor_to_json(const uint8_t *buf, size_t len);

#endif
