/* SPDX-License-Identifier: ISC */
/*
 * discover.c: LAN discovery.  Owns one UDP socket per address family,
 * its multicast memberships on the selected interfaces, and the beacon
 * timer.  Sends our beacon on every selected interface and reports the
 * beacons of other nodes of the network; what to do with them (dial,
 * remember) is the caller's business.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "beacon.h"
#include "clock.h"
#include "discover.h"
#include "duration.h"
#include "log.h"
#include "netkeys.h"

#define DISCOVER_READS_PER_WAKE	64	/* then yield to the rest */
#define DISCOVER_IFACES_MAX	32	/* interfaces beaconed on */
#define DISCOVER_INTERVAL_MAX	(24 * 3600 * 1000ull)

#if defined(__linux__) && !defined(IP_MULTICAST_ALL)
#define IP_MULTICAST_ALL	49	/* <linux/in.h>; glibc lacks it */
#endif

/* Problems already logged for an interface, so each is logged once. */
#define W_JOIN4		0x01
#define W_JOIN6		0x02
#define W_SEND4		0x04
#define W_SEND6		0x08

struct discover_iface {
	char		 name[IF_NAMESIZE];
	unsigned int	 index;
	struct in_addr	 addr4;		/* IPv4 source */
	bool		 has4, has6;	/* has addresses */
	bool		 seen;		/* by the last scan */
	bool		 joined4, joined6;
	unsigned int	 warned;	/* W_* */
};

struct discover_name {
	char		 name[IF_NAMESIZE];
	bool		 warned;	/* logged as missing or down */
};

struct discover {
	struct event_base	*base;
	discover_found_fn	*fn;
	void			*arg;
	const uint8_t		*network_key;	/* the current, read each time */
	const struct netkeys	*keys;
	/* Of network_key, then of the previous key while in its grace. */
	uint8_t			 bkeys[2][BEACON_KEY_LEN];
	size_t			 nbkeys;
	uint8_t			 id[32];
	uint16_t		 mesh_port;
	uint16_t		 port;
	uint64_t		 interval_ms;
	struct discover_name	*names;		/* configured */
	int			 nnames;

	int			 fd4, fd6;	/* -1: unavailable */
	struct event		*rd4, *rd6;
	struct event		*tick;
	struct sockaddr_in	 group4;
	struct sockaddr_in6	 group6;

	struct discover_iface	 ifs[DISCOVER_IFACES_MAX];
	int			 nifs;

	bool			 warned_none, warned_full;
	bool			 warned_getifaddrs, warned_seal;
	bool			 warned_recv;
	bool			 in_found;	/* calling fn */
	bool			 freed;		/* then free */
	struct discover_stats	 stats;
};


static uint64_t
unix_now(void)
{
	time_t	t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

static void
discover_destroy(struct discover *d)
{
	if (d->rd4 != NULL)
		event_free(d->rd4);
	if (d->rd6 != NULL)
		event_free(d->rd6);
	if (d->tick != NULL)
		event_free(d->tick);
	if (d->fd4 != -1)
		close(d->fd4);
	if (d->fd6 != -1)
		close(d->fd6);
	free(d->names);
	sodium_memzero(d->bkeys, sizeof(d->bkeys));
	free(d);
}

static bool
iface_selected(const struct discover *d, const char *name, unsigned int flags)
{
	int	i;

	if (!(flags & IFF_UP))
		return false;
	if (d->nnames == 0)
		return (flags & IFF_MULTICAST) && !(flags & IFF_LOOPBACK);
	for (i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i].name, name) == 0)
			return true;
	return false;
}

