/* SPDX-License-Identifier: ISC */
/*
 * token.c: writing and reading join tokens.  Both directions work in
 * fixed buffers sized from the limits, and a token is accepted only in
 * the exact form token_encode() writes, so each token has one spelling.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <cbor.h>
#include <sodium.h>

#include "cbor_scan.h"
#include "token.h"

#define PREFIX_LEN	(sizeof(TOKEN_PREFIX) - 1)
#define BODY_MAX	BASE32_LEN(TOKEN_RAW_MAX)	/* base32 characters */

/* NULL if s is HOST:PORT with a port to connect to, else what is wrong. */
static const char *
addr_check(const char *s)
{
	char		 host[HOST_MAX], err[8];
	const char	*p;
	uint16_t	 port;

	/* addr_split() checks with isalnum(), which follows the locale. */
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return "bad address";
	if (addr_split(s, host, &port, err, sizeof(err)) == -1)
		return "bad address";
	if (port == 0)
		return "address with port 0";
	return NULL;
}

/*
 * Writes the CBOR of t and its checksum to raw; returns their length,
 * or 0 with *why if t cannot be written.
 */
static size_t
token_pack(const struct token *t, uint8_t raw[TOKEN_RAW_MAX],
    const char **why)
{
	uint8_t		 hash[crypto_generichash_BYTES];
	const char	*bad;
	size_t		 len, n;
	int		 i;

	if (t->naddrs < 1) {
		*why = "no addresses";
		return 0;
	}
	if (t->naddrs > TOKEN_ADDRS_MAX) {
		*why = "too many addresses";
		return 0;
	}
	if (t->nadmins < 0 || t->nadmins > TOKEN_ADMINS_MAX) {
		*why = "too many admins";
		return 0;
	}
	/* TOKEN_CBOR_MAX holds the largest t, so none of this can run out. */
	len = cbor_encode_array_start(t->nadmins > 0 ? 3 : 2, raw,
	    TOKEN_CBOR_MAX);
	len += cbor_encode_bytestring_start(TOKEN_KEY_LEN, raw + len,
	    TOKEN_CBOR_MAX - len);
	memcpy(raw + len, t->network_key, TOKEN_KEY_LEN);
	len += TOKEN_KEY_LEN;
	len += cbor_encode_array_start((size_t)t->naddrs, raw + len,
	    TOKEN_CBOR_MAX - len);
	for (i = 0; i < t->naddrs; i++) {
		n = strnlen(t->addrs[i], TOKEN_ADDR_LEN);
		if (n == TOKEN_ADDR_LEN) {	/* not NUL-terminated */
			*why = "bad address";
			return 0;
		}
		if ((bad = addr_check(t->addrs[i])) != NULL) {
			*why = bad;
			return 0;
		}
		len += cbor_encode_string_start(n, raw + len,
		    TOKEN_CBOR_MAX - len);
		memcpy(raw + len, t->addrs[i], n);
		len += n;
	}
	/* Without admins, the form that peerd before admins reads too. */
	if (t->nadmins > 0) {
		len += cbor_encode_array_start((size_t)t->nadmins, raw + len,
		    TOKEN_CBOR_MAX - len);
		for (i = 0; i < t->nadmins; i++) {
			len += cbor_encode_bytestring_start(TOKEN_ID_LEN,
			    raw + len, TOKEN_CBOR_MAX - len);
			memcpy(raw + len, t->admins[i], TOKEN_ID_LEN);
			len += TOKEN_ID_LEN;
		}
	}
	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	memcpy(raw + len, hash, TOKEN_SUM_LEN);
	return len + TOKEN_SUM_LEN;
}

/* The third element, the admins' IDs: at least one (else two elements). */
static int
admins_unpack(struct cbor_iter *top, struct token *t, const char **why)
{
	struct cbor_iter	 list;
	const uint8_t		*item, *id;
	size_t			 itemlen, n;

	if (!cbor_iter_next(top, &item, &itemlen) ||
	    !cbor_array_iter(item, itemlen, &list) || list.items == 0) {
		*why = "malformed contents";
		return -1;
	}
	if (list.items > TOKEN_ADMINS_MAX) {
		*why = "too many admins";
		return -1;
	}
	while (cbor_iter_next(&list, &item, &itemlen)) {
		if (!cbor_read_bytes(item, itemlen, &id, &n) ||
		    n != TOKEN_ID_LEN) {
			*why = "admin ID is not 32 bytes";
			return -1;
		}
		memcpy(t->admins[t->nadmins++], id, TOKEN_ID_LEN);
	}
	if (list.items != 0) {
		*why = "malformed contents";
		return -1;
	}
	return 0;
}

