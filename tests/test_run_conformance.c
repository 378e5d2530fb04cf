/*
 * tests/test_run_conformance.c - the instance conformance program
 * (tests/preload/inotify_rules.c: records, errno, merging, overflow, fork,
 * dup, exec, poll/epoll, EINTR, threads, close_range, syscall()) prints
 * byte for byte the same under uinotify-run as against the kernel, in the
 * same run: built dynamically, statically with glibc, statically with
 * musl, and ported to Go (tests/run/), each issuing its own syscalls.
 */
#include "test_run.h"

static void rules(const char *prog, const char *run_opts,
		  const char *const *extra)
{
	run_require();
	if (!prog)
		SKIP("this build of the conformance program is not built");
	run_compare(prog, run_opts, extra, NULL);
}

#ifndef UIN_PRELOAD_RULES
#define UIN_PRELOAD_RULES NULL
#endif
#ifndef UIN_RUN_PROG_INOTIFY_RULES_STATIC
#define UIN_RUN_PROG_INOTIFY_RULES_STATIC NULL
#endif
#ifndef UIN_RUN_PROG_INOTIFY_RULES_MUSL
#define UIN_RUN_PROG_INOTIFY_RULES_MUSL NULL
#endif
#ifndef UIN_RUN_PROG_INOTIFY_RULES_GO
#define UIN_RUN_PROG_INOTIFY_RULES_GO NULL
#endif

TEST(dynamic_matches_kernel)
{
	rules(UIN_PRELOAD_RULES, NULL, NULL);
}

TEST(dynamic_kernel_source_matches_kernel)
{
	static const char *const env[] = {"UINOTIFY_SOURCE=kernel", NULL};
	rules(UIN_PRELOAD_RULES, NULL, env);
}

TEST(static_glibc_matches_kernel)
{
	rules(UIN_RUN_PROG_INOTIFY_RULES_STATIC, NULL, NULL);
}

TEST(static_musl_matches_kernel)
{
	rules(UIN_RUN_PROG_INOTIFY_RULES_MUSL, NULL, NULL);
}

TEST(go_matches_kernel)
{
	rules(UIN_RUN_PROG_INOTIFY_RULES_GO, NULL, NULL);
}

/* uinotify-run and the drop-in library together: one instance per call
 * (the library sees the supervisor and steps aside). */
TEST(with_the_drop_in_too_matches_kernel)
{
#ifdef UIN_PRELOAD_SO
	pl_require_preload();
	if (UIN_PRELOAD_RUNTIMES[0])
		SKIP("a sanitized drop-in needs its runtimes preloaded");
	static const char *const env[] = {"LD_PRELOAD=" UIN_PRELOAD_SO, NULL};
	rules(UIN_PRELOAD_RULES, NULL, env);
#else
	SKIP("the drop-in library is not built");
#endif
}

/* uinotify-run under uinotify-run: the inner one sees it is served and
 * runs COMMAND directly (one filter, one instance per call). */
TEST(nested_matches_kernel)
{
	run_require();
	static struct pl_child kernel, ours;
	char *argv[] = {(char *)UIN_PRELOAD_RULES, (char *)run_dir("k"), NULL};
	CHECK_EQ(run_program(false, NULL, argv, NULL, &kernel, 120000), 0);
	char *nested[] = {(char *)UIN_RUN_BIN, (char *)"-v",
			  (char *)UIN_PRELOAD_RULES, (char *)run_dir("u"), NULL};
	CHECK_EQ(run_program(true, NULL, nested, NULL, &ours, 120000), 0);
	CHECK_STR(ours.obuf, kernel.obuf);
	CHECK(strstr(ours.ebuf, "already served") != NULL);
}
