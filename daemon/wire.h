/* SPDX-License-Identifier: ISC */
/*
 * wire.h: transport records of mesh links.  On the TCP stream each
 * record is a 2-byte big-endian length and that many bytes of Noise
 * ciphertext.  The plaintext is one flags byte and a chunk of a
 * message; a message longer than one chunk is split over records that
 * carry WIRE_MORE, all but the last of them full.
 */
#ifndef PEERD_WIRE_H
#define PEERD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define WIRE_HDR	2
#define WIRE_CHUNK_MAX	(NOISE_MAX_MSG_LEN - NOISE_TAG_LEN - 1)
#define WIRE_RECORD_MIN	(NOISE_TAG_LEN + 1)	/* flags and tag */
#define WIRE_MORE	0x01	/* more chunks of this message follow */

struct evbuffer;

/*
 * Encrypts msg into records appended to out.  0, or -1 if the cipher
 * is exhausted or memory ran out (the link must then close).
 */
int	wire_seal(struct noise_cipher *, const uint8_t *msg, size_t len,
	    struct evbuffer *out);

/* A message being put back together from its chunks. */
struct wire_reasm {
	uint8_t	*buf;
	size_t	 len;
	size_t	 cap;
};

/*
 * Takes one decrypted record (flags byte and chunk).  Returns 1 with
 * *msg and *len set when a message is complete (valid until the next
 * call; it may point into pt), 0 if more chunks are due, or -1 with
 * *why set if the record breaks the rules or the message would exceed
 * max bytes.
 */
int	wire_reasm_add(struct wire_reasm *, const uint8_t *pt, size_t ptlen,
	    size_t max, const uint8_t **msg, size_t *len, const char **why);
void	wire_reasm_free(struct wire_reasm *);

#endif
