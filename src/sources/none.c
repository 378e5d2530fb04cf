/*
 * src/sources/none.c - the NONE source: engine inodes for real files, and
 * no producer at all.  Events reach them only through the hooks, which
 * makes it the source of deterministic tests and of applications that
 * report changes themselves.
 *
 * One superblock per device (st_dev), created on first use and destroyed
 * when its last inode is released (release_inode), so that nothing stays
 * behind once every watch and every reference is gone: a test ends with
 * every engine count at zero, and a long-lived process does not keep one
 * superblock per device it ever looked at.  Every inode holds a reference
 * on its superblock, so destroying it from release_inode is safe: the
 * memory goes when the dying inode drops that reference just after.
 *
 * none_lock guards the table and each entry's inode count.  It is taken
 * before the engine's sb->lock (by inode_get) and never inside an engine
 * lock (release_inode runs with none held).
 */
#include "sources/none.h"

#include <errno.h>
#include <pthread.h>

#include "engine/alloc.h"
#include "engine/lock.h"
#include "sources/source.h"

struct none_sb {
	struct none_sb *next;    /* [none_lock] */
	uint64_t dev;            /* constant */
	struct uinotify_sb *sb;  /* constant; the creator's reference */
	long inodes;             /* [none_lock] created and not yet released */
};

static uin_mutex_t none_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_NONE_SRC);
static struct none_sb *none_sbs; /* [none_lock] */
static long none_nsbs;           /* [none_lock] */

static void none_unlink_destroy_locked(struct none_sb *nsb)
	UIN_REQUIRES(none_lock)
{
	uin_assert_held(&none_lock);
	struct none_sb **pp = &none_sbs;
	while (*pp != nsb)
		pp = &(*pp)->next;
	*pp = nsb->next;
	none_nsbs--;
	uinotify_sb_destroy(nsb->sb);
	uin_free(nsb);
}

static void none_release_inode(void *sb_user, struct uinotify_inode *inode)
{
	struct none_sb *nsb = sb_user;
	(void)inode;
	uin_mutex_lock(&none_lock);
	if (--nsb->inodes == 0)
		none_unlink_destroy_locked(nsb);
	uin_mutex_unlock(&none_lock);
}

static const struct uinotify_sb_ops none_sb_ops = {
	.mask_changed = NULL, /* nothing to observe: events come from hooks */
	.release_inode = none_release_inode,
};

static int none_inode_get(const struct uin_resolved *r,
			  struct uinotify_inode **out)
{
	int ret;
	uin_mutex_lock(&none_lock);
	struct none_sb *nsb = none_sbs;
	while (nsb && nsb->dev != r->key.dev)
		nsb = nsb->next;
	if (!nsb) {
		nsb = uin_calloc(1, sizeof *nsb);
		if (!nsb) {
			ret = -ENOMEM;
			goto unlock;
		}
		nsb->dev = r->key.dev;
		ret = uinotify_sb_create(&none_sb_ops, nsb, &nsb->sb);
		if (ret < 0) {
			uin_free(nsb);
			goto unlock;
		}
		nsb->next = none_sbs;
		none_sbs = nsb;
		none_nsbs++;
	}
	ret = uinotify_inode_get(nsb->sb, &r->key, out);
	if (ret == 1)
		nsb->inodes++;
	else if (ret < 0 && nsb->inodes == 0)
		none_unlink_destroy_locked(nsb); /* the one we just made */
	if (ret > 0)
		ret = 0;
unlock:
	uin_mutex_unlock(&none_lock);
	return ret;
}

const struct uin_source_ops uin_source_none = {
	.name = "none",
	.inode_get = none_inode_get,
};

int uin_source_none_inode(const char *path, uint32_t flags,
			  struct uinotify_inode **out)
{
	struct uin_resolved r;
	int ret = uin_resolve_path(path, flags, &r);
	if (ret < 0)
		return ret;
	ret = none_inode_get(&r, out);
	uin_resolved_release(&r);
	return ret;
}

long uin_source_none_sb_count(void)
{
	uin_mutex_lock(&none_lock);
	long n = none_nsbs;
	uin_mutex_unlock(&none_lock);
	return n;
}
