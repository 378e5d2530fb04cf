/*
 * src/sources/loop.c - the process's one event-loop thread.  See loop.h for
 * the contract (lifetime, dispatch lock, fork).
 *
 * Registrations are freed only when no epoll result can still name them: a
 * deleted registration is marked dead at once (callbacks check the mark
 * under the dispatch lock) and moved to a zombie list that the loop thread
 * frees at the top of its next iteration, after the batch that may have
 * named it.  Without a loop thread there is no pending batch, so it is
 * freed on the spot.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "engine/lock.h"
#include "sources/loop.h"

#define MAX_FORK_HOOKS 4
#define BATCH 32
#define MAX_DRAIN 8

struct uin_loop_reg {
	struct uin_loop_reg *next; /* [loop_mu] on L.regs or L.zombies */
	int fd;
	bool is_timer;             /* the fd is ours (a timerfd) */
	unsigned flags;
	uin_loop_cb cb;
	void *arg;
	atomic_bool dead;          /* set under the dispatch lock */
};

static uin_mutex_t loop_mu = UIN_MUTEX_INITIALIZER(UIN_RANK_LOOP);
static uin_mutex_t dispatch_mu = UIN_MUTEX_INITIALIZER(UIN_RANK_DISPATCH);
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static struct {
	int epfd;                       /* [loop_mu] -1 when no thread */
	int evfd;                       /* [loop_mu] wake-up eventfd */
	bool running;                   /* [loop_mu] a thread owns epfd (or
					   will: thread_pending) */
	atomic_bool thread_pending;     /* fork child: epfd made, thread not
					   started yet (see settle_thread) */
	bool inherited;                 /* [loop_mu] fork child: regs, zombies
					   and jobs are the parent's */
	unsigned nregs;                 /* [loop_mu] */
	struct uin_loop_reg *regs;      /* [loop_mu] live */
	struct uin_loop_reg *zombies;   /* [loop_mu] dead, not yet freed */
	struct uin_loop_job *jobs;      /* [loop_mu] FIFO */
	struct uin_loop_job **jobs_tail;
	atomic_uint ndrain;             /* live UIN_LOOP_DRAIN registrations */
	atomic_uint njobs;              /* jobs posted and not yet finished */
	const struct uin_loop_fork_hooks *hooks[MAX_FORK_HOOKS];
	atomic_uint nhooks;             /* written under loop_mu, published
					   after hooks[] (read by prepare) */
} L = {.epfd = -1, .evfd = -1, .jobs_tail = &L.jobs};

/* True while this thread holds dispatch_mu (loop thread or a drainer). */
static __thread bool tls_dispatching;
/* loop.h: every lock of ours held, or waited for, by this thread (here:
 * loop_mu and dispatch_mu taken by an API thread). */
__thread unsigned uin_tls_locks;
/* engine/lock.h's, here beside the others so that the drop-in's static
 * TLS stays small (a definition of its own in lock.c costs its padding). */
__thread unsigned uin_tls_held;
/* The loop thread runs its job list after every round: it needs no wake-up. */
static __thread bool tls_loop_thread;
/* Nesting of uin_loop_dispatch_enter in this thread, and whether the
 * outermost call took the lock. */
static __thread unsigned tls_enter_depth;
static __thread bool tls_enter_took;
/* API threads waiting for dispatch_mu: the loop thread lets them in
 * between two batches instead of taking the lock straight back. */
static atomic_uint api_waiters;

/*
 * Fork state of this process (FORK in loop.h).  fork_pending: a fork
 * child whose sources have not re-armed yet (their rearm hooks run at the
 * first settle).  fork_torn: the fork came from a thread inside the
 * library (a signal handler, or a callback that forks): nothing was
 * quiesced, this process is a copy of a thread in the middle of our code
 * and must exec or _exit, so nothing is re-armed.
 */
static atomic_bool fork_pending, fork_torn;
/* Serialises the first settle of a child with threads of its own. */
static uin_mutex_t settle_mu = UIN_MUTEX_INITIALIZER(UIN_RANK_SETTLE);
/* This thread is settling (SETTLING), and asked not to start the loop
 * thread (NO_THREAD: the drop-in's fork() under a sanitizer, loop.h):
 * registrations then leave it pending.  One byte: the drop-in's static
 * TLS is kept small. */
