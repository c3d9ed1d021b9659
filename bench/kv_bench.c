/* SPDX-License-Identifier: ISC */
/*
 * kv_bench: the key-value store beside a remote call, on meshes of 3
 * and of 10 daemons on 127.0.0.1.  For values of 64 B and 4 KiB, and
 * echo calls whose arguments and answer are that size, measured in the
 * same run on the same daemons:
 *
 * - latency with one operation in flight, p50 and p99, of kv_get,
 *   kv_put and a call from the first daemon to an echo server on the
 *   second;
 * - throughput with 64 in flight, in operations/s.
 *
 * Each kv operation enters the store through the daemons in turn, so
 * that it lands on a node that may or may not own its key, as a
 * client's would.  Every value read is compared with what was put,
 * byte for byte, and every echoed call with what was sent; a wrong one
 * ends the program with status 1.  Then, on the last mesh, 10,000 keys
 * are put, a daemon that owns some of them is killed with SIGKILL, and
 * kv_where through the survivors measures when every key again has R
 * live copies.  The machine is shared, so only the ratios of the store
 * to the calls mean much.
 */
#include <sys/types.h>
#include <sys/random.h>

#include <err.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"

#include "bench_common.h"

#define DEPTH		64		/* operations in flight, pipelined */
#define NODES_MAX	10
#define KEYS		1000		/* the keys of one size's gets, puts */
#define RR_KEYS		10000		/* put before the kill, by default */
#define RR_SIZE		64		/* their values */
#define R		3		/* kv_replicas: the daemons' default */
#define OP_TIMEOUT_MS	20000
#define WHERE_MS	1000		/* kv_where's own wait for owners */
#define STALL_MS	10000		/* longest wait with nothing done */
#define LINK_SECS	20		/* for the daemons to see each other */
#define READY_SECS	10		/* for a service, the store's views */
#define DEAD_SECS	30		/* for the survivors to see the kill */
#define REPL_SECS	60		/* for every key to be back at R */
#define RUNS_MAX	20
#define SERVICE		"bench"
#define METHOD		"echo"

#define GOAL_GET_X	1.3		/* get p50 at most this x a call's */
#define GOAL_PUT_X	2.0		/* put p50 at most this x a call's */
#define GOAL_TPUT_X	0.7		/* gets/s at least this x calls/s */
#define GOAL_REPL_SECS	5.0

/* What one run does; the first NMEASURED are in the table. */
enum kind {
	CALL,
	GET,
	PUT,
	WHERE,
};
#define NMEASURED	3

static const char *const kind_name[] = { "call", "get", "put", "where" };

static const struct size {
	size_t		 size;
	const char	*name;
	int		 lat_n;		/* latency samples of each kind */
	int		 lat_quick;	/* with -q */
} sizes[] = {
	{ 64, "64 B", 2000, 200 },
	{ 4u << 10, "4 KiB", 2000, 200 },
};

static const int	meshes[] = { 3, 10 };

struct result {
	double		secs;		/* first operation to the last answer */
	uint64_t	ops;
};

struct row {
	int			 nodes;
	const struct size	*sz;
	double			 p50[NMEASURED], p99[NMEASURED];	/* us */
	struct result		 best[NMEASURED];	/* pipelined */
};

/* One run: its kind and the keys it works on. */
struct job {
	enum kind	 kind;
	size_t		 size;		/* of values, call arguments */
	const char	*prefix;	/* keys are PREFIX/N */
	uint64_t	 nkeys;		/* operation k works on key k % nkeys */
	const uint32_t	*keys;		/* or, if not NULL, on key keys[k] */
};

/* An operation in flight. */
struct slot {
	struct slot	*next;		/* free list */
	uint64_t	 seq;
	uint64_t	 key;
	double		 sent;
};

/* What kv_where showed of a key, and what is known of it. */
struct rkey {
	uint64_t	ver;		/* held by all its owners */
	bool		victim;		/* the daemon to be killed owns it */
	bool		ok;		/* at R live copies when last asked */
};

static struct bench_node	 nodes[NODES_MAX];
static char			 names[NODES_MAX][16];
static struct peer		*pn[NODES_MAX];	/* ours, to each daemon */
static int			 nnodes;
static int			 entry[NODES_MAX];	/* round-robin */
static int			 nentry;
static pid_t			 server = -1;	/* the echo server, on 1 */
static bool			 verbose;
static bool			 quick;
static int			 runs = 2;
static double			 duration = 1.0;
static uint64_t			 rr_keys = RR_KEYS;
static uint64_t			 links[nitems(meshes)][2];	/* min, max */

/* Re-replication: the keys, the victim, and what the checks saw. */
static struct {
	struct rkey	*k;
	const char	*victim;	/* its node ID */
	bool		 after;		/* the victim is dead */
	double		 fail_sent;	/* latest sending of a check failed */
	double		 done;		/* latest answer of a check passed */
	char		 why[640];	/* the latest failure */
} rr;

