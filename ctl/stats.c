/* SPDX-License-Identifier: ISC */
/*
 * stats.c: peerctl stats: the daemon's numbers (the stats op, the same
 * as its /metrics) as a table of metric, labels and value.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cbor_json.h"
#include "stats.h"

#define LABELS_MAX	512	/* bytes of one sample's labels, as shown */
#define LABELS_COLUMN_MAX 32	/* the widest the labels column gets */

/* "k=v,k=v" of a sample's labels into buf, or "-". */
static const char *
labels_text(json_t *labels, char *buf, size_t len)
{
	const char	*k;
	json_t		*v;
	size_t		 n = 0;
	int		 w;

	buf[0] = '\0';
	json_object_foreach(labels, k, v) {
		if (!json_is_string(v))
			continue;
		w = snprintf(buf + n, len - n, "%s%s=%s", n > 0 ? "," : "", k,
		    json_string_value(v));
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* Column widths, measured in a first pass. */
struct widths {
	int	name;
	int	labels;
	bool	print;
};

static void
row(struct widths *w, const char *name, const char *suffix,
    const char *labels, json_t *value)
{
	char	full[160], num[64];
	int	n;

	n = snprintf(full, sizeof(full), "%s%s", name, suffix);
	if (!w->print) {
		if (n > w->name)
			w->name = n;
		/* Long ones (node IDs) pass the column, not widen it. */
		if ((int)strlen(labels) > w->labels &&
		    strlen(labels) <= LABELS_COLUMN_MAX)
			w->labels = (int)strlen(labels);
		return;
	}
	if (json_is_integer(value))
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(value));
	else if (json_is_real(value))
		snprintf(num, sizeof(num), "%.6g", json_real_value(value));
	else
		snprintf(num, sizeof(num), "?");
	print_safe(stdout, full, strlen(full), false);
	printf("%*s ", w->name - (int)strlen(full), "");
	print_safe(stdout, labels, strlen(labels), false);
	printf("%*s %s\n", w->labels > (int)strlen(labels) ? w->labels -
	    (int)strlen(labels) : 0, "", num);
}

static void
walk(json_t *top, struct widths *w)
{
	json_t		*fam, *samples, *s, *type;
	const char	*name;
	char		 labels[LABELS_MAX];
	size_t		 i;
	bool		 hist;

	json_object_foreach(top, name, fam) {
		type = json_object_get(fam, "type");
		hist = json_is_string(type) &&
		    strcmp(json_string_value(type), "histogram") == 0;
		samples = json_object_get(fam, "samples");
		json_array_foreach(samples, i, s) {
			labels_text(json_object_get(s, "labels"), labels,
			    sizeof(labels));
			if (hist) {
				row(w, name, "_count", labels,
				    json_object_get(s, "count"));
				row(w, name, "_sum", labels,
				    json_object_get(s, "sum"));
			} else
				row(w, name, "", labels,
				    json_object_get(s, "value"));
		}
	}
}

int
stats_print(const uint8_t *res, size_t len)
{
	struct widths	 w = { 6, 6, false };	/* the headers' */
	json_t		*top;

	if ((top = cbor_to_json(res, len)) == NULL || !json_is_object(top)) {
		fprintf(stderr, "peerctl: malformed stats reply\n");
		json_decref(top);
		return 1;
	}
	walk(top, &w);
	printf("%-*s %-*s %s\n", w.name, "METRIC", w.labels, "LABELS",
	    "VALUE");
	w.print = true;
	walk(top, &w);
	json_decref(top);
	return 0;
}
