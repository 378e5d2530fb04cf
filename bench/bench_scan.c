/*
 * bench/bench_scan.c - the scanner, side by side with its floor and a peer,
 * ratios in one run.
 *
 * Trees of 20 000 and 200 000 files, 100 per directory, warm cache, on the
 * local filesystem of the working directory; and the 20 000 tree behind a
 * bindfs mount (changes made to the backing directory), when bindfs and
 * /dev/fuse are there.
 *
 *   sweep    CPU of one full sweep of the scanner (every directory read,
 *            every entry statx'd and compared: UIN_SCAN_LIST_ALWAYS, cold
 *            period 0) against the floor, a bare getdents64 + statx walk of
 *            the same tree through held directory descriptors, measured in
 *            the same run; and the steady-state sweep (unchanged directories
 *            not read); fswatch -m poll_monitor's CPU per sweep if
 *            installed.
 *   latency  median and 90th percentile from a change (create, delete,
 *            rename) to its event at the default settings (interval
 *            80 ms), changes at random times.
 *   idle     CPU of the process while nothing changes, default settings.
 *   content  a write to files that are cold: the longest time until
 *            MODIFY, against the scanner's bound (its cold period).
 *   memory   snapshot bytes per entry.
 *   remote   behind bindfs: changes to the backing directory, all found;
 *            and what FUSE's attribute cache does without
 *            AT_STATX_FORCE_SYNC.
 *
 * Usage: bench_scan [dir] [--quick] [--bindfs-only]
 *   (default dir: $TMPDIR or /tmp; UINOTIFY_SCAN_STAT_THREADS applies
 *   behind bindfs)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "sources/scan.h"

#include "bench.h"
#include "bindfs.h"

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The tree ------------------------------------------------------------------- */

static void make_tree(const char *root, int ndirs)
{
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		die("mkdir");
	char path[4096];
	for (int d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/d%04d", root, d);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("mkdir");
		size_t n = strlen(path);
		for (int f = 0; f < 100; f++) {
			snprintf(path + n, sizeof path - n, "/file-%03d.txt", f);
			int fd = open(path, O_WRONLY | O_CREAT, 0644);
			if (fd < 0)
				die("create");
			close(fd);
		}
	}
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s;
	(void)f;
	(void)w;
	remove(p);
	return 0;
}

