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

/* Sends the watch request of p's watch and waits for the answer. */
static int
watch_op(struct peer *p, struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		*res = NULL;
	size_t		 reslen, n = 2;
	int		 r = -1;

	cbor_put_text(&b, "members");
	cbor_put_bool(&b, (p->watch_what & PEER_WATCH_MEMBERS) != 0);
	cbor_put_text(&b, "services");
	cbor_put_bool(&b, (p->watch_what & PEER_WATCH_SERVICES) != 0);
	if (p->watch_what & PEER_WATCH_LOG) {
		cbor_put_text(&b, "log");
		cbor_put_text(&b, level_names[p->watch_level]);
		n++;
	}
	if (b.failed)
		peer_seterr(err, PEER_RESOURCE_EXHAUSTED, "out of memory");
	else
		r = peer_op(p, "watch", b.data, b.len, n, 0, &res, &reslen,
		    err);
	free(res);
	cbor_buf_free(&b);
	return r;
}

int
peer_watch(struct peer *p, unsigned what, enum peer_log_level level,
    peer_watch_fn *fn, void *arg, struct peer_error *err)
{
	peer_watch_fn		*ofn = p->watch_fn;
	void			*oarg = p->watch_arg;
	unsigned		 owhat = p->watch_what;
	enum peer_log_level	 olevel = p->watch_level;

	if (peer_in_callback(p, "peer_watch", err))
		return -1;
	if (fn == NULL || what == 0 || (what & ~(PEER_WATCH_MEMBERS |
	    PEER_WATCH_SERVICES | PEER_WATCH_LOG)) != 0 ||
	    ((what & PEER_WATCH_LOG) && peer_log_level_name(level) == NULL)) {
		peer_seterr(err, PEER_INVALID_ARGUMENT, "peer_watch needs a "
		    "callback, PEER_WATCH_ bits and, for the log, a level");
		return -1;
	}
	/*
	 * In place before the daemon confirms: its first message may
	 * arrive right behind the reply, in the same read.
	 */
	p->watch_fn = fn;
	p->watch_arg = arg;
	p->watch_what = what;
	p->watch_level = (what & PEER_WATCH_LOG) ? level : PEER_LOG_ERROR;
	if (watch_op(p, err) == -1) {
		p->watch_fn = ofn;
		p->watch_arg = oarg;
		p->watch_what = owhat;
		p->watch_level = olevel;
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
	/* As for subscriptions: a refusal keeps it for the next reconnect. */
	if (p->watch_fn != NULL && watch_op(p, NULL) == -1 && p->fd == -1)
		return -1;
	return 0;
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
