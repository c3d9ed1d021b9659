/* SPDX-License-Identifier: ISC */
/*
 * Noise_XX, Noise_XXpsk3, Noise_XXpsk0 and Noise_NNpsk0 with 25519,
 * ChaChaPoly and BLAKE2b: the symmetric state (HMAC/HKDF as in the Noise
 * spec, section 4.3), the handshake state machine and the transport
 * cipher states.  peerd's links use XXpsk0, because with the psk mixed in
 * first no static key is revealed to a peer without the network key.
 *
 * ChaCha20-Poly1305 comes from two libraries that produce the same bytes:
 * libsodium for short messages, OpenSSL's libcrypto for the rest, which
 * it encrypts two to three times as fast on x86-64 (bench/README.md).
 */

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "evp.h"
#include "noise.h"

#define HASHLEN		NOISE_HASH_LEN
#define BLOCKLEN	128		/* BLAKE2b block size, for HMAC */
#define DHLEN		32
#define NONCELEN	12
#define MAXMSGS		3		/* handshake messages in any pattern */
#define MAXTOKENS	5		/* per message, T_END included */
/*
 * Below this many plaintext bytes libsodium is the faster: OpenSSL's
 * fixed cost a message (parameter plumbing, a wide ChaCha20 core run for
 * the Poly1305 key and again for the data) outweighs its speed per byte.
 * OpenSSL is loaded by the first message of AEAD_EVP_LOAD bytes: one
 * that carries only gossip and pings never pays for it (see evp.h).
 */
#define AEAD_EVP_MIN	128
#define AEAD_EVP_LOAD	(16 << 10)

enum token {
	T_END = 0,
	T_E,
	T_S,
	T_EE,
	T_ES,
	T_SE,
	T_PSK,
};

/*
 * Token lists, one row per handshake message, each ended by T_END; rows
 * past a pattern's message count stay empty.
 */
static const enum token xx_msgs[MAXMSGS][MAXTOKENS] = {
	{ T_E },
	{ T_E, T_EE, T_S, T_ES },
	{ T_S, T_SE },
};
static const enum token xxpsk3_msgs[MAXMSGS][MAXTOKENS] = {
	{ T_E },
	{ T_E, T_EE, T_S, T_ES },
	{ T_S, T_SE, T_PSK },
};
static const enum token xxpsk0_msgs[MAXMSGS][MAXTOKENS] = {
	{ T_PSK, T_E },
	{ T_E, T_EE, T_S, T_ES },
	{ T_S, T_SE },
};
static const enum token nnpsk0_msgs[MAXMSGS][MAXTOKENS] = {
	{ T_PSK, T_E },
	{ T_E, T_EE },
};

static const struct pattern {
	const char		*name;
	const enum token	(*msgs)[MAXTOKENS];
	int			 nmsgs;
	bool			 psk;
} patterns[] = {
	[NOISE_XX] = {
		"Noise_XX_25519_ChaChaPoly_BLAKE2b", xx_msgs, 3, false },
	[NOISE_XXPSK3] = {
		"Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", xxpsk3_msgs, 3, true },
	[NOISE_XXPSK0] = {
		"Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b", xxpsk0_msgs, 3, true },
	[NOISE_NNPSK0] = {
		"Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b", nnpsk0_msgs, 2, true },
};

struct noise_hs {
	const enum token	(*msgs)[MAXTOKENS];
	int			 nmsgs;		/* handshake messages */
	bool			 initiator;
	bool			 psk_mode;
	bool			 failed;
	bool			 split;
	bool			 has_re;
	bool			 has_rs;
	int			 msg;		/* next message index */

	/* symmetric state */
	bool			 has_key;
	struct noise_cipher	 cs;
	uint8_t			 ck[HASHLEN];
	uint8_t			 h[HASHLEN];

	uint8_t			 s_priv[DHLEN];
	uint8_t			 s_pub[DHLEN];
	uint8_t			 e_priv[DHLEN];
	uint8_t			 e_pub[DHLEN];
	uint8_t			 rs[DHLEN];
	uint8_t			 re[DHLEN];
	uint8_t			 psk[NOISE_PSK_LEN];
};

/* Non-NULL stand-in for empty buffers handed to libsodium or memcpy. */
static const uint8_t empty[1];

