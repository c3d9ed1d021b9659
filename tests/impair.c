/* SPDX-License-Identifier: ISC */
/*
 * impair.c: a TCP relay that delays, "loses" and partitions what it
 * carries, for testing the mesh under a bad network on hosts without
 * netem.  Each connection accepted on -l gets its own connection to -t,
 * and bytes flow both ways.
 *
 * The model, per direction of each connection:
 *
 *   delay	Every chunk read (what one read returned) is forwarded
 *		DELAY_MS after it was read.  Order is preserved.
 *   loss	TCP does not lose bytes, it retransmits them: a lost
 *		segment shows as a late one.  So with probability
 *		LOSS_PERCENT / 100 a chunk is held for a further
 *		max(200 ms, 2 * DELAY_MS), as a retransmission timeout
 *		would, and the chunks read after it wait behind it (head-of-
 *		line blocking, as TCP delivers in order).
 *   cut	SIGUSR1 stops forwarding both ways on every connection:
 *		everything read is held, connections stay open, new ones
 *		are accepted but not yet connected to the target, as in a
 *		silent partition.  SIGUSR2 heals: what was held goes (as TCP
 *		would retransmit it), and forwarding resumes.
 *   close	A side's end of stream (or error) travels as a chunk of its
 *		own, delayed like data; once it is forwarded and the other
 *		side's output is written, both sides are closed.
 *
 * A direction stops reading while more than HOLD_MAX bytes are held for
 * it (queued or unwritten) and reads again once half of that is left.
 * One timer per direction is armed for the head chunk's due time.
 * Randomness is seeded (-s) so that runs repeat.
 *
 * SIGTERM or SIGINT ends it with status 0.  It prints nothing unless an
 * error happens.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define HOLD_MAX	(4u << 20)	/* bytes held per direction */
#define CONNS_MAX	1024
#define DELAY_MAX	600000		/* ms */
#define RTO_MIN		200		/* ms */

struct conn;
struct relay;

/* A chunk as read, or the end of the stream (buf NULL). */
struct chunk {
	TAILQ_ENTRY(chunk)	 entry;
	uint64_t		 due;		/* us, monotonic */
	struct evbuffer		*buf;
};
TAILQ_HEAD(chunkq, chunk);

/* One direction of a connection: from side src to side dst. */
struct dir {
	struct conn		*conn;
	struct bufferevent	*src, *dst;
	struct chunkq		 q;
	size_t			 queued;	/* bytes in q */
	struct event		*timer;
	bool			 eof;		/* src ended; its chunk is queued */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct relay		*relay;
	struct bufferevent	*a;		/* accepted */
	struct bufferevent	*b;		/* to the target */
	bool			 connected;	/* b is up */
	struct bufferevent	*closing;	/* side to drain, then close */
	struct dir		 up;		/* a to b */
	struct dir		 down;		/* b to a */
};

struct relay {
	struct event_base	*base;
	struct evconnlistener	*lev;
	struct sockaddr_storage	 target;
	int			 targetlen;
	uint64_t		 delay;		/* us */
	uint64_t		 rto;		/* us */
	double			 loss;		/* 0 to 1 */
	uint64_t		 rng;
	bool			 cut;
	TAILQ_HEAD(, conn)	 conns;
	int			 nconns;
};

static bool	dir_flush(struct dir *);

static void
usage(void)
{
	fprintf(stderr, "usage: impair -l host:port -t host:port "
	    "[-d delay_ms] [-p loss_percent] [-s seed]\n");
	exit(2);
}

static uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* splitmix64: small, and the same sequence everywhere for a seed. */
static uint64_t
rng_next(struct relay *r)
{
	uint64_t	z = (r->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* True with probability r->loss. */
static bool
rng_lost(struct relay *r)
{
	if (r->loss <= 0)
		return false;
	return (double)(rng_next(r) >> 11) * 0x1.0p-53 < r->loss;
}

/* Bytes held for d: queued, or handed to dst and not yet written. */
static size_t
dir_held(const struct dir *d)
{
	if (d->dst == NULL)
		return d->queued;
	return d->queued + evbuffer_get_length(bufferevent_get_output(d->dst));
}

/* Stops reading src past HOLD_MAX; reads again below half of it. */
static void
dir_throttle(struct dir *d)
{
	size_t	held;

	if (d->eof || d->src == NULL)
		return;
	held = dir_held(d);
	if (held > HOLD_MAX)
		bufferevent_disable(d->src, EV_READ);
	else if (held <= HOLD_MAX / 2)
		bufferevent_enable(d->src, EV_READ);
}

static void
conn_free(struct conn *c)
{
	struct dir	*dirs[2] = { &c->up, &c->down };
	struct chunk	*k;
	int		 i;

	for (i = 0; i < 2; i++) {
		while ((k = TAILQ_FIRST(&dirs[i]->q)) != NULL) {
			TAILQ_REMOVE(&dirs[i]->q, k, entry);
			if (k->buf != NULL)
				evbuffer_free(k->buf);
			free(k);
		}
		if (dirs[i]->timer != NULL)
			event_free(dirs[i]->timer);
	}
	if (c->a != NULL)
		bufferevent_free(c->a);
	if (c->b != NULL)
		bufferevent_free(c->b);
	TAILQ_REMOVE(&c->relay->conns, c, entry);
	c->relay->nconns--;
	free(c);
}

/*
 * Queues what from holds (its end, if from is NULL) with its due time;
 * dir_flush sends it.
 */
static int
dir_push(struct dir *d, struct evbuffer *from)
{
	struct relay	*r = d->conn->relay;
	struct chunk	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->due = now_us() + r->delay + (rng_lost(r) ? r->rto : 0);
	if (from != NULL) {
		if ((k->buf = evbuffer_new()) == NULL ||
		    evbuffer_add_buffer(k->buf, from) == -1) {
			if (k->buf != NULL)
				evbuffer_free(k->buf);
			free(k);
			return -1;
		}
		d->queued += evbuffer_get_length(k->buf);
	}
	TAILQ_INSERT_TAIL(&d->q, k, entry);
	return 0;
}

/*
 * Hands dst every chunk at the head that is due, then arms the timer
 * for the next.  Nothing moves while cut or before dst is connected.
 * False if it freed the connection (its end reached an empty output).
 */
static bool
dir_flush(struct dir *d)
{
	struct conn	*c = d->conn;
	struct chunk	*k;
	struct timeval	 tv;
	uint64_t	 now;

	if (c->relay->cut || !c->connected || c->closing != NULL) {
		dir_throttle(d);
		return true;
	}
	now = now_us();
	while ((k = TAILQ_FIRST(&d->q)) != NULL && k->due <= now) {
		TAILQ_REMOVE(&d->q, k, entry);
		if (k->buf == NULL) {
			free(k);
			/* The end: close both once dst has it all. */
			c->closing = d->dst;
			bufferevent_setwatermark(d->dst, EV_WRITE, 0, 0);
			if (evbuffer_get_length(bufferevent_get_output(
			    d->dst)) == 0) {
				conn_free(c);
				return false;
			}
			return true;
		}
		d->queued -= evbuffer_get_length(k->buf);
		evbuffer_add_buffer(bufferevent_get_output(d->dst), k->buf);
		evbuffer_free(k->buf);
		free(k);
	}
	if (k != NULL) {
		tv.tv_sec = (time_t)((k->due - now) / 1000000);
		tv.tv_usec = (suseconds_t)((k->due - now) % 1000000);
		evtimer_add(d->timer, &tv);
	}
	dir_throttle(d);
	return true;
}

static void
dir_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	(void)dir_flush(arg);
}

static struct dir *
dir_from(struct conn *c, struct bufferevent *src)
{
	return src == c->a ? &c->up : &c->down;
}

static struct dir *
dir_to(struct conn *c, struct bufferevent *dst)
{
	return dst == c->a ? &c->down : &c->up;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct dir	*d = dir_from(c, bev);

	if (dir_push(d, bufferevent_get_input(bev)) == -1) {
		fprintf(stderr, "impair: out of memory; closing a "
		    "connection\n");
		conn_free(c);
		return;
	}
	(void)dir_flush(d);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->closing == bev) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	dir_throttle(dir_to(c, bev));
}

