/* SPDX-License-Identifier: ISC */
/*
 * watch.h: watch streams: control clients that asked to be told of the
 * changes of members and services, and admins that asked for the
 * daemon's log lines, get one message each as they happen.
 */
#ifndef PEERD_WATCH_H
#define PEERD_WATCH_H

#include "changes.h"
#include "control.h"
#include "log.h"

struct event_base;
struct ctl_conn;
struct watch;

/* NULL after logging. */
struct watch	*watch_new(struct event_base *);
/* NULL is fine.  Turns the log tap's level off. */
void		 watch_free(struct watch *);
/* A change of a member or a service, for the clients that watch them. */
void		 watch_change(struct watch *, const struct change *);
/*
 * A log line, for the admins that watch the log at its level: the log
 * tap (log_set_tap), called with the watch.  While watchers of the log
 * are connected this module sets the tap's level (log_tap_level).
 */
void		 watch_log(void *arg, enum log_level, const char *line);
/* A control client went away: its watch ends. */
void		 watch_client_gone(struct watch *, struct ctl_conn *);

/* Control ops (see doc/PROTOCOL.md), called with the watch. */
extern const struct ctl_op	watch_ctl_ops[];

#endif
