/*
 * src/engine/fault.c - system call failure injection (engine/fault.h), in
 * uinotify_testing only (built with UIN_TEST_HOOKS; the installed
 * libraries do not have this file).
 *
 * The points are the records the section uin_fault_points holds pointers
 * to: every UIN_FP of every object linked, reached or not.  One injection
 * is armed at a time: the n-th call from now at one point (or at any point,
 * point == NULL) fails with err, and with persistent every call there from
 * then on.  Beside it, up to MAX_ALWAYS points fail at every call (the
 * path behind a failure, walked with another point failing too).  All
 * state is atomic: points are hit on the loop thread, the scanner's pool
 * and the caller's threads alike.
 *
 * A program run under the drop-in's test build (uinotify-preload-testing)
 * arms these through the environment (uin_fault_from_env) and leaves its
 * counts in a file at exit.
 */
#include "engine/fault.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define MAX_ALWAYS 4
static struct {
	_Atomic(struct uin_fault_point *) point;
	atomic_int err;
} always[MAX_ALWAYS];

int uin_fault_hit(struct uin_fault_point *p)
{
	long own = atomic_fetch_add(&p->calls, 1) + 1;
	long any = atomic_fetch_add(&all_calls, 1) + 1;
	for (int i = 0; i < MAX_ALWAYS; i++) {
		int err = atomic_load(&always[i].err);
		if (err && atomic_load(&always[i].point) == p) {
			atomic_fetch_add(&p->failed, 1);
			return err;
		}
	}
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

int uinotify_debug_fail_always(long point_index, int err)
{
	struct uin_fault_point *p = point_index >= 0
					    ? point((size_t)point_index)
					    : NULL;
	if (!p)
		return -1;
	int free_slot = -1;
	for (int i = 0; i < MAX_ALWAYS; i++) {
		if (atomic_load(&always[i].point) == p) {
			atomic_store(&always[i].err, err);
			return 0;
		}
		if (free_slot < 0 && !atomic_load(&always[i].point))
			free_slot = i;
	}
	if (!err)
		return 0;
	if (free_slot < 0)
		return -1;
	atomic_store(&always[free_slot].err, 0);
	atomic_store(&always[free_slot].point, p);
	atomic_store(&always[free_slot].err, err);
	return 0;
}

/*
 * UINOTIFY_TEST_FAULT="point:nth:errno[,point:nth:errno...]" (errno as a
 * number): the nth call at point from now fails with errno; nth 0 means
 * every call (fail_always).  One nth > 0 at most: the last one wins.
 * A spec that names no point is reported on stderr and ignored.
 */
void uin_fault_from_env(void)
{
	const char *v = getenv("UINOTIFY_TEST_FAULT");
	while (v && *v) {
		const char *end = strchr(v, ',');
		size_t len = end ? (size_t)(end - v) : strlen(v);
		char spec[256];
		if (len < sizeof spec) {
			memcpy(spec, v, len);
			spec[len] = '\0';
			char *c2 = strrchr(spec, ':');
			char *c1 = c2 ? memrchr(spec, ':', (size_t)(c2 - spec))
				      : NULL;
			long i = -1;
			if (c1) {
				*c1 = *c2 = '\0';
				i = uinotify_debug_fault_find(spec);
			}
			if (i < 0) {
				fprintf(stderr, "UINOTIFY_TEST_FAULT: no point "
						"in \"%.*s\"\n",
					(int)len, v);
			} else {
				long nth = strtol(c1 + 1, NULL, 10);
				int err = (int)strtol(c2 + 1, NULL, 10);
				if (nth > 0)
					uinotify_debug_fail_syscall(i, nth, err,
								    false);
				else
					uinotify_debug_fail_always(i, err);
			}
		}
		v = end ? end + 1 : NULL;
	}
}

/* Appended to UINOTIFY_TEST_FAULT_REPORT: "pid name calls failed" lines. */
static void report_at_exit(void)
{
	const char *path = getenv("UINOTIFY_TEST_FAULT_REPORT");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	size_t n = uinotify_debug_fault_points();
	for (size_t i = 0; i < n; i++)
		dprintf(fd, "%d %s %ld %ld\n", (int)getpid(),
			uinotify_debug_fault_name(i),
			uinotify_debug_fault_calls(i),
			uinotify_debug_fault_failed(i));
	close(fd);
}

void uin_fault_report_at_exit(void)
{
	atexit(report_at_exit);
}
