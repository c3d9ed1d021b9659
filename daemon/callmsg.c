/* SPDX-License-Identifier: ISC */
/*
 * callmsg.c: encoding and decoding the call messages of links.  Every
 * field is checked here, so the code that routes and serves calls only
 * sees well-formed ones; arguments and results stay encoded spans.
 */
#include <string.h>

#include "callmsg.h"

bool
method_name_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > METHOD_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static const char *const	types[CALLMSG_TYPES] = { "call", "ans", "can",
				    "ev", "kv" };

const char *
callmsg_type_name(enum callmsg_type t)
{
	return types[t];
}

const uint8_t *
callmsg_dest(const struct callmsg *m)
{
	return m->type == CALLMSG_ANSWER ? m->origin : m->provider;
}

static bool
read_id(const struct cbor_field *f, int nf, const char *key, uint8_t *id)
{
	const struct cbor_field	*v;
	const uint8_t		*p;
	size_t			 n;

	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &p, &n) || n != NODE_ID_LEN)
		return false;
	memcpy(id, p, NODE_ID_LEN);
	return true;
}

/* Copies a text field that valid() accepts; absent is "" if optional. */
static bool
read_name(const struct cbor_field *f, int nf, const char *key, char *buf,
    size_t cap, bool optional, bool (*valid)(const char *, size_t))
{
	const struct cbor_field	*v;

	buf[0] = '\0';
	if ((v = cbor_field_get(f, nf, key)) == NULL)
		return optional;
	return cbor_read_name(v->val, v->vallen, buf, cap, valid);
}

static int
decode_call(const struct cbor_field *f, int nf, struct callmsg *m,
    const char **why)
{
	const struct cbor_field	*v;

	if (!read_name(f, nf, "s", m->service, sizeof(m->service), false,
	    service_name_valid) || !read_name(f, nf, "g", m->group,
	    sizeof(m->group), true, group_name_valid)) {
		*why = "call: bad service or group";
		return -1;
	}
	if (!read_name(f, nf, "m", m->method, sizeof(m->method), false,
	    method_name_valid)) {
		*why = "call: bad method";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "d", &m->timeout_ms)) {
		*why = "call: no deadline";
		return -1;
	}
	/* No node keeps an invocation longer than a caller may ask. */
	if (m->timeout_ms > CALLMSG_TIMEOUT_MAX)
		m->timeout_ms = CALLMSG_TIMEOUT_MAX;
	if ((v = cbor_field_get(f, nf, "a")) != NULL) {
		m->args = v->val;
		m->argslen = v->vallen;
	}
	if ((v = cbor_field_get(f, nf, "w")) != NULL &&
	    !cbor_read_bool(v->val, v->vallen, &m->oneway)) {
		*why = "call: bad oneway flag";
		return -1;
	}
	return 0;
}

static int
decode_event(const struct cbor_field *f, int nf, struct callmsg *m,
    const char **why)
{
	const struct cbor_field	*v;

	if (!read_name(f, nf, "s", m->topic, sizeof(m->topic), false,
	    topic_valid)) {
		*why = "ev: bad topic";
		return -1;
	}
	if ((v = cbor_field_get(f, nf, "a")) != NULL) {
		m->args = v->val;
		m->argslen = v->vallen;
	}
	return 0;
}

static int
decode_kv(const struct cbor_field *f, int nf, struct callmsg *m,
    const char **why)
{
	const struct cbor_field	*v;

	/* A map, as the envelope scanned it; kvmsg_decode reads the rest. */
	if ((v = cbor_field_get(f, nf, "a")) == NULL ||
	    (v->val[0] & 0xe0) != 0xa0) {
		*why = "kv: no body";
		return -1;
	}
	m->args = v->val;
	m->argslen = v->vallen;
	return 0;
}

static int
decode_answer(const struct cbor_field *f, int nf, struct callmsg *m,
    const char **why)
{
	const struct cbor_field	*r, *e;

	r = cbor_field_get(f, nf, "r");
	e = cbor_field_get(f, nf, "e");
	if ((r == NULL) == (e == NULL)) {
		*why = "ans: not exactly one of result and error";
		return -1;
	}
	if (r != NULL) {
		m->result = r->val;
		m->resultlen = r->vallen;
	} else if (!ctl_error_decode(e->val, e->vallen, &m->err) ||
	    m->err.msglen > CTL_MSG_MAX) {
		*why = "ans: malformed error";
		return -1;
	} else {
		m->errraw = e->val;
		m->errrawlen = e->vallen;
	}
	if (cbor_field_get(f, nf, "by") != NULL) {
		if (!read_id(f, nf, "by", m->by)) {
			*why = "ans: bad author";
			return -1;
		}
		m->has_by = true;
	}
	return 0;
}

