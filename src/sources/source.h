/*
 * src/sources/source.h - the interface between consumers (the instance)
 * and the event sources.  Private to the library.
 *
 * A consumer turns a path into an engine inode in two steps:
 *
 *   1. uin_resolve_path() looks the path up exactly as inotify_add_watch
 *      does (IN_DONT_FOLLOW, IN_ONLYDIR, read permission), with the errno
 *      Linux gives, and returns an O_PATH fd, the statx result and the key.
 *   2. uin_source_inode_get() asks the source chosen for that file (by the
 *      consumer's enum uinotify_source, and per mount for AUTO) for the
 *      engine inode of that key, creating it in the source's superblock.
 *
 * From then on the source learns what to observe through its superblock's
 * mask_changed operation (uinotify/hooks.h) and reports what happens through
 * the producer hooks.
 */
#ifndef UIN_SOURCES_SOURCE_H
#define UIN_SOURCES_SOURCE_H

#include <stdint.h>
#include <sys/stat.h>

#include <uinotify/hooks.h>
#include <uinotify/inotify.h>

struct uin_resolved {
	int fd;             /* O_PATH (O_NOFOLLOW with IN_DONT_FOLLOW), owned */
	struct statx stx;   /* type, ino, dev, btime where given */
	struct uinotify_key key;
	const char *path;   /* as given by the caller, not copied */
	uint32_t in_flags;  /* the whole mask asked for: IN_DONT_FOLLOW and
			       IN_ONLYDIR steer the lookup; event bits, when
			       present, tell a source what to observe first */
};

/*
 * Look path up as inotify_add_watch does: follow symlinks unless
 * IN_DONT_FOLLOW; ENOTDIR for a non-directory with IN_ONLYDIR; ENOENT for
 * a missing path or ""; EFAULT for NULL; EACCES for a search-permission
 * failure or no read permission on the target; plus ELOOP, ENAMETOOLONG,
 * ENOMEM as the lookup gives them.  0 and *out filled, or a negative errno.
 */
int uin_resolve_path(const char *path, uint32_t in_flags,
		     struct uin_resolved *out);
/*
 * The same, relative to dirfd (AT_FDCWD, or a directory: a relative path
 * starts there), and with openat2's RESOLVE_* flags when resolve is not 0
 * (RESOLVE_IN_ROOT: dirfd is the root, as for a caller in a chroot).
 */
int uin_resolve_path_at(int dirfd, const char *path, uint32_t in_flags,
			uint64_t resolve, struct uin_resolved *out);
void uin_resolved_release(struct uin_resolved *r);

/* Make the key of a file from its statx. */
void uin_key_from_statx(const struct statx *stx, struct uinotify_key *key);

/*
 * A source.  inode_get returns a counted reference to the engine inode
 * for r in this source's superblock for r's mount, creating it as needed.
 */
struct uin_source_ops {
	const char *name;
	int (*inode_get)(const struct uin_resolved *r,
			 struct uinotify_inode **out);
};

/*
 * The inode for r as seen by source kind (AUTO chooses per mount).
 * 0 and a counted reference in *out, or a negative errno.
 */
int uin_source_inode_get(enum uinotify_source kind,
			 const struct uin_resolved *r,
			 struct uinotify_inode **out);

/*
 * The same with flags.  UIN_SOURCE_RECOVER: the watch wants lost events
 * (the kernel's IN_Q_OVERFLOW) to be followed, after the IN_Q_OVERFLOW
 * record, by the events a rescan finds (docs/scanner.md, recovery).  Such
 * watches get their own engine inodes (superblock per choice), so other
 * instances never see the synthesised events.
 */
enum { UIN_SOURCE_RECOVER = 1u << 0 };
int uin_source_inode_get_ex(enum uinotify_source kind,
			    const struct uin_resolved *r, unsigned flags,
			    struct uinotify_inode **out);

/* Parse UINOTIFY_SOURCE-style names; -1 if unknown. */
int uin_source_from_name(const char *name);
const char *uin_source_name(enum uinotify_source kind);

/* The NONE source: inodes in one superblock per device, no events at all.
 * Tests and applications drive them through the hooks. */
extern const struct uin_source_ops uin_source_none;

#endif
