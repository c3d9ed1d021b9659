/* SPDX-License-Identifier: ISC */
/*
 * test_callmsg.c: the call messages of links ("call", "ans", "can", "ev"
 * for events and "kv" for the key-value store): round trips through the
 * link envelope, and every way a peer's call message can be wrong.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "callmsg.h"
#include "linkmsg.h"
#include "suites.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })

static const uint8_t	origin[NODE_ID_LEN] = { 0x01, 0x02, 0x03, 0x04 };
static const uint8_t	provider[NODE_ID_LEN] = { 0xf1, 0xf2, 0xf3, 0xf4 };

/*
 * Starts a message of the given type with its usual keys, less those
 * whose letters are in skip; the caller writes nextra keys after them.
 * The usual keys are o, p, c and h, for a call s, m and d too, for an
 * event s (its topic), and for a kv message a (its body).
 */
static void
put_msg(struct cbor_buf *b, const char *type, const char *skip,
    size_t nextra)
{
	const char	*keys, *k;
	size_t		 n = 1 + nextra;

	keys = strcmp(type, "call") == 0 ? "opchsmd" :
	    strcmp(type, "ev") == 0 ? "opchs" :
	    strcmp(type, "kv") == 0 ? "opcha" : "opch";
	for (k = keys; *k != '\0'; k++)
		if (strchr(skip, *k) == NULL)
			n++;
	cbor_buf_reset(b);
	cbor_put_map(b, n);
	cbor_put_text(b, "t");
	cbor_put_text(b, type);
	for (k = keys; *k != '\0'; k++) {
		if (strchr(skip, *k) != NULL)
			continue;
		cbor_put_textn(b, k, 1);
		switch (*k) {
		case 'o':
			cbor_put_bytes(b, origin, NODE_ID_LEN);
			break;
		case 'p':
			cbor_put_bytes(b, provider, NODE_ID_LEN);
			break;
		case 'c':
			cbor_put_uint(b, 77);
			break;
		case 'h':
			cbor_put_uint(b, 5);
			break;
		case 's':
			cbor_put_text(b, strcmp(type, "ev") == 0 ?
			    "sensor.temp" : "echo");
			break;
		case 'm':
			cbor_put_text(b, "say");
			break;
		case 'd':
			cbor_put_uint(b, 1500);
			break;
		case 'a':
			cbor_put_map(b, 1);
			cbor_put_text(b, "k");
			cbor_put_text(b, "r");
			break;
		}
	}
}

/* Decodes b as a whole link message; m's spans point into b. */
static int
decode(const struct cbor_buf *b, struct callmsg *m, const char **why)
{
	struct linkmsg	lm;
	int		rc;

	ck_assert(!b->failed);
	ck_assert_int_eq(linkmsg_decode(b->data, b->len, &lm), 0);
	*why = NULL;
	rc = callmsg_decode(lm.type, lm.f, lm.nf, m, why);
	if (rc == -1)
		ck_assert_ptr_nonnull(*why);
	return rc;
}

static void
accepted(const struct cbor_buf *b, struct callmsg *m)
{
	const char	*why;

	ck_assert_msg(decode(b, m, &why) == 0, "refused: %s", why);
}

/* The message in b is refused, with a reason that mentions word. */
static void
refused(const struct cbor_buf *b, const char *word)
{
	struct callmsg	 m;
	const char	*why;

	ck_assert_int_eq(decode(b, &m, &why), -1);
	ck_assert_msg(strstr(why, word) != NULL, "\"%s\" lacks \"%s\"", why,
	    word);
}

/* Encodes m, checks the envelope has nf keys, and decodes it into back. */
static void
round_trip(const struct callmsg *m, struct cbor_buf *b, int nf,
    struct callmsg *back)
{
	struct linkmsg	lm;

	cbor_buf_reset(b);
	callmsg_encode(b, m);
	ck_assert(!b->failed);
	ck_assert_int_eq(linkmsg_decode(b->data, b->len, &lm), 0);
	ck_assert_int_eq(lm.nf, nf);
	accepted(b, back);
	ck_assert_int_eq(back->type, m->type);
	ck_assert_mem_eq(back->origin, m->origin, NODE_ID_LEN);
	ck_assert_mem_eq(back->provider, m->provider, NODE_ID_LEN);
	ck_assert_uint_eq(back->cid, m->cid);
	ck_assert_uint_eq(back->hops, m->hops);
}