/* Reads the CBOR of a token whose checksum has been checked. */
static int
token_unpack(const uint8_t *cbor, size_t len, struct token *t,
    const char **why)
{
	struct cbor_iter	 top, list;
	const uint8_t		*item, *key;
	const char		*bad;
	size_t			 itemlen, n;

	if (!cbor_array_iter(cbor, len, &top) ||
	    (top.items != 2 && top.items != 3) ||
	    !cbor_iter_next(&top, &item, &itemlen)) {
		*why = "malformed contents";
		return -1;
	}
	if (!cbor_read_bytes(item, itemlen, &key, &n) || n != TOKEN_KEY_LEN) {
		*why = "network key is not 32 bytes";
		return -1;
	}
	memcpy(t->network_key, key, n);
	if (!cbor_iter_next(&top, &item, &itemlen) ||
	    !cbor_array_iter(item, itemlen, &list)) {
		*why = "malformed contents";
		return -1;
	}
	if (list.items == 0) {
		*why = "no addresses";
		return -1;
	}
	if (list.items > TOKEN_ADDRS_MAX) {
		*why = "too many addresses";
		return -1;
	}
	while (cbor_iter_next(&list, &item, &itemlen)) {
		if (!cbor_read_name(item, itemlen, t->addrs[t->naddrs],
		    TOKEN_ADDR_LEN, NULL)) {
			*why = "bad address";
			return -1;
		}
		if ((bad = addr_check(t->addrs[t->naddrs])) != NULL) {
			*why = bad;
			return -1;
		}
		t->naddrs++;
	}
	if (list.items != 0) {
		*why = "malformed contents";
		return -1;
	}
	if (top.items == 1 && admins_unpack(&top, t, why) == -1)
		return -1;
	if (top.left != 0) {
		*why = "malformed contents";
		return -1;
	}
	return 0;
}

int
token_encode(const struct token *t, char *out, size_t cap)
{
	uint8_t		 raw[TOKEN_RAW_MAX];
	const char	*why;
	size_t		 len;
	int		 rc = -1;

	if (cap > 0)
		out[0] = '\0';
	if ((len = token_pack(t, raw, &why)) != 0 &&
	    PREFIX_LEN + BASE32_LEN(len) < cap) {
		memcpy(out, TOKEN_PREFIX, PREFIX_LEN);
		base32_encode(raw, len, out + PREFIX_LEN);
		rc = 0;
	}
	sodium_memzero(raw, sizeof(raw));	/* it holds the network key */
	return rc;
}

static bool
base32_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '2' && c <= '7');
}

/*
 * Copies the base32 between the prefix and any surrounding white space
 * to body, NUL-terminated; returns the number of bytes it encodes, or 0
 * with *why if text cannot be a token.
 */
static size_t
token_body(const char *text, char body[BODY_MAX + 1], const char **why)
{
	size_t	len, rawlen, i;

	/* Copy and paste brings spaces and a newline along. */
	while (isspace((unsigned char)*text))
		text++;
	len = strlen(text);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len < PREFIX_LEN ||
	    strncasecmp(text, TOKEN_PREFIX, PREFIX_LEN) != 0) {
		*why = "not a peerd token";
		return 0;
	}
	text += PREFIX_LEN;
	len -= PREFIX_LEN;
	if (len > BODY_MAX) {
		*why = "too long for a peerd token";
		return 0;
	}
	for (i = 0; i < len; i++)
		if (!base32_char(text[i])) {
			*why = "damaged (not base32)";
			return 0;
		}
	/* Only some lengths are whole bytes; a cut token may not be. */
	rawlen = len * 5 / 8;
	if (BASE32_LEN(rawlen) != len || rawlen <= TOKEN_SUM_LEN) {
		*why = "damaged (length)";
		return 0;
	}
	memcpy(body, text, len);
	body[len] = '\0';
	return rawlen;
}

int
token_decode(const char *text, struct token *t, const char **why)
{
	uint8_t	raw[TOKEN_RAW_MAX], again[TOKEN_RAW_MAX];
	uint8_t	hash[crypto_generichash_BYTES];
	char	body[BODY_MAX + 1];
	size_t	len;
	int	rc = -1;

	memset(t, 0, sizeof(*t));
	if ((len = token_body(text, body, why)) == 0)
		return -1;
	/* Stray low bits in the last character count as damage too. */
	if (!base32_decode(body, raw, len)) {
		*why = "damaged (checksum)";
		goto out;
	}
	len -= TOKEN_SUM_LEN;
	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	if (memcmp(hash, raw + len, TOKEN_SUM_LEN) != 0) {
		*why = "damaged (checksum)";
		goto out;
	}
	if (token_unpack(raw, len, t, why) == -1)
		goto out;
	/* Other encodings of the same CBOR would give a token two spellings. */
	if (token_pack(t, again, why) != len + TOKEN_SUM_LEN ||
	    memcmp(again, raw, len) != 0) {
		*why = "malformed contents";
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		sodium_memzero(t, sizeof(*t));
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(again, sizeof(again));
	sodium_memzero(body, sizeof(body));
	return rc;
}
