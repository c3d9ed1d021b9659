/* SPDX-License-Identifier: ISC */
/*
 * monitor.c: peerctl monitor: one line per change of a member or a
 * service, or per log line of the daemon, on standard output, flushed
 * at once, for as long as it runs or until a count is reached.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cbor_json.h"
#include "monitor.h"
#include "out.h"
#include "peer.h"
#include "stream.h"

struct mon_state {
	const struct monitor_conf	*conf;
	struct stream			 stream;
};

int
monitor_parse(int argc, char **argv, struct monitor_conf *conf, char *why,
    size_t whylen)
{
	const char	*v;
	char		*end;
	unsigned long	 n;
	int		 k, l;

	conf->what = 0;
	conf->level = PEER_LOG_ERROR;
	conf->count = 0;
	*why = '\0';
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--members") == 0)
			conf->what |= PEER_WATCH_MEMBERS;
		else if (strcmp(argv[k], "--services") == 0)
			conf->what |= PEER_WATCH_SERVICES;
		else if (strcmp(argv[k], "--log") == 0 ||
		    strcmp(argv[k], "--count") == 0) {
			if (k + 1 == argc) {
				snprintf(why, whylen, "%s needs a value",
				    argv[k]);
				return -1;
			}
			v = argv[++k];
			if (strcmp(argv[k - 1], "--log") == 0) {
				if ((l = peer_log_level_parse(v)) == -1) {
					snprintf(why, whylen, "--log: \"%.32s\" "
					    "is not one of error, warn, info, "
					    "debug", v);
					return -1;
				}
				conf->what |= PEER_WATCH_LOG;
				conf->level = (enum peer_log_level)l;
				continue;
			}
			errno = 0;
			n = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' ||
			    errno != 0 || n < 1 || n > MONITOR_COUNT_MAX) {
				snprintf(why, whylen, "--count: \"%.32s\" is "
				    "not a number from 1 to %lu", v,
				    MONITOR_COUNT_MAX);
				return -1;
			}
			conf->count = n;
		} else
			return -1;
	}
	if (conf->what == 0)
		conf->what = PEER_WATCH_MEMBERS | PEER_WATCH_SERVICES;
	return 0;
}

static void
set_text(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, json_string(s));
}

static void
print_json(FILE *f, const struct peer_watch_msg *w)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return;
	json_object_set_new(o, "time", json_uint(w->time_ms));
	set_text(o, "kind", w->kind);
	if (w->type == PEER_WATCH_LOG) {
		set_text(o, "level", peer_log_level_name(w->level));
		set_text(o, "text", w->text);
	} else {
		set_text(o, "node", w->node);
		set_text(o, "name", w->name);
		json_object_set_new(o, "incarnation",
		    json_uint(w->incarnation));
		set_text(o, "service", w->service);
		set_text(o, "group", w->group);
		set_text(o, "why", w->why);
	}
	if (w->lost > 0)
		json_object_set_new(o, "lost", json_uint(w->lost));
	json_dumpf(o, f, JSON_COMPACT);
	fputc('\n', f);
	json_decref(o);
}

static void
print_safe_str(FILE *f, const char *s)
{
	print_safe(f, s, strlen(s), false);
}

static void
print_text(FILE *f, const struct peer_watch_msg *w)
{
	struct tm	tm;
	time_t		t = (time_t)(w->time_ms / 1000);
	char		stamp[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strcpy(stamp, "?");
	fprintf(f, "%s.%03uZ ", stamp, (unsigned)(w->time_ms % 1000));
	if (w->type == PEER_WATCH_LOG) {
		fprintf(f, "log %-5s ", peer_log_level_name(w->level));
		print_safe_str(f, w->text);
		fputc('\n', f);
		return;
	}
	print_safe_str(f, w->kind);
	fputc(' ', f);
	print_safe_str(f, w->name);
	fprintf(f, " (%.12s)", w->node);
	if (w->service != NULL) {
		fputc(' ', f);
		print_safe_str(f, w->service);
		if (w->group != NULL && *w->group != '\0') {
			fputs(" group ", f);
			print_safe_str(f, w->group);
		}
	}
	if (w->why != NULL) {
		fputs(": ", f);
		print_safe_str(f, w->why);
	}
	fputc('\n', f);
}

void
monitor_print(FILE *f, const struct peer_watch_msg *w, bool json)
{
	if (json)
		print_json(f, w);
	else
		print_text(f, w);
}

static void
on_message(struct peer *p, const struct peer_watch_msg *w, void *arg)
{
	struct mon_state	*s = arg;

	(void)p;
	if (s->stream.done)
		return;
	if (w->lost > 0 && !s->conf->json)
		fprintf(stderr, "peerctl: monitor: %" PRIu64 " messages lost\n",
		    w->lost);
	monitor_print(stdout, w, s->conf->json);
	stream_printed(&s->stream);
}

static int
start_watch(struct peer *p, void *arg, struct peer_error *err)
{
	struct mon_state	*s = arg;

	return peer_watch(p, s->conf->what, s->conf->level, on_message, s,
	    err);
}

int
monitor_run(struct peer *p, const struct monitor_conf *conf,
    struct peer_error *err)
{
	struct mon_state	 s;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.stream.what = "monitor";
	s.stream.count = conf->count;
	return stream_run(p, &s.stream, start_watch, &s, err);
}
