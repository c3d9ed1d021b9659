/* SPDX-License-Identifier: ISC */
/*
 * call_bench: a remote call through two daemons, app -> peerd A ->
 * peerd B -> app and back, beside two baselines with two hops each
 * way.  One is a raw relay chain: caller -> Unix socket -> relay R1 ->
 * TCP on 127.0.0.1 -> relay R2 -> Unix socket -> echo server, and
 * back; it carries plain frames with a 4-byte length, no crypto and no
 * CBOR, and its relays are separate processes that forward with poll()
 * and reads of up to 256 KiB.  The other is NATS request/reply: caller
 * -> nats-server -> responder -> nats-server -> caller, over TCP on
 * 127.0.0.1, with the server started here from the nats-server package
 * (without it, the bench says so and measures the other two).  All are
 * built and measured in the same run, for payloads of 64 B, 4 KiB,
 * 64 KiB and 1 MiB:
 *
 * - latency with one call in flight, p50 and p99;
 * - throughput with 64 calls in flight, in calls/s.
 *
 * Every echoed payload is compared with what was sent, byte for byte;
 * a wrong one ends the program with status 1.  The machine is shared,
 * so only the ratios of peerd to the baselines mean much.  The peerd
 * server answers in its handler, or with -a from its own loop once the
 * handler has returned.
 *
 * With -C socket it is only the caller, for another program's bench
 * (bench/python_bench.py): it calls method echo of service -S through
 * the daemon at socket, which that program started with the service,
 * and prints every latency and the best throughput of one size.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "nats_client.h"

#define DEPTH		64		/* calls in flight when pipelined */
#define STALL_MS	10000		/* longest wait with no call done */
#define CALL_TIMEOUT_MS	20000
#define LINK_SECS	15		/* for the two to see each other */
#define SERVE_SECS	10		/* for the service to show at A */
#define NATS_SECS	5		/* for nats-server and its clients */
#define RUNS_MAX	20
#define SERVICE		"bench"
#define METHOD		"echo"
#define NATS_SUBJECT	"bench.echo"

#define GOAL_TPUT_X	1.5		/* peerd calls/s at least this x NATS */

enum variant {
	RAW,
	NATS,
	PEERD,
	NVARIANT,
};

static const char *const variant_name[] = { "raw", "nats", "peerd" };

/* The processes of each path whose CPU is counted; 0 is this one. */
#define NPROC		5
static const char *const proc_name[NVARIANT][NPROC] = {
	{ "caller", "R1", "R2", "echo", NULL },
	{ "caller", "nats-server", "responder", NULL, NULL },
	{ "caller", "peerd A", "peerd B", "server", "peerd R" },
};
static pid_t	procs[NVARIANT][NPROC];

static struct size {
	size_t		 size;
	const char	*name;
	int		 lat_n;		/* latency samples */
	int		 lat_quick;	/* with -q */
	double		 goal_x;	/* peerd p50 at most this x raw; 0 */
} sizes[] = {
	{ 64, "64 B", 2000, 200, 1.15 },
	{ 4u << 10, "4 KiB", 2000, 200, 1.3 },
	{ 64u << 10, "64 KiB", 500, 50, 2.0 },
	{ 1u << 20, "1 MiB", 100, 20, 2.5 },
};

struct result {
	double		secs;		/* first call to the last answer */
	uint64_t	calls;
	double		cpu[NPROC];	/* seconds, each process */
};

struct row {
	const struct size *sz;
	double		 p50[NVARIANT], p99[NVARIANT];	/* microseconds */
	struct result	 best[NVARIANT];		/* pipelined */
};

/*
 * A path of plain frames, written by bench_frames_write: the raw chain
 * or NATS.  answer() finds the next whole thing in buf[len]: 0 if none
 * is there yet, else the bytes it takes, with *payload set if it is the
 * answer of size bytes to call seq, else NULL; it errx()s on anything
 * else.  It may leave a line in owed, to go out between two frames.
 */
struct stream {
	const char	*name;
	int		 fd;		/* non-blocking */
	size_t		(*head)(uint8_t *, size_t, uint64_t);
	const char	*trail;
	size_t		 over;		/* most bytes of an answer not payload */
	size_t		(*answer)(struct stream *, const uint8_t *buf,
			    size_t len, size_t size, uint64_t seq,
			    const uint8_t **payload);
	const char	*owed;		/* or NULL */
};

