/*
 * uinotify/version.h - versions and symbol visibility.
 *
 * UINOTIFY_VERSION_* are the version of these headers, fixed when a program
 * is compiled; uinotify_version() is the version of the library the program
 * runs with.  They differ when the program was built against other headers
 * than the installed library's (see uinotify_version(3)).
 */
#ifndef UINOTIFY_VERSION_H
#define UINOTIFY_VERSION_H

#define UINOTIFY_VERSION_MAJOR 0
#define UINOTIFY_VERSION_MINOR 2
#define UINOTIFY_VERSION_PATCH 0
/* The three numbers above as "MAJOR.MINOR.PATCH". */
#define UINOTIFY_VERSION_STRING "0.2.0"

/* Only symbols marked UINOTIFY_EXPORT leave the shared library. */
#if defined(__GNUC__)
#define UINOTIFY_EXPORT __attribute__((visibility("default")))
#else
#define UINOTIFY_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The run-time version of the library: "MAJOR.MINOR.PATCH", the
 * UINOTIFY_VERSION_STRING it was built with (for example "0.2.0").  A
 * static string: never NULL, never to be freed.  Any thread, any time,
 * even before any other call.
 */
UINOTIFY_EXPORT const char *uinotify_version(void);

#ifdef __cplusplus
}
#endif
#endif
