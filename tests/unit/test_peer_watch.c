/* SPDX-License-Identifier: ISC */
/*
 * test_peer_watch.c: libpeer's watching (peer_watch, peer_unwatch, the
 * change and log messages decoded, malformed ones dropped, the watch
 * renewed after a reconnect) against the fake daemon of fake_peerd.h;
 * and peerctl monitor's options and lines.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "cbor_buf.h"
#include "fake_peerd.h"
#include "../../ctl/monitor.h"
#include "peer.h"
#include "proto.h"
#include "suites.h"

#define T0	1796600000123ull	/* a message's time */

/* A field of a message the fake sends: text, or else a uint. */
struct field {
	const char	*key;
	const char	*text;
	uint64_t	 num;
};

static const struct field member_dead[] = {
	{ "kind", "member-dead", 0 },
	{ "node", "nodeb", 0 },
	{ "name", "b", 0 },
	{ "incarnation", NULL, 5 },
	{ "why", "no answer to 3 probes", 0 },
	{ "time", NULL, T0 },
	{ NULL, NULL, 0 },
};

static const struct field service_withdrawn[] = {
	{ "kind", "service-withdrawn", 0 },
	{ "node", "nodeb", 0 },
	{ "name", "b", 0 },
	{ "incarnation", NULL, 6 },
	{ "service", "calc", 0 },
	{ "group", "lab", 0 },
	{ "time", NULL, T0 + 1 },
	{ "lost", NULL, 4 },
	{ NULL, NULL, 0 },
};

static const struct field log_line[] = {
	{ "level", "warn", 0 },
	{ "time", NULL, T0 + 2 },
	{ "text", "link x: closed", 0 },
	{ NULL, NULL, 0 },
};

/*
 * A frame {op, fields...}, with the value of key odd replaced by raw
 * (left out if raw is NULL), or added if no field has that key.
 */
static void
put_msg(struct cbor_buf *b, const char *op, const struct field *fl,
    const char *odd, const uint8_t *raw, size_t rawlen)
{
	size_t	i, n = 1, start;
	bool	found = false;

	for (i = 0; fl[i].key != NULL; i++) {
		if (odd != NULL && strcmp(fl[i].key, odd) == 0) {
			found = true;
			n += raw != NULL;
		} else
			n++;
	}
	n += odd != NULL && !found && raw != NULL;
	start = ctl_frame_begin(b);
	cbor_put_map(b, n);
	cbor_put_text(b, "op");
	cbor_put_text(b, op);
	for (i = 0; fl[i].key != NULL; i++) {
		if (odd != NULL && strcmp(fl[i].key, odd) == 0) {
			if (raw != NULL) {
				cbor_put_text(b, odd);
				cbor_put_raw(b, raw, rawlen);
			}
			continue;
		}
		cbor_put_text(b, fl[i].key);
		if (fl[i].text != NULL)
			cbor_put_text(b, fl[i].text);
		else
			cbor_put_uint(b, fl[i].num);
	}
	if (odd != NULL && !found && raw != NULL) {
		cbor_put_text(b, odd);
		cbor_put_raw(b, raw, rawlen);
	}
	ctl_frame_end(b, start, 1 << 20);
}

/* Receives a watch request for exactly this and confirms it. */
static bool
fake_watch(struct fake *f, bool members, bool services, const char *log,
    enum peer_code refuse)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "watch") || !f->m.has_id ||
	    f->m.nf != 4 + (log != NULL) ||
	    !item_is(f, "members", B(members ? 0xf5 : 0xf4), 1) ||
	    !item_is(f, "services", B(services ? 0xf5 : 0xf4), 1) ||
	    !text_is(f, "log", log))
		return false;
	if (refuse != PEER_OK)
		put_error(&b, f->m.id, refuse, "refused", NULL, 0);
	else
		put_result(&b, f->m.id, B(0xa0), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

static bool
fake_unwatch(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	if (!fake_recv(f) || !op_is(f, "unwatch") || !f->m.has_id ||
	    f->m.nf != 2)
		return false;
	put_result(&b, f->m.id, B(0xa0), 1);
	ok = fake_send(f, &b);
	cbor_buf_free(&b);
	return ok;
}

/* What the callback saw last, copied; "-" for a NULL text. */
struct seen {
	int		 n;
	unsigned	 type;
	char		 kind[32], node[32], name[32], why[64];
	char		 service[32], group[32], text[64];
	uint64_t	 incarnation, time_ms, lost;
	enum peer_log_level level;
	bool		 nested_ok;	/* what a callback may not do */
};

static void
copy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s != NULL ? s : "-");
}

