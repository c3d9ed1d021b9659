/* SPDX-License-Identifier: ISC */
/*
 * serve.h: calls that arrive for this node's apps.  Each becomes an
 * invoke sent to the control client that registered the service, and
 * the client's reply goes back to the caller's node as the answer.
 */
#ifndef PEERD_SERVE_H
#define PEERD_SERVE_H

struct peerd;
struct serve;
struct callmsg;
struct ctl_conn;
struct ctl_msg;

struct serve	*serve_new(struct peerd *);
/* Forgets every invocation; their callers are not answered. */
void		 serve_free(struct serve *);
/* A call for this node. */
void		 serve_call(struct serve *, const struct callmsg *);
/* Its caller gave up: the app is told, its answer will be dropped. */
void		 serve_cancel(struct serve *, const struct callmsg *);
/* Membership changed: calls from nodes now dead or gone are dropped. */
void		 serve_members_changed(struct serve *);
/* A control client went away: calls it was serving fail, UNAVAILABLE. */
void		 serve_client_gone(struct serve *, struct ctl_conn *);
/* The "reply" message of a serving client; see doc/PROTOCOL.md. */
void		 serve_op_reply(struct ctl_conn *, const struct ctl_msg *);

#endif
