/* SPDX-License-Identifier: ISC */
/*
 * test_metrics.c: metrics_listen, scraped over plain TCP as Prometheus
 * would: the text parses as the exposition format, the call counters
 * move by exactly the calls made and served, peerctl stats shows the
 * same numbers; wrong paths, methods and oversized headers get errors,
 * idle and trickling connections are closed, a scraper that holds every
 * connection delays scrapes but not the daemon, and a busy port fails
 * the start.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define HTTP_MAX	(1 << 20)	/* bytes of a response kept */
#define CONNS_MAX	16		/* the server's limit, metrics.h */

static struct daemon	d[2];
static pid_t		svc[2];

static void
setup(void)
{
	daemons_init_with_apps(d, svc, 2);
}

static void
teardown(void)
{
	daemons_free_with_apps(d, svc, 2);
}

/* The port the daemon's log says it serves metrics on. */
static int
metrics_port(const struct daemon *dm)
{
	const char	*key = "metrics: serving http://127.0.0.1:";
	char		 line[512];
	FILE		*f;
	char		*p;
	int		 port = -1;

	ck_assert_msg(daemon_log_wait(dm, key, 5000), "no metrics line in %s",
	    dm->log);
	ck_assert_ptr_nonnull(f = fopen(dm->log, "r"));
	while (port == -1 && fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, key)) != NULL)
			port = atoi(p + strlen(key));
	fclose(f);
	ck_assert_int_gt(port, 0);
	return port;
}

