/* SPDX-License-Identifier: ISC */
/*
 * fuzz_record.c: libFuzzer target for membership records and the
 * member table.  The first byte, modulo 4, picks the mode:
 *	0	the input is a signed record, as it arrives in a "rec"
 *		message: record_open(), record_peek() and members_offer()
 *	1, 3	the input drives a member table: records of three fixed
 *		nodes at input-chosen incarnations, and claims of suspicion
 *		and death about them, in input order, checking that the
 *		table's rules hold after every step
 *	2	the input is a record's body, signed here by a fixed node
 *		(whose ID the body must name): record_open() checks every
 *		field of it, tags included, and what opens must keep the
 *		limits and sign and open again to the same record
 * Modes 1 to 3 sign real records, so they get past the signature to
 * the fields and the table's rules, which no forged input can reach.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "members.h"
#include "record.h"
#include "tagset.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	pk[4][32], sk[4][64];

static void
keys(void)
{
	static bool	done;
	uint8_t		seed[32];
	int		i;

	if (done)
		return;
	for (i = 0; i < 4; i++) {
		memset(seed, i + 1, sizeof(seed));
		crypto_sign_seed_keypair(pk[i], sk[i], seed);
	}
	done = true;
}

static void
sign(int who, uint64_t inc, bool left, struct cbor_buf *b)
{
	struct record	r;

	memset(&r, 0, sizeof(r));
	memcpy(r.id, pk[who], 32);
	strcpy(r.name, "n");
	r.incarnation = inc;
	r.left = left;
	cbor_buf_reset(b);
	record_sign(&r, sk[who], b);
}

/* Whether a record that opened keeps the limits of its tags. */
static bool
tags_hold(const struct tagset *ts)
{
	const char	*k, *v;
	size_t		 off = 0, bytes = 0;
	int		 n = 0;

	while (tagset_next(ts, &off, &k, &v)) {
		if (!tag_key_valid(k, strlen(k)) ||
		    !tag_value_valid(v, strlen(v)))
			return false;
		bytes += strlen(k) + strlen(v);
		n++;
	}
	return n == ts->n && n <= TAGS_MAX && bytes <= TAGS_BYTES;
}

/* Mode 2: body signed by node 1, opened, and round-tripped if it opens. */
static void
open_body(const uint8_t *body, size_t len)
{
	struct cbor_buf	 b = { 0 }, again = { 0 };
	struct record	 r, r2;
	const char	*why;
	uint8_t		 sig[crypto_sign_BYTES];

	crypto_sign_detached(sig, NULL, body, len, sk[1]);
	cbor_put_map(&b, 2);
	cbor_put_text(&b, "b");
	cbor_put_bytes(&b, body, len);
	cbor_put_text(&b, "s");
	cbor_put_bytes(&b, sig, sizeof(sig));
	if (b.failed || record_open(b.data, b.len, &r, &why) == -1)
		goto done;
	if (r.naddrs > RECORD_ADDRS_MAX || r.ngroups > RECORD_GROUPS_MAX ||
	    r.nservices > RECORD_SERVICES_MAX ||
	    r.ntopics > RECORD_TOPICS_MAX || !tags_hold(&r.tags))
		abort();
	record_sign(&r, sk[1], &again);
	if (again.failed || record_open(again.data, again.len, &r2,
	    &why) == -1 || !tagset_equal(&r.tags, &r2.tags) ||
	    r2.ntopics != r.ntopics || r2.nservices != r.nservices ||
	    r2.incarnation != r.incarnation)
		abort();
done:
	cbor_buf_free(&b);
	cbor_buf_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbor_buf		 b = { 0 };
	struct members		*t;
	struct member		*m;
	struct record		 r;
	const char		*why;
	uint64_t		 inc, before;
	uint8_t			 id[NODE_ID_LEN];
	int64_t			 now = 0;
	size_t			 i;
	int			 who;

	keys();
	if (size < 1)
		return 0;
	sign(0, 1000, false, &b);
	if ((t = members_new(b.data, b.len, 0)) == NULL)
		abort();
	if (data[0] % 4 == 2) {
		open_body(data + 1, size - 1);
		goto done;
	}
	if (data[0] % 2 == 0) {
		if (record_open(data + 1, size - 1, &r, &why) == 0 &&
		    (r.naddrs > RECORD_ADDRS_MAX || r.ngroups > RECORD_GROUPS_MAX))
			abort();
		/* Whatever opens, peeks the same ID and incarnation. */
		if (record_peek(data + 1, size - 1, id, &inc) == 0 ?
		    record_open(data + 1, size - 1, &r, &why) == 0 &&
		    (memcmp(id, r.id, NODE_ID_LEN) != 0 ||
		    inc != r.incarnation) :
		    record_open(data + 1, size - 1, &r, &why) == 0)
			abort();
		(void)members_offer(t, data + 1, size - 1, NULL, 0, &m, &why);
		goto done;
	}
	for (i = 1; i + 2 < size && i < 256; i += 3) {
		who = 1 + data[i] % 3;
		inc = data[i + 1];
		now += data[i + 2];
		m = members_get(t, pk[who]);
		before = m != NULL ? m->rec.incarnation : 0;
		switch (data[i] / 3 % 4) {
		case 0:
			sign(who, inc, false, &b);
			(void)members_offer(t, b.data, b.len, NULL, now, &m,
			    &why);
			break;
		case 1:
			sign(who, inc, true, &b);
			(void)members_offer(t, b.data, b.len, NULL, now, &m,
			    &why);
			break;
		case 2:
			(void)members_suspect(t, pk[who], inc, now, now + 5);
			break;
		default:
			(void)members_dead(t, pk[who], inc, now);
			break;
		}
		(void)members_tick(t, now, NULL, NULL);
		/* The rules: incarnations never go back, we stay alive. */
		m = members_get(t, pk[who]);
		if (m != NULL && m->rec.incarnation < before)
			abort();
		if (members_self(t)->state != MEMBER_ALIVE ||
		    members_self(t)->rec.incarnation != 1000)
			abort();
		if (m != NULL && m->rec.left && m->state != MEMBER_LEFT)
			abort();
	}
	(void)members_expire(t, now + 1, 1);
done:
	members_free(t);
	cbor_buf_free(&b);
	return 0;
}
