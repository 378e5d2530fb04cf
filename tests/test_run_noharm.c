/*
 * tests/test_run_noharm.c - uinotify-run costs nothing to a program that
 * never watches: COMMAND gets no descriptor, no thread and no output from
 * it (the supervisor is another process; the listener and the socket are
 * closed before exec), its small-stack threads start, and its first
 * inotify call works (tests/preload/noharm_probe.c, with and without).
 */
#include "test_run.h"

TEST(nothing_in_the_command_before_or_after)
{
	run_require();
#ifdef UIN_PRELOAD_NOHARM
	static struct pl_child plain, ours;
	char *argv[] = {(char *)UIN_PRELOAD_NOHARM, (char *)"--watch",
			(char *)uin_test_tmpdir(), NULL};
	CHECK_EQ(run_program(false, NULL, argv, NULL, &plain, 30000), 0);
	CHECK_EQ(run_program(true, NULL, argv, NULL, &ours, 30000), 0);
	/* Same descriptors, same threads, every small thread started, the
	 * watch made (wd 1), and nothing on stderr. */
	CHECK_STR(ours.obuf, plain.obuf);
	CHECK(strstr(ours.obuf, "watch: fd ok, wd 1") != NULL);
	CHECK(strstr(ours.obuf, "Invalid argument") == NULL);
	CHECK_STR(ours.ebuf, "");
#else
	SKIP("noharm_probe is not built");
#endif
}
