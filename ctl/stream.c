/* SPDX-License-Identifier: ISC */
/*
 * stream.c: the loop of peerctl subscribe and monitor: signals blocked
 * but inside ppoll, dispatching until stopped or until the count is
 * reached, reconnecting when the connection to peerd is lost.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "out.h"
#include "peer.h"
#include "stream.h"

static volatile sig_atomic_t	quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

void
stream_printed(struct stream *s)
{
	fflush(stdout);
	if (s->count > 0 && ++s->seen >= s->count)
		s->done = true;
}

int
stream_run(struct peer *p, struct stream *s, stream_start_fn *start,
    void *arg, struct peer_error *err)
{
	struct sigaction	 sa;
	struct pollfd		 pfd;
	struct timespec		 ts;
	sigset_t		 block, orig;
	bool			 up = true;
	int			 t, rc = 0;

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

	if (start(p, arg, err) == -1) {
		sigprocmask(SIG_SETMASK, &orig, NULL);
		return -1;
	}
	peer_set_reconnect(p, true);
	while (!quit && !s->done) {
		pfd.fd = peer_fd(p);
		pfd.events = POLLIN;
		t = peer_timeout(p);
		ts.tv_sec = t / 1000;
		ts.tv_nsec = (long)(t % 1000) * 1000000;
		if (ppoll(&pfd, 1, t == -1 ? NULL : &ts, &orig) == -1 &&
		    errno != EINTR) {
			err->code = PEER_INTERNAL;
			snprintf(err->message, sizeof(err->message),
			    "poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (quit)
			break;
		/* Reconnecting is on: this fails only in callbacks. */
		(void)peer_dispatch(p, NULL);
		if (up && peer_fd(p) == -1)
			out_errx(PEER_UNAVAILABLE, "%s: connection to peerd "
			    "lost; reconnecting", s->what);
		else if (!up && peer_fd(p) != -1 && !out_json())
			fprintf(stderr, "peerctl: %s: reconnected\n", s->what);
		up = peer_fd(p) != -1;
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}