enum { SETTLING = 1, NO_THREAD = 2 };
static __thread unsigned char tls_settle;

static void atfork_prepare(void);
static void atfork_parent(void);
static void atfork_child(void);

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void inherited_forget_locked(void) UIN_REQUIRES(loop_mu);

static void loop_lock(void) UIN_ACQUIRE(loop_mu)
{
	uin_tls_locks++;
	uin_mutex_lock(&loop_mu);
	if (__builtin_expect(L.inherited, 0))
		inherited_forget_locked();
}

static void loop_unlock(void) UIN_RELEASE(loop_mu)
{
	uin_mutex_unlock(&loop_mu);
	uin_tls_locks--;
}

static void wake_locked(void)
	UIN_REQUIRES(loop_mu)
{
	uin_assert_held(&loop_mu);
	if (L.evfd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(L.evfd, &one, sizeof one);
		(void)r; /* EAGAIN: the counter is already non-zero */
	}
}

static void free_zombies_locked(void)
	UIN_REQUIRES(loop_mu)
{
	uin_assert_held(&loop_mu);
	while (L.zombies) {
		struct uin_loop_reg *z = L.zombies;
		L.zombies = z->next;
		uin_free(z);
	}
}

/*
 * A fork child's first lock of loop_mu: the registrations, zombies and
 * jobs are the parent's (their fds are the sources', which forgot or
 * closed them in their child hooks; a timerfd is ours to close).  Done
 * here rather than in the child handler, which must not free.
 */
static void inherited_forget_locked(void)
	UIN_REQUIRES(loop_mu)
{
	uin_assert_held(&loop_mu);
	L.inherited = false;
	while (L.regs) {
		struct uin_loop_reg *r = L.regs;
		L.regs = r->next;
		if (r->is_timer)
			close(r->fd);
		uin_free(r);
	}
	free_zombies_locked();
	L.nregs = 0;
	atomic_store(&L.ndrain, 0);
	atomic_store(&L.njobs, 0);
	for (struct uin_loop_job *j = L.jobs; j; j = j->next)
		j->queued = false;
	L.jobs = NULL;
	L.jobs_tail = &L.jobs;
}

static void run_jobs(void)
{
	loop_lock();
	struct uin_loop_job *list = L.jobs;
	L.jobs = NULL;
	L.jobs_tail = &L.jobs;
	loop_unlock();
	while (list) {
		struct uin_loop_job *j = list;
		/* Unqueue under the mutex before running: fn, or another
		 * thread, may post j again, which rewrites j->next. */
		loop_lock();
		list = j->next;
		j->queued = false;
		loop_unlock();
		j->fn(j);
		atomic_fetch_sub(&L.njobs, 1);
	}
}

static void *loop_main(void *unused)
{
	(void)unused;
	tls_loop_thread = true;
	struct epoll_event evs[BATCH];
	for (;;) {
		loop_lock();
		free_zombies_locked();
		if (L.nregs == 0 && !L.jobs) {
			/* Idle: stop, and leave no fd behind. */
			close(L.epfd);
			close(L.evfd);
			L.epfd = L.evfd = -1;
			L.running = false;
			loop_unlock();
			return NULL;
		}
		int ep = L.epfd;
		bool have_jobs = L.jobs != NULL;
		loop_unlock();

		int n = epoll_wait(ep, evs, BATCH, have_jobs ? 0 : -1);
		if (n < 0)
			n = 0; /* EINTR: every signal is blocked, but be safe */

		/* A mutex is not fair: an API thread that waits for the
		 * dispatch lock (add_watch, read) would lose every race
		 * against this loop, so give way while one waits. */
		for (int spins = 0;
		     atomic_load_explicit(&api_waiters, memory_order_relaxed) &&
		     spins < 1000;
		     spins++)
			sched_yield();
		uin_mutex_lock(&dispatch_mu);
		tls_dispatching = true;
		for (int i = 0; i < n; i++) {
			struct uin_loop_reg *reg = evs[i].data.ptr;
			if (!reg) {
				uint64_t v;
				loop_lock();
				ssize_t r = read(L.evfd, &v, sizeof v);
				loop_unlock();
				(void)r;
				continue;
			}
			if (atomic_load(&reg->dead))
				continue;
			if (reg->is_timer) {
				uint64_t expirations;
				if (read(reg->fd, &expirations,
					 sizeof expirations) !=
				    sizeof expirations)
					continue; /* re-armed meanwhile */
			}
			reg->cb(reg->arg, evs[i].events);
		}
		run_jobs();
		tls_dispatching = false;
		uin_mutex_unlock(&dispatch_mu);
	}
}

