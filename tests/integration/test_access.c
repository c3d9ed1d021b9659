/* SPDX-License-Identifier: ISC */
/*
 * test_access.c: per-service access rules on real daemons.  Throwaway
 * users and a group (users.h) serve and call as the rules of the
 * daemon's config allow or deny; a second and third daemon call from
 * the mesh, one of them in the node group the provider's rule admits;
 * rules come from the drop-in directory too, a bad one stops peerd -n
 * with its file and line, and SIGHUP applies a changed one.  The
 * daemon runs as root, which the rules never stop: the local cases
 * use the throwaway users.  Needs root and useradd; elsewhere each
 * test says SKIP and passes.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "peer.h"
#include "suites.h"
#include "users.h"

#define N	3

static struct daemon	d[N];
static pid_t		svc[N];
static char		sockgroup[32];	/* socket_group: the users are in it */

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

static bool
skip(void)
{
	if (!users_available()) {
		fprintf(stderr, "SKIP: access tests need root and useradd\n");
		return true;
	}
	(void)group_add("acc-sock", sockgroup, sizeof(sockgroup));
	return false;
}

/* A throwaway user in socket_group, and in group if not NULL. */
static void
user_in(struct test_user *u, const char *suffix, const char *group)
{
	char	groups[72];

	snprintf(groups, sizeof(groups), "%s%s%s", sockgroup,
	    group != NULL ? "," : "", group != NULL ? group : "");
	user_add(u, suffix, groups);
}

/* Writes daemon i's config: text after a first line of socket_group. */
static void
config(int i, const char *text)
{
	char	buf[1024];

	snprintf(buf, sizeof(buf), "socket_group = %s\n%s", sockgroup,
	    text != NULL ? text : "");
	daemon_config(&d[i], buf);
}

/* Starts daemon i with config text, reachable by the users. */
static void
start(int i, const char *name, const char *text, int boot)
{
	config(i, text);
	daemon_start_boot(&d[i], name, boot >= 0 ? &d[boot] : NULL);
	daemon_open_to_users(&d[i]);
}

/* The status counter access_denied of daemon dm. */
static json_int_t
denied(const struct daemon *dm)
{
	json_t		*j;
	json_int_t	 n;
	int		 status;

	ck_assert_ptr_nonnull(j = peerctl_json(dm, &status, "status", NULL));
	ck_assert_ptr_nonnull(json_object_get(j, "access_denied"));
	n = json_integer_value(json_object_get(j, "access_denied"));
	json_decref(j);
	return n;
}

/* echo_server serving service as u: its exit status and stderr. */
static int
serve_as(const struct test_user *u, const struct daemon *dm,
    const char *service, char *err, size_t errlen)
{
	const char	*argv[] = { echo_server_bin(), "-s", dm->sock, "-n",
			    service, NULL };
	char		 out[256];

	return run_capture_as(u, argv, out, sizeof(out), err, errlen);
}

/* Asserts that s holds want. */
static void
has(const char *s, const char *want)
{
	ck_assert_msg(strstr(s, want) != NULL, "\"%s\" lacks \"%s\"", s, want);
}

START_TEST(test_serve_rule)
{
	struct test_user	 alice, bob;
	char			 group[32], conf[256], err[1024], want[512];
	int			 status;

	if (skip())
		return;
	group_add("acc-lab", group, sizeof(group));
	user_in(&alice, "acc-alice", group);
	user_in(&bob, "acc-bob", NULL);
	snprintf(conf, sizeof(conf), "service = calc serve=group:%s\n", group);
	start(0, "p", conf, -1);

	/* alice is in the group: she serves. */
	svc[0] = echo_start_as(&alice, &d[0], "calc");
	wait_providers(&d[0], "calc", 1);
	/* bob is not: refused, the rule named, one warning logged. */
	status = serve_as(&bob, &d[0], "calc", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);
	has(err, "PERMISSION_DENIED");
	snprintf(want, sizeof(want), "rule calc (%s:2) does not let uid %u "
	    "serve calc", d[0].conf, (unsigned)bob.uid);
	has(err, want);
	ck_assert(daemon_log_wait(&d[0], want, 2000));
	/* Another service is open to him. */
	svc[1] = echo_start_as(&bob, &d[0], "other");
	ck_assert_int_eq(denied(&d[0]), 1);
}
END_TEST

