/* SPDX-License-Identifier: ISC */
/*
 * test_tags.c: node tags between real daemons: tags configured and set
 * at run time reach the other nodes' members lists, members filters by
 * tag, state and name, call --to tag: reaches only the tagged
 * providers, and a reload keeps the run-time tags over the new
 * configured ones.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "suites.h"
#include "users.h"

#define N	3

static struct daemon	d[N];
static pid_t		svc[N];

static void
setup(void)
{
	daemons_init_with_apps(d, svc, N);
}

static void
teardown(void)
{
	daemons_free_with_apps(d, svc, N);
}

/* Starts daemon i, bootstrapped to daemon boot (-1: none). */
static void
start(int i, int boot, const char *name)
{
	daemon_start_boot(&d[i], name, boot >= 0 ? &d[boot] : NULL);
}

/*
 * The names at lists with the members arguments a1 to a4 (NULL ends
 * them), sorted and comma-joined into buf; "?" if peerctl failed.
 */
static const char *
names(const struct daemon *at, char *buf, size_t len, const char *a1,
    const char *a2, const char *a3, const char *a4)
{
	json_t		*j, *e;
	const char	*s, *list[N + 1];
	size_t		 i, k, n = 0;
	int		 status;

	buf[0] = '\0';
	if ((j = peerctl_json(at, &status, "members", a1, a2, a3, a4,
	    NULL)) == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	json_array_foreach(json_object_get(j, "members"), i, e)
		if ((s = json_string_value(json_object_get(e, "name"))) !=
		    NULL && n <= N) {
			/* Insertion sort: the table has no order. */
			for (k = n++; k > 0 && strcmp(list[k - 1], s) > 0; k--)
				list[k] = list[k - 1];
			list[k] = s;
		}
	for (k = 0; k < n; k++) {
		strncat(buf, list[k], len - strlen(buf) - 2);
		strcat(buf, ",");
	}
	json_decref(j);
	return buf;
}

/* What a filter at a node should list, until a deadline. */
struct listing {
	const struct daemon	*at;
	const char		*a1, *a2;
	const char		*want;
};

static bool
lists(void *arg)
{
	struct listing	*l = arg;
	char		 buf[256];

	return strcmp(names(l->at, buf, sizeof(buf), l->a1, l->a2, NULL,
	    NULL), l->want) == 0;
}

static void
wait_listing(const struct daemon *at, const char *a1, const char *a2,
    const char *want)
{
	struct listing	l = { at, a1, a2, want };
	char		buf[256];

	ck_assert_msg(wait_until(lists, &l, 10000), "members %s %s listed "
	    "\"%s\" for 10 s, not \"%s\"", a1 ? a1 : "", a2 ? a2 : "",
	    names(at, buf, sizeof(buf), a1, a2, NULL, NULL), want);
}

/* The value of tag key in the entry of at's members list for name. */
static bool
member_tag(const struct daemon *at, const char *name, const char *key,
    char *value, size_t len)
{
	json_t		*j, *e;
	const char	*s;
	size_t		 i;
	int		 status;
	bool		 found = false;

	if ((j = peerctl_json(at, &status, "members", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "members"), i, e)
		if ((s = json_string_value(json_object_get(e, "name"))) !=
		    NULL && strcmp(s, name) == 0 && (s = json_string_value(
		    json_object_get(json_object_get(e, "tags"), key))) !=
		    NULL) {
			snprintf(value, len, "%s", s);
			found = true;
		}
	json_decref(j);
	return found;
}

/* peerctl call echo.whoami --to to at d[0]: the answer's one line. */
static int
whoami(const char *to, bool all, char *out, size_t len)
{
	char	err[1024];
	int	status;

	status = peerctl_run(&d[0], out, len, err, sizeof(err), "call",
	    "echo.whoami", "--to", to, all ? "--all" : NULL, NULL);
	if (status != 0)
		snprintf(out, len, "%s", err);
	return status;
}

START_TEST(test_tags_seen_filtered_and_called)
{
	char	out[4096], err[1024], buf[256];
	int	i, status;

	daemon_config(&d[0], "tag = zone=eu-1\n");
	start(0, -1, "a");
	start(1, 0, "b");
	start(2, 0, "c");
	svc[1] = echo_start(&d[1], "echo", NULL);
	svc[2] = echo_start(&d[2], "echo", NULL);
	wait_providers(&d[0], "echo", 2);

	/* A configured tag, as the node itself lists it. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", NULL);
	ck_assert_msg(status == 0, "peerctl tags: %s", err);
	ck_assert_msg(strstr(out, "zone") != NULL && strstr(out, "config") !=
	    NULL && strstr(out, "eu-1") != NULL, "tags: %s", out);

	/* Set at run time on b and c, seen on a. */
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "role=gpu", "zone=us-2", "note=two words", NULL);
	ck_assert_msg(status == 0, "tags set: %s", err);
	ck_assert_msg(strstr(out, "run-time") != NULL, "tags set: %s", out);
	status = peerctl_run(&d[2], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "role=cpu", NULL);
	ck_assert_msg(status == 0, "tags set: %s", err);
	wait_listing(&d[0], "--tag", "role", "b,c,");
	ck_assert(member_tag(&d[0], "b", "note", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "two words");
	ck_assert(member_tag(&d[2], "a", "zone", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "eu-1");
	/* The table shows them too. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "members", "--tag", "role=gpu", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out, "TAGS") != NULL &&
	    strstr(out, "role=gpu") != NULL, "members: %s", out);

	/* Filters: by tag (all must match), state and name. */
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--tag", "role=gpu",
	    NULL, NULL), "b,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--tag", "zone",
	    NULL, NULL), "a,b,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--tag", "zone",
	    "--tag", "role"), "b,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--tag", "zone=eu-1",
	    "--tag", "role"), "");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--tag", "role=",
	    NULL, NULL), "");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--state", "alive",
	    NULL, NULL), "a,b,c,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--state", "left",
	    NULL, NULL), "");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--name", "^[bc]$",
	    NULL, NULL), "b,c,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--name", "b|c",
	    "--tag", "role=cpu"), "c,");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "members", "--name", "(", NULL);
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "--name: (:") != NULL, "stderr: %s", err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "members", "--state", "gone", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "state: not one of alive, suspect, dead, "
	    "left") != NULL, "stderr: %s", err);

	/* call --to tag: only the tagged provider answers, every time. */
	for (i = 0; i < 6; i++) {
		ck_assert_msg(whoami("tag:role=gpu", false, out,
		    sizeof(out)) == 0, "call: %s", out);
		ck_assert_str_eq(out, "\"b\"\n");
		ck_assert_msg(whoami("tag:role=cpu", false, out,
		    sizeof(out)) == 0, "call: %s", out);
		ck_assert_str_eq(out, "\"c\"\n");
		ck_assert_msg(whoami("tag:zone", false, out, sizeof(out)) == 0,
		    "call: %s", out);
		ck_assert_str_eq(out, "\"b\"\n");
	}
	ck_assert_msg(whoami("tag:role", true, out, sizeof(out)) == 0,
	    "call: %s", out);
	ck_assert_msg(strstr(out, "\"b\"") != NULL &&
	    strstr(out, "\"c\"") != NULL, "call --all: %s", out);
	/* a has the tag but no provider: none is found. */
	ck_assert_int_eq(whoami("tag:zone=eu-1", false, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "NOT_FOUND") != NULL &&
	    strstr(out, "has the tag zone=eu-1") != NULL, "call: %s", out);

	/* Unset on b: a sees it go. */
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "tags", "unset", "role", NULL);
	ck_assert_msg(status == 0, "tags unset: %s", err);
	wait_listing(&d[0], "--tag", "role", "c,");
	ck_assert_int_eq(whoami("tag:role=gpu", false, out, sizeof(out)), 1);

	/* A node that stops is listed as left. */
	ck_assert_int_eq(daemon_stop(&d[2], SIGTERM), 0);
	wait_listing(&d[0], "--state", "left", "c,");
	ck_assert_str_eq(names(&d[0], buf, sizeof(buf), "--state", "alive",
	    NULL, NULL), "a,b,");
}
END_TEST

