/* SPDX-License-Identifier: ISC */
/*
 * serve.c: peerctl serve: runs a command for each call to a service and
 * answers with what it prints.  Owns the children, their pipes, and the
 * queue of calls waiting for a free slot.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"
#include "out.h"
#include "peer.h"
#include "serve.h"

#define SERVE_QUEUE_MAX	1024		/* calls waiting for a slot */
#define SERVE_ARG_MAX	131072		/* Linux's MAX_ARG_STRLEN, NUL included */
#define SERVE_READ	65536		/* bytes per pipe per wakeup */
/* The answer's map holds the result: one level of the daemon's limit. */
#define SERVE_DEPTH	(CBOR_SCAN_DEPTH - 1)

struct obuf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 over;		/* more came than was kept */
};

struct job {
	TAILQ_ENTRY(job)	 entry;
	uint64_t		 call;
	char			*method;
	char			*args;		/* JSON text */
	char			 from[32];	/* the caller's ID, shortened */
	int64_t			 deadline;	/* monotonic ms; 0: none */
	int64_t			 started;
	bool			 oneway;
	bool			 done;		/* answered, or must not be */
	bool			 killed;
	pid_t			 pid;		/* 0 until started */
	bool			 reaped;
	int			 status;	/* from waitpid, once reaped */
	int			 out, err;	/* read ends; -1 at EOF */
	int			 out_idx, err_idx; /* in the poll set */
	struct obuf		 obuf, ebuf;
};
TAILQ_HEAD(jobq, job);

struct serve {
	struct peer		*p;
	const struct serve_conf	*conf;
	struct jobq		 waiting, running;
	size_t			 nwaiting, nrunning;
	struct rlimit		 nofile;	/* as found, for the children */
};

static int	sigfd[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int		saved = errno;
	unsigned char	c = (unsigned char)sig;
	ssize_t		n;

	/* Full means a byte is already waiting: nothing is lost. */
	n = write(sigfd[1], &c, 1);
	(void)n;
	errno = saved;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 2, 3)))
