/* SPDX-License-Identifier: ISC */
/*
 * overlay.c: the links a node keeps.  Every second it sheds links over
 * degree_max (a quarter of the excess), or dials random alive members (hubs first) up to
 * degree_min; each dial is a gossip probe, so a member nobody links to
 * cannot stay alive forever after it died.  A node short of links does
 * not wait for the second: when it learns of a live member or loses a
 * link, it dials random members at once, as many as it lacks, so that a
 * joiner spreads its links from the first records its bootstrap node
 * sends.  A few dead members are
 * re-dialed each second, each after its own wait (1 s, doubling after
 * failures up to 300 s; never again after a refusal, until a new
 * record).  While no link is up, the addresses of peers.cache are
 * dialed every 5 s; the file is rewritten, at most every 5 s, when the
 * members changed.  LAN discovery's finds are dialed only while the
 * node is short of links.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "base32.h"
#include "clock.h"
#include "discover.h"
#include "duration.h"
#include "gossip.h"
#include "identity.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "overlay.h"

#define DEGREE_EVERY_MS		1000	/* degree checks */
#define REDIAL_DEAD_MS		1000	/* partitions heal this fast */
#define REDIAL_DEAD_MAX_MS	300000	/* at worst this slowly */
#define REDIAL_DEAD_PER_TICK	2	/* dead members dialed a second */
#define CACHED_DIAL_EVERY_MS	5000	/* alone: the cache is dialed */
#define CACHE_EVERY_MS		5000	/* peers.cache writes, at most */
#define CACHE_MAX		32	/* addresses kept there */

/* The overlay's dials of one member. */
struct dials {
	uint64_t	inc;		/* the record they were made to */
	int64_t		dialed_ms;	/* the last one */
	int64_t		redial_ms;	/* dead: wait between dials */
	bool		refused;	/* dead, and its address refuses */
};

struct overlay {
	struct event_base	*base;
	struct overlay_params	 par;
	struct mesh		*mesh;
	struct gossip		*gossip;
	const struct members	*members;
	struct discover		*discover;	/* NULL: discovery off */
	struct nodemap		*dials;		/* struct dials */
	struct event		*tick;
	struct event		*short_ev;	/* short of links: dial now */
	int64_t			 next_degree, next_cached_dial, next_cache;
	bool			 cache_dirty;
	char			 cache[CACHE_MAX][HOST_MAX + 8];
	int			 ncache;
};

/* The dials of m, reset when m has a new record.  NULL if full. */
static struct dials *
dials_of(struct overlay *o, const struct member *m)
{
	struct dials	*d;

	if ((d = nodemap_put(o->dials, m->rec.id)) != NULL &&
	    d->inc != m->rec.incarnation) {
		d->inc = m->rec.incarnation;
		d->refused = false;
		d->redial_ms = 0;
	}
	return d;
}

/* Whether links plus dials under way fall short of degree_min. */
static bool
short_of_links(struct overlay *o)
{
	return mesh_links(o->mesh, NULL, 0) + mesh_dials(o->mesh) <
	    o->par.degree_min;
}

/*
 * Short of links: the dials wait until the loop has run what is ready
 * (the rest of a burst of records, say), then come from all members.
 */
static void
dial_soon(struct overlay *o)
{
	if (short_of_links(o))
		event_active(o->short_ev, EV_TIMEOUT, 1);
}

void
overlay_member(struct overlay *o, const struct member *m)
{
	o->cache_dirty = true;
	if (nodemap_get(o->dials, m->rec.id) != NULL)
		(void)dials_of(o, m);
	if (!m->self && m->state == MEMBER_ALIVE)
		dial_soon(o);
}

void
overlay_link_down(struct overlay *o)
{
	dial_soon(o);
}

void
overlay_forgotten(struct overlay *o, const uint8_t *id)
{
	o->cache_dirty = true;
	nodemap_del(o->dials, id);
}

/* A dead member that refuses: its process is gone, stop dialing. */
static void
probed(const uint8_t *id, enum mesh_dial_result res, void *arg)
{
	struct overlay	*o = arg;
	struct member	*m = members_get(o->members, id);
	struct dials	*d;

	if (m == NULL || m->state != MEMBER_DEAD ||
	    (d = dials_of(o, m)) == NULL)
		return;
	if (res == MESH_DIAL_REFUSED)
		d->refused = true;
	else if (res == MESH_DIAL_FAILED)
		d->redial_ms = d->redial_ms == 0 ? REDIAL_DEAD_MS :
		    (d->redial_ms * 2 > REDIAL_DEAD_MAX_MS ?
		    REDIAL_DEAD_MAX_MS : d->redial_ms * 2);
}