static void rm_tree(const char *root)
{
	nftw(root, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
}

/* The floor: held O_PATH directory descriptors, each directory opened
 * and read with getdents64 (32 KiB), each entry statx'd relative to it
 * with the scanner's mask and flags.  CPU of the calling thread. */
#define SX_MASK                                                              \
	(STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID |       \
	 STATX_ATIME | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE |    \
	 STATX_BTIME)

static double floor_walk(const int *dfd, int ndirs, long *entries)
{
	static char buf[32768] __attribute__((aligned(8)));
	double c0 = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
	long n = 0;
	for (int d = 0; d < ndirs; d++) {
		struct statx st;
		statx(dfd[d], "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, SX_MASK,
		      &st);
		int fd = openat(dfd[d], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		for (;;) {
			long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
			if (r <= 0)
				break;
			for (long off = 0; off < r;) {
				struct {
					uint64_t ino;
					int64_t off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *e = (void *)(buf + off);
				off += e->reclen;
				if (e->name[0] == '.' &&
				    (!e->name[1] ||
				     (e->name[1] == '.' && !e->name[2])))
					continue;
				statx(fd, e->name,
				      AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
				      SX_MASK, &st);
				n++;
			}
		}
		close(fd);
	}
	*entries = n;
	return cpu_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
}

/* Scanner helpers ------------------------------------------------------------- */

static int watch_tree(const char *root, int ndirs, enum uinotify_source src,
		      uint32_t mask)
{
	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		die("uinotify_init1");
	uinotify_set_source(fd, src);
	char path[4096];
	for (int d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/d%04d", root, d);
		if (uinotify_add_watch(fd, path, mask) < 0)
			die("uinotify_add_watch");
	}
	return fd;
}

static void drain(int fd)
{
	static char buf[65536] __attribute__((aligned(8)));
	while (uinotify_read(fd, buf, sizeof buf) > 0)
		;
}

/* Wait for an event with this mask and name; ms, or -1 after 10 s. */
static double wait_for(int fd, uint32_t mask, const char *name, double t0)
{
	static char buf[65536] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = uinotify_read(fd, buf, sizeof buf);
		double t = now_ms();
		for (ssize_t off = 0; n > 0 && off < n;) {
			struct inotify_event *e = (void *)(buf + off);
			off += (ssize_t)(sizeof *e + e->len);
			if ((e->mask & mask) && e->len && !strcmp(e->name, name))
				return t - t0;
		}
		if (t - t0 > 10000)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 100);
	}
}

static unsigned rnd(void)
{
	static unsigned s = 12345;
	s = s * 1103515245 + 12345;
	return s >> 8;
}

/* Latency of creations, deletions and renames in random directories of
 * the tree at changes (made under src) spread over random phases. */
static void latency(const char *label, int fd, const char *src, int ndirs,
		    int samples)
{
	double cre[64], del[64], ren[64], all[192];
	char a[4096], b[4096], name[64], name2[64];
	for (int i = 0; i < samples; i++) {
		int d = (int)(rnd() % (unsigned)ndirs);
		snprintf(name, sizeof name, "lat-%d", i);
		snprintf(name2, sizeof name2, "lat-%d-renamed", i);
		snprintf(a, sizeof a, "%s/d%04d/%s", src, d, name);
		snprintf(b, sizeof b, "%s/d%04d/%s", src, d, name2);
		usleep(rnd() % 300000);
		drain(fd);
		double t0 = now_ms();
		close(open(a, O_WRONLY | O_CREAT, 0644));
		cre[i] = wait_for(fd, IN_CREATE, name, t0);
		usleep(rnd() % 300000);
		drain(fd);
		t0 = now_ms();
		rename(a, b);
		ren[i] = wait_for(fd, IN_MOVED_TO, name2, t0);
		usleep(rnd() % 300000);
		drain(fd);
		t0 = now_ms();
		unlink(b);
		del[i] = wait_for(fd, IN_DELETE, name2, t0);
	}
	for (int i = 0; i < samples; i++) {
		all[3 * i] = cre[i];
		all[3 * i + 1] = ren[i];
		all[3 * i + 2] = del[i];
	}
	printf("  %-26s median %5.1f ms (p90 %5.1f) over %d changes: "
	       "create %5.1f, rename %5.1f, delete %5.1f\n",
	       label, bench_pct(all, 3 * samples, 0.5),
	       bench_pct(all, 3 * samples, 0.9), 3 * samples,
	       bench_pct(cre, samples, 0.5), bench_pct(ren, samples, 0.5),
	       bench_pct(del, samples, 0.5));
}

/* Process CPU over ms of idleness, in % of one core. */
static double idle_cpu(double ms)
{
	double c0 = cpu_ms(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ms();
	usleep((useconds_t)(ms * 1000));
	return 100.0 * (cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - c0) /
	       (now_ms() - t0);
}

/* The scanner's CPU for one full sweep: median over k ticks. */
static double scanner_sweep(int k)
{
	double v[16];
	for (int i = 0; i < k; i++) {
		uin_scan_wait_ticks(1, 60000);
		struct uin_scan_stats st;
		uin_scan_get_stats(&st);
		v[i] = (double)st.last_tick_cpu_us / 1000.0;
	}
	return bench_pct(v, k, 0.5);
}

/* fswatch's poll monitor on the tree: its CPU per sweep, or -1. */
static double fswatch_sweep(const char *root, long entries)
{
	if (system("command -v fswatch >/dev/null 2>&1") != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("fswatch", "fswatch", "-m", "poll_monitor", "-r", "-l",
		       "1", root, (char *)NULL);
		_exit(127);
	}
	/* ticks of the child, from /proc */
	long hz = sysconf(_SC_CLK_TCK);
	double cpu[2], wall[2];
	for (int i = 0; i < 2; i++) {
		usleep(i ? 6000000 : 1500000); /* after its first scan */
		char p[64], line[1024];
		snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(p, "r");
		if (!f || !fgets(line, sizeof line, f)) {
			if (f)
				fclose(f);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		fclose(f);
		char *rp = strrchr(line, ')');
		unsigned long ut = 0, stt = 0;
		sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		       &ut, &stt);
		cpu[i] = (double)(ut + stt) * 1000.0 / (double)hz;
		wall[i] = now_ms();
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	/* It sleeps 1 s between sweeps: sweeps = wall / (1 s + a sweep). */
	double c = cpu[1] - cpu[0], w = wall[1] - wall[0];
	double per = c * 1000.0 / (w - c > 1 ? w - c : 1);
	(void)entries;
	return per;
}

/* One tree --------------------------------------------------------------------- */

static void bench_tree(const char *base, int ndirs, bool quick)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/uinotify-bench-scan-%d", base,
		 ndirs * 100);
	rm_tree(root);
	double t0 = now_ms();
	make_tree(root, ndirs);
	printf("tree of %d files (%d directories of 100) in %s, made in "
	       "%.1f s\n",
	       ndirs * 100, ndirs, root, (now_ms() - t0) / 1000);

	int *dfd = malloc(sizeof *dfd * (size_t)ndirs);
	char path[4096];
	for (int d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/d%04d", root, d);
		dfd[d] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd[d] < 0)
			die("open");
	}
	long entries;
	floor_walk(dfd, ndirs, &entries); /* warm the cache */

	/* The scanner, every directory read on every tick, then only the
	 * changed ones (steady state); each tick alternated with a floor
	 * walk while the scanner sleeps, so that both see the same machine
	 * (2 cores shared with other work: medians). */
	uinotify_set_scan_interval(quick ? 200 : 300);
	uin_scan_set_param(UIN_SCAN_COLD_MS, 0);
	uin_scan_set_param(UIN_SCAN_LIST_ALWAYS, 1);
	int fd = watch_tree(root, ndirs, UINOTIFY_SOURCE_SCAN,
			    IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB |
				    IN_MOVE | IN_CLOSE_WRITE);
	uin_scan_wait_ticks(2, 60000);
	enum { K = 9 };
	double fl[2 * K], sc[K], ss[K];
	for (int i = 0; i < K; i++) {
		sc[i] = scanner_sweep(1);
		fl[i] = floor_walk(dfd, ndirs, &entries);
	}
	uin_scan_set_param(UIN_SCAN_LIST_ALWAYS, 0);
	uin_scan_wait_ticks(1, 60000);
	for (int i = 0; i < K; i++) {
		ss[i] = scanner_sweep(1);
		fl[K + i] = floor_walk(dfd, ndirs, &entries);
	}
	/* The minimum: the machine is shared, and interference only ever
	 * adds (the medians are printed too). */
	double floor_med = bench_pct(fl, 2 * K, 0.5);
	double full_med = bench_pct(sc, K, 0.5), steady_med = bench_pct(ss, K, 0.5);
	double floor = bench_pct(fl, 2 * K, 0.0);
	double full = bench_pct(sc, K, 0.0), steady = bench_pct(ss, K, 0.0);
	printf("  full sweep CPU, %ld entries (minimum of %d; medians: floor "
	       "%.2f, scanner %.2f (%.3fx), steady %.2f (%.3fx) ms):\n",
	       entries, K, floor_med, full_med, full_med / floor_med,
	       steady_med, steady_med / floor_med);
	printf("    floor (getdents64 + statx walk)  %8.2f ms  %5.3f us/entry\n",
	       floor, floor * 1000 / (double)entries);
	printf("    scanner, every directory read    %8.2f ms  %5.3f us/entry"
	       "  %.3fx floor\n",
	       full, full * 1000 / (double)entries, full / floor);
	printf("    scanner, steady state            %8.2f ms  %5.3f us/entry"
	       "  %.3fx floor\n",
	       steady, steady * 1000 / (double)entries, steady / floor);
	char what[128];
	snprintf(what, sizeof what, "%d files full sweep CPU ms, vs floor",
		 ndirs * 100);
	bench_result("bench_scan", what, full, floor);
	snprintf(what, sizeof what, "%d files steady sweep CPU ms, vs floor",
		 ndirs * 100);
	bench_result("bench_scan", what, steady, floor);
	if (!quick) {
		double fs = fswatch_sweep(root, entries);
		if (fs >= 0) {
			printf("    fswatch -m poll_monitor          %8.2f ms  "
			       "%5.3f us/entry  %.3fx floor\n",
			       fs, fs * 1000 / (double)entries, fs / floor);
			snprintf(what, sizeof what,
				 "%d files sweep CPU ms, scanner vs fswatch",
				 ndirs * 100);
			bench_result("bench_scan", what, full, fs);
		}
		else
			printf("    fswatch: not installed\n");
	}

	/* default settings from here on */
	uinotify_set_scan_interval(UIN_SCAN_DEFAULT_INTERVAL_MS);
	uin_scan_set_param(UIN_SCAN_COLD_MS, UIN_SCAN_DEFAULT_COLD_MS);
	uin_scan_wait_ticks(25, 60000); /* the new files are no longer hot */
	double idle = idle_cpu(quick ? 1500 : 3000);
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	printf("  idle at the default settings (%d ms): %.2f%% of a core; "
	       "every file checked within %ld ms\n",
	       uinotify_set_scan_interval(0), idle, st.cold_period_ms);
	snprintf(what, sizeof what, "%d files idle %% of a core", ndirs * 100);
	bench_result("bench_scan", what, idle, NAN);
	latency("latency, local:", fd, root, ndirs, quick ? 10 : 40);

	/* content changes of cold files */
	uin_scan_wait_ticks(25, 60000);
	drain(fd);
	int k = 20;
	char names[20][64];
	double start = now_ms(), worst = 0;
	for (int i = 0; i < k; i++) {
		int d = (int)(rnd() % (unsigned)ndirs);
		snprintf(path, sizeof path, "%s/d%04d/file-%03u.txt", root, d,
			 rnd() % 100);
		snprintf(names[i], sizeof names[i], "%s", strrchr(path, '/') + 1);
		int w = open(path, O_WRONLY | O_APPEND);
		if (write(w, "x", 1) != 1)
			die("write");
		close(w);
	}
	/* every MODIFY, in whatever order they come */
	int seen = 0;
	bool got[20] = {0};
	static char ebuf[65536] __attribute__((aligned(8)));
	while (seen < k && now_ms() - start < 30000) {
		ssize_t r = uinotify_read(fd, ebuf, sizeof ebuf);
		double t = now_ms() - start;
		for (ssize_t off = 0; r > 0 && off < r;) {
			struct inotify_event *e = (void *)(ebuf + off);
			off += (ssize_t)(sizeof *e + e->len);
			if (!(e->mask & IN_MODIFY) || !e->len)
				continue;
			for (int i = 0; i < k; i++)
				if (!got[i] && !strcmp(e->name, names[i])) {
					got[i] = true;
					seen++;
					worst = t;
				}
		}
		if (r <= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			poll(&p, 1, 50);
		}
	}
	if (seen < k)
		worst = -1;
	uin_scan_get_stats(&st);
	printf("  content change of %d cold files: all within %.0f ms "
	       "(bound: cold period %ld ms + a tick)%s\n",
	       k, worst, st.cold_period_ms, seen < k ? " SOME MISSING" : "");
	printf("  memory: %.1f bytes per entry + %.1f bytes of name (%ld "
	       "entries, %zu bytes)\n",
	       (double)(st.snap_bytes - st.name_bytes) / (double)st.entries,
	       (double)st.name_bytes / (double)st.entries, st.entries,
	       st.snap_bytes);
	uinotify_close(fd);
	for (int d = 0; d < ndirs; d++)
		close(dfd[d]);
	free(dfd);
	rm_tree(root);
}

