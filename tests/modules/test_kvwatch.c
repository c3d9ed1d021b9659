/* SPDX-License-Identifier: ISC */
/*
 * test_kvwatch.c: kvwatch.c against the fake route (through the real
 * kvpost and kvring), a real member table and a real control server
 * driven by clients.  The rules: a client watches a valid prefix once,
 * the node at most 64 distinct ones; the set goes to every other live
 * node of the store as a lease, at once when it changes, to a new node
 * when the store gains one, and again every third of the lease, until
 * an empty set has gone out once; a change goes to each node whose live
 * lease covers its key, and to the watching clients here, one message
 * per watch, never one not newer than the last given for its key; a
 * client that does not read loses changes and is told how many; an
 * unwatch or a client gone stops its messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "callmsg.h"
#include "clock.h"
#include "control.h"
#include "fake_route.h"
#include "harness.h"
#include "kvmsg.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvwatch.h"
#include "log.h"

#define WAIT_MS		2000	/* for a reply or a message that must come */
#define LONG_LEASE	60000	/* renewals never come during a test */
#define SHORT_LEASE	150	/* renewals every 50 ms */

static struct event_base	*base;
static struct tnode		 self, a, b, c, d;
static struct members		*members;
static struct kvring		*ring;
static struct route		*route;
static struct kvpost		*post;
static struct kvwatch		*kw;
static struct control		*ctl;
static char			 dir[64], sock[128];
static uint64_t			 next_id, lease_ms;
static struct kvmsg_space	 space;

static void
client_gone(void *arg, struct ctl_conn *cc)
{
	(void)arg;
	kvwatch_client_gone(kw, cc);
}

static const struct control_ops	control_ops = { client_gone };

static void
offer(const struct tnode *n)
{
	struct record	r;

	tnode_record(n, 1, &r);
	tnode_offer(members, n, &r);
}

static void
setup(void)
{
	struct kvring_params	rp;
	struct kvwatch_params	wp;
	struct control_params	cp;

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&d, "d");
	members = tnode_members(&self);
	/* a and b alive, c dead; d comes later. */
	offer(&a);
	offer(&b);
	offer(&c);
	ck_assert(members_dead(members, c.pk, 1, 0));

	tmpdir_make(dir, sizeof(dir), "kvwatch");
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	control_params_init(&cp, sock);
	cp.max_message = 1u << 20;
	cp.max_clients = CLIENTS_MAX + 8;
	ctl = control_open(base, &cp, &control_ops, NULL);
	ck_assert_ptr_nonnull(ctl);

	rp.self = self.pk;
	rp.group = "";
	rp.replicas = 3;
	ring = kvring_new(&rp, members);
	ck_assert_ptr_nonnull(ring);
	route = fake_route_new(self.pk);
	post = kvpost_new(route, self.pk, 1u << 20);
	ck_assert_ptr_nonnull(post);
	wp.self = self.pk;
	wp.lease_ms = lease_ms;
	kw = kvwatch_new(base, &wp, ring, post);
	ck_assert_ptr_nonnull(kw);
	ck_assert_int_eq(control_add_ops(ctl, kvwatch_ctl_ops, kw), 0);
	next_id = 0;
}

static void
setup_long(void)
{
	lease_ms = LONG_LEASE;
	setup();
}

static void
setup_short(void)
{
	lease_ms = SHORT_LEASE;
	setup();
}

static void
teardown(void)
{
	clients_close_all();
	control_free(ctl);		/* tells kvwatch of its clients first */
	kvwatch_free(kw);
	kvpost_free(post);
	fake_route_free(route);
	kvring_free(ring);
	members_free(members);
	event_base_free(base);
	tmpdir_remove(dir);
}

static struct kvwatch_stats
stats(void)
{
	struct kvwatch_stats	st;

	kvwatch_stats(kw, &st);
	return st;
}

/* op ("kv_watch", "kv_unwatch") on prefix (len bytes); its code. */
static enum peer_code
prefix_opn(struct client *cl, const char *op, const char *prefix, size_t len,
    char *msg, size_t cap)
{
	struct cbor_buf		*buf = client_begin(cl, op, ++next_id, 1);
	const struct ctl_msg	*m;
	const struct cbor_field	*r;
	struct cbor_field	 f[4];
	const char		*got;
	size_t			 gotlen;
	enum peer_code		 code;
	int			 n;

	cbor_put_text(buf, "prefix");
	cbor_put_textn(buf, prefix, len);
	client_send(cl);
	m = client_must_reply(cl, base, next_id, WAIT_MS);
	code = reply_code(m, msg, cap);
	if (code == PEER_OK) {
		/* The result names the prefix. */
		r = ctl_msg_get(m, "result");
		n = cbor_scan_map(r->val, r->vallen, f, 4);
		ck_assert_int_eq(n, 1);
		ck_assert(cbor_read_text(f[0].val, f[0].vallen, &got,
		    &gotlen));
		ck_assert_uint_eq(gotlen, len);
		ck_assert_mem_eq(got, prefix, len);
	}
	return code;
}

