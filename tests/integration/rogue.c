/* SPDX-License-Identifier: ISC */
/*
 * rogue.c: a member built from the daemon's noise, wire, hello, record
 * and callmsg code, which the tests drive by hand.
 */
#include <sys/socket.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "harness.h"
#include "hello.h"
#include "rogue.h"

#define PROLOGUE	"peerd/1"
#define ROGUE_MSG_MAX	(16 * 1024 * 1024)	/* reassembled, bytes */

void
rogue_send_raw(struct rogue *r, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0 && (n = send(r->fd, p, len, MSG_NOSIGNAL)) > 0) {
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes before the deadline; false on EOF or timeout. */
static bool
read_exact(int fd, uint8_t *buf, size_t len, long deadline)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;
	long		left;

	while (len > 0) {
		if ((left = deadline - test_now_ms()) < 0)
			left = 0;
		if (poll(&pfd, 1, (int)left) != 1 ||
		    (n = read(fd, buf, len)) <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void
put_hs_record(struct rogue *r, const uint8_t *msg, size_t len)
{
	uint8_t	hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	rogue_send_raw(r, hdr, 2);
	rogue_send_raw(r, msg, len);
}

void
rogue_connect(struct rogue *r, int port, const uint8_t netkey[32],
    const uint8_t *sk, int flags)
{
	static uint8_t		 buf[NOISE_MAX_MSG_LEN], pl[NOISE_MAX_MSG_LEN];
	struct noise_hs		*hs;
	struct cbor_buf		 cb = { 0 };
	struct hello		 h;
	uint8_t			 x_sk[32], hdr[2];
	ssize_t			 n;
	size_t			 len;
	long			 deadline;

	memset(r, 0, sizeof(*r));
	if (sk == NULL)
		crypto_sign_keypair(r->pk, r->sk);
	else {
		memcpy(r->sk, sk, sizeof(r->sk));
		ck_assert_int_eq(crypto_sign_ed25519_sk_to_pk(r->pk, r->sk), 0);
	}
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(x_sk, r->sk), 0);
	r->fd = tcp_connect(port);
	ck_assert_ptr_nonnull(hs = noise_hs_new(NOISE_XXPSK0, true, PROLOGUE,
	    strlen(PROLOGUE), x_sk, netkey, NULL));
	ck_assert_int_gt(n = noise_hs_write(hs, NULL, 0, buf, sizeof(buf)), 0);
	put_hs_record(r, buf, (size_t)n);
	deadline = test_now_ms() + 3000;
	ck_assert(read_exact(r->fd, hdr, 2, deadline));
	len = (size_t)hdr[0] << 8 | hdr[1];
	ck_assert(read_exact(r->fd, buf, len, deadline));
	ck_assert_int_ge(noise_hs_read(hs, buf, len, pl, sizeof(pl)), 0);

	memset(&h, 0, sizeof(h));
	h.version = HELLO_VERSION;
	memcpy(h.id, r->pk, sizeof(h.id));
	if (flags & ROGUE_FORGED_HELLO)
		h.id[0] ^= 1;
	snprintf(h.name, sizeof(h.name), "rogue");
	hello_encode(&h, &cb);
	ck_assert(!cb.failed);
	ck_assert_int_gt(n = noise_hs_write(hs, cb.data, cb.len, buf,
	    sizeof(buf)), 0);
	put_hs_record(r, buf, (size_t)n);
	ck_assert_int_eq(noise_hs_split(hs, &r->tx, &r->rx), 0);
	noise_hs_free(hs);
	cbor_buf_free(&cb);
	sodium_memzero(x_sk, sizeof(x_sk));
}

void
rogue_close(struct rogue *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	noise_cipher_clear(&r->tx);
	noise_cipher_clear(&r->rx);
	wire_reasm_free(&r->reasm);
	r->batch = NULL;
	r->batchleft = 0;
}

void
rogue_send_plain_record(struct rogue *r, const uint8_t *pt, size_t ptlen)
{
	static uint8_t	buf[2 + NOISE_MAX_MSG_LEN];
	ssize_t		n;

	ck_assert_int_gt(n = noise_encrypt(&r->tx, NULL, 0, pt, ptlen, buf + 2,
	    NOISE_MAX_MSG_LEN), 0);
	buf[0] = (uint8_t)(n >> 8);
	buf[1] = (uint8_t)n;
	rogue_send_raw(r, buf, 2 + (size_t)n);
}

uint8_t *
rogue_seal(struct rogue *r, const uint8_t *msg, size_t len, size_t *outlen)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		*out;

	ck_assert_ptr_nonnull(eb);
	ck_assert_int_eq(wire_seal(&r->tx, msg, len, eb), 0);
	*outlen = evbuffer_get_length(eb);
	ck_assert_ptr_nonnull(out = malloc(*outlen));
	evbuffer_remove(eb, out, *outlen);
	evbuffer_free(eb);
	return out;
}

void
rogue_send_msg(struct rogue *r, const struct cbor_buf *msg)
{
	uint8_t	*rec;
	size_t	 len;

	ck_assert(!msg->failed);
	rec = rogue_seal(r, msg->data, msg->len, &len);
	rogue_send_raw(r, rec, len);
	free(rec);
}

void
rogue_send_bytes(struct rogue *r, const uint8_t *msg, size_t len)
{
	uint8_t	*rec;
	size_t	 reclen;

	rec = rogue_seal(r, msg, len, &reclen);
	rogue_send_raw(r, rec, reclen);
	free(rec);
}

void
rogue_callmsg(struct rogue *r, const struct callmsg *m)
{
	struct cbor_buf	cb = { 0 };

	callmsg_encode(&cb, m);
	rogue_send_msg(r, &cb);
	cbor_buf_free(&cb);
}

void
rogue_record(struct rogue *r, const struct record *rec, const uint8_t *sk)
{
	rogue_record_hops(r, rec, sk, 0);
}

void
rogue_record_hops(struct rogue *r, const struct record *rec,
    const uint8_t *sk, uint64_t hops)
{
	struct cbor_buf	cb = { 0 }, signed_rec = { 0 };

	record_sign(rec, sk != NULL ? sk : r->sk, &signed_rec);
	ck_assert(!signed_rec.failed);
	cbor_put_map(&cb, 3);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "rec");
	cbor_put_text(&cb, "r");
	cbor_put_bytes(&cb, signed_rec.data, signed_rec.len);
	cbor_put_text(&cb, "h");
	cbor_put_uint(&cb, hops);
	rogue_send_msg(r, &cb);
	cbor_buf_free(&signed_rec);
	cbor_buf_free(&cb);
}

