/* SPDX-License-Identifier: ISC */
/*
 * beacon.h: the LAN discovery beacon: a node's ID and mesh port, sealed
 * with a key derived from the network key so that only nodes of the
 * same network can read or forge it.
 *
 * On the wire: version byte (0x01), 24-byte random nonce, then the
 * XChaCha20-Poly1305 ciphertext (associated data: the version byte) of
 * the CBOR map {"v": 1, "id": bytes(32), "port": uint, "ts": uint}.
 */
#ifndef PEERD_BEACON_H
#define PEERD_BEACON_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define BEACON_VERSION		1
#define BEACON_MAX		512	/* bytes on the wire */
#define BEACON_KEY_LEN		32
#define BEACON_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define BEACON_TAG_LEN		crypto_aead_xchacha20poly1305_ietf_ABYTES
#define BEACON_OVERHEAD		(1 + BEACON_NONCE_LEN + BEACON_TAG_LEN)
#define BEACON_PLAIN_MAX	(BEACON_MAX - BEACON_OVERHEAD)
#define BEACON_SKEW		300	/* seconds ts may be off */

/* BLAKE2b-256 keyed with the network key over "peerd/1 beacon". */
void	beacon_key(const uint8_t network_key[32],
	    uint8_t key[BEACON_KEY_LEN]);

/*
 * Seals the beacon of node id, whose mesh listens on port, at unix time
 * now.  Returns its length, or -1 if it does not fit in cap or memory
 * ran out.
 */
ssize_t	beacon_seal(const uint8_t key[BEACON_KEY_LEN],
	    const uint8_t id[32], uint16_t port, uint64_t now, uint8_t *out,
	    size_t cap);

/*
 * Seals any plaintext of at most BEACON_PLAIN_MAX bytes the way
 * beacon_seal() does; for tests.  Length, or -1.
 */
ssize_t	beacon_seal_plain(const uint8_t key[BEACON_KEY_LEN],
	    const uint8_t *plain, size_t len, uint8_t *out, size_t cap);

/*
 * Opens a beacon received at unix time now.  0 with the sender's id and
 * mesh port, or -1 if it is not a well-formed, current beacon sealed
 * with key: wrong length or version, another network, malformed
 * plaintext, or a timestamp more than BEACON_SKEW seconds from now.
 * Unknown keys in the plaintext are ignored.
 */
int	beacon_open(const uint8_t key[BEACON_KEY_LEN],
	    const uint8_t *in, size_t len, uint64_t now, uint8_t id[32],
	    uint16_t *port);
/*
 * beacon_open under each of nkeys keys in turn (a network key and the
 * one it replaced, during a rotation's grace).  The index of the key
 * that opens it, or -1.
 */
int	beacon_open_any(const uint8_t (*keys)[BEACON_KEY_LEN], size_t nkeys,
	    const uint8_t *in, size_t len, uint64_t now, uint8_t id[32],
	    uint16_t *port);

#endif
