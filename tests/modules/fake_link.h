/* SPDX-License-Identifier: ISC */
/*
 * fake_link.h: links as the modules above link.c see them, with no
 * socket and no cipher.  A test makes them, says what happens to them
 * (up, a message, an end), and reads what was sent on them.
 */
#ifndef TESTS_FAKE_LINK_H
#define TESTS_FAKE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "linkmsg.h"

/* An up link to node id, named name, that we dialed or accepted. */
struct link	*fake_link_new(const uint8_t *id, const char *name,
		    bool outbound);
/* The links link_dial and link_accept made, oldest first. */
size_t		 fake_links_made(void);
struct link	*fake_link_made(size_t i);
/*
 * Frees every link made so far, as the process does when it exits:
 * for a program that makes links over and over (a fuzz target).
 */
void		 fake_links_free(void);
/* What link_dial was given: the address. */
const char	*fake_link_addr(const struct link *);

/* Sets what link_info and link_queued tell. */
void		 fake_link_rtt(struct link *, int64_t us);
void		 fake_link_queue(struct link *, size_t bytes);
/* Sets what link_quiet tells: a keep-alive ping went unanswered. */
void		 fake_link_quiet(struct link *, bool);
/* When it came up and when calls last used it (clock_ms; 0: never). */
void		 fake_link_times(struct link *, int64_t up_ms, int64_t used_ms);
/* The network key's generation the handshake used (0 at first). */
void		 fake_link_psk(struct link *, uint64_t gen, bool prev);
/* The network key generation the peer's HELLO shows ("kg"). */
void		 fake_link_kg(struct link *, uint64_t gen);
/* Sets what the peer's HELLO says of its revocations (HELLO rv). */
void		 fake_link_rv(struct link *, uint64_t count,
		    const uint8_t digest[HELLO_RV_LEN]);
/* A valid handshake message came from the peer: link_hs_heard says so. */
void		 fake_link_hs_heard(struct link *);
/* The handshake ends with node id; the owner's up() runs. */
void		 fake_link_up(struct link *, const uint8_t *id,
		    const char *name);
/* The link ends for why; the owner's down() runs. */
void		 fake_link_end(struct link *, enum link_end,
		    const char *reason);
/* A message arrives (an encoded map with "t"); the owner's message(). */
void		 fake_link_receive(struct link *, const uint8_t *, size_t);

/* Messages sent on the link so far, and message i decoded. */
size_t		 fake_link_nsent(const struct link *);
const uint8_t	*fake_link_sent(const struct link *, size_t i, size_t *len);
bool		 fake_link_sent_msg(const struct link *, size_t i,
		    struct linkmsg *);
/* How many sent messages are of type t. */
size_t		 fake_link_count(const struct link *, const char *t);
void		 fake_link_forget_sent(struct link *);
/* The ping link_ping was asked for, answered or not (-1: timed out). */
bool		 fake_link_pinged(const struct link *);
/* The timeout the last link_ping was given. */
uint64_t	 fake_link_ping_timeout(const struct link *);
void		 fake_link_pong(struct link *, int64_t rtt_us);

#endif
