/* SPDX-License-Identifier: ISC */
/*
 * kvmerge.h: merging a change into a stored map.  The delta is a CBOR
 * map: each of its keys replaces that key's value in the stored map, or
 * adds it, and a key whose value is null removes it.  Keys are compared
 * as encoded, byte for byte.
 */
#ifndef PEERD_KVMERGE_H
#define PEERD_KVMERGE_H

#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"

#define KVMERGE_ENTRIES_MAX	65536	/* entries of a merged map */

enum kvmerge_result {
	KVMERGE_OK,
	KVMERGE_NOT_MAP,	/* the stored value is not a map */
	KVMERGE_BAD_DELTA,	/* the delta is not a map */
	KVMERGE_TOO_BIG,	/* the result would have too many entries */
	KVMERGE_NOMEM,
};

/*
 * Writes into out (reset first) the map that merging delta into stored
 * gives; stored NULL: an empty map.  Entries keep the stored map's
 * order; new keys follow in the delta's order.  Both inputs are one
 * well-formed CBOR item each.
 */
enum kvmerge_result kvmerge(const uint8_t *stored, size_t storedlen,
		    const uint8_t *delta, size_t deltalen, struct cbor_buf *out);

#endif
