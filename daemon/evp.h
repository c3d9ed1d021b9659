/* SPDX-License-Identifier: ISC */
/*
 * evp.h: OpenSSL's ChaCha20-Poly1305 (RFC 8439), the same AEAD as
 * libsodium's and about three times as fast on long messages.
 * libcrypto is loaded at run time, the first time a message is long
 * enough to be worth it: linked in, it would add 1.7 MB to every
 * daemon's memory, most of which only ever sees short messages.
 */
#ifndef PEERD_EVP_H
#define PEERD_EVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVP_AEAD_KEY_LEN	32
#define EVP_AEAD_NONCE_LEN	12
#define EVP_AEAD_TAG_LEN	16

struct evp_aead;

/* Loads libcrypto, once; true if it is loaded.  Says once if not. */
bool		 evp_load(void);
bool		 evp_loaded(void);
/* A context keyed with key, or NULL (not loaded, out of memory). */
struct evp_aead	*evp_aead_new(const uint8_t key[EVP_AEAD_KEY_LEN]);
/* Frees a context; OpenSSL wipes its copy of the key. */
void		 evp_aead_free(struct evp_aead *);
/*
 * Seals pt (ptlen < INT_MAX) into out: ptlen bytes and the tag.  out
 * may be pt.  0, or -1.
 */
int		 evp_aead_seal(struct evp_aead *,
		    const uint8_t nonce[EVP_AEAD_NONCE_LEN], const uint8_t *ad,
		    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out);
/*
 * Opens ct (ctlen >= EVP_AEAD_TAG_LEN, the tag last) into out, which
 * may be ct.  0, or -1 with out wiped: OpenSSL writes the plaintext
 * before it checks the tag (in constant time).
 */
int		 evp_aead_open(struct evp_aead *,
		    const uint8_t nonce[EVP_AEAD_NONCE_LEN], const uint8_t *ad,
		    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out);

#endif
