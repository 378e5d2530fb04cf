/*
 * tests/test_preload_efault.c - libuinotify-preload.so and memory the
 * kernel cannot write: the plain program tests/preload/inotify_efault.c
 * (read, syscall(SYS_read), readv, FIONREAD, a blocking read woken into a
 * bad buffer; each case in a child of its own) must print the same lines
 * with LD_PRELOAD as without: EFAULT where Linux gives it, never a crash,
 * and the same records consumed.
 */
#include "preload/preload_util.h"

static void run_efault(const char *name, bool preload, const char *section,
		       struct pl_child *c)
{
#ifdef UIN_PRELOAD_EFAULT
	const char *dir = uin_test_path(name);
	CHECK_OK(mkdir(dir, 0755));
	char *argv[] = {(char *)UIN_PRELOAD_EFAULT, (char *)dir,
			(char *)section, NULL};
	const char *extra[] = {"UINOTIFY_DEBUG=1", NULL};
	char **env = pl_env(preload, preload ? extra : NULL);
	pl_spawn(c, argv, env, NULL);
	free(env);
	int status = pl_wait_exit(c, 60000);
	if (status != 0)
		pl_dump(c, name);
	CHECK_EQ(status, 0);
#else
	(void)name, (void)preload, (void)section, (void)c;
	SKIP("inotify_efault is not built");
#endif
}

static void compare(const char *section)
{
	pl_require_preload();
	static struct pl_child kernel, preload;
	run_efault("kernel", false, section, &kernel);
	run_efault("preload", true, section, &preload);
	pl_show_difference(&kernel, &preload);
	CHECK_STR(preload.obuf, kernel.obuf);
	CHECK(strstr(kernel.obuf, "== end\n") != NULL);
	CHECK(strstr(kernel.obuf, "killed") == NULL);
	/* and the instances were uinotify's, not the kernel's */
	CHECK(strstr(preload.ebuf, "uinotify instance") != NULL);
}

/* read() and syscall(SYS_read): bad pointers, faults after whole
 * records, ranges access_ok refuses. */
/* A preloaded TSan runtime intercepts read() and readv() before the
 * drop-in does and touches the buffer's shadow itself: a kernel address or
 * a range past the top of memory kills the program there (exit 66), so
 * these two cannot run under TSan; the library's own cases do
 * (test_instance_efault). */
static void require_no_tsan_interceptors(void)
{
#ifdef UIN_PRELOAD_SANITIZE
	if (strstr(UIN_PRELOAD_SANITIZE, "thread"))
		SKIP("a preloaded TSan intercepts read/readv before the "
		     "drop-in library and faults on bad ranges itself");
#endif
}

TEST(read_matches_kernel)
{
	require_no_tsan_interceptors();
	compare("read");
}

/* readv(): bad iovec arrays, bad segments, the checks before any read. */
TEST(readv_matches_kernel)
{
	require_no_tsan_interceptors();
	compare("readv");
}

/* FIONREAD into memory the kernel cannot write. */
TEST(fionread_matches_kernel)
{
	compare("ioctl");
}

/* A blocking read woken by an event into a bad buffer. */
TEST(blocking_read_matches_kernel)
{
	compare("wait");
}
