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
	struct member		*hnext;		/* in its hash bucket */
};

enum members_result {
	MEMBERS_NEW,		/* a node not known before */
	MEMBERS_UPDATED,	/* a newer record of a known node */
	MEMBERS_SAME,		/* nothing new */
	MEMBERS_STALE,		/* older than what we have: dropped */
	MEMBERS_INVALID,	/* bad signature or impossible: dropped */
	MEMBERS_FULL,		/* MEMBERS_MAX reached: dropped */
};

struct members_stats {
	uint64_t	accepted;
	uint64_t	stale;
	uint64_t	invalid;
	uint64_t	full;
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

/*
 * is_revoked tells of revoked nodes, whose records members_offer
 * refuses (MEMBERS_INVALID).
 */
void		 members_on_revoked(struct members *,
		    bool (*is_revoked)(void *, const uint8_t *id), void *arg);

/*
 * Offers a signed record (checked here).  *mp is the member on NEW,
 * UPDATED and SAME; *why says what was wrong on INVALID.
 */
enum members_result members_offer(struct members *, const uint8_t *raw,
		    size_t len, int64_t now, struct member **mp,
		    const char **why);
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
