/* SPDX-License-Identifier: ISC */
/*
 * control.h: the control socket server that peerctl and libpeer
 * clients talk to.
 */
#ifndef PEERD_CONTROL_H
#define PEERD_CONTROL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

struct event_base;
struct control;
struct ctl_conn;
struct ctl_msg;
struct cbor_buf;
struct ctl_defer;
struct ctl_error;
struct cred;

struct control_params {
	const char	*socket_path;
	gid_t		 socket_gid;	/* the socket's group, or -1 */
	gid_t		 admin_gid;	/* admins' group, or -1 */
	uint64_t	 max_message;	/* a frame holds this and its keys */
	uint64_t	 max_clients;
	uint64_t	 max_clients_per_user;	/* root and our uid: no limit */
	uint64_t	 admin_clients;	/* of max_clients, kept for admins */
	uint64_t	 frame_timeout_ms;	/* for a frame, from its start */
	uint64_t	 input_max;	/* bytes buffered for all clients */
};

/* What the control server holds and has refused, for status. */
struct control_stats {
	unsigned	 clients;
	uint64_t	 input_bytes;	/* buffered from clients now */
	unsigned	 waiting_input;	/* clients waiting for room */
	uint64_t	 frames_timed_out;
	uint64_t	 clients_refused;
};

/* How the control server reports to its owner. */
struct control_ops {
	/*
	 * The client serves and subscribes no more: it is closing, or
	 * broke the protocol.  Its pending requests are cancelled later.
	 */
	void	(*client_gone)(void *arg, struct ctl_conn *);
};

/* One control op; a table of them ends with a NULL name. */
struct ctl_op {
	const char	*name;
	int		 flags;
#define CTL_OP_ADMIN	0x01	/* root, the daemon's uid or admin_gid */
#define CTL_OP_NO_ID	0x02	/* a message without an id (an app's reply) */
	void		(*fn)(struct ctl_conn *, const struct ctl_msg *,
			    void *arg);
};

/*
 * Binds the Unix socket at socket_path (mode 0660, group socket_gid if
 * set), holding socket_path.lock while it runs.  A socket left by a
 * dead daemon is replaced; one whose daemon holds the lock is not.
 * NULL after logging why.
 */
struct control	*control_open(struct event_base *,
		    const struct control_params *, const struct control_ops *,
		    void *arg);
/*
 * Checks, creating nothing, what control_open would refuse for path
 * and gid (GID_NONE: none): the path's length, a directory to bind it
 * in, a file there that is not a socket, a group the daemon cannot give
 * it.  *busy: another daemon holds its lock.  0, or -1 with the reason
 * in err.
 */
int		 control_check(const char *path, gid_t gid, bool *busy,
		    char *err, size_t errlen);
/*
 * Disconnects every client and removes the socket file and its lock
 * file. NULL is fine.
 */
void		 control_free(struct control *);
/*
 * Adds a table of ops, each called with arg.  -1 after logging if a name
 * is taken already, or out of memory.
 */
int		 control_add_ops(struct control *, const struct ctl_op *,
		    void *arg);
/* Clients connected now. */
unsigned	 control_clients(const struct control *);
void		 control_stats(const struct control *, struct control_stats *);

/*
 * Replies from op handlers.  A result is written as exactly one CBOR
 * value into the buffer ctl_result_begin returns, then sent with
 * ctl_result_end, before any other reply is started.
 */
struct cbor_buf	*ctl_result_begin(struct ctl_conn *, uint64_t id);
void		 ctl_result_end(struct ctl_conn *);
/* A message of the daemon's own (an invoke): the caller writes the map. */
struct cbor_buf	*ctl_message_begin(struct ctl_conn *);
void		 ctl_message_end(struct ctl_conn *);
/* Bytes of replies not yet read by the client. */
size_t		 ctl_queued(const struct ctl_conn *);
void		 ctl_reply_error(struct ctl_conn *, uint64_t id, enum peer_code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * A client broke the protocol: one log line, an id-0 error, and the
 * connection closes once it is out.
 */
void		 ctl_fail(struct ctl_conn *, enum peer_code, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* "client pid 12 uid 0", for logs. */
const char	*ctl_name(const struct ctl_conn *);
/* Who the client is, as the kernel saw it connect. */
const struct cred *ctl_cred(const struct ctl_conn *);
/* Root, the daemon's uid or in admin_gid: may use CTL_OP_ADMIN ops. */
bool		 ctl_is_admin(const struct ctl_conn *);

/*
 * A request answered later.  If the client goes away first, cancel(arg)
 * runs and the defer is freed; its owner must then forget it.  NULL if
 * out of memory (the request has then been answered with an error).
 */
struct ctl_defer *ctl_defer(struct ctl_conn *, uint64_t id,
		    void (*cancel)(void *), void *arg);
/* As ctl_result_begin/end; ctl_defer_end frees the defer. */
struct cbor_buf	*ctl_defer_begin(struct ctl_defer *);
void		 ctl_defer_end(struct ctl_defer *);
/* Answers with an error and frees the defer. */
void		 ctl_defer_error(struct ctl_defer *, enum peer_code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with an error value from elsewhere (its context kept). */
void		 ctl_defer_error_value(struct ctl_defer *,
		    const struct ctl_error *);
/*
 * Adds bytes to what the defer weighs.  A client whose deferred
 * requests are too many or weigh too much is not read from until some
 * are answered: that bounds the calls one client has in flight.
 */
void		 ctl_defer_weigh(struct ctl_defer *, size_t bytes);
/* The client's deferred request id with that cancel function, or NULL. */
struct ctl_defer *ctl_defer_find(struct ctl_conn *, uint64_t id,
		    void (*cancel)(void *));
void		*ctl_defer_arg(const struct ctl_defer *);
/* ctl_queued of the defer's client. */
size_t		 ctl_defer_queued(const struct ctl_defer *);
/* The defer's client and request id, for messages before its reply. */
struct ctl_conn	*ctl_defer_conn(const struct ctl_defer *);
uint64_t	 ctl_defer_id(const struct ctl_defer *);

/* Reads optional request fields; false (after replying) if mistyped. */
bool		 ctl_arg_text(struct ctl_conn *, const struct ctl_msg *,
		    const char *key, char *buf, size_t len, bool required);
bool		 ctl_arg_uint(struct ctl_conn *, const struct ctl_msg *,
		    const char *key, uint64_t *v, uint64_t max);

#endif
