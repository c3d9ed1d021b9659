/* SPDX-License-Identifier: ISC */
/*
 * fuzz_gossip.c: libFuzzer target for the membership messages ("rec",
 * "sus", "dead", "dig", "want") through gossip's handlers, not only
 * their decoders: a real gossip and a real probe over the module
 * suites' fake mesh and fake links (tests/modules), with a member table
 * that records of eight fixed nodes, signed with their keys, fill first.
 *
 * The input is a header, then entries:
 *
 *	header	byte 0: the timers; bit 0 set: gossip_interval 0, else an
 *		hour; bit 1: suspect_timeout, bit 2: member_expire, the
 *		same way.  Bytes 1-4: the seed of the random bytes.  The
 *		probe waits an hour: a round ends by what the input says
 *		of dials, pings and helpers (a timeout of 0 would make
 *		every round end "our loop stalled", proving nothing).
 *	entry	[link] [type] [2-byte big-endian length] [that many bytes]
 *		(fewer if the input ends first); link, modulo NLINKS, is
 *		the link it arrives on, type, modulo 8:
 *	0-4	"rec", "sus", "dead", "dig", "want": the bytes are a CBOR
 *		map, which gets "t" first
 *	5	the bytes are a whole message, "t" and all
 *	6	a record signed here: byte 0 picks the node that signs it
 *		(0xff: ourselves), byte 1 is the hops "h", the rest is the
 *		record's body
 *	7	an event, byte 0 (modulo 8) saying which: the link goes
 *		down (byte 1 the mesh's reason), comes up again, turns
 *		quiet or not, the oldest dial under way ends (byte 1 how),
 *		the link's ping is answered (byte 1 bit 0: or times out),
 *		the overlay dials fixed node byte 1, the peer answers the
 *		last "preq" we sent on the link (byte 1 bit 0: yes), or
 *		the link's send queue holds byte 1 128ths of max_message
 *		(from 64 on, gossip's replies to the peer wait)
 *
 * Before an entry is used, placeholders in it become what they stand
 * for: ID_TOKEN and a byte k the ID of fixed node k (0xff: ours), and
 * INC_TOKEN our incarnation (8 bytes, big-endian), which follows the
 * wall clock.  Inputs name nodes with them, claim what we hold of
 * ourselves, and stay valid from one run to the next.
 *
 * A message arrives as mesh.c hands it on: split by linkmsg_decode,
 * then to the handler for its type, gossip's or the probe's.  Then the
 * loop runs once without blocking, so that due timers and probes fire.
 * Every timer is due at once or an hour away, and the random bytes
 * follow the input's seed, so an input plays out the same every time.
 * After each entry: at most MEMBERS_MAX members, ourselves alive, each
 * message sent on a link a valid envelope of at most max_message
 * bytes, with no more than HOPS_MAX hops, never claiming that we are
 * suspect or dead, and no message made a member dead whose link to us
 * answers.  The fakes' assertions abort too.
 *
 * With FUZZ_GOSSIP_SEEDS set to a directory, the target writes its seed
 * inputs there and exits (tests/fuzz/seeds/fuzz_gossip holds them);
 * with FUZZ_GOSSIP_LOG set, it logs what gossip does, at debug level.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>
#include <sodium.h>

#include "../modules/fake_link.h"
#include "../modules/fake_mesh.h"
#include "base32.h"
#include "cbor_buf.h"
#include "gossip.h"
#include "identity.h"
#include "link.h"
#include "linkmsg.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "probe.h"
#include "record.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NNODES		32	/* fixed nodes; the first NFILL are members */
#define NFILL		8
#define NLINKS		6	/* to nodes 0-3, NFILL - 1 and STRANGER */
#define STRANGER	20	/* the node of the last link: no member */
#define SELF		0xff	/* the node byte that means us */
#define HOUR_MS		(3600 * 1000)
#define MAX_MESSAGE	(256u << 10)	/* the least a node may have */
#define HOPS_MAX	16	/* what a node's own floods start with */
#define ENTRIES_MAX	256	/* entries an input runs, at most */
#define FAKE_DIALS_ROOM	200	/* of the fake mesh's 256, before an entry */
#define NEW_LINKS_MAX	32	/* links that come up again, per input */
#define MSG_MAX		(65536 + 256)
#define HEADER_LEN	5

#define ID_TOKEN	"fuzz_gossip node id placeholder"
#define INC_TOKEN	"self_inc"
_Static_assert(sizeof(ID_TOKEN) == NODE_ID_LEN, "ID_TOKEN and a byte");