static enum peer_code
kv_watch(struct client *cl, const char *prefix)
{
	return prefix_opn(cl, "kv_watch", prefix, strlen(prefix), NULL, 0);
}

static enum peer_code
kv_unwatch(struct client *cl, const char *prefix)
{
	return prefix_opn(cl, "kv_unwatch", prefix, strlen(prefix), NULL, 0);
}

/* The kv message i that the route was given, decoded; its receiver. */
static const uint8_t *
sent(size_t i, struct kvmsg *m)
{
	const struct callmsg	*cm = fake_route_msg(route, i);
	const char		*why;

	ck_assert_int_eq(cm->type, CALLMSG_KV);
	ck_assert_mem_eq(cm->origin, self.pk, NODE_ID_LEN);
	ck_assert_uint_eq(cm->cid, 0);
	ck_assert_msg(kvmsg_decode(cm->args, cm->argslen, m, &space, &why) ==
	    0, "a kv message that does not decode: %s", why);
	return cm->provider;
}

/* Messages of that kind to n among those sent from index since. */
static size_t
count_to(const struct tnode *n, enum kvmsg_kind kind, size_t since)
{
	struct kvmsg	m;
	size_t		i, k = 0;

	for (i = since; i < fake_route_count(route); i++)
		if (memcmp(sent(i, &m), n->pk, NODE_ID_LEN) == 0 &&
		    m.kind == kind)
			k++;
	return k;
}

/* The last WATCH to n since index since, into m; false if none. */
static bool
last_watch(const struct tnode *n, size_t since, struct kvmsg *m)
{
	size_t	i;

	for (i = fake_route_count(route); i-- > since; )
		if (memcmp(sent(i, m), n->pk, NODE_ID_LEN) == 0 &&
		    m->kind == KVMSG_WATCH)
			return true;
	return false;
}

/* Whether the WATCH m holds exactly the prefixes given (NULL-ended). */
static bool
holds(const struct kvmsg *m, ...)
{
	const char	*p;
	va_list		 ap;
	size_t		 i, n = 0;
	bool		 ok = true;

	va_start(ap, m);
	while ((p = va_arg(ap, const char *)) != NULL) {
		n++;
		for (i = 0; i < m->nprefixes; i++)
			if (m->prefixlens[i] == strlen(p) &&
			    memcmp(m->prefixes[i], p, strlen(p)) == 0)
				break;
		ok = ok && i < m->nprefixes;
	}
	va_end(ap);
	return ok && n == m->nprefixes;
}

struct watch_wait {
	const struct tnode	*n;
	size_t			 since;
	size_t			 count;
};

static bool
watches_reached(void *arg)
{
	struct watch_wait	*w = arg;

	return count_to(w->n, KVMSG_WATCH, w->since) >= w->count;
}

/* Waits for count WATCHes to n since index since. */
static bool
wait_watches(const struct tnode *n, size_t since, size_t count)
{
	struct watch_wait	w = { n, since, count };

	return loop_until(base, watches_reached, &w, WAIT_MS);
}

struct last_wait {
	const struct tnode	*n;
	size_t			 since;
	size_t			 nprefixes;
};

static bool
last_reached(void *arg)
{
	struct last_wait	*w = arg;
	struct kvmsg		 m;

	return last_watch(w->n, w->since, &m) && m.nprefixes == w->nprefixes;
}

/* Waits until the last WATCH to n since index since has nprefixes. */
static bool
wait_last_watch(const struct tnode *n, size_t since, size_t nprefixes)
{
	struct last_wait	w = { n, since, nprefixes };

	return loop_until(base, last_reached, &w, WAIT_MS);
}

/* An item of key, version (hlc, writer), with value (NULL: tombstone). */
static void
item(struct kv_item *it, const char *key, uint64_t hlc,
    const struct tnode *writer, const uint8_t *value, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->key = key;
	it->keylen = strlen(key);
	it->ver.hlc = hlc;
	memcpy(it->ver.node, writer->pk, NODE_ID_LEN);
	it->tombstone = value == NULL;
	it->value = value;
	it->valuelen = len;
}

static const uint8_t	five[] = { 0x05 };

