/* SPDX-License-Identifier: ISC */
/*
 * fuzz_link_transport.c: libFuzzer target for the read path of a mesh
 * link once the handshake is done: record length checks, decryption,
 * wire_reasm_add() and the message envelope (the "t" type, and "n" and
 * "pad" of ping and pong), with the pong a ping asks for sealed by
 * wire_seal() and read back and checked by the sender.
 *
 * A fuzzer cannot forge ciphertext, so the harness holds the transport
 * ciphers of a genuine in-process handshake (fixed keys) and encrypts
 * what the input says a peer sends.  The input is a series of
 *
 *	[op] [2-byte big-endian length] [that many plaintext bytes]
 *
 * where the plaintext is a record's flags byte and chunk; a length past
 * the end of the input takes what is left.  op:
 *
 *	bits 0-2	4: flip one ciphertext bit; 5: deliver the record
 *			twice (a replay); 6: cut the ciphertext to 9-24
 *			bytes; 7: drop it (the sender's nonce moves on);
 *			else deliver it unchanged
 *	bit 3		pad the chunk with zeros to WIRE_CHUNK_MAX, so that
 *			multi-record messages are within reach
 *	bits 4-7	where to flip, or how much to keep when cutting
 *
 * A link closes on the first bad record; then both ends start over with
 * fresh ciphers, as a new link would.  Work per input is bounded by
 * BYTES_MAX bytes of records in either direction.
 *
 * link_transport_record() and link_put_ping() are static in link.c, so
 * their steps are repeated here with the same calls and limits, minus
 * logging; the message envelope goes through linkmsg_decode() as in
 * link_message(), and messages of other types go where
 * mesh_link_message() sends them, to log_escape().  max_message is
 * MAX_MESSAGE, small enough for the fuzzer to reach.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "log.h"
#include "noise.h"
#include "linkmsg.h"
#include "wire.h"

#define LINK_PROLOGUE	"peerd/1"	/* as in link.c */
#define LINK_FIELDS_MAX	LINKMSG_FIELDS_MAX
#define MAX_MESSAGE	(256u << 10)	/* the link's max_message */
#define BYTES_MAX	(4u << 20)	/* record bytes per input */

enum op {
	OP_FLIP = 4,
	OP_REPLAY = 5,
	OP_CUT = 6,
	OP_DROP = 7,
};
#define OP_FILL		0x08

/* Both ends of one link. */
struct pair {
	struct noise_cipher	 peer_tx, peer_rx;	/* the sender */
	struct noise_cipher	 tx, rx;		/* us, the receiver */
	struct wire_reasm	 reasm;			/* ours */
	struct wire_reasm	 peer_reasm;		/* for our pongs */
	struct cbor_buf		 out;			/* link.c's l->out */
	struct evbuffer		*outq;			/* what we send */
	bool			 closed;
	size_t			 budget;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct noise_cipher	init_i_tx, init_i_rx, init_r_tx, init_r_rx;
static uint8_t			pt[1 + WIRE_CHUNK_MAX];
static uint8_t			rec[NOISE_MAX_MSG_LEN];
static uint8_t			again[NOISE_MAX_MSG_LEN];	/* a replay */
static uint8_t			back[NOISE_MAX_MSG_LEN];	/* our pongs */

/* One genuine XXpsk0 handshake; its ciphers start every link. */
static void
init(void)
{
	static bool		 done;
	struct noise_hs		*i, *r, *w, *rd;
	uint8_t			 is[NOISE_KEY_LEN], rs[NOISE_KEY_LEN];
	uint8_t			 ie[NOISE_KEY_LEN], re[NOISE_KEY_LEN];
	uint8_t			 psk[NOISE_PSK_LEN];
	uint8_t			 msg[256], payload[256];
	ssize_t			 n;
	int			 k;

	if (done)
		return;
	memset(is, 0x01, sizeof(is));
	memset(rs, 0x02, sizeof(rs));
	memset(psk, 0x03, sizeof(psk));
	memset(ie, 0x04, sizeof(ie));
	memset(re, 0x05, sizeof(re));
	i = noise_hs_new(NOISE_XXPSK0, true, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), is, psk, ie);
	r = noise_hs_new(NOISE_XXPSK0, false, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), rs, psk, re);
	if (i == NULL || r == NULL)
		abort();
	for (k = 0; k < 3; k++) {
		w = k % 2 ? r : i;
		rd = k % 2 ? i : r;
		if ((n = noise_hs_write(w, NULL, 0, msg, sizeof(msg))) == -1 ||
		    noise_hs_read(rd, msg, (size_t)n, payload,
		    sizeof(payload)) != 0)
			abort();
	}
	if (noise_hs_split(i, &init_i_tx, &init_i_rx) == -1 ||
	    noise_hs_split(r, &init_r_tx, &init_r_rx) == -1)
		abort();
	noise_hs_free(i);
	noise_hs_free(r);
	done = true;
}

