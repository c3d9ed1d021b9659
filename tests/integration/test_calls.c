/* SPDX-License-Identifier: ISC */
/*
 * test_calls.c: remote calls between real daemons, served by
 * examples/echo_server processes: echo across two and three nodes,
 * every error code produced for real, a provider killed mid-call,
 * large arguments, 10,000 pipelined calls, fan-out, services vanishing
 * with their app, re-registration after a daemon restart, peerctl
 * call and serve, and a serving app told of calls that no longer want
 * its answer.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define N	3

static struct daemon	d[N];
static pid_t		svc[N];

static void
setup(void)
{
	daemons_init_with_apps(d, svc, N);
}

static void
teardown(void)
{
	daemons_free_with_apps(d, svc, N);
}

/* Starts daemon i, bootstrapped to daemon boot (-1: none). */
static void
start(int i, int boot, const char *name)
{
	daemon_start_boot(&d[i], name, boot >= 0 ? &d[boot] : NULL);
}

/* A call with a text argument; the result's text into out ("" if none). */
static int
call_text(struct peer *p, const char *service, const char *method,
    const char *arg, int timeout_ms, char *out, size_t outlen,
    struct peer_error *err)
{
	struct peer_call_opts	 opts = { NULL, false, timeout_ms };
	struct cbor_buf		 b = { 0 };
	uint8_t			*res = NULL;
	const char		*s;
	size_t			 len, n;
	int			 r;

	if (arg != NULL)
		cbor_put_text(&b, arg);
	r = peer_call_sync(p, service, method, arg != NULL ? b.data : NULL,
	    b.len, &opts, &res, &len, err);
	cbor_buf_free(&b);
	out[0] = '\0';
	if (r == 0 && cbor_read_text(res, len, &s, &n)) {
		n = n < outlen - 1 ? n : outlen - 1;
		memcpy(out, s, n);
		out[n] = '\0';
	}
	free(res);
	return r;
}

/* Calls method and expects the error code; returns the elapsed ms. */
static long
expect_error(struct peer *p, const char *service, const char *method,
    const char *arg, int timeout_ms, enum peer_code code)
{
	struct peer_error	err;
	char			out[256];
	long			t0 = test_now_ms();

	ck_assert_msg(call_text(p, service, method, arg, timeout_ms, out,
	    sizeof(out), &err) == -1, "%s.%s succeeded", service, method);
	ck_assert_msg(err.code == code, "%s.%s: %s (%s), expected %s",
	    service, method, peer_code_name(err.code), err.message,
	    peer_code_name(code));
	return test_now_ms() - t0;
}

START_TEST(test_echo_two_nodes)
{
	struct peer		*p;
	struct peer_error	 err;
	char			 out[256];

	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);

	p = daemon_peer(&d[0]);
	ck_assert_msg(call_text(p, "echo", "echo", "hello", 0, out,
	    sizeof(out), &err) == 0, "echo: %s", err.message);
	ck_assert_str_eq(out, "hello");
	ck_assert(call_text(p, "echo", "whoami", NULL, 0, out, sizeof(out),
	    &err) == 0);
	ck_assert_str_eq(out, "b");

	/* Local first: a's own provider answers a's callers. */
	svc[0] = echo_start(&d[0], "echo", NULL);
	wait_providers(&d[1], "echo", 2);
	ck_assert(call_text(p, "echo", "whoami", NULL, 0, out, sizeof(out),
	    &err) == 0);
	ck_assert_str_eq(out, "a");
	/* Unless the call names a node. */
	{
		struct peer_call_opts	 opts = { "b", false, 0 };
		uint8_t			*res;
		const char		*s;
		size_t			 len, n;

		ck_assert(peer_call_sync(p, "echo", "whoami", NULL, 0, &opts,
		    &res, &len, &err) == 0);
		ck_assert(cbor_read_text(res, len, &s, &n) && n == 1 &&
		    s[0] == 'b');
		free(res);
	}
	peer_close(p);
}
END_TEST

