/* SPDX-License-Identifier: ISC */
/*
 * peer_watch.c: watching: what this client watches, and routing the
 * daemon's "change" and "log" frames to its callback.  They come from
 * the daemon but are checked like any input: a malformed one is
 * dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"
#include "peer_int.h"
#include "proto.h"

static const char *const	level_names[] = {
	[PEER_LOG_ERROR] = "error",
	[PEER_LOG_WARN] = "warn",
	[PEER_LOG_INFO] = "info",
	[PEER_LOG_DEBUG] = "debug",
};
#define NLEVELS	(sizeof(level_names) / sizeof(level_names[0]))

const char *
peer_log_level_name(enum peer_log_level l)
{
	return (unsigned)l < NLEVELS ? level_names[l] : NULL;
}

int
peer_log_level_parse(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < NLEVELS; i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The body of a watch request: its entries, and how many into *n. */
static void
watch_body(struct cbor_buf *b, unsigned what, enum peer_log_level level,
    size_t *n)
{
	cbor_put_text(b, "members");
	cbor_put_bool(b, (what & PEER_WATCH_MEMBERS) != 0);
	cbor_put_text(b, "services");
	cbor_put_bool(b, (what & PEER_WATCH_SERVICES) != 0);
	*n = 2;
	if (what & PEER_WATCH_LOG) {
		cbor_put_text(b, "log");
		cbor_put_text(b, level_names[level]);
		(*n)++;
	}
}

/* A watch asked for, in force once the daemon confirms it. */
struct watch_ask {
	peer_watch_fn		*fn;
	void			*arg;
	unsigned		 what;
	enum peer_log_level	 level;
	bool			 done;
	struct peer_error	 err;
};

static void
watch_reply_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct watch_ask	*a = arg;

	a->done = true;
	if (r->error != NULL) {
		a->err = *r->error;
		return;
	}
	/*
	 * The messages before the reply are the old watch's, those after
	 * it this one's: they may come in the same read.
	 */
	p->watch_fn = a->fn;
	p->watch_arg = a->arg;
	p->watch_what = a->what;
	p->watch_level = a->level;
}

