/* SPDX-License-Identifier: ISC */
/*
 * probe.h: is a node there?  A round asks the node directly (a ping on
 * its link, else a fresh dial that must finish the Noise handshake in
 * time: a stopped process still completes TCP's) and, at once, through up to PROBE_HELPERS other linked nodes,
 * each of which asks it directly and answers.  Any answer means alive;
 * a refused dial means its process is gone; silence everywhere is
 * evidence, with the helpers that heard nothing either.  We answer
 * others' requests the same way, a bounded number at once.
 */
#ifndef PEERD_PROBE_H
#define PEERD_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "mesh.h"

#define PROBE_HELPERS	3	/* nodes asked to probe for us */

struct event_base;
struct probe;

enum probe_result {
	PROBE_ALIVE,	/* it answered, directly or through a helper */
	PROBE_REFUSED,	/* nothing listens at its address: it is gone */
	PROBE_SILENT,	/* no answer from it, nor through anyone */
	PROBE_UNSURE,	/* our own loop stalled meanwhile: no evidence */
};

struct probe_params {
	const uint8_t	*self;		/* our node ID */
	uint64_t	 timeout;	/* ms a direct probe waits, at least */
};

struct probe_ops {
	/* An address of the node to dial, or NULL if it has none. */
	const char	*(*address)(void *arg, const uint8_t *id);
};

/*
 * How a round went.  nackers: the helpers that heard nothing from it
 * either, independent evidence.  why is for people.
 */
typedef void	 probe_fn(const uint8_t *id, enum probe_result,
		    const uint8_t (*nackers)[NODE_ID_LEN], int nnack,
		    const char *why, void *arg);

/* NULL after logging. */
struct probe	*probe_new(struct event_base *, const struct probe_params *,
		    struct mesh *, const struct probe_ops *, void *arg);
/* After mesh_free, which ends every dial and ping a round waits on. */
void		 probe_free(struct probe *);
#define PROBE_BUSY	1	/* probe_member: no round started, not for lack */

/* How probe_member asks. */
#define PROBE_INDIRECT	0x1	/* through helpers too */
#define PROBE_TRANSIENT	0x2	/* a link it dials closes once idle */

/*
 * Starts a round about id, through helpers too with PROBE_INDIRECT in
 * flags; fn hears how it went, unless probe_free comes first.  0 if it
 * started; PROBE_BUSY if a round about id is under way already, or too
 * many are; -1 if there was nothing to ask (no link, no address, no
 * helper).
 */
int		 probe_member(struct probe *, const uint8_t *id, int flags,
		    probe_fn *fn, void *arg);
/*
 * In the round about id under way, once its direct probe got no answer,
 * probes id directly once more (as probe_member, with flags): a dial
 * refused now still ends the round at once.  -1 if no round runs, or
 * its direct probe is under way, or none could start.
 */
int		 probe_again(struct probe *, const uint8_t *id, int flags);
bool		 probe_running(const struct probe *, const uint8_t *id);
/* Rounds run so far, and requests of others that we answered. */
uint64_t	 probe_rounds(const struct probe *);
uint64_t	 probe_helped(const struct probe *);

/* Link messages "preq" and "pres", called with the probe. */
extern const struct mesh_handler	probe_handlers[];

#endif
