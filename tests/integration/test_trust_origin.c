/* SPDX-License-Identifier: ISC */
/*
 * test_trust_origin.c: end-to-end origin authentication against a rogue
 * member (doc/trust-design.md, sections 1 and 6.1).  The rogue is the
 * only path between daemons a and b: each has one link, to it, and
 * call_dial = no keeps them from dialing each other for calls.  It
 * relays what they send each other as a relay must (call messages
 * decoded and sent on with one hop less, the rest as they came), and
 * forges and replays calls, answers, events and key-value writes of its
 * own.  Each forgery must be dropped where it arrives, and counted, and
 * the genuine traffic must go on as if it had not been sent.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base32.h"
#include "cbor_buf.h"
#include "cbor_scan.h"
#include "harness.h"
#include "peer.h"
#include "rogue.h"
#include "suites.h"

#define DROPS		"peerd_origin_auth_dropped_total"
#define SERVED		"peerd_served_calls_total"
#define WAIT_MS		10000		/* for what must happen */
#define SLEEP_MS	300		/* b's answer waits this long */
#define CAPTURE_MAX	8
#define RESULT_MAX	512
#define EVENTS_MAX	16
#define AHEAD		(UINT64_C(1) << 39)	/* a forged event's lead */

enum { A, B };

struct capture {
	uint8_t		*msg;		/* as the link carried it */
	size_t		 len;
	uint64_t	 cid;
};

/*
 * The rogue in the middle.  tap sees each call message it carries,
 * already one hop less, and may change it; false drops it.  Messages
 * for the rogue itself go to tap only.
 */
struct relay {
	struct rogue	 side[2];	/* its links to a and to b */
	struct peer	*peers[2];	/* a's and b's clients, kept going */
	bool		(*tap)(int from, struct callmsg *, const uint8_t *msg,
			    size_t len);
};

static struct daemon	 d[2];
static char		 ids[2][64], rogue_id[NODE_ID_STRLEN];
static uint8_t		 netkey[32];
static struct relay	 rl;
static pid_t		 echo = -1;

/* What the taps of a test keep. */
static struct capture	 captured[CAPTURE_MAX];
static int		 ncaptured;
static const char	*capture_kind;	/* a kv body kind, or NULL: calls */
static uint64_t		 seen_cid;	/* of the last call a made to b */
static bool		 seen_call;
static int		 answers_to_a;	/* from b, for forged_cids */
static uint64_t		 forged_cids[4];
static int		 nforged;
static bool		 alter_answers;	/* send a changed copy first */
static struct callmsg	 mine;		/* the last message for the rogue */
static uint8_t		 mine_result[RESULT_MAX];
static bool		 got_mine;

static bool
is_callmsg(const char *type)
{
	return strcmp(type, "call") == 0 || strcmp(type, "ans") == 0 ||
	    strcmp(type, "can") == 0 || strcmp(type, "ev") == 0 ||
	    strcmp(type, "kv") == 0;
}

/* Carries one message that came from side from to the other side. */
static void
relay_carry(int from, const struct linkmsg *m, const uint8_t *msg, size_t len)
{
	struct cbor_buf	 cb = { 0 };
	struct callmsg	 cm;
	const char	*why = NULL;

	if (!is_callmsg(m->type)) {
		/* Its own links' business stays on them. */
		if (strcmp(m->type, "ping") == 0 ||
		    strcmp(m->type, "pong") == 0 || strcmp(m->type, "bye") == 0)
			return;
		rogue_send_bytes(&rl.side[!from], msg, len);
		return;
	}
	ck_assert_msg(callmsg_decode(m->type, m->f, m->nf, &cm, &why) == 0,
	    "%s: %s", m->type, why);
	if (memcmp(callmsg_dest(&cm), rl.side[A].pk, NODE_ID_LEN) == 0) {
		if (rl.tap != NULL)
			(void)rl.tap(from, &cm, msg, len);
		return;
	}
	if (cm.hops == 0)
		return;
	cm.hops--;
	if (rl.tap != NULL && !rl.tap(from, &cm, msg, len))
		return;
	callmsg_encode(&cb, &cm);
	rogue_send_msg(&rl.side[!from], &cb);
	cbor_buf_free(&cb);
}

static bool
readable(int fd)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) == 1;
}

