/* SPDX-License-Identifier: ISC */
/*
 * test_metrics.c: the metrics writers: Prometheus text (HELP and TYPE,
 * escaping of help and label values, numbers, histograms with
 * cumulative buckets, +Inf, _sum and _count) and the same numbers as
 * CBOR; samples out of place; outcome codes.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "cbor_buf.h"
#include "../../ctl/cbor_json.h"
#include "metrics.h"
#include "peer.h"
#include "suites.h"

/* The text of gather, NUL-terminated; free it. */
static char *
text_of(metrics_gather_fn *gather, void *arg)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;
	size_t		 n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_text(b, gather, arg), 0);
	n = evbuffer_get_length(b);
	ck_assert_ptr_nonnull(s = malloc(n + 1));
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static json_t *
json_of(metrics_gather_fn *gather, void *arg)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;

	metrics_cbor(&b, gather, arg);
	ck_assert(!b.failed);
	ck_assert_ptr_nonnull(j = cbor_to_json(b.data, b.len));
	cbor_buf_free(&b);
	return j;
}

static void
gather_escapes(struct metrics_writer *w, void *arg)
{
	struct metrics_label	l[2] = {
		{ "name", "a\"b\\c\nd" },
		{ "code", "OK" },
	};

	(void)arg;
	metrics_family(w, "t_things_total", METRICS_COUNTER,
	    "Things, with a \\ and a\nnewline.");
	metrics_value(w, l, 2, 3);
	metrics_value(w, NULL, 0, 0.1);
	metrics_family(w, "t_level", METRICS_GAUGE, "A level.");
	metrics_value(w, NULL, 0, 2.5e-7);
	metrics_value(w, NULL, 0, -2);
	metrics_value(w, NULL, 0, 1796606264);
}

START_TEST(test_text_escapes_and_numbers)
{
	char	*s = text_of(gather_escapes, NULL);

	ck_assert_str_eq(s,
	    "# HELP t_things_total Things, with a \\\\ and a\\nnewline.\n"
	    "# TYPE t_things_total counter\n"
	    "t_things_total{name=\"a\\\"b\\\\c\\nd\",code=\"OK\"} 3\n"
	    "t_things_total 0.1\n"
	    "# HELP t_level A level.\n"
	    "# TYPE t_level gauge\n"
	    "t_level 2.5e-07\n"
	    "t_level -2\n"
	    "t_level 1796606264\n");
	free(s);
}
END_TEST

static void
gather_special(struct metrics_writer *w, void *arg)
{
	(void)arg;
	metrics_family(w, "t_odd", METRICS_GAUGE, "Odd values.");
	metrics_value(w, NULL, 0, 1e300 * 1e300);
	metrics_value(w, NULL, 0, -1e300 * 1e300);
	metrics_value(w, NULL, 0, 1.0 / 3);
	metrics_value(w, NULL, 0, 1e20);
}

START_TEST(test_text_special_numbers)
{
	char	*s = text_of(gather_special, NULL);

	ck_assert_str_eq(s, "# HELP t_odd Odd values.\n# TYPE t_odd gauge\n"
	    "t_odd +Inf\nt_odd -Inf\nt_odd 0.33333333333333331\n"
	    "t_odd 1e+20\n");
	free(s);
}
END_TEST

static void
gather_histogram(struct metrics_writer *w, void *arg)
{
	struct metrics_label	l = { "code", "OK" };

	metrics_family(w, "t_seconds", METRICS_HISTOGRAM, "Durations.");
	metrics_histogram(w, &l, 1, arg);
	/* Out of place: a value in a histogram family, and the reverse. */
	metrics_value(w, NULL, 0, 5);
	metrics_family(w, "t_gauge", METRICS_GAUGE, "A gauge.");
	metrics_histogram(w, NULL, 0, arg);
}

