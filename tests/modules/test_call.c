/* SPDX-License-Identifier: ISC */
/*
 * test_call.c: call.c against a fake mesh, fake links and a fake
 * router, with a real member table and a real control socket.  The
 * rules: the provider is this node if it offers the service, else the
 * nearest by round trip (near equals take turns, suspects come after
 * the alive, the dead and the left never); "to" picks nodes by name,
 * else by ID prefix (either case, 4 or more characters), else a service
 * group, else a group of the nodes' records; a call is answered once, by its
 * provider, at its deadline, by a cancel, or with UNAVAILABLE when its
 * provider dies, cannot be reached or its link is full; a call with no
 * path waits for a dial; a fan-out answers with one entry per
 * provider, or with progress sends each as it comes; a notify waits for nothing.  Root passes the access
 * rules' call= (other users are the integration suite's).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "access.h"
#include "call.h"
#include "callmsg.h"
#include "clock.h"
#include "control.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "fake_route.h"
#include "harness.h"
#include "tagset.h"

#define MAX_MESSAGE	4096		/* the calls' max_message */
#define WAIT_MS		1000		/* for what must happen */
#define QUIET_MS	30		/* for what must not */

static struct tnode		 self, a, b, c;
static struct members		*members;
static struct mesh		*mesh;
static struct route		*route;
static struct event_base	*base;
static struct control		*ctl;
static struct calls		*calls;
static struct access		*rules;		/* none unless a test adds */
static struct client		*cl;
static char			 dir[64], sock[80];

/* The args every test call carries: a map, passed on byte for byte. */
static struct cbor_buf		 args;

static void
client_gone(void *arg, struct ctl_conn *conn)
{
	(void)arg; (void)conn;
}

static const struct control_ops	ctl_ops = { client_gone };

static void
setup(void)
{
	struct control_params	cp;
	struct calls_params	p;

	tnode_new(&self, "self");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	members = tnode_members(&self);
	mesh = fake_mesh_new();
	route = fake_route_new(self.pk);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tmpdir_make(dir, sizeof(dir), "call");
	snprintf(sock, sizeof(sock), "%s/peerd.sock", dir);
	memset(&cp, 0, sizeof(cp));
	control_params_init(&cp, sock);
	cp.max_message = 1 << 20;
	cp.max_clients = 16;
	ctl = control_open(base, &cp, &ctl_ops, NULL);
	ck_assert_ptr_nonnull(ctl);
	p.self = self.pk;
	p.max_message = MAX_MESSAGE;
	rules = access_new(geteuid());
	ck_assert_ptr_nonnull(rules);
	p.access = rules;
	calls = calls_new(base, &p, members, route, mesh);
	ck_assert_ptr_nonnull(calls);
	ck_assert_int_eq(control_add_ops(ctl, calls_ctl_ops, calls), 0);
	cl = client_open(sock);
	memset(&args, 0, sizeof(args));
	cbor_put_map(&args, 2);
	cbor_put_text(&args, "text");
	cbor_put_text(&args, "hello");
	cbor_put_text(&args, "n");
	cbor_put_uint(&args, 42);
}

static void
teardown(void)
{
	size_t	i;

	client_close(cl);
	/* As the daemon stops: clients first, then the dials end. */
	control_free(ctl);
	for (i = 0; i < fake_mesh_ndials(mesh); i++)
		if (!fake_mesh_dial(mesh, i)->ended)
			fake_mesh_dial_end(mesh, i, MESH_DIAL_FAILED);
	calls_free(calls);
	access_free(rules);
	fake_route_free(route);
	fake_mesh_free(mesh);
	members_free(members);
	event_base_free(base);
	cbor_buf_free(&args);
	tmpdir_remove(dir);
}

/* n's record at incarnation inc, offering echo in group ("": none). */
static struct member *
offer_echo(const struct tnode *n, uint64_t inc, const char *group)
{
	struct record	r;

	tnode_record(n, inc, &r);
	record_add_service(&r, "echo", group);
	return tnode_offer(members, n, &r);
}

/* This node offers echo too. */
static void
offer_echo_here(void)
{
	struct cbor_buf	buf = { 0 };
	struct record	r;

	tnode_record(&self, 2, &r);
	record_add_service(&r, "echo", "");
	tnode_sign(&self, &r, &buf);
	ck_assert_int_eq(members_set_self(members, buf.data, buf.len, 0), 0);
	cbor_buf_free(&buf);
}

/* An up link to n with this round trip (-1: no sample yet). */
static struct link *
link_to(const struct tnode *n, int64_t rtt_us)
{
	struct link	*l = fake_link_new(n->pk, n->name, true);

	fake_link_rtt(l, rtt_us);
	fake_mesh_add(mesh, l);
	return l;
}

/* The test node with this ID, by name, for readable failures. */
static const char *
node_name(const uint8_t *id)
{
	const struct tnode	*all[] = { &self, &a, &b, &c };
	size_t			 i;

	for (i = 0; i < 4; i++)
		if (memcmp(all[i]->pk, id, NODE_ID_LEN) == 0)
			return all[i]->name;
	return "?";
}

/*
 * Sends op (call or notify) of echo.say with the usual args; to and
 * timeout only if given (NULL, 0), all only if true.
 */
static void
send_echo(const char *op, uint64_t id, const char *to, uint64_t timeout,
    bool all)
{
	struct cbor_buf	*req;

	req = client_begin(cl, op, id, 3 + (to != NULL) + (timeout != 0) +
	    all);
	cbor_put_text(req, "service");
	cbor_put_text(req, "echo");
	cbor_put_text(req, "method");
	cbor_put_text(req, "say");
	cbor_put_text(req, "args");
	cbor_put_raw(req, args.data, args.len);
	if (to != NULL) {
		cbor_put_text(req, "to");
		cbor_put_text(req, to);
	}
	if (timeout != 0) {
		cbor_put_text(req, "timeout");
		cbor_put_uint(req, timeout);
	}
	if (all) {
		cbor_put_text(req, "all");
		cbor_put_bool(req, true);
	}
	client_send(cl);
}

static void
send_cancel(uint64_t id, uint64_t call)
{
	struct cbor_buf	*req = client_begin(cl, "cancel", id, 1);

	cbor_put_text(req, "call");
	cbor_put_uint(req, call);
	client_send(cl);
}

static bool
routed(void *arg)
{
	return fake_route_count(route) >= *(size_t *)arg;
}

/* Message i given to the router, waiting for it; a copy. */
static struct callmsg
wait_msg(size_t i)
{
	size_t	n = i + 1;

	ck_assert_msg(loop_until(base, routed, &n, WAIT_MS),
	    "message %zu was never sent (%zu were)", i,
	    fake_route_count(route));
	return *fake_route_msg(route, i);
}

