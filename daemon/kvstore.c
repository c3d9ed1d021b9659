/* SPDX-License-Identifier: ISC */
/*
 * kvstore.c: this node's share of the key-value store, in LMDB.  One
 * record per key: a fixed header (format, flags, the version's clock
 * reading and writer, the expiry) and the value's CBOR.  Commits reach
 * the OS at once (MDB_NOSYNC, no MDB_WRITEMAP), so a killed process
 * loses nothing committed; kvstore_sync flushes them to the disk.
 * Records read back are checked whole before any span of them leaves
 * this file: a malformed one is an error, logged once, and a newer item
 * replaces it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "cbor_scan.h"
#include "kvstore.h"
#include "log.h"

#define REC_FORMAT	1
#define REC_TOMBSTONE	0x01		/* flags: no value */
/* format, flags, hlc, writer, expires */
#define REC_HDR		(1 + 1 + 8 + NODE_ID_LEN + 8)
#define REC_VALUE_MAX	(UINT32_MAX - REC_HDR)

/*
 * The map is address space, not disk: the file grows with what is
 * written.  LMDB pages hold records at a half to a quarter of their
 * size (small records, and values of a few KiB that take whole
 * overflow pages), so the map leaves room for four times max_bytes.
 */
#define MAP_SLACK	(UINT64_C(64) << 20)
#define MAP_MAX_64	(UINT64_C(1) << 44)
#define MAP_MAX_32	(UINT64_C(1) << 30)

struct kvstore {
	MDB_env		*env;
	MDB_dbi		 dbi;
	MDB_txn		*rd;		/* reset, or live while rd_live */
	bool		 rd_live;
	uint64_t	 max_bytes;
	uint64_t	 count, bytes;
	bool		 bad_logged;
	char		 dir[256];
};

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

bool
kv_key_valid(const char *s, size_t n)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i;

	if (n == 0 || n > KV_KEY_MAX || !cbor_text_valid(s, n))
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		/* U+0080 to U+009F, the C1 controls */
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0)
			return false;
	}
	return true;
}

bool
kv_key_has_prefix(const char *key, size_t keylen, const char *prefix,
    size_t prefixlen)
{
	return keylen >= prefixlen && (prefixlen == 0 ||
	    memcmp(key, prefix, prefixlen) == 0);
}

/* Byte order of keys, LMDB's own: shorter first when one begins the other. */
static int
key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int	c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* What a record counts for in kvstore_bytes: its key and value. */
static uint64_t
rec_bytes(const MDB_val *k, const MDB_val *d)
{
	return k->mv_size + (d->mv_size > REC_HDR ? d->mv_size - REC_HDR : 0);
}

static void
bad_record(struct kvstore *s, const MDB_val *k, const char *why)
{
	char	esc[KV_KEY_MAX * 4 + 1];

	if (s->bad_logged)
		return;
	s->bad_logged = true;
	log_warnx("kv: %s: malformed record for key \"%s\": %s (further ones "
	    "not logged); it stays unread until a newer item replaces it",
	    s->dir, log_escape(k->mv_data, k->mv_size, esc, sizeof(esc)),
	    why);
}

/*
 * Fills it from a record read back; -1 if it is malformed (logged
 * once).  The value is checked too only if whole is set: it is CBOR
 * copied verbatim into messages.
 */
static int
rec_decode(struct kvstore *s, const MDB_val *k, const MDB_val *d,
    struct kv_item *it, bool whole)
{
	const uint8_t	*p = d->mv_data;
	const char	*why = NULL;

	if (!kv_key_valid(k->mv_data, k->mv_size))
		why = "invalid key";
	else if (d->mv_size < REC_HDR)
		why = "shorter than its header";
	else if (p[0] != REC_FORMAT)
		why = "unknown format";
	else if ((p[1] & ~REC_TOMBSTONE) != 0)
		why = "unknown flags";
	else if ((p[1] & REC_TOMBSTONE) && d->mv_size != REC_HDR)
		why = "a tombstone with a value";
	else if (!(p[1] & REC_TOMBSTONE) && d->mv_size == REC_HDR)
		why = "no value";
	else if (get_be64(p + 2) == 0)
		why = "no version";
	else if (whole && d->mv_size > REC_HDR &&
	    cbor_scan_item(p + REC_HDR, d->mv_size - REC_HDR) !=
	    d->mv_size - REC_HDR)
		why = "the value is not one CBOR item";
	if (why != NULL) {
		bad_record(s, k, why);
		return -1;
	}
	it->key = k->mv_data;
	it->keylen = k->mv_size;
	it->ver.hlc = get_be64(p + 2);
	memcpy(it->ver.node, p + 10, NODE_ID_LEN);
	it->expires_ms = get_be64(p + 10 + NODE_ID_LEN);
	it->tombstone = (p[1] & REC_TOMBSTONE) != 0;
	it->value = it->tombstone ? NULL : p + REC_HDR;
	it->valuelen = d->mv_size - REC_HDR;
	return 0;
}

