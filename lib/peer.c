/* SPDX-License-Identifier: ISC */
/*
 * peer.c: one client connection to peerd: socket I/O, the table of
 * requests in flight and their timeouts, and reconnecting.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>

#include "frame.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"

#define PEER_HELLO_TIMEOUT	5000	/* ms */
#define PEER_RETRY_MIN		100	/* ms, first reconnect delay */
#define PEER_RETRY_MAX		5000	/* ms, doubling stops here */
#define PEER_READS_MAX		16	/* per dispatch, then yield */

static int	peer_connect(struct peer *, bool, struct peer_error *);

void
peer_seterr(struct peer_error *err, enum peer_code code, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

int64_t
peer_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
peer_default_socket(char *buf, size_t len)
{
	const char	*s, *xdg;
	int		 n;

	if ((s = getenv("PEERD_SOCKET")) != NULL && *s != '\0')
		n = snprintf(buf, len, "%s", s);
	else if (geteuid() != 0 && (xdg = getenv("XDG_RUNTIME_DIR")) != NULL &&
	    *xdg == '/') {
		n = snprintf(buf, len, "%s/peerd.sock", xdg);
		if (n >= 0 && (size_t)n < len && access(buf, F_OK) == -1)
			n = snprintf(buf, len, "/run/peerd/peerd.sock");
	} else
		n = snprintf(buf, len, "/run/peerd/peerd.sock");
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

static struct pending **
pending_slot(struct peer *p, uint64_t id)
{
	struct pending	**pp;

	pp = &p->bucket[id & (PEER_BUCKETS - 1)];
	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

bool
peer_pending_has(const struct peer *p, uint64_t id)
{
	const struct pending	*pd;

	for (pd = p->bucket[id & (PEER_BUCKETS - 1)]; pd != NULL; pd = pd->next)
		if (pd->id == id)
			return true;
	return false;
}

void
peer_pending_each(struct peer *p, uint64_t id, peer_answer_fn *fn, void *arg)
{
	struct pending	*pd = *pending_slot(p, id);

	if (pd != NULL) {
		pd->each = fn;
		pd->each_arg = arg;
	}
}

/* An "answer" message: one answer of a call with all, for its each. */
static void
pending_answer(struct peer *p, const struct ctl_msg *m)
{
	const struct cbor_field	*f, *a;
	struct pending		*pd;
	uint64_t		 id;

	if ((f = ctl_msg_get(m, "call")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &id) ||
	    (a = ctl_msg_get(m, "answer")) == NULL ||
	    (pd = *pending_slot(p, id)) == NULL || pd->each == NULL)
		return;
	p->depth++;
	pd->each(p, id, a->val, a->vallen, pd->each_arg);
	p->depth--;
}

/* A record for a new request: a spare one if there is one. */
static struct pending *
pending_new(struct peer *p)
{
	struct pending	*pd;

	if ((pd = p->spare) == NULL)
		return calloc(1, sizeof(*pd));
	p->spare = pd->next;
	p->nspare--;
	memset(pd, 0, sizeof(*pd));
	return pd;
}

/* Keeps a finished record for the next request, up to a bound. */
static void
pending_release(struct peer *p, struct pending *pd)
{
	if (p->nspare >= PEER_SPARE_MAX) {
		free(pd);
		return;
	}
	pd->next = p->spare;
	p->spare = pd;
	p->nspare++;
}

/* Ends one request: unlinks it, then runs its callback with r. */
static void
pending_finish(struct peer *p, struct pending **pp, struct peer_reply *r)
{
	struct pending	*pd = *pp;

	*pp = pd->next;
	p->npending--;
	r->id = pd->id;
	p->depth++;
	pd->fn(p, r, pd->arg);
	p->depth--;
	pending_release(p, pd);
}

/* Ends one request with an error and no context. */
static void
pending_fail(struct peer *p, struct pending **pp, const struct peer_error *e)
{
	struct peer_reply	r;

	memset(&r, 0, sizeof(r));
	r.error = e;
	pending_finish(p, pp, &r);
}

/* Drops a request without calling its callback. */
static void
pending_forget(struct peer *p, uint64_t id)
{
	struct pending	**pp = pending_slot(p, id), *pd = *pp;

	if (pd == NULL)
		return;
	*pp = pd->next;
	p->npending--;
	pending_release(p, pd);
}

void
peer_pending_forget(struct peer *p, uint64_t id)
{
	pending_forget(p, id);
}

/* Ends every request with the same error. */
static void
pending_fail_all(struct peer *p, enum peer_code code, const char *msg)
{
	struct peer_error	e;
	size_t			i;

	peer_seterr(&e, code, "%s", msg);
	for (i = 0; i < PEER_BUCKETS; i++)
		while (p->bucket[i] != NULL)
			pending_fail(p, &p->bucket[i], &e);
}

/*
 * Ends the requests whose deadline has passed.  They are all unlinked
 * before the first callback runs: a callback may change the table, and
 * a send of its that fails loses the connection and empties it, so no
 * pointer into it survives one.
 */
static void
pending_expire(struct peer *p)
{
	struct peer_error	 e;
	struct pending		**pp, *due = NULL, **tail = &due;
	int64_t			 now;
	size_t			 i;

	if (p->npending == 0) {
		p->soonest = INT64_MAX;
		return;
	}
	/* Nothing is due before the soonest: no need to look. */
	if ((now = peer_now_ms()) < p->soonest)
		return;
	/* Requests the callbacks start lower it again as they go in. */
	p->soonest = INT64_MAX;
	for (i = 0; i < PEER_BUCKETS; i++) {
		pp = &p->bucket[i];
		while (*pp != NULL) {
			if ((*pp)->deadline <= now) {
				*tail = *pp;
				*pp = (*pp)->next;
				tail = &(*tail)->next;
				*tail = NULL;
			} else {
				if ((*pp)->deadline < p->soonest)
					p->soonest = (*pp)->deadline;
				pp = &(*pp)->next;
			}
		}
	}
	peer_seterr(&e, PEER_DEADLINE_EXCEEDED, "no reply from peerd in time");
	/* Still counted in npending: pending_finish counts each out. */
	while (due != NULL)
		pending_fail(p, &due, &e);
}

/*
 * Callbacks may send requests but not block or close: the frame they
 * were called for still sits in the read buffer.
 */
bool
peer_in_callback(const struct peer *p, const char *fn, struct peer_error *err)
{
	if (p->depth == 0)
		return false;
	peer_seterr(err, PEER_INVALID_ARGUMENT, "%s called from a callback",
	    fn);
	return true;
}

int
peer_timeout(const struct peer *p)
{
	int64_t		min = INT64_MAX, now;
	uint32_t	len;

	if (p->fd == -1 && p->reconnect)
		min = p->retry_at;
	/*
	 * A write that waited for the socket may have read whole frames;
	 * while the output queue is full they wait for it, not for time.
	 */
	if (p->fd != -1 && !p->full && frame_check(p->rbuf, p->rlen,
	    PEER_FRAME_MAX, &len) != FRAME_NEED_MORE)
		return 0;
	/* Early at worst, if that request has ended: dispatch looks again. */
	if (p->npending > 0 && p->soonest < min)
		min = p->soonest;
	if (min == INT64_MAX)
		return -1;
	now = peer_now_ms();
	if (min <= now)
		return 0;
	return min - now > INT32_MAX ? INT32_MAX : (int)(min - now);
}

int
peer_fd(const struct peer *p)
{
	return p->fd;
}

/*
 * The queue has gone out, or is dropped.  Its memory stays for the next
 * frames, unless one far larger than the limit grew it.
 */
static void
queue_empty(struct peer *p)
{
	size_t	keep = p->outmax > PEER_QUEUE_DEFAULT ? p->outmax :
		    PEER_QUEUE_DEFAULT;

	p->out.len = 0;
	p->outoff = 0;
	if (p->out.cap / 2 > keep)
		cbor_buf_free(&p->out);
}

/*
 * Runs the program's writable function, like any callback, if the queue
 * drained since the last time and is not full again.
 */
static void
writable_notify(struct peer *p)
{
	if (!p->writable_due || p->full)
		return;
	p->writable_due = false;
	if (p->on_writable == NULL)
		return;
	p->depth++;
	p->on_writable(p, p->on_writable_arg);
	p->depth--;
}

void
peer_lost(struct peer *p, const char *why)
{
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	/* What waited to be written was for this connection only. */
	queue_empty(p);
	if (p->full)
		p->writable_due = true;
	p->full = false;
	/* The next connection may number its calls anew. */
	p->noneway = 0;
	p->retry_at = peer_now_ms() + p->backoff;
	pending_fail_all(p, PEER_UNAVAILABLE, why);
	writable_notify(p);
}

/* Makes room for need more bytes in buf; -1 with err set if it cannot. */
static int
peer_room(uint8_t **buf, size_t len, size_t *cap, size_t need,
    struct peer_error *err)
{
	size_t	 ncap = *cap ? *cap : 131072;
	uint8_t	*nb;

	if (*cap - len >= need)
		return 0;
	while (ncap - len < need && ncap <= 2 * (size_t)PEER_FRAME_MAX)
		ncap *= 2;
	if (ncap - len < need || ncap > 2 * (size_t)PEER_FRAME_MAX +
	    FRAME_HDR) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED,
		    "peerd sent more than this client buffers");
		return -1;
	}
	if ((nb = realloc(*buf, ncap)) == NULL) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	*buf = nb;
	*cap = ncap;
	return 0;
}

/*
 * Reads what is there into rbuf, or into the side buffer while
 * callbacks run.  1 if bytes came, 0 if none, -1 on EOF.
 */
static int
peer_read(struct peer *p, struct peer_error *err)
{
	uint8_t	**buf = p->depth > 0 ? &p->side : &p->rbuf;
	size_t	 *len = p->depth > 0 ? &p->sidelen : &p->rlen;
	size_t	 *cap = p->depth > 0 ? &p->sidecap : &p->rcap;
	ssize_t	  n;

	/*
	 * Frames wait while the output queue is full, but reading goes on
	 * so that a daemon waiting for us to read never deadlocks with us;
	 * as far as the side buffer would take it.
	 */
	if (p->full && *len >= PEER_SIDE_MAX - 65536)
		return 0;
	if (peer_room(buf, *len, cap, 65536, err) == -1)
		return -1;
	n = read(p->fd, *buf + *len, *cap - *len);
	if (n > 0) {
		*len += (size_t)n;
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0)
		peer_seterr(err, PEER_UNAVAILABLE, "peerd closed the connection");
	else
		peer_seterr(err, PEER_UNAVAILABLE, "read: %s", strerror(errno));
	return -1;
}

/* Handles one frame; -1 if the daemon broke the protocol. */
static int
peer_handle(struct peer *p, const uint8_t *buf, size_t len,
    struct peer_error *err)
{
	struct ctl_msg		 m;
	struct ctl_error	 ce;
	struct peer_error	 e;
	struct peer_reply	 r;
	const struct cbor_field	*res, *ef;
	struct pending		**pp;
	size_t			 n;
	char			 why[128];

	if (ctl_msg_decode(buf, len, &m, why, sizeof(why)) == -1) {
		peer_seterr(err, PEER_INTERNAL, "bad frame from peerd: %s", why);
		return -1;
	}
	if (!m.has_id) {
		/* Messages the daemon starts; unknown ones are for later. */
		if (strcmp(m.op, "invoke") == 0)
			peer_serve_invoke(p, &m);
		else if (strcmp(m.op, "cancelled") == 0)
			peer_serve_cancelled(p, &m);
		else if (strcmp(m.op, "event") == 0)
			peer_event_deliver(p, &m);
		else if (strcmp(m.op, "change") == 0 ||
		    strcmp(m.op, "log") == 0)
			peer_watch_deliver(p, &m);
		else if (strcmp(m.op, "answer") == 0)
			pending_answer(p, &m);
		else if (strcmp(m.op, "kv_change") == 0)
			peer_kv_deliver(p, &m);
		return 0;
	}
	if (m.id == 0 && (ef = ctl_msg_get(&m, "error")) != NULL) {
		/* About the connection, not one request: ends them all. */
		if (!ctl_read_error(ef, &e.code, e.message, sizeof(e.message)))
			peer_seterr(&e, PEER_INTERNAL, "malformed error from "
			    "peerd");
		pending_fail_all(p, e.code, e.message);
		return 0;
	}
	pp = pending_slot(p, m.id);
	if (*pp == NULL)
		return 0;	/* already timed out */
	memset(&r, 0, sizeof(r));
	if ((ef = ctl_msg_get(&m, "error")) != NULL) {
		if (!ctl_error_decode(ef->val, ef->vallen, &ce)) {
			peer_seterr(err, PEER_INTERNAL, "malformed error from "
			    "peerd");
			return -1;
		}
		e.code = ce.code;
		n = ce.msglen < sizeof(e.message) ? ce.msglen :
		    sizeof(e.message) - 1;
		memcpy(e.message, ce.msg, n);
		e.message[n] = '\0';
		r.error = &e;
		r.context = ce.context;
		r.context_len = ce.contextlen;
		pending_finish(p, pp, &r);
	} else if ((res = ctl_msg_get(&m, "result")) != NULL) {
		r.result = res->val;
		r.result_len = res->vallen;
		pending_finish(p, pp, &r);
	} else {
		peer_seterr(err, PEER_INTERNAL, "reply from peerd without "
		    "result or error");
		return -1;
	}
	return 0;
}

/* Runs callbacks for every whole frame in rbuf. */
static int
peer_process(struct peer *p, struct peer_error *err)
{
	size_t	off = 0;
	uint32_t len;

again:
	/* A full output queue holds the frames: their handlers would send. */
	while (!p->full) {
		switch (frame_check(p->rbuf + off, p->rlen - off,
		    PEER_FRAME_MAX, &len)) {
		case FRAME_NEED_MORE:
			goto done;
		case FRAME_OK:
			break;
		default:
			peer_seterr(err, PEER_INTERNAL, "bad frame length %u "
			    "from peerd", len);
			return -1;
		}
		if (peer_handle(p, p->rbuf + off + FRAME_HDR, len, err) == -1)
			return -1;
		off += FRAME_HDR + len;
	}
done:
	/* A frame that arrives in many reads is not moved at each. */
	if (off > 0) {
		memmove(p->rbuf, p->rbuf + off, p->rlen - off);
		p->rlen -= off;
	}
	/* Bytes read while callbacks ran follow what rbuf holds. */
	if (p->sidelen > 0) {
		if (peer_room(&p->rbuf, p->rlen, &p->rcap, p->sidelen,
		    err) == -1)
			return -1;
		memcpy(p->rbuf + p->rlen, p->side, p->sidelen);
		p->rlen += p->sidelen;
		p->sidelen = 0;
		off = 0;
		goto again;
	}
	return 0;
}

/* One attempt: connect, hello, register, subscribe, watch again; else wait. */
static void
peer_reconnect(struct peer *p)
{
	p->reconnecting = true;
	if (peer_connect(p, false, NULL) == 0 && peer_serve_renew(p) == 0 &&
	    peer_event_renew(p) == 0 && peer_watch_renew(p) == 0)
		(void)peer_kv_renew(p);
	if (p->fd == -1) {
		p->backoff = p->backoff > PEER_RETRY_MAX / 2 ? PEER_RETRY_MAX :
		    p->backoff * 2;
		p->retry_at = peer_now_ms() + p->backoff;
	} else
		p->backoff = PEER_RETRY_MIN;
	p->reconnecting = false;
}

size_t
peer_queued(const struct peer *p)
{
	return p->out.len - p->outoff;
}

bool
peer_wants_write(const struct peer *p)
{
	return p->out.len > p->outoff;
}

bool
peer_queue_full(const struct peer *p)
{
	return p->full;
}

void
peer_set_nonblocking(struct peer *p, bool on)
{
	p->nonblocking = on;
}

void
peer_set_queue_limit(struct peer *p, size_t limit)
{
	p->outmax = limit > 0 ? limit : PEER_QUEUE_DEFAULT;
}

void
peer_on_writable(struct peer *p, peer_writable_fn *fn, void *arg)
{
	p->on_writable = fn;
	p->on_writable_arg = arg;
}

/* Writes what the socket takes of the queue now; -1 if the write failed. */
static int
queue_write(struct peer *p, struct peer_error *err)
{
	ssize_t	n;

	while (p->outoff < p->out.len) {
		n = send(p->fd, p->out.data + p->outoff, p->out.len - p->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p->outoff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN)
			return 0;
		peer_seterr(err, PEER_UNAVAILABLE, "write: %s", strerror(errno));
		return -1;
	}
	queue_empty(p);
	return 0;
}

/*
 * Writes what the socket takes.  Once a full queue has drained far
 * enough the program is due to hear of it, but only after the frames
 * held meanwhile are handled: told at once, a program that fills the
 * queue again from its writable function would hold them for ever.
 */
static int
queue_drain(struct peer *p, struct peer_error *err)
{
	if (queue_write(p, err) == -1)
		return -1;
	if (p->full && peer_queued(p) <= p->outmax / 4) {
		p->full = false;
		p->writable_due = true;
	}
	return 0;
}

int
peer_dispatch(struct peer *p, struct peer_error *err)
{
	struct peer_error	e;
	int			r, reads = 0;

	if (peer_in_callback(p, "peer_dispatch", err))
		return -1;
	if (p->fd == -1) {
		if (!p->reconnect) {
			peer_seterr(err, PEER_UNAVAILABLE, "not connected to "
			    "peerd");
			return -1;
		}
		/* Within an attempt (its hello), wait for the next one. */
		if (!p->reconnecting && peer_now_ms() >= p->retry_at)
			peer_reconnect(p);
		pending_expire(p);
		return 0;
	}
	if (queue_drain(p, &e) == -1)
		goto lost;
	/*
	 * Handle frames as they come, so the buffer holds one at most, and
	 * send what their callbacks queued before reading on.
	 */
	do {
		r = peer_read(p, &e);
		if (peer_process(p, r == -1 ? NULL : &e) == -1 || r == -1)
			goto lost;
		writable_notify(p);
		if (p->fd != -1 && queue_drain(p, &e) == -1)
			goto lost;
	} while (r == 1 && p->fd != -1 && ++reads < PEER_READS_MAX);
	/* Drained at the last write: what it held goes first, and out. */
	if (p->fd != -1 && p->writable_due) {
		if (peer_process(p, &e) == -1)
			goto lost;
		if (p->fd != -1 && queue_drain(p, &e) == -1)
			goto lost;
	}
	writable_notify(p);
	pending_expire(p);
	return 0;
lost:
	peer_lost(p, e.message);
	if (p->reconnect)
		return 0;
	if (err != NULL)
		*err = e;
	return -1;
}

/*
 * Writes the whole queue.  While the socket is full it keeps reading,
 * so that a daemon waiting for us to read never deadlocks with us.
 */
static int
queue_flush(struct peer *p, int64_t deadline, struct peer_error *err)
{
	struct pollfd	pfd;
	int64_t		now;

	for (;;) {
		if (queue_write(p, err) == -1)
			return -1;
		if (!peer_wants_write(p))
			return 0;
		if ((now = peer_now_ms()) >= deadline) {
			peer_seterr(err, PEER_DEADLINE_EXCEEDED, "peerd did "
			    "not take the request in time");
			return -1;
		}
		pfd.fd = p->fd;
		/* Within a callback, reads go aside, and only so far. */
		pfd.events = POLLOUT | (p->depth > 0 &&
		    p->sidelen >= PEER_SIDE_MAX - 65536 ? 0 : POLLIN);
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 && errno != EINTR) {
			peer_seterr(err, PEER_INTERNAL, "poll: %s",
			    strerror(errno));
			return -1;
		}
		if ((pfd.revents & POLLIN) && peer_read(p, err) == -1)
			return -1;
	}
}

