/* SPDX-License-Identifier: ISC */
/*
 * kvpost.h: sending one "kv" message to a node, by route.
 */
#ifndef PEERD_KVPOST_H
#define PEERD_KVPOST_H

#include <stdint.h>

#include "kvmsg.h"
#include "route.h"

#define KVPOST_REDIAL_MS	10000

struct kvpost;
struct members;
struct mesh;

/*
 * NULL: ENOMEM.  self is our node ID; a message larger than max_message,
 * which the receiving link would refuse, is not sent.
 */
struct kvpost	*kvpost_new(struct route *, const uint8_t *self,
		    uint64_t max_message);
void		 kvpost_free(struct kvpost *);
/*
 * From now on a request or answer for a member with no link of its own
 * dials it, as calls do, so that the ones after it go direct (at most
 * one dial per member in KVPOST_REDIAL_MS).  members gives addresses.
 */
void		 kvpost_dial_direct(struct kvpost *, struct mesh *,
		    const struct members *);
/* The member id is forgotten. */
void		 kvpost_forget(struct kvpost *, const uint8_t *id);
/*
 * Encodes m as the body of a "kv" message with request number cid (0:
 * no answer wanted) and sends it to dest (which may be self: then it
 * is delivered now, before this returns, and the receiver may send
 * again from there).  ROUTE_FULL too if the message would be larger
 * than max_message.
 */
enum route_result kvpost_send(struct kvpost *, const uint8_t *dest,
		    uint64_t cid, const struct kvmsg *m);

#endif