/* Relays what came within ms, and runs the clients. */
static void
relay_step(int ms)
{
	struct pollfd		 pfd[4];
	struct peer_error	 err;
	struct linkmsg		 m;
	const uint8_t		*msg;
	size_t			 len;
	int			 i, n;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = rl.side[i].fd;
		pfd[i].events = POLLIN;
		pfd[2 + i].fd = peer_fd(rl.peers[i]);
		pfd[2 + i].events = POLLIN;
		if (rogue_pending(&rl.side[i]))
			ms = 0;
	}
	(void)poll(pfd, 4, ms);
	for (i = 0; i < 2; i++)
		for (n = 0; n < 256 && (rogue_pending(&rl.side[i]) ||
		    readable(rl.side[i].fd)); n++) {
			ck_assert_msg(rogue_next_msg(&rl.side[i], 2000, &m,
			    &msg, &len), "%s closed its link to the rogue",
			    i == A ? "a" : "b");
			relay_carry(i, &m, msg, len);
		}
	for (i = 0; i < 2; i++)
		ck_assert_msg(peer_dispatch(rl.peers[i], &err) == 0, "%s: %s",
		    i == A ? "a" : "b", err.message);
}

/* A condition: the bool at arg is set. */
static bool
flag_set(void *arg)
{
	return *(bool *)arg;
}

/* Relays until cond holds or ms pass; whether it held. */
static bool
relay_until(bool (*cond)(void *), void *arg, int ms)
{
	long	deadline = test_now_ms() + ms;

	while (!cond(arg)) {
		if (test_now_ms() > deadline)
			return false;
		relay_step(20);
	}
	return true;
}

/* Relays for ms, for what must not happen to have the time to. */
static void
relay_for(int ms)
{
	long	deadline = test_now_ms() + ms;

	while (test_now_ms() < deadline)
		relay_step(10);
}

/* The sum of family's samples in peerctl stats of dm; -1 if none. */
static double
stat_sum(const struct daemon *dm, const char *family)
{
	json_t	*j, *f, *s;
	double	 sum = 0;
	size_t	 i;
	int	 status;

	ck_assert_ptr_nonnull(j = peerctl_json(dm, &status, "stats", NULL));
	if ((f = json_object_get(j, family)) == NULL) {
		json_decref(j);
		return -1;
	}
	json_array_foreach(json_object_get(f, "samples"), i, s)
		sum += json_number_value(json_object_get(s, "value"));
	json_decref(j);
	return sum;
}

static double
drops(const struct daemon *dm)
{
	double	n = stat_sum(dm, DROPS);

	ck_assert_msg(n >= 0, "no %s in peerctl stats", DROPS);
	return n;
}

struct drop_wait {
	const struct daemon	*at;
	double			 want;
};

static bool
dropped(void *arg)
{
	struct drop_wait	*w = arg;

	return drops(w->at) >= w->want;
}

/* Relays until at has dropped n more messages than before. */
static void
wait_drops(const struct daemon *at, double before, int n)
{
	struct drop_wait	w = { at, before + n };

	ck_assert_msg(relay_until(dropped, &w, WAIT_MS), "%s dropped %g "
	    "messages, not %d", at == &d[A] ? "a" : "b", drops(at) - before,
	    n);
}

static bool
meshed(void *arg)
{
	char	*sa, *sb;
	bool	 ok;

	(void)arg;
	sa = member_state(&d[A], "b", NULL);
	sb = member_state(&d[B], "a", NULL);
	ok = sa != NULL && sb != NULL && strcmp(sa, "alive") == 0 &&
	    strcmp(sb, "alive") == 0 &&
	    count_listed(&d[A], "services", "services", "service", "echo") == 1;
	free(sa);
	free(sb);
	return ok;
}

