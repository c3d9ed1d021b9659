/* SPDX-License-Identifier: ISC */
/*
 * kv.c: peerctl kv: get, put, del, merge, list, where and watch of the
 * replicated key-value store, through libpeer's kv functions; values
 * are JSON on the command line and in what is printed.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call.h"
#include "cbor_buf.h"
#include "cbor_json.h"
#include "duration.h"
#include "out.h"
#include "peer.h"
#include "peerctl.h"
#include "stream.h"

/*
 * Arrays and objects a value may nest: peerd takes a value nested 28
 * deep below its own level (doc/PROTOCOL.md, kv_put), so that it fits
 * in every message between the nodes that carries it.
 */
#define KV_VALUE_DEPTH	29
#define KV_LIMIT_MAX	1000		/* items in one page */
#define KV_COUNT_MAX	1000000000	/* changes watch prints */

/* The options of kv SUB, each allowed for some subcommands only. */
#define KO_TIMEOUT	0x01
#define KO_IF_VERSION	0x02
#define KO_TTL		0x04
#define KO_LIMIT	0x08
#define KO_AFTER	0x10
#define KO_ALL		0x20
#define KO_COUNT	0x40

struct kv_cmd_args;

struct kv_cmd {
	const char	*sub;		/* "get", ... */
	int		 npos;		/* words it takes, at least */
	int		 maxpos;	/* and at most */
	int		 opts;		/* KO_ bits */
	int		(*fn)(const struct opts *, struct kv_cmd_args *);
};

struct kv_cmd_args {
	const struct kv_cmd	*c;
	char			 what[320];	/* "kv get KEY", for errors */
	const char		*pos[2];
	int			 npos;
	struct peer_kv_opts	 o;
	struct peer_kv_list_opts lo;
	bool			 all;
	unsigned long		 count;
};

/* A uint64 option value: digits only. */
static bool
parse_u64(const char *s, uint64_t *v)
{
	unsigned long long	n;
	char			*end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return false;
	*v = n;
	return true;
}

/*
 * A JSON value of the command line as one CBOR item in b; false after
 * saying what is wrong.
 */
static bool
json_value(const char *what, const char *s, bool object, struct cbor_buf *b)
{
	json_error_t	 je;
	json_t		*j;
	bool		 bare;
	int		 rc;

	if ((j = json_loadb(s, strlen(s), JSON_DECODE_ANY | JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, &je)) == NULL) {
		/* The usual slip: a bare word where a string goes. */
		bare = s[0] == '\0' || strchr("\"[{-0123456789 \t\n\r",
		    s[0]) == NULL;
		out_errx(PEER_INVALID_ARGUMENT, "%s: value is not JSON: %s%s",
		    what, je.text, bare ? " (a string needs quotes: "
		    "'\"text\"')" : "");
		return false;
	}
	if (object && !json_is_object(j)) {
		out_errx(PEER_INVALID_ARGUMENT, "%s: value is not a JSON "
		    "object", what);
		json_decref(j);
		return false;
	}
	rc = json_to_cbor(j, KV_VALUE_DEPTH, b);
	json_decref(j);
	if (rc == -1) {
		out_errx(PEER_INVALID_ARGUMENT, "%s: value nests more than %d "
		    "arrays and objects", what, KV_VALUE_DEPTH);
		return false;
	}
	return true;
}

/* A value as JSON, NULL (after saying so) if it is not valid CBOR. */
static json_t *
value_json(const char *what, const uint8_t *v, size_t len)
{
	json_t	*j;

	if ((j = cbor_to_json(v, len)) == NULL)
		out_errx(PEER_INTERNAL, "%s: peerd sent a value that is not "
		    "valid CBOR", what);
	return j;
}

/* An item as a JSON object: key, value (if any), version, writer, expires. */
static json_t *
item_json(const char *what, const struct peer_kv_item *it)
{
	json_t	*o, *v = NULL;

	if (it->value != NULL &&
	    (v = value_json(what, it->value, it->value_len)) == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		json_decref(v);
		return NULL;
	}
	json_object_set_new(o, "key", json_string(it->key));
	if (v != NULL)
		json_object_set_new(o, "value", v);
	json_object_set_new(o, "version", json_uint(it->version));
	json_object_set_new(o, "writer", json_string(it->writer));
	if (it->expires_ms > 0)
		json_object_set_new(o, "expires", json_uint(it->expires_ms));
	return o;
}

