/* SPDX-License-Identifier: ISC */
/*
 * control.c: the control socket server.  Reads length-prefixed CBOR
 * requests from each client, dispatches them through the op table and
 * queues the replies.  A client that sends a bad frame gets one error
 * reply and is disconnected; one that stops reading stops being read
 * from; neither affects any other client.
 */
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "control.h"
#include "cred.h"
#include "dispatch.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "proto.h"
#include "ratelog.h"

#define CTL_FRAMES_PER_WAKE	64		/* then yield to others */
#define CTL_OUT_HIGH		(4u << 20)	/* stop reading above this */
#define CTL_OUT_LOW		(1u << 20)	/* resume below this */
#define CTL_CLOSE_GRACE		5		/* s to flush a last reply */
#define CTL_ENVELOPE		(64u << 10)	/* frame = message + this */
#define CTL_UNRESERVED		(16u << 10)	/* buffered without room kept */
#define CTL_ROOM_SHARES		4		/* one user holds 1/4 at most */
#define CTL_LINGER		1		/* s to wait for the client's EOF */
#define CTL_LINGER_MAX		(1u << 20)	/* bytes discarded meanwhile */
#define CTL_IO_MAX		(256u << 10)	/* bytes one read or write moves */
#define CTL_BEV_READ_MAX	4096		/* a bufferevent read, at most */
#define CTL_HAND_OVER		(64u << 10)	/* replies queued without a copy */
#define CTL_LOCK_TRIES		8		/* lock file removed under us */
#define CTL_DEFERS_MAX		1024		/* deferred requests a client */
#define CTL_DEFER_BYTES_MAX	(8u << 20)	/* and the bytes they weigh */

struct ctl_defer {
	TAILQ_ENTRY(ctl_defer)	 entry;
	struct ctl_conn		*c;
	uint64_t		 id;
	size_t			 weight;	/* bytes, see ctl_defer_weigh */
	void			(*cancel)(void *);
	void			*arg;
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	TAILQ_HEAD(, ctl_defer)	 defers;	/* requests answered later */
	unsigned		 ndefers;
	size_t			 defer_bytes;	/* their weights */
	struct control		*ctl;
	struct bufferevent	*bev;
	TAILQ_ENTRY(ctl_conn)	 wait_entry;	/* in ctl->input_waiters */
	TAILQ_ENTRY(ctl_conn)	 hold_entry;	/* in ctl->input_holders */
	struct event		*close_timer;
	struct event		*frame_timer;	/* the frame's deadline */
	struct event		*hangup;	/* watches a waiter's end */
	size_t			 reserved;	/* input room kept for it */
	size_t			 wants;		/* room it waits for */
	struct cred		 cred;		/* who connected */
	char			 name[48];	/* "client pid 12 uid 0" */
	bool			 is_admin;
	bool			 closing;	/* reply flushes, then close */
	bool			 throttled;	/* output over CTL_OUT_HIGH */
	bool			 waiting;	/* too much deferred: not read */
	bool			 input_wait;	/* waits for input room */
	bool			 hung_up;	/* stopped sending, waiting */
	bool			 eof;		/* the client sends no more */
	bool			 lingering;	/* replies out, awaiting EOF */
	bool			 withdrawn;	/* its owner was told it went */
	size_t			 discarded;	/* bytes read while lingering */
	struct evbuffer		*pending;	/* replies of this turn */
	TAILQ_ENTRY(ctl_conn)	 flush_entry;	/* in ctl->to_flush */
	bool			 to_flush;
};

struct control {
	struct event_base	*base;
	struct control_params	 par;
	const struct control_ops *ops;
	void			*arg;
	struct dispatch		 table;		/* ops by name */
	struct evconnlistener	*lev;
	struct event		*resume;	/* re-enables accept after EMFILE */
	struct event		*flush;		/* writes replies: ctl_flush_cb */
	TAILQ_HEAD(, ctl_conn)	 to_flush;	/* those with replies pending */
	TAILQ_HEAD(, ctl_conn)	 conns;
	unsigned		 nconns;
	/* Input room: frames over CTL_UNRESERVED keep it while they arrive. */
	size_t			 reserved;
	TAILQ_HEAD(, ctl_conn)	 input_waiters;	/* first come, first served */
	TAILQ_HEAD(, ctl_conn)	 input_holders;	/* those with room kept */
	unsigned		 ninput_waiters;
	uint64_t		 frames_timed_out;
	uint64_t		 refused;
	struct ratelog		 refused_log;
	size_t			 max_frame;
	int			 lock_fd;	/* PATH.lock, held while we run */
	dev_t			 sock_dev;	/* to remove only our own file */
	ino_t			 sock_ino;
	struct cbor_buf		 out;		/* scratch for replies */
	size_t			 out_start;	/* frame being built in out */
	uint64_t		 out_id;	/* the request it answers */
};

static void	ctl_conn_free(struct ctl_conn *);
static void	ctl_close_after_reply(struct ctl_conn *);
static void	ctl_maybe_finish(struct ctl_conn *);
static void	ctl_linger(struct ctl_conn *);
static void	ctl_read_cb(struct bufferevent *, void *);
static void	ctl_input_release(struct ctl_conn *);

/* True if nothing holds c back from being read but its own input. */
static bool
ctl_readable(const struct ctl_conn *c)
{
	return !c->closing && !c->throttled && !c->waiting && !c->input_wait &&
	    !c->eof;
}

