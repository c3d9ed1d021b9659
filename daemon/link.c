/* SPDX-License-Identifier: ISC */
/*
 * link.c: one authenticated connection to one peer: the Noise XXpsk0
 * handshake carrying HELLO, transport records, keep-alive pings with
 * round-trip times, and the link's limits.  Owns the fd, the
 * bufferevent and the session keys.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <sodium.h>

#include "addr.h"
#include "clock.h"
#include "duration.h"
#include "link.h"
#include "linkmsg.h"
#include "log.h"
#include "netkeys.h"
#include "noise.h"
#include "wire.h"

#define LINK_PROLOGUE		"peerd/1"
#define LINK_RECORDS_PER_WAKE	64	/* then yield to other links */
#define LINK_MSGS_PER_WAKE	1024	/* or after the record passing this */
#define LINK_SEAL_PART		(4 * WIRE_CHUNK_MAX) /* written as sealed */
#define LINK_READ_HIGH		(256u << 10)	/* input buffered at most */
#define LINK_READ_MAX		(256u << 10)	/* bytes one read may take */
#define LINK_READ_MIN		(16u << 10)	/* and at least asks for */
#define LINK_WRITE_MAX		(256u << 10)	/* bytes one write may give */
#define LINK_PINGS_MAX		64	/* user pings outstanding */
#define LINK_KEEPALIVE_SLOTS	8	/* keep-alive pings remembered */
#define LINK_QUIET_MIN_MS	200	/* a pong this late: the peer is quiet */
#define LINK_QUIET_RTTS		4	/* or this many round trips, if more */
#define LINK_STALL_MS		200	/* a tick this late: our loop stalled */
/*
 * The notice to a peer on a retired network key, in place of message 2:
 * one byte, "key changed", sealed under a key exported from message 1.
 */
#define LINK_STALE_LABEL	"peerd/1 stale"
#define LINK_STALE_CHANGED	0x01
#define LINK_STALE_LEN		(1 + crypto_aead_chacha20poly1305_ietf_ABYTES)
_Static_assert(NETKEYS_MAX <= NOISE_PSK_CANDIDATES,
    "an answer tries every key the node holds");

struct link_ping {
	TAILQ_ENTRY(link_ping)	 entry;
	struct link		*l;
	struct event		*timer;		/* its deadline */
	uint64_t		 seq;
	int64_t			 sent_us;
	link_ping_fn		*fn;
	void			*arg;
};
TAILQ_HEAD(link_pings, link_ping);

struct link {
	const struct link_params *par;
	const struct link_ops	*ops;
	void			*arg;
	struct bufferevent	*bev;		/* connect and writes */
	struct event		*rd;		/* reads: see link_readable */
	struct evbuffer		*in;
	size_t			 read_size;	/* grows with the traffic */
	struct event		*timer;		/* handshake deadline, then ticks */
	struct event		*reaper;	/* frees a closed link */
	struct event		*start;		/* begins an outbound connect */
	enum link_state		 state;
	bool			 outbound;
	char			 addr[HOST_MAX + 8];
	char			 name[NODE_NAME_MAX + HOST_MAX + 32];

	struct noise_hs		*hs;		/* an answer's: from message 1 */
	bool			 hs_heard;	/* a valid message came */
	uint64_t		 psk_gen;	/* of the network key used */
	bool			 psk_prev;	/* the previous one, in a grace */
	bool			 psk_retried;	/* dialing: the previous one tried */
	bool			 revoked;	/* its HELLO names a revoked node */
	uint64_t		 hs_limit_ms;	/* a probe's, else 0 */
	struct noise_cipher	 tx, rx;
	struct hello		 remote;
	uint8_t			 hash[NOISE_HASH_LEN];	/* same at both ends */
	char			 idstr[NODE_ID_STRLEN];
	struct wire_reasm	 reasm;
	struct cbor_buf		 out;		/* scratch for messages */
	uint8_t			*batch;		/* small messages to seal */
	size_t			 batchlen;
	struct evbuffer		*pending;	/* sealed this turn: link_flush */
	struct event		*flush;		/* seals them after this turn */

	int64_t			 up_ms;
	int64_t			 used_ms;	/* last call message sent */
	/* Microseconds: a pong on loopback comes within one millisecond. */
	int64_t			 last_rx_us;
	int64_t			 ping_us;	/* last keep-alive ping sent */
	int64_t			 quiet_us;	/* unanswered till then: quiet */
	int64_t			 due_us;	/* when the tick should run */
	bool			 quiet;		/* reported, no traffic since */
	uint64_t		 bytes_in, bytes_out, msgs_in, msgs_out;
	int64_t			 rtt_last_us, rtt_avg_us, rtt_min_us;

	uint64_t		 seq;		/* last ping sequence number */
	struct {
		uint64_t	 seq;
		int64_t		 sent_us;
	}			 keepalive[LINK_KEEPALIVE_SLOTS];
	struct link_pings	 pings;
	int			 npings;
};

static int	link_flush(struct link *);
static void	link_flush_cb(evutil_socket_t, short, void *);
static void	link_tick(evutil_socket_t, short, void *);
static int	link_arm(struct link *, int64_t);
static void	link_read_waiting(struct link *);
static void	link_start(evutil_socket_t, short, void *);
static void	link_event_cb(struct bufferevent *, short, void *);

static void
link_reap(evutil_socket_t fd, short what, void *arg)
{
	struct link	*l = arg;

	(void)fd; (void)what;
	event_free(l->reaper);
	evbuffer_free(l->in);
	wire_reasm_free(&l->reasm);
	free(l);
}

/* Forgets a user ping; its callback is the caller's business. */
static void
ping_free(struct link_ping *p)
{
	TAILQ_REMOVE(&p->l->pings, p, entry);
	p->l->npings--;
	event_free(p->timer);
	free(p);
}

static void
pings_fail(struct link *l, const char *why)
{
	struct link_ping	*p;
	link_ping_fn		*fn;
	void			*arg;

	while ((p = TAILQ_FIRST(&l->pings)) != NULL) {
		fn = p->fn;
		arg = p->arg;
		ping_free(p);
		fn(LINK_PING_CLOSED, -1, why, arg);
	}
}

/* A pong that waits unread, after a stall of ours, is not late. */
static void
ping_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct link_ping	*p = arg;
	struct link		*l = p->l;
	link_ping_fn		*fn;
	void			*parg;
	uint64_t		 seq = p->seq;

	(void)fd; (void)what;
	link_read_waiting(l);
	TAILQ_FOREACH(p, &l->pings, entry)
		if (p->seq == seq)
			break;
	if (p == NULL)
		return;		/* answered, or the link closed */
	fn = p->fn;
	parg = p->arg;
	ping_free(p);
	fn(LINK_PING_TIMEOUT, -1, "no pong before the deadline", parg);
}

