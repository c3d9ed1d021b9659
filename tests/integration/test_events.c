/* SPDX-License-Identifier: ISC */
/*
 * test_events.c: publish and subscribe across five daemons: three
 * subscribers on different nodes get every event of two publishers in
 * each publisher's order, without duplicates; a late subscriber gets
 * only what follows; a subscriber that does not read loses events and
 * is told how many while a fast one on its node loses none; an
 * unsubscribe stops delivery to that node; peerctl subscribe prints
 * what peerctl publish sends.
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

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define N		5
#define PUBLISHED	1000
#define SUBS_MAX	8

static struct daemon	d[N];

static void
setup(void)
{
	daemons_init_mesh(d, N);
}

static void
teardown(void)
{
	daemons_free(d, N);
}

/* What one subscriber saw. */
struct seen {
	struct peer	*p;
	char		 node[2][64];	/* the two publishers' IDs */
	uint64_t	 next[2];	/* index expected next from each */
	uint64_t	 last_seq[2];
	int		 count[2];
	int		 other;		/* events from elsewhere */
	int		 bad;		/* out of order, duplicate, malformed */
	uint64_t	 lost;
};

static void
on_event(struct peer *p, const struct peer_event *e, void *arg)
{
	struct seen	*s = arg;
	uint64_t	 v;
	const uint8_t	*bytes;
	size_t		 n;
	int		 k;

	(void)p;
	s->lost += e->lost;
	for (k = 0; k < 2; k++)
		if (strcmp(e->node, s->node[k]) == 0)
			break;
	if (k == 2) {
		s->other++;
		return;
	}
	/* Small events carry their index, large ones a filler. */
	if (e->data != NULL && cbor_read_uint(e->data, e->data_len, &v)) {
		if (v != s->next[k])
			s->bad++;
		s->next[k] = v + 1;
	} else if (e->data == NULL ||
	    !cbor_read_bytes(e->data, e->data_len, &bytes, &n))
		s->bad++;
	if (e->seq <= s->last_seq[k])
		s->bad++;
	s->last_seq[k] = e->seq;
	s->count[k]++;
}


/*
 * Every daemon is linked to every other: with degree_min 4, what five
 * nodes come to.  Events keep their order per path, and a path that
 * changes (a relay, then a direct link) may lose one: at most once.
 */
static bool
mesh_full(void *arg)
{
	json_t	*j;
	int	 i, status;
	bool	 full = true;

	(void)arg;
	for (i = 0; i < N && full; i++) {
		if ((j = peerctl_json(&d[i], &status, "peers", NULL)) == NULL)
			return false;
		full = json_array_size(json_object_get(j, "peers")) == N - 1;
		json_decref(j);
	}
	return full;
}

static void
start_all(void)
{
	char	name[16];
	int	i;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		daemon_start_boot(&d[i], name, i > 0 ? &d[0] : NULL);
	}
	ck_assert_msg(wait_until(mesh_full, NULL, 15000), "the five daemons "
	    "never linked each to each");
}

static void
subscribe(struct seen *s, const struct daemon *at, const char *pattern,
    struct peer *pub0, struct peer *pub1)
{
	struct peer_error	err;

	memset(s, 0, sizeof(*s));
	s->p = daemon_peer(at);
	snprintf(s->node[0], sizeof(s->node[0]), "%s", peer_node_id(pub0));
	snprintf(s->node[1], sizeof(s->node[1]), "%s", peer_node_id(pub1));
	ck_assert_msg(peer_subscribe(s->p, pattern, on_event, s, &err) == 0,
	    "subscribe: %s", err.message);
}

/* Reads what has come for each subscriber, waiting up to ms for some. */
static void
pump(struct seen **subs, int n, int ms)
{
	struct pollfd		pfd[SUBS_MAX];
	struct peer_error	err;
	int			i;

	for (i = 0; i < n; i++) {
		pfd[i].fd = peer_fd(subs[i]->p);
		pfd[i].events = POLLIN;
	}
	(void)poll(pfd, (nfds_t)n, ms);
	for (i = 0; i < n; i++)
		ck_assert_msg(peer_dispatch(subs[i]->p, &err) == 0,
		    "dispatch: %s", err.message);
}

/* How many nodes the publisher's node lists for pattern. */
struct listing {
	struct peer	*p;
	const char	*pattern;
	int		 nodes;
};

static bool
topics_listed(void *arg)
{
	struct listing		*l = arg;
	struct peer_error	 err;
	struct cbor_field	 f[8], e[8];
	struct cbor_iter	 it;
	const struct cbor_field	*v;
	const uint8_t		*item;
	uint8_t			*res;
	const char		*s;
	size_t			 len, ilen, n;
	int			 nf, ne, count = 0;

	if (peer_op(l->p, "topics", NULL, 0, 0, 0, &res, &len, &err) == -1)
		return false;
	if ((nf = cbor_scan_map(res, len, f, 8)) > 0 &&
	    (v = cbor_field_get(f, nf, "topics")) != NULL &&
	    cbor_array_iter(v->val, v->vallen, &it))
		while (cbor_iter_next(&it, &item, &ilen))
			if ((ne = cbor_scan_map(item, ilen, e, 8)) > 0 &&
			    (v = cbor_field_get(e, ne, "topic")) != NULL &&
			    cbor_read_text(v->val, v->vallen, &s, &n) &&
			    n == strlen(l->pattern) &&
			    memcmp(s, l->pattern, n) == 0)
				count++;
	free(res);
	return count == l->nodes;
}

