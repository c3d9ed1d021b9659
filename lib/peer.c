/* SPDX-License-Identifier: ISC */
/*
 * peer.c: one client connection to peerd: socket I/O, the table of
 * requests in flight, and their timeouts.
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

#include "frame.h"
#include "peer.h"
#include "proto.h"

/* Largest frame accepted: the daemon's largest max_message and envelope. */
#define PEER_FRAME_MAX		((1u << 30) + (64u << 10))
#define PEER_BUCKETS		1024	/* power of two */
#define PEER_HELLO_TIMEOUT	5000	/* ms */

struct pending {
	struct pending	*next;
	uint64_t	 id;
	int64_t		 deadline;	/* ms, monotonic */
	peer_reply_fn	*fn;
	void		*arg;
};

struct peer {
	int		 fd;
	uint64_t	 next_id;
	struct pending	*bucket[PEER_BUCKETS];
	size_t		 npending;
	uint8_t		*rbuf;
	size_t		 rlen, rcap;
	struct cbor_buf	 wbuf;
	int		 depth;		/* callbacks running */
	char		*node_id;
	char		*node_name;
};

static void
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

static int64_t
now_ms(void)
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

/* Ends one request: unlinks it, then runs its callback. */
static void
pending_finish(struct peer *p, struct pending **pp, const struct peer_error *e,
    const uint8_t *result, size_t result_len)
{
	struct pending		*pd = *pp;
	struct peer_reply	 r;

	*pp = pd->next;
	p->npending--;
	r.id = pd->id;
	r.error = e;
	r.result = e == NULL ? result : NULL;
	r.result_len = e == NULL ? result_len : 0;
	p->depth++;
	pd->fn(p, &r, pd->arg);
	p->depth--;
	free(pd);
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
	free(pd);
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
			pending_finish(p, &p->bucket[i], &e, NULL, 0);
}

static void
pending_expire(struct peer *p)
{
	struct peer_error	 e;
	struct pending		**pp;
	int64_t			 now;
	size_t			 i;

	if (p->npending == 0)
		return;
	now = now_ms();
	peer_seterr(&e, PEER_DEADLINE_EXCEEDED, "no reply from peerd in time");
	for (i = 0; i < PEER_BUCKETS; i++) {
		pp = &p->bucket[i];
		while (*pp != NULL) {
			if ((*pp)->deadline <= now)
				pending_finish(p, pp, &e, NULL, 0);
			else
				pp = &(*pp)->next;
		}
	}
}

/*
 * Callbacks may send requests but not block or close: the frame they
 * were called for still sits in the read buffer.
 */
static bool
peer_in_callback(const struct peer *p, const char *fn, struct peer_error *err)
{
	if (p->depth == 0)
		return false;
	peer_seterr(err, PEER_INVALID_ARGUMENT, "%s called from a reply "
	    "callback", fn);
	return true;
}

int
peer_timeout(const struct peer *p)
{
	const struct pending	*pd;
	int64_t			 min = INT64_MAX, now;
	size_t			 i;

	if (p->npending == 0)
		return -1;
	for (i = 0; i < PEER_BUCKETS; i++)
		for (pd = p->bucket[i]; pd != NULL; pd = pd->next)
			if (pd->deadline < min)
				min = pd->deadline;
	now = now_ms();
	if (min <= now)
		return 0;
	return min - now > INT32_MAX ? INT32_MAX : (int)(min - now);
}

int
peer_fd(const struct peer *p)
{
	return p->fd;
}

static void
peer_lost(struct peer *p, const char *why)
{
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	pending_fail_all(p, PEER_UNAVAILABLE, why);
}

