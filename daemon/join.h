/* SPDX-License-Identifier: ISC */
/*
 * join.h: inviting nodes into this network and joining another one,
 * with the one-line tokens of token.h.
 */
#ifndef PEERD_JOIN_H
#define PEERD_JOIN_H

#include <stdbool.h>
#include <stddef.h>

#include "control.h"

struct admins;
struct config;
struct gossip;
struct identity;
struct join;
struct keyrot;
struct mesh;
struct netkeys;
struct overlay;
struct token;

/*
 * peerd --join: before the node starts, stores the token's network key
 * in the state directory and adds its addresses to bootstrap.  Refuses
 * a state directory of another network that has known members, unless
 * force.  0, or -1 with the reason in err.
 */
int		 join_at_start(struct config *, const char *token, bool force,
		    char *err, size_t errlen);

/*
 * For the ops: a join that changes networks stores the new key in id
 * and in state_dir, forgets the old network's keys (keys), and starts
 * the mesh, membership and the overlay afresh.  NULL if out of memory.
 */
struct join	*join_new(struct identity *id, struct netkeys *keys,
		    const char *state_dir, struct mesh *, struct gossip *,
		    struct overlay *);
void		 join_free(struct join *);
/*
 * The admins an invitation names, and those a join with a token that
 * names admins replaces in STATE/admins; reloaded with the config's
 * (conf->admins) after.  A join of another network forgets the key
 * rotations of the old one (kr, NULL: none).  All must outlive the join.
 */
void		 join_set_keys(struct join *, struct admins *,
		    const struct config *conf, struct keyrot *kr);
/*
 * STATE/admins after a join: the token's admins, or none if the token
 * names none and the network changed.  0, or -1 after logging.
 */
int		 join_store_admins(const char *state_dir,
		    const struct token *, bool network_changed);

/* Control ops (see doc/PROTOCOL.md), called with the join. */
extern const struct ctl_op	join_ctl_ops[];

#endif