static void
setup(void)
{
	static const char	*names[2] = { "a", "b" };
	struct record		 rec;
	int			 i;

	randombytes_buf(netkey, sizeof(netkey));
	for (i = 0; i < 2; i++) {
		daemon_init(&d[i]);
		daemon_set_network_key(&d[i], netkey);
		/*
		 * One link each, and no dials for calls: the rogue is the
		 * path.  The rogue answers pings only while it relays, not
		 * while the test waits for peerctl: probes wait long.
		 */
		daemon_config(&d[i], "degree_min = 1\ndegree_max = 1\n"
		    "call_dial = no\nping_interval = 5s\ndead_after = 30s\n"
		    "probe_timeout = 10s\n"
		    "group = store\nkv_group = store\nkv_replicas = 1\n");
		daemon_start(&d[i], names[i], NULL);
		daemon_id(&d[i], ids[i]);
	}
	memset(&rl, 0, sizeof(rl));
	rogue_connect(&rl.side[A], daemon_port(&d[A]), netkey, NULL, 0);
	rogue_connect(&rl.side[B], daemon_port(&d[B]), netkey, rl.side[A].sk,
	    0);
	base32_encode(rl.side[A].pk, NODE_ID_LEN, rogue_id);
	/* A member with no address, in no group: it holds no keys. */
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, rl.side[A].pk, sizeof(rec.id));
	snprintf(rec.name, sizeof(rec.name), "rogue");
	rec.incarnation = 1;
	rec.started_at = (uint64_t)time(NULL);
	rogue_record(&rl.side[A], &rec, NULL);
	rogue_record(&rl.side[B], &rec, NULL);
	rl.peers[A] = daemon_peer(&d[A]);
	rl.peers[B] = daemon_peer(&d[B]);
	echo = echo_start(&d[B], "echo", NULL);
	ck_assert_msg(relay_until(meshed, NULL, WAIT_MS), "a and b never "
	    "met through the rogue");

	ncaptured = 0;
	capture_kind = NULL;
	seen_call = false;
	answers_to_a = 0;
	nforged = 0;
	alter_answers = false;
	got_mine = false;
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < ncaptured; i++)
		free(captured[i].msg);
	for (i = 0; i < 2; i++) {
		peer_close(rl.peers[i]);
		rogue_close(&rl.side[i]);
	}
	if (echo != -1)
		ck_assert(echo_stop(echo, SIGTERM));
	echo = -1;
	daemons_free(d, 2);
}

/* A call's outcome at a's client. */
struct result {
	bool		done;
	enum peer_code	code;
	uint8_t		buf[RESULT_MAX];
	size_t		len;
};

static void
on_result(struct peer *p, const struct peer_reply *rep, void *arg)
{
	struct result	*r = arg;

	(void)p;
	r->done = true;
	r->code = rep->error != NULL ? rep->error->code : PEER_OK;
	if (rep->error == NULL) {
		ck_assert_uint_le(rep->result_len, sizeof(r->buf));
		memcpy(r->buf, rep->result, rep->result_len);
		r->len = rep->result_len;
	}
}

/* Starts echo.method at b from a's client. */
static void
call_start(const char *method, const uint8_t *args, size_t argslen,
    struct result *res)
{
	struct peer_call_opts	opts = { NULL, false, 5000 };
	struct peer_error	err;

	memset(res, 0, sizeof(*res));
	ck_assert_msg(peer_call(rl.peers[A], "echo", method, args, argslen,
	    &opts, on_result, res, NULL, &err) == 0, "%s", err.message);
}

/* Waits for the call's outcome, which must be the result want. */
static void
call_expect(struct result *res, const uint8_t *want, size_t wantlen)
{
	ck_assert_msg(relay_until(flag_set, &res->done, WAIT_MS), "no answer");
	ck_assert_msg(res->code == PEER_OK, "failed: %s",
	    peer_code_name(res->code));
	ck_assert_msg(res->len == wantlen && memcmp(res->buf, want,
	    wantlen) == 0, "not the result expected (%zu bytes for %zu)",
	    res->len, wantlen);
}

/* What echo.caller answers a call from node id. */
static void
caller_result(struct cbor_buf *b, const char *id)
{
	cbor_put_map(b, 2);
	cbor_put_text(b, "from");
	cbor_put_text(b, id);
	cbor_put_text(b, "verified");
	cbor_put_bool(b, true);
}

/* Keeps a copy of a message as the link carried it. */
static void
capture(const uint8_t *msg, size_t len, uint64_t cid)
{
	ck_assert_int_lt(ncaptured, CAPTURE_MAX);
	ck_assert_ptr_nonnull(captured[ncaptured].msg = malloc(len));
	memcpy(captured[ncaptured].msg, msg, len);
	captured[ncaptured].len = len;
	captured[ncaptured++].cid = cid;
}

/* The node ID of daemon i, as bytes. */
static void
node_id(int i, uint8_t id[NODE_ID_LEN])
{
	ck_assert(base32_decode(ids[i], id, NODE_ID_LEN));
}