/* A write to key, acknowledged here, its coordinator. */
static void
changed(enum kv_write_op op, const char *key, uint64_t hlc,
    const struct tnode *writer)
{
	struct kv_item	it;

	item(&it, key, hlc, writer, op == KV_DEL ? NULL : five,
	    sizeof(five));
	kvwatch_changed(kw, op, &it);
}

/* A CHANGE from node from. */
static void
change_from(const struct tnode *from, enum kv_write_op op, const char *key,
    uint64_t hlc, const struct tnode *writer)
{
	struct kvmsg	m;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_CHANGE;
	m.key = key;
	m.keylen = strlen(key);
	m.change_op = op;
	m.has_item = true;
	item(&m.item, key, hlc, writer, op == KV_DEL ? NULL : five,
	    sizeof(five));
	kvwatch_message(kw, from->pk, &m);
}

/* A WATCH from node from, of the prefixes given (NULL-ended). */
static void
lease_from(const struct tnode *from, uint64_t ms, ...)
{
	struct kvmsg	 m;
	const char	*p;
	va_list		 ap;

	memset(&m, 0, sizeof(m));
	m.kind = KVMSG_WATCH;
	m.lease_ms = ms;
	va_start(ap, ms);
	while ((p = va_arg(ap, const char *)) != NULL) {
		m.prefixes[m.nprefixes] = p;
		m.prefixlens[m.nprefixes++] = strlen(p);
	}
	va_end(ap);
	kvwatch_message(kw, from->pk, &m);
}

static const struct ctl_msg *
next_change(struct client *cl)
{
	const struct ctl_msg	*m = client_message(cl, base, "kv_change",
				    WAIT_MS);

	ck_assert_msg(m != NULL, "no kv_change came");
	return m;
}

/* The next kv_change of cl is this one. */
static void
expect_change(struct client *cl, const char *prefix, const char *key,
    const char *change, uint64_t hlc, const struct tnode *writer)
{
	const struct ctl_msg	*m = next_change(cl);
	const struct cbor_field	*v;
	char			 buf[KV_KEY_MAX + 1];
	bool			 value;

	ck_assert_str_eq(msg_text(m, "prefix", buf, sizeof(buf)), prefix);
	ck_assert_str_eq(msg_text(m, "key", buf, sizeof(buf)), key);
	ck_assert_str_eq(msg_text(m, "change", buf, sizeof(buf)), change);
	ck_assert_uint_eq(msg_uint(m, "version"), hlc);
	ck_assert_str_eq(msg_text(m, "writer", buf, sizeof(buf)),
	    writer->idstr);
	ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	ck_assert_ptr_null(ctl_msg_get(m, "id"));
	value = strcmp(change, "put") == 0 || strcmp(change, "merge") == 0;
	v = ctl_msg_get(m, "value");
	if (!value) {
		ck_assert_ptr_null(v);
		return;
	}
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->vallen, sizeof(five));
	ck_assert_mem_eq(v->val, five, sizeof(five));
}

