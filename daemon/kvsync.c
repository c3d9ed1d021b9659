/* SPDX-License-Identifier: ISC */
/*
 * kvsync.c: keeping every key on its owners.
 *
 * A round is one scan of the store.  For each other node of the store
 * it sums up the keys both own in a digest: 64 buckets, each the XOR
 * of BLAKE2b-128(key, hlc, writer) over its keys (expired items and
 * old tombstones left out), and notes those keys by bucket; keys this
 * node holds but does not own it notes for their owners.  Then it
 * sends each node its digest, offers each owner of a key it does not
 * own the key's version (HAVE), and forgets expired items and old
 * tombstones.
 *
 * A node that gets a DIGEST answers from its own round's scan: a HAVE
 * of its keys in each bucket that differs, a page at a time, each page
 * waiting for the WANT that acks it.  The receiver of a HAVE asks for
 * what is newer there (its WANT, always sent, even empty) and sends,
 * as repairs, what is newer here or missing there in the buckets the
 * HAVE covers; the receiver of a WANT sends what was asked.  A key
 * handed off is dropped once the WANT of every owner left it out.
 *
 * A DIGEST that comes between rounds waits for the next, which it
 * brings forward unless one started lately (then a scan that only
 * answers runs), so that the rounds of the store's nodes fall together
 * and each answers the others from the scan it made anyway.
 *
 * Sends are paced: what the route has no room for waits for the next
 * tick.  A round ends once all it queued is sent and acked, or at its
 * deadline, and frees what it held; what other nodes ask for outside a
 * round is bounded per node, and given up if it cannot go for as long.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "duration.h"
#include "hlc.h"
#include "kvmsg.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvsync.h"
#include "kvwatch.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"
#include "place.h"

#define ROUND_DEADLINE_MS	10000	/* a round ends by then at the latest */
#define PACE_MS			10	/* a full route: tried again then */
#define SENDS_PER_TICK		2048	/* messages per wakeup, then yield */
#define SCAN_CHUNK		4096	/* keys a round scans per wakeup */
#define ASKED_MAX		(8 * KVMSG_ITEMS_MAX) /* keys queued for one
						 * node's messages */
/*
 * Bytes of a page of a HAVE, roughly as encoded (a key, its clock and
 * writer): far below the least max_message, 256 KiB.
 */
#define PAGE_BYTES		(96 << 10)
#define ENTRY_BYTES(keylen)	((keylen) + NODE_ID_LEN + 16)

/* A key held at the round's scan. */
struct rkey {
	size_t			 off;		/* in the round's arena */
	uint16_t		 len;
	uint8_t			 bucket;
	uint8_t			 flags;
#define RK_GONE		0x01		/* expired or an old tombstone */
#define RK_EXPIRED	0x02		/* gone because it expired */
#define RK_WANTED	0x04		/* an owner asked for it: kept */
#define RK_MARK		0x08		/* in the WANT being read */
	uint8_t			 nowners;	/* hand-off: owners to ask */
	uint8_t			 nhave;		/* of them, that hold it */
	struct kv_version	 ver;
};

struct idxv {
	uint32_t	*v;
	size_t		 n, cap;
};

/* Another node of the store, in a round. */
struct rpeer {
	uint8_t		 id[NODE_ID_LEN];
	uint8_t		 dig[KVMSG_BUCKETS][KVMSG_DIGEST_LEN];
	struct idxv	 co;		/* keys we both own: by bucket, key */
	uint32_t	 bstart[KVMSG_BUCKETS + 1];	/* bucket b's in co */
	uint8_t		*seen;		/* bit per co: its HAVE listed it */
	uint8_t		*sent;		/* bit per co: sent to it */
	struct idxv	 ho;		/* keys it owns and we do not: by key */
	/* Our HAVE of the buckets its digest differs in. */
	uint64_t	 have_left;	/* buckets not yet sent in full */
	size_t		 have_at;	/* sent of the first of them */
	uint64_t	 have_cid;	/* the page awaiting its WANT */
	/* Our HAVE of the keys we hand it. */
	size_t		 ho_at;		/* sent so far */
	size_t		 ho_lo, ho_hi;	/* the page awaiting its WANT */
	uint64_t	 ho_cid;
};

struct round {
	bool		 full;		/* digests, hand-off, expiry */
	bool		 member;	/* this node is one of the store's */
	bool		 scanning;	/* a chunk a wakeup, after this key */
	char		 after[KV_KEY_MAX];
	size_t		 afterlen;
	size_t		 chunk;		/* keys left in this wakeup's */
	bool		 failed;	/* out of memory while scanning */
	int64_t		 started, min_end, deadline;
	uint64_t	 wall;		/* wall clock at the scan */
	struct rkey	*keys;
	size_t		 nkeys, capkeys;
	char		*arena;
	size_t		 arenalen, arenacap;
	struct rpeer	*peers;		/* the store's other nodes, by ID */
	size_t		 npeers;
	size_t		 njobs;		/* queued jobs that use the round */
};

enum job_kind {
	JOB_DIGEST,		/* our digest (round) */
	JOB_HAVE,		/* the next page answering its digest (round) */
	JOB_HANDOFF,		/* the next page of keys we hand it (round) */
	JOB_WANT,		/* an answer to its HAVE */
	JOB_COKEYS,		/* items of keys we both own (round) */
	JOB_KEYS,		/* items it asked for, or newer than it has */
};

struct job {
	struct job		*next;
	enum job_kind		 kind;
	int64_t			 since;
	uint64_t		 cid;		/* WANT: the HAVE's */
	size_t			 n, at;		/* entries, sent so far */
	uint32_t		*co;		/* COKEYS: indexes in its co */
	struct kvmsg_entry	*ents;		/* WANT, KEYS */
	char			*keys;		/* what ents point into */
};

struct jobq {
	struct job	*head, *tail;
};

/* What this node keeps about another one, between rounds too. */
struct partner {
	struct jobq	 ctl;		/* digests, haves, wants: first */
	struct jobq	 data;		/* items */
	size_t		 asked;		/* keys of JOB_WANT and JOB_KEYS */
	bool		 has_digest;	/* came between rounds */
	uint8_t		 digest[KVMSG_BUCKETS][KVMSG_DIGEST_LEN];
};

