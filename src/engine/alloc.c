/*
 * src/engine/alloc.c - allocation, and with UIN_TEST_HOOKS (the tests'
 * build of the library, uinotify_testing) failure injection and the debug
 * counters of engine/test_hooks.h.
 */
#include "engine/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "engine/test_hooks.h"

#ifndef UIN_TEST_HOOKS
#define injected_failure() 0
#else
atomic_long uin_counters[UIN_COUNT_MAX];
static atomic_long alloc_calls;
static atomic_long fail_at;      /* 0: off; else the call number to fail */
static atomic_bool fail_persist; /* keep failing after fail_at */

static int injected_failure(void)
{
	long n = atomic_fetch_add_explicit(&alloc_calls, 1,
					   memory_order_relaxed) + 1;
	long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
	if (at == 0 || n < at)
		return 0;
	return n == at || atomic_load_explicit(&fail_persist,
					       memory_order_relaxed);
}
#endif

void *uin_malloc(size_t size)
{
	return injected_failure() ? NULL : malloc(size ? size : 1);
}

void *uin_calloc(size_t n, size_t size)
{
	return injected_failure() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *uin_realloc(void *p, size_t size)
{
	return injected_failure() ? NULL : realloc(p, size ? size : 1);
}

char *uin_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = uin_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void uin_free(void *p)
{
	free(p);
}

#ifdef UIN_TEST_HOOKS
void uinotify_debug_fail_alloc(long n, bool persistent)
{
	atomic_store(&fail_persist, persistent);
	atomic_store(&fail_at, n > 0 ? atomic_load(&alloc_calls) + n : 0);
}

long uinotify_debug_alloc_calls(void)
{
	return atomic_load(&alloc_calls);
}

void uinotify_debug_counts(struct uinotify_debug_counts *c)
{
	c->handles = atomic_load(&uin_counters[UIN_COUNT_HANDLES]);
	c->watches = atomic_load(&uin_counters[UIN_COUNT_WATCHES]);
	c->inodes = atomic_load(&uin_counters[UIN_COUNT_INODES]);
	c->sbs = atomic_load(&uin_counters[UIN_COUNT_SBS]);
	c->events = atomic_load(&uin_counters[UIN_COUNT_EVENTS]);
	c->instances = atomic_load(&uin_counters[UIN_COUNT_INSTANCES]);
}
#endif
