/* SPDX-License-Identifier: ISC */
/*
 * overlay.h: which links the node keeps: between degree_min and
 * degree_max of them, dialing members (hubs first) when short and
 * shedding the slowest link when over; dead members re-dialed with a
 * backoff of their own, so that a healed partition joins up again;
 * the peer cache, so that a restarted node finds the mesh; and LAN
 * discovery, whose finds are dialed while links are short.
 */
#ifndef PEERD_OVERLAY_H
#define PEERD_OVERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct gossip;
struct identity;
struct member;
struct mesh;
struct overlay;

struct overlay_params {
	uint64_t		 tick_ms;	/* how often it looks (1000) */
	uint64_t		 degree_min;
	uint64_t		 degree_max;
	const char		*state_dir;	/* holds peers.cache */
	/* LAN discovery, if on; its beacons follow the network key. */
	bool			 discovery;
	const struct identity	*id;
	const struct netkeys	*keys;		/* NULL: the id's key alone */
	uint16_t		 mesh_port;	/* advertised in beacons */
	uint16_t		 discovery_port;
	uint64_t		 beacon_interval;	/* ms */
	char			(*ifaces)[IFACE_NAME_MAX];
	int			 nifaces;
};

/*
 * Reads peers.cache and starts the timer; the first look comes as soon
 * as the loop runs.  NULL after logging.
 */
struct overlay	*overlay_new(struct event_base *,
		    const struct overlay_params *, struct mesh *,
		    struct gossip *);
/* Writes peers.cache if it changed; stops discovery. NULL is fine. */
void		 overlay_free(struct overlay *);
/* From gossip: a member changed, or is forgotten. */
void		 overlay_member(struct overlay *, const struct member *);
void		 overlay_forgotten(struct overlay *, const uint8_t *id);
/* A link went down: if that leaves the node short, it dials at once. */
void		 overlay_link_down(struct overlay *);
/*
 * (Re)starts LAN discovery with the current network key, if the
 * params have it on.  0, or -1 after logging why.
 */
int		 overlay_discovery_start(struct overlay *);
/* We joined another network: the cached addresses go. */
void		 overlay_reset(struct overlay *);

#endif
