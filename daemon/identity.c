/* SPDX-License-Identifier: ISC */
/*
 * identity.c: creating and loading the key files.  Each file holds 32
 * raw bytes: the Ed25519 seed, or the network key.  New files are
 * written under a temporary name and renamed, so a crash never leaves a
 * half-written key behind.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "identity.h"
#include "log.h"
#include "statefile.h"

#define KEY_FILE_LEN	32
#define LOCK_TRIES	10	/* lock_take: a probe's lock is let go at once */
#define LOCK_WAIT_US	10000

/*
 * Whether an existing dir is ours and no one else can write to it:
 * whoever can could swap the key files.  -1 with the reason in err.
 */
static int
state_dir_owned(const char *dir, const struct stat *st, char *err,
    size_t errlen)
{
	if (!S_ISDIR(st->st_mode) || st->st_uid != geteuid() ||
	    (st->st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "state directory %s: must be a directory "
		    "owned by uid %u that only it can write to", dir,
		    (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/*
 * Creates dir and any missing parents (mode 0700), and checks that it
 * is ours (state_dir_owned).
 */
static int
state_dir_ready(const char *dir)
{
	struct stat	st;
	char		path[PATH_MAX], *p, err[PATH_MAX + 128];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		log_warnx("state directory %s: path too long", dir);
		return -1;
	}
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			log_warn("state directory %s", path);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("state directory %s", dir);
		return -1;
	}
	if (stat(dir, &st) == -1) {
		log_warn("state directory %s", dir);
		return -1;
	}
	if (state_dir_owned(dir, &st, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/*
 * Opens path to read, not through a link.  1 with *fd, 0 if absent, -1
 * with the reason in err.
 */
static int
open_existing(const char *path, int *fd, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO planted here must not hang the start. */
	if ((*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}

/*
 * Reads exactly KEY_FILE_LEN bytes.  1 loaded, 0 absent, -1 refused
 * with the reason in err.
 */
static int
key_check(const char *path, uint8_t key[KEY_FILE_LEN], char *err,
    size_t errlen)
{
	struct stat	st;
	ssize_t		n;
	uint8_t		extra;
	int		fd, r;

	if ((r = open_existing(path, &fd, err, errlen)) != 1)
		return r;
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not %u", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: mode %04o gives others access to a "
		    "secret key; run chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	n = read(fd, key, KEY_FILE_LEN);
	if (n != KEY_FILE_LEN || read(fd, &extra, 1) != 0) {
		snprintf(err, errlen, "%s: not a key file (%d bytes expected)",
		    path, KEY_FILE_LEN);
		goto fail;
	}
	close(fd);
	return 1;
fail:
	close(fd);
	return -1;
}

/* key_check, logging why a key is refused. */
static int
key_read(const char *path, uint8_t key[KEY_FILE_LEN])
{
	char	err[2 * PATH_MAX + 128];
	int	r;

	if ((r = key_check(path, key, err, sizeof(err))) == -1)
		log_warnx("%s", err);
	return r;
}

/*
 * Writes a new key file.  link() rather than rename(): if another
 * process created the file meanwhile, its key wins and is read back,
 * so no two processes ever run with different keys for one directory.
 * 0 written, 1 someone else's is there now, -1 on error.
 */
static int
key_write(const char *dir, const char *name, const uint8_t key[KEY_FILE_LEN])
{
	char	tmp[PATH_MAX], path[PATH_MAX];
	int	fd, dfd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, name,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		log_warn("%s", tmp);
		return -1;
	}
	if (write(fd, key, KEY_FILE_LEN) != KEY_FILE_LEN || fsync(fd) == -1) {
		log_warn("%s", tmp);
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	close(fd);
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			rc = 1;
		else {
			log_warn("link %s", path);
			rc = -1;
		}
	}
	(void)unlink(tmp);
	/* The new name must survive a crash too. */
	if (rc == 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (rc == 0)
		log_info("created %s", path);
	return rc;
}

/* Loads dir/name, or creates it from random bytes. */
static int
key_load_or_create(const char *dir, const char *name, uint8_t key[KEY_FILE_LEN])
{
	char	path[PATH_MAX];
	int	r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	if ((r = key_read(path, key)) != 0)
		return r == 1 ? 0 : -1;
	randombytes_buf(key, KEY_FILE_LEN);
	if ((r = key_write(dir, name, key)) == 1)
		return key_read(path, key) == 1 ? 0 : -1;
	return r;
}

int
identity_load(struct identity *id, const char *dir)
{
	uint8_t	seed[crypto_sign_SEEDBYTES];

	if (sodium_init() == -1) {
		log_warnx("libsodium failed to initialise");
		return -1;
	}
	if (state_dir_ready(dir) == -1)
		return -1;
	if (key_load_or_create(dir, "identity.key", seed) == -1 ||
	    key_load_or_create(dir, "network.key", id->network_key) == -1) {
		sodium_memzero(seed, sizeof(seed));
		return -1;
	}
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	/* One key everywhere: the Noise static key is the same key pair. */
	if (crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->sk) != 0) {
		log_warnx("identity: cannot derive the X25519 key");
		return -1;
	}
	base32_encode(id->pk, sizeof(id->pk), id->id);
	return 0;
}

/*
 * Whether dir, which does not exist, could be made: its nearest
 * existing ancestor must be a directory we may write to.
 */
static int
state_dir_creatable(const char *dir, char *err, size_t errlen)
{
	struct stat	st;
	char		path[PATH_MAX], *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "state directory %s: path too long", dir);
		return -1;
	}
	for (;;) {
		if ((p = strrchr(path, '/')) == NULL)
			snprintf(path, sizeof(path), ".");
		else if (p == path)
			path[1] = '\0';
		else
			*p = '\0';
		if (stat(path, &st) == 0)
			break;
		if (errno != ENOENT || strcmp(path, ".") == 0 ||
		    strcmp(path, "/") == 0) {
			snprintf(err, errlen, "state directory %s: %s: %s",
			    dir, path, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s: %s is not a "
		    "directory", dir, path);
		return -1;
	}
	if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) == -1) {
		snprintf(err, errlen, "state directory %s: cannot be created "
		    "in %s: %s", dir, path, strerror(errno));
		return -1;
	}
	return 0;
}

int
lock_take(int fd)
{
	int	tries;

	/* A probe holds the lock for a moment: wait that out, 100 ms. */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (errno != EWOULDBLOCK || tries == LOCK_TRIES)
			return -1;
		usleep(LOCK_WAIT_US);
	}
	return 0;
}

int
lock_probe(const char *path, bool *busy, char *err, size_t errlen)
{
	int	fd, r;

	*busy = false;
	if ((r = open_existing(path, &fd, err, errlen)) != 1)
		return r;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			*busy = true;
		else {
			snprintf(err, errlen, "lock %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);	/* and with it the lock, if we got it */
	return 0;
}

int
identity_check(const char *dir, bool *busy, char *err, size_t errlen)
{
	static const char *const	 names[] = { "identity.key",
					    "network.key" };
	struct stat			 st;
	uint8_t				 key[KEY_FILE_LEN];
	char				 path[PATH_MAX];
	size_t				 i;
	int				 r;

	*busy = false;
	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return state_dir_creatable(dir, err, errlen);
		snprintf(err, errlen, "state directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (state_dir_owned(dir, &st, err, errlen) == -1)
		return -1;
	if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (lock_probe(path, busy, err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", dir);
			return -1;
		}
		r = key_check(path, key, err, errlen);
		sodium_memzero(key, sizeof(key));
		if (r == -1)
			return -1;
	}
	return 0;
}

bool
node_id_prefix(const char *idstr, const char *spec)
{
	size_t	n = strlen(spec);

	return n >= NODE_ID_PREFIX_MIN && strncasecmp(idstr, spec, n) == 0;
}

bool
node_id_prefix_short(const char *spec)
{
	size_t	i, n = strlen(spec);

	if (n == 0 || n >= NODE_ID_PREFIX_MIN)
		return false;
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz234567",
		    tolower((unsigned char)spec[i])) == NULL)
			return false;
	return true;
}

void
identity_clear(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

int
identity_set_network_key(struct identity *id, const char *dir,
    const uint8_t key[NETWORK_KEY_LEN])
{
	if (state_dir_ready(dir) == -1 ||
	    statefile_write(dir, "network.key", key, KEY_FILE_LEN) == -1)
		return -1;
	if (id != NULL)
		memcpy(id->network_key, key, NETWORK_KEY_LEN);
	log_info("network key in %s/network.key replaced", dir);
	return 0;
}

bool
identity_other_network(const char *dir, const uint8_t key[NETWORK_KEY_LEN])
{
	uint8_t	cur[KEY_FILE_LEN];
	char	path[PATH_MAX];
	bool	other;

	snprintf(path, sizeof(path), "%s/network.key", dir);
	if (key_read(path, cur) != 1)
		return false;
	other = sodium_memcmp(cur, key, KEY_FILE_LEN) != 0;
	sodium_memzero(cur, sizeof(cur));
	return other;
}

int
state_dir_lock(const char *dir)
{
	char	path[PATH_MAX];
	int	fd;

	if (state_dir_ready(dir) == -1)
		return -1;
	if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path)) {
		log_warnx("%s: path too long", dir);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (lock_take(fd) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("another peerd uses the state directory %s",
			    dir);
		else
			log_warn("lock %s", path);
		close(fd);
		return -1;
	}
	return fd;	/* kept open, and so locked, until we exit */
}
