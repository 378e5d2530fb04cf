/*
 * src/engine/lock.h - the mutex every lock of the library, the drop-in
 * library and uinotify-run is, so that the rules stated at the tops of the
 * files ("LOCKS, in this order", "under the sources lock") are checked
 * rather than only written down.
 *
 * RANKS.  Each mutex has the rank of its place in the documented order
 * (enum uin_lock_rank, outermost first): a thread takes locks in
 * increasing rank.  Two mutexes of one rank are never held together,
 * except through uin_mutex_lock_nested, whose callers say why no other
 * thread can take the same two the other way round.  Nothing takes locks
 * against the order, the fork handlers included (FORK FROM INSIDE, below).
 *
 * CHECKS (UIN_LOCK_CHECKS: Debug builds, or -DUINOTIFY_LOCK_CHECKS=ON).
 * Each mutex records its owner; each thread keeps the stack of what it
 * holds (lock.c).  The process aborts, with a line on stderr naming the
 * locks, when a thread takes a lock of a rank at or below one it holds,
 * takes a lock it holds, unlocks one it does not hold, or when
 * uin_assert_held (at the top of every *_locked function, and of every
 * function documented "under X") finds the lock not held by the calling
 * thread.  Without UIN_LOCK_CHECKS the wrapper is a pthread_mutex_t and
 * every call is the pthread call: nothing is added to a release build.
 *
 * CLANG.  -Wthread-safety (clang builds) checks statically what the
 * annotations below state: a function marked UIN_REQUIRES(m) called
 * without m, a lock left held at the end of a function.  The macros are
 * empty for other compilers.  (In C, clang cannot resolve guarded_by on a
 * struct field, so only functions are annotated.)
 */
#ifndef UIN_ENGINE_LOCK_H
#define UIN_ENGINE_LOCK_H

#include <pthread.h>
#include <stdbool.h>

#if defined(__clang__)
#define UIN_TSA(x) __attribute__((x))
#else
#define UIN_TSA(x)
#endif
#define UIN_CAPABILITY(name) UIN_TSA(capability(name))
#define UIN_ACQUIRE(...) UIN_TSA(acquire_capability(__VA_ARGS__))
#define UIN_RELEASE(...) UIN_TSA(release_capability(__VA_ARGS__))
#define UIN_REQUIRES(...) UIN_TSA(requires_capability(__VA_ARGS__))
#define UIN_EXCLUDES(...) UIN_TSA(locks_excluded(__VA_ARGS__))
#define UIN_ASSERTS_HELD(...) UIN_TSA(assert_capability(__VA_ARGS__))
/* For the functions whose locking the analysis cannot follow (a lock taken
 * or not depending on a flag, or held across functions): say why. */
#define UIN_NO_TSA UIN_TSA(no_thread_safety_analysis)

/*
 * The documented order, outermost first (the files named own the rule).
 * The library's order is engine/watch.c's, extended by instance/instance.c,
 * sources/loop.h and sources/mounts.h; the drop-in's and uinotify-run's
 * locks come before it because they call the library holding them.
 * Leaves come last: nothing is taken under them.  The loop's fork prepare
 * handler takes dispatch, then sources (the sources' prepare hook), then
 * loop: in this order.
 *
 * FORK FROM INSIDE.  sources/loop.h's uin_tls_locks (the locks this thread
 * holds or waits for, counted by loop_lock, dispatch_lock, the sources
 * lock and the drop-in's fd_lock_take/high_lock_take) tells the fork
 * handlers whether to quiesce; it is kept in every build, the held stacks
 * here only with UIN_LOCK_CHECKS.  The handlers' own locks are taken
 * uncounted (after that test), and a child's uin_mutex_reinit forgets them
 * from the stack.
 */