START_TEST(test_echo_three_nodes_no_direct_link)
{
	struct peer		*p;
	struct peer_error	 err;
	char			 out[256], cid[64];
	json_t			*j, *e;
	size_t			 i;
	int			 status;

	/* a - b - c, and a and c keep to one link each. */
	daemon_config(&d[0], "degree_min = 1\ndegree_max = 1\n");
	daemon_config(&d[2], "degree_min = 1\ndegree_max = 1\n");
	start(0, -1, "a");
	start(1, 0, "b");
	start(2, 1, "c");
	svc[2] = echo_start(&d[2], "echo", NULL);
	wait_providers(&d[0], "echo", 1);

	/* No link between a and c when the call starts. */
	daemon_id(&d[2], cid);
	ck_assert((j = peerctl_json(&d[0], &status, "peers", NULL)) != NULL);
	json_array_foreach(json_object_get(j, "peers"), i, e)
		ck_assert_msg(strcmp(json_string_value(json_object_get(e,
		    "node")), cid) != 0, "a is linked to c already");
	json_decref(j);

	p = daemon_peer(&d[0]);
	ck_assert_msg(call_text(p, "echo", "echo", "over b", 0, out,
	    sizeof(out), &err) == 0, "echo: %s", err.message);
	ck_assert_str_eq(out, "over b");
	ck_assert(call_text(p, "echo", "whoami", NULL, 0, out, sizeof(out),
	    &err) == 0);
	ck_assert_str_eq(out, "c");
	peer_close(p);
}
END_TEST

struct late {
	struct peer_error	err;
	bool			done;
};

static void
late_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct late	*l = arg;

	(void)p;
	l->done = true;
	l->err.code = r->error != NULL ? r->error->code : PEER_OK;
}

START_TEST(test_error_codes)
{
	struct peer_call_opts	 opts = { NULL, false, 0 };
	struct peer		*p;
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	struct late		 l = { { 0 }, false };
	uint8_t			*res, *big;
	const char		*s;
	size_t			 len, n;
	uint64_t		 id;
	long			 ms;

	daemon_config(&d[0], "max_message = 256K\n");
	daemon_config(&d[1], "max_message = 256K\n");
	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	p = daemon_peer(&d[0]);

	expect_error(p, "nosuch", "echo", NULL, 0, PEER_NOT_FOUND);
	expect_error(p, "echo", "nosuch", NULL, 0, PEER_UNIMPLEMENTED);
	expect_error(p, "Bad Name", "echo", NULL, 0, PEER_INVALID_ARGUMENT);

	/* The app's own error: code, message and context pass through. */
	cbor_put_text(&b, "why");
	ck_assert(peer_call_sync(p, "echo", "fail", b.data, b.len, &opts,
	    &res, &len, &err) == -1);
	ck_assert_int_eq(err.code, PEER_UNKNOWN);
	ck_assert_str_eq(err.message, "failed on purpose");
	cbor_buf_free(&b);

	/* A handler that sleeps past the deadline. */
	ms = expect_error(p, "echo", "sleep", NULL, 300,
	    PEER_DEADLINE_EXCEEDED);
	ck_assert_msg(ms >= 290 && ms < 1500, "deadline after %ld ms", ms);

	/* A cancel. */
	cbor_put_uint(&b, 3000);
	ck_assert(peer_call(p, "echo", "sleep", b.data, b.len, &opts,
	    late_cb, &l, &id, &err) == 0);
	cbor_buf_free(&b);
	ck_assert(peer_cancel(p, id, &err) == 0);
	ck_assert(peer_wait(p, id, &err) == 0);
	ck_assert(l.done);
	ck_assert_int_eq(l.err.code, PEER_CANCELLED);

	/* Arguments over max_message. */
	big = calloc(1, 300 << 10);
	cbor_put_bytes(&b, big, 300 << 10);
	free(big);
	ck_assert(peer_call_sync(p, "echo", "echo", b.data, b.len, &opts,
	    &res, &len, &err) == -1);
	ck_assert_int_eq(err.code, PEER_RESOURCE_EXHAUSTED);
	cbor_buf_free(&b);

	/* After all that, the link and the provider still work. */
	cbor_put_text(&b, "still");
	ck_assert(peer_call_sync(p, "echo", "echo", b.data, b.len, &opts,
	    &res, &len, &err) == 0);
	ck_assert(cbor_read_text(res, len, &s, &n) && n == 5);
	free(res);
	cbor_buf_free(&b);
	peer_close(p);
}
END_TEST

