/* SPDX-License-Identifier: ISC */
/*
 * reqnum.h: numbers for requests this node sends and matches answers
 * to (calls, key-value requests).  A number is SipHash-2-4 of a counter
 * under a key drawn at start-up: nobody without the key can predict the
 * next number from those it has seen, so nobody but this node can forge
 * an answer to a request still open, and answers meant for an earlier
 * run of the daemon match nothing.  Never 0, which stays "no answer
 * wanted".
 */
#ifndef PEERD_REQNUM_H
#define PEERD_REQNUM_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

struct reqnum {
	uint8_t		key[crypto_shorthash_KEYBYTES];
	uint64_t	next;		/* the counter hashed next */
};

/* Draws a new key and counter start. */
void		reqnum_init(struct reqnum *);
/*
 * The next number that is not 0 and for which in_use(arg, number) is
 * false (a request still open has it).
 */
uint64_t	reqnum_next(struct reqnum *,
		    bool (*in_use)(void *, uint64_t), void *arg);

#endif
