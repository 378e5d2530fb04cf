/*
 * src/run/calls.c - the trapped calls other than reads, answered as Linux's
 * inotify answers them (docs/run.md; the spec's errno order).
 *
 * Which descriptor a call names is read from /proc/TID/fd: a pipe whose
 * inode is one of our instances' is ours; a real kernel inotify instance
 * (one received from outside the tree) is the kernel's, and the call is
 * CONTINUEd to it; anything else is not an instance (EINVAL), or, for the
 * calls we trap only because of the descriptor number (ioctl, fcntl...),
 * CONTINUEd untouched.
 */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uinotify/engine.h>

#include "run/instances.h"
#include "run/target.h"

#ifndef INOTIFY_IOC_SETNEXTWD
#define INOTIFY_IOC_SETNEXTWD _IOW('I', 0, int32_t)
#endif

enum owner { FD_BAD, FD_OURS, FD_KERNEL, FD_OTHER };

/*
 * Who fd of the caller is.  With check_path, an O_PATH descriptor is bad
 * (fdget refuses it: inotify_add_watch and rm_watch give EBADF).
 */
static enum owner owner_of(const struct run_call *c, int fd, bool check_path,
			   struct run_inst **ri)
{
	ino_t ino = 0;
	*ri = NULL;
	enum tgt_fd_kind k = tgt_fd_kind(c->tid, fd, &ino);
	if (k == TGT_FD_NONE)
		return FD_BAD;
	if (check_path) {
		int fl = tgt_fd_flags(c->tid, fd);
		if (fl == -EBADF || (fl >= 0 && (fl & O_PATH)))
			return FD_BAD;
	}
	if (k == TGT_FD_INOTIFY)
		return FD_KERNEL;
	if (k == TGT_FD_PIPE && (*ri = ri_find(ino)))
		return FD_OURS;
	return FD_OTHER;
}

/*
 * The answer of a call that changed something (a watch added, removed):
 * if a signal interrupted the caller meanwhile, keep it for the restart.
 */
static void answer_once(const struct run_call *c, int64_t val, int err)
{
	int sent = err ? run_reply_err(c, err) : run_reply(c, val);
	if (sent == -ENOENT)
		run_replay_keep(c, val, err);
}

/*
 * Installing a descriptor at a chosen number replaces what is there (as
 * dup2 does), so finding a free number and installing there is one step
 * for all of our installs: two threads of one program calling
 * inotify_init1 at once must not both take the same free number.  (The
 * program's own opens never reach our numbers unless its lower ones are
 * all taken: docs/run.md.)
 */
static uin_mutex_t install_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_RUN_INSTALL);

/* inotify_init1 ------------------------------------------------------------- */

static void do_init1(const struct run_call *c, int flags)
{
	if (flags & ~(IN_CLOEXEC | IN_NONBLOCK)) {
		run_reply_err(c, EINVAL);
		return;
	}
	struct run_inst *ri;
	int user_fd;
	int ret = ri_create(flags & IN_NONBLOCK, &ri, &user_fd);
	if (ret < 0) {
		run_debug("[%d] inotify_init1(%#x) = -1 %s", (int)c->tid, flags,
			  strerror(-ret));
		run_reply_err(c, -ret);
		return;
	}
	/* In the trapped range when it has room; otherwise wherever the
	 * kernel puts it (reads there are plain packet reads: docs/run.md). */
	ri_hand_over_begin();
	uin_mutex_lock(&install_lock);
	int slot = tgt_free_slot(c->tid, run_cfg.fd_lo,
				 run_cfg.fd_lo + run_cfg.fd_count);
	int fd = run_reply_addfd(c, user_fd, slot < 0 ? -1 : slot,
				 flags & IN_CLOEXEC);
	if (fd < 0 && fd != -ENOENT && slot >= 0)
		/* The slot is beyond the caller's RLIMIT_NOFILE. */
		fd = run_reply_addfd(c, user_fd, -1, flags & IN_CLOEXEC);
	uin_mutex_unlock(&install_lock);
	close(user_fd);
	ri_hand_over_end();
	if (fd < 0) {
		if (fd != -ENOENT)
			run_reply_err(c, fd == -EBADF ? EMFILE : -fd);
		ri_abandon(ri);
	} else {
		run_debug("[%d] inotify_init1(%#x) = %d (instance %lu%s)",
			  (int)c->tid, flags, fd, ri->id,
			  run_fd_trapped(fd) ? "" : ", untrapped number");
	}
	ri_put(ri);
}

