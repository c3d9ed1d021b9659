/* SPDX-License-Identifier: ISC */
/*
 * dispatch.c: the sorted name tables of dispatch.h.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"

static int
entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct dispatch_entry *)elem)->name);
}

int
dispatch_add(struct dispatch *t, const char *what, const char *name,
    const void *handler, void *arg)
{
	struct dispatch_entry	*v;
	size_t			 i;

	if (dispatch_find(t, name) != NULL) {
		log_warnx("%s %s is taken already", what, name);
		return -1;
	}
	if ((v = reallocarray(t->v, t->n + 1, sizeof(*v))) == NULL) {
		log_warn("%s %s", what, name);
		return -1;
	}
	t->v = v;
	for (i = t->n; i > 0 && strcmp(v[i - 1].name, name) > 0; i--)
		v[i] = v[i - 1];
	v[i].name = name;
	v[i].handler = handler;
	v[i].arg = arg;
	t->n++;
	return 0;
}

const struct dispatch_entry *
dispatch_find(const struct dispatch *t, const char *name)
{
	if (t->n == 0)
		return NULL;
	return bsearch(name, t->v, t->n, sizeof(*t->v), entry_cmp);
}

void
dispatch_free(struct dispatch *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