static void
sample(struct callmsg *m, enum callmsg_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->origin, origin, NODE_ID_LEN);
	memcpy(m->provider, provider, NODE_ID_LEN);
	m->cid = UINT64_MAX;
	m->hops = CALLMSG_HOPS;
}

START_TEST(test_round_trip_call)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m, back;
	const uint8_t	 args[] = { 0x82, 0x01, 0x61, 'x' };	/* [1, "x"] */

	sample(&m, CALLMSG_CALL);
	strcpy(m.service, "echo-2.v_1");
	strcpy(m.group, "ops");
	strcpy(m.method, "Caf\xc3\xa9.say hello");
	m.args = args;
	m.argslen = sizeof(args);
	m.timeout_ms = 30000;
	m.oneway = true;
	round_trip(&m, &b, 11, &back);
	ck_assert_str_eq(back.service, "echo-2.v_1");
	ck_assert_str_eq(back.group, "ops");
	ck_assert_str_eq(back.method, "Caf\xc3\xa9.say hello");
	ck_assert_uint_eq(back.argslen, sizeof(args));
	ck_assert_mem_eq(back.args, args, sizeof(args));
	ck_assert_uint_eq(back.timeout_ms, 30000);
	ck_assert(back.oneway);
	ck_assert_ptr_null(back.result);
	ck_assert_ptr_eq(callmsg_dest(&back), back.provider);

	/* No group, no arguments, an answer wanted: those keys are left out. */
	sample(&m, CALLMSG_CALL);
	strcpy(m.service, "echo");
	strcpy(m.method, "say");
	m.cid = 0;
	m.hops = 0;
	round_trip(&m, &b, 8, &back);
	ck_assert_str_eq(back.group, "");
	ck_assert_ptr_null(back.args);
	ck_assert_uint_eq(back.argslen, 0);
	ck_assert_uint_eq(back.timeout_ms, 0);
	ck_assert(!back.oneway);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_round_trip_answer)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m, back;
	const uint8_t	 res[] = { 0xa1, 0x61, 'k', 0xf6 };	/* {"k": null} */
	const uint8_t	 ctx[] = { 0x81, 0x07 };		/* [7] */

	sample(&m, CALLMSG_ANSWER);
	m.result = res;
	m.resultlen = sizeof(res);
	round_trip(&m, &b, 6, &back);
	ck_assert_uint_eq(back.resultlen, sizeof(res));
	ck_assert_mem_eq(back.result, res, sizeof(res));
	ck_assert_int_eq(back.err.code, PEER_OK);
	ck_assert_ptr_null(back.err.msg);
	ck_assert_ptr_eq(callmsg_dest(&back), back.origin);

	sample(&m, CALLMSG_ANSWER);
	m.err.code = PEER_NOT_FOUND;
	m.err.msg = "no such method";
	m.err.msglen = strlen(m.err.msg);
	m.err.context = ctx;
	m.err.contextlen = sizeof(ctx);
	round_trip(&m, &b, 6, &back);
	ck_assert_ptr_null(back.result);
	ck_assert_int_eq(back.err.code, PEER_NOT_FOUND);
	ck_assert_uint_eq(back.err.msglen, strlen("no such method"));
	ck_assert_mem_eq(back.err.msg, "no such method", back.err.msglen);
	ck_assert_uint_eq(back.err.contextlen, sizeof(ctx));
	ck_assert_mem_eq(back.err.context, ctx, sizeof(ctx));

	/* Without a context, and with an empty message. */
	m.err.code = PEER_UNAVAILABLE;
	m.err.msg = "";
	m.err.msglen = 0;
	m.err.context = NULL;
	m.err.contextlen = 0;
	round_trip(&m, &b, 6, &back);
	ck_assert_int_eq(back.err.code, PEER_UNAVAILABLE);
	ck_assert_uint_eq(back.err.msglen, 0);
	ck_assert_ptr_null(back.err.context);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_round_trip_cancel)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m, back;

	sample(&m, CALLMSG_CANCEL);
	m.cid = 12;
	m.hops = 3;
	round_trip(&m, &b, 5, &back);
	ck_assert_ptr_eq(callmsg_dest(&back), back.provider);
	ck_assert_str_eq(back.service, "");
	ck_assert_ptr_null(back.result);
	ck_assert_ptr_null(back.err.msg);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_round_trip_event)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m, back;
	const uint8_t	 data[] = { 0xa1, 0x61, 'c', 0x15 };	/* {"c": 21} */
	char		 topic[TOPIC_MAX + 1];

	sample(&m, CALLMSG_EVENT);
	strcpy(m.topic, "sensor.temp");
	m.args = data;
	m.argslen = sizeof(data);
	round_trip(&m, &b, 7, &back);
	ck_assert_str_eq(back.topic, "sensor.temp");
	ck_assert_uint_eq(back.argslen, sizeof(data));
	ck_assert_mem_eq(back.args, data, sizeof(data));
	ck_assert_ptr_eq(callmsg_dest(&back), back.provider);
	ck_assert_str_eq(back.service, "");
	ck_assert_str_eq(back.method, "");
	ck_assert_ptr_null(back.result);
	ck_assert_ptr_null(back.err.msg);

	/* Without data, and with the longest topic: no "a" key. */
	sample(&m, CALLMSG_EVENT);
	memset(topic, 'z', TOPIC_MAX);
	topic[TOPIC_MAX] = '\0';
	strcpy(m.topic, topic);
	m.cid = 1;
	m.hops = 0;
	round_trip(&m, &b, 6, &back);
	ck_assert_str_eq(back.topic, topic);
	ck_assert_ptr_null(back.args);
	ck_assert_uint_eq(back.argslen, 0);

	/* Data that is null is still data. */
	put_msg(&b, "ev", "", 1);
	cbor_put_text(&b, "a");
	cbor_put_null(&b);
	accepted(&b, &back);
	ck_assert_uint_eq(back.argslen, 1);
	ck_assert_mem_eq(back.args, B(0xf6), 1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_round_trip_kv)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m, back;
	/* {"k": "r", "key": "a"} */
	const uint8_t	 body[] = { 0xa2, 0x61, 'k', 0x61, 'r', 0x63, 'k', 'e',
			    'y', 0x61, 'a' };

	sample(&m, CALLMSG_KV);
	m.args = body;
	m.argslen = sizeof(body);
	round_trip(&m, &b, 6, &back);
	ck_assert_uint_eq(back.argslen, sizeof(body));
	ck_assert_mem_eq(back.args, body, sizeof(body));
	ck_assert_ptr_eq(callmsg_dest(&back), back.provider);
	ck_assert_str_eq(back.service, "");
	ck_assert_str_eq(back.topic, "");
	ck_assert_uint_eq(back.timeout_ms, 0);
	ck_assert_ptr_null(back.result);
	ck_assert_ptr_null(back.err.msg);

	/* cid 0 (no answer wanted), no hops left, an empty body. */
	sample(&m, CALLMSG_KV);
	m.cid = 0;
	m.hops = 0;
	m.args = B(0xa0);
	m.argslen = 1;
	round_trip(&m, &b, 6, &back);
	ck_assert_uint_eq(back.argslen, 1);
	ck_assert_mem_eq(back.args, B(0xa0), 1);

	/* An indefinite map is a map too. */
	put_msg(&b, "kv", "a", 1);
	cbor_put_text(&b, "a");
	cbor_put_raw(&b, B(0xbf, 0xff), 2);
	accepted(&b, &back);
	ck_assert_uint_eq(back.argslen, 2);
	cbor_buf_free(&b);
}
END_TEST

