/* SPDX-License-Identifier: ISC */
/*
 * test_netkeys.c: the network keys across a rotation: adopting a key
 * keeps the old one through its grace and writes the files (0600) that
 * a restart reads back; the grace's end retires it; retired keys are
 * bounded and dropped when kept long enough; a reset forgets them;
 * corrupt or readable files are refused.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "clock.h"
#include "identity.h"
#include "netkeys.h"
#include "suites.h"

#define DAY_MS	(24 * 3600 * 1000LL)

static char	dir[] = "/tmp/test_netkeys.XXXXXX";

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	strcpy(dir, "/tmp/test_netkeys.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
rm(const char *name)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)unlink(path);
}

static void
teardown(void)
{
	rm("network.key");
	rm("identity.key");
	rm("network.gen");
	rm("network.prev");
	rm("network.retired");
	ck_assert_int_eq(rmdir(dir), 0);
}

static void
put(const char *name, const void *buf, size_t len, mode_t mode)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static mode_t
mode_of(const char *name)
{
	struct stat	st;
	char		path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == -1)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void
key_of(uint8_t k[NETWORK_KEY_LEN], uint8_t b)
{
	memset(k, b, NETWORK_KEY_LEN);
}

START_TEST(test_missing_files)
{
	struct netkeys	nk;
	struct identity	id;
	uint8_t		keys[NETKEYS_MAX][NETWORK_KEY_LEN];
	enum netkey_kind kinds[NETKEYS_MAX];
	uint64_t	gens[NETKEYS_MAX];

	memset(&id, 0, sizeof(id));
	key_of(id.network_key, 7);
	ck_assert_int_eq(netkeys_load(&nk, dir, 1000), 0);
	ck_assert_uint_eq(nk.gen, 0);
	ck_assert(!nk.has_prev);
	ck_assert_uint_eq(nk.nretired, 0);
	ck_assert_uint_eq(netkeys_candidates(&nk, &id, 1000, keys, kinds,
	    gens, NETKEYS_MAX), 1);
	ck_assert_mem_eq(keys[0], id.network_key, NETWORK_KEY_LEN);
	ck_assert_int_eq(kinds[0], NETKEY_CURRENT);
	ck_assert_uint_eq(gens[0], 0);
	/* No key set at all: the identity's alone. */
	ck_assert_uint_eq(netkeys_candidates(NULL, &id, 1000, keys, kinds,
	    gens, NETKEYS_MAX), 1);
}
END_TEST

START_TEST(test_adopt_and_reload)
{
	struct netkeys	nk, back;
	struct identity	id;
	uint8_t		k0[NETWORK_KEY_LEN], k1[NETWORK_KEY_LEN];
	uint8_t		keys[NETKEYS_MAX][NETWORK_KEY_LEN];
	enum netkey_kind kinds[NETKEYS_MAX];
	uint64_t	gens[NETKEYS_MAX];
	int64_t		now = (int64_t)clock_wall_ms(), end = now + 600000;

	ck_assert_int_eq(identity_load(&id, dir), 0);
	memcpy(k0, id.network_key, NETWORK_KEY_LEN);
	key_of(k1, 1);
	ck_assert_int_eq(netkeys_load(&nk, dir, now), 0);
	/* Not newer than ours: refused, nothing written. */
	ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k1, 0, end, DAY_MS),
	    -1);
	ck_assert_int_eq(mode_of("network.gen"), (mode_t)-1);

	ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k1, 1, end, DAY_MS),
	    0);
	ck_assert_mem_eq(id.network_key, k1, NETWORK_KEY_LEN);
	ck_assert_uint_eq(nk.gen, 1);
	ck_assert(nk.has_prev);
	ck_assert_mem_eq(nk.prev.key, k0, NETWORK_KEY_LEN);
	ck_assert_uint_eq(nk.prev.gen, 0);
	ck_assert_int_eq(nk.prev.until_ms, end);
	ck_assert_int_eq(mode_of("network.gen"), 0600);
	ck_assert_int_eq(mode_of("network.prev"), 0600);
	ck_assert_int_eq(mode_of("network.retired"), (mode_t)-1);

	ck_assert_uint_eq(netkeys_candidates(&nk, &id, now, keys, kinds,
	    gens, NETKEYS_MAX), 2);
	ck_assert_mem_eq(keys[0], k1, NETWORK_KEY_LEN);
	ck_assert_int_eq(kinds[0], NETKEY_CURRENT);
	ck_assert_uint_eq(gens[0], 1);
	ck_assert_mem_eq(keys[1], k0, NETWORK_KEY_LEN);
	ck_assert_int_eq(kinds[1], NETKEY_PREVIOUS);
	ck_assert_uint_eq(gens[1], 0);
	/* Past the grace, the old key is only recognised, as retired. */
	ck_assert_uint_eq(netkeys_candidates(&nk, &id, end, keys, kinds,
	    gens, NETKEYS_MAX), 2);
	ck_assert_int_eq(kinds[1], NETKEY_RETIRED);
	/* max bounds what is written. */
	ck_assert_uint_eq(netkeys_candidates(&nk, &id, now, keys, kinds,
	    gens, 1), 1);

	/* A restart during the grace restores both keys. */
	ck_assert_int_eq(netkeys_load(&back, dir, now), 0);
	ck_assert_uint_eq(back.gen, 1);
	ck_assert(back.has_prev);
	ck_assert_mem_eq(back.prev.key, k0, NETWORK_KEY_LEN);
	ck_assert_int_eq(back.prev.until_ms, end);
	/* One after it: the old key is read, for expire to retire. */
	ck_assert_int_eq(netkeys_load(&back, dir, end), 0);
	ck_assert_uint_eq(back.gen, 1);
	ck_assert(back.has_prev);
	ck_assert(netkeys_expire(&back, dir, end, DAY_MS));
	ck_assert(!back.has_prev);
	ck_assert_uint_eq(back.nretired, 1);
	ck_assert_mem_eq(back.retired[0].key, k0, NETWORK_KEY_LEN);
	ck_assert_int_eq(mode_of("network.prev"), (mode_t)-1);
	netkeys_clear(&back);
	netkeys_clear(&nk);
	identity_clear(&id);
}
END_TEST

