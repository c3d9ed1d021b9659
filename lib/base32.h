/* SPDX-License-Identifier: ISC */
/*
 * base32.h: RFC 4648 base32, lowercase, without padding: how node IDs
 * are shown to people.
 */
#ifndef PEER_BASE32_H
#define PEER_BASE32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes, without the terminating NUL. */
#define BASE32_LEN(n)	(((n) * 8 + 4) / 5)

/* Writes BASE32_LEN(len) characters and a NUL to out. */
void	base32_encode(const uint8_t *in, size_t len, char *out);
/*
 * Decodes exactly outlen bytes from the NUL-terminated s (either case).
 * False if s has the wrong length, a character outside the alphabet, or
 * non-zero bits after the last whole byte.
 */
bool	base32_decode(const char *s, uint8_t *out, size_t outlen);

#endif
