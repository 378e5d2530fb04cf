/*
 * src/preload/preload.c - libuinotify-preload.so: unmodified programs get
 * uinotify instances from inotify_init/inotify_init1 (and syscall()), and
 * every libc call they make on such a descriptor that would see the pipe
 * behind it instead of an inotify file is routed to the instance.
 *
 * Cost on other descriptors: the interposers of read, close, dup... test
 * one bit of a bitmap indexed by the descriptor number, then call libc
 * through a pointer.  The bitmap is the set of descriptor numbers that name
 * an instance (the numbers init1 returned and the dups made of them); it is
 * changed only under fd_lock, by the calls that make or drop such names.
 *
 * See docs/preload.md for what this reaches, what it cannot, and fork/exec.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "engine/fault.h"
#include "engine/test_hooks.h"
#include "instance/config.h"
#include "engine/lock.h"
#include "engine/sanitizers.h"
#include "instance/preload_api.h"
#include "instance/usermem.h"
#include "preload/preload.h"
#include "sources/loop.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* libc's definitions, next in the lookup order after this library ------- */

struct uin_real {
	int (*inotify_init)(void);
	int (*inotify_init1)(int);
	int (*inotify_add_watch)(int, const char *, uint32_t);
	int (*inotify_rm_watch)(int, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	int (*close)(int);
	int (*close_alias)(int); /* __close */
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*ioctl)(int, unsigned long, ...);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	off_t (*lseek)(int, off_t, int);
	off64_t (*lseek64)(int, off64_t, int);
	ssize_t (*splice)(int, off64_t *, int, off64_t *, size_t, unsigned int);
	ssize_t (*tee)(int, int, size_t, unsigned int);
	long (*syscall)(long, ...);
	pid_t (*fork)(void);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*poll_chk)(struct pollfd *, nfds_t, int, size_t);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *);
	int (*ppoll_chk)(struct pollfd *, nfds_t, const struct timespec *,
			 const sigset_t *, size_t);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *,
		       const struct timespec *, const sigset_t *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int,
			   const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int,
			    const struct timespec *, const sigset_t *);
};

static struct uin_real real;
static int real_ready;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static bool debug_on;

/* Stand-ins for what an older libc lacks. */
static int fallback_close_range(unsigned int first, unsigned int last,
				int flags)
{
	return (int)real.syscall(SYS_close_range, (long)first, (long)last,
				 (long)flags, 0L, 0L, 0L);
}

static void fallback_closefrom(int lowfd)
{
	real.close_range(lowfd < 0 ? 0U : (unsigned int)lowfd, ~0U, 0);
}

static void resolve_real(void)
{
#define RESOLVE(field, name) (*(void **)&real.field = dlsym(RTLD_NEXT, name))
	RESOLVE(inotify_init, "inotify_init");
	RESOLVE(inotify_init1, "inotify_init1");
	RESOLVE(inotify_add_watch, "inotify_add_watch");
	RESOLVE(inotify_rm_watch, "inotify_rm_watch");
	RESOLVE(read, "read");
	RESOLVE(read_chk, "__read_chk");
	RESOLVE(readv, "readv");
	RESOLVE(close, "close");
	RESOLVE(close_alias, "__close");
	RESOLVE(close_range, "close_range");
	RESOLVE(closefrom, "closefrom");
	RESOLVE(ioctl, "ioctl");
	RESOLVE(fcntl, "fcntl");
	RESOLVE(fcntl64, "fcntl64");
	RESOLVE(dup, "dup");
	RESOLVE(dup2, "dup2");
	RESOLVE(dup3, "dup3");
	RESOLVE(lseek, "lseek");
	RESOLVE(lseek64, "lseek64");
	RESOLVE(splice, "splice");
	RESOLVE(tee, "tee");
	RESOLVE(syscall, "syscall");
	RESOLVE(fork, "fork");
	RESOLVE(poll, "poll");
	RESOLVE(poll_chk, "__poll_chk");
	RESOLVE(ppoll, "ppoll");
	RESOLVE(ppoll_chk, "__ppoll_chk");
	RESOLVE(select, "select");
	RESOLVE(pselect, "pselect");
	RESOLVE(epoll_wait, "epoll_wait");
	RESOLVE(epoll_pwait, "epoll_pwait");
	RESOLVE(epoll_pwait2, "epoll_pwait2");
#undef RESOLVE
	if (!real.close_alias)
		real.close_alias = real.close;
	if (!real.fcntl64)
		real.fcntl64 = real.fcntl;
	if (!real.lseek64)
		real.lseek64 = real.lseek;
	if (!real.close_range)
		real.close_range = fallback_close_range;
	if (!real.closefrom)
		real.closefrom = fallback_closefrom;
	__atomic_store_n(&real_ready, 1, __ATOMIC_RELEASE);
}

/* Any interposer may run before this library's constructor. */
static inline const struct uin_real *libc(void)
{
	if (__builtin_expect(!__atomic_load_n(&real_ready, __ATOMIC_ACQUIRE),
			     0))
		pthread_once(&real_once, resolve_real);
	return &real;
}

