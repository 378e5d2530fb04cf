/*
 * uinotify/engine.h - the consumer API of the uinotify engine.
 *
 * This is the user-space counterpart of the in-kernel inotify API of Linux
 * 2.6.18 (the 2006 series "inotify kernel API", patches 1/5 to 5/5).  A
 * consumer creates a handle with an operations table, embeds a
 * struct uinotify_watch in its own structures, and adds those watches to
 * engine inodes obtained from a source (see uinotify/hooks.h).  Events reach
 * the consumer through ops->handle_event; a watch's memory is released
 * through ops->destroy_watch once its last reference is put.
 *
 * Calls return 0 (or a non-negative value) on success and a negative errno
 * on failure; they never set errno.  No call aborts on allocation failure.
 *
 * CONTRACT (the seed's, with its 2006 bugs fixed):
 *
 *  - uinotify_watch_init() gives the watch a reference count of 1.  That
 *    reference is the caller's and also stands for the watch being linked
 *    into the engine; the engine's lists hold no extra reference.
 *  - After ANY removal done by the engine (rm_wd, rm, remove_locked, inode
 *    death, unmount, IN_ONESHOT having fired) the handler receives IN_IGNORED
 *    as the very last call for that watch, and the consumer does the final
 *    put (normally from inside the handler).  IN_ONESHOT watches get
 *    IN_IGNORED too (as Linux >= 2.6.36 does), so nothing leaks.
 *  - uinotify_handle_destroy() unlinks every remaining watch WITHOUT
 *    IN_IGNORED and does the final put itself.
 *  - Handlers run with the watched inode's lock and the handle's lock held.
 *    A handler may not call into this API, except uinotify_watch_put() and
 *    uinotify_watch_remove_locked() on the watch it was given.  A consumer
 *    must not hold a lock that its handler takes while calling this API.
 *  - A failed add leaves the watch as init left it, and it stays the
 *    caller's: free it directly (puts on a never-added watch only count
 *    down; destroy_watch is never called for it).
 *
 * The full lock order and lifetime rules are written once, at the top of
 * src/engine/watch.c.
 */
#ifndef UINOTIFY_ENGINE_H
#define UINOTIFY_ENGINE_H

#ifndef __cplusplus
#include <stdatomic.h>
#endif
#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>

#include <uinotify/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* Every bit the Linux syscall accepts (ALL_INOTIFY_BITS in the kernel). */
#define UINOTIFY_ALL_BITS                                                      \
	(IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | \
	 IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD |     \
	 IN_ISDIR | IN_ONESHOT)

/* The part of an argument mask a watch stores (events plus two flags). */
#define UINOTIFY_WATCH_BITS (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)

struct uinotify_handle;
struct uinotify_inode;

/* A doubly linked list node; internal, but it lives inside struct watch. */
struct uinotify_list {
	struct uinotify_list *next, *prev;
};

/*
 * A watch.  Embed it in your own structure and reach that structure with
 * container_of-style arithmetic.  Every field is the engine's: read them
 * only through the accessors below.
 *
 * C++ (before C++23) has no _Atomic: there, count and linked are declared
 * as the plain int and bool they are laid out as (the same size and
 * alignment, asserted below for every C compilation, the library's
 * included), so the struct is the same in both languages.  C++ code must
 * never touch those two fields; nothing but the engine does.
 */
struct uinotify_watch {
	struct uinotify_list h_link;     /* [handle lock] on handle->watches */
	struct uinotify_list i_link;     /* [inode lock] on inode->watches */
#ifdef __cplusplus
	int count;
#else
	atomic_int count;                /* references; 0 -> destroy_watch */
#endif
	struct uinotify_handle *handle;  /* set by add, then constant */
	struct uinotify_inode *inode;    /* set by add, then constant */
	int32_t wd;                      /* set by add, then constant */
	uint32_t mask;                   /* [inode lock] UINOTIFY_WATCH_BITS */
#ifdef __cplusplus
	bool linked;
#else
	atomic_bool linked;              /* [inode+handle lock to change] */
#endif
};
#ifndef __cplusplus
_Static_assert(sizeof(atomic_int) == sizeof(int) &&
		       _Alignof(atomic_int) == _Alignof(int),
	       "struct uinotify_watch: C++ declares count as an int");
_Static_assert(sizeof(atomic_bool) == sizeof(bool) &&
		       _Alignof(atomic_bool) == _Alignof(bool),
	       "struct uinotify_watch: C++ declares linked as a bool");
#endif

/*
 * The operations table of a handle.  Both functions are required.
 *
 * handle_event(watch, wd, mask, cookie, name, name_inode)
 *   One event for one watch.  mask is what a reader of Linux's inotify
 *   would see (event bits, IN_ISDIR, IN_UNMOUNT, IN_IGNORED); name is NULL
 *   for events on the watched object itself, else the child's name (not
 *   padded); name_inode is the child's engine inode when the producer knows
 *   it (CREATE, MOVED_*, and most child events), else NULL; it is valid only
 *   during the call (take a reference with uinotify_inode_get to keep it).
 *   Runs with the inode lock and the handle lock held; see CONTRACT.
 *
 * destroy_watch(watch)
 *   The watch's last reference is gone: free it.  Runs where the last put
 *   ran: often inside a handler or right after one (IN_IGNORED, IN_ONESHOT),
 *   with the inode and handle locks held, so it must not call into the
 *   engine nor take a lock the consumer holds while calling the engine.
 *
 * queue_overflow(handle, user)   (optional, may be NULL)
 *   A source lost events that may have concerned this handle (for example
 *   the kernel's own queue overflowed).  Runs with no engine lock held.
 *   uinotify_handle_destroy waits for a call in progress, so do not
 *   destroy the handle from inside it, nor hold a lock it takes while
 *   destroying.
 */