/* A child that notifies service.echo as u; 0 if denied as want says. */
static int
notify_denied_as(const struct test_user *u, const struct daemon *dm,
    const char *service, const char *want)
{
	struct peer_error	 err;
	struct peer		*p;
	pid_t			 pid;
	int			 status;

	if ((pid = fork_child(u)) == 0) {
		if ((p = peer_open(dm->sock, &err)) == NULL)
			_exit(2);
		if (peer_notify(p, service, "echo", NULL, 0, NULL, NULL,
		    &err) == 0)
			_exit(3);
		if (err.code != PEER_PERMISSION_DENIED ||
		    strstr(err.message, want) == NULL) {
			fprintf(stderr, "notify: %d: %s\n", (int)err.code,
			    err.message);
			_exit(4);
		}
		peer_close(p);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_call_rule)
{
	struct test_user	 alice, bob;
	char			 conf[256], out[1024], err[1024], want[512];
	int			 status;

	if (skip())
		return;
	user_in(&alice, "acc-alice", NULL);
	user_in(&bob, "acc-bob", NULL);
	snprintf(conf, sizeof(conf), "service = echo call=user:%s\n",
	    alice.name);
	start(0, "p", conf, -1);
	svc[0] = echo_start(&d[0], "echo", NULL);
	wait_providers(&d[0], "echo", 1);

	status = peerctl_run_as(&alice, &d[0], out, sizeof(out), err,
	    sizeof(err), "call", "echo.echo", "\"hi\"", NULL);
	ck_assert_msg(status == 0, "alice's call: %d: %s", status, err);
	has(out, "hi");

	snprintf(want, sizeof(want), "rule echo (%s:2) does not let uid %u "
	    "call echo", d[0].conf, (unsigned)bob.uid);
	status = peerctl_run_as(&bob, &d[0], out, sizeof(out), err,
	    sizeof(err), "call", "echo.echo", "\"hi\"", NULL);
	ck_assert_msg(status == 1, "bob's call: %d: %s", status, err);
	has(err, "PERMISSION_DENIED");
	has(err, want);
	/* A fan-out and a notify are calls too. */
	status = peerctl_run_as(&bob, &d[0], out, sizeof(out), err,
	    sizeof(err), "call", "echo.echo", "--all", NULL);
	ck_assert_msg(status == 1, "bob's fan-out: %d: %s", status, err);
	has(err, want);
	ck_assert_int_eq(notify_denied_as(&bob, &d[0], "echo", want), 0);
	ck_assert(daemon_log_wait(&d[0], want, 2000));
	ck_assert_int_eq(denied(&d[0]), 3);
	/* Root always may. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "echo.echo", "\"hi\"", NULL);
	ck_assert_msg(status == 0, "root's call: %d: %s", status, err);
}
END_TEST

START_TEST(test_remote_rule)
{
	char	conf[128], id[64], out[1024], err[1024], want[512];
	int	status;

	if (skip())
		return;
	/* p serves echo to nodes in lab; "in" is in lab, "out" is not. */
	start(0, "p", "service = echo remote=group:lab\n", -1);
	snprintf(conf, sizeof(conf), "group = lab\n");
	start(1, "in", conf, 0);
	start(2, "out", "group = ops\n", 0);
	svc[0] = echo_start(&d[0], "echo", NULL);
	wait_providers(&d[1], "echo", 1);
	wait_providers(&d[2], "echo", 1);

	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", NULL);
	ck_assert_msg(status == 0, "in's call: %d: %s", status, err);
	has(out, "p");

	daemon_id(&d[2], id);
	snprintf(want, sizeof(want), "rule echo (%s:2) does not let node %s "
	    "call echo on p", d[0].conf, id);
	status = peerctl_run(&d[2], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", NULL);
	ck_assert_msg(status == 1, "out's call: %d: %s", status, err);
	has(err, "PERMISSION_DENIED");
	has(err, want);
	/* Logged and counted where the rule is, not where the call began. */
	ck_assert(daemon_log_wait(&d[0], want, 2000));
	ck_assert_int_eq(denied(&d[0]), 1);
	ck_assert_int_eq(denied(&d[2]), 0);
	/* The provider's own clients are local: remote= is not theirs. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", NULL);
	ck_assert_msg(status == 0, "p's own call: %d: %s", status, err);
}
END_TEST

/* Writes text to file name in d's services.d, making the directory. */
static void
drop_in(const struct daemon *dm, const char *name, const char *text)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/services.d", dm->dir);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/services.d/%s", dm->dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(test_drop_in_rules)
{
	struct test_user	 bob;
	const char		*argv[] = { peerd_bin(), "-n", "-c", d[0].conf,
				    "-S", d[0].sock, "--state-dir", d[0].state,
				    NULL };
	char			 out[8192], err[1024], want[512];
	int			 status;

	if (skip())
		return;
	user_in(&bob, "acc-bob", NULL);
	daemon_config(&d[0], "name = p\n");
	/* services.d beside the config file, *.conf in name order. */
	drop_in(&d[0], "10-calc.conf", "# calc is root's\n"
	    "service = calc serve=none\n");
	drop_in(&d[0], "20-all.conf", "service = * serve=none\n");
	/* Not read: it would open "open" before "*" closes it. */
	drop_in(&d[0], "15-open.conf.disabled", "service = open\n");
	start(0, "p", NULL, -1);
	status = serve_as(&bob, &d[0], "calc", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);
	snprintf(want, sizeof(want), "rule calc (%s/services.d/10-calc.conf:2) "
	    "does not let uid %u serve calc", d[0].dir, (unsigned)bob.uid);
	has(err, want);
	status = serve_as(&bob, &d[0], "open", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);
	has(err, "rule * (");

	/* peerd -n lists them, with where each came from. */
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_msg(status == 0, "peerd -n: %d: %s", status, err);
	snprintf(want, sizeof(want), "service = calc serve=none\t# %s/services.d"
	    "/10-calc.conf:2\n", d[0].dir);
	has(out, want);

	/* A bad one: peerd -n names its file and line, and exits 2. */
	drop_in(&d[0], "15-bad.conf", "\n# a typo\nservice = calc "
	    "serve=user:peerdt-acc-nosuch\n");
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(status, 2);
	snprintf(want, sizeof(want), "peerd: %s/services.d/15-bad.conf:3: "
	    "service: no such user peerdt-acc-nosuch\n", d[0].dir);
	ck_assert_str_eq(err, want);
	/* Only service lines belong there. */
	drop_in(&d[0], "15-bad.conf", "log_level = debug\n");
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(status, 2);
	has(err, "15-bad.conf:1: log_level: a service_dir file holds only "
	    "service lines");
}
END_TEST

START_TEST(test_sighup_applies_rules)
{
	struct test_user	 bob;
	char			 conf[256], err[1024], want[512];
	int			 status;

	if (skip())
		return;
	user_in(&bob, "acc-bob", NULL);
	start(0, "p", "service = calc serve=none\n", -1);
	status = serve_as(&bob, &d[0], "calc", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);
	has(err, "PERMISSION_DENIED");

	/* A bad rule on reload: the running ones stay. */
	config(0, "service = calc serve=user:peerdt-acc-nosuch\n");
	kill(d[0].pid, SIGHUP);
	snprintf(want, sizeof(want), "reload: %s:2: service: no such user "
	    "peerdt-acc-nosuch; keeping the running configuration", d[0].conf);
	ck_assert(daemon_log_wait(&d[0], want, 5000));
	status = serve_as(&bob, &d[0], "calc", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);

	/* Now bob may: the next register goes by the new rule. */
	snprintf(conf, sizeof(conf), "service = calc serve=user:%s\n"
	    "service = other serve=none\n", bob.name);
	config(0, conf);
	kill(d[0].pid, SIGHUP);
	ck_assert(daemon_log_wait(&d[0], "reload: 2 service rules", 5000));
	svc[0] = echo_start_as(&bob, &d[0], "calc");
	status = serve_as(&bob, &d[0], "other", err, sizeof(err));
	ck_assert_msg(status == 1, "echo_server as bob: %d: %s", status, err);
	/* Denials are counted across reloads. */
	ck_assert_int_eq(denied(&d[0]), 3);
}
END_TEST

Suite *
access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*tc = tcase_create("access");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_serve_rule);
	tcase_add_test(tc, test_call_rule);
	tcase_add_test(tc, test_remote_rule);
	tcase_add_test(tc, test_drop_in_rules);
	tcase_add_test(tc, test_sighup_applies_rules);
	suite_add_tcase(s, tc);
	return s;
}