static struct discover_iface *
iface_get(struct discover *d, const char *name)
{
	struct discover_iface	*e;
	int			 i;

	for (i = 0; i < d->nifs; i++)
		if (strcmp(d->ifs[i].name, name) == 0)
			return &d->ifs[i];
	if (d->nifs == DISCOVER_IFACES_MAX) {
		if (!d->warned_full) {
			log_warnx("discovery: more than %d interfaces, "
			    "ignoring %s and any others", DISCOVER_IFACES_MAX,
			    name);
			d->warned_full = true;
		}
		return NULL;
	}
	e = &d->ifs[d->nifs++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

/*
 * Enumerates the selected interfaces that are up, with whether each has
 * an IPv4 and an IPv6 address.  Interfaces that went away are
 * forgotten; their memberships went with them.
 */
static void
ifaces_scan(struct discover *d)
{
	struct ifaddrs		*all, *a;
	const struct sockaddr_in *sin;
	struct discover_iface	*e;
	unsigned int		 index;
	int			 i, j, fam;

	if (getifaddrs(&all) == -1) {
		if (!d->warned_getifaddrs) {
			log_warn("discovery: getifaddrs");
			d->warned_getifaddrs = true;
		}
		return;		/* keep beaconing where we did */
	}
	d->warned_getifaddrs = false;
	for (i = 0; i < d->nifs; i++) {
		d->ifs[i].seen = false;
		d->ifs[i].has4 = d->ifs[i].has6 = false;
	}
	for (a = all; a != NULL; a = a->ifa_next) {
		if (a->ifa_addr == NULL)
			continue;
		fam = a->ifa_addr->sa_family;
		if ((fam != AF_INET && fam != AF_INET6) ||
		    !iface_selected(d, a->ifa_name, a->ifa_flags) ||
		    (e = iface_get(d, a->ifa_name)) == NULL)
			continue;
		e->seen = true;
		if (fam == AF_INET && !e->has4) {
			sin = (const struct sockaddr_in *)(void *)a->ifa_addr;
			e->addr4 = sin->sin_addr;
			e->has4 = true;
		} else if (fam == AF_INET6)
			e->has6 = true;
	}
	freeifaddrs(all);

	for (i = j = 0; i < d->nifs; i++) {
		e = &d->ifs[i];
		if (e->seen && (index = if_nametoindex(e->name)) != 0) {
			if (index != e->index) {
				/* New, or recreated: join and log afresh. */
				e->index = index;
				e->joined4 = e->joined6 = false;
				e->warned = 0;
			}
			if (i != j)
				d->ifs[j] = *e;
			j++;
		} else if (e->joined4 || e->joined6)
			log_info("discovery: %s is gone or down", e->name);
	}
	d->nifs = j;

	for (i = 0; i < d->nnames; i++) {
		for (j = 0; j < d->nifs; j++)
			if (strcmp(d->ifs[j].name, d->names[i].name) == 0)
				break;
		if (j < d->nifs)
			d->names[i].warned = false;
		else if (!d->names[i].warned) {
			log_warnx("discovery: interface %s is missing, down or "
			    "without an address", d->names[i].name);
			d->names[i].warned = true;
		}
	}
}

/* Joins the groups on e; joining again is harmless. */
static void
iface_join(struct discover *d, struct discover_iface *e)
{
	struct ip_mreqn		mr;
	struct ipv6_mreq	mr6;
	char			buf[INET_ADDRSTRLEN];

	if (d->fd4 != -1 && e->has4) {
		memset(&mr, 0, sizeof(mr));
		mr.imr_multiaddr = d->group4.sin_addr;
		mr.imr_ifindex = (int)e->index;
		if (setsockopt(d->fd4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == 0 || errno == EADDRINUSE) {
			if (!e->joined4)
				log_info("discovery: IPv4 beacons on %s (%s)",
				    e->name, inet_ntop(AF_INET, &e->addr4, buf,
				    sizeof(buf)));
			e->joined4 = true;
			e->warned &= ~W_JOIN4;
		} else if (!(e->warned & W_JOIN4)) {
			log_warn("discovery: %s: joining %s", e->name,
			    DISCOVER_GROUP4);
			e->warned |= W_JOIN4;
		}
	}
	if (d->fd6 != -1 && e->has6) {
		memset(&mr6, 0, sizeof(mr6));
		mr6.ipv6mr_multiaddr = d->group6.sin6_addr;
		mr6.ipv6mr_interface = e->index;
		if (setsockopt(d->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr6,
		    sizeof(mr6)) == 0 || errno == EADDRINUSE) {
			if (!e->joined6)
				log_info("discovery: IPv6 beacons on %s",
				    e->name);
			e->joined6 = true;
			e->warned &= ~W_JOIN6;
		} else if (!(e->warned & W_JOIN6)) {
			log_warn("discovery: %s: joining %s", e->name,
			    DISCOVER_GROUP6);
			e->warned |= W_JOIN6;
		}
	}
}

/* Counts one send; logs a failure once until a send works again. */
static void
send_result(struct discover *d, struct discover_iface *e, unsigned int w,
    int rc, const char *family)
{
	if (rc == 0) {
		d->stats.sent++;
		e->warned &= ~w;
		return;
	}
	d->stats.send_failed++;
	/* A full socket buffer is transient: the next tick will do. */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
	    (e->warned & w))
		return;
	/* So is an address still in duplicate address detection. */
	if (errno == EADDRNOTAVAIL)
		log_debug("discovery: %s: no %s source address yet", e->name,
		    family);
	else
		log_warn("discovery: %s: sending %s beacon", e->name, family);
	e->warned |= w;
}

static void
iface_send(struct discover *d, struct discover_iface *e, const uint8_t *b,
    size_t len)
{
	struct ip_mreqn		mr;
	struct sockaddr_in6	sin6;
	int			rc, index;

	if (d->fd4 != -1 && e->has4) {
		memset(&mr, 0, sizeof(mr));
		mr.imr_address = e->addr4;
		mr.imr_ifindex = (int)e->index;
		rc = setsockopt(d->fd4, IPPROTO_IP, IP_MULTICAST_IF, &mr,
		    sizeof(mr));
		if (rc == 0 && sendto(d->fd4, b, len, 0,
		    (struct sockaddr *)&d->group4, sizeof(d->group4)) == -1)
			rc = -1;
		send_result(d, e, W_SEND4, rc, "IPv4");
	}
	if (d->fd6 != -1 && e->has6) {
		index = (int)e->index;
		sin6 = d->group6;
		sin6.sin6_scope_id = e->index;	/* which link */
		rc = setsockopt(d->fd6, IPPROTO_IPV6, IPV6_MULTICAST_IF,
		    &index, sizeof(index));
		if (rc == 0 && sendto(d->fd6, b, len, 0,
		    (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
			rc = -1;
		send_result(d, e, W_SEND6, rc, "IPv6");
	}
}

static void
tick_schedule(struct discover *d)
{
	struct timeval	tv;
	uint64_t	ms = d->interval_ms, span;

	/* +-20%, so nodes started together drift apart. */
	span = ms * 2 / 5;
	ms = ms - ms / 5 + randombytes_uniform((uint32_t)span + 1);
	duration_timeval(ms, &tv);
	if (evtimer_add(d->tick, &tv) == -1)
		log_warnx("discovery: cannot schedule the next beacon");
}

/*
 * The beacon keys of the network key now, and of the previous one while
 * its grace lasts: a rotation changes them under us.
 */
static void
discover_keys(struct discover *d)
{
	const struct netkeys	*k = d->keys;

	beacon_key(d->network_key, d->bkeys[0]);
	d->nbkeys = 1;
	if (k != NULL && k->has_prev &&
	    k->prev.until_ms > (int64_t)clock_wall_ms())
		beacon_key(k->prev.key, d->bkeys[d->nbkeys++]);
	else
		sodium_memzero(d->bkeys[1], sizeof(d->bkeys[1]));
}

/* Re-enumerates, (re-)joins and sends one beacon per interface. */
static void
discover_tick(evutil_socket_t fd, short what, void *arg)
{
	struct discover	*d = arg;
	uint8_t		 b[BEACON_MAX];
	ssize_t		 n;
	int		 i;

	(void)fd; (void)what;
	ifaces_scan(d);
	discover_keys(d);
	n = beacon_seal(d->bkeys[0], d->id, d->mesh_port, unix_now(), b,
	    sizeof(b));
	if (n == -1 && !d->warned_seal) {
		log_warnx("discovery: cannot seal a beacon");
		d->warned_seal = true;
	}
	for (i = 0; i < d->nifs; i++) {
		iface_join(d, &d->ifs[i]);
		if (n > 0)
			iface_send(d, &d->ifs[i], b, (size_t)n);
	}
	if (d->nifs == 0 && !d->warned_none) {
		log_info("discovery: no interface to send beacons on yet");
		d->warned_none = true;
	} else if (d->nifs > 0)
		d->warned_none = false;
	tick_schedule(d);
}

static bool
source_usable(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr != htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) &&
		    !IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
	return false;
}

/* Reads what is queued, up to DISCOVER_READS_PER_WAKE datagrams. */
static void
discover_read(evutil_socket_t fd, short what, void *arg)
{
	struct discover		*d = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			 b[BEACON_MAX + 1], id[32];
	uint64_t		 now = unix_now();
	uint16_t		 port;
	ssize_t			 n;
	int			 i;

	(void)what;
	discover_keys(d);
	for (i = 0; i < DISCOVER_READS_PER_WAKE; i++) {
		sslen = sizeof(ss);
		ss.ss_family = AF_UNSPEC;
		n = recvfrom(fd, b, sizeof(b), MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && !d->warned_recv) {
				log_warn("discovery: recvfrom");
				d->warned_recv = true;
			}
			return;
		}
		d->stats.received++;
		/* Other networks' beacons are normal: dropped unlogged. */
		if ((size_t)n > BEACON_MAX || sslen > sizeof(ss) ||
		    !source_usable(&ss) ||
		    beacon_open_any((const uint8_t (*)[BEACON_KEY_LEN])d->bkeys,
		    d->nbkeys, b, (size_t)n, now, id, &port) == -1) {
			d->stats.dropped++;
			continue;
		}
		if (memcmp(id, d->id, sizeof(id)) == 0) {
			d->stats.own++;
			continue;
		}
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		d->stats.accepted++;
		if (d->fn == NULL)
			continue;	/* only advertising */
		d->in_found = true;
		d->fn(id, (struct sockaddr *)&ss, sslen, d->arg);
		d->in_found = false;
		if (d->freed) {
			discover_destroy(d);
			return;
		}
	}
}

static int
open4(struct discover *d)
{
	struct sockaddr_in	sin;
	int			fd, on = 1, off = 0, ttl = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("discovery: IPv4 socket");
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(d->port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	/* Several daemons on one host share the port. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &on,
	    sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
	    sizeof(ttl)) == -1) {
		log_warn("discovery: IPv4 socket options");
		close(fd);
		return -1;
	}
#ifdef IP_MULTICAST_ALL
	/* Only the groups joined here, not every group of the host. */
	(void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof(off));
#else
	(void)off;
#endif
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		log_warn("discovery: IPv4 UDP port %u", d->port);
		close(fd);
		return -1;
	}
	return fd;
}

static int
open6(struct discover *d)
{
	struct sockaddr_in6	sin6;
	int			fd, on = 1, off = 0, hops = 1;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		if (errno == EAFNOSUPPORT)
			log_info("discovery: no IPv6 on this host, IPv4 only");
		else
			log_warn("discovery: IPv6 socket");
		return -1;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(d->port);
	sin6.sin6_addr = in6addr_any;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &on,
	    sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
	    sizeof(hops)) == -1) {
		log_warn("discovery: IPv6 socket options");
		close(fd);
		return -1;
	}
#ifdef IPV6_MULTICAST_ALL
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &off,
	    sizeof(off));
#else
	(void)off;
#endif
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		if (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)
			log_info("discovery: no IPv6 on this host, IPv4 only");
		else
			log_warn("discovery: IPv6 UDP port %u", d->port);
		close(fd);
		return -1;
	}
	return fd;
}

