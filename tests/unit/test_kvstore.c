/* SPDX-License-Identifier: ISC */
/*
 * test_kvstore.c: the store on disk: newer versions win, tombstones,
 * scans in key order, the byte limit, what survives a close and a
 * killed process, and records that are malformed on disk.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <lmdb.h>

#include "kvstore.h"
#include "suites.h"

static char	base[64];
static char	dir[96];

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/peerd-test-kvstore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/kv", base);
}

static void
teardown(void)
{
	char	path[128];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	rmdir(base);
}

static struct kvstore *
open_store(uint64_t max_bytes, bool sync_each)
{
	struct kvstore_params	 p = { dir, max_bytes, sync_each };
	struct kvstore		*s;
	char			 err[256];

	s = kvstore_open(&p, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

/* A CBOR byte string of n bytes, each fill, in buf. */
static size_t
bstr(uint8_t *buf, size_t n, uint8_t fill)
{
	buf[0] = 0x5a;
	buf[1] = n >> 24;
	buf[2] = n >> 16;
	buf[3] = n >> 8;
	buf[4] = n;
	memset(buf + 5, fill, n);
	return n + 5;
}

static struct kv_item
item(const char *key, uint64_t hlc, uint8_t writer, const uint8_t *val,
    size_t vlen)
{
	struct kv_item	it;

	memset(&it, 0, sizeof(it));
	it.key = key;
	it.keylen = strlen(key);
	it.ver.hlc = hlc;
	it.ver.node[0] = writer;
	it.value = val;
	it.valuelen = vlen;
	it.tombstone = val == NULL;
	return it;
}

static const uint8_t	V1[] = { 0x63, 'o', 'n', 'e' };
static const uint8_t	V2[] = { 0x63, 't', 'w', 'o' };

START_TEST(test_kv_key_valid)
{
	char	k[KV_KEY_MAX + 2];

	ck_assert(kv_key_valid("a", 1));
	ck_assert(kv_key_valid("config/db url", 13));
	ck_assert(kv_key_valid("\xc3\xa9t\xc3\xa9", 5));
	ck_assert(kv_key_valid("\xe6\x97\xa5", 3));
	ck_assert(!kv_key_valid("", 0));
	ck_assert(!kv_key_valid("a\nb", 3));
	ck_assert(!kv_key_valid("a\tb", 3));
	ck_assert(!kv_key_valid("a\x7f", 2));
	ck_assert(!kv_key_valid("a\0b", 3));
	ck_assert(!kv_key_valid("\xff", 1));
	ck_assert(!kv_key_valid("\xc3", 1));
	ck_assert(!kv_key_valid("\xc2\x85", 2));	/* NEL, a C1 control */
	ck_assert(kv_key_valid("\xc2\xa0", 2));		/* NBSP */
	memset(k, 'x', sizeof(k));
	ck_assert(kv_key_valid(k, KV_KEY_MAX));
	ck_assert(!kv_key_valid(k, KV_KEY_MAX + 1));
	ck_assert(kv_key_has_prefix("abc", 3, "", 0));
	ck_assert(kv_key_has_prefix("abc", 3, "ab", 2));
	ck_assert(kv_key_has_prefix("abc", 3, "abc", 3));
	ck_assert(!kv_key_has_prefix("abc", 3, "abcd", 4));
	ck_assert(!kv_key_has_prefix("abc", 3, "b", 1));
}
END_TEST

