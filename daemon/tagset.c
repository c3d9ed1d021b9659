/* SPDX-License-Identifier: ISC */
/*
 * tagset.c: node tags: the rules of keys (which the names of groups,
 * services and topics follow too) and values, and the set kept in key
 * order, so that the same tags always encode to the same bytes and two
 * sets compare with memcmp().
 */
#include <stdint.h>
#include <string.h>

#include "tagset.h"

bool
name_valid(const char *s, size_t n, size_t max)
{
	size_t	i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' &&
		    s[i] <= '9') && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

bool
tag_key_valid(const char *s, size_t n)
{
	return name_valid(s, n, TAG_KEY_MAX);
}

/*
 * Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without the control characters U+0000-U+001F and
 * U+007F-U+009F: a value printed on a terminal cannot move the cursor
 * or start an escape sequence.
 */
bool
tag_value_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k, len;
	uint32_t		 cp, min;

	if (n > TAG_VALUE_MAX)
		return false;
	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 &&
		    cp <= 0xdfff) || cp <= 0x9f)
			return false;
		i += len;
	}
	return true;
}

void
tagset_clear(struct tagset *ts)
{
	ts->n = 0;
	ts->len = 0;
	memset(ts->buf, 0, sizeof(ts->buf));
}

/* Appends one tag; the caller made sure it fits. */
static void
put(struct tagset *ts, const char *key, const char *value)
{
	size_t	klen = strlen(key) + 1, vlen = strlen(value) + 1;

	memcpy(ts->buf + ts->len, key, klen);
	memcpy(ts->buf + ts->len + klen, value, vlen);
	ts->len += klen + vlen;
	ts->n++;
}

int
tagset_set(struct tagset *ts, const char *key, const char *value,
    const char **why)
{
	struct tagset	 out;
	const char	*old, *k, *v;
	size_t		 off = 0, bytes, klen = strlen(key);
	size_t		 vlen = strlen(value);
	int		 n, c;
	bool		 done = false;

	if (!tag_key_valid(key, klen)) {
		*why = "a key is 1-64 lowercase letters, digits, '-', '_' "
		    "or '.'";
		return -1;
	}
	if (!tag_value_valid(value, vlen)) {
		*why = "a value is 0-256 bytes of UTF-8 without control "
		    "characters";
		return -1;
	}
	old = tagset_get(ts, key);
	n = ts->n + (old == NULL);
	bytes = ts->len - 2 * (size_t)ts->n + vlen +
	    (old == NULL ? klen : 0) - (old == NULL ? 0 : strlen(old));
	if (n > TAGS_MAX) {
		*why = "more than 32 tags";
		return -1;
	}
	if (bytes > TAGS_BYTES) {
		*why = "more than 2048 bytes of keys and values";
		return -1;
	}
	tagset_clear(&out);
	while (tagset_next(ts, &off, &k, &v)) {
		if (!done && (c = strcmp(k, key)) >= 0) {
			put(&out, key, value);
			done = true;
			if (c == 0)
				continue;
		}
		put(&out, k, v);
	}
	if (!done)
		put(&out, key, value);
	*ts = out;
	return 0;
}

bool
tagset_unset(struct tagset *ts, const char *key)
{
	const char	*k, *v;
	size_t		 off = 0, at, n;

	for (;;) {
		at = off;
		if (!tagset_next(ts, &off, &k, &v))
			return false;
		if (strcmp(k, key) == 0)
			break;
	}
	n = off - at;
	memmove(ts->buf + at, ts->buf + off, ts->len - off);
	ts->len -= n;
	memset(ts->buf + ts->len, 0, n);
	ts->n--;
	return true;
}

const char *
tagset_get(const struct tagset *ts, const char *key)
{
	const char	*k, *v;
	size_t		 off = 0;

	while (tagset_next(ts, &off, &k, &v))
		if (strcmp(k, key) == 0)
			return v;
	return NULL;
}

bool
tagset_next(const struct tagset *ts, size_t *off, const char **key,
    const char **value)
{
	if (*off >= ts->len)
		return false;
	*key = ts->buf + *off;
	*off += strlen(*key) + 1;
	*value = ts->buf + *off;
	*off += strlen(*value) + 1;
	return true;
}

bool
tagset_equal(const struct tagset *a, const struct tagset *b)
{
	return a->n == b->n && a->len == b->len &&
	    memcmp(a->buf, b->buf, a->len) == 0;
}

bool
tagset_match(const struct tagset *ts, const char *filter)
{
	const char	*eq = strchr(filter, '='), *k, *v;
	size_t		 off = 0, klen;

	klen = eq != NULL ? (size_t)(eq - filter) : strlen(filter);
	while (tagset_next(ts, &off, &k, &v))
		if (strlen(k) == klen && memcmp(k, filter, klen) == 0)
			return eq == NULL || strcmp(v, eq + 1) == 0;
	return false;
}

int
tag_split(char *s, const char **key, const char **value)
{
	char	*eq;

	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	*eq = '\0';
	*key = s;
	*value = eq + 1;
	return 0;
}
