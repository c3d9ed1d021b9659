/* SPDX-License-Identifier: ISC */
/*
 * fake_route.h: the router as calls, serving and events see it: it
 * keeps a copy of every message it is given, and answers as the test
 * says (sent, no path, full); route_fail is kept apart, as a failure.
 */
#ifndef TESTS_FAKE_ROUTE_H
#define TESTS_FAKE_ROUTE_H

#include <stddef.h>

#include "callmsg.h"
#include "route.h"

/* The fake; self is this node's ID (a call back to it is local). */
struct route	*fake_route_new(const uint8_t *self);
void		 fake_route_free(struct route *);
/* What route_send answers from now on. */
void		 fake_route_result(struct route *, enum route_result);
/* Messages given to route_send (and route_fail) so far. */
size_t		 fake_route_count(const struct route *);
/* Message i, decoded; valid until the next call of this. */
const struct callmsg *fake_route_msg(struct route *, size_t i);
/* The last message of that type, or NULL. */
const struct callmsg *fake_route_last(struct route *, enum callmsg_type);

/* A call answered with an error by route_fail. */
struct fake_fail {
	uint8_t		origin[NODE_ID_LEN];
	uint64_t	cid;
	enum peer_code	code;
	char		msg[512];	/* as route_fail's */
};

size_t		 fake_route_nfails(const struct route *);
const struct fake_fail *fake_route_fail(const struct route *, size_t i);

#endif
