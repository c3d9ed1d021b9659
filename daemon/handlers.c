/* SPDX-License-Identifier: ISC */
/*
 * handlers.c: event handlers.  Owns the handlers' commands as parsed,
 * the runs waiting for a place and those under way: their processes
 * (each the leader of its own process group), the pipes of their stdin
 * and of their output, and their deadlines.  Children are reaped on
 * SIGCHLD, by pid; their output is logged line by line with the
 * handler's name.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "ratelog.h"

#define PATH_DEFAULT	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"
#define LINE_MAX_OUT	512	/* bytes of one logged line of output */
#define LINES_MAX	100	/* lines of output logged per run */
#define DRAIN_MAX	64	/* reads of output after the exit */
#define ENV_MAX		24	/* variables of a run */
#define FAIL_LOG_MS	1000	/* one failure line per handler this often */
#define DROP_LOG_MS	5000

/* The daemon's variables that a handler inherits, if set. */
static const char *const env_kept[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
};

struct handler {
	int		 refs;		/* the list's, and each run's */
	uint32_t	 events;	/* 1 << enum change_kind */
	char		*name;		/* the program's base name, for logs */
	char		*path;		/* the program found */
	char		**argv;		/* as written; one allocation */
	struct ratelog	 faillog;
};

struct handler_list {
	struct handler	**h;
	size_t		  n;
};

struct job {
	TAILQ_ENTRY(job)	 entry;
	struct handlers		*hs;
	struct handler		*h;
	const char		*event;		/* its kind's name */
	char			*env[ENV_MAX + 1];
	char			*input;		/* the JSON object, a line */
	size_t			 inlen, inoff;
	pid_t			 pid;
	int64_t			 started_ms;
	uint64_t		 timeout_ms;
	int			 in_fd, out_fd;
	struct event		*in_ev, *out_ev, *timer;
	bool			 termed;	/* SIGTERM sent: timed out */
	bool			 killed;	/* SIGKILL too */
	char			 line[LINE_MAX_OUT];
	size_t			 linelen;
	unsigned		 lines, unlogged;
};

TAILQ_HEAD(jobq, job);

struct handlers {
	struct event_base	*base;
	struct handler_list	*list;
	char			*self_id, *self_name, *socket;
	uint64_t		 jobs, timeout_ms, kill_after_ms;
	size_t			 queue_max;
	struct jobq		 waiting, running;
	size_t			 nwaiting, nrunning;
	struct event		*sigchld;
	struct ratelog		 droplog;
	struct handlers_stats	 st;
};

static void	job_free(struct job *);
static void	start_waiting(struct handlers *);

