/* SPDX-License-Identifier: ISC */
/*
 * join.c: invite and join.  An invitation is this node's network key
 * and its reachable addresses; joining stores the key and dials them.
 * Joining another network by accident would cut a node off from its
 * own, so a node that already knows members refuses unless forced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "admins.h"
#include "cbor_buf.h"
#include "config.h"
#include "control.h"
#include "gossip.h"
#include "identity.h"
#include "join.h"
#include "keyrot.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "netkeys.h"
#include "overlay.h"
#include "proto.h"
#include "token.h"

struct join {
	struct identity	*id;
	struct netkeys	*keys;
	const char	*state_dir;
	struct mesh	*mesh;
	struct gossip	*gossip;
	struct overlay	*overlay;
	struct admins	*admins;	/* NULL: none known */
	const struct config *conf;
	struct keyrot	*keyrot;
};

struct join *
join_new(struct identity *id, struct netkeys *keys, const char *state_dir,
    struct mesh *mesh, struct gossip *gossip, struct overlay *overlay)
{
	struct join	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->id = id;
	j->keys = keys;
	j->state_dir = state_dir;
	j->mesh = mesh;
	j->gossip = gossip;
	j->overlay = overlay;
	return j;
}

void
join_free(struct join *j)
{
	free(j);
}

void
join_set_keys(struct join *j, struct admins *a, const struct config *conf,
    struct keyrot *kr)
{
	j->admins = a;
	j->conf = conf;
	j->keyrot = kr;
}

int
join_store_admins(const char *state_dir, const struct token *t,
    bool network_changed)
{
	if (t->nadmins > 0)
		return admins_save(state_dir, t->admins, (size_t)t->nadmins);
	/* Another network's admins have no say in this one. */
	if (network_changed)
		return admins_save(state_dir, NULL, 0);
	return 0;
}

/* The admins of the config and of STATE/admins, after a join wrote it. */
static void
join_reload_admins(struct join *j)
{
	const char	*ids[CONFIG_ADMINS_MAX];
	struct admins	 a;
	int		 i;

	if (j->admins == NULL)
		return;
	for (i = 0; i < j->conf->nadmins; i++)
		ids[i] = j->conf->admins[i];
	if (admins_load(&a, j->state_dir, ids, (size_t)j->conf->nadmins) ==
	    -1) {
		log_warnx("join: keeping the admins known before");
		return;
	}
	*j->admins = a;
	log_info("join: %zu admins known", a.n);
}

/* A peers.cache with addresses in it: this node has been a member. */
static bool
has_peer_cache(const char *dir)
{
	char	path[PATH_MAX], line[512];
	FILE	*f;
	bool	any = false;

	if (snprintf(path, sizeof(path), "%s/peers.cache", dir) >=
	    (int)sizeof(path) || (f = fopen(path, "r")) == NULL)
		return false;
	while (!any && fgets(line, sizeof(line), f) != NULL)
		any = line[0] != '#' && line[0] != '\n';
	fclose(f);
	return any;
}

int
join_at_start(struct config *c, const char *text, bool force, char *err,
    size_t errlen)
{
	struct token	 t;
	const char	*why;
	bool		 other;
	int		 i;

	if (token_decode(text, &t, &why) == -1) {
		snprintf(err, errlen, "--join: %s", why);
		return -1;
	}
	other = identity_other_network(c->state_dir, t.network_key);
	if (other && has_peer_cache(c->state_dir) && !force) {
		snprintf(err, errlen, "--join: %s belongs to another network "
		    "that this node has been a member of; add --force to leave "
		    "it", c->state_dir);
		sodium_memzero(&t, sizeof(t));
		return -1;
	}
	if (other) {
		struct netkeys	old;
		char		path[PATH_MAX];

		/* The old network's addresses are of no use any more. */
		if (snprintf(path, sizeof(path), "%s/peers.cache",
		    c->state_dir) < (int)sizeof(path))
			(void)unlink(path);
		/* Nor its keys of before a rotation. */
		(void)netkeys_reset(&old, c->state_dir);
	}
	if (identity_set_network_key(NULL, c->state_dir, t.network_key) == -1) {
		snprintf(err, errlen, "--join: cannot store the network key "
		    "in %s", c->state_dir);
		sodium_memzero(&t, sizeof(t));
		return -1;
	}
	if (join_store_admins(c->state_dir, &t, other) == -1) {
		snprintf(err, errlen, "--join: cannot store the admins in %s",
		    c->state_dir);
		sodium_memzero(&t, sizeof(t));
		return -1;
	}
	for (i = 0; i < t.naddrs && c->nbootstrap < CONFIG_BOOTSTRAP_MAX; i++)
		snprintf(c->bootstrap[c->nbootstrap++],
		    sizeof(c->bootstrap[0]), "%s", t.addrs[i]);
	sodium_memzero(&t, sizeof(t));
	return 0;
}

