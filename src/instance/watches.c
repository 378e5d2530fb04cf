/*
 * src/instance/watches.c - the engine ops of an instance and the calls
 * that take an instance fd: add_watch, rm_watch, read, ioctl.
 * Locks and lifetimes: see the top of instance.c.
 */
#include "instance/instance.h"
#include "sources/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "instance/usermem.h"
#include "sources/source.h"

#ifndef INOTIFY_IOC_SETNEXTWD
#define INOTIFY_IOC_SETNEXTWD _IOW('I', 0, int32_t)
#endif

/* Engine ops ----------------------------------------------------------------- */

/* Runs under the inode and handle locks (engine.h CONTRACT). */
static void inst_handle_event(struct uinotify_watch *watch, int32_t wd,
			      uint32_t mask, uint32_t cookie, const char *name,
			      struct uinotify_inode *name_inode)
{
	struct uin_iwatch *iw = uin_iwatch_of(watch);
	(void)name_inode;
	int saved = errno; /* a hook must not clobber its caller's errno */
	uin_queue_event(iw->inst, wd, mask, cookie, name);
	/* IN_IGNORED is the last call for this watch: the final put,
	 * matching uinotify_watch_init in new_watch. */
	if (mask & IN_IGNORED)
		uinotify_watch_put(watch);
	errno = saved;
}

/* The last reference: free_inotify_user_watch of 2006. */
static void inst_destroy_watch(struct uinotify_watch *watch)
{
	struct uin_iwatch *iw = uin_iwatch_of(watch);
	struct uin_instance *inst = iw->inst;
	uin_free(iw);
	uin_watches_uncharge();      /* counted until the final put */
	uin_instance_put_ref(inst);  /* matches the get in new_watch */
}

static void inst_queue_overflow(struct uinotify_handle *handle, void *user)
{
	(void)handle;
	uin_queue_overflow(user);
}

const struct uinotify_ops uin_instance_ops = {
	.handle_event = inst_handle_event,
	.destroy_watch = inst_destroy_watch,
	.queue_overflow = inst_queue_overflow,
};

/* Watches --------------------------------------------------------------------- */

static int32_t next_cursor(int32_t wd)
{
	return wd == INT32_MAX ? 1 : wd + 1;
}

/* Under add_lock.  A new watch: inotify_new_watch. */
static int new_watch(struct uin_instance *inst, struct uinotify_inode *inode,
		     uint32_t mask)
	UIN_REQUIRES(inst->add_lock)
{
	uin_assert_held(&inst->add_lock);
	struct uin_iwatch *iw = uin_malloc(sizeof *iw);
	if (!iw)
		return -ENOMEM;
	if (!uin_watches_charge()) {
		uin_free(iw);
		/* The kernel allocates the wd before it charges the watch,
		 * and idr_alloc_cyclic's cursor stays past it: every ENOSPC
		 * burns a wd.  Our cursor copy is exact unless SETNEXTWD
		 * pointed it at a wd in use. */
		inst->wd_cursor = next_cursor(inst->wd_cursor);
		uinotify_handle_set_next_wd(inst->handle, inst->wd_cursor);
		return -ENOSPC;
	}
	uinotify_watch_init(&iw->watch);
	iw->inst = inst;
	uin_instance_get_ref(inst); /* put in inst_destroy_watch */
	int32_t wd = uinotify_watch_add(inst->handle, &iw->watch, inode, mask);
	if (wd < 0) {
		/* A failed add leaves the watch as init left it: ours. */
		uin_instance_put_ref(inst);
		uin_watches_uncharge();
		uin_free(iw);
		return wd;
	}
	inst->wd_cursor = next_cursor(wd);
	return wd;
}

static int update_watch(struct uin_instance *inst,
			struct uinotify_inode *inode, uint32_t mask)
{
	uin_mutex_lock(&inst->add_lock);
	int ret = uinotify_watch_find_update(inst->handle, inode, mask);
	if (ret == -ENOENT)
		ret = new_watch(inst, inode, mask);
	uin_mutex_unlock(&inst->add_lock);
	return ret;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* The checks in the order of the inotify_add_watch syscall body. */
UINOTIFY_EXPORT int uinotify_add_watch(int fd, const char *path,
				       uint32_t mask)
{
	if (mask & ~(uint32_t)UINOTIFY_ALL_BITS)
		return fail(EINVAL);
	if (!(mask & UINOTIFY_ALL_BITS))
		return fail(EINVAL);
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret == -EBADF)
		return fail(EBADF);
	if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)) {
		if (ret == 0)
			uin_instance_put_user(inst);
		return fail(EINVAL);
	}
	if (ret < 0)
		return fail(EINVAL);

	ret = uin_instance_add_watch_at(inst, AT_FDCWD, path, mask, 0);
	uin_instance_put_user(inst);
	return ret < 0 ? fail(-ret) : ret;
}

