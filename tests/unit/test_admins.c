/* SPDX-License-Identifier: ISC */
/*
 * test_admins.c: the list of admin nodes: the config's IDs and those of
 * STATE/admins together without repeats, the bound of 16, a file saved
 * and read back (mode 0600, no temporary left), and bad files refused,
 * and files others may write.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "admins.h"
#include "suites.h"

static char	dir[64];
static char	path[96];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/peerd-test-admins.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/admins", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

/* The ID whose bytes are all b, and its base32 text. */
static void
id_of(uint8_t b, uint8_t id[NODE_ID_LEN], char text[NODE_ID_STRLEN])
{
	memset(id, b, NODE_ID_LEN);
	base32_encode(id, NODE_ID_LEN, text);
}

static void
write_file(const char *text, mode_t mode)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* len bytes of text, a NUL among them, as the whole file (0600). */
static int
write_file_bytes(const char *text, size_t len)
{
	int	fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

START_TEST(test_none)
{
	struct admins	a;
	uint8_t		id[NODE_ID_LEN];
	char		text[NODE_ID_STRLEN];

	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert_uint_eq(a.n, 0);
	id_of(1, id, text);
	ck_assert(!admins_has(&a, id));
}
END_TEST

START_TEST(test_save_load)
{
	struct admins	a;
	uint8_t		ids[3][NODE_ID_LEN];
	char		text[NODE_ID_STRLEN], other[NODE_ID_STRLEN], tmp[128];
	const char	*conf[2];
	struct stat	st;
	int		i;

	for (i = 0; i < 3; i++)
		id_of((uint8_t)(i + 1), ids[i], text);
	ck_assert_int_eq(admins_save(dir, ids, 2), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert_uint_eq(a.n, 2);
	ck_assert(admins_has(&a, ids[0]));
	ck_assert(admins_has(&a, ids[1]));
	ck_assert(!admins_has(&a, ids[2]));

	/* The config's, then the file's, each once. */
	id_of(2, ids[1], text);
	id_of(3, ids[2], other);
	conf[0] = other;
	conf[1] = text;
	ck_assert_int_eq(admins_load(&a, dir, conf, 2), 0);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_mem_eq(a.ids[0], ids[2], NODE_ID_LEN);
	ck_assert_mem_eq(a.ids[1], ids[1], NODE_ID_LEN);
	ck_assert_mem_eq(a.ids[2], ids[0], NODE_ID_LEN);

	/* Saving again replaces the list; no temporary file stays. */
	ck_assert_int_eq(admins_save(dir, ids + 2, 1), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_mem_eq(a.ids[0], ids[2], NODE_ID_LEN);
	ck_assert_int_eq(admins_save(dir, ids, 0), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert_uint_eq(a.n, 0);
	snprintf(tmp, sizeof(tmp), "%s/.admins.%ld", dir, (long)getpid());
	ck_assert_int_eq(access(tmp, F_OK), -1);
}
END_TEST

START_TEST(test_sixteen)
{
	struct admins	a;
	uint8_t		ids[ADMINS_MAX + 1][NODE_ID_LEN];
	char		texts[ADMINS_MAX + 1][NODE_ID_STRLEN];
	const char	*conf[ADMINS_MAX + 1];
	int		i;

	for (i = 0; i <= ADMINS_MAX; i++) {
		id_of((uint8_t)(i + 1), ids[i], texts[i]);
		conf[i] = texts[i];
	}
	ck_assert_int_eq(admins_load(&a, dir, conf, ADMINS_MAX), 0);
	ck_assert_uint_eq(a.n, ADMINS_MAX);
	ck_assert_int_eq(admins_load(&a, dir, conf, ADMINS_MAX + 1), -1);
	ck_assert_int_eq(admins_save(dir, ids, ADMINS_MAX + 1), -1);
	/* Sixteen in the file and one more in the config: too many. */
	ck_assert_int_eq(admins_save(dir, ids, ADMINS_MAX), 0);
	ck_assert_int_eq(admins_load(&a, dir, conf, ADMINS_MAX), 0);
	ck_assert_int_eq(admins_load(&a, dir, conf + ADMINS_MAX, 1), -1);
}
END_TEST

START_TEST(test_bad_files)
{
	struct admins	a;
	uint8_t		id[NODE_ID_LEN];
	char		text[NODE_ID_STRLEN], line[2 * NODE_ID_STRLEN + 8];
	const char	*bad = "nota-node-id";

	id_of(7, id, text);
	/* The last line without its newline: a file cut short. */
	write_file(text, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	snprintf(line, sizeof(line), "%s\n%s\n", text, bad);
	write_file(line, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	/* One character short. */
	snprintf(line, sizeof(line), "%.51s\n", text);
	write_file(line, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	snprintf(line, sizeof(line), "%s\n\n", text);
	write_file(line, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	snprintf(line, sizeof(line), "%s\n", text);
	write_file(line, 0600);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert(admins_has(&a, id));
	/* A bad ID in the config. */
	ck_assert_int_eq(admins_load(&a, dir, &bad, 1), -1);
	/* Lines after a NUL byte are not dropped unseen. */
	snprintf(line, sizeof(line), "%s\n", text);
	ck_assert_int_eq(write_file_bytes(line, strlen(line) + 1), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
}
END_TEST

/* A file that others may write could name anyone an admin. */
START_TEST(test_others_write)
{
	struct admins	a;
	uint8_t		id[NODE_ID_LEN];
	char		text[NODE_ID_STRLEN], line[NODE_ID_STRLEN + 1];

	id_of(7, id, text);
	snprintf(line, sizeof(line), "%s\n", text);
	write_file(line, 0600);
	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	ck_assert_int_eq(chmod(path, 0602), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), -1);
	/* Others may read it: the IDs are no secret. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(admins_load(&a, dir, NULL, 0), 0);
	ck_assert(admins_has(&a, id));
}
END_TEST

Suite *
admins_suite(void)
{
	Suite	*s = suite_create("admins");
	TCase	*tc = tcase_create("admins");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_none);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_sixteen);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_others_write);
	suite_add_tcase(s, tc);
	return s;
}
