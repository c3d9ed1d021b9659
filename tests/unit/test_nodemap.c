/* SPDX-License-Identifier: ISC */
/*
 * test_nodemap.c: the table of values keyed by node ID: lookups, the
 * bound, removal in the middle of iteration, and growth far past its
 * first buckets.
 */
#include <stdbool.h>
#include <string.h>

#include <check.h>

#include "nodemap.h"
#include "suites.h"

struct val {
	uint64_t	a;
	char		name[20];
};

static void
id_of(unsigned n, uint8_t id[32])
{
	memset(id, 0, 32);
	memcpy(id, &n, sizeof(n));
}

START_TEST(test_put_get_del)
{
	struct nodemap	*t = nodemap_new(sizeof(struct val), 10);
	struct val	*v;
	uint8_t		 id[32], other[32];

	ck_assert_ptr_nonnull(t);
	id_of(1, id);
	id_of(2, other);
	ck_assert_ptr_null(nodemap_get(t, id));
	v = nodemap_put(t, id);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->a, 0);	/* new values are zeroed */
	v->a = 42;
	strcpy(v->name, "one");
	ck_assert_ptr_eq(nodemap_put(t, id), v);	/* the same value */
	ck_assert_ptr_null(nodemap_get(t, other));
	ck_assert_uint_eq(((struct val *)nodemap_get(t, id))->a, 42);
	ck_assert_uint_eq(nodemap_count(t), 1);
	nodemap_del(t, other);		/* absent: nothing happens */
	ck_assert_uint_eq(nodemap_count(t), 1);
	nodemap_del(t, id);
	ck_assert_ptr_null(nodemap_get(t, id));
	ck_assert_uint_eq(nodemap_count(t), 0);
	nodemap_free(t);
	nodemap_free(NULL);
}
END_TEST

START_TEST(test_bound)
{
	struct nodemap	*t = nodemap_new(8, 3);
	uint8_t		 id[32];
	unsigned	 i;

	for (i = 0; i < 3; i++) {
		id_of(i, id);
		ck_assert_ptr_nonnull(nodemap_put(t, id));
	}
	id_of(3, id);
	ck_assert_ptr_null(nodemap_put(t, id));
	id_of(1, id);
	ck_assert_ptr_nonnull(nodemap_put(t, id));	/* present: fine */
	nodemap_del(t, id);
	id_of(3, id);
	ck_assert_ptr_nonnull(nodemap_put(t, id));	/* room again */
	nodemap_free(t);
}
END_TEST

START_TEST(test_many_and_iteration)
{
	struct nodemap	*t = nodemap_new(sizeof(uint64_t), 5000);
	static bool	 seen[5000];
	const uint8_t	*idp;
	uint64_t	*v;
	uint8_t		 id[32];
	unsigned	 i, k;
	size_t		 j;

	for (i = 0; i < 5000; i++) {
		id_of(i, id);
		v = nodemap_put(t, id);
		ck_assert_ptr_nonnull(v);
		*v = i;
	}
	for (i = 0; i < 5000; i++) {
		id_of(i, id);
		v = nodemap_get(t, id);
		ck_assert_ptr_nonnull(v);
		ck_assert_uint_eq(*v, i);
	}
	/* Delete the odd ones while walking: the last moves into the gap. */
	for (j = 0; j < nodemap_count(t); ) {
		v = nodemap_at(t, j, &idp);
		memcpy(&k, idp, sizeof(k));
		ck_assert_uint_eq(*v, k);
		if (k % 2 == 1)
			nodemap_del(t, idp);
		else
			j++;
	}
	ck_assert_uint_eq(nodemap_count(t), 2500);
	memset(seen, 0, sizeof(seen));
	for (j = 0; j < nodemap_count(t); j++) {
		v = nodemap_at(t, j, &idp);
		ck_assert_uint_eq(*v % 2, 0);
		ck_assert(!seen[*v]);
		seen[*v] = true;
	}
	for (i = 0; i < 5000; i++) {
		id_of(i, id);
		if (i % 2)
			ck_assert_ptr_null(nodemap_get(t, id));
		else
			ck_assert_ptr_nonnull(nodemap_get(t, id));
	}
	nodemap_free(t);
}
END_TEST

Suite *
nodemap_suite(void)
{
	Suite	*s = suite_create("nodemap");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_many_and_iteration);
	suite_add_tcase(s, tc);
	return s;
}
