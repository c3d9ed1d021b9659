/* SPDX-License-Identifier: ISC */
/*
 * events.h: publish and subscribe across the mesh.  Clients subscribe
 * to topics or topic prefixes; the node's record lists them, so that a
 * publish travels only to the nodes that want it.
 */
#ifndef PEERD_EVENTS_H
#define PEERD_EVENTS_H

struct peerd;
struct events;
struct callmsg;
struct ctl_conn;
struct ctl_msg;

struct events	*events_new(struct peerd *);
void		 events_free(struct events *);
/* An event for this node, from a link. */
void		 events_deliver(struct events *, const struct callmsg *);
/* A control client went away: its subscriptions go. */
void		 events_client_gone(struct events *, struct ctl_conn *);

/* Control ops; see doc/PROTOCOL.md. */
void		 events_op_publish(struct ctl_conn *, const struct ctl_msg *);
void		 events_op_subscribe(struct ctl_conn *, const struct ctl_msg *);
void		 events_op_topics(struct ctl_conn *, const struct ctl_msg *);
void		 events_op_unsubscribe(struct ctl_conn *,
		    const struct ctl_msg *);

#endif