static void
nonce_bytes(uint8_t out[NONCELEN], uint64_t n)
{
	int	i;

	/* 32 zero bits, then the counter little-endian */
	memset(out, 0, 4);
	for (i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

/*
 * The cipher's OpenSSL context, keyed with c->k the first time; NULL if
 * libsodium does a message of ptlen bytes.
 */
static struct evp_aead *
cipher_evp(struct noise_cipher *c, size_t ptlen)
{
	if (ptlen < AEAD_EVP_MIN ||
	    !(evp_loaded() || (ptlen >= AEAD_EVP_LOAD && evp_load())))
		return NULL;
	if (c->evp == NULL)
		c->evp = evp_aead_new(c->k);
	return c->evp;
}

/*
 * ENCRYPT/DECRYPT of CipherState.  n == 2^64-1 is reserved by Noise, so
 * it counts as exhausted.  Callers check lengths and capacities and keep
 * messages within NOISE_MAX_MSG_LEN, which fits an int for EVP.
 */
static int
cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t			 nonce[NONCELEN];
	unsigned long long	 clen;
	struct evp_aead		*evp;

	if (c->n == UINT64_MAX)
		return -1;
	nonce_bytes(nonce, c->n);
	if ((evp = cipher_evp(c, ptlen)) == NULL)
		crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen,
		    ptlen ? pt : empty, ptlen, adlen ? ad : empty, adlen, NULL,
		    nonce, c->k);
	else if (evp_aead_seal(evp, nonce, ad, adlen, pt, ptlen, out) != 0)
		return -1;
	c->n++;
	return 0;
}

static int
cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	uint8_t			 nonce[NONCELEN];
	unsigned long long	 mlen;
	struct evp_aead		*evp;

	if (c->n == UINT64_MAX || ctlen < NOISE_TAG_LEN)
		return -1;
	nonce_bytes(nonce, c->n);
	if ((evp = cipher_evp(c, ctlen - NOISE_TAG_LEN)) == NULL) {
		/* libsodium writes out only once the tag checks */
		if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen,
		    NULL, ct, ctlen, adlen ? ad : empty, adlen, nonce,
		    c->k) != 0)
			return -1;
	} else if (evp_aead_open(evp, nonce, ad, adlen, ct, ctlen, out) != 0)
		return -1;
	/* only a good message consumes a nonce */
	c->n++;
	return 0;
}

/*
 * HMAC (RFC 2104) over BLAKE2b-512, fed d1 || d2.  Keys here are at most
 * HASHLEN bytes, so the key never needs hashing down.
 */
static void
hmac_blake2b(uint8_t out[HASHLEN], const uint8_t *key, size_t keylen,
    const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2)
{
	crypto_generichash_state	st;
	uint8_t				pad[BLOCKLEN];
	uint8_t				inner[HASHLEN];
	size_t				i;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	crypto_generichash_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	if (l1 > 0)
		crypto_generichash_update(&st, d1, l1);
	if (l2 > 0)
		crypto_generichash_update(&st, d2, l2);
	crypto_generichash_final(&st, inner, sizeof(inner));

	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, HASHLEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/* HKDF as in the Noise spec; o3 may be NULL for two outputs. */
static void
hkdf(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikmlen,
    uint8_t o1[HASHLEN], uint8_t o2[HASHLEN], uint8_t *o3)
{
	static const uint8_t	one = 1, two = 2, three = 3;
	uint8_t			tk[HASHLEN];

	hmac_blake2b(tk, ck, HASHLEN, ikm, ikmlen, NULL, 0);
	hmac_blake2b(o1, tk, HASHLEN, &one, 1, NULL, 0);
	hmac_blake2b(o2, tk, HASHLEN, o1, HASHLEN, &two, 1);
	if (o3 != NULL)
		hmac_blake2b(o3, tk, HASHLEN, o2, HASHLEN, &three, 1);
	sodium_memzero(tk, sizeof(tk));
}

static void
mix_hash(struct noise_hs *hs, const uint8_t *data, size_t len)
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_update(&st, hs->h, HASHLEN);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, hs->h, HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

static void
set_key(struct noise_hs *hs, const uint8_t *k)
{
	/* the next use keys a new context */
	noise_cipher_clear(&hs->cs);
	memcpy(hs->cs.k, k, NOISE_KEY_LEN);
	hs->has_key = true;
}

static void
mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t	o1[HASHLEN], o2[HASHLEN];

	hkdf(hs->ck, ikm, len, o1, o2, NULL);
	memcpy(hs->ck, o1, HASHLEN);
	set_key(hs, o2);		/* truncated to 32 bytes */
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}

