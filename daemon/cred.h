/* SPDX-License-Identifier: ISC */
/*
 * cred.h: who is at the other end of a local socket, as the kernel saw
 * the process when it connected: its user, primary group and
 * supplementary groups.
 */
#ifndef PEERD_CRED_H
#define PEERD_CRED_H

#include <sys/types.h>

#include <stdbool.h>

#define CRED_GROUPS_MAX	256	/* supplementary groups kept; more are cut */

struct cred {
	pid_t	pid;
	uid_t	uid;
	gid_t	gid;			/* primary group */
	int	ngroups;
	gid_t	groups[CRED_GROUPS_MAX];
	bool	groups_cut;		/* it is in more than these */
};

/*
 * Fills c from a connected Unix socket (SO_PEERCRED and SO_PEERGROUPS).
 * -1 with errno if the kernel would not say who it is.
 */
int	cred_of_socket(int fd, struct cred *c);
/* True if gid is c's primary group or one of its supplementary ones. */
bool	cred_in_group(const struct cred *c, gid_t gid);

#endif
