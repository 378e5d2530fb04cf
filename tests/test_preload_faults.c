/*
 * tests/test_preload_faults.c - every system call of the drop-in itself
 * (the injection points named preload.*: src/preload/preload.c, and
 * src/instance/fdtable_preload.c, the fork child's pipe, which only the
 * drop-in calls) fails in turn, with each errno that call can give, under
 * a small unmodified program (tests/preload/fault_probe.c: an instance
 * and its dup, a watch, a change read, a fork whose child reads one of its
 * own, the watch removed, the instance closed).  The program runs under
 * the drop-in's test build (uinotify-preload-testing), which arms the
 * failure UINOTIFY_TEST_FAULT names and writes every point's counts to
 * UINOTIFY_TEST_FAULT_REPORT at exit.  The program judges what it gets
 * (Linux's errno, or the event, an IN_Q_OVERFLOW or an IN_IGNORED, never
 * nothing); this test fails a crash, a hang or its verdict.
 *
 * It runs twice: plainly, and where no thread can be created (a seccomp
 * filter), where the drop-in replaces the instance by the kernel's at the
 * first inotify_add_watch (docs/preload.md, "If uinotify cannot start"):
 * the calls of that replacement are reached only there.  The library's
 * own points are walked by test_instance_faults; every_point_walked prints
 * the drop-in's coverage.
 */
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "preload/deny_threads.h"
#include "preload/preload_util.h"

#define MAX_POINTS 32

#ifndef UIN_PRELOAD_FAULT_PROBE
#define UIN_PRELOAD_FAULT_PROBE "" /* no drop-in: every test skips */
#endif

enum mode { M_THREADS, M_NOTHREADS, M_N };
static const char *const mode_name[M_N] = {"threads", "no threads"};

struct counts {
	int n;
	char name[MAX_POINTS][64];
	long calls[MAX_POINTS], failed[MAX_POINTS];
	int last_pid[MAX_POINTS];
	int dups; /* a name listed twice by one process */
};

/* The errnos each kind of call can give, by the point's last part. */
struct kind {
	const char *suffix;
	int errs[5];
};
static const struct kind kinds[] = {
	{"ioctl", {ENOMEM, EIO, EINTR}},
	{"getfl", {ENOMEM, EINTR}},
	{"getfd", {ENOMEM, EINTR}},
	{"fstat", {ENOMEM, EIO, EINTR}},
	{"init1", {EMFILE, ENFILE, ENOMEM, EINTR}},
	{"pipe2", {EMFILE, ENFILE, ENOMEM, EINTR}},
	{"open_iofd", {EMFILE, ENOMEM, EIO, EINTR}},
	{"dup3", {EMFILE, EBUSY, EINTR}},
};

static const struct kind *kind_of(const char *point)
{
	const char *dot = strrchr(point, '.');
	const char *last = dot ? dot + 1 : point;
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		size_t sl = strlen(kinds[i].suffix), ll = strlen(last);
		/* "name_fstat" is an fstat */
		if (ll >= sl && !strcmp(last + ll - sl, kinds[i].suffix))
			return &kinds[i];
	}
	return NULL;
}

/* The drop-in's points in a report file, each the most any of the
 * program's processes counted (a fork child starts from its parent's). */
static void read_report(const char *file, struct counts *c)
{
	memset(c, 0, sizeof *c);
	FILE *f = fopen(file, "r");
	if (!f)
		return;
	char name[64];
	long calls, failed;
	int pid;
	while (fscanf(f, "%d %63s %ld %ld", &pid, name, &calls, &failed) ==
	       4) {
		if (strncmp(name, "preload.", 8))
			continue;
		int i = 0;
		while (i < c->n && strcmp(c->name[i], name))
			i++;
		if (i == c->n) {
			CHECK(c->n < MAX_POINTS);
			snprintf(c->name[c->n++], sizeof c->name[0], "%s", name);
		} else if (c->last_pid[i] == pid) {
			c->dups++;
		}
		c->last_pid[i] = pid;
		if (calls > c->calls[i])
			c->calls[i] = calls;
		if (failed > c->failed[i])
			c->failed[i] = failed;
	}
	fclose(f);
}

static int find(const struct counts *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return i;
	return -1;
}

/*
 * One run of the program in mode m, with fault ("point:nth:errno", or
 * NULL); its counts in *c.  NULL if it passed, else what went wrong.
 */