static void
mix_key_and_hash(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t	o1[HASHLEN], o2[HASHLEN], o3[HASHLEN];

	hkdf(hs->ck, ikm, len, o1, o2, o3);
	memcpy(hs->ck, o1, HASHLEN);
	mix_hash(hs, o2, HASHLEN);
	set_key(hs, o3);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	sodium_memzero(o3, sizeof(o3));
}

/* Writes len (+ tag once keyed) bytes to out; returns bytes written. */
static ssize_t
encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t len,
    uint8_t *out)
{
	size_t	outlen = len;

	if (hs->has_key) {
		if (cipher_encrypt(&hs->cs, hs->h, HASHLEN, pt, len, out) != 0)
			return -1;
		outlen += NOISE_TAG_LEN;
	} else if (len > 0)
		memcpy(out, pt, len);
	mix_hash(hs, out, outlen);
	return (ssize_t)outlen;
}

/* len is the wire length; out must hold len (- tag once keyed) bytes. */
static int
decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len,
    uint8_t *out)
{
	if (hs->has_key) {
		if (cipher_decrypt(&hs->cs, hs->h, HASHLEN, ct, len, out) != 0)
			return -1;
	} else if (len > 0)
		memcpy(out, ct, len);
	mix_hash(hs, ct, len);
	return 0;
}

static int
dh(struct noise_hs *hs, enum token t)
{
	const uint8_t	*priv, *pub;
	uint8_t		 shared[DHLEN];
	bool		 local_e;
	int		 ret;

	/* es: initiator's e with responder's s; se: the reverse */
	switch (t) {
	case T_EE:
		priv = hs->e_priv;
		pub = hs->has_re ? hs->re : NULL;
		break;
	case T_ES:
		local_e = hs->initiator;
		priv = local_e ? hs->e_priv : hs->s_priv;
		pub = local_e ? (hs->has_rs ? hs->rs : NULL) :
		    (hs->has_re ? hs->re : NULL);
		break;
	case T_SE:
		local_e = !hs->initiator;
		priv = local_e ? hs->e_priv : hs->s_priv;
		pub = local_e ? (hs->has_rs ? hs->rs : NULL) :
		    (hs->has_re ? hs->re : NULL);
		break;
	default:
		return -1;
	}
	if (pub == NULL)
		return -1;
	/* rejects low-order points, whose result would be all zeros */
	ret = crypto_scalarmult(shared, priv, pub);
	if (ret == 0)
		mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return ret == 0 ? 0 : -1;
}

/* Bytes of the current message besides the payload (tag included). */
static size_t
msg_overhead(const struct noise_hs *hs)
{
	const enum token	*t;
	bool			 keyed = hs->has_key;
	size_t			 n = 0;

	for (t = hs->msgs[hs->msg]; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			n += DHLEN;
			if (hs->psk_mode)
				keyed = true;
			break;
		case T_S:
			n += DHLEN + (keyed ? (size_t)NOISE_TAG_LEN : 0);
			break;
		default:
			keyed = true;
			break;
		}
	}
	return n + (keyed ? (size_t)NOISE_TAG_LEN : 0);
}

static bool
my_turn(const struct noise_hs *hs)
{
	return ((hs->msg % 2) == 0) == hs->initiator;
}

struct noise_hs *
noise_hs_new(enum noise_pattern pattern, bool initiator,
    const void *prologue, size_t prologue_len,
    const uint8_t s_priv[NOISE_KEY_LEN], const uint8_t *psk,
    const uint8_t *fixed_e_priv)
{
	const struct pattern	*pat;
	struct noise_hs		*hs;
	size_t			 namelen;

	if (s_priv == NULL || (prologue == NULL && prologue_len > 0))
		return NULL;
	if ((size_t)pattern >= sizeof(patterns) / sizeof(patterns[0]))
		return NULL;
	pat = &patterns[pattern];
	/* refuse a psk that would silently go unused */
	if (pat->psk != (psk != NULL))
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;

	hs->msgs = pat->msgs;
	hs->nmsgs = pat->nmsgs;
	hs->initiator = initiator;
	hs->psk_mode = pat->psk;
	if (psk != NULL)
		memcpy(hs->psk, psk, NOISE_PSK_LEN);

	memcpy(hs->s_priv, s_priv, DHLEN);
	crypto_scalarmult_base(hs->s_pub, hs->s_priv);
	if (fixed_e_priv != NULL)
		memcpy(hs->e_priv, fixed_e_priv, DHLEN);
	else
		randombytes_buf(hs->e_priv, DHLEN);
	crypto_scalarmult_base(hs->e_pub, hs->e_priv);

	/* InitializeSymmetric: all names fit in HASHLEN, so pad them */
	namelen = strlen(pat->name);
	memcpy(hs->h, pat->name, namelen);
	memcpy(hs->ck, hs->h, HASHLEN);
	mix_hash(hs, prologue, prologue_len);
	return hs;
}

