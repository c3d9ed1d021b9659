/* SPDX-License-Identifier: ISC */
/*
 * fake_peerd.h: a fake daemon for libpeer's unit tests: a thread that
 * listens on a private socket and speaks the control protocol from a
 * script, checking each frame it gets.  Also pump(), which drives a
 * libpeer client against it until a condition holds.
 */
#ifndef TESTS_FAKE_PEERD_H
#define TESTS_FAKE_PEERD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cbor_buf.h"
#include "peer.h"
#include "proto.h"

#define B(...)		((const uint8_t[]){ __VA_ARGS__ })
#define FAKE_NODE	"fakenodeid"	/* the node ID hello answers with */

struct fake {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	int		 cfd;
	int		 gate[2];	/* the test lets the script go on */
	pthread_t	 thread;
	void		(*script)(struct fake *);
	char		 why[512];	/* first failure, or "" */
	uint8_t		 buf[65536];	/* the last frame received */
	struct ctl_msg	 m;
};

/* Records the first failure; the script then ends and hangs up. */
#define FCHECK(f, cond)	do {						\
	if (!(cond)) {							\
		if ((f)->why[0] == '\0')				\
			snprintf((f)->why, sizeof((f)->why),		\
			    "fake daemon, line %d: %s", __LINE__, #cond); \
		return;							\
	}								\
} while (0)

/* CLOCK_MONOTONIC in ms. */
long	now_ms(void);

/*
 * Listens on a socket in a new /tmp/peer-<tag>-XXXXXX directory and runs
 * script in a thread; the script ends by hanging up.  Fails the test if
 * any of that fails.
 */
void	fake_start(struct fake *, const char *tag,
	    void (*script)(struct fake *));
/* Stops listening: connecting then fails at once. */
void	fake_unlisten(struct fake *);
/* Joins the script, removes what fake_start made, fails on f->why. */
void	fake_finish(struct fake *);
/* Lets a script waiting in fake_gate go on. */
void	fake_go(struct fake *);

/*
 * For the script: each waits 5 s at most for its socket, and returns
 * false on any failure.
 */
/* Hangs up any client, then accepts the next. */
bool	fake_accept(struct fake *);
/* Hangs up the client, if any. */
void	fake_hangup(struct fake *);
/* Waits until the test calls fake_go. */
bool	fake_gate(struct fake *);
/* Receives one frame into f->m. */
bool	fake_recv(struct fake *);
/* Sends the frames in b, and empties it. */
bool	fake_send(struct fake *, struct cbor_buf *);
/* Receives hello and answers it as a daemon would, as FAKE_NODE. */
bool	fake_hello(struct fake *);

/* About f->m: its op, and its key's value; want NULL means absent. */
bool	op_is(const struct fake *, const char *op);
bool	text_is(const struct fake *, const char *key, const char *want);
bool	uint_is(const struct fake *, const char *key, uint64_t want);
bool	item_is(const struct fake *, const char *key, const uint8_t *want,
	    size_t len);

/* Appends a reply frame {"id": id, "result": raw} to b. */
void	put_result(struct cbor_buf *, uint64_t id, const uint8_t *raw,
	    size_t len);
/*
 * Appends a reply frame {"id": id, "result": {key: val}}, as subscribe
 * ({"topic": pattern}) and register ({"service": name}) get.
 */
void	put_text_result(struct cbor_buf *, uint64_t id, const char *key,
	    const char *val);
/* Appends an error reply frame, with a context item if ctx is not NULL. */
void	put_error(struct cbor_buf *, uint64_t id, enum peer_code,
	    const char *msg, const uint8_t *ctx, size_t ctxlen);

/*
 * Polls and dispatches until step says done (1), ms pass (0) or
 * peer_dispatch fails (-1, with err).  step may act on p between rounds.
 */
int	pump(struct peer *, bool (*step)(struct peer *, void *), void *arg,
	    int ms, struct peer_error *err);
/* A pump step: until p has lost its connection. */
bool	step_lost(struct peer *, void *);

#endif
