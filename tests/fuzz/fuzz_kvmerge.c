/* SPDX-License-Identifier: ISC */
/*
 * fuzz_kvmerge.c: libFuzzer target for merging a delta into a stored
 * map.  The first two bytes of the input say where the rest splits
 * (big-endian, modulo its length): the stored value (none, if they are
 * 0xffff), then the delta; both are passed as they are, well-formed or
 * not.
 *
 * Whatever the inputs, kvmerge must not crash, must leave out empty
 * unless it succeeds, and on success must give one well-formed map of
 * at most KVMERGE_ENTRIES_MAX entries, which merging nothing into
 * leaves as it is.  For small maps the result is checked entry by
 * entry: each key the delta names with a value holds that value (its
 * last), once; no key the delta sets to null is there; every other
 * entry is the stored map's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "kvmerge.h"

#define CHECKED_MAX	64	/* entries checked one by one */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct ent {
	const uint8_t	*k, *v;
	size_t		 kn, vn;
};

/* The entries of a map, up to max; how many, or -1 if more or not one. */
static int
entries(const uint8_t *buf, size_t len, struct ent *e, int max)
{
	struct cbor_map_iter	 it;
	const uint8_t		*k, *v;
	size_t			 kn, vn;
	int			 n = 0;

	if (buf == NULL)
		return 0;
	if (cbor_scan_item(buf, len) != len || !cbor_map_begin(buf, len, &it))
		return -1;
	while (cbor_map_next(&it, &k, &kn, &v, &vn)) {
		if (n == max)
			return -1;
		e[n].k = k;
		e[n].kn = kn;
		e[n].v = v;
		e[n].vn = vn;
		n++;
	}
	return it.done ? n : -1;
}

static bool
same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* The last entry of e[0..n) whose key is k, or NULL. */
static const struct ent *
last(const struct ent *e, int n, const uint8_t *k, size_t kn)
{
	while (n-- > 0)
		if (same(e[n].k, e[n].kn, k, kn))
			return &e[n];
	return NULL;
}

static bool
is_null(const struct ent *e)
{
	return e->vn == 1 && e->v[0] == 0xf6;
}

static void
check_entries(const uint8_t *stored, size_t slen, const uint8_t *delta,
    size_t dlen, const struct cbor_buf *out)
{
	static struct ent	 st[CHECKED_MAX], dt[CHECKED_MAX];
	static struct ent	 re[2 * CHECKED_MAX];
	const struct ent	*d;
	int			 ns, nd, nr, i, j, seen;

	if ((ns = entries(stored, slen, st, CHECKED_MAX)) == -1 ||
	    (nd = entries(delta, dlen, dt, CHECKED_MAX)) == -1)
		return;
	if ((nr = entries(out->data, out->len, re, 2 * CHECKED_MAX)) == -1)
		abort();
	for (i = 0; i < nr; i++) {
		if ((d = last(dt, nd, re[i].k, re[i].kn)) != NULL) {
			if (is_null(d) || !same(d->v, d->vn, re[i].v, re[i].vn))
				abort();
		} else if (last(st, ns, re[i].k, re[i].kn) == NULL)
			abort();
	}
	for (j = 0; j < nd; j++) {
		if (last(dt, nd, dt[j].k, dt[j].kn) != &dt[j] || is_null(&dt[j]))
			continue;
		for (i = 0, seen = 0; i < nr; i++)
			seen += same(re[i].k, re[i].kn, dt[j].k, dt[j].kn);
		if (seen != 1)
			abort();
	}
	for (j = 0; j < ns; j++) {
		if (last(dt, nd, st[j].k, st[j].kn) != NULL)
			continue;
		for (i = 0, seen = 0; i < nr; i++)
			seen += same(re[i].k, re[i].kn, st[j].k, st[j].kn) &&
			    same(re[i].v, re[i].vn, st[j].v, st[j].vn);
		if (seen == 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbor_buf		 out = { 0 }, again = { 0 };
	const uint8_t		*stored, *delta;
	size_t			 slen, dlen, split;
	enum kvmerge_result	 res;

	if (size < 2)
		return 0;
	split = (size_t)data[0] << 8 | data[1];
	if (split == 0xffff) {
		stored = NULL;
		slen = 0;
	} else {
		stored = data + 2;
		slen = split % (size - 1);
	}
	delta = data + 2 + slen;
	dlen = size - 2 - slen;

	cbor_put_text(&out, "stale");
	res = kvmerge(stored, slen, delta, dlen, &out);
	if (res != KVMERGE_OK) {
		if (out.len != 0 || (res != KVMERGE_NOT_MAP &&
		    res != KVMERGE_BAD_DELTA && res != KVMERGE_TOO_BIG))
			abort();
		cbor_buf_free(&out);
		return 0;
	}
	if (out.failed || out.len == 0 ||
	    cbor_scan_item(out.data, out.len) != out.len ||
	    (out.data[0] & 0xe0) != 0xa0 || out.data[0] == 0xbf)
		abort();
	check_entries(stored, slen, delta, dlen, &out);

	/* Merging nothing into the result gives it back, byte for byte. */
	if (kvmerge(out.data, out.len, (const uint8_t *)"\xa0", 1, &again) !=
	    KVMERGE_OK || again.len != out.len ||
	    memcmp(again.data, out.data, out.len) != 0)
		abort();
	cbor_buf_free(&out);
	cbor_buf_free(&again);
	return 0;
}