int
peer_frame_begin(struct peer *p, bool force, size_t *start,
    struct peer_error *err)
{
	size_t	left;

	if (p->fd == -1) {
		peer_seterr(err, PEER_UNAVAILABLE, "not connected to peerd");
		return -1;
	}
	if (p->full && p->nonblocking && !force) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "output queue full: "
		    "%zu bytes wait for the socket (limit %zu)", peer_queued(p),
		    p->outmax);
		return -1;
	}
	/* Written bytes go once they outweigh the rest: moves stay linear. */
	left = peer_queued(p);
	if (p->outoff > 0 && left <= p->outoff) {
		memmove(p->out.data, p->out.data + p->outoff, left);
		p->out.len = left;
		p->outoff = 0;
	}
	*start = ctl_frame_begin(&p->out);
	return 0;
}

int
peer_frame_end(struct peer *p, size_t start, struct peer_error *err)
{
	if (ctl_frame_end(&p->out, start, PEER_FRAME_MAX) == 0)
		return 0;
	if (p->out.failed)
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
	else
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "frame larger than "
		    "%u bytes", PEER_FRAME_MAX);
	/* The frames before it stand: a failed buffer keeps its bytes. */
	p->out.len = start;
	p->out.failed = false;
	if (!peer_wants_write(p))
		queue_empty(p);
	return -1;
}

