/* SPDX-License-Identifier: ISC */
/*
 * test_probe.c: probe.c against a fake mesh and fake links.  The rules:
 * a round asks the node directly (a ping on its link, quiet or not,
 * else a dial with the probe's timeout, which grows with the links'
 * round trips) and, if indirect, up to three linked helpers at
 * once; any answer is alive, a refused dial is refused, silence from
 * the node and every helper is silent with the helpers that heard
 * nothing, and a round whose timer we meet late is unsure.  Others'
 * requests are answered the same way, at most 64 at once, and only
 * about nodes we can reach.
 */
#include <string.h>
#include <time.h>

#include <check.h>
#include <event2/event.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "clock.h"
#include "fake_link.h"
#include "fake_mesh.h"
#include "harness.h"
#include "linkmsg.h"
#include "probe.h"

#define TIMEOUT_MS	150	/* the probe timeout of these tests */
#define LINKS		16
/* libevent's coarse clock may fire a timer this much early by ours. */
#define CLOCK_SLACK_MS	10

/* What a round's owner heard. */
struct outcome {
	int			calls;
	uint8_t			id[NODE_ID_LEN];
	enum probe_result	res;
	uint8_t			nackers[PROBE_HELPERS][NODE_ID_LEN];
	int			nnack;
	char			why[128];
};

static struct event_base	*base;
static struct tnode		 self, x, a, b, c, d;
static struct mesh		*mesh;
static struct probe		*probe;
static const char		*address;	/* what the address op says */
static struct link		*links[LINKS];
static size_t			 nlinks;
static struct outcome		 out;

static const char *
address_of(void *arg, const uint8_t *id)
{
	(void)arg; (void)id;
	return address;
}

static const struct probe_ops ops = { address_of };

static void
heard(const uint8_t *id, enum probe_result res,
    const uint8_t (*nackers)[NODE_ID_LEN], int nnack, const char *why,
    void *arg)
{
	struct outcome	*o = arg;

	ck_assert_int_ge(nnack, 0);
	ck_assert_int_le(nnack, PROBE_HELPERS);
	o->calls++;
	memcpy(o->id, id, NODE_ID_LEN);
	o->res = res;
	memcpy(o->nackers, nackers, (size_t)nnack * NODE_ID_LEN);
	o->nnack = nnack;
	ck_assert_ptr_nonnull(why);
	snprintf(o->why, sizeof(o->why), "%s", why);
}

static bool
heard_done(void *arg)
{
	return ((const struct outcome *)arg)->calls > 0;
}

/* An up link to n, in the mesh. */
static struct link *
link_to(const struct tnode *n)
{
	struct link	*l = fake_link_new(n->pk, n->name, true);

	ck_assert_uint_lt(nlinks, LINKS);
	links[nlinks++] = l;
	fake_mesh_add(mesh, l);
	return l;
}

static void
setup(void)
{
	struct probe_params	par;

	tnode_new(&self, "self");
	tnode_new(&x, "x");
	tnode_new(&a, "a");
	tnode_new(&b, "b");
	tnode_new(&c, "c");
	tnode_new(&d, "d");
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	mesh = fake_mesh_new();
	nlinks = 0;
	address = "192.0.2.7:7654";
	memset(&out, 0, sizeof(out));
	par.self = self.pk;
	par.timeout = TIMEOUT_MS;
	probe = probe_new(base, &par, mesh, &ops, NULL);
	ck_assert_ptr_nonnull(probe);
}

/*
 * As the daemon does: the mesh goes first, ending every dial and ping
 * under way, then the probe.
 */
static void
teardown(void)
{
	size_t	i;

	for (i = 0; i < fake_mesh_ndials(mesh); i++)
		if (!fake_mesh_dial(mesh, i)->ended)
			fake_mesh_dial_end(mesh, i, MESH_DIAL_FAILED);
	for (i = 0; i < nlinks; i++)
		fake_link_end(links[i], LINK_END_HERE, "shutting down");
	probe_free(probe);
	fake_mesh_free(mesh);
	event_base_free(base);
}

