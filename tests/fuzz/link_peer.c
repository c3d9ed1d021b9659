/* SPDX-License-Identifier: ISC */
/*
 * link_peer.c: the remote end of a link under test, shared by the fuzz
 * targets that drive link.c over a real socket (fuzz_link_handshake.c,
 * fuzz_link_transport.c): the fixed keys and HELLOs of both nodes, the
 * link's settings, the peer's socket and its two buffers, the pumping
 * of the event loop, and the reading of what the link writes.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "hello.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "noise.h"
#include "wire.h"

#include "link_peer.h"

#define LINK_PROLOGUE	"peerd/1"	/* as in link.c */

struct event_base	*lp_base;
struct link_params	 lp_par;
struct link_ops		 lp_ops;
struct cbor_buf		 lp_us_hello_enc;
uint8_t			 lp_them_pk[NODE_ID_LEN];
uint8_t			 lp_them_xpk[NOISE_KEY_LEN];
struct hello		 lp_them_hello;
struct cbor_buf		 lp_them_hello_enc;

static struct identity		 us;
static struct hello		 us_hello;
static uint8_t			 us_xpk[NOISE_KEY_LEN];
static uint8_t			 them_xsk[NOISE_KEY_LEN];
static uint8_t			 them_e[NOISE_KEY_LEN];
static struct sockaddr_in	 accept_sa;
static struct evbuffer		*to_link, *from_link;
static uint8_t			 readbuf[65536];
static uint8_t			 rbuf[NOISE_MAX_MSG_LEN];
static uint8_t			 payload[NOISE_MAX_MSG_LEN];

static void	link_peer_up(struct link *, void *);
static void	link_peer_down(struct link *, enum link_end, const char *,
		    void *);

static void
make_hello(struct hello *h, const uint8_t *pk, const char *name,
    const char *const *listen, int nlisten, struct cbor_buf *b)
{
	int	i;

	memset(h, 0, sizeof(*h));
	h->version = HELLO_VERSION;
	memcpy(h->id, pk, NODE_ID_LEN);
	strcpy(h->name, name);
	for (i = 0; i < nlisten; i++)
		strcpy(h->listen[h->nlisten++], listen[i]);
	hello_encode(h, b);
	if (b->failed)
		abort();
}

