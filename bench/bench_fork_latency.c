/*
 * bench/bench_fork_latency.c - fork() + _exit + waitpid in a process that
 * uses uinotify, beside the same in a process that has never used it.
 *
 * The fork handlers are O(1) (src/sources/loop.h, FORK): a child that
 * exits without a uinotify call re-arms nothing, so the figure must not
 * grow with the number of kernel watches the parent holds.  Three
 * workers, each a process of its own measuring in turns:
 *
 *   no library   a process that never called uinotify
 *   0 watches    an instance with no watch (the library loaded, its fork
 *                handlers registered once a watch has existed)
 *   N watches    an instance watching N directories through the kernel
 *                source (default 2000)
 *
 * Each figure is the best of ROUNDS rounds; ratio = uinotify / no library.
 *
 *   bench_fork_latency [N]      UINOTIFY_BENCH_FORKS: forks per round (200)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "bench.h"

#define ROUNDS 7

__attribute__((noreturn)) static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double fork_round(long forks)
{
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			_exit(0);
		int status;
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
	}
	return (double)(bench_now_ns() - t0) * 1e-9;
}

struct worker {
	pid_t pid;
	int cmd, ans;
};

/* nwatch < 0: no library at all. */
static struct worker start_worker(const char *root, long nwatch, long forks)
{
	int c[2], a[2];
	if (pipe(c) < 0 || pipe(a) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(c[1]);
		close(a[0]);
		if (nwatch >= 0) {
			int fd = uinotify_init1(IN_CLOEXEC);
			if (fd < 0)
				die("uinotify_init1");
			char p[4096];
			/* One watch made and removed: the fork handlers are
			 * registered, as in any process that has watched. */
			snprintf(p, sizeof p, "%s/d0", root);
			int wd = uinotify_add_watch(fd, p, IN_CREATE);
			if (wd < 0 || (nwatch == 0 && uinotify_rm_watch(fd, wd)))
				die("add_watch");
			for (long i = 1; i < nwatch; i++) {
				snprintf(p, sizeof p, "%s/d%ld", root, i);
				if (uinotify_add_watch(fd, p,
						       IN_CREATE | IN_DELETE) < 0)
					die("add_watch");
			}
		}
		double ready = 0;
		if (write(a[1], &ready, sizeof ready) != sizeof ready)
			_exit(1);
		char op;
		while (read(c[0], &op, 1) == 1 && op != 'q') {
			double t = fork_round(forks);
			if (write(a[1], &t, sizeof t) != sizeof t)
				_exit(1);
		}
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	struct worker w = {pid, c[1], a[0]};
	double ready;
	if (read(w.ans, &ready, sizeof ready) != sizeof ready)
		die("worker setup");
	return w;
}

static double ask(struct worker *w)
{
	double t;
	if (write(w->cmd, "f", 1) != 1 ||
	    read(w->ans, &t, sizeof t) != sizeof t)
		die("worker");
	return t;
}

static void stop_worker(struct worker *w)
{
	if (write(w->cmd, "q", 1) != 1)
		die("worker");
	close(w->cmd);
	close(w->ans);
	waitpid(w->pid, NULL, 0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	if (n < 1)
		n = 1;
	const char *e = getenv("UINOTIFY_BENCH_FORKS");
	long forks = e && *e ? strtol(e, NULL, 10) : 200;
	char root[] = "/tmp/uin-bench-forklat-XXXXXX";
	if (!mkdtemp(root))
		die("mkdtemp");
	for (long i = 0; i < n; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/d%ld", root, i);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die("mkdir");
	}
	struct worker plain = start_worker(root, -1, forks);
	struct worker zero = start_worker(root, 0, forks);
	struct worker many = start_worker(root, n, forks);
	double bp = 1e9, bz = 1e9, bm = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double tp = ask(&plain), tz = ask(&zero), tm = ask(&many);
		bp = tp < bp ? tp : bp;
		bz = tz < bz ? tz : bz;
		bm = tm < bm ? tm : bm;
	}
	stop_worker(&plain);
	stop_worker(&zero);
	stop_worker(&many);
	double us = 1e6 / (double)forks;
	printf("fork()+_exit+waitpid, us per fork (%ld forks per round, best "
	       "of %d)\n",
	       forks, ROUNDS);
	printf("  %-28s %8.1f\n", "no library", bp * us);
	printf("  %-28s %8.1f  %.2fx\n", "uinotify, 0 kernel watches", bz * us,
	       bz / bp);
	char what[96];
	snprintf(what, sizeof what, "uinotify, %ld kernel watches", n);
	printf("  %-28s %8.1f  %.2fx\n", what, bm * us, bm / bp);
	bench_result("bench_fork_latency",
		     "fork+_exit+waitpid 0 kernel watches us, vs no library",
		     bz * us, bp * us);
	snprintf(what, sizeof what,
		 "fork+_exit+waitpid %ld kernel watches us, vs no library", n);
	bench_result("bench_fork_latency", what, bm * us, bp * us);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return 0;
}
