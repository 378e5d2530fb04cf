/*
 * src/sources/resolve.c - path lookup as inotify_add_watch does it.
 *
 * The kernel does user_path_at() (LOOKUP_FOLLOW unless IN_DONT_FOLLOW,
 * LOOKUP_DIRECTORY with IN_ONLYDIR), then path_permission(MAY_READ), then
 * an LSM hook.  openat(O_PATH) walks the path with the same rules and the
 * same errno (ENOENT, ENOTDIR, EACCES for search permission, ELOOP,
 * ENAMETOOLONG, EFAULT) without opening the file, so it costs no OPEN
 * event and needs no read permission; faccessat2() on the O_PATH fd with
 * the effective ids then plays path_permission(MAY_READ) on exactly the
 * inode that was found (no second walk, no race with a rename).  Root
 * passes both, as with CAP_DAC_OVERRIDE in the kernel.
 */
#include "engine/fault.h"
#include "sources/kernel.h"
#include "sources/source.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void uin_key_from_statx(const struct statx *stx, struct uinotify_key *key)
{
	memset(key, 0, sizeof *key);
	key->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	key->ino = stx->stx_ino;
	if (stx->stx_mask & STATX_BTIME)
		key->btime_ns = (uint64_t)stx->stx_btime.tv_sec * 1000000000u +
				stx->stx_btime.tv_nsec;
	key->type = stx->stx_mode & S_IFMT;
}

int uin_resolve_path(const char *path, uint32_t in_flags,
		     struct uin_resolved *out)
{
	return uin_resolve_path_at(AT_FDCWD, path, in_flags, 0, out);
}

int uin_resolve_path_at(int dirfd, const char *path, uint32_t in_flags,
			uint64_t resolve, struct uin_resolved *out)
{
	out->fd = -1;
	if (!path)
		return -EFAULT;
	/* openat gives ENOENT for "" as the kernel's getname does. */
	int flags = O_PATH | O_CLOEXEC;
	if (in_flags & IN_DONT_FOLLOW)
		flags |= O_NOFOLLOW;
	/* LOOKUP_DIRECTORY: ENOTDIR, also for a symlink not followed. */
	if (in_flags & IN_ONLYDIR)
		flags |= O_DIRECTORY;
	int fd;
	if (resolve) {
		struct open_how how = {.flags = (uint64_t)flags,
				       .resolve = resolve};
		fd = (int)UIN_SYS_RETRY("resolve.openat2",
					syscall(SYS_openat2, dirfd, path,
						&how, sizeof how));
	} else {
		fd = UIN_SYS_RETRY("resolve.openat",
				   openat(dirfd, path, flags));
	}
	if (fd < 0)
		return -errno;
	/* Without faccessat2 (Linux < 5.8) glibc's emulation refuses
	 * AT_EMPTY_PATH: skip the check rather than refuse every path. */
	if (faccessat(fd, "", R_OK, AT_EMPTY_PATH | AT_EACCESS) != 0 &&
	    errno != ENOSYS && errno != EINVAL) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (UIN_SYS_RETRY("resolve.statx",
			  statx(fd, "", AT_EMPTY_PATH,
				STATX_TYPE | STATX_INO | STATX_BTIME,
				&out->stx)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	out->fd = fd;
	out->path = path;
	/* All of it: the kernel source sizes its kernel watch from the
	 * event bits of the watch about to be added (kernel.c, attach). */
	out->in_flags = in_flags;
	uin_key_from_statx(&out->stx, &out->key);
	return 0;
}

void uin_resolved_release(struct uin_resolved *r)
{
	if (r->fd >= 0) {
		uin_kernel_forget_fd(r->fd);
		close(r->fd);
	}
	r->fd = -1;
}
