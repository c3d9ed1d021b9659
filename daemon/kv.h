/* SPDX-License-Identifier: ISC */
/*
 * kv.h: the replicated key-value store, as clients use it.  Any node
 * takes any request: a write goes to the key's coordinator, which
 * stores it on the key's owners and answers once a majority has it; a
 * read asks the owners, takes the newest version a majority gives, and
 * repairs owners that gave an older one.  This node's own share of the
 * store answers other nodes' stores and reads here too.
 */
#ifndef PEERD_KV_H
#define PEERD_KV_H

#include <stdint.h>

#include "control.h"

struct callmsg;
struct ctl_conn;
struct event_base;
struct kv;
struct kvpost;
struct kvring;
struct kvstore;
struct kvsync;
struct kvwatch;
struct member;

struct kv_params {
	const uint8_t	*self;		/* our node ID */
	const char	*name;		/* our name, for error messages */
	uint64_t	 value_max;	/* bytes of a value (kv_value_max) */
	uint64_t	 max_message;
	uint64_t	 held_max;	/* bytes requests copy; 0: 256 MiB */
};

struct kv_stats {
	uint64_t	gets;		/* requests of this node's clients */
	uint64_t	writes;		/* put, del and merge */
	uint64_t	lists;
	uint64_t	failed;		/* of those, answered with an error */
	uint64_t	coordinated;	/* writes ordered here */
	uint64_t	stored;		/* items stored for other nodes */
	uint64_t	repaired;	/* owners sent a newer item after a read */
	uint64_t	keys;		/* held here, tombstones included */
	uint64_t	bytes;		/* of keys and values held here */
};

/* NULL after logging. */
struct kv	*kv_new(struct event_base *, const struct kv_params *,
		    struct kvstore *, struct kvring *, struct kvpost *,
		    struct kvsync *, struct kvwatch *);
/* Pending requests end with UNAVAILABLE. */
void		 kv_free(struct kv *);
/* A "kv" message for this node (route_deliver of CALLMSG_KV). */
void		 kv_deliver(struct kv *, const struct callmsg *);
/* A member changed or was forgotten: the owners of keys may change. */
void		 kv_member(struct kv *, const struct member *);
void		 kv_forget(struct kv *, const uint8_t *id);
void		 kv_client_gone(struct kv *, struct ctl_conn *);
void		 kv_stats(const struct kv *, struct kv_stats *);

/*
 * kv_get, kv_put, kv_del, kv_merge, kv_list and kv_where
 * (doc/PROTOCOL.md), called with the kv.
 */
extern const struct ctl_op	kv_ctl_ops[];

#endif