/* State of the current run, seen by the callback. */
static struct {
	struct job	 job;
	uint8_t		 head[5];	/* of the CBOR byte string */
	size_t		 headlen;
	uint8_t		*args;		/* a call's: head and payload */
	uint8_t		*val;		/* a put's payload */
	struct cbor_buf	 body;
	uint64_t	 done;
	double		 last;		/* when the last answer came */
	double		*rtt;		/* by seq, or NULL */
	struct slot	*free;
	char		 fail[640];	/* the first failure */
} rs;

static void
usage(void)
{
	fprintf(stderr, "usage: kv_bench [-qv] [-k keys] [-n runs] "
	    "[-o key=value] [-t seconds]\n");
	exit(2);
}

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keeps the first failure of a run; the loop ends the program. */
static void
fail(const char *fmt, ...)
{
	va_list	ap;

	if (rs.fail[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rs.fail, sizeof(rs.fail), fmt, ap);
	va_end(ap);
}

static void
key_name(char *buf, size_t len, const char *prefix, uint64_t k)
{
	snprintf(buf, len, "%s/%llu", prefix, (unsigned long long)k);
}

/* Whether text field name of a map is s. */
static bool
field_is(const struct cbor_field *f, int n, const char *name, const char *s)
{
	const struct cbor_field	*x;
	const char		*t;
	size_t			 len;

	return (x = cbor_field_get(f, n, name)) != NULL &&
	    cbor_read_text(x->val, x->vallen, &t, &len) &&
	    len == strlen(s) && memcmp(t, s, len) == 0;
}

/*
 * A kv_where answer for key k: whether it shows R owners that all
 * answered and hold one version, none of them the victim once it is
 * dead.  Before the kill it notes the version and whether the victim
 * is an owner.
 */
static bool
where_ok(const uint8_t *res, size_t len, uint64_t k)
{
	struct cbor_field	 f[8], o[16];
	const struct cbor_field	*owners, *x;
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 ilen;
	uint64_t		 v, ver = 0;
	bool			 yes, victim = false;
	int			 n, no, count = 0;

	if ((n = cbor_scan_map(res, len, f, nitems(f))) == -1 ||
	    (owners = cbor_field_get(f, n, "owners")) == NULL ||
	    !cbor_array_iter(owners->val, owners->vallen, &it)) {
		fail("kv_where rr/%llu: a malformed answer",
		    (unsigned long long)k);
		return false;
	}
	while (cbor_iter_next(&it, &item, &ilen)) {
		if ((no = cbor_scan_map(item, ilen, o, nitems(o))) == -1) {
			fail("kv_where rr/%llu: a malformed owner",
			    (unsigned long long)k);
			return false;
		}
		count++;
		if (field_is(o, no, "node", rr.victim))
			victim = true;
		if ((x = cbor_field_get(o, no, "answered")) == NULL ||
		    !cbor_read_bool(x->val, x->vallen, &yes) || !yes) {
			snprintf(rr.why, sizeof(rr.why), "rr/%llu: an owner "
			    "did not answer", (unsigned long long)k);
			return false;
		}
		if ((x = cbor_field_get(o, no, "version")) == NULL ||
		    !cbor_read_uint(x->val, x->vallen, &v) ||
		    cbor_field_get(o, no, "deleted") != NULL) {
			snprintf(rr.why, sizeof(rr.why), "rr/%llu: an owner "
			    "holds no copy", (unsigned long long)k);
			return false;
		}
		if (ver != 0 && v != ver) {
			snprintf(rr.why, sizeof(rr.why), "rr/%llu: owners "
			    "hold different versions", (unsigned long long)k);
			return false;
		}
		ver = v;
	}
	if (count != R || it.items != 0) {
		snprintf(rr.why, sizeof(rr.why), "rr/%llu: %d owners",
		    (unsigned long long)k, count);
		return false;
	}
	if (!rr.after) {
		rr.k[k].ver = ver;
		rr.k[k].victim = victim;
		return true;
	}
	if (victim) {
		snprintf(rr.why, sizeof(rr.why), "rr/%llu: the dead daemon "
		    "is still an owner", (unsigned long long)k);
		return false;
	}
	if (ver != rr.k[k].ver) {
		fail("kv_where rr/%llu: version %llu, not the %llu put",
		    (unsigned long long)k, (unsigned long long)ver,
		    (unsigned long long)rr.k[k].ver);
		return false;
	}
	return true;
}

/* A get's answer: the value put to key k, whole. */
static void
get_check(const struct peer_reply *r, uint64_t k)
{
	struct cbor_field	 f[8];
	const struct cbor_field	*x;
	const uint8_t		*v;
	size_t			 vlen;
	int			 n;

	if ((n = cbor_scan_map(r->result, r->result_len, f,
	    nitems(f))) == -1 || (x = cbor_field_get(f, n, "value")) ==
	    NULL || !cbor_read_bytes(x->val, x->vallen, &v, &vlen) ||
	    cbor_field_get(f, n, "version") == NULL)
		fail("get %s/%llu: a malformed answer", rs.job.prefix,
		    (unsigned long long)k);
	else if (vlen != rs.job.size ||
	    !bench_payload_ok(v, vlen, k))
		fail("get %s/%llu: the value arrived corrupted (%zu bytes)",
		    rs.job.prefix, (unsigned long long)k, vlen);
}

static void
op_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct cbor_field	 f[8];
	const struct cbor_field	*x;
	struct slot		*sl = arg;
	uint64_t		 v;
	double			 t = bench_now();
	int			 n;

	(void)p;
	if (rs.job.kind == WHERE) {
		if (r->error != NULL)
			snprintf(rr.why, sizeof(rr.why), "kv_where rr/%llu: "
			    "%s: %s", (unsigned long long)sl->key,
			    peer_code_name(r->error->code),
			    r->error->message);
		if (r->error == NULL && where_ok(r->result, r->result_len,
		    sl->key)) {
			rr.k[sl->key].ok = true;
			if (t > rr.done)
				rr.done = t;
		} else if (sl->sent > rr.fail_sent)
			rr.fail_sent = sl->sent;
	} else if (r->error != NULL)
		fail("%s %zu: operation %llu: %s: %s", kind_name[rs.job.kind],
		    rs.job.size, (unsigned long long)sl->seq,
		    peer_code_name(r->error->code), r->error->message);
	else if (rs.job.kind == CALL) {
		if (r->result_len != rs.headlen + rs.job.size ||
		    memcmp(r->result, rs.head, rs.headlen) != 0 ||
		    !bench_payload_ok(r->result + rs.headlen, rs.job.size,
		    sl->seq))
			fail("call %zu: the answer to call %llu arrived "
			    "corrupted (%zu bytes)", rs.job.size,
			    (unsigned long long)sl->seq, r->result_len);
	} else if (rs.job.kind == GET)
		get_check(r, sl->key);
	else if ((n = cbor_scan_map(r->result, r->result_len, f,
	    nitems(f))) == -1 || (x = cbor_field_get(f, n, "version")) ==
	    NULL || !cbor_read_uint(x->val, x->vallen, &v))
		fail("put %s/%llu: no version in the answer", rs.job.prefix,
		    (unsigned long long)sl->key);
	if (rs.rtt != NULL)
		rs.rtt[sl->seq] = t - sl->sent;
	rs.done++;
	rs.last = t;
	sl->next = rs.free;
	rs.free = sl;
}

