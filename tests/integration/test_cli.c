/* SPDX-License-Identifier: ISC */
/*
 * test_cli.c: peerctl as a user meets it: --to naming a node's own
 * group and ID prefixes in either case, JSON output and JSON errors,
 * one-line option errors, fan-out answers printed as they come,
 * progress of connect and join on a terminal only, serve refusing a
 * command it cannot run, notify, the duration and table formats,
 * --help agreeing with the man page, and kv's commands.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "peer.h"
#include "suites.h"

#define N	2

static struct daemon	d[N];
static pid_t		apps[N];

static void
setup(void)
{
	daemons_init_with_apps(d, apps, N);
}

static void
teardown(void)
{
	daemons_free_with_apps(d, apps, N);
}

/* Starts daemon i (name), bootstrapped to daemon 0 unless it is 0. */
static void
start(int i, const char *name)
{
	daemon_start_boot(&d[i], name, i > 0 ? &d[0] : NULL);
}

/* Starts "peerctl serve service -- sh -c script sh" on daemon i. */
static pid_t
serve_sh(int i, const char *service, const char *script)
{
	const char	*argv[] = { peerctl_bin(), "-s", d[i].sock, "serve",
			    service, "--", "sh", "-c", script, "sh", NULL };
	pid_t		 pid;

	if ((pid = fork_child(NULL)) == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* A JSON document parsed from text, which must hold one. */
static json_t *
parse(const char *text)
{
	json_error_t	 e;
	json_t		*j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, text);
	return j;
}

/* The code of a JSON error object on one line of stderr. */
static void
expect_json_error(const char *err, const char *code)
{
	json_t	*j = parse(err), *e;

	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
	    "not one line: %s", err);
	ck_assert_msg((e = json_object_get(j, "error")) != NULL, "%s", err);
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
	ck_assert(json_is_string(json_object_get(e, "message")));
	json_decref(j);
}

/* --to names a node by a group of its own record, and by any case. */
START_TEST(test_to_node_group_and_id_case)
{
	char	out[4096], err[1024], id[64], pre[16];
	size_t	i;
	int	status;

	start(0, "a");
	daemon_config(&d[1], "group = lab\n");
	start(1, "b");
	apps[0] = echo_start(&d[0], "echo", NULL);
	apps[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 2);
	ck_assert_int_eq(count_listed(&d[0], "members", "members", "name",
	    "b"), 1);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", "--to", "lab", NULL);
	ck_assert_msg(status == 0, "--to lab: %d: %s", status, err);
	ck_assert_str_eq(out, "\"b\"\n");
	daemon_id(&d[1], id);
	snprintf(pre, sizeof(pre), "%.6s", id);
	for (i = 0; pre[i] != '\0'; i++)
		if (pre[i] >= 'a' && pre[i] <= 'z')
			pre[i] -= 'a' - 'A';
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", "--to", pre, NULL);
	ck_assert_msg(status == 0, "--to %s: %d: %s", pre, status, err);
	ck_assert_str_eq(out, "\"b\"\n");
	snprintf(pre, sizeof(pre), "%.3s", id);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "echo.whoami", "--to", pre, NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "INVALID_ARGUMENT") != NULL &&
	    strstr(err, "4 or more characters") != NULL, "%s", err);
}
END_TEST

/* Errors are JSON with --json; a single result is one indented document. */
START_TEST(test_json_errors_and_styles)
{
	char	 out[4096], err[1024], token[4096];
	json_t	*j;
	int	 status;

	start(0, "a");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "call", "nosuch.method", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_str_eq(out, "");
	expect_json_error(err, "NOT_FOUND");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "ping", "x", "--count", "abc", NULL);
	ck_assert_int_eq(status, 2);
	expect_json_error(err, "INVALID_ARGUMENT");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "join", "--json", "peerd1-damaged", NULL);
	ck_assert_int_eq(status, 1);
	expect_json_error(err, "INVALID_ARGUMENT");
	/* id: one indented document, as status is. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "id", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strncmp(out, "{\n  \"node\": ", 12) == 0, "%s", out);
	json_decref(parse(out));

	/* join --json: a fresh node joins a's network. */
	start(1, "b");
	ck_assert_int_eq(peerctl_run(&d[0], token, sizeof(token), err,
	    sizeof(err), "invite", NULL), 0);
	token[strcspn(token, "\n")] = '\0';
	daemon_stop(&d[1], SIGTERM);
	daemon_init(&d[1]);
	daemon_start(&d[1], "b", NULL);
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "--json", "join", token, NULL);
	ck_assert_msg(status == 0, "join: %d: %s", status, err);
	j = parse(out);
	ck_assert(json_is_true(json_object_get(j, "joined")));
	ck_assert_int_ge(json_integer_value(json_object_get(j, "peers")), 1);
	json_decref(j);
}
END_TEST

