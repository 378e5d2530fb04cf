/*
 * src/engine/watch.c - handles and watches: the consumer API.
 *
 * LOCKS, taken in this order and never the other way round:
 *
 *   instance locks (a consumer's own, e.g. the instance's add mutex)
 *     -> inode->lock        [the inode's watch list, every watch->mask and
 *                            watch->i_link, inode->mask/nwatches writes]
 *       -> handle->lock     [the handle's watch list, wd map, wd counter,
 *                            watch->h_link]
 *         -> consumer locks taken by handle_event (the instance queue)
 *           -> sb->lock     [the key hash, sb->inodes, inode refs -> 0]
 *   uin_handles_lock is a leaf (taken with nothing else held, or under
 *   handle creation/destruction only).
 *
 *   Handlers run holding inode->lock and handle->lock.  That is what makes
 *   delivery and removal exclusive: a watch is unlinked only with both
 *   locks held, so a hook that holds inode->lock sees a stable watch list,
 *   and an API call that holds handle->lock sees a stable wd map.  An API
 *   call that starts from the handle side (rm_wd, destroy) finds the watch
 *   under handle->lock, pins it and its inode with references, drops the
 *   lock, then takes inode->lock and handle->lock in order and re-checks
 *   that the watch is still linked.
 *
 * REFERENCES:
 *
 *   watch:  init gives 1 (the consumer's, standing for list membership
 *           too); get/find add one.  The last put releases the inode
 *           reference add took, calls ops->destroy_watch, then puts the
 *           handle reference add took - in that order, so destroy_watch
 *           can still reach the handle.
 *   handle: create gives 1 (dropped by destroy), each added watch holds 1.
 *           The memory goes with the last put, which is never made while
 *           handle->lock is held: a handler's final put of a watch cannot
 *           be the last handle reference, because destroy() keeps its own
 *           until it has seen the watch list empty under handle->lock.
 *   inode:  see inode.c; a linked watch holds one, a hook's caller holds
 *           one for the duration of the hook, removal paths hold their own.
 *
 * LIFETIME: a watch is unlinked by exactly one of
 *
 *   uinotify_watch_rm_wd / uinotify_watch_rm   -> IN_IGNORED, consumer puts
 *   uinotify_watch_remove_locked (in handler)   -> IN_IGNORED, consumer puts
 *   IN_ONESHOT after its first event (hooks.c)  -> IN_IGNORED, consumer puts
 *   uinotify_hook_inode_dead / unmount (hooks.c)-> IN_IGNORED, consumer puts
 *   uinotify_handle_destroy                     -> no event, engine puts
 *
 * and IN_IGNORED is always the last call of handle_event for that watch.
 * The 2006 bugs are not here: a one-shot watch is unlinked and IGNORED like
 * any other (no leaked reference), and the unmount and death walks hold an
 * inode reference and re-read the list head after every removal.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "engine/internal.h"

static uin_mutex_t uin_handles_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_HANDLES);
/* Signalled when a handle being destroyed has no queue_overflow running. */
static pthread_cond_t uin_handles_idle = PTHREAD_COND_INITIALIZER;
static struct uinotify_list uin_handles = {&uin_handles, &uin_handles};

/* The wd map ------------------------------------------------------------- */

static size_t wd_slot(int32_t wd, size_t cap)
{
	return ((uint32_t)wd * 2654435761u) & (cap - 1);
}

static struct uinotify_watch *wd_find(const struct uin_wd_map *m, int32_t wd)
{
	if (!m->cap || wd <= 0)
		return NULL;
	for (size_t i = wd_slot(wd, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].wd == wd)
			return m->slots[i].watch;
		if (m->slots[i].wd == 0)
			return NULL;
	}
}

static void wd_put_slot(struct uin_wd_map *m, int32_t wd,
			struct uinotify_watch *w)
{
	size_t i = wd_slot(wd, m->cap);
	while (m->slots[i].wd)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].wd = wd;
	m->slots[i].watch = w;
	m->used++;
}

