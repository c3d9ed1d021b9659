/* SPDX-License-Identifier: ISC */
/*
 * call_bench: a remote call through two daemons, app -> peerd A ->
 * peerd B -> app and back, beside a raw relay chain with the same hops:
 * caller -> Unix socket -> relay R1 -> TCP on 127.0.0.1 -> relay R2 ->
 * Unix socket -> echo server, and back.  The chain carries plain frames
 * with a 4-byte length, no crypto and no CBOR; its relays are separate
 * processes that forward with poll() and reads of up to 256 KiB.  Both
 * paths are built and measured in the same run, for payloads of 64 B,
 * 4 KiB, 64 KiB and 1 MiB:
 *
 * - latency with one call in flight, p50 and p99;
 * - throughput with 64 calls in flight, in calls/s and MB/s.
 *
 * Every echoed payload is compared with what was sent, byte for byte;
 * a wrong one ends the program with status 1.  The machine is shared,
 * so only the ratios of peerd to the chain mean much.  The server
 * answers in its handler, or with -a from its own loop once the
 * handler has returned.
 */
#include <sys/types.h>
#include <sys/random.h>

#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#include "bench_common.h"

#define DEPTH		64		/* calls in flight when pipelined */
#define STALL_MS	10000		/* longest wait with no call done */
#define CALL_TIMEOUT_MS	20000
#define LINK_SECS	15		/* for the two to see each other */
#define SERVE_SECS	10		/* for the service to show at A */
#define RUNS_MAX	20
#define SERVICE		"bench"
#define METHOD		"echo"

#define GOAL_P50_X	1.5		/* peerd p50 at most this x raw */
#define GOAL_SMALL_X	0.5		/* 64 B calls/s at least this x raw */
#define GOAL_BIG_X	0.5		/* 1 MiB MB/s at least this x raw */

enum variant {
	RAW,
	PEERD,
};

static const char *const variant_name[] = { "raw", "peerd" };

/* The processes of each path whose CPU is counted; 0 is this one. */
#define NPROC		4
static const char *const proc_name[2][NPROC] = {
	{ "caller", "R1", "R2", "echo" },
	{ "caller", "peerd A", "peerd B", "server" },
};
static pid_t	procs[2][NPROC];

static struct size {
	size_t		 size;
	const char	*name;
	int		 lat_n;		/* latency samples */
	int		 lat_quick;	/* with -q */
} sizes[] = {
	{ 64, "64 B", 2000, 200 },
	{ 4u << 10, "4 KiB", 2000, 200 },
	{ 64u << 10, "64 KiB", 500, 50 },
	{ 1u << 20, "1 MiB", 100, 20 },
};

struct result {
	double		secs;		/* first call to the last answer */
	uint64_t	calls;
	double		cpu[NPROC];	/* seconds, each process */
};

struct row {
	const struct size *sz;
	double		 p50[2], p99[2];	/* microseconds */
	struct result	 best[2];		/* pipelined */
};

/* A call in flight on the peerd path. */
struct slot {
	struct slot	*next;		/* free list */
	uint64_t	 seq;
	double		 sent;
};

static struct bench_node	 nodes[2] = { { .name = "callA" },
			    { .name = "callB" } };
static struct bench_chain chain = { .fd = -1 };
static bool		 verbose;
static bool		 quick;
static bool		 answer_later;	/* -a */
static int		 runs = 2;
static double		 duration = 1.0;
static struct peer	*pa;		/* the caller's connection to A */

/* State of the current run on the peerd path, seen by the callback. */
static struct {
	size_t		 size;
	uint8_t		 head[5];	/* of the CBOR byte string */
	size_t		 headlen;
	uint64_t	 done;
	double		 last;		/* when the last answer came */
	double		*rtt;		/* by seq, or NULL */
	struct slot	*free;
	char		 fail[640];	/* the first failure */
} cs;

static void
usage(void)
{
	fprintf(stderr, "usage: call_bench [-aqv] [-n runs] [-s bytes] "
	    "[-t seconds]\n");
	exit(2);
}

/*
 * Calls on the chain: count of them, or as many as start within dur
 * seconds if count is 0, with up to depth in flight.  Frames go out
 * with writev straight from bench_pat (a few of them at a time),
 * answers are read up to BENCH_IO_MAX at a time and checked in place.
 * The chain keeps order, so answer k must be call k.
 */
