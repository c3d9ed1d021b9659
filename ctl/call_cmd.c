/* SPDX-License-Identifier: ISC */
/*
 * call_cmd.c: peerctl call and notify: reading their words, and
 * printing a call's result, or a fan-out's answers as they come.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call.h"
#include "cbor_buf.h"
#include "cbor_json.h"
#include "cbor_scan.h"
#include "out.h"
#include "peer.h"
#include "peerctl.h"

/* What call and notify were asked. */
struct call_words {
	const char		*cmd;		/* "call" or "notify" */
	const char		*word;		/* SERVICE.METHOD */
	struct peer_call_opts	 co;
	struct cbor_buf		 args;
	int			 nargs;
};

/* A call's outcome, copied out of the reply callback. */
struct call_reply {
	struct peer_error	 err;
	bool			 failed;
	uint8_t			*result;
	size_t			 len;
	uint8_t			*context;	/* NULL if none */
	size_t			 contextlen;
	bool			 done;		/* the callback ran */
	unsigned		 answers;	/* of a fan-out, printed */
	bool			 any_error;	/* among them */
};

/*
 * Reads the words after the command; EXIT_OK, or another status after
 * saying what is wrong, or -1 for the usage.
 */
static int
read_words(int argc, char **argv, struct call_words *w)
{
	char	**av, msg[512];
	int	  k;

	if ((av = calloc((size_t)argc, sizeof(*av))) == NULL) {
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--to") == 0) {
			if (!opt_value(w->cmd, argc, argv, k))
				goto usage;
			w->co.to = argv[++k];
		} else if (strcmp(argv[k], "--all") == 0)
			w->co.all = true;
		else if (strcmp(argv[k], "--timeout") == 0) {
			if (!opt_value(w->cmd, argc, argv, k))
				goto usage;
			w->co.timeout_ms = call_duration(argv[++k],
			    CALL_TIMEOUT_MAX);
			if (w->co.timeout_ms == -1) {
				out_errx(PEER_INVALID_ARGUMENT, "%s: --timeout: "
				    "\"%s\" is not a duration from 1ms to 24h",
				    w->cmd, argv[k]);
				goto usage;
			}
		} else if (argv[k][0] == '-' && !isdigit((unsigned char)
		    argv[k][1])) {
			/* No JSON value starts so: an unknown option. */
			opt_unknown(w->cmd, argv[k]);
			goto usage;
		} else if (w->word == NULL)
			w->word = argv[k];
		else
			av[w->nargs++] = argv[k];
	}
	/* Known service names change where it splits, never whether. */
	if (w->word == NULL || call_split(w->word, NULL, 0) == 0) {
		free(av);
		return -1;
	}
	if (w->nargs > 0 && call_args(av, w->nargs, &w->args, msg,
	    sizeof(msg)) == -1) {
		out_errx(PEER_INVALID_ARGUMENT, "%s %s: %s", w->cmd, w->word,
		    msg);
		goto usage;
	}
	free(av);
	if (w->args.failed) {
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	return EXIT_OK;
usage:
	free(av);
	return EXIT_USAGE;
}

/* Service names as the daemon lists them; NULL on failure. */
static char **
service_names(struct peer *p, size_t *n, struct peer_error *err)
{
	struct cbor_field	 f[CTL_FIELDS];
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	uint8_t			*res;
	const char		*s;
	char			**names;
	size_t			 len, sl;
	int			 nf;

	if (peer_op(p, "services", NULL, 0, 0, 0, &res, &len, err) == -1)
		return NULL;
	*n = 0;
	names = NULL;
	if (!list_iter(res, len, "services", &it) ||
	    (names = calloc(it.items + 1, sizeof(*names))) == NULL)
		goto done;
	while (next_entry(&it, f, &nf)) {
		if ((v = cbor_field_get(f, nf, "service")) == NULL ||
		    !cbor_read_text(v->val, v->vallen, &s, &sl))
			continue;
		if ((names[*n] = strndup(s, sl)) != NULL)
			(*n)++;
	}
done:
	free(res);
	if (names == NULL) {
		err->code = PEER_INTERNAL;
		snprintf(err->message, sizeof(err->message), "malformed "
		    "services reply");
	}
	return names;
}