int
peer_send(struct peer *p, int64_t deadline, struct peer_error *err)
{
	if (!p->nonblocking)
		return queue_flush(p, deadline, err);
	if (peer_queued(p) >= p->outmax)
		p->full = true;
	return 0;
}

struct pending *
peer_request_begin(struct peer *p, const char *op, size_t nbody,
    int timeout_ms, peer_reply_fn *fn, void *arg, bool force, size_t *start,
    struct peer_error *err)
{
	struct pending	*pd;

	if ((pd = pending_new(p)) == NULL) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	if (peer_frame_begin(p, force, start, err) == -1) {
		pending_release(p, pd);
		return NULL;
	}
	if (timeout_ms <= 0)
		timeout_ms = PEER_TIMEOUT_DEFAULT;
	pd->id = ++p->next_id;
	pd->deadline = peer_now_ms() + timeout_ms;
	pd->fn = fn;
	pd->arg = arg;
	ctl_put_request(&p->out, op, pd->id, nbody);
	return pd;
}

int
peer_request_end(struct peer *p, struct pending *pd, size_t start,
    uint64_t *idp, struct peer_error *err)
{
	struct pending		**slot;
	struct peer_error	  e;

	if (peer_frame_end(p, start, err) == -1) {
		pending_release(p, pd);
		return -1;
	}
	/* Ids only grow: a new one is in no bucket yet. */
	slot = &p->bucket[pd->id & (PEER_BUCKETS - 1)];
	pd->next = *slot;
	*slot = pd;
	p->npending++;
	if (pd->deadline < p->soonest)
		p->soonest = pd->deadline;
	if (idp != NULL)
		*idp = pd->id;
	if (peer_send(p, pd->deadline, &e) == -1) {
		/*
		 * A partly written frame leaves the stream unusable.  What
		 * the daemon sent before it closed (such as "too many
		 * clients") explains the failure best, so deliver that first.
		 */
		if (p->depth == 0) {
			while (peer_read(p, NULL) == 1)
				(void)peer_process(p, NULL);
			(void)peer_process(p, NULL);
		}
		peer_lost(p, e.message);
	}
	return 0;
}

