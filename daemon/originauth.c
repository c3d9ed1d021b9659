/* SPDX-License-Identifier: ISC */
/*
 * originauth.c: the MAC of a relayed call message and the replay window.
 * The MAC is Poly1305 of the header and the body under a one-time key,
 * ChaCha20 under the direction's subkey with q in the nonce: q never
 * repeats in one direction, so neither does the one-time key, and both
 * run at several times BLAKE2b's speed.  Sealing and opening map a call message onto the
 * header and body the MAC covers, keep a counter per addressee and a
 * window per author, and count what they did.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callmsg.h"
#include "clock.h"
#include "identity.h"
#include "nodemap.h"
#include "originauth.h"
#include "pairkey.h"

#define LABEL_MAC	"peerd/1 mac"
#define FIELD_ABSENT	0xffffffffu

/*
 * What the MAC reads, gathered into one buffer before Poly1305 sees
 * it: the header is a dozen small pieces, and one call on 200 bytes
 * costs far less than a dozen on a few.
 */
struct macin {
	crypto_onetimeauth_state	st;
	uint8_t				buf[512];
	size_t				len;
};

static void
macin_flush(struct macin *in)
{
	if (in->len > 0)
		crypto_onetimeauth_update(&in->st, in->buf, in->len);
	in->len = 0;
}

static void
macin_put(struct macin *in, const uint8_t *p, size_t n)
{
	if (n > sizeof(in->buf) - in->len) {
		macin_flush(in);
		if (n > sizeof(in->buf)) {
			crypto_onetimeauth_update(&in->st, p, n);
			return;
		}
	}
	memcpy(in->buf + in->len, p, n);
	in->len += n;
}

static void
macin_be(struct macin *in, uint64_t v, int bytes)
{
	uint8_t	b[8];
	int	i;

	for (i = bytes - 1; i >= 0; i--, v >>= 8)
		b[i] = v & 0xff;
	macin_put(in, b, (size_t)bytes);
}

/*
 * x = Poly1305(k, "peerd/1 mac" || T || o || p || be64(c) || be64(q) ||
 * author || fields || be64(len) || pre || body), each field be32(len) ||
 * bytes or be32(0xffffffff): no two messages give the same input.  The
 * one-time key k is the first 32 bytes of ChaCha20 under the
 * direction's subkey kd, nonce be64(q) || T || 3 zero bytes: q never
 * repeats in one direction, so neither does k.
 */
static void
mac_parts(uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
    const struct oa_header *h, const uint8_t *pre, size_t prelen,
    const uint8_t *body, size_t len)
{
	struct macin	in;
	uint8_t		k[crypto_onetimeauth_KEYBYTES];
	uint8_t		nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	size_t		i;
	int		j;

	memset(nonce, 0, sizeof(nonce));
	for (j = 7; j >= 0; j--)
		nonce[7 - j] = (uint8_t)(h->q >> (8 * j));
	nonce[8] = h->type;
	crypto_stream_chacha20_ietf(k, sizeof(k), nonce, kd);
	crypto_onetimeauth_init(&in.st, k);
	in.len = 0;
	macin_put(&in, (const uint8_t *)LABEL_MAC, strlen(LABEL_MAC));
	macin_put(&in, &h->type, 1);
	macin_put(&in, h->o, NODE_ID_LEN);
	macin_put(&in, h->p, NODE_ID_LEN);
	macin_be(&in, h->c, 8);
	macin_be(&in, h->q, 8);
	macin_put(&in, h->author, NODE_ID_LEN);
	for (i = 0; i < h->nfields; i++) {
		if (h->fields[i].p == NULL) {
			macin_be(&in, FIELD_ABSENT, 4);
			continue;
		}
		/* The small fields of a message, far below 4 GiB. */
		macin_be(&in, h->fields[i].len, 4);
		macin_put(&in, h->fields[i].p, h->fields[i].len);
	}
	macin_be(&in, prelen + len, 8);
	if (prelen > 0)
		macin_put(&in, pre, prelen);
	if (len > 0)
		macin_put(&in, body, len);
	macin_flush(&in);
	crypto_onetimeauth_final(&in.st, x);
	sodium_memzero(&in, sizeof(in));
	sodium_memzero(k, sizeof(k));
}