/* Reads c again if it may be, once the other clients had a turn. */
static void
ctl_resume(struct ctl_conn *c)
{
	if (ctl_readable(c))
		bufferevent_enable(c->bev, EV_READ);
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * Writes c's replies of this turn.  With nothing queued before them
 * they are written at once: handed to the bufferevent, they would be
 * watched for, two epoll_ctl calls and a wake-up for each batch of
 * replies to a client that keeps up.  What the socket does not take is
 * queued as usual.
 */
static void
ctl_flush(struct ctl_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	if (c->to_flush) {
		TAILQ_REMOVE(&c->ctl->to_flush, c, flush_entry);
		c->to_flush = false;
	}
	if (c->pending == NULL || evbuffer_get_length(c->pending) == 0)
		return;
	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(c->pending, bufferevent_getfd(c->bev));
	if (evbuffer_get_length(c->pending) > 0 &&
	    evbuffer_add_buffer(out, c->pending) == -1)
		log_warnx("control %s: cannot queue reply", c->name);
	/* All written: no write callback will come to end a throttle. */
	if (c->throttled && ctl_queued(c) <= CTL_OUT_LOW) {
		c->throttled = false;
		ctl_resume(c);
	}
}

static void
ctl_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control	*ctl = arg;
	struct ctl_conn	*c;

	(void)fd; (void)what;
	while ((c = TAILQ_FIRST(&ctl->to_flush)) != NULL)
		ctl_flush(c);
}

/* c's replies are written at the end of this turn. */
static void
ctl_flush_later(struct ctl_conn *c)
{
	if (c->to_flush)
		return;
	TAILQ_INSERT_TAIL(&c->ctl->to_flush, c, flush_entry);
	c->to_flush = true;
	event_active(c->ctl->flush, EV_WRITE, 1);
}

static void
ctl_free_data(const void *data, size_t len, void *arg)
{
	(void)data; (void)len;
	free(arg);
}

/*
 * Queues len bytes for c, written at the end of this turn.  owned: data
 * was malloc'ed and is handed over, not copied, and freed once written.
 */
static int
ctl_put(struct ctl_conn *c, uint8_t *data, size_t len, bool owned)
{
	int	rc;

	if (c->pending == NULL && (c->pending = evbuffer_new()) == NULL)
		return -1;
	rc = owned ? evbuffer_add_reference(c->pending, data, len,
	    ctl_free_data, data) : evbuffer_add(c->pending, data, len);
	if (rc == -1)
		return -1;
	ctl_flush_later(c);
	return 0;
}

/* Queues the frame built in ctl->out since start. */
static void
ctl_send(struct ctl_conn *c, size_t start)
{
	struct control	*ctl = c->ctl;
	bool		 owned;

	if (ctl_frame_end(&ctl->out, start, ctl->max_frame) == -1) {
		/* The request cannot be answered: end the whole connection. */
		log_warnx("control %s: reply too large or out of memory, "
		    "closing", c->name);
		cbor_buf_reset(&ctl->out);
		start = ctl_frame_begin(&ctl->out);
		ctl_put_error(&ctl->out, 0, PEER_INTERNAL,
		    "reply too large or out of memory");
		if (ctl_frame_end(&ctl->out, start, ctl->max_frame) == 0)
			(void)ctl_put(c, ctl->out.data + start,
			    ctl->out.len - start, false);
		cbor_buf_reset(&ctl->out);
		ctl_close_after_reply(c);
		return;
	}
	/* A large reply is handed over, not copied again. */
	owned = start == 0 && ctl->out.len >= CTL_HAND_OVER;
	if (ctl_put(c, ctl->out.data + start, ctl->out.len - start, owned) ==
	    -1)
		log_warnx("control %s: cannot queue reply", c->name);
	else if (owned) {
		ctl->out.data = NULL;
		ctl->out.cap = 0;
	}
	cbor_buf_reset(&ctl->out);
}

static void
ctl_reply_verror(struct ctl_conn *c, uint64_t id, enum peer_code code,
    const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	start;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	start = ctl_frame_begin(&c->ctl->out);
	ctl_put_error(&c->ctl->out, id, code, msg);
	ctl_send(c, start);
}

void
ctl_reply_error(struct ctl_conn *c, uint64_t id, enum peer_code code,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	ctl_reply_verror(c, id, code, fmt, ap);
	va_end(ap);
}

struct cbor_buf *
ctl_message_begin(struct ctl_conn *c)
{
	struct control	*ctl = c->ctl;

	ctl->out_start = ctl_frame_begin(&ctl->out);
	return &ctl->out;
}

void
ctl_message_end(struct ctl_conn *c)
{
	ctl_send(c, c->ctl->out_start);
}

struct cbor_buf *
ctl_result_begin(struct ctl_conn *c, uint64_t id)
{
	struct cbor_buf	*b = ctl_message_begin(c);

	c->ctl->out_id = id;
	ctl_put_result(b, id);
	return b;
}

void
ctl_result_end(struct ctl_conn *c)
{
	struct control	*ctl = c->ctl;

	/* A result too large (a listing of a huge mesh) fails alone. */
	if (!ctl->out.failed &&
	    ctl->out.len - ctl->out_start - FRAME_HDR > ctl->max_frame) {
		cbor_buf_reset(&ctl->out);
		ctl_reply_error(c, ctl->out_id, PEER_RESOURCE_EXHAUSTED,
		    "the reply would be larger than %zu bytes", ctl->max_frame);
		return;
	}
	ctl_message_end(c);
}

size_t
ctl_queued(const struct ctl_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	    (c->pending == NULL ? 0 : evbuffer_get_length(c->pending));
}

void
ctl_fail(struct ctl_conn *c, enum peer_code code, const char *fmt, ...)
{
	va_list	ap;
	char	msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("control %s: %s, closing", c->name, msg);
	ctl_reply_error(c, 0, code, "%s", msg);
	ctl_close_after_reply(c);
}

const char *
ctl_name(const struct ctl_conn *c)
{
	return c->name;
}

const struct cred *
ctl_cred(const struct ctl_conn *c)
{
	return &c->cred;
}

bool
ctl_is_admin(const struct ctl_conn *c)
{
	return c->is_admin;
}