/* A call of echo.caller at b from origin, with a number of its own. */
static void
forged_call(struct callmsg *m, const uint8_t *origin)
{
	memset(m, 0, sizeof(*m));
	m->type = CALLMSG_CALL;
	memcpy(m->origin, origin, NODE_ID_LEN);
	node_id(B, m->provider);
	randombytes_buf(&m->cid, sizeof(m->cid));
	m->cid |= 1;		/* not 0, a one-way call's */
	m->hops = CALLMSG_HOPS;
	snprintf(m->service, sizeof(m->service), "echo");
	snprintf(m->method, sizeof(m->method), "caller");
	m->timeout_ms = 5000;
}

static bool
tap_calls(int from, struct callmsg *m, const uint8_t *msg, size_t len)
{
	int	i;

	if (memcmp(callmsg_dest(m), rl.side[A].pk, NODE_ID_LEN) == 0) {
		mine = *m;
		if (m->result != NULL && m->resultlen <= sizeof(mine_result)) {
			memcpy(mine_result, m->result, m->resultlen);
			mine.result = mine_result;
		} else
			mine.result = NULL;
		got_mine = true;
		return false;
	}
	if (from == A && m->type == CALLMSG_CALL) {
		seen_call = true;
		seen_cid = m->cid;
		if (ncaptured < CAPTURE_MAX)
			capture(msg, len, m->cid);
	}
	if (from == B && m->type == CALLMSG_ANSWER)
		for (i = 0; i < nforged; i++)
			if (m->cid == forged_cids[i])
				answers_to_a++;
	return true;
}

static bool
got_answer(void *arg)
{
	(void)arg;
	return got_mine;
}

/*
 * The rogue calls b's echo as a: without a MAC, with a MAC under a key
 * of its own, and as a replay of a's genuine call that it carried.  b's
 * app never hears of them (b serves no more calls than a's genuine
 * ones, and answers none of the forged), each is counted dropped, and
 * a's calls go on.  A call the rogue makes as itself is served, and
 * the app sees the rogue as its caller, verified.
 */
START_TEST(test_forged_origin_call)
{
	struct cbor_buf	 want = { 0 }, wrogue = { 0 };
	struct callmsg	 m;
	struct result	 res;
	uint8_t		 a_id[NODE_ID_LEN];
	double		 served0, drops0;

	rl.tap = tap_calls;
	node_id(A, a_id);
	caller_result(&want, ids[A]);
	/* A genuine call, relayed, so MACed. */
	call_start("caller", NULL, 0, &res);
	call_expect(&res, want.data, want.len);
	ck_assert_int_eq(ncaptured, 1);
	served0 = stat_sum(&d[B], SERVED);
	drops0 = drops(&d[B]);

	/* No MAC. */
	forged_call(&m, a_id);
	forged_cids[nforged++] = m.cid;
	rogue_callmsg(&rl.side[B], &m);
	/* A MAC under a key the rogue made up. */
	forged_call(&m, a_id);
	forged_cids[nforged++] = m.cid;
	m.seq = (uint64_t)time(NULL) * 1000000 + 1000000000;
	randombytes_buf(m.mac, sizeof(m.mac));
	m.has_mac = true;
	rogue_callmsg(&rl.side[B], &m);
	/* The genuine call again, byte for byte. */
	forged_cids[nforged++] = captured[0].cid;
	rogue_send_bytes(&rl.side[B], captured[0].msg, captured[0].len);
	wait_drops(&d[B], drops0, 3);

	/*
	 * a's next call comes after them on the same link: by its answer,
	 * any answer to theirs would have passed the rogue.
	 */
	call_start("caller", NULL, 0, &res);
	call_expect(&res, want.data, want.len);
	ck_assert_int_eq(answers_to_a, 0);
	ck_assert_msg(stat_sum(&d[B], SERVED) == served0 + 1, "b served %g "
	    "calls, a made 1", stat_sum(&d[B], SERVED) - served0);

	/* As itself, on its own link to b: that is who the app sees. */
	forged_call(&m, rl.side[A].pk);
	rogue_callmsg(&rl.side[B], &m);
	ck_assert_msg(relay_until(got_answer, NULL, WAIT_MS), "the rogue's "
	    "own call was not answered");
	caller_result(&wrogue, rogue_id);
	ck_assert_int_eq(mine.type, CALLMSG_ANSWER);
	ck_assert_uint_eq(mine.cid, m.cid);
	ck_assert_ptr_nonnull(mine.result);
	ck_assert_uint_eq(mine.resultlen, wrogue.len);
	ck_assert_mem_eq(mine.result, wrogue.data, wrogue.len);
	cbor_buf_free(&want);
	cbor_buf_free(&wrogue);
}
END_TEST