/* Ends the link; see link_close. */
static void
link_stop(struct link *l, enum link_end why, const char *reason)
{
	if (l->state == LINK_CLOSED)
		return;
	if (l->state == LINK_UP)
		(void)link_flush(l);	/* a bye, say */
	l->state = LINK_CLOSED;
	pings_fail(l, reason);
	l->ops->down(l, why, reason, l->arg);
	if (l->rd != NULL)
		event_free(l->rd);
	l->rd = NULL;
	if (l->bev != NULL) {
		/*
		 * Push out what is queued (a bye, say), without waiting.  The
		 * bufferevent keeps its output's front frozen; it is about
		 * to go, so thaw it for this last write.
		 */
		if (bufferevent_getfd(l->bev) != -1) {
			(void)evbuffer_unfreeze(bufferevent_get_output(l->bev),
			    1);
			(void)evbuffer_write(bufferevent_get_output(l->bev),
			    bufferevent_getfd(l->bev));
		}
		bufferevent_free(l->bev);
	}
	l->bev = NULL;
	if (l->timer != NULL)
		event_free(l->timer);
	l->timer = NULL;
	if (l->start != NULL)
		event_free(l->start);
	l->start = NULL;
	noise_hs_free(l->hs);
	l->hs = NULL;
	noise_cipher_clear(&l->tx);
	noise_cipher_clear(&l->rx);
	cbor_buf_free(&l->out);
	free(l->batch);
	l->batch = NULL;
	if (l->pending != NULL)
		evbuffer_free(l->pending);
	l->pending = NULL;
	if (l->flush != NULL)
		event_free(l->flush);
	l->flush = NULL;
	/*
	 * Callers up the stack may still hold l, and read the message they
	 * were handed: l and its input buffers go from the loop.
	 */
	event_active(l->reaper, EV_TIMEOUT, 1);
}

void
link_close(struct link *l, const char *reason)
{
	link_stop(l, LINK_END_HERE, reason);
}

static void
link_set_name(struct link *l)
{
	if (l->state == LINK_UP)
		snprintf(l->name, sizeof(l->name), "%s (%.12s) at %s",
		    l->remote.name, l->idstr, l->addr);
	else
		snprintf(l->name, sizeof(l->name), "%s", l->addr);
}

/* Appends a handshake message as one record. */
static int
link_write_hs(struct link *l, const uint8_t *payload, size_t plen)
{
	uint8_t	rec[WIRE_HDR + NOISE_MAX_MSG_LEN];
	ssize_t	n;

	if ((n = noise_hs_write(l->hs, payload, plen, rec + WIRE_HDR,
	    NOISE_MAX_MSG_LEN)) == -1)
		return -1;
	rec[0] = (uint8_t)(n >> 8);
	rec[1] = (uint8_t)n;
	l->bytes_out += WIRE_HDR + (size_t)n;
	return bufferevent_write(l->bev, rec, WIRE_HDR + (size_t)n);
}

/* Our HELLO, encoded into l->out. */
static void
link_hello(struct link *l)
{
	cbor_buf_reset(&l->out);
	hello_encode(l->par->hello, &l->out);
}

static void	link_tick(evutil_socket_t, short, void *);

/*
 * Checks the peer's HELLO against the static key that the handshake
 * authenticated: the node ID must be the Ed25519 key it came from.
 */
static int
link_check_hello(struct link *l, const uint8_t *buf, size_t len)
{
	uint8_t		 x[crypto_scalarmult_curve25519_BYTES];
	const uint8_t	*rs;
	const char	*why;

	if (hello_decode(buf, len, &l->remote, &why) == -1) {
		log_warnx("link %s: %s, closing", l->addr, why);
		return -1;
	}
	rs = noise_hs_remote_static(l->hs);
	if (rs == NULL ||
	    crypto_sign_ed25519_pk_to_curve25519(x, l->remote.id) != 0 ||
	    sodium_memcmp(x, rs, sizeof(x)) != 0) {
		log_warnx("link %s: HELLO id does not match the handshake "
		    "key, closing", l->addr);
		return -1;
	}
	base32_encode(l->remote.id, sizeof(l->remote.id), l->idstr);
	/* Before message 3 for the initiator: a revoked node learns nothing. */
	if (l->par->is_revoked != NULL &&
	    l->par->is_revoked(l->par->revoked_arg, l->remote.id)) {
		l->revoked = true;
		return -1;
	}
	return 0;
}

static void
link_refuse_hello(struct link *l)
{
	if (l->revoked)
		link_stop(l, LINK_END_REVOKED, "handshake failed: revoked node");
	else
		link_stop(l, LINK_END_FAILED, "bad HELLO");
}

/* The handshake is complete: switch to transport and start ticking. */
static void
link_up(struct link *l)
{
	memcpy(l->hash, noise_hs_hash(l->hs), sizeof(l->hash));
	if (noise_hs_split(l->hs, &l->tx, &l->rx) == -1) {
		link_stop(l, LINK_END_FAILED, "handshake split failed");
		return;
	}
	noise_hs_free(l->hs);
	l->hs = NULL;
	l->state = LINK_UP;
	l->ping_us = l->last_rx_us = clock_us();
	l->up_ms = l->last_rx_us / 1000;
	link_set_name(l);
	event_free(l->timer);
	if ((l->timer = evtimer_new(l->par->base, link_tick, l)) == NULL ||
	    link_arm(l, l->ping_us) == -1) {
		link_stop(l, LINK_END_FAILED, "cannot start keep-alive timer");
		return;
	}
	l->ops->up(l, l->arg);
}

/*
 * The notice sealed under the handshake's export: the same key at both
 * ends once message 1 is through, which only a holder of its psk has.
 */
static int
link_stale_key(const struct link *l, uint8_t k[NOISE_KEY_LEN])
{
	return noise_hs_export(l->hs, LINK_STALE_LABEL, k);
}

/*
 * Answering, message 1 came under a retired key: the notice in place of
 * message 2, then the link closes.
 */