int
handler_events_parse(const char *s, uint32_t *mask, char *err,
    size_t errlen)
{
	const char	*p = s, *e;
	char		 word[32];
	size_t		 n;
	int		 k;

	*mask = 0;
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n >= sizeof(word)) {
			snprintf(err, errlen, "\"%s\": expected event names "
			    "separated by commas", s);
			return -1;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		if (strcmp(word, "*") == 0)
			*mask |= (1u << CHANGE_KINDS) - 1;
		else if (strcmp(word, "member-*") == 0)
			*mask |= (1u << CHANGE_JOIN) | (1u << CHANGE_ALIVE) |
			    (1u << CHANGE_SUSPECT) | (1u << CHANGE_DEAD) |
			    (1u << CHANGE_LEFT) | (1u << CHANGE_FORGOTTEN) |
			    (1u << CHANGE_UPDATE);
		else if (strcmp(word, "service-*") == 0)
			*mask |= (1u << CHANGE_REGISTERED) |
			    (1u << CHANGE_WITHDRAWN);
		else if ((k = change_kind_parse(word)) != -1)
			*mask |= 1u << k;
		else {
			snprintf(err, errlen, "no such event \"%s\" (member-join, "
			    "member-alive, member-suspect, member-dead, "
			    "member-left, member-forgotten, member-update, "
			    "service-registered, service-withdrawn, member-*, "
			    "service-* or *)", word);
			return -1;
		}
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

int
handler_split(const char *s, char ***argvp, int *argcp, char *err,
    size_t errlen)
{
	const char	*p;
	char		**argv, *o, *start = NULL, quote = '\0';
	int		  argc = 0;

	/* Arguments take no more than the text: each NUL ends a blank. */
	if ((argv = malloc((HANDLER_ARGS_MAX + 1) * sizeof(*argv) +
	    strlen(s) + 1)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	o = (char *)(argv + HANDLER_ARGS_MAX + 1);
	for (p = s;; p++) {
		if (quote != '\0' && *p == '\0') {
			snprintf(err, errlen, "no closing %c quote", quote);
			goto fail;
		}
		if (quote == '\'') {
			if (*p == '\'')
				quote = '\0';
			else
				*o++ = *p;
			continue;
		}
		if (quote == '"') {
			if (*p == '"')
				quote = '\0';
			else if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				*o++ = *++p;
			else
				*o++ = *p;
			continue;
		}
		if (*p == '\0' || *p == ' ' || *p == '\t') {
			if (start != NULL) {
				if (argc == HANDLER_ARGS_MAX) {
					snprintf(err, errlen, "more than %d "
					    "arguments", HANDLER_ARGS_MAX - 1);
					goto fail;
				}
				*o++ = '\0';
				argv[argc++] = start;
				start = NULL;
			}
			if (*p == '\0')
				break;
			continue;
		}
		if (start == NULL)
			start = o;
		if (*p == '\'' || *p == '"')
			quote = *p;
		else if (*p == '\\') {
			if (p[1] == '\0') {
				snprintf(err, errlen, "a backslash at the end");
				goto fail;
			}
			*o++ = *++p;
		} else
			*o++ = *p;
	}
	if (argc == 0) {
		snprintf(err, errlen, "no command");
		goto fail;
	}
	argv[argc] = NULL;
	*argvp = argv;
	*argcp = argc;
	return 0;
fail:
	free(argv);
	return -1;
}

/* Whether path is an executable regular file; -1 with err if not. */
static int
check_program(const char *path, char *err, size_t errlen)
{
	struct stat	sb;

	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (access(path, X_OK) == -1) {
		snprintf(err, errlen, "%s: not executable: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The program to run for prog: itself if absolute, else the first
 * executable of that name in PATH's absolute directories.  Malloc'd;
 * NULL with err.
 */
static char *
find_program(const char *prog, char *err, size_t errlen)
{
	const char	*dirs = getenv("PATH"), *p, *e;
	char		*path;
	size_t		 n;

	if (strchr(prog, '/') != NULL) {
		if (prog[0] != '/') {
			snprintf(err, errlen, "%s: a program named with a '/' "
			    "must be an absolute path", prog);
			return NULL;
		}
		if (check_program(prog, err, errlen) == -1)
			return NULL;
		if ((path = strdup(prog)) == NULL)
			snprintf(err, errlen, "%s", strerror(errno));
		return path;
	}
	if (dirs == NULL)
		dirs = PATH_DEFAULT;
	for (p = dirs; *p != '\0'; p = *e == ':' ? e + 1 : e) {
		e = strchrnul(p, ':');
		n = (size_t)(e - p);
		/* "" and relative directories depend on where we run. */
		if (n == 0 || *p != '/')
			continue;
		if (asprintf(&path, "%.*s/%s", (int)n, p, prog) == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			return NULL;
		}
		if (access(path, X_OK) == 0 &&
		    check_program(path, err, errlen) == 0)
			return path;
		free(path);
	}
	snprintf(err, errlen, "%s: not found in PATH (%s)", prog, dirs);
	return NULL;
}

static void
handler_unref(struct handler *h)
{
	if (h == NULL || --h->refs > 0)
		return;
	free(h->name);
	free(h->path);
	free(h->argv);
	free(h);
}

/* One "EVENTS COMMAND" line; NULL with err (without position). */
static struct handler *
handler_parse(const char *text, char *err, size_t errlen)
{
	struct handler	*h;
	const char	*cmd, *base;
	char		 events[256];
	size_t		 n;
	int		 argc;

	n = strcspn(text, " \t");
	cmd = text + n + strspn(text + n, " \t");
	if (*cmd == '\0') {
		snprintf(err, errlen, "expected EVENTS COMMAND");
		return NULL;
	}
	if (n >= sizeof(events)) {
		snprintf(err, errlen, "events longer than %zu bytes",
		    sizeof(events) - 1);
		return NULL;
	}
	memcpy(events, text, n);
	events[n] = '\0';
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	h->refs = 1;
	if (handler_events_parse(events, &h->events, err, errlen) == -1 ||
	    handler_split(cmd, &h->argv, &argc, err, errlen) == -1 ||
	    (h->path = find_program(h->argv[0], err, errlen)) == NULL)
		goto fail;
	base = strrchr(h->path, '/') + 1;
	if ((h->name = strdup(base)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	handler_unref(h);
	return NULL;
}

struct handler_list *
handler_list_parse(const struct config *c, char *err, size_t errlen)
{
	struct handler_list		*l;
	const struct config_handler	*ch;
	char				 why[512];
	int				 i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (c->nhandlers > 0 && (l->h = calloc((size_t)c->nhandlers,
	    sizeof(*l->h))) == NULL)) {
		free(l);
		snprintf(err, errlen, "handler: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < c->nhandlers; i++) {
		ch = &c->handlers[i];
		if ((l->h[l->n] = handler_parse(ch->text, why,
		    sizeof(why))) == NULL) {
			if (ch->file != NULL)
				snprintf(err, errlen, "%s:%d: handler: %s",
				    ch->file, ch->line, why);
			else
				snprintf(err, errlen, "handler: %s", why);
			handler_list_free(l);
			return NULL;
		}
		l->n++;
	}
	return l;
}

void
handler_list_free(struct handler_list *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		handler_unref(l->h[i]);
	free(l->h);
	free(l);
}

size_t
handler_list_count(const struct handler_list *l)
{
	return l->n;
}

/* Text for JSON: quotes, backslashes and control characters escaped. */
static void
json_text(FILE *f, const char *s)
{
	const unsigned char	*p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The change as one JSON object on one line; -1 if out of memory. */
static int
job_input(struct job *j, const struct change *c)
{
	struct handlers	*hs = j->hs;
	FILE		*f;

	if ((f = open_memstream(&j->input, &j->inlen)) == NULL)
		return -1;
	fputs("{\"event\":", f);
	json_text(f, j->event);
	fputs(",\"node_id\":", f);
	json_text(f, c->idstr);
	fputs(",\"node_name\":", f);
	json_text(f, c->name);
	fprintf(f, ",\"incarnation\":%" PRIu64, c->incarnation);
	if (c->why != NULL) {
		fputs(",\"why\":", f);
		json_text(f, c->why);
	}
	if (c->service != NULL) {
		fputs(",\"service\":", f);
		json_text(f, c->service);
		fputs(",\"group\":", f);
		json_text(f, c->group != NULL ? c->group : "");
	}
	fputs(",\"self_id\":", f);
	json_text(f, hs->self_id);
	fputs(",\"self_name\":", f);
	json_text(f, hs->self_name);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(j->input);
		j->input = NULL;
		return -1;
	}
	return 0;
}

/* The handler's environment: the change, and what it inherits. */
static int
job_env(struct job *j, const struct change *c)
{
	struct handlers	*hs = j->hs;
	const char	*v;
	size_t		 i;
	int		 n = 0;

#define ENV(...)							\
	do {								\
		if (n == ENV_MAX ||					\
		    asprintf(&j->env[n], __VA_ARGS__) == -1) {		\
			j->env[n] = NULL;				\
			return -1;					\
		}							\
		n++;							\
	} while (0)
	ENV("PEERD_EVENT=%s", j->event);
	ENV("PEERD_NODE_ID=%s", c->idstr);
	ENV("PEERD_NODE_NAME=%s", c->name);
	ENV("PEERD_INCARNATION=%" PRIu64, c->incarnation);
	ENV("PEERD_WHY=%s", c->why != NULL ? c->why : "");
	ENV("PEERD_SERVICE=%s", c->service != NULL ? c->service : "");
	ENV("PEERD_GROUP=%s", c->group != NULL ? c->group : "");
	ENV("PEERD_SELF_ID=%s", hs->self_id);
	ENV("PEERD_SELF_NAME=%s", hs->self_name);
	ENV("PEERD_SOCKET=%s", hs->socket);
	for (i = 0; i < sizeof(env_kept) / sizeof(env_kept[0]); i++) {
		if ((v = getenv(env_kept[i])) != NULL)
			ENV("%s=%s", env_kept[i], v);
		else if (strcmp(env_kept[i], "PATH") == 0)
			ENV("PATH=%s", PATH_DEFAULT);
	}
#undef ENV
	return 0;
}

static struct job *
job_new(struct handlers *hs, struct handler *h, const struct change *c)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->hs = hs;
	j->h = h;
	h->refs++;
	j->event = change_kind_name(c->kind);
	j->pid = -1;
	j->in_fd = j->out_fd = -1;
	if (job_env(j, c) == -1 || job_input(j, c) == -1) {
		job_free(j);
		return NULL;
	}
	return j;
}

static void
job_close_input(struct job *j)
{
	if (j->in_ev != NULL)
		event_free(j->in_ev);
	j->in_ev = NULL;
	if (j->in_fd != -1)
		close(j->in_fd);
	j->in_fd = -1;
}

static void
job_close_output(struct job *j)
{
	if (j->out_ev != NULL)
		event_free(j->out_ev);
	j->out_ev = NULL;
	if (j->out_fd != -1)
		close(j->out_fd);
	j->out_fd = -1;
}

static void
job_free(struct job *j)
{
	size_t	i;

	if (j == NULL)
		return;
	job_close_input(j);
	job_close_output(j);
	if (j->timer != NULL)
		event_free(j->timer);
	for (i = 0; i < ENV_MAX && j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j->input);
	handler_unref(j->h);
	free(j);
}

/* Writes what the pipe takes of the JSON; closes stdin once done. */
static void
job_write(struct job *j)
{
	ssize_t	n;

	while (j->inoff < j->inlen) {
		n = write(j->in_fd, j->input + j->inoff, j->inlen - j->inoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (event_add(j->in_ev, NULL) == 0)
				return;
			break;
		}
		/* A handler need not read its stdin (EPIPE). */
		if (n == -1)
			break;
		j->inoff += (size_t)n;
	}
	job_close_input(j);
}

static void
on_input(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	job_write(arg);
}

/* Logs the line of output held, if any, as one line. */
static void
job_flush_line(struct job *j)
{
	char	esc[LINE_MAX_OUT * 4 + 1];

	if (j->linelen == 0)
		return;
	if (j->lines < LINES_MAX) {
		log_info("handler %s (%s): %s", j->h->name, j->event,
		    log_escape(j->line, j->linelen, esc, sizeof(esc)));
		j->lines++;
	} else
		j->unlogged++;
	j->linelen = 0;
}

/*
 * Reads once from the output pipe: 1 if it read, 0 if nothing is there
 * now, -1 at its end or on an error (then closed).
 */
static int
job_read(struct job *j)
{
	char	buf[4096];
	ssize_t	n, i;

	n = read(j->out_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		job_flush_line(j);
		job_close_output(j);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			job_flush_line(j);
			continue;
		}
		j->line[j->linelen++] = buf[i];
		if (j->linelen == sizeof(j->line))
			job_flush_line(j);
	}
	return 1;
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	(void)job_read(arg);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;
	struct timeval	 tv;

	(void)fd; (void)what;
	if (!j->termed) {
		j->termed = true;
		(void)kill(-j->pid, SIGTERM);
		tv.tv_sec = (time_t)(j->hs->kill_after_ms / 1000);
		tv.tv_usec = (suseconds_t)(j->hs->kill_after_ms % 1000) * 1000;
		(void)event_add(j->timer, &tv);
	} else if (!j->killed) {
		j->killed = true;
		(void)kill(-j->pid, SIGKILL);
	}
}

/* How a run ended, for the log. */
static void
describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with wait status %d", status);
}

/* One failure line a second per handler, saying how many were held. */
static void
job_failed(struct job *j, const char *what)
{
	unsigned	skipped;

	j->hs->st.failed++;
	if (!ratelog_ok(&j->h->faillog, FAIL_LOG_MS, &skipped))
		return;
	if (skipped > 0)
		log_warnx("handler %s (%s): %s (and %u more failures)",
		    j->h->name, j->event, what, skipped);
	else
		log_warnx("handler %s (%s): %s", j->h->name, j->event, what);
}

static void
job_exited(struct job *j, int status)
{
	struct handlers	*hs = j->hs;
	char		 how[128], what[256];
	int		 i;

	/*
	 * What it wrote before it exited is in the pipe; what a process it
	 * left behind writes later is not logged.
	 */
	for (i = 0; i < DRAIN_MAX && job_read(j) == 1; i++)
		;
	job_flush_line(j);
	job_close_output(j);
	if (j->unlogged > 0)
		log_info("handler %s (%s): %u more lines of output not logged",
		    j->h->name, j->event, j->unlogged);
	describe_status(status, how, sizeof(how));
	if (j->termed) {
		hs->st.timed_out++;
		snprintf(what, sizeof(what), "timed out after %" PRIu64
		    " ms, %s", j->timeout_ms, how);
		job_failed(j, what);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		job_failed(j, how);
	else
		log_debug("handler %s (%s): done in %" PRId64 " ms",
		    j->h->name, j->event, clock_ms() - j->started_ms);
	TAILQ_REMOVE(&hs->running, j, entry);
	hs->nrunning--;
	job_free(j);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct handlers	*hs = arg;
	struct job	*j, *next;
	pid_t		 pid;
	int		 status;

	(void)sig; (void)what;
	for (j = TAILQ_FIRST(&hs->running); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		while ((pid = waitpid(j->pid, &status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (pid == j->pid)
			job_exited(j, status);
	}
	start_waiting(hs);
}

/* A pipe whose ends are not 0-2, which the child's dup2s would overlap. */
static int
pipe_high(int p[2])
{
	int	i, fd;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (p[i] > STDERR_FILENO)
			continue;
		if ((fd = fcntl(p[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) ==
		    -1) {
			close(p[0]);
			close(p[1]);
			p[0] = p[1] = -1;
			return -1;
		}
		close(p[i]);
		p[i] = fd;
	}
	return 0;
}

/*
 * Starts j: its own process group, signals at their defaults (but
 * glibc's own two, which its posix_spawn leaves ignored) and none
 * blocked, the pipes as 0-2 and no other descriptor.  -1 if it could
 * not run (said in the log).
 */
static int
job_spawn(struct job *j)
{
	struct handlers			*hs = j->hs;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 sa;
	sigset_t			 all, none;
	struct timeval			 tv;
	int				 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int				 rc;
	char				 what[256];

	if (pipe_high(in) == -1 || pipe_high(out) == -1) {
		rc = errno;
		goto fail;
	}
	sigfillset(&all);
	sigemptyset(&none);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	if ((rc = posix_spawnattr_init(&sa)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0],
	    STDIN_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1],
	    STDOUT_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1],
	    STDERR_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa,
	    STDERR_FILENO + 1)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&sa, &all)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&sa, &none)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&sa, 0)) == 0 &&
	    (rc = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) == 0)
		rc = posix_spawn(&j->pid, j->h->path, &fa, &sa, j->h->argv,
		    j->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	if (rc != 0)
		goto fail;
	close(in[0]);
	close(out[1]);
	j->in_fd = in[1];
	j->out_fd = out[0];
	j->started_ms = clock_ms();
	j->timeout_ms = hs->timeout_ms;
	hs->st.runs++;
	TAILQ_INSERT_TAIL(&hs->running, j, entry);
	hs->nrunning++;
	/* From here the child is ours: reaped on SIGCHLD, whatever fails. */
	if (fcntl(j->in_fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(j->out_fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (j->in_ev = event_new(hs->base, j->in_fd, EV_WRITE, on_input,
	    j)) == NULL ||
	    (j->out_ev = event_new(hs->base, j->out_fd, EV_READ | EV_PERSIST,
	    on_output, j)) == NULL ||
	    event_add(j->out_ev, NULL) == -1 ||
	    (j->timer = evtimer_new(hs->base, on_timer, j)) == NULL) {
		log_warnx("handler %s (%s): out of memory; killing it",
		    j->h->name, j->event);
		job_close_input(j);
		job_close_output(j);
		(void)kill(-j->pid, SIGKILL);
		return 0;
	}
	tv.tv_sec = (time_t)(hs->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(hs->timeout_ms % 1000) * 1000;
	(void)event_add(j->timer, &tv);
	job_write(j);
	return 0;
fail:
	if (in[0] != -1) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	hs->st.runs++;
	snprintf(what, sizeof(what), "cannot run %s: %s", j->h->path,
	    strerror(rc));
	job_failed(j, what);
	return -1;
}

/* Starts waiting runs while there is room. */
static void
start_waiting(struct handlers *hs)
{
	struct job	*j;

	while (hs->nrunning < hs->jobs &&
	    (j = TAILQ_FIRST(&hs->waiting)) != NULL) {
		TAILQ_REMOVE(&hs->waiting, j, entry);
		hs->nwaiting--;
		if (job_spawn(j) == -1)
			job_free(j);
	}
}

struct handlers *
handlers_new(struct event_base *base, const struct handlers_params *p,
    struct handler_list *list)
{
	struct handlers	*hs;

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		goto fail;
	hs->base = base;
	hs->list = list;
	hs->jobs = p->jobs;
	hs->timeout_ms = p->timeout_ms;
	hs->kill_after_ms = p->kill_after_ms;
	hs->queue_max = p->queue_max > 0 ? p->queue_max : HANDLERS_QUEUE_MAX;
	TAILQ_INIT(&hs->waiting);
	TAILQ_INIT(&hs->running);
	if ((hs->self_id = strdup(p->self_id)) == NULL ||
	    (hs->self_name = strdup(p->self_name)) == NULL ||
	    (hs->socket = strdup(p->socket)) == NULL ||
	    (hs->sigchld = evsignal_new(base, SIGCHLD, on_sigchld,
	    hs)) == NULL || event_add(hs->sigchld, NULL) == -1) {
		handlers_free(hs);
		return NULL;
	}
	return hs;
fail:
	handler_list_free(list);
	return NULL;
}

void
handlers_set(struct handlers *hs, struct handler_list *list, uint64_t jobs,
    uint64_t timeout_ms)
{
	handler_list_free(hs->list);
	hs->list = list;
	hs->jobs = jobs;
	hs->timeout_ms = timeout_ms;
	start_waiting(hs);
}

/* Queues a run of h for c, making room by dropping the oldest waiting. */
static void
enqueue(struct handlers *hs, struct handler *h, const struct change *c)
{
	struct job	*j, *old;
	unsigned	 skipped;

	if ((j = job_new(hs, h, c)) == NULL) {
		log_warnx("handler %s (%s): out of memory", h->name,
		    change_kind_name(c->kind));
		hs->st.dropped++;
		return;
	}
	if (hs->nwaiting >= hs->queue_max) {
		old = TAILQ_FIRST(&hs->waiting);
		TAILQ_REMOVE(&hs->waiting, old, entry);
		hs->nwaiting--;
		hs->st.dropped++;
		if (ratelog_ok(&hs->droplog, DROP_LOG_MS, &skipped))
			log_warnx("handlers: %zu runs waiting; dropped the "
			    "oldest, of %s (%s), %" PRIu64 " dropped in all",
			    hs->queue_max, old->h->name, old->event,
			    hs->st.dropped);
		job_free(old);
	}
	TAILQ_INSERT_TAIL(&hs->waiting, j, entry);
	hs->nwaiting++;
}

void
handlers_change(struct handlers *hs, const struct change *c)
{
	size_t	i;

	if (hs == NULL || hs->list == NULL)
		return;
	for (i = 0; i < hs->list->n; i++)
		if (hs->list->h[i]->events & (1u << c->kind))
			enqueue(hs, hs->list->h[i], c);
	start_waiting(hs);
}

void
handlers_stats(const struct handlers *hs, struct handlers_stats *st)
{
	if (hs == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = hs->st;
	st->running = hs->nrunning;
	st->waiting = hs->nwaiting;
}

void
handlers_free(struct handlers *hs)
{
	struct job	*j;

	if (hs == NULL)
		return;
	if (hs->nrunning > 0)
		log_info("handlers: %zu still running, sent SIGTERM",
		    hs->nrunning);
	while ((j = TAILQ_FIRST(&hs->running)) != NULL) {
		TAILQ_REMOVE(&hs->running, j, entry);
		(void)kill(-j->pid, SIGTERM);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&hs->waiting)) != NULL) {
		TAILQ_REMOVE(&hs->waiting, j, entry);
		job_free(j);
	}
	if (hs->sigchld != NULL)
		event_free(hs->sigchld);
	handler_list_free(hs->list);
	free(hs->self_id);
	free(hs->self_name);
	free(hs->socket);
	free(hs);
}