/* An answer from b to a, made by the rogue. */
static void
forged_answer(struct callmsg *m, uint64_t cid, const uint8_t *result,
    size_t len)
{
	memset(m, 0, sizeof(*m));
	m->type = CALLMSG_ANSWER;
	node_id(A, m->origin);
	node_id(B, m->provider);
	m->cid = cid;
	m->hops = CALLMSG_HOPS - 1;
	m->result = result;
	m->resultlen = len;
}

/* The CBOR text "forged". */
static const uint8_t	FORGED[] = { 0x66, 'f', 'o', 'r', 'g', 'e', 'd' };

static bool
tap_answers(int from, struct callmsg *m, const uint8_t *msg, size_t len)
{
	struct callmsg	altered;

	(void)msg; (void)len;
	if (from == A && m->type == CALLMSG_CALL) {
		seen_call = true;
		seen_cid = m->cid;
	}
	/* b's genuine answer, its MAC kept, its result not: first. */
	if (alter_answers && from == B && m->type == CALLMSG_ANSWER &&
	    m->result != NULL) {
		altered = *m;
		altered.result = FORGED;
		altered.resultlen = sizeof(FORGED);
		rogue_callmsg(&rl.side[A], &altered);
	}
	return true;
}

static bool
call_seen(void *arg)
{
	(void)arg;
	return seen_call;
}

/*
 * The rogue carries a's calls to b and their answers back.  It answers
 * a call it saw before b does, with another result, without a MAC and
 * with one of its own, and answers the number after it too; then it
 * changes b's genuine answer on the way, keeping its MAC, and sends the
 * changed copy ahead of it.  a's client gets b's results only.
 */
START_TEST(test_forged_answer)
{
	struct callmsg	 m;
	struct result	 res;
	struct cbor_buf	 ms = { 0 }, real = { 0 };
	double		 drops0 = drops(&d[A]);

	rl.tap = tap_answers;
	cbor_put_uint(&ms, SLEEP_MS);
	call_start("sleep", ms.data, ms.len, &res);
	ck_assert_msg(relay_until(call_seen, NULL, WAIT_MS), "a's call never "
	    "reached the rogue");
	forged_answer(&m, seen_cid, FORGED, sizeof(FORGED));
	rogue_callmsg(&rl.side[A], &m);
	m.seq = (uint64_t)time(NULL) * 1000000 + 1000000000;
	randombytes_buf(m.mac, sizeof(m.mac));
	m.has_mac = true;
	rogue_callmsg(&rl.side[A], &m);
	forged_answer(&m, seen_cid + 1, FORGED, sizeof(FORGED));
	rogue_callmsg(&rl.side[A], &m);
	/* b's answer: null, after it slept. */
	call_expect(&res, (const uint8_t[]){ 0xf6 }, 1);

	alter_answers = true;
	cbor_put_text(&real, "real");
	call_start("echo", real.data, real.len, &res);
	call_expect(&res, real.data, real.len);
	wait_drops(&d[A], drops0, 4);
	cbor_buf_free(&ms);
	cbor_buf_free(&real);
}
END_TEST

/* What a's subscriber got. */
static uint64_t	events[EVENTS_MAX];
static int	nevents;
static bool	event_forged;

static void
on_event(struct peer *p, const struct peer_event *ev, void *arg)
{
	(void)p; (void)arg;
	if (ev->data_len == sizeof(FORGED) &&
	    memcmp(ev->data, FORGED, sizeof(FORGED)) == 0)
		event_forged = true;
	if (nevents < EVENTS_MAX)
		events[nevents++] = ev->seq;
}

static bool
events_n(void *arg)
{
	return nevents >= *(int *)arg;
}

static bool
subscribed(void *arg)
{
	(void)arg;
	return count_listed(&d[B], "topics", "topics", "topic", "news") == 1;
}

struct published {
	bool		done;
	uint64_t	seq;
};