static void
raw_run(size_t size, int depth, uint64_t count, double dur, double *rtt,
    struct result *res)
{
	struct bench_frames	*fw;
	struct pollfd		 pfd = { .fd = chain.fd };
	uint8_t			*in;
	double			*sent, t0, last, tnow;
	size_t			 flen = BENCH_FRAME_HDR + size, icap;
	size_t			 ioff = 0, ilen = 0;
	uint64_t		 issued = 0, done = 0;
	uint32_t		 plen;
	ssize_t			 n;
	int			 r;
	bool			 more = true;

	icap = flen + BENCH_IO_MAX;
	if ((in = malloc(icap)) == NULL ||
	    (fw = calloc(1, sizeof(*fw))) == NULL ||
	    (sent = calloc((size_t)depth, sizeof(*sent))) == NULL)
		errx(1, "out of memory");
	fw->size = size;
	t0 = last = bench_now();
	for (;;) {
		tnow = bench_now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && issued - done < (uint64_t)depth &&
		    (count == 0 || issued < count))
			sent[issued++ % (uint64_t)depth] = tnow;
		/* Out: the frames not yet written. */
		if (fw->next < issued)
			bench_frames_write(chain.fd, fw, issued);
		if (!more && done == issued)
			break;
		pfd.events = POLLIN | (fw->next < issued ? POLLOUT : 0);
		if ((r = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (r <= 0) {
			if (bench_now() - last > STALL_MS / 1000.0) {
				bench_check_children();
				errx(1, "raw %zu: no answer for %d s, %llu of "
				    "%llu done", size, STALL_MS / 1000,
				    (unsigned long long)done,
				    (unsigned long long)issued);
			}
			continue;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (ioff > 0 && ioff + ilen + BENCH_IO_MAX > icap) {
			memmove(in, in + ioff, ilen);
			ioff = 0;
		}
		n = read(chain.fd, in + ioff + ilen, icap - ioff - ilen);
		if (n == 0) {
			bench_check_children();
			errx(1, "raw: the chain closed");
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "raw: read");
		}
		ilen += (size_t)n;
		tnow = bench_now();
		while (ilen >= BENCH_FRAME_HDR) {
			memcpy(&plen, in + ioff, 4);
			if (ntohl(plen) != size)
				errx(1, "raw %zu: answer %llu is %u bytes",
				    size, (unsigned long long)done,
				    ntohl(plen));
			if (ilen < flen)
				break;
			if (done >= issued ||
			    !bench_payload_ok(in + ioff + BENCH_FRAME_HDR,
			    size, done))
				errx(1, "raw %zu: answer %llu arrived corrupted",
				    size, (unsigned long long)done);
			if (rtt != NULL)
				rtt[done] = tnow - sent[done % depth];
			done++;
			ioff += flen;
			ilen -= flen;
		}
		if (ilen == 0)
			ioff = 0;
		last = tnow;
	}
	res->secs = last - t0;
	res->calls = done;
	free(in);
	free(fw);
	free(sent);
}

/* With -a: an answer the server owes, sent once the callback is over. */
struct later {
	struct later	*next;
	uint64_t	 call;
	size_t		 len;
	uint8_t		 args[];
};

static struct later	*later_head, **later_tail = &later_head;

static void
echo_handler(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct peer_error	 perr;
	struct later		*l;

	(void)arg;
	if (answer_later) {
		if ((l = malloc(sizeof(*l) + inv->args_len)) == NULL)
			errx(1, "server: out of memory");
		l->next = NULL;
		l->call = inv->call;
		l->len = inv->args_len;
		if (inv->args_len > 0)
			memcpy(l->args, inv->args, inv->args_len);
		*later_tail = l;
		later_tail = &l->next;
		return;
	}
	if (peer_answer(p, inv->call, inv->args, inv->args_len, &perr) == -1)
		errx(1, "server: answer: %s: %s", peer_code_name(perr.code),
		    perr.message);
}

/*
 * With -a the server runs its own loop and answers between calls of
 * peer_dispatch: there an answer that waits for room to write keeps
 * reading what the daemon sends.
 */
static void
server_loop(struct peer *p)
{
	struct peer_error	 perr;
	struct pollfd		 pfd;
	struct later		*l;
	int			 t;

	for (;;) {
		while ((l = later_head) != NULL) {
			if ((later_head = l->next) == NULL)
				later_tail = &later_head;
			if (peer_answer(p, l->call, l->len > 0 ? l->args :
			    NULL, l->len, &perr) == -1)
				errx(1, "server: answer: %s: %s",
				    peer_code_name(perr.code), perr.message);
			free(l);
		}
		if ((pfd.fd = peer_fd(p)) == -1)
			errx(1, "server: the connection to B is lost");
		pfd.events = POLLIN;
		if ((t = peer_timeout(p)) < 0)
			t = 1000;
		if (poll(&pfd, 1, t) == -1 && errno != EINTR)
			err(1, "server: poll");
		if (peer_dispatch(p, &perr) == -1)
			errx(1, "server: %s: %s", peer_code_name(perr.code),
			    perr.message);
	}
}

/* The serving app, on B: echoes the arguments of every call. */
static void __attribute__((noreturn))
server_main(void)
{
	struct peer_error	 perr;
	struct peer		*p;

	if (chain.fd != -1)
		close(chain.fd);
	if ((p = peer_open(nodes[1].sock, &perr)) == NULL)
		errx(1, "server: %s", perr.message);
	if (peer_serve(p, SERVICE, NULL, echo_handler, NULL, &perr) == -1)
		errx(1, "server: serve: %s: %s", peer_code_name(perr.code),
		    perr.message);
	if (answer_later)
		server_loop(p);
	else if (peer_run(p, &perr) == -1)
		errx(1, "server: %s: %s", peer_code_name(perr.code),
		    perr.message);
	_exit(0);
}

/*
 * Starts the daemons and the server, opens the caller's connection to
 * A, and calls until the service answers there.
 */
static void
peerd_start(void)
{
	struct peer_call_opts	 opts = { .timeout_ms = 2000 };
	struct peer_error	 perr;
	uint8_t			 key[32], args[64], *res = NULL;
	size_t			 reslen, h;
	double			 end;

	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		err(1, "getrandom");
	bench_node_start(&nodes[0], key, NULL);
	bench_node_start(&nodes[1], key, &nodes[0]);
	procs[PEERD][1] = nodes[0].pid;
	procs[PEERD][2] = nodes[1].pid;
	bench_nodes_wait(nodes, 2, LINK_SECS);

	if ((procs[PEERD][3] = bench_spawn()) == 0)
		server_main();
	bench_child_add(procs[PEERD][3], "peerd server");

	if ((pa = peer_open(nodes[0].sock, &perr)) == NULL)
		errx(1, "peerd A: %s", perr.message);
	h = bench_bstr_head(args, 32);
	memcpy(args + h, bench_pat, 32);
	bench_stamp(args + h, 32, 7);
	end = bench_now() + SERVE_SECS;
	while (peer_call_sync(pa, SERVICE, METHOD, args, h + 32, &opts, &res,
	    &reslen, &perr) == -1) {
		bench_check_children();
		if (perr.code != PEER_NOT_FOUND)
			errx(1, "the first call: %s: %s",
			    peer_code_name(perr.code), perr.message);
		if (bench_now() >= end)
			errx(1, "service %s not found from A within %d s",
			    SERVICE, SERVE_SECS);
		bench_sleep_ms(20);
	}
	if (reslen != h + 32 || memcmp(res, args, h) != 0 ||
	    !bench_payload_ok(res + h, 32, 7))
		errx(1, "the first call came back corrupted");
	free(res);
}

static void
call_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct slot	*sl = arg;
	double		 t = bench_now();