START_TEST(test_watch_ops)
{
	struct client	*cl = clients_open(sock);
	char		 msg[256], p[KV_KEY_MAX + 2];
	struct cbor_buf	*buf;

	/* The empty prefix watches everything. */
	ck_assert_int_eq(kv_watch(cl, ""), PEER_OK);
	ck_assert_int_eq(prefix_opn(cl, "kv_watch", "", 0, msg, sizeof(msg)),
	    PEER_ALREADY_EXISTS);
	ck_assert_ptr_nonnull(strstr(msg, "already"));
	ck_assert_int_eq(kv_watch(cl, "cfg/"), PEER_OK);
	ck_assert_uint_eq(stats().watches, 2);
	ck_assert_int_eq(prefix_opn(cl, "kv_unwatch", "job/", 4, msg,
	    sizeof(msg)), PEER_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(msg, "job/"));

	/* 256 bytes are a prefix, 257 not; nor control characters. */
	memset(p, 'x', sizeof(p));
	ck_assert_int_eq(prefix_opn(cl, "kv_watch", p, KV_KEY_MAX, NULL, 0),
	    PEER_OK);
	ck_assert_int_eq(prefix_opn(cl, "kv_watch", p, KV_KEY_MAX + 1, NULL,
	    0), PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(prefix_opn(cl, "kv_watch", "a\tb", 3, msg,
	    sizeof(msg)), PEER_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "prefix"));
	ck_assert_int_eq(prefix_opn(cl, "kv_unwatch", "a\nb", 3, NULL, 0),
	    PEER_INVALID_ARGUMENT);
	/* Missing, or not text. */
	client_begin(cl, "kv_watch", ++next_id, 0);
	client_send(cl);
	ck_assert_int_eq(reply_code(client_must_reply(cl, base, next_id,
	    WAIT_MS), NULL, 0), PEER_INVALID_ARGUMENT);
	buf = client_begin(cl, "kv_watch", ++next_id, 1);
	cbor_put_text(buf, "prefix");
	cbor_put_uint(buf, 7);
	client_send(cl);
	ck_assert_int_eq(reply_code(client_must_reply(cl, base, next_id,
	    WAIT_MS), NULL, 0), PEER_INVALID_ARGUMENT);
	/* A timeout is checked as the other kv ops check it. */
	buf = client_begin(cl, "kv_watch", ++next_id, 2);
	cbor_put_text(buf, "prefix");
	cbor_put_text(buf, "t/");
	cbor_put_text(buf, "timeout");
	cbor_put_uint(buf, 0);
	client_send(cl);
	ck_assert_int_eq(reply_code(client_must_reply(cl, base, next_id,
	    WAIT_MS), msg, sizeof(msg)), PEER_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "timeout"));
	buf = client_begin(cl, "kv_watch", ++next_id, 2);
	cbor_put_text(buf, "prefix");
	cbor_put_text(buf, "t/");
	cbor_put_text(buf, "timeout");
	cbor_put_uint(buf, 5000);
	client_send(cl);
	ck_assert_int_eq(reply_code(client_must_reply(cl, base, next_id,
	    WAIT_MS), NULL, 0), PEER_OK);
	ck_assert_uint_eq(stats().watches, 4);

	ck_assert_int_eq(kv_unwatch(cl, "t/"), PEER_OK);
	ck_assert_int_eq(kv_unwatch(cl, ""), PEER_OK);
	ck_assert_int_eq(kv_unwatch(cl, ""), PEER_NOT_FOUND);
	ck_assert_int_eq(kv_unwatch(cl, "cfg/"), PEER_OK);
	ck_assert_uint_eq(stats().watches, 1);
}
END_TEST

