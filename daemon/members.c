/* SPDX-License-Identifier: ISC */
/*
 * members.c: the member table.  A node's own signed record decides its
 * incarnation; claims by others (suspect, dead) apply to the
 * incarnation they name and are overridden by any newer record, which
 * is how a live node refutes them.
 *
 * Against a flood of self-signed identities (anyone holding the network
 * key can mint them), the table keeps what it held before the flood:
 * above a soft size each link peer may introduce only a quota of
 * members not settled yet, and a full table forgets the newest
 * unsettled member, never a settled one.  Both are found by a scan of
 * the table: at most MEMBERS_MAX compares, less than the signature
 * check every new identity costs anyway, and no counts to keep right as
 * members settle with time.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "members.h"

#define BUCKETS	(2 * MEMBERS_MAX)	/* a power of two */

struct members {
	struct member		**m;
	size_t			  n, cap;
	struct members_stats	  stats;
	/* IDs hashed with a secret key: crafted IDs cannot pile up. */
	struct member		**bucket;
	uint8_t			  hkey[crypto_shorthash_KEYBYTES];
	void			(*forget)(const struct member *, void *);
	void			 *forget_arg;
	struct members_limits	  lim;
	bool			(*is_revoked)(void *, const uint8_t *);
	void			 *revoked_arg;
};

static const char	*const state_names[] = {
	[MEMBER_ALIVE] = "alive",
	[MEMBER_SUSPECT] = "suspect",
	[MEMBER_DEAD] = "dead",
	[MEMBER_LEFT] = "left",
};

const char *
member_state_name(enum member_state s)
{
	return state_names[s];
}

static struct member **
bucket_of(const struct members *t, const uint8_t *id)
{
	uint8_t		h[crypto_shorthash_BYTES];
	uint64_t	v = 0;
	int		i;

	crypto_shorthash(h, id, NODE_ID_LEN, t->hkey);
	for (i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return &t->bucket[v & (BUCKETS - 1)];
}

static void
hash_add(struct members *t, struct member *m)
{
	struct member	**b = bucket_of(t, m->rec.id);

	m->hnext = *b;
	*b = m;
}

static void
hash_del(struct members *t, struct member *m)
{
	struct member	**pp = bucket_of(t, m->rec.id);

	while (*pp != NULL && *pp != m)
		pp = &(*pp)->hnext;
	if (*pp != NULL)
		*pp = m->hnext;
}

static void
member_free(struct member *m)
{
	if (m == NULL)
		return;
	free(m->raw);
	free(m);
}

/* Forgets member i, moving the last one into its place. */
static void
forget(struct members *t, size_t i)
{
	struct member	*m = t->m[i];

	if (t->forget != NULL)
		t->forget(m, t->forget_arg);
	hash_del(t, m);
	member_free(m);
	t->m[i] = t->m[--t->n];
}

void
members_on_forget(struct members *t, void (*fn)(const struct member *, void *),
    void *arg)
{
	t->forget = fn;
	t->forget_arg = arg;
}

void
members_on_revoked(struct members *t,
    bool (*is_revoked)(void *, const uint8_t *), void *arg)
{
	t->is_revoked = is_revoked;
	t->revoked_arg = arg;
}

static bool
revoked(const struct members *t, const uint8_t *id)
{
	return t->is_revoked != NULL && t->is_revoked(t->revoked_arg, id);
}

/* Takes the record r and a copy of raw as m's current record. */
static int
member_set(struct member *m, const struct record *r, const uint8_t *raw,
    size_t len, int64_t now)
{
	uint8_t	*copy;

	if ((copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, raw, len);
	free(m->raw);
	m->raw = copy;
	m->rawlen = len;
	m->rec = *r;
	m->state = r->left ? MEMBER_LEFT : MEMBER_ALIVE;
	m->state_inc = r->incarnation;
	m->since_ms = now;
	m->deadline_ms = 0;
	base32_encode(r->id, sizeof(r->id), m->idstr);
	return 0;
}

int
members_set_self(struct members *t, const uint8_t *raw, size_t len,
    int64_t now)
{
	struct record	r;
	const char	*why;

	if (record_open(raw, len, &r, &why) == -1)
		return -1;
	return member_set(t->m[0], &r, raw, len, now);
}

struct member *
members_get(const struct members *t, const uint8_t *id)
{
	struct member	*m;

	for (m = *bucket_of(t, id); m != NULL; m = m->hnext)
		if (memcmp(m->rec.id, id, NODE_ID_LEN) == 0)
			return m;
	return NULL;
}

struct member *
members_self(const struct members *t)
{
	return t->m[0];		/* always first */
}

size_t
members_count(const struct members *t)
{
	return t->n;
}

struct member *
members_at(const struct members *t, size_t i)
{
	return t->m[i];
}

size_t
members_alive(const struct members *t)
{
	size_t	i, n = 0;

	for (i = 0; i < t->n; i++)
		if (member_live(t->m[i]))
			n++;
	return n;
}

const struct members_stats *
members_stats(const struct members *t)
{
	return &t->stats;
}

struct members *
members_new(const uint8_t *raw, size_t len, int64_t now)
{
	struct members	*t;
	struct member	*self = NULL;
	struct record	 r;
	const char	*why;

	if (record_open(raw, len, &r, &why) == -1)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->m = calloc(16, sizeof(*t->m))) == NULL ||
	    (t->bucket = calloc(BUCKETS, sizeof(*t->bucket))) == NULL ||
	    (self = calloc(1, sizeof(*self))) == NULL ||
	    member_set(self, &r, raw, len, now) == -1) {
		if (t != NULL) {
			free(t->m);
			free(t->bucket);
		}
		free(t);
		member_free(self);
		return NULL;
	}
	t->cap = 16;
	t->lim.soft = MEMBERS_SOFT;
	t->lim.intro_quota = MEMBERS_INTRO_QUOTA;
	t->lim.settle_ms = MEMBERS_SETTLE_MS;
	crypto_shorthash_keygen(t->hkey);
	self->self = true;
	t->m[t->n++] = self;
	hash_add(t, self);
	return t;
}

