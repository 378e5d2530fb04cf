/*
 * bench/bench_engine.c - hook -> handler dispatch rate of the engine on one
 * core, next to the kernel's whole inotify path measured in the same run.
 *
 *   (a) one watch on one inode
 *   (b) 64 watches (64 handles) on one inode: one hook, 64 handler calls
 *   (c) an unwatched inode: the fast path (one load, one branch)
 *   kernel: write(fd, "x", 1) on a file watched by a real inotify instance
 *           with IN_MODIFY, then read() of the event
 *
 * Each row runs for about 0.5 s (BENCH_SECONDS overrides).  The handler only
 * counts.  Target: >= 5 million dispatched events/s for (a).
 *
 *   ./bench_engine            (from the build tree: build/bench/bench_engine)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>

#include "bench.h"

#define NHANDLES 64
#define BATCH 4096

static long delivered;
static double seconds = 0.5;

static void count_event(struct uinotify_watch *w, int32_t wd, uint32_t mask,
			uint32_t cookie, const char *name,
			struct uinotify_inode *name_inode)
{
	(void)w;
	(void)wd;
	(void)cookie;
	(void)name;
	(void)name_inode;
	delivered++;
	if (mask & IN_IGNORED)
		uinotify_watch_put(w);
}

static void destroy_watch(struct uinotify_watch *w)
{
	(void)w; /* embedded in a static array */
}

static const struct uinotify_ops bench_ops = {
	.handle_event = count_event,
	.destroy_watch = destroy_watch,
	.queue_overflow = NULL,
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct result {
	double secs;
	long hooks;
	long events;
};

static struct result run_hooks(struct uinotify_inode *inode)
{
	struct result r = {0};
	long before = delivered;
	double start = now(), t;
	do {
		for (int i = 0; i < BATCH; i++)
			uinotify_hook_inode(inode, IN_MODIFY, 0);
		r.hooks += BATCH;
		t = now() - start;
	} while (t < seconds);
	r.secs = t;
	r.events = delivered - before;
	return r;
}

static struct result run_kernel(void)
{
	struct result r = {0};
	const char *base = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/bench_engine-XXXXXX",
		 base ? base : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return r;
	}
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0 || inotify_add_watch(ifd, path, IN_MODIFY) < 0) {
		perror("inotify");
		close(fd);
		unlink(path);
		return r;
	}
	char buf[4096] __attribute__((aligned(8)));
	double start = now(), t;
	do {
		for (int i = 0; i < 256; i++) {
			if (write(fd, "x", 1) != 1) {
				perror("write");
				exit(1);
			}
			ssize_t n = read(ifd, buf, sizeof buf);
			if (n < 0 && errno != EAGAIN) {
				perror("read");
				exit(1);
			}
			if (n > 0)
				r.events += n / (ssize_t)sizeof(struct inotify_event);
			r.hooks++;
		}
		t = now() - start;
	} while (t < seconds);
	r.secs = t;
	close(ifd);
	close(fd);
	unlink(path);
	return r;
}

static void row(const char *what, struct result r, bool per_event)
{
	double hooks_s = (double)r.hooks / r.secs;
	double events_s = (double)r.events / r.secs;
	double ns = r.secs * 1e9 / (double)(per_event ? r.events : r.hooks);
	printf("%-40s %12.2fM %12.2fM %10.1f %s\n", what, hooks_s / 1e6,
	       events_s / 1e6, ns, per_event ? "ns/event" : "ns/hook");
}

int main(void)
{
	const char *env = getenv("BENCH_SECONDS");
	if (env && atof(env) > 0)
		seconds = atof(env);

	/* One core: stay on the CPU we started on. */
	int cpu = sched_getcpu();
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof set, &set);
	}

	struct uinotify_sb *sb;
	struct uinotify_inode *watched, *unwatched;
	struct uinotify_key k1 = {.dev = 1, .ino = 1, .type = S_IFREG};
	struct uinotify_key k2 = {.dev = 1, .ino = 2, .type = S_IFREG};
	if (uinotify_sb_create(NULL, NULL, &sb) ||
	    uinotify_inode_get(sb, &k1, &watched) < 0 ||
	    uinotify_inode_get(sb, &k2, &unwatched) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	static struct uinotify_handle *h[NHANDLES];
	static struct uinotify_watch w[NHANDLES];
	for (int i = 0; i < NHANDLES; i++) {
		if (uinotify_handle_create(&bench_ops, NULL, &h[i])) {
			fprintf(stderr, "handle_create failed\n");
			return 1;
		}
		uinotify_watch_init(&w[i]);
	}

	printf("uinotify engine dispatch, one thread on one core, ~%.1f s a "
	       "row\n",
	       seconds);
	printf("%-40s %13s %13s %10s\n", "case", "hooks/s", "events/s",
	       "cost");

	/* (a) */
	if (uinotify_watch_add(h[0], &w[0], watched, IN_MODIFY) < 1)
		return 1;
	run_hooks(watched); /* warm-up */
	struct result a = run_hooks(watched);
	row("(a) 1 watch on 1 inode", a, true);

	/* (b) */
	for (int i = 1; i < NHANDLES; i++)
		if (uinotify_watch_add(h[i], &w[i], watched, IN_MODIFY) < 1)
			return 1;
	struct result b = run_hooks(watched);
	row("(b) 64 watches (64 handles) on 1 inode", b, true);

	/* (c) */
	struct result c = run_hooks(unwatched);
	row("(c) unwatched inode (fast path)", c, false);

	/* The kernel: write + read of one IN_MODIFY event. */
	struct result kr = run_kernel();
	if (kr.events == 0) {
		printf("kernel: no events measured\n");
		return 1;
	}
	row("kernel: write(1 B) + read() IN_MODIFY", kr, true);

	double ea = (double)a.events / a.secs;
	double ek = (double)kr.events / kr.secs;
	printf("\nratio (a) uinotify/kernel events/s: %.1fx\n", ea / ek);
	printf("ratio (b) uinotify/kernel events/s: %.1fx\n",
	       ((double)b.events / b.secs) / ek);
	printf("target (a) >= 5M events/s: %s (%.2fM)\n",
	       ea >= 5e6 ? "met" : "NOT MET", ea / 1e6);
	bench_result("bench_engine", "(a) 1 watch M events/s, vs kernel",
		     ea / 1e6, ek / 1e6);
	bench_result("bench_engine", "(b) 64 watches M events/s, vs kernel",
		     (double)b.events / b.secs / 1e6, ek / 1e6);
	bench_result("bench_engine", "(c) unwatched inode ns/hook",
		     c.secs * 1e9 / (double)c.hooks, NAN);

	for (int i = 0; i < NHANDLES; i++)
		uinotify_handle_destroy(h[i]);
	uinotify_inode_put(watched);
	uinotify_inode_put(unwatched);
	uinotify_sb_destroy(sb);
	return 0;
}
