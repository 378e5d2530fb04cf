/*
 * src/run/filter.c - the seccomp filters that send a program's inotify
 * calls to the supervisor, built with libseccomp and loaded with seccomp(2)
 * so that each can have the flags it needs.
 *
 * WHAT IS TRAPPED.  Everything else is allowed by the BPF program in the
 * kernel and never leaves it; syscalls whose decision does not depend on
 * their arguments do not even run the program (the kernel's seccomp
 * action cache).
 *
 *   always                inotify_init, inotify_init1, inotify_add_watch,
 *                         inotify_rm_watch
 *   on a descriptor in    read, readv, preadv2, ioctl, dup, lseek, splice,
 *   the reserved range    tee, sendfile (its in_fd), fcntl(F_DUPFD,
 *                         F_DUPFD_CLOEXEC, F_GETPIPE_SZ, F_SETPIPE_SZ)
 *   any descriptor        ioctl(fd, UIN_RUN_PROBE)
 *
 * ONE FILTER, INTERRUPTIBLE.  A process may have only one listener in its
 * filter chain (EBUSY for a second).  Its waits are interruptible, as
 * Linux's inotify_read is (EINTR, or a restart under SA_RESTART); we do
 * not set SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which would make a
 * blocked read deaf to every signal but fatal ones.  The price: a call
 * that Linux never interrupts can be interrupted while we serve it.  With
 * SA_RESTART (Go's runtime, libuv) it comes again and serve.c answers it
 * with the result already computed; without, the caller sees EINTR
 * (docs/run.md).
 *
 * Other architectures (i386 and x32 programs on x86_64) are allowed
 * untouched: their inotify calls reach the kernel's inotify.  The filter
 * needs no_new_privs (set here), so setuid programs run without their
 * privileges under uinotify-run.
 */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fd & mask == fd_lo: the fd is in the range (32-bit: the kernel reads an
 * int; what a program leaves in the upper half does not count). */
#define IN_RANGE(arg)                                                          \
	SCMP_CMP32(arg, SCMP_CMP_MASKED_EQ,                                    \
		   (uint32_t) ~(uint32_t)(run_cfg.fd_count - 1),               \
		   (uint32_t)run_cfg.fd_lo)

/* The low 32 bits equal v (fcntl's cmd and ioctl's request are read as
 * 32-bit by the kernel too). */
#define IS_32(arg, v)                                                          \
	SCMP_CMP32(arg, SCMP_CMP_MASKED_EQ, (uint32_t)0xffffffff, (uint32_t)(v))

static int add(scmp_filter_ctx ctx, const char *name, unsigned n,
	       struct scmp_arg_cmp a, struct scmp_arg_cmp b)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture (inotify_init on arm64) */
	struct scmp_arg_cmp cmp[2] = {a, b};
	return seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, n, cmp);
}

static int build(scmp_filter_ctx ctx)
{
	static const struct scmp_arg_cmp none = {0};
	static const char *always[] = {"inotify_init", "inotify_init1",
				       "inotify_add_watch",
				       "inotify_rm_watch"};
	static const char *on_fd[] = {"read",  "readv", "preadv2", "ioctl",
				      "dup",   "lseek", "splice",  "tee"};
	static const int fcntl_cmds[] = {F_DUPFD, F_DUPFD_CLOEXEC,
					 F_GETPIPE_SZ, F_SETPIPE_SZ};
	int ret = 0;
	for (unsigned i = 0; !ret && i < sizeof always / sizeof *always; i++)
		ret = add(ctx, always[i], 0, none, none);
	for (unsigned i = 0; !ret && i < sizeof on_fd / sizeof *on_fd; i++)
		ret = add(ctx, on_fd[i], 1, IN_RANGE(0), none);
	for (unsigned i = 0; !ret && i < sizeof fcntl_cmds / sizeof *fcntl_cmds;
	     i++)
		ret = add(ctx, "fcntl", 2, IN_RANGE(0),
			  IS_32(1, fcntl_cmds[i]));
	if (!ret)
		ret = add(ctx, "sendfile", 1, IN_RANGE(1), none);
	if (!ret)
		ret = add(ctx, "ioctl", 1,
			  IS_32(1, UIN_RUN_PROBE), none);
	return ret;
}

/* Build with libseccomp, export the BPF, load it ourselves with flags. */
static int load(int *listener, char *why, size_t why_len)
{
	int ret;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(why, why_len, "seccomp_init failed");
		return -ENOMEM;
	}
	int memfd = -1;
	/* Programs of other architectures run untouched, not killed. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!ret)
		ret = build(ctx);
	if (ret) {
		snprintf(why, why_len, "building the filter: %s",
			 strerror(-ret));
		goto out;
	}
	memfd = (int)syscall(SYS_memfd_create, "uinotify-run-bpf", MFD_CLOEXEC);
	if (memfd < 0 || (ret = seccomp_export_bpf(ctx, memfd)) != 0) {
		ret = memfd < 0 ? -errno : ret;
		snprintf(why, why_len, "exporting the filter: %s",
			 strerror(-ret));
		goto out;
	}
	struct stat st;
	if (fstat(memfd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter)) {
		ret = -EINVAL;
		snprintf(why, why_len, "the exported filter is malformed");
		goto out;
	}
	struct sock_filter *insns = malloc((size_t)st.st_size);
	if (!insns || pread(memfd, insns, (size_t)st.st_size, 0) != st.st_size) {
		free(insns);
		ret = -ENOMEM;
		snprintf(why, why_len, "reading the filter back");
		goto out;
	}
	struct sock_fprog prog = {
		.len = (unsigned short)(st.st_size / (off_t)sizeof *insns),
		.filter = insns,
	};
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	ret = fd < 0 ? -errno : 0;
	if (fd < 0)
		snprintf(why, why_len, "seccomp(SECCOMP_SET_MODE_FILTER): %s",
			 strerror(errno));
	else
		*listener = fd;
	free(insns);
out:
	if (memfd >= 0)
		close(memfd);
	seccomp_release(ctx);
	return ret;
}

int run_filter_install(int *listener, char *why, size_t why_len)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, why_len, "prctl(PR_SET_NO_NEW_PRIVS): %s",
			 strerror(errno));
		return -errno;
	}
	return load(listener, why, why_len);
}