/* Calls echo.say (to if not NULL) and names the node it went to. */
static const char *
chosen(uint64_t id, const char *to)
{
	struct callmsg	m;

	send_echo("call", id, to, 0, false);
	m = wait_msg(fake_route_count(route));
	ck_assert_int_eq(m.type, CALLMSG_CALL);
	return node_name(m.provider);
}

/* Sent messages of type t. */
static size_t
count_type(enum callmsg_type t)
{
	size_t	i, n = 0;

	for (i = 0; i < fake_route_count(route); i++)
		if (fake_route_msg(route, i)->type == t)
			n++;
	return n;
}

static const struct ctl_msg *
reply(uint64_t id)
{
	return client_must_reply(cl, base, id, WAIT_MS);
}

/* The reply to id has this code, and a message containing what. */
static void
expect_code(uint64_t id, enum peer_code code, const char *what)
{
	char		msg[256];
	enum peer_code	got = reply_code(reply(id), msg, sizeof(msg));

	ck_assert_msg(got == code, "request %llu: code %d (%s), not %d",
	    (unsigned long long)id, (int)got, msg, (int)code);
	if (what != NULL)
		ck_assert_msg(strstr(msg, what) != NULL, "request %llu: "
		    "\"%s\" does not say \"%s\"", (unsigned long long)id, msg,
		    what);
}

static void
expect_silence(uint64_t id)
{
	ck_assert_msg(client_reply(cl, base, id, QUIET_MS) == NULL,
	    "request %llu was answered", (unsigned long long)id);
}

static bool
key_is(const struct cbor_field *f, const char *key)
{
	return f->keylen == strlen(key) && memcmp(f->key, key, f->keylen) == 0;
}

/* The unsigned or boolean value of key in m's result map. */
static uint64_t
result_value(const struct ctl_msg *m, const char *key)
{
	const struct cbor_field	*res = ctl_msg_get(m, "result"), *f;
	struct cbor_field	 fs[8];
	uint64_t		 v = 0;
	bool			 t;
	int			 n;

	ck_assert_ptr_nonnull(res);
	n = cbor_scan_map(res->val, res->vallen, fs, 8);
	ck_assert_int_ge(n, 0);
	f = cbor_field_get(fs, n, key);
	ck_assert_msg(f != NULL, "no %s in the result", key);
	if (cbor_read_bool(f->val, f->vallen, &t))
		return t;
	ck_assert(cbor_read_uint(f->val, f->vallen, &v));
	return v;
}

/* An answer to call from the node from, with a result (or an error). */
static void
answer(const struct callmsg *call, const struct tnode *from,
    const struct cbor_buf *result, const struct ctl_error *err)
{
	struct callmsg	ans;

	memset(&ans, 0, sizeof(ans));
	ans.type = CALLMSG_ANSWER;
	memcpy(ans.origin, self.pk, NODE_ID_LEN);
	memcpy(ans.provider, from->pk, NODE_ID_LEN);
	ans.cid = call->cid;
	ans.hops = CALLMSG_HOPS;
	if (result != NULL) {
		ans.result = result->data;
		ans.resultlen = result->len;
	} else
		ans.err = *err;
	calls_answer(calls, &ans);
}

/* The calls' counters now. */
static struct calls_stats
stats(void)
{
	struct calls_stats	st;

	calls_stats(calls, &st);
	return st;
}

/* A result that is one text item. */
static void
text_result(struct cbor_buf *buf, const char *s)
{
	memset(buf, 0, sizeof(*buf));
	cbor_put_text(buf, s);
}

/* The result item of m is exactly want. */
static void
expect_result(const struct ctl_msg *m, const struct cbor_buf *want)
{
	const struct cbor_field	*f = ctl_msg_get(m, "result");

	ck_assert_msg(f != NULL, "an error, not a result");
	ck_assert_uint_eq(f->vallen, want->len);
	ck_assert_mem_eq(f->val, want->data, want->len);
}

/* One entry of a fan-out's answer array. */
struct entry {
	char		node[NODE_ID_STRLEN];
	char		name[NODE_NAME_MAX + 1];
	enum peer_code	code;		/* PEER_OK: a result */
	uint8_t		result[64];
	size_t		resultlen;
	char		msg[128];
};

/* Reads the array of m's result into e; how many entries. */
static size_t
fan_entries(const struct ctl_msg *m, struct entry *e, size_t max)
{
	const struct cbor_field	*res = ctl_msg_get(m, "result");
	struct cbor_iter	 it;
	struct cbor_field	 f[8];
	struct ctl_error	 err;
	const uint8_t		*item;
	const char		*s;
	size_t			 len, sl, n = 0;

	ck_assert_msg(res != NULL, "the fan-out failed as a whole");
	ck_assert(cbor_array_iter(res->val, res->vallen, &it));
	while (cbor_iter_next(&it, &item, &len)) {
		ck_assert_uint_lt(n, max);
		memset(&e[n], 0, sizeof(e[n]));
		ck_assert_int_eq(cbor_scan_map(item, len, f, 8), 3);
		ck_assert(key_is(&f[0], "node") && key_is(&f[1], "name"));
		ck_assert(cbor_read_text(f[0].val, f[0].vallen, &s, &sl));
		ck_assert_uint_lt(sl, sizeof(e[n].node));
		memcpy(e[n].node, s, sl);
		ck_assert(cbor_read_text(f[1].val, f[1].vallen, &s, &sl));
		ck_assert_uint_lt(sl, sizeof(e[n].name));
		memcpy(e[n].name, s, sl);
		if (key_is(&f[2], "result")) {
			ck_assert_uint_le(f[2].vallen, sizeof(e[n].result));
			memcpy(e[n].result, f[2].val, f[2].vallen);
			e[n].resultlen = f[2].vallen;
		} else {
			ck_assert(key_is(&f[2], "error"));
			ck_assert(ctl_error_decode(f[2].val, f[2].vallen,
			    &err));
			e[n].code = err.code;
			snprintf(e[n].msg, sizeof(e[n].msg), "%.*s",
			    (int)err.msglen, err.msg);
		}
		n++;
	}
	return n;
}

/* Entry e is n's, with that code (and, for a result, that result). */
static void
expect_entry(const struct entry *e, const struct tnode *n,
    enum peer_code code, const struct cbor_buf *result)
{
	ck_assert_str_eq(e->node, n->idstr);
	ck_assert_str_eq(e->name, n->name);
	ck_assert_msg(e->code == code, "%s: code %d (%s), not %d", n->name,
	    (int)e->code, e->msg, (int)code);
	if (result != NULL) {
		ck_assert_uint_eq(e->resultlen, result->len);
		ck_assert_mem_eq(e->result, result->data, result->len);
	}
}

