/* SPDX-License-Identifier: ISC */
/*
 * kvwatch.c: watches of key-value prefixes.  The prefixes this node's
 * clients watch (at most KVMSG_PREFIXES_MAX distinct ones) go to every
 * node of the store as a lease, renewed every third of its length and
 * sent again at once when the set changes or the store gains a node.
 * A key's coordinator sends each change to the nodes whose live lease
 * covers the key, and hands it to its own clients directly.  A node
 * gives a change to its clients only if its version is newer than the
 * last one given for that key, which keeps each key's order however
 * the mesh routes.  A client that reads too slowly loses changes, and
 * the next one it gets says how many.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "clock.h"
#include "control.h"
#include "kvmsg.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvwatch.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"
#include "proto.h"

#define KVWATCH_BACKLOG_MAX	(1u << 20)	/* unread bytes at a client */
#define KVWATCH_SEEN_MAX	65536		/* keys whose last change is kept */
#define KVWATCH_SEEN_BUCKETS	16384
#define KVWATCH_LEASE_MAX	(10 * 60 * 1000)	/* ms a lease may ask for */
#define KVWATCH_TIMEOUT_MAX	86400000	/* ms, as every kv op's */

/* One of the distinct prefixes watched here; free while refs is 0. */
struct kwprefix {
	char			 text[KV_KEY_MAX + 1];
	size_t			 len;
	unsigned		 refs;		/* clients watching it */
};

/* A watching client: bit s of mask, prefix slot s. */
struct kwclient {
	TAILQ_ENTRY(kwclient)	 entry;
	struct ctl_conn		*c;		/* NULL: gone during a delivery */
	uint64_t		 mask;
	uint64_t		 lost;		/* since its last message */
};

/* Another node's lease: the prefixes its clients watch. */
struct lease {
	int64_t			 expires;	/* clock_ms */
	size_t			 n;
	char			*text;		/* the prefixes, end to end */
	uint16_t		 off[KVMSG_PREFIXES_MAX];
	uint16_t		 len[KVMSG_PREFIXES_MAX];
};

/* The last change given to clients here for one key. */
struct seen {
	TAILQ_ENTRY(seen)	 age;		/* oldest first */
	struct seen		*next;		/* in its bucket */
	struct kv_version	 ver;
	bool			 expired;	/* that change was its expiry */
	size_t			 keylen;
	char			 key[];
};

struct kvwatch {
	struct kvwatch_params	 par;
	uint8_t			 self[NODE_ID_LEN];
	struct kvring		*ring;
	struct kvpost		*post;
	struct event		*renew;		/* every lease_ms / 3 */
	struct event		*announce;	/* the set changed: tell all */

	struct kwprefix		 prefix[KVMSG_PREFIXES_MAX];
	size_t			 nprefixes;	/* slots in use */
	TAILQ_HEAD(, kwclient)	 clients;
	bool			 delivering;
	bool			 told_none;	/* the empty set went out */

	/* The store's nodes when our lease last went to all of them. */
	uint8_t			(*told)[NODE_ID_LEN];
	size_t			 ntold;

	struct nodemap		*leases;	/* struct lease */

	struct seen		**bucket;
	TAILQ_HEAD(, seen)	 seen;
	size_t			 nseen;
	uint8_t			 hkey[crypto_shorthash_KEYBYTES];

	struct kvwatch_stats	 st;
};

static void	kvwatch_renew(evutil_socket_t, short, void *);
static void	kvwatch_announce(evutil_socket_t, short, void *);

struct kvwatch *
kvwatch_new(struct event_base *base, const struct kvwatch_params *p,
    struct kvring *ring, struct kvpost *post)
{
	struct kvwatch	*kw;
	struct timeval	 tv;
	uint64_t	 every = p->lease_ms / 3 > 0 ? p->lease_ms / 3 : 1;