/* A call in flight on the peerd path. */
struct slot {
	struct slot	*next;		/* free list */
	uint64_t	 seq;
	double		 sent;
};

static struct bench_node	 nodes[3] = { { .name = "callA" },
			    { .name = "callB" }, { .name = "callR" } };
static bool		 relayed;	/* -R: A -> R -> B */
static struct bench_chain chain = { .fd = -1 };
static struct sockaddr_in nats_sin;	/* the NATS server's */
static char		 nats_inbox[32];	/* _INBOX.<random hex> */
static bool		 have_nats;
static bool		 verbose;
static bool		 quick;
static bool		 answer_later;	/* -a */
static bool		 blocking;	/* -b: libpeer's blocking sends */
static int		 runs = 2;
static double		 duration = 1.0;
static struct peer	*pa;		/* the caller's connection to A */
static const char	*service = SERVICE;	/* -S, with -C */
static const char	*client_sock;	/* -C: only the caller, there */

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
	fprintf(stderr, "usage: call_bench [-abqRv] [-n runs] [-s bytes] "
	    "[-t seconds]\n"
	    "       call_bench -C socket [-bq] [-n runs] [-S service] "
	    "[-s bytes] [-t seconds]\n");
	exit(2);
}

static size_t
raw_answer(struct stream *st, const uint8_t *buf, size_t len, size_t size,
    uint64_t seq, const uint8_t **payload)
{
	uint32_t	plen;

	(void)st;
	if (len < BENCH_FRAME_HDR)
		return 0;
	memcpy(&plen, buf, 4);
	if (ntohl(plen) != size)
		errx(1, "raw %zu: answer %llu is %u bytes", size,
		    (unsigned long long)seq, ntohl(plen));
	if (len < BENCH_FRAME_HDR + size)
		return 0;
	*payload = buf + BENCH_FRAME_HDR;
	return BENCH_FRAME_HDR + size;
}

/* A request: to the responder, the answer to the inbox's seq. */
static size_t
nats_head(uint8_t *h, size_t size, uint64_t seq)
{
	return (size_t)snprintf((char *)h, BENCH_HEAD_MAX, "PUB %s %s.%llu "
	    "%zu\r\n", NATS_SUBJECT, nats_inbox, (unsigned long long)seq,
	    size);
}

/* The answer to call seq comes on subject inbox.seq, sid 1. */
static size_t
nats_answer(struct stream *st, const uint8_t *buf, size_t len, size_t size,
    uint64_t seq, const uint8_t **payload)
{
	struct nats_msg	m;
	char		subject[64];
	int		n;

	if (nats_parse("nats caller", buf, len, size, &m) == 0)
		return 0;
	if (m.op == NATS_PING)
		st->owed = "PONG\r\n";
	if (m.op != NATS_MSG) {
		*payload = NULL;
		return m.total;
	}
	n = snprintf(subject, sizeof(subject), "%s.%llu", nats_inbox,
	    (unsigned long long)seq);
	if (m.subject_len != (size_t)n || memcmp(m.subject, subject,
	    (size_t)n) != 0 || m.sid_len != 1 || m.sid[0] != '1' ||
	    m.reply != NULL || m.len != size)
		errx(1, "nats %zu: answer %llu is not the message expected "
		    "(%zu bytes on %.*s)", size, (unsigned long long)seq,
		    m.len, (int)(m.subject_len < 64 ? m.subject_len : 64),
		    m.subject);
	*payload = m.data;
	return m.total;
}

static struct stream	raw_path = {
	.name = "raw", .fd = -1, .over = BENCH_FRAME_HDR,
	.answer = raw_answer,
};
static struct stream	nats_path = {
	.name = "nats", .fd = -1, .head = nats_head, .trail = "\r\n",
	.over = NATS_LINE_MAX + 2, .answer = nats_answer,
};

/*
 * Calls on a path of frames: count of them, or as many as start within
 * dur seconds if count is 0, with up to depth in flight.  Frames go out
 * with writev straight from bench_pat (a few of them at a time),
 * answers are read up to BENCH_IO_MAX at a time and checked in place.
 * Both paths keep order, so answer k must be call k.
 */