/* Prints a value as compact JSON, without a newline; false if invalid. */
static bool
print_value(const char *what, const uint8_t *v, size_t len)
{
	json_t	*j;

	if ((j = value_json(what, v, len)) == NULL)
		return false;
	json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	return true;
}

static int
kv_get(const struct opts *o, struct kv_cmd_args *a)
{
	struct peer_kv_item	*it;
	struct peer_error	 err;
	struct peer		*p;
	json_t			*j;
	int			 rc = EXIT_OK;

	p = connect_or_exit(o);
	if (peer_kv_get_sync(p, a->pos[0], a->o.timeout_ms, &it, &err) == -1) {
		rc = fail(p, a->what, &err);
		peer_close(p);
		return rc;
	}
	if (o->json) {
		if ((j = item_json(a->what, it)) == NULL)
			rc = EXIT_FAILED;
		else
			out_doc(j);
	} else if (print_value(a->what, it->value, it->value_len))
		putchar('\n');
	else
		rc = EXIT_FAILED;
	peer_kv_item_free(it);
	peer_close(p);
	return rc;
}

/* put, del and merge: the version written, or {key, version}. */
static int
print_written(const struct opts *o, const char *key, uint64_t version)
{
	json_t	*j;

	if (!o->json) {
		printf("%" PRIu64 "\n", version);
		return EXIT_OK;
	}
	if ((j = json_object()) != NULL) {
		json_object_set_new(j, "key", json_string(key));
		json_object_set_new(j, "version", json_uint(version));
	}
	out_doc(j);
	return EXIT_OK;
}

static int
kv_write(const struct opts *o, struct kv_cmd_args *a)
{
	struct cbor_buf		 v = { 0 };
	struct peer_error	 err;
	struct peer		*p;
	const char		*sub = a->c->sub;
	uint64_t		 version;
	int			 r, rc;

	if (strcmp(sub, "del") != 0 && !json_value(a->what, a->pos[1],
	    strcmp(sub, "merge") == 0, &v)) {
		cbor_buf_free(&v);
		return EXIT_USAGE;
	}
	if (v.failed) {
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		cbor_buf_free(&v);
		return EXIT_FAILED;
	}
	p = connect_or_exit(o);
	if (strcmp(sub, "put") == 0)
		r = peer_kv_put_sync(p, a->pos[0], v.data, v.len, &a->o,
		    &version, &err);
	else if (strcmp(sub, "merge") == 0)
		r = peer_kv_merge_sync(p, a->pos[0], v.data, v.len,
		    a->o.timeout_ms, &version, &err);
	else
		r = peer_kv_del_sync(p, a->pos[0], &a->o, &version, &err);
	rc = r == -1 ? fail(p, a->what, &err) : print_written(o, a->pos[0],
	    version);
	cbor_buf_free(&v);
	peer_close(p);
	return rc;
}

/* One row of the list table: KEY VERSION VALUE. */
static bool
print_row(const char *what, const struct peer_kv_item *it)
{
	size_t	n = strlen(it->key);

	print_safe(stdout, it->key, n, false);
	printf("%*s %-20" PRIu64 " ", n < 32 ? (int)(32 - n) : 0, "",
	    it->version);
	if (it->value == NULL)
		fputs("-", stdout);
	else if (!print_value(what, it->value, it->value_len))
		return false;
	putchar('\n');
	return true;
}

