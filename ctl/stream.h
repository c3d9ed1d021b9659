/* SPDX-License-Identifier: ISC */
/*
 * stream.h: the loop of the commands that print what peerd sends until
 * they are stopped (subscribe, monitor): SIGINT and SIGTERM, making a
 * lost connection again, and --count.
 */
#ifndef PEERCTL_STREAM_H
#define PEERCTL_STREAM_H

#include <stdbool.h>

#include "peer.h"

struct stream {
	const char	*what;		/* "monitor", "subscribe PATTERN" */
	unsigned long	 count;		/* items to print; 0: no limit */
	unsigned long	 seen;
	bool		 done;		/* count reached */
};

/*
 * Starts the stream on p (peer_watch, peer_subscribe, ...) with
 * callbacks that print each item unless s->done, then call
 * stream_printed.
 */
typedef int	stream_start_fn(struct peer *p, void *arg,
		    struct peer_error *err);

/*
 * Starts the stream with start(p, arg, err) and dispatches p until
 * SIGINT or SIGTERM, or until s->count items: then 0.  A lost
 * connection is made again, and both the loss and the return are said
 * on standard error, naming s->what.  -1 with err if start fails or
 * poll does.  Changes the dispositions and the mask of SIGINT and
 * SIGTERM.
 */
int	stream_run(struct peer *p, struct stream *s, stream_start_fn *start,
	    void *arg, struct peer_error *err);
/*
 * After an item is printed: flushes standard output and counts it.
 * Items read in the same dispatch as the last one counted find s->done.
 */
void	stream_printed(struct stream *s);

#endif
