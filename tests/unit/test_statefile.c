/* SPDX-License-Identifier: ISC */
/*
 * test_statefile.c: files of the state directory written (0600, no
 * temporary left, replaced whole) and read back; a missing file, one
 * too long, modes with forbidden bits, a symbolic link, a FIFO (which
 * must not hang the read) and a file of no bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "statefile.h"
#include "suites.h"

#define NOT_OURS	(S_IRWXG | S_IRWXO)

static char	dir[64];
static char	path[96];
static char	other[96];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/peerd-test-statefile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(other, sizeof(other), "%s/g", dir);
}

static void
teardown(void)
{
	unlink(path);
	unlink(other);
	rmdir(dir);
}

START_TEST(test_write_read)
{
	struct stat	st;
	char		buf[16], tmp[128];
	bool		found;

	ck_assert_int_eq(statefile_write(dir, "f", "hello", 5), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 5);
	ck_assert(found);
	ck_assert_mem_eq(buf, "hello", 5);
	/* A shorter content replaces the whole file. */
	ck_assert_int_eq(statefile_write(dir, "f", "hi", 2), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 2);
	ck_assert_mem_eq(buf, "hi", 2);
	ck_assert_int_eq(statefile_write(dir, "f", "", 0), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 0);
	ck_assert(found);
	snprintf(tmp, sizeof(tmp), "%s/.f.%ld", dir, (long)getpid());
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(statefile_remove(dir, "f"), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(statefile_remove(dir, "f"), 0);
}
END_TEST

START_TEST(test_missing)
{
	char	buf[4];
	bool	found = true;

	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 0);
	ck_assert(!found);
	/* A directory that is not there: nothing written, nothing left. */
	ck_assert_int_eq(statefile_write("/nonexistent/peerd", "f", "x", 1),
	    -1);
}
END_TEST

START_TEST(test_too_long)
{
	char	buf[8];
	bool	found;

	ck_assert_int_eq(statefile_write(dir, "f", "12345678", 8), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, 8, NOT_OURS, "test",
	    &found), 8);
	ck_assert_int_eq(statefile_write(dir, "f", "123456789", 9), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, 8, NOT_OURS, "test",
	    &found), -1);
	ck_assert(!found);
}
END_TEST

START_TEST(test_modes)
{
	char	buf[8];
	bool	found;

	ck_assert_int_eq(statefile_write(dir, "f", "x", 1), 0);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), -1);
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), -1);
	/* Only the bits forbidden count. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf),
	    S_IWGRP | S_IWOTH, "test", &found), 1);
	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf),
	    S_IWGRP | S_IWOTH, "test", &found), -1);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), 0,
	    "test", &found), 1);
}
END_TEST

START_TEST(test_symlink)
{
	char	buf[8];
	bool	found;

	ck_assert_int_eq(statefile_write(dir, "g", "x", 1), 0);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), -1);
	ck_assert(!found);
	/* Writing replaces the link itself, never its target. */
	ck_assert_int_eq(statefile_write(dir, "f", "yy", 2), 0);
	ck_assert_int_eq(statefile_read(dir, "g", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 1);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), 2);
}
END_TEST

/* A FIFO with no writer would block an open without O_NONBLOCK. */
START_TEST(test_fifo)
{
	char	buf[8];
	bool	found;

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(statefile_read(dir, "f", buf, sizeof(buf), NOT_OURS,
	    "test", &found), -1);
	ck_assert(!found);
}
END_TEST

Suite *
statefile_suite(void)
{
	Suite	*s = suite_create("statefile");
	TCase	*tc = tcase_create("statefile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_fifo);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	return s;
}
