/* SPDX-License-Identifier: ISC */
/*
 * test_kv.c: the replicated key-value store among real daemons: a put
 * on one node is read on every other; compare-and-set conflicts; two
 * clients on different nodes merging into one map at once; an owner
 * killed; every node stopped and started, then killed and started;
 * five nodes joining five;
 * expiry; a watch; 10,000 keys.  Each wait has a deadline, and the
 * times the store took are printed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cbor_buf.h"
#include "frame.h"
#include "harness.h"
#include "peer.h"
#include "suites.h"
#include "../../ctl/cbor_json.h"

#define N		10	/* the most daemons a test runs */
#define FIRST		5	/* the daemons a test starts with */
#define R		3	/* kv_replicas */
#define WINDOW		64	/* pipelined requests in flight */
#define OP_TIMEOUT	10000	/* ms, libpeer's wait for one answer */

/* Failures are seen within about a second, keys compared twice a second. */
static const char	conf[] = "ping_interval = 200ms\ndead_after = 1500ms\n"
			    "suspect_timeout = 500ms\nprobe_timeout = 200ms\n"
			    "gossip_interval = 200ms\nkv_sync_interval = 500ms\n";

static struct daemon	d[N];
static char		ids[N][64];
static char		names[N][16];

static void
setup(void)
{
	int	i;

	daemons_init_mesh(d, N);
	for (i = 0; i < N; i++) {
		daemon_config(&d[i], conf);
		snprintf(names[i], sizeof(names[i]), "kv%d", i);
		ids[i][0] = '\0';
	}
}

static void
teardown(void)
{
	daemons_free(d, N);
}

/* Starts daemon i, bootstrapped to daemon 0 unless it is daemon 0. */
static void
start(int i)
{
	daemon_start_boot(&d[i], names[i], i > 0 ? &d[0] : NULL);
	daemon_id(&d[i], ids[i]);
}

/* The daemon whose node ID is id, or -1. */
static int
daemon_of(const char *id)
{
	int	i;

	for (i = 0; i < N; i++)
		if (ids[i][0] != '\0' && strcmp(ids[i], id) == 0)
			return i;
	return -1;
}

/* One op on daemon i; its result as JSON, or NULL with err set. */
static json_t *
op(int i, const char *name, const struct cbor_buf *body, size_t npairs,
    struct peer_error *err)
{
	struct peer	*p;
	uint8_t		*res = NULL;
	size_t		 len;
	json_t		*j = NULL;

	if ((p = peer_open(d[i].sock, err)) == NULL)
		return NULL;
	if (peer_op(p, name, body != NULL ? body->data : NULL,
	    body != NULL ? body->len : 0, npairs, OP_TIMEOUT, &res, &len,
	    err) == 0 && (j = cbor_to_json(res, len)) == NULL) {
		err->code = PEER_INTERNAL;
		snprintf(err->message, sizeof(err->message), "%s: result is "
		    "not one CBOR item", name);
	}
	free(res);
	peer_close(p);
	return j;
}

/* The body of a put of key: a text value, an optional version and ttl. */
static size_t
put_body(struct cbor_buf *b, const char *key, const char *value,
    long long if_version, unsigned ttl)
{
	size_t	n = 2;

	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_text(b, value);
	if (if_version >= 0) {
		cbor_put_text(b, "if_version");
		cbor_put_uint(b, (uint64_t)if_version);
		n++;
	}
	if (ttl > 0) {
		cbor_put_text(b, "ttl");
		cbor_put_uint(b, ttl);
		n++;
	}
	return n;
}

/* A key's version in an answer, 0 if none. */
static json_int_t
version_of(json_t *j)
{
	return json_integer_value(json_object_get(j, "version"));
}

/*
 * kv_put of a text value on daemon i (if_version < 0: none; ttl 0:
 * none); the version written, or 0 with err set.
 */
static json_int_t
kv_put(int i, const char *key, const char *value, long long if_version,
    unsigned ttl, struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;
	json_int_t	 v = 0;
	size_t		 n = put_body(&b, key, value, if_version, ttl);

	if ((j = op(i, "kv_put", &b, n, err)) != NULL) {
		v = version_of(j);
		if (v <= 0) {
			err->code = PEER_INTERNAL;
			snprintf(err->message, sizeof(err->message),
			    "kv_put %s: no version in the answer", key);
		}
		json_decref(j);
	}
	cbor_buf_free(&b);
	return v;
}

/* kv_put that must succeed. */
static json_int_t
must_put(int i, const char *key, const char *value)
{
	struct peer_error	err;
	json_int_t		v;

	v = kv_put(i, key, value, -1, 0, &err);
	ck_assert_msg(v > 0, "kv_put %s on %s: %s: %s", key, names[i],
	    peer_code_name(err.code), err.message);
	return v;
}

/* A request of one key alone: kv_get, kv_where. */
static json_t *
key_op(int i, const char *name, const char *key, struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;

	cbor_put_text(&b, "key");
	cbor_put_text(&b, key);
	j = op(i, name, &b, 1, err);
	cbor_buf_free(&b);
	return j;
}

/* kv_del on daemon i (if_version < 0: none); the answer or NULL. */
static json_t *
kv_del(int i, const char *key, long long if_version, struct peer_error *err)
{
	struct cbor_buf	 b = { 0 };
	json_t		*j;

	cbor_put_text(&b, "key");
	cbor_put_text(&b, key);
	if (if_version >= 0) {
		cbor_put_text(&b, "if_version");
		cbor_put_uint(&b, (uint64_t)if_version);
	}
	j = op(i, "kv_del", &b, if_version >= 0 ? 2 : 1, err);
	cbor_buf_free(&b);
	return j;
}

