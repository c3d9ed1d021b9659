/* SPDX-License-Identifier: ISC */
/*
 * log.c: leveled logging to stderr.  Under journald (JOURNAL_STREAM is
 * set) each line starts with a <N> syslog priority, which the journal
 * turns into the entry's level; on a terminal it starts with a time.
 * A tap (the clients that watch the log) may see each line too, at its
 * own level: a line is formatted only if stderr or the tap wants it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level	 log_level = LOG_LEVEL_INFO;
static log_tap_fn	*tap;
static void		*tap_arg;
static int		 tap_level = -1;
static bool		 tap_busy;	/* a line logged by the tap stays out */

static const char	*const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};
static const int	 level_syslog[] = { 3, 4, 6, 7 };

void
log_set_level(enum log_level l)
{
	log_level = l;
}

bool
log_level_parse(const char *s, enum log_level *l)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*l = (enum log_level)i;
			return true;
		}
	return false;
}

const char *
log_level_name(enum log_level l)
{
	return level_names[l];
}

void
log_set_tap(log_tap_fn *fn, void *arg)
{
	tap = fn;
	tap_arg = arg;
	if (fn == NULL)
		tap_level = -1;
}

void
log_tap_level(int l)
{
	tap_level = tap != NULL ? l : -1;
}

static void
log_vwrite(enum log_level l, int errnum, const char *fmt, va_list ap)
{
	char		 msg[1024], line[1280], stamp[32];
	const char	*text = msg;
	struct timespec	 ts;
	struct tm	 tm;
	bool		 to_tap;

	to_tap = (int)l <= tap_level && !tap_busy;
	if (l > log_level && !to_tap)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		snprintf(line, sizeof(line), "%s: %s", msg, strerror(errnum));
		text = line;
	}
	if (l <= log_level) {
		if (getenv("JOURNAL_STREAM") != NULL)
			fprintf(stderr, "<%d>", level_syslog[l]);
		else {
			clock_gettime(CLOCK_REALTIME, &ts);
			gmtime_r(&ts.tv_sec, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S",
			    &tm);
			fprintf(stderr, "%s.%03ldZ %-5s ", stamp,
			    ts.tv_nsec / 1000000, level_names[l]);
		}
		fprintf(stderr, "%s\n", text);
	}
	if (to_tap) {
		tap_busy = true;
		tap(tap_arg, l, text);
		tap_busy = false;
	}
}

#define LOG_BODY(level, errnum) do {		\
	va_list	ap;				\
	va_start(ap, fmt);			\
	log_vwrite(level, errnum, fmt, ap);	\
	va_end(ap);				\
} while (0)

void log_errorx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERROR, 0); }
void log_warn(const char *fmt, ...) { int e = errno; LOG_BODY(LOG_LEVEL_WARN, e); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }

void
fatal(const char *fmt, ...)
{
	int	e = errno;

	LOG_BODY(LOG_LEVEL_ERROR, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}

const char *
log_escape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t		i, o = 0;
	unsigned char	c;

	if (outlen == 0)
		return out;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}