START_TEST(test_text_histogram)
{
	struct metrics_hist	h;
	char			*s, *p;

	memset(&h, 0, sizeof(h));
	metrics_observe(&h, 0.00005);	/* first bucket */
	metrics_observe(&h, 0.0001);	/* on a bound: that bucket */
	metrics_observe(&h, 0.003);	/* le 0.005 */
	metrics_observe(&h, 0.7);	/* le 1 */
	metrics_observe(&h, 60);	/* above every bound */
	ck_assert_uint_eq(h.count, 5);
	s = text_of(gather_histogram, &h);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE t_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "t_seconds_bucket{code=\"OK\",le=\"0.0001\"} 2\n"
	    "t_seconds_bucket{code=\"OK\",le=\"0.00025\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "t_seconds_bucket{code=\"OK\",le=\"0.0025\"} 2\n"
	    "t_seconds_bucket{code=\"OK\",le=\"0.005\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "t_seconds_bucket{code=\"OK\",le=\"0.5\"} 3\n"
	    "t_seconds_bucket{code=\"OK\",le=\"1\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "t_seconds_bucket{code=\"OK\",le=\"10\"} 4\n"
	    "t_seconds_bucket{code=\"OK\",le=\"+Inf\"} 5\n"
	    "t_seconds_sum{code=\"OK\"} 60.70315\n"
	    "t_seconds_count{code=\"OK\"} 5\n"
	    "# HELP t_gauge A gauge.\n# TYPE t_gauge gauge\n"));
	/* Nothing after the gauge's TYPE: its histogram was not written. */
	p = strstr(s, "# TYPE t_gauge gauge\n");
	ck_assert_str_eq(p + strlen("# TYPE t_gauge gauge\n"), "");
	/* 16 bounds and +Inf. */
	for (p = s, h.count = 0; (p = strstr(p, "_bucket{")) != NULL; p++)
		h.count++;
	ck_assert_uint_eq(h.count, METRICS_BUCKETS + 1);
	free(s);
}
END_TEST

START_TEST(test_cbor_same_numbers)
{
	struct metrics_hist	 h;
	json_t			*j, *f, *smp;

	j = json_of(gather_escapes, NULL);
	ck_assert_uint_eq(json_object_size(j), 2);
	f = json_object_get(j, "t_things_total");
	ck_assert_str_eq(json_string_value(json_object_get(f, "type")),
	    "counter");
	ck_assert_str_eq(json_string_value(json_object_get(f, "help")),
	    "Things, with a \\ and a\nnewline.");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "samples")), 2);
	smp = json_array_get(json_object_get(f, "samples"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(smp,
	    "labels"), "name")), "a\"b\\c\nd");
	ck_assert_int_eq(json_integer_value(json_object_get(smp, "value")), 3);
	smp = json_array_get(json_object_get(f, "samples"), 1);
	ck_assert(json_real_value(json_object_get(smp, "value")) == 0.1);
	json_decref(j);

	memset(&h, 0, sizeof(h));
	metrics_observe(&h, 0.003);
	metrics_observe(&h, 0.7);
	j = json_of(gather_histogram, &h);
	f = json_object_get(j, "t_seconds");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "samples")), 1);
	smp = json_array_get(json_object_get(f, "samples"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(smp, "count")), 2);
	ck_assert(json_real_value(json_object_get(smp, "sum")) == 0.703);
	ck_assert_uint_eq(json_array_size(json_object_get(smp, "buckets")),
	    METRICS_BUCKETS);
	/* le 0.005 holds one, cumulative from there. */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(smp, "buckets"), 5), "count")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(smp, "buckets"), 12), "count")), 2);
	/* The gauge family is there, with no sample. */
	f = json_object_get(j, "t_gauge");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "samples")), 0);
	json_decref(j);
}
END_TEST

START_TEST(test_codes)
{
	ck_assert_uint_eq(metrics_code(PEER_OK), PEER_OK);
	ck_assert_uint_eq(metrics_code(PEER_UNAVAILABLE), PEER_UNAVAILABLE);
	/* Codes without a name, and out of range, are one: UNKNOWN. */
	ck_assert_uint_eq(metrics_code(PEER_FAILED_PRECONDITION),
	    PEER_FAILED_PRECONDITION);
	ck_assert_uint_eq(metrics_code(10), PEER_UNKNOWN);
	ck_assert_uint_eq(metrics_code(15), PEER_UNKNOWN);
	ck_assert_uint_eq(metrics_code(16), PEER_UNKNOWN);
	ck_assert_uint_eq(metrics_code(-1), PEER_UNKNOWN);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("metrics");

	tcase_add_test(tc, test_text_escapes_and_numbers);
	tcase_add_test(tc, test_text_special_numbers);
	tcase_add_test(tc, test_text_histogram);
	tcase_add_test(tc, test_cbor_same_numbers);
	tcase_add_test(tc, test_codes);
	suite_add_tcase(s, tc);
	return s;
}
