/* SPDX-License-Identifier: ISC */
/*
 * token.h: join tokens, the one line `peerctl invite` prints and
 * `peerctl join` / `peerd --join` take: the network key and the inviting
 * node's reachable addresses, and the network's admins if the inviting
 * node knows them, checksummed so that a token damaged in copy and paste
 * is refused rather than misread.
 */
#ifndef PEERD_TOKEN_H
#define PEERD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "base32.h"

#define TOKEN_PREFIX	"peerd1-"
#define TOKEN_KEY_LEN	32
#define TOKEN_ADDRS_MAX	16
#define TOKEN_ADDR_LEN	(HOST_MAX + 8)	/* "[host]:65535" and NUL */
#define TOKEN_SUM_LEN	4		/* checksum bytes after the CBOR */
#define TOKEN_ADMINS_MAX	16		/* ADMINS_MAX */
#define TOKEN_ID_LEN	32		/* a node ID */

/*
 * After the prefix, base32 of the CBOR [bytes key, [text addr, ...]],
 * or [bytes key, [text addr, ...], [bytes admin ID, ...]] when the token
 * names admins, and the first TOKEN_SUM_LEN bytes of its BLAKE2b-256.
 * Every length in the CBOR is below 65536, so each head takes 3 bytes
 * at most; an admin ID's takes 2, as it is 32 bytes long.
 */
#define TOKEN_CBOR_MAX	(3 + (3 + TOKEN_KEY_LEN) + 3 +			\
	    TOKEN_ADDRS_MAX * (3 + TOKEN_ADDR_LEN - 1) + 3 +		\
	    TOKEN_ADMINS_MAX * (2 + TOKEN_ID_LEN))
#define TOKEN_RAW_MAX	(TOKEN_CBOR_MAX + TOKEN_SUM_LEN)
/* The longest token text, and NUL. */
#define TOKEN_STRLEN_MAX						\
	(sizeof(TOKEN_PREFIX) - 1 + BASE32_LEN(TOKEN_RAW_MAX) + 1)

struct token {
	uint8_t	network_key[TOKEN_KEY_LEN];
	/* "host:port", IPv6 addresses in brackets */
	char	addrs[TOKEN_ADDRS_MAX][TOKEN_ADDR_LEN];
	int	naddrs;
	/* The network's admins (admins.h); none: a 2-element token. */
	uint8_t	admins[TOKEN_ADMINS_MAX][TOKEN_ID_LEN];
	int	nadmins;
};

/*
 * Writes the token text into out.  -1 if it does not fit, naddrs is not
 * 1..TOKEN_ADDRS_MAX, nadmins is not 0..TOKEN_ADMINS_MAX, or an address
 * is not HOST:PORT with port 1-65535.
 */
int	token_encode(const struct token *, char *out, size_t cap);
/*
 * Reads a token; surrounding white space and upper case are accepted.
 * 0, or -1 with *why ("not a peerd token", "damaged (checksum)", "no
 * addresses", ...).  A token that decodes encodes back to the same
 * text, less the white space and in lower case.
 */
int	token_decode(const char *text, struct token *, const char **why);

#endif
