/* SPDX-License-Identifier: ISC */
/*
 * handlers.h: event handlers, the "handler = EVENTS COMMAND" lines of
 * the configuration.  Each change of the members or their services that
 * a handler's EVENTS name runs its COMMAND, without a shell, with the
 * change in its environment and as one JSON object on its stdin; at
 * most a few run at once, the rest wait in a bounded queue, and one
 * that runs too long is killed.  peerd.conf(5) gives the rules.
 */
#ifndef PEERD_HANDLERS_H
#define PEERD_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "changes.h"
#include "config.h"

struct event_base;
struct handler_list;
struct handlers;

#define HANDLER_ARGS_MAX	64	/* the program and its arguments */
#define HANDLERS_QUEUE_MAX	256	/* runs waiting for a place */

struct handlers_params {
	const char	*self_id;	/* this node's, copied */
	const char	*self_name;
	const char	*socket;	/* the control socket, for PEERD_SOCKET */
	uint64_t	 jobs;		/* running at once */
	uint64_t	 timeout_ms;	/* then SIGTERM to its process group */
	uint64_t	 kill_after_ms;	/* then SIGKILL */
	size_t		 queue_max;	/* runs waiting; past it the oldest goes */
};

struct handlers_stats {
	uint64_t	runs;		/* started */
	uint64_t	failed;		/* not run, non-zero exit, or a signal */
	uint64_t	timed_out;
	uint64_t	dropped;	/* from a full queue */
	size_t		running;
	size_t		waiting;
};

/*
 * A kind name, or a comma-separated list of them with the shorthands
 * member-*, service-* and *, into a mask of 1 << kind.  -1 with err.
 */
int	handler_events_parse(const char *, uint32_t *mask, char *err,
	    size_t errlen);
/*
 * Splits a command into arguments: separated by spaces and tabs; '...'
 * keeps every character as it is; "..." too, but for \" and \\; outside
 * quotes a backslash keeps the next character.  *argvp (one allocation,
 * free() it) ends with NULL.  -1 with err.
 */
int	handler_split(const char *, char ***argvp, int *argcp, char *err,
	    size_t errlen);

/*
 * Parses every handler line of c, finding each program (an absolute
 * path, or in PATH) and checking that it is executable.  NULL with
 * "file:line: handler: what is wrong" in err.
 */
struct handler_list *handler_list_parse(const struct config *, char *err,
	    size_t errlen);
/* NULL is fine. */
void	handler_list_free(struct handler_list *);
size_t	handler_list_count(const struct handler_list *);

/* Takes list (a failure frees it).  NULL if out of memory. */
struct handlers *handlers_new(struct event_base *,
	    const struct handlers_params *, struct handler_list *);
/*
 * Replaces the handlers whole (takes list) and the limits: runs under
 * way and waiting keep the command they were started for.
 */
void	handlers_set(struct handlers *, struct handler_list *, uint64_t jobs,
	    uint64_t timeout_ms);
/* Runs, or queues, each handler that takes c.  NULL is fine. */
void	handlers_change(struct handlers *, const struct change *);
/* All 0 for NULL. */
void	handlers_stats(const struct handlers *, struct handlers_stats *);
/*
 * Sends SIGTERM to the process group of each run under way, without
 * waiting, and drops the waiting ones.  NULL is fine.
 */
void	handlers_free(struct handlers *);

#endif
