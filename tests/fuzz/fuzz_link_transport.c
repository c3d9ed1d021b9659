/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_transport.c: libFuzzer target for the receive path of an up
 * mesh link, through link.c's own code: reading the socket, cutting
 * records, decryption, reassembly, batches, the message envelope, pongs
 * to pings, and closing on what breaks the rules.
 *
 * The harness plays the remote node (link_peer.c) on the far end of a
 * socketpair whose other end is link_accept()ed, and runs the event loop
 * until the link has read what it was sent.  A fuzzer cannot forge
 * ciphertext, so the peer first completes a genuine Noise handshake with
 * the link (noise.c, fixed keys, its own valid HELLO), then encrypts what
 * the input says it sends.  The input is a series of
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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

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

#include "link_peer.h"

#define MAX_MESSAGE	LINK_PEER_MAX_MESSAGE	/* the link's max_message */
#define BYTES_MAX	(512u << 10)	/* plaintext bytes per input */
#define LINKS_MAX	2		/* links per input */
#define FLUSH_AT	(256u << 10)	/* bytes sent without waiting */
#define FEW_BYTES	(32u << 10)	/* pongs a close surely writes */
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
	struct link_peer	 lp;
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

static char			 them_name[128]; /* link_name() once up */
static struct evbuffer		*want_msgs, *want_pongs;
static struct cbor_buf		 scratch;
static struct model		 m;
static uint8_t			 reasm[MAX_MESSAGE];	/* the model's */
static uint8_t			 pt[1 + WIRE_CHUNK_MAX];
static uint8_t			 rec[WIRE_HDR + NOISE_MAX_MSG_LEN];

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