START_TEST(test_limits)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	struct kvmsg	 m;
	char		 p[16], msg[256];
	size_t		 since;
	int		 i;

	for (i = 0; i < KVMSG_PREFIXES_MAX; i++) {
		snprintf(p, sizeof(p), "p%d/", i);
		ck_assert_int_eq(kv_watch(c1, p), PEER_OK);
	}
	ck_assert_int_eq(prefix_opn(c1, "kv_watch", "more/", 5, msg,
	    sizeof(msg)), PEER_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(msg, "64"));
	/* Another client may watch one the node watches, not a new one. */
	ck_assert_int_eq(kv_watch(c2, "p5/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "more/"), PEER_RESOURCE_EXHAUSTED);
	ck_assert_uint_eq(stats().watches, KVMSG_PREFIXES_MAX + 1);
	/* p5/ stays while c2 watches it; p0/ goes, which makes room. */
	ck_assert_int_eq(kv_unwatch(c1, "p5/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "more/"), PEER_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(kv_unwatch(c1, "p0/"), PEER_OK);
	since = fake_route_count(route);
	ck_assert_int_eq(kv_watch(c2, "more/"), PEER_OK);
	/* The lease carries the 64. */
	ck_assert(wait_last_watch(&a, since, KVMSG_PREFIXES_MAX));
	ck_assert(last_watch(&a, since, &m));
	ck_assert_uint_eq(m.nprefixes, KVMSG_PREFIXES_MAX);
	ck_assert(holds(&m, "p1/", "p2/", "p3/", "p4/", "p5/", "p6/", "p7/",
	    "p8/", "p9/", "p10/", "p11/", "p12/", "p13/", "p14/", "p15/",
	    "p16/", "p17/", "p18/", "p19/", "p20/", "p21/", "p22/", "p23/",
	    "p24/", "p25/", "p26/", "p27/", "p28/", "p29/", "p30/", "p31/",
	    "p32/", "p33/", "p34/", "p35/", "p36/", "p37/", "p38/", "p39/",
	    "p40/", "p41/", "p42/", "p43/", "p44/", "p45/", "p46/", "p47/",
	    "p48/", "p49/", "p50/", "p51/", "p52/", "p53/", "p54/", "p55/",
	    "p56/", "p57/", "p58/", "p59/", "p60/", "p61/", "p62/", "p63/",
	    "more/", NULL));
}
END_TEST

START_TEST(test_lease_sent_on_watch_and_to_new_node)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	struct kvmsg	 m;
	struct record	 r;
	size_t		 since;

	/* Nothing watched: a new node hears nothing. */
	ck_assert_uint_eq(fake_route_count(route), 0);
	ck_assert_int_eq(kv_watch(c1, "cfg/"), PEER_OK);
	ck_assert(wait_watches(&a, 0, 1));
	ck_assert(wait_watches(&b, 0, 1));
	ck_assert(last_watch(&a, 0, &m));
	ck_assert(holds(&m, "cfg/", NULL));
	ck_assert_uint_eq(m.lease_ms, LONG_LEASE);
	ck_assert(last_watch(&b, 0, &m));
	ck_assert(holds(&m, "cfg/", NULL));
	/* Not to a dead node, nor to ourselves. */
	ck_assert_uint_eq(count_to(&c, KVMSG_WATCH, 0), 0);
	ck_assert_uint_eq(count_to(&self, KVMSG_WATCH, 0), 0);

	/* The same prefix again is no change; a new one is. */
	since = fake_route_count(route);
	ck_assert_int_eq(kv_watch(c2, "cfg/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "job/"), PEER_OK);
	ck_assert(wait_watches(&a, since, 1));
	ck_assert(last_watch(&a, since, &m));
	ck_assert(holds(&m, "cfg/", "job/", NULL));
	ck_assert(wait_watches(&b, since, 1));
	ck_assert_uint_eq(count_to(&a, KVMSG_WATCH, since), 1);

	/* d joins the store: it alone hears the lease, at once. */
	since = fake_route_count(route);
	tnode_record(&d, 1, &r);
	tnode_offer(members, &d, &r);
	ck_assert(kvring_update(ring));
	kvwatch_ring_changed(kw);
	ck_assert_uint_eq(count_to(&d, KVMSG_WATCH, since), 1);
	ck_assert(last_watch(&d, since, &m));
	ck_assert(holds(&m, "cfg/", "job/", NULL));
	ck_assert_uint_eq(fake_route_count(route), since + 1);

	/* All unwatched: the empty set goes out once, to each node. */
	since = fake_route_count(route);
	ck_assert_int_eq(kv_unwatch(c1, "cfg/"), PEER_OK);
	ck_assert_int_eq(kv_unwatch(c2, "cfg/"), PEER_OK);
	ck_assert_int_eq(kv_unwatch(c2, "job/"), PEER_OK);
	ck_assert(wait_last_watch(&d, since, 0));
	ck_assert(wait_last_watch(&a, since, 0));
	ck_assert(wait_last_watch(&b, since, 0));
	/* And a node that joins now hears nothing. */
	since = fake_route_count(route);
	ck_assert(members_dead(members, d.pk, 1, 0));
	ck_assert(kvring_update(ring));
	kvwatch_ring_changed(kw);
	ck_assert_uint_eq(fake_route_count(route), since);
}
END_TEST

START_TEST(test_lease_renewed_until_unwatched)
{
	struct client	*cl = clients_open(sock);
	struct kvmsg	 m;
	size_t		 since;

	ck_assert_int_eq(kv_watch(cl, "x/"), PEER_OK);
	/* Sent at once, then renewed every SHORT_LEASE / 3. */
	ck_assert(wait_watches(&a, 0, 3));
	ck_assert(last_watch(&a, 0, &m));
	ck_assert(holds(&m, "x/", NULL));
	ck_assert_uint_eq(m.lease_ms, SHORT_LEASE);
	since = fake_route_count(route);
	ck_assert_int_eq(kv_unwatch(cl, "x/"), PEER_OK);
	ck_assert(wait_last_watch(&a, since, 0));
	/* The empty set went out; then nothing for three lease periods. */
	since = fake_route_count(route);
	loop_for(base, 3 * SHORT_LEASE);
	ck_assert_uint_eq(fake_route_count(route), since);
}
END_TEST

START_TEST(test_changes_go_to_live_leases)
{
	struct kvmsg	m;
	size_t		since;

	lease_from(&a, 60000, "cfg/", NULL);
	lease_from(&b, 60000, "", NULL);
	ck_assert_uint_eq(stats().leases, 2);
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/1", 1000, &self);
	ck_assert_uint_eq(fake_route_count(route), since + 2);
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, since), 1);
	ck_assert_uint_eq(count_to(&b, KVMSG_CHANGE, since), 1);
	(void)sent(since, &m);
	ck_assert_int_eq(m.kind, KVMSG_CHANGE);
	ck_assert_int_eq(m.change_op, KV_PUT);
	ck_assert(m.has_item);
	ck_assert_uint_eq(m.item.keylen, 5);
	ck_assert_mem_eq(m.item.key, "cfg/1", 5);
	ck_assert_uint_eq(m.item.ver.hlc, 1000);
	ck_assert_mem_eq(m.item.ver.node, self.pk, NODE_ID_LEN);
	ck_assert_uint_eq(m.item.valuelen, sizeof(five));
	ck_assert_mem_eq(m.item.value, five, sizeof(five));

	/* Only b's covers job/. */
	since = fake_route_count(route);
	changed(KV_DEL, "job/1", 1001, &self);
	ck_assert_uint_eq(fake_route_count(route), since + 1);
	ck_assert_uint_eq(count_to(&b, KVMSG_CHANGE, since), 1);
	(void)sent(since, &m);
	ck_assert_int_eq(m.change_op, KV_DEL);
	ck_assert(m.item.tombstone);

	/* A's empty set drops its lease; forgetting b drops b's. */
	lease_from(&a, 60000, NULL);
	ck_assert_uint_eq(stats().leases, 1);
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/2", 1002, &self);
	ck_assert_uint_eq(count_to(&b, KVMSG_CHANGE, since), 1);
	ck_assert_uint_eq(fake_route_count(route), since + 1);
	kvwatch_forget(kw, b.pk);
	ck_assert_uint_eq(stats().leases, 0);
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/3", 1003, &self);
	ck_assert_uint_eq(fake_route_count(route), since);
	ck_assert_uint_eq(stats().sent, 4);

	/* A lease with a prefix that is not one is not taken. */
	lease_from(&a, 60000, "ok/", "bad\001", NULL);
	ck_assert_uint_eq(stats().leases, 0);
	/* Nor one from ourselves. */
	lease_from(&self, 60000, "", NULL);
	ck_assert_uint_eq(stats().leases, 0);
}
END_TEST

static bool
no_leases(void *arg)
{
	(void)arg;
	return stats().leases == 0;
}

static int64_t	 until;

static bool
time_reached(void *arg)
{
	(void)arg;
	return clock_ms() >= until;
}

START_TEST(test_lease_expired_before_sweep)
{
	size_t	since;

	/* Swept only every LONG_LEASE / 3: a lease out of time is not used. */
	lease_from(&a, 100, "cfg/", NULL);
	until = clock_ms() + 150;
	ck_assert(loop_until(base, time_reached, NULL, WAIT_MS));
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/1", 1000, &self);
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, since), 0);
	ck_assert_uint_eq(stats().leases, 1);
}
END_TEST