/* kv_get of a text value that must be there, at version v if v > 0. */
static void
must_get(int i, const char *key, const char *value, json_int_t v)
{
	struct peer_error	 err;
	json_t			*j;

	j = key_op(i, "kv_get", key, &err);
	ck_assert_msg(j != NULL, "kv_get %s on %s: %s: %s", key, names[i],
	    peer_code_name(err.code), err.message);
	ck_assert_msg(json_is_string(json_object_get(j, "value")) &&
	    strcmp(json_string_value(json_object_get(j, "value")), value) == 0,
	    "kv_get %s on %s: not \"%s\"", key, names[i], value);
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")), key);
	ck_assert_msg(daemon_of(json_string_value(json_object_get(j,
	    "writer"))) >= 0, "kv_get %s: the writer is no node", key);
	if (v > 0)
		ck_assert_msg(version_of(j) == v, "kv_get %s on %s: version "
		    "%lld, not %lld", key, names[i], (long long)version_of(j),
		    (long long)v);
	json_decref(j);
}

/* kv_get that must answer code. */
static void
must_fail(int i, const char *key, enum peer_code code)
{
	struct peer_error	 err;
	json_t			*j;

	j = key_op(i, "kv_get", key, &err);
	ck_assert_msg(j == NULL, "kv_get %s on %s succeeded", key, names[i]);
	ck_assert_msg(err.code == code, "kv_get %s on %s: %s (%s), not %s",
	    key, names[i], peer_code_name(err.code), err.message,
	    peer_code_name(code));
}

/* Whether every one of daemons [0, n) sees the others alive. */
static bool
all_alive(void *arg)
{
	struct peer_error	 err;
	json_t			*j, *e;
	const char		*state, *name;
	size_t			 k;
	int			 i, m, alive, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		if ((j = op(i, "members", NULL, 0, &err)) == NULL)
			return false;
		alive = 0;
		json_array_foreach(json_object_get(j, "members"), k, e) {
			name = json_string_value(json_object_get(e, "name"));
			state = json_string_value(json_object_get(e, "state"));
			for (m = 0; m < n; m++)
				if (m != i && name != NULL && state != NULL &&
				    strcmp(name, names[m]) == 0 &&
				    strcmp(state, "alive") == 0)
					alive++;
		}
		json_decref(j);
		if (alive != n - 1)
			return false;
	}
	return true;
}

static void
wait_mesh(int n)
{
	long	t0 = test_now_ms();

	ck_assert_msg(wait_until(all_alive, &n, 20000), "the %d daemons do "
	    "not all see each other alive within 20 s", n);
	fprintf(stderr, "kv: %d daemons see each other alive after %ld ms\n",
	    n, test_now_ms() - t0);
}

/* A number of the stats op: the value of family's first sample. */
static double
stat_of(int i, const char *family)
{
	struct peer_error	 err;
	json_t			*j, *v;
	double			 n = -1;

	if ((j = op(i, "stats", NULL, 0, &err)) == NULL)
		return -1;
	v = json_object_get(json_array_get(json_object_get(json_object_get(j,
	    family), "samples"), 0), "value");
	if (json_is_number(v))
		n = json_number_value(v);
	json_decref(j);
	return n;
}

/* The keys held by daemons [0, n), together; -1 if one does not say. */
static long
keys_held(int n)
{
	long	sum = 0;
	double	v;
	int	i;

	for (i = 0; i < n; i++) {
		if ((v = stat_of(i, "peerd_kv_keys")) < 0)
			return -1;
		sum += (long)v;
	}
	return sum;
}

/*
 * Pipelined requests on one connection: build(k) writes the body of
 * request k and returns its pairs; check(k, reply) says whether its
 * answer is right.  At most WINDOW in flight.
 */
struct bulk {
	const char	*op;
	int		 n;
	size_t		(*build)(struct cbor_buf *, int k, void *arg);
	bool		(*check)(int k, const struct peer_reply *, void *arg);
	void		*arg;
	int		 done;
	int		 failed;
	char		 first[600];	/* the first failure */
};

struct bulk_req {
	struct bulk	*b;
	int		 k;
};

static void
bulk_cb(struct peer *p, const struct peer_reply *r, void *arg)
{
	struct bulk_req	*q = arg;
	struct bulk	*b = q->b;

	(void)p;
	b->done++;
	if (b->check(q->k, r, b->arg))
		return;
	if (b->failed++ == 0)
		snprintf(b->first, sizeof(b->first), "%s #%d: %s%s%s", b->op,
		    q->k, r->error != NULL ? peer_code_name(r->error->code) :
		    "a wrong answer", r->error != NULL ? ": " : "",
		    r->error != NULL ? r->error->message : "");
}

/* Runs b on daemon i; true if every answer was right, within ms. */
static bool
bulk_run(int i, struct bulk *b, int ms)
{
	struct peer		*p;
	struct peer_error	 err;
	struct bulk_req		*q;
	struct cbor_buf		 body = { 0 };
	struct pollfd		 pfd;
	long			 deadline = test_now_ms() + ms;
	size_t			 npairs;
	int			 sent = 0;

	b->done = b->failed = 0;
	b->first[0] = '\0';
	ck_assert_ptr_nonnull(q = calloc((size_t)b->n, sizeof(*q)));
	if ((p = peer_open(d[i].sock, &err)) == NULL) {
		snprintf(b->first, sizeof(b->first), "peer_open: %s",
		    err.message);
		free(q);
		return false;
	}
	while (b->done < b->n && test_now_ms() < deadline) {
		while (sent < b->n && sent - b->done < WINDOW) {
			cbor_buf_reset(&body);
			npairs = b->build(&body, sent, b->arg);
			q[sent] = (struct bulk_req){ b, sent };
			if (peer_request(p, b->op, body.data, body.len, npairs,
			    OP_TIMEOUT, bulk_cb, &q[sent], NULL, &err) == -1) {
				snprintf(b->first, sizeof(b->first), "%s: %s",
				    b->op, err.message);
				b->failed++;
				goto out;
			}
			sent++;
		}
		pfd = (struct pollfd){ peer_fd(p), POLLIN, 0 };
		if (pfd.fd == -1 || (poll(&pfd, 1, 100) > 0 &&
		    peer_dispatch(p, &err) == -1)) {
			snprintf(b->first, sizeof(b->first), "%s: connection "
			    "lost: %s", b->op, err.message);
			b->failed++;
			goto out;
		}
	}
	if (b->done < b->n && b->failed++ == 0)
		snprintf(b->first, sizeof(b->first), "%s: %d of %d answered "
		    "in %d ms", b->op, b->done, b->n, ms);
out:
	/* Ends what is left; their callbacks run now. */
	peer_close(p);
	cbor_buf_free(&body);
	free(q);
	return b->failed == 0;
}