/*
 * Waits until the app serving service through p has taken the call just
 * made: one app reads its calls in order, so once an echo made after it
 * comes back, that call is with the app.
 */
static void
wait_delivered(struct peer *p, const char *service)
{
	struct peer_error	err;
	char			out[64];

	ck_assert_msg(call_text(p, service, "echo", "probe", 5000, out,
	    sizeof(out), &err) == 0, "probe call: %s", err.message);
	ck_assert_str_eq(out, "probe");
}

START_TEST(test_provider_dies_mid_call)
{
	struct peer_call_opts	 opts = { NULL, false, 20000 };
	struct peer		*p;
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	struct late		 l = { { 0 }, false };
	uint64_t		 id;
	long			 t0, ms;

	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	p = daemon_peer(&d[0]);
	cbor_put_uint(&b, 15000);

	/* The serving app is killed: its node answers at once. */
	ck_assert(peer_call(p, "echo", "sleep", b.data, b.len, &opts,
	    late_cb, &l, &id, &err) == 0);
	wait_delivered(p, "echo");
	t0 = test_now_ms();
	echo_stop(svc[1], SIGKILL);
	svc[1] = -1;
	ck_assert(peer_wait(p, id, &err) == 0);
	ms = test_now_ms() - t0;
	ck_assert_int_eq(l.err.code, PEER_UNAVAILABLE);
	ck_assert_msg(ms < 1000, "UNAVAILABLE after %ld ms", ms);
	fprintf(stderr, "calls: app killed mid-call: UNAVAILABLE after %ld "
	    "ms\n", ms);

	/* The provider's node is killed: dead_after (3 s) + 1 s at most. */
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	l.done = false;
	ck_assert(peer_call(p, "echo", "sleep", b.data, b.len, &opts,
	    late_cb, &l, &id, &err) == 0);
	wait_delivered(p, "echo");
	t0 = test_now_ms();
	daemon_stop(&d[1], SIGKILL);
	ck_assert(peer_wait(p, id, &err) == 0);
	ms = test_now_ms() - t0;
	ck_assert_int_eq(l.err.code, PEER_UNAVAILABLE);
	ck_assert_msg(ms < 4000, "UNAVAILABLE after %ld ms", ms);
	fprintf(stderr, "calls: node killed mid-call: UNAVAILABLE after %ld "
	    "ms\n", ms);
	cbor_buf_free(&b);
	peer_close(p);
}
END_TEST

START_TEST(test_megabyte_arguments)
{
	struct peer_call_opts	 opts = { NULL, false, 20000 };
	struct peer		*p;
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	uint8_t			*data, *res;
	const uint8_t		*got;
	size_t			 len, n;

	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	p = daemon_peer(&d[0]);
	ck_assert((data = malloc(1 << 20)) != NULL);
	randombytes_buf(data, 1 << 20);
	cbor_put_bytes(&b, data, 1 << 20);
	ck_assert_msg(peer_call_sync(p, "echo", "echo", b.data, b.len, &opts,
	    &res, &len, &err) == 0, "%s", err.message);
	ck_assert(cbor_read_bytes(res, len, &got, &n));
	ck_assert_uint_eq(n, 1 << 20);
	ck_assert(memcmp(got, data, n) == 0);
	free(res);
	free(data);
	cbor_buf_free(&b);
	peer_close(p);
}
END_TEST