void
link_peer_init(link_peer_message_fn *message)
{
	static const char *const	us_listen[] = { "127.0.0.1:7000" };
	static const char *const	them_listen[] = {
		"[::1]:7001", "10.0.0.2:7002"
	};
	uint8_t				seed[crypto_sign_SEEDBYTES];
	uint8_t				sk[crypto_sign_SECRETKEYBYTES];

	if (sodium_init() < 0)
		abort();
	log_set_level(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if ((lp_base = event_base_new()) == NULL ||
	    (to_link = evbuffer_new()) == NULL ||
	    (from_link = evbuffer_new()) == NULL)
		abort();

	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(us.pk, us.sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(us.x_sk, us.sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(us_xpk, us.pk) != 0)
		abort();
	memset(us.network_key, 0x03, sizeof(us.network_key));
	base32_encode(us.pk, sizeof(us.pk), us.id);
	make_hello(&us_hello, us.pk, "us", us_listen, 1, &lp_us_hello_enc);

	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(lp_them_pk, sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(them_xsk, sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(lp_them_xpk, lp_them_pk) !=
	    0)
		abort();
	memset(them_e, 0x05, sizeof(them_e));
	make_hello(&lp_them_hello, lp_them_pk, "them", them_listen, 2,
	    &lp_them_hello_enc);

	lp_par.base = lp_base;
	lp_par.dns = NULL;
	lp_par.id = &us;
	lp_par.hello = &us_hello;
	lp_par.max_message = LINK_PEER_MAX_MESSAGE;
	lp_par.ping_interval = LINK_PEER_FAR_MS;
	lp_par.dead_after = 2 * (uint64_t)LINK_PEER_FAR_MS;
	lp_par.handshake_timeout = LINK_PEER_FAR_MS;
	lp_ops.up = link_peer_up;
	lp_ops.down = link_peer_down;
	lp_ops.message = message;

	memset(&accept_sa, 0, sizeof(accept_sa));
	accept_sa.sin_family = AF_INET;
	accept_sa.sin_port = htons(7654);
	accept_sa.sin_addr.s_addr = htonl(0xc0000201);	/* LINK_PEER_ADDR */
}

void
link_peer_reset(struct link_peer *lp)
{
	memset(lp, 0, sizeof(*lp));
	lp->fd = -1;
	lp->to_link = to_link;
	lp->from_link = from_link;
	evbuffer_drain(to_link, evbuffer_get_length(to_link));
	evbuffer_drain(from_link, evbuffer_get_length(from_link));
}

void
link_peer_accept(struct link_peer *lp)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		abort();
	lp->fd = sv[1];
	if ((lp->l = link_accept(&lp_par, sv[0],
	    (struct sockaddr *)&accept_sa, &lp_ops, lp)) == NULL)
		abort();
}

static void
link_peer_up(struct link *l, void *arg)
{
	struct link_peer	*lp = arg;

	if (l != lp->l || lp->up || lp->down || link_state(l) != LINK_UP)
		abort();
	lp->up = true;
}

static void
link_peer_down(struct link *l, enum link_end why, const char *reason,
    void *arg)
{
	struct link_peer	*lp = arg;
	struct link_info	 li;

	(void)reason;
	if (l != lp->l || lp->down || link_state(l) != LINK_CLOSED)
		abort();
	link_info(l, &li);
	lp->down = true;
	lp->why = why;
	lp->bytes_in = li.bytes_in;
}

void
link_peer_write(struct link_peer *lp)
{
	size_t	len;
	ssize_t	n;

	while (lp->fd != -1 && (len = evbuffer_get_length(lp->to_link)) > 0) {
		if (len > 65536)
			len = 65536;
		n = send(lp->fd, evbuffer_pullup(lp->to_link, (ssize_t)len),
		    len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			evbuffer_drain(lp->to_link, (size_t)n);
		else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		else {
			/* The link has gone: the rest is lost. */
			evbuffer_drain(lp->to_link,
			    evbuffer_get_length(lp->to_link));
			return;
		}
	}
}

size_t
link_peer_read(struct link_peer *lp)
{
	size_t	got = 0;
	ssize_t	n;

	while (lp->fd != -1 && !lp->eof) {
		n = recv(lp->fd, readbuf, sizeof(readbuf), MSG_DONTWAIT);
		if (n > 0) {
			if (evbuffer_add(lp->from_link, readbuf, (size_t)n) ==
			    -1)
				abort();
			got += (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		else
			lp->eof = true;	/* closed, or reset */
	}
	return got;
}

void
link_peer_queue(struct link_peer *lp, const uint8_t *buf, size_t len,
    bool whole)
{
	if (evbuffer_add(lp->to_link, buf, len) == -1)
		abort();
	if (whole)
		lp->sent += len;
}

void
link_peer_pump(struct link_peer *lp)
{
	struct link_info	li;
	size_t			got;
	int			turns;

	for (turns = 0; turns < LINK_PEER_TURNS; turns++) {
		link_peer_write(lp);
		if (event_base_loop(lp_base, EVLOOP_NONBLOCK) == -1)
			abort();
		got = link_peer_read(lp);
		if (lp->down) {
			/* The link frees itself from the loop. */
			if (event_base_loop(lp_base, EVLOOP_NONBLOCK) == -1)
				abort();
			lp->l = NULL;
			while (lp->fd != -1 && !lp->eof &&
			    turns++ < LINK_PEER_TURNS)
				(void)link_peer_read(lp);
			evbuffer_drain(lp->to_link,
			    evbuffer_get_length(lp->to_link));
			return;
		}
		link_info(lp->l, &li);
		if (lp->fd != -1 && evbuffer_get_length(lp->to_link) == 0 &&
		    li.bytes_in == lp->sent && link_queued(lp->l) == 0 &&
		    got == 0)
			return;
	}
	abort();	/* the link is stuck */
}

bool
link_peer_record(struct link_peer *lp, uint8_t *buf, size_t *len)
{
	size_t		 avail = evbuffer_get_length(lp->from_link), n;
	const uint8_t	*h;

	if (avail < WIRE_HDR)
		return false;
	h = evbuffer_pullup(lp->from_link, WIRE_HDR);
	n = (size_t)h[0] << 8 | h[1];
	if (avail < WIRE_HDR + n)
		return false;
	evbuffer_drain(lp->from_link, WIRE_HDR);
	if (evbuffer_remove(lp->from_link, buf, n) != (int)n)
		abort();
	*len = n;
	return true;
}

void
link_peer_hangup(struct link_peer *lp)
{
	struct linger	lg = { 1, 0 };

	if (lp->fd == -1)
		return;
	/* A reset leaves no TIME_WAIT behind. */
	if (lp->reset)
		(void)setsockopt(lp->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	close(lp->fd);
	lp->fd = -1;
}

void
link_peer_close(struct link_peer *lp)
{
	link_peer_hangup(lp);
	noise_cipher_clear(&lp->tx);
	noise_cipher_clear(&lp->rx);
}

struct noise_hs *
link_peer_hs(bool initiator)
{
	struct noise_hs	*hs;

	if ((hs = noise_hs_new(NOISE_XXPSK0, initiator, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), them_xsk, us.network_key, them_e)) ==
	    NULL)
		abort();
	return hs;
}

void
link_peer_read_hello(struct link_peer *lp, struct noise_hs *hs)
{
	const uint8_t	*rs;
	size_t		 len;
	ssize_t		 n;

	if (!link_peer_record(lp, rbuf, &len) ||
	    (n = noise_hs_read(hs, rbuf, len, payload, sizeof(payload))) ==
	    -1 || (size_t)n != lp_us_hello_enc.len ||
	    memcmp(payload, lp_us_hello_enc.data, lp_us_hello_enc.len) != 0 ||
	    (rs = noise_hs_remote_static(hs)) == NULL ||
	    memcmp(rs, us_xpk, sizeof(us_xpk)) != 0)
		abort();
}

void
link_peer_messages(struct link_peer *lp, struct wire_reasm *reasm,
    void (*fn)(const uint8_t *, size_t, void *), void *arg)
{
	const uint8_t	*msg, *q;
	const char	*why;
	size_t		 len, mlen, left;
	ssize_t		 n;
	int		 r;

	while (link_peer_record(lp, rbuf, &len)) {
		if ((n = noise_decrypt(&lp->rx, NULL, 0, rbuf, len, rbuf,
		    len)) == -1 || n < 1)
			abort();
		if (rbuf[0] == WIRE_BATCH) {
			q = rbuf + 1;
			left = (size_t)n - 1;
			/* A batch never cuts into a long message. */
			if ((reasm != NULL && reasm->len != 0) || left == 0)
				abort();
			while ((r = wire_batch_next(&q, &left, &msg, &mlen,
			    WIRE_BATCH_WIDE_MAX, &why)) == 1)
				fn(msg, mlen, arg);
			if (r == -1)
				abort();
		} else if (reasm == NULL) {
			if (rbuf[0] != 0)
				abort();
			fn(rbuf + 1, (size_t)n - 1, arg);
		} else {
			if ((r = wire_reasm_add(reasm, rbuf, (size_t)n,
			    LINK_PEER_MAX_MESSAGE, &msg, &mlen, &why)) == -1)
				abort();
			if (r == 1)
				fn(msg, mlen, arg);
		}
	}
}