START_TEST(test_kvstore_newer_wins)
{
	struct kvstore	*s;
	struct kv_item	 it, got;
	struct stat	 st;

	s = open_store(1 << 20, false);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(kvstore_get(s, "k", 1, &got), 0);
	it = item("k", 100, 1, V1, sizeof(V1));
	it.expires_ms = 123456789;
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "k", 1, &got), 1);
	ck_assert_mem_eq(got.key, "k", 1);
	ck_assert_uint_eq(got.keylen, 1);
	ck_assert_uint_eq(got.ver.hlc, 100);
	ck_assert_int_eq(kv_version_cmp(&got.ver, &it.ver), 0);
	ck_assert_uint_eq(got.expires_ms, 123456789);
	ck_assert(!got.tombstone);
	ck_assert_uint_eq(got.valuelen, sizeof(V1));
	ck_assert_mem_eq(got.value, V1, sizeof(V1));
	ck_assert_uint_eq(kvstore_count(s), 1);
	ck_assert_uint_eq(kvstore_bytes(s), 1 + sizeof(V1));

	/* The same version again, and older ones, are refused. */
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_OLDER);
	it = item("k", 99, 9, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_OLDER);
	it = item("k", 100, 0, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_OLDER);
	ck_assert_int_eq(kvstore_get(s, "k", 1, &got), 1);
	ck_assert_mem_eq(got.value, V1, sizeof(V1));

	/* The same reading by a greater writer wins; so does a later one. */
	it = item("k", 100, 2, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "k", 1, &got), 1);
	ck_assert_mem_eq(got.value, V2, sizeof(V2));
	ck_assert_uint_eq(got.ver.node[0], 2);
	ck_assert_uint_eq(got.expires_ms, 0);

	/* An item whose spans point into the store can be put back. */
	got.ver.hlc = 200;
	ck_assert_int_eq(kvstore_put(s, &got), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "k", 1, &got), 1);
	ck_assert_uint_eq(got.ver.hlc, 200);
	ck_assert_mem_eq(got.value, V2, sizeof(V2));
	ck_assert_uint_eq(kvstore_count(s), 1);
	ck_assert_uint_eq(kvstore_bytes(s), 1 + sizeof(V2));
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_tombstone)
{
	struct kvstore	*s;
	struct kv_item	 it, got;

	s = open_store(1 << 20, false);
	it = item("gone", 10, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("gone", 11, 1, NULL, 0);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "gone", 4, &got), 1);
	ck_assert(got.tombstone);
	ck_assert_ptr_null(got.value);
	ck_assert_uint_eq(got.valuelen, 0);
	ck_assert_uint_eq(got.ver.hlc, 11);
	ck_assert_uint_eq(kvstore_count(s), 1);
	ck_assert_uint_eq(kvstore_bytes(s), 4);
	/* A late copy of the deleted value does not bring it back. */
	it = item("gone", 10, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_OLDER);
	/* A tombstone for a key never seen is held too. */
	it = item("never", 5, 1, NULL, 0);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "never", 5, &got), 1);
	ck_assert(got.tombstone);
	ck_assert_uint_eq(kvstore_count(s), 2);
	kvstore_close(s);
}
END_TEST

struct seen {
	char	keys[16][16];
	bool	tomb[16];
	int	n, stop;
};

static int
collect(void *arg, const struct kv_item *it)
{
	struct seen	*sn = arg;

	ck_assert_int_lt(sn->n, 16);
	ck_assert_uint_lt(it->keylen, 16);
	memcpy(sn->keys[sn->n], it->key, it->keylen);
	sn->keys[sn->n][it->keylen] = '\0';
	sn->tomb[sn->n] = it->tombstone;
	sn->n++;
	return sn->n == sn->stop;
}

static void
scan_expect(struct kvstore *s, const char *prefix, const char *after,
    int stop, const char *want)
{
	struct seen	sn;
	char		got[256] = "";
	long		n;
	int		i;

	memset(&sn, 0, sizeof(sn));
	sn.stop = stop;
	n = kvstore_scan(s, prefix, strlen(prefix), after,
	    after != NULL ? strlen(after) : 0, collect, &sn);
	ck_assert_int_eq(n, sn.n);
	for (i = 0; i < sn.n; i++) {
		strcat(got, sn.keys[i]);
		strcat(got, sn.tomb[i] ? "- " : " ");
	}
	ck_assert_msg(strcmp(got, want) == 0, "scan \"%s\" after \"%s\": "
	    "got \"%s\", want \"%s\"", prefix, after ? after : "(null)", got,
	    want);
}

