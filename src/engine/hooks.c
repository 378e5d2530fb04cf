/*
 * src/engine/hooks.c - the producer hooks: from "something happened to this
 * inode" to handle_event calls.
 *
 * Every hook first reads the inode's union mask (or watch count) without a
 * lock and returns when nobody could want the event: an unwatched inode
 * costs one load and one branch.  The read may be stale by one watch being
 * added or removed concurrently, which is the same window Linux has between
 * the operation and fsnotify().
 *
 * The per-watch rules, in the order fsnotify and inotify apply them:
 *   1. the watch wants the event (its mask and the event's intersect;
 *      IN_UNMOUNT always matches);
 *   2. IN_EXCL_UNLINK: path events (OPEN, ACCESS, MODIFY, CLOSE_*) about an
 *      unlinked inode are dropped for watches that ask for it;
 *   3. the handler runs with the event mask as a reader sees it: IN_ISDIR
 *      on directory subjects except DELETE_SELF and MOVE_SELF;
 *   4. IN_ONESHOT: the watch is removed after its first delivered event and
 *      gets IN_IGNORED right after it.
 *
 * A name is one path component, 1..NAME_MAX bytes without '/', as Linux's
 * always are.  Another name from a producer cannot be read back as a
 * record (a reader's usual buffer could never hold it, and its EINVAL
 * would block the queue), so it is refused, and the handles watching the
 * directory are told of the loss as of an overflow.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "engine/hooks_private.h"
#include "engine/internal.h"

#define PATH_EVENTS                                                          \
	(IN_OPEN | IN_ACCESS | IN_MODIFY | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)

static atomic_uint cookie_counter;
static atomic_ulong overflow_generation;

UINOTIFY_EXPORT uint32_t uinotify_cookie_next(void)
{
	uint32_t c;
	do
		c = atomic_fetch_add(&cookie_counter, 1) + 1;
	while (c == 0);
	return c;
}

static uint32_t reader_mask(uint32_t mask, bool subject_is_dir)
{
	if (subject_is_dir)
		mask |= IN_ISDIR;
	/* inotify never reported ISDIR with these (inotify_handle_inode_event). */
	if (mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED | IN_Q_OVERFLOW))
		mask &= ~IN_ISDIR;
	return mask;
}

/*
 * Deliver one event to every interested watch on inode.  name/name_inode
 * are NULL for self events.  subject is the inode the event is about (for
 * IN_EXCL_UNLINK); it may be NULL.
 */
static void deliver_locked(struct uinotify_inode *inode, uint32_t mask,
			   uint32_t cookie, const char *name,
			   struct uinotify_inode *name_inode,
			   struct uinotify_inode *subject)
	UIN_REQUIRES(inode->lock)
{
	uin_assert_held(&inode->lock);
	bool excl = (mask & PATH_EVENTS) && subject &&
		    atomic_load_explicit(&subject->unlinked,
					 memory_order_relaxed);
	uint32_t match = mask & (IN_ALL_EVENTS | IN_UNMOUNT);

	struct uinotify_list *l = inode->watches.next, *next;
	for (; l != &inode->watches; l = next) {
		/* Saved first: the handler may remove (and free) this watch,
		 * and nothing else can touch the list while we hold the
		 * inode lock. */
		next = l->next;
		struct uinotify_watch *w =
			uin_container_of(l, struct uinotify_watch, i_link);
		if (!(w->mask & match) && !(match & IN_UNMOUNT))
			continue;
		if (excl && (w->mask & IN_EXCL_UNLINK))
			continue;
		struct uinotify_handle *h = w->handle;
		bool oneshot = w->mask & IN_ONESHOT;
		uin_mutex_lock(&h->lock);
		if (oneshot)
			uinotify_watch_get(w); /* put below: the handler may
						  put the last list ref */
		h->ops->handle_event(w, w->wd, mask, cookie, name, name_inode);
		if (oneshot) {
			uinotify_watch_remove_locked(h, w);
			/* Not the last reference unless the consumer
			 * already dropped its own: then destroy_watch
			 * runs here, and the handle survives (the watch
			 * held a reference, destroy holds another). */
			uinotify_watch_put(w);
		}
		uin_mutex_unlock(&h->lock);
	}
}

