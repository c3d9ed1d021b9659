/* SPDX-License-Identifier: ISC */
/*
 * tags.h: the tags this node announces: those of the configuration,
 * with the changes made at run time (ops tags and set_tags) on top,
 * until the daemon stops.  Every change goes into our record through
 * gossip, which re-signs it and floods it.
 */
#ifndef PEERD_TAGS_H
#define PEERD_TAGS_H

#include "control.h"
#include "tagset.h"

struct gossip;
struct tags;

/* Announces configured (copied) at once.  NULL if out of memory. */
struct tags	*tags_new(struct gossip *, const struct tagset *configured);
void		 tags_free(struct tags *);
/*
 * The configuration was read again: its tags replace the configured
 * ones, and the run-time changes stay on top of them (a run-time tag
 * that no longer fits is dropped, with a warning).
 */
void		 tags_configure(struct tags *, const struct tagset *configured);

/* Control ops (see doc/PROTOCOL.md), called with the tags. */
extern const struct ctl_op	tags_ctl_ops[];

#endif
