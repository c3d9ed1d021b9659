/* SPDX-License-Identifier: ISC */
/*
 * peer_serve.c: serving calls: the services this client registered,
 * routing the daemon's "invoke" frames to their handlers, and the
 * "reply" frames that answer them.  Invokes come from the daemon but
 * are checked like any input: a bad one is refused, never trusted.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"

#define SERVE_WRITE_MS		PEER_TIMEOUT_DEFAULT
#define SERVE_NAME_QUOTE	64	/* bytes of a name put in a message */

struct serve {
	struct serve	*next;
	char		*service;
	char		*group;		/* "" if none */
	peer_handler_fn	*fn;
	void		*arg;
};

static void
serve_free(struct serve *s)
{
	if (s == NULL)
		return;
	free(s->service);
	free(s->group);
	free(s);
}

static struct serve **
serve_slot(struct peer *p, const char *service, const char *group)
{
	struct serve	**sp;

	for (sp = &p->serves; *sp != NULL; sp = &(*sp)->next)
		if (strcmp((*sp)->service, service) == 0 &&
		    strcmp((*sp)->group, group) == 0)
			break;
	return sp;
}

void
peer_serve_free(struct peer *p)
{
	struct serve	*s;

	while ((s = p->serves) != NULL) {
		p->serves = s->next;
		serve_free(s);
	}
}

/* Sends "register" or "unregister" and waits for the answer. */
static int
serve_op(struct peer *p, const char *op, const char *service,
    const char *group, struct peer_error *err)
{
	const char	*kv[] = { "service", service,
			    "group", *group != '\0' ? group : NULL };

	return peer_text_op(p, op, kv, 2, err);
}

int
peer_serve(struct peer *p, const char *service, const char *group,
    peer_handler_fn *fn, void *arg, struct peer_error *err)
{
	struct serve	**sp, *s;

	if (peer_in_callback(p, "peer_serve", err))
		return -1;
	if (service == NULL || *service == '\0' || fn == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_serve needs a "
		    "service and a handler");
		return -1;
	}
	if (group == NULL)
		group = "";
	if (*serve_slot(p, service, group) != NULL) {
		peer_seterr(err, PEER_ALREADY_EXISTS, "already serving that "
		    "service in that group");
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->service = strdup(service)) == NULL ||
	    (s->group = strdup(group)) == NULL) {
		serve_free(s);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	s->fn = fn;
	s->arg = arg;
	/*
	 * Listed before the daemon confirms: its first invoke may arrive
	 * right behind the reply, in the same read.
	 */
	s->next = p->serves;
	p->serves = s;
	if (serve_op(p, "register", service, group, err) == -1) {
		sp = serve_slot(p, service, group);
		*sp = s->next;
		serve_free(s);
		return -1;
	}
	return 0;
}

int
peer_unserve(struct peer *p, const char *service, const char *group,
    struct peer_error *err)
{
	struct serve		**sp, *s;
	struct peer_error	 e;

	if (peer_in_callback(p, "peer_unserve", err))
		return -1;
	if (service == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "no service named");
		return -1;
	}
	if (group == NULL)
		group = "";
	if ((s = *serve_slot(p, service, group)) == NULL) {
		peer_seterr(err, PEER_NOT_FOUND, "not serving that service in "
		    "that group");
		return -1;
	}
	/* Registrations end with the connection: nothing left to do then. */
	if (p->fd != -1 && serve_op(p, "unregister", service, group,
	    &e) == -1 && p->fd != -1 && e.code != PEER_NOT_FOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	sp = serve_slot(p, service, group);
	*sp = s->next;
	serve_free(s);
	return 0;
}

int
peer_serve_renew(struct peer *p)
{
	struct serve	*s;

	/*
	 * One refused registration must not cost the others; nothing but
	 * the next reconnect could try it again.
	 */
	for (s = p->serves; s != NULL; s = s->next)
		if (serve_op(p, "register", s->service, s->group, NULL) == -1 &&
		    p->fd == -1)
			return -1;
	return 0;
}

static struct peer_oneway *
oneway_find(struct peer *p, uint64_t call)
{
	size_t	i, n;

	n = p->noneway < PEER_ONEWAY_RING ? p->noneway : PEER_ONEWAY_RING;
	for (i = 0; i < n; i++)
		if (p->oneway[i].set && p->oneway[i].call == call)
			return &p->oneway[i];
	return NULL;
}

