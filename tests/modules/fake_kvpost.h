/* SPDX-License-Identifier: ISC */
/*
 * fake_kvpost.h: "kv" messages between the nodes of one test.  kvpost
 * encodes each body (kvmsg.c) into a queue, and the event loop hands
 * it, decoded, to the node it is for, in the order sent.  A route from
 * one node to another holds so many bytes of bodies at most (or one),
 * then answers full as route_send does; a node cut off has no route to
 * or from it.
 */
#ifndef TESTS_FAKE_KVPOST_H
#define TESTS_FAKE_KVPOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmsg.h"
#include "kvpost.h"

struct event_base;
struct fake_kvnet;

typedef void	 fake_kvnet_fn(void *arg, const uint8_t *from, uint64_t cid,
		    const struct kvmsg *);

struct fake_kvnet *fake_kvnet_new(struct event_base *);
/* Drops what is still queued. */
void		 fake_kvnet_free(struct fake_kvnet *);
/* A node of the net: messages for id go to fn(arg); what it sends by. */
struct kvpost	*fake_kvnet_node(struct fake_kvnet *, const uint8_t *id,
		    fake_kvnet_fn *fn, void *arg);
/* Bytes one route holds queued before it is full; 0: no limit. */
void		 fake_kvnet_limit(struct fake_kvnet *, size_t bytes);
/* Cuts id off (no route to or from it), or joins it again. */
void		 fake_kvnet_cut(struct fake_kvnet *, const uint8_t *id, bool);
/* Messages to id are taken and lost, as if it never answered. */
void		 fake_kvnet_mute(struct fake_kvnet *, const uint8_t *id, bool);
/* Messages of a kind sent so far; sends refused as full. */
size_t		 fake_kvnet_sent(const struct fake_kvnet *, enum kvmsg_kind);
size_t		 fake_kvnet_full(const struct fake_kvnet *);
/* Messages queued, not yet delivered. */
size_t		 fake_kvnet_queued(const struct fake_kvnet *);
void		 fake_kvnet_reset_counts(struct fake_kvnet *);

#endif