/* Reads and decrypts one record into r->pt: its plaintext length, or -1. */
static int
read_record(struct rogue *r, long deadline, size_t *wirelen)
{
	uint8_t	hdr[2];
	size_t	len;
	ssize_t	n;

	if (!read_exact(r->fd, hdr, 2, deadline))
		return -1;
	len = (size_t)hdr[0] << 8 | hdr[1];
	ck_assert(read_exact(r->fd, r->pt, len, deadline));
	ck_assert_int_ge(n = noise_decrypt(&r->rx, NULL, 0, r->pt, len, r->pt,
	    len), 1);
	*wirelen = len;
	return (int)n;
}

int
rogue_read_record(struct rogue *r, int ms)
{
	size_t	len;

	r->batch = NULL;
	r->batchleft = 0;
	if (read_record(r, test_now_ms() + ms, &len) == -1)
		return -1;
	return (int)len;
}

/* The next whole message before the deadline, or false. */
static bool
next_msg(struct rogue *r, long deadline, const uint8_t **msg, size_t *len)
{
	const char	*why = NULL;
	size_t		 wirelen;
	int		 n, rc;

	for (;;) {
		if (r->batchleft > 0) {
			ck_assert_msg(wire_batch_next(&r->batch, &r->batchleft,
			    msg, len, NOISE_MAX_MSG_LEN, &why) == 1, "%s", why);
			return true;
		}
		if ((n = read_record(r, deadline, &wirelen)) == -1)
			return false;
		if (r->pt[0] == WIRE_BATCH) {
			r->batch = r->pt + 1;
			r->batchleft = (size_t)n - 1;
			continue;
		}
		rc = wire_reasm_add(&r->reasm, r->pt, (size_t)n, ROGUE_MSG_MAX,
		    msg, len, &why);
		ck_assert_msg(rc != -1, "%s", why);
		if (rc == 1)
			return true;
	}
}

static void
pong(struct rogue *r, uint64_t seq)
{
	struct cbor_buf	cb = { 0 };

	cbor_put_map(&cb, 2);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "pong");
	cbor_put_text(&cb, "n");
	cbor_put_uint(&cb, seq);
	rogue_send_msg(r, &cb);
	cbor_buf_free(&cb);
}

bool
rogue_next_msg(struct rogue *r, int ms, struct linkmsg *m,
    const uint8_t **msg, size_t *len)
{
	const uint8_t	*pad;
	size_t		 padlen;
	uint64_t	 seq;
	long		 deadline = test_now_ms() + ms;

	if (!next_msg(r, deadline, msg, len))
		return false;
	ck_assert_int_eq(linkmsg_decode(*msg, *len, m), 0);
	if (strcmp(m->type, "ping") == 0 &&
	    linkmsg_ping(m, &seq, &pad, &padlen) == 0)
		pong(r, seq);
	return true;
}

bool
rogue_pending(const struct rogue *r)
{
	return r->batchleft > 0;
}

bool
rogue_recv_msg(struct rogue *r, const char *type, int ms, struct linkmsg *m)
{
	const uint8_t	*msg;
	size_t		 len;
	long		 deadline = test_now_ms() + ms;

	while (rogue_next_msg(r, (int)(deadline - test_now_ms()), m, &msg,
	    &len))
		if (strcmp(m->type, type) == 0)
			return true;
	return false;
}

bool
rogue_recv_callmsg(struct rogue *r, const char *type, int ms,
    struct callmsg *cm)
{
	struct linkmsg	 m;
	const char	*why = NULL;

	if (!rogue_recv_msg(r, type, ms, &m))
		return false;
	ck_assert_msg(callmsg_decode(m.type, m.f, m.nf, cm, &why) == 0,
	    "%s: %s", type, why);
	return true;
}

bool
rogue_closed_within(struct rogue *r, int ms)
{
	struct pollfd	pfd = { r->fd, POLLIN, 0 };
	uint8_t		buf[4096];
	long		deadline = test_now_ms() + ms;
	ssize_t		n;

	while (test_now_ms() < deadline) {
		if (poll(&pfd, 1, (int)(deadline - test_now_ms())) != 1)
			continue;
		if ((n = read(r->fd, buf, sizeof(buf))) <= 0)
			return true;
	}
	return false;
}
