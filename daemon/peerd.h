/* SPDX-License-Identifier: ISC */
/*
 * peerd.h: the daemon's top-level state, one per process, which the
 * modules reach through the pointer they were created with.
 */
#ifndef PEERD_H
#define PEERD_H

#include <stdint.h>
#include <time.h>

#include "config.h"
#include "identity.h"

#define PEERD_VERSION	"0.1.0"

struct event_base;
struct listeners;
struct control;
struct mesh;
struct gossip;
struct discover;
struct registry;
struct route;
struct calls;
struct serve;
struct events;

struct peerd {
	struct event_base	*base;
	struct config		 conf;
	const char		*config_path;	/* NULL: running on defaults */
	struct identity		 id;
	time_t			 started_at;	/* wall clock */
	int64_t			 started_ms;	/* monotonic */
	struct listeners	*listeners;
	struct control		*control;
	struct mesh		*mesh;
	struct gossip		*gossip;
	struct discover		*discover;	/* NULL: discovery off */
	struct registry		*registry;
	struct route		*route;
	struct calls		*calls;		/* this node's callers' */
	struct serve		*serve;		/* its apps' */
	struct events		*events;
	char			 status[256];	/* for systemd's STATUS= */
};

/* Monotonic milliseconds. */
static inline int64_t
peerd_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