/* Dials m, as a probe. */
static void
dial(struct overlay *o, const struct member *m)
{
	struct dials	*d;

	if ((d = dials_of(o, m)) != NULL)
		d->dialed_ms = clock_ms();
	(void)gossip_probe(o->gossip, m->rec.id, probed, o);
}

/* Whether a dead member's wait is over. */
static bool
redial_due(struct overlay *o, const struct member *m, int64_t now)
{
	struct dials	*d = nodemap_get(o->dials, m->rec.id);

	if (d == NULL || d->inc != m->rec.incarnation)
		return true;
	return !d->refused && now - d->dialed_ms >= (d->redial_ms ?
	    d->redial_ms : REDIAL_DEAD_MS);
}

static bool
linked_or_dialing(struct overlay *o, const uint8_t *id)
{
	return mesh_link_to(o->mesh, id) != NULL || mesh_dialing(o->mesh, id);
}

/*
 * Dials random alive members (hubs first) until links plus dials under
 * way reach degree_min; none if they do already, however often called.
 * Returns where in the member table it started, at random.
 */
static size_t
dial_short(struct overlay *o)
{
	const struct member	*m;
	size_t			 n = members_count(o->members), up, want, k;
	size_t			 start;
	int			 pass;

	up = mesh_links(o->mesh, NULL, 0) + mesh_dials(o->mesh);
	want = up < o->par.degree_min ? o->par.degree_min - up : 0;
	start = n > 1 ? randombytes_uniform((uint32_t)n) : 0;
	for (pass = 0; pass < 2 && want > 0; pass++)
		for (k = 0; k < n && want > 0; k++) {
			m = members_at(o->members, (start + k) % n);
			if (m->self || m->state != MEMBER_ALIVE ||
			    m->rec.hub != (pass == 0) ||
			    mesh_held(o->mesh, m->rec.id) ||
			    linked_or_dialing(o, m->rec.id))
				continue;
			dial(o, m);
			want--;
		}
	return start;
}

static void
short_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	(void)dial_short(arg);
}

/*
 * Keeps between degree_min and degree_max links: dials random members
 * (hubs first) when short, sheds the slowest links when over, and
 * re-dials a few dead members.
 */
static void
degree(struct overlay *o)
{
	const struct member	*m;
	size_t			 n = members_count(o->members), i, k, up;
	size_t			 start;
	int64_t			 now = clock_ms();

	mesh_close_idle(o->mesh, o->par.degree_min);
	if ((up = mesh_links(o->mesh, NULL, 0)) > o->par.degree_max) {
		/*
		 * A quarter of the excess a second (one at least): a node
		 * that many joined through comes down in seconds, while the
		 * nodes it sheds have time to link elsewhere.
		 */
		for (k = (up - o->par.degree_max + 3) / 4; k > 0; k--)
			mesh_shed(o->mesh);
		return;
	}
	start = dial_short(o);
	/* A few dead members a tick, each with its own backoff. */
	for (i = 0, k = 0; i < n && k < REDIAL_DEAD_PER_TICK; i++) {
		m = members_at(o->members, (start + i) % n);
		if (m->state == MEMBER_DEAD && redial_due(o, m, now) &&
		    !mesh_held(o->mesh, m->rec.id) &&
		    !linked_or_dialing(o, m->rec.id)) {
			dial(o, m);
			k++;
		}
	}
}

/* False if the path does not fit. */
static bool
cache_path(const struct overlay *o, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "%s/peers.cache", o->par.state_dir);

	return n > 0 && (size_t)n < len;
}

/* peers.cache: one address a line, so a restart finds the mesh again. */
static void
cache_write(struct overlay *o)
{
	const struct member	*m;
	char			 path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE			*f;
	size_t			 i;
	int			 n = 0, fd;

	if (!cache_path(o, path, sizeof(path)))
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("overlay: %s", tmp);
		return;
	}
	fprintf(f, "# peerd: addresses of members, to rejoin after a "
	    "restart\n");
	for (i = 0; i < members_count(o->members) && n < CACHE_MAX; i++) {
		m = members_at(o->members, i);
		if (m->self || m->state != MEMBER_ALIVE || m->rec.naddrs == 0)
			continue;
		fprintf(f, "%s\n", m->rec.addrs[0]);
		n++;
	}
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		log_warn("overlay: %s", path);
		(void)unlink(tmp);
		return;		/* still dirty: tried again later */
	}
	o->cache_dirty = false;
}