/*
 * Starts operation sl: a call from the first daemon, or a kv op
 * through the daemons in turn.  As peer_request.
 */
static int
issue(struct slot *sl, struct peer_error *perr)
{
	static const char *const	 op[] = { NULL, "kv_get", "kv_put",
					    "kv_where" };
	struct peer_call_opts		 opts = {
		.timeout_ms = OP_TIMEOUT_MS };
	struct cbor_buf			*b = &rs.body;
	char				 key[64];

	if (rs.job.kind == CALL) {
		bench_stamp(rs.args + rs.headlen, rs.job.size, sl->seq);
		return peer_call(pn[0], SERVICE, METHOD, rs.args,
		    rs.headlen + rs.job.size, &opts, op_cb, sl, NULL, perr);
	}
	key_name(key, sizeof(key), rs.job.prefix, sl->key);
	cbor_buf_reset(b);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	if (rs.job.kind == PUT) {
		bench_stamp(rs.val, rs.job.size, sl->key);
		cbor_put_text(b, "value");
		cbor_put_bytes(b, rs.val, rs.job.size);
	} else if (rs.job.kind == WHERE) {
		cbor_put_text(b, "timeout");
		cbor_put_uint(b, WHERE_MS);
	}
	if (b->failed)
		errx(1, "out of memory");
	return peer_request(pn[entry[sl->seq % (uint64_t)nentry]],
	    op[rs.job.kind], b->data, b->len, rs.job.kind == GET ? 1 : 2,
	    OP_TIMEOUT_MS, op_cb, sl, NULL, perr);
}

/*
 * count operations of job, or as many as start within dur seconds if
 * count is 0, with up to depth in flight.  They start from this loop,
 * never from the callback, so that one that waits for room to write
 * keeps answers coming in.
 */