static const char	*types[5] = { "rec", "sus", "dead", "dig", "want" };

static uint8_t		 pk[NNODES][NODE_ID_LEN], sk[NNODES][64];
static struct identity	 ident;
static const char	 self_addrs[1][ADDR_STRLEN] = { "127.0.0.1:7000" };
/* The records that fill the table, as "rec" messages. */
static struct cbor_buf	 fill[NFILL];

/* One run. */
static struct event_base *base;
static struct mesh	*mesh;
static struct probe	*probe;
static struct gossip	*g;
static struct link	*links[NLINKS];
static int		 nnew;
/* Whether the link is in the mesh: up, or down and not yet told. */
static bool		 in_mesh[NLINKS];
/* The "n" of the last "preq" sent on each link; whether there was one. */
static uint64_t		 preq_n[NLINKS];
static bool		 preq_sent[NLINKS];
static uint64_t		 max_message;

/* Random bytes that follow a seed, so that runs replay. */
static uint8_t		 rnd_key[crypto_stream_chacha20_KEYBYTES];
static uint64_t		 rnd_ctr;

static void
rnd_buf(void *buf, size_t n)
{
	uint8_t	nonce[crypto_stream_chacha20_NONCEBYTES];

	memcpy(nonce, &rnd_ctr, sizeof(nonce));
	rnd_ctr++;
	crypto_stream_chacha20(buf, n, nonce, rnd_key);
}

static uint32_t
rnd_random(void)
{
	uint32_t	v;

	rnd_buf(&v, sizeof(v));
	return v;
}

static const char *
rnd_name(void)
{
	return "fuzz_gossip";
}

static void
rnd_stir(void)
{
}

static int
rnd_close(void)
{
	return 0;
}

static struct randombytes_implementation	rnd_impl = {
	rnd_name, rnd_random, rnd_stir, NULL, rnd_buf, rnd_close
};

static void
rnd_seed(const uint8_t seed[4])
{
	memset(rnd_key, 0, sizeof(rnd_key));
	memcpy(rnd_key, seed, 4);
	rnd_ctr = 0;
}

/* The fakes assert with check.h's macros: here, a failure aborts. */
void
_mark_point(const char *file, int line)
{
	(void)file; (void)line;
}

void
_ck_assert_failed(const char *file, int line, const char *expr,
    const char *msg, ...)
{
	(void)msg;
	fprintf(stderr, "%s:%d: %s\n", file, line, expr);
	abort();
}

static void	violated(const char *) __attribute__((noreturn));

static void
violated(const char *what)
{
	fprintf(stderr, "fuzz_gossip: %s\n", what);
	abort();
}

static const uint8_t *
node_id(uint8_t k)
{
	return k == SELF ? ident.pk : pk[k % NNODES];
}

static void
node_record(int k, uint64_t inc, struct record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->id, pk[k], NODE_ID_LEN);
	snprintf(r->name, sizeof(r->name), "n%d", k);
	/* The last one has no address: only others can probe it. */
	if (k != NFILL - 1) {
		snprintf(r->addrs[0], ADDR_STRLEN, "127.0.0.1:%d", 10000 + k);
		r->naddrs = 1;
	}
	r->incarnation = inc;
	r->started_at = 1700000000;
}

static void
keys(void)
{
	struct cbor_buf	raw = { 0 };
	struct record	r;
	uint8_t		seed[32];
	int		i;

	for (i = 0; i < NNODES; i++) {
		memset(seed, i + 1, sizeof(seed));
		crypto_sign_seed_keypair(pk[i], sk[i], seed);
	}
	memset(seed, 0xee, sizeof(seed));
	crypto_sign_seed_keypair(ident.pk, ident.sk, seed);
	base32_encode(ident.pk, NODE_ID_LEN, ident.id);
	for (i = 0; i < NFILL; i++) {
		node_record(i, 1000 + i, &r);
		cbor_buf_reset(&raw);
		record_sign(&r, sk[i], &raw);
		cbor_put_map(&fill[i], 3);
		cbor_put_text(&fill[i], "t");
		cbor_put_text(&fill[i], "rec");
		cbor_put_text(&fill[i], "r");
		cbor_put_bytes(&fill[i], raw.data, raw.len);
		cbor_put_text(&fill[i], "h");
		cbor_put_uint(&fill[i], 0);
		if (raw.failed || fill[i].failed)
			violated("cannot sign the records of the table");
	}
	cbor_buf_free(&raw);
}