START_TEST(test_lease_expiry_stops_sends)
{
	size_t	since;

	lease_from(&a, 400, "cfg/", NULL);
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/1", 1000, &self);
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, since), 1);
	/* Forgotten once it runs out (swept every SHORT_LEASE / 3). */
	ck_assert(loop_until(base, no_leases, NULL, WAIT_MS));
	since = fake_route_count(route);
	changed(KV_PUT, "cfg/2", 1001, &self);
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, since), 0);
	/* Renewed, it covers again. */
	lease_from(&a, 60000, "cfg/", NULL);
	changed(KV_PUT, "cfg/3", 1002, &self);
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, since), 1);
}
END_TEST

START_TEST(test_changes_to_matching_local_clients)
{
	struct client		*c1 = clients_open(sock);
	struct client		*c2 = clients_open(sock);
	struct client		*c3 = clients_open(sock);
	const struct ctl_msg	*m;
	char			 p1[8], p2[8];

	ck_assert_int_eq(kv_watch(c1, "cfg/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "job/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c3, ""), PEER_OK);
	ck_assert_int_eq(kv_watch(c3, "cfg/"), PEER_OK);

	changed(KV_PUT, "cfg/x", 1000, &self);
	expect_change(c1, "cfg/", "cfg/x", "put", 1000, &self);
	/* c3 watches twice over: one message for each watch. */
	m = next_change(c3);
	msg_text(m, "prefix", p1, sizeof(p1));
	m = next_change(c3);
	msg_text(m, "prefix", p2, sizeof(p2));
	ck_assert((strcmp(p1, "") == 0 && strcmp(p2, "cfg/") == 0) ||
	    (strcmp(p1, "cfg/") == 0 && strcmp(p2, "") == 0));

	changed(KV_MERGE, "job/y", 1001, &self);
	/* c2's first: cfg/x never reached it. */
	expect_change(c2, "job/", "job/y", "merge", 1001, &self);
	expect_change(c3, "", "job/y", "merge", 1001, &self);
	changed(KV_DEL, "cfg/x", 1002, &self);
	/* c1's next: job/y never reached it. */
	expect_change(c1, "cfg/", "cfg/x", "del", 1002, &self);
	changed(KV_EXPIRE, "cfg/z", 1003, &b);
	expect_change(c1, "cfg/", "cfg/z", "expired", 1003, &b);

	/* A change from another node, written by a third. */
	change_from(&a, KV_PUT, "cfg/w", 1004, &b);
	expect_change(c1, "cfg/", "cfg/w", "put", 1004, &b);

	/* No lease held here: no change went out. */
	ck_assert_uint_eq(count_to(&a, KVMSG_CHANGE, 0), 0);
	ck_assert_uint_eq(count_to(&b, KVMSG_CHANGE, 0), 0);
	ck_assert_uint_eq(stats().sent, 0);
}
END_TEST

