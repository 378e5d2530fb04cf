/* uinotify/version.h - version and symbol visibility. */
#ifndef UINOTIFY_VERSION_H
#define UINOTIFY_VERSION_H

#define UINOTIFY_VERSION_MAJOR 0
#define UINOTIFY_VERSION_MINOR 1
#define UINOTIFY_VERSION_PATCH 0

/* Only symbols marked UINOTIFY_EXPORT leave the shared library. */
#if defined(__GNUC__)
#define UINOTIFY_EXPORT __attribute__((visibility("default")))
#else
#define UINOTIFY_EXPORT
#endif

#endif
