/* SPDX-License-Identifier: ISC */
/*
 * kvmsg.h: the bodies of "kv" link messages, which carry the key-value
 * store between nodes.  A "kv" message rides the routes of calls (see
 * callmsg.h: origin is the sender, provider the receiver, cid the
 * request number, which an answer repeats); its args are one CBOR map,
 * the body, whose "k" names its kind.  doc/MESH.md describes each kind.
 */
#ifndef PEERD_KVMSG_H
#define PEERD_KVMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"
#include "kvstore.h"
#include "proto.h"

#define KVMSG_ITEMS_MAX		1000	/* items in a list answer or a have */
#define KVMSG_PREFIXES_MAX	64	/* prefixes in a watch lease */
#define KVMSG_BUCKETS		64	/* buckets of a digest */
#define KVMSG_DIGEST_LEN	16	/* bytes of one bucket's digest */
/*
 * Containers a value may sit in: in a list answer (the envelope, the
 * body, its items, an item) and in a control reply of kv_list alike.
 * A value nests at most CBOR_SCAN_DEPTH - KVMSG_VALUE_LEVEL deep, as
 * cbor_scan_item_in(value, len, KVMSG_VALUE_LEVEL) checks, so that it
 * fits in every message that carries it.
 */
#define KVMSG_VALUE_LEVEL	4

enum kvmsg_kind {
	KVMSG_WRITE,		/* "w": a client's write, to the coordinator */
	KVMSG_WRITTEN,		/* "wa": the coordinator's answer */
	KVMSG_STORE,		/* "s": keep this item (a write, a repair) */
	KVMSG_STORED,		/* "sa": an owner's answer to a store */
	KVMSG_READ,		/* "r": the item you hold for key */
	KVMSG_READ_ANSWER,	/* "ra" */
	KVMSG_LIST,		/* "l": your items under prefix, after a key */
	KVMSG_LIST_ANSWER,	/* "la" */
	KVMSG_DIGEST,		/* "d": digests of the keys we both own */
	KVMSG_HAVE,		/* "h": the versions I hold of these keys */
	KVMSG_WANT,		/* "n": send me these keys */
	KVMSG_WATCH,		/* "wl": my clients watch these prefixes */
	KVMSG_CHANGE,		/* "c": a write a watcher of yours wants */
};

enum kv_write_op {
	KV_PUT,
	KV_DEL,
	KV_MERGE,
	KV_EXPIRE,		/* an expired item, told to watchers */
};

/* A key and the version held of it (hlc 0: none), in a have or want. */
struct kvmsg_entry {
	const char		*key;
	size_t			 keylen;
	struct kv_version	 ver;
};

/* One decoded body; spans point into the message. */
struct kvmsg {
	enum kvmsg_kind		 kind;

	/*
	 * WRITE, READ, WRITTEN, STORE, STORED, READ_ANSWER, CHANGE.  A body
	 * with an item (STORE and CHANGE always) carries its key there
	 * only: decoding sets key to the item's, encoding ignores key.
	 */
	const char		*key;
	size_t			 keylen;

	/* WRITE */
	enum kv_write_op	 op;		/* PUT, DEL or MERGE */
	const uint8_t		*value;		/* PUT, MERGE: one CBOR item */
	size_t			 valuelen;
	bool			 has_if_version;
	uint64_t		 if_version;	/* 0: only if absent */
	uint64_t		 ttl_ms;	/* PUT: 0: never expires */
	uint64_t		 timeout_ms;	/* left when sent */

	/* WRITTEN, STORED: an error, or (err.code PEER_OK) success */
	struct ctl_error	 err;
	struct kv_version	 ver;		/* WRITTEN: the version written;
						 * STORED: the version held */
	/*
	 * STORE: item is the one to keep, base the version the coordinator
	 * wrote it over (hlc 0: none, or a repair, when repair is set).
	 * CHANGE: item, the item as it now is.  STORED, READ_ANSWER: item,
	 * if has_item.  Decoding sets has_item for STORE and CHANGE too.
	 */
	bool			 has_item;
	struct kv_item		 item;
	struct kv_version	 base;
	bool			 repair;
	enum kv_write_op	 change_op;	/* CHANGE: what happened */

	/* LIST: prefix, after (NULL: from the first), limit */
	const char		*prefix;
	size_t			 prefixlen;
	const char		*after;
	size_t			 afterlen;
	uint64_t		 limit;
	bool			 values;	/* with values, not only keys */
	/* LIST_ANSWER: nitems items, the first ones whose spans are set */
	struct kv_item		*items;		/* caller's array */
	size_t			 nitems;
	bool			 more;		/* more items follow the last */

	/* DIGEST */
	uint8_t			 digest[KVMSG_BUCKETS][KVMSG_DIGEST_LEN];
	/* HAVE, WANT: entries; HAVE also says which buckets it covers */
	struct kvmsg_entry	*entries;	/* caller's array */
	size_t			 nentries;
	uint64_t		 buckets;	/* HAVE: bit b: bucket b */

	/* WATCH: prefixes watched (none: no more), for lease_ms */
	const char		*prefixes[KVMSG_PREFIXES_MAX];
	size_t			 prefixlens[KVMSG_PREFIXES_MAX];
	size_t			 nprefixes;
	uint64_t		 lease_ms;
};

/*
 * Space for the arrays a decode fills: items and entries, each of
 * KVMSG_ITEMS_MAX.  The caller owns it; one can serve every decode.
 */
struct kvmsg_space {
	struct kv_item		items[KVMSG_ITEMS_MAX];
	struct kvmsg_entry	entries[KVMSG_ITEMS_MAX];
};

/*
 * Decodes body (one CBOR map), pointing m's arrays into space.  0, or
 * -1 with *why set if it is not a well-formed body of a known kind:
 * keys are checked (kv_key_valid), values are one well-formed item,
 * counts within their maxima.
 */
int	kvmsg_decode(const uint8_t *body, size_t len, struct kvmsg *m,
	    struct kvmsg_space *space, const char **why);
/* Appends the body of m to b (only the fields of its kind). */
void	kvmsg_encode(struct cbor_buf *, const struct kvmsg *m);
const char *kv_write_op_name(enum kv_write_op);

#endif