static void
run(const struct job *job, int depth, uint64_t count, double dur,
    double *rtt, struct result *res)
{
	struct peer_error	 perr;
	struct pollfd		 pfd[NODES_MAX];
	struct peer		*conn[NODES_MAX];
	struct slot		*slots, *sl;
	double			 t0, tnow;
	uint64_t		 issued = 0;
	int			 i, nconn, r, t, tt;
	bool			 more = true;

	rs.job = *job;
	rs.done = 0;
	rs.rtt = rtt;
	rs.free = NULL;
	rs.fail[0] = '\0';
	rs.headlen = bench_bstr_head(rs.head, job->size);
	memcpy(rs.args, rs.head, rs.headlen);
	memcpy(rs.args + rs.headlen, bench_pat, job->size);
	memcpy(rs.val, bench_pat, job->size);
	if ((slots = calloc((size_t)depth, sizeof(*slots))) == NULL)
		errx(1, "out of memory");
	for (i = 0; i < depth; i++) {
		slots[i].next = rs.free;
		rs.free = &slots[i];
	}
	if (job->kind == CALL) {
		conn[0] = pn[0];
		nconn = 1;
	} else
		for (nconn = 0; nconn < nentry; nconn++)
			conn[nconn] = pn[entry[nconn]];
	t0 = rs.last = bench_now();
	for (;;) {
		tnow = bench_now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && rs.free != NULL &&
		    (count == 0 || issued < count)) {
			sl = rs.free;
			rs.free = sl->next;
			sl->seq = issued++;
			sl->key = job->keys != NULL ? job->keys[sl->seq] :
			    job->nkeys > 0 ? sl->seq % job->nkeys : 0;
			sl->sent = tnow;
			if (issue(sl, &perr) == -1) {
				issued--;
				sl->next = rs.free;
				rs.free = sl;
				/* Full: it waits for room. */
				if (peer_queue_full(pn[job->kind == CALL ? 0 :
				    entry[sl->seq % (uint64_t)nentry]]))
					break;
				bench_check_children();
				errx(1, "%s %zu: operation %llu: %s: %s",
				    kind_name[job->kind], job->size,
				    (unsigned long long)sl->seq,
				    peer_code_name(perr.code), perr.message);
			}
			tnow = bench_now();
		}
		if (rs.fail[0] != '\0') {
			bench_check_children();
			errx(1, "%s", rs.fail);
		}
		if (!more && rs.done == issued)
			break;
		t = 1000;
		for (i = 0; i < nconn; i++) {
			if ((pfd[i].fd = peer_fd(conn[i])) == -1) {
				bench_check_children();
				errx(1, "the connection to a daemon is lost");
			}
			pfd[i].events = POLLIN | (peer_wants_write(conn[i]) ?
			    POLLOUT : 0);
			pfd[i].revents = 0;
			if ((tt = peer_timeout(conn[i])) >= 0 && tt < t)
				t = tt;
		}
		if ((r = poll(pfd, (nfds_t)nconn, t)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		for (i = 0; i < nconn; i++)
			if ((pfd[i].revents != 0 ||
			    peer_timeout(conn[i]) == 0) &&
			    peer_dispatch(conn[i], &perr) == -1) {
				bench_check_children();
				errx(1, "%s %zu: %s: %s", kind_name[job->kind],
				    job->size, peer_code_name(perr.code),
				    perr.message);
			}
		if (r == 0 && bench_now() - rs.last > STALL_MS / 1000.0) {
			bench_check_children();
			errx(1, "%s %zu: no answer for %d s, %llu of %llu "
			    "done", kind_name[job->kind], job->size,
			    STALL_MS / 1000, (unsigned long long)rs.done,
			    (unsigned long long)issued);
		}
	}
	res->secs = rs.last - t0;
	res->ops = rs.done;
	free(slots);
}

/* The echo server, on the second daemon: answers with the arguments. */
static void
echo_handler(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct peer_error	perr;

	(void)arg;
	if (peer_answer(p, inv->call, inv->args, inv->args_len, &perr) == -1)
		errx(1, "server: answer: %s: %s", peer_code_name(perr.code),
		    perr.message);
}

static void __attribute__((noreturn))
server_main(void)
{
	struct peer_error	 perr;
	struct peer		*p;

	if ((p = peer_open(nodes[1].sock, &perr)) == NULL)
		errx(1, "server: %s", perr.message);
	peer_set_nonblocking(p, true);
	if (peer_serve(p, SERVICE, NULL, echo_handler, NULL, &perr) == -1)
		errx(1, "server: serve: %s: %s", peer_code_name(perr.code),
		    perr.message);
	if (peer_run(p, &perr) == -1)
		errx(1, "server: %s: %s", peer_code_name(perr.code),
		    perr.message);
	_exit(0);
}

/* A synchronous op, retried while it fails with UNAVAILABLE. */
static void
ready_op(struct peer *p, const char *what, const char *op, const void *body,
    size_t len, size_t n)
{
	struct peer_error	 perr;
	uint8_t			*res;
	size_t			 reslen;
	double			 end = bench_now() + READY_SECS;

	while (peer_op(p, op, body, len, n, 2000, &res, &reslen,
	    &perr) == -1) {
		bench_check_children();
		if (perr.code != PEER_UNAVAILABLE)
			errx(1, "%s: %s: %s", what, peer_code_name(perr.code),
			    perr.message);
		if (bench_now() >= end)
			errx(1, "%s: still %s after %d s: %s", what,
			    peer_code_name(perr.code), READY_SECS,
			    perr.message);
		bench_sleep_ms(20);
	}
	free(res);
}

/* Calls until the service answers on the first daemon. */
static void
first_call(void)
{
	struct peer_call_opts	 opts = { .timeout_ms = 2000 };
	struct peer_error	 perr;
	uint8_t			 args[8], *res;
	size_t			 len;
	double			 end = bench_now() + READY_SECS;

	args[0] = 0x44;
	memcpy(args + 1, "kvkv", 4);
	while (peer_call_sync(pn[0], SERVICE, METHOD, args, 5, &opts, &res,
	    &len, &perr) == -1) {
		bench_check_children();
		if (perr.code != PEER_NOT_FOUND)
			errx(1, "the first call: %s: %s",
			    peer_code_name(perr.code), perr.message);
		if (bench_now() >= end)
			errx(1, "service %s not found from %s within %d s",
			    SERVICE, nodes[0].name, READY_SECS);
		bench_sleep_ms(20);
	}
	if (len != 5 || memcmp(res, args, 5) != 0)
		errx(1, "the first call came back corrupted");
	free(res);
}

/* The fewest and the most mesh links a daemon has. */
static void
links_count(uint64_t mm[2])
{
	struct peer_status	*st;
	struct peer_error	 perr;
	int			 i;

	mm[0] = UINT64_MAX;
	mm[1] = 0;
	for (i = 0; i < nnodes; i++) {
		if (peer_status(pn[i], &st, &perr) == -1) {
			bench_check_children();
			errx(1, "peerd %s: status: %s", nodes[i].name,
			    perr.message);
		}
		if (st->peers < mm[0])
			mm[0] = st->peers;
		if (st->peers > mm[1])
			mm[1] = st->peers;
		peer_status_free(st);
	}
}

/*
 * Starts n daemons, the echo server on the second, opens a connection
 * to each, and waits until the service answers on the first and a put
 * is taken through each.
 */
static void
mesh_start(int n)
{
	struct peer_error	 perr;
	struct cbor_buf		 b = { 0 };
	uint8_t			 key[32];
	char			 what[64];
	int			 i;

	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		err(1, "getrandom");
	nnodes = nentry = n;
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "kv%d-%d", n, i);
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].name = names[i];
		bench_node_start(&nodes[i], key, i > 0 ? &nodes[0] : NULL);
		entry[i] = i;
	}
	bench_nodes_wait(nodes, n, LINK_SECS);
	if ((server = bench_spawn()) == 0)
		server_main();
	bench_child_add(server, "echo server");
	for (i = 0; i < n; i++) {
		if ((pn[i] = peer_open(nodes[i].sock, &perr)) == NULL)
			errx(1, "peerd %s: %s", nodes[i].name, perr.message);
		peer_set_nonblocking(pn[i], true);
	}

	first_call();
	cbor_put_text(&b, "key");
	cbor_put_text(&b, "ready");
	cbor_put_text(&b, "value");
	cbor_put_uint(&b, 1);
	if (b.failed)
		errx(1, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "the first put through %s",
		    nodes[i].name);
		ready_op(pn[i], what, "kv_put", b.data, b.len, 2);
	}
	cbor_buf_free(&b);
}