	if ((kw = calloc(1, sizeof(*kw))) == NULL)
		goto fail;
	kw->par = *p;
	memcpy(kw->self, p->self, NODE_ID_LEN);
	kw->par.self = kw->self;
	kw->ring = ring;
	kw->post = post;
	TAILQ_INIT(&kw->clients);
	TAILQ_INIT(&kw->seen);
	crypto_shorthash_keygen(kw->hkey);
	if ((kw->renew = event_new(base, -1, EV_PERSIST, kvwatch_renew,
	    kw)) == NULL ||
	    (kw->announce = event_new(base, -1, 0, kvwatch_announce, kw)) ==
	    NULL ||
	    (kw->told = calloc(MEMBERS_MAX, sizeof(*kw->told))) == NULL ||
	    (kw->leases = nodemap_new(sizeof(struct lease), MEMBERS_MAX)) ==
	    NULL ||
	    (kw->bucket = calloc(KVWATCH_SEEN_BUCKETS,
	    sizeof(*kw->bucket))) == NULL)
		goto fail;
	/* Nothing watched yet: nobody needs telling so. */
	kw->told_none = true;
	tv.tv_sec = (time_t)(every / 1000);
	tv.tv_usec = (suseconds_t)(every % 1000 * 1000);
	if (event_add(kw->renew, &tv) == -1)
		goto fail;
	return kw;
fail:
	log_warn("kvwatch");
	kvwatch_free(kw);
	return NULL;
}

static void
lease_free(struct lease *l)
{
	free(l->text);
	l->text = NULL;
	l->n = 0;
}

void
kvwatch_free(struct kvwatch *kw)
{
	struct kwclient	*cl;
	struct seen	*s;
	struct lease	*l;
	const uint8_t	*idp;
	size_t		 i;

	if (kw == NULL)
		return;
	while ((cl = TAILQ_FIRST(&kw->clients)) != NULL) {
		TAILQ_REMOVE(&kw->clients, cl, entry);
		free(cl);
	}
	while ((s = TAILQ_FIRST(&kw->seen)) != NULL) {
		TAILQ_REMOVE(&kw->seen, s, age);
		free(s);
	}
	if (kw->leases != NULL)
		for (i = 0; i < nodemap_count(kw->leases); i++) {
			l = nodemap_at(kw->leases, i, &idp);
			lease_free(l);
		}
	nodemap_free(kw->leases);
	free(kw->bucket);
	free(kw->told);
	if (kw->renew != NULL)
		event_free(kw->renew);
	if (kw->announce != NULL)
		event_free(kw->announce);
	free(kw);
}

/* The prefixes watched here, as a WATCH body. */
static void
watch_body(const struct kvwatch *kw, struct kvmsg *m)
{
	size_t	s;

	memset(m, 0, sizeof(*m));
	m->kind = KVMSG_WATCH;
	m->lease_ms = kw->par.lease_ms;
	for (s = 0; s < KVMSG_PREFIXES_MAX; s++) {
		if (kw->prefix[s].refs == 0)
			continue;
		m->prefixes[m->nprefixes] = kw->prefix[s].text;
		m->prefixlens[m->nprefixes++] = kw->prefix[s].len;
	}
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NODE_ID_LEN);
}

/*
 * Sends our lease to the store's nodes (but us): to all of them, or
 * only to those not told when it last went to all.  Remembers them.
 */
static void
tell(struct kvwatch *kw, bool all)
{
	const uint8_t	(*ids)[NODE_ID_LEN];
	struct kvmsg	 m;
	size_t		 i, n;

	watch_body(kw, &m);
	n = kvring_nodes(kw->ring, &ids);
	if (n > MEMBERS_MAX)
		n = MEMBERS_MAX;
	for (i = 0; i < n; i++) {
		if (memcmp(ids[i], kw->self, NODE_ID_LEN) == 0)
			continue;
		if (!all && bsearch(ids[i], kw->told, kw->ntold,
		    sizeof(*kw->told), id_cmp) != NULL)
			continue;
		(void)kvpost_send(kw->post, ids[i], 0, &m);
	}
	/* kvring_nodes gives them sorted by ID, as bsearch wants. */
	memcpy(kw->told, ids, n * sizeof(*kw->told));
	kw->ntold = n;
	kw->told_none = m.nprefixes == 0;
}