START_TEST(test_older_change_dropped)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(kv_watch(cl, "k/"), PEER_OK);
	change_from(&a, KV_PUT, "k/1", 100, &a);
	change_from(&b, KV_PUT, "k/1", 90, &b);		/* older */
	change_from(&a, KV_PUT, "k/1", 100, &a);	/* the same */
	/* Its expiry keeps its version, and comes after it, once. */
	change_from(&a, KV_EXPIRE, "k/1", 100, &a);
	change_from(&a, KV_EXPIRE, "k/1", 100, &a);
	change_from(&a, KV_PUT, "k/1", 110, &a);
	/* Our own changes go through the same rule; other keys apart. */
	changed(KV_PUT, "k/1", 105, &self);
	change_from(&b, KV_PUT, "k/2", 50, &b);
	expect_change(cl, "k/", "k/1", "put", 100, &a);
	expect_change(cl, "k/", "k/1", "expired", 100, &a);
	expect_change(cl, "k/", "k/1", "put", 110, &a);
	expect_change(cl, "k/", "k/2", "put", 50, &b);
	ck_assert_uint_eq(stats().delivered, 4);
}
END_TEST

START_TEST(test_versions_seen_bounded)
{
	struct client		*cl = clients_open(sock);
	struct kvwatch_stats	 st;
	char			 key[16];
	uint64_t		 given;
	int			 i;

	ck_assert_int_eq(kv_watch(cl, "s/"), PEER_OK);
	/* 65537 keys: the first one's version is no longer held. */
	for (i = 0; i <= 65536; i++) {
		snprintf(key, sizeof(key), "s/%d", i);
		changed(KV_PUT, key, 10, &self);
	}
	st = stats();
	given = st.delivered + st.lost;
	ck_assert_uint_eq(given, 65537);
	ck_assert_uint_gt(st.lost, 0);
	changed(KV_PUT, "s/65536", 10, &self);
	st = stats();
	ck_assert_uint_eq(st.delivered + st.lost, given);
	changed(KV_PUT, "s/0", 10, &self);
	st = stats();
	ck_assert_uint_eq(st.delivered + st.lost, given + 1);
}
END_TEST

START_TEST(test_slow_client_loses_changes)
{
	struct client		*slow = clients_open(sock);
	struct client		*other = clients_open(sock);
	const struct ctl_msg	*m;
	const struct cbor_field	*v;
	struct cbor_buf		 big = { 0 };
	struct kv_item		 it;
	uint8_t			*fill;
	size_t			 size = 400u << 10;
	char			 buf[16];
	int			 i;

	ck_assert_int_eq(kv_watch(slow, "big/"), PEER_OK);
	ck_assert_int_eq(kv_watch(other, "small/"), PEER_OK);
	fill = calloc(1, size);
	ck_assert_ptr_nonnull(fill);
	cbor_put_bytes(&big, fill, size);
	ck_assert(!big.failed);
	/*
	 * Without the loop nothing is written out: three changes fill
	 * slow's queue past 1 MiB, and the next two are lost there.
	 */
	for (i = 1; i <= 5; i++) {
		item(&it, "big/1", (uint64_t)i, &self, big.data, big.len);
		kvwatch_changed(kw, KV_PUT, &it);
	}
	changed(KV_PUT, "small/1", 6, &self);
	/* Another client is not held back. */
	expect_change(other, "small/", "small/1", "put", 6, &self);
	for (i = 1; i <= 3; i++) {
		m = next_change(slow);
		ck_assert_uint_eq(msg_uint(m, "version"), (uint64_t)i);
		ck_assert_ptr_null(ctl_msg_get(m, "lost"));
		v = ctl_msg_get(m, "value");
		ck_assert_ptr_nonnull(v);
		ck_assert_uint_eq(v->vallen, big.len);
	}
	/* Read up: the next one says how many it missed, then none. */
	changed(KV_DEL, "big/1", 7, &self);
	m = next_change(slow);
	ck_assert_uint_eq(msg_uint(m, "version"), 7);
	ck_assert_str_eq(msg_text(m, "change", buf, sizeof(buf)), "del");
	ck_assert_uint_eq(msg_uint(m, "lost"), 2);
	changed(KV_PUT, "big/1", 8, &self);
	expect_change(slow, "big/", "big/1", "put", 8, &self);
	ck_assert_uint_eq(stats().lost, 2);
	ck_assert_uint_eq(stats().delivered, 6);
	free(fill);
	cbor_buf_free(&big);
}
END_TEST

