/* SPDX-License-Identifier: ISC */
/*
 * peer_event.c: events: the patterns this client subscribed to, routing
 * the daemon's "event" frames to their callbacks, and publishing.
 * Events come from the daemon but are checked like any input: a
 * malformed one is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"
#include "topic.h"

struct sub {
	struct sub	*next;
	char		*pattern;
	peer_event_fn	*fn;
	void		*arg;
};

static void
sub_free(struct sub *s)
{
	if (s == NULL)
		return;
	free(s->pattern);
	free(s);
}

static struct sub **
sub_slot(struct peer *p, const char *pattern)
{
	struct sub	**sp;

	for (sp = &p->subs; *sp != NULL; sp = &(*sp)->next)
		if (strcmp((*sp)->pattern, pattern) == 0)
			break;
	return sp;
}

void
peer_event_free(struct peer *p)
{
	struct sub	*s;

	while ((s = p->subs) != NULL) {
		p->subs = s->next;
		sub_free(s);
	}
}

/* Sends a request whose body is {key: text} and waits for the answer. */
static int
event_op(struct peer *p, const char *op, const char *key, const char *text,
    struct peer_error *err)
{
	const char	*kv[] = { key, text };

	return peer_text_op(p, op, kv, 1, err);
}

int
peer_subscribe(struct peer *p, const char *pattern, peer_event_fn *fn,
    void *arg, struct peer_error *err)
{
	struct sub	**sp, *s;

	if (peer_in_callback(p, "peer_subscribe", err))
		return -1;
	if (pattern == NULL || *pattern == '\0' || fn == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_subscribe needs "
		    "a pattern and a callback");
		return -1;
	}
	sp = sub_slot(p, pattern);
	if (*sp != NULL) {
		peer_seterr(err, PEER_ALREADY_EXISTS, "already subscribed to "
		    "that pattern");
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->pattern = strdup(pattern)) == NULL) {
		sub_free(s);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	s->fn = fn;
	s->arg = arg;
	/*
	 * Listed, last, before the daemon confirms: its first event may
	 * arrive right behind the reply, in the same read.
	 */
	*sp = s;
	if (event_op(p, "subscribe", "topic", pattern, err) == -1) {
		sp = sub_slot(p, pattern);
		*sp = s->next;
		sub_free(s);
		return -1;
	}
	return 0;
}

int
peer_unsubscribe(struct peer *p, const char *pattern, struct peer_error *err)
{
	struct sub		**sp, *s;
	struct peer_error	 e;

	if (peer_in_callback(p, "peer_unsubscribe", err))
		return -1;
	if (pattern == NULL) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "no pattern named");
		return -1;
	}
	if ((s = *sub_slot(p, pattern)) == NULL) {
		peer_seterr(err, PEER_NOT_FOUND, "not subscribed to that "
		    "pattern");
		return -1;
	}
	/* Subscriptions end with the connection: nothing left to do then. */
	if (p->fd != -1 && event_op(p, "unsubscribe", "topic", pattern,
	    &e) == -1 && p->fd != -1 && e.code != PEER_NOT_FOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	sp = sub_slot(p, pattern);
	*sp = s->next;
	sub_free(s);
	return 0;
}

int
peer_event_renew(struct peer *p)
{
	struct sub	*s;

	/* As for services: one refusal must not cost the others. */
	for (s = p->subs; s != NULL; s = s->next)
		if (event_op(p, "subscribe", "topic", s->pattern, NULL) == -1 &&
		    p->fd == -1)
			return -1;
	return 0;
}

/* The reply to a publish whose caller did not want it. */
static void
publish_ignore_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	(void)p;
	(void)r;
	(void)arg;
}

int
peer_publish(struct peer *p, const char *topic, const void *data,
    size_t len, peer_reply_fn *fn, void *arg, struct peer_error *err)
{
	struct pending	*pd;
	size_t		 start;

	if (topic == NULL || *topic == '\0') {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_publish needs a "
		    "topic");
		return -1;
	}
	if (data != NULL && len > PEER_FRAME_MAX) {
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "data larger than %u "
		    "bytes", PEER_FRAME_MAX);
		return -1;
	}
	/* Checked once each, as the daemon reads them: data one level down. */
	if (data != NULL && (len == 0 ||
	    cbor_scan_item_in(data, len, 1) != len)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "data is not one "
		    "well-formed CBOR item, or nests too deep");
		return -1;
	}
	if (!cbor_text_valid(topic, strlen(topic))) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "topic is not valid "
		    "UTF-8");
		return -1;
	}
	if ((pd = peer_request_begin(p, "publish", data != NULL ? 2 : 1, 0,
	    fn != NULL ? fn : publish_ignore_cb, arg, false, &start,
	    err)) == NULL)
		return -1;
	cbor_put_text(&p->out, "topic");
	cbor_put_text(&p->out, topic);
	if (data != NULL) {
		cbor_put_text(&p->out, "data");
		cbor_put_raw(&p->out, data, len);
	}
	return peer_request_end(p, pd, start, NULL, err);
}

/* A text field into a C string at *pos. */
static bool
event_text(const struct ctl_msg *m, const char *key, char **pos,
    const char **out)
{
	const struct cbor_field	*f;
	const char		*s;
	size_t			 n;

	if ((f = ctl_msg_get(m, key)) == NULL ||
	    !cbor_read_text(f->val, f->vallen, &s, &n) ||
	    memchr(s, '\0', n) != NULL)	/* would cut the copy short */
		return false;
	memcpy(*pos, s, n);
	(*pos)[n] = '\0';
	*out = *pos;
	*pos += n + 1;
	return true;
}

void
peer_event_deliver(struct peer *p, const struct ctl_msg *m)
{
	static const char *const	 keys[] = { "topic", "node", "name" };
	struct peer_event		 ev;
	const struct cbor_field		*f;
	const struct sub		*s;
	char				*texts, *pos;
	size_t				 i, size = 0;

	memset(&ev, 0, sizeof(ev));
	if ((f = ctl_msg_get(m, "seq")) == NULL ||
	    !cbor_read_uint(f->val, f->vallen, &ev.seq))
		return;
	if ((f = ctl_msg_get(m, "lost")) != NULL &&
	    !cbor_read_uint(f->val, f->vallen, &ev.lost))
		return;
	/* Absent (an older daemon): not known to be verified. */
	if ((f = ctl_msg_get(m, "verified")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &ev.verified))
		return;
	if ((f = ctl_msg_get(m, "data")) != NULL) {
		ev.data = f->val;
		ev.data_len = f->vallen;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((f = ctl_msg_get(m, keys[i])) == NULL)
			return;
		size += f->vallen + 1;	/* the text, its head, a NUL */
	}
	if ((texts = malloc(size)) == NULL)
		return;
	pos = texts;
	if (event_text(m, "topic", &pos, &ev.topic) &&
	    event_text(m, "node", &pos, &ev.node) &&
	    event_text(m, "name", &pos, &ev.name)) {
		for (s = p->subs; s != NULL; s = s->next)
			if (topic_matches(s->pattern, ev.topic))
				break;
		if (s != NULL) {
			p->depth++;
			s->fn(p, &ev, s->arg);
			p->depth--;
		}
	}
	free(texts);
}
