/* SPDX-License-Identifier: ISC */
/*
 * options.h: peerd's command line, and the configuration it makes
 * together with the config file.
 */
#ifndef PEERD_OPTIONS_H
#define PEERD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define PEERD_VERSION	"0.1.0"

struct config;

struct options {
	const char	*config_path;	/* -c; NULL: the default, if it exists */
	char		*join;		/* --join's token, a copy; or NULL */
	bool		 force;		/* --force */
	bool		 check_only;	/* -n */
};

/*
 * Reads argv into o; argv's settings are kept for options_config.
 * Exits: 0 after printing the help or the version, 2 for a bad option.
 */
void	options_parse(int argc, char *argv[], struct options *o);
/*
 * The configuration: defaults, then the config file (if given, or if the
 * default one exists), then the command line, then the access rules of
 * service_dir.  Again on SIGHUP.  0 (config_free it), or -1 with the
 * reason in err.
 */
int	options_config(const struct options *, struct config *, char *err,
	    size_t errlen);

#endif
