/* SPDX-License-Identifier: ISC */
/*
 * kvring.c: the store's nodes, read from the member table: the live
 * members of kv_group (all of them if it is empty), ourselves always
 * among them if we are in the group, kept sorted by ID so that every
 * node that sees the same members ranks the same owners.  Also how
 * many of the store's nodes this node knows, for the quorate rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvring.h"

struct kvring {
	const struct members	*members;
	char			 group[GROUP_NAME_MAX + 1];
	size_t			 replicas;
	uint8_t			(*nodes)[NODE_ID_LEN];	/* sorted */
	size_t			 n;
	uint8_t			(*spare)[NODE_ID_LEN];	/* the next list */
	size_t			 live, known;
	size_t			 mcount;	/* members at the last reading */
};

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NODE_ID_LEN);
}

static bool
in_store(const struct kvring *r, const struct member *m)
{
	return r->group[0] == '\0' || record_in_group(&m->rec, r->group);
}

/*
 * Reads the members: the live store nodes into ids (if not NULL) and
 * how many, and how many are known: live, or dead and not forgotten.
 */
static size_t
reading(const struct kvring *r, uint8_t (*ids)[NODE_ID_LEN], size_t *known)
{
	const struct member	*m;
	size_t			 i, count, live = 0, dead = 0;

	count = members_count(r->members);
	for (i = 0; i < count; i++) {
		m = members_at(r->members, i);
		if (!in_store(r, m))
			continue;
		if (m->self || member_live(m)) {
			if (ids != NULL && live < MEMBERS_MAX)
				memcpy(ids[live], m->rec.id, NODE_ID_LEN);
			live++;
		} else if (m->state == MEMBER_DEAD)
			dead++;
	}
	if (live > MEMBERS_MAX)
		live = MEMBERS_MAX;
	*known = live + dead;
	return live;
}

struct kvring *
kvring_new(const struct kvring_params *p, const struct members *members)
{
	struct kvring	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	/* Address space for the most members a table holds: touched as used. */
	if ((r->nodes = calloc(MEMBERS_MAX, NODE_ID_LEN)) == NULL ||
	    (r->spare = calloc(MEMBERS_MAX, NODE_ID_LEN)) == NULL) {
		kvring_free(r);
		return NULL;
	}
	r->members = members;
	snprintf(r->group, sizeof(r->group), "%s",
	    p->group != NULL ? p->group : "");
	r->replicas = p->replicas;
	if (r->replicas < 1)
		r->replicas = 1;
	if (r->replicas > PLACE_REPLICAS_MAX)
		r->replicas = PLACE_REPLICAS_MAX;
	(void)kvring_update(r);
	return r;
}

void
kvring_free(struct kvring *r)
{
	if (r == NULL)
		return;
	free(r->nodes);
	free(r->spare);
	free(r);
}

bool
kvring_update(struct kvring *r)
{
	uint8_t	(*t)[NODE_ID_LEN];
	size_t	 n;
	bool	 changed;

	r->mcount = members_count(r->members);
	n = reading(r, r->spare, &r->known);
	r->live = n;
	qsort(r->spare, n, NODE_ID_LEN, id_cmp);
	changed = n != r->n || memcmp(r->spare, r->nodes, n * NODE_ID_LEN);
	t = r->nodes;
	r->nodes = r->spare;
	r->spare = t;
	r->n = n;
	return changed;
}

size_t
kvring_nodes(const struct kvring *r, const uint8_t (**ids)[NODE_ID_LEN])
{
	*ids = (const uint8_t (*)[NODE_ID_LEN])r->nodes;
	return r->n;
}

bool
kvring_has(const struct kvring *r, const uint8_t *id)
{
	return r->n > 0 &&
	    bsearch(id, r->nodes, r->n, NODE_ID_LEN, id_cmp) != NULL;
}

size_t
kvring_owners(const struct kvring *r, const char *key, size_t keylen,
    uint8_t owners[][NODE_ID_LEN])
{
	size_t	idx[PLACE_REPLICAS_MAX], i, k;

	k = place_owners(key, keylen, (const uint8_t (*)[NODE_ID_LEN])r->nodes,
	    r->n, r->replicas, idx);
	for (i = 0; i < k; i++)
		memcpy(owners[i], r->nodes[idx[i]], NODE_ID_LEN);
	return k;
}

bool
kvring_owns(const struct kvring *r, const uint8_t *id, const char *key,
    size_t keylen)
{
	uint8_t	owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	size_t	i, k;

	k = kvring_owners(r, key, keylen, owners);
	for (i = 0; i < k; i++)
		if (memcmp(owners[i], id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

size_t
kvring_majority(size_t n)
{
	return n / 2 + 1;
}

bool
kvring_quorate(const struct kvring *r, size_t *live, size_t *known)
{
	/*
	 * Members are told forgotten just before they go, so a reading
	 * then still counts them: read again once the table has shrunk
	 * (or grown) since.
	 */
	if (members_count(r->members) != r->mcount)
		*live = reading(r, NULL, known);
	else {
		*live = r->live;
		*known = r->known;
	}
	return *live * 2 > *known;
}

size_t
kvring_replicas(const struct kvring *r)
{
	return r->replicas;
}