struct uinotify_ops {
	void (*handle_event)(struct uinotify_watch *watch, int32_t wd,
			     uint32_t mask, uint32_t cookie, const char *name,
			     struct uinotify_inode *name_inode);
	void (*destroy_watch)(struct uinotify_watch *watch);
	void (*queue_overflow)(struct uinotify_handle *handle, void *user);
};

/* Handles ---------------------------------------------------------------- */

/* Create a handle.  0 and *out, or -EINVAL (no ops) / -ENOMEM. */
UINOTIFY_EXPORT int uinotify_handle_create(const struct uinotify_ops *ops,
					   void *user,
					   struct uinotify_handle **out);

/*
 * Remove every watch of the handle without IN_IGNORED, do their final puts,
 * then drop the creator's reference.  The handle's memory goes once the last
 * watch that still holds a reference (one the consumer got from find) has
 * been put.  Do not use the handle after this call.
 */
UINOTIFY_EXPORT void uinotify_handle_destroy(struct uinotify_handle *handle);

/* The user pointer given to uinotify_handle_create. */
UINOTIFY_EXPORT void *uinotify_handle_user(const struct uinotify_handle *h);

/*
 * Watch descriptors are allocated as Linux does (idr_alloc_cyclic from 1):
 * increasing, never reused until the counter passes wd_max, then the lowest
 * free number >= 1.  wd_max is INT32_MAX unless set here (tests use a small
 * value to reach the wrap).  -EINVAL if wd_max < 1.
 */
UINOTIFY_EXPORT int uinotify_handle_set_wd_max(struct uinotify_handle *h,
					       int32_t wd_max);

/*
 * The next wd to try, as INOTIFY_IOC_SETNEXTWD: 1..wd_max, else -EINVAL.
 */
UINOTIFY_EXPORT int uinotify_handle_set_next_wd(struct uinotify_handle *h,
						int32_t next);

/* Number of watches linked to the handle right now. */
UINOTIFY_EXPORT unsigned uinotify_handle_watch_count(struct uinotify_handle *h);

/* Watches ---------------------------------------------------------------- */

/* Prepare an embedded watch: count 1, not linked. */
UINOTIFY_EXPORT void uinotify_watch_init(struct uinotify_watch *watch);

/*
 * Link an initialised watch to inode (which the caller holds a reference
 * on) for handle, with mask (UINOTIFY_ALL_BITS; the watch keeps
 * UINOTIFY_WATCH_BITS).  Does not check for an existing watch of the same
 * handle on the inode: use find/find_update first.  Takes a reference on
 * the handle and one on the inode.
 * Returns the new wd (>= 1), or -EINVAL (bits outside UINOTIFY_ALL_BITS or
 * none inside it; watch already linked), -ENOSPC (every wd in use),
 * -ENOMEM.
 */
UINOTIFY_EXPORT int32_t uinotify_watch_add(struct uinotify_handle *handle,
					   struct uinotify_watch *watch,
					   struct uinotify_inode *inode,
					   uint32_t mask);

/*
 * The handle's watch on inode: its wd, and a COUNTED reference in *watch
 * that the caller must put.  -ENOENT if none.
 */
UINOTIFY_EXPORT int32_t uinotify_watch_find(struct uinotify_handle *handle,
					    struct uinotify_inode *inode,
					    struct uinotify_watch **watch);

/*
 * Update the handle's watch on inode: replace its mask with mask's
 * UINOTIFY_WATCH_BITS, or OR them in when mask has IN_MASK_ADD (flags
 * included, as Linux does).  Returns the wd, -ENOENT if there is no watch,
 * -EEXIST if mask has IN_MASK_CREATE and a watch exists, -EINVAL for a bad
 * mask.
 */
UINOTIFY_EXPORT int32_t
uinotify_watch_find_update(struct uinotify_handle *handle,
			   struct uinotify_inode *inode, uint32_t mask);

/*
 * Remove the watch with this wd and deliver IN_IGNORED to it.  0, or
 * -EINVAL if the handle has no such wd (as Linux's inotify_rm_watch).
 */
UINOTIFY_EXPORT int uinotify_watch_rm_wd(struct uinotify_handle *handle,
					 int32_t wd);

/* The same, by pointer (the caller holds a reference on watch). */
UINOTIFY_EXPORT int uinotify_watch_rm(struct uinotify_handle *handle,
				      struct uinotify_watch *watch);

/*
 * From inside handle_event only, for the watch being delivered: unlink it
 * and deliver IN_IGNORED to it (re-entering the handler).  The engine's
 * list walk is safe against this.
 */
UINOTIFY_EXPORT void
uinotify_watch_remove_locked(struct uinotify_handle *handle,
			     struct uinotify_watch *watch);

UINOTIFY_EXPORT void uinotify_watch_get(struct uinotify_watch *watch);
/* Drop a reference; the last one calls ops->destroy_watch. */
UINOTIFY_EXPORT void uinotify_watch_put(struct uinotify_watch *watch);

static inline int32_t uinotify_watch_wd(const struct uinotify_watch *w)
{
	return w->wd;
}
static inline struct uinotify_inode *
uinotify_watch_inode(const struct uinotify_watch *w)
{
	return w->inode;
}
static inline struct uinotify_handle *
uinotify_watch_handle(const struct uinotify_watch *w)
{
	return w->handle;
}
/* The stored mask; exact only under the inode lock (inside a handler). */
UINOTIFY_EXPORT uint32_t uinotify_watch_mask(struct uinotify_watch *w);

#ifdef __cplusplus
}
#endif
#endif /* UINOTIFY_ENGINE_H */
