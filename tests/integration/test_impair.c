/* SPDX-License-Identifier: ISC */
/*
 * test_impair.c: the mesh through tests/impair relays.  First the relay
 * itself: it delays by at least what it was asked, holds everything
 * while cut and lets it go when healed.  Then five daemons, each behind
 * a relay with delay and loss that it advertises: they all see each
 * other alive, calls between them succeed for 30 s, and no daemon ever
 * suspects or declares dead another.
 */
#include <sys/socket.h>

#include <poll.h>
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
#define DELAY_MS	100
#define RUN_MS		30000

static struct daemon	d[N];
static struct impair	r[N];
static pid_t		svc[N];
static const char	*names[N] = { "n1", "n2", "n3", "n4", "n5" };

static void
setup(void)
{
	int	i;

	daemons_init_with_apps(d, svc, N);
	for (i = 0; i < N; i++)
		r[i].pid = -1;
}

static void
teardown(void)
{
	bool	ok = true;
	int	i;

	/* The daemons go even if a relay did not stop cleanly. */
	for (i = 0; i < N; i++)
		ok = impair_stop(&r[i]) && ok;
	daemons_free_with_apps(d, svc, N);
	ck_assert_msg(ok, "a relay did not exit 0 on SIGTERM");
}

/* A listening TCP socket on 127.0.0.1; its port into *port. */
static int
tcp_listen(int *port)
{
	int	fd = loopback_socket(port);

	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* True if fd turns readable within ms. */
static bool
readable(int fd, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms) == 1;
}