/* UINOTIFY_DEBUG: one line per decision on stderr, nothing otherwise. */
__attribute__((format(printf, 1, 2))) static void debug(const char *fmt, ...)
{
	if (!debug_on)
		return;
	int saved = errno;
	char line[512];
	int n = snprintf(line, sizeof line, "uinotify-preload[%d]: ",
			 (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t unused = write(STDERR_FILENO, line, (size_t)n);
	(void)unused;
	errno = saved;
}

/* Which descriptor numbers name an instance ------------------------------ */

#define FD_BITMAP_FDS (1U << 20) /* Linux's default fs.nr_open */
#define BITS_PER_WORD (8 * sizeof(unsigned long))

static unsigned long fd_bits[FD_BITMAP_FDS / BITS_PER_WORD];
/* Names at or above FD_BITMAP_FDS (raised nr_open), and how many. */
static int *high_names;      /* [high_lock] */
static int high_count;       /* [high_lock] written, read relaxed */
static int names_total;      /* [fd_lock] written, read relaxed */
/* Taken by the calls that make or drop names, around the libc call. */
static uin_mutex_t fd_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_PRELOAD_FD);
/* Leaf: the list of high names, which is_name reads under any lock. */
static uin_mutex_t high_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_PRELOAD_HIGH);

/* fd_lock and high_lock count in uin_tls_locks (sources/loop.h): a fork
 * from a signal handler that interrupted them leaves them alone (see fork
 * below). */
static void fd_lock_take(void) UIN_ACQUIRE(fd_lock)
{
	uin_tls_locks++;
	uin_mutex_lock(&fd_lock);
}

static void fd_lock_drop(void) UIN_RELEASE(fd_lock)
{
	uin_mutex_unlock(&fd_lock);
	uin_tls_locks--;
}

static void high_lock_take(void) UIN_ACQUIRE(high_lock)
{
	uin_tls_locks++;
	uin_mutex_lock(&high_lock);
}

static void high_lock_drop(void) UIN_RELEASE(high_lock)
{
	uin_mutex_unlock(&high_lock);
	uin_tls_locks--;
}

/* A fork child whose instances still share their parent's readiness
 * pipes (see fork below). */
static bool fork_fixup_pending;
static void names_fork_fixup(void);

static inline bool is_name_bits(int fd)
{
	if ((unsigned int)fd < FD_BITMAP_FDS)
		return (__atomic_load_n(&fd_bits[(unsigned int)fd /
						 BITS_PER_WORD],
					__ATOMIC_RELAXED) >>
			((unsigned int)fd % BITS_PER_WORD)) &
		       1;
	if (fd < 0 || !__atomic_load_n(&high_count, __ATOMIC_RELAXED))
		return false;
	bool found = false;
	high_lock_take();
	for (int i = 0; i < high_count; i++)
		found |= high_names[i] == fd;
	high_lock_drop();
	return found;
}

/* Every call on a name asks this first: in a fork child, the first one
 * gives the instances their own pipes before it goes on. */
static inline bool is_name(int fd)
{
	bool found = is_name_bits(fd);
	if (__builtin_expect(found, 0) &&
	    __builtin_expect(
		    __atomic_load_n(&fork_fixup_pending, __ATOMIC_ACQUIRE), 0))
		names_fork_fixup();
	return found;
}

/* fd_lock held.  0 or -ENOMEM. */
static int mark_name(int fd)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	if ((unsigned int)fd < FD_BITMAP_FDS) {
		unsigned long bit = 1UL << ((unsigned int)fd % BITS_PER_WORD);
		unsigned long old = __atomic_fetch_or(
			&fd_bits[(unsigned int)fd / BITS_PER_WORD], bit,
			__ATOMIC_RELAXED);
		if (!(old & bit))
			__atomic_store_n(&names_total, names_total + 1,
					 __ATOMIC_RELAXED);
		return 0;
	}
	high_lock_take();
	int *grown = realloc(high_names,
			     sizeof *high_names * (size_t)(high_count + 1));
	if (grown) {
		high_names = grown;
		high_names[high_count] = fd;
		__atomic_store_n(&high_count, high_count + 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&names_total, names_total + 1,
				 __ATOMIC_RELAXED);
	}
	high_lock_drop();
	return grown ? 0 : -ENOMEM;
}

/* fd_lock held. */
static void unmark_name(int fd)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	if ((unsigned int)fd < FD_BITMAP_FDS) {
		unsigned long bit = 1UL << ((unsigned int)fd % BITS_PER_WORD);
		unsigned long old = __atomic_fetch_and(
			&fd_bits[(unsigned int)fd / BITS_PER_WORD], ~bit,
			__ATOMIC_RELAXED);
		if (old & bit)
			__atomic_store_n(&names_total, names_total - 1,
					 __ATOMIC_RELAXED);
		return;
	}
	high_lock_take();
	for (int i = 0; i < high_count; i++) {
		if (high_names[i] == fd) {
			high_names[i] = high_names[high_count - 1];
			__atomic_store_n(&high_count, high_count - 1,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&names_total, names_total - 1,
					 __ATOMIC_RELAXED);
			break;
		}
	}
	high_lock_drop();
}

/*
 * fd_lock held; new_fd was just made from fd (dup and friends).  0, or -1
 * with errno and new_fd closed: a descriptor the instance does not know
 * would hand the program raw pipe bytes.
 */
static int add_name(int fd, int new_fd)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	int ret = uin_instance_fd_alias(fd, new_fd);
	bool counted = ret == 0;
	if (ret == 0)
		ret = mark_name(new_fd);
	if (ret == 0)
		return 0;
	debug("cannot name fd %d after instance fd %d: %s", new_fd, fd,
	      strerror(-ret));
	/* An instance that counted new_fd sees it closed, as by a close. */
	if (counted)
		(void)uin_instance_fd_forget(new_fd);
	libc()->close(new_fd);
	errno = -ret;
	return -1;
}

/*
 * fd_lock held; fd is about to be closed or replaced: it stops naming its
 * instance, the descriptor itself stays for the caller to close.
 */
