/* SPDX-License-Identifier: ISC */
/*
 * cbor_scan.c: well-formedness and extent of encoded CBOR, driven by
 * libcbor's streaming decoder one head at a time.  Nothing here
 * allocates, so a sender's declared counts cost nothing until the bytes
 * to back them have arrived.
 */
#include <string.h>

#include <cbor.h>

#include "cbor_scan.h"

enum scan_frame {
	SCAN_DEFINITE,		/* array or map with items left */
	SCAN_INDEF,		/* indefinite array */
	SCAN_INDEF_MAP,		/* indefinite map */
	SCAN_INDEF_BYTES,	/* chunked byte string */
	SCAN_INDEF_TEXT,	/* chunked text string */
};

struct scan {
	enum scan_frame	 kind[CBOR_SCAN_DEPTH];
	uint64_t	 left[CBOR_SCAN_DEPTH];	/* items, or map parity */
	int		 depth;
	int		 max;		/* deepest nesting allowed here */
	int		 tags;		/* tags waiting for their item */
	size_t		 avail;		/* bytes after the current head */
	bool		 done;		/* the top-level item is complete */
	bool		 error;
};

/* One whole item ended: count it in its container, closing finished ones. */
static void
scan_complete(struct scan *s)
{
	s->tags = 0;
	for (;;) {
		if (s->depth == 0) {
			s->done = true;
			return;
		}
		switch (s->kind[s->depth - 1]) {
		case SCAN_DEFINITE:
			if (--s->left[s->depth - 1] > 0)
				return;
			s->depth--;
			break;
		case SCAN_INDEF_MAP:
			s->left[s->depth - 1] ^= 1;
			return;
		case SCAN_INDEF:
			return;
		default:	/* chunks are handled in scan_string */
			s->error = true;
			return;
		}
	}
}

static bool
scan_in_string(struct scan *s)
{
	return s->depth > 0 && (s->kind[s->depth - 1] == SCAN_INDEF_BYTES ||
	    s->kind[s->depth - 1] == SCAN_INDEF_TEXT);
}

static void
scan_leaf(struct scan *s)
{
	if (scan_in_string(s))
		s->error = true;
	else
		scan_complete(s);
}

static void
scan_push(struct scan *s, enum scan_frame kind, uint64_t left)
{
	if (scan_in_string(s) || s->depth >= s->max) {
		s->error = true;
		return;
	}
	s->tags = 0;
	s->kind[s->depth] = kind;
	s->left[s->depth] = left;
	s->depth++;
}

static void
scan_string(struct scan *s, enum scan_frame chunked)
{
	if (scan_in_string(s)) {
		/* A chunk must be a definite string of the same type. */
		if (s->kind[s->depth - 1] != chunked)
			s->error = true;
		return;
	}
	scan_complete(s);
}

static void cb_uint8(void *c, uint8_t v) { (void)v; scan_leaf(c); }
static void cb_uint16(void *c, uint16_t v) { (void)v; scan_leaf(c); }
static void cb_uint32(void *c, uint32_t v) { (void)v; scan_leaf(c); }
static void cb_uint64(void *c, uint64_t v) { (void)v; scan_leaf(c); }
static void cb_simple(void *c) { scan_leaf(c); }
static void cb_bool(void *c, bool v) { (void)v; scan_leaf(c); }
static void cb_float(void *c, float v) { (void)v; scan_leaf(c); }
static void cb_double(void *c, double v) { (void)v; scan_leaf(c); }

static void
cb_bytes(void *c, cbor_data d, size_t n)
{
	(void)d; (void)n;
	scan_string(c, SCAN_INDEF_BYTES);
}

/*
 * RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF.  CBOR text (each chunk on its own) must be valid UTF-8.
 */
bool
cbor_text_valid(const void *buf, size_t n)
{
	const uint8_t	*s = buf;
	size_t		i = 0, len, k;
	uint32_t	cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			len = 2; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4; cp = s[i] & 0x07; min = 0x10000;
		} else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void
cb_text(void *c, cbor_data d, size_t n)
{
	if (!cbor_text_valid(d, n))
		((struct scan *)c)->error = true;
	else
		scan_string(c, SCAN_INDEF_TEXT);
}