/* Make room for one more; -ENOMEM leaves the map as it was. */
static int wd_reserve(struct uin_wd_map *m)
{
	if ((m->used + 1) * 4 <= m->cap * 3)
		return 0;
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct uin_wd_slot *old = m->slots;
	size_t oldcap = m->cap;
	struct uin_wd_slot *slots = uin_calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	m->cap = cap;
	m->used = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].wd)
			wd_put_slot(m, old[i].wd, old[i].watch);
	uin_free(old);
	return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void wd_remove(struct uin_wd_map *m, int32_t wd)
{
	size_t i = wd_slot(wd, m->cap);
	while (m->slots[i].wd != wd)
		i = (i + 1) & (m->cap - 1);
	for (size_t j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		if (m->slots[j].wd == 0)
			break;
		size_t home = wd_slot(m->slots[j].wd, m->cap);
		/* Move j back into the hole at i if its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j)
				      : (home > i || home <= j);
		if (!between) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].wd = 0;
	m->slots[i].watch = NULL;
	m->used--;
}

/*
 * idr_alloc_cyclic(idr, ptr, 1, 0): the first free id from the cursor up to
 * the maximum, else the first free id from 1; the cursor moves past it.
 */
static int32_t wd_alloc_locked(struct uinotify_handle *h)
	UIN_REQUIRES(h->lock)
{
	uin_assert_held(&h->lock);
	if (h->nwatches >= (unsigned)h->wd_max)
		return -ENOSPC;
	int32_t wd = h->next_wd;
	if (wd < 1 || wd > h->wd_max)
		wd = 1;
	while (wd_find(&h->wds, wd))
		wd = wd == h->wd_max ? 1 : wd + 1;
	/* The kernel's cursor becomes max + 1, which its next search treats
	 * as "wrap to the start". */
	h->next_wd = wd == h->wd_max ? 1 : wd + 1;
	return wd;
}

/* Handles ---------------------------------------------------------------- */

UINOTIFY_EXPORT int uinotify_handle_create(const struct uinotify_ops *ops,
					   void *user,
					   struct uinotify_handle **out)
{
	if (!ops || !ops->handle_event || !ops->destroy_watch || !out)
		return -EINVAL;
	struct uinotify_handle *h = uin_calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	uin_mutex_init(&h->lock, UIN_RANK_HANDLE);
	h->ops = ops;
	h->user = user;
	uin_list_init(&h->watches);
	h->next_wd = 1;
	h->wd_max = INT32_MAX;
	atomic_init(&h->refs, 1);
	uin_mutex_lock(&uin_handles_lock);
	uin_list_add_tail(&h->all_link, &uin_handles);
	uin_mutex_unlock(&uin_handles_lock);
	uin_count(UIN_COUNT_HANDLES, 1);
	*out = h;
	return 0;
}

static void handle_get(struct uinotify_handle *h)
{
	atomic_fetch_add(&h->refs, 1);
}

static void handle_free(struct uinotify_handle *h)
{
	uin_mutex_destroy(&h->lock);
	uin_free(h->wds.slots);
	uin_free(h);
	uin_count(UIN_COUNT_HANDLES, -1);
}

void uin_handle_put(struct uinotify_handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	uin_mutex_lock(&uin_handles_lock);
	uin_list_del(&h->all_link);
	uin_mutex_unlock(&uin_handles_lock);
	handle_free(h);
}

UINOTIFY_EXPORT void *uinotify_handle_user(const struct uinotify_handle *h)
{
	return h->user;
}

UINOTIFY_EXPORT int uinotify_handle_set_wd_max(struct uinotify_handle *h,
					       int32_t wd_max)
{
	if (wd_max < 1)
		return -EINVAL;
	uin_mutex_lock(&h->lock);
	h->wd_max = wd_max;
	if (h->next_wd > wd_max)
		h->next_wd = 1;
	uin_mutex_unlock(&h->lock);
	return 0;
}

UINOTIFY_EXPORT int uinotify_handle_set_next_wd(struct uinotify_handle *h,
						int32_t next)
{
	int ret = 0;
	uin_mutex_lock(&h->lock);
	if (next < 1 || next > h->wd_max)
		ret = -EINVAL;
	else
		h->next_wd = next;
	uin_mutex_unlock(&h->lock);
	return ret;
}

UINOTIFY_EXPORT unsigned uinotify_handle_watch_count(struct uinotify_handle *h)
{
	uin_mutex_lock(&h->lock);
	unsigned n = h->nwatches;
	uin_mutex_unlock(&h->lock);
	return n;
}

/*
 * Registry walk for uinotify_hook_overflow: call queue_overflow for every
 * handle whose overflow_mark equals mark.  The current handle is pinned by
 * a reference while the registry lock is dropped, so its next pointer is
 * still valid when the walk resumes (a handle leaves the registry only at
 * its last put).
 */
void uin_handles_for_each_marked(unsigned long mark)
{
	uin_mutex_lock(&uin_handles_lock);
	struct uinotify_list *l = uin_handles.next;
	while (l != &uin_handles) {
		struct uinotify_handle *h =
			uin_container_of(l, struct uinotify_handle, all_link);
		unsigned long want = mark;
		/* Get unless zero: a handle whose count already reached zero
		 * is being freed by a thread waiting for this lock. */
		long r = atomic_load(&h->refs);
		while (r > 0 && !atomic_compare_exchange_weak(&h->refs, &r,
							       r + 1))
			;
		if (r == 0 || h->destroying ||
		    !atomic_compare_exchange_strong(&h->overflow_mark, &want,
						    0)) {
			l = l->next;
			if (r > 0 && atomic_fetch_sub(&h->refs, 1) == 1) {
				uin_list_del(&h->all_link);
				handle_free(h);
			}
			continue;
		}
		h->overflow_calls++; /* destroy waits for it to return */
		uin_mutex_unlock(&uin_handles_lock);
		if (h->ops->queue_overflow)
			h->ops->queue_overflow(h, h->user);
		uin_mutex_lock(&uin_handles_lock);
		if (--h->overflow_calls == 0 && h->destroying)
			pthread_cond_broadcast(&uin_handles_idle);
		l = l->next; /* h is pinned, so its link is still valid */
		if (atomic_fetch_sub(&h->refs, 1) == 1) {
			uin_list_del(&h->all_link);
			handle_free(h);
		}
	}
	uin_mutex_unlock(&uin_handles_lock);
}

/* Watches ---------------------------------------------------------------- */

UINOTIFY_EXPORT void uinotify_watch_init(struct uinotify_watch *w)
{
	uin_list_init(&w->h_link);
	uin_list_init(&w->i_link);
	atomic_init(&w->count, 1);
	atomic_init(&w->linked, false);
	w->handle = NULL;
	w->inode = NULL;
	w->wd = -1;
	w->mask = 0;
}

UINOTIFY_EXPORT void uinotify_watch_get(struct uinotify_watch *w)
{
	atomic_fetch_add(&w->count, 1);
}

UINOTIFY_EXPORT void uinotify_watch_put(struct uinotify_watch *w)
{
	if (atomic_fetch_sub(&w->count, 1) != 1)
		return;
	struct uinotify_handle *h = w->handle;
	struct uinotify_inode *inode = w->inode;
	if (!h) {
		/* Never added: the caller owns the memory (see engine.h);
		 * there is no ops table to hand it to. */
		return;
	}
	uin_count(UIN_COUNT_WATCHES, -1);
	uinotify_inode_put(inode);    /* matches the hold in watch_add */
	h->ops->destroy_watch(w);
	uin_handle_put(h);            /* matches the get in watch_add */
}

UINOTIFY_EXPORT uint32_t uinotify_watch_mask(struct uinotify_watch *w)
{
	if (!w->inode)
		return w->mask;
	uin_mutex_lock(&w->inode->lock);
	uint32_t m = w->mask;
	uin_mutex_unlock(&w->inode->lock);
	return m;
}

static int check_mask(uint32_t mask)
{
	if (mask & ~(uint32_t)UINOTIFY_ALL_BITS)
		return -EINVAL;
	if (!(mask & UINOTIFY_ALL_BITS))
		return -EINVAL;
	if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
		return -EINVAL;
	return 0;
}

UINOTIFY_EXPORT int32_t uinotify_watch_add(struct uinotify_handle *h,
					   struct uinotify_watch *w,
					   struct uinotify_inode *inode,
					   uint32_t mask)
{
	int ret = check_mask(mask);
	if (ret)
		return ret;
	if (!h || !w || !inode || atomic_load(&w->linked) || w->handle)
		return -EINVAL;

	uin_mutex_lock(&inode->lock);
	uin_mutex_lock(&h->lock);
	int32_t wd = wd_reserve(&h->wds);
	if (wd == 0)
		wd = wd_alloc_locked(h);
	if (wd < 0) {
		uin_mutex_unlock(&h->lock);
		uin_mutex_unlock(&inode->lock);
		return wd;
	}
	w->handle = h;
	w->inode = inode;
	w->wd = wd;
	w->mask = mask & UINOTIFY_WATCH_BITS;
	uinotify_inode_hold(inode); /* put in watch_put */
	handle_get(h);              /* put in watch_put */
	wd_put_slot(&h->wds, wd, w);
	uin_count(UIN_COUNT_WATCHES, 1);
	uin_list_add_tail(&w->h_link, &h->watches);
	h->nwatches++;
	uin_list_add_tail(&w->i_link, &inode->watches);
	atomic_store(&w->linked, true);
	uin_mutex_unlock(&h->lock);
	uin_inode_recalc_mask_locked(inode);
	uin_mutex_unlock(&inode->lock);
	return wd;
}

/* Under inode->lock. */
static struct uinotify_watch *find_on_inode_locked(struct uinotify_inode *in,
						   struct uinotify_handle *h)
	UIN_REQUIRES(in->lock)
{
	uin_assert_held(&in->lock);
	for (struct uinotify_list *l = in->watches.next; l != &in->watches;
	     l = l->next) {
		struct uinotify_watch *w =
			uin_container_of(l, struct uinotify_watch, i_link);
		if (w->handle == h)
			return w;
	}
	return NULL;
}

UINOTIFY_EXPORT int32_t uinotify_watch_find(struct uinotify_handle *h,
					    struct uinotify_inode *inode,
					    struct uinotify_watch **out)
{
	uin_mutex_lock(&inode->lock);
	struct uinotify_watch *w = find_on_inode_locked(inode, h);
	if (w)
		uinotify_watch_get(w); /* the caller puts */
	uin_mutex_unlock(&inode->lock);
	if (!w)
		return -ENOENT;
	*out = w;
	return w->wd;
}

UINOTIFY_EXPORT int32_t
uinotify_watch_find_update(struct uinotify_handle *h,
			   struct uinotify_inode *inode, uint32_t mask)
{
	int ret = check_mask(mask);
	if (ret)
		return ret;
	uin_mutex_lock(&inode->lock);
	struct uinotify_watch *w = find_on_inode_locked(inode, h);
	if (!w) {
		ret = -ENOENT;
	} else if (mask & IN_MASK_CREATE) {
		ret = -EEXIST;
	} else {
		uint32_t bits = mask & UINOTIFY_WATCH_BITS;
		w->mask = (mask & IN_MASK_ADD) ? (w->mask | bits) : bits;
		uin_inode_recalc_mask_locked(inode);
		ret = w->wd;
	}
	uin_mutex_unlock(&inode->lock);
	return ret;
}

/*
 * Under inode->lock and handle->lock: take the watch off both lists and the
 * wd map.  The caller owns what follows (IN_IGNORED, or the final put).
 */
void uin_watch_unlink_locked(struct uinotify_handle *h,
			     struct uinotify_watch *w)
	UIN_REQUIRES(h->lock)
{
	uin_assert_held(&w->inode->lock);
	uin_assert_held(&h->lock);
	struct uinotify_inode *inode = w->inode;
	uin_list_del(&w->i_link);
	uin_list_del(&w->h_link);
	wd_remove(&h->wds, w->wd);
	h->nwatches--;
	atomic_store(&w->linked, false);
	uin_inode_recalc_mask_locked(inode);
}

UINOTIFY_EXPORT void uinotify_watch_remove_locked(struct uinotify_handle *h,
						  struct uinotify_watch *w)
{
	uin_assert_held(&w->inode->lock);
	uin_assert_held(&h->lock);
	if (!atomic_load(&w->linked))
		return;
	int32_t wd = w->wd;
	uin_watch_unlink_locked(h, w);
	/* The last call for this watch: the consumer may free it here. */
	h->ops->handle_event(w, wd, IN_IGNORED, 0, NULL, NULL);
}

UINOTIFY_EXPORT int uinotify_watch_rm(struct uinotify_handle *h,
				      struct uinotify_watch *w)
{
	if (!w || w->handle != h)
		return -EINVAL;
	return uinotify_watch_rm_wd(h, w->wd);
}

UINOTIFY_EXPORT int uinotify_watch_rm_wd(struct uinotify_handle *h,
					 int32_t wd)
{
	uin_mutex_lock(&h->lock);
	struct uinotify_watch *w = wd_find(&h->wds, wd);
	if (!w) {
		uin_mutex_unlock(&h->lock);
		return -EINVAL;
	}
	uinotify_watch_get(w);               /* put below */
	struct uinotify_inode *inode = w->inode;
	uinotify_inode_hold(inode);          /* put below */
	uin_mutex_unlock(&h->lock);

	uin_mutex_lock(&inode->lock);
	uin_mutex_lock(&h->lock);
	/* Someone else (death, unmount, one-shot) may have removed it in the
	 * gap; then IN_IGNORED was already sent, as Linux's idempotent
	 * fsnotify_destroy_mark would have it. */
	if (atomic_load(&w->linked))
		uinotify_watch_remove_locked(h, w);
	uin_mutex_unlock(&h->lock);
	uin_mutex_unlock(&inode->lock);

	uinotify_watch_put(w);
	uinotify_inode_put(inode);
	return 0;
}

UINOTIFY_EXPORT void uinotify_handle_destroy(struct uinotify_handle *h)
{
	if (!h)
		return;
	/* After destroy returns the consumer frees what h->user points to:
	 * no queue_overflow may start from now on, and one running now
	 * (it runs without engine locks) must be waited for. */
	uin_mutex_lock(&uin_handles_lock);
	h->destroying = true;
	while (h->overflow_calls)
		uin_cond_wait(&uin_handles_idle, &uin_handles_lock);
	uin_mutex_unlock(&uin_handles_lock);
	for (;;) {
		uin_mutex_lock(&h->lock);
		if (uin_list_empty(&h->watches)) {
			uin_mutex_unlock(&h->lock);
			break;
		}
		struct uinotify_watch *w = uin_container_of(
			h->watches.next, struct uinotify_watch, h_link);
		uinotify_watch_get(w);       /* put below */
		struct uinotify_inode *inode = w->inode;
		uinotify_inode_hold(inode);  /* put below */
		uin_mutex_unlock(&h->lock);

		uin_mutex_lock(&inode->lock);
		uin_mutex_lock(&h->lock);
		bool unlinked_here = atomic_load(&w->linked);
		if (unlinked_here)
			uin_watch_unlink_locked(h, w);
		uin_mutex_unlock(&h->lock);
		uin_mutex_unlock(&inode->lock);

		if (unlinked_here)
			uinotify_watch_put(w); /* the list's (init's) ref */
		uinotify_watch_put(w);
		uinotify_inode_put(inode);
	}
	uin_handle_put(h); /* matches create */
}
