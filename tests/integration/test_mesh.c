/* SPDX-License-Identifier: ISC */
/*
 * test_mesh.c: encrypted links between real daemons on 127.0.0.1:
 * bootstrap, peers, ping across fragmentation, failure detection,
 * re-linking, foreign network keys, garbage on the mesh port,
 * simultaneous dials, and a real node linking through a flood of
 * half-open connections from one address, and through one from
 * thousands of addresses while its round trip is long.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"

#define FAST	"ping_interval = 100ms\ndead_after = 1s\n" \
		"handshake_timeout = 1s\n"

#define FLOOD_FROM	"127.0.0.9"	/* loopback answers all of 127/8 */
#define FLOOD_CONNECTS	2000
#define FLOOD_MS	3000
#define FLOOD_READY	300	/* past the 256 that once filled a daemon */
/*
 * The flood from many addresses: 127.0.1.1 to 127.0.8.250, one
 * connection each, and every FLOOD_SHARED-th from WAN_FROM, the real
 * node's own address, over FLOOD_MANY_MS: the default max_handshakes
 * (256) fill in 128 ms, the handshakes from WAN_FROM (8) in 32 ms.
 */
#define FLOOD_MANY_MS	1000
#define FLOOD_SHARED	8
/* The real node's link: WAN_DELAY_MS each way, from WAN_FROM. */
#define WAN_DELAY_MS	150
#define WAN_FROM	"127.0.0.2"
#define WAN_RUNS	256	/* reads held back at once, each way */

static struct daemon	n[4];

static void
setup(void)
{
	daemons_init_mesh(n, 4);
}

static void
teardown(void)
{
	daemons_free(n, 4);
}

/* Starts d with FAST timings and --bootstrap to boot if not NULL. */
static void
start(struct daemon *d, const char *name, struct daemon *boot)
{
	daemon_config(d, FAST);
	daemon_start_boot(d, name, boot);
}

/* The entry of d's peers for name (state up), or NULL; caller decrefs. */
static json_t *
peer_entry(const struct daemon *d, const char *name, size_t *count)
{
	json_t	*j, *peers, *e, *found = NULL;
	size_t	 i;
	int	 status;

	if ((j = peerctl_json(d, &status, "peers", NULL)) == NULL)
		return NULL;
	peers = json_object_get(j, "peers");
	if (count != NULL)
		*count = json_array_size(peers);
	json_array_foreach(peers, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0 && strcmp(json_string_value(json_object_get(e,
		    "state")), "up") == 0 && found == NULL) {
			found = e;
			json_incref(found);
		}
	}
	json_decref(j);
	return found;
}

struct want {
	struct daemon	*d;
	const char	*name;
	bool		 rtt;		/* also needs a measured RTT */
};

static bool
linked(void *arg)
{
	struct want	*w = arg;
	json_t		*e = peer_entry(w->d, w->name, NULL);
	bool		 ok;

	ok = e != NULL && (!w->rtt ||
	    json_is_integer(json_object_get(e, "rtt_us")));
	json_decref(e);
	return ok;
}

static bool
unlinked(void *arg)
{
	struct want	*w = arg;
	json_t		*e = peer_entry(w->d, w->name, NULL);

	json_decref(e);
	return e == NULL;
}

START_TEST(test_bootstrap_peers_rtt)
{
	struct want	wb = { &n[0], "b", true }, wc = { &n[0], "c", true };
	struct want	wa = { &n[1], "a", true };
	json_t		*e;

	start(&n[0], "a", NULL);
	start(&n[1], "b", &n[0]);
	start(&n[2], "c", &n[0]);
	ck_assert_msg(wait_until(linked, &wb, 3000), "a never linked b");
	ck_assert_msg(wait_until(linked, &wc, 3000), "a never linked c");
	ck_assert_msg(wait_until(linked, &wa, 3000), "b never linked a");
	ck_assert_ptr_nonnull(e = peer_entry(&n[0], "b", NULL));
	ck_assert_str_eq(json_string_value(json_object_get(e, "direction")),
	    "in");
	ck_assert_int_gt(json_integer_value(json_object_get(e, "rtt_us")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(e, "rtt_min_us")),
	    0);
	ck_assert_int_gt(json_integer_value(json_object_get(e, "bytes_in")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(e, "msgs_out")), 0);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(e,
	    "node"))), 52);
	json_decref(e);
	ck_assert_ptr_nonnull(e = peer_entry(&n[1], "a", NULL));
	ck_assert_str_eq(json_string_value(json_object_get(e, "direction")),
	    "out");
	json_decref(e);
}
END_TEST

