/* SPDX-License-Identifier: ISC */
/*
 * members.h: the table of known nodes, with their signed records and
 * their states (alive, suspect, dead, left).  Only the rules of state
 * and incarnation live here: no clock, no I/O.  gossip.c moves records
 * between nodes; what other modules keep about a member, they keep in
 * tables of their own (nodemap.h).
 */
#ifndef PEERD_MEMBERS_H
#define PEERD_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define MEMBERS_MAX	4096	/* nodes one table holds at most */
/* Defaults of struct members_limits (doc/MESH.md, flood bounds). */
#define MEMBERS_SOFT		3072
#define MEMBERS_INTRO_QUOTA	512
#define MEMBERS_SETTLE_MS	600000

enum member_state {
	MEMBER_ALIVE,
	MEMBER_SUSPECT,
	MEMBER_DEAD,
	MEMBER_LEFT,
};

struct member {
	struct record		 rec;
	uint8_t			*raw;		/* signed form, passed on as is */
	size_t			 rawlen;
	char			 idstr[NODE_ID_STRLEN];
	enum member_state	 state;
	uint64_t		 state_inc;	/* incarnation a claim is about */
	int64_t			 since_ms;	/* when the state last changed */
	int64_t			 deadline_ms;	/* suspect: when it turns dead */
	bool			 self;
	/* The link peer that brought its first record; zero: none. */
	uint8_t			 intro[NODE_ID_LEN];
	int64_t			 first_seen_ms;	/* kept across its records */
	bool			 confirmed;	/* linked, or answered us */
	bool			 disproved;	/* our own dial found it gone */
	struct member		*hnext;		/* in its hash bucket */
};

enum members_result {
	MEMBERS_NEW,		/* a node not known before */
	MEMBERS_UPDATED,	/* a newer record of a known node */
	MEMBERS_SAME,		/* nothing new */
	MEMBERS_STALE,		/* older than what we have: dropped */
	MEMBERS_INVALID,	/* bad signature or impossible: dropped */
	MEMBERS_FULL,		/* no room, or over its introducer's quota */
};

/*
 * How a table holds out against a flood of new identities.  Above soft
 * members, a link peer may have introduced at most intro_quota members
 * that have not settled yet; a full table makes room by forgetting the
 * dead, then the unsettled member seen first most recently.  A member
 * settles once confirmed, or once held settle_ms without our own
 * evidence of its death.
 */
struct members_limits {
	size_t		soft;
	size_t		intro_quota;
	int64_t		settle_ms;
};

struct members_stats {
	uint64_t	accepted;
	uint64_t	stale;
	uint64_t	invalid;
	uint64_t	full;
	uint64_t	quota;		/* over the introducer's quota */
	uint64_t	evicted;	/* forgotten to make room */
};

struct members;

/* Alive or suspect: still counted on, still offering its services. */
static inline bool
member_live(const struct member *m)
{
	return m->state == MEMBER_ALIVE || m->state == MEMBER_SUSPECT;
}

/* self_raw is our own signed record; the table keeps a copy. NULL: ENOMEM */
struct members	*members_new(const uint8_t *self_raw, size_t len, int64_t now);
void		 members_free(struct members *);
/*
 * fn hears of each member the table forgets (expired, evicted to make
 * room, or cleared), just before it goes.
 */
void		 members_on_forget(struct members *,
		    void (*fn)(const struct member *, void *), void *arg);

/* Replaces the defaults (MEMBERS_SOFT...). */
void		 members_set_limits(struct members *,
		    const struct members_limits *);

/*
 * is_revoked tells of revoked nodes, whose records members_offer
 * refuses (MEMBERS_INVALID).
 */
void		 members_on_revoked(struct members *,
		    bool (*is_revoked)(void *, const uint8_t *id), void *arg);

/*
 * Offers a signed record (checked here) that the link peer via (NULL:
 * none) sent.  *mp is the member on NEW, UPDATED and SAME; *why says
 * what was wrong on INVALID.  A node's record sent by the node itself
 * is confirmed at once.
 */
enum members_result members_offer(struct members *, const uint8_t *raw,
		    size_t len, const uint8_t *via, int64_t now,
		    struct member **mp, const char **why);
/* We had a link to id, or our own dial or probe found it alive. */
void		 members_confirm(struct members *, const uint8_t *id);
/* Our own dial or probe found id's process gone: it never settles by age. */
void		 members_disprove(struct members *, const uint8_t *id);
/* Whether m is safe from eviction (see struct members_limits). */
bool		 members_settled(const struct members *,
		    const struct member *, int64_t now);
/*
 * Claims that id is suspect (until deadline) or dead at incarnation
 * inc.  True if that changed its state.  Claims about ourselves and
 * claims older than the record are ignored: the caller refutes the
 * former.  A suspect's deadline can be brought forward (confirmations
 * came), never put back.
 */
bool		 members_suspect(struct members *, const uint8_t *id,
		    uint64_t inc, int64_t now, int64_t deadline);
bool		 members_dead(struct members *, const uint8_t *id, uint64_t inc,
		    int64_t now);
/* Suspects whose deadline has passed become dead; returns how many. */
size_t		 members_tick(struct members *, int64_t now,
		    void (*died)(struct member *, void *), void *arg);
/*
 * Moves every suspect's deadline ms later: our own loop was stalled,
 * and they had no chance to refute meanwhile.
 */
void		 members_postpone(struct members *, int64_t ms);
/* The earliest suspect's deadline, or INT64_MAX if none. */
int64_t		 members_next_deadline(const struct members *);
/* Forgets dead and left members older than expire_ms. */
size_t		 members_expire(struct members *, int64_t now, int64_t expire_ms);

/* Replaces our own record (a new incarnation we signed). -1: ENOMEM */
int		 members_set_self(struct members *, const uint8_t *raw,
		    size_t len, int64_t now);
/* Forgets the member id, if it is one and not ourselves. */
bool		 members_forget(struct members *, const uint8_t *id);
/* Forgets every member but ourselves (we changed networks). */
void		 members_clear(struct members *);
struct member	*members_get(const struct members *, const uint8_t *id);
struct member	*members_self(const struct members *);
/* Members in no particular order, self included: i from 0 to count-1. */
size_t		 members_count(const struct members *);
struct member	*members_at(const struct members *, size_t i);
size_t		 members_alive(const struct members *);
const struct members_stats *members_stats(const struct members *);
const char	*member_state_name(enum member_state);

#endif