#define PIPELINED	10000

struct pipelined {
	uint64_t	ids[PIPELINED];
	int		done, bad;
};

static void
pipelined_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct pipelined	*pl = arg;
	uint64_t		 v;

	(void)p;
	pl->done++;
	/* Each call's argument is its index; the id must be that call's. */
	if (r->error != NULL || !cbor_read_uint(r->result, r->result_len, &v) ||
	    v >= PIPELINED || pl->ids[v] != r->id)
		pl->bad++;
}

START_TEST(test_pipelined_calls)
{
	struct peer_call_opts	 opts = { NULL, false, 30000 };
	struct pipelined	*pl;
	struct peer		*p;
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	long			 t0, deadline;
	int			 i;

	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	p = daemon_peer(&d[0]);
	ck_assert((pl = calloc(1, sizeof(*pl))) != NULL);
	t0 = test_now_ms();
	for (i = 0; i < PIPELINED; i++) {
		cbor_buf_reset(&b);
		cbor_put_uint(&b, (uint64_t)i);
		ck_assert_msg(peer_call(p, "echo", "echo", b.data, b.len,
		    &opts, pipelined_cb, pl, &pl->ids[i], &err) == 0,
		    "call %d: %s", i, err.message);
	}
	deadline = test_now_ms() + 30000;
	while (pl->done < PIPELINED && test_now_ms() < deadline) {
		struct pollfd	pfd = { peer_fd(p), POLLIN, 0 };

		(void)poll(&pfd, 1, 100);
		ck_assert(peer_dispatch(p, &err) == 0);
	}
	ck_assert_msg(pl->done == PIPELINED, "%d of %d answered", pl->done,
	    PIPELINED);
	ck_assert_msg(pl->bad == 0, "%d answers wrong", pl->bad);
	fprintf(stderr, "calls: %d pipelined calls in %ld ms\n", PIPELINED,
	    test_now_ms() - t0);
	free(pl);
	cbor_buf_free(&b);
	peer_close(p);
}
END_TEST

START_TEST(test_fan_out)
{
	struct peer_call_opts	 opts = { NULL, true, 5000 };
	struct peer		*p;
	struct peer_error	 err;
	struct cbor_iter	 it;
	struct cbor_field	 f[8];
	const struct cbor_field	*v;
	const uint8_t		*item;
	uint8_t			*res;
	const char		*s;
	size_t			 len, ilen, n;
	char			 seen[N + 1] = "";
	int			 i, nf, answers = 0;

	start(0, -1, "a");
	start(1, 0, "b");
	start(2, 0, "c");
	for (i = 0; i < N; i++)
		svc[i] = echo_start(&d[i], "echo", NULL);
	wait_providers(&d[0], "echo", 3);
	p = daemon_peer(&d[0]);
	ck_assert_msg(peer_call_sync(p, "echo", "whoami", NULL, 0, &opts,
	    &res, &len, &err) == 0, "%s", err.message);
	ck_assert(cbor_array_iter(res, len, &it));
	while (cbor_iter_next(&it, &item, &ilen)) {
		ck_assert((nf = cbor_scan_map(item, ilen, f, 8)) > 0);
		ck_assert((v = cbor_field_get(f, nf, "result")) != NULL);
		ck_assert(cbor_read_text(v->val, v->vallen, &s, &n) && n == 1);
		ck_assert(cbor_field_get(f, nf, "node") != NULL);
		ck_assert(strchr(seen, s[0]) == NULL);
		seen[answers++] = s[0];
	}
	ck_assert_int_eq(answers, 3);
	free(res);
	peer_close(p);
}
END_TEST