static void
free_names(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n && names != NULL; i++)
		free(names[i]);
	free(names);
}

/*
 * The service part of w->word, asking the daemon for the names it
 * knows if the word could split in more than one place; NULL after
 * saying why, with *rc the exit status.
 */
static char *
split_service(struct peer *p, const struct call_words *w, int *rc)
{
	struct peer_error	  err;
	char			**names = NULL, *service;
	size_t			  nnames = 0, slen;

	/* With one dot there is only one way to split. */
	if (strchr(w->word, '.') != strrchr(w->word, '.') &&
	    (names = service_names(p, &nnames, &err)) == NULL &&
	    peer_fd(p) == -1) {
		*rc = fail(p, NULL, &err);
		return NULL;
	}
	slen = call_split(w->word, (const char *const *)names, nnames);
	free_names(names, nnames);
	if (slen == 0) {
		out_errx(PEER_INVALID_ARGUMENT, "%s: %s: not SERVICE.METHOD",
		    w->cmd, w->word);
		*rc = EXIT_USAGE;
		return NULL;
	}
	if ((service = strndup(w->word, slen)) == NULL) {
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		*rc = EXIT_FAILED;
	}
	return service;
}

static void
on_call_reply(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct call_reply	*cr = arg;

	(void)p;
	cr->done = true;
	if (r->error != NULL) {
		cr->failed = true;
		cr->err = *r->error;
		if (r->context != NULL &&
		    (cr->context = copy_item(r->context,
		    r->context_len)) != NULL)
			cr->contextlen = r->context_len;
		return;
	}
	if (r->result == NULL)
		return;
	if ((cr->result = copy_item(r->result, r->result_len)) == NULL) {
		cr->failed = true;
		cr->err.code = PEER_RESOURCE_EXHAUSTED;
		snprintf(cr->err.message, sizeof(cr->err.message),
		    "out of memory");
	} else
		cr->len = r->result_len;
}

/* Prints one encoded item as JSON on one line; NULL prints null. */
static bool
print_compact(const uint8_t *buf, size_t len)
{
	json_t	*j;

	if (buf == NULL) {
		printf("null\n");
		return true;
	}
	if ((j = cbor_to_json(buf, len)) == NULL) {
		out_errx(PEER_INTERNAL, "peerd sent a result that is not "
		    "valid CBOR");
		return false;
	}
	json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(j);
	return true;
}

/*
 * Prints one answer of a fan-out, as a line of text or of JSON, at
 * once.  False if it is an error, or malformed.
 */
static bool
print_answer(const uint8_t *item, size_t len)
{
	struct cbor_field	 f[8], ef[8];
	const struct cbor_field	*v, *e;
	const char		*t;
	char			 name[80], node[64], code[32], msg[512];
	json_t			*j;
	bool			 ok = true;
	int			 nf, nef;

	if ((nf = cbor_scan_map(item, len, f, 8)) == -1)
		return false;
	if (out_json()) {
		if ((j = cbor_to_json(item, len)) == NULL)
			return false;
		out_line(j);
		return cbor_field_get(f, nf, "result") != NULL;
	}
	t = text_field(f, nf, "name", name, sizeof(name));
	print_safe(stdout, t, strlen(t), false);
	printf(" (%.12s): ", text_field(f, nf, "node", node, sizeof(node)));
	if ((v = cbor_field_get(f, nf, "result")) != NULL)
		ok = print_compact(v->val, v->vallen);
	else if ((e = cbor_field_get(f, nf, "error")) == NULL ||
	    (nef = cbor_scan_map(e->val, e->vallen, ef, 8)) == -1) {
		printf("error\n");
		ok = false;
	} else {
		printf("error ");
		t = text_field(ef, nef, "code", code, sizeof(code));
		print_safe(stdout, t, strlen(t), false);
		printf(": ");
		t = text_field(ef, nef, "message", msg, sizeof(msg));
		print_safe(stdout, t, strlen(t), false);
		putchar('\n');
		ok = false;
	}
	fflush(stdout);
	return ok;
}