/* The server goes first, so that it never sees its daemon vanish. */
static void
mesh_stop(void)
{
	int	i;

	bench_child_end(server, SIGTERM);
	server = -1;
	for (i = 0; i < nnodes; i++) {
		peer_close(pn[i]);
		pn[i] = NULL;
		if (nodes[i].pid > 0)
			bench_child_end(nodes[i].pid, SIGTERM);
		nodes[i].pid = -1;
	}
	nnodes = nentry = 0;
}

/* The job of kind for a row's size: its own KEYS keys. */
static struct job
row_job(const struct row *rw, enum kind kind)
{
	static char	prefix[32];

	snprintf(prefix, sizeof(prefix), "kvb/%zu", rw->sz->size);
	return (struct job){ kind, rw->sz->size, prefix, KEYS, NULL };
}

/*
 * Latency: one operation in flight, n of each kind, taken in runs
 * chunks that alternate between the kinds, after a warm-up of each.
 */
static void
measure_latency(struct row *rw)
{
	struct result	 res;
	struct job	 job;
	double		*rtt[NMEASURED], *chunk;
	int		 n, per, warm, r, v, got[NMEASURED] = { 0 };

	n = quick ? rw->sz->lat_quick : rw->sz->lat_n;
	per = (n + runs - 1) / runs;
	n = per * runs;
	warm = n / 10 < 5 ? 5 : n / 10;
	for (v = 0; v < NMEASURED; v++)
		if ((rtt[v] = calloc((size_t)n, sizeof(double))) == NULL)
			errx(1, "out of memory");
	if ((chunk = calloc((size_t)(per > warm ? per : warm),
	    sizeof(double))) == NULL)
		errx(1, "out of memory");
	for (v = 0; v < NMEASURED; v++) {
		job = row_job(rw, (enum kind)v);
		run(&job, 1, (uint64_t)warm, 0, chunk, &res);
	}
	for (r = 0; r < runs; r++)
		for (v = 0; v < NMEASURED; v++) {
			job = row_job(rw, (enum kind)v);
			run(&job, 1, (uint64_t)per, 0, chunk, &res);
			memcpy(rtt[v] + got[v], chunk, (size_t)per *
			    sizeof(double));
			got[v] += per;
			if (verbose) {
				bench_sort(chunk, per);
				printf("  %2d %-6s %-4s latency, chunk %d: p50 "
				    "%.0f us, p99 %.0f us\n", rw->nodes,
				    rw->sz->name, kind_name[v], r + 1,
				    bench_pct(chunk, per, 50) * 1e6,
				    bench_pct(chunk, per, 99) * 1e6);
			}
		}
	for (v = 0; v < NMEASURED; v++) {
		bench_sort(rtt[v], n);
		rw->p50[v] = bench_pct(rtt[v], n, 50) * 1e6;
		rw->p99[v] = bench_pct(rtt[v], n, 99) * 1e6;
		free(rtt[v]);
	}
	free(chunk);
}