/* Starts a request; force: even into a full queue. */
static int
request_start(struct peer *p, const char *op, const void *body,
    size_t bodylen, size_t nbody, int timeout_ms, peer_reply_fn *fn,
    void *arg, bool force, uint64_t *idp, struct peer_error *err)
{
	struct pending	*pd;
	size_t		 start;

	if (bodylen > PEER_FRAME_MAX) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "request larger than "
		    "%u bytes", PEER_FRAME_MAX);
		return -1;
	}
	if ((pd = peer_request_begin(p, op, nbody, timeout_ms, fn, arg, force,
	    &start, err)) == NULL)
		return -1;
	cbor_put_raw(&p->out, body, bodylen);
	return peer_request_end(p, pd, start, idp, err);
}

int
peer_request(struct peer *p, const char *op, const void *body, size_t bodylen,
    size_t nbody, int timeout_ms, peer_reply_fn *fn, void *arg, uint64_t *idp,
    struct peer_error *err)
{
	return request_start(p, op, body, bodylen, nbody, timeout_ms, fn, arg,
	    false, idp, err);
}

/* What to poll the socket for. */
static short
peer_events(const struct peer *p)
{
	return POLLIN | (peer_wants_write(p) ? POLLOUT : 0);
}

int
peer_wait(struct peer *p, uint64_t id, struct peer_error *err)
{
	struct pollfd	pfd;
	int		timeout;

	if (peer_in_callback(p, "peer_wait", err))
		return -1;
	while (*pending_slot(p, id) != NULL) {
		pfd.fd = p->fd;
		pfd.events = peer_events(p);
		timeout = peer_timeout(p);
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR) {
			peer_seterr(err, PEER_INTERNAL, "poll: %s",
			    strerror(errno));
			return -1;
		}
		if (peer_dispatch(p, err) == -1)
			return -1;
	}
	return 0;
}

