/* SPDX-License-Identifier: ISC */
/*
 * fuzz_record.c: libFuzzer target for membership records and the
 * member table.  The first byte picks the mode:
 *	0	the input is a signed record, as it arrives in a "rec"
 *		message: record_open(), record_peek() and members_offer()
 *	1	the input drives a member table: records of three fixed
 *		nodes at input-chosen incarnations, and claims of suspicion
 *		and death about them, in input order, checking that the
 *		table's rules hold after every step
 * Mode 1 signs real records, so it gets past the signature to the
 * table's rules, which no forged input can reach.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "members.h"
#include "record.h"

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
		(void)members_offer(t, data + 1, size - 1, 0, &m, &why);
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
			(void)members_offer(t, b.data, b.len, now, &m, &why);
			break;
		case 1:
			sign(who, inc, true, &b);
			(void)members_offer(t, b.data, b.len, now, &m, &why);
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
