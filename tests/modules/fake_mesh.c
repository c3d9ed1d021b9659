/* SPDX-License-Identifier: ISC */
/*
 * fake_mesh.c: the mesh API over a list of fake links; see fake_mesh.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fake_mesh.h"
#include "link.h"

#define FAKE_LINKS	64
#define FAKE_DIALS	256
#define FAKE_HOLDS	64

struct mesh {
	struct link		*links[FAKE_LINKS];
	size_t			 nlinks;
	struct fake_dial	 dials[FAKE_DIALS];
	size_t			 ndials;
	uint8_t			 held[FAKE_HOLDS][NODE_ID_LEN];
	size_t			 nheld;
	int			 sheds, idle_closes, closes, hellos;
};

struct mesh *
fake_mesh_new(void)
{
	struct mesh	*m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	return m;
}

void
fake_mesh_free(struct mesh *m)
{
	free(m);
}

void
fake_mesh_add(struct mesh *m, struct link *l)
{
	ck_assert_uint_lt(m->nlinks, FAKE_LINKS);
	m->links[m->nlinks++] = l;
}

void
fake_mesh_remove(struct mesh *m, struct link *l)
{
	size_t	i;

	for (i = 0; i < m->nlinks; i++)
		if (m->links[i] == l) {
			m->links[i] = m->links[--m->nlinks];
			return;
		}
}

void
fake_mesh_hold(struct mesh *m, const uint8_t *id, bool on)
{
	size_t	i;

	for (i = 0; i < m->nheld; i++)
		if (memcmp(m->held[i], id, NODE_ID_LEN) == 0) {
			if (!on)
				memcpy(m->held[i], m->held[--m->nheld],
				    NODE_ID_LEN);
			return;
		}
	if (on) {
		ck_assert_uint_lt(m->nheld, FAKE_HOLDS);
		memcpy(m->held[m->nheld++], id, NODE_ID_LEN);
	}
}

size_t
fake_mesh_ndials(const struct mesh *m)
{
	return m->ndials;
}

struct fake_dial *
fake_mesh_dial(struct mesh *m, size_t i)
{
	ck_assert_uint_lt(i, m->ndials);
	return &m->dials[i];
}

void
fake_mesh_dial_end(struct mesh *m, size_t i, enum mesh_dial_result res)
{
	struct fake_dial	*d = fake_mesh_dial(m, i);

	ck_assert(!d->ended);
	d->ended = true;
	if (d->fn != NULL)
		d->fn(res, res == MESH_DIAL_REFUSED ? "Connection refused" :
		    res == MESH_DIAL_FAILED ? "handshake timed out" :
		    "linked", d->arg);
}

int
fake_mesh_sheds(const struct mesh *m)
{
	return m->sheds;
}

int
fake_mesh_idle_closes(const struct mesh *m)
{
	return m->idle_closes;
}

/* The mesh API. */

static int
dial(struct mesh *m, const uint8_t *id, const char *addr, mesh_dial_fn *fn,
    void *arg, bool for_calls, uint64_t timeout_ms)
{
	struct fake_dial	*d;

	ck_assert_uint_lt(m->ndials, FAKE_DIALS);
	d = &m->dials[m->ndials++];
	memset(d, 0, sizeof(*d));
	if (id != NULL) {
		memcpy(d->id, id, NODE_ID_LEN);
		d->has_id = true;
	}
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	d->for_calls = for_calls;
	d->timeout_ms = timeout_ms;
	d->fn = fn;
	d->arg = arg;
	return 0;
}

int
mesh_dial_member(struct mesh *m, const uint8_t *id, const char *addr,
    enum mesh_dial_cause cause, mesh_dial_fn *fn, void *arg)
{
	(void)cause;
	return dial(m, id, addr, fn, arg, false, 0);
}

int
mesh_dial_probe(struct mesh *m, const uint8_t *id, const char *addr,
    uint64_t timeout_ms, int flags, mesh_dial_fn *fn, void *arg)
{
	return dial(m, id, addr, fn, arg, (flags & MESH_DIAL_TRANSIENT) != 0,
	    timeout_ms);
}

int
mesh_dial_for_calls(struct mesh *m, const uint8_t *id, const char *addr,
    mesh_dial_fn *fn, void *arg)
{
	return dial(m, id, addr, fn, arg, true, 0);
}

void
mesh_close_idle(struct mesh *m, size_t keep)
{
	(void)keep;
	m->idle_closes++;
}

void
mesh_close(struct mesh *m, struct link *l, const char *reason)
{
	m->closes++;
	link_close(l, reason);
}

int
fake_mesh_closes(const struct mesh *m)
{
	return m->closes;
}

void
mesh_set_hello(struct mesh *m, const struct hello *h)
{
	(void)h;
	m->hellos++;
}

int
fake_mesh_hellos(const struct mesh *m)
{
	return m->hellos;
}

size_t
mesh_links(struct mesh *m, struct link **out, size_t max)
{
	size_t	i, n = 0;

	for (i = 0; i < m->nlinks; i++)
		if (link_state(m->links[i]) == LINK_UP) {
			if (out != NULL && n < max)
				out[n] = m->links[i];
			n++;
		}
	return out != NULL && n > max ? max : n;
}

size_t
mesh_dials(struct mesh *m)
{
	size_t	i, n = 0;

	for (i = 0; i < m->ndials; i++)
		if (!m->dials[i].ended)
			n++;
	return n;
}

struct link *
mesh_link_to(struct mesh *m, const uint8_t *id)
{
	size_t	i;

	for (i = 0; i < m->nlinks; i++)
		if (link_state(m->links[i]) == LINK_UP &&
		    memcmp(link_remote(m->links[i])->id, id, NODE_ID_LEN) == 0)
			return m->links[i];
	return NULL;
}

bool
mesh_dialing(struct mesh *m, const uint8_t *id)
{
	size_t	i;

	for (i = 0; i < m->ndials; i++)
		if (!m->dials[i].ended && m->dials[i].has_id &&
		    memcmp(m->dials[i].id, id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

bool
mesh_held(struct mesh *m, const uint8_t *id)
{
	size_t	i;

	for (i = 0; i < m->nheld; i++)
		if (memcmp(m->held[i], id, NODE_ID_LEN) == 0)
			return true;
	return false;
}

void
mesh_shed(struct mesh *m)
{
	m->sheds++;
}

const char *
mesh_reason_name(enum mesh_reason r)
{
	return r == MESH_ON_PURPOSE ? "closed on purpose" : "lost";
}
