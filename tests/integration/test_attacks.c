/* SPDX-License-Identifier: ISC */
/*
 * test_attacks.c: a rogue member (rogue.c) that knows the network key
 * and speaks the link protocol, sending what a broken or hostile peer might:
 * tampered, replayed and undersized records, oversized messages, a
 * HELLO for someone else's identity, a handshake left half-done.  Each
 * must close that connection only, while a real link stays up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "harness.h"
#include "base32.h"
#include "noise.h"
#include "record.h"
#include "rogue.h"
#include "suites.h"
#include "wire.h"

#define PROLOGUE	"peerd/1"

static struct daemon	a, b;
static uint8_t		netkey[32];

static bool
b_linked(void *arg)
{
	json_t	*j, *e;
	size_t	 i;
	int	 status;
	bool	 up = false;

	if ((j = peerctl_json(arg, &status, "peers", NULL)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "peers"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    "b") == 0 && strcmp(json_string_value(json_object_get(e,
		    "state")), "up") == 0)
			up = true;
	json_decref(j);
	return up;
}

/* a and b linked; limits small enough to reach from a test. */
static void
setup(void)
{
	char	conf[256];

	randombytes_buf(netkey, sizeof(netkey));
	daemon_init(&a);
	daemon_init(&b);
	daemon_set_network_key(&a, netkey);
	daemon_set_network_key(&b, netkey);
	daemon_config(&a, "ping_interval = 100ms\ndead_after = 1s\n"
	    "handshake_timeout = 1s\nmax_message = 256K\n");
	daemon_start(&a, "a", NULL);
	snprintf(conf, sizeof(conf), "ping_interval = 100ms\ndead_after = 1s\n"
	    "bootstrap = 127.0.0.1:%d\n", daemon_port(&a));
	daemon_config(&b, conf);
	daemon_start(&b, "b", NULL);
	ck_assert_msg(wait_until(b_linked, &a, 3000), "a and b never linked");
}

static void
teardown(void)
{
	daemon_free(&a);
	daemon_free(&b);
}

/* Connects to a as a new node. */
static void
connect_a(struct rogue *r, int flags)
{
	rogue_connect(r, daemon_port(&a), netkey, NULL, flags);
}

/* A ping message, as the daemon expects it. */
static size_t
ping_msg(uint8_t *buf, size_t cap, uint64_t seq)
{
	struct cbor_buf	cb = { 0 };
	size_t		len;

	cbor_put_map(&cb, 2);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "ping");
	cbor_put_text(&cb, "n");
	cbor_put_uint(&cb, seq);
	ck_assert_uint_le(cb.len, cap);
	memcpy(buf, cb.data, cb.len);
	len = cb.len;
	cbor_buf_free(&cb);
	return len;
}

static void
assert_b_still_linked(void)
{
	char	out[1024], err[1024];

	ck_assert(b_linked(&a));
	ck_assert_int_eq(peerctl_run(&a, out, sizeof(out), err, sizeof(err),
	    "ping", "b", "--count", "1", NULL), 0);
}

/* a closes the rogue's connection, logging why; the rogue is closed here. */
static void
expect_refused(struct rogue *r, const char *what, const char *logged)
{
	ck_assert_msg(rogue_closed_within(r, 2000), "%s accepted", what);
	ck_assert_msg(daemon_log_wait(&a, logged, 1000), "%s: a never "
	    "logged \"%s\"", what, logged);
	rogue_close(r);
}

START_TEST(test_rogue_handshake_works)
{
	struct rogue	r;
	uint8_t		msg[64];
	uint8_t		*rec;
	size_t		len;

	/* The rogue is a valid node: the attacks below are not refused early. */
	connect_a(&r, 0);
	rec = rogue_seal(&r, msg, ping_msg(msg, sizeof(msg), 1), &len);
	rogue_send_raw(&r, rec, len);
	ck_assert_int_gt(rogue_read_record(&r, 3000), 0);	/* a pong, or a's own keep-alive ping */
	free(rec);
	rogue_close(&r);
	assert_b_still_linked();
}
END_TEST

