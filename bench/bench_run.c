/*
 * bench/bench_run.c - what uinotify-run costs, side by side in one run with
 * the same program run plainly (the kernel's inotify) and with the drop-in
 * library (LD_PRELOAD=libuinotify-preload.so), as ratios:
 *
 *   syscalls  a program that never watches but makes many syscalls (13 an
 *             iteration: getpid, read of /dev/zero, FIONREAD and a write
 *             and read on a pipe, fstat, stat, open, fcntl(F_GETFL),
 *             close, lseek, dup, close; all on low descriptors, so that
 *             the filter's BPF runs for read, ioctl, fcntl, lseek and dup):
 *             wall time of the whole process (fork to exit, about 1 s
 *             plainly), plainly and under uinotify-run, median of
 *             alternating runs (target <= 1.02x); and the loop's own time;
 *             and the floor: the same program under a filter of a few
 *             instructions that makes the same calls depend on their
 *             descriptor (fd == 0x7fffffff: EBADF), which is what any
 *             trap on descriptor numbers costs before we do anything
 *   programs  real programs that never watch and make many system calls
 *             (find /usr, du -s /usr, grep -rc over /usr/include), fork to
 *             exit, median of alternating runs: the same target
 *   addwatch  inotify_add_watch on one path, N times (the same wd, the
 *             mask updated), and add_watch + rm_watch pairs: ns per call
 *             measured inside the program, under uinotify-run, with the
 *             library and plainly (the kernel)
 *   latency   write -> event read, blocking read and poll + read, median
 *             and p99 in ns; events/s for batches of 1000 writes read back
 *             with poll + read (64 KiB); source auto (the kernel source on
 *             a local dir)
 *   startup   fork to exit of `true`, `python3 -c pass`, `node -e 0` (those
 *             installed; /usr/bin first, then PATH), median of many runs
 *
 * The measured programs are this executable again (bench_run --child ...),
 * so one file holds everything.
 *
 *   bench_run [DIR]       DIR for the files (default $TMPDIR, else /tmp)
 *   UINOTIFY_RUN_BIN, UINOTIFY_PRELOAD_SO  other binaries than the build's
 *   UINOTIFY_BENCH_SCALE  multiplies the counts and the syscall program's
 *                         rounds (default 1, about 40 s; 5 for a long run)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef UIN_RUN_BIN
#define UIN_RUN_BIN ""
#endif
#ifndef UIN_PRELOAD_SO
#define UIN_PRELOAD_SO ""
#endif

extern char **environ;

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "bench_run: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double scale = 1;

static long scaled(long n)
{
	long v = (long)((double)n * scale);
	return v > 0 ? v : 1;
}

/* The measured programs ------------------------------------------------------ */

#define SYSCALLS_PER_ITER 13

/* Prints ns per iteration of the loop. */
static int child_syscalls(long n)
{
	char b[64];
	struct stat st;
	int avail, p[2];
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero < 0 || pipe2(p, O_CLOEXEC) < 0)
		return 1;
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		syscall(SYS_getpid);
		if (read(zero, b, sizeof b) != sizeof b ||
		    ioctl(p[0], FIONREAD, &avail) < 0 ||
		    write(p[1], b, 1) != 1 || read(p[0], b, 1) != 1 ||
		    fstat(zero, &st) < 0 || stat("/dev/null", &st) < 0)
			return 1;
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fcntl(fd, F_GETFL) < 0 || close(fd) < 0 ||
		    lseek(zero, 0, SEEK_SET) < 0)
			return 1;
		int d = dup(zero);
		if (d < 0 || close(d) < 0)
			return 1;
	}
	printf("%.2f\n", (double)(bench_now_ns() - t0) / (double)n);
	return 0;
}

enum { MAX_TRAPPED = 16, TAIL = 8 };

/*
 * Loads a filter that allows every call but the n numbers of nr, which go
 * on to the instructions of tail (the allow return right after the
 * number checks, so that they are one jump ahead of the last check).
 */