void
peer_sync_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct peer_sync	*s = arg;

	(void)p;
	s->done = true;
	if (r->error != NULL) {
		s->err = *r->error;
		return;
	}
	if ((s->result = malloc(r->result_len)) == NULL) {
		peer_seterr(&s->err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	memcpy(s->result, r->result, r->result_len);
	s->result_len = r->result_len;
	s->err.code = PEER_OK;
}

int
peer_sync_wait(struct peer *p, uint64_t id, struct peer_sync *s,
    uint8_t **result, size_t *result_len, struct peer_error *err)
{
	struct peer_error	werr;

	if (peer_wait(p, id, &werr) == -1 && !s->done) {
		/* Not ended (poll failed): it must not keep pointing at s. */
		pending_forget(p, id);
		if (err != NULL)
			*err = werr;
		return -1;
	}
	if (s->err.code != PEER_OK) {
		if (err != NULL)
			*err = s->err;
		free(s->result);
		return -1;
	}
	*result = s->result;
	*result_len = s->result_len;
	return 0;
}

int
peer_op(struct peer *p, const char *op, const void *body, size_t bodylen,
    size_t nbody, int timeout_ms, uint8_t **result, size_t *result_len,
    struct peer_error *err)
{
	struct peer_sync	s;
	uint64_t		id;

	memset(&s, 0, sizeof(s));
	if (peer_in_callback(p, "peer_op", err) ||
	    request_start(p, op, body, bodylen, nbody, timeout_ms,
	    peer_sync_cb, &s, true, &id, err) == -1)
		return -1;
	return peer_sync_wait(p, id, &s, result, result_len, err);
}

/* Copies a text field of a result map into a new string. */
static char *
field_strdup(const struct cbor_field *f, int nf, const char *key)
{
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;

	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_read_text(v->val, v->vallen, &s, &n))
		return NULL;
	return strndup(s, n);
}

