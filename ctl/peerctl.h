/* SPDX-License-Identifier: ISC */
/*
 * peerctl.h: what the commands of peerctl share: the global options,
 * the exit statuses, connecting, and reading option values.
 */
#ifndef PEERCTL_PEERCTL_H
#define PEERCTL_PEERCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

/* Exit statuses, documented in peerctl(1). */
#define EXIT_OK		0
#define EXIT_FAILED	1	/* peerd answered with an error */
#define EXIT_USAGE	2
#define EXIT_NO_DAEMON	3	/* peerd is not running or not reachable */

struct opts {
	const char	*socket;	/* NULL: libpeer's default */
	bool		 json;
};

#define CTL_FIELDS	20	/* keys in one entry of a listing */

struct cbor_field;
struct cbor_iter;

/* Connects, or says why not and exits with EXIT_NO_DAEMON. */
struct peer	*connect_or_exit(const struct opts *);
/*
 * Reports a failed request about what (may be NULL): EXIT_NO_DAEMON if
 * the daemon itself went away, else EXIT_FAILED.
 */
int		 fail(const struct peer *, const char *what,
		    const struct peer_error *);

/*
 * A copy of len bytes of buf, to keep an item past the callback that
 * lends it; the caller frees it.  NULL only if out of memory, also
 * when len is 0.
 */
uint8_t		*copy_item(const uint8_t *buf, size_t len);
/* An encoded CBOR result as one indented JSON document. */
int		 print_json(const uint8_t *buf, size_t len);
/* Text field of a result map into buf, or "-". */
const char	*text_field(const struct cbor_field *f, int nf, const char *key,
		    char *buf, size_t len);
/* Starts it on the array under key in a result map; false if none. */
bool		 list_iter(const uint8_t *res, size_t len, const char *key,
		    struct cbor_iter *it);
/*
 * The fields of the next map of a list, into f[CTL_FIELDS]; false at
 * the end.  Entries that are not maps are passed over.
 */
bool		 next_entry(struct cbor_iter *it, struct cbor_field *f,
		    int *nf);

/*
 * Reads the value of option argv[*k] of command cmd as a whole number
 * from min to max, and moves *k past it.  False after saying in one line
 * what is wrong (the caller exits EXIT_USAGE).
 */
bool		 opt_num(const char *cmd, int argc, char **argv, int *k,
		    long long min, long long max, long long *v);
/* Whether argv[*k] has a value after it; if not, says so. */
bool		 opt_value(const char *cmd, int argc, char **argv, int k);
/* Says that argv is not an option of cmd; returns EXIT_USAGE. */
int		 opt_unknown(const char *cmd, const char *arg);

/* Whether standard error is a terminal, for progress lines. */
bool		 progress_on(void);
/*
 * Shows "WHAT… Ns" on standard error, overwriting the last one, if
 * progress_on(); progress_end clears the line.
 */
void		 progress_show(const char *what, long elapsed_ms);
void		 progress_end(void);

int	cmd_call(const struct opts *, int, char **);
int	cmd_notify(const struct opts *, int, char **);
int	cmd_connect(const struct opts *, int, char **);
int	cmd_join(const struct opts *, int, char **);
int	cmd_kv(const struct opts *, int, char **);
int	cmd_ping(const struct opts *, int, char **);

#endif
