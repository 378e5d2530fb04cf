/*
 * bench/bench_instance_drain.c - drain a full queue with 64 KiB reads:
 * uinotify_read on an instance filled through the hooks, against the
 * kernel's inotify filled by real writes, with the same record shape
 * (names "f0".."f16382": 32-byte records, no merging).  Only the drain is
 * timed.  Prints events/s for both and the ratio (target >= 1.5).
 *
 *   bench_instance_drain [reps]      (default 20)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/hooks.h>
#include <uinotify/inotify.h>

#include "sources/none.h"

#include "bench.h"

#define READ_SIZE 65536

static char buf[READ_SIZE];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Drain fd with rd; returns the events read. */
static long drain(int fd, ssize_t (*rd)(int, void *, size_t))
{
	long events = 0;
	for (;;) {
		ssize_t n = rd(fd, buf, READ_SIZE);
		if (n < 0) {
			if (errno != EAGAIN) {
				perror("read");
				exit(1);
			}
			return events;
		}
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *ev =
				(struct inotify_event *)(buf + off);
			off += (ssize_t)sizeof *ev + ev->len;
			events++;
		}
	}
}

static ssize_t kernel_read(int fd, void *b, size_t n)
{
	return read(fd, b, n);
}

static int read_int(const char *path, int fallback)
{
	FILE *f = fopen(path, "r");
	int v = fallback;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = fallback;
		fclose(f);
	}
	return v;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 20;
	if (reps < 1)
		reps = 1;
	int max = read_int("/proc/sys/fs/inotify/max_queued_events", 16384);
	long nev = 16383;
	if (nev >= max)
		nev = max - 1;

	char dir[] = "/tmp/uinotify-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char path[128], name[32];

	/* The kernel's side: nev files, each written once per rep. */
	struct rlimit rl = {nev + 64, nev + 64};
	bool keep_open = setrlimit(RLIMIT_NOFILE, &rl) == 0;
	int *fds = calloc((size_t)nev, sizeof *fds);
	for (long i = 0; i < nev; i++) {
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		if (keep_open)
			fds[i] = fd;
		else
			close(fd);
	}
	int kfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (kfd < 0 || inotify_add_watch(kfd, dir, IN_MODIFY) < 0) {
		perror("inotify");
		return 1;
	}

	/* Ours: the NONE source, filled through the hooks. */
	uinotify_set_default_source(UINOTIFY_SOURCE_NONE);
	uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, max);
	int ufd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	struct uinotify_inode *din = NULL;
	if (ufd < 0 || uinotify_add_watch(ufd, dir, IN_CREATE) < 0 ||
	    uin_source_none_inode(dir, 0, &din) < 0) {
		perror("uinotify");
		return 1;
	}

	double *kt = calloc((size_t)reps, sizeof *kt);
	double *ut = calloc((size_t)reps, sizeof *ut);
	for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
		for (long i = 0; i < nev; i++) {
			if (keep_open) {
				if (pwrite(fds[i], "x", 1, 0) != 1)
					return 1;
			} else {
				snprintf(path, sizeof path, "%s/f%ld", dir, i);
				int fd = open(path, O_WRONLY | O_CLOEXEC);
				if (fd < 0 || write(fd, "x", 1) != 1)
					return 1;
				close(fd);
			}
		}
		double t0 = now();
		long kn = drain(kfd, kernel_read);
		double t1 = now();

		for (long i = 0; i < nev; i++) {
			snprintf(name, sizeof name, "f%ld", i);
			uinotify_hook_dirent(din, name, NULL, IN_CREATE, 0);
		}
		double t2 = now();
		long un = drain(ufd, uinotify_read);
		double t3 = now();
		if (kn != nev || un != nev) {
			fprintf(stderr, "drained kernel %ld, uinotify %ld, want %ld\n",
				kn, un, nev);
			return 1;
		}
		if (r >= 0) {
			kt[r] = t1 - t0;
			ut[r] = t3 - t2;
		}
	}
	qsort(kt, (size_t)reps, sizeof *kt, bench_cmp_double);
	qsort(ut, (size_t)reps, sizeof *ut, bench_cmp_double);
	double kmed = kt[reps / 2], umed = ut[reps / 2];
	printf("drain of %ld queued events (32-byte records), %d KiB reads, "
	       "%d reps, median (best)\n",
	       nev, READ_SIZE / 1024, reps);
	printf("  kernel inotify  %8.2f M events/s  (%.2f)\n", nev / kmed / 1e6,
	       nev / kt[0] / 1e6);
	printf("  uinotify_read   %8.2f M events/s  (%.2f)\n", nev / umed / 1e6,
	       nev / ut[0] / 1e6);
	printf("  ratio uinotify/kernel: %.2fx (best %.2fx)\n", kmed / umed,
	       kt[0] / ut[0]);
	bench_result_goal("bench_instance_drain",
			  "drain M events/s (median), vs kernel",
			  nev / umed / 1e6, nev / kmed / 1e6, ">= 1.5");

	uinotify_inode_put(din);
	uinotify_close(ufd);
	close(kfd);
	for (long i = 0; i < nev; i++) {
		if (keep_open)
			close(fds[i]);
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		unlink(path);
	}
	rmdir(dir);
	free(fds);
	free(kt);
	free(ut);
	return 0;
}