static void
stream_run(struct stream *st, size_t size, int depth, uint64_t count,
    double dur, double *rtt, struct result *res)
{
	struct bench_frames	*fw;
	struct pollfd		 pfd = { .fd = st->fd };
	const uint8_t		*payload;
	uint8_t			*in;
	double			*sent, t0, last, tnow;
	size_t			 icap, ioff = 0, ilen = 0, used;
	uint64_t		 issued = 0, done = 0;
	ssize_t			 n;
	int			 r;
	bool			 more = true;

	icap = st->over + size + BENCH_IO_MAX;
	if ((in = malloc(icap)) == NULL ||
	    (fw = calloc(1, sizeof(*fw))) == NULL ||
	    (sent = calloc((size_t)depth, sizeof(*sent))) == NULL)
		errx(1, "out of memory");
	fw->size = size;
	fw->head = st->head;
	fw->trail = st->trail;
	t0 = last = bench_now();
	for (;;) {
		tnow = bench_now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && issued - done < (uint64_t)depth &&
		    (count == 0 || issued < count))
			sent[issued++ % (uint64_t)depth] = tnow;
		/* Out: the frames not yet written, a line owed between. */
		if (st->owed != NULL && fw->off == 0) {
			nats_write(st->fd, st->owed, strlen(st->owed));
			st->owed = NULL;
		}
		if (fw->next < issued)
			bench_frames_write(st->fd, fw, issued);
		if (!more && done == issued)
			break;
		pfd.events = POLLIN | (fw->next < issued ? POLLOUT : 0);
		if ((r = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			err(1, "poll");
		bench_check_quit();
		if (r <= 0) {
			if (bench_now() - last > STALL_MS / 1000.0) {
				bench_check_children();
				errx(1, "%s %zu: no answer for %d s, %llu of "
				    "%llu done", st->name, size,
				    STALL_MS / 1000, (unsigned long long)done,
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
		n = read(st->fd, in + ioff + ilen, icap - ioff - ilen);
		if (n == 0) {
			bench_check_children();
			errx(1, "%s: the connection closed", st->name);
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "%s: read", st->name);
		}
		ilen += (size_t)n;
		tnow = bench_now();
		while ((used = st->answer(st, in + ioff, ilen, size, done,
		    &payload)) > 0) {
			if (payload != NULL) {
				if (done >= issued ||
				    !bench_payload_ok(payload, size, done))
					errx(1, "%s %zu: answer %llu arrived "
					    "corrupted", st->name, size,
					    (unsigned long long)done);
				if (rtt != NULL)
					rtt[done] = tnow - sent[done % depth];
				done++;
			}
			ioff += used;
			ilen -= used;
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

/* Writes all of iov[n], blocking; the responder ends if it cannot. */
static void
writev_all(int fd, struct iovec *iov, int n)
{
	ssize_t	w;
	size_t	left;

	while (n > 0) {
		if ((w = writev(fd, iov, n)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		for (left = (size_t)w; n > 0 && left >= iov->iov_len; n--)
			left -= (iov++)->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
}

/*
 * The NATS responder: answers every request on NATS_SUBJECT with its
 * payload, published to its reply subject.  It reads up to BENCH_IO_MAX
 * at a time and answers the whole requests read together in one write,
 * as the raw chain's echo does, the payloads straight from its buffer.
 * Says it is subscribed with a byte on ready.
 */
static void __attribute__((noreturn))
responder_main(int ready)
{
	static struct iovec	 iov[5 * BENCH_WRITE_FRAMES];
	static char		 lens[BENCH_WRITE_FRAMES][32];
	struct nats_msg		 m;
	uint8_t			*buf;
	size_t			 cap = NATS_LINE_MAX + 2 + BENCH_PAYLOAD_MAX +
				    BENCH_IO_MAX, off = 0, len = 0;
	ssize_t			 n;
	int			 fd, niov, k;

	close(chain.fd);
	if ((buf = malloc(cap)) == NULL)
		errx(1, "nats responder: out of memory");
	fd = nats_open("nats responder", &nats_sin, NATS_SUBJECT, NATS_SECS);
	if (write(ready, "", 1) != 1)
		err(1, "nats responder: ready");
	close(ready);
	for (;;) {
		for (k = niov = 0; k < BENCH_WRITE_FRAMES &&
		    nats_parse("nats responder", buf + off, len,
		    BENCH_PAYLOAD_MAX, &m) == 1; k++) {
			off += m.total;
			len -= m.total;
			if (m.op == NATS_PING)
				iov[niov++] = (struct iovec){ "PONG\r\n", 6 };
			if (m.op != NATS_MSG)
				continue;
			if (m.reply == NULL)
				errx(1, "nats responder: a request with no "
				    "reply subject");
			iov[niov++] = (struct iovec){ "PUB ", 4 };
			iov[niov++] = (struct iovec){ (void *)m.reply,
			    m.reply_len };
			iov[niov++] = (struct iovec){ lens[k],
			    (size_t)snprintf(lens[k], sizeof(lens[k]),
			    " %zu\r\n", m.len) };
			iov[niov++] = (struct iovec){ (void *)m.data, m.len };
			iov[niov++] = (struct iovec){ "\r\n", 2 };
		}
		writev_all(fd, iov, niov);
		/* A full batch may leave whole requests in the buffer. */
		if (k == BENCH_WRITE_FRAMES)
			continue;
		/* Room for the rest of a request and one more read. */
		if (len == 0)
			off = 0;
		else if (off + len + BENCH_IO_MAX > cap) {
			memmove(buf, buf + off, len);
			off = 0;
		}
		if ((n = read(fd, buf + off + len, cap - off - len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			_exit(0);
		}
		len += (size_t)n;
	}
}

/* $NATS_SERVER, else nats-server on $PATH or in /usr/sbin; or NULL. */
static const char *
nats_find(void)
{
	static char	 path[PATH_MAX];
	const char	*dirs, *end;
	int		 len;

	if ((dirs = getenv("NATS_SERVER")) != NULL)
		return access(dirs, X_OK) == 0 ? dirs : NULL;
	if ((dirs = getenv("PATH")) == NULL)
		dirs = "";
	for (; *dirs != '\0'; dirs = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(dirs, ':')) == NULL)
			end = dirs + strlen(dirs);
		len = snprintf(path, sizeof(path), "%.*s/nats-server",
		    (int)(end - dirs), dirs);
		if (end > dirs && len > 0 && (size_t)len < sizeof(path) &&
		    access(path, X_OK) == 0)
			return path;
	}
	return access("/usr/sbin/nats-server", X_OK) == 0 ?
	    "/usr/sbin/nats-server" : NULL;
}

/*
 * Starts nats-server on 127.0.0.1, on a port it picks and writes to
 * its ports file, with room for twice the largest payload and for four
 * times DEPTH of them queued to one client; then the responder, and
 * the caller's connection with its inbox.  False if there is no
 * nats-server.
 */
static bool
nats_start(void)
{
	static char	 dir[96], conf[112], log[112];
	struct pollfd	 pfd;
	const char	*path, *base, *argv[4];
	char		 ports[160], buf[256], *p;
	uint64_t	 rnd;
	double		 end;
	ssize_t		 n;
	pid_t		 pid;
	int		 fd, port, ready[2];
	FILE		*f;

	if ((path = nats_find()) == NULL)
		return false;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		err(1, "getrandom");
	snprintf(nats_inbox, sizeof(nats_inbox), "_INBOX.%016llx",
	    (unsigned long long)rnd);
	snprintf(dir, sizeof(dir), "%s/nats", bench_dir);
	snprintf(conf, sizeof(conf), "%s/nats.conf", dir);
	snprintf(log, sizeof(log), "%s/nats.log", dir);
	if (mkdir(dir, 0700) == -1 || (f = fopen(conf, "w")) == NULL)
		err(1, "%s", conf);
	/*
	 * The caller reads its connection only in NATS runs: a PING in
	 * another path's run, however long, is answered in the next one.
	 */
	fprintf(f, "listen: \"127.0.0.1:-1\"\nports_file_dir: \"%s\"\n"
	    "max_payload: %u\nmax_pending: %u\nping_max: 1000\n", dir,
	    2 * BENCH_PAYLOAD_MAX, 4 * DEPTH * BENCH_PAYLOAD_MAX);
	if (fclose(f) == EOF)
		err(1, "%s", conf);

	argv[0] = path;
	argv[1] = "-c";
	argv[2] = conf;
	argv[3] = NULL;
	pid = bench_exec(argv, log);
	bench_child_add_log(pid, "nats-server", log);
	procs[NATS][1] = pid;

	/* The port, once the server has written it. */
	if ((base = strrchr(path, '/')) != NULL)
		base++;
	else
		base = path;
	if (snprintf(ports, sizeof(ports), "%s/%s_%d.ports", dir, base,
	    (int)pid) >= (int)sizeof(ports))
		errx(1, "%s: name too long", path);
	end = bench_now() + NATS_SECS;
	for (port = 0; port == 0;) {
		bench_check_children();
		if (bench_now() >= end)
			errx(1, "nats-server wrote no port to %s within %d s",
			    ports, NATS_SECS);
		if ((fd = open(ports, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if ((p = strstr(buf, "//127.0.0.1:")) == NULL ||
			    sscanf(p, "//127.0.0.1:%d", &port) != 1 ||
			    port <= 0 || port > 65535)
				port = 0;
		}
		if (port == 0)
			bench_sleep_ms(10);
	}
	nats_sin.sin_family = AF_INET;
	nats_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	nats_sin.sin_port = htons((uint16_t)port);

	if (pipe2(ready, O_CLOEXEC) == -1)
		err(1, "pipe");
	if ((pid = bench_spawn()) == 0) {
		close(ready[0]);
		responder_main(ready[1]);
	}
	bench_child_add(pid, "nats responder");
	procs[NATS][2] = pid;
	close(ready[1]);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	end = bench_now() + NATS_SECS;
	for (;;) {
		if (poll(&pfd, 1, 100) == 1) {
			if (read(ready[0], buf, 1) == 1)
				break;
			bench_sleep_ms(100);
			bench_check_children();
			errx(1, "the nats responder ended before it "
			    "subscribed");
		}
		bench_check_children();
		bench_check_quit();
		if (bench_now() >= end)
			errx(1, "the nats responder is not subscribed within "
			    "%d s", NATS_SECS);
	}
	close(ready[0]);

	snprintf(buf, sizeof(buf), "%s.*", nats_inbox);
	nats_path.fd = nats_open("nats caller", &nats_sin, buf, NATS_SECS);
	if (bench_nonblock(nats_path.fd) == -1)
		err(1, "fcntl");
	return true;
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
			if (peer_answer(p, l->call, l->len > 0 ? l->args :
			    NULL, l->len, &perr) == -1) {
				/* Full: the rest waits for room. */
				if (peer_queue_full(p))
					break;
				errx(1, "server: answer: %s: %s",
				    peer_code_name(perr.code), perr.message);
			}
			if ((later_head = l->next) == NULL)
				later_tail = &later_head;
			free(l);
		}
		if ((pfd.fd = peer_fd(p)) == -1)
			errx(1, "server: the connection to B is lost");
		pfd.events = POLLIN | (peer_wants_write(p) ? POLLOUT : 0);
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
	if (nats_path.fd != -1)
		close(nats_path.fd);
	if ((p = peer_open(nodes[1].sock, &perr)) == NULL)
		errx(1, "server: %s", perr.message);
	peer_set_nonblocking(p, !blocking);
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
 * Opens the caller's connection to the daemon at sock and calls until
 * the service answers there.
 */
static void
caller_open(const char *sock)
{
	struct peer_call_opts	 opts = { .timeout_ms = 2000 };
	struct peer_error	 perr;
	uint8_t			 args[64], *res = NULL;
	size_t			 reslen, h;
	double			 end;

	if ((pa = peer_open(sock, &perr)) == NULL)
		errx(1, "%s: %s", sock, perr.message);
	peer_set_nonblocking(pa, !blocking);
	h = bench_bstr_head(args, 32);
	memcpy(args + h, bench_pat, 32);
	bench_stamp(args + h, 32, 7);
	end = bench_now() + SERVE_SECS;
	while (peer_call_sync(pa, service, METHOD, args, h + 32, &opts, &res,
	    &reslen, &perr) == -1) {
		bench_check_children();
		if (perr.code != PEER_NOT_FOUND)
			errx(1, "the first call: %s: %s",
			    peer_code_name(perr.code), perr.message);
		if (bench_now() >= end)
			errx(1, "service %s not found at %s within %d s",
			    service, sock, SERVE_SECS);
		bench_sleep_ms(20);
	}
	if (reslen != h + 32 || memcmp(res, args, h) != 0 ||
	    !bench_payload_ok(res + h, 32, 7))
		errx(1, "the first call came back corrupted");
	free(res);
}

/*
 * Starts the daemons and the server, opens the caller's connection to
 * A, and calls until the service answers there.
 */
static void
peerd_start(void)
{
	uint8_t	key[32];

	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		err(1, "getrandom");
	if (relayed) {
		/* A and B each keep one link, to R, and calls never dial. */
		memcpy(nodes[0].opts, bench_relayed_opts, sizeof(nodes[0].opts));
		memcpy(nodes[1].opts, bench_relayed_opts, sizeof(nodes[1].opts));
		bench_node_start(&nodes[2], key, NULL);
		bench_node_start(&nodes[0], key, &nodes[2]);
		bench_node_start(&nodes[1], key, &nodes[2]);
		procs[PEERD][4] = nodes[2].pid;
		bench_nodes_wait(nodes, 3, LINK_SECS);
	} else {
		bench_node_start(&nodes[0], key, NULL);
		bench_node_start(&nodes[1], key, &nodes[0]);
		bench_nodes_wait(nodes, 2, LINK_SECS);
	}
	procs[PEERD][1] = nodes[0].pid;
	procs[PEERD][2] = nodes[1].pid;

	if ((procs[PEERD][3] = bench_spawn()) == 0)
		server_main();
	bench_child_add(procs[PEERD][3], "peerd server");
	caller_open(nodes[0].sock);
	if (relayed) {
		bench_node_links(&nodes[0], 1);
		bench_node_links(&nodes[1], 1);
	}
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
 * Calls through the daemons, as stream_run() does on the others.  Calls
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
			if (peer_call(pa, service, METHOD, args,
			    cs.headlen + size, &opts, call_cb, sl, NULL,
			    &perr) == -1) {
				/* Full: the call waits for room. */
				if (peer_queue_full(pa)) {
					issued--;
					sl->next = cs.free;
					cs.free = sl;
					break;
				}
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
		pfd.events = POLLIN | (peer_wants_write(pa) ? POLLOUT : 0);
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

/* The paths measured: NATS only if there is a server. */
static bool
measured(int v)
{
	return v != NATS || have_nats;
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
		cpu0[i] = procs[v][i] > 0 ? bench_proc_cpu(procs[v][i]) : 0;
	if (v == PEERD)
		peerd_run(size, depth, count, dur, rtt, res);
	else
		stream_run(v == RAW ? &raw_path : &nats_path, size, depth,
		    count, dur, rtt, res);
	for (i = 0; i < NPROC; i++)
		if (procs[v][i] > 0)
			res->cpu[i] = bench_proc_cpu(procs[v][i]) - cpu0[i];
}

static void
show_cpu(const char *what, enum variant v, const struct result *res)
{
	int	i;

	printf("  %-6s %-5s %d in flight: %8.0f calls/s, CPU us a call:",
	    what, variant_name[v], DEPTH, (double)res->calls / res->secs);
	for (i = 0; i < NPROC; i++)
		if (proc_name[v][i] != NULL && procs[v][i] > 0)
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
	double			*rtt[NVARIANT], *chunk;
	int			 n, per, warm, r, v, got[NVARIANT] = { 0 };

	n = quick ? sz->lat_quick : sz->lat_n;
	per = (n + runs - 1) / runs;
	n = per * runs;
	warm = n / 10 < 5 ? 5 : n / 10;
	for (v = 0; v < NVARIANT; v++)
		if ((rtt[v] = calloc((size_t)n, sizeof(double))) == NULL)
			errx(1, "out of memory");
	if ((chunk = calloc((size_t)(per > warm ? per : warm),
	    sizeof(double))) == NULL)
		errx(1, "out of memory");
	for (v = 0; v < NVARIANT; v++)
		if (measured(v))
			run((enum variant)v, sz->size, 1, (uint64_t)warm, 0,
			    chunk, &res);
	for (r = 0; r < runs; r++)
		for (v = 0; v < NVARIANT; v++) {
			if (!measured(v))
				continue;
			run((enum variant)v, sz->size, 1, (uint64_t)per, 0,
			    chunk, &res);
			memcpy(rtt[v] + got[v], chunk, (size_t)per *
			    sizeof(double));
			got[v] += per;
			if (verbose) {
				bench_sort(chunk, per);
				printf("  %-6s %-5s latency, chunk %d: p50 %.0f "
				    "us, p99 %.0f us\n", sz->name,
				    variant_name[v], r + 1,
				    bench_pct(chunk, per, 50) * 1e6,
				    bench_pct(chunk, per, 99) * 1e6);
			}
		}
	for (v = 0; v < NVARIANT; v++) {
		if (measured(v)) {
			bench_sort(rtt[v], n);
			row->p50[v] = bench_pct(rtt[v], n, 50) * 1e6;
			row->p99[v] = bench_pct(rtt[v], n, 99) * 1e6;
		}
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
		for (v = 0; v < NVARIANT; v++) {
			if (!measured(v))
				continue;
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

/* The three paths' figures as a/b/c, "-" for NATS if not measured. */
static void
three(char *buf, size_t len, const double f[NVARIANT])
{
	char	nats[16] = "-";

	if (have_nats)
		snprintf(nats, sizeof(nats), "%.0f", f[NATS]);
	snprintf(buf, len, "%.0f/%s/%.0f", f[RAW], nats, f[PEERD]);
}

static void
print_row(const struct row *rw)
{
	char	p50[48], p99[48], tput[48], xn[16] = "-", tn[16] = "-";
	double	rate[NVARIANT];
	int	v;

	for (v = 0; v < NVARIANT; v++)
		rate[v] = measured(v) ? calls_s(&rw->best[v]) : 0;
	three(p50, sizeof(p50), rw->p50);
	three(p99, sizeof(p99), rw->p99);
	three(tput, sizeof(tput), rate);
	if (have_nats) {
		snprintf(xn, sizeof(xn), "%.2f", rw->p50[PEERD] /
		    rw->p50[NATS]);
		snprintf(tn, sizeof(tn), "%.2f", rate[PEERD] / rate[NATS]);
	}
	printf("%-7s  %21s  %21s  %9.2f  %10s  %23s  %11s\n", rw->sz->name, p50,
	    p99, rw->p50[PEERD] / rw->p50[RAW], xn, tput, tn);
	fflush(stdout);
}

/* The goals of one size: met, not met, or not measured. */
static void
print_goals(const struct row *rw)
{
	double	xr = rw->p50[PEERD] / rw->p50[RAW];

	printf("  %-7s p50 %.2f x raw (<= %.2f): %s", rw->sz->name, xr,
	    rw->sz->goal_x, xr <= rw->sz->goal_x ? "met" : "not met");
	if (!have_nats) {
		printf("; against NATS: not measured\n");
		return;
	}
	printf("; p50 %.2f x NATS (< 1): %s; calls/s %.2f x NATS "
	    "(>= %.1f): %s\n", rw->p50[PEERD] / rw->p50[NATS],
	    rw->p50[PEERD] < rw->p50[NATS] ? "met" : "not met",
	    calls_s(&rw->best[PEERD]) / calls_s(&rw->best[NATS]),
	    GOAL_TPUT_X, calls_s(&rw->best[PEERD]) >=
	    GOAL_TPUT_X * calls_s(&rw->best[NATS]) ? "met" : "not met");
}

/*
 * -C: only the caller, on a daemon and a service another program
 * started: a warm-up, then every latency of the size's calls with one
 * in flight, in microseconds, as "rtt_us" and the numbers on one line;
 * then the best of runs throughput runs with DEPTH in flight as
 * "calls_s" and the number.
 */
static void
client_main(const struct size *sz)
{
	struct result	 res, best = { 0 };
	double		*rtt;
	int		 n, warm, i;

	n = quick ? sz->lat_quick : sz->lat_n;
	warm = n / 10 < 5 ? 5 : n / 10;
	if ((rtt = calloc((size_t)(n > warm ? n : warm), sizeof(*rtt))) ==
	    NULL)
		errx(1, "out of memory");
	caller_open(client_sock);
	peerd_run(sz->size, 1, (uint64_t)warm, 0, rtt, &res);
	peerd_run(sz->size, 1, (uint64_t)n, 0, rtt, &res);
	printf("rtt_us");
	for (i = 0; i < n; i++)
		printf(" %.1f", rtt[i] * 1e6);
	printf("\n");
	for (i = 0; i < runs; i++) {
		peerd_run(sz->size, DEPTH, 0, duration, NULL, &res);
		if (best.calls == 0 || calls_s(&res) > calls_s(&best))
			best = res;
	}
	printf("calls_s %.0f\n", calls_s(&best));
	free(rtt);
	peer_close(pa);
}

int
main(int argc, char *argv[])
{
	static struct size	 one;
	static char		 one_name[32];
	struct size		*first = sizes, *end = sizes + nitems(sizes), *sz;
	struct row		 rows[nitems(sizes)], *rw;
	int			 ch, nrows = 0, i;
	bool			 runs_set = false, dur_set = false;
	bool			 service_set = false;

	while ((ch = getopt(argc, argv, "abC:n:qRS:s:t:v")) != -1) {
		switch (ch) {
		case 'R':
			relayed = true;
			break;
		case 'a':
			answer_later = true;
			break;
		case 'C':
			client_sock = optarg;
			break;
		case 'S':
			service = optarg;
			service_set = true;
			break;
		case 'b':
			blocking = true;
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
			for (i = 0; i < (int)nitems(sizes); i++)
				if (sizes[i].size == one.size)
					one.goal_x = sizes[i].goal_x;
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
	if (optind != argc || (client_sock == NULL && service_set) ||
	    (client_sock != NULL && (answer_later || relayed)))
		usage();
	if (quick) {
		if (!runs_set)
			runs = 1;
		if (!dur_set)
			duration = 0.25;
	}

	bench_setup("call_bench");
	if (client_sock != NULL) {
		client_main(first == &one ? &one : &sizes[0]);
		return 0;
	}
	for (i = 0; i < NVARIANT; i++)
		procs[i][0] = getpid();
	bench_chain_start(&chain, BENCH_ECHO);
	raw_path.fd = chain.fd;
	for (i = 0; i < 3; i++)
		procs[RAW][1 + i] = chain.pid[i];
	if (!(have_nats = nats_start()))
		fprintf(stderr, "call_bench: no nats-server (set NATS_SERVER, "
		    "or apt install nats-server): NATS not measured\n");
	peerd_start();

	printf("call_bench: echo calls through two hops each way, measured "
	    "in the same run:\n  raw: caller -> Unix socket -> R1 -> TCP "
	    "127.0.0.1 -> R2 -> Unix socket -> echo\n  nats: caller -> "
	    "nats-server -> responder, request/reply over TCP 127.0.0.1%s\n"
	    "  peerd: caller -> A -> %sB -> server\n", have_nats ? "" :
	    " (no nats-server: not measured)", relayed ? "R (a relay) -> " :
	    "");
	printf("latency: 1 call in flight, p50/p99 in us over %s calls "
	    "in %d chunk%s a path;\nthroughput: %d in flight, best of %d "
	    "run%s of %.2g s; x = peerd / raw or peerd / nats\n",
	    quick ? "20 to 200" : "100 to 2000", runs, runs > 1 ? "s" : "",
	    DEPTH, runs, runs > 1 ? "s" : "", duration);
	printf("%s\n\n", answer_later ? "the peerd server answers after its "
	    "handler has returned (-a)" : "the peerd server answers in its "
	    "handler");
	printf("%-7s  %21s  %21s  %9s  %10s  %23s  %11s\n", "size",
	    "p50 us raw/nats/peerd", "p99 us raw/nats/peerd", "p50 x raw",
	    "p50 x nats", "calls/s raw/nats/peerd", "tput x nats");
	fflush(stdout);
	for (sz = first; sz < end; sz++) {
		rw = &rows[nrows++];
		memset(rw, 0, sizeof(*rw));
		rw->sz = sz;
		measure_latency(rw);
		measure_throughput(rw);
		print_row(rw);
	}

	printf("\ngoals (peerd; calls/s with %d in flight):\n", DEPTH);
	for (i = 0; i < nrows; i++)
		if (rows[i].sz->goal_x > 0)
			print_goals(&rows[i]);
		else
			printf("  %-7s no goals at this size\n",
			    rows[i].sz->name);
	return 0;
}
