/* SPDX-License-Identifier: ISC */
/*
 * originauth.c: the MAC of a relayed call message and the replay window.
 * The MAC is Poly1305 under a one-time key: BLAKE2b of the header under
 * the direction's subkey.  q never repeats in one direction, so neither
 * does the one-time key; Poly1305 runs over the body at several times
 * BLAKE2b's speed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "originauth.h"
#include "pairkey.h"

#define LABEL_MAC	"peerd/1 mac"
#define FIELD_ABSENT	0xffffffffu

static void
put_be32(crypto_generichash_state *st, uint32_t v)
{
	uint8_t	b[4];
	int	i;

	for (i = 3; i >= 0; i--, v >>= 8)
		b[i] = v & 0xff;
	crypto_generichash_update(st, b, sizeof(b));
}

static void
put_be64(crypto_generichash_state *st, uint64_t v)
{
	uint8_t	b[8];
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = v & 0xff;
	crypto_generichash_update(st, b, sizeof(b));
}

/*
 * k_msg = BLAKE2b-256(kd, "peerd/1 mac" || T || o || p || be64(c) ||
 * be64(q) || author || fields || be64(len)), each field be32(len) ||
 * bytes or be32(0xffffffff): no two messages hash the same input.
 */
static void
one_time_key(uint8_t k[crypto_onetimeauth_KEYBYTES],
    const uint8_t kd[PAIRKEY_LEN], const struct oa_header *h, size_t len)
{
	crypto_generichash_state	st;
	size_t				i;

	crypto_generichash_init(&st, kd, PAIRKEY_LEN,
	    crypto_onetimeauth_KEYBYTES);
	crypto_generichash_update(&st, (const uint8_t *)LABEL_MAC,
	    strlen(LABEL_MAC));
	crypto_generichash_update(&st, &h->type, 1);
	crypto_generichash_update(&st, h->o, NODE_ID_LEN);
	crypto_generichash_update(&st, h->p, NODE_ID_LEN);
	put_be64(&st, h->c);
	put_be64(&st, h->q);
	crypto_generichash_update(&st, h->author, NODE_ID_LEN);
	for (i = 0; i < h->nfields; i++) {
		if (h->fields[i].p == NULL) {
			put_be32(&st, FIELD_ABSENT);
			continue;
		}
		/* The small fields of a message, far below 4 GiB. */
		put_be32(&st, (uint32_t)h->fields[i].len);
		crypto_generichash_update(&st, h->fields[i].p,
		    h->fields[i].len);
	}
	put_be64(&st, len);
	crypto_generichash_final(&st, k, crypto_onetimeauth_KEYBYTES);
	sodium_memzero(&st, sizeof(st));
}

void
originauth_mac(uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
    const struct oa_header *h, const uint8_t *body, size_t len)
{
	uint8_t	k[crypto_onetimeauth_KEYBYTES];

	one_time_key(k, kd, h, len);
	crypto_onetimeauth(x, body, len, k);
	sodium_memzero(k, sizeof(k));
}

bool
originauth_mac_ok(const uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
    const struct oa_header *h, const uint8_t *body, size_t len)
{
	uint8_t	k[crypto_onetimeauth_KEYBYTES];
	int	rc;

	one_time_key(k, kd, h, len);
	rc = crypto_onetimeauth_verify(x, body, len, k);
	sodium_memzero(k, sizeof(k));
	return rc == 0;
}

/* Moves every bit n places further from top (0 < n < OA_WINDOW). */
static void
shift(uint64_t *bits, uint64_t n)
{
	size_t		words = OA_WINDOW / 64, w = n / 64, i;
	unsigned	b = n % 64;
	uint64_t	v;

	for (i = words; i-- > 0;) {
		v = 0;
		if (i >= w) {
			v = bits[i - w] << b;
			if (b != 0 && i > w)
				v |= bits[i - w - 1] >> (64 - b);
		}
		bits[i] = v;
	}
}

bool
oa_window_take(struct oa_window *w, uint64_t started, uint64_t q)
{
	uint64_t	d;

	if (w->started != started) {
		memset(w, 0, sizeof(*w));
		w->started = started;
	}
	/* started is read on the author's clock, as q's start is. */
	if (started > UINT64_MAX / 1000000 || q < started * 1000000)
		return false;
	if (q > w->top) {
		if (q - w->top >= OA_WINDOW)
			memset(w->bits, 0, sizeof(w->bits));
		else
			shift(w->bits, q - w->top);
		w->top = q;
		w->bits[0] |= 1;
		return true;
	}
	if ((d = w->top - q) >= OA_WINDOW)
		return false;
	if (w->bits[d / 64] & (UINT64_C(1) << (d % 64)))
		return false;
	w->bits[d / 64] |= UINT64_C(1) << (d % 64);
	return true;
}
