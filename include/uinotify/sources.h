/*
 * uinotify/sources.h - event sources, for in-process consumers of the
 * engine API.
 *
 * A consumer of uinotify/engine.h that watches real files asks a source for
 * the engine inode of a path; the source then observes that inode for as
 * long as watches are on it (the union of their masks) and reports what
 * happens to it through the producer hooks, on uinotify's event-loop
 * thread.  Handlers therefore run on that thread.
 */
#ifndef UINOTIFY_SOURCES_H
#define UINOTIFY_SOURCES_H

#include <stdint.h>

#include <uinotify/engine.h>
#include <uinotify/inotify.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The engine inode of path as source sees it (UINOTIFY_SOURCE_AUTO picks
 * per mount).  flags: IN_DONT_FOLLOW and IN_ONLYDIR, as inotify_add_watch;
 * pass the mask of the watch you are about to add in the same argument and
 * the source observes exactly that from the start.
 * 0 and a counted reference in *out (release with uinotify_inode_put once
 * the watch is added), or a negative errno: the errno inotify_add_watch
 * would give for the path (ENOENT, ENOTDIR, EACCES, ELOOP, ...).
 */
UINOTIFY_EXPORT int uinotify_path_inode(const char *path, uint32_t flags,
					enum uinotify_source source,
					struct uinotify_inode **out);

#ifdef __cplusplus
}
#endif
#endif
