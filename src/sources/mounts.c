/*
 * src/sources/mounts.c - mount classification, the per-mount superblocks
 * and the dispatch of superblock operations to the sources.  See mounts.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "engine/lock.h"
#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/mounts.h"
#include "sources/scan.h"

/* Classification ----------------------------------------------------------- */

struct magic_entry {
	uint64_t magic;
	enum uin_mount_class cls;
};

/*
 * statfs f_type values.  SHARED: a change can be made where this kernel's
 * VFS does not see it.  Everything else here is LOCAL.
 */
static const struct magic_entry magics[] = {
	/* network and cluster filesystems */
	{0x6969, UIN_MOUNT_SHARED},     /* nfs, nfs4 */
	{0x517B, UIN_MOUNT_SHARED},     /* smbfs */
	{0xFF534D42, UIN_MOUNT_SHARED}, /* cifs */
	{0xFE534D42, UIN_MOUNT_SHARED}, /* smb2/smb3 */
	{0x01021997, UIN_MOUNT_SHARED}, /* 9p (WSL2's /mnt/c, QEMU) */
	{0x00C36400, UIN_MOUNT_SHARED}, /* ceph */
	{0x5346414F, UIN_MOUNT_SHARED}, /* afs */
	{0x6B414653, UIN_MOUNT_SHARED}, /* kafs */
	{0x73757245, UIN_MOUNT_SHARED}, /* coda */
	{0x564C, UIN_MOUNT_SHARED},     /* ncp */
	{0x7461636F, UIN_MOUNT_SHARED}, /* ocfs2 */
	{0x01161970, UIN_MOUNT_SHARED}, /* gfs2 */
	{0x0BD00BD0, UIN_MOUNT_SHARED}, /* lustre */
	{0x47504653, UIN_MOUNT_SHARED}, /* gpfs */
	{0x13661366, UIN_MOUNT_SHARED}, /* orangefs */
	{0x19830326, UIN_MOUNT_SHARED}, /* beegfs */
	{0x786F4256, UIN_MOUNT_SHARED}, /* vboxsf */
	{0x65735546, UIN_MOUNT_SHARED}, /* fuse: virtiofs, sshfs, bindfs,
					   rclone, glusterfs, s3fs, ... */
	/* local */
	{0xEF53, UIN_MOUNT_LOCAL},      /* ext2, ext3, ext4 */
	{0x58465342, UIN_MOUNT_LOCAL},  /* xfs */
	{0x9123683E, UIN_MOUNT_LOCAL},  /* btrfs */
	{0xF2F52010, UIN_MOUNT_LOCAL},  /* f2fs */
	{0x01021994, UIN_MOUNT_LOCAL},  /* tmpfs */
	{0x858458F6, UIN_MOUNT_LOCAL},  /* ramfs */
	{0x794C7630, UIN_MOUNT_LOCAL},  /* overlay */
	{0x2FC12FC1, UIN_MOUNT_LOCAL},  /* zfs */
	{0xCA451A4E, UIN_MOUNT_LOCAL},  /* bcachefs */
	{0x3153464A, UIN_MOUNT_LOCAL},  /* jfs */
	{0x52654973, UIN_MOUNT_LOCAL},  /* reiserfs */
	{0x4D44, UIN_MOUNT_LOCAL},      /* vfat, msdos */
	{0x2011BAB0, UIN_MOUNT_LOCAL},  /* exfat */
	{0x5346544E, UIN_MOUNT_LOCAL},  /* ntfs, ntfs3 */
	{0x482B, UIN_MOUNT_LOCAL},      /* hfsplus */
	{0x9660, UIN_MOUNT_LOCAL},      /* iso9660 */
	{0x73717368, UIN_MOUNT_LOCAL},  /* squashfs */
	{0xE0F5E1E2, UIN_MOUNT_LOCAL},  /* erofs */
	{0x3434, UIN_MOUNT_LOCAL},      /* nilfs2 */
	{0x15013346, UIN_MOUNT_LOCAL},  /* udf */
	{0xF15F, UIN_MOUNT_LOCAL},      /* ecryptfs */
	{0x958458F6, UIN_MOUNT_LOCAL},  /* hugetlbfs */
	{0x9FA0, UIN_MOUNT_LOCAL},      /* proc */
	{0x62656572, UIN_MOUNT_LOCAL},  /* sysfs */
	{0x63677270, UIN_MOUNT_LOCAL},  /* cgroup2 */
	{0x27E0EB, UIN_MOUNT_LOCAL},    /* cgroup */
	{0x1CD1, UIN_MOUNT_LOCAL},      /* devpts */
	{0x64626720, UIN_MOUNT_LOCAL},  /* debugfs */
	{0x74726163, UIN_MOUNT_LOCAL},  /* tracefs */
	{0xCAFE4A11, UIN_MOUNT_LOCAL},  /* bpf */
	{0x5A4F4653, UIN_MOUNT_LOCAL},  /* zonefs */
};