/* q, x and by make the same message again, and a relay keeps them. */
START_TEST(test_round_trip_auth)
{
	static const int	 nf[] = { 8, 6, 5, 6, 6 };
	struct cbor_buf		 b = { 0 };
	struct callmsg		 m, back;
	const uint8_t		 body[] = { 0xa0 };
	int			 t;

	for (t = CALLMSG_CALL; t <= CALLMSG_KV; t++) {
		sample(&m, t);
		if (t == CALLMSG_CALL) {
			strcpy(m.service, "echo");
			strcpy(m.method, "say");
		} else if (t == CALLMSG_EVENT) {
			strcpy(m.topic, "sensor.temp");
		} else if (t == CALLMSG_KV) {
			m.args = body;
			m.argslen = sizeof(body);
		} else if (t == CALLMSG_ANSWER) {
			m.err.code = PEER_UNAVAILABLE;
			m.err.msg = "gone";
			m.err.msglen = 4;
		}
		round_trip(&m, &b, nf[t], &back);
		ck_assert(!back.has_mac);
		ck_assert(!back.has_by);
		m.seq = UINT64_MAX - t;
		memset(m.mac, 0xa0 + t, sizeof(m.mac));
		m.has_mac = true;
		round_trip(&m, &b, nf[t] + 2, &back);
		ck_assert(back.has_mac);
		ck_assert_uint_eq(back.seq, UINT64_MAX - t);
		ck_assert_mem_eq(back.mac, m.mac, CALLMSG_MAC_LEN);
		ck_assert(!back.verified);
	}
	/* by, in an answer only */
	sample(&m, CALLMSG_ANSWER);
	m.err.code = PEER_UNAVAILABLE;
	m.err.msg = "gone";
	m.err.msglen = 4;
	m.has_mac = true;
	memcpy(m.by, "relay relay relay relay relay 32", NODE_ID_LEN);
	m.has_by = true;
	round_trip(&m, &b, nf[CALLMSG_ANSWER] + 3, &back);
	ck_assert(back.has_by);
	ck_assert_mem_eq(back.by, m.by, NODE_ID_LEN);
	ck_assert(back.has_mac);
	cbor_buf_free(&b);
}
END_TEST