static bool
b_linked(void *arg)
{
	(void)arg;
	return count_listed(&d[0], "peers", "peers", "name", "b") == 1;
}

/* ping --json: one compact object per round trip, then a summary. */
START_TEST(test_ping_json_summary)
{
	char	 out[4096], err[1024], *line, *save;
	json_t	*j;
	int	 lines = 0, status;

	start(0, "a");
	start(1, "b");
	ck_assert(wait_until(b_linked, NULL, 5000));
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "ping", "b", "--count", "2", "--interval", "10", NULL);
	ck_assert_msg(status == 0, "%d: %s", status, err);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		j = parse(line);
		if (++lines <= 2) {
			ck_assert_int_eq(json_integer_value(json_object_get(j,
			    "seq")), lines);
			ck_assert(json_is_integer(json_object_get(j,
			    "rtt_us")));
		} else {
			ck_assert_int_eq(json_integer_value(json_object_get(j,
			    "sent")), 2);
			ck_assert_int_eq(json_integer_value(json_object_get(j,
			    "answered")), 2);
			ck_assert(json_is_integer(json_object_get(j,
			    "rtt_avg_us")));
		}
		json_decref(j);
	}
	ck_assert_int_eq(lines, 3);
}
END_TEST

/* A round trip without an answer is a JSON line too. */
START_TEST(test_ping_json_no_reply)
{
	char	 out[4096], err[1024], *line;
	json_t	*j, *e;
	int	 status;

	/* The link outlives the 5 s the daemon waits for a pong. */
	daemon_config(&d[0], "dead_after = 60s\n");
	start(0, "a");
	start(1, "b");
	ck_assert(wait_until(b_linked, NULL, 5000));
	ck_assert_int_eq(kill(d[1].pid, SIGSTOP), 0);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "ping", "b", "--count", "1", NULL);
	kill(d[1].pid, SIGCONT);
	ck_assert_msg(status == 1, "%d: %s%s", status, out, err);
	ck_assert_msg((line = strchr(out, '\n')) != NULL, "%s", out);
	*line++ = '\0';
	j = parse(out);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "seq")), 1);
	ck_assert((e = json_object_get(j, "error")) != NULL);
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")),
	    "DEADLINE_EXCEEDED");
	json_decref(j);
	j = parse(line);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "sent")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "answered")),
	    0);
	ck_assert_ptr_null(json_object_get(j, "rtt_avg_us"));
	json_decref(j);
}
END_TEST

/* A bad option value: one line that says what is wrong, exit 2. */
static void
expect_option_error(const char *want, const char *const *args)
{
	const char	*argv[16];
	char		 out[4096], err[4096];
	int		 n = 0;

	argv[n++] = peerctl_bin();
	argv[n++] = "-s";
	argv[n++] = d[0].sock;
	while (*args != NULL)
		argv[n++] = *args++;
	argv[n] = NULL;
	ck_assert_int_eq(run_capture(argv, out, sizeof(out), err,
	    sizeof(err)), 2);
	ck_assert_msg(strncmp(err, "peerctl: ", 9) == 0 &&
	    strstr(err, want) != NULL, "want \"peerctl: ...%s\": %s", want,
	    err);
	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
	    "not one line: %s", err);
}

