/* SPDX-License-Identifier: ISC */
/*
 * test_kv.c: kv.c on four nodes in one process, each with its own
 * store on disk, member table, ring, sync, watches, control server and
 * kv,
 * and a fake kvpost between them that delivers in order from the loop,
 * and can lose or hold the messages to a node.  The rules: a write goes to the
 * key's coordinator, which stores it on a majority of the owners before
 * answering, checks if_version against what it holds, merges into a
 * map, runs again after an owner says it holds a newer write, and fails
 * with the counts when too few owners store it in time; a read takes
 * the newest of a majority and repairs an owner that answered older; a
 * list merges every node's first items into pages; where shows each
 * owner; requests end once, whoever goes first (client, deadline,
 * answers, an owner leaving the store).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "base32.h"
#include "callmsg.h"
#include "cbor_scan.h"
#include "clock.h"
#include "control.h"
#include "harness.h"
#include "hlc.h"
#include "kv.h"
#include "kvmsg.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvsync.h"
#include "kvwatch.h"
#include "log.h"

#define WAIT_MS		3000	/* for a reply that must come */
#define NODES		4
#define REPLICAS	3
#define VALUE_MAX	4096
#define QUEUE_MAX	4096	/* messages between the nodes at once */
#define SENT_MAX	8192	/* messages kept for the tests to look at */


/* The fake kvpost of one node. */
struct kvpost {
	int	node;
};

/* What one node sent, for the tests to look at. */
struct sent {
	int			from, to;
	enum kvmsg_kind		kind;
	uint64_t		cid;
	bool			repair;
	char			key[KV_KEY_MAX + 1];
	uint64_t		hlc;		/* of the item, if any */
};

/* A message on its way. */
struct qmsg {
	int		from, to;
	uint64_t	cid;
	struct cbor_buf	body;
};

struct tkv {
	struct tnode	 tn;
	struct members	*members;
	struct kvstore	*store;
	struct kvring	*ring;
	struct kvpost	 post;
	struct kvsync	*sync;
	struct kvwatch	*watch;
	struct kv	*kv;
	struct control	*ctl;
	struct client	*cl;
	char		 dir[128], sock[192];
	bool		 silent;	/* what is sent to it is lost */
	bool		 held;		/* what is sent to it waits */
};

static struct event_base	*base;
static struct tkv		 nodes[NODES];
static struct qmsg		 queue[QUEUE_MAX];
static size_t			 nqueue;
static struct event		*deliver_ev;
static struct sent		 sent[SENT_MAX];
static size_t			 nsent;
static uint64_t			 next_id;
static char			 errmsg[512];
static const char		*conflict_key;	/* its stores conflict */
static uint64_t			 conflict_step;	/* that far above the base */
static size_t			 sent_mark;	/* was_sent looks from here */
static uint64_t			 store_max = 64u << 20;	/* kv_max_bytes */
static uint64_t			 held_max;	/* 0: kv.c's */

static int
node_of(const uint8_t *id)
{
	int	i;

	for (i = 0; i < NODES; i++)
		if (memcmp(nodes[i].tn.pk, id, NODE_ID_LEN) == 0)
			return i;
	return -1;
}

/* Hands one message to its node's kv, as route does. */
static void
hand(int from, int to, uint64_t cid, const struct cbor_buf *body)
{
	struct callmsg	cm;

	memset(&cm, 0, sizeof(cm));
	cm.type = CALLMSG_KV;
	memcpy(cm.origin, nodes[from].tn.pk, NODE_ID_LEN);
	memcpy(cm.provider, nodes[to].tn.pk, NODE_ID_LEN);
	cm.cid = cid;
	cm.hops = CALLMSG_HOPS;
	cm.args = body->data;
	cm.argslen = body->len;
	kv_deliver(nodes[to].kv, &cm);
}

/*
 * Delivers the messages queued when it starts, in order, but those to
 * a node held, which wait; what they send goes on the next turn.
 */
static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmsg	q;
	size_t		i, n = nqueue, kept = 0;

	(void)fd; (void)what; (void)arg;
	for (i = 0; i < n; i++) {
		q = queue[i];
		if (nodes[q.to].held) {
			queue[kept++] = q;
			continue;
		}
		/* Out of the queue before it runs: it may send more. */
		memset(&queue[i], 0, sizeof(queue[i]));
		hand(q.from, q.to, q.cid, &q.body);
		cbor_buf_free(&q.body);
	}
	/* What came in meanwhile follows what waits. */
	memmove(&queue[kept], &queue[n], (nqueue - n) * sizeof(queue[0]));
	nqueue = kept + (nqueue - n);
	for (i = 0; i < nqueue; i++)
		if (!nodes[queue[i].to].held) {
			event_active(deliver_ev, EV_TIMEOUT, 0);
			break;
		}
}

/*
 * Puts in node's store a write just above over that the coordinator
 * missed: from a node whose ID is above every other.
 */
static void
conflict(int node, const struct kv_version *over)
{
	static const uint8_t	v[2] = { 0x18, 99 };	/* uint 99 */
	struct kv_item		it;

	memset(&it, 0, sizeof(it));
	it.key = conflict_key;
	it.keylen = strlen(conflict_key);
	it.ver.hlc = over->hlc + conflict_step;
	memset(it.ver.node, 0xff, NODE_ID_LEN);
	it.value = v;
	it.valuelen = sizeof(v);
	ck_assert_int_eq(kvstore_put(nodes[node].store, &it), KVSTORE_STORED);
}

struct kvpost *
kvpost_new(struct route *r, const uint8_t *self, uint64_t max_message)
{
	(void)r; (void)self; (void)max_message;
	ck_abort_msg("the tests make their own kvposts");
	return NULL;
}

void
kvpost_free(struct kvpost *p)
{
	(void)p;
}

void
kvpost_forget(struct kvpost *p, const uint8_t *id)
{
	(void)p; (void)id;
}

enum route_result
kvpost_send(struct kvpost *p, const uint8_t *dest, uint64_t cid,
    const struct kvmsg *m)
{
	struct cbor_buf	 body;
	struct sent	*s;
	int		 to = node_of(dest);

	ck_assert_int_ge(to, 0);
	memset(&body, 0, sizeof(body));
	kvmsg_encode(&body, m);
	ck_assert(!body.failed);
	ck_assert_uint_lt(nsent, SENT_MAX);
	s = &sent[nsent++];
	s->from = p->node;
	s->to = to;
	s->kind = m->kind;
	s->cid = cid;
	s->repair = m->repair;
	if (m->key != NULL)
		snprintf(s->key, sizeof(s->key), "%.*s", (int)m->keylen,
		    m->key);
	else
		s->key[0] = '\0';
	s->hlc = m->has_item ? m->item.ver.hlc : 0;
	if (conflict_key != NULL && m->kind == KVMSG_STORE && cid != 0 &&
	    to != p->node && strcmp(s->key, conflict_key) == 0)
		conflict(to, &m->base);
	if (to == p->node) {
		hand(p->node, to, cid, &body);
		cbor_buf_free(&body);
		return ROUTE_SENT;
	}
	if (nodes[to].silent) {
		cbor_buf_free(&body);
		return ROUTE_SENT;
	}
	ck_assert_uint_lt(nqueue, QUEUE_MAX);
	queue[nqueue].from = p->node;
	queue[nqueue].to = to;
	queue[nqueue].cid = cid;
	queue[nqueue].body = body;
	nqueue++;
	if (!nodes[to].held)
		event_active(deliver_ev, EV_TIMEOUT, 0);
	return ROUTE_SENT;
}

static void
client_gone(void *arg, struct ctl_conn *c)
{
	kv_client_gone(((struct tkv *)arg)->kv, c);
	kvwatch_client_gone(((struct tkv *)arg)->watch, c);
}

static const struct control_ops	control_ops = { client_gone };

