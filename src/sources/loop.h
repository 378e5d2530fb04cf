/*
 * src/sources/loop.h - the one event-loop thread of the process, shared by
 * every source (the kernel source's inotify fd, the scanner's timers).
 *
 * LIFETIME.  Nothing runs until something registers: the first
 * uin_loop_add_fd / uin_loop_add_timer / uin_loop_post starts the thread
 * (created with every signal blocked, detached).  The thread stops by itself
 * once no registration and no job is left, closing its epoll fd and wake-up
 * eventfd; the next registration starts a new one.  A process that watches
 * nothing has no thread and no loop fd.
 *
 * DISPATCH LOCK.  Callbacks and jobs run under the dispatch lock, one at a
 * time, in the loop thread, or in an API thread that calls uin_loop_drain().
 * So a source's callbacks never run concurrently with each other and a
 * source sees its own fd's events in order whichever thread dispatches them.
 * Lock order: dispatch lock -> engine locks -> the sources lock (mounts.h)
 * -> the loop's own mutex.  Callbacks may call the producer hooks.
 *
 * FORK.  The pthread_atfork handlers are O(1): no allocation, no
 * callback, no loop over registrations or watches.  prepare takes the
 * dispatch lock, the sources lock and the loop mutex (a fixed number of
 * locks, as glibc's own handlers do), so the loop thread is never inside
 * a callback (holding an engine lock) at the moment of the fork; it does
 * not deliver what the kernel has queued (the drop-in's fork() does that
 * before calling libc's, outside the handlers).  In the child, the
 * handler closes its copies of the epoll fd and the wake-up eventfd (the
 * parent's epoll set is never touched), re-initialises the locks and
 * marks the child: every registration is forgotten at the child's first
 * lock of the loop, and the sources' rearm hooks run at its first
 * uin_loop_drain or uin_loop_dispatch_enter (every read, FIONREAD,
 * add_watch, rm_watch, close of an instance), or at uin_loop_fork_settle,
 * as libuv's uv_loop_fork() re-arms a loop, which starts the child's
 * own loop thread.
 * A fork from a thread that holds one of those locks (a signal handler
 * that interrupted our code, a callback that forks to spawn a program)
 * takes nothing and does not wait: its child is a copy of a thread inside
 * the library, marked torn (uin_loop_fork_torn), must exec or _exit, and
 * re-arms nothing.  vfork, _Fork and posix_spawn run no handler: their
 * child must exec or _exit (only async-signal-safe calls) and the parent
 * is unaffected.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef UIN_SOURCES_LOOP_H
#define UIN_SOURCES_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct uin_loop_reg;

/* events: the epoll events that fired (EPOLLIN, ...). */
typedef void (*uin_loop_cb)(void *arg, uint32_t events);

/* Registration flags. */
enum {
	/*
	 * uin_loop_drain() runs this callback too (with EPOLLIN), so that an
	 * API call can collect what the fd already holds without waiting for
	 * the loop thread.  The callback must cope with having nothing to read
	 * (EAGAIN).
	 */
	UIN_LOOP_DRAIN = 1u,
};

/*
 * Watch fd (level-triggered) for events; cb(arg, events) runs under the
 * dispatch lock.  The fd stays the caller's.  Starts the loop thread if
 * needed.  0 and *out, or -ENOMEM, -EAGAIN (no thread), an epoll errno.
 */
int uin_loop_add_fd(int fd, uint32_t events, unsigned flags, uin_loop_cb cb,
		    void *arg, struct uin_loop_reg **out);

/*
 * Stop watching.  On return the callback is not running and will never run
 * again.  From the loop thread (inside a callback or job) it returns at
 * once; from any other thread it waits for a dispatch in progress, so call
 * it holding no lock that a callback takes.  A timer's timerfd is closed.
 */
void uin_loop_del(struct uin_loop_reg *reg);

/*
 * A timer (a timerfd on the loop): cb(arg, EPOLLIN) each time it expires.
 * Created disarmed.  0 and *out, or a negative errno.
 */
int uin_loop_add_timer(uin_loop_cb cb, void *arg, struct uin_loop_reg **out);
/* first_ns from now, then every interval_ns (0: once); 0, 0 disarms. */
int uin_loop_timer_set(struct uin_loop_reg *reg, uint64_t first_ns,
		       uint64_t interval_ns);

/*
 * A job: fn(job) runs once on the loop thread, soon.  Intrusive: no
 * allocation.  Posting a job that is already queued does nothing.  The job
 * must stay valid until fn has started.
 */
