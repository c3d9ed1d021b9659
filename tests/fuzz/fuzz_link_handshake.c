/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_handshake.c: libFuzzer target for everything a peer can send
 * on a mesh link before the handshake completes, through link.c's own
 * receive path.  The harness plays the remote node (link_peer.c) on the
 * far end of a real socket and runs the event loop until the link has
 * read what it was sent: as responder the link is link_accept()ed on
 * one end of a socketpair; as initiator it is link_dial()ed to a TCP
 * listener on 127.0.0.1 that the harness opens once and accepts from.
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
 * do so on the record that the rules refuse, with LINK_END_HANDSHAKE if
 * it does not decrypt, else LINK_END_FAILED; one
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "config.h"
#include "hello.h"
#include "identity.h"
#include "link.h"
#include "noise.h"
#include "wire.h"

#include "link_peer.h"

#define LINKS_MAX	8		/* links per input */
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
	struct link_peer	 lp;
	bool			 outbound;	/* the link dialed */
	struct noise_hs		*hs;	/* genuine peer, or NULL */
	int			 step;	/* handshake messages sent */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cbor_buf		 ping, pong;	/* the peer's, the echo */
static int			 listener = -1;
static char			 dial_addr[32];
static uint8_t			 rbuf[NOISE_MAX_MSG_LEN];
static uint8_t			 payload[NOISE_MAX_MSG_LEN];
static uint8_t			 msgbuf[WIRE_HDR + NOISE_MAX_MSG_LEN];

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

static void
init(void)
{
	static bool	done;

	if (done)
		return;
	link_peer_init(link_message_cb);
	put_ping(&ping, "ping");
	put_ping(&pong, "pong");
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
	    memcmp(x, lp_them_xpk, sizeof(x)) == 0;
}

