/* SPDX-License-Identifier: ISC */
/*
 * hello.h: HELLO, the payload a node sends inside the Noise handshake:
 * protocol version, node ID, name, listen addresses, features and the
 * generation of the network key the node has.
 */
#ifndef PEERD_HELLO_H
#define PEERD_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cbor_buf.h"
#include "config.h"
#include "identity.h"

#define HELLO_VERSION	1
#define HELLO_ADDRS_MAX	16
#define HELLO_MAX	4096	/* bytes; far above any real HELLO */
#define HELLO_FEATURES_MAX 16
#define HELLO_KID_LEN	8	/* KEYROT_KID_LEN */
#define HELLO_RV_LEN	8

/* Features, by their names in the HELLO: */
#define HELLO_WIDE_BATCH	0x1	/* "wide-batch": see wire.h */
#define HELLO_AUTH		0x2	/* "auth": seals call messages */

struct hello {
	uint64_t	version;
	uint8_t		id[NODE_ID_LEN];	/* Ed25519 public key */
	char		name[NODE_NAME_MAX + 1];
	char		listen[HELLO_ADDRS_MAX][ADDR_STRLEN];
	int		nlisten;
	unsigned	features;		/* HELLO_* known to both */
	/* "kg": [gen, kid] of the network key (keyrot.h); absent: none. */
	bool		has_kg;
	uint64_t	kgen;
	uint8_t		kid[HELLO_KID_LEN];
	/* "rv": the revocations held, and the XOR of their IDs' hashes. */
	uint64_t	rv_count;
	uint8_t		rv[HELLO_RV_LEN];
};

void	hello_encode(const struct hello *, struct cbor_buf *);
/*
 * Decodes and checks a HELLO; unknown keys are ignored.  0, or -1 with
 * *why naming what is wrong.
 */
int	hello_decode(const uint8_t *, size_t, struct hello *,
	    const char **why);

#endif
