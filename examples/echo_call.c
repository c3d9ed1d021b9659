/* SPDX-License-Identifier: ISC */
/*
 * echo_call.c: an example client that calls a method of a service
 * through peerd with libpeer, and prints what comes back: a text result
 * as it is, any other in CBOR diagnostic notation.  Errors, with their
 * context, go to stderr.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cbor.h>
#include <peerd/peer.h>

/* What the reply callback keeps; the reply itself is gone after it. */
struct outcome {
	struct peer_error	 err;	/* code PEER_OK on success */
	uint8_t			*item;	/* result or error context */
	size_t			 len;
};

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: echo_call [-ah] [-s socket] [-T to] "
	    "[-t timeout_ms] service method [text]\n");
	exit(status);
}

static void
diag_string(FILE *out, const unsigned char *s, size_t n, bool text)
{
	size_t	i;

	fputs(text ? "\"" : "h'", out);
	for (i = 0; i < n; i++) {
		if (!text)
			fprintf(out, "%02x", s[i]);
		else if (s[i] == '"' || s[i] == '\\')
			fprintf(out, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			fprintf(out, "\\u%04x", s[i]);
		else
			fputc(s[i], out);
	}
	fputs(text ? "\"" : "'", out);
}

/* Chunked strings print as one: their chunks joined. */
static void
diag_chunks(FILE *out, cbor_item_t *it, bool text)
{
	cbor_item_t	**c;
	size_t		  i, n;

	fputs("(_ ", out);
	c = text ? cbor_string_chunks_handle(it) :
	    cbor_bytestring_chunks_handle(it);
	n = text ? cbor_string_chunk_count(it) :
	    cbor_bytestring_chunk_count(it);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", out);
		if (text)
			diag_string(out, cbor_string_handle(c[i]),
			    cbor_string_length(c[i]), true);
		else
			diag_string(out, cbor_bytestring_handle(c[i]),
			    cbor_bytestring_length(c[i]), false);
	}
	fputs(")", out);
}

/* RFC 8949 section 8 diagnostic notation, near enough for reading. */
static void
diag(FILE *out, cbor_item_t *it)
{
	struct cbor_pair	*pairs;
	cbor_item_t		**items, *tagged;
	uint64_t		  u;
	size_t			  i;

	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		fprintf(out, "%" PRIu64, cbor_get_int(it));
		break;
	case CBOR_TYPE_NEGINT:
		/* -1 - u, which may be -2^64. */
		if ((u = cbor_get_int(it)) == UINT64_MAX)
			fputs("-18446744073709551616", out);
		else
			fprintf(out, "-%" PRIu64, u + 1);
		break;
	case CBOR_TYPE_BYTESTRING:
		if (cbor_bytestring_is_definite(it))
			diag_string(out, cbor_bytestring_handle(it),
			    cbor_bytestring_length(it), false);
		else
			diag_chunks(out, it, false);
		break;
	case CBOR_TYPE_STRING:
		if (cbor_string_is_definite(it))
			diag_string(out, cbor_string_handle(it),
			    cbor_string_length(it), true);
		else
			diag_chunks(out, it, true);
		break;
	case CBOR_TYPE_ARRAY:
		fputs("[", out);
		items = cbor_array_handle(it);
		for (i = 0; i < cbor_array_size(it); i++) {
			if (i > 0)
				fputs(", ", out);
			diag(out, items[i]);
		}
		fputs("]", out);
		break;
	case CBOR_TYPE_MAP:
		fputs("{", out);
		pairs = cbor_map_handle(it);
		for (i = 0; i < cbor_map_size(it); i++) {
			if (i > 0)
				fputs(", ", out);
			diag(out, pairs[i].key);
			fputs(": ", out);
			diag(out, pairs[i].value);
		}
		fputs("}", out);
		break;
	case CBOR_TYPE_TAG:
		fprintf(out, "%" PRIu64 "(", cbor_tag_value(it));
		tagged = cbor_tag_item(it);	/* a new reference */
		diag(out, tagged);
		cbor_decref(&tagged);
		fputs(")", out);
		break;
	case CBOR_TYPE_FLOAT_CTRL:
		if (!cbor_float_ctrl_is_ctrl(it))
			fprintf(out, "%.17g", cbor_float_get_float(it));
		else if (cbor_is_bool(it))
			fputs(cbor_get_bool(it) ? "true" : "false", out);
		else if (cbor_is_null(it))
			fputs("null", out);
		else if (cbor_is_undef(it))
			fputs("undefined", out);
		else
			fprintf(out, "simple(%u)", cbor_ctrl_value(it));
		break;
	}
}

