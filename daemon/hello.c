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

	cbor_put_map(b, 5 + (h->has_kg ? 1 : 0) +
	    (h->rv_count > 0 ? 1 : 0));
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
	if (h->has_kg) {
		cbor_put_text(b, "kg");
		cbor_put_array(b, 2);
		cbor_put_uint(b, h->kgen);
		cbor_put_bytes(b, h->kid, HELLO_KID_LEN);
	}
	if (h->rv_count > 0) {
		cbor_put_text(b, "rv");
		cbor_put_array(b, 2);
		cbor_put_uint(b, h->rv_count);
		cbor_put_bytes(b, h->rv, sizeof(h->rv));
	}
}

/*
 * The generation and ID of the sender's network key.  Like features,
 * it is only ever a hint: a malformed one is as none.
 */
static void
hello_kg(const uint8_t *val, size_t vallen, struct hello *h)
{
	struct cbor_iter	 it;
	const uint8_t		*item, *p;
	size_t			 itemlen, n;

	if (!cbor_array_iter(val, vallen, &it) || it.items != 2 ||
	    !cbor_iter_next(&it, &item, &itemlen) ||
	    !cbor_read_uint(item, itemlen, &h->kgen) ||
	    !cbor_iter_next(&it, &item, &itemlen) ||
	    !cbor_read_bytes(item, itemlen, &p, &n) || n != HELLO_KID_LEN) {
		h->kgen = 0;
		return;
	}
	memcpy(h->kid, p, n);
	h->has_kg = true;
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

/*
 * "rv": [count, 8 bytes].  Anything else says nothing: the peer then
 * gets our revocations, which it drops as copies if it has them.
 */
static void
hello_rv(const uint8_t *val, size_t vallen, struct hello *h)
{
	struct cbor_iter	 it;
	const uint8_t		*item, *p;
	size_t			 itemlen, n;

	if (!cbor_array_iter(val, vallen, &it) || it.items != 2 ||
	    !cbor_iter_next(&it, &item, &itemlen) ||
	    !cbor_read_uint(item, itemlen, &h->rv_count) ||
	    !cbor_iter_next(&it, &item, &itemlen) ||
	    !cbor_read_bytes(item, itemlen, &p, &n) || n != sizeof(h->rv)) {
		h->rv_count = UINT64_MAX;
		return;
	}
	memcpy(h->rv, p, n);
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
	if ((v = cbor_field_get(f, nf, "kg")) != NULL)
		hello_kg(v->val, v->vallen, h);
	if ((v = cbor_field_get(f, nf, "rv")) != NULL)
		hello_rv(v->val, v->vallen, h);
	return 0;
}
