/* SPDX-License-Identifier: ISC */
/*
 * frame.h: control-socket framing, a 4-byte big-endian length followed
 * by that many bytes of CBOR.
 */
#ifndef PEER_FRAME_H
#define PEER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR	4

enum frame_status {
	FRAME_NEED_MORE,	/* fewer than FRAME_HDR + length bytes buffered */
	FRAME_OK,		/* a whole frame is buffered */
	FRAME_TOO_BIG,		/* declared length exceeds the limit */
	FRAME_EMPTY,		/* declared length is zero */
};

/*
 * Looks at the avail bytes at buf.  Sets *len to the declared payload
 * length as soon as the header is complete, so that an oversized frame
 * is refused before any of its payload is buffered.
 */
enum frame_status frame_check(const uint8_t *buf, size_t avail, size_t max,
		    uint32_t *len);
void		 frame_put_len(uint8_t hdr[FRAME_HDR], uint32_t len);

#endif
