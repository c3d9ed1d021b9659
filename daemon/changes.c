/* SPDX-License-Identifier: ISC */
/*
 * changes.c: the differences between what gossip reports of a member
 * and what was seen of it before.  A node's services count as offered
 * while it is live (alive or suspect): one that dies or leaves has its
 * services withdrawn, and registered again when it comes back.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "changes.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"

/* What was seen of a node last. */
struct seen {
	enum member_state	 state;
	bool			 live;
	bool			 joined;	/* told as live once */
	uint8_t			 shape[8];	/* see record_shape */
	char			 name[NODE_NAME_MAX + 1];
	struct record_service	*svc;		/* while live */
	int			 nsvc;
};

struct changes {
	struct nodemap			*seen;
	const struct changes_ops	*ops;
	void				*arg;
};

static const char *const kind_names[CHANGE_KINDS] = {
	[CHANGE_JOIN] = "member-join",
	[CHANGE_ALIVE] = "member-alive",
	[CHANGE_SUSPECT] = "member-suspect",
	[CHANGE_DEAD] = "member-dead",
	[CHANGE_LEFT] = "member-left",
	[CHANGE_FORGOTTEN] = "member-forgotten",
	[CHANGE_UPDATE] = "member-update",
	[CHANGE_REGISTERED] = "service-registered",
	[CHANGE_WITHDRAWN] = "service-withdrawn",
};

const char *
change_kind_name(enum change_kind k)
{
	return kind_names[k];
}

int
change_kind_parse(const char *s)
{
	int	k;

	for (k = 0; k < CHANGE_KINDS; k++)
		if (strcmp(kind_names[k], s) == 0)
			return k;
	return -1;
}

struct changes *
changes_new(const struct changes_ops *ops, void *arg)
{
	struct changes	*cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	/* Every member, and this node. */
	if ((cs->seen = nodemap_new(sizeof(struct seen), MEMBERS_MAX + 1)) ==
	    NULL) {
		free(cs);
		return NULL;
	}
	cs->ops = ops;
	cs->arg = arg;
	return cs;
}

void
changes_free(struct changes *cs)
{
	struct seen	*s;
	const uint8_t	*id;
	size_t		 i;

	if (cs == NULL)
		return;
	for (i = 0; i < nodemap_count(cs->seen); i++) {
		s = nodemap_at(cs->seen, i, &id);
		free(s->svc);
	}
	nodemap_free(cs->seen);
	free(cs);
}

static bool
has_service(const struct record_service *set, int n,
    const struct record_service *svc)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(set[i].name, svc->name) == 0 &&
		    strcmp(set[i].group, svc->group) == 0)
			return true;
	return false;
}

/* Tells each service of a that b lacks, as kind. */
static void
tell_services(struct changes *cs, struct change *c, enum change_kind kind,
    const struct record_service *a, int na, const struct record_service *b,
    int nb)
{
	int	i;

	c->kind = kind;
	for (i = 0; i < na; i++)
		if (!has_service(b, nb, &a[i])) {
			c->service = a[i].name;
			c->group = a[i].group;
			cs->ops->change(cs->arg, c);
		}
}

/*
 * A digest of what a member update is about: the record but for its
 * services and topics (told as services, or not at all) and its
 * incarnation.
 */
static void
record_shape(const struct record *r, uint8_t out[8])
{
	crypto_generichash_state	st;
	uint8_t				hub = r->hub;
	int				i;

	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, (const uint8_t *)r->name,
	    strlen(r->name) + 1);
	for (i = 0; i < r->naddrs; i++)
		crypto_generichash_update(&st, (const uint8_t *)r->addrs[i],
		    strlen(r->addrs[i]) + 1);
	/* A separator no address or group name holds. */
	crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
	for (i = 0; i < r->ngroups; i++)
		crypto_generichash_update(&st, (const uint8_t *)r->groups[i],
		    strlen(r->groups[i]) + 1);
	crypto_generichash_update(&st, &hub, 1);
	crypto_generichash_update(&st, (const uint8_t *)r->tags.buf,
	    r->tags.len);
	crypto_generichash_final(&st, out, 8);
}