/* Every way q, x and by can be wrong drops the message. */
START_TEST(test_bad_auth)
{
	static const char *const types[] = { "call", "ans", "can", "ev",
				    "kv" };
	struct cbor_buf		 b = { 0 };
	struct callmsg		 m;
	uint8_t			 x[CALLMSG_MAC_LEN + 1] = { 0 };
	size_t			 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		/* An answer also needs its result. */
		size_t	r = strcmp(types[i], "ans") == 0;

#define PUT(n)	do {							\
		put_msg(&b, types[i], "", (n) + r);			\
		if (r) {						\
			cbor_put_text(&b, "r");				\
			cbor_put_uint(&b, 1);				\
		}							\
	} while (0)
		PUT(2);
		cbor_put_text(&b, "q");
		cbor_put_uint(&b, 9);
		cbor_put_text(&b, "x");
		cbor_put_bytes(&b, x, CALLMSG_MAC_LEN);
		accepted(&b, &m);
		ck_assert(m.has_mac);
		ck_assert_uint_eq(m.seq, 9);

		PUT(1);				/* q alone */
		cbor_put_text(&b, "q");
		cbor_put_uint(&b, 9);
		refused(&b, "origin authentication");
		PUT(1);				/* x alone */
		cbor_put_text(&b, "x");
		cbor_put_bytes(&b, x, CALLMSG_MAC_LEN);
		refused(&b, "origin authentication");
		PUT(2);				/* x too short */
		cbor_put_text(&b, "q");
		cbor_put_uint(&b, 9);
		cbor_put_text(&b, "x");
		cbor_put_bytes(&b, x, CALLMSG_MAC_LEN - 1);
		refused(&b, "origin authentication");
		PUT(2);				/* x too long */
		cbor_put_text(&b, "q");
		cbor_put_uint(&b, 9);
		cbor_put_text(&b, "x");
		cbor_put_bytes(&b, x, CALLMSG_MAC_LEN + 1);
		refused(&b, "origin authentication");
		PUT(2);				/* x as text */
		cbor_put_text(&b, "q");
		cbor_put_uint(&b, 9);
		cbor_put_text(&b, "x");
		cbor_put_text(&b, "0123456789abcdef");
		refused(&b, "origin authentication");
		PUT(2);				/* q not a uint */
		cbor_put_text(&b, "q");
		cbor_put_int(&b, -1);
		cbor_put_text(&b, "x");
		cbor_put_bytes(&b, x, CALLMSG_MAC_LEN);
		refused(&b, "origin authentication");
#undef PUT
	}

	put_msg(&b, "ans", "", 2);
	cbor_put_text(&b, "r");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "by");
	cbor_put_bytes(&b, origin, NODE_ID_LEN - 1);
	refused(&b, "author");
	put_msg(&b, "ans", "", 2);
	cbor_put_text(&b, "r");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "by");
	cbor_put_text(&b, "relay");
	refused(&b, "author");
	put_msg(&b, "ans", "", 2);
	cbor_put_text(&b, "r");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "by");
	cbor_put_bytes(&b, origin, NODE_ID_LEN);
	accepted(&b, &m);
	ck_assert(m.has_by);
	ck_assert_mem_eq(m.by, origin, NODE_ID_LEN);
	/* by is an answer's key: elsewhere unknown, so ignored */
	put_msg(&b, "can", "", 1);
	cbor_put_text(&b, "by");
	cbor_put_text(&b, "relay");
	accepted(&b, &m);
	ck_assert(!m.has_by);
	cbor_buf_free(&b);
}
END_TEST

