/*
 * src/sources/path.c - uinotify_path_inode: path -> source -> engine inode,
 * for consumers of the engine API (the instance goes the same way).
 */
#include <errno.h>

#include <uinotify/sources.h>

#include "sources/source.h"

UINOTIFY_EXPORT int uinotify_path_inode(const char *path, uint32_t flags,
					enum uinotify_source source,
					struct uinotify_inode **out)
{
	struct uin_resolved r;
	int ret = uin_resolve_path(path, flags, &r);
	if (ret < 0)
		return ret;
	ret = uin_source_inode_get(source, &r, out);
	uin_resolved_release(&r);
	return ret < 0 ? ret : 0;
}