/* The part of inotify_add_watch after the fd checks: lookup, then add. */
int uin_instance_add_watch_at(struct uin_instance *inst, int dirfd,
			      const char *path, uint32_t mask,
			      uint64_t resolve)
{
	struct uin_resolved r;
	int ret = uin_resolve_path_at(dirfd, path, mask, resolve, &r);
	if (ret == 0) {
		struct uinotify_inode *inode;
		ret = uin_source_inode_get_ex(
			atomic_load(&inst->source), &r,
			atomic_load(&inst->recovery) ? UIN_SOURCE_RECOVER : 0,
			&inode);
		if (ret == 0) {
			/* r stays open: the source's mask_changed, run by
			 * the add, may use its fd (kernel.c, update). */
			ret = update_watch(inst, inode, mask);
			uinotify_inode_put(inode); /* the source's reference */
		}
		uin_resolved_release(&r);
	}
	/* The descriptors we open for the lookup and to watch (the path's,
	 * the kernel source's, the scanner's) are no descriptor of the
	 * caller's for inotify_add_watch: out of them is a resource the
	 * kernel failed to get, ENOSPC. */
	if (ret == -EMFILE || ret == -ENFILE)
		ret = -ENOSPC;
	return ret;
}

int uin_instance_rm_wd(struct uin_instance *inst, int wd)
{
	/* Events the sources already hold were queued, for a kernel reader,
	 * before this call: they must reach the queue ahead of IN_IGNORED. */
	uin_loop_drain();
	return uinotify_watch_rm_wd(inst->handle, wd);
}

int uin_instance_set_next_wd(struct uin_instance *inst, unsigned long next)
{
	if (next < 1 || next > INT_MAX)
		return -EINVAL;
	uin_mutex_lock(&inst->add_lock);
	int ret = uinotify_handle_set_next_wd(inst->handle, (int32_t)next);
	if (ret == 0)
		inst->wd_cursor = (int32_t)next;
	uin_mutex_unlock(&inst->add_lock);
	return ret;
}

UINOTIFY_EXPORT int uinotify_rm_watch(int fd, int wd)
{
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return fail(ret == -EBADF ? EBADF : EINVAL);
	ret = uin_instance_rm_wd(inst, wd);
	uin_instance_put_user(inst);
	return ret < 0 ? fail(-ret) : 0;
}

/* read and ioctl ------------------------------------------------------------- */

UINOTIFY_EXPORT ssize_t uinotify_read(int fd, void *buf, size_t len)
{
	struct uin_instance *inst = uin_instance_find(fd);
	if (!inst)
		return read(fd, buf, len);
	/* What the sources hold happened before this read, as it would have
	 * for a kernel reader: deliver it first (merges included). */
	uin_loop_drain();
	ssize_t ret = uin_queue_read(inst, fd, buf, len);
	int err = errno;
	uin_instance_put_user(inst);
	errno = err;
	return ret;
}

/*
 * FIONREAD and INOTIFY_IOC_SETNEXTWD (whose argument is the value itself),
 * else ENOTTY, as inotify_ioctl.  An fd that is not an instance gets the
 * real ioctl(), so that the LD_PRELOAD layer can route every ioctl here.
 */
UINOTIFY_EXPORT int uinotify_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct uin_instance *inst = uin_instance_find(fd);
	if (!inst)
		return ioctl(fd, request, arg);
	int ret;
	if (request == FIONREAD) {
		uin_loop_drain();
		int n;
		ret = uin_queue_nread(inst, &n);
		/* put_user: a bad pointer is EFAULT, not a crash. */
		if (ret == 0)
			ret = uin_user_put_int((uintptr_t)arg, n);
	} else if (request == (unsigned long)INOTIFY_IOC_SETNEXTWD) {
		ret = uin_instance_set_next_wd(inst, (unsigned long)arg);
	} else {
		ret = -ENOTTY;
	}
	int err = errno;
	uin_instance_put_user(inst);
	if (ret < 0)
		return fail(-ret);
	errno = err;
	return 0;
}