static void drop_name(int fd)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	int ret = uin_instance_fd_forget(fd);
	if (ret < 0)
		debug("forgetting instance fd %d: %s", fd, strerror(-ret));
	unmark_name(fd);
}

/* Creation ------------------------------------------------------------------ */

/* The errors Linux's inotify_init1 gives itself; others mean "cannot start". */
static bool linux_init_errno(int err)
{
	return err == EINVAL || err == EMFILE || err == ENFILE ||
	       err == ENOMEM;
}

/*
 * Under uinotify-run every inotify call of the process is served by its
 * supervisor already (src/run/): a second layer here would make two
 * instances for one call.  The supervisor answers ioctl(any fd,
 * UIN_RUN_PROBE) with UIN_RUN_PROBE_REPLY (src/run/run.h); without it the
 * ioctl fails (EBADF).  Asked once, at the first inotify_init; a probe
 * that fails (any errno but the supervisor's reply) means no supervisor.
 */
#define UIN_RUN_PROBE 0x55494e52u
#define UIN_RUN_PROBE_REPLY 0x75696e72
static int supervised = -1; /* -1: not asked yet */

static bool under_supervisor(void)
{
	int v = __atomic_load_n(&supervised, __ATOMIC_RELAXED);
	if (v < 0) {
		int saved = errno;
		v = UIN_SYS_RETRY("preload.probe.ioctl",
				  libc()->syscall(SYS_ioctl, -1L,
						  (long)UIN_RUN_PROBE, 0L)) ==
		    UIN_RUN_PROBE_REPLY;
		errno = saved;
		__atomic_store_n(&supervised, v, __ATOMIC_RELAXED);
		if (v)
			debug("served by uinotify-run: the kernel calls go to "
			      "it");
	}
	return v;
}

static int create_instance(int flags, bool has_flags)
{
	const struct uin_real *r = libc();
	if (under_supervisor())
		return has_flags ? r->inotify_init1(flags) : r->inotify_init();
	int fd = has_flags ? uinotify_init1(flags) : uinotify_init();
	if (fd >= 0) {
		fd_lock_take();
		int ret = uin_instance_count_names(fd);
		if (ret == 0)
			ret = mark_name(fd);
		fd_lock_drop();
		if (ret == 0) {
			if (has_flags)
				debug("inotify_init1(%#x) = %d: uinotify "
				      "instance",
				      (unsigned int)flags, fd);
			else
				debug("inotify_init() = %d: uinotify instance",
				      fd);
			return fd;
		}
		uinotify_close(fd);
		errno = -ret;
	}
	int err = errno;
	if (linux_init_errno(err)) {
		debug("inotify_init1(%#x): %s", (unsigned int)flags,
		      strerror(err));
		errno = err;
		return -1;
	}
	fd = has_flags ? r->inotify_init1(flags) : r->inotify_init();
	debug("uinotify cannot start (%s): the kernel's inotify serves "
	      "instance %d",
	      strerror(err), fd);
	return fd;
}

/*
 * Errors of uinotify_add_watch that Linux's inotify_add_watch never gives:
 * the event loop's thread or the kernel source's own descriptors could not
 * be created.  (The loop starts with the first watch, not at init1.)
 */
static bool cannot_start_errno(int err)
{
	return err == EAGAIN || err == EMFILE || err == ENFILE ||
	       err == ENOSYS;
}

/* 1 if name is a descriptor on the pipe st describes, 0 if not, -1 if
 * fstat cannot tell. */
static int same_pipe(int name, const struct stat *st)
{
	struct stat other;
	if (UIN_SYS_RETRY("preload.to_kernel.name_fstat",
			  fstat(name, &other)) < 0)
		return errno == EBADF ? 0 : -1;
	return other.st_dev == st->st_dev && other.st_ino == st->st_ino;
}

/*
 * fd_lock held.  Replace the instance that fd names, under every number
 * that names it (the numbers on the same pipe), by a kernel inotify
 * instance with the same O_NONBLOCK and per-number FD_CLOEXEC.  Its queue
 * and watches are lost: this runs when its watches could not start.
 * Every number moves, or none: numbers left on the pipe would be another
 * instance than the ones moved, where the program has one.  0, or -1 with
 * errno (nothing changed).
 */