struct kvsync {
	struct kvsync_params	 par;
	uint8_t			 self[NODE_ID_LEN];
	struct kvstore		*store;
	struct kvring		*ring;
	struct kvpost		*post;
	struct kvwatch		*watch;
	struct event		*tick;		/* rounds start and end */
	struct event		*pace;		/* sends what is queued */
	bool			 pace_armed;
	int64_t			 next_full;	/* the next round is due */
	int64_t			 next_answer;	/* a scan to answer; 0: none */
	int64_t			 last_full, last_start;
	bool			 changed;	/* during the round */
	int64_t			 changed_at;
	struct round		*round;
	struct nodemap		*peers;		/* struct partner */
	uint64_t		 next_cid;
	struct kvsync_stats	 stats;
	struct kvmsg_entry	 ents[KVMSG_ITEMS_MAX];	/* a page */
};

static void	arm(struct kvsync *);
static void	kick(struct kvsync *);

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static const char *
rkey_key(const struct round *r, const struct rkey *rk)
{
	return r->arena + rk->off;
}

static bool
expired(const struct kv_item *it, uint64_t wall)
{
	return it->expires_ms != 0 && it->expires_ms <= wall;
}

/* A tombstone older than kv_tombstone_ttl. */
static bool
old_tombstone(const struct kvsync *ks, const struct kv_item *it,
    uint64_t wall)
{
	return it->tombstone && wall > ks->par.tombstone_ttl_ms &&
	    hlc_wall_ms(it->ver.hlc) < wall - ks->par.tombstone_ttl_ms;
}

static void
item_hash(const char *key, size_t keylen, const struct kv_version *ver,
    uint8_t out[KVMSG_DIGEST_LEN])
{
	uint8_t	buf[KV_KEY_MAX + 8 + NODE_ID_LEN];
	int	i;

	memcpy(buf, key, keylen);
	for (i = 0; i < 8; i++)
		buf[keylen + i] = (uint8_t)(ver->hlc >> (56 - 8 * i));
	memcpy(buf + keylen + 8, ver->node, NODE_ID_LEN);
	crypto_generichash(out, KVMSG_DIGEST_LEN, buf, keylen + 8 +
	    NODE_ID_LEN, NULL, 0);
}

static int
idxv_push(struct idxv *v, uint32_t i)
{
	uint32_t	*nv;
	size_t		 cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 64;
		if ((nv = reallocarray(v->v, cap, sizeof(*nv))) == NULL)
			return -1;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = i;
	return 0;
}

static struct rpeer *
rpeer_find(const struct round *r, const uint8_t *id)
{
	size_t	lo = 0, hi = r->npeers, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = memcmp(id, r->peers[mid].id, NODE_ID_LEN)) == 0)
			return &r->peers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The round, once its scan is done; NULL meanwhile. */
static struct round *
ready(const struct kvsync *ks)
{
	return ks->round != NULL && !ks->round->scanning ? ks->round : NULL;
}

