/* SPDX-License-Identifier: ISC */
/*
 * nats_client.h: the little of the NATS client protocol that
 * call_bench needs for its baseline: the handshake (INFO, CONNECT,
 * SUB, PING and PONG) and the parsing of what a server sends (MSG,
 * PING, PONG, INFO, +OK, -ERR).  Publishing is the caller's: PUB
 * SUBJECT [REPLY] LEN CRLF, the payload, CRLF.
 */
#ifndef NATS_CLIENT_H
#define NATS_CLIENT_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#define NATS_LINE_MAX	4096	/* a control line, its CRLF included */

enum nats_op {
	NATS_MSG,
	NATS_PING,
	NATS_PONG,
	NATS_INFO,
	NATS_OK,
};

/* One op from the server; the pointers point into the parsed buffer. */
struct nats_msg {
	enum nats_op	 op;
	size_t		 total;		/* bytes of the buffer it takes */
	const char	*subject;	/* the rest for MSG only */
	size_t		 subject_len;
	const char	*sid;
	size_t		 sid_len;
	const char	*reply;		/* NULL if none */
	size_t		 reply_len;
	const uint8_t	*data;
	size_t		 len;
};

/*
 * The op at the start of buf[len]: 1 with m filled in, 0 if it is not
 * whole yet.  errx()s naming who on -ERR, on anything malformed and on
 * a payload of more than max bytes.
 */
int	 nats_parse(const char *who, const uint8_t *buf, size_t len,
	    size_t max, struct nats_msg *m);

/*
 * Connects to the server at sin, subscribes to subject as sid 1 and
 * returns the socket, blocking, once the server has answered a PING
 * after that: it has the subscription then.  errx()s naming who if
 * that takes more than secs, or if anything else comes.
 */
int	 nats_open(const char *who, const struct sockaddr_in *sin,
	    const char *subject, int secs);

/* Writes all of buf, waiting in poll() if fd is non-blocking.  err()s. */
void	 nats_write(int fd, const void *buf, size_t len);

#endif