static int names_to_kernel(int fd)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	const struct uin_real *r = libc();
	struct stat st;
	int fl = UIN_SYS_RETRY("preload.to_kernel.getfl",
			       r->fcntl(fd, F_GETFL));
	if (fl < 0 ||
	    UIN_SYS_RETRY("preload.to_kernel.fstat", fstat(fd, &st)) < 0)
		return -1;
	int count = __atomic_load_n(&names_total, __ATOMIC_RELAXED);
	int *names = malloc(sizeof *names * (size_t)(count ? count : 1));
	bool *cloexec = malloc(sizeof *cloexec * (size_t)(count ? count : 1));
	int kfd = -1, n = 0, err = 0;
	if (!names || !cloexec) {
		err = ENOMEM;
		goto out;
	}
	for (unsigned int w = 0; w < FD_BITMAP_FDS / BITS_PER_WORD && n < count;
	     w++) {
		unsigned long bits = __atomic_load_n(&fd_bits[w],
						     __ATOMIC_RELAXED);
		while (bits && n < count) {
			int name = (int)(w * BITS_PER_WORD) + __builtin_ctzl(bits);
			bits &= bits - 1;
			int same = same_pipe(name, &st);
			if (same < 0) {
				err = errno;
				goto out;
			}
			if (same)
				names[n++] = name;
		}
	}
	for (int i = 0; i < high_count && n < count; i++) {
		int same = same_pipe(high_names[i], &st);
		if (same < 0) {
			err = errno;
			goto out;
		}
		if (same)
			names[n++] = high_names[i];
	}
	if (!n) {
		err = EBADF;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int fdfl = UIN_SYS_RETRY("preload.to_kernel.getfd",
					 r->fcntl(names[i], F_GETFD));
		if (fdfl < 0) {
			err = errno;
			goto out;
		}
		cloexec[i] = fdfl & FD_CLOEXEC;
	}
	kfd = UIN_SYS_RETRY("preload.to_kernel.init1",
			    r->inotify_init1(IN_CLOEXEC |
					     (fl & O_NONBLOCK ? IN_NONBLOCK : 0)));
	if (kfd < 0) {
		err = errno;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int got;
		do
			got = UIN_SYS("preload.to_kernel.dup3",
				      r->dup3(kfd, names[i],
					      cloexec[i] ? O_CLOEXEC : 0));
		while (got < 0 && (errno == EINTR || errno == EBUSY));
		if (got < 0) {
			/* names[i] is still on the pipe: the numbers moved
			 * before it go back there. */
			err = errno;
			debug("instance fd %d stays uinotify's: dup3: %s",
			      names[i], strerror(err));
			for (int j = 0; j < i; j++)
				r->dup3(names[i], names[j],
					cloexec[j] ? O_CLOEXEC : 0);
			goto out;
		}
	}
	for (int i = 0; i < n; i++)
		drop_name(names[i]);
out:
	if (kfd >= 0)
		r->close(kfd);
	free(names);
	free(cloexec);
	errno = err;
	return err ? -1 : 0;
}

/* Operations on a name ---------------------------------------------------- */

/* MAX_RW_COUNT: what one read or readv moves at most. */
#define UIN_MAX_RW_COUNT ((size_t)INT_MAX & ~(uin_page_size() - 1))

/*
 * readv as Linux does it for a file with only ->read: the iovecs are
 * copied in and checked first (import_iovec: EINVAL for a negative length,
 * EFAULT for an array or a segment access_ok refuses, nothing read), then
 * read segment by segment, stopping after a short one or an error
 * (fs/read_write.c, do_loop_readv_writev): an error after bytes were read
 * gives those bytes (the events of the failed segment are lost as its
 * read(2) loses them).
 */
static ssize_t name_readv(int fd, const struct iovec *uiov, int iovcnt)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (iovcnt == 0)
		return 0;
	struct iovec stack_iov[16];
	struct iovec *iov = stack_iov;
	if ((size_t)iovcnt > sizeof stack_iov / sizeof stack_iov[0]) {
		iov = malloc((size_t)iovcnt * sizeof *iov);
		if (!iov) {
			errno = ENOMEM;
			return -1;
		}
	}
	ssize_t ret = -1;
	int err = uin_user_read(iov, (uintptr_t)uiov,
				(size_t)iovcnt * sizeof *iov);
	if (err < 0) {
		errno = -err;
		goto out;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX) {
			errno = EINVAL;
			goto out;
		}
	}
	size_t left = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (!uin_user_range_ok((uintptr_t)iov[i].iov_base,
				       iov[i].iov_len)) {
			errno = EFAULT;
			goto out;
		}
		if (iov[i].iov_len > UIN_MAX_RW_COUNT - left)
			iov[i].iov_len = UIN_MAX_RW_COUNT - left;
		left += iov[i].iov_len;
	}
	ssize_t done = 0;
	for (int i = 0; i < iovcnt && left; i++) {
		ssize_t n = uinotify_read(fd, iov[i].iov_base, iov[i].iov_len);
		if (n < 0) {
			if (done)
				break;
			goto out;
		}
		done += n;
		left -= (size_t)n;
		if ((size_t)n != iov[i].iov_len)
			break;
	}
	ret = done;
out:
	if (iov != stack_iov) {
		int e = errno;
		free(iov);
		errno = e;
	}
	return ret;
}

static int name_ioctl(int fd, unsigned long request, void *arg)
{
	/* The kernel takes the request as an unsigned int. */
	switch ((unsigned int)request) {
	case FIONREAD:
		return uinotify_ioctl(fd, FIONREAD, arg);
	case FIOCLEX:
	case FIONCLEX:
	case FIONBIO:
	case FIOASYNC:
	case FIGETBSZ:
		/* Answered by the VFS before the file: the same on a pipe. */
		return libc()->ioctl(fd, request, arg);
	default:
		/* INOTIFY_IOC_SETNEXTWD, else ENOTTY, as the instance decides */
		return uinotify_ioctl(fd, request, arg);
	}
}

static int name_dup(int fd, int cmd, long min_fd)
{
	const struct uin_real *r = libc();
	fd_lock_take();
	int new_fd = cmd == -1 ? r->dup(fd) : r->fcntl(fd, cmd, min_fd);
	if (new_fd >= 0 && add_name(fd, new_fd) < 0)
		new_fd = -1;
	int err = errno;
	fd_lock_drop();
	errno = err;
	return new_fd;
}

static int name_fcntl(int fd, int cmd, void *arg,
		      int (*real_fcntl)(int, int, ...))
{
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return name_dup(fd, cmd, (long)(intptr_t)arg);
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		errno = EBADF; /* not a pipe, as far as the program knows */
		return -1;
	default:
		/* F_GETFL/F_SETFL (O_NONBLOCK, O_ASYNC), F_GETFD/F_SETFD,
		 * F_SETOWN...: the pipe's description answers as Linux's. */
		return real_fcntl(fd, cmd, arg);
	}
}