/*
 * An error goes on as its author encoded it, keys in its order and
 * codes this node does not know, so that its MAC still holds.
 */
START_TEST(test_error_raw)
{
	struct cbor_buf	 b = { 0 }, out = { 0 };
	struct callmsg	 m;
	const uint8_t	*e;
	size_t		 elen, at;

	put_msg(&b, "ans", "", 1);
	cbor_put_text(&b, "e");
	at = b.len;
	cbor_put_map(&b, 3);
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	cbor_put_text(&b, "future");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "NOT_YET_A_CODE");
	ck_assert(!b.failed);
	e = b.data + at;
	elen = b.len - at;
	accepted(&b, &m);
	ck_assert_int_eq(m.err.code, PEER_UNKNOWN);
	ck_assert_ptr_eq(m.errraw, e);
	ck_assert_uint_eq(m.errrawlen, elen);
	callmsg_encode(&out, &m);
	ck_assert(!out.failed);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_mem_eq(out.data, b.data, b.len);

	/* A result has no raw error. */
	put_msg(&b, "ans", "", 1);
	cbor_put_text(&b, "r");
	cbor_put_uint(&b, 1);
	accepted(&b, &m);
	ck_assert_ptr_null(m.errraw);
	cbor_buf_free(&b);
	cbor_buf_free(&out);
}
END_TEST

START_TEST(test_types)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m;
	const char	*why = NULL;

	put_msg(&b, "ping", "", 0);
	refused(&b, "not a call message");
	ck_assert_int_eq(callmsg_decode("", NULL, 0, &m, &why), -1);
	ck_assert_ptr_nonnull(why);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_unknown_keys_ignored)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;

	put_msg(&b, "call", "", 3);
	cbor_put_text(&b, "future");
	cbor_put_map(&b, 0);
	cbor_put_text(&b, "r");		/* an answer's key, in a call */
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "e");
	cbor_put_null(&b);
	accepted(&b, &m);
	ck_assert_ptr_null(m.result);
	ck_assert_ptr_null(m.err.msg);
	ck_assert_str_eq(m.method, "say");

	put_msg(&b, "can", "", 1);
	cbor_put_text(&b, "s");
	cbor_put_text(&b, "NOT A NAME");
	accepted(&b, &m);
	ck_assert_str_eq(m.service, "");
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_missing_common)
{
	static const char *const types[] = { "call", "ans", "can" };
	struct cbor_buf		 b = { 0 };
	const char		*k;
	char			 skip[2] = { 0 };
	size_t			 i, extra;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		extra = strcmp(types[i], "ans") == 0;
		for (k = "opch"; *k != '\0'; k++) {
			skip[0] = *k;
			put_msg(&b, types[i], skip, extra);
			if (extra) {
				cbor_put_text(&b, "r");
				cbor_put_null(&b);
			}
			refused(&b, "missing origin");
		}
	}
	cbor_buf_free(&b);
}
END_TEST

/* A message of type with key written by the caller in place of its own. */
static void
put_replaced(struct cbor_buf *b, const char *type, const char *key)
{
	put_msg(b, type, key, 1);
	cbor_put_text(b, key);
}

