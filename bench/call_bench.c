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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

#define DEPTH		64		/* calls in flight when pipelined */
#define IO_MAX		(256u << 10)	/* most a relay reads or writes */
#define PAYLOAD_MAX	(1u << 20)
#define FRAME_HDR	4		/* the raw chain's length prefix */
#define WRITE_FRAMES	64		/* frames gathered into one writev */
#define STALL_MS	10000		/* longest wait with no call done */
#define CALL_TIMEOUT_MS	20000
#define START_SECS	5		/* for a daemon to answer */
#define LINK_SECS	15		/* for the two to see each other */
#define SERVE_SECS	10		/* for the service to show at A */
#define STOP_SECS	5		/* SIGTERM, then SIGKILL */
#define LOG_TAIL	20		/* lines shown of a daemon's log */
#define RUNS_MAX	20
#define SERVICE		"bench"
#define METHOD		"echo"

#define GOAL_P50_X	1.5		/* peerd p50 at most this x raw */
#define GOAL_SMALL_X	0.5		/* 64 B calls/s at least this x raw */
#define GOAL_BIG_X	0.5		/* 1 MiB MB/s at least this x raw */

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

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

/* One daemon. */
struct node {
	const char	*name;
	pid_t		 pid;
	char		 dir[96];
	char		 state[112];
	char		 sock[112];
	char		 log[112];
	int		 port;
};

/* A call in flight on the peerd path. */
struct slot {
	struct slot	*next;		/* free list */
	uint64_t	 seq;
	double		 sent;
};

static const char	*peerd;
static char		 topdir[64];
static char		 emptyconf[96];
static char		 echo_path[96], relay_path[96];
static struct node	 nodes[2] = { { .name = "callA" }, { .name = "callB" } };
static pid_t		 self;
static volatile sig_atomic_t quit;
static bool		 verbose;
static bool		 quick;
static bool		 answer_later;	/* -a */
static int		 runs = 2;
static double		 duration = 1.0;
static uint8_t		*pat;		/* random bytes every payload is */
static int		 rawfd = -1;	/* the caller's end of the chain */
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

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	quit = sig;
}

static void
check_quit(void)
{
	if (quit)
		errx(1, "stopped by signal %d", (int)quit);
}

static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		check_quit();
	check_quit();
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* SIGTERM, then SIGKILL after grace seconds; reaps it. */
static void
stop_pid(pid_t *pid, double grace)
{
	double	end;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	end = now() + grace;
	while (waitpid(*pid, NULL, WNOHANG) == 0) {
		if (now() >= end) {
			warnx("pid %d still ran %.0f s after SIGTERM; killed",
			    (int)*pid, grace);
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		}
		usleep(10000);
	}
	*pid = -1;
}