/* dup2/dup3 with fd or new_fd naming an instance. */
static int name_dup_onto(int fd, int new_fd, int flags, bool is_dup3)
{
	const struct uin_real *r = libc();
	if (fd == new_fd || (is_dup3 && (flags & ~O_CLOEXEC)))
		return is_dup3 ? r->dup3(fd, new_fd, flags)
			       : r->dup2(fd, new_fd);
	fd_lock_take();
	int ret;
	if (is_name(new_fd)) {
		/* A failed dup2 leaves new_fd as it was: check fd first. */
		if (r->fcntl(fd, F_GETFD) < 0) {
			ret = -1;
			goto out;
		}
		drop_name(new_fd);
	}
	ret = is_dup3 ? r->dup3(fd, new_fd, flags) : r->dup2(fd, new_fd);
	if (ret >= 0 && is_name(fd) && add_name(fd, ret) < 0)
		ret = -1;
out:;
	int err = errno;
	fd_lock_drop();
	errno = err;
	return ret;
}

static int name_close(int fd, int (*real_close)(int))
{
	fd_lock_take();
	if (is_name(fd))
		drop_name(fd);
	int ret = real_close(fd);
	int err = errno;
	fd_lock_drop();
	errno = err;
	return ret;
}

/* fd_lock held: forget every name in [first, last]. */
static void drop_names_in(unsigned int first, unsigned int last)
	UIN_REQUIRES(fd_lock)
{
	uin_assert_held(&fd_lock);
	for (unsigned int w = first / BITS_PER_WORD;
	     w < FD_BITMAP_FDS / BITS_PER_WORD && w <= last / BITS_PER_WORD;
	     w++) {
		unsigned long bits = __atomic_load_n(&fd_bits[w],
						     __ATOMIC_RELAXED);
		while (bits) {
			unsigned int fd = w * (unsigned int)BITS_PER_WORD +
					  (unsigned int)__builtin_ctzl(bits);
			bits &= bits - 1;
			if (fd >= first && fd <= last)
				drop_name((int)fd);
		}
	}
	for (int i = high_count - 1; i >= 0; i--) {
		if ((unsigned int)high_names[i] >= first &&
		    (unsigned int)high_names[i] <= last)
			drop_name(high_names[i]);
	}
}

