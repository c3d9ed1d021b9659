/* SPDX-License-Identifier: ISC */
/*
 * kv.c: the key-value store's requests.  A client's request starts at
 * its own node (the entry node), which asks the nodes concerned and
 * answers once enough of them did: a write goes to the key's
 * coordinator, which stores it here and on the other owners and
 * answers once a majority holds it; a read asks every owner, takes the
 * newest item of a majority and repairs owners that gave an older one;
 * a list asks every store node and merges what they hold.  This node's
 * own share answers other nodes' stores, reads and lists.  Each request
 * in flight is one struct req, found by a random request number that
 * the answers repeat, and ends once: answered, at its deadline, when
 * its client goes away, or when the node stops.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base32.h"
#include "callmsg.h"
#include "cbor_buf.h"
#include "cbor_scan.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "duration.h"
#include "hlc.h"
#include "kv.h"
#include "kvmerge.h"
#include "kvmsg.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvsync.h"
#include "kvwatch.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"
#include "proto.h"
#include "ratelog.h"
#include "reqnum.h"

#define KV_BUCKETS		4096		/* power of two */
#define KV_PENDING_MAX		65536		/* requests in flight here */
#define KV_FROM_NODE_MAX	4096		/* of them, writes one node sent */
#define KV_HELD_MAX		(256u << 20)	/* bytes they copied */
#define KV_HELD_FULL		"kv requests in flight on this node hold too " \
				"many bytes"
#define KV_TIMEOUT_DEFAULT	5000		/* ms */
#define KV_WHERE_MS		1000		/* kv_where waits at most this */
#define KV_TTL_MAX		(1ull << 40)	/* ms, some 34 years */
#define KV_LIMIT_DEFAULT	100
#define KV_RETRIES		3		/* runs again after stale answers */
#define KV_SYNC_MS		1000		/* store flushed this often */
#define KV_FORWARD_MARGIN	200		/* ms the coordinator answers before */
#define KV_READ_HEDGE_MS	50		/* then a get asks every owner */
#define KV_ITEM_OVERHEAD	160		/* bytes of an item's map keys */
#define KV_BODY_SLACK		1024		/* of max_message, for the rest */
#define KV_DEPTH		2		/* messages delivered inside others */
#define KV_AHEAD_MAX_MS		(24ull * 3600 * 1000)	/* of a version */

enum req_kind {
	REQ_FORWARD,		/* a write sent to its coordinator */
	REQ_WRITE,		/* a write ordered here */
	REQ_READ,
	REQ_WHERE,
	REQ_LIST,
};

enum asked_state {
	ASKED_WAITING,		/* the first: what calloc gives */
	ASKED_ANSWERED,
	ASKED_FAILED,
	ASKED_SPARE,		/* not asked yet: a get asks a majority first */
};

/* A node a request waits on, and what it said. */
struct asked {
	uint8_t			 id[NODE_ID_LEN];
	enum asked_state	 state;
	bool			 has;		/* READ, WHERE: holds an item */
	struct kv_version	 ver;
	bool			 tombstone;
};

/* An item with its key and value copied. */
struct oitem {
	struct kv_item		 it;
	uint8_t			*buf;
	size_t			 size;
};

struct req {
	TAILQ_ENTRY(req)	 entry;
	struct req		*hnext;		/* in its bucket, by rid */
	struct kv		*kv;
	uint64_t		 rid;		/* answers repeat it */
	enum req_kind		 kind;
	struct ctl_defer	*defer;		/* a client here, or NULL */
	bool			 remote;	/* REQ_WRITE for another node */
	uint8_t			 origin[NODE_ID_LEN];
	uint64_t		 ocid;		/* its request number */
	struct event		*timer;
	char			 key[KV_KEY_MAX];
	size_t			 keylen;
	struct asked		*asked;
	size_t			 nasked;
	size_t			 nanswered, nfailed, nok;
	size_t			 nspare;	/* ASKED_SPARE */
	int64_t			 deadline;	/* clock_ms */
	bool			 starting;	/* being sent: not ended yet */

	/* REQ_FORWARD, REQ_WRITE: what the client asked */
	enum kv_write_op	 op;
	uint8_t			*value;		/* put: the value; merge: delta */
	size_t			 valuelen;
	bool			 has_if;
	uint64_t		 if_version;
	uint64_t		 ttl_ms;
	uint64_t		 timeout_ms;
	/* REQ_WRITE: runs so far, the item of the last, one adopted */
	int			 runs;
	char			 why[160];	/* an owner's error, or "" */
	bool			 has_wrote;
	struct oitem		 wrote;
	bool			 has_adopted;
	struct oitem		 adopted;

	/* REQ_READ: the newest item answered */
	bool			 has_best;
	struct oitem		 best;

	/* REQ_LIST */
	char			 prefix[KV_KEY_MAX];
	size_t			 prefixlen;
	char			 after[KV_KEY_MAX];
	size_t			 afterlen;	/* 0: from the first */
	uint64_t		 limit;
	bool			 values;
	struct oitem		*ents;		/* merged, in key order */
	size_t			 nents;
	size_t			 entbytes;
	bool			 cut;		/* nothing above cutkey is known */
	char			 cutkey[KV_KEY_MAX];
	size_t			 cutlen;
};

struct kv {
	struct event_base	*base;
	struct kv_params	 par;
	struct kvstore		*store;
	struct kvring		*ring;
	struct kvpost		*post;
	struct kvsync		*sync;
	struct kvwatch		*watch;
	struct hlc		 hlc;
	struct reqnum		 rids;
	struct nodemap		*names;		/* char[NODE_NAME_MAX + 1] */
	struct nodemap		*from;		/* size_t: remote writes here */
	struct req		*bucket[KV_BUCKETS];
	TAILQ_HEAD(, req)	 reqs;
	size_t			 nreqs;
	size_t			 held;		/* bytes the requests copied */
	struct event		*sync_timer;
	bool			 dirty;		/* written since the last flush */
	int			 depth;		/* kv_deliver inside kv_deliver */
	struct ratelog		 badlog;
	struct cbor_buf		 merged;	/* kvmerge's output */
	struct cbor_buf		 scan;		/* a list answer's keys, values */
	struct kv_item		 litems[KVMSG_ITEMS_MAX];
	struct kvmsg_space	 space[KV_DEPTH];
	struct kv_stats		 st;
};

static void	req_check(struct req *);
static void	coord_run(struct req *);

/* Keys in byte order, a prefix before what it begins. */
static int
keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static bool
is_self(const struct kv *kv, const uint8_t *id)
{
	return memcmp(id, kv->par.self, NODE_ID_LEN) == 0;
}

/* The name of node id, for messages; buf holds NODE_ID_STRLEN. */
static const char *
name_of(const struct kv *kv, const uint8_t *id, char *buf)
{
	const char	*name;

	if (is_self(kv, id))
		return kv->par.name;
	if ((name = nodemap_get(kv->names, id)) != NULL && name[0] != '\0')
		return name;
	base32_encode(id, NODE_ID_LEN, buf);
	buf[12] = '\0';
	return buf;
}

static bool
expired(const struct kv_item *it, uint64_t now)
{
	return it->expires_ms != 0 && it->expires_ms <= now;
}

/* Neither a tombstone nor expired. */
static bool
live_item(const struct kv_item *it, uint64_t now)
{
	return !it->tombstone && !expired(it, now);
}

/*
 * Whether a version is further ahead of our wall clock than any clock
 * of the mesh should be.  Such a version is neither stored nor seen:
 * one reading near the top of the clock, taken in, would leave no
 * higher one for the writes that follow.
 */
static bool
too_far_ahead(uint64_t hlc)
{
	return hlc_wall_ms(hlc) > clock_wall_ms() + KV_AHEAD_MAX_MS;
}

/* A version from another node: our later readings are above it. */
static void
seen(struct kv *kv, uint64_t hlc)
{
	if (!too_far_ahead(hlc))
		hlc_seen(&kv->hlc, hlc);
}

/* Whether one encoded CBOR item is a map. */
static bool
is_map(const uint8_t *v, size_t len)
{
	return len > 0 && (v[0] >> 5) == 5;
}

static void
oitem_clear(struct kv *kv, struct oitem *o)
{
	kv->held -= o->size;
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

/* Copies src's key and value into o; -1: out of memory. */
static int
oitem_set(struct kv *kv, struct oitem *o, const struct kv_item *src)
{
	uint8_t	*buf;
	size_t	 size = src->keylen + src->valuelen;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return -1;
	memcpy(buf, src->key, src->keylen);
	if (src->valuelen > 0)
		memcpy(buf + src->keylen, src->value, src->valuelen);
	oitem_clear(kv, o);
	o->it = *src;
	o->it.key = (const char *)buf;
	o->it.value = src->value != NULL ? buf + src->keylen : NULL;
	o->buf = buf;
	o->size = size;
	kv->held += size;
	return 0;
}

static void
msg_init(struct kvmsg *m, enum kvmsg_kind kind, const char *key,
    size_t keylen)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->key = key;
	m->keylen = keylen;
}

