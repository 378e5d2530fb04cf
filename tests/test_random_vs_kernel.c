/*
 * tests/test_random_vs_kernel.c - a seeded random mix of file operations
 * and inotify calls (tests/preload/inotify_random.c) run against the
 * kernel's inotify and against uinotify in the same run, compared record
 * by record, with FIONREAD and poll(fd, 0) at every step and a pause
 * longer than a scanner tick at the end (late and repeated records are
 * differences too).  Every way in: the library's API, the drop-in library
 * and uinotify-run, on the test's local directory.
 *
 * Fixed seeds here; more with UIN_RANDOM_SEEDS=N (seeds 1..N) and
 * UIN_RANDOM_STEPS=N, e.g. before calling a change to the sources done:
 *
 *   UIN_RANDOM_SEEDS=500 UIN_TEST_TIMEOUT=3600 \
 *       build/tests/test_random_vs_kernel run_local
 */
#include "test_run.h"


static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

enum way { DROP_IN, SUPERVISED, API };

/* Runs seeds 1..N each way; the first seed that differs fails. */
static void seeds(enum way way, const char *const *extra)
{
	long n = env_long("UIN_RANDOM_SEEDS", 12);
	long steps = env_long("UIN_RANDOM_STEPS", 300);
	char steps_s[32];
	snprintf(steps_s, sizeof steps_s, "%ld", steps);
	static struct pl_child kernel, ours;
	for (long seed = 1; seed <= n; seed++) {
		char seed_s[32], kname[48], uname[48];
		snprintf(seed_s, sizeof seed_s, "%ld", seed);
		snprintf(kname, sizeof kname, "k%ld", seed);
		snprintf(uname, sizeof uname, "u%ld", seed);
		char *argv[] = {(char *)UIN_RANDOM_PLAIN, (char *)run_dir(kname),
				seed_s, steps_s, NULL};
		int ks = run_program(false, NULL, argv, NULL, &kernel, 60000);
		argv[1] = (char *)run_dir(uname);
		int us;
		if (way == SUPERVISED) {
			us = run_program(true, NULL, argv, extra, &ours, 60000);
		} else if (way == API) {
			argv[0] = (char *)UIN_RANDOM_API_BIN;
			us = run_program(false, NULL, argv, extra, &ours, 60000);
		} else {
			char **env = pl_env(true, extra);
			pl_spawn(&ours, argv, env, NULL);
			free(env);
			us = pl_wait_exit(&ours, 60000);
		}
		char what[64];
		snprintf(what, sizeof what, "seed %ld, %ld steps", seed, steps);
		run_check_same(what, &kernel, ks, &ours, us);
	}
}

TEST(drop_in_local)
{
#ifdef UIN_PRELOAD_SO
	pl_require_preload();
	seeds(DROP_IN, NULL);
#else
	SKIP("the drop-in library is not built");
#endif
}

TEST(drop_in_local_kernel_source)
{
#ifdef UIN_PRELOAD_SO
	pl_require_preload();
	static const char *const env[] = {"UINOTIFY_SOURCE=kernel", NULL};
	seeds(DROP_IN, env);
#else
	SKIP("the drop-in library is not built");
#endif
}

TEST(run_local)
{
	run_require();
	seeds(SUPERVISED, NULL);
}

TEST(api_local)
{
	seeds(API, NULL);
}

TEST(api_local_kernel_source)
{
	static const char *const env[] = {"UINOTIFY_SOURCE=kernel", NULL};
	seeds(API, env);
}