void
noise_hs_free(struct noise_hs *hs)
{
	if (hs == NULL)
		return;
	noise_cipher_clear(&hs->cs);
	sodium_memzero(hs, sizeof(*hs));
	free(hs);
}

ssize_t
noise_hs_write(struct noise_hs *hs, const void *payload, size_t plen,
    uint8_t *out, size_t outcap)
{
	const enum token	*t;
	uint8_t			*p = out;
	size_t			 overhead, total;
	ssize_t			 n;

	if (hs == NULL || out == NULL || (payload == NULL && plen > 0))
		return -1;
	if (hs->failed || hs->msg >= hs->nmsgs || !my_turn(hs))
		return -1;
	overhead = msg_overhead(hs);
	if (plen > NOISE_MAX_MSG_LEN - overhead)
		return -1;
	total = overhead + plen;
	if (total > outcap)
		return -1;

	for (t = hs->msgs[hs->msg]; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			memcpy(p, hs->e_pub, DHLEN);
			mix_hash(hs, hs->e_pub, DHLEN);
			/* psk handshakes also key on e */
			if (hs->psk_mode)
				mix_key(hs, hs->e_pub, DHLEN);
			p += DHLEN;
			break;
		case T_S:
			if ((n = encrypt_and_hash(hs, hs->s_pub, DHLEN, p)) < 0)
				goto fail;
			p += n;
			break;
		case T_PSK:
			mix_key_and_hash(hs, hs->psk, NOISE_PSK_LEN);
			break;
		default:
			if (dh(hs, *t) != 0)
				goto fail;
			break;
		}
	}
	if ((n = encrypt_and_hash(hs, payload, plen, p)) < 0)
		goto fail;
	p += n;
	hs->msg++;
	return (ssize_t)(p - out);

fail:
	hs->failed = true;
	return -1;
}

ssize_t
noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t len,
    uint8_t *payload, size_t cap)
{
	const enum token	*t;
	const uint8_t		*p = msg;
	size_t			 overhead, rest, plen, slen;

	if (hs == NULL || hs->failed || hs->msg >= hs->nmsgs || my_turn(hs))
		return -1;
	if (msg == NULL || len > NOISE_MAX_MSG_LEN)
		goto fail;
	overhead = msg_overhead(hs);
	if (len < overhead)
		goto fail;
	plen = len - overhead;
	if (plen > cap || (payload == NULL && plen > 0))
		goto fail;

	for (t = hs->msgs[hs->msg]; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			memcpy(hs->re, p, DHLEN);
			hs->has_re = true;
			mix_hash(hs, hs->re, DHLEN);
			if (hs->psk_mode)
				mix_key(hs, hs->re, DHLEN);
			p += DHLEN;
			break;
		case T_S:
			slen = DHLEN;
			if (hs->has_key)
				slen += NOISE_TAG_LEN;
			if (decrypt_and_hash(hs, p, slen, hs->rs) != 0)
				goto fail;
			hs->has_rs = true;
			p += slen;
			break;
		case T_PSK:
			mix_key_and_hash(hs, hs->psk, NOISE_PSK_LEN);
			break;
		default:
			if (dh(hs, *t) != 0)
				goto fail;
			break;
		}
	}
	/* what is left is the payload, with its tag once keyed */
	rest = len - (size_t)(p - msg);
	if (decrypt_and_hash(hs, p, rest, plen > 0 ? payload : NULL) != 0)
		goto fail;
	hs->msg++;
	return (ssize_t)plen;

fail:
	hs->failed = true;
	return -1;
}

int
noise_hs_read_first(struct noise_hs **out, enum noise_pattern pattern,
    const void *prologue, size_t prologue_len,
    const uint8_t s_priv[NOISE_KEY_LEN], const uint8_t (*psks)[NOISE_PSK_LEN],
    size_t npsk, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap,
    size_t *plen)
{
	struct noise_hs	*hs;
	uint8_t		 e_priv[DHLEN];
	ssize_t		 n;
	size_t		 i;

	*out = NULL;
	if (npsk > NOISE_PSK_CANDIDATES || psks == NULL)
		return -1;
	/* One ephemeral key: a failed candidate never sent it. */
	randombytes_buf(e_priv, sizeof(e_priv));
	for (i = 0; i < npsk; i++) {
		if ((hs = noise_hs_new(pattern, false, prologue, prologue_len,
		    s_priv, psks[i], e_priv)) == NULL)
			break;
		if ((n = noise_hs_read(hs, msg, len, payload, cap)) >= 0) {
			sodium_memzero(e_priv, sizeof(e_priv));
			*plen = (size_t)n;
			*out = hs;
			return (int)i;
		}
		noise_hs_free(hs);
	}
	sodium_memzero(e_priv, sizeof(e_priv));
	return -1;
}

