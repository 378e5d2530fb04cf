/*
 * tests/test_preload_programs.c - real programs from Debian, unmodified,
 * under LD_PRELOAD=libuinotify-preload.so: inotifywait -m, tail -F, and a
 * Python script using ctypes CDLL(None) + os.read.  Each test also checks
 * (UINOTIFY_DEBUG) that the program's instance was uinotify's, so a pass
 * cannot come from the kernel's own inotify.
 *
 * The *_local tests watch a local directory (kernel source).  The *_bindfs
 * tests watch a bindfs mount and change its backing directory, which the
 * kernel never reports: the scanner (docs/scanner.md) finds them.
 */
#include "preload/preload_util.h"

static const char *const debug_env[] = {"UINOTIFY_DEBUG=1", NULL};
static const char *const bindfs_env[] = {
	"UINOTIFY_DEBUG=1", "UINOTIFY_SCAN_INTERVAL_MS=100", NULL};

static void check_uinotify_used(struct pl_child *c)
{
	if (!strstr(c->ebuf, "uinotify instance"))
		pl_dump(c, "program");
	CHECK(strstr(c->ebuf, "uinotify instance") != NULL);
}

/* inotifywait -m ----------------------------------------------------------- */

/*
 * remote: the change is made behind the mount's back, so the scanner
 * reports it: CREATE, and CLOSE_WRITE after the file has been quiet; it
 * cannot see the write itself that a local MODIFY stands for.
 */
static void inotifywait_body(const char *watch, const char *change,
			     const char *const *env_extra, bool remote)
{
	struct pl_child *c = calloc(1, sizeof *c);
	char *argv[] = {(char *)pl_which("inotifywait"), (char *)"-m",
			(char *)"-e", (char *)"create,modify,close_write",
			(char *)"--format", (char *)"%e %f", (char *)watch,
			NULL};
	char **env = pl_env(true, env_extra);
	pl_spawn(c, argv, env, NULL);
	free(env);
	if (!pl_wait_for(c, "Watches established", true, 10000))
		pl_dump(c, "inotifywait");
	CHECK(strstr(c->ebuf, "Watches established") != NULL);
	char file[1024];
	snprintf(file, sizeof file, "%s/hello", change);
	pl_write_file(file, "hi\n", "w");
	bool ok = pl_wait_for(c, "CLOSE_WRITE,CLOSE hello", false, 10000);
	pl_stop(c);
	if (!ok)
		pl_dump(c, "inotifywait");
	CHECK(ok);
	CHECK(strstr(c->obuf, "CREATE hello\n") != NULL);
	if (!remote)
		CHECK(strstr(c->obuf, "MODIFY hello\n") != NULL);
	check_uinotify_used(c);
	free(c);
}

TEST(inotifywait_local)
{
	pl_require_preload();
	pl_require("inotifywait", "inotify-tools");
	const char *dir = uin_test_path("w");
	CHECK_OK(mkdir(dir, 0755));
	inotifywait_body(dir, dir, debug_env, false);
}

static void inotifywait_bindfs_body(const char *watch, const char *change)
{
	inotifywait_body(watch, change, bindfs_env, true);
}

TEST(inotifywait_bindfs)
{
	pl_require_preload();
	pl_require("inotifywait", "inotify-tools");
	pl_with_bindfs(inotifywait_bindfs_body);
}

/* tail -F ------------------------------------------------------------------ */

/*
 * -s 60: were tail polling instead of using (uinotify's) inotify, the
 * appended line would take a minute; the deadline is 10 s.
 */
static void tail_body(const char *watch, const char *change,
		      const char *sleep_s, const char *const *env_extra)
{
	char wfile[1024], cfile[1024], rotated[1024];
	snprintf(wfile, sizeof wfile, "%s/log", watch);
	snprintf(cfile, sizeof cfile, "%s/log", change);
	snprintf(rotated, sizeof rotated, "%s/log.1", change);
	pl_write_file(cfile, "one\n", "w");
	struct pl_child *c = calloc(1, sizeof *c);
	char *argv[] = {(char *)pl_which("tail"), (char *)"-F", (char *)"-s",
			(char *)sleep_s, (char *)"-n", (char *)"+1", wfile,
			NULL};
	char **env = pl_env(true, env_extra);
	pl_spawn(c, argv, env, NULL);
	free(env);
	bool ok = pl_wait_for(c, "one\n", false, 10000);
	if (ok) {
		pl_write_file(cfile, "two\n", "a");
		ok = pl_wait_for(c, "two\n", false, 10000);
	}
	if (ok) {
		/* log rotation: tail -F follows the name to the new file */
		CHECK_OK(rename(cfile, rotated));
		pl_write_file(cfile, "three\n", "w");
		ok = pl_wait_for(c, "three\n", false, 10000);
	}
	pl_stop(c);
	if (!ok)
		pl_dump(c, "tail");
	CHECK(ok);
	check_uinotify_used(c);
	free(c);
}

