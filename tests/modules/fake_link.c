/* SPDX-License-Identifier: ISC */
/*
 * fake_link.c: the link API over plain memory; see fake_link.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "base32.h"
#include "clock.h"
#include "fake_link.h"
#include "noise.h"

#define LINKS_MAX	512	/* above mesh's 256 handshakes */

struct link {
	const struct link_ops	*ops;
	void			*arg;
	enum link_state		 state;
	bool			 outbound;
	bool			 hs_heard;
	char			 addr[HOST_MAX + 8];
	struct hello		 remote;
	char			 idstr[NODE_ID_STRLEN];
	char			 name[NODE_NAME_MAX + HOST_MAX + 32];
	uint8_t			 hash[NOISE_HASH_LEN];
	int64_t			 rtt_us;
	int64_t			 up_ms, used_ms;
	size_t			 queued;
	bool			 quiet;
	uint64_t		 hs_limit_ms;	/* link_limit_handshake's */
	uint64_t		 psk_gen;	/* fake_link_psk's */
	bool			 psk_prev;
	uint8_t			**sent;
	size_t			*sentlen;
	size_t			 nsent;
	link_ping_fn		*ping_fn;
	void			*ping_arg;
	uint64_t		 ping_timeout_ms;
};

static struct link	*made[LINKS_MAX];
static size_t		 nmade;
static struct link	*all[LINKS_MAX];
static size_t		 nall;

void
fake_links_free(void)
{
	size_t	i, k;

	for (i = 0; i < nall; i++) {
		for (k = 0; k < all[i]->nsent; k++)
			free(all[i]->sent[k]);
		free(all[i]->sent);
		free(all[i]->sentlen);
		free(all[i]);
	}
	nall = nmade = 0;
}

static struct link *
alloc_link(void)
{
	static bool	 registered;
	struct link	*l;

	if (!registered) {
		atexit(fake_links_free);
		registered = true;
	}
	ck_assert_uint_lt(nall, LINKS_MAX);
	l = calloc(1, sizeof(*l));
	ck_assert_ptr_nonnull(l);
	l->rtt_us = -1;
	randombytes_buf(l->hash, sizeof(l->hash));
	all[nall++] = l;
	return l;
}

static void
set_remote(struct link *l, const uint8_t *id, const char *name)
{
	memcpy(l->remote.id, id, NODE_ID_LEN);
	snprintf(l->remote.name, sizeof(l->remote.name), "%s", name);
	base32_encode(id, NODE_ID_LEN, l->idstr);
	snprintf(l->name, sizeof(l->name), "%s (%.12s)", name, l->idstr);
}

struct link *
fake_link_new(const uint8_t *id, const char *name, bool outbound)
{
	struct link	*l = alloc_link();

	l->state = LINK_UP;
	l->hs_heard = true;
	l->outbound = outbound;
	l->up_ms = clock_ms();
	snprintf(l->addr, sizeof(l->addr), "127.0.0.1:7654");
	set_remote(l, id, name);
	return l;
}

size_t
fake_links_made(void)
{
	return nmade;
}

struct link *
fake_link_made(size_t i)
{
	ck_assert_uint_lt(i, nmade);
	return made[i];
}

const char *
fake_link_addr(const struct link *l)
{
	return l->addr;
}

void
fake_link_rtt(struct link *l, int64_t us)
{
	l->rtt_us = us;
}

void
fake_link_times(struct link *l, int64_t up_ms, int64_t used_ms)
{
	l->up_ms = up_ms;
	l->used_ms = used_ms;
}

void
fake_link_queue(struct link *l, size_t bytes)
{
	l->queued = bytes;
}

void
fake_link_quiet(struct link *l, bool quiet)
{
	l->quiet = quiet;
}

void
fake_link_hs_heard(struct link *l)
{
	ck_assert(l->state == LINK_HANDSHAKE);
	l->hs_heard = true;
}

void
fake_link_up(struct link *l, const uint8_t *id, const char *name)
{
	ck_assert(l->state != LINK_UP && l->state != LINK_CLOSED);
	set_remote(l, id, name);
	l->hs_heard = true;
	l->state = LINK_UP;
	l->up_ms = clock_ms();
	l->ops->up(l, l->arg);
}

void
fake_link_end(struct link *l, enum link_end why, const char *reason)
{
	if (l->state == LINK_CLOSED)
		return;
	l->state = LINK_CLOSED;
	if (l->ping_fn != NULL) {
		l->ping_fn(LINK_PING_CLOSED, -1, reason, l->ping_arg);
		l->ping_fn = NULL;
	}
	if (l->ops != NULL)
		l->ops->down(l, why, reason, l->arg);
}

void
fake_link_receive(struct link *l, const uint8_t *msg, size_t len)
{
	struct linkmsg	m;

	ck_assert_int_eq(linkmsg_decode(msg, len, &m), 0);
	l->ops->message(l, m.type, m.f, m.nf, msg, len, l->arg);
}

size_t
fake_link_nsent(const struct link *l)
{
	return l->nsent;
}

const uint8_t *
fake_link_sent(const struct link *l, size_t i, size_t *len)
{
	ck_assert_uint_lt(i, l->nsent);
	*len = l->sentlen[i];
	return l->sent[i];
}

void
fake_link_rv(struct link *l, uint64_t count, const uint8_t digest[HELLO_RV_LEN])
{
	l->remote.rv_count = count;
	memcpy(l->remote.rv, digest, HELLO_RV_LEN);
}