static int names_close_range(unsigned int first, unsigned int last,
			     int flags)
{
	const struct uin_real *r = libc();
	if (!__atomic_load_n(&names_total, __ATOMIC_RELAXED) || first > last ||
	    (flags & (int)CLOSE_RANGE_CLOEXEC) ||
	    (flags & ~(int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		return r->close_range(first, last, flags);
	fd_lock_take();
	drop_names_in(first, last);
	int ret = r->close_range(first, last, flags);
	int err = errno;
	fd_lock_drop();
	errno = err;
	return ret;
}

/* The interposers ---------------------------------------------------------- */

EXPORT int inotify_init(void)
{
	return create_instance(0, false);
}

EXPORT int inotify_init1(int flags)
{
	return create_instance(flags, true);
}

EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	if (!is_name(fd))
		return libc()->inotify_add_watch(fd, path, mask);
	int wd = uinotify_add_watch(fd, path, mask);
	if (wd >= 0 || !cannot_start_errno(errno))
		return wd;
	int err = errno;
	fd_lock_take();
	int ret = is_name(fd) ? names_to_kernel(fd) : 0;
	fd_lock_drop();
	if (ret < 0) {
		/* Not err (EAGAIN, EMFILE: no answer of Linux's), but what
		 * the kernel gives for a resource it could not get. */
		debug("uinotify cannot start (%s), nor the kernel's inotify "
		      "for instance %d: %s",
		      strerror(err), fd, strerror(errno));
		errno = ENOSPC;
		return -1;
	}
	debug("uinotify cannot start (%s): the kernel's inotify serves "
	      "instance %d from now on",
	      strerror(err), fd);
	return libc()->inotify_add_watch(fd, path, mask);
}

EXPORT int inotify_rm_watch(int fd, int wd)
{
	if (is_name(fd))
		return uinotify_rm_watch(fd, wd);
	return libc()->inotify_rm_watch(fd, wd);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (__builtin_expect(is_name(fd), 0))
		return uinotify_read(fd, buf, n);
	return libc()->read(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (__builtin_expect(is_name(fd), 0)) {
		if (n > buflen)
			__chk_fail();
		return uinotify_read(fd, buf, n);
	}
	return libc()->read_chk(fd, buf, n, buflen);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	if (__builtin_expect(is_name(fd), 0))
		return name_readv(fd, iov, iovcnt);
	return libc()->readv(fd, iov, iovcnt);
}

EXPORT int close(int fd)
{
	if (__builtin_expect(is_name(fd), 0))
		return name_close(fd, libc()->close);
	return libc()->close(fd);
}

EXPORT int __close(int fd)
{
	if (__builtin_expect(is_name(fd), 0))
		return name_close(fd, libc()->close_alias);
	return libc()->close_alias(fd);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	return names_close_range(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	if (__atomic_load_n(&names_total, __ATOMIC_RELAXED) && lowfd >= 0) {
		fd_lock_take();
		drop_names_in((unsigned int)lowfd, ~0U);
		libc()->closefrom(lowfd);
		fd_lock_drop();
		return;
	}
	libc()->closefrom(lowfd);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (__builtin_expect(is_name(fd), 0))
		return name_ioctl(fd, request, arg);
	return libc()->ioctl(fd, request, arg);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (__builtin_expect(is_name(fd), 0))
		return name_fcntl(fd, cmd, arg, libc()->fcntl);
	return libc()->fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (__builtin_expect(is_name(fd), 0))
		return name_fcntl(fd, cmd, arg, libc()->fcntl64);
	return libc()->fcntl64(fd, cmd, arg);
}

EXPORT int dup(int fd)
{
	if (__builtin_expect(is_name(fd), 0))
		return name_dup(fd, -1, 0);
	return libc()->dup(fd);
}

EXPORT int dup2(int fd, int new_fd)
{
	if (__builtin_expect(is_name(fd) || is_name(new_fd), 0))
		return name_dup_onto(fd, new_fd, 0, false);
	return libc()->dup2(fd, new_fd);
}

EXPORT int dup3(int fd, int new_fd, int flags)
{
	if (__builtin_expect(is_name(fd) || is_name(new_fd), 0))
		return name_dup_onto(fd, new_fd, flags, true);
	return libc()->dup3(fd, new_fd, flags);
}

/*
 * The wait calls.  The kernel queues an inotify event before the system
 * call that caused it returns, so a program that acts and then polls,
 * even with a zero timeout, sees it.  Our loop thread takes the kernel
 * source's events over microseconds later; so before any wait, while this
 * process has an instance, what the kernel has queued is collected here
 * (one non-blocking read of the kernel instance).  Not from inside the
 * library (a signal handler that polls there would wait for a lock its own
 * thread holds: lock.h, uin_tls_held), and errno is left as it was.
 * Which descriptors the call waits for is not looked at: that would read
 * memory that may not be there, where the kernel answers EFAULT.
 */
static void collect_before_wait(void)
{
#ifdef UIN_TSAN
	/* ThreadSanitizer's own poll and epoll interceptors call these from
	 * inside themselves, where it no longer sees the locks we take and
	 * reports the loop's job list as raced: under TSan they only wait
	 * (random_vs_kernel.drop_in_local_poll_first skips). */
	return;
#endif
	if (__builtin_expect(!__atomic_load_n(&names_total, __ATOMIC_RELAXED),
			     1))
		return;
	if (uin_tls_held || uin_tls_locks || uin_loop_in_dispatch())
		return;
	int saved = errno;
	uin_loop_drain();
	errno = saved;
}

EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	collect_before_wait();
	return libc()->poll(fds, nfds, timeout);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
		      size_t fdslen)
{
	collect_before_wait();
	return libc()->poll_chk(fds, nfds, timeout, fdslen);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		 const sigset_t *sigmask)
{
	collect_before_wait();
	return libc()->ppoll(fds, nfds, tmo, sigmask);
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *tmo, const sigset_t *sigmask,
		       size_t fdslen)
{
	collect_before_wait();
	return libc()->ppoll_chk(fds, nfds, tmo, sigmask, fdslen);
}

EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		  struct timeval *timeout)
{
	collect_before_wait();
	return libc()->select(nfds, rd, wr, ex, timeout);
}

EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		   const struct timespec *timeout, const sigset_t *sigmask)
{
	collect_before_wait();
	return libc()->pselect(nfds, rd, wr, ex, timeout, sigmask);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		      int timeout)
{
	collect_before_wait();
	return libc()->epoll_wait(epfd, events, maxevents, timeout);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
		       int timeout, const sigset_t *sigmask)
{
	collect_before_wait();
	return libc()->epoll_pwait(epfd, events, maxevents, timeout, sigmask);
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
			const struct timespec *timeout, const sigset_t *sigmask)
{
	collect_before_wait();
	if (!libc()->epoll_pwait2) {
		errno = ENOSYS; /* glibc < 2.35 has none: nor the program */
		return -1;
	}
	return libc()->epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
}

/* Linux's inotify file uses noop_llseek: 0 whatever is asked. */
EXPORT off_t lseek(int fd, off_t offset, int whence)
{
	if (__builtin_expect(is_name(fd), 0))
		return 0;
	return libc()->lseek(fd, offset, whence);
}

EXPORT off64_t lseek64(int fd, off64_t offset, int whence)
{
	if (__builtin_expect(is_name(fd), 0))
		return 0;
	return libc()->lseek64(fd, offset, whence);
}

/* An inotify file has no splice_read: EINVAL, where a pipe would give up
 * its readiness bytes. */
EXPORT ssize_t splice(int fd_in, off64_t *off_in, int fd_out,
		      off64_t *off_out, size_t len, unsigned int flags)
{
	if (__builtin_expect(is_name(fd_in), 0)) {
		errno = EINVAL;
		return -1;
	}
	return libc()->splice(fd_in, off_in, fd_out, off_out, len, flags);
}

EXPORT ssize_t tee(int fd_in, int fd_out, size_t len, unsigned int flags)
{
	if (__builtin_expect(is_name(fd_in), 0)) {
		errno = EINVAL;
		return -1;
	}
	return libc()->tee(fd_in, fd_out, len, flags);
}

/*
 * syscall(): the variadic arguments are read as six longs, as glibc's own
 * syscall() reads six registers; the inotify calls and the fd calls on a
 * name are answered here, everything else goes to libc's syscall().
 */
EXPORT long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	int fd = (int)a[0];
	switch (number) {
#ifdef SYS_inotify_init
	case SYS_inotify_init:
		return create_instance(0, false);
#endif
	case SYS_inotify_init1:
		return create_instance((int)a[0], true);
	case SYS_inotify_add_watch:
		return inotify_add_watch(fd, (const char *)a[1],
					 (uint32_t)a[2]);
	case SYS_inotify_rm_watch:
		return inotify_rm_watch(fd, (int)a[1]);
	case SYS_read:
		if (is_name(fd))
			return uinotify_read(fd, (void *)a[1], (size_t)a[2]);
		break;
	case SYS_readv:
		if (is_name(fd))
			return name_readv(fd, (const struct iovec *)a[1],
					  (int)a[2]);
		break;
	case SYS_close:
		if (is_name(fd))
			return name_close(fd, libc()->close);
		break;
	case SYS_ioctl:
		if (is_name(fd))
			return name_ioctl(fd, (unsigned long)a[1],
					  (void *)a[2]);
		break;
	case SYS_fcntl:
		if (is_name(fd))
			return name_fcntl(fd, (int)a[1], (void *)a[2],
					  libc()->fcntl);
		break;
	case SYS_dup:
		if (is_name(fd))
			return name_dup(fd, -1, 0);
		break;
#ifdef SYS_dup2
	case SYS_dup2:
		if (is_name(fd) || is_name((int)a[1]))
			return name_dup_onto(fd, (int)a[1], 0, false);
		break;
#endif
	case SYS_dup3:
		if (is_name(fd) || is_name((int)a[1]))
			return name_dup_onto(fd, (int)a[1], (int)a[2], true);
		break;
	case SYS_lseek:
		if (is_name(fd))
			return 0;
		break;
	case SYS_close_range:
		return names_close_range((unsigned int)a[0],
					 (unsigned int)a[1], (int)a[2]);
	default:
		break;
	}
	return libc()->syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The library's own calls: straight to libc ------------------------------ */

int __wrap_inotify_init(void)
{
	return libc()->inotify_init();
}

int __wrap_inotify_init1(int flags)
{
	return libc()->inotify_init1(flags);
}

int __wrap_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	return libc()->inotify_add_watch(fd, path, mask);
}

