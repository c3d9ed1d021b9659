/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_handshake.c: libFuzzer target for everything a peer can send
 * on a mesh link before the handshake completes, through link.c's own
 * receive path.  The harness plays the remote node on the far end of a
 * real socket and runs the event loop until the link has read what it
 * was sent: as responder the link is link_accept()ed on one end of a
 * socketpair; as initiator it is link_dial()ed to a TCP listener on
 * 127.0.0.1 that the harness opens once and accepts from.
 *
 * The first input byte picks the mode, the rest is a stream of records
 * (2-byte big-endian length and that many bytes), as on the wire:
 *
 *	bit 0		0: the link accepts (responder);
 *			1: the link dials (initiator: it sends message 1)
 *	(bits 1-7) % 3	FEED_RAW: each record goes to the link as is, and
 *			a partial one at the end too.  The link draws its
 *			own ephemeral key, so of a recorded handshake only
 *			message 1 replays (to a responder, which answers
 *			with message 2); the link must never come up;
 *			FEED_PAYLOAD: a genuine peer (noise.c, fixed keys,
 *			the same network key and prologue) puts each record
 *			as the payload into its next handshake message:
 *			1 and 3 when the link accepts, 2 when it dials.  The
 *			link must go on exactly when message 1 is empty
 *			and a HELLO decodes and its ID converts to the
 *			peer's static key; a payload too long for a
 *			message makes the peer hang up instead;
 *			FEED_PATCH: the genuine peer sends its own valid
 *			HELLO, and each record is XORed over its next
 *			handshake message (a longer record extends it, an
 *			empty one leaves it as it is).  The link must take
 *			exactly the messages left unchanged.
 *
 * The peer reads what the link writes and checks it: message 1 and 2
 * of the right length, and with a genuine peer the link's messages
 * must decrypt in step and carry our HELLO byte for byte.  Once a link
 * is up, the handshake hash must be the same at both ends, the link's
 * view of the peer (link_remote(), link_id_str()) must be the HELLO sent,
 * and the peer sends a ping as its first transport record (as responder
 * the link gets it in the same write as message 3, as an initiator may
 * send it); a pong echoing it proves both ends split the same keys.  The
 * harness then closes the link (link_close()).  A link that closes must
 * do so on the record that the rules refuse, with LINK_END_FAILED; one
 * still in its handshake when the records run out sees the peer hang up
 * and must report the connection lost.  Then, while records are left, a
 * new link starts on them, as a peer that reconnects would; at most
 * LINKS_MAX per input.  HELLOs that decode must re-encode to themselves;
 * the raw input also goes to hello_decode() as a whole.
 *
 * Timers (handshake timeout, keep-alive) are set far beyond a run, so
 * only the input drives the link.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "config.h"
#include "hello.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "noise.h"
#include "wire.h"

#define LINK_PROLOGUE	"peerd/1"	/* as in link.c */
#define LINKS_MAX	8		/* links per input */
#define TURNS_MAX	20000		/* event loop turns per wait */
#define FAR_MS		(24u * 3600 * 1000)	/* timers never due */
#define MSG1_LEN	48		/* e and the empty payload's tag */
#define MSG2_LEN	96		/* e, encrypted s, the payload's tag */
#define PING_SEQ	7

enum feed {
	FEED_RAW,
	FEED_PAYLOAD,
	FEED_PATCH,
};