/* Behind bindfs ----------------------------------------------------------------- */

static pid_t bindfs_pid;

static bool bindfs_mount(const char *src, const char *mnt)
{
	const char *why;
	return bench_bindfs_mount(src, mnt, &bindfs_pid, &why);
}

static void bindfs_umount(const char *mnt)
{
	bench_bindfs_umount(mnt, &bindfs_pid);
}

static void bench_bindfs(const char *base, int ndirs, bool quick)
{
	char src[1024], mnt[1024], path[4096];
	snprintf(src, sizeof src, "%s/uinotify-bench-bindfs-src", base);
	snprintf(mnt, sizeof mnt, "%s/uinotify-bench-bindfs-mnt", base);
	rm_tree(src);
	make_tree(src, ndirs);
	mkdir(mnt, 0755);
	if (!bindfs_mount(src, mnt)) {
		printf("behind bindfs: not measured (bindfs or /dev/fuse "
		       "missing)\n");
		rm_tree(src);
		return;
	}
	printf("tree of %d files behind bindfs (changes made to the backing "
	       "directory)\n",
	       ndirs * 100);
	uinotify_set_scan_interval(UIN_SCAN_DEFAULT_INTERVAL_MS);
	uin_scan_set_param(UIN_SCAN_COLD_MS, UIN_SCAN_DEFAULT_COLD_MS);
	int fd = watch_tree(mnt, ndirs, UINOTIFY_SOURCE_AUTO,
			    IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB |
				    IN_MOVE | IN_CLOSE_WRITE);
	uin_scan_wait_ticks(25, 60000);
	double idle = idle_cpu(quick ? 1500 : 3000);
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	printf("  idle (AUTO: kernel + scanner, default interval, %ld stat "
	       "threads): %.2f%% of a core in this process; every file checked "
	       "within %ld ms; tick %ld us wall, %ld us CPU of the loop thread\n",
	       uin_scan_get_param(UIN_SCAN_STAT_THREADS), idle,
	       st.cold_period_ms, st.last_tick_us, st.last_tick_cpu_us);
	latency("latency, behind bindfs:", fd, src, ndirs, quick ? 10 : 40);

	/* remote changes: 1000 created, then written, all found */
	drain(fd);
	int n = 1000, found = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/d%04d/remote-%d", src,
			 i % ndirs, i);
		close(open(path, O_WRONLY | O_CREAT, 0644));
	}
	static char buf[65536] __attribute__((aligned(8)));
	double t0 = now_ms();
	while (found < n && now_ms() - t0 < 20000) {
		ssize_t r = uinotify_read(fd, buf, sizeof buf);
		for (ssize_t off = 0; r > 0 && off < r;) {
			struct inotify_event *e = (void *)(buf + off);
			off += (ssize_t)(sizeof *e + e->len);
			if ((e->mask & IN_CREATE) && e->len &&
			    !strncmp(e->name, "remote-", 7))
				found++;
		}
		if (r <= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			poll(&p, 1, 100);
		}
	}
	printf("  remote creations found: %d of %d in %.0f ms\n", found, n,
	       now_ms() - t0);

	/* FUSE's attribute cache: a write to a hot file, with and without
	 * AT_STATX_FORCE_SYNC on the entries (once the 1000 new files are
	 * no longer hot) */
	uin_scan_wait_ticks(40, 60000);
	for (int mode = 2; mode >= 0; mode -= 2) {
		uin_scan_set_param(UIN_SCAN_FORCE_SYNC, mode);
		double lat[16];
		int k = quick ? 5 : 10;
		/* hot first: a write, seen (not counted) */
		snprintf(path, sizeof path, "%s/d0000/remote-0", src);
		drain(fd);
		t0 = now_ms();
		int w0 = open(path, O_WRONLY | O_APPEND);
		if (write(w0, "x", 1) != 1)
			die("write");
		close(w0);
		wait_for(fd, IN_MODIFY, "remote-0", t0);
		for (int i = 0; i < k; i++) {
			snprintf(path, sizeof path, "%s/d0000/remote-0", src);
			usleep(rnd() % 100000 + 150000);
			drain(fd);
			t0 = now_ms();
			int w = open(path, O_WRONLY | O_APPEND);
			if (write(w, "x", 1) != 1)
				die("write");
			close(w);
			lat[i] = wait_for(fd, IN_MODIFY, "remote-0", t0);
		}
		uin_scan_wait_ticks(3, 60000);
		uin_scan_get_stats(&st);
		printf("  write to a hot file, %-26s median %5.0f ms, max "
		       "%5.0f ms; tick %ld us CPU, %ld us wall, %ld overruns\n",
		       mode ? "AT_STATX_FORCE_SYNC:" : "attribute cache (none):",
		       bench_pct(lat, k, 0.5), bench_pct(lat, k, 1.0),
		       st.last_tick_cpu_us, st.last_tick_us, st.overruns);
	}
	uin_scan_set_param(UIN_SCAN_FORCE_SYNC, 2);
	uinotify_close(fd);
	uin_scan_wait_ticks(2, 10000);
	bindfs_umount(mnt);
	rmdir(mnt);
	rm_tree(src);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	bool quick = false, bindfs_only = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--bindfs-only"))
			bindfs_only = true;
		else
			base = argv[i];
	}
	uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 1 << 20);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_scan: the scanner (src/sources/scan.c), %s\n",
	       quick ? "quick run" : "full run");
	double t0 = now_ms();
	if (!bindfs_only)
		bench_tree(base, 200, quick);
	if (!quick && !bindfs_only)
		bench_tree(base, 2000, quick);
	bench_bindfs(base, 200, quick);
	printf("total %.0f s\n", (now_ms() - t0) / 1000);
	return 0;
}
