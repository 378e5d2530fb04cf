/*
 * src/run/target.c - reading a traced process (target.h).
 *
 * Memory goes through process_vm_readv/writev (one syscall, no descriptor),
 * falling back to /proc/TID/mem where those are filtered out (old container
 * profiles).  Both need ptrace access to the process: the supervisor runs as
 * the same user as the program, and is its ancestor (launch.c), which is
 * what Yama's ptrace_scope 1 asks for.  Descriptors, directories and
 * credentials come from /proc/TID.
 */
#include "run/target.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Memory -------------------------------------------------------------------- */

/* Receivers ask at once; the first answer is as good as any. */
static long page_size(void)
{
	static _Atomic long ps;
	long v = atomic_load_explicit(&ps, memory_order_relaxed);
	if (!v) {
		v = sysconf(_SC_PAGESIZE);
		if (v <= 0)
			v = 4096;
		atomic_store_explicit(&ps, v, memory_order_relaxed);
	}
	return v;
}

static ssize_t mem_fallback(pid_t tid, uint64_t addr, void *buf, size_t len,
			    bool write)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr)
			  : pread(fd, buf, len, (off_t)addr);
	int err = errno;
	close(fd);
	if (n < 0)
		return err == EIO ? -EFAULT : -err;
	return n;
}

/* One transfer that stays within a page run; bytes done or -errno. */
static ssize_t xfer(pid_t tid, uint64_t addr, void *buf, size_t len,
		    bool write)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = write ? process_vm_writev(tid, &local, 1, &remote, 1, 0)
			  : process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (n >= 0)
		return n;
	if (errno == ENOSYS || errno == EPERM)
		return mem_fallback(tid, addr, buf, len, write);
	return -errno;
}

int tgt_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!addr)
		return -EFAULT;
	ssize_t n = xfer(tid, addr, buf, len, false);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

ssize_t tgt_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!addr)
		return -EFAULT;
	/* process_vm_writev stops at the first page it cannot write and
	 * says how far it got: exactly what EFAULT accounting needs. */
	ssize_t n = xfer(tid, addr, (void *)buf, len, true);
	if (n == 0)
		return -EFAULT;
	return n;
}

int tgt_read_path(pid_t tid, uint64_t addr, char out[PATH_MAX])
{
	if (!addr)
		return -EFAULT;
	size_t got = 0;
	while (got < PATH_MAX) {
		/* Never ask across a page we may not own: a read that
		 * straddles an unmapped page would fail as a whole. */
		uint64_t at = addr + got;
		size_t chunk = (size_t)(page_size() - (long)(at % page_size()));
		if (chunk > PATH_MAX - got)
			chunk = PATH_MAX - got;
		ssize_t n = xfer(tid, at, out + got, chunk, false);
		if (n <= 0)
			return n < 0 && n != -EFAULT ? (int)n : -EFAULT;
		char *nul = memchr(out + got, '\0', (size_t)n);
		if (nul)
			return 0;
		got += (size_t)n;
		if ((size_t)n < chunk)
			return -EFAULT;
	}
	return -ENAMETOOLONG;
}

/* Descriptors --------------------------------------------------------------- */

enum tgt_fd_kind tgt_fd_kind(pid_t tid, int fd, ino_t *ino)
{
	char path[64], link[128];
	if (fd < 0)
		return TGT_FD_NONE;
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n < 0)
		return errno == ENOENT ? TGT_FD_NONE : TGT_FD_OTHER;
	link[n] = 0;
	unsigned long long v;
	if (sscanf(link, "pipe:[%llu]", &v) == 1) {
		*ino = (ino_t)v;
		return TGT_FD_PIPE;
	}
	if (!strcmp(link, "anon_inode:inotify"))
		return TGT_FD_INOTIFY;
	return TGT_FD_OTHER;
}

int tgt_fd_flags(pid_t tid, int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)tid, fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return errno == ENOENT ? -EBADF : -errno;
	ssize_t n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return -EBADF;
	buf[n] = 0;
	const char *p = strstr(buf, "flags:");
	if (!p)
		return -EBADF;
	return (int)strtol(p + 6, NULL, 8);
}

int tgt_free_slot(pid_t tid, int lo, int hi)
{
	char path[64];
	for (int fd = lo; fd < hi; fd++) {
		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
		struct stat st;
		if (lstat(path, &st) < 0 && errno == ENOENT)
			return fd;
	}
	return -EMFILE;
}