START_TEST(test_option_errors_say_why)
{
	const char	*size[] = { "ping", "b", "--size", "2000000000", NULL };
	const char	*count[] = { "ping", "b", "--count", "abc", NULL };
	const char	*jobs[] = { "serve", "x", "--jobs", "0", "--", "true",
			    NULL };
	const char	*sub[] = { "subscribe", "a.*", "--count", "0", NULL };
	const char	*interval[] = { "ping", "b", "--interval", NULL };
	const char	*unknown[] = { "members", "--frob", NULL };
	const char	*global[] = { "--frob", "status", NULL };
	const char	*nosock[] = { "-s", NULL };
	const char	*kvver[] = { "kv", "put", "k", "1", "--if-version", "v1",
			    NULL };
	const char	*kvttl[] = { "kv", "put", "k", "1", "--ttl", "0", NULL };
	const char	*kvlimit[] = { "kv", "list", "--limit", "1001", NULL };
	const char	*kvopt[] = { "kv", "get", "k", "--ttl", "1s", NULL };
	const char	*kvjson[] = { "kv", "put", "k", "word", NULL };
	const char	*kvmerge[] = { "kv", "merge", "k", "[1]", NULL };
	const char	*kvsub[] = { "kv", "frob", "k", NULL };
	char		 deep[64];
	const char	*kvdeep[] = { "kv", "put", "k", deep, NULL };
	int		 i;

	expect_option_error("--size: \"2000000000\" is not", size);
	expect_option_error("--count: \"abc\" is not", count);
	expect_option_error("--jobs: \"0\" is not", jobs);
	expect_option_error("--count: \"0\" is not", sub);
	expect_option_error("--interval needs a value", interval);
	expect_option_error("unknown option --frob", unknown);
	/* getopt's own errors would name argv[0]. */
	expect_option_error("unknown option --frob", global);
	expect_option_error("-s needs a value", nosock);
	expect_option_error("--if-version: \"v1\" is not", kvver);
	expect_option_error("--ttl: \"0\" is not", kvttl);
	expect_option_error("--limit: \"1001\" is not", kvlimit);
	expect_option_error("kv get: unknown option --ttl", kvopt);
	expect_option_error("a string needs quotes", kvjson);
	expect_option_error("kv merge k: value is not a JSON object", kvmerge);
	expect_option_error("kv: unknown subcommand frob", kvsub);
	/* One level deeper than peerd takes a value: refused here. */
	for (i = 0; i < 30; i++) {
		deep[i] = '[';
		deep[30 + i] = ']';
	}
	deep[60] = '\0';
	expect_option_error("kv put k: value nests more than 29 arrays and "
	    "objects", kvdeep);
}
END_TEST

/* Reads lines of fd into buf until EOF; the ms of the first and of EOF. */
static void
time_lines(int fd, char *buf, size_t cap, long *first, long *eof)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	long		t0 = test_now_ms();
	size_t		len = 0;
	ssize_t		n;

	*first = *eof = -1;
	while (test_now_ms() - t0 < 15000) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(fd, buf + len, cap - len - 1)) <= 0) {
			*eof = test_now_ms() - t0;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (*first == -1 && strchr(buf, '\n') != NULL)
			*first = test_now_ms() - t0;
	}
}

