/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ctl_frame.c: libFuzzer target for everything the daemon and
 * libpeer decode from a control socket: frame lengths, the message map,
 * error values and typed field reads.
 */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
read_fields(const struct ctl_msg *m)
{
	const char	*s;
	size_t		 n, count, off;
	uint64_t	 u;
	bool		 b;
	enum peer_code	 code;
	char		 msg[64];
	int		 i;

	for (i = 0; i < m->nf; i++) {
		(void)cbor_read_uint(m->f[i].val, m->f[i].vallen, &u);
		(void)cbor_read_bool(m->f[i].val, m->f[i].vallen, &b);
		(void)cbor_read_text(m->f[i].val, m->f[i].vallen, &s, &n);
		if (cbor_read_array(m->f[i].val, m->f[i].vallen, &count, &off))
			(void)cbor_scan_item(m->f[i].val + off,
			    m->f[i].vallen - off);
		(void)ctl_read_error(&m->f[i], &code, msg, sizeof(msg));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg	m;
	uint32_t	len;
	char		why[160];

	/* As a stream of frames, the way the server reads them. */
	while (frame_check(data, size, 1 << 16, &len) == FRAME_OK) {
		if (ctl_msg_decode(data + FRAME_HDR, len, &m, why,
		    sizeof(why)) == 0)
			read_fields(&m);
		data += FRAME_HDR + len;
		size -= FRAME_HDR + len;
	}
	/* And the whole input as one payload. */
	if (ctl_msg_decode(data, size, &m, why, sizeof(why)) == 0)
		read_fields(&m);
	return 0;
}
