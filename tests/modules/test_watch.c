/* SPDX-License-Identifier: ISC */
/*
 * test_watch.c: watch.c against a real control server driven by
 * clients, and the log tap of log.c.  The rules: a watch asks for
 * members, services and/or the log at a level, and anything else is
 * refused; each watcher gets a message per change it asked for, with
 * its fields, after the reply to its watch and never after the reply to
 * its unwatch; a second watch replaces the first; log lines reach
 * watchers at their level whatever stderr's, the tap is off when no one
 * watches the log and never sees a line logged from inside itself; a
 * watcher that does not read loses messages, bounded by its unread
 * bytes and by the queue, and its next message says how many.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "changes.h"
#include "clock.h"
#include "control.h"
#include "harness.h"
#include "log.h"
#include "watch.h"

#define WAIT_MS		2000	/* for what must come */
#define QUIET_MS	200	/* for what must not */
#define PENDING_MAX	1024	/* watch.c's queue */

static struct event_base	*base;
static struct control		*ctl;
static struct watch		*watch;
static char			 dir[64], sock[128];
static uint64_t			 next_id;
static int			 tapped;	/* lines the tap was given */

static const char	*const id_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void
client_gone(void *arg, struct ctl_conn *cc)
{
	(void)arg;
	watch_client_gone(watch, cc);
}

static const struct control_ops	control_ops = { client_gone };

/* The tap as peerd.c sets it, counting what it is given. */
static void
tap(void *arg, enum log_level l, const char *line)
{
	tapped++;
	watch_log(arg, l, line);
}

static void
setup(void)
{
	struct control_params	cp;

	/* Below what the watchers ask for: the tap must not care. */
	log_set_level(LOG_LEVEL_ERROR);
	/* A client that went away is written to, as in peerd. */
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tmpdir_make(dir, sizeof(dir), "watch");
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	control_params_init(&cp, sock);
	cp.max_clients = CLIENTS_MAX + 8;
	ctl = control_open(base, &cp, &control_ops, NULL);
	ck_assert_ptr_nonnull(ctl);
	watch = watch_new(base);
	ck_assert_ptr_nonnull(watch);
	ck_assert_int_eq(control_add_ops(ctl, watch_ctl_ops, watch), 0);
	log_set_tap(tap, watch);
	next_id = 0;
	tapped = 0;
}

static void
teardown(void)
{
	clients_close_all();
	control_free(ctl);		/* tells watch of its clients first */
	log_set_tap(NULL, NULL);
	watch_free(watch);
	event_base_free(base);
	tmpdir_remove(dir);
}

/* The reply to request id, which must come. */
static const struct ctl_msg *
reply(struct client *cl, uint64_t id)
{
	return client_must_reply(cl, base, id, WAIT_MS);
}

/* What the last watch that succeeded said it watches. */
static struct {
	bool	members, services;
	char	log[16];
} said;

/* Reads said from the result of a watch. */
static void
read_said(const struct ctl_msg *m)
{
	const struct cbor_field	*r = ctl_msg_get(m, "result"), *fl;
	struct cbor_field	 f[4];
	int			 n;

	ck_assert_ptr_nonnull(r);
	n = cbor_scan_map(r->val, r->vallen, f, 4);
	ck_assert_int_ge(n, 2);
	ck_assert(cbor_read_bool(f[0].val, f[0].vallen, &said.members));
	ck_assert(cbor_read_bool(f[1].val, f[1].vallen, &said.services));
	ck_assert_ptr_nonnull(cbor_field_get(f, n, "members"));
	ck_assert_ptr_nonnull(cbor_field_get(f, n, "services"));
	said.log[0] = '\0';
	if ((fl = cbor_field_get(f, n, "log")) != NULL)
		ck_assert(cbor_read_name(fl->val, fl->vallen, said.log,
		    sizeof(said.log), NULL));
	ck_assert_int_eq(n, 2 + (fl != NULL));
}

/*
 * A watch request: members and services as booleans if >= 0, log as
 * text if not NULL; its code, and the error's message into msg.
 */
static enum peer_code
watch_req(struct client *cl, int members, int services, const char *log,
    char *msg, size_t cap)
{
	const struct ctl_msg	*m;
	struct cbor_buf		*b;
	enum peer_code		 code;

	b = client_begin(cl, "watch", ++next_id, (members >= 0) +
	    (services >= 0) + (log != NULL));
	if (members >= 0) {
		cbor_put_text(b, "members");
		cbor_put_bool(b, members);
	}
	if (services >= 0) {
		cbor_put_text(b, "services");
		cbor_put_bool(b, services);
	}
	if (log != NULL) {
		cbor_put_text(b, "log");
		cbor_put_text(b, log);
	}
	client_send(cl);
	m = reply(cl, next_id);
	if ((code = reply_code(m, msg, cap)) == PEER_OK)
		read_said(m);
	return code;
}