struct ctl_defer *
ctl_defer(struct ctl_conn *c, uint64_t id, void (*cancel)(void *), void *arg)
{
	struct ctl_defer	*d;

	if (c->ndefers >= CTL_DEFERS_MAX) {
		ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "%d requests "
		    "already waiting for an answer", CTL_DEFERS_MAX);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	d->c = c;
	d->id = id;
	d->cancel = cancel;
	d->arg = arg;
	TAILQ_INSERT_TAIL(&c->defers, d, entry);
	c->ndefers++;
	return d;
}

struct cbor_buf *
ctl_defer_begin(struct ctl_defer *d)
{
	return ctl_result_begin(d->c, d->id);
}

void
ctl_defer_weigh(struct ctl_defer *d, size_t bytes)
{
	d->c->defer_bytes += bytes;
	d->weight += bytes;
}

struct ctl_defer *
ctl_defer_find(struct ctl_conn *c, uint64_t id, void (*cancel)(void *))
{
	struct ctl_defer	*d;

	TAILQ_FOREACH(d, &c->defers, entry)
		if (d->id == id && d->cancel == cancel)
			return d;
	return NULL;
}

void *
ctl_defer_arg(const struct ctl_defer *d)
{
	return d->arg;
}

size_t
ctl_defer_queued(const struct ctl_defer *d)
{
	return ctl_queued(d->c);
}

struct ctl_conn *
ctl_defer_conn(const struct ctl_defer *d)
{
	return d->c;
}

uint64_t
ctl_defer_id(const struct ctl_defer *d)
{
	return d->id;
}

/* True if c has so much deferred that it is not read from. */
static bool
ctl_deferred_full(const struct ctl_conn *c)
{
	return c->ndefers >= CTL_DEFERS_MAX ||
	    c->defer_bytes >= CTL_DEFER_BYTES_MAX;
}

/* Forgets an answered defer; reading resumes if it was waiting on it. */
static void
ctl_defer_release(struct ctl_defer *d)
{
	struct ctl_conn	*c = d->c;

	TAILQ_REMOVE(&c->defers, d, entry);
	c->ndefers--;
	c->defer_bytes -= d->weight;
	free(d);
	if (c->waiting && !ctl_deferred_full(c)) {
		c->waiting = false;
		ctl_resume(c);
	}
	ctl_maybe_finish(c);
}

void
ctl_defer_end(struct ctl_defer *d)
{
	ctl_result_end(d->c);
	ctl_defer_release(d);
}

void
ctl_defer_error(struct ctl_defer *d, enum peer_code code, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	ctl_reply_verror(d->c, d->id, code, fmt, ap);
	va_end(ap);
	ctl_defer_release(d);
}

void
ctl_defer_error_value(struct ctl_defer *d, const struct ctl_error *e)
{
	struct cbor_buf	*b = ctl_message_begin(d->c);

	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_uint(b, d->id);
	cbor_put_text(b, "error");
	ctl_put_error_value(b, e->code, e->msg, e->msglen, e->context,
	    e->contextlen);
	ctl_message_end(d->c);
	ctl_defer_release(d);
}

bool
ctl_arg_text(struct ctl_conn *c, const struct ctl_msg *m, const char *key,
    char *buf, size_t len, bool required)
{
	const struct cbor_field	*f;
	const char		*s;
	size_t			 n;

	buf[0] = '\0';
	if ((f = ctl_msg_get(m, key)) == NULL) {
		if (!required)
			return true;
		ctl_reply_error(c, m->id, PEER_INVALID_ARGUMENT, "%s: missing",
		    key);
		return false;
	}
	if (!cbor_read_text(f->val, f->vallen, &s, &n) || n >= len ||
	    memchr(s, '\0', n) != NULL) {
		ctl_reply_error(c, m->id, PEER_INVALID_ARGUMENT, "%s: not text "
		    "of at most %zu bytes", key, len - 1);
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

bool
ctl_arg_uint(struct ctl_conn *c, const struct ctl_msg *m, const char *key,
    uint64_t *v, uint64_t max)
{
	const struct cbor_field	*f;

	if ((f = ctl_msg_get(m, key)) == NULL)
		return true;	/* *v keeps the caller's default */
	if (!cbor_read_uint(f->val, f->vallen, v) || *v > max) {
		ctl_reply_error(c, m->id, PEER_INVALID_ARGUMENT, "%s: not an "
		    "unsigned integer of at most %" PRIu64, key, max);
		return false;
	}
	return true;
}

static void
ctl_close_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	(void)fd; (void)what;
	if (!c->lingering)
		log_debug("control %s: did not read its last reply, closing",
		    c->name);
	ctl_conn_free(c);
}

/*
 * Once closing and no deferred reply is due, frees c when its output
 * has drained, or after CTL_CLOSE_GRACE if the client does not read.
 * Callers may still hold c: it is freed from a later callback.
 */
static void
ctl_maybe_finish(struct ctl_conn *c)
{
	struct timeval	tv = { CTL_CLOSE_GRACE, 0 };

	if (!c->closing || c->lingering || !TAILQ_EMPTY(&c->defers))
		return;
	ctl_flush(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		ctl_linger(c);
	else if (!evtimer_pending(c->close_timer, NULL))
		evtimer_add(c->close_timer, &tv);
}

static void
ctl_linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	c->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->discarded > CTL_LINGER_MAX)
		ctl_conn_free(c);
}

static void
ctl_linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev; (void)what;
	ctl_conn_free(arg);	/* EOF or error: the client has gone */
}

/*
 * Every reply is out: shut down our side and read until the client's
 * EOF.  Closing a Unix socket with unread input resets it, and the
 * client could lose the last reply (often the error saying why).  c is
 * not freed here: callers up the stack (a frame being handled, with
 * its bytes still in the input) may still hold it.
 */
