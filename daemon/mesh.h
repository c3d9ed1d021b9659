/* SPDX-License-Identifier: ISC */
/*
 * mesh.h: the node's links to other nodes, the addresses it keeps
 * dialing, the nodes it holds off after a link closed on purpose, and
 * the control ops that show and steer them.  Link messages go to the
 * handlers registered for their type.
 */
#ifndef PEERD_MESH_H
#define PEERD_MESH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_scan.h"
#include "control.h"
#include "hello.h"
#include "rate.h"

struct event_base;
struct hello;
struct identity;
struct link;
struct mesh;

struct mesh_params {
	/* Read at each handshake: a join replaces its network key. */
	const struct identity	*id;
	const struct hello	*hello;		/* ours; copied */
	uint64_t		 max_message;	/* of a call's arguments */
	uint64_t		 ping_interval;	/* ms */
	uint64_t		 dead_after;	/* ms */
	uint64_t		 handshake_timeout; /* ms */
	/*
	 * Inbound handshakes under way, in all and from one source (an
	 * IPv4 address, an IPv6 /64); a new one past either limit closes
	 * the oldest of them.
	 */
	uint64_t		 max_handshakes;
	uint64_t		 max_handshakes_per_address;
	/* Whether calls and kv requests dial their node for a link. */
	bool			 call_dial;
	/*
	 * Dials whose address came from a record (rate.h units; 0: the
	 * default): in all, per host (IPv4 address, IPv6 /64 or name) and
	 * per HOST:PORT.
	 */
	uint64_t		 dial_rate, dial_burst;
	uint64_t		 dial_rate_per_host, dial_burst_per_host;
	uint64_t		 dial_rate_per_address, dial_burst_per_address;
	/* The keys across a rotation, read at each handshake; NULL: none. */
	const struct netkeys	*keys;
	/* Whether a node is revoked: its handshakes fail.  May be NULL. */
	bool			(*is_revoked)(void *arg, const uint8_t *id);
	void			*revoked_arg;
};

/* Defaults of the dial buckets. */
#define MESH_DIAL_RATE			(20 * RATE_PER_S)
#define MESH_DIAL_BURST			40
#define MESH_DIAL_RATE_PER_HOST		(5 * RATE_PER_S)
#define MESH_DIAL_BURST_PER_HOST	20
#define MESH_DIAL_RATE_PER_ADDRESS	(RATE_PER_S / 5)
#define MESH_DIAL_BURST_PER_ADDRESS	3

/* Where the address of a one-off dial came from. */
enum mesh_dial_cause {
	MESH_DIAL_RECORD,	/* a member's record: bounded by the buckets */
	MESH_DIAL_CACHE,	/* peers.cache, written by us */
	MESH_DIAL_BEACON,	/* a LAN beacon, sealed with the network key */
};

#define MESH_DIAL_CAUSES	3	/* values of enum mesh_dial_cause */
#define MESH_DIAL_BUCKETS	3	/* in all, per host, per address */

/* Why an up link went down. */
enum mesh_reason {
	MESH_ON_PURPOSE,	/* either end closed it on purpose */
	MESH_REFUSED,		/* refused or reset: the process is gone */
	MESH_SILENT,		/* no traffic for dead_after */
	MESH_LOST,		/* the peer closed it, or it failed */
};

#define MESH_REASONS	4	/* values of enum mesh_reason */
#define MESH_LINK_ENDS	8	/* values of enum link_end (link.h) */

/* What went over the links, and how they ended, since the start. */
struct mesh_stats {
	uint64_t	bytes_in, bytes_out;	/* transport records, framing too */
	uint64_t	msgs_in, msgs_out;	/* messages, keep-alives too */
	uint64_t	links_down[MESH_REASONS];	/* up links, by why */
	/* Links that ended before they were up, by enum link_end. */
	uint64_t	handshakes_failed[MESH_LINK_ENDS];
	uint64_t	handshakes_dropped;	/* closed to make room */
	/* Dials started, by enum mesh_dial_cause, and of addresses kept. */
	uint64_t	dials[MESH_DIAL_CAUSES];
	uint64_t	dials_kept;
	/* Record dials refused, by the bucket (in all, host, address). */
	uint64_t	dials_throttled[MESH_DIAL_BUCKETS];
};

/* How the mesh reports to its owner. */
struct mesh_ops {
	/* A link is up, the only one to its node. */
	void	(*up)(void *arg, struct link *);
	/* A link that was reported up is closing. */
	void	(*down)(void *arg, struct link *, enum mesh_reason);
	/* An up link's peer stopped answering pings (see link_ops). */
	void	(*quiet)(void *arg, struct link *);
};

/* Takes one type of link message; a table of them ends with NULL. */
struct mesh_handler {
	const char	*type;
	void		(*fn)(void *arg, struct link *, const char *type,
			    const struct cbor_field *, int nf);
};

