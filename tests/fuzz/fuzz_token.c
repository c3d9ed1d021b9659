/* SPDX-License-Identifier: ISC */
/*
 * fuzz_token.c: libFuzzer target for join tokens: token_decode() on any
 * text a user could paste.
 *
 * The first input byte picks the mode, the rest is the data:
 *
 *	bit 0	0: the data is the token text;
 *		1: the data is the CBOR inside a token, given the prefix
 *		   and a correct checksum here, so the decoding behind the
 *		   checksum is reached.
 *
 * A token that decodes must encode again to the same text, less the
 * white space around it and in lower case, and decode to the same token.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base32.h"
#include "token.h"

#define PLEN	(sizeof(TOKEN_PREFIX) - 1)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_decode(const char *text)
{
	static struct token	 t, back;
	static char		 again[TOKEN_STRLEN_MAX];
	const char		*why = NULL;
	size_t			 len;

	if (token_decode(text, &t, &why) == -1) {
		if (why == NULL || *why == '\0')
			abort();
		return;
	}
	if (t.naddrs < 1 || t.naddrs > TOKEN_ADDRS_MAX ||
	    token_encode(&t, again, sizeof(again)) == -1)
		abort();
	while (isspace((unsigned char)*text))
		text++;
	len = strlen(text);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (strlen(again) != len || strncasecmp(again, text, len) != 0)
		abort();
	if (token_decode(again, &back, &why) == -1 ||
	    memcmp(&t, &back, sizeof(t)) != 0)
		abort();
}

/* Wraps cbor as a token with a correct checksum, then decodes that. */
static void
check_sealed(const uint8_t *cbor, size_t len)
{
	static uint8_t	raw[TOKEN_RAW_MAX];
	static char	text[TOKEN_STRLEN_MAX];
	uint8_t		hash[crypto_generichash_BYTES];

	if (len > TOKEN_CBOR_MAX)
		return;
	memcpy(raw, cbor, len);
	crypto_generichash(hash, sizeof(hash), cbor, len, NULL, 0);
	memcpy(raw + len, hash, TOKEN_SUM_LEN);
	memcpy(text, TOKEN_PREFIX, PLEN);
	base32_encode(raw, len + TOKEN_SUM_LEN, text + PLEN);
	check_decode(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 1) {
		check_sealed(data + 1, size - 1);
		return 0;
	}
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	check_decode(text);
	free(text);
	return 0;
}
