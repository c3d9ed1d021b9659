/* SPDX-License-Identifier: ISC */
/*
 * record.h: a node's signed membership record.  Only the node itself
 * can make one (it is signed with the node's key, which is its ID), so
 * relays pass records on but can never forge or alter them.
 */
#ifndef PEERD_RECORD_H
#define PEERD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cbor_buf.h"
#include "config.h"
#include "identity.h"
#include "tagset.h"
#include "topic.h"

#define RECORD_VERSION		1
#define RECORD_MAX		16384	/* bytes, signed form */
#define RECORD_ADDRS_MAX	16
#define RECORD_GROUPS_MAX	CONFIG_GROUPS_MAX
#define RECORD_SERVICES_MAX	64
#define SERVICE_NAME_MAX	64
#define RECORD_TOPICS_MAX	64
#define TOPIC_MAX		64	/* bytes of a topic or pattern */

/* A service the node offers, optionally in a group. */
struct record_service {
	char	name[SERVICE_NAME_MAX + 1];
	char	group[GROUP_NAME_MAX + 1];	/* "" if none */
};

struct record {
	uint8_t		 id[NODE_ID_LEN];
	char		 name[NODE_NAME_MAX + 1];
	char		 addrs[RECORD_ADDRS_MAX][ADDR_STRLEN];
	int		 naddrs;
	char		 groups[RECORD_GROUPS_MAX][GROUP_NAME_MAX + 1];
	int		 ngroups;
	bool		 hub;
	bool		 left;		/* the node has left on purpose */
	struct record_service services[RECORD_SERVICES_MAX];
	int		 nservices;
	/* Patterns the node's clients subscribe to: publishers send it
	 * only the events that match one. */
	char		 topics[RECORD_TOPICS_MAX][TOPIC_MAX + 1];
	int		 ntopics;
	struct tagset	 tags;		/* optional: "tags" when not empty */
	uint64_t	 incarnation;	/* higher wins */
	uint64_t	 started_at;	/* seconds since the epoch */
	/* Seals the call messages it sends through relays (originauth.h). */
	bool		 auth;		/* optional: "auth" when set */
};

/* Signs r with sk and writes the signed form to b. */
void	record_sign(const struct record *, const uint8_t sk[64],
	    struct cbor_buf *b);
/*
 * Checks a signed record: size, shape, every field, and the signature
 * by the ID it names.  0, or -1 with *why.
 */
int	record_open(const uint8_t *, size_t, struct record *, const char **why);
/*
 * The node ID and incarnation a signed record claims, unchecked: only
 * to tell a copy of a record already held, which needs no signature
 * check, from one that may be new.  -1 if it is not a record.
 */
int	record_peek(const uint8_t *, size_t, uint8_t id[NODE_ID_LEN],
	    uint64_t *inc);
bool	record_in_group(const struct record *, const char *group);
/* 1-SERVICE_NAME_MAX lowercase letters, digits, '-', '_' or '.'. */
bool	service_name_valid(const char *, size_t);
/* A topic: 1-TOPIC_MAX of the same characters. */
bool	topic_valid(const char *, size_t);
/*
 * A subscription pattern: a topic, a topic prefix ending in ".*"
 * ("sensor.*" for "sensor.temp" and "sensor.a.b"), or "*" for all.
 */
bool	topic_pattern_valid(const char *, size_t);

#endif