static void
cache_read(struct overlay *o)
{
	char		 path[PATH_MAX], line[HOST_MAX + 16], host[HOST_MAX];
	char		 err[64];
	uint16_t	 port;
	FILE		*f;

	if (!cache_path(o, path, sizeof(path)) ||
	    (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && o->ncache < CACHE_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0' ||
		    strlen(line) >= sizeof(o->cache[0]) ||
		    addr_split(line, host, &port, err, sizeof(err)) == -1 ||
		    port == 0)
			continue;
		memcpy(o->cache[o->ncache++], line, strlen(line) + 1);
	}
	fclose(f);
	if (o->ncache > 0)
		log_info("overlay: %d addresses in %s", o->ncache, path);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct overlay	*o = arg;
	int64_t		 now = clock_ms();
	int		 i;

	(void)fd; (void)what;
	if (now >= o->next_degree) {
		degree(o);
		o->next_degree = now + DEGREE_EVERY_MS;
	}
	/* Alone: try the addresses remembered from the last run. */
	if (now >= o->next_cached_dial && mesh_links(o->mesh, NULL, 0) == 0) {
		for (i = 0; i < o->ncache; i++)
			(void)mesh_dial_member(o->mesh, NULL, o->cache[i],
			    MESH_DIAL_CACHE, NULL, NULL);
		o->next_cached_dial = now + CACHED_DIAL_EVERY_MS;
	}
	if (o->cache_dirty && now >= o->next_cache) {
		cache_write(o);
		o->next_cache = now + CACHE_EVERY_MS;
	}
}

/*
 * A node of our network listens at sa.  A member we know of is
 * gossip's and the overlay's business: dial it only while short of
 * links, and not while it is held off.  Beacons are cheap to send,
 * dials are not: never more dials at once than links wanted.  A new
 * node is short of links itself and dials us, so it is found.
 */
static void
on_found(const uint8_t id[NODE_ID_LEN], const struct sockaddr *sa,
    socklen_t len, void *arg)
{
	struct overlay	*o = arg;
	char		 addr[ADDR_STRLEN], idstr[NODE_ID_STRLEN];

	(void)len;
	if (memcmp(id, o->par.id->pk, NODE_ID_LEN) == 0 ||
	    linked_or_dialing(o, id) || mesh_held(o->mesh, id))
		return;
	if (mesh_links(o->mesh, NULL, 0) >= o->par.degree_min ||
	    mesh_dials(o->mesh) >= o->par.degree_min)
		return;
	addr_format(sa, addr);
	base32_encode(id, NODE_ID_LEN, idstr);
	log_info("discovery: node %.12s at %s", idstr, addr);
	(void)mesh_dial_member(o->mesh, id, addr, MESH_DIAL_BEACON, NULL,
	    NULL);
}

int
overlay_discovery_start(struct overlay *o)
{
	struct discover_params	p;

	discover_free(o->discover);
	o->discover = NULL;
	if (!o->par.discovery)
		return 0;
	memset(&p, 0, sizeof(p));
	p.base = o->base;
	p.network_key = o->par.id->network_key;
	p.keys = o->par.keys;
	p.id = o->par.id->pk;
	p.mesh_port = o->par.mesh_port;
	p.port = o->par.discovery_port;
	p.interval_ms = o->par.beacon_interval;
	p.ifaces = o->par.ifaces;
	p.nifaces = o->par.nifaces;
	if ((o->discover = discover_new(&p, on_found, o)) == NULL) {
		log_warnx("discovery: cannot start; set discovery = no to run "
		    "without it");
		return -1;
	}
	return 0;
}

void
overlay_reset(struct overlay *o)
{
	o->ncache = 0;
	cache_write(o);
}

struct overlay *
overlay_new(struct event_base *base, const struct overlay_params *p,
    struct mesh *mesh, struct gossip *gossip)
{
	struct overlay	*o;
	struct timeval	 tv;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->dials = nodemap_new(sizeof(struct dials), MEMBERS_MAX)) ==
	    NULL) {
		free(o);
		log_warn("overlay");
		return NULL;
	}
	o->base = base;
	o->par = *p;
	o->mesh = mesh;
	o->gossip = gossip;
	o->members = gossip_members(gossip);
	cache_read(o);
	duration_timeval(p->tick_ms, &tv);
	o->tick = event_new(base, -1, EV_PERSIST, tick_cb, o);
	o->short_ev = event_new(base, -1, 0, short_cb, o);
	if (o->tick == NULL || o->short_ev == NULL ||
	    event_add(o->tick, &tv) == -1) {
		log_warnx("overlay: cannot start the timer");
		overlay_free(o);
		return NULL;
	}
	/* Alone after a restart: the cached addresses are dialed at once. */
	event_active(o->tick, EV_TIMEOUT, 1);
	return o;
}

void
overlay_free(struct overlay *o)
{
	if (o == NULL)
		return;
	discover_free(o->discover);
	if (o->cache_dirty)
		cache_write(o);
	if (o->tick != NULL)
		event_free(o->tick);
	if (o->short_ev != NULL)
		event_free(o->short_ev);
	nodemap_free(o->dials);
	free(o);
}
