/* SPDX-License-Identifier: ISC */
/*
 * base32.c: RFC 4648 base32 without padding, lowercase on output.
 */
#include <string.h>

#include "base32.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

void
base32_encode(const uint8_t *in, size_t len, char *out)
{
	uint32_t	acc = 0;
	int		bits = 0;
	size_t		i, o = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static int
base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

bool
base32_decode(const char *s, uint8_t *out, size_t outlen)
{
	uint32_t	acc = 0;
	int		bits = 0, v;
	size_t		o = 0;

	if (strlen(s) != BASE32_LEN(outlen))
		return false;
	for (; *s != '\0'; s++) {
		if ((v = base32_value(*s)) == -1)
			return false;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	/* Canonical form only: the unused low bits must be zero. */
	return (acc & ((1u << bits) - 1)) == 0;
}
