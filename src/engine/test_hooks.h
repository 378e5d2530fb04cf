/*
 * src/engine/test_hooks.h - the library's test hooks: not part of its API.
 *
 * They exist only in uinotify_testing, the static library the tests link
 * (the library's objects built again with UIN_TEST_HOOKS: src/engine/alloc.c,
 * src/engine/fault.c and every injection point of engine/fault.h); the
 * installed libraries, shared and static, have none of them, their
 * allocator makes no count of its calls and their system calls are plain.
 */
#ifndef UIN_ENGINE_TEST_HOOKS_H
#define UIN_ENGINE_TEST_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

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

/*
 * System call failure injection (engine/fault.h).  The points are numbered
 * 0 .. uinotify_debug_fault_points() - 1, in no particular order: every
 * point compiled into the library, reached or not.  Calls and injected
 * failures are counted per point since the process started.
 */
size_t uinotify_debug_fault_points(void);
const char *uinotify_debug_fault_name(size_t i);   /* NULL: no such point */
long uinotify_debug_fault_calls(size_t i);
long uinotify_debug_fault_failed(size_t i);
long uinotify_debug_fault_find(const char *name);  /* its number, or -1 */
/*
 * The n-th call from now (1 = the next) at point i, or at any point for
 * i = -1, fails with err without being made; with persistent, every call
 * there from then on.  n = 0 turns injection off.  -1 if there is no
 * point i.
 */
int uinotify_debug_fail_syscall(long i, long n, int err, bool persistent);
/* Calls at any point since the process started. */
long uinotify_debug_syscall_calls(void);
/*
 * Beside that: every call at point i fails with err from now on (err 0:
 * no more); a few points at once.  -1 if there is no point i or no room.
 */
int uinotify_debug_fail_always(long i, int err);

/*
 * For the drop-in's test build: arm what UINOTIFY_TEST_FAULT asks
 * (engine/fault.c), and append every point's counts to the file
 * UINOTIFY_TEST_FAULT_REPORT names when the process exits.
 */
void uin_fault_from_env(void);
void uin_fault_report_at_exit(void);

#endif
