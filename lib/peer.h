/* SPDX-License-Identifier: ISC */
/*
 * peer.h: libpeer, the C client of peerd's control socket.
 *
 * A struct peer is one connection to the local peerd.  Requests carry an
 * id chosen here; any number may be in flight, and each ends exactly
 * once: with the daemon's reply, at its timeout, or when the connection
 * is lost.  Use the synchronous calls (peer_op, peer_status) in simple
 * programs, or peer_request with peer_fd/peer_timeout/peer_dispatch to
 * embed the connection in an event loop.  A struct peer is not
 * thread-safe.
 */
#ifndef PEER_H
#define PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_TIMEOUT_DEFAULT	5000	/* ms */

/* Error codes: gRPC's canonical names and numbers. */
enum peer_code {
	PEER_OK = 0,
	PEER_CANCELLED = 1,
	PEER_UNKNOWN = 2,		/* the serving app's own error */
	PEER_INVALID_ARGUMENT = 3,
	PEER_DEADLINE_EXCEEDED = 4,
	PEER_NOT_FOUND = 5,
	PEER_ALREADY_EXISTS = 6,
	PEER_PERMISSION_DENIED = 7,
	PEER_RESOURCE_EXHAUSTED = 8,
	PEER_UNIMPLEMENTED = 12,
	PEER_INTERNAL = 13,
	PEER_UNAVAILABLE = 14,		/* daemon or provider unreachable */
};

/* Filled in by calls that fail; callers own it (usually on the stack). */
struct peer_error {
	enum peer_code	code;
	char		message[512];
};

/* "INVALID_ARGUMENT" and so on; "UNKNOWN" for codes outside the enum. */
const char	*peer_code_name(enum peer_code);
/* PEER_UNKNOWN for names this version does not know. */
enum peer_code	 peer_code_from_name(const char *);

struct peer;

/*
 * The socket a client uses when given none: $PEERD_SOCKET, else
 * $XDG_RUNTIME_DIR/peerd.sock for a non-root user if it exists, else
 * /run/peerd/peerd.sock.  Writes it into buf; NULL if it does not fit.
 */
const char	*peer_default_socket(char *buf, size_t len);

/*
 * Connects to path (NULL: peer_default_socket()) and exchanges hello.
 * NULL on failure, with err filled in (UNAVAILABLE if no daemon
 * answers there).  err may be NULL.
 */
struct peer	*peer_open(const char *path, struct peer_error *err);
/* NULL is fine.  Requests still in flight end with CANCELLED. */
void		 peer_close(struct peer *);

/* Node ID (base32) and name of the daemon, from hello; owned by p. */
const char	*peer_node_id(const struct peer *);
const char	*peer_node_name(const struct peer *);

/* The outcome of a request, valid only during the callback. */
struct peer_reply {
	uint64_t		 id;
	const struct peer_error	*error;		/* NULL on success */
	const uint8_t		*result;	/* encoded CBOR, or NULL */
	size_t			 result_len;
};
/*
 * A callback may send further requests with peer_request, but must not
 * call peer_dispatch, peer_wait, peer_op, peer_status (they fail with
 * INVALID_ARGUMENT there) or peer_close (which aborts there).
 */
typedef void	 peer_reply_fn(struct peer *, const struct peer_reply *,
		    void *arg);

/*
 * Sends op with nbody further map entries, already encoded as CBOR
 * key/value pairs in body (bodylen bytes; may be NULL if nbody is 0).
 * timeout_ms <= 0 means PEER_TIMEOUT_DEFAULT.  Sets *id if id is not
 * NULL.  Returns -1 with err filled in if nothing was sent (not
 * connected, too large, out of memory); fn is then never called.
 * Otherwise returns 0 and fn is called exactly once: from
 * peer_dispatch(), peer_wait() or peer_close(), or before this returns
 * if the connection fails while sending.
 */
int		 peer_request(struct peer *, const char *op, const void *body,
		    size_t bodylen, size_t nbody, int timeout_ms,
		    peer_reply_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);

/* The fd to poll for reading; -1 once the connection is lost. */
int		 peer_fd(const struct peer *);
/* Milliseconds until the next request times out, or -1 if none. */
int		 peer_timeout(const struct peer *);
/*
 * Reads what the socket has without blocking, runs the callbacks of
 * finished and timed-out requests.  0, or -1 if the connection was lost
 * (all requests then end with UNAVAILABLE).
 */
int		 peer_dispatch(struct peer *, struct peer_error *);
/* Blocks until request id has ended. 0, or -1 if the connection failed. */
int		 peer_wait(struct peer *, uint64_t id, struct peer_error *);

/*
 * Synchronous request.  On success *result (malloc'd, caller frees) holds
 * the encoded CBOR result and 0 is returned; else -1 with err filled in.
 */
int		 peer_op(struct peer *, const char *op, const void *body,
		    size_t bodylen, size_t nbody, int timeout_ms,
		    uint8_t **result, size_t *result_len,
		    struct peer_error *err);

struct peer_status {
	char		 *node_id;	/* base32 */
	char		 *name;
	char		 *version;
	uint64_t	  pid;
	uint64_t	  uptime_ms;
	uint64_t	  started_at;	/* seconds since the epoch */
	char		**listen;	/* "addr:port" of each mesh listener */
	size_t		  nlisten;
	uint64_t	  clients;	/* control clients connected */
	uint64_t	  peers;	/* mesh links up */
	uint64_t	  members;	/* known alive, this node included */
};

/* 0 with *st set (free with peer_status_free), or -1 with err. */
int		 peer_status(struct peer *, struct peer_status **st,
		    struct peer_error *err);
/* NULL is fine. */
void		 peer_status_free(struct peer_status *);

#endif