START_TEST(test_tags_bad_input)
{
	struct test_user	u;
	char			out[4096], err[1024], group[32], conf[64];
	int			status;
	bool			users = users_available();

	/* A user who may use the socket but is no admin, where possible. */
	if (users) {
		(void)group_add("tags-sock", group, sizeof(group));
		user_add(&u, "tags-user", group);
		snprintf(conf, sizeof(conf), "socket_group = %s\n", group);
		daemon_config(&d[0], conf);
	}
	start(0, -1, "a");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "Zone=x", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "INVALID_ARGUMENT") != NULL &&
	    strstr(err, "a key is 1-64") != NULL, "stderr: %s", err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "zone", NULL);
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "zone is not KEY=VALUE") != NULL,
	    "stderr: %s", err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "zone=a\tb", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "without control characters") != NULL,
	    "stderr: %s", err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "frob", NULL);
	ck_assert_int_eq(status, 2);
	/* Nothing was set by any of them. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(out, "KEY                      SOURCE   VALUE\n");

	/* Anyone may list them; changing them needs an admin. */
	if (!users) {
		printf("SKIP tags: a user who is no admin (needs root and "
		    "useradd)\n");
		return;
	}
	daemon_open_to_users(&d[0]);
	status = peerctl_run_as(&u, &d[0], out, sizeof(out), err,
	    sizeof(err), "tags", NULL);
	ck_assert_msg(status == 0, "tags as a user: %d: %s", status, err);
	status = peerctl_run_as(&u, &d[0], out, sizeof(out), err,
	    sizeof(err), "tags", "set", "zone=x", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "PERMISSION_DENIED") != NULL,
	    "stderr: %s", err);
}
END_TEST

