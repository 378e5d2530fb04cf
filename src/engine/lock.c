/*
 * src/engine/lock.c - the checks behind engine/lock.h (UIN_LOCK_CHECKS).
 *
 * Each thread's held locks are a stack in a slot of a static table,
 * reached through a pthread key rather than __thread: the library's static
 * TLS stays what a release build has (tests/test_abi_exports.c), and the
 * slot is freed when the thread exits.  Nothing is allocated nor mapped:
 * locks are taken in allocation failure paths, fork handlers and the
 * drop-in's interposers, and a mapping made behind a program's back may
 * fill a hole it relies on (tests/test_instance_efault.c).  A thread that
 * finds no free slot, or holds more than HELD_DEPTH locks, keeps the owner
 * checks and loses only part of the order check.  A fork child keeps the
 * slots of its parent's other threads: it has fewer to give out.
 */
#include "engine/lock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool uin_lock_checks_enabled(void)
{
#ifdef UIN_LOCK_CHECKS
	return true;
#else
	return false;
#endif
}

#ifdef UIN_LOCK_CHECKS

#define HELD_THREADS 128
#define HELD_DEPTH 64

struct held {
	atomic_bool taken;
	unsigned n;
	uin_mutex_t *m[HELD_DEPTH];
};

static struct held held_slots[HELD_THREADS];
static pthread_key_t held_key;
static bool held_key_ok;
static pthread_once_t held_once = PTHREAD_ONCE_INIT;

static const char *const rank_names[UIN_RANK_COUNT] = {
	[UIN_RANK_NONE] = "unranked",
	[UIN_RANK_RUN_REPLAY] = "run replay",
	[UIN_RANK_RUN_INSTALL] = "run install",
	[UIN_RANK_RUN_TABLE] = "run table",
	[UIN_RANK_RUN_READ] = "run instance read",
	[UIN_RANK_PRELOAD_FD] = "drop-in fd",
	[UIN_RANK_PRELOAD_FIXUP] = "drop-in fork fixup",
	[UIN_RANK_SETTLE] = "fork settle",
	[UIN_RANK_DISPATCH] = "dispatch",
	[UIN_RANK_ADD] = "instance add",
	[UIN_RANK_INODE] = "inode",
	[UIN_RANK_HANDLE] = "handle",
	[UIN_RANK_QUEUE] = "instance queue",
	[UIN_RANK_SOURCES] = "sources",
	[UIN_RANK_NONE_SRC] = "none-source",
	[UIN_RANK_SB] = "superblock",
	[UIN_RANK_LOOP] = "loop",
	[UIN_RANK_SCAN_WAIT] = "scanner wait",
	[UIN_RANK_SCAN_POOL] = "scanner pool",
	[UIN_RANK_HANDLES] = "handle registry",
	[UIN_RANK_REG] = "instance registry",
	[UIN_RANK_RUN_QUEUE] = "run queue",
	[UIN_RANK_PRELOAD_HIGH] = "drop-in high-names",
	[UIN_RANK_RUN_WARN] = "run warn-once",
};

const char *uin_lock_rank_name(int rank)
{
	if (rank < 0 || rank >= UIN_RANK_COUNT || !rank_names[rank])
		return "?";
	return rank_names[rank];
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt,
								 ...)
{
	char line[512];
	int len = snprintf(line, sizeof line, "uinotify: lock check: ");
	va_list ap;
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	ssize_t r = write(2, line, (size_t)len);
	(void)r;
	abort();
}

/* At thread exit: the slot is free for another thread. */
static void held_free(void *p)
{
	struct held *h = p;
	h->n = 0;
	atomic_store(&h->taken, false);
}

static void held_key_create(void)
{
	held_key_ok = pthread_key_create(&held_key, held_free) == 0;
}

static struct held *held_get(bool create)
{
	pthread_once(&held_once, held_key_create);
	if (!held_key_ok)
		return NULL;
	struct held *h = pthread_getspecific(held_key);
	if (h || !create)
		return h;
	for (size_t i = 0; i < HELD_THREADS; i++) {
		bool no = false;
		if (atomic_compare_exchange_strong(&held_slots[i].taken, &no,
						   true)) {
			h = &held_slots[i];
			h->n = 0;
			if (pthread_setspecific(held_key, h) != 0) {
				atomic_store(&h->taken, false);
				return NULL;
			}
			return h;
		}
	}
	return NULL;
}

static unsigned long self(void)
{
	return (unsigned long)pthread_self();
}

static void held_remove(struct held *h, const uin_mutex_t *m)
{
	if (!h)
		return;
	for (unsigned i = h->n; i-- > 0;) {
		if (h->m[i] == m) {
			memmove(&h->m[i], &h->m[i + 1],
				(h->n - i - 1) * sizeof h->m[0]);
			h->n--;
			return;
		}
	}
}

void uin_lock_check_acquire(uin_mutex_t *m, int mode, const char *fn)
{
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == self())
		die("%s: takes the %s lock, which this thread holds already",
		    fn, uin_lock_rank_name(m->rank));
	if (m->rank == UIN_RANK_NONE)
		return;
	struct held *h = held_get(false);
	for (unsigned i = 0; h && i < h->n; i++) {
		int r = h->m[i]->rank;
		if (r == UIN_RANK_NONE || r < m->rank ||
		    (r == m->rank && mode == UIN_LOCK_NESTED))
			continue;
		die("%s: takes the %s lock (rank %d) while holding the %s lock "
		    "(rank %d): the documented order is the other way round",
		    fn, uin_lock_rank_name(m->rank), m->rank,
		    uin_lock_rank_name(r), r);
	}
}

void uin_lock_note_acquired(uin_mutex_t *m)
{
	__atomic_store_n(&m->owner, self(), __ATOMIC_RELAXED);
	struct held *h = held_get(true);
	if (h && h->n < sizeof h->m / sizeof h->m[0])
		h->m[h->n++] = m;
}

void uin_lock_check_release(uin_mutex_t *m, const char *fn)
{
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != self())
		die("%s: unlocks the %s lock, which this thread does not hold",
		    fn, uin_lock_rank_name(m->rank));
	__atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
	held_remove(held_get(false), m);
}

void uin_lock_check_held(const uin_mutex_t *m, const char *fn)
{
	if (!m)
		die("%s", fn);
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != self())
		die("%s: the %s lock is not held by this thread", fn,
		    uin_lock_rank_name(m->rank));
}

void uin_lock_forget(uin_mutex_t *m)
{
	__atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
	held_remove(held_get(false), m);
}

#endif
