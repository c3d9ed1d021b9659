/* SPDX-License-Identifier: ISC */
/*
 * join.c: peerctl join and connect, the commands that wait for a link,
 * and the progress line they show on a terminal while they wait.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "out.h"
#include "peer.h"
#include "peerctl.h"

#define JOIN_WAIT_MS	10000
#define CONNECT_WAIT_MS	65000	/* the daemon bounds it by its own */

static bool	progress_shown;

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
progress_on(void)
{
	return isatty(STDERR_FILENO) == 1;
}

void
progress_show(const char *what, long elapsed_ms)
{
	if (!progress_on())
		return;
	/* \r and "erase to the end of the line": one line, rewritten. */
	fprintf(stderr, "\r%s... %lds\033[K", what, elapsed_ms / 1000);
	fflush(stderr);
	progress_shown = true;
}

void
progress_end(void)
{
	if (!progress_shown)
		return;
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	progress_shown = false;
}

/* The reply of a request waited for with a progress line. */
struct waited {
	bool			 done;
	struct peer_error	 err;
	uint8_t			*result;
	size_t			 len;
};

static void
on_waited(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct waited	*w = arg;

	(void)p;
	w->done = true;
	if (r->error != NULL)
		w->err = *r->error;
	else if (r->result != NULL &&
	    (w->result = malloc(r->result_len)) != NULL) {
		memcpy(w->result, r->result, r->result_len);
		w->len = r->result_len;
	} else {
		w->err.code = PEER_RESOURCE_EXHAUSTED;
		snprintf(w->err.message, sizeof(w->err.message),
		    "out of memory");
	}
}

/*
 * As peer_op, showing "WHAT... Ns" on a terminal each second until the
 * reply comes.
 */
static int
op_progress(struct peer *p, const char *op, const struct cbor_buf *body,
    size_t nbody, int timeout_ms, const char *what, uint8_t **res,
    size_t *len, struct peer_error *err)
{
	/*
	 * Static: a request given up on here (poll failed) is still the
	 * connection's, and is answered into w when it closes.
	 */
	static struct waited	 w;
	struct pollfd		 pfd;
	long			 start = now_ms();
	int			 t;

	if (!progress_on())
		return peer_op(p, op, body->data, body->len, nbody,
		    timeout_ms, res, len, err);
	memset(&w, 0, sizeof(w));
	if (peer_request(p, op, body->data, body->len, nbody, timeout_ms,
	    on_waited, &w, NULL, err) == -1)
		return -1;
	while (!w.done) {
		progress_show(what, now_ms() - start);
		pfd.fd = peer_fd(p);
		pfd.events = POLLIN;
		t = peer_timeout(p);
		if (poll(&pfd, 1, t == -1 || t > 1000 ? 1000 : t) == -1 &&
		    errno != EINTR) {
			err->code = PEER_INTERNAL;
			snprintf(err->message, sizeof(err->message),
			    "poll: %s", strerror(errno));
			break;
		}
		if (peer_dispatch(p, err) == -1 && !w.done)
			break;
	}
	progress_end();
	if (!w.done || w.err.code != PEER_OK) {
		if (w.done)
			*err = w.err;
		free(w.result);
		return -1;
	}
	*res = w.result;
	*len = w.len;
	return 0;
}

int
cmd_connect(const struct opts *o, int argc, char **argv)
{
	struct cbor_buf		 body = { 0 };
	struct cbor_field	 f[8];
	struct peer_error	 err;
	struct peer		*p;
	uint8_t			*res;
	size_t			 len;
	char			 name[80], node[64], what[300];
	int			 nf, rc = EXIT_OK;

	if (argc != 2)
		return -1;
	cbor_put_text(&body, "addr");
	cbor_put_text(&body, argv[1]);
	if (body.failed) {
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	snprintf(what, sizeof(what), "connecting to %s", argv[1]);
	if (op_progress(p, "connect", &body, 1, CONNECT_WAIT_MS, what, &res,
	    &len, &err) == -1)
		rc = fail(p, NULL, &err);
	else {
		if (out_json())
			rc = print_json(res, len);
		else if ((nf = cbor_scan_map(res, len, f, 8)) != -1)
			printf("linked to %s (%s)\n", text_field(f, nf, "name",
			    name, sizeof(name)), text_field(f, nf, "node",
			    node, sizeof(node)));
		else {
			out_errx(PEER_INTERNAL, "malformed connect reply");
			rc = EXIT_FAILED;
		}
		free(res);
	}
	cbor_buf_free(&body);
	peer_close(p);
	return rc;
}

static void
print_joined(uint64_t peers)
{
	json_t	*j;

	if (!out_json()) {
		printf("joined: linked to %" PRIu64 " node%s\n", peers,
		    peers == 1 ? "" : "s");
		return;
	}
	j = json_object();
	json_object_set_new(j, "joined", json_true());
	json_object_set_new(j, "peers", json_uint(peers));
	out_doc(j);
}

int
cmd_join(const struct opts *o, int argc, char **argv)
{
	struct peer_error	 err;
	struct peer_status	*st;
	struct cbor_buf		 body = { 0 };
	struct peer		*p;
	uint8_t			*res;
	size_t			 len;
	const char		*token = NULL;
	bool			 force = false;
	long			 start;
	int			 k, rc = EXIT_FAILED;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--force") == 0)
			force = true;
		else if (argv[k][0] == '-')
			return opt_unknown("join", argv[k]);
		else if (token == NULL)
			token = argv[k];
		else
			return -1;
	}
	if (token == NULL)
		return -1;
	cbor_put_text(&body, "token");
	cbor_put_text(&body, token);
	cbor_put_text(&body, "force");
	cbor_put_bool(&body, force);
	p = connect_or_exit(o);
	if (peer_op(p, "join", body.data, body.len, 2, 0, &res, &len,
	    &err) == -1) {
		rc = fail(p, "join", &err);
		goto done;
	}
	free(res);
	/* The daemon dials in the background: wait a while for a link. */
	for (start = now_ms(); now_ms() - start < JOIN_WAIT_MS;
	    usleep(100000)) {
		progress_show("joining: waiting for a link", now_ms() - start);
		if (peer_status(p, &st, &err) == -1) {
			progress_end();
			rc = fail(p, "join", &err);
			goto done;
		}
		if (st->peers > 0) {
			progress_end();
			print_joined(st->peers);
			peer_status_free(st);
			rc = EXIT_OK;
			goto done;
		}
		peer_status_free(st);
	}
	progress_end();
	out_errx(PEER_DEADLINE_EXCEEDED, "join: key stored, but no link after "
	    "10 s; the daemon keeps trying the token's addresses");
done:
	cbor_buf_free(&body);
	peer_close(p);
	return rc;
}