static void
setup(void)
{
	struct control_params	 cp;
	struct kvstore_params	 sp;
	struct kvring_params	 rp;
	struct kv_params	 kp;
	struct kvwatch_params	 wp;
	struct kvsync_params	 yp;
	struct record		 r;
	struct tkv		*n;
	char			 err[256], name[16], dir[128];
	int			 i, j;

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	deliver_ev = event_new(base, -1, 0, deliver_cb, NULL);
	ck_assert_ptr_nonnull(deliver_ev);
	memset(nodes, 0, sizeof(nodes));
	nqueue = nsent = sent_mark = 0;
	next_id = 0;
	conflict_key = NULL;
	conflict_step = 0;
	for (i = 0; i < NODES; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		tnode_new(&nodes[i].tn, name);
	}
	for (i = 0; i < NODES; i++) {
		n = &nodes[i];
		n->members = tnode_members(&n->tn);
		for (j = 0; j < NODES; j++) {
			if (j == i)
				continue;
			tnode_record(&nodes[j].tn, 1, &r);
			tnode_offer(n->members, &nodes[j].tn, &r);
		}
		tmpdir_make(dir, sizeof(dir), "kv");
		memcpy(n->dir, dir, sizeof(n->dir));
		snprintf(n->sock, sizeof(n->sock), "%s/sock", dir);
		snprintf(err, sizeof(err), "%s/kv", dir);
		memset(&sp, 0, sizeof(sp));
		sp.dir = err;
		sp.max_bytes = store_max;
		n->store = kvstore_open(&sp, err, sizeof(err));
		ck_assert_msg(n->store != NULL, "kvstore_open: %s", err);
		rp.self = n->tn.pk;
		rp.group = "";
		rp.replicas = REPLICAS;
		n->ring = kvring_new(&rp, n->members);
		ck_assert_ptr_nonnull(n->ring);
		n->post.node = i;
		wp.self = n->tn.pk;
		wp.lease_ms = 30000;
		n->watch = kvwatch_new(base, &wp, n->ring, &n->post);
		ck_assert_ptr_nonnull(n->watch);
		/* No round in a test: what kv.c repairs must be its own. */
		yp.self = n->tn.pk;
		yp.interval_ms = 3600000;
		yp.settle_ms = 3600000;
		yp.tombstone_ttl_ms = 86400000;
		n->sync = kvsync_new(base, &yp, n->store, n->ring, &n->post,
		    n->watch);
		ck_assert_ptr_nonnull(n->sync);
		kp.self = n->tn.pk;
		kp.name = n->tn.name;
		kp.value_max = VALUE_MAX;
		kp.max_message = 1u << 20;
		kp.held_max = held_max;
		n->kv = kv_new(base, &kp, n->store, n->ring, &n->post,
		    n->sync, n->watch);
		ck_assert_ptr_nonnull(n->kv);
		for (j = 0; j < NODES; j++)
			if (j != i)
				kv_member(n->kv, members_get(n->members,
				    nodes[j].tn.pk));
		control_params_init(&cp, n->sock);
		n->ctl = control_open(base, &cp, &control_ops, n);
		ck_assert_ptr_nonnull(n->ctl);
		ck_assert_int_eq(control_add_ops(n->ctl, kv_ctl_ops, n->kv), 0);
		ck_assert_int_eq(control_add_ops(n->ctl, kvwatch_ctl_ops,
		    n->watch), 0);
		n->cl = clients_open(n->sock);
	}
}

/* Requests that may copy 32 KiB. */
static void
setup_held(void)
{
	held_max = 32u << 10;
	setup();
	held_max = 0;
}

/* Stores of 16 KiB each. */
static void
setup_small(void)
{
	store_max = 16u << 10;
	setup();
	store_max = 64u << 20;
}

static void
teardown(void)
{
	size_t	i;
	int	k;

	clients_close_all();
	for (k = 0; k < NODES; k++) {
		control_free(nodes[k].ctl);	/* ends its clients' requests */
		kv_free(nodes[k].kv);
		kvsync_free(nodes[k].sync);
		kvwatch_free(nodes[k].watch);
		kvring_free(nodes[k].ring);
		kvstore_close(nodes[k].store);
		members_free(nodes[k].members);
		tmpdir_remove(nodes[k].dir);
	}
	for (i = 0; i < nqueue; i++)
		cbor_buf_free(&queue[i].body);
	event_free(deliver_ev);
	event_base_free(base);
}

/*
 * Keys and their owners.
 */

/* Node index of key's owner i (0: the coordinator), as node 0 sees it. */
static int
owner(const char *key, size_t i)
{
	uint8_t	o[PLACE_REPLICAS_MAX][NODE_ID_LEN];
	size_t	n = kvring_owners(nodes[0].ring, key, strlen(key), o);

	ck_assert_uint_lt(i, n);
	return node_of(o[i]);
}

/* The node that does not own key (four nodes, three replicas). */
static int
non_owner(const char *key)
{
	int	i;

	for (i = 0; i < NODES; i++)
		if (!kvring_owns(nodes[0].ring, nodes[i].tn.pk, key,
		    strlen(key)))
			return i;
	ck_abort_msg("every node owns %s", key);
	return -1;
}

/* A key "PREFIX-N" whose coordinator is node coord. */
static void
key_coordinated_by(int coord, const char *prefix, char *key, size_t cap)
{
	int	i;

	for (i = 0; i < 10000; i++) {
		snprintf(key, cap, "%s-%d", prefix, i);
		if (owner(key, 0) == coord)
			return;
	}
	ck_abort_msg("no key coordinated by n%d", coord);
}

/* The version node holds of key; 0: none. */
static uint64_t
held(int node, const char *key)
{
	struct kv_item	it;
	int		got;

	got = kvstore_get(nodes[node].store, key, strlen(key), &it);
	ck_assert_int_ne(got, -1);
	return got == 1 ? it.ver.hlc : 0;
}

/*
 * Requests.
 */

static struct cbor_buf *
begin(int node, const char *op, size_t nextra)
{
	return client_begin(nodes[node].cl, op, ++next_id, nextra);
}

/* Sends what begin started; the reply and its code. */
static enum peer_code
finish(int node, const struct ctl_msg **mp)
{
	const struct ctl_msg	*m;

	client_send(nodes[node].cl);
	m = client_must_reply(nodes[node].cl, base, next_id, WAIT_MS);
	if (mp != NULL)
		*mp = m;
	return reply_code(m, errmsg, sizeof(errmsg));
}

/* The field key of m's result map, or NULL. */
static const struct cbor_field *
result_get(const struct ctl_msg *m, const char *key)
{
	static struct cbor_field	 f[16];
	const struct cbor_field		*r = ctl_msg_get(m, "result");
	int				 n;

	ck_assert_ptr_nonnull(r);
	n = cbor_scan_map(r->val, r->vallen, f, 16);
	ck_assert_int_ge(n, 0);
	return cbor_field_get(f, n, key);
}

static uint64_t
result_uint(const struct ctl_msg *m, const char *key)
{
	const struct cbor_field	*f = result_get(m, key);
	uint64_t		 v;

	ck_assert_msg(f != NULL, "no %s in the result", key);
	ck_assert(cbor_read_uint(f->val, f->vallen, &v));
	return v;
}

/* The result's keys, in order, joined by spaces. */
static const char *
result_keys(const struct ctl_msg *m)
{
	static char		 keys[256];
	struct cbor_field	 f[16];
	const struct cbor_field	*r = ctl_msg_get(m, "result");
	int			 n, i;

	ck_assert_ptr_nonnull(r);
	n = cbor_scan_map(r->val, r->vallen, f, 16);
	ck_assert_int_ge(n, 0);
	keys[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys),
		    "%s%.*s", i > 0 ? " " : "", (int)f[i].keylen, f[i].key);
	return keys;
}

/* kv_put of key = val (an unsigned integer); its version in *ver. */
static enum peer_code
put_opts(int node, const char *key, uint64_t val, bool has_if,
    uint64_t ifv, uint64_t ttl, uint64_t timeout, uint64_t *ver)
{
	const struct ctl_msg	*m;
	struct cbor_buf		*b;
	enum peer_code		 code;

	b = begin(node, "kv_put", 2 + has_if + (ttl > 0) + (timeout > 0));
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_uint(b, val);
	if (has_if) {
		cbor_put_text(b, "if_version");
		cbor_put_uint(b, ifv);
	}
	if (ttl > 0) {
		cbor_put_text(b, "ttl");
		cbor_put_uint(b, ttl);
	}
	if (timeout > 0) {
		cbor_put_text(b, "timeout");
		cbor_put_uint(b, timeout);
	}
	if ((code = finish(node, &m)) == PEER_OK) {
		ck_assert_str_eq(result_keys(m), "key version");
		if (ver != NULL)
			*ver = result_uint(m, "version");
	}
	return code;
}

static enum peer_code
put(int node, const char *key, uint64_t val, uint64_t *ver)
{
	return put_opts(node, key, val, false, 0, 0, 0, ver);
}

static enum peer_code
put_if(int node, const char *key, uint64_t val, uint64_t ifv, uint64_t *ver)
{
	return put_opts(node, key, val, true, ifv, 0, 0, ver);
}

static enum peer_code
del(int node, const char *key, bool has_if, uint64_t ifv)
{
	struct cbor_buf	*b = begin(node, "kv_del", 1 + has_if);

	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	if (has_if) {
		cbor_put_text(b, "if_version");
		cbor_put_uint(b, ifv);
	}
	return finish(node, NULL);
}

/* kv_merge of {field: val} into key. */
static enum peer_code
merge(int node, const char *key, const char *field, uint64_t val)
{
	struct cbor_buf	*b = begin(node, "kv_merge", 2);

	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_map(b, 1);
	cbor_put_text(b, field);
	cbor_put_uint(b, val);
	return finish(node, NULL);
}

/* kv_get of key; the reply in *mp. */
static enum peer_code
get_msg(int node, const char *key, uint64_t timeout,
    const struct ctl_msg **mp)
{
	struct cbor_buf	*b = begin(node, "kv_get", 1 + (timeout > 0));

	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	if (timeout > 0) {
		cbor_put_text(b, "timeout");
		cbor_put_uint(b, timeout);
	}
	return finish(node, mp);
}

