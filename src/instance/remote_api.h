/*
 * src/instance/remote_api.h - instances whose reader is another process.
 * Private to the library; used by the seccomp supervisor (src/run/).
 *
 * A remote instance is an instance without a file descriptor of its own:
 * the same watches, wds, limits, sources and errno as any instance (the
 * engine side is shared with uinotify_add_watch & co.), but every event it
 * would queue goes to a sink instead.  The supervisor's sink keeps the
 * queue that the traced program reads (src/run/rqueue.c), so merging,
 * overflow and read() are the sink's business.
 *
 * The sink's functions run where handle_event runs: under the engine's
 * inode and handle locks, on the loop thread or on an API thread that
 * drains.  They must not block and must not call back into uinotify.
 *
 * Functions return 0 (or a wd) or a negative errno.
 */
#ifndef UIN_INSTANCE_REMOTE_API_H
#define UIN_INSTANCE_REMOTE_API_H

#include <stdint.h>

struct uin_instance;

struct uin_instance_sink {
	/* One event, exactly as the instance would queue it (the mask not
	 * yet reduced to the user's bits). */
	void (*event)(void *arg, int32_t wd, uint32_t mask, uint32_t cookie,
		      const char *name);
	/* Events were lost (a source's IN_Q_OVERFLOW, an allocation). */
	void (*overflow)(void *arg);
	void *arg;
};

/*
 * A new remote instance charged against max_user_instances (-EMFILE).
 * sink must stay valid until uin_remote_close returns.
 */
int uin_remote_create(const struct uin_instance_sink *sink,
		      struct uin_instance **out);

/*
 * inotify_add_watch's lookup and add, the fd checks done by the caller:
 * path is looked up relative to dirfd (a directory fd, or AT_FDCWD), with
 * openat2's RESOLVE_* flags when resolve != 0.  The wd or -errno.
 */
int uin_remote_add_watch(struct uin_instance *inst, int dirfd,
			 const char *path, uint32_t mask, uint64_t resolve);
/* inotify_rm_watch: 0 or -EINVAL (IN_IGNORED goes to the sink). */
int uin_remote_rm_watch(struct uin_instance *inst, int wd);
/* INOTIFY_IOC_SETNEXTWD: 0 or -EINVAL. */
int uin_remote_set_next_wd(struct uin_instance *inst, unsigned long next);

/*
 * Deliver now what the sources already hold (the kernel's queue): after
 * it, every event caused by a syscall that returned before the call has
 * reached the sinks.  Call it before answering FIONREAD or read().
 */
void uin_remote_drain(void);

/* The last reference: every watch goes, without IN_IGNORED; no sink call
 * is running or will run once it returns. */
void uin_remote_close(struct uin_instance *inst);

#endif