static void
on_member(void *arg, const struct member *m, const uint8_t *via,
    const char *why)
{
	(void)arg; (void)m; (void)via;
	/* Every change comes with its evidence. */
	if (why == NULL || *why == '\0')
		violated("a member changed for no stated reason");
}

static void
on_forgotten(void *arg, const uint8_t *id)
{
	(void)arg; (void)id;
}

static const struct gossip_ops	gops = { on_member, on_forgotten };

static const char *
address_of(void *arg, const uint8_t *id)
{
	(void)arg;
	return gossip_member_address(g, id);
}

static const struct probe_ops	pops = { address_of };

static uint8_t
slot_node(int i)
{
	if (i == NLINKS - 1)
		return STRANGER;
	return i == NLINKS - 2 ? NFILL - 1 : (uint8_t)i;
}

/* The message arrives on l as mesh.c hands it on. */
static void
deliver(struct link *l, const uint8_t *msg, size_t len)
{
	const struct mesh_handler	*h;
	struct linkmsg			 m;

	if (link_state(l) != LINK_UP || linkmsg_decode(msg, len, &m) == -1)
		return;
	for (h = gossip_handlers; h->type != NULL; h++)
		if (strcmp(h->type, m.type) == 0) {
			h->fn(g, l, m.type, m.f, m.nf);
			return;
		}
	for (h = probe_handlers; h->type != NULL; h++)
		if (strcmp(h->type, m.type) == 0) {
			h->fn(probe, l, m.type, m.f, m.nf);
			return;
		}
}

static bool
start(uint8_t timers, const uint8_t seed[4])
{
	struct gossip_params	par;
	struct probe_params	pp;
	int			i;

	rnd_seed(seed);
	memset(&par, 0, sizeof(par));
	par.id = &ident;
	par.name = "self";
	par.addrs = self_addrs;
	par.naddrs = 1;
	par.started_at = 1700000000;
	par.gossip_interval = timers & 1 ? 0 : HOUR_MS;
	par.suspect_timeout = timers & 2 ? 0 : HOUR_MS;
	par.member_expire = timers & 4 ? 0 : HOUR_MS;
	par.max_message = max_message = MAX_MESSAGE;
	if ((base = event_base_new()) == NULL)
		violated("event_base_new");
	mesh = fake_mesh_new();
	for (i = 0; i < NLINKS; i++) {
		links[i] = fake_link_new(node_id(slot_node(i)), "peer", i % 2);
		fake_mesh_add(mesh, links[i]);
		in_mesh[i] = true;
	}
	nnew = 0;
	memset(preq_sent, 0, sizeof(preq_sent));
	memset(&pp, 0, sizeof(pp));
	pp.self = ident.pk;
	pp.timeout = HOUR_MS;
	if ((probe = probe_new(base, &pp, mesh, &pops, NULL)) == NULL ||
	    (g = gossip_new(base, &par, mesh, probe, &gops, NULL)) == NULL)
		violated("cannot start gossip");
	for (i = 0; i < NFILL; i++)
		deliver(links[0], fill[i].data, fill[i].len);
	for (i = 0; i < NLINKS; i++)
		gossip_link_up(g, links[i]);
	return members_count(gossip_members(g)) == NFILL + 1;
}

/*
 * As the daemon stops: the mesh ends its dials and links first (their
 * outcomes still reach gossip and the probe), then the probe, gossip.
 * Dials end as answered, which starts nothing new.
 */
static void
stop(void)
{
	struct fake_dial	*d;
	size_t			 i;
	int			 k;

	for (i = 0; i < fake_mesh_ndials(mesh); i++) {
		d = fake_mesh_dial(mesh, i);
		if (!d->ended)
			fake_mesh_dial_end(mesh, i, MESH_DIAL_LINKED);
	}
	for (k = 0; k < NLINKS; k++)
		fake_link_end(links[k], LINK_END_HERE, "shutting down");
	probe_free(probe);
	gossip_free(g);
	fake_mesh_free(mesh);
	event_base_free(base);
	fake_links_free();
}

/* Replaces the placeholders in p. */
static void
substitute(uint8_t *p, size_t n)
{
	uint64_t	inc = gossip_self(g)->incarnation;
	size_t		i;
	int		k;

	for (i = 0; i < n; i++) {
		if (n - i >= NODE_ID_LEN &&
		    memcmp(p + i, ID_TOKEN, NODE_ID_LEN - 1) == 0) {
			memcpy(p + i, node_id(p[i + NODE_ID_LEN - 1]),
			    NODE_ID_LEN);
			i += NODE_ID_LEN - 1;
		} else if (n - i >= 8 && memcmp(p + i, INC_TOKEN, 8) == 0) {
			for (k = 0; k < 8; k++)
				p[i + k] = (uint8_t)(inc >> (56 - 8 * k));
			i += 7;
		}
	}
}

