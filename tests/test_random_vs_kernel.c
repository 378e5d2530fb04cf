/*
 * tests/test_random_vs_kernel.c - a seeded random mix of file operations
 * and inotify calls (tests/preload/inotify_random.c) run against the
 * kernel's inotify and against uinotify in the same run, compared record
 * by record, with FIONREAD and poll(fd, 0) at every step and a pause
 * longer than a scanner tick at the end (late and repeated records are
 * differences too).  Every way in: the library's API, the drop-in library
 * and uinotify-run, on the test's local directory.
 *
 * api_bindfs and drop_in_bindfs do the same on two bindfs mounts, the
 * default source (the kernel and the scanner) against the kernel on FUSE.
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

/* Runs seeds 1..N each way (or the n of list, when UIN_RANDOM_SEEDS does
 * not say); the first seed that differs fails.  mode: inotify_random's
 * fourth argument, or NULL. */
static void seeds_list(enum way way, const char *const *extra,
		       const char *mode, const long *list, long nlist)
{
	long n = env_long("UIN_RANDOM_SEEDS", list ? nlist : 12);
	if (getenv("UIN_RANDOM_SEEDS"))
		list = NULL;
	if (!mode && getenv("UIN_RANDOM_MODE") && *getenv("UIN_RANDOM_MODE"))
		mode = getenv("UIN_RANDOM_MODE");
	long steps = env_long("UIN_RANDOM_STEPS", 300);
	char steps_s[32];
	snprintf(steps_s, sizeof steps_s, "%ld", steps);
	bool keep_going = env_long("UIN_RANDOM_KEEP_GOING", 0);
	long differ = 0;
	static struct pl_child kernel, ours;
	for (long i = 1; i <= n; i++) {
		long seed = list ? list[i - 1] : i;
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

static void seeds_mode(enum way way, const char *const *extra,
		       const char *mode)
{
	seeds_list(way, extra, mode, NULL, 0);
}

static void seeds(enum way way, const char *const *extra)
{
	seeds_mode(way, extra, NULL);
}

/*
 * On a shared mount (the default source: the kernel and the scanner), each
 * side on a bindfs mount of its own, so that the kernel's side is a FUSE
 * mount too.  Without hard links ("nolinks"): on a path-based FUSE each
 * link is a kernel inode with its own caches, which the scanner's statx
 * refreshes on our side only, so that even the files can differ
 * (docs/scanner.md, section 6).  The seeds are those that match today, a
 * guard against going back; of seeds 1..100, 19 still differ, for the
 * causes docs/scanner.md lists.  Run in a child, so that the mounts go
 * whatever happens.
 */
static void seeds_bindfs(enum way way)
{
	/* 1-15, and 37: the one where a directory moved here came with an
	 * ATTRIB for its new ".." (scan.c, kernel_moved) */
	static const long matching[] = {1, 2, 3, 4, 5, 6, 7, 8,
					9, 10, 11, 12, 13, 14, 15, 37};
	pl_require("bindfs", "bindfs");
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		SKIP("no /dev/fuse");
	char back[2][1024], mnt[2][1024], cmd[3 * 1024 + 128];
	for (int i = 0; i < 2; i++) {
		snprintf(back[i], sizeof back[i], "%s",
			 uin_test_path(i ? "back2" : "back1"));
		snprintf(mnt[i], sizeof mnt[i], "%s",
			 uin_test_path(i ? "mnt2" : "mnt1"));
		CHECK_OK(mkdir(back[i], 0755));
		CHECK_OK(mkdir(mnt[i], 0755));
		int len = snprintf(cmd, sizeof cmd, "bindfs '%s' '%s'",
				   back[i], mnt[i]);
		if (len < 0 || (size_t)len >= sizeof cmd || system(cmd) != 0)
			SKIP("bindfs cannot mount here");
	}
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setenv("UIN_RANDOM_KERNEL_DIR", mnt[0], 1);
		setenv("UIN_RANDOM_OURS_DIR", mnt[1], 1);
		seeds_list(way, NULL, "nolinks", matching,
			   (long)(sizeof matching / sizeof *matching));
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < 2; i++) {
		int len = snprintf(cmd, sizeof cmd,
				   "umount '%s' 2>/dev/null || "
				   "fusermount -u '%s' 2>/dev/null || "
				   "umount -l '%s'",
				   mnt[i], mnt[i], mnt[i]);
		if (len < 0 || (size_t)len >= sizeof cmd || system(cmd) != 0)
			fprintf(stderr, "could not unmount %s\n", mnt[i]);
	}
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
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

TEST(api_bindfs)
{
	seeds_bindfs(API);
}

TEST(drop_in_bindfs)
{
#ifdef UIN_PRELOAD_SO
	pl_require_preload();
	seeds_bindfs(DROP_IN);
#else
	SKIP("the drop-in library is not built");
#endif
}

TEST(api_local_kernel_source)
{
	static const char *const env[] = {"UINOTIFY_SOURCE=kernel", NULL};
	seeds(API, env);
}