static void
rd_end(struct kvstore *s)
{
	if (s->rd_live) {
		mdb_txn_reset(s->rd);
		s->rd_live = false;
	}
}

static int
rd_begin(struct kvstore *s)
{
	int	rc;

	rd_end(s);
	if ((rc = mdb_txn_renew(s->rd)) != 0) {
		log_warnx("kv: %s: read: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	s->rd_live = true;
	return 0;
}

/* Counts the records held, at open. */
static int
tally(struct kvstore *s, MDB_txn *txn)
{
	MDB_cursor	*c;
	MDB_val		 k, d;
	struct kv_item	 it;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->dbi, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		s->count++;
		s->bytes += rec_bytes(&k, &d);
		(void)rec_decode(s, &k, &d, &it, false);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
make_dir(const char *dir, char *err, size_t errlen)
{
	struct stat	st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	return 0;
}

struct kvstore *
kvstore_open(const struct kvstore_params *p, char *err, size_t errlen)
{
	struct kvstore	*s;
	MDB_txn		*txn = NULL;
	uint64_t	 map, cap;
	unsigned	 flags = MDB_NOTLS;
	int		 rc, dead;

	if (strlen(p->dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "%s: path too long", p->dir);
		return NULL;
	}
	if (make_dir(p->dir, err, errlen) == -1)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	strcpy(s->dir, p->dir);
	s->max_bytes = p->max_bytes;
	cap = SIZE_MAX > UINT32_MAX ? MAP_MAX_64 : MAP_MAX_32;
	map = p->max_bytes > (cap - MAP_SLACK) / 4 ? cap :
	    p->max_bytes * 4 + MAP_SLACK;
	/* sync_each: LMDB's own durable commit, data then meta page. */
	if (!p->sync_each)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&s->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)map)) != 0 ||
	    (rc = mdb_env_open(s->env, p->dir, flags, 0600)) != 0)
		goto fail;
	/* Reader slots a killed process left would pin old pages. */
	(void)mdb_reader_check(s->env, &dead);
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) != 0 ||
	    (rc = tally(s, txn)) != 0)
		goto fail;
	mdb_txn_abort(txn);
	txn = NULL;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rd)) != 0)
		goto fail;
	mdb_txn_reset(s->rd);
	return s;

fail:
	snprintf(err, errlen, "%s: %s", p->dir, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
	return NULL;
}

void
kvstore_close(struct kvstore *s)
{
	if (s == NULL)
		return;
	rd_end(s);
	mdb_txn_abort(s->rd);
	(void)kvstore_sync(s);
	mdb_env_close(s->env);
	free(s);
}

