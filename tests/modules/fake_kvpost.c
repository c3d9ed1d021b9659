/* SPDX-License-Identifier: ISC */
/*
 * fake_kvpost.c: see fake_kvpost.h.  A body is encoded when sent (and
 * decoded at once, to check it), and decoded again when delivered.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "fake_kvpost.h"

#define NODES_MAX	16
#define KINDS		(KVMSG_CHANGE + 1)
/* ck_assert notes where it was each time: too slow for every message. */
#define MUST(c)		do { if (!(c)) ck_abort_msg("%s:%d: %s", \
			    __FILE__, __LINE__, #c); } while (0)

struct kvpost {
	struct fake_kvnet	*net;
	uint8_t			 id[NODE_ID_LEN];
	size_t			 index;
	fake_kvnet_fn		*fn;
	void			*arg;
	bool			 cut;
	bool			 mute;
};

struct fmsg {
	struct fmsg		*next;
	size_t			 from, to;
	uint64_t		 cid;
	size_t			 size;		/* of the body, encoded */
	uint8_t			*body;
};

struct fake_kvnet {
	struct event_base	*base;
	struct event		*ev;
	struct kvpost		*nodes[NODES_MAX];
	size_t			 n;
	struct fmsg		*head, *tail;
	size_t			 queued;
	size_t			 limit;
	size_t			 bytes[NODES_MAX][NODES_MAX];
	size_t			 sent[KINDS];
	size_t			 full;
	struct kvmsg_space	 space;		/* of the body delivered */
	struct kvmsg_space	 check;		/* of the body sent */
};

/*
 * The body of m, encoded and checked: what kvsync sends must be a body
 * that the receiver's decoder takes, and only of the kinds of sync.
 */
static struct fmsg *
fmsg_new(const struct kvmsg *m, struct kvmsg_space *space)
{
	struct fmsg	*f;
	struct kvmsg	 d;
	struct cbor_buf	 b = { 0 };
	const char	*why = NULL;

	MUST(m->kind == KVMSG_STORE || m->kind == KVMSG_DIGEST ||
	    m->kind == KVMSG_HAVE || m->kind == KVMSG_WANT);
	MUST(m->kind != KVMSG_STORE || m->repair);
	kvmsg_encode(&b, m);
	MUST(!b.failed);
	if (kvmsg_decode(b.data, b.len, &d, space, &why) == -1)
		ck_abort_msg("kvsync sent a body that does not decode: %s", why);
	f = calloc(1, sizeof(*f));
	MUST(f != NULL);
	f->body = b.data;
	f->size = b.len;
	return f;
}

static void
fmsg_free(struct fmsg *f)
{
	free(f->body);
	free(f);
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake_kvnet	*net = arg;
	struct fmsg		*f, *list = net->head;
	struct kvpost		*to;
	struct kvmsg		 m;
	const char		*why;

	(void)fd; (void)what;
	net->head = net->tail = NULL;
	while ((f = list) != NULL) {
		list = f->next;
		net->queued--;
		net->bytes[f->from][f->to] -= f->size;
		to = net->nodes[f->to];
		if (!to->cut && !to->mute && !net->nodes[f->from]->cut) {
			MUST(kvmsg_decode(f->body, f->size, &m, &net->space,
			    &why) == 0);
			to->fn(to->arg, net->nodes[f->from]->id, f->cid, &m);
		}
		fmsg_free(f);
	}
}

struct fake_kvnet *
fake_kvnet_new(struct event_base *base)
{
	struct fake_kvnet	*net;

	net = calloc(1, sizeof(*net));
	ck_assert_ptr_nonnull(net);
	net->base = base;
	net->ev = evtimer_new(base, deliver_cb, net);
	ck_assert_ptr_nonnull(net->ev);
	return net;
}

void
fake_kvnet_free(struct fake_kvnet *net)
{
	struct fmsg	*f;
	size_t		 i;

	if (net == NULL)
		return;
	while ((f = net->head) != NULL) {
		net->head = f->next;
		fmsg_free(f);
	}
	for (i = 0; i < net->n; i++)
		free(net->nodes[i]);
	event_free(net->ev);
	free(net);
}

struct kvpost *
fake_kvnet_node(struct fake_kvnet *net, const uint8_t *id, fake_kvnet_fn *fn,
    void *arg)
{
	struct kvpost	*p;

	ck_assert_uint_lt(net->n, NODES_MAX);
	p = calloc(1, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	p->net = net;
	memcpy(p->id, id, NODE_ID_LEN);
	p->index = net->n;
	p->fn = fn;
	p->arg = arg;
	net->nodes[net->n++] = p;
	return p;
}

void
fake_kvnet_limit(struct fake_kvnet *net, size_t bytes)
{
	net->limit = bytes;
}

void
fake_kvnet_cut(struct fake_kvnet *net, const uint8_t *id, bool cut)
{
	size_t	i;

	for (i = 0; i < net->n; i++)
		if (memcmp(net->nodes[i]->id, id, NODE_ID_LEN) == 0)
			net->nodes[i]->cut = cut;
}

void
fake_kvnet_mute(struct fake_kvnet *net, const uint8_t *id, bool mute)
{
	size_t	i;

	for (i = 0; i < net->n; i++)
		if (memcmp(net->nodes[i]->id, id, NODE_ID_LEN) == 0)
			net->nodes[i]->mute = mute;
}

size_t
fake_kvnet_sent(const struct fake_kvnet *net, enum kvmsg_kind kind)
{
	return net->sent[kind];
}

size_t
fake_kvnet_full(const struct fake_kvnet *net)
{
	return net->full;
}

size_t
fake_kvnet_queued(const struct fake_kvnet *net)
{
	return net->queued;
}

void
fake_kvnet_reset_counts(struct fake_kvnet *net)
{
	memset(net->sent, 0, sizeof(net->sent));
	net->full = 0;
}

/*
 * kvpost.h, for the module under test: only kvpost_send, which is all
 * kvsync calls; the nodes of the net stand for kvpost_new.
 */

enum route_result
kvpost_send(struct kvpost *p, const uint8_t *dest, uint64_t cid,
    const struct kvmsg *m)
{
	struct fake_kvnet	*net = p->net;
	struct kvpost		*to = NULL;
	struct fmsg		*f;
	struct timeval		 tv = { 0, 0 };
	size_t			 i;

	for (i = 0; i < net->n; i++)
		if (memcmp(net->nodes[i]->id, dest, NODE_ID_LEN) == 0)
			to = net->nodes[i];
	if (to == NULL || to->cut || p->cut)
		return ROUTE_NO_PATH;
	MUST(to != p);
	f = fmsg_new(m, &net->check);
	f->from = p->index;
	f->to = to->index;
	f->cid = cid;
	/* As route_send: a message up to max_message fits an empty queue. */
	if (net->limit != 0 && net->bytes[f->from][f->to] > 0 &&
	    net->bytes[f->from][f->to] + f->size > net->limit) {
		net->full++;
		fmsg_free(f);
		return ROUTE_FULL;
	}
	net->sent[m->kind]++;
	net->bytes[f->from][f->to] += f->size;
	net->queued++;
	if (net->tail != NULL)
		net->tail->next = f;
	else
		net->head = f;
	net->tail = f;
	evtimer_add(net->ev, &tv);
	return ROUTE_SENT;
}