static void
on_msg(struct peer *p, const struct peer_watch_msg *w, void *arg)
{
	struct seen		*s = arg;
	struct peer_error	 err;

	s->n++;
	s->type = w->type;
	copy(s->kind, sizeof(s->kind), w->kind);
	copy(s->node, sizeof(s->node), w->node);
	copy(s->name, sizeof(s->name), w->name);
	copy(s->why, sizeof(s->why), w->why);
	copy(s->service, sizeof(s->service), w->service);
	copy(s->group, sizeof(s->group), w->group);
	copy(s->text, sizeof(s->text), w->text);
	s->incarnation = w->incarnation;
	s->time_ms = w->time_ms;
	s->lost = w->lost;
	s->level = w->level;
	s->nested_ok = peer_watch(p, PEER_WATCH_MEMBERS, PEER_LOG_ERROR,
	    on_msg, s, &err) == -1 && err.code == PEER_INVALID_ARGUMENT &&
	    peer_unwatch(p, &err) == -1 && err.code == PEER_INVALID_ARGUMENT;
}

static bool
step_up(struct peer *p, void *arg)
{
	(void)arg;
	return peer_fd(p) != -1;
}

static bool
step_n(struct peer *p, void *arg)
{
	struct seen	*s = arg;

	(void)p;
	return s->n >= 1;
}

static void
script_watch(struct fake *f)
{
	struct cbor_buf	b = { 0 };
	bool		ok;

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_watch(f, true, false, NULL, PEER_OK));
	FCHECK(f, fake_gate(f));

	/* A member change, whole. */
	put_msg(&b, "change", member_dead, NULL, NULL, 0);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));

	/*
	 * Malformed ones are dropped, and so is a kind not watched; the
	 * good one after them is not.
	 */
	put_msg(&b, "change", member_dead, "kind", NULL, 0);
	put_msg(&b, "change", member_dead, "kind", B(0x01), 1);
	put_msg(&b, "change", member_dead, "node", NULL, 0);
	put_msg(&b, "change", member_dead, "node", B(0x41, 'n'), 2);
	put_msg(&b, "change", member_dead, "name", NULL, 0);
	put_msg(&b, "change", member_dead, "name", B(0x62, 'a', 0), 3);
	put_msg(&b, "change", member_dead, "incarnation", NULL, 0);
	put_msg(&b, "change", member_dead, "incarnation", B(0x61, '5'), 2);
	put_msg(&b, "change", member_dead, "why", B(0x20), 1);
	put_msg(&b, "change", member_dead, "time", NULL, 0);
	put_msg(&b, "change", member_dead, "time", B(0xf6), 1);
	put_msg(&b, "change", member_dead, "lost", B(0x20), 1);
	/* A member kind with a service, a service kind without. */
	put_msg(&b, "change", member_dead, "service", B(0x61, 's'), 2);
	put_msg(&b, "change", service_withdrawn, "service", NULL, 0);
	put_msg(&b, "change", service_withdrawn, "group", NULL, 0);
	/* Well-formed, but services are not watched. */
	put_msg(&b, "change", service_withdrawn, NULL, NULL, 0);
	put_msg(&b, "log", log_line, NULL, NULL, 0);
	put_msg(&b, "change", member_dead, "why", NULL, 0);
	ok = fake_send(f, &b);
	FCHECK(f, ok);

	/* Replaced: services and the log at debug. */
	FCHECK(f, fake_watch(f, false, true, "debug", PEER_OK));
	FCHECK(f, fake_gate(f));
	put_msg(&b, "change", member_dead, NULL, NULL, 0);
	put_msg(&b, "change", service_withdrawn, NULL, NULL, 0);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));
	put_msg(&b, "log", log_line, "level", NULL, 0);
	put_msg(&b, "log", log_line, "level", B(0x64, 'l', 'o', 'u', 'd'), 5);
	put_msg(&b, "log", log_line, "text", NULL, 0);
	put_msg(&b, "log", log_line, "text", B(0x41, 't'), 2);
	put_msg(&b, "log", log_line, NULL, NULL, 0);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));

	/* A refused watch leaves the one in force. */
	FCHECK(f, fake_watch(f, true, false, NULL, PEER_PERMISSION_DENIED));
	FCHECK(f, fake_watch(f, false, false, "error",
	    PEER_PERMISSION_DENIED));
	put_msg(&b, "change", service_withdrawn, "kind",
	    B(0x72, 's', 'e', 'r', 'v', 'i', 'c', 'e', '-', 'r', 'e', 'g',
	    'i', 's', 't', 'e', 'r', 'e', 'd'), 19);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));

	/* After the unwatch, nothing reaches the callback. */
	FCHECK(f, fake_unwatch(f));
	put_msg(&b, "change", service_withdrawn, NULL, NULL, 0);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));
	cbor_buf_free(&b);
}