/* The encoded message m arrives on l, through probe's handler. */
static void
arrive(struct link *l, const struct cbor_buf *m)
{
	ck_assert_msg(link_message_arrives(probe_handlers, probe, l, m),
	    "probe takes no such message");
}

/* A helper's answer arrives on l. */
static void
pres_from(struct link *l, uint64_t n, bool ok)
{
	struct cbor_buf	m = { 0 };

	put_pres(&m, n, ok);
	arrive(l, &m);
	cbor_buf_free(&m);
}

/* A request to probe id arrives on l. */
static void
preq_from(struct link *l, const uint8_t *id, uint64_t n, uint64_t ms)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, 4);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "preq");
	cbor_put_text(&m, "id");
	cbor_put_bytes(&m, id, NODE_ID_LEN);
	cbor_put_text(&m, "n");
	cbor_put_uint(&m, n);
	cbor_put_text(&m, "ms");
	cbor_put_uint(&m, ms);
	arrive(l, &m);
	cbor_buf_free(&m);
}

static uint64_t
field_uint(const struct linkmsg *m, const char *key)
{
	const struct cbor_field	*v;
	uint64_t		 u;

	v = cbor_field_get(m->f, m->nf, key);
	ck_assert_msg(v != NULL, "%s without %s", m->type, key);
	ck_assert(cbor_read_uint(v->val, v->vallen, &u));
	return u;
}

/* Message i on l is a preq about id; its n, and its ms in *ms. */
static uint64_t
sent_preq(const struct link *l, size_t i, const uint8_t *id, uint64_t *ms)
{
	struct linkmsg		 m;
	const struct cbor_field	*v;
	const uint8_t		*p;
	size_t			 len;

	ck_assert(fake_link_sent_msg(l, i, &m));
	ck_assert_str_eq(m.type, "preq");
	ck_assert_int_eq(m.nf, 4);
	v = cbor_field_get(m.f, m.nf, "id");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_bytes(v->val, v->vallen, &p, &len));
	ck_assert_uint_eq(len, NODE_ID_LEN);
	ck_assert_mem_eq(p, id, NODE_ID_LEN);
	*ms = field_uint(&m, "ms");
	return field_uint(&m, "n");
}

/* Message i on l is a pres; its n, and its ok in *ok. */
static uint64_t
sent_pres(const struct link *l, size_t i, bool *ok)
{
	struct linkmsg		 m;
	const struct cbor_field	*v;

	ck_assert(fake_link_sent_msg(l, i, &m));
	ck_assert_str_eq(m.type, "pres");
	ck_assert_int_eq(m.nf, 3);
	v = cbor_field_get(m.f, m.nf, "ok");
	ck_assert_ptr_nonnull(v);
	ck_assert(cbor_read_bool(v->val, v->vallen, ok));
	return field_uint(&m, "n");
}

/* Whether the outcome names n among its nackers. */
static bool
nacked(const struct tnode *n)
{
	int	i;

	for (i = 0; i < out.nnack; i++)
		if (memcmp(out.nackers[i], n->pk, NODE_ID_LEN) == 0)
			return true;
	return false;
}


START_TEST(test_direct_ping_alive)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b), *lc = link_to(&c);

	ck_assert_int_eq(probe_member(probe, x.pk, 0, heard, &out), 0);
	ck_assert(probe_running(probe, x.pk));
	ck_assert(fake_link_pinged(lx));
	ck_assert_uint_eq(fake_link_ping_timeout(lx), TIMEOUT_MS);
	/* Direct only: no helper asked, no dial. */
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lb) +
	    fake_link_nsent(lc) + fake_link_nsent(lx), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_int_eq(out.calls, 0);
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_ALIVE);
	ck_assert_mem_eq(out.id, x.pk, NODE_ID_LEN);
	ck_assert_int_eq(out.nnack, 0);
	ck_assert(!probe_running(probe, x.pk));
	ck_assert_uint_eq(probe_rounds(probe), 1);
	/* The round is over: its timer does not report it again. */
	loop_for(base, 2 * TIMEOUT_MS + 50);
	ck_assert_int_eq(out.calls, 1);
}
END_TEST