/* At any exit of this process: no child and no file is left. */
static void
cleanup(void)
{
	int	v, i;

	if (getpid() != self)
		return;
	for (v = 0; v < 2; v++)
		for (i = 1; i < NPROC; i++)
			if (v == RAW || i == NPROC - 1)
				stop_pid(&procs[v][i], 1);
	for (i = 0; i < 2; i++)
		stop_pid(&nodes[i].pid, STOP_SECS);
	if (topdir[0] != '\0')
		nftw(topdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The last lines of a daemon's log, to stderr. */
static void
show_log(const struct node *nd)
{
	static char	 lines[LOG_TAIL][512];
	FILE		*f;
	int		 i, n = 0;

	if ((f = fopen(nd->log, "r")) == NULL)
		return;
	while (fgets(lines[n % LOG_TAIL], sizeof(lines[0]), f) != NULL)
		n++;
	fclose(f);
	fprintf(stderr, "--- the end of %s\n", nd->log);
	for (i = n > LOG_TAIL ? n - LOG_TAIL : 0; i < n; i++)
		fputs(lines[i % LOG_TAIL], stderr);
}

/* Ends the run if a child has died, saying which and how. */
static void
check_children(void)
{
	int	status, v, i;

	for (i = 0; i < 2; i++)
		if (nodes[i].pid > 0 &&
		    waitpid(nodes[i].pid, &status, WNOHANG) == nodes[i].pid) {
			nodes[i].pid = -1;
			show_log(&nodes[i]);
			errx(1, "peerd %s died (%s %d)", nodes[i].name,
			    WIFSIGNALED(status) ? "signal" : "status",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
			    WEXITSTATUS(status));
		}
	for (v = 0; v < 2; v++)
		for (i = 1; i < NPROC; i++) {
			if (v == PEERD && i != NPROC - 1)
				continue;
			if (procs[v][i] > 0 && waitpid(procs[v][i], &status,
			    WNOHANG) == procs[v][i]) {
				procs[v][i] = -1;
				errx(1, "%s %s died (%s %d)", variant_name[v],
				    proc_name[v][i], WIFSIGNALED(status) ?
				    "signal" : "status", WIFSIGNALED(status) ?
				    WTERMSIG(status) : WEXITSTATUS(status));
			}
		}
}

/* utime + stime of pid, in seconds; this process to the nanosecond. */
static double
proc_cpu(pid_t pid)
{
	struct timespec		 ts;
	unsigned long long	 ut, st;
	char			 path[64], buf[1024], *p;
	ssize_t			 n;
	int			 fd;

	if (pid == self) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Fields 14 and 15; the name in field 2 may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Payload seq is pat with seq in its first and last 8 bytes: a lost,
 * repeated, reordered or misplaced answer shows, and so does any other
 * byte that differs.
 */
static bool
payload_ok(const uint8_t *m, size_t size, uint64_t seq)
{
	uint64_t	a, b;

	memcpy(&a, m, 8);
	memcpy(&b, m + size - 8, 8);
	return a == seq && b == seq &&
	    memcmp(m + 8, pat + 8, size - 16) == 0;
}

static void
stamp(uint8_t *m, size_t size, uint64_t seq)
{
	memcpy(m, &seq, 8);
	memcpy(m + size - 8, &seq, 8);
}

/* The head of a CBOR byte string of len bytes; its length. */
static size_t
bstr_head(uint8_t *h, size_t len)
{
	if (len < 24) {
		h[0] = 0x40 | (uint8_t)len;
		return 1;
	}
	if (len <= 0xff) {
		h[0] = 0x58;
		h[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		h[0] = 0x59;
		h[1] = (uint8_t)(len >> 8);
		h[2] = (uint8_t)len;
		return 3;
	}
	h[0] = 0x5a;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
	return 5;
}

static int
nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A forked helper: dies with this process, keeps out of its signals. */
static pid_t
spawn(void)
{
	pid_t	pid, parent = getpid();

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
	}
	return pid;
}

static int
unix_listen(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 4) == -1)
		err(1, "listen on %s", path);
	return fd;
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect to %s", path);
	return fd;
}

/* One direction of a relay: bytes read from one fd, to go to another. */
struct pipe {
	int	 from, to;
	uint8_t	*buf;
	size_t	 off, len;
};

/* Forwards what it can; false once from is at its end or broken. */
static bool
pipe_move(struct pipe *pp, short rev)
{
	ssize_t	n;

	if ((rev & (POLLIN | POLLHUP | POLLERR)) && pp->len < IO_MAX) {
		if (pp->off > 0 && pp->off + pp->len == IO_MAX) {
			memmove(pp->buf, pp->buf + pp->off, pp->len);
			pp->off = 0;
		}
		n = read(pp->from, pp->buf + pp->off + pp->len,
		    IO_MAX - pp->off - pp->len);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return false;
		if (n > 0)
			pp->len += (size_t)n;
	}
	/* Write at once: it goes, or POLLOUT says when it can. */
	if (pp->len > 0) {
		n = write(pp->to, pp->buf + pp->off, pp->len);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			pp->off += (size_t)n;
			pp->len -= (size_t)n;
			if (pp->len == 0)
				pp->off = 0;
		}
	}
	return true;
}

/* A relay between a and b, both ways; exits when either side closes. */
static void __attribute__((noreturn))
relay(int a, int b)
{
	struct pipe	ab = { a, b, NULL, 0, 0 }, ba = { b, a, NULL, 0, 0 };
	struct pollfd	pfd[2];

	if ((ab.buf = malloc(IO_MAX)) == NULL ||
	    (ba.buf = malloc(IO_MAX)) == NULL)
		errx(1, "relay: out of memory");
	if (nonblock(a) == -1 || nonblock(b) == -1)
		err(1, "relay: fcntl");
	for (;;) {
		pfd[0].fd = a;
		pfd[0].events = (ab.len < IO_MAX ? POLLIN : 0) |
		    (ba.len > 0 ? POLLOUT : 0);
		pfd[1].fd = b;
		pfd[1].events = (ba.len < IO_MAX ? POLLIN : 0) |
		    (ab.len > 0 ? POLLOUT : 0);
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			err(1, "relay: poll");
		if (!pipe_move(&ab, pfd[0].revents) ||
		    !pipe_move(&ba, pfd[1].revents))
			_exit(0);
	}
}

