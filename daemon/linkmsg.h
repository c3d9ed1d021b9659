/* SPDX-License-Identifier: ISC */
/*
 * linkmsg.h: the envelope of every message on a link: a CBOR map whose
 * "t" names its type; ping and pong add a sequence number "n" and an
 * optional "pad".
 */
#ifndef PEERD_LINKMSG_H
#define PEERD_LINKMSG_H

#include <stddef.h>
#include <stdint.h>

#include "cbor_scan.h"

#define LINKMSG_FIELDS_MAX	16
#define LINKMSG_TYPE_MAX	31

struct linkmsg {
	char			type[LINKMSG_TYPE_MAX + 1];
	struct cbor_field	f[LINKMSG_FIELDS_MAX];	/* point into msg */
	int			nf;
};

/* -1 if msg is not a map with a short text "t" free of NUL bytes. */
int	linkmsg_decode(const uint8_t *msg, size_t len, struct linkmsg *);
/*
 * The sequence number of a ping or pong, and its pad as encoded bytes
 * (NULL if absent), so a pong can echo it unchanged.  -1 without "n",
 * or with a pad that is not a byte string.
 */
int	linkmsg_ping(const struct linkmsg *, uint64_t *seq,
	    const uint8_t **pad, size_t *padlen);

#endif