/* kv_get of key whose value is an unsigned integer. */
static enum peer_code
get(int node, const char *key, uint64_t *val, uint64_t *ver)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*f;
	enum peer_code		 code;

	if ((code = get_msg(node, key, 0, &m)) != PEER_OK)
		return code;
	f = result_get(m, "value");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(cbor_read_uint(f->val, f->vallen, val), "value of %s "
	    "is not an unsigned integer", key);
	if (ver != NULL)
		*ver = result_uint(m, "version");
	return code;
}

/* Whether the map value of key at node has field = val. */
static bool
map_has(const struct ctl_msg *m, const char *field, uint64_t val)
{
	const struct cbor_field	*f = result_get(m, "value");
	struct cbor_field	 mf[16];
	const struct cbor_field	*e;
	uint64_t		 v;
	int			 n;

	ck_assert_ptr_nonnull(f);
	n = cbor_scan_map(f->val, f->vallen, mf, 16);
	ck_assert_int_ge(n, 0);
	return (e = cbor_field_get(mf, n, field)) != NULL &&
	    cbor_read_uint(e->val, e->vallen, &v) && v == val;
}

static int
map_size(const struct ctl_msg *m)
{
	const struct cbor_field	*f = result_get(m, "value");
	struct cbor_field	 mf[16];

	ck_assert_ptr_nonnull(f);
	return cbor_scan_map(f->val, f->vallen, mf, 16);
}

/*
 * Conditions to wait on.
 */

struct holds {
	int		node;
	const char	*key;
	uint64_t	hlc;
};

static bool
node_holds(void *arg)
{
	struct holds	*h = arg;

	return held(h->node, h->key) == h->hlc;
}

/* Waits until node holds version hlc of key. */
static void
wait_held(int node, const char *key, uint64_t hlc)
{
	struct holds	h = { node, key, hlc };

	ck_assert_msg(loop_until(base, node_holds, &h, WAIT_MS), "n%d does "
	    "not hold version %llu of %s", node, (unsigned long long)hlc,
	    key);
}

/* Waits until every owner of key holds version hlc. */
static void
wait_all_hold(const char *key, uint64_t hlc)
{
	int	i;

	for (i = 0; i < REPLICAS; i++)
		wait_held(owner(key, (size_t)i), key, hlc);
}

struct clients_left {
	int		node;
	unsigned	n;
};

/* The node has n clients left. */
static bool
clients_left(void *arg)
{
	struct clients_left	*l = arg;

	return control_clients(nodes[l->node].ctl) == l->n;
}

struct sent_want {
	int		from, to;
	enum kvmsg_kind	kind;
};

static bool
was_sent(void *arg)
{
	struct sent_want	*w = arg;
	size_t			 i;

	for (i = sent_mark; i < nsent; i++)
		if (sent[i].from == w->from && sent[i].to == w->to &&
		    sent[i].kind == w->kind)
			return true;
	return false;
}

static struct kv_stats
stats(int node)
{
	struct kv_stats	st;

	kv_stats(nodes[node].kv, &st);
	return st;
}

/* Marks node dead in the member table of at, and tells at's kv. */
static void
dies_at(int at, int node)
{
	ck_assert(members_dead(nodes[at].members, nodes[node].tn.pk, 1, 0));
	kv_member(nodes[at].kv, members_get(nodes[at].members,
	    nodes[node].tn.pk));
}

/* Lets the messages held for node go. */
static void
release(int node)
{
	nodes[node].held = false;
	event_active(deliver_ev, EV_TIMEOUT, 0);
}

/* Whether every node but w holds a watch lease. */
static bool
leases_held(void *arg)
{
	struct kvwatch_stats	st;
	int			w = *(int *)arg, i;

	for (i = 0; i < NODES; i++) {
		if (i == w)
			continue;
		kvwatch_stats(nodes[i].watch, &st);
		if (st.leases == 0)
			return false;
	}
	return true;
}

/* A client of node that watches prefix, once every node knows it. */
static struct client *
watcher(int node, const char *prefix)
{
	struct client	*cl = clients_open(nodes[node].sock);
	struct cbor_buf	*b;

	b = client_begin(cl, "kv_watch", ++next_id, 1);
	cbor_put_text(b, "prefix");
	cbor_put_text(b, prefix);
	client_send(cl);
	ck_assert_int_eq(reply_code(client_must_reply(cl, base, next_id,
	    WAIT_MS), errmsg, sizeof(errmsg)), PEER_OK);
	ck_assert_msg(loop_until(base, leases_held, &node, WAIT_MS),
	    "the watch of n%d did not reach every node", node);
	return cl;
}

/*
 * The next kv_change cl is given, which must come: change of key, at
 * version ver (0: any); its version.
 */
static uint64_t
expect_change(struct client *cl, const char *change, const char *key,
    uint64_t ver)
{
	const struct ctl_msg	*m;
	char			 buf[KV_KEY_MAX + 1];
	uint64_t		 got;

	m = client_message(cl, base, "kv_change", WAIT_MS);
	ck_assert_msg(m != NULL, "no %s of %s told", change, key);
	ck_assert_str_eq(msg_text(m, "change", buf, sizeof(buf)), change);
	ck_assert_str_eq(msg_text(m, "key", buf, sizeof(buf)), key);
	got = msg_uint(m, "version");
	if (ver != 0)
		ck_assert_uint_eq(got, ver);
	return got;
}

/* No kv_change comes to cl for a while. */
static void
expect_no_change(struct client *cl)
{
	ck_assert_ptr_null(client_message(cl, base, "kv_change", 200));
}

START_TEST(test_put_get_owner_and_non_owner)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*f;
	struct client		*w;
	char			 key[32], writer[NODE_ID_STRLEN];
	const char		*s;
	size_t			 len;
	uint64_t		 ver, got, gver;
	int			 coord, other, none;

	key_coordinated_by(1, "pg", key, sizeof(key));
	coord = owner(key, 0);
	other = owner(key, 1);
	none = non_owner(key);
	w = watcher(none, "pg");
	/* From the node that owns nothing: the write is forwarded. */
	ck_assert_int_eq(put(none, key, 42, &ver), PEER_OK);
	ck_assert_uint_gt(ver, 0);
	ck_assert_int_eq(held(coord, key), ver);
	ck_assert_int_eq(get(other, key, &got, &gver), PEER_OK);
	ck_assert_uint_eq(got, 42);
	ck_assert_uint_eq(gver, ver);
	ck_assert_int_eq(get_msg(none, key, 0, &m), PEER_OK);
	ck_assert_str_eq(result_keys(m), "key value version writer");
	f = result_get(m, "writer");
	ck_assert(cbor_read_text(f->val, f->vallen, &s, &len));
	base32_encode(nodes[coord].tn.pk, NODE_ID_LEN, writer);
	ck_assert_uint_eq(len, strlen(writer));
	ck_assert(memcmp(s, writer, len) == 0);
	/* Acknowledged once: the coordinator told the watchers. */
	expect_change(w, "put", key, ver);
	expect_no_change(w);
	wait_all_hold(key, ver);
	ck_assert_int_eq(held(none, key), 0);
	/* From the coordinator itself, a newer version. */
	ck_assert_int_eq(put(coord, key, 43, &gver), PEER_OK);
	ck_assert_uint_gt(gver, ver);
	expect_change(w, "put", key, gver);
	ck_assert_int_eq(get(none, key, &got, NULL), PEER_OK);
	ck_assert_uint_eq(got, 43);
	ck_assert_uint_eq(stats(none).writes, 1);
	ck_assert_uint_eq(stats(none).gets, 2);
	ck_assert_uint_eq(stats(coord).coordinated, 2);
}
END_TEST

START_TEST(test_get_absent_not_found)
{
	uint64_t	v;

	ck_assert_int_eq(get(0, "nothing-here", &v, NULL), PEER_NOT_FOUND);
	ck_assert_msg(strstr(errmsg, "nothing-here") != NULL, "%s", errmsg);
	ck_assert_uint_eq(stats(0).failed, 1);
}
END_TEST

START_TEST(test_compare_and_set)
{
	char		key[32];
	uint64_t	v1, v2, v3, got;
	int		none;

	key_coordinated_by(2, "cas", key, sizeof(key));
	none = non_owner(key);
	ck_assert_int_eq(put_if(none, key, 1, 0, &v1), PEER_OK);
	ck_assert_int_eq(put_if(none, key, 2, 0, NULL),
	    PEER_FAILED_PRECONDITION);
	ck_assert_str_eq(errmsg, "key exists");
	ck_assert_int_eq(put_if(none, key, 2, v1, &v2), PEER_OK);
	ck_assert_uint_gt(v2, v1);
	ck_assert_int_eq(put_if(2, key, 3, v1, NULL),
	    PEER_FAILED_PRECONDITION);
	ck_assert_msg(strstr(errmsg, "version is ") == errmsg, "%s", errmsg);
	ck_assert_int_eq(get(0, key, &got, &v3), PEER_OK);
	ck_assert_uint_eq(got, 2);
	ck_assert_uint_eq(v3, v2);
	/* Deleted: absent for if_version, present for 0 again. */
	ck_assert_int_eq(del(none, key, true, v1), PEER_FAILED_PRECONDITION);
	ck_assert_int_eq(del(none, key, true, v2), PEER_OK);
	ck_assert_int_eq(put_if(none, key, 4, v2, NULL),
	    PEER_FAILED_PRECONDITION);
	ck_assert_str_eq(errmsg, "key is absent");
	ck_assert_int_eq(put_if(none, key, 5, 0, NULL), PEER_OK);
}
END_TEST

