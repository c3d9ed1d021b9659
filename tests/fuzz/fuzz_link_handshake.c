/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_handshake.c: libFuzzer target for everything a peer can send
 * on a mesh link before the handshake completes: handshake records read
 * by noise_hs_read() in either role, and the HELLO payloads they carry,
 * checked the way link.c checks them.
 *
 * The first input byte picks the mode, the rest is a stream of records
 * (2-byte big-endian length and that many bytes), as on the wire:
 *
 *	bit 0		0: we accepted the link (responder);
 *			1: we dialed it (initiator, message 1 is ours)
 *	(bits 1-7) % 3	FEED_RAW: each record is a handshake message from
 *			the peer, read as is;
 *			FEED_FIRST: as responder, a genuine initiator (same
 *			network key) sends message 1 first, then the records
 *			are read as is, so the first one is message 3; as
 *			initiator, the same as FEED_RAW (the first record
 *			is message 2);
 *			FEED_PAYLOAD: a genuine peer puts each record as
 *			the payload into its next handshake message, which
 *			reaches HELLO decoding and the checks after it
 *			(message 1 must carry none, as link.c demands).
 *
 * All keys, ephemeral ones included, are fixed, so a recorded genuine
 * handshake replays byte for byte in FEED_RAW.  When a link closes or
 * comes up and records are left, a new link starts on them, as a peer
 * that reconnects would; at most LINKS_MAX per input.
 *
 * link_handshake_record(), link_check_hello(), link_write_hs() and
 * link_up() are static in link.c and tied to a bufferevent, so their
 * steps are repeated here with the same calls, buffers and limits,
 * minus logging and the event loop.  Decoded HELLOs must re-encode to
 * themselves.  The raw input also goes to hello_decode() as a whole.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "config.h"
#include "hello.h"
#include "identity.h"
#include "noise.h"
#include "wire.h"

#define LINK_PROLOGUE	"peerd/1"	/* as in link.c */
#define LINKS_MAX	8		/* links per input */

enum feed {
	FEED_RAW,
	FEED_FIRST,
	FEED_PAYLOAD,
};

enum link_result {
	LINK_HANDSHAKE,		/* still under way */
	LINK_UP,
	LINK_CLOSED,
};

/* One node's fixed keys and encoded HELLO. */
struct node {
	uint8_t		pk[NODE_ID_LEN];
	uint8_t		sk[crypto_sign_SECRETKEYBYTES];
	uint8_t		x_sk[crypto_scalarmult_curve25519_BYTES];
	uint8_t		e_priv[NOISE_KEY_LEN];
	struct cbor_buf	hello;
};

