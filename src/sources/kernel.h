/*
 * src/sources/kernel.h - the kernel source: Linux's own inotify, one
 * instance per process, one kernel watch per watched kernel inode, events
 * mapped back onto the engine inodes through the producer hooks.  The
 * mapping rules are at the top of kernel.c and in docs/sources.md.
 *
 * Every function here except the ops table runs under the sources lock
 * (mounts.h) and is called by mounts.c.
 */
#ifndef UIN_SOURCES_KERNEL_H
#define UIN_SOURCES_KERNEL_H

#include <stdint.h>

#include "sources/mounts.h"
#include "sources/source.h"

/* UINOTIFY_SOURCE_KERNEL: the kernel source on every mount. */
extern const struct uin_source_ops uin_source_kernel;

/*
 * Begin observing si through the kernel (on its first inode_get) or make
 * sure the kernel watch still covers it, using r's O_PATH fd.  When
 * r->in_flags carries event bits they are taken as the mask of the watch
 * about to be added and the kernel watch is widened to them; otherwise to
 * every event, until the mask_changed that follows (in the same thread,
 * while r->fd is open) makes it exact.
 * 0, or -ENOSPC (the kernel's max_user_watches; on FALLBACK mounts the
 * scanner takes the inode over), -EMFILE/-ENFILE/-ENOMEM (no kernel
 * instance), or another errno from inotify_add_watch.
 */
int uin_kernel_attach(struct uin_src_inode *si, const struct uin_resolved *r)
	UIN_REQUIRES(uin_sources_mu);

/* si's need, watched or excl_all changed (from mask_changed). */
void uin_kernel_update(struct uin_src_inode *si) UIN_REQUIRES(uin_sources_mu);
/* The resolved fd is about to be closed: a hint through it is no more
 * (its number may be another file's, in another thread, next). */
void uin_kernel_forget_fd(int fd);

/* si is being released: stop observing it (from release_inode). */
void uin_kernel_detach(struct uin_src_inode *si) UIN_REQUIRES(uin_sources_mu);

/*
 * The kernel wd of si's kernel watch when that watch reports OPEN, ACCESS
 * or CLOSE_NOWRITE (what the scanner's own directory reads cause), else
 * -1.  Under the sources lock.
 */
int uin_kernel_reads_kwd(const struct uin_src_inode *si)
	UIN_REQUIRES(uin_sources_mu);
/*
 * Under the dispatch lock, around a drain that follows the scanner's read
 * of a directory: drop OPEN/ACCESS/CLOSE_NOWRITE|ISDIR read from kernel
 * wd self_kwd without a name, or from parent_kwd with name (-1: none;
 * UIN_KERNEL_ANY_WD: from any wd, with that name).
 */
#define UIN_KERNEL_ANY_WD (-2)
void uin_kernel_mute_reads(int self_kwd, int parent_kwd, const char *name);
void uin_kernel_unmute_reads(void);

/* In a fork child's handler, O(1): see kernel.c, FORK. */
void uin_kernel_atfork_child(void);
/* At the child's first settle, no lock held: its own kernel watches. */
void uin_kernel_atfork_rearm(void);

struct uin_kernel_stats {
	int fd;               /* the kernel instance, or -1 */
	long kwatches;        /* live kernel watches */
	long events;          /* kernel events read so far */
	long overflows;       /* kernel IN_Q_OVERFLOW seen */
	long updates;         /* inotify_add_watch calls made */
	long stale_masks;     /* needed changes that found no path to use */
	long rearmed;         /* kernel watches re-made in a fork child */
	long rearm_lost;      /* ... that could not be (IN_IGNORED) */
};
void uin_kernel_get_stats(struct uin_kernel_stats *s);

/*
 * For tests: handle e as if the kernel instance had queued it (an
 * IN_Q_OVERFLOW cannot be provoked without lowering the machine-wide
 * max_queued_events).  Only while no kernel event can arrive concurrently.
 */
struct inotify_event;
void uin_kernel_debug_inject(const struct inotify_event *e);
/*
 * For tests: throw away every event the kernel instance holds, as a full
 * kernel queue would have, then handle IN_Q_OVERFLOW.  Takes the dispatch
 * lock.  Returns the number of events thrown away.
 */
long uin_kernel_debug_lose_events(void);

#endif