static void cb_bytes_start(void *c) { scan_push(c, SCAN_INDEF_BYTES, 0); }
static void cb_text_start(void *c) { scan_push(c, SCAN_INDEF_TEXT, 0); }
static void cb_indef_array(void *c) { scan_push(c, SCAN_INDEF, 0); }
static void cb_indef_map(void *c) { scan_push(c, SCAN_INDEF_MAP, 0); }

/*
 * Every item takes a byte at least, so a count larger than the bytes
 * left is malformed; this also keeps n * 2 from wrapping.
 */
static void
cb_array(void *c, size_t n)
{
	struct scan	*s = c;

	if (n > s->avail)
		s->error = true;
	else if (n == 0)
		scan_leaf(c);
	else
		scan_push(c, SCAN_DEFINITE, n);
}

static void
cb_map(void *c, size_t n)
{
	struct scan	*s = c;

	if (n > s->avail / 2)
		s->error = true;
	else if (n == 0)
		scan_leaf(c);
	else
		scan_push(c, SCAN_DEFINITE, (uint64_t)n * 2);
}

static void
cb_tag(void *c, uint64_t v)
{
	struct scan	*s = c;

	(void)v;
	if (scan_in_string(s) || ++s->tags > CBOR_SCAN_DEPTH)
		s->error = true;
}

static void
cb_break(void *c)
{
	struct scan	*s = c;
	enum scan_frame	 k;

	if (s->depth == 0 || s->tags > 0) {
		s->error = true;
		return;
	}
	k = s->kind[s->depth - 1];
	if (k == SCAN_DEFINITE || (k == SCAN_INDEF_MAP && s->left[s->depth - 1])) {
		s->error = true;	/* not indefinite, or a key without value */
		return;
	}
	s->depth--;
	scan_complete(s);
}

static const struct cbor_callbacks scan_callbacks = {
	.uint8 = cb_uint8, .uint16 = cb_uint16,
	.uint32 = cb_uint32, .uint64 = cb_uint64,
	.negint8 = cb_uint8, .negint16 = cb_uint16,
	.negint32 = cb_uint32, .negint64 = cb_uint64,
	.byte_string = cb_bytes, .byte_string_start = cb_bytes_start,
	.string = cb_text, .string_start = cb_text_start,
	.array_start = cb_array, .indef_array_start = cb_indef_array,
	.map_start = cb_map, .indef_map_start = cb_indef_map,
	.tag = cb_tag,
	.float2 = cb_float, .float4 = cb_float, .float8 = cb_double,
	.undefined = cb_simple, .null = cb_simple, .boolean = cb_bool,
	.indef_break = cb_break,
};

size_t
cbor_scan_item(const uint8_t *buf, size_t len)
{
	return cbor_scan_item_in(buf, len, 0);
}

size_t
cbor_scan_item_in(const uint8_t *buf, size_t len, int level)
{
	struct scan			 s;
	struct cbor_decoder_result	 r;
	size_t				 off = 0;

	if (level < 0 || level >= CBOR_SCAN_DEPTH)
		return 0;
	memset(&s, 0, sizeof(s));
	s.max = CBOR_SCAN_DEPTH - level;
	while (!s.done) {
		if (off >= len)
			return 0;
		/* An upper bound on what follows the head: enough to refuse. */
		s.avail = len - off - 1;
		r = cbor_stream_decode(buf + off, len - off, &scan_callbacks, &s);
		if (r.status != CBOR_DECODER_FINISHED || s.error)
			return 0;
		off += r.read;
	}
	return off;
}

/* One head, decoded into whichever of these its callback fills. */
struct head {
	enum {
		HEAD_OTHER, HEAD_UINT, HEAD_BOOL, HEAD_BYTES, HEAD_TEXT,
		HEAD_ARRAY, HEAD_MAP, HEAD_INDEF_MAP, HEAD_BREAK,
	}		 type;
	uint64_t	 u;
	bool		 b;
	const char	*s;
	size_t		 n;
};

static void hd_u8(void *c, uint8_t v) { ((struct head *)c)->type = HEAD_UINT; ((struct head *)c)->u = v; }
static void hd_u16(void *c, uint16_t v) { ((struct head *)c)->type = HEAD_UINT; ((struct head *)c)->u = v; }
static void hd_u32(void *c, uint32_t v) { ((struct head *)c)->type = HEAD_UINT; ((struct head *)c)->u = v; }
static void hd_u64(void *c, uint64_t v) { ((struct head *)c)->type = HEAD_UINT; ((struct head *)c)->u = v; }
static void hd_bool(void *c, bool v) { ((struct head *)c)->type = HEAD_BOOL; ((struct head *)c)->b = v; }
static void hd_indef_map(void *c) { ((struct head *)c)->type = HEAD_INDEF_MAP; }
static void hd_break(void *c) { ((struct head *)c)->type = HEAD_BREAK; }