static bool
dialed(void *arg)
{
	return fake_mesh_ndials(mesh) >= *(size_t *)arg;
}

static void
wait_dials(size_t n)
{
	ck_assert_msg(loop_until(base, dialed, &n, WAIT_MS),
	    "%zu dials asked for, not %zu", fake_mesh_ndials(mesh), n);
}

START_TEST(test_this_node_first)
{
	int	i;

	offer_echo(&a, 1, "");
	link_to(&a, 1000);
	offer_echo_here();
	for (i = 1; i <= 3; i++)
		ck_assert_str_eq(chosen(i, NULL), "self");
}
END_TEST

START_TEST(test_lowest_round_trip_wins)
{
	struct link	*la, *lb;
	int		 i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	la = link_to(&a, 5000);
	lb = link_to(&b, 1000);
	/* c has no link at all. */
	for (i = 1; i <= 3; i++)
		ck_assert_str_eq(chosen(i, NULL), "b");
	/* A link without a sample yet loses to a measured one... */
	fake_link_rtt(lb, -1);
	ck_assert_str_eq(chosen(4, NULL), "a");
	/* ...and wins over no link. */
	fake_mesh_remove(mesh, la);
	ck_assert_str_eq(chosen(5, NULL), "b");
	ck_assert_str_eq(chosen(6, NULL), "b");
}
END_TEST

START_TEST(test_near_equals_take_turns)
{
	int	i, na = 0, nb = 0;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	/* Best 1000 us: up to 1000 + 250 + 100 counts as equal. */
	link_to(&a, 1000);
	link_to(&b, 1200);
	link_to(&c, 1400);
	for (i = 1; i <= 6; i++) {
		const char	*n = chosen(i, NULL);

		ck_assert_msg(strcmp(n, "c") != 0, "c is not near enough");
		if (strcmp(n, "a") == 0)
			na++;
		else
			nb++;
	}
	ck_assert_int_eq(na, 3);
	ck_assert_int_eq(nb, 3);
}
END_TEST

START_TEST(test_suspect_after_any_alive)
{
	struct link	*lb;
	int64_t		 now = clock_ms();
	int		 i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	link_to(&a, 100);
	lb = link_to(&b, 5000);
	ck_assert_str_eq(chosen(1, NULL), "a");
	ck_assert(members_suspect(members, a.pk, 1, now, now + 60000));
	/* b is fifty times as far, but alive. */
	for (i = 2; i <= 4; i++)
		ck_assert_str_eq(chosen(i, NULL), "b");
	/* Not measured yet, still alive. */
	fake_link_rtt(lb, -1);
	for (i = 5; i <= 7; i++)
		ck_assert_str_eq(chosen(i, NULL), "b");
	/* Not even linked, and still before any suspect. */
	fake_mesh_remove(mesh, lb);
	for (i = 8; i <= 10; i++)
		ck_assert_str_eq(chosen(i, NULL), "b");
	/* Suspect but the only one: chosen all the same. */
	ck_assert_str_eq(chosen(11, "a"), "a");
}
END_TEST

START_TEST(test_dead_or_left_never_chosen)
{
	struct record	r;
	int		i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	link_to(&a, 100);
	link_to(&b, 100);
	ck_assert(members_dead(members, a.pk, 1, clock_ms()));
	tnode_record(&b, 2, &r);
	record_add_service(&r, "echo", "");
	r.left = true;
	tnode_offer(members, &b, &r);
	for (i = 1; i <= 3; i++)
		ck_assert_str_eq(chosen(i, NULL), "c");
	send_echo("call", 4, "a", 0, false);
	expect_code(4, PEER_NOT_FOUND, NULL);
	send_echo("call", 5, "b", 0, false);
	expect_code(5, PEER_NOT_FOUND, NULL);
	ck_assert_uint_eq(fake_route_count(route), 3);
}
END_TEST

START_TEST(test_to_group)
{
	struct callmsg	m;

	offer_echo(&a, 1, "blue");
	offer_echo(&b, 1, "red");
	offer_echo(&c, 1, "");
	link_to(&c, 10);
	ck_assert_str_eq(chosen(1, "blue"), "a");
	m = *fake_route_msg(route, 0);
	ck_assert_str_eq(m.group, "blue");
	ck_assert_str_eq(chosen(2, "red"), "b");
	/* Without to, any group will do, and the call names none. */
	ck_assert_str_eq(chosen(3, NULL), "c");
	m = *fake_route_msg(route, 2);
	ck_assert_str_eq(m.group, "");
	send_echo("call", 4, "green", 0, false);
	expect_code(4, PEER_NOT_FOUND, "green");
}
END_TEST

START_TEST(test_to_node_name_or_id_prefix)
{
	struct callmsg	m;
	char		prefix[16], upper[16];
	size_t		i;

	offer_echo(&a, 1, "blue");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	link_to(&a, 10);
	/* A name that is no group of echo names a node. */
	ck_assert_str_eq(chosen(1, "c"), "c");
	m = *fake_route_msg(route, 0);
	ck_assert_str_eq(m.group, "");
	/* A node offering echo in a group is a node all the same. */
	ck_assert_str_eq(chosen(2, "a"), "a");
	snprintf(prefix, sizeof(prefix), "%.4s", b.idstr);
	ck_assert_str_eq(chosen(3, prefix), "b");
	snprintf(prefix, sizeof(prefix), "%.10s", c.idstr);
	ck_assert_str_eq(chosen(4, prefix), "c");
	/* Three characters are too few, and say so; case does not count. */
	snprintf(prefix, sizeof(prefix), "%.3s", b.idstr);
	send_echo("call", 5, prefix, 0, false);
	expect_code(5, PEER_INVALID_ARGUMENT, "4 or more characters");
	snprintf(upper, sizeof(upper), "%.8s", b.idstr);
	for (i = 0; upper[i] != '\0'; i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] -= 'a' - 'A';
	ck_assert_str_eq(chosen(6, upper), "b");
	send_echo("call", 7, "nobody", 0, false);
	expect_code(7, PEER_NOT_FOUND, "nobody");
	ck_assert_uint_eq(fake_route_count(route), 5);
}
END_TEST

/* n's record in node group, offering echo in service group svcgroup. */
static void
offer_echo_in(const struct tnode *n, uint64_t inc, const char *group,
    const char *svcgroup)
{
	struct record	r;

	tnode_record(n, inc, &r);
	snprintf(r.groups[r.ngroups++], sizeof(r.groups[0]), "%s", group);
	record_add_service(&r, "echo", svcgroup);
	tnode_offer(members, n, &r);
}