static void
kvwatch_announce(evutil_socket_t fd, short what, void *arg)
{
	struct kvwatch	*kw = arg;

	(void)fd;
	(void)what;
	/* An empty set goes out once, so that the nodes drop our lease. */
	if (kw->nprefixes > 0 || !kw->told_none)
		tell(kw, true);
}

/* Forgets the leases that ran out, and renews ours. */
static void
kvwatch_renew(evutil_socket_t fd, short what, void *arg)
{
	struct kvwatch	*kw = arg;
	struct lease	*l;
	const uint8_t	*idp;
	uint8_t		 id[NODE_ID_LEN];
	int64_t		 now = clock_ms();
	size_t		 i = 0;

	(void)fd;
	(void)what;
	while (i < nodemap_count(kw->leases)) {
		l = nodemap_at(kw->leases, i, &idp);
		if (l->expires > now) {
			i++;
			continue;
		}
		memcpy(id, idp, NODE_ID_LEN);
		lease_free(l);
		nodemap_del(kw->leases, id);	/* moves the last to i */
	}
	if (kw->nprefixes > 0)
		tell(kw, true);
}

void
kvwatch_ring_changed(struct kvwatch *kw)
{
	if (kw->nprefixes > 0)
		tell(kw, false);
}

void
kvwatch_forget(struct kvwatch *kw, const uint8_t *id)
{
	struct lease	*l;

	if ((l = nodemap_get(kw->leases, id)) == NULL)
		return;
	lease_free(l);
	nodemap_del(kw->leases, id);
}

/* A prefix of 0 to KV_KEY_MAX bytes that a key may begin with. */
static bool
prefix_valid(const char *p, size_t len)
{
	return len == 0 || kv_key_valid(p, len);
}

/* A WATCH from node from: its lease, replacing the one held. */
static void
take_lease(struct kvwatch *kw, const uint8_t *from, const struct kvmsg *m)
{
	struct lease	*l;
	uint64_t	 ms = m->lease_ms;
	size_t		 i, total = 0, off = 0;
	char		*text;

	if (m->nprefixes > KVMSG_PREFIXES_MAX)
		return;
	for (i = 0; i < m->nprefixes; i++) {
		if (m->prefixlens[i] > KV_KEY_MAX ||
		    !prefix_valid(m->prefixes[i], m->prefixlens[i]))
			return;
		total += m->prefixlens[i];
	}
	if (m->nprefixes == 0 || ms == 0) {
		kvwatch_forget(kw, from);
		return;
	}
	/* total + 1: a lease of empty prefixes still holds a buffer. */
	if ((text = malloc(total + 1)) == NULL) {
		log_warn("kvwatch: lease");
		return;
	}
	if ((l = nodemap_put(kw->leases, from)) == NULL) {
		free(text);
		return;
	}
	lease_free(l);
	for (i = 0; i < m->nprefixes; i++) {
		memcpy(text + off, m->prefixes[i], m->prefixlens[i]);
		l->off[i] = (uint16_t)off;
		l->len[i] = (uint16_t)m->prefixlens[i];
		off += m->prefixlens[i];
	}
	l->text = text;
	l->n = m->nprefixes;
	if (ms > KVWATCH_LEASE_MAX)
		ms = KVWATCH_LEASE_MAX;
	l->expires = clock_ms() + (int64_t)ms;
}

static bool
lease_covers(const struct lease *l, const char *key, size_t keylen)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (kv_key_has_prefix(key, keylen, l->text + l->off[i],
		    l->len[i]))
			return true;
	return false;
}

static struct seen **
seen_slot(struct kvwatch *kw, const char *key, size_t keylen)
{
	uint8_t		 h[crypto_shorthash_BYTES];
	uint64_t	 v;

	crypto_shorthash(h, (const unsigned char *)key, keylen, kw->hkey);
	memcpy(&v, h, sizeof(v));
	return &kw->bucket[v % KVWATCH_SEEN_BUCKETS];
}

static struct seen *
seen_find(struct kvwatch *kw, const char *key, size_t keylen)
{
	struct seen	*s;

	for (s = *seen_slot(kw, key, keylen); s != NULL; s = s->next)
		if (s->keylen == keylen && memcmp(s->key, key, keylen) == 0)
			return s;
	return NULL;
}

