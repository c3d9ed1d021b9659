/* SPDX-License-Identifier: ISC */
/*
 * statefile.c: writing a file of the state directory atomically, and
 * reading one back only if it is a regular file of ours that no one
 * else may touch in the ways the caller forbids.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "statefile.h"

static int
path_of(char *path, size_t len, const char *dir, const char *pre,
    const char *name, const char *post)
{
	if (snprintf(path, len, "%s/%s%s%s", dir, pre, name, post) >=
	    (int)len) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	return 0;
}

/* The new name must survive a crash too. */
static void
dir_sync(const char *dir)
{
	int	dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
}

int
statefile_write(const char *dir, const char *name, const void *buf,
    size_t len)
{
	char		 tmp[PATH_MAX], path[PATH_MAX], pid[24];
	const char	*p = buf;
	ssize_t		 n;
	size_t		 done = 0;
	int		 fd;

	snprintf(pid, sizeof(pid), ".%ld", (long)getpid());
	if (path_of(path, sizeof(path), dir, "", name, "") == -1 ||
	    path_of(tmp, sizeof(tmp), dir, ".", name, pid) == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		log_warn("%s", tmp);
		return -1;
	}
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", path);
		(void)unlink(tmp);
		return -1;
	}
	dir_sync(dir);
	return 0;
fail:
	log_warn("%s", tmp);
	close(fd);
	(void)unlink(tmp);
	return -1;
}

int
statefile_remove(const char *dir, const char *name)
{
	char	path[PATH_MAX];

	if (path_of(path, sizeof(path), dir, "", name, "") == -1)
		return -1;
	if (unlink(path) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("unlink %s", path);
		return -1;
	}
	dir_sync(dir);
	return 0;
}

ssize_t
statefile_read(const char *dir, const char *name, void *buf, size_t max,
    mode_t forbid, const char *why, bool *found)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	char		*p = buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	*found = false;
	if (path_of(path, sizeof(path), dir, "", name, "") == -1)
		return -1;
	/* O_NONBLOCK: a FIFO planted here must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		log_warnx("%s: not a regular file owned by uid %u", path,
		    (unsigned)geteuid());
		goto fail;
	}
	if (st.st_mode & forbid) {
		log_warnx("%s: mode %04o %s; run chmod %03o %s", path,
		    (unsigned)(st.st_mode & 07777), why,
		    (unsigned)(st.st_mode & 0777 & ~forbid), path);
		goto fail;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		log_warnx("%s: %jd bytes, more than %zu", path,
		    (intmax_t)st.st_size, max);
		goto fail;
	}
	while (got < max) {
		n = read(fd, p + got, max - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s", path);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*found = true;
	return (ssize_t)got;
fail:
	close(fd);
	return -1;
}