/* The keys of the bulk tests: PREFIX/00042, valued v00042. */
struct keys {
	const char	*prefix;
	int		 deleted_every;	/* key k with k % this == 0: absent */
};

static void
key_name(char *buf, size_t len, const struct keys *ks, int k)
{
	snprintf(buf, len, "%s/%05d", ks->prefix, k);
}

static size_t
build_put(struct cbor_buf *b, int k, void *arg)
{
	char	key[64], value[16];

	key_name(key, sizeof(key), arg, k);
	snprintf(value, sizeof(value), "v%05d", k);
	return put_body(b, key, value, -1, 0);
}

static size_t
build_key(struct cbor_buf *b, int k, void *arg)
{
	char	key[64];

	key_name(key, sizeof(key), arg, k);
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	return 1;
}

static bool
check_written(int k, const struct peer_reply *r, void *arg)
{
	json_t	*j;
	bool	 ok;

	(void)k; (void)arg;
	if (r->error != NULL)
		return false;
	j = cbor_to_json(r->result, r->result_len);
	ok = version_of(j) > 0;
	json_decref(j);
	return ok;
}

static bool
check_value(int k, const struct peer_reply *r, void *arg)
{
	const struct keys	*ks = arg;
	char			 key[64], value[16];
	json_t			*j, *v;
	bool			 ok;

	if (ks->deleted_every > 0 && k % ks->deleted_every == 0)
		return r->error != NULL && r->error->code == PEER_NOT_FOUND;
	if (r->error != NULL)
		return false;
	key_name(key, sizeof(key), ks, k);
	snprintf(value, sizeof(value), "v%05d", k);
	j = cbor_to_json(r->result, r->result_len);
	v = json_object_get(j, "value");
	ok = json_is_string(v) && strcmp(json_string_value(v), value) == 0 &&
	    strcmp(json_string_value(json_object_get(j, "key")), key) == 0 &&
	    version_of(j) > 0;
	json_decref(j);
	return ok;
}

/* n keys put on daemon i, every one acknowledged. */
static void
put_keys(int i, struct keys *ks, int n)
{
	struct bulk	b = { "kv_put", n, build_put, check_written, ks, 0, 0,
			    "" };
	long		t0 = test_now_ms();

	ck_assert_msg(bulk_run(i, &b, 60000), "%d puts on %s: %d failed, "
	    "first %s", n, names[i], b.failed, b.first);
	fprintf(stderr, "kv: %d puts on %s, %d in flight: %ld ms\n", n,
	    names[i], WINDOW, test_now_ms() - t0);
}

/* Whether n keys read on daemon i are all as put (and deleted). */
static bool
keys_read(int i, struct keys *ks, int n, char *why, size_t whylen)
{
	struct bulk	b = { "kv_get", n, build_key, check_value, ks, 0, 0,
			    "" };

	if (bulk_run(i, &b, 60000))
		return true;
	snprintf(why, whylen, "%d of %d reads on %s wrong, first %s",
	    b.failed, n, names[i], b.first);
	return false;
}

START_TEST(test_put_read_everywhere)
{
	struct peer_error	 err;
	json_int_t		 v, v2;
	json_t			*j;
	int			 i, status;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	/* peerctl kv put and get, as a user would. */
	ck_assert_msg((j = peerctl_json(&d[0], &status, "kv", "put",
	    "greeting", "\"hello\"", NULL)) != NULL, "peerctl kv put: "
	    "status %d", status);
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")),
	    "greeting");
	ck_assert_int_gt(v = version_of(j), 0);
	json_decref(j);
	for (i = 1; i < FIRST; i++) {
		ck_assert_msg((j = peerctl_json(&d[i], &status, "kv", "get",
		    "greeting", NULL)) != NULL, "peerctl kv get on %s: status "
		    "%d", names[i], status);
		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "value")), "hello");
		ck_assert_int_eq(version_of(j), v);
		json_decref(j);
		must_get(i, "greeting", "hello", v);
	}
	/* A newer write from another node, read everywhere at once. */
	v2 = must_put(3, "greeting", "hello again");
	ck_assert_msg(v2 > v, "the second version is not newer");
	for (i = 0; i < FIRST; i++)
		must_get(i, "greeting", "hello again", v2);

	ck_assert_ptr_nonnull(j = kv_del(2, "greeting", -1, &err));
	ck_assert_msg(version_of(j) > v2, "a delete's version is not newer");
	json_decref(j);
	for (i = 0; i < FIRST; i++)
		must_fail(i, "greeting", PEER_NOT_FOUND);
	/* Deleting what is absent writes nothing. */
	ck_assert_ptr_null(kv_del(4, "greeting", -1, &err));
	ck_assert_int_eq(err.code, PEER_NOT_FOUND);
	must_fail(1, "never-written", PEER_NOT_FOUND);
	/* Keys are checked before anything is sent. */
	ck_assert_ptr_null(key_op(0, "kv_get", "", &err));
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
	ck_assert_ptr_null(key_op(0, "kv_get", "bad\nkey", &err));
	ck_assert_int_eq(err.code, PEER_INVALID_ARGUMENT);
}
END_TEST

/* kv_merge of a one-field map {field: n}. */
static size_t
merge_body(struct cbor_buf *b, const char *key, const char *field,
    uint64_t n)
{
	cbor_put_text(b, "key");
	cbor_put_text(b, key);
	cbor_put_text(b, "value");
	cbor_put_map(b, 1);
	cbor_put_text(b, field);
	cbor_put_uint(b, n);
	return 2;
}