/* Prints an encoded item: text as it is, else in diagnostic notation. */
static void
print_item(FILE *out, const uint8_t *buf, size_t len)
{
	struct cbor_load_result	 res;
	cbor_item_t		*it;
	size_t			 i;

	if ((it = cbor_load(buf, len, &res)) == NULL) {
		/* libcbor refused it: the bytes, then. */
		for (i = 0; i < len; i++)
			fprintf(out, "%02x", buf[i]);
	} else if (cbor_isa_string(it) && cbor_string_is_definite(it))
		fwrite(cbor_string_handle(it), 1, cbor_string_length(it), out);
	else
		diag(out, it);
	fputc('\n', out);
	if (it != NULL)
		cbor_decref(&it);
}

static void
on_reply(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct outcome	*o = arg;
	const uint8_t	*item = r->error == NULL ? r->result : r->context;
	size_t		 len = r->error == NULL ? r->result_len :
			    r->context_len;

	(void)p;
	if (r->error != NULL)
		o->err = *r->error;
	if (item == NULL || (o->item = malloc(len)) == NULL)
		return;
	memcpy(o->item, item, len);
	o->len = len;
}

int
main(int argc, char *argv[])
{
	struct peer_call_opts	 opts = { NULL, false, 0 };
	struct outcome		 o = { 0 };
	struct peer		*p;
	struct peer_error	 err;
	const char		*sock = NULL, *text = NULL;
	unsigned char		*args = NULL;
	size_t			 argslen = 0, len;
	uint64_t		 id;
	char			*end;
	long			 t;
	int			 ch, rc = 1;

	while ((ch = getopt(argc, argv, "ahs:T:t:")) != -1) {
		switch (ch) {
		case 'a':
			opts.all = true;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 's':
			sock = optarg;
			break;
		case 'T':
			opts.to = optarg;
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t <= 0 ||
			    t > 3600000) {
				fprintf(stderr, "echo_call: -t %s: not a "
				    "timeout of 1-3600000 ms\n", optarg);
				return 2;
			}
			opts.timeout_ms = (int)t;
			break;
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3)
		usage(stderr, 2);
	if (argc == 3) {
		/* One CBOR text string: its head, then the bytes. */
		text = argv[2];
		len = strlen(text);
		if ((args = malloc(len + 9)) == NULL) {
			fprintf(stderr, "echo_call: out of memory\n");
			return 1;
		}
		argslen = cbor_encode_string_start(len, args, len + 9);
		memcpy(args + argslen, text, len);
		argslen += len;
	}

	if ((p = peer_open(sock, &err)) == NULL) {
		fprintf(stderr, "echo_call: %s: %s\n", peer_code_name(err.code),
		    err.message);
		free(args);
		return 1;
	}
	if (peer_call(p, argv[0], argv[1], args, argslen, &opts, on_reply, &o,
	    &id, &err) == -1 || peer_wait(p, id, &err) == -1) {
		fprintf(stderr, "echo_call: %s: %s\n", peer_code_name(err.code),
		    err.message);
	} else if (o.err.code != PEER_OK) {
		fprintf(stderr, "echo_call: %s: %s\n",
		    peer_code_name(o.err.code), o.err.message);
		if (o.item != NULL) {
			fputs("context: ", stderr);
			print_item(stderr, o.item, o.len);
		}
	} else if (o.item != NULL) {
		print_item(stdout, o.item, o.len);
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	free(o.item);
	free(args);
	peer_close(p);
	return rc;
}
