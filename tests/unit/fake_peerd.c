/* SPDX-License-Identifier: ISC */
/*
 * fake_peerd.c: the fake daemon libpeer's unit tests run against, and
 * pump() to drive a client.  Owns the fake's sockets, gate pipe, thread
 * and temporary directory, from fake_start to fake_finish.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "fake_peerd.h"
#include "frame.h"
#include "peer.h"
#include "proto.h"

#define FAKE_WAIT_MS	5000	/* for any one frame */

long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
fake_wait(int fd, short events)
{
	struct pollfd	pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, FAKE_WAIT_MS) == 1;
}

static bool
fake_read_full(int fd, uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if (!fake_wait(fd, POLLIN) || (n = read(fd, buf, len)) <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

bool
fake_accept(struct fake *f)
{
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = -1;
	if (!fake_wait(f->lfd, POLLIN))
		return false;
	return (f->cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) != -1;
}

void
fake_hangup(struct fake *f)
{
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = -1;
}

bool
fake_recv(struct fake *f)
{
	uint8_t		hdr[FRAME_HDR];
	uint32_t	len;
	char		why[128];

	if (!fake_read_full(f->cfd, hdr, sizeof(hdr)) ||
	    frame_check(hdr, sizeof(hdr), sizeof(f->buf), &len) !=
	    FRAME_NEED_MORE || !fake_read_full(f->cfd, f->buf, len))
		return false;
	return ctl_msg_decode(f->buf, len, &f->m, why, sizeof(why)) == 0;
}

bool
fake_send(struct fake *f, struct cbor_buf *b)
{
	size_t	off = 0;
	ssize_t	n;

	if (b->failed)
		return false;
	while (off < b->len) {
		if (!fake_wait(f->cfd, POLLOUT) ||
		    (n = write(f->cfd, b->data + off, b->len - off)) <= 0)
			return false;
		off += (size_t)n;
	}
	cbor_buf_reset(b);
	return true;
}

bool
op_is(const struct fake *f, const char *op)
{
	return strcmp(f->m.op, op) == 0;
}

bool
text_is(const struct fake *f, const char *key, const char *want)
{
	const struct cbor_field	*v;
	const char		*s;
	size_t			 n;

	if ((v = ctl_msg_get(&f->m, key)) == NULL)
		return want == NULL;
	return want != NULL && cbor_read_text(v->val, v->vallen, &s, &n) &&
	    n == strlen(want) && memcmp(s, want, n) == 0;
}

bool
uint_is(const struct fake *f, const char *key, uint64_t want)
{
	const struct cbor_field	*v;
	uint64_t		 u;

	return (v = ctl_msg_get(&f->m, key)) != NULL &&
	    cbor_read_uint(v->val, v->vallen, &u) && u == want;
}

bool
item_is(const struct fake *f, const char *key, const uint8_t *want,
    size_t len)
{
	const struct cbor_field	*v;

	if ((v = ctl_msg_get(&f->m, key)) == NULL)
		return want == NULL;
	return want != NULL && v->vallen == len &&
	    memcmp(v->val, want, len) == 0;
}

void
put_result(struct cbor_buf *b, uint64_t id, const uint8_t *raw, size_t len)
{
	size_t	start = ctl_frame_begin(b);

	ctl_put_result(b, id);
	cbor_put_raw(b, raw, len);
	ctl_frame_end(b, start, 1 << 20);
}

void
put_text_result(struct cbor_buf *b, uint64_t id, const char *key,
    const char *val)
{
	size_t	start = ctl_frame_begin(b);

	ctl_put_result(b, id);
	cbor_put_map(b, 1);
	cbor_put_text(b, key);
	cbor_put_text(b, val);
	ctl_frame_end(b, start, 1 << 20);
}

void
put_error(struct cbor_buf *b, uint64_t id, enum peer_code code,
    const char *msg, const uint8_t *ctx, size_t ctxlen)
{
	size_t	start = ctl_frame_begin(b);

	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_uint(b, id);
	cbor_put_text(b, "error");
	ctl_put_error_value(b, code, msg, strlen(msg), ctx, ctxlen);
	ctl_frame_end(b, start, 1 << 20);
}

bool
fake_hello(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	size_t		start;
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "hello") || !f->m.has_id ||
	    !uint_is(f, "protocol", PROTO_VERSION))
		return false;
	start = ctl_frame_begin(&b);
	ctl_put_result(&b, f->m.id);
	cbor_put_map(&b, 3);
	cbor_put_text(&b, "protocol");
	cbor_put_uint(&b, PROTO_VERSION);
	cbor_put_text(&b, "node");
	cbor_put_text(&b, FAKE_NODE);
	cbor_put_text(&b, "name");
	cbor_put_text(&b, "fake");
	ctl_frame_end(&b, start, 1 << 20);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

bool
fake_gate(struct fake *f)
{
	char	c;

	return fake_wait(f->gate[0], POLLIN) && read(f->gate[0], &c, 1) == 1;
}

void
fake_go(struct fake *f)
{
	ck_assert_int_eq(write(f->gate[1], "", 1), 1);
}

static void *
fake_main(void *arg)
{
	struct fake	*f = arg;

	f->script(f);
	fake_hangup(f);
	return NULL;
}

void
fake_start(struct fake *f, const char *tag, void (*script)(struct fake *))
{
	struct sockaddr_un	sun;

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->script = script;
	ck_assert_int_lt(snprintf(f->dir, sizeof(f->dir),
	    "/tmp/peer-%s-XXXXXX", tag), (int)sizeof(f->dir));
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	ck_assert_int_ne(f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0), -1);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	ck_assert_int_eq(pipe2(f->gate, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

void
fake_unlisten(struct fake *f)
{
	if (f->lfd != -1)
		close(f->lfd);
	f->lfd = -1;
	unlink(f->path);
}

void
fake_finish(struct fake *f)
{
	ck_assert_int_eq(pthread_join(f->thread, NULL), 0);
	fake_unlisten(f);
	close(f->gate[0]);
	close(f->gate[1]);
	rmdir(f->dir);
	ck_assert_msg(f->why[0] == '\0', "%s", f->why);
}

int
pump(struct peer *p, bool (*step)(struct peer *, void *), void *arg, int ms,
    struct peer_error *err)
{
	struct pollfd	pfd;
	long		deadline = now_ms() + ms, left;
	int		t;

	while (!step(p, arg)) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		t = peer_timeout(p);
		pfd.fd = peer_fd(p);
		pfd.events = POLLIN | (peer_wants_write(p) ? POLLOUT : 0);
		(void)poll(&pfd, 1, t == -1 || t > left ? (int)left : t);
		if (peer_dispatch(p, err) == -1)
			return -1;
	}
	return 1;
}

bool
step_lost(struct peer *p, void *arg)
{
	(void)arg;
	return peer_fd(p) == -1;
}