static bool
one_watch(void *arg)
{
	(void)arg;
	return stats().watches == 1;
}

START_TEST(test_unwatch_and_gone_stop_delivery)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	struct kvmsg	 m;
	size_t		 since;

	ck_assert_int_eq(kv_watch(c1, "u/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c1, "v/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "u/"), PEER_OK);
	ck_assert_int_eq(kv_unwatch(c1, "u/"), PEER_OK);
	changed(KV_PUT, "u/1", 1000, &self);
	changed(KV_PUT, "v/1", 1001, &self);
	/* c1's next is v/1: u/1 did not reach it. */
	expect_change(c1, "v/", "v/1", "put", 1001, &self);
	expect_change(c2, "u/", "u/1", "put", 1000, &self);

	/* c2 goes: u/ is watched no more, and the lease says so. */
	ck_assert(wait_watches(&a, 0, 1));
	since = fake_route_count(route);
	clients_drop(c2);
	ck_assert(loop_until(base, one_watch, NULL, WAIT_MS));
	ck_assert(wait_last_watch(&a, since, 1));
	ck_assert(last_watch(&a, since, &m));
	ck_assert(holds(&m, "v/", NULL));
	changed(KV_PUT, "u/2", 1002, &self);
	ck_assert_uint_eq(stats().delivered, 2);
	changed(KV_PUT, "v/2", 1003, &self);
	expect_change(c1, "v/", "v/2", "put", 1003, &self);
}
END_TEST

/*
 * A client whose message cannot be queued (here a value larger than
 * any frame, which no store would hold) is closed, and goes away in
 * the middle of the delivery; the next client still gets its copy.
 */
START_TEST(test_client_gone_during_delivery)
{
	struct client	*c1 = clients_open(sock);
	struct client	*c2 = clients_open(sock);
	struct client	*c3 = clients_open(sock);
	struct cbor_buf	 huge = { 0 };
	struct kv_item	 it;
	uint8_t		*fill;
	size_t		 size = (1u << 20) + (64u << 10);

	log_set_level(LOG_LEVEL_ERROR);		/* the closes are expected */
	ck_assert_int_eq(kv_watch(c1, "h/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c2, "h/"), PEER_OK);
	ck_assert_int_eq(kv_watch(c3, "x/"), PEER_OK);
	fill = calloc(1, size);
	ck_assert_ptr_nonnull(fill);
	cbor_put_bytes(&huge, fill, size);
	ck_assert(!huge.failed);
	item(&it, "h/1", 1000, &self, huge.data, huge.len);
	kvwatch_changed(kw, KV_PUT, &it);
	ck_assert(client_closed(c1, base, WAIT_MS));
	ck_assert(client_closed(c2, base, WAIT_MS));
	ck_assert_uint_eq(stats().watches, 1);
	changed(KV_PUT, "x/1", 1001, &self);
	expect_change(c3, "x/", "x/1", "put", 1001, &self);
	free(fill);
	cbor_buf_free(&huge);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("kvwatch");
	TCase	*tc = tcase_create("kvwatch");
	TCase	*ts = tcase_create("kvwatch_short_lease");

	tcase_add_checked_fixture(tc, setup_long, teardown);
	tcase_add_test(tc, test_watch_ops);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_lease_sent_on_watch_and_to_new_node);
	tcase_add_test(tc, test_changes_go_to_live_leases);
	tcase_add_test(tc, test_lease_expired_before_sweep);
	tcase_add_test(tc, test_changes_to_matching_local_clients);
	tcase_add_test(tc, test_older_change_dropped);
	tcase_add_test(tc, test_versions_seen_bounded);
	tcase_add_test(tc, test_slow_client_loses_changes);
	tcase_add_test(tc, test_unwatch_and_gone_stop_delivery);
	tcase_add_test(tc, test_client_gone_during_delivery);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ts, setup_short, teardown);
	tcase_add_test(ts, test_lease_renewed_until_unwatched);
	tcase_add_test(ts, test_lease_expiry_stops_sends);
	suite_add_tcase(s, ts);
	return s;
}
