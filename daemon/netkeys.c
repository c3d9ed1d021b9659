/* SPDX-License-Identifier: ISC */
/*
 * netkeys.c: the network keys across a rotation, and their files in the
 * state directory.  network.gen holds the generation in decimal;
 * network.prev the previous key, its grace end and its generation
 * (key || be64 || be64, 48 bytes); network.retired up to
 * NETKEYS_RETIRED_MAX such entries, newest first.  Each is written
 * under a temporary name, synced, renamed, and the directory synced:
 * a crash leaves the old file or the new one, never half of one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "log.h"
#include "netkeys.h"
#include "statefile.h"

#define ENTRY_LEN	(NETWORK_KEY_LEN + 8 + 8)
#define GEN_FILE_MAX	24	/* 20 digits and a newline, with room */
#define FILE_MAX	(NETKEYS_RETIRED_MAX * ENTRY_LEN)
/* No one else may even read a file of network keys. */
#define NOT_OURS	(S_IRWXG | S_IRWXO)
#define NOT_OURS_WHY	"gives others access to network keys"

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
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

static void
entry_put(uint8_t *p, const struct netkey *k)
{
	memcpy(p, k->key, NETWORK_KEY_LEN);
	put_be64(p + NETWORK_KEY_LEN, (uint64_t)k->until_ms);
	put_be64(p + NETWORK_KEY_LEN + 8, k->gen);
}

static int
entry_get(struct netkey *k, const uint8_t *p)
{
	uint64_t	until = get_be64(p + NETWORK_KEY_LEN);

	if (until > INT64_MAX)
		return -1;
	memcpy(k->key, p, NETWORK_KEY_LEN);
	k->until_ms = (int64_t)until;
	k->gen = get_be64(p + NETWORK_KEY_LEN + 8);
	return 0;
}

static int
write_gen(const char *dir, uint64_t gen)
{
	char	buf[GEN_FILE_MAX];
	int	n;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", gen);
	return statefile_write(dir, "network.gen", buf, (size_t)n);
}

