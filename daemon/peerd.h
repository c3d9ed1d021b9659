/* SPDX-License-Identifier: ISC */
/*
 * peerd.h: the daemon's top-level state, one per process.  Only peerd.c
 * includes it: it builds every module, hands each what it uses, and
 * carries what one module reports to the others.
 */
#ifndef PEERD_H
#define PEERD_H

#include <stdint.h>
#include <time.h>

#include "admins.h"
#include "config.h"
#include "hello.h"
#include "identity.h"
#include "netkeys.h"
#include "options.h"
#include "record.h"
#include "stats.h"

struct access;
struct event_base;
struct listeners;
struct control;
struct mesh;
struct gossip;
struct probe;
struct overlay;
struct registry;
struct route;
struct calls;
struct serve;
struct events;
struct join;
struct handlers;
struct metrics;
struct heap_trim;
struct tags;
struct watch;
struct kvstore;
struct kvring;
struct kvpost;
struct kvwatch;
struct kvsync;
struct kv;
struct revoke;

struct peerd {
	struct event_base	*base;
	struct options		 opt;		/* the command line */
	struct config		 conf;
	struct identity		 id;
	struct netkeys		 keys;		/* across a rotation */
	time_t			 started_at;	/* wall clock */
	int64_t			 started_ms;	/* monotonic */
	struct hello		 hello;		/* ours, for the mesh */
	char			 addrs[RECORD_ADDRS_MAX][ADDR_STRLEN];
	int			 naddrs;	/* where others dial us */
	struct access		*access;	/* the service rules */
	struct listeners	*listeners;
	struct control		*control;
	struct mesh		*mesh;
	struct probe		*probe;
	struct gossip		*gossip;
	struct changes		*changes;	/* told to watchers */
	struct overlay		*overlay;
	struct registry		*registry;
	struct pairkey		*pairkeys;	/* shared with each other node */
	struct originauth	*oa;		/* origins of call messages */
	struct route		*route;
	struct calls		*calls;		/* this node's callers' */
	struct serve		*serve;		/* its apps' */
	struct events		*events;
	struct join		*join;
	struct admins		 admins;	/* config's and STATE/admins' */
	struct keyrot		*keyrot;	/* network key rotations */
	struct handlers		*handlers;	/* the event handlers */
	struct stats		 stats;		/* where the numbers are */
	struct metrics		*metrics;	/* NULL: no metrics_listen */
	struct tags		*tags;		/* what our record announces */
	struct watch		*watch;		/* clients' watch streams */
	struct kvstore		*kvstore;	/* our share of the store */
	struct kvring		*kvring;	/* who owns which key */
	struct kvpost		*kvpost;
	struct kvwatch		*kvwatch;	/* watches of key prefixes */
	struct kvsync		*kvsync;	/* keys kept on their owners */
	struct kv		*kv;		/* clients' reads and writes */
	struct revoke		*revoke;	/* revoked nodes */
	struct heap_trim	*heap_trim;	/* memory back after a burst */
	char			 status[256];	/* for systemd's STATUS= */
};

#endif
