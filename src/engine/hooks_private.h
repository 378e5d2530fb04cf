/*
 * src/engine/hooks_private.h - producer hooks the library's own sources
 * use and that are not part of the exported API (include/uinotify/hooks.h).
 */
#ifndef UIN_ENGINE_HOOKS_PRIVATE_H
#define UIN_ENGINE_HOOKS_PRIVATE_H

struct uinotify_inode;

/*
 * The producer can no longer observe the inode and no event explains it
 * (a fork child whose kernel watch could not be made again): every watch
 * is removed with IN_IGNORED alone, as Linux ends a watch it drops, so
 * that the program knows that wd reports nothing more.
 */
void uin_hook_inode_lost(struct uinotify_inode *inode);

#endif