static void
on_published(struct peer *p, const struct peer_reply *rep, void *arg)
{
	struct published	*pb = arg;
	struct cbor_field	 f[4];
	const struct cbor_field	*s;
	int			 n;

	(void)p;
	ck_assert_ptr_null(rep->error);
	ck_assert_int_gt(n = cbor_scan_map(rep->result, rep->result_len, f,
	    4), 0);
	ck_assert_ptr_nonnull(s = cbor_field_get(f, n, "seq"));
	ck_assert(cbor_read_uint(s->val, s->vallen, &pb->seq));
	pb->done = true;
}

/* b's client publishes on news: the event's number. */
static uint64_t
publish(void)
{
	struct published	pb = { false, 0 };
	struct peer_error	err;

	ck_assert_msg(peer_publish(rl.peers[B], "news", (const uint8_t[]){
	    0x01 }, 1, on_published, &pb, &err) == 0, "%s", err.message);
	ck_assert_msg(relay_until(flag_set, &pb.done, WAIT_MS), "publish "
	    "never answered");
	return pb.seq;
}

/*
 * The rogue sends a an event in b's name, numbered far ahead of b's,
 * without a MAC and with one of its own.  a drops both, and b's next
 * genuine event still reaches a's subscriber, which would wait for b's
 * numbers to pass the forged one if a had taken it.
 */
START_TEST(test_forged_event)
{
	struct peer_error	err;
	struct callmsg		m;
	uint64_t		s1, s2;
	double			drops0;
	int			want;

	nevents = 0;
	event_forged = false;
	ck_assert_msg(peer_subscribe(rl.peers[A], "news", on_event, NULL,
	    &err) == 0, "%s", err.message);
	ck_assert_msg(relay_until(subscribed, NULL, WAIT_MS), "b never saw "
	    "a subscribe");
	s1 = publish();
	want = 1;
	ck_assert_msg(relay_until(events_n, &want, WAIT_MS), "b's first "
	    "event never came");
	drops0 = drops(&d[A]);

	memset(&m, 0, sizeof(m));
	m.type = CALLMSG_EVENT;
	node_id(B, m.origin);
	node_id(A, m.provider);
	m.cid = s1 + AHEAD;
	m.hops = CALLMSG_HOPS - 1;
	snprintf(m.topic, sizeof(m.topic), "news");
	m.args = FORGED;
	m.argslen = sizeof(FORGED);
	rogue_callmsg(&rl.side[A], &m);
	m.cid++;
	m.seq = (uint64_t)time(NULL) * 1000000 + 1000000000;
	randombytes_buf(m.mac, sizeof(m.mac));
	m.has_mac = true;
	rogue_callmsg(&rl.side[A], &m);
	wait_drops(&d[A], drops0, 2);

	s2 = publish();
	want = 2;
	ck_assert_msg(relay_until(events_n, &want, WAIT_MS) && !event_forged,
	    "b's event %llu never came after the forged ones, or a forged "
	    "one came", (unsigned long long)s2);
	relay_for(100);
	ck_assert_msg(!event_forged, "a forged event reached the subscriber");
	ck_assert_int_eq(nevents, 2);
	ck_assert_uint_eq(events[0], s1);
	ck_assert_uint_eq(events[1], s2);
	ck_assert(!event_forged);
}
END_TEST

/* Whether a kv message's body is of kind. */
static bool
kv_kind(const struct callmsg *m, const char *kind)
{
	struct cbor_field	 f[16];
	const struct cbor_field	*k;
	const char		*s;
	size_t			 len;
	int			 n;

	if (m->args == NULL ||
	    (n = cbor_scan_map(m->args, m->argslen, f, 16)) < 0 ||
	    (k = cbor_field_get(f, n, "k")) == NULL ||
	    !cbor_read_text(k->val, k->vallen, &s, &len))
		return false;
	return len == strlen(kind) && memcmp(s, kind, len) == 0;
}

static int	writer;		/* the daemon whose client writes */

static bool
tap_kv(int from, struct callmsg *m, const uint8_t *msg, size_t len)
{
	if (from == writer && m->type == CALLMSG_KV &&
	    capture_kind != NULL && kv_kind(m, capture_kind) &&
	    ncaptured < CAPTURE_MAX)
		capture(msg, len, m->cid);
	return true;
}