START_TEST(test_ping_megabyte)
{
	struct want	wb = { &n[0], "b", false };
	char		out[4096], err[1024];

	start(&n[0], "a", NULL);
	start(&n[1], "b", &n[0]);
	ck_assert(wait_until(linked, &wb, 3000));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "ping", "b", "--size", "1048576", "--count", "3", "--interval",
	    "10", NULL), 0);
	ck_assert_msg(strstr(out, "1048576 bytes to b: seq=3") != NULL, "%s",
	    out);
	ck_assert(strstr(out, "3 sent, 3 answered") != NULL);
	/* Bigger than max_message (16 MiB) is refused, not sent. */
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "ping", "b", "--size", "17000000", "--count", "1", NULL), 1);
	ck_assert(strstr(err, "INVALID_ARGUMENT") != NULL);
	/* Unknown node. */
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "ping", "nosuchnode", "--count", "1", NULL), 1);
	ck_assert(strstr(err, "NOT_FOUND") != NULL);
}
END_TEST

START_TEST(test_kill9_detected_and_relinked)
{
	struct want	 wb = { &n[0], "b", false };
	char		 id_before[64], id_after[64];
	long		 t0, dt;
	json_t		*e;

	start(&n[0], "a", NULL);
	start(&n[1], "b", &n[0]);
	ck_assert(wait_until(linked, &wb, 3000));
	ck_assert_ptr_nonnull(e = peer_entry(&n[0], "b", NULL));
	snprintf(id_before, sizeof(id_before), "%s",
	    json_string_value(json_object_get(e, "node")));
	json_decref(e);

	t0 = test_now_ms();
	daemon_stop(&n[1], SIGKILL);
	ck_assert_msg(wait_until(unlinked, &wb, 1000 + 1000),
	    "a still lists b %ld ms after kill -9", test_now_ms() - t0);

	/* Same state directory: same node comes back and re-links. */
	start(&n[1], "b", &n[0]);
	ck_assert_msg(wait_until(linked, &wb, 3000), "b did not re-link");
	ck_assert_ptr_nonnull(e = peer_entry(&n[0], "b", NULL));
	snprintf(id_after, sizeof(id_after), "%s",
	    json_string_value(json_object_get(e, "node")));
	json_decref(e);
	ck_assert_str_eq(id_before, id_after);

	/* A node that goes silent (stopped, socket open) is dropped too. */
	kill(n[1].pid, SIGSTOP);
	t0 = test_now_ms();
	ck_assert_msg(wait_until(unlinked, &wb, 1000 + 1000),
	    "silent b still listed after dead_after + 1 s");
	dt = test_now_ms() - t0;
	ck_assert_msg(dt >= 700, "dropped after %ld ms, before dead_after", dt);
	ck_assert(daemon_log_has(&n[0], "no traffic for"));
	kill(n[1].pid, SIGCONT);
}
END_TEST

