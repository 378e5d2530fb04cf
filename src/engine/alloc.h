/*
 * src/engine/alloc.h - the library's allocator and its debug counters.
 *
 * Every allocation in the library goes through these so that tests can
 * fail the n-th one (uinotify_debug_fail_alloc, engine/test_hooks.h: in
 * the tests' build only) and check that each failure is an error path,
 * never a crash or a leak.
 */
#ifndef UIN_ENGINE_ALLOC_H
#define UIN_ENGINE_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>

void *uin_malloc(size_t size);
void *uin_calloc(size_t n, size_t size);
void *uin_realloc(void *p, size_t size);
char *uin_strdup(const char *s);
void uin_free(void *p);

/* Live-object counters behind uinotify_debug_counts() (test_hooks.h). */
enum uin_counter {
	UIN_COUNT_HANDLES,
	UIN_COUNT_WATCHES,
	UIN_COUNT_INODES,
	UIN_COUNT_SBS,
	UIN_COUNT_EVENTS,
	UIN_COUNT_INSTANCES,
	UIN_COUNT_MAX
};
/* Counted in the tests' build only: the installed libraries make no
 * atomic add per event, watch or inode for a count nobody can read. */
#ifdef UIN_TEST_HOOKS
extern atomic_long uin_counters[UIN_COUNT_MAX];

static inline void uin_count(enum uin_counter c, long delta)
{
	atomic_fetch_add_explicit(&uin_counters[c], delta,
				  memory_order_relaxed);
}
#else
static inline void uin_count(enum uin_counter c, long delta)
{
	(void)c;
	(void)delta;
}
#endif

#endif