START_TEST(test_bad_common)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;
	uint8_t		id[NODE_ID_LEN + 1];

	memset(id, 0x5a, sizeof(id));
	put_replaced(&b, "call", "o");
	cbor_put_bytes(&b, id, NODE_ID_LEN - 1);
	refused(&b, "origin");
	put_replaced(&b, "call", "o");
	cbor_put_bytes(&b, id, NODE_ID_LEN + 1);
	refused(&b, "origin");
	put_replaced(&b, "can", "p");
	cbor_put_bytes(&b, id, 0);
	refused(&b, "provider");
	put_replaced(&b, "ans", "p");
	cbor_put_textn(&b, (const char *)id, NODE_ID_LEN);
	refused(&b, "provider");
	put_replaced(&b, "can", "o");
	cbor_put_array(&b, 0);
	refused(&b, "origin");

	put_replaced(&b, "can", "c");
	cbor_put_int(&b, -1);
	refused(&b, "call number");
	put_replaced(&b, "can", "c");
	cbor_put_text(&b, "77");
	refused(&b, "call number");
	put_replaced(&b, "can", "h");
	cbor_put_bool(&b, true);
	refused(&b, "hops");

	put_replaced(&b, "can", "o");
	cbor_put_bytes(&b, id, NODE_ID_LEN);
	accepted(&b, &m);
	ck_assert_mem_eq(m.origin, id, NODE_ID_LEN);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_hops_clamped)
{
	static const uint64_t	in[] = { 0, 1, CALLMSG_HOPS, CALLMSG_HOPS + 1,
				    255, UINT64_MAX };
	static const uint64_t	out[] = { 0, 1, CALLMSG_HOPS, CALLMSG_HOPS,
				    CALLMSG_HOPS, CALLMSG_HOPS };
	struct cbor_buf		b = { 0 };
	struct callmsg		m;
	size_t			i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		put_replaced(&b, "call", "h");
		cbor_put_uint(&b, in[i]);
		accepted(&b, &m);
		ck_assert_uint_eq(m.hops, out[i]);
	}
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_service)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;
	char		s[SERVICE_NAME_MAX + 2];

	put_msg(&b, "call", "s", 0);
	refused(&b, "service");
	put_replaced(&b, "call", "s");
	cbor_put_text(&b, "Echo");
	refused(&b, "service");
	put_replaced(&b, "call", "s");
	cbor_put_text(&b, "");
	refused(&b, "service");
	put_replaced(&b, "call", "s");
	cbor_put_text(&b, "a b");
	refused(&b, "service");
	put_replaced(&b, "call", "s");
	cbor_put_bytes(&b, "echo", 4);
	refused(&b, "service");

	memset(s, 'a', sizeof(s));
	put_replaced(&b, "call", "s");
	cbor_put_textn(&b, s, SERVICE_NAME_MAX + 1);
	refused(&b, "service");
	put_replaced(&b, "call", "s");
	cbor_put_textn(&b, s, SERVICE_NAME_MAX);
	accepted(&b, &m);
	ck_assert_uint_eq(strlen(m.service), SERVICE_NAME_MAX);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_group)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;
	char		g[GROUP_NAME_MAX + 2];

	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "g");
	cbor_put_text(&b, "");
	refused(&b, "group");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "g");
	cbor_put_text(&b, "Ops");
	refused(&b, "group");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "g");
	cbor_put_uint(&b, 1);
	refused(&b, "group");

	memset(g, 'g', sizeof(g));
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "g");
	cbor_put_textn(&b, g, GROUP_NAME_MAX + 1);
	refused(&b, "group");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "g");
	cbor_put_textn(&b, g, GROUP_NAME_MAX);
	accepted(&b, &m);
	ck_assert_uint_eq(strlen(m.group), GROUP_NAME_MAX);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_method)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;
	char		s[METHOD_NAME_MAX + 1];

	put_msg(&b, "call", "m", 0);
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_text(&b, "");
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_text(&b, "a\nb");
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_text(&b, "a\x7f");
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_textn(&b, "a\0b", 3);
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_bytes(&b, "say", 3);
	refused(&b, "method");

	memset(s, 'm', sizeof(s));
	put_replaced(&b, "call", "m");
	cbor_put_textn(&b, s, METHOD_NAME_MAX + 1);
	refused(&b, "method");
	put_replaced(&b, "call", "m");
	cbor_put_textn(&b, s, METHOD_NAME_MAX);
	accepted(&b, &m);
	ck_assert_uint_eq(strlen(m.method), METHOD_NAME_MAX);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_event)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m;
	const char	*k;
	char		 skip[2] = { 0 }, t[TOPIC_MAX + 2];

	put_msg(&b, "ev", "s", 0);
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_text(&b, "Sensor.temp");
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_text(&b, "");
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_text(&b, "sensor temp");
	refused(&b, "ev: bad topic");
	/* A pattern is not a topic. */
	put_replaced(&b, "ev", "s");
	cbor_put_text(&b, "sensor.*");
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_text(&b, "*");
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_bytes(&b, "sensor", 6);
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_textn(&b, "a\0b", 3);
	refused(&b, "ev: bad topic");

	memset(t, 't', sizeof(t));
	put_replaced(&b, "ev", "s");
	cbor_put_textn(&b, t, TOPIC_MAX + 1);
	refused(&b, "ev: bad topic");
	put_replaced(&b, "ev", "s");
	cbor_put_textn(&b, t, TOPIC_MAX);
	accepted(&b, &m);
	ck_assert_uint_eq(strlen(m.topic), TOPIC_MAX);

	/* The publisher, destination, sequence number and hops are needed. */
	for (k = "opch"; *k != '\0'; k++) {
		skip[0] = *k;
		put_msg(&b, "ev", skip, 0);
		refused(&b, "missing origin");
	}
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_bad_kv)
{
	struct cbor_buf	 b = { 0 };
	const char	*k;
	char		 skip[2] = { 0 };

	put_msg(&b, "kv", "a", 0);
	refused(&b, "kv: no body");
	put_replaced(&b, "kv", "a");
	cbor_put_null(&b);
	refused(&b, "kv: no body");
	put_replaced(&b, "kv", "a");
	cbor_put_array(&b, 0);
	refused(&b, "kv: no body");
	put_replaced(&b, "kv", "a");
	cbor_put_text(&b, "k");
	refused(&b, "kv: no body");
	put_replaced(&b, "kv", "a");
	cbor_put_bytes(&b, B(0xa0), 1);
	refused(&b, "kv: no body");
	for (k = "opch"; *k != '\0'; k++) {
		skip[0] = *k;
		put_msg(&b, "kv", skip, 0);
		refused(&b, "missing origin");
	}
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_deadline_args_oneway)
{
	struct cbor_buf	b = { 0 };
	struct callmsg	m;

	put_msg(&b, "call", "d", 0);
	refused(&b, "deadline");
	put_replaced(&b, "call", "d");
	cbor_put_text(&b, "1500");
	refused(&b, "deadline");
	put_replaced(&b, "call", "d");
	cbor_put_int(&b, -1);
	refused(&b, "deadline");
	/* Zero is well-formed: the router answers it, not the decoder. */
	put_replaced(&b, "call", "d");
	cbor_put_uint(&b, 0);
	accepted(&b, &m);
	ck_assert_uint_eq(m.timeout_ms, 0);

	/* Arguments are any one item, kept as encoded. */
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "a");
	cbor_put_null(&b);
	accepted(&b, &m);
	ck_assert_uint_eq(m.argslen, 1);
	ck_assert_mem_eq(m.args, B(0xf6), 1);

	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "w");
	cbor_put_uint(&b, 1);
	refused(&b, "oneway");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "w");
	cbor_put_text(&b, "true");
	refused(&b, "oneway");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "w");
	cbor_put_null(&b);
	refused(&b, "oneway");
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "w");
	cbor_put_bool(&b, false);
	accepted(&b, &m);
	ck_assert(!m.oneway);
	put_msg(&b, "call", "", 1);
	cbor_put_text(&b, "w");
	cbor_put_bool(&b, true);
	accepted(&b, &m);
	ck_assert(m.oneway);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_answer_result_or_error)
{
	struct cbor_buf	b = { 0 };

	put_msg(&b, "ans", "", 0);
	refused(&b, "exactly one");
	put_msg(&b, "ans", "", 2);
	cbor_put_text(&b, "r");
	cbor_put_uint(&b, 1);
	cbor_put_text(&b, "e");
	ctl_put_error_value(&b, PEER_INTERNAL, "m", 1, NULL, 0);
	refused(&b, "exactly one");
	cbor_buf_free(&b);
}
END_TEST