/*
 * The end of the chain: reads up to IO_MAX at a time, and writes every
 * whole frame straight back (those read together in one write, as they
 * lie in a row in the buffer).
 */
static void __attribute__((noreturn))
echo_server(int fd)
{
	uint8_t		*buf;
	size_t		 cap = FRAME_HDR + PAYLOAD_MAX + IO_MAX;
	size_t		 off = 0, len = 0, whole, flen;
	ssize_t		 n;
	uint32_t	 plen;

	if ((buf = malloc(cap)) == NULL)
		errx(1, "echo: out of memory");
	for (;;) {
		if ((n = read(fd, buf + off + len, cap - off - len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			_exit(0);
		}
		len += (size_t)n;
		for (whole = 0; len - whole >= FRAME_HDR; whole += flen) {
			memcpy(&plen, buf + off + whole, 4);
			plen = ntohl(plen);
			if (plen > PAYLOAD_MAX)
				errx(1, "echo: frame of %u bytes", plen);
			flen = FRAME_HDR + plen;
			if (len - whole < flen)
				break;
		}
		while (whole > 0) {
			if ((n = write(fd, buf + off, whole)) == -1) {
				if (errno != EINTR)
					_exit(0);
				continue;
			}
			off += (size_t)n;
			len -= (size_t)n;
			whole -= (size_t)n;
		}
		/* Room for the rest of a frame and one more read. */
		if (len == 0)
			off = 0;
		else if (off + len + IO_MAX > cap) {
			memmove(buf, buf + off, len);
			off = 0;
		}
	}
}

/*
 * Builds the chain.  Every listener exists before the process that
 * dials it starts, so nothing waits on anything.
 */
static void
raw_start(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		slen = sizeof(sin);
	pid_t			pid;
	int			lfd, fd, tfd;

	snprintf(echo_path, sizeof(echo_path), "%s/echo.sock", topdir);
	snprintf(relay_path, sizeof(relay_path), "%s/relay.sock", topdir);

	lfd = unix_listen(echo_path);
	if ((pid = spawn()) == 0) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(1, "echo: accept");
		close(lfd);
		echo_server(fd);
	}
	procs[RAW][3] = pid;
	close(lfd);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1)
		err(1, "listen on 127.0.0.1");
	if ((pid = spawn()) == 0) {
		fd = unix_connect(echo_path);
		if ((tfd = accept(lfd, NULL, NULL)) == -1)
			err(1, "R2: accept");
		close(lfd);
		nodelay(tfd);
		relay(tfd, fd);
	}
	procs[RAW][2] = pid;
	close(lfd);

	lfd = unix_listen(relay_path);
	if ((pid = spawn()) == 0) {
		if ((tfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(tfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			err(1, "R1: connect to R2");
		nodelay(tfd);
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(1, "R1: accept");
		close(lfd);
		relay(fd, tfd);
	}
	procs[RAW][1] = pid;
	close(lfd);

	rawfd = unix_connect(relay_path);
	if (nonblock(rawfd) == -1)
		err(1, "fcntl");
}

/*
 * Calls on the chain: count of them, or as many as start within dur
 * seconds if count is 0, with up to depth in flight.  Frames go out
 * with writev straight from pat (a few of them at a time), answers are
 * read up to IO_MAX at a time and checked in place.  The chain keeps
 * order, so answer k must be call k.
 */
static void
raw_run(size_t size, int depth, uint64_t count, double dur, double *rtt,
    struct result *res)
{
	struct iovec	 iov[3 * WRITE_FRAMES];
	struct pollfd	 pfd = { .fd = rawfd };
	uint8_t		 (*hdr)[FRAME_HDR + 8], (*tail)[8];
	uint8_t		*in;
	double		*sent, t0, last, tnow;
	size_t		 flen = FRAME_HDR + size, icap, ioff = 0, ilen = 0;
	size_t		 woff = 0, skip, left, take;
	uint64_t	 issued = 0, wseq = 0, done = 0, s;
	uint32_t	 plen, be = htonl((uint32_t)size);
	ssize_t		 n;
	int		 niov, r;
	bool		 more = true;

	icap = flen + IO_MAX;
	if ((in = malloc(icap)) == NULL ||
	    (hdr = calloc((size_t)depth, sizeof(*hdr))) == NULL ||
	    (tail = calloc((size_t)depth, sizeof(*tail))) == NULL ||
	    (sent = calloc((size_t)depth, sizeof(*sent))) == NULL)
		errx(1, "out of memory");
	t0 = last = now();
	for (;;) {
		tnow = now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && issued - done < (uint64_t)depth &&
		    (count == 0 || issued < count)) {
			s = issued % (uint64_t)depth;
			memcpy(hdr[s], &be, 4);
			memcpy(hdr[s] + 4, &issued, 8);
			memcpy(tail[s], &issued, 8);
			sent[s] = tnow;
			issued++;
		}
		/* Out: the frames not yet written, from woff in the first. */
		if (wseq < issued) {
			niov = 0;
			for (s = wseq; s < issued && niov < (int)nitems(iov);
			    s++) {
				iov[niov++] = (struct iovec){ hdr[s % depth],
				    FRAME_HDR + 8 };
				iov[niov++] = (struct iovec){ pat + 8,
				    size - 16 };
				iov[niov++] = (struct iovec){ tail[s % depth],
				    8 };
			}
			for (skip = woff, r = 0; skip > 0; r++) {
				take = skip < iov[r].iov_len ? skip :
				    iov[r].iov_len;
				iov[r].iov_base = (uint8_t *)iov[r].iov_base +
				    take;
				iov[r].iov_len -= take;
				skip -= take;
			}
			if ((n = writev(rawfd, iov, niov)) == -1) {
				if (errno != EAGAIN && errno != EINTR)
					err(1, "raw: write");
				n = 0;
			}
			for (left = (size_t)n; left > 0;) {
				take = left < flen - woff ? left : flen - woff;
				woff += take;
				left -= take;
				if (woff == flen) {
					wseq++;
					woff = 0;
				}
			}
		}
		if (!more && done == issued)
			break;
		pfd.events = POLLIN | (wseq < issued ? POLLOUT : 0);
		if ((r = poll(&pfd, 1, 1000)) == -1 && errno != EINTR)
			err(1, "poll");
		check_quit();
		if (r <= 0) {
			if (now() - last > STALL_MS / 1000.0) {
				check_children();
				errx(1, "raw %zu: no answer for %d s, %llu of "
				    "%llu done", size, STALL_MS / 1000,
				    (unsigned long long)done,
				    (unsigned long long)issued);
			}
			continue;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (ioff > 0 && ioff + ilen + IO_MAX > icap) {
			memmove(in, in + ioff, ilen);
			ioff = 0;
		}
		n = read(rawfd, in + ioff + ilen, icap - ioff - ilen);
		if (n == 0) {
			check_children();
			errx(1, "raw: the chain closed");
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "raw: read");
		}
		ilen += (size_t)n;
		tnow = now();
		while (ilen >= FRAME_HDR) {
			memcpy(&plen, in + ioff, 4);
			if (ntohl(plen) != size)
				errx(1, "raw %zu: answer %llu is %u bytes",
				    size, (unsigned long long)done,
				    ntohl(plen));
			if (ilen < flen)
				break;
			if (done >= issued || !payload_ok(in + ioff + FRAME_HDR,
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
	free(hdr);
	free(tail);
	free(sent);
}

/*
 * Starts daemon i (B bootstraps to A) and returns once it answers on
 * its control socket, with its mesh port read back.
 */
static void
node_start(int i, const uint8_t key[32])
{
	struct node		*nd = &nodes[i];
	struct peer_status	*st;
	struct peer_error	 perr;
	struct peer		*p;
	const char		*argv[20];
	char			 path[160], addr[32];
	double			 end;
	int			 fd, n = 0;

	snprintf(nd->dir, sizeof(nd->dir), "%s/%s", topdir, nd->name);
	snprintf(nd->state, sizeof(nd->state), "%s/%s/state", topdir,
	    nd->name);
	snprintf(nd->sock, sizeof(nd->sock), "%s/%s/peerd.sock", topdir,
	    nd->name);
	snprintf(nd->log, sizeof(nd->log), "%s/%s/peerd.log", topdir,
	    nd->name);
	if (mkdir(nd->dir, 0700) == -1 || mkdir(nd->state, 0700) == -1)
		err(1, "%s", nd->state);
	/* The same key makes them one network; it must be 0600. */
	snprintf(path, sizeof(path), "%s/network.key", nd->state);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write(fd, key, 32) != 32 || close(fd) == -1)
		err(1, "%s", path);

	argv[n++] = peerd;
	argv[n++] = "--state-dir";
	argv[n++] = nd->state;
	argv[n++] = "-S";
	argv[n++] = nd->sock;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "-o";
	argv[n++] = "discovery=no";
	argv[n++] = "--name";
	argv[n++] = nd->name;
	argv[n++] = "-c";
	argv[n++] = emptyconf;
	if (i > 0) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", nodes[0].port);
		argv[n++] = "-b";
		argv[n++] = addr;
	}
	argv[n] = NULL;

	if ((nd->pid = spawn()) == 0) {
		if ((fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		unsetenv("NOTIFY_SOCKET");
		execv(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "call_bench: %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	procs[PEERD][1 + i] = nd->pid;

	end = now() + START_SECS;
	while ((p = peer_open(nd->sock, &perr)) == NULL) {
		check_children();
		if (now() >= end)
			errx(1, "peerd %s does not answer within %d s: %s",
			    nd->name, START_SECS, perr.message);
		sleep_ms(5);
	}
	if (peer_status(p, &st, &perr) == -1) {
		check_children();
		errx(1, "peerd %s: status: %s", nd->name, perr.message);
	}
	if (st->nlisten < 1 ||
	    sscanf(st->listen[0], "127.0.0.1:%d", &nd->port) != 1)
		errx(1, "peerd %s: no mesh listener on 127.0.0.1", nd->name);
	peer_status_free(st);
	peer_close(p);
}

/* Waits until each daemon counts both as alive members. */
static void
nodes_wait_linked(void)
{
	struct peer_status	*st;
	struct peer_error	 perr;
	struct peer		*p[2];
	double			 end = now() + LINK_SECS;
	uint64_t		 m[2];
	int			 i;

	for (i = 0; i < 2; i++)
		if ((p[i] = peer_open(nodes[i].sock, &perr)) == NULL) {
			check_children();
			errx(1, "peerd %s: %s", nodes[i].name, perr.message);
		}
	for (;;) {
		for (i = 0; i < 2; i++) {
			if (peer_status(p[i], &st, &perr) == -1) {
				check_children();
				errx(1, "peerd %s: status: %s", nodes[i].name,
				    perr.message);
			}
			m[i] = st->members;
			peer_status_free(st);
		}
		if (m[0] >= 2 && m[1] >= 2)
			break;
		if (now() >= end)
			errx(1, "the daemons do not see each other within "
			    "%d s (members: A %llu, B %llu)", LINK_SECS,
			    (unsigned long long)m[0], (unsigned long long)m[1]);
		sleep_ms(20);
	}
	for (i = 0; i < 2; i++)
		peer_close(p[i]);
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

	if (rawfd != -1)
		close(rawfd);
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
	int			 fd;

	snprintf(emptyconf, sizeof(emptyconf), "%s/peerd.conf", topdir);
	if ((fd = open(emptyconf, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		err(1, "%s", emptyconf);
	close(fd);
	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		err(1, "getrandom");
	node_start(0, key);
	node_start(1, key);
	nodes_wait_linked();

	if ((procs[PEERD][3] = spawn()) == 0)
		server_main();

	if ((pa = peer_open(nodes[0].sock, &perr)) == NULL)
		errx(1, "peerd A: %s", perr.message);
	h = bstr_head(args, 32);
	memcpy(args + h, pat, 32);
	stamp(args + h, 32, 7);
	end = now() + SERVE_SECS;
	while (peer_call_sync(pa, SERVICE, METHOD, args, h + 32, &opts, &res,
	    &reslen, &perr) == -1) {
		check_children();
		if (perr.code != PEER_NOT_FOUND)
			errx(1, "the first call: %s: %s",
			    peer_code_name(perr.code), perr.message);
		if (now() >= end)
			errx(1, "service %s not found from A within %d s",
			    SERVICE, SERVE_SECS);
		sleep_ms(20);
	}
	if (reslen != h + 32 || memcmp(res, args, h) != 0 ||
	    !payload_ok(res + h, 32, 7))
		errx(1, "the first call came back corrupted");
	free(res);
}

static void
call_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct slot	*sl = arg;
	double		 t = now();

	(void)p;
	if (r->error != NULL) {
		if (cs.fail[0] == '\0')
			snprintf(cs.fail, sizeof(cs.fail), "peerd %zu: call "
			    "%llu: %s: %s", cs.size,
			    (unsigned long long)sl->seq,
			    peer_code_name(r->error->code), r->error->message);
	} else if (r->result_len != cs.headlen + cs.size ||
	    memcmp(r->result, cs.head, cs.headlen) != 0 ||
	    !payload_ok(r->result + cs.headlen, cs.size, sl->seq)) {
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
	cs.headlen = bstr_head(cs.head, size);
	cs.rtt = rtt;
	if ((args = malloc(cs.headlen + size)) == NULL ||
	    (slots = calloc((size_t)depth, sizeof(*slots))) == NULL)
		errx(1, "out of memory");
	memcpy(args, cs.head, cs.headlen);
	memcpy(args + cs.headlen, pat, size);
	for (i = 0; i < depth; i++) {
		slots[i].next = cs.free;
		cs.free = &slots[i];
	}
	t0 = cs.last = now();
	for (;;) {
		tnow = now();
		if (more)
			more = count > 0 ? issued < count : tnow - t0 < dur;
		while (more && cs.free != NULL &&
		    (count == 0 || issued < count)) {
			sl = cs.free;
			cs.free = sl->next;
			sl->seq = issued++;
			sl->sent = tnow;
			stamp(args + cs.headlen, size, sl->seq);
			if (peer_call(pa, SERVICE, METHOD, args,
			    cs.headlen + size, &opts, call_cb, sl, NULL,
			    &perr) == -1) {
				check_children();
				errx(1, "peerd %zu: call %llu: %s: %s", size,
				    (unsigned long long)sl->seq,
				    peer_code_name(perr.code), perr.message);
			}
			tnow = now();
		}
		if (cs.fail[0] != '\0') {
			check_children();
			errx(1, "%s", cs.fail);
		}
		if (!more && cs.done == issued)
			break;
		if ((pfd.fd = peer_fd(pa)) == -1) {
			check_children();
			errx(1, "peerd %zu: the connection to A is lost", size);
		}
		pfd.events = POLLIN;
		t = peer_timeout(pa);
		if (t < 0 || t > 1000)
			t = 1000;
		if ((r = poll(&pfd, 1, t)) == -1 && errno != EINTR)
			err(1, "poll");
		check_quit();
		if (peer_dispatch(pa, &perr) == -1) {
			check_children();
			errx(1, "peerd %zu: %s: %s", size,
			    peer_code_name(perr.code), perr.message);
		}
		if (r == 0 && now() - cs.last > STALL_MS / 1000.0) {
			check_children();
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
		cpu0[i] = proc_cpu(procs[v][i]);
	if (v == RAW)
		raw_run(size, depth, count, dur, rtt, res);
	else
		peerd_run(size, depth, count, dur, rtt, res);
	for (i = 0; i < NPROC; i++)
		res->cpu[i] = proc_cpu(procs[v][i]) - cpu0[i];
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
	struct sigaction	 sa;
	struct size		*first = sizes, *end = sizes + nitems(sizes), *sz;
	struct row		 rows[nitems(sizes)], *rw;
	char			*ep;
	int			 ch, nrows = 0, i;
	bool			 ok, have;
	bool			 runs_set = false, dur_set = false;

	while ((ch = getopt(argc, argv, "an:qs:t:v")) != -1) {
		switch (ch) {
		case 'a':
			answer_later = true;
			break;
		case 'n':
			runs = (int)strtol(optarg, &ep, 10);
			if (*ep != '\0' || runs < 1 || runs > RUNS_MAX)
				errx(2, "-n: 1 to %d runs", RUNS_MAX);
			runs_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 's':
			one.size = strtoul(optarg, &ep, 10);
			if (*ep != '\0' || one.size < 16 ||
			    one.size > PAYLOAD_MAX)
				errx(2, "-s: 16 to %u bytes", PAYLOAD_MAX);
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
			duration = strtod(optarg, &ep);
			if (*ep != '\0' || !(duration >= 0.05) ||
			    duration > 3600)
				errx(2, "-t: 0.05 to 3600 seconds");
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

	if ((peerd = getenv("PEERD")) == NULL)
		peerd = "build/peerd";
	if (access(peerd, X_OK) == -1)
		err(1, "%s (set PEERD to the daemon to run)", peerd);

	self = getpid();
	procs[RAW][0] = procs[PEERD][0] = self;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits end early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((pat = malloc(PAYLOAD_MAX)) == NULL)
		errx(1, "out of memory");
	for (i = 0; i < (int)PAYLOAD_MAX; i += 256)
		if (getrandom(pat + i, 256, 0) != 256)
			err(1, "getrandom");

	snprintf(topdir, sizeof(topdir), "/tmp/call_bench.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		err(1, "mkdtemp");
	if (atexit(cleanup) != 0)
		errx(1, "atexit");

	raw_start();
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