	(void)p;
	if (r->error != NULL) {
		if (cs.fail[0] == '\0')
			snprintf(cs.fail, sizeof(cs.fail), "peerd %zu: call "
			    "%llu: %s: %s", cs.size,
			    (unsigned long long)sl->seq,
			    peer_code_name(r->error->code), r->error->message);
	} else if (r->result_len != cs.headlen + cs.size ||
	    memcmp(r->result, cs.head, cs.headlen) != 0 ||
	    !bench_payload_ok(r->result + cs.headlen, cs.size, sl->seq)) {
		if (cs.fail[0] == '\0')
			snprintf(cs.fail, sizeof(cs.fail), "peerd %zu: answer "
			    "to call %llu arrived corrupted (%zu bytes)",
			    cs.size, (unsigned long long)sl->seq,
			    r->result_len);
	} else if (cs.rtt != NULL)
		cs.rtt[sl->seq] = t - sl->sent;
	cs.done++;
	cs.last = t;
	sl->next = cs.free;
	cs.free = sl;
}

/*
 * Calls through the daemons, as raw_run() does on the chain.  Calls
 * start from this loop, never from the callback, so that a call that
 * waits for room to write keeps reading answers.
 */
static void
peerd_run(size_t size, int depth, uint64_t count, double dur, double *rtt,
    struct result *res)
{
	struct peer_call_opts	 opts = { .timeout_ms = CALL_TIMEOUT_MS };
	struct peer_error	 perr;
	struct pollfd		 pfd;
	struct slot		*slots, *sl;
	uint8_t			*args;
	double			 t0, tnow;
	uint64_t		 issued = 0;
	int			 i, r, t;
	bool			 more = true;

