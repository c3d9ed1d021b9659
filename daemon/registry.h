/* SPDX-License-Identifier: ISC */
/*
 * registry.h: the services that local clients offer.  This node's record
 * advertises them, so every node learns which node offers what; a
 * client that goes away takes its services with it.
 */
#ifndef PEERD_REGISTRY_H
#define PEERD_REGISTRY_H

#include "control.h"
#include "record.h"

struct access;
struct members;
struct registry;
struct ctl_conn;

/* How the registry reports to its owner. */
struct registry_ops {
	/*
	 * The distinct (service, group) pairs offered here may have
	 * changed: the set, sorted, for our record (at most
	 * RECORD_SERVICES_MAX).
	 */
	void	(*services)(void *arg, const struct record_service *, int n);
};

/*
 * members is read for the services op; access says who may register
 * what (NULL: anyone anything).  NULL after logging.
 */
struct registry	*registry_new(const struct members *, struct access *,
		    const struct registry_ops *, void *arg);
void		 registry_free(struct registry *);
/* A control client disconnected: its services are withdrawn. */
void		 registry_client_gone(struct registry *, struct ctl_conn *);
/*
 * A client that offers service (in group, if not ""), taking turns
 * among several; *group is set to the group it registered.  NULL if
 * none does.
 */
struct ctl_conn	*registry_pick(struct registry *, const char *service,
		    const char *group, const char **groupp);

/* Control ops (see doc/PROTOCOL.md), called with the registry. */
extern const struct ctl_op	registry_ctl_ops[];

#endif