int __wrap_inotify_rm_watch(int fd, int wd)
{
	return libc()->inotify_rm_watch(fd, wd);
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	return libc()->read(fd, buf, n);
}

ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	return libc()->read_chk(fd, buf, n, buflen);
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int iovcnt)
{
	return libc()->readv(fd, iov, iovcnt);
}

int __wrap_close(int fd)
{
	return libc()->close(fd);
}

int __wrap___close(int fd)
{
	return libc()->close_alias(fd);
}

int __wrap_close_range(unsigned int first, unsigned int last, int flags)
{
	return libc()->close_range(first, last, flags);
}

void __wrap_closefrom(int lowfd)
{
	libc()->closefrom(lowfd);
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return libc()->ioctl(fd, request, arg);
}

int __wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return libc()->fcntl(fd, cmd, arg);
}

int __wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return libc()->fcntl64(fd, cmd, arg);
}

int __wrap_dup(int fd)
{
	return libc()->dup(fd);
}

int __wrap_dup2(int fd, int new_fd)
{
	return libc()->dup2(fd, new_fd);
}

int __wrap_dup3(int fd, int new_fd, int flags)
{
	return libc()->dup3(fd, new_fd, flags);
}

off_t __wrap_lseek(int fd, off_t offset, int whence)
{
	return libc()->lseek(fd, offset, whence);
}

off64_t __wrap_lseek64(int fd, off64_t offset, int whence)
{
	return libc()->lseek64(fd, offset, whence);
}

ssize_t __wrap_splice(int fd_in, off64_t *off_in, int fd_out,
		      off64_t *off_out, size_t len, unsigned int flags)
{
	return libc()->splice(fd_in, off_in, fd_out, off_out, len, flags);
}

ssize_t __wrap_tee(int fd_in, int fd_out, size_t len, unsigned int flags)
{
	return libc()->tee(fd_in, fd_out, len, flags);
}

long __wrap_syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return libc()->syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* fork ---------------------------------------------------------------------- *
 * The child gets a consistent instance of its own (docs/preload.md): a copy
 * of the queue behind a pipe of its own under the same numbers.  The fork
 * handler does O(1) work only: it re-initialises our two locks and marks
 * the child; the pipes are replaced after fork() has returned (our fork()
 * below, or the child's first call on a name when something else forked,
 * daemon() say), where allocating, locking and looping over the names is
 * allowed.  The names are the same numbers in the child, so the bitmap
 * stays valid there.
 *
 * No prepare handler: the loop's (sources/loop.h) quiesces the event
 * thread, and a thread inside fd_lock may be waiting for a lock the loop's
 * prepare already holds.  A fork from a thread that holds fd_lock or
 * high_lock (a signal handler that interrupted one of our calls) leaves
 * them and the pipes alone: that child is a copy of a thread inside the
 * library, which must exec or _exit.
 */
static uin_mutex_t fixup_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_PRELOAD_FIXUP);

static void atfork_child(void)
{
	if (uin_tls_locks)
		return; /* torn: see above */
	uin_mutex_reinit(&fd_lock);
	uin_mutex_reinit(&high_lock);
	uin_mutex_reinit(&fixup_lock);
	if (__atomic_load_n(&names_total, __ATOMIC_RELAXED))
		__atomic_store_n(&fork_fixup_pending, true, __ATOMIC_RELEASE);
}

/*
 * Under fixup_lock, in the child, before any call on a name goes on (so
 * nothing else uses an instance meanwhile, and the child's loop thread,
 * started by its first settle, comes after).
 */