/* Writes all of buf; false if the server closed first. */
static bool
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads until the server closes, for up to ms; bytes read, -1 if not. */
static ssize_t
read_to_eof(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	long		end = test_now_ms() + ms;
	size_t		len = 0;
	ssize_t		n;

	for (;;) {
		if (test_now_ms() >= end)
			return -1;
		if (poll(&pfd, 1, (int)(end - test_now_ms())) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == ECONNRESET)
			break;
		if (n <= 0 || len + (size_t)n == cap - 1) {
			if (n > 0)
				len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/*
 * Sends request on a new connection and reads the response into out;
 * its status (0 if the server closed without one), and *body where the
 * body starts.
 */
static int
http(int port, const char *request, size_t reqlen, char *out, size_t cap,
    char **body)
{
	int	fd = tcp_connect(port), status = 0;
	char	*p;

	(void)send_all(fd, request, reqlen);
	ck_assert_msg(read_to_eof(fd, out, cap, 15000) >= 0,
	    "no end of the response within 15 s");
	close(fd);
	if (strncmp(out, "HTTP/1.", 7) == 0)
		status = atoi(out + 9);
	p = strstr(out, "\r\n\r\n");
	*body = p != NULL ? p + 4 : out + strlen(out);
	return status;
}

/* GET /metrics, which must answer 200: its body, malloc'd. */
static char *
scrape(int port)
{
	const char	*req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	char		*out = malloc(HTTP_MAX), *body, *copy;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(http(port, req, strlen(req), out, HTTP_MAX, &body),
	    200);
	ck_assert_ptr_nonnull(strstr(out, "\r\nContent-Type: text/plain; "
	    "version=0.0.4"));
	ck_assert_ptr_nonnull(copy = strdup(body));
	free(out);
	return copy;
}

static bool
name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	    (!first && isdigit((unsigned char)c));
}

/*
 * Checks one sample line's labels from p (after '{'); p past '}', or
 * NULL.  le gets the value of a label le, if any.
 */
static const char *
check_labels(const char *p, char *le, size_t lelen)
{
	char	name[64], value[256];
	size_t	n, v;

	le[0] = '\0';
	while (*p != '}') {
		for (n = 0; name_char(*p, n == 0) && *p != ':'; p++)
			if (n < sizeof(name) - 1)
				name[n++] = *p;
		name[n] = '\0';
		if (n == 0 || *p++ != '=' || *p++ != '"')
			return NULL;
		for (v = 0; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return NULL;
			if (*p == '\\' && *++p != '\\' && *p != '"' &&
			    *p != 'n')
				return NULL;
			if (v < sizeof(value) - 1)
				value[v++] = *p;
		}
		value[v] = '\0';
		p++;
		if (strcmp(name, "le") == 0 && v < lelen) {
			memcpy(le, value, v);
			le[v] = '\0';
		}
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

/*
 * Checks text against the exposition format: every sample belongs to
 * the family whose TYPE came last (a histogram's as NAME_bucket with
 * le, NAME_sum or NAME_count), no family is declared twice, values
 * parse, bucket counts never fall and +Inf equals _count.  Returns the
 * number of samples.
 */
static int
check_exposition(const char *text)
{
	char		 family[128] = "", type[16] = "", seen[8192] = " ";
	char		 line[2048], name[128], le[64], key[160];
	const char	*p = text, *nl, *q;
	double		 v, last_bucket = 0, inf_bucket = -1;
	int		 samples = 0, n;
	size_t		 len;

	while (*p != '\0') {
		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		len = (size_t)(nl - p);
		ck_assert_uint_lt(len, sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s %15s", family,
			    type), 2);
			ck_assert_msg(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0, "type %s", type);
			snprintf(key, sizeof(key), " %s ", family);
			ck_assert_msg(strstr(seen, key) == NULL, "%s declared "
			    "twice", family);
			ck_assert_uint_lt(strlen(seen) + strlen(key),
			    sizeof(seen));
			strcat(seen, key + 1);
			last_bucket = 0;
			inf_bucket = -1;
			continue;
		}
		ck_assert_msg(line[0] != '#' && line[0] != '\0', "line %s",
		    line);
		for (n = 0, q = line; name_char(*q, n == 0); q++)
			if (n < (int)sizeof(name) - 1)
				name[n++] = *q;
		name[n] = '\0';
		le[0] = '\0';
		if (*q == '{')
			ck_assert_msg((q = check_labels(q + 1, le,
			    sizeof(le))) != NULL, "bad labels: %s", line);
		ck_assert_msg(*q == ' ', "no value: %s", line);
		v = strtod(q + 1, (char **)&q);
		ck_assert_msg(*q == '\0', "bad value: %s", line);
		ck_assert_msg(family[0] != '\0', "sample before any TYPE: %s",
		    line);
		if (strcmp(type, "histogram") != 0) {
			ck_assert_msg(strcmp(name, family) == 0, "%s is not "
			    "of family %s", name, family);
		} else if (strcmp(name + strlen(family), "_bucket") == 0 &&
		    strncmp(name, family, strlen(family)) == 0) {
			ck_assert_msg(le[0] != '\0', "bucket without le: %s",
			    line);
			ck_assert_msg(v >= last_bucket, "buckets fall: %s",
			    line);
			last_bucket = v;
			if (strcmp(le, "+Inf") == 0)
				inf_bucket = v;
		} else if (strncmp(name, family, strlen(family)) == 0 &&
		    strcmp(name + strlen(family), "_count") == 0) {
			ck_assert_msg(inf_bucket == v, "+Inf bucket %g, count "
			    "%g", inf_bucket, v);
			last_bucket = 0;
		} else
			ck_assert_msg(strncmp(name, family, strlen(family)) ==
			    0 && strcmp(name + strlen(family), "_sum") == 0,
			    "%s is not of histogram %s", name, family);
		samples++;
	}
	return samples;
}

/* The value of the sample written exactly as key ("name{labels}"). */
static double
sample(const char *text, const char *key)
{
	const char	*p = text;
	size_t		 n = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	ck_abort_msg("no sample %s", key);
	return NAN;
}

/* The value of family's sample with label=value in peerctl stats --json. */
static double
json_sample(json_t *j, const char *family, const char *label,
    const char *value)
{
	json_t		*s, *l;
	size_t		 i;

	json_array_foreach(json_object_get(json_object_get(j, family),
	    "samples"), i, s) {
		l = json_object_get(json_object_get(s, "labels"), label);
		if (label == NULL || (json_is_string(l) &&
		    strcmp(json_string_value(l), value) == 0))
			return json_number_value(json_object_get(s,
			    label == NULL ? "count" : "value"));
	}
	ck_abort_msg("no %s{%s=%s} in peerctl stats", family, label, value);
	return NAN;
}

static void
call(struct peer *p, const char *method, bool ok)
{
	struct peer_call_opts	 opts = { NULL, false, 5000 };
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	uint8_t			*res = NULL;
	size_t			 len;
	int			 r;

	cbor_put_text(&b, "x");
	r = peer_call_sync(p, "echo", method, b.data, b.len, &opts, &res,
	    &len, &err);
	cbor_buf_free(&b);
	free(res);
	if (ok)
		ck_assert_msg(r == 0, "echo.%s: %s", method, err.message);
	else
		ck_assert_msg(r == -1 && err.code == PEER_UNKNOWN,
		    "echo.%s: %s", method, peer_code_name(err.code));
}

START_TEST(test_scrape_counts_calls)
{
	const char	*conf = "metrics_listen = 127.0.0.1:0\n";
	char		*a0, *b0, *a1, *b1;
	struct peer	*p;
	json_t		*j;
	int		 pa, pb, i, status;

	daemon_config(&d[0], conf);
	daemon_config(&d[1], conf);
	daemon_start(&d[0], "a", NULL);
	daemon_start_boot(&d[1], "b", &d[0]);
	pa = metrics_port(&d[0]);
	pb = metrics_port(&d[1]);
	svc[1] = echo_start(&d[1], "echo", NULL);
	wait_providers(&d[0], "echo", 1);

	a0 = scrape(pa);
	b0 = scrape(pb);
	ck_assert_int_gt(check_exposition(a0), 50);
	ck_assert_int_gt(check_exposition(b0), 50);
	ck_assert_double_eq(sample(a0, "peerd_links"), 1);
	ck_assert_double_eq(sample(a0, "peerd_members{state=\"alive\"}"), 2);

	p = daemon_peer(&d[0]);
	for (i = 0; i < 7; i++)
		call(p, "echo", true);
	for (i = 0; i < 2; i++)
		call(p, "fail", false);
	peer_close(p);

	a1 = scrape(pa);
	b1 = scrape(pb);
	check_exposition(a1);
	check_exposition(b1);
	/* Exactly the calls made, on a; exactly those served, on b. */
	ck_assert_double_eq(sample(a1, "peerd_calls_total{code=\"OK\"}") -
	    sample(a0, "peerd_calls_total{code=\"OK\"}"), 7);
	ck_assert_double_eq(sample(a1, "peerd_calls_total{code=\"UNKNOWN\"}") -
	    sample(a0, "peerd_calls_total{code=\"UNKNOWN\"}"), 2);
	ck_assert_double_eq(sample(a1, "peerd_call_duration_seconds_count") -
	    sample(a0, "peerd_call_duration_seconds_count"), 9);
	ck_assert_double_eq(sample(b1,
	    "peerd_served_calls_total{code=\"OK\"}") - sample(b0,
	    "peerd_served_calls_total{code=\"OK\"}"), 7);
	ck_assert_double_eq(sample(b1,
	    "peerd_served_calls_total{code=\"UNKNOWN\"}") - sample(b0,
	    "peerd_served_calls_total{code=\"UNKNOWN\"}"), 2);
	ck_assert_double_eq(sample(b1,
	    "peerd_served_call_duration_seconds_count") - sample(b0,
	    "peerd_served_call_duration_seconds_count"), 9);
	/* Neither made what the other did. */
	ck_assert_double_eq(sample(b1, "peerd_calls_total{code=\"OK\"}"),
	    sample(b0, "peerd_calls_total{code=\"OK\"}"));
	ck_assert_double_eq(sample(a1,
	    "peerd_served_calls_total{code=\"OK\"}"), sample(a0,
	    "peerd_served_calls_total{code=\"OK\"}"));
	ck_assert_double_gt(sample(a1, "peerd_link_sent_bytes_total"),
	    sample(a0, "peerd_link_sent_bytes_total"));

	/* peerctl stats: the same numbers. */
	ck_assert_ptr_nonnull(j = peerctl_json(&d[0], &status, "stats",
	    NULL));
	ck_assert_double_eq(json_sample(j, "peerd_calls_total", "code", "OK"),
	    sample(a1, "peerd_calls_total{code=\"OK\"}"));
	ck_assert_double_eq(json_sample(j, "peerd_calls_total", "code",
	    "UNKNOWN"), sample(a1, "peerd_calls_total{code=\"UNKNOWN\"}"));
	ck_assert_double_eq(json_sample(j, "peerd_call_duration_seconds",
	    NULL, NULL), sample(a1, "peerd_call_duration_seconds_count"));
	json_decref(j);
	ck_assert_ptr_nonnull(j = peerctl_json(&d[1], &status, "stats",
	    NULL));
	ck_assert_double_eq(json_sample(j, "peerd_served_calls_total", "code",
	    "OK"), sample(b1, "peerd_served_calls_total{code=\"OK\"}"));
	json_decref(j);
	free(a0);
	free(b0);
	free(a1);
	free(b1);
}
END_TEST

static bool
control_answers(void *arg)
{
	char	out[4096], err[1024];

	return peerctl_run(arg, out, sizeof(out), err, sizeof(err), "status",
	    NULL) == 0;
}

START_TEST(test_bad_requests)
{
	static char	 big[20000], out[65536];
	const char	*req;
	char		*body, *text;
	int		 port, status;
	size_t		 n;

	daemon_config(&d[0], "metrics_listen = 127.0.0.1:0\n");
	daemon_start(&d[0], "a", NULL);
	port = metrics_port(&d[0]);

	req = "GET /other HTTP/1.1\r\nHost: x\r\n\r\n";
	ck_assert_int_eq(http(port, req, strlen(req), out, sizeof(out),
	    &body), 404);
	req = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	ck_assert_int_eq(http(port, req, strlen(req), out, sizeof(out),
	    &body), 405);
	ck_assert_ptr_nonnull(strstr(out, "\r\nAllow: GET\r\n"));
	req = "DELETE /metrics HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(http(port, req, strlen(req), out, sizeof(out),
	    &body), 405);
	req = "HELLO\r\n\r\n";
	ck_assert_int_eq(http(port, req, strlen(req), out, sizeof(out),
	    &body), 400);
	/* A header past the limit: an error, or the connection closed. */
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n"
	    "X-Big: ");
	memset(big + n, 'a', sizeof(big) - n - 5);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 4);
	status = http(port, big, sizeof(big) - 1, out, sizeof(out), &body);
	ck_assert_msg(status == 0 || (status >= 400 && status < 500),
	    "oversized header answered %d", status);
	req = "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	ck_assert_int_eq(http(port, req, strlen(req), out, sizeof(out),
	    &body), 405);

	/* None of it disturbed the daemon. */
	text = scrape(port);
	check_exposition(text);
	free(text);
	ck_assert(control_answers(&d[0]));
}
END_TEST