START_TEST(test_helpers_asked_at_once)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b), *lc = link_to(&c),
			*ld = link_to(&d);
	struct link	*helpers[] = { la, lb, lc, ld };
	uint64_t	 n = 0, n1, ms;
	size_t		 i, asked = 0;

	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert(fake_link_pinged(lx));
	ck_assert_uint_eq(fake_link_nsent(lx), 0);	/* not its own helper */
	/* Three of the four others, once each, with the same request. */
	for (i = 0; i < 4; i++) {
		ck_assert_uint_le(fake_link_nsent(helpers[i]), 1);
		if (fake_link_nsent(helpers[i]) == 0)
			continue;
		n1 = sent_preq(helpers[i], 0, x.pk, &ms);
		ck_assert_uint_eq(ms, TIMEOUT_MS);
		if (asked++ > 0)
			ck_assert_uint_eq(n1, n);
		n = n1;
	}
	ck_assert_uint_eq(asked, PROBE_HELPERS);
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.res, PROBE_ALIVE);
}
END_TEST

START_TEST(test_quiet_links_not_asked)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b), *ld = link_to(&d);
	uint64_t	 ms;

	fake_link_quiet(ld, true);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	ck_assert_uint_eq(fake_link_nsent(lb), 1);
	ck_assert_uint_eq(fake_link_nsent(ld), 0);
	ck_assert_uint_eq(sent_preq(la, 0, x.pk, &ms),
	    sent_preq(lb, 0, x.pk, &ms));
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.res, PROBE_ALIVE);
}
END_TEST

START_TEST(test_quiet_link_pinged)
{
	struct link	*lx = link_to(&x);

	/* A dial would make a second link, and close one of the two. */
	fake_link_quiet(lx, true);
	ck_assert_int_eq(probe_member(probe, x.pk, 0, heard, &out), 0);
	ck_assert(fake_link_pinged(lx));
	ck_assert_uint_eq(fake_link_ping_timeout(lx), TIMEOUT_MS);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_int_eq(out.calls, 0);
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_ALIVE);
	ck_assert(!probe_running(probe, x.pk));
}
END_TEST

START_TEST(test_dial_refused)
{
	link_to(&a);
	link_to(&b);
	/* No link to x: a dial, and helpers at once. */
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 1);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_REFUSED);
	/* The helpers' answers are not waited for. */
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_REFUSED);
	ck_assert_int_eq(out.nnack, 0);
	ck_assert(!probe_running(probe, x.pk));
}
END_TEST

START_TEST(test_dial_failed_helpers_nack_silent)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b), *lc = link_to(&c);
	uint64_t	 n, ms;

	fake_mesh_remove(mesh, lx);	/* no link: a dial */
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	n = sent_preq(la, 0, x.pk, &ms);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	ck_assert_int_eq(out.calls, 0);
	pres_from(la, n, false);
	pres_from(lb, n, false);
	ck_assert_int_eq(out.calls, 0);
	pres_from(lc, n, false);
	/* Silent at the last nack, not at the timer. */
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_SILENT);
	ck_assert_int_eq(out.nnack, 3);
	ck_assert(nacked(&a) && nacked(&b) && nacked(&c));

	/* The other order: every helper nacks, then the dial fails. */
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	n = sent_preq(la, 1, x.pk, &ms);
	pres_from(la, n, false);
	pres_from(lb, n, false);
	pres_from(lc, n, false);
	ck_assert_int_eq(out.calls, 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 2);
	fake_mesh_dial_end(mesh, 1, MESH_DIAL_FAILED);
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_SILENT);
	ck_assert_int_eq(out.nnack, 3);
	ck_assert_uint_eq(probe_rounds(probe), 2);
}
END_TEST

START_TEST(test_helper_ok_alive_at_once)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b);
	uint64_t	 n, ms;

	fake_mesh_remove(mesh, lx);	/* no link: a dial */
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	n = sent_preq(la, 0, x.pk, &ms);
	pres_from(la, n, false);
	ck_assert_int_eq(out.calls, 0);
	pres_from(lb, n, true);
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_ALIVE);
	ck_assert(!probe_running(probe, x.pk));
	/* The dial ends after the round: nobody hears of it again. */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_REFUSED);
	ck_assert_int_eq(out.calls, 1);
}
END_TEST