static int install_filter(const unsigned *nr, unsigned n,
			  const struct sock_filter *tail, unsigned ntail)
{
	struct sock_filter f[1 + MAX_TRAPPED + 1 + TAIL];
	if (n > MAX_TRAPPED || ntail > TAIL)
		return -1;
	unsigned k = 0;
	f[k++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < n; i++) /* to tail, n - i ahead */
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      nr[i], (uint8_t)(n - i), 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ALLOW);
	for (unsigned i = 0; i < ntail; i++)
		f[k++] = tail[i];
	struct sock_fprog prog = {(unsigned short)k, f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -1;
	return 0;
}

/*
 * The floor of trapping by descriptor: the calls uinotify-run's filter
 * checks the descriptor of (src/run/filter.c) run a BPF program that looks
 * at args[0]; every other call is decided by the number alone, which the
 * kernel's action cache answers without running the program.
 */
static int install_floor_filter(void)
{
	static const unsigned on_fd[] = {SYS_read,  SYS_readv, SYS_preadv2,
					 SYS_ioctl, SYS_dup,   SYS_lseek,
					 SYS_splice, SYS_tee,  SYS_fcntl,
					 SYS_sendfile};
	const struct sock_filter args_check[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x7fffffff, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EBADF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return install_filter(on_fd, sizeof on_fd / sizeof *on_fd, args_check,
			      sizeof args_check / sizeof *args_check);
}

/*
 * The floor of any seccomp filter: one that traps only the four inotify
 * calls, so that every other call is decided by its number alone and the
 * kernel's action cache answers without running the program; what is
 * left is the price of a filter at all (the syscall entry's slow path).
 */
static int install_seccomp_floor_filter(void)
{
	static const unsigned trapped[] = {SYS_inotify_init, SYS_inotify_init1,
					   SYS_inotify_add_watch,
					   SYS_inotify_rm_watch};
	const struct sock_filter enosys[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	return install_filter(trapped, sizeof trapped / sizeof *trapped,
			      enosys, 1);
}

/* Prints ns per add_watch (same path) and per add_watch + rm_watch. */
static int child_addwatch(long n, const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return 1;
	for (int i = 0; i < 100; i++)
		if (inotify_add_watch(fd, dir, IN_MODIFY | (i & 1 ? IN_CREATE : 0)) <
		    0)
			return 1;
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		if (inotify_add_watch(fd, dir,
				      IN_MODIFY | (i & 1 ? IN_CREATE : 0)) < 0)
			return 1;
	uint64_t t1 = bench_now_ns();
	/* Each rm_watch queues an IN_IGNORED: drained (untimed) in rounds
	 * well under max_queued_events. */
	static char buf[65536] __attribute__((aligned(8)));
	long pairs = n / 2 > 0 ? n / 2 : 1, left = pairs;
	uint64_t pt = 0;
	while (left > 0) {
		long k = left < 4096 ? left : 4096;
		uint64_t s = bench_now_ns();
		for (long i = 0; i < k; i++) {
			int wd = inotify_add_watch(fd, dir, IN_MODIFY);
			if (wd < 0 || inotify_rm_watch(fd, wd) < 0)
				return 1;
		}
		pt += bench_now_ns() - s;
		left -= k;
		while (read(fd, buf, sizeof buf) > 0)
			;
	}
	printf("%.1f %.1f\n", (double)(t1 - t0) / (double)n,
	       (double)pt / (double)pairs);
	return 0;
}

static char evbuf[65536] __attribute__((aligned(8)));

static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, 5000) != 1)
		if (errno != EINTR)
			die("poll (no event in 5 s)");
}

/* Prints median and p99 (ns) of write -> read and write -> poll + read,
 * and events/s. */
