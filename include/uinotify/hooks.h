/*
 * uinotify/hooks.h - the producer side of the uinotify engine.
 *
 * Producers are what stood where the kernel's VFS hooks stood: event
 * sources (the kernel's own inotify, the scanner) and applications that own
 * a namespace of their own.  A producer creates a superblock (a set of
 * inodes it owns, with one key space, that can be unmounted together),
 * looks inodes up by key, and calls the hooks below when something happens.
 *
 * Every hook costs one load and one branch, and takes no lock, when nobody
 * watches the inodes it names.  The caller must hold a reference on every
 * inode it passes (uinotify_inode_get / uinotify_inode_lookup) for the
 * duration of the call.  Hooks may be called from any thread, but a
 * producer should call them for one filesystem from one thread so that the
 * order of events is the order of operations.  Hooks must not be called
 * from inside a handler.
 *
 * IN_ISDIR is added by the engine where Linux adds it: when the subject of
 * the event (the child for directory-entry and child events, the inode
 * itself for self events) is a directory, or when the caller passes it;
 * never on IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED, IN_Q_OVERFLOW.
 */
#ifndef UINOTIFY_HOOKS_H
#define UINOTIFY_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uinotify/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uinotify_sb;

/*
 * The identity of an inode inside one superblock.  For real files: the
 * device, the inode number, the birth time in nanoseconds where statx gives
 * one (else 0) and the file type (the S_IFMT bits of st_mode).  For an
 * application's own namespace: any values; set type to S_IFDIR for the
 * inodes that are directories, so that IN_ISDIR is right.  reserved is part
 * of the identity: set it to zero.  (uinotify's own sources put the FUSE
 * node id there, folded, on a FUSE mount, where two hard links can be two
 * kernel inodes with one inode number.)
 */
struct uinotify_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t btime_ns;
	uint32_t type;
	uint32_t reserved; /* zero */
};

/*
 * Superblock operations; all optional (the table itself may be NULL).
 *
 * mask_changed(sb_user, inode, old_mask, new_mask)
 *   The union of the event masks of all watches on inode changed, or the
 *   inode gained its first watch or lost its last one.  Observe the inode
 *   while uinotify_inode_watched(inode) is true (a watch with an empty
 *   event mask still wants IN_UNMOUNT and to be told of the inode's death),
 *   for the events in new_mask (the union of the watches' event masks);
 *   stop when it is false.  Also called when only
 *   uinotify_inode_excl_unlink_all changed (then old_mask == new_mask).  Called with the
 *   inode's lock held, from API calls and from hooks: it must not call
 *   into the engine for this inode (uinotify_inode_* accessors are fine).
 *
 * release_inode(sb_user, inode)
 *   The inode's last reference is gone and it is about to be freed: drop
 *   whatever the producer attached with uinotify_inode_set_data.  No engine
 *   lock held.
 */
struct uinotify_sb_ops {
	void (*mask_changed)(void *sb_user, struct uinotify_inode *inode,
			     uint32_t old_mask, uint32_t new_mask);
	void (*release_inode)(void *sb_user, struct uinotify_inode *inode);
};

/* Create a superblock.  0 and *out, or -ENOMEM. */
UINOTIFY_EXPORT int uinotify_sb_create(const struct uinotify_sb_ops *ops,
				       void *sb_user, struct uinotify_sb **out);

/*
 * Drop the creator's reference.  The superblock's memory goes when its last
 * inode does (every inode holds a reference on its superblock).  Call
 * uinotify_hook_unmount first if watches may remain.
 */
UINOTIFY_EXPORT void uinotify_sb_destroy(struct uinotify_sb *sb);

UINOTIFY_EXPORT void *uinotify_sb_user(const struct uinotify_sb *sb);

/* Inodes ------------------------------------------------------------------ */

/*
 * Find the inode with this key in sb, creating it if there is none.  On
 * success *out holds a counted reference (put it with uinotify_inode_put)
 * and the return value is 1 if the inode was created, 0 if found.
 * -ENOMEM on allocation failure.
 */
UINOTIFY_EXPORT int uinotify_inode_get(struct uinotify_sb *sb,
				       const struct uinotify_key *key,
				       struct uinotify_inode **out);

/* Find without creating: a counted reference, or NULL. */
UINOTIFY_EXPORT struct uinotify_inode *
uinotify_inode_lookup(struct uinotify_sb *sb, const struct uinotify_key *key);

UINOTIFY_EXPORT void uinotify_inode_hold(struct uinotify_inode *inode);
UINOTIFY_EXPORT void uinotify_inode_put(struct uinotify_inode *inode);

UINOTIFY_EXPORT const struct uinotify_key *
uinotify_inode_key(const struct uinotify_inode *inode);
UINOTIFY_EXPORT struct uinotify_sb *
uinotify_inode_sb(const struct uinotify_inode *inode);
UINOTIFY_EXPORT bool uinotify_inode_is_dir(const struct uinotify_inode *inode);

