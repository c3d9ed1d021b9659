/* SPDX-License-Identifier: ISC */
/*
 * notify.c: sd_notify for Type=notify units, and the watchdog timer
 * when the unit sets WatchdogSec=.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

#ifdef HAVE_SYSTEMD
static struct event	*watchdog_ev;

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	sd_notify(0, "WATCHDOG=1");
}

void
notify_ready(struct event_base *base, const char *status)
{
	struct timeval	tv;
	uint64_t	usec;

	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	if (watchdog_ev != NULL || sd_watchdog_enabled(0, &usec) <= 0)
		return;
	/* Pet it twice per period so one late wake-up is not fatal. */
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &tv) == -1)
		log_warnx("cannot start the watchdog timer");
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_done(void)
{
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	watchdog_ev = NULL;
}
#else
void notify_ready(struct event_base *base, const char *status) { (void)base; (void)status; }
void notify_reloading(void) { }
void notify_stopping(void) { }
void notify_done(void) { }
#endif
