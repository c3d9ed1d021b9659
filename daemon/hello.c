/* SPDX-License-Identifier: ISC */
/*
 * hello.c: encoding and checking HELLO payloads.
 */
#include <string.h>

#include "cbor_scan.h"
#include "hello.h"

void
hello_encode(const struct hello *h, struct cbor_buf *b)
{
	int	i;

	cbor_put_map(b, 5);
	cbor_put_text(b, "v");
	cbor_put_uint(b, h->version);
	cbor_put_text(b, "id");
	cbor_put_bytes(b, h->id, sizeof(h->id));
	cbor_put_text(b, "name");
	cbor_put_text(b, h->name);
	cbor_put_text(b, "listen");
	cbor_put_array(b, (size_t)h->nlisten);
	for (i = 0; i < h->nlisten; i++)
		cbor_put_text(b, h->listen[i]);
	cbor_put_text(b, "features");
	cbor_put_array(b, ((h->features & HELLO_WIDE_BATCH) ? 1 : 0) +
	    ((h->features & HELLO_AUTH) ? 1 : 0));
	if (h->features & HELLO_WIDE_BATCH)
		cbor_put_text(b, "wide-batch");
	if (h->features & HELLO_AUTH)
		cbor_put_text(b, "auth");
}

static bool
text_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/*
 * The features we know of among those named.  What is not a short
 * array of text says nothing: features are only ever optional.
 */
static unsigned
hello_features(const uint8_t *val, size_t vallen)
{
	struct cbor_iter	 it;
	const uint8_t		*item;
	const char		*s;
	size_t			 itemlen, n;
	unsigned		 features = 0;

	if (!cbor_array_iter(val, vallen, &it) ||
	    it.items > HELLO_FEATURES_MAX)
		return 0;
	while (cbor_iter_next(&it, &item, &itemlen)) {
		if (!cbor_read_text(item, itemlen, &s, &n))
			continue;
		if (text_is(s, n, "wide-batch"))
			features |= HELLO_WIDE_BATCH;
		else if (text_is(s, n, "auth"))
			features |= HELLO_AUTH;
	}
	return it.items == 0 ? features : 0;
}

int
hello_decode(const uint8_t *buf, size_t len, struct hello *h,
    const char **why)
{
	struct cbor_field	 f[16];
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*item, *p;
	size_t			 n, itemlen;
	int			 nf;

	memset(h, 0, sizeof(*h));
	if (len > HELLO_MAX ||
	    (nf = cbor_scan_map(buf, len, f, sizeof(f) / sizeof(f[0]))) == -1) {
		*why = "HELLO is not a CBOR map";
		return -1;
	}
	if ((v = cbor_field_get(f, nf, "v")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &h->version)) {
		*why = "HELLO without a version";
		return -1;
	}
	if (h->version != HELLO_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	if ((v = cbor_field_get(f, nf, "id")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &p, &n) || n != NODE_ID_LEN) {
		*why = "HELLO without a 32-byte id";
		return -1;
	}
	memcpy(h->id, p, n);
	if ((v = cbor_field_get(f, nf, "name")) == NULL ||
	    !cbor_read_name(v->val, v->vallen, h->name, sizeof(h->name),
	    node_name_valid)) {
		*why = "HELLO without a valid name";
		return -1;
	}
	if ((v = cbor_field_get(f, nf, "listen")) != NULL) {
		if (!cbor_array_iter(v->val, v->vallen, &it) ||
		    it.items > HELLO_ADDRS_MAX) {
			*why = "HELLO listen is not a short array";
			return -1;
		}
		while (cbor_iter_next(&it, &item, &itemlen)) {
			if (!cbor_read_name(item, itemlen,
			    h->listen[h->nlisten], ADDR_STRLEN, NULL)) {
				*why = "HELLO listen address is not text";
				return -1;
			}
			h->nlisten++;
		}
		if (it.items != 0) {
			*why = "HELLO listen is malformed";
			return -1;
		}
	}
	if ((v = cbor_field_get(f, nf, "features")) != NULL)
		h->features = hello_features(v->val, v->vallen);
	return 0;
}
