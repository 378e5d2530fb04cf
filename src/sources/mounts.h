/*
 * src/sources/mounts.h - which sources observe which mount, and the engine
 * superblocks they share.
 *
 * CLASSIFICATION.  A mount is LOCAL when every change to it goes through
 * this kernel's VFS (ext4, xfs, btrfs, tmpfs, overlay, zfs, ...), so the
 * kernel's inotify sees everything; it is SHARED when changes can also be
 * made elsewhere (NFS, SMB, 9p, every FUSE filesystem including virtiofs,
 * sshfs, bindfs and rclone, ceph, gluster, lustre, gpfs, ...).  statfs's
 * f_type decides; /proc/self/mountinfo's fstype ("fuse.bindfs") names it,
 * and decides when f_type is unknown.  Unknown filesystems count as LOCAL.
 *
 * CHOICE.  UINOTIFY_SOURCE_AUTO gives LOCAL mounts the kernel source and
 * SHARED mounts the kernel source AND the scanner (the kernel for local
 * operations at full fidelity, the scanner for changes made elsewhere).
 * KERNEL and SCAN force one source.  The choice is recorded per mount as
 * `wanted`; `active` is the part that exists in this build (both do).
 * Two behaviours ride on the record as flags: FALLBACK (AUTO: when the
 * kernel refuses a watch with ENOSPC at max_user_watches, the scanner
 * observes that inode instead) and RECOVER (an instance asked that a lost
 * event be followed by a rescan that synthesises what was lost: the
 * scanner keeps a snapshot of the kernel-sourced directories, src/sources/
 * scan.c).
 *
 * SUPERBLOCKS.  One engine superblock per (device, wanted source set,
 * flags): two instances that chose different sources for the same file
 * get different engine inodes, so neither sees the other's source's
 * events, while every instance using the same sources shares one inode
 * (and one wd space rule per instance, as Linux).  A superblock lives while
 * it has inodes.
 *
 * LOCKING.  One mutex, the sources lock, guards the mount table, every
 * struct uin_src_inode, the kernel source's tables and the scanner's link
 * to each inode (its own state is under the dispatch lock: scan.h).  It ranks below the
 * engine's inode lock (mask_changed runs under it) and above the engine's
 * sb lock and the loop's mutex; never call a hook or handler while holding
 * it.
 */
#ifndef UIN_SOURCES_MOUNTS_H
#define UIN_SOURCES_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include <uinotify/hooks.h>
#include <uinotify/inotify.h>

#include "engine/lock.h"
#include "sources/source.h"

enum uin_mount_class {
	UIN_MOUNT_LOCAL = 0,
	UIN_MOUNT_SHARED = 1,
};

/* Source sets. */
enum {
	UIN_SRC_KERNEL = 1u << 0,
	UIN_SRC_SCAN = 1u << 1,
};
/* The sources this build has. */
#define UIN_SRC_AVAILABLE (UIN_SRC_KERNEL | UIN_SRC_SCAN)

/* Behaviours of a mount record (part of its identity, like the sources). */
enum {
	UIN_MNT_FALLBACK = 1u << 0, /* ENOSPC from the kernel: scan instead */
	UIN_MNT_RECOVER = 1u << 1,  /* rescan after lost events */
};

struct uin_mount_info {
	uint64_t magic;          /* statfs f_type */
	enum uin_mount_class cls;
	bool known;              /* f_type or fstype is in a table */
	uint64_t mnt_id;         /* statx's, 0 if not given */
	char fstype[64];         /* mountinfo's ("fuse.bindfs"), or "" */
	char subtype[48];        /* after "fuse."/"fuseblk.", or "" */
	/*
	 * Whether (device, inode number) names one file for as long as it
	 * lives, so that an inode seen under a new name was renamed.  False
	 * where the filesystem invents numbers: sshfs, rclone, s3fs and other
	 * FUSE filesystems that report FUSE node ids (the root is inode 1),
	 * CIFS mounted with noserverino.
	 */
	bool ino_stable;
};

/*
 * Classify the mount holding fd (any fd, O_PATH included), with the names
 * from mountinfo.  0, or a negative errno from fstatfs.
 */