int
peer_watch(struct peer *p, unsigned what, enum peer_log_level level,
    peer_watch_fn *fn, void *arg, struct peer_error *err)
{
	struct watch_ask	 a;
	struct peer_error	 werr;
	struct cbor_buf		 b = { 0 };
	size_t			 n;
	uint64_t		 id;
	int			 r;

	if (peer_in_callback(p, "peer_watch", err))
		return -1;
	if (fn == NULL || what == 0 || (what & ~(PEER_WATCH_MEMBERS |
	    PEER_WATCH_SERVICES | PEER_WATCH_LOG)) != 0 ||
	    ((what & PEER_WATCH_LOG) && peer_log_level_name(level) == NULL)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_watch needs a "
		    "callback, PEER_WATCH_ bits and, for the log, a level");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.fn = fn;
	a.arg = arg;
	a.what = what;
	a.level = (what & PEER_WATCH_LOG) ? level : PEER_LOG_ERROR;
	watch_body(&b, what, level, &n);
	if (b.failed) {
		cbor_buf_free(&b);
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	r = peer_request(p, "watch", b.data, b.len, n, 0, watch_reply_cb, &a,
	    &id, err);
	cbor_buf_free(&b);
	if (r == -1)
		return -1;
	if (peer_wait(p, id, &werr) == -1 && !a.done) {
		/* Not ended (poll failed): it must not keep pointing at a. */
		peer_pending_forget(p, id);
		a.err = werr;
	}
	if (a.err.code != PEER_OK) {
		if (err != NULL)
			*err = a.err;
		return -1;
	}
	return 0;
}

int
peer_unwatch(struct peer *p, struct peer_error *err)
{
	struct peer_error	 e;
	uint8_t			*res = NULL;
	size_t			 reslen;

	if (peer_in_callback(p, "peer_unwatch", err))
		return -1;
	if (p->watch_fn == NULL) {
		peer_seterr(err, PEER_NOT_FOUND, "not watching");
		return -1;
	}
	/* A watch ends with the connection: nothing left to do then. */
	if (p->fd != -1 && peer_op(p, "unwatch", NULL, 0, 0, 0, &res, &reslen,
	    &e) == -1 && p->fd != -1 && e.code != PEER_NOT_FOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	free(res);
	p->watch_fn = NULL;
	p->watch_arg = NULL;
	p->watch_what = 0;
	return 0;
}

int
peer_watch_renew(struct peer *p)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		*res = NULL;
	size_t		 n, reslen;
	int		 r = 0;

	if (p->watch_fn == NULL)
		return 0;
	watch_body(&b, p->watch_what, p->watch_level, &n);
	/* As for subscriptions: a refusal keeps it for the next reconnect. */
	if (!b.failed && peer_op(p, "watch", b.data, b.len, n, 0, &res,
	    &reslen, NULL) == -1 && p->fd == -1)
		r = -1;
	free(res);
	cbor_buf_free(&b);
	return r;
}

/* The texts of a message, copied NUL-terminated into one allocation. */
struct texts {
	char	*buf, *pos;
};

/*
 * The text field key into *out; absent leaves *out NULL and is fine
 * unless required.  False if it is not text or holds a NUL.
 */
static bool
get_text(const struct ctl_msg *m, struct texts *t, const char *key,
    bool required, const char **out)
{
	const struct cbor_field	*f;
	const char		*s;
	size_t			 n;

	*out = NULL;
	if ((f = ctl_msg_get(m, key)) == NULL)
		return !required;
	if (!cbor_read_text(f->val, f->vallen, &s, &n) ||
	    memchr(s, '\0', n) != NULL)
		return false;
	memcpy(t->pos, s, n);
	t->pos[n] = '\0';
	*out = t->pos;
	t->pos += n + 1;
	return true;
}

static bool
get_uint(const struct ctl_msg *m, const char *key, bool required,
    uint64_t *v)
{
	const struct cbor_field	*f;

	*v = 0;
	if ((f = ctl_msg_get(m, key)) == NULL)
		return !required;
	return cbor_read_uint(f->val, f->vallen, v);
}

static bool
decode_change(const struct ctl_msg *m, struct texts *t,
    struct peer_watch_msg *w)
{
	if (!get_text(m, t, "kind", true, &w->kind) ||
	    !get_text(m, t, "node", true, &w->node) ||
	    !get_text(m, t, "name", true, &w->name) ||
	    !get_uint(m, "incarnation", true, &w->incarnation) ||
	    !get_text(m, t, "why", false, &w->why) ||
	    !get_text(m, t, "service", false, &w->service) ||
	    !get_text(m, t, "group", false, &w->group))
		return false;
	if (strncmp(w->kind, "service-", 8) == 0) {
		w->type = PEER_WATCH_SERVICES;
		return w->service != NULL && w->group != NULL;
	}
	w->type = PEER_WATCH_MEMBERS;
	return w->service == NULL && w->group == NULL;
}

static bool
decode_log(const struct ctl_msg *m, struct texts *t,
    struct peer_watch_msg *w)
{
	const char	*level;
	int		 l;

	if (!get_text(m, t, "level", true, &level) ||
	    (l = peer_log_level_parse(level)) == -1 ||
	    !get_text(m, t, "text", true, &w->text))
		return false;
	w->type = PEER_WATCH_LOG;
	w->kind = "log";
	w->level = (enum peer_log_level)l;
	return true;
}

void
peer_watch_deliver(struct peer *p, const struct ctl_msg *m)
{
	struct peer_watch_msg	 w;
	struct texts		 t;
	size_t			 size = 0;
	int			 i;
	bool			 ok;

	if (p->watch_fn == NULL)
		return;
	/* Room for every field as text: more than the texts need. */
	for (i = 0; i < m->nf; i++)
		size += m->f[i].vallen + 1;
	if ((t.buf = malloc(size)) == NULL)
		return;
	t.pos = t.buf;
	memset(&w, 0, sizeof(w));
	if (strcmp(m->op, "change") == 0)
		ok = decode_change(m, &t, &w);
	else
		ok = decode_log(m, &t, &w);
	ok = ok && get_uint(m, "time", true, &w.time_ms) &&
	    get_uint(m, "lost", false, &w.lost);
	/* What the watch does not ask for: a reply crossed a replacement. */
	if (ok && (w.type & p->watch_what) != 0) {
		p->depth++;
		p->watch_fn(p, &w, p->watch_arg);
		p->depth--;
	}
	free(t.buf);
}