static void
seen_remove(struct kvwatch *kw, struct seen *s)
{
	struct seen	**pp;

	for (pp = seen_slot(kw, s->key, s->keylen); *pp != s;
	    pp = &(*pp)->next)
		;
	*pp = s->next;
	TAILQ_REMOVE(&kw->seen, s, age);
	kw->nseen--;
	free(s);
}

/*
 * Whether a change of the item (its expiry if expired) comes after the
 * last one given here for its key; if so it becomes the last.  An
 * expiry keeps the version of the write it ends, so it comes after
 * that write's own change.  With no memory left, every change passes.
 */
static bool
seen_newer(struct kvwatch *kw, const struct kv_item *it, bool expired)
{
	struct seen	**pp, *s;
	int		  cmp;

	if ((s = seen_find(kw, it->key, it->keylen)) != NULL) {
		cmp = kv_version_cmp(&it->ver, &s->ver);
		if (cmp < 0 || (cmp == 0 && (s->expired || !expired)))
			return false;
		TAILQ_REMOVE(&kw->seen, s, age);
	} else {
		if (kw->nseen == KVWATCH_SEEN_MAX)
			seen_remove(kw, TAILQ_FIRST(&kw->seen));
		if ((s = malloc(sizeof(*s) + it->keylen)) == NULL) {
			log_warn("kvwatch: versions seen");
			return true;
		}
		memcpy(s->key, it->key, it->keylen);
		s->keylen = it->keylen;
		pp = seen_slot(kw, it->key, it->keylen);
		s->next = *pp;
		*pp = s;
		kw->nseen++;
	}
	s->ver = it->ver;
	s->expired = expired;
	TAILQ_INSERT_TAIL(&kw->seen, s, age);
	return true;
}

static const char *
change_name(enum kv_write_op op)
{
	switch (op) {
	case KV_PUT:
		return "put";
	case KV_DEL:
		return "del";
	case KV_MERGE:
		return "merge";
	case KV_EXPIRE:
		break;
	}
	return "expired";
}

/* Gives one change to one client watching prefix slot s, or counts it lost. */
static void
give(struct kvwatch *kw, struct kwclient *cl, size_t s, enum kv_write_op op,
    const struct kv_item *it, const char *writer)
{
	struct cbor_buf	*b;
	bool		 value;

	if (ctl_queued(cl->c) > KVWATCH_BACKLOG_MAX) {
		cl->lost++;
		kw->st.lost++;
		return;
	}
	value = (op == KV_PUT || op == KV_MERGE) && !it->tombstone &&
	    it->value != NULL;
	kw->st.delivered++;
	b = ctl_message_begin(cl->c);
	cbor_put_map(b, 6 + value + (cl->lost > 0));
	cbor_put_text(b, "op");
	cbor_put_text(b, "kv_change");
	cbor_put_text(b, "prefix");
	cbor_put_textn(b, kw->prefix[s].text, kw->prefix[s].len);
	cbor_put_text(b, "key");
	cbor_put_textn(b, it->key, it->keylen);
	cbor_put_text(b, "change");
	cbor_put_text(b, change_name(op));
	cbor_put_text(b, "version");
	cbor_put_uint(b, it->ver.hlc);
	cbor_put_text(b, "writer");
	cbor_put_text(b, writer);
	if (value) {
		cbor_put_text(b, "value");
		cbor_put_raw(b, it->value, it->valuelen);
	}
	if (cl->lost > 0) {
		cbor_put_text(b, "lost");
		cbor_put_uint(b, cl->lost);
		cl->lost = 0;
	}
	ctl_message_end(cl->c);
}

static bool
watched_here(const struct kvwatch *kw, const char *key, size_t keylen)
{
	size_t	s;

	for (s = 0; s < KVMSG_PREFIXES_MAX; s++)
		if (kw->prefix[s].refs > 0 && kv_key_has_prefix(key, keylen,
		    kw->prefix[s].text, kw->prefix[s].len))
			return true;
	return false;
}

/*
 * A change for this node's clients: each watch of a prefix the key
 * begins with gets one message, unless the key's last change given
 * here was as new.
 */
