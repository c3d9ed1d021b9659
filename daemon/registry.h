/* SPDX-License-Identifier: ISC */
/*
 * registry.h: the services that local clients offer.  This node's record
 * advertises them, so every node learns which node offers what; a
 * client that goes away takes its services with it.
 */
#ifndef PEERD_REGISTRY_H
#define PEERD_REGISTRY_H

struct peerd;
struct registry;
struct ctl_conn;
struct ctl_msg;

struct registry	*registry_new(struct peerd *);
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

/* Control ops; see doc/PROTOCOL.md. */
void		 registry_op_register(struct ctl_conn *, const struct ctl_msg *);
void		 registry_op_unregister(struct ctl_conn *,
		    const struct ctl_msg *);
void		 registry_op_services(struct ctl_conn *, const struct ctl_msg *);

#endif