START_TEST(test_service_vanishes_everywhere)
{
	int	i;

	start(0, -1, "a");
	start(1, 0, "b");
	start(2, 1, "c");
	svc[2] = echo_start(&d[2], "gone", NULL);
	for (i = 0; i < N; i++)
		wait_providers(&d[i], "gone", 1);
	ck_assert(echo_stop(svc[2], SIGTERM));
	svc[2] = -1;
	for (i = 0; i < N; i++)
		wait_providers(&d[i], "gone", 0);
}
END_TEST

START_TEST(test_reregisters_after_restart)
{
	struct peer		*p;
	struct peer_error	 err;
	char			 out[64];
	long			 deadline;
	int			 r = -1;

	start(0, -1, "a");
	start(1, 0, "b");
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);
	ck_assert_int_eq(daemon_stop(&d[1], SIGTERM), 0);
	wait_providers(&d[0], "echo", 0);
	start(1, 0, "b");
	/* The app reconnects and registers again by itself. */
	wait_providers(&d[0], "echo", 1);
	p = daemon_peer(&d[0]);
	deadline = test_now_ms() + 10000;
	while (test_now_ms() < deadline && (r = call_text(p, "echo", "whoami",
	    NULL, 0, out, sizeof(out), &err)) == -1)
		usleep(50000);
	ck_assert_msg(r == 0, "no call succeeded after the restart: %s",
	    err.message);
	ck_assert_str_eq(out, "b");
	peer_close(p);
}
END_TEST

START_TEST(test_peerctl_call_and_serve)
{
	const char	*argv[16];
	char		 out[4096], err[1024];
	pid_t		 pid;
	int		 status;

	start(0, -1, "a");
	start(1, 0, "b");
	/* Each call runs: sh -c SCRIPT sh METHOD ARGS_JSON. */
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		argv[0] = peerctl_bin();
		argv[1] = "-s";
		argv[2] = d[1].sock;
		argv[3] = "serve";
		argv[4] = "calc";
		argv[5] = "--";
		argv[6] = "sh";
		argv[7] = "-c";
		argv[8] = "case $1 in add) e=$(echo \"$2\" | tr -d '[] ' | "
		    "tr ',' '+'); echo $(($e)) ;; *) echo \"no $1\" >&2; "
		    "exit 3 ;; esac";
		argv[9] = "sh";
		argv[10] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	svc[1] = pid;
	wait_providers(&d[0], "calc", 1);
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "calc.add", "2", "3", NULL);
	ck_assert_msg(status == 0, "peerctl call: %d: %s", status, err);
	ck_assert_str_eq(out, "5\n");
	status = peerctl_run(&d[0], out, sizeof(out), err, sizeof(err),
	    "call", "calc.mul", "2", "3", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "UNKNOWN") != NULL &&
	    strstr(err, "no mul") != NULL, "stderr: %s", err);
}
END_TEST

/* A serving app, in this process, that never answers. */
struct holder {
	uint64_t	invoked;	/* the last call number it got */
	uint64_t	cancelled;	/* the last one it was told to drop */
	char		reason[128];
};

static void
hold_handler(struct peer *p, const struct peer_invocation *inv, void *arg)
{
	struct holder	*h = arg;

	(void)p;
	h->invoked = inv->call;
}

static void
hold_cancelled(struct peer *p, uint64_t call, const char *reason, void *arg)
{
	struct holder	*h = arg;

	(void)p;
	h->cancelled = call;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
}

/* Runs the n connections until cond(h) holds; false after ms. */
static bool
run_peers(struct peer **ps, int n, struct holder *h,
    bool (*cond)(const struct holder *), int ms)
{
	struct peer_error	err;
	struct pollfd		pfd[2];
	long			deadline = test_now_ms() + ms;
	int			i;

	while (!cond(h) && test_now_ms() < deadline) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = peer_fd(ps[i]);
			pfd[i].events = POLLIN;
		}
		(void)poll(pfd, (nfds_t)n, 50);
		for (i = 0; i < n; i++)
			ck_assert(peer_dispatch(ps[i], &err) == 0);
	}
	return cond(h);
}

