/* SPDX-License-Identifier: ISC */
/*
 * changes.h: what happened to the members and their services, told once
 * each: a node joined, came back, is suspect, died, left or was
 * forgotten, or changed its record; a service was registered or
 * withdrawn on a node.  Gossip
 * reports a member's new state or record; this module compares it with
 * what it saw last and tells its owner the differences, for watch
 * streams and event handlers.
 */
#ifndef PEERD_CHANGES_H
#define PEERD_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "record.h"

struct member;
struct changes;

enum change_kind {
	CHANGE_JOIN,		/* a live node not seen live before */
	CHANGE_ALIVE,		/* alive again: refuted, or back */
	CHANGE_SUSPECT,
	CHANGE_DEAD,
	CHANGE_LEFT,
	CHANGE_FORGOTTEN,	/* gone from the member table */
	/* A live node's name, addresses, groups, hub flag or tags. */
	CHANGE_UPDATE,
	CHANGE_REGISTERED,	/* a live node offers a service */
	CHANGE_WITHDRAWN,	/* it does no more, or is no longer live */
};
#define CHANGE_KINDS	(CHANGE_WITHDRAWN + 1)

struct change {
	enum change_kind	 kind;
	const uint8_t		*id;
	const char		*idstr;
	const char		*name;		/* the node's */
	bool			 self;		/* this node */
	uint64_t		 incarnation;
	/*
	 * Member kinds: the evidence, as gossip gave it, or NULL.  Service
	 * kinds: the member change that brought them ("member-dead"), or
	 * NULL when the node's record changed.
	 */
	const char		*why;
	/* Service kinds: the service and its group ("" if none). */
	const char		*service;
	const char		*group;
};

struct changes_ops {
	/*
	 * Must not call changes_member or changes_forget: the table is
	 * in the middle of an update (queue what must be written).
	 */
	void	(*change)(void *arg, const struct change *);
};

/* NULL if out of memory. */
struct changes	*changes_new(const struct changes_ops *, void *arg);
/* NULL is fine. */
void		 changes_free(struct changes *);
/*
 * m's state or record changed (for this node: its record); why is the
 * evidence for a new state, or NULL.  Each difference from what was
 * seen of m before is told, member kinds before service kinds.
 */
void		 changes_member(struct changes *, const struct member *,
		    const char *why);
/* The node id was forgotten. */
void		 changes_forget(struct changes *, const uint8_t *id);
/* "member-join", "service-withdrawn": the names users see. */
const char	*change_kind_name(enum change_kind);
/* The kind of a name, or -1. */
int		 change_kind_parse(const char *);

#endif