/* inotify_add_watch --------------------------------------------------------- */

static void do_add_watch(const struct run_call *c)
{
	int fd = (int)c->args[0];
	uint32_t mask = (uint32_t)c->args[2];
	int err = 0;
	struct run_inst *ri = NULL;
	if ((mask & ~(uint32_t)UINOTIFY_ALL_BITS) ||
	    !(mask & UINOTIFY_ALL_BITS)) {
		run_reply_err(c, EINVAL);
		return;
	}
	enum owner o = owner_of(c, fd, true, &ri);
	if (o == FD_BAD)
		err = EBADF;
	else if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
		err = EINVAL;
	else if (o == FD_KERNEL) {
		run_reply_continue(c);
		return;
	} else if (o == FD_OTHER)
		err = EINVAL;
	if (err) {
		run_reply_err(c, err);
		goto out;
	}

	char path[PATH_MAX], lookup[PATH_MAX];
	err = -tgt_read_path(c->tid, c->args[1], path);
	if (!run_call_valid(c))
		goto out; /* gone: path may be another process's memory */
	if (err) {
		run_reply_err(c, err);
		goto out;
	}
	int dirfd;
	uint64_t resolve;
	struct tgt_creds cr;
	bool switched = false;
	int wd = tgt_lookup_base(c->tid, path, &dirfd, &resolve, lookup);
	if (wd == 0) {
		wd = tgt_creds(c->tid, &cr);
		if (wd == 0)
			wd = tgt_creds_enter(&cr, &switched);
		if (wd == 0)
			wd = uin_remote_add_watch(ri->ui, dirfd, lookup, mask,
						  resolve);
		tgt_creds_leave(switched);
		close(dirfd);
	}
	run_debug("[%d] inotify_add_watch(%d, \"%s\", %#x) = %d%s%s",
		  (int)c->tid, fd, path, mask, wd < 0 ? -1 : wd,
		  wd < 0 ? " " : "", wd < 0 ? strerror(-wd) : "");
	answer_once(c, wd < 0 ? 0 : wd, wd < 0 ? -wd : 0);
out:
	if (ri)
		ri_put(ri);
}

/* inotify_rm_watch ---------------------------------------------------------- */

static void do_rm_watch(const struct run_call *c)
{
	int fd = (int)c->args[0];
	struct run_inst *ri;
	switch (owner_of(c, fd, true, &ri)) {
	case FD_BAD:
		run_reply_err(c, EBADF);
		return;
	case FD_KERNEL:
		run_reply_continue(c);
		return;
	case FD_OTHER:
		run_reply_err(c, EINVAL);
		return;
	case FD_OURS:
		break;
	}
	int ret = uin_remote_rm_watch(ri->ui, (int)c->args[1]);
	run_debug("[%d] inotify_rm_watch(%d, %d) = %d", (int)c->tid, fd,
		  (int)c->args[1], ret < 0 ? -1 : 0);
	answer_once(c, 0, ret < 0 ? -ret : 0);
	ri_put(ri);
}

/* ioctl ----------------------------------------------------------------------- */