int uin_thread_spawn(void *(*fn)(void *), const char *name,
		     size_t stack_size)
{
	/* Our threads must never run an application's signal handler. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack_size)
		pthread_attr_setstacksize(&attr, stack_size);
	pthread_t t;
	int err = pthread_create(&t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(t, name);
	return 0;
}

/* Start the thread that owns L.epfd.  Under loop_mu. */
static int start_thread_locked(void)
	UIN_REQUIRES(loop_mu)
{
	uin_assert_held(&loop_mu);
	int err = uin_thread_spawn(loop_main, "uinotify-loop", 0);
	if (err)
		return err;
	atomic_store(&L.thread_pending, false);
	return 0;
}

/* Create the epoll fd and the thread if there are none.  Under loop_mu. */
static int ensure_running_locked(void)
	UIN_REQUIRES(loop_mu)
{
	uin_assert_held(&loop_mu);
	pthread_once(&fork_once, register_atfork);
	if (L.running) {
		if (atomic_load(&L.thread_pending) && !(tls_settle & NO_THREAD))
			return start_thread_locked();
		return 0;
	}
	int ep = UIN_SYS_RETRY("loop.epoll_create1",
			       epoll_create1(EPOLL_CLOEXEC));
	if (ep < 0)
		return -errno;
	int ev = UIN_SYS_RETRY("loop.eventfd",
			       eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (ev < 0) {
		int e = -errno;
		close(ep);
		return e;
	}
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	if (UIN_SYS_RETRY("loop.epoll_ctl.eventfd",
			  epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e)) < 0) {
		int err = -errno;
		close(ev);
		close(ep);
		return err;
	}
	if (tls_settle & NO_THREAD) {
		atomic_store(&L.thread_pending, true);
	} else {
		int err = start_thread_locked();
		if (err) {
			close(ev);
			close(ep);
			return err;
		}
	}
	L.epfd = ep;
	L.evfd = ev;
	L.running = true;
	return 0;
}

static int add_reg(int fd, uint32_t events, unsigned flags, bool is_timer,
		   uin_loop_cb cb, void *arg, struct uin_loop_reg **out)
{
	struct uin_loop_reg *reg = uin_calloc(1, sizeof *reg);
	if (!reg)
		return -ENOMEM;
	reg->fd = fd;
	reg->is_timer = is_timer;
	reg->flags = flags;
	reg->cb = cb;
	reg->arg = arg;
	atomic_init(&reg->dead, false);

	loop_lock();
	int err = ensure_running_locked();
	if (!err) {
		struct epoll_event e = {.events = events, .data.ptr = reg};
		if (UIN_SYS_RETRY("loop.epoll_ctl.add",
				  epoll_ctl(L.epfd, EPOLL_CTL_ADD, fd, &e)) < 0)
			err = -errno;
	}
	if (err) {
		/* A thread started for nothing stops by itself. */
		wake_locked();
		loop_unlock();
		uin_free(reg);
		return err;
	}
	reg->next = L.regs;
	L.regs = reg;
	L.nregs++;
	if (flags & UIN_LOOP_DRAIN)
		atomic_fetch_add(&L.ndrain, 1);
	loop_unlock();
	*out = reg;
	return 0;
}

int uin_loop_add_fd(int fd, uint32_t events, unsigned flags, uin_loop_cb cb,
		    void *arg, struct uin_loop_reg **out)
{
	if (fd < 0 || !cb || !out)
		return -EINVAL;
	return add_reg(fd, events, flags, false, cb, arg, out);
}

int uin_loop_add_timer(uin_loop_cb cb, void *arg, struct uin_loop_reg **out)
{
	if (!cb || !out)
		return -EINVAL;
	int fd = UIN_SYS_RETRY("loop.timerfd_create",
			       timerfd_create(CLOCK_MONOTONIC,
					      TFD_NONBLOCK | TFD_CLOEXEC));
	if (fd < 0)
		return -errno;
	int err = add_reg(fd, EPOLLIN, 0, true, cb, arg, out);
	if (err)
		close(fd);
	return err;
}

int uin_loop_timer_set(struct uin_loop_reg *reg, uint64_t first_ns,
		       uint64_t interval_ns)
{
	if (!reg || !reg->is_timer)
		return -EINVAL;
	struct itimerspec its = {
		.it_value = {(time_t)(first_ns / 1000000000u),
			     (long)(first_ns % 1000000000u)},
		.it_interval = {(time_t)(interval_ns / 1000000000u),
				(long)(interval_ns % 1000000000u)},
	};
	if (timerfd_settime(reg->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

/* The analysis cannot follow a lock taken or not (take). */
void uin_loop_del(struct uin_loop_reg *reg) UIN_NO_TSA
{
	if (!reg)
		return;
	bool take = !tls_dispatching;
	if (take) {
		uin_tls_locks++;
		uin_mutex_lock(&dispatch_mu);
	}
	loop_lock();
	struct uin_loop_reg **pp = &L.regs;
	while (*pp && *pp != reg)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = reg->next;
		L.nregs--;
		if (reg->flags & UIN_LOOP_DRAIN)
			atomic_fetch_sub(&L.ndrain, 1);
		if (L.epfd >= 0)
			epoll_ctl(L.epfd, EPOLL_CTL_DEL, reg->fd, NULL);
		atomic_store(&reg->dead, true);
		if (reg->is_timer)
			close(reg->fd);
		if (L.running) {
			reg->next = L.zombies;
			L.zombies = reg;
			if (L.nregs == 0)
				wake_locked(); /* let the thread see it is idle */
		} else {
			uin_free(reg);
		}
	}
	loop_unlock();
	if (take) {
		uin_mutex_unlock(&dispatch_mu);
		uin_tls_locks--;
	}
}

int uin_loop_post(struct uin_loop_job *job)
{
	loop_lock();
	if (job->queued) {
		loop_unlock();
		return 0;
	}
	int err = ensure_running_locked();
	if (!err) {
		job->next = NULL;
		job->queued = true;
		atomic_fetch_add(&L.njobs, 1);
		*L.jobs_tail = job;
		L.jobs_tail = &job->next;
		if (!tls_loop_thread)
			wake_locked();
	}
	loop_unlock();
	return err;
}

/* Fork: the child's first use ----------------------------------------------
 * (FORK in loop.h.)  The child handler only marks the child (fork_pending)
 * and puts our locks right; the first drain or dispatch_enter in the
 * child, called with no uinotify lock held, runs the sources' rearm
 * hooks here.  Threads of the child that arrive meanwhile wait for it on
 * settle_mu (they hold no uinotify lock either); the rearm hooks' own
 * calls into the loop, and the loop thread they start, pass through.
 */
static unsigned fork_nhooks; /* the hooks the fork handlers ran */

static void settle_slow(bool start_thread)
{
	if (atomic_load(&fork_pending) && !tls_loop_thread &&
	    !(tls_settle & SETTLING)) {
		uin_mutex_lock(&settle_mu);
		if (atomic_load(&fork_pending)) {
			tls_settle = SETTLING | (start_thread ? 0 : NO_THREAD);
			for (unsigned i = 0; i < fork_nhooks; i++)
				if (L.hooks[i]->rearm)
					L.hooks[i]->rearm();
			tls_settle = 0;
			atomic_store(&fork_pending, false);
		}
		uin_mutex_unlock(&settle_mu);
	}
	if (start_thread && !(tls_settle & SETTLING) &&
	    atomic_load(&L.thread_pending)) {
		loop_lock();
		(void)ensure_running_locked(); /* else at the next call */
		loop_unlock();
	}
}

/* One load or two on the way of every drain and dispatch_enter. */
static inline void settle(void)
{
	if (__builtin_expect(
		    atomic_load_explicit(&fork_pending, memory_order_acquire) ||
			    atomic_load_explicit(&L.thread_pending,
						 memory_order_relaxed),
		    0))
		settle_slow(true);
}

void uin_loop_fork_settle(bool start_thread)
{
	settle_slow(start_thread);
}

bool uin_loop_fork_torn(void)
{
	return atomic_load(&fork_torn);
}

/* Under the dispatch lock. */
static void run_drains_locked(void)
	UIN_REQUIRES(dispatch_mu)
{
	uin_assert_held(&dispatch_mu);
	if (atomic_load_explicit(&L.ndrain, memory_order_acquire) == 0)
		return;
	/* Registrations cannot be freed while we hold the dispatch lock: a
	 * deletion from another thread waits for it, and the loop thread
	 * frees only registrations deleted before its batch. */
	struct uin_loop_reg *snap[MAX_DRAIN];
	int n = 0;
	loop_lock();
	for (struct uin_loop_reg *r = L.regs; r && n < MAX_DRAIN; r = r->next)
		if (r->flags & UIN_LOOP_DRAIN)
			snap[n++] = r;
	loop_unlock();
	for (int i = 0; i < n; i++)
		if (!atomic_load(&snap[i]->dead))
			snap[i]->cb(snap[i]->arg, EPOLLIN);
}

static void dispatch_lock(void)
	UIN_ACQUIRE(dispatch_mu)
{
	atomic_fetch_add(&api_waiters, 1);
	uin_tls_locks++;
	uin_mutex_lock(&dispatch_mu);
	atomic_fetch_sub(&api_waiters, 1);
	tls_dispatching = true;
}

static void dispatch_unlock(void)
	UIN_RELEASE(dispatch_mu)
{
	tls_dispatching = false;
	uin_mutex_unlock(&dispatch_mu);
	uin_tls_locks--;
}

void uin_loop_drain(void)
{
	settle();
	/* With no source to drain, a round in progress may still owe the
	 * readiness bytes of what it delivered (its jobs): wait for those. */
	if ((atomic_load_explicit(&L.ndrain, memory_order_acquire) == 0 &&
	     atomic_load_explicit(&L.njobs, memory_order_acquire) == 0) ||
	    tls_dispatching)
		return;
	dispatch_lock();
	run_drains_locked();
	/* The round ends here as the loop thread's do: with its jobs, the
	 * readiness bytes the events deferred among them (instance/queue.c,
	 * signal_locked), so that a poll after this call sees them; and the
	 * jobs those post (a death's IN_IGNORED, then its bytes), a few
	 * rounds at most. */
	for (int round = 0; round < 4; round++) {
		loop_lock();
		bool more = L.jobs != NULL;
		loop_unlock();
		if (!more)
			break;
		run_jobs();
	}
	dispatch_unlock();
}

/* Held from enter to exit, and only by the outermost call: not for the
 * analysis. */
void uin_loop_dispatch_enter(void) UIN_NO_TSA
{
	if (tls_enter_depth == 0)
		settle();
	if (tls_enter_depth++ == 0) {
		/* On the loop thread, or in a drain, the lock is ours already. */
		tls_enter_took = !tls_dispatching;
		if (tls_enter_took) {
			dispatch_lock();
			run_drains_locked();
		}
	}
}

void uin_loop_dispatch_exit(void) UIN_NO_TSA
{
	if (--tls_enter_depth == 0 && tls_enter_took) {
		tls_enter_took = false;
		dispatch_unlock();
	}
}

/* tls_dispatching says whether this thread holds the dispatch lock. */
void uin_loop_run_drains(void) UIN_NO_TSA
{
	if (tls_dispatching)
		run_drains_locked();
}

bool uin_loop_in_dispatch(void)
{
	return tls_dispatching;
}

void uin_loop_assert_dispatch_(const char *fn)
{
#ifdef UIN_LOCK_CHECKS
	uin_lock_check_held(&dispatch_mu, fn);
#else
	(void)fn;
#endif
}

bool uin_loop_running(void)
{
	loop_lock();
	bool r = L.running;
	loop_unlock();
	return r;
}

int uin_loop_register_fork_hooks(const struct uin_loop_fork_hooks *hooks)
{
	pthread_once(&fork_once, register_atfork);
	loop_lock();
	int err = 0;
	unsigned n = atomic_load(&L.nhooks);
	if (n == MAX_FORK_HOOKS) {
		err = -ENOSPC;
	} else {
		L.hooks[n] = hooks;
		atomic_store(&L.nhooks, n + 1);
	}
	loop_unlock();
	return err;
}

/* Fork: the handlers ---------------------------------------------------------
 * O(1), no allocation, no callback, no loop over registrations or watches.
 * Order: dispatch lock, then each source's prepare (its own locks, which
 * rank below the dispatch lock), then loop_mu.  L.hooks only grows, its
 * count published after the entry; a source registered concurrently with
 * the fork may be missed, whose locks then stay untaken - harmless for a
 * source that has done nothing yet.
 *
 * A thread that holds (or waits for) one of those locks forks only from a
 * signal handler or a callback: waiting for them could deadlock (the
 * holder may wait for this thread), so then nothing is taken and the
 * child is torn (fork_torn): a copy of a thread in the middle of our code,
 * which must exec or _exit.  Its copies of our kernel-side descriptors
 * are still closed, so that nothing it does can change the parent's epoll
 * set or steal the parent's events.
 */
static bool fork_quiesced;

bool uin_loop_held_here(void)
{
	if (uin_tls_locks || tls_dispatching || (tls_settle & SETTLING))
		return true;
	return false;
}

/* The fork handlers hold the locks from prepare to parent or child. */
static void atfork_prepare(void) UIN_NO_TSA
{
	fork_nhooks = atomic_load(&L.nhooks);
	fork_quiesced = !uin_loop_held_here();
	if (!fork_quiesced)
		return;
	uin_mutex_lock(&dispatch_mu);
	for (unsigned i = 0; i < fork_nhooks; i++)
		if (L.hooks[i]->prepare)
			L.hooks[i]->prepare();
	uin_mutex_lock(&loop_mu);
}

static void atfork_parent(void) UIN_NO_TSA
{
	if (!fork_quiesced)
		return;
	uin_mutex_unlock(&loop_mu);
	for (unsigned i = fork_nhooks; i-- > 0;)
		if (L.hooks[i]->parent)
			L.hooks[i]->parent();
	uin_mutex_unlock(&dispatch_mu);
}

static void atfork_child(void) UIN_NO_TSA
{
	/* The child's copies; the parent's epoll set stays as it is. */
	if (L.epfd >= 0)
		close(L.epfd);
	if (L.evfd >= 0)
		close(L.evfd);
	L.epfd = L.evfd = -1;
	L.running = false;
	atomic_store(&L.thread_pending, false);
	if (fork_quiesced)
		uin_tls_held = 0; /* lock.h: the child's locks are new */
	if (!fork_quiesced) {
		atomic_store(&fork_torn, true);
		for (unsigned i = 0; i < fork_nhooks; i++)
			if (L.hooks[i]->child)
				L.hooks[i]->child(false);
		return;
	}
	/* One thread, this one, which holds both mutexes. */
	uin_mutex_reinit(&loop_mu);
	uin_mutex_reinit(&dispatch_mu);
	uin_mutex_reinit(&settle_mu);
	L.inherited = true; /* forgotten at the first loop_lock */
	atomic_store(&L.ndrain, 0);
	atomic_store(&api_waiters, 0); /* those threads are not in the child */
	for (unsigned i = 0; i < fork_nhooks; i++)
		if (L.hooks[i]->child)
			L.hooks[i]->child(true);
	atomic_store(&fork_pending, fork_nhooks > 0);
}