static void fork_fixup_locked(void)
	UIN_REQUIRES(fixup_lock)
{
	uin_assert_held(&fixup_lock);
	if (uin_loop_fork_torn())
		return;
	int total = __atomic_load_n(&names_total, __ATOMIC_RELAXED);
	if (!total)
		return;
	int *names = malloc(sizeof *names * (size_t)total);
	struct uin_instance **insts = malloc(sizeof *insts * (size_t)total);
	int *group = malloc(sizeof *group * (size_t)total);
	if (!names || !insts || !group) {
		debug("fork: no memory: the child shares its parent's "
		      "readiness pipes");
		free(names);
		free(insts);
		free(group);
		return;
	}
	int n = 0;
	for (unsigned int w = 0;
	     w < FD_BITMAP_FDS / BITS_PER_WORD && n < total; w++) {
		unsigned long bits = __atomic_load_n(&fd_bits[w],
						     __ATOMIC_RELAXED);
		while (bits && n < total) {
			names[n++] = (int)(w * BITS_PER_WORD) +
				     __builtin_ctzl(bits);
			bits &= bits - 1;
		}
	}
	high_lock_take();
	for (int i = 0; i < high_count && n < total; i++)
		names[n++] = high_names[i];
	high_lock_drop();
	/* One pin per name; the instance's names grouped for its new pipe. */
	int kept = 0;
	for (int i = 0; i < n; i++) {
		struct uin_instance *inst = uin_instance_fork_pin(names[i]);
		if (!inst)
			continue;
		names[kept] = names[i];
		insts[kept++] = inst;
	}
	for (int i = 0; i < kept; i++) {
		bool first = true;
		for (int k = 0; k < i && first; k++)
			first = insts[k] != insts[i];
		if (!first)
			continue;
		int g = 0;
		for (int k = i; k < kept; k++)
			if (insts[k] == insts[i])
				group[g++] = names[k];
		int ret = uin_instance_fork_child(insts[i], group, g);
		if (ret < 0)
			debug("fork: instance %d keeps its parent's pipe: %s",
			      group[0], strerror(-ret));
	}
	for (int i = 0; i < kept; i++)
		uin_instance_fork_unpin(insts[i]);
	free(names);
	free(insts);
	free(group);
}

static void names_fork_fixup(void)
{
	uin_mutex_lock(&fixup_lock);
	if (__atomic_load_n(&fork_fixup_pending, __ATOMIC_ACQUIRE)) {
		fork_fixup_locked();
		__atomic_store_n(&fork_fixup_pending, false, __ATOMIC_RELEASE);
	}
	uin_mutex_unlock(&fixup_lock);
}

/*
 * fork() itself.  Before libc's: what the kernel has queued for our
 * instances is delivered, so that the child's copy of each queue holds
 * every event from before the fork (not from inside our own code, a
 * signal handler's fork: that would wait for this thread).  In the child,
 * once libc's fork() has returned: its own pipes, then its sources
 * re-armed (uin_loop_fork_settle: UINOTIFY_FORK_REARM, sync up to 1 000
 * kernel watches) and its event thread started, before the program goes
 * on, so that a change the child makes at once is reported to it, as with
 * Linux's shared queue.  Under ASan/TSan, whose fork interceptor wraps
 * this one and holds the allocator's locks until it returns, the thread
 * starts at the child's first read instead.
 */
EXPORT pid_t fork(void)
{
	if (__atomic_load_n(&names_total, __ATOMIC_RELAXED) &&
	    !uin_loop_held_here())
		uin_loop_drain();
	pid_t pid = libc()->fork();
	if (pid == 0) {
		if (__atomic_load_n(&fork_fixup_pending, __ATOMIC_ACQUIRE))
			names_fork_fixup();
		uin_loop_fork_settle(!UIN_SANITIZED);
	}
	return pid;
}

__attribute__((constructor(101))) static void preload_init(void)
{
	libc();
#ifdef UIN_TEST_HOOKS
	/* uinotify-preload-testing only: the faults a test asks for. */
	uin_fault_from_env();
	uin_fault_report_at_exit();
#endif
	debug_on = uin_env(UIN_ENV_DEBUG) != 0;
	pthread_atfork(NULL, NULL, atfork_child);
	/* The source new instances will have (a bad UINOTIFY_SOURCE was just
	 * reported, and is not what is used).  Read only for the line: a
	 * program that never watches hears nothing of a bad value. */
	if (debug_on) {
		char name[16];
		debug("loaded; source %s",
		      uin_cfg_value_text(uin_env_def(UIN_ENV_SOURCE),
					 uin_env(UIN_ENV_SOURCE), name,
					 sizeof name));
	}
}

int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return libc()->poll(fds, nfds, timeout);
}

int __wrap___poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
		      size_t fdslen)
{
	return libc()->poll_chk(fds, nfds, timeout, fdslen);
}

int __wrap_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		 const sigset_t *sigmask)
{
	return libc()->ppoll(fds, nfds, tmo, sigmask);
}

int __wrap___ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *tmo, const sigset_t *sigmask,
		       size_t fdslen)
{
	return libc()->ppoll_chk(fds, nfds, tmo, sigmask, fdslen);
}

int __wrap_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		  struct timeval *timeout)
{
	return libc()->select(nfds, rd, wr, ex, timeout);
}

int __wrap_pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		   const struct timespec *timeout, const sigset_t *sigmask)
{
	return libc()->pselect(nfds, rd, wr, ex, timeout, sigmask);
}

int __wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		      int timeout)
{
	return libc()->epoll_wait(epfd, events, maxevents, timeout);
}

int __wrap_epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
		       int timeout, const sigset_t *sigmask)
{
	return libc()->epoll_pwait(epfd, events, maxevents, timeout, sigmask);
}

int __wrap_epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
			const struct timespec *timeout,
			const sigset_t *sigmask)
{
	return libc()->epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
}