static int child_latency(long n, const char *dir)
{
	char file[PATH_MAX], d[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	snprintf(file, sizeof file, "%.4000s/lat-file", dir);
	int wfd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int fd = inotify_init1(IN_CLOEXEC);
	if (wfd < 0 || fd < 0 || inotify_add_watch(fd, file, IN_MODIFY) < 0)
		die("latency setup");
	double *t[2];
	for (int p = 0; p < 2; p++)
		if (!(t[p] = calloc((size_t)n, sizeof(double))))
			die("calloc");
	for (long i = -50; i < 2 * n; i++) { /* 50 warm-up rounds */
		int p = (int)(i & 1);
		uint64_t t0 = bench_now_ns();
		if (pwrite(wfd, "x", 1, 0) != 1)
			die("pwrite");
		if (p)
			wait_readable(fd);
		if (read(fd, evbuf, sizeof evbuf) <= 0)
			die("read");
		if (i >= 0)
			t[p][i / 2] = (double)(bench_now_ns() - t0);
	}
	double rmed = bench_pct(t[0], (int)n, 0.5), rp99 = bench_pct(t[0], (int)n, 0.99);
	double pmed = bench_pct(t[1], (int)n, 0.5), pp99 = bench_pct(t[1], (int)n, 0.99);
	close(fd);
	close(wfd);
	unlink(file);

	/* Throughput: two files alternately, so that no two events merge. */
	snprintf(d, sizeof d, "%.4000s/tp-dir", dir);
	snprintf(a, sizeof a, "%.4000s/a", d);
	snprintf(b, sizeof b, "%.4000s/b", d);
	if (mkdir(d, 0755) < 0 && errno != EEXIST)
		die("mkdir");
	int fa = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int fb = open(b, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fa < 0 || fb < 0 || fd < 0 ||
	    inotify_add_watch(fd, d, IN_MODIFY) < 0)
		die("throughput setup");
	const int batch = 1000;
	long batches = n / 20 > 0 ? n / 20 : 1, events = 0;
	uint64_t t0 = bench_now_ns();
	for (long j = 0; j < batches; j++) {
		for (int i = 0; i < batch; i++)
			if (pwrite(i & 1 ? fb : fa, "x", 1, 0) != 1)
				die("pwrite");
		long want = events + batch;
		while (events < want) {
			wait_readable(fd);
			ssize_t r = read(fd, evbuf, sizeof evbuf);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0)
				die("read events");
			for (ssize_t off = 0; off < r;) {
				struct inotify_event *e = (void *)(evbuf + off);
				if (e->mask & IN_Q_OVERFLOW) {
					fprintf(stderr, "bench_run: overflow\n");
					return 1;
				}
				events++;
				off += (ssize_t)(sizeof *e + e->len);
			}
		}
	}
	double evps = (double)events / ((double)(bench_now_ns() - t0) / 1e9);
	close(fd);
	close(fa);
	close(fb);
	unlink(a);
	unlink(b);
	rmdir(d);
	printf("%.0f %.0f %.0f %.0f %.0f\n", rmed, rp99, pmed, pp99, evps);
	return 0;
}

/* Starting programs on a side ------------------------------------------------ */

enum side { PLAIN, RUN, LIB, NSIDES };
static const char *const side_names[NSIDES] = {"plain", "uinotify-run",
					       "library"};
static char run_bin[PATH_MAX], preload_so[PATH_MAX], self[PATH_MAX];
static bool have[NSIDES];
static char **envs[NSIDES];

/* environ without LD_PRELOAD, plus preload if given. */
static char **make_env(const char *preload)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	if (!env)
		die("calloc");
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[j++] = environ[i];
	if (preload) {
		size_t len = strlen(preload) + 12;
		if (!(env[j] = malloc(len)))
			die("malloc");
		snprintf(env[j], len, "LD_PRELOAD=%s", preload);
	}
	return env;
}

/*
 * Runs argv (argv[0] a path) on side s, its stdout into out (NULL: to
 * /dev/null), and waits for it.  Returns ns from fork to its exit, or -1
 * if it did not exit with 0.  Under uinotify-run the supervisor may
 * outlive COMMAND a little: only COMMAND is waited for, as a shell would.
 */