TEST(tail_follow_local)
{
	pl_require_preload();
	pl_require("tail", "coreutils");
	const char *dir = uin_test_path("t");
	CHECK_OK(mkdir(dir, 0755));
	tail_body(dir, dir, "60", debug_env);
}

/*
 * coreutils' tail treats FUSE and NFS as remote and polls them itself
 * (every -s seconds) without asking inotify, so on bindfs it follows with
 * or without uinotify, and uinotify is never asked: the test only shows the
 * library does not get in the way.  On filesystems tail does not know
 * (virtiofs for older coreutils) it uses inotify, and there the library is
 * what makes it work; see docs/preload.md.
 */
static void tail_bindfs_body(const char *watch, const char *change)
{
	char wfile[1024], cfile[1024];
	snprintf(wfile, sizeof wfile, "%s/log", watch);
	snprintf(cfile, sizeof cfile, "%s/log", change);
	pl_write_file(cfile, "one\n", "w");
	struct pl_child *c = calloc(1, sizeof *c);
	char *argv[] = {(char *)pl_which("tail"), (char *)"-F", (char *)"-s",
			(char *)"0.2", (char *)"-n", (char *)"+1", wfile, NULL};
	char **env = pl_env(true, bindfs_env);
	pl_spawn(c, argv, env, NULL);
	free(env);
	bool ok = pl_wait_for(c, "one\n", false, 10000);
	if (ok) {
		pl_write_file(cfile, "two\n", "a");
		ok = pl_wait_for(c, "two\n", false, 10000);
	}
	pl_stop(c);
	if (!ok)
		pl_dump(c, "tail");
	CHECK(ok);
	free(c);
}

TEST(tail_follow_bindfs)
{
	pl_require_preload();
	pl_require("tail", "coreutils");
	pl_with_bindfs(tail_bindfs_body);
}

/* Python, ctypes CDLL(None) + os.read --------------------------------------- */

static PL_UNUSED const char *python(void)
{
	const char *p = pl_which("/usr/bin/python3");
	if (!p)
		p = pl_which("python3");
	if (!p)
		SKIP("python3 not installed");
	return p;
}

/* remote: as for inotifywait; the script ends at "done", which may come
 * before the scanner's CLOSE_WRITE of "one" (it waits for quiet). */
static void python_body(const char *watch, const char *change,
			const char *const *env_extra, bool remote)
{
#ifdef UIN_PRELOAD_SCRIPTS
	struct pl_child *c = calloc(1, sizeof *c);
	char *argv[] = {(char *)python(),
			(char *)UIN_PRELOAD_SCRIPTS "/inotify_ctypes.py",
			(char *)watch, NULL};
	char **env = pl_env(true, env_extra);
	pl_spawn(c, argv, env, NULL);
	free(env);
	if (!pl_wait_for(c, "ready 1\n", false, 10000))
		pl_dump(c, "python");
	CHECK(strstr(c->obuf, "ready 1\n") != NULL);
	char path[1024];
	snprintf(path, sizeof path, "%s/one", change);
	pl_write_file(path, "1\n", "w");
	snprintf(path, sizeof path, "%s/done", change);
	CHECK_OK(mkdir(path, 0755));
	int status = pl_wait_exit(c, 10000);
	if (status != 0)
		pl_dump(c, "python");
	CHECK_EQ(status, 0);
	CHECK(strstr(c->obuf, "event wd=1 mask=0x100 name=one\n") != NULL);
	if (!remote)
		CHECK(strstr(c->obuf, "event wd=1 mask=0x8 name=one\n") !=
		      NULL);
	CHECK(strstr(c->obuf, "event wd=1 mask=0x40000100 name=done\n") !=
	      NULL);
	check_uinotify_used(c);
	free(c);
#else
	(void)watch, (void)change, (void)env_extra, (void)remote;
#endif
}

TEST(python_ctypes_local)
{
	pl_require_preload();
	const char *dir = uin_test_path("p");
	CHECK_OK(mkdir(dir, 0755));
	python_body(dir, dir, debug_env, false);
}

static void python_bindfs_body(const char *watch, const char *change)
{
	python_body(watch, change, bindfs_env, true);
}

TEST(python_ctypes_bindfs)
{
	pl_require_preload();
	pl_with_bindfs(python_bindfs_body);
}