static bool
log_has_two_failures(void *arg)
{
	struct daemon	*d = arg;
	FILE		*f;
	char		 line[1024];
	int		 count = 0;

	if ((f = fopen(d->log, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "handshake failed") != NULL)
			count++;
	fclose(f);
	return count >= 2;
}

START_TEST(test_foreign_network_key)
{
	uint8_t	 other[32];
	char	 id_a[64], id_d[64], line[1024];
	json_t	*e;
	FILE	*f;

	start(&n[0], "a", NULL);
	randombytes_buf(other, sizeof(other));
	daemon_set_network_key(&n[3], other);
	start(&n[3], "d", &n[0]);
	/*
	 * d keeps trying (with backoff) and a refuses each attempt: d logs
	 * each of its dials, a its first refusal at least (it holds back a
	 * flood of them).
	 */
	ck_assert_msg(wait_until(log_has_two_failures, &n[3], 3000),
	    "d did not fail twice");
	ck_assert(daemon_log_has(&n[0], "handshake failed"));
	ck_assert_ptr_null(e = peer_entry(&n[0], "d", NULL));
	ck_assert_ptr_null(e = peer_entry(&n[3], "a", NULL));
	/* Neither learned the other's identity: no ID in either log. */
	daemon_id(&n[0], id_a);
	daemon_id(&n[3], id_d);
	ck_assert_ptr_nonnull(f = fopen(n[3].log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		ck_assert_msg(strstr(line, id_a) == NULL && strstr(line,
		    "up (") == NULL, "d learned of a: %s", line);
	fclose(f);
	ck_assert(!daemon_log_has(&n[0], id_d));
	ck_assert(!daemon_log_has(&n[0], "up ("));
}
END_TEST

/*
 * A wrong network key says so on both sides: the dialing node only sees
 * the close, and says that the key may differ; the accepting one cannot
 * decrypt message 1.
 */
START_TEST(test_foreign_network_key_explained)
{
	uint8_t		 other[32];
	char		 addr[64], out[1024], err[1024];
	int		 status;

	start(&n[0], "a", NULL);
	randombytes_buf(other, sizeof(other));
	daemon_set_network_key(&n[3], other);
	start(&n[3], "d", NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&n[0]));
	status = peerctl_run(&n[3], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "handshake failed: closed by the peer during "
	    "the handshake (a different network key?)") != NULL, "%s", err);
	ck_assert(daemon_log_wait(&n[3], "link 127.0.0.1:", 1000));
	ck_assert(daemon_log_has(&n[3], "handshake failed: closed by the peer "
	    "during the handshake (a different network key?)"));
	ck_assert(!daemon_log_has(&n[3], "connection closed by peer"));
	ck_assert_msg(daemon_log_wait(&n[0], "handshake failed: a handshake "
	    "message does not decrypt (a different network key, or not peerd)",
	    1000), "a did not say why it refused d");
}
END_TEST

/* How many lines of d's log contain s. */
static int
log_count(const struct daemon *d, const char *s)
{
	FILE	*f;
	char	 line[1024];
	int	 count = 0;

	ck_assert_ptr_nonnull(f = fopen(d->log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, s) != NULL)
			count++;
	fclose(f);
	return count;
}

struct junk {
	struct daemon	*d;
	int		 port;
	int		 sent;
};

/*
 * Sends one message 1 of random bytes (the length of a real one: an
 * ephemeral key and a tag), then whether d has said how many failed
 * handshakes it did not log.
 */
static bool
junk_summarised(void *arg)
{
	struct junk	*j = arg;
	uint8_t		 rec[2 + 48];
	int		 fd;

	rec[0] = 0;
	rec[1] = 48;
	randombytes_buf(rec + 2, 48);
	fd = tcp_connect(j->port);
	ck_assert_int_eq(send(fd, rec, sizeof(rec), MSG_NOSIGNAL),
	    (ssize_t)sizeof(rec));
	close(fd);
	j->sent++;
	return daemon_log_has(j->d, "more inbound handshakes failed");
}

/* Anyone can make inbound handshakes fail: one log line a second. */
START_TEST(test_failed_handshakes_rate_limited)
{
	struct junk	j = { &n[0], 0, 0 };
	int		lines;

	start(&n[0], "a", NULL);
	j.port = daemon_port(&n[0]);
	ck_assert_msg(wait_until(junk_summarised, &j, 3000),
	    "no summary of the failed handshakes after %d", j.sent);
	lines = log_count(&n[0], "does not decrypt");
	ck_assert_msg(j.sent >= 50 && lines <= 3, "%d lines for %d failed "
	    "handshakes", lines, j.sent);
}
END_TEST

START_TEST(test_garbage_on_mesh_port)
{
	struct want	 wb = { &n[0], "b", false }, wc = { &n[0], "c", false };
	uint8_t		*junk;
	size_t		 len = 1 << 20, off = 0;
	ssize_t		 w;
	json_t		*before, *after;
	int		 fd;

	start(&n[0], "a", NULL);
	start(&n[1], "b", &n[0]);
	start(&n[2], "c", &n[0]);
	ck_assert(wait_until(linked, &wb, 3000));
	ck_assert(wait_until(linked, &wc, 3000));
	ck_assert_ptr_nonnull(before = peer_entry(&n[0], "b", NULL));

	ck_assert_ptr_nonnull(junk = malloc(len));
	randombytes_buf(junk, len);
	fd = tcp_connect(daemon_port(&n[0]));
	while (off < len && (w = send(fd, junk + off, len - off,
	    MSG_NOSIGNAL)) > 0)
		off += (size_t)w;
	close(fd);
	free(junk);

	/* Whatever length the garbage claims, it fails as a handshake. */
	ck_assert_msg(daemon_log_wait(&n[0], "handshake failed", 3000),
	    "a did not reject the garbage");
	/* The same links, still up, still answering pings. */
	ck_assert_ptr_nonnull(after = peer_entry(&n[0], "b", NULL));
	ck_assert_str_eq(json_string_value(json_object_get(before, "addr")),
	    json_string_value(json_object_get(after, "addr")));
	ck_assert(wait_until(linked, &wc, 100));
	{
		char	out[1024], err[1024];

		ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err,
		    sizeof(err), "ping", "c", "--count", "1", NULL), 0);
	}
	json_decref(before);
	json_decref(after);
}
END_TEST

