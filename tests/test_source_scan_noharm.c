/*
 * tests/test_source_scan_noharm.c - the scanner leaves the host program's
 * own state alone: watching a directory does not advance the program's
 * rand() sequence (nor take its lock: rand() is not thread-safe).
 */
#include "test_source_scan.h"

#include <stdlib.h>
#include <sys/stat.h>

TEST(rand_sequence_stays_the_programs)
{
	int expected[4];
	srand(12345);
	for (int i = 0; i < 4; i++)
		expected[i] = rand();
	srand(12345);
	int fd = uinotify_init1(IN_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(uinotify_set_source(fd, UINOTIFY_SOURCE_SCAN), 0);
	for (int i = 0; i < 8; i++) {
		char name[32];
		snprintf(name, sizeof name, "d%d", i);
		CHECK_OK(mkdir(P(name), 0755));
		CHECK(uinotify_add_watch(fd, P(name), IN_CREATE) >= 0);
	}
	CHECK(uinotify_add_watch(fd, uin_test_tmpdir(), IN_ALL_EVENTS) >= 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(rand(), expected[i]);
	CHECK_OK(uinotify_close(fd));
	/* The scanner frees its watches on its next tick. */
	CHECK_OK(uin_scan_wait_ticks(2, 10000));
}