START_TEST(test_stray_answers_ignored)
{
	struct link	*lx = link_to(&x), *la = link_to(&a),
			*lb = link_to(&b), *lc = link_to(&c), *ld;
	struct cbor_buf	 m = { 0 };
	uint64_t	 n, ms;

	fake_mesh_remove(mesh, lx);	/* no link: a dial */
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	n = sent_preq(la, 0, x.pk, &ms);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	/* From a node not asked. */
	ld = link_to(&d);
	pres_from(ld, n, true);
	/* Not about this round. */
	pres_from(la, n + 1, true);
	pres_from(la, n ^ 0x8000000000000000ULL, true);
	/* Without ok, or with an ok that is no bool. */
	cbor_put_map(&m, 2);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "pres");
	cbor_put_text(&m, "n");
	cbor_put_uint(&m, n);
	arrive(la, &m);
	cbor_buf_reset(&m);
	cbor_put_map(&m, 3);
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "pres");
	cbor_put_text(&m, "n");
	cbor_put_uint(&m, n);
	cbor_put_text(&m, "ok");
	cbor_put_uint(&m, 1);
	arrive(la, &m);
	cbor_buf_free(&m);
	ck_assert_int_eq(out.calls, 0);
	/* Twice from one: the second counts for nothing, either way. */
	pres_from(la, n, false);
	pres_from(la, n, false);
	pres_from(lb, n, false);
	ck_assert_int_eq(out.calls, 0);
	pres_from(la, n, true);
	ck_assert_int_eq(out.calls, 0);
	ck_assert(probe_running(probe, x.pk));
	pres_from(lc, n, false);
	ck_assert_int_eq(out.calls, 1);
	ck_assert_int_eq(out.res, PROBE_SILENT);
	ck_assert_int_eq(out.nnack, 3);
	ck_assert(nacked(&a) && nacked(&b) && nacked(&c) && !nacked(&d));
}
END_TEST

START_TEST(test_round_timer_silent)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);
	int64_t		 t0 = clock_ms();
	uint64_t	 n, ms;

	link_to(&b);
	link_to(&c);
	fake_mesh_remove(mesh, lx);	/* no link: a dial */
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	n = sent_preq(la, 0, x.pk, &ms);
	pres_from(la, n, false);
	/* The dial and two helpers say nothing. */
	ck_assert_msg(loop_until(base, heard_done, &out, 20 * TIMEOUT_MS),
	    "round not over within %d ms", 20 * TIMEOUT_MS);
	ck_assert_int_ge(clock_ms() - t0, 2 * TIMEOUT_MS - CLOCK_SLACK_MS);
	ck_assert_int_eq(out.res, PROBE_SILENT);
	ck_assert_str_eq(out.why, "no answer in time");
	/* The helper that did answer is evidence; the others are not. */
	ck_assert_int_eq(out.nnack, 1);
	ck_assert(nacked(&a));
	ck_assert(!probe_running(probe, x.pk));
	/* The dial that ends later is no news. */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_LINKED);
	ck_assert_int_eq(out.calls, 1);
}
END_TEST

START_TEST(test_timeout_grows_with_rtt)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);
	int64_t		 t0;
	uint64_t	 ms;

	/* Four round trips under the probe timeout: the timeout. */
	fake_link_rtt(lx, 30 * 1000);
	fake_link_rtt(la, 90 * 1000);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_link_ping_timeout(lx), TIMEOUT_MS);
	(void)sent_preq(la, 0, x.pk, &ms);
	ck_assert_uint_eq(ms, TIMEOUT_MS);
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.res, PROBE_ALIVE);

	/* Above it: four of the node's own round trips. */
	memset(&out, 0, sizeof(out));
	fake_link_rtt(lx, 50 * 1000);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_link_ping_timeout(lx), 200);
	(void)sent_preq(la, 1, x.pk, &ms);
	ck_assert_uint_eq(ms, 200);
	fake_link_pong(lx, 1000);

	/*
	 * No round trip measured to the node: the slowest link's.  The
	 * round waits twice that.
	 */
	memset(&out, 0, sizeof(out));
	fake_link_rtt(lx, -1);
	t0 = clock_ms();
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_link_ping_timeout(lx), 360);
	(void)sent_preq(la, 2, x.pk, &ms);
	ck_assert_uint_eq(ms, 360);
	ck_assert(loop_until(base, heard_done, &out, 20 * 360));
	ck_assert_int_ge(clock_ms() - t0, 2 * 360 - CLOCK_SLACK_MS);
	ck_assert_int_eq(out.res, PROBE_SILENT);
}
END_TEST

