/* SPDX-License-Identifier: ISC */
/*
 * nodemap.c: values keyed by node ID.  The entries sit in a dense array,
 * for iteration and swap-removal, and in hash chains, for lookup; the
 * bucket array doubles as the table grows.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "nodemap.h"

#define BUCKETS_MIN	16	/* a power of two */

struct entry {
	struct entry	*next;		/* in its bucket */
	size_t		 index;		/* in nodemap.entries */
	uint8_t		 id[NODE_ID_LEN];
	alignas(max_align_t) unsigned char value[];
};

struct nodemap {
	size_t		  size, max;
	struct entry	**entries;
	size_t		  n, cap;
	struct entry	**bucket;
	size_t		  nbuckets;
	uint8_t		  key[crypto_shorthash_KEYBYTES];
};

static struct entry **
bucket_of(const struct nodemap *t, const uint8_t *id)
{
	uint8_t		h[crypto_shorthash_BYTES];
	uint64_t	v;

	crypto_shorthash(h, id, NODE_ID_LEN, t->key);
	memcpy(&v, h, sizeof(v));
	return &t->bucket[v & (t->nbuckets - 1)];
}

struct nodemap *
nodemap_new(size_t size, size_t max)
{
	struct nodemap	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->bucket = calloc(BUCKETS_MIN, sizeof(*t->bucket))) == NULL) {
		free(t);
		return NULL;
	}
	t->nbuckets = BUCKETS_MIN;
	t->size = size;
	t->max = max;
	crypto_shorthash_keygen(t->key);
	return t;
}

void
nodemap_free(struct nodemap *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->entries[i]);
	free(t->entries);
	free(t->bucket);
	free(t);
}

static struct entry *
find(const struct nodemap *t, const uint8_t *id)
{
	struct entry	*e;

	for (e = *bucket_of(t, id); e != NULL; e = e->next)
		if (memcmp(e->id, id, NODE_ID_LEN) == 0)
			return e;
	return NULL;
}

void *
nodemap_get(const struct nodemap *t, const uint8_t *id)
{
	struct entry	*e = find(t, id);

	return e != NULL ? e->value : NULL;
}

/* Doubles the buckets once there are more entries than buckets. */
static void
grow_buckets(struct nodemap *t)
{
	struct entry	**nb, **old = t->bucket, **b;
	size_t		  i, oldn = t->nbuckets;

	if ((nb = calloc(oldn * 2, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	t->bucket = nb;
	t->nbuckets = oldn * 2;
	for (i = 0; i < t->n; i++) {
		b = bucket_of(t, t->entries[i]->id);
		t->entries[i]->next = *b;
		*b = t->entries[i];
	}
	free(old);
}

void *
nodemap_put(struct nodemap *t, const uint8_t *id)
{
	struct entry	*e, **ne, **b;
	size_t		 cap;

	if ((e = find(t, id)) != NULL)
		return e->value;
	if (t->n == t->max)
		return NULL;
	if (t->n == t->cap) {
		cap = t->cap == 0 ? 16 : t->cap * 2;
		if ((ne = reallocarray(t->entries, cap, sizeof(*ne))) == NULL)
			return NULL;
		t->entries = ne;
		t->cap = cap;
	}
	if ((e = calloc(1, sizeof(*e) + t->size)) == NULL)
		return NULL;
	memcpy(e->id, id, NODE_ID_LEN);
	e->index = t->n;
	t->entries[t->n++] = e;
	b = bucket_of(t, id);
	e->next = *b;
	*b = e;
	if (t->n > t->nbuckets)
		grow_buckets(t);
	return e->value;
}

void
nodemap_del(struct nodemap *t, const uint8_t *id)
{
	struct entry	**pp, *e;

	for (pp = bucket_of(t, id); *pp != NULL; pp = &(*pp)->next)
		if (memcmp((*pp)->id, id, NODE_ID_LEN) == 0)
			break;
	if ((e = *pp) == NULL)
		return;
	*pp = e->next;
	t->entries[e->index] = t->entries[--t->n];
	t->entries[e->index]->index = e->index;
	free(e);
}

size_t
nodemap_count(const struct nodemap *t)
{
	return t->n;
}

void *
nodemap_at(const struct nodemap *t, size_t i, const uint8_t **idp)
{
	*idp = t->entries[i]->id;
	return t->entries[i]->value;
}
