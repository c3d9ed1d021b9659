/* SPDX-License-Identifier: ISC */
/*
 * heap.c: a call of up to a few MiB moves through buffers that are
 * allocated and freed again at once.  glibc would map and unmap each
 * one larger than its threshold, or trim the heap under it, and fault
 * every page in anew for the next call: a third of a daemon's time at
 * 64 KiB, and half of it at 1 MiB with 64 calls in flight.  So buffers
 * stay in the heap, and freeing them does not trim it; every 5 s a
 * timer gives back what is left free (faulted in again at most once a
 * period while calls flow), so that a daemon does not keep its peak for
 * ever.  mallinfo2 is glibc 2.33's.
 */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>

#include "heap.h"

#define HEAP_MMAP_THRESHOLD	(4 << 20)	/* larger blocks are mapped */
#define HEAP_TRIM_THRESHOLD	(64 << 20)	/* free top kept in a burst */
#define HEAP_KEEP		(1 << 20)	/* free top kept when idle */
#define HEAP_TRIM_PERIOD	5		/* s between trims */

struct heap_trim {
	struct event	*timer;
};

void
heap_tune(void)
{
#ifdef __GLIBC__
	(void)mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
#endif
}

/*
 * Trims only when the free top is worth it: malloc_trim also walks the
 * free chunks, and a daemon at rest has next to nothing to give back.
 */
void
heap_trim_now(void)
{
#ifdef __GLIBC__
	if (mallinfo2().keepcost > 2 * HEAP_KEEP)
		(void)malloc_trim(HEAP_KEEP);
#endif
}

#ifdef __GLIBC__
static void
heap_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	heap_trim_now();
}
#endif

struct heap_trim *
heap_trim_new(struct event_base *base)
{
	struct heap_trim	*t;
#ifdef __GLIBC__
	struct timeval		 tv = { HEAP_TRIM_PERIOD, 0 };
#endif

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
#ifdef __GLIBC__
	t->timer = event_new(base, -1, EV_PERSIST, heap_trim_cb, t);
	if (t->timer == NULL || event_add(t->timer, &tv) == -1) {
		heap_trim_free(t);
		return NULL;
	}
#else
	(void)base;
#endif
	return t;
}

void
heap_trim_free(struct heap_trim *t)
{
	if (t == NULL)
		return;
	if (t->timer != NULL)
		event_free(t->timer);
	free(t);
}
