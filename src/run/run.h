/*
 * src/run/run.h - the seccomp supervisor behind uinotify-run: what its
 * parts share.  docs/run.md tells the whole design; each file says what it
 * owns.
 *
 *   launch.c     the three processes: uinotify-run (waits, mirrors stops,
 *                forwards signals, reports the status), the supervisor,
 *                and COMMAND (installs the filter, then execs)
 *   filter.c     the seccomp filters (libseccomp) and their listeners
 *   serve.c      the threads that receive notifications; replies
 *   calls.c      inotify_init/init1/add_watch/rm_watch and the calls on
 *                instance descriptors other than reads (ioctl, fcntl, dup,
 *                lseek, splice...)
 *   reads.c      read, readv, preadv2; blocked reads and the waker thread
 *   instances.c  the served instances and how they end
 *   rqueue.c     the queue a program reads, mirrored into its pipe
 *   target.c     a traced process's memory, descriptors, cwd, credentials
 */
#ifndef UIN_RUN_RUN_H
#define UIN_RUN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The descriptor numbers the filter traps reads and ioctls on: instances
 * are installed there.  [fd_lo, fd_lo + fd_count), fd_count a power of
 * two and fd_lo a multiple of it (the filter compares with one mask).
 */
struct run_config {
	int fd_lo, fd_count;
	bool verbose;
};
extern struct run_config run_cfg;

/* The value a supervised ioctl(fd, UIN_RUN_PROBE) returns (any fd): how
 * the drop-in library and a nested uinotify-run know they are served. */
#define UIN_RUN_PROBE 0x55494e52u /* "UINR" */
#define UIN_RUN_PROBE_REPLY 0x75696e72

/* -v: one line on stderr ("uinotify-run: ..."). */
void run_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always: a warning, once per distinct format string. */
void run_warn_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Stop writing to stderr (COMMAND has ended; see launch.c). */
void run_quiet(void);

/* One notification being served. */
struct run_call {
	int listener;
	uint64_t id;
	pid_t tid;      /* the calling thread */
	int nr;         /* native syscall number */
	uint64_t args[6];
};

/* serve.c: answers.  0 once sent; -ENOENT when the caller is no longer
 * in that call (it died, or a signal interrupted it). */
int run_reply(const struct run_call *c, int64_t val);
int run_reply_err(const struct run_call *c, int err);
int run_reply_continue(const struct run_call *c);
/* Install srcfd in the caller at slot (-1: the lowest free number) as
 * the call's result: the number, or a negative errno. */
int run_reply_addfd(const struct run_call *c, int srcfd, int slot,
		    bool cloexec);
/* Whether the caller is still in this call (after reading its memory). */
bool run_call_valid(const struct run_call *c);
bool run_fd_trapped(int fd);

/* serve.c: start the receiving threads on the listener. */
int run_serve_start(int listener);

/*
 * serve.c: a call we served whose answer could not be given because a
 * signal interrupted it: remember the result, and answer the restarted
 * call (same thread, same call, same arguments) with it instead of
 * running it again.  run_replay_begin before serving such a call (it
 * waits while an earlier call of the same thread is still being served):
 * true and *val and *err when c is the restart of a call kept with
 * run_replay_keep; run_replay_end once c has been served.
 */
bool run_replay_begin(const struct run_call *c, int64_t *val, int *err);
void run_replay_keep(const struct run_call *c, int64_t val, int err);
void run_replay_end(const struct run_call *c);

/* calls.c, reads.c: one handler per trapped call. */
void run_call_dispatch(const struct run_call *c);
void run_read(const struct run_call *c);    /* read, readv, preadv2 */
bool run_is_read(int nr);
/* reads.c: the waker thread (blocked reads, backlog, instance ends). */
int run_waker_start(void);

/* filter.c: in COMMAND's process, before exec.  0 and the listener fd,
 * or a negative errno with a message in why. */
int run_filter_install(int *listener, char *why, size_t why_len);

#endif