/* An answer whose error is a map of n keys the caller writes next. */
static void
put_error_map(struct cbor_buf *b, size_t n)
{
	put_msg(b, "ans", "", 1);
	cbor_put_text(b, "e");
	cbor_put_map(b, n);
}

START_TEST(test_malformed_error)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m;
	char		*big;

	put_msg(&b, "ans", "", 1);
	cbor_put_text(&b, "e");
	cbor_put_text(&b, "INTERNAL");
	refused(&b, "malformed error");
	put_error_map(&b, 0);
	refused(&b, "malformed error");
	put_error_map(&b, 1);
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	refused(&b, "malformed error");
	put_error_map(&b, 1);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "INTERNAL");
	refused(&b, "malformed error");
	put_error_map(&b, 2);
	cbor_put_text(&b, "code");
	cbor_put_uint(&b, 13);
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	refused(&b, "malformed error");
	put_error_map(&b, 2);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "INTERNAL");
	cbor_put_text(&b, "message");
	cbor_put_bytes(&b, "m", 1);
	refused(&b, "malformed error");
	put_error_map(&b, 2);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "THIS_CODE_NAME_IS_FAR_TOO_LONG_TO_BE_ONE");
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	refused(&b, "malformed error");

	/* Codes we do not know, and "OK", are still errors. */
	put_error_map(&b, 2);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "TEAPOT");
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	accepted(&b, &m);
	ck_assert_int_eq(m.err.code, PEER_UNKNOWN);
	put_error_map(&b, 2);
	cbor_put_text(&b, "code");
	cbor_put_text(&b, "OK");
	cbor_put_text(&b, "message");
	cbor_put_text(&b, "m");
	accepted(&b, &m);
	ck_assert_int_eq(m.err.code, PEER_UNKNOWN);

	/* The message may be as long as a control error's, no longer. */
	ck_assert_ptr_nonnull(big = malloc(CTL_MSG_MAX + 1));
	memset(big, 'x', CTL_MSG_MAX + 1);
	put_msg(&b, "ans", "", 1);
	cbor_put_text(&b, "e");
	ctl_put_error_value(&b, PEER_INTERNAL, big, CTL_MSG_MAX + 1, NULL, 0);
	refused(&b, "malformed error");
	put_msg(&b, "ans", "", 1);
	cbor_put_text(&b, "e");
	ctl_put_error_value(&b, PEER_INTERNAL, big, CTL_MSG_MAX, NULL, 0);
	accepted(&b, &m);
	ck_assert_uint_eq(m.err.msglen, CTL_MSG_MAX);
	free(big);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_truncated_and_trailing)
{
	struct cbor_buf	 b = { 0 };
	struct callmsg	 m;
	struct linkmsg	 lm;
	size_t		 i;

	sample(&m, CALLMSG_CALL);
	strcpy(m.service, "echo");
	strcpy(m.method, "say");
	m.args = B(0x01);
	m.argslen = 1;
	callmsg_encode(&b, &m);
	ck_assert(!b.failed);
	for (i = 0; i < b.len; i++)
		ck_assert_int_eq(linkmsg_decode(b.data, i, &lm), -1);
	cbor_put_uint(&b, 0);
	ck_assert_int_eq(linkmsg_decode(b.data, b.len, &lm), -1);
	cbor_buf_free(&b);
}
END_TEST

