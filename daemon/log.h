/* SPDX-License-Identifier: ISC */
/*
 * log.h: leveled logging to stderr, which journald collects.
 */
#ifndef PEERD_LOG_H
#define PEERD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void	log_set_level(enum log_level);
/* Parses "error", "warn", "info" or "debug". */
bool	log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);

/*
 * A tap sees each line, with its level, as it is logged, at up to its
 * own level whatever stderr's; line is the text without time or level.
 * A line logged while the tap runs is not given to it.
 */
typedef void	log_tap_fn(void *arg, enum log_level, const char *line);
/* One tap; NULL removes it.  It starts off: see log_tap_level. */
void	log_set_tap(log_tap_fn *, void *arg);
/* The most verbose level the tap wants, or -1 for none. */
void	log_tap_level(int);

/*
 * The _warn forms append strerror(errno); fatal exits with status 1.
 * log_errorx: what stops the node working until someone acts.
 */
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies n bytes of untrusted text into out as printable ASCII, with
 * \xNN for anything else; truncates to fit.  Returns out.
 */
const char *log_escape(const char *s, size_t n, char *out, size_t outlen);

#endif
