/* SPDX-License-Identifier: ISC */
/*
 * test_handlers.c: event handlers of real daemons.  A handler script on
 * node a, for every event, leaves its environment and its stdin in a
 * file per run; a node joining, one killed with SIGKILL (dead), one
 * stopped with SIGTERM (left), and a service registered and withdrawn
 * on another node each run it with the right variables and JSON.  A
 * handler past its timeout is killed and logged, one that exits 3 is
 * logged, peerd -n names a bad handler line, and SIGHUP replaces them.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "suites.h"

#define N		4	/* a, b, c, d */
#define RUN_WAIT_MS	20000	/* a death takes seconds to be seen */

static struct daemon	n[N];
static const char *const names[N] = { "a", "b", "c", "d" };
static char		ids[N][64];	/* asked while they run */

/* Each run: runs/EVENT.NODE.SERVICE.PID.env and .json, each whole. */
static const char	handler_sh[] =
    "#!/bin/sh\n"
    "f=\"$(dirname \"$0\")/runs/$PEERD_EVENT.$PEERD_NODE_NAME."
    "${PEERD_SERVICE:-none}.$$\"\n"
    "env > \"$f.tmp\" && mv \"$f.tmp\" \"$f.env\"\n"
    "cat > \"$f.tmp\" && mv \"$f.tmp\" \"$f.json\"\n";

static void
setup(void)
{
	daemons_init_mesh(n, N);
}

static void
teardown(void)
{
	daemons_free(n, N);
}

/* Writes an executable script d->dir/name; its path into path. */
static void
write_script(const struct daemon *d, const char *name, const char *text,
    char *path, size_t len)
{
	FILE	*f;

	snprintf(path, len, "%s/%s", d->dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

struct run {
	const char	*dir;		/* the runs directory */
	char		 prefix[128];	/* EVENT.NODE.SERVICE. */
	char		 stem[512];	/* found: dir/prefixPID */
};

/* Whether a run with r's prefix has left its .json (after its .env). */
static bool
run_found(void *arg)
{
	struct run	*r = arg;
	struct dirent	*de;
	DIR		*dir;
	size_t		 n0 = strlen(r->prefix), len;
	bool		 found = false;

	if ((dir = opendir(r->dir)) == NULL)
		return false;
	while (!found && (de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, r->prefix, n0) != 0 || len < 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(r->stem, sizeof(r->stem), "%s/%.*s", r->dir,
		    (int)(len - 5), de->d_name);
		found = true;
	}
	closedir(dir);
	return found;
}

static char *
slurp(const char *stem, const char *ext)
{
	char	 path[600], *buf;
	FILE	*f;
	size_t	 n0;

	snprintf(path, sizeof(path), "%s%s", stem, ext);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(buf = calloc(1, 16384));
	n0 = fread(buf, 1, 16383, f);
	buf[n0] = '\0';
	fclose(f);
	return buf;
}

/* The value of VAR in env's text, or NULL if it is not set. */
static const char *
env_get(const char *env, const char *var, char *buf, size_t len)
{
	const char	*p = env;
	size_t		 n0 = strlen(var);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, var, n0) == 0 && p[n0] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(p + n0 + 1,
			    "\n"), p + n0 + 1);
			return buf;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return NULL;
}

/* Every variable is one the handler is documented to get. */
static void
env_only_documented(const char *env)
{
	static const char *const allowed[] = {
		"PEERD_EVENT=", "PEERD_NODE_ID=", "PEERD_NODE_NAME=",
		"PEERD_INCARNATION=", "PEERD_WHY=", "PEERD_SERVICE=",
		"PEERD_GROUP=", "PEERD_SELF_ID=", "PEERD_SELF_NAME=",
		"PEERD_SOCKET=", "PATH=", "HOME=", "LANG=", "LC_ALL=",
		"LC_CTYPE=", "TZ=", "TMPDIR=",
		"PWD=",		/* the shell's own */
	};
	const char	*p;
	size_t		 i;
	bool		 ok;

	for (p = env; *p != '\0'; p = strchr(p, '\n') + 1) {
		ok = false;
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok = ok || strncmp(p, allowed[i],
			    strlen(allowed[i])) == 0;
		ck_assert_msg(ok, "undocumented variable in: %.*s",
		    (int)strcspn(p, "\n"), p);
		if (strchr(p, '\n') == NULL)
			break;
	}
}

