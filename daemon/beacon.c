/* SPDX-License-Identifier: ISC */
/*
 * beacon.c: sealing and opening LAN discovery beacons.  Pure functions:
 * no sockets, no clock, no logging.
 */
#include <string.h>

#include <sodium.h>

#include "beacon.h"
#include "cbor_buf.h"
#include "cbor_scan.h"

#define BEACON_CONTEXT		"peerd/1 beacon"
#define BEACON_FIELDS_MAX	16	/* a map with more is refused */

void
beacon_key(const uint8_t network_key[32], uint8_t key[BEACON_KEY_LEN])
{
	/* Keyed hash: the beacon key is not the psk the mesh uses. */
	crypto_generichash(key, BEACON_KEY_LEN,
	    (const unsigned char *)BEACON_CONTEXT, strlen(BEACON_CONTEXT),
	    network_key, 32);
}

ssize_t
beacon_seal_plain(const uint8_t key[BEACON_KEY_LEN], const uint8_t *plain,
    size_t len, uint8_t *out, size_t cap)
{
	unsigned long long	clen;

	if (len > BEACON_PLAIN_MAX || cap < BEACON_OVERHEAD + len)
		return -1;
	out[0] = BEACON_VERSION;
	randombytes_buf(out + 1, BEACON_NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 +
	    BEACON_NONCE_LEN, &clen, plain, len, out, 1, NULL, out + 1,
	    key) != 0)
		return -1;
	return (ssize_t)(1 + BEACON_NONCE_LEN + clen);
}

ssize_t
beacon_seal(const uint8_t key[BEACON_KEY_LEN], const uint8_t id[32],
    uint16_t port, uint64_t now, uint8_t *out, size_t cap)
{
	struct cbor_buf	b = { 0 };
	ssize_t		n = -1;

	cbor_put_map(&b, 4);
	cbor_put_text(&b, "v");
	cbor_put_uint(&b, BEACON_VERSION);
	cbor_put_text(&b, "id");
	cbor_put_bytes(&b, id, 32);
	cbor_put_text(&b, "port");
	cbor_put_uint(&b, port);
	cbor_put_text(&b, "ts");
	cbor_put_uint(&b, now);
	if (!b.failed)
		n = beacon_seal_plain(key, b.data, b.len, out, cap);
	cbor_buf_free(&b);
	return n;
}

int
beacon_open(const uint8_t key[BEACON_KEY_LEN], const uint8_t *in,
    size_t len, uint64_t now, uint8_t id[32], uint16_t *port)
{
	uint8_t			 plain[BEACON_PLAIN_MAX];
	struct cbor_field	 f[BEACON_FIELDS_MAX];
	const struct cbor_field	*v;
	const uint8_t		*p;
	unsigned long long	 plen;
	uint64_t		 u, ts;
	size_t			 n;
	int			 nf;

	if (len < BEACON_OVERHEAD || len > BEACON_MAX ||
	    in[0] != BEACON_VERSION)
		return -1;
	/* A failed tag is the usual case: a beacon of another network. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL,
	    in + 1 + BEACON_NONCE_LEN, len - 1 - BEACON_NONCE_LEN, in, 1,
	    in + 1, key) != 0)
		return -1;
	if ((nf = cbor_scan_map(plain, (size_t)plen, f,
	    BEACON_FIELDS_MAX)) == -1)
		return -1;
	if ((v = cbor_field_get(f, nf, "v")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &u) || u != BEACON_VERSION)
		return -1;
	if ((v = cbor_field_get(f, nf, "id")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &p, &n) || n != 32)
		return -1;
	if ((v = cbor_field_get(f, nf, "port")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &u) || u == 0 || u > 65535)
		return -1;
	/*
	 * A replay inside the window only makes us dial a node that must
	 * still complete the handshake; outside it, the beacon is refused.
	 */
	if ((v = cbor_field_get(f, nf, "ts")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &ts) ||
	    (ts > now ? ts - now : now - ts) > BEACON_SKEW)
		return -1;
	memcpy(id, p, 32);
	*port = (uint16_t)u;
	return 0;
}

int
beacon_open_any(const uint8_t (*keys)[BEACON_KEY_LEN], size_t nkeys,
    const uint8_t *in, size_t len, uint64_t now, uint8_t id[32],
    uint16_t *port)
{
	size_t	i;

	for (i = 0; i < nkeys; i++)
		if (beacon_open(keys[i], in, len, now, id, port) == 0)
			return (int)i;
	return -1;
}
