/* SPDX-License-Identifier: ISC */
/*
 * event_bench: events from one publisher to three remote subscribers,
 * app -> peerd P -> peerd S1, S2, S3 -> one subscribing app each,
 * beside the raw relay chain of call_bench carrying frames one way:
 * sender -> Unix socket -> relay R1 -> TCP on 127.0.0.1 -> relay R2 ->
 * Unix socket -> sink.  Both paths are built and measured in the same
 * run, for payloads of 64 B and 4 KiB:
 *
 * - peerd: N events published as fast as they go, 64 publishes in
 *   flight; events/s is N over the time from the first publish until
 *   the last subscriber has its last event;
 * - raw: frames written for a fixed time; frames/s is their number
 *   over the time from the first write until the sink has counted them.
 *
 * Every event and frame is checked.  A subscriber counts what it gets,
 * checks that the publisher's seq only grows and that its data is the
 * payload sent, and sums the "lost" the daemon reports.  The machine is
 * shared, so only the ratio of peerd to the chain means much.
 */
#include <sys/types.h>
#include <sys/random.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbor_scan.h"
#include "peer.h"

#include "bench_common.h"

#define DEPTH		64		/* publishes in flight */
#define NSUB		3
#define TOPIC		"bench.e"
#define PATTERN		"bench.*"
#define EVENT_MAX	(64u << 10)	/* largest -s */
#define PUB_TIMEOUT_MS	10000
#define STALL_MS	10000		/* longest wait with nothing done */
#define IDLE_SECS	5		/* a subscriber waits for more */
#define READY_SECS	5		/* for the subscribers to be reset */
#define LINK_SECS	15		/* for the four to see each other */
#define TOPIC_SECS	15		/* for P to list the subscribers */
#define RUNS_MAX	20
#define PUBS_MAX	8		/* publishers a subscriber tracks */

enum variant {
	RAW,
	PEERD,
};

/* The processes of each path whose CPU is counted; 0 is this one. */
#define NPROC		9
static const char *const proc_name[2][NPROC] = {
	{ "sender", "R1", "R2", "sink" },
	{ "publisher", "P", "S1", "S2", "S3", "sub1", "sub2", "sub3", "R" },
};
static int		 nproc[2] = { 4, NPROC - 1 };	/* R with -R */
static pid_t		 procs[2][NPROC];

static struct size {
	size_t		 size;
	const char	*name;
	uint64_t	 events;	/* published in one run */
} sizes[] = {
	{ 64, "64 B", 100000 },
	{ 4u << 10, "4 KiB", 20000 },
};

/* To a subscriber: reset, and wait for run's n events of size bytes. */
struct sub_cmd {
	uint64_t	 run;
	uint64_t	 n;
	uint64_t	 size;
};

/* From a subscriber: once ready, and once it is done with the run. */
struct sub_report {
	int		 ready;		/* 1: only says it has reset */
	int		 done;		/* it had the last event */
	uint64_t	 received;
	uint64_t	 lost;		/* the sum of the events' "lost" */
	uint64_t	 stray;		/* events of another run */
	uint64_t	 badseq;	/* seq or index not increasing */
	uint64_t	 baddata;
	double		 last;		/* when the last event came */
};

struct result {
	double		 secs;
	uint64_t	 count;		/* frames, or events published */
	double		 pub_secs;	/* until the last publish's reply */
	uint64_t	 nodes;		/* summed over the replies */
	struct sub_report sub[NSUB];
	double		 cpu[NPROC];	/* seconds, each process */
};

struct row {
	const struct size *sz;
	struct result	 best[2];
};

static struct bench_node nodes[2 + NSUB] = {
	{ .name = "evP" }, { .name = "evS1" }, { .name = "evS2" },
	{ .name = "evS3" }, { .name = "evR" },
};
static bool		 relayed;	/* -R: every event crosses R */
static const char *const sub_name[NSUB] = {
	"subscriber 1", "subscriber 2", "subscriber 3",
};
static struct bench_chain chain = { .fd = -1 };
static int		 cmd_fd[NSUB], rep_fd[NSUB];
static struct peer	*pp;		/* the publisher's connection to P */
static uint64_t		 run_no;
static bool		 verbose;
static bool		 quick;
static int		 runs = 2;
static double		 duration = 1.0;
static uint64_t		 events_n;	/* -e, or 0 */