struct pair {
	struct daemon	*a, *b;
};

/* Both ends list exactly one link, up, to each other. */
static bool
one_link_each(void *arg)
{
	struct pair	*p = arg;
	json_t		*ea, *eb;
	size_t		 ca = 0, cb = 0;
	bool		 ok;

	ea = peer_entry(p->a, "b", &ca);
	eb = peer_entry(p->b, "a", &cb);
	ok = ea != NULL && eb != NULL && ca == 1 && cb == 1;
	json_decref(ea);
	json_decref(eb);
	return ok;
}

/* Runs peerctl connect in a child; returns its pid. */
static pid_t
connect_async(struct daemon *d, int port)
{
	char	addr[64], out[1024], err[1024];
	pid_t	pid;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(peerctl_run(d, out, sizeof(out), err, sizeof(err),
		    "connect", addr, NULL));
	return pid;
}

START_TEST(test_simultaneous_connect)
{
	struct pair	 p = { &n[0], &n[1] };
	pid_t		 pa, pb;
	int		 sa, sb, pta, ptb, round;

	start(&n[0], "a", NULL);
	start(&n[1], "b", NULL);
	pta = daemon_port(&n[0]);
	ptb = daemon_port(&n[1]);
	for (round = 0; round < 3; round++) {
		pa = connect_async(&n[0], ptb);
		pb = connect_async(&n[1], pta);
		ck_assert_int_eq(waitpid(pa, &sa, 0), pa);
		ck_assert_int_eq(waitpid(pb, &sb, 0), pb);
		ck_assert_msg(WIFEXITED(sa) && WEXITSTATUS(sa) == 0,
		    "connect from a failed (round %d)", round);
		ck_assert_msg(WIFEXITED(sb) && WEXITSTATUS(sb) == 0,
		    "connect from b failed (round %d)", round);
		ck_assert_msg(wait_until(one_link_each, &p, 3000),
		    "not exactly one link after simultaneous connect");
	}
	/* Both ends agree on which link survived, and it stays. */
	ck_assert(wait_until(one_link_each, &p, 100));
}
END_TEST

START_TEST(test_connect_errors_and_disconnect)
{
	struct want	 wb = { &n[0], "b", false };
	char		 out[4096], err[1024], addr[64];

	start(&n[0], "a", NULL);
	start(&n[1], "b", NULL);
	/* Port 1 (tcpmux) is closed here: a clear error, no lasting target. */
	snprintf(addr, sizeof(addr), "127.0.0.1:1");
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL), 1);
	ck_assert_msg(strstr(err, "UNAVAILABLE") != NULL, "%s", err);
	/* Ourselves. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&n[0]));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL), 1);
	ck_assert_msg(strstr(err, "itself") != NULL, "%s", err);
	/* Malformed addresses. */
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", "no-port", NULL), 1);
	ck_assert(strstr(err, "INVALID_ARGUMENT") != NULL);
	/* IPv6 literal in brackets is understood (refused: nobody there). */
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", "[::1]:1", NULL), 1);
	ck_assert(strstr(err, "UNAVAILABLE") != NULL);

	snprintf(addr, sizeof(addr), "localhost:%d", daemon_port(&n[1]));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL), 0);
	ck_assert_msg(strstr(out, "linked to b (") != NULL, "%s", out);
	ck_assert(wait_until(linked, &wb, 1000));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "disconnect", "b", NULL), 0);
	ck_assert(wait_until(unlinked, &wb, 1000));
	/* Not re-dialed: still apart after several backoff periods. */
	ck_assert_msg(!wait_until(linked, &wb, 1000), "b was re-dialed");
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "disconnect", "b", NULL), 1);
	ck_assert(strstr(err, "NOT_FOUND") != NULL);
}
END_TEST

