/* SPDX-License-Identifier: ISC */
/*
 * harness.c: the shared parts of the module suites.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "clock.h"
#include "control.h"
#include "frame.h"
#include "harness.h"
#include "linkmsg.h"
#include "mesh.h"

#define CLIENT_IN_MAX	(8u << 20)	/* what a client buffers */
#define CLIENT_FRAMES	256		/* frames it keeps unread */

struct client {
	int		 fd;
	bool		 closed;	/* EOF or an error from the daemon */
	uint8_t		*in;
	size_t		 inlen;
	struct cbor_buf	 out;
	size_t		 start;
	/* Whole frames received and not yet taken, oldest first. */
	uint8_t		*frame[CLIENT_FRAMES];
	size_t		 framelen[CLIENT_FRAMES];
	int		 nframes;
	uint8_t		*taken;		/* the frame last handed out */
	struct ctl_msg	 m;
};

static void
loop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	*(bool *)arg = true;
}

bool
loop_until(struct event_base *base, bool (*done)(void *), void *arg, int ms)
{
	struct event	*ev;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	bool		 expired = false;

	if (done(arg))
		return true;
	ev = evtimer_new(base, loop_timeout, &expired);
	ck_assert_ptr_nonnull(ev);
	evtimer_add(ev, &tv);
	while (!done(arg) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return done(arg);
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

void
loop_for(struct event_base *base, int ms)
{
	(void)loop_until(base, never, NULL, ms);
}

void
tnode_new(struct tnode *n, const char *name)
{
	crypto_sign_keypair(n->pk, n->sk);
	snprintf(n->name, sizeof(n->name), "%s", name);
	base32_encode(n->pk, NODE_ID_LEN, n->idstr);
}

void
tnode_record(const struct tnode *n, uint64_t inc, struct record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->id, n->pk, NODE_ID_LEN);
	snprintf(r->name, sizeof(r->name), "%s", n->name);
	snprintf(r->addrs[0], ADDR_STRLEN, "127.0.0.1:%u",
	    10000 + (unsigned)(n->pk[0] | n->pk[1] << 8) % 50000);
	r->naddrs = 1;
	r->incarnation = inc;
	r->started_at = 1700000000;
}

void
tnode_sign(const struct tnode *n, const struct record *r, struct cbor_buf *b)
{
	cbor_buf_reset(b);
	record_sign(r, n->sk, b);
	ck_assert(!b->failed);
}

struct members *
tnode_members(const struct tnode *self)
{
	struct cbor_buf	 b = { 0 };
	struct record	 r;
	struct members	*t;

	tnode_record(self, 1, &r);
	tnode_sign(self, &r, &b);
	t = members_new(b.data, b.len, 0);
	ck_assert_ptr_nonnull(t);
	cbor_buf_free(&b);
	return t;
}

struct member *
tnode_offer(struct members *t, const struct tnode *n, const struct record *r)
{
	struct cbor_buf		 b = { 0 };
	struct member		*m;
	const char		*why;
	enum members_result	 res;

	tnode_sign(n, r, &b);
	res = members_offer(t, b.data, b.len, NULL, 0, &m, &why);
	ck_assert_msg(res == MEMBERS_NEW || res == MEMBERS_UPDATED,
	    "record of %s not taken (%d)", n->name, (int)res);
	cbor_buf_free(&b);
	return m;
}

void
record_add_service(struct record *r, const char *name, const char *group)
{
	ck_assert_int_lt(r->nservices, RECORD_SERVICES_MAX);
	snprintf(r->services[r->nservices].name, SERVICE_NAME_MAX + 1, "%s",
	    name);
	snprintf(r->services[r->nservices].group, GROUP_NAME_MAX + 1, "%s",
	    group);
	r->nservices++;
}

struct client *
client_open(const char *path)
{
	struct sockaddr_un	 sun;
	struct client		*c;

	c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->in = malloc(CLIENT_IN_MAX);
	ck_assert_ptr_nonnull(c->in);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(c->fd, -1);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "connect %s: %s", path, strerror(errno));
	ck_assert_int_ne(fcntl(c->fd, F_SETFL, O_NONBLOCK), -1);
	return c;
}

void
client_close(struct client *c)
{
	int	i;

	if (c == NULL)
		return;
	close(c->fd);
	for (i = 0; i < c->nframes; i++)
		free(c->frame[i]);
	free(c->taken);
	free(c->in);
	cbor_buf_free(&c->out);
	free(c);
}

struct cbor_buf *
client_begin(struct client *c, const char *op, uint64_t id, size_t nextra)
{
	cbor_buf_reset(&c->out);
	c->start = ctl_frame_begin(&c->out);
	ctl_put_request(&c->out, op, id, nextra);
	return &c->out;
}

