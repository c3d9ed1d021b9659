/* SPDX-License-Identifier: ISC */
/*
 * mesh.h: the node's links to other nodes, the addresses it keeps
 * dialing, and the control ops that show and steer them.
 */
#ifndef PEERD_MESH_H
#define PEERD_MESH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct link;

enum mesh_dial_result {
	MESH_DIAL_LINKED,	/* the node answered */
	MESH_DIAL_REFUSED,	/* nothing listens there: the process is gone */
	MESH_DIAL_FAILED,	/* no answer, or someone else answered */
};
typedef void	 mesh_dial_fn(enum mesh_dial_result, const char *reason,
		    void *arg);

/*
 * Dials addr once, for the node id (NULL if unknown).  fn, if not NULL,
 * hears how it went.  -1 if the dial could not start (fn not called).
 */
int		 mesh_dial_member(struct mesh *, const uint8_t *id,
		    const char *addr, mesh_dial_fn *fn, void *arg);
/*
 * The same for a link that calls need now.  Once no call has used it
 * for a minute, it is closed (if the node keeps enough links without
 * it): see mesh_close_idle.
 */
int		 mesh_dial_for_calls(struct mesh *, const uint8_t *id,
		    const char *addr, mesh_dial_fn *fn, void *arg);
/* Closes links dialed for calls that calls no longer use. */
void		 mesh_close_idle(struct mesh *);
/* Up links: their number, and up to max of them in out (may be NULL). */
size_t		 mesh_links(struct mesh *, struct link **out, size_t max);
/* Outbound links still connecting or in their handshake. */
size_t		 mesh_dials(struct mesh *);
/* The up link to id, or NULL; whether a dial for id is under way. */
struct link	*mesh_link_to(struct mesh *, const uint8_t *id);
bool		 mesh_dialing(struct mesh *, const uint8_t *id);
/* Closes every link and forgets every address (a new network). */
void		 mesh_reset(struct mesh *);
/* Keeps a link to addr from now on, as a bootstrap address. -1: ENOMEM */
int		 mesh_add_target(struct mesh *, const char *addr);
/* Bytes waiting to be written on all links. */
size_t		 mesh_queued(struct mesh *);
/* Closes the least useful link: the slowest that no address keeps. */
void		 mesh_shed(struct mesh *);

/* Control ops; see doc/PROTOCOL.md. */
void		 mesh_op_connect(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_disconnect(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_peers(struct ctl_conn *, const struct ctl_msg *);
void		 mesh_op_ping(struct ctl_conn *, const struct ctl_msg *);

#endif