struct kv_done {
	bool		done;
	enum peer_code	code;
	uint8_t		val[RESULT_MAX];
	size_t		len;
	bool		owner_known;	/* where: the one owner is owner */
	char		owner[NODE_ID_STRLEN];
};

static void
on_kv(struct peer *p, const struct peer_kv_result *r, void *arg)
{
	struct kv_done	*k = arg;

	(void)p;
	k->done = true;
	k->code = r->error != NULL ? r->error->code : PEER_OK;
	if (r->item != NULL && r->item->value != NULL &&
	    r->item->value_len <= sizeof(k->val)) {
		memcpy(k->val, r->item->value, r->item->value_len);
		k->len = r->item->value_len;
	}
	if (r->where != NULL && r->where->nowners == 1) {
		snprintf(k->owner, sizeof(k->owner), "%s",
		    r->where->owners[0].node);
		k->owner_known = true;
	}
}

/* Puts key = the uint v from daemon at's client. */
static void
kv_put(int at, const char *key, uint8_t v)
{
	struct kv_done		k;
	struct peer_error	err;

	memset(&k, 0, sizeof(k));
	ck_assert_msg(peer_kv_put(rl.peers[at], key, &v, 1, NULL, on_kv, &k,
	    NULL, &err) == 0, "%s", err.message);
	ck_assert_msg(relay_until(flag_set, &k.done, WAIT_MS), "put never "
	    "answered");
	ck_assert_msg(k.code == PEER_OK, "put: %s", peer_code_name(k.code));
}

/* The value of key, one byte, read by daemon at's client. */
static uint8_t
kv_get(int at, const char *key)
{
	struct kv_done		k;
	struct peer_error	err;

	memset(&k, 0, sizeof(k));
	ck_assert_msg(peer_kv_get(rl.peers[at], key, 5000, on_kv, &k, NULL,
	    &err) == 0, "%s", err.message);
	ck_assert_msg(relay_until(flag_set, &k.done, WAIT_MS), "get never "
	    "answered");
	ck_assert_msg(k.code == PEER_OK, "get: %s", peer_code_name(k.code));
	ck_assert_uint_eq(k.len, 1);
	return k.val[0];
}

/* A key of the store that daemon owner holds (kv_replicas = 1). */
static void
key_owned_by(int owner, char *key, size_t cap)
{
	struct kv_done		k;
	struct peer_error	err;
	int			i;

	for (i = 0; i < 64; i++) {
		snprintf(key, cap, "k%d", i);
		memset(&k, 0, sizeof(k));
		ck_assert_msg(peer_kv_where(rl.peers[!owner], key, 5000, on_kv,
		    &k, NULL, &err) == 0, "%s", err.message);
		ck_assert_msg(relay_until(flag_set, &k.done, WAIT_MS),
		    "where never answered");
		ck_assert_msg(k.code == PEER_OK, "where: %s",
		    peer_code_name(k.code));
		if (k.owner_known && strcmp(k.owner, ids[owner]) == 0)
			return;
	}
	ck_abort_msg("no key of k0-k63 is %s's", owner == A ? "a" : "b");
}

/*
 * The rogue keeps a's WRITE of a key b coordinates, and after a's next
 * write of it sends the first again.  b drops it, and the key keeps the
 * newer value.
 */
START_TEST(test_replay_kv_write)
{
	char	key[16];
	double	drops0;

	rl.tap = tap_kv;
	writer = A;
	key_owned_by(B, key, sizeof(key));
	capture_kind = "w";
	kv_put(A, key, 1);
	ck_assert_int_eq(ncaptured, 1);
	capture_kind = NULL;
	kv_put(A, key, 2);
	ck_assert_uint_eq(kv_get(B, key), 2);
	drops0 = drops(&d[B]);
	rogue_send_bytes(&rl.side[B], captured[0].msg, captured[0].len);
	wait_drops(&d[B], drops0, 1);
	ck_assert_uint_eq(kv_get(B, key), 2);
	ck_assert_uint_eq(kv_get(A, key), 2);
}
END_TEST

Suite *
trust_origin_suite(void)
{
	Suite	*s = suite_create("trust_origin");
	TCase	*tc = tcase_create("trust_origin");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_forged_origin_call);
	tcase_add_test(tc, test_forged_answer);
	tcase_add_test(tc, test_forged_event);
	tcase_add_test(tc, test_replay_kv_write);
	suite_add_tcase(s, tc);
	return s;
}