START_TEST(test_merge)
{
	const struct ctl_msg	*m;
	struct client		*w;
	char			 key[32];
	int			 none, i;

	key_coordinated_by(3, "mg", key, sizeof(key));
	none = non_owner(key);
	w = watcher(owner(key, 1), key);
	ck_assert_int_eq(merge(none, key, "a", 1), PEER_OK);
	ck_assert_int_eq(merge(3, key, "b", 2), PEER_OK);
	ck_assert_int_eq(merge(none, key, "a", 3), PEER_OK);
	ck_assert_int_eq(get_msg(none, key, 0, &m), PEER_OK);
	ck_assert_int_eq(map_size(m), 2);
	ck_assert(map_has(m, "a", 3));
	ck_assert(map_has(m, "b", 2));
	for (i = 0; i < 3; i++)
		expect_change(w, "merge", key, 0);
	/* Into a value that is not a map. */
	ck_assert_int_eq(put(none, key, 7, NULL), PEER_OK);
	ck_assert_int_eq(merge(none, key, "c", 1), PEER_FAILED_PRECONDITION);
	ck_assert_msg(strstr(errmsg, "not a map") != NULL, "%s", errmsg);
}
END_TEST

/*
 * Two clients on two nodes merge distinct fields into one map at once,
 * each with many merges in flight: every field is there.
 */
START_TEST(test_concurrent_merges)
{
	static struct cbor_field	 mf[256];
	const struct ctl_msg		*m;
	const struct cbor_field		*f;
	struct cbor_buf			*b;
	struct client			*w;
	char				 key[32], field[16];
	uint64_t			 first[2], last = 0, v;
	int				 at[2], i, k, n;

	key_coordinated_by(1, "cm", key, sizeof(key));
	at[0] = non_owner(key);
	at[1] = owner(key, 0);
	w = watcher(owner(key, 2), "cm");
	for (k = 0; k < 2; k++) {
		first[k] = next_id + 1;
		for (i = 0; i < 100; i++) {
			snprintf(field, sizeof(field), "%c%d", 'a' + k, i);
			b = begin(at[k], "kv_merge", 2);
			cbor_put_text(b, "key");
			cbor_put_text(b, key);
			cbor_put_text(b, "value");
			cbor_put_map(b, 1);
			cbor_put_text(b, field);
			cbor_put_uint(b, (uint64_t)i);
			client_send(nodes[at[k]].cl);
		}
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < 100; i++) {
			m = client_must_reply(nodes[at[k]].cl, base,
			    first[k] + (uint64_t)i, WAIT_MS);
			ck_assert_int_eq(reply_code(m, errmsg, sizeof(errmsg)),
			    PEER_OK);
		}
	ck_assert_int_eq(get_msg(owner(key, 2), key, 0, &m), PEER_OK);
	f = result_get(m, "value");
	ck_assert_ptr_nonnull(f);
	n = cbor_scan_map(f->val, f->vallen, mf, 256);
	ck_assert_int_eq(n, 200);
	/* A watcher elsewhere is told each, in version order. */
	for (i = 0; i < 200; i++) {
		v = expect_change(w, "merge", key, 0);
		ck_assert_uint_gt(v, last);
		last = v;
	}
	expect_no_change(w);
}
END_TEST

START_TEST(test_del_and_not_found)
{
	struct client	*w;
	char		key[32];
	uint64_t	v, got;
	int		none;

	key_coordinated_by(0, "del", key, sizeof(key));
	none = non_owner(key);
	w = watcher(0, "del");
	ck_assert_int_eq(del(none, key, false, 0), PEER_NOT_FOUND);
	ck_assert_int_eq(put(none, key, 9, &v), PEER_OK);
	ck_assert_int_eq(del(none, key, false, 0), PEER_OK);
	ck_assert_int_eq(get(none, key, &got, NULL), PEER_NOT_FOUND);
	ck_assert_int_eq(get(0, key, &got, NULL), PEER_NOT_FOUND);
	ck_assert_int_eq(del(0, key, false, 0), PEER_NOT_FOUND);
	/* The tombstone is held, newer than the value. */
	ck_assert_uint_gt(held(0, key), v);
	expect_change(w, "put", key, v);
	expect_change(w, "del", key, held(0, key));
	expect_no_change(w);
}
END_TEST