/* mountinfo fstype names; a name starting with "fuse" is always SHARED. */
static const char *const shared_names[] = {
	"nfs",     "nfs4",      "cifs",   "smb3",   "smbfs",   "smb2",
	"9p",      "virtiofs",  "ceph",   "glusterfs", "lustre", "gpfs",
	"afs",     "coda",      "ncpfs",  "ocfs2",  "gfs2",    "orangefs",
	"pvfs2",   "beegfs",    "vboxsf", "vmhgfs", "prl_fs",  "davfs",
	"sshfs",   "drvfs",     "panfs",  "cvfs",   "moosefs", "lizardfs",
};
static const char *const local_names[] = {
	"ext2",     "ext3",   "ext4",    "xfs",   "btrfs",    "f2fs",
	"tmpfs",    "ramfs",  "overlay", "zfs",   "bcachefs", "jfs",
	"reiserfs", "vfat",   "msdos",   "exfat", "ntfs",     "ntfs3",
	"hfsplus",  "iso9660", "squashfs", "erofs", "nilfs2", "udf",
	"ecryptfs", "hugetlbfs", "proc",  "sysfs", "cgroup2", "cgroup",
	"devpts",   "debugfs", "tracefs", "bpf",  "zonefs",   "devtmpfs",
};

enum uin_mount_class uin_mount_class_of_name(const char *fstype, bool *known)
{
	bool k = true;
	enum uin_mount_class cls = UIN_MOUNT_LOCAL;
	if (!strncmp(fstype, "fuse", 4)) { /* fuse, fuse.*, fuseblk, fusectl */
		cls = strcmp(fstype, "fusectl") ? UIN_MOUNT_SHARED
						: UIN_MOUNT_LOCAL;
		goto out;
	}
	for (size_t i = 0; i < sizeof shared_names / sizeof *shared_names;
	     i++)
		if (!strcmp(fstype, shared_names[i])) {
			cls = UIN_MOUNT_SHARED;
			goto out;
		}
	for (size_t i = 0; i < sizeof local_names / sizeof *local_names; i++)
		if (!strcmp(fstype, local_names[i]))
			goto out;
	k = false;
out:
	if (known)
		*known = k;
	return cls;
}

static const struct magic_entry *find_magic(uint64_t magic)
{
	for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
		if (magics[i].magic == magic)
			return &magics[i];
	return NULL;
}

/* The fields of one mountinfo line that classification uses. */
struct mi_line {
	char fstype[64];
	char mountpoint[256]; /* octal escapes (\040) undone */
	char superopts[256];
};

/* Copy the space-terminated field at *p (advancing it), undoing the
 * kernel's octal escapes when unescape. */
static void mi_field(const char **p, char *out, size_t outlen, bool unescape)
{
	const char *s = *p;
	size_t n = 0;
	while (*s && *s != ' ') {
		char c = *s++;
		if (unescape && c == '\\' && s[0] >= '0' && s[0] <= '3' &&
		    s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 +
				   (s[2] - '0'));
			s += 3;
		}
		if (n + 1 < outlen)
			out[n++] = c;
	}
	out[n] = '\0';
	while (*s == ' ')
		s++;
	*p = s;
}

/*
 * The mountinfo line for mount mnt_id (or, when the kernel gives no mount
 * id, the first line for device dev).  Reads in chunks with no
 * allocation; a line longer than the buffer is skipped.
 */
