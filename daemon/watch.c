/* SPDX-License-Identifier: ISC */
/*
 * watch.c: watch streams.  A client's watch says what it wants: the
 * changes of members, of services, and (admins only) the log lines up to
 * a level.  What happens is encoded once into a queue of messages and
 * written to the watchers that want it from a callback of our own, never
 * from inside the module that reported it: a log line may come from
 * anywhere, even from the middle of another reply.  A watcher that reads
 * too slowly loses messages, and the next one it gets says how many.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "changes.h"
#include "clock.h"
#include "control.h"
#include "log.h"
#include "proto.h"
#include "watch.h"

#define WATCH_BACKLOG_MAX	(1u << 20)	/* unread bytes at a client */
#define WATCH_PENDING_MAX	1024		/* messages not yet written */

/* What a watcher wants, and what a message is. */
#define WANT_MEMBERS		0x01
#define WANT_SERVICES		0x02
#define WANT_LOG		0x04

struct watcher {
	TAILQ_ENTRY(watcher)	 entry;
	struct ctl_conn		*c;		/* NULL: gone during a flush */
	unsigned		 want;
	enum log_level		 level;		/* with WANT_LOG */
	uint64_t		 lost;		/* since its last message */
	uint64_t		 missed;	/* lost after the queued ones */
};

/* A message for watchers: the entries of its map but "lost". */
struct wmsg {
	STAILQ_ENTRY(wmsg)	 entry;
	unsigned		 what;		/* one WANT_ */
	enum log_level		 level;		/* of a log line */
	size_t			 nkeys;
	struct cbor_buf		 body;
};

struct watch {
	struct event		*flush;
	TAILQ_HEAD(, watcher)	 watchers;
	STAILQ_HEAD(, wmsg)	 pending;
	size_t			 npending;
	bool			 flushing;
};

static void	watch_flush(evutil_socket_t, short, void *);

struct watch *
watch_new(struct event_base *base)
{
	struct watch	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->flush = event_new(base, -1, 0, watch_flush, w)) == NULL) {
		free(w);
		log_warn("watch");
		return NULL;
	}
	TAILQ_INIT(&w->watchers);
	STAILQ_INIT(&w->pending);
	return w;
}

static void
wmsg_free(struct wmsg *m)
{
	cbor_buf_free(&m->body);
	free(m);
}

void
watch_free(struct watch *w)
{
	struct watcher	*wt;
	struct wmsg	*m;

	if (w == NULL)
		return;
	log_tap_level(-1);
	while ((wt = TAILQ_FIRST(&w->watchers)) != NULL) {
		TAILQ_REMOVE(&w->watchers, wt, entry);
		free(wt);
	}
	while ((m = STAILQ_FIRST(&w->pending)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->pending, entry);
		wmsg_free(m);
	}
	event_free(w->flush);
	free(w);
}

static bool
wants(const struct watcher *wt, unsigned what, enum log_level level)
{
	return wt->c != NULL && (wt->want & what) != 0 &&
	    (what != WANT_LOG || level <= wt->level);
}

/* The log tap asks for what the most verbose watcher of the log wants. */
static void
tap_update(const struct watch *w)
{
	const struct watcher	*wt;
	int			 level = -1;

	TAILQ_FOREACH(wt, &w->watchers, entry)
		if (wt->c != NULL && (wt->want & WANT_LOG) &&
		    (int)wt->level > level)
			level = (int)wt->level;
	log_tap_level(level);
}

/*
 * A message that could not be queued: lost for each watcher that wanted
 * it, after the messages queued before it, so told with the first one
 * written after the next flush.
 */
static void
missed(struct watch *w, unsigned what, enum log_level level)
{
	struct watcher	*wt;

	TAILQ_FOREACH(wt, &w->watchers, entry)
		if (wants(wt, what, level))
			wt->missed++;
	event_active(w->flush, EV_TIMEOUT, 0);
}

/* A new message for the queue, or NULL if nobody wants it or no room. */
static struct wmsg *
wmsg_new(struct watch *w, unsigned what, enum log_level level)
{
	struct watcher	*wt;
	struct wmsg	*m = NULL;
	bool		 wanted = false;

	TAILQ_FOREACH(wt, &w->watchers, entry)
		wanted = wanted || wants(wt, what, level);
	if (!wanted)
		return NULL;
	if (w->npending == WATCH_PENDING_MAX ||
	    (m = calloc(1, sizeof(*m))) == NULL) {
		missed(w, what, level);
		return NULL;
	}
	m->what = what;
	m->level = level;
	return m;
}

