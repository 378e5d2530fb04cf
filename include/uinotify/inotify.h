/*
 * uinotify/inotify.h - the inotify-compatible face of uinotify.
 *
 * The same calls as <sys/inotify.h>, with the same types, return values and
 * errno, on a real file descriptor that poll, select and epoll accept.  The
 * records read from it are byte for byte what Linux 6.x gives, including
 * merging, IN_Q_OVERFLOW and the EINVAL of a too small buffer.
 *
 * The descriptor is the read end of a pipe that holds one byte per queued
 * event: it is readable exactly while the queue is non-empty, every queued
 * event (not a merged one) is a new epoll edge, it is never writable, and
 * O_NONBLOCK set with fcntl is honoured.  The records themselves live in
 * this process: read them with uinotify_read (or through the LD_PRELOAD
 * library, which routes read() here).  A plain read() that bypasses
 * uinotify gets those pipe bytes, not records, and desynchronises nothing
 * worse than the readiness of that one instance.  Close it with
 * uinotify_close.  See docs/instance.md.
 *
 * ERRORS.  The calls that are Linux's (uinotify_init, _init1, _add_watch,
 * _rm_watch, _read, _ioctl, _close) return what the Linux call returns and
 * set errno as it does.  Every other call of the library, here and in
 * uinotify/engine.h, hooks.h and sources.h, returns 0 or a non-negative
 * value on success and a negative errno (-EINVAL, -EBADF, ...) on failure,
 * and leaves errno alone.
 */
#ifndef UINOTIFY_INOTIFY_H
#define UINOTIFY_INOTIFY_H

#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>

#include <uinotify/version.h>

#ifdef __cplusplus
extern "C" {
#endif

UINOTIFY_EXPORT int uinotify_init(void);
UINOTIFY_EXPORT int uinotify_init1(int flags);
UINOTIFY_EXPORT int uinotify_add_watch(int fd, const char *path,
				       uint32_t mask);
UINOTIFY_EXPORT int uinotify_rm_watch(int fd, int wd);
UINOTIFY_EXPORT ssize_t uinotify_read(int fd, void *buf, size_t len);
/* FIONREAD only (an int); others: ENOTTY; not an instance: ENOTTY too. */
UINOTIFY_EXPORT int uinotify_ioctl(int fd, unsigned long request, ...);
UINOTIFY_EXPORT int uinotify_close(int fd);

/* 1 if fd is a live uinotify instance of this process, else 0. */
UINOTIFY_EXPORT int uinotify_is_instance(int fd);

/* Event sources ------------------------------------------------------------ */

enum uinotify_source {
	UINOTIFY_SOURCE_AUTO = 0, /* per mount: kernel, plus scanner on shares */
	UINOTIFY_SOURCE_KERNEL,   /* the kernel's own inotify only */
	UINOTIFY_SOURCE_SCAN,     /* the scanner only */
	UINOTIFY_SOURCE_NONE,     /* no source: events come only from hooks */
};

/*
 * The source for the watches an instance adds from now on.  0, or -EINVAL
 * (unknown kind), -EBADF, -EINVAL (not an instance).
 */
UINOTIFY_EXPORT int uinotify_set_source(int fd, enum uinotify_source source);
/*
 * The source new instances start with.  Initially from UINOTIFY_SOURCE
 * (auto|kernel|scan|none), else auto.  0, or -EINVAL (unknown kind).
 */
UINOTIFY_EXPORT int uinotify_set_default_source(enum uinotify_source source);
UINOTIFY_EXPORT enum uinotify_source uinotify_default_source(void);

/*
 * Recovery, for the watches an instance adds from now on (on != 0) or not.
 * When a source loses events (the kernel's own queue overflowed), the
 * instance gets IN_Q_OVERFLOW, as a kernel instance would, and then the
 * events that a comparison of its watched directories with the disk finds:
 * IN_CREATE, IN_DELETE, IN_MODIFY, renames as IN_MOVED_FROM/IN_MOVED_TO
 * pairs.  It costs a snapshot of each watched directory (about 48 bytes an
 * entry plus its name).  An instance's own queue overflowing (a reader too
 * slow) is not recovered.  Call it before adding watches: a path watched
 * before the change and added again after gets a second wd.  Initially
 * from UINOTIFY_RECOVER (1 or 0), else off.  0, or -EBADF, -EINVAL (not an
 * instance).  See docs/scanner.md, "Recovery".
 */
UINOTIFY_EXPORT int uinotify_set_recovery(int fd, int on);

/*
 * The scanner's tick interval in milliseconds, for the whole process
 * (every instance, every mount it scans).  ms > 0 sets it (clamped to
 * 10..60000) and returns the value now in effect; ms == 0 only returns
 * it; ms < 0: -EINVAL.  Initially UINOTIFY_SCAN_INTERVAL_MS from
 * the environment, else 80.  See docs/scanner.md.
 */
UINOTIFY_EXPORT int uinotify_set_scan_interval(int ms);

/* Limits -------------------------------------------------------------------- */

enum uinotify_limit {
	UINOTIFY_MAX_USER_INSTANCES = 0,
	UINOTIFY_MAX_USER_WATCHES,
	UINOTIFY_MAX_QUEUED_EVENTS,
};

/*
 * Limits, counted per process (Linux counts per user; one process cannot
 * see another's uinotify instances).  Defaults: UINOTIFY_MAX_USER_INSTANCES,
 * UINOTIFY_MAX_USER_WATCHES, UINOTIFY_MAX_QUEUED_EVENTS from the
 * environment, else /proc/sys/fs/inotify/, else 128, 8192, 16384.
 * max_queued_events is copied into each instance when it is created.
 * set: 0, or -EINVAL (unknown limit, negative value); get: the value, or
 * -EINVAL (unknown limit).
 */
UINOTIFY_EXPORT int uinotify_set_limit(enum uinotify_limit limit, int value);
UINOTIFY_EXPORT int uinotify_get_limit(enum uinotify_limit limit);

#ifdef __cplusplus
}
#endif
#endif /* UINOTIFY_INOTIFY_H */