static bool mountinfo_line(uint64_t mnt_id, dev_t dev, struct mi_line *out)
{
	int fd = UIN_SYS_RETRY("mounts.mountinfo.open",
			       open("/proc/self/mountinfo",
				    O_RDONLY | O_CLOEXEC));
	if (fd < 0)
		return false;
	char buf[8192];
	size_t have = 0;
	bool found = false, eof = false;
	while (!found) {
		if (!eof && have < sizeof buf) {
			ssize_t n = UIN_SYS_RETRY(
				"mounts.mountinfo.read",
				read(fd, buf + have, sizeof buf - have));
			if (n <= 0)
				eof = true;
			else
				have += (size_t)n;
		}
		char *nl = memchr(buf, '\n', have);
		if (!nl) {
			if (eof || have == sizeof buf) {
				if (eof)
					break;
				have = 0; /* overlong line: drop it */
				continue;
			}
			continue;
		}
		*nl = '\0';
		unsigned long long id;
		unsigned maj, min;
		int off = 0;
		/* id parent maj:min root mountpoint options ... - fstype
		 * source superoptions */
		if (sscanf(buf, "%llu %*u %u:%u %*s %n", &id, &maj, &min,
			   &off) >= 3 &&
		    off > 0 &&
		    (mnt_id ? id == mnt_id
			    : (maj == major(dev) && min == minor(dev)))) {
			char *sep = strstr(buf, " - ");
			if (sep) {
				const char *p = buf + off;
				mi_field(&p, out->mountpoint,
					 sizeof out->mountpoint, true);
				p = sep + 3;
				char source[8];
				mi_field(&p, out->fstype, sizeof out->fstype,
					 false);
				mi_field(&p, source, sizeof source, false);
				mi_field(&p, out->superopts,
					 sizeof out->superopts, false);
				found = true;
			}
		}
		size_t used = (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have - used);
		have -= used;
	}
	close(fd);
	return found;
}

/* Whether a comma-separated option list holds opt. */
static bool has_option(const char *list, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, opt, n))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* FUSE filesystems known to number inodes themselves, differently from
 * one lookup to the next (rclone renumbers when its cache expires). */
static const char *const fuse_invented_ino[] = {
	"sshfs", "rclone", "s3fs", "gcsfuse", "goofys", "davfs2", "curlftpfs",
	"smbnetfs", "gvfsd-fuse", "archivemount", "mergerfs",
};

static bool ino_stable(const struct uin_mount_info *info,
		       const struct mi_line *mi)
{
	if (!strcmp(info->fstype, "cifs") || !strcmp(info->fstype, "smb3"))
		return !has_option(mi->superopts, "noserverino");
	bool fuse = info->magic == 0x65735546 ||
		    !strncmp(info->fstype, "fuse", 4);
	if (!fuse)
		return true;
	for (size_t i = 0;
	     i < sizeof fuse_invented_ino / sizeof *fuse_invented_ino; i++)
		if (!strcmp(info->subtype, fuse_invented_ino[i]))
			return false;
	/* libfuse's high-level API without use_ino reports its node ids
	 * as inode numbers, and the root's node id is 1 (FUSE_ROOT_ID). */
	struct statx root;
	if (mi->mountpoint[0] == '/' &&
	    UIN_SYS_RETRY("mounts.root.statx",
			  statx(AT_FDCWD, mi->mountpoint, AT_NO_AUTOMOUNT,
				STATX_INO, &root)) == 0 &&
	    root.stx_ino == 1)
		return false;
	return true;
}

int uin_mount_classify(int fd, struct uin_mount_info *out)
{
	memset(out, 0, sizeof *out);
	out->ino_stable = true;
	struct statfs sfs;
	if (UIN_SYS_RETRY("mounts.classify.fstatfs", fstatfs(fd, &sfs)) < 0)
		return -errno;
	out->magic = (uint64_t)(unsigned long)sfs.f_type & 0xffffffffu;
	const struct magic_entry *m = find_magic(out->magic);
	out->cls = m ? m->cls : UIN_MOUNT_LOCAL;
	out->known = m != NULL;

	struct statx stx;
	dev_t dev = 0;
	if (UIN_SYS_RETRY("mounts.classify.statx",
			  statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx)) ==
	    0) {
		dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		if (stx.stx_mask & STATX_MNT_ID)
			out->mnt_id = stx.stx_mnt_id;
	}
	struct mi_line mi;
	if (mountinfo_line(out->mnt_id, dev, &mi)) {
		snprintf(out->fstype, sizeof out->fstype, "%s", mi.fstype);
		const char *dot = strchr(out->fstype, '.');
		if (dot && !strncmp(out->fstype, "fuse", 4))
			snprintf(out->subtype, sizeof out->subtype, "%s",
				 dot + 1);
		if (!m) {
			bool known;
			out->cls = uin_mount_class_of_name(out->fstype, &known);
			out->known = known;
		}
		out->ino_stable = ino_stable(out, &mi);
	}
	return 0;
}

