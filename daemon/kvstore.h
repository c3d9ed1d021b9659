/* SPDX-License-Identifier: ISC */
/*
 * kvstore.h: this node's share of the key-value store, on disk in the
 * state directory (LMDB).  Each key holds one item: its newest version,
 * its value or a tombstone, and when it expires.  A put keeps the newer
 * of the item held and the item offered, so replicas, repairs and
 * syncs may arrive in any order.
 */
#ifndef PEERD_KVSTORE_H
#define PEERD_KVSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hlc.h"

#define KV_KEY_MAX	256	/* bytes of a key */

/* One item; spans point into a message or into the store. */
struct kv_item {
	const char		*key;		/* not NUL-terminated */
	size_t			 keylen;
	struct kv_version	 ver;
	uint64_t		 expires_ms;	/* wall clock; 0: never */
	bool			 tombstone;	/* deleted: no value */
	const uint8_t		*value;		/* one CBOR item */
	size_t			 valuelen;
};

/* 1-KV_KEY_MAX bytes of UTF-8 text without control characters. */
bool		kv_key_valid(const char *, size_t);
/* A key that begins with prefix (which may be empty). */
bool		kv_key_has_prefix(const char *key, size_t keylen,
		    const char *prefix, size_t prefixlen);

struct kvstore_params {
	const char	*dir;		/* created if absent (0700) */
	uint64_t	 max_bytes;	/* keys and values held, at most */
	bool		 sync_each;	/* flush every write, not on kvstore_sync */
};

enum kvstore_result {
	KVSTORE_STORED,		/* the item offered is held now */
	KVSTORE_OLDER,		/* it is not newer than the one held */
	KVSTORE_FULL,		/* it would take the store over max_bytes */
	KVSTORE_ERROR,		/* logged */
};

struct kvstore;

/* Opens or creates the store; NULL with err set. */
struct kvstore	*kvstore_open(const struct kvstore_params *, char *err,
		    size_t errlen);
/* Flushes and closes.  NULL is fine. */
void		 kvstore_close(struct kvstore *);
/* Flushes writes made since the last flush to disk.  -1 after logging. */
int		 kvstore_sync(struct kvstore *);
/*
 * The item held for key: 1 and *it filled (its spans valid until the
 * next call on the store), 0 if none, -1 after logging.  Tombstones
 * and expired items are returned as held: callers decide.
 */
int		 kvstore_get(struct kvstore *, const char *key, size_t keylen,
		    struct kv_item *it);
/* Keeps it if it is newer than the item held for its key. */
enum kvstore_result kvstore_put(struct kvstore *, const struct kv_item *it);
/* Forgets key outright (no tombstone).  0, or -1 after logging. */
int		 kvstore_drop(struct kvstore *, const char *key, size_t keylen);
/*
 * Calls fn for each item whose key begins with prefix and comes after
 * after (NULL: from the first), in byte order of keys, until fn returns
 * non-zero.  fn may not call the store; the item's spans are valid
 * during the call only.  The number of items given to fn, or -1.
 */
long		 kvstore_scan(struct kvstore *, const char *prefix,
		    size_t prefixlen, const char *after, size_t afterlen,
		    int (*fn)(void *arg, const struct kv_item *), void *arg);
/* Items held (tombstones included), and their bytes (keys and values). */
uint64_t	 kvstore_count(const struct kvstore *);
uint64_t	 kvstore_bytes(const struct kvstore *);

#endif