START_TEST(test_unavailable_with_counts)
{
	const struct ctl_msg	*m;
	struct client		*w;
	char			 key[32];
	uint64_t		 got, v;
	int			 coord, o1, o2;
	int64_t			 t0;

	key_coordinated_by(0, "un", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	w = watcher(coord, key);
	ck_assert_int_eq(put(coord, key, 1, &v), PEER_OK);
	expect_change(w, "put", key, v);
	wait_all_hold(key, held(coord, key));
	nodes[o1].silent = nodes[o2].silent = true;
	t0 = clock_ms();
	ck_assert_int_eq(put_opts(coord, key, 2, false, 0, 0, 300, NULL),
	    PEER_UNAVAILABLE);
	ck_assert_int_ge(clock_ms() - t0, 290);
	ck_assert_str_eq(errmsg, "1 of 3 owners stored the write, 2 needed "
	    "(it may still take effect)");
	/* Nothing told watchers: the write was not acknowledged. */
	expect_no_change(w);
	ck_assert_int_eq(get_msg(coord, key, 300, &m), PEER_UNAVAILABLE);
	ck_assert_str_eq(errmsg, "1 of 3 owners answered, 2 needed");
	/* One owner back: a majority again. */
	nodes[o1].silent = false;
	ck_assert_int_eq(get(coord, key, &got, NULL), PEER_OK);
	ck_assert_uint_eq(got, 2);
	ck_assert_int_eq(put(coord, key, 3, &v), PEER_OK);
	expect_change(w, "put", key, v);
}
END_TEST

/*
 * A get asks a majority of the owners first; when one of them is
 * silent, the others are asked after a moment, well before the
 * deadline.
 */
START_TEST(test_get_one_owner_silent)
{
	char		 key[32];
	uint64_t	 got, v;
	int		 none, silent, tries;
	int64_t		 t0;

	key_coordinated_by(0, "hs", key, sizeof(key));
	none = non_owner(key);
	ck_assert_int_eq(put(owner(key, 0), key, 7, &v), PEER_OK);
	wait_all_hold(key, v);
	silent = owner(key, 1);
	nodes[silent].silent = true;
	/* Each get asks the silent owner with odds of 2 in 3. */
	for (tries = 0; tries < 20; tries++) {
		t0 = clock_ms();
		ck_assert_int_eq(get(none, key, &got, NULL), PEER_OK);
		ck_assert_uint_eq(got, 7);
		ck_assert_int_lt(clock_ms() - t0, 2000);
	}
	nodes[silent].silent = false;
}
END_TEST

START_TEST(test_stale_store_runs_again)
{
	const struct ctl_msg	*m;
	struct cbor_buf		 v = { 0 };
	struct kv_item		 it;
	char			 key[32];
	uint64_t		 b, before;
	int			 coord, o1, o2;

	key_coordinated_by(1, "st", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	ck_assert_int_eq(merge(coord, key, "x", 1), PEER_OK);
	b = held(coord, key);
	wait_all_hold(key, b);
	/*
	 * Another coordinator wrote {x: 1, y: 2} just after b, and the
	 * other owners hold it; the coordinator missed it.
	 */
	cbor_put_map(&v, 2);
	cbor_put_text(&v, "x");
	cbor_put_uint(&v, 1);
	cbor_put_text(&v, "y");
	cbor_put_uint(&v, 2);
	memset(&it, 0, sizeof(it));
	it.key = key;
	it.keylen = strlen(key);
	it.ver.hlc = b + 1;
	memcpy(it.ver.node, nodes[non_owner(key)].tn.pk, NODE_ID_LEN);
	it.value = v.data;
	it.valuelen = v.len;
	ck_assert_int_eq(kvstore_put(nodes[o1].store, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_put(nodes[o2].store, &it), KVSTORE_STORED);
	cbor_buf_free(&v);
	/* The coordinator's next reading is above b + 1 for sure. */
	while (clock_wall_ms() <= hlc_wall_ms(b))
		loop_for(base, 1);
	before = stats(coord).coordinated;
	ck_assert_int_eq(merge(coord, key, "z", 3), PEER_OK);
	ck_assert_uint_eq(stats(coord).coordinated - before, 2);
	ck_assert_int_eq(get_msg(o1, key, 0, &m), PEER_OK);
	ck_assert_int_eq(map_size(m), 3);
	ck_assert(map_has(m, "x", 1));
	ck_assert(map_has(m, "y", 2));
	ck_assert(map_has(m, "z", 3));
}
END_TEST

START_TEST(test_conflicting_writes_give_up)
{
	char		key[32];
	uint64_t	before, got;
	int		coord;

	key_coordinated_by(2, "cf", key, sizeof(key));
	coord = owner(key, 0);
	ck_assert_int_eq(put(coord, key, 1, NULL), PEER_OK);
	wait_all_hold(key, held(coord, key));
	/* Each owner holds a write the coordinator missed, every run. */
	conflict_key = key;
	before = stats(coord).coordinated;
	ck_assert_int_eq(put(non_owner(key), key, 2, NULL), PEER_UNAVAILABLE);
	ck_assert_msg(strncmp(errmsg, "conflicting writes to ", 22) == 0 &&
	    strcmp(errmsg + 22, key) == 0, "%s", errmsg);
	ck_assert_uint_eq(stats(coord).coordinated - before, 4);
	conflict_key = NULL;
	ck_assert_int_eq(put(coord, key, 3, NULL), PEER_OK);
	ck_assert_int_eq(get(non_owner(key), key, &got, NULL), PEER_OK);
	ck_assert_uint_eq(got, 3);
}
END_TEST

/*
 * A compare-and-set that held when first run, and not when run again
 * after a stale answer: the version it wrote first must not win.
 */
START_TEST(test_failed_run_undone)
{
	char		key[32];
	uint64_t	b, got, ver;
	int		coord;

	key_coordinated_by(3, "ud", key, sizeof(key));
	coord = owner(key, 0);
	ck_assert_int_eq(put(coord, key, 1, &b), PEER_OK);
	wait_all_hold(key, b);
	while (clock_wall_ms() <= hlc_wall_ms(b))
		loop_for(base, 1);
	conflict_key = key;
	conflict_step = 1;
	ck_assert_int_eq(put_if(non_owner(key), key, 2, b, NULL),
	    PEER_FAILED_PRECONDITION);
	conflict_key = NULL;
	ck_assert_msg(strstr(errmsg, "version is ") == errmsg, "%s", errmsg);
	/* The other owners' item is what every owner comes to hold. */
	ck_assert_int_eq(get(coord, key, &got, &ver), PEER_OK);
	ck_assert_uint_eq(got, 99);
	ck_assert_uint_gt(ver, b + 1);
	wait_all_hold(key, ver);
}
END_TEST

START_TEST(test_read_repair)
{
	struct kv_item		 it;
	struct cbor_buf		 v = { 0 };
	struct sent_want	 w;
	char			 key[32];
	uint64_t		 v1, got, gver;
	int			 coord, o1, o2, none, tries;
	size_t			 i;

	key_coordinated_by(1, "rr", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	none = non_owner(key);
	ck_assert_int_eq(put(coord, key, 1, &v1), PEER_OK);
	wait_all_hold(key, v1);
	/* Two owners hold a newer item: every majority has one of them. */
	cbor_put_uint(&v, 2);
	memset(&it, 0, sizeof(it));
	it.key = key;
	it.keylen = strlen(key);
	it.ver.hlc = v1 + 100;
	memcpy(it.ver.node, nodes[coord].tn.pk, NODE_ID_LEN);
	it.value = v.data;
	it.valuelen = v.len;
	ck_assert_int_eq(kvstore_put(nodes[coord].store, &it),
	    KVSTORE_STORED);
	ck_assert_int_eq(kvstore_put(nodes[o1].store, &it), KVSTORE_STORED);
	cbor_buf_free(&v);
	/*
	 * A get asks two owners of three, at random; each asks o2 with
	 * odds of 2 in 3, and when it does, o2 is repaired.
	 */
	w.from = none;
	w.to = o2;
	w.kind = KVMSG_STORE;
	for (tries = 0; tries < 40 && !was_sent(&w); tries++) {
		ck_assert_int_eq(get(none, key, &got, &gver), PEER_OK);
		ck_assert_uint_eq(got, 2);
		ck_assert_uint_eq(gver, v1 + 100);
	}
	ck_assert(was_sent(&w));
	for (i = 0; i < nsent; i++)
		if (sent[i].kind == KVMSG_STORE && sent[i].from == none) {
			ck_assert_int_eq(sent[i].to, o2);
			ck_assert(sent[i].repair);
			ck_assert_uint_eq(sent[i].cid, 0);
			ck_assert_uint_eq(sent[i].hlc, v1 + 100);
		}
	wait_held(o2, key, v1 + 100);
	ck_assert_uint_eq(stats(none).repaired, 1);
}
END_TEST

/* kv_list on node from; the items' keys appended to keys, next in next. */
static enum peer_code
list(int node, const char *prefix, const char *after, uint64_t limit,
    bool values, char *keys, size_t cap, char *next, size_t *nitems)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*f;
	struct cbor_field	 itf[8];
	struct cbor_iter	 iter;
	struct cbor_buf		*b;
	const uint8_t		*item;
	const char		*s;
	size_t			 len, n = 0;
	enum peer_code		 code;
	int			 k;

	b = begin(node, "kv_list", 4 + (after != NULL));
	/* Within the wait for a reply, even with a node silent. */
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, 500);
	cbor_put_text(b, "prefix");
	cbor_put_text(b, prefix);
	if (after != NULL) {
		cbor_put_text(b, "after");
		cbor_put_text(b, after);
	}
	cbor_put_text(b, "limit");
	cbor_put_uint(b, limit);
	cbor_put_text(b, "values");
	cbor_put_bool(b, values);
	if ((code = finish(node, &m)) != PEER_OK)
		return code;
	f = result_get(m, "next");
	next[0] = '\0';
	if (f != NULL) {
		ck_assert(cbor_read_text(f->val, f->vallen, &s, &len));
		snprintf(next, KV_KEY_MAX + 1, "%.*s", (int)len, s);
	}
	f = result_get(m, "items");
	ck_assert_ptr_nonnull(f);
	ck_assert(cbor_array_iter(f->val, f->vallen, &iter));
	while (cbor_iter_next(&iter, &item, &len)) {
		k = cbor_scan_map(item, len, itf, 8);
		ck_assert_int_ge(k, 3);
		ck_assert_int_eq(cbor_field_get(itf, k, "value") != NULL,
		    values);
		ck_assert_ptr_nonnull(cbor_field_get(itf, k, "version"));
		ck_assert_ptr_nonnull(cbor_field_get(itf, k, "writer"));
		f = cbor_field_get(itf, k, "key");
		ck_assert(cbor_read_text(f->val, f->vallen, &s, &len));
		snprintf(keys + strlen(keys), cap - strlen(keys), "%.*s ",
		    (int)len, s);
		n++;
	}
	*nitems = n;
	return code;
}

START_TEST(test_list_pages_across_nodes)
{
	char		key[32], keys[1024], want[1024], next[KV_KEY_MAX + 1];
	char		after[KV_KEY_MAX + 1];
	size_t		n, pages = 0;
	uint64_t	lists3;
	int		i;

	want[0] = '\0';
	for (i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "p/%02d", i);
		ck_assert_int_eq(put(i % NODES, key, (uint64_t)i, NULL),
		    PEER_OK);
		if (i != 5)
			snprintf(want + strlen(want), sizeof(want) -
			    strlen(want), "%s ", key);
	}
	ck_assert_int_eq(put(0, "q/1", 1, NULL), PEER_OK);
	ck_assert_int_eq(put(0, "p", 1, NULL), PEER_OK);
	ck_assert_int_eq(del(1, "p/05", false, 0), PEER_OK);
	/* Every page from another node, at most 7 items each. */
	keys[0] = '\0';
	after[0] = '\0';
	lists3 = stats(3).lists;
	do {
		if (pages % NODES == 3)
			lists3++;
		ck_assert_uint_lt(pages, 25);
		ck_assert_int_eq(list((int)(pages % NODES), "p/",
		    after[0] != '\0' ? after : NULL, 7, pages % 2 == 0, keys,
		    sizeof(keys), next, &n), PEER_OK);
		ck_assert_uint_le(n, 7);
		memcpy(after, next, sizeof(after));
		pages++;
	} while (next[0] != '\0');
	ck_assert_str_eq(keys, want);
	ck_assert_uint_ge(pages, 4);
	/* All in one page: no next. */
	keys[0] = '\0';
	ck_assert_int_eq(list(3, "p/", NULL, 1000, true, keys, sizeof(keys),
	    next, &n), PEER_OK);
	ck_assert_str_eq(keys, want);
	ck_assert_str_eq(next, "");
	ck_assert_uint_eq(stats(3).lists, lists3 + 1);
}
END_TEST

/* Pages over deleted keys: some are empty, and the paging goes on. */
START_TEST(test_list_past_tombstones)
{
	char		key[32], keys[256], next[KV_KEY_MAX + 1];
	char		after[KV_KEY_MAX + 1];
	size_t		n, pages = 0, empty = 0;
	int		i;

	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "t/%d", i);
		ck_assert_int_eq(put(0, key, (uint64_t)i, NULL), PEER_OK);
	}
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "t/%d", i);
		ck_assert_int_eq(del(1, key, false, 0), PEER_OK);
	}
	keys[0] = '\0';
	after[0] = '\0';
	do {
		ck_assert_uint_lt(pages, 10);
		ck_assert_int_eq(list(2, "t/", after[0] != '\0' ? after : NULL,
		    3, true, keys, sizeof(keys), next, &n), PEER_OK);
		if (n == 0)
			empty++;
		ck_assert_msg(next[0] == '\0' || strcmp(next, after) > 0,
		    "next %s is not after %s", next, after);
		memcpy(after, next, sizeof(after));
		pages++;
	} while (next[0] != '\0');
	ck_assert_str_eq(keys, "t/8 t/9 ");
	ck_assert_uint_ge(empty, 1);
}
END_TEST

