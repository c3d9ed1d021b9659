/* SPDX-License-Identifier: ISC */
/*
 * metrics.c: the writers of numbers for monitoring (Prometheus text
 * exposition format 0.0.4, and CBOR for the stats op) and the HTTP
 * server of GET /metrics on evhttp.  The server holds at most
 * METRICS_CONNS_MAX connections (it stops accepting at that many), and
 * each for METRICS_CONN_MS at most, so a slow or hostile scraper holds
 * a bounded share of the daemon.
 */
#include <sys/socket.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "addr.h"
#include "cbor_buf.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "peer.h"

const double metrics_bounds[METRICS_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void
metrics_observe(struct metrics_hist *h, double v)
{
	size_t	i;

	for (i = 0; i < METRICS_BUCKETS && v > metrics_bounds[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

unsigned
metrics_code(int code)
{
	if (code < 0 || code >= METRICS_CODES || (code != PEER_UNKNOWN &&
	    strcmp(peer_code_name((enum peer_code)code), "UNKNOWN") == 0))
		return PEER_UNKNOWN;
	return (unsigned)code;
}

enum writer_kind {
	WRITER_TEXT,
	WRITER_CBOR,
};

#define FAMILY_NAME_MAX	128
#define FAMILY_HELP_MAX	512

struct metrics_writer {
	enum writer_kind	 kind;
	bool			 open;		/* a family was begun */
	enum metrics_type	 type;
	char			 name[FAMILY_NAME_MAX];
	char			 help[FAMILY_HELP_MAX];
	/* Text. */
	struct evbuffer		*text;
	bool			 failed;
	/* CBOR: whole families, and the samples of the open one. */
	struct cbor_buf		*out;
	struct cbor_buf		 families;
	size_t			 nfamilies;
	struct cbor_buf		 samples;
	size_t			 nsamples;
};

static const char *
type_name(enum metrics_type t)
{
	switch (t) {
	case METRICS_COUNTER:
		return "counter";
	case METRICS_GAUGE:
		return "gauge";
	case METRICS_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/*
 * A value as Prometheus reads it (Go's ParseFloat): whole numbers
 * without a point, others in the fewest digits that read back the same.
 */
static const char *
format_value(double v, char buf[32])
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (v == trunc(v) && fabs(v) < 1e15)
		snprintf(buf, 32, "%.0f", v);
	else {
		snprintf(buf, 32, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, 32, "%.17g", v);
	}
	return buf;
}

static void
text_add(struct metrics_writer *w, const void *s, size_t n)
{
	if (!w->failed && evbuffer_add(w->text, s, n) == -1)
		w->failed = true;
}

static void
text_puts(struct metrics_writer *w, const char *s)
{
	text_add(w, s, strlen(s));
}

/* Escapes \ and newline (HELP), and " too (label values). */
static void
text_escaped(struct metrics_writer *w, const char *s, bool quotes)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\' && *s != '\n' && !(quotes && *s == '"'))
			continue;
		text_add(w, run, (size_t)(s - run));
		text_puts(w, *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"");
		run = s + 1;
	}
	text_add(w, run, (size_t)(s - run));
}

/* name{labels,le="..."} value */
static void
text_sample(struct metrics_writer *w, const char *suffix,
    const struct metrics_label *l, size_t n, const char *le, double v)
{
	char	buf[32];
	size_t	i;

	text_puts(w, w->name);
	text_puts(w, suffix);
	if (n > 0 || le != NULL) {
		text_puts(w, "{");
		for (i = 0; i < n; i++) {
			if (i > 0)
				text_puts(w, ",");
			text_puts(w, l[i].name);
			text_puts(w, "=\"");
			text_escaped(w, l[i].value, true);
			text_puts(w, "\"");
		}
		if (le != NULL) {
			text_puts(w, n > 0 ? ",le=\"" : "le=\"");
			text_puts(w, le);
			text_puts(w, "\"");
		}
		text_puts(w, "}");
	}
	text_puts(w, " ");
	text_puts(w, format_value(v, buf));
	text_puts(w, "\n");
}

/* A whole number as an integer, anything else as a float64. */
static void
cbor_put_number(struct cbor_buf *b, double v)
{
	uint8_t		raw[9];
	uint64_t	u;
	int		i;

	if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
		if (v >= 0)
			cbor_put_uint(b, (uint64_t)v);
		else
			cbor_put_int(b, (int64_t)v);
		return;
	}
	memcpy(&u, &v, sizeof(u));
	raw[0] = 0xfb;
	for (i = 8; i > 0; i--, u >>= 8)
		raw[i] = u & 0xff;
	cbor_put_raw(b, raw, sizeof(raw));
}

static void
cbor_labels(struct cbor_buf *b, const struct metrics_label *l, size_t n)
{
	size_t	i;

	cbor_put_text(b, "labels");
	cbor_put_map(b, n);
	for (i = 0; i < n; i++) {
		cbor_put_text(b, l[i].name);
		cbor_put_text(b, l[i].value);
	}
}

/* Moves the open family, with its samples, into the families. */
static void
cbor_close_family(struct metrics_writer *w)
{
	struct cbor_buf	*b = &w->families;

	if (!w->open)
		return;
	cbor_put_text(b, w->name);
	cbor_put_map(b, 3);
	cbor_put_text(b, "type");
	cbor_put_text(b, type_name(w->type));
	cbor_put_text(b, "help");
	cbor_put_text(b, w->help);
	cbor_put_text(b, "samples");
	cbor_put_array(b, w->nsamples);
	cbor_put_raw(b, w->samples.data, w->samples.len);
	if (w->samples.failed)
		b->failed = true;
	cbor_buf_reset(&w->samples);
	w->nsamples = 0;
	w->nfamilies++;
	w->open = false;
}

void
metrics_family(struct metrics_writer *w, const char *name,
    enum metrics_type type, const char *help)
{
	if (w->kind == WRITER_CBOR)
		cbor_close_family(w);
	w->open = true;
	w->type = type;
	snprintf(w->name, sizeof(w->name), "%s", name);
	snprintf(w->help, sizeof(w->help), "%s", help);
	if (w->kind == WRITER_TEXT) {
		text_puts(w, "# HELP ");
		text_puts(w, w->name);
		text_puts(w, " ");
		text_escaped(w, w->help, false);
		text_puts(w, "\n# TYPE ");
		text_puts(w, w->name);
		text_puts(w, " ");
		text_puts(w, type_name(type));
		text_puts(w, "\n");
	}
}

void
metrics_value(struct metrics_writer *w, const struct metrics_label *l,
    size_t n, double v)
{
	if (!w->open || w->type == METRICS_HISTOGRAM)
		return;
	if (w->kind == WRITER_TEXT) {
		text_sample(w, "", l, n, NULL, v);
		return;
	}
	cbor_put_map(&w->samples, 2);
	cbor_labels(&w->samples, l, n);
	cbor_put_text(&w->samples, "value");
	cbor_put_number(&w->samples, v);
	w->nsamples++;
}

void
metrics_histogram(struct metrics_writer *w, const struct metrics_label *l,
    size_t n, const struct metrics_hist *h)
{
	struct cbor_buf	*b = &w->samples;
	char		 le[32];
	uint64_t	 cum = 0;
	size_t		 i;

	if (!w->open || w->type != METRICS_HISTOGRAM)
		return;
	if (w->kind == WRITER_TEXT) {
		for (i = 0; i < METRICS_BUCKETS; i++) {
			cum += h->bucket[i];
			text_sample(w, "_bucket", l, n,
			    format_value(metrics_bounds[i], le), (double)cum);
		}
		text_sample(w, "_bucket", l, n, "+Inf", (double)h->count);
		text_sample(w, "_sum", l, n, NULL, h->sum);
		text_sample(w, "_count", l, n, NULL, (double)h->count);
		return;
	}
	cbor_put_map(b, 4);
	cbor_labels(b, l, n);
	cbor_put_text(b, "count");
	cbor_put_uint(b, h->count);
	cbor_put_text(b, "sum");
	cbor_put_number(b, h->sum);
	cbor_put_text(b, "buckets");
	cbor_put_array(b, METRICS_BUCKETS);
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		cbor_put_map(b, 2);
		cbor_put_text(b, "le");
		cbor_put_number(b, metrics_bounds[i]);
		cbor_put_text(b, "count");
		cbor_put_uint(b, cum);
	}
	w->nsamples++;
}

int
metrics_text(struct evbuffer *out, metrics_gather_fn *gather, void *arg)
{
	struct metrics_writer	w;

	memset(&w, 0, sizeof(w));
	w.kind = WRITER_TEXT;
	w.text = out;
	gather(&w, arg);
	return w.failed ? -1 : 0;
}

void
metrics_cbor(struct cbor_buf *out, metrics_gather_fn *gather, void *arg)
{
	struct metrics_writer	w;

	memset(&w, 0, sizeof(w));
	w.kind = WRITER_CBOR;
	w.out = out;
	gather(&w, arg);
	cbor_close_family(&w);
	cbor_put_map(out, w.nfamilies);
	cbor_put_raw(out, w.families.data, w.families.len);
	if (w.families.failed)
		out->failed = true;
	cbor_buf_free(&w.families);
	cbor_buf_free(&w.samples);
}

/*
 * The HTTP server.  evhttp has no limit on connections of its own: it
 * makes each connection's bufferevent through bevcb, where we keep a
 * reference to it.  Once evhttp frees it (its callbacks are cleared),
 * our sweep lets go of it, which closes it; one past METRICS_CONN_MS is
 * shut down, which makes evhttp free it.
 */
#define SWEEP_MS	200
#define READ_MAX	(2 * METRICS_HEADERS_MAX)	/* buffered at most */

struct mconn {
	struct bufferevent	*bev;		/* our reference */
	int64_t			 since_ms;
	bool			 shut;
};

struct metrics {
	struct event_base	*base;
	struct evhttp		*http;
	struct evconnlistener	*lev;
	struct event		*sweep;
	metrics_gather_fn	*gather;
	void			*arg;
	struct mconn		 conns[METRICS_CONNS_MAX];
	size_t			 nconns;
	int64_t			 stalled_until;	/* accept failed: wait */
	bool			 accepting;
	char			 addr[ADDR_STRLEN];
};

static void
sweep_later(struct metrics *m)
{
	struct timeval	tv = { 0, SWEEP_MS * 1000 };

	if (!evtimer_pending(m->sweep, NULL))
		evtimer_add(m->sweep, &tv);
}

static void
set_accepting(struct metrics *m, bool on)
{
	if (on == m->accepting)
		return;
	if (on)
		evconnlistener_enable(m->lev);
	else
		evconnlistener_disable(m->lev);
	m->accepting = on;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics		*m = arg;
	struct mconn		*c;
	bufferevent_data_cb	 rd, wr;
	bufferevent_event_cb	 ev;
	evutil_socket_t		 s;
	int64_t			 now = clock_ms();
	size_t			 i;

	(void)fd; (void)what;
	for (i = 0; i < m->nconns; ) {
		c = &m->conns[i];
		bufferevent_getcb(c->bev, &rd, &wr, &ev, NULL);
		if (rd == NULL && wr == NULL && ev == NULL) {
			bufferevent_decref(c->bev);
			m->conns[i] = m->conns[--m->nconns];
			continue;
		}
		if (!c->shut && now - c->since_ms >= METRICS_CONN_MS &&
		    (s = bufferevent_getfd(c->bev)) != -1) {
			log_debug("metrics: closing a connection held for %d "
			    "ms", METRICS_CONN_MS);
			(void)shutdown(s, SHUT_RDWR);
			c->shut = true;
		}
		i++;
	}
	if (m->nconns < METRICS_CONNS_MAX && now >= m->stalled_until)
		set_accepting(m, true);
	if (m->nconns > 0 || !m->accepting)
		sweep_later(m);
}

/* evhttp's bufferevent for a new connection, counted here. */
static struct bufferevent *
new_conn(struct event_base *base, void *arg)
{
	struct metrics		*m = arg;
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	/* evhttp parses no more than this: a flood waits in the kernel. */
	bufferevent_setwatermark(bev, EV_READ, 0, READ_MAX);
	if (m->nconns < METRICS_CONNS_MAX) {
		bufferevent_incref(bev);
		m->conns[m->nconns].bev = bev;
		m->conns[m->nconns].since_ms = clock_ms();
		m->conns[m->nconns].shut = false;
		m->nconns++;
	}
	/* The listener stops at once: no more are taken in this turn. */
	if (m->nconns >= METRICS_CONNS_MAX)
		set_accepting(m, false);
	sweep_later(m);
	return bev;
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct metrics	*m = arg;

	(void)lev;
	log_warnx("metrics: accept: %s; pausing 1 s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	m->stalled_until = clock_ms() + 1000;
	set_accepting(m, false);
	sweep_later(m);
}

/*
 * A connection that brought a request is closing: evhttp frees its
 * bufferevent next, and the sweep after that lets go of ours, so that
 * scrapes in a row do not wait for the sweep's timer.
 */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct metrics	*m = arg;

	(void)evcon;
	event_active(m->sweep, EV_TIMEOUT, 1);
}

/* An error of ours, in plain text; allow, if not NULL, for a 405. */
static void
reply_error(struct evhttp_request *req, int code, const char *reason,
    const char *allow)
{
	struct evkeyvalq	*hdr = evhttp_request_get_output_headers(req);
	struct evbuffer		*body = evbuffer_new();

	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(hdr, "Connection", "close");
	if (allow != NULL)
		evhttp_add_header(hdr, "Allow", allow);
	if (body != NULL)
		evbuffer_add_printf(body, "%d %s\n", code, reason);
	evhttp_send_reply(req, code, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}

static void
serve_request(struct evhttp_request *req, void *arg)
{
	struct metrics		*m = arg;
	struct evkeyvalq	*hdr = evhttp_request_get_output_headers(req);
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evbuffer		*body;

	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    conn_closed, m);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		reply_error(req, HTTP_NOTFOUND, "Not Found", NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET) {
		reply_error(req, 405, "Method Not Allowed", "GET");
		return;
	}
	if ((body = evbuffer_new()) == NULL ||
	    metrics_text(body, m->gather, m->arg) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		reply_error(req, HTTP_INTERNAL, "Internal Server Error", NULL);
		return;
	}
	evhttp_add_header(hdr, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	/* One request per connection: the next scrape connects anew. */
	evhttp_add_header(hdr, "Connection", "close");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

struct metrics *
metrics_open(struct event_base *base, const char *listen,
    metrics_gather_fn *gather, void *arg)
{
	struct sockaddr_storage	 ss;
	struct timeval		 idle = { METRICS_IDLE_MS / 1000,
				    METRICS_IDLE_MS % 1000 * 1000 };
	struct metrics		*m;
	socklen_t		 len;
	char			 why[128];

	if (addr_parse(listen, &ss, &len, why, sizeof(why)) == -1) {
		log_warnx("metrics: %s", why);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("metrics");
		return NULL;
	}
	m->base = base;
	m->gather = gather;
	m->arg = arg;
	if ((m->sweep = evtimer_new(base, sweep_cb, m)) == NULL ||
	    (m->http = evhttp_new(base)) == NULL) {
		log_warn("metrics");
		goto fail;
	}
	if ((m->lev = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&ss, (int)len)) ==
	    NULL) {
		log_warn("metrics: cannot listen on %s", listen);
		goto fail;
	}
	if (evhttp_bind_listener(m->http, m->lev) == NULL) {
		log_warn("metrics: evhttp");
		evconnlistener_free(m->lev);
		m->lev = NULL;
		goto fail;
	}
	m->accepting = true;
	evconnlistener_set_error_cb(m->lev, accept_error_cb);
	evhttp_set_bevcb(m->http, new_conn, m);
	evhttp_set_gencb(m->http, serve_request, m);
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout_tv(m->http, &idle);
	/* Every method reaches serve_request, which answers 405. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(m->lev), (struct sockaddr *)&ss,
	    &len) == -1) {
		log_warn("metrics: getsockname");
		goto fail;
	}
	addr_format((struct sockaddr *)&ss, m->addr);
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	size_t	i;

	if (m == NULL)
		return;
	/* evhttp frees its connections and the listener it was given. */
	if (m->http != NULL)
		evhttp_free(m->http);
	for (i = 0; i < m->nconns; i++)
		bufferevent_decref(m->conns[i].bev);
	if (m->sweep != NULL)
		event_free(m->sweep);
	free(m);
}

const char *
metrics_addr(const struct metrics *m)
{
	return m->addr;
}