/* Queues m, or counts it lost if it could not be built. */
static void
wmsg_queue(struct watch *w, struct wmsg *m)
{
	if (m->body.failed) {
		missed(w, m->what, m->level);
		wmsg_free(m);
		return;
	}
	STAILQ_INSERT_TAIL(&w->pending, m, entry);
	w->npending++;
	event_active(w->flush, EV_TIMEOUT, 0);
}

static void
put_key_text(struct wmsg *m, const char *key, const char *val)
{
	cbor_put_text(&m->body, key);
	cbor_put_text(&m->body, val);
	m->nkeys++;
}

/*
 * As put_key_text for text that may not be UTF-8 (a log line may quote
 * anything): then each byte outside printable ASCII becomes '?'.
 */
static void
put_key_any_text(struct wmsg *m, const char *key, const char *val)
{
	size_t		 start, i, n;
	unsigned char	 ch;
	char		*copy;

	cbor_put_text(&m->body, key);
	start = m->body.len;
	cbor_put_text(&m->body, val);
	m->nkeys++;
	if (m->body.failed || cbor_scan_item(m->body.data + start,
	    m->body.len - start) == m->body.len - start)
		return;
	m->body.len = start;
	n = strlen(val);
	if ((copy = malloc(n + 1)) == NULL) {
		m->body.failed = true;
		return;
	}
	for (i = 0; i < n; i++) {
		ch = (unsigned char)val[i];
		copy[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	copy[n] = '\0';
	cbor_put_text(&m->body, copy);
	free(copy);
}

static void
put_key_uint(struct wmsg *m, const char *key, uint64_t val)
{
	cbor_put_text(&m->body, key);
	cbor_put_uint(&m->body, val);
	m->nkeys++;
}

void
watch_change(struct watch *w, const struct change *c)
{
	struct wmsg	*m;
	bool		 service = c->kind == CHANGE_REGISTERED ||
			    c->kind == CHANGE_WITHDRAWN;

	if ((m = wmsg_new(w, service ? WANT_SERVICES : WANT_MEMBERS,
	    LOG_LEVEL_ERROR)) == NULL)
		return;
	put_key_text(m, "op", "change");
	put_key_text(m, "kind", change_kind_name(c->kind));
	put_key_text(m, "node", c->idstr);
	put_key_any_text(m, "name", c->name);
	put_key_uint(m, "incarnation", c->incarnation);
	if (c->why != NULL)
		put_key_any_text(m, "why", c->why);
	if (service) {
		put_key_any_text(m, "service", c->service);
		put_key_any_text(m, "group", c->group);
	}
	put_key_uint(m, "time", clock_wall_ms());
	wmsg_queue(w, m);
}

void
watch_log(void *arg, enum log_level level, const char *line)
{
	struct watch	*w = arg;
	struct wmsg	*m;

	/* Lines logged while writing to watchers would feed themselves. */
	if (w->flushing || (m = wmsg_new(w, WANT_LOG, level)) == NULL)
		return;
	put_key_text(m, "op", "log");
	put_key_text(m, "level", log_level_name(level));
	put_key_uint(m, "time", clock_wall_ms());
	put_key_any_text(m, "text", line);
	wmsg_queue(w, m);
}

/* Writes m to one watcher, or counts it lost there. */
static void
give(struct watcher *wt, const struct wmsg *m)
{
	struct cbor_buf	*b;

	if (ctl_queued(wt->c) > WATCH_BACKLOG_MAX) {
		wt->lost++;
		return;
	}
	b = ctl_message_begin(wt->c);
	cbor_put_map(b, m->nkeys + (wt->lost > 0));
	cbor_put_raw(b, m->body.data, m->body.len);
	if (wt->lost > 0) {
		cbor_put_text(b, "lost");
		cbor_put_uint(b, wt->lost);
		wt->lost = 0;
	}
	ctl_message_end(wt->c);
}

/*
 * Writes what is queued.  A client whose reply fails goes away under us
 * (watch_client_gone), and its services with it: such changes join the
 * queue and go out in this same flush.
 */
static void
watch_flush(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;
	struct watcher	*wt, *next;
	struct wmsg	*m;

	(void)fd;
	(void)what;
	w->flushing = true;
	while ((m = STAILQ_FIRST(&w->pending)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->pending, entry);
		w->npending--;
		TAILQ_FOREACH(wt, &w->watchers, entry)
			if (wants(wt, m->what, m->level))
				give(wt, m);
		wmsg_free(m);
	}
	w->flushing = false;
	for (wt = TAILQ_FIRST(&w->watchers); wt != NULL; wt = next) {
		next = TAILQ_NEXT(wt, entry);
		if (wt->c == NULL) {
			TAILQ_REMOVE(&w->watchers, wt, entry);
			free(wt);
			continue;
		}
		wt->lost += wt->missed;
		wt->missed = 0;
	}
}

static struct watcher *
watcher_of(struct watch *w, const struct ctl_conn *c)
{
	struct watcher	*wt;

	TAILQ_FOREACH(wt, &w->watchers, entry)
		if (wt->c == c)
			return wt;
	return NULL;
}

static void
watcher_remove(struct watch *w, struct watcher *wt)
{
	if (w->flushing)
		wt->c = NULL;	/* the flush is walking the list */
	else {
		TAILQ_REMOVE(&w->watchers, wt, entry);
		free(wt);
	}
	tap_update(w);
}

void
watch_client_gone(struct watch *w, struct ctl_conn *c)
{
	struct watcher	*wt;

	if ((wt = watcher_of(w, c)) != NULL)
		watcher_remove(w, wt);
}

/* An optional boolean of the request; false after replying. */
static bool
arg_bool(struct ctl_conn *c, const struct ctl_msg *msg, const char *key,
    bool *v)
{
	const struct cbor_field	*f;

	*v = false;
	if ((f = ctl_msg_get(msg, key)) == NULL ||
	    cbor_read_bool(f->val, f->vallen, v))
		return true;
	ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "%s: not a boolean",
	    key);
	return false;
}

static void
watch_op_watch(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct watch	*w = arg;
	struct watcher	*wt;
	struct cbor_buf	*b;
	enum log_level	 level = LOG_LEVEL_ERROR;
	char		 name[8] = "";
	bool		 members, services, want_log;
	unsigned	 want = 0;

	if (!arg_bool(c, msg, "members", &members) ||
	    !arg_bool(c, msg, "services", &services) ||
	    !ctl_arg_text(c, msg, "log", name, sizeof(name), false))
		return;
	want_log = ctl_msg_get(msg, "log") != NULL;
	if (want_log && !log_level_parse(name, &level)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "log: not "
		    "one of error, warn, info, debug");
		return;
	}
	want = (members ? WANT_MEMBERS : 0) | (services ? WANT_SERVICES : 0) |
	    (want_log ? WANT_LOG : 0);
	if (want == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "nothing to "
		    "watch: ask for members, services or log");
		return;
	}
	if ((want & WANT_LOG) && !ctl_is_admin(c)) {
		ctl_reply_error(c, msg->id, PEER_PERMISSION_DENIED, "log lines "
		    "need root, the daemon's user or admin_group");
		return;
	}
	if ((wt = watcher_of(w, c)) == NULL) {
		if ((wt = calloc(1, sizeof(*wt))) == NULL) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "out of memory");
			return;
		}
		wt->c = c;
		TAILQ_INSERT_TAIL(&w->watchers, wt, entry);
	}
	wt->want = want;
	wt->level = level;
	tap_update(w);
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 2 + ((want & WANT_LOG) != 0));
	cbor_put_text(b, "members");
	cbor_put_bool(b, members);
	cbor_put_text(b, "services");
	cbor_put_bool(b, services);
	if (want & WANT_LOG) {
		cbor_put_text(b, "log");
		cbor_put_text(b, log_level_name(level));
	}
	ctl_result_end(c);
}

static void
watch_op_unwatch(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct watch	*w = arg;
	struct watcher	*wt;
	struct cbor_buf	*b;

	if ((wt = watcher_of(w, c)) == NULL) {
		ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "this client does "
		    "not watch");
		return;
	}
	watcher_remove(w, wt);
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 0);
	ctl_result_end(c);
}

const struct ctl_op watch_ctl_ops[] = {
	{ "unwatch",	0,	watch_op_unwatch },
	{ "watch",	0,	watch_op_watch },
	{ NULL,		0,	NULL },
};
