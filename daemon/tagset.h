/* SPDX-License-Identifier: ISC */
/*
 * tagset.h: node tags, the KEY=VALUE pairs a node announces in its
 * record: their rules, their limits, and a small set of them kept in
 * key order, in one fixed buffer (no allocation, copied by value).
 */
#ifndef PEERD_TAGSET_H
#define PEERD_TAGSET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Limits.  Keys and values together are capped so that a record with
 * every other field full still fits in RECORD_MAX (record.h).
 */
#define TAGS_MAX	32	/* tags of one node */
#define TAG_KEY_MAX	64	/* bytes of a key */
#define TAG_VALUE_MAX	256	/* bytes of a value */
#define TAGS_BYTES	2048	/* bytes of all keys and values */

struct tagset {
	int	n;
	size_t	len;		/* bytes of buf in use */
	/* "key\0value\0" for each tag, in strcmp() order of the keys. */
	char	buf[TAGS_BYTES + 2 * TAGS_MAX];
};

/*
 * 1-max lowercase letters, digits, '-', '_' or '.': the rule of tag
 * keys, and of the names of groups and services and of topics.
 */
bool		 name_valid(const char *, size_t, size_t max);
/* A name of 1-TAG_KEY_MAX bytes. */
bool		 tag_key_valid(const char *, size_t);
/* 0-TAG_VALUE_MAX bytes of UTF-8 without control characters. */
bool		 tag_value_valid(const char *, size_t);

/* Empties ts; a zeroed tagset is empty too. */
void		 tagset_clear(struct tagset *);
/*
 * Sets key to value, replacing its value if it is there.  -1 with *why
 * if either is not valid or a limit would be passed; ts is unchanged.
 */
int		 tagset_set(struct tagset *, const char *key, const char *value,
		    const char **why);
/* Removes key; false if it was not there. */
bool		 tagset_unset(struct tagset *, const char *key);
/* The value of key, or NULL. */
const char	*tagset_get(const struct tagset *, const char *key);
/*
 * The tag at *off (start at 0), in key order, moving *off past it;
 * false at the end.
 */
bool		 tagset_next(const struct tagset *, size_t *off,
		    const char **key, const char **value);
bool		 tagset_equal(const struct tagset *, const struct tagset *);
/*
 * Whether ts has the tag a filter names: "KEY" (any value) or
 * "KEY=VALUE" (exactly that value).
 */
bool		 tagset_match(const struct tagset *, const char *filter);
/*
 * Splits "KEY=VALUE" in place at its first '='; -1 if there is none.
 * The parts are not checked.
 */
int		 tag_split(char *, const char **key, const char **value);

#endif
