/* SPDX-License-Identifier: ISC */
/*
 * test_link.c: handshakes of two real links over loopback across a
 * rotation of the network key: an answering node takes message 1 under
 * its current key or, during the grace, its previous one, and tells a
 * peer on a retired key that it changed; a dialing node in its grace
 * dials again with its previous key when the peer closes on message 1.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "clock.h"
#include "harness.h"
#include "hello.h"
#include "identity.h"
#include "link.h"
#include "netkeys.h"

#define WAIT_MS		5000
#define HOUR_MS		3600000

/* One node's end: its keys and what its links told it. */
struct side {
	struct identity		 id;
	struct hello		 hello;
	struct netkeys		 keys;
	struct link_params	 par;
	struct link		*l;
	int			 ups, downs;
	enum link_end		 why;
	char			 reason[512];
};

static struct event_base	*base;
static struct side		 a, b;		/* a answers, b dials */
static int			 lfd = -1, accepts;
static struct event		*lev;
static char			 addr[64];

static void
on_up(struct link *l, void *arg)
{
	struct side	*s = arg;

	s->l = l;
	s->ups++;
}

static void
on_down(struct link *l, enum link_end why, const char *reason, void *arg)
{
	struct side	*s = arg;

	(void)l;
	s->l = NULL;
	s->downs++;
	s->why = why;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

static void
on_message(struct link *l, const char *type, const struct cbor_field *f,
    int nf, const uint8_t *msg, size_t len, void *arg)
{
	(void)l; (void)type; (void)f; (void)nf; (void)msg; (void)len;
	(void)arg;
}

static const struct link_ops	ops = { on_up, on_down, on_message, NULL };

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);
	struct link		*l;
	int			c;

	(void)what; (void)arg;
	if ((c = accept(fd, (struct sockaddr *)&ss, &sslen)) == -1)
		return;
	evutil_make_socket_nonblocking(c);
	accepts++;
	l = link_accept(&a.par, c, (struct sockaddr *)&ss, &ops, &a);
	ck_assert_ptr_nonnull(l);
	a.l = l;
}

static void
side_init(struct side *s, uint8_t seedbyte, const char *name)
{
	uint8_t	seed[crypto_sign_SEEDBYTES];

	memset(s, 0, sizeof(*s));
	memset(seed, seedbyte, sizeof(seed));
	crypto_sign_seed_keypair(s->id.pk, s->id.sk, seed);
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(s->id.x_sk,
	    s->id.sk), 0);
	base32_encode(s->id.pk, sizeof(s->id.pk), s->id.id);
	s->hello.version = HELLO_VERSION;
	memcpy(s->hello.id, s->id.pk, NODE_ID_LEN);
	snprintf(s->hello.name, sizeof(s->hello.name), "%s", name);
	s->par.base = base;
	s->par.id = &s->id;
	s->par.keys = &s->keys;
	s->par.hello = &s->hello;
	s->par.max_message = 1 << 20;
	s->par.ping_interval = 1000;
	s->par.dead_after = 10000;
	s->par.handshake_timeout = WAIT_MS;
}

static void
key(uint8_t k[NETWORK_KEY_LEN], uint8_t v)
{
	memset(k, v, NETWORK_KEY_LEN);
}

static void
setup(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	side_init(&a, 1, "a");
	side_init(&b, 2, "b");
	accepts = 0;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	lev = event_new(base, lfd, EV_READ | EV_PERSIST, on_accept, NULL);
	ck_assert_ptr_nonnull(lev);
	event_add(lev, NULL);
}

static void
teardown(void)
{
	if (a.l != NULL)
		link_close(a.l, "test over");
	if (b.l != NULL)
		link_close(b.l, "test over");
	loop_for(base, 10);
	event_free(lev);
	close(lfd);
	event_base_free(base);
}

static bool
both_ended(void *arg)
{
	(void)arg;
	return (a.ups > 0 || a.downs > 0) && (b.ups > 0 || b.downs > 0);
}

static bool
a_up(void *arg)
{
	(void)arg;
	return a.ups > 0;
}

static bool
b_ended(void *arg)
{
	(void)arg;
	return b.ups > 0 || b.downs > 0;
}

/* b dials a; true once both are up. */
static bool
dial(void)
{
	b.l = link_dial(&b.par, addr, &ops, &b);
	ck_assert_ptr_nonnull(b.l);
	ck_assert(loop_until(base, both_ended, NULL, WAIT_MS));
	return a.ups == 1 && b.ups == 1;
}

/* a has rotated to key 1 (generation 1); key 0 is in its grace. */
static void
a_rotated(int64_t grace_end_ms)
{
	key(a.id.network_key, 1);
	a.keys.gen = 1;
	a.keys.has_prev = true;
	key(a.keys.prev.key, 0);
	a.keys.prev.gen = 0;
	a.keys.prev.until_ms = grace_end_ms;
}