/*
 * "to" is read as a node name, a node ID prefix, a service group, then
 * a group of the node's record: the first that leaves a provider wins.
 */
START_TEST(test_to_order)
{
	struct callmsg	m;

	offer_echo_in(&a, 1, "lab", "c");
	offer_echo(&b, 1, "blue");
	offer_echo_in(&c, 1, "blue", "");
	link_to(&b, 10);
	/* The node group of a, three characters long; no group named. */
	ck_assert_str_eq(chosen(1, "lab"), "a");
	m = *fake_route_msg(route, 0);
	ck_assert_str_eq(m.group, "");
	/* A node name before a service group of that name. */
	ck_assert_str_eq(chosen(2, "c"), "c");
	/* A service group before a node group of that name. */
	ck_assert_str_eq(chosen(3, "blue"), "b");
	m = *fake_route_msg(route, 2);
	ck_assert_str_eq(m.group, "blue");
	send_echo("call", 4, "kitchen", 0, false);
	expect_code(4, PEER_NOT_FOUND, "node group");
	ck_assert_uint_eq(fake_route_count(route), 3);
}
END_TEST

/* n's record at incarnation inc, offering echo, with the tag key=value. */
static void
offer_echo_tagged(const struct tnode *n, uint64_t inc, const char *key,
    const char *value)
{
	struct record	 r;
	const char	*why;

	tnode_record(n, inc, &r);
	record_add_service(&r, "echo", "");
	ck_assert_int_eq(tagset_set(&r.tags, key, value, &why), 0);
	(void)tnode_offer(members, n, &r);
}

START_TEST(test_to_tag)
{
	char	to[400];
	int	i;

	offer_echo_tagged(&a, 1, "role", "gpu");
	offer_echo_tagged(&b, 1, "role", "cpu");
	offer_echo(&c, 1, "");
	/* c is the nearest: only the tag keeps the call from it. */
	link_to(&c, 10);
	ck_assert_str_eq(chosen(1, "tag:role=gpu"), "a");
	ck_assert_str_eq(fake_route_msg(route, 0)->group, "");
	ck_assert_str_eq(chosen(2, "tag:role=cpu"), "b");
	for (i = 0; i < 4; i++)
		ck_assert_str_ne(chosen(3 + (uint64_t)i, "tag:role"), "c");
	send_echo("call", 7, "tag:role=tpu", 0, false);
	expect_code(7, PEER_NOT_FOUND, "no provider of echo has the tag "
	    "role=tpu");
	send_echo("call", 8, "tag:zone", 0, false);
	expect_code(8, PEER_NOT_FOUND, "has the tag zone");
	send_echo("call", 9, "tag:role=", 0, false);
	expect_code(9, PEER_NOT_FOUND, NULL);
	/* The longest tag target fits in to; one byte more does not. */
	snprintf(to, sizeof(to), "tag:%0*d=%0*d", TAG_KEY_MAX, 0,
	    TAG_VALUE_MAX, 0);
	send_echo("call", 10, to, 0, false);
	expect_code(10, PEER_NOT_FOUND, NULL);
	strcat(to, "0");
	send_echo("call", 11, to, 0, false);
	expect_code(11, PEER_INVALID_ARGUMENT, "to: not text of at most 325 "
	    "bytes");
	ck_assert_uint_eq(fake_route_count(route), 6);
}
END_TEST

/* A call with service and method (NULL: left out) and a timeout. */
static void
send_raw_call(uint64_t id, const char *service, const char *method,
    uint64_t timeout)
{
	struct cbor_buf	*req;

	req = client_begin(cl, "call", id, (service != NULL) +
	    (method != NULL) + 1);
	if (service != NULL) {
		cbor_put_text(req, "service");
		cbor_put_text(req, service);
	}
	if (method != NULL) {
		cbor_put_text(req, "method");
		cbor_put_text(req, method);
	}
	cbor_put_text(req, "timeout");
	cbor_put_uint(req, timeout);
	client_send(cl);
}

START_TEST(test_bad_requests)
{
	struct cbor_buf	*req;
	uint8_t		 big[MAX_MESSAGE];

	offer_echo(&a, 1, "");
	send_raw_call(1, NULL, "say", 100);
	expect_code(1, PEER_INVALID_ARGUMENT, "service");
	send_raw_call(2, "Echo!", "say", 100);
	expect_code(2, PEER_INVALID_ARGUMENT, "service");
	send_raw_call(3, "echo", NULL, 100);
	expect_code(3, PEER_INVALID_ARGUMENT, "method");
	send_raw_call(4, "echo", "s\x01y", 100);
	expect_code(4, PEER_INVALID_ARGUMENT, "method");
	send_raw_call(5, "echo", "say", 0);
	expect_code(5, PEER_INVALID_ARGUMENT, "timeout");
	send_raw_call(6, "nothing", "say", 100);
	expect_code(6, PEER_NOT_FOUND, "nothing");
	/* Arguments one byte over max_message once encoded. */
	memset(big, 'x', sizeof(big));
	req = client_begin(cl, "call", 7, 3);
	cbor_put_text(req, "service");
	cbor_put_text(req, "echo");
	cbor_put_text(req, "method");
	cbor_put_text(req, "say");
	cbor_put_text(req, "args");
	cbor_put_bytes(req, big, MAX_MESSAGE - 2);
	client_send(cl);
	expect_code(7, PEER_RESOURCE_EXHAUSTED, "max_message");
	/* One byte less fits. */
	req = client_begin(cl, "call", 8, 3);
	cbor_put_text(req, "service");
	cbor_put_text(req, "echo");
	cbor_put_text(req, "method");
	cbor_put_text(req, "say");
	cbor_put_text(req, "args");
	cbor_put_bytes(req, big, MAX_MESSAGE - 3);
	client_send(cl);
	ck_assert_uint_eq(wait_msg(0).argslen, MAX_MESSAGE);
	ck_assert_uint_eq(fake_route_count(route), 1);
	/* Refused before any call was made: counted as refused alone. */
	ck_assert_uint_eq(stats().refused, 7);
	ck_assert_uint_eq(stats().latency.count, 0);
}
END_TEST

