/*
 * bench/bench_fork.c - what a fork costs a process that watches N
 * directories, uinotify beside the kernel's inotify in one run.
 *
 * The fork handlers are O(1); a fork child of a uinotify process makes its
 * kernel watches again at its first uinotify call (src/sources/kernel.c,
 * FORK): one inotify_add_watch per watched inode plus one read of the
 * child's fdinfo, which a child that exits or execs at once never pays:
 * the figure must not grow with N.  The kernel's inotify costs a fork
 * nothing per watch, so its side is also what a fork costs a process
 * without the library.  At N = 0 the uinotify sides have made and removed
 * one watch (their fork handlers are registered).  Two workloads per N:
 *
 *   fork+_exit:      the child exits at once (the whole cost is ours)
 *   fork+exec true:  the usual spawn of a program (exec then discards the
 *                    child's watches)
 *
 * and a third side, uinotify with UINOTIFY_FORK_REARM=0 (the child's
 * inherited watches stay silent).  Each figure is the best of ROUNDS
 * rounds, the sides alternating.  Ratio = uinotify / kernel.
 *
 *   bench_fork [N...]     default: 0 100 1000 10000
 *   UINOTIFY_BENCH_FORKS  forks per round (default 200)
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "bench.h"

#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((noreturn)) static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Seconds for `forks` forks whose child _exits or execs /bin/true. */
static double fork_round(long forks, bool exec)
{
	double t0 = now_s();
	for (long i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (exec)
				execl("/bin/true", "true", (char *)NULL);
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
	}
	return now_s() - t0;
}

static void make_tree(const char *root, long n)
{
	char p[4096];
	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/d%ld", root, i);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die("mkdir");
	}
}

static void watch_tree(const char *root, long n, bool uin, int fd)
{
	char p[4096];
	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/d%ld", root, i);
		int wd = uin ? uinotify_add_watch(fd, p, IN_CREATE | IN_DELETE)
			     : inotify_add_watch(fd, p, IN_CREATE | IN_DELETE);
		if (wd < 0)
			die("add_watch");
	}
}

/*
 * A worker: a process holding n watches of one kind, which runs a round
 * of forks each time it is asked (a byte: 'x' exec, 'e' _exit) and
 * answers with the seconds taken; 'q' ends it.
 */
struct worker {
	pid_t pid;
	int cmd, ans;
};

static struct worker start_worker(const char *root, long n, bool uin,
				  bool rearm)
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
		if (!rearm)
			setenv("UINOTIFY_FORK_REARM", "0", 1);
		int fd = uin ? uinotify_init1(IN_CLOEXEC)
			     : inotify_init1(IN_CLOEXEC);
		if (fd < 0)
			die("init");
		if (uin && n == 0) {
			/* One watch made and removed: the fork handlers are
			 * registered, as in any process that has watched. */
			char p[4096];
			snprintf(p, sizeof p, "%s/d0", root);
			int wd = uinotify_add_watch(fd, p, IN_CREATE);
			if (wd < 0 || uinotify_rm_watch(fd, wd) < 0)
				die("add_watch");
		}
		watch_tree(root, n, uin, fd);
		char op;
		const char *e = getenv("UINOTIFY_BENCH_FORKS");
		long forks = e && *e ? strtol(e, NULL, 10) : 200;
		double ready = 0;
		if (write(a[1], &ready, sizeof ready) != sizeof ready)
			_exit(1);
		while (read(c[0], &op, 1) == 1 && op != 'q') {
			double t = fork_round(forks, op == 'x');
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

static double ask(struct worker *w, char op)
{
	double t;
	if (write(w->cmd, &op, 1) != 1 ||
	    read(w->ans, &t, sizeof t) != sizeof t)
		die("worker");
	return t;
}

static void stop_worker(struct worker *w)
{
	/* 'q': a later worker holds a copy of our pipe, so no EOF. */
	if (write(w->cmd, "q", 1) != 1)
		die("worker");
	close(w->cmd);
	close(w->ans);
	waitpid(w->pid, NULL, 0);
}

int main(int argc, char **argv)
{
	long ns[16] = {0, 100, 1000, 10000};
	int nn = 4;
	if (argc > 1) {
		nn = 0;
		for (int i = 1; i < argc && nn < 16; i++)
			ns[nn++] = strtol(argv[i], NULL, 10);
	}
	const char *e = getenv("UINOTIFY_BENCH_FORKS");
	long forks = e && *e ? strtol(e, NULL, 10) : 200;

	char root[] = "/tmp/uin-bench-fork-XXXXXX";
	if (!mkdtemp(root))
		die("mkdtemp");
	printf("fork cost with N watched directories (%s on %s, %ld forks "
	       "per round, best of %d rounds)\n",
	       root, "/tmp", forks, ROUNDS);
	printf("%7s  %-15s %10s %10s %6s %10s %6s\n", "N", "workload",
	       "kernel us", "uinotify", "ratio", "REARM=0", "ratio");
	for (int k = 0; k < nn; k++) {
		long n = ns[k];
		make_tree(root, n > 0 ? n : 1);
		struct worker kw = start_worker(root, n, false, true);
		struct worker uw = start_worker(root, n, true, true);
		struct worker ow = start_worker(root, n, true, false);
		for (int w = 0; w < 2; w++) {
			char op = w ? 'x' : 'e';
			double bk = 1e9, bu = 1e9, bo = 1e9;
			for (int r = 0; r < ROUNDS; r++) {
				double tk = ask(&kw, op), tu = ask(&uw, op),
				       to = ask(&ow, op);
				bk = tk < bk ? tk : bk;
				bu = tu < bu ? tu : bu;
				bo = to < bo ? to : bo;
			}
			double us = 1e6 / (double)forks;
			printf("%7ld  %-15s %10.0f %10.0f %6.2f %10.0f %6.2f\n", n,
			       w ? "fork+exec true" : "fork+_exit", bk * us,
			       bu * us, bu / bk, bo * us, bo / bk);
			char what[96];
			snprintf(what, sizeof what, "%s N=%ld us, vs kernel",
				 w ? "fork+exec true" : "fork+_exit", n);
			bench_result("bench_fork", what, bu * us, bk * us);
			snprintf(what, sizeof what,
				 "%s N=%ld us REARM=0, vs kernel",
				 w ? "fork+exec true" : "fork+_exit", n);
			bench_result("bench_fork", what, bo * us, bk * us);
			fflush(stdout);
		}
		stop_worker(&kw);
		stop_worker(&uw);
		stop_worker(&ow);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return 0;
}