/* The publisher's run, seen by the callback. */
static struct {
	uint64_t	 done;
	uint64_t	 nodes;
	double		 last;
	char		 fail[640];
} ps;

/* A subscriber's state. */
static struct {
	struct sub_cmd	 cmd;
	uint8_t		 head[5];
	size_t		 headlen;
	bool		 active;
	double		 started;
	uint64_t	 next_idx;	/* the lowest index still to come */
	struct sub_report rep;
	int		 fd;		/* for reports */
	int		 npubs;
	char		 pub[PUBS_MAX][64];
	uint64_t	 pubseq[PUBS_MAX];
} ss;

static void
usage(void)
{
	fprintf(stderr, "usage: event_bench [-qRv] [-e events] [-n runs] "
	    "[-s bytes] [-t seconds]\n");
	exit(2);
}

static void
write_full(int fd, const void *buf, size_t len, const char *what)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s: write", what);
		}
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
	}
}

static void
sub_finish(bool done)
{
	ss.rep.done = done;
	write_full(ss.fd, &ss.rep, sizeof(ss.rep), "subscriber");
	ss.active = false;
}

static void
on_event(struct peer *p, const struct peer_event *ev, void *arg)
{
	const uint8_t	*m;
	uint64_t	 v, idx;
	int		 k;

	(void)p;
	(void)arg;
	for (k = 0; k < ss.npubs && strcmp(ss.pub[k], ev->node) != 0; k++)
		;
	if (k >= PUBS_MAX)
		ss.rep.badseq++;
	else {
		if (k == ss.npubs) {
			snprintf(ss.pub[k], sizeof(ss.pub[k]), "%s", ev->node);
			ss.npubs++;
		} else if (ev->seq <= ss.pubseq[k])
			ss.rep.badseq++;
		ss.pubseq[k] = ev->seq;
	}
	ss.rep.lost += ev->lost;
	if (!ss.active) {
		ss.rep.stray++;
		return;
	}
	if (ev->data == NULL || ev->data_len != ss.headlen + ss.cmd.size ||
	    memcmp(ev->data, ss.head, ss.headlen) != 0) {
		ss.rep.baddata++;
		return;
	}
	m = ev->data + ss.headlen;
	memcpy(&v, m, 8);
	if (v >> 32 != ss.cmd.run) {
		ss.rep.stray++;
		return;
	}
	idx = v & 0xffffffffu;
	if (idx < ss.next_idx || idx >= ss.cmd.n)
		ss.rep.badseq++;
	else if (!bench_payload_ok(m, ss.cmd.size, v))
		ss.rep.baddata++;
	else {
		ss.rep.received++;
		ss.rep.last = bench_now();
		ss.next_idx = idx + 1;
		if (idx == ss.cmd.n - 1)
			sub_finish(true);
	}
}

/*
 * A subscribing app on S(i+1).  Each run starts with a command on the
 * pipe; it ends at the run's last event, or IDLE_SECS after the last
 * one that came.
 */
