/* SPDX-License-Identifier: ISC */
/*
 * test_wire.c: sealing messages into records and putting them back
 * together, at every size boundary, and every malformed record;
 * batches of small messages and every malformed batch.
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

/* Frees the ciphers' contexts, so the next setup keys new ones. */
static void
teardown(void)
{
	noise_cipher_clear(&tx);
	noise_cipher_clear(&rx);
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

/*
 * A message sealed in parts, all but the last whole chunks, is the
 * same records as sealed at once; a part that is not whole chunks
 * cannot be followed by more.
 */
START_TEST(test_seal_in_parts)
{
	struct evbuffer		*whole = evbuffer_new(), *parts = evbuffer_new();
	struct noise_cipher	 a, b;
	size_t			 len = 3 * WIRE_CHUNK_MAX + 100;
	uint8_t			*msg;

	ck_assert_ptr_nonnull(msg = malloc(len));
	randombytes_buf(msg, len);
	memset(&a, 0, sizeof(a));
	memcpy(a.k, tx.k, sizeof(a.k));
	b = a;
	ck_assert_int_eq(wire_seal(&a, msg, len, whole), 0);
	ck_assert_int_eq(wire_seal_part(&b, msg, 2 * WIRE_CHUNK_MAX, true,
	    parts), 0);
	ck_assert_int_eq(wire_seal_part(&b, msg + 2 * WIRE_CHUNK_MAX,
	    len - 2 * WIRE_CHUNK_MAX, false, parts), 0);
	ck_assert_uint_eq(evbuffer_get_length(parts),
	    evbuffer_get_length(whole));
	ck_assert_mem_eq(evbuffer_pullup(parts, -1), evbuffer_pullup(whole,
	    -1), evbuffer_get_length(whole));
	ck_assert(a.n == b.n);

	ck_assert_int_eq(wire_seal_part(&b, msg, WIRE_CHUNK_MAX + 1, true,
	    parts), -1);
	ck_assert_int_eq(wire_seal_part(&b, msg, 0, true, parts), -1);
	noise_cipher_clear(&a);
	noise_cipher_clear(&b);
	free(msg);
	evbuffer_free(whole);
	evbuffer_free(parts);
}
END_TEST

START_TEST(test_malformed_records)
{
	static uint8_t		 full[1 + WIRE_CHUNK_MAX];
	struct wire_reasm	 r = { 0 };
	const char		*why;
	uint8_t			 pt[4] = { 0, 'a', 'b', 'c' };

	ck_assert_int_eq(feed(&r, pt, 0, 1 << 20, &why), -1);
	ck_assert_str_eq(why, "empty record");
	/* Batch records never reach reassembly: the link takes them first. */
	pt[0] = WIRE_BATCH;
	ck_assert_int_eq(feed(&r, pt, 4, 1 << 20, &why), -1);
	ck_assert_str_eq(why, "unknown record flags");
	pt[0] = 0x80;
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
	/* MORE and BATCH never combine, even on a full chunk. */
	full[0] = WIRE_BATCH | WIRE_MORE;
	ck_assert_int_eq(feed(&r, full, sizeof(full), 1 << 20, &why), -1);
	ck_assert_str_eq(why, "unknown record flags");
	ck_assert_uint_eq(r.len, 0);
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

/*
 * Takes the one record in eb and decrypts it in place.  Returns its
 * plaintext (flags byte first), valid until eb changes.
 */
static uint8_t *
open_one(struct evbuffer *eb, size_t *ptlen)
{
	uint8_t	*p;
	size_t	 len;
	ssize_t	 n;

	ck_assert_uint_ge(evbuffer_get_length(eb), WIRE_HDR);
	p = evbuffer_pullup(eb, WIRE_HDR);
	len = (size_t)p[0] << 8 | p[1];
	ck_assert_uint_eq(evbuffer_get_length(eb), WIRE_HDR + len);
	ck_assert_uint_ge(len, WIRE_RECORD_MIN);
	p = evbuffer_pullup(eb, -1);
	n = noise_decrypt(&rx, NULL, 0, p + WIRE_HDR, len, p + WIRE_HDR, len);
	ck_assert_int_gt(n, 0);
	*ptlen = (size_t)n;
	return p + WIRE_HDR;
}

static const size_t	batch_sizes[] = {
	1, 2, 100, WIRE_BATCH_MSG_MAX, 17, WIRE_BATCH_MSG_MAX - 1, 1,
};
#define NBATCH	(sizeof(batch_sizes) / sizeof(batch_sizes[0]))

START_TEST(test_batch_round_trip)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		*buf, *msgs[NBATCH], *pt;
	const uint8_t	*p, *msg;
	const char	*why = NULL;
	size_t		 len = 0, want = 0, left, ptlen, mlen, i;

	ck_assert_ptr_nonnull(buf = malloc(WIRE_CHUNK_MAX));
	for (i = 0; i < NBATCH; i++) {
		ck_assert_ptr_nonnull(msgs[i] = malloc(batch_sizes[i]));
		randombytes_buf(msgs[i], batch_sizes[i]);
		ck_assert_int_eq(wire_batch_add(buf, &len, msgs[i],
		    batch_sizes[i], WIRE_BATCH_MSG_MAX), 0);
		want += 2 + batch_sizes[i];
		ck_assert_uint_eq(len, want);
	}
	ck_assert_int_eq(wire_seal_batch(&tx, buf, len, eb), 0);
	/* One record: one encryption for all of them. */
	ck_assert_uint_eq(evbuffer_get_length(eb),
	    WIRE_HDR + 1 + len + NOISE_TAG_LEN);
	pt = open_one(eb, &ptlen);
	ck_assert_uint_eq(ptlen, 1 + len);
	ck_assert_int_eq(pt[0], WIRE_BATCH);

	p = pt + 1;
	left = ptlen - 1;
	for (i = 0; i < NBATCH; i++) {
		ck_assert_int_eq(wire_batch_next(&p, &left, &msg, &mlen,
		    WIRE_BATCH_MSG_MAX, &why), 1);
		ck_assert_uint_eq(mlen, batch_sizes[i]);
		ck_assert_mem_eq(msg, msgs[i], mlen);
	}
	ck_assert_uint_eq(left, 0);
	ck_assert_int_eq(wire_batch_next(&p, &left, &msg, &mlen,
	    WIRE_BATCH_MSG_MAX, &why), 0);
	ck_assert_ptr_null(why);

	for (i = 0; i < NBATCH; i++)
		free(msgs[i]);
	free(buf);
	evbuffer_free(eb);
}
END_TEST

START_TEST(test_batch_add_limits)
{
	struct evbuffer	*eb = evbuffer_new();
	static uint8_t	 msg[WIRE_BATCH_MSG_MAX + 1];
	uint8_t		*buf, *pt;
	const uint8_t	*p, *m;
	const char	*why;
	size_t		 len = 0, room, ptlen, left, mlen;
	int		 n = 0;

	ck_assert_ptr_nonnull(buf = malloc(WIRE_CHUNK_MAX));
	memset(msg, 'm', sizeof(msg));
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, 0, WIRE_BATCH_MSG_MAX),
	    -1);
	ck_assert_int_eq(wire_batch_add(buf, &len, msg,
	    WIRE_BATCH_MSG_MAX + 1, WIRE_BATCH_MSG_MAX), -1);
	ck_assert_uint_eq(len, 0);

	/* Fill with the largest messages until one no longer fits. */
	while (wire_batch_add(buf, &len, msg, WIRE_BATCH_MSG_MAX,
	    WIRE_BATCH_MSG_MAX) == 0)
		n++;
	ck_assert_int_eq(n, WIRE_CHUNK_MAX / (2 + WIRE_BATCH_MSG_MAX));
	ck_assert_uint_eq(len, (size_t)n * (2 + WIRE_BATCH_MSG_MAX));
	room = WIRE_CHUNK_MAX - len;
	ck_assert_uint_lt(room, 2 + WIRE_BATCH_MSG_MAX);
	ck_assert_uint_gt(room, 2);

	/* One byte too many is refused and leaves the batch as it was. */
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, room - 1,
	    WIRE_BATCH_MSG_MAX), -1);
	ck_assert_uint_eq(len, WIRE_CHUNK_MAX - room);
	/* Exactly the room left fills the buffer; then nothing fits. */
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, room - 2,
	    WIRE_BATCH_MSG_MAX), 0);
	ck_assert_uint_eq(len, WIRE_CHUNK_MAX);
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, 1, WIRE_BATCH_MSG_MAX),
	    -1);
	ck_assert_uint_eq(len, WIRE_CHUNK_MAX);

	/* A full batch is the largest record there is. */
	ck_assert_int_eq(wire_seal_batch(&tx, buf, len, eb), 0);
	pt = open_one(eb, &ptlen);
	ck_assert_uint_eq(ptlen, 1 + WIRE_CHUNK_MAX);
	p = pt + 1;
	left = ptlen - 1;
	while (n-- > 0) {
		ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
		    WIRE_BATCH_MSG_MAX, &why), 1);
		ck_assert_uint_eq(mlen, WIRE_BATCH_MSG_MAX);
	}
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_MSG_MAX, &why), 1);
	ck_assert_uint_eq(mlen, room - 2);
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_MSG_MAX, &why), 0);

	free(buf);
	evbuffer_free(eb);
}
END_TEST