static int
kv_list(const struct opts *o, struct kv_cmd_args *a)
{
	struct peer_kv_list	*l = NULL;
	struct peer_error	 err;
	struct peer		*p;
	json_t			*doc = NULL, *items = NULL, *j;
	char			*after = NULL;
	size_t			 i, pages = 0;
	int			 rc = EXIT_OK;

	if (o->json && ((doc = json_object()) == NULL ||
	    (items = json_array()) == NULL)) {
		json_decref(doc);
		out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
		return EXIT_FAILED;
	}
	if (o->json)
		json_object_set_new(doc, "items", items);
	a->lo.prefix = a->npos > 0 ? a->pos[0] : NULL;
	p = connect_or_exit(o);
	for (;;) {
		if (peer_kv_list_sync(p, &a->lo, &l, &err) == -1) {
			rc = fail(p, a->what, &err);
			break;
		}
		if (!o->json && pages++ == 0)
			printf("%-32s %-20s %s\n", "KEY", "VERSION", "VALUE");
		for (i = 0; i < l->nitems && rc == EXIT_OK; i++) {
			if (!o->json) {
				if (!print_row(a->what, &l->items[i]))
					rc = EXIT_FAILED;
			} else if ((j = item_json(a->what,
			    &l->items[i])) == NULL)
				rc = EXIT_FAILED;
			else
				json_array_append_new(items, j);
		}
		if (rc != EXIT_OK || l->next == NULL)
			break;
		/* A cursor that does not move on would never end. */
		if (a->lo.after != NULL && strcmp(l->next, a->lo.after) <= 0) {
			out_errx(PEER_INTERNAL, "%s: peerd's next key does not "
			    "follow the last", a->what);
			rc = EXIT_FAILED;
			break;
		}
		if (!a->all) {
			if (o->json)
				json_object_set_new(doc, "next",
				    json_string(l->next));
			else {
				fputs("(more: --after ", stdout);
				print_safe(stdout, l->next, strlen(l->next),
				    false);
				fputs(")\n", stdout);
			}
			break;
		}
		free(after);
		if ((after = strdup(l->next)) == NULL) {
			out_errx(PEER_RESOURCE_EXHAUSTED, "out of memory");
			rc = EXIT_FAILED;
			break;
		}
		a->lo.after = after;
		peer_kv_list_free(l);
		l = NULL;
	}
	if (o->json && rc == EXIT_OK)
		out_doc(doc);
	else
		json_decref(doc);
	peer_kv_list_free(l);
	free(after);
	peer_close(p);
	return rc;
}

/* What an owner holds, as the table shows it. */
static const char *
owner_holds(const struct peer_kv_owner *w, char *buf, size_t len)
{
	if (!w->answered)
		return "(no answer)";
	if (!w->has_version)
		return "(none)";
	snprintf(buf, len, "%" PRIu64 "%s", w->version,
	    w->deleted ? " (deleted)" : "");
	return buf;
}