static double spawn(enum side s, char *const argv[], char *out, size_t len)
{
	char *full[16];
	int k = 0;
	if (s == RUN) {
		full[k++] = run_bin;
		full[k++] = (char *)"--";
	}
	for (int i = 0; argv[i] && k < 15; i++)
		full[k++] = argv[i];
	full[k] = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (out)
			dup2(p[1], 1);
		else {
			int nul = open("/dev/null", O_WRONLY);
			dup2(nul, 1);
		}
		execve(full[0], full, envs[s]);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	uint64_t t1 = bench_now_ns();
	close(p[1]);
	if (out) {
		size_t got = 0;
		ssize_t r;
		while (got < len - 1 &&
		       (r = read(p[0], out + got, len - 1 - got)) > 0)
			got += (size_t)r;
		out[got] = 0;
	}
	close(p[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return (double)(t1 - t0);
}

/* This program as a child: bench_run --child MODE N [DIR]; its output. */
static bool child(enum side s, const char *mode, long n, const char *dir,
		  char *out, size_t len, double *wall)
{
	char count[32];
	snprintf(count, sizeof count, "%ld", n);
	char *argv[] = {self, (char *)"--child", (char *)mode, count,
			(char *)dir, NULL};
	double w = spawn(s, argv, out, len);
	if (wall)
		*wall = w;
	if (w < 0)
		fprintf(stderr, "bench_run: --child %s failed %s\n", mode,
			side_names[s]);
	return w >= 0;
}

/* Printing ------------------------------------------------------------------- */

/* One row: the peer (plain), uinotify-run and the library, with ratios
 * to the peer; NAN for a side not measured.  And its RESULT lines. */
static void row(const char *what, double peer, double run, double lib)
{
	printf("  %-34s %12.6g %12.6g %7.3f", what, peer, run, run / peer);
	if (!isnan(lib))
		printf(" %12.6g %7.3f", lib, lib / peer);
	printf("\n");
}

/* goal: what issue 12 asks of uinotify-run's ratio (NULL: none). */
static void results_goal(const char *what, const char *peer_name, double peer,
			 double run, double lib, const char *goal)
{
	char label[160];
	if (!isnan(run)) {
		snprintf(label, sizeof label, "%s, uinotify-run vs %s", what,
			 peer_name);
		bench_result_goal("bench_run", label, run, peer, goal);
	}
	if (!isnan(lib)) {
		snprintf(label, sizeof label, "%s, library vs %s", what,
			 peer_name);
		bench_result("bench_run", label, lib, peer);
	}
}

static void results(const char *what, const char *peer_name, double peer,
		    double run, double lib)
{
	results_goal(what, peer_name, peer, run, lib, NULL);
}

static void header(const char *first, const char *peer)
{
	printf("  %-34s %12s %12s %7s", first, peer, "uinotify-run", "ratio");
	if (have[LIB])
		printf(" %12s %7s", "library", "ratio");
	printf("\n");
}

/* The benches ---------------------------------------------------------------- */

static void bench_syscalls(void)
{
	char out[256];
	double ns;
	/* Calibrate: about 1 s of loop plainly, so that the fixed cost of
	 * starting under uinotify-run weighs as on a short build step. */
	if (!child(PLAIN, "syscalls", 5000, "", out, sizeof out, NULL))
		return;
	ns = strtod(out, NULL);
	long n = (long)(1e9 / (ns > 10 ? ns : 10));
	int rounds = (int)scaled(7) | 1;
	if (rounds > 63)
		rounds = 63;
	/* 0 plain, 1 uinotify-run, 2 plain under the floor filter, 3 plain
	 * under the filter of the inotify calls alone */
	static const char *const modes[] = {"syscalls", "syscalls",
					    "syscalls-floor",
					    "syscalls-seccomp"};
	double wall[4][64], loop[4][64];
	for (int r = -1; r < rounds; r++) /* r = -1: warm-up */
		for (int k = 0; k < 4; k++) {
			/* rotate which one goes first */
			int i = (r + 1 + k) % 4;
			double w;
			if (!child(i == 1 ? RUN : PLAIN, modes[i], n, "", out,
				   sizeof out, &w))
				return;
			if (r >= 0) {
				wall[i][r] = w / 1e6;
				loop[i][r] = strtod(out, NULL);
			}
		}
	double wp = bench_pct(wall[0], rounds, 0.5);
	double wr = bench_pct(wall[1], rounds, 0.5);
	double wf = bench_pct(wall[2], rounds, 0.5);
	double lp = bench_pct(loop[0], rounds, 0.5);
	double lr = bench_pct(loop[1], rounds, 0.5);
	double lf = bench_pct(loop[2], rounds, 0.5);
	double ws = bench_pct(wall[3], rounds, 0.5);
	double ls = bench_pct(loop[3], rounds, 0.5);
	printf("a program that never watches: %ld iterations of %d syscalls, "
	       "median of %d alternating runs\n",
	       n, SYSCALLS_PER_ITER, rounds);
	printf("  %-34s %12s %12s %7s\n", "", "plain", "uinotify-run", "ratio");
	row("whole process (fork..exit), ms", wp, wr, NAN);
	row("the loop, ns/iteration", lp, lr, NAN);
	printf("  (target: whole process <= 1.02x; %s)\n",
	       wr / wp <= 1.02 ? "met" : "NOT MET");
	printf("  the floor, a %s filter that checks the same calls' "
	       "descriptor:\n", "ten-rule");
	printf("  %-34s %12s %12s %7s\n", "", "plain", "floor", "ratio");
	row("whole process (fork..exit), ms", wp, wf, NAN);
	row("the loop, ns/iteration", lp, lf, NAN);
	printf("  (uinotify-run vs the floor: whole process %.3fx, loop %.3fx)\n",
	       wr / wf, lr / lf);
	printf("  any seccomp filter, one that traps the inotify calls alone:\n");
	printf("  %-34s %12s %12s %7s\n", "", "plain", "seccomp", "ratio");
	row("whole process (fork..exit), ms", wp, ws, NAN);
	row("the loop, ns/iteration", lp, ls, NAN);
	results_goal("syscall-heavy program wall ms", "plain", wp, wr, NAN,
		     "<= 1.02");
	results("syscall loop ns/iteration", "plain", lp, lr, NAN);
	bench_result("bench_run",
		     "syscall-heavy program wall ms, descriptor-trap floor vs plain",
		     wf, wp);
	bench_result("bench_run",
		     "syscall-heavy program wall ms, uinotify-run vs the floor",
		     wr, wf);
	bench_result("bench_run",
		     "syscall-heavy program wall ms, any seccomp filter vs plain",
		     ws, wp);
	bench_result("bench_run",
		     "syscall loop ns/iteration, any seccomp filter vs plain",
		     ls, lp);
}

/*
 * Runs `mode` rounds times on every side still measured, the order
 * rotating so that no side always goes first; each run prints nf numbers,
 * and m[s][i] is the median of number i on side s (NAN for a side that
 * failed, which is not run again).  False when the plain side failed:
 * nothing to compare with.
 */
#define MAX_NF 5
#define MAX_ROUNDS 8
static bool medians(const char *mode, long n, const char *dir, int rounds,
		    int nf, double m[NSIDES][MAX_NF])
{
	double v[NSIDES][MAX_NF][MAX_ROUNDS];
	char out[256];
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < NSIDES; k++) {
			enum side s = (enum side)((r + k) % NSIDES);
			if (!have[s])
				continue;
			bool ok = child(s, mode, n, dir, out, sizeof out, NULL);
			char *p = out, *end;
			for (int i = 0; ok && i < nf; i++, p = end) {
				v[s][i][r] = strtod(p, &end);
				ok = end != p;
			}
			if (!ok) {
				if (s == PLAIN)
					return false;
				have[s] = false;
			}
		}
	for (int s = 0; s < NSIDES; s++)
		for (int i = 0; i < nf; i++)
			m[s][i] = have[s] ? bench_pct(v[s][i], rounds, 0.5) : NAN;
	return true;
}

static void bench_addwatch(const char *dir)
{
	long n = scaled(2000);
	int rounds = 5;
	enum { ADD, PAIR, NF };
	double m[NSIDES][MAX_NF];
	if (!medians("addwatch", n, dir, rounds, NF, m))
		return;
	printf("inotify_add_watch round trip, measured in the program: %ld "
	       "calls on one path, median of %d runs\n",
	       n, rounds);
	header("ns/call", "kernel");
	row("add_watch (same path, same wd)", m[PLAIN][ADD], m[RUN][ADD],
	    m[LIB][ADD]);
	row("add_watch + rm_watch", m[PLAIN][PAIR], m[RUN][PAIR], m[LIB][PAIR]);
	results("add_watch ns/call", "kernel", m[PLAIN][ADD], m[RUN][ADD],
		m[LIB][ADD]);
	results("add_watch+rm_watch ns/pair", "kernel", m[PLAIN][PAIR],
		m[RUN][PAIR], m[LIB][PAIR]);
}

static void bench_latency(const char *dir)
{
	long n = scaled(2000);
	int rounds = 3;
	enum { RMED, RP99, PMED, PP99, EVPS, NF };
	double m[NSIDES][MAX_NF];
	if (!medians("latency", n, dir, rounds, NF, m))
		return;
	struct statfs sf;
	printf("change -> event: %ld samples a path, events/s over %ld "
	       "events, median of %d runs (%s, fs type %#lx)\n",
	       n, n / 20 * 1000, rounds, dir,
	       statfs(dir, &sf) == 0 ? (unsigned long)sf.f_type : 0ul);
	header("", "kernel");
	static const char *const what[NF] = {
		"write -> read, median ns", "write -> read, p99 ns",
		"write -> poll + read, median ns", "write -> poll + read, p99 ns",
		"events/s (batches of 1000)"};
	for (int i = 0; i < NF; i++) {
		row(what[i], m[PLAIN][i], m[RUN][i], m[LIB][i]);
		results(what[i], "kernel", m[PLAIN][i], m[RUN][i], m[LIB][i]);
	}
}

/* A program by name: /usr/bin, /bin, then PATH (a shim such as pyenv's
 * in PATH would measure itself). */
static bool find_program(const char *name, char *path, size_t len)
{
	static const char *const dirs[] = {"/usr/bin", "/bin", "/usr/local/bin"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(path, len, "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return true;
	}
	const char *env = getenv("PATH");
	char *copy = strdup(env ? env : ""), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", d, name);
		if (access(path, X_OK) == 0) {
			free(copy);
			return true;
		}
	}
	free(copy);
	return false;
}

struct prog {
	const char *name, *args[3];
	long runs;
};

/* Each program run plainly, under uinotify-run and with the library,
 * alternating, the median wall time of each (fork to exit, ms). */
static void programs(const char *title, const char *result_prefix,
		     const struct prog *progs, size_t nprogs, const char *goal)
{
	bool printed = false;
	for (size_t i = 0; i < nprogs; i++) {
		char path[PATH_MAX], label[160], what[128];
		if (!find_program(progs[i].name, path, sizeof path)) {
			printf("  %s: not installed, skipped\n", progs[i].name);
			continue;
		}
		char *argv[5] = {path};
		int words = snprintf(what, sizeof what, "%s", progs[i].name);
		for (int a = 0; a < 3 && progs[i].args[a]; a++) {
			argv[a + 1] = (char *)progs[i].args[a];
			words += snprintf(what + words, sizeof what - (size_t)words,
					  " %s", progs[i].args[a]);
		}
		long runs = scaled(progs[i].runs);
		double *t[NSIDES];
		for (int s = 0; s < NSIDES; s++)
			if (!(t[s] = calloc((size_t)runs, sizeof(double))))
				die("calloc");
		bool ok[NSIDES] = {have[PLAIN], have[RUN], have[LIB]};
		for (long r = -1; r < runs; r++) /* r = -1: warm-up */
			for (int k = 0; k < NSIDES; k++) {
				enum side s = (enum side)((r + 1 + k) % NSIDES);
				if (!ok[s])
					continue;
				double w = spawn(s, argv, NULL, 0);
				if (w < 0)
					ok[s] = false;
				else if (r >= 0)
					t[s][r] = w / 1e6;
			}
		if (!ok[PLAIN]) {
			printf("  %s: failed plainly, skipped\n", what);
			for (int s = 0; s < NSIDES; s++)
				free(t[s]);
			continue;
		}
		double m[NSIDES];
		for (int s = 0; s < NSIDES; s++)
			m[s] = ok[s] ? bench_pct(t[s], (int)runs, 0.5) : NAN;
		if (!printed) {
			printf("%s\n", title);
			header("", "plain");
			printed = true;
		}
		snprintf(label, sizeof label, "%.28s x%ld", what, runs);
		row(label, m[PLAIN], m[RUN], have[LIB] ? m[LIB] : NAN);
		snprintf(label, sizeof label, "%s %s", result_prefix, what);
		results_goal(label, "plain", m[PLAIN], m[RUN],
			     have[LIB] ? m[LIB] : NAN, goal);
		for (int s = 0; s < NSIDES; s++)
			free(t[s]);
	}
}

static void bench_startup(void)
{
	static const struct prog progs[] = {
		{"true", {NULL}, 60},
		{"python3", {"-c", "pass"}, 30},
		{"node", {"-e", "0"}, 15},
	};
	programs("start-up, fork to exit, median (ms)", "start-up ms", progs,
		 sizeof progs / sizeof *progs, NULL);
}

/* Real programs that never watch and make many system calls: fts walks
 * (newfstatat, getdents64, openat, close, fcntl: find, du) and a reader
 * of every file (grep: read). */
static void bench_real_programs(void)
{
	static const struct prog progs[] = {
		{"find", {"/usr", "-xdev"}, 7},
		{"du", {"-s", "/usr"}, 7},
		{"grep", {"-rc", "include", "/usr/include"}, 7},
	};
	programs("syscall-heavy programs that never watch, fork to exit, "
		 "median (ms)",
		 "program ms", progs, sizeof progs / sizeof *progs, "<= 1.02");
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_run: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "--child")) {
		long n = strtol(argv[3], NULL, 10);
		const char *dir = argc > 4 ? argv[4] : "";
		if (!strcmp(argv[2], "syscalls"))
			return child_syscalls(n);
		if (!strcmp(argv[2], "syscalls-floor"))
			return install_floor_filter() < 0 ? 1 : child_syscalls(n);
		if (!strcmp(argv[2], "syscalls-seccomp"))
			return install_seccomp_floor_filter() < 0
				       ? 1
				       : child_syscalls(n);
		if (!strcmp(argv[2], "addwatch"))
			return child_addwatch(n, dir);
		if (!strcmp(argv[2], "latency"))
			return child_latency(n, dir);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *e = getenv("UINOTIFY_BENCH_SCALE");
	if (e && atof(e) > 0)
		scale = atof(e);
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl < 0)
		die("readlink /proc/self/exe");
	self[sl] = 0;
	e = getenv("UINOTIFY_RUN_BIN");
	snprintf(run_bin, sizeof run_bin, "%s", e && *e ? e : UIN_RUN_BIN);
	e = getenv("UINOTIFY_PRELOAD_SO");
	snprintf(preload_so, sizeof preload_so, "%s",
		 e && *e ? e : UIN_PRELOAD_SO);

	envs[PLAIN] = envs[RUN] = make_env(NULL);
	envs[LIB] = make_env(preload_so);
	have[PLAIN] = true;
	char *probe[] = {(char *)"/bin/true", NULL};
	have[RUN] = access(run_bin, X_OK) == 0 && spawn(RUN, probe, NULL, 0) >= 0;
	have[LIB] = preload_so[0] && access(preload_so, R_OK) == 0;
	printf("bench_run: uinotify-run (%s) beside plain runs (the kernel's "
	       "inotify) and the library (%s), ratio = ours / plain\n",
	       run_bin, have[LIB] ? preload_so : "not built");
	if (!have[RUN]) {
		printf("uinotify-run cannot run here (%s): nothing measured\n",
		       run_bin);
		return 0;
	}

	char base[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%.4000s/uinotify-bench-run-XXXXXX",
		 argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		die("mkdtemp");
	uint64_t t0 = bench_now_ns();
	bench_syscalls();
	bench_real_programs();
	bench_addwatch(base);
	bench_latency(base);
	bench_startup();
	printf("total %.1f s\n", (double)(bench_now_ns() - t0) / 1e9);
	rm_rf(base);
	return 0;
}