/* src ended or failed: its end travels like data. */
static void
dir_end(struct dir *d)
{
	struct conn	*c = d->conn;

	if (d->eof)
		return;
	d->eof = true;
	bufferevent_disable(d->src, EV_READ);
	/* What src sent before its end still goes first. */
	if ((evbuffer_get_length(bufferevent_get_input(d->src)) > 0 &&
	    dir_push(d, bufferevent_get_input(d->src)) == -1) ||
	    dir_push(d, NULL) == -1) {
		fprintf(stderr, "impair: out of memory; closing a "
		    "connection\n");
		conn_free(c);
		return;
	}
	(void)dir_flush(d);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		c->connected = true;
		bufferevent_enable(c->b, EV_READ);
		(void)dir_flush(&c->up);
		return;
	}
	if (bev == c->b && !c->connected) {
		/* The target refused: the client sees its connection end. */
		conn_free(c);
		return;
	}
	/* Output that can never be written: nothing is left to wait for. */
	if (c->closing == bev && (what & BEV_EVENT_ERROR)) {
		conn_free(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		dir_end(dir_from(c, bev));
}

/* Connects c to the target; frees c if that fails at once. */
static void
conn_connect(struct conn *c)
{
	struct relay	*r = c->relay;

	if ((c->b = bufferevent_socket_new(r->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->b, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->b, EV_WRITE, HOLD_MAX / 2, 0);
	c->up.dst = c->down.src = c->b;
	if (bufferevent_socket_connect(c->b, (struct sockaddr *)&r->target,
	    r->targetlen) == -1)
		conn_free(c);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	struct conn	*c;
	int		 one = 1;

	(void)lev; (void)sa; (void)salen;
	if (r->nconns >= CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->relay = r;
	TAILQ_INIT(&c->up.q);
	TAILQ_INIT(&c->down.q);
	c->up.conn = c->down.conn = c;
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->nconns++;
	if ((c->a = bufferevent_socket_new(r->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	c->up.src = c->down.dst = c->a;
	if ((c->up.timer = evtimer_new(r->base, dir_timer_cb,
	    &c->up)) == NULL || (c->down.timer = evtimer_new(r->base,
	    dir_timer_cb, &c->down)) == NULL) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->a, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->a, EV_WRITE, HOLD_MAX / 2, 0);
	bufferevent_enable(c->a, EV_READ);
	/* In a partition even the connection to the target waits. */
	if (!r->cut)
		conn_connect(c);
}

static void
listen_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	evconnlistener_enable(arg);
}

/* Out of descriptors: pause accepting for a second rather than spin. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv = { 1, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	fprintf(stderr, "impair: accept: %s\n",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(lev);
	event_base_once(r->base, -1, EV_TIMEOUT, listen_resume_cb, lev, &tv);
}

static void
on_cut(evutil_socket_t sig, short what, void *arg)
{
	struct relay	*r = arg;
	struct conn	*c;

	(void)sig; (void)what;
	r->cut = true;
	TAILQ_FOREACH(c, &r->conns, entry) {
		evtimer_del(c->up.timer);
		evtimer_del(c->down.timer);
	}
}

static void
on_heal(evutil_socket_t sig, short what, void *arg)
{
	struct relay	*r = arg;
	struct conn	*c, *next;

	(void)sig; (void)what;
	if (!r->cut)
		return;
	r->cut = false;
	/* A flush may free its connection: take the next one first. */
	for (c = TAILQ_FIRST(&r->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->b == NULL)
			conn_connect(c);
		else if (dir_flush(&c->down))
			(void)dir_flush(&c->up);
	}
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct relay	*r = arg;

	(void)sig; (void)what;
	event_base_loopexit(r->base, NULL);
}

/* HOST:PORT (IPv6 in brackets), numeric, port not 0. */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, int *len)
{
	*len = (int)sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, len) == -1)
		return -1;
	if (ss->ss_family == AF_INET)
		return ((struct sockaddr_in *)ss)->sin_port != 0 ? 0 : -1;
	if (ss->ss_family == AF_INET6)
		return ((struct sockaddr_in6 *)ss)->sin6_port != 0 ? 0 : -1;
	return -1;
}

/* A decimal number, digits and at most one point, up to max. */
static int
parse_num(const char *s, double max, double *v)
{
	char	*end;

	if (*s < '0' || *s > '9' || s[strspn(s, "0123456789.")] != '\0')
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return errno != 0 || *end != '\0' || *v > max ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	struct relay		 r;
	struct sockaddr_storage	 lss;
	struct event		*sigs[4];
	struct conn		*c;
	const int		 signo[4] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT };
	event_callback_fn	 sigfn[4] = { on_cut, on_heal, on_term, on_term };
	double			 v;
	const char		*laddr = NULL;
	char			*end;
	int			 ch, i, llen = 0;
	bool			 have_t = false, have_s = false;
	uint64_t		 delay_ms = 0;

	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.conns);
	while ((ch = getopt(argc, argv, "d:l:p:s:t:")) != -1) {
		switch (ch) {
		case 'd':
			if (parse_num(optarg, DELAY_MAX, &v) == -1 ||
			    strchr(optarg, '.') != NULL)
				usage();
			delay_ms = (uint64_t)v;
			break;
		case 'l':
			if (parse_addr(optarg, &lss, &llen) == -1)
				usage();
			laddr = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 100, &v) == -1)
				usage();
			r.loss = v / 100;
			break;
		case 's':
			if (*optarg < '0' || *optarg > '9')
				usage();
			errno = 0;
			r.rng = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0')
				usage();
			have_s = true;
			break;
		case 't':
			if (parse_addr(optarg, &r.target, &r.targetlen) == -1)
				usage();
			have_t = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || laddr == NULL || !have_t)
		usage();
	if (!have_s)
		r.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	r.delay = delay_ms * 1000;
	r.rto = (2 * delay_ms > RTO_MIN ? 2 * delay_ms : RTO_MIN) * 1000;

	signal(SIGPIPE, SIG_IGN);
	if ((r.base = event_base_new()) == NULL) {
		fprintf(stderr, "impair: event_base_new failed\n");
		return 1;
	}
	if ((r.lev = evconnlistener_new_bind(r.base, accept_cb, &r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&lss, llen)) == NULL) {
		fprintf(stderr, "impair: listen on %s: %s\n", laddr,
		    strerror(errno));
		return 1;
	}
	evconnlistener_set_error_cb(r.lev, accept_error_cb);
	for (i = 0; i < 4; i++)
		if ((sigs[i] = evsignal_new(r.base, signo[i], sigfn[i],
		    &r)) == NULL || event_add(sigs[i], NULL) == -1) {
			fprintf(stderr, "impair: cannot watch signal %d\n",
			    signo[i]);
			return 1;
		}
	event_base_dispatch(r.base);

	while ((c = TAILQ_FIRST(&r.conns)) != NULL)
		conn_free(c);
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	evconnlistener_free(r.lev);
	event_base_free(r.base);
	return 0;
}
