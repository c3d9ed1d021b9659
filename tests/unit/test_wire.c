/* SPDX-License-Identifier: ISC */
/*
 * test_wire.c: sealing messages into records and putting them back
 * together, at every size boundary, and every malformed record.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "suites.h"
#include "wire.h"

static struct noise_cipher	tx, rx;

static void
setup(void)
{
	randombytes_buf(tx.k, sizeof(tx.k));
	memcpy(rx.k, tx.k, sizeof(rx.k));
	tx.n = rx.n = 0;
}

/*
 * Reads every record in eb as the link does: decrypt in place, then
 * reassemble.  Returns the number of messages completed; the last one
 * is copied to *out.
 */
static int
open_all(struct evbuffer *eb, size_t max, uint8_t **out, size_t *outlen,
    int *records)
{
	struct wire_reasm	 r = { 0 };
	const uint8_t		*msg;
	const char		*why;
	uint8_t			*p;
	size_t			 len, mlen;
	ssize_t			 n;
	int			 done = 0, rc;

	*records = 0;
	while (evbuffer_get_length(eb) >= WIRE_HDR) {
		p = evbuffer_pullup(eb, WIRE_HDR);
		len = (size_t)p[0] << 8 | p[1];
		ck_assert_uint_ge(evbuffer_get_length(eb), WIRE_HDR + len);
		ck_assert_uint_ge(len, WIRE_RECORD_MIN);
		p = evbuffer_pullup(eb, (ssize_t)(WIRE_HDR + len));
		n = noise_decrypt(&rx, NULL, 0, p + WIRE_HDR, len,
		    p + WIRE_HDR, len);
		ck_assert_int_gt(n, 0);
		rc = wire_reasm_add(&r, p + WIRE_HDR, (size_t)n, max, &msg,
		    &mlen, &why);
		ck_assert_msg(rc != -1, "reassembly failed: %s", why);
		if (rc == 1) {
			free(*out);
			ck_assert_ptr_nonnull(*out = malloc(mlen ? mlen : 1));
			memcpy(*out, msg, mlen);
			*outlen = mlen;
			done++;
		}
		evbuffer_drain(eb, WIRE_HDR + len);
		(*records)++;
	}
	wire_reasm_free(&r);
	return done;
}

static const size_t	sizes[] = {
	0, 1, 100, WIRE_CHUNK_MAX - 1, WIRE_CHUNK_MAX, WIRE_CHUNK_MAX + 1,
	2 * WIRE_CHUNK_MAX, 2 * WIRE_CHUNK_MAX + 7, 1 << 20,
};

START_TEST(test_round_trip_sizes)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		*msg, *out = NULL;
	size_t		 size = sizes[_i], outlen = 0;
	int		 records;

	ck_assert_ptr_nonnull(msg = malloc(size + 1));
	randombytes_buf(msg, size);
	ck_assert_int_eq(wire_seal(&tx, msg, size, eb), 0);
	ck_assert_int_eq(open_all(eb, 16u << 20, &out, &outlen, &records), 1);
	ck_assert_uint_eq(outlen, size);
	ck_assert(size == 0 || memcmp(out, msg, size) == 0);
	/* As few records as the chunk size allows, never an empty tail. */
	ck_assert_int_eq(records, size == 0 ? 1 :
	    (int)((size + WIRE_CHUNK_MAX - 1) / WIRE_CHUNK_MAX));
	free(msg);
	free(out);
	evbuffer_free(eb);
}
END_TEST

START_TEST(test_many_messages_in_a_row)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		 msg[300], *out = NULL;
	size_t		 outlen = 0;
	int		 i, records;

	for (i = 0; i < 50; i++) {
		memset(msg, i, sizeof(msg));
		ck_assert_int_eq(wire_seal(&tx, msg, (size_t)i * 6, eb), 0);
	}
	ck_assert_int_eq(open_all(eb, 1 << 20, &out, &outlen, &records), 50);
	ck_assert_uint_eq(outlen, 49 * 6);
	ck_assert_int_eq(out[0], 49);
	free(out);
	evbuffer_free(eb);
}
END_TEST

