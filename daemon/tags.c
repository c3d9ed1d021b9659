/* SPDX-License-Identifier: ISC */
/*
 * tags.c: the node's tags, in two layers: the configured ones, and the
 * changes made at run time, kept as the tags set and the configured
 * keys unset.  What the node announces is the configured tags, less the
 * keys unset, with the tags set on top.  A reload replaces the first
 * layer only; nothing of the second outlives the process.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "gossip.h"
#include "log.h"
#include "proto.h"
#include "tags.h"

struct tags {
	struct gossip	*gossip;
	struct tagset	 configured;
	struct tagset	 set;		/* set at run time */
	struct tagset	 unset;		/* configured keys unset; values "" */
	struct tagset	 now;		/* what our record carries */
};

/*
 * What the layers give, into out.  A tag set at run time that does not
 * fit makes it fail with *why, or, with drop, leaves the set layer
 * with a warning.
 */
static int
effective(struct tags *t, struct tagset *out, bool drop, const char **why)
{
	struct tagset	 set = t->set;
	const char	*k, *v;
	size_t		 off = 0;

	*out = t->configured;
	while (tagset_next(&t->unset, &off, &k, &v))
		(void)tagset_unset(out, k);
	off = 0;
	while (tagset_next(&set, &off, &k, &v)) {
		if (tagset_set(out, k, v, why) == 0)
			continue;
		if (!drop)
			return -1;
		log_warnx("tags: run-time tag %s dropped: with the configured "
		    "ones, %s", k, *why);
		(void)tagset_unset(&t->set, k);
	}
	return 0;
}

static void
announce(struct tags *t)
{
	const char	*why;

	(void)effective(t, &t->now, true, &why);
	gossip_set_tags(t->gossip, &t->now);
}

struct tags *
tags_new(struct gossip *g, const struct tagset *configured)
{
	struct tags	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("tags");
		return NULL;
	}
	t->gossip = g;
	t->configured = *configured;
	announce(t);
	return t;
}

void
tags_free(struct tags *t)
{
	free(t);
}

void
tags_configure(struct tags *t, const struct tagset *configured)
{
	struct tagset	 unset = t->unset;
	const char	*k, *v;
	size_t		 off = 0;

	t->configured = *configured;
	/* An unset key the configuration no longer has is moot. */
	while (tagset_next(&unset, &off, &k, &v))
		if (tagset_get(configured, k) == NULL)
			(void)tagset_unset(&t->unset, k);
	announce(t);
}

static void
put_tagset(struct cbor_buf *b, const struct tagset *ts, bool keys_only)
{
	const char	*k, *v;
	size_t		 off = 0;

	if (keys_only)
		cbor_put_array(b, (size_t)ts->n);
	else
		cbor_put_map(b, (size_t)ts->n);
	while (tagset_next(ts, &off, &k, &v)) {
		cbor_put_text(b, k);
		if (!keys_only)
			cbor_put_text(b, v);
	}
}

static void
reply_tags(struct ctl_conn *c, uint64_t id, const struct tags *t)
{
	struct cbor_buf	*b;

	b = ctl_result_begin(c, id);
	cbor_put_map(b, 4);
	cbor_put_text(b, "tags");
	put_tagset(b, &t->now, false);
	cbor_put_text(b, "configured");
	put_tagset(b, &t->configured, false);
	cbor_put_text(b, "set");
	put_tagset(b, &t->set, false);
	cbor_put_text(b, "unset");
	put_tagset(b, &t->unset, true);
	ctl_result_end(c);
}

static void
tags_op_tags(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	reply_tags(c, msg->id, arg);
}