static void
wait_listed(struct peer *p, const char *pattern, int nodes)
{
	struct listing	l = { p, pattern, nodes };

	ck_assert_msg(wait_until(topics_listed, &l, 10000), "%d nodes never "
	    "listed for %s", nodes, pattern);
}

/* Publishes, and returns once the daemon took it. */
static void
publish(struct peer *p, const char *topic, const struct cbor_buf *data)
{
	struct peer_error	 err;
	struct cbor_buf		 body = { 0 };
	uint8_t			*res;
	size_t			 len;

	cbor_put_text(&body, "topic");
	cbor_put_text(&body, topic);
	cbor_put_text(&body, "data");
	cbor_put_raw(&body, data->data, data->len);
	ck_assert_msg(peer_op(p, "publish", body.data, body.len, 2, 0, &res,
	    &len, &err) == 0, "publish: %s", err.message);
	free(res);
	cbor_buf_free(&body);
}

static void
publish_index(struct peer *p, uint64_t i)
{
	struct cbor_buf	b = { 0 };

	cbor_put_uint(&b, i);
	publish(p, "t.x", &b);
	cbor_buf_free(&b);
}

static bool
all_have(struct seen **subs, int n, int k, int count)
{
	int	i;

	for (i = 0; i < n; i++)
		if (subs[i]->count[k] < count)
			return false;
	return true;
}

static void
wait_counts(struct seen **subs, int n, int k, int count)
{
	long	deadline = test_now_ms() + 20000;

	while (!all_have(subs, n, k, count) && test_now_ms() < deadline)
		pump(subs, n, 50);
	ck_assert_msg(all_have(subs, n, k, count), "not every subscriber got "
	    "%d events from publisher %d", count, k);
}

START_TEST(test_three_subscribers_two_publishers)
{
	struct seen	 s[3], late, *subs[4];
	struct peer	*pub[2];
	long		 t0;
	int		 i, k;

	start_all();
	pub[0] = daemon_peer(&d[0]);
	pub[1] = daemon_peer(&d[4]);
	for (i = 0; i < 3; i++) {
		subscribe(&s[i], &d[i + 1], "t.*", pub[0], pub[1]);
		subs[i] = &s[i];
	}
	wait_listed(pub[0], "t.*", 3);
	wait_listed(pub[1], "t.*", 3);

	t0 = test_now_ms();
	for (i = 0; i < PUBLISHED; i++) {
		publish_index(pub[0], (uint64_t)i);
		publish_index(pub[1], (uint64_t)i);
		if (i % 50 == 0)
			pump(subs, 3, 0);
	}
	wait_counts(subs, 3, 0, PUBLISHED);
	wait_counts(subs, 3, 1, PUBLISHED);
	fprintf(stderr, "events: 3 subscribers got 2 x %d events in %ld ms\n",
	    PUBLISHED, test_now_ms() - t0);
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 2; k++)
			ck_assert_msg(s[i].count[k] == PUBLISHED, "subscriber "
			    "%d: %d events from publisher %d", i, s[i].count[k],
			    k);
		ck_assert_msg(s[i].bad == 0, "subscriber %d: %d events out "
		    "of order or repeated", i, s[i].bad);
		ck_assert_int_eq(s[i].lost, 0);
		ck_assert_int_eq(s[i].other, 0);
	}

	/* A late subscriber gets what follows, and nothing before. */
	subscribe(&late, &d[2], "t.x", pub[0], pub[1]);
	late.next[0] = PUBLISHED;
	wait_listed(pub[0], "t.x", 1);
	subs[3] = &late;
	for (i = 0; i < 10; i++)
		publish_index(pub[0], PUBLISHED + (uint64_t)i);
	wait_counts(&subs[3], 1, 0, 10);
	pump(subs, 4, 100);
	ck_assert_int_eq(late.count[0], 10);
	ck_assert_int_eq(late.count[1], 0);
	ck_assert_int_eq(late.bad, 0);

	for (i = 0; i < 3; i++)
		peer_close(s[i].p);
	peer_close(late.p);
	peer_close(pub[0]);
	peer_close(pub[1]);
}
END_TEST