static void
deliver_local(struct kvwatch *kw, enum kv_write_op op,
    const struct kv_item *it)
{
	struct kwclient	*cl, *next;
	char		 writer[NODE_ID_STRLEN];
	size_t		 s;

	if (!watched_here(kw, it->key, it->keylen) ||
	    !seen_newer(kw, it, op == KV_EXPIRE))
		return;
	base32_encode(it->ver.node, NODE_ID_LEN, writer);
	/* A client whose message cannot be queued goes away meanwhile. */
	kw->delivering = true;
	TAILQ_FOREACH(cl, &kw->clients, entry)
		for (s = 0; s < KVMSG_PREFIXES_MAX; s++)
			if ((cl->mask & (1ull << s)) && kv_key_has_prefix(
			    it->key, it->keylen, kw->prefix[s].text,
			    kw->prefix[s].len))
				give(kw, cl, s, op, it, writer);
	kw->delivering = false;
	for (cl = TAILQ_FIRST(&kw->clients); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, entry);
		if (cl->c == NULL) {
			TAILQ_REMOVE(&kw->clients, cl, entry);
			free(cl);
		}
	}
}

void
kvwatch_changed(struct kvwatch *kw, enum kv_write_op op,
    const struct kv_item *it)
{
	struct kvmsg	 m;
	struct lease	*l;
	const uint8_t	*idp;
	int64_t		 now = clock_ms();
	size_t		 i;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_CHANGE;
	m.key = it->key;
	m.keylen = it->keylen;
	m.change_op = op;
	m.has_item = true;
	m.item = *it;
	for (i = 0; i < nodemap_count(kw->leases); i++) {
		l = nodemap_at(kw->leases, i, &idp);
		if (l->expires <= now || !lease_covers(l, it->key, it->keylen))
			continue;
		if (kvpost_send(kw->post, idp, 0, &m) == ROUTE_SENT)
			kw->st.sent++;
	}
	deliver_local(kw, op, it);
}

void
kvwatch_message(struct kvwatch *kw, const uint8_t *from,
    const struct kvmsg *m)
{
	/* Our own watches and changes never travel as messages. */
	if (memcmp(from, kw->self, NODE_ID_LEN) == 0)
		return;
	switch (m->kind) {
	case KVMSG_WATCH:
		take_lease(kw, from, m);
		break;
	case KVMSG_CHANGE:
		if (m->has_item && kv_key_valid(m->item.key, m->item.keylen))
			deliver_local(kw, m->change_op, &m->item);
		break;
	default:
		break;
	}
}

static struct kwclient *
client_of(struct kvwatch *kw, const struct ctl_conn *c)
{
	struct kwclient	*cl;

	TAILQ_FOREACH(cl, &kw->clients, entry)
		if (cl->c == c)
			return cl;
	return NULL;
}

/* The slot of a prefix watched here, or -1. */
static int
prefix_find(const struct kvwatch *kw, const char *p, size_t len)
{
	int	s;

	for (s = 0; s < KVMSG_PREFIXES_MAX; s++)
		if (kw->prefix[s].refs > 0 && kw->prefix[s].len == len &&
		    memcmp(kw->prefix[s].text, p, len) == 0)
			return s;
	return -1;
}

/* One client less watches slot s; the set may have changed. */
static void
prefix_unref(struct kvwatch *kw, int s)
{
	if (--kw->prefix[s].refs > 0)
		return;
	kw->nprefixes--;
	event_active(kw->announce, EV_TIMEOUT, 0);
}

void
kvwatch_client_gone(struct kvwatch *kw, struct ctl_conn *c)
{
	struct kwclient	*cl;
	int		 s;

	if ((cl = client_of(kw, c)) == NULL)
		return;
	for (s = 0; s < KVMSG_PREFIXES_MAX; s++)
		if (cl->mask & (1ull << s))
			prefix_unref(kw, s);
	cl->mask = 0;
	if (kw->delivering)
		cl->c = NULL;	/* deliver_local is walking the list */
	else {
		TAILQ_REMOVE(&kw->clients, cl, entry);
		free(cl);
	}
}