START_TEST(test_connect_known_target_down)
{
	char	out[1024], err[1024], addr[64];
	long	t0;

	/* a keeps re-dialing b (bootstrap); b goes away. */
	start(&n[1], "b", NULL);
	start(&n[0], "a", &n[1]);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&n[1]));
	daemon_stop(&n[1], SIGKILL);
	/* connect to the same address reports the next failed attempt. */
	t0 = test_now_ms();
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "connect", addr, NULL), 1);
	ck_assert_msg(strstr(err, "UNAVAILABLE") != NULL, "%s", err);
	ck_assert_msg(test_now_ms() - t0 < 3000, "connect took %ld ms",
	    test_now_ms() - t0);
}
END_TEST

struct ping_count {
	unsigned	ok, exhausted, other;
};

static void
ping_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct ping_count	*c = arg;

	(void)p;
	if (r->error == NULL)
		c->ok++;
	else if (r->error->code == PEER_RESOURCE_EXHAUSTED)
		c->exhausted++;
	else
		c->other++;
}

START_TEST(test_ping_flood_keeps_link)
{
	struct want		 wb = { &n[0], "b", false };
	struct ping_count	 c = { 0, 0, 0 };
	struct peer_error	 err;
	struct cbor_buf		 body = { 0 };
	struct peer		*p;
	uint64_t		 ids[4];
	int			 i;

	start(&n[0], "a", NULL);
	start(&n[1], "b", &n[0]);
	ck_assert(wait_until(linked, &wb, 3000));
	ck_assert_ptr_nonnull(p = peer_open(n[0].sock, &err));
	cbor_put_text(&body, "node");
	cbor_put_text(&body, "b");
	cbor_put_text(&body, "size");
	cbor_put_uint(&body, (16u << 20) - 64);
	/* Any client may ping: it must not be able to break the link. */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(peer_request(p, "ping", body.data, body.len, 2,
		    20000, ping_cb, &c, &ids[i], &err), 0);
	/* The refusals come first; the pong of the first ping later. */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(peer_wait(p, ids[i], &err), 0);
	peer_close(p);
	cbor_buf_free(&body);
	ck_assert_uint_ge(c.ok, 1);
	ck_assert_uint_ge(c.exhausted, 1);
	ck_assert_uint_eq(c.other, 0);
	ck_assert(!daemon_log_has(&n[0], "peer not reading"));
	ck_assert(wait_until(linked, &wb, 100));
}
END_TEST

START_TEST(test_long_names)
{
	static const char	name[] = "n23456789-123456789-123456789-"
	    "123456789-123456789-123456789-123";
	struct want		w = { &n[0], name, false };
	char			out[1024], err[1024];

	ck_assert_uint_eq(strlen(name), 63);
	start(&n[0], "a", NULL);
	start(&n[1], name, &n[0]);
	ck_assert(wait_until(linked, &w, 3000));
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "ping", name, "--count", "1", NULL), 0);
	ck_assert_int_eq(peerctl_run(&n[0], out, sizeof(out), err, sizeof(err),
	    "disconnect", name, NULL), 0);
}
END_TEST

/* Closes, and forgets, the connections the daemon has closed. */
static size_t
flood_reap(int *fds, size_t nfds)
{
	char	c;
	size_t	i, kept = 0;
	ssize_t	r;

	for (i = 0; i < nfds; i++) {
		r = recv(fds[i], &c, 1, MSG_DONTWAIT);
		if (r == 0 || (r == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINPROGRESS &&
		    errno != ENOTCONN))
			close(fds[i]);
		else
			fds[kept++] = fds[i];
	}
	return kept;
}