enum uin_mount_class uin_mount_class_of(int fd)
{
	struct statfs sfs;
	if (fstatfs(fd, &sfs) == 0) {
		const struct magic_entry *m = find_magic(
			(uint64_t)(unsigned long)sfs.f_type & 0xffffffffu);
		if (m)
			return m->cls;
	}
	struct uin_mount_info info;
	if (uin_mount_classify(fd, &info) < 0)
		return UIN_MOUNT_LOCAL;
	return info.cls;
}

unsigned uin_mount_sources_for(enum uinotify_source kind,
			       enum uin_mount_class cls)
{
	switch (kind) {
	case UINOTIFY_SOURCE_AUTO:
		return cls == UIN_MOUNT_SHARED ? UIN_SRC_KERNEL | UIN_SRC_SCAN
					       : UIN_SRC_KERNEL;
	case UINOTIFY_SOURCE_KERNEL:
		return UIN_SRC_KERNEL;
	case UINOTIFY_SOURCE_SCAN:
		return UIN_SRC_SCAN;
	default:
		return 0;
	}
}

/* Mount records ------------------------------------------------------------- */

uin_mutex_t uin_sources_mu = UIN_MUTEX_INITIALIZER(UIN_RANK_SOURCES);
static struct uin_mount *mounts;    /* [sources lock] */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

void uin_sources_lock(void)
{
	uin_tls_locks++ /* loop.h */;
	uin_mutex_lock(&uin_sources_mu);
}

void uin_sources_unlock(void)
{
	uin_mutex_unlock(&uin_sources_mu);
	uin_tls_locks--;
}

/* Held from prepare to parent or child. */
static void fork_prepare(void) UIN_NO_TSA
{
	uin_mutex_lock(&uin_sources_mu);
}
static void fork_parent(void) UIN_NO_TSA
{
	uin_mutex_unlock(&uin_sources_mu);
}
static void fork_child(bool quiesced)
{
	if (quiesced)
		uin_mutex_reinit(&uin_sources_mu);
	uin_kernel_atfork_child();
	if (quiesced)
		uin_scan_atfork_child();
}
static void fork_rearm(void)
{
	uin_kernel_atfork_rearm();
	uin_scan_atfork_rearm();
}
static const struct uin_loop_fork_hooks fork_hooks = {
	fork_prepare, fork_parent, fork_child, fork_rearm};
static void register_fork_hooks(void)
{
	uin_loop_register_fork_hooks(&fork_hooks);
}

static void sb_mask_changed(void *sb_user, struct uinotify_inode *inode,
			    uint32_t old_mask, uint32_t new_mask)
{
	(void)old_mask;
	struct uin_mount *m = sb_user;
	/* Only when every watch on the inode has IN_EXCL_UNLINK may the
	 * kernel watch have it too. */
	bool excl = uinotify_inode_excl_unlink_all(inode);
	uin_sources_lock();
	struct uin_src_inode *si = uinotify_inode_data(inode);
	if (si) {
		si->need = new_mask & IN_ALL_EVENTS;
		si->watched = uinotify_inode_watched(inode);
		si->excl_all = excl;
		if (m->active & UIN_SRC_KERNEL)
			uin_kernel_update(si);
		if (si->sw)
			uin_scan_update(si);
	}
	uin_sources_unlock();
}

/* Unlink m if nothing uses it; the caller then destroys it unlocked. */
static bool mount_idle_locked(struct uin_mount *m)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	if (m->ninodes || m->pins)
		return false;
	struct uin_mount **pp = &mounts;
	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	return true;
}

static void mount_free(struct uin_mount *m)
{
	uinotify_sb_destroy(m->sb);
	uin_free(m);
}

void uin_mount_unpin(struct uin_mount *m)
{
	uin_sources_lock();
	m->pins--;
	bool idle = mount_idle_locked(m);
	uin_sources_unlock();
	if (idle)
		mount_free(m);
}

static void sb_release_inode(void *sb_user, struct uinotify_inode *inode)
{
	struct uin_mount *m = sb_user;
	uin_sources_lock();
	struct uin_src_inode *si = uinotify_inode_data(inode);
	bool idle = false;
	if (si) {
		if (si->kw)
			uin_kernel_detach(si);
		if (si->sw)
			uin_scan_detach(si);
		uinotify_inode_set_data(inode, NULL);
		uin_free(si);
		m->ninodes--;
		idle = mount_idle_locked(m);
	}
	uin_sources_unlock();
	/* Our superblock reference goes now; the engine drops the inode's
	 * own right after this returns. */
	if (idle)
		mount_free(m);
}

