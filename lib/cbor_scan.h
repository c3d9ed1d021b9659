/* SPDX-License-Identifier: ISC */
/*
 * cbor_scan.h: reading encoded CBOR in place, without building libcbor
 * items: the extent of one item, the key/value spans of a map, and
 * typed reads of single values.  Payloads the daemon only forwards stay
 * as byte spans and are never decoded.
 */
#ifndef PEER_CBOR_SCAN_H
#define PEER_CBOR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays, maps, tags and chunked strings accepted. */
#define CBOR_SCAN_DEPTH	32

/* A key/value pair of a map; both point into the scanned buffer. */
struct cbor_field {
	const char	*key;		/* not NUL-terminated */
	size_t		 keylen;
	const uint8_t	*val;		/* one whole encoded item */
	size_t		 vallen;
};

/*
 * Length of the one well-formed item at the start of buf, or 0 if it is
 * truncated, malformed, holds text that is not valid UTF-8, or is
 * nested deeper than CBOR_SCAN_DEPTH.
 */
size_t	cbor_scan_item(const uint8_t *buf, size_t len);
/*
 * As cbor_scan_item, for an item that is to sit level containers deep
 * in another one that must scan whole: it may nest only
 * CBOR_SCAN_DEPTH - level deep.  Scanning it alone this way costs less
 * than scanning the whole again.
 */
size_t	cbor_scan_item_in(const uint8_t *buf, size_t len, int level);
/* Whether n bytes are valid UTF-8 (RFC 3629), as CBOR text must be. */
bool	cbor_text_valid(const void *, size_t n);

/*
 * Splits the map that must fill buf exactly into fields; keys must be
 * definite text strings.  Returns the number of fields, or -1 if buf is
 * not exactly one well-formed map with text keys or has more than max
 * fields.  A repeated key is refused too: which one wins is otherwise
 * up to each reader.
 */
int	cbor_scan_map(const uint8_t *buf, size_t len, struct cbor_field *f,
	    size_t max);

/* The field named key, or NULL. */
const struct cbor_field *cbor_field_get(const struct cbor_field *, int n,
	    const char *key);
/* The field named key read as below; false if absent or another type. */
bool	cbor_field_uint(const struct cbor_field *, int n, const char *key,
	    uint64_t *);
bool	cbor_field_bytes(const struct cbor_field *, int n, const char *key,
	    const uint8_t **p, size_t *len);

/* Typed reads of a value span; false if it is another type. */
bool	cbor_read_uint(const uint8_t *, size_t, uint64_t *);
bool	cbor_read_bool(const uint8_t *, size_t, bool *);
/* Definite byte strings only; *p points into the buffer. */
bool	cbor_read_bytes(const uint8_t *, size_t, const uint8_t **p, size_t *n);
/* Definite text strings only; *s points into the buffer. */
bool	cbor_read_text(const uint8_t *, size_t, const char **s, size_t *n);
/*
 * Copies a definite text string into buf, NUL-terminated; false if it
 * is another type, holds a NUL byte, does not fit in cap bytes, or
 * valid (if not NULL) refuses it.
 */
bool	cbor_read_name(const uint8_t *, size_t, char *buf, size_t cap,
	    bool (*valid)(const char *, size_t));
/* Definite arrays only: sets *count and the offset of the first element. */
bool	cbor_read_array(const uint8_t *, size_t, size_t *count, size_t *off);

/* Walking the elements of a definite array. */
struct cbor_iter {
	const uint8_t	*p;
	size_t		 left;		/* bytes */
	size_t		 items;
};

/* False if buf is not a definite array. */
bool	cbor_array_iter(const uint8_t *, size_t, struct cbor_iter *);
/* The next element's span; false at the end or on malformed input. */
bool	cbor_iter_next(struct cbor_iter *, const uint8_t **item, size_t *len);

/* Walking the entries of a map, definite or indefinite; keys any item. */
struct cbor_map_iter {
	const uint8_t	*p;
	size_t		 left;		/* bytes */
	size_t		 entries;	/* left, if definite */
	bool		 indef;
	bool		 done;		/* the map ended where it should */
};

/*
 * False if buf does not start with a map's head, or with one that
 * counts more entries than the bytes after it could hold.
 */
bool	cbor_map_begin(const uint8_t *, size_t, struct cbor_map_iter *);
/*
 * The next entry's key and value spans; false at the end (then done is
 * set, and p points past the map) or on malformed input.
 */
bool	cbor_map_next(struct cbor_map_iter *, const uint8_t **key,
	    size_t *keylen, const uint8_t **val, size_t *vallen);

#endif