START_TEST(test_watch)
{
	struct fake		 f;
	struct seen		 s;
	struct peer		*p;
	struct peer_error	 err;

	memset(&s, 0, sizeof(s));
	fake_start(&f, "watch", script_watch);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	/* Refused here, with nothing sent. */
	ck_assert_int_eq(peer_watch(p, 0, PEER_LOG_ERROR, on_msg, &s, &err),
	    -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_watch(p, 0x08, PEER_LOG_ERROR, on_msg, &s,
	    &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_LOG, (enum peer_log_level)4,
	    on_msg, &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_MEMBERS, PEER_LOG_ERROR,
	    NULL, &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(peer_unwatch(p, &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_MEMBERS, PEER_LOG_DEBUG,
	    on_msg, &s, &err), 0);
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.type, PEER_WATCH_MEMBERS);
	ck_assert_str_eq(s.kind, "member-dead");
	ck_assert_str_eq(s.node, "nodeb");
	ck_assert_str_eq(s.name, "b");
	ck_assert_uint_eq(s.incarnation, 5);
	ck_assert_str_eq(s.why, "no answer to 3 probes");
	ck_assert_str_eq(s.service, "-");
	ck_assert_str_eq(s.group, "-");
	ck_assert_str_eq(s.text, "-");
	ck_assert_uint_eq(s.time_ms, T0);
	ck_assert_uint_eq(s.lost, 0);
	ck_assert(s.nested_ok);
	fake_go(&f);

	s.n = 0;
	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.kind, "member-dead");
	ck_assert_str_eq(s.why, "-");

	s.n = 0;
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_SERVICES | PEER_WATCH_LOG,
	    PEER_LOG_DEBUG, on_msg, &s, &err), 0);
	fake_go(&f);
	/* The member change is not for this watch any more. */
	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.type, PEER_WATCH_SERVICES);
	ck_assert_str_eq(s.kind, "service-withdrawn");
	ck_assert_str_eq(s.service, "calc");
	ck_assert_str_eq(s.group, "lab");
	ck_assert_str_eq(s.why, "-");
	ck_assert_uint_eq(s.incarnation, 6);
	ck_assert_uint_eq(s.time_ms, T0 + 1);
	ck_assert_uint_eq(s.lost, 4);
	fake_go(&f);

	s.n = 0;
	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.type, PEER_WATCH_LOG);
	ck_assert_str_eq(s.kind, "log");
	ck_assert_int_eq(s.level, PEER_LOG_WARN);
	ck_assert_str_eq(s.text, "link x: closed");
	ck_assert_str_eq(s.node, "-");
	ck_assert_uint_eq(s.time_ms, T0 + 2);
	fake_go(&f);

	/* What follows a refusal, maybe in the same read, is the old's. */
	s.n = 0;
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_MEMBERS, PEER_LOG_INFO,
	    on_msg, &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_PERMISSION_DENIED);
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_LOG, PEER_LOG_ERROR, on_msg,
	    &s, &err), -1);
	ck_assert_int_eq(err.code, PEER_PERMISSION_DENIED);
	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_str_eq(s.kind, "service-registered");
	fake_go(&f);

	ck_assert_int_eq(peer_unwatch(p, &err), 0);
	s.n = 0;
	ck_assert_int_eq(pump(p, step_n, &s, 300, &err), 0);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(peer_unwatch(p, &err), -1);
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	fake_go(&f);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