static json_t *
where_json(const struct peer_kv_where *w)
{
	const struct peer_kv_owner	*ow;
	json_t				*o, *arr, *e;
	size_t				 i;

	if ((o = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "key", json_string(w->key));
	json_object_set_new(o, "owners", arr);
	for (i = 0; i < w->nowners; i++) {
		ow = &w->owners[i];
		if ((e = json_object()) == NULL)
			break;
		json_object_set_new(e, "node", json_string(ow->node));
		json_object_set_new(e, "name", json_string(ow->name));
		json_object_set_new(e, "coordinator",
		    json_boolean(ow->coordinator));
		json_object_set_new(e, "answered", json_boolean(ow->answered));
		if (ow->has_version)
			json_object_set_new(e, "version",
			    json_uint(ow->version));
		if (ow->deleted)
			json_object_set_new(e, "deleted", json_true());
		json_array_append_new(arr, e);
	}
	return o;
}

static int
kv_where(const struct opts *o, struct kv_cmd_args *a)
{
	struct peer_kv_where	*w;
	struct peer_error	 err;
	struct peer		*p;
	char			 held[48];
	size_t			 i, n;
	int			 rc = EXIT_OK;

	p = connect_or_exit(o);
	if (peer_kv_where_sync(p, a->pos[0], a->o.timeout_ms, &w, &err) == -1) {
		rc = fail(p, a->what, &err);
		peer_close(p);
		return rc;
	}
	if (o->json)
		out_doc(where_json(w));
	else {
		printf("%-12s %-16s %-11s %s\n", "NODE", "NAME", "ROLE",
		    "VERSION");
		for (i = 0; i < w->nowners; i++) {
			printf("%-12.12s ", w->owners[i].node);
			n = strlen(w->owners[i].name);
			print_safe(stdout, w->owners[i].name, n, false);
			printf("%*s %-11s %s\n", n < 16 ? (int)(16 - n) : 0, "",
			    w->owners[i].coordinator ? "coordinator" : "-",
			    owner_holds(&w->owners[i], held, sizeof(held)));
		}
	}
	peer_kv_where_free(w);
	peer_close(p);
	return rc;
}

struct watch_state {
	const char	*prefix;
	bool		 json;
	struct stream	 stream;
};

static void
print_change_json(const struct peer_kv_change *c)
{
	json_t	*o, *v = NULL;

	if (c->value != NULL &&
	    (v = value_json("kv watch", c->value, c->value_len)) == NULL)
		return;
	if ((o = json_object()) == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(o, "prefix", json_string(c->prefix));
	json_object_set_new(o, "key", json_string(c->key));
	json_object_set_new(o, "change",
	    json_string(peer_kv_kind_name(c->kind)));
	json_object_set_new(o, "version", json_uint(c->version));
	json_object_set_new(o, "writer", json_string(c->writer));
	if (v != NULL)
		json_object_set_new(o, "value", v);
	if (c->lost > 0)
		json_object_set_new(o, "lost", json_uint(c->lost));
	out_line(o);
}

/* CHANGE KEY VERSION WRITER [VALUE] */
static void
print_change_text(const struct peer_kv_change *c)
{
	if (c->lost > 0)
		fprintf(stderr, "peerctl: %" PRIu64 " changes lost\n",
		    c->lost);
	printf("%s ", peer_kv_kind_name(c->kind));
	print_safe(stdout, c->key, strlen(c->key), false);
	printf(" %" PRIu64 " %.12s", c->version, c->writer);
	if (c->value != NULL) {
		putchar(' ');
		(void)print_value("kv watch", c->value, c->value_len);
	}
	putchar('\n');
}

static void
on_change(struct peer *p, const struct peer_kv_change *c, void *arg)
{
	struct watch_state	*s = arg;

	(void)p;
	if (s->stream.done)
		return;
	if (s->json)
		print_change_json(c);
	else
		print_change_text(c);
	stream_printed(&s->stream);
}

static int
start_watch(struct peer *p, void *arg, struct peer_error *err)
{
	struct watch_state	*s = arg;

	return peer_kv_watch(p, s->prefix, on_change, s, err);
}

static int
kv_watch(const struct opts *o, struct kv_cmd_args *a)
{
	struct watch_state	 s;
	struct peer_error	 err;
	struct peer		*p;
	int			 rc = EXIT_OK;

	memset(&s, 0, sizeof(s));
	s.prefix = a->pos[0];
	s.json = o->json;
	s.stream.what = a->what;
	s.stream.count = a->count;
	p = connect_or_exit(o);
	if (stream_run(p, &s.stream, start_watch, &s, &err) == -1)
		rc = fail(p, a->what, &err);
	peer_close(p);
	return rc;
}

static const struct kv_cmd	kv_cmds[] = {
	{ "del",	1, 1, KO_TIMEOUT | KO_IF_VERSION,	kv_write },
	{ "get",	1, 1, KO_TIMEOUT,			kv_get },
	{ "list",	0, 1, KO_TIMEOUT | KO_LIMIT | KO_AFTER | KO_ALL, kv_list },
	{ "merge",	2, 2, KO_TIMEOUT,			kv_write },
	{ "put",	2, 2, KO_TIMEOUT | KO_IF_VERSION | KO_TTL, kv_write },
	{ "watch",	1, 1, KO_COUNT,				kv_watch },
	{ "where",	1, 1, KO_TIMEOUT,			kv_where },
};
#define NKV_CMDS	(sizeof(kv_cmds) / sizeof(kv_cmds[0]))

/* Whether word is taken for an option rather than a key or a value. */
static bool
is_option(const char *word)
{
	/* A JSON value may be a negative number. */
	return word[0] == '-' && word[1] != '\0' &&
	    !isdigit((unsigned char)word[1]);
}

/*
 * Reads the words after "kv SUB" into a; EXIT_OK, -1 for the usage, or
 * another status after saying what is wrong.
 */
static int
kv_parse(int argc, char **argv, struct kv_cmd_args *a)
{
	const struct kv_cmd	*c = a->c;
	const char		*opt, *cmd = a->what;
	uint64_t		 u;
	long long		 n;
	bool			 words = false;
	int			 k, bit;

	for (k = 2; k < argc; k++) {
		opt = argv[k];
		if (!words && strcmp(opt, "--") == 0) {
			words = true;
			continue;
		}
		if (words || !is_option(opt)) {
			if (a->npos == c->maxpos)
				return -1;
			a->pos[a->npos++] = opt;
			continue;
		}
		bit = strcmp(opt, "--timeout") == 0 ? KO_TIMEOUT :
		    strcmp(opt, "--if-version") == 0 ? KO_IF_VERSION :
		    strcmp(opt, "--ttl") == 0 ? KO_TTL :
		    strcmp(opt, "--limit") == 0 ? KO_LIMIT :
		    strcmp(opt, "--after") == 0 ? KO_AFTER :
		    strcmp(opt, "--all") == 0 ? KO_ALL :
		    strcmp(opt, "--count") == 0 ? KO_COUNT : 0;
		if ((bit & c->opts) == 0)
			return opt_unknown(cmd, opt);
		if (bit == KO_ALL) {
			a->all = true;
			continue;
		}
		if (bit == KO_LIMIT || bit == KO_COUNT) {
			if (!opt_num(cmd, argc, argv, &k, 1, bit == KO_LIMIT ?
			    KV_LIMIT_MAX : KV_COUNT_MAX, &n))
				return EXIT_USAGE;
			if (bit == KO_LIMIT)
				a->lo.limit = (unsigned)n;
			else
				a->count = (unsigned long)n;
			continue;
		}
		if (!opt_value(cmd, argc, argv, k))
			return EXIT_USAGE;
		opt = argv[++k];
		switch (bit) {
		case KO_TIMEOUT:
			if ((a->o.timeout_ms = call_duration(opt,
			    CALL_TIMEOUT_MAX)) == -1) {
				out_errx(PEER_INVALID_ARGUMENT, "%s: --timeout: "
				    "\"%s\" is not a duration from 1ms to 24h",
				    cmd, opt);
				return EXIT_USAGE;
			}
			a->lo.timeout_ms = a->o.timeout_ms;
			break;
		case KO_IF_VERSION:
			if (!parse_u64(opt, &u)) {
				out_errx(PEER_INVALID_ARGUMENT, "%s: "
				    "--if-version: \"%s\" is not a version (a "
				    "whole number; 0: only if absent)", cmd,
				    opt);
				return EXIT_USAGE;
			}
			a->o.if_version_set = true;
			a->o.if_version = u;
			break;
		case KO_TTL:
			if (duration_parse(opt, &u) == -1 || u == 0) {
				out_errx(PEER_INVALID_ARGUMENT, "%s: --ttl: "
				    "\"%s\" is not a duration of 1ms or more",
				    cmd, opt);
				return EXIT_USAGE;
			}
			a->o.ttl_ms = u;
			break;
		case KO_AFTER:
			a->lo.after = opt;
			break;
		}
	}
	return a->npos < c->npos ? -1 : EXIT_OK;
}

int
cmd_kv(const struct opts *o, int argc, char **argv)
{
	struct kv_cmd_args	 a;
	size_t			 i;
	int			 rc;

	if (argc < 2)
		return -1;
	memset(&a, 0, sizeof(a));
	for (i = 0; i < NKV_CMDS; i++)
		if (strcmp(argv[1], kv_cmds[i].sub) == 0)
			a.c = &kv_cmds[i];
	if (a.c == NULL) {
		out_errx(PEER_INVALID_ARGUMENT, "kv: unknown subcommand %s "
		    "(see peerctl kv --help)", argv[1]);
		return EXIT_USAGE;
	}
	snprintf(a.what, sizeof(a.what), "kv %s", a.c->sub);
	if ((rc = kv_parse(argc, argv, &a)) != EXIT_OK)
		return rc;
	/* Errors name the key or prefix too, as far as it fits. */
	if (a.npos > 0)
		snprintf(a.what, sizeof(a.what), "kv %s %.256s", a.c->sub,
		    a.pos[0]);
	return a.c->fn(o, &a);
}