/* NULL after logging. */
struct mesh	*mesh_new(struct event_base *, const struct mesh_params *,
		    const struct mesh_ops *, void *arg);
/* Closes every link. NULL is fine. */
void		 mesh_free(struct mesh *);
/*
 * Adds handlers of link message types, each called with arg.  -1 after
 * logging if a type is taken, or out of memory.
 */
int		 mesh_handle(struct mesh *, const struct mesh_handler *,
		    void *arg);
/*
 * Takes fd, an accepted mesh connection.  May close the oldest inbound
 * handshake of its source, or of all, to make room for it.
 */
void		 mesh_accept(struct mesh *, int fd, const struct sockaddr *);
/* Inbound handshakes closed so far to make room for newer ones. */
uint64_t	 mesh_handshakes_dropped(const struct mesh *);
/* The totals of links closed and of links open now. */
void		 mesh_stats(const struct mesh *, struct mesh_stats *);
const char	*mesh_reason_name(enum mesh_reason);

enum mesh_dial_result {
	MESH_DIAL_LINKED,	/* the node answered */
	MESH_DIAL_REFUSED,	/* nothing listens there: the process is gone */
	MESH_DIAL_FAILED,	/* no answer, or someone else answered */
};
/* How a dial went; reason is for people. */
typedef void	 mesh_dial_fn(enum mesh_dial_result, const char *reason,
		    void *arg);

/*
 * Dials addr once, for the node id (NULL if unknown).  fn, if not NULL,
 * hears how it went.  -1 if the dial could not start (fn not called):
 * with errno EAGAIN, a dial of a record's address that one of the dial
 * buckets refused.
 */
int		 mesh_dial_member(struct mesh *, const uint8_t *id,
		    const char *addr, enum mesh_dial_cause, mesh_dial_fn *fn,
		    void *arg);
/*
 * The same, as a probe: the node must finish the handshake within
 * timeout_ms (a stopped process still completes TCP's).  With
 * MESH_DIAL_TRANSIENT in flags the link it makes is closed once idle,
 * as one dialed for calls: probes others asked for leave no links.
 * Its address came from a record, as for the next.
 */
#define MESH_DIAL_TRANSIENT	0x1
int		 mesh_dial_probe(struct mesh *, const uint8_t *id,
		    const char *addr, uint64_t timeout_ms, int flags,
		    mesh_dial_fn *fn, void *arg);
/*
 * The same for a link that calls need now.  Once no call has used it
 * for a minute, it is closed (if the node keeps enough links without
 * it): see mesh_close_idle.  -1 without dialing if the config says
 * calls do not dial (call_dial = no).
 */
int		 mesh_dial_for_calls(struct mesh *, const uint8_t *id,
		    const char *addr, mesh_dial_fn *fn, void *arg);
/* Closes links dialed for calls that calls no longer use, down to keep. */
void		 mesh_close_idle(struct mesh *, size_t keep);
/* Up links: their number, and up to max of them in out (may be NULL). */
size_t		 mesh_links(struct mesh *, struct link **out, size_t max);
/* Outbound links still connecting or in their handshake. */
size_t		 mesh_dials(struct mesh *);
/* The up link to id, or NULL; whether a dial for id is under way. */
struct link	*mesh_link_to(struct mesh *, const uint8_t *id);
bool		 mesh_dialing(struct mesh *, const uint8_t *id);
/*
 * Whether id closed a link with us on purpose (or we with it) in the
 * last minute: it is not to be dialed back meanwhile.
 */
bool		 mesh_held(struct mesh *, const uint8_t *id);
/*
 * The node id is revoked: its links close ("revoked") and it is held
 * off for good.
 */
void		 mesh_revoke(struct mesh *, const uint8_t *id);
/* This node is revoked: it dials no more, the others would refuse it. */
void		 mesh_stop_dialing(struct mesh *);
/* Closes every link and forgets every address (a new network). */
void		 mesh_reset(struct mesh *);
/* Keeps a link to addr from now on, as a bootstrap address. -1: ENOMEM */
int		 mesh_add_target(struct mesh *, const char *addr);
/* Bytes waiting to be written on all links. */
size_t		 mesh_queued(struct mesh *);
/* Closes the least useful link: the slowest that no address keeps. */
void		 mesh_shed(struct mesh *);
/*
 * Closes a link of the mesh on purpose (with bye), and holds its node
 * off for a while, as a disconnect does.
 */
void		 mesh_close(struct mesh *, struct link *, const char *reason);
/* Our HELLO from now on (a new network key generation); copied. */
void		 mesh_set_hello(struct mesh *, const struct hello *);

/* Control ops (see doc/PROTOCOL.md), called with the mesh. */
extern const struct ctl_op	mesh_ctl_ops[];

#endif
