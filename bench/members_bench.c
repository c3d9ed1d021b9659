/* SPDX-License-Identifier: ISC */
/*
 * members_bench: what membership costs as the mesh grows.  N real
 * peerd processes run on 127.0.0.1, each bootstrapped to one random
 * earlier daemon, on the default timings with discovery off.  For
 * N = 50 and 100 it measures:
 *
 * - convergence: from the start of the last daemon until every daemon
 *   lists all N as alive;
 * - detection: from a kill -9 of one daemon (not the first) until every
 *   other daemon lists it as dead;
 * - the resident memory (VmRSS) of each daemon once converged;
 * - the CPU (utime + stime) each daemon uses over an idle window once
 *   converged, as a share of one core.
 *
 * A single daemon with nothing to link to is measured the same way in
 * the same run, so the cost of membership shows as a difference and a
 * ratio.  The daemons are asked through their control sockets, one
 * libpeer connection each, every 20 ms while something is awaited and
 * never during the idle window.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbor_scan.h"
#include "peer.h"

#include "bench_common.h"

#define POLL_MS		20	/* between rounds of questions */
#define CONVERGE_SECS	60	/* deadline for convergence */
#define DETECT_SECS	30	/* deadline for detection */
#define START_SECS	5	/* for one daemon to answer at start */
#define SETTLE_SECS	5	/* after convergence, before the window */
#define IDLE_SECS	30	/* default idle window */
#define REQUEST_MS	2000	/* timeout of one members request */
#define N_MAX		1000
#define FIELDS_MAX	32	/* of a reply map or a member map */

#define GOAL_CONVERGE_MS 3000	/* at N = 100 */
#define GOAL_DETECT_MS	3000
#define GOAL_RSS_KIB	4096
#define GOAL_CPU_PCT	0.2

struct node {
	pid_t		 pid;		/* -1 once reaped */
	struct peer	*p;		/* control connection */
	char		 dir[96];
	char		 state[112];
	char		 sock[112];
	char		 log[112];
	char		 id[64];	/* node ID, base32 */
	int		 port;		/* mesh listener */
	/* The answer to the last members request. */
	bool		 pending;
	bool		 ok;		/* it shows what is awaited */
	double		 answered;	/* when, on the monotonic clock */
	int		 alive;		/* members it lists as alive */
	char		 seen[16];	/* the state it gives the victim */
	char		 why[600];	/* a failed request */
	/* Measured over the idle window. */
	long long	 ticks0, ticks1;
};

struct group {
	struct node	*node;
	int		 n;
	char		 dir[80];
	uint8_t		 key[32];	/* network key, shared by the group */
	struct pollfd	*pfd;
	int		*pidx;
};

/* What a round of questions waits for. */
struct watch {
	int		 alive;		/* every daemon lists this many alive */
	const char	*victim;	/* or: every daemon lists it as dead */
};

struct row {
	int		 n;
	long		 converge_ms;	/* -1: timeout, -2: not measured */
	long		 detect_ms;
	long		 rss_min, rss_med, rss_max;
	long		 anon_med;	/* RssAnon */
	double		 cpu_mean, cpu_max;	/* % of one core */
};

static struct group	*live;		/* the group cleanup() stops */
static struct watch	 watch;
static pid_t		 self;
static double		 idle_secs = IDLE_SECS;
static bool		 verbose;

static void
usage(void)
{
	fprintf(stderr, "usage: members_bench [-v] [-i seconds] "
	    "[-n daemons]\n");
	exit(2);
}

/* Sleeps until t on the monotonic clock; a signal ends the run. */
static void
sleep_until(double t)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
	    NULL) == EINTR)
		bench_check_quit();
	bench_check_quit();
}