START_TEST(test_list_one_node_silent)
{
	char		key[32], keys[1024], next[KV_KEY_MAX + 1];
	size_t		n;
	int		i;

	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "s/%d", i);
		ck_assert_int_eq(put(0, key, (uint64_t)i, NULL), PEER_OK);
		wait_all_hold(key, held(owner(key, 0), key));
	}
	nodes[3].silent = true;
	keys[0] = '\0';
	ck_assert_int_eq(list(0, "s/", NULL, 100, true, keys, sizeof(keys),
	    next, &n), PEER_OK);
	ck_assert_str_eq(keys, "s/0 s/1 s/2 s/3 s/4 s/5 ");
	nodes[2].silent = true;
	ck_assert_int_eq(list(0, "s/", NULL, 100, true, keys, sizeof(keys),
	    next, &n), PEER_UNAVAILABLE);
	ck_assert_str_eq(errmsg, "2 of 4 store nodes answered, 3 needed");
}
END_TEST

START_TEST(test_where)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*f;
	struct cbor_field	 of[8];
	struct cbor_iter	 iter;
	struct cbor_buf		*b;
	const uint8_t		*item;
	char			 key[32], name[NODE_NAME_MAX + 1];
	char			 id[NODE_ID_STRLEN], idw[NODE_ID_STRLEN];
	uint64_t		 v, hv;
	size_t			 len, i = 0;
	bool			 flag;
	int			 k, pass;

	key_coordinated_by(3, "wh", key, sizeof(key));
	ck_assert_int_eq(put(0, key, 1, &v), PEER_OK);
	wait_all_hold(key, v);
	nodes[owner(key, 2)].silent = true;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			nodes[owner(key, 2)].silent = false;
			ck_assert_int_eq(del(0, key, false, 0), PEER_OK);
			v = held(owner(key, 0), key);
			wait_all_hold(key, v);
		}
		b = begin(non_owner(key), "kv_where", 2);
		cbor_put_text(b, "key");
		cbor_put_text(b, key);
		cbor_put_text(b, "timeout");
		cbor_put_uint(b, 300);
		ck_assert_int_eq(finish(non_owner(key), &m), PEER_OK);
		ck_assert_str_eq(result_keys(m), "key owners");
		f = result_get(m, "owners");
		ck_assert(cbor_array_iter(f->val, f->vallen, &iter));
		for (i = 0; cbor_iter_next(&iter, &item, &len); i++) {
			k = cbor_scan_map(item, len, of, 8);
			ck_assert_int_ge(k, 4);
			f = cbor_field_get(of, k, "node");
			ck_assert(cbor_read_name(f->val, f->vallen, id,
			    sizeof(id), NULL));
			base32_encode(nodes[owner(key, i)].tn.pk, NODE_ID_LEN,
			    idw);
			ck_assert_str_eq(id, idw);
			f = cbor_field_get(of, k, "name");
			ck_assert(cbor_read_name(f->val, f->vallen, name,
			    sizeof(name), NULL));
			ck_assert_str_eq(name, nodes[owner(key, i)].tn.name);
			f = cbor_field_get(of, k, "coordinator");
			ck_assert(cbor_read_bool(f->val, f->vallen, &flag));
			ck_assert_int_eq(flag, i == 0);
			f = cbor_field_get(of, k, "answered");
			ck_assert(cbor_read_bool(f->val, f->vallen, &flag));
			ck_assert_int_eq(flag, pass == 1 || i != 2);
			f = cbor_field_get(of, k, "version");
			if (pass == 0 && i == 2) {
				ck_assert_ptr_null(f);
				continue;
			}
			ck_assert_ptr_nonnull(f);
			ck_assert(cbor_read_uint(f->val, f->vallen, &hv));
			ck_assert_uint_eq(hv, v);
			ck_assert_int_eq(cbor_field_get(of, k, "deleted") !=
			    NULL, pass == 1);
		}
		ck_assert_uint_eq(i, REPLICAS);
	}
}
END_TEST

/* op with one extra pair written by put_arg; the code. */
static enum peer_code
bad(int node, const char *op, const char *key, void (*put_arg)(
    struct cbor_buf *))
{
	struct cbor_buf	*b = begin(node, op, (key != NULL) + 1);

	if (key != NULL) {
		cbor_put_text(b, "key");
		cbor_put_text(b, key);
	}
	put_arg(b);
	return finish(node, NULL);
}

static void arg_none(struct cbor_buf *b)
{ cbor_put_text(b, "x"); cbor_put_uint(b, 1); }
static void arg_uint_value(struct cbor_buf *b)
{ cbor_put_text(b, "value"); cbor_put_uint(b, 1); }
static void arg_big_value(struct cbor_buf *b)
{
	static uint8_t	big[VALUE_MAX + 1];

	cbor_put_text(b, "value");
	cbor_put_bytes(b, big, sizeof(big));
}
static void arg_ttl_zero(struct cbor_buf *b)
{ cbor_put_text(b, "ttl"); cbor_put_uint(b, 0); }
static void arg_timeout_zero(struct cbor_buf *b)
{ cbor_put_text(b, "timeout"); cbor_put_uint(b, 0); }
static void arg_if_text(struct cbor_buf *b)
{ cbor_put_text(b, "if_version"); cbor_put_text(b, "1"); }
static void arg_limit_zero(struct cbor_buf *b)
{ cbor_put_text(b, "limit"); cbor_put_uint(b, 0); }
static void arg_limit_big(struct cbor_buf *b)
{ cbor_put_text(b, "limit"); cbor_put_uint(b, 1001); }
static void arg_values_text(struct cbor_buf *b)
{ cbor_put_text(b, "values"); cbor_put_text(b, "yes"); }
static void arg_after_empty(struct cbor_buf *b)
{ cbor_put_text(b, "after"); cbor_put_text(b, ""); }
static void arg_deep_value(struct cbor_buf *b)
{
	uint8_t	deep[CBOR_SCAN_DEPTH - KVMSG_VALUE_LEVEL + 2];

	/* Arrays one in the other, one deeper than a value may be. */
	memset(deep, 0x81, sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0x01;
	cbor_put_text(b, "value");
	cbor_put_raw(b, deep, sizeof(deep));
}
static void arg_prefix_ctl(struct cbor_buf *b)
{ cbor_put_text(b, "prefix"); cbor_put_text(b, "a\tb"); }

START_TEST(test_bad_arguments)
{
	char	long_key[KV_KEY_MAX + 2];

	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	ck_assert_int_eq(bad(0, "kv_get", NULL, arg_none),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "key: missing");
	ck_assert_int_eq(bad(0, "kv_get", long_key, arg_none),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "key: not text of 1-256 bytes without "
	    "control characters");
	ck_assert_int_eq(bad(0, "kv_get", "", arg_none),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_del", "a\nb", arg_none),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_put", "k", arg_none),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "value: missing");
	ck_assert_int_eq(bad(0, "kv_put", "k", arg_big_value),
	    PEER_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(errmsg, "kv_value_max is 4096") != NULL, "%s",
	    errmsg);
	ck_assert_int_eq(bad(0, "kv_put", "k", arg_deep_value),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "value: nested more than 28 deep");
	ck_assert_int_eq(bad(0, "kv_merge", "k", arg_uint_value),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "value: not a map");
	ck_assert_int_eq(bad(0, "kv_put", "k", arg_ttl_zero),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_get", "k", arg_timeout_zero),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_del", "k", arg_if_text),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_list", NULL, arg_limit_zero),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_list", NULL, arg_limit_big),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(errmsg, "limit: must be 1-1000");
	ck_assert_int_eq(bad(0, "kv_list", NULL, arg_values_text),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_list", NULL, arg_after_empty),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_list", NULL, arg_prefix_ctl),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(bad(0, "kv_where", NULL, arg_none),
	    PEER_INVALID_ARGUMENT);
	/* Nothing went on the mesh. */
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

/* Sends a kv_get of no key, answered at once and never read. */
static void
send_unread(struct client *cl, uint64_t id)
{
	client_begin(cl, "kv_get", id, 0);
	client_send(cl);
}

struct gone_wait {
	int		node;
	uint64_t	failed;
	struct sent_want w;
};

/* The request answered at once was handled, and w sent. */
static bool
handled(void *arg)
{
	struct gone_wait	*g = arg;

	return stats(g->node).failed >= g->failed && was_sent(&g->w);
}