/* The keys of the unset argument, as a tagset with empty values. */
static bool
read_unset(struct ctl_conn *c, const struct ctl_msg *msg, struct tagset *keys)
{
	const struct cbor_field	*f;
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 itemlen;
	char			 key[TAG_KEY_MAX + 1];
	const char		*why;

	tagset_clear(keys);
	if ((f = ctl_msg_get(msg, "unset")) == NULL)
		return true;
	if (!cbor_array_iter(f->val, f->vallen, &it) || it.items > TAGS_MAX) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "unset: not "
		    "an array of at most %d keys", TAGS_MAX);
		return false;
	}
	while (cbor_iter_next(&it, &item, &itemlen))
		if (!cbor_read_name(item, itemlen, key, sizeof(key),
		    tag_key_valid) || tagset_set(keys, key, "", &why) == -1) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "unset: a key is 1-%d lowercase letters, digits, "
			    "'-', '_' or '.'", TAG_KEY_MAX);
			return false;
		}
	return true;
}

/* The tags of the set argument, each checked. */
static bool
read_set(struct ctl_conn *c, const struct ctl_msg *msg, struct tagset *tags)
{
	const struct cbor_field	*f;
	struct cbor_field	 tf[TAGS_MAX];
	char			 key[TAG_KEY_MAX + 1], value[TAG_VALUE_MAX + 1];
	const char		*why;
	int			 i, n;

	tagset_clear(tags);
	if ((f = ctl_msg_get(msg, "set")) == NULL)
		return true;
	if ((n = cbor_scan_map(f->val, f->vallen, tf, TAGS_MAX)) == -1) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "set: not a "
		    "map of at most %d tags, each key once", TAGS_MAX);
		return false;
	}
	for (i = 0; i < n; i++) {
		if (!tag_key_valid(tf[i].key, tf[i].keylen)) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "set: a key is 1-%d lowercase letters, digits, "
			    "'-', '_' or '.'", TAG_KEY_MAX);
			return false;
		}
		memcpy(key, tf[i].key, tf[i].keylen);
		key[tf[i].keylen] = '\0';
		if (!cbor_read_name(tf[i].val, tf[i].vallen, value,
		    sizeof(value), tag_value_valid)) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "set: %s: a value is text of 0-%d bytes without "
			    "control characters", key, TAG_VALUE_MAX);
			return false;
		}
		if (tagset_set(tags, key, value, &why) == -1) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "set: %s", why);
			return false;
		}
	}
	return true;
}

/*
 * Changes the run-time layer: unset first, then set; all or nothing.
 * The result is the tags op's.
 */
static void
tags_op_set(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct tags	*t = arg;
	struct tagset	 set, unset, now;
	struct tags	 next;
	const char	*k, *v, *why;
	size_t		 off = 0;

	if (!read_set(c, msg, &set) || !read_unset(c, msg, &unset))
		return;
	if (set.n == 0 && unset.n == 0) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "set or "
		    "unset: nothing to change");
		return;
	}
	next = *t;
	while (tagset_next(&unset, &off, &k, &v)) {
		if (tagset_get(&set, k) != NULL) {
			ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT,
			    "%s: both set and unset", k);
			return;
		}
		(void)tagset_unset(&next.set, k);
		/* At most TAGS_MAX: only configured keys are kept. */
		if (tagset_get(&next.configured, k) != NULL)
			(void)tagset_set(&next.unset, k, "", &why);
	}
	off = 0;
	while (tagset_next(&set, &off, &k, &v)) {
		(void)tagset_unset(&next.unset, k);
		if (tagset_set(&next.set, k, v, &why) == -1) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "%s: %s", k, why);
			return;
		}
	}
	if (effective(&next, &now, false, &why) == -1) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "with the "
		    "configured tags, %s", why);
		return;
	}
	*t = next;
	t->now = now;
	log_info("tags: %s set %d and unset %d: %d tags now", ctl_name(c),
	    set.n, unset.n, now.n);
	gossip_set_tags(t->gossip, &t->now);
	reply_tags(c, msg->id, t);
}

const struct ctl_op tags_ctl_ops[] = {
	{ "set_tags",	CTL_OP_ADMIN,	tags_op_set },
	{ "tags",	0,		tags_op_tags },
	{ NULL,		0,		NULL },
};