	memset(&cs, 0, sizeof(cs));
	cs.size = size;
	cs.headlen = bench_bstr_head(cs.head, size);
	cs.rtt = rtt;
	if ((args = malloc(cs.headlen + size)) == NULL ||
	    (slots = calloc((size_t)depth, sizeof(*slots))) == NULL)
		errx(1, "out of memory");
	memcpy(args, cs.head, cs.headlen);
	memcpy(args + cs.headlen, bench_pat, size);
	for (i = 0; i < depth; i++) {
		slots[i].next = cs.free;
		cs.free = &slots[i];
	}
	t0 = cs.last = bench_now();
	for (;;) {
		tnow = bench_now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && cs.free != NULL &&
		    (count == 0 || issued < count)) {
			sl = cs.free;
			cs.free = sl->next;
			sl->seq = issued++;
			sl->sent = tnow;
			bench_stamp(args + cs.headlen, size, sl->seq);
			if (peer_call(pa, SERVICE, METHOD, args,
			    cs.headlen + size, &opts, call_cb, sl, NULL,
			    &perr) == -1) {
				bench_check_children();
				errx(1, "peerd %zu: call %llu: %s: %s", size,
				    (unsigned long long)sl->seq,
				    peer_code_name(perr.code), perr.message);
			}
			tnow = bench_now();
		}
		if (cs.fail[0] != '\0') {
			bench_check_children();
			errx(1, "%s", cs.fail);
		}
		if (!more && cs.done == issued)
			break;
		if ((pfd.fd = peer_fd(pa)) == -1) {
			bench_check_children();
			errx(1, "peerd %zu: the connection to A is lost", size);
		}
		pfd.events = POLLIN;
		t = peer_timeout(pa);
		if (t < 0 || t > 1000)
			t = 1000;
		if ((r = poll(&pfd, 1, t)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (peer_dispatch(pa, &perr) == -1) {
			bench_check_children();
			errx(1, "peerd %zu: %s: %s", size,
			    peer_code_name(perr.code), perr.message);
		}
		if (r == 0 && bench_now() - cs.last > STALL_MS / 1000.0) {
			bench_check_children();
			errx(1, "peerd %zu: no answer for %d s, %llu of %llu "
			    "done", size, STALL_MS / 1000,
			    (unsigned long long)cs.done,
			    (unsigned long long)issued);
		}
	}
	res->secs = cs.last - t0;
	res->calls = cs.done;
	free(args);
	free(slots);
}

/* One run on one path, with the CPU each of its processes spent. */
static void
run(enum variant v, size_t size, int depth, uint64_t count, double dur,
    double *rtt, struct result *res)
{
	double	cpu0[NPROC];
	int	i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < NPROC; i++)
		cpu0[i] = bench_proc_cpu(procs[v][i]);
	if (v == RAW)
		raw_run(size, depth, count, dur, rtt, res);
	else
		peerd_run(size, depth, count, dur, rtt, res);
	for (i = 0; i < NPROC; i++)
		res->cpu[i] = bench_proc_cpu(procs[v][i]) - cpu0[i];
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile of a sorted a[n], the nearest rank. */
static double
pct(const double *a, int n, double p)
{
	int	k = (int)ceil(p / 100 * n) - 1;

	return a[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void
show_cpu(const char *what, enum variant v, const struct result *res)
{
	int	i;

	printf("  %-6s %-5s %d in flight: %8.0f calls/s, CPU us a call:",
	    what, variant_name[v], DEPTH, (double)res->calls / res->secs);
	for (i = 0; i < NPROC; i++)
		printf(" %s %.1f", proc_name[v][i],
		    res->cpu[i] * 1e6 / (double)res->calls);
	printf("\n");
}

/*
 * Latency: one call in flight, n calls on each path, taken in runs
 * chunks that alternate between the paths, after a warm-up on each.
 */
static void
measure_latency(struct row *row)
{
	const struct size	*sz = row->sz;
	struct result		 res;
	double			*rtt[2], *chunk;
	int			 n, per, warm, r, v, got[2] = { 0, 0 };

	n = quick ? sz->lat_quick : sz->lat_n;
	per = (n + runs - 1) / runs;
	n = per * runs;
	warm = n / 10 < 5 ? 5 : n / 10;
	for (v = RAW; v <= PEERD; v++)
		if ((rtt[v] = calloc((size_t)n, sizeof(double))) == NULL)
			errx(1, "out of memory");
	if ((chunk = calloc((size_t)(per > warm ? per : warm),
	    sizeof(double))) == NULL)
		errx(1, "out of memory");
	for (v = RAW; v <= PEERD; v++)
		run((enum variant)v, sz->size, 1, (uint64_t)warm, 0, chunk,
		    &res);
	for (r = 0; r < runs; r++)
		for (v = RAW; v <= PEERD; v++) {
			run((enum variant)v, sz->size, 1, (uint64_t)per, 0,
			    chunk, &res);
			memcpy(rtt[v] + got[v], chunk, (size_t)per *
			    sizeof(double));
			got[v] += per;
			if (verbose) {
				qsort(chunk, (size_t)per, sizeof(double),
				    cmp_double);
				printf("  %-6s %-5s latency, chunk %d: p50 %.0f "
				    "us, p99 %.0f us\n", sz->name,
				    variant_name[v], r + 1,
				    pct(chunk, per, 50) * 1e6,
				    pct(chunk, per, 99) * 1e6);
			}
		}
	for (v = RAW; v <= PEERD; v++) {
		qsort(rtt[v], (size_t)n, sizeof(double), cmp_double);
		row->p50[v] = pct(rtt[v], n, 50) * 1e6;
		row->p99[v] = pct(rtt[v], n, 99) * 1e6;
		free(rtt[v]);
	}
	free(chunk);
}

/* Throughput: DEPTH in flight, runs of each path, alternating; best. */
static void
measure_throughput(struct row *row)
{
	struct result	res;
	int		r, v;

	for (r = 0; r < runs; r++)
		for (v = RAW; v <= PEERD; v++) {
			run((enum variant)v, row->sz->size, DEPTH, 0, duration,
			    NULL, &res);
			if (verbose)
				show_cpu(row->sz->name, (enum variant)v, &res);
			if (row->best[v].calls == 0 ||
			    (double)res.calls / res.secs >
			    (double)row->best[v].calls / row->best[v].secs)
				row->best[v] = res;
		}
}

static double
calls_s(const struct result *r)
{
	return (double)r->calls / r->secs;
}

static double
mb_s(const struct result *r, size_t size)
{
	return (double)r->calls * (double)size / r->secs / 1e6;
}

static void
print_row(const struct row *rw)
{
	char	a[32], b[32];

	snprintf(a, sizeof(a), "%.0f/%.0f", rw->p50[RAW], rw->p99[RAW]);
	snprintf(b, sizeof(b), "%.0f/%.0f", rw->p50[PEERD], rw->p99[PEERD]);
	printf("%-7s %13s %13s %6.2f %10.0f %10.0f %8.1f %8.1f %6.2f\n",
	    rw->sz->name, a, b, rw->p50[PEERD] / rw->p50[RAW],
	    calls_s(&rw->best[RAW]), calls_s(&rw->best[PEERD]),
	    mb_s(&rw->best[RAW], rw->sz->size),
	    mb_s(&rw->best[PEERD], rw->sz->size),
	    calls_s(&rw->best[PEERD]) / calls_s(&rw->best[RAW]));
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	static struct size	 one;
	static char		 one_name[32];
	struct size		*first = sizes, *end = sizes + nitems(sizes), *sz;
	struct row		 rows[nitems(sizes)], *rw;
	int			 ch, nrows = 0, i;
	bool			 ok, have;
	bool			 runs_set = false, dur_set = false;

	while ((ch = getopt(argc, argv, "an:qs:t:v")) != -1) {
		switch (ch) {
		case 'a':
			answer_later = true;
			break;
		case 'n':
			runs = (int)bench_opt_num(ch, optarg, 1, RUNS_MAX,
			    "runs");
			runs_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 's':
			one.size = bench_opt_num(ch, optarg, 16,
			    BENCH_PAYLOAD_MAX, "bytes");
			snprintf(one_name, sizeof(one_name), "%zu B",
			    one.size);
			one.name = one_name;
			one.lat_n = one.size > (64u << 10) ? 100 :
			    one.size > (4u << 10) ? 500 : 2000;
			one.lat_quick = one.lat_n / 10;
			first = &one;
			end = &one + 1;
			break;
		case 't':
			duration = bench_opt_secs(ch, optarg, 0.05);
			dur_set = true;
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
	if (quick) {
		if (!runs_set)
			runs = 1;
		if (!dur_set)
			duration = 0.25;
	}

	bench_setup("call_bench");
	procs[RAW][0] = procs[PEERD][0] = getpid();
	bench_chain_start(&chain, BENCH_ECHO);
	for (i = 0; i < 3; i++)
		procs[RAW][1 + i] = chain.pid[i];
	peerd_start();

	printf("call_bench: echo calls, caller -> A -> B -> server and back, "
	    "against a raw relay chain\n(Unix socket, TCP on 127.0.0.1, Unix "
	    "socket) measured in the same run\n");
	printf("latency: 1 call in flight, p50/p99 in us over %s calls "
	    "in %d chunk%s a path;\nthroughput: %d in flight, best of %d "
	    "run%s of %.2g s; MB = 10^6 payload bytes one way\n",
	    quick ? "20 to 200" : "100 to 2000", runs, runs > 1 ? "s" : "",
	    DEPTH, runs, runs > 1 ? "s" : "", duration);
	printf("%s\n\n", answer_later ? "the server answers after its "
	    "handler has returned (-a)" : "the server answers in its "
	    "handler");
	printf("%-7s %13s %13s %6s %10s %10s %8s %8s %6s\n", "size",
	    "raw p50/p99", "peerd p50/p99", "p50 x", "raw call/s",
	    "peerd c/s", "raw MB/s", "prd MB/s", "tput x");
	fflush(stdout);
	for (sz = first; sz < end; sz++) {
		rw = &rows[nrows++];
		memset(rw, 0, sizeof(*rw));
		rw->sz = sz;
		measure_latency(rw);
		measure_throughput(rw);
		print_row(rw);
	}

	printf("\ngoals (x = peerd / raw):\n");
	printf("  p50 latency x <= %.1f at every size: ", GOAL_P50_X);
	for (i = 0, ok = true; i < nrows; i++)
		if (rows[i].p50[PEERD] > GOAL_P50_X * rows[i].p50[RAW]) {
			printf("%s%s", ok ? "not met at " : ", ",
			    rows[i].sz->name);
			ok = false;
		}
	printf("%s\n", ok ? "met" : "");
	for (i = 0, have = false, ok = true; i < nrows; i++)
		if (rows[i].sz->size == 64) {
			have = true;
			ok = calls_s(&rows[i].best[PEERD]) >=
			    GOAL_SMALL_X * calls_s(&rows[i].best[RAW]);
		}
	printf("  64 B calls/s x >= %.1f with %d in flight: %s\n",
	    GOAL_SMALL_X, DEPTH, !have ? "not run" : ok ? "met" : "not met");
	for (i = 0, have = false, ok = true; i < nrows; i++)
		if (rows[i].sz->size == 1u << 20) {
			have = true;
			ok = calls_s(&rows[i].best[PEERD]) >=
			    GOAL_BIG_X * calls_s(&rows[i].best[RAW]);
		}
	printf("  1 MiB MB/s x >= %.1f with %d in flight: %s\n",
	    GOAL_BIG_X, DEPTH, !have ? "not run" : ok ? "met" : "not met");
	return 0;
}