START_TEST(test_stall_unsure)
{
	struct link	*lx = link_to(&x);

	link_to(&a);
	fake_link_quiet(lx, true);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	/* Past the round's end by a whole timeout before the loop runs. */
	stall_process(3 * TIMEOUT_MS);
	ck_assert(loop_until(base, heard_done, &out, 20 * TIMEOUT_MS));
	ck_assert_int_eq(out.res, PROBE_UNSURE);
	ck_assert_int_eq(out.nnack, 0);
	ck_assert(!probe_running(probe, x.pk));
}
END_TEST

START_TEST(test_answer_about_linked_node)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);
	bool		 ok;

	preq_from(la, x.pk, 77, 500);
	ck_assert(fake_link_pinged(lx));
	ck_assert_uint_eq(fake_link_ping_timeout(lx), 500);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(probe_helped(probe), 1);
	fake_link_pong(lx, 2000);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	ck_assert_uint_eq(sent_pres(la, 0, &ok), 77);
	ck_assert(ok);

	/* No pong: a nack.  Longer than we probe for anyone: our longest. */
	preq_from(la, x.pk, 78, 3600 * 1000);
	ck_assert_uint_eq(fake_link_ping_timeout(lx), 10000);
	fake_link_pong(lx, -1);
	ck_assert_uint_eq(fake_link_nsent(la), 2);
	ck_assert_uint_eq(sent_pres(la, 1, &ok), 78);
	ck_assert(!ok);

	/* No link: a dial; refused is a nack, linked an ack. */
	fake_mesh_remove(mesh, lx);
	preq_from(la, x.pk, 79, 500);
	preq_from(la, x.pk, 80, 500);
	ck_assert(!fake_link_pinged(lx));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 2);
	ck_assert_uint_eq(fake_mesh_dial(mesh, 0)->timeout_ms, 500);
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_REFUSED);
	fake_mesh_dial_end(mesh, 1, MESH_DIAL_LINKED);
	ck_assert_uint_eq(fake_link_nsent(la), 4);
	ck_assert_uint_eq(sent_pres(la, 2, &ok), 79);
	ck_assert(!ok);
	ck_assert_uint_eq(sent_pres(la, 3, &ok), 80);
	ck_assert(ok);
	ck_assert_uint_eq(probe_helped(probe), 4);
	/* Helping starts no round of ours. */
	ck_assert_uint_eq(probe_rounds(probe), 0);
	ck_assert_int_eq(out.calls, 0);
}
END_TEST

START_TEST(test_no_answer_when_link_closes)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);

	/* Our link to x closes under the ping (shed, say): no evidence. */
	preq_from(la, x.pk, 81, 500);
	ck_assert(fake_link_pinged(lx));
	fake_link_end(lx, LINK_END_HERE, "shed");
	ck_assert_uint_eq(fake_link_nsent(la), 0);
}
END_TEST

START_TEST(test_answer_about_us)
{
	struct link	*la = link_to(&a);
	bool		 ok;

	preq_from(la, self.pk, 5, 500);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	ck_assert_uint_eq(sent_pres(la, 0, &ok), 5);
	ck_assert(ok);
	ck_assert(!fake_link_pinged(la));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(probe_helped(probe), 1);
}
END_TEST

/* How preq_odd writes a field: left out, well, or wrong. */
enum odd { ODD_NONE, ODD_GOOD, ODD_BAD };