vlog(const struct serve *s, const char *fmt, ...)
{
	va_list	ap;

	if (!s->conf->verbose)
		return;
	fprintf(stderr, "peerctl: serve %s: ", s->conf->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Whether path is an executable file: 0, or an errno value. */
static int
runnable(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) == -1 ? errno : 0;
}

int
serve_find_command(const char *cmd, char *why, size_t len)
{
	const char	*path, *dir, *end;
	char		 full[PATH_MAX];
	int		 e, first = ENOENT;

	if (*cmd == '\0') {
		snprintf(why, len, "empty command");
		return -1;
	}
	if (strchr(cmd, '/') != NULL) {
		if ((e = runnable(cmd)) == 0)
			return 0;
		snprintf(why, len, "%s: %s", cmd, e == ENOENT ?
		    "no such file" : e == EACCES ? "not an executable file" :
		    strerror(e));
		return -1;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/bin:/usr/bin";
	for (dir = path;; dir = end + 1) {
		if ((end = strchr(dir, ':')) == NULL)
			end = dir + strlen(dir);
		/* An empty entry is the current directory, as for execvp. */
		if (snprintf(full, sizeof(full), "%.*s%s%s", (int)(end - dir),
		    dir, end == dir ? "" : "/", cmd) < (int)sizeof(full)) {
			if ((e = runnable(full)) == 0)
				return 0;
			/* execvp reports a file found but not runnable. */
			if (e != ENOENT && e != ENOTDIR && first == ENOENT)
				first = e;
		}
		if (*end == '\0')
			break;
	}
	snprintf(why, len, "%s: %s", cmd, first == ENOENT ?
	    "command not found in PATH" : first == EACCES ?
	    "found in PATH, but not an executable file" : strerror(first));
	return -1;
}

void
serve_text(const char *s, size_t len, struct cbor_buf *b)
{
	size_t	off = b->len;

	/* cbor_scan_item checks text for UTF-8 as the daemon will. */
	cbor_put_textn(b, s, len);
	if (b->failed || cbor_scan_item(b->data + off, b->len - off) ==
	    b->len - off)
		return;
	b->len = off;
	cbor_put_bytes(b, s, len);
}

int
serve_result(const char *out, size_t len, struct cbor_buf *b)
{
	json_t	*j;
	size_t	 off = b->len;
	int	 rc;

	if (len == 0) {
		cbor_put_null(b);
		return 0;
	}
	if ((j = json_loadb(out, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL)) != NULL) {
		rc = json_to_cbor(j, SERVE_DEPTH, b);
		json_decref(j);
		if (rc == -1)
			b->len = off;
		return rc;
	}
	if (out[len - 1] == '\n')
		len--;
	serve_text(out, len, b);
	return 0;
}

static void
answer_error(struct serve *s, uint64_t call, enum peer_code code,
    const char *msg, const void *ctx, size_t ctxlen)
{
	struct peer_error	e;

	if (peer_answer_error(s->p, call, code, msg, ctx, ctxlen, &e) == -1)
		vlog(s, "call %" PRIu64 ": cannot answer: %s", call,
		    e.message);
}

/* Answers j with an error, unless it was answered or must not be. */
static void
job_error(struct serve *s, struct job *j, enum peer_code code,
    const char *msg, const void *ctx, size_t ctxlen)
{
	if (j->done)
		return;
	j->done = true;
	if (!j->oneway)
		answer_error(s, j->call, code, msg, ctx, ctxlen);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->out != -1)
		close(j->out);
	if (j->err != -1)
		close(j->err);
	free(j->method);
	free(j->args);
	free(j->obuf.data);
	free(j->ebuf.data);
	free(j);
}

/*
 * The process group, so that what the command started goes too.  Once
 * the child is reaped its group lives on in whatever holds the pipes
 * open, so its number is not reused: kill it all the same.
 */
static void
job_kill(struct job *j)
{
	if (j->pid > 0 && !j->killed)
		(void)kill(-j->pid, SIGKILL);
	j->killed = true;
	if (j->out != -1)
		close(j->out);
	if (j->err != -1)
		close(j->err);
	j->out = j->err = -1;
}

/* Makes fd number to, without close-on-exec, in the child. */
static int
move_fd(int fd, int to)
{
	if (fd == to)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, to) == -1 ? -1 : 0;
}