static enum peer_code
unwatch(struct client *cl)
{
	const struct ctl_msg	*m;
	const struct cbor_field	*r;
	struct cbor_field	 f[1];
	enum peer_code		 code;

	client_begin(cl, "unwatch", ++next_id, 0);
	client_send(cl);
	m = reply(cl, next_id);
	if ((code = reply_code(m, NULL, 0)) == PEER_OK) {
		r = ctl_msg_get(m, "result");
		ck_assert_int_eq(cbor_scan_map(r->val, r->vallen, f, 1), 0);
	}
	return code;
}

/* A change of node a, as changes.c would tell it. */
static void
change(enum change_kind kind, const char *service, const char *why)
{
	struct change	c;
	uint8_t		id[NODE_ID_LEN] = { 0 };

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.id = id;
	c.idstr = id_a;
	c.name = "a";
	c.incarnation = 7;
	c.why = why;
	c.service = service;
	c.group = service != NULL ? "lab" : NULL;
	watch_change(watch, &c);
}

static const struct ctl_msg *
next_msg(struct client *cl, const char *op)
{
	const struct ctl_msg	*m = client_message(cl, base, op, WAIT_MS);

	ck_assert_msg(m != NULL, "no %s message", op);
	return m;
}

/* The next message of op has this kind (a change) or text (a log line). */
static void
expect(struct client *cl, const char *op, const char *want)
{
	const struct ctl_msg	*m = next_msg(cl, op);
	char			 buf[1100];

	ck_assert_str_eq(msg_text(m, strcmp(op, "change") == 0 ? "kind" :
	    "text", buf, sizeof(buf)), want);
}

/* No message of op comes (the loop runs meanwhile). */
static bool
quiet(struct client *cl, const char *op)
{
	return client_message(cl, base, op, QUIET_MS) == NULL;
}

