/* SPDX-License-Identifier: ISC */
/*
 * hello.h: HELLO, the payload a node sends inside the Noise handshake:
 * protocol version, node ID, name, listen addresses and features.
 */
#ifndef PEERD_HELLO_H
#define PEERD_HELLO_H

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
};

void	hello_encode(const struct hello *, struct cbor_buf *);
/*
 * Decodes and checks a HELLO; unknown keys are ignored.  0, or -1 with
 * *why naming what is wrong.
 */
int	hello_decode(const uint8_t *, size_t, struct hello *,
	    const char **why);

#endif