/* Reads what is there into rbuf.  1 if bytes came, 0 if none, -1 on EOF. */
static int
peer_read(struct peer *p, struct peer_error *err)
{
	ssize_t	 n;
	size_t	 cap;
	uint8_t	*nb;

	if (p->rcap - p->rlen < 65536) {
		cap = p->rcap ? p->rcap * 2 : 131072;
		if (cap > 2 * (size_t)PEER_FRAME_MAX + FRAME_HDR) {
			peer_seterr(err, PEER_RESOURCE_EXHAUSTED,
			    "peerd sent more than this client buffers");
			return -1;
		}
		if ((nb = realloc(p->rbuf, cap)) == NULL) {
			peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
			return -1;
		}
		p->rbuf = nb;
		p->rcap = cap;
	}
	n = read(p->fd, p->rbuf + p->rlen, p->rcap - p->rlen);
	if (n > 0) {
		p->rlen += (size_t)n;
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

/* Handles one reply frame; -1 if the daemon broke the protocol. */
static int
peer_handle(struct peer *p, const uint8_t *buf, size_t len,
    struct peer_error *err)
{
	struct ctl_msg		 m;
	struct peer_error	 e;
	const struct cbor_field	*res, *ef;
	struct pending		**pp;
	char			 why[128];

	if (ctl_msg_decode(buf, len, &m, why, sizeof(why)) == -1) {
		peer_seterr(err, PEER_INTERNAL, "bad frame from peerd: %s", why);
		return -1;
	}
	if (!m.has_id)
		return 0;	/* daemon-initiated messages come later */
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
	if ((ef = ctl_msg_get(&m, "error")) != NULL) {
		if (!ctl_read_error(ef, &e.code, e.message, sizeof(e.message))) {
			peer_seterr(err, PEER_INTERNAL, "malformed error from "
			    "peerd");
			return -1;
		}
		pending_finish(p, pp, &e, NULL, 0);
	} else if ((res = ctl_msg_get(&m, "result")) != NULL)
		pending_finish(p, pp, NULL, res->val, res->vallen);
	else {
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

	for (;;) {
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
	memmove(p->rbuf, p->rbuf + off, p->rlen - off);
	p->rlen -= off;
	return 0;
}

int
peer_dispatch(struct peer *p, struct peer_error *err)
{
	struct peer_error	e;
	int			r;

	if (peer_in_callback(p, "peer_dispatch", err))
		return -1;
	if (p->fd == -1) {
		peer_seterr(err, PEER_UNAVAILABLE, "not connected to peerd");
		return -1;
	}
	/* Handle frames as they come, so the buffer holds one at most. */
	do {
		r = peer_read(p, &e);
		if (peer_process(p, r == -1 ? NULL : &e) == -1 || r == -1) {
			peer_lost(p, e.message);
			if (err != NULL)
				*err = e;
			return -1;
		}
	} while (r == 1 && p->fd != -1);
	pending_expire(p);
	return 0;
}

/*
 * Writes all of buf.  While the socket is full it keeps reading, so
 * that a daemon waiting for us to read never deadlocks with us.
 */
static int
peer_write(struct peer *p, const uint8_t *buf, size_t len, int64_t deadline,
    struct peer_error *err)
{
	struct pollfd	pfd;
	ssize_t		n;
	int64_t		now;

	while (len > 0) {
		n = send(p->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			peer_seterr(err, PEER_UNAVAILABLE, "write: %s",
			    strerror(errno));
			return -1;
		}
		if ((now = now_ms()) >= deadline) {
			peer_seterr(err, PEER_DEADLINE_EXCEEDED, "peerd did "
			    "not take the request in time");
			return -1;
		}
		pfd.fd = p->fd;
		/* Nested in a callback, the read buffer must stay as it is. */
		pfd.events = p->depth > 0 ? POLLOUT : POLLIN | POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 && errno != EINTR) {
			peer_seterr(err, PEER_INTERNAL, "poll: %s",
			    strerror(errno));
			return -1;
		}
		if ((pfd.revents & POLLIN) && peer_read(p, err) == -1)
			return -1;
	}
	return 0;
}

int
peer_request(struct peer *p, const char *op, const void *body, size_t bodylen,
    size_t nbody, int timeout_ms, peer_reply_fn *fn, void *arg, uint64_t *idp,
    struct peer_error *err)
{
	struct pending		*pd;
	struct peer_error	 e;
	size_t			 start;
	int64_t			 deadline;

	if (p->fd == -1) {
		peer_seterr(err, PEER_UNAVAILABLE, "not connected to peerd");
		return -1;
	}
	if (timeout_ms <= 0)
		timeout_ms = PEER_TIMEOUT_DEFAULT;
	deadline = now_ms() + timeout_ms;
	if ((pd = calloc(1, sizeof(*pd))) == NULL) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	pd->id = ++p->next_id;
	pd->deadline = deadline;
	pd->fn = fn;
	pd->arg = arg;

	cbor_buf_reset(&p->wbuf);
	start = ctl_frame_begin(&p->wbuf);
	ctl_put_request(&p->wbuf, op, pd->id, nbody);
	cbor_put_raw(&p->wbuf, body, bodylen);
	if (ctl_frame_end(&p->wbuf, start, PEER_FRAME_MAX) == -1) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "request larger than "
		    "%u bytes", PEER_FRAME_MAX);
		free(pd);
		return -1;
	}
	pd->next = *pending_slot(p, pd->id);
	*pending_slot(p, pd->id) = pd;
	p->npending++;
	if (idp != NULL)
		*idp = pd->id;
	if (peer_write(p, p->wbuf.data, p->wbuf.len, deadline, &e) == -1) {
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

int
peer_wait(struct peer *p, uint64_t id, struct peer_error *err)
{
	struct pollfd	pfd;
	int		timeout;

	if (peer_in_callback(p, "peer_wait", err))
		return -1;
	while (*pending_slot(p, id) != NULL) {
		pfd.fd = p->fd;
		pfd.events = POLLIN;
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

/* Where a synchronous request leaves its outcome. */
struct sync_reply {
	bool			 done;
	struct peer_error	 err;
	uint8_t			*result;
	size_t			 result_len;
};

static void
sync_reply_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct sync_reply	*s = arg;

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
peer_op(struct peer *p, const char *op, const void *body, size_t bodylen,
    size_t nbody, int timeout_ms, uint8_t **result, size_t *result_len,
    struct peer_error *err)
{
	struct sync_reply	s;
	struct peer_error	werr;
	uint64_t		id;

	memset(&s, 0, sizeof(s));
	if (peer_in_callback(p, "peer_op", err) ||
	    peer_request(p, op, body, bodylen, nbody, timeout_ms,
	    sync_reply_cb, &s, &id, err) == -1)
		return -1;
	if (peer_wait(p, id, &werr) == -1 && !s.done) {
		/* Not ended (poll failed): it must not keep pointing at s. */
		pending_forget(p, id);
		if (err != NULL)
			*err = werr;
		return -1;
	}
	if (s.err.code != PEER_OK) {
		if (err != NULL)
			*err = s.err;
		free(s.result);
		return -1;
	}
	*result = s.result;
	*result_len = s.result_len;
	return 0;
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

static bool
field_uint(const struct cbor_field *f, int nf, const char *key, uint64_t *u)
{
	const struct cbor_field	*v;

	return (v = cbor_field_get(f, nf, key)) != NULL &&
	    cbor_read_uint(v->val, v->vallen, u);
}

struct peer *
peer_open(const char *path, struct peer_error *err)
{
	struct sockaddr_un	 sun;
	struct peer		*p;
	struct cbor_field	 f[CTL_FIELDS_MAX];
	struct cbor_buf		 body = { 0 };
	uint8_t			*res = NULL;
	size_t			 reslen;
	uint64_t		 proto;
	char			 def[sizeof(sun.sun_path)];
	int64_t			 deadline;
	int			 nf;

	if (path == NULL && (path = peer_default_socket(def, sizeof(def))) == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "socket path too long");
		return NULL;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "%s: socket path too "
		    "long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	if ((p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		peer_seterr(err, PEER_INTERNAL, "socket: %s", strerror(errno));
		goto fail;
	}
	/*
	 * A local stream connect completes or fails at once, except when
	 * the daemon's backlog is full (EAGAIN): then try again a while.
	 */
	deadline = now_ms() + PEER_HELLO_TIMEOUT;
	while (connect(p->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EAGAIN || now_ms() >= deadline) {
			peer_seterr(err, PEER_UNAVAILABLE, "cannot reach peerd "
			    "at %s: %s", path, strerror(errno));
			goto fail;
		}
		usleep(5000);
	}

	cbor_put_text(&body, "protocol");
	cbor_put_uint(&body, PROTO_VERSION);
	if (peer_op(p, "hello", body.data, body.len, 1, PEER_HELLO_TIMEOUT,
	    &res, &reslen, err) == -1)
		goto fail;
	if ((nf = cbor_scan_map(res, reslen, f, CTL_FIELDS_MAX)) == -1 ||
	    !field_uint(f, nf, "protocol", &proto) ||
	    (p->node_id = field_strdup(f, nf, "node")) == NULL ||
	    (p->node_name = field_strdup(f, nf, "name")) == NULL) {
		peer_seterr(err, PEER_INTERNAL, "malformed hello from peerd");
		goto fail;
	}
	if (proto != PROTO_VERSION) {
		peer_seterr(err, PEER_UNIMPLEMENTED, "peerd speaks protocol "
		    "%llu, this client %d", (unsigned long long)proto,
		    PROTO_VERSION);
		goto fail;
	}
	free(res);
	cbor_buf_free(&body);
	return p;
fail:
	free(res);
	cbor_buf_free(&body);
	peer_close(p);
	return NULL;
}

void
peer_close(struct peer *p)
{
	if (p == NULL)
		return;
	if (p->depth > 0) {
		/* The caller's frame is still in use: a programming error. */
		fprintf(stderr, "libpeer: peer_close called from a reply "
		    "callback\n");
		abort();
	}
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	pending_fail_all(p, PEER_CANCELLED, "connection closed by the client");
	free(p->rbuf);
	cbor_buf_free(&p->wbuf);
	free(p->node_id);
	free(p->node_name);
	free(p);
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
	    !field_uint(f, nf, "pid", &st->pid) ||
	    !field_uint(f, nf, "uptime_ms", &st->uptime_ms) ||
	    !field_uint(f, nf, "started_at", &st->started_at) ||
	    !field_uint(f, nf, "clients", &st->clients) ||
	    !field_uint(f, nf, "peers", &st->peers) ||
	    !field_uint(f, nf, "members", &st->members) ||
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