static void
progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
progress(const char *fmt, ...)
{
	va_list	ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	printf("  ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/*
 * Stops every daemon of g: SIGTERM to all, SIGKILL to any still there
 * after BENCH_STOP_SECS; then removes their directories.
 */
static void
group_stop(struct group *g)
{
	struct node	*nd;
	double		 end;
	int		 i, left;

	for (i = 0; i < g->n; i++) {
		nd = &g->node[i];
		peer_close(nd->p);
		nd->p = NULL;
		if (nd->pid > 0)
			kill(nd->pid, SIGTERM);
	}
	end = bench_now() + BENCH_STOP_SECS;
	do {
		for (i = left = 0; i < g->n; i++) {
			nd = &g->node[i];
			if (nd->pid > 0 && waitpid(nd->pid, NULL, WNOHANG) != 0)
				nd->pid = -1;
			if (nd->pid > 0)
				left++;
		}
		if (left > 0)
			usleep(10000);
	} while (left > 0 && bench_now() < end);
	if (left > 0)
		warnx("%d of %d daemons still ran %d s after SIGTERM; killed",
		    left, g->n, BENCH_STOP_SECS);
	for (i = 0; i < g->n; i++) {
		nd = &g->node[i];
		if (nd->pid > 0) {
			kill(nd->pid, SIGKILL);
			waitpid(nd->pid, NULL, 0);
			nd->pid = -1;
		}
	}
	bench_rm_tree(g->dir);
	free(g->node);
	free(g->pfd);
	free(g->pidx);
	memset(g, 0, sizeof(*g));
	if (live == g)
		live = NULL;
}

/*
 * At exit, on success or failure: no daemon is left.  It runs before
 * the cleanup of bench_setup(), which removes bench_dir.
 */
static void
cleanup(void)
{
	if (getpid() != self)
		return;
	if (live != NULL)
		group_stop(live);
}

/* A daemon that should be running has gone: says so and ends the run. */
static void
node_lost(const struct node *nd, const char *what)
{
	int	status = 0;

	bench_check_quit();
	usleep(100000);
	if (nd->pid > 0 && waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
		bench_show_log(nd->log);
		if (WIFSIGNALED(status))
			errx(1, "%s: peerd pid %d was killed by signal %d",
			    nd->dir, (int)nd->pid, WTERMSIG(status));
		errx(1, "%s: peerd pid %d exited with status %d", nd->dir,
		    (int)nd->pid, WEXITSTATUS(status));
	}
	errx(1, "%s: %s", nd->dir, what);
}

static void
group_init(struct group *g, int n)
{
	struct node	*nd;
	int		 i;

	memset(g, 0, sizeof(*g));
	if ((g->node = calloc((size_t)n, sizeof(*g->node))) == NULL ||
	    (g->pfd = calloc((size_t)n, sizeof(*g->pfd))) == NULL ||
	    (g->pidx = calloc((size_t)n, sizeof(*g->pidx))) == NULL)
		err(1, "out of memory");
	g->n = n;
	live = g;
	snprintf(g->dir, sizeof(g->dir), "%s/%d", bench_dir, n);
	if (mkdir(g->dir, 0700) == -1)
		err(1, "%s", g->dir);
	if (getrandom(g->key, sizeof(g->key), 0) != sizeof(g->key))
		err(1, "getrandom");
	for (i = 0; i < n; i++) {
		nd = &g->node[i];
		nd->pid = -1;
		snprintf(nd->dir, sizeof(nd->dir), "%s/%03d", g->dir, i);
		snprintf(nd->state, sizeof(nd->state), "%s/state", nd->dir);
		snprintf(nd->sock, sizeof(nd->sock), "%s/peerd.sock", nd->dir);
		snprintf(nd->log, sizeof(nd->log), "%s/peerd.log", nd->dir);
		if (mkdir(nd->dir, 0700) == -1 || mkdir(nd->state, 0700) == -1)
			err(1, "%s", nd->state);
		bench_key_write(nd->state, g->key);
	}
}

/*
 * Starts daemon i of g, bootstrapped to daemon boot (none if -1), and
 * returns once it answers on its control socket, with its port and
 * node ID read back.
 */
static void
node_start(struct group *g, int i, int boot)
{
	struct node		*nd = &g->node[i];
	struct peer_status	*st;
	struct peer_error	 perr;
	char			 name[16];
	double			 end;

	snprintf(name, sizeof(name), "m%03d", i);
	nd->pid = bench_peerd_spawn(nd->state, nd->sock, name, nd->log,
	    boot >= 0 ? g->node[boot].port : 0, NULL);
	end = bench_now() + START_SECS;
	while ((nd->p = peer_open(nd->sock, &perr)) == NULL) {
		if (waitpid(nd->pid, NULL, WNOHANG) == nd->pid) {
			nd->pid = -1;
			bench_show_log(nd->log);
			errx(1, "%s: peerd exited at start", nd->dir);
		}
		if (bench_now() >= end)
			errx(1, "%s: peerd does not answer within %d s: %s",
			    nd->dir, START_SECS, perr.message);
		sleep_until(bench_now() + 0.002);
	}
	if (peer_status(nd->p, &st, &perr) == -1)
		node_lost(nd, perr.message);
	if (st->nlisten < 1 ||
	    sscanf(st->listen[0], "127.0.0.1:%d", &nd->port) != 1)
		errx(1, "%s: no mesh listener on 127.0.0.1 in its status",
		    nd->dir);
	peer_status_free(st);
	snprintf(nd->id, sizeof(nd->id), "%s", peer_node_id(nd->p));
}

/* The text value of key among a map's fields, or NULL. */
static const char *
field_text(const struct cbor_field *f, int nf, const char *key, size_t *n)
{
	const struct cbor_field	*v;
	const char		*s;

	if ((v = cbor_field_get(f, nf, key)) == NULL ||
	    !cbor_read_text(v->val, v->vallen, &s, n))
		return NULL;
	return s;
}

static bool
same(const char *s, size_t n, const char *want)
{
	return s != NULL && strlen(want) == n && memcmp(s, want, n) == 0;
}

/*
 * Reads a members result: how many are alive, and the state of the
 * victim if there is one.  -1 if it is not the expected shape.
 */
static int
read_members(struct node *nd, const uint8_t *buf, size_t len)
{
	struct cbor_field	 f[FIELDS_MAX], mf[FIELDS_MAX];
	const struct cbor_field	*list;
	struct cbor_iter	 it;
	const uint8_t		*item;
	const char		*state, *id;
	size_t			 ilen, slen, idlen;
	int			 nf, nm;

	nd->alive = 0;
	nd->seen[0] = '\0';
	if ((nf = cbor_scan_map(buf, len, f, nitems(f))) == -1 ||
	    (list = cbor_field_get(f, nf, "members")) == NULL ||
	    !cbor_array_iter(list->val, list->vallen, &it))
		return -1;
	while (cbor_iter_next(&it, &item, &ilen)) {
		if ((nm = cbor_scan_map(item, ilen, mf, nitems(mf))) == -1 ||
		    (state = field_text(mf, nm, "state", &slen)) == NULL ||
		    (id = field_text(mf, nm, "node", &idlen)) == NULL)
			return -1;
		if (same(state, slen, "alive"))
			nd->alive++;
		if (watch.victim != NULL && same(id, idlen, watch.victim))
			snprintf(nd->seen, sizeof(nd->seen), "%.*s",
			    (int)slen, state);
	}
	return it.items == 0 ? 0 : -1;
}

static void
members_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct node	*nd = arg;

	(void)p;
	nd->pending = false;
	nd->ok = false;
	nd->answered = bench_now();
	if (r->error != NULL) {
		snprintf(nd->why, sizeof(nd->why), "%s: %s",
		    peer_code_name(r->error->code), r->error->message);
		return;
	}
	if (read_members(nd, r->result, r->result_len) == -1) {
		snprintf(nd->why, sizeof(nd->why), "a members result that "
		    "cannot be read");
		return;
	}
	nd->why[0] = '\0';
	if (watch.victim != NULL)
		nd->ok = strcmp(nd->seen, "dead") == 0;
	else
		nd->ok = nd->alive == watch.alive;
}

/*
 * One round: asks each daemon that is connected and not yet ok (every
 * one if all) for its members, all at once, and waits for the answers.
 */
static void
ask_round(struct group *g, bool all)
{
	struct peer_error	 perr;
	struct node		*nd;
	int			 i, j, np, t, tmin;

	for (i = 0; i < g->n; i++) {
		nd = &g->node[i];
		if (nd->p == NULL || (nd->ok && !all))
			continue;
		nd->pending = true;
		if (peer_request(nd->p, "members", NULL, 0, 0, REQUEST_MS,
		    members_cb, nd, NULL, &perr) == -1) {
			nd->pending = false;
			node_lost(nd, perr.message);
		}
	}
	for (;;) {
		tmin = 1000;
		for (i = np = 0; i < g->n; i++) {
			nd = &g->node[i];
			if (!nd->pending)
				continue;
			if (peer_fd(nd->p) == -1)
				node_lost(nd, "control connection lost");
			g->pfd[np].fd = peer_fd(nd->p);
			g->pfd[np].events = POLLIN;
			g->pfd[np].revents = 0;
			g->pidx[np++] = i;
			if ((t = peer_timeout(nd->p)) >= 0 && t < tmin)
				tmin = t;
		}
		if (np == 0)
			break;
		if (poll(g->pfd, (nfds_t)np, tmin) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		for (j = 0; j < np; j++) {
			nd = &g->node[g->pidx[j]];
			if (g->pfd[j].revents == 0 && peer_timeout(nd->p) != 0)
				continue;
			if (peer_dispatch(nd->p, &perr) == -1)
				node_lost(nd, perr.message);
		}
	}
}

/*
 * Asks every POLL_MS until every connected daemon shows what watch
 * says, and checks with one more round of all of them.  Returns the ms
 * from t0 to the answer that completed it, or -1 after limit seconds.
 */
static long
wait_all(struct group *g, double t0, double limit)
{
	struct node	*nd;
	double		 next, last;
	bool		 all = false, done;
	int		 i;

	for (i = 0; i < g->n; i++)
		g->node[i].ok = false;
	last = t0;
	for (;;) {
		next = bench_now() + POLL_MS / 1000.0;
		ask_round(g, all);
		done = true;
		for (i = 0; i < g->n; i++) {
			nd = &g->node[i];
			if (nd->p == NULL)
				continue;
			if (!nd->ok)
				done = false;
			else if (!all && nd->answered > last)
				last = nd->answered;
		}
		if (done && all)
			return (long)((last - t0) * 1000 + 0.5);
		/* Once all have shown it, a round of all of them confirms. */
		all = done;
		if (!done && bench_now() - t0 >= limit)
			break;
		if (!done)
			sleep_until(next);
	}
	return -1;
}

/* After a timeout: up to ten daemons that disagree, and what they show. */
static void
show_laggards(const struct group *g)
{
	const struct node	*nd;
	int			 i, shown = 0;

	for (i = 0; i < g->n; i++) {
		nd = &g->node[i];
		if (nd->p == NULL || nd->ok)
			continue;
		if (shown++ == 10) {
			fprintf(stderr, "  ...\n");
			break;
		}
		if (nd->why[0] != '\0')
			fprintf(stderr, "  m%03d: %s\n", i, nd->why);
		else if (watch.victim != NULL)
			fprintf(stderr, "  m%03d lists it as %s\n", i,
			    nd->seen[0] != '\0' ? nd->seen : "unknown");
		else
			fprintf(stderr, "  m%03d lists %d of %d alive\n", i,
			    nd->alive, watch.alive);
	}
}

/* A "Key:   123 kB" line of /proc/PID/status, in KiB; -1 if none. */
static long
status_kib(pid_t pid, const char *key)
{
	char	 path[64], line[256];
	FILE	*f;
	size_t	 klen = strlen(key);
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* utime + stime of pid in clock ticks, from /proc/PID/stat. */
static long long
cpu_ticks(const struct node *nd)
{
	unsigned long long	 ut, st;
	char			 path[64], buf[1024], *p;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)nd->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		node_lost(nd, "no /proc entry");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		node_lost(nd, "unreadable /proc/PID/stat");
	buf[n] = '\0';
	/* Fields 14 and 15; the name in field 2 may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		errx(1, "%s: cannot read utime and stime", path);
	return (long long)(ut + st);
}

static int
cmp_long(const void *a, const void *b)
{
	long	x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Sorts a[n] and gives its minimum, median and maximum. */
static void
spread(long *a, int n, long *min, long *med, long *max)
{
	qsort(a, (size_t)n, sizeof(*a), cmp_long);
	*min = a[0];
	*max = a[n - 1];
	*med = n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

/*
 * The idle part: settles, then reads the CPU ticks of every daemon
 * across the idle window without a word to any of them, and their RSS
 * at its end.
 */
static void
measure_idle(struct group *g, struct row *r)
{
	static const char *const keys[] = { "VmRSS", "RssAnon", "RssFile" };
	struct node	*nd;
	long		*kib[nitems(keys)], lo, mid, hi;
	double		 t0, secs, pct, sum = 0;
	long		 hz;
	size_t		 k;
	int		 i;

	hz = sysconf(_SC_CLK_TCK);
	progress("N=%d: settling %d s, then an idle window of %.0f s",
	    g->n, SETTLE_SECS, idle_secs);
	sleep_until(bench_now() + SETTLE_SECS);
	t0 = bench_now();
	for (i = 0; i < g->n; i++)
		g->node[i].ticks0 = cpu_ticks(&g->node[i]);
	sleep_until(t0 + idle_secs);
	for (i = 0; i < g->n; i++)
		g->node[i].ticks1 = cpu_ticks(&g->node[i]);
	secs = bench_now() - t0;

	r->cpu_max = 0;
	for (i = 0; i < g->n; i++) {
		nd = &g->node[i];
		pct = (double)(nd->ticks1 - nd->ticks0) / (double)hz /
		    secs * 100;
		sum += pct;
		if (pct > r->cpu_max)
			r->cpu_max = pct;
	}
	r->cpu_mean = sum / g->n;
	progress("N=%d: %.2f s of CPU in all over %.1f s", g->n,
	    sum / 100 * secs, secs);

	for (k = 0; k < nitems(keys); k++) {
		if ((kib[k] = calloc((size_t)g->n, sizeof(long))) == NULL)
			err(1, "out of memory");
		for (i = 0; i < g->n; i++)
			if ((kib[k][i] = status_kib(g->node[i].pid,
			    keys[k])) == -1)
				node_lost(&g->node[i], "no RSS figures in "
				    "/proc/PID/status");
		spread(kib[k], g->n, &lo, &mid, &hi);
		if (k == 0) {
			r->rss_min = lo;
			r->rss_med = mid;
			r->rss_max = hi;
		} else if (k == 1)
			r->anon_med = mid;
		progress("N=%d: %s KiB min/med/max %ld/%ld/%ld", g->n,
		    keys[k], lo, mid, hi);
		free(kib[k]);
	}
}

/* One daemon with nothing to link to: the baseline of the run. */
static void
run_alone(struct row *r)
{
	struct group	g;

	memset(r, 0, sizeof(*r));
	r->n = 1;
	r->converge_ms = r->detect_ms = -2;
	group_init(&g, 1);
	node_start(&g, 0, -1);
	progress("N=1: started");
	measure_idle(&g, r);
	group_stop(&g);
}

static void
run_mesh(int n, struct row *r)
{
	struct group	 g;
	struct node	*vic;
	double		 t0, first;
	int		 i, v;

	memset(r, 0, sizeof(*r));
	r->n = n;
	r->converge_ms = r->detect_ms = -2;
	group_init(&g, n);
	t0 = first = bench_now();
	for (i = 0; i < n; i++) {
		if (i == n - 1)
			t0 = bench_now();
		node_start(&g, i, i == 0 ? -1 : (int)(random() % i));
	}
	progress("N=%d: all started in %.0f ms, the last answered %.0f ms "
	    "after its start", n, (bench_now() - first) * 1000, (bench_now() - t0) * 1000);

	watch = (struct watch){ .alive = n };
	if ((r->converge_ms = wait_all(&g, t0, CONVERGE_SECS)) == -1) {
		warnx("N=%d: not every daemon lists all %d alive after %d s",
		    n, n, CONVERGE_SECS);
		show_laggards(&g);
	} else
		progress("N=%d: converged in %ld ms", n, r->converge_ms);

	measure_idle(&g, r);

	if (r->converge_ms >= 0) {
		/* Not the first: it is the one the others were seeded from. */
		v = 1 + (int)(random() % (n - 1));
		vic = &g.node[v];
		watch = (struct watch){ .victim = vic->id };
		peer_close(vic->p);
		vic->p = NULL;
		t0 = bench_now();
		if (kill(vic->pid, SIGKILL) == -1)
			err(1, "kill %d", (int)vic->pid);
		waitpid(vic->pid, NULL, 0);
		vic->pid = -1;
		if ((r->detect_ms = wait_all(&g, t0, DETECT_SECS)) == -1) {
			warnx("N=%d: not every daemon lists m%03d as dead "
			    "%d s after its kill -9", n, v, DETECT_SECS);
			show_laggards(&g);
		} else
			progress("N=%d: kill -9 of m%03d seen as dead by all "
			    "in %ld ms", n, v, r->detect_ms);
	}
	group_stop(&g);
}

static void
print_ms(long ms)
{
	if (ms == -2)
		printf("  %11s", "-");
	else if (ms == -1)
		printf("  %11s", "timeout");
	else
		printf("  %11ld", ms);
}

static void
print_row(const struct row *r)
{
	char	rss[48], cpu[48];

	printf("%-4d", r->n);
	print_ms(r->converge_ms);
	if (r->detect_ms == -2)
		printf("  %9s", "-");
	else if (r->detect_ms == -1)
		printf("  %9s", "timeout");
	else
		printf("  %9ld", r->detect_ms);
	snprintf(rss, sizeof(rss), "%ld/%ld/%ld", r->rss_min, r->rss_med,
	    r->rss_max);
	snprintf(cpu, sizeof(cpu), "%.3f/%.3f", r->cpu_mean, r->cpu_max);
	printf("  %-19s  %s\n", rss, cpu);
	fflush(stdout);
}

/* x / base in a column of width w; "-" without a base. */
static void
print_ratio(double x, double base, int w)
{
	if (base > 0)
		printf("  %*.2f", w, x / base);
	else
		printf("  %*s", w, "-");
}

int
main(int argc, char *argv[])
{
	static const int	 sizes[] = { 50, 100 };
	struct rlimit		 rl;
	struct row		 rows[1 + nitems(sizes)], *r;
	int			 ch, i, nrows, one = 0;
	bool			 timeout = false, ok, have100 = false;

	while ((ch = getopt(argc, argv, "i:n:v")) != -1) {
		switch (ch) {
		case 'i':
			idle_secs = bench_opt_secs(ch, optarg, 1);
			break;
		case 'n':
			one = (int)bench_opt_num(ch, optarg, 2, N_MAX,
			    "daemons");
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	bench_setup("members_bench");
	/* One control connection per daemon, and room to spare. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)(one > 100 ? one : 100) + 64)
		errx(1, "too few file descriptors allowed (%llu)",
		    (unsigned long long)rl.rlim_cur);

	self = getpid();
	srandom((unsigned)time(NULL) ^ (unsigned)self);
	if (atexit(cleanup) != 0)
		errx(1, "atexit");

	printf("members_bench: N peerd on 127.0.0.1, each bootstrapped to a "
	    "random earlier one;\ndefault timings, discovery off; asked every "
	    "%d ms; idle window %.0f s after %d s of settling\n\n", POLL_MS,
	    idle_secs, SETTLE_SECS);
	printf("%-4s  %11s  %9s  %19s  %s\n", "N", "converge ms", "detect ms",
	    "RSS KiB min/med/max", "idle CPU %core mean/max");
	fflush(stdout);

	run_alone(&rows[0]);
	print_row(&rows[0]);
	nrows = 1;
	for (i = 0; i < (one ? 1 : (int)nitems(sizes)); i++) {
		r = &rows[nrows++];
		run_mesh(one ? one : sizes[i], r);
		print_row(r);
		if (r->converge_ms == -1 || r->detect_ms == -1)
			timeout = true;
	}

	printf("\nagainst the lone daemon (N=1) of this run:\n");
	printf("%-4s  %12s  %9s  %13s  %15s  %10s\n", "N", "RSS med +KiB",
	    "RSS med x", "anon med +KiB", "CPU mean +%core", "CPU mean x");
	for (i = 1; i < nrows; i++) {
		r = &rows[i];
		printf("%-4d  %+12ld", r->n, r->rss_med - rows[0].rss_med);
		print_ratio((double)r->rss_med, (double)rows[0].rss_med, 9);
		printf("  %+13ld", r->anon_med - rows[0].anon_med);
		printf("  %+15.3f", r->cpu_mean - rows[0].cpu_mean);
		print_ratio(r->cpu_mean, rows[0].cpu_mean, 10);
		printf("\n");
	}

	printf("\ngoals: converge < %d ms at 100: ", GOAL_CONVERGE_MS);
	for (i = 1, ok = true; i < nrows; i++)
		if (rows[i].n == 100) {
			have100 = true;
			ok = rows[i].converge_ms >= 0 &&
			    rows[i].converge_ms < GOAL_CONVERGE_MS;
		}
	printf("%s", !have100 ? "not run" : ok ? "met" : "not met");
	for (i = 1, ok = true; i < nrows; i++)
		if (rows[i].detect_ms < 0 ||
		    rows[i].detect_ms >= GOAL_DETECT_MS)
			ok = false;
	printf("; detect < %d ms: %s", GOAL_DETECT_MS, ok ? "met" : "not met");
	for (i = 0, ok = true; i < nrows; i++)
		if (rows[i].rss_max >= GOAL_RSS_KIB)
			ok = false;
	printf(";\n       RSS max < %d KiB: %s", GOAL_RSS_KIB,
	    ok ? "met" : "not met");
	for (i = 0, ok = true; i < nrows; i++)
		if (rows[i].cpu_max >= GOAL_CPU_PCT)
			ok = false;
	printf("; idle CPU max < %.1f %%core: %s\n", GOAL_CPU_PCT,
	    ok ? "met" : "not met");
	return timeout ? 1 : 0;
}