static void __attribute__((noreturn))
sub_main(int i, int cfd)
{
	struct peer_error	 perr;
	struct pollfd		 pfd[2];
	struct peer		*p;
	ssize_t			 n;
	double			 since;
	int			 t;

	if (chain.fd != -1)
		close(chain.fd);
	if ((p = peer_open(nodes[1 + i].sock, &perr)) == NULL)
		errx(1, "%s: %s", sub_name[i], perr.message);
	if (peer_subscribe(p, PATTERN, on_event, NULL, &perr) == -1)
		errx(1, "%s: subscribe: %s: %s", sub_name[i],
		    peer_code_name(perr.code), perr.message);
	for (;;) {
		pfd[0].fd = cfd;
		pfd[0].events = POLLIN;
		if ((pfd[1].fd = peer_fd(p)) == -1)
			errx(1, "%s: the connection to %s is lost",
			    sub_name[i], nodes[1 + i].name);
		pfd[1].events = POLLIN;
		t = peer_timeout(p);
		if (t < 0 || t > 100)
			t = 100;
		if (poll(pfd, 2, t) == -1 && errno != EINTR)
			err(1, "%s: poll", sub_name[i]);
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			if ((n = read(cfd, &ss.cmd, sizeof(ss.cmd))) == 0)
				_exit(0);
			if (n != (ssize_t)sizeof(ss.cmd))
				err(1, "%s: read", sub_name[i]);
			memset(&ss.rep, 0, sizeof(ss.rep));
			ss.headlen = bench_bstr_head(ss.head, ss.cmd.size);
			ss.next_idx = 0;
			ss.started = bench_now();
			ss.rep.ready = 1;
			write_full(ss.fd, &ss.rep, sizeof(ss.rep), sub_name[i]);
			ss.rep.ready = 0;
			ss.active = true;
		}
		if (peer_dispatch(p, &perr) == -1)
			errx(1, "%s: %s: %s", sub_name[i],
			    peer_code_name(perr.code), perr.message);
		since = ss.rep.last > ss.started ? ss.rep.last : ss.started;
		if (ss.active && bench_now() - since > IDLE_SECS)
			sub_finish(false);
	}
}

/* The subscribing nodes P lists for PATTERN, other than itself. */
static int
topic_nodes(struct peer *p)
{
	struct cbor_field	 f[4], g[4];
	const struct cbor_field	*top, *tf, *nf, *lf;
	struct cbor_iter	 it;
	struct peer_error	 perr;
	const uint8_t		*item;
	const char		*s, *node;
	char			 seen[NSUB][64];
	uint8_t			*res;
	size_t			 reslen, ilen, slen, nlen;
	bool			 local;
	int			 nf_, ng, nseen = 0, k;

	if (peer_op(p, "topics", NULL, 0, 0, 0, &res, &reslen, &perr) == -1) {
		bench_check_children();
		errx(1, "peerd %s: topics: %s: %s", nodes[0].name,
		    peer_code_name(perr.code), perr.message);
	}
	if ((nf_ = cbor_scan_map(res, reslen, f, nitems(f))) == -1 ||
	    (top = cbor_field_get(f, nf_, "topics")) == NULL ||
	    !cbor_array_iter(top->val, top->vallen, &it))
		errx(1, "peerd %s: topics: a malformed answer", nodes[0].name);
	while (cbor_iter_next(&it, &item, &ilen)) {
		if ((ng = cbor_scan_map(item, ilen, g, nitems(g))) == -1 ||
		    (tf = cbor_field_get(g, ng, "topic")) == NULL ||
		    (nf = cbor_field_get(g, ng, "node")) == NULL ||
		    !cbor_read_text(tf->val, tf->vallen, &s, &slen) ||
		    !cbor_read_text(nf->val, nf->vallen, &node, &nlen))
			errx(1, "peerd %s: topics: a malformed entry",
			    nodes[0].name);
		if ((lf = cbor_field_get(g, ng, "local")) != NULL &&
		    cbor_read_bool(lf->val, lf->vallen, &local) && local)
			continue;
		if (slen != strlen(PATTERN) || memcmp(s, PATTERN, slen) != 0 ||
		    nlen >= sizeof(seen[0]))
			continue;
		for (k = 0; k < nseen; k++)
			if (strlen(seen[k]) == nlen &&
			    memcmp(seen[k], node, nlen) == 0)
				break;
		if (k == nseen && nseen < NSUB) {
			memcpy(seen[nseen], node, nlen);
			seen[nseen++][nlen] = '\0';
		}
	}
	free(res);
	return nseen;
}

/*
 * Starts the four daemons (S1 to S3 bootstrap to P) and a subscriber
 * on each S, opens the publisher's connection to P, and waits until P
 * lists the three as subscribing.
 */