/* A new link: accepted on a socketpair, or dialed to our listener. */
static void
peer_start(struct peer *p, bool outbound, bool genuine)
{
	struct link_peer	*lp = &p->lp;
	int			 on = 1, turns;
	size_t			 len;

	memset(p, 0, sizeof(*p));
	link_peer_reset(lp);
	lp->reset = outbound;
	p->outbound = outbound;
	if (genuine)
		p->hs = link_peer_hs(!outbound);
	if (!outbound) {
		link_peer_accept(lp);
		if (link_outbound(lp->l) ||
		    link_state(lp->l) != LINK_HANDSHAKE ||
		    strcmp(link_name(lp->l), LINK_PEER_ADDR) != 0)
			abort();
		return;
	}

	if ((lp->l = link_dial(&lp_par, dial_addr, &lp_ops, lp)) == NULL)
		abort();
	if (!link_outbound(lp->l) || link_state(lp->l) != LINK_CONNECTING ||
	    strcmp(link_name(lp->l), dial_addr) != 0)
		abort();
	/* The connect starts from the loop; then message 1 comes. */
	for (turns = 0; turns < LINK_PEER_TURNS; turns++) {
		if (event_base_loop(lp_base, EVLOOP_NONBLOCK) == -1 ||
		    lp->down)
			abort();
		if (lp->fd == -1 && (lp->fd = accept4(listener, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
			(void)setsockopt(lp->fd, IPPROTO_TCP, TCP_NODELAY,
			    &on, sizeof(on));
		(void)link_peer_read(lp);
		if (evbuffer_get_length(lp->from_link) >= WIRE_HDR + MSG1_LEN)
			break;
	}
	if (!link_peer_record(lp, rbuf, &len) || len != MSG1_LEN ||
	    evbuffer_get_length(lp->from_link) != 0 ||
	    link_state(lp->l) != LINK_HANDSHAKE)
		abort();
	if (genuine && noise_hs_read(p->hs, rbuf, len, payload,
	    sizeof(payload)) != 0)
		abort();
}

/* Ends a link still open: the peer hangs up, and the link notices. */
static void
peer_end(struct peer *p)
{
	struct link_peer	*lp = &p->lp;

	if (lp->l != NULL && !lp->down) {
		if (lp->up)
			link_close(lp->l, "done");
		else
			link_peer_hangup(lp);
		lp->sent = UINT64_MAX;	/* nothing more will be read */
		link_peer_pump(lp);
		if (!lp->down || (lp->up ? lp->why != LINK_END_HERE :
		    lp->why != LINK_END_EOF && lp->why != LINK_END_REFUSED &&
		    lp->why != LINK_END_FAILED &&
		    lp->why != LINK_END_HANDSHAKE))
			abort();
	}
	link_peer_close(lp);
	noise_hs_free(p->hs);
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
	link_peer_queue(&p->lp, msgbuf, WIRE_HDR + len, true);
	p->step++;
	return true;
}

/* The peer's handshake is done: its transport ciphers. */
static void
peer_split(struct peer *p)
{
	if (noise_hs_split(p->hs, &p->lp.tx, &p->lp.rx) == -1)
		abort();
}

/* A message from the link once up: only the pong to the peer's ping. */
static void
peer_pong(const uint8_t *msg, size_t len, void *arg)
{
	int	*msgs = arg;

	if (len != pong.len || memcmp(msg, pong.data, len) != 0)
		abort();
	(*msgs)++;
}

/*
 * The link is up: both ends must agree on the handshake, and on the
 * keys, which a ping and its pong show.  Then the link is closed.
 */
static void
peer_check_up(struct peer *p, const struct hello *sent)
{
	struct link_peer	*lp = &p->lp;
	struct link_info	 li;
	char			 idstr[NODE_ID_STRLEN], name[256];
	int			 msgs = 0;

	if (!lp->up || lp->down || link_state(lp->l) != LINK_UP ||
	    !noise_hs_done(p->hs) ||
	    memcmp(link_hash(lp->l), noise_hs_hash(p->hs), NOISE_HASH_LEN) !=
	    0 || memcmp(link_remote(lp->l), sent, sizeof(*sent)) != 0)
		abort();
	hello_check(link_remote(lp->l));
	base32_encode(sent->id, sizeof(sent->id), idstr);
	link_info(lp->l, &li);
	snprintf(name, sizeof(name), "%s (%.12s) at %s", sent->name, idstr,
	    li.addr);
	if (strcmp(li.addr, p->outbound ? dial_addr : LINK_PEER_ADDR) != 0 ||
	    strcmp(link_name(lp->l), name) != 0 ||
	    strcmp(link_id_str(lp->l), idstr) != 0 ||
	    strcmp(li.id, idstr) != 0 || strcmp(li.name, sent->name) != 0 ||
	    li.outbound != p->outbound || li.state != LINK_UP)
		abort();
	/* As responder the link has the ping already, behind message 3. */
	if (p->outbound) {
		peer_split(p);
		if (wire_seal(&lp->tx, ping.data, ping.len, lp->to_link) == -1)
			abort();
	}
	lp->sent = li.bytes_in + evbuffer_get_length(lp->to_link);
	link_peer_pump(lp);
	if (lp->down)
		abort();
	link_peer_messages(lp, NULL, peer_pong, &msgs);
	if (msgs != 1 || evbuffer_get_length(lp->from_link) != 0)
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
	struct link_peer	*lp = &p->lp;
	struct hello		 h;
	const uint8_t		*pl = rec, *patch = NULL;
	size_t			 plen = len, patchlen = 0, before;
	uint64_t		 upto;
	bool			 ok, last, changed;

	/* As responder the link reads messages 1 and 3, else message 2. */
	last = p->outbound || p->step == 1;
	if (feed == FEED_PATCH) {
		pl = last ? lp_them_hello_enc.data : NULL;
		plen = last ? lp_them_hello_enc.len : 0;
		patch = rec;
		patchlen = len;
	}
	/* Message 1 carries nothing, the others a HELLO. */
	ok = last ? hello_ok(pl, plen, &h) : plen == 0;
	if (!peer_send_hs(p, pl, plen, patch, patchlen, &changed))
		return false;	/* cannot send it: hang up */
	ok = ok && !changed;
	upto = lp->sent;
	if (last && !p->outbound) {
		/* Done: the first transport record follows message 3. */
		peer_split(p);
		before = evbuffer_get_length(lp->to_link);
		if (wire_seal(&lp->tx, ping.data, ping.len, lp->to_link) == -1)
			abort();
		lp->sent += evbuffer_get_length(lp->to_link) - before;
	}
	link_peer_pump(lp);
	if (!ok) {
		/*
		 * Closed on this record, and nothing said: an altered one
		 * does not decrypt, an intact one carries a bad payload.
		 */
		if (!lp->down || lp->why != (changed ? LINK_END_HANDSHAKE :
		    LINK_END_FAILED) || lp->up ||
		    lp->bytes_in != upto ||
		    evbuffer_get_length(lp->from_link) != 0)
			abort();
		return false;
	}
	if (lp->down)
		abort();
	if (!last) {
		link_peer_read_hello(lp, p->hs);	/* message 2 */
		return true;
	}
	if (p->outbound)
		link_peer_read_hello(lp, p->hs);	/* message 3 */
	peer_check_up(p, &h);
	return false;
}

/* A raw record from the input: the link must refuse it, or read on. */
static bool
peer_raw(struct peer *p, const uint8_t *rec, size_t len)
{
	struct link_peer	*lp = &p->lp;
	uint64_t		 upto;
	size_t			 rlen;

	msgbuf[0] = (uint8_t)(len >> 8);
	msgbuf[1] = (uint8_t)len;
	memcpy(msgbuf + WIRE_HDR, rec, len);
	link_peer_queue(lp, msgbuf, WIRE_HDR + len, true);
	upto = lp->sent;
	link_peer_pump(lp);
	if (lp->up)
		abort();	/* no key, no link */
	if (lp->down) {
		if (lp->bytes_in != upto || lp->why != LINK_END_HANDSHAKE)
			abort();
		return false;
	}
	/* A responder that took message 1 answers with message 2. */
	if (link_peer_record(lp, rbuf, &rlen) && (p->outbound ||
	    p->step++ != 0 || rlen != MSG2_LEN + lp_us_hello_enc.len))
		abort();
	if (evbuffer_get_length(lp->from_link) != 0)
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
			link_peer_queue(&p.lp, data, size, false);
			link_peer_pump(&p.lp);
			if (p.lp.down)
				abort();
		}
		peer_end(&p);
	}
	return 0;
}