/* Reads exactly len bytes from fd within ms; false if they do not come. */
static bool
read_all(int fd, char *buf, size_t len, int ms)
{
	long	deadline = test_now_ms() + ms;
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		if (!readable(fd, (int)(deadline - test_now_ms())) ||
		    (n = read(fd, buf + got, len - got)) <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Sends msg on from and returns the ms until it is all read from to. */
static long
one_way_ms(int from, int to, const char *msg)
{
	char	buf[64];
	size_t	len = strlen(msg);
	long	t0 = test_now_ms();

	ck_assert_int_eq(write(from, msg, len), (ssize_t)len);
	ck_assert_msg(read_all(to, buf, len, 5000), "\"%s\" did not come "
	    "through the relay within 5 s", msg);
	ck_assert(memcmp(buf, msg, len) == 0);
	return test_now_ms() - t0;
}

START_TEST(test_relay_delays_cuts_heals)
{
	const char	*args[] = { "-d", "100", "-s", "1", NULL };
	char		 buf[16];
	long		 ms;
	int		 lfd, port, cfd, sfd, c2, s2;

	lfd = tcp_listen(&port);
	impair_init(&r[0]);
	impair_start(&r[0], port, args);
	/* impair_start's own probe connection, passed on and closed. */
	ck_assert(readable(lfd, 5000));
	ck_assert_int_ne(sfd = accept(lfd, NULL, NULL), -1);
	ck_assert(read_all(sfd, buf, 1, 5000) == false);
	close(sfd);

	cfd = tcp_connect(r[0].port);
	ck_assert_msg(readable(lfd, 5000), "the relay did not connect on");
	ck_assert_int_ne(sfd = accept(lfd, NULL, NULL), -1);

	/* At least the delay, each way, every time. */
	ms = one_way_ms(cfd, sfd, "ping");
	ck_assert_msg(ms >= DELAY_MS, "forwarded after %ld ms, not %d", ms,
	    DELAY_MS);
	ms = one_way_ms(sfd, cfd, "pong");
	ck_assert_msg(ms >= DELAY_MS, "answered after %ld ms, not %d", ms,
	    DELAY_MS);
	ms = one_way_ms(cfd, sfd, "again");
	ck_assert_msg(ms >= DELAY_MS, "forwarded after %ld ms, not %d", ms,
	    DELAY_MS);

	/*
	 * Cut: nothing moves either way, in five times the delay, and a
	 * new connection is accepted but not passed on.
	 */
	impair_cut(&r[0]);
	ck_assert_int_eq(write(cfd, "held", 4), 4);
	ck_assert_int_eq(write(sfd, "back", 4), 4);
	c2 = tcp_connect(r[0].port);
	ck_assert_int_eq(write(c2, "late", 4), 4);
	ck_assert_msg(!readable(sfd, 500), "data crossed a cut relay");
	ck_assert_msg(!readable(cfd, 0), "data crossed a cut relay back");
	ck_assert_msg(!readable(lfd, 0), "a cut relay connected on");

	/* Healed: all of it arrives, in order, and the relay goes on. */
	impair_heal(&r[0]);
	ck_assert(read_all(sfd, buf, 4, 5000) && memcmp(buf, "held", 4) == 0);
	ck_assert(read_all(cfd, buf, 4, 5000) && memcmp(buf, "back", 4) == 0);
	ck_assert_msg(readable(lfd, 5000), "the held connection did not "
	    "reach the target after the heal");
	ck_assert_int_ne(s2 = accept(lfd, NULL, NULL), -1);
	ck_assert(read_all(s2, buf, 4, 5000) && memcmp(buf, "late", 4) == 0);
	ms = one_way_ms(cfd, sfd, "after");
	ck_assert_msg(ms >= DELAY_MS, "forwarded after %ld ms, not %d", ms,
	    DELAY_MS);

	/* A side's close reaches the other. */
	close(c2);
	ck_assert(readable(s2, 5000));
	ck_assert_int_eq(read(s2, buf, sizeof(buf)), 0);
	close(s2);
	close(cfd);
	close(sfd);
	close(lfd);
}
END_TEST

static bool
all_see_all(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < N; i++)
		if (count_listed(&d[i], "members", "members", "state",
		    "alive") != N)
			return false;
	return true;
}

/* Checks that dm lists every member at its relay's address, and only. */
static void
assert_relay_addrs(const struct daemon *dm)
{
	json_t		*j, *e, *addrs;
	const char	*name;
	size_t		 i;
	int		 status, k;

	ck_assert_ptr_nonnull(j = peerctl_json(dm, &status, "members", NULL));
	json_array_foreach(json_object_get(j, "members"), i, e) {
		name = json_string_value(json_object_get(e, "name"));
		for (k = 0; k < N && strcmp(names[k], name) != 0; k++)
			;
		ck_assert_int_lt(k, N);
		addrs = json_object_get(e, "addrs");
		ck_assert_msg(json_array_size(addrs) == 1 &&
		    strcmp(json_string_value(json_array_get(addrs, 0)),
		    r[k].addr) == 0, "%s lists %s at %s, not its relay %s",
		    dm->sock, name, json_string_value(json_array_get(addrs, 0)),
		    r[k].addr);
	}
	json_decref(j);
}

/* Copies dm's log lines with s into out (cut to outlen); their number. */
static int
log_lines(const struct daemon *dm, const char *s, char *out, size_t outlen)
{
	FILE	*f;
	char	 line[2048];
	size_t	 len = strlen(out);
	int	 n = 0;

	if ((f = fopen(dm->log, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, s) != NULL) {
			n++;
			snprintf(out + len, outlen - len, "%s: %s", names[dm -
			    d], line);
			len = strlen(out);
		}
	fclose(f);
	return n;
}

START_TEST(test_loss_and_delay_no_false_deaths)
{
	char			 boot[64], adv[64], seed[16];
	char			 bad[8192] = "";
	const char		*with_boot[] = { "-o", adv, "--bootstrap", boot,
				    NULL };
	const char		*relay_args[] = { "-d", "100", "-p", "5",
				    "-s", seed, NULL };
	struct cbor_buf		 b = { 0 };
	struct peer_call_opts	 opts = { NULL, false, 10000 };
	struct peer_error	 err;
	struct peer		*p;
	uint8_t			*res;
	const char		*s;
	size_t			 len, n;
	long			 t0, next, ms, worst = 0;
	int			 i, calls = 0, nbad = 0;

	for (i = 0; i < N; i++)
		impair_init(&r[i]);
	/* Each advertises its relay; all but n1 start at n1's relay. */
	snprintf(boot, sizeof(boot), "%s", r[0].addr);
	for (i = 0; i < N; i++) {
		snprintf(adv, sizeof(adv), "advertise=%s", r[i].addr);
		with_boot[2] = i == 0 ? NULL : "--bootstrap";
		daemon_start(&d[i], names[i], with_boot);
		snprintf(seed, sizeof(seed), "%d", i + 1);
		impair_start(&r[i], daemon_port(&d[i]), relay_args);
	}
	t0 = test_now_ms();
	ck_assert_msg(wait_until(all_see_all, NULL, 30000),
	    "not every daemon lists all %d alive within 30 s", N);
	fprintf(stderr, "impair: all %d see all %d alive after %ld ms\n", N,
	    N, test_now_ms() - t0);
	for (i = 0; i < N; i++)
		assert_relay_addrs(&d[i]);

	svc[4] = echo_start(&d[4], "echo", NULL);
	wait_providers(&d[1], "echo", 1);
	p = daemon_peer(&d[1]);
	cbor_put_text(&b, "through the relays");
	t0 = next = test_now_ms();
	while (test_now_ms() - t0 < RUN_MS) {
		ms = test_now_ms();
		ck_assert_msg(peer_call_sync(p, "echo", "echo", b.data, b.len,
		    &opts, &res, &len, &err) == 0, "call %d at %ld ms: %s (%s)",
		    calls, ms - t0, peer_code_name(err.code), err.message);
		ms = test_now_ms() - ms;
		worst = ms > worst ? ms : worst;
		ck_assert(cbor_read_text(res, len, &s, &n) && n == 18 &&
		    memcmp(s, "through the relays", n) == 0);
		free(res);
		calls++;
		/* Pacing: one call a second. */
		next += 1000;
		if (next > test_now_ms())
			usleep((useconds_t)(next - test_now_ms()) * 1000);
	}
	peer_close(p);
	cbor_buf_free(&b);
	fprintf(stderr, "impair: %d calls n2 -> n5 in %d s, slowest %ld ms\n",
	    calls, RUN_MS / 1000, worst);

	for (i = 0; i < N; i++) {
		nbad += log_lines(&d[i], "dead:", bad, sizeof(bad));
		nbad += log_lines(&d[i], "suspect:", bad, sizeof(bad));
	}
	ck_assert_msg(nbad == 0, "%d false suspicions or deaths:\n%s", nbad,
	    bad);
}
END_TEST

Suite *
impair_suite(void)
{
	Suite	*s = suite_create("impair");
	TCase	*tc = tcase_create("impair");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_relay_delays_cuts_heals);
	tcase_add_test(tc, test_loss_and_delay_no_false_deaths);
	suite_add_tcase(s, tc);
	return s;
}