/* During a's grace, a peer with the old key alone is taken. */
START_TEST(test_previous_key_in_grace)
{
	a_rotated((int64_t)clock_wall_ms() + HOUR_MS);
	key(b.id.network_key, 0);
	b.par.keys = NULL;
	ck_assert(dial());
	ck_assert_uint_eq(link_psk_gen(a.l), 0);
	ck_assert(link_psk_prev(a.l));
	ck_assert_uint_eq(link_psk_gen(b.l), 0);
	ck_assert(!link_psk_prev(b.l));
}
END_TEST

/* And a peer with the new key, first among the candidates. */
START_TEST(test_current_key)
{
	a_rotated((int64_t)clock_wall_ms() + HOUR_MS);
	key(b.id.network_key, 1);
	b.keys.gen = 1;
	ck_assert(dial());
	ck_assert_uint_eq(link_psk_gen(a.l), 1);
	ck_assert(!link_psk_prev(a.l));
	ck_assert_uint_eq(link_psk_gen(b.l), 1);
	ck_assert(!link_psk_prev(b.l));
}
END_TEST

/*
 * Once the grace is over, the old key opens nothing: it is as good as
 * retired, even before the end of the grace retires it.
 */
START_TEST(test_previous_key_after_grace)
{
	a_rotated((int64_t)clock_wall_ms() - 1);
	key(b.id.network_key, 0);
	ck_assert(!dial());
	ck_assert_int_eq(b.why, LINK_END_STALE_KEY);
	ck_assert_int_eq(a.why, LINK_END_STALE_KEY);
}
END_TEST

/*
 * b rotated, a not yet: b's dial with the new key is closed on message
 * 1, and b dials again at once with the previous key, which a takes.
 * _i 1: b's grace is over, so there is no second dial.
 */
START_TEST(test_retry_previous)
{
	key(a.id.network_key, 0);
	key(b.id.network_key, 1);
	b.keys.gen = 1;
	b.keys.has_prev = true;
	key(b.keys.prev.key, 0);
	b.keys.prev.until_ms = (int64_t)clock_wall_ms() +
	    (_i == 0 ? HOUR_MS : -1);
	b.l = link_dial(&b.par, addr, &ops, &b);
	ck_assert_ptr_nonnull(b.l);
	ck_assert(loop_until(base, b_ended, NULL, WAIT_MS));
	if (_i == 1) {
		ck_assert_int_eq(b.downs, 1);
		ck_assert_int_eq(b.why, LINK_END_HANDSHAKE);
		ck_assert_int_eq(accepts, 1);
		return;
	}
	ck_assert_int_eq(b.ups, 1);
	ck_assert_int_eq(b.downs, 0);
	ck_assert_int_eq(accepts, 2);
	ck_assert_uint_eq(link_psk_gen(b.l), 0);
	ck_assert(link_psk_prev(b.l));
	ck_assert(loop_until(base, a_up, NULL, WAIT_MS));
	ck_assert_int_eq(a.ups, 1);
	ck_assert_int_eq(a.downs, 1);	/* the first, under the new key */
}
END_TEST

/*
 * a retired key 0: a peer still on it gets the notice in place of
 * message 2, and its dial fails saying what to do.  A peer on a key a
 * never had fails as before.
 */
START_TEST(test_stale_notice)
{
	char	want[256];

	key(a.id.network_key, 1);
	a.keys.gen = 1;
	a.keys.nretired = 1;
	key(a.keys.retired[0].key, 0);
	a.keys.retired[0].gen = 0;
	a.keys.retired[0].until_ms = (int64_t)clock_wall_ms() + HOUR_MS;
	key(b.id.network_key, 0);
	b.par.keys = NULL;
	ck_assert(!dial());
	ck_assert_int_eq(b.why, LINK_END_STALE_KEY);
	snprintf(want, sizeof(want), "network key changed: %s refuses our "
	    "network key (generation 0); rejoin with a new token (peerctl "
	    "join TOKEN)", addr);
	ck_assert_str_eq(b.reason, want);
	ck_assert_int_eq(a.why, LINK_END_STALE_KEY);

	a.ups = a.downs = b.ups = b.downs = 0;
	key(b.id.network_key, 9);
	ck_assert(!dial());
	ck_assert_int_eq(b.why, LINK_END_HANDSHAKE);
	ck_assert_int_eq(a.why, LINK_END_HANDSHAKE);

	/* Kept long enough, the retired key is forgotten: no notice. */
	a.ups = a.downs = b.ups = b.downs = 0;
	a.keys.retired[0].until_ms = (int64_t)clock_wall_ms() - 1;
	key(b.id.network_key, 0);
	ck_assert(!dial());
	ck_assert_int_eq(b.why, LINK_END_HANDSHAKE);
}
END_TEST

Suite *
module_suite(void)
{
	Suite	*s = suite_create("link");
	TCase	*tc = tcase_create("psk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_previous_key_in_grace);
	tcase_add_test(tc, test_current_key);
	tcase_add_test(tc, test_previous_key_after_grace);
	tcase_add_loop_test(tc, test_retry_previous, 0, 2);
	tcase_add_test(tc, test_stale_notice);
	suite_add_tcase(s, tc);
	return s;
}