static void
link_send_stale(struct link *l, uint64_t gen)
{
	static const uint8_t	nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	uint8_t			rec[WIRE_HDR + LINK_STALE_LEN], k[NOISE_KEY_LEN];
	uint8_t			changed = LINK_STALE_CHANGED;
	char			reason[128];

	if (link_stale_key(l, k) == 0) {
		crypto_aead_chacha20poly1305_ietf_encrypt(rec + WIRE_HDR, NULL,
		    &changed, 1, NULL, 0, NULL, nonce, k);
		rec[0] = 0;
		rec[1] = LINK_STALE_LEN;
		l->bytes_out += sizeof(rec);
		(void)bufferevent_write(l->bev, rec, sizeof(rec));
	}
	sodium_memzero(k, sizeof(k));
	snprintf(reason, sizeof(reason), "handshake failed: the peer uses "
	    "a retired network key (generation %" PRIu64 "), told so", gen);
	link_stop(l, LINK_END_STALE_KEY, reason);
}

/*
 * Dialing, a record of the notice's length in place of message 2:
 * whether it is the notice, under our own handshake's export.
 */
static bool
link_is_stale(struct link *l, const uint8_t *msg, size_t len)
{
	static const uint8_t	nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	uint8_t			k[NOISE_KEY_LEN], what = 0;
	bool			stale = false;

	if (len != LINK_STALE_LEN || link_stale_key(l, k) == -1)
		return false;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(&what, NULL, NULL, msg,
	    len, NULL, 0, nonce, k) == 0 && what == LINK_STALE_CHANGED)
		stale = true;
	sodium_memzero(k, sizeof(k));
	return stale;
}

/*
 * Answering, message 1: tried under each key we hold, the current one
 * first; the first that reads it makes the handshake.  -1 if none does,
 * or the link closed (a retired key's notice).
 */
static ssize_t
link_read_first(struct link *l, const uint8_t *msg, size_t len,
    uint8_t *payload, size_t cap)
{
	uint8_t			keys[NETKEYS_MAX][NETWORK_KEY_LEN];
	enum netkey_kind	kinds[NETKEYS_MAX];
	uint64_t		gens[NETKEYS_MAX];
	size_t			n, plen = 0;
	int			i;

	n = netkeys_candidates(l->par->keys, l->par->id,
	    (int64_t)clock_wall_ms(), keys, kinds, gens, NETKEYS_MAX);
	i = noise_hs_read_first(&l->hs, NOISE_XXPSK0, LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), l->par->id->x_sk,
	    (const uint8_t (*)[NOISE_PSK_LEN])keys, n, msg, len, payload, cap,
	    &plen);
	sodium_memzero(keys, sizeof(keys));
	if (i < 0)
		return -1;
	l->psk_gen = gens[i];
	l->psk_prev = kinds[i] == NETKEY_PREVIOUS;
	if (kinds[i] == NETKEY_RETIRED) {
		link_send_stale(l, gens[i]);
		return -1;
	}
	return (ssize_t)plen;
}

/* One handshake record from the peer. */
static void
link_handshake_record(struct link *l, const uint8_t *msg, size_t len)
{
	static uint8_t	payload[NOISE_MAX_MSG_LEN];
	char		reason[HOST_MAX + 200];
	ssize_t		n;

	if (l->outbound && !l->hs_heard && link_is_stale(l, msg, len)) {
		snprintf(reason, sizeof(reason), "network key changed: %s "
		    "refuses our network key (generation %" PRIu64 "); rejoin "
		    "with a new token (peerctl join TOKEN)", l->addr,
		    l->psk_gen);
		link_stop(l, LINK_END_STALE_KEY, reason);
		return;
	}
	if (l->hs == NULL)
		n = link_read_first(l, msg, len, payload, sizeof(payload));
	else
		n = noise_hs_read(l->hs, msg, len, payload, sizeof(payload));
	if (l->state == LINK_CLOSED)
		return;
	if (n == -1) {
		/* Most often: the other side has another network key. */
		link_stop(l, LINK_END_HANDSHAKE, "handshake failed: a "
		    "handshake message does not decrypt (a different network "
		    "key, or not peerd)");
		return;
	}
	l->hs_heard = true;
	if (l->outbound) {
		/* We read message 2: the responder's HELLO; send ours. */
		if (link_check_hello(l, payload, (size_t)n) == -1) {
			link_refuse_hello(l);
			return;
		}
		link_hello(l);
		if (l->out.failed ||
		    link_write_hs(l, l->out.data, l->out.len) == -1) {
			link_stop(l, LINK_END_FAILED, "cannot write handshake");
			return;
		}
		link_up(l);
		return;
	}
	if (!noise_hs_done(l->hs)) {
		/* We read message 1 (empty): answer with our HELLO. */
		if (n != 0) {
			log_warnx("link %s: handshake message 1 carries a "
			    "payload, closing", l->addr);
			link_stop(l, LINK_END_FAILED, "unexpected handshake payload");
			return;
		}
		link_hello(l);
		if (l->out.failed ||
		    link_write_hs(l, l->out.data, l->out.len) == -1) {
			link_stop(l, LINK_END_FAILED, "cannot write handshake");
			return;
		}
		return;
	}
	/* We read message 3: the initiator's HELLO. */
	if (link_check_hello(l, payload, (size_t)n) == -1) {
		link_refuse_hello(l);
		return;
	}
	link_up(l);
}

static int
link_put_ping(struct link *l, const char *type, uint64_t seq,
    const uint8_t *pad, size_t padlen, bool raw_pad)
{
	cbor_buf_reset(&l->out);
	cbor_put_map(&l->out, padlen > 0 || raw_pad ? 3 : 2);
	cbor_put_text(&l->out, "t");
	cbor_put_text(&l->out, type);
	cbor_put_text(&l->out, "n");
	cbor_put_uint(&l->out, seq);
	if (raw_pad) {
		/* An echoed pad goes back as the bytes it came in. */
		cbor_put_text(&l->out, "pad");
		cbor_put_raw(&l->out, pad, padlen);
	} else if (padlen > 0) {
		cbor_put_text(&l->out, "pad");
		cbor_put_bytes(&l->out, pad, padlen);
	}
	if (l->out.failed)
		return -1;
	return link_send(l, l->out.data, l->out.len);
}

static void
link_rtt(struct link *l, int64_t rtt)
{
	l->rtt_last_us = rtt;
	if (l->rtt_min_us < 0 || rtt < l->rtt_min_us)
		l->rtt_min_us = rtt;
	/* EWMA with weight 1/8, as TCP's SRTT. */
	l->rtt_avg_us = l->rtt_avg_us < 0 ? rtt :
	    l->rtt_avg_us + (rtt - l->rtt_avg_us) / 8;
}

