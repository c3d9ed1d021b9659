/* SPDX-License-Identifier: ISC */
/*
 * cbor_json.c: converting decoded libcbor items to jansson values, and
 * jansson values to encoded CBOR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"

static json_t	*item_to_json(const cbor_item_t *, int depth);

static json_t *
string_to_json(const cbor_item_t *it)
{
	cbor_item_t	**chunks;
	json_t		 *j;
	char		 *s;
	size_t		  n = 0, i, len;

	if (cbor_string_is_definite(it))
		return json_stringn((const char *)cbor_string_handle(it),
		    cbor_string_length(it));
	chunks = cbor_string_chunks_handle(it);
	for (i = 0; i < cbor_string_chunk_count(it); i++)
		n += cbor_string_length(chunks[i]);
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, n = 0; i < cbor_string_chunk_count(it); i++) {
		len = cbor_string_length(chunks[i]);
		memcpy(s + n, cbor_string_handle(chunks[i]), len);
		n += len;
	}
	j = json_stringn(s, n);
	free(s);
	return j;
}

static json_t *
bytes_to_json(const cbor_item_t *it)
{
	cbor_item_t	**chunks;
	unsigned char	 *buf;
	char		 *b64;
	json_t		 *j;
	size_t		  n = 0, i, len;

	if (cbor_bytestring_is_definite(it)) {
		n = cbor_bytestring_length(it);
		buf = malloc(n ? n : 1);
		if (buf != NULL)
			memcpy(buf, cbor_bytestring_handle(it), n);
	} else {
		chunks = cbor_bytestring_chunks_handle(it);
		for (i = 0; i < cbor_bytestring_chunk_count(it); i++)
			n += cbor_bytestring_length(chunks[i]);
		if ((buf = malloc(n ? n : 1)) != NULL)
			for (i = 0, n = 0; i < cbor_bytestring_chunk_count(it);
			    i++) {
				len = cbor_bytestring_length(chunks[i]);
				memcpy(buf + n, cbor_bytestring_handle(chunks[i]),
				    len);
				n += len;
			}
	}
	if (buf == NULL)
		return NULL;
	len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(len)) == NULL) {
		free(buf);
		return NULL;
	}
	sodium_bin2base64(b64, len, buf, n, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(b64);
	free(buf);
	free(b64);
	return j;
}

static json_t *
map_to_json(const cbor_item_t *it, int depth)
{
	struct cbor_pair	*pairs = cbor_map_handle(it);
	json_t			*obj, *k, *v;
	char			*key;
	size_t			 i;

	if ((obj = json_object()) == NULL)
		return NULL;
	for (i = 0; i < cbor_map_size(it); i++) {
		if ((k = item_to_json(pairs[i].key, depth + 1)) == NULL ||
		    (v = item_to_json(pairs[i].value, depth + 1)) == NULL) {
			json_decref(k);
			json_decref(obj);
			return NULL;
		}
		if (json_is_string(k))
			json_object_setn_new(obj, json_string_value(k),
			    json_string_length(k), v);
		else {
			key = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
			json_object_set_new(obj, key ? key : "?", v);
			free(key);
		}
		json_decref(k);
	}
	return obj;
}

static json_t *
item_to_json(const cbor_item_t *it, int depth)
{
	cbor_item_t	*tagged;
	json_t		*arr, *v;
	size_t		 i;

	if (depth > CBOR_SCAN_DEPTH)
		return NULL;
	switch (cbor_typeof(it)) {
	/* Beyond jansson's 64-bit signed integers: the nearest double. */
	case CBOR_TYPE_UINT:
		if (cbor_get_int(it) > INT64_MAX)
			return json_real((double)cbor_get_int(it));
		return json_integer((json_int_t)cbor_get_int(it));
	case CBOR_TYPE_NEGINT:
		if (cbor_get_int(it) > INT64_MAX)
			return json_real(-1.0 - (double)cbor_get_int(it));
		return json_integer(-1 - (json_int_t)cbor_get_int(it));
	case CBOR_TYPE_BYTESTRING:
		return bytes_to_json(it);
	case CBOR_TYPE_STRING:
		return string_to_json(it);
	case CBOR_TYPE_ARRAY:
		if ((arr = json_array()) == NULL)
			return NULL;
		for (i = 0; i < cbor_array_size(it); i++) {
			v = item_to_json(cbor_array_handle(it)[i], depth + 1);
			if (v == NULL) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	case CBOR_TYPE_MAP:
		return map_to_json(it, depth);
	case CBOR_TYPE_TAG:
		tagged = cbor_tag_item(it);	/* a new reference */
		v = item_to_json(tagged, depth + 1);
		cbor_decref(&tagged);
		return v;
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_float_ctrl_is_ctrl(it)) {
			if (cbor_is_bool(it))
				return json_boolean(cbor_get_bool(it));
			return json_null();
		}
		return json_real(cbor_float_get_float(it));
	}
	return NULL;
}

json_t *
cbor_to_json(const uint8_t *buf, size_t len)
{
	struct cbor_load_result	 res;
	cbor_item_t		*it;
	json_t			*j;

	/* Check nesting first: libcbor's loader recurses without limit. */
	if (cbor_scan_item(buf, len) != len)
		return NULL;
	if ((it = cbor_load(buf, len, &res)) == NULL)
		return NULL;
	j = item_to_json(it, 0);
	cbor_decref(&it);
	return j;
}

/* Always eight bytes: JSON says nothing of a number's precision. */
static void
put_double(struct cbor_buf *b, double d)
{
	uint8_t		buf[9];
	uint64_t	u;
	int		i;

	memcpy(&u, &d, sizeof(u));
	buf[0] = 0xfb;
	for (i = 8; i > 0; i--, u >>= 8)
		buf[i] = u & 0xff;
	cbor_put_raw(b, buf, sizeof(buf));
}

static int
json_put(json_t *j, int depth, int maxdepth, struct cbor_buf *b)
{
	void	*it;
	size_t	 i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if (depth >= maxdepth)
			return -1;
		cbor_put_map(b, json_object_size(j));
		for (it = json_object_iter(j); it != NULL;
		    it = json_object_iter_next(j, it)) {
			cbor_put_textn(b, json_object_iter_key(it),
			    json_object_iter_key_len(it));
			if (json_put(json_object_iter_value(it), depth + 1,
			    maxdepth, b) == -1)
				return -1;
		}
		return 0;
	case JSON_ARRAY:
		if (depth >= maxdepth)
			return -1;
		cbor_put_array(b, json_array_size(j));
		for (i = 0; i < json_array_size(j); i++)
			if (json_put(json_array_get(j, i), depth + 1, maxdepth,
			    b) == -1)
				return -1;
		return 0;
	case JSON_STRING:
		cbor_put_textn(b, json_string_value(j), json_string_length(j));
		return 0;
	case JSON_INTEGER:
		cbor_put_int(b, json_integer_value(j));
		return 0;
	case JSON_REAL:
		put_double(b, json_real_value(j));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		cbor_put_bool(b, json_is_true(j));
		return 0;
	case JSON_NULL:
		cbor_put_null(b);
		return 0;
	}
	return -1;
}

int
json_to_cbor(json_t *j, int maxdepth, struct cbor_buf *b)
{
	return json_put(j, 0, maxdepth, b);
}

void
print_safe(FILE *f, const char *s, size_t n, bool lines)
{
	unsigned char	c;
	size_t		i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) ||
		    c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}