START_TEST(test_call_message)
{
	struct callmsg	m;

	offer_echo(&a, 1, "");
	send_echo("call", 1, NULL, 1234, false);
	m = wait_msg(0);
	ck_assert_int_eq(m.type, CALLMSG_CALL);
	ck_assert_mem_eq(m.origin, self.pk, NODE_ID_LEN);
	ck_assert_mem_eq(m.provider, a.pk, NODE_ID_LEN);
	ck_assert_str_eq(m.service, "echo");
	ck_assert_str_eq(m.method, "say");
	ck_assert_uint_eq(m.timeout_ms, 1234);
	ck_assert(!m.oneway);
	ck_assert_uint_eq(m.argslen, args.len);
	ck_assert_mem_eq(m.args, args.data, args.len);
	/* Each call has a number of its own. */
	send_echo("call", 2, NULL, 1234, false);
	ck_assert_uint_ne(wait_msg(1).cid, m.cid);
}
END_TEST

#define NUMBERS		1000

static int
cmp_u64(const void *p, const void *q)
{
	uint64_t	x = *(const uint64_t *)p, y = *(const uint64_t *)q;

	return x < y ? -1 : x > y;
}

/*
 * A relay that saw some call numbers cannot guess the next: they are
 * not a counter (each within 2^16 of the last has chance 2^-47 if
 * random), nor any step repeated, and never 0 nor the same twice.
 */
START_TEST(test_call_numbers_unpredictable)
{
	struct cbor_buf	res;
	struct callmsg	m;
	uint64_t	*n;
	size_t		i;

	n = calloc(NUMBERS, sizeof(*n));
	ck_assert_ptr_nonnull(n);
	offer_echo(&a, 1, "");
	text_result(&res, "pong");
	for (i = 0; i < NUMBERS; i++) {
		send_echo("call", i + 1, NULL, 0, false);
		m = wait_msg(i);
		ck_assert_int_eq(m.type, CALLMSG_CALL);
		n[i] = m.cid;
		ck_assert_uint_ne(n[i], 0);
		if (i > 0)
			ck_assert_msg(n[i] - n[i - 1] >= 65536 &&
			    n[i - 1] - n[i] >= 65536, "call %zu: %llu right "
			    "after %llu", i, (unsigned long long)n[i],
			    (unsigned long long)n[i - 1]);
		if (i > 1)
			ck_assert_uint_ne(n[i] - n[i - 1], n[i - 1] - n[i - 2]);
		answer(&m, &a, &res, NULL);
		expect_result(reply(i + 1), &res);
	}
	qsort(n, NUMBERS, sizeof(*n), cmp_u64);
	for (i = 1; i < NUMBERS; i++)
		ck_assert_uint_ne(n[i], n[i - 1]);
	free(n);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_answer_result)
{
	struct cbor_buf	res;
	struct callmsg	m;

	offer_echo(&a, 1, "");
	text_result(&res, "pong");
	send_echo("call", 1, NULL, 0, false);
	m = wait_msg(0);
	answer(&m, &a, &res, NULL);
	expect_result(reply(1), &res);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_answer_error_keeps_context)
{
	const struct cbor_field	*f;
	struct cbor_buf		 context = { 0 };
	struct ctl_error	 err, got;
	struct callmsg		 m;
	const struct ctl_msg	*r;

	offer_echo(&a, 1, "");
	cbor_put_map(&context, 1);
	cbor_put_text(&context, "line");
	cbor_put_uint(&context, 7);
	memset(&err, 0, sizeof(err));
	err.code = PEER_UNIMPLEMENTED;
	err.msg = "no method say";
	err.msglen = strlen(err.msg);
	err.context = context.data;
	err.contextlen = context.len;
	send_echo("call", 1, NULL, 0, false);
	m = wait_msg(0);
	answer(&m, &a, NULL, &err);
	r = reply(1);
	ck_assert_ptr_nonnull(f = ctl_msg_get(r, "error"));
	ck_assert(ctl_error_decode(f->val, f->vallen, &got));
	ck_assert_int_eq(got.code, PEER_UNIMPLEMENTED);
	ck_assert_uint_eq(got.msglen, err.msglen);
	ck_assert_mem_eq(got.msg, err.msg, err.msglen);
	ck_assert_uint_eq(got.contextlen, context.len);
	ck_assert_mem_eq(got.context, context.data, context.len);
	cbor_buf_free(&context);
}
END_TEST

START_TEST(test_answer_from_another_node_or_late_dropped)
{
	struct cbor_buf	res, other;
	struct callmsg	m;

	offer_echo(&a, 1, "");
	text_result(&res, "pong");
	text_result(&other, "forged");
	send_echo("call", 1, NULL, 0, false);
	m = wait_msg(0);
	answer(&m, &b, &other, NULL);
	answer(&m, &self, &other, NULL);
	expect_silence(1);
	answer(&m, &a, &res, NULL);
	expect_result(reply(1), &res);
	/* Answered once: a second answer finds nothing. */
	answer(&m, &a, &other, NULL);
	expect_silence(1);
	/* Counted once, as its client was answered. */
	ck_assert_uint_eq(stats().by_code[PEER_OK], 1);
	ck_assert_uint_eq(stats().latency.count, 1);
	cbor_buf_free(&res);
	cbor_buf_free(&other);
}
END_TEST