START_TEST(test_method_name_valid)
{
	char	s[METHOD_NAME_MAX + 1];

	memset(s, 'a', sizeof(s));
	ck_assert(method_name_valid(s, METHOD_NAME_MAX));
	ck_assert(!method_name_valid(s, METHOD_NAME_MAX + 1));
	ck_assert(!method_name_valid(s, 0));
	ck_assert(method_name_valid("a", 1));
	ck_assert(method_name_valid(" ", 1));
	ck_assert(method_name_valid("~", 1));
	ck_assert(method_name_valid("Svc/Get-Item.v2", 15));
	ck_assert(!method_name_valid("\x7f", 1));
	ck_assert(!method_name_valid("\x1f", 1));
	ck_assert(!method_name_valid("a\tb", 3));
	ck_assert(!method_name_valid("a\0b", 3));
	ck_assert(!method_name_valid("ab\r", 3));
	/* Only the n bytes given count. */
	ck_assert(method_name_valid("ab\n", 2));
	/* Text beyond ASCII is fine. */
	ck_assert(method_name_valid("h\xc3\xa9llo", 6));
	ck_assert(method_name_valid("\xe6\x97\xa5\xe6\x9c\xac", 6));
	ck_assert(method_name_valid("\xf0\x9f\x93\x9e", 4));
}
END_TEST

Suite *
callmsg_suite(void)
{
	Suite	*s = suite_create("callmsg");
	TCase	*tc = tcase_create("callmsg");

	tcase_add_test(tc, test_round_trip_call);
	tcase_add_test(tc, test_round_trip_answer);
	tcase_add_test(tc, test_round_trip_cancel);
	tcase_add_test(tc, test_round_trip_event);
	tcase_add_test(tc, test_bad_event);
	tcase_add_test(tc, test_round_trip_kv);
	tcase_add_test(tc, test_round_trip_auth);
	tcase_add_test(tc, test_bad_auth);
	tcase_add_test(tc, test_error_raw);
	tcase_add_test(tc, test_bad_kv);
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_unknown_keys_ignored);
	tcase_add_test(tc, test_missing_common);
	tcase_add_test(tc, test_bad_common);
	tcase_add_test(tc, test_hops_clamped);
	tcase_add_test(tc, test_bad_service);
	tcase_add_test(tc, test_bad_group);
	tcase_add_test(tc, test_bad_method);
	tcase_add_test(tc, test_deadline_args_oneway);
	tcase_add_test(tc, test_answer_result_or_error);
	tcase_add_test(tc, test_malformed_error);
	tcase_add_test(tc, test_truncated_and_trailing);
	tcase_add_test(tc, test_method_name_valid);
	suite_add_tcase(s, tc);
	return s;
}