enum uin_lock_rank {
	UIN_RANK_NONE = 0,   /* unranked: only the held checks */
	/* uinotify-run (src/run) */
	UIN_RANK_RUN_REPLAY, /* serve.c replay_lock */
	UIN_RANK_RUN_INSTALL, /* calls.c install_lock */
	UIN_RANK_RUN_TABLE,  /* instances.c table_lock */
	UIN_RANK_RUN_READ,   /* instances.h ri->read_lock */
	/* the drop-in library (src/preload) */
	UIN_RANK_PRELOAD_FD, /* preload.c fd_lock: around uinotify_* calls */
	UIN_RANK_PRELOAD_FIXUP, /* preload.c fixup_lock: a fork child's pipes,
				   made at its first call on a name */
	/* the library */
	UIN_RANK_SETTLE,     /* sources/loop.c settle_mu: a fork child's first
				settle runs the sources' rearm under it */
	UIN_RANK_DISPATCH,   /* sources/loop.c dispatch lock */
	UIN_RANK_ADD,        /* instance.c inst->add_lock */
	UIN_RANK_INODE,      /* engine inode->lock */
	UIN_RANK_HANDLE,     /* engine handle->lock */
	UIN_RANK_QUEUE,      /* instance.c inst->q_lock (handlers take it) */
	UIN_RANK_SOURCES,    /* sources/mounts.c the sources lock */
	UIN_RANK_NONE_SRC,   /* sources/none.c none_lock */
	UIN_RANK_SB,         /* engine sb->lock */
	UIN_RANK_LOOP,       /* sources/loop.c loop_mu */
	/* leaves */
	UIN_RANK_SCAN_WAIT,  /* sources/scan.c S.wait_mu */
	UIN_RANK_SCAN_POOL,  /* sources/scan_pool.c pool.mu */
	UIN_RANK_HANDLES,    /* engine/watch.c uin_handles_lock */
	UIN_RANK_REG,        /* instance.c reg_lock */
	UIN_RANK_RUN_QUEUE,  /* run/rqueue.c q->lock (under engine locks) */
	UIN_RANK_PRELOAD_HIGH, /* preload.c high_lock */
	UIN_RANK_RUN_WARN,   /* run/serve.c run_warn_once's lock */
	UIN_RANK_COUNT
};

typedef struct UIN_CAPABILITY("mutex") uin_mutex {
	pthread_mutex_t m;
#ifdef UIN_LOCK_CHECKS
	unsigned long owner; /* atomic: pthread_self() of the holder, or 0 */
	int rank;
#endif
} uin_mutex_t;

#ifdef UIN_LOCK_CHECKS
#define UIN_MUTEX_INITIALIZER(r) {PTHREAD_MUTEX_INITIALIZER, 0, (r)}
#else
#define UIN_MUTEX_INITIALIZER(r) {PTHREAD_MUTEX_INITIALIZER}
#endif

/* How uin_mutex_lock_ checks the order (below). */
enum uin_lock_mode { UIN_LOCK_ORDERED, UIN_LOCK_NESTED };

/* Whether this build checks (the tests of the checks skip without). */
bool uin_lock_checks_enabled(void);

#ifdef UIN_LOCK_CHECKS
/* lock.c: each aborts the process with a message on a broken rule. */
void uin_lock_check_acquire(uin_mutex_t *m, int mode, const char *fn);
void uin_lock_note_acquired(uin_mutex_t *m);
void uin_lock_check_release(uin_mutex_t *m, const char *fn);
void uin_lock_check_held(const uin_mutex_t *m, const char *fn);
void uin_lock_forget(uin_mutex_t *m);
const char *uin_lock_rank_name(int rank);
#endif

static inline void uin_mutex_init_(uin_mutex_t *m, int rank)
{
	pthread_mutex_init(&m->m, NULL);
#ifdef UIN_LOCK_CHECKS
	__atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
	m->rank = rank;
#else
	(void)rank;
#endif
}
#define uin_mutex_init(m, rank) uin_mutex_init_((m), (rank))

static inline void uin_mutex_destroy(uin_mutex_t *m)
{
#ifdef UIN_LOCK_CHECKS
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED))
		uin_lock_check_held(NULL, "uin_mutex_destroy of a held lock");
#endif
	pthread_mutex_destroy(&m->m);
}

/*
 * A fork child's handler: the mutex as new (unlocked), whoever held it in
 * the parent.  The calling thread stops counting it as held.
 */
static inline void uin_mutex_reinit(uin_mutex_t *m)
{
	pthread_mutex_init(&m->m, NULL);
#ifdef UIN_LOCK_CHECKS
	uin_lock_forget(m);
#endif
}

#ifdef UIN_LOCK_CHECKS
#define UIN_LOCK_FN_ARGS , const char *fn
#define UIN_LOCK_FN __func__
#else
#define UIN_LOCK_FN_ARGS
#define UIN_LOCK_FN
#endif