/*
 * The map in p, with "t" type first, into b; a map's header may be of
 * any length, or indefinite.  Anything else goes as it is.
 */
static void
with_type(struct cbor_buf *b, const char *type, const uint8_t *p, size_t n)
{
	uint64_t	count = 0;
	size_t		hlen, k;
	uint8_t		ai;

	cbor_buf_reset(b);
	if (n == 0 || p[0] >> 5 != 5) {
		cbor_put_raw(b, p, n);
		return;
	}
	ai = p[0] & 31;
	if (ai < 24)
		hlen = 1, count = ai;
	else if (ai >= 24 && ai <= 27)
		hlen = 1 + ((size_t)1 << (ai - 24));
	else if (ai == 31)
		hlen = 1;
	else {
		cbor_put_raw(b, p, n);
		return;
	}
	if (n < hlen) {
		cbor_put_raw(b, p, n);
		return;
	}
	for (k = 1; ai >= 24 && ai <= 27 && k < hlen; k++)
		count = count << 8 | p[k];
	if (ai == 31)
		cbor_put_raw(b, p, 1);
	else if (count == UINT64_MAX) {
		cbor_put_raw(b, p, n);
		return;
	} else
		cbor_put_map(b, count + 1);
	cbor_put_text(b, "t");
	cbor_put_text(b, type);
	cbor_put_raw(b, p + hlen, n - hlen);
}

/* A record whose body is p, signed by node k, as a "rec" message. */
static void
signed_rec(struct cbor_buf *b, uint8_t k, uint8_t hops, const uint8_t *p,
    size_t n)
{
	struct cbor_buf	r = { 0 };
	uint8_t		sig[crypto_sign_BYTES];

	crypto_sign_detached(sig, NULL, p, n, k == SELF ? ident.sk :
	    sk[k % NNODES]);
	cbor_put_map(&r, 2);
	cbor_put_text(&r, "b");
	cbor_put_bytes(&r, p, n);
	cbor_put_text(&r, "s");
	cbor_put_bytes(&r, sig, sizeof(sig));
	cbor_buf_reset(b);
	cbor_put_map(b, 3);
	cbor_put_text(b, "t");
	cbor_put_text(b, "rec");
	cbor_put_text(b, "r");
	cbor_put_bytes(b, r.data, r.len);
	cbor_put_text(b, "h");
	cbor_put_uint(b, hops);
	if (r.failed)
		b->failed = true;
	cbor_buf_free(&r);
}

static void
event(int slot, const uint8_t *p, size_t n)
{
	static const enum mesh_reason	reasons[4] = {
		MESH_ON_PURPOSE, MESH_REFUSED, MESH_SILENT, MESH_LOST
	};
	struct cbor_buf	 b = { 0 };
	struct link	*l = links[slot];
	uint8_t		 arg = n > 1 ? p[1] : 0;
	size_t		 i;

	switch (n > 0 ? p[0] % 8 : 0) {
	case 0:
		if (link_state(l) != LINK_UP)
			break;
		fake_link_end(l, LINK_END_EOF, "gone");
		fake_mesh_remove(mesh, l);
		in_mesh[slot] = false;
		gossip_link_down(g, l, reasons[arg % 4]);
		break;
	case 1:
		if (link_state(l) == LINK_UP || nnew == NEW_LINKS_MAX)
			break;
		nnew++;
		l = links[slot] = fake_link_new(node_id(slot_node(slot)), "peer",
		    arg & 1);
		fake_mesh_add(mesh, l);
		in_mesh[slot] = true;
		gossip_link_up(g, l);
		break;
	case 2:
		if (link_state(l) != LINK_UP)
			break;
		fake_link_quiet(l, !link_quiet(l));
		if (link_quiet(l))
			gossip_link_quiet(g, l);
		break;
	case 3:
		for (i = 0; i < fake_mesh_ndials(mesh); i++)
			if (!fake_mesh_dial(mesh, i)->ended) {
				fake_mesh_dial_end(mesh, i, arg % 3);
				break;
			}
		break;
	case 4:
		if (fake_link_pinged(l))
			fake_link_pong(l, arg & 1 ? -1 : 1000);
		break;
	case 5:
		(void)gossip_probe(g, node_id(arg), NULL, NULL);
		break;
	case 6:
		if (!preq_sent[slot])
			break;
		cbor_put_map(&b, 3);
		cbor_put_text(&b, "t");
		cbor_put_text(&b, "pres");
		cbor_put_text(&b, "n");
		cbor_put_uint(&b, preq_n[slot]);
		cbor_put_text(&b, "ok");
		cbor_put_bool(&b, arg & 1);
		if (!b.failed)
			deliver(l, b.data, b.len);
		cbor_buf_free(&b);
		break;
	case 7:
		fake_link_queue(l, (size_t)arg * (MAX_MESSAGE / 128));
		break;
	}
}