/* Keeps *dst if it says the same, so earlier pointers to it stay good. */
static void
replace_str(char **dst, char *s)
{
	if (*dst != NULL && strcmp(*dst, s) == 0) {
		free(s);
		return;
	}
	free(*dst);
	*dst = s;
}

/*
 * Connects to p->path and says hello.  Patient, it waits out a full
 * backlog (EAGAIN) for a while, as peer_open does; reconnecting, it
 * tries again later instead.
 */
static int
peer_connect(struct peer *p, bool patient, struct peer_error *err)
{
	struct sockaddr_un	 sun;
	struct cbor_field	 f[CTL_FIELDS_MAX];
	struct cbor_buf		 body = { 0 };
	uint8_t			*res = NULL;
	size_t			 reslen;
	uint64_t		 proto;
	char			*id = NULL, *name = NULL;
	int64_t			 deadline;
	int			 fd, nf;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, p->path);	/* length checked by peer_open */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		peer_seterr(err, PEER_INTERNAL, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * A local stream connect completes or fails at once, except when
	 * the daemon's backlog is full (EAGAIN): then try again a while.
	 */
	deadline = peer_now_ms() + PEER_HELLO_TIMEOUT;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (!patient || errno != EAGAIN || peer_now_ms() >= deadline) {
			peer_seterr(err, PEER_UNAVAILABLE, "cannot reach peerd "
			    "at %s: %s", p->path, strerror(errno));
			close(fd);
			return -1;
		}
		usleep(5000);
	}
	p->fd = fd;
	p->rlen = 0;
	p->sidelen = 0;

	cbor_put_text(&body, "protocol");
	cbor_put_uint(&body, PROTO_VERSION);
	if (peer_op(p, "hello", body.data, body.len, 1, PEER_HELLO_TIMEOUT,
	    &res, &reslen, err) == -1)
		goto fail;
	if ((nf = cbor_scan_map(res, reslen, f, CTL_FIELDS_MAX)) == -1 ||
	    !cbor_field_uint(f, nf, "protocol", &proto) ||
	    (id = field_strdup(f, nf, "node")) == NULL ||
	    (name = field_strdup(f, nf, "name")) == NULL) {
		peer_seterr(err, PEER_INTERNAL, "malformed hello from peerd");
		goto fail;
	}
	if (proto != PROTO_VERSION) {
		peer_seterr(err, PEER_UNIMPLEMENTED, "peerd speaks protocol "
		    "%llu, this client %d", (unsigned long long)proto,
		    PROTO_VERSION);
		goto fail;
	}
	replace_str(&p->node_id, id);
	replace_str(&p->node_name, name);
	free(res);
	cbor_buf_free(&body);
	return 0;
