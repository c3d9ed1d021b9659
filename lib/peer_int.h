/* SPDX-License-Identifier: ISC */
/*
 * peer_int.h: the inside of struct peer, shared by the files of libpeer:
 * peer.c (the connection and its requests), peer_call.c (calls),
 * peer_serve.c (serving), peer_event.c (events), peer_watch.c
 * (watching) and peer_kv.c (the key-value store).  Not installed.
 */
#ifndef PEER_INT_H
#define PEER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"
#include "peer.h"
#include "proto.h"

/* Largest frame accepted: the daemon's largest max_message and envelope. */
#define PEER_FRAME_MAX		((1u << 30) + (64u << 10))
/*
 * What the side buffer holds at most: a whole frame, and what the
 * daemon writes to a client before it waits for it to read (4 MiB).
 */
#define PEER_SIDE_MAX		((size_t)PEER_FRAME_MAX + FRAME_HDR + (4u << 20))
#define PEER_BUCKETS		1024	/* power of two */
#define PEER_SPARE_MAX		256	/* finished requests kept for reuse */
#define PEER_ONEWAY_RING	64	/* oneway calls remembered */

/* A request in flight. */
struct pending {
	struct pending	*next;
	uint64_t	 id;
	int64_t		 deadline;	/* ms, monotonic */
	peer_reply_fn	*fn;
	void		*arg;
	peer_answer_fn	*each;		/* a call's answers as they come */
	void		*each_arg;
};

struct serve;				/* peer_serve.c */
struct sub;				/* peer_event.c */
struct kvw;				/* peer_kv.c */

struct peer_oneway {
	uint64_t	 call;
	bool		 set;
};

struct peer {
	int		 fd;		/* -1 while disconnected */
	uint64_t	 next_id;
	struct pending	*bucket[PEER_BUCKETS];
	size_t		 npending;
	int64_t		 soonest;	/* no request is due before, ms */
	uint8_t		*rbuf;
	size_t		 rlen, rcap;
	/*
	 * What arrives while callbacks run (they may block writing, and
	 * the daemon may wait for us to read): rbuf holds their frame.
	 */
	uint8_t		*side;
	size_t		 sidelen, sidecap;
	/*
	 * The output queue: whole frames, written from outoff on.  Frames
	 * are encoded straight into it.  Blocking, a send writes it all
	 * before it returns; see peer_set_nonblocking.
	 */
	struct cbor_buf	 out;
	size_t		 outoff;
	size_t		 outmax;	/* the limit, bytes */
	bool		 nonblocking;
	bool		 full;		/* sends refused until it drains */
	bool		 writable_due;	/* drained: on_writable to run */
	peer_writable_fn *on_writable;
	void		*on_writable_arg;
	struct pending	*spare;		/* records to reuse */
	size_t		 nspare;
	int		 depth;		/* callbacks running */
	char		*node_id;
	char		*node_name;

	char		*path;		/* the socket, for reconnecting */
	bool		 reconnect;
	bool		 reconnecting;	/* no nested attempts */
	int64_t		 retry_at;	/* ms, monotonic */
	int		 backoff;	/* ms before the next attempt */
	bool		 stop;		/* peer_run returns */

	struct serve	*serves;
	peer_cancel_fn	*on_cancel;	/* see peer_on_cancel */
	void		*on_cancel_arg;
	struct sub	*subs;		/* in subscribe order */
	peer_watch_fn	*watch_fn;	/* NULL: not watching */
	void		*watch_arg;
	unsigned	 watch_what;	/* PEER_WATCH_ bits */
	enum peer_log_level watch_level;
	struct kvw	*kvws;		/* kv watches, in watch order */
	/*
	 * Recent oneway calls, so that answering one sends nothing.  Older
	 * ones are answered and the daemon drops the answer.
	 */
	struct peer_oneway oneway[PEER_ONEWAY_RING];
	size_t		 noneway;	/* ever noted; the ring wraps */
};