/* The union of the event masks of its watches (0 if none or none wants). */
UINOTIFY_EXPORT uint32_t uinotify_inode_mask(const struct uinotify_inode *in);
/*
 * Whether there are watches on the inode and every one has IN_EXCL_UNLINK:
 * only then may a producer that filters unlinked files itself (the kernel
 * does, per kernel watch) do so for all of them.
 */
UINOTIFY_EXPORT bool
uinotify_inode_excl_unlink_all(const struct uinotify_inode *in);
/* Whether any watch is on the inode, even one with an empty mask. */
UINOTIFY_EXPORT bool uinotify_inode_watched(const struct uinotify_inode *in);

/* One pointer of producer data per inode; see release_inode. */
UINOTIFY_EXPORT void uinotify_inode_set_data(struct uinotify_inode *inode,
					     void *data);
UINOTIFY_EXPORT void *uinotify_inode_data(const struct uinotify_inode *inode);

/* Hooks -------------------------------------------------------------------- */

/*
 * An event on the inode itself (S): its watches get it without a name.
 * Use for MOVE_SELF, DELETE_SELF (prefer uinotify_hook_inode_dead), the
 * ATTRIB of a link count change, and any event whose parent is not known.
 */
UINOTIFY_EXPORT void uinotify_hook_inode(struct uinotify_inode *inode,
					 uint32_t mask, uint32_t cookie);

/*
 * Names (every hook below that takes one): one path component, 1 to
 * NAME_MAX bytes, no '/', as Linux's are.  Another name is refused: the
 * event does not reach the directory's watches, and their handles get
 * queue_overflow instead, so that the loss is seen (IN_Q_OVERFLOW).
 */

/*
 * An event on child that its parent directory also reports (fsnotify_parent
 * followed by fsnotify on the inode): dir's watches get it with name (P),
 * then child's watches get it without a name (S).  For OPEN, ACCESS,
 * MODIFY, ATTRIB, CLOSE_WRITE and CLOSE_NOWRITE.  dir may be NULL (parent
 * unknown or not a producer inode); child may not.
 */
UINOTIFY_EXPORT void uinotify_hook_parent(struct uinotify_inode *dir,
					  const char *name,
					  struct uinotify_inode *child,
					  uint32_t mask);

/*
 * A directory-entry event: only dir's watches get it, with name, and with
 * child as the handler's name_inode (child may be NULL).  For CREATE,
 * DELETE, MOVED_FROM and MOVED_TO; also for any event a producer already
 * knows to be the parent's half of a child event (the kernel source reads
 * the kernel's P and S halves as separate records): any event bits are
 * accepted, IN_ISDIR is taken from child or from mask, and IN_EXCL_UNLINK
 * is applied when child is given and unlinked.
 */
UINOTIFY_EXPORT void uinotify_hook_dirent(struct uinotify_inode *dir,
					  const char *name,
					  struct uinotify_inode *child,
					  uint32_t mask, uint32_t cookie);

/*
 * A rename, as vfs_rename reports it: one fresh cookie, MOVED_FROM to
 * old_dir with old_name, MOVED_TO to new_dir with new_name (either
 * directory may be NULL when it is not a producer inode), then MOVE_SELF to
 * moved.  An overwritten target is the producer's business (Linux gives it
 * ATTRIB now and DELETE_SELF when it dies).  Returns the cookie used.
 */
UINOTIFY_EXPORT uint32_t uinotify_hook_move(struct uinotify_inode *old_dir,
					    const char *old_name,
					    struct uinotify_inode *new_dir,
					    const char *new_name,
					    struct uinotify_inode *moved);

/*
 * The inode is gone (its last link and last reference): DELETE_SELF to its
 * watches that asked for it, then every watch is removed with IN_IGNORED.
 */
UINOTIFY_EXPORT void uinotify_hook_inode_dead(struct uinotify_inode *inode);

/*
 * The inode's last name was removed while it stays open (or any other way
 * the kernel's d_unlinked() would become true), or it was linked again
 * (unlinked = false).  Watches with IN_EXCL_UNLINK then stop receiving
 * OPEN, ACCESS, MODIFY, CLOSE_WRITE and CLOSE_NOWRITE about it, from P and S.
 */
UINOTIFY_EXPORT void uinotify_hook_unlinked(struct uinotify_inode *inode,
					    bool unlinked);

/* The filesystem holding the inode went away: UNMOUNT then IGNORED. */
UINOTIFY_EXPORT void uinotify_hook_unmount_inode(struct uinotify_inode *inode);

/*
 * The whole superblock went away: for every watched inode, newest first
 * (the kernel's superblock inode-list order), UNMOUNT then IGNORED.
 */
UINOTIFY_EXPORT void uinotify_hook_unmount(struct uinotify_sb *sb);

/*
 * The producer lost events about sb (its own queue overflowed): every
 * handle with a watch on one of sb's inodes gets ops->queue_overflow once.
 */
UINOTIFY_EXPORT void uinotify_hook_overflow(struct uinotify_sb *sb);

/*
 * A rename cookie: from one process-wide counter starting at 1, never 0.
 */
UINOTIFY_EXPORT uint32_t uinotify_cookie_next(void);

#ifdef __cplusplus
}
#endif
#endif /* UINOTIFY_HOOKS_H */