START_TEST(test_connection_limit)
{
	int		 fds[CONNS_MAX + 4], port, i;
	char		 buf[256], *text;
	long		 t0, took;

	daemon_config(&d[0], "metrics_listen = 127.0.0.1:0\n");
	daemon_start(&d[0], "a", NULL);
	port = metrics_port(&d[0]);

	/* Connections that never finish a request hold every place. */
	t0 = test_now_ms();
	for (i = 0; i < CONNS_MAX + 4; i++) {
		fds[i] = tcp_connect(port);
		ck_assert(send_all(fds[i], "GET /metrics HTTP/1.1\r\n", 23));
	}
	/* The control socket answers meanwhile. */
	ck_assert(control_answers(&d[0]));
	/* A scrape waits for a place: the idle ones go after 5 s. */
	text = scrape(port);
	took = test_now_ms() - t0;
	check_exposition(text);
	free(text);
	ck_assert_msg(took >= 3000 && took < 13000, "the scrape took %ld ms",
	    took);
	/* The server closed the first idle ones. */
	ck_assert_int_ge(read_to_eof(fds[0], buf, sizeof(buf), 1000), 0);
	for (i = 0; i < CONNS_MAX + 4; i++)
		close(fds[i]);
	ck_assert(wait_until(control_answers, &d[0], 2000));
}
END_TEST