static double
ops_s(const struct result *r)
{
	return r->secs > 0 ? (double)r->ops / r->secs : 0;
}

/* Throughput: DEPTH in flight, runs of each kind, alternating; best. */
static void
measure_throughput(struct row *rw)
{
	struct result	res;
	struct job	job;
	int		r, v;

	for (r = 0; r < runs; r++)
		for (v = 0; v < NMEASURED; v++) {
			job = row_job(rw, (enum kind)v);
			run(&job, DEPTH, 0, duration, NULL, &res);
			if (verbose)
				printf("  %2d %-6s %-4s %d in flight: %.0f "
				    "ops/s\n", rw->nodes, rw->sz->name,
				    kind_name[v], DEPTH, ops_s(&res));
			if (ops_s(&res) > ops_s(&rw->best[v]))
				rw->best[v] = res;
		}
}

static void
print_row(const struct row *rw)
{
	const double	*p = rw->p50;
	double		 c = ops_s(&rw->best[CALL]), g = ops_s(&rw->best[GET]);

	printf("%7d  %-6s  %8.0f  %7.0f  %6.2f  %7.0f  %6.2f  %8.0f  "
	    "%7.0f  %7.2f  %7.0f\n", rw->nodes, rw->sz->name, p[CALL],
	    p[GET], p[GET] / p[CALL], p[PUT], p[PUT] / p[CALL], c, g, g / c,
	    ops_s(&rw->best[PUT]));
	if (verbose)
		printf("%7s  %-6s  p99 us: call %.0f, get %.0f, put %.0f\n",
		    "", "", rw->p99[CALL], rw->p99[GET], rw->p99[PUT]);
	fflush(stdout);
}

static const char *
met(bool yes)
{
	return yes ? "met" : "not met";
}

static void
print_goals(const struct row *rw)
{
	double	gx = rw->p50[GET] / rw->p50[CALL];
	double	px = rw->p50[PUT] / rw->p50[CALL];
	double	tx = ops_s(&rw->best[GET]) / ops_s(&rw->best[CALL]);

	printf("  %2d daemons, %-6s get p50 %.2f x call (<= %.1f): %s; put "
	    "p50 %.2f x call (<= %.1f): %s; gets/s %.2f x calls/s "
	    "(>= %.1f): %s\n", rw->nodes, rw->sz->name, gx, GOAL_GET_X,
	    met(gx <= GOAL_GET_X), px, GOAL_PUT_X, met(px <= GOAL_PUT_X), tx,
	    GOAL_TPUT_X, met(tx >= GOAL_TPUT_X));
}

/*
 * Sweeps kv_where over keys (all rr_keys if keys is NULL, n of them)
 * until every one passes or secs have passed; returns how many are
 * left failing.  Each sweep asks again only those that failed.
 */
static uint64_t
sweep(uint32_t *keys, uint64_t n, double secs)
{
	static const struct job	 base = { WHERE, 0, "rr", 0, NULL };
	struct result		 res;
	struct job		 job = base;
	double			 end = bench_now() + secs;
	uint64_t		 i, left;

	for (;;) {
		for (i = 0; i < n; i++)
			rr.k[keys[i]].ok = false;
		job.keys = keys;
		run(&job, DEPTH, n, 0, NULL, &res);
		for (i = left = 0; i < n; i++)
			if (!rr.k[keys[i]].ok)
				keys[left++] = keys[i];
		if (left == 0 || bench_now() >= end)
			return left;
		n = left;
		bench_sleep_ms(10);
	}
}