START_TEST(test_slow_subscriber_loses_only_its_own)
{
	struct seen	 fast, slow, *subs[1];
	struct peer	*pub;
	struct cbor_buf	 big = { 0 };
	uint8_t		*filler;
	long		 deadline;
	int		 i, count = 200, extra, before;

	start_all();
	pub = daemon_peer(&d[0]);
	subscribe(&fast, &d[3], "t.*", pub, pub);
	subscribe(&slow, &d[3], "t.*", pub, pub);
	wait_listed(pub, "t.*", 1);
	filler = calloc(1, 64 << 10);
	cbor_put_bytes(&big, filler, 64 << 10);
	free(filler);
	subs[0] = &fast;
	/* 200 events of 64 KiB: far more than the slow one may leave unread. */
	for (i = 0; i < count; i++) {
		publish(pub, "t.big", &big);
		deadline = test_now_ms() + 5000;
		while (fast.count[0] < i + 1 && test_now_ms() < deadline)
			pump(subs, 1, 20);
	}
	ck_assert_int_eq(fast.count[0], count);
	ck_assert_int_eq(fast.lost, 0);
	ck_assert_int_eq(fast.bad, 0);
	/*
	 * The slow one reads now.  Its losses are told with the next event
	 * it is given, once what was queued for it has drained: publish
	 * again until one gets through.
	 */
	subs[0] = &slow;
	for (extra = 0; extra < 5; extra++) {
		do {
			before = slow.count[0];
			pump(subs, 1, 200);
		} while (slow.count[0] != before);
		publish(pub, "t.big", &big);
		deadline = test_now_ms() + 2000;
		while (slow.count[0] + (int)slow.lost < count + extra + 1 &&
		    test_now_ms() < deadline)
			pump(subs, 1, 50);
		if (slow.count[0] + (int)slow.lost == count + extra + 1)
			break;
	}
	fprintf(stderr, "events: slow subscriber got %d, lost %llu; fast got "
	    "%d, lost 0\n", slow.count[0], (unsigned long long)slow.lost,
	    fast.count[0]);
	ck_assert_msg(slow.lost > 0, "the slow subscriber lost nothing");
	ck_assert_int_eq(slow.count[0] + (int)slow.lost, count + extra + 1);
	ck_assert_int_eq(slow.bad, 0);
	cbor_buf_free(&big);
	peer_close(fast.p);
	peer_close(slow.p);
	peer_close(pub);
}
END_TEST

START_TEST(test_unsubscribe_stops_delivery)
{
	struct seen		 a, b, *subs[2];
	struct peer		*pub;
	struct peer_error	 err;
	int			 i;

	start_all();
	pub = daemon_peer(&d[0]);
	subscribe(&a, &d[1], "t.x", pub, pub);
	subscribe(&b, &d[2], "t.x", pub, pub);
	subs[0] = &a;
	subs[1] = &b;
	wait_listed(pub, "t.x", 2);
	publish_index(pub, 0);
	wait_counts(subs, 2, 0, 1);

	ck_assert(peer_unsubscribe(a.p, "t.x", &err) == 0);
	wait_listed(pub, "t.x", 1);
	for (i = 1; i <= 10; i++)
		publish_index(pub, (uint64_t)i);
	/* b's ten mark the time by which a's would have come. */
	wait_counts(&subs[1], 1, 0, 11);
	pump(subs, 2, 200);
	ck_assert_int_eq(a.count[0], 1);
	ck_assert_int_eq(b.count[0], 11);
	peer_close(a.p);
	peer_close(b.p);
	peer_close(pub);
}
END_TEST

/* peerctl subscribe prints what peerctl publish sends, from another node. */
START_TEST(test_peerctl_publish_and_subscribe)
{
	struct pollfd	 pfd;
	struct peer	*p;
	char		 out[4096], err[1024];
	const char	*argv[12];
	size_t		 got = 0;
	ssize_t		 n;
	long		 deadline;
	pid_t		 pid;
	int		 fds[2], status, lines = 0;

	start_all();
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		argv[0] = peerctl_bin();
		argv[1] = "-s";
		argv[2] = d[1].sock;
		argv[3] = "subscribe";
		argv[4] = "sensor.*";
		argv[5] = "--count";
		argv[6] = "2";
		argv[7] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p = daemon_peer(&d[0]);
	wait_listed(p, "sensor.*", 1);
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), err,
	    sizeof(err), "publish", "sensor.temp", "{\"c\": 21.5}", NULL), 0);
	ck_assert_int_eq(peerctl_run(&d[0], out, sizeof(out), err,
	    sizeof(err), "publish", "sensor.door", "\"open\"", NULL), 0);
	/* Both lines, then it exits by itself. */
	deadline = test_now_ms() + 10000;
	while (got < sizeof(out) - 1 && test_now_ms() < deadline) {
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(fds[0], out + got, sizeof(out) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "peerctl subscribe exited with 0x%x", (unsigned)status);
	for (n = 0; (size_t)n < got; n++)
		lines += out[n] == '\n';
	ck_assert_msg(lines == 2 && strstr(out, "sensor.temp n0 ") != NULL &&
	    strstr(out, "{\"c\":21.5}") != NULL &&
	    strstr(out, "sensor.door n0 ") != NULL &&
	    strstr(out, "\"open\"") != NULL, "subscribe printed: %s", out);
	peer_close(p);
}
END_TEST

Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("events");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_three_subscribers_two_publishers);
	tcase_add_test(tc, test_slow_subscriber_loses_only_its_own);
	tcase_add_test(tc, test_unsubscribe_stops_delivery);
	tcase_add_test(tc, test_peerctl_publish_and_subscribe);
	suite_add_tcase(s, tc);
	return s;
}