START_TEST(test_compare_and_set)
{
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	json_int_t		 v1, v2, v3;
	json_t			*j;
	size_t			 n;
	int			 i;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	v1 = must_put(0, "cas", "a");
	v2 = kv_put(1, "cas", "b", v1, 0, &err);
	ck_assert_msg(v2 > v1, "kv_put if_version %lld: %s: %s",
	    (long long)v1, peer_code_name(err.code), err.message);
	/* A writer that read v1 loses. */
	ck_assert_int_eq(kv_put(2, "cas", "c", v1, 0, &err), 0);
	ck_assert_msg(err.code == PEER_FAILED_PRECONDITION, "stale "
	    "if_version: %s (%s)", peer_code_name(err.code), err.message);
	ck_assert_int_eq(kv_put(3, "cas", "c", 0, 0, &err), 0);
	ck_assert_msg(err.code == PEER_FAILED_PRECONDITION, "if_version 0 "
	    "of a key that exists: %s (%s)", peer_code_name(err.code),
	    err.message);
	ck_assert_ptr_null(kv_del(4, "cas", v1, &err));
	ck_assert_int_eq(err.code, PEER_FAILED_PRECONDITION);
	for (i = 0; i < FIRST; i++)
		must_get(i, "cas", "b", v2);

	/* A merge into a value that is not a map. */
	n = merge_body(&b, "cas", "f", 1);
	ck_assert_ptr_null(j = op(0, "kv_merge", &b, n, &err));
	ck_assert_msg(err.code == PEER_FAILED_PRECONDITION, "merge into "
	    "text: %s (%s)", peer_code_name(err.code), err.message);
	cbor_buf_free(&b);

	/* Deleted at the version read, then created only if absent. */
	ck_assert_ptr_nonnull(j = kv_del(4, "cas", v2, &err));
	json_decref(j);
	v3 = kv_put(1, "cas", "d", 0, 0, &err);
	ck_assert_msg(v3 > v2, "kv_put if_version 0 of a deleted key: %s: %s",
	    peer_code_name(err.code), err.message);
	for (i = 0; i < FIRST; i++)
		must_get(i, "cas", "d", v3);
}
END_TEST

#define MERGES	500

/* Client c's merges: field cC-K valued K into one map. */
struct merges {
	int	c;
};

static size_t
build_merge(struct cbor_buf *b, int k, void *arg)
{
	const struct merges	*m = arg;
	char			 field[32];

	snprintf(field, sizeof(field), "c%d-%03d", m->c, k);
	return merge_body(b, "shared/map", field, (uint64_t)k);
}

/* A child process merging on daemon i; exits 0 if all were written. */
static pid_t
merger(int i, int c)
{
	struct merges	m = { c };
	struct bulk	b = { "kv_merge", MERGES, build_merge, check_written,
			    &m, 0, 0, "" };
	pid_t		pid;

	if ((pid = fork_child(NULL)) != 0)
		return pid;
	if (bulk_run(i, &b, 60000))
		_exit(0);
	fprintf(stderr, "kv: merger %d on %s: %d failed, first %s\n", c,
	    names[i], b.failed, b.first);
	_exit(1);
}

static bool
reaped(void *arg)
{
	pid_t	*pid = arg;
	int	 status;

	if (*pid <= 0)
		return true;
	if (waitpid(*pid, &status, WNOHANG) != *pid)
		return false;
	*pid = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	return true;
}

START_TEST(test_concurrent_merges)
{
	struct peer_error	 err;
	json_t			*j, *map, *f;
	pid_t			 kids[2];
	char			 field[32];
	long			 t0;
	int			 i, c, k;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	t0 = test_now_ms();
	kids[0] = merger(1, 0);
	kids[1] = merger(3, 1);
	for (c = 0; c < 2; c++) {
		if (!wait_until(reaped, &kids[c], 90000)) {
			kill(kids[c], SIGKILL);
			waitpid(kids[c], NULL, 0);
			ck_abort_msg("merger %d did not end in 90 s", c);
		}
		ck_assert_msg(kids[c] == 0, "merger %d failed (its message "
		    "is above)", c);
	}
	fprintf(stderr, "kv: 2 x %d merges into one map from two nodes: "
	    "%ld ms\n", MERGES, test_now_ms() - t0);

	for (i = 0; i < FIRST; i += 2) {
		j = key_op(i, "kv_get", "shared/map", &err);
		ck_assert_msg(j != NULL, "kv_get of the map on %s: %s: %s",
		    names[i], peer_code_name(err.code), err.message);
		map = json_object_get(j, "value");
		ck_assert_msg(json_is_object(map), "the value is not a map");
		ck_assert_int_eq(json_object_size(map), 2 * MERGES);
		for (c = 0; c < 2; c++)
			for (k = 0; k < MERGES; k++) {
				snprintf(field, sizeof(field), "c%d-%03d", c,
				    k);
				f = json_object_get(map, field);
				ck_assert_msg(json_is_integer(f) &&
				    json_integer_value(f) == k,
				    "field %s is missing or wrong", field);
			}
		json_decref(j);
	}
}
END_TEST

/*
 * What kv_where says of key: the owners listed (the first of them in
 * nodes), how many answered holding version v (0: any), the
 * coordinator, and whether daemon skip is among them.
 */
struct where {
	int	n;
	int	holding;
	int	coordinator;	/* the daemon, or -1 */
	int	nodes[R + 4];
	bool	listed_skip;
};

static bool
kv_where(int i, const char *key, json_int_t v, int skip, struct where *w)
{
	struct peer_error	 err;
	json_t			*j, *e;
	size_t			 k;
	int			 who;

	memset(w, 0, sizeof(*w));
	w->coordinator = -1;
	if ((j = key_op(i, "kv_where", key, &err)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "owners"), k, e) {
		who = daemon_of(json_string_value(json_object_get(e, "node")));
		if (w->n < (int)(sizeof(w->nodes) / sizeof(w->nodes[0])))
			w->nodes[w->n] = who;
		w->n++;
		if (skip >= 0 && who == skip)
			w->listed_skip = true;
		if (json_is_true(json_object_get(e, "coordinator")))
			w->coordinator = who;
		if (json_is_true(json_object_get(e, "answered")) &&
		    (v == 0 ? version_of(e) > 0 : version_of(e) == v))
			w->holding++;
	}
	json_decref(j);
	return true;
}