/* Walks a whole batch body; the result of the call that ends it. */
static int
walk(const uint8_t *b, size_t len, int *msgs, const char **why)
{
	const uint8_t	*msg;
	size_t		 mlen;
	int		 r;

	*msgs = 0;
	*why = "";
	while ((r = wire_batch_next(&b, &len, &msg, &mlen,
	    WIRE_BATCH_MSG_MAX, why)) == 1)
		(*msgs)++;
	return r;
}

/* To a peer that says "wide-batch", messages of up to 16 KiB share records. */
START_TEST(test_batch_wide)
{
	struct evbuffer	*eb = evbuffer_new();
	static uint8_t	 msg[WIRE_BATCH_WIDE_MAX + 1];
	uint8_t		*buf, *pt;
	const uint8_t	*p, *m;
	const char	*why = NULL;
	size_t		 len = 0, ptlen, left, mlen;

	ck_assert_ptr_nonnull(buf = malloc(WIRE_CHUNK_MAX));
	randombytes_buf(msg, sizeof(msg));
	/* Never past the wide limit, whatever the caller allows. */
	ck_assert_int_eq(wire_batch_add(buf, &len, msg,
	    WIRE_BATCH_WIDE_MAX + 1, WIRE_BATCH_WIDE_MAX + 1), -1);
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, 4096,
	    WIRE_BATCH_MSG_MAX), -1);
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, 4096,
	    WIRE_BATCH_WIDE_MAX), 0);
	ck_assert_int_eq(wire_batch_add(buf, &len, msg, WIRE_BATCH_WIDE_MAX,
	    WIRE_BATCH_WIDE_MAX), 0);
	ck_assert_int_eq(wire_seal_batch(&tx, buf, len, eb), 0);
	ck_assert_uint_eq(evbuffer_get_length(eb),
	    WIRE_HDR + 1 + len + NOISE_TAG_LEN);
	pt = evbuffer_pullup(eb, -1) + WIRE_HDR;
	ptlen = (size_t)noise_decrypt(&rx, NULL, 0, pt, len + 1 +
	    NOISE_TAG_LEN, pt, len + 1 + NOISE_TAG_LEN);
	ck_assert_uint_eq(ptlen, len + 1);
	ck_assert_int_eq(pt[0], WIRE_BATCH);
	/* A receiver that takes only narrow batches refuses the first. */
	p = pt + 1;
	left = ptlen - 1;
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_MSG_MAX, &why), -1);
	/* One that takes wide ones gets both, byte for byte. */
	p = pt + 1;
	left = ptlen - 1;
	why = NULL;
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_WIDE_MAX, &why), 1);
	ck_assert_uint_eq(mlen, 4096);
	ck_assert_mem_eq(m, msg, mlen);
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_WIDE_MAX, &why), 1);
	ck_assert_uint_eq(mlen, WIRE_BATCH_WIDE_MAX);
	ck_assert_mem_eq(m, msg, mlen);
	ck_assert_int_eq(wire_batch_next(&p, &left, &m, &mlen,
	    WIRE_BATCH_WIDE_MAX, &why), 0);
	free(buf);
	evbuffer_free(eb);
}
END_TEST

