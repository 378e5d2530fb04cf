/*
 * src/engine/inode.c - superblocks and the engine's inodes.
 *
 * A superblock is a producer's set of inodes with one key space.  Inodes
 * are found by key in the superblock's hash table and are reference
 * counted.  An inode's count may drop to zero only under sb->lock, so that
 * a lookup (which also runs under sb->lock) never revives a dying inode:
 * puts above one are lock-free, the last one takes the lock.
 */
#include <errno.h>
#include <string.h>

#include "engine/internal.h"

#define SB_MIN_BUCKETS 64

static uint64_t key_hash(const struct uinotify_key *k)
{
	uint64_t h = k->ino * 0x9E3779B97F4A7C15ull;
	h ^= (k->dev + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
	h ^= k->btime_ns * 0x165667B19E3779F9ull;
	h ^= (uint64_t)k->type << 17;
	return h ^ (h >> 29);
}

static bool key_equal(const struct uinotify_key *a,
		      const struct uinotify_key *b)
{
	return a->dev == b->dev && a->ino == b->ino &&
	       a->btime_ns == b->btime_ns && a->type == b->type &&
	       a->reserved == b->reserved;
}

UINOTIFY_EXPORT int uinotify_sb_create(const struct uinotify_sb_ops *ops,
				       void *sb_user, struct uinotify_sb **out)
{
	struct uinotify_sb *sb = uin_calloc(1, sizeof *sb);
	if (!sb)
		return -ENOMEM;
	sb->buckets = uin_calloc(SB_MIN_BUCKETS, sizeof *sb->buckets);
	if (!sb->buckets) {
		uin_free(sb);
		return -ENOMEM;
	}
	sb->nbuckets = SB_MIN_BUCKETS;
	uin_mutex_init(&sb->lock, UIN_RANK_SB);
	sb->ops = ops;
	sb->user = sb_user;
	uin_list_init(&sb->inodes);
	atomic_init(&sb->refs, 1);
	uin_count(UIN_COUNT_SBS, 1);
	*out = sb;
	return 0;
}

static void sb_put(struct uinotify_sb *sb)
{
	if (atomic_fetch_sub(&sb->refs, 1) != 1)
		return;
	uin_mutex_destroy(&sb->lock);
	uin_free(sb->buckets);
	uin_free(sb);
	uin_count(UIN_COUNT_SBS, -1);
}

UINOTIFY_EXPORT void uinotify_sb_destroy(struct uinotify_sb *sb)
{
	if (sb)
		sb_put(sb);
}

UINOTIFY_EXPORT void *uinotify_sb_user(const struct uinotify_sb *sb)
{
	return sb->user;
}

/* Under sb->lock.  A failed grow is harmless: chains just get longer. */
static void sb_grow_locked(struct uinotify_sb *sb)
	UIN_REQUIRES(sb->lock)
{
	uin_assert_held(&sb->lock);
	size_t n = sb->nbuckets * 2;
	struct uinotify_inode **b = uin_calloc(n, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < sb->nbuckets; i++) {
		struct uinotify_inode *in = sb->buckets[i], *next;
		for (; in; in = next) {
			next = in->hash_next;
			size_t j = key_hash(&in->key) & (n - 1);
			in->hash_next = b[j];
			b[j] = in;
		}
	}
	uin_free(sb->buckets);
	sb->buckets = b;
	sb->nbuckets = n;
}

static struct uinotify_inode *find_locked(struct uinotify_sb *sb,
					  const struct uinotify_key *key)
	UIN_REQUIRES(sb->lock)
{
	uin_assert_held(&sb->lock);
	struct uinotify_inode *in =
		sb->buckets[key_hash(key) & (sb->nbuckets - 1)];
	for (; in; in = in->hash_next)
		if (key_equal(&in->key, key))
			return in;
	return NULL;
}

UINOTIFY_EXPORT struct uinotify_inode *
uinotify_inode_lookup(struct uinotify_sb *sb, const struct uinotify_key *key)
{
	uin_mutex_lock(&sb->lock);
	struct uinotify_inode *in = find_locked(sb, key);
	if (in)
		atomic_fetch_add(&in->refs, 1);
	uin_mutex_unlock(&sb->lock);
	return in;
}

UINOTIFY_EXPORT int uinotify_inode_get(struct uinotify_sb *sb,
				       const struct uinotify_key *key,
				       struct uinotify_inode **out)
{
	struct uinotify_inode *in = uinotify_inode_lookup(sb, key);
	if (in) {
		*out = in;
		return 0;
	}
	/* Allocate outside the lock, then recheck: another thread may win. */
	struct uinotify_inode *fresh = uin_calloc(1, sizeof *fresh);
	if (!fresh)
		return -ENOMEM;
	uin_mutex_init(&fresh->lock, UIN_RANK_INODE);
	uin_list_init(&fresh->watches);
	atomic_init(&fresh->refs, 1);
	fresh->key = *key;
	fresh->sb = sb;

	uin_mutex_lock(&sb->lock);
	in = find_locked(sb, key);
	if (in) {
		atomic_fetch_add(&in->refs, 1);
		uin_mutex_unlock(&sb->lock);
		uin_mutex_destroy(&fresh->lock);
		uin_free(fresh);
		*out = in;
		return 0;
	}
	if (sb->ninodes >= sb->nbuckets)
		sb_grow_locked(sb);
	size_t j = key_hash(key) & (sb->nbuckets - 1);
	fresh->hash_next = sb->buckets[j];
	sb->buckets[j] = fresh;
	sb->ninodes++;
	uin_list_add_head(&fresh->sb_link, &sb->inodes);
	atomic_fetch_add(&sb->refs, 1);
	uin_mutex_unlock(&sb->lock);
	uin_count(UIN_COUNT_INODES, 1);
	*out = fresh;
	return 1;
}

UINOTIFY_EXPORT void uinotify_inode_hold(struct uinotify_inode *inode)
{
	atomic_fetch_add(&inode->refs, 1);
}

UINOTIFY_EXPORT void uinotify_inode_put(struct uinotify_inode *inode)
{
	long r = atomic_load(&inode->refs);
	while (r > 1)
		if (atomic_compare_exchange_weak(&inode->refs, &r, r - 1))
			return;

	struct uinotify_sb *sb = inode->sb;
	uin_mutex_lock(&sb->lock);
	if (atomic_fetch_sub(&inode->refs, 1) != 1) {
		uin_mutex_unlock(&sb->lock);
		return;
	}
	struct uinotify_inode **pp =
		&sb->buckets[key_hash(&inode->key) & (sb->nbuckets - 1)];
	while (*pp != inode)
		pp = &(*pp)->hash_next;
	*pp = inode->hash_next;
	sb->ninodes--;
	uin_list_del(&inode->sb_link);
	uin_mutex_unlock(&sb->lock);

	if (sb->ops && sb->ops->release_inode)
		sb->ops->release_inode(sb->user, inode);
	uin_mutex_destroy(&inode->lock);
	uin_free(inode);
	uin_count(UIN_COUNT_INODES, -1);
	sb_put(sb);
}

UINOTIFY_EXPORT const struct uinotify_key *
uinotify_inode_key(const struct uinotify_inode *inode)
{
	return &inode->key;
}

UINOTIFY_EXPORT struct uinotify_sb *
uinotify_inode_sb(const struct uinotify_inode *inode)
{
	return inode->sb;
}

UINOTIFY_EXPORT bool uinotify_inode_is_dir(const struct uinotify_inode *inode)
{
	return inode->key.type == S_IFDIR;
}

UINOTIFY_EXPORT uint32_t uinotify_inode_mask(const struct uinotify_inode *in)
{
	return atomic_load_explicit(&in->mask, memory_order_relaxed);
}

UINOTIFY_EXPORT bool
uinotify_inode_excl_unlink_all(const struct uinotify_inode *in)
{
	return atomic_load_explicit(&in->excl_unlink_all, memory_order_relaxed);
}

UINOTIFY_EXPORT bool uinotify_inode_watched(const struct uinotify_inode *in)
{
	return atomic_load_explicit(&in->nwatches, memory_order_relaxed) != 0;
}

UINOTIFY_EXPORT void uinotify_inode_set_data(struct uinotify_inode *inode,
					     void *data)
{
	atomic_store(&inode->data, data);
}

UINOTIFY_EXPORT void *uinotify_inode_data(const struct uinotify_inode *inode)
{
	return atomic_load(&((struct uinotify_inode *)inode)->data);
}

/*
 * Under inode->lock: recompute the union mask and tell the producer.
 * The flags stay out of the union; whether every watch has IN_EXCL_UNLINK
 * is kept beside it.
 */
void uin_inode_recalc_mask_locked(struct uinotify_inode *inode)
	UIN_REQUIRES(inode->lock)
{
	uin_assert_held(&inode->lock);
	uint32_t mask = 0;
	unsigned n = 0;
	bool excl_all = true;
	for (struct uinotify_list *l = inode->watches.next;
	     l != &inode->watches; l = l->next) {
		struct uinotify_watch *w =
			uin_container_of(l, struct uinotify_watch, i_link);
		mask |= w->mask & IN_ALL_EVENTS;
		excl_all &= !!(w->mask & IN_EXCL_UNLINK);
		n++;
	}
	/* A producer that applies IN_EXCL_UNLINK itself (the kernel does,
	 * per kernel watch) may do so only when every watch asked for it. */
	excl_all = n && excl_all;
	bool old_excl = atomic_exchange_explicit(&inode->excl_unlink_all,
						 excl_all,
						 memory_order_relaxed);
	uint32_t old = atomic_load_explicit(&inode->mask, memory_order_relaxed);
	unsigned old_n =
		atomic_load_explicit(&inode->nwatches, memory_order_relaxed);
	atomic_store_explicit(&inode->nwatches, n, memory_order_relaxed);
	atomic_store_explicit(&inode->mask, mask, memory_order_relaxed);
	/* A watch with an empty mask still needs the producer (for UNMOUNT
	 * and death), so presence changes are reported as well. */
	struct uinotify_sb *sb = inode->sb;
	if (sb->ops && sb->ops->mask_changed &&
	    (old != mask || (old_n == 0) != (n == 0) || old_excl != excl_all))
		sb->ops->mask_changed(sb->user, inode, old, mask);
}
