/* SPDX-License-Identifier: ISC */
/*
 * call.h: calls made by this node's clients: choosing a provider,
 * sending the call on its way, and answering the client when the
 * provider answers, the deadline passes, the client cancels, or the
 * provider's node is known to have died.
 */
#ifndef PEERD_CALL_H
#define PEERD_CALL_H

struct peerd;
struct calls;
struct callmsg;
struct ctl_conn;
struct ctl_msg;

struct calls	*calls_new(struct peerd *);
void		 calls_free(struct calls *);
/* An answer for a call of this node. */
void		 calls_answer(struct calls *, const struct callmsg *);
/* Membership changed: calls to members now dead or gone fail at once. */
void		 calls_members_changed(struct calls *);

/* Control ops; see doc/PROTOCOL.md. */
void		 call_op_call(struct ctl_conn *, const struct ctl_msg *);
void		 call_op_cancel(struct ctl_conn *, const struct ctl_msg *);
void		 call_op_notify(struct ctl_conn *, const struct ctl_msg *);

#endif