/*
 * Waits for a run of event for node (service: NULL for a member event)
 * on a, and checks its environment and its JSON; why gets PEERD_WHY.
 */
static void
check_run(const char *event, int node, const char *service,
    const char *group, char *why, size_t whylen)
{
	struct run	 r;
	char		 runs[256], v[256], inc[32];
	const char	*id = ids[node], *self = ids[0];
	char		*env, *in;
	json_t		*j;
	json_error_t	 jerr;

	snprintf(runs, sizeof(runs), "%s/runs", n[0].dir);
	r.dir = runs;
	snprintf(r.prefix, sizeof(r.prefix), "%s.%s.%s.", event, names[node],
	    service != NULL ? service : "none");
	ck_assert_msg(wait_until(run_found, &r, RUN_WAIT_MS),
	    "no run of the handler for %s within %d ms", r.prefix,
	    RUN_WAIT_MS);

	env = slurp(r.stem, ".env");
	env_only_documented(env);
#define HAS(var, want) do {						\
	ck_assert_msg(env_get(env, var, v, sizeof(v)) != NULL,		\
	    "%s: no %s", r.prefix, var);				\
	ck_assert_msg(strcmp(v, want) == 0, "%s: %s=%s, not %s",	\
	    r.prefix, var, v, want);					\
} while (0)
	HAS("PEERD_EVENT", event);
	HAS("PEERD_NODE_ID", id);
	HAS("PEERD_NODE_NAME", names[node]);
	HAS("PEERD_SELF_ID", self);
	HAS("PEERD_SELF_NAME", "a");
	HAS("PEERD_SOCKET", n[0].sock);
	HAS("PEERD_SERVICE", service != NULL ? service : "");
	HAS("PEERD_GROUP", group != NULL ? group : "");
#undef HAS
	ck_assert_ptr_nonnull(env_get(env, "PEERD_INCARNATION", inc,
	    sizeof(inc)));
	ck_assert_msg(inc[0] >= '1' && inc[0] <= '9' &&
	    strspn(inc, "0123456789") == strlen(inc), "incarnation %s", inc);
	ck_assert_ptr_nonnull(env_get(env, "PEERD_WHY", why, whylen));
	ck_assert_ptr_nonnull(env_get(env, "PATH", v, sizeof(v)));

	/* The same, as one JSON object on one line. */
	in = slurp(r.stem, ".json");
	ck_assert_msg(strchr(in, '\n') == in + strlen(in) - 1, "%s", in);
	j = json_loads(in, 0, &jerr);
	ck_assert_msg(j != NULL, "%s: bad JSON: %s: %s", r.prefix, jerr.text,
	    in);
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    event);
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_name")),
	    names[node]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "self_id")),
	    self);
	ck_assert_str_eq(json_string_value(json_object_get(j, "self_name")),
	    "a");
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "incarnation")), strtoll(inc, NULL, 10));
	if (why[0] != '\0')
		ck_assert_str_eq(json_string_value(json_object_get(j, "why")),
		    why);
	else
		ck_assert_ptr_null(json_object_get(j, "why"));
	if (service != NULL) {
		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "service")), service);
		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "group")), group != NULL ? group : "");
	} else {
		ck_assert_ptr_null(json_object_get(j, "service"));
		ck_assert_ptr_null(json_object_get(j, "group"));
	}
	json_decref(j);
	free(in);
	free(env);
}