void
client_write(struct client *c, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(c->fd, p, len);
		if (n == -1 && errno == EAGAIN) {
			usleep(1000);	/* the daemon runs in this thread */
			continue;
		}
		ck_assert_msg(n > 0, "client write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void
client_shutdown(struct client *c)
{
	ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
}

size_t
client_write_some(struct client *c, const void *buf, size_t len)
{
	ssize_t	n = write(c->fd, buf, len);

	if (n == -1 && errno == EAGAIN)
		return 0;
	ck_assert_msg(n >= 0, "client write: %s", strerror(errno));
	return (size_t)n;
}

void
client_send(struct client *c)
{
	ck_assert_int_eq(ctl_frame_end(&c->out, c->start, 64u << 20), 0);
	client_write(c, c->out.data, c->out.len);
}

/* Reads what is there and keeps the whole frames. */
static void
client_read(struct client *c)
{
	ssize_t		n;
	uint32_t	len;

	while (!c->closed && c->inlen < CLIENT_IN_MAX) {
		n = read(c->fd, c->in + c->inlen, CLIENT_IN_MAX - c->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			c->closed = true;
			break;
		}
		c->inlen += (size_t)n;
	}
	while (c->inlen >= FRAME_HDR && c->nframes < CLIENT_FRAMES &&
	    frame_check(c->in, c->inlen, CLIENT_IN_MAX, &len) == FRAME_OK) {
		c->frame[c->nframes] = malloc(len);
		ck_assert_ptr_nonnull(c->frame[c->nframes]);
		memcpy(c->frame[c->nframes], c->in + FRAME_HDR, len);
		c->framelen[c->nframes++] = len;
		memmove(c->in, c->in + FRAME_HDR + len,
		    c->inlen - FRAME_HDR - len);
		c->inlen -= FRAME_HDR + len;
	}
}

/* Takes frame i out of the queue and decodes it into c->m. */
static const struct ctl_msg *
client_take(struct client *c, int i)
{
	char	why[160];

	free(c->taken);
	c->taken = c->frame[i];
	ck_assert_msg(ctl_msg_decode(c->taken, c->framelen[i], &c->m, why,
	    sizeof(why)) == 0, "the daemon sent a bad frame: %s", why);
	memmove(&c->frame[i], &c->frame[i + 1],
	    (size_t)(c->nframes - i - 1) * sizeof(c->frame[0]));
	memmove(&c->framelen[i], &c->framelen[i + 1],
	    (size_t)(c->nframes - i - 1) * sizeof(c->framelen[0]));
	c->nframes--;
	return &c->m;
}

/* What a client waits for: a reply by id, or a message by op. */
struct wanted {
	struct client	*c;
	uint64_t	 id;
	const char	*op;
	int		 found;
};

static bool
found(void *arg)
{
	struct wanted	*w = arg;
	struct ctl_msg	 m;
	char		 why[160];
	int		 i;

	client_read(w->c);
	for (i = 0; i < w->c->nframes; i++) {
		if (ctl_msg_decode(w->c->frame[i], w->c->framelen[i], &m, why,
		    sizeof(why)) == -1)
			continue;
		if ((w->op == NULL && m.has_id && m.id == w->id) ||
		    (w->op != NULL && !m.has_id && strcmp(m.op, w->op) == 0)) {
			w->found = i;
			return true;
		}
	}
	return false;
}

static void
wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
}

/* Runs the loop until done, waking up whenever the client can read. */
static bool
client_wait(struct client *c, struct event_base *base, bool (*done)(void *),
    void *arg, int ms)
{
	struct event	*ev;
	bool		 ok;

	ev = event_new(base, c->fd, EV_READ | EV_PERSIST, wake, NULL);
	ck_assert_ptr_nonnull(ev);
	event_add(ev, NULL);
	ok = loop_until(base, done, arg, ms);
	event_free(ev);
	return ok;
}

const struct ctl_msg *
client_reply(struct client *c, struct event_base *base, uint64_t id, int ms)
{
	struct wanted	w = { c, id, NULL, -1 };

	if (!client_wait(c, base, found, &w, ms))
		return NULL;
	return client_take(c, w.found);
}

const struct ctl_msg *
client_message(struct client *c, struct event_base *base, const char *op,
    int ms)
{
	struct wanted	w = { c, 0, op, -1 };

	if (!client_wait(c, base, found, &w, ms))
		return NULL;
	return client_take(c, w.found);
}

static bool
is_closed(void *arg)
{
	struct client	*c = arg;

	client_read(c);
	return c->closed;
}

bool
client_closed(struct client *c, struct event_base *base, int ms)
{
	return client_wait(c, base, is_closed, c, ms);
}

const struct ctl_msg *
client_must_reply(struct client *c, struct event_base *base, uint64_t id,
    int ms)
{
	const struct ctl_msg	*m = client_reply(c, base, id, ms);

	ck_assert_msg(m != NULL, "no reply to request %llu",
	    (unsigned long long)id);
	return m;
}

static struct client	*pool[CLIENTS_MAX];

struct client *
clients_open(const char *path)
{
	int	i;

	for (i = 0; i < CLIENTS_MAX; i++)
		if (pool[i] == NULL)
			return pool[i] = client_open(path);
	ck_abort_msg("more than %d clients", CLIENTS_MAX);
	return NULL;
}

void
clients_drop(struct client *c)
{
	int	i;

	for (i = 0; i < CLIENTS_MAX; i++)
		if (pool[i] == c)
			pool[i] = NULL;
	client_close(c);
}

void
clients_close_all(void)
{
	int	i;

	for (i = 0; i < CLIENTS_MAX; i++) {
		client_close(pool[i]);
		pool[i] = NULL;
	}
}

enum peer_code
reply_code(const struct ctl_msg *m, char *msg, size_t cap)
{
	const struct cbor_field	*f;
	enum peer_code		 code;
	char			 buf[256];

	if (msg == NULL) {
		msg = buf;
		cap = sizeof(buf);
	}
	msg[0] = '\0';
	if (ctl_msg_get(m, "result") != NULL)
		return PEER_OK;
	f = ctl_msg_get(m, "error");
	ck_assert_ptr_nonnull(f);
	ck_assert(ctl_read_error(f, &code, msg, cap));
	return code;
}

uint64_t
msg_uint(const struct ctl_msg *m, const char *key)
{
	const struct cbor_field	*f = ctl_msg_get(m, key);
	uint64_t		 v = 0;

	ck_assert_msg(f != NULL && cbor_read_uint(f->val, f->vallen, &v),
	    "no unsigned %s", key);
	return v;
}

bool
msg_bool(const struct ctl_msg *m, const char *key)
{
	const struct cbor_field	*f = ctl_msg_get(m, key);
	bool			 v = false;

	ck_assert_msg(f != NULL && cbor_read_bool(f->val, f->vallen, &v),
	    "no bool %s", key);
	return v;
}

const char *
msg_text(const struct ctl_msg *m, const char *key, char *buf, size_t cap)
{
	const struct cbor_field	*f = ctl_msg_get(m, key);
	const char		*s;
	size_t			 n;

	buf[0] = '\0';
	if (f != NULL && cbor_read_text(f->val, f->vallen, &s, &n) &&
	    n < cap) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	return buf;
}

/* Where tmpdir_make makes its directories: see tmpdir_parent. */
static char	parent[64] = "/tmp";

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	(void)remove(path);
	return 0;
}