static void __attribute__((noreturn))
child_exec(const struct serve *s, char **argv, int out, int err,
    const sigset_t *mask)
{
	int	null;

	(void)setpgid(0, 0);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	(void)setrlimit(RLIMIT_NOFILE, &s->nofile);
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    move_fd(null, 0) == -1 || move_fd(out, 1) == -1 ||
	    move_fd(err, 2) == -1)
		_exit(127);
	execvp(argv[0], argv);
	dprintf(2, "peerctl serve: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void
job_start(struct serve *s, struct job *j)
{
	const struct serve_conf	*c = s->conf;
	sigset_t		 block, old;
	char			**argv, msg[256];
	int			 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int			 i;
	pid_t			 pid;

	if ((argv = calloc((size_t)c->argc + 3, sizeof(*argv))) == NULL) {
		job_error(s, j, PEER_RESOURCE_EXHAUSTED, "out of memory",
		    NULL, 0);
		return;
	}
	for (i = 0; i < c->argc; i++)
		argv[i] = c->argv[i];
	argv[i++] = j->method;
	argv[i] = j->args;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
		goto fail;
	}
	/* Until the child has reset its handlers, no signal may run them. */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((pid = fork()) == 0)
		child_exec(s, argv, out[1], err[1], &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
		goto fail;
	}
	/* Both sides set the group, so a kill right away finds it. */
	(void)setpgid(pid, pid);
	close(out[1]);
	close(err[1]);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(err[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->out = out[0];
	j->err = err[0];
	j->started = now_ms();
	free(argv);
	return;
fail:
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	free(argv);
	vlog(s, "call %" PRIu64 " %s: %s", j->call, j->method, msg);
	job_error(s, j, PEER_RESOURCE_EXHAUSTED, msg, NULL, 0);
}

/* Starts waiting calls while there are free slots. */
static void
serve_start(struct serve *s)
{
	struct job	*j;

	while (s->nrunning < (size_t)s->conf->jobs &&
	    (j = TAILQ_FIRST(&s->waiting)) != NULL) {
		TAILQ_REMOVE(&s->waiting, j, entry);
		s->nwaiting--;
		TAILQ_INSERT_TAIL(&s->running, j, entry);
		s->nrunning++;
		job_start(s, j);
		if (j->pid == 0)	/* did not start: already answered */
			j->reaped = true;
	}
}

static void
on_call(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct serve	*s = arg;
	struct job	*j = NULL;
	json_t		*args;
	char		 msg[128];
	size_t		 len;

	(void)p;
	if (s->nwaiting >= SERVE_QUEUE_MAX) {
		vlog(s, "call %" PRIu64 " %s: refused, %zu calls waiting",
		    inv->call, inv->method, s->nwaiting);
		if (!inv->oneway)
			answer_error(s, inv->call, PEER_RESOURCE_EXHAUSTED,
			    "too many calls waiting", NULL, 0);
		return;
	}
	/* It would be an option to most commands. */
	if (inv->method[0] == '-') {
		if (!inv->oneway)
			answer_error(s, inv->call, PEER_INVALID_ARGUMENT,
			    "a method may not begin with '-'", NULL, 0);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->method = strdup(inv->method)) == NULL)
		goto nomem;
	j->out = j->err = -1;
	j->call = inv->call;
	j->oneway = inv->oneway;
	snprintf(j->from, sizeof(j->from), "%.12s%s", inv->from,
	    peer_inv_verified(inv) ? "" : " (unverified)");
	if (inv->timeout_ms > 0)
		j->deadline = now_ms() + inv->timeout_ms;
	/* As JSON they would be no shorter: refuse before converting. */
	if (inv->args_len >= 2 * (size_t)SERVE_ARG_MAX) {
		if (!inv->oneway)
			answer_error(s, inv->call, PEER_RESOURCE_EXHAUSTED,
			    "arguments too large for a command line", NULL, 0);
		job_free(j);
		return;
	}
	if (inv->args == NULL)
		j->args = strdup("null");
	else if ((args = cbor_to_json(inv->args, inv->args_len)) != NULL) {
		j->args = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(args);
	} else {
		if (!inv->oneway)
			answer_error(s, inv->call, PEER_INVALID_ARGUMENT,
			    "arguments are not well-formed CBOR", NULL, 0);
		job_free(j);
		return;
	}
	if (j->args == NULL)
		goto nomem;
	if ((len = strlen(j->args)) >= SERVE_ARG_MAX) {
		snprintf(msg, sizeof(msg), "arguments of %zu bytes as JSON; a "
		    "command line argument takes at most %d", len,
		    SERVE_ARG_MAX - 1);
		if (!inv->oneway)
			answer_error(s, inv->call, PEER_RESOURCE_EXHAUSTED, msg,
			    NULL, 0);
		job_free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&s->waiting, j, entry);
	s->nwaiting++;
	serve_start(s);
	return;
nomem:
	job_free(j);
	if (!inv->oneway)
		answer_error(s, inv->call, PEER_RESOURCE_EXHAUSTED,
		    "out of memory", NULL, 0);
}

/*
 * A call that no longer wants an answer: its command is killed, or, if
 * it has not started, it leaves the queue.  Calls over or unknown here
 * are left alone.
 */
static void
on_cancel(struct peer *p, uint64_t call, const char *reason, void *arg)
{
	struct serve	*s = arg;
	struct job	*j;

	(void)p;
	TAILQ_FOREACH(j, &s->running, entry)
		if (j->call == call) {
			if (j->pid <= 0 || j->killed)
				return;
			vlog(s, "call %" PRIu64 " %s from %s: %s, killed after "
			    "%" PRId64 " ms", j->call, j->method, j->from,
			    reason, now_ms() - j->started);
			j->done = true;
			job_kill(j);
			return;
		}
	TAILQ_FOREACH(j, &s->waiting, entry)
		if (j->call == call) {
			vlog(s, "call %" PRIu64 " %s from %s: %s while "
			    "waiting", j->call, j->method, j->from, reason);
			TAILQ_REMOVE(&s->waiting, j, entry);
			s->nwaiting--;
			job_free(j);
			return;
		}
}

/* Reads what one pipe has; keeps up to max bytes of it. */
static void
job_read(int *fd, struct obuf *b, size_t max)
{
	static char	 buf[SERVE_READ];
	ssize_t		 n;
	size_t		 keep, cap;
	char		*p;

	if ((n = read(*fd, buf, sizeof(buf))) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	keep = (size_t)n;
	if (keep > max - b->len) {
		keep = max - b->len;
		b->over = true;
	}
	if (b->len + keep > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + keep)
			cap *= 2;
		cap = cap > max ? max : cap;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->over = true;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, keep);
	b->len += keep;
}

/* Reads what j's pipes have; too much output ends the call. */
static void
job_pipes(struct serve *s, struct job *j, const struct pollfd *pfd)
{
	char	msg[128];

	if (j->out_idx != -1 && pfd[j->out_idx].revents != 0)
		job_read(&j->out, &j->obuf, SERVE_OUT_MAX);
	if (j->err_idx != -1 && pfd[j->err_idx].revents != 0)
		job_read(&j->err, &j->ebuf, SERVE_ERR_MAX);
	if (!j->obuf.over || j->killed)
		return;
	snprintf(msg, sizeof(msg), "%s wrote more than %d bytes",
	    s->conf->argv[0], SERVE_OUT_MAX);
	vlog(s, "call %" PRIu64 " %s from %s: %s", j->call, j->method,
	    j->from, msg);
	job_error(s, j, PEER_RESOURCE_EXHAUSTED, msg, NULL, 0);
	job_kill(j);
}

static void
job_answer(struct serve *s, struct job *j)
{
	struct peer_error	 e;
	struct cbor_buf		 b = { 0 };
	char			 msg[640];
	const char		*cmd = s->conf->argv[0];
	int			 st = j->status;

	if (j->done || j->oneway)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (serve_result(j->obuf.data, j->obuf.len, &b) == -1) {
			snprintf(msg, sizeof(msg), "%s printed JSON that nests "
			    "more than %d arrays and objects", cmd,
			    SERVE_DEPTH);
			job_error(s, j, PEER_UNKNOWN, msg, NULL, 0);
		} else if (b.failed)
			job_error(s, j, PEER_RESOURCE_EXHAUSTED,
			    "out of memory", NULL, 0);
		else {
			j->done = true;
			if (peer_answer(s->p, j->call, b.data, b.len,
			    &e) == -1 && peer_fd(s->p) != -1) {
				/* Most likely too large: say so instead. */
				snprintf(msg, sizeof(msg), "cannot send the "
				    "result of %zu bytes: %s", b.len,
				    e.message);
				answer_error(s, j->call, e.code, msg, NULL, 0);
			}
		}
		cbor_buf_free(&b);
		return;
	}
	if (WIFEXITED(st))
		snprintf(msg, sizeof(msg), "%s exited with status %d", cmd,
		    WEXITSTATUS(st));
	else
		snprintf(msg, sizeof(msg), "%s killed by signal %d", cmd,
		    WTERMSIG(st));
	if (j->ebuf.len > 0 && j->ebuf.data[j->ebuf.len - 1] == '\n')
		j->ebuf.len--;
	if (j->ebuf.len > 0)
		serve_text(j->ebuf.data, j->ebuf.len, &b);
	if (b.failed)
		cbor_buf_free(&b);
	job_error(s, j, PEER_UNKNOWN, msg, b.data, b.len);
	cbor_buf_free(&b);
}