START_TEST(test_deadline)
{
	struct cbor_buf	res;
	struct callmsg	m;
	int64_t		t0, dt;

	offer_echo(&a, 1, "");
	t0 = clock_ms();
	send_echo("call", 1, NULL, 50, false);
	m = wait_msg(0);
	expect_code(1, PEER_DEADLINE_EXCEEDED, "a");
	dt = clock_ms() - t0;
	ck_assert_msg(dt >= 45 && dt < 500, "the deadline came after %lld "
	    "ms, not 50", (long long)dt);
	/* The answer comes too late. */
	text_result(&res, "pong");
	answer(&m, &a, &res, NULL);
	expect_silence(1);
	ck_assert_uint_eq(stats().by_code[PEER_DEADLINE_EXCEEDED], 1);
	ck_assert_uint_eq(stats().by_code[PEER_OK], 0);
	/* It took its 50 ms or more: in a bucket from 0.05 to 0.5 s. */
	ck_assert_uint_eq(stats().latency.count, 1);
	ck_assert_uint_eq(stats().latency.bucket[8] + stats().latency.bucket[9] +
	    stats().latency.bucket[10] + stats().latency.bucket[11], 1);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_cancel)
{
	struct callmsg		 m, can, can2, f1, f2;
	struct cbor_buf		 res;

	offer_echo(&a, 1, "");
	send_echo("call", 5, NULL, 0, false);
	m = wait_msg(0);
	send_cancel(6, 5);
	expect_code(5, PEER_CANCELLED, NULL);
	ck_assert_uint_eq(stats().by_code[PEER_CANCELLED], 1);
	ck_assert_uint_eq(result_value(reply(6), "cancelled"), 1);
	ck_assert_uint_eq(count_type(CALLMSG_CANCEL), 1);
	can = *fake_route_last(route, CALLMSG_CANCEL);
	ck_assert_uint_eq(can.cid, m.cid);
	ck_assert_mem_eq(can.provider, a.pk, NODE_ID_LEN);
	ck_assert_mem_eq(can.origin, self.pk, NODE_ID_LEN);
	/* The provider's answer is dropped; the call is gone. */
	text_result(&res, "pong");
	answer(&m, &a, &res, NULL);
	expect_silence(5);
	send_cancel(7, 5);
	ck_assert_uint_eq(result_value(reply(7), "cancelled"), 0);
	send_cancel(8, 99);
	ck_assert_uint_eq(result_value(reply(8), "cancelled"), 0);
	ck_assert_uint_eq(count_type(CALLMSG_CANCEL), 1);
	/* A fan-out: every provider is told. */
	offer_echo(&b, 1, "");
	send_echo("call", 9, NULL, 0, true);
	f1 = wait_msg(2);
	f2 = wait_msg(3);
	send_cancel(10, 9);
	expect_code(9, PEER_CANCELLED, NULL);
	ck_assert_uint_eq(result_value(reply(10), "cancelled"), 1);
	ck_assert_uint_eq(count_type(CALLMSG_CANCEL), 3);
	can = *fake_route_msg(route, 4);
	can2 = *fake_route_msg(route, 5);
	ck_assert_int_eq(can2.type, CALLMSG_CANCEL);
	ck_assert_msg((can.cid == f1.cid && can2.cid == f2.cid) ||
	    (can.cid == f2.cid && can2.cid == f1.cid),
	    "the can messages are not for the fan-out's two calls");
	ck_assert_mem_ne(can.provider, can2.provider, NODE_ID_LEN);
	cbor_buf_free(&res);
}
END_TEST

/* Whether fd has bytes to read. */
static bool
readable(void *arg)
{
	int	n = 0;

	return ioctl(*(int *)arg, FIONREAD, &n) == 0 && n > 0;
}

static bool
two_cancels(void *arg)
{
	(void)arg;
	return count_type(CALLMSG_CANCEL) == 2;
}

/* Appends a request to buf: service echo to node to, or a cancel. */
static void
frame_request(struct cbor_buf *buf, const char *op, uint64_t id,
    const char *to)
{
	size_t	start = ctl_frame_begin(buf);

	if (to == NULL) {
		ctl_put_request(buf, op, id, 1);
		cbor_put_text(buf, "call");
		cbor_put_uint(buf, 99);
	} else {
		ctl_put_request(buf, op, id, 3);
		cbor_put_text(buf, "service");
		cbor_put_text(buf, "echo");
		cbor_put_text(buf, "method");
		cbor_put_text(buf, "say");
		cbor_put_text(buf, "to");
		cbor_put_text(buf, to);
	}
	ck_assert_int_eq(ctl_frame_end(buf, start, 1 << 20), 0);
}

START_TEST(test_client_gone_cancels_its_calls)
{
	struct sockaddr_un	 sun;
	struct cbor_buf		 buf = { 0 };
	struct callmsg		 ma, mb;
	size_t			 i;
	int			 fd;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	/* Two calls, then a request answered at once and never read. */
	frame_request(&buf, "call", 1, "a");
	frame_request(&buf, "call", 2, "b");
	frame_request(&buf, "cancel", 3, NULL);
	ck_assert_int_eq(write(fd, buf.data, buf.len), (ssize_t)buf.len);
	cbor_buf_free(&buf);
	ma = wait_msg(0);
	mb = wait_msg(1);
	ck_assert(loop_until(base, readable, &fd, WAIT_MS));
	/* Closed with a reply unread: the daemon sees a reset. */
	close(fd);
	ck_assert_msg(loop_until(base, two_cancels, NULL, WAIT_MS),
	    "%zu can messages, not 2", count_type(CALLMSG_CANCEL));
	for (i = 2; i < 4; i++) {
		const struct callmsg	*m = fake_route_msg(route, i);

		ck_assert_int_eq(m->type, CALLMSG_CANCEL);
		if (m->cid == ma.cid)
			ck_assert_mem_eq(m->provider, a.pk, NODE_ID_LEN);
		else {
			ck_assert_uint_eq(m->cid, mb.cid);
			ck_assert_mem_eq(m->provider, b.pk, NODE_ID_LEN);
		}
	}
	ck_assert_uint_ne(fake_route_msg(route, 2)->cid,
	    fake_route_msg(route, 3)->cid);
}
END_TEST

START_TEST(test_provider_death_fails_its_calls)
{
	struct cbor_buf	 res;
	struct callmsg	 mb;
	struct record	 r;
	int64_t		 now = clock_ms();

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	text_result(&res, "pong");
	ck_assert_str_eq(chosen(1, "a"), "a");
	ck_assert_str_eq(chosen(2, "b"), "b");
	mb = *fake_route_msg(route, 1);
	/* Suspect is not dead: the call waits on. */
	ck_assert(members_suspect(members, a.pk, 1, now, now + 60000));
	calls_member(calls, members_get(members, a.pk));
	expect_silence(1);
	ck_assert(members_dead(members, a.pk, 1, now));
	calls_member(calls, members_get(members, a.pk));
	expect_code(1, PEER_UNAVAILABLE, "died");
	/* b's call is untouched by a's death. */
	expect_silence(2);
	answer(&mb, &b, &res, NULL);
	expect_result(reply(2), &res);
	/* Left, and forgotten. */
	ck_assert_str_eq(chosen(3, "b"), "b");
	ck_assert_str_eq(chosen(4, "c"), "c");
	tnode_record(&b, 2, &r);
	r.left = true;
	calls_member(calls, tnode_offer(members, &b, &r));
	expect_code(3, PEER_UNAVAILABLE, "left");
	expect_silence(4);
	calls_forget(calls, c.pk);
	expect_code(4, PEER_UNAVAILABLE, NULL);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_full_link)
{
	offer_echo(&a, 1, "");
	fake_route_result(route, ROUTE_FULL);
	send_echo("call", 1, NULL, 0, false);
	expect_code(1, PEER_RESOURCE_EXHAUSTED, "full");
}
END_TEST