static void
join_op_invite(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct join		*j = arg;
	const struct record	*self = gossip_self(j->gossip);
	struct token		 t;
	struct cbor_buf		*b;
	char			 text[TOKEN_STRLEN_MAX];
	int			 i;

	memset(&t, 0, sizeof(t));
	memcpy(t.network_key, j->id->network_key, sizeof(t.network_key));
	for (i = 0; i < self->naddrs && i < TOKEN_ADDRS_MAX; i++)
		snprintf(t.addrs[t.naddrs++], sizeof(t.addrs[0]), "%s",
		    self->addrs[i]);
	for (i = 0; j->admins != NULL && (size_t)i < j->admins->n &&
	    i < TOKEN_ADMINS_MAX; i++)
		memcpy(t.admins[t.nadmins++], j->admins->ids[i], TOKEN_ID_LEN);
	if (t.naddrs == 0 || token_encode(&t, text, sizeof(text)) == -1) {
		sodium_memzero(&t, sizeof(t));
		ctl_reply_error(c, msg->id, PEER_UNAVAILABLE, "this node has no "
		    "address others can dial (listen on a routable address)");
		return;
	}
	sodium_memzero(&t, sizeof(t));
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "token");
	cbor_put_text(b, text);
	ctl_result_end(c);
	sodium_memzero(text, sizeof(text));
}

static void
join_op_join(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct join		*j = arg;
	const struct cbor_field	*f;
	struct cbor_buf		*b;
	struct token		 t;
	const char		*why;
	char			 text[TOKEN_STRLEN_MAX];
	bool			 force = false, other;
	size_t			 known;
	int			 i;

	if (!ctl_arg_text(c, msg, "token", text, sizeof(text), true))
		return;
	if ((f = ctl_msg_get(msg, "force")) != NULL &&
	    !cbor_read_bool(f->val, f->vallen, &force)) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
		    "force: not a boolean");
		return;
	}
	if (token_decode(text, &t, &why) == -1) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "token: %s",
		    why);
		return;
	}
	other = sodium_memcmp(t.network_key, j->id->network_key,
	    NETWORK_KEY_LEN) != 0;
	known = members_count(gossip_members(j->gossip));
	if (other && known > 1 && !force) {
		sodium_memzero(&t, sizeof(t));
		ctl_reply_error(c, msg->id, PEER_ALREADY_EXISTS, "this node is "
		    "a member of another network (%zu members known); join "
		    "with force to leave it", known - 1);
		return;
	}
	if (other) {
		if (identity_set_network_key(j->id, j->state_dir,
		    t.network_key) == -1) {
			sodium_memzero(&t, sizeof(t));
			ctl_reply_error(c, msg->id, PEER_INTERNAL, "cannot store "
			    "the network key");
			return;
		}
		(void)netkeys_reset(j->keys, j->state_dir);
		log_info("join: leaving the old network for the token's");
		if (j->keyrot != NULL)
			keyrot_reset(j->keyrot);
		/* Tell the old network we leave; closing flushes it out. */
		gossip_leave(j->gossip);
		mesh_reset(j->mesh);
		gossip_reset(j->gossip);
		overlay_reset(j->overlay);
		/* Beacons are keyed by the network key: start them anew. */
		(void)overlay_discovery_start(j->overlay);
	}
	if (t.nadmins > 0 || other) {
		if (join_store_admins(j->state_dir, &t, other) == -1)
			log_warnx("join: cannot store the token's admins");
		else
			join_reload_admins(j);
	}
	for (i = 0; i < t.naddrs; i++)
		(void)mesh_add_target(j->mesh, t.addrs[i]);
	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 2);
	cbor_put_text(b, "network_changed");
	cbor_put_bool(b, other);
	cbor_put_text(b, "addrs");
	cbor_put_uint(b, (uint64_t)t.naddrs);
	ctl_result_end(c);
	sodium_memzero(&t, sizeof(t));
}

const struct ctl_op join_ctl_ops[] = {
	{ "invite",	CTL_OP_ADMIN,	join_op_invite },
	{ "join",	CTL_OP_ADMIN,	join_op_join },
	{ NULL,		0,		NULL },
};
