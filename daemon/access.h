/* SPDX-License-Identifier: ISC */
/*
 * access.h: per-service access rules: which local users and groups may
 * serve or call a service, and which nodes or node groups may call it
 * from the mesh.  The first rule whose pattern matches a service name
 * decides for it; no rule matching, or an action the rule leaves out,
 * is open to all.  Root and the daemon's own user pass local checks
 * always.
 */
#ifndef PEERD_ACCESS_H
#define PEERD_ACCESS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ACCESS_WHO_MAX	64	/* entries in one action's list */

struct access;
struct access_rule;
struct cred;

enum access_action {
	ACCESS_SERVE,		/* register the service (local) */
	ACCESS_CALL,		/* call or notify it (local) */
	ACCESS_REMOTE,		/* call it from another node */
};
#define ACCESS_ACTIONS	3

/*
 * No rules: everything open.  self is the daemon's own uid, which
 * passes local checks as root does.  NULL if out of memory.
 */
struct access	*access_new(uid_t self);
/* NULL is fine. */
void		 access_free(struct access *);
/*
 * Parses one rule, "PATTERN [serve=WHO,...] [call=WHO,...]
 * [remote=WHO,...]", resolving user and group names now; file (NULL:
 * the command line) and line are where it was written, for naming it.
 * NULL with what is wrong in err ("no such user alice").
 */
struct access_rule *access_rule_parse(const char *text, const char *file,
		    int line, char *err, size_t errlen);
void		 access_rule_free(struct access_rule *);
/*
 * Replaces the rules with c's, in order, all or none: -1 with
 * "file:line: service: what is wrong" in err leaves the old ones.
 * Checks already made keep their outcome; later ones use the new rules.
 */
int		 access_load(struct access *, const struct config *c,
		    char *err, size_t errlen);
/* Appends a parsed rule (the access takes it).  -1 if there are too many. */
int		 access_add(struct access *, struct access_rule *);
size_t		 access_count(const struct access *);

/*
 * Whether the local client cr may serve (ACCESS_SERVE) or call
 * (ACCESS_CALL) service: NULL if it may, else the rule that denies it,
 * and the denial is counted.  A NULL access allows everything.
 */
const struct access_rule *access_local(struct access *, enum access_action,
		    const struct cred *cr, const char *service);
/*
 * Whether the node id, in the node groups given, may call service from
 * the mesh: NULL if it may, else the rule that denies it (counted).
 */
const struct access_rule *access_remote(struct access *, const uint8_t *id,
		    const char (*groups)[GROUP_NAME_MAX + 1], int ngroups,
		    const char *service);
/* "PATTERN (FILE:LINE)", or "PATTERN (command line)": for messages. */
const char	*access_rule_name(const struct access_rule *);
/*
 * Logs a denial, one line a second at most (then how many more), so
 * that a client looping on a denied call cannot flood the log.
 */
void		 access_log(struct access *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Denials since the daemon started, reloads included. */
uint64_t	 access_denied(const struct access *);

#endif