static void
ctl_linger(struct ctl_conn *c)
{
	struct timeval	tv = { CTL_LINGER, 0 };

	c->lingering = true;
	(void)shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_setcb(c->bev, ctl_linger_read_cb, NULL,
	    ctl_linger_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_del(c->close_timer);
	if (c->eof)
		tv.tv_sec = 0;	/* it already said it is done */
	evtimer_add(c->close_timer, &tv);
	/* What is buffered goes from the loop, as what comes next will. */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * The client serves and subscribes no more: its services and patterns
 * go, and the calls it was serving fail at their callers.
 */
static void
ctl_withdraw(struct ctl_conn *c)
{
	if (c->withdrawn)
		return;
	c->withdrawn = true;
	c->ctl->ops->client_gone(c->ctl->arg, c);
}

/*
 * Stops reading; the connection closes once its replies are out.  Its
 * services go now: the replies to their calls would not be read.
 */
static void
ctl_close_after_reply(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	ctl_withdraw(c);
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->frame_timer);
	ctl_input_release(c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	ctl_maybe_finish(c);
}

int
control_add_ops(struct control *ctl, const struct ctl_op *ops, void *arg)
{
	for (; ops->name != NULL; ops++)
		if (dispatch_add(&ctl->table, "control: op", ops->name, ops,
		    arg) == -1)
			return -1;
	return 0;
}

static void
ctl_dispatch(struct ctl_conn *c, const struct ctl_msg *m)
{
	const struct dispatch_entry	*e;
	const struct ctl_op		*op;

	e = dispatch_find(&c->ctl->table, m->op);
	op = e != NULL ? e->handler : NULL;
	/* An app's answer to an invoke: the one message without an id. */
	if (op != NULL && (op->flags & CTL_OP_NO_ID)) {
		op->fn(c, m, e->arg);
		return;
	}
	if (!m->has_id || m->id == 0) {
		/* Unanswerable: id 0 is for errors about the connection. */
		log_warnx("control %s: request without an id of 1 or more, "
		    "closing", c->name);
		ctl_reply_error(c, 0, PEER_INVALID_ARGUMENT,
		    "request without an id of 1 or more");
		ctl_close_after_reply(c);
		return;
	}
	if (m->op[0] == '\0') {
		ctl_reply_error(c, m->id, PEER_INVALID_ARGUMENT,
		    "request without an op");
		return;
	}
	if (op == NULL)
		ctl_reply_error(c, m->id, PEER_UNIMPLEMENTED, "no such op: %s",
		    m->op);
	else if ((op->flags & CTL_OP_ADMIN) && !c->is_admin)
		ctl_reply_error(c, m->id, PEER_PERMISSION_DENIED,
		    "%s needs root, the daemon's user or admin_group",
		    op->name);
	else
		op->fn(c, m, e->arg);
}

/* Handles one whole frame payload. */
static void
ctl_frame(struct ctl_conn *c, const uint8_t *buf, size_t len)
{
	struct ctl_msg	m;
	char		why[160];

	if (ctl_msg_decode(buf, len, &m, why, sizeof(why)) == -1) {
		log_warnx("control %s: malformed request, closing: %s",
		    c->name, why);
		ctl_reply_error(c, m.has_id ? m.id : 0, PEER_INVALID_ARGUMENT,
		    "malformed request: %s", why);
		ctl_close_after_reply(c);
		return;
	}
	ctl_dispatch(c, &m);
}

/* Room held now by the clients of uid. */
static size_t
ctl_room_of(const struct control *ctl, uid_t uid)
{
	const struct ctl_conn	*c;
	size_t			 n = 0;

	TAILQ_FOREACH(c, &ctl->input_holders, hold_entry)
		if (c->cred.uid == uid)
			n += c->reserved;
	return n;
}

/*
 * Whether a frame of need bytes of c stays within its user's share of
 * the room: one user's clients, each holding a frame open until its
 * deadline, cannot keep the others' large requests waiting.  A frame
 * larger than the share is let in alone.
 */
static bool
ctl_room_share(const struct control *ctl, const struct ctl_conn *c,
    size_t need)
{
	size_t	mine = ctl_room_of(ctl, c->cred.uid);

	return mine == 0 || mine + need <= ctl->par.input_max / CTL_ROOM_SHARES;
}

/* Whether need bytes fit in the room left (one frame always does). */
static bool
ctl_room_left(const struct control *ctl, size_t need)
{
	return ctl->reserved == 0 || ctl->reserved + need <= ctl->par.input_max;
}

/* Takes c out of the line for room. */
static void
ctl_input_unqueue(struct ctl_conn *c)
{
	TAILQ_REMOVE(&c->ctl->input_waiters, c, wait_entry);
	c->ctl->ninput_waiters--;
	c->input_wait = false;
	if (c->hangup != NULL)
		event_del(c->hangup);
}

/* Keeps need bytes of input room for c's frame, and reads only that. */
static void
ctl_input_keep(struct ctl_conn *c, size_t need)
{
	c->reserved = need;
	c->ctl->reserved += need;
	TAILQ_INSERT_TAIL(&c->ctl->input_holders, c, hold_entry);
	bufferevent_setwatermark(c->bev, EV_READ, 0, need);
}

/*
 * Gives room to the clients waiting for it, in the order they asked.
 * A client whose user holds its share already is passed over; one
 * whose frame does not fit stops the line, so that a large frame is not
 * overtaken for ever by smaller ones.
 */
static void
ctl_input_wake(struct control *ctl)
{
	struct ctl_conn	*c, *next;

	for (c = TAILQ_FIRST(&ctl->input_waiters); c != NULL; c = next) {
		next = TAILQ_NEXT(c, wait_entry);
		if (!ctl_room_share(ctl, c, c->wants))
			continue;
		if (!ctl_room_left(ctl, c->wants))
			break;
		ctl_input_unqueue(c);
		ctl_input_keep(c, c->wants);
		ctl_resume(c);
	}
}

/*
 * c's frame is in, or c is going: it waits no more, and its room goes
 * to the next in line.
 */
static void
ctl_input_release(struct ctl_conn *c)
{
	struct control	*ctl = c->ctl;

	if (c->input_wait)
		ctl_input_unqueue(c);
	if (c->reserved > 0) {
		ctl->reserved -= c->reserved;
		c->reserved = 0;
		TAILQ_REMOVE(&ctl->input_holders, c, hold_entry);
		bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_UNRESERVED);
	}
	ctl_input_wake(ctl);
}

/*
 * A waiting client shut down or closed its end: it sends no more.  What
 * it sent is in the kernel's buffer, bounded there; it is read without
 * room, and answered or dropped, so that a client that gave up does not
 * keep its place among max_clients until its turn.
 */
static void
ctl_hangup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	(void)fd; (void)what;
	log_debug("control %s: stopped sending while waiting for input room",
	    c->name);
	c->hung_up = true;
	ctl_input_release(c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->wants);
	ctl_resume(c);
}

