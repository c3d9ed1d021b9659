/* SPDX-License-Identifier: ISC */
/*
 * nodemap.h: a bounded table of small values keyed by node ID: what one
 * module keeps about other nodes (its route to them, its dials, the
 * last event taken from them), next to the member table rather than in
 * it.  IDs are hashed with a secret key, so that crafted IDs cannot
 * pile up in one bucket.
 */
#ifndef PEERD_NODEMAP_H
#define PEERD_NODEMAP_H

#include <stddef.h>
#include <stdint.h>

struct nodemap;

/* Values of size bytes, at most max of them.  NULL: out of memory. */
struct nodemap	*nodemap_new(size_t size, size_t max);
/* NULL is fine. */
void		 nodemap_free(struct nodemap *);
/* The value for id, or NULL. */
void		*nodemap_get(const struct nodemap *, const uint8_t *id);
/*
 * The value for id, added zeroed if it was not there.  NULL if the
 * table holds max values already, or out of memory.
 */
void		*nodemap_put(struct nodemap *, const uint8_t *id);
/* Forgets id's value, if any. */
void		 nodemap_del(struct nodemap *, const uint8_t *id);
size_t		 nodemap_count(const struct nodemap *);
/*
 * Value i, from 0 to nodemap_count() - 1, in no order, and its ID in
 * *idp.  Deleting value i moves the last one to i.
 */
void		*nodemap_at(const struct nodemap *, size_t i,
		    const uint8_t **idp);

#endif