static void
link_pong(struct link *l, uint64_t seq)
{
	struct link_ping	*p;
	link_ping_fn		*fn;
	void			*arg;
	int64_t			 now = clock_us();
	int			 slot = (int)(seq % LINK_KEEPALIVE_SLOTS);

	/* Only keep-alive pings, all alike, shape the link's RTT. */
	if (l->keepalive[slot].seq == seq && l->keepalive[slot].sent_us > 0) {
		link_rtt(l, now - l->keepalive[slot].sent_us);
		l->keepalive[slot].sent_us = 0;
		/* No quiet check is due now: the tick waits for the ping. */
		if (l->seq == seq && link_arm(l, now) == -1)
			link_stop(l, LINK_END_FAILED, "cannot set keep-alive "
			    "timer");
		return;
	}
	TAILQ_FOREACH(p, &l->pings, entry)
		if (p->seq == seq)
			break;
	if (p == NULL)
		return;		/* late, after its timeout */
	fn = p->fn;
	arg = p->arg;
	now -= p->sent_us;
	ping_free(p);
	fn(LINK_PING_ANSWERED, now, NULL, arg);
}

/* One whole message from the peer. */
static void
link_message(struct link *l, const uint8_t *msg, size_t len)
{
	struct linkmsg	 m;
	const uint8_t	*pad;
	size_t		 padlen;
	uint64_t	 seq;

	l->msgs_in++;
	if (linkmsg_decode(msg, len, &m) == -1) {
		log_warnx("link %s: malformed message, closing", l->name);
		link_stop(l, LINK_END_FAILED, "malformed message");
		return;
	}
	if (strcmp(m.type, "ping") == 0 || strcmp(m.type, "pong") == 0) {
		if (linkmsg_ping(&m, &seq, &pad, &padlen) == -1) {
			log_warnx("link %s: %s without a sequence number, "
			    "closing", l->name, m.type);
			link_stop(l, LINK_END_FAILED, "malformed ping");
			return;
		}
		if (m.type[1] == 'o')
			link_pong(l, seq);
		else
			(void)link_put_ping(l, "pong", seq, pad, padlen,
			    pad != NULL);
		return;
	}
	l->ops->message(l, m.type, m.f, m.nf, msg, len, l->arg);
}

/*
 * The messages of a batch record, until one of them closes the link.
 * Returns how many it handled.
 */
static size_t
link_batch(struct link *l, const uint8_t *p, size_t left)
{
	const uint8_t	*msg;
	const char	*why = "empty batch";
	size_t		 mlen, done = 0;
	int		 r = -1;

	/* Between the chunks of a split message, or empty: refused. */
	if (l->reasm.len == 0 && left > 0)
		while ((r = wire_batch_next(&p, &left, &msg, &mlen,
		    WIRE_BATCH_WIDE_MAX, &why)) == 1) {
			link_message(l, msg, mlen);
			done++;
			if (l->state != LINK_UP)
				return done;
		}
	if (r == -1) {
		if (l->reasm.len != 0)
			why = "batch inside a split message";
		log_warnx("link %s: %s, closing", l->name, why);
		link_stop(l, LINK_END_FAILED, why);
	}
	return done;
}

/*
 * One transport record from the peer, decrypted in place.  Returns how
 * many whole messages it completed.
 */
static size_t
link_transport_record(struct link *l, uint8_t *rec, size_t len)
{
	const uint8_t	*msg;
	const char	*why;
	size_t		 mlen;
	ssize_t		 n;
	int		 r;

	if (len < WIRE_RECORD_MIN) {
		log_warnx("link %s: record of %zu bytes, closing", l->name, len);
		link_stop(l, LINK_END_FAILED, "short record");
		return 0;
	}
	if ((n = noise_decrypt(&l->rx, NULL, 0, rec, len, rec, len)) == -1) {
		log_warnx("link %s: record fails authentication, closing",
		    l->name);
		link_stop(l, LINK_END_FAILED, "bad record");
		return 0;
	}
	if (rec[0] == WIRE_BATCH)
		return link_batch(l, rec + 1, (size_t)n - 1);
	r = wire_reasm_add(&l->reasm, rec, (size_t)n, l->par->max_message,
	    &msg, &mlen, &why);
	if (r == -1) {
		log_warnx("link %s: %s, closing", l->name, why);
		link_stop(l, LINK_END_FAILED, why);
		return 0;
	}
	if (r == 1)
		link_message(l, msg, mlen);
	return (size_t)r;
}

/* Handles the whole records in l->in, a bounded number per call. */
static void
link_process(struct link *l)
{
	uint8_t		*p;
	size_t		 avail, len, msgs = 0;
	int		 i;

	/* Batches count by their messages: a record may hold thousands. */
	for (i = 0; i < LINK_RECORDS_PER_WAKE && msgs < LINK_MSGS_PER_WAKE;
	    i++) {
		avail = evbuffer_get_length(l->in);
		if (avail < WIRE_HDR)
			return;
		p = evbuffer_pullup(l->in, WIRE_HDR);
		len = (size_t)p[0] << 8 | p[1];
		if (avail < WIRE_HDR + len)
			return;
		if ((p = evbuffer_pullup(l->in, (ssize_t)(WIRE_HDR + len))) ==
		    NULL) {
			link_stop(l, LINK_END_FAILED, "out of memory");
			return;
		}
		l->bytes_in += WIRE_HDR + len;
		if (l->state == LINK_HANDSHAKE)
			link_handshake_record(l, p + WIRE_HDR, len);
		else
			msgs += link_transport_record(l, p + WIRE_HDR, len);
		if (l->state == LINK_CLOSED)
			return;
		evbuffer_drain(l->in, WIRE_HDR + len);
	}
	/* More may be buffered: come back after the other links. */
	event_active(l->rd, EV_READ, 1);
}

/* Refused or reset: nothing listens there, or the process went away. */
static enum link_end
end_of_errno(int e)
{
	/*
	 * Only a refused connect says that nothing listens: a reset can
	 * come from a live node that cut our handshake short to make room
	 * for others (max_handshakes), or from a peer's crash, which a
	 * probe dial then finds refused.
	 */
	return e == ECONNREFUSED ? LINK_END_REFUSED : LINK_END_FAILED;
}

/* The connection ended under us: one log line, and the link closes. */
static void
link_lost(struct link *l, enum link_end why, const char *reason)
{
	char	copy[160];

	/* reason may be strerror's buffer, which logging can reuse. */
	snprintf(copy, sizeof(copy), "%s", reason);
	if (l->state == LINK_UP)
		log_info("link %s: %s", l->name, copy);
	else
		log_info("link %s: %s before the handshake finished", l->addr,
		    copy);
	link_stop(l, why, copy);
}