/*
 * A frame of need bytes has begun.  One larger than CTL_UNRESERVED is
 * read only into room kept for it out of input_max, so that all the
 * clients together hold at most that much (or one frame, if larger):
 * 1,000 clients each a byte short of max_message cost no more.  False
 * if c must wait for room; it is not read, and its deadline not run,
 * until then.
 */
static bool
ctl_input_room(struct ctl_conn *c, size_t need)
{
	struct control	*ctl = c->ctl;

	if (need <= CTL_UNRESERVED || c->reserved >= need || c->eof ||
	    c->hung_up)
		return true;
	if (TAILQ_EMPTY(&ctl->input_waiters) && ctl_room_share(ctl, c, need) &&
	    ctl_room_left(ctl, need)) {
		ctl_input_keep(c, need);
		return true;
	}
	c->input_wait = true;
	c->wants = need;
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->frame_timer);
	TAILQ_INSERT_TAIL(&ctl->input_waiters, c, wait_entry);
	ctl->ninput_waiters++;
	/* Without early close (not epoll), a waiter is seen gone in turn. */
	if (c->hangup == NULL && (event_base_get_features(ctl->base) &
	    EV_FEATURE_EARLY_CLOSE))
		c->hangup = event_new(ctl->base, bufferevent_getfd(c->bev),
		    EV_CLOSED, ctl_hangup_cb, c);
	if (c->hangup != NULL)
		event_add(c->hangup, NULL);
	/* Others before it may be over their share: it may pass them. */
	ctl_input_wake(ctl);
	return false;
}

static void
ctl_frame_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*c = arg;
	double		 s = c->ctl->par.frame_timeout_ms / 1000.0;

	(void)fd; (void)what;
	c->ctl->frames_timed_out++;
	log_warnx("control %s: frame not finished within %g s, closing",
	    c->name, s);
	ctl_reply_error(c, 0, PEER_INVALID_ARGUMENT,
	    "frame not finished within %g s", s);
	ctl_close_after_reply(c);
}

/*
 * No whole frame is buffered.  After the client's EOF, what is left is
 * a truncated frame; otherwise a started frame must finish in time.
 */