static void
peerd_start(void)
{
	struct peer_error	 perr;
	uint8_t			 key[32];
	double			 end;
	int			 i, c[2], r[2], n;

	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		err(1, "getrandom");
	if (relayed) {
		/* P and each S keep one link, to R. */
		bench_node_start(&nodes[1 + NSUB], key, NULL);
		for (i = 0; i <= NSUB; i++) {
			memcpy(nodes[i].opts, bench_relayed_opts,
			    sizeof(nodes[i].opts));
			bench_node_start(&nodes[i], key, &nodes[1 + NSUB]);
		}
		procs[PEERD][NPROC - 1] = nodes[1 + NSUB].pid;
		nproc[PEERD] = NPROC;
		bench_nodes_wait(nodes, 2 + NSUB, LINK_SECS);
		for (i = 0; i <= NSUB; i++)
			bench_node_links(&nodes[i], 1);
	} else {
		bench_node_start(&nodes[0], key, NULL);
		for (i = 1; i <= NSUB; i++)
			bench_node_start(&nodes[i], key, &nodes[0]);
		bench_nodes_wait(nodes, 1 + NSUB, LINK_SECS);
	}
	for (i = 0; i <= NSUB; i++)
		procs[PEERD][1 + i] = nodes[i].pid;

	for (i = 0; i < NSUB; i++) {
		if (pipe2(c, O_CLOEXEC) == -1 || pipe2(r, O_CLOEXEC) == -1)
			err(1, "pipe");
		if ((procs[PEERD][5 + i] = bench_spawn()) == 0) {
			close(c[1]);
			close(r[0]);
			ss.fd = r[1];
			sub_main(i, c[0]);
		}
		bench_child_add(procs[PEERD][5 + i], sub_name[i]);
		close(c[0]);
		close(r[1]);
		cmd_fd[i] = c[1];
		rep_fd[i] = r[0];
	}

	if ((pp = peer_open(nodes[0].sock, &perr)) == NULL)
		errx(1, "peerd %s: %s", nodes[0].name, perr.message);
	end = bench_now() + TOPIC_SECS;
	while ((n = topic_nodes(pp)) < NSUB) {
		bench_check_children();
		if (bench_now() >= end)
			errx(1, "peerd %s lists %d of %d nodes subscribing "
			    "to %s within %d s", nodes[0].name, n, NSUB,
			    PATTERN, TOPIC_SECS);
		bench_sleep_ms(20);
	}
}