/* Every key of a set held by R live owners, at its version, per entry. */
struct placed {
	int		 entry;		/* the daemon asked */
	int		 skip;		/* a daemon that must not be an owner */
	const char	*const *keys;
	const json_int_t *versions;
	int		 n;
	char		 why[256];
};

static bool
all_placed(void *arg)
{
	struct placed	*pl = arg;
	struct where	 w;
	int		 k;

	for (k = 0; k < pl->n; k++) {
		if (!kv_where(pl->entry, pl->keys[k], pl->versions[k],
		    pl->skip, &w)) {
			snprintf(pl->why, sizeof(pl->why), "kv_where %s failed",
			    pl->keys[k]);
			return false;
		}
		if (w.n != R || w.holding != R || w.listed_skip) {
			snprintf(pl->why, sizeof(pl->why), "%s: %d owners, %d "
			    "hold it%s", pl->keys[k], w.n, w.holding,
			    w.listed_skip ? ", the dead one listed" : "");
			return false;
		}
	}
	return true;
}

#define OWNED	30

struct retry_put {
	int		 i;
	const char	*key;
	const char	*value;
	json_int_t	 v;
};

static bool
put_succeeds(void *arg)
{
	struct retry_put	*rp = arg;
	struct peer_error	 err;

	return (rp->v = kv_put(rp->i, rp->key, rp->value, -1, 0, &err)) > 0;
}

START_TEST(test_owner_killed)
{
	static char		 keys[OWNED][16];
	const char		*all[OWNED];
	json_int_t		 versions[OWNED];
	struct placed		 pl;
	struct retry_put	 rp;
	struct where		 w;
	char			 value[32];
	json_t			*j, *e;
	size_t			 k2;
	long			 t0;
	int			 i, k, status, n = 0, victim = -1, key = -1;
	int			 entry, who, coordinators = 0;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	for (k = 0; k < OWNED; k++) {
		snprintf(keys[k], sizeof(keys[k]), "own/%02d", k);
		all[k] = keys[k];
		versions[k] = must_put(0, keys[k], "before");
	}
	/* A key coordinated by a node other than daemon 0: that one dies. */
	for (k = 0; k < OWNED && victim < 0; k++) {
		ck_assert(kv_where(0, keys[k], versions[k], -1, &w));
		ck_assert_msg(w.n == R && w.holding == R, "%s: %d owners, %d "
		    "hold it", keys[k], w.n, w.holding);
		if (w.coordinator > 0) {
			victim = w.coordinator;
			key = k;
		}
	}
	ck_assert_msg(victim > 0, "daemon 0 coordinates every key");
	entry = victim == 1 ? 2 : 1;
	for (k = 0; k < OWNED; k++) {
		ck_assert(kv_where(entry, keys[k], versions[k], victim, &w));
		if (w.listed_skip)
			n++;
	}

	t0 = test_now_ms();
	status = daemon_stop(&d[victim], SIGKILL);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Writes of its key go on once its death is seen. */
	rp = (struct retry_put){ entry, keys[key], "after", 0 };
	ck_assert_msg(wait_until(put_succeeds, &rp, 10000), "no write of %s "
	    "succeeds within 10 s of its coordinator's death", keys[key]);
	versions[key] = rp.v;
	fprintf(stderr, "kv: a write of a dead coordinator's key succeeds "
	    "after %ld ms\n", test_now_ms() - t0);
	for (k = 0; k < OWNED; k++)
		if (k != key)
			must_get(entry, keys[k], "before", versions[k]);
	must_get(entry, keys[key], "after", versions[key]);

	/* R live owners hold each again, copied by the survivors. */
	pl = (struct placed){ entry, victim, all, versions, OWNED, "" };
	ck_assert_msg(wait_until(all_placed, &pl, 15000), "not back at %d "
	    "live owners within 15 s: %s", R, pl.why);
	fprintf(stderr, "kv: %d keys (%d of them the dead node's) at %d live "
	    "owners %ld ms after the kill\n", OWNED, n, R,
	    test_now_ms() - t0);

	/* Every key is written again, from two nodes, and read back. */
	for (k = 0; k < OWNED; k++) {
		snprintf(value, sizeof(value), "after %d", k);
		versions[k] = must_put(k % 2 == 0 ? entry : 0, keys[k], value);
	}
	for (k = 0; k < OWNED; k++) {
		snprintf(value, sizeof(value), "after %d", k);
		must_get(k % 2 == 0 ? 0 : entry, keys[k], value, versions[k]);
	}
	/* As peerctl kv where shows it. */
	ck_assert_msg((j = peerctl_json(&d[entry], &status, "kv", "where",
	    keys[key], NULL)) != NULL, "peerctl kv where: status %d", status);
	ck_assert_int_eq(json_array_size(json_object_get(j, "owners")), R);
	json_array_foreach(json_object_get(j, "owners"), k2, e) {
		who = daemon_of(json_string_value(json_object_get(e, "node")));
		ck_assert_msg(who >= 0 && who != victim, "kv where lists %s",
		    json_string_value(json_object_get(e, "node")));
		ck_assert(json_is_true(json_object_get(e, "answered")));
		ck_assert_int_eq(version_of(e), versions[key]);
		if (json_is_true(json_object_get(e, "coordinator")))
			coordinators++;
	}
	ck_assert_int_eq(coordinators, 1);
	json_decref(j);
}
END_TEST

#define RESTART_KEYS	300