START_TEST(test_no_path_waits_for_a_dial)
{
	struct cbor_buf		 res;
	struct callmsg		 m1, m2;
	struct fake_dial	*d;
	struct member		*ma;

	ma = offer_echo(&a, 1, "");
	fake_route_result(route, ROUTE_NO_PATH);
	send_echo("call", 1, NULL, 1000, false);
	send_echo("call", 2, NULL, 1000, false);
	wait_dials(1);
	d = fake_mesh_dial(mesh, 0);
	ck_assert(d->for_calls);
	ck_assert(d->has_id);
	ck_assert_mem_eq(d->id, a.pk, NODE_ID_LEN);
	ck_assert_str_eq(d->addr, ma->rec.addrs[0]);
	/* Held, both on the one dial. */
	expect_silence(1);
	expect_silence(2);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_uint_eq(fake_route_count(route), 0);
	/* The link is up: both go, with what is left of their time. */
	link_to(&a, 500);
	fake_route_result(route, ROUTE_SENT);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_LINKED);
	m1 = wait_msg(0);
	m2 = wait_msg(1);
	ck_assert_mem_eq(m1.provider, a.pk, NODE_ID_LEN);
	ck_assert_mem_eq(m2.provider, a.pk, NODE_ID_LEN);
	ck_assert_msg(m1.timeout_ms > 0 && m1.timeout_ms <= 1000 - QUIET_MS,
	    "sent with %llu ms left", (unsigned long long)m1.timeout_ms);
	ck_assert_uint_eq(m1.argslen, args.len);
	ck_assert_mem_eq(m1.args, args.data, args.len);
	ck_assert_uint_ne(m1.cid, m2.cid);
	text_result(&res, "pong");
	answer(&m2, &a, &res, NULL);
	expect_result(reply(2), &res);
	answer(&m1, &a, &res, NULL);
	expect_result(reply(1), &res);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_failed_dial_unavailable)
{
	struct record	r;

	offer_echo(&a, 1, "");
	fake_route_result(route, ROUTE_NO_PATH);
	send_echo("call", 1, NULL, 1000, false);
	wait_dials(1);
	expect_silence(1);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	expect_code(1, PEER_UNAVAILABLE, "cannot reach");
	/* No address to dial: no route, at once. */
	tnode_record(&b, 1, &r);
	r.naddrs = 0;
	record_add_service(&r, "echo", "");
	tnode_offer(members, &b, &r);
	send_echo("call", 2, "b", 1000, false);
	expect_code(2, PEER_UNAVAILABLE, "no route");
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	ck_assert_uint_eq(fake_route_count(route), 0);
}
END_TEST

START_TEST(test_relayed_call_dials_in_background)
{
	struct cbor_buf		 res;
	struct callmsg		 m;
	struct fake_dial	*d;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	link_to(&b, 100);
	/* Linked: nothing to dial. */
	ck_assert_str_eq(chosen(1, "b"), "b");
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	/* Relayed: sent at once, and a is dialed for later calls. */
	ck_assert_str_eq(chosen(2, "a"), "a");
	m = *fake_route_msg(route, 1);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	d = fake_mesh_dial(mesh, 0);
	ck_assert(d->for_calls);
	ck_assert_mem_eq(d->id, a.pk, NODE_ID_LEN);
	ck_assert_str_eq(chosen(3, "a"), "a");
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	/* The dial fails: the call is not its business... */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	expect_silence(2);
	/* ...and a is not dialed again so soon. */
	ck_assert_str_eq(chosen(4, "a"), "a");
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	text_result(&res, "pong");
	answer(&m, &a, &res, NULL);
	expect_result(reply(2), &res);
	cbor_buf_free(&res);
}
END_TEST

START_TEST(test_fan_out_deadline)
{
	struct cbor_buf	 ra;
	struct ctl_error err;
	struct callmsg	 m[3], *ma = NULL, *mb = NULL;
	struct entry	 e[4];
	size_t		 i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	link_to(&a, 100);
	send_echo("call", 1, NULL, 200, true);
	for (i = 0; i < 3; i++) {
		m[i] = wait_msg(i);
		ck_assert_int_eq(m[i].type, CALLMSG_CALL);
		ck_assert_uint_eq(m[i].timeout_ms, 200);
		if (memcmp(m[i].provider, a.pk, NODE_ID_LEN) == 0)
			ma = &m[i];
		else if (memcmp(m[i].provider, b.pk, NODE_ID_LEN) == 0)
			mb = &m[i];
		else
			ck_assert_mem_eq(m[i].provider, c.pk, NODE_ID_LEN);
	}
	ck_assert_msg(ma != NULL && mb != NULL, "not one call per provider");
	ck_assert_uint_ne(m[0].cid, m[1].cid);
	ck_assert_uint_ne(m[1].cid, m[2].cid);
	ck_assert_uint_ne(m[0].cid, m[2].cid);
	text_result(&ra, "from a");
	memset(&err, 0, sizeof(err));
	err.code = PEER_UNIMPLEMENTED;
	err.msg = "no say";
	err.msglen = 6;
	answer(ma, &a, &ra, NULL);
	answer(mb, &b, NULL, &err);
	/* c has not answered: the reply waits for the deadline. */
	expect_silence(1);
	ck_assert_uint_eq(fan_entries(reply(1), e, 4), 3);
	expect_entry(&e[0], &a, PEER_OK, &ra);
	expect_entry(&e[1], &b, PEER_UNIMPLEMENTED, NULL);
	ck_assert_str_eq(e[1].msg, "no say");
	expect_entry(&e[2], &c, PEER_DEADLINE_EXCEEDED, NULL);
	cbor_buf_free(&ra);
}
END_TEST

/* The node of an "answer" message for call request id, into node. */
static void
expect_answer(uint64_t id, const struct tnode *from, const char *key)
{
	const struct ctl_msg	*m = client_message(cl, base, "answer",
				    WAIT_MS);
	const struct cbor_field	*v;
	struct cbor_field	 f[4];
	const char		*s;
	size_t			 n;
	int			 nf;

	ck_assert_msg(m != NULL, "no answer message from %s", from->name);
	ck_assert_uint_eq(msg_uint(m, "call"), id);
	ck_assert((v = ctl_msg_get(m, "answer")) != NULL);
	ck_assert((nf = cbor_scan_map(v->val, v->vallen, f, 4)) == 3);
	ck_assert((v = cbor_field_get(f, nf, "node")) != NULL);
	ck_assert(cbor_read_text(v->val, v->vallen, &s, &n));
	ck_assert_msg(n == strlen(from->idstr) &&
	    memcmp(s, from->idstr, n) == 0, "answer not from %s", from->name);
	ck_assert_msg(cbor_field_get(f, nf, key) != NULL, "the answer from %s "
	    "has no %s", from->name, key);
}

