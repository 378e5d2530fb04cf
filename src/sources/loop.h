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
 * FORK.  pthread_atfork handlers take the dispatch lock, the sources lock
 * and the loop mutex before fork(), so the loop thread is never inside a
 * callback (holding an engine lock) at the moment of the fork; before
 * that, prepare delivers what the UIN_LOOP_DRAIN fds hold, so that the
 * child's copy of every queue has every event that happened before the
 * fork.  In the child there is no loop thread; the child forgets every
 * registration (the fds belong to the parent's sources: see each source's
 * fork hooks), then each source re-arms what it observed, which starts
 * the child's own loop.  The child never touches the parent's epoll fd,
 * so the parent is unaffected.
 * A handler that forks (on the loop thread) does not deadlock; its child is
 * a copy of a thread inside a handler and must exec or _exit.
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
 * fixed order (see FORK above).  prepare runs after the dispatch lock is
 * taken and what the UIN_LOOP_DRAIN sources held has been delivered; child
 * runs in the child after the loop has been reset, to put the source's
 * locks and fds right; rearm runs in the child once every lock is free
 * again (none is held), to make the watches inherited from the parent
 * report in the child (it may register fds and timers, which starts the
 * child's loop thread).  rearm does not run in the child of a fork made
 * inside a callback: that child must exec or _exit.  At most a few sources
 * register; registration is permanent.
 */
struct uin_loop_fork_hooks {
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
	void (*rearm)(void);
};
int uin_loop_register_fork_hooks(const struct uin_loop_fork_hooks *hooks);

/*
 * In a fork child, the loop thread is started after the fork handlers when
 * the drop-in library asked for it (uin_loop_defer_fork_start, at load;
 * its fork() interposer then calls uin_loop_fork_child_start once fork()
 * has returned) and under the sanitizers; otherwise inside the handler.
 * The child's next uin_loop_drain (every read) starts it too.
 */
void uin_loop_defer_fork_start(void);
int uin_loop_fork_child_start(void);

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
