/* SPDX-License-Identifier: ISC */
/*
 * link_peer.h: the remote end of a link under test, for the fuzz targets
 * that drive link.c over a real socket: both nodes' fixed keys and
 * HELLOs, the link's settings and ops, the peer's socket I/O, the event
 * loop run until the link has read what it was sent, and the reading
 * of what the link writes back, in its handshake and after.
 *
 * One peer at a time: every link of a run has the same two buffers.
 */
#ifndef FUZZ_LINK_PEER_H
#define FUZZ_LINK_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"
#include "hello.h"
#include "link.h"
#include "noise.h"

#define LINK_PEER_ADDR		"192.0.2.1:7654" /* an accepted link's */
#define LINK_PEER_MAX_MESSAGE	((256u + 64) << 10) /* its max_message */
#define LINK_PEER_TURNS		20000		/* event loop turns per wait */
#define LINK_PEER_FAR_MS	(24u * 3600 * 1000)	/* timers never due */

struct evbuffer;
struct noise_hs;
struct wire_reasm;

/* The remote node's end of one link. */
struct link_peer {
	struct link		*l;	/* NULL once freed */
	int			 fd;	/* our end, -1 once hung up */
	bool			 reset;	/* TCP: hang up with a reset */
	bool			 eof;
	uint64_t		 sent;	/* bytes of whole records queued */
	bool			 up, down;
	enum link_end		 why;
	uint64_t		 bytes_in;	/* the link's count at down */
	struct evbuffer		*to_link, *from_link;
	struct noise_cipher	 tx, rx;	/* once the handshake is done */
};

/* What a link under test hands its owner: the target's to check. */
typedef void	 link_peer_message_fn(struct link *, const char *type,
		    const struct cbor_field *, int nf, const uint8_t *msg,
		    size_t len, void *arg);

/* The event loop, and the settings of every link under test. */
extern struct event_base	*lp_base;
extern struct link_params	 lp_par;
/* Every link's ops, arg its struct link_peer: up and down track it. */
extern struct link_ops		 lp_ops;
/* The node under test's HELLO, encoded. */
extern struct cbor_buf		 lp_us_hello_enc;
/* The remote node: its key, its X25519 key, its HELLO. */
extern uint8_t			 lp_them_pk[NODE_ID_LEN];
extern uint8_t			 lp_them_xpk[NOISE_KEY_LEN];
extern struct hello		 lp_them_hello;
extern struct cbor_buf		 lp_them_hello_enc;

/*
 * Once per process: libsodium, the loop and the buffers, both nodes'
 * keys and HELLOs, lp_ops with message, and timers set far beyond a
 * run, so that only the input drives a link.
 */
void	 link_peer_init(link_peer_message_fn *message);

/* Forgets the last link, for a new one: nothing queued or read. */
void	 link_peer_reset(struct link_peer *);
/* A link accepted on a socketpair from LINK_PEER_ADDR. */
void	 link_peer_accept(struct link_peer *);

/* Writes what is queued for the link, as far as the socket takes it. */
void	 link_peer_write(struct link_peer *);
/* Reads what the link wrote; how many bytes. */
size_t	 link_peer_read(struct link_peer *);
/* Queues bytes for the link; whole records count as sent. */
void	 link_peer_queue(struct link_peer *, const uint8_t *, size_t,
	    bool whole);
/*
 * Runs the event loop until the link has handled every whole record
 * sent and written all it has to say, or has closed (and is freed).
 */
void	 link_peer_pump(struct link_peer *);
/* Takes the next whole record the link wrote; false if none. */
bool	 link_peer_record(struct link_peer *, uint8_t *buf, size_t *len);
/* Closes our end. */
void	 link_peer_hangup(struct link_peer *);
/* Hangs up, and forgets the transport keys. */
void	 link_peer_close(struct link_peer *);

/* A handshake of the genuine peer, with its fixed keys. */
struct noise_hs *link_peer_hs(bool initiator);
/* The link's next handshake message must decrypt and carry its HELLO. */
void	 link_peer_read_hello(struct link_peer *, struct noise_hs *);
/*
 * Reads the link's transport records: each must decrypt and follow
 * doc/MESH.md section 5, and fn gets every whole message.  Chunks of a
 * long message go into reasm, up to LINK_PEER_MAX_MESSAGE; with reasm
 * NULL every record must be whole.
 */
void	 link_peer_messages(struct link_peer *, struct wire_reasm *reasm,
	    void (*fn)(const uint8_t *, size_t, void *), void *arg);

#endif