/* A new link between the two ends. */
static void
pair_reset(struct pair *p)
{
	p->peer_tx = init_i_tx;
	p->peer_rx = init_i_rx;
	p->tx = init_r_tx;
	p->rx = init_r_rx;
	wire_reasm_free(&p->reasm);
	wire_reasm_free(&p->peer_reasm);
	cbor_buf_reset(&p->out);
	if (evbuffer_drain(p->outq, evbuffer_get_length(p->outq)) == -1)
		abort();
	p->closed = false;
}

static bool
spend(struct pair *p, size_t n)
{
	if (p->budget < n)
		return false;
	p->budget -= n;
	return true;
}

/*
 * The sender reads our pong back and checks it echoes the ping: type,
 * sequence number and the raw pad item, within the sender's own
 * max_message (a pong the peer refuses would close the link).
 */
static void
peer_read_pong(struct pair *p, uint64_t seq, const uint8_t *pad,
    size_t padlen, bool has_pad)
{
	struct cbor_field	 f[LINK_FIELDS_MAX];
	const struct cbor_field	*t, *n, *pd;
	const uint8_t		*msg = NULL, *b;
	const char		*why, *type;
	size_t			 len, mlen = 0, tlen;
	uint64_t		 v;
	ssize_t			 dn;
	int			 r = 0, nf, msgs = 0;

	while (evbuffer_get_length(p->outq) >= WIRE_HDR) {
		b = evbuffer_pullup(p->outq, WIRE_HDR);
		len = (size_t)b[0] << 8 | b[1];
		if ((b = evbuffer_pullup(p->outq,
		    (ssize_t)(WIRE_HDR + len))) == NULL)
			abort();
		memcpy(back, b + WIRE_HDR, len);
		evbuffer_drain(p->outq, WIRE_HDR + len);
		(void)spend(p, len);
		if (len < WIRE_RECORD_MIN ||
		    (dn = noise_decrypt(&p->peer_rx, NULL, 0, back, len,
		    back, len)) == -1)
			abort();
		r = wire_reasm_add(&p->peer_reasm, back, (size_t)dn,
		    MAX_MESSAGE, &msg, &mlen, &why);
		if (r == -1 || (r == 1 && evbuffer_get_length(p->outq) > 0))
			abort();
		msgs += r;
	}
	if (msgs != 1 || r != 1)
		abort();

	nf = cbor_scan_map(msg, mlen, f, LINK_FIELDS_MAX);
	if (nf != (has_pad ? 3 : 2) ||
	    (t = cbor_field_get(f, nf, "t")) == NULL ||
	    !cbor_read_text(t->val, t->vallen, &type, &tlen) ||
	    tlen != 4 || memcmp(type, "pong", 4) != 0 ||
	    (n = cbor_field_get(f, nf, "n")) == NULL ||
	    !cbor_read_uint(n->val, n->vallen, &v) || v != seq)
		abort();
	if (has_pad && ((pd = cbor_field_get(f, nf, "pad")) == NULL ||
	    pd->vallen != padlen || memcmp(pd->val, pad, padlen) != 0))
		abort();
}

/* link_put_ping() and link_send(), for the pong; false if it closed. */
static bool
put_pong(struct pair *p, uint64_t seq, const uint8_t *pad, size_t padlen,
    bool raw_pad)
{
	cbor_buf_reset(&p->out);
	cbor_put_map(&p->out, padlen > 0 || raw_pad ? 3 : 2);
	cbor_put_text(&p->out, "t");
	cbor_put_text(&p->out, "pong");
	cbor_put_text(&p->out, "n");
	cbor_put_uint(&p->out, seq);
	if (raw_pad) {
		/* An echoed pad goes back as the bytes it came in. */
		cbor_put_text(&p->out, "pad");
		cbor_put_raw(&p->out, pad, padlen);
	} else if (padlen > 0) {
		cbor_put_text(&p->out, "pad");
		cbor_put_bytes(&p->out, pad, padlen);
	}
	if (p->out.failed)
		return true;	/* link.c ignores it: no pong */
	if (wire_seal(&p->tx, p->out.data, p->out.len, p->outq) == -1)
		return false;
	/* Copied out: pad may point into our reassembly buffer. */
	peer_read_pong(p, seq, pad, padlen, raw_pad);
	return true;
}