int uin_mount_classify(int fd, struct uin_mount_info *out);
/* Only the class, from f_type (mountinfo only for an unknown f_type). */
enum uin_mount_class uin_mount_class_of(int fd);
/* The class of a mountinfo fstype name; *known tells whether listed. */
enum uin_mount_class uin_mount_class_of_name(const char *fstype, bool *known);
/* The sources kind wants on a mount of class cls (UIN_SRC_* bits). */
unsigned uin_mount_sources_for(enum uinotify_source kind,
			       enum uin_mount_class cls);

struct uin_kwatch;
struct uin_scan_watch;

/* A mount record: one engine superblock and the sources that feed it. */
struct uin_mount {
	struct uin_mount *next;  /* [sources lock] */
	uint64_t dev;            /* constant */
	unsigned wanted;         /* constant */
	unsigned flags;          /* constant: UIN_MNT_* */
	unsigned active;         /* constant */
	struct uinotify_sb *sb;  /* constant; our creator reference */
	long ninodes;            /* [sources lock] inodes with our data */
	long pins;               /* [sources lock] users outside the lock */
	/* What the scanner needs to know of the filesystem (constant). */
	bool shared;             /* changes can be made elsewhere */
	bool ino_stable;         /* see struct uin_mount_info */
	/* FUSE: the kernel has one inode per FUSE node id, which two hard
	 * links of a path-based filesystem (bindfs) do not share although
	 * they report one st_ino; keys then carry the node id. */
	bool node_keyed;
};

/*
 * What the sources keep per engine inode (uinotify_inode_set_data).
 * Created by the first inode_get, freed by release_inode.
 */
struct uin_src_inode {
	struct uin_mount *mount;        /* constant */
	struct uinotify_inode *inode;   /* constant; not a counted reference */
	uint32_t need;                  /* [sources lock] the engine's union */
	bool watched;                   /* [sources lock] any watch at all */
	bool excl_all;                  /* [sources lock] every watch has
					   IN_EXCL_UNLINK */
	struct uin_kwatch *kw;          /* [sources lock] kernel source */
	struct uin_src_inode *kw_next;  /* [sources lock] kw's other users */
	struct uin_scan_watch *sw;      /* [sources lock] the scanner's */
};

/* The sources lock (mounts.c; named here for the lock annotations and
 * uin_assert_held). */
extern uin_mutex_t uin_sources_mu;
void uin_sources_lock(void) UIN_ACQUIRE(uin_sources_mu);
void uin_sources_unlock(void) UIN_RELEASE(uin_sources_mu);

/*
 * The engine inode for r in the superblock of (r's device, wanted, flags),
 * with every active source attached.  It holds the dispatch lock
 * throughout (uin_loop_dispatch_enter) and first delivers every event the
 * sources already hold, so that events older than the watch change that
 * follows are judged by the old masks, as the kernel judged them, and so
 * that the scanner's first snapshot and the kernel's events agree: call it
 * holding no lock that a handler takes.  0 and a counted reference,
 * -EOPNOTSUPP if none of wanted exists in this build, or a source's error
 * (the kernel source: ENOSPC at max_user_watches unless FALLBACK, EMFILE,
 * ENOMEM; the scanner: ENOSPC when it cannot hold a descriptor, ENOMEM).
 */
int uin_mount_inode_get(const struct uin_resolved *r, unsigned wanted,
			unsigned flags, struct uinotify_inode **out);

/* The recorded choice for an inode made by these sources: 0, or -ENOENT
 * if the inode is not one of theirs. */
int uin_inode_sources(struct uinotify_inode *inode, unsigned *wanted,
		      unsigned *active);

/*
 * A source lost events: uinotify_hook_overflow on every superblock whose
 * mounts have one of these sources active, then, where the scanner keeps
 * a snapshot (scanned and RECOVER mounts), a rescan that reports what was
 * lost.  Call with no lock held, under the dispatch lock.
 */
void uin_mounts_overflow(unsigned sources);

/*
 * Drop a pin (struct uin_mount's pins, taken under the sources lock by a
 * user that reads the mount outside it: the scanner's watches).  The last
 * user frees the mount.  Call without the sources lock.
 */
void uin_mount_unpin(struct uin_mount *m);

/* Number of live mount records (superblocks), for tests. */
long uin_mounts_count(void);

/* The AUTO source: per mount, from uin_mount_class_of. */
extern const struct uin_source_ops uin_source_auto;
/* The same with record flags (UIN_MNT_RECOVER); FALLBACK is implied. */
int uin_mount_auto_inode_get(const struct uin_resolved *r, unsigned flags,
			     struct uinotify_inode **out);

#endif
