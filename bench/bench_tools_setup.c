/*
 * bench/bench_tools_setup.c - uinotifywait versus inotifywait, side by side.
 *
 *   1. Recursive setup: time from starting "X -m -r TREE" until it prints
 *      "Watches established.", on trees of 20 000 and 200 000 files (100 per
 *      directory), warm cache, median of N runs; `find TREE -type d` in the
 *      same run as the floor of any crawl.  Target: uinotifywait <= 1/3 of
 *      inotifywait on the 200 000-file tree.
 *   2. Latency: utimensat() on a file in the 20 000-file tree -> the event
 *      line on the tool's stdout; median and 90th percentile of 200.
 *
 * Usage: bench_tools_setup [runs] [uinotifywait] [inotifywait]
 * Defaults: 7 runs, ../tools/uinotifywait next to this binary's directory,
 * /usr/bin/inotifywait.  Trees go to $TMPDIR (else /var/tmp) and are
 * removed at the end.  Events come from the default source (auto).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void make_tree(const char root[1200], int files)
{
	char path[1400];

	if (mkdir(root, 0755) && errno != EEXIST) {
		perror(root);
		exit(1);
	}
	for (int d = 0; d < files / 100; d++) {
		snprintf(path, sizeof path, "%s/d%04d", root, d);
		mkdir(path, 0755);
		for (int f = 0; f < 100; f++) {
			int fd;

			snprintf(path, sizeof path, "%s/d%04d/f%02d", root, d, f);
			fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0) {
				perror(path);
				exit(1);
			}
			close(fd);
		}
	}
}

struct child {
	pid_t pid;
	int out, err;
};

static struct child spawn(char *const argv[], bool quiet_out)
{
	int outp[2], errp[2];
	struct child c;

	if (pipe(outp) || pipe(errp)) {
		perror("pipe");
		exit(1);
	}
	c.pid = fork();
	if (c.pid < 0) {
		perror("fork");
		exit(1);
	}
	if (!c.pid) {
		if (quiet_out) {
			int devnull = open("/dev/null", O_WRONLY);

			dup2(devnull, 1);
		} else {
			dup2(outp[1], 1);
		}
		dup2(errp[1], 2);
		close(outp[0]);
		close(errp[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	c.out = outp[0];
	c.err = errp[0];
	return c;
}

static void finish(struct child *c)
{
	kill(c->pid, SIGTERM);
	waitpid(c->pid, NULL, 0);
	close(c->out);
	close(c->err);
}

/* Read stderr until "Watches established."; false if it exited first. */
static bool wait_ready(struct child *c)
{
	char buf[8192];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(c->err, buf + len, sizeof buf - 1 - len);

		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "Watches established."))
			return true;
		if (len > sizeof buf / 2) {
			memmove(buf, buf + len - 64, 64);
			len = 64;
		}
	}
}

static double setup_ms(const char *tool, const char *root)
{
	char *argv[] = { (char *)tool, "-m", "-r", (char *)root, NULL };
	double t0 = now_ms(), t1;
	struct child c = spawn(argv, true);

	if (!wait_ready(&c)) {
		fprintf(stderr, "%s failed to set up on %s\n", tool, root);
		exit(1);
	}
	t1 = now_ms();
	finish(&c);
	return t1 - t0;
}

static double find_ms(const char *root)
{
	char *argv[] = { "/usr/bin/find", (char *)root, "-type", "d", NULL };
	double t0 = now_ms();
	struct child c = spawn(argv, true);

	waitpid(c.pid, NULL, 0);
	close(c.out);
	close(c.err);
	return now_ms() - t0;
}

