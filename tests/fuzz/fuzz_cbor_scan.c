/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cbor_scan.c: libFuzzer target checking cbor_scan_item against
 * libcbor's own decoder: whatever the scanner accepts, libcbor must
 * load to the same length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cbor.h>

#include "cbor_scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbor_load_result	 res;
	cbor_item_t		*it;
	size_t			 n;

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
