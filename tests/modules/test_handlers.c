/* SPDX-License-Identifier: ISC */
/*
 * test_handlers.c: event handlers: which events a handler takes, how its
 * command is split into arguments, how its program is found, and its
 * runs as real child processes of /bin/sh scripts: the environment and
 * the JSON on stdin, the process they start in, the limit of runs at
 * once and the queue behind it, the timeout, failures and output in the
 * log, and shutdown.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "handlers.h"
#include "harness.h"
#include "log.h"

static struct event_base	*base;
static struct handlers		*hs;
static char			 dir[128];

static void
setup(void)
{
	/* As the daemon does: a handler that ends closes its stdin. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(base = event_base_new());
	tmpdir_make(dir, sizeof(dir), "handlers");
	hs = NULL;
}

static void
teardown(void)
{
	handlers_free(hs);
	event_base_free(base);
	tmpdir_remove(dir);
}

/* DIR/name, into a static buffer per call (eight at a time). */
static const char *
path_of(const char *name)
{
	static char	buf[8][256];
	static int	i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* Writes an executable /bin/sh script DIR/name with body. */
static const char *
script(const char *name, const char *body)
{
	const char	*p = path_of(name);
	FILE		*f;

	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, 0755), 0);
	return p;
}

/* The whole of DIR/name (malloc'd), or NULL if it is not there. */
static char *
slurp(const char *name)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path_of(name), "r")) == NULL)
		return NULL;
	ck_assert_ptr_nonnull(buf = calloc(1, 65536));
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
count_lines(const char *name)
{
	char	*s = slurp(name), *p;
	int	 n = 0;

	if (s == NULL)
		return 0;
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	free(s);
	return n;
}

/* A config with these handler lines, as the command line gives them. */
static void
config_with(struct config *c, const char *const *lines)
{
	char	err[256];

	config_init(c);
	for (; *lines != NULL; lines++)
		ck_assert_msg(config_override(c, "handler", *lines, err,
		    sizeof(err)) == 0, "%s", err);
}

/* Parses lines; the error, or "" if they parse. */
static const char *
parse_error(const char *const *lines)
{
	static char		 err[512];
	struct config		 c;
	struct handler_list	*l;

	config_with(&c, lines);
	err[0] = '\0';
	l = handler_list_parse(&c, err, sizeof(err));
	ck_assert(l != NULL || err[0] != '\0');
	handler_list_free(l);
	config_free(&c);
	return err;
}

