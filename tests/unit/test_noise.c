/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemon/noise.c: byte-exact checks against the cacophony
 * XX, XXpsk3 and NNpsk0 (25519, ChaChaPoly, BLAKE2b) vectors, plus
 * tampering, wrong psk, static key secrecy, replay, length limit and
 * misuse cases.
 */

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <sodium.h>

#include "evp.h"
#include "noise.h"

#define VECTORS_DEFAULT	"tests/unit/data/noise-vectors.json"
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Every pattern noise.c offers, with what the tests need to know of it. */
static const struct pat_info {
	enum noise_pattern	 pat;
	const char		*name;		/* cacophony protocol_name */
	int			 nmsgs;		/* handshake messages */
	bool			 psk;
	bool			 statics;	/* static keys exchanged */
	bool			 vector;	/* vector file must have it */
} pats[] = {
	{ NOISE_XX, "Noise_XX_25519_ChaChaPoly_BLAKE2b", 3, false, true,
	    true },
	{ NOISE_XXPSK3, "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", 3, true,
	    true, true },
	/* cacophony has no XXpsk0 vector */
	{ NOISE_XXPSK0, "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b", 3, true,
	    true, false },
	{ NOISE_NNPSK0, "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b", 2, true,
	    false, true },
};

static const struct pat_info *
pat_info(enum noise_pattern pat)
{
	size_t	i;

	for (i = 0; i < nitems(pats); i++)
		if (pats[i].pat == pat)
			return &pats[i];
	ck_abort_msg("unknown pattern %d", (int)pat);
	return NULL;
}

/* Large scratch buffers live here rather than on the stack. */
static uint8_t	msgbuf[NOISE_MAX_MSG_LEN + 1];
static uint8_t	plbuf[NOISE_MAX_MSG_LEN + 1];
static uint8_t	bigbuf[NOISE_MAX_MSG_LEN + 1];

static size_t
hex_field(json_t *obj, const char *key, uint8_t *out, size_t cap)
{
	const char	*hex, *end;
	size_t		 len;
	json_t		*v;

	v = json_object_get(obj, key);
	ck_assert_msg(json_is_string(v), "vector field %s missing", key);
	hex = json_string_value(v);
	ck_assert_msg(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len,
	    &end) == 0 && *end == '\0', "vector field %s: bad hex", key);
	return len;
}

/* Single psk of a vector side, or false if the vector has none. */
static bool
psk_field(json_t *obj, const char *key, uint8_t out[NOISE_PSK_LEN])
{
	const char	*hex, *end;
	size_t		 len;
	json_t		*arr, *v;

	arr = json_object_get(obj, key);
	if (arr == NULL)
		return false;
	ck_assert_msg(json_is_array(arr) && json_array_size(arr) == 1,
	    "%s: expected one psk", key);
	v = json_array_get(arr, 0);
	ck_assert(json_is_string(v));
	hex = json_string_value(v);
	ck_assert(sodium_hex2bin(out, NOISE_PSK_LEN, hex, strlen(hex), NULL,
	    &len, &end) == 0 && *end == '\0');
	ck_assert_uint_eq(len, NOISE_PSK_LEN);
	return true;
}

