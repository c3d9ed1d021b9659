/* SPDX-License-Identifier: ISC */
/*
 * place.c: rendezvous hashing.  A node's score for a key is BLAKE2b of
 * the key, keyed with the node's ID; scores are read little-endian so
 * that every node, whatever its byte order, ranks the same owners.
 */
#include <string.h>

#include <sodium.h>

#include "place.h"

#define HASH_LEN	crypto_generichash_BYTES_MIN	/* 16 */

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t
place_score(const char *key, size_t keylen, const uint8_t node[NODE_ID_LEN])
{
	uint8_t	h[HASH_LEN];

	crypto_generichash(h, sizeof(h), (const uint8_t *)key, keylen, node,
	    NODE_ID_LEN);
	return le64(h);
}

/* Whether node a (score sa) ranks above node b (score sb). */
static int
ranks_above(uint64_t sa, const uint8_t *a, uint64_t sb, const uint8_t *b)
{
	if (sa != sb)
		return sa > sb;
	return memcmp(a, b, NODE_ID_LEN) < 0;
}

size_t
place_owners(const char *key, size_t keylen,
    const uint8_t (*nodes)[NODE_ID_LEN], size_t n, size_t r, size_t *owners)
{
	uint64_t	score[PLACE_REPLICAS_MAX], s;
	size_t		i, j, k = 0;

	if (r > PLACE_REPLICAS_MAX)
		r = PLACE_REPLICAS_MAX;
	if (r == 0)
		return 0;
	/* The best r so far, best first, by insertion. */
	for (i = 0; i < n; i++) {
		s = place_score(key, keylen, nodes[i]);
		if (k == r && !ranks_above(s, nodes[i], score[k - 1],
		    nodes[owners[k - 1]]))
			continue;
		j = k < r ? k++ : k - 1;
		for (; j > 0 && ranks_above(s, nodes[i], score[j - 1],
		    nodes[owners[j - 1]]); j--) {
			score[j] = score[j - 1];
			owners[j] = owners[j - 1];
		}
		score[j] = s;
		owners[j] = i;
	}
	return k;
}

uint32_t
place_bucket(const char *key, size_t keylen, uint32_t nbuckets)
{
	uint8_t	h[HASH_LEN];

	if (nbuckets == 0)
		return 0;
	crypto_generichash(h, sizeof(h), (const uint8_t *)key, keylen, NULL,
	    0);
	return (uint32_t)(le64(h) % nbuckets);
}
