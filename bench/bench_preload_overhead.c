/*
 * bench/bench_preload_overhead.c - what libuinotify-preload.so costs a
 * program that never uses inotify, side by side in one run:
 *
 *   startup:  fork + exec /bin/true, N times, without and with LD_PRELOAD
 *   read:     read(/dev/zero, 1 byte) 10^6 times in a process started
 *             without and with LD_PRELOAD
 *   dup+close: dup(fd) + close() pairs (both interposed)
 *   instance dup+close: an inotify instance's name dup'ed, then the old
 *             name closed, with 1000 other descriptors open (the kernel's
 *             inotify vs the drop-in's: finding that the instance is
 *             still named must not look through them)
 *
 * Rounds alternate without/with, and each figure is the best round, so
 * that the machine's noise hits both sides alike.  Ratio = with / without.
 *
 *   bench_preload_overhead [PATH/libuinotify-preload.so]
 *     default: $UINOTIFY_PRELOAD_SO, else ../src/preload/ next to this
 *     executable's directory.  UINOTIFY_BENCH_EXECS (1000),
 *     UINOTIFY_BENCH_READS (1000000) change the counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* environ without LD_PRELOAD, plus preload if given. */
static char **make_env(const char *preload)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[j++] = environ[i];
	if (preload) {
		size_t len = strlen(preload) + 12;
		env[j] = malloc(len);
		snprintf(env[j], len, "LD_PRELOAD=%s", preload);
	}
	return env;
}

static int run(char *const argv[], char **env, int out_fd)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execve(argv[0], argv, env);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Seconds for n fork+exec of /bin/true. */
static double startup_round(char **env, long n)
{
	char *argv[] = {(char *)"/bin/true", NULL};
	double t0 = now_s();
	for (long i = 0; i < n; i++)
		if (run(argv, env, -1) != 0) {
			fprintf(stderr, "/bin/true failed\n");
			exit(1);
		}
	return now_s() - t0;
}

/* In the measured process: ns per call of the loop named by mode. */
static int child_loop(const char *mode, long n)
{
	char b[64];
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	double t0 = now_s();
	if (!strcmp(mode, "read")) {
		for (long i = 0; i < n; i++)
			if (read(fd, b, 1) != 1)
				return 1;
	} else if (!strcmp(mode, "instdupclose")) {
		for (int i = 0; i < 1000; i++)
			if (dup(fd) < 0)
				return 1;
		int in = inotify_init1(IN_CLOEXEC);
		if (in < 0)
			return 1;
		t0 = now_s();
		/* Each time the old name goes and the new one stays: the
		 * instance must find that it is still open. */
		for (long i = 0; i < n; i++) {
			int d = dup(in);
			if (d < 0 || close(in) != 0)
				return 1;
			in = d;
		}
	} else {
		for (long i = 0; i < n; i++) {
			int d = dup(fd);
			if (d < 0 || close(d) != 0)
				return 1;
		}
	}
	double t = now_s() - t0;
	printf("%.3f\n", t * 1e9 / (double)n);
	return 0;
}

/* ns per call measured by a child (started with env) running mode. */
static double loop_round(const char *self, char **env, const char *mode,
			 long n)
{
	char count[32];
	snprintf(count, sizeof count, "%ld", n);
	char *argv[] = {(char *)self, (char *)"--child", (char *)mode, count,
			NULL};
	int p[2];
	if (pipe(p) < 0)
		exit(1);
	if (run(argv, env, p[1]) != 0) {
		fprintf(stderr, "child loop failed\n");
		exit(1);
	}
	close(p[1]);
	char out[64] = {0};
	ssize_t len = read(p[0], out, sizeof out - 1);
	close(p[0]);
	return len > 0 ? strtod(out, NULL) : -1;
}

static void report(const char *what, const char *unit, double without,
		   double with)
{
	printf("%-28s without %9.3f %s   with %9.3f %s   ratio %.3f\n", what,
	       without, unit, with, unit, with / without);
	char label[128];
	snprintf(label, sizeof label, "%s %s, with vs without", what, unit);
	bench_result("bench_preload_overhead", label, with, without);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_loop(argv[2], strtol(argv[3], NULL, 10));

	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl < 0)
		return 1;
	self[sl] = 0;
	char so[PATH_MAX];
	if (argc > 1)
		snprintf(so, sizeof so, "%s", argv[1]);
	else if (getenv("UINOTIFY_PRELOAD_SO"))
		snprintf(so, sizeof so, "%s", getenv("UINOTIFY_PRELOAD_SO"));
	else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", self);
		snprintf(so, sizeof so, "%s/../src/preload/libuinotify-preload.so",
			 dirname(dir));
	}
	if (access(so, R_OK) != 0) {
		fprintf(stderr, "%s: not found (pass the path)\n", so);
		return 1;
	}
	long execs = env_long("UINOTIFY_BENCH_EXECS", 1000);
	long reads = env_long("UINOTIFY_BENCH_READS", 1000000);
	char **plain = make_env(NULL), **pre = make_env(so);

	double best_s[2] = {1e9, 1e9}, best_r[2] = {1e9, 1e9},
	       best_d[2] = {1e9, 1e9}, best_i[2] = {1e9, 1e9};
	long per_round = execs / ROUNDS > 0 ? execs / ROUNDS : 1;
	for (int r = 0; r < ROUNDS; r++) {
		for (int w = 0; w < 2; w++) {
			char **env = w ? pre : plain;
			double t = startup_round(env, per_round) /
				   (double)per_round * 1e3;
			if (t < best_s[w])
				best_s[w] = t;
			t = loop_round(self, env, "read", reads);
			if (t < best_r[w])
				best_r[w] = t;
			t = loop_round(self, env, "dupclose", reads / 5);
			if (t < best_d[w])
				best_d[w] = t;
			t = loop_round(self, env, "instdupclose", reads / 100);
			if (t < best_i[w])
				best_i[w] = t;
		}
	}
	printf("libuinotify-preload.so cost on a program that never uses "
	       "inotify\n(%s; best of %d alternating rounds)\n", so, ROUNDS);
	char what[64];
	snprintf(what, sizeof what, "startup /bin/true x%ld", per_round * ROUNDS);
	report(what, "ms/exec", best_s[0], best_s[1]);
	snprintf(what, sizeof what, "read(/dev/zero,1) x%ld", reads);
	report(what, "ns/call", best_r[0], best_r[1]);
	snprintf(what, sizeof what, "dup+close x%ld", reads / 5);
	report(what, "ns/pair", best_d[0], best_d[1]);
	snprintf(what, sizeof what, "instance dup+close x%ld", reads / 100);
	report(what, "ns/pair", best_i[0], best_i[1]);
	return 0;
}
