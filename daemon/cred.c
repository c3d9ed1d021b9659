/* SPDX-License-Identifier: ISC */
/*
 * cred.c: the credentials of a local socket's peer.  The groups come
 * from the connecting process itself (SO_PEERGROUPS), not from the
 * group database, so a user added to a group is let in once they log
 * in again, as with files.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "cred.h"

int
cred_of_socket(int fd, struct cred *c)
{
	struct ucred	uc;
	gid_t		groups[1024];
	socklen_t	len = sizeof(uc);
	int		i, n;

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	c->pid = uc.pid;
	c->uid = uc.uid;
	c->gid = uc.gid;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
		/* Too many groups, or a kernel before 4.13: primary only. */
		if (errno != ERANGE && errno != ENOPROTOOPT)
			return -1;
		c->groups_cut = errno == ERANGE;
		return 0;
	}
	n = (int)(len / sizeof(gid_t));
	for (i = 0; i < n && c->ngroups < CRED_GROUPS_MAX; i++)
		c->groups[c->ngroups++] = groups[i];
	c->groups_cut = n > CRED_GROUPS_MAX;
	return 0;
}

bool
cred_in_group(const struct cred *c, gid_t gid)
{
	int	i;

	if (c->gid == gid)
		return true;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}