static void deliver(struct uinotify_inode *inode, uint32_t mask,
		    uint32_t cookie, const char *name,
		    struct uinotify_inode *name_inode,
		    struct uinotify_inode *subject)
{
	uin_mutex_lock(&inode->lock);
	deliver_locked(inode, mask, cookie, name, name_inode, subject);
	uin_mutex_unlock(&inode->lock);
}

static bool name_ok(const char *name)
{
	size_t n = strnlen(name, NAME_MAX + 1);
	return n > 0 && n <= NAME_MAX && !memchr(name, '/', n);
}

static void mark_step(struct uinotify_inode *inode, void *arg);
static unsigned long next_overflow_generation(void);

/* The handles watching dir lose an event: an overflow for each. */
static void name_refused(struct uinotify_inode *dir)
{
	unsigned long gen = next_overflow_generation();
	mark_step(dir, &gen);
	uin_handles_for_each_marked(gen);
}

static bool wants(const struct uinotify_inode *inode, uint32_t mask)
{
	return atomic_load_explicit(&inode->mask, memory_order_relaxed) &
	       mask & IN_ALL_EVENTS;
}

UINOTIFY_EXPORT void uinotify_hook_inode(struct uinotify_inode *inode,
					 uint32_t mask, uint32_t cookie)
{
	if (!inode || !wants(inode, mask))
		return;
	deliver(inode, reader_mask(mask, uinotify_inode_is_dir(inode)),
		cookie, NULL, NULL, inode);
}

UINOTIFY_EXPORT void uinotify_hook_parent(struct uinotify_inode *dir,
					  const char *name,
					  struct uinotify_inode *child,
					  uint32_t mask)
{
	bool to_dir = dir && name && wants(dir, mask);
	bool to_child = child && wants(child, mask);
	if (!to_dir && !to_child)
		return;
	if (to_dir && !name_ok(name)) {
		name_refused(dir);
		to_dir = false;
	}
	bool isdir = child ? uinotify_inode_is_dir(child) : false;
	uint32_t m = reader_mask(mask, isdir);
	if (to_dir)
		deliver(dir, m, 0, name, child, child);
	if (to_child)
		deliver(child, m, 0, NULL, NULL, child);
}

UINOTIFY_EXPORT void uinotify_hook_dirent(struct uinotify_inode *dir,
					  const char *name,
					  struct uinotify_inode *child,
					  uint32_t mask, uint32_t cookie)
{
	if (!dir || !wants(dir, mask))
		return;
	if (name && !name_ok(name)) {
		name_refused(dir);
		return;
	}
	bool isdir = child && uinotify_inode_is_dir(child);
	deliver(dir, reader_mask(mask, isdir), cookie, name, child, child);
}

UINOTIFY_EXPORT uint32_t uinotify_hook_move(struct uinotify_inode *old_dir,
					    const char *old_name,
					    struct uinotify_inode *new_dir,
					    const char *new_name,
					    struct uinotify_inode *moved)
{
	uint32_t cookie = uinotify_cookie_next();
	uint32_t isdir = moved && uinotify_inode_is_dir(moved) ? IN_ISDIR : 0;
	uinotify_hook_dirent(old_dir, old_name, moved, IN_MOVED_FROM | isdir,
			     cookie);
	uinotify_hook_dirent(new_dir, new_name, moved, IN_MOVED_TO | isdir,
			     cookie);
	uinotify_hook_inode(moved, IN_MOVE_SELF, 0);
	return cookie;
}

/*
 * Remove every watch of inode with IN_IGNORED.  Under inode->lock.  Each
 * removal re-reads the list head, since the handler of IN_IGNORED is free
 * to drop the watch.
 */
static void remove_all_locked(struct uinotify_inode *inode)
	UIN_REQUIRES(inode->lock)
{
	uin_assert_held(&inode->lock);
	while (!uin_list_empty(&inode->watches)) {
		struct uinotify_watch *w = uin_container_of(
			inode->watches.next, struct uinotify_watch, i_link);
		struct uinotify_handle *h = w->handle;
		uin_mutex_lock(&h->lock);
		uinotify_watch_remove_locked(h, w);
		uin_mutex_unlock(&h->lock);
	}
}

