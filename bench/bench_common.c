/* SPDX-License-Identifier: ISC */
/*
 * bench_common.c: the shared part of the benchmarks: the private
 * directory and its removal, the children and their stopping, daemons
 * on one network key, the raw relay chain (relays, echo server, sink)
 * and the frames it carries, the payload, the clock and the options.
 * link_bench takes only the clock, the sockets and the options.
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

#include "bench_common.h"

#define START_SECS	5		/* for a daemon to answer */
#define LOG_TAIL	20		/* lines shown of a daemon's log */
#define CHILDREN_MAX	32

volatile sig_atomic_t	 bench_quit;
const char		*bench_peerd;
char			 bench_dir[64];
char			 bench_conf[96];
uint8_t			*bench_pat;

static struct child {
	pid_t			 pid;
	const char		*what;
	const char		*log;	/* or NULL */
	bool			 daemon;
} children[CHILDREN_MAX];
static int		 nchildren;
static pid_t		 self;

double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	bench_quit = sig;
}

void
bench_check_quit(void)
{
	if (bench_quit)
		errx(1, "stopped by signal %d", (int)bench_quit);
}

void
bench_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		bench_check_quit();
	bench_check_quit();
}

unsigned long long
bench_opt_num(int opt, const char *arg, unsigned long long min,
    unsigned long long max, const char *unit)
{
	unsigned long long	 v;
	char			*end;

	v = strtoull(arg, &end, 10);
	if (*end != '\0' || v < min || v > max)
		errx(2, "-%c: %llu to %llu %s", opt, min, max, unit);
	return v;
}