static void latency(const char *tool, const char root[1200], double *med,
		    double *p90)
{
	enum { N = 200 };
	char *argv[] = { (char *)tool, "-m", "-r", "-e", "attrib", (char *)root,
			 NULL };
	struct child c = spawn(argv, false);
	double v[N];
	char path[1400], buf[4096];

	if (!wait_ready(&c)) {
		fprintf(stderr, "%s failed to set up\n", tool);
		exit(1);
	}
	for (int i = 0; i < N; i++) {
		double t0;
		size_t got = 0;

		snprintf(path, sizeof path, "%s/d%04d/f%02d", root, (i * 37) % 200,
			 i % 100);
		t0 = now_ms();
		utimensat(AT_FDCWD, path, NULL, 0);
		while (!memchr(buf, '\n', got)) {
			ssize_t n = read(c.out, buf + got, sizeof buf - got);

			if (n <= 0) {
				fprintf(stderr, "%s: no event line\n", tool);
				exit(1);
			}
			got += (size_t)n;
		}
		v[i] = now_ms() - t0;
	}
	finish(&c);
	qsort(v, N, sizeof v[0], bench_cmp_double);
	*med = (v[N / 2 - 1] + v[N / 2]) / 2;
	*p90 = v[N * 9 / 10];
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7;
	char ours[PATH_MAX], base[1024];
	const char *peer = argc > 3 ? argv[3] : "/usr/bin/inotifywait";
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	static const int sizes[] = { 20000, 200000 };
	bool have_peer;

	if (argc > 2) {
		snprintf(ours, sizeof ours, "%s", argv[2]);
	} else {
		ssize_t n = readlink("/proc/self/exe", ours, sizeof ours - 32);

		if (n < 0) {
			perror("readlink");
			return 1;
		}
		ours[n] = 0;
		*strrchr(ours, '/') = 0;
		strcat(ours, "/../tools/uinotifywait");
	}
	if (access(ours, X_OK)) {
		fprintf(stderr, "no uinotifywait at %s (build the tools)\n", ours);
		return 1;
	}
	have_peer = !access(peer, X_OK);
	if (!have_peer)
		fprintf(stderr, "%s not found (apt-get install inotify-tools): "
				"uinotifywait only\n", peer);
	if (runs < 1)
		runs = 1;
	snprintf(base, sizeof base, "%s/uinotify-bench-tools-%d", tmp,
		 (int)getpid());
	mkdir(base, 0755);

	printf("recursive setup, time until \"Watches established.\" (median of "
	       "%d, warm cache)\n", runs);
	printf("%-14s %14s %14s %8s %16s\n", "tree", "inotifywait ms",
	       "uinotifywait ms", "ours/it", "find -type d ms");
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		char root[1200];
		double a[64], b[64], f[64];

		snprintf(root, sizeof root, "%s/t%d", base, sizes[s]);
		make_tree(root, sizes[s]);
		find_ms(root); /* warm the caches */
		if (have_peer)
			setup_ms(peer, root);
		setup_ms(ours, root);
		for (int r = 0; r < runs && r < 64; r++) {
			/* Alternate, so that both see the same machine state. */
			if (have_peer)
				a[r] = setup_ms(peer, root);
			b[r] = setup_ms(ours, root);
			f[r] = find_ms(root);
		}
		double ma = have_peer ? median(a, runs) : 0, mb = median(b, runs);

		printf("%-14s %14.1f %14.1f %8.2f %16.1f\n",
		       sizes[s] == 20000 ? "20k files" : "200k files", ma, mb,
		       have_peer ? mb / ma : 0.0, median(f, runs));
		bench_result("bench_tools_setup",
			     sizes[s] == 20000
				     ? "setup ms 20k files, vs inotifywait"
				     : "setup ms 200k files, vs inotifywait",
			     mb, have_peer ? ma : NAN);
	}

	{
		char root[1200];
		double m1 = 0, p1 = 0, m2, p2;

		snprintf(root, sizeof root, "%s/t20000", base);
		printf("\nlatency, utimensat -> event line (200 events, 20k tree)\n");
		printf("%-14s %12s %12s\n", "tool", "median ms", "p90 ms");
		if (have_peer) {
			latency(peer, root, &m1, &p1);
			printf("%-14s %12.3f %12.3f\n", "inotifywait", m1, p1);
		}
		latency(ours, root, &m2, &p2);
		printf("%-14s %12.3f %12.3f\n", "uinotifywait", m2, p2);
		if (have_peer)
			printf("%-14s median ratio %.2f\n", "", m2 / m1);
		bench_result("bench_tools_setup",
			     "latency median ms, vs inotifywait", m2,
			     have_peer ? m1 : NAN);
	}

	{
		char cmd[1100];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", base);
	}
	return 0;
}
