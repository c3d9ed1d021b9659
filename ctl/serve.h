/* SPDX-License-Identifier: ISC */
/*
 * serve.h: peerctl serve: a shell command as a service.
 */
#ifndef PEERCTL_SERVE_H
#define PEERCTL_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "cbor_buf.h"
#include "peer.h"

#define SERVE_JOBS_MAX	1024
#define SERVE_OUT_MAX	(16 * 1024 * 1024)	/* stdout bytes kept */
#define SERVE_ERR_MAX	(64 * 1024)		/* stderr bytes kept */

struct serve_conf {
	const char	 *name;		/* the service */
	const char	 *group;	/* NULL: none */
	char		**argv;		/* COMMAND [ARGS], NULL-terminated */
	int		  argc;
	int		  jobs;		/* children at once, 1 to SERVE_JOBS_MAX */
	bool		  verbose;	/* a line on stderr per call */
};

/*
 * Registers conf->name on p and runs a child for each call until
 * SIGTERM or SIGINT: then returns 0.  A call the daemon reports
 * cancelled has its child killed, or leaves the queue, unanswered.
 * A lost connection is made again.
 * -1 with err if the registration fails.  Changes the dispositions of
 * SIGCHLD, SIGTERM, SIGINT and SIGPIPE.
 */
int	serve_run(struct peer *p, const struct serve_conf *conf,
	    struct peer_error *err);

/*
 * Encodes a command's standard output as a call's result: the JSON
 * value it holds; else, without one trailing newline, text if it is
 * UTF-8 and bytes if not; null if it is empty.  -1 if the JSON nests
 * too deeply to be sent.
 */
int	serve_result(const char *out, size_t len, struct cbor_buf *b);
/*
 * Whether cmd can be run as execvp would find it: a path with a slash
 * as it is, else the first match in PATH (unset: /bin:/usr/bin), which
 * must be an executable file.  0, or -1 with why filled in.
 */
int	serve_find_command(const char *cmd, char *why, size_t len);
/* Text if s is UTF-8, else bytes. */
void	serve_text(const char *s, size_t len, struct cbor_buf *b);

#endif