static bool
was_invoked(const struct holder *h)
{
	return h->invoked != 0;
}

static bool
was_cancelled(const struct holder *h)
{
	return h->cancelled != 0;
}

/* The serving app hears when a call no longer wants its answer. */
START_TEST(test_app_told_of_cancel)
{
	struct peer_call_opts	 opts = { NULL, false, 10000 };
	struct peer		*srv, *cli, *both[2];
	struct peer_error	 err;
	struct holder		 h;
	struct late		 l = { { 0 }, false };
	uint64_t		 id;

	start(0, -1, "a");
	start(1, 0, "b");
	srv = daemon_peer(&d[1]);
	memset(&h, 0, sizeof(h));
	peer_on_cancel(srv, hold_cancelled, &h);
	ck_assert(peer_serve(srv, "hold", NULL, hold_handler, &h, &err) == 0);
	wait_providers(&d[0], "hold", 1);
	cli = daemon_peer(&d[0]);
	both[0] = srv;
	both[1] = cli;

	/* Cancelled by its caller. */
	ck_assert(peer_call(cli, "hold", "x", NULL, 0, &opts, late_cb, &l,
	    &id, &err) == 0);
	ck_assert(run_peers(both, 2, &h, was_invoked, 5000));
	ck_assert(peer_cancel(cli, id, &err) == 0);
	ck_assert_msg(run_peers(both, 2, &h, was_cancelled, 5000), "the app "
	    "never heard of the cancel");
	ck_assert_uint_eq(h.cancelled, h.invoked);
	ck_assert_str_eq(h.reason, "cancelled by the caller");

	/* Past its deadline. */
	memset(&h, 0, sizeof(h));
	opts.timeout_ms = 300;
	ck_assert(peer_call(cli, "hold", "x", NULL, 0, &opts, late_cb, &l,
	    &id, &err) == 0);
	ck_assert(run_peers(both, 2, &h, was_invoked, 5000));
	ck_assert_msg(run_peers(both, 2, &h, was_cancelled, 5000), "the app "
	    "never heard the deadline pass");
	ck_assert_uint_eq(h.cancelled, h.invoked);
	ck_assert_str_eq(h.reason, "deadline passed");

	/* Its caller's node died. */
	memset(&h, 0, sizeof(h));
	opts.timeout_ms = 30000;
	ck_assert(peer_call(cli, "hold", "x", NULL, 0, &opts, late_cb, &l,
	    &id, &err) == 0);
	ck_assert(run_peers(both, 2, &h, was_invoked, 5000));
	daemon_stop(&d[0], SIGKILL);
	peer_close(cli);
	ck_assert_msg(run_peers(both, 1, &h, was_cancelled, 10000), "the app never "
	    "heard that its caller's node died");
	ck_assert_uint_eq(h.cancelled, h.invoked);
	ck_assert_str_eq(h.reason, "the caller's node died");
	peer_close(srv);
}
END_TEST

Suite *
calls_suite(void)
{
	Suite	*s = suite_create("calls");
	TCase	*tc = tcase_create("calls");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo_two_nodes);
	tcase_add_test(tc, test_echo_three_nodes_no_direct_link);
	tcase_add_test(tc, test_error_codes);
	tcase_add_test(tc, test_provider_dies_mid_call);
	tcase_add_test(tc, test_megabyte_arguments);
	tcase_add_test(tc, test_pipelined_calls);
	tcase_add_test(tc, test_fan_out);
	tcase_add_test(tc, test_service_vanishes_everywhere);
	tcase_add_test(tc, test_reregisters_after_restart);
	tcase_add_test(tc, test_peerctl_call_and_serve);
	tcase_add_test(tc, test_app_told_of_cancel);
	suite_add_tcase(s, tc);
	return s;
}