/* With progress, each answer comes as it is known, then a count. */
START_TEST(test_fan_out_progress)
{
	static const uint8_t	zeros[MAX_MESSAGE + 1];
	struct cbor_buf	*req, ra, big;
	struct callmsg	 m[2], *ma, *mb;
	size_t		 i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	req = client_begin(cl, "call", 1, 4);
	cbor_put_text(req, "service");
	cbor_put_text(req, "echo");
	cbor_put_text(req, "method");
	cbor_put_text(req, "say");
	cbor_put_text(req, "all");
	cbor_put_bool(req, true);
	cbor_put_text(req, "progress");
	cbor_put_bool(req, true);
	client_send(cl);
	for (i = 0; i < 2; i++)
		m[i] = wait_msg(i);
	ma = memcmp(m[0].provider, a.pk, NODE_ID_LEN) == 0 ? &m[0] : &m[1];
	mb = ma == &m[0] ? &m[1] : &m[0];
	/* Larger than max_message: it could not fit a frame with its wrapping. */
	memset(&big, 0, sizeof(big));
	cbor_put_bytes(&big, zeros, sizeof(zeros));
	answer(mb, &b, &big, NULL);
	expect_answer(1, &b, "error");
	/* a has not answered: no reply yet. */
	expect_silence(1);
	text_result(&ra, "from a");
	answer(ma, &a, &ra, NULL);
	expect_answer(1, &a, "result");
	ck_assert_uint_eq(result_value(reply(1), "answers"), 2);
	cbor_buf_free(&ra);
	cbor_buf_free(&big);
}
END_TEST

START_TEST(test_fan_out_ends_with_the_last_answer)
{
	struct cbor_buf	 rc, ra;
	struct callmsg	 m[3], *ma = NULL, *mc = NULL;
	struct entry	 e[4];
	size_t		 i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	send_echo("call", 1, NULL, 0, true);
	for (i = 0; i < 3; i++) {
		m[i] = wait_msg(i);
		if (memcmp(m[i].provider, a.pk, NODE_ID_LEN) == 0)
			ma = &m[i];
		else if (memcmp(m[i].provider, c.pk, NODE_ID_LEN) == 0)
			mc = &m[i];
	}
	ck_assert_msg(ma != NULL && mc != NULL, "not one call per provider");
	text_result(&rc, "from c");
	text_result(&ra, "from a");
	/* In the order the answers come; b dies meanwhile. */
	answer(mc, &c, &rc, NULL);
	answer(ma, &a, &ra, NULL);
	expect_silence(1);
	ck_assert(members_dead(members, b.pk, 1, clock_ms()));
	calls_member(calls, members_get(members, b.pk));
	ck_assert_uint_eq(fan_entries(reply(1), e, 4), 3);
	expect_entry(&e[0], &c, PEER_OK, &rc);
	expect_entry(&e[1], &a, PEER_OK, &ra);
	expect_entry(&e[2], &b, PEER_UNAVAILABLE, NULL);
	cbor_buf_free(&rc);
	cbor_buf_free(&ra);
}
END_TEST

START_TEST(test_notify)
{
	struct callmsg	m;
	size_t		i;

	offer_echo(&a, 1, "");
	offer_echo(&b, 1, "");
	offer_echo(&c, 1, "");
	link_to(&b, 100);
	send_echo("notify", 1, NULL, 50, false);
	ck_assert_uint_eq(result_value(reply(1), "sent"), 1);
	ck_assert_uint_eq(fake_route_count(route), 1);
	m = *fake_route_msg(route, 0);
	ck_assert_int_eq(m.type, CALLMSG_CALL);
	ck_assert(m.oneway);
	ck_assert_mem_eq(m.provider, b.pk, NODE_ID_LEN);
	ck_assert_uint_eq(m.timeout_ms, 50);
	ck_assert_uint_eq(m.argslen, args.len);
	ck_assert_mem_eq(m.args, args.data, args.len);
	/* Nothing waits: no deadline comes, past the timeout. */
	ck_assert(client_reply(cl, base, 1, 100) == NULL);
	send_echo("notify", 2, NULL, 0, true);
	ck_assert_uint_eq(result_value(reply(2), "sent"), 3);
	ck_assert_uint_eq(fake_route_count(route), 4);
	for (i = 1; i < 4; i++)
		ck_assert(fake_route_msg(route, i)->oneway);
	/* Reaching nobody is an error, and starts no wait. */
	fake_route_result(route, ROUTE_NO_PATH);
	send_echo("notify", 3, "b", 0, false);
	expect_code(3, PEER_UNAVAILABLE, "no route");
	expect_silence(3);
}
END_TEST

START_TEST(test_root_passes_call_rules)
{
	struct access_rule	*r;
	char			 err[256];

	ck_assert_ptr_nonnull(r = access_rule_parse("echo call=none",
	    "t.conf", 1, err, sizeof(err)));
	ck_assert_int_eq(access_add(rules, r), 0);
	offer_echo(&a, 1, "");
	link_to(&a, 1000);
	ck_assert_str_eq(chosen(1, NULL), "a");
	send_echo("notify", 2, NULL, 0, true);
	expect_code(2, PEER_OK, NULL);
	ck_assert_uint_eq(access_denied(rules), 0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("call");
	TCase	*tc = tcase_create("call");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_this_node_first);
	tcase_add_test(tc, test_lowest_round_trip_wins);
	tcase_add_test(tc, test_near_equals_take_turns);
	tcase_add_test(tc, test_suspect_after_any_alive);
	tcase_add_test(tc, test_dead_or_left_never_chosen);
	tcase_add_test(tc, test_to_group);
	tcase_add_test(tc, test_to_node_name_or_id_prefix);
	tcase_add_test(tc, test_to_tag);
	tcase_add_test(tc, test_to_order);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_call_message);
	tcase_add_test(tc, test_call_numbers_unpredictable);
	tcase_add_test(tc, test_answer_result);
	tcase_add_test(tc, test_answer_error_keeps_context);
	tcase_add_test(tc, test_answer_from_another_node_or_late_dropped);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_client_gone_cancels_its_calls);
	tcase_add_test(tc, test_provider_death_fails_its_calls);
	tcase_add_test(tc, test_full_link);
	tcase_add_test(tc, test_no_path_waits_for_a_dial);
	tcase_add_test(tc, test_failed_dial_unavailable);
	tcase_add_test(tc, test_relayed_call_dials_in_background);
	tcase_add_test(tc, test_fan_out_deadline);
	tcase_add_test(tc, test_fan_out_progress);
	tcase_add_test(tc, test_fan_out_ends_with_the_last_answer);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_root_passes_call_rules);
	suite_add_tcase(s, tc);
	return s;
}
