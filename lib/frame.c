/* SPDX-License-Identifier: ISC */
/*
 * frame.c: the length prefix of control-socket frames.
 */
#include "frame.h"

enum frame_status
frame_check(const uint8_t *buf, size_t avail, size_t max, uint32_t *len)
{
	uint32_t	n;

	if (avail < FRAME_HDR)
		return FRAME_NEED_MORE;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	*len = n;
	if (n == 0)
		return FRAME_EMPTY;
	if (n > max)
		return FRAME_TOO_BIG;
	if (avail - FRAME_HDR < n)
		return FRAME_NEED_MORE;
	return FRAME_OK;
}

void
frame_put_len(uint8_t hdr[FRAME_HDR], uint32_t len)
{
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
}