/*
 * Dialing during a rotation's grace, the peer closed on message 1: it
 * may not have the new key yet.  Dials again, once, with the previous
 * one.  -1 if there is none, it was tried, or the dial cannot start.
 */
static int
link_retry_prev(struct link *l)
{
	uint8_t			 keys[NETKEYS_MAX][NETWORK_KEY_LEN];
	enum netkey_kind	 kinds[NETKEYS_MAX];
	uint64_t		 gens[NETKEYS_MAX];
	struct noise_hs		*hs = NULL;
	struct bufferevent	*bev = NULL;
	struct event		*start = NULL;
	size_t			 n, i;

	if (l->psk_retried || l->par->keys == NULL)
		return -1;
	n = netkeys_candidates(l->par->keys, l->par->id,
	    (int64_t)clock_wall_ms(), keys, kinds, gens, NETKEYS_MAX);
	for (i = 0; i < n; i++)
		if (kinds[i] == NETKEY_PREVIOUS)
			break;
	if (i < n) {
		l->psk_retried = true;
		hs = noise_hs_new(NOISE_XXPSK0, true, LINK_PROLOGUE,
		    strlen(LINK_PROLOGUE), l->par->id->x_sk, keys[i], NULL);
		bev = bufferevent_socket_new(l->par->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		start = event_new(l->par->base, -1, 0, link_start, l);
	}
	sodium_memzero(keys, sizeof(keys));
	if (hs == NULL || bev == NULL || start == NULL) {
		noise_hs_free(hs);
		if (bev != NULL)
			bufferevent_free(bev);
		if (start != NULL)
			event_free(start);
		return -1;
	}
	log_info("link %s: closed during the handshake; dialing again with "
	    "the previous network key (generation %" PRIu64 ")", l->addr,
	    gens[i]);
	if (l->rd != NULL)
		event_free(l->rd);
	l->rd = NULL;
	bufferevent_free(l->bev);
	l->bev = bev;
	bufferevent_set_max_single_write(l->bev, LINK_WRITE_MAX);
	bufferevent_setcb(l->bev, NULL, NULL, link_event_cb, l);
	bufferevent_enable(l->bev, EV_WRITE);
	(void)evbuffer_drain(l->in, evbuffer_get_length(l->in));
	noise_hs_free(l->hs);
	l->hs = hs;
	l->psk_gen = gens[i];
	l->psk_prev = true;
	l->state = LINK_CONNECTING;
	l->start = start;
	event_active(l->start, EV_TIMEOUT, 1);
	return 0;
}

/*
 * The peer closed.  A responder with another network key closes on our
 * message 1 without a word, so a close before its answer is all that a
 * dialing node sees of it; other causes (a node shedding handshakes, a
 * program that is not peerd) look the same, hence the question.
 */
static void
link_eof(struct link *l)
{
	if (l->outbound && l->state == LINK_HANDSHAKE && !l->hs_heard &&
	    link_retry_prev(l) == 0)
		return;
	if (l->outbound && l->state == LINK_HANDSHAKE && !l->hs_heard)
		link_stop(l, LINK_END_HANDSHAKE, "handshake failed: closed by "
		    "the peer during the handshake (a different network key?)");
	else
		link_lost(l, LINK_END_EOF, "connection closed by peer");
}

/*
 * The socket is readable.  Links read for themselves rather than
 * through the bufferevent, whose reads stop at 4 KiB in libevent 2.1:
 * a 1 MiB message would take 256 wake-ups instead of 4.
 */
static void
link_readable(evutil_socket_t fd, short what, void *arg)
{
	struct link		*l = arg;
	struct evbuffer_iovec	 v[2];
	ssize_t			 n;
	int			 nv;

	(void)what;
	if (evbuffer_get_length(l->in) < LINK_READ_HIGH) {
		/*
		 * Ask for as much as the last read brought, doubled: big
		 * transfers get big reads, while an idle link does not hold
		 * (or mmap and unmap) a large buffer for each ping.
		 */
		nv = evbuffer_reserve_space(l->in, (ev_ssize_t)l->read_size, v,
		    2);
		if (nv < 1) {
			link_stop(l, LINK_END_FAILED, "out of memory");
			return;
		}
		n = readv(fd, (struct iovec *)v, nv);
		if (n == 0) {
			link_eof(l);
			return;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			link_lost(l, end_of_errno(errno), strerror(errno));
			return;
		}
		if (n > 0) {
			if ((size_t)n >= l->read_size && l->read_size <
			    LINK_READ_MAX)
				l->read_size *= 2;
			else if ((size_t)n < l->read_size / 4 && l->read_size >
			    LINK_READ_MIN)
				l->read_size /= 2;
			/* Trim the reserved vectors to what was read. */
			if ((size_t)n <= v[0].iov_len) {
				v[0].iov_len = (size_t)n;
				nv = 1;
			} else
				v[1].iov_len = (size_t)n - v[0].iov_len;
			evbuffer_commit_space(l->in, v, nv);
			l->last_rx_us = clock_us();
			l->quiet = false;
		}
	}
	link_process(l);
}

/* Starts reading fd once it is connected. */
static int
link_start_reading(struct link *l, int fd)
{
	l->rd = event_new(l->par->base, fd, EV_READ | EV_PERSIST,
	    link_readable, l);
	if (l->rd == NULL || event_add(l->rd, NULL) == -1)
		return -1;
	return 0;
}

/* Small messages (pings, calls) must not wait for Nagle's timer. */
static void
link_nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct link	*l = arg;
	char		 reason[160];
	int		 err;

	if (what & BEV_EVENT_CONNECTED) {
		/* Outbound TCP is up: send handshake message 1 (empty). */
		l->state = LINK_HANDSHAKE;
		link_nodelay(bufferevent_getfd(bev));
		if (link_start_reading(l, bufferevent_getfd(bev)) == -1 ||
		    link_write_hs(l, NULL, 0) == -1)
			link_stop(l, LINK_END_FAILED, "cannot write handshake");
		return;
	}
	if (what & BEV_EVENT_EOF)
		link_eof(l);
	else if ((err = bufferevent_socket_get_dns_error(bev)) != 0) {
		snprintf(reason, sizeof(reason), "cannot resolve: %s",
		    evutil_gai_strerror(err));
		link_lost(l, LINK_END_FAILED, reason);
	} else {
		err = EVUTIL_SOCKET_ERROR();
		/*
		 * A write that fails because the peer closed may leave its
		 * last words unread: a bye says the close was on purpose.
		 */
		if (l->state == LINK_UP) {
			link_read_waiting(l);
			if (l->state != LINK_UP)
				return;
		}
		link_lost(l, end_of_errno(err),
		    evutil_socket_error_to_string(err));
	}
}

