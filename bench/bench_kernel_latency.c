/*
 * bench/bench_kernel_latency.c - write -> event latency through uinotify's
 * kernel source, side by side with the kernel's own inotify in the same
 * run, and end-to-end events per second.
 *
 *   bench_kernel_latency [iterations=2000] [dir=/tmp]
 *
 * Latency: one file watched (IN_MODIFY) by a kernel inotify instance and
 * by a uinotify instance on the kernel source.  Each iteration writes one
 * byte and times, with CLOCK_MONOTONIC, until the event has been read:
 *   kernel        write; read(kernel fd)                  (blocking)
 *   uin-read      write; uinotify_read(fd)                (blocking)
 *   k-poll        write; poll(kernel fd); read(kernel fd)
 *   uin-poll      write; poll(fd); uinotify_read(fd)      (loop thread)
 * The four are interleaved, in rotating order, so that caches and CPU
 * frequency treat them alike; the other side's copy of the event is read
 * back untimed after each sample.  Median, p90 and p99 per path, and the
 * ratios of each uinotify path to its kernel twin (uin-read to kernel,
 * uin-poll to k-poll).
 *
 * Throughput: batches of 1000 writes alternating between two files in a
 * watched directory (so that no two consecutive events merge), then every
 * event read back; events per second for each side, each measured alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "bench.h"

static void die(const char *what)
{
	fprintf(stderr, "bench_kernel_latency: %s: %s\n", what,
		strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static char evbuf[65536];

static ssize_t kread(int fd)
{
	ssize_t n = read(fd, evbuf, sizeof evbuf);
	if (n <= 0)
		die("read kernel");
	return n;
}

static ssize_t uread(int fd)
{
	ssize_t n = uinotify_read(fd, evbuf, sizeof evbuf);
	if (n <= 0)
		die("uinotify_read");
	return n;
}

static void upoll(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1)
		die("poll uinotify");
}

enum path { K, UREAD, KPOLL, UPOLL, NPATHS };
static const char *const names[NPATHS] = {"kernel", "uin-read", "k-poll",
					  "uin-poll"};
static const enum path twin[NPATHS] = {K, K, KPOLL, KPOLL};

static void latency(const char *dir, int iters)
{
	char file[600];
	snprintf(file, sizeof file, "%.500s/lat-file", dir);
	int wfd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (wfd < 0)
		die("open file");

	int kfd = inotify_init1(IN_CLOEXEC);
	int ufd = uinotify_init1(IN_CLOEXEC);
	if (kfd < 0 || ufd < 0)
		die("init");
	if (uinotify_set_source(ufd, UINOTIFY_SOURCE_KERNEL) < 0)
		die("uinotify_set_source");
	if (inotify_add_watch(kfd, file, IN_MODIFY) < 0 ||
	    uinotify_add_watch(ufd, file, IN_MODIFY) < 0)
		die("add_watch");

	uint64_t *t[NPATHS];
	for (int p = 0; p < NPATHS; p++)
		t[p] = calloc((size_t)iters, sizeof(uint64_t));
	for (int i = -50; i < iters; i++) { /* 50 warm-up rounds */
		for (int k = 0; k < NPATHS; k++) {
			/* rotate which path goes first */
			enum path p = (enum path)(((i + k) % NPATHS + NPATHS) %
						  NPATHS);
			uint64_t t0 = bench_now_ns();
			if (pwrite(wfd, "x", 1, 0) != 1)
				die("pwrite");
			if (p == K || p == KPOLL) {
				if (p == KPOLL) {
					struct pollfd kp = {.fd = kfd,
							    .events = POLLIN};
					if (poll(&kp, 1, 5000) != 1)
						die("poll kernel");
				}
				kread(kfd);
			} else {
				if (p == UPOLL)
					upoll(ufd);
				uread(ufd);
			}
			uint64_t dt = bench_now_ns() - t0;
			/* the other side's copy of the event, untimed */
			if (p == K || p == KPOLL)
				uread(ufd);
			else
				kread(kfd);
			if (i >= 0)
				t[p][i] = dt;
		}
	}
	printf("latency, write -> event read, %d samples each (ns):\n", iters);
	printf("  %-9s %9s %9s %9s %9s %9s\n", "path", "median", "p90",
	       "p99", "med/twin", "p99/twin");
	for (int p = 0; p < NPATHS; p++)
		qsort(t[p], (size_t)iters, sizeof(uint64_t), cmp_u64);
	for (int p = 0; p < NPATHS; p++) {
		uint64_t med = pct(t[p], iters, 0.5), p90 = pct(t[p], iters, 0.9),
			 p99 = pct(t[p], iters, 0.99);
		uint64_t tmed = pct(t[twin[p]], iters, 0.5),
			 tp99 = pct(t[twin[p]], iters, 0.99);
		printf("  %-9s %9llu %9llu %9llu %9.3f %9.3f\n", names[p],
		       (unsigned long long)med, (unsigned long long)p90,
		       (unsigned long long)p99, (double)med / (double)tmed,
		       (double)p99 / (double)tp99);
		if ((int)twin[p] == p)
			continue;
		char what[96];
		snprintf(what, sizeof what, "%s median ns, vs %s", names[p],
			 names[twin[p]]);
		/* issue 14: within 1.2x of the kernel's median */
		bench_result_goal("bench_kernel_latency", what, (double)med,
				  (double)tmed, "<= 1.2");
		snprintf(what, sizeof what, "%s p99 ns, vs %s", names[p],
			 names[twin[p]]);
		bench_result("bench_kernel_latency", what, (double)p99,
			     (double)tp99);
	}
	for (int p = 0; p < NPATHS; p++)
		free(t[p]);
	close(kfd);
	uinotify_close(ufd);
	close(wfd);
	unlink(file);
}

