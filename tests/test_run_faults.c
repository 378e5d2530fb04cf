/*
 * tests/test_run_faults.c - uinotify-run when things go wrong or get
 * crowded: signals during a blocking read (SA_RESTART), a reader killed
 * while it waits, threads and a thousand processes calling at once,
 * COMMAND that daemonises (its descendants stay served after it exits),
 * an add_watch stuck on a share that does not answer (it holds only its
 * own thread),
 * the supervisor killed (calls fail with ENOSYS, nothing hangs), and
 * COMMAND's exit status and signals, which are its own.  Each one that has
 * a kernel counterpart is compared with it in the same run
 * (tests/preload/inotify_faults.c).
 */
#include <dirent.h>
#include <signal.h>

#include "test_run.h"

#ifndef UIN_PRELOAD_FAULTS
#define UIN_PRELOAD_FAULTS "inotify_faults-not-built"
#endif

static void compare(const char *mode, const char *arg)
{
	run_require();
	const char *args[] = {mode, arg, NULL};
	run_compare(UIN_PRELOAD_FAULTS, NULL, NULL, args);
}

TEST(blocking_read_restarts_under_sa_restart)
{
	compare("sarestart", NULL);
}

TEST(reader_killed_while_waiting_takes_nothing)
{
	compare("killed-reader", NULL);
}

TEST(threads_calling_at_once)
{
	compare("threads", "16");
}

TEST(a_thousand_processes)
{
	compare("processes", "1000");
}

/* Wait up to ms for needle in the file at p. */
static bool file_has(const char *p, const char *needle, int ms)
{
	long end = pl_now_ms() + ms;
	char text[4096];
	do {
		FILE *f = fopen(p, "r");
		size_t n = 0;
		if (f) {
			n = fread(text, 1, sizeof text - 1, f);
			fclose(f);
		}
		text[n] = 0;
		if (strstr(text, needle))
			return true;
		usleep(10000);
	} while (pl_now_ms() < end);
	fprintf(stderr, "%s: no \"%s\" in:\n%s\n", p, needle, text);
	return false;
}

/* COMMAND's parent exits at once (uinotify-run returns with it); the
 * daemon it left keeps being served, and stops when told to. */
TEST(daemon_stays_served_after_command_exits)
{
	run_require();
	const char *out = uin_test_path("daemon.out");
	const char *d = run_dir("watched");
	char *argv[] = {(char *)UIN_PRELOAD_FAULTS, (char *)d,
			(char *)"daemon", (char *)out, NULL};
	static struct pl_child c;
	CHECK_EQ(run_program(true, NULL, argv, NULL, &c, 30000), 0);
	CHECK(strstr(c.obuf, "parent exits") != NULL);
	CHECK(file_has(out, "daemon watching: 1", 10000));
	char p[4096];
	snprintf(p, sizeof p, "%s/after-parent", d);
	CHECK_OK(mkdir(p, 0755));
	CHECK(file_has(out, "daemon saw after-parent", 10000));
	snprintf(p, sizeof p, "%s/stop", d);
	CHECK_OK(mkdir(p, 0755));
	CHECK(file_has(out, "daemon saw stop", 10000));
}

/* The first process whose command line (n bytes, NUL-separated words)
 * match accepts. */