static void
hd_text(void *c, cbor_data d, size_t n)
{
	struct head	*h = c;

	if (!cbor_text_valid(d, n))
		return;		/* stays HEAD_OTHER: not a usable string */
	h->type = HEAD_TEXT;
	h->s = (const char *)d;
	h->n = n;
}

static void
hd_bytes(void *c, cbor_data d, size_t n)
{
	struct head	*h = c;

	h->type = HEAD_BYTES;
	h->s = (const char *)d;
	h->n = n;
}

static void
hd_array(void *c, size_t n)
{
	((struct head *)c)->type = HEAD_ARRAY;
	((struct head *)c)->n = n;
}

static void
hd_map(void *c, size_t n)
{
	((struct head *)c)->type = HEAD_MAP;
	((struct head *)c)->n = n;
}

static const struct cbor_callbacks head_callbacks = {
	.uint8 = hd_u8, .uint16 = hd_u16, .uint32 = hd_u32, .uint64 = hd_u64,
	.negint8 = cbor_null_negint8_callback,
	.negint16 = cbor_null_negint16_callback,
	.negint32 = cbor_null_negint32_callback,
	.negint64 = cbor_null_negint64_callback,
	.byte_string = hd_bytes,
	.byte_string_start = cbor_null_byte_string_start_callback,
	.string = hd_text, .string_start = cbor_null_string_start_callback,
	.array_start = hd_array,
	.indef_array_start = cbor_null_indef_array_start_callback,
	.map_start = hd_map, .indef_map_start = hd_indef_map,
	.tag = cbor_null_tag_callback,
	.float2 = cbor_null_float2_callback,
	.float4 = cbor_null_float4_callback,
	.float8 = cbor_null_float8_callback,
	.undefined = cbor_null_undefined_callback,
	.null = cbor_null_null_callback,
	.boolean = hd_bool, .indef_break = hd_break,
};

/* Decodes the head at buf; returns its length, or 0 if malformed. */
static size_t
head_read(const uint8_t *buf, size_t len, struct head *h)
{
	struct cbor_decoder_result	r;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	r = cbor_stream_decode(buf, len, &head_callbacks, h);
	if (r.status != CBOR_DECODER_FINISHED)
		return 0;
	return r.read;
}

int
cbor_scan_map(const uint8_t *buf, size_t len, struct cbor_field *f,
    size_t max)
{
	struct head	h;
	size_t		off, n, i, nfields = 0;
	bool		indef;
	int		j;

	if ((off = head_read(buf, len, &h)) == 0)
		return -1;
	if (h.type == HEAD_MAP)
		indef = false;
	else if (h.type == HEAD_INDEF_MAP)
		indef = true;
	else
		return -1;
	for (i = 0; indef || i < h.n; i++) {
		struct head	k;

		if ((n = head_read(buf + off, len - off, &k)) == 0)
			return -1;
		if (indef && k.type == HEAD_BREAK) {
			off += n;
			break;
		}
		if (k.type != HEAD_TEXT || nfields == max)
			return -1;
		for (j = 0; j < (int)nfields; j++)
			if (f[j].keylen == k.n && memcmp(f[j].key, k.s, k.n) == 0)
				return -1;
		off += n;
		f[nfields].key = k.s;
		f[nfields].keylen = k.n;
		f[nfields].val = buf + off;
		if ((n = cbor_scan_item(buf + off, len - off)) == 0)
			return -1;
		f[nfields++].vallen = n;
		off += n;
	}
	if (off != len)
		return -1;
	return (int)nfields;
}

const struct cbor_field *
cbor_field_get(const struct cbor_field *f, int n, const char *key)
{
	size_t	klen = strlen(key);
	int	i;

	for (i = 0; i < n; i++)
		if (f[i].keylen == klen && memcmp(f[i].key, key, klen) == 0)
			return &f[i];
	return NULL;
}