/* Where key is in rp's co, or -1. */
static long
co_find(const struct round *r, const struct rpeer *rp, const char *key,
    size_t keylen)
{
	const struct rkey	*rk;
	uint32_t		 b = place_bucket(key, keylen, KVMSG_BUCKETS);
	size_t			 lo = rp->bstart[b], hi = rp->bstart[b + 1];
	size_t			 mid;
	int			 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		rk = &r->keys[rp->co.v[mid]];
		if ((c = key_cmp(key, keylen, rkey_key(r, rk), rk->len)) == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Where key is in rp's ho, between lo and hi, or -1. */
static long
ho_find(const struct round *r, const struct rpeer *rp, size_t lo, size_t hi,
    const char *key, size_t keylen)
{
	const struct rkey	*rk;
	size_t			 mid;
	int			 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		rk = &r->keys[rp->ho.v[mid]];
		if ((c = key_cmp(key, keylen, rkey_key(r, rk), rk->len)) == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static bool
bit_get(const uint8_t *bits, size_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}

static void
bit_set(uint8_t *bits, size_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Jobs. */

static bool
job_of_round(const struct job *j)
{
	return j->kind != JOB_WANT && j->kind != JOB_KEYS;
}

static void
job_free(struct kvsync *ks, struct partner *p, struct job *j)
{
	if (job_of_round(j)) {
		if (ks->round != NULL)
			ks->round->njobs--;
	} else
		p->asked -= j->n;
	free(j->co);
	free(j->ents);
	free(j->keys);
	free(j);
}

static void
jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static void
jobq_pop(struct kvsync *ks, struct partner *p, struct jobq *q)
{
	struct job	*j = q->head;

	if ((q->head = j->next) == NULL)
		q->tail = NULL;
	job_free(ks, p, j);
}

/* Drops the jobs of q that use the round (all: every job). */
static void
jobq_drop(struct kvsync *ks, struct partner *p, struct jobq *q, bool all)
{
	struct job	*j, *next, *keep = NULL, *tail = NULL;

	for (j = q->head; j != NULL; j = next) {
		next = j->next;
		if (all || job_of_round(j)) {
			job_free(ks, p, j);
			continue;
		}
		j->next = NULL;
		if (tail != NULL)
			tail->next = j;
		else
			keep = j;
		tail = j;
	}
	q->head = keep;
	q->tail = tail;
}

static struct job *
job_new(struct kvsync *ks, struct partner *p, enum job_kind kind)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("kvsync");
		return NULL;
	}
	j->kind = kind;
	j->since = clock_ms();
	if (job_of_round(j))
		ks->round->njobs++;
	jobq_push(kind == JOB_COKEYS || kind == JOB_KEYS ? &p->data : &p->ctl,
	    j);
	return j;
}

/*
 * A job of entries (JOB_WANT, JOB_KEYS) with copies of the n keys and
 * versions of ents.  NULL if out of memory: then a WANT is not sent at
 * all, never sent short, which would say we hold what we lack.
 */
static struct job *
job_entries(struct kvsync *ks, struct partner *p, enum job_kind kind,
    const struct kvmsg_entry *ents, size_t n, uint64_t cid)
{
	struct job		*j;
	struct kvmsg_entry	*copy = NULL;
	char			*keys = NULL;
	size_t			 i, len = 0, off = 0;

	for (i = 0; i < n; i++)
		len += ents[i].keylen;
	if (n > 0 && ((copy = calloc(n, sizeof(*copy))) == NULL ||
	    (keys = malloc(len)) == NULL)) {
		log_warn("kvsync");
		free(copy);
		return NULL;
	}
	if ((j = job_new(ks, p, kind)) == NULL) {
		free(copy);
		free(keys);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		memcpy(keys + off, ents[i].key, ents[i].keylen);
		copy[i] = ents[i];
		copy[i].key = keys + off;
		off += ents[i].keylen;
	}
	j->cid = cid;
	j->ents = copy;
	j->keys = keys;
	j->n = n;
	p->asked += n;
	return j;
}

static struct partner *
partner_get(struct kvsync *ks, const uint8_t *id)
{
	struct partner	*p;

	if ((p = nodemap_get(ks->peers, id)) == NULL &&
	    (p = nodemap_put(ks->peers, id)) == NULL)
		log_warnx("kvsync: no room for another node");
	return p;
}

static void
partner_drop_jobs(struct kvsync *ks, struct partner *p, bool all)
{
	jobq_drop(ks, p, &p->ctl, all);
	jobq_drop(ks, p, &p->data, all);
}

/* What we sent id is given up: the round waits no more for it. */
static void
partner_give_up(struct kvsync *ks, const uint8_t *id, struct partner *p)
{
	struct rpeer	*rp;

	partner_drop_jobs(ks, p, true);
	if (ready(ks) == NULL || (rp = rpeer_find(ks->round, id)) == NULL)
		return;
	rp->have_left = 0;
	rp->have_cid = 0;
	rp->ho_cid = 0;
	rp->ho_at = rp->ho.n;
}

/* Sending. */

/*
 * Sends the item held for key to id as a repair, if it is newer than
 * floor (hlc 0: if held at all) and neither expired nor sent to it this
 * round already (co: its index in rp's co, or -1).
 */
static enum route_result
send_item(struct kvsync *ks, const uint8_t *id, struct rpeer *rp, long co,
    const char *key, size_t keylen, const struct kv_version *floor,
    int *budget)
{
	struct kvmsg		m;
	struct kv_item		it;
	enum route_result	res;

	if (rp != NULL && co >= 0 && bit_get(rp->sent, (size_t)co))
		return ROUTE_SENT;
	if (kvstore_get(ks->store, key, keylen, &it) != 1 ||
	    expired(&it, clock_wall_ms()) ||
	    (floor != NULL && floor->hlc != 0 &&
	    kv_version_cmp(&it.ver, floor) <= 0))
		return ROUTE_SENT;
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_STORE;
	m.key = it.key;
	m.keylen = it.keylen;
	m.has_item = true;
	m.item = it;
	m.repair = true;
	if ((res = kvpost_send(ks->post, id, 0, &m)) != ROUTE_SENT)
		return res;
	ks->stats.sent++;
	(*budget)--;
	if (rp != NULL && co >= 0)
		bit_set(rp->sent, (size_t)co);
	return ROUTE_SENT;
}

static enum route_result
send_digest(struct kvsync *ks, const uint8_t *id, struct rpeer *rp)
{
	struct kvmsg	m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_DIGEST;
	memcpy(m.digest, rp->dig, sizeof(m.digest));
	return kvpost_send(ks->post, id, 0, &m);
}

static enum route_result
send_have(struct kvsync *ks, const uint8_t *id, size_t n, uint64_t buckets,
    uint64_t *cid)
{
	struct kvmsg	m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_HAVE;
	m.entries = ks->ents;
	m.nentries = n;
	m.buckets = buckets;
	if (++ks->next_cid == 0)
		ks->next_cid = 1;
	*cid = ks->next_cid;
	return kvpost_send(ks->post, id, *cid, &m);
}

static void
ent_of(struct kvsync *ks, size_t n, const struct round *r, uint32_t k)
{
	const struct rkey	*rk = &r->keys[k];

	ks->ents[n].key = rkey_key(r, rk);
	ks->ents[n].keylen = rk->len;
	ks->ents[n].ver = rk->ver;
}

/*
 * The next page of our HAVE answering rp's digest: whole buckets where
 * they fit (the page then covers them), a bucket too large for one in
 * slices, the last of which covers it.
 */
static enum route_result
send_have_page(struct kvsync *ks, const uint8_t *id, struct rpeer *rp)
{
	const struct round	*r = ks->round;
	enum route_result	 res;
	uint64_t		 left = rp->have_left, bk = 0, cid;
	size_t			 n = 0, at = rp->have_at, cnt, bytes = 0;
	unsigned		 b;

	while (left != 0 && n < KVMSG_ITEMS_MAX && bytes < PAGE_BYTES) {
		b = (unsigned)__builtin_ctzll(left);
		cnt = rp->bstart[b + 1] - rp->bstart[b];
		while (at < cnt && n < KVMSG_ITEMS_MAX && bytes < PAGE_BYTES) {
			ent_of(ks, n, r, rp->co.v[rp->bstart[b] + at++]);
			bytes += ENTRY_BYTES(ks->ents[n++].keylen);
		}
		if (at < cnt)
			break;
		bk |= 1ull << b;
		left &= ~(1ull << b);
		at = 0;
	}
	if ((res = send_have(ks, id, n, bk, &cid)) != ROUTE_SENT)
		return res;
	rp->have_left = left;
	rp->have_at = at;
	rp->have_cid = cid;
	return ROUTE_SENT;
}

/* The next page of the keys we hand rp. */
static enum route_result
send_handoff_page(struct kvsync *ks, const uint8_t *id, struct rpeer *rp)
{
	const struct round	*r = ks->round;
	enum route_result	 res;
	uint64_t		 cid;
	size_t			 n = 0, bytes = 0;

	while (rp->ho_at + n < rp->ho.n && n < KVMSG_ITEMS_MAX &&
	    bytes < PAGE_BYTES) {
		ent_of(ks, n, r, rp->ho.v[rp->ho_at + n]);
		bytes += ENTRY_BYTES(ks->ents[n++].keylen);
	}
	if ((res = send_have(ks, id, n, 0, &cid)) != ROUTE_SENT)
		return res;
	rp->ho_lo = rp->ho_at;
	rp->ho_hi = rp->ho_at + n;
	rp->ho_at = rp->ho_hi;
	rp->ho_cid = cid;
	return ROUTE_SENT;
}

/* Runs job j towards id as far as the route and budget allow. */
static enum route_result
job_run(struct kvsync *ks, const uint8_t *id, struct job *j, int *budget)
{
	struct rpeer		*rp = NULL;
	struct kvmsg		 m;
	enum route_result	 res = ROUTE_SENT;
	const struct rkey	*rk;

	if (ready(ks) != NULL)
		rp = rpeer_find(ks->round, id);
	switch (j->kind) {
	case JOB_DIGEST:
	case JOB_HAVE:
	case JOB_HANDOFF:
		if (rp == NULL || (j->kind == JOB_HAVE && rp->have_left == 0) ||
		    (j->kind == JOB_HANDOFF && rp->ho_at >= rp->ho.n))
			return ROUTE_SENT;
		/* The store's nodes changed since the scan: a round soon. */
		if (ks->changed && j->kind != JOB_HAVE) {
			if (j->kind == JOB_HANDOFF)
				rp->ho_at = rp->ho.n;
			return ROUTE_SENT;
		}
		if (j->kind == JOB_DIGEST)
			res = send_digest(ks, id, rp);
		else if (j->kind == JOB_HAVE)
			res = send_have_page(ks, id, rp);
		else
			res = send_handoff_page(ks, id, rp);
		if (res == ROUTE_SENT)
			(*budget)--;
		return res;
	case JOB_WANT:
		memset(&m, 0, sizeof(m));
		m.kind = KVMSG_WANT;
		m.entries = j->ents;
		m.nentries = j->n;
		if ((res = kvpost_send(ks->post, id, j->cid, &m)) ==
		    ROUTE_SENT)
			(*budget)--;
		return res;
	case JOB_COKEYS:
		if (rp == NULL)
			return ROUTE_SENT;
		for (; j->at < j->n && *budget > 0; j->at++) {
			rk = &ks->round->keys[rp->co.v[j->co[j->at]]];
			if ((res = send_item(ks, id, rp, (long)j->co[j->at],
			    rkey_key(ks->round, rk), rk->len, NULL, budget)) !=
			    ROUTE_SENT)
				return res;
		}
		return ROUTE_SENT;
	case JOB_KEYS:
		for (; j->at < j->n && *budget > 0; j->at++)
			if ((res = send_item(ks, id, rp, rp != NULL ?
			    co_find(ks->round, rp, j->ents[j->at].key,
			    j->ents[j->at].keylen) : -1, j->ents[j->at].key,
			    j->ents[j->at].keylen, &j->ents[j->at].ver,
			    budget)) != ROUTE_SENT)
				return res;
		return ROUTE_SENT;
	}
	return ROUTE_SENT;
}

/*
 * Runs p's jobs, the control ones first.  False if the route to it is
 * full (or the budget spent) with jobs left.
 */
static bool
partner_run(struct kvsync *ks, const uint8_t *id, struct partner *p,
    int *budget)
{
	struct jobq		*q;
	struct job		*j;
	enum route_result	 res;
	int			 i, before;

	for (i = 0; i < 2; i++) {
		q = i == 0 ? &p->ctl : &p->data;
		while ((j = q->head) != NULL) {
			if (*budget <= 0)
				return false;
			before = *budget;
			res = job_run(ks, id, j, budget);
			if (*budget < before)
				j->since = clock_ms();
			if (res == ROUTE_NO_PATH) {
				log_debug("kvsync: no route to a node: its "
				    "sync waits for the next round");
				partner_give_up(ks, id, p);
				return true;
			}
			if (res == ROUTE_FULL) {
				/* Given up when it stays full as long. */
				if (clock_ms() - j->since > ROUND_DEADLINE_MS) {
					log_info("kvsync: the route to a node "
					    "stayed full for %d s: dropped "
					    "what was queued for it",
					    ROUND_DEADLINE_MS / 1000);
					partner_give_up(ks, id, p);
					return true;
				}
				return false;
			}
			if (j->at < j->n && (j->kind == JOB_COKEYS ||
			    j->kind == JOB_KEYS))
				return false;
			jobq_pop(ks, p, q);
		}
	}
	return true;
}

/* Rounds. */

static void
round_free(struct round *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->npeers; i++) {
		free(r->peers[i].co.v);
		free(r->peers[i].ho.v);
		free(r->peers[i].seen);
		free(r->peers[i].sent);
	}
	free(r->peers);
	free(r->keys);
	free(r->arena);
	free(r);
}

static bool
round_done(const struct kvsync *ks, int64_t now)
{
	const struct round	*r = ks->round;
	const struct rpeer	*rp;
	size_t			 i;

	if (r->scanning)
		return false;
	if (now >= r->deadline)
		return true;
	if (now < r->min_end || r->njobs > 0)
		return false;
	for (i = 0; i < r->npeers; i++) {
		rp = &r->peers[i];
		if (rp->have_left != 0 || rp->have_cid != 0 ||
		    rp->ho_cid != 0 || rp->ho_at < rp->ho.n)
			return false;
	}
	return true;
}

/* A pending digest: a round soon, or a scan that only answers. */
static void
digest_pending(struct kvsync *ks, int64_t now)
{
	int64_t	at, gap;

	if (now - ks->last_full >= (int64_t)ks->par.interval_ms / 2) {
		if (ks->next_full > now + (int64_t)ks->par.settle_ms)
			ks->next_full = now + (int64_t)ks->par.settle_ms;
	} else if (ks->next_answer == 0) {
		/* A scan a quarter interval (or 10 s) at most, whoever asks. */
		gap = ks->par.interval_ms / 4 < ROUND_DEADLINE_MS ?
		    (int64_t)ks->par.interval_ms / 4 : ROUND_DEADLINE_MS;
		at = ks->last_start + gap;
		if (at < now + (int64_t)ks->par.settle_ms)
			at = now + (int64_t)ks->par.settle_ms;
		ks->next_answer = at;
	}
}

static void
round_end(struct kvsync *ks, int64_t now)
{
	struct round	*r = ks->round;
	struct partner	*p;
	const uint8_t	*id;
	size_t		 i, unanswered = 0;
	bool		 pending = false;

	for (i = 0; i < r->npeers; i++)
		if (r->peers[i].have_cid != 0 || r->peers[i].ho_cid != 0 ||
		    r->peers[i].have_left != 0 ||
		    r->peers[i].ho_at < r->peers[i].ho.n)
			unanswered++;
	if (unanswered > 0)
		log_info("kvsync: round ended at its deadline; %zu nodes "
		    "did not answer in time", unanswered);
	for (i = nodemap_count(ks->peers); i-- > 0;) {
		p = nodemap_at(ks->peers, i, &id);
		partner_drop_jobs(ks, p, !kvring_has(ks->ring, id));
		if (p->has_digest)
			pending = true;
		else if (p->ctl.head == NULL && p->data.head == NULL)
			nodemap_del(ks->peers, id);
	}
	log_debug("kvsync: round of %zu keys and %zu nodes took %lld ms",
	    r->nkeys, r->npeers, (long long)(now - r->started));
	round_free(r);
	ks->round = NULL;
	if (ks->changed) {
		ks->changed = false;
		if (ks->next_full > ks->changed_at + (int64_t)ks->par.settle_ms)
			ks->next_full = ks->changed_at +
			    (int64_t)ks->par.settle_ms;
	}
	if (pending)
		digest_pending(ks, now);
}

/* What kvstore_scan gives a round. */
static int
scan_item(void *arg, const struct kv_item *it)
{
	struct kvsync	*ks = arg;
	struct round	*r = ks->round;
	struct rkey	*rk, *nk;
	struct rpeer	*rp;
	uint8_t		 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	uint8_t		 h[KVMSG_DIGEST_LEN];
	size_t		 n, i, cap, refs = 0;
	char		*na;
	bool		 gone, mine = false;
	int		 j;

	if (it->keylen == 0 || it->keylen > KV_KEY_MAX)
		return 0;
	memcpy(r->after, it->key, it->keylen);
	r->afterlen = it->keylen;
	gone = expired(it, r->wall) || old_tombstone(ks, it, r->wall);
	if (gone && !r->full)
		goto out;
	if (r->nkeys == r->capkeys) {
		cap = r->capkeys ? r->capkeys * 2 : 1024;
		if (cap > UINT32_MAX ||
		    (nk = reallocarray(r->keys, cap, sizeof(*nk))) == NULL)
			goto fail;
		r->keys = nk;
		r->capkeys = cap;
	}
	if (r->arenalen + it->keylen > r->arenacap) {
		cap = r->arenacap ? r->arenacap * 2 : 65536;
		if ((na = realloc(r->arena, cap)) == NULL)
			goto fail;
		r->arena = na;
		r->arenacap = cap;
	}
	rk = &r->keys[r->nkeys];
	memset(rk, 0, sizeof(*rk));
	rk->off = r->arenalen;
	rk->len = (uint16_t)it->keylen;
	rk->ver = it->ver;
	memcpy(r->arena + rk->off, it->key, it->keylen);
	if (gone) {
		rk->flags = RK_GONE | (expired(it, r->wall) ? RK_EXPIRED : 0);
		refs++;
		goto out;
	}
	n = kvring_owners(ks->ring, it->key, it->keylen, owners);
	for (i = 0; i < n; i++)
		if (memcmp(owners[i], ks->self, NODE_ID_LEN) == 0)
			mine = true;
	if (n == 0)
		goto out;
	if (!mine) {
		/* Ours to hand off, in a full round only. */
		if (!r->full)
			goto out;
		rk->nowners = (uint8_t)n;
		for (i = 0; i < n; i++) {
			if ((rp = rpeer_find(r, owners[i])) == NULL) {
				rk->nowners = UINT8_MAX;
				continue;
			}
			if (idxv_push(&rp->ho, (uint32_t)r->nkeys) == -1)
				goto fail;
			refs++;
		}
		goto out;
	}
	rk->bucket = (uint8_t)place_bucket(it->key, it->keylen,
	    KVMSG_BUCKETS);
	item_hash(it->key, it->keylen, &it->ver, h);
	for (i = 0; i < n; i++) {
		if (memcmp(owners[i], ks->self, NODE_ID_LEN) == 0 ||
		    (rp = rpeer_find(r, owners[i])) == NULL)
			continue;
		for (j = 0; j < KVMSG_DIGEST_LEN; j++)
			rp->dig[rk->bucket][j] ^= h[j];
		if (idxv_push(&rp->co, (uint32_t)r->nkeys) == -1)
			goto fail;
		refs++;
	}
out:
	/* A key no other node shares is not kept. */
	if (refs > 0) {
		r->nkeys++;
		r->arenalen += it->keylen;
	}
	return --r->chunk == 0;
fail:
	r->failed = true;
	return 1;
}

static int
co_cmp(const void *a, const void *b, void *arg)
{
	const struct round	*r = arg;
	const struct rkey	*x = &r->keys[*(const uint32_t *)a];
	const struct rkey	*y = &r->keys[*(const uint32_t *)b];

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return key_cmp(rkey_key(r, x), x->len, rkey_key(r, y), y->len);
}

static int
ho_cmp(const void *a, const void *b, void *arg)
{
	const struct round	*r = arg;
	const struct rkey	*x = &r->keys[*(const uint32_t *)a];
	const struct rkey	*y = &r->keys[*(const uint32_t *)b];

	return key_cmp(rkey_key(r, x), x->len, rkey_key(r, y), y->len);
}

/* Sorts rp's lists and makes its bitmaps.  -1: out of memory. */
static int
rpeer_index(struct round *r, struct rpeer *rp)
{
	size_t	i, bits = rp->co.n / 8 + 1;
	uint8_t	b;

	if (rp->co.n > 0)
		qsort_r(rp->co.v, rp->co.n, sizeof(uint32_t), co_cmp, r);
	if (rp->ho.n > 0)
		qsort_r(rp->ho.v, rp->ho.n, sizeof(uint32_t), ho_cmp, r);
	memset(rp->bstart, 0, sizeof(rp->bstart));
	for (i = 0; i < rp->co.n; i++) {
		b = r->keys[rp->co.v[i]].bucket;
		rp->bstart[b + 1]++;
	}
	for (i = 0; i < KVMSG_BUCKETS; i++)
		rp->bstart[i + 1] += rp->bstart[i];
	if ((rp->seen = calloc(1, bits)) == NULL ||
	    (rp->sent = calloc(1, bits)) == NULL)
		return -1;
	return 0;
}

/* Forgets a key gone by the scan, unless it changed since. */
static void
drop_gone(struct kvsync *ks, const struct rkey *rk)
{
	struct round	*r = ks->round;
	struct kv_item	 it, copy;
	uint8_t		 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	const char	*key = rkey_key(r, rk);
	uint8_t		*val = NULL;
	char		 esc[KV_KEY_MAX * 4 + 1];

	if (kvstore_get(ks->store, key, rk->len, &it) != 1 ||
	    kv_version_cmp(&it.ver, &rk->ver) != 0)
		return;
	if ((rk->flags & RK_EXPIRED) &&
	    kvring_owners(ks->ring, key, rk->len, owners) > 0 &&
	    memcmp(owners[0], ks->self, NODE_ID_LEN) == 0) {
		/* The item's spans last until the next call on the store. */
		copy = it;
		copy.key = key;
		if (it.valuelen > 0) {
			if ((val = malloc(it.valuelen)) == NULL) {
				log_warn("kvsync");
				return;
			}
			memcpy(val, it.value, it.valuelen);
			copy.value = val;
		}
		if (ks->watch != NULL)
			kvwatch_changed(ks->watch, KV_EXPIRE, &copy);
		else
			log_info("kv: key %s expired", log_escape(key, rk->len,
			    esc, sizeof(esc)));
		free(val);
	}
	if (kvstore_drop(ks->store, key, rk->len) == 0)
		ks->stats.expired++;
}

/* Answers rp's digest, unless an answer is under way already. */
static void
answer_digest(struct kvsync *ks, struct rpeer *rp,
    const uint8_t dig[KVMSG_BUCKETS][KVMSG_DIGEST_LEN])
{
	struct partner	*p;
	uint64_t	 mask = 0;
	unsigned	 b;

	if (!ks->round->member || rp->have_left != 0 || rp->have_cid != 0)
		return;
	for (b = 0; b < KVMSG_BUCKETS; b++)
		if (memcmp(rp->dig[b], dig[b], KVMSG_DIGEST_LEN) != 0)
			mask |= 1ull << b;
	if (mask == 0 || (p = partner_get(ks, rp->id)) == NULL)
		return;
	rp->have_left = mask;
	rp->have_at = 0;
	if (job_new(ks, p, JOB_HAVE) == NULL)
		rp->have_left = 0;
}

/* The scan is done: digests out, digests in answered, keys gone. */
static void
scan_done(struct kvsync *ks, int64_t now)
{
	struct round		*r = ks->round;
	struct rpeer		*rp;
	struct partner		*p;
	uint64_t		 span;
	size_t			 i, k;

	for (i = 0; i < r->npeers && !r->failed; i++)
		if (rpeer_index(r, &r->peers[i]) == -1)
			r->failed = true;
	if (r->failed) {
		log_warnx("kvsync: out of memory or a store error in a "
		    "round of %zu keys: it waits for the next", r->nkeys);
		round_free(r);
		ks->round = NULL;
		return;
	}
	r->scanning = false;
	span = 2 * ks->par.interval_ms < ROUND_DEADLINE_MS ?
	    2 * ks->par.interval_ms : ROUND_DEADLINE_MS;
	r->deadline = now + (int64_t)span;
	r->min_end = now + (int64_t)(2 * ks->par.settle_ms < span ?
	    2 * ks->par.settle_ms : span);
	if (ks->changed)
		r->min_end = now;
	if (r->full)
		for (k = 0; k < r->nkeys; k++)
			if (r->keys[k].flags & RK_GONE)
				drop_gone(ks, &r->keys[k]);
	for (i = 0; i < r->npeers; i++) {
		rp = &r->peers[i];
		if ((p = nodemap_get(ks->peers, rp->id)) != NULL &&
		    p->has_digest) {
			p->has_digest = false;
			answer_digest(ks, rp, (const uint8_t (*)
			    [KVMSG_DIGEST_LEN])p->digest);
		}
		if (!r->full || (!r->member && rp->ho.n == 0) ||
		    (p = partner_get(ks, rp->id)) == NULL)
			continue;
		if (r->member)
			(void)job_new(ks, p, JOB_DIGEST);
		if (rp->ho.n > 0 && job_new(ks, p, JOB_HANDOFF) == NULL)
			rp->ho_at = rp->ho.n;
	}
	kick(ks);
}

/* The next chunk of the round's scan. */
static void
scan_step(struct kvsync *ks, int64_t now)
{
	struct round	*r = ks->round;
	long		 n;

	r->chunk = SCAN_CHUNK;
	n = kvstore_scan(ks->store, "", 0, r->afterlen > 0 ? r->after : NULL,
	    r->afterlen, scan_item, ks);
	if (n == -1)
		r->failed = true;
	if (r->failed || n < SCAN_CHUNK)
		scan_done(ks, now);
}

static void
round_start(struct kvsync *ks, bool full, int64_t now)
{
	struct round		*r;
	const uint8_t		(*ids)[NODE_ID_LEN];
	size_t			 n, i;

	ks->next_answer = 0;
	ks->last_start = now;
	if (full) {
		ks->last_full = now;
		ks->next_full = now + (int64_t)(ks->par.interval_ms *
		    (90 + randombytes_uniform(21)) / 100);
		ks->stats.rounds++;
	}
	n = kvring_nodes(ks->ring, &ids);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (n > 0 && (r->peers = calloc(n, sizeof(*r->peers))) == NULL)) {
		log_warn("kvsync: round");
		free(r);
		return;
	}
	ks->round = r;
	r->full = full;
	r->member = kvring_has(ks->ring, ks->self);
	r->scanning = true;
	r->started = now;
	r->wall = clock_wall_ms();
	for (i = 0; i < n; i++)
		if (memcmp(ids[i], ks->self, NODE_ID_LEN) != 0)
			memcpy(r->peers[r->npeers++].id, ids[i], NODE_ID_LEN);
	scan_step(ks, now);
}

/* Timers. */

static void
arm(struct kvsync *ks)
{
	struct timeval	tv;
	int64_t		now = clock_ms(), due;

	if (ks->round != NULL && ks->round->scanning)
		due = now;
	else if (ks->round != NULL)
		due = now < ks->round->min_end ? ks->round->min_end :
		    ks->round->deadline;
	else {
		due = ks->next_full;
		if (ks->next_answer != 0 && ks->next_answer < due)
			due = ks->next_answer;
	}
	duration_timeval(due > now ? (uint64_t)(due - now) : 0, &tv);
	evtimer_add(ks->tick, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kvsync	*ks = arg;
	int64_t		 now = clock_ms();

	(void)fd; (void)what;
	if (ks->round != NULL && ks->round->scanning)
		scan_step(ks, now);
	else if (ks->round != NULL && round_done(ks, now))
		round_end(ks, now);
	if (ks->round == NULL) {
		if (now >= ks->next_full)
			round_start(ks, true, now);
		else if (ks->next_answer != 0 && now >= ks->next_answer)
			round_start(ks, false, now);
	}
	arm(ks);
}

/* Sends what is queued soon, not from within the caller. */
static void
kick(struct kvsync *ks)
{
	struct timeval	tv = { 0, 0 };

	if (ks->pace_armed)
		return;
	ks->pace_armed = true;
	evtimer_add(ks->pace, &tv);
}

static void
pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kvsync	*ks = arg;
	struct timeval	 tv;
	struct partner	*p;
	const uint8_t	*id;
	size_t		 i;
	int		 budget = SENDS_PER_TICK;
	bool		 full = false;

	(void)fd; (void)what;
	ks->pace_armed = false;
	for (i = 0; i < nodemap_count(ks->peers); i++) {
		p = nodemap_at(ks->peers, i, &id);
		if (!partner_run(ks, id, p, &budget))
			full = true;
	}
	if (full) {
		ks->pace_armed = true;
		duration_timeval(budget > 0 ? PACE_MS : 0, &tv);
		evtimer_add(ks->pace, &tv);
	}
	if (ks->round != NULL && round_done(ks, clock_ms())) {
		round_end(ks, clock_ms());
		arm(ks);
	}
}

/* Messages. */

static void
on_digest(struct kvsync *ks, const uint8_t *from, const struct kvmsg *m)
{
	struct rpeer	*rp;
	struct partner	*p;

	if (!kvring_has(ks->ring, ks->self) || !kvring_has(ks->ring, from))
		return;
	if (ready(ks) != NULL && (rp = rpeer_find(ks->round, from)) != NULL &&
	    rp->have_left == 0 && rp->have_cid == 0) {
		answer_digest(ks, rp, (const uint8_t (*)[KVMSG_DIGEST_LEN])
		    m->digest);
		kick(ks);
		return;
	}
	if ((p = partner_get(ks, from)) == NULL)
		return;
	memcpy(p->digest, m->digest, sizeof(p->digest));
	p->has_digest = true;
	if (ks->round == NULL) {
		digest_pending(ks, clock_ms());
		arm(ks);
	}
}

/*
 * A HAVE: a WANT of what is newer there, our items newer than its, and
 * (answering our digest) ours missing from the buckets it covers.
 */
static void
on_have(struct kvsync *ks, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct round			*r;
	struct rpeer			*rp = NULL;
	struct partner			*p;
	struct job			*j;
	struct kv_item			 it;
	const struct kvmsg_entry	*e;
	struct kvmsg_entry		*want = ks->ents, *newer = NULL;
	size_t				 i, nwant = 0, nnewer = 0, ncok = 0;
	uint64_t			 wall = clock_wall_ms();
	uint32_t			*cok = NULL;
	long				 c;
	unsigned			 b;
	int				 got;

	/* Only a node of the store may say it holds keys. */
	if (!kvring_has(ks->ring, ks->self) ||
	    (p = partner_get(ks, from)) == NULL)
		return;
	if (p->asked + 2 * m->nentries > ASKED_MAX) {
		log_debug("kvsync: a node's HAVE waits: %zu keys queued for "
		    "it", p->asked);
		return;
	}
	if (m->nentries > 0 &&
	    (newer = calloc(m->nentries, sizeof(*newer))) == NULL) {
		log_warn("kvsync");
		return;
	}
	if ((r = ready(ks)) != NULL && r->member)
		rp = rpeer_find(r, from);
	for (i = 0; i < m->nentries; i++) {
		e = &m->entries[i];
		if (rp != NULL &&
		    (c = co_find(r, rp, e->key, e->keylen)) >= 0)
			bit_set(rp->seen, (size_t)c);
		if ((got = kvstore_get(ks->store, e->key, e->keylen,
		    &it)) == -1) {
			/* Not answered: it must not take us to hold these. */
			free(newer);
			return;
		}
		if (got == 0 || expired(&it, wall) ||
		    kv_version_cmp(&it.ver, &e->ver) < 0) {
			want[nwant] = *e;
			if (got == 0 || expired(&it, wall))
				memset(&want[nwant].ver, 0,
				    sizeof(want[nwant].ver));
			else
				want[nwant].ver = it.ver;
			nwant++;
		} else if (kv_version_cmp(&it.ver, &e->ver) > 0 &&
		    kvring_owns(ks->ring, from, e->key, e->keylen))
			/* Not to a node that hands the key off. */
			newer[nnewer++] = *e;
	}
	(void)job_entries(ks, p, JOB_WANT, want, nwant, cid);
	if (nnewer > 0)
		(void)job_entries(ks, p, JOB_KEYS, newer, nnewer, 0);
	free(newer);
	/* Ours in the buckets it covers that it did not list. */
	if (rp != NULL && m->buckets != 0) {
		for (b = 0; b < KVMSG_BUCKETS; b++)
			if (m->buckets & (1ull << b))
				for (i = rp->bstart[b]; i < rp->bstart[b + 1];
				    i++)
					if (!bit_get(rp->seen, i))
						ncok++;
		if (ncok > 0 && (cok = calloc(ncok, sizeof(*cok))) != NULL &&
		    (j = job_new(ks, p, JOB_COKEYS)) != NULL) {
			ncok = 0;
			for (b = 0; b < KVMSG_BUCKETS; b++)
				if (m->buckets & (1ull << b))
					for (i = rp->bstart[b];
					    i < rp->bstart[b + 1]; i++)
						if (!bit_get(rp->seen, i)) {
							bit_set(rp->seen, i);
							cok[ncok++] =
							    (uint32_t)i;
						}
			j->co = cok;
			j->n = ncok;
			cok = NULL;
		}
		free(cok);
	}
	kick(ks);
}

/* Drops a key handed off, if it is as offered and still not ours. */
static void
handoff_drop(struct kvsync *ks, const struct rkey *rk)
{
	const char	*key = rkey_key(ks->round, rk);
	struct kv_item	 it;

	if (kvstore_get(ks->store, key, rk->len, &it) != 1 ||
	    kv_version_cmp(&it.ver, &rk->ver) != 0 ||
	    kvring_owns(ks->ring, ks->self, key, rk->len))
		return;
	if (kvstore_drop(ks->store, key, rk->len) == 0)
		ks->stats.handed_off++;
}

/* rp's WANT acks our page of keys handed to it. */
static void
handoff_acked(struct kvsync *ks, struct rpeer *rp, const struct kvmsg *m)
{
	struct round	*r = ks->round;
	struct rkey	*rk;
	size_t		 i;
	long		 at;

	for (i = 0; i < m->nentries; i++)
		if ((at = ho_find(r, rp, rp->ho_lo, rp->ho_hi,
		    m->entries[i].key, m->entries[i].keylen)) >= 0)
			r->keys[rp->ho.v[at]].flags |= RK_MARK | RK_WANTED;
	for (i = rp->ho_lo; i < rp->ho_hi; i++) {
		rk = &r->keys[rp->ho.v[i]];
		if (rk->flags & RK_MARK) {
			rk->flags &= ~RK_MARK;
			continue;
		}
		if (++rk->nhave == rk->nowners && !(rk->flags & RK_WANTED))
			handoff_drop(ks, rk);
	}
}

static void
on_want(struct kvsync *ks, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct rpeer	*rp = NULL;
	struct partner	*p;

	if ((p = partner_get(ks, from)) == NULL)
		return;
	if (ready(ks) != NULL)
		rp = rpeer_find(ks->round, from);
	if (rp != NULL && cid != 0 && cid == rp->ho_cid) {
		handoff_acked(ks, rp, m);
		rp->ho_cid = 0;
		if (rp->ho_at < rp->ho.n && job_new(ks, p, JOB_HANDOFF) ==
		    NULL)
			rp->ho_at = rp->ho.n;
	} else if (rp != NULL && cid != 0 && cid == rp->have_cid) {
		rp->have_cid = 0;
		if (rp->have_left != 0 && job_new(ks, p, JOB_HAVE) == NULL)
			rp->have_left = 0;
		/* A digest that came meanwhile: answered now. */
		if (rp->have_left == 0 && p->has_digest) {
			p->has_digest = false;
			answer_digest(ks, rp, (const uint8_t (*)
			    [KVMSG_DIGEST_LEN])p->digest);
		}
	}
	if (m->nentries > 0) {
		if (p->asked + m->nentries > ASKED_MAX)
			log_debug("kvsync: a node's WANT of %zu keys waits "
			    "for the next round: %zu queued for it",
			    m->nentries, p->asked);
		else
			(void)job_entries(ks, p, JOB_KEYS, m->entries,
			    m->nentries, 0);
	}
	kick(ks);
}

/* The module. */

struct kvsync *
kvsync_new(struct event_base *base, const struct kvsync_params *p,
    struct kvstore *store, struct kvring *ring, struct kvpost *post,
    struct kvwatch *watch)
{
	struct kvsync	*ks;
	int64_t		 now = clock_ms();

	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->peers = nodemap_new(sizeof(struct partner), MEMBERS_MAX)) ==
	    NULL || (ks->tick = evtimer_new(base, tick_cb, ks)) == NULL ||
	    (ks->pace = evtimer_new(base, pace_cb, ks)) == NULL) {
		log_warnx("kvsync: cannot start");
		kvsync_free(ks);
		return NULL;
	}
	ks->par = *p;
	memcpy(ks->self, p->self, NODE_ID_LEN);
	ks->par.self = ks->self;
	ks->store = store;
	ks->ring = ring;
	ks->post = post;
	ks->watch = watch;
	/* A node restarted with keys compares them soon. */
	ks->next_full = now + (int64_t)p->settle_ms;
	ks->last_full = ks->last_start = now - (int64_t)p->interval_ms;
	arm(ks);
	return ks;
}

