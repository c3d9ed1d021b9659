/* SPDX-License-Identifier: ISC */
/*
 * cbor_buf.h: a growable buffer that CBOR is encoded into with libcbor's
 * low-level cbor_encode_* calls, so messages are built in one pass with
 * no intermediate items.
 */
#ifndef PEER_CBOR_BUF_H
#define PEER_CBOR_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cbor_buf {
	uint8_t	*data;		/* owned; free with cbor_buf_free() */
	size_t	 len;
	size_t	 cap;
	bool	 failed;	/* an allocation failed; contents are void */
};

/* Writers never fail on their own: check failed once at the end. */
void	cbor_buf_free(struct cbor_buf *);
void	cbor_buf_reset(struct cbor_buf *);
void	cbor_put_raw(struct cbor_buf *, const void *, size_t);
void	cbor_put_uint(struct cbor_buf *, uint64_t);
void	cbor_put_int(struct cbor_buf *, int64_t);
void	cbor_put_bool(struct cbor_buf *, bool);
void	cbor_put_null(struct cbor_buf *);
void	cbor_put_text(struct cbor_buf *, const char *);
void	cbor_put_textn(struct cbor_buf *, const char *, size_t);
void	cbor_put_bytes(struct cbor_buf *, const void *, size_t);
void	cbor_put_array(struct cbor_buf *, size_t);
void	cbor_put_map(struct cbor_buf *, size_t);

#endif
