/* SPDX-License-Identifier: ISC */
/*
 * discover.h: finding nodes of the same network on the local links by
 * UDP multicast beacons (IPv4 239.255.76.54, IPv6 ff02::7654).
 */
#ifndef PEERD_DISCOVER_H
#define PEERD_DISCOVER_H

#include <sys/socket.h>

#include <stdint.h>

#define DISCOVER_GROUP4		"239.255.76.54"
#define DISCOVER_GROUP6		"ff02::7654"
#define DISCOVER_PORT_DEFAULT	7654

struct event_base;
struct netkeys;

struct discover_params {
	struct event_base	*base;
	/*
	 * 32 bytes, read at each beacon: beacons are sealed with it and
	 * opened with it, or with the previous key of keys (NULL: none)
	 * during a rotation's grace.
	 */
	const uint8_t		*network_key;
	const struct netkeys	*keys;
	const uint8_t		*id;		/* 32 bytes, ours */
	uint16_t		 mesh_port;	/* advertised */
	uint16_t		 port;		/* UDP, default 7654 */
	uint64_t		 interval_ms;	/* between beacons */
	/* Interface names; none: every up multicast interface. */
	char			(*ifaces)[16];
	int			 nifaces;
};

struct discover_stats {
	uint64_t	sent;		/* one per interface and family */
	uint64_t	send_failed;
	uint64_t	received;	/* datagrams read */
	uint64_t	accepted;	/* beacons of other nodes, passed on */
	uint64_t	own;		/* ours, looped back */
	uint64_t	dropped;	/* another network, damaged or stale */
};

struct discover;

/*
 * Called for each beacon of our network from another node: where its
 * mesh listens (the beacon's source address with the advertised port;
 * IPv6 link-local addresses keep their scope id).  The same node is
 * reported again on every beacon, once per interface and family it is
 * heard on.
 */
typedef void discover_found_fn(const uint8_t id[32],
    const struct sockaddr *addr, socklen_t len, void *arg);

/*
 * Opens the sockets, joins the groups and sends the first beacons at
 * once, then one every interval_ms (+-20%), re-enumerating the
 * interfaces each time.  The params are copied; found may be NULL to
 * advertise only.  NULL after logging.
 */
struct discover	*discover_new(const struct discover_params *,
		    discover_found_fn *, void *arg);
/* Stops discovery; NULL is ignored.  Safe from within found. */
void		 discover_free(struct discover *);
void		 discover_stats(const struct discover *,
		    struct discover_stats *);

#endif
