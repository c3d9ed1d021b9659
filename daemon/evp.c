/* SPDX-License-Identifier: ISC */
/*
 * evp.c: OpenSSL's ChaCha20-Poly1305, from libcrypto loaded with
 * dlopen.  One context per key, made once; only the nonce changes from
 * one message to the next.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "evp.h"
#include "log.h"

#define EVP_LIBRARY	"libcrypto.so.3"

static struct {
	bool				 tried, ok;
	__typeof__(EVP_CIPHER_CTX_new)	*ctx_new;
	__typeof__(EVP_CIPHER_CTX_free)	*ctx_free;
	__typeof__(EVP_CIPHER_CTX_ctrl)	*ctx_ctrl;
	__typeof__(EVP_CipherInit_ex)	*init;
	__typeof__(EVP_CipherUpdate)	*update;
	__typeof__(EVP_CipherFinal_ex)	*final;
	__typeof__(EVP_chacha20_poly1305) *chacha20_poly1305;
	__typeof__(OPENSSL_cleanse)	*cleanse;
} lib;

struct evp_aead {
	EVP_CIPHER_CTX	*ctx;
};

/* Finds name in h, or says which one is missing. */
static void *
evp_sym(void *h, const char *name, bool *ok)
{
	void	*p;

	if ((p = dlsym(h, name)) == NULL && *ok) {
		log_info("crypto: %s lacks %s; libsodium does every message",
		    EVP_LIBRARY, name);
		*ok = false;
	}
	return p;
}

bool
evp_load(void)
{
	void	*h;
	bool	 ok = true;

	if (lib.tried)
		return lib.ok;
	lib.tried = true;
	if ((h = dlopen(EVP_LIBRARY, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_info("crypto: %s, so libsodium does every message",
		    dlerror());
		return false;
	}
	lib.ctx_new = (__typeof__(lib.ctx_new))evp_sym(h,
	    "EVP_CIPHER_CTX_new", &ok);
	lib.ctx_free = (__typeof__(lib.ctx_free))evp_sym(h,
	    "EVP_CIPHER_CTX_free", &ok);
	lib.ctx_ctrl = (__typeof__(lib.ctx_ctrl))evp_sym(h,
	    "EVP_CIPHER_CTX_ctrl", &ok);
	lib.init = (__typeof__(lib.init))evp_sym(h, "EVP_CipherInit_ex", &ok);
	lib.update = (__typeof__(lib.update))evp_sym(h, "EVP_CipherUpdate",
	    &ok);
	lib.final = (__typeof__(lib.final))evp_sym(h, "EVP_CipherFinal_ex",
	    &ok);
	lib.chacha20_poly1305 = (__typeof__(lib.chacha20_poly1305))evp_sym(h,
	    "EVP_chacha20_poly1305", &ok);
	lib.cleanse = (__typeof__(lib.cleanse))evp_sym(h, "OPENSSL_cleanse",
	    &ok);
	if (!ok) {
		dlclose(h);
		return false;
	}
	log_debug("crypto: %s loaded for long messages", EVP_LIBRARY);
	lib.ok = true;
	return true;
}

bool
evp_loaded(void)
{
	return lib.ok;
}

struct evp_aead *
evp_aead_new(const uint8_t key[EVP_AEAD_KEY_LEN])
{
	struct evp_aead	*a;

	if (!lib.ok || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->ctx = lib.ctx_new()) == NULL ||
	    lib.init(a->ctx, lib.chacha20_poly1305(), NULL, key, NULL, 1) !=
	    1) {
		evp_aead_free(a);
		return NULL;
	}
	return a;
}

void
evp_aead_free(struct evp_aead *a)
{
	if (a == NULL)
		return;
	if (a->ctx != NULL)
		lib.ctx_free(a->ctx);
	free(a);
}

int
evp_aead_seal(struct evp_aead *a, const uint8_t nonce[EVP_AEAD_NONCE_LEN],
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen,
    uint8_t *out)
{
	int	n;

	if (lib.init(a->ctx, NULL, NULL, NULL, nonce, 1) != 1)
		return -1;
	if (adlen > 0 && lib.update(a->ctx, NULL, &n, ad, (int)adlen) != 1)
		return -1;
	if (lib.update(a->ctx, out, &n, pt, (int)ptlen) != 1 ||
	    lib.final(a->ctx, out + ptlen, &n) != 1 ||
	    lib.ctx_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, EVP_AEAD_TAG_LEN,
	    out + ptlen) != 1)
		return -1;
	return 0;
}

int
evp_aead_open(struct evp_aead *a, const uint8_t nonce[EVP_AEAD_NONCE_LEN],
    const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen,
    uint8_t *out)
{
	uint8_t	tag[EVP_AEAD_TAG_LEN];
	size_t	ptlen = ctlen - EVP_AEAD_TAG_LEN;
	int	n;

	memcpy(tag, ct + ptlen, sizeof(tag));
	if (lib.init(a->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    lib.ctx_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) != 1)
		return -1;
	if (adlen > 0 && lib.update(a->ctx, NULL, &n, ad, (int)adlen) != 1)
		return -1;
	/* a stream cipher's final writes nothing: tag will do as out */
	if (lib.update(a->ctx, out, &n, ct, (int)ptlen) != 1 ||
	    lib.final(a->ctx, tag, &n) != 1) {
		lib.cleanse(out, ptlen);
		return -1;
	}
	return 0;
}