START_TEST(test_kvstore_scan)
{
	static const char *const keys[] = { "b/2", "a", "b", "c", "b/1",
	    "b/3", "b0", "b/10", "b/" };
	struct kvstore	*s;
	struct kv_item	 it;
	size_t		 i;

	s = open_store(1 << 20, false);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		it = item(keys[i], 10 + i, 1, V1, sizeof(V1));
		ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	}
	it = item("b/3", 100, 1, NULL, 0);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	scan_expect(s, "", NULL, 0, "a b b/ b/1 b/10 b/2 b/3- b0 c ");
	scan_expect(s, "b/", NULL, 0, "b/ b/1 b/10 b/2 b/3- ");
	scan_expect(s, "b/", "b/", 0, "b/1 b/10 b/2 b/3- ");
	scan_expect(s, "b/", "b", 0, "b/ b/1 b/10 b/2 b/3- ");
	scan_expect(s, "b/", "b/1", 0, "b/10 b/2 b/3- ");
	scan_expect(s, "b/", "b/15", 0, "b/2 b/3- ");
	scan_expect(s, "b/", "a", 0, "b/ b/1 b/10 b/2 b/3- ");
	scan_expect(s, "b/", "b/3", 0, "");
	scan_expect(s, "b/", "z", 0, "");
	scan_expect(s, "", "b0", 0, "c ");
	scan_expect(s, "", "", 0, "a b b/ b/1 b/10 b/2 b/3- b0 c ");
	scan_expect(s, "b", NULL, 2, "b b/ ");
	scan_expect(s, "d", NULL, 0, "");
	scan_expect(s, "b/10", NULL, 0, "b/10 ");
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_drop)
{
	struct kvstore	*s;
	struct kv_item	 it, got;

	s = open_store(1 << 20, false);
	it = item("x", 1, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("yy", 1, 1, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_uint_eq(kvstore_bytes(s), 3 + 2 * sizeof(V1));
	ck_assert_int_eq(kvstore_drop(s, "x", 1), 0);
	ck_assert_int_eq(kvstore_get(s, "x", 1, &got), 0);
	ck_assert_uint_eq(kvstore_count(s), 1);
	ck_assert_uint_eq(kvstore_bytes(s), 2 + sizeof(V2));
	ck_assert_int_eq(kvstore_drop(s, "x", 1), 0);
	ck_assert_int_eq(kvstore_drop(s, "", 0), 0);
	ck_assert_uint_eq(kvstore_count(s), 1);
	/* Dropped outright: even an old version is taken again. */
	it = item("x", 1, 0, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_full)
{
	static uint8_t	 big[1105], small[40];
	struct kvstore	*s;
	struct kv_item	 it;
	char		 key[16];
	size_t		 blen, slen;
	int		 i;

	/* max_bytes 4096: three keys of 1 + 1105 bytes fit, a fourth not. */
	s = open_store(4096, false);
	blen = bstr(big, 1100, 0xaa);
	slen = bstr(small, 30, 0xbb);
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%d", i);
		it = item(key, 10, 1, big, blen);
		ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	}
	ck_assert_uint_eq(kvstore_bytes(s), 3 * (1 + blen));
	it = item("3", 10, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_FULL);
	ck_assert_uint_eq(kvstore_count(s), 3);
	/* Older is older before it is too big. */
	it = item("0", 5, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_OLDER);
	/* Replacing with the same size, shrinking, and deleting go on. */
	it = item("0", 11, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("1", 11, 1, small, slen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("2", 11, 1, NULL, 0);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_uint_eq(kvstore_bytes(s), 1 + blen + 1 + slen + 1);
	/* Room again. */
	it = item("3", 10, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("4", 10, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	it = item("5", 10, 1, big, blen);
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_FULL);
	ck_assert_uint_le(kvstore_bytes(s), 4096);
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_invalid_items)
{
	static const uint8_t	 notcbor[] = { 0x63, 'a' };
	struct kvstore		*s;
	struct kv_item		 it;

	s = open_store(1 << 20, false);
	it = item("a\nb", 1, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_ERROR);
	it = item("k", 1, 1, notcbor, sizeof(notcbor));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_ERROR);
	it = item("k", 0, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_ERROR);
	it = item("k", 1, 1, V1, 0);
	it.tombstone = false;
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_ERROR);
	ck_assert_uint_eq(kvstore_count(s), 0);
	kvstore_close(s);
}
END_TEST

#define MANY	200

static void
put_many(struct kvstore *s, uint64_t hlc)
{
	static uint8_t	 val[300];
	struct kv_item	 it;
	char		 key[32];
	size_t		 vlen;
	int		 i;

	for (i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "key/%03d", i);
		vlen = bstr(val, (size_t)i, (uint8_t)i);
		it = item(key, hlc + (uint64_t)i, 7, val, vlen);
		it.tombstone = i % 10 == 9;
		ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	}
}

static uint64_t
many_bytes(void)
{
	uint64_t	b = 0;
	int		i;

	for (i = 0; i < MANY; i++)
		b += 7 + (i % 10 == 9 ? 0 : (uint64_t)i + 5);
	return b;
}

static void
check_many(struct kvstore *s, uint64_t hlc)
{
	uint8_t		want[300];
	struct kv_item	got;
	char		key[32];
	size_t		wlen;
	int		i;

	ck_assert_uint_eq(kvstore_count(s), MANY);
	ck_assert_uint_eq(kvstore_bytes(s), many_bytes());
	for (i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "key/%03d", i);
		ck_assert_int_eq(kvstore_get(s, key, strlen(key), &got), 1);
		ck_assert_uint_eq(got.ver.hlc, hlc + (uint64_t)i);
		ck_assert_uint_eq(got.ver.node[0], 7);
		ck_assert(got.tombstone == (i % 10 == 9));
		if (got.tombstone)
			continue;
		wlen = bstr(want, (size_t)i, (uint8_t)i);
		ck_assert_uint_eq(got.valuelen, wlen);
		ck_assert_mem_eq(got.value, want, wlen);
	}
}

START_TEST(test_kvstore_reopen)
{
	struct kvstore	*s;

	s = open_store(1 << 20, false);
	put_many(s, 1000);
	ck_assert_int_eq(kvstore_sync(s), 0);
	ck_assert_int_eq(kvstore_drop(s, "key/000", 7), 0);
	kvstore_close(s);
	s = open_store(1 << 20, false);
	ck_assert_uint_eq(kvstore_count(s), MANY - 1);
	ck_assert_uint_eq(kvstore_bytes(s), many_bytes() - 7 - 5);
	kvstore_close(s);
	/* With every commit flushed, the same. */
	s = open_store(1 << 20, true);
	put_many(s, 5000);
	kvstore_close(s);
	s = open_store(1 << 20, false);
	check_many(s, 5000);
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_killed)
{
	struct kvstore	*s;
	pid_t		 pid;
	int		 status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		s = open_store(1 << 20, false);
		put_many(s, 1000);
		/* Killed with no close and no sync: the OS has the commits. */
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_store(1 << 20, false);
	check_many(s, 1000);
	/* And it goes on taking writes. */
	put_many(s, 2000);
	check_many(s, 2000);
	kvstore_close(s);
}
END_TEST

/* Writes raw records past the store, as a damaged disk might hold them. */
static void
raw_put(const char *key, const void *data, size_t len)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 k, d;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	k.mv_data = (void *)key;
	k.mv_size = strlen(key);
	d.mv_data = (void *)data;
	d.mv_size = len;
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &d, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(test_kvstore_malformed)
{
	struct kvstore	*s;
	struct kv_item	 it, got;
	uint8_t		 rec[64];
	struct seen	 sn;

	s = open_store(1 << 20, false);
	it = item("good", 10, 1, V1, sizeof(V1));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	kvstore_close(s);

	/* Too short; unknown flags; a truncated value; a bad key. */
	raw_put("short", "abc", 3);
	memset(rec, 0, sizeof(rec));
	rec[0] = 1;
	rec[1] = 0x80;
	rec[9] = 1;
	memcpy(rec + 50, V1, sizeof(V1));
	raw_put("flags", rec, 50 + sizeof(V1));
	rec[1] = 0;
	raw_put("trunc", rec, 50 + 2);
	raw_put("bad\nkey", rec, 50 + sizeof(V1));

	s = open_store(1 << 20, false);
	ck_assert_uint_eq(kvstore_count(s), 5);
	ck_assert_int_eq(kvstore_get(s, "short", 5, &got), -1);
	ck_assert_int_eq(kvstore_get(s, "flags", 5, &got), -1);
	ck_assert_int_eq(kvstore_get(s, "trunc", 5, &got), -1);
	ck_assert_int_eq(kvstore_get(s, "good", 4, &got), 1);
	/* A scan passes over them. */
	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(kvstore_scan(s, "", 0, NULL, 0, collect, &sn), 1);
	ck_assert_str_eq(sn.keys[0], "good");
	/* Any item replaces one, and the bytes follow. */
	it = item("short", 1, 1, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_put(s, &it), KVSTORE_STORED);
	ck_assert_int_eq(kvstore_get(s, "short", 5, &got), 1);
	ck_assert_mem_eq(got.value, V2, sizeof(V2));
	ck_assert_int_eq(kvstore_drop(s, "flags", 5), 0);
	ck_assert_int_eq(kvstore_drop(s, "trunc", 5), 0);
	ck_assert_int_eq(kvstore_drop(s, "bad\nkey", 7), 0);
	ck_assert_uint_eq(kvstore_count(s), 2);
	ck_assert_uint_eq(kvstore_bytes(s), 4 + sizeof(V1) + 5 + sizeof(V2));
	kvstore_close(s);
}
END_TEST

START_TEST(test_kvstore_not_a_store)
{
	struct kvstore_params	 p = { dir, 1 << 20, false };
	char			 err[256], path[128];
	FILE			*f;

	/* A file where the directory should be. */
	f = fopen(dir, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_ptr_null(kvstore_open(&p, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	unlink(dir);
	/* A data file that is not LMDB's. */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs("this is not a database, but it is long "
	    "enough to hold a header or two of one, and more: "
	    "................................................................"
	    "................................................................"
	    "................................................................"
	    "................................................................"
	    "................................................................"
	    "................................................................"
	    "................................................................"
	    "................................................................",
	    f) >= 0, 1);
	fclose(f);
	ck_assert_ptr_null(kvstore_open(&p, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, dir));
}
END_TEST

Suite *
kvstore_suite(void)
{
	Suite	*s = suite_create("kvstore");
	TCase	*tc = tcase_create("kvstore");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kv_key_valid);
	tcase_add_test(tc, test_kvstore_newer_wins);
	tcase_add_test(tc, test_kvstore_tombstone);
	tcase_add_test(tc, test_kvstore_scan);
	tcase_add_test(tc, test_kvstore_drop);
	tcase_add_test(tc, test_kvstore_full);
	tcase_add_test(tc, test_kvstore_invalid_items);
	tcase_add_test(tc, test_kvstore_reopen);
	tcase_add_test(tc, test_kvstore_killed);
	tcase_add_test(tc, test_kvstore_malformed);
	tcase_add_test(tc, test_kvstore_not_a_store);
	suite_add_tcase(s, tc);
	return s;
}
