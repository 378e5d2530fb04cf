/*
 * src/sources/none.h - the NONE source's extra entry points, for tests
 * and for applications that drive uinotify through the hooks.
 */
#ifndef UIN_SOURCES_NONE_H
#define UIN_SOURCES_NONE_H

#include <stdint.h>

#include <uinotify/hooks.h>

/*
 * The NONE source's engine inode for path, looked up as
 * uinotify_add_watch(fd, path, flags) would (flags: IN_DONT_FOLLOW,
 * IN_ONLYDIR), so that a caller can fire hooks at exactly the inode an
 * instance with the NONE source watches.  0 and a counted reference in
 * *out (put it with uinotify_inode_put), or a negative errno.
 */
int uin_source_none_inode(const char *path, uint32_t flags,
			  struct uinotify_inode **out);

/* Superblocks the NONE source holds right now (for tests). */
long uin_source_none_sb_count(void);

#endif