void
kvwatch_stats(const struct kvwatch *kw, struct kvwatch_stats *st)
{
	const struct kwclient	*cl;

	*st = kw->st;
	st->watches = 0;
	TAILQ_FOREACH(cl, &kw->clients, entry)
		st->watches += (uint64_t)__builtin_popcountll(cl->mask);
	st->leases = nodemap_count(kw->leases);
}

/*
 * Reads the "prefix" of a request into buf; false after replying.  A
 * "timeout" is checked as every key-value op checks it, though the
 * reply comes at once.
 */
static bool
read_prefix(struct ctl_conn *c, const struct ctl_msg *msg, char *buf,
    size_t *len)
{
	uint64_t	timeout = KVWATCH_TIMEOUT_MAX;

	if (!ctl_arg_text(c, msg, "prefix", buf, KV_KEY_MAX + 1, true) ||
	    !ctl_arg_uint(c, msg, "timeout", &timeout, KVWATCH_TIMEOUT_MAX))
		return false;
	if (timeout == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "timeout: "
		    "must be at least 1 ms");
		return false;
	}
	*len = strlen(buf);
	if (!prefix_valid(buf, *len)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "prefix: "
		    "not text of 0-%d bytes without control characters",
		    KV_KEY_MAX);
		return false;
	}
	return true;
}

static void
reply_prefix(struct ctl_conn *c, uint64_t id, const char *prefix)
{
	struct cbor_buf	*b = ctl_result_begin(c, id);

	cbor_put_map(b, 1);
	cbor_put_text(b, "prefix");
	cbor_put_text(b, prefix);
	ctl_result_end(c);
}

static void
kvwatch_op_watch(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct kvwatch	*kw = arg;
	struct kwclient	*cl;
	char		 prefix[KV_KEY_MAX + 1];
	size_t		 len;
	int		 s;

	if (!read_prefix(c, msg, prefix, &len))
		return;
	cl = client_of(kw, c);
	s = prefix_find(kw, prefix, len);
	if (cl != NULL && s != -1 && (cl->mask & (1ull << s))) {
		ctl_reply_error(c, msg->id, PEER_ALREADY_EXISTS, "this client "
		    "watches \"%s\" already", prefix);
		return;
	}
	if (s == -1 && kw->nprefixes == KVMSG_PREFIXES_MAX) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "this "
		    "node's clients watch %d prefixes already",
		    KVMSG_PREFIXES_MAX);
		return;
	}
	if (cl == NULL) {
		if ((cl = calloc(1, sizeof(*cl))) == NULL) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return;
		}
		cl->c = c;
		TAILQ_INSERT_TAIL(&kw->clients, cl, entry);
	}
	if (s == -1) {
		for (s = 0; kw->prefix[s].refs > 0; s++)
			;
		memcpy(kw->prefix[s].text, prefix, len + 1);
		kw->prefix[s].len = len;
		kw->nprefixes++;
		event_active(kw->announce, EV_TIMEOUT, 0);
	}
	kw->prefix[s].refs++;
	cl->mask |= 1ull << s;
	reply_prefix(c, msg->id, prefix);
}

static void
kvwatch_op_unwatch(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct kvwatch	*kw = arg;
	struct kwclient	*cl;
	char		 prefix[KV_KEY_MAX + 1];
	size_t		 len;
	int		 s;

	if (!read_prefix(c, msg, prefix, &len))
		return;
	cl = client_of(kw, c);
	s = prefix_find(kw, prefix, len);
	if (cl == NULL || s == -1 || !(cl->mask & (1ull << s))) {
		ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "this client does "
		    "not watch \"%s\"", prefix);
		return;
	}
	cl->mask &= ~(1ull << s);
	prefix_unref(kw, s);
	if (cl->mask == 0) {
		TAILQ_REMOVE(&kw->clients, cl, entry);
		free(cl);
	}
	reply_prefix(c, msg->id, prefix);
}

const struct ctl_op kvwatch_ctl_ops[] = {
	{ "kv_unwatch",	0,	kvwatch_op_unwatch },
	{ "kv_watch",	0,	kvwatch_op_watch },
	{ NULL,		0,	NULL },
};