START_TEST(test_stop_and_start_all)
{
	struct keys		 ks = { "keep", 0 }, ks2 = { "crash", 0 };
	struct peer_error	 err;
	char			 key[64], why[700];
	json_t			*j;
	int			 i, k, status;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	put_keys(0, &ks, RESTART_KEYS);
	/* Every tenth deleted: the deletes must hold too. */
	for (k = 0; k < RESTART_KEYS; k += 10) {
		key_name(key, sizeof(key), &ks, k);
		ck_assert_msg((j = kv_del(k % FIRST, key, -1, &err)) != NULL,
		    "kv_del %s: %s: %s", key, peer_code_name(err.code),
		    err.message);
		json_decref(j);
	}
	ks.deleted_every = 10;
	ck_assert_msg(keys_read(4, &ks, RESTART_KEYS, why, sizeof(why)),
	    "%s", why);

	for (i = 0; i < FIRST; i++)
		ck_assert_int_eq(daemon_stop(&d[i], SIGTERM), 0);
	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);
	for (i = 0; i < FIRST; i++)
		ck_assert_msg(keys_read(i, &ks, RESTART_KEYS, why,
		    sizeof(why)), "after the restart: %s", why);

	/* Killed, not stopped: what was acknowledged had reached the OS. */
	put_keys(2, &ks2, RESTART_KEYS);
	for (i = 0; i < FIRST; i++) {
		status = daemon_stop(&d[i], SIGKILL);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);
	for (i = 0; i < FIRST; i++)
		ck_assert_msg(keys_read(i, &ks2, RESTART_KEYS, why,
		    sizeof(why)) && keys_read(i, &ks, RESTART_KEYS, why,
		    sizeof(why)), "after kill -9 and a start: %s", why);
}
END_TEST

#define JOIN_KEYS	300

struct spread {
	int	n;		/* daemons up */
	long	want;		/* copies in all */
	long	held;
};

static bool
copies_are(void *arg)
{
	struct spread	*s = arg;

	return (s->held = keys_held(s->n)) == s->want;
}

/* What each of daemons [0, n) holds and has handed off, for a failure. */
static const char *
spread_text(int n)
{
	static char	buf[512];
	size_t		len = 0;
	int		i, w;

	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof(buf); i++) {
		w = snprintf(buf + len, sizeof(buf) - len, "%s%s %.0f (%.0f "
		    "handed off)", i > 0 ? ", " : "", names[i],
		    stat_of(i, "peerd_kv_keys"),
		    stat_of(i, "peerd_kv_handed_off_total"));
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

START_TEST(test_five_join)
{
	static char	 keys[JOIN_KEYS][64];
	const char	*all[JOIN_KEYS];
	json_int_t	 versions[JOIN_KEYS];
	struct keys	 ks = { "join", 0 };
	struct spread	 s;
	struct placed	 pl;
	struct where	 w;
	double		 v;
	char		 why[700];
	long		 t0;
	int		 i, k, newer = 0;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);
	put_keys(0, &ks, JOIN_KEYS);
	s = (struct spread){ FIRST, (long)R * JOIN_KEYS, 0 };
	ck_assert_msg(wait_until(copies_are, &s, 10000), "%ld copies of %d "
	    "keys on %d nodes, not %ld", s.held, JOIN_KEYS, FIRST, s.want);

	t0 = test_now_ms();
	for (i = FIRST; i < N; i++)
		start(i);
	wait_mesh(N);
	/* Exactly R copies in all: the old owners dropped what they gave. */
	s = (struct spread){ N, (long)R * JOIN_KEYS, 0 };
	ck_assert_msg(wait_until(copies_are, &s, 30000), "%ld copies of %d "
	    "keys on %d nodes after the join, not %ld: %s", s.held, JOIN_KEYS,
	    N, s.want, spread_text(N));
	for (k = 0; k < JOIN_KEYS; k++) {
		key_name(keys[k], sizeof(keys[k]), &ks, k);
		all[k] = keys[k];
		versions[k] = 0;
	}
	/* And those R are the owners each key has now. */
	pl = (struct placed){ 7, -1, all, versions, JOIN_KEYS, "" };
	ck_assert_msg(wait_until(all_placed, &pl, 10000), "after the join: "
	    "%s", pl.why);
	fprintf(stderr, "kv: %d keys on exactly %d of their owners among %d "
	    "nodes %ld ms after 5 joined\n", JOIN_KEYS, R, N,
	    test_now_ms() - t0);
	for (k = 0; k < JOIN_KEYS; k++) {
		ck_assert(kv_where(2, keys[k], 0, -1, &w));
		for (i = 0; i < R; i++)
			if (w.nodes[i] >= FIRST)
				newer++;
	}
	ck_assert_msg(newer > 0, "no key moved to the new nodes");
	for (i = FIRST; i < N; i++) {
		v = stat_of(i, "peerd_kv_keys");
		ck_assert_msg(v > 0, "%s holds no key", names[i]);
	}
	ck_assert_msg(keys_read(9, &ks, JOIN_KEYS, why, sizeof(why)), "%s",
	    why);
}
END_TEST

struct gone {
	int		 i;
	const char	*key;
	long		 at;
};

static bool
key_gone(void *arg)
{
	struct gone		*g = arg;
	struct peer_error	 err;
	json_t			*j;

	if ((j = key_op(g->i, "kv_get", g->key, &err)) != NULL) {
		json_decref(j);
		return false;
	}
	if (err.code != PEER_NOT_FOUND)
		return false;
	g->at = test_now_ms();
	return true;
}

static bool
held_once(void *arg)
{
	return keys_held(FIRST) == *(long *)arg;
}

START_TEST(test_ttl)
{
	struct peer_error	 err;
	struct gone		 g;
	json_int_t		 v;
	json_t			*j;
	long			 t0, want = R;
	int			 i;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	t0 = test_now_ms();
	v = kv_put(0, "ttl/short", "soon gone", -1, 1500, &err);
	ck_assert_msg(v > 0, "kv_put ttl: %s: %s", peer_code_name(err.code),
	    err.message);
	must_put(0, "ttl/long", "stays");
	ck_assert_ptr_nonnull(j = key_op(1, "kv_get", "ttl/short", &err));
	ck_assert_msg(json_integer_value(json_object_get(j, "expires")) > 0,
	    "no expires in the answer");
	json_decref(j);

	g = (struct gone){ 2, "ttl/short", 0 };
	ck_assert_msg(wait_until(key_gone, &g, 6000), "ttl/short still there "
	    "6 s after a put with a ttl of 1.5 s");
	ck_assert_msg(g.at - t0 >= 1400, "ttl/short gone after %ld ms, before "
	    "its ttl of 1.5 s", g.at - t0);
	fprintf(stderr, "kv: a key with a ttl of 1500 ms is gone after %ld "
	    "ms\n", g.at - t0);
	for (i = 0; i < FIRST; i++) {
		must_fail(i, "ttl/short", PEER_NOT_FOUND);
		must_get(i, "ttl/long", "stays", 0);
	}
	/* The copies go too, not only the answers. */
	ck_assert_msg(wait_until(held_once, &want, 10000), "the expired "
	    "key's copies are still held after 10 s");
	/* Absent once expired: created again only if absent works. */
	ck_assert_int_gt(kv_put(3, "ttl/short", "again", 0, 0, &err), 0);
}
END_TEST

