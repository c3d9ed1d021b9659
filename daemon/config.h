/* SPDX-License-Identifier: ISC */
/*
 * config.h: peerd's settings, from defaults, the config file and the
 * command line, in that order.
 */
#ifndef PEERD_CONFIG_H
#define PEERD_CONFIG_H

#include <sys/types.h>
#include <sys/un.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "base32.h"
#include "log.h"
#include "tagset.h"

#define CONFIG_PATH_DEFAULT	"/etc/peerd/peerd.conf"
#define CONFIG_LISTEN_MAX	16
#define CONFIG_ADVERTISE_MAX	16	/* RECORD_ADDRS_MAX */
#define CONFIG_BOOTSTRAP_MAX	32
#define CONFIG_GROUPS_MAX	16
#define GROUP_NAME_MAX		32
#define CONFIG_IFACES_MAX	16
#define IFACE_NAME_MAX		16	/* IFNAMSIZ */
#define CONFIG_PORT_DEFAULT	7654
#define KV_VALUE_ROOM		1024	/* of max_message: a value's key, its message */
#define NODE_NAME_MAX		63
#define UNIX_GROUP_MAX		32	/* a local group name or gid */
#define GID_NONE		((gid_t)-1)
#define CONFIG_SERVICES_MAX	1024	/* access rules, all files together */
#define CONFIG_RULE_MAX		4096	/* bytes of one access rule */
#define CONFIG_HANDLERS_MAX	64	/* event handlers */
#define CONFIG_ADMINS_MAX	16	/* ADMINS_MAX */
#define CONFIG_NODE_ID_STRLEN	(BASE32_LEN(32) + 1)	/* NODE_ID_STRLEN */

/* An access rule as written (access.h reads it), and where it was. */
struct config_service {
	char	*rule;		/* "PATTERN [serve=...] [call=...] [remote=...]" */
	char	*file;		/* NULL: the command line */
	int	 line;
};

/* An event handler as written (handlers.h reads it), and where it was. */
struct config_handler {
	char	*text;		/* "EVENTS COMMAND" */
	char	*file;		/* NULL: the command line */
	int	 line;
};