void
tmpdir_remove(const char *dir)
{
	(void)nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void
tmpdir_make(char *dir, size_t cap, const char *tag)
{
	snprintf(dir, cap, "%s/peerd-%s-XXXXXX", parent, tag);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

const char *
tmpdir_parent(void)
{
	snprintf(parent, sizeof(parent), "/tmp/peerd-modules-XXXXXX");
	/* Other users pass through, as a test's client of another uid. */
	if (mkdtemp(parent) == NULL || chmod(parent, 0711) == -1)
		snprintf(parent, sizeof(parent), "/tmp");
	return parent;
}

void
control_params_init(struct control_params *p, const char *path)
{
	memset(p, 0, sizeof(*p));
	p->socket_path = path;
	p->socket_gid = p->admin_gid = (gid_t)-1;
	p->max_message = 1u << 20;
	p->max_clients = 64;
	p->max_clients_per_user = 65536;
	p->frame_timeout_ms = 30000;
	p->input_max = 1u << 30;
}

bool
link_message_arrives(const struct mesh_handler *table, void *arg,
    struct link *l, const struct cbor_buf *m)
{
	const struct mesh_handler	*h;
	struct linkmsg			 lm;

	ck_assert(!m->failed);
	ck_assert_int_eq(linkmsg_decode(m->data, m->len, &lm), 0);
	for (h = table; h->type != NULL; h++)
		if (strcmp(h->type, lm.type) == 0) {
			h->fn(arg, l, lm.type, lm.f, lm.nf);
			return true;
		}
	return false;
}

void
put_pres(struct cbor_buf *m, uint64_t n, bool ok)
{
	cbor_put_map(m, 3);
	cbor_put_text(m, "t");
	cbor_put_text(m, "pres");
	cbor_put_text(m, "n");
	cbor_put_uint(m, n);
	cbor_put_text(m, "ok");
	cbor_put_bool(m, ok);
}

void
stall_process(int64_t ms)
{
	int64_t		 until = clock_ms() + ms;
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };

	while (clock_ms() < until)
		nanosleep(&ts, NULL);
}