int
kvstore_sync(struct kvstore *s)
{
	int	rc;

	if ((rc = mdb_env_sync(s->env, 1)) != 0) {
		log_warnx("kv: %s: sync: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

int
kvstore_get(struct kvstore *s, const char *key, size_t keylen,
    struct kv_item *it)
{
	MDB_val	k, d;
	int	rc;

	if (keylen == 0 || keylen > KV_KEY_MAX) {
		rd_end(s);
		return 0;
	}
	if (rd_begin(s) == -1)
		return -1;
	k.mv_data = (void *)key;
	k.mv_size = keylen;
	/* The read stays live: it keeps the spans valid until the next call. */
	if ((rc = mdb_get(s->rd, s->dbi, &k, &d)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		log_warnx("kv: %s: get: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	return rec_decode(s, &k, &d, it, true) == 0 ? 1 : -1;
}

static enum kvstore_result
put_failed(struct kvstore *s, MDB_txn *txn, const char *what, int rc)
{
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc == MDB_MAP_FULL)
		return KVSTORE_FULL;
	log_warnx("kv: %s: %s: %s", s->dir, what, mdb_strerror(rc));
	return KVSTORE_ERROR;
}

enum kvstore_result
kvstore_put(struct kvstore *s, const struct kv_item *it)
{
	MDB_txn		*txn;
	MDB_val		 k, d;
	struct kv_item	 held;
	uint64_t	 oldb = 0, newb;
	size_t		 vlen = it->tombstone ? 0 : it->valuelen;
	uint8_t		*p;
	bool		 found = false;
	int		 rc;

	rd_end(s);
	if (!kv_key_valid(it->key, it->keylen) || it->ver.hlc == 0 ||
	    (!it->tombstone && (vlen == 0 || vlen > REC_VALUE_MAX ||
	    cbor_scan_item(it->value, vlen) != vlen))) {
		log_warnx("kv: %s: put: an invalid item refused", s->dir);
		return KVSTORE_ERROR;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return put_failed(s, NULL, "put", rc);
	k.mv_data = (void *)it->key;
	k.mv_size = it->keylen;
	if ((rc = mdb_get(txn, s->dbi, &k, &d)) == 0) {
		found = true;
		oldb = rec_bytes(&k, &d);
		/* A malformed record is replaced by whatever comes. */
		if (rec_decode(s, &k, &d, &held, false) == 0 &&
		    kv_version_cmp(&it->ver, &held.ver) <= 0) {
			mdb_txn_abort(txn);
			return KVSTORE_OLDER;
		}
	} else if (rc != MDB_NOTFOUND)
		return put_failed(s, txn, "put", rc);
	newb = it->keylen + vlen;
	if (newb > oldb && s->bytes - oldb + newb > s->max_bytes) {
		mdb_txn_abort(txn);
		return KVSTORE_FULL;
	}
	d.mv_size = REC_HDR + vlen;
	d.mv_data = NULL;
	if ((rc = mdb_put(txn, s->dbi, &k, &d, MDB_RESERVE)) != 0)
		return put_failed(s, txn, "put", rc);
	p = d.mv_data;
	p[0] = REC_FORMAT;
	p[1] = it->tombstone ? REC_TOMBSTONE : 0;
	put_be64(p + 2, it->ver.hlc);
	memcpy(p + 10, it->ver.node, NODE_ID_LEN);
	put_be64(p + 10 + NODE_ID_LEN, it->expires_ms);
	if (vlen > 0)
		memcpy(p + REC_HDR, it->value, vlen);
	if ((rc = mdb_txn_commit(txn)) != 0)
		return put_failed(s, NULL, "commit", rc);
	if (!found)
		s->count++;
	s->bytes = s->bytes - oldb + newb;
	return KVSTORE_STORED;
}

int
kvstore_drop(struct kvstore *s, const char *key, size_t keylen)
{
	MDB_txn		*txn;
	MDB_val		 k, d;
	uint64_t	 oldb;
	int		 rc;

	rd_end(s);
	if (keylen == 0 || keylen > KV_KEY_MAX)
		return 0;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail;
	k.mv_data = (void *)key;
	k.mv_size = keylen;
	if ((rc = mdb_get(txn, s->dbi, &k, &d)) == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (rc != 0)
		goto fail;
	oldb = rec_bytes(&k, &d);
	if ((rc = mdb_del(txn, s->dbi, &k, NULL)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	s->count--;
	s->bytes -= oldb;
	return 0;

fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	log_warnx("kv: %s: drop: %s", s->dir, mdb_strerror(rc));
	return -1;
}

long
kvstore_scan(struct kvstore *s, const char *prefix, size_t prefixlen,
    const char *after, size_t afterlen,
    int (*fn)(void *arg, const struct kv_item *), void *arg)
{
	MDB_cursor	*c;
	MDB_val		 k, d;
	struct kv_item	 it;
	long		 n = 0;
	int		 rc, op;

	if (prefixlen > KV_KEY_MAX) {
		rd_end(s);
		return 0;
	}
	if (rd_begin(s) == -1)
		return -1;
	if ((rc = mdb_cursor_open(s->rd, s->dbi, &c)) != 0) {
		log_warnx("kv: %s: scan: %s", s->dir, mdb_strerror(rc));
		rd_end(s);
		return -1;
	}
	/* From the greater of prefix and after; keys up to after skipped. */
	if (after != NULL && key_cmp(after, afterlen, prefix, prefixlen) >= 0) {
		k.mv_data = (void *)after;
		k.mv_size = afterlen > KV_KEY_MAX ? KV_KEY_MAX : afterlen;
	} else {
		k.mv_data = (void *)prefix;
		k.mv_size = prefixlen;
		after = NULL;
	}
	op = k.mv_size == 0 ? MDB_FIRST : MDB_SET_RANGE;
	for (rc = mdb_cursor_get(c, &k, &d, op); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (!kv_key_has_prefix(k.mv_data, k.mv_size, prefix, prefixlen))
			break;
		if (after != NULL &&
		    key_cmp(k.mv_data, k.mv_size, after, afterlen) <= 0)
			continue;
		if (rec_decode(s, &k, &d, &it, true) == -1)
			continue;
		n++;
		if (fn(arg, &it) != 0)
			break;
	}
	mdb_cursor_close(c);
	rd_end(s);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_warnx("kv: %s: scan: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	return n;
}

uint64_t
kvstore_count(const struct kvstore *s)
{
	return s->count;
}

uint64_t
kvstore_bytes(const struct kvstore *s)
{
	return s->bytes;
}