/* Ends j once its child is reaped and its pipes are at end of file. */
static void
job_finish(struct serve *s, struct job *j)
{
	int	st = j->status;

	if (j->pid > 0 && !j->killed) {
		if (WIFEXITED(st))
			vlog(s, "call %" PRIu64 " %s from %s: status %d, %zu "
			    "bytes out, %" PRId64 " ms", j->call, j->method,
			    j->from, WEXITSTATUS(st), j->obuf.len,
			    now_ms() - j->started);
		else
			vlog(s, "call %" PRIu64 " %s from %s: signal %d, %"
			    PRId64 " ms", j->call, j->method, j->from,
			    WTERMSIG(st), now_ms() - j->started);
		job_answer(s, j);
	}
	TAILQ_REMOVE(&s->running, j, entry);
	s->nrunning--;
	job_free(j);
}

static void
serve_reap(struct serve *s)
{
	struct job	*j;
	pid_t		 pid;
	int		 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		TAILQ_FOREACH(j, &s->running, entry)
			if (j->pid == pid) {
				j->reaped = true;
				j->status = st;
				break;
			}
}

/* Kills children past their deadline, drops waiting calls past theirs. */
static void
serve_expire(struct serve *s)
{
	struct job	*j, *next;
	int64_t		 now = now_ms();

	TAILQ_FOREACH(j, &s->running, entry)
		if (j->deadline != 0 && now >= j->deadline && !j->killed &&
		    j->pid > 0) {
			vlog(s, "call %" PRIu64 " %s from %s: killed at its "
			    "deadline after %" PRId64 " ms", j->call,
			    j->method, j->from, now - j->started);
			/* The caller already has DEADLINE_EXCEEDED. */
			j->done = true;
			job_kill(j);
		}
	for (j = TAILQ_FIRST(&s->waiting); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->deadline != 0 && now >= j->deadline) {
			vlog(s, "call %" PRIu64 " %s from %s: deadline passed "
			    "while waiting", j->call, j->method, j->from);
			TAILQ_REMOVE(&s->waiting, j, entry);
			s->nwaiting--;
			job_free(j);
		}
	}
}

