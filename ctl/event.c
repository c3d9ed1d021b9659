/* SPDX-License-Identifier: ISC */
/*
 * event.c: peerctl subscribe: one line per event on standard output,
 * flushed at once, for as long as it runs or until a count is reached.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cbor_json.h"
#include "event.h"
#include "out.h"
#include "peer.h"

struct sub_state {
	const struct event_conf	*conf;
	unsigned long		 seen;
	bool			 done;
};

static volatile sig_atomic_t	quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
print_json_event(const struct peer_event *ev)
{
	json_t	*o, *data;

	if (ev->data == NULL)
		data = json_null();
	else if ((data = cbor_to_json(ev->data, ev->data_len)) == NULL) {
		out_errx(PEER_INTERNAL, "subscribe: an event's data is not "
		    "valid CBOR");
		return;
	}
	if ((o = json_object()) == NULL) {
		json_decref(data);
		return;
	}
	json_object_set_new(o, "topic", json_string(ev->topic));
	json_object_set_new(o, "node", json_string(ev->node));
	json_object_set_new(o, "name", json_string(ev->name));
	json_object_set_new(o, "seq", json_uint(ev->seq));
	json_object_set_new(o, "data", data);
	if (ev->lost > 0)
		json_object_set_new(o, "lost", json_uint(ev->lost));
	out_line(o);
}

static void
print_text_event(const struct peer_event *ev)
{
	json_t	*data = NULL;

	if (ev->lost > 0)
		fprintf(stderr, "peerctl: %" PRIu64 " events lost\n",
		    ev->lost);
	if (ev->data != NULL &&
	    (data = cbor_to_json(ev->data, ev->data_len)) == NULL) {
		out_errx(PEER_INTERNAL, "subscribe: an event's data is not "
		    "valid CBOR");
		return;
	}
	print_safe(stdout, ev->topic, strlen(ev->topic), false);
	fputc(' ', stdout);
	print_safe(stdout, ev->name, strlen(ev->name), false);
	printf(" %" PRIu64 " ", ev->seq);
	if (data == NULL)
		fputs("null", stdout);
	else
		json_dumpf(data, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(data);
}

static void
on_event(struct peer *p, const struct peer_event *ev, void *arg)
{
	struct sub_state	*s = arg;

	(void)p;
	/* Events read in the same dispatch as the last one counted. */
	if (s->done)
		return;
	if (s->conf->json)
		print_json_event(ev);
	else
		print_text_event(ev);
	fflush(stdout);
	if (s->conf->count > 0 && ++s->seen >= s->conf->count)
		s->done = true;
}

int
event_run(struct peer *p, const struct event_conf *conf,
    struct peer_error *err)
{
	struct sub_state	 s;
	struct sigaction	 sa;
	struct pollfd		 pfd;
	struct timespec		 ts;
	sigset_t		 block, orig;
	bool			 up = true;
	int			 t, rc = 0;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
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

	if (peer_subscribe(p, conf->pattern, on_event, &s, err) == -1) {
		sigprocmask(SIG_SETMASK, &orig, NULL);
		return -1;
	}
	peer_set_reconnect(p, true);
	while (!quit && !s.done) {
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
			out_errx(PEER_UNAVAILABLE, "subscribe %s: connection to "
			    "peerd lost; reconnecting", conf->pattern);
		else if (!up && peer_fd(p) != -1 && !out_json())
			fprintf(stderr, "peerctl: subscribe %s: reconnected\n",
			    conf->pattern);
		up = peer_fd(p) != -1;
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}
