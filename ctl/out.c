/* SPDX-License-Identifier: ISC */
/*
 * out.c: peerctl's output styles and its error messages, in text or
 * as JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cbor_json.h"
#include "cbor_scan.h"
#include "out.h"
#include "peer.h"

static bool	json_mode;

void
out_set_json(bool on)
{
	json_mode = on;
}

bool
out_json(void)
{
	return json_mode;
}

json_t *
json_uint(uint64_t u)
{
	return u <= INT64_MAX ? json_integer((json_int_t)u) :
	    json_real((double)u);
}

static void
dump(json_t *j, FILE *f, size_t flags)
{
	if (j == NULL) {
		fprintf(stderr, "peerctl: out of memory\n");
		return;
	}
	json_dumpf(j, f, flags | JSON_ENCODE_ANY);
	fputc('\n', f);
	fflush(f);
	json_decref(j);
}

void
out_doc(json_t *j)
{
	dump(j, stdout, JSON_INDENT(2));
}

void
out_line(json_t *j)
{
	dump(j, stdout, JSON_COMPACT);
}

/* {"error": {"code": code, "message": msg[, "context": ctx]}} on stderr. */
static void
error_object(enum peer_code code, const char *msg, json_t *ctx)
{
	json_t	*e, *o, *m;

	if ((e = json_object()) == NULL || (o = json_object()) == NULL) {
		json_decref(e);
		json_decref(ctx);
		fprintf(stderr, "peerctl: out of memory\n");
		return;
	}
	json_object_set_new(e, "code", json_string(peer_code_name(code)));
	/* A message that is not UTF-8 would be dropped: keep the code. */
	if ((m = json_string(msg)) == NULL)
		m = json_string("(not UTF-8)");
	json_object_set_new(e, "message", m);
	if (ctx != NULL)
		json_object_set_new(e, "context", ctx);
	json_object_set_new(o, "error", e);
	dump(o, stderr, JSON_COMPACT);
}

void
out_fail(const char *what, const struct peer_error *err, const uint8_t *ctx,
    size_t ctxlen)
{
	const char	*s;
	json_t		*j;
	size_t		 n;

	if (json_mode) {
		error_object(err->code, err->message, ctx == NULL ? NULL :
		    cbor_to_json(ctx, ctxlen));
		return;
	}
	fprintf(stderr, "peerctl: ");
	if (what != NULL) {
		print_safe(stderr, what, strlen(what), false);
		fprintf(stderr, ": ");
	}
	fprintf(stderr, "%s: ", peer_code_name(err->code));
	print_safe(stderr, err->message, strlen(err->message), false);
	fputc('\n', stderr);
	if (ctx == NULL)
		return;
	/* Text as it is (a command's stderr), anything else as JSON. */
	if (cbor_read_text(ctx, ctxlen, &s, &n)) {
		print_safe(stderr, s, n, true);
		if (n == 0 || s[n - 1] != '\n')
			fputc('\n', stderr);
	} else if ((j = cbor_to_json(ctx, ctxlen)) != NULL)
		dump(j, stderr, JSON_COMPACT);
}

void
out_errx(enum peer_code code, const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_mode)
		error_object(code, msg, NULL);
	else
		fprintf(stderr, "peerctl: %s\n", msg);
}