START_TEST(test_bad_watches_refused)
{
	struct client	*cl = clients_open(sock);
	struct cbor_buf	*b;
	char		 msg[256];

	ck_assert_int_eq(watch_req(cl, -1, -1, NULL, msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "nothing to watch: ask for members, services "
	    "or log");
	ck_assert_int_eq(watch_req(cl, 0, 0, NULL, msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_int_eq(watch_req(cl, -1, -1, "verbose", msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "log: not one of error, warn, info, debug");
	ck_assert_int_eq(watch_req(cl, 1, -1, "", msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "log: not one of error, warn, info, debug");
	ck_assert_int_eq(watch_req(cl, 1, -1, "debugging", msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "log: not text of at most 7 bytes");
	b = client_begin(cl, "watch", ++next_id, 1);
	cbor_put_text(b, "members");
	cbor_put_text(b, "yes");
	client_send(cl);
	ck_assert_int_eq(reply_code(reply(cl, next_id), msg, sizeof(msg)),
	    PEER_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "members: not a boolean");
	b = client_begin(cl, "watch", ++next_id, 1);
	cbor_put_text(b, "log");
	cbor_put_uint(b, 3);
	client_send(cl);
	ck_assert_int_eq(reply_code(reply(cl, next_id), NULL, 0),
	    PEER_INVALID_ARGUMENT);
	/* None of them started a watch. */
	ck_assert_int_eq(unwatch(cl), PEER_NOT_FOUND);
	change(CHANGE_JOIN, NULL, NULL);
	ck_assert(quiet(cl, "change"));
	ck_assert_int_eq(tapped, 0);
}
END_TEST

START_TEST(test_member_change_fields)
{
	struct client		*cl = clients_open(sock);
	const struct ctl_msg	*m;
	char			 buf[128];
	uint64_t		 t0 = clock_wall_ms(), t;

	ck_assert_int_eq(watch_req(cl, 1, -1, NULL, NULL, 0), PEER_OK);
	ck_assert(said.members && !said.services && said.log[0] == '\0');
	change(CHANGE_DEAD, NULL, "no answer to 3 probes");
	m = next_msg(cl, "change");
	ck_assert_str_eq(msg_text(m, "kind", buf, sizeof(buf)),
	    "member-dead");
	ck_assert_str_eq(msg_text(m, "node", buf, sizeof(buf)), id_a);
	ck_assert_str_eq(msg_text(m, "name", buf, sizeof(buf)), "a");
	ck_assert_uint_eq(msg_uint(m, "incarnation"), 7);
	ck_assert_str_eq(msg_text(m, "why", buf, sizeof(buf)),
	    "no answer to 3 probes");
	ck_assert_ptr_null(ctl_msg_get(m, "service"));
	ck_assert_ptr_null(ctl_msg_get(m, "group"));
	ck_assert_ptr_null(ctl_msg_get(m, "lost"));
	t = msg_uint(m, "time");
	ck_assert_uint_ge(t, t0);
	ck_assert_uint_le(t, clock_wall_ms());
	/* Without evidence, no why. */
	change(CHANGE_JOIN, NULL, NULL);
	m = next_msg(cl, "change");
	ck_assert_str_eq(msg_text(m, "kind", buf, sizeof(buf)),
	    "member-join");
	ck_assert_ptr_null(ctl_msg_get(m, "why"));
	/* Services were not asked for. */
	change(CHANGE_REGISTERED, "calc", NULL);
	ck_assert(quiet(cl, "change"));
}
END_TEST

START_TEST(test_service_change_fields)
{
	struct client		*cl = clients_open(sock);
	const struct ctl_msg	*m;
	char			 buf[128];

	ck_assert_int_eq(watch_req(cl, 0, 1, NULL, NULL, 0), PEER_OK);
	ck_assert(!said.members && said.services);
	change(CHANGE_DEAD, NULL, "gone");
	change(CHANGE_WITHDRAWN, "calc", "member-dead");
	m = next_msg(cl, "change");
	ck_assert_str_eq(msg_text(m, "kind", buf, sizeof(buf)),
	    "service-withdrawn");
	ck_assert_str_eq(msg_text(m, "node", buf, sizeof(buf)), id_a);
	ck_assert_str_eq(msg_text(m, "name", buf, sizeof(buf)), "a");
	ck_assert_str_eq(msg_text(m, "service", buf, sizeof(buf)), "calc");
	ck_assert_str_eq(msg_text(m, "group", buf, sizeof(buf)), "lab");
	ck_assert_str_eq(msg_text(m, "why", buf, sizeof(buf)),
	    "member-dead");
	ck_assert_uint_eq(msg_uint(m, "incarnation"), 7);
	/* The member change before it was not for this watcher. */
	ck_assert(quiet(cl, "change"));
}
END_TEST

START_TEST(test_watchers_get_their_own)
{
	struct client	*both = clients_open(sock);
	struct client	*mem = clients_open(sock);
	struct client	*none = clients_open(sock);

	ck_assert_int_eq(watch_req(both, 1, 1, NULL, NULL, 0), PEER_OK);
	ck_assert_int_eq(watch_req(mem, 1, 0, NULL, NULL, 0), PEER_OK);
	change(CHANGE_SUSPECT, NULL, "a ping went unanswered");
	change(CHANGE_REGISTERED, "calc", NULL);
	change(CHANGE_LEFT, NULL, NULL);
	/* In the order they happened. */
	expect(both, "change", "member-suspect");
	expect(both, "change", "service-registered");
	expect(both, "change", "member-left");
	expect(mem, "change", "member-suspect");
	expect(mem, "change", "member-left");
	ck_assert(quiet(mem, "change"));
	ck_assert(quiet(none, "change"));
	ck_assert(quiet(both, "change"));
}
END_TEST

START_TEST(test_second_watch_replaces)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(watch_req(cl, 1, 0, NULL, NULL, 0), PEER_OK);
	ck_assert_int_eq(watch_req(cl, 0, 1, NULL, NULL, 0), PEER_OK);
	change(CHANGE_ALIVE, NULL, NULL);
	change(CHANGE_REGISTERED, "calc", NULL);
	expect(cl, "change", "service-registered");
	ck_assert(quiet(cl, "change"));
	/* A refused one leaves the watch as it was. */
	ck_assert_int_eq(watch_req(cl, -1, -1, "loud", NULL, 0),
	    PEER_INVALID_ARGUMENT);
	change(CHANGE_WITHDRAWN, "calc", NULL);
	expect(cl, "change", "service-withdrawn");
}
END_TEST

START_TEST(test_unwatch_ends_it)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(watch_req(cl, 1, 1, "debug", NULL, 0), PEER_OK);
	ck_assert_int_eq(unwatch(cl), PEER_OK);
	change(CHANGE_JOIN, NULL, NULL);
	ck_assert(quiet(cl, "change"));
	log_info("after the unwatch");
	ck_assert(quiet(cl, "log"));
	ck_assert_int_eq(unwatch(cl), PEER_NOT_FOUND);
	/* Watching again works. */
	ck_assert_int_eq(watch_req(cl, 1, 0, NULL, NULL, 0), PEER_OK);
	change(CHANGE_DEAD, NULL, NULL);
	expect(cl, "change", "member-dead");
}
END_TEST

START_TEST(test_client_gone_ends_it)
{
	struct client	*cl = clients_open(sock);
	struct client	*other = clients_open(sock);

	ck_assert_int_eq(watch_req(cl, 1, 1, "debug", NULL, 0), PEER_OK);
	ck_assert_int_eq(watch_req(other, 1, 0, NULL, NULL, 0), PEER_OK);
	change(CHANGE_JOIN, NULL, NULL);
	clients_drop(cl);
	/* The others go on; the gone one's debug lines are not asked. */
	expect(other, "change", "member-join");
	tapped = 0;
	log_debug("nobody wants this");
	ck_assert_int_eq(tapped, 0);
	change(CHANGE_LEFT, NULL, NULL);
	expect(other, "change", "member-left");
}
END_TEST

START_TEST(test_log_lines_at_their_level)
{
	struct client		*info = clients_open(sock);
	struct client		*debug = clients_open(sock);
	const struct ctl_msg	*m;
	char			 buf[128];
	uint64_t		 t0 = clock_wall_ms();

	/* stderr is at error: the other lines are still made for them. */
	ck_assert_int_eq(watch_req(info, -1, -1, "info", NULL, 0), PEER_OK);
	ck_assert_str_eq(said.log, "info");
	ck_assert(!said.members && !said.services);
	ck_assert_int_eq(watch_req(debug, 0, 0, "debug", NULL, 0), PEER_OK);
	log_debug("one %d", 1);
	log_info("two");
	log_warnx("three");
	errno = ENOENT;
	log_warn("four");
	m = next_msg(info, "log");
	ck_assert_str_eq(msg_text(m, "level", buf, sizeof(buf)), "info");
	ck_assert_str_eq(msg_text(m, "text", buf, sizeof(buf)), "two");
	ck_assert_uint_ge(msg_uint(m, "time"), t0);
	m = next_msg(info, "log");
	ck_assert_str_eq(msg_text(m, "level", buf, sizeof(buf)), "warn");
	ck_assert_str_eq(msg_text(m, "text", buf, sizeof(buf)), "three");
	expect(info, "log", "four: No such file or directory");
	m = next_msg(debug, "log");
	ck_assert_str_eq(msg_text(m, "level", buf, sizeof(buf)), "debug");
	ck_assert_str_eq(msg_text(m, "text", buf, sizeof(buf)), "one 1");
	expect(debug, "log", "two");
	expect(debug, "log", "three");
	expect(debug, "log", "four: No such file or directory");
	ck_assert(quiet(info, "log"));
	ck_assert(quiet(debug, "log"));
	/* Log watchers get no changes they did not ask for. */
	change(CHANGE_JOIN, NULL, NULL);
	ck_assert(quiet(debug, "change"));

	/* With the debug watcher gone, debug lines are not even made. */
	ck_assert_int_eq(unwatch(debug), PEER_OK);
	tapped = 0;
	log_debug("five");
	ck_assert_int_eq(tapped, 0);
	log_info("six");
	ck_assert_int_eq(tapped, 1);
	expect(info, "log", "six");
	ck_assert_int_eq(unwatch(info), PEER_OK);
	log_warnx("seven");
	ck_assert_int_eq(tapped, 1);
}
END_TEST

START_TEST(test_log_text_made_safe)
{
	struct client	*cl = clients_open(sock);

	ck_assert_int_eq(watch_req(cl, -1, -1, "warn", NULL, 0), PEER_OK);
	/* Not UTF-8: the message must still decode, with '?' for each. */
	log_warnx("bad \xff\xfe name \x01");
	expect(cl, "log", "bad ?? name ?");
	/* UTF-8 stays. */
	log_warnx("caf\xc3\xa9");
	expect(cl, "log", "caf\xc3\xa9");
}
END_TEST

/* A tap that logs from inside itself. */
static void
tap_that_logs(void *arg, enum log_level l, const char *line)
{
	(void)arg;
	(void)l;
	(void)line;
	tapped++;
	log_warnx("logged by the tap");
}

START_TEST(test_tap_not_reentered)
{
	log_set_tap(tap_that_logs, NULL);
	log_tap_level(LOG_LEVEL_DEBUG);
	log_debug("once");
	ck_assert_int_eq(tapped, 1);
	log_tap_level(-1);
	log_debug("off");
	ck_assert_int_eq(tapped, 1);
	/* Removing the tap turns it off for good. */
	log_tap_level(LOG_LEVEL_DEBUG);
	log_set_tap(NULL, NULL);
	log_tap_level(LOG_LEVEL_DEBUG);
	log_debug("none");
	ck_assert_int_eq(tapped, 1);
}
END_TEST

/* A line of about 1 KiB, numbered. */
static void
fill_line(int i)
{
	static char	pad[1000];

	memset(pad, 'x', sizeof(pad) - 1);
	log_debug("fill %d %s", i, pad);
}

/* The number of a fill line, or -1 for another message. */
static int
fill_number(const struct ctl_msg *m)
{
	char	buf[1100];
	int	n;

	msg_text(m, "text", buf, sizeof(buf));
	return sscanf(buf, "fill %d", &n) == 1 ? n : -1;
}

START_TEST(test_slow_watcher_loses_and_is_told)
{
	struct client		*slow = clients_open(sock);
	const struct ctl_msg	*m;
	uint64_t		 lost = 0;
	int			 i, n, got = 0, last = -1, total = 4000;

	ck_assert_int_eq(watch_req(slow, -1, -1, "debug", NULL, 0), PEER_OK);
	/* 4 MB for a client that reads nothing: its 1 MiB fills. */
	for (i = 0; i < total; i++) {
		fill_line(i);
		if (i % 500 == 499)
			loop_for(base, 20);
	}
	/* Read up: what came is in order, and none says lost yet. */
	while ((m = client_message(slow, base, "log", QUIET_MS)) != NULL) {
		if ((n = fill_number(m)) == -1)
			continue;
		ck_assert_int_gt(n, last);
		ck_assert_ptr_null(ctl_msg_get(m, "lost"));
		last = n;
		got++;
	}
	/* The next one tells the gap. */
	fill_line(total);
	m = next_msg(slow, "log");
	ck_assert_int_eq(fill_number(m), total);
	lost = msg_uint(m, "lost");
	got++;
	ck_assert_uint_gt(lost, 0);
	ck_assert_int_lt(got, total / 2);
	ck_assert_uint_eq((uint64_t)got + lost, (uint64_t)total + 1);
}
END_TEST

START_TEST(test_queue_bounded_between_flushes)
{
	struct client		*cl = clients_open(sock);
	const struct ctl_msg	*m;
	int			 i, n, got = 0;

	ck_assert_int_eq(watch_req(cl, -1, -1, "debug", NULL, 0), PEER_OK);
	/* Without the loop nothing is written: the queue holds 1024. */
	for (i = 0; i < PENDING_MAX + 100; i++)
		log_debug("fill %d", i);
	for (i = 0; i < PENDING_MAX; i++) {
		m = next_msg(cl, "log");
		ck_assert_int_eq(fill_number(m), i);
		ck_assert_ptr_null(ctl_msg_get(m, "lost"));
		got++;
	}
	log_debug("fill %d", PENDING_MAX + 100);
	m = next_msg(cl, "log");
	n = fill_number(m);
	ck_assert_int_eq(n, PENDING_MAX + 100);
	ck_assert_uint_eq(msg_uint(m, "lost"), 100);
	ck_assert_int_eq(got, PENDING_MAX);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("watch");
	TCase	*tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bad_watches_refused);
	tcase_add_test(tc, test_member_change_fields);
	tcase_add_test(tc, test_service_change_fields);
	tcase_add_test(tc, test_watchers_get_their_own);
	tcase_add_test(tc, test_second_watch_replaces);
	tcase_add_test(tc, test_unwatch_ends_it);
	tcase_add_test(tc, test_client_gone_ends_it);
	tcase_add_test(tc, test_log_lines_at_their_level);
	tcase_add_test(tc, test_log_text_made_safe);
	tcase_add_test(tc, test_tap_not_reentered);
	tcase_add_test(tc, test_slow_watcher_loses_and_is_told);
	tcase_add_test(tc, test_queue_bounded_between_flushes);
	suite_add_tcase(s, tc);
	return s;
}
