/* SPDX-License-Identifier: ISC */
/*
 * pairkey.c: pairwise keys.  A node ID is an Ed25519 public key and the
 * Noise static key is its X25519 form, so any node's static public key
 * follows from its ID: no record is needed.  The table keeps what the
 * DH cost (about 70 us) for the nodes we talk to.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "nodemap.h"
#include "pairkey.h"

#define LABEL_PAIR	"peerd/1 pair"
#define LABEL_DIR	"peerd/1 dir"

struct slot {
	struct pairkeys	keys;
	bool		bad;	/* no key for this ID */
};

struct pairkey {
	const struct identity	*self;
	struct nodemap		*map;
	struct pairkeys		 spare;	/* out of memory: not kept */
	uint64_t		 computed;
};

/* BLAKE2b-256(key, label || a || b): a and b node IDs. */
static void
kdf(uint8_t out[PAIRKEY_LEN], const uint8_t key[PAIRKEY_LEN],
    const char *label, const uint8_t *a, const uint8_t *b)
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, key, PAIRKEY_LEN, PAIRKEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, a, NODE_ID_LEN);
	crypto_generichash_update(&st, b, NODE_ID_LEN);
	crypto_generichash_final(&st, out, PAIRKEY_LEN);
	sodium_memzero(&st, sizeof(st));
}

int
pairkey_derive(struct pairkeys *out, const struct identity *self,
    const uint8_t id[NODE_ID_LEN])
{
	uint8_t		xpk[crypto_scalarmult_curve25519_BYTES];
	uint8_t		dh[crypto_scalarmult_BYTES];
	const uint8_t	*lo, *hi;

	/* Fails for IDs that are no point on the curve, or small order. */
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, id) != 0 ||
	    crypto_scalarmult(dh, self->x_sk, xpk) != 0) {
		sodium_memzero(dh, sizeof(dh));
		sodium_memzero(out, sizeof(*out));
		return -1;
	}
	if (memcmp(self->pk, id, NODE_ID_LEN) < 0) {
		lo = self->pk;
		hi = id;
	} else {
		lo = id;
		hi = self->pk;
	}
	kdf(out->k, dh, LABEL_PAIR, lo, hi);
	sodium_memzero(dh, sizeof(dh));
	kdf(out->tx, out->k, LABEL_DIR, self->pk, id);
	kdf(out->rx, out->k, LABEL_DIR, id, self->pk);
	return 0;
}

struct pairkey *
pairkey_new(const struct identity *self, size_t max)
{
	struct pairkey	*pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return NULL;
	if ((pk->map = nodemap_new(sizeof(struct slot), max)) == NULL) {
		free(pk);
		return NULL;
	}
	pk->self = self;
	return pk;
}

void
pairkey_free(struct pairkey *pk)
{
	const uint8_t	*id;
	size_t		 i, n;

	if (pk == NULL)
		return;
	n = nodemap_count(pk->map);
	for (i = 0; i < n; i++)
		sodium_memzero(nodemap_at(pk->map, i, &id),
		    sizeof(struct slot));
	nodemap_free(pk->map);
	sodium_memzero(&pk->spare, sizeof(pk->spare));
	free(pk);
}

void
pairkey_forget(struct pairkey *pk, const uint8_t id[NODE_ID_LEN])
{
	struct slot	*s;

	if ((s = nodemap_get(pk->map, id)) == NULL)
		return;
	sodium_memzero(s, sizeof(*s));
	nodemap_del(pk->map, id);
}

/*
 * Makes room by dropping a node at random: the table has no order of
 * use, and a miss only costs one DH again.
 */
static void
evict_one(struct pairkey *pk)
{
	const uint8_t	*id;
	struct slot	*s;
	size_t		 n;

	if ((n = nodemap_count(pk->map)) == 0)
		return;
	s = nodemap_at(pk->map, randombytes_uniform((uint32_t)n), &id);
	sodium_memzero(s, sizeof(*s));
	nodemap_del(pk->map, id);
}

const struct pairkeys *
pairkey_get(struct pairkey *pk, const uint8_t id[NODE_ID_LEN])
{
	struct slot	*s, fresh;

	if ((s = nodemap_get(pk->map, id)) != NULL)
		return s->bad ? NULL : &s->keys;
	fresh.bad = pairkey_derive(&fresh.keys, pk->self, id) != 0;
	pk->computed++;
	if ((s = nodemap_put(pk->map, id)) == NULL) {
		evict_one(pk);
		s = nodemap_put(pk->map, id);
	}
	if (s == NULL) {
		if (fresh.bad)
			return NULL;
		pk->spare = fresh.keys;
		sodium_memzero(&fresh, sizeof(fresh));
		return &pk->spare;
	}
	*s = fresh;
	sodium_memzero(&fresh, sizeof(fresh));
	return s->bad ? NULL : &s->keys;
}

size_t
pairkey_count(const struct pairkey *pk)
{
	return nodemap_count(pk->map);
}

uint64_t
pairkey_computed(const struct pairkey *pk)
{
	return pk->computed;
}
