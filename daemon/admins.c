/* SPDX-License-Identifier: ISC */
/*
 * admins.c: the list of admin nodes.  STATE/admins holds one base32 node
 * ID a line; it is written under a temporary name, synced and renamed,
 * so a crash leaves the old list or the new one, never half of one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admins.h"
#include "log.h"

#define ADMINS_FILE	"admins"
/* The file at its largest: ADMINS_MAX lines of an ID and a newline. */
#define ADMINS_FILE_MAX	(ADMINS_MAX * NODE_ID_STRLEN)

bool
admins_has(const struct admins *a, const uint8_t id[NODE_ID_LEN])
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		if (memcmp(a->ids[i], id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

/* Adds the base32 ID s of n characters; -1 after logging if bad or full. */
static int
admins_add(struct admins *a, const char *s, size_t n, const char *where)
{
	char	buf[NODE_ID_STRLEN];
	uint8_t	id[NODE_ID_LEN];

	if (n != NODE_ID_STRLEN - 1) {
		log_warnx("%s: \"%.*s\" is not a node ID", where,
		    (int)(n < 64 ? n : 64), s);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!base32_decode(buf, id, sizeof(id))) {
		log_warnx("%s: \"%s\" is not a node ID", where, buf);
		return -1;
	}
	if (admins_has(a, id))
		return 0;
	if (a->n == ADMINS_MAX) {
		log_warnx("%s: more than %d admins", where, ADMINS_MAX);
		return -1;
	}
	memcpy(a->ids[a->n++], id, NODE_ID_LEN);
	return 0;
}

/* Reads dir/admins into a; a missing file adds nothing. */
static int
admins_read(struct admins *a, const char *path)
{
	struct stat	 st;
	char		 buf[ADMINS_FILE_MAX + 1], *p, *nl;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		log_warnx("%s: not a regular file of uid %u", path,
		    (unsigned)geteuid());
		goto out;
	}
	/* Whoever may write it may name any node an admin. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_warnx("%s: mode %04o lets others name admins; run chmod "
		    "600 %s", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	/* One byte more than the largest file tells a file too long. */
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (len == sizeof(buf)) {
		log_warnx("%s: longer than %d IDs", path, ADMINS_MAX);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		log_warnx("%s: a NUL byte", path);
		goto out;
	}
	buf[len] = '\0';
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			log_warnx("%s: the last line has no newline", path);
			goto out;
		}
		if (admins_add(a, p, (size_t)(nl - p), path) == -1)
			goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
admins_load(struct admins *a, const char *dir, const char *const *config_ids,
    size_t nconfig)
{
	char	path[PATH_MAX];
	size_t	i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < nconfig; i++)
		if (admins_add(a, config_ids[i], strlen(config_ids[i]),
		    "admins") == -1)
			return -1;
	if (snprintf(path, sizeof(path), "%s/%s", dir, ADMINS_FILE) >=
	    (int)sizeof(path)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	return admins_read(a, path);
}

int
admins_save(const char *dir, const uint8_t (*ids)[NODE_ID_LEN], size_t n)
{
	char	tmp[PATH_MAX], path[PATH_MAX];
	char	buf[ADMINS_FILE_MAX];
	size_t	i, len = 0;
	int	fd, dfd;

	if (n > ADMINS_MAX) {
		log_warnx("admins: more than %d", ADMINS_MAX);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, ADMINS_FILE) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp), "%s/.%s.%ld",
	    dir, ADMINS_FILE, (long)getpid()) >= (int)sizeof(tmp)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		base32_encode(ids[i], NODE_ID_LEN, buf + len);
		len += NODE_ID_STRLEN - 1;
		buf[len++] = '\n';
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || write(fd, buf, len) != (ssize_t)len ||
	    fsync(fd) == -1) {
		log_warn("%s", tmp);
		if (fd != -1)
			close(fd);
		(void)unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", path);
		(void)unlink(tmp);
		return -1;
	}
	/* The new name must survive a crash too. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