START_TEST(test_expire_and_retire)
{
	struct netkeys	nk, back;
	struct identity	id;
	uint8_t		k[8][NETWORK_KEY_LEN], k0[NETWORK_KEY_LEN];
	uint8_t		keys[NETKEYS_MAX][NETWORK_KEY_LEN];
	enum netkey_kind kinds[NETKEYS_MAX];
	uint64_t	gens[NETKEYS_MAX];
	int64_t		now = (int64_t)clock_wall_ms();
	size_t		i;

	ck_assert_int_eq(identity_load(&id, dir), 0);
	memcpy(k0, id.network_key, NETWORK_KEY_LEN);
	ck_assert_int_eq(netkeys_load(&nk, dir, now), 0);
	key_of(k[1], 1);
	ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k[1], 1, now + 1000,
	    DAY_MS), 0);
	/* Not over yet: nothing changes. */
	ck_assert(!netkeys_expire(&nk, dir, now + 999, DAY_MS));
	ck_assert(nk.has_prev);
	ck_assert(netkeys_expire(&nk, dir, now + 1000, DAY_MS));
	ck_assert(!nk.has_prev);
	ck_assert_int_eq(mode_of("network.prev"), (mode_t)-1);
	ck_assert_int_eq(mode_of("network.retired"), 0600);
	ck_assert_uint_eq(nk.nretired, 1);
	ck_assert_mem_eq(nk.retired[0].key, k0, NETWORK_KEY_LEN);
	ck_assert_uint_eq(nk.retired[0].gen, 0);
	ck_assert_int_eq(nk.retired[0].until_ms, now + 1000 + DAY_MS);
	ck_assert_uint_eq(netkeys_candidates(&nk, &id, now + 2000, keys,
	    kinds, gens, NETKEYS_MAX), 2);
	ck_assert_int_eq(kinds[1], NETKEY_RETIRED);
	ck_assert_mem_eq(keys[1], k0, NETWORK_KEY_LEN);

	/*
	 * Rotations during a grace retire the key in grace at once; at
	 * most NETKEYS_RETIRED_MAX are kept, the oldest going first.
	 */
	for (i = 2; i < 8; i++) {
		key_of(k[i], (uint8_t)i);
		ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k[i], i,
		    now + DAY_MS, DAY_MS), 0);
	}
	ck_assert_uint_eq(nk.gen, 7);
	ck_assert_mem_eq(nk.prev.key, k[6], NETWORK_KEY_LEN);
	ck_assert_uint_eq(nk.nretired, NETKEYS_RETIRED_MAX);
	for (i = 0; i < NETKEYS_RETIRED_MAX; i++) {
		ck_assert_mem_eq(nk.retired[i].key, k[5 - i], NETWORK_KEY_LEN);
		ck_assert_uint_eq(nk.retired[i].gen, 5 - i);
	}
	ck_assert_uint_eq(netkeys_candidates(&nk, &id, now, keys, kinds,
	    gens, NETKEYS_MAX), NETKEYS_MAX);
	ck_assert_int_eq(kinds[0], NETKEY_CURRENT);
	ck_assert_int_eq(kinds[1], NETKEY_PREVIOUS);
	ck_assert_int_eq(kinds[5], NETKEY_RETIRED);
	ck_assert_uint_eq(gens[5], 2);

	ck_assert_int_eq(netkeys_load(&back, dir, now), 0);
	ck_assert_uint_eq(back.nretired, NETKEYS_RETIRED_MAX);
	ck_assert_mem_eq(back.retired[3].key, k[2], NETWORK_KEY_LEN);
	/* Kept long enough, retired keys go, on load as on expire. */
	ck_assert_int_eq(netkeys_load(&back, dir, now + 3 * DAY_MS), 0);
	ck_assert_uint_eq(back.nretired, 0);
	ck_assert(back.has_prev);	/* its grace over: expire's to retire */
	ck_assert(netkeys_expire(&nk, dir, now + 3 * DAY_MS, DAY_MS));
	ck_assert_uint_eq(nk.nretired, 1);	/* the one just retired */
	ck_assert_mem_eq(nk.retired[0].key, k[6], NETWORK_KEY_LEN);

	/* Keeping none: a grace's end forgets the key. */
	ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k[1], 8, now, 0), 0);
	ck_assert(netkeys_expire(&nk, dir, now + 4 * DAY_MS, 0));
	ck_assert_uint_eq(nk.nretired, 0);
	ck_assert_int_eq(mode_of("network.retired"), (mode_t)-1);

	/* A join forgets every old key and the generation. */
	ck_assert_int_eq(netkeys_adopt(&nk, &id, dir, k[2], 9, now + DAY_MS,
	    DAY_MS), 0);
	ck_assert_int_eq(netkeys_reset(&nk, dir), 0);
	ck_assert_uint_eq(nk.gen, 0);
	ck_assert(!nk.has_prev);
	ck_assert_int_eq(mode_of("network.gen"), (mode_t)-1);
	ck_assert_int_eq(mode_of("network.prev"), (mode_t)-1);
	ck_assert_int_eq(netkeys_load(&back, dir, now), 0);
	ck_assert_uint_eq(back.gen, 0);
	ck_assert(!back.has_prev);
	netkeys_clear(&back);
	netkeys_clear(&nk);
	identity_clear(&id);
}
END_TEST