/* link_message(): one whole message; false if the link closed. */
static bool
link_message(struct pair *p, const uint8_t *msg, size_t len)
{
	struct linkmsg	 m;
	const uint8_t	*pad;
	size_t		 padlen;
	uint64_t	 seq;
	char		 esc[64];

	if (linkmsg_decode(msg, len, &m) == -1)
		return false;		/* "malformed message" */
	if (m.nf > LINKMSG_FIELDS_MAX || strlen(m.type) > LINKMSG_TYPE_MAX)
		abort();
	if (strcmp(m.type, "ping") == 0 || strcmp(m.type, "pong") == 0) {
		if (linkmsg_ping(&m, &seq, &pad, &padlen) == -1)
			return false;	/* "malformed ping" */
		if (m.type[1] == 'o')
			return true;	/* link_pong(): bookkeeping only */
		return put_pong(p, seq, pad, padlen, pad != NULL);
	}
	/* mesh_link_message(): logged and skipped. */
	(void)log_escape(m.type, strlen(m.type), esc, sizeof(esc));
	if (strnlen(esc, sizeof(esc)) == sizeof(esc))
		abort();
	return true;
}

/* link_transport_record(): one record, decrypted in place. */
static bool
transport_record(struct pair *p, uint8_t *r, size_t len)
{
	const uint8_t	*msg;
	const char	*why;
	size_t		 mlen;
	ssize_t		 n;
	int		 res;

	if (len < WIRE_RECORD_MIN)
		return false;		/* "short record" */
	if ((n = noise_decrypt(&p->rx, NULL, 0, r, len, r, len)) == -1)
		return false;		/* "bad record" */
	if ((size_t)n != len - NOISE_TAG_LEN)
		abort();
	res = wire_reasm_add(&p->reasm, r, (size_t)n, MAX_MESSAGE, &msg,
	    &mlen, &why);
	if (res == -1)
		return false;
	if (p->reasm.len > MAX_MESSAGE || p->reasm.cap > MAX_MESSAGE)
		abort();
	if (res == 1) {
		if (mlen > MAX_MESSAGE)
			abort();
		return link_message(p, msg, mlen);
	}
	return true;
}

static void
deliver(struct pair *p, uint8_t *r, size_t len)
{
	if (!transport_record(p, r, len))
		p->closed = true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pair	 p;
	size_t		 len, ptlen, ctlen, param;
	ssize_t		 n;
	uint8_t		 op;

	init();
	memset(&p, 0, sizeof(p));
	if ((p.outq = evbuffer_new()) == NULL)
		abort();
	p.budget = BYTES_MAX;
	pair_reset(&p);

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
		if (!spend(&p, 64 + 2 * ptlen))
			break;

		if (p.closed)
			pair_reset(&p);
		if ((n = noise_encrypt(&p.peer_tx, NULL, 0, pt, ptlen, rec,
		    sizeof(rec))) == -1)
			abort();
		ctlen = (size_t)n;
		param = op >> 4;
		switch (op & 7) {
		case OP_FLIP:
			rec[param * ctlen / 16] ^= 0x80;
			deliver(&p, rec, ctlen);
			break;
		case OP_REPLAY:
			memcpy(again, rec, ctlen);
			deliver(&p, rec, ctlen);
			if (!p.closed)
				deliver(&p, again, ctlen);
			if (!p.closed)
				abort();	/* a replay must not pass */
			break;
		case OP_CUT:
			if (ctlen > 9 + param)
				ctlen = 9 + param;
			deliver(&p, rec, ctlen);
			break;
		case OP_DROP:
			break;
		default:
			deliver(&p, rec, ctlen);
			break;
		}
	}

	wire_reasm_free(&p.reasm);
	wire_reasm_free(&p.peer_reasm);
	cbor_buf_free(&p.out);
	evbuffer_free(p.outq);
	noise_cipher_clear(&p.peer_tx);
	noise_cipher_clear(&p.peer_rx);
	noise_cipher_clear(&p.tx);
	noise_cipher_clear(&p.rx);
	return 0;
}