static const struct uinotify_sb_ops mount_sb_ops = {
	.mask_changed = sb_mask_changed,
	.release_inode = sb_release_inode,
};

static struct uin_mount *mount_find_locked(uint64_t dev, unsigned wanted,
					   unsigned flags)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_mount *m;
	for (m = mounts; m; m = m->next)
		if (m->dev == dev && m->wanted == wanted && m->flags == flags)
			break;
	return m;
}

/* Create the record, pinned.  Under the sources lock. */
static int mount_create_locked(uint64_t dev, unsigned wanted, unsigned flags,
			       const struct uin_mount_info *info,
			       struct uin_mount **out)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_mount *m = uin_calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	int err = uinotify_sb_create(&mount_sb_ops, m, &m->sb);
	if (err) {
		uin_free(m);
		return err;
	}
	m->dev = dev;
	m->wanted = wanted;
	m->flags = flags;
	m->active = wanted & UIN_SRC_AVAILABLE;
	m->shared = info->cls == UIN_MOUNT_SHARED;
	m->ino_stable = info->ino_stable;
	m->node_keyed = info->magic == FUSE_SUPER_MAGIC;
	m->next = mounts;
	mounts = m;
	m->pins++;
	*out = m;
	return 0;
}

/* Find or create the record of (r's device, wanted, flags), pinned. */
static int mount_get(const struct uin_resolved *r, unsigned wanted,
		     unsigned flags, struct uin_mount **out)
{
	uin_sources_lock();
	struct uin_mount *m = mount_find_locked(r->key.dev, wanted, flags);
	if (m)
		m->pins++;
	uin_sources_unlock();
	if (m) {
		*out = m;
		return 0;
	}
	/* Classify outside the lock: it reads mountinfo.  Only the scanner
	 * needs to know more than the class AUTO already chose by. */
	struct uin_mount_info info = {.cls = UIN_MOUNT_LOCAL,
				      .ino_stable = true};
	struct statfs sfs;
	if ((wanted & UIN_SRC_SCAN) ||
	    (flags & (UIN_MNT_FALLBACK | UIN_MNT_RECOVER)))
		uin_mount_classify(r->fd, &info);
	else if (fstatfs(r->fd, &sfs) == 0) /* for node_keyed only */
		info.magic = (uint64_t)(unsigned long)sfs.f_type & 0xffffffffu;
	int err = 0;
	uin_sources_lock();
	m = mount_find_locked(r->key.dev, wanted, flags);
	if (m) {
		m->pins++;
		*out = m;
	} else {
		err = mount_create_locked(r->key.dev, wanted, flags, &info, out);
	}
	uin_sources_unlock();
	return err;
}

/*
 * What tells apart two kernel inodes of a FUSE mount that report one
 * st_ino: the node id and generation in the file handle (fuse_encode_fh),
 * folded to the key's 32 spare bits.  0 when the filesystem gives no
 * handle: the key is then st_ino's alone, as elsewhere.
 */