/* Our end as link.c keeps it, and the harness's genuine remote end. */
struct hs_link {
	bool			 outbound;
	struct noise_hs		*hs;
	struct noise_hs		*peer;	/* NULL in FEED_RAW */
	struct noise_cipher	 tx, rx;
	struct hello		 remote;
	char			 idstr[NODE_ID_STRLEN];
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct node	us, them;
static uint8_t		network_key[NETWORK_KEY_LEN];
static uint8_t		wire[WIRE_HDR + NOISE_MAX_MSG_LEN];	/* ours */
static uint8_t		peer_wire[NOISE_MAX_MSG_LEN];	/* the peer's */
static uint8_t		scratch[NOISE_MAX_MSG_LEN];

static void
node_init(struct node *n, uint8_t seedbyte, uint8_t ebyte, const char *name,
    const char *const *listen, int nlisten)
{
	uint8_t		seed[crypto_sign_SEEDBYTES];
	struct hello	h;
	int		i;

	memset(seed, seedbyte, sizeof(seed));
	crypto_sign_seed_keypair(n->pk, n->sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(n->x_sk, n->sk) != 0)
		abort();
	memset(n->e_priv, ebyte, sizeof(n->e_priv));

	memset(&h, 0, sizeof(h));
	h.version = HELLO_VERSION;
	memcpy(h.id, n->pk, NODE_ID_LEN);
	strcpy(h.name, name);
	for (i = 0; i < nlisten; i++)
		strcpy(h.listen[h.nlisten++], listen[i]);
	hello_encode(&h, &n->hello);
	if (n->hello.failed)
		abort();
}

static void
init(void)
{
	static const char *const	us_listen[] = { "127.0.0.1:7000" };
	static const char *const	them_listen[] = {
		"[::1]:7001", "10.0.0.2:7002"
	};
	static bool			done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(network_key, 0x03, sizeof(network_key));
	node_init(&us, 0x01, 0x04, "us", us_listen, 1);
	node_init(&them, 0x02, 0x05, "them", them_listen, 2);
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

/* link_check_hello(). */
static int
check_hello(struct hs_link *l, const uint8_t *buf, size_t len)
{
	uint8_t		 x[crypto_scalarmult_curve25519_BYTES];
	const uint8_t	*rs;
	const char	*why;

	if (hello_decode(buf, len, &l->remote, &why) == -1)
		return -1;
	hello_check(&l->remote);
	rs = noise_hs_remote_static(l->hs);
	if (rs == NULL ||
	    crypto_sign_ed25519_pk_to_curve25519(x, l->remote.id) != 0 ||
	    sodium_memcmp(x, rs, sizeof(x)) != 0)
		return -1;
	base32_encode(l->remote.id, sizeof(l->remote.id), l->idstr);
	return 0;
}

/* The genuine peer reads what we sent, to stay in step with us. */
static void
peer_read(struct hs_link *l, const uint8_t *msg, size_t len)
{
	if (l->peer != NULL)
		(void)noise_hs_read(l->peer, msg, len, scratch,
		    sizeof(scratch));
}

/* link_write_hs(): our next handshake message, as one record. */
static int
write_hs(struct hs_link *l, const uint8_t *payload, size_t plen)
{
	ssize_t	n;

	if ((n = noise_hs_write(l->hs, payload, plen, wire + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		return -1;
	wire[0] = (uint8_t)(n >> 8);
	wire[1] = (uint8_t)n;
	peer_read(l, wire + WIRE_HDR, (size_t)n);
	return 0;
}

/* link_up(): split into transport ciphers. */
static enum link_result
link_up(struct hs_link *l)
{
	struct noise_cipher	ptx, prx;

	/* Read and written to the end and not split yet: cannot fail. */
	if (noise_hs_split(l->hs, &l->tx, &l->rx) == -1)
		abort();
	noise_hs_free(l->hs);
	l->hs = NULL;
	/* A genuine peer that got there too must hold the same keys. */
	if (l->peer != NULL &&
	    noise_hs_split(l->peer, &ptx, &prx) == 0) {
		if (memcmp(ptx.k, l->rx.k, NOISE_KEY_LEN) != 0 ||
		    memcmp(prx.k, l->tx.k, NOISE_KEY_LEN) != 0)
			abort();
		noise_cipher_clear(&ptx);
		noise_cipher_clear(&prx);
	}
	return LINK_UP;
}

/* link_handshake_record(): one handshake record from the peer. */
static enum link_result
handshake_record(struct hs_link *l, const uint8_t *msg, size_t len)
{
	static uint8_t	payload[NOISE_MAX_MSG_LEN];
	ssize_t		n;

	if ((n = noise_hs_read(l->hs, msg, len, payload, sizeof(payload))) ==
	    -1)
		return LINK_CLOSED;
	if ((size_t)n > len)
		abort();
	if (l->outbound) {
		/* We read message 2: the responder's HELLO; send ours. */
		if (check_hello(l, payload, (size_t)n) == -1)
			return LINK_CLOSED;
		if (write_hs(l, us.hello.data, us.hello.len) == -1)
			return LINK_CLOSED;
		return link_up(l);
	}
	if (!noise_hs_done(l->hs)) {
		/* We read message 1 (empty): answer with our HELLO. */
		if (n != 0 || write_hs(l, us.hello.data, us.hello.len) == -1)
			return LINK_CLOSED;
		return LINK_HANDSHAKE;
	}
	/* We read message 3: the initiator's HELLO. */
	if (check_hello(l, payload, (size_t)n) == -1)
		return LINK_CLOSED;
	return link_up(l);
}

/* The genuine peer's next handshake message, carrying payload. */
static enum link_result
peer_send(struct hs_link *l, const uint8_t *payload, size_t plen)
{
	ssize_t	n;

	if ((n = noise_hs_write(l->peer, payload, plen, peer_wire,
	    sizeof(peer_wire))) == -1)
		return LINK_CLOSED;	/* too long: nothing to send */
	return handshake_record(l, peer_wire, (size_t)n);
}

static void
link_free(struct hs_link *l)
{
	noise_hs_free(l->hs);
	noise_hs_free(l->peer);
	noise_cipher_clear(&l->tx);
	noise_cipher_clear(&l->rx);
	memset(l, 0, sizeof(*l));
}

/* link_dial() or link_accept(), then what the first wake-ups do. */
static enum link_result
link_start(struct hs_link *l, bool outbound, enum feed feed)
{
	memset(l, 0, sizeof(*l));
	l->outbound = outbound;
	l->hs = noise_hs_new(NOISE_XXPSK0, outbound, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), us.x_sk, network_key, us.e_priv);
	if (feed != FEED_RAW)
		l->peer = noise_hs_new(NOISE_XXPSK0, !outbound, LINK_PROLOGUE,
		    strlen(LINK_PROLOGUE), them.x_sk, network_key,
		    them.e_priv);
	if (l->hs == NULL || (feed != FEED_RAW && l->peer == NULL))
		abort();
	/* Outbound TCP is up: send handshake message 1 (empty). */
	if (outbound && write_hs(l, NULL, 0) == -1)
		abort();
	if (feed == FEED_FIRST && !outbound)
		return peer_send(l, NULL, 0);
	return LINK_HANDSHAKE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_link		 l;
	struct hello		 h;
	enum link_result	 res;
	enum feed		 feed;
	const uint8_t		*rec;
	const char		*why;
	size_t			 len;
	bool			 outbound;
	int			 links = 0;

	init();
	if (hello_decode(data, size, &h, &why) == 0)
		hello_check(&h);
	if (size < 1)
		return 0;
	outbound = data[0] & 1;
	feed = (enum feed)((data[0] >> 1) % 3);
	data++;
	size--;

	res = link_start(&l, outbound, feed);
	links++;
	/* Records as link_read_cb cuts them; a partial one waits forever. */
	while (size >= WIRE_HDR) {
		len = (size_t)data[0] << 8 | data[1];
		if (size - WIRE_HDR < len)
			break;
		rec = data + WIRE_HDR;
		data += WIRE_HDR + len;
		size -= WIRE_HDR + len;

		if (res != LINK_HANDSHAKE) {
			/* Closed or up: the peer connects again. */
			link_free(&l);
			if (links++ == LINKS_MAX)
				return 0;
			if ((res = link_start(&l, outbound, feed)) !=
			    LINK_HANDSHAKE)
				continue;
		}
		if (feed == FEED_PAYLOAD)
			res = peer_send(&l, rec, len);
		else
			res = handshake_record(&l, rec, len);
	}
	link_free(&l);
	return 0;
}
