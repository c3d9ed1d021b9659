/* SPDX-License-Identifier: ISC */
/*
 * heap.h: the process's heap.  A burst of calls keeps the buffers it
 * moves in the heap while it lasts; once it is over, the memory goes
 * back to the system.
 */
#ifndef PEERD_HEAP_H
#define PEERD_HEAP_H

struct event_base;
struct heap_trim;

/* Before the first allocation that matters: at the start of main. */
void			 heap_tune(void);
/* Gives back what a burst left free: now, or every HEAP_TRIM_PERIOD s. */
void			 heap_trim_now(void);
struct heap_trim	*heap_trim_new(struct event_base *);
void			 heap_trim_free(struct heap_trim *);

#endif
