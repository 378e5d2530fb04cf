/*
 * tests/test_version.c - uinotify_version() and the UINOTIFY_VERSION_*
 * macros say the same version, and it is the project's (CMake's, which
 * names the shared library's file and the pkg-config and CMake packages).
 */
#include "runner.h"

#include <uinotify/version.h>

TEST(run_time_is_the_headers)
{
	const char *v = uinotify_version();
	CHECK(v != NULL);
	CHECK_STR(v, UINOTIFY_VERSION_STRING);
	CHECK(uinotify_version() == v); /* one static string */
}

TEST(string_is_the_three_numbers)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%d.%d.%d", UINOTIFY_VERSION_MAJOR,
		 UINOTIFY_VERSION_MINOR, UINOTIFY_VERSION_PATCH);
	CHECK_STR(UINOTIFY_VERSION_STRING, buf);
}

TEST(is_the_project_version)
{
#ifndef UIN_PROJECT_VERSION
	SKIP("built without UIN_PROJECT_VERSION");
#else
	CHECK_STR(uinotify_version(), UIN_PROJECT_VERSION);
#endif
}