/* Remembers a oneway call, or forgets one whose number came back. */
static void
oneway_note(struct peer *p, uint64_t call, bool oneway)
{
	struct peer_oneway	*o;

	if ((o = oneway_find(p, call)) != NULL)
		o->set = oneway;
	else if (oneway) {
		o = &p->oneway[p->noneway++ % PEER_ONEWAY_RING];
		o->call = call;
		o->set = true;
	}
}

/* How much of s (len bytes) fits in max bytes without splitting UTF-8. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * Sends one reply frame: the result item (NULL: null), or an error if
 * code is not PEER_OK.  Its parts are checked, once each, as the daemon
 * will check the frame, since a malformed one costs the connection:
 * the result sits one level down in the reply, the context two.
 */
static int
serve_reply(struct peer *p, uint64_t call, const void *result,
    size_t result_len, enum peer_code code, const char *msg,
    const void *context, size_t context_len, struct peer_error *err)
{
	struct cbor_buf		*b = &p->out;
	struct peer_error	 e;
	size_t			 start, msglen = 0;

	if (p->fd == -1) {
		peer_seterr(err, PEER_UNAVAILABLE, "not connected to peerd");
		return -1;
	}
	if (oneway_find(p, call) != NULL)
		return 0;
	if (result_len > PEER_FRAME_MAX || context_len > PEER_FRAME_MAX) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "answer larger than "
		    "%u bytes", PEER_FRAME_MAX);
		return -1;
	}
	if (result != NULL && (result_len == 0 ||
	    cbor_scan_item_in(result, result_len, 1) != result_len)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "result is not one "
		    "well-formed CBOR item, or nests too deep");
		return -1;
	}
	if (context != NULL && (context_len == 0 ||
	    cbor_scan_item_in(context, context_len, 2) != context_len)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "context is not one "
		    "well-formed CBOR item, or nests too deep");
		return -1;
	}
	if (code != PEER_OK) {
		if (msg == NULL)
			msg = "";
		msglen = utf8_cut(msg, strlen(msg), CTL_MSG_MAX);
		if (!cbor_text_valid(msg, msglen)) {
			peer_seterr(err, PEER_INVALID_ARGUMENT, "message is "
			    "not valid UTF-8");
			return -1;
		}
	}
	if (peer_frame_begin(p, false, &start, err) == -1)
		return -1;
	cbor_put_map(b, 3);
	cbor_put_text(b, "op");
	cbor_put_text(b, "reply");
	cbor_put_text(b, "call");
	cbor_put_uint(b, call);
	if (code == PEER_OK) {
		cbor_put_text(b, "result");
		if (result != NULL)
			cbor_put_raw(b, result, result_len);
		else
			cbor_put_null(b);
	} else {
		cbor_put_text(b, "error");
		ctl_put_error_value(b, code, msg, msglen, context, context_len);
	}
	if (peer_frame_end(p, start, err) == -1)
		return -1;
	if (peer_send(p, peer_now_ms() + SERVE_WRITE_MS, &e) == -1) {
		/* A partly written frame leaves the stream unusable. */
		peer_lost(p, e.message);
		if (err != NULL)
			*err = e;
		return -1;
	}
	return 0;
}

int
peer_answer(struct peer *p, uint64_t call, const void *result,
    size_t result_len, struct peer_error *err)
{
	return serve_reply(p, call, result, result_len, PEER_OK, NULL, NULL,
	    0, err);
}

int
peer_answer_error(struct peer *p, uint64_t call, enum peer_code code,
    const char *message, const void *context, size_t context_len,
    struct peer_error *err)
{
	if (code == PEER_OK) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "an error answer needs "
		    "a code other than OK");
		return -1;
	}
	return serve_reply(p, call, NULL, 0, code, message, context,
	    context_len, err);
}

/* Answers an invoke that reached no handler; oneway calls get nothing. */
static void
invoke_refuse(struct peer *p, uint64_t call, bool oneway, enum peer_code code,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[256];

	if (oneway)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)serve_reply(p, call, NULL, 0, code, msg, NULL, 0, NULL);
}

/* A text field into a C string at *pos; absent gives "". */
static bool
invoke_text(const struct ctl_msg *m, const char *key, bool required,
    char **pos, const char **out)
{
	const struct cbor_field	*f;
	const char		*s = "";
	size_t			 n = 0;

	if ((f = ctl_msg_get(m, key)) == NULL) {
		if (required)
			return false;
	} else if (!cbor_read_text(f->val, f->vallen, &s, &n) ||
	    memchr(s, '\0', n) != NULL)	/* would cut the copy short */
		return false;
	memcpy(*pos, s, n);
	(*pos)[n] = '\0';
	*out = *pos;
	*pos += n + 1;
	return true;
}