START_TEST(test_handler_runs_for_each_kind)
{
	char		 script[256], conf[512], runs[256], why[256];
	pid_t		 app;
	int		 i;

	write_script(&n[0], "handler.sh", handler_sh, script, sizeof(script));
	snprintf(runs, sizeof(runs), "%s/runs", n[0].dir);
	ck_assert_int_eq(mkdir(runs, 0700), 0);
	snprintf(conf, sizeof(conf), "handler = * %s\n", script);
	daemon_config(&n[0], conf);
	daemon_start(&n[0], "a", NULL);
	for (i = 1; i < N; i++)
		daemon_start_boot(&n[i], names[i], &n[0]);
	for (i = 0; i < N; i++)
		daemon_id(&n[i], ids[i]);

	for (i = 1; i < N; i++)
		check_run("member-join", i, NULL, NULL, why, sizeof(why));

	/* c crashes: seen dead, with gossip's evidence. */
	daemon_stop(&n[2], SIGKILL);
	check_run("member-dead", 2, NULL, NULL, why, sizeof(why));
	ck_assert_msg(why[0] != '\0', "member-dead without PEERD_WHY");

	/* d stops cleanly: left. */
	ck_assert_int_eq(daemon_stop(&n[3], SIGTERM), 0);
	check_run("member-left", 3, NULL, NULL, why, sizeof(why));

	/* A service on b, registered and withdrawn. */
	app = echo_start(&n[1], "calc.add", "lab");
	check_run("service-registered", 1, "calc.add", "lab", why,
	    sizeof(why));
	ck_assert(echo_stop(app, SIGTERM));
	check_run("service-withdrawn", 1, "calc.add", "lab", why, sizeof(why));

	ck_assert(!daemon_log_has(&n[0], "handler handler.sh ("));
}
END_TEST

/* One past its timeout is killed; one that exits 3 is logged. */
/* The value of a counter or gauge without labels in peerctl stats --json. */
static double
stat_value(const struct daemon *d, const char *family)
{
	json_t	*j, *s;
	double	 v;
	int	 status;

	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "stats", "--json",
	    (char *)NULL));
	ck_assert_int_eq(status, 0);
	s = json_array_get(json_object_get(json_object_get(j, family),
	    "samples"), 0);
	ck_assert_msg(json_is_number(json_object_get(s, "value")), "no %s",
	    family);
	v = json_number_value(json_object_get(s, "value"));
	json_decref(j);
	return v;
}

static bool
handlers_idle(void *arg)
{
	return stat_value(arg, "peerd_handlers_running") == 0 &&
	    stat_value(arg, "peerd_handlers_waiting") == 0;
}

START_TEST(test_handler_failures_logged)
{
	char	slow[256], three[256], conf[1024];
	pid_t	app;

	write_script(&n[0], "slow.sh", "#!/bin/sh\nexec sleep 30\n", slow,
	    sizeof(slow));
	write_script(&n[0], "three.sh", "#!/bin/sh\n"
	    "echo \"three ran for $PEERD_SERVICE\" >&2\nexit 3\n", three,
	    sizeof(three));
	snprintf(conf, sizeof(conf), "handler_timeout = 500ms\n"
	    "handler = service-registered %s\n"
	    "handler = service-* %s\n", slow, three);
	daemon_config(&n[0], conf);
	daemon_start(&n[0], "a", NULL);
	/* This node's own services count. */
	app = echo_start(&n[0], "calc", NULL);
	ck_assert(daemon_log_wait(&n[0], "handler three.sh "
	    "(service-registered): three ran for calc", 5000));
	ck_assert(daemon_log_wait(&n[0], "handler three.sh "
	    "(service-registered): exited with status 3", 5000));
	ck_assert(daemon_log_wait(&n[0], "handler slow.sh (service-registered): "
	    "timed out after 500 ms, killed by signal 15 (Terminated)", 5000));
	ck_assert(echo_stop(app, SIGTERM));
	/* Not the timeout's: withdrawn runs three.sh alone. */
	ck_assert(daemon_log_wait(&n[0], "handler three.sh "
	    "(service-withdrawn): three ran for calc", 5000));
	/* The runs are counted: three.sh twice, slow.sh once, killed. */
	ck_assert(wait_until(handlers_idle, &n[0], 5000));
	ck_assert_double_eq(stat_value(&n[0], "peerd_handler_runs_total"), 3);
	ck_assert_double_eq(stat_value(&n[0], "peerd_handler_failures_total"),
	    3);
	ck_assert_double_eq(stat_value(&n[0], "peerd_handler_timeouts_total"),
	    1);
	ck_assert_double_eq(stat_value(&n[0], "peerd_handlers_running"), 0);
}
END_TEST

