/* SPDX-License-Identifier: ISC */
/*
 * fuzz_callmsg.c: libFuzzer target for the call messages of links.  The
 * input is one link message, read as route_message() reads it: the
 * envelope by linkmsg_decode(), then callmsg_decode() if its type is a
 * call message.
 *
 * A message that decodes must satisfy what the router, the serving code,
 * the event code and the key-value store rely on (valid names and
 * topics, hops within CALLMSG_HOPS, an answer holding exactly one of
 * result and error, a kv message holding a map, spans inside the
 * input), must encode again as route_send() would relay it, and must
 * decode from that encoding to the same message field by field, its
 * origin authentication (q, x, by) and an error's bytes unchanged.
 * Encoding the copy again must give the same bytes.  A message of any
 * other type must be refused.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callmsg.h"
#include "cbor_buf.h"
#include "cbor_scan.h"
#include "config.h"
#include "linkmsg.h"
#include "record.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A span of n bytes that lies inside [base, base + len). */
static bool
within(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

/* One whole encoded item inside the buffer it was decoded from. */
static void
check_item(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	if (p == NULL || n == 0 || !within(p, n, base, len) ||
	    cbor_scan_item(p, n) != n)
		abort();
}

static void
check_text(const char *s, size_t cap, bool (*valid)(const char *, size_t),
    bool optional)
{
	size_t	n;

	if ((n = strnlen(s, cap)) == cap)
		abort();
	if (n == 0 ? !optional : !valid(s, n))
		abort();
}

/* What every decoded message must be; msg/len is what it came from. */
static void
check_invariants(const struct callmsg *m, const uint8_t *msg, size_t len)
{
	if (m->hops > CALLMSG_HOPS)
		abort();
	if (callmsg_dest(m) != (m->type == CALLMSG_ANSWER ? m->origin :
	    m->provider))
		abort();
	switch (m->type) {
	case CALLMSG_CALL:
		check_text(m->service, sizeof(m->service), service_name_valid,
		    false);
		check_text(m->group, sizeof(m->group), group_name_valid, true);
		check_text(m->method, sizeof(m->method), method_name_valid,
		    false);
		if (m->args != NULL)
			check_item(m->args, m->argslen, msg, len);
		else if (m->argslen != 0)
			abort();
		if (m->result != NULL || m->resultlen != 0 ||
		    m->err.code != PEER_OK || m->err.msg != NULL)
			abort();
		break;
	case CALLMSG_ANSWER:
		if ((m->result != NULL) == (m->err.msg != NULL))
			abort();
		if (m->result != NULL) {
			check_item(m->result, m->resultlen, msg, len);
			if (m->err.code != PEER_OK || m->err.context != NULL)
				abort();
		} else {
			/* A code from the wire is never "OK". */
			if (m->err.code == PEER_OK ||
			    m->err.msglen > CTL_MSG_MAX ||
			    !within((const uint8_t *)m->err.msg, m->err.msglen,
			    msg, len))
				abort();
			if (m->err.context != NULL)
				check_item(m->err.context, m->err.contextlen,
				    msg, len);
			/* Relays forward the error as it came. */
			check_item(m->errraw, m->errrawlen, msg, len);
		}
		if (m->result != NULL && m->errraw != NULL)
			abort();
		break;
	case CALLMSG_CANCEL:
		if (m->result != NULL || m->err.msg != NULL)
			abort();
		break;
	case CALLMSG_EVENT:
		/* A topic, never a pattern; data is one item or none. */
		check_text(m->topic, sizeof(m->topic), topic_valid, false);
		if (m->args != NULL)
			check_item(m->args, m->argslen, msg, len);
		else if (m->argslen != 0)
			abort();
		if (m->result != NULL || m->resultlen != 0 ||
		    m->err.code != PEER_OK || m->err.msg != NULL)
			abort();
		break;
	case CALLMSG_KV:
		/* The body: always one map. */
		check_item(m->args, m->argslen, msg, len);
		if ((m->args[0] & 0xe0) != 0xa0)
			abort();
		if (m->result != NULL || m->resultlen != 0 ||
		    m->err.code != PEER_OK || m->err.msg != NULL)
			abort();
		break;
	default:
		abort();
	}
	/*
	 * Only a call has the fields of a call; an event's data and a kv
	 * message's body are args.
	 */
	if (m->type != CALLMSG_CALL && (m->service[0] != '\0' ||
	    m->group[0] != '\0' || m->method[0] != '\0' ||
	    (m->args != NULL && m->type != CALLMSG_EVENT &&
	    m->type != CALLMSG_KV) ||
	    m->timeout_ms != 0 || m->oneway))
		abort();
	/* Only an answer has an author other than its origin's. */
	if (m->type != CALLMSG_ANSWER && (m->has_by || m->errraw != NULL))
		abort();
	if (m->verified)
		abort();
	/* Only an event has a topic. */
	if (m->type != CALLMSG_EVENT && m->topic[0] != '\0')
		abort();
}

static bool
same_span(const void *a, size_t alen, const void *b, size_t blen)
{
	if ((a == NULL) != (b == NULL) || alen != blen)
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

static void
check_same(const struct callmsg *a, const struct callmsg *b)
{
	if (a->type != b->type ||
	    memcmp(a->origin, b->origin, NODE_ID_LEN) != 0 ||
	    memcmp(a->provider, b->provider, NODE_ID_LEN) != 0 ||
	    a->cid != b->cid || a->hops != b->hops)
		abort();
	if (strcmp(a->service, b->service) != 0 ||
	    strcmp(a->group, b->group) != 0 ||
	    strcmp(a->method, b->method) != 0 ||
	    !same_span(a->args, a->argslen, b->args, b->argslen) ||
	    a->timeout_ms != b->timeout_ms || a->oneway != b->oneway ||
	    strcmp(a->topic, b->topic) != 0)
		abort();
	if (!same_span(a->result, a->resultlen, b->result, b->resultlen) ||
	    a->err.code != b->err.code ||
	    !same_span(a->err.msg, a->err.msglen, b->err.msg, b->err.msglen) ||
	    !same_span(a->err.context, a->err.contextlen, b->err.context,
	    b->err.contextlen) ||
	    !same_span(a->errraw, a->errrawlen, b->errraw, b->errrawlen))
		abort();
	if (a->has_mac != b->has_mac || a->seq != b->seq ||
	    memcmp(a->mac, b->mac, CALLMSG_MAC_LEN) != 0 ||
	    a->has_by != b->has_by || memcmp(a->by, b->by, NODE_ID_LEN) != 0)
		abort();
}

/* Decodes a whole link message that must be a well-formed call message. */
static void
decode_again(const uint8_t *buf, size_t len, const char *type,
    struct callmsg *m)
{
	struct linkmsg	 lm;
	const char	*why = NULL;

	if (linkmsg_decode(buf, len, &lm) == -1 ||
	    strcmp(lm.type, type) != 0 ||
	    callmsg_decode(lm.type, lm.f, lm.nf, m, &why) == -1)
		abort();
}

/* The types route.c hands to callmsg_decode(): others must fail. */
static bool
is_call_type(const char *type)
{
	return strcmp(type, "call") == 0 || strcmp(type, "ans") == 0 ||
	    strcmp(type, "can") == 0 || strcmp(type, "ev") == 0 ||
	    strcmp(type, "kv") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct linkmsg	 lm;
	static struct callmsg	 m, back, again;
	struct cbor_buf		 b = { 0 }, b2 = { 0 };
	const char		*why = NULL;

	if (linkmsg_decode(data, size, &lm) == -1)
		return 0;
	if (!is_call_type(lm.type)) {
		if (callmsg_decode(lm.type, lm.f, lm.nf, &m, &why) != -1 ||
		    why == NULL)
			abort();
		return 0;
	}
	if (callmsg_decode(lm.type, lm.f, lm.nf, &m, &why) == -1) {
		if (why == NULL || *why == '\0')
			abort();
		return 0;
	}
	check_invariants(&m, data, size);

	/* Relayed as route_send() does it, then read at the next node. */
	callmsg_encode(&b, &m);
	if (b.failed)
		abort();
	decode_again(b.data, b.len, lm.type, &back);
	check_invariants(&back, b.data, b.len);
	check_same(&m, &back);

	/* The encoding of a decoded message is a fixed point. */
	callmsg_encode(&b2, &back);
	if (b2.failed || b2.len != b.len || memcmp(b2.data, b.data, b.len) != 0)
		abort();
	decode_again(b2.data, b2.len, lm.type, &again);
	check_same(&back, &again);

	cbor_buf_free(&b);
	cbor_buf_free(&b2);
	return 0;
}
