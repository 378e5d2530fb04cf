/*
 * src/engine/fault.c - system call failure injection (engine/fault.h), in
 * uinotify_testing only (built with UIN_TEST_HOOKS; the installed
 * libraries do not have this file).
 *
 * The points are the records the section uin_fault_points holds pointers
 * to: every UIN_FP of every object linked, reached or not.  One injection
 * is armed at a time: the n-th call from now at one point (or at any point,
 * point == NULL) fails with err, and with persistent every call there from
 * then on.  All state is atomic: points are hit on the loop thread, the
 * scanner's pool and the caller's threads alike.
 */
#include "engine/fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "engine/test_hooks.h"

extern struct uin_fault_point *__start_uin_fault_points[]
	__attribute__((weak));
extern struct uin_fault_point *__stop_uin_fault_points[]
	__attribute__((weak));

static atomic_long all_calls;
static _Atomic(struct uin_fault_point *) fail_point; /* NULL: any point */
static atomic_long fail_at;      /* 0: off; else the call number to fail */
static atomic_int fail_err;
static atomic_bool fail_persist;

int uin_fault_hit(struct uin_fault_point *p)
{
	long own = atomic_fetch_add(&p->calls, 1) + 1;
	long any = atomic_fetch_add(&all_calls, 1) + 1;
	long at = atomic_load(&fail_at);
	if (at == 0)
		return 0;
	struct uin_fault_point *target = atomic_load(&fail_point);
	if (target && target != p)
		return 0;
	long n = target ? own : any;
	if (n < at || (n > at && !atomic_load(&fail_persist)))
		return 0;
	atomic_fetch_add(&p->failed, 1);
	return atomic_load(&fail_err);
}

static struct uin_fault_point *point(size_t i)
{
	if (!__start_uin_fault_points ||
	    i >= (size_t)(__stop_uin_fault_points - __start_uin_fault_points))
		return NULL;
	return __start_uin_fault_points[i];
}

size_t uinotify_debug_fault_points(void)
{
	if (!__start_uin_fault_points)
		return 0;
	return (size_t)(__stop_uin_fault_points - __start_uin_fault_points);
}

const char *uinotify_debug_fault_name(size_t i)
{
	struct uin_fault_point *p = point(i);
	return p ? p->name : NULL;
}

long uinotify_debug_fault_calls(size_t i)
{
	struct uin_fault_point *p = point(i);
	return p ? atomic_load(&p->calls) : -1;
}

long uinotify_debug_fault_failed(size_t i)
{
	struct uin_fault_point *p = point(i);
	return p ? atomic_load(&p->failed) : -1;
}

long uinotify_debug_fault_find(const char *name)
{
	size_t n = uinotify_debug_fault_points();
	for (size_t i = 0; i < n; i++)
		if (!strcmp(point(i)->name, name))
			return (long)i;
	return -1;
}

int uinotify_debug_fail_syscall(long point_index, long n, int err,
				bool persistent)
{
	struct uin_fault_point *p = NULL;
	if (point_index >= 0 && !(p = point((size_t)point_index)))
		return -1;
	atomic_store(&fail_at, 0); /* off while the rest is set */
	atomic_store(&fail_point, p);
	atomic_store(&fail_err, err);
	atomic_store(&fail_persist, persistent);
	if (n > 0 && err > 0)
		atomic_store(&fail_at, (p ? atomic_load(&p->calls)
					  : atomic_load(&all_calls)) + n);
	return 0;
}

long uinotify_debug_syscall_calls(void)
{
	return atomic_load(&all_calls);
}