/* call --all prints the quick answer long before the slow one. */
START_TEST(test_call_all_prints_answers_as_they_come)
{
	const char	*argv[] = { peerctl_bin(), "-s", d[0].sock, "call",
			    "echo.whoami", "--all", NULL };
	char		 out[4096];
	long		 first, eof;
	pid_t		 pid;
	int		 po[2], status;

	start(0, "a");
	start(1, "b");
	apps[0] = echo_start(&d[0], "echo", NULL);
	apps[1] = serve_sh(1, "echo", "sleep 3; echo slow");
	wait_providers(&d[0], "echo", 2);
	ck_assert_int_eq(pipe(po), 0);
	if ((pid = fork_child(NULL)) == 0) {
		dup2(po[1], STDOUT_FILENO);
		close(po[0]);
		close(po[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	time_lines(po[0], out, sizeof(out), &first, &eof);
	close(po[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    out);
	ck_assert_msg(strstr(out, "a (") != NULL && strstr(out,
	    ": \"a\"\n") != NULL && strstr(out, ": \"slow\"\n") != NULL,
	    "%s", out);
	ck_assert_msg(first != -1 && first < 2000 && eof >= 2500,
	    "first line after %ld ms, end after %ld ms", first, eof);
}
END_TEST

/*
 * Runs argv with stderr on a terminal until that shows until (or 5 s
 * pass), then kills it; what the terminal showed into buf.
 */
static void
run_on_tty(const char *const *argv, const char *until, char *buf,
    size_t cap)
{
	struct pollfd	 pfd;
	long		 t0 = test_now_ms();
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 m, s;

	ck_assert_int_ne(m = posix_openpt(O_RDWR | O_NOCTTY), -1);
	ck_assert_int_eq(grantpt(m), 0);
	ck_assert_int_eq(unlockpt(m), 0);
	ck_assert_int_ne(s = open(ptsname(m), O_RDWR | O_NOCTTY), -1);
	if ((pid = fork_child(NULL)) == 0) {
		dup2(s, STDERR_FILENO);
		close(s);
		close(m);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(s);
	buf[0] = '\0';
	pfd.fd = m;
	pfd.events = POLLIN;
	while (test_now_ms() - t0 < 5000 && strstr(buf, until) == NULL) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(m, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(m);
}

/* connect counts the seconds on a terminal, and says nothing elsewhere. */
START_TEST(test_progress_on_a_terminal_only)
{
	char		 addr[64], tty[4096], out[1024], err[1024];
	const char	*argv[] = { peerctl_bin(), "-s", d[0].sock, "connect",
			    addr, NULL };
	int		 fd, port, status;

	daemon_config(&d[0], "handshake_timeout = 2s\n");
	start(0, "a");
	/* Accepts, then never speaks: the handshake waits. */
	ck_assert_int_ne(fd = loopback_socket(&port), -1);
	ck_assert_int_eq(listen(fd, 8), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	/* The handshake times out after 2 s: the line counts to 1 s. */
	run_on_tty(argv, "... 1s", tty, sizeof(tty));
	ck_assert_msg(strstr(tty, "connecting to 127.0.0.1:") != NULL &&
	    strstr(tty, "... 0s") != NULL && strstr(tty, "... 1s") != NULL,
	    "terminal showed: %s", tty);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "connecting to") == NULL &&
	    strchr(err, '\r') == NULL, "%s", err);
	close(fd);
}
END_TEST

/* join counts the seconds it waits for a link, on a terminal. */
START_TEST(test_join_progress)
{
	char		 token[4096], tty[4096], err[1024];
	const char	*argv[] = { peerctl_bin(), "-s", d[0].sock, "join",
			    token, NULL };

	start(0, "a");
	daemon_start(&d[1], "b", NULL);
	ck_assert_int_eq(peerctl_run(&d[1], token, sizeof(token), err,
	    sizeof(err), "invite", NULL), 0);
	token[strcspn(token, "\n")] = '\0';
	/* b takes the connection but never finishes the handshake. */
	ck_assert_int_eq(kill(d[1].pid, SIGSTOP), 0);
	run_on_tty(argv, "... 1s", tty, sizeof(tty));
	kill(d[1].pid, SIGCONT);
	ck_assert_msg(strstr(tty, "joining: waiting for a link... 0s") !=
	    NULL && strstr(tty, "joining: waiting for a link... 1s") != NULL,
	    "terminal showed: %s", tty);
}
END_TEST

static bool
serve_x_listed(void *arg)
{
	(void)arg;
	return count_listed(&d[0], "services", "services", "service",
	    "x") > 0;
}

/* serve refuses, before registering, a command it could not run. */
START_TEST(test_serve_refuses_missing_command)
{
	char	out[1024], err[1024];
	long	t0;

	start(0, "a");
	t0 = test_now_ms();
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "serve", "x", "--", "/nonexistent/cmd", NULL), 2);
	ck_assert_msg(strstr(err, "/nonexistent/cmd: no such file") != NULL,
	    "%s", err);
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "serve", "x", "--", "no-such-command-here", NULL), 2);
	ck_assert_msg(strstr(err, "command not found") != NULL, "%s", err);
	ck_assert_int_lt(test_now_ms() - t0, 3000);
	ck_assert(!serve_x_listed(NULL));
}
END_TEST

struct file_has {
	const char	*path;
	const char	*text;
};

static bool
file_has(void *arg)
{
	struct file_has	*w = arg;
	char		 buf[4096];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(w->path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, w->text) != NULL;
}

/* notify sends a call that wants no answer. */
START_TEST(test_notify)
{
	char		 out[1024], err[1024], path[256], script[512];
	struct file_has	 w = { path, "ring [\"bell\"]" };
	json_t		*j;
	int		 status;

	start(0, "a");
	snprintf(path, sizeof(path), "%s/notified", d[0].dir);
	snprintf(script, sizeof(script), "echo \"$1 $2\" >> %s", path);
	apps[0] = serve_sh(0, "door", script);
	wait_providers(&d[0], "door", 1);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "notify", "door.ring", "\"bell\"", NULL);
	ck_assert_msg(status == 0, "%d: %s", status, err);
	ck_assert_str_eq(out, "");
	ck_assert_msg(wait_until(file_has, &w, 5000), "never notified");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "--json", "notify", "door.ring", NULL);
	ck_assert_msg(status == 0, "%d: %s", status, err);
	j = parse(out);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "sent")), 1);
	json_decref(j);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "notify", "nosuch.ring", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "NOT_FOUND") != NULL, "%s", err);
}
END_TEST