/* Whether every survivor lists the victim as dead. */
static bool
victim_dead(int victim)
{
	struct cbor_field	 f[8], m[16];
	const struct cbor_field	*list;
	struct cbor_iter	 it;
	struct peer_error	 perr;
	const uint8_t		*item;
	uint8_t			*res;
	size_t			 len, ilen;
	bool			 dead;
	int			 i, n, nm;

	for (i = 0; i < nnodes; i++) {
		if (i == victim)
			continue;
		if (peer_op(pn[i], "members", NULL, 0, 0, 2000, &res, &len,
		    &perr) == -1) {
			bench_check_children();
			errx(1, "peerd %s: members: %s: %s", nodes[i].name,
			    peer_code_name(perr.code), perr.message);
		}
		if ((n = cbor_scan_map(res, len, f, nitems(f))) == -1 ||
		    (list = cbor_field_get(f, n, "members")) == NULL ||
		    !cbor_array_iter(list->val, list->vallen, &it))
			errx(1, "peerd %s: members: a malformed answer",
			    nodes[i].name);
		dead = false;
		while (cbor_iter_next(&it, &item, &ilen))
			if ((nm = cbor_scan_map(item, ilen, m,
			    nitems(m))) != -1 &&
			    field_is(m, nm, "node", rr.victim) &&
			    field_is(m, nm, "state", "dead"))
				dead = true;
		free(res);
		if (!dead)
			return false;
	}
	return true;
}

/*
 * On the running mesh: puts rr_keys keys, checks that each is at R
 * copies, kills a daemon that owns some with SIGKILL, and measures
 * when each of its keys is back at R live copies.
 */
static void
rereplicate(void)
{
	static const struct job	 put = { PUT, RR_SIZE, "rr", 0, NULL };
	struct result		 res;
	struct job		 job = put;
	uint32_t		*keys;
	char			 victim_id[128];
	double			 t0, tkill, tdead, lo, hi;
	uint64_t		 i, left, owned;
	int			 victim = nnodes - 1, k;

	if ((rr.k = calloc(rr_keys, sizeof(*rr.k))) == NULL ||
	    (keys = calloc(rr_keys, sizeof(*keys))) == NULL)
		errx(1, "out of memory");
	snprintf(victim_id, sizeof(victim_id), "%s",
	    peer_node_id(pn[victim]));
	rr.victim = victim_id;
	rr.after = false;

	job.nkeys = rr_keys;
	t0 = bench_now();
	run(&job, DEPTH, rr_keys, 0, NULL, &res);
	printf("\nre-replication on %d daemons, kv_replicas %d: %llu keys of "
	    "%d B put in %.2f s (%.0f puts/s)\n", nnodes, R,
	    (unsigned long long)rr_keys, RR_SIZE, bench_now() - t0,
	    ops_s(&res));
	fflush(stdout);

	for (i = 0; i < rr_keys; i++)
		keys[i] = (uint32_t)i;
	t0 = bench_now();
	if ((left = sweep(keys, rr_keys, REPL_SECS)) > 0)
		errx(1, "before the kill, %llu keys are not at %d copies "
		    "(%s)", (unsigned long long)left, R, rr.why);
	for (i = owned = 0; i < rr_keys; i++)
		if (rr.k[i].victim)
			keys[owned++] = (uint32_t)i;
	printf("  every key at %d copies (kv_where of all %llu took %.2f s); "
	    "%s owns %llu\n", R, (unsigned long long)rr_keys,
	    bench_now() - t0, nodes[victim].name, (unsigned long long)owned);
	fflush(stdout);
	if (owned == 0)
		errx(1, "%s owns none of the keys", nodes[victim].name);

	tkill = bench_now();
	bench_child_end(nodes[victim].pid, SIGKILL);
	nodes[victim].pid = -1;
	for (k = nentry = 0; k < nnodes; k++)
		if (k != victim)
			entry[nentry++] = k;
	while (!victim_dead(victim)) {
		bench_check_children();
		if (bench_now() - tkill > DEAD_SECS)
			errx(1, "the survivors do not all mark %s dead within "
			    "%d s", nodes[victim].name, DEAD_SECS);
		bench_sleep_ms(10);
	}
	tdead = bench_now();

	rr.after = true;
	rr.fail_sent = rr.done = 0;
	if ((left = sweep(keys, owned, REPL_SECS)) > 0)
		errx(1, "%llu keys of %s are not back at %d live copies %d s "
		    "after it was marked dead (%s)", (unsigned long long)left,
		    nodes[victim].name, R, REPL_SECS, rr.why);
	/* It was done after the last check that failed went out. */
	lo = rr.fail_sent > 0 ? rr.fail_sent - tkill : -1;
	hi = rr.done - tkill;

	for (i = 0; i < rr_keys; i++)
		keys[i] = (uint32_t)i;
	if ((left = sweep(keys, rr_keys, 0)) > 0)
		errx(1, "after the re-replication %llu keys are not at %d "
		    "live copies (%s)", (unsigned long long)left, R, rr.why);

	printf("  kill -9 of %s: all %d survivors mark it dead after %.2f s\n",
	    nodes[victim].name, nnodes - 1, tdead - tkill);
	if (lo >= 0)
		printf("  its %llu keys back at %d live copies %.2f to %.2f s "
		    "after the kill, %.2f to %.2f s after it was marked "
		    "dead\n", (unsigned long long)owned, R, lo, hi,
		    lo - (tdead - tkill), hi - (tdead - tkill));
	else
		printf("  its %llu keys back at %d live copies by %.2f s after "
		    "the kill, %.2f s after it was marked dead: the first "
		    "check found them there\n", (unsigned long long)owned, R,
		    hi, hi - (tdead - tkill));
	printf("  goal: back at %d copies <= %.0f s after the kill: %s; "
	    "after it was marked dead: %s\n", R, GOAL_REPL_SECS,
	    met(hi <= GOAL_REPL_SECS),
	    met(hi - (tdead - tkill) <= GOAL_REPL_SECS));
	fflush(stdout);
	free(keys);
	free(rr.k);
	rr.k = NULL;
}