bool
fake_link_sent_msg(const struct link *l, size_t i, struct linkmsg *m)
{
	size_t		 len;
	const uint8_t	*p = fake_link_sent(l, i, &len);

	return linkmsg_decode(p, len, m) == 0;
}

size_t
fake_link_count(const struct link *l, const char *t)
{
	struct linkmsg	m;
	size_t		i, n = 0;

	for (i = 0; i < l->nsent; i++)
		if (fake_link_sent_msg(l, i, &m) && strcmp(m.type, t) == 0)
			n++;
	return n;
}

void
fake_link_forget_sent(struct link *l)
{
	size_t	k;

	for (k = 0; k < l->nsent; k++)
		free(l->sent[k]);
	l->nsent = 0;
}

bool
fake_link_pinged(const struct link *l)
{
	return l->ping_fn != NULL;
}

uint64_t
fake_link_ping_timeout(const struct link *l)
{
	return l->ping_timeout_ms;
}

void
fake_link_pong(struct link *l, int64_t rtt_us)
{
	link_ping_fn	*fn = l->ping_fn;

	ck_assert_ptr_nonnull(fn);
	l->ping_fn = NULL;
	if (rtt_us < 0)
		fn(LINK_PING_TIMEOUT, -1, "no pong before the deadline",
		    l->ping_arg);
	else
		fn(LINK_PING_ANSWERED, rtt_us, NULL, l->ping_arg);
}

/* The link API. */

struct link *
link_dial(const struct link_params *par, const char *hostport,
    const struct link_ops *ops, void *arg)
{
	struct link	*l = alloc_link();

	(void)par;
	l->ops = ops;
	l->arg = arg;
	l->state = LINK_CONNECTING;
	l->outbound = true;
	snprintf(l->addr, sizeof(l->addr), "%s", hostport);
	snprintf(l->name, sizeof(l->name), "%s", hostport);
	made[nmade++] = l;
	return l;
}

struct link *
link_accept(const struct link_params *par, int fd, const struct sockaddr *sa,
    const struct link_ops *ops, void *arg)
{
	struct link	*l = alloc_link();

	(void)par; (void)fd; (void)sa;
	l->ops = ops;
	l->arg = arg;
	l->state = LINK_HANDSHAKE;
	snprintf(l->addr, sizeof(l->addr), "127.0.0.1:40000");
	snprintf(l->name, sizeof(l->name), "%s", l->addr);
	made[nmade++] = l;
	return l;
}

void
fake_link_kg(struct link *l, uint64_t gen)
{
	l->remote.has_kg = true;
	l->remote.kgen = gen;
}

void
link_close(struct link *l, const char *reason)
{
	fake_link_end(l, LINK_END_HERE, reason);
}

size_t
link_queued(const struct link *l)
{
	return l->queued;
}

int
link_send(struct link *l, const uint8_t *msg, size_t len)
{
	uint8_t	**s;
	size_t	 *sl;

	if (l->state != LINK_UP)
		return -1;
	s = reallocarray(l->sent, l->nsent + 1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	l->sent = s;
	sl = reallocarray(l->sentlen, l->nsent + 1, sizeof(*sl));
	ck_assert_ptr_nonnull(sl);
	l->sentlen = sl;
	l->sent[l->nsent] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(l->sent[l->nsent]);
	memcpy(l->sent[l->nsent], msg, len);
	l->sentlen[l->nsent++] = len;
	return 0;
}

int
link_ping(struct link *l, size_t size, uint64_t timeout_ms, link_ping_fn *fn,
    void *arg)
{
	(void)size;
	if (l->state != LINK_UP || l->ping_fn != NULL)
		return -1;
	l->ping_fn = fn;
	l->ping_arg = arg;
	l->ping_timeout_ms = timeout_ms;
	return 0;
}

void
link_ping_cancel(struct link *l, void *arg)
{
	if (l->ping_arg == arg)
		l->ping_fn = NULL;
}

void
link_info(const struct link *l, struct link_info *i)
{
	memset(i, 0, sizeof(*i));
	i->state = l->state;
	i->outbound = l->outbound;
	i->addr = l->addr;
	i->id = l->state == LINK_UP ? l->idstr : "";
	i->name = l->state == LINK_UP ? l->remote.name : "";
	i->rtt_last_us = i->rtt_avg_us = i->rtt_min_us = l->rtt_us;
}

enum link_state
link_state(const struct link *l)
{
	return l->state;
}

bool
link_hs_heard(const struct link *l)
{
	return l->hs_heard;
}

bool
link_quiet(const struct link *l)
{
	return l->quiet;
}

int
link_limit_handshake(struct link *l, uint64_t ms)
{
	l->hs_limit_ms = ms;
	return 0;
}

bool
link_outbound(const struct link *l)
{
	return l->outbound;
}

const struct hello *
link_remote(const struct link *l)
{
	return &l->remote;
}

const char *
link_id_str(const struct link *l)
{
	return l->idstr;
}

const char *
link_name(const struct link *l)
{
	return l->name;
}

int64_t
link_up_since(const struct link *l)
{
	return l->up_ms;
}

void
fake_link_psk(struct link *l, uint64_t gen, bool prev)
{
	l->psk_gen = gen;
	l->psk_prev = prev;
}

uint64_t
link_psk_gen(const struct link *l)
{
	return l->psk_gen;
}

bool
link_psk_prev(const struct link *l)
{
	return l->psk_prev;
}

void
link_mark_used(struct link *l)
{
	l->used_ms = clock_ms();
}

int64_t
link_used_ms(const struct link *l)
{
	return l->used_ms;
}

const uint8_t *
link_hash(const struct link *l)
{
	return l->hash;
}
