/* SPDX-License-Identifier: ISC */
/*
 * control.h: the control socket server that peerctl and libpeer
 * clients talk to.
 */
#ifndef PEERD_CONTROL_H
#define PEERD_CONTROL_H

struct peerd;
struct control;

/*
 * Binds the Unix socket at d->conf.socket_path (mode 0660).  A socket
 * left by a dead daemon is replaced; one a live daemon answers on is
 * not.  NULL after logging why.
 */
struct control	*control_open(struct peerd *d);
/* Disconnects every client and removes the socket file. NULL is fine. */
void		 control_free(struct control *);
unsigned	 control_clients(const struct control *);

#endif