int
noise_hs_export(const struct noise_hs *hs, const char *label,
    uint8_t out[NOISE_KEY_LEN])
{
	uint8_t	ikm[HASHLEN + NOISE_LABEL_MAX], o1[HASHLEN], o2[HASHLEN];
	size_t	llen;

	if (hs == NULL || hs->failed || hs->split || label == NULL ||
	    (llen = strlen(label)) > NOISE_LABEL_MAX)
		return -1;
	memcpy(ikm, hs->h, HASHLEN);
	memcpy(ikm + HASHLEN, label, llen);
	hkdf(hs->ck, ikm, HASHLEN + llen, o1, o2, NULL);
	memcpy(out, o1, NOISE_KEY_LEN);
	sodium_memzero(ikm, sizeof(ikm));
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	return 0;
}

bool
noise_hs_done(const struct noise_hs *hs)
{
	return hs != NULL && !hs->failed && hs->msg == hs->nmsgs;
}

int
noise_hs_split(struct noise_hs *hs, struct noise_cipher *send,
    struct noise_cipher *recv)
{
	uint8_t	o1[HASHLEN], o2[HASHLEN];

	if (!noise_hs_done(hs) || hs->split || send == NULL || recv == NULL)
		return -1;
	hkdf(hs->ck, NULL, 0, o1, o2, NULL);
	/* the first key protects initiator-to-responder traffic */
	memcpy(send->k, hs->initiator ? o1 : o2, NOISE_KEY_LEN);
	memcpy(recv->k, hs->initiator ? o2 : o1, NOISE_KEY_LEN);
	send->n = recv->n = 0;
	send->evp = recv->evp = NULL;
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));

	/* keep only what callers may still ask for: h and rs */
	sodium_memzero(hs->ck, sizeof(hs->ck));
	noise_cipher_clear(&hs->cs);
	sodium_memzero(hs->s_priv, sizeof(hs->s_priv));
	sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
	sodium_memzero(hs->psk, sizeof(hs->psk));
	hs->has_key = false;
	hs->split = true;
	return 0;
}

const uint8_t *
noise_hs_remote_static(const struct noise_hs *hs)
{
	if (hs == NULL || hs->failed || !hs->has_rs)
		return NULL;
	return hs->rs;
}

const uint8_t *
noise_hs_hash(const struct noise_hs *hs)
{
	if (!noise_hs_done(hs))
		return NULL;
	return hs->h;
}

ssize_t
noise_encrypt(struct noise_cipher *c, const void *ad, size_t adlen,
    const void *pt, size_t ptlen, uint8_t *out, size_t outcap)
{
	if (c == NULL || out == NULL || (ad == NULL && adlen > 0) ||
	    (pt == NULL && ptlen > 0))
		return -1;
	if (ptlen > NOISE_MAX_PAYLOAD_LEN || outcap < ptlen + NOISE_TAG_LEN)
		return -1;
	if (cipher_encrypt(c, ad, adlen, pt, ptlen, out) != 0)
		return -1;
	return (ssize_t)(ptlen + NOISE_TAG_LEN);
}

ssize_t
noise_decrypt(struct noise_cipher *c, const void *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out, size_t outcap)
{
	size_t	ptlen;

	if (c == NULL || ct == NULL || (ad == NULL && adlen > 0))
		return -1;
	if (ctlen < NOISE_TAG_LEN || ctlen > NOISE_MAX_MSG_LEN)
		return -1;
	ptlen = ctlen - NOISE_TAG_LEN;
	if (ptlen > outcap || (out == NULL && ptlen > 0))
		return -1;
	if (cipher_decrypt(c, ad, adlen, ct, ctlen, out) != 0)
		return -1;
	return (ssize_t)ptlen;
}

void
noise_cipher_clear(struct noise_cipher *c)
{
	if (c == NULL)
		return;
	evp_aead_free(c->evp);
	sodium_memzero(c, sizeof(*c));
}
