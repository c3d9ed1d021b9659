/* SPDX-License-Identifier: ISC */
/*
 * join.h: inviting nodes into this network and joining another one,
 * with the one-line tokens of token.h.
 */
#ifndef PEERD_JOIN_H
#define PEERD_JOIN_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct ctl_conn;
struct ctl_msg;

/*
 * peerd --join: before the node starts, stores the token's network key
 * in the state directory and adds its addresses to bootstrap.  Refuses
 * a state directory of another network that has known members, unless
 * force.  0, or -1 with the reason in err.
 */
int	join_at_start(struct config *, const char *token, bool force,
	    char *err, size_t errlen);

/* Control ops; see doc/PROTOCOL.md. */
void	join_op_invite(struct ctl_conn *, const struct ctl_msg *);
void	join_op_join(struct ctl_conn *, const struct ctl_msg *);

#endif
