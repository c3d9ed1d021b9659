/* SPDX-License-Identifier: ISC */
/*
 * test_heap.c: the buffers of a burst stay in the heap, and what the
 * burst left free goes back to the system once it is over.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <check.h>

#include "heap.h"
#include "suites.h"

#define MIB	((size_t)1 << 20)

/* ASan's allocator is not glibc's: nothing to see there. */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
START_TEST(test_burst_kept_then_given_back)
{
	void	*p[32];
	size_t	 i;

	heap_tune();
	for (i = 0; i < 32; i++) {
		ck_assert_ptr_nonnull(p[i] = malloc(MIB));
		memset(p[i], 1, MIB);
	}
	for (i = 32; i-- > 0;)
		free(p[i]);
	/* In the heap, not mapped, and not trimmed when freed. */
	ck_assert_uint_ge(mallinfo2().keepcost, 16 * MIB);
	heap_trim_now();
	ck_assert_uint_le(mallinfo2().keepcost, 2 * MIB);
}
END_TEST
#endif

Suite *
heap_suite(void)
{
	Suite	*s = suite_create("heap");
	TCase	*tc = tcase_create("heap");

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	tcase_add_test(tc, test_burst_kept_then_given_back);
#endif
	suite_add_tcase(s, tc);
	return s;
}
