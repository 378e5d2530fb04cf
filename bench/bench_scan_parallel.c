/*
 * bench/bench_scan_parallel.c - would parallel statx workers pay for the
 * scanner?  The cold rotation is a run of statx calls on names in watched
 * directories; on a filesystem where each call waits (FUSE: a round trip
 * through the daemon; NFS, SMB: through the network), threads overlap the
 * waits.  This measures the same sweep with 1, 2, 4 and 8 threads, locally
 * and behind a bindfs mount (FUSE, needs root and bindfs), and reports wall
 * time and CPU (this process plus, behind FUSE, the bindfs daemon) per
 * statx, and the ratios against one thread.
 *
 *   bench_scan_parallel [FILES]     default 20000 (100 per directory)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PER_DIR 100
#define ROUNDS 3

__attribute__((noreturn)) static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of a process (utime + stime from /proc/PID/stat). */
static double proc_cpu_s(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *s = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct work {
	int ndirs, nthreads, index;
	int *dirfds;
	char (*names)[32];
	long done;
};

static void *worker(void *arg)
{
	struct work *w = arg;
	long n = (long)w->ndirs * PER_DIR;
	struct statx stx;
	for (long i = w->index; i < n; i += w->nthreads) {
		int d = (int)(i / PER_DIR);
		if (statx(w->dirfds[d], w->names[i % PER_DIR],
			  AT_SYMLINK_NOFOLLOW | AT_STATX_FORCE_SYNC,
			  STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE |
				  STATX_MTIME | STATX_CTIME | STATX_NLINK,
			  &stx) == 0)
			w->done++;
	}
	return NULL;
}

/* One sweep with t threads: wall seconds; *cpu: our CPU + daemon's. */
static double sweep(int *dirfds, int ndirs, char (*names)[32], int t,
		    pid_t daemon, double *cpu)
{
	struct work w[16];
	pthread_t th[16];
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	double d0 = daemon > 0 ? proc_cpu_s(daemon) : 0;
	double t0 = now_s();
	for (int i = 0; i < t; i++) {
		w[i] = (struct work){ndirs, t, i, dirfds, names, 0};
		if (pthread_create(&th[i], NULL, worker, &w[i]))
			die("pthread_create");
	}
	long done = 0;
	for (int i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		done += w[i].done;
	}
	double wall = now_s() - t0;
	getrusage(RUSAGE_SELF, &r1);
	double ours = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
		      (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		      (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
		      (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
	*cpu = ours + (daemon > 0 ? proc_cpu_s(daemon) - d0 : 0);
	if (done != (long)ndirs * PER_DIR)
		fprintf(stderr, "only %ld of %ld statx succeeded\n", done,
			(long)ndirs * PER_DIR);
	return wall;
}

static void run(const char *title, const char *root, int ndirs,
		char (*names)[32], pid_t daemon)
{
	int *dirfds = calloc((size_t)ndirs, sizeof *dirfds);
	char p[4096];
	for (int d = 0; d < ndirs; d++) {
		snprintf(p, sizeof p, "%s/d%04d", root, d);
		dirfds[d] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfds[d] < 0)
			die(p);
	}
	long n = (long)ndirs * PER_DIR;
	printf("%s (%ld files)\n", title, n);
	printf("  %7s %12s %12s %8s %8s\n", "threads", "wall us/stat",
	       "cpu us/stat", "wall x", "cpu x");
	static const int ts[] = {1, 2, 4, 8};
	double w1 = 0, c1 = 0;
	for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
		double bw = 1e9, bc = 1e9;
		for (int r = 0; r < ROUNDS; r++) {
			double c, w = sweep(dirfds, ndirs, names, ts[k],
					    daemon, &c);
			if (w < bw) {
				bw = w;
				bc = c;
			}
		}
		if (k == 0) {
			w1 = bw;
			c1 = bc;
		}
		printf("  %7d %12.2f %12.2f %8.2f %8.2f\n", ts[k],
		       bw / (double)n * 1e6, bc / (double)n * 1e6, bw / w1,
		       bc / c1);
		if (k == 0)
			continue;
		char what[128];
		int len = (int)strcspn(title, "(");
		while (len > 0 && title[len - 1] == ' ')
			len--;
		snprintf(what, sizeof what, "%.*s wall us/stat, %d threads vs 1",
			 len, title, ts[k]);
		bench_result("bench_scan_parallel", what, bw / (double)n * 1e6,
			     w1 / (double)n * 1e6);
	}
	for (int d = 0; d < ndirs; d++)
		close(dirfds[d]);
	free(dirfds);
}

static pid_t find_daemon(const char *mnt)
{
	/* the bindfs process whose command line names the mount point */
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;
	while (dir && (de = readdir(dir))) {
		char p[300], cmd[4096];
		snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof cmd - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = 0;
		if (strstr(cmd, "bindfs") && strstr(cmd, mnt))
			found = atoi(de->d_name);
	}
	if (dir)
		closedir(dir);
	return found;
}

int main(int argc, char **argv)
{
	long files = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	int ndirs = (int)((files + PER_DIR - 1) / PER_DIR);
	char base[] = "/tmp/uin-bench-par-XXXXXX";
	if (!mkdtemp(base))
		die("mkdtemp");
	char root[256], mnt[256], p[512];
	snprintf(root, sizeof root, "%s/tree", base);
	snprintf(mnt, sizeof mnt, "%s/mnt", base);
	if (mkdir(root, 0755) || mkdir(mnt, 0755))
		die("mkdir");
	static char names[PER_DIR][32];
	for (int i = 0; i < PER_DIR; i++)
		snprintf(names[i], sizeof names[i], "file-%03d.txt", i);
	for (int d = 0; d < ndirs; d++) {
		snprintf(p, sizeof p, "%s/d%04d", root, d);
		if (mkdir(p, 0755))
			die("mkdir");
		for (int i = 0; i < PER_DIR; i++) {
			snprintf(p, sizeof p, "%s/d%04d/%.31s", root, d, names[i]);
			int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				die("create");
			close(fd);
		}
	}
	run("local (the tree itself)", root, ndirs, names, -1);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "bindfs --no-allow-other %s %s 2>/dev/null",
		 root, mnt);
	if (geteuid() == 0 && system(cmd) == 0) {
		run("behind bindfs (FUSE, AT_STATX_FORCE_SYNC)", mnt, ndirs,
		    names, find_daemon(mnt));
		snprintf(cmd, sizeof cmd, "umount %s", mnt);
		if (system(cmd) != 0)
			fprintf(stderr, "could not unmount %s\n", mnt);
	} else {
		printf("behind bindfs: skipped (needs root and bindfs)\n");
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return 0;
}
