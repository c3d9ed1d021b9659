/* SPDX-License-Identifier: ISC */
/*
 * Noise handshake and transport encryption for peer links, built on
 * libsodium primitives, with OpenSSL's libcrypto for ChaCha20-Poly1305 on
 * all but short messages.  Patterns, all with 25519, ChaChaPoly and
 * BLAKE2b:
 *
 *	NOISE_XX	Noise_XX: no psk
 *	NOISE_XXPSK3	Noise_XXpsk3: psk mixed in at the end of message 3
 *	NOISE_XXPSK0	Noise_XXpsk0: psk mixed in before message 1
 *	NOISE_NNPSK0	Noise_NNpsk0: two messages, no static keys
 *
 * peerd's links use NOISE_XXPSK0 with the network key as psk: every
 * static key is encrypted under the psk, so no static key is revealed to
 * a peer without the network key.  (In XXpsk3 both static keys travel
 * before the psk is mixed in.)
 *
 * Usage: create a handshake with noise_hs_new(), then alternate
 * noise_hs_write() and noise_hs_read() (the initiator writes first) until
 * noise_hs_done(); then noise_hs_split() yields the two transport ciphers
 * and noise_hs_remote_static() the authenticated peer key.  Any failed
 * read aborts the handshake for good; start over with a new state.
 */

#ifndef PEERD_NOISE_H
#define PEERD_NOISE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY_LEN		32	/* X25519 keys, cipher keys, psk */
#define NOISE_PSK_LEN		32
#define NOISE_HASH_LEN		64	/* BLAKE2b-512 */
#define NOISE_TAG_LEN		16	/* Poly1305 tag */
#define NOISE_MAX_MSG_LEN	65535	/* Noise limit on any message */
#define NOISE_MAX_PAYLOAD_LEN	(NOISE_MAX_MSG_LEN - NOISE_TAG_LEN)

enum noise_pattern {
	NOISE_XX,
	NOISE_XXPSK3,
	NOISE_XXPSK0,
	NOISE_NNPSK0,
};

/* Opaque handshake state. */
struct noise_hs;

struct evp_aead;

/*
 * Transport cipher state.  Fields are visible so callers can embed it;
 * treat them as private and wipe with noise_cipher_clear() when done,
 * which also frees evp.  A state is set up by noise_hs_split() or, in
 * tests, zeroed and then given k and n.
 */
struct noise_cipher {
	uint8_t			 k[NOISE_KEY_LEN];
	uint64_t		 n;
	struct evp_aead		*evp;	/* OpenSSL's, keyed on first use */
};

/*
 * Start a handshake.  s_priv is our static X25519 private key; it is
 * always required, though NOISE_NNPSK0 never sends it.  psk (32 bytes) is
 * required for the psk patterns and must be NULL for NOISE_XX.
 * fixed_e_priv is for test vectors only; pass NULL to draw a fresh
 * ephemeral key.  Inputs are copied.  Returns NULL on bad arguments or if
 * libsodium cannot be initialised.
 */
struct noise_hs	*noise_hs_new(enum noise_pattern pattern, bool initiator,
		    const void *prologue, size_t prologue_len,
		    const uint8_t s_priv[NOISE_KEY_LEN], const uint8_t *psk,
		    const uint8_t *fixed_e_priv);

/* Wipe and free; NULL is fine. */
void		 noise_hs_free(struct noise_hs *hs);

/*
 * Write our next handshake message carrying payload into out.  Returns
 * the message length, or -1 if it is not our turn, the handshake is over
 * or aborted, out is too small or the message would exceed
 * NOISE_MAX_MSG_LEN.  payload and out must not overlap.
 */
ssize_t		 noise_hs_write(struct noise_hs *hs, const void *payload,
		    size_t plen, uint8_t *out, size_t outcap);

/*
 * Read the peer's next handshake message and write its payload into
 * payload (capacity cap).  Returns the payload length, or -1 on a wrong
 * turn, bad length, too small a buffer, bad key or failed authentication.
 * Any failure other than a wrong turn aborts the handshake.
 */
ssize_t		 noise_hs_read(struct noise_hs *hs, const uint8_t *msg,
		    size_t len, uint8_t *payload, size_t cap);

/*
 * The responder's first read when message 1 may be under any of npsk
 * psks (a network key during its rotation): a handshake is started for
 * each in turn (as noise_hs_new, the responder, one ephemeral key for
 * all) until one reads msg; that one is kept in *out.  The index of its
 * psk with the payload's length in *plen, or -1 if none reads it (*out
 * NULL).  npsk is at most NOISE_PSK_CANDIDATES.
 */
#define NOISE_PSK_CANDIDATES	8
int		 noise_hs_read_first(struct noise_hs **out,
		    enum noise_pattern pattern, const void *prologue,
		    size_t prologue_len, const uint8_t s_priv[NOISE_KEY_LEN],
		    const uint8_t (*psks)[NOISE_PSK_LEN], size_t npsk,
		    const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t cap, size_t *plen);

/*
 * 32 bytes bound to the handshake so far (its chaining key and hash)
 * and to label, the same on both sides once both have the same
 * messages: for a word outside the handshake's own.  0, or -1 once
 * split or failed, or with a label over NOISE_LABEL_MAX bytes.
 */
#define NOISE_LABEL_MAX		64
int		 noise_hs_export(const struct noise_hs *hs, const char *label,
		    uint8_t out[NOISE_KEY_LEN]);

/* True once all handshake messages have been written and read. */
bool		 noise_hs_done(const struct noise_hs *hs);

/*
 * After the handshake: derive our send and receive transport ciphers and
 * wipe the chaining key.  send and recv are overwritten, so they must
 * not hold a state that noise_cipher_clear() has not cleared.  Allowed
 * once; returns 0, or -1 if the handshake is not done or was already
 * split.
 */
int		 noise_hs_split(struct noise_hs *hs, struct noise_cipher *send,
		    struct noise_cipher *recv);

/*
 * Peer static public key (32 bytes), or NULL until it has been received;
 * always NULL for NOISE_NNPSK0, which carries none.
 */
const uint8_t	*noise_hs_remote_static(const struct noise_hs *hs);

/* Handshake hash (NOISE_HASH_LEN bytes) once done, else NULL. */
const uint8_t	*noise_hs_hash(const struct noise_hs *hs);

/*
 * Encrypt one transport message: out receives ptlen + NOISE_TAG_LEN
 * bytes.  Returns that length, or -1 if outcap is too small, the message
 * would exceed NOISE_MAX_MSG_LEN, the nonce is exhausted or memory ran
 * out.  out may equal pt.
 */
ssize_t		 noise_encrypt(struct noise_cipher *c, const void *ad,
		    size_t adlen, const void *pt, size_t ptlen, uint8_t *out,
		    size_t outcap);

/*
 * Decrypt one transport message: out receives ctlen - NOISE_TAG_LEN
 * bytes.  Returns that length, or -1 on bad length, small outcap,
 * exhausted nonce, failed authentication or no memory; a failure leaves
 * the nonce unchanged and no plaintext in out (it may be zeroed, and
 * with out equal to ct the message is then lost).  out may equal ct.
 */
ssize_t		 noise_decrypt(struct noise_cipher *c, const void *ad,
		    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out,
		    size_t outcap);

/* Free what the cipher holds and wipe it; NULL is fine. */
void		 noise_cipher_clear(struct noise_cipher *c);

#endif /* PEERD_NOISE_H */