/*
 * How long after a keep-alive ping with no traffic since the peer is
 * quiet: a few round trips, or as many times our own loop's lag, and
 * never less than LINK_QUIET_MIN_MS.
 */
static int64_t
link_quiet_us(const struct link *l)
{
	int64_t	us = l->rtt_avg_us < 0 ? 0 : LINK_QUIET_RTTS * l->rtt_avg_us;
	int64_t	lag = LINK_QUIET_RTTS * clock_lag_ms() * 1000;

	if (lag > us)
		us = lag;
	return us > LINK_QUIET_MIN_MS * 1000 ? us : LINK_QUIET_MIN_MS * 1000;
}

/*
 * When the next keep-alive ping is due: on the node's own grid of
 * ping_interval (its phase random per node), at least half an interval
 * after the last.  All the links of a node ping in the same turn of the
 * loop, so that an idle node wakes once an interval for its pings, not
 * once a link.
 */
static int64_t
link_ping_due(const struct link *l)
{
	int64_t	step = (int64_t)l->par->ping_interval * 1000;
	int64_t	from = l->ping_us + step / 2 - l->par->ping_phase_us;

	return l->par->ping_phase_us + (from / step + 1) * step;
}

/* Sets the tick for what is due next: a ping, a quiet or a dead check. */
static int
link_arm(struct link *l, int64_t now)
{
	struct timeval	tv;
	int64_t		due, t;

	due = link_ping_due(l);
	if ((t = l->last_rx_us + (int64_t)l->par->dead_after * 1000) < due)
		due = t;
	if (!l->quiet && l->last_rx_us < l->ping_us && l->quiet_us < due)
		due = l->quiet_us;
	l->due_us = due;
	t = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(t / 1000000);
	tv.tv_usec = (suseconds_t)(t % 1000000);
	return evtimer_add(l->timer, &tv);
}

/* Reads what waits on the socket, as if it had said it was readable. */
static void
link_read_waiting(struct link *l)
{
	if (l->rd != NULL)
		link_readable(event_get_fd(l->rd), EV_READ, l);
}

/* Sends a keep-alive ping, remembered to time its pong. */
static void
link_keepalive(struct link *l, int64_t now)
{
	int	slot = (int)(++l->seq % LINK_KEEPALIVE_SLOTS);

	l->keepalive[slot].seq = l->seq;
	l->keepalive[slot].sent_us = now;
	l->ping_us = now;
	l->quiet_us = now + link_quiet_us(l);
	(void)link_put_ping(l, "ping", l->seq, NULL, 0, false);
}

/*
 * Keep-alive: pings every ping_interval, tells the owner when a ping
 * goes unanswered (quiet), and closes a link silent for dead_after.
 * Silence is the peer's only once what already waits has been read,
 * and not while our own loop was stalled: a tick that runs late takes
 * the lateness off the silence.
 */
static void
link_tick(evutil_socket_t fd, short what, void *arg)
{
	struct link		*l = arg;
	int64_t			 now = clock_us(), late = now - l->due_us;
	char			 reason[64];

	(void)fd; (void)what;
	clock_note_late(late / 1000);
	if (late > LINK_STALL_MS * 1000) {
		l->last_rx_us = l->last_rx_us + late < now ?
		    l->last_rx_us + late : now;
		l->ping_us = l->ping_us + late < now ? l->ping_us + late : now;
		l->quiet_us += late;
	}
	/* About to judge the peer: first read what it may have sent. */
	if ((!l->quiet && l->last_rx_us < l->ping_us && now >= l->quiet_us) ||
	    now - l->last_rx_us >= (int64_t)l->par->dead_after * 1000) {
		link_read_waiting(l);
		if (l->state != LINK_UP)
			return;
	}
	if (now - l->last_rx_us >= (int64_t)l->par->dead_after * 1000) {
		snprintf(reason, sizeof(reason), "no traffic for %" PRId64
		    " ms", (now - l->last_rx_us) / 1000);
		log_info("link %s: %s, closing", l->name, reason);
		link_stop(l, LINK_END_SILENT, reason);
		return;
	}
	/* A ping still queued behind our own data proves nothing yet. */
	if (!l->quiet && l->last_rx_us < l->ping_us && now >= l->quiet_us &&
	    link_queued(l) > 0)
		l->quiet_us = now + link_quiet_us(l);
	if (!l->quiet && l->last_rx_us < l->ping_us && now >= l->quiet_us) {
		l->quiet = true;
		log_debug("link %s: no answer to a ping for %" PRId64 " ms",
		    l->name, (now - l->ping_us) / 1000);
		if (l->ops->quiet != NULL)
			l->ops->quiet(l, l->arg);
		if (l->state != LINK_UP)
			return;
	}
	if (now >= link_ping_due(l)) {
		link_keepalive(l, now);
		if (l->state != LINK_UP)
			return;
	}
	if (link_arm(l, now) == -1)
		link_stop(l, LINK_END_FAILED, "cannot set keep-alive timer");
}

static void
link_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct link	*l = arg;

	(void)fd; (void)what;
	log_info("link %s: handshake not finished within %" PRIu64 " ms, "
	    "closing", l->addr, l->hs_limit_ms != 0 ? l->hs_limit_ms :
	    l->par->handshake_timeout);
	link_stop(l, LINK_END_SILENT, "handshake timed out");
}

/* Frees a link its owner never heard of: no callbacks. */
static void
link_discard(struct link *l)
{
	if (l->rd != NULL)
		event_free(l->rd);
	if (l->start != NULL)
		event_free(l->start);
	bufferevent_free(l->bev);
	evbuffer_free(l->in);
	event_free(l->timer);
	event_free(l->reaper);
	event_free(l->flush);
	noise_hs_free(l->hs);
	free(l);
}

