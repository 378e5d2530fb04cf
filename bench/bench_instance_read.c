/*
 * bench/bench_instance_read.c - the cost of one small read, where the
 * per-call work of uinotify_read (locks, the token, the copy to the caller)
 * is not amortised over thousands of records as in bench_instance_drain:
 *
 *   nonblocking  one record queued, then read with a 4 KiB buffer (the
 *                poll-then-read loop of libuv, glib, Qt); only the read is
 *                timed.
 *   blocking     a thread blocked in read() with a 4 KiB buffer, woken by
 *                one record the main thread queues; the round trip is
 *                timed (queue, wake, read, the reader says it has read),
 *                and the reader thread's CPU time per read.
 *
 *   queued       the CPU time per record of draining 4000 queued records
 *                one per read (count 32) and with 64 KiB reads: the
 *                fastest of 21 rounds, which a busy machine disturbs least.
 *
 * uinotify_read on an instance filled through the hooks, against the
 * kernel's inotify filled by writes to files.  Prints ns per read (per
 * record) for both and the ratio.
 *
 *   bench_instance_read [reads]      (default 44000, in 11 rounds)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uinotify/hooks.h>
#include <uinotify/inotify.h>

#include "sources/none.h"

#include "bench.h"

static char buf[4096];

struct side {
	int fd;                          /* nonblocking */
	int bfd;                         /* blocking */
	ssize_t (*rd)(int, void *, size_t);
	void (*produce)(struct side *s, bool blocking);
	int file[2];                     /* kernel: the watched files */
	struct uinotify_inode *inode[2]; /* uinotify: the same files */
};

static ssize_t kernel_read(int fd, void *b, size_t n)
{
	return read(fd, b, n);
}

/* IN_MODIFY on fd's file (nonblocking) or bfd's; a read in between keeps
 * it from merging. */
static void kernel_produce(struct side *s, bool blocking)
{
	if (pwrite(s->file[blocking], "x", 1, 0) != 1)
		exit(1);
}

static void uin_produce(struct side *s, bool blocking)
{
	uinotify_hook_inode(s->inode[blocking], IN_MODIFY, 0);
}

/* ns per nonblocking read of one queued record. */
static double nonblocking(struct side *s, long n)
{
	uint64_t total = 0;
	for (long i = 0; i < n; i++) {
		s->produce(s, false);
		uint64_t t0 = bench_now_ns();
		ssize_t r = s->rd(s->fd, buf, sizeof buf);
		total += bench_now_ns() - t0;
		if (r != 16) {
			fprintf(stderr, "read: %zd (%s)\n", r, strerror(errno));
			exit(1);
		}
	}
	return (double)total / (double)n;
}

static atomic_long done;
static struct side *reader_side;
static long reader_n;
static double reader_cpu_ns; /* the reader thread's CPU time per read */

static double thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *reader(void *arg)
{
	(void)arg;
	static char rbuf[4096];
	double c0 = 0;
	for (long i = 0; i < reader_n; i++) {
		if (i == 1)
			c0 = thread_cpu_ns();
		ssize_t r = reader_side->rd(reader_side->bfd, rbuf, sizeof rbuf);
		if (r != 16) {
			fprintf(stderr, "blocking read: %zd (%s)\n", r,
				strerror(errno));
			exit(1);
		}
		atomic_store(&done, i + 1);
	}
	reader_cpu_ns = (thread_cpu_ns() - c0) / (double)(reader_n - 1);
	return NULL;
}

/* The queued figures: QN files in qdir, one IN_MODIFY record each. */
enum { QN = 4000 };
static char qdir[160];

static void queue_all(struct side *s, bool kernel)
{
	char name[32], p[256];
	for (int i = 0; i < QN; i++) {
		snprintf(name, sizeof name, "q%d", i);
		if (kernel) {
			snprintf(p, sizeof p, "%s/%s", qdir, name);
			int f = open(p, O_WRONLY | O_CLOEXEC);
			if (f < 0 || write(f, "x", 1) != 1)
				exit(1);
			close(f);
		} else {
			uinotify_hook_dirent(s->inode[0], name, NULL, IN_MODIFY,
					     0);
		}
	}
}

