/* SPDX-License-Identifier: ISC */
/*
 * kvmerge.c: merging a delta map into a stored map.  Both maps are
 * walked once into arrays of entry spans, which are sorted by key so
 * that each lookup is a binary search: a merge costs O(n log n) however
 * many keys either map has.  Values are copied as encoded, never read.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor_scan.h"
#include "kvmerge.h"

struct entry {
	const uint8_t	*key;
	size_t		 keylen;
	const uint8_t	*val;
	size_t		 vallen;
	size_t		 idx;		/* place in its map */
};

struct side {
	struct entry	*order;		/* as in the map */
	struct entry	*sorted;	/* by key, then place */
	size_t		 n;
};

static int
key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int	c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	int			 c;

	if ((c = key_cmp(x->key, x->keylen, y->key, y->keylen)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void
side_free(struct side *s)
{
	free(s->order);
	free(s->sorted);
}

/*
 * Reads the map buf into s.  0; -1 if buf is not one well-formed map,
 * -2 if it has more than KVMERGE_ENTRIES_MAX entries, -3 without memory.
 */
static int
side_read(const uint8_t *buf, size_t len, struct side *s)
{
	struct cbor_map_iter	 it, count;
	struct entry		*e;
	const uint8_t		*k, *v;
	size_t			 kn, vn, n = 0;

	memset(s, 0, sizeof(*s));
	if (cbor_scan_item(buf, len) != len || !cbor_map_begin(buf, len, &it))
		return -1;
	/* Counted first: an indefinite map does not say its size. */
	count = it;
	while (cbor_map_next(&count, &k, &kn, &v, &vn))
		if (++n > KVMERGE_ENTRIES_MAX)
			return -2;
	if (!count.done)
		return -1;
	if (n == 0)
		return 0;
	if ((s->order = calloc(n, sizeof(*s->order))) == NULL ||
	    (s->sorted = calloc(n, sizeof(*s->sorted))) == NULL)
		return -3;
	while (s->n < n && cbor_map_next(&it, &k, &kn, &v, &vn)) {
		e = &s->order[s->n];
		e->key = k;
		e->keylen = kn;
		e->val = v;
		e->vallen = vn;
		e->idx = s->n++;
	}
	memcpy(s->sorted, s->order, n * sizeof(*s->order));
	qsort(s->sorted, n, sizeof(*s->sorted), entry_cmp);
	return 0;
}

/*
 * The first entry (last if last) of s whose key is key, or NULL: one
 * binary search for the first key not below it, or above it.
 */
static const struct entry *
side_find(const struct side *s, const uint8_t *key, size_t keylen, bool last)
{
	size_t	lo = 0, hi = s->n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = key_cmp(s->sorted[mid].key, s->sorted[mid].keylen, key,
		    keylen);
		if (c < 0 || (last && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (last) {
		if (lo == 0)
			return NULL;
		lo--;
	}
	if (lo == s->n || key_cmp(s->sorted[lo].key, s->sorted[lo].keylen,
	    key, keylen) != 0)
		return NULL;
	return &s->sorted[lo];
}

static bool
is_null(const uint8_t *val, size_t len)
{
	return len == 1 && val[0] == 0xf6;
}

/*
 * The entries of the merge, in order, written to out (NULL: counted
 * only).  A key the delta names takes the delta's value (its last, if
 * it names the key more than once) at the key's first place in the
 * stored map, and a null removes it; the delta's other keys follow, in
 * the order of their last mentions.
 */
static size_t
merge(const struct side *st, const struct side *dt, struct cbor_buf *out)
{
	const struct entry	*e, *d;
	size_t			 i, n = 0;

	for (i = 0; i < st->n; i++) {
		e = &st->order[i];
		if ((d = side_find(dt, e->key, e->keylen, true)) == NULL) {
			d = e;
		} else if (side_find(st, e->key, e->keylen, false)->idx != i ||
		    is_null(d->val, d->vallen))
			continue;
		if (out != NULL) {
			cbor_put_raw(out, e->key, e->keylen);
			cbor_put_raw(out, d->val, d->vallen);
		}
		n++;
	}
	for (i = 0; i < dt->n; i++) {
		d = &dt->order[i];
		if (side_find(dt, d->key, d->keylen, true)->idx != i ||
		    side_find(st, d->key, d->keylen, false) != NULL ||
		    is_null(d->val, d->vallen))
			continue;
		if (out != NULL) {
			cbor_put_raw(out, d->key, d->keylen);
			cbor_put_raw(out, d->val, d->vallen);
		}
		n++;
	}
	return n;
}

enum kvmerge_result
kvmerge(const uint8_t *stored, size_t storedlen, const uint8_t *delta,
    size_t deltalen, struct cbor_buf *out)
{
	struct side		st, dt;
	enum kvmerge_result	res = KVMERGE_OK;
	size_t			n;
	int			rc;

	cbor_buf_reset(out);
	memset(&st, 0, sizeof(st));
	/* Either map larger than a result may be is refused outright. */
	if ((rc = side_read(delta, deltalen, &dt)) != 0) {
		res = rc == -1 ? KVMERGE_BAD_DELTA : rc == -2 ?
		    KVMERGE_TOO_BIG : KVMERGE_NOMEM;
		goto done;
	}
	if (stored != NULL && (rc = side_read(stored, storedlen, &st)) != 0) {
		res = rc == -1 ? KVMERGE_NOT_MAP : rc == -2 ?
		    KVMERGE_TOO_BIG : KVMERGE_NOMEM;
		goto done;
	}
	if ((n = merge(&st, &dt, NULL)) > KVMERGE_ENTRIES_MAX) {
		res = KVMERGE_TOO_BIG;
		goto done;
	}
	cbor_put_map(out, n);
	merge(&st, &dt, out);
	if (out->failed)
		res = KVMERGE_NOMEM;
done:
	side_free(&st);
	side_free(&dt);
	if (res != KVMERGE_OK)
		cbor_buf_reset(out);
	return res;
}
