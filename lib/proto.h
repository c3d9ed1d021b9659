/* SPDX-License-Identifier: ISC */
/*
 * proto.h: the control protocol codec, shared by peerd and libpeer.
 *
 * Every message is one frame (frame.h) holding a CBOR map with text
 * keys.  Requests carry "op" and a client-chosen "id"; replies echo the
 * "id" with either "result" or "error" {code, message[, context]}.
 * Unknown keys are ignored.  doc/PROTOCOL.md is the full description.
 */
#ifndef PEER_PROTO_H
#define PEER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "peer.h"

#define PROTO_VERSION	1
#define CTL_FIELDS_MAX	32		/* keys in one message */
#define CTL_OP_MAX	32		/* bytes in an op name */
#define CTL_MSG_MAX	(1u << 20)	/* bytes in one error message */

/* One decoded message; fields point into the frame it came from. */
struct ctl_msg {
	struct cbor_field	 f[CTL_FIELDS_MAX];
	int			 nf;
	char			 op[CTL_OP_MAX + 1];	/* "" if absent */
	bool			 has_id;
	uint64_t		 id;
};

/*
 * Decodes one frame payload.  On failure returns -1 and writes a reason
 * fit to send back to the peer into err.
 */
int	ctl_msg_decode(const uint8_t *, size_t, struct ctl_msg *, char *err,
	    size_t errlen);
const struct cbor_field *ctl_msg_get(const struct ctl_msg *, const char *key);

/* An error value {code, message[, context]}; spans point into its buffer. */
struct ctl_error {
	enum peer_code	 code;
	const char	*msg;		/* not NUL-terminated */
	size_t		 msglen;
	const uint8_t	*context;	/* one encoded item, or NULL */
	size_t		 contextlen;
};

/* False if val is not a well-formed error value. */
bool	ctl_error_decode(const uint8_t *val, size_t len, struct ctl_error *);
/*
 * Reads the "error" value of a reply.  Copies the message (truncated to
 * msgcap) and returns false if the value is not a well-formed error.
 */
bool	ctl_read_error(const struct cbor_field *, enum peer_code *,
	    char *msg, size_t msgcap);
/* An error value; context (one encoded item) may be NULL. */
void	ctl_put_error_value(struct cbor_buf *, enum peer_code, const char *msg,
	    size_t msglen, const uint8_t *context, size_t contextlen);

/* Frames: begin reserves the length prefix, end fills it in. */
size_t	ctl_frame_begin(struct cbor_buf *);
/* -1 if the buffer failed or the frame is larger than max. */
int	ctl_frame_end(struct cbor_buf *, size_t start, size_t max);

/* A request map: "op", "id" and nextra more entries the caller writes. */
void	ctl_put_request(struct cbor_buf *, const char *op, uint64_t id,
	    size_t nextra);
/* A reply map: "id", then "result" whose value the caller writes. */
void	ctl_put_result(struct cbor_buf *, uint64_t id);
/* A whole error reply map. */
void	ctl_put_error(struct cbor_buf *, uint64_t id, enum peer_code,
	    const char *msg);

#endif