/* CPU ns per record of draining the queue with count-byte reads. */
static double drain_cpu(struct side *s, bool kernel, size_t count)
{
	static char big[65536];
	queue_all(s, kernel);
	double c0 = thread_cpu_ns();
	long got = 0;
	for (;;) {
		ssize_t r = s->rd(s->fd, big, count);
		if (r < 0)
			break;
		got += r;
	}
	double c1 = thread_cpu_ns();
	if (got != (long)QN * 32) {
		fprintf(stderr, "drained %ld bytes, want %ld\n", got,
			(long)QN * 32);
		exit(1);
	}
	return (c1 - c0) / QN;
}

/* ns per round trip: queue one record, the blocked reader reads it;
 * *cpu: the reader's CPU time per read. */
static double blocking(struct side *s, long n, double *cpu)
{
	atomic_store(&done, 0);
	reader_side = s;
	reader_n = n;
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	/* The reader's first read may or may not wait: not timed. */
	uint64_t t0 = 0;
	for (long i = 0; i < n; i++) {
		if (i == 1)
			t0 = bench_now_ns();
		s->produce(s, true);
		while (atomic_load(&done) <= i)
			sched_yield();
	}
	uint64_t t1 = bench_now_ns();
	pthread_join(t, NULL);
	*cpu = reader_cpu_ns;
	return (double)(t1 - t0) / (double)(n - 1);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 44000;
	if (n < 1100)
		n = 1100;
	char dir[] = "/tmp/uinotify-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char path[2][128];
	for (int i = 0; i < 2; i++)
		snprintf(path[i], sizeof path[i], "%s/f%d", dir, i);

	struct side k = {.rd = kernel_read, .produce = kernel_produce};
	k.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	k.bfd = inotify_init1(IN_CLOEXEC);
	for (int i = 0; i < 2; i++) {
		k.file[i] = open(path[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (k.file[i] < 0 ||
		    inotify_add_watch(i ? k.bfd : k.fd, path[i], IN_MODIFY) < 0) {
			perror("inotify");
			return 1;
		}
	}

	uinotify_set_default_source(UINOTIFY_SOURCE_NONE);
	struct side u = {.rd = uinotify_read, .produce = uin_produce};
	u.fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	u.bfd = uinotify_init1(IN_CLOEXEC);
	for (int i = 0; i < 2; i++) {
		if (u.fd < 0 || u.bfd < 0 ||
		    uinotify_add_watch(i ? u.bfd : u.fd, path[i], IN_MODIFY) < 0 ||
		    uin_source_none_inode(path[i], 0, &u.inode[i]) < 0) {
			perror("uinotify");
			return 1;
		}
	}

	/* Rounds, the sides alternating, each figure the median of the
	 * rounds' means: a busy machine weighs on both alike. */
	enum { ROUNDS = 11 };
	double knbv[ROUNDS], unbv[ROUNDS], kblv[ROUNDS], ublv[ROUNDS];
	double kcpv[ROUNDS], ucpv[ROUNDS];
	long m = n / ROUNDS;
	nonblocking(&k, m / 10); /* warm-up */
	nonblocking(&u, m / 10);
	for (int r = 0; r < ROUNDS; r++) {
		if (r % 2) {
			unbv[r] = nonblocking(&u, m);
			knbv[r] = nonblocking(&k, m);
			ublv[r] = blocking(&u, m, &ucpv[r]);
			kblv[r] = blocking(&k, m, &kcpv[r]);
		} else {
			knbv[r] = nonblocking(&k, m);
			unbv[r] = nonblocking(&u, m);
			kblv[r] = blocking(&k, m, &kcpv[r]);
			ublv[r] = blocking(&u, m, &ucpv[r]);
		}
	}
	double knb = bench_pct(knbv, ROUNDS, 0.5);
	double unb = bench_pct(unbv, ROUNDS, 0.5);
	double kbl = bench_pct(kblv, ROUNDS, 0.5);
	double ubl = bench_pct(ublv, ROUNDS, 0.5);
	double kcp = bench_pct(kcpv, ROUNDS, 0.5);
	double ucp = bench_pct(ucpv, ROUNDS, 0.5);
	/* The queued figures, on instances of their own. */
	snprintf(qdir, sizeof qdir, "%s/q", dir);
	mkdir(qdir, 0755);
	char qp[256];
	for (int i = 0; i < QN; i++) {
		snprintf(qp, sizeof qp, "%s/q%d", qdir, i);
		close(open(qp, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	}
	struct side kq = {.rd = kernel_read};
	struct side uq = {.rd = uinotify_read};
	kq.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	uq.fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (kq.fd < 0 || inotify_add_watch(kq.fd, qdir, IN_MODIFY) < 0 ||
	    uq.fd < 0 || uinotify_add_watch(uq.fd, qdir, IN_MODIFY) < 0 ||
	    uin_source_none_inode(qdir, 0, &uq.inode[0]) < 0) {
		perror("queued");
		return 1;
	}
	enum { QROUNDS = 21 };
	double kq1 = 1e30, uq1 = 1e30, kq64 = 1e30, uq64 = 1e30;
	for (int r = 0; r < QROUNDS; r++) {
		double v;
		if ((v = drain_cpu(&kq, true, 32)) < kq1)
			kq1 = v;
		if ((v = drain_cpu(&uq, false, 32)) < uq1)
			uq1 = v;
		if ((v = drain_cpu(&kq, true, 65536)) < kq64)
			kq64 = v;
		if ((v = drain_cpu(&uq, false, 65536)) < uq64)
			uq64 = v;
	}

	printf("one-record reads, 4 KiB buffer, %d rounds of %ld reads, "
	       "median of the rounds' means\n",
	       ROUNDS, m);
	printf("  nonblocking  kernel %8.0f ns  uinotify %8.0f ns  ratio "
	       "%.2fx\n",
	       knb, unb, unb / knb);
	printf("  blocking     kernel %8.0f ns  uinotify %8.0f ns  ratio "
	       "%.2fx (round trip)\n",
	       kbl, ubl, ubl / kbl);
	printf("  blocking     kernel %8.0f ns  uinotify %8.0f ns  ratio "
	       "%.2fx (the reader's CPU time)\n",
	       kcp, ucp, ucp / kcp);
	printf("%d queued records drained, CPU time per record, fastest of "
	       "%d rounds\n",
	       QN, QROUNDS);
	printf("  one a read   kernel %8.0f ns  uinotify %8.0f ns  ratio "
	       "%.2fx\n",
	       kq1, uq1, uq1 / kq1);
	printf("  64 KiB reads kernel %8.1f ns  uinotify %8.1f ns  ratio "
	       "%.2fx\n",
	       kq64, uq64, uq64 / kq64);
	bench_result("bench_instance_read",
		     "nonblocking one-record read ns, vs kernel", unb, knb);
	bench_result("bench_instance_read",
		     "blocking one-record round trip ns, vs kernel", ubl, kbl);
	bench_result("bench_instance_read",
		     "blocking one-record read CPU ns, vs kernel", ucp, kcp);
	bench_result("bench_instance_read",
		     "queued, one a read, CPU ns/record (min), vs kernel", uq1,
		     kq1);
	bench_result("bench_instance_read",
		     "queued, 64 KiB reads, CPU ns/record (min), vs kernel",
		     uq64, kq64);

	uinotify_inode_put(uq.inode[0]);
	uinotify_close(uq.fd);
	close(kq.fd);
	for (int i = 0; i < QN; i++) {
		snprintf(qp, sizeof qp, "%s/q%d", qdir, i);
		unlink(qp);
	}
	rmdir(qdir);
	for (int i = 0; i < 2; i++) {
		uinotify_inode_put(u.inode[i]);
		close(k.file[i]);
		unlink(path[i]);
	}
	uinotify_close(u.fd);
	uinotify_close(u.bfd);
	close(k.fd);
	close(k.bfd);
	rmdir(dir);
	return 0;
}
