/*
 * src/run/target.h - what the supervisor reads of a traced process: its
 * memory, its descriptors, its working directory, root and credentials.
 *
 * Everything here names the process by the thread id that made the call
 * (/proc/TID/... exists for every thread).  None of it proves the thread is
 * still in that call: the pid may be reused at any moment.  Callers check
 * SECCOMP_IOCTL_NOTIF_ID_VALID after reading and before acting (serve.c).
 *
 * Functions return 0 (or a value) or a negative errno.
 */
#ifndef UIN_RUN_TARGET_H
#define UIN_RUN_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* len bytes at addr: 0, or -EFAULT (any byte unreadable), -ESRCH, -EPERM. */
int tgt_read(pid_t tid, uint64_t addr, void *buf, size_t len);
/* Bytes written from the start (fewer than len if a page faulted), or
 * -EFAULT when not even the first byte could be written, -ESRCH, -EPERM. */
ssize_t tgt_write(pid_t tid, uint64_t addr, const void *buf, size_t len);
/* A path argument, as getname() takes it: 0, -EFAULT (NULL or a fault
 * before the NUL), -ENAMETOOLONG (no NUL in PATH_MAX bytes). */
int tgt_read_path(pid_t tid, uint64_t addr, char out[PATH_MAX]);

enum tgt_fd_kind {
	TGT_FD_NONE,    /* not open: EBADF */
	TGT_FD_PIPE,    /* a pipe; *ino says which */
	TGT_FD_INOTIFY, /* a real kernel inotify instance */
	TGT_FD_OTHER,
};
enum tgt_fd_kind tgt_fd_kind(pid_t tid, int fd, ino_t *ino);
/* The descriptor's open flags (f_flags, O_PATH and O_NONBLOCK included). */
int tgt_fd_flags(pid_t tid, int fd);
/* The lowest descriptor number in [lo, hi) that is not open, or -EMFILE. */
int tgt_free_slot(pid_t tid, int lo, int hi);
/* Our own descriptor for the caller's fd (same open file description). */
int tgt_get_fd(pid_t tid, int fd);

/*
 * Where the caller's relative paths start and what its "/" is: *dirfd
 * (ours, O_PATH) and the openat2 RESOLVE_* flags that make a lookup from
 * it the caller's; *path_out is the path to look up (path itself, or, in
 * another root, path made relative to that root).  0 or -errno.
 */
int tgt_lookup_base(pid_t tid, const char *path, int *dirfd,
		    uint64_t *resolve, char path_out[PATH_MAX]);

/* The identity that permission checks use: fsuid, fsgid, groups. */
struct tgt_creds {
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[NGROUPS_MAX];
};
int tgt_creds(pid_t tid, struct tgt_creds *out);
/*
 * Take c's identity in the calling thread only (raw setfsuid, setfsgid,
 * setgroups syscalls, which are per thread), unless it is ours already;
 * tgt_creds_leave gives ours back.  *switched says whether anything was
 * changed.  0 or -errno (e.g. -EPERM: we cannot become it).
 */
int tgt_creds_enter(const struct tgt_creds *c, bool *switched);
void tgt_creds_leave(bool switched);

#endif
