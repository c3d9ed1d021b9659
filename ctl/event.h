/* SPDX-License-Identifier: ISC */
/*
 * event.h: peerctl subscribe: prints the events of a pattern.
 */
#ifndef PEERCTL_EVENT_H
#define PEERCTL_EVENT_H

#include <stdbool.h>

#include "peer.h"

struct event_conf {
	const char	*pattern;
	unsigned long	 count;		/* events to print; 0: no limit */
	bool		 json;		/* one JSON object per line */
};

/*
 * Subscribes p to conf->pattern and prints each event on one line
 * until SIGINT or SIGTERM, or until conf->count events: then 0.  A lost
 * connection is made again.  -1 with err if subscribing fails.  Changes
 * the dispositions and the mask of SIGINT and SIGTERM.
 */
int	event_run(struct peer *p, const struct event_conf *conf,
	    struct peer_error *err);

#endif
