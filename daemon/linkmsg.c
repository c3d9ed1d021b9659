/* SPDX-License-Identifier: ISC */
/*
 * linkmsg.c: decoding the envelope of link messages, in place.
 */
#include <string.h>

#include "linkmsg.h"

int
linkmsg_decode(const uint8_t *msg, size_t len, struct linkmsg *m)
{
	const struct cbor_field	*t;
	const char		*type;
	size_t			 tlen;

	m->nf = cbor_scan_map(msg, len, m->f, LINKMSG_FIELDS_MAX);
	if (m->nf == -1 || (t = cbor_field_get(m->f, m->nf, "t")) == NULL ||
	    !cbor_read_text(t->val, t->vallen, &type, &tlen) ||
	    tlen > LINKMSG_TYPE_MAX || memchr(type, '\0', tlen) != NULL)
		return -1;
	memcpy(m->type, type, tlen);
	m->type[tlen] = '\0';
	return 0;
}

int
linkmsg_ping(const struct linkmsg *m, uint64_t *seq, const uint8_t **pad,
    size_t *padlen)
{
	const struct cbor_field	*n, *p;
	const uint8_t		*bytes;
	size_t			 len;

	if ((n = cbor_field_get(m->f, m->nf, "n")) == NULL ||
	    !cbor_read_uint(n->val, n->vallen, seq))
		return -1;
	/* The pad is echoed as it came: it must be what it claims. */
	if ((p = cbor_field_get(m->f, m->nf, "pad")) != NULL &&
	    !cbor_read_bytes(p->val, p->vallen, &bytes, &len))
		return -1;
	*pad = p != NULL ? p->val : NULL;
	*padlen = p != NULL ? p->vallen : 0;
	return 0;
}
