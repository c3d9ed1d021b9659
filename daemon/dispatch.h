/* SPDX-License-Identifier: ISC */
/*
 * dispatch.h: a table from names (control ops, link message types) to
 * handlers, filled at start-up by whoever wires the modules together,
 * kept sorted and searched with bsearch.
 */
#ifndef PEERD_DISPATCH_H
#define PEERD_DISPATCH_H

#include <stddef.h>

struct dispatch_entry {
	const char	*name;
	const void	*handler;	/* what the table's owner calls */
	void		*arg;		/* the module it belongs to */
};

struct dispatch {
	struct dispatch_entry	*v;	/* sorted by name */
	size_t			 n;
};

/* Adds name.  -1 after logging if it is taken, or out of memory. */
int		 dispatch_add(struct dispatch *, const char *what,
		    const char *name, const void *handler, void *arg);
/* The entry for name, or NULL. */
const struct dispatch_entry *dispatch_find(const struct dispatch *,
		    const char *name);
void		 dispatch_free(struct dispatch *);

#endif