/* Sends m to id with request number cid; false if it cannot go. */
static bool
post(struct kv *kv, const uint8_t *id, uint64_t cid, const struct kvmsg *m)
{
	return kvpost_send(kv->post, id, cid, m) == ROUTE_SENT;
}

/* The store took a write: flushed within KV_SYNC_MS. */
static void
wrote(struct kv *kv)
{
	kv->dirty = true;
}

static void
sync_tick(evutil_socket_t fd, short what, void *arg)
{
	struct kv	*kv = arg;

	(void)fd; (void)what;
	if (!kv->dirty)
		return;
	kv->dirty = false;
	(void)kvstore_sync(kv->store);
}

struct kv *
kv_new(struct event_base *base, const struct kv_params *p,
    struct kvstore *store, struct kvring *ring, struct kvpost *post,
    struct kvsync *sync, struct kvwatch *watch)
{
	struct kv	*kv;
	struct timeval	 tv;

	if ((kv = calloc(1, sizeof(*kv))) == NULL ||
	    (kv->names = nodemap_new(NODE_NAME_MAX + 1, MEMBERS_MAX)) ==
	    NULL ||
	    (kv->from = nodemap_new(sizeof(size_t), MEMBERS_MAX)) == NULL ||
	    (kv->sync_timer = event_new(base, -1, EV_PERSIST, sync_tick,
	    kv)) == NULL) {
		if (kv != NULL) {
			nodemap_free(kv->names);
			nodemap_free(kv->from);
		}
		free(kv);
		log_warn("kv");
		return NULL;
	}
	kv->base = base;
	kv->par = *p;
	if (kv->par.held_max == 0)
		kv->par.held_max = KV_HELD_MAX;
	kv->store = store;
	kv->ring = ring;
	kv->post = post;
	kv->sync = sync;
	kv->watch = watch;
	reqnum_init(&kv->rids);
	TAILQ_INIT(&kv->reqs);
	duration_timeval(KV_SYNC_MS, &tv);
	evtimer_add(kv->sync_timer, &tv);
	return kv;
}

static struct req **
slot(struct kv *kv, uint64_t rid)
{
	struct req	**pp = &kv->bucket[rid & (KV_BUCKETS - 1)];

	while (*pp != NULL && (*pp)->rid != rid)
		pp = &(*pp)->hnext;
	return pp;
}

static bool
rid_in_use(void *arg, uint64_t rid)
{
	return *slot(arg, rid) != NULL;
}

/*
 * Gives r a new unpredictable request number: answers to an earlier
 * one (a write run again) no longer match, nor do answers meant for a
 * node's earlier run.
 */
static void
req_number(struct req *r)
{
	struct kv	*kv = r->kv;
	struct req	**pp;

	if (r->rid != 0) {
		pp = slot(kv, r->rid);
		*pp = r->hnext;
	}
	r->rid = reqnum_next(&kv->rids, rid_in_use, kv);
	pp = slot(kv, r->rid);
	r->hnext = *pp;
	*pp = r;
}

static void
req_free(struct req *r)
{
	struct kv	*kv = r->kv;
	struct req	**pp = slot(kv, r->rid);
	size_t		 i, *n;

	*pp = r->hnext;
	TAILQ_REMOVE(&kv->reqs, r, entry);
	kv->nreqs--;
	if (r->remote && (n = nodemap_get(kv->from, r->origin)) != NULL &&
	    --*n == 0)
		nodemap_del(kv->from, r->origin);
	if (r->timer != NULL)
		event_free(r->timer);
	kv->held -= r->valuelen;
	free(r->value);
	oitem_clear(kv, &r->wrote);
	oitem_clear(kv, &r->adopted);
	oitem_clear(kv, &r->best);
	for (i = 0; i < r->nents; i++)
		oitem_clear(kv, &r->ents[i]);
	free(r->ents);
	free(r->asked);
	free(r);
}

static void	req_deadline(evutil_socket_t, short, void *);

/*
 * A new request waiting on n nodes (set by the caller), ending at its
 * deadline; NULL if there is no room for it (why says so).
 */