START_TEST(test_tampered_record)
{
	struct rogue	r;
	uint8_t		msg[64], *rec;
	size_t		len;

	connect_a(&r, 0);
	rec = rogue_seal(&r, msg, ping_msg(msg, sizeof(msg), 1), &len);
	rec[len - 1] ^= 0x40;		/* inside the tag */
	rogue_send_raw(&r, rec, len);
	free(rec);
	expect_refused(&r, "tampered record",
	    "record fails authentication");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_replayed_record)
{
	struct rogue	r;
	uint8_t		msg[64], *rec;
	size_t		len;

	connect_a(&r, 0);
	rec = rogue_seal(&r, msg, ping_msg(msg, sizeof(msg), 1), &len);
	rogue_send_raw(&r, rec, len);
	rogue_send_raw(&r, rec, len);	/* same nonce again */
	free(rec);
	expect_refused(&r, "replayed record",
	    "record fails authentication");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_fragment_flood)
{
	struct rogue	r;
	uint8_t		pt[2] = { WIRE_MORE, 'x' };

	connect_a(&r, 0);
	/* A tiny chunk that claims more follow: refused at once. */
	rogue_send_plain_record(&r, pt, sizeof(pt));
	rogue_send_plain_record(&r, pt, sizeof(pt));
	expect_refused(&r, "short fragments", "short fragment");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_message_over_limit)
{
	static uint8_t	pt[1 + WIRE_CHUNK_MAX];
	struct rogue	r;
	int		i;

	connect_a(&r, 0);
	/*
	 * a's max_message is 256 KiB, and a link message may be 64 KiB
	 * more (a call's own keys): the sixth full chunk passes that.
	 */
	memset(pt, 0xa5, sizeof(pt));
	pt[0] = WIRE_MORE;
	for (i = 0; i < 6; i++)
		rogue_send_plain_record(&r, pt, sizeof(pt));
	expect_refused(&r, "oversized message",
	    "message exceeds max_message");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_short_record_and_bad_message)
{
	struct rogue	r;
	uint8_t		junk[3] = { 0x00, 0x01, 0xff };
	uint8_t		notmap[2] = { 0x00, 0x05 };	/* flags, CBOR 5 */

	connect_a(&r, 0);
	rogue_send_raw(&r, junk, sizeof(junk));	/* a 1-byte record */
	expect_refused(&r, "1-byte record", "record of 1 bytes");

	connect_a(&r, 0);
	rogue_send_plain_record(&r, notmap, sizeof(notmap));
	expect_refused(&r, "non-map message", "malformed message");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_hello_for_another_identity)
{
	struct rogue	r;

	connect_a(&r, ROGUE_FORGED_HELLO);
	expect_refused(&r, "forged HELLO", "HELLO id does not match");
	assert_b_still_linked();
}
END_TEST

START_TEST(test_half_finished_handshake)
{
	static uint8_t		 buf[NOISE_MAX_MSG_LEN];
	struct noise_hs		*hs;
	struct rogue		 r;
	uint8_t			 x_sk[32], hdr[2];
	ssize_t			 n;
	long			 t0, dt;

	randombytes_buf(x_sk, sizeof(x_sk));
	memset(&r, 0, sizeof(r));
	r.fd = tcp_connect(daemon_port(&a));
	ck_assert_ptr_nonnull(hs = noise_hs_new(NOISE_XXPSK0, true, PROLOGUE,
	    strlen(PROLOGUE), x_sk, netkey, NULL));
	ck_assert_int_gt(n = noise_hs_write(hs, NULL, 0, buf, sizeof(buf)), 0);
	hdr[0] = (uint8_t)(n >> 8);
	hdr[1] = (uint8_t)n;
	rogue_send_raw(&r, hdr, 2);
	rogue_send_raw(&r, buf, (size_t)n);
	t0 = test_now_ms();
	/* Message 2 comes, then nothing: a closes at handshake_timeout. */
	ck_assert_msg(rogue_closed_within(&r, 3000), "half-open handshake kept");
	dt = test_now_ms() - t0;
	ck_assert_msg(dt >= 800, "closed after %ld ms, before the 1 s timeout",
	    dt);
	ck_assert(daemon_log_has(&a, "handshake not finished within 1000 ms"));
	noise_hs_free(hs);
	rogue_close(&r);
	assert_b_still_linked();
}
END_TEST

/* a's view of its own incarnation. */
static json_int_t
a_incarnation(void)
{
	json_int_t	 inc = 0;
	char		*s = member_state(&a, "a", &inc);

	free(s);
	return inc;
}

/*
 * Counts the records of more than 150 bytes (not pings) that arrive
 * within ms, decrypting each.
 */