struct discover *
discover_new(const struct discover_params *p, discover_found_fn *fn,
    void *arg)
{
	struct discover	*d;
	int		 i;

	if (p->base == NULL || p->network_key == NULL || p->id == NULL ||
	    p->interval_ms == 0 || p->interval_ms > DISCOVER_INTERVAL_MAX ||
	    p->port == 0 || p->mesh_port == 0 || p->nifaces < 0 ||
	    (p->nifaces > 0 && p->ifaces == NULL)) {
		log_warnx("discovery: bad parameters");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("discovery");
		return NULL;
	}
	d->fd4 = d->fd6 = -1;
	d->base = p->base;
	d->fn = fn;
	d->arg = arg;
	d->network_key = p->network_key;
	d->keys = p->keys;
	discover_keys(d);
	memcpy(d->id, p->id, sizeof(d->id));
	d->mesh_port = p->mesh_port;
	d->port = p->port;
	d->interval_ms = p->interval_ms;
	if (p->nifaces > 0) {
		if ((d->names = calloc((size_t)p->nifaces,
		    sizeof(*d->names))) == NULL) {
			log_warn("discovery");
			discover_destroy(d);
			return NULL;
		}
		for (i = 0; i < p->nifaces; i++)
			snprintf(d->names[i].name, sizeof(d->names[i].name),
			    "%.*s", (int)sizeof(p->ifaces[i]) - 1,
			    p->ifaces[i]);
		d->nnames = p->nifaces;
	}

	d->group4.sin_family = AF_INET;
	d->group4.sin_port = htons(d->port);
	inet_pton(AF_INET, DISCOVER_GROUP4, &d->group4.sin_addr);
	d->group6.sin6_family = AF_INET6;
	d->group6.sin6_port = htons(d->port);
	inet_pton(AF_INET6, DISCOVER_GROUP6, &d->group6.sin6_addr);

	d->fd4 = open4(d);
	d->fd6 = open6(d);
	if (d->fd4 == -1 && d->fd6 == -1) {
		log_warnx("discovery: no usable UDP socket");
		discover_destroy(d);
		return NULL;
	}
	if ((d->fd4 != -1 && ((d->rd4 = event_new(d->base, d->fd4,
	    EV_READ | EV_PERSIST, discover_read, d)) == NULL ||
	    event_add(d->rd4, NULL) == -1)) ||
	    (d->fd6 != -1 && ((d->rd6 = event_new(d->base, d->fd6,
	    EV_READ | EV_PERSIST, discover_read, d)) == NULL ||
	    event_add(d->rd6, NULL) == -1)) ||
	    (d->tick = evtimer_new(d->base, discover_tick, d)) == NULL) {
		log_warnx("discovery: cannot watch the sockets");
		discover_destroy(d);
		return NULL;
	}
	log_info("discovery: UDP port %u, %s%s%s, beacon every %" PRIu64
	    " ms", d->port, d->fd4 != -1 ? DISCOVER_GROUP4 : "",
	    d->fd4 != -1 && d->fd6 != -1 ? " and " : "",
	    d->fd6 != -1 ? DISCOVER_GROUP6 : "", d->interval_ms);
	discover_tick(-1, 0, d);	/* the first beacon at once */
	return d;
}

void
discover_free(struct discover *d)
{
	if (d == NULL)
		return;
	if (d->in_found) {
		/* discover_read() is still using d. */
		d->freed = true;
		return;
	}
	discover_destroy(d);
}

void
discover_stats(const struct discover *d, struct discover_stats *st)
{
	*st = d->stats;
}