/* An answer of call --all, as the daemon sends it. */
static void
on_answer(struct peer *p, uint64_t id, const uint8_t *entry, size_t len,
    void *arg)
{
	struct call_reply	*cr = arg;

	(void)p;
	(void)id;
	cr->answers++;
	if (!print_answer(entry, len))
		cr->any_error = true;
}

/*
 * The end of call --all: the answers were printed as they came; a
 * daemon that sends them all at the end sent an array.
 */
static int
end_answers(struct call_reply *cr)
{
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 len;

	if (cr->result != NULL && cbor_array_iter(cr->result, cr->len, &it))
		while (cbor_iter_next(&it, &item, &len))
			on_answer(NULL, 0, item, len, cr);
	return cr->any_error ? EXIT_FAILED : EXIT_OK;
}

int
cmd_call(const struct opts *o, int argc, char **argv)
{
	struct call_words	 w = { .cmd = "call" };
	struct call_reply	 cr;
	struct peer_error	 err;
	struct peer		*p;
	json_t			*j;
	const uint8_t		*args;
	const char		*method;
	char			*service, what[300];
	uint64_t		 id;
	int			 rc;

	if ((rc = read_words(argc, argv, &w)) != EXIT_OK) {
		cbor_buf_free(&w.args);
		return rc;
	}
	memset(&cr, 0, sizeof(cr));
	p = connect_or_exit(o);
	if ((service = split_service(p, &w, &rc)) == NULL)
		goto done;
	method = w.word + strlen(service) + 1;
	args = w.nargs > 0 ? w.args.data : NULL;
	if ((w.co.all ? peer_call_each(p, service, method, args, w.args.len,
	    &w.co, on_answer, &cr, on_call_reply, &cr, &id, &err) :
	    peer_call(p, service, method, args, w.args.len, &w.co,
	    on_call_reply, &cr, &id, &err)) == -1 ||
	    (peer_wait(p, id, &err) == -1 && !cr.done)) {
		/* A connection lost after the answer came is no failure. */
		cr.failed = true;
		cr.err = err;
	}
	if (cr.failed) {
		snprintf(what, sizeof(what), "call %s", w.word);
		out_fail(what, &cr.err, cr.context, cr.contextlen);
		rc = peer_fd(p) == -1 ? EXIT_NO_DAEMON : EXIT_FAILED;
	} else if (w.co.all)
		rc = end_answers(&cr);
	else if (!out_json())
		rc = print_compact(cr.result, cr.len) ? EXIT_OK : EXIT_FAILED;
	else if (cr.result == NULL)
		out_doc(json_null());
	else if ((j = cbor_to_json(cr.result, cr.len)) == NULL) {
		out_errx(PEER_INTERNAL, "peerd sent a result that is not "
		    "valid CBOR");
		rc = EXIT_FAILED;
	} else
		out_doc(j);
	free(cr.result);
	free(cr.context);
done:
	free(service);
	cbor_buf_free(&w.args);
	peer_close(p);
	return rc;
}

int
cmd_notify(const struct opts *o, int argc, char **argv)
{
	struct call_words	 w = { .cmd = "notify" };
	struct peer_error	 err;
	struct peer		*p;
	json_t			*j;
	char			*service, what[300];
	unsigned		 sent;
	int			 rc;

	if ((rc = read_words(argc, argv, &w)) != EXIT_OK) {
		cbor_buf_free(&w.args);
		return rc;
	}
	p = connect_or_exit(o);
	if ((service = split_service(p, &w, &rc)) == NULL)
		goto done;
	if (peer_notify(p, service, w.word + strlen(service) + 1,
	    w.nargs > 0 ? w.args.data : NULL, w.args.len, &w.co, &sent,
	    &err) == -1) {
		snprintf(what, sizeof(what), "notify %s", w.word);
		rc = fail(p, what, &err);
	} else if (out_json()) {
		j = json_object();
		json_object_set_new(j, "sent", json_integer(sent));
		out_doc(j);
	}
done:
	free(service);
	cbor_buf_free(&w.args);
	peer_close(p);
	return rc;
}
