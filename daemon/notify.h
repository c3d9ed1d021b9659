/* SPDX-License-Identifier: ISC */
/*
 * notify.h: telling systemd how the daemon is doing (sd_notify), and
 * petting its watchdog.  Does nothing when not started by systemd.
 */
#ifndef PEERD_NOTIFY_H
#define PEERD_NOTIFY_H

struct event_base;

void	notify_ready(struct event_base *, const char *status);
void	notify_reloading(void);
void	notify_stopping(void);
/* Frees the watchdog timer. */
void	notify_done(void);

#endif