void
kvsync_free(struct kvsync *ks)
{
	struct partner	*p;
	const uint8_t	*id;
	size_t		 i;

	if (ks == NULL)
		return;
	if (ks->peers != NULL) {
		for (i = 0; i < nodemap_count(ks->peers); i++) {
			p = nodemap_at(ks->peers, i, &id);
			partner_drop_jobs(ks, p, true);
		}
		nodemap_free(ks->peers);
	}
	round_free(ks->round);
	if (ks->tick != NULL)
		event_free(ks->tick);
	if (ks->pace != NULL)
		event_free(ks->pace);
	free(ks);
}

void
kvsync_changed(struct kvsync *ks)
{
	struct partner	*p;
	const uint8_t	*id;
	int64_t		 now = clock_ms();
	size_t		 i;

	/* Digests of the views before: their senders' next rounds tell. */
	for (i = 0; i < nodemap_count(ks->peers); i++) {
		p = nodemap_at(ks->peers, i, &id);
		p->has_digest = false;
	}
	if (ks->round != NULL) {
		if (!ks->changed)
			ks->changed_at = now;
		ks->changed = true;
		/* Its owners are stale: it ends once its work is done. */
		ks->round->min_end = now;
		if (!ks->round->scanning)
			arm(ks);
		return;
	}
	if (ks->next_full > now + (int64_t)ks->par.settle_ms) {
		ks->next_full = now + (int64_t)ks->par.settle_ms;
		arm(ks);
	}
}

void
kvsync_message(struct kvsync *ks, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	if (memcmp(from, ks->self, NODE_ID_LEN) == 0)
		return;
	switch (m->kind) {
	case KVMSG_DIGEST:
		on_digest(ks, from, m);
		break;
	case KVMSG_HAVE:
		on_have(ks, from, cid, m);
		break;
	case KVMSG_WANT:
		on_want(ks, from, cid, m);
		break;
	default:
		break;
	}
}

void
kvsync_stats(const struct kvsync *ks, struct kvsync_stats *st)
{
	*st = ks->stats;
}