START_TEST(test_corrupt_refused)
{
	struct netkeys	nk;
	uint8_t		entry[48 * 5];

	memset(entry, 0, sizeof(entry));
	put("network.gen", "12\n", 3, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), 0);
	ck_assert_uint_eq(nk.gen, 12);
	put("network.gen", "12x\n", 4, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.gen", "", 0, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.gen", "99999999999999999999", 20, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.gen", "3", 1, 0644);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.gen", "3", 1, 0600);

	put("network.prev", entry, 47, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.prev", entry, 49, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.prev", entry, 48, 0640);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	/* A grace end past INT64_MAX. */
	entry[32] = 0x80;
	put("network.prev", entry, 48, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	entry[32] = 0;
	entry[39] = 10;
	put("network.prev", entry, 48, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), 0);
	ck_assert(nk.has_prev);
	ck_assert_int_eq(nk.prev.until_ms, 10);

	put("network.retired", entry, 48 * 5, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.retired", entry, 50, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	put("network.retired", entry, 0, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), -1);
	/* Two entries, kept until 10 and 20 ms: one left at 10. */
	entry[48 + 39] = 20;
	put("network.retired", entry, 96, 0600);
	ck_assert_int_eq(netkeys_load(&nk, dir, 0), 0);
	ck_assert_uint_eq(nk.nretired, 2);
	ck_assert_int_eq(netkeys_load(&nk, dir, 10), 0);
	ck_assert_uint_eq(nk.nretired, 1);
	ck_assert_int_eq(nk.retired[0].until_ms, 20);
	netkeys_clear(&nk);
}
END_TEST

Suite *
netkeys_suite(void)
{
	Suite	*s = suite_create("netkeys");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_missing_files);
	tcase_add_test(tc, test_adopt_and_reload);
	tcase_add_test(tc, test_expire_and_retire);
	tcase_add_test(tc, test_corrupt_refused);
	suite_add_tcase(s, tc);
	return s;
}