/* Where the flood's connection i comes from. */
static void
flood_from(int i, bool many, struct in_addr *a)
{
	if (!many)
		inet_pton(AF_INET, FLOOD_FROM, a);
	else if (i % FLOOD_SHARED == 0)
		inet_pton(AF_INET, WAN_FROM, a);
	else
		a->s_addr = htonl(0x7f000000u | (uint32_t)(1 + i / 250) << 8 |
		    (uint32_t)(1 + i % 250));
}

/*
 * The attacker, in a child process: FLOOD_CONNECTS connections to port
 * over about ms, from FLOOD_FROM, or with many from the addresses
 * flood_from gives, never sending a byte, each kept open until the
 * daemon closes it.  Writes a byte to ready after FLOOD_READY of them,
 * and once done waits for stop to close.  Exits 0 if every connection
 * could be started, and ready written.
 */
static void
flood(int port, bool many, long ms, int ready, int stop)
{
	static int		 fds[FLOOD_CONNECTS];
	struct sockaddr_in	 from, to;
	struct pollfd		 pfd = { stop, POLLIN, 0 };
	struct rlimit		 rl;
	size_t			 nopen = 0;
	long			 t0 = test_now_ms(), due;
	int			 i, fd, failed = 0;

	/* Open until reaped: more than the usual soft limit may be. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < FLOOD_CONNECTS; i++) {
		due = t0 + (long)i * ms / FLOOD_CONNECTS;
		flood_from(i, many, &from.sin_addr);
		if (test_now_ms() < due)
			usleep((useconds_t)(due - test_now_ms()) * 1000);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
		    -1 || bind(fd, (struct sockaddr *)&from,
		    sizeof(from)) == -1 || (connect(fd, (struct sockaddr *)&to,
		    sizeof(to)) == -1 && errno != EINPROGRESS)) {
			if (fd != -1)
				close(fd);
			failed++;
		} else
			fds[nopen++] = fd;
		if (i + 1 == FLOOD_READY && write(ready, "", 1) != 1)
			failed++;
		if (i % 64 == 63)
			nopen = flood_reap(fds, nopen);
	}
	(void)poll(&pfd, 1, 10000);
	_exit(failed == 0 ? 0 : 1);
}

/*
 * Starts flood() in a child, which stops when stop_r reads end of file;
 * returns once its connections are going.
 */
static pid_t
flood_start(int port, bool many, long ms, int stop_r, int stop_w)
{
	struct pollfd	pfd;
	pid_t		pid;
	char		c;
	int		ready[2];

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(ready[0]);
		close(stop_w);
		flood(port, many, ms, ready[1], stop_r);
	}
	close(ready[1]);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	ck_assert_msg(poll(&pfd, 1, 5000) == 1 && read(ready[0], &c, 1) == 1,
	    "the flood did not get going");
	close(ready[0]);
	return pid;
}

/* Reaps a child the test started, which must have exited 0. */
static void
child_done(pid_t pid, const char *what)
{
	int	status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s failed", what);
}

/* b dials addr mid-flood, and is linked within 1 s of dialing. */
static void
connect_within_a_second(struct daemon *b, const char *addr, struct want *wa)
{
	char	out[1024], err[1024];
	long	t0, dt;
	int	rc;

	t0 = test_now_ms();
	rc = peerctl_run(b, out, sizeof(out), err, sizeof(err), "connect",
	    addr, NULL);
	dt = test_now_ms() - t0;
	ck_assert_msg(rc == 0, "connect failed after %ld ms: %s", dt, err);
	ck_assert_msg(wait_until(linked, wa, dt < 1000 ? (int)(1000 - dt) :
	    0), "b not linked to a within 1 s of dialing (connect took %ld "
	    "ms)", dt);
}

/* status's handshakes_dropped of d. */
static json_int_t
handshakes_dropped(const struct daemon *d)
{
	json_t		*j;
	json_int_t	 v;
	int		 status;

	ck_assert_ptr_nonnull(j = peerctl_json(d, &status, "status", NULL));
	v = json_integer_value(json_object_get(j, "handshakes_dropped"));
	json_decref(j);
	return v;
}