/* The bytes the four text fields of an invoke take with their NULs. */
static size_t
invoke_text_size(const struct ctl_msg *m)
{
	static const char *const	 keys[] = { "service", "group",
					    "method", "from" };
	const struct cbor_field		*f;
	size_t				 i, n = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((f = ctl_msg_get(m, keys[i])) != NULL)
			n += f->vallen;	/* the text and its head */
	return n + sizeof(keys) / sizeof(keys[0]);
}

void
peer_serve_invoke(struct peer *p, const struct ctl_msg *m)
{
	struct peer_invocation	 inv;
	const struct cbor_field	*f;
	const struct serve	*s;
	uint64_t		 u;
	char			 small[256], *texts, *pos;
	const char		*bad = NULL;
	size_t			 size;

	/* Frames read before a loss: their calls died with it. */
	if (p->fd == -1)
		return;
	memset(&inv, 0, sizeof(inv));
	if ((f = ctl_msg_get(m, "call")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &inv.call))
		return;		/* nobody to answer */
	if ((f = ctl_msg_get(m, "oneway")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &inv.oneway))
		bad = "oneway";
	oneway_note(p, inv.call, inv.oneway);
	/* Absent (an older daemon): not known to be verified. */
	if ((f = ctl_msg_get(m, "verified")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &inv.verified))
		bad = "verified";
	/* Names are short: the heap only for long ones. */
	size = invoke_text_size(m);
	if ((texts = size <= sizeof(small) ? small : malloc(size)) == NULL) {
		invoke_refuse(p, inv.call, inv.oneway, PEER_RESOURCE_EXHAUSTED,
		    "out of memory");
		return;
	}
	pos = texts;
	if (!invoke_text(m, "service", true, &pos, &inv.service))
		bad = "service";
	else if (!invoke_text(m, "method", true, &pos, &inv.method))
		bad = "method";
	else if (!invoke_text(m, "group", false, &pos, &inv.group))
		bad = "group";
	else if (!invoke_text(m, "from", false, &pos, &inv.from))
		bad = "from";
	if ((f = ctl_msg_get(m, "timeout")) != NULL) {
		if (!cbor_read_uint(f->val, f->vallen, &u))
			bad = "timeout";
		else
			inv.timeout_ms = u > INT_MAX ? INT_MAX : (int)u;
	}
	if ((f = ctl_msg_get(m, "args")) != NULL) {
		inv.args = f->val;
		inv.args_len = f->vallen;
	}
	if (bad != NULL)
		invoke_refuse(p, inv.call, inv.oneway, PEER_INVALID_ARGUMENT,
		    "malformed invoke from peerd: %s", bad);
	else if ((s = *serve_slot(p, inv.service, inv.group)) == NULL)
		invoke_refuse(p, inv.call, inv.oneway, PEER_UNIMPLEMENTED,
		    "no service %.*s%s%.*s here",
		    (int)utf8_cut(inv.service, strlen(inv.service),
		    SERVE_NAME_QUOTE), inv.service,
		    *inv.group != '\0' ? " in group " : "",
		    (int)utf8_cut(inv.group, strlen(inv.group),
		    SERVE_NAME_QUOTE), inv.group);
	else {
		p->depth++;
		s->fn(p, &inv, s->arg);
		p->depth--;
	}
	if (texts != small)
		free(texts);
}

bool
peer_inv_verified(const struct peer_invocation *inv)
{
	return inv->verified;
}

void
peer_on_cancel(struct peer *p, peer_cancel_fn *fn, void *arg)
{
	p->on_cancel = fn;
	p->on_cancel_arg = arg;
}

void
peer_serve_cancelled(struct peer *p, const struct ctl_msg *m)
{
	const struct cbor_field	*f;
	const char		*s;
	char			 reason[128] = "";
	uint64_t		 call;
	size_t			 n;

	if (p->on_cancel == NULL || (f = ctl_msg_get(m, "call")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &call))
		return;
	if ((f = ctl_msg_get(m, "reason")) != NULL &&
	    cbor_read_text(f->val, f->vallen, &s, &n) && n < sizeof(reason) &&
	    memchr(s, '\0', n) == NULL) {
		memcpy(reason, s, n);
		reason[n] = '\0';
	}
	p->depth++;
	p->on_cancel(p, call, reason, p->on_cancel_arg);
	p->depth--;
}