fail:
	free(id);
	free(name);
	free(res);
	cbor_buf_free(&body);
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	return -1;
}

struct peer *
peer_open(const char *path, struct peer_error *err)
{
	struct peer	*p;
	char		 def[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (path == NULL && (path = peer_default_socket(def, sizeof(def))) == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "socket path too long");
		return NULL;
	}
	if (strlen(path) >= sizeof(def)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "%s: socket path too "
		    "long", path);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(path)) == NULL) {
		free(p);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	p->fd = -1;
	p->backoff = PEER_RETRY_MIN;
	p->outmax = PEER_QUEUE_DEFAULT;
	p->soonest = INT64_MAX;
	if (peer_connect(p, true, err) == -1) {
		peer_close(p);
		return NULL;
	}
	return p;
}

void
peer_close(struct peer *p)
{
	struct pending	*pd;

	if (p == NULL)
		return;
	if (p->depth > 0) {
		/* The caller's frame is still in use: a programming error. */
		fprintf(stderr, "libpeer: peer_close called from a callback\n");
		abort();
	}
	if (p->fd != -1) {
		/* Answers and publishes queued last are not lost lightly. */
		(void)queue_write(p, NULL);
		close(p->fd);
	}
	p->fd = -1;
	pending_fail_all(p, PEER_CANCELLED, "connection closed by the client");
	peer_serve_free(p);
	peer_event_free(p);
	peer_kv_free(p);
	free(p->rbuf);
	free(p->side);
	cbor_buf_free(&p->out);
	while ((pd = p->spare) != NULL) {
		p->spare = pd->next;
		free(pd);
	}
	free(p->node_id);
	free(p->node_name);
	free(p->path);
	free(p);
}

void
peer_set_reconnect(struct peer *p, bool on)
{
	p->reconnect = on;
}

