/*
 * tests/test_run_errno.c - the edges of inotify's calls under uinotify-run,
 * against the kernel in the same run (tests/preload/inotify_edges.c): path
 * arguments read from the caller's memory (NULL, running into an unmapped
 * page, PATH_MAX, NAME_MAX), descriptors that are O_PATH, not inotify or
 * not open, the order of add_watch's checks, buffers the copy faults on
 * (EFAULT, and the record lost as Linux loses it), preadv2/pread offsets,
 * lseek, splice, tee, sendfile, write, and a queue past max_queued_events.
 */
#include "test_run.h"

static void edges(const char *section)
{
	run_require();
#ifdef UIN_PRELOAD_EDGES
	const char *args[] = {section, NULL};
	run_compare(UIN_PRELOAD_EDGES, NULL, NULL, args);
#else
	(void)section;
	SKIP("inotify_edges is not built");
#endif
}

TEST(path_arguments)
{
	edges("paths");
}

TEST(descriptors_and_masks)
{
	edges("descriptors");
}

TEST(bad_buffers_lose_what_linux_loses)
{
	edges("buffers");
}

TEST(other_calls_on_the_descriptor)
{
	edges("calls");
}

TEST(overflow_at_max_queued_events)
{
	edges("overflow");
}
