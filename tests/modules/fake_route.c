/* SPDX-License-Identifier: ISC */
/*
 * fake_route.c: the routing API that keeps what it is given; see
 * fake_route.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fake_route.h"
#include "linkmsg.h"

#define FAKE_MSGS	1024
#define FAKE_FAILS	256

struct route {
	uint8_t			 self[NODE_ID_LEN];
	enum route_result	 result;
	struct cbor_buf		 msg[FAKE_MSGS];
	size_t			 n;
	struct linkmsg		 lm;
	struct callmsg		 m;
	struct fake_fail	 fail[FAKE_FAILS];
	size_t			 nfails;
};

struct route *
fake_route_new(const uint8_t *self)
{
	struct route	*r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	memcpy(r->self, self, NODE_ID_LEN);
	r->result = ROUTE_SENT;
	return r;
}

void
fake_route_free(struct route *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		cbor_buf_free(&r->msg[i]);
	free(r);
}

void
fake_route_result(struct route *r, enum route_result res)
{
	r->result = res;
}

size_t
fake_route_count(const struct route *r)
{
	return r->n;
}

const struct callmsg *
fake_route_msg(struct route *r, size_t i)
{
	const char	*why;

	ck_assert_uint_lt(i, r->n);
	ck_assert_int_eq(linkmsg_decode(r->msg[i].data, r->msg[i].len,
	    &r->lm), 0);
	ck_assert_msg(callmsg_decode(r->lm.type, r->lm.f, r->lm.nf, &r->m,
	    &why) == 0, "a message that does not decode: %s", why);
	return &r->m;
}

const struct callmsg *
fake_route_last(struct route *r, enum callmsg_type t)
{
	size_t			 i;
	const struct callmsg	*m;

	for (i = r->n; i-- > 0; )
		if ((m = fake_route_msg(r, i))->type == t)
			return m;
	return NULL;
}

enum route_result
route_send(struct route *r, const struct callmsg *m, struct link *from)
{
	(void)from;
	ck_assert_uint_lt(r->n, FAKE_MSGS);
	if (r->result != ROUTE_SENT)
		return r->result;
	memset(&r->msg[r->n], 0, sizeof(r->msg[r->n]));
	callmsg_encode(&r->msg[r->n], m);
	ck_assert(!r->msg[r->n].failed);
	r->n++;
	return ROUTE_SENT;
}

/* The fake keeps no links, so there are none to mark used. */
enum route_result
route_send_quiet(struct route *r, const struct callmsg *m, struct link *from)
{
	return route_send(r, m, from);
}

size_t
fake_route_nfails(const struct route *r)
{
	return r->nfails;
}

const struct fake_fail *
fake_route_fail(const struct route *r, size_t i)
{
	ck_assert_uint_lt(i, r->nfails);
	return &r->fail[i];
}

void
route_fail(struct route *r, const struct callmsg *call, enum peer_code code,
    const char *fmt, ...)
{
	struct fake_fail	*f;
	va_list			 ap;

	if (call->oneway)
		return;
	ck_assert_uint_lt(r->nfails, FAKE_FAILS);
	f = &r->fail[r->nfails++];
	memcpy(f->origin, call->origin, NODE_ID_LEN);
	f->cid = call->cid;
	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}