/* Links that closed themselves (link_close) go down, as the mesh says. */
static void
reap(void)
{
	int	i;

	for (i = 0; i < NLINKS; i++)
		if (in_mesh[i] && link_state(links[i]) != LINK_UP) {
			fake_mesh_remove(mesh, links[i]);
			in_mesh[i] = false;
			gossip_link_down(g, links[i], MESH_ON_PURPOSE);
		}
}

/* The links whose peer answers us, and whether each is a dead member. */
static void
answering(bool dead[NLINKS])
{
	const struct member	*m;
	int			 i;

	for (i = 0; i < NLINKS; i++) {
		dead[i] = false;
		if (link_state(links[i]) != LINK_UP || link_quiet(links[i]) ||
		    (m = members_get(gossip_members(g),
		    link_remote(links[i])->id)) == NULL)
			continue;
		dead[i] = m->state == MEMBER_DEAD;
	}
}

static void
check_sent(void)
{
	const struct cbor_field	*n, *h, *id;
	const uint8_t		*p, *idp;
	struct linkmsg		 m;
	uint64_t		 hops;
	size_t			 i, k, len, idlen;

	for (i = 0; i < NLINKS; i++) {
		for (k = 0; k < fake_link_nsent(links[i]); k++) {
			p = fake_link_sent(links[i], k, &len);
			if (len > max_message)
				violated("a message larger than max_message");
			if (linkmsg_decode(p, len, &m) == -1)
				violated("a message that is no envelope");
			if ((h = cbor_field_get(m.f, m.nf, "h")) != NULL &&
			    (!cbor_read_uint(h->val, h->vallen, &hops) ||
			    hops > HOPS_MAX))
				violated("a flood with more hops than any");
			if ((strcmp(m.type, "sus") == 0 ||
			    strcmp(m.type, "dead") == 0) &&
			    (id = cbor_field_get(m.f, m.nf, "id")) != NULL &&
			    cbor_read_bytes(id->val, id->vallen, &idp, &idlen) &&
			    idlen == NODE_ID_LEN &&
			    memcmp(idp, ident.pk, NODE_ID_LEN) == 0)
				violated("we claim that we failed");
			if (strcmp(m.type, "preq") == 0 &&
			    (n = cbor_field_get(m.f, m.nf, "n")) != NULL &&
			    cbor_read_uint(n->val, n->vallen, &preq_n[i]))
				preq_sent[i] = true;
		}
		fake_link_forget_sent(links[i]);
	}
}

static void
check(void)
{
	const struct members	*t = gossip_members(g);
	const struct member	*self = members_self(t);

	if (members_count(t) > MEMBERS_MAX)
		violated("more members than MEMBERS_MAX");
	if (self == NULL || !self->self || self->state != MEMBER_ALIVE)
		violated("we are not alive in our own table");
	check_sent();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t	 buf[MSG_MAX];
	struct cbor_buf	 msg = { 0 };
	bool		 before[NLINKS], after[NLINKS];
	size_t		 off, len;
	int		 slot, type, i, entries = 0;

	if (size < HEADER_LEN)
		return 0;
	if (!start(data[0], data + 1))
		violated("the table did not fill");
	check();
	for (off = HEADER_LEN; off + 4 <= size && entries < ENTRIES_MAX &&
	    fake_mesh_ndials(mesh) < FAKE_DIALS_ROOM; entries++) {
		slot = data[off] % NLINKS;
		type = data[off + 1] % 8;
		len = (size_t)data[off + 2] << 8 | data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		memcpy(buf, data + off, len);
		off += len;
		substitute(buf, len);
		answering(before);
		if (type < 5)
			with_type(&msg, types[type], buf, len);
		else if (type == 5) {
			cbor_buf_reset(&msg);
			cbor_put_raw(&msg, buf, len);
		} else if (type == 6)
			signed_rec(&msg, len > 0 ? buf[0] : 0,
			    len > 1 ? buf[1] : 0, buf + (len > 2 ? 2 : len),
			    len > 2 ? len - 2 : 0);
		if (type == 7)
			event(slot, buf, len);
		else if (!msg.failed)
			deliver(links[slot], msg.data, msg.len);
		/* A claim is passed to a member that answers, not believed. */
		if (type != 7) {
			answering(after);
			for (i = 0; i < NLINKS; i++)
				if (after[i] && !before[i])
					violated("a message made a member dead "
					    "whose link answers");
		}
		reap();
		event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
		reap();
		check();
	}
	cbor_buf_free(&msg);
	stop();
	return 0;
}