void
originauth_mac(uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
    const struct oa_header *h, const uint8_t *body, size_t len)
{
	mac_parts(x, kd, h, NULL, 0, body, len);
}

bool
originauth_mac_ok(const uint8_t x[OA_MAC_LEN], const uint8_t kd[PAIRKEY_LEN],
    const struct oa_header *h, const uint8_t *body, size_t len)
{
	uint8_t	want[OA_MAC_LEN];
	bool	ok;

	mac_parts(want, kd, h, NULL, 0, body, len);
	ok = sodium_memcmp(want, x, OA_MAC_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

/* Moves every bit n places further from top (0 < n < OA_WINDOW). */
static void
shift(uint64_t *bits, uint64_t n)
{
	size_t		words = OA_WINDOW / 64, w = n / 64, i;
	unsigned	b = n % 64;
	uint64_t	v;

	for (i = words; i-- > 0;) {
		v = 0;
		if (i >= w) {
			v = bits[i - w] << b;
			if (b != 0 && i > w)
				v |= bits[i - w - 1] >> (64 - b);
		}
		bits[i] = v;
	}
}

bool
oa_window_take(struct oa_window *w, uint64_t started, uint64_t q)
{
	uint64_t	d;

	if (started > UINT64_MAX / 1000000)
		return false;
	/*
	 * A later start keeps what the window took of the new run: its
	 * messages may come before its record, and would be replayed.
	 */
	if (w->started != started) {
		if (started < w->started || w->top < started * 1000000)
			memset(w, 0, sizeof(*w));
		w->started = started;
	}
	/* started is read on the author's clock, as q's start is. */
	if (q < started * 1000000)
		return false;
	if (q > w->top) {
		if (q - w->top >= OA_WINDOW)
			memset(w->bits, 0, sizeof(w->bits));
		else
			shift(w->bits, q - w->top);
		w->top = q;
		w->bits[0] |= 1;
		return true;
	}
	if ((d = w->top - q) >= OA_WINDOW)
		return false;
	if (w->bits[d / 64] & (UINT64_C(1) << (d % 64)))
		return false;
	w->bits[d / 64] |= UINT64_C(1) << (d % 64);
	return true;
}

#define NFIELDS_MAX	5	/* a call's s, g, m, d, w */

struct originauth {
	struct originauth_params par;
	struct pairkey		*keys;
	struct nodemap		*next;		/* addressee: its next q */
	struct nodemap		*windows;	/* author: struct oa_window */
	struct oa_stats		 stats;
	struct cbor_buf		 err;		/* an error answer, encoded */
};

/* A message mapped onto what its MAC covers. */
struct mapped {
	struct oa_header	h;
	struct oa_field		f[NFIELDS_MAX];
	uint8_t			d[8], w;
	uint8_t			pre;
	size_t			prelen;
	const uint8_t		*body;
	size_t			len;
};

static const char *const	result_names[OA_RESULTS] = {
	"ok", "unverified", "bad_mac", "no_mac", "replay", "no_key",
	"relay_answer", "revoked",
};

const char *
originauth_result_name(enum oa_result r)
{
	return result_names[r];
}

const uint8_t *
originauth_author(const struct callmsg *m)
{
	if (m->type != CALLMSG_ANSWER)
		return m->origin;
	return m->has_by ? m->by : m->provider;
}

static struct oa_field
text_field(const char *s)
{
	return (struct oa_field){ (const uint8_t *)s, strlen(s) };
}

/*
 * The header and body of m (doc/trust-design.md section 1.3).  Fields
 * are read as decoded, so that a relay's encoding of them does not
 * matter: no group and a call that wants an answer are absent fields,
 * and d is cut to the longest deadline, as every decoder cuts it.  An
 * answer's error is covered as its author encoded it (errraw).
 */
static void
map(struct mapped *mp, const struct callmsg *m)
{
	static const uint8_t	letters[CALLMSG_TYPES] = { 'c', 'a', 'n', 'e',
				    'k' };
	uint64_t		d;
	size_t			n = 0;
	int			i;

	memset(mp, 0, sizeof(*mp));
	switch (m->type) {
	case CALLMSG_CALL:
		mp->f[n++] = text_field(m->service);
		mp->f[n++] = m->group[0] != '\0' ? text_field(m->group) :
		    (struct oa_field){ NULL, 0 };
		mp->f[n++] = text_field(m->method);
		d = m->timeout_ms < CALLMSG_TIMEOUT_MAX ? m->timeout_ms :
		    CALLMSG_TIMEOUT_MAX;
		for (i = 7; i >= 0; i--, d >>= 8)
			mp->d[i] = d & 0xff;
		mp->f[n++] = (struct oa_field){ mp->d, sizeof(mp->d) };
		mp->w = 1;
		mp->f[n++] = m->oneway ? (struct oa_field){ &mp->w, 1 } :
		    (struct oa_field){ NULL, 0 };
		mp->body = m->args;
		mp->len = m->args != NULL ? m->argslen : 0;
		break;
	case CALLMSG_EVENT:
		mp->f[n++] = text_field(m->topic);
		mp->body = m->args;
		mp->len = m->args != NULL ? m->argslen : 0;
		break;
	case CALLMSG_KV:
		mp->body = m->args;
		mp->len = m->argslen;
		break;
	case CALLMSG_ANSWER:
		mp->prelen = 1;
		if (m->result != NULL) {
			mp->pre = 0x00;
			mp->body = m->result;
			mp->len = m->resultlen;
		} else {
			mp->pre = 0xff;
			mp->body = m->errraw;
			mp->len = m->errraw != NULL ? m->errrawlen : 0;
		}
		break;
	case CALLMSG_CANCEL:
		break;
	}
	mp->h = (struct oa_header){ letters[m->type], m->origin, m->provider,
	    m->cid, m->seq, originauth_author(m), mp->f, n };
}

struct originauth *
originauth_new(const struct originauth_params *p, struct pairkey *keys)
{
	struct originauth	*oa;

	if ((oa = calloc(1, sizeof(*oa))) == NULL)
		return NULL;
	oa->par = *p;
	oa->keys = keys;
	if ((oa->next = nodemap_new(sizeof(uint64_t), p->max)) == NULL ||
	    (oa->windows = nodemap_new(sizeof(struct oa_window),
	    p->max)) == NULL) {
		originauth_free(oa);
		return NULL;
	}
	return oa;
}

void
originauth_free(struct originauth *oa)
{
	if (oa == NULL)
		return;
	nodemap_free(oa->next);
	nodemap_free(oa->windows);
	cbor_buf_free(&oa->err);
	free(oa);
}

/*
 * The value for id, making room in a full table: one of a few drawn at
 * random, the first that keep() refuses to hold on to, else the last.
 */
static void *
put_evicting(struct nodemap *nm, const uint8_t *id,
    bool (*keep)(const void *))
{
	const uint8_t	*victim;
	void		*v;
	size_t		 n, i;
	int		 tries;

	if ((v = nodemap_put(nm, id)) != NULL || (n = nodemap_count(nm)) == 0)
		return v;
	for (tries = 0; tries < 8; tries++) {
		i = randombytes_uniform((uint32_t)n);
		v = nodemap_at(nm, i, &victim);
		if (keep == NULL || !keep(v) || tries == 7)
			break;
	}
	nodemap_del(nm, victim);
	return nodemap_put(nm, id);
}

/* A window of an author we hold a record of is worth keeping. */
static bool
keep_window(const void *v)
{
	return ((const struct oa_window *)v)->started != 0;
}

int
originauth_seal(struct originauth *oa, struct callmsg *m)
{
	const uint8_t		*to = callmsg_dest(m);
	const struct pairkeys	*k;
	struct mapped		 mp;
	uint64_t		*next;

	if ((k = pairkey_get(oa->keys, to)) == NULL)
		return -1;
	/* Out of memory: a fresh start is still above what went before. */
	if ((next = put_evicting(oa->next, to, NULL)) == NULL)
		m->seq = clock_wall_us();
	else {
		if (*next == 0)
			*next = clock_wall_us();
		m->seq = (*next)++;
	}
	if (m->type == CALLMSG_ANSWER && m->result == NULL &&
	    m->errraw == NULL) {
		cbor_buf_reset(&oa->err);
		ctl_put_error_value(&oa->err, m->err.code, m->err.msg,
		    m->err.msglen, m->err.context, m->err.contextlen);
		if (oa->err.failed)
			return -1;
		m->errraw = oa->err.data;
		m->errrawlen = oa->err.len;
	}
	map(&mp, m);
	mac_parts(m->mac, k->tx, &mp.h, &mp.pre, mp.prelen, mp.body, mp.len);
	m->has_mac = true;
	oa->stats.sealed++;
	return 0;
}

/* Only the errors a relay can meet (doc/trust-design.md section 1.5). */
static bool
relay_answer_ok(const struct callmsg *m)
{
	if (m->result != NULL ||
	    memcmp(m->by, m->provider, NODE_ID_LEN) == 0)
		return false;
	return m->err.code == PEER_UNAVAILABLE ||
	    m->err.code == PEER_DEADLINE_EXCEEDED ||
	    m->err.code == PEER_RESOURCE_EXHAUSTED;
}

static enum oa_result
check(struct originauth *oa, const struct callmsg *m, const uint8_t *via)
{
	const uint8_t		*author = originauth_author(m);
	const struct pairkeys	*k;
	struct oa_window	*w;
	struct mapped		 mp;
	uint8_t			 x[OA_MAC_LEN];
	uint64_t		 started = 0;
	bool			 auth = false, held, ok;

	if (m->type == CALLMSG_ANSWER && m->has_by && !relay_answer_ok(m))
		return OA_RELAY_ANSWER;
	/* Its MAC may hold: the key comes from its ID, not its standing. */
	if (oa->par.is_revoked != NULL &&
	    oa->par.is_revoked(oa->par.arg, author))
		return OA_REVOKED;
	/* On its author's own link: the link proved who wrote it. */
	if (!m->has_mac && via != NULL &&
	    memcmp(via, author, NODE_ID_LEN) == 0)
		return OA_OK;
	held = oa->par.record(oa->par.arg, author, &auth, &started);
	if (!held)
		started = 0;
	if (!m->has_mac) {
		if (!oa->par.required && held && !auth)
			return OA_UNVERIFIED;
		return OA_NO_MAC;
	}
	if ((k = pairkey_get(oa->keys, author)) == NULL)
		return OA_NO_KEY;
	map(&mp, m);
	mac_parts(x, k->rx, &mp.h, &mp.pre, mp.prelen, mp.body, mp.len);
	ok = sodium_memcmp(x, m->mac, OA_MAC_LEN) == 0;
	if (!ok)
		return OA_BAD_MAC;
	/* Out of memory: no window to check against, so no way to take it. */
	if ((w = put_evicting(oa->windows, author, keep_window)) == NULL ||
	    !oa_window_take(w, started, m->seq))
		return OA_REPLAY;
	return OA_OK;
}

enum oa_result
originauth_open(struct originauth *oa, const struct callmsg *m,
    const uint8_t *via)
{
	enum oa_result	r;

	r = check(oa, m, via);
	oa->stats.opened[m->type][r]++;
	if (r == OA_UNVERIFIED)
		oa->stats.unverified++;
	else if (r != OA_OK)
		oa->stats.dropped++;
	return r;
}

void
originauth_forget(struct originauth *oa, const uint8_t *id)
{
	nodemap_del(oa->next, id);
	nodemap_del(oa->windows, id);
}

void
originauth_stats(const struct originauth *oa, struct oa_stats *st)
{
	*st = oa->stats;
	st->windows = nodemap_count(oa->windows);
}