int
main(int argc, char *argv[])
{
	struct row	 rows[nitems(meshes) * nitems(sizes)], *rw;
	struct job	 fill;
	struct result	 res;
	const char	*conf[16];
	FILE		*f;
	size_t		 m, s, nconf = 0;
	int		 ch, nrows = 0, i;
	bool		 runs_set = false, dur_set = false;

	while ((ch = getopt(argc, argv, "k:n:o:qt:v")) != -1) {
		switch (ch) {
		case 'o':
			if (strchr(optarg, '=') == NULL ||
			    strchr(optarg, '\n') != NULL)
				errx(2, "-o: KEY=VALUE");
			if (nconf == nitems(conf))
				errx(2, "-o: at most %zu", nitems(conf));
			conf[nconf++] = optarg;
			break;
		case 'k':
			rr_keys = bench_opt_num(ch, optarg, 0, 1000000,
			    "keys");
			break;
		case 'n':
			runs = (int)bench_opt_num(ch, optarg, 1, RUNS_MAX,
			    "runs");
			runs_set = true;
			break;
		case 'q':
			quick = true;
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

	bench_setup("kv_bench");
	/* KEY=VALUE as "KEY = VALUE", for the daemons to check. */
	if ((f = fopen(bench_conf, "w")) == NULL)
		err(1, "%s", bench_conf);
	for (m = 0; m < nconf; m++)
		fprintf(f, "%.*s = %s\n", (int)(strchr(conf[m], '=') -
		    conf[m]), conf[m], strchr(conf[m], '=') + 1);
	if (fclose(f) == EOF)
		err(1, "%s", bench_conf);
	if ((rs.args = malloc(8 + BENCH_PAYLOAD_MAX)) == NULL ||
	    (rs.val = malloc(BENCH_PAYLOAD_MAX)) == NULL)
		errx(1, "out of memory");

	printf("kv_bench: kv ops and echo calls of the same size on the "
	    "same daemons, in the same run:\n  get, put: client -> entry "
	    "daemon (each in turn) -> the key's owners\n  call: client -> "
	    "first daemon -> second daemon -> echo server\n");
	printf("latency: 1 in flight, p50 in us over %s ops of each kind in "
	    "%d chunk%s;\nthroughput: %d in flight, best of %d run%s of "
	    "%.2g s; x = kv / call\n\n", quick ? "200" : "2000", runs,
	    runs > 1 ? "s" : "", DEPTH, runs, runs > 1 ? "s" : "", duration);
	printf("%7s  %-6s  %8s  %7s  %6s  %7s  %6s  %8s  %7s  %7s  %7s\n",
	    "daemons", "size", "call p50", "get p50", "x call", "put p50",
	    "x call", "calls/s", "gets/s", "x calls", "puts/s");
	fflush(stdout);
	for (m = 0; m < nitems(meshes); m++) {
		mesh_start(meshes[m]);
		for (s = 0; s < nitems(sizes); s++) {
			rw = &rows[nrows++];
			memset(rw, 0, sizeof(*rw));
			rw->nodes = meshes[m];
			rw->sz = &sizes[s];
			/* The keys the gets read, in place first. */
			fill = row_job(rw, PUT);
			run(&fill, DEPTH, KEYS, 0, NULL, &res);
			measure_latency(rw);
			measure_throughput(rw);
			print_row(rw);
		}
		links_count(links[m]);
		if (m == nitems(meshes) - 1 && rr_keys > 0)
			rereplicate();
		mesh_stop();
	}

	printf("\nmesh links of a daemon, after the runs:");
	for (m = 0; m < nitems(meshes); m++)
		printf("%s %d daemons %llu to %llu", m > 0 ? ";" : "",
		    meshes[m], (unsigned long long)links[m][0],
		    (unsigned long long)links[m][1]);
	printf("\n\ngoals (ops/s with %d in flight):\n", DEPTH);
	for (i = 0; i < nrows; i++)
		print_goals(&rows[i]);
	return 0;
}
