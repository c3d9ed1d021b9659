/* SPDX-License-Identifier: ISC */
/*
 * listen.h: the mesh's listening TCP sockets.
 */
#ifndef PEERD_LISTEN_H
#define PEERD_LISTEN_H

#include <sys/socket.h>

#include <stddef.h>

#include "addr.h"

struct event_base;
struct listeners;

/* Receives each accepted connection; takes fd. */
typedef void	 listen_accept_fn(int fd, const struct sockaddr *, void *arg);

/*
 * Binds every address (ADDR:PORT strings).  "[::]" binds IPv6 only, so
 * it can sit beside "0.0.0.0" on the same port; an IPv6 wildcard on a
 * host without IPv6 is skipped.  NULL after logging why.
 */
struct listeners *listeners_open(struct event_base *,
		    char (*addrs)[ADDR_STRLEN], int n, listen_accept_fn *,
		    void *arg);
void		 listeners_free(struct listeners *);
/* Number of bound sockets, and the address of socket i (port filled in). */
size_t		 listeners_count(const struct listeners *);
const char	*listeners_addr(const struct listeners *, size_t i);
/*
 * Up to max addresses where other nodes can dial us: the bound ones,
 * with a wildcard replaced by the addresses of the interfaces (but
 * loopback and link-local).  Their number.
 */
int		 listeners_dialable(const struct listeners *,
		    char (*out)[ADDR_STRLEN], int max);

#endif