static void
ctl_need_more(struct ctl_conn *c, size_t avail)
{
	struct timeval	tv;

	if (c->eof) {
		if (avail > 0) {
			log_warnx("control %s: truncated frame (%zu bytes), "
			    "closing", c->name, avail);
			ctl_reply_error(c, 0, PEER_INVALID_ARGUMENT,
			    "truncated frame: connection ended after %zu "
			    "bytes", avail);
		} else
			log_debug("control %s: disconnected", c->name);
		ctl_close_after_reply(c);
		return;
	}
	/*
	 * An idle client may stay; a started frame has a deadline from its
	 * first byte, however slowly the rest arrives.
	 */
	if (avail > 0 && !evtimer_pending(c->frame_timer, NULL)) {
		tv.tv_sec = (time_t)(c->ctl->par.frame_timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(c->ctl->par.frame_timeout_ms % 1000 *
		    1000);
		evtimer_add(c->frame_timer, &tv);
	}
}

/*
 * Reads what the socket holds, up to end bytes of input, straight into
 * c's input.  The bufferevent's own reads stop at 4 KiB in libevent
 * 2.1: a 1 MiB frame would take 256 wake-ups, and 4 KiB calls a
 * wake-up each.  end is what c may buffer (the room kept for its frame,
 * or CTL_UNRESERVED), so the bounds on its input still hold.  An end or
 * an error is left for the bufferevent to find on its next read.  Sets
 * *drained once the socket had less than asked for.  True if it read
 * any.
 */
static bool
ctl_read_more(struct ctl_conn *c, size_t end, bool *drained)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v[2];
	size_t			 avail = evbuffer_get_length(in), want;
	ssize_t			 n;
	int			 nv;

	if (c->eof || *drained || avail >= end)
		return false;
	want = end - avail;
	if (want > CTL_IO_MAX)
		want = CTL_IO_MAX;
	/* A bufferevent keeps its input's end frozen but while it reads. */
	evbuffer_unfreeze(in, 0);
	n = -1;
	if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) >= 1) {
		if (v[0].iov_len >= want) {
			v[0].iov_len = want;
			nv = 1;
		} else if (nv == 2 && v[0].iov_len + v[1].iov_len > want)
			v[1].iov_len = want - v[0].iov_len;
		n = readv(bufferevent_getfd(c->bev), (struct iovec *)v, nv);
	}
	if (n > 0) {
		if ((size_t)n <= v[0].iov_len) {
			v[0].iov_len = (size_t)n;
			nv = 1;
		} else
			v[1].iov_len = (size_t)n - v[0].iov_len;
		if (evbuffer_commit_space(in, v, nv) == -1)
			n = -1;
	}
	evbuffer_freeze(in, 0);
	if (n < (ssize_t)want)
		*drained = true;
	return n > 0;
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		*p;
	uint32_t	 len = 0;
	size_t		 avail, end;
	bool		 drained;
	int		 i;

	/* Less than a full read of the bufferevent's: the socket is empty. */
	drained = evbuffer_get_length(in) < CTL_BEV_READ_MAX;

	for (i = 0; i < CTL_FRAMES_PER_WAKE; i++) {
		if (c->closing || c->throttled || c->waiting || c->input_wait)
			return;
		/* Requests waiting on the mesh bound what we read next. */
		if (ctl_deferred_full(c)) {
			c->waiting = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		avail = evbuffer_get_length(in);
		p = evbuffer_pullup(in, avail < FRAME_HDR ? -1 : FRAME_HDR);
		switch (frame_check(p, avail, c->ctl->max_frame, &len)) {
		case FRAME_NEED_MORE:
			end = CTL_UNRESERVED;
			if (avail >= FRAME_HDR) {
				if (!ctl_input_room(c, FRAME_HDR + (size_t)len))
					return;
				if (FRAME_HDR + (size_t)len > end)
					end = FRAME_HDR + (size_t)len;
			}
			if (!ctl_read_more(c, end, &drained)) {
				ctl_need_more(c, avail);
				return;
			}
			continue;
		case FRAME_EMPTY:
			log_warnx("control %s: empty frame, closing", c->name);
			ctl_reply_error(c, 0, PEER_INVALID_ARGUMENT,
			    "empty frame");
			ctl_close_after_reply(c);
			return;
		case FRAME_TOO_BIG:
			log_warnx("control %s: frame of %" PRIu32 " bytes "
			    "exceeds %zu, closing", c->name, len,
			    c->ctl->max_frame);
			ctl_reply_error(c, 0, PEER_RESOURCE_EXHAUSTED,
			    "frame of %" PRIu32 " bytes exceeds %zu", len,
			    c->ctl->max_frame);
			ctl_close_after_reply(c);
			return;
		case FRAME_OK:
			break;
		}
		if ((p = evbuffer_pullup(in, FRAME_HDR + (ssize_t)len)) == NULL) {
			log_warnx("control %s: out of memory, closing", c->name);
			ctl_conn_free(c);
			return;
		}
		ctl_frame(c, p + FRAME_HDR, len);
		if (c->closing)
			return;
		evbuffer_drain(in, FRAME_HDR + (size_t)len);
		evtimer_del(c->frame_timer);
		ctl_input_release(c);
		if (ctl_queued(c) > CTL_OUT_HIGH) {
			c->throttled = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
	/* More may be buffered: come back after the others had a turn. */
	bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;

	(void)bev;
	if (c->closing) {
		ctl_maybe_finish(c);
		return;
	}
	if (c->throttled) {
		c->throttled = false;
		ctl_resume(c);
	}
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	if (what & BEV_EVENT_ERROR) {
		log_debug("control %s: %s", c->name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		ctl_conn_free(c);
		return;
	}
	/*
	 * EOF: the client may only have shut down its sending side.  The
	 * whole frames it sent are still answered, deferred replies too,
	 * before the connection closes.
	 */
	c->eof = true;
	if (!c->closing)
		ctl_read_cb(bev, c);
}

static void
ctl_conn_free(struct ctl_conn *c)
{
	struct ctl_defer	*d;

	if (c == NULL)
		return;
	ctl_withdraw(c);
	ctl_input_release(c);
	/* Whoever would have answered must forget these requests. */
	while ((d = TAILQ_FIRST(&c->defers)) != NULL) {
		TAILQ_REMOVE(&c->defers, d, entry);
		c->ndefers--;
		d->cancel(d->arg);
		free(d);
	}
	if (c->to_flush)
		TAILQ_REMOVE(&c->ctl->to_flush, c, flush_entry);
	if (c->pending != NULL)
		evbuffer_free(c->pending);
	TAILQ_REMOVE(&c->ctl->conns, c, entry);
	c->ctl->nconns--;
	if (c->close_timer != NULL)
		event_free(c->close_timer);
	if (c->frame_timer != NULL)
		event_free(c->frame_timer);
	if (c->hangup != NULL)
		event_free(c->hangup);
	bufferevent_free(c->bev);
	free(c);
}

/*
 * Why a client may not connect now, or NULL.  The last admin_clients
 * places (at most half) are kept for admins, so that a flood of clients of one user
 * cannot keep root's peerctl out; and each user but root and our own
 * has at most max_clients_per_user.
 */
static const char *
ctl_refusal(const struct control *ctl, const struct cred *cr, bool admin,
    char *buf, size_t len)
{
	const struct ctl_conn	*c;
	uint64_t		 n = 0, kept = ctl->par.admin_clients;

	/* A small max_clients keeps half its places for everyone. */
	if (kept > ctl->par.max_clients / 2)
		kept = ctl->par.max_clients / 2;
	if (ctl->nconns >= ctl->par.max_clients)
		return "too many clients";
	if (!admin && ctl->nconns + kept >= ctl->par.max_clients) {
		snprintf(buf, len, "too many clients: the last %" PRIu64
		    " places are kept for admins", kept);
		return buf;
	}
	if (cr->uid == 0 || cr->uid == geteuid())
		return NULL;
	TAILQ_FOREACH(c, &ctl->conns, entry)
		if (c->cred.uid == cr->uid)
			n++;
	if (n >= ctl->par.max_clients_per_user) {
		snprintf(buf, len, "uid %u has %" PRIu64 " clients already, the "
		    "most one user may have", (unsigned)cr->uid, n);
		return buf;
	}
	return NULL;
}

/* One log line a second at most: a flood of clients is one event. */
static void
ctl_log_refusal(struct control *ctl, const struct cred *cr, const char *why)
{
	unsigned	skipped;

	ctl->refused++;
	if (!ratelog_ok(&ctl->refused_log, 1000, &skipped))
		return;
	if (skipped > 0)
		log_warnx("control: %u more clients refused", skipped);
	log_warnx("control: client pid %d uid %u refused: %s", (int)cr->pid,
	    (unsigned)cr->uid, why);
}

/* Refuses a client with one error frame, unbuffered. */
static void
ctl_refuse(struct control *ctl, int fd, const char *why)
{
	uint8_t	junk[4096];
	size_t	start;
	int	i;

	start = ctl_frame_begin(&ctl->out);
	ctl_put_error(&ctl->out, 0, PEER_RESOURCE_EXHAUSTED, why);

	if (ctl_frame_end(&ctl->out, start, ctl->max_frame) == 0)
		(void)send(fd, ctl->out.data, ctl->out.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	cbor_buf_reset(&ctl->out);
	/* Unread input would reset the socket and lose the error. */
	(void)shutdown(fd, SHUT_WR);
	/* A bounded drain: a refused client must not hold the loop. */
	for (i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0;
	    i++)
		;
	close(fd);
}

static void
ctl_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control	*ctl = arg;
	struct ctl_conn	*c;
	struct cred	 cred;
	const char	*why;
	char		 buf[128];
	bool		 admin;

	(void)lev; (void)sa; (void)salen;
	if (cred_of_socket(fd, &cred) == -1) {
		log_warn("control: cannot tell who connected");
		close(fd);
		return;
	}
	admin = cred.uid == 0 || cred.uid == geteuid() ||
	    (ctl->par.admin_gid != (gid_t)-1 &&
	    cred_in_group(&cred, ctl->par.admin_gid));
	if ((why = ctl_refusal(ctl, &cred, admin, buf, sizeof(buf))) != NULL) {
		ctl_log_refusal(ctl, &cred, why);
		ctl_refuse(ctl, fd, why);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control: accept");
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->cred = cred;
	TAILQ_INIT(&c->defers);
	c->is_admin = admin;
	snprintf(c->name, sizeof(c->name), "client pid %d uid %u",
	    (int)cred.pid, (unsigned)cred.uid);
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->close_timer = evtimer_new(ctl->base, ctl_close_timeout, c);
	c->frame_timer = evtimer_new(ctl->base, ctl_frame_timeout, c);
	if (c->bev == NULL || c->close_timer == NULL || c->frame_timer == NULL) {
		log_warnx("control %s: cannot set up the connection", c->name);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->close_timer != NULL)
			event_free(c->close_timer);
		if (c->frame_timer != NULL)
			event_free(c->frame_timer);
		free(c);
		return;
	}
	/* Larger frames are read once room is kept for them. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_UNRESERVED);
	bufferevent_setwatermark(c->bev, EV_WRITE, CTL_OUT_LOW, 0);
	/* Large calls move in few system calls, not 4 KiB at a time. */
	bufferevent_set_max_single_read(c->bev, CTL_IO_MAX);
	bufferevent_set_max_single_write(c->bev, CTL_IO_MAX);
	bufferevent_setcb(c->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->nconns++;
	log_debug("control %s: connected", c->name);
	if (cred.groups_cut)
		log_warnx("control %s: in more than %d groups; only those count "
		    "for admin_group and access rules", c->name,
		    CRED_GROUPS_MAX);
}

static void
ctl_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control	*ctl = arg;

	(void)fd; (void)what;
	evconnlistener_enable(ctl->lev);
}

static void
ctl_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct control	*ctl = arg;
	struct timeval	 tv = { 1, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* Out of descriptors: pause instead of spinning on accept. */
		log_warnx("control: accept: %s; pausing for 1 s",
		    strerror(e));
		evconnlistener_disable(lev);
		evtimer_add(ctl->resume, &tv);
	} else
		log_warnx("control: accept: %s", strerror(e));
}

/* Whether fd is still the file at path (which its owner may remove). */
static bool
ctl_same_file(int fd, const char *path)
{
	struct stat	a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Takes PATH.lock for the daemon's life.  Whoever holds it owns the
 * socket, so a socket file found while holding it is stale; without the
 * lock, a starting daemon could not tell a stale socket from one that a
 * daemon starting at the same moment has bound but not yet listens on.
 * The owner removes the file at a clean exit, before letting the lock
 * go: a lock taken on a file that is no longer at its path (removed
 * between our open and our flock) is worthless, so we try again.
 * -1 after logging why.
 */
static int
ctl_lock(const char *path)
{
	char	lock[PATH_MAX];
	int	fd, tries;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		log_warnx("control: socket path %s is too long", path);
		return -1;
	}
	for (tries = 0; tries < CTL_LOCK_TRIES; tries++) {
		if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600)) == -1) {
			log_warn("control: %s", lock);
			return -1;
		}
		if (lock_take(fd) == -1) {
			if (errno == EWOULDBLOCK)
				log_warnx("control: another peerd is already "
				    "serving %s", path);
			else
				log_warn("control: lock %s", lock);
			close(fd);
			return -1;
		}
		if (ctl_same_file(fd, lock))
			return fd;
		close(fd);
	}
	log_warnx("control: %s keeps being replaced", lock);
	return -1;
}