double
bench_opt_secs(int opt, const char *arg, double min)
{
	double	 v;
	char	*end;

	v = strtod(arg, &end);
	if (*end != '\0' || !(v >= min) || v > 3600)
		errx(2, "-%c: %g to 3600 seconds", opt, min);
	return v;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void
bench_rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * SIGTERM to each child of one kind (apps and relays, or daemons) at
 * once, and SIGKILL to those still running after BENCH_STOP_SECS.
 */
static void
stop_children(bool daemons)
{
	struct child	*c;
	double		 end;
	int		 i, left;

	for (i = 0; i < nchildren; i++) {
		c = &children[i];
		if (c->pid > 0 && c->daemon == daemons)
			kill(c->pid, SIGTERM);
	}
	end = bench_now() + BENCH_STOP_SECS;
	do {
		for (i = left = 0; i < nchildren; i++) {
			c = &children[i];
			if (c->pid <= 0 || c->daemon != daemons)
				continue;
			if (waitpid(c->pid, NULL, WNOHANG) != 0)
				c->pid = -1;
			else
				left++;
		}
		if (left > 0)
			usleep(10000);
	} while (left > 0 && bench_now() < end);
	for (i = 0; i < nchildren; i++) {
		c = &children[i];
		if (c->pid <= 0 || c->daemon != daemons)
			continue;
		warnx("%s still ran %d s after SIGTERM; killed", c->what,
		    BENCH_STOP_SECS);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
	}
}

/*
 * At any exit of this process: no child and no file is left.  The
 * apps go before the daemons, so that none sees its daemon vanish.
 */
static void
cleanup(void)
{
	if (getpid() != self)
		return;
	stop_children(false);
	stop_children(true);
	bench_rm_tree(bench_dir);
}

void
bench_setup(const char *prog)
{
	struct sigaction	sa;
	int			fd;
	size_t			i;

	if ((bench_peerd = getenv("PEERD")) == NULL)
		bench_peerd = "build/peerd";
	if (access(bench_peerd, X_OK) == -1)
		err(1, "%s (set PEERD to the daemon to run)", bench_peerd);

	self = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits end early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((bench_pat = malloc(BENCH_PAYLOAD_MAX)) == NULL)
		errx(1, "out of memory");
	for (i = 0; i < BENCH_PAYLOAD_MAX; i += 256)
		if (getrandom(bench_pat + i, 256, 0) != 256)
			err(1, "getrandom");

	snprintf(bench_dir, sizeof(bench_dir), "/tmp/%s.XXXXXX", prog);
	if (mkdtemp(bench_dir) == NULL)
		err(1, "mkdtemp");
	if (atexit(cleanup) != 0)
		errx(1, "atexit");
	snprintf(bench_conf, sizeof(bench_conf), "%s/peerd.conf", bench_dir);
	if ((fd = open(bench_conf, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		err(1, "%s", bench_conf);
	close(fd);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
bench_sort(double *a, int n)
{
	qsort(a, (size_t)n, sizeof(*a), cmp_double);
}

double
bench_pct(const double *a, int n, double p)
{
	double	r = p / 100 * n;
	int	k = (int)r;

	if (k < r)		/* the rank is r rounded up, without libm */
		k++;
	k--;
	return a[k < 0 ? 0 : k >= n ? n - 1 : k];
}

double
bench_proc_cpu(pid_t pid)
{
	struct timespec		 ts;
	unsigned long long	 ut, st;
	char			 path[64], buf[1024], *p;
	ssize_t			 n;
	int			 fd;

	if (pid == getpid()) {
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

bool
bench_payload_ok(const uint8_t *m, size_t size, uint64_t seq)
{
	uint64_t	a, b;

	memcpy(&a, m, 8);
	memcpy(&b, m + size - 8, 8);
	return a == seq && b == seq &&
	    memcmp(m + 8, bench_pat + 8, size - 16) == 0;
}

void
bench_stamp(uint8_t *m, size_t size, uint64_t seq)
{
	memcpy(m, &seq, 8);
	memcpy(m + size - 8, &seq, 8);
}

size_t
bench_bstr_head(uint8_t *h, size_t len)
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

int
bench_nonblock(int fd)
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

pid_t
bench_spawn(void)
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

static void
child_add(pid_t pid, const char *what, const char *log, bool daemon)
{
	if (nchildren == CHILDREN_MAX) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errx(1, "more than %d children", CHILDREN_MAX);
	}
	children[nchildren].pid = pid;
	children[nchildren].what = what;
	children[nchildren].log = log;
	children[nchildren].daemon = daemon;
	nchildren++;
}

void
bench_child_add(pid_t pid, const char *what)
{
	child_add(pid, what, NULL, false);
}

void
bench_child_add_log(pid_t pid, const char *what, const char *log)
{
	child_add(pid, what, log, false);
}

void
bench_show_log(const char *log)
{
	static char	 lines[LOG_TAIL][512];
	FILE		*f;
	int		 i, n = 0;

	if ((f = fopen(log, "r")) == NULL)
		return;
	while (fgets(lines[n % LOG_TAIL], sizeof(lines[0]), f) != NULL)
		n++;
	fclose(f);
	fprintf(stderr, "--- the end of %s\n", log);
	for (i = n > LOG_TAIL ? n - LOG_TAIL : 0; i < n; i++)
		fputs(lines[i % LOG_TAIL], stderr);
}

void
bench_check_children(void)
{
	struct child	*c;
	int		 status, i;

	for (i = 0; i < nchildren; i++) {
		c = &children[i];
		if (c->pid <= 0 || waitpid(c->pid, &status, WNOHANG) != c->pid)
			continue;
		c->pid = -1;
		if (c->log != NULL)
			bench_show_log(c->log);
		errx(1, "%s died (%s %d)", c->what,
		    WIFSIGNALED(status) ? "signal" : "status",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
	}
}

void
bench_child_end(pid_t pid, int sig)
{
	double	end;
	int	i;

	for (i = 0; i < nchildren && children[i].pid != pid; i++)
		;
	if (i == nchildren || pid <= 0)
		errx(1, "pid %d is not a child running", (int)pid);
	children[i].pid = -1;
	kill(pid, sig);
	end = bench_now() + BENCH_STOP_SECS;
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (bench_now() >= end) {
			warnx("%s still ran %d s after signal %d; killed",
			    children[i].what, BENCH_STOP_SECS, sig);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		usleep(1000);
	}
}

void
bench_key_write(const char *state, const uint8_t key[32])
{
	char	path[160];
	int	fd;

	snprintf(path, sizeof(path), "%s/network.key", state);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write(fd, key, 32) != 32 || close(fd) == -1)
		err(1, "%s", path);
}

pid_t
bench_exec(const char *const argv[], const char *log)
{
	pid_t	pid;
	int	fd;

	if ((pid = bench_spawn()) == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
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
		dprintf(STDERR_FILENO, "%s: %s: %s\n",
		    program_invocation_short_name, argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t
bench_peerd_spawn(const char *state, const char *sock, const char *name,
    const char *log, int boot_port, const char *const *opts)
{
	const char	*argv[28];
	char		 addr[32];
	int		 n = 0;

	argv[n++] = bench_peerd;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "-S";
	argv[n++] = sock;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	/* Beacons would leave the machine. */
	argv[n++] = "-o";
	argv[n++] = "discovery=no";
	argv[n++] = "--name";
	argv[n++] = name;
	/* An empty file: the defaults, whatever /etc holds. */
	argv[n++] = "-c";
	argv[n++] = bench_conf;
	if (boot_port != 0) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", boot_port);
		argv[n++] = "-b";
		argv[n++] = addr;
	}
	for (; opts != NULL && *opts != NULL && n < 26; opts++) {
		argv[n++] = "-o";
		argv[n++] = *opts;
	}
	argv[n] = NULL;
	return bench_exec(argv, log);
}

const char *const bench_relayed_opts[4] = {
	"degree_min=1", "degree_max=1", "call_dial=no", NULL,
};

void
bench_node_links(const struct bench_node *nd, uint64_t links)
{
	struct peer_status	*st;
	struct peer_error	 perr;
	struct peer		*p;

	if ((p = peer_open(nd->sock, &perr)) == NULL ||
	    peer_status(p, &st, &perr) == -1)
		errx(1, "peerd %s: status: %s", nd->name, perr.message);
	if (st->peers != links)
		errx(1, "peerd %s has %llu links up, not %llu: the path is "
		    "not the one measured", nd->name,
		    (unsigned long long)st->peers, (unsigned long long)links);
	peer_status_free(st);
	peer_close(p);
}

void
bench_node_start(struct bench_node *nd, const uint8_t key[32],
    const struct bench_node *boot)
{
	struct peer_status	*st;
	struct peer_error	 perr;
	struct peer		*p;
	char			*what;
	double			 end;

	snprintf(nd->dir, sizeof(nd->dir), "%s/%s", bench_dir, nd->name);
	snprintf(nd->state, sizeof(nd->state), "%s/state", nd->dir);
	snprintf(nd->sock, sizeof(nd->sock), "%s/peerd.sock", nd->dir);
	snprintf(nd->log, sizeof(nd->log), "%s/peerd.log", nd->dir);
	if (mkdir(nd->dir, 0700) == -1 || mkdir(nd->state, 0700) == -1)
		err(1, "%s", nd->state);
	bench_key_write(nd->state, key);

	nd->pid = bench_peerd_spawn(nd->state, nd->sock, nd->name, nd->log,
	    boot != NULL ? boot->port : 0, nd->opts);
	if (asprintf(&what, "peerd %s", nd->name) == -1)
		errx(1, "out of memory");
	child_add(nd->pid, what, nd->log, true);

	end = bench_now() + START_SECS;
	while ((p = peer_open(nd->sock, &perr)) == NULL) {
		bench_check_children();
		if (bench_now() >= end)
			errx(1, "peerd %s does not answer within %d s: %s",
			    nd->name, START_SECS, perr.message);
		bench_sleep_ms(5);
	}
	if (peer_status(p, &st, &perr) == -1) {
		bench_check_children();
		errx(1, "peerd %s: status: %s", nd->name, perr.message);
	}
	if (st->nlisten < 1 ||
	    sscanf(st->listen[0], "127.0.0.1:%d", &nd->port) != 1)
		errx(1, "peerd %s: no mesh listener on 127.0.0.1", nd->name);
	peer_status_free(st);
	peer_close(p);
}

void
bench_nodes_wait(const struct bench_node *nodes, int n, int secs)
{
	struct peer_status	*st;
	struct peer_error	 perr;
	struct peer		*p[16];
	double			 end = bench_now() + secs;
	uint64_t		 m[16];
	char			 seen[256];
	int			 i, ok;
	size_t			 len;

	if (n > (int)nitems(p))
		errx(1, "more than %zu daemons to wait for", nitems(p));
	for (i = 0; i < n; i++)
		if ((p[i] = peer_open(nodes[i].sock, &perr)) == NULL) {
			bench_check_children();
			errx(1, "peerd %s: %s", nodes[i].name, perr.message);
		}
	for (;;) {
		for (i = ok = 0; i < n; i++) {
			if (peer_status(p[i], &st, &perr) == -1) {
				bench_check_children();
				errx(1, "peerd %s: status: %s", nodes[i].name,
				    perr.message);
			}
			m[i] = st->members;
			peer_status_free(st);
			if (m[i] >= (uint64_t)n)
				ok++;
		}
		if (ok == n)
			break;
		if (bench_now() >= end) {
			for (i = 0, len = 0; i < n && len < sizeof(seen); i++)
				len += (size_t)snprintf(seen + len,
				    sizeof(seen) - len, "%s%s %llu",
				    i > 0 ? ", " : "", nodes[i].name,
				    (unsigned long long)m[i]);
			errx(1, "the daemons do not see each other within "
			    "%d s (members: %s)", secs, seen);
		}
		bench_sleep_ms(20);
	}
	for (i = 0; i < n; i++)
		peer_close(p[i]);
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

int
bench_listen_lo(struct sockaddr_in *sin)
{
	socklen_t	slen = sizeof(*sin);
	int		fd;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &slen) == -1)
		err(1, "listen on 127.0.0.1");
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

	if ((rev & (POLLIN | POLLHUP | POLLERR)) && pp->len < BENCH_IO_MAX) {
		if (pp->off > 0 && pp->off + pp->len == BENCH_IO_MAX) {
			memmove(pp->buf, pp->buf + pp->off, pp->len);
			pp->off = 0;
		}
		n = read(pp->from, pp->buf + pp->off + pp->len,
		    BENCH_IO_MAX - pp->off - pp->len);
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

	if ((ab.buf = malloc(BENCH_IO_MAX)) == NULL ||
	    (ba.buf = malloc(BENCH_IO_MAX)) == NULL)
		errx(1, "relay: out of memory");
	if (bench_nonblock(a) == -1 || bench_nonblock(b) == -1)
		err(1, "relay: fcntl");
	for (;;) {
		pfd[0].fd = a;
		pfd[0].events = (ab.len < BENCH_IO_MAX ? POLLIN : 0) |
		    (ba.len > 0 ? POLLOUT : 0);
		pfd[1].fd = b;
		pfd[1].events = (ba.len < BENCH_IO_MAX ? POLLIN : 0) |
		    (ab.len > 0 ? POLLOUT : 0);
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			err(1, "relay: poll");
		if (!pipe_move(&ab, pfd[0].revents) ||
		    !pipe_move(&ba, pfd[1].revents))
			_exit(0);
	}
}

static void
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno != EINTR)
				_exit(0);
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * The end of the chain: reads up to BENCH_IO_MAX at a time.  The echo
 * writes every whole frame straight back (those read together in one
 * write, as they lie in a row in the buffer); the sink checks and
 * counts them, and answers an empty frame with the count.
 */
static void __attribute__((noreturn))
chain_end(int fd, enum bench_end mode)
{
	uint8_t		*buf;
	size_t		 cap = BENCH_FRAME_HDR + BENCH_PAYLOAD_MAX +
			    BENCH_IO_MAX;
	size_t		 off = 0, len = 0, whole, flen;
	ssize_t		 n;
	uint64_t	 count = 0;
	uint32_t	 plen;

	if ((buf = malloc(cap)) == NULL)
		errx(1, "chain end: out of memory");
	for (;;) {
		if ((n = read(fd, buf + off + len, cap - off - len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			_exit(0);
		}
		len += (size_t)n;
		for (whole = 0; len - whole >= BENCH_FRAME_HDR;
		    whole += flen) {
			memcpy(&plen, buf + off + whole, 4);
			plen = ntohl(plen);
			if (plen > BENCH_PAYLOAD_MAX ||
			    (mode == BENCH_SINK && plen > 0 && plen < 16))
				errx(1, "chain end: frame of %u bytes", plen);
			flen = BENCH_FRAME_HDR + plen;
			if (len - whole < flen)
				break;
			if (mode != BENCH_SINK)
				continue;
			if (plen == 0) {
				write_all(fd, (uint8_t *)&count, 8);
				count = 0;
			} else if (!bench_payload_ok(buf + off + whole +
			    BENCH_FRAME_HDR, plen, count++))
				errx(1, "sink: frame %llu arrived corrupted",
				    (unsigned long long)(count - 1));
		}
		if (mode == BENCH_ECHO)
			write_all(fd, buf + off, whole);
		off += whole;
		len -= whole;
		/* Room for the rest of a frame and one more read. */
		if (len == 0)
			off = 0;
		else if (off + len + BENCH_IO_MAX > cap) {
			memmove(buf, buf + off, len);
			off = 0;
		}
	}
}

/*
 * Every listener exists before the process that dials it starts, so
 * nothing waits on anything.
 */
void
bench_chain_start(struct bench_chain *ch, enum bench_end mode)
{
	struct sockaddr_in	sin;
	char			end_path[96], relay_path[96];
	pid_t			pid;
	int			lfd, fd, tfd;

	snprintf(end_path, sizeof(end_path), "%s/end.sock", bench_dir);
	snprintf(relay_path, sizeof(relay_path), "%s/relay.sock", bench_dir);

	lfd = unix_listen(end_path);
	if ((pid = bench_spawn()) == 0) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(1, "chain end: accept");
		close(lfd);
		chain_end(fd, mode);
	}
	ch->pid[2] = pid;
	bench_child_add(pid, mode == BENCH_ECHO ? "raw echo" : "raw sink");
	close(lfd);

	lfd = bench_listen_lo(&sin);
	if ((pid = bench_spawn()) == 0) {
		fd = unix_connect(end_path);
		if ((tfd = accept(lfd, NULL, NULL)) == -1)
			err(1, "R2: accept");
		close(lfd);
		nodelay(tfd);
		relay(tfd, fd);
	}
	ch->pid[1] = pid;
	bench_child_add(pid, "raw R2");
	close(lfd);

	lfd = unix_listen(relay_path);
	if ((pid = bench_spawn()) == 0) {
		if ((tfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(tfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			err(1, "R1: connect to R2");
		nodelay(tfd);
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(1, "R1: accept");
		close(lfd);
		relay(fd, tfd);
	}
	ch->pid[0] = pid;
	bench_child_add(pid, "raw R1");
	close(lfd);

	ch->fd = unix_connect(relay_path);
	if (bench_nonblock(ch->fd) == -1)
		err(1, "fcntl");
}

/* The raw chain's head: the payload's length, 4 bytes big-endian. */
static size_t
raw_head(uint8_t *h, size_t size, uint64_t seq)
{
	uint32_t	be = htonl((uint32_t)size);

	(void)seq;
	memcpy(h, &be, BENCH_FRAME_HDR);
	return BENCH_FRAME_HDR;
}

void
bench_frames_write(int fd, struct bench_frames *fw, uint64_t end)
{
	struct iovec	 iov[4 * BENCH_WRITE_FRAMES];
	size_t		(*head)(uint8_t *, size_t, uint64_t);
	uint64_t	 s;
	size_t		 tlen, h, skip, left, take, flen;
	ssize_t		 n;
	int		 niov = 0, r, k;

	head = fw->head != NULL ? fw->head : raw_head;
	tlen = fw->trail != NULL ? strlen(fw->trail) : 0;
	for (s = fw->next; s < end && niov < (int)nitems(iov); s++) {
		k = (int)(s % BENCH_WRITE_FRAMES);
		h = fw->hlen[k] = head(fw->hdr[k], fw->size, s);
		memcpy(fw->hdr[k] + h, &s, 8);
		memcpy(fw->tail[k], &s, 8);
		iov[niov++] = (struct iovec){ fw->hdr[k], h + 8 };
		iov[niov++] = (struct iovec){ bench_pat + 8, fw->size - 16 };
		iov[niov++] = (struct iovec){ fw->tail[k], 8 };
		if (tlen > 0)
			iov[niov++] = (struct iovec){ (void *)fw->trail, tlen };
	}
	if (niov == 0)
		return;
	/* Skip what of the first frame is out already. */
	for (skip = fw->off, r = 0; skip > 0; r++) {
		take = skip < iov[r].iov_len ? skip : iov[r].iov_len;
		iov[r].iov_base = (uint8_t *)iov[r].iov_base + take;
		iov[r].iov_len -= take;
		skip -= take;
	}
	if ((n = writev(fd, iov, niov)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			err(1, "write");
		return;
	}
	for (left = (size_t)n; left > 0;) {
		flen = fw->hlen[fw->next % BENCH_WRITE_FRAMES] + fw->size +
		    tlen;
		take = left < flen - fw->off ? left : flen - fw->off;
		fw->off += take;
		left -= take;
		if (fw->off == flen) {
			fw->next++;
			fw->off = 0;
		}
	}
}