/* Milliseconds until the next deadline or libpeer timer, or -1. */
static int
serve_timeout(const struct serve *s)
{
	const struct job	*j;
	const struct jobq	*q[2] = { &s->running, &s->waiting };
	int64_t			 min = -1, now = now_ms(), left;
	int			 i;

	for (i = 0; i < 2; i++)
		TAILQ_FOREACH(j, q[i], entry) {
			if (j->deadline == 0 || j->killed)
				continue;
			left = j->deadline > now ? j->deadline - now : 0;
			if (min == -1 || left < min)
				min = left;
		}
	if ((left = peer_timeout(s->p)) != -1 && (min == -1 || left < min))
		min = left;
	return min > INT32_MAX ? INT32_MAX : (int)min;
}

/*
 * Kills every child and ends every call: answered with why, or, if why
 * is NULL, not at all (the daemon has failed them).
 */
static void
serve_drop(struct serve *s, const char *why)
{
	struct job	*j;
	int		 st;

	while ((j = TAILQ_FIRST(&s->running)) != NULL) {
		job_kill(j);
		if (why != NULL)
			job_error(s, j, PEER_UNAVAILABLE, why, NULL, 0);
		/* After SIGKILL this does not wait long. */
		while (j->pid > 0 && !j->reaped &&
		    waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
			;
		TAILQ_REMOVE(&s->running, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&s->waiting)) != NULL) {
		if (why != NULL)
			job_error(s, j, PEER_UNAVAILABLE, why, NULL, 0);
		TAILQ_REMOVE(&s->waiting, j, entry);
		job_free(j);
	}
	s->nrunning = s->nwaiting = 0;
}

static int
serve_signals(void)
{
	struct sigaction	sa;

	if (sigfd[0] == -1 && pipe2(sigfd, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	/* A caller gone: libpeer sees EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Room for two pipes per child, keeping the old limit for the children. */
static void
serve_nofile(struct serve *s)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)s->conf->jobs * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &s->nofile) == -1)
		return;
	rl = s->nofile;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > need ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