int
control_check(const char *path, gid_t gid, bool *busy, char *err,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			 dir[PATH_MAX], up[PATH_MAX], lock[PATH_MAX];
	char			*parent;
	gid_t			 groups[NGROUPS_MAX];
	int			 i, n;

	*busy = false;
	if (strlen(path) >= sizeof(sun.sun_path) || snprintf(lock,
	    sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		snprintf(err, errlen, "control: socket path %s is too long",
		    path);
		return -1;
	}
	/* The directory, or the one that ctl_bind would create it in. */
	snprintf(dir, sizeof(dir), "%s", path);
	parent = dirname(dir);
	if (stat(parent, &st) == -1 && errno == ENOENT) {
		snprintf(up, sizeof(up), "%s", parent);
		parent = dirname(up);
		if (stat(parent, &st) == -1) {
			snprintf(err, errlen, "control: %s: %s (only the "
			    "socket's own directory is created)", parent,
			    strerror(errno));
			return -1;
		}
	}
	if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) == -1) {
		snprintf(err, errlen, "control: cannot create the socket in "
		    "%s: %s", parent, strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control: %s exists and is not a socket",
		    path);
		return -1;
	}
	if (gid != (gid_t)-1 && geteuid() != 0 && getegid() != gid) {
		n = getgroups(NGROUPS_MAX, groups);
		for (i = 0; i < n && groups[i] != gid; i++)
			;
		if (i >= n) {
			snprintf(err, errlen, "control: cannot give %s to "
			    "group %u: the daemon runs neither as root nor in "
			    "that group", path, (unsigned)gid);
			return -1;
		}
	}
	return lock_probe(lock, busy, err, errlen);
}