static void
script_rewatch(struct fake *f)
{
	struct cbor_buf	b = { 0 };

	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_watch(f, true, true, "info", PEER_OK));
	fake_hangup(f);

	/* The same watch again, on the new connection. */
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_watch(f, true, true, "info", PEER_OK));
	put_msg(&b, "log", log_line, NULL, NULL, 0);
	FCHECK(f, fake_send(f, &b));
	FCHECK(f, fake_gate(f));
	fake_hangup(f);

	/* What was unwatched while disconnected is not renewed. */
	FCHECK(f, fake_accept(f));
	FCHECK(f, fake_hello(f));
	FCHECK(f, fake_recv(f) && op_is(f, "status"));
	put_result(&b, f->m.id, B(0xa0), 1);
	FCHECK(f, fake_send(f, &b));
	cbor_buf_free(&b);
}

START_TEST(test_rewatch)
{
	struct fake		 f;
	struct seen		 s;
	struct peer		*p;
	struct peer_error	 err;
	uint8_t			*res;
	size_t			 len;

	memset(&s, 0, sizeof(s));
	fake_start(&f, "watch", script_rewatch);
	ck_assert_ptr_nonnull(p = peer_open(f.path, &err));
	peer_set_reconnect(p, true);
	ck_assert_int_eq(peer_watch(p, PEER_WATCH_MEMBERS |
	    PEER_WATCH_SERVICES | PEER_WATCH_LOG, PEER_LOG_INFO, on_msg, &s,
	    &err), 0);
	ck_assert_int_eq(pump(p, step_n, &s, 5000, &err), 1);
	ck_assert_str_eq(s.text, "link x: closed");
	fake_go(&f);

	ck_assert_int_eq(pump(p, step_lost, NULL, 5000, &err), 1);
	ck_assert_int_eq(peer_unwatch(p, &err), 0);
	/* Reconnects (no watch request comes), then asks for status. */
	ck_assert_int_eq(pump(p, step_up, NULL, 5000, &err), 1);
	ck_assert_int_eq(peer_op(p, "status", NULL, 0, 0, 0, &res, &len,
	    &err), 0);
	free(res);
	fake_finish(&f);
	peer_close(p);
}
END_TEST

START_TEST(test_log_level_names)
{
	ck_assert_str_eq(peer_log_level_name(PEER_LOG_ERROR), "error");
	ck_assert_str_eq(peer_log_level_name(PEER_LOG_DEBUG), "debug");
	ck_assert_ptr_null(peer_log_level_name((enum peer_log_level)4));
	ck_assert_int_eq(peer_log_level_parse("warn"), PEER_LOG_WARN);
	ck_assert_int_eq(peer_log_level_parse("info"), PEER_LOG_INFO);
	ck_assert_int_eq(peer_log_level_parse("Info"), -1);
	ck_assert_int_eq(peer_log_level_parse(""), -1);
	ck_assert_int_eq(peer_log_level_parse(NULL), -1);
}
END_TEST

/* monitor_parse of the words given; its result and the reason. */
static int
parse(struct monitor_conf *c, char *why, size_t cap, ...)
{
	char	*argv[16];
	va_list	 ap;
	int	 argc = 0;

	argv[argc++] = "monitor";
	va_start(ap, cap);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return monitor_parse(argc, argv, c, why, cap);
}

START_TEST(test_monitor_options)
{
	struct monitor_conf	c;
	char			why[128];

	ck_assert_int_eq(parse(&c, why, sizeof(why), NULL), 0);
	ck_assert_uint_eq(c.what, PEER_WATCH_MEMBERS | PEER_WATCH_SERVICES);
	ck_assert_uint_eq(c.count, 0);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--services", "--count",
	    "3", NULL), 0);
	ck_assert_uint_eq(c.what, PEER_WATCH_SERVICES);
	ck_assert_uint_eq(c.count, 3);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--log", "info", NULL), 0);
	ck_assert_uint_eq(c.what, PEER_WATCH_LOG);
	ck_assert_int_eq(c.level, PEER_LOG_INFO);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--members", "--log",
	    "debug", NULL), 0);
	ck_assert_uint_eq(c.what, PEER_WATCH_MEMBERS | PEER_WATCH_LOG);
	ck_assert_int_eq(c.level, PEER_LOG_DEBUG);

	/* Bad values say why; unknown words leave it to the usage. */
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count", "abc", NULL),
	    -1);
	ck_assert_str_eq(why, "--count: \"abc\" is not a number from 1 to "
	    "1000000000");
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count", "0", NULL),
	    -1);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count", "-1", NULL),
	    -1);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count",
	    "1000000001", NULL), -1);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count",
	    "99999999999999999999999", NULL), -1);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--count", "1x", NULL),
	    -1);
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--log", "loud", NULL),
	    -1);
	ck_assert_str_eq(why, "--log: \"loud\" is not one of error, warn, "
	    "info, debug");
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--log", NULL), -1);
	ck_assert_str_eq(why, "--log needs a value");
	ck_assert_int_eq(parse(&c, why, sizeof(why), "--verbose", NULL), -1);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(parse(&c, why, sizeof(why), "members", NULL), -1);
	ck_assert_str_eq(why, "");
}
END_TEST

