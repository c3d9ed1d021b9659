/* SPDX-License-Identifier: ISC */
/*
 * stats.h: every number the daemon keeps for monitoring, gathered from
 * the modules that own them and written through one metrics writer:
 * the same gathering serves GET /metrics and the stats op, so the two
 * never disagree.
 */
#ifndef PEERD_STATS_H
#define PEERD_STATS_H

#include <time.h>

#include "control.h"
#include "metrics.h"

struct access;
struct calls;
struct events;
struct gossip;
struct handlers;
struct kv;
struct kvsync;
struct kvwatch;
struct mesh;
struct originauth;
struct revoke;
struct serve;

/* Where the numbers are: the modules, and what this node is. */
struct stats {
	const char	*version;
	const char	*node;		/* base32 ID */
	const char	*name;
	time_t		 started_at;	/* wall clock */
	struct control	*control;
	struct mesh	*mesh;
	struct gossip	*gossip;
	struct calls	*calls;
	struct serve	*serve;
	struct events	*events;
	struct access	*access;
	struct handlers	*handlers;
	struct kv	*kv;
	struct kvsync	*kvsync;
	struct kvwatch	*kvwatch;
	struct originauth *oa;
	struct revoke	*revoke;
};

/* A metrics_gather_fn: arg is the struct stats. */
void		 stats_gather(struct metrics_writer *, void *arg);

/* The stats op (see doc/PROTOCOL.md), called with the struct stats. */
extern const struct ctl_op	stats_ctl_ops[];

#endif