/* The remote node: the harness's end of one link. */
struct peer {
	struct link		*l;	/* NULL once freed */
	bool			 outbound;	/* the link dialed */
	int			 fd;	/* our end, -1 once hung up */
	uint64_t		 sent;	/* bytes of whole records queued */
	bool			 eof;
	bool			 up, down;
	enum link_end		 why;
	uint64_t		 bytes_in;	/* the link's count at down */
	struct noise_hs		*hs;	/* genuine peer, or NULL */
	struct noise_cipher	 tx, rx;
	int			 step;	/* handshake messages sent */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static struct link_params	 par;
static struct identity		 us;
static struct hello		 us_hello;
static struct cbor_buf		 us_hello_enc;
static uint8_t			 us_xpk[NOISE_KEY_LEN];
static uint8_t			 them_pk[NODE_ID_LEN];
static uint8_t			 them_xsk[NOISE_KEY_LEN];
static uint8_t			 them_xpk[NOISE_KEY_LEN];
static uint8_t			 them_e[NOISE_KEY_LEN];
static struct cbor_buf		 them_hello_enc;
static struct cbor_buf		 ping, pong;	/* the peer's, the echo */
static struct sockaddr_in	 accept_sa;
static const char		 accept_addr[] = "192.0.2.1:7654";
static int			 listener = -1;
static char			 dial_addr[32];
static struct evbuffer		*from_link, *to_link;
static uint8_t			 rbuf[NOISE_MAX_MSG_LEN];
static uint8_t			 payload[NOISE_MAX_MSG_LEN];
static uint8_t			 msgbuf[WIRE_HDR + NOISE_MAX_MSG_LEN];

static void	link_up_cb(struct link *, void *);
static void	link_down_cb(struct link *, enum link_end, const char *,
		    void *);
static void	link_message_cb(struct link *, const char *,
		    const struct cbor_field *, int, const uint8_t *, size_t,
		    void *);

static const struct link_ops	ops = {
	.up = link_up_cb,
	.down = link_down_cb,
	.message = link_message_cb,
};

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

static void
put_ping(struct cbor_buf *b, const char *type)
{
	static const uint8_t	pad[] = { 1, 2, 3, 4, 5 };

	cbor_put_map(b, 3);
	cbor_put_text(b, "t");
	cbor_put_text(b, type);
	cbor_put_text(b, "n");
	cbor_put_uint(b, PING_SEQ);
	cbor_put_text(b, "pad");
	cbor_put_bytes(b, pad, sizeof(pad));
	if (b->failed)
		abort();
}

/* The TCP listener that dialed links connect to. */
static void
listen_init(void)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    bind(listener, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(listener, 16) == -1 ||
	    getsockname(listener, (struct sockaddr *)&sin, &slen) == -1)
		abort();
	snprintf(dial_addr, sizeof(dial_addr), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
}

static void
init(void)
{
	static const char *const	us_listen[] = { "127.0.0.1:7000" };
	static const char *const	them_listen[] = {
		"[::1]:7001", "10.0.0.2:7002"
	};
	static bool			done;
	struct hello			h;
	uint8_t				seed[crypto_sign_SEEDBYTES];
	uint8_t				sk[crypto_sign_SECRETKEYBYTES];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	log_set_level(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (from_link = evbuffer_new()) == NULL ||
	    (to_link = evbuffer_new()) == NULL)
		abort();

	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(us.pk, us.sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(us.x_sk, us.sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(us_xpk, us.pk) != 0)
		abort();
	memset(us.network_key, 0x03, sizeof(us.network_key));
	base32_encode(us.pk, sizeof(us.pk), us.id);
	make_hello(&us_hello, us.pk, "us", us_listen, 1, &us_hello_enc);

	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(them_pk, sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(them_xsk, sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(them_xpk, them_pk) != 0)
		abort();
	memset(them_e, 0x05, sizeof(them_e));
	make_hello(&h, them_pk, "them", them_listen, 2, &them_hello_enc);
	put_ping(&ping, "ping");
	put_ping(&pong, "pong");

	par.base = base;
	par.dns = NULL;
	par.id = &us;
	par.hello = &us_hello;
	par.max_message = (256u + 64) << 10;
	par.ping_interval = FAR_MS;
	par.dead_after = 2 * (uint64_t)FAR_MS;
	par.handshake_timeout = FAR_MS;

	memset(&accept_sa, 0, sizeof(accept_sa));
	accept_sa.sin_family = AF_INET;
	accept_sa.sin_port = htons(7654);
	accept_sa.sin_addr.s_addr = htonl(0xc0000201);	/* accept_addr */
	listen_init();
	done = true;
}

/* A HELLO that hello_decode() accepted must be sane and re-encode. */
static void
hello_check(const struct hello *h)
{
	struct cbor_buf	 b;
	struct hello	 again;
	const char	*why;
	size_t		 n;
	int		 i;

	if (h->version != HELLO_VERSION || h->nlisten < 0 ||
	    h->nlisten > HELLO_ADDRS_MAX)
		abort();
	n = strnlen(h->name, sizeof(h->name));
	if (n == sizeof(h->name) || !node_name_valid(h->name, n))
		abort();
	for (i = 0; i < h->nlisten; i++)
		if (strnlen(h->listen[i], ADDR_STRLEN) == ADDR_STRLEN)
			abort();

	memset(&b, 0, sizeof(b));
	hello_encode(h, &b);
	if (b.failed)
		abort();
	if (hello_decode(b.data, b.len, &again, &why) != 0 ||
	    memcmp(h, &again, sizeof(*h)) != 0)
		abort();
	cbor_buf_free(&b);
}

/*
 * Whether the link must take this HELLO from the peer: it decodes, and
 * its ID converts to the static key the handshake authenticated.
 */
static bool
hello_ok(const uint8_t *buf, size_t len, struct hello *h)
{
	uint8_t		 x[NOISE_KEY_LEN];
	const char	*why;

	if (hello_decode(buf, len, h, &why) == -1)
		return false;
	hello_check(h);
	return crypto_sign_ed25519_pk_to_curve25519(x, h->id) == 0 &&
	    memcmp(x, them_xpk, sizeof(x)) == 0;
}

static void
link_up_cb(struct link *l, void *arg)
{
	struct peer	*p = arg;

	if (l != p->l || p->up || p->down || link_state(l) != LINK_UP)
		abort();
	p->up = true;
}

static void
link_down_cb(struct link *l, enum link_end why, const char *reason,
    void *arg)
{
	struct peer		*p = arg;
	struct link_info	 li;

	(void)reason;
	if (l != p->l || p->down || link_state(l) != LINK_CLOSED)
		abort();
	link_info(l, &li);
	p->down = true;
	p->why = why;
	p->bytes_in = li.bytes_in;
}

/* The peer sends nothing but a ping: no message may reach the owner. */
static void
link_message_cb(struct link *l, const char *type,
    const struct cbor_field *f, int nf, const uint8_t *msg, size_t len,
    void *arg)
{
	(void)l; (void)type; (void)f; (void)nf; (void)msg; (void)len;
	(void)arg;
	abort();
}

/* Writes what is queued for the link, as far as the socket takes it. */
static void
peer_write(struct peer *p)
{
	size_t	len;
	ssize_t	n;

	while (p->fd != -1 && (len = evbuffer_get_length(to_link)) > 0) {
		if (len > 65536)
			len = 65536;
		n = send(p->fd, evbuffer_pullup(to_link, (ssize_t)len), len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			evbuffer_drain(to_link, (size_t)n);
		else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		else {
			/* The link has gone: the rest is lost. */
			evbuffer_drain(to_link, evbuffer_get_length(to_link));
			return;
		}
	}
}

/* Reads what the link wrote; how many bytes. */
static size_t
peer_read(struct peer *p)
{
	uint8_t	buf[16384];
	size_t	got = 0;
	ssize_t	n;

	while (p->fd != -1 && !p->eof) {
		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (evbuffer_add(from_link, buf, (size_t)n) == -1)
				abort();
			got += (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		else
			p->eof = true;	/* closed, or reset */
	}
	return got;
}

static void
peer_queue(struct peer *p, const uint8_t *rec, size_t len)
{
	if (evbuffer_add(to_link, rec, len) == -1)
		abort();
	p->sent += len;
}

/*
 * Runs the event loop until the link has handled every whole record
 * sent and written all it has to say, or has closed (and is freed).
 */
static void
pump(struct peer *p)
{
	struct link_info	li;
	size_t			got;
	int			turns;

	for (turns = 0; turns < TURNS_MAX; turns++) {
		peer_write(p);
		if (event_base_loop(base, EVLOOP_NONBLOCK) == -1)
			abort();
		got = peer_read(p);
		if (p->down) {
			/* The link frees itself from the loop. */
			if (event_base_loop(base, EVLOOP_NONBLOCK) == -1)
				abort();
			p->l = NULL;
			while (p->fd != -1 && !p->eof && turns++ < TURNS_MAX)
				(void)peer_read(p);
			evbuffer_drain(to_link, evbuffer_get_length(to_link));
			return;
		}
		link_info(p->l, &li);
		if (p->fd != -1 && evbuffer_get_length(to_link) == 0 &&
		    li.bytes_in == p->sent && link_queued(p->l) == 0 &&
		    got == 0)
			return;
	}
	abort();	/* the link is stuck */
}

/* Takes the next whole record the link wrote; false if none. */
static bool
peer_record(uint8_t *buf, size_t *len)
{
	size_t		 avail = evbuffer_get_length(from_link), n;
	const uint8_t	*h;

	if (avail < WIRE_HDR)
		return false;
	h = evbuffer_pullup(from_link, WIRE_HDR);
	n = (size_t)h[0] << 8 | h[1];
	if (avail < WIRE_HDR + n)
		return false;
	evbuffer_drain(from_link, WIRE_HDR);
	if (evbuffer_remove(from_link, buf, n) != (int)n)
		abort();
	*len = n;
	return true;
}

/* Closes our end; TCP with a reset, leaving no TIME_WAIT behind. */
static void
peer_hangup(struct peer *p)
{
	struct linger	lg = { 1, 0 };

	if (p->fd == -1)
		return;
	if (p->outbound)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	close(p->fd);
	p->fd = -1;
}

/* A new link: accepted on a socketpair, or dialed to our listener. */
static void
peer_start(struct peer *p, bool outbound, bool genuine)
{
	int	sv[2], on = 1, turns;
	size_t	len;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->outbound = outbound;
	evbuffer_drain(from_link, evbuffer_get_length(from_link));
	evbuffer_drain(to_link, evbuffer_get_length(to_link));
	if (genuine && (p->hs = noise_hs_new(NOISE_XXPSK0, !outbound,
	    LINK_PROLOGUE, strlen(LINK_PROLOGUE), them_xsk, us.network_key,
	    them_e)) == NULL)
		abort();
	if (!outbound) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0, sv) == -1)
			abort();
		p->fd = sv[1];
		if ((p->l = link_accept(&par, sv[0],
		    (struct sockaddr *)&accept_sa, &ops, p)) == NULL)
			abort();
		if (link_outbound(p->l) ||
		    link_state(p->l) != LINK_HANDSHAKE ||
		    strcmp(link_name(p->l), accept_addr) != 0)
			abort();
		return;
	}

	if ((p->l = link_dial(&par, dial_addr, &ops, p)) == NULL)
		abort();
	if (!link_outbound(p->l) || link_state(p->l) != LINK_CONNECTING ||
	    strcmp(link_name(p->l), dial_addr) != 0)
		abort();
	/* The connect starts from the loop; then message 1 comes. */
	for (turns = 0; turns < TURNS_MAX; turns++) {
		if (event_base_loop(base, EVLOOP_NONBLOCK) == -1 || p->down)
			abort();
		if (p->fd == -1 && (p->fd = accept4(listener, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
			(void)setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
		(void)peer_read(p);
		if (evbuffer_get_length(from_link) >= WIRE_HDR + MSG1_LEN)
			break;
	}
	if (!peer_record(rbuf, &len) || len != MSG1_LEN ||
	    evbuffer_get_length(from_link) != 0 ||
	    link_state(p->l) != LINK_HANDSHAKE)
		abort();
	if (genuine && noise_hs_read(p->hs, rbuf, len, payload,
	    sizeof(payload)) != 0)
		abort();
}

/* Ends a link still open: the peer hangs up, and the link notices. */
static void
peer_end(struct peer *p)
{
	if (p->l != NULL && !p->down) {
		if (p->up)
			link_close(p->l, "done");
		else
			peer_hangup(p);
		p->sent = UINT64_MAX;	/* nothing more will be read */
		pump(p);
		if (!p->down || (p->up ? p->why != LINK_END_HERE :
		    p->why != LINK_END_EOF && p->why != LINK_END_REFUSED &&
		    p->why != LINK_END_FAILED))
			abort();
	}
	peer_hangup(p);
	noise_hs_free(p->hs);
	noise_cipher_clear(&p->tx);
	noise_cipher_clear(&p->rx);
	p->hs = NULL;
}

/*
 * The genuine peer's next handshake message carrying payload, with
 * patch XORed over it; *changed if that altered it.  false if the
 * payload is too long to send.
 */
static bool
peer_send_hs(struct peer *p, const uint8_t *pl, size_t plen,
    const uint8_t *patch, size_t patchlen, bool *changed)
{
	size_t	len, i;
	ssize_t	n;

	if ((n = noise_hs_write(p->hs, pl, plen, msgbuf + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		return false;
	len = (size_t)n;
	*changed = patchlen > len;
	for (i = 0; i < patchlen; i++) {
		*changed = *changed || patch[i] != 0;
		if (i < len)
			msgbuf[WIRE_HDR + i] ^= patch[i];
		else
			msgbuf[WIRE_HDR + i] = patch[i];
	}
	if (patchlen > len)
		len = patchlen;
	msgbuf[0] = (uint8_t)(len >> 8);
	msgbuf[1] = (uint8_t)len;
	peer_queue(p, msgbuf, WIRE_HDR + len);
	p->step++;
	return true;
}

/* The link's next handshake message must decrypt and carry our HELLO. */
static void
peer_read_hello(struct peer *p)
{
	const uint8_t	*rs;
	size_t		 len;
	ssize_t		 n;

	if (!peer_record(rbuf, &len) ||
	    (n = noise_hs_read(p->hs, rbuf, len, payload,
	    sizeof(payload))) == -1 ||
	    (size_t)n != us_hello_enc.len ||
	    memcmp(payload, us_hello_enc.data, us_hello_enc.len) != 0 ||
	    (rs = noise_hs_remote_static(p->hs)) == NULL ||
	    memcmp(rs, us_xpk, sizeof(us_xpk)) != 0)
		abort();
}

/* The peer's handshake is done: its transport ciphers. */
static void
peer_split(struct peer *p)
{
	if (noise_hs_split(p->hs, &p->tx, &p->rx) == -1)
		abort();
}

/*
 * The link is up: both ends must agree on the handshake, and on the
 * keys, which a ping and its pong show.  Then the link is closed.
 */
static void
peer_check_up(struct peer *p, const struct hello *sent)
{
	struct link_info	 li;
	const uint8_t		*msg, *q;
	const char		*why;
	char			 idstr[NODE_ID_STRLEN], name[256];
	size_t			 len, mlen, left;
	ssize_t			 n;
	int			 r, msgs = 0;

	if (!p->up || p->down || link_state(p->l) != LINK_UP ||
	    !noise_hs_done(p->hs) ||
	    memcmp(link_hash(p->l), noise_hs_hash(p->hs), NOISE_HASH_LEN) !=
	    0 || memcmp(link_remote(p->l), sent, sizeof(*sent)) != 0)
		abort();
	hello_check(link_remote(p->l));
	base32_encode(sent->id, sizeof(sent->id), idstr);
	link_info(p->l, &li);
	snprintf(name, sizeof(name), "%s (%.12s) at %s", sent->name, idstr,
	    li.addr);
	if (strcmp(li.addr, p->outbound ? dial_addr : accept_addr) != 0 ||
	    strcmp(link_name(p->l), name) != 0 ||
	    strcmp(link_id_str(p->l), idstr) != 0 ||
	    strcmp(li.id, idstr) != 0 || strcmp(li.name, sent->name) != 0 ||
	    li.outbound != p->outbound || li.state != LINK_UP)
		abort();
	/* As responder the link has the ping already, behind message 3. */
	if (p->outbound) {
		peer_split(p);
		if (wire_seal(&p->tx, ping.data, ping.len, to_link) == -1)
			abort();
	}
	p->sent = li.bytes_in + evbuffer_get_length(to_link);
	pump(p);
	if (p->down)
		abort();
	while (peer_record(rbuf, &len)) {
		if ((n = noise_decrypt(&p->rx, NULL, 0, rbuf, len, rbuf,
		    len)) == -1 || n < 1)
			abort();
		if (rbuf[0] == WIRE_BATCH) {
			q = rbuf + 1;
			left = (size_t)n - 1;
			while ((r = wire_batch_next(&q, &left, &msg, &mlen,
			    &why)) == 1) {
				if (mlen != pong.len ||
				    memcmp(msg, pong.data, mlen) != 0)
					abort();
				msgs++;
			}
			if (r == -1)
				abort();
		} else if (rbuf[0] == 0 && (size_t)n - 1 == pong.len &&
		    memcmp(rbuf + 1, pong.data, pong.len) == 0)
			msgs++;
		else
			abort();
	}
	if (msgs != 1 || evbuffer_get_length(from_link) != 0)
		abort();
}

/*
 * A genuine peer's handshake message for one input record; false once
 * the link is up or closed.
 */
static bool
peer_genuine(struct peer *p, enum feed feed, const uint8_t *rec,
    size_t len)
{
	struct hello	 h;
	const uint8_t	*pl = rec, *patch = NULL;
	size_t		 plen = len, patchlen = 0, before;
	uint64_t	 upto;
	bool		 ok, last, changed;

	/* As responder the link reads messages 1 and 3, else message 2. */
	last = p->outbound || p->step == 1;
	if (feed == FEED_PATCH) {
		pl = last ? them_hello_enc.data : NULL;
		plen = last ? them_hello_enc.len : 0;
		patch = rec;
		patchlen = len;
	}
	/* Message 1 carries nothing, the others a HELLO. */
	ok = last ? hello_ok(pl, plen, &h) : plen == 0;
	if (!peer_send_hs(p, pl, plen, patch, patchlen, &changed))
		return false;	/* cannot send it: hang up */
	ok = ok && !changed;
	upto = p->sent;
	if (last && !p->outbound) {
		/* Done: the first transport record follows message 3. */
		peer_split(p);
		before = evbuffer_get_length(to_link);
		if (wire_seal(&p->tx, ping.data, ping.len, to_link) == -1)
			abort();
		p->sent += evbuffer_get_length(to_link) - before;
	}
	pump(p);
	if (!ok) {
		/* Closed on this record, and nothing said. */
		if (!p->down || p->why != LINK_END_FAILED || p->up ||
		    p->bytes_in != upto ||
		    evbuffer_get_length(from_link) != 0)
			abort();
		return false;
	}
	if (p->down)
		abort();
	if (!last) {
		peer_read_hello(p);	/* message 2 */
		return true;
	}
	if (p->outbound)
		peer_read_hello(p);	/* message 3 */
	peer_check_up(p, &h);
	return false;
}

/* A raw record from the input: the link must refuse it, or read on. */
static bool
peer_raw(struct peer *p, const uint8_t *rec, size_t len)
{
	uint64_t	upto;
	size_t		rlen;

	msgbuf[0] = (uint8_t)(len >> 8);
	msgbuf[1] = (uint8_t)len;
	memcpy(msgbuf + WIRE_HDR, rec, len);
	peer_queue(p, msgbuf, WIRE_HDR + len);
	upto = p->sent;
	pump(p);
	if (p->up)
		abort();	/* no key, no link */
	if (p->down) {
		if (p->bytes_in != upto || p->why != LINK_END_FAILED)
			abort();
		return false;
	}
	/* A responder that took message 1 answers with message 2. */
	if (peer_record(rbuf, &rlen) && (p->outbound || p->step++ != 0 ||
	    rlen != MSG2_LEN + us_hello_enc.len))
		abort();
	if (evbuffer_get_length(from_link) != 0)
		abort();
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer	 p;
	struct hello	 h;
	enum feed	 feed;
	const uint8_t	*rec;
	const char	*why;
	size_t		 len;
	bool		 outbound, open;
	int		 links = 0;

	init();
	if (hello_decode(data, size, &h, &why) == 0)
		hello_check(&h);
	if (size < 1)
		return 0;
	outbound = data[0] & 1;
	feed = (enum feed)((data[0] >> 1) % 3);
	data++;
	size--;

	open = false;
	while (size >= WIRE_HDR) {
		len = (size_t)data[0] << 8 | data[1];
		if (size - WIRE_HDR < len)
			break;
		rec = data + WIRE_HDR;
		data += WIRE_HDR + len;
		size -= WIRE_HDR + len;

		if (!open) {
			if (links++ == LINKS_MAX)
				return 0;
			peer_start(&p, outbound, feed != FEED_RAW);
			open = true;
		}
		if (feed == FEED_RAW)
			open = peer_raw(&p, rec, len);
		else
			open = peer_genuine(&p, feed, rec, len);
		if (!open)
			peer_end(&p);
	}
	if (!open && feed == FEED_RAW && size > 0 && links < LINKS_MAX) {
		peer_start(&p, outbound, false);
		open = true;
	}
	if (open) {
		/* A partial record waits for the rest, until the hang-up. */
		if (feed == FEED_RAW && size > 0) {
			peer_queue(&p, data, size);
			p.sent -= size;
			pump(&p);
			if (p.down)
				abort();
		}
		peer_end(&p);
	}
	return 0;
}
