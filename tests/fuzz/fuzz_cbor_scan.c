/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cbor_scan.c: libFuzzer target checking cbor_scan_item against
 * libcbor's own decoder: whatever the scanner accepts, libcbor must
 * load to the same length.  And cbor_scan_item_in, with the first byte
 * as the level: an item put that many arrays deep scans whole exactly
 * when cbor_scan_item_in accepts it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cbor_scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_level(const uint8_t *data, size_t size)
{
	uint8_t	*wrapped;
	size_t	 n, whole;
	int	 level;

	if (size < 1)
		return;
	level = data[0] % CBOR_SCAN_DEPTH;
	n = cbor_scan_item_in(data + 1, size - 1, level);
	whole = cbor_scan_item(data + 1, size - 1);
	if (n != 0 && n != whole)
		abort();
	/* Refused for its depth alone: wrapped, it must not scan either. */
	if (n == 0 && (n = whole) == 0)
		return;
	if ((wrapped = malloc((size_t)level + n)) == NULL)
		return;
	memset(wrapped, 0x81, (size_t)level);	/* [[...item...]] */
	memcpy(wrapped + level, data + 1, n);
	if ((cbor_scan_item(wrapped, (size_t)level + n) == (size_t)level + n) !=
	    (cbor_scan_item_in(data + 1, size - 1, level) != 0))
		abort();
	free(wrapped);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbor_load_result	 res;
	cbor_item_t		*it;
	size_t			 n;

	check_level(data, size);
	if ((n = cbor_scan_item(data, size)) == 0)
		return 0;
	if (n > size)
		abort();
	/* The scanner bounds nesting, so libcbor's recursion is safe here. */
	/* Counts are bounded by the input, so libcbor must load it all. */
	if ((it = cbor_load(data, n, &res)) == NULL)
		abort();
	if (res.read != n)
		abort();
	cbor_decref(&it);
	return 0;
}
