/* SPDX-License-Identifier: ISC */
/*
 * wire.c: sealing messages into encrypted records, and reassembling
 * them.  Each record is encrypted in place in the output buffer, so a
 * message is copied once on its way out.  Records stay under 64 KiB so
 * that sender, wire and receiver overlap on large messages.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "wire.h"

int
wire_seal(struct noise_cipher *c, const uint8_t *msg, size_t len,
    struct evbuffer *out)
{
	struct evbuffer_iovec	 v;
	uint8_t			*p;
	size_t			 chunk;
	ssize_t			 n;

	do {
		chunk = len > WIRE_CHUNK_MAX ? WIRE_CHUNK_MAX : len;
		if (evbuffer_reserve_space(out, WIRE_HDR + 1 + chunk +
		    NOISE_TAG_LEN, &v, 1) != 1)
			return -1;
		p = v.iov_base;
		p[WIRE_HDR] = len > chunk ? WIRE_MORE : 0;
		memcpy(p + WIRE_HDR + 1, msg, chunk);
		n = noise_encrypt(c, NULL, 0, p + WIRE_HDR, 1 + chunk,
		    p + WIRE_HDR, 1 + chunk + NOISE_TAG_LEN);
		if (n == -1)
			return -1;
		p[0] = (uint8_t)(n >> 8);
		p[1] = (uint8_t)n;
		v.iov_len = WIRE_HDR + (size_t)n;
		if (evbuffer_commit_space(out, &v, 1) == -1)
			return -1;
		msg += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

int
wire_reasm_add(struct wire_reasm *r, const uint8_t *pt, size_t ptlen,
    size_t max, const uint8_t **msg, size_t *len, const char **why)
{
	const uint8_t	*chunk = pt + 1;
	size_t		 n = ptlen - 1, cap;
	uint8_t		*nb;
	bool		 more;

	if (ptlen < 1) {
		*why = "empty record";
		return -1;
	}
	if (pt[0] & ~WIRE_MORE) {
		*why = "unknown record flags";
		return -1;
	}
	more = pt[0] & WIRE_MORE;
	/* Only full chunks may be followed by more: no fragment floods. */
	if (more && n != WIRE_CHUNK_MAX) {
		*why = "short fragment";
		return -1;
	}
	if (n > max - r->len || (more && n == max - r->len)) {
		*why = "message exceeds max_message";
		return -1;
	}
	if (!more && r->len == 0) {
		/* The common case: a whole message in one record, no copy. */
		*msg = chunk;
		*len = n;
		return 1;
	}
	if (r->cap - r->len < n) {
		cap = r->cap ? r->cap : 4 * (size_t)WIRE_CHUNK_MAX;
		while (cap - r->len < n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((nb = realloc(r->buf, cap)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, chunk, n);
	r->len += n;
	if (more)
		return 0;
	*msg = r->buf;
	*len = r->len;
	r->len = 0;	/* the buffer is reused for the next message */
	return 1;
}

void
wire_reasm_free(struct wire_reasm *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