static void do_ioctl(const struct run_call *c)
{
	unsigned int request = (unsigned int)c->args[1];
	if (request == UIN_RUN_PROBE) {
		run_reply(c, UIN_RUN_PROBE_REPLY);
		return;
	}
	struct run_inst *ri;
	if (owner_of(c, (int)c->args[0], false, &ri) != FD_OURS) {
		run_reply_continue(c);
		return;
	}
	switch (request) {
	case FIONREAD: {
		/* After a read in progress has taken its records (read_lock),
		 * and with what the kernel source holds, which happened
		 * before this call. */
		uin_mutex_lock(&ri->read_lock);
		uin_remote_drain();
		int n = (int)rq_nread(ri->q);
		uin_mutex_unlock(&ri->read_lock);
		if (tgt_write(c->tid, c->args[2], &n, sizeof n) !=
		    (ssize_t)sizeof n)
			run_reply_err(c, EFAULT);
		else
			run_reply(c, 0);
		break;
	}
	case FIOCLEX:
	case FIONCLEX:
	case FIONBIO:
	case FIOASYNC:
	case FIGETBSZ:
		/* Answered by the VFS before the file: the same on a pipe. */
		run_reply_continue(c);
		break;
	default:
		if (request == (unsigned int)INOTIFY_IOC_SETNEXTWD) {
			int ret = uin_remote_set_next_wd(ri->ui, c->args[2]);
			if (ret < 0)
				run_reply_err(c, -ret);
			else
				run_reply(c, 0);
		} else {
			run_reply_err(c, ENOTTY);
		}
	}
	ri_put(ri);
}

/* dup, F_DUPFD ------------------------------------------------------------- */

/*
 * A new name for instance fd: in the trapped range, at the lowest free
 * number >= min there (dup() would take the lowest free number anywhere:
 * a documented difference); when the range is full, the kernel's choice.
 */
static void do_dup(const struct run_call *c, int fd, long min, bool cloexec)
{
	int lo = run_cfg.fd_lo, hi = run_cfg.fd_lo + run_cfg.fd_count;
	ri_hand_over_begin();
	int ours = tgt_get_fd(c->tid, fd);
	uin_mutex_lock(&install_lock);
	int slot = min >= hi || ours < 0
			   ? -EMFILE
			   : tgt_free_slot(c->tid, min > lo ? (int)min : lo, hi);
	int got = slot >= 0 ? run_reply_addfd(c, ours, slot, cloexec) : -EMFILE;
	uin_mutex_unlock(&install_lock);
	if (got < 0 && got != -ENOENT)
		run_reply_continue(c); /* range full, beyond RLIMIT_NOFILE */
	if (ours >= 0)
		close(ours);
	ri_hand_over_end();
}

static void do_fd_call(const struct run_call *c)
{
	int fd = (int)(c->nr == SYS_sendfile ? c->args[1] : c->args[0]);
	struct run_inst *ri;
	if (owner_of(c, fd, false, &ri) != FD_OURS) {
		run_reply_continue(c);
		return;
	}
	switch (c->nr) {
	case SYS_dup:
		do_dup(c, fd, 0, false);
		break;
	case SYS_fcntl: {
		int cmd = (int)c->args[1];
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
			long min = (long)(int)c->args[2];
			if (min < 0)
				run_reply_err(c, EINVAL);
			else
				do_dup(c, fd, min, cmd == F_DUPFD_CLOEXEC);
		} else {
			/* F_GETPIPE_SZ/F_SETPIPE_SZ: not a pipe to Linux. */
			run_reply_err(c, EBADF);
		}
		break;
	}
	case SYS_lseek:
		/* inotify's noop_llseek: the position stays 0. */
		run_reply(c, 0);
		break;
	default:
		/* splice, tee, sendfile: inotify has no splice_read. */
		run_reply_err(c, EINVAL);
	}
	ri_put(ri);
}

/* Dispatch ------------------------------------------------------------------ */

void run_call_dispatch(const struct run_call *c)
{
	int64_t val;
	int err;
	if (c->nr == SYS_inotify_add_watch || c->nr == SYS_inotify_rm_watch) {
		if (run_replay_begin(c, &val, &err)) {
			run_debug("[%d] restarted call answered as before",
				  (int)c->tid);
			answer_once(c, val, err);
		} else if (c->nr == SYS_inotify_add_watch) {
			do_add_watch(c);
		} else {
			do_rm_watch(c);
		}
		run_replay_end(c);
		return;
	}
	switch (c->nr) {
#ifdef SYS_inotify_init
	case SYS_inotify_init:
		do_init1(c, 0);
		break;
#endif
	case SYS_inotify_init1:
		do_init1(c, (int)c->args[0]);
		break;
	case SYS_ioctl:
		do_ioctl(c);
		break;
	default:
		do_fd_call(c);
	}
}