serve_run(struct peer *p, const struct serve_conf *conf,
    struct peer_error *err)
{
	struct serve	 s;
	struct pollfd	*pfd;
	struct job	*j, *next;
	unsigned char	 sig[16];
	ssize_t		 n;
	size_t		 npfd, i;
	bool		 stop = false, up = true;
	int		 fd, peer_idx, rc = -1;

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.conf = conf;
	TAILQ_INIT(&s.waiting);
	TAILQ_INIT(&s.running);
	npfd = 2 + 2 * (size_t)conf->jobs;
	if ((pfd = calloc(npfd, sizeof(*pfd))) == NULL) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		err->code = PEER_RESOURCE_EXHAUSTED;
		return -1;
	}
	if (serve_signals() == -1) {
		snprintf(err->message, sizeof(err->message), "signals: %s",
		    strerror(errno));
		err->code = PEER_INTERNAL;
		free(pfd);
		return -1;
	}
	serve_nofile(&s);
	/* Before peer_serve: an invoke, and so a cancel, may come in it. */
	peer_on_cancel(p, on_cancel, &s);
	if (peer_serve(p, conf->name, conf->group, on_call, &s, err) == -1) {
		peer_on_cancel(p, NULL, NULL);
		free(pfd);
		return -1;
	}
	peer_set_reconnect(p, true);
	vlog(&s, "serving%s%s with %d job%s", conf->group ? " in group " : "",
	    conf->group ? conf->group : "", conf->jobs,
	    conf->jobs == 1 ? "" : "s");
	while (!stop) {
		i = 0;
		pfd[i].fd = sigfd[0];
		pfd[i++].events = POLLIN;
		peer_idx = -1;
		if ((fd = peer_fd(p)) != -1) {
			peer_idx = (int)i;
			pfd[i].fd = fd;
			pfd[i++].events = POLLIN;
		}
		TAILQ_FOREACH(j, &s.running, entry) {
			j->out_idx = j->err_idx = -1;
			if (j->out != -1) {
				j->out_idx = (int)i;
				pfd[i].fd = j->out;
				pfd[i++].events = POLLIN;
			}
			if (j->err != -1) {
				j->err_idx = (int)i;
				pfd[i].fd = j->err;
				pfd[i++].events = POLLIN;
			}
		}
		if (poll(pfd, i, serve_timeout(&s)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err->message, sizeof(err->message),
			    "poll: %s", strerror(errno));
			err->code = PEER_INTERNAL;
			goto done;
		}
		if (pfd[0].revents != 0)
			while ((n = read(sigfd[0], sig, sizeof(sig))) > 0)
				while (n-- > 0)
					if (sig[n] == SIGTERM ||
					    sig[n] == SIGINT)
						stop = true;
		if (stop)
			break;
		serve_reap(&s);
		TAILQ_FOREACH(j, &s.running, entry)
			job_pipes(&s, j, pfd);
		serve_expire(&s);
		for (j = TAILQ_FIRST(&s.running); j != NULL; j = next) {
			next = TAILQ_NEXT(j, entry);
			if (j->reaped && j->out == -1 && j->err == -1)
				job_finish(&s, j);
		}
		serve_start(&s);
		if ((peer_idx != -1 && pfd[peer_idx].revents != 0) ||
		    peer_timeout(p) == 0)
			/* Reconnecting is on: this fails only in callbacks. */
			(void)peer_dispatch(p, NULL);
		if (up && peer_fd(p) == -1) {
			out_errx(PEER_UNAVAILABLE, "serve %s: connection to "
			    "peerd lost; reconnecting", conf->name);
			/*
			 * The daemon failed these calls; after a restart
			 * it numbers calls anew, so late answers could
			 * reach the wrong ones.
			 */
			serve_drop(&s, NULL);
		} else if (!up && peer_fd(p) != -1 && !out_json())
			fprintf(stderr, "peerctl: serve %s: reconnected\n",
			    conf->name);
		up = peer_fd(p) != -1;
	}
	rc = 0;
done:
	serve_drop(&s, "the service is stopping");
	free(pfd);
	return rc;
}