static int
big_records(struct rogue *r, int ms)
{
	long	deadline = test_now_ms() + ms;
	int	len, n = 0;

	while (test_now_ms() < deadline &&
	    (len = rogue_read_record(r, (int)(deadline - test_now_ms()))) != -1)
		if (len > 150)
			n++;
	return n;
}

START_TEST(test_want_flood)
{
	struct cbor_buf	 cb = { 0 };
	struct record	 rec;
	struct rogue	 r;
	uint8_t		*ids;
	int		 i;

	connect_a(&r, 0);
	/* A valid record of the rogue, then a want naming it 4096 times. */
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, r.pk, sizeof(rec.id));
	snprintf(rec.name, sizeof(rec.name), "rogue");
	rec.incarnation = 1;
	cbor_put_map(&cb, 3);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "rec");
	cbor_put_text(&cb, "r");
	{
		struct cbor_buf	signed_rec = { 0 };

		record_sign(&rec, r.sk, &signed_rec);
		cbor_put_bytes(&cb, signed_rec.data, signed_rec.len);
		cbor_buf_free(&signed_rec);
	}
	cbor_put_text(&cb, "h");
	cbor_put_uint(&cb, 0);
	rogue_send_msg(&r, &cb);
	ck_assert_ptr_nonnull(ids = malloc(4096 * 32));
	for (i = 0; i < 4096; i++)
		memcpy(ids + i * 32, r.pk, 32);
	cbor_buf_reset(&cb);
	cbor_put_map(&cb, 2);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "want");
	cbor_put_text(&cb, "ids");
	cbor_put_bytes(&cb, ids, 4096 * 32);
	rogue_send_msg(&r, &cb);
	free(ids);
	cbor_buf_free(&cb);
	/* a answers once, not 4096 times, and is none the worse. */
	/* Digests may come too; the old code sent 4096 records. */
	ck_assert_int_le(big_records(&r, 1000), 5);
	rogue_close(&r);
	assert_b_still_linked();
}
END_TEST

START_TEST(test_forged_claims_ignored)
{
	struct cbor_buf	 cb = { 0 };
	struct rogue	 r;
	json_int_t	 before;
	uint8_t		 id_a[32];
	char		 ida[64];

	before = a_incarnation();
	daemon_id(&a, ida);
	ck_assert(base32_decode(ida, id_a, sizeof(id_a)));
	connect_a(&r, 0);
	/* Claims at incarnations a never signed, up to the largest. */
	cbor_put_map(&cb, 4);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "sus");
	cbor_put_text(&cb, "id");
	cbor_put_bytes(&cb, id_a, 32);
	cbor_put_text(&cb, "inc");
	cbor_put_uint(&cb, UINT64_MAX - 1);
	cbor_put_text(&cb, "h");
	cbor_put_uint(&cb, 0);
	rogue_send_msg(&r, &cb);
	cbor_buf_reset(&cb);
	cbor_put_map(&cb, 4);
	cbor_put_text(&cb, "t");
	cbor_put_text(&cb, "dead");
	cbor_put_text(&cb, "id");
	cbor_put_bytes(&cb, id_a, 32);
	cbor_put_text(&cb, "inc");
	cbor_put_uint(&cb, UINT64_MAX);
	cbor_put_text(&cb, "h");
	cbor_put_uint(&cb, 0);
	rogue_send_msg(&r, &cb);
	cbor_buf_free(&cb);
	/* a did not take them for real: no refutation, no wrap-around. */
	assert_b_still_linked();
	ck_assert(a_incarnation() == before);
	ck_assert(!daemon_log_has(&a, "refuting"));
	rogue_close(&r);
}
END_TEST

Suite *
attacks_suite(void)
{
	Suite	*s = suite_create("attacks");
	TCase	*tc = tcase_create("attacks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_rogue_handshake_works);
	tcase_add_test(tc, test_tampered_record);
	tcase_add_test(tc, test_replayed_record);
	tcase_add_test(tc, test_fragment_flood);
	tcase_add_test(tc, test_message_over_limit);
	tcase_add_test(tc, test_short_record_and_bad_message);
	tcase_add_test(tc, test_hello_for_another_identity);
	tcase_add_test(tc, test_half_finished_handshake);
	tcase_add_test(tc, test_want_flood);
	tcase_add_test(tc, test_forged_claims_ignored);
	suite_add_tcase(s, tc);
	return s;
}