/* peerd -n with d[0]'s config: its exit status, output in out, err. */
static int
check_config(const char *text, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*argv[] = { peerd_bin(), "-n", "-c", d[0].conf,
	    "--state-dir", d[0].state, "-S", d[0].sock, NULL };

	daemon_config(&d[0], text);
	return run_capture(argv, out, outlen, err, errlen);
}

START_TEST(test_tags_checked_by_peerd_n)
{
	char	out[8192], err[1024];

	ck_assert_int_eq(check_config("tag = zone=eu-1\ntag = \"note=a # b\"\n",
	    out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_msg(strstr(out, "tag = \"note=a # b\"\ntag = zone=eu-1\n") !=
	    NULL, "peerd -n: %s", out);
	ck_assert_int_eq(check_config("tag = zone=eu-1\ntag = zone=eu-2\n",
	    out, sizeof(out), err, sizeof(err)), 2);
	ck_assert_msg(strstr(err, ":2: tag: zone given twice") != NULL,
	    "stderr: %s", err);
	ck_assert_int_eq(check_config("tag = Zone=eu-1\n", out, sizeof(out),
	    err, sizeof(err)), 2);
	ck_assert_msg(strstr(err, ":1: tag: \"Zone=eu-1\": a key is 1-64 "
	    "lowercase letters") != NULL, "stderr: %s", err);
	/* A check starts nothing. */
	ck_assert_int_eq(access(d[0].sock, F_OK), -1);
}
END_TEST

/* Whether b lists a with exactly the tags of want ("k=v,k=v,"). */
static bool
tags_are(void *arg)
{
	const char	*want = arg;
	json_t		*j, *e, *v;
	const char	*s, *k;
	char		 buf[512] = "";
	size_t		 i;
	int		 status;

	if ((j = peerctl_json(&d[1], &status, "members", "--name", "^a$",
	    NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "members"), i, e)
		json_object_foreach(json_object_get(e, "tags"), k, v)
			if ((s = json_string_value(v)) != NULL)
				snprintf(buf + strlen(buf), sizeof(buf) -
				    strlen(buf), "%s=%s,", k, s);
	json_decref(j);
	return strcmp(buf, want) == 0;
}

START_TEST(test_tags_reload_keeps_run_time_ones)
{
	char	out[4096], err[1024];
	int	status;

	daemon_config(&d[0], "tag = zone=eu-1\ntag = rack=r1\n");
	start(0, -1, "a");
	start(1, 0, "b");
	ck_assert_msg(wait_until(tags_are, "rack=r1,zone=eu-1,", 10000),
	    "b never saw a's configured tags");
	/* Run time: one more, one configured changed, one unset. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "role=db", "zone=eu-9", NULL);
	ck_assert_msg(status == 0, "tags set: %s", err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "unset", "rack", NULL);
	ck_assert_msg(status == 0, "tags unset: %s", err);
	ck_assert_msg(wait_until(tags_are, "role=db,zone=eu-9,", 10000),
	    "b never saw a's run-time tags");

	/* The file changes; a reload takes it, under the run-time layer. */
	daemon_config(&d[0], "tag = zone=us-1\ntag = rack=r2\n"
	    "tag = dc=west\n");
	ck_assert_int_eq(kill(d[0].pid, SIGHUP), 0);
	ck_assert(daemon_log_wait(&d[0], "reload: 3 configured tags", 5000));
	ck_assert_msg(wait_until(tags_are, "dc=west,role=db,zone=eu-9,",
	    10000), "b never saw a's tags after the reload");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "tags", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out, "\"configured\"") != NULL &&
	    strstr(out, "\"us-1\"") != NULL && strstr(out, "\"unset\"") !=
	    NULL, "tags: %s", out);
	/* A configured key unset no longer is, once set again. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "tags", "set", "rack=r3", NULL);
	ck_assert_msg(status == 0, "tags set: %s", err);
	ck_assert_msg(wait_until(tags_are,
	    "dc=west,rack=r3,role=db,zone=eu-9,", 10000),
	    "b never saw rack set again");
}
END_TEST

Suite *
tags_suite(void)
{
	Suite	*s = suite_create("tags");
	TCase	*tc = tcase_create("tags");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tags_seen_filtered_and_called);
	tcase_add_test(tc, test_tags_bad_input);
	tcase_add_test(tc, test_tags_checked_by_peerd_n);
	tcase_add_test(tc, test_tags_reload_keeps_run_time_ones);
	suite_add_tcase(s, tc);
	return s;
}