/*
 * The member kind of going from s (NULL: never seen) to m, whose record
 * has shape, or -1.  A node first heard of dead or left joins when it
 * comes alive.
 */
static int
member_kind(const struct seen *s, const struct member *m,
    const uint8_t shape[8])
{
	if (m->self)
		return -1;
	if (s == NULL || !s->joined)
		return member_live(m) ? CHANGE_JOIN : -1;
	if (s->state == m->state)
		return member_live(m) && memcmp(s->shape, shape, 8) != 0 ?
		    CHANGE_UPDATE : -1;
	switch (m->state) {
	case MEMBER_ALIVE:
		return CHANGE_ALIVE;
	case MEMBER_SUSPECT:
		return CHANGE_SUSPECT;
	case MEMBER_DEAD:
		return CHANGE_DEAD;
	case MEMBER_LEFT:
		return CHANGE_LEFT;
	}
	return -1;
}

void
changes_member(struct changes *cs, const struct member *m, const char *why)
{
	struct seen			*s = nodemap_get(cs->seen, m->rec.id);
	struct change			 c = { 0 };
	const struct record_service	*now;
	struct record_service		*old, *keep = NULL;
	uint8_t				 shape[8];
	int				 kind, nnow, nold;

	record_shape(&m->rec, shape);
	kind = member_kind(s, m, shape);
	if (s == NULL && (s = nodemap_put(cs->seen, m->rec.id)) == NULL) {
		log_warnx("changes: no room to follow %.12s", m->idstr);
		return;
	}
	c.id = m->rec.id;
	c.idstr = m->idstr;
	c.name = m->rec.name;
	c.self = m->self;
	c.incarnation = m->rec.incarnation;
	if (kind != -1) {
		c.kind = (enum change_kind)kind;
		c.why = why;
		cs->ops->change(cs->arg, &c);
	}

	now = member_live(m) ? m->rec.services : NULL;
	nnow = now != NULL ? m->rec.nservices : 0;
	old = s->svc;
	nold = s->nsvc;
	if (nnow > 0 && (keep = malloc((size_t)nnow * sizeof(*keep))) == NULL) {
		log_warnx("changes: out of memory for %.12s", m->idstr);
		nnow = 0;
	}
	if (nnow > 0)
		memcpy(keep, now, (size_t)nnow * sizeof(*keep));
	/* Saved first: an op that reads the table finds it current. */
	s->state = m->state;
	s->live = member_live(m);
	s->joined = s->joined || kind == CHANGE_JOIN;
	memcpy(s->shape, shape, sizeof(s->shape));
	memcpy(s->name, m->rec.name, sizeof(s->name));
	s->svc = keep;
	s->nsvc = nnow;
	/* Services that came or went with the node itself say so. */
	c.why = kind != -1 && kind != CHANGE_UPDATE ? change_kind_name(kind) :
	    NULL;
	tell_services(cs, &c, CHANGE_WITHDRAWN, old, nold, keep, nnow);
	tell_services(cs, &c, CHANGE_REGISTERED, keep, nnow, old, nold);
	free(old);
}

void
changes_forget(struct changes *cs, const uint8_t *id)
{
	struct seen	*s = nodemap_get(cs->seen, id);
	struct change	 c = { 0 };
	char		 idstr[NODE_ID_STRLEN];

	if (s == NULL)
		return;
	if (!s->joined) {
		nodemap_del(cs->seen, id);
		return;
	}
	base32_encode(id, NODE_ID_LEN, idstr);
	c.id = id;
	c.idstr = idstr;
	c.name = s->name;
	c.kind = CHANGE_FORGOTTEN;
	cs->ops->change(cs->arg, &c);
	c.why = change_kind_name(CHANGE_FORGOTTEN);
	tell_services(cs, &c, CHANGE_WITHDRAWN, s->svc, s->nsvc, NULL, 0);
	free(s->svc);
	nodemap_del(cs->seen, id);
}
