/*
 * src/engine/internal.h - the engine's private structures.
 *
 * Lock order and lifetime rules: see the comment at the top of
 * src/engine/watch.c.  Fields name the lock that guards them in brackets.
 */
#ifndef UIN_ENGINE_INTERNAL_H
#define UIN_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>

#include "engine/alloc.h"
#include "engine/lock.h"

#define uin_container_of(ptr, type, member)                                  \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Lists ------------------------------------------------------------------- */

static inline void uin_list_init(struct uinotify_list *l)
{
	l->next = l->prev = l;
}
static inline bool uin_list_empty(const struct uinotify_list *l)
{
	return l->next == l;
}
static inline void uin_list_add_tail(struct uinotify_list *n,
				     struct uinotify_list *head)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}
static inline void uin_list_add_head(struct uinotify_list *n,
				     struct uinotify_list *head)
{
	uin_list_add_tail(n, head->next);
}
static inline void uin_list_del(struct uinotify_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

/* Objects ----------------------------------------------------------------- */

struct uinotify_sb {
	uin_mutex_t lock;        /* the superblock lock */
	const struct uinotify_sb_ops *ops; /* constant */
	void *user;                  /* constant */
	struct uinotify_inode **buckets; /* [lock] hash chains by key */
	size_t nbuckets;             /* [lock] a power of two */
	size_t ninodes;              /* [lock] */
	struct uinotify_list inodes; /* [lock] every inode, newest first */
	atomic_long refs;            /* creator + one per inode */
};

struct uinotify_inode {
	uin_mutex_t lock;           /* the inode lock */
	struct uinotify_list watches;   /* [lock] watch->i_link */
	/*
	 * Written under lock, read without it by the hooks' fast path: the
	 * union of the watches' event masks, and how many watches there are
	 * (a watch with an empty mask still gets UNMOUNT and IGNORED).
	 */
	atomic_uint mask;
	atomic_uint nwatches;
	atomic_bool unlinked;           /* IN_EXCL_UNLINK state */
	atomic_bool excl_unlink_all;    /* [lock to write] every watch has
					   IN_EXCL_UNLINK (and there is one) */
	atomic_long refs;               /* drops to 0 only under sb->lock */
	struct uinotify_key key;        /* constant */
	struct uinotify_sb *sb;         /* constant, holds a reference */
	struct uinotify_inode *hash_next; /* [sb->lock] */
	struct uinotify_list sb_link;   /* [sb->lock] on sb->inodes */
	_Atomic(void *) data;           /* the producer's */
};

/* wd -> watch map of a handle: open addressing, linear probing. */
struct uin_wd_map {
	struct uin_wd_slot {
		int32_t wd; /* 0 = empty */
		struct uinotify_watch *watch;
	} *slots;
	size_t cap;  /* a power of two, or 0 */
	size_t used;
};

struct uinotify_handle {
	uin_mutex_t lock;          /* the handle lock */
	const struct uinotify_ops *ops; /* constant */
	void *user;                    /* constant */
	struct uinotify_list watches;  /* [lock] watch->h_link */
	struct uin_wd_map wds;         /* [lock] */
	int32_t next_wd;               /* [lock] where the next search starts */
	int32_t wd_max;                /* [lock] */
	unsigned nwatches;             /* [lock] */
	atomic_long refs;              /* creator + one per added watch */
	/* Handle registry, for uinotify_hook_overflow. */
	struct uinotify_list all_link; /* [uin_handles_lock] */
	atomic_ulong overflow_mark;
	/* destroy has begun: no queue_overflow call may start. */
	bool destroying;               /* [uin_handles_lock] */
	unsigned overflow_calls;       /* [uin_handles_lock] running now */
};

/* Internal entry points shared by the engine's files. */
void uin_handle_put(struct uinotify_handle *h);
void uin_handles_for_each_marked(unsigned long mark);
void uin_inode_recalc_mask_locked(struct uinotify_inode *inode);
void uin_watch_unlink_locked(struct uinotify_handle *h,
			     struct uinotify_watch *w);

#endif
