/* SPDX-License-Identifier: ISC */
/*
 * gossip.h: how nodes come to know each other: records flooded over
 * links, anti-entropy with a random neighbour, failure detection with
 * suspicion and refutation, the overlay's degree, and the peer cache.
 */
#ifndef PEERD_GOSSIP_H
#define PEERD_GOSSIP_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_scan.h"
#include "members.h"
#include "record.h"

struct peerd;
struct gossip;
struct link;
struct ctl_conn;
struct ctl_msg;

/* Signs our first record and starts the timers. NULL after logging. */
struct gossip	*gossip_new(struct peerd *);
void		 gossip_free(struct gossip *);
/* Floods a record saying that we leave (on SIGTERM). */
void		 gossip_leave(struct gossip *);

/* From mesh.c. */
void		 gossip_link_up(struct gossip *, struct link *);
/* intentional: closed on purpose (shed, duplicate, bye), not a failure. */
void		 gossip_link_down(struct gossip *, struct link *,
		    bool intentional, const char *reason);
/* True if the message was a gossip message (handled or dropped). */
bool		 gossip_message(struct gossip *, struct link *,
		    const char *type, const struct cbor_field *, int nf);
/*
 * A link to id was closed on purpose by either end (disconnect, shed):
 * the overlay leaves that node alone for a while, so that it does not
 * dial straight back.  0 ms lifts the hold (an explicit connect).
 */
void		 gossip_hold(struct gossip *, const uint8_t *id, int64_t ms);
/* From discovery: a node of our network listens at sa. */
void		 gossip_found(struct gossip *, const uint8_t *id,
		    const struct sockaddr *sa);

/*
 * (Re)starts LAN discovery with the current network key, if the config
 * has it on; what it finds is dialed.  0, or -1 after logging why.
 */
int		 gossip_discovery_start(struct peerd *);
size_t		 gossip_members_alive(const struct gossip *);
/* Records dropped: bad signature or impossible, and older than known. */
void		 gossip_dropped(const struct gossip *, uint64_t *invalid,
		    uint64_t *stale);
/* Members known, ourselves included, whatever their state. */
size_t		 gossip_members_known(const struct gossip *);
/* Sets the services our record offers; re-signs and floods if changed. */
void		 gossip_set_services(struct gossip *,
		    const struct record_service *, int n);
/* The member with that ID, or NULL. */
struct member	*gossip_member(const struct gossip *, const uint8_t *id);
/* Sets the topic patterns our record lists; as gossip_set_services. */
void		 gossip_set_topics(struct gossip *,
		    char (*topics)[TOPIC_MAX + 1], int n);
/* Member i, from 0 to gossip_members_known() - 1, in no order. */
const struct member *gossip_member_at(const struct gossip *, size_t i);
/* Our own record, as others see it. */
const struct record *gossip_self(const struct gossip *);
/* Forgets every member and the peer cache: we joined another network. */
void		 gossip_reset(struct gossip *);
void		 gossip_op_members(struct ctl_conn *, const struct ctl_msg *);

#endif
