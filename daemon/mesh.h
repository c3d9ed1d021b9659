/* SPDX-License-Identifier: ISC */
/*
 * mesh.h: the node's links to other nodes, the addresses it keeps
 * dialing, and the control ops that show and steer them.
 */
#ifndef PEERD_MESH_H
#define PEERD_MESH_H

#include <sys/socket.h>

#include <stddef.h>

struct peerd;
struct mesh;
struct ctl_conn;
struct ctl_msg;

/* Starts dialing the configured bootstrap peers. NULL after logging. */
struct mesh	*mesh_new(struct peerd *);
/* Closes every link. NULL is fine. */
void		 mesh_free(struct mesh *);
/* Takes fd, an accepted mesh connection. */
void		 mesh_accept(struct mesh *, int fd, const struct sockaddr *);
/* Links that finished their handshake. */
size_t		 mesh_links_up(const struct mesh *);

/* Control ops; see doc/PROTOCOL.md. */
void		 mesh_op_connect(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_disconnect(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_peers(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_ping(struct ctl_conn *, const struct ctl_msg *);

#endif