/* peerd -n names a bad handler line; a good one is listed. */
START_TEST(test_check_names_bad_line)
{
	const char	*argv[] = { peerd_bin(), "-n", "-c", n[0].conf,
			    "-S", n[0].sock, "--state-dir", n[0].state, NULL };
	char		 out[8192], err[1024], want[512], script[256];
	char		 conf[1024];
	int		 status;

	write_script(&n[0], "ok.sh", "#!/bin/sh\n", script, sizeof(script));
	snprintf(conf, sizeof(conf), "name = a\nhandler = member-* %s 'x y'\n",
	    script);
	daemon_config(&n[0], conf);
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_msg(status == 0, "peerd -n: %d: %s", status, err);
	snprintf(want, sizeof(want), "handler = member-* %s 'x y'\t# %s:2\n",
	    script, n[0].conf);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);

	snprintf(conf, sizeof(conf), "name = a\nhandler = member-* %s\n"
	    "handler = member-gone %s\n", script, script);
	daemon_config(&n[0], conf);
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(status, 2);
	snprintf(want, sizeof(want), "peerd: %s:3: handler: no such event "
	    "\"member-gone\"", n[0].conf);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);

	snprintf(conf, sizeof(conf), "handler = * %s/nothing.sh\n",
	    n[0].dir);
	daemon_config(&n[0], conf);
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(status, 2);
	snprintf(want, sizeof(want), "peerd: %s:1: handler: %s/nothing.sh: No "
	    "such file or directory\n", n[0].conf, n[0].dir);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);

	ck_assert_int_eq(chmod(script, 0644), 0);
	snprintf(conf, sizeof(conf), "handler = * %s\n", script);
	daemon_config(&n[0], conf);
	status = run_capture(argv, out, sizeof(out), err, sizeof(err));
	if (geteuid() != 0) {	/* root may run anything */
		ck_assert_int_eq(status, 2);
		ck_assert_msg(strstr(err, "ok.sh: not executable") != NULL,
		    "%s", err);
	}
}
END_TEST

/*
 * SIGHUP replaces the handlers whole; a reload with a bad one keeps
 * those running.
 */
START_TEST(test_reload_replaces)
{
	char	one[256], two[256], conf[1024], path[300];
	pid_t	app;

	write_script(&n[0], "one.sh", "#!/bin/sh\necho one ran\n", one,
	    sizeof(one));
	write_script(&n[0], "two.sh", "#!/bin/sh\necho two ran\n", two,
	    sizeof(two));
	snprintf(conf, sizeof(conf), "handler = service-registered %s\n", one);
	daemon_config(&n[0], conf);
	daemon_start(&n[0], "a", NULL);

	snprintf(conf, sizeof(conf), "handler = service-registered %s/none\n",
	    n[0].dir);
	daemon_config(&n[0], conf);
	ck_assert_int_eq(kill(n[0].pid, SIGHUP), 0);
	snprintf(path, sizeof(path), "reload: %s:1: handler: %s/none: No such "
	    "file or directory; keeping the running configuration", n[0].conf,
	    n[0].dir);
	ck_assert(daemon_log_wait(&n[0], path, 5000));

	snprintf(conf, sizeof(conf), "handler = service-registered %s\n", two);
	daemon_config(&n[0], conf);
	ck_assert_int_eq(kill(n[0].pid, SIGHUP), 0);
	ck_assert(daemon_log_wait(&n[0], "reload: 1 handlers", 5000));
	app = echo_start(&n[0], "calc", NULL);
	ck_assert(daemon_log_wait(&n[0], "handler two.sh "
	    "(service-registered): two ran", 5000));
	ck_assert(echo_stop(app, SIGTERM));
	ck_assert(!daemon_log_has(&n[0], "one ran"));
}
END_TEST

Suite *
handlers_suite(void)
{
	Suite	*s = suite_create("handlers");
	TCase	*tc = tcase_create("handlers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_handler_runs_for_each_kind);
	tcase_add_test(tc, test_handler_failures_logged);
	tcase_add_test(tc, test_check_names_bad_line);
	tcase_add_test(tc, test_reload_replaces);
	suite_add_tcase(s, tc);
	return s;
}
