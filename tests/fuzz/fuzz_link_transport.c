/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_transport.c: libFuzzer target for the receive path of an up
 * mesh link, through link.c's own code: reading the socket, cutting
 * records, decryption, reassembly, batches, the message envelope, pongs
 * to pings, and closing on what breaks the rules.
 *
 * The harness plays the remote node on the far end of a socketpair
 * whose other end is link_accept()ed, and runs the event loop until the
 * link has read what it was sent.  A fuzzer cannot forge ciphertext, so
 * the peer first completes a genuine Noise handshake with the link
 * (noise.c, fixed keys, its own valid HELLO), then encrypts what the
 * input says it sends.  The input is a series of
 *
 *	[op] [2-byte big-endian length] [that many plaintext bytes]
 *
 * where the plaintext is a record's flags byte and chunk; a length past
 * the end of the input takes what is left.  op:
 *
 *	bits 0-2	4: flip one ciphertext bit; 5: send the record
 *			twice (a replay); 6: cut the ciphertext to 9-24
 *			bytes; 7: drop it (the peer's nonce moves on);
 *			else send it unchanged, and with bit 0 set let the
 *			link read everything sent before the next op, with
 *			bit 1 set then hang up
 *	bit 3		pad the chunk with zeros to WIRE_CHUNK_MAX, so that
 *			multi-record messages are within reach
 *	bits 4-7	where to flip, or how much to keep when cutting;
 *			for a record sent unchanged, where to split its
 *			write in two, with a turn of the loop between
 *			(0: no split)
 *
 * Records not waited for go out together, so that one read brings many.
 * The harness follows the rules of doc/MESH.md sections 5 and 6 in a
 * model of the receiver that says what the link must do with each
 * record, and checks it at every wait: the messages the link hands its
 * owner (every message but ping and pong, in order, byte for byte),
 * the pongs it writes back (echoing each ping's "n" and "pad", in
 * order), and where it closes: on the first record that is tampered
 * with, replayed, cut or follows a dropped one, or that breaks a rule,
 * with LINK_END_FAILED and having counted no record past it; on a "bye"
 * message, which this owner answers with link_close() from its message
 * callback; and on the hang-up, with LINK_END_EOF.  Pongs due before a
 * close must still reach the peer when they are few.  Once up, the
 * harness pings the link with link_ping(); a pong from the peer with its
 * sequence number (1) must answer it, and a close without one must
 * report it closed.
 *
 * When the link closes, the rest of the input goes to a new one.  Work
 * per input is bounded by LINKS_MAX links (each costs a handshake) and
 * BYTES_MAX bytes of plaintext; max_message is MAX_MESSAGE, the least a
 * node can have, small enough for the fuzzer to reach.  Timers
 * (keep-alive, the ping's timeout) are set far beyond a run, so only the
 * input drives the link.
 */
#include <sys/socket.h>
#include <netinet/in.h>

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
#include "cbor_scan.h"
#include "hello.h"
#include "identity.h"
#include "link.h"
#include "linkmsg.h"
#include "log.h"
#include "noise.h"
#include "wire.h"

#define LINK_PROLOGUE	"peerd/1"	/* as in link.c */
#define MAX_MESSAGE	((256u + 64) << 10)	/* the link's max_message */
#define BYTES_MAX	(512u << 10)	/* plaintext bytes per input */
#define LINKS_MAX	2		/* links per input */
#define FLUSH_AT	(256u << 10)	/* bytes sent without waiting */
#define FEW_BYTES	(32u << 10)	/* pongs a close surely writes */
#define TURNS_MAX	20000		/* event loop turns per wait */
#define FAR_MS		(24u * 3600 * 1000)	/* timers never due */
#define PING_SIZE	16		/* the harness's link_ping() */
#define PING_SEQ	1		/* its sequence number */

enum op {
	OP_FLIP = 4,
	OP_REPLAY = 5,
	OP_CUT = 6,
	OP_DROP = 7,
};
#define OP_WAIT		0x01
#define OP_HANGUP	0x02
#define OP_FILL		0x08

/* The remote node: the harness's end of one link. */
struct peer {
	struct link		*l;	/* NULL once freed */
	int			 fd;	/* our end, -1 once hung up */
	uint64_t		 sent;	/* bytes of whole records queued */
	bool			 eof;
	bool			 up, down;
	enum link_end		 why;
	uint64_t		 bytes_in;	/* the link's count at down */
	struct noise_cipher	 tx, rx;
	struct wire_reasm	 reasm;	/* the link's messages to us */
	bool			 got_ping;	/* the link's ping arrived */
	int			 ping_calls;
	enum link_ping_result	 ping_result;
};

/* What the link must do, by doc/MESH.md. */
struct model {
	bool			 open;
	bool			 desync;	/* a record was dropped */
	enum link_end		 why;		/* how it must close */
	uint64_t		 at;		/* after which record */
	size_t			 pending;	/* bytes of a split message */
	bool			 ping_out;	/* link_ping() unanswered */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static struct link_params	 par;
static struct identity		 us;
static struct hello		 us_hello;
static struct cbor_buf		 us_hello_enc;
static uint8_t			 us_xpk[NOISE_KEY_LEN];
static uint8_t			 them_xsk[NOISE_KEY_LEN];
static uint8_t			 them_e[NOISE_KEY_LEN];
static struct cbor_buf		 them_hello_enc;
static struct hello		 them_hello;
static struct sockaddr_in	 accept_sa;
static char			 them_name[128]; /* link_name() once up */
static struct evbuffer		*from_link, *to_link;
static struct evbuffer		*want_msgs, *want_pongs;
static struct cbor_buf		 scratch;
static struct model		 m;
static uint8_t			 reasm[MAX_MESSAGE];	/* the model's */
static uint8_t			 pt[1 + WIRE_CHUNK_MAX];
static uint8_t			 rec[WIRE_HDR + NOISE_MAX_MSG_LEN];
static uint8_t			 rbuf[NOISE_MAX_MSG_LEN];
static uint8_t			 payload[NOISE_MAX_MSG_LEN];

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
    const char *listen, struct cbor_buf *b)
{
	memset(h, 0, sizeof(*h));
	h->version = HELLO_VERSION;
	memcpy(h->id, pk, NODE_ID_LEN);
	strcpy(h->name, name);
	strcpy(h->listen[h->nlisten++], listen);
	hello_encode(h, b);
	if (b->failed)
		abort();
}

static void
init(void)
{
	static bool	done;
	uint8_t		seed[crypto_sign_SEEDBYTES];
	uint8_t		pk[NODE_ID_LEN], sk[crypto_sign_SECRETKEYBYTES];
	char		idstr[NODE_ID_STRLEN];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	log_set_level(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (from_link = evbuffer_new()) == NULL ||
	    (to_link = evbuffer_new()) == NULL ||
	    (want_msgs = evbuffer_new()) == NULL ||
	    (want_pongs = evbuffer_new()) == NULL)
		abort();

	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(us.pk, us.sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(us.x_sk, us.sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(us_xpk, us.pk) != 0)
		abort();
	memset(us.network_key, 0x03, sizeof(us.network_key));
	base32_encode(us.pk, sizeof(us.pk), us.id);
	make_hello(&us_hello, us.pk, "us", "127.0.0.1:7000", &us_hello_enc);

	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(them_xsk, sk) != 0)
		abort();
	memset(them_e, 0x05, sizeof(them_e));
	make_hello(&them_hello, pk, "them", "[::1]:7001", &them_hello_enc);
	base32_encode(pk, sizeof(pk), idstr);
	snprintf(them_name, sizeof(them_name), "them (%.12s) at "
	    "192.0.2.1:7654", idstr);

	par.base = base;
	par.dns = NULL;
	par.id = &us;
	par.hello = &us_hello;
	par.max_message = MAX_MESSAGE;
	par.ping_interval = FAR_MS;
	par.dead_after = 2 * (uint64_t)FAR_MS;
	par.handshake_timeout = FAR_MS;

	memset(&accept_sa, 0, sizeof(accept_sa));
	accept_sa.sin_family = AF_INET;
	accept_sa.sin_port = htons(7654);
	accept_sa.sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1 */
	done = true;
}

/* A message the model expects at the owner, or as a pong. */
static void
want(struct evbuffer *q, const uint8_t *msg, size_t len)
{
	uint32_t	n = (uint32_t)len;

	if (evbuffer_add(q, &n, sizeof(n)) == -1 ||
	    evbuffer_add(q, msg, len) == -1)
		abort();
}

/* Takes the next expected message, which must be msg. */
static void
wanted(struct evbuffer *q, const uint8_t *msg, size_t len)
{
	uint32_t	n;

	if (evbuffer_remove(q, &n, sizeof(n)) != (int)sizeof(n) ||
	    n != len || evbuffer_get_length(q) < len ||
	    memcmp(evbuffer_pullup(q, (ssize_t)len), msg, len) != 0)
		abort();
	evbuffer_drain(q, len);
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

/* Every message but ping and pong, as the model said; "bye" closes. */
static void
link_message_cb(struct link *l, const char *type,
    const struct cbor_field *f, int nf, const uint8_t *msg, size_t len,
    void *arg)
{
	struct peer	*p = arg;
	struct linkmsg	 lm;
	char		 esc[64];
	int		 i;

	if (l != p->l || link_state(l) != LINK_UP)
		abort();
	wanted(want_msgs, msg, len);
	if (linkmsg_decode(msg, len, &lm) == -1 ||
	    strcmp(lm.type, type) != 0 || nf != lm.nf ||
	    nf > LINKMSG_FIELDS_MAX || strcmp(type, "ping") == 0 ||
	    strcmp(type, "pong") == 0)
		abort();
	for (i = 0; i < nf; i++)
		if ((const uint8_t *)f[i].key < msg ||
		    f[i].val + f[i].vallen > msg + len)
			abort();
	/* As mesh_link_message() logs a type it does not know. */
	(void)log_escape(type, strlen(type), esc, sizeof(esc));
	if (strnlen(esc, sizeof(esc)) == sizeof(esc))
		abort();
	if (strcmp(type, "bye") == 0)
		link_close(l, "bye");
}

static void
ping_cb(enum link_ping_result res, int64_t rtt_us, const char *why,
    void *arg)
{
	struct peer	*p = arg;

	if (p->ping_calls++ != 0 ||
	    (res == LINK_PING_ANSWERED) != (rtt_us >= 0 && why == NULL))
		abort();
	p->ping_result = res;
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
	uint8_t	buf[65536];
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

/* Queues bytes for the link; whole records count as sent. */
static void
peer_queue(struct peer *p, const uint8_t *buf, size_t len, bool whole)
{
	if (evbuffer_add(to_link, buf, len) == -1)
		abort();
	if (whole)
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

/* Closes our end. */
static void
peer_hangup(struct peer *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
}

/* A whole message from the link: its ping first, then our pongs. */
static void
peer_message(struct peer *p, const uint8_t *msg, size_t len)
{
	struct linkmsg	 lm;
	const uint8_t	*pad, *b;
	size_t		 padlen, n;
	uint64_t	 seq;

	if (p->got_ping) {
		wanted(want_pongs, msg, len);
		return;
	}
	if (linkmsg_decode(msg, len, &lm) == -1 ||
	    strcmp(lm.type, "ping") != 0 ||
	    linkmsg_ping(&lm, &seq, &pad, &padlen) == -1 ||
	    seq != PING_SEQ || pad == NULL ||
	    !cbor_read_bytes(pad, padlen, &b, &n) || n != PING_SIZE)
		abort();
	p->got_ping = true;
}

/* Reads the link's records: all must decrypt and follow the rules. */
static void
peer_take(struct peer *p)
{
	const uint8_t	*msg, *q;
	const char	*why;
	size_t		 len, mlen, left;
	ssize_t		 n;
	int		 r;

	while (peer_record(rbuf, &len)) {
		if ((n = noise_decrypt(&p->rx, NULL, 0, rbuf, len, rbuf,
		    len)) == -1 || n < 1)
			abort();
		if (rbuf[0] == WIRE_BATCH) {
			q = rbuf + 1;
			left = (size_t)n - 1;
			if (p->reasm.len != 0 || left == 0)
				abort();
			while ((r = wire_batch_next(&q, &left, &msg, &mlen,
			    &why)) == 1)
				peer_message(p, msg, mlen);
			if (r == -1)
				abort();
			continue;
		}
		if ((r = wire_reasm_add(&p->reasm, rbuf, (size_t)n,
		    MAX_MESSAGE, &msg, &mlen, &why)) == -1)
			abort();
		if (r == 1)
			peer_message(p, msg, mlen);
	}
}

/* After a wait: what the link did must be what the model says. */
static void
peer_check(struct peer *p)
{
	bool	answered = p->ping_calls == 1 &&
		    p->ping_result == LINK_PING_ANSWERED;
	size_t	due = evbuffer_get_length(want_pongs);

	peer_take(p);
	if (evbuffer_get_length(want_msgs) != 0)
		abort();
	if (m.open) {
		if (p->down || evbuffer_get_length(want_pongs) != 0 ||
		    !p->got_ping || answered == m.ping_out ||
		    p->ping_calls != (m.ping_out ? 0 : 1))
			abort();
		return;
	}
	if (!p->down || p->why != m.why || p->bytes_in != m.at)
		abort();
	/*
	 * Pongs due before a close must go out with it, when they are too
	 * few to fill the socket.
	 */
	if (due <= FEW_BYTES && (!p->got_ping ||
	    evbuffer_get_length(want_pongs) != 0))
		abort();
	if (p->ping_calls != 1 || answered == m.ping_out)
		abort();
}

static void
model_close(struct peer *p, enum link_end why)
{
	if (!m.open)
		return;
	m.open = false;
	m.why = why;
	m.at = p->sent;
}

/* One whole message, as doc/MESH.md section 6 says. */
static void
model_message(struct peer *p, const uint8_t *msg, size_t len)
{
	struct linkmsg	 lm;
	const uint8_t	*pad;
	size_t		 padlen;
	uint64_t	 seq;

	if (!m.open)
		return;
	if (linkmsg_decode(msg, len, &lm) == -1) {
		model_close(p, LINK_END_FAILED);
		return;
	}
	if (strcmp(lm.type, "ping") != 0 && strcmp(lm.type, "pong") != 0) {
		want(want_msgs, msg, len);
		if (strcmp(lm.type, "bye") == 0)
			model_close(p, LINK_END_HERE);
		return;
	}
	if (linkmsg_ping(&lm, &seq, &pad, &padlen) == -1) {
		model_close(p, LINK_END_FAILED);
		return;
	}
	if (lm.type[1] == 'o') {
		if (seq == PING_SEQ)
			m.ping_out = false;
		return;
	}
	/* The pong: the same "n", and the "pad" item byte for byte. */
	cbor_buf_reset(&scratch);
	cbor_put_map(&scratch, pad != NULL ? 3 : 2);
	cbor_put_text(&scratch, "t");
	cbor_put_text(&scratch, "pong");
	cbor_put_text(&scratch, "n");
	cbor_put_uint(&scratch, seq);
	if (pad != NULL) {
		cbor_put_text(&scratch, "pad");
		cbor_put_raw(&scratch, pad, padlen);
	}
	if (scratch.failed)
		abort();
	want(want_pongs, scratch.data, scratch.len);
}

/* One authentic record's plaintext, as doc/MESH.md section 5 says. */
static void
model_record(struct peer *p, const uint8_t *r, size_t len)
{
	const uint8_t	*chunk = r + 1;
	size_t		 n = len - 1, mlen;
	bool		 more;

	if (!m.open)
		return;
	if (len == 0) {
		model_close(p, LINK_END_FAILED);	/* short record */
		return;
	}
	if (r[0] == WIRE_BATCH) {
		if (m.pending != 0 || n == 0)
			model_close(p, LINK_END_FAILED);
		while (m.open && n > 0) {
			if (n < 2 || (mlen = (size_t)chunk[0] << 8 |
			    chunk[1]) == 0 || mlen > WIRE_BATCH_MSG_MAX ||
			    mlen > n - 2) {
				model_close(p, LINK_END_FAILED);
				return;
			}
			model_message(p, chunk + 2, mlen);
			chunk += 2 + mlen;
			n -= 2 + mlen;
		}
		return;
	}
	more = r[0] == WIRE_MORE;
	if ((r[0] != 0 && !more) || (more && n != WIRE_CHUNK_MAX) ||
	    n > MAX_MESSAGE - m.pending ||
	    (more && n == MAX_MESSAGE - m.pending)) {
		model_close(p, LINK_END_FAILED);
		return;
	}
	if (!more && m.pending == 0) {
		model_message(p, chunk, n);
		return;
	}
	memcpy(reasm + m.pending, chunk, n);
	m.pending += n;
	if (more)
		return;
	mlen = m.pending;
	m.pending = 0;
	model_message(p, reasm, mlen);
}

/* A new link, accepted; the peer completes the handshake with it. */
static void
peer_start(struct peer *p)
{
	struct noise_hs	*hs;
	const uint8_t	*rs;
	int		 sv[2];
	size_t		 len;
	ssize_t		 n;

	memset(p, 0, sizeof(*p));
	memset(&m, 0, sizeof(m));
	m.open = true;
	m.ping_out = true;
	evbuffer_drain(from_link, evbuffer_get_length(from_link));
	evbuffer_drain(to_link, evbuffer_get_length(to_link));
	evbuffer_drain(want_msgs, evbuffer_get_length(want_msgs));
	evbuffer_drain(want_pongs, evbuffer_get_length(want_pongs));
	if ((hs = noise_hs_new(NOISE_XXPSK0, true, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), them_xsk, us.network_key, them_e)) ==
	    NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		abort();
	p->fd = sv[1];
	if ((p->l = link_accept(&par, sv[0], (struct sockaddr *)&accept_sa,
	    &ops, p)) == NULL)
		abort();

	/* Message 1, empty; 2 with the link's HELLO; 3 with ours. */
	if ((n = noise_hs_write(hs, NULL, 0, rec + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		abort();
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	peer_queue(p, rec, WIRE_HDR + (size_t)n, true);
	pump(p);
	if (p->down || !peer_record(rbuf, &len) ||
	    (n = noise_hs_read(hs, rbuf, len, payload, sizeof(payload))) !=
	    (ssize_t)us_hello_enc.len ||
	    memcmp(payload, us_hello_enc.data, us_hello_enc.len) != 0 ||
	    (rs = noise_hs_remote_static(hs)) == NULL ||
	    memcmp(rs, us_xpk, sizeof(us_xpk)) != 0)
		abort();
	if ((n = noise_hs_write(hs, them_hello_enc.data, them_hello_enc.len,
	    rec + WIRE_HDR, NOISE_MAX_MSG_LEN)) == -1)
		abort();
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	peer_queue(p, rec, WIRE_HDR + (size_t)n, true);
	pump(p);
	if (!p->up || p->down || !noise_hs_done(hs) ||
	    memcmp(link_hash(p->l), noise_hs_hash(hs), NOISE_HASH_LEN) != 0 ||
	    memcmp(link_remote(p->l), &them_hello, sizeof(them_hello)) != 0 ||
	    strcmp(link_name(p->l), them_name) != 0 ||
	    noise_hs_split(hs, &p->tx, &p->rx) == -1 ||
	    evbuffer_get_length(from_link) != 0)
		abort();
	noise_hs_free(hs);

	/* The owner pings the link; the peer's pong answers. */
	if (link_ping(p->l, PING_SIZE, FAR_MS, ping_cb, p) == -1)
		abort();
}

/* Waits for the link, checks it, and ends it if it closed. */
static bool
peer_wait(struct peer *p)
{
	pump(p);
	peer_check(p);
	return m.open;
}

/* Ends a link: closed by the owner, unless it closed already. */
static void
peer_end(struct peer *p)
{
	if (p->l != NULL && !p->down) {
		link_close(p->l, "done");
		model_close(p, LINK_END_HERE);
		pump(p);
		peer_check(p);
	}
	if (p->l != NULL)
		abort();
	peer_hangup(p);
	wire_reasm_free(&p->reasm);
	noise_cipher_clear(&p->tx);
	noise_cipher_clear(&p->rx);
}

/* Seals pt into rec; the record's length. */
static size_t
peer_seal(struct peer *p, size_t ptlen)
{
	ssize_t	n;

	if ((n = noise_encrypt(&p->tx, NULL, 0, pt, ptlen, rec + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		abort();
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	return WIRE_HDR + (size_t)n;
}

/* One op of the input; false once the link has closed. */
static bool
peer_op(struct peer *p, uint8_t op, size_t ptlen)
{
	size_t	len, cut, param = op >> 4;

	len = peer_seal(p, ptlen);
	switch (op & 7) {
	case OP_DROP:
		m.desync = true;
		return true;
	case OP_FLIP:
		rec[WIRE_HDR + param * (len - WIRE_HDR) / 16] ^= 0x80;
		peer_queue(p, rec, len, true);
		model_close(p, LINK_END_FAILED);
		break;
	case OP_CUT:
		if (len - WIRE_HDR > 9 + param) {
			len = WIRE_HDR + 9 + param;
			rec[0] = 0;
			rec[1] = (uint8_t)(len - WIRE_HDR);
		}
		peer_queue(p, rec, len, true);
		if (len - WIRE_HDR < ptlen + NOISE_TAG_LEN || m.desync)
			model_close(p, LINK_END_FAILED);
		else
			model_record(p, pt, ptlen);
		break;
	case OP_REPLAY:
		peer_queue(p, rec, len, true);
		if (m.desync)
			model_close(p, LINK_END_FAILED);
		model_record(p, pt, ptlen);
		peer_queue(p, rec, len, m.open);
		model_close(p, LINK_END_FAILED);
		break;
	default:
		cut = param * len / 16;
		if (cut > 0) {
			/* Half a record, which the link must wait out. */
			peer_queue(p, rec, cut, false);
			if (!peer_wait(p))
				abort();
		}
		peer_queue(p, rec + cut, len - cut, false);
		p->sent += len;
		if (m.desync)
			model_close(p, LINK_END_FAILED);
		model_record(p, pt, ptlen);
		if (m.open && (op & OP_HANGUP)) {
			if (!peer_wait(p))
				return false;
			peer_hangup(p);
			model_close(p, LINK_END_EOF);
		}
		if (!m.open || (op & OP_WAIT))
			return peer_wait(p);
		break;
	}
	if (!m.open || evbuffer_get_length(to_link) >= FLUSH_AT)
		return peer_wait(p);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer	 p;
	size_t		 len, ptlen, budget = BYTES_MAX;
	uint8_t		 op;
	bool		 open = false;
	int		 links = 0;

	init();
	while (size >= 3) {
		op = data[0];
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (len > sizeof(pt))
			len = sizeof(pt);
		memcpy(pt, data, len);
		data += len;
		size -= len;
		ptlen = len;
		if ((op & OP_FILL) && ptlen < sizeof(pt)) {
			memset(pt + ptlen, 0, sizeof(pt) - ptlen);
			ptlen = sizeof(pt);
		}
		if (budget < 64 + ptlen)
			break;
		budget -= 64 + ptlen;

		if (!open) {
			if (links++ == LINKS_MAX)
				break;
			peer_start(&p);
			open = true;
		}
		if (!peer_op(&p, op, ptlen)) {
			peer_end(&p);
			open = false;
		}
	}
	if (open) {
		(void)peer_wait(&p);
		peer_end(&p);
	}
	return 0;
}