/* Reads one report from each subscriber, within secs. */
static void
sub_reports(struct sub_report *rep, double secs, const char *what)
{
	struct pollfd	pfd[NSUB];
	double		end = bench_now() + secs;
	bool		have[NSUB] = { false };
	ssize_t		n;
	int		i, left = NSUB;

	while (left > 0) {
		for (i = 0; i < NSUB; i++) {
			pfd[i].fd = have[i] ? -1 : rep_fd[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, NSUB, 100) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		for (i = 0; i < NSUB; i++) {
			if (have[i] || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			/* Reports are short: a pipe passes them whole. */
			if ((n = read(rep_fd[i], &rep[i], sizeof(rep[i]))) !=
			    (ssize_t)sizeof(rep[i])) {
				bench_check_children();
				errx(1, "%s: no %s report", sub_name[i], what);
			}
			have[i] = true;
			left--;
		}
		if (left > 0 && bench_now() >= end) {
			bench_check_children();
			errx(1, "%d subscriber%s sent no %s report within "
			    "%.0f s", left, left > 1 ? "s" : "", what, secs);
		}
	}
}

static void
pub_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct cbor_field	 f[4];
	const struct cbor_field	*nf;
	uint64_t		 n;
	int			 nfl;

	(void)p;
	(void)arg;
	if (r->error != NULL) {
		if (ps.fail[0] == '\0')
			snprintf(ps.fail, sizeof(ps.fail), "publish: %s: %s",
			    peer_code_name(r->error->code),
			    r->error->message);
	} else if ((nfl = cbor_scan_map(r->result, r->result_len, f,
	    nitems(f))) == -1 || (nf = cbor_field_get(f, nfl, "nodes")) ==
	    NULL || !cbor_read_uint(nf->val, nf->vallen, &n)) {
		if (ps.fail[0] == '\0')
			snprintf(ps.fail, sizeof(ps.fail), "publish: a "
			    "malformed reply");
	} else
		ps.nodes += n;
	ps.done++;
	ps.last = bench_now();
}

/*
 * Publishes n events of size bytes from this loop, DEPTH in flight,
 * then waits for every subscriber to be done.
 */
static void
peerd_run(size_t size, uint64_t n, struct result *res)
{
	struct sub_cmd		 cmd = { ++run_no, n, size };
	struct sub_report	 ready[NSUB];
	struct peer_error	 perr;
	struct pollfd		 pfd;
	uint8_t			*data;
	size_t			 h;
	uint64_t		 issued = 0;
	double			 t0;
	int			 i, r, t;

	for (i = 0; i < NSUB; i++)
		write_full(cmd_fd[i], &cmd, sizeof(cmd), "pipe");
	sub_reports(ready, READY_SECS, "ready");

	memset(&ps, 0, sizeof(ps));
	if ((data = malloc(5 + size)) == NULL)
		errx(1, "out of memory");
	h = bench_bstr_head(data, size);
	memcpy(data + h, bench_pat, size);
	t0 = ps.last = bench_now();
	for (;;) {
		while (issued < n && issued - ps.done < DEPTH) {
			bench_stamp(data + h, size, run_no << 32 | issued);
			if (peer_publish(pp, TOPIC, data, h + size, pub_cb,
			    NULL, &perr) == -1) {
				bench_check_children();
				errx(1, "peerd %zu: publish %llu: %s: %s",
				    size, (unsigned long long)issued,
				    peer_code_name(perr.code), perr.message);
			}
			issued++;
		}
		if (ps.fail[0] != '\0') {
			bench_check_children();
			errx(1, "peerd %zu: %s", size, ps.fail);
		}
		if (ps.done == n)
			break;
		if ((pfd.fd = peer_fd(pp)) == -1) {
			bench_check_children();
			errx(1, "peerd %zu: the connection to P is lost", size);
		}
		pfd.events = POLLIN;
		t = peer_timeout(pp);
		if (t < 0 || t > 1000)
			t = 1000;
		if ((r = poll(&pfd, 1, t)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (peer_dispatch(pp, &perr) == -1) {
			bench_check_children();
			errx(1, "peerd %zu: %s: %s", size,
			    peer_code_name(perr.code), perr.message);
		}
		if (r == 0 && bench_now() - ps.last > STALL_MS / 1000.0) {
			bench_check_children();
			errx(1, "peerd %zu: no reply for %d s, %llu of %llu "
			    "done", size, STALL_MS / 1000,
			    (unsigned long long)ps.done,
			    (unsigned long long)issued);
		}
	}
	res->pub_secs = ps.last - t0;
	res->nodes = ps.nodes;
	res->count = n;
	free(data);

	sub_reports(res->sub, IDLE_SECS + STALL_MS / 1000.0, "final");
	res->secs = 0;
	for (i = 0; i < NSUB; i++) {
		if (res->sub[i].badseq > 0 || res->sub[i].baddata > 0)
			errx(1, "peerd %zu: %s had %llu events out of order "
			    "and %llu corrupted", size, sub_name[i],
			    (unsigned long long)res->sub[i].badseq,
			    (unsigned long long)res->sub[i].baddata);
		if (res->sub[i].received > 0 &&
		    res->sub[i].last - t0 > res->secs)
			res->secs = res->sub[i].last - t0;
	}
}

/*
 * Frames one way down the chain for dur seconds, written straight
 * from bench_pat; then an empty frame, which the sink answers with
 * the count once it has checked them all.
 */
static void
raw_run(size_t size, double dur, struct result *res)
{
	struct bench_frames	*fw;
	struct pollfd		 pfd = { .fd = chain.fd };
	uint8_t			 endf[BENCH_FRAME_HDR] = { 0 }, ack[8];
	uint64_t		 next, count;
	size_t			 off, got = 0, put = 0;
	ssize_t			 n;
	double			 t0, last;
	int			 r;
	bool			 more = true;

	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		errx(1, "out of memory");
	fw->size = size;
	t0 = last = bench_now();
	while (more || fw->off > 0) {
		more = more && bench_now() - t0 < dur;
		next = fw->next;
		off = fw->off;
		bench_frames_write(chain.fd, fw, more ? fw->next +
		    BENCH_WRITE_FRAMES : fw->next + (fw->off > 0));
		if (fw->next != next || fw->off != off) {
			last = bench_now();
			continue;
		}
		pfd.events = POLLOUT;
		if ((r = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (r == 0 && bench_now() - last > STALL_MS / 1000.0) {
			bench_check_children();
			errx(1, "raw %zu: the chain took nothing for %d s",
			    size, STALL_MS / 1000);
		}
	}
	while (got < sizeof(ack)) {
		if (put < sizeof(endf)) {
			if ((n = write(chain.fd, endf + put,
			    sizeof(endf) - put)) > 0)
				put += (size_t)n;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				err(1, "raw: write");
		}
		pfd.events = POLLIN | (put < sizeof(endf) ? POLLOUT : 0);
		if ((r = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(chain.fd, ack + got,
			    sizeof(ack) - got)) == 0) {
				bench_check_children();
				errx(1, "raw: the chain closed");
			}
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				err(1, "raw: read");
			if (n > 0)
				got += (size_t)n;
		}
		if (r == 0 && bench_now() - last > STALL_MS / 1000.0) {
			bench_check_children();
			errx(1, "raw %zu: no count from the sink for %d s",
			    size, STALL_MS / 1000);
		}
	}
	res->secs = bench_now() - t0;
	memcpy(&count, ack, 8);
	if (count != fw->next)
		errx(1, "raw %zu: the sink counted %llu frames of %llu",
		    size, (unsigned long long)count,
		    (unsigned long long)fw->next);
	res->count = count;
	free(fw);
}

static double
rate(const struct result *r)
{
	return r->secs > 0 ? (double)r->count / r->secs : 0;
}

static void
show_run(const char *what, enum variant v, int nrun,
    const struct result *res)
{
	int	i;

	if (v == RAW)
		printf("  %-6s raw   run %d: %8.0f frames/s, %llu in %.3f s\n",
		    what, nrun, rate(res), (unsigned long long)res->count,
		    res->secs);
	else {
		printf("  %-6s peerd run %d: %8.0f events/s, %llu in %.3f s "
		    "(published in %.3f s, to %.2f nodes each)\n", what, nrun,
		    rate(res), (unsigned long long)res->count, res->secs,
		    res->pub_secs, (double)res->nodes / (double)res->count);
		for (i = 0; i < NSUB; i++)
			printf("    %s: %llu received, %llu lost, %llu stray, "
			    "%s\n", sub_name[i],
			    (unsigned long long)res->sub[i].received,
			    (unsigned long long)res->sub[i].lost,
			    (unsigned long long)res->sub[i].stray,
			    res->sub[i].done ? "had the last" :
			    "gave up waiting");
	}
	printf("    CPU us per %s:", v == RAW ? "frame" : "event");
	for (i = 0; i < nproc[v]; i++)
		printf(" %s %.1f", proc_name[v][i],
		    res->cpu[i] * 1e6 / (double)res->count);
	printf("\n");
}

/* One run on one path, with the CPU each of its processes spent. */
static void
run(enum variant v, const struct size *sz, uint64_t n, double dur,
    struct result *res)
{
	double	cpu0[NPROC];
	int	i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < nproc[v]; i++)
		cpu0[i] = bench_proc_cpu(procs[v][i]);
	if (v == RAW)
		raw_run(sz->size, dur, res);
	else
		peerd_run(sz->size, n, res);
	for (i = 0; i < nproc[v]; i++)
		res->cpu[i] = bench_proc_cpu(procs[v][i]) - cpu0[i];
}

/*
 * A warm-up on each path, then runs of each, alternating; the best of
 * each counts.
 */
static void
measure(struct row *row)
{
	struct result	res;
	uint64_t	n;
	int		r, v;

	n = events_n > 0 ? events_n : row->sz->events / (quick ? 10 : 1);
	run(RAW, row->sz, 0, duration / 10, &res);
	run(PEERD, row->sz, n / 10 > 0 ? n / 10 : 1, 0, &res);
	for (r = 0; r < runs; r++)
		for (v = RAW; v <= PEERD; v++) {
			run((enum variant)v, row->sz, n, duration, &res);
			if (verbose)
				show_run(row->sz->name, (enum variant)v, r + 1,
				    &res);
			if (rate(&res) > rate(&row->best[v]))
				row->best[v] = res;
		}
}

static void
print_row(const struct row *rw)
{
	const struct result	*p = &rw->best[PEERD];
	char			 dl[48];
	uint64_t		 lost = 0;
	int			 i;
	size_t			 len = 0;

	for (i = 0; i < NSUB; i++) {
		len += (size_t)snprintf(dl + len, sizeof(dl) - len, "%s%.3f",
		    i > 0 ? "/" : "", p->count > 0 ?
		    (double)p->sub[i].received / (double)p->count : 0);
		lost += p->sub[i].lost;
	}
	printf("%-7s %11.0f %11.0f %7.3f  %-19s %7llu\n", rw->sz->name,
	    rate(&rw->best[RAW]), rate(p), rate(p) / rate(&rw->best[RAW]),
	    dl, (unsigned long long)lost);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	static struct size	 one;
	static char		 one_name[32];
	struct size		*first = sizes, *end = sizes + nitems(sizes), *sz;
	struct row		 row;
	int			 ch, i;
	bool			 runs_set = false, dur_set = false;

	while ((ch = getopt(argc, argv, "e:n:qRs:t:v")) != -1) {
		switch (ch) {
		case 'R':
			relayed = true;
			break;
		case 'e':
			events_n = bench_opt_num(ch, optarg, 1, 0xffffffffu,
			    "events");
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
			one.size = bench_opt_num(ch, optarg, 16, EVENT_MAX,
			    "bytes");
			snprintf(one_name, sizeof(one_name), "%zu B",
			    one.size);
			one.name = one_name;
			one.events = one.size > (4u << 10) ? 5000 :
			    one.size > 64 ? 20000 : 100000;
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

	bench_setup("event_bench");
	procs[RAW][0] = procs[PEERD][0] = getpid();
	bench_chain_start(&chain, BENCH_SINK);
	for (i = 0; i < 3; i++)
		procs[RAW][1 + i] = chain.pid[i];
	peerd_start();

	printf("event_bench: events from one publisher, publisher -> P -> "
	    "%sS1, S2, S3 -> a subscriber\non each, against frames one way "
	    "down a raw relay chain (Unix socket, TCP on\n127.0.0.1, Unix "
	    "socket) measured in the same run\n", relayed ? "R (a relay) -> " :
	    "");
	printf("peerd: %d publishes in flight, events/s = events published "
	    "over the time until\nthe last subscriber had its last event; "
	    "raw: frames/s over %.2g s of writing;\nbest of %d run%s each\n\n",
	    DEPTH, duration, runs, runs > 1 ? "s" : "");
	printf("%-7s %11s %11s %7s  %-19s %7s\n", "size", "raw frame/s",
	    "peerd ev/s", "x raw", "delivered S1/S2/S3", "lost");
	fflush(stdout);
	for (sz = first; sz < end; sz++) {
		memset(&row, 0, sizeof(row));
		row.sz = sz;
		measure(&row);
		print_row(&row);
	}
	return 0;
}