/* A raw control connection, to read kv_change messages as they come. */
static void
raw_send(int fd, const char *opname, uint64_t id, const char *prefix)
{
	struct cbor_buf	b = { 0 };
	uint8_t		hdr[FRAME_HDR];

	cbor_put_map(&b, 3);
	cbor_put_text(&b, "op");
	cbor_put_text(&b, opname);
	cbor_put_text(&b, "id");
	cbor_put_uint(&b, id);
	cbor_put_text(&b, "prefix");
	cbor_put_text(&b, prefix);
	frame_put_len(hdr, (uint32_t)b.len);
	ck_assert_int_eq(write(fd, hdr, FRAME_HDR), FRAME_HDR);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	cbor_buf_free(&b);
}

/* Reads len bytes by the deadline; false if they do not come. */
static bool
raw_read_n(int fd, uint8_t *buf, size_t len, long deadline)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		got = 0;
	ssize_t		n;
	long		left;

	while (got < len) {
		if ((left = deadline - test_now_ms()) <= 0 ||
		    poll(&pfd, 1, (int)left) <= 0)
			return false;
		if ((n = read(fd, buf + got, len - got)) <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* The next message, within ms; NULL if none. */
static json_t *
raw_next(int fd, int ms)
{
	uint8_t		 hdr[FRAME_HDR], *buf;
	uint32_t	 len;
	json_t		*j = NULL;
	long		 deadline = test_now_ms() + ms;

	if (!raw_read_n(fd, hdr, FRAME_HDR, deadline))
		return NULL;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	ck_assert_uint_le(len, 1u << 20);
	ck_assert_ptr_nonnull(buf = malloc(len));
	if (raw_read_n(fd, buf, len, deadline))
		j = cbor_to_json(buf, len);
	free(buf);
	return j;
}

/* Watches prefix on daemon i; the connection. */
static int
raw_watch(int i, const char *prefix)
{
	json_t	*j;
	int	 fd;

	ck_assert_int_ne(fd = unix_connect(d[i].sock), -1);
	raw_send(fd, "kv_watch", 1, prefix);
	ck_assert_ptr_nonnull(j = raw_next(fd, 5000));
	ck_assert_msg(json_integer_value(json_object_get(j, "id")) == 1 &&
	    json_object_get(j, "result") != NULL, "kv_watch refused");
	json_decref(j);
	return fd;
}

struct seen {
	int		 fd;
	const char	*key;		/* the one waited for */
	json_int_t	 v;
};

/* Whether a change of key at version v has come (others are skipped). */
static bool
change_seen(void *arg)
{
	struct seen	*s = arg;
	json_t		*j;
	bool		 found = false;

	while (!found && (j = raw_next(s->fd, 50)) != NULL) {
		found = json_is_string(json_object_get(j, "key")) &&
		    strcmp(json_string_value(json_object_get(j, "key")),
		    s->key) == 0 && version_of(j) >= s->v;
		json_decref(j);
	}
	return found;
}

struct expect {
	const char	*key;
	const char	*change;
	const char	*value;		/* a text value, or NULL */
};

START_TEST(test_watch)
{
	static const struct expect	 want[] = {
		{ "w/a", "put", "1" },
		{ "w/a", "put", "2" },
		{ "w/m", "put", "m" },
		{ "w/a", "del", NULL },
		{ "w/b", "put", "3" },
		{ "w/b", "del", NULL },
	};
	enum { NWANT = sizeof(want) / sizeof(want[0]) };
	struct peer_error		 err;
	struct seen			 s;
	json_int_t			 last[NWANT], v;
	bool				 taken[NWANT];
	json_t				*j;
	const char			*key, *change, *prefix;
	int				 fd, i, m, got = 0;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	fd = raw_watch(1, "w/");
	/* The lease reaches every node soon: a put it hears tells when. */
	s = (struct seen){ fd, "w/probe", 0 };
	s.v = must_put(2, "w/probe", "p");
	ck_assert_msg(wait_until(change_seen, &s, 5000), "no change of "
	    "w/probe within 5 s of the watch");

	/* From other nodes, each acknowledged before the next. */
	must_put(3, "w/a", "1");
	must_put(0, "w/a", "2");
	must_put(4, "x/outside", "x");
	must_put(3, "w/m", "m");
	ck_assert_ptr_nonnull(j = kv_del(2, "w/a", -1, &err));
	json_decref(j);
	must_put(2, "w/b", "3");
	ck_assert_ptr_nonnull(j = kv_del(0, "w/b", -1, &err));
	json_decref(j);

	/* Keys interleave as they come; each key's changes keep order. */
	memset(taken, 0, sizeof(taken));
	while (got < NWANT && (j = raw_next(fd, 5000)) != NULL) {
		prefix = json_string_value(json_object_get(j, "prefix"));
		key = json_string_value(json_object_get(j, "key"));
		change = json_string_value(json_object_get(j, "change"));
		ck_assert_msg(json_is_string(json_object_get(j, "op")) &&
		    strcmp(json_string_value(json_object_get(j, "op")),
		    "kv_change") == 0 && json_object_get(j, "id") == NULL,
		    "not a kv_change message");
		ck_assert_msg(prefix != NULL && strcmp(prefix, "w/") == 0,
		    "the change names another prefix");
		ck_assert_msg(key != NULL && change != NULL, "a change without "
		    "key or change");
		if (strcmp(key, "w/probe") == 0) {
			json_decref(j);
			continue;
		}
		for (i = 0; i < NWANT; i++)
			if (!taken[i] && strcmp(want[i].key, key) == 0)
				break;
		ck_assert_msg(i < NWANT, "a change of %s (%s) not expected",
		    key, change);
		ck_assert_msg(strcmp(change, want[i].change) == 0, "%s: %s "
		    "where %s was due", key, change, want[i].change);
		if (want[i].value != NULL)
			ck_assert_msg(json_is_string(json_object_get(j,
			    "value")) && strcmp(json_string_value(
			    json_object_get(j, "value")), want[i].value) == 0,
			    "%s: not the value put", key);
		v = version_of(j);
		for (m = 0; m < i; m++)
			if (strcmp(want[m].key, key) == 0)
				ck_assert_msg(v > last[m], "%s: version %lld "
				    "after %lld", key, (long long)v,
				    (long long)last[m]);
		ck_assert_msg(daemon_of(json_string_value(json_object_get(j,
		    "writer"))) >= 0, "the writer is no node");
		taken[i] = true;
		last[i] = v;
		got++;
		json_decref(j);
	}
	ck_assert_msg(got == NWANT, "%d of %d changes came", got, NWANT);
	/* Nothing of x/outside, and nothing more. */
	while ((j = raw_next(fd, 500)) != NULL) {
		key = json_string_value(json_object_get(j, "key"));
		ck_assert_msg(key != NULL && strcmp(key, "w/probe") == 0,
		    "an extra change of %s", key != NULL ? key : "(none)");
		json_decref(j);
	}
	close(fd);
}
END_TEST

#define MANY	10000

/* kv_list pages of a prefix: every key once, in order, with values. */
static void
list_all(int i, const char *prefix, int n, int limit)
{
	struct peer_error	 err;
	struct cbor_buf		 b = { 0 };
	char			 after[64] = "", key[64], value[16];
	json_t			*j, *e, *next;
	size_t			 k, npairs;
	int			 seen = 0, pages = 0;

	do {
		ck_assert_msg(pages++ <= n / limit + 1, "more pages than %d "
		    "keys fill", n);
		cbor_buf_reset(&b);
		cbor_put_text(&b, "prefix");
		cbor_put_text(&b, prefix);
		cbor_put_text(&b, "limit");
		cbor_put_uint(&b, (uint64_t)limit);
		npairs = 2;
		if (after[0] != '\0') {
			cbor_put_text(&b, "after");
			cbor_put_text(&b, after);
			npairs++;
		}
		j = op(i, "kv_list", &b, npairs, &err);
		ck_assert_msg(j != NULL, "kv_list after \"%s\": %s: %s", after,
		    peer_code_name(err.code), err.message);
		json_array_foreach(json_object_get(j, "items"), k, e) {
			ck_assert_int_lt(seen, n);
			snprintf(key, sizeof(key), "%s%05d", prefix, seen);
			snprintf(value, sizeof(value), "v%05d", seen);
			ck_assert_msg(strcmp(json_string_value(json_object_get(
			    e, "key")), key) == 0, "listed %s where %s was due",
			    json_string_value(json_object_get(e, "key")), key);
			ck_assert_str_eq(json_string_value(json_object_get(e,
			    "value")), value);
			ck_assert_int_gt(version_of(e), 0);
			seen++;
		}
		ck_assert_int_le(json_array_size(json_object_get(j, "items")),
		    (size_t)limit);
		next = json_object_get(j, "next");
		after[0] = '\0';
		if (json_is_string(next))
			snprintf(after, sizeof(after), "%s",
			    json_string_value(next));
		json_decref(j);
	} while (after[0] != '\0');
	cbor_buf_free(&b);
	ck_assert_msg(seen == n, "listed %d of %d keys", seen, n);
}

START_TEST(test_ten_thousand_keys)
{
	struct keys	 ks = { "many", 0 };
	char		 why[700];
	long		 t0;
	int		 i;

	for (i = 0; i < FIRST; i++)
		start(i);
	wait_mesh(FIRST);

	put_keys(0, &ks, MANY);
	t0 = test_now_ms();
	ck_assert_msg(keys_read(3, &ks, MANY, why, sizeof(why)), "%s", why);
	fprintf(stderr, "kv: %d reads on %s, %d in flight: %ld ms\n", MANY,
	    names[3], WINDOW, test_now_ms() - t0);
	t0 = test_now_ms();
	list_all(2, "many/", MANY, 1000);
	fprintf(stderr, "kv: %d keys listed in pages of 1000: %ld ms\n", MANY,
	    test_now_ms() - t0);
}
END_TEST

/* A store that cannot be opened stops the start, saying why. */
START_TEST(test_store_cannot_open)
{
	struct daemon	 one;
	char		 path[192];
	const char	*tail[] = { "--state-dir", one.state, "-S", one.sock,
			    "--listen", "127.0.0.1:0", "-o", "discovery=no",
			    NULL };
	FILE		*f;
	int		 status;

	daemon_init(&one);
	ck_assert_int_eq(mkdir(one.state, 0700), 0);
	snprintf(path, sizeof(path), "%s/kv", one.state);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	status = daemon_run_to_exit(&one, tail);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "peerd "
	    "ended with wait status 0x%x, not exit 1", (unsigned)status);
	ck_assert_msg(daemon_log_has(&one, "cannot open the key-value store"),
	    "no word of the store in the log");
	daemon_free(&one);
}
END_TEST

Suite *
kv_suite(void)
{
	Suite	*s = suite_create("kv");
	TCase	*tc = tcase_create("kv");
	TCase	*one = tcase_create("kv_start");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_put_read_everywhere);
	tcase_add_test(tc, test_compare_and_set);
	tcase_add_test(tc, test_concurrent_merges);
	tcase_add_test(tc, test_owner_killed);
	tcase_add_test(tc, test_stop_and_start_all);
	tcase_add_test(tc, test_five_join);
	tcase_add_test(tc, test_ttl);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_ten_thousand_keys);
	suite_add_tcase(s, tc);
	tcase_set_timeout(one, 20);
	tcase_add_test(one, test_store_cannot_open);
	suite_add_tcase(s, one);
	return s;
}