static struct link *
link_new(const struct link_params *par, const struct link_ops *ops, void *arg,
    bool outbound, int fd)
{
	struct link	*l;
	struct timeval	 tv;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->par = par;
	l->ops = ops;
	l->arg = arg;
	l->outbound = outbound;
	l->rtt_last_us = l->rtt_avg_us = l->rtt_min_us = -1;
	l->read_size = LINK_READ_MIN;
	TAILQ_INIT(&l->pings);
	l->reaper = event_new(par->base, -1, 0, link_reap, l);
	l->flush = event_new(par->base, -1, 0, link_flush_cb, l);
	l->timer = evtimer_new(par->base, link_handshake_timeout, l);
	l->bev = bufferevent_socket_new(par->base, fd, BEV_OPT_CLOSE_ON_FREE);
	l->in = evbuffer_new();
	/* An answer's handshake waits for message 1: which key is it? */
	if (outbound) {
		l->hs = noise_hs_new(NOISE_XXPSK0, true, LINK_PROLOGUE,
		    strlen(LINK_PROLOGUE), par->id->x_sk, par->id->network_key,
		    NULL);
		l->psk_gen = par->keys != NULL ? par->keys->gen : 0;
	}
	if (l->reaper == NULL || l->flush == NULL || l->timer == NULL ||
	    l->bev == NULL || l->in == NULL || (outbound && l->hs == NULL)) {
		if (l->bev == NULL && fd != -1)
			evutil_closesocket(fd);
		if (l->bev != NULL)
			bufferevent_free(l->bev);
		if (l->reaper != NULL)
			event_free(l->reaper);
		if (l->flush != NULL)
			event_free(l->flush);
		if (l->timer != NULL)
			event_free(l->timer);
		if (l->in != NULL)
			evbuffer_free(l->in);
		noise_hs_free(l->hs);
		free(l);
		return NULL;
	}
	duration_timeval(par->handshake_timeout, &tv);
	evtimer_add(l->timer, &tv);
	/* The bufferevent connects and writes; reading is link_readable's. */
	bufferevent_set_max_single_write(l->bev, LINK_WRITE_MAX);
	bufferevent_setcb(l->bev, NULL, NULL, link_event_cb, l);
	bufferevent_enable(l->bev, EV_WRITE);
	return l;
}

/* Begins the connect of a dialed link from the event loop. */
static void
link_start(evutil_socket_t fd, short what, void *arg)
{
	struct link	*l = arg;
	char		 host[HOST_MAX], err[128];
	uint16_t	 port;

	(void)fd; (void)what;
	event_free(l->start);
	l->start = NULL;
	(void)addr_split(l->addr, host, &port, err, sizeof(err));
	/* Errors, immediate ones too, arrive through link_event_cb. */
	if (bufferevent_socket_connect_hostname(l->bev, l->par->dns, AF_UNSPEC,
	    host, port) == -1 && l->state == LINK_CONNECTING)
		link_stop(l, LINK_END_FAILED, "cannot start the connection");
}

struct link *
link_dial(const struct link_params *par, const char *hostport,
    const struct link_ops *ops, void *arg)
{
	struct link	*l;
	char		 host[HOST_MAX], err[128];
	uint16_t	 port;

	if (addr_split(hostport, host, &port, err, sizeof(err)) == -1) {
		log_warnx("dial %s", err);
		return NULL;
	}
	if ((l = link_new(par, ops, arg, true, -1)) == NULL ||
	    (l->start = event_new(par->base, -1, 0, link_start, l)) == NULL) {
		log_warnx("dial %s: out of memory", hostport);
		if (l != NULL)
			link_discard(l);
		return NULL;
	}
	l->state = LINK_CONNECTING;
	snprintf(l->addr, sizeof(l->addr), "%s", hostport);
	link_set_name(l);
	/* Never call the owner back before it has the link in hand. */
	event_active(l->start, EV_TIMEOUT, 1);
	return l;
}

struct link *
link_accept(const struct link_params *par, int fd, const struct sockaddr *sa,
    const struct link_ops *ops, void *arg)
{
	struct link	*l;

	if ((l = link_new(par, ops, arg, false, fd)) == NULL) {
		log_warnx("link: out of memory, refusing a connection");
		return NULL;
	}
	l->state = LINK_HANDSHAKE;
	link_nodelay(fd);
	addr_format(sa, l->addr);
	link_set_name(l);
	if (link_start_reading(l, fd) == -1) {
		log_warnx("link %s: cannot watch the socket", l->addr);
		link_discard(l);
		return NULL;
	}
	return l;
}

/* Bytes sealed and not yet written: the batch is not sealed yet. */
static size_t
link_sealed(const struct link *l)
{
	return evbuffer_get_length(bufferevent_get_output(l->bev)) +
	    (l->pending == NULL ? 0 : evbuffer_get_length(l->pending));
}

/* The records sealed this turn; NULL if out of memory. */
static struct evbuffer *
link_pending(struct link *l)
{
	if (l->pending == NULL)
		l->pending = evbuffer_new();
	return l->pending;
}

/* Seals the batch after the records of this turn.  -1 on failure. */
static int
link_seal_batch(struct link *l)
{
	struct evbuffer	*pending;
	size_t		 before;

	if (l->batchlen == 0)
		return 0;
	if ((pending = link_pending(l)) == NULL)
		return -1;
	before = evbuffer_get_length(pending);
	if (wire_seal_batch(&l->tx, l->batch, l->batchlen, pending) == -1)
		return -1;
	l->bytes_out += evbuffer_get_length(pending) - before;
	l->batchlen = 0;
	return 0;
}

/*
 * Writes the records of this turn.  With nothing queued before them
 * they are written at once, by the link itself: handed to the
 * bufferevent, they would be watched for, two epoll_ctl calls and a
 * wake-up for every write of a link that keeps up.  What the socket
 * does not take is queued as usual.  -1 if the cipher failed.
 */
static int
link_flush(struct link *l)
{
	struct evbuffer	*out;
	int		 fd;

	if (link_seal_batch(l) == -1)
		return -1;
	if (l->pending == NULL || evbuffer_get_length(l->pending) == 0)
		return 0;
	out = bufferevent_get_output(l->bev);
	if (evbuffer_get_length(out) == 0 &&
	    (fd = bufferevent_getfd(l->bev)) != -1)
		(void)evbuffer_write(l->pending, fd);
	if (evbuffer_get_length(l->pending) > 0 &&
	    evbuffer_add_buffer(out, l->pending) == -1)
		return -1;
	return 0;
}

static void
link_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link	*l = arg;

	(void)fd; (void)what;
	if (l->state == LINK_UP && link_flush(l) == -1)
		link_stop(l, LINK_END_FAILED, "cannot encrypt");
}

/*
 * The largest message the peer takes in a batch.  Calls of a few KiB
 * then share records too, and their cipher runs once for many.
 */
static size_t
link_batch_max(const struct link *l)
{
	return (l->remote.features & HELLO_WIDE_BATCH) ? WIRE_BATCH_WIDE_MAX :
	    WIRE_BATCH_MSG_MAX;
}

