/* SPDX-License-Identifier: ISC */
/*
 * out.h: how peerctl prints, in text or, with --json, as JSON: a single
 * result is one indented document, a stream one compact document per
 * line; an error goes to standard error as "peerctl: ..." or as one
 * JSON error object on a line (peerctl(1), OUTPUT).
 */
#ifndef PEERCTL_OUT_H
#define PEERCTL_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "peer.h"

/* Chooses JSON (true) or text for everything after. */
void	out_set_json(bool);
bool	out_json(void);

/* A single result: j (stolen) as one indented document on stdout. */
void	out_doc(json_t *j);
/* One item of a stream: j (stolen) as one compact line, flushed. */
void	out_line(json_t *j);

/*
 * A failure the daemon (or libpeer) reported about what: text
 * "peerctl: WHAT: CODE: MESSAGE" (what may be NULL), then the error's
 * context (ctx, encoded CBOR; NULL if none) as text if it is text, else
 * as JSON; or {"error": {"code", "message", "context"}}.
 */
void	out_fail(const char *what, const struct peer_error *err,
	    const uint8_t *ctx, size_t ctxlen);
/* An error of peerctl's own: "peerctl: MESSAGE", or the same object. */
void	out_errx(enum peer_code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* A uint64 as a JSON number: exact up to 2^63 - 1. */
json_t	*json_uint(uint64_t);

#endif