/* The inode's watches get event (if not 0), then all are removed. */
static void end_watches(struct uinotify_inode *inode, uint32_t event)
{
	if (!uinotify_inode_watched(inode))
		return;
	uinotify_inode_hold(inode); /* the caller's may be the last */
	bool isdir = event == IN_UNMOUNT && uinotify_inode_is_dir(inode);
	/* One critical section, so that a watch added meanwhile cannot get
	 * IN_IGNORED without the event that explains it. */
	uin_mutex_lock(&inode->lock);
	deliver_locked(inode, reader_mask(event, isdir), 0, NULL, NULL, NULL);
	remove_all_locked(inode);
	uin_mutex_unlock(&inode->lock);
	uinotify_inode_put(inode);
}

UINOTIFY_EXPORT void uinotify_hook_inode_dead(struct uinotify_inode *inode)
{
	if (inode)
		end_watches(inode, IN_DELETE_SELF);
}

void uin_hook_inode_lost(struct uinotify_inode *inode)
{
	if (inode)
		end_watches(inode, 0);
}

UINOTIFY_EXPORT void uinotify_hook_unlinked(struct uinotify_inode *inode,
					    bool unlinked)
{
	if (inode)
		atomic_store_explicit(&inode->unlinked, unlinked,
				      memory_order_relaxed);
}

UINOTIFY_EXPORT void uinotify_hook_unmount_inode(struct uinotify_inode *inode)
{
	if (inode)
		end_watches(inode, IN_UNMOUNT);
}

/*
 * Walk sb's inodes in list order (newest first) with a pinned cursor: the
 * sb lock cannot be held across delivery (it ranks below the inode lock),
 * and the cursor's reference keeps it, and so its link, in the list.
 * step(inode) runs without the sb lock.
 */
static void sb_for_each_watched(struct uinotify_sb *sb,
				void (*step)(struct uinotify_inode *, void *),
				void *arg)
{
	struct uinotify_inode *cursor = NULL;
	uin_mutex_lock(&sb->lock);
	struct uinotify_list *l = sb->inodes.next;
	for (;;) {
		while (l != &sb->inodes) {
			struct uinotify_inode *in = uin_container_of(
				l, struct uinotify_inode, sb_link);
			if (uinotify_inode_watched(in) &&
			    atomic_load(&in->refs) > 0)
				break;
			l = l->next;
		}
		if (l == &sb->inodes)
			break;
		struct uinotify_inode *in =
			uin_container_of(l, struct uinotify_inode, sb_link);
		atomic_fetch_add(&in->refs, 1); /* the new cursor */
		uin_mutex_unlock(&sb->lock);
		if (cursor)
			uinotify_inode_put(cursor);
		cursor = in;
		step(in, arg);
		uin_mutex_lock(&sb->lock);
		l = cursor->sb_link.next;
	}
	uin_mutex_unlock(&sb->lock);
	if (cursor)
		uinotify_inode_put(cursor);
}

static void unmount_step(struct uinotify_inode *inode, void *arg)
{
	(void)arg;
	end_watches(inode, IN_UNMOUNT);
}

UINOTIFY_EXPORT void uinotify_hook_unmount(struct uinotify_sb *sb)
{
	if (sb)
		sb_for_each_watched(sb, unmount_step, NULL);
}

static void mark_step(struct uinotify_inode *inode, void *arg)
{
	unsigned long gen = *(unsigned long *)arg;
	uin_mutex_lock(&inode->lock);
	for (struct uinotify_list *l = inode->watches.next;
	     l != &inode->watches; l = l->next) {
		struct uinotify_watch *w =
			uin_container_of(l, struct uinotify_watch, i_link);
		atomic_store(&w->handle->overflow_mark, gen);
	}
	uin_mutex_unlock(&inode->lock);
}

static unsigned long next_overflow_generation(void)
{
	unsigned long gen = atomic_fetch_add(&overflow_generation, 1) + 1;
	if (gen == 0)
		gen = atomic_fetch_add(&overflow_generation, 1) + 1;
	return gen;
}

UINOTIFY_EXPORT void uinotify_hook_overflow(struct uinotify_sb *sb)
{
	if (!sb)
		return;
	unsigned long gen = next_overflow_generation();
	sb_for_each_watched(sb, mark_step, &gen);
	uin_handles_for_each_marked(gen);
}