static void
no_event(struct peer *p, const struct peer_event *ev, void *arg)
{
	(void)p;
	(void)ev;
	(void)arg;
}

/* peers shows uptime as status does; topics has a header. */
START_TEST(test_peers_uptime_and_topics_header)
{
	struct peer_error	 err;
	struct peer		*p;
	char			 out[4096], errb[1024], *line;

	start(0, "a");
	start(1, "b");
	ck_assert(wait_until(b_linked, NULL, 5000));
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), errb,
	    sizeof(errb), "peers", NULL), 0);
	ck_assert((line = strstr(out, "\n")) != NULL);
	/* The UPTIME column: a number of seconds with a tenth and "s". */
	ck_assert_msg(strstr(line, ".") != NULL && strstr(line, "s ") != NULL,
	    "%s", out);
	p = daemon_peer(&d[0]);
	ck_assert_msg(peer_subscribe(p, "door.*", no_event, NULL, &err) == 0, "%s",
	    err.message);
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), errb,
	    sizeof(errb), "topics", NULL), 0);
	ck_assert_msg(strncmp(out, "PATTERN", 7) == 0, "%s", out);
	ck_assert_msg(strstr(out, "door.*") != NULL &&
	    strstr(out, "(this node)") != NULL, "%s", out);
	peer_close(p);
}
END_TEST

