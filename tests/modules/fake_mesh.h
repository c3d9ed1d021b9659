/* SPDX-License-Identifier: ISC */
/*
 * fake_mesh.h: the mesh as the modules above mesh.c see it: a set of up
 * links the test gives it (fake_link.h), the dials it was asked for,
 * which the test ends as it likes, and the nodes it holds off.
 */
#ifndef TESTS_FAKE_MESH_H
#define TESTS_FAKE_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "identity.h"
#include "mesh.h"

struct fake_dial {
	uint8_t		 id[NODE_ID_LEN];
	bool		 has_id;
	char		 addr[HOST_MAX + 8];
	bool		 for_calls;
	uint64_t	 timeout_ms;	/* a probe's handshake limit; 0: none */
	mesh_dial_fn	*fn;
	void		*arg;
	bool		 ended;
};

struct mesh	*fake_mesh_new(void);
void		 fake_mesh_free(struct mesh *);
/* An up link joins or leaves the set. */
void		 fake_mesh_add(struct mesh *, struct link *);
void		 fake_mesh_remove(struct mesh *, struct link *);
/* Holds id off (or lets it go). */
void		 fake_mesh_hold(struct mesh *, const uint8_t *id, bool);
/* Dials asked for so far, oldest first. */
size_t		 fake_mesh_ndials(const struct mesh *);
struct fake_dial *fake_mesh_dial(struct mesh *, size_t i);
/* Ends dial i: its fn hears res. */
void		 fake_mesh_dial_end(struct mesh *, size_t i,
		    enum mesh_dial_result);
/* How often mesh_shed and mesh_close_idle were called. */
int		 fake_mesh_sheds(const struct mesh *);
int		 fake_mesh_idle_closes(const struct mesh *);
/* Links mesh_close closed; HELLOs mesh_set_hello was given. */
int		 fake_mesh_closes(const struct mesh *);
int		 fake_mesh_hellos(const struct mesh *);

#endif
