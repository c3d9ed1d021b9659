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
	return n > 0 ? buf : "-";
}

static void
print_row(const char *name, const char *suffix, const char *labels,
    json_t *value)
{
	char	full[160], num[64];

	snprintf(full, sizeof(full), "%s%s", name, suffix);
	if (json_is_integer(value))
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(value));
	else if (json_is_real(value))
		snprintf(num, sizeof(num), "%.6g", json_real_value(value));
	else
		snprintf(num, sizeof(num), "?");
	print_safe(stdout, full, strlen(full), false);
	printf("%*s ", (int)(strlen(full) < 44 ? 44 - strlen(full) : 0), "");
	print_safe(stdout, labels, strlen(labels), false);
	printf("%*s %s\n", (int)(strlen(labels) < 24 ? 24 - strlen(labels) :
	    0), "", num);
}

int
stats_print(const uint8_t *res, size_t len)
{
	json_t		*top, *fam, *samples, *s, *type;
	const char	*name;
	char		 labels[LABELS_MAX];
	size_t		 i;
	bool		 hist;

	if ((top = cbor_to_json(res, len)) == NULL || !json_is_object(top)) {
		fprintf(stderr, "peerctl: malformed stats reply\n");
		json_decref(top);
		return 1;
	}
	printf("%-44s %-24s %s\n", "METRIC", "LABELS", "VALUE");
	json_object_foreach(top, name, fam) {
		type = json_object_get(fam, "type");
		hist = json_is_string(type) &&
		    strcmp(json_string_value(type), "histogram") == 0;
		samples = json_object_get(fam, "samples");
		json_array_foreach(samples, i, s) {
			labels_text(json_object_get(s, "labels"), labels,
			    sizeof(labels));
			if (labels[0] == '\0')
				snprintf(labels, sizeof(labels), "-");
			if (hist) {
				print_row(name, "_count", labels,
				    json_object_get(s, "count"));
				print_row(name, "_sum", labels,
				    json_object_get(s, "sum"));
			} else
				print_row(name, "", labels,
				    json_object_get(s, "value"));
		}
	}
	json_decref(top);
	return 0;
}