void
members_free(struct members *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		member_free(t->m[i]);
	free(t->m);
	free(t->bucket);
	free(t);
}

void
members_set_limits(struct members *t, const struct members_limits *lim)
{
	t->lim = *lim;
}

bool
members_settled(const struct members *t, const struct member *m,
    int64_t now)
{
	return m->self || m->confirmed ||
	    (!m->disproved && now - m->first_seen_ms >= t->lim.settle_ms);
}

/*
 * Makes room: forgets the longest-dead member, else the unsettled live
 * one seen first most recently, so that the fakes of a flood push out
 * each other and not the members held before it.  False if none.
 */
static bool
members_evict(struct members *t, int64_t now)
{
	struct member	*m;
	size_t		 i, oldest = 0, newest = 0;

	for (i = 1; i < t->n; i++) {
		m = t->m[i];
		if (m->state == MEMBER_DEAD || m->state == MEMBER_LEFT) {
			if (oldest == 0 ||
			    m->since_ms < t->m[oldest]->since_ms)
				oldest = i;
		} else if (!members_settled(t, m, now) && (newest == 0 ||
		    m->first_seen_ms >= t->m[newest]->first_seen_ms))
			newest = i;
	}
	if (oldest == 0 && (oldest = newest) == 0)
		return false;
	forget(t, oldest);
	t->stats.evicted++;
	return true;
}

/*
 * Whether a new identity that via sent may come in: always below the
 * soft size, or from the node itself; above it, only while via has
 * introduced fewer than the quota of unsettled members.
 */
static bool
admits(const struct members *t, const uint8_t *id, const uint8_t *via,
    int64_t now)
{
	size_t	i, n = 0;

	if (t->n < t->lim.soft || via == NULL ||
	    memcmp(via, id, NODE_ID_LEN) == 0)
		return true;
	for (i = 1; i < t->n; i++)
		if (memcmp(t->m[i]->intro, via, NODE_ID_LEN) == 0 &&
		    !members_settled(t, t->m[i], now) &&
		    ++n >= t->lim.intro_quota)
			return false;
	return true;
}

enum members_result
members_offer(struct members *t, const uint8_t *raw, size_t len,
    const uint8_t *via, int64_t now, struct member **mp, const char **why)
{
	struct member	*m = NULL, **nm;
	struct record	 r;
	uint8_t		 id[NODE_ID_LEN];
	uint64_t	 inc;
	bool		 peeked;

	*mp = NULL;
	/*
	 * Copies of what we hold, most of a flood, are dropped unchecked:
	 * a signature check costs more than the rest of a record's trip.
	 * So are new identities over their introducer's quota.
	 */
	peeked = record_peek(raw, len, id, &inc) == 0;
	if (peeked && (m = members_get(t, id)) != NULL &&
	    (m->self || inc <= m->rec.incarnation)) {
		*mp = m;
		if (inc == m->rec.incarnation)
			return MEMBERS_SAME;
		if (inc < m->rec.incarnation)
			t->stats.stale++;
		return MEMBERS_STALE;
	}
	/* A revoked node's records cost no signature check. */
	if (peeked && revoked(t, id)) {
		*why = "a record of a revoked node";
		t->stats.invalid++;
		return MEMBERS_INVALID;
	}
	if (peeked && m == NULL && !admits(t, id, via, now)) {
		t->stats.quota++;
		return MEMBERS_FULL;
	}
	if (record_open(raw, len, &r, why) == -1) {
		t->stats.invalid++;
		return MEMBERS_INVALID;
	}
	if ((m = members_get(t, r.id)) != NULL) {
		*mp = m;
		/* Our own record is ours alone to change. */
		if (m->self || r.incarnation < m->rec.incarnation) {
			if (r.incarnation < m->rec.incarnation)
				t->stats.stale++;
			return r.incarnation == m->rec.incarnation ?
			    MEMBERS_SAME : MEMBERS_STALE;
		}
		if (r.incarnation == m->rec.incarnation)
			return MEMBERS_SAME;
		if (member_set(m, &r, raw, len, now) == -1)
			return MEMBERS_FULL;
		t->stats.accepted++;
		return MEMBERS_UPDATED;
	}
	if (!peeked && !admits(t, r.id, via, now)) {
		t->stats.quota++;
		return MEMBERS_FULL;
	}
	if (t->n == MEMBERS_MAX && !members_evict(t, now)) {
		t->stats.full++;
		return MEMBERS_FULL;
	}
	if (t->n == t->cap) {
		if ((nm = reallocarray(t->m, t->cap * 2, sizeof(*nm))) == NULL)
			return MEMBERS_FULL;
		t->m = nm;
		t->cap *= 2;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    member_set(m, &r, raw, len, now) == -1) {
		member_free(m);
		return MEMBERS_FULL;
	}
	if (via != NULL) {
		memcpy(m->intro, via, NODE_ID_LEN);
		m->confirmed = memcmp(via, r.id, NODE_ID_LEN) == 0;
	}
	m->first_seen_ms = now;
	t->m[t->n++] = m;
	hash_add(t, m);
	t->stats.accepted++;
	*mp = m;
	return MEMBERS_NEW;
}