/* What monitor_print writes for w. */
static char *
printed(const struct peer_watch_msg *w, bool json)
{
	static char	 buf[512];
	FILE		*f = fmemopen(buf, sizeof(buf), "w");

	ck_assert_ptr_nonnull(f);
	monitor_print(f, w, json);
	fclose(f);
	return buf;
}

START_TEST(test_monitor_lines)
{
	struct peer_watch_msg	w;
	json_t			*j;
	json_error_t		 je;

	memset(&w, 0, sizeof(w));
	w.type = PEER_WATCH_MEMBERS;
	w.kind = "member-dead";
	w.node = "abcdefghijklmnopqrstuvwxyz";
	w.name = "b\x1b[2J";
	w.incarnation = 9;
	w.why = "no answer";
	w.time_ms = 1796600000123ull;
	ck_assert_str_eq(printed(&w, false), "2026-12-06T23:33:20.123Z "
	    "member-dead b\\x1b[2J (abcdefghijkl): no answer\n");
	j = json_loads(printed(&w, true), 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")),
	    "member-dead");
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
	    "b\x1b[2J");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "time")),
	    1796600000123ll);
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "incarnation")), 9);
	ck_assert_ptr_null(json_object_get(j, "service"));
	ck_assert_ptr_null(json_object_get(j, "lost"));
	json_decref(j);
	/* One line each. */
	ck_assert_ptr_eq(strchr(printed(&w, true), '\n'),
	    printed(&w, true) + strlen(printed(&w, true)) - 1);

	w.type = PEER_WATCH_SERVICES;
	w.kind = "service-registered";
	w.name = "b";
	w.service = "calc";
	w.group = "lab";
	w.why = NULL;
	w.lost = 3;
	ck_assert_str_eq(printed(&w, false), "2026-12-06T23:33:20.123Z "
	    "service-registered b (abcdefghijkl) calc group lab\n");
	w.group = "";
	ck_assert_str_eq(printed(&w, false), "2026-12-06T23:33:20.123Z "
	    "service-registered b (abcdefghijkl) calc\n");
	j = json_loads(printed(&w, true), 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "service")),
	    "calc");
	ck_assert_str_eq(json_string_value(json_object_get(j, "group")), "");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "lost")), 3);
	json_decref(j);

	memset(&w, 0, sizeof(w));
	w.type = PEER_WATCH_LOG;
	w.kind = "log";
	w.level = PEER_LOG_INFO;
	w.text = "registry: calc offered";
	w.time_ms = 1796600000005ull;
	ck_assert_str_eq(printed(&w, false), "2026-12-06T23:33:20.005Z "
	    "log info  registry: calc offered\n");
	j = json_loads(printed(&w, true), 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "log");
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")),
	    "info");
	ck_assert_str_eq(json_string_value(json_object_get(j, "text")),
	    "registry: calc offered");
	ck_assert_ptr_null(json_object_get(j, "node"));
	json_decref(j);
}
END_TEST

Suite *
peer_watch_suite(void)
{
	Suite	*s = suite_create("peer_watch");
	TCase	*tc = tcase_create("peer_watch");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_rewatch);
	tcase_add_test(tc, test_log_level_names);
	tcase_add_test(tc, test_monitor_options);
	tcase_add_test(tc, test_monitor_lines);
	suite_add_tcase(s, tc);
	return s;
}