struct config {
	char		 name[NODE_NAME_MAX + 1];
	char		 socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char		 state_dir[PATH_MAX];
	char		 listen[CONFIG_LISTEN_MAX][ADDR_STRLEN];
	int		 nlisten;
	/* Where others dial us, if not where we listen (NAT, a relay). */
	char		 advertise[CONFIG_ADVERTISE_MAX][ADDR_STRLEN];
	int		 nadvertise;
	enum log_level	 log_level;
	uint64_t	 max_message;	/* bytes */
	uint64_t	 max_clients;
	uint64_t	 max_clients_per_user;
	uint64_t	 admin_clients;		/* slots kept for admins */
	uint64_t	 control_frame_timeout;	/* ms */
	uint64_t	 control_input_max;	/* bytes */
	char		 socket_group[UNIX_GROUP_MAX + 1];
	char		 admin_group[UNIX_GROUP_MAX + 1];
	gid_t		 socket_gid;	/* the groups resolved; GID_NONE */
	gid_t		 admin_gid;
	char		 bootstrap[CONFIG_BOOTSTRAP_MAX][HOST_MAX + 8];
	int		 nbootstrap;
	uint64_t	 ping_interval;		/* ms */
	uint64_t	 dead_after;		/* ms */
	uint64_t	 handshake_timeout;	/* ms */
	uint64_t	 max_handshakes;	/* inbound, under way */
	uint64_t	 max_handshakes_per_address; /* IPv4, IPv6 /64 */
	char		 groups[CONFIG_GROUPS_MAX][GROUP_NAME_MAX + 1];
	int		 ngroups;
	bool		 hub;
	bool		 call_dial;
	bool		 origin_auth_required;	/* origin_auth = required */
	uint64_t	 degree_min;
	uint64_t	 degree_max;
	uint64_t	 gossip_interval;	/* ms */
	uint64_t	 suspect_timeout;	/* ms */
	uint64_t	 probe_timeout;		/* ms */
	uint64_t	 claim_rate;		/* thousandths a second */
	uint64_t	 claim_probe_gap;	/* ms */
	uint64_t	 member_expire;		/* ms */
	uint64_t	 key_retired_keep;	/* ms */
	bool		 discovery;
	uint64_t	 discovery_port;
	uint64_t	 beacon_interval;	/* ms */
	char		 discovery_ifaces[CONFIG_IFACES_MAX][IFACE_NAME_MAX];
	int		 ndiscovery_ifaces;
	char		 service_dir[PATH_MAX];	/* "": none */
	char		 metrics_listen[ADDR_STRLEN];	/* "": no metrics */
	/* In order: the config file's (or -o's), then service_dir's. */
	struct config_service *services;
	int		 nservices;
	struct config_handler *handlers;	/* in order */
	int		 nhandlers;
	uint64_t	 handler_jobs;		/* running at once */
	uint64_t	 handler_timeout;	/* ms */
	struct tagset	 tags;		/* as configured, in key order */
	/* The key-value store (kv.h). */
	uint64_t	 kv_replicas;		/* owners of a key */
	char		 kv_group[GROUP_NAME_MAX + 1];	/* "": every member */
	uint64_t	 kv_tombstone_ttl;	/* ms */
	uint64_t	 kv_value_max;		/* bytes */
	uint64_t	 kv_max_bytes;		/* bytes held here */
	uint64_t	 kv_sync_interval;	/* ms */
	/* Flood bounds: rates in thousandths a second (rate.h). */
	uint64_t	 new_members_rate;	/* per link */
	uint64_t	 new_members_burst;
	uint64_t	 members_soft;
	uint64_t	 intro_quota;
	uint64_t	 members_settle;	/* ms */
	uint64_t	 gossip_rate;		/* bytes a second, per link */
	uint64_t	 gossip_burst;		/* bytes */
	uint64_t	 dial_rate;
	uint64_t	 dial_burst;
	uint64_t	 dial_rate_per_host;
	uint64_t	 dial_rate_per_address;
	/* Nodes whose signature rotates the network key (admins.h). */
	char		 admins[CONFIG_ADMINS_MAX][CONFIG_NODE_ID_STRLEN];
	int		 nadmins;
	uint64_t	 key_grace;	/* ms the old network key still works */
	/* Line each key was set on, so repeats are caught; 0 = unset. */
	int		 set_on[64];
};

/* 1-NODE_NAME_MAX letters, digits, '-', '_' or '.'. */
bool	node_name_valid(const char *, size_t);
/* 1-GROUP_NAME_MAX lowercase letters, digits, '-', '_' or '.'. */
bool	group_name_valid(const char *, size_t);
/* Fills in every default that does not depend on the other keys. */
void	config_init(struct config *);
/*
 * Frees what c holds (the access rules, the handlers); config_init makes
 * it usable again.
 */
void	config_free(struct config *);
/*
 * Reads path into c.  One bad line rejects the file: returns -1 with
 * "path:line: key: what is wrong" in err.
 */
int	config_load(struct config *, const char *path, char *err,
	    size_t errlen);
/*
 * Appends the rules of service_dir's files (*.conf, in name order, only
 * "service" lines).  service_dir defaults to services.d beside
 * config_path, whether that file exists or not, and may then be
 * missing; one named in the configuration must exist.  -1 with
 * "file:line: key: what is wrong" in err.
 */
int	config_load_services(struct config *, const char *config_path,
	    char *err, size_t errlen);
/*
 * Sets one key as the command line does: replaces what the file said
 * (a list key is cleared by its first override).  -1 with err on a bad
 * value.
 */
int	config_override(struct config *, const char *key, const char *value,
	    char *err, size_t errlen);
/* Defaults that depend on other keys or the environment. -1 with err. */
int	config_finish(struct config *, char *err, size_t errlen);
/* Writes every key with its effective value, as a config file. */
void	config_dump(const struct config *, FILE *);

#endif
