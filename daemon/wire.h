/* SPDX-License-Identifier: ISC */
/*
 * wire.h: transport records of mesh links.  On the TCP stream each
 * record is a 2-byte big-endian length and that many bytes of Noise
 * ciphertext.  The plaintext is one flags byte and a chunk of a
 * message; a message longer than one chunk is split over records that
 * carry WIRE_MORE, all but the last of them full.  Small messages
 * sent close together share one record marked WIRE_BATCH, each behind
 * a 2-byte big-endian length, so that they cost one encryption.
 */
#ifndef PEERD_WIRE_H
#define PEERD_WIRE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "noise.h"

#define WIRE_HDR	2
#define WIRE_CHUNK_MAX	(NOISE_MAX_MSG_LEN - NOISE_TAG_LEN - 1)
#define WIRE_RECORD_MIN	(NOISE_TAG_LEN + 1)	/* flags and tag */
#define WIRE_MORE	0x01	/* more chunks of this message follow */
#define WIRE_BATCH	0x02	/* whole small messages, each with a length */
/* Larger messages get records of their own: */
#define WIRE_BATCH_MSG_MAX 2048		/* in a batch to any peer */
#define WIRE_BATCH_WIDE_MAX 16384	/* to a peer that says "wide-batch" */

struct evbuffer;

/*
 * Encrypts msg into records appended to out.  0, or -1 if the cipher
 * is exhausted or memory ran out (the link must then close).
 */
int	wire_seal(struct noise_cipher *, const uint8_t *msg, size_t len,
	    struct evbuffer *out);
/*
 * As wire_seal, for a part of a message whose rest follows in later
 * parts if more is set; such a part is whole chunks (a multiple of
 * WIRE_CHUNK_MAX bytes, else -1).
 */
int	wire_seal_part(struct noise_cipher *, const uint8_t *msg, size_t len,
	    bool more, struct evbuffer *out);

/*
 * Appends msg (at most max bytes, max at most WIRE_BATCH_WIDE_MAX) to
 * the batch being built in buf (WIRE_CHUNK_MAX bytes, *len used).  -1
 * if it is full.
 */
int	wire_batch_add(uint8_t *buf, size_t *len, const uint8_t *msg,
	    size_t mlen, size_t max);
/* Seals a batch into one record; as wire_seal. */
int	wire_seal_batch(struct noise_cipher *, const uint8_t *batch,
	    size_t len, struct evbuffer *out);
/*
 * The next message of a decrypted batch record (*p and *left walk
 * through it, past the flags byte), of at most max bytes: 1 with *msg
 * and *len set, 0 at the end, -1 with *why set if it is malformed.
 */
int	wire_batch_next(const uint8_t **p, size_t *left, const uint8_t **msg,
	    size_t *len, size_t max, const char **why);

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
