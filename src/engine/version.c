/*
 * src/engine/version.c - the run-time version of the library.
 */
#include <uinotify/version.h>

UINOTIFY_EXPORT const char *uinotify_version(void)
{
	return UINOTIFY_VERSION_STRING;
}
