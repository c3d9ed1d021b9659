/* SPDX-License-Identifier: ISC */
/*
 * event.c: peerctl subscribe: one line per event on standard output,
 * flushed at once, for as long as it runs or until a count is reached.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cbor_json.h"
#include "event.h"
#include "out.h"
#include "peer.h"
#include "stream.h"

struct sub_state {
	const struct event_conf	*conf;
	struct stream		 stream;
};

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
	if (s->stream.done)
		return;
	if (s->conf->json)
		print_json_event(ev);
	else
		print_text_event(ev);
	stream_printed(&s->stream);
}

static int
start_subscribe(struct peer *p, void *arg, struct peer_error *err)
{
	struct sub_state	*s = arg;

	return peer_subscribe(p, s->conf->pattern, on_event, s, err);
}

int
event_run(struct peer *p, const struct event_conf *conf,
    struct peer_error *err)
{
	struct sub_state	 s;
	char			 what[300];

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	/* Room for any pattern peerd takes (64 bytes; a longer one fails). */
	snprintf(what, sizeof(what), "subscribe %s", conf->pattern);
	s.stream.what = what;
	s.stream.count = conf->count;
	return stream_run(p, &s.stream, start_subscribe, &s, err);
}