/* A peer that stops reading is dropped, not buffered without end. */
static bool
link_over_limit(struct link *l)
{
	char	reason[96];
	size_t	queued = link_queued(l);

	if (queued <= 2 * l->par->max_message + (1u << 20))
		return false;
	snprintf(reason, sizeof(reason), "peer not reading (%zu bytes "
	    "queued)", queued);
	log_warnx("link %s: %s, closing", l->name, reason);
	link_stop(l, LINK_END_FAILED, reason);
	return true;
}

int
link_send(struct link *l, const uint8_t *msg, size_t len)
{
	struct evbuffer	*out;
	size_t		 before, part;

	if (l->state != LINK_UP)
		return -1;
	/*
	 * Small messages wait for the end of this turn of the event loop,
	 * and go out together in one record.
	 */
	if (len > 0 && len <= link_batch_max(l)) {
		if (l->batch == NULL &&
		    (l->batch = malloc(WIRE_CHUNK_MAX)) == NULL) {
			link_stop(l, LINK_END_FAILED, "out of memory");
			return -1;
		}
		if (wire_batch_add(l->batch, &l->batchlen, msg, len,
		    link_batch_max(l)) == -1) {
			if (link_seal_batch(l) == -1) {
				link_stop(l, LINK_END_FAILED, "cannot encrypt");
				return -1;
			}
			(void)wire_batch_add(l->batch, &l->batchlen, msg, len,
			    link_batch_max(l));
		}
		if (l->batchlen == 2 + len)
			event_active(l->flush, EV_WRITE, 1);
		l->msgs_out++;
		return link_over_limit(l) ? -1 : 0;
	}
	/*
	 * Larger ones follow the batch.  A long one is written a part at a
	 * time as it is sealed, so that the peer opens the first records
	 * while we seal the next; the last part goes out at the end of the
	 * turn, with whatever follows it.
	 */
	if (link_seal_batch(l) == -1 || (out = link_pending(l)) == NULL) {
		link_stop(l, LINK_END_FAILED, "cannot encrypt");
		return -1;
	}
	do {
		part = len > LINK_SEAL_PART ? LINK_SEAL_PART : len;
		before = evbuffer_get_length(out);
		if (wire_seal_part(&l->tx, msg, part, len > part, out) == -1) {
			link_stop(l, LINK_END_FAILED, "cannot encrypt");
			return -1;
		}
		l->bytes_out += evbuffer_get_length(out) - before;
		if (len > part && link_flush(l) == -1) {
			link_stop(l, LINK_END_FAILED, "cannot encrypt");
			return -1;
		}
		msg += part;
		len -= part;
	} while (len > 0);
	event_active(l->flush, EV_WRITE, 1);
	l->msgs_out++;
	return link_over_limit(l) ? -1 : 0;
}

int
link_ping(struct link *l, size_t size, uint64_t timeout_ms, link_ping_fn *fn,
    void *arg)
{
	struct link_ping	*p;
	struct timeval		 tv;
	uint8_t			*pad;

	if (l->state != LINK_UP || l->npings >= LINK_PINGS_MAX ||
	    size > l->par->max_message - 64)
		return -1;
	/* Pings must not fill the queue: that would close a good link. */
	if (link_sealed(l) + size > l->par->max_message)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if ((pad = calloc(1, size ? size : 1)) == NULL ||
	    (p->timer = evtimer_new(l->par->base, ping_timeout, p)) == NULL) {
		free(pad);
		free(p);
		return -1;
	}
	randombytes_buf(pad, size);	/* incompressible, like real data */
	p->l = l;
	p->seq = ++l->seq;
	p->fn = fn;
	p->arg = arg;
	p->sent_us = clock_us();
	duration_timeval(timeout_ms, &tv);
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&l->pings, p, entry);
	l->npings++;
	/* If sending fails the link closes, and pings_fail calls fn. */
	(void)link_put_ping(l, "ping", p->seq, pad, size, false);
	free(pad);
	return 0;
}

void
link_ping_cancel(struct link *l, void *arg)
{
	struct link_ping	*p, *next;

	for (p = TAILQ_FIRST(&l->pings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->arg == arg)
			ping_free(p);
	}
}

void
link_info(const struct link *l, struct link_info *i)
{
	i->state = l->state;
	i->outbound = l->outbound;
	i->addr = l->addr;
	i->id = l->state == LINK_UP ? l->idstr : "";
	i->name = l->state == LINK_UP ? l->remote.name : "";
	i->uptime_ms = l->state == LINK_UP ? clock_us() / 1000 - l->up_ms : 0;
	i->rtt_last_us = l->rtt_last_us;
	i->rtt_avg_us = l->rtt_avg_us;
	i->rtt_min_us = l->rtt_min_us;
	i->bytes_in = l->bytes_in;
	i->bytes_out = l->bytes_out;
	i->msgs_in = l->msgs_in;
	i->msgs_out = l->msgs_out;
}

enum link_state
link_state(const struct link *l)
{
	return l->state;
}

bool
link_hs_heard(const struct link *l)
{
	return l->hs_heard;
}

bool
link_quiet(const struct link *l)
{
	return l->quiet;
}

int
link_limit_handshake(struct link *l, uint64_t ms)
{
	struct timeval	tv;

	if (l->state != LINK_CONNECTING && l->state != LINK_HANDSHAKE)
		return 0;
	l->hs_limit_ms = ms;
	duration_timeval(ms, &tv);
	return evtimer_add(l->timer, &tv);
}

bool
link_outbound(const struct link *l)
{
	return l->outbound;
}

const struct hello *
link_remote(const struct link *l)
{
	return &l->remote;
}

const char *
link_id_str(const struct link *l)
{
	return l->idstr;
}

const char *
link_name(const struct link *l)
{
	return l->name;
}

int64_t
link_up_since(const struct link *l)
{
	return l->up_ms;
}

void
link_mark_used(struct link *l)
{
	l->used_ms = clock_us() / 1000;
}

int64_t
link_used_ms(const struct link *l)
{
	return l->used_ms;
}

uint64_t
link_psk_gen(const struct link *l)
{
	return l->psk_gen;
}

bool
link_psk_prev(const struct link *l)
{
	return l->psk_prev;
}

const uint8_t *
link_hash(const struct link *l)
{
	return l->hash;
}

size_t
link_queued(const struct link *l)
{
	return l->bev == NULL ? 0 : link_sealed(l) + l->batchlen;
}