/*
 * A request about x arrives on l with fields as told: a bad id is one
 * byte short (or text if text_id), a bad n is text, a bad ms is 0.
 */
static void
preq_odd(struct link *l, enum odd id, bool text_id, enum odd n, enum odd ms)
{
	struct cbor_buf	m = { 0 };

	cbor_put_map(&m, 1 + (id != ODD_NONE) + (n != ODD_NONE) +
	    (ms != ODD_NONE));
	cbor_put_text(&m, "t");
	cbor_put_text(&m, "preq");
	if (id != ODD_NONE)
		cbor_put_text(&m, "id");
	if (id == ODD_GOOD)
		cbor_put_bytes(&m, x.pk, NODE_ID_LEN);
	else if (id == ODD_BAD && text_id)
		cbor_put_textn(&m, x.idstr, NODE_ID_LEN);
	else if (id == ODD_BAD)
		cbor_put_bytes(&m, x.pk, NODE_ID_LEN - 1);
	if (n != ODD_NONE) {
		cbor_put_text(&m, "n");
		if (n == ODD_GOOD)
			cbor_put_uint(&m, 1);
		else
			cbor_put_text(&m, "1");
	}
	if (ms != ODD_NONE) {
		cbor_put_text(&m, "ms");
		cbor_put_uint(&m, ms == ODD_GOOD ? 500 : 0);
	}
	arrive(l, &m);
	cbor_buf_free(&m);
}

START_TEST(test_malformed_requests_ignored)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);

	preq_odd(la, ODD_NONE, false, ODD_GOOD, ODD_GOOD);
	preq_odd(la, ODD_BAD, false, ODD_GOOD, ODD_GOOD);
	preq_odd(la, ODD_BAD, true, ODD_GOOD, ODD_GOOD);
	preq_odd(la, ODD_GOOD, false, ODD_NONE, ODD_GOOD);
	preq_odd(la, ODD_GOOD, false, ODD_BAD, ODD_GOOD);
	preq_odd(la, ODD_GOOD, false, ODD_GOOD, ODD_NONE);
	preq_odd(la, ODD_GOOD, false, ODD_GOOD, ODD_BAD);
	/* About the asker itself: it can ask it. */
	preq_from(la, a.pk, 1, 500);
	ck_assert_uint_eq(fake_link_nsent(la) + fake_link_nsent(lx), 0);
	ck_assert(!fake_link_pinged(lx) && !fake_link_pinged(la));
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(probe_helped(probe), 0);
	/* Well-formed, the same request is taken. */
	preq_odd(la, ODD_GOOD, false, ODD_GOOD, ODD_GOOD);
	ck_assert(fake_link_pinged(lx));
}
END_TEST

START_TEST(test_requests_bounded)
{
	struct link	*la = link_to(&a);
	uint64_t	 n, i;
	bool		 ok, seen[64] = { false };

	for (i = 0; i < 70; i++)
		preq_from(la, x.pk, i, 500);
	/* 64 under way; the rest dropped, not nacked. */
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 64);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	for (i = 0; i < 64; i++)
		fake_mesh_dial_end(mesh, i, MESH_DIAL_LINKED);
	ck_assert_uint_eq(fake_link_nsent(la), 64);
	for (i = 0; i < 64; i++) {
		n = sent_pres(la, i, &ok);
		ck_assert(ok);
		ck_assert_uint_lt(n, 64);
		ck_assert(!seen[n]);
		seen[n] = true;
	}
	/* Room again once they ended. */
	preq_from(la, x.pk, 100, 500);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 65);
	fake_mesh_dial_end(mesh, 64, MESH_DIAL_FAILED);
	ck_assert_uint_eq(fake_link_nsent(la), 65);
	ck_assert_uint_eq(sent_pres(la, 64, &ok), 100);
	ck_assert(!ok);
}
END_TEST

START_TEST(test_unreachable_unanswered)
{
	struct link	*la = link_to(&a);

	address = NULL;
	preq_from(la, x.pk, 9, 500);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 0);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	ck_assert_uint_eq(probe_helped(probe), 0);
}
END_TEST