START_TEST(test_client_gone_mid_request)
{
	struct client		*cl;
	struct cbor_buf		*b;
	struct gone_wait	 g;
	struct clients_left	 left;
	struct client		*w;
	char			 key[32];
	uint64_t		 got;
	int			 coord, o1, o2, none, i;

	key_coordinated_by(0, "cg", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	none = non_owner(key);
	w = watcher(coord, key);
	ck_assert_int_eq(put(coord, key, 1, NULL), PEER_OK);
	expect_change(w, "put", key, held(coord, key));
	wait_all_hold(key, held(coord, key));
	for (i = 0; i < NODES; i++)
		nodes[i].held = i != none;
	/*
	 * A read and a write whose client goes before any answer, with a
	 * reply unread: the daemon sees a reset, and ends them.
	 */
	left.node = none;
	left.n = control_clients(nodes[none].ctl);
	cl = clients_open(nodes[none].sock);
	b = client_begin(cl, "kv_get", 1, 1);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	client_send(cl);
	b = client_begin(cl, "kv_put", 2, 2);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_uint(b, 2);
	client_send(cl);
	send_unread(cl, 3);
	g.node = none;
	g.failed = stats(none).failed + 1;
	g.w = (struct sent_want){ none, coord, KVMSG_WRITE };
	ck_assert(loop_until(base, handled, &g, WAIT_MS));
	clients_drop(cl);
	ck_assert(loop_until(base, clients_left, &left, WAIT_MS));
	/* Their answers come to nothing; the write goes on. */
	for (i = 0; i < NODES; i++)
		release(i);
	expect_change(w, "put", key, 0);
	ck_assert_uint_eq(held(coord, key), held(o1, key));
	ck_assert_int_eq(get(none, key, &got, NULL), PEER_OK);
	ck_assert_uint_eq(got, 2);

	/* A write ordered here whose client goes: it completes. */
	nodes[o1].held = nodes[o2].held = true;
	sent_mark = nsent;
	left.node = coord;
	left.n = control_clients(nodes[coord].ctl);
	cl = clients_open(nodes[coord].sock);
	b = client_begin(cl, "kv_put", 4, 2);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_uint(b, 3);
	client_send(cl);
	send_unread(cl, 5);
	g.node = coord;
	g.failed = stats(coord).failed + 1;
	g.w = (struct sent_want){ coord, o2, KVMSG_STORE };
	ck_assert(loop_until(base, handled, &g, WAIT_MS));
	clients_drop(cl);
	ck_assert(loop_until(base, clients_left, &left, WAIT_MS));
	release(o1);
	release(o2);
	expect_change(w, "put", key, held(coord, key));
	ck_assert_int_eq(get(o1, key, &got, NULL), PEER_OK);
	ck_assert_uint_eq(got, 3);
}
END_TEST

START_TEST(test_deadline_coordinator_silent)
{
	char		key[32], want[128];
	int		coord, none;
	int64_t		t0;

	key_coordinated_by(2, "dl", key, sizeof(key));
	coord = owner(key, 0);
	none = non_owner(key);
	nodes[coord].silent = true;
	t0 = clock_ms();
	ck_assert_int_eq(put_opts(none, key, 1, false, 0, 0, 250, NULL),
	    PEER_UNAVAILABLE);
	ck_assert_int_ge(clock_ms() - t0, 240);
	snprintf(want, sizeof(want), "no answer from n%d, the coordinator of "
	    "%s, in time (the write may still take effect)", coord, key);
	ck_assert_str_eq(errmsg, want);
	ck_assert_uint_eq(stats(none).failed, 1);
}
END_TEST

START_TEST(test_owner_leaves_fails_fast)
{
	struct cbor_buf	*b;
	char		 key[32];
	int		 coord, o1, o2, none;
	int64_t		 t0;

	key_coordinated_by(1, "lv", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	none = non_owner(key);
	nodes[o1].held = nodes[o2].held = true;
	t0 = clock_ms();
	b = begin(none, "kv_get", 2);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "timeout");
	cbor_put_uint(b, 60000);
	client_send(nodes[none].cl);
	ck_assert(loop_until(base, was_sent, &(struct sent_want){ coord, none,
	    KVMSG_READ_ANSWER }, WAIT_MS));
	dies_at(none, o1);
	dies_at(none, o2);
	ck_assert_int_eq(reply_code(client_must_reply(nodes[none].cl, base,
	    next_id, WAIT_MS), errmsg, sizeof(errmsg)), PEER_UNAVAILABLE);
	ck_assert_int_lt(clock_ms() - t0, 10000);
	ck_assert_str_eq(errmsg, "1 of 3 owners answered, 2 needed");
	/* Two of four live: this node takes no writes. */
	ck_assert_int_eq(put(none, key, 1, NULL), PEER_UNAVAILABLE);
	ck_assert_str_eq(errmsg, "this node sees 2 of 4 store nodes live: "
	    "writes need more than half");
}
END_TEST

START_TEST(test_ttl)
{
	const struct ctl_msg	*m;
	char			 key[32];
	uint64_t		 v, exp, got;
	uint64_t		 now = clock_wall_ms();

	key_coordinated_by(3, "ttl", key, sizeof(key));
	ck_assert_int_eq(put_opts(0, key, 1, false, 0, 60000, 0, &v), PEER_OK);
	ck_assert_int_eq(get_msg(1, key, 0, &m), PEER_OK);
	ck_assert_str_eq(result_keys(m), "key value version writer expires");
	exp = result_uint(m, "expires");
	ck_assert_uint_ge(exp, now + 60000);
	ck_assert_uint_le(exp, clock_wall_ms() + 60000);
	ck_assert_int_eq(put_opts(0, key, 2, false, 0, 1, 0, &v), PEER_OK);
	while (clock_wall_ms() <= hlc_wall_ms(v) + 1)
		loop_for(base, 1);
	ck_assert_int_eq(get(2, key, &got, NULL), PEER_NOT_FOUND);
	/* Expired is absent for if_version 0. */
	ck_assert_int_eq(put_if(0, key, 3, 0, NULL), PEER_OK);
}
END_TEST

/* Puts a value of len bytes under key straight into node's store. */
static void
fill(int node, const char *key, size_t len)
{
	static uint8_t	v[16u << 10];
	struct kv_item	it;

	ck_assert_uint_lt(len, sizeof(v));
	v[0] = 0x59;	/* a byte string of a 16-bit length */
	v[1] = (uint8_t)((len - 3) >> 8);
	v[2] = (uint8_t)(len - 3);
	memset(&it, 0, sizeof(it));
	it.key = key;
	it.keylen = strlen(key);
	it.ver.hlc = 1;
	memcpy(it.ver.node, nodes[node].tn.pk, NODE_ID_LEN);
	it.value = v;
	it.valuelen = len;
	ck_assert_int_eq(kvstore_put(nodes[node].store, &it), KVSTORE_STORED);
}

START_TEST(test_stores_full)
{
	char	key[32], want[256];
	int	coord, o1, o2;

	key_coordinated_by(0, "full", key, sizeof(key));
	coord = owner(key, 0);
	o1 = owner(key, 1);
	o2 = owner(key, 2);
	fill(o1, "filler", (16u << 10) - 8);
	fill(o2, "filler", (16u << 10) - 8);
	ck_assert_int_eq(put_opts(non_owner(key), key, 1, false, 0, 0, 1000,
	    NULL), PEER_UNAVAILABLE);
	snprintf(want, sizeof(want), "1 of 3 owners stored the write, 2 "
	    "needed (it may still take effect); n%d: n%d holds", o2, o2);
	ck_assert_msg(strncmp(errmsg, want, strlen(want)) == 0, "%s", errmsg);
	ck_assert_msg(strstr(errmsg, "up to kv_max_bytes") != NULL, "%s",
	    errmsg);
	/* The coordinator's own store full: nothing written. */
	fill(coord, "filler", (16u << 10) - 6 - 1 -
	    kvstore_bytes(nodes[coord].store));
	/* A value two bytes longer than the one held. */
	ck_assert_int_eq(put(non_owner(key), key, 1000, NULL),
	    PEER_RESOURCE_EXHAUSTED);
	snprintf(want, sizeof(want), "n%d holds ", coord);
	ck_assert_msg(strncmp(errmsg, want, strlen(want)) == 0 &&
	    strstr(errmsg, " bytes of the store, up to kv_max_bytes") != NULL,
	    "%s", errmsg);
}
END_TEST

START_TEST(test_list_answers_bounded)
{
	char	key[32], keys[256], next[KV_KEY_MAX + 1];
	size_t	n;
	int	node, i;

	/* Node 0 holds none of them: its list starts holding nothing. */
	for (node = 1; node < NODES; node++)
		for (i = 0; i < 4; i++) {
			snprintf(key, sizeof(key), "big/%d-%d", node, i);
			fill(node, key, 12u << 10);
		}
	keys[0] = '\0';
	ck_assert_int_eq(list(0, "big/", NULL, 100, true, keys, sizeof(keys),
	    next, &n), PEER_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(errmsg, "kv requests in flight on this node hold too "
	    "many bytes");
	/* Keys alone fit. */
	ck_assert_int_eq(list(0, "big/", NULL, 100, false, keys, sizeof(keys),
	    next, &n), PEER_OK);
	ck_assert_uint_eq(n, 12);
}
END_TEST

START_TEST(test_malformed_message_dropped)
{
	static const uint8_t	junk[] = { 0xa1, 0x61, 0x6b, 0x61, 0x7a };
	struct callmsg		cm;
	uint64_t		got;

	memset(&cm, 0, sizeof(cm));
	memcpy(cm.origin, nodes[1].tn.pk, NODE_ID_LEN);
	memcpy(cm.provider, nodes[0].tn.pk, NODE_ID_LEN);
	cm.cid = 7;
	cm.args = junk;
	cm.argslen = sizeof(junk);
	kv_deliver(nodes[0].kv, &cm);
	cm.args = NULL;
	cm.argslen = 0;
	kv_deliver(nodes[0].kv, &cm);
	ck_assert_uint_eq(nsent, 0);
	ck_assert_int_eq(put(0, "fine", 1, NULL), PEER_OK);
	ck_assert_int_eq(get(0, "fine", &got, NULL), PEER_OK);
}
END_TEST

/* Hands m, as node from sends it, to node to. */
static void
hand_msg(int from, int to, uint64_t cid, const struct kvmsg *m)
{
	struct cbor_buf	body = { 0 };

	kvmsg_encode(&body, m);
	ck_assert(!body.failed);
	hand(from, to, cid, &body);
	cbor_buf_free(&body);
}

/* Hands node from's STORE of key (1) at version hlc to node to. */
static void
hand_store(int from, int to, uint64_t cid, const char *key, uint64_t hlc)
{
	static const uint8_t	v[1] = { 0x01 };
	struct kvmsg		m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_STORE;
	m.has_item = true;
	m.item.key = key;
	m.item.keylen = strlen(key);
	m.item.ver.hlc = hlc;
	memcpy(m.item.ver.node, nodes[from].tn.pk, NODE_ID_LEN);
	m.item.value = v;
	m.item.valuelen = sizeof(v);
	m.repair = cid == 0;
	hand_msg(from, to, cid, &m);
}

START_TEST(test_version_far_ahead_refused)
{
	char		key[32];
	uint64_t	v1, v2;

	/* Near the top of the clock: taken in, no write could follow. */
	hand_store(1, 0, 0, "far", UINT64_MAX - 1);
	ck_assert_uint_eq(held(0, "far"), 0);
	key_coordinated_by(0, "after-far", key, sizeof(key));
	ck_assert_int_eq(put(0, key, 1, &v1), PEER_OK);
	ck_assert_int_eq(put(0, key, 2, &v2), PEER_OK);
	ck_assert_uint_gt(v2, v1);
	ck_assert_uint_lt(hlc_wall_ms(v2), clock_wall_ms() + 1000);
	/* A day ahead and more: refused too; a minute ahead is a clock. */
	hand_store(1, 0, 0, "day", (clock_wall_ms() + 25 * 3600 * 1000ull) <<
	    HLC_COUNTER_BITS);
	ck_assert_uint_eq(held(0, "day"), 0);
	hand_store(1, 0, 0, "minute", (clock_wall_ms() + 60 * 1000) <<
	    HLC_COUNTER_BITS);
	ck_assert_uint_ne(held(0, "minute"), 0);
}
END_TEST

/* Hands node from's WRITE of key (a put of 1) to node to. */
static void
hand_write(int from, int to, uint64_t cid, const char *key, uint64_t ttl)
{
	static const uint8_t	v[1] = { 0x01 };
	struct kvmsg		m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_WRITE;
	m.key = key;
	m.keylen = strlen(key);
	m.op = KV_PUT;
	m.value = v;
	m.valuelen = sizeof(v);
	m.ttl_ms = ttl;
	m.timeout_ms = 60000;
	hand_msg(from, to, cid, &m);
}

START_TEST(test_writes_from_one_node_bounded)
{
	struct sent_want	w = { 0, 1, KVMSG_WRITTEN };
	char			key[32];
	int			i;

	/* Writes no owner answers wait: one node's take a share only. */
	key_coordinated_by(0, "many", key, sizeof(key));
	nodes[owner(key, 1)].silent = nodes[owner(key, 2)].silent = true;
	for (i = 0; i < 4096; i++) {
		if (nsent > SENT_MAX - 8)
			nsent = 0;
		hand_write(1, 0, 100 + (uint64_t)i, key, 0);
	}
	sent_mark = nsent;
	ck_assert(!was_sent(&w));
	hand_write(1, 0, 99, key, 0);
	ck_assert(was_sent(&w));
	ck_assert_str_eq(sent[nsent - 1].key, key);
	/* Another node's and a client's still go. */
	w.to = 2;
	hand_write(2, 0, 98, key, 0);
	ck_assert(!was_sent(&w));
	nsent = 0;
	ck_assert_int_eq(put_opts(0, key, 2, false, 0, 0, 100, NULL),
	    PEER_UNAVAILABLE);
	nsent = 0;
}
END_TEST

START_TEST(test_write_ttl_out_of_range_refused)
{
	struct sent_want	w = { 0, 1, KVMSG_WRITTEN };
	char			key[32];

	/* A ttl the clock cannot add: the item would expire at once. */
	key_coordinated_by(0, "ttl-max", key, sizeof(key));
	hand_write(1, 0, 9, key, UINT64_MAX);
	ck_assert(was_sent(&w));
	ck_assert_uint_eq(held(0, key), 0);
}
END_TEST

START_TEST(test_sync_and_watch_messages_handed_on)
{
	struct kvwatch_stats	st;
	struct sent_want	w = { 0, 1, KVMSG_WANT };
	struct kvmsg		m;
	struct cbor_buf		body = { 0 };
	struct callmsg		cm;
	size_t			i;

	/* A HAVE goes to kvsync, which answers every one with a WANT. */
	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_HAVE;
	kvmsg_encode(&body, &m);
	memset(&cm, 0, sizeof(cm));
	cm.type = CALLMSG_KV;
	memcpy(cm.origin, nodes[1].tn.pk, NODE_ID_LEN);
	memcpy(cm.provider, nodes[0].tn.pk, NODE_ID_LEN);
	cm.cid = 77;
	cm.args = body.data;
	cm.argslen = body.len;
	kv_deliver(nodes[0].kv, &cm);
	ck_assert(loop_until(base, was_sent, &w, WAIT_MS));
	for (i = 0; i < nsent; i++)
		if (sent[i].kind == KVMSG_WANT)
			ck_assert_uint_eq(sent[i].cid, 77);
	/* A WATCH goes to kvwatch, which takes the lease. */
	cbor_buf_reset(&body);
	m.kind = KVMSG_WATCH;
	m.prefixes[0] = "x";
	m.prefixlens[0] = 1;
	m.nprefixes = 1;
	m.lease_ms = 30000;
	kvmsg_encode(&body, &m);
	cm.args = body.data;
	cm.argslen = body.len;
	kv_deliver(nodes[0].kv, &cm);
	kvwatch_stats(nodes[0].watch, &st);
	ck_assert_uint_eq(st.leases, 1);
	cbor_buf_free(&body);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("kv");
	TCase	*tc = tcase_create("kv");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_put_get_owner_and_non_owner);
	tcase_add_test(tc, test_get_absent_not_found);
	tcase_add_test(tc, test_compare_and_set);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_concurrent_merges);
	tcase_add_test(tc, test_del_and_not_found);
	tcase_add_test(tc, test_unavailable_with_counts);
	tcase_add_test(tc, test_get_one_owner_silent);
	tcase_add_test(tc, test_stale_store_runs_again);
	tcase_add_test(tc, test_conflicting_writes_give_up);
	tcase_add_test(tc, test_failed_run_undone);
	tcase_add_test(tc, test_read_repair);
	tcase_add_test(tc, test_list_pages_across_nodes);
	tcase_add_test(tc, test_list_past_tombstones);
	tcase_add_test(tc, test_list_one_node_silent);
	tcase_add_test(tc, test_where);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_client_gone_mid_request);
	tcase_add_test(tc, test_deadline_coordinator_silent);
	tcase_add_test(tc, test_owner_leaves_fails_fast);
	tcase_add_test(tc, test_ttl);
	tcase_add_test(tc, test_malformed_message_dropped);
	tcase_add_test(tc, test_sync_and_watch_messages_handed_on);
	tcase_add_test(tc, test_version_far_ahead_refused);
	tcase_add_test(tc, test_write_ttl_out_of_range_refused);
	tcase_add_test(tc, test_writes_from_one_node_bounded);
	suite_add_tcase(s, tc);
	tc = tcase_create("full");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, test_stores_full);
	suite_add_tcase(s, tc);
	tc = tcase_create("held");
	tcase_add_checked_fixture(tc, setup_held, teardown);
	tcase_add_test(tc, test_list_answers_bounded);
	suite_add_tcase(s, tc);
	return s;
}
