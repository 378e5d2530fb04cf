/*
 * src/sources/registry.c - which source serves which enum uinotify_source.
 *
 * A table indexed by kind, so that a source plugs in by editing its line.
 * KERNEL is the kernel source (src/sources/kernel.c), SCAN the scanner
 * (src/sources/scan.c); AUTO chooses per mount (src/sources/mounts.c:
 * kernel, plus the scanner on network and FUSE mounts, and the scanner
 * where the kernel runs out of watches).
 *
 * A weak reference to uin_source_kernel would need no edit, but a weak
 * undefined symbol does not pull kernel.o out of libuinotify.a, so static
 * links would silently keep the fallback.
 */
#include <errno.h>
#include <string.h>

#include "sources/kernel.h"
#include "sources/mounts.h"
#include "sources/scan.h"
#include "sources/source.h"

static const struct uin_source_ops *const sources[] = {
	[UINOTIFY_SOURCE_AUTO] = &uin_source_auto,   /* kernel (+scan), per mount */
	[UINOTIFY_SOURCE_KERNEL] = &uin_source_kernel,
	[UINOTIFY_SOURCE_SCAN] = &uin_source_scan,
	[UINOTIFY_SOURCE_NONE] = &uin_source_none,
};

static const char *const source_names[] = {
	[UINOTIFY_SOURCE_AUTO] = "auto",
	[UINOTIFY_SOURCE_KERNEL] = "kernel",
	[UINOTIFY_SOURCE_SCAN] = "scan",
	[UINOTIFY_SOURCE_NONE] = "none",
};

#define NSOURCES (sizeof source_names / sizeof source_names[0])
_Static_assert(sizeof sources / sizeof sources[0] == NSOURCES,
	       "one source per kind");

int uin_source_inode_get(enum uinotify_source kind,
			 const struct uin_resolved *r,
			 struct uinotify_inode **out)
{
	if ((unsigned)kind >= NSOURCES)
		return -EINVAL;
	return sources[kind]->inode_get(r, out);
}

int uin_source_inode_get_ex(enum uinotify_source kind,
			    const struct uin_resolved *r, unsigned flags,
			    struct uinotify_inode **out)
{
	if (!(flags & UIN_SOURCE_RECOVER))
		return uin_source_inode_get(kind, r, out);
	switch (kind) {
	case UINOTIFY_SOURCE_AUTO:
		return uin_mount_auto_inode_get(r, UIN_MNT_RECOVER, out);
	case UINOTIFY_SOURCE_KERNEL:
		return uin_mount_inode_get(r, UIN_SRC_KERNEL, UIN_MNT_RECOVER,
					   out);
	default:
		/* The scanner recovers by itself; NONE has nothing to lose. */
		return uin_source_inode_get(kind, r, out);
	}
}

int uin_source_from_name(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < NSOURCES; i++)
		if (!strcmp(name, source_names[i]))
			return (int)i;
	return -1;
}

const char *uin_source_name(enum uinotify_source kind)
{
	return (unsigned)kind < NSOURCES ? source_names[kind] : NULL;
}