static pid_t find_process(bool (*match)(const char *cmd, size_t n,
					const char *arg),
			  const char *arg)
{
	DIR *d = opendir("/proc");
	pid_t found = -1;
	struct dirent *de;
	while (d && found < 0 && (de = readdir(d))) {
		char path[300], cmd[2048];
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(cmd, 1, sizeof cmd - 1, f);
		fclose(f);
		cmd[n] = 0;
		if (match(cmd, n, arg))
			found = (pid_t)atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* uinotify-run\0--supervise\0SOCK\0PID\0 */
static bool is_supervisor_of(const char *cmd, size_t n, const char *pid)
{
	const char *a1 = cmd + strlen(cmd) + 1;
	if (n <= strlen(cmd) + 1 || strcmp(a1, "--supervise"))
		return false;
	const char *a2 = a1 + strlen(a1) + 1;
	const char *a3 = a2 + strlen(a2) + 1;
	return (size_t)(a3 - cmd) < n && !strcmp(a3, pid);
}

/* The supervisor serving pid: its /proc entry, by command line. */
static pid_t find_supervisor(pid_t command)
{
	char want[32];
	snprintf(want, sizeof want, "%d", (int)command);
	return find_process(is_supervisor_of, want);
}

TEST(supervisor_killed_calls_fail_with_enosys)
{
	run_require();
	const char *d = run_dir("watched");
	char *argv[] = {(char *)UIN_RUN_BIN, (char *)"--",
			(char *)UIN_PRELOAD_FAULTS, (char *)d, (char *)"enosys",
			NULL};
	char **env = pl_env(false, NULL);
	static struct pl_child c;
	pl_spawn(&c, argv, env, NULL);
	free(env);
	CHECK(pl_wait_for(&c, "ready", false, 10000));
	CHECK(strstr(c.obuf, "before: init1 ok, add_watch 1") != NULL);
	pid_t sup = find_supervisor(c.pid);
	CHECK(sup > 0);
	CHECK_OK(kill(sup, SIGKILL));
	/* It is not our child: wait for it to be gone. */
	for (int i = 0; i < 500 && kill(sup, 0) == 0; i++)
		usleep(10000);
	CHECK_OK(kill(c.pid, SIGUSR1));
	CHECK_EQ(pl_wait_exit(&c, 10000), 0);
	CHECK(strstr(c.obuf, "after: init1 = -1 ENOSYS") != NULL);
	CHECK(strstr(c.obuf, "after: add_watch = -1 ENOSYS") != NULL);
	CHECK(strstr(c.obuf, "after: read = -1 ENOSYS") != NULL);
	CHECK(strstr(c.obuf, "after: close = 0") != NULL);
}

/* A bindfs command line with back among its words. */
static bool is_bindfs_of(const char *cmd, size_t n, const char *back)
{
	if (!strstr(cmd, "bindfs"))
		return false;
	for (size_t i = 0; i < n; i += strlen(cmd + i) + 1)
		if (!strcmp(cmd + i, back))
			return true;
	return false;
}

/* The bindfs daemon serving back (its command line names it). */
static pid_t find_bindfs(const char *back)
{
	return find_process(is_bindfs_of, back);
}

/* An add_watch on a share whose server has stopped answering holds one
 * thread of the program, as with the kernel: another thread's calls are
 * served meanwhile (the supervisor starts another receiver). */
static void stuck_share_body(const char *watch, const char *change)
{
	pid_t daemon = find_bindfs(change);
	CHECK(daemon > 0);
	for (int k = 0; k < 2; k++) {
		bool supervised = k == 1;
		char slow[1024], back_slow[1024];
		snprintf(back_slow, sizeof back_slow, "%s/slow%d", change, k);
		snprintf(slow, sizeof slow, "%s/slow%d", watch, k);
		CHECK_OK(mkdir(back_slow, 0755));
		CHECK_OK(kill(daemon, SIGSTOP));
		static struct pl_child c;
		char *prog[] = {(char *)UIN_PRELOAD_FAULTS,
				(char *)run_dir(supervised ? "ours" : "kernel"),
				(char *)"stuck", slow, NULL};
		char *full[] = {(char *)UIN_RUN_BIN, (char *)"--", prog[0],
				prog[1], prog[2], prog[3], NULL};
		char **env = pl_env(false, NULL);
		pl_spawn(&c, supervised ? full : prog, env, NULL);
		free(env);
		bool other = pl_wait_for(&c, "other calls: ok", false, 10000);
		CHECK_OK(kill(daemon, SIGCONT));
		int st = pl_wait_exit(&c, 20000);
		fprintf(stderr, "%s:\n%s", supervised ? "uinotify-run" : "kernel",
			c.obuf);
		CHECK(other);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(strstr(c.obuf, "slow call waiting: yes") != NULL);
		CHECK(strstr(c.obuf, "slow add_watch: ok") != NULL);
	}
}

TEST(a_stuck_share_holds_one_thread)
{
	run_require();
	pl_with_bindfs(stuck_share_body);
}

/* COMMAND replaces uinotify-run: its exit status and death are its own. */
TEST(exit_status_and_signals_are_commands)
{
	run_require();
	static struct pl_child c;
	char *exit7[] = {(char *)"/bin/sh", (char *)"-c", (char *)"exit 7", NULL};
	int st = run_program(true, NULL, exit7, NULL, &c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	char *killed[] = {(char *)"/bin/sh", (char *)"-c",
			  (char *)"kill -TERM $$", NULL};
	st = run_program(true, NULL, killed, NULL, &c, 10000);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	/* A signal sent to the pid we started reaches COMMAND itself. */
	char *waits[] = {(char *)"/bin/sh", (char *)"-c",
			 (char *)"trap 'echo got USR1; exit 3' USR1; echo up; "
				 "while :; do sleep 0.05; done",
			 NULL};
	char *full[] = {(char *)UIN_RUN_BIN, waits[0], waits[1], waits[2], NULL};
	char **env = pl_env(false, NULL);
	pl_spawn(&c, full, env, NULL);
	free(env);
	CHECK(pl_wait_for(&c, "up", false, 10000));
	CHECK_OK(kill(c.pid, SIGUSR1));
	st = pl_wait_exit(&c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	CHECK(strstr(c.obuf, "got USR1") != NULL);
}

TEST(its_own_failures_exit_125_126_127)
{
	run_require();
	static struct pl_child c;
	char *missing[] = {(char *)"/nonexistent/command", NULL};
	int st = run_program(true, NULL, missing, NULL, &c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
	char *notexec[] = {(char *)"/etc/passwd", NULL};
	st = run_program(true, NULL, notexec, NULL, &c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 126);
	char *none[] = {NULL};
	st = run_program(true, NULL, none, NULL, &c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	char *bad[] = {(char *)"/bin/true", NULL};
	st = run_program(true, "--source=bogus", bad, NULL, &c, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	CHECK(strstr(c.ebuf, "--source 'bogus' is not one of auto, kernel, "
			     "scan, none") != NULL);
}

/* Limits count the whole tree; a closed instance frees its place before
 * the next call, as in Linux. */
TEST(limits_from_the_options)
{
	run_require();
	static struct pl_child c;
	char *argv[] = {(char *)UIN_PRELOAD_FAULTS, (char *)run_dir("w"),
			(char *)"limits", NULL};
	CHECK_EQ(run_program(true, "--max-user-instances=5 --max-user-watches=7",
			     argv, NULL, &c, 30000),
		 0);
	CHECK_STR(c.obuf, "instances: 5, then EMFILE\n"
			  "after one close: ok\n"
			  "watches: 7, then ENOSPC\n");
}