/*
 * The uin_mutex locks this thread holds or waits for, in every build: the
 * drop-in's wait calls (poll, epoll_wait...) collect the kernel's events
 * first only when it is 0, so that a signal handler that polls while its
 * thread is inside the library never waits for a lock that thread holds.
 * A fork child's handler sets it to 0 (uin_mutex_reinit forgets nothing
 * here: the child is one thread whose locks were all reinitialised).
 */
extern __thread unsigned uin_tls_held;

static inline void uin_mutex_lock_(uin_mutex_t *m, int mode UIN_LOCK_FN_ARGS)
	UIN_ACQUIRE(m) UIN_NO_TSA;
static inline void uin_mutex_lock_(uin_mutex_t *m, int mode UIN_LOCK_FN_ARGS)
{
	uin_tls_held++;
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_acquire(m, mode, fn);
	pthread_mutex_lock(&m->m);
	uin_lock_note_acquired(m);
#else
	(void)mode;
	pthread_mutex_lock(&m->m);
#endif
}

static inline void uin_mutex_unlock_(uin_mutex_t *m UIN_LOCK_FN_ARGS)
	UIN_RELEASE(m) UIN_NO_TSA;
static inline void uin_mutex_unlock_(uin_mutex_t *m UIN_LOCK_FN_ARGS)
{
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_release(m, fn);
#endif
	pthread_mutex_unlock(&m->m);
	uin_tls_held--;
}

#ifdef UIN_LOCK_CHECKS
#define UIN_LOCK_AT(m, mode) uin_mutex_lock_((m), (mode), __func__)
#define uin_mutex_unlock(m) uin_mutex_unlock_((m), __func__)
#else
#define UIN_LOCK_AT(m, mode) uin_mutex_lock_((m), (mode))
#define uin_mutex_unlock(m) uin_mutex_unlock_((m))
#endif
#define uin_mutex_lock(m) UIN_LOCK_AT((m), UIN_LOCK_ORDERED)
/* A second lock of a rank already held: the caller says why it is safe. */
#define uin_mutex_lock_nested(m) UIN_LOCK_AT((m), UIN_LOCK_NESTED)

/* The calling thread holds m (nothing in a release build). */
static inline void uin_assert_held_(const uin_mutex_t *m UIN_LOCK_FN_ARGS)
	UIN_ASSERTS_HELD(m) UIN_NO_TSA;
static inline void uin_assert_held_(const uin_mutex_t *m UIN_LOCK_FN_ARGS)
{
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_held(m, fn);
#else
	(void)m;
#endif
}
#ifdef UIN_LOCK_CHECKS
#define uin_assert_held(m) uin_assert_held_((m), __func__)
#else
#define uin_assert_held(m) uin_assert_held_((m))
#endif

static inline int uin_cond_wait_(pthread_cond_t *c, uin_mutex_t *m UIN_LOCK_FN_ARGS)
	UIN_REQUIRES(m) UIN_NO_TSA;
static inline int uin_cond_wait_(pthread_cond_t *c, uin_mutex_t *m UIN_LOCK_FN_ARGS)
{
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_release(m, fn);
	int r = pthread_cond_wait(c, &m->m);
	uin_lock_note_acquired(m);
	return r;
#else
	return pthread_cond_wait(c, &m->m);
#endif
}

static inline int uin_cond_timedwait_(pthread_cond_t *c, uin_mutex_t *m,
				      const struct timespec *until UIN_LOCK_FN_ARGS)
	UIN_REQUIRES(m) UIN_NO_TSA;
static inline int uin_cond_timedwait_(pthread_cond_t *c, uin_mutex_t *m,
				      const struct timespec *until UIN_LOCK_FN_ARGS)
{
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_release(m, fn);
	int r = pthread_cond_timedwait(c, &m->m, until);
	uin_lock_note_acquired(m);
	return r;
#else
	return pthread_cond_timedwait(c, &m->m, until);
#endif
}

#ifdef UIN_LOCK_CHECKS
#define uin_cond_wait(c, m) uin_cond_wait_((c), (m), __func__)
#define uin_cond_timedwait(c, m, t) uin_cond_timedwait_((c), (m), (t), __func__)
#else
#define uin_cond_wait(c, m) uin_cond_wait_((c), (m))
#define uin_cond_timedwait(c, m, t) uin_cond_timedwait_((c), (m), (t))
#endif

#endif