/* Seeds. */

struct seed {
	uint8_t	b[8192];
	size_t	n;
};

static void
seed_header(struct seed *s, uint8_t timers)
{
	s->n = 0;
	s->b[s->n++] = timers;
	memcpy(s->b + s->n, "seed", 4);
	s->n += 4;
}

static void
seed_entry(struct seed *s, int slot, int type, const void *p, size_t n)
{
	if (s->n + 4 + n > sizeof(s->b))
		violated("seed too long");
	s->b[s->n++] = (uint8_t)slot;
	s->b[s->n++] = (uint8_t)type;
	s->b[s->n++] = (uint8_t)(n >> 8);
	s->b[s->n++] = (uint8_t)n;
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
seed_event(struct seed *s, int slot, uint8_t op, uint8_t arg)
{
	uint8_t	e[2] = { op, arg };

	seed_entry(s, slot, 7, e, 2);
}

static void
put_token(struct cbor_buf *b, uint8_t k)
{
	uint8_t	tok[NODE_ID_LEN];

	memcpy(tok, ID_TOKEN, NODE_ID_LEN - 1);
	tok[NODE_ID_LEN - 1] = k;
	cbor_put_bytes(b, tok, sizeof(tok));
}

static void
put_inc_token(struct cbor_buf *b)
{
	cbor_put_raw(b, "\x1b", 1);
	cbor_put_raw(b, INC_TOKEN, 8);
}

/* A map {"r": record of node k at inc, "h": hops}. */
static void
put_rec_map(struct cbor_buf *b, int k, uint64_t inc, bool left, uint64_t hops)
{
	struct cbor_buf	raw = { 0 };
	struct record	r;

	node_record(k, inc, &r);
	r.left = left;
	record_sign(&r, sk[k], &raw);
	cbor_buf_reset(b);
	cbor_put_map(b, 2);
	cbor_put_text(b, "r");
	cbor_put_bytes(b, raw.data, raw.len);
	cbor_put_text(b, "h");
	cbor_put_uint(b, hops);
	cbor_buf_free(&raw);
}

static void
put_claim_map(struct cbor_buf *b, uint8_t k, uint64_t inc, bool self_inc,
    int by, uint64_t hops)
{
	cbor_buf_reset(b);
	cbor_put_map(b, by >= 0 ? 4 : 3);
	cbor_put_text(b, "id");
	put_token(b, k);
	cbor_put_text(b, "inc");
	if (self_inc)
		put_inc_token(b);
	else
		cbor_put_uint(b, inc);
	cbor_put_text(b, "h");
	cbor_put_uint(b, hops);
	if (by >= 0) {
		cbor_put_text(b, "by");
		put_token(b, (uint8_t)by);
	}
}

/* A whole "preq" message: probe node k for the asker's round n. */
static void
put_preq(struct cbor_buf *b, uint8_t k, uint64_t n)
{
	cbor_buf_reset(b);
	cbor_put_map(b, 4);
	cbor_put_text(b, "t");
	cbor_put_text(b, "preq");
	cbor_put_text(b, "id");
	put_token(b, k);
	cbor_put_text(b, "n");
	cbor_put_uint(b, n);
	cbor_put_text(b, "ms");
	cbor_put_uint(b, 500);
}

/* A digest entry of node k: its ID as a placeholder, inc, state. */
static void
digest_entry(uint8_t *e, uint8_t k, uint64_t inc, bool self_inc,
    enum member_state st)
{
	int	i;

	memcpy(e, ID_TOKEN, NODE_ID_LEN - 1);
	e[NODE_ID_LEN - 1] = k;
	if (self_inc)
		memcpy(e + NODE_ID_LEN, INC_TOKEN, 8);
	else
		for (i = 0; i < 8; i++)
			e[NODE_ID_LEN + i] = (uint8_t)(inc >> (56 - 8 * i));
	e[NODE_ID_LEN + 8] = (uint8_t)st;
}

/* The body of node k's record at inc (ours: SELF), for a type 6 entry. */
static void
put_body_entry(struct seed *s, int slot, uint8_t k, uint8_t hops,
    uint64_t inc)
{
	struct cbor_buf		 raw = { 0 };
	struct cbor_field	 f[4];
	const struct cbor_field	*b;
	struct record		 r;
	const uint8_t		*body;
	size_t			 blen;
	uint8_t			 e[2048];
	int			 nf;

	if (k == SELF) {
		memset(&r, 0, sizeof(r));
		memcpy(r.id, ident.pk, NODE_ID_LEN);
		snprintf(r.name, sizeof(r.name), "self");
		r.incarnation = inc;
		record_sign(&r, ident.sk, &raw);
	} else {
		node_record(k, inc, &r);
		record_sign(&r, sk[k], &raw);
	}
	if ((nf = cbor_scan_map(raw.data, raw.len, f, 4)) == -1 ||
	    (b = cbor_field_get(f, nf, "b")) == NULL ||
	    !cbor_read_bytes(b->val, b->vallen, &body, &blen) ||
	    blen + 2 > sizeof(e))
		violated("cannot take a record's body apart");
	e[0] = k;
	e[1] = hops;
	memcpy(e + 2, body, blen);
	seed_entry(s, slot, 6, e, blen + 2);
	cbor_buf_free(&raw);
}

static void
seed_write(const char *dir, const char *name, const struct seed *s)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		fprintf(stderr, "fuzz_gossip: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

static void
write_seeds(const char *dir)
{
	struct cbor_buf	 b = { 0 };
	struct seed	 s;
	uint8_t		 d[4 * (NODE_ID_LEN + 9)];
	int		 i;

	/* rec: a new member, a newer record of one, one that leaves. */
	seed_header(&s, 0);
	put_rec_map(&b, 9, 500, false, 3);
	seed_entry(&s, 1, 0, b.data, b.len);
	put_rec_map(&b, 1, 2001, false, 16);
	seed_entry(&s, 2, 0, b.data, b.len);
	put_rec_map(&b, 3, 2003, true, 1);
	seed_entry(&s, 0, 0, b.data, b.len);
	seed_write(dir, "rec", &s);

	/* sus: of a member with no link, confirmed, then of ourselves. */
	seed_header(&s, 0);
	put_claim_map(&b, 6, 1006, false, 3, 4);
	seed_entry(&s, 1, 1, b.data, b.len);
	put_claim_map(&b, 6, 1006, false, 4, 4);
	seed_entry(&s, 2, 1, b.data, b.len);
	put_claim_map(&b, 2, 1002, false, 1, 4);
	seed_entry(&s, 3, 1, b.data, b.len);
	put_claim_map(&b, SELF, 0, true, 1, 4);
	seed_entry(&s, 0, 1, b.data, b.len);
	seed_write(dir, "sus", &s);

	/* sus with the timers due at once: the suspect dies. */
	seed_header(&s, 0x07);
	put_claim_map(&b, 5, 1005, false, 1, 2);
	seed_entry(&s, 1, 1, b.data, b.len);
	seed_event(&s, 0, 3, 1);
	seed_event(&s, 0, 3, 2);
	seed_write(dir, "sus_due", &s);

	/* dead: of a member with no link, of one linked, of ourselves. */
	seed_header(&s, 0);
	put_claim_map(&b, 7, 1007, false, -1, 3);
	seed_entry(&s, 1, 2, b.data, b.len);
	put_claim_map(&b, 3, 1003, false, -1, 3);
	seed_entry(&s, 2, 2, b.data, b.len);
	put_claim_map(&b, SELF, 0, true, -1, 3);
	seed_entry(&s, 5, 2, b.data, b.len);
	seed_write(dir, "dead", &s);

	/* dig: newer, unknown, a dead member, ourselves suspect. */
	seed_header(&s, 0);
	digest_entry(d, 1, 5000, false, MEMBER_ALIVE);
	digest_entry(d + 41, 12, 7, false, MEMBER_ALIVE);
	digest_entry(d + 82, 6, 1006, false, MEMBER_DEAD);
	digest_entry(d + 123, SELF, 0, true, MEMBER_SUSPECT);
	cbor_buf_reset(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "d");
	cbor_put_bytes(&b, d, sizeof(d));
	seed_entry(&s, 2, 3, b.data, b.len);
	/* Node 6, dead to us now, as they hold it: older, or as alive. */
	digest_entry(d, 6, 1005, false, MEMBER_ALIVE);
	digest_entry(d + 41, 1, 1001, false, MEMBER_ALIVE);
	cbor_buf_reset(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "d");
	cbor_put_bytes(&b, d, 2 * 41);
	seed_entry(&s, 3, 3, b.data, b.len);
	digest_entry(d, 6, 1006, false, MEMBER_ALIVE);
	cbor_buf_reset(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "d");
	cbor_put_bytes(&b, d, 41);
	seed_entry(&s, 0, 3, b.data, b.len);
	seed_write(dir, "dig", &s);

	/*
	 * Records of ours signed before this run: newer than ours (our
	 * clock went back: outdo it), then the last incarnation there is
	 * (nothing outdoes it), then a claim about ourselves.
	 */
	seed_header(&s, 0);
	put_body_entry(&s, 1, SELF, 2, (uint64_t)1 << 62);
	put_body_entry(&s, 2, SELF, 2, UINT64_MAX);
	put_claim_map(&b, SELF, 0, true, 2, 3);
	seed_entry(&s, 3, 1, b.data, b.len);
	seed_write(dir, "self", &s);

	/* want: two members, a stranger, one twice. */
	seed_header(&s, 0);
	cbor_buf_reset(&b);
	cbor_put_map(&b, 1);
	cbor_put_text(&b, "ids");
	memcpy(d, ID_TOKEN, NODE_ID_LEN - 1);
	d[NODE_ID_LEN - 1] = 1;
	memcpy(d + 32, ID_TOKEN, NODE_ID_LEN - 1);
	d[32 + NODE_ID_LEN - 1] = 6;
	memcpy(d + 64, ID_TOKEN, NODE_ID_LEN - 1);
	d[64 + NODE_ID_LEN - 1] = 25;
	memcpy(d + 96, d, NODE_ID_LEN);
	cbor_put_bytes(&b, d, 4 * NODE_ID_LEN);
	seed_entry(&s, 4, 4, b.data, b.len);
	/* Again, with the link's queue past half of max_message. */
	seed_event(&s, 4, 7, 100);
	seed_entry(&s, 4, 4, b.data, b.len);
	seed_write(dir, "want", &s);

	/* Whole messages, records signed here, and the events. */
	seed_header(&s, 0x05);
	cbor_buf_reset(&b);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "t");
	cbor_put_text(&b, "want");
	cbor_put_text(&b, "ids");
	put_token(&b, 2);
	seed_entry(&s, 1, 5, b.data, b.len);
	put_body_entry(&s, 3, 10, 5, 77);
	put_body_entry(&s, 0, 2, 5, 3002);
	seed_event(&s, 1, 0, 3);	/* link to node 1 lost */
	seed_event(&s, 2, 2, 0);	/* node 2 quiet */
	seed_event(&s, 0, 5, 6);	/* overlay dials node 6 */
	seed_event(&s, 0, 3, 2);
	seed_event(&s, 3, 4, 1);
	seed_event(&s, 1, 1, 0);	/* node 1 back */
	seed_write(dir, "events", &s);

	/*
	 * Probes: node 1's link is lost, its dial fails, the helpers say
	 * no: suspect, and with the timers due at once, dead.  Node
	 * NFILL - 1, with no address, turns quiet: helpers only.
	 */
	seed_header(&s, 0x02);
	seed_event(&s, 1, 0, 3);
	seed_event(&s, 0, 3, 2);
	for (i = 0; i < NLINKS; i++)
		seed_event(&s, i, 6, 0);
	seed_event(&s, NLINKS - 2, 2, 0);
	for (i = 0; i < NLINKS; i++)
		seed_event(&s, i, 6, i % 2);
	seed_write(dir, "probe", &s);

	/*
	 * Peers ask us to probe: node 6 (a dial, which fails), ourselves
	 * (answered at once), node 2 (a ping on its link, answered).
	 */
	seed_header(&s, 0);
	put_preq(&b, 6, 41);
	seed_entry(&s, 1, 5, b.data, b.len);
	seed_event(&s, 0, 3, 2);
	put_preq(&b, SELF, 42);
	seed_entry(&s, 3, 5, b.data, b.len);
	put_preq(&b, 2, 43);
	seed_entry(&s, 0, 5, b.data, b.len);
	seed_event(&s, 2, 4, 0);
	seed_write(dir, "preq", &s);
	cbor_buf_free(&b);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir;

	(void)argc; (void)argv;
	randombytes_set_implementation(&rnd_impl);
	if (sodium_init() < 0)
		violated("sodium_init");
	/* The daemon's log, to follow a crash's input: FUZZ_GOSSIP_LOG=1. */
	log_set_level(getenv("FUZZ_GOSSIP_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	keys();
	if ((dir = getenv("FUZZ_GOSSIP_SEEDS")) != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}