START_TEST(test_refused_rounds)
{
	struct link	*lx = link_to(&x), *la = link_to(&a);

	/* A round about x is under way: no second one. */
	ck_assert_int_eq(probe_member(probe, x.pk, 0, heard, &out), 0);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &out),
	    PROBE_BUSY);
	ck_assert_uint_eq(probe_rounds(probe), 1);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	fake_link_pong(lx, 1000);
	ck_assert_int_eq(out.calls, 1);

	/* Nothing to ask: no link to d, no address, no helper up. */
	address = NULL;
	fake_link_quiet(la, true);
	fake_link_quiet(lx, true);
	ck_assert_int_eq(probe_member(probe, d.pk, PROBE_INDIRECT, heard,
	    &out), -1);
	ck_assert(!probe_running(probe, d.pk));
	ck_assert_uint_eq(probe_rounds(probe), 1);
	/* Helpers but only a direct round asked for: nothing either. */
	fake_link_quiet(la, false);
	ck_assert_int_eq(probe_member(probe, d.pk, 0, heard, &out), -1);
	ck_assert_uint_eq(fake_link_nsent(la), 0);
	/* A helper is enough. */
	ck_assert_int_eq(probe_member(probe, d.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	ck_assert_uint_eq(fake_link_nsent(la), 1);
	ck_assert_uint_eq(fake_link_nsent(lx), 0);
	ck_assert_uint_eq(probe_rounds(probe), 2);
}
END_TEST

START_TEST(test_free_with_rounds_under_way)
{
	struct link		*lx = link_to(&x), *la = link_to(&a);
	struct outcome		 o2 = { 0 };
	size_t			 i;

	link_to(&b);
	/* One waits on its dial and helpers, one on helpers alone. */
	ck_assert_int_eq(probe_member(probe, d.pk, PROBE_INDIRECT, heard,
	    &out), 0);
	fake_mesh_remove(mesh, lx);
	ck_assert_int_eq(probe_member(probe, x.pk, PROBE_INDIRECT, heard,
	    &o2), 0);
	ck_assert_uint_eq(fake_mesh_ndials(mesh), 2);
	fake_mesh_dial_end(mesh, 1, MESH_DIAL_FAILED);
	/* And a request of another's on its ping. */
	fake_mesh_add(mesh, lx);
	preq_from(la, x.pk, 3, 500);
	ck_assert(fake_link_pinged(lx));
	/* The mesh goes first: it ends the dials and pings. */
	fake_mesh_dial_end(mesh, 0, MESH_DIAL_FAILED);
	for (i = 0; i < nlinks; i++)
		fake_link_end(links[i], LINK_END_HERE, "shutting down");
	ck_assert(probe_running(probe, d.pk) && probe_running(probe, x.pk));
	probe_free(probe);
	probe = NULL;
	/* Nobody hears of a round the probe took with it. */
	ck_assert_int_eq(out.calls + o2.calls, 0);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_direct_ping_alive);
	tcase_add_test(tc, test_helpers_asked_at_once);
	tcase_add_test(tc, test_quiet_links_not_asked);
	tcase_add_test(tc, test_quiet_link_pinged);
	tcase_add_test(tc, test_dial_refused);
	tcase_add_test(tc, test_dial_failed_helpers_nack_silent);
	tcase_add_test(tc, test_helper_ok_alive_at_once);
	tcase_add_test(tc, test_stray_answers_ignored);
	tcase_add_test(tc, test_round_timer_silent);
	tcase_add_test(tc, test_timeout_grows_with_rtt);
	tcase_add_test(tc, test_stall_unsure);
	tcase_add_test(tc, test_answer_about_linked_node);
	tcase_add_test(tc, test_no_answer_when_link_closes);
	tcase_add_test(tc, test_answer_about_us);
	tcase_add_test(tc, test_malformed_requests_ignored);
	tcase_add_test(tc, test_requests_bounded);
	tcase_add_test(tc, test_unreachable_unanswered);
	tcase_add_test(tc, test_refused_rounds);
	tcase_add_test(tc, test_free_with_rounds_under_way);
	suite_add_tcase(s, tc);
	return s;
}