START_TEST(test_trickle_closed)
{
	struct pollfd	 pfd;
	char		 c = 'a', *text;
	int		 port, fd;
	long		 t0, took = -1;

	daemon_config(&d[0], "metrics_listen = 127.0.0.1:0\n");
	daemon_start(&d[0], "a", NULL);
	port = metrics_port(&d[0]);

	/* A byte every 300 ms of a header that never ends: never idle. */
	fd = tcp_connect(port);
	ck_assert(send_all(fd, "GET /metrics HTTP/1.1\r\nX: ", 26));
	t0 = test_now_ms();
	while (test_now_ms() - t0 < 15000) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 300) == 1 || !send_all(fd, &c, 1)) {
			took = test_now_ms() - t0;
			break;
		}
	}
	close(fd);
	ck_assert_msg(took >= 0 && took < 12000, "a trickling connection "
	    "held for %ld ms", took);
	text = scrape(port);
	check_exposition(text);
	free(text);
}
END_TEST

START_TEST(test_start_fails_on_busy_port)
{
	char		 conf[128], opt[160];
	const char	*tail[] = { "-c", d[0].conf, "--state-dir", d[0].state,
			    "-S", d[0].sock, "-o", "listen=127.0.0.1:0", "-o",
			    "discovery=no", NULL };
	int		 fd, port, status;

	fd = loopback_socket(&port);
	ck_assert_int_eq(listen(fd, 1), 0);
	snprintf(conf, sizeof(conf), "metrics_listen = 127.0.0.1:%d\n", port);
	daemon_config(&d[0], conf);
	status = daemon_run_to_exit(&d[0], tail);
	close(fd);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	snprintf(opt, sizeof(opt), "cannot serve metrics on 127.0.0.1:%d",
	    port);
	ck_assert_msg(daemon_log_has(&d[0], opt), "no \"%s\" in %s", opt,
	    d[0].log);

	/* A value that is no numeric ADDR:PORT is a configuration error. */
	daemon_config(&d[1], "metrics_listen = localhost:9654\n");
	tail[1] = d[1].conf;
	tail[3] = d[1].state;
	tail[5] = d[1].sock;
	status = daemon_run_to_exit(&d[1], tail);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	ck_assert(daemon_log_has(&d[1], "metrics_listen:"));
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_scrape_counts_calls);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_connection_limit);
	tcase_add_test(tc, test_trickle_closed);
	tcase_add_test(tc, test_start_fails_on_busy_port);
	suite_add_tcase(s, tc);
	return s;
}
