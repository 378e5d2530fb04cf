/*
 * tests/test_run.h - what the uinotify-run tests (test_run_*.c) share:
 * running a program plain (the kernel's inotify answers it) and under
 * uinotify-run, on fresh directories, and comparing what it printed.
 *
 * Paths come from tests/CMakeLists.txt: UIN_RUN_BIN (uinotify-run), and
 * the helper programs of test_preload_* (preload/preload_util.h).  The
 * static, musl and Go programs come from tests/run/CMakeLists.txt
 * (UIN_RUN_PROG_*, defined only for those whose toolchain was found).
 */
#ifndef UIN_TEST_RUN_H
#define UIN_TEST_RUN_H

#include "preload/preload_util.h"

#define RUN_UNUSED __attribute__((unused))

static RUN_UNUSED void run_require(void)
{
#ifndef UIN_RUN_BIN
	SKIP("uinotify-run is not built (libseccomp not found)");
#else
	if (access(UIN_RUN_BIN, X_OK) != 0)
		SKIP("uinotify-run not found");
	FILE *f = fopen("/proc/sys/kernel/seccomp/actions_avail", "r");
	char acts[256] = "";
	if (f) {
		if (!fgets(acts, sizeof acts, f))
			acts[0] = 0;
		fclose(f);
	}
	if (!strstr(acts, "user_notif"))
		SKIP("this kernel has no seccomp user notification");
#endif
}

/* Tests name the binary in argv only after run_require() has passed. */
#ifndef UIN_RUN_BIN
#define UIN_RUN_BIN "uinotify-run-not-built"
#endif

/*
 * argv (NULL-terminated, at most 30 words) run under uinotify-run when
 * supervised (with run_opts, space-separated, before COMMAND), plainly
 * otherwise; env extra as pl_env.  Waits for its exit (ms); the status.
 */
static RUN_UNUSED int run_program(bool supervised, const char *run_opts,
				  char *const *argv, const char *const *extra,
				  struct pl_child *c, int ms)
{
	char *full[64];
	int n = 0;
	char *opts = run_opts ? strdup(run_opts) : NULL, *save = NULL;
	if (supervised) {
		full[n++] = (char *)UIN_RUN_BIN;
		for (char *w = opts ? strtok_r(opts, " ", &save) : NULL; w;
		     w = strtok_r(NULL, " ", &save))
			full[n++] = w;
		full[n++] = (char *)"--";
	}
	for (int i = 0; argv[i] && n < 62; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	char **env = pl_env(false, extra);
	pl_spawn(c, full, env, NULL);
	free(env);
	int status = pl_wait_exit(c, ms);
	free(opts);
	return status;
}

/* A fresh directory under the test's tmpdir. */
static RUN_UNUSED const char *run_dir(const char *name)
{
	const char *d = uin_test_path(name);
	CHECK_OK(mkdir(d, 0755));
	return d;
}

/*
 * Both exited 0 and printed the same.  If not, says so for what (a test's
 * own words: "seed 7"): the first line that differs, the rest of each
 * output from there, and both stderrs.
 */
static RUN_UNUSED void run_check_same(const char *what,
				      const struct pl_child *kernel, int ks,
				      const struct pl_child *ours, int us)
{
	if (ks != 0 || us != 0 || strcmp(kernel->obuf, ours->obuf)) {
		const char *a = kernel->obuf, *b = ours->obuf;
		int line = 1;
		while (*a && *a == *b) {
			line += *a == '\n';
			a++, b++;
		}
		while (a > kernel->obuf && a[-1] != '\n')
			a--, b--;
		fprintf(stderr,
			"%s: exit %d (kernel) and %d (uinotify); first "
			"difference at line %d\n--- kernel:\n%.1500s\n"
			"--- uinotify:\n%.1500s\n--- kernel stderr:\n%.2000s\n"
			"--- uinotify stderr:\n%.2000s\n",
			what, ks, us, line, a, b, kernel->ebuf, ours->ebuf);
	}
	CHECK_EQ(ks, 0);
	CHECK_EQ(us, 0);
	CHECK_STR(ours->obuf, kernel->obuf);
}

/*
 * The same program with the same arguments after DIR, plainly and under
 * uinotify-run (run_opts, extra), each on its own fresh directory; stdout
 * must be byte for byte the same and both must exit 0.
 */
static RUN_UNUSED void run_compare(const char *prog, const char *run_opts,
				   const char *const *extra,
				   const char *const *args)
{
	static struct pl_child kernel, ours;
	static int round;
	char kname[32], uname[32];
	snprintf(kname, sizeof kname, "kernel%d", round);
	snprintf(uname, sizeof uname, "run%d", round++);
	char *argv[32] = {(char *)prog, (char *)run_dir(kname)};
	int n = 2;
	for (int i = 0; args && args[i] && n < 30; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int ks = run_program(false, NULL, argv, NULL, &kernel, 120000);
	argv[1] = (char *)run_dir(uname);
	int us = run_program(true, run_opts, argv, extra, &ours, 120000);
	run_check_same(prog, &kernel, ks, &ours, us);
}

#endif
