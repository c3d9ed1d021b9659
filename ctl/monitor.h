/* SPDX-License-Identifier: ISC */
/*
 * monitor.h: peerctl monitor: prints the changes of members and
 * services, and the daemon's log lines, as they happen.
 */
#ifndef PEERCTL_MONITOR_H
#define PEERCTL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "peer.h"

#define MONITOR_COUNT_MAX	1000000000ul

struct monitor_conf {
	unsigned		 what;		/* PEER_WATCH_ bits */
	enum peer_log_level	 level;		/* with PEER_WATCH_LOG */
	unsigned long		 count;		/* messages; 0: no limit */
	bool			 json;		/* one JSON object per line */
};

/*
 * Reads monitor's arguments (argv[0] is the command) into conf, whose
 * json the caller sets.  -1 if they are wrong: with the reason in why,
 * or with why "" if only the usage can say.
 */
int	monitor_parse(int argc, char **argv, struct monitor_conf *conf,
	    char *why, size_t whylen);
/* One message as one line: text, or a compact JSON object. */
void	monitor_print(FILE *, const struct peer_watch_msg *, bool json);
/*
 * Watches what conf asks on p and prints each message until SIGINT or
 * SIGTERM, or until conf->count messages: then 0.  A lost connection is
 * made again.  -1 with err if the watch fails.  Changes the
 * dispositions and the mask of SIGINT and SIGTERM.
 */
int	monitor_run(struct peer *p, const struct monitor_conf *conf,
	    struct peer_error *err);

#endif