static uint32_t node_key(int fd)
{
	union {
		struct file_handle fh;
		unsigned char all[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	int mnt_id;
	if (name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) != 0)
		return 0;
	const unsigned char *b =
		h.all + offsetof(struct file_handle, f_handle);
	uint32_t x = 2166136261u ^ (uint32_t)h.fh.handle_type;
	for (unsigned i = 0; i < h.fh.handle_bytes && i < MAX_HANDLE_SZ; i++)
		x = (x ^ b[i]) * 16777619u;
	return x ? x : 1;
}

int uin_mount_inode_get(const struct uin_resolved *r, unsigned wanted,
			unsigned flags, struct uinotify_inode **out)
{
	if (!(wanted & UIN_SRC_AVAILABLE))
		return -EOPNOTSUPP;
	pthread_once(&fork_once, register_fork_hooks);
	/* Events that happened before this call must meet the watches as
	 * they were, as in the kernel, not the watch about to be changed;
	 * and no kernel event may be folded into a scanner snapshot while
	 * that snapshot is being taken. */
	uin_loop_dispatch_enter();

	struct uin_mount *m;
	int err = mount_get(r, wanted, flags, &m);
	if (err) {
		uin_loop_dispatch_exit();
		return err;
	}

	/* What follows keys the inode as the engine does: by node id too
	 * where the kernel does (node_key). */
	struct uin_resolved keyed = *r;
	if (m->node_keyed)
		keyed.key.reserved = node_key(r->fd);
	r = &keyed;

	struct uinotify_inode *inode = NULL;
	err = uinotify_inode_get(m->sb, &r->key, &inode);

	int scan_mode = 0;
	struct uin_src_inode *si = NULL;
	uin_sources_lock();
	if (err >= 0) {
		err = 0;
		si = uinotify_inode_data(inode);
		if (!si) {
			si = uin_calloc(1, sizeof *si);
			if (si) {
				si->mount = m;
				si->inode = inode;
				uinotify_inode_set_data(inode, si);
				m->ninodes++;
			} else {
				err = -ENOMEM;
			}
		}
		if (!err && (m->active & UIN_SRC_KERNEL))
			err = uin_kernel_attach(si, r);
		if (!err && (m->active & UIN_SRC_SCAN))
			scan_mode = UIN_SCAN_TICK;
		else if (err == -ENOSPC && (m->flags & UIN_MNT_FALLBACK) &&
			 !si->kw)
			scan_mode = UIN_SCAN_TICK; /* kernel_watch_enospc */
		else if (!err && (m->flags & UIN_MNT_RECOVER))
			scan_mode = UIN_SCAN_SHADOW;
		if (scan_mode)
			err = 0;
	}
	uin_sources_unlock();

	/* The snapshot is taken without the sources lock (it reads the
	 * directory), under the dispatch lock. */
	if (scan_mode)
		err = uin_scan_attach(si, r, scan_mode);

	uin_sources_lock();
	m->pins--;
	bool idle = mount_idle_locked(m);
	uin_sources_unlock();
	if (idle)
		mount_free(m);

	if (err && inode)
		uinotify_inode_put(inode); /* may release it */
	uin_loop_dispatch_exit();
	if (err)
		return err;
	*out = inode;
	return 0;
}

int uin_inode_sources(struct uinotify_inode *inode, unsigned *wanted,
		      unsigned *active)
{
	int err = -ENOENT;
	uin_sources_lock();
	struct uinotify_sb *sb = uinotify_inode_sb(inode);
	for (struct uin_mount *m = mounts; m; m = m->next)
		if (m->sb == sb) {
			*wanted = m->wanted;
			*active = m->active;
			err = 0;
			break;
		}
	uin_sources_unlock();
	return err;
}

static struct uin_mount *next_with_locked(struct uin_mount *m,
					   unsigned sources)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	for (; m; m = m->next)
		if (m->active & sources)
			return m;
	return NULL;
}

void uin_mounts_overflow(unsigned sources)
{
	uin_loop_assert_dispatch();
	/* A pin keeps each record (and its link) in the list while its
	 * superblock is walked without the lock; no allocation needed. */
	uin_sources_lock();
	struct uin_mount *m = next_with_locked(mounts, sources);
	if (m)
		m->pins++;
	while (m) {
		uin_sources_unlock();
		uinotify_hook_overflow(m->sb);
		/* Then what the scanner can find again of what was lost. */
		uin_scan_recover(m);
		uin_sources_lock();
		struct uin_mount *next = next_with_locked(m->next, sources);
		if (next)
			next->pins++;
		m->pins--;
		if (mount_idle_locked(m)) {
			uin_sources_unlock();
			mount_free(m);
			uin_sources_lock();
		}
		m = next;
	}
	uin_sources_unlock();
}

long uin_mounts_count(void)
{
	long n = 0;
	uin_sources_lock();
	for (struct uin_mount *m = mounts; m; m = m->next)
		n++;
	uin_sources_unlock();
	return n;
}

/* The AUTO source ------------------------------------------------------------ */

int uin_mount_auto_inode_get(const struct uin_resolved *r, unsigned flags,
			     struct uinotify_inode **out)
{
	unsigned wanted = uin_mount_sources_for(UINOTIFY_SOURCE_AUTO,
						uin_mount_class_of(r->fd));
	/* Where the kernel alone was chosen, its ENOSPC is not the end. */
	return uin_mount_inode_get(r, wanted, flags | UIN_MNT_FALLBACK, out);
}

static int auto_inode_get(const struct uin_resolved *r,
			  struct uinotify_inode **out)
{
	return uin_mount_auto_inode_get(r, 0, out);
}

const struct uin_source_ops uin_source_auto = {
	.name = "auto",
	.inode_get = auto_inode_get,
};