/* Every message but ping and pong, as the model said; "bye" closes. */
static void
link_message_cb(struct link *l, const char *type,
    const struct cbor_field *f, int nf, const uint8_t *msg, size_t len,
    void *arg)
{
	struct link_peer	*lp = arg;
	struct linkmsg		 lm;
	char			 esc[64];
	int			 i;

	if (l != lp->l || link_state(l) != LINK_UP)
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
init(void)
{
	static bool	done;
	char		idstr[NODE_ID_STRLEN];

	if (done)
		return;
	link_peer_init(link_message_cb);
	if ((want_msgs = evbuffer_new()) == NULL ||
	    (want_pongs = evbuffer_new()) == NULL)
		abort();
	base32_encode(lp_them_pk, sizeof(lp_them_pk), idstr);
	snprintf(them_name, sizeof(them_name), "them (%.12s) at %s", idstr,
	    LINK_PEER_ADDR);
	done = true;
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

/* A whole message from the link: its ping first, then our pongs. */
static void
peer_message(const uint8_t *msg, size_t len, void *arg)
{
	struct peer	*p = arg;
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

/* After a wait: what the link did must be what the model says. */
static void
peer_check(struct peer *p)
{
	bool	answered = p->ping_calls == 1 &&
		    p->ping_result == LINK_PING_ANSWERED;
	size_t	due = evbuffer_get_length(want_pongs);

	link_peer_messages(&p->lp, &p->reasm, peer_message, p);
	if (evbuffer_get_length(want_msgs) != 0)
		abort();
	if (m.open) {
		if (p->lp.down || evbuffer_get_length(want_pongs) != 0 ||
		    !p->got_ping || answered == m.ping_out ||
		    p->ping_calls != (m.ping_out ? 0 : 1))
			abort();
		return;
	}
	if (!p->lp.down || p->lp.why != m.why || p->lp.bytes_in != m.at)
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
	m.at = p->lp.sent;
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
			    chunk[1]) == 0 || mlen > WIRE_BATCH_WIDE_MAX ||
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
	struct link_peer	*lp = &p->lp;
	struct noise_hs		*hs;
	ssize_t			 n;

	memset(p, 0, sizeof(*p));
	link_peer_reset(lp);
	memset(&m, 0, sizeof(m));
	m.open = true;
	m.ping_out = true;
	evbuffer_drain(want_msgs, evbuffer_get_length(want_msgs));
	evbuffer_drain(want_pongs, evbuffer_get_length(want_pongs));
	hs = link_peer_hs(true);
	link_peer_accept(lp);

	/* Message 1, empty; 2 with the link's HELLO; 3 with ours. */
	if ((n = noise_hs_write(hs, NULL, 0, rec + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		abort();
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	link_peer_queue(lp, rec, WIRE_HDR + (size_t)n, true);
	link_peer_pump(lp);
	if (lp->down)
		abort();
	link_peer_read_hello(lp, hs);
	if ((n = noise_hs_write(hs, lp_them_hello_enc.data,
	    lp_them_hello_enc.len, rec + WIRE_HDR, NOISE_MAX_MSG_LEN)) == -1)
		abort();
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	link_peer_queue(lp, rec, WIRE_HDR + (size_t)n, true);
	link_peer_pump(lp);
	if (!lp->up || lp->down || !noise_hs_done(hs) ||
	    memcmp(link_hash(lp->l), noise_hs_hash(hs), NOISE_HASH_LEN) !=
	    0 || memcmp(link_remote(lp->l), &lp_them_hello,
	    sizeof(lp_them_hello)) != 0 ||
	    strcmp(link_name(lp->l), them_name) != 0 ||
	    noise_hs_split(hs, &lp->tx, &lp->rx) == -1 ||
	    evbuffer_get_length(lp->from_link) != 0)
		abort();
	noise_hs_free(hs);

	/* The owner pings the link; the peer's pong answers. */
	if (link_ping(lp->l, PING_SIZE, LINK_PEER_FAR_MS, ping_cb, p) == -1)
		abort();
}

/* Waits for the link, checks it, and ends it if it closed. */
static bool
peer_wait(struct peer *p)
{
	link_peer_pump(&p->lp);
	peer_check(p);
	return m.open;
}

/* Ends a link: closed by the owner, unless it closed already. */
static void
peer_end(struct peer *p)
{
	if (p->lp.l != NULL && !p->lp.down) {
		link_close(p->lp.l, "done");
		model_close(p, LINK_END_HERE);
		link_peer_pump(&p->lp);
		peer_check(p);
	}
	if (p->lp.l != NULL)
		abort();
	link_peer_close(&p->lp);
	wire_reasm_free(&p->reasm);
}

/* Seals pt into rec; the record's length. */
static size_t
peer_seal(struct peer *p, size_t ptlen)
{
	ssize_t	n;

	if ((n = noise_encrypt(&p->lp.tx, NULL, 0, pt, ptlen, rec + WIRE_HDR,
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
		link_peer_queue(&p->lp, rec, len, true);
		model_close(p, LINK_END_FAILED);
		break;
	case OP_CUT:
		if (len - WIRE_HDR > 9 + param) {
			len = WIRE_HDR + 9 + param;
			rec[0] = 0;
			rec[1] = (uint8_t)(len - WIRE_HDR);
		}
		link_peer_queue(&p->lp, rec, len, true);
		if (len - WIRE_HDR < ptlen + NOISE_TAG_LEN || m.desync)
			model_close(p, LINK_END_FAILED);
		else
			model_record(p, pt, ptlen);
		break;
	case OP_REPLAY:
		link_peer_queue(&p->lp, rec, len, true);
		if (m.desync)
			model_close(p, LINK_END_FAILED);
		model_record(p, pt, ptlen);
		link_peer_queue(&p->lp, rec, len, m.open);
		model_close(p, LINK_END_FAILED);
		break;
	default:
		cut = param * len / 16;
		if (cut > 0) {
			/* Half a record, which the link must wait out. */
			link_peer_queue(&p->lp, rec, cut, false);
			if (!peer_wait(p))
				abort();
		}
		link_peer_queue(&p->lp, rec + cut, len - cut, false);
		p->lp.sent += len;
		if (m.desync)
			model_close(p, LINK_END_FAILED);
		model_record(p, pt, ptlen);
		if (m.open && (op & OP_HANGUP)) {
			if (!peer_wait(p))
				return false;
			link_peer_hangup(&p->lp);
			model_close(p, LINK_END_EOF);
		}
		if (!m.open || (op & OP_WAIT))
			return peer_wait(p);
		break;
	}
	if (!m.open || evbuffer_get_length(p->lp.to_link) >= FLUSH_AT)
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
