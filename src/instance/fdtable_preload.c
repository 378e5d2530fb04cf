/*
 * src/instance/fdtable_preload.c - the calls of preload_api.h that can be
 * built on instance.h: naming a dup, and the fork child's own pipe.
 *
 * Why the child needs its own pipe: after fork both processes hold the same
 * pipe (the user's read end and our iofd), but each has its own copy of the
 * queue.  The parent's loop would write tokens the child reads and the
 * child's reads would consume the parent's tokens, so neither process's
 * readiness would mean anything.  With a pipe of its own, the child's
 * instance is a consistent copy: its queue as it was at the fork, one token
 * per queued event.
 */
#include "instance/preload_api.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/fault.h"
#include "instance/instance.h"

int uin_instance_fd_alias(int fd, int new_fd)
{
	struct uin_instance *inst, *other;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	/* The lookup by pipe identity records that a dup exists, which
	 * uinotify_close needs before it may tear the instance down. */
	ret = uin_instance_get(new_fd, &other);
	if (ret == 0) {
		ret = other == inst ? 0 : -EEXIST;
		uin_instance_put_user(other);
	}
	int n = atomic_load(&inst->named);
	while (ret == 0 && n >= 0 &&
	       !atomic_compare_exchange_weak(&inst->named, &n, n + 1))
		;
	uin_instance_put_user(inst);
	return ret;
}

int uin_instance_count_names(int fd)
{
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	int unknown = -1;
	atomic_compare_exchange_strong(&inst->named, &unknown, 0);
	uin_instance_put_user(inst);
	return 0;
}

struct uin_instance *uin_instance_fork_pin(int fd)
{
	struct uin_instance *inst;
	return uin_instance_get(fd, &inst) < 0 ? NULL : inst;
}

void uin_instance_fork_unpin(struct uin_instance *inst)
{
	uin_instance_put_user(inst);
}

/* As instance.c's open_iofd: our end, reopened O_RDWR when /proc allows. */
static int child_iofd(struct uin_instance *inst, int wfd, bool *io_reads)
{
	if (inst->io_reads) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", wfd);
		int fd = UIN_SYS_RETRY("preload.fork.open_iofd",
				       open(path,
					    O_RDWR | O_NONBLOCK | O_CLOEXEC));
		if (fd >= 0) {
			close(wfd);
			*io_reads = true;
			return fd;
		}
	}
	int fl = fcntl(wfd, F_GETFL);
	if (fl < 0 || fcntl(wfd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	*io_reads = false;
	return wfd;
}

int uin_instance_fork_child(struct uin_instance *inst, const int *names,
			       int n)
{
	if (n <= 0 || inst->dead)
		return -EINVAL;
	/* The event thread was quiesced by the fork handlers, but a reader
	 * of the parent may have held q_lock at the fork: it is not in the
	 * child, and nothing else of the child uses inst yet. */
	uin_mutex_reinit(&inst->q_lock);
	int fl = UIN_SYS_RETRY("preload.fork.getfl", fcntl(names[0], F_GETFL));
	if (fl < 0)
		return -errno;
	int p[2];
	if (UIN_SYS_RETRY("preload.fork.pipe2",
			  pipe2(p, O_CLOEXEC | (fl & O_NONBLOCK))) < 0)
		return -errno;
	bool io_reads;
	int iofd = child_iofd(inst, p[1], &io_reads);
	if (iofd < 0) {
		close(p[0]);
		close(p[1]);
		return iofd;
	}
	long need = (long)inst->max_events + 1;
	if (need > 4096 && need <= INT_MAX &&
	    fcntl(iofd, F_GETPIPE_SZ) < need)
		fcntl(iofd, F_SETPIPE_SZ, (int)need);
	struct stat st;
	if (UIN_SYS_RETRY("preload.fork.fstat", fstat(p[0], &st)) < 0) {
		int err = -errno;
		close(p[0]);
		close(iofd);
		return err;
	}
	/* All the numbers move, or none: one left on the parent's pipe would
	 * wait for tokens the child's loop writes into the new one.  A failed
	 * dup3 leaves its number on the parent's pipe, from which the ones
	 * moved before it are put back. */
	for (int i = 0; i < n; i++) {
		int fdfl = fcntl(names[i], F_GETFD);
		int got;
		do
			got = UIN_SYS("preload.fork.dup3",
				      dup3(p[0], names[i],
					   fdfl >= 0 && (fdfl & FD_CLOEXEC)
						   ? O_CLOEXEC
						   : 0));
		while (got < 0 && (errno == EINTR || errno == EBUSY));
		if (got < 0) {
			int err = -errno;
			for (int j = 0; j < i; j++) {
				int jfl = fcntl(names[j], F_GETFD);
				(void)dup3(names[i], names[j],
					   jfl >= 0 && (jfl & FD_CLOEXEC)
						   ? O_CLOEXEC
						   : 0);
			}
			close(p[0]);
			close(iofd);
			return err;
		}
	}
	close(p[0]);
	close(inst->iofd); /* the child's hold on the parent's pipe */
	inst->iofd = iofd;
	inst->io_reads = io_reads;
	inst->pipe_dev = st.st_dev;
	inst->pipe_ino = st.st_ino;
	/* The child has no reader holding a byte: one token per event. */
	inst->debt = 0;
	inst->flush_pending = false; /* the child has no loop job queued */
	inst->unsignaled = inst->q_len;
	static const char zeros[4096];
	size_t chunk = sizeof zeros;
	while (inst->unsignaled && chunk) {
		if (chunk > inst->unsignaled)
			chunk = inst->unsignaled;
		ssize_t w = write(inst->iofd, zeros, chunk);
		if (w > 0)
			inst->unsignaled -= (unsigned long)w;
		else
			chunk /= 2;
	}
	return 0;
}