static struct req *
req_new(struct kv *kv, enum req_kind kind, const char *key, size_t keylen,
    size_t n, uint64_t timeout_ms, const char **why)
{
	struct req	*r;
	struct timeval	 tv;

	*why = "out of memory";
	if (kv->nreqs >= KV_PENDING_MAX) {
		*why = "too many kv requests in flight on this node";
		return NULL;
	}
	if (kv->held >= kv->par.held_max) {
		*why = KV_HELD_FULL;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((n > 0 && (r->asked = calloc(n, sizeof(*r->asked))) == NULL) ||
	    (r->timer = evtimer_new(kv->base, req_deadline, r)) == NULL) {
		free(r->asked);
		free(r);
		return NULL;
	}
	r->kv = kv;
	r->kind = kind;
	r->nasked = n;
	memcpy(r->key, key, keylen);
	r->keylen = keylen;
	TAILQ_INSERT_TAIL(&kv->reqs, r, entry);
	kv->nreqs++;
	req_number(r);
	r->deadline = clock_ms() + (int64_t)timeout_ms;
	duration_timeval(timeout_ms, &tv);
	evtimer_add(r->timer, &tv);
	return r;
}

/* Keeps a copy of the value of a write; -1: out of memory. */
static int
req_value(struct req *r, const uint8_t *v, size_t len)
{
	if (len == 0)
		return 0;
	if ((r->value = malloc(len)) == NULL)
		return -1;
	memcpy(r->value, v, len);
	r->valuelen = len;
	r->kv->held += len;
	return 0;
}

static int
asked_cmp(const void *a, const void *b)
{
	return memcmp(((const struct asked *)a)->id,
	    ((const struct asked *)b)->id, NODE_ID_LEN);
}

/* The node id among those r asked, or NULL. */
static struct asked *
asked_find(struct req *r, const uint8_t *id)
{
	size_t	lo = 0, hi = r->nasked, mid, i;
	int	c;

	/* A list asks every store node, in the ring's order of IDs. */
	if (r->kind == REQ_LIST) {
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if ((c = memcmp(r->asked[mid].id, id,
			    NODE_ID_LEN)) == 0)
				return &r->asked[mid];
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return NULL;
	}
	for (i = 0; i < r->nasked; i++)
		if (memcmp(r->asked[i].id, id, NODE_ID_LEN) == 0)
			return &r->asked[i];
	return NULL;
}

static void
asked_fail(struct req *r, struct asked *a)
{
	a->state = ASKED_FAILED;
	r->nfailed++;
}

static size_t
waiting(const struct req *r)
{
	return r->nasked - r->nanswered - r->nfailed - r->nspare;
}

/*
 * Ends r with an error: to its client, or (a write for another node)
 * in a WRITTEN to the entry node.
 */
static void
req_fail(struct req *r, enum peer_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
req_fail(struct req *r, enum peer_code code, const char *fmt, ...)
{
	struct kv	*kv = r->kv;
	struct kvmsg	 m;
	va_list		 ap;
	char		 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->defer != NULL) {
		kv->st.failed++;
		ctl_defer_error(r->defer, code, "%s", msg);
	} else if (r->remote) {
		msg_init(&m, KVMSG_WRITTEN, r->key, r->keylen);
		m.err.code = code;
		m.err.msg = msg;
		m.err.msglen = strlen(msg);
		(void)post(kv, r->origin, r->ocid, &m);
	}
	req_free(r);
}

/* The store nodes a list may go without: those a majority of owners spares. */
static size_t
list_spare(struct kv *kv)
{
	size_t	replicas = kvring_replicas(kv->ring);

	return replicas - kvring_majority(replicas);
}

/* Ends r with UNAVAILABLE: too few of the nodes asked did their part. */
static void
req_fail_short(struct req *r)
{
	switch (r->kind) {
	case REQ_WRITE:
		req_fail(r, PEER_UNAVAILABLE, "%zu of %zu owners stored the "
		    "write, %zu needed (it may still take effect)%s", r->nok,
		    r->nasked, kvring_majority(r->nasked), r->why);
		break;
	case REQ_LIST:
		req_fail(r, PEER_UNAVAILABLE, "%zu of %zu store nodes "
		    "answered, %zu needed", r->nanswered, r->nasked,
		    r->nasked - list_spare(r->kv));
		break;
	default:
		req_fail(r, PEER_UNAVAILABLE, "%zu of %zu owners answered, %zu "
		    "needed", r->nanswered, r->nasked,
		    kvring_majority(r->nasked));
		break;
	}
}

/* The client went away: its request ends unanswered. */
static void
req_client_gone(void *arg)
{
	struct req	*r = arg;

	r->defer = NULL;
	/* A write ordered here goes on: its owners are storing it. */
	if (r->kind != REQ_WRITE)
		req_free(r);
}

/* Defers r's reply to client c; false (r freed, c answered) if it cannot. */
static bool
req_defer(struct req *r, struct ctl_conn *c, uint64_t id, size_t weight)
{
	if ((r->defer = ctl_defer(c, id, req_client_gone, r)) == NULL) {
		req_free(r);
		return false;
	}
	ctl_defer_weigh(r->defer, weight);
	return true;
}

/* A write that ends here: {key, version}. */
static void
reply_written(struct req *r, uint64_t hlc)
{
	struct cbor_buf	*b = ctl_defer_begin(r->defer);

	cbor_put_map(b, 2);
	cbor_put_text(b, "key");
	cbor_put_textn(b, r->key, r->keylen);
	cbor_put_text(b, "version");
	cbor_put_uint(b, hlc);
	ctl_defer_end(r->defer);
	r->defer = NULL;
}

/*
 * An item as clients see it (kv_get, kv_list): {key, [value], version,
 * writer, [expires]}.
 */
static void
put_item(struct cbor_buf *b, const struct kv_item *it, bool value)
{
	char	writer[NODE_ID_STRLEN];

	cbor_put_map(b, 3 + value + (it->expires_ms != 0));
	cbor_put_text(b, "key");
	cbor_put_textn(b, it->key, it->keylen);
	if (value) {
		cbor_put_text(b, "value");
		cbor_put_raw(b, it->value, it->valuelen);
	}
	cbor_put_text(b, "version");
	cbor_put_uint(b, it->ver.hlc);
	cbor_put_text(b, "writer");
	base32_encode(it->ver.node, NODE_ID_LEN, writer);
	cbor_put_text(b, writer);
	if (it->expires_ms != 0) {
		cbor_put_text(b, "expires");
		cbor_put_uint(b, it->expires_ms);
	}
}

/*
 * The coordinator's write path (doc/MESH.md section 21, Requests
 * between the nodes).
 */

/* Counts r's owners that hold the write: answers once a majority does. */
static void
coord_check(struct req *r)
{
	struct kv	*kv = r->kv;
	struct kvmsg	 m;
	size_t		 need = kvring_majority(r->nasked);

	if (r->starting)
		return;
	if (r->nok >= need) {
		if (r->defer != NULL)
			reply_written(r, r->wrote.it.ver.hlc);
		else if (r->remote) {
			msg_init(&m, KVMSG_WRITTEN, r->key, r->keylen);
			m.ver = r->wrote.it.ver;
			(void)post(kv, r->origin, r->ocid, &m);
		}
		kvwatch_changed(kv->watch, r->op, &r->wrote.it);
		req_free(r);
		return;
	}
	if (r->nok + waiting(r) < need)
		req_fail_short(r);
}

/*
 * After a stale answer, a run that fails outright leaves the earlier
 * run's item here and perhaps at some owners: a newer version with the
 * adopted item's content replaces it, so the failed write does not win.
 */
static void
coord_undo(struct req *r)
{
	struct kv	*kv = r->kv;
	struct kv_item	 held, it;
	struct kvmsg	 m;
	size_t		 i;

	if (!r->has_adopted || !r->has_wrote ||
	    kvstore_get(kv->store, r->key, r->keylen, &held) != 1 ||
	    kv_version_cmp(&held.ver, &r->wrote.it.ver) != 0)
		return;
	it = r->adopted.it;
	it.ver.hlc = hlc_now(&kv->hlc, clock_wall_ms());
	memcpy(it.ver.node, kv->par.self, NODE_ID_LEN);
	if (kvstore_put(kv->store, &it) != KVSTORE_STORED)
		return;
	wrote(kv);
	msg_init(&m, KVMSG_STORE, r->key, r->keylen);
	m.has_item = true;
	m.item = it;
	m.base = r->wrote.it.ver;
	for (i = 0; i < r->nasked; i++)
		if (!is_self(kv, r->asked[i].id))
			(void)post(kv, r->asked[i].id, 0, &m);
}

/* Ends a run that wrote nothing new with an error. */
static void
coord_fail(struct req *r, enum peer_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
coord_fail(struct req *r, enum peer_code code, const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	coord_undo(r);
	req_fail(r, code, "%s", msg);
}

/*
 * Makes the item write r gives when applied to from (NULL: absent), in
 * *it; its value may be in kv->merged.  False after ending r.
 */
static bool
coord_item(struct req *r, const struct kv_item *from, struct kv_item *it)
{
	struct kv		*kv = r->kv;
	uint64_t		 now = clock_wall_ms();
	bool			 present = from != NULL && live_item(from, now);
	enum kvmerge_result	 res;

	if (r->has_if) {
		if (r->if_version == 0 && present) {
			coord_fail(r, PEER_FAILED_PRECONDITION, "key exists");
			return false;
		}
		if (r->if_version != 0 && !present) {
			coord_fail(r, PEER_FAILED_PRECONDITION,
			    "key is absent");
			return false;
		}
		if (r->if_version != 0 && from->ver.hlc != r->if_version) {
			coord_fail(r, PEER_FAILED_PRECONDITION, "version is %"
			    PRIu64 ", not %" PRIu64, from->ver.hlc,
			    r->if_version);
			return false;
		}
	}
	if (r->op == KV_DEL && !present) {
		coord_fail(r, PEER_NOT_FOUND, "no key %.*s", (int)r->keylen,
		    r->key);
		return false;
	}
	memset(it, 0, sizeof(*it));
	it->key = r->key;
	it->keylen = r->keylen;
	switch (r->op) {
	case KV_PUT:
		it->value = r->value;
		it->valuelen = r->valuelen;
		if (r->ttl_ms > 0)
			it->expires_ms = now + r->ttl_ms;
		break;
	case KV_DEL:
		it->tombstone = true;
		break;
	case KV_MERGE:
		if (present && !is_map(from->value, from->valuelen)) {
			coord_fail(r, PEER_FAILED_PRECONDITION, "the value of "
			    "%.*s is not a map", (int)r->keylen, r->key);
			return false;
		}
		res = kvmerge(present ? from->value : NULL,
		    present ? from->valuelen : 0, r->value, r->valuelen,
		    &kv->merged);
		if (res == KVMERGE_BAD_DELTA) {
			coord_fail(r, PEER_INVALID_ARGUMENT, "value: not a "
			    "map");
			return false;
		}
		if (res == KVMERGE_TOO_BIG) {
			coord_fail(r, PEER_RESOURCE_EXHAUSTED, "the merged map "
			    "would have more than %d entries",
			    KVMERGE_ENTRIES_MAX);
			return false;
		}
		if (res != KVMERGE_OK || kv->merged.failed) {
			coord_fail(r, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return false;
		}
		it->value = kv->merged.data;
		it->valuelen = kv->merged.len;
		break;
	default:
		coord_fail(r, PEER_INVALID_ARGUMENT, "op: not a write");
		return false;
	}
	if (it->valuelen > kv->par.value_max) {
		coord_fail(r, PEER_RESOURCE_EXHAUSTED, "the value would be %zu "
		    "bytes, kv_value_max is %" PRIu64, it->valuelen,
		    kv->par.value_max);
		return false;
	}
	/* Above every version seen, the one replaced included. */
	it->ver.hlc = hlc_now(&kv->hlc, now);
	memcpy(it->ver.node, kv->par.self, NODE_ID_LEN);
	return true;
}

/* Runs write r from its first step: read, check, write, send. */
static void
coord_run(struct req *r)
{
	struct kv		*kv = r->kv;
	uint8_t			 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	struct kv_item		 held, it;
	const struct kv_item	*from = NULL;
	struct kv_version	 base;
	struct kvmsg		 m;
	size_t			 n, i, live, known;
	int			 got;

	n = kvring_owners(kv->ring, r->key, r->keylen, owners);
	for (i = 0; i < n && !is_self(kv, owners[i]); i++)
		;
	if (i == n) {
		coord_fail(r, PEER_UNAVAILABLE, "%s is not an owner of %.*s "
		    "here; the views of the members differ, try again",
		    kv->par.name, (int)r->keylen, r->key);
		return;
	}
	if (!kvring_quorate(kv->ring, &live, &known)) {
		coord_fail(r, PEER_UNAVAILABLE, "%s sees %zu of %zu store "
		    "nodes live: writes need more than half", kv->par.name,
		    live, known);
		return;
	}
	if ((got = kvstore_get(kv->store, r->key, r->keylen, &held)) == -1) {
		coord_fail(r, PEER_INTERNAL, "the store of %s failed",
		    kv->par.name);
		return;
	}
	memset(&base, 0, sizeof(base));
	if (got == 1) {
		base = held.ver;
		from = &held;
		seen(kv, held.ver.hlc);
		/*
		 * Held is our own earlier run, which missed the adopted
		 * item: this run applies to that item instead.
		 */
		if (r->has_adopted && r->has_wrote &&
		    kv_version_cmp(&held.ver, &r->wrote.it.ver) == 0)
			from = &r->adopted.it;
	}
	if (!coord_item(r, from, &it))
		return;
	switch (kvstore_put(kv->store, &it)) {
	case KVSTORE_STORED:
		break;
	case KVSTORE_FULL:
		coord_fail(r, PEER_RESOURCE_EXHAUSTED, "%s holds %" PRIu64
		    " bytes of the store, up to kv_max_bytes", kv->par.name,
		    kvstore_bytes(kv->store));
		return;
	default:
		coord_fail(r, PEER_INTERNAL, "the store of %s failed",
		    kv->par.name);
		return;
	}
	wrote(kv);
	if (oitem_set(kv, &r->wrote, &it) == -1) {
		req_fail(r, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	r->has_wrote = true;
	r->runs++;
	kv->st.coordinated++;

	/* A new number: answers to an earlier run do not count. */
	req_number(r);
	r->nasked = n;
	r->nanswered = r->nfailed = 0;
	r->nok = 1;
	for (i = 0; i < n; i++) {
		memcpy(r->asked[i].id, owners[i], NODE_ID_LEN);
		r->asked[i].state = ASKED_WAITING;
		if (is_self(kv, owners[i])) {
			r->asked[i].state = ASKED_ANSWERED;
			r->nanswered++;
		}
	}
	msg_init(&m, KVMSG_STORE, r->key, r->keylen);
	m.has_item = true;
	m.item = r->wrote.it;
	m.base = base;
	r->starting = true;
	for (i = 0; i < n; i++)
		if (r->asked[i].state == ASKED_WAITING &&
		    !post(kv, r->asked[i].id, r->rid, &m))
			asked_fail(r, &r->asked[i]);
	r->starting = false;
	coord_check(r);
}

/* An owner's STORED for write r. */
static void
coord_stored(struct req *r, struct asked *a, const struct kvmsg *m)
{
	struct kv	*kv = r->kv;
	char		 buf[NODE_ID_STRLEN];

	if (m->err.code == PEER_OK) {
		seen(kv, m->ver.hlc);
		a->state = ASKED_ANSWERED;
		r->nanswered++;
		r->nok++;
		coord_check(r);
		return;
	}
	if (m->err.code != PEER_FAILED_PRECONDITION || !m->has_item ||
	    keycmp(m->item.key, m->item.keylen, r->key, r->keylen) != 0 ||
	    too_far_ahead(m->item.ver.hlc)) {
		/* Said with the count, should too few store it. */
		snprintf(r->why, sizeof(r->why), "; %s: %.*s",
		    name_of(kv, a->id, buf), (int)m->err.msglen, m->err.msg);
		asked_fail(r, a);
		coord_check(r);
		return;
	}
	/* The owner holds a write we missed: take it, and run again. */
	seen(kv, m->item.ver.hlc);
	if (kvstore_put(kv->store, &m->item) == KVSTORE_STORED)
		wrote(kv);
	if (!r->has_adopted || kv_version_cmp(&m->item.ver,
	    &r->adopted.it.ver) > 0) {
		if (oitem_set(kv, &r->adopted, &m->item) == -1) {
			req_fail(r, PEER_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		r->has_adopted = true;
	}
	if (r->runs > KV_RETRIES) {
		req_fail(r, PEER_UNAVAILABLE, "conflicting writes to %.*s",
		    (int)r->keylen, r->key);
		return;
	}
	coord_run(r);
}

/*
 * A write for this node to order: from a client here (c) or in a WRITE
 * from another node.  w holds what the write asks.
 */
static void
coord_start(struct kv *kv, struct ctl_conn *c, uint64_t id,
    const uint8_t *origin, uint64_t ocid, const struct kvmsg *w)
{
	struct req	*r = NULL;
	struct kvmsg	 m;
	const char	*why;
	char		 msg[128];
	size_t		 replicas = kvring_replicas(kv->ring), *from = NULL;

	/* No other node takes all the room of the requests here. */
	if (c == NULL && ((from = nodemap_put(kv->from, origin)) == NULL ||
	    *from >= KV_FROM_NODE_MAX)) {
		snprintf(msg, sizeof(msg), "%s orders %d writes from this "
		    "node already", kv->par.name, KV_FROM_NODE_MAX);
		why = msg;
	} else if ((r = req_new(kv, REQ_WRITE, w->key, w->keylen, replicas,
	    w->timeout_ms, &why)) != NULL &&
	    req_value(r, w->value, w->valuelen) == -1) {
		req_free(r);
		r = NULL;
		why = "out of memory";
	}
	if (r == NULL) {
		if (from != NULL && *from == 0)
			nodemap_del(kv->from, origin);
		if (c != NULL) {
			kv->st.failed++;
			ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "%s",
			    why);
		} else {
			msg_init(&m, KVMSG_WRITTEN, w->key, w->keylen);
			m.err.code = PEER_RESOURCE_EXHAUSTED;
			m.err.msg = why;
			m.err.msglen = strlen(why);
			(void)post(kv, origin, ocid, &m);
		}
		return;
	}
	r->op = w->op;
	r->has_if = w->has_if_version;
	r->if_version = w->if_version;
	r->ttl_ms = w->ttl_ms;
	r->timeout_ms = w->timeout_ms;
	if (c != NULL) {
		if (!req_defer(r, c, id, w->keylen + w->valuelen))
			return;
	} else {
		r->remote = true;
		memcpy(r->origin, origin, NODE_ID_LEN);
		r->ocid = ocid;
		(*from)++;
	}
	coord_run(r);
}

/*
 * The entry node's side of a write whose coordinator is another node.
 */
static void
forward_start(struct kv *kv, struct ctl_conn *c, uint64_t id,
    const uint8_t *coord, const struct kvmsg *w)
{
	struct req	*r;
	struct kvmsg	 m;
	const char	*why;
	char		 buf[NODE_ID_STRLEN];
	uint64_t	 margin;

	if ((r = req_new(kv, REQ_FORWARD, w->key, w->keylen, 1, w->timeout_ms,
	    &why)) == NULL) {
		ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "%s", why);
		return;
	}
	if (!req_defer(r, c, id, w->keylen + w->valuelen))
		return;
	memcpy(r->asked[0].id, coord, NODE_ID_LEN);
	m = *w;
	/* The coordinator answers before our deadline, saying why. */
	margin = w->timeout_ms / 4 < KV_FORWARD_MARGIN ? w->timeout_ms / 4 :
	    KV_FORWARD_MARGIN;
	m.timeout_ms = w->timeout_ms - margin;
	switch (kvpost_send(kv->post, coord, r->rid, &m)) {
	case ROUTE_SENT:
		break;
	case ROUTE_FULL:
		req_fail(r, PEER_RESOURCE_EXHAUSTED, "the link towards %s, the "
		    "coordinator of %.*s, is full", name_of(kv, coord, buf),
		    (int)r->keylen, r->key);
		break;
	case ROUTE_NO_PATH:
		req_fail(r, PEER_UNAVAILABLE, "no route to %s, the "
		    "coordinator of %.*s", name_of(kv, coord, buf),
		    (int)r->keylen, r->key);
		break;
	}
}

/* The coordinator's WRITTEN for forwarded write r. */
static void
forward_written(struct req *r, const struct kvmsg *m)
{
	struct kv	*kv = r->kv;

	if (m->err.code != PEER_OK) {
		kv->st.failed++;
		ctl_defer_error_value(r->defer, &m->err);
		r->defer = NULL;
		req_free(r);
		return;
	}
	seen(kv, m->ver.hlc);
	reply_written(r, m->ver.hlc);
	req_free(r);
}

/*
 * Reads (kv_get) and where (kv_where): every owner is asked for what it
 * holds.
 */

/* Sends the newest item to the owners that answered an older one. */
static void
read_repair(struct req *r)
{
	struct kv	*kv = r->kv;
	struct kvmsg	 m;
	struct asked	*a;
	size_t		 i;

	msg_init(&m, KVMSG_STORE, r->key, r->keylen);
	m.has_item = true;
	m.item = r->best.it;
	m.repair = true;
	for (i = 0; i < r->nasked; i++) {
		a = &r->asked[i];
		if (a->state != ASKED_ANSWERED || (a->has &&
		    kv_version_cmp(&a->ver, &r->best.it.ver) >= 0))
			continue;
		if (is_self(kv, a->id)) {
			if (kvstore_put(kv->store, &r->best.it) ==
			    KVSTORE_STORED) {
				wrote(kv);
				kv->st.repaired++;
			}
		} else if (post(kv, a->id, 0, &m))
			kv->st.repaired++;
	}
}

static void
read_done(struct req *r)
{
	const struct kv_item	*it = &r->best.it;
	struct cbor_buf		*b;

	if (r->has_best)
		read_repair(r);
	if (!r->has_best || !live_item(it, clock_wall_ms())) {
		req_fail(r, PEER_NOT_FOUND, "no key %.*s", (int)r->keylen,
		    r->key);
		return;
	}
	b = ctl_defer_begin(r->defer);
	put_item(b, it, true);
	ctl_defer_end(r->defer);
	r->defer = NULL;
	req_free(r);
}

static void
where_done(struct req *r)
{
	struct kv		*kv = r->kv;
	struct cbor_buf		*b = ctl_defer_begin(r->defer);
	const struct asked	*a;
	char			 id[NODE_ID_STRLEN], buf[NODE_ID_STRLEN];
	size_t			 i;

	cbor_put_map(b, 2);
	cbor_put_text(b, "key");
	cbor_put_textn(b, r->key, r->keylen);
	cbor_put_text(b, "owners");
	cbor_put_array(b, r->nasked);
	for (i = 0; i < r->nasked; i++) {
		a = &r->asked[i];
		base32_encode(a->id, NODE_ID_LEN, id);
		cbor_put_map(b, 4 + (a->has ? 1 + a->tombstone : 0));
		cbor_put_text(b, "node");
		cbor_put_text(b, id);
		cbor_put_text(b, "name");
		cbor_put_text(b, name_of(kv, a->id, buf));
		cbor_put_text(b, "coordinator");
		cbor_put_bool(b, i == 0);
		cbor_put_text(b, "answered");
		cbor_put_bool(b, a->state == ASKED_ANSWERED);
		if (a->has) {
			cbor_put_text(b, "version");
			cbor_put_uint(b, a->ver.hlc);
			if (a->tombstone) {
				cbor_put_text(b, "deleted");
				cbor_put_bool(b, true);
			}
		}
	}
	ctl_defer_end(r->defer);
	r->defer = NULL;
	req_free(r);
}

/* What owner a holds for r's key (has_item false: nothing). */
static void
read_answer(struct req *r, struct asked *a, bool has_item,
    const struct kv_item *it)
{
	struct kv	*kv = r->kv;

	if (has_item && keycmp(it->key, it->keylen, r->key, r->keylen) != 0) {
		asked_fail(r, a);
		req_check(r);
		return;
	}
	a->state = ASKED_ANSWERED;
	r->nanswered++;
	if (has_item) {
		seen(kv, it->ver.hlc);
		a->has = true;
		a->ver = it->ver;
		a->tombstone = it->tombstone;
		if (r->kind == REQ_READ && (!r->has_best ||
		    kv_version_cmp(&it->ver, &r->best.it.ver) > 0)) {
			if (oitem_set(kv, &r->best, it) == -1) {
				req_fail(r, PEER_RESOURCE_EXHAUSTED,
				    "out of memory");
				return;
			}
			r->has_best = true;
		}
	}
	req_check(r);
}

/* This node's own item for r, as an owner's answer. */
static void
read_local(struct req *r, struct asked *a)
{
	struct kv_item	it;
	int		got;

	if ((got = kvstore_get(r->kv->store, r->key, r->keylen, &it)) == -1) {
		asked_fail(r, a);
		req_check(r);
		return;
	}
	read_answer(r, a, got == 1, &it);
}

/* Asks each owner of key what it holds, for a get or a where. */
static void
read_start(struct kv *kv, struct ctl_conn *c, uint64_t id,
    enum req_kind kind, const char *key, size_t keylen, uint64_t timeout_ms)
{
	uint8_t		 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	struct req	*r;
	struct kvmsg	 m;
	struct asked	*self = NULL, *a;
	struct timeval	 tv;
	const char	*why;
	size_t		 n, i, ask, first;

	if ((n = kvring_owners(kv->ring, key, keylen, owners)) == 0) {
		kv->st.failed++;
		ctl_reply_error(c, id, PEER_UNAVAILABLE, "no store node is "
		    "live");
		return;
	}
	if ((r = req_new(kv, kind, key, keylen, n, timeout_ms, &why)) ==
	    NULL) {
		kv->st.failed++;
		ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "%s", why);
		return;
	}
	if (!req_defer(r, c, id, keylen))
		return;
	msg_init(&m, KVMSG_READ, r->key, r->keylen);
	for (i = 0; i < n; i++) {
		memcpy(r->asked[i].id, owners[i], NODE_ID_LEN);
		if (is_self(kv, owners[i]))
			self = &r->asked[i];
	}
	/*
	 * A get asks a majority first (ourselves, if we own the key, and
	 * the others from a random one on, to spread the reads) and the
	 * rest only if one fails or all are slow; a where asks everyone.
	 */
	if (kind == REQ_READ) {
		ask = kvring_majority(n) - (self != NULL);
		first = (size_t)(r->rid % n);
		for (i = 0; i < n; i++) {
			a = &r->asked[(first + i) % n];
			if (a == self)
				continue;
			if (ask > 0)
				ask--;
			else {
				a->state = ASKED_SPARE;
				r->nspare++;
			}
		}
	}
	r->starting = true;
	for (i = 0; i < n; i++)
		if (&r->asked[i] != self &&
		    r->asked[i].state == ASKED_WAITING &&
		    !post(kv, owners[i], r->rid, &m))
			asked_fail(r, &r->asked[i]);
	/* Ours comes last: it may end the request. */
	r->starting = false;
	if (r->nspare > 0 && timeout_ms > KV_READ_HEDGE_MS) {
		duration_timeval(KV_READ_HEDGE_MS, &tv);
		evtimer_add(r->timer, &tv);
	}
	if (self != NULL)
		read_local(r, self);
	else
		req_check(r);
}

/* Asks the owners a get has not asked yet. */
static void
read_ask_spares(struct req *r)
{
	struct kvmsg	m;
	size_t		i;

	msg_init(&m, KVMSG_READ, r->key, r->keylen);
	for (i = 0; i < r->nasked && r->nspare > 0; i++) {
		if (r->asked[i].state != ASKED_SPARE)
			continue;
		r->asked[i].state = ASKED_WAITING;
		r->nspare--;
		if (!post(r->kv, r->asked[i].id, r->rid, &m))
			asked_fail(r, &r->asked[i]);
	}
}

/*
 * Lists (kv_list): every store node gives its first items under the
 * prefix; the entry node merges them.
 */

/* The index of the first entry of r whose key is not below key. */
static size_t
list_find(const struct req *r, const char *key, size_t keylen)
{
	size_t	lo = 0, hi = r->nents, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (keycmp(r->ents[mid].it.key, r->ents[mid].it.keylen, key,
		    keylen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The bytes an entry takes in the reply. */
static size_t
list_cost(const struct kv_item *it)
{
	return it->keylen + it->valuelen + KV_ITEM_OVERHEAD;
}

static void
list_drop_from(struct req *r, size_t i)
{
	while (r->nents > i) {
		r->entbytes -= list_cost(&r->ents[r->nents - 1].it);
		oitem_clear(r->kv, &r->ents[--r->nents]);
	}
}

/* Nothing above key is known from now on. */
static void
list_cut(struct req *r, const char *key, size_t keylen)
{
	size_t	i;

	if (r->cut && keycmp(key, keylen, r->cutkey, r->cutlen) >= 0)
		return;
	memmove(r->cutkey, key, keylen);
	r->cutlen = keylen;
	r->cut = true;
	i = list_find(r, key, keylen);
	if (i < r->nents && keycmp(r->ents[i].it.key, r->ents[i].it.keylen,
	    key, keylen) == 0)
		i++;
	list_drop_from(r, i);
}

/* Merges one item into r's entries; -1: out of memory. */
static int
list_add(struct req *r, const struct kv_item *it)
{
	struct kv	*kv = r->kv;
	struct oitem	*e;
	size_t		 i;

	if (r->cut && keycmp(it->key, it->keylen, r->cutkey, r->cutlen) > 0)
		return 0;
	i = list_find(r, it->key, it->keylen);
	if (i < r->nents && keycmp(r->ents[i].it.key, r->ents[i].it.keylen,
	    it->key, it->keylen) == 0) {
		e = &r->ents[i];
		if (kv_version_cmp(&it->ver, &e->it.ver) <= 0)
			return 0;
		r->entbytes -= list_cost(&e->it);
		if (oitem_set(kv, e, it) == -1)
			return -1;
		r->entbytes += list_cost(&e->it);
		return 0;
	}
	memmove(&r->ents[i + 1], &r->ents[i], (r->nents - i) *
	    sizeof(r->ents[0]));
	memset(&r->ents[i], 0, sizeof(r->ents[0]));
	r->nents++;
	if (oitem_set(kv, &r->ents[i], it) == -1) {
		memmove(&r->ents[i], &r->ents[i + 1], (r->nents - i - 1) *
		    sizeof(r->ents[0]));
		r->nents--;
		return -1;
	}
	r->entbytes += list_cost(&r->ents[i].it);
	return 0;
}

/*
 * Whether it may be in r's answer: under the prefix, after "after",
 * with a value only if values were asked for.
 */
static bool
list_item_ok(const struct req *r, const struct kv_item *it)
{
	return kv_key_has_prefix(it->key, it->keylen, r->prefix,
	    r->prefixlen) && (r->afterlen == 0 || keycmp(it->key, it->keylen,
	    r->after, r->afterlen) > 0) && (r->values || it->valuelen == 0);
}

/* One store node's LIST_ANSWER for r. */
static void
list_answer(struct req *r, struct asked *a, const struct kv_item *items,
    size_t n, bool more)
{
	struct kv	*kv = r->kv;
	const char	*last = NULL;
	char		 cutkey[KV_KEY_MAX];
	size_t		 i, lastlen = 0, keep, bytes;

	for (i = 0; i < n; i++) {
		if (!list_item_ok(r, &items[i])) {
			asked_fail(r, a);
			req_check(r);
			return;
		}
		seen(kv, items[i].ver.hlc);
		if (last == NULL || keycmp(items[i].key, items[i].keylen, last,
		    lastlen) > 0) {
			last = items[i].key;
			lastlen = items[i].keylen;
		}
	}
	/* More to come, but nothing to go on from. */
	if (more && n == 0) {
		asked_fail(r, a);
		req_check(r);
		return;
	}
	for (i = 0; i < n; i++)
		if (list_add(r, &items[i]) == -1) {
			req_fail(r, PEER_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
	/* Answers come after the request's start: each is counted. */
	if (kv->held > kv->par.held_max) {
		req_fail(r, PEER_RESOURCE_EXHAUSTED, KV_HELD_FULL);
		return;
	}
	if (more)
		list_cut(r, last, lastlen);
	/* At most limit entries, and what fits in a reply. */
	bytes = 0;
	for (keep = 0; keep < r->nents && keep < r->limit; keep++) {
		bytes += list_cost(&r->ents[keep].it);
		if (bytes > kv->par.max_message && keep > 0)
			break;
	}
	if (keep < r->nents) {
		memcpy(cutkey, r->ents[keep - 1].it.key,
		    r->ents[keep - 1].it.keylen);
		list_cut(r, cutkey, r->ents[keep - 1].it.keylen);
	}
	a->state = ASKED_ANSWERED;
	r->nanswered++;
	req_check(r);
}

static void
list_done(struct req *r)
{
	struct cbor_buf		*b;
	const struct kv_item	*it;
	uint64_t		 now = clock_wall_ms();
	size_t			 i, n = 0, last = 0;
	bool			 more;

	for (i = 0; i < r->nents && n < r->limit; i++)
		if (live_item(&r->ents[i].it, now)) {
			n++;
			last = i;
		}
	/*
	 * More may follow if the limit left some out or keys were cut:
	 * the next page starts after the last key returned, or, with none
	 * returned, after all that this page covered.
	 */
	more = r->cut || (n == r->limit && i < r->nents);
	b = ctl_defer_begin(r->defer);
	cbor_put_map(b, 1 + more);
	cbor_put_text(b, "items");
	cbor_put_array(b, n);
	for (i = 0; i <= last && n > 0; i++) {
		it = &r->ents[i].it;
		if (!live_item(it, now))
			continue;
		put_item(b, it, r->values);
	}
	if (more && n > 0) {
		cbor_put_text(b, "next");
		cbor_put_textn(b, r->ents[last].it.key,
		    r->ents[last].it.keylen);
	} else if (more) {
		cbor_put_text(b, "next");
		cbor_put_textn(b, r->cutkey, r->cutlen);
	}
	ctl_defer_end(r->defer);
	r->defer = NULL;
	req_free(r);
}

/* What a list scan gathers, copied out of the store. */
struct scan {
	struct kv	*kv;
	uint64_t	 limit;
	bool		 values;
	uint64_t	 now;
	size_t		 n;
	size_t		 bytes;
	bool		 more;
};

static int
scan_item(void *arg, const struct kv_item *it)
{
	struct scan	*s = arg;
	struct kv	*kv = s->kv;
	struct kv_item	*out;
	size_t		 vlen = s->values ? it->valuelen : 0;

	if (expired(it, s->now))
		return 0;
	if (s->n == s->limit || (s->n > 0 && s->bytes + it->keylen + vlen +
	    KV_ITEM_OVERHEAD + KV_BODY_SLACK > kv->par.max_message)) {
		s->more = true;
		return 1;
	}
	out = &kv->litems[s->n++];
	*out = *it;
	/* Spans are offsets until the scan ends: the buffer may move. */
	out->key = (const char *)(uintptr_t)kv->scan.len;
	cbor_put_raw(&kv->scan, it->key, it->keylen);
	if (vlen > 0) {
		out->value = (const uint8_t *)(uintptr_t)kv->scan.len;
		cbor_put_raw(&kv->scan, it->value, vlen);
	} else {
		out->value = NULL;
		out->valuelen = 0;
	}
	s->bytes += it->keylen + vlen + KV_ITEM_OVERHEAD;
	return 0;
}

/*
 * This node's first items under prefix after after (NULL: from the
 * first) into a LIST_ANSWER; false if the store failed.
 */
static bool
list_scan(struct kv *kv, const char *prefix, size_t prefixlen,
    const char *after, size_t afterlen, uint64_t limit, bool values,
    struct kvmsg *ans)
{
	struct scan	s;
	size_t		i;

	memset(&s, 0, sizeof(s));
	s.kv = kv;
	s.limit = limit > KVMSG_ITEMS_MAX ? KVMSG_ITEMS_MAX : limit;
	s.values = values;
	s.now = clock_wall_ms();
	cbor_buf_reset(&kv->scan);
	if (kvstore_scan(kv->store, prefix, prefixlen, after, afterlen,
	    scan_item, &s) == -1 || kv->scan.failed)
		return false;
	for (i = 0; i < s.n; i++) {
		kv->litems[i].key = (const char *)kv->scan.data +
		    (uintptr_t)kv->litems[i].key;
		if (kv->litems[i].valuelen > 0)
			kv->litems[i].value = kv->scan.data +
			    (uintptr_t)kv->litems[i].value;
	}
	msg_init(ans, KVMSG_LIST_ANSWER, NULL, 0);
	ans->items = kv->litems;
	ans->nitems = s.n;
	ans->more = s.more;
	return true;
}

static void
list_start(struct kv *kv, struct ctl_conn *c, uint64_t id, const char *prefix,
    size_t prefixlen, const char *after, size_t afterlen, uint64_t limit,
    bool values, uint64_t timeout_ms)
{
	const uint8_t	(*ids)[NODE_ID_LEN];
	struct req	*r;
	struct kvmsg	 m, ans;
	struct asked	*self = NULL;
	const char	*why;
	size_t		 n, i;

	if ((n = kvring_nodes(kv->ring, &ids)) == 0) {
		kv->st.failed++;
		ctl_reply_error(c, id, PEER_UNAVAILABLE, "no store node is "
		    "live");
		return;
	}
	if ((r = req_new(kv, REQ_LIST, prefix, prefixlen, n, timeout_ms,
	    &why)) != NULL && (r->ents = calloc(limit + KVMSG_ITEMS_MAX,
	    sizeof(*r->ents))) == NULL) {
		req_free(r);
		r = NULL;
		why = "out of memory";
	}
	if (r == NULL) {
		kv->st.failed++;
		ctl_reply_error(c, id, PEER_RESOURCE_EXHAUSTED, "%s", why);
		return;
	}
	if (!req_defer(r, c, id, prefixlen + afterlen))
		return;
	memcpy(r->prefix, prefix, prefixlen);
	r->prefixlen = prefixlen;
	memcpy(r->after, after, afterlen);
	r->afterlen = afterlen;
	r->limit = limit;
	r->values = values;
	msg_init(&m, KVMSG_LIST, NULL, 0);
	m.prefix = r->prefix;
	m.prefixlen = prefixlen;
	m.after = afterlen > 0 ? r->after : NULL;
	m.afterlen = afterlen;
	m.limit = limit;
	m.values = values;
	/* In order of IDs, for asked_find. */
	for (i = 0; i < n; i++)
		memcpy(r->asked[i].id, ids[i], NODE_ID_LEN);
	qsort(r->asked, n, sizeof(r->asked[0]), asked_cmp);
	r->starting = true;
	for (i = 0; i < n; i++) {
		if (is_self(kv, r->asked[i].id))
			self = &r->asked[i];
		else if (!post(kv, r->asked[i].id, r->rid, &m))
			asked_fail(r, &r->asked[i]);
	}
	r->starting = false;
	if (self == NULL) {
		req_check(r);
		return;
	}
	if (!list_scan(kv, r->prefix, prefixlen, afterlen > 0 ? r->after :
	    NULL, afterlen, limit, values, &ans)) {
		asked_fail(r, self);
		req_check(r);
		return;
	}
	list_answer(r, self, ans.items, ans.nitems, ans.more);
}

/*
 * Whether r can end now, and ending it if so.  Every change to what r
 * waits on comes here.
 */
static void
req_check(struct req *r)
{
	size_t	need;

	if (r->starting)
		return;
	switch (r->kind) {
	case REQ_FORWARD:
		if (r->nfailed > 0)
			req_fail(r, PEER_UNAVAILABLE, "the coordinator of %.*s "
			    "left the store during the write (it may still "
			    "take effect)", (int)r->keylen, r->key);
		break;
	case REQ_WRITE:
		coord_check(r);
		break;
	case REQ_READ:
		need = kvring_majority(r->nasked);
		if (r->nanswered >= need)
			read_done(r);
		else if (r->nanswered + waiting(r) < need && r->nspare > 0) {
			r->starting = true;
			read_ask_spares(r);
			r->starting = false;
			req_check(r);
		} else if (r->nanswered + waiting(r) < need)
			req_fail_short(r);
		break;
	case REQ_WHERE:
		if (waiting(r) == 0)
			where_done(r);
		break;
	case REQ_LIST:
		if (r->nfailed > list_spare(r->kv))
			req_fail_short(r);
		else if (waiting(r) == 0)
			list_done(r);
		break;
	}
}

static void
req_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct req	*r = arg;
	struct kv	*kv = r->kv;
	struct timeval	 tv;
	char		 buf[NODE_ID_STRLEN];

	(void)fd; (void)what;
	if (r->kind == REQ_READ && r->nspare > 0 && clock_ms() < r->deadline) {
		/* The hedge: the majority asked is slow, so ask the rest. */
		duration_timeval((uint64_t)(r->deadline - clock_ms()), &tv);
		evtimer_add(r->timer, &tv);
		r->starting = true;
		read_ask_spares(r);
		r->starting = false;
		req_check(r);
		return;
	}
	switch (r->kind) {
	case REQ_FORWARD:
		req_fail(r, PEER_UNAVAILABLE, "no answer from %s, the "
		    "coordinator of %.*s, in time (the write may still take "
		    "effect)", name_of(kv, r->asked[0].id, buf),
		    (int)r->keylen, r->key);
		break;
	case REQ_WRITE:
	case REQ_READ:
		req_fail_short(r);
		break;
	case REQ_WHERE:
		where_done(r);
		break;
	case REQ_LIST:
		if (r->nasked - r->nanswered <= list_spare(kv))
			list_done(r);
		else
			req_fail_short(r);
		break;
	}
}

/*
 * The owner's side: STORE, READ and LIST from other nodes, answered
 * with the sender's request number.
 */

static void
own_store(struct kv *kv, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct kv_item	 held;
	struct kvmsg	 ans;
	int		 got;
	char		 msg[256];

	if (!m->has_item)
		return;
	msg_init(&ans, KVMSG_STORED, m->item.key, m->item.keylen);
	if (too_far_ahead(m->item.ver.hlc)) {
		ans.err.code = PEER_INVALID_ARGUMENT;
		snprintf(msg, sizeof(msg), "version %" PRIu64 " is more than "
		    "24 h ahead of the clock of %s", m->item.ver.hlc,
		    kv->par.name);
		goto answer;
	}
	seen(kv, m->item.ver.hlc);
	if ((got = kvstore_get(kv->store, m->item.key, m->item.keylen,
	    &held)) == -1) {
		ans.err.code = PEER_INTERNAL;
		snprintf(msg, sizeof(msg), "the store of %s failed",
		    kv->par.name);
		goto answer;
	}
	/*
	 * The coordinator wrote over base while we hold a newer write that
	 * it missed: it must take ours and run its write again.
	 */
	if (got == 1 && !m->repair &&
	    kv_version_cmp(&m->base, &held.ver) < 0 &&
	    kv_version_cmp(&held.ver, &m->item.ver) < 0) {
		if (cid == 0)
			return;
		ans.err.code = PEER_FAILED_PRECONDITION;
		ans.err.msg = "a newer write is held";
		ans.err.msglen = strlen(ans.err.msg);
		ans.has_item = true;
		ans.item = held;
		(void)post(kv, from, cid, &ans);
		return;
	}
	ans.ver = m->item.ver;
	switch (kvstore_put(kv->store, &m->item)) {
	case KVSTORE_STORED:
		wrote(kv);
		kv->st.stored++;
		break;
	case KVSTORE_OLDER:
		if (got == 1)
			ans.ver = held.ver;
		break;
	case KVSTORE_FULL:
		ans.err.code = PEER_RESOURCE_EXHAUSTED;
		snprintf(msg, sizeof(msg), "%s holds %" PRIu64 " bytes of the "
		    "store, up to kv_max_bytes", kv->par.name,
		    kvstore_bytes(kv->store));
		break;
	default:
		ans.err.code = PEER_INTERNAL;
		snprintf(msg, sizeof(msg), "the store of %s failed",
		    kv->par.name);
		break;
	}
answer:
	if (cid == 0)
		return;
	if (ans.err.code != PEER_OK) {
		ans.err.msg = msg;
		ans.err.msglen = strlen(msg);
	}
	(void)post(kv, from, cid, &ans);
}

static void
own_read(struct kv *kv, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct kvmsg	ans;
	int		got;

	if (cid == 0)
		return;
	msg_init(&ans, KVMSG_READ_ANSWER, m->key, m->keylen);
	if ((got = kvstore_get(kv->store, m->key, m->keylen,
	    &ans.item)) == -1)
		return;		/* logged; the reader counts us failed */
	ans.has_item = got == 1;
	(void)post(kv, from, cid, &ans);
}

static void
own_list(struct kv *kv, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct kvmsg	ans;

	if (cid == 0 || !list_scan(kv, m->prefix, m->prefixlen, m->after,
	    m->afterlen, m->limit, m->values, &ans))
		return;
	(void)post(kv, from, cid, &ans);
}

/* A WRITE from an entry node: ordered here. */
static void
own_write(struct kv *kv, const uint8_t *from, uint64_t cid,
    const struct kvmsg *m)
{
	struct kvmsg	w, ans;

	if (cid == 0)
		return;
	msg_init(&ans, KVMSG_WRITTEN, m->key, m->keylen);
	if ((m->op != KV_PUT && m->op != KV_DEL && m->op != KV_MERGE) ||
	    (m->op != KV_DEL && m->value == NULL)) {
		ans.err.code = PEER_INVALID_ARGUMENT;
		ans.err.msg = "not a put, del or merge with its value";
	} else if (m->ttl_ms > KV_TTL_MAX) {
		ans.err.code = PEER_INVALID_ARGUMENT;
		ans.err.msg = "ttl: not an unsigned integer of at most "
		    "1099511627776";
	} else if (m->timeout_ms == 0) {
		ans.err.code = PEER_DEADLINE_EXCEEDED;
		ans.err.msg = "deadline passed on the way";
	}
	if (ans.err.code != PEER_OK) {
		ans.err.msglen = strlen(ans.err.msg);
		(void)post(kv, from, cid, &ans);
		return;
	}
	w = *m;
	if (w.timeout_ms > CALLMSG_TIMEOUT_MAX)
		w.timeout_ms = CALLMSG_TIMEOUT_MAX;
	coord_start(kv, NULL, 0, from, cid, &w);
}

/* An answer for a request of ours: the request, if from is one asked. */
static struct req *
answer_for(struct kv *kv, const uint8_t *from, uint64_t cid,
    enum req_kind kind, struct asked **ap)
{
	struct req	*r;
	struct asked	*a;

	if (cid == 0 || (r = *slot(kv, cid)) == NULL || r->kind != kind ||
	    (a = asked_find(r, from)) == NULL || a->state != ASKED_WAITING)
		return NULL;
	*ap = a;
	return r;
}

void
kv_deliver(struct kv *kv, const struct callmsg *cm)
{
	struct kvmsg	 m;
	struct req	*r;
	struct asked	*a;
	const char	*why = NULL;
	char		 id[NODE_ID_STRLEN];
	unsigned	 skipped;

	if (kv->depth == KV_DEPTH)
		why = "delivered inside too many others";
	else if (cm->args == NULL)
		why = "no body";
	else if (kvmsg_decode(cm->args, cm->argslen, &m,
	    &kv->space[kv->depth], &why) == -1 && why == NULL)
		why = "malformed";
	if (why != NULL) {
		if (ratelog_ok(&kv->badlog, 1000, &skipped)) {
			base32_encode(cm->origin, NODE_ID_LEN, id);
			log_warnx("kv: dropped a message from %.12s: %s (%u "
			    "more not logged)", id, why, skipped);
		}
		return;
	}
	kv->depth++;
	switch (m.kind) {
	case KVMSG_WRITE:
		own_write(kv, cm->origin, cm->cid, &m);
		break;
	case KVMSG_STORE:
		own_store(kv, cm->origin, cm->cid, &m);
		break;
	case KVMSG_READ:
		own_read(kv, cm->origin, cm->cid, &m);
		break;
	case KVMSG_LIST:
		own_list(kv, cm->origin, cm->cid, &m);
		break;
	case KVMSG_WRITTEN:
		if ((r = answer_for(kv, cm->origin, cm->cid, REQ_FORWARD,
		    &a)) != NULL)
			forward_written(r, &m);
		break;
	case KVMSG_STORED:
		if ((r = answer_for(kv, cm->origin, cm->cid, REQ_WRITE,
		    &a)) != NULL)
			coord_stored(r, a, &m);
		break;
	case KVMSG_READ_ANSWER:
		if ((r = answer_for(kv, cm->origin, cm->cid, REQ_READ,
		    &a)) != NULL ||
		    (r = answer_for(kv, cm->origin, cm->cid, REQ_WHERE,
		    &a)) != NULL)
			read_answer(r, a, m.has_item, &m.item);
		break;
	case KVMSG_LIST_ANSWER:
		if ((r = answer_for(kv, cm->origin, cm->cid, REQ_LIST,
		    &a)) != NULL)
			list_answer(r, a, m.items, m.nitems, m.more);
		break;
	case KVMSG_DIGEST:
	case KVMSG_HAVE:
	case KVMSG_WANT:
		kvsync_message(kv->sync, cm->origin, cm->cid, &m);
		break;
	case KVMSG_WATCH:
	case KVMSG_CHANGE:
		kvwatch_message(kv->watch, cm->origin, &m);
		break;
	}
	kv->depth--;
}

/*
 * Membership: the store's nodes may have changed.  Requests waiting on
 * a node that is no longer one count it failed at once.
 */
static void
ring_changed(struct kv *kv)
{
	struct req	*r, *next;
	size_t		 i, failed;

	if (!kvring_update(kv->ring))
		return;
	kvsync_changed(kv->sync);
	kvwatch_ring_changed(kv->watch);
	for (r = TAILQ_FIRST(&kv->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		failed = 0;
		for (i = 0; i < r->nasked; i++)
			if (r->asked[i].state == ASKED_WAITING &&
			    !kvring_has(kv->ring, r->asked[i].id)) {
				asked_fail(r, &r->asked[i]);
				failed++;
			}
		/* Ending a request frees no other: next stays valid. */
		if (failed > 0)
			req_check(r);
	}
}

void
kv_member(struct kv *kv, const struct member *m)
{
	char	*name;

	if (!m->self && (name = nodemap_put(kv->names, m->rec.id)) != NULL)
		snprintf(name, NODE_NAME_MAX + 1, "%s", m->rec.name);
	ring_changed(kv);
}

void
kv_forget(struct kv *kv, const uint8_t *id)
{
	nodemap_del(kv->names, id);
	kvwatch_forget(kv->watch, id);
	kvpost_forget(kv->post, id);
	ring_changed(kv);
}

void
kv_client_gone(struct kv *kv, struct ctl_conn *c)
{
	/*
	 * A client gone is still answered (it may only have shut its
	 * sending side); its requests end with its connection, through
	 * their defers.
	 */
	(void)kv; (void)c;
}

void
kv_free(struct kv *kv)
{
	struct req	*r;

	if (kv == NULL)
		return;
	while ((r = TAILQ_FIRST(&kv->reqs)) != NULL)
		req_fail(r, PEER_UNAVAILABLE, "%s is stopping", kv->par.name);
	if (kv->dirty)
		(void)kvstore_sync(kv->store);
	event_free(kv->sync_timer);
	nodemap_free(kv->names);
	nodemap_free(kv->from);
	cbor_buf_free(&kv->merged);
	cbor_buf_free(&kv->scan);
	free(kv);
}

void
kv_stats(const struct kv *kv, struct kv_stats *st)
{
	*st = kv->st;
	st->keys = kvstore_count(kv->store);
	st->bytes = kvstore_bytes(kv->store);
}

/*
 * The client ops.
 */

/* Reads the optional timeout; false after replying. */
static bool
arg_timeout(struct ctl_conn *c, const struct ctl_msg *msg, uint64_t *ms)
{
	*ms = KV_TIMEOUT_DEFAULT;
	if (!ctl_arg_uint(c, msg, "timeout", ms, CALLMSG_TIMEOUT_MAX))
		return false;
	if (*ms == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "timeout: "
		    "must be at least 1 ms");
		return false;
	}
	return true;
}

/*
 * Reads a key-like text argument; false after replying.  required:
 * it must be there; prefix: it may be empty.
 */
static bool
arg_key(struct ctl_conn *c, const struct ctl_msg *msg, const char *name,
    const char **key, size_t *keylen, bool required, bool prefix)
{
	const struct cbor_field	*f;

	*key = "";
	*keylen = 0;
	if ((f = ctl_msg_get(msg, name)) == NULL) {
		if (!required)
			return true;
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "%s: "
		    "missing", name);
		return false;
	}
	if (!cbor_read_text(f->val, f->vallen, key, keylen) ||
	    ((!prefix || *keylen > 0) && !kv_key_valid(*key, *keylen))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "%s: not "
		    "text of %d-%d bytes without control characters", name,
		    prefix ? 0 : 1, KV_KEY_MAX);
		return false;
	}
	return true;
}

/* Whether this node may take writes now; false after replying. */
static bool
quorate(struct kv *kv, struct ctl_conn *c, uint64_t id)
{
	size_t	live, known;

	if (kvring_quorate(kv->ring, &live, &known))
		return true;
	kv->st.failed++;
	ctl_reply_error(c, id, PEER_UNAVAILABLE, "this node sees %zu of %zu "
	    "store nodes live: writes need more than half", live, known);
	return false;
}

/* kv_put, kv_del and kv_merge. */
static void
kv_op_write(struct kv *kv, struct ctl_conn *c, const struct ctl_msg *msg,
    enum kv_write_op op)
{
	const struct cbor_field	*f;
	uint8_t			 owners[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	struct kvmsg		 w;

	kv->st.writes++;
	msg_init(&w, KVMSG_WRITE, NULL, 0);
	w.op = op;
	if (!arg_key(c, msg, "key", &w.key, &w.keylen, true, false) ||
	    !arg_timeout(c, msg, &w.timeout_ms))
		goto refused;
	if (op != KV_DEL) {
		if ((f = ctl_msg_get(msg, "value")) == NULL) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "value: missing");
			goto refused;
		}
		if (f->vallen > kv->par.value_max) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "value: %zu bytes, kv_value_max is %" PRIu64,
			    f->vallen, kv->par.value_max);
			goto refused;
		}
		/* Deeper, it would not fit in a list answer's item. */
		if (cbor_scan_item_in(f->val, f->vallen, KVMSG_VALUE_LEVEL) !=
		    f->vallen) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "value: nested more than %d deep",
			    CBOR_SCAN_DEPTH - KVMSG_VALUE_LEVEL);
			goto refused;
		}
		if (op == KV_MERGE && !is_map(f->val, f->vallen)) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "value: not a map");
			goto refused;
		}
		w.value = f->val;
		w.valuelen = f->vallen;
	}
	if (op != KV_MERGE && ctl_msg_get(msg, "if_version") != NULL) {
		if (!ctl_arg_uint(c, msg, "if_version", &w.if_version,
		    UINT64_MAX))
			goto refused;
		w.has_if_version = true;
	}
	if (op == KV_PUT) {
		if (!ctl_arg_uint(c, msg, "ttl", &w.ttl_ms, KV_TTL_MAX))
			goto refused;
		if (ctl_msg_get(msg, "ttl") != NULL && w.ttl_ms == 0) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "ttl: must be at least 1 ms");
			goto refused;
		}
	}
	if (!quorate(kv, c, msg->id))
		return;
	if (kvring_owners(kv->ring, w.key, w.keylen, owners) == 0) {
		kv->st.failed++;
		ctl_reply_error(c, msg->id, PEER_UNAVAILABLE, "no store node "
		    "is live");
		return;
	}
	if (is_self(kv, owners[0]))
		coord_start(kv, c, msg->id, NULL, 0, &w);
	else
		forward_start(kv, c, msg->id, owners[0], &w);
	return;
