/* SPDX-License-Identifier: ISC */
/*
 * admins.c: the list of admin nodes.  STATE/admins holds one base32 node
 * ID a line; it is written under a temporary name, synced and renamed,
 * so a crash leaves the old list or the new one, never half of one.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "admins.h"
#include "log.h"
#include "statefile.h"

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
admins_read(struct admins *a, const char *dir)
{
	char		 buf[ADMINS_FILE_MAX + 1], path[PATH_MAX], *p, *nl;
	ssize_t		 n;
	bool		 found;

	/* Whoever may write it may name any node an admin. */
	if ((n = statefile_read(dir, ADMINS_FILE, buf, ADMINS_FILE_MAX,
	    S_IWGRP | S_IWOTH, "lets others name admins", &found)) == -1)
		return -1;
	if (!found)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, ADMINS_FILE);
	if (memchr(buf, '\0', (size_t)n) != NULL) {
		log_warnx("%s: a NUL byte", path);
		return -1;
	}
	buf[n] = '\0';
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			log_warnx("%s: the last line has no newline", path);
			return -1;
		}
		if (admins_add(a, p, (size_t)(nl - p), path) == -1)
			return -1;
	}
	return 0;
}

int
admins_load(struct admins *a, const char *dir, const char *const *config_ids,
    size_t nconfig)
{
	size_t	i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < nconfig; i++)
		if (admins_add(a, config_ids[i], strlen(config_ids[i]),
		    "admins") == -1)
			return -1;
	return admins_read(a, dir);
}

int
admins_save(const char *dir, const uint8_t (*ids)[NODE_ID_LEN], size_t n)
{
	char	buf[ADMINS_FILE_MAX];
	size_t	i, len = 0;

	if (n > ADMINS_MAX) {
		log_warnx("admins: more than %d", ADMINS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		base32_encode(ids[i], NODE_ID_LEN, buf + len);
		len += NODE_ID_STRLEN - 1;
		buf[len++] = '\n';
	}
	return statefile_write(dir, ADMINS_FILE, buf, len);
}
