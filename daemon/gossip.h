/* SPDX-License-Identifier: ISC */
/*
 * gossip.h: how nodes come to know each other: our own signed record,
 * records and claims flooded over links, anti-entropy with a random
 * neighbour, and failure detection by probing, suspicion and
 * refutation.  It owns the member table; the modules above read it and
 * hear of its changes through gossip_ops.
 */
#ifndef PEERD_GOSSIP_H
#define PEERD_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "members.h"
#include "mesh.h"
#include "rate.h"
#include "record.h"

struct event_base;
struct identity;
struct gossip;
struct link;
struct member;
struct members;
struct probe;

/* The defaults of a gossip_params left 0. */
#define GOSSIP_CLAIM_RATE	2000	/* 2 a second, in rate.h's units */
#define GOSSIP_CLAIM_PROBE_GAP	5000	/* ms */

struct gossip_params {
	const struct identity	*id;
	const char		*name;
	const char		(*groups)[GROUP_NAME_MAX + 1];
	int			 ngroups;
	bool			 hub;
	const char		(*addrs)[ADDR_STRLEN];	/* where we are dialed */
	int			 naddrs;
	uint64_t		 started_at;	/* seconds since the epoch */
	uint64_t		 gossip_interval;	/* ms */
	uint64_t		 suspect_timeout;	/* ms */
	uint64_t		 member_expire;		/* ms */
	uint64_t		 max_message;	/* replies to one peer: half */
	bool			 auth;		/* our record says "auth" */
	/* Claims that a member failed, per link: RATE_PER_S units. */
	uint64_t		 claim_rate;
	/* ms a claimant our probe proved wrong waits to be heard again */
	uint64_t		 claim_probe_gap;
	/* Whether a node is revoked: its records are refused. May be NULL. */
	bool			(*is_revoked)(void *arg, const uint8_t *id);
	void			*revoked_arg;
	/*
	 * Flood bounds per link peer (rate.h units; 0: the default):
	 * records of nodes we do not know, and membership bytes sent.
	 */
	uint64_t		 new_members_rate, new_members_burst;
	uint64_t		 gossip_rate, gossip_burst;
	/* The member table's limits; a zero soft: the defaults. */
	struct members_limits	 limits;
};

/* Defaults of the flood bounds. */
#define GOSSIP_NEW_MEMBERS_RATE		(50 * RATE_PER_S)
#define GOSSIP_NEW_MEMBERS_BURST	1024
#define GOSSIP_RATE			((64u << 10) * (uint64_t)RATE_PER_S)
#define GOSSIP_BURST			(1u << 20)

/* What the flood bounds held back, since the start. */
struct gossip_stats {
	uint64_t	records_throttled;	/* new identities over a link's rate */
	uint64_t	sent_bytes;		/* membership messages sent */
	uint64_t	sent_skipped;		/* not sent: a link's budget spent */
	uint64_t	inbound_dropped;	/* ignored: a link sent too much */
};

/* How gossip reports to its owner. */
struct gossip_ops {
	/*
	 * A member's record or state changed (it joined, came back, is
	 * suspect, died or left).  via is the node whose link brought its
	 * new record, or NULL; why is the evidence, for logs and watchers.
	 */
	void	(*member)(void *arg, const struct member *,
		    const uint8_t *via, const char *why);
	/* A member is forgotten: expired, evicted, or a new network. */
	void	(*forgotten)(void *arg, const uint8_t *id);
};

/* How a probe of the member id went. */
typedef void	 gossip_probe_fn(const uint8_t *id, enum mesh_dial_result,
		    void *arg);

/*
 * Signs our first record and starts the timer. NULL after logging.
 * probe runs our probe rounds; its address op is gossip_member_address.
 */
struct gossip	*gossip_new(struct event_base *, const struct gossip_params *,
		    struct mesh *, struct probe *, const struct gossip_ops *,
		    void *arg);
void		 gossip_free(struct gossip *);
/* Floods a record saying that we leave (on SIGTERM). */
void		 gossip_leave(struct gossip *);

/* From the mesh: a link came up, or went down. */
void		 gossip_link_up(struct gossip *, struct link *);
void		 gossip_link_down(struct gossip *, struct link *,
		    enum mesh_reason);
/* From the mesh: a link's peer stopped answering pings. */
void		 gossip_link_quiet(struct gossip *, struct link *);
/*
 * Dials one of the member's addresses, another one each time.  The
 * outcome is evidence: refused means its process is gone, no answer
 * starts a probe round (directly and through others) that may make it
 * suspect; while we leave, nothing.  fn (if not NULL) hears it
 * after gossip, unless we leave.  -1 if no dial started.
 */
int		 gossip_probe(struct gossip *, const uint8_t *id,
		    gossip_probe_fn *fn, void *arg);

/* One of the member's addresses, another each time; NULL if none. */
const char	*gossip_member_address(struct gossip *, const uint8_t *id);

void		 gossip_stats(const struct gossip *, struct gossip_stats *);

/* The member table, for reading; ourselves at index 0. */
const struct members *gossip_members(const struct gossip *);
/* Claims that a member failed, dropped over a budget or a gap. */
uint64_t	 gossip_claims_throttled(const struct gossip *);
/* Our own record, as others see it. */
const struct record *gossip_self(const struct gossip *);
/*
 * Sets the services our record offers; re-signs and floods if changed.
 * Compared as bytes: the caller zeroes what follows each name.
 */
void		 gossip_set_services(struct gossip *,
		    const struct record_service *, int n);
/* Sets the topic patterns our record lists; as gossip_set_services. */
void		 gossip_set_topics(struct gossip *,
		    char (*topics)[TOPIC_MAX + 1], int n);
/* Sets the tags our record carries; as gossip_set_services. */
void		 gossip_set_tags(struct gossip *, const struct tagset *);
/* Forgets the member id at once (it is revoked), telling ops. */
void		 gossip_forget(struct gossip *, const uint8_t *id);
/* Forgets every member: we joined another network. */
void		 gossip_reset(struct gossip *);

/* The link messages gossip takes, called with the gossip. */
extern const struct mesh_handler	gossip_handlers[];
/* Control ops (see doc/PROTOCOL.md), called with the gossip. */
extern const struct ctl_op		gossip_ctl_ops[];

#endif