refused:
	kv->st.failed++;
}

static void
kv_op_put(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	kv_op_write(arg, c, msg, KV_PUT);
}

static void
kv_op_del(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	kv_op_write(arg, c, msg, KV_DEL);
}

static void
kv_op_merge(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	kv_op_write(arg, c, msg, KV_MERGE);
}

static void
kv_op_get(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct kv	*kv = arg;
	const char	*key;
	size_t		 keylen;
	uint64_t	 timeout;

	kv->st.gets++;
	if (!arg_key(c, msg, "key", &key, &keylen, true, false) ||
	    !arg_timeout(c, msg, &timeout)) {
		kv->st.failed++;
		return;
	}
	read_start(kv, c, msg->id, REQ_READ, key, keylen, timeout);
}

static void
kv_op_where(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct kv	*kv = arg;
	const char	*key;
	size_t		 keylen;
	uint64_t	 timeout;

	if (!arg_key(c, msg, "key", &key, &keylen, true, false) ||
	    !arg_timeout(c, msg, &timeout))
		return;
	read_start(kv, c, msg->id, REQ_WHERE, key, keylen,
	    timeout < KV_WHERE_MS ? timeout : KV_WHERE_MS);
}

static void
kv_op_list(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct kv		*kv = arg;
	const struct cbor_field	*f;
	const char		*prefix, *after;
	size_t			 prefixlen, afterlen;
	uint64_t		 timeout, limit = KV_LIMIT_DEFAULT;
	bool			 values = true;

	kv->st.lists++;
	if (!arg_key(c, msg, "prefix", &prefix, &prefixlen, false, true) ||
	    !arg_key(c, msg, "after", &after, &afterlen, false, false) ||
	    !arg_timeout(c, msg, &timeout) ||
	    !ctl_arg_uint(c, msg, "limit", &limit, UINT64_MAX))
		goto refused;
	if (limit == 0 || limit > KVMSG_ITEMS_MAX) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "limit: "
		    "must be 1-%d", KVMSG_ITEMS_MAX);
		goto refused;
	}
	if ((f = ctl_msg_get(msg, "values")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &values)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "values: "
		    "not a boolean");
		goto refused;
	}
	list_start(kv, c, msg->id, prefix, prefixlen, after, afterlen, limit,
	    values, timeout);
	return;
refused:
	kv->st.failed++;
}

const struct ctl_op kv_ctl_ops[] = {
	{ "kv_del",	0,	kv_op_del },
	{ "kv_get",	0,	kv_op_get },
	{ "kv_list",	0,	kv_op_list },
	{ "kv_merge",	0,	kv_op_merge },
	{ "kv_put",	0,	kv_op_put },
	{ "kv_where",	0,	kv_op_where },
	{ NULL,		0,	NULL },
};