START_TEST(test_batch_next_malformed)
{
	static uint8_t	 big[2 + WIRE_BATCH_MSG_MAX + 1];
	const uint8_t	*p, *msg;
	const char	*why;
	size_t		 left, mlen;
	int		 msgs;
	const uint8_t	 zero[] = { 0, 0, 'a' };
	const uint8_t	 past[] = { 0, 4, 'a', 'b', 'c' };
	const uint8_t	 lone[] = { 0, 1, 'a', 0 };
	const uint8_t	 two[] = { 0, 1, 'a', 0, 2, 'b', 'c' };

	/* The end of the batch is not an error. */
	ck_assert_int_eq(walk(two, 0, &msgs, &why), 0);
	ck_assert_int_eq(walk(two, sizeof(two), &msgs, &why), 0);
	ck_assert_int_eq(msgs, 2);

	ck_assert_int_eq(walk(zero, sizeof(zero), &msgs, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
	ck_assert_int_eq(msgs, 0);
	ck_assert_int_eq(walk(past, sizeof(past), &msgs, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
	/*
	 * A lone byte where a length should start, alone or after a
	 * message.  The byte after it, outside the batch, is not read.
	 */
	p = two;
	left = 1;
	ck_assert_int_eq(wire_batch_next(&p, &left, &msg, &mlen,
	    WIRE_BATCH_MSG_MAX, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
	ck_assert_int_eq(walk(lone, sizeof(lone), &msgs, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
	ck_assert_int_eq(msgs, 1);
	/* A length cut by the end of the batch after a good message. */
	ck_assert_int_eq(walk(two, sizeof(two) - 1, &msgs, &why), -1);
	ck_assert_int_eq(msgs, 1);

	/* Over WIRE_BATCH_MSG_MAX, though the bytes are there. */
	memset(big, 'x', sizeof(big));
	big[0] = (WIRE_BATCH_MSG_MAX + 1) >> 8;
	big[1] = (WIRE_BATCH_MSG_MAX + 1) & 0xff;
	ck_assert_int_eq(walk(big, sizeof(big), &msgs, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
	/* Exactly WIRE_BATCH_MSG_MAX is fine. */
	big[0] = WIRE_BATCH_MSG_MAX >> 8;
	big[1] = WIRE_BATCH_MSG_MAX & 0xff;
	ck_assert_int_eq(walk(big, sizeof(big) - 1, &msgs, &why), 0);
	ck_assert_int_eq(msgs, 1);
	/* The largest length the field can hold. */
	big[0] = big[1] = 0xff;
	ck_assert_int_eq(walk(big, sizeof(big), &msgs, &why), -1);
	ck_assert_str_eq(why, "malformed batch");
}
END_TEST

START_TEST(test_batch_exhausted_cipher)
{
	struct evbuffer	*eb = evbuffer_new();
	uint8_t		 batch[3] = { 0, 1, 'a' };

	tx.n = UINT64_MAX;
	ck_assert_int_eq(wire_seal_batch(&tx, batch, sizeof(batch), eb), -1);
	evbuffer_free(eb);
}
END_TEST

Suite *
wire_suite(void)
{
	Suite	*s = suite_create("wire");
	TCase	*tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_round_trip_sizes, 0,
	    sizeof(sizes) / sizeof(sizes[0]));
	tcase_add_test(tc, test_many_messages_in_a_row);
	tcase_add_test(tc, test_seal_in_parts);
	tcase_add_test(tc, test_malformed_records);
	tcase_add_test(tc, test_single_record_is_not_copied);
	tcase_add_test(tc, test_exhausted_cipher);
	tcase_add_test(tc, test_batch_round_trip);
	tcase_add_test(tc, test_batch_add_limits);
	tcase_add_test(tc, test_batch_wide);
	tcase_add_test(tc, test_batch_next_malformed);
	tcase_add_test(tc, test_batch_exhausted_cipher);
	suite_add_tcase(s, tc);
	return s;
}