/* Starts the handlers of lines with these limits. */
static void
start(const char *const *lines, uint64_t jobs, uint64_t timeout_ms,
    uint64_t kill_after_ms, size_t queue_max)
{
	struct handlers_params	 p = { "SELFID", "selfname", "/run/x.sock",
				    jobs, timeout_ms, kill_after_ms,
				    queue_max };
	struct config		 c;
	struct handler_list	*l;
	char			 err[512];

	config_with(&c, lines);
	l = handler_list_parse(&c, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	config_free(&c);
	ck_assert_ptr_nonnull(hs = handlers_new(base, &p, l));
}

static uint8_t	node_id[32];

/* A change of kind for node "n1"; inc tells runs apart. */
static void
tell(enum change_kind kind, uint64_t inc)
{
	struct change	c;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.id = node_id;
	c.idstr = "NODEID";
	c.name = "n1";
	c.incarnation = inc;
	if (kind == CHANGE_REGISTERED || kind == CHANGE_WITHDRAWN) {
		c.service = "calc.add";
		c.group = "lab";
	} else if (kind == CHANGE_DEAD)
		c.why = "no answer to probes";
	handlers_change(hs, &c);
}

static struct handlers_stats
stats(void)
{
	struct handlers_stats	st;

	handlers_stats(hs, &st);
	return st;
}

/* Runs ended, counted and nothing running or waiting. */
static uint64_t	want_ended;

static bool
all_ended(void *arg)
{
	struct handlers_stats	st = stats();

	(void)arg;
	return st.running == 0 && st.waiting == 0 && st.runs >= want_ended;
}

static void
wait_ended(uint64_t runs, int ms)
{
	want_ended = runs;
	ck_assert_msg(loop_until(base, all_ended, NULL, ms),
	    "runs not over within %d ms", ms);
}

static const char	*want_file;
static int		 want_lines;

static bool
file_has_lines(void *arg)
{
	(void)arg;
	return count_lines(want_file) >= want_lines;
}

static void
wait_lines(const char *name, int n, int ms)
{
	want_file = name;
	want_lines = n;
	ck_assert_msg(loop_until(base, file_has_lines, NULL, ms),
	    "%s: fewer than %d lines within %d ms", name, n, ms);
}

/*
 * The daemon's log (our stderr) goes to DIR/log from here on; the test
 * runs in a process of its own.
 */
static void
capture_log(void)
{
	int	fd;

	ck_assert_int_ne(fd = open(path_of("log"), O_WRONLY | O_CREAT |
	    O_TRUNC | O_APPEND, 0600), -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	close(fd);
	setvbuf(stderr, NULL, _IONBF, 0);
}

static bool
log_has(const char *s)
{
	char	*t = slurp("log");
	bool	 yes = t != NULL && strstr(t, s) != NULL;

	free(t);
	return yes;
}

/* Fails the test, showing the log, unless it has s. */
static void
assert_log(const char *s)
{
	char	*t = slurp("log");

	ck_assert_msg(t != NULL && strstr(t, s) != NULL,
	    "no \"%s\" in the log:\n%s", s, t != NULL ? t : "");
	free(t);
}

START_TEST(test_events_parse)
{
	uint32_t	m;
	char		err[512];

	ck_assert_int_eq(handler_events_parse("member-dead", &m, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(m, 1u << CHANGE_DEAD);
	ck_assert_int_eq(handler_events_parse("member-join,service-withdrawn",
	    &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, (1u << CHANGE_JOIN) | (1u << CHANGE_WITHDRAWN));
	ck_assert_int_eq(handler_events_parse("member-*", &m, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(m, (1u << CHANGE_REGISTERED) - 1);
	ck_assert_int_eq(handler_events_parse("service-*,member-left", &m,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(m, (1u << CHANGE_REGISTERED) |
	    (1u << CHANGE_WITHDRAWN) | (1u << CHANGE_LEFT));
	ck_assert_int_eq(handler_events_parse("*", &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, (1u << CHANGE_KINDS) - 1);

	ck_assert_int_eq(handler_events_parse("member-died", &m, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no such event \"member-died\"") != NULL,
	    "%s", err);
	ck_assert_int_eq(handler_events_parse("member-join,", &m, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "separated by commas") != NULL);
	ck_assert_int_eq(handler_events_parse(",member-join", &m, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(handler_events_parse("member", &m, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(handler_events_parse("MEMBER-JOIN", &m, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(handler_events_parse("service*", &m, err,
	    sizeof(err)), -1);
}
END_TEST

/* Splits s; the arguments joined with '|', or "error: ..." */
static const char *
split(const char *s)
{
	static char	out[1024];
	char		err[256], **argv;
	int		argc, i;

	if (handler_split(s, &argv, &argc, err, sizeof(err)) == -1) {
		snprintf(out, sizeof(out), "error: %s", err);
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(out, "|");
		strcat(out, argv[i]);
	}
	ck_assert_ptr_null(argv[argc]);
	free(argv);
	return out;
}

START_TEST(test_split)
{
	char	many[512];
	int	i;

	ck_assert_str_eq(split("/bin/echo a b"), "/bin/echo|a|b");
	ck_assert_str_eq(split("  /bin/echo \t a   b  "), "/bin/echo|a|b");
	ck_assert_str_eq(split("echo 'a b' \"c d\""), "echo|a b|c d");
	ck_assert_str_eq(split("echo 'a \\ \"b\"'"), "echo|a \\ \"b\"");
	ck_assert_str_eq(split("echo \"a \\\"b\\\" \\\\ \\n $X\""),
	    "echo|a \"b\" \\ \\n $X");
	ck_assert_str_eq(split("echo a\\ b \\'c\\\" \\\\"), "echo|a b|'c\"|\\");
	ck_assert_str_eq(split("echo x'y z'\"w\"v"), "echo|xy zwv");
	ck_assert_str_eq(split("echo '' \"\" x"), "echo|||x");
	ck_assert_str_eq(split("echo $HOME *.txt a|b >f"),
	    "echo|$HOME|*.txt|a|b|>f");

	ck_assert_str_eq(split("echo 'a b"), "error: no closing ' quote");
	ck_assert_str_eq(split("echo \"a b"), "error: no closing \" quote");
	ck_assert_str_eq(split("echo \"a\\\""), "error: no closing \" quote");
	ck_assert_str_eq(split("echo a\\"), "error: a backslash at the end");
	ck_assert_str_eq(split(""), "error: no command");
	ck_assert_str_eq(split(" \t "), "error: no command");

	/* The program and 63 arguments, not 64. */
	snprintf(many, sizeof(many), "p");
	for (i = 0; i < HANDLER_ARGS_MAX - 1; i++)
		strcat(many, " a");
	ck_assert_str_ne(split(many), "");
	ck_assert(strncmp(split(many), "error", 5) != 0);
	strcat(many, " a");
	ck_assert_str_eq(split(many), "error: more than 63 arguments");
}
END_TEST

START_TEST(test_list_parse)
{
	char		 ok[256], line[512], line2[512];
	const char	*lines[3] = { line, NULL, NULL };
	struct config	 c;
	struct handler_list *l;
	char		 err[512];
	FILE		*f;

	snprintf(ok, sizeof(ok), "%s", script("ok", "exit 0"));
	/* An absolute path; a name found in PATH. */
	snprintf(line, sizeof(line), "member-dead %s", ok);
	ck_assert_str_eq(parse_error(lines), "");
	snprintf(line, sizeof(line), "* sh -c 'exit 0'");
	ck_assert_str_eq(parse_error(lines), "");

	snprintf(line, sizeof(line), "member-gone %s", ok);
	ck_assert(strstr(parse_error(lines),
	    "handler: no such event \"member-gone\"") != NULL);
	snprintf(line, sizeof(line), "member-dead");
	ck_assert_str_eq(parse_error(lines),
	    "handler: expected EVENTS COMMAND");
	snprintf(line, sizeof(line), "* bin/sh");
	ck_assert(strstr(parse_error(lines), "bin/sh: a program named with "
	    "a '/' must be an absolute path") != NULL);
	snprintf(line, sizeof(line), "* %s/missing", dir);
	ck_assert(strstr(parse_error(lines), "missing: No such file or "
	    "directory") != NULL);
	snprintf(line, sizeof(line), "* %s", dir);
	ck_assert(strstr(parse_error(lines), "not a regular file") != NULL);
	ck_assert_int_eq(chmod(ok, 0644), 0);
	snprintf(line, sizeof(line), "* %s", ok);
	if (geteuid() != 0)	/* root may run anything */
		ck_assert(strstr(parse_error(lines), "not executable") !=
		    NULL);
	snprintf(line, sizeof(line), "* no-such-program-here x");
	ck_assert(strstr(parse_error(lines), "no-such-program-here: not "
	    "found in PATH") != NULL);
	snprintf(line, sizeof(line), "* sh 'x");
	ck_assert_str_eq(parse_error(lines), "handler: no closing ' quote");

	/* The second of two is wrong: its file and line say which. */
	ck_assert_int_eq(chmod(ok, 0755), 0);
	ck_assert_ptr_nonnull(f = fopen(path_of("peerd.conf"), "w"));
	fprintf(f, "# handlers\nhandler = member-* %s\nname = x\n"
	    "handler = service-* %s 'unclosed\n", ok, ok);
	fclose(f);
	config_init(&c);
	ck_assert_int_eq(config_load(&c, path_of("peerd.conf"), err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.nhandlers, 2);
	ck_assert_ptr_null(handler_list_parse(&c, err, sizeof(err)));
	snprintf(line2, sizeof(line2), "%s:4: handler: no closing ' quote",
	    path_of("peerd.conf"));
	ck_assert_str_eq(err, line2);
	config_free(&c);

	/* Two good ones. */
	snprintf(line, sizeof(line), "member-join %s", ok);
	snprintf(line2, sizeof(line2), "service-* %s a b", ok);
	lines[1] = line2;
	config_with(&c, lines);
	l = handler_list_parse(&c, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_uint_eq(handler_list_count(l), 2);
	handler_list_free(l);
	config_free(&c);
}
END_TEST

/* The environment and stdin of a run, each run to a file of its own. */
START_TEST(test_environment_and_stdin)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };
	char		*env, *in;

	setenv("PEERD_TEST_SECRET", "leak", 1);
	setenv("LANG", "C.UTF-8", 1);
	snprintf(line, sizeof(line), "* %s", script("dump",
	    "env | sort > \"$0.$PEERD_EVENT.env\"\n"
	    "cat > \"$0.$PEERD_EVENT.in\""));
	start(lines, 4, 10000, 1000, 16);
	tell(CHANGE_DEAD, 7);
	tell(CHANGE_REGISTERED, 8);
	wait_ended(2, 5000);
	ck_assert_uint_eq(stats().failed, 0);

	ck_assert_ptr_nonnull(env = slurp("dump.member-dead.env"));
	ck_assert_msg(strstr(env, "PEERD_EVENT=member-dead\n"
	    "PEERD_GROUP=\nPEERD_INCARNATION=7\nPEERD_NODE_ID=NODEID\n"
	    "PEERD_NODE_NAME=n1\nPEERD_SELF_ID=SELFID\n"
	    "PEERD_SELF_NAME=selfname\nPEERD_SERVICE=\n"
	    "PEERD_SOCKET=/run/x.sock\nPEERD_WHY=no answer to probes\n") !=
	    NULL, "%s", env);
	ck_assert(strstr(env, "\nLANG=C.UTF-8\n") != NULL);
	ck_assert(strstr(env, "\nPATH=") != NULL);
	ck_assert(strstr(env, "PEERD_TEST_SECRET") == NULL);
	free(env);
	ck_assert_ptr_nonnull(in = slurp("dump.member-dead.in"));
	ck_assert_str_eq(in, "{\"event\":\"member-dead\",\"node_id\":"
	    "\"NODEID\",\"node_name\":\"n1\",\"incarnation\":7,\"why\":"
	    "\"no answer to probes\",\"self_id\":\"SELFID\",\"self_name\":"
	    "\"selfname\"}\n");
	free(in);

	ck_assert_ptr_nonnull(env = slurp("dump.service-registered.env"));
	ck_assert_msg(strstr(env, "PEERD_GROUP=lab\n") != NULL &&
	    strstr(env, "PEERD_SERVICE=calc.add\n") != NULL &&
	    strstr(env, "PEERD_WHY=\n") != NULL, "%s", env);
	free(env);
	ck_assert_ptr_nonnull(in = slurp("dump.service-registered.in"));
	ck_assert_str_eq(in, "{\"event\":\"service-registered\",\"node_id\":"
	    "\"NODEID\",\"node_name\":\"n1\",\"incarnation\":8,\"service\":"
	    "\"calc.add\",\"group\":\"lab\",\"self_id\":\"SELFID\","
	    "\"self_name\":\"selfname\"}\n");
	free(in);
}
END_TEST

/* Only the kinds a handler names run it. */
START_TEST(test_matching)
{
	char		 a[512], b[512];
	const char	*lines[] = { a, b, NULL };
	const char	*s = script("log", "echo \"$1 $PEERD_EVENT\" >> \"$0.out\"");

	snprintf(a, sizeof(a), "member-dead,member-left %s dl", s);
	snprintf(b, sizeof(b), "service-* %s svc", s);
	start(lines, 1, 10000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	tell(CHANGE_DEAD, 2);
	tell(CHANGE_SUSPECT, 3);
	tell(CHANGE_WITHDRAWN, 4);
	tell(CHANGE_LEFT, 5);
	tell(CHANGE_ALIVE, 6);
	wait_ended(3, 5000);
	loop_for(base, 100);
	ck_assert_uint_eq(stats().runs, 3);
	{
		char	*out = slurp("log.out");

		/* One at a time: in the order told. */
		ck_assert_str_eq(out, "dl member-dead\nsvc service-withdrawn\n"
		    "dl member-left\n");
		free(out);
	}
}
END_TEST

/*
 * A run starts in a process group of its own, with every signal at its
 * default and none blocked, whatever the daemon ignores or blocks, and
 * only 0-2 open.
 */
START_TEST(test_process_state)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };
	sigset_t	 set;
	unsigned long long ign;
	char		*out, *p, want[64];
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	/* A descriptor the daemon forgot to mark close-on-exec. */
	ck_assert_int_ge(fd = open("/dev/null", O_RDONLY), 3);
	snprintf(line, sizeof(line), "* %s", script("state",
	    "exec > \"$0.out\"\n"
	    "echo pgrp $(cut -d' ' -f5 /proc/$$/stat) pid $$\n"
	    "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo\n"
	    /* The shell blocks signals while it waits: as it started. */
	    "exec grep -E '^Sig(Blk|Ign):' /proc/self/status"));
	start(lines, 1, 10000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	wait_ended(1, 5000);
	close(fd);
	ck_assert_ptr_nonnull(out = slurp("state.out"));
	/*
	 * glibc's posix_spawn leaves its own two signals (32 and 33, below
	 * SIGRTMIN), which it handles, ignored; nothing else is.
	 */
	ck_assert_ptr_nonnull(p = strstr(out, "SigIgn:\t"));
	ign = strtoull(p + 8, NULL, 16);
	ck_assert_msg((ign & ~(3ULL << 31)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "SigBlk:\t0000000000000000\n") != NULL,
	    "%s", out);
	{
		int	pgrp = 0, pid = -1;

		ck_assert_ptr_nonnull(p = strstr(out, "pgrp "));
		ck_assert_int_eq(sscanf(p, "pgrp %d pid %d", &pgrp, &pid), 2);
		ck_assert_int_eq(pgrp, pid);
	}
	/* ls's own directory descriptor is the one above 2. */
	snprintf(want, sizeof(want), "\n0 1 2 3 \n");
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * At most jobs run at once; the others wait and start as places free,
 * in order.
 */
START_TEST(test_jobs_limit)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };
	char		 body[512];
	int		 i;

	snprintf(body, sizeof(body),
	    "echo $PEERD_INCARNATION >> \"$0.started\"\n"
	    "i=0; while [ ! -e \"$0.go\" ] && [ $i -lt 200 ]; do "
	    "sleep 0.05; i=$((i + 1)); done\n"
	    "echo $PEERD_INCARNATION >> \"$0.done\"");
	snprintf(line, sizeof(line), "* %s", script("hold", body));
	start(lines, 2, 20000, 1000, 16);
	for (i = 1; i <= 5; i++)
		tell(CHANGE_JOIN, (uint64_t)i);
	ck_assert_uint_eq(stats().running, 2);
	ck_assert_uint_eq(stats().waiting, 3);
	wait_lines("hold.started", 2, 5000);
	loop_for(base, 300);
	ck_assert_int_eq(count_lines("hold.started"), 2);
	ck_assert_uint_eq(stats().running, 2);

	close(open(path_of("hold.go"), O_WRONLY | O_CREAT, 0600));
	wait_ended(5, 10000);
	ck_assert_int_eq(count_lines("hold.done"), 5);
	{
		char	*s = slurp("hold.started");

		/* The first two before the rest, whichever wrote first. */
		ck_assert_msg(strncmp(s, "1\n2\n", 4) == 0 ||
		    strncmp(s, "2\n1\n", 4) == 0, "%s", s);
		free(s);
	}
	ck_assert_uint_eq(stats().failed, 0);
	ck_assert_uint_eq(stats().dropped, 0);
}
END_TEST

/* Past queue_max waiting, the oldest waiting is dropped and counted. */
START_TEST(test_queue_drops_oldest)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };
	char		 body[512];
	int		 i;

	capture_log();
	snprintf(body, sizeof(body),
	    "echo $PEERD_INCARNATION >> \"$0.started\"\n"
	    "i=0; while [ ! -e \"$0.go\" ] && [ $i -lt 200 ]; do "
	    "sleep 0.05; i=$((i + 1)); done");
	snprintf(line, sizeof(line), "* %s", script("hold", body));
	start(lines, 1, 20000, 1000, 2);
	for (i = 1; i <= 6; i++)
		tell(CHANGE_JOIN, (uint64_t)i);
	ck_assert_uint_eq(stats().running, 1);
	ck_assert_uint_eq(stats().waiting, 2);
	ck_assert_uint_eq(stats().dropped, 3);
	assert_log("handlers: 2 runs waiting; dropped the oldest, of "
	    "hold (member-join), 1 dropped in all");
	/* One line, then none for a while. */
	ck_assert(!log_has("2 dropped in all"));

	close(open(path_of("hold.go"), O_WRONLY | O_CREAT, 0600));
	wait_ended(3, 10000);
	{
		char	*s = slurp("hold.started");

		ck_assert_str_eq(s, "1\n5\n6\n");
		free(s);
	}
}
END_TEST

static bool
gone(void *arg)
{
	char		 path[64], buf[512], *p;
	FILE		*f;
	pid_t		 pid = *(pid_t *)arg;
	bool		 zombie;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	zombie = fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return zombie;
}

static pid_t
read_pid(const char *name)
{
	char	*s = slurp(name);
	int	 pid;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(sscanf(s, "%d", &pid), 1);
	free(s);
	return (pid_t)pid;
}

/*
 * Past the timeout its process group gets SIGTERM; one that ignores it
 * gets SIGKILL, and so do the processes it started.
 */
START_TEST(test_timeout_term_then_kill)
{
	char		 a[512], b[512];
	const char	*lines[] = { a, NULL };
	pid_t		 child;
	int64_t		 t0;

	capture_log();
	snprintf(a, sizeof(a), "member-join %s", script("slow",
	    "sleep 30"));
	start(lines, 2, 300, 400, 16);
	t0 = clock_ms();
	tell(CHANGE_JOIN, 1);
	wait_ended(1, 3000);
	ck_assert_int_ge(clock_ms() - t0, 300);
	ck_assert_uint_eq(stats().timed_out, 1);
	ck_assert_uint_eq(stats().failed, 1);
	assert_log("handler slow (member-join): timed out after 300 "
	    "ms, killed by signal 15 (Terminated)");
	handlers_free(hs);
	hs = NULL;

	snprintf(b, sizeof(b), "member-join %s", script("stubborn",
	    "trap '' TERM\n"
	    "sleep 30 &\n"
	    "echo $! > \"$0.pid\"\n"
	    "wait; wait; wait"));
	lines[0] = b;
	start(lines, 2, 300, 400, 16);
	t0 = clock_ms();
	tell(CHANGE_JOIN, 2);
	wait_ended(1, 3000);
	ck_assert_int_ge(clock_ms() - t0, 700);
	assert_log("handler stubborn (member-join): timed out after "
	    "300 ms, killed by signal 9 (Killed)");
	child = read_pid("stubborn.pid");
	ck_assert_msg(loop_until(base, gone, &child, 2000),
	    "the handler's own child outlived it");
}
END_TEST

/* Failures are counted and logged: a status, a signal, no program. */
START_TEST(test_failures_logged)
{
	char		 a[512], b[512], c[512];
	const char	*lines[] = { a, b, c, NULL };
	char		 gone_prog[256];
	int64_t		 t0;
	bool		 held;

	capture_log();
	snprintf(gone_prog, sizeof(gone_prog), "%s", script("vanishes",
	    "exit 0"));
	snprintf(a, sizeof(a), "member-join %s", script("three", "exit 3"));
	snprintf(b, sizeof(b), "member-dead %s", script("usr1",
	    "kill -USR1 $$"));
	snprintf(c, sizeof(c), "member-left %s", gone_prog);
	start(lines, 4, 5000, 1000, 16);
	ck_assert_int_eq(unlink(gone_prog), 0);
	t0 = clock_ms();	/* before the first failure */
	tell(CHANGE_JOIN, 1);
	tell(CHANGE_DEAD, 2);
	tell(CHANGE_LEFT, 3);
	wait_ended(3, 5000);
	ck_assert_uint_eq(stats().failed, 3);
	ck_assert_uint_eq(stats().timed_out, 0);
	assert_log("handler three (member-join): exited with status "
	    "3\n");
	assert_log("handler usr1 (member-dead): killed by signal 10 ");
	assert_log("handler vanishes (member-left): cannot run ");
	assert_log("vanishes: No such file or directory\n");

	/*
	 * A second failure within the second is held, then counted (if
	 * this machine was quick enough to fail twice within it).
	 */
	tell(CHANGE_JOIN, 4);
	wait_ended(4, 5000);
	held = clock_ms() - t0 < 900;
	ck_assert_uint_eq(stats().failed, 4);
	loop_for(base, 1100);
	tell(CHANGE_JOIN, 5);
	wait_ended(5, 5000);
	if (held)
		assert_log("handler three (member-join): exited with status "
		    "3 (and 1 more failures)\n");
}
END_TEST

/* Output is logged line by line with the name, escaped and bounded. */
START_TEST(test_output_logged)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };

	capture_log();
	log_set_level(LOG_LEVEL_INFO);
	snprintf(line, sizeof(line), "* %s", script("talk",
	    "echo hello from $PEERD_NODE_NAME\n"
	    "printf 'to stderr\\033[31m\\n' >&2\n"
	    "i=0; while [ $i -lt 150 ]; do echo line $i; i=$((i + 1)); done\n"
	    "printf 'no newline'"));
	start(lines, 1, 5000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	wait_ended(1, 5000);
	assert_log("handler talk (member-join): hello from n1\n");
	assert_log("handler talk (member-join): to stderr\\x1b[31m\n");
	assert_log("handler talk (member-join): line 97\n");
	ck_assert(!log_has("line 98\n"));
	assert_log("handler talk (member-join): 53 more lines of "
	    "output not logged\n");
	ck_assert_uint_eq(stats().failed, 0);
}
END_TEST

/* A handler that reads none of its stdin, with a large JSON, ends. */
START_TEST(test_stdin_unread)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };

	snprintf(line, sizeof(line), "* %s", script("deaf",
	    "exec 0<&-; echo ok > \"$0.out\""));
	start(lines, 1, 5000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	wait_ended(1, 5000);
	ck_assert_int_eq(count_lines("deaf.out"), 1);
	ck_assert_uint_eq(stats().failed, 0);
}
END_TEST

/*
 * A reload replaces the handlers: new changes run the new ones, runs
 * already waiting the command they were queued for.
 */
START_TEST(test_set_replaces)
{
	char			 a[512], b[512];
	const char		*la[] = { a, NULL }, *lb[] = { b, NULL };
	const char		*s = script("who",
				    "echo \"$1 $PEERD_INCARNATION\" >> "
				    "\"$0.out\"; sleep 0.2");
	struct config		 c;
	struct handler_list	*l;
	char			 err[256], *out;

	snprintf(a, sizeof(a), "member-join %s old", s);
	snprintf(b, sizeof(b), "member-dead %s new", s);
	start(la, 1, 5000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	tell(CHANGE_JOIN, 2);
	config_with(&c, lb);
	ck_assert_ptr_nonnull(l = handler_list_parse(&c, err, sizeof(err)));
	config_free(&c);
	handlers_set(hs, l, 2, 5000);
	tell(CHANGE_JOIN, 3);
	tell(CHANGE_DEAD, 4);
	wait_ended(3, 5000);
	ck_assert_ptr_nonnull(out = slurp("who.out"));
	ck_assert_msg(strstr(out, "old 1\n") != NULL &&
	    strstr(out, "old 2\n") != NULL && strstr(out, "new 4\n") != NULL &&
	    strstr(out, " 3\n") == NULL, "%s", out);
	free(out);
}
END_TEST

/* At shutdown a run under way gets SIGTERM, without waiting for it. */
START_TEST(test_free_terminates)
{
	char		 line[512];
	const char	*lines[] = { line, NULL };
	pid_t		 pid;
	int64_t		 t0;
	int		 st = 0;

	snprintf(line, sizeof(line), "* %s", script("long",
	    "echo $$ > \"$0.pid\"; exec sleep 30"));
	start(lines, 1, 30000, 1000, 16);
	tell(CHANGE_JOIN, 1);
	tell(CHANGE_JOIN, 2);
	wait_lines("long.pid", 1, 5000);
	pid = read_pid("long.pid");
	t0 = clock_ms();
	handlers_free(hs);
	hs = NULL;
	ck_assert_int_lt(clock_ms() - t0, 100);
	/* It is our child: the test reaps it. */
	while (waitpid(pid, &st, WNOHANG) == 0 && clock_ms() - t0 < 3000)
		usleep(10000);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGTERM);
	/* The waiting run never started. */
	ck_assert_int_eq(count_lines("long.pid"), 1);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("handlers");
	TCase	*tc = tcase_create("handlers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_events_parse);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_list_parse);
	tcase_add_test(tc, test_environment_and_stdin);
	tcase_add_test(tc, test_matching);
	tcase_add_test(tc, test_process_state);
	tcase_add_test(tc, test_jobs_limit);
	tcase_add_test(tc, test_queue_drops_oldest);
	tcase_add_test(tc, test_timeout_term_then_kill);
	tcase_add_test(tc, test_failures_logged);
	tcase_add_test(tc, test_output_logged);
	tcase_add_test(tc, test_stdin_unread);
	tcase_add_test(tc, test_set_replaces);
	tcase_add_test(tc, test_free_terminates);
	suite_add_tcase(s, tc);
	return s;
}
