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
 *
 * UIN_RANDOM_KERNEL_DIR and UIN_RANDOM_OURS_DIR put the two sides' fresh
 * directories elsewhere: two bindfs mounts, say (a mount of each side, so
 * that the kernel's side is a FUSE mount too; the directories made there
 * stay, to look at after a difference).  UIN_RANDOM_KEEP_GOING=1
 * runs every seed and counts those that differ, where the test otherwise
 * stops at the first.  UIN_RANDOM_MODE gives inotify_random's fourth
 * argument to the tests that set none (nolinks, say).
 */
#include <limits.h>

#include "engine/sanitizers.h"

#include "test_run.h"

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* A fresh directory for one side of one seed: under $env, else the
 * test's own. */
static void side_dir(char *out, size_t len, const char *env, char side,
		     long seed)
{
	const char *parent = getenv(env);
	char name[48];
	snprintf(name, sizeof name, "%c%ld", side, seed);
	if (parent && *parent) {
		snprintf(out, len, "%s/%s.%d", parent, name, (int)getpid());
		CHECK_OK(mkdir(out, 0755));
	} else {
		snprintf(out, len, "%s", run_dir(name));
	}
}

enum way { DROP_IN, SUPERVISED, API };

/* Runs seeds 1..N each way; the first seed that differs fails.  mode:
 * inotify_random's fourth argument, or NULL. */
static void seeds_mode(enum way way, const char *const *extra,
		       const char *mode)
{
	long n = env_long("UIN_RANDOM_SEEDS", 12);
	if (!mode && getenv("UIN_RANDOM_MODE") && *getenv("UIN_RANDOM_MODE"))
		mode = getenv("UIN_RANDOM_MODE");
	long steps = env_long("UIN_RANDOM_STEPS", 300);
	char steps_s[32];
	snprintf(steps_s, sizeof steps_s, "%ld", steps);
	bool keep_going = env_long("UIN_RANDOM_KEEP_GOING", 0);
	long differ = 0;
	static struct pl_child kernel, ours;
	for (long seed = 1; seed <= n; seed++) {
		char seed_s[32], kdir[PATH_MAX], udir[PATH_MAX];
		snprintf(seed_s, sizeof seed_s, "%ld", seed);
		side_dir(kdir, sizeof kdir, "UIN_RANDOM_KERNEL_DIR", 'k', seed);
		side_dir(udir, sizeof udir, "UIN_RANDOM_OURS_DIR", 'u', seed);
		char *argv[] = {(char *)UIN_RANDOM_PLAIN, kdir, seed_s, steps_s,
				(char *)mode, NULL};
		int ks = run_program(false, NULL, argv, NULL, &kernel, 60000);
		argv[1] = udir;
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
		if (keep_going) {
			if (ks == 0 && us == 0 && !strcmp(kernel.obuf, ours.obuf))
				continue;
			const char *a = kernel.obuf, *b = ours.obuf;
			int line = 1;
			for (; *a && *a == *b; a++, b++)
				line += *a == '\n';
			fprintf(stderr, "seed %ld differs at line %d\n", seed, line);
			differ++;
			continue;
		}
		char what[64];
		snprintf(what, sizeof what, "seed %ld, %ld steps", seed, steps);
		run_check_same(what, &kernel, ks, &ours, us);
	}
	if (keep_going)
		fprintf(stderr, "%ld of %ld seeds (%ld steps) differ\n", differ,
			n, steps);
	CHECK_EQ(differ, 0);
}

static void seeds(enum way way, const char *const *extra)
{
	seeds_mode(way, extra, NULL);
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

/* poll(fd, 0) right after each step, before FIONREAD or any other call:
 * the drop-in's wait calls collect what the kernel has queued. */
TEST(drop_in_local_poll_first)
{
#ifdef UIN_TSAN
	SKIP("under ThreadSanitizer the drop-in's wait calls only wait "
	     "(src/preload/preload.c, collect_before_wait)");
#endif
#ifdef UIN_PRELOAD_SO
	pl_require_preload();
	seeds_mode(DROP_IN, NULL, "pollfirst");
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