/* Events per second for one side: batches of writes, then read back. */
static double throughput(const char *dir, bool use_uin, long *events_out)
{
	char d[520], a[600], b[600];
	snprintf(d, sizeof d, "%.500s/tp-dir", dir);
	mkdir(d, 0755);
	snprintf(a, sizeof a, "%s/a", d);
	snprintf(b, sizeof b, "%s/b", d);
	int fa = open(a, O_WRONLY | O_CREAT, 0644);
	int fb = open(b, O_WRONLY | O_CREAT, 0644);
	if (fa < 0 || fb < 0)
		die("open tp files");
	int fd = use_uin ? uinotify_init1(IN_NONBLOCK) : inotify_init1(IN_NONBLOCK);
	if (fd < 0)
		die("init");
	if (use_uin && uinotify_set_source(fd, UINOTIFY_SOURCE_KERNEL) < 0)
		die("set_source");
	if ((use_uin ? uinotify_add_watch(fd, d, IN_MODIFY)
		     : inotify_add_watch(fd, d, IN_MODIFY)) < 0)
		die("add_watch");
	const int batch = 1000, batches = 200;
	long events = 0;
	uint64_t t0 = bench_now_ns();
	for (int j = 0; j < batches; j++) {
		for (int i = 0; i < batch; i++)
			if (pwrite(i & 1 ? fb : fa, "x", 1, 0) != 1)
				die("pwrite");
		long want = events + batch;
		while (events < want) {
			ssize_t n;
			if (use_uin) {
				upoll(fd);
				n = uinotify_read(fd, evbuf, sizeof evbuf);
			} else {
				struct pollfd p = {.fd = fd, .events = POLLIN};
				poll(&p, 1, 5000);
				n = read(fd, evbuf, sizeof evbuf);
			}
			if (n <= 0)
				die("read events");
			for (ssize_t off = 0; off < n;) {
				struct inotify_event *e = (void *)(evbuf + off);
				if (e->mask & IN_Q_OVERFLOW) {
					fprintf(stderr, "overflow\n");
					exit(1);
				}
				events++;
				off += (ssize_t)(sizeof *e + e->len);
			}
		}
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	if (use_uin)
		uinotify_close(fd);
	else
		close(fd);
	close(fa);
	close(fb);
	unlink(a);
	unlink(b);
	rmdir(d);
	*events_out = events;
	return (double)events / secs;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 2000;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	if (iters < 10)
		iters = 10;
	char tmp[500];
	snprintf(tmp, sizeof tmp, "%.400s/uinotify-bench-XXXXXX", dir);
	if (!mkdtemp(tmp))
		die("mkdtemp");
	latency(tmp, iters);
	long ek, eu;
	double k = throughput(tmp, false, &ek);
	double u = throughput(tmp, true, &eu);
	printf("throughput, write -> event read (batches of 1000):\n");
	printf("  kernel    %10.0f events/s (%ld events)\n", k, ek);
	printf("  uinotify  %10.0f events/s (%ld events)  ratio %.2f\n", u, eu,
	       u / k);
	bench_result_goal("bench_kernel_latency", "events/s, vs kernel", u, k,
			  ">= 1");
	rmdir(tmp);
	return 0;
}