void
members_confirm(struct members *t, const uint8_t *id)
{
	struct member	*m = members_get(t, id);

	if (m != NULL)
		m->confirmed = true;
}

void
members_disprove(struct members *t, const uint8_t *id)
{
	struct member	*m = members_get(t, id);

	if (m != NULL && !m->self)
		m->disproved = true;
}

/* The member a claim may apply to, or NULL. */
static struct member *
claim_target(struct members *t, const uint8_t *id, uint64_t inc)
{
	struct member	*m = members_get(t, id);

	/* Only the record we hold can be claimed dead: a higher number
	 * was never signed by the node, so it would stick for good. */
	if (m == NULL || m->self || inc != m->rec.incarnation ||
	    m->state == MEMBER_LEFT)
		return NULL;
	return m;
}

bool
members_suspect(struct members *t, const uint8_t *id, uint64_t inc,
    int64_t now, int64_t deadline)
{
	struct member	*m = claim_target(t, id, inc);

	if (m != NULL && m->state == MEMBER_SUSPECT && m->state_inc == inc &&
	    deadline < m->deadline_ms)
		m->deadline_ms = deadline;	/* confirmed: sooner */
	if (m == NULL || m->state != MEMBER_ALIVE)
		return false;
	m->state = MEMBER_SUSPECT;
	m->state_inc = inc;
	m->since_ms = now;
	m->deadline_ms = deadline;
	return true;
}

bool
members_dead(struct members *t, const uint8_t *id, uint64_t inc, int64_t now)
{
	struct member	*m = claim_target(t, id, inc);

	if (m == NULL || m->state == MEMBER_DEAD)
		return false;
	m->state = MEMBER_DEAD;
	m->state_inc = inc;
	m->since_ms = now;
	return true;
}

size_t
members_tick(struct members *t, int64_t now,
    void (*died)(struct member *, void *), void *arg)
{
	size_t	i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->m[i]->state == MEMBER_SUSPECT &&
		    t->m[i]->deadline_ms <= now) {
			t->m[i]->state = MEMBER_DEAD;
			t->m[i]->since_ms = now;
			n++;
			if (died != NULL)
				died(t->m[i], arg);
		}
	return n;
}

void
members_postpone(struct members *t, int64_t ms)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (t->m[i]->state == MEMBER_SUSPECT)
			t->m[i]->deadline_ms += ms;
}

int64_t
members_next_deadline(const struct members *t)
{
	int64_t	next = INT64_MAX;
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (t->m[i]->state == MEMBER_SUSPECT &&
		    t->m[i]->deadline_ms < next)
			next = t->m[i]->deadline_ms;
	return next;
}

size_t
members_expire(struct members *t, int64_t now, int64_t expire_ms)
{
	size_t	i = 1, n = 0;	/* never ourselves, at 0 */

	while (i < t->n) {
		if ((t->m[i]->state == MEMBER_DEAD ||
		    t->m[i]->state == MEMBER_LEFT) &&
		    now - t->m[i]->since_ms >= expire_ms) {
			forget(t, i);
			n++;
		} else
			i++;
	}
	return n;
}

bool
members_forget(struct members *t, const uint8_t *id)
{
	size_t	i;

	for (i = 1; i < t->n; i++)	/* never ourselves, at 0 */
		if (memcmp(t->m[i]->rec.id, id, NODE_ID_LEN) == 0) {
			forget(t, i);
			return true;
		}
	return false;
}

void
members_clear(struct members *t)
{
	while (t->n > 1)
		forget(t, t->n - 1);
}