START_TEST(test_handshake_flood)
{
	struct want	 wa = { &n[1], "a", false };
	char		 addr[64];
	json_int_t	 dropped;
	pid_t		 pid;
	int		 stop[2];

	/* a keeps half-open connections the default 5 s. */
	daemon_config(&n[0], "ping_interval = 100ms\ndead_after = 1s\n");
	daemon_start(&n[0], "a", NULL);
	start(&n[1], "b", NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", daemon_port(&n[0]));
	ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
	pid = flood_start(daemon_port(&n[0]), false, FLOOD_MS, stop[0],
	    stop[1]);
	close(stop[0]);

	/* Mid-flood, b dials a: linked at once, as without the flood. */
	connect_within_a_second(&n[1], addr, &wa);

	/* a made room by closing the flood's oldest, and said so once. */
	ck_assert_msg(daemon_log_wait(&n[0], "handshakes under way from "
	    FLOOD_FROM ", closing the oldest", 1000), "a dropped nothing");
	close(stop[1]);
	child_done(pid, "the flood");
	ck_assert_msg(daemon_log_wait(&n[0], "more handshakes closed in the "
	    "last 5 s", 7000), "a did not count the rest");
	ck_assert_int_eq(log_count(&n[0], "closing the oldest"), 1);
	ck_assert(wait_until(linked, &wa, 100));
	/* status counts every one dropped: all but the last few held. */
	dropped = handshakes_dropped(&n[0]);
	ck_assert_msg(dropped >= 1900 && dropped <= 2000, "status says %lld "
	    "handshakes dropped", (long long)dropped);
}
END_TEST

/* Bytes read from one end of the relay, held back until they are due. */
struct wan_queue {
	uint8_t	*buf;
	size_t	 len;
	struct {
		long	 due;
		size_t	 end;		/* of the bytes of this read */
	}	 run[WAN_RUNS];
	int	 nrun;
};

/* Reads what fd has into q, due WAN_DELAY_MS from now; -1 at its end. */
static int
wan_read(int fd, struct wan_queue *q)
{
	uint8_t	 tmp[65536], *p;
	ssize_t	 r;

	if ((r = read(fd, tmp, sizeof(tmp))) <= 0)
		return -1;
	if ((p = realloc(q->buf, q->len + (size_t)r)) == NULL)
		return -1;
	q->buf = p;
	memcpy(q->buf + q->len, tmp, (size_t)r);
	q->len += (size_t)r;
	if (q->nrun == WAN_RUNS)	/* rare: late with the last run */
		q->nrun--;
	q->run[q->nrun].due = test_now_ms() + WAN_DELAY_MS;
	q->run[q->nrun++].end = q->len;
	return 0;
}

/* Writes the runs of q that are due to fd; -1 if it cannot. */
static int
wan_write(int fd, struct wan_queue *q)
{
	size_t	k;
	int	i;

	while (q->nrun > 0 && q->run[0].due <= test_now_ms()) {
		k = q->run[0].end;
		if (write(fd, q->buf, k) != (ssize_t)k)
			return -1;
		memmove(q->buf, q->buf + k, q->len - k);
		q->len -= k;
		for (i = 1; i < q->nrun; i++) {
			q->run[i - 1] = q->run[i];
			q->run[i - 1].end -= k;
		}
		q->nrun--;
	}
	return 0;
}

/* A connection to port from WAN_FROM, or -1. */
static int
wan_connect(int port)
{
	struct sockaddr_in	 from, to;
	int			 fd, one = 1;

	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	inet_pton(AF_INET, WAN_FROM, &from.sin_addr);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A wide-area link, in a child process: takes one connection on lfd and
 * carries it to port, from WAN_FROM, each byte WAN_DELAY_MS late either
 * way.  The connection to port is made when the first bytes are due, so
 * the daemon accepts it with the first handshake message right behind,
 * as it would a distant node's.  Ends when stop closes, either end
 * does, or after 15 s.
 */
static void
wan_relay(int lfd, int port, int stop)
{
	struct wan_queue	 q[2];		/* to the daemon, back */
	struct pollfd		 pfd[3];
	long			 end = test_now_ms() + 15000, wait;
	int			 fd[2] = { -1, -1 }, i, np;

	memset(q, 0, sizeof(q));
	pfd[0].fd = stop;
	pfd[0].events = POLLIN;
	pfd[1].fd = lfd;
	pfd[1].events = POLLIN;
	if (poll(pfd, 2, 5000) != 1 || !(pfd[1].revents & POLLIN) ||
	    (fd[1] = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	while (test_now_ms() < end) {
		wait = 100;
		for (i = 0; i < 2; i++)
			if (q[i].nrun > 0 && q[i].run[0].due - test_now_ms() <
			    wait)
				wait = q[i].run[0].due - test_now_ms();
		pfd[1].fd = fd[1];
		pfd[2].fd = fd[0];
		pfd[2].events = POLLIN;
		np = fd[0] == -1 ? 2 : 3;
		if (poll(pfd, (nfds_t)np, wait > 0 ? (int)wait : 0) == -1 ||
		    pfd[0].revents != 0)
			break;
		if ((pfd[1].revents & (POLLIN | POLLHUP)) &&
		    wan_read(fd[1], &q[0]) == -1)
			break;
		if (np == 3 && (pfd[2].revents & (POLLIN | POLLHUP)) &&
		    wan_read(fd[0], &q[1]) == -1)
			break;
		if (fd[0] == -1 && q[0].nrun > 0 &&
		    q[0].run[0].due <= test_now_ms() &&
		    (fd[0] = wan_connect(port)) == -1)
			_exit(1);
		if ((fd[0] != -1 && wan_write(fd[0], &q[0]) == -1) ||
		    wan_write(fd[1], &q[1]) == -1)
			break;
	}
	_exit(0);
}

START_TEST(test_handshake_flood_many_far)
{
	struct want		 wa = { &n[1], "a", false };
	char			 addr[64];
	json_int_t		 dropped;
	pid_t			 relay, pid;
	int			 lfd, port, stop[2];

	/* a keeps half-open connections the default 5 s. */
	daemon_config(&n[0], "ping_interval = 100ms\ndead_after = 1s\n");
	daemon_start(&n[0], "a", NULL);
	start(&n[1], "b", NULL);

	/* b reaches a over a 300 ms round trip, from WAN_FROM. */
	lfd = loopback_socket(&port);
	ck_assert_int_eq(listen(lfd, 1), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
	ck_assert_int_ne(relay = fork(), -1);
	if (relay == 0) {
		close(stop[1]);
		wan_relay(lfd, daemon_port(&n[0]), stop[0]);
	}
	close(lfd);
	pid = flood_start(daemon_port(&n[0]), true, FLOOD_MANY_MS, stop[0],
	    stop[1]);
	close(stop[0]);

	/*
	 * Mid-flood, b dials a.  a holds b's handshake from its first
	 * message to its third, a round trip (300 ms), while the flood
	 * fills max_handshakes twice over and the 8 places of b's address
	 * nine times over.
	 */
	connect_within_a_second(&n[1], addr, &wa);

	/* a made room by closing the flood's silent connections only. */
	ck_assert_msg(daemon_log_wait(&n[0], "closing the oldest that sent "
	    "no valid message", 1000), "a dropped nothing");
	close(stop[1]);
	child_done(pid, "the flood");
	child_done(relay, "the relay");
	ck_assert_int_eq(log_count(&n[0], "every one having sent"), 0);
	dropped = handshakes_dropped(&n[0]);
	ck_assert_msg(dropped >= 1500 && dropped <= 2000, "status says %lld "
	    "handshakes dropped", (long long)dropped);
}
END_TEST

Suite *
mesh_suite(void)
{
	Suite	*s = suite_create("mesh");
	TCase	*tc = tcase_create("mesh");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bootstrap_peers_rtt);
	tcase_add_test(tc, test_ping_megabyte);
	tcase_add_test(tc, test_kill9_detected_and_relinked);
	tcase_add_test(tc, test_foreign_network_key);
	tcase_add_test(tc, test_foreign_network_key_explained);
	tcase_add_test(tc, test_failed_handshakes_rate_limited);
	tcase_add_test(tc, test_garbage_on_mesh_port);
	tcase_add_test(tc, test_simultaneous_connect);
	tcase_add_test(tc, test_connect_errors_and_disconnect);
	tcase_add_test(tc, test_connect_known_target_down);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_ping_flood_keeps_link);
	tcase_add_test(tc, test_handshake_flood);
	tcase_add_test(tc, test_handshake_flood_many_far);
	suite_add_tcase(s, tc);
	return s;
}