static int
write_prev(const char *dir, const struct netkeys *nk)
{
	uint8_t	buf[ENTRY_LEN];
	int	rc;

	if (!nk->has_prev)
		return statefile_remove(dir, "network.prev");
	entry_put(buf, &nk->prev);
	rc = statefile_write(dir, "network.prev", buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int
write_retired(const char *dir, const struct netkeys *nk)
{
	uint8_t	buf[FILE_MAX];
	size_t	i;
	int	rc;

	if (nk->nretired == 0)
		return statefile_remove(dir, "network.retired");
	for (i = 0; i < nk->nretired; i++)
		entry_put(buf + i * ENTRY_LEN, &nk->retired[i]);
	rc = statefile_write(dir, "network.retired", buf, nk->nretired * ENTRY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int
read_gen(const char *dir, uint64_t *gen)
{
	uint8_t		buf[GEN_FILE_MAX + 1];
	char		*end;
	ssize_t		n;
	size_t		i;
	bool		found;

	*gen = 0;
	if ((n = statefile_read(dir, "network.gen", buf, GEN_FILE_MAX,
	    NOT_OURS, NOT_OURS_WHY, &found)) == -1)
		return -1;
	if (!found)
		return 0;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		if (buf[i] < '0' || buf[i] > '9')
			break;
	errno = 0;
	if (n == 0 || i != (size_t)n || n > 20 ||
	    (*gen = strtoull((char *)buf, &end, 10), errno != 0)) {
		log_warnx("%s/network.gen: not a generation number", dir);
		*gen = 0;
		return -1;
	}
	return 0;
}

/* Inserts k as the newest retired key, dropping the oldest if full. */
static void
retire(struct netkeys *nk, const struct netkey *k, int64_t until_ms)
{
	size_t	n = nk->nretired;

	if (n == NETKEYS_RETIRED_MAX) {
		sodium_memzero(&nk->retired[n - 1], sizeof(nk->retired[0]));
		n--;
	}
	memmove(&nk->retired[1], &nk->retired[0], n * sizeof(nk->retired[0]));
	nk->retired[0] = *k;
	nk->retired[0].until_ms = until_ms;
	nk->nretired = n + 1;
}

/* Drops retired keys kept until now_ms or before.  Whether any went. */
static bool
drop_retired(struct netkeys *nk, int64_t now_ms)
{
	size_t	i, j;
	bool	dropped = false;

	for (i = j = 0; i < nk->nretired; i++) {
		if (nk->retired[i].until_ms <= now_ms) {
			dropped = true;
			continue;
		}
		if (i != j)
			nk->retired[j] = nk->retired[i];
		j++;
	}
	for (i = j; i < nk->nretired; i++)
		sodium_memzero(&nk->retired[i], sizeof(nk->retired[i]));
	nk->nretired = j;
	return dropped;
}

int
netkeys_load(struct netkeys *nk, const char *dir, int64_t now_ms)
{
	uint8_t		buf[FILE_MAX];
	ssize_t		n;
	size_t		i;
	bool		found;

	memset(nk, 0, sizeof(*nk));
	if (read_gen(dir, &nk->gen) == -1)
		return -1;
	if ((n = statefile_read(dir, "network.prev", buf, ENTRY_LEN,
	    NOT_OURS, NOT_OURS_WHY, &found)) == -1)
		goto fail;
	if (found) {
		if (n != ENTRY_LEN || entry_get(&nk->prev, buf) == -1) {
			log_warnx("%s/network.prev: not a previous key (%d "
			    "bytes expected)", dir, ENTRY_LEN);
			goto fail;
		}
		nk->has_prev = true;
	}
	if ((n = statefile_read(dir, "network.retired", buf, FILE_MAX,
	    NOT_OURS, NOT_OURS_WHY, &found)) == -1)
		goto fail;
	if (found) {
		if (n == 0 || n % ENTRY_LEN != 0) {
			log_warnx("%s/network.retired: not a list of retired "
			    "keys (%d bytes each)", dir, ENTRY_LEN);
			goto fail;
		}
		for (i = 0; i < (size_t)n / ENTRY_LEN; i++)
			if (entry_get(&nk->retired[i], buf + i * ENTRY_LEN) ==
			    -1) {
				log_warnx("%s/network.retired: entry %zu is "
				    "malformed", dir, i);
				goto fail;
			}
		nk->nretired = (size_t)n / ENTRY_LEN;
		(void)drop_retired(nk, now_ms);
	}
	sodium_memzero(buf, sizeof(buf));
	return 0;
fail:
	sodium_memzero(buf, sizeof(buf));
	netkeys_clear(nk);
	return -1;
}

int
netkeys_adopt(struct netkeys *nk, struct identity *id, const char *dir,
    const uint8_t key[NETWORK_KEY_LEN], uint64_t gen, int64_t grace_end_ms,
    int64_t retire_keep_ms)
{
	struct netkeys	next;
	uint8_t		old[NETWORK_KEY_LEN];
	int64_t		now_ms = (int64_t)clock_wall_ms();

	if (gen <= nk->gen) {
		log_warnx("network key of generation %" PRIu64 " is not newer "
		    "than ours (%" PRIu64 ")", gen, nk->gen);
		return -1;
	}
	next = *nk;
	/* A grace still running ends now: its key is only recognised. */
	if (next.has_prev && retire_keep_ms > 0)
		retire(&next, &next.prev, now_ms + retire_keep_ms);
	memcpy(next.prev.key, id->network_key, NETWORK_KEY_LEN);
	next.prev.gen = nk->gen;
	next.prev.until_ms = grace_end_ms;
	next.has_prev = true;
	next.gen = gen;
	/*
	 * The old key first, the generation last: a crash in between
	 * leaves the new key current under the old number, which the
	 * next rotation's message puts right.
	 */
	memcpy(old, id->network_key, NETWORK_KEY_LEN);
	if (write_prev(dir, &next) == -1 || write_retired(dir, &next) == -1 ||
	    identity_set_network_key(id, dir, key) == -1 ||
	    write_gen(dir, gen) == -1) {
		/* Put back what was written; memory is as it was. */
		if (sodium_memcmp(id->network_key, old, NETWORK_KEY_LEN) != 0)
			(void)identity_set_network_key(id, dir, old);
		(void)write_prev(dir, nk);
		(void)write_retired(dir, nk);
		sodium_memzero(old, sizeof(old));
		netkeys_clear(&next);
		return -1;
	}
	sodium_memzero(old, sizeof(old));
	*nk = next;
	netkeys_clear(&next);
	log_info("network key of generation %" PRIu64 " adopted; the previous "
	    "one is accepted until %" PRId64 " ms", gen, grace_end_ms);
	return 0;
}

bool
netkeys_expire(struct netkeys *nk, const char *dir, int64_t now_ms,
    int64_t retire_keep_ms)
{
	uint64_t	pgen;
	bool		went = false, dropped;

	dropped = drop_retired(nk, now_ms);
	if (nk->has_prev && nk->prev.until_ms <= now_ms) {
		pgen = nk->prev.gen;
		if (retire_keep_ms > 0)
			retire(nk, &nk->prev, now_ms + retire_keep_ms);
		sodium_memzero(&nk->prev, sizeof(nk->prev));
		nk->has_prev = false;
		went = true;
		(void)write_prev(dir, nk);
		log_info("grace of the network key of generation %" PRIu64
		    " over: only generation %" PRIu64 " is accepted now",
		    pgen, nk->gen);
	}
	if (went || dropped)
		(void)write_retired(dir, nk);
	return went;
}

int
netkeys_reset(struct netkeys *nk, const char *dir)
{
	int	rc = 0;

	netkeys_clear(nk);
	if (statefile_remove(dir, "network.prev") == -1 ||
	    statefile_remove(dir, "network.retired") == -1 ||
	    statefile_remove(dir, "network.gen") == -1)
		rc = -1;
	return rc;
}

size_t
netkeys_candidates(const struct netkeys *nk, const struct identity *id,
    int64_t now_ms, uint8_t (*keys)[NETWORK_KEY_LEN],
    enum netkey_kind *kinds, uint64_t *gens, size_t max)
{
	size_t	n = 0, i;

	if (max == 0)
		return 0;
	memcpy(keys[n], id->network_key, NETWORK_KEY_LEN);
	kinds[n] = NETKEY_CURRENT;
	gens[n++] = nk != NULL ? nk->gen : 0;
	if (nk == NULL)
		return n;
	if (n < max && nk->has_prev) {
		memcpy(keys[n], nk->prev.key, NETWORK_KEY_LEN);
		kinds[n] = nk->prev.until_ms > now_ms ? NETKEY_PREVIOUS :
		    NETKEY_RETIRED;
		gens[n++] = nk->prev.gen;
	}
	for (i = 0; i < nk->nretired && n < max; i++) {
		if (nk->retired[i].until_ms <= now_ms)
			continue;
		memcpy(keys[n], nk->retired[i].key, NETWORK_KEY_LEN);
		kinds[n] = NETKEY_RETIRED;
		gens[n++] = nk->retired[i].gen;
	}
	return n;
}

void
netkeys_clear(struct netkeys *nk)
{
	sodium_memzero(nk, sizeof(*nk));
}