void	peer_seterr(struct peer_error *, enum peer_code, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
int64_t	peer_now_ms(void);
/* True, with err set, if a callback is running: fn may not block there. */
bool	peer_in_callback(const struct peer *, const char *fn,
	    struct peer_error *);
bool	peer_pending_has(const struct peer *, uint64_t id);
/* Drops request id without calling its callback. */
void	peer_pending_forget(struct peer *, uint64_t id);
/* Sends the "answer" messages of request id to fn, if it is in flight. */
void	peer_pending_each(struct peer *, uint64_t id, peer_answer_fn *fn,
	    void *arg);
/*
 * Frames.  peer_frame_begin starts one at the end of the output queue
 * (the caller then encodes into p->out) and sets *start; -1 with err
 * if p cannot take it now: not connected, or, unless force, the queue
 * is full.  peer_frame_end closes it: -1 with err if it came out too
 * large or memory ran out, and it is then dropped.  peer_send then
 * sends the queue: blocking, it writes all of it by deadline (-1
 * leaves the stream broken); non-blocking, it leaves it for
 * peer_dispatch.
 */
int	peer_frame_begin(struct peer *, bool force, size_t *start,
	    struct peer_error *);
int	peer_frame_end(struct peer *, size_t start, struct peer_error *);
int	peer_send(struct peer *, int64_t deadline, struct peer_error *);
/*
 * Requests.  peer_request_begin starts the frame of a request whose map
 * holds "op", "id" and nbody more entries, which the caller appends to
 * p->out, and a record for it; NULL with err as peer_frame_begin.
 * peer_request_end closes and sends it, as peer_request does: 0 (fn is
 * then called once), or -1 with err if nothing was sent.
 */
struct pending *peer_request_begin(struct peer *, const char *op,
	    size_t nbody, int timeout_ms, peer_reply_fn *fn, void *arg,
	    bool force, size_t *start, struct peer_error *);
int	peer_request_end(struct peer *, struct pending *, size_t start,
	    uint64_t *id, struct peer_error *);

/* Where a synchronous request leaves its outcome (peer_sync_cb's arg). */
struct peer_sync {
	bool			 done;
	struct peer_error	 err;
	uint8_t			*result;
	size_t			 result_len;
};
void	peer_sync_cb(struct peer *, const struct peer_reply *, void *arg);
/*
 * Waits for request id, started with peer_sync_cb and s; then as
 * peer_op: 0 with *result set, or -1 with err.
 */
int	peer_sync_wait(struct peer *, uint64_t id, struct peer_sync *s,
	    uint8_t **result, size_t *result_len, struct peer_error *);
/*
 * Sends op with text values (kv: n key/value pairs; a NULL value
 * leaves its key out) and waits for the answer.  Text that is not
 * UTF-8 would cost the connection: refused here.
 */
int	peer_text_op(struct peer *, const char *op, const char *const *kv,
	    size_t n, struct peer_error *);
/* Closes the connection; requests in flight end with UNAVAILABLE. */
void	peer_lost(struct peer *, const char *why);

/* peer_serve.c */
/* Runs the handler of an "invoke" frame, or answers it with an error. */
void	peer_serve_invoke(struct peer *, const struct ctl_msg *);
/* A "cancelled" message: tells the app's cancel function. */
void	peer_serve_cancelled(struct peer *, const struct ctl_msg *);
/* Registers every served service again on a new connection; -1 if lost. */
int	peer_serve_renew(struct peer *);
void	peer_serve_free(struct peer *);

/* peer_event.c */
/* Runs the callback of an "event" frame; malformed ones are dropped. */
void	peer_event_deliver(struct peer *, const struct ctl_msg *);
/* Subscribes to every pattern again on a new connection; -1 if lost. */
int	peer_event_renew(struct peer *);
void	peer_event_free(struct peer *);

/* peer_watch.c */
/* Runs the callback of a "change" or "log" frame; drops malformed ones. */
void	peer_watch_deliver(struct peer *, const struct ctl_msg *);
/* Watches again on a new connection; -1 if lost. */
int	peer_watch_renew(struct peer *);

/* peer_kv.c */
/* Runs the callback of a "kv_change" frame; drops malformed ones. */
void	peer_kv_deliver(struct peer *, const struct ctl_msg *);
/*
 * The steps of that and of a reply's callback, for the fuzz target.
 * The bytes the texts of change m take at most; decoding it into c,
 * its texts into texts (that many bytes): false if it is malformed.
 */
size_t	peer_kv_change_room(const struct ctl_msg *m);
bool	peer_kv_change_decode(const struct ctl_msg *m, char *texts,
	    struct peer_kv_change *c);
/*
 * Decodes the result of op ("kv_get", ...) into out, as the reply
 * callback does; *block is then the allocation to free (with keep, a
 * copy of res too, which out points into).  False with err set if it
 * is malformed or memory ran out.
 */
bool	peer_kv_decode(const char *op, const uint8_t *res, size_t len,
	    bool keep, void **block, struct peer_kv_result *out,
	    struct peer_error *err);
/* Watches every prefix again on a new connection; -1 if lost. */
int	peer_kv_renew(struct peer *);
void	peer_kv_free(struct peer *);

#endif