int
peer_run(struct peer *p, struct peer_error *err)
{
	struct pollfd	pfd;
	int		r = 0;

	if (peer_in_callback(p, "peer_run", err))
		return -1;
	while (!p->stop) {
		if (p->fd == -1 && !p->reconnect) {
			peer_seterr(err, PEER_UNAVAILABLE, "not connected to "
			    "peerd");
			r = -1;
			break;
		}
		/* poll() skips a negative fd: then only the retry wakes us. */
		pfd.fd = p->fd;
		pfd.events = peer_events(p);
		if (poll(&pfd, 1, peer_timeout(p)) == -1 && errno != EINTR) {
			peer_seterr(err, PEER_INTERNAL, "poll: %s",
			    strerror(errno));
			r = -1;
			break;
		}
		if (!p->stop && peer_dispatch(p, err) == -1) {
			r = -1;
			break;
		}
	}
	p->stop = false;
	return r;
}

void
peer_stop(struct peer *p)
{
	p->stop = true;
}

const char *
peer_node_id(const struct peer *p)
{
	return p->node_id;
}

const char *
peer_node_name(const struct peer *p)
{
	return p->node_name;
}

void
peer_status_free(struct peer_status *st)
{
	size_t	i;

	if (st == NULL)
		return;
	free(st->node_id);
	free(st->name);
	free(st->version);
	for (i = 0; i < st->nlisten; i++)
		free(st->listen[i]);
	free(st->listen);
	free(st);
}

/* Fills st->listen from the "listen" array of text strings. */
static bool
status_listen(struct peer_status *st, const struct cbor_field *f, int nf)
{
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*item;
	const char		*s;
	size_t			 itemlen, n;

	if ((v = cbor_field_get(f, nf, "listen")) == NULL ||
	    !cbor_array_iter(v->val, v->vallen, &it))
		return false;
	if ((st->listen = calloc(it.items ? it.items : 1,
	    sizeof(char *))) == NULL)
		return false;
	while (cbor_iter_next(&it, &item, &itemlen)) {
		if (!cbor_read_text(item, itemlen, &s, &n) ||
		    (st->listen[st->nlisten] = strndup(s, n)) == NULL)
			return false;
		st->nlisten++;
	}
	return it.items == 0;
}

int
peer_status(struct peer *p, struct peer_status **stp, struct peer_error *err)
{
	struct cbor_field	 f[CTL_FIELDS_MAX];
	struct peer_status	*st;
	uint8_t			*res;
	size_t			 reslen;
	int			 nf;

	if (peer_op(p, "status", NULL, 0, 0, 0, &res, &reslen, err) == -1)
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		free(res);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	if ((nf = cbor_scan_map(res, reslen, f, CTL_FIELDS_MAX)) == -1 ||
	    (st->node_id = field_strdup(f, nf, "node")) == NULL ||
	    (st->name = field_strdup(f, nf, "name")) == NULL ||
	    (st->version = field_strdup(f, nf, "version")) == NULL ||
	    !cbor_field_uint(f, nf, "pid", &st->pid) ||
	    !cbor_field_uint(f, nf, "uptime_ms", &st->uptime_ms) ||
	    !cbor_field_uint(f, nf, "started_at", &st->started_at) ||
	    !cbor_field_uint(f, nf, "clients", &st->clients) ||
	    !cbor_field_uint(f, nf, "peers", &st->peers) ||
	    !cbor_field_uint(f, nf, "members", &st->members) ||
	    !status_listen(st, f, nf)) {
		free(res);
		peer_status_free(st);
		peer_seterr(err, PEER_INTERNAL, "malformed status from peerd");
		return -1;
	}
	free(res);
	*stp = st;
	return 0;
}

int
peer_bytes(const void *cbor, size_t len, const uint8_t **data, size_t *n)
{
	if (cbor == NULL || !cbor_read_bytes(cbor, len, data, n))
		return -1;
	return 0;
}

size_t
peer_bytes_head(uint8_t head[PEER_BYTES_HEAD_MAX], size_t n)
{
	return cbor_encode_bytestring_start(n, head, PEER_BYTES_HEAD_MAX);
}

int
peer_text_op(struct peer *p, const char *op, const char *const *kv,
    size_t n, struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		*res = NULL;
	size_t		 reslen, head, i, pairs = 0;
	int		 r = -1;

	for (i = 0; i < n; i++) {
		if (kv[2 * i + 1] == NULL)
			continue;
		cbor_put_text(&b, kv[2 * i]);
		head = b.len;
		cbor_put_text(&b, kv[2 * i + 1]);
		if (!b.failed && cbor_scan_item(b.data + head, b.len - head) !=
		    b.len - head) {
			peer_seterr(err, PEER_INVALID_ARGUMENT, "%s is not valid "
			    "UTF-8", kv[2 * i]);
			goto done;
		}
		pairs++;
	}
	if (b.failed)
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
	else
		r = peer_op(p, op, b.data, b.len, pairs, 0, &res, &reslen, err);
done:
	free(res);
	cbor_buf_free(&b);
	return r;
}
