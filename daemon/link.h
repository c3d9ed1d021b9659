/* SPDX-License-Identifier: ISC */
/*
 * link.h: one authenticated, encrypted connection to one peer.
 */
#ifndef PEERD_LINK_H
#define PEERD_LINK_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_scan.h"
#include "hello.h"
#include "identity.h"

struct event_base;
struct netkeys;
struct evdns_base;
struct link;

enum link_state {
	LINK_CONNECTING,	/* outbound TCP connect under way */
	LINK_HANDSHAKE,
	LINK_UP,
	LINK_CLOSED,		/* gone once the current callback returns */
};

/* What every link of a node shares; outlives the links. */
struct link_params {
	struct event_base	*base;
	struct evdns_base	*dns;
	const struct identity	*id;
	/*
	 * The keys across a rotation, read at each handshake: a dial uses
	 * the current one (the previous one once, if the peer closes), an
	 * answer any of them.  NULL: the identity's network key alone.
	 */
	const struct netkeys	*keys;
	const struct hello	*hello;		/* ours */
	uint64_t		 max_message;
	uint64_t		 ping_interval;	/* ms */
	int64_t			 ping_phase_us;	/* 0 to ping_interval: the grid */
	uint64_t		 dead_after;	/* ms */
	uint64_t		 handshake_timeout; /* ms */
	/* Whether a node is revoked: its handshakes fail.  May be NULL. */
	bool			(*is_revoked)(void *arg, const uint8_t *id);
	void			*revoked_arg;
};

/* Why a link ended, for its owner to act on; the text is for people. */
enum link_end {
	LINK_END_HERE,		/* link_close: this node ended it */
	LINK_END_EOF,		/* the peer closed the connection */
	LINK_END_REFUSED,	/* connect refused: nothing listens there */
	LINK_END_SILENT,	/* no traffic for dead_after, or no handshake */
	/*
	 * The handshake failed: a message did not decrypt (another network
	 * key, or not peerd), or, dialing, the peer closed before answering
	 * message 1, which is how a responder with another key ends it.
	 */
	LINK_END_HANDSHAKE,
	LINK_END_FAILED,	/* anything else: an error, bad input, memory */
	/*
	 * The handshake was under a network key the other side retired:
	 * dialing, the peer said so (the reason says what to do); answering,
	 * we told the peer.
	 */
	LINK_END_STALE_KEY,
	LINK_END_REVOKED,	/* the peer's HELLO names a revoked node */
};

/* How a link reports to its owner. */
struct link_ops {
	/* Handshake done; remote identity known and checked. */
	void	(*up)(struct link *, void *arg);
	/* The link is closing: the last call; reason is for logs. */
	void	(*down)(struct link *, enum link_end, const char *reason,
		    void *arg);
	/*
	 * A message other than ping/pong; fields point into msg, which
	 * stays valid until control is back in the event loop, even if
	 * the link closes meanwhile.
	 */
	void	(*message)(struct link *, const char *type,
		    const struct cbor_field *, int nf, const uint8_t *msg,
		    size_t len, void *arg);
	/*
	 * A keep-alive ping went unanswered for a few round trips (at
	 * least LINK_QUIET_MIN_MS), and nothing else came: the peer may
	 * be frozen.  Once, until traffic comes again.
	 */
	void	(*quiet)(struct link *, void *arg);
};

/* Starts a dial to HOST:PORT (names resolved asynchronously). */
struct link	*link_dial(const struct link_params *, const char *hostport,
		    const struct link_ops *, void *arg);
/* Takes fd, an accepted connection. */
struct link	*link_accept(const struct link_params *, int fd,
		    const struct sockaddr *, const struct link_ops *,
		    void *arg);
/*
 * Closes the link (LINK_END_HERE): ops->down runs now, the memory goes
 * once control is back in the event loop, so a caller holding l may
 * still read it, and the message ops->message was handed, but must not
 * call anything else on it.  Repeated calls do nothing.
 */
void		 link_close(struct link *, const char *reason);

/* Bytes waiting to be written. */
size_t		 link_queued(const struct link *);
/* Queues one message. 0, or -1 if the link closed (queue over limit). */
int		 link_send(struct link *, const uint8_t *msg, size_t len);

enum link_ping_result {
	LINK_PING_ANSWERED,	/* rtt_us is the round trip time */
	LINK_PING_TIMEOUT,	/* no pong in time */
	LINK_PING_CLOSED,	/* the link closed first */
};
/* Called once; rtt_us is -1 and why says why unless answered. */
typedef void	 link_ping_fn(enum link_ping_result, int64_t rtt_us,
		    const char *why, void *arg);
/*
 * Sends a ping carrying size bytes and calls fn when its pong arrives,
 * when timeout_ms pass, or when the link closes.  -1 if too many pings
 * are outstanding, size is over the message limit, or the link's queue
 * has no room for it now (fn not called).
 */
int		 link_ping(struct link *, size_t size, uint64_t timeout_ms,
		    link_ping_fn *fn, void *arg);
/* Forgets a ping's callback (its owner went away). */
void		 link_ping_cancel(struct link *, void *arg);

struct link_info {
	enum link_state	 state;
	bool		 outbound;
	const char	*addr;		/* remote "addr:port" */
	const char	*id;		/* base32, "" before LINK_UP */
	const char	*name;		/* "" before LINK_UP */
	int64_t		 uptime_ms;	/* since LINK_UP */
	int64_t		 rtt_last_us;	/* -1 until a pong */
	int64_t		 rtt_avg_us;
	int64_t		 rtt_min_us;
	uint64_t	 bytes_in, bytes_out;
	uint64_t	 msgs_in, msgs_out;
};

void		 link_info(const struct link *, struct link_info *);
enum link_state	 link_state(const struct link *);
/*
 * Whether a valid handshake message has come from the peer: one made
 * with the network key (XXpsk0 binds even the first to it), if perhaps
 * replayed.  Stays true, once up too.
 */
bool		 link_hs_heard(const struct link *);
/* Whether a keep-alive ping went unanswered, with no traffic since. */
bool		 link_quiet(const struct link *);
/* Ends the handshake ms from now instead of after handshake_timeout. */
int		 link_limit_handshake(struct link *, uint64_t ms);
bool		 link_outbound(const struct link *);
/* The remote node's HELLO; valid once LINK_UP. */
const struct hello *link_remote(const struct link *);
const char	*link_id_str(const struct link *);
/* "name (id12) at addr", or the address before the handshake. */
const char	*link_name(const struct link *);
int64_t		 link_up_since(const struct link *);
/* Notes that calls use the link now; when they last did (0: never). */
void		 link_mark_used(struct link *);
int64_t		 link_used_ms(const struct link *);
/*
 * The generation of the network key the handshake is (or was) under,
 * and whether that was the previous key, during a rotation's grace.
 */
uint64_t	 link_psk_gen(const struct link *);
bool		 link_psk_prev(const struct link *);
/* The Noise handshake hash: equal at both ends, unique per link. */
const uint8_t	*link_hash(const struct link *);

#endif