/* The thread group of a thread id, from /proc/TID/status. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	ssize_t n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *p = strstr(buf, "\nTgid:");
	return p ? (pid_t)atoi(p + 6) : -1;
}

int tgt_get_fd(pid_t tid, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (pfd < 0) {
		pid_t tg = tgid_of(tid);
		pfd = tg > 0 ? (int)syscall(SYS_pidfd_open, tg, 0) : -1;
	}
	if (pfd < 0)
		return -errno;
	int ours = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	int err = errno;
	close(pfd);
	return ours < 0 ? -err : ours;
}

/* Directories --------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int tgt_lookup_base(pid_t tid, const char *path, int *dirfd,
		    uint64_t *resolve, char path_out[PATH_MAX])
{
	char proc[64];
	struct stat root, ours;
	snprintf(proc, sizeof proc, "/proc/%d/root", (int)tid);
	if (stat(proc, &root) < 0 || stat("/", &ours) < 0)
		return -errno;
	*resolve = 0;
	if (same_file(&root, &ours)) {
		/* The common case: only the working directory is the
		 * caller's; absolute paths start at our "/" too. */
		snprintf(proc, sizeof proc, "/proc/%d/cwd", (int)tid);
		*dirfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd < 0)
			return -errno;
		snprintf(path_out, PATH_MAX, "%s", path);
		return 0;
	}
	/* Another root (chroot, pivot_root): look up from it with
	 * RESOLVE_IN_ROOT, so "/" and ".." stay inside; a relative path
	 * starts at the working directory seen from that root. */
	*dirfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	*resolve = RESOLVE_IN_ROOT;
	if (path[0] == '/') {
		snprintf(path_out, PATH_MAX, "%s", path);
		return 0;
	}
	char cwd[PATH_MAX], rootp[PATH_MAX];
	snprintf(proc, sizeof proc, "/proc/%d/cwd", (int)tid);
	ssize_t c = readlink(proc, cwd, sizeof cwd - 1);
	snprintf(proc, sizeof proc, "/proc/%d/root", (int)tid);
	ssize_t r = readlink(proc, rootp, sizeof rootp - 1);
	if (c < 0 || r < 0) {
		close(*dirfd);
		return -errno;
	}
	cwd[c] = rootp[r] = 0;
	size_t rl = !strcmp(rootp, "/") ? 0 : (size_t)r;
	if (strncmp(cwd, rootp, rl) || (cwd[rl] && cwd[rl] != '/')) {
		close(*dirfd);
		return -ENOENT; /* a working directory outside its root */
	}
	if (snprintf(path_out, PATH_MAX, "%s/%s", cwd[rl] ? cwd + rl : "",
		     path) >= PATH_MAX) {
		close(*dirfd);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Credentials ---------------------------------------------------------------- */

/* The 4th number of a "Uid:\tr\te\ts\tfs" line. */
static long fourth(const char *line)
{
	long v = -1;
	sscanf(line, "%*s %*d %*d %*d %ld", &v);
	return v;
}

int tgt_creds(pid_t tid, struct tgt_creds *out)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	ssize_t n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	const char *u = strstr(buf, "\nUid:"), *g = strstr(buf, "\nGid:"),
		   *gr = strstr(buf, "\nGroups:");
	if (!u || !g || !gr)
		return -ESRCH;
	out->fsuid = (uid_t)fourth(u + 1);
	out->fsgid = (gid_t)fourth(g + 1);
	out->ngroups = 0;
	char *p = (char *)gr + 8, *end;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p || out->ngroups == NGROUPS_MAX)
			break;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out->groups[out->ngroups++] = (gid_t)v;
		p = end;
	}
	return 0;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return x < y ? -1 : x > y;
}

static bool same_creds(const struct tgt_creds *a, struct tgt_creds *b)
{
	if (a->fsuid != b->fsuid || a->fsgid != b->fsgid ||
	    a->ngroups != b->ngroups)
		return false;
	gid_t x[NGROUPS_MAX];
	memcpy(x, a->groups, (size_t)a->ngroups * sizeof x[0]);
	qsort(x, (size_t)a->ngroups, sizeof x[0], cmp_gid);
	qsort(b->groups, (size_t)b->ngroups, sizeof x[0], cmp_gid);
	return !memcmp(x, b->groups, (size_t)a->ngroups * sizeof x[0]);
}

static struct tgt_creds own;
static bool own_ok;
static pthread_once_t own_once = PTHREAD_ONCE_INIT;

static void own_init(void)
{
	own_ok = tgt_creds((pid_t)syscall(SYS_gettid), &own) == 0;
}

int tgt_creds_enter(const struct tgt_creds *c, bool *switched)
{
	*switched = false;
	pthread_once(&own_once, own_init);
	struct tgt_creds mine = own;
	if (own_ok && same_creds(c, &mine))
		return 0;
	/* Per thread: glibc's wrappers would change every thread. */
	if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0)
		return -errno;
	syscall(SYS_setfsgid, c->fsgid);
	syscall(SYS_setfsuid, c->fsuid);
	*switched = true;
	if ((uid_t)syscall(SYS_setfsuid, -1) != c->fsuid ||
	    (gid_t)syscall(SYS_setfsgid, -1) != c->fsgid) {
		tgt_creds_leave(true);
		*switched = false;
		return -EPERM;
	}
	return 0;
}

void tgt_creds_leave(bool switched)
{
	if (!switched)
		return;
	syscall(SYS_setfsuid, own.fsuid);
	syscall(SYS_setfsgid, own.fsgid);
	syscall(SYS_setgroups, (size_t)own.ngroups, own.groups);
}
