/*
 * src/preload/preload.h - declarations for libuinotify-preload.so.
 *
 * The library exports the libc functions it interposes (listed in
 * exports.map); the prototypes libc's headers do not give are here.
 *
 * The library's own objects (engine, instance, sources) are linked with
 * --wrap for every interposed name, so their calls reach libc through the
 * __wrap_* trampolines below and never the interposers: the kernel source's
 * own inotify_init1 must create a kernel instance, the instance's read of
 * its readiness bytes must read the pipe.
 */
#ifndef UIN_PRELOAD_PRELOAD_H
#define UIN_PRELOAD_PRELOAD_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Interposed libc entry points that glibc's headers leave undeclared. */
int __close(int fd);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
void __chk_fail(void) __attribute__((noreturn));
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		const sigset_t *sigmask, size_t fdslen);

/* The library's objects call these instead of libc's names (--wrap). */
int __wrap_inotify_init(void);
int __wrap_inotify_init1(int flags);
int __wrap_inotify_add_watch(int fd, const char *path, uint32_t mask);
int __wrap_inotify_rm_watch(int fd, int wd);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int iovcnt);
int __wrap_close(int fd);
int __wrap___close(int fd);
int __wrap_close_range(unsigned int first, unsigned int last, int flags);
void __wrap_closefrom(int lowfd);
int __wrap_ioctl(int fd, unsigned long request, ...);
int __wrap_fcntl(int fd, int cmd, ...);
int __wrap_fcntl64(int fd, int cmd, ...);
int __wrap_dup(int fd);
int __wrap_dup2(int fd, int new_fd);
int __wrap_dup3(int fd, int new_fd, int flags);
off_t __wrap_lseek(int fd, off_t offset, int whence);
off64_t __wrap_lseek64(int fd, off64_t offset, int whence);
ssize_t __wrap_splice(int fd_in, off64_t *off_in, int fd_out,
		      off64_t *off_out, size_t len, unsigned int flags);
ssize_t __wrap_tee(int fd_in, int fd_out, size_t len, unsigned int flags);
long __wrap_syscall(long number, ...);
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __wrap___poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
		      size_t fdslen);
int __wrap_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		 const sigset_t *sigmask);
int __wrap___ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *tmo, const sigset_t *sigmask,
		       size_t fdslen);
int __wrap_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		  struct timeval *timeout);
int __wrap_pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		   const struct timespec *timeout, const sigset_t *sigmask);
int __wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		      int timeout);
int __wrap_epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
		       int timeout, const sigset_t *sigmask);
int __wrap_epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
			const struct timespec *timeout,
			const sigset_t *sigmask);

#endif