static const char *run(enum mode m, const char *fault, struct counts *c)
{
	static int run_no;
	static struct pl_child child;
	char rel[32], dir[600], report[640], fault_env[200], report_env[700];
	snprintf(rel, sizeof rel, "r%d", run_no++);
	snprintf(dir, sizeof dir, "%s", uin_test_path(rel));
	CHECK_OK(mkdir(dir, 0755));
	snprintf(report, sizeof report, "%s.report", dir);
	snprintf(fault_env, sizeof fault_env, "UINOTIFY_TEST_FAULT=%s",
		 fault ? fault : "");
	snprintf(report_env, sizeof report_env,
		 "UINOTIFY_TEST_FAULT_REPORT=%s", report);
	const char *extra[] = {fault_env, report_env, NULL};
	char *argv[] = {(char *)UIN_PRELOAD_FAULT_PROBE, dir, NULL};
	char **env = pl_env(true, extra);
	pl_spawn(&child, argv, env, m == M_NOTHREADS ? deny_threads : NULL);
	free(env);
	int status = pl_wait_exit(&child, 120000);
	close(child.out);
	close(child.err);
	read_report(report, c);
	static char why[1200];
	if (status == -1) {
		snprintf(why, sizeof why, "hang (killed)");
	} else if (WIFSIGNALED(status)) {
		snprintf(why, sizeof why, "%s",
			 WTERMSIG(status) == SIGALRM
				 ? "hang (its deadline)"
				 : strsignal(WTERMSIG(status)));
	} else if (WEXITSTATUS(status) == 77) {
		SKIP("cannot install a seccomp filter here");
	} else if (WEXITSTATUS(status) != 0 ||
		   !strstr(child.obuf, "done\n")) {
		snprintf(why, sizeof why, "exit %d: %.500s%.400s",
			 WEXITSTATUS(status), child.obuf, child.ebuf);
	} else {
		return NULL;
	}
	return why;
}

static void census(enum mode m, struct counts *c)
{
	const char *why = run(m, NULL, c);
	if (why)
		uin_test_fail(__FILE__, __LINE__, "%s, no fault: %s",
			      mode_name[m], why);
	CHECK(c->n > 0); /* the test build, with its points */
}

/* The mode that walks point i of all: the first that reaches it. */
static enum mode walker(struct counts cs[M_N], const char *name)
{
	for (int m = 0; m < M_N; m++) {
		int i = find(&cs[m], name);
		if (i >= 0 && cs[m].calls[i] > 0)
			return (enum mode)m;
	}
	return M_N;
}

static void walk(enum mode mode)
{
	pl_require_preload();
	static struct counts cs[M_N];
	for (int m = 0; m <= (int)mode; m++)
		census((enum mode)m, &cs[m]);
	int runs = 0, failures = 0, points = 0;
	for (int i = 0; i < cs[mode].n; i++) {
		const char *name = cs[mode].name[i];
		if (walker(cs, name) != mode)
			continue;
		const struct kind *k = kind_of(name);
		if (!k) {
			fprintf(stderr, "FAIL %s: no errnos for this kind of "
					"call (tests/test_preload_faults.c)\n",
				name);
			failures++;
			continue;
		}
		points++;
		long calls = cs[mode].calls[i];
		long nths[] = {1, 2, calls};
		for (int j = 0; j < 5 && k->errs[j]; j++)
			for (int t = 0; t < 3; t++) {
				long nth = nths[t];
				if (nth > calls || (t == 2 && calls <= 2))
					continue;
				char fault[128];
				snprintf(fault, sizeof fault, "%s:%ld:%d", name,
					 nth, k->errs[j]);
				struct counts c;
				runs++;
				const char *why = run(mode, fault, &c);
				int at = find(&c, name);
				if (why) {
					fprintf(stderr, "FAIL %s, %s call %ld "
							"failing with %s: %s\n",
						mode_name[mode], name, nth,
						strerror(k->errs[j]), why);
					failures++;
				} else if (nth == 1 &&
					   (at < 0 || c.failed[at] == 0)) {
					fprintf(stderr, "FAIL %s (%s): not "
							"reached\n",
						name, strerror(k->errs[j]));
					failures++;
				}
			}
	}
	printf("# %s: %d points, %d runs, %d failed\n", mode_name[mode],
	       points, runs, failures);
	if (failures)
		uin_test_fail(__FILE__, __LINE__, "%d of %d runs failed",
			      failures, runs);
}

TEST(threads_points)
{
	walk(M_THREADS);
}

TEST(nothreads_points)
{
	walk(M_NOTHREADS);
}

/* The drop-in's points, unique, and each reached by a mode (whose walk
 * fails it): the coverage. */
TEST(every_point_walked)
{
	pl_require_preload();
	static struct counts cs[M_N];
	for (int m = 0; m < M_N; m++)
		census((enum mode)m, &cs[m]);
	const struct counts *all = &cs[0]; /* every process lists all */
	CHECK_EQ(all->dups, 0); /* two points of one name */
	int walked = 0;
	for (int i = 0; i < all->n; i++) {
		if (walker(cs, all->name[i]) != M_N && kind_of(all->name[i]))
			walked++;
		else
			fprintf(stderr, "not walked: %s\n", all->name[i]);
	}
	printf("# drop-in fault-injection coverage: %d points walked / %d "
	       "found\n",
	       walked, all->n);
	CHECK_EQ(walked, all->n);
}