static void
run_vector(json_t *v, const struct pat_info *pi)
{
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_cipher	*enc, *dec;
	struct noise_hs		*init, *resp, *snd, *rcv;
	uint8_t			 ipro[256], rpro[256];
	uint8_t			 is[32], ie[32], rs[32], re[32];
	uint8_t			 ipsk[NOISE_PSK_LEN], rpsk[NOISE_PSK_LEN];
	uint8_t			 ipub[32], rpub[32], hash[NOISE_HASH_LEN];
	uint8_t			 pl[1024], ct[1024];
	size_t			 iprolen, rprolen, plen, ctlen, i, nmsg;
	size_t			 nhs = (size_t)pi->nmsgs;
	const char		*name = pi->name;
	ssize_t			 n;
	bool			 has_ipsk, has_rpsk, split = false;
	json_t			*msgs, *m;

	iprolen = hex_field(v, "init_prologue", ipro, sizeof(ipro));
	rprolen = hex_field(v, "resp_prologue", rpro, sizeof(rpro));
	ck_assert_uint_eq(hex_field(v, "init_ephemeral", ie, sizeof(ie)), 32);
	ck_assert_uint_eq(hex_field(v, "resp_ephemeral", re, sizeof(re)), 32);
	if (pi->statics) {
		ck_assert_uint_eq(hex_field(v, "init_static", is, sizeof(is)),
		    32);
		ck_assert_uint_eq(hex_field(v, "resp_static", rs, sizeof(rs)),
		    32);
	} else {
		/* callers always pass a static key; NN must not use it */
		ck_assert_msg(json_object_get(v, "init_static") == NULL &&
		    json_object_get(v, "resp_static") == NULL,
		    "%s: unexpected static key", name);
		randombytes_buf(is, sizeof(is));
		randombytes_buf(rs, sizeof(rs));
	}
	has_ipsk = psk_field(v, "init_psks", ipsk);
	has_rpsk = psk_field(v, "resp_psks", rpsk);
	ck_assert_msg(has_ipsk == pi->psk && has_rpsk == pi->psk,
	    "%s: psk mismatch", name);
	crypto_scalarmult_base(ipub, is);
	crypto_scalarmult_base(rpub, rs);

	init = noise_hs_new(pi->pat, true, ipro, iprolen, is,
	    has_ipsk ? ipsk : NULL, ie);
	resp = noise_hs_new(pi->pat, false, rpro, rprolen, rs,
	    has_rpsk ? rpsk : NULL, re);
	ck_assert_ptr_nonnull(init);
	ck_assert_ptr_nonnull(resp);

	msgs = json_object_get(v, "messages");
	ck_assert(json_is_array(msgs));
	nmsg = json_array_size(msgs);
	ck_assert_msg(nmsg > nhs, "%s: no transport messages", name);

	for (i = 0; i < nmsg; i++) {
		m = json_array_get(msgs, i);
		plen = hex_field(m, "payload", pl, sizeof(pl));
		ctlen = hex_field(m, "ciphertext", ct, sizeof(ct));

		/* the parties take strict turns, initiator first */
		if (i < nhs) {
			snd = i % 2 == 0 ? init : resp;
			rcv = i % 2 == 0 ? resp : init;
			ck_assert(!noise_hs_done(init));
			n = noise_hs_write(snd, pl, plen, msgbuf,
			    sizeof(msgbuf));
			ck_assert_msg(n == (ssize_t)ctlen &&
			    memcmp(msgbuf, ct, ctlen) == 0,
			    "%s: handshake message %zu differs", name, i);
			n = noise_hs_read(rcv, msgbuf, (size_t)n, plbuf,
			    sizeof(plbuf));
			ck_assert_msg(n == (ssize_t)plen &&
			    memcmp(plbuf, pl, plen) == 0,
			    "%s: handshake payload %zu differs", name, i);
			continue;
		}

		if (!split) {
			ck_assert(noise_hs_done(init));
			ck_assert(noise_hs_done(resp));
			ck_assert_ptr_nonnull(noise_hs_hash(init));
			ck_assert_mem_eq(noise_hs_hash(init),
			    noise_hs_hash(resp), NOISE_HASH_LEN);
			ck_assert_uint_eq(hex_field(v, "handshake_hash", hash,
			    sizeof(hash)), NOISE_HASH_LEN);
			ck_assert_mem_eq(noise_hs_hash(init), hash,
			    NOISE_HASH_LEN);
			if (pi->statics) {
				ck_assert_mem_eq(noise_hs_remote_static(init),
				    rpub, 32);
				ck_assert_mem_eq(noise_hs_remote_static(resp),
				    ipub, 32);
			} else {
				ck_assert_ptr_null(
				    noise_hs_remote_static(init));
				ck_assert_ptr_null(
				    noise_hs_remote_static(resp));
			}
			ck_assert_int_eq(noise_hs_split(init, &isend, &irecv),
			    0);
			ck_assert_int_eq(noise_hs_split(resp, &rsend, &rrecv),
			    0);
			split = true;
		}
		enc = i % 2 == 0 ? &isend : &rsend;
		dec = i % 2 == 0 ? &rrecv : &irecv;
		n = noise_encrypt(enc, NULL, 0, pl, plen, msgbuf,
		    sizeof(msgbuf));
		ck_assert_msg(n == (ssize_t)ctlen &&
		    memcmp(msgbuf, ct, ctlen) == 0,
		    "%s: transport message %zu differs", name, i);
		n = noise_decrypt(dec, NULL, 0, msgbuf, (size_t)n, plbuf,
		    sizeof(plbuf));
		ck_assert_msg(n == (ssize_t)plen &&
		    memcmp(plbuf, pl, plen) == 0,
		    "%s: transport payload %zu differs", name, i);
	}

	noise_cipher_clear(&isend);
	noise_cipher_clear(&irecv);
	noise_cipher_clear(&rsend);
	noise_cipher_clear(&rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}

START_TEST(test_vectors)
{
	json_error_t	 err;
	json_t		*root, *vecs, *v;
	const char	*path, *name;
	size_t		 i, j, seen[nitems(pats)] = { 0 };

	if ((path = getenv("NOISE_VECTORS")) == NULL)
		path = VECTORS_DEFAULT;
	root = json_load_file(path, 0, &err);
	ck_assert_msg(root != NULL, "cannot load %s: %s (line %d)", path,
	    err.text, err.line);
	vecs = json_object_get(root, "vectors");
	ck_assert(json_is_array(vecs));

	json_array_foreach(vecs, i, v) {
		name = json_string_value(json_object_get(v, "protocol_name"));
		if (name == NULL)
			continue;
		for (j = 0; j < nitems(pats); j++) {
			if (strcmp(name, pats[j].name) == 0) {
				run_vector(v, &pats[j]);
				seen[j]++;
			}
		}
	}
	json_decref(root);
	/* an emptied or renamed vector file must not pass silently */
	for (j = 0; j < nitems(pats); j++)
		ck_assert_msg(!pats[j].vector || seen[j] >= 1,
		    "no vector for %s", pats[j].name);
}
END_TEST

/*
 * Fresh pair with random static keys; psks may differ on purpose.  ipub
 * and rpub, unless NULL, receive the static public keys.
 */
static void
new_pair_keys(enum noise_pattern pat, const uint8_t *ipsk,
    const uint8_t *rpsk, struct noise_hs **init, struct noise_hs **resp,
    uint8_t *ipub, uint8_t *rpub)
{
	uint8_t	is[32], rs[32];

	randombytes_buf(is, sizeof(is));
	randombytes_buf(rs, sizeof(rs));
	*init = noise_hs_new(pat, true, "peerd", 5, is, ipsk, NULL);
	*resp = noise_hs_new(pat, false, "peerd", 5, rs, rpsk, NULL);
	ck_assert_ptr_nonnull(*init);
	ck_assert_ptr_nonnull(*resp);
	if (ipub != NULL)
		crypto_scalarmult_base(ipub, is);
	if (rpub != NULL)
		crypto_scalarmult_base(rpub, rs);
	sodium_memzero(is, sizeof(is));
	sodium_memzero(rs, sizeof(rs));
}

static void
new_pair(enum noise_pattern pat, const uint8_t *ipsk, const uint8_t *rpsk,
    struct noise_hs **init, struct noise_hs **resp)
{
	new_pair_keys(pat, ipsk, rpsk, init, resp, NULL, NULL);
}

/* Move message i from its writer to its reader; returns the read result. */
static ssize_t
step(struct noise_hs *init, struct noise_hs *resp, int i)
{
	struct noise_hs	*snd = i % 2 == 0 ? init : resp;
	struct noise_hs	*rcv = i % 2 == 0 ? resp : init;
	ssize_t		 n;

	n = noise_hs_write(snd, "hi", 2, msgbuf, sizeof(msgbuf));
	ck_assert_int_gt(n, 0);
	return noise_hs_read(rcv, msgbuf, (size_t)n, plbuf, sizeof(plbuf));
}

static void
connect_pair(enum noise_pattern pat, struct noise_hs **init,
    struct noise_hs **resp, struct noise_cipher *isend,
    struct noise_cipher *irecv, struct noise_cipher *rsend,
    struct noise_cipher *rrecv)
{
	static const uint8_t	 psk[NOISE_PSK_LEN] = { 1, 2, 3 };
	const struct pat_info	*pi = pat_info(pat);
	const uint8_t		*p = pi->psk ? psk : NULL;
	uint8_t			 ipub[32], rpub[32];
	int			 i;

	new_pair_keys(pat, p, p, init, resp, ipub, rpub);
	for (i = 0; i < pi->nmsgs; i++) {
		ck_assert(!noise_hs_done(*init) && !noise_hs_done(*resp));
		ck_assert_int_eq(step(*init, *resp, i), 2);
	}
	ck_assert(noise_hs_done(*init) && noise_hs_done(*resp));
	if (pi->statics) {
		ck_assert_mem_eq(noise_hs_remote_static(*init), rpub, 32);
		ck_assert_mem_eq(noise_hs_remote_static(*resp), ipub, 32);
	} else {
		ck_assert_ptr_null(noise_hs_remote_static(*init));
		ck_assert_ptr_null(noise_hs_remote_static(*resp));
	}
	ck_assert_int_eq(noise_hs_split(*init, isend, irecv), 0);
	ck_assert_int_eq(noise_hs_split(*resp, rsend, rrecv), 0);
}

static void
clear_ciphers(struct noise_cipher *isend, struct noise_cipher *irecv,
    struct noise_cipher *rsend, struct noise_cipher *rrecv)
{
	noise_cipher_clear(isend);
	noise_cipher_clear(irecv);
	noise_cipher_clear(rsend);
	noise_cipher_clear(rrecv);
}

START_TEST(test_random_roundtrip)
{
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp;
	enum noise_pattern	 pat = pats[_i].pat;
	uint8_t			 ct[64], pt[64];

	/* connect_pair checks the remote static keys */
	connect_pair(pat, &init, &resp, &isend, &irecv, &rsend, &rrecv);
	ck_assert_mem_eq(noise_hs_hash(init), noise_hs_hash(resp),
	    NOISE_HASH_LEN);

	ck_assert_int_eq(noise_encrypt(&isend, "ad", 2, "ping", 4, ct,
	    sizeof(ct)), 4 + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_decrypt(&rrecv, "ad", 2, ct, 4 + NOISE_TAG_LEN,
	    pt, sizeof(pt)), 4);
	ck_assert_mem_eq(pt, "ping", 4);

	/* in place, empty payload, other direction */
	ck_assert_int_eq(noise_encrypt(&rsend, NULL, 0, NULL, 0, ct,
	    sizeof(ct)), NOISE_TAG_LEN);
	ck_assert_int_eq(noise_decrypt(&irecv, NULL, 0, ct, NOISE_TAG_LEN,
	    NULL, 0), 0);
	memcpy(ct, "pong", 4);
	ck_assert_int_eq(noise_encrypt(&rsend, NULL, 0, ct, 4, ct,
	    sizeof(ct)), 4 + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_decrypt(&irecv, NULL, 0, ct, 4 + NOISE_TAG_LEN,
	    ct, sizeof(ct)), 4);
	ck_assert_mem_eq(ct, "pong", 4);

	/* a second split is refused */
	ck_assert_int_eq(noise_hs_split(init, &isend, &irecv), -1);
	clear_ciphers(&isend, &irecv, &rsend, &rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

/* Every handshake message of every pattern, altered at either end. */
static const struct {
	enum noise_pattern	pat;
	int			msg;
} tamper_cases[] = {
	{ NOISE_XX, 0 }, { NOISE_XX, 1 }, { NOISE_XX, 2 },
	{ NOISE_XXPSK3, 0 }, { NOISE_XXPSK3, 1 }, { NOISE_XXPSK3, 2 },
	{ NOISE_XXPSK0, 0 }, { NOISE_XXPSK0, 1 }, { NOISE_XXPSK0, 2 },
	{ NOISE_NNPSK0, 0 }, { NOISE_NNPSK0, 1 },
};

START_TEST(test_tampered_handshake)
{
	static const uint8_t	 psk[NOISE_PSK_LEN] = { 9 };
	struct noise_hs		*init, *resp, *rcv;
	enum noise_pattern	 pat = tamper_cases[_i / 2].pat;
	const uint8_t		*p = pat_info(pat)->psk ? psk : NULL;
	int			 bad = tamper_cases[_i / 2].msg, i;
	bool			 first = _i % 2;
	ssize_t			 n;

	new_pair(pat, p, p, &init, &resp);
	for (i = 0; i < bad; i++)
		ck_assert_int_eq(step(init, resp, i), 2);

	rcv = bad % 2 == 0 ? resp : init;
	n = noise_hs_write(bad % 2 == 0 ? init : resp, "hi", 2, msgbuf,
	    sizeof(msgbuf));
	ck_assert_int_gt(n, 0);
	/* the first byte is in e or s, the last in the payload or its tag */
	msgbuf[first ? 0 : n - 1] ^= 0x01;
	n = noise_hs_read(rcv, msgbuf, (size_t)n, plbuf, sizeof(plbuf));
	if (bad == 0 && pat == NOISE_XX) {
		/*
		 * The first XX message carries no MAC; the altered bytes go
		 * into h and the next message fails instead.
		 */
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(step(init, resp, 1), -1);
		rcv = init;
	} else
		ck_assert_int_eq(n, -1);

	/* the failed side is finished for good */
	ck_assert(!noise_hs_done(rcv));
	ck_assert_ptr_null(noise_hs_remote_static(rcv));
	ck_assert_ptr_null(noise_hs_hash(rcv));
	ck_assert_int_eq(noise_hs_write(rcv, "x", 1, msgbuf, sizeof(msgbuf)),
	    -1);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

START_TEST(test_wrong_psk)
{
	static const uint8_t	 ipsk[NOISE_PSK_LEN] = { 1 };
	static const uint8_t	 rpsk[NOISE_PSK_LEN] = { 2 };
	struct noise_cipher	 send, recv;
	struct noise_hs		*init, *resp;

	new_pair(NOISE_XXPSK3, ipsk, rpsk, &init, &resp);
	/* psk3 enters only in the last message, so that one fails */
	ck_assert_int_eq(step(init, resp, 0), 2);
	ck_assert_int_eq(step(init, resp, 1), 2);
	ck_assert_int_eq(step(init, resp, 2), -1);
	ck_assert(!noise_hs_done(resp));
	ck_assert_int_eq(noise_hs_split(resp, &send, &recv), -1);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

START_TEST(test_wrong_psk0)
{
	static const uint8_t	 ipsk[NOISE_PSK_LEN] = { 1 };
	static const uint8_t	 rpsk[NOISE_PSK_LEN] = { 2 };
	struct noise_cipher	 send, recv;
	struct noise_hs		*init, *resp;
	enum noise_pattern	 pat = _i ? NOISE_NNPSK0 : NOISE_XXPSK0;
	ssize_t			 n;

	new_pair(pat, ipsk, rpsk, &init, &resp);
	/* psk0 keys message 1, so even an empty payload has a tag */
	n = noise_hs_write(init, NULL, 0, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(n, 32 + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, (size_t)n, plbuf,
	    sizeof(plbuf)), -1);
	/* so the responder never writes message 2 */
	ck_assert_int_eq(noise_hs_write(resp, NULL, 0, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert(!noise_hs_done(resp));
	ck_assert_ptr_null(noise_hs_remote_static(resp));
	ck_assert_ptr_null(noise_hs_hash(resp));
	ck_assert_int_eq(noise_hs_split(resp, &send, &recv), -1);
	noise_hs_free(init);
	noise_hs_free(resp);

	/* a message 1 cut short of its tag is refused too */
	new_pair(pat, ipsk, ipsk, &init, &resp);
	n = noise_hs_write(init, NULL, 0, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, (size_t)n - 1, plbuf,
	    sizeof(plbuf)), -1);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

/*
 * The reason for XXpsk0: an attacker without the psk learns no static
 * key.  _i 0: the attacker is the responder, _i 1 the initiator.
 */
START_TEST(test_psk0_hides_static)
{
	static const uint8_t	 good[NOISE_PSK_LEN] = { 'n', 'e', 't' };
	static const uint8_t	 evil[NOISE_PSK_LEN] = { 'b', 'a', 'd' };
	struct noise_hs		*init, *resp, *attacker, *honest;
	bool			 attacker_init = _i;
	ssize_t			 n;

	new_pair(NOISE_XXPSK0, attacker_init ? evil : good,
	    attacker_init ? good : evil, &init, &resp);
	attacker = attacker_init ? init : resp;
	honest = attacker_init ? resp : init;

	n = noise_hs_write(init, "hi", 2, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(n, 32 + 2 + NOISE_TAG_LEN);
	/* whoever holds the wrong psk, the responder cannot read message 1 */
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, (size_t)n, plbuf,
	    sizeof(plbuf)), -1);

	/* no message carrying a static key is ever written */
	ck_assert_int_eq(noise_hs_write(resp, "hi", 2, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert_int_eq(noise_hs_write(init, "hi", 2, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert_ptr_null(noise_hs_remote_static(attacker));
	ck_assert_ptr_null(noise_hs_remote_static(honest));
	ck_assert(!noise_hs_done(attacker) && !noise_hs_done(honest));
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

/*
 * The leak XXpsk0 closes: in XXpsk3 an initiator with the wrong psk
 * reads message 2 and learns the honest responder's static key.
 */
START_TEST(test_psk3_leaks_static)
{
	static const uint8_t	 good[NOISE_PSK_LEN] = { 'n', 'e', 't' };
	static const uint8_t	 evil[NOISE_PSK_LEN] = { 'b', 'a', 'd' };
	struct noise_hs		*attacker, *honest;
	uint8_t			 rpub[32];

	new_pair_keys(NOISE_XXPSK3, evil, good, &attacker, &honest, NULL,
	    rpub);
	ck_assert_int_eq(step(attacker, honest, 0), 2);
	ck_assert_int_eq(step(attacker, honest, 1), 2);
	ck_assert_mem_eq(noise_hs_remote_static(attacker), rpub, 32);
	noise_hs_free(attacker);
	noise_hs_free(honest);
}
END_TEST

START_TEST(test_tampered_transport)
{
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp;
	uint8_t			 ct[64], pt[64];
	ssize_t			 n;

	connect_pair(NOISE_XXPSK3, &init, &resp, &isend, &irecv, &rsend,
	    &rrecv);
	n = noise_encrypt(&isend, "ad", 2, "hello", 5, ct, sizeof(ct));
	ck_assert_int_eq(n, 5 + NOISE_TAG_LEN);

	ct[0] ^= 0x80;
	ck_assert_int_eq(noise_decrypt(&rrecv, "ad", 2, ct, (size_t)n, pt,
	    sizeof(pt)), -1);
	ct[0] ^= 0x80;
	ct[n - 1] ^= 0x01;
	ck_assert_int_eq(noise_decrypt(&rrecv, "ad", 2, ct, (size_t)n, pt,
	    sizeof(pt)), -1);
	ct[n - 1] ^= 0x01;
	ck_assert_int_eq(noise_decrypt(&rrecv, "AD", 2, ct, (size_t)n, pt,
	    sizeof(pt)), -1);
	ck_assert_int_eq(noise_decrypt(&rrecv, "ad", 2, ct, (size_t)n - 1, pt,
	    sizeof(pt)), -1);
	/* wrong direction's key */
	ck_assert_int_eq(noise_decrypt(&irecv, "ad", 2, ct, (size_t)n, pt,
	    sizeof(pt)), -1);

	/* failures did not use up the nonce: the genuine one still reads */
	ck_assert_int_eq(noise_decrypt(&rrecv, "ad", 2, ct, (size_t)n, pt,
	    sizeof(pt)), 5);
	ck_assert_mem_eq(pt, "hello", 5);
	clear_ciphers(&isend, &irecv, &rsend, &rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

START_TEST(test_replay)
{
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp;
	uint8_t			 ct[64], ct2[64], pt[64];
	ssize_t			 n;

	connect_pair(NOISE_XX, &init, &resp, &isend, &irecv, &rsend, &rrecv);
	n = noise_encrypt(&isend, NULL, 0, "one", 3, ct, sizeof(ct));
	ck_assert_int_eq(n, 3 + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, ct, (size_t)n, pt,
	    sizeof(pt)), 3);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, ct, (size_t)n, pt,
	    sizeof(pt)), -1);

	/* the stream carries on with the next message */
	n = noise_encrypt(&isend, NULL, 0, "two", 3, ct2, sizeof(ct2));
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, ct2, (size_t)n, pt,
	    sizeof(pt)), 3);
	ck_assert_mem_eq(pt, "two", 3);
	clear_ciphers(&isend, &irecv, &rsend, &rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

START_TEST(test_overlength)
{
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp;
	const size_t		 max = NOISE_MAX_MSG_LEN;
	uint8_t			 small[8];
	ssize_t			 n;

	/* handshake: first XX message is e (32 bytes) plus payload */
	new_pair(NOISE_XX, NULL, NULL, &init, &resp);
	memset(bigbuf, 'a', sizeof(bigbuf));
	ck_assert_int_eq(noise_hs_write(init, bigbuf, max - 32 + 1, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert_int_eq(noise_hs_write(init, bigbuf, 10, msgbuf, 41), -1);
	/* refusals above left the state usable */
	n = noise_hs_write(init, bigbuf, max - 32, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(n, (ssize_t)max);
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, max + 1, plbuf,
	    sizeof(plbuf)), -1);
	noise_hs_free(init);
	noise_hs_free(resp);

	/* too small a payload buffer, or a truncated message */
	new_pair(NOISE_XX, NULL, NULL, &init, &resp);
	n = noise_hs_write(init, bigbuf, 100, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, (size_t)n, small,
	    sizeof(small)), -1);
	noise_hs_free(init);
	noise_hs_free(resp);
	new_pair(NOISE_XX, NULL, NULL, &init, &resp);
	ck_assert_int_eq(noise_hs_read(resp, msgbuf, 31, plbuf,
	    sizeof(plbuf)), -1);
	noise_hs_free(init);
	noise_hs_free(resp);

	/* transport */
	connect_pair(NOISE_XX, &init, &resp, &isend, &irecv, &rsend, &rrecv);
	ck_assert_int_eq(noise_encrypt(&isend, NULL, 0, bigbuf,
	    NOISE_MAX_PAYLOAD_LEN + 1, msgbuf, sizeof(msgbuf)), -1);
	ck_assert_int_eq(noise_encrypt(&isend, NULL, 0, bigbuf, 8, msgbuf,
	    8 + NOISE_TAG_LEN - 1), -1);
	n = noise_encrypt(&isend, NULL, 0, bigbuf, NOISE_MAX_PAYLOAD_LEN,
	    msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(n, (ssize_t)max);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, msgbuf, max + 1,
	    plbuf, sizeof(plbuf)), -1);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, msgbuf, max, plbuf,
	    NOISE_MAX_PAYLOAD_LEN - 1), -1);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, msgbuf,
	    NOISE_TAG_LEN - 1, plbuf, sizeof(plbuf)), -1);
	ck_assert_int_eq(noise_decrypt(&rrecv, NULL, 0, msgbuf, max, plbuf,
	    sizeof(plbuf)), (ssize_t)NOISE_MAX_PAYLOAD_LEN);
	ck_assert_mem_eq(plbuf, bigbuf, NOISE_MAX_PAYLOAD_LEN);
	clear_ciphers(&isend, &irecv, &rsend, &rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

/*
 * libcrypto is on every machine that runs the tests (libssl-dev is a
 * build dependency); the "transport" cases run before it is loaded,
 * except where a message of 16 KiB or more loads it.
 */
static void
load_openssl(void)
{
	ck_assert(evp_load());
}

/*
 * Sizes on both sides of the length where noise.c moves from libsodium's
 * ChaCha20-Poly1305 to OpenSSL's, up to the largest message.
 */
static const size_t aead_sizes[] = {
	0, 1, 64, 127, 128, 129, 255, 256, 1000, 4096,
	NOISE_MAX_PAYLOAD_LEN,
};

/* A cipher as noise_hs_split() leaves it, at nonce n. */
static void
cipher_at(struct noise_cipher *c, const uint8_t k[NOISE_KEY_LEN],
    uint64_t n)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->k, k, NOISE_KEY_LEN);
	c->n = n;
}

static void
nonce_of(uint8_t nonce[12], uint64_t n)
{
	int	i;

	memset(nonce, 0, 12);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/*
 * Today's daemons seal with libsodium alone: what noise.c seals must be
 * the same bytes, and what libsodium seals must open, at every size,
 * with and without associated data.
 */
START_TEST(test_aead_interop)
{
	static uint8_t		 pt[NOISE_MAX_MSG_LEN], ct[NOISE_MAX_MSG_LEN];
	static uint8_t		 ref[NOISE_MAX_MSG_LEN];
	static const uint8_t	 ad[] = "associated";
	struct noise_cipher	 snd, rcv;
	unsigned long long	 rlen;
	uint8_t			 k[NOISE_KEY_LEN], nonce[12];
	const uint64_t		 n0 = 0x0102030405ULL;
	size_t			 len = aead_sizes[_i / 2], adlen;
	bool			 with_ad = _i % 2;
	ssize_t			 n;

	adlen = with_ad ? sizeof(ad) : 0;
	randombytes_buf(k, sizeof(k));
	randombytes_buf(pt, len);
	nonce_of(nonce, n0);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, &rlen, pt, len,
	    with_ad ? ad : NULL, adlen, NULL, nonce, k);
	ck_assert_uint_eq(rlen, len + NOISE_TAG_LEN);

	/* noise.c seals the same bytes, in place too */
	cipher_at(&snd, k, n0);
	n = noise_encrypt(&snd, with_ad ? ad : NULL, adlen, pt, len, ct,
	    sizeof(ct));
	ck_assert_int_eq(n, (ssize_t)(len + NOISE_TAG_LEN));
	ck_assert_mem_eq(ct, ref, len + NOISE_TAG_LEN);
	ck_assert(snd.n == n0 + 1);
	noise_cipher_clear(&snd);
	cipher_at(&snd, k, n0);
	memcpy(ct, pt, len);
	ck_assert_int_eq(noise_encrypt(&snd, with_ad ? ad : NULL, adlen, ct,
	    len, ct, sizeof(ct)), n);
	ck_assert_mem_eq(ct, ref, len + NOISE_TAG_LEN);
	noise_cipher_clear(&snd);

	/* and what libsodium sealed opens here, in place */
	cipher_at(&rcv, k, n0);
	memcpy(ct, ref, len + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_decrypt(&rcv, with_ad ? ad : NULL, adlen, ct,
	    len + NOISE_TAG_LEN, ct, sizeof(ct)), (ssize_t)len);
	ck_assert_mem_eq(ct, pt, len);
	ck_assert(rcv.n == n0 + 1);
	noise_cipher_clear(&rcv);
}
END_TEST

/*
 * One flipped bit, in the tag or the body, fails at every size, leaves
 * the nonce as it was and no plaintext in the output, whether it is a
 * buffer of its own or the ciphertext itself.
 */
START_TEST(test_aead_flipped_bit)
{
	static uint8_t		 pt[NOISE_MAX_MSG_LEN], ct[NOISE_MAX_MSG_LEN];
	static uint8_t		 out[NOISE_MAX_MSG_LEN];
	struct noise_cipher	 snd, rcv;
	uint8_t			 k[NOISE_KEY_LEN];
	size_t			 len = aead_sizes[_i / 2], i, at;
	bool			 in_tag = _i % 2;
	ssize_t			 n;

	/* letters: neither 0 (wiped) nor 0xee (untouched) */
	for (i = 0; i < len; i++)
		pt[i] = (uint8_t)('a' + i % 26);
	randombytes_buf(k, sizeof(k));
	cipher_at(&snd, k, 7);
	n = noise_encrypt(&snd, NULL, 0, pt, len, ct, sizeof(ct));
	ck_assert_int_eq(n, (ssize_t)(len + NOISE_TAG_LEN));
	noise_cipher_clear(&snd);
	if (!in_tag && len == 0)
		return;		/* no body to flip */
	at = in_tag ? len + NOISE_TAG_LEN - 1 : len / 2;
	ct[at] ^= 0x10;

	cipher_at(&rcv, k, 7);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(noise_decrypt(&rcv, NULL, 0, ct, (size_t)n, out,
	    sizeof(out)), -1);
	ck_assert(rcv.n == 7);
	for (i = 0; i < len; i++)
		ck_assert_msg(out[i] == 0 || out[i] == 0xee,
		    "byte %zu of a failed open was written", i);
	ck_assert_int_eq(noise_decrypt(&rcv, NULL, 0, ct, (size_t)n, ct,
	    sizeof(ct)), -1);
	ck_assert(rcv.n == 7);
	if (len > 0)
		ck_assert(memcmp(ct, pt, len) != 0);

	/* the genuine message still opens at that nonce */
	cipher_at(&snd, k, 7);
	n = noise_encrypt(&snd, NULL, 0, pt, len, ct, sizeof(ct));
	ck_assert_int_eq(noise_decrypt(&rcv, NULL, 0, ct, (size_t)n, out,
	    sizeof(out)), (ssize_t)len);
	ck_assert_mem_eq(out, pt, len);
	noise_cipher_clear(&snd);
	noise_cipher_clear(&rcv);
}
END_TEST

/*
 * Once loaded, OpenSSL does the long messages: a context is made for
 * them, and none for short ones.  Before, a message under 16 KiB does
 * not load it.
 */
START_TEST(test_openssl_does_long_messages)
{
	static uint8_t		 pt[4096], ct[4096 + NOISE_TAG_LEN];
	struct noise_cipher	 c;
	uint8_t			 k[NOISE_KEY_LEN];

	randombytes_buf(k, sizeof(k));
	cipher_at(&c, k, 0);
	ck_assert_int_eq(noise_encrypt(&c, NULL, 0, pt, 64, ct, sizeof(ct)),
	    64 + NOISE_TAG_LEN);
	ck_assert_ptr_null(c.evp);
	ck_assert_int_eq(noise_encrypt(&c, NULL, 0, pt, sizeof(pt), ct,
	    sizeof(ct)), (ssize_t)sizeof(ct));
	ck_assert_ptr_nonnull(c.evp);
	noise_cipher_clear(&c);
}
END_TEST

START_TEST(test_small_messages_do_not_load_openssl)
{
	static uint8_t		 pt[(16 << 10) - 1];
	static uint8_t		 ct[sizeof(pt) + NOISE_TAG_LEN];
	struct noise_cipher	 c;
	uint8_t			 k[NOISE_KEY_LEN];

	/* A test before, in this process (CK_FORK=no), may have loaded it. */
	if (evp_loaded())
		return;
	randombytes_buf(k, sizeof(k));
	cipher_at(&c, k, 0);
	ck_assert_int_eq(noise_encrypt(&c, NULL, 0, pt, sizeof(pt), ct,
	    sizeof(ct)), (ssize_t)sizeof(ct));
	ck_assert(!evp_loaded());
	ck_assert_ptr_null(c.evp);
	noise_cipher_clear(&c);
}
END_TEST

/*
 * Handshake payloads long enough for OpenSSL's side, in every message of
 * every pattern, so that each new handshake key gets a new context.
 */
START_TEST(test_long_handshake_payloads)
{
	static uint8_t		 pl[2000];
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp, *snd, *rcv;
	enum noise_pattern	 pat = pats[_i].pat;
	const struct pat_info	*pi = pat_info(pat);
	static const uint8_t	 psk[NOISE_PSK_LEN] = { 9 };
	ssize_t			 n;
	int			 i;

	new_pair(pat, pi->psk ? psk : NULL, pi->psk ? psk : NULL, &init,
	    &resp);
	for (i = 0; i < pi->nmsgs; i++) {
		snd = i % 2 == 0 ? init : resp;
		rcv = i % 2 == 0 ? resp : init;
		randombytes_buf(pl, sizeof(pl));
		n = noise_hs_write(snd, pl, sizeof(pl), msgbuf,
		    sizeof(msgbuf));
		ck_assert_int_gt(n, (ssize_t)sizeof(pl));
		ck_assert_int_eq(noise_hs_read(rcv, msgbuf, (size_t)n, plbuf,
		    sizeof(plbuf)), (ssize_t)sizeof(pl));
		ck_assert_mem_eq(plbuf, pl, sizeof(pl));
	}
	ck_assert_mem_eq(noise_hs_hash(init), noise_hs_hash(resp),
	    NOISE_HASH_LEN);
	ck_assert_int_eq(noise_hs_split(init, &isend, &irecv), 0);
	ck_assert_int_eq(noise_hs_split(resp, &rsend, &rrecv), 0);
	n = noise_encrypt(&rsend, NULL, 0, pl, sizeof(pl), msgbuf,
	    sizeof(msgbuf));
	ck_assert_int_eq(noise_decrypt(&irecv, NULL, 0, msgbuf, (size_t)n,
	    plbuf, sizeof(plbuf)), (ssize_t)sizeof(pl));
	ck_assert_mem_eq(plbuf, pl, sizeof(pl));
	clear_ciphers(&isend, &irecv, &rsend, &rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

START_TEST(test_misuse)
{
	static const uint8_t	 psk[NOISE_PSK_LEN];
	struct noise_cipher	 send, recv, c;
	struct noise_hs		*init, *resp;
	uint8_t			 s[32] = { 7 }, zero[32] = { 0 }, ct[32];

	ck_assert_ptr_null(noise_hs_new(NOISE_XXPSK3, true, NULL, 0, s, NULL,
	    NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_XXPSK0, false, NULL, 0, s, NULL,
	    NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_NNPSK0, true, NULL, 0, s, NULL,
	    NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_NNPSK0, true, NULL, 0, NULL, psk,
	    NULL));
	ck_assert_ptr_null(noise_hs_new((enum noise_pattern)99, true, NULL, 0,
	    s, psk, NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_XX, true, NULL, 0, s, psk,
	    NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_XX, true, NULL, 0, NULL, NULL,
	    NULL));
	ck_assert_ptr_null(noise_hs_new(NOISE_XX, true, NULL, 1, s, NULL,
	    NULL));
	noise_hs_free(NULL);

	/* wrong turns do not abort the handshake */
	new_pair(NOISE_XX, NULL, NULL, &init, &resp);
	ck_assert_int_eq(noise_hs_write(resp, NULL, 0, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert_int_eq(noise_hs_read(init, msgbuf, 32, plbuf,
	    sizeof(plbuf)), -1);
	ck_assert_int_eq(noise_hs_split(init, &send, &recv), -1);
	ck_assert_ptr_null(noise_hs_hash(init));
	ck_assert_ptr_null(noise_hs_remote_static(init));
	ck_assert_int_eq(step(init, resp, 0), 2);
	ck_assert_int_eq(step(init, resp, 1), 2);
	ck_assert_int_eq(step(init, resp, 2), 2);
	ck_assert_int_eq(noise_hs_write(init, NULL, 0, msgbuf,
	    sizeof(msgbuf)), -1);
	noise_hs_free(init);
	noise_hs_free(resp);

	/* an all-zero (low-order) ephemeral makes the DH fail */
	new_pair(NOISE_XX, NULL, NULL, &init, &resp);
	ck_assert_int_eq(noise_hs_read(resp, zero, sizeof(zero), plbuf,
	    sizeof(plbuf)), 0);
	ck_assert_int_eq(noise_hs_write(resp, NULL, 0, msgbuf,
	    sizeof(msgbuf)), -1);
	ck_assert(!noise_hs_done(resp));
	noise_hs_free(init);
	noise_hs_free(resp);

	/* nonce 2^64-1 is reserved */
	memset(&c, 0, sizeof(c));
	c.n = UINT64_MAX - 1;
	ck_assert_int_eq(noise_encrypt(&c, NULL, 0, "x", 1, ct, sizeof(ct)),
	    1 + NOISE_TAG_LEN);
	ck_assert_int_eq(noise_encrypt(&c, NULL, 0, "x", 1, ct, sizeof(ct)),
	    -1);
	ck_assert_int_eq(noise_decrypt(&c, NULL, 0, ct, 1 + NOISE_TAG_LEN, ct,
	    sizeof(ct)), -1);
	noise_cipher_clear(&c);
}
END_TEST

/*
 * A responder holding several psks reads message 1 under whichever the
 * initiator used (_i: its index), and the handshake completes with it.
 */
START_TEST(test_read_first)
{
	uint8_t			 psks[3][NOISE_PSK_LEN], is[32], rs[32];
	struct noise_cipher	 isend, irecv, rsend, rrecv;
	struct noise_hs		*init, *resp;
	size_t			 plen = 0;
	ssize_t			 n;
	int			 i;

	for (i = 0; i < 3; i++)
		memset(psks[i], 'a' + i, NOISE_PSK_LEN);
	randombytes_buf(is, sizeof(is));
	randombytes_buf(rs, sizeof(rs));
	init = noise_hs_new(NOISE_XXPSK0, true, "peerd", 5, is, psks[_i],
	    NULL);
	ck_assert_ptr_nonnull(init);
	n = noise_hs_write(init, "hi", 2, msgbuf, sizeof(msgbuf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerd", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, 3, msgbuf, (size_t)n,
	    plbuf, sizeof(plbuf), &plen), _i);
	ck_assert_ptr_nonnull(resp);
	ck_assert_uint_eq(plen, 2);
	ck_assert_mem_eq(plbuf, "hi", 2);
	ck_assert_int_eq(step(init, resp, 1), 2);
	ck_assert_int_eq(step(init, resp, 2), 2);
	ck_assert(noise_hs_done(init) && noise_hs_done(resp));
	ck_assert_int_eq(noise_hs_split(init, &isend, &irecv), 0);
	ck_assert_int_eq(noise_hs_split(resp, &rsend, &rrecv), 0);
	ck_assert_mem_eq(isend.k, rrecv.k, NOISE_KEY_LEN);
	ck_assert_mem_eq(irecv.k, rsend.k, NOISE_KEY_LEN);
	noise_cipher_clear(&isend);
	noise_cipher_clear(&irecv);
	noise_cipher_clear(&rsend);
	noise_cipher_clear(&rrecv);
	noise_hs_free(init);
	noise_hs_free(resp);
}
END_TEST

/* No candidate reads it, or too many candidates: nothing is kept. */
START_TEST(test_read_first_none)
{
	uint8_t			 psks[NOISE_PSK_CANDIDATES + 1][NOISE_PSK_LEN];
	uint8_t			 other[NOISE_PSK_LEN], is[32], rs[32];
	struct noise_hs		*init, *resp = (struct noise_hs *)1;
	size_t			 plen = 0;
	ssize_t			 n;
	size_t			 i;

	for (i = 0; i < nitems(psks); i++)
		memset(psks[i], 'a' + (int)i, NOISE_PSK_LEN);
	memset(other, 'z', sizeof(other));
	randombytes_buf(is, sizeof(is));
	randombytes_buf(rs, sizeof(rs));
	init = noise_hs_new(NOISE_XXPSK0, true, "peerd", 5, is, other, NULL);
	n = noise_hs_write(init, NULL, 0, msgbuf, sizeof(msgbuf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerd", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, NOISE_PSK_CANDIDATES,
	    msgbuf, (size_t)n, plbuf, sizeof(plbuf), &plen), -1);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerd", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, 0, msgbuf, (size_t)n,
	    plbuf, sizeof(plbuf), &plen), -1);
	noise_hs_free(init);

	/* Past the bound, even the right psk is not tried. */
	init = noise_hs_new(NOISE_XXPSK0, true, "peerd", 5, is, psks[0],
	    NULL);
	n = noise_hs_write(init, NULL, 0, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerd", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, nitems(psks), msgbuf,
	    (size_t)n, plbuf, sizeof(plbuf), &plen), -1);
	ck_assert_ptr_null(resp);
	/* A prologue that differs: no psk reads it either. */
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerD", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, 1, msgbuf, (size_t)n,
	    plbuf, sizeof(plbuf), &plen), -1);
	ck_assert_int_eq(noise_hs_read_first(&resp, NOISE_XXPSK0, "peerd", 5,
	    rs, (const uint8_t (*)[NOISE_PSK_LEN])psks, 1, msgbuf, (size_t)n,
	    plbuf, sizeof(plbuf), &plen), 0);
	ck_assert_uint_eq(plen, 0);
	noise_hs_free(resp);
	noise_hs_free(init);
}
END_TEST

/*
 * After message 1 both sides export the same bytes for a label; other
 * labels and other handshakes give others; none once split.
 */
START_TEST(test_export)
{
	static const uint8_t	 psk[NOISE_PSK_LEN] = { 7 };
	uint8_t			 a[32], b[32], c[32], d[32];
	char			 longlabel[NOISE_LABEL_MAX + 2];
	struct noise_cipher	 send, recv;
	struct noise_hs		*init, *resp, *init2, *resp2;
	int			 i;

	new_pair(NOISE_XXPSK0, psk, psk, &init, &resp);
	ck_assert_int_eq(step(init, resp, 0), 2);
	ck_assert_int_eq(noise_hs_export(init, "peerd/1 stale", a), 0);
	ck_assert_int_eq(noise_hs_export(resp, "peerd/1 stale", b), 0);
	ck_assert_mem_eq(a, b, 32);
	ck_assert_int_eq(noise_hs_export(resp, "peerd/1 other", c), 0);
	ck_assert(memcmp(a, c, 32) != 0);
	new_pair(NOISE_XXPSK0, psk, psk, &init2, &resp2);
	ck_assert_int_eq(step(init2, resp2, 0), 2);
	ck_assert_int_eq(noise_hs_export(init2, "peerd/1 stale", d), 0);
	ck_assert(memcmp(a, d, 32) != 0);

	memset(longlabel, 'x', sizeof(longlabel) - 1);
	longlabel[sizeof(longlabel) - 1] = '\0';
	ck_assert_int_eq(noise_hs_export(init, longlabel, c), -1);
	longlabel[NOISE_LABEL_MAX] = '\0';
	ck_assert_int_eq(noise_hs_export(init, longlabel, c), 0);

	for (i = 1; i < 3; i++)
		ck_assert_int_eq(step(init, resp, i), 2);
	ck_assert_int_eq(noise_hs_split(init, &send, &recv), 0);
	ck_assert_int_eq(noise_hs_export(init, "peerd/1 stale", c), -1);
	noise_cipher_clear(&send);
	noise_cipher_clear(&recv);
	noise_hs_free(init);
	noise_hs_free(resp);
	noise_hs_free(init2);
	noise_hs_free(resp2);
}
END_TEST

Suite *
noise_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("noise");

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vectors);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_add_loop_test(tc, test_random_roundtrip, 0, nitems(pats));
	tcase_add_loop_test(tc, test_tampered_handshake, 0,
	    2 * nitems(tamper_cases));
	tcase_add_test(tc, test_wrong_psk);
	tcase_add_loop_test(tc, test_wrong_psk0, 0, 2);
	tcase_add_loop_test(tc, test_psk0_hides_static, 0, 2);
	tcase_add_test(tc, test_psk3_leaks_static);
	tcase_add_test(tc, test_misuse);
	tcase_add_loop_test(tc, test_read_first, 0, 3);
	tcase_add_test(tc, test_read_first_none);
	tcase_add_test(tc, test_export);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_add_test(tc, test_tampered_transport);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_overlength);
	tcase_add_loop_test(tc, test_aead_interop, 0, 2 * nitems(aead_sizes));
	tcase_add_loop_test(tc, test_aead_flipped_bit, 0,
	    2 * nitems(aead_sizes));
	tcase_add_loop_test(tc, test_long_handshake_payloads, 0, nitems(pats));
	tcase_add_test(tc, test_small_messages_do_not_load_openssl);
	suite_add_tcase(s, tc);

	/* The same with libcrypto loaded: OpenSSL does 128 bytes and up. */
	tc = tcase_create("transport-openssl");
	tcase_add_checked_fixture(tc, load_openssl, NULL);
	tcase_add_loop_test(tc, test_aead_interop, 0, 2 * nitems(aead_sizes));
	tcase_add_loop_test(tc, test_aead_flipped_bit, 0,
	    2 * nitems(aead_sizes));
	tcase_add_loop_test(tc, test_long_handshake_payloads, 0, nitems(pats));
	tcase_add_test(tc, test_openssl_does_long_messages);
	suite_add_tcase(s, tc);

	return s;
}