/*
 * Binds path, replacing a stale socket file (we hold the lock), and
 * gives it to group gid (-1: keep ours).
 */
static int
ctl_bind(const char *path, gid_t gid)
{
	struct sockaddr_un	sun;
	struct stat		st;
	char			dir[PATH_MAX];
	mode_t			old;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("control: socket path %s is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) == 0)
		log_info("control: created %s", dir);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("control: %s exists and is not a socket",
			    path);
			return -1;
		}
		log_info("control: removing stale socket %s", path);
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control: socket");
		return -1;
	}
	old = umask(0117);	/* socket mode 0660 */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || listen(fd, SOMAXCONN) == -1) {
		log_warn("control: %s", path);
		close(fd);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		log_warn("control: cannot give %s to group %u", path,
		    (unsigned)gid);
		close(fd);
		return -1;
	}
	return fd;
}

struct control *
control_open(struct event_base *base, const struct control_params *par,
    const struct control_ops *ops, void *arg)
{
	struct control	*ctl;
	struct stat	 st;
	const char	*path = par->socket_path;
	int		 fd;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		log_warn("control");
		return NULL;
	}
	ctl->base = base;
	ctl->par = *par;
	ctl->ops = ops;
	ctl->arg = arg;
	TAILQ_INIT(&ctl->conns);
	TAILQ_INIT(&ctl->input_waiters);
	TAILQ_INIT(&ctl->input_holders);
	TAILQ_INIT(&ctl->to_flush);
	ctl->max_frame = par->max_message + CTL_ENVELOPE;
	if ((ctl->lock_fd = ctl_lock(path)) == -1) {
		free(ctl);
		return NULL;
	}
	if ((fd = ctl_bind(path, par->socket_gid)) == -1) {
		close(ctl->lock_fd);
		free(ctl);
		return NULL;
	}
	if (fstat(fd, &st) == 0 && stat(path, &st) == 0) {
		ctl->sock_dev = st.st_dev;
		ctl->sock_ino = st.st_ino;
	}
	ctl->resume = evtimer_new(base, ctl_resume_cb, ctl);
	ctl->flush = event_new(base, -1, 0, ctl_flush_cb, ctl);
	ctl->lev = evconnlistener_new(base, ctl_accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ctl->resume == NULL || ctl->flush == NULL || ctl->lev == NULL) {
		log_warnx("control: cannot watch %s", path);
		if (ctl->lev == NULL)
			close(fd);
		control_free(ctl);
		return NULL;
	}
	evconnlistener_set_error_cb(ctl->lev, ctl_accept_error_cb);
	log_info("control: listening on %s", path);
	return ctl;
}

unsigned
control_clients(const struct control *ctl)
{
	return ctl->nconns;
}

void
control_stats(const struct control *ctl, struct control_stats *st)
{
	const struct ctl_conn	*c;

	memset(st, 0, sizeof(*st));
	st->clients = ctl->nconns;
	TAILQ_FOREACH(c, &ctl->conns, entry)
		st->input_bytes += evbuffer_get_length(
		    bufferevent_get_input(c->bev));
	st->waiting_input = ctl->ninput_waiters;
	st->frames_timed_out = ctl->frames_timed_out;
	st->clients_refused = ctl->refused;
}

void
control_free(struct control *ctl)
{
	struct ctl_conn	*c;
	struct stat	 st;
	char		 lock[PATH_MAX];

	if (ctl == NULL)
		return;
	/*
	 * No room goes to a waiter now: its read would be scheduled on a
	 * loop that may not run again, and its connection never freed.
	 */
	while ((c = TAILQ_FIRST(&ctl->input_waiters)) != NULL)
		ctl_input_unqueue(c);
	while (!TAILQ_EMPTY(&ctl->conns))
		ctl_conn_free(TAILQ_FIRST(&ctl->conns));
	if (ctl->lev != NULL) {
		evconnlistener_free(ctl->lev);
		/* Another daemon may have replaced the file: leave that one. */
		if (stat(ctl->par.socket_path, &st) == 0 &&
		    st.st_dev == ctl->sock_dev && st.st_ino == ctl->sock_ino)
			(void)unlink(ctl->par.socket_path);
	}
	if (ctl->resume != NULL)
		event_free(ctl->resume);
	if (ctl->flush != NULL)
		event_free(ctl->flush);
	cbor_buf_free(&ctl->out);
	dispatch_free(&ctl->table);
	/* Ours until closed, so no other daemon's (see ctl_lock). */
	if (snprintf(lock, sizeof(lock), "%s.lock", ctl->par.socket_path) <
	    (int)sizeof(lock) && ctl_same_file(ctl->lock_fd, lock))
		(void)unlink(lock);
	close(ctl->lock_fd);
	free(ctl);
}

