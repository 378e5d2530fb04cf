/*
 * src/engine/test_hooks.h - the library's test hooks: not part of its API.
 *
 * They exist only in uinotify_testing, the static library the tests link
 * (src/engine/alloc.c built with UIN_TEST_HOOKS); the installed libraries,
 * shared and static, have none of them, and their allocator makes no count
 * of its calls.
 */
#ifndef UIN_ENGINE_TEST_HOOKS_H
#define UIN_ENGINE_TEST_HOOKS_H

#include <stdbool.h>

/* Live objects in this process; all zero once everything is released. */
struct uinotify_debug_counts {
	long handles;
	long watches; /* added and not yet destroyed */
	long inodes;
	long sbs;
	long events;  /* queued instance events (see uinotify/inotify.h) */
	long instances;
};
void uinotify_debug_counts(struct uinotify_debug_counts *c);

/*
 * Allocation failure injection: the n-th allocation from now (1 = the
 * next) fails; with persistent, every allocation from then on fails.
 * n = 0 turns injection off.
 */
void uinotify_debug_fail_alloc(long n, bool persistent);
/* Allocations made since the process started (to size injection loops). */
long uinotify_debug_alloc_calls(void);

#endif
