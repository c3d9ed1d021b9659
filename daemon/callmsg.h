/* SPDX-License-Identifier: ISC */
/*
 * callmsg.h: the link messages that carry calls between nodes: "call"
 * from the caller's node to the provider's, "ans" back, and "can" to
 * call one off; "ev", an event from its publisher's node to a
 * subscriber's; and "kv", a message of the key-value store from one
 * node to another (kvmsg.h).  Relays forward them by the node IDs they
 * carry.
 */
#ifndef PEERD_CALLMSG_H
#define PEERD_CALLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "proto.h"
#include "record.h"

#define METHOD_NAME_MAX		128	/* bytes */
#define CALLMSG_HOPS		16	/* relays a message may cross */
#define CALLMSG_TIMEOUT_MAX	86400000 /* ms: a day; longer is cut */
#define CALLMSG_MAC_LEN		16	/* bytes of "x" */

enum callmsg_type {
	CALLMSG_CALL,
	CALLMSG_ANSWER,
	CALLMSG_CANCEL,
	CALLMSG_EVENT,		/* origin: publisher; provider: subscriber */
	CALLMSG_KV,		/* origin: sender; provider: receiver */
};
#define CALLMSG_TYPES	(CALLMSG_KV + 1)

/* One decoded message; spans point into the message it came from. */
struct callmsg {
	enum callmsg_type	 type;
	uint8_t			 origin[NODE_ID_LEN];	/* the caller's node */
	uint8_t			 provider[NODE_ID_LEN];	/* the callee's */
	uint64_t		 cid;		/* call number; event: seq */
	uint64_t		 hops;		/* relays left */
	/* CALLMSG_CALL */
	char			 service[SERVICE_NAME_MAX + 1];
	char			 group[GROUP_NAME_MAX + 1];	/* "": any */
	char			 method[METHOD_NAME_MAX + 1];
	const uint8_t		*args;		/* one item, or NULL */
	size_t			 argslen;
	uint64_t		 timeout_ms;	/* left when sent */
	bool			 oneway;	/* no answer wanted */
	/* CALLMSG_EVENT: the topic, and args hold its data */
	/* CALLMSG_KV: args hold the body, a map (never NULL) */
	char			 topic[TOPIC_MAX + 1];
	/* CALLMSG_ANSWER: a result, or (result NULL) an error */
	const uint8_t		*result;
	size_t			 resultlen;
	struct ctl_error	 err;
	/* "e" as the author encoded it, which relays forward unchanged */
	const uint8_t		*errraw;	/* NULL: encode err */
	size_t			 errrawlen;
	/*
	 * Origin authentication (originauth.h), forwarded as they came:
	 * q and x travel together, by only in an answer a relay made.
	 */
	uint64_t		 seq;		/* "q" */
	uint8_t			 mac[CALLMSG_MAC_LEN];	/* "x" */
	bool			 has_mac;
	uint8_t			 by[NODE_ID_LEN];	/* "by" */
	bool			 has_by;
	/*
	 * Set by route for a message delivered here: its author (origin,
	 * or provider for an answer, or by) is authenticated
	 * (originauth.h), or is this node.  False: an older node's,
	 * taken on the word of the link it came on (origin_auth = auto).
	 */
	bool			 verified;
};

/* 1-METHOD_NAME_MAX bytes of text without control characters. */
bool	method_name_valid(const char *, size_t);
/* 0, or -1 with *why set if the message is not a well-formed one. */
int	callmsg_decode(const char *type, const struct cbor_field *, int nf,
	    struct callmsg *, const char **why);
/* Appends the encoded message to b. */
void	callmsg_encode(struct cbor_buf *, const struct callmsg *);
/* "call", "ans", "can", "ev" or "kv". */
const char *callmsg_type_name(enum callmsg_type);
/* The node a message is on its way to. */
const uint8_t *callmsg_dest(const struct callmsg *);

#endif
