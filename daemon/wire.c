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

/* One record: the flags byte, then chunk (at most WIRE_CHUNK_MAX). */
static int
seal_record(struct noise_cipher *c, uint8_t flags, const uint8_t *chunk,
    size_t len, struct evbuffer *out)
{
	struct evbuffer_iovec	 v;
	uint8_t			*p;
	ssize_t			 n;

	if (evbuffer_reserve_space(out, WIRE_HDR + 1 + len + NOISE_TAG_LEN,
	    &v, 1) != 1)
		return -1;
	p = v.iov_base;
	p[WIRE_HDR] = flags;
	memcpy(p + WIRE_HDR + 1, chunk, len);
	n = noise_encrypt(c, NULL, 0, p + WIRE_HDR, 1 + len, p + WIRE_HDR,
	    1 + len + NOISE_TAG_LEN);
	if (n == -1)
		return -1;
	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	v.iov_len = WIRE_HDR + (size_t)n;
	return evbuffer_commit_space(out, &v, 1);
}

int
wire_seal(struct noise_cipher *c, const uint8_t *msg, size_t len,
    struct evbuffer *out)
{
	return wire_seal_part(c, msg, len, false, out);
}

int
wire_seal_part(struct noise_cipher *c, const uint8_t *msg, size_t len,
    bool more, struct evbuffer *out)
{
	size_t	chunk;

	/* Only full chunks may be followed by more. */
	if (more && (len == 0 || len % WIRE_CHUNK_MAX != 0))
		return -1;
	do {
		chunk = len > WIRE_CHUNK_MAX ? WIRE_CHUNK_MAX : len;
		if (seal_record(c, len > chunk || more ? WIRE_MORE : 0, msg,
		    chunk, out) == -1)
			return -1;
		msg += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

int
wire_batch_add(uint8_t *buf, size_t *len, const uint8_t *msg, size_t mlen,
    size_t max)
{
	if (mlen == 0 || mlen > max || mlen > WIRE_BATCH_WIDE_MAX ||
	    WIRE_CHUNK_MAX - *len < 2 + mlen)
		return -1;
	buf[*len] = (uint8_t)(mlen >> 8);
	buf[*len + 1] = (uint8_t)mlen;
	memcpy(buf + *len + 2, msg, mlen);
	*len += 2 + mlen;
	return 0;
}

int
wire_seal_batch(struct noise_cipher *c, const uint8_t *batch, size_t len,
    struct evbuffer *out)
{
	return seal_record(c, WIRE_BATCH, batch, len, out);
}

int
wire_batch_next(const uint8_t **p, size_t *left, const uint8_t **msg,
    size_t *len, size_t max, const char **why)
{
	size_t	n;

	if (*left == 0)
		return 0;
	if (*left < 2 || (n = (size_t)(*p)[0] << 8 | (*p)[1]) == 0 ||
	    n > max || n > *left - 2) {
		*why = "malformed batch";
		return -1;
	}
	*msg = *p + 2;
	*len = n;
	*p += 2 + n;
	*left -= 2 + n;
	return 1;
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
