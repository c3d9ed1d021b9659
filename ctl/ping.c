/* SPDX-License-Identifier: ISC */
/*
 * ping.c: peerctl ping: round trips to a node over its link, one line
 * each, and a summary.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "out.h"
#include "peer.h"
#include "peerctl.h"

#define PING_SIZE_MAX		(1ll << 30)	/* bytes; peerd says less */
#define PING_COUNT_MAX		1000000
#define PING_INTERVAL_MAX	3600000		/* ms */

struct ping_stats {
	unsigned	sent, answered;
	uint64_t	min, max, sum;		/* us */
};

static volatile sig_atomic_t	interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
print_reply(const char *node, long long seq, long long size, uint64_t rtt)
{
	json_t	*j;

	if (!out_json()) {
		printf("%lld bytes to %s: seq=%lld time=%" PRIu64 ".%03" PRIu64
		    " ms\n", size, node, seq, rtt / 1000, rtt % 1000);
		fflush(stdout);
		return;
	}
	j = json_object();
	json_object_set_new(j, "seq", json_integer(seq));
	json_object_set_new(j, "size", json_integer(size));
	json_object_set_new(j, "rtt_us", json_uint(rtt));
	out_line(j);
}

static void
print_lost(const char *node, long long seq, const struct peer_error *err)
{
	json_t	*j, *e;

	if (!out_json()) {
		printf("no reply from %s: seq=%lld: %s\n", node, seq,
		    err->message);
		fflush(stdout);
		return;
	}
	e = json_object();
	json_object_set_new(e, "code", json_string(peer_code_name(err->code)));
	json_object_set_new(e, "message", json_string(err->message));
	j = json_object();
	json_object_set_new(j, "seq", json_integer(seq));
	json_object_set_new(j, "error", e);
	out_line(j);
}

static void
print_summary(const struct ping_stats *st)
{
	uint64_t	avg;
	json_t		*j;

	avg = st->answered > 0 ? st->sum / st->answered : 0;
	if (!out_json()) {
		printf("%u sent, %u answered", st->sent, st->answered);
		if (st->answered > 0)
			printf(", rtt min/avg/max = %" PRIu64 ".%03" PRIu64
			    "/%" PRIu64 ".%03" PRIu64 "/%" PRIu64 ".%03"
			    PRIu64 " ms", st->min / 1000, st->min % 1000,
			    avg / 1000, avg % 1000, st->max / 1000,
			    st->max % 1000);
		putchar('\n');
		return;
	}
	j = json_object();
	json_object_set_new(j, "sent", json_integer(st->sent));
	json_object_set_new(j, "answered", json_integer(st->answered));
	if (st->answered > 0) {
		json_object_set_new(j, "rtt_min_us", json_uint(st->min));
		json_object_set_new(j, "rtt_avg_us", json_uint(avg));
		json_object_set_new(j, "rtt_max_us", json_uint(st->max));
	}
	out_line(j);
}

int
cmd_ping(const struct opts *o, int argc, char **argv)
{
	struct ping_stats	 st = { 0, 0, UINT64_MAX, 0, 0 };
	struct peer_error	 err;
	struct cbor_buf		 body = { 0 };
	struct cbor_field	 f[8];
	const struct cbor_field	*v;
	struct peer		*p;
	const char		*node = NULL;
	uint8_t			*res;
	size_t			 len;
	long long		 count = 4, size = 0, interval = 1000, i;
	uint64_t		 rtt;
	int			 k, nf, rc = EXIT_OK;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--count") == 0) {
			if (!opt_num("ping", argc, argv, &k, 0,
			    PING_COUNT_MAX, &count))
				return EXIT_USAGE;
		} else if (strcmp(argv[k], "--size") == 0) {
			if (!opt_num("ping", argc, argv, &k, 0,
			    PING_SIZE_MAX, &size))
				return EXIT_USAGE;
		} else if (strcmp(argv[k], "--interval") == 0) {
			if (!opt_num("ping", argc, argv, &k, 0,
			    PING_INTERVAL_MAX, &interval))
				return EXIT_USAGE;
		} else if (argv[k][0] == '-')
			return opt_unknown("ping", argv[k]);
		else if (node == NULL)
			node = argv[k];
		else
			return -1;
	}
	if (node == NULL)
		return -1;
	p = connect_or_exit(o);
	signal(SIGINT, on_interrupt);
	for (i = 0; (count == 0 || i < count) && !interrupted; i++) {
		if (i > 0)
			usleep((useconds_t)interval * 1000);
		if (interrupted)
			break;
		cbor_buf_reset(&body);
		cbor_put_text(&body, "node");
		cbor_put_text(&body, node);
		cbor_put_text(&body, "size");
		cbor_put_uint(&body, (uint64_t)size);
		st.sent++;
		if (peer_op(p, "ping", body.data, body.len, 2, 10000, &res,
		    &len, &err) == -1) {
			if (err.code == PEER_DEADLINE_EXCEEDED) {
				print_lost(node, i + 1, &err);
				continue;
			}
			st.sent--;
			rc = fail(p, "ping", &err);
			goto done;
		}
		rtt = 0;
		if ((nf = cbor_scan_map(res, len, f, 8)) != -1 &&
		    (v = cbor_field_get(f, nf, "rtt_us")) != NULL)
			(void)cbor_read_uint(v->val, v->vallen, &rtt);
		free(res);
		st.answered++;
		st.sum += rtt;
		st.min = rtt < st.min ? rtt : st.min;
		st.max = rtt > st.max ? rtt : st.max;
		print_reply(node, i + 1, size, rtt);
	}
	print_summary(&st);
	if (st.answered == 0)
		rc = EXIT_FAILED;
done:
	cbor_buf_free(&body);
	peer_close(p);
	return rc;
}
