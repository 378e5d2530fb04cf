/*
 * tests/abi_layout.h - the layout of every public struct and enum, as one
 * table: X(expression, value in 0.1.0 on LP64 Linux: x86_64, aarch64).
 *
 * tests/test_abi_layout.c compares the C compiler's values with the recorded
 * ones (the C ABI must not change); tests/cxx/consumer.cpp compares the C++
 * compiler's with the C compiler's (tests/cxx/layout.c), so that a C++
 * program lays the structs out exactly as the library does.  Include after
 * the public headers and <stddef.h>; define UIN_ALIGNOF first.
 */
#ifndef UIN_TEST_ABI_LAYOUT_H
#define UIN_TEST_ABI_LAYOUT_H

#define UIN_ABI_LAYOUT(X)                                                    \
	X(sizeof(struct uinotify_list), 16)                                  \
	X(UIN_ALIGNOF(struct uinotify_list), 8)                              \
	X(offsetof(struct uinotify_list, next), 0)                           \
	X(offsetof(struct uinotify_list, prev), 8)                           \
	X(sizeof(struct uinotify_watch), 72)                                 \
	X(UIN_ALIGNOF(struct uinotify_watch), 8)                             \
	X(offsetof(struct uinotify_watch, h_link), 0)                        \
	X(offsetof(struct uinotify_watch, i_link), 16)                       \
	X(offsetof(struct uinotify_watch, count), 32)                        \
	X(sizeof(((struct uinotify_watch *)0)->count), 4)                    \
	X(offsetof(struct uinotify_watch, handle), 40)                       \
	X(offsetof(struct uinotify_watch, inode), 48)                        \
	X(offsetof(struct uinotify_watch, wd), 56)                           \
	X(offsetof(struct uinotify_watch, mask), 60)                         \
	X(offsetof(struct uinotify_watch, linked), 64)                       \
	X(sizeof(((struct uinotify_watch *)0)->linked), 1)                   \
	X(sizeof(struct uinotify_ops), 24)                                   \
	X(offsetof(struct uinotify_ops, handle_event), 0)                    \
	X(offsetof(struct uinotify_ops, destroy_watch), 8)                   \
	X(offsetof(struct uinotify_ops, queue_overflow), 16)                 \
	X(sizeof(struct uinotify_sb_ops), 16)                                \
	X(offsetof(struct uinotify_sb_ops, mask_changed), 0)                 \
	X(offsetof(struct uinotify_sb_ops, release_inode), 8)                \
	X(sizeof(struct uinotify_key), 32)                                   \
	X(UIN_ALIGNOF(struct uinotify_key), 8)                               \
	X(offsetof(struct uinotify_key, dev), 0)                             \
	X(offsetof(struct uinotify_key, ino), 8)                             \
	X(offsetof(struct uinotify_key, btime_ns), 16)                       \
	X(offsetof(struct uinotify_key, type), 24)                           \
	X(offsetof(struct uinotify_key, reserved), 28)                       \
	X(sizeof(enum uinotify_source), 4)                                   \
	X(UINOTIFY_SOURCE_AUTO, 0)                                           \
	X(UINOTIFY_SOURCE_KERNEL, 1)                                         \
	X(UINOTIFY_SOURCE_SCAN, 2)                                           \
	X(UINOTIFY_SOURCE_NONE, 3)                                           \
	X(sizeof(enum uinotify_limit), 4)                                    \
	X(UINOTIFY_MAX_USER_INSTANCES, 0)                                    \
	X(UINOTIFY_MAX_USER_WATCHES, 1)                                      \
	X(UINOTIFY_MAX_QUEUED_EVENTS, 2)

struct uin_abi_entry {
	const char *what;
	unsigned long value;
	unsigned long lp64; /* 0.1.0's value on LP64 */
};

#define UIN_ABI_ENTRY(expr, v) {#expr, (unsigned long)(expr), (v)},

#endif
