/* SPDX-License-Identifier: ISC */
/*
 * rogue.h: a member that knows the network key and speaks the link
 * protocol from the daemon's own code, for tests that try what a
 * broken or hostile peer might.  Every function fails the running test
 * (ck_assert) on an error it does not report.
 */
#ifndef PEERD_TEST_ROGUE_H
#define PEERD_TEST_ROGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "callmsg.h"
#include "cbor_buf.h"
#include "linkmsg.h"
#include "noise.h"
#include "record.h"
#include "wire.h"

#define ROGUE_FORGED_HELLO	0x01	/* HELLO names another node */

struct rogue {
	int			fd;
	struct noise_cipher	tx, rx;
	uint8_t			pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t			sk[crypto_sign_SECRETKEYBYTES];
	/* Messages being read: a record's plaintext, the rest of a batch. */
	uint8_t			pt[NOISE_MAX_MSG_LEN];
	const uint8_t		*batch;
	size_t			batchleft;
	struct wire_reasm	reasm;
};

/*
 * Connects to the daemon listening on 127.0.0.1:port and runs the
 * handshake under netkey as the node of sk (NULL: a new identity).
 */
void	rogue_connect(struct rogue *, int port, const uint8_t netkey[32],
	    const uint8_t *sk, int flags);
/* Closes the connection and clears the ciphers. */
void	rogue_close(struct rogue *);

/* Sends len bytes as they are. */
void	rogue_send_raw(struct rogue *, const void *, size_t);
/* Encrypts one record's plaintext (flags and chunk) and sends it. */
void	rogue_send_plain_record(struct rogue *, const uint8_t *pt, size_t);
/* The sealed records of msg (malloc'd), to send, alter or replay. */
uint8_t	*rogue_seal(struct rogue *, const uint8_t *msg, size_t len,
	    size_t *outlen);
/* Seals and sends one link message. */
void	rogue_send_msg(struct rogue *, const struct cbor_buf *);
/* Seals and sends one link message of len encoded bytes, as they are. */
void	rogue_send_bytes(struct rogue *, const uint8_t *, size_t);
/* Sends an encoded call message (call, ans, can, ev, kv). */
void	rogue_callmsg(struct rogue *, const struct callmsg *);
/* Sends the record rec signed with sk (NULL: the rogue's own). */
void	rogue_record(struct rogue *, const struct record *,
	    const uint8_t *sk);
/* The same, with hops left for the daemon to flood it on. */
void	rogue_record_hops(struct rogue *, const struct record *,
	    const uint8_t *sk, uint64_t hops);

/*
 * Reads one record within ms and checks it decrypts: its length on the
 * wire, or -1 on a timeout or the end of the connection.
 */
int	rogue_read_record(struct rogue *, int ms);
/*
 * The next message of type within ms, answering pings and skipping
 * other messages: true with *m filled (its fields point into the
 * rogue until the next read), false on a timeout or the end.
 */
bool	rogue_recv_msg(struct rogue *, const char *type, int ms,
	    struct linkmsg *m);
/*
 * The next message of any type within ms, a ping answered already:
 * true with *m filled and the message's bytes in *msg, *len, valid
 * until the next read; false on a timeout or the end.
 */
bool	rogue_next_msg(struct rogue *, int ms, struct linkmsg *m,
	    const uint8_t **msg, size_t *len);
/* Whether a message already read waits, which polling fd would not tell. */
bool	rogue_pending(const struct rogue *);
/* As rogue_recv_msg, decoded as a call message. */
bool	rogue_recv_callmsg(struct rogue *, const char *type, int ms,
	    struct callmsg *);
/* True once the daemon has closed the connection within ms. */
bool	rogue_closed_within(struct rogue *, int ms);

#endif