struct uin_loop_job {
	void (*fn)(struct uin_loop_job *job);
	struct uin_loop_job *next; /* [loop mutex] */
	bool queued;               /* [loop mutex] */
};
int uin_loop_post(struct uin_loop_job *job);

/*
 * Collect now, in the calling thread, what the UIN_LOOP_DRAIN sources
 * already hold (for the kernel source: every event the kernel has queued
 * so far), waiting first for a dispatch in progress on the loop thread.
 * Afterwards every event that existed before the call has been delivered
 * to the engine.  Call it with no uinotify lock held (read, FIONREAD and
 * close of an instance do).  Does nothing on the loop thread, inside a
 * callback, or when nothing is registered (one atomic load).
 */
void uin_loop_drain(void);

/* Whether the caller is the thread dispatching right now. */
bool uin_loop_in_dispatch(void);
/* The caller holds the dispatch lock (checked in UIN_LOCK_CHECKS builds:
 * engine/lock.h; nothing otherwise). */
void uin_loop_assert_dispatch_(const char *fn);
#ifdef UIN_LOCK_CHECKS
#define uin_loop_assert_dispatch() uin_loop_assert_dispatch_(__func__)
#else
#define uin_loop_assert_dispatch() ((void)0)
#endif

/*
 * Take the dispatch lock in an API thread (nested calls in a thread that
 * already dispatches only count), then run the UIN_LOOP_DRAIN callbacks as
 * uin_loop_drain does.  Until uin_loop_dispatch_exit no callback, job or
 * timer runs anywhere else, so a source may change state that its
 * callbacks share (the scanner builds a snapshot there).  The loop thread
 * gives way to a waiting API thread between two batches.  Call it with no
 * uinotify lock held.
 */
void uin_loop_dispatch_enter(void);
void uin_loop_dispatch_exit(void);

/*
 * While dispatching (inside a callback, a job, or between enter and exit):
 * run the UIN_LOOP_DRAIN callbacks now, so that what their fds hold is
 * delivered before the caller goes on (the scanner reads the kernel
 * source's queue before and after it looks at a directory).
 */
void uin_loop_run_drains(void);

/*
 * Fork hooks of a source, run by the loop's pthread_atfork handlers in a
 * fixed order (see FORK above); each must be O(1) and async-signal-safe.
 * A source counts its locks in uin_tls_locks (below): while the forking
 * thread holds one, prepare does not run and the child is torn.  prepare
 * runs after the dispatch lock is taken, to take the source's own locks;
 * parent releases them; child(quiesced) runs in the child after the
 * loop's fds are closed, to forget the parent's fds and (quiesced) put
 * the source's locks right.  rearm runs in the child's first settle
 * (uin_loop_fork_settle), no lock held, to make the watches inherited
 * from the parent report in the child (it may register fds and timers,
 * which starts the child's loop thread); never in a torn child.  At most
 * a few sources register; registration is permanent.
 */
struct uin_loop_fork_hooks {
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(bool quiesced);
	void (*rearm)(void);
};
int uin_loop_register_fork_hooks(const struct uin_loop_fork_hooks *hooks);

/*
 * In a fork child, run the sources' rearm hooks now if they have not run
 * (and start the loop thread unless !start_thread: the drop-in's fork()
 * under a sanitizer leaves it to the next drain, see UIN_SANITIZED).
 * Call it with no uinotify lock held.  Elsewhere: one atomic load.
 */
void uin_loop_fork_settle(bool start_thread);
/* Whether this process is a torn fork child (FORK above). */
bool uin_loop_fork_torn(void);
/*
 * Our locks (the loop's, the sources', the drop-in's) that this thread
 * holds or waits for: raised before the wait, lowered after the unlock,
 * so that a fork from a signal handler that interrupts either takes none.
 */
extern __thread unsigned uin_tls_locks;
/* Whether the calling thread holds, or waits for, one of our locks, or is
 * dispatching: a fork, or a drain, from here would wait for itself. */
bool uin_loop_held_here(void);

/* Built with ASan or TSan, whose fork interception leaves a thread started
 * by fork()'s caller before it returns stuck on an allocator lock: the
 * child's thread then starts at its next read (uin_loop_drain) only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UIN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UIN_SANITIZED 1
#endif
#endif
#ifndef UIN_SANITIZED
#define UIN_SANITIZED 0
#endif

/*
 * A detached thread of ours running fn(NULL), every signal blocked (it
 * must never run an application's handler), named name; stack_size 0:
 * the default.  0 or a negative errno.
 */
int uin_thread_spawn(void *(*fn)(void *), const char *name,
		     size_t stack_size);

/* For tests: whether the loop thread exists right now. */
bool uin_loop_running(void);

#endif