/* q and x: both or neither, x of exactly CALLMSG_MAC_LEN bytes. */
static int
decode_auth(const struct cbor_field *f, int nf, struct callmsg *m,
    const char **why)
{
	const struct cbor_field	*q, *x;
	const uint8_t		*p;
	size_t			 n;

	q = cbor_field_get(f, nf, "q");
	x = cbor_field_get(f, nf, "x");
	if (q == NULL && x == NULL)
		return 0;
	if (q == NULL || x == NULL || !cbor_read_uint(q->val, q->vallen,
	    &m->seq) || !cbor_read_bytes(x->val, x->vallen, &p, &n) ||
	    n != CALLMSG_MAC_LEN) {
		*why = "bad origin authentication";
		return -1;
	}
	memcpy(m->mac, p, CALLMSG_MAC_LEN);
	m->has_mac = true;
	return 0;
}

int
callmsg_decode(const char *type, const struct cbor_field *f, int nf,
    struct callmsg *m, const char **why)
{
	memset(m, 0, sizeof(*m));
	if (strcmp(type, "call") == 0)
		m->type = CALLMSG_CALL;
	else if (strcmp(type, "ans") == 0)
		m->type = CALLMSG_ANSWER;
	else if (strcmp(type, "can") == 0)
		m->type = CALLMSG_CANCEL;
	else if (strcmp(type, "ev") == 0)
		m->type = CALLMSG_EVENT;
	else if (strcmp(type, "kv") == 0)
		m->type = CALLMSG_KV;
	else {
		*why = "not a call message";
		return -1;
	}
	if (!read_id(f, nf, "o", m->origin) ||
	    !read_id(f, nf, "p", m->provider) ||
	    !cbor_field_uint(f, nf, "c", &m->cid) ||
	    !cbor_field_uint(f, nf, "h", &m->hops)) {
		*why = "missing origin, provider, call number or hops";
		return -1;
	}
	if (m->hops > CALLMSG_HOPS)
		m->hops = CALLMSG_HOPS;
	if (decode_auth(f, nf, m, why) == -1)
		return -1;
	switch (m->type) {
	case CALLMSG_CALL:
		return decode_call(f, nf, m, why);
	case CALLMSG_ANSWER:
		return decode_answer(f, nf, m, why);
	case CALLMSG_EVENT:
		return decode_event(f, nf, m, why);
	case CALLMSG_KV:
		return decode_kv(f, nf, m, why);
	case CALLMSG_CANCEL:
		break;
	}
	return 0;
}

void
callmsg_encode(struct cbor_buf *b, const struct callmsg *m)
{
	size_t	n = 5;

	if (m->type == CALLMSG_CALL)
		n += 3 + (m->group[0] != '\0') + (m->args != NULL) + m->oneway;
	else if (m->type == CALLMSG_ANSWER)
		n += 1 + m->has_by;
	else if (m->type == CALLMSG_EVENT)
		n += 1 + (m->args != NULL);
	else if (m->type == CALLMSG_KV)
		n += 1;
	if (m->has_mac)
		n += 2;
	cbor_put_map(b, n);
	cbor_put_text(b, "t");
	cbor_put_text(b, types[m->type]);
	cbor_put_text(b, "o");
	cbor_put_bytes(b, m->origin, NODE_ID_LEN);
	cbor_put_text(b, "p");
	cbor_put_bytes(b, m->provider, NODE_ID_LEN);
	cbor_put_text(b, "c");
	cbor_put_uint(b, m->cid);
	cbor_put_text(b, "h");
	cbor_put_uint(b, m->hops);
	if (m->type == CALLMSG_CALL) {
		cbor_put_text(b, "s");
		cbor_put_text(b, m->service);
		if (m->group[0] != '\0') {
			cbor_put_text(b, "g");
			cbor_put_text(b, m->group);
		}
		cbor_put_text(b, "m");
		cbor_put_text(b, m->method);
		cbor_put_text(b, "d");
		cbor_put_uint(b, m->timeout_ms);
		if (m->args != NULL) {
			cbor_put_text(b, "a");
			cbor_put_raw(b, m->args, m->argslen);
		}
		if (m->oneway) {
			cbor_put_text(b, "w");
			cbor_put_bool(b, true);
		}
	} else if (m->type == CALLMSG_EVENT) {
		cbor_put_text(b, "s");
		cbor_put_text(b, m->topic);
		if (m->args != NULL) {
			cbor_put_text(b, "a");
			cbor_put_raw(b, m->args, m->argslen);
		}
	} else if (m->type == CALLMSG_KV) {
		cbor_put_text(b, "a");
		cbor_put_raw(b, m->args, m->argslen);
	} else if (m->type == CALLMSG_ANSWER) {
		if (m->result != NULL) {
			cbor_put_text(b, "r");
			cbor_put_raw(b, m->result, m->resultlen);
		} else {
			cbor_put_text(b, "e");
			if (m->errraw != NULL)
				cbor_put_raw(b, m->errraw, m->errrawlen);
			else
				ctl_put_error_value(b, m->err.code, m->err.msg,
				    m->err.msglen, m->err.context,
				    m->err.contextlen);
		}
		if (m->has_by) {
			cbor_put_text(b, "by");
			cbor_put_bytes(b, m->by, NODE_ID_LEN);
		}
	}
	if (m->has_mac) {
		cbor_put_text(b, "q");
		cbor_put_uint(b, m->seq);
		cbor_put_text(b, "x");
		cbor_put_bytes(b, m->mac, CALLMSG_MAC_LEN);
	}
}
