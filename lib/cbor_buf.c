/* SPDX-License-Identifier: ISC */
/*
 * cbor_buf.c: encoding CBOR into a growable buffer.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cbor_buf.h"

#define CBOR_HEAD_MAX	9	/* initial byte + 8-byte argument */

static bool
cbor_buf_reserve(struct cbor_buf *b, size_t n)
{
	size_t	 cap;
	uint8_t	*p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void
cbor_buf_free(struct cbor_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
cbor_buf_reset(struct cbor_buf *b)
{
	b->len = 0;
	b->failed = false;
}

void
cbor_put_raw(struct cbor_buf *b, const void *p, size_t n)
{
	if (n == 0 || !cbor_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Runs one cbor_encode_* call into reserved space. */
#define PUT_HEAD(b, call) do {						\
	if (cbor_buf_reserve((b), CBOR_HEAD_MAX))			\
		(b)->len += call;					\
} while (0)
#define TAIL(b)	((b)->data + (b)->len), ((b)->cap - (b)->len)

void
cbor_put_uint(struct cbor_buf *b, uint64_t v)
{
	PUT_HEAD(b, cbor_encode_uint(v, TAIL(b)));
}

void
cbor_put_int(struct cbor_buf *b, int64_t v)
{
	if (v >= 0)
		PUT_HEAD(b, cbor_encode_uint((uint64_t)v, TAIL(b)));
	else	/* CBOR stores -1 - n */
		PUT_HEAD(b, cbor_encode_negint((uint64_t)(-(v + 1)), TAIL(b)));
}

void
cbor_put_bool(struct cbor_buf *b, bool v)
{
	PUT_HEAD(b, cbor_encode_bool(v, TAIL(b)));
}

void
cbor_put_null(struct cbor_buf *b)
{
	PUT_HEAD(b, cbor_encode_null(TAIL(b)));
}

void
cbor_put_textn(struct cbor_buf *b, const char *s, size_t n)
{
	PUT_HEAD(b, cbor_encode_string_start(n, TAIL(b)));
	cbor_put_raw(b, s, n);
}

void
cbor_put_text(struct cbor_buf *b, const char *s)
{
	cbor_put_textn(b, s, strlen(s));
}

void
cbor_put_bytes(struct cbor_buf *b, const void *p, size_t n)
{
	PUT_HEAD(b, cbor_encode_bytestring_start(n, TAIL(b)));
	cbor_put_raw(b, p, n);
}

void
cbor_put_array(struct cbor_buf *b, size_t n)
{
	PUT_HEAD(b, cbor_encode_array_start(n, TAIL(b)));
}

void
cbor_put_map(struct cbor_buf *b, size_t n)
{
	PUT_HEAD(b, cbor_encode_map_start(n, TAIL(b)));
}