bool
cbor_field_uint(const struct cbor_field *f, int n, const char *key,
    uint64_t *u)
{
	const struct cbor_field	*v = cbor_field_get(f, n, key);

	return v != NULL && cbor_read_uint(v->val, v->vallen, u);
}

bool
cbor_field_bytes(const struct cbor_field *f, int n, const char *key,
    const uint8_t **p, size_t *len)
{
	const struct cbor_field	*v = cbor_field_get(f, n, key);

	return v != NULL && cbor_read_bytes(v->val, v->vallen, p, len);
}

bool
cbor_read_uint(const uint8_t *buf, size_t len, uint64_t *v)
{
	struct head	h;

	if (head_read(buf, len, &h) != len || h.type != HEAD_UINT)
		return false;
	*v = h.u;
	return true;
}

bool
cbor_read_bool(const uint8_t *buf, size_t len, bool *v)
{
	struct head	h;

	if (head_read(buf, len, &h) != len || h.type != HEAD_BOOL)
		return false;
	*v = h.b;
	return true;
}

bool
cbor_read_bytes(const uint8_t *buf, size_t len, const uint8_t **p, size_t *n)
{
	struct head	h;

	if (head_read(buf, len, &h) != len || h.type != HEAD_BYTES)
		return false;
	*p = (const uint8_t *)h.s;
	*n = h.n;
	return true;
}

bool
cbor_read_text(const uint8_t *buf, size_t len, const char **s, size_t *n)
{
	struct head	h;

	if (head_read(buf, len, &h) != len || h.type != HEAD_TEXT)
		return false;
	*s = h.s;
	*n = h.n;
	return true;
}

bool
cbor_read_array(const uint8_t *buf, size_t len, size_t *count, size_t *off)
{
	struct head	h;
	size_t		n;

	if ((n = head_read(buf, len, &h)) == 0 || h.type != HEAD_ARRAY)
		return false;
	*count = h.n;
	*off = n;
	return true;
}

bool
cbor_array_iter(const uint8_t *buf, size_t len, struct cbor_iter *it)
{
	size_t	count, off;

	/* Each element takes a byte at least: a larger count is a lie. */
	if (!cbor_read_array(buf, len, &count, &off) || count > len - off)
		return false;
	it->p = buf + off;
	it->left = len - off;
	it->items = count;
	return true;
}

bool
cbor_iter_next(struct cbor_iter *it, const uint8_t **item, size_t *len)
{
	size_t	n;

	if (it->items == 0 || (n = cbor_scan_item(it->p, it->left)) == 0)
		return false;
	*item = it->p;
	*len = n;
	it->p += n;
	it->left -= n;
	it->items--;
	return true;
}

bool
cbor_map_begin(const uint8_t *buf, size_t len, struct cbor_map_iter *it)
{
	struct head	h;
	size_t		n;

	memset(it, 0, sizeof(*it));
	if ((n = head_read(buf, len, &h)) == 0)
		return false;
	if (h.type == HEAD_INDEF_MAP)
		it->indef = true;
	/* Each entry takes two bytes at least: a larger count is a lie. */
	else if (h.type != HEAD_MAP || h.n > (len - n) / 2)
		return false;
	it->p = buf + n;
	it->left = len - n;
	it->entries = h.n;
	return true;
}

bool
cbor_map_next(struct cbor_map_iter *it, const uint8_t **key, size_t *keylen,
    const uint8_t **val, size_t *vallen)
{
	size_t	kn, vn;

	if (it->done)
		return false;
	if (it->indef ? it->left > 0 && it->p[0] == 0xff : it->entries == 0) {
		if (it->indef) {
			it->p++;
			it->left--;
		}
		it->done = true;
		return false;
	}
	if ((kn = cbor_scan_item(it->p, it->left)) == 0 ||
	    (vn = cbor_scan_item(it->p + kn, it->left - kn)) == 0)
		return false;
	*key = it->p;
	*keylen = kn;
	*val = it->p + kn;
	*vallen = vn;
	it->p += kn + vn;
	it->left -= kn + vn;
	if (!it->indef)
		it->entries--;
	return true;
}

bool
cbor_read_name(const uint8_t *val, size_t len, char *buf, size_t cap,
    bool (*valid)(const char *, size_t))
{
	const char	*s;
	size_t		 n;

	if (!cbor_read_text(val, len, &s, &n) || n >= cap ||
	    memchr(s, '\0', n) != NULL || (valid != NULL && !valid(s, n)))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}
