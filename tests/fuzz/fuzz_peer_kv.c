/* SPDX-License-Identifier: ISC */
/*
 * fuzz_peer_kv.c: libFuzzer target for what libpeer decodes of the
 * key-value store's replies and changes: the first byte picks the op
 * whose result the rest is (and whether the synchronous functions'
 * copy is made), and the rest is also read as a kv_change message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "peer_int.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const	ops[] = { "kv_get", "kv_put", "kv_del",
				    "kv_merge", "kv_list", "kv_where" };

/* Touches every byte the result points to, so that ASan checks it. */
static size_t
touch_item(const struct peer_kv_item *it)
{
	size_t	n = strlen(it->key) + strlen(it->writer);

	if (it->value != NULL)
		n += it->value[0] + it->value[it->value_len - 1];
	return n;
}

static size_t
touch(const struct peer_kv_result *r)
{
	size_t	i, n = 0;

	if (r->item != NULL)
		n += touch_item(r->item);
	if (r->list != NULL) {
		for (i = 0; i < r->list->nitems; i++)
			n += touch_item(&r->list->items[i]);
		if (r->list->next != NULL)
			n += strlen(r->list->next);
	}
	if (r->where != NULL) {
		n += strlen(r->where->key);
		for (i = 0; i < r->where->nowners; i++)
			n += strlen(r->where->owners[i].node) +
			    strlen(r->where->owners[i].name);
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_kv_result	 r;
	struct peer_kv_change	 c;
	struct peer_error	 err;
	struct ctl_msg		 m;
	volatile size_t		 sink;
	void			*block;
	char			*texts, why[160];

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	if (peer_kv_decode(ops[data[0] % 6], data + 1, size - 1,
	    (data[0] & 0x80) != 0, &block, &r, &err))
		sink = touch(&r);
	free(block);
	if (ctl_msg_decode(data + 1, size - 1, &m, why, sizeof(why)) == 0 &&
	    (texts = malloc(peer_kv_change_room(&m) + 1)) != NULL) {
		if (peer_kv_change_decode(&m, texts, &c))
			sink = strlen(c.prefix) + strlen(c.key) +
			    strlen(c.writer) + (c.value != NULL ?
			    c.value[c.value_len - 1] : 0);
		free(texts);
	}
	(void)sink;
	return 0;
}
