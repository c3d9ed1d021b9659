/* SPDX-License-Identifier: ISC */
/*
 * proto.c: decoding and encoding control protocol messages.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

static bool
op_name_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > CTL_OP_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

int
ctl_msg_decode(const uint8_t *buf, size_t len, struct ctl_msg *m, char *err,
    size_t errlen)
{
	const struct cbor_field	*f;
	const char		*s;
	size_t			 n;

	memset(m, 0, sizeof(*m));
	m->nf = cbor_scan_map(buf, len, m->f, CTL_FIELDS_MAX);
	if (m->nf == -1) {
		snprintf(err, errlen, "frame is not one CBOR map with at most "
		    "%d distinct text keys", CTL_FIELDS_MAX);
		return -1;
	}
	if ((f = ctl_msg_get(m, "id")) != NULL) {
		if (!cbor_read_uint(f->val, f->vallen, &m->id)) {
			snprintf(err, errlen, "id: not an unsigned integer");
			return -1;
		}
		m->has_id = true;
	}
	if ((f = ctl_msg_get(m, "op")) != NULL) {
		if (!cbor_read_text(f->val, f->vallen, &s, &n) ||
		    !op_name_valid(s, n)) {
			snprintf(err, errlen, "op: not a name of 1-%d "
			    "characters [a-z0-9._]", CTL_OP_MAX);
			return -1;
		}
		memcpy(m->op, s, n);
		m->op[n] = '\0';
	}
	return 0;
}

const struct cbor_field *
ctl_msg_get(const struct ctl_msg *m, const char *key)
{
	return cbor_field_get(m->f, m->nf, key);
}

bool
ctl_error_decode(const uint8_t *val, size_t len, struct ctl_error *e)
{
	struct cbor_field	 f[8];
	const struct cbor_field	*c, *m, *x;
	const char		*s;
	size_t			 n;
	int			 nf;
	char			 name[32];

	if ((nf = cbor_scan_map(val, len, f, 8)) == -1)
		return false;
	if ((c = cbor_field_get(f, nf, "code")) == NULL ||
	    !cbor_read_text(c->val, c->vallen, &s, &n) || n >= sizeof(name))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	/* A code from a newer peer is still an error: call it UNKNOWN. */
	e->code = peer_code_from_name(name);
	if (e->code == PEER_OK)
		e->code = PEER_UNKNOWN;
	if ((m = cbor_field_get(f, nf, "message")) == NULL ||
	    !cbor_read_text(m->val, m->vallen, &e->msg, &e->msglen))
		return false;
	x = cbor_field_get(f, nf, "context");
	e->context = x != NULL ? x->val : NULL;
	e->contextlen = x != NULL ? x->vallen : 0;
	return true;
}

bool
ctl_read_error(const struct cbor_field *f, enum peer_code *code, char *msg,
    size_t msgcap)
{
	struct ctl_error	e;
	size_t			n;

	if (!ctl_error_decode(f->val, f->vallen, &e))
		return false;
	*code = e.code;
	if (msgcap > 0) {
		n = e.msglen < msgcap ? e.msglen : msgcap - 1;
		memcpy(msg, e.msg, n);
		msg[n] = '\0';
	}
	return true;
}

size_t
ctl_frame_begin(struct cbor_buf *b)
{
	static const uint8_t	zero[FRAME_HDR];
	size_t			start = b->len;

	cbor_put_raw(b, zero, sizeof(zero));
	return start;
}

int
ctl_frame_end(struct cbor_buf *b, size_t start, size_t max)
{
	size_t	n;

	if (b->failed)
		return -1;
	n = b->len - start - FRAME_HDR;
	if (n > max || n > UINT32_MAX)
		return -1;
	frame_put_len(b->data + start, (uint32_t)n);
	return 0;
}

void
ctl_put_request(struct cbor_buf *b, const char *op, uint64_t id,
    size_t nextra)
{
	cbor_put_map(b, 2 + nextra);
	cbor_put_text(b, "op");
	cbor_put_text(b, op);
	cbor_put_text(b, "id");
	cbor_put_uint(b, id);
}

void
ctl_put_result(struct cbor_buf *b, uint64_t id)
{
	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_uint(b, id);
	cbor_put_text(b, "result");
}

void
ctl_put_error(struct cbor_buf *b, uint64_t id, enum peer_code code,
    const char *msg)
{
	size_t	n = strlen(msg);

	if (n > CTL_MSG_MAX)
		n = CTL_MSG_MAX;
	cbor_put_map(b, 2);
	cbor_put_text(b, "id");
	cbor_put_uint(b, id);
	cbor_put_text(b, "error");
	ctl_put_error_value(b, code, msg, n, NULL, 0);
}

void
ctl_put_error_value(struct cbor_buf *b, enum peer_code code, const char *msg,
    size_t msglen, const uint8_t *context, size_t contextlen)
{
	cbor_put_map(b, context != NULL ? 3 : 2);
	cbor_put_text(b, "code");
	cbor_put_text(b, peer_code_name(code));
	cbor_put_text(b, "message");
	cbor_put_textn(b, msg, msglen);
	if (context != NULL) {
		cbor_put_text(b, "context");
		cbor_put_raw(b, context, contextlen);
	}
}
