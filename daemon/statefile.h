/* SPDX-License-Identifier: ISC */
/*
 * statefile.h: the small files of the state directory, written whole
 * and atomically, read only if they are ours and no one else's.
 */
#ifndef PEERD_STATEFILE_H
#define PEERD_STATEFILE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * Replaces dir/name with len bytes of buf: a file of mode 0600 under a
 * temporary name, synced, renamed over the old one, and dir synced, so
 * that a crash leaves the old file or the new one.  0, or -1 after
 * logging why (the temporary file removed).
 */
int	statefile_write(const char *dir, const char *name, const void *buf,
	    size_t len);

/* Removes dir/name if it is there, and syncs dir.  0, or -1 logged. */
int	statefile_remove(const char *dir, const char *name);

/*
 * Reads dir/name, at most max bytes, into buf.  Refuses what is not a
 * regular file owned by our euid, a file of more than max bytes, and
 * one whose mode has any bit of forbid (logging "mode M why; run chmod
 * N path", N the mode without those bits; why may be NULL if forbid
 * is 0).  Not through a link, and a FIFO does not block.  Its
 * length, 0 if it is absent (*found false), or -1 after logging why.
 */
ssize_t	statefile_read(const char *dir, const char *name, void *buf,
	    size_t max, mode_t forbid, const char *why, bool *found);

#endif
