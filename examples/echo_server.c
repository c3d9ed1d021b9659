/* SPDX-License-Identifier: ISC */
/*
 * echo_server.c: an example service served through peerd with libpeer.
 *
 *	echo	answers its args as they came (null if none)
 *	sleep	answers null after args milliseconds (a uint, or an array
 *		starting with one; none: past the caller's timeout),
 *		later, from this program's own loop, unless the call is
 *		cancelled or its deadline passes first
 *	fail	fails with UNKNOWN, passing its args back as the context
 *	whoami	answers the name of the node it runs on
 *	caller	answers {"from": the caller's node ID, "verified": whether
 *		that ID is verified (peer_inv_verified)}
 *
 * The loop polls peerd's fd with a timeout that also covers the next
 * sleep due, the way a program with other work embeds libpeer.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <peerd/peer.h>

#define SLEEPS_MAX	100000		/* pending at once */
#define SLEEP_MS_MAX	3600000		/* one hour */

/* A call to answer when it is due; the queue is a binary min-heap. */
struct sleeper {
	int64_t		due;		/* ms, monotonic */
	uint64_t	call;
};

struct server {
	struct sleeper	*q;
	size_t		 n, cap;
};

static const uint8_t		cbor_null[] = { 0xf6 };
static volatile sig_atomic_t	quit;

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: echo_server [-h] [-g group] [-n service] "
	    "[-s socket]\n");
	exit(status);
}

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
sleep_push(struct server *sv, int64_t due, uint64_t call)
{
	struct sleeper	*q, t;
	size_t		 i, cap;

	if (sv->n == sv->cap) {
		cap = sv->cap ? sv->cap * 2 : 64;
		if (cap > SLEEPS_MAX)
			cap = SLEEPS_MAX;
		if ((q = reallocarray(sv->q, cap, sizeof(*q))) == NULL)
			return -1;
		sv->q = q;
		sv->cap = cap;
	}
	i = sv->n++;
	sv->q[i].due = due;
	sv->q[i].call = call;
	while (i > 0 && sv->q[(i - 1) / 2].due > sv->q[i].due) {
		t = sv->q[i];
		sv->q[i] = sv->q[(i - 1) / 2];
		sv->q[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return 0;
}

/* Takes out the sleeper at i, keeping the heap in order. */
static struct sleeper
sleep_remove(struct server *sv, size_t i)
{
	struct sleeper	top = sv->q[i], t;
	size_t		c;

	sv->q[i] = sv->q[--sv->n];
	while (i > 0 && i < sv->n && sv->q[(i - 1) / 2].due > sv->q[i].due) {
		t = sv->q[i];
		sv->q[i] = sv->q[(i - 1) / 2];
		sv->q[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	for (;;) {
		c = 2 * i + 1;
		if (c >= sv->n)
			break;
		if (c + 1 < sv->n && sv->q[c + 1].due < sv->q[c].due)
			c++;
		if (sv->q[i].due <= sv->q[c].due)
			break;
		t = sv->q[i];
		sv->q[i] = sv->q[c];
		sv->q[c] = t;
		i = c;
	}
	return top;
}

static struct sleeper
sleep_pop(struct server *sv)
{
	return sleep_remove(sv, 0);
}

static void
answer_failed(const struct peer_error *err)
{
	fprintf(stderr, "echo_server: answer: %s: %s\n",
	    peer_code_name(err->code), err->message);
}

/* args: a uint, or an array whose first element is one. */
static bool
sleep_args(const struct peer_invocation *inv, uint64_t *ms)
{
	struct cbor_load_result	 res;
	cbor_item_t		*item, *first;
	bool			 ok = false;

	if (inv->args == NULL ||
	    (item = cbor_load(inv->args, inv->args_len, &res)) == NULL)
		return false;
	first = item;
	if (cbor_isa_array(item) && cbor_array_size(item) > 0)
		first = cbor_array_handle(item)[0];
	if (cbor_isa_uint(first)) {
		*ms = cbor_get_int(first);
		ok = true;
	}
	cbor_decref(&item);
	return ok;
}

static void
do_sleep(struct peer *p, struct server *sv, const struct peer_invocation *inv)
{
	struct peer_error	err;
	uint64_t		ms;
	int			r = 0;

	if (inv->oneway)
		return;		/* nobody waits for it */
	if (inv->args == NULL) {
		/* Long enough for the caller to see DEADLINE_EXCEEDED. */
		ms = (uint64_t)inv->timeout_ms + 1000;
		if (ms > SLEEP_MS_MAX)
			ms = SLEEP_MS_MAX;
	} else if (!sleep_args(inv, &ms))
		ms = UINT64_MAX;
	if (ms > SLEEP_MS_MAX)
		r = peer_answer_error(p, inv->call, PEER_INVALID_ARGUMENT,
		    "sleep takes milliseconds, at most one hour", NULL, 0,
		    &err);
	else if (sv->n == SLEEPS_MAX ||
	    sleep_push(sv, now_ms() + (int64_t)ms, inv->call) == -1)
		r = peer_answer_error(p, inv->call, PEER_RESOURCE_EXHAUSTED,
		    "too many sleeps pending", NULL, 0, &err);
	if (r == -1)
		answer_failed(&err);
}

static void
do_whoami(struct peer *p, const struct peer_invocation *inv)
{
	struct peer_error	 err;
	const char		*name = peer_node_name(p);
	size_t			 len = strlen(name), n;
	unsigned char		*buf;

	if ((buf = malloc(len + 9)) == NULL) {
		if (peer_answer_error(p, inv->call, PEER_RESOURCE_EXHAUSTED,
		    "out of memory", NULL, 0, &err) == -1)
			answer_failed(&err);
		return;
	}
	n = cbor_encode_string_start(len, buf, len + 9);
	memcpy(buf + n, name, len);
	if (peer_answer(p, inv->call, buf, n + len, &err) == -1)
		answer_failed(&err);
	free(buf);
}

static void
do_caller(struct peer *p, const struct peer_invocation *inv)
{
	struct peer_error	 err;
	size_t			 len = strlen(inv->from), cap = len + 32, n;
	unsigned char		*buf;

	if ((buf = malloc(cap)) == NULL) {
		if (peer_answer_error(p, inv->call, PEER_RESOURCE_EXHAUSTED,
		    "out of memory", NULL, 0, &err) == -1)
			answer_failed(&err);
		return;
	}
	n = cbor_encode_map_start(2, buf, cap);
	n += cbor_encode_string_start(4, buf + n, cap - n);
	memcpy(buf + n, "from", 4);
	n += 4;
	n += cbor_encode_string_start(len, buf + n, cap - n);
	memcpy(buf + n, inv->from, len);
	n += len;
	n += cbor_encode_string_start(8, buf + n, cap - n);
	memcpy(buf + n, "verified", 8);
	n += 8;
	n += cbor_encode_bool(peer_inv_verified(inv), buf + n, cap - n);
	if (peer_answer(p, inv->call, buf, n, &err) == -1)
		answer_failed(&err);
	free(buf);
}

static void
handle(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct server		*sv = arg;
	struct peer_error	 err;
	char			*msg;
	int			 r = 0;

	if (strcmp(inv->method, "echo") == 0)
		r = peer_answer(p, inv->call, inv->args, inv->args_len, &err);
	else if (strcmp(inv->method, "sleep") == 0)
		do_sleep(p, sv, inv);
	else if (strcmp(inv->method, "fail") == 0)
		r = peer_answer_error(p, inv->call, PEER_UNKNOWN,
		    "failed on purpose",
		    inv->args != NULL ? inv->args : cbor_null,
		    inv->args != NULL ? inv->args_len : sizeof(cbor_null),
		    &err);
	else if (strcmp(inv->method, "whoami") == 0)
		do_whoami(p, inv);
	else if (strcmp(inv->method, "caller") == 0)
		do_caller(p, inv);
	else if (asprintf(&msg, "no method %s", inv->method) == -1)
		r = peer_answer_error(p, inv->call, PEER_UNIMPLEMENTED,
		    "no such method", NULL, 0, &err);
	else {
		r = peer_answer_error(p, inv->call, PEER_UNIMPLEMENTED, msg,
		    NULL, 0, &err);
		free(msg);
	}
	if (r == -1)
		answer_failed(&err);
}

/* A call no longer wanted: its sleep is not answered. */
static void
on_cancel(struct peer *p, uint64_t call, const char *reason, void *arg)
{
	struct server	*sv = arg;
	size_t		 i;

	(void)p;
	(void)reason;
	for (i = 0; i < sv->n; i++)
		if (sv->q[i].call == call) {
			(void)sleep_remove(sv, i);
			return;
		}
}

/* Answers the sleeps that are due. */
static void
wake_sleepers(struct peer *p, struct server *sv)
{
	struct peer_error	err;
	struct sleeper		s;
	int64_t			now = now_ms();

	while (sv->n > 0 && sv->q[0].due <= now) {
		s = sleep_pop(sv);
		if (peer_answer(p, s.call, NULL, 0, &err) == -1)
			answer_failed(&err);
	}
}

/* The lesser of libpeer's timeout and the next sleep's, -1 for none. */
static int
loop_timeout(struct peer *p, const struct server *sv)
{
	int64_t	left;
	int	t = peer_timeout(p);

	if (sv->n == 0)
		return t;
	left = sv->q[0].due - now_ms();
	if (left < 0)
		left = 0;
	if (left > INT32_MAX)
		left = INT32_MAX;
	return t == -1 || left < t ? (int)left : t;
}

int
main(int argc, char *argv[])
{
	struct server		 sv = { 0 };
	struct peer		*p;
	struct peer_error	 err;
	struct pollfd		 pfd;
	struct sigaction	 sa;
	struct timespec		 ts;
	sigset_t		 block, orig;
	const char		*sock = NULL, *group = NULL;
	const char		*service = "echo";
	int			 ch, t, rc = 0;

	while ((ch = getopt(argc, argv, "g:hn:s:")) != -1) {
		switch (ch) {
		case 'g':
			group = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'n':
			service = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);

	/* Blocked except inside ppoll, so a signal cannot slip past it. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if ((p = peer_open(sock, &err)) == NULL) {
		fprintf(stderr, "echo_server: %s: %s\n",
		    peer_code_name(err.code), err.message);
		return 1;
	}
	peer_on_cancel(p, on_cancel, &sv);
	if (peer_serve(p, service, group, handle, &sv, &err) == -1) {
		fprintf(stderr, "echo_server: serve %s: %s: %s\n", service,
		    peer_code_name(err.code), err.message);
		peer_close(p);
		return 1;
	}
	peer_set_reconnect(p, true);
	printf("ready\n");
	fflush(stdout);

	while (!quit) {
		/*
		 * Lost, the daemon failed every call it had sent us; after
		 * a restart it numbers them anew, so forget the sleeps.
		 */
		if (peer_fd(p) == -1)
			sv.n = 0;
		pfd.fd = peer_fd(p);
		pfd.events = POLLIN;
		t = loop_timeout(p, &sv);
		ts.tv_sec = t / 1000;
		ts.tv_nsec = (long)(t % 1000) * 1000000;
		if (ppoll(&pfd, 1, t == -1 ? NULL : &ts, &orig) == -1 &&
		    errno != EINTR) {
			fprintf(stderr, "echo_server: poll: %s\n",
			    strerror(errno));
			rc = 1;
			break;
		}
		if (quit)
			break;
		wake_sleepers(p, &sv);
		/* Reconnecting is on: this fails only in callbacks. */
		if (peer_dispatch(p, &err) == -1) {
			fprintf(stderr, "echo_server: %s: %s\n",
			    peer_code_name(err.code), err.message);
			rc = 1;
			break;
		}
	}
	peer_close(p);
	free(sv.q);
	return rc;
}