/* Feeds one plaintext record; returns wire_reasm_add's result. */
static int
feed(struct wire_reasm *r, const uint8_t *pt, size_t len, size_t max,
    const char **why)
{
	const uint8_t	*msg;
	size_t		 mlen;

	*why = "";
	return wire_reasm_add(r, pt, len, max, &msg, &mlen, why);
}

START_TEST(test_malformed_records)
{
	static uint8_t		 full[1 + WIRE_CHUNK_MAX];
	struct wire_reasm	 r = { 0 };
	const char		*why;
	uint8_t			 pt[4] = { 0, 'a', 'b', 'c' };

	ck_assert_int_eq(feed(&r, pt, 0, 1 << 20, &why), -1);
	ck_assert_str_eq(why, "empty record");
	pt[0] = 0x02;
	ck_assert_int_eq(feed(&r, pt, 4, 1 << 20, &why), -1);
	ck_assert_str_eq(why, "unknown record flags");
	pt[0] = WIRE_MORE;
	ck_assert_int_eq(feed(&r, pt, 4, 1 << 20, &why), -1);
	ck_assert_str_eq(why, "short fragment");
	/* A whole message larger than max. */
	pt[0] = 0;
	ck_assert_int_eq(feed(&r, pt, 4, 2, &why), -1);
	ck_assert_str_eq(why, "message exceeds max_message");
	ck_assert_int_eq(feed(&r, pt, 4, 3, &why), 1);	/* exactly max */

	/* Fragments: over the limit as soon as the total must pass it. */
	memset(full, 'x', sizeof(full));
	full[0] = WIRE_MORE;
	ck_assert_int_eq(feed(&r, full, sizeof(full), 2 * WIRE_CHUNK_MAX,
	    &why), 0);
	ck_assert_int_eq(feed(&r, full, sizeof(full), 2 * WIRE_CHUNK_MAX,
	    &why), -1);
	ck_assert_str_eq(why, "message exceeds max_message");
	wire_reasm_free(&r);

	/* The same two chunks, the second final, fit exactly. */
	ck_assert_int_eq(feed(&r, full, sizeof(full), 2 * WIRE_CHUNK_MAX,
	    &why), 0);
	full[0] = 0;
	ck_assert_int_eq(feed(&r, full, sizeof(full), 2 * WIRE_CHUNK_MAX,
	    &why), 1);
	wire_reasm_free(&r);
}
END_TEST

START_TEST(test_single_record_is_not_copied)
{
	struct wire_reasm	 r = { 0 };
	const uint8_t		*msg;
	const char		*why;
	size_t			 mlen;
	uint8_t			 pt[5] = { 0, 1, 2, 3, 4 };

	ck_assert_int_eq(wire_reasm_add(&r, pt, sizeof(pt), 100, &msg, &mlen,
	    &why), 1);
	ck_assert_ptr_eq(msg, pt + 1);
	ck_assert_uint_eq(mlen, 4);
	ck_assert_ptr_null(r.buf);
}
END_TEST

START_TEST(test_exhausted_cipher)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		 msg[4] = { 0 };

	tx.n = UINT64_MAX;	/* the last nonce is reserved */
	ck_assert_int_eq(wire_seal(&tx, msg, sizeof(msg), eb), -1);
	evbuffer_free(eb);
}
END_TEST

Suite *
wire_suite(void)
{
	Suite	*s = suite_create("wire");
	TCase	*tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_round_trip_sizes, 0,
	    sizeof(sizes) / sizeof(sizes[0]));
	tcase_add_test(tc, test_many_messages_in_a_row);
	tcase_add_test(tc, test_malformed_records);
	tcase_add_test(tc, test_single_record_is_not_copied);
	tcase_add_test(tc, test_exhausted_cipher);
	suite_add_tcase(s, tc);
	return s;
}