/* Every command of --help is in the man page, help included. */
START_TEST(test_help_agrees_with_man_page)
{
	const char	*argv[] = { peerctl_bin(), "--help", NULL };
	char		 out[8192], err[1024], name[32], want[64], *line;
	char		*man, *save;
	FILE		*f;
	long		 len;
	int		 n = 0;

	ck_assert_int_eq(run_capture(argv, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(f = fopen("doc/peerctl.1", "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(man = calloc(1, (size_t)len + 1));
	ck_assert_int_eq(fread(man, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	ck_assert_msg(strstr(out, "\n  help ") != NULL, "no help in --help");
	line = strstr(out, "\ncommands:\n");
	ck_assert_ptr_nonnull(line);
	for (line = strtok_r(line + 11, "\n", &save); line != NULL &&
	    strncmp(line, "  ", 2) == 0; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_int_eq(sscanf(line, "%31s", name), 1);
		/* The tag of its entry: .B, .BR, .BI name or \fBname\fP. */
		snprintf(want, sizeof(want), ".TP\n.B %s", name);
		if (strstr(man, want) == NULL)
			snprintf(want, sizeof(want), ".TP\n.BR %s ", name);
		if (strstr(man, want) == NULL)
			snprintf(want, sizeof(want), ".TP\n.BI %s ", name);
		if (strstr(man, want) == NULL)
			snprintf(want, sizeof(want), ".TP\n\\fB%s\\fP", name);
		ck_assert_msg(strstr(man, want) != NULL, "%s is not an entry "
		    "of peerctl.1", name);
		n++;
	}
	ck_assert_int_ge(n, 17);
	/* A tag on two lines renders as two. */
	ck_assert(strstr(man, ".BR services \" [\" \\-\\-service\n") == NULL);
	free(man);
}
END_TEST

/* The first put on a while the store's nodes settle their views. */
static bool
kv_first_put(void *arg)
{
	char	*out = arg, err[1024];

	return peerctl_run(&d[0], out, 64, err, sizeof(err), "kv", "put",
	    "cfg/x", "{\"n\": 1}", NULL) == 0;
}

/* kv: a put on one node read on the other; versions, errors, formats. */
START_TEST(test_kv_commands)
{
	char		 out[4096], err[1024], ver[64], old[64], id[64];
	json_t		*j, *want;
	unsigned long long v;
	int		 status;

	start(0, "a");
	start(1, "b");
	ck_assert_msg(wait_until(b_linked, NULL, 10000), "b not linked");
	ck_assert_msg(wait_until(kv_first_put, ver, 10000),
	    "kv put did not succeed within 10 s");
	ck_assert_int_eq(sscanf(ver, "%llu", &v), 1);
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(old, sizeof(old), "%llu", v - 1);

	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "kv", "get", "cfg/x", NULL);
	ck_assert_msg(status == 0, "get: %d: %s", status, err);
	ck_assert_str_eq(out, "{\"n\":1}\n");
	/* The writer is the key's coordinator, not the node asked. */
	j = peerctl_json(&d[1], &status, "kv", "where", "cfg/x", NULL);
	ck_assert_ptr_nonnull(j);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(
	    json_array_get(json_object_get(j, "owners"), 0), "node")));
	json_decref(j);
	j = peerctl_json(&d[1], &status, "kv", "get", "cfg/x", NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "writer")), id);
	ck_assert_uint_eq((unsigned long long)json_integer_value(
	    json_object_get(j, "version")), v);
	json_decref(j);

	/* Compare-and-set at another version: refused, exit 1. */
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "kv", "put", "cfg/x", "2", "--if-version", old, NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "FAILED_PRECONDITION") != NULL, "%s", err);
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "kv", "put", "cfg/y", "\"new\"", "--if-version", "0", NULL);
	ck_assert_msg(status == 0, "put if absent: %d: %s", status, err);

	/* A merge keeps what it does not name. */
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "kv", "merge", "cfg/x", "{\"m\": 2}", NULL);
	ck_assert_msg(status == 0, "merge: %d: %s", status, err);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "kv", "get", "cfg/x", NULL);
	ck_assert_int_eq(status, 0);
	j = parse(out);
	want = parse("{\"n\": 1, \"m\": 2}");
	ck_assert_msg(json_equal(j, want), "after merge: %s", out);
	json_decref(j);
	json_decref(want);

	/* list: a header, then the keys in order. */
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "kv", "list", "cfg/", NULL);
	ck_assert_msg(status == 0, "list: %d: %s", status, err);
	ck_assert_msg(strncmp(out, "KEY ", 4) == 0 &&
	    strstr(out, "\ncfg/x ") != NULL &&
	    strstr(out, "\ncfg/y ") > strstr(out, "\ncfg/x "), "%s", out);
	j = peerctl_json(&d[0], &status, "kv", "list", "cfg/", "--limit", "1",
	    NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "next")),
	    "cfg/x");
	json_decref(j);

	/* where: both nodes own it, one coordinates. */
	j = peerctl_json(&d[1], &status, "kv", "where", "cfg/x", NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_array_size(json_object_get(j, "owners")), 2);
	ck_assert(json_is_true(json_object_get(json_array_get(
	    json_object_get(j, "owners"), 0), "coordinator")));
	json_decref(j);

	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "kv", "del", "cfg/x", NULL);
	ck_assert_msg(status == 0, "del: %d: %s", status, err);
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "kv", "get", "cfg/x", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "NOT_FOUND") != NULL, "%s", err);
	status = peerctl_run(&d[1], out, sizeof(out), err, sizeof(err),
	    "--json", "kv", "del", "cfg/x", NULL);
	ck_assert_int_eq(status, 1);
	expect_json_error(err, "NOT_FOUND");
}
END_TEST

Suite *
cli_suite(void)
{
	Suite	*s = suite_create("cli");
	TCase	*tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_to_node_group_and_id_case);
	tcase_add_test(tc, test_json_errors_and_styles);
	tcase_add_test(tc, test_ping_json_summary);
	tcase_add_test(tc, test_ping_json_no_reply);
	tcase_add_test(tc, test_option_errors_say_why);
	tcase_add_test(tc, test_call_all_prints_answers_as_they_come);
	tcase_add_test(tc, test_progress_on_a_terminal_only);
	tcase_add_test(tc, test_join_progress);
	tcase_add_test(tc, test_serve_refuses_missing_command);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_peers_uptime_and_topics_header);
	tcase_add_test(tc, test_help_agrees_with_man_page);
	tcase_add_test(tc, test_kv_commands);
	suite_add_tcase(s, tc);
	return s;
}
