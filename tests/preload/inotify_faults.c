/*
 * tests/preload/inotify_faults.c - a plain <sys/inotify.h> program for the
 * fault cases of test_run_faults: signals during a blocking read, a reader
 * killed while it waits, many threads and many processes at once, a daemon
 * that outlives its parent, and what a program gets once the supervisor is
 * gone.  Prints one line per observation, the same under uinotify-run as
 * against the kernel (except "enosys", which only means something under
 * uinotify-run, and "signal-storm", not in the suite: see below).
 * "stuck" is driven by its test, which stops the share's daemon.
 *
 *   inotify_faults DIR MODE [ARG]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

static char buf[65536] __attribute__((aligned(8)));

static void on_signal(int sig)
{
	(void)sig;
}

static const char *first_name(ssize_t n)
{
	struct inotify_event *e = (struct inotify_event *)buf;
	return n >= (ssize_t)sizeof *e && e->len ? e->name : "";
}

/* A blocking read interrupted by a handler installed with SA_RESTART goes
 * on waiting, and returns the event that comes after the signal. */
static void *make_later(void *arg)
{
	(void)arg;
	usleep(300000); /* after the alarm; either order gives the same */
	mkdir(path("late"), 0755);
	return NULL;
}

static int sa_restart(void)
{
	int fd = inotify_init1(IN_CLOEXEC);
	inotify_add_watch(fd, dir, IN_CREATE);
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_t t;
	pthread_create(&t, NULL, make_later, NULL);
	ssize_t n = read(fd, buf, sizeof buf);
	printf("read with SA_RESTART = %zd %s\n", n, n < 0 ? strerrorname_np(errno)
							   : first_name(n));
	pthread_join(t, NULL);
	return 0;
}

/*
 * add_watch and rm_watch under a storm of signals (SA_RESTART, as Go's
 * runtime preempting a goroutine): each call should have its one effect
 * and its one answer, however often it is interrupted and restarted; each
 * add gets the next watch descriptor, each rm of it succeeds.  Not in
 * test_run_faults: the kernel can drop an answer it accepted when a
 * signal comes at that moment, and the restart of an rm_watch then fails
 * with EINVAL (src/run/serve.c); a few in thousands here.
 */
static volatile sig_atomic_t storm_signals;

static void on_storm(int sig)
{
	(void)sig;
	storm_signals++;
}

static int signal_storm(int rounds)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	struct sigaction sa = {.sa_handler = on_storm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 50}, {0, 50}};
	setitimer(ITIMER_REAL, &it, NULL);
	int wrong_wd = 0, wrong_rm = 0, last = 0;
	for (int i = 0; i < rounds; i++) {
		int wd = inotify_add_watch(fd, dir, IN_CREATE);
		if (wd != last + 1)
			wrong_wd++;
		if (wd > 0)
			last = wd;
		if (inotify_rm_watch(fd, wd) != 0)
			wrong_rm++;
		if (i % 64 == 63)
			while (read(fd, buf, sizeof buf) > 0)
				; /* the IN_IGNORED records */
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("%d rounds: unexpected wd %d, failed rm_watch %d\n", rounds,
	       wrong_wd, wrong_rm);
	return 0;
}

/* A reader killed while it waits takes nothing with it: the next event
 * goes to the reader that is left. */
static int killed_reader(void)
{
	int fd = inotify_init1(IN_CLOEXEC);
	inotify_add_watch(fd, dir, IN_CREATE);
	int sync[2];
	if (pipe(sync) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		(void)!write(sync[1], "r", 1);
		ssize_t n = read(fd, buf, sizeof buf);
		printf("the killed reader read %zd\n", n);
		_exit(0);
	}
	char b;
	(void)!read(sync[0], &b, 1);
	usleep(100000); /* let it block; either way it must not matter */
	kill(child, SIGKILL);
	int st;
	waitpid(child, &st, 0);
	printf("reader killed: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	mkdir(path("after"), 0755);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	printf("poll = %d\n", poll(&p, 1, 5000));
	ssize_t n = read(fd, buf, sizeof buf);
	printf("survivor read = %zd %s\n", n, first_name(n));
	return 0;
}

/* Threads each with their own instance and directory, all at once. */
static void *thread_body(void *arg)
{
	long id = (long)arg, ok = 0;
	char sub[64];
	snprintf(sub, sizeof sub, "t%ld", id);
	mkdir(path(sub), 0755);
	char b[4096] __attribute__((aligned(8)));
	for (int i = 0; i < 100; i++) {
		int fd = inotify_init1(IN_CLOEXEC);
		int wd = inotify_add_watch(fd, path(sub), IN_CREATE);
		char name[96];
		snprintf(name, sizeof name, "%s/x%d", sub, i);
		mkdir(path(name), 0755);
		ssize_t n = read(fd, b, sizeof b);
		struct inotify_event *e = (struct inotify_event *)b;
		bool right = fd >= 0 && wd == 1 && n == 32 && e->wd == 1 &&
			     (e->mask & IN_CREATE);
		if (!right && ok == i)
			fprintf(stderr, "thread %ld round %d: fd %d wd %d read "
					"%zd wd %d mask %#x\n",
				id, i, fd, wd, n, n > 0 ? e->wd : 0,
				n > 0 ? e->mask : 0);
		ok += right;
		close(fd);
	}
	return (void *)ok;
}

static int threads(int n)
{
	pthread_t t[64];
	long ok = 0;
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, thread_body, (void *)i);
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (long)r;
	}
	printf("threads: %ld of %d rounds right\n", ok, n * 100);
	return 0;
}

/* Many processes, each an instance, a watch and an event of its own. */
static int processes(int n)
{
	int ok = 0, running = 0;
	for (int i = 0; i < n || running; i++) {
		if (i < n) {
			pid_t p = fork();
			if (p == 0) {
				int fd = inotify_init1(IN_CLOEXEC);
				int wd = inotify_add_watch(fd, dir, IN_DELETE);
				_exit(fd >= 0 && wd == 1 && close(fd) == 0 ? 0 : 1);
			}
			if (p > 0)
				running++;
		}
		if (running >= 32 || i >= n) {
			int st;
			if (wait(&st) > 0) {
				running--;
				ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
			}
		}
	}
	printf("processes: %d of %d right\n", ok, n);
	return 0;
}

/* The parent exits at once; the daemon, in a session of its own, reports
 * what it sees to out until it sees "stop". */
static int daemon_mode(const char *out)
{
	pid_t p = fork();
	if (p != 0) {
		printf("parent exits\n");
		return 0;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	int o = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	int nul = open("/dev/null", O_RDWR);
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	int fd = inotify_init1(IN_CLOEXEC);
	int wd = inotify_add_watch(fd, dir, IN_CREATE);
	dprintf(o, "daemon watching: %d\n", wd);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			dprintf(o, "daemon read: %s\n", strerrorname_np(errno));
			_exit(1);
		}
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + off);
			dprintf(o, "daemon saw %s\n", e->len ? e->name : "");
			if (e->len && !strcmp(e->name, "stop"))
				_exit(0);
			off += (ssize_t)sizeof *e + e->len;
		}
	}
}

/* What the calls give once the supervisor is gone: prints "ready", then
 * waits for SIGUSR1 (the test kills the supervisor first). */
static int enosys(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	printf("before: init1 %s, add_watch %d\n", fd >= 0 ? "ok" : "failed",
	       inotify_add_watch(fd, dir, IN_CREATE));
	printf("ready\n");
	int sig;
	sigwait(&s, &sig);
	errno = 0;
	int fd2 = inotify_init1(IN_CLOEXEC);
	printf("after: init1 = %d %s\n", fd2, strerrorname_np(errno));
	errno = 0;
	int wd = inotify_add_watch(fd, dir, IN_DELETE);
	printf("after: add_watch = %d %s\n", wd, strerrorname_np(errno));
	errno = 0;
	ssize_t n = read(fd, buf, sizeof buf);
	printf("after: read = %zd %s\n", n, strerrorname_np(errno));
	errno = 0;
	printf("after: close = %d\n", close(fd));
	return 0;
}

/* add_watch on each path given (after DIR, comma-separated): the errno
 * order of lookup and read permission, for whoever runs this. */
static int access_mode(char *list)
{
	int fd = inotify_init1(IN_CLOEXEC);
	for (char *save, *p = strtok_r(list, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		errno = 0;
		int wd = inotify_add_watch(fd, path(p), IN_CREATE);
		printf("add_watch %s = %d %s\n", p, wd,
		       wd < 0 ? strerrorname_np(errno) : "");
	}
	return 0;
}

/* Instances until EMFILE; one closed makes room at once; watches until
 * ENOSPC (distinct directories). */
static int limits(void)
{
	int fds[300], n = 0;
	while (n < 300 && (fds[n] = inotify_init1(IN_CLOEXEC)) >= 0)
		n++;
	printf("instances: %d, then %s\n", n, strerrorname_np(errno));
	close(fds[--n]);
	int again = inotify_init1(IN_CLOEXEC);
	printf("after one close: %s\n", again >= 0 ? "ok" : strerrorname_np(errno));
	int w = 0;
	char sub[64];
	for (; w < 300; w++) {
		snprintf(sub, sizeof sub, "w%d", w);
		mkdir(path(sub), 0755);
		if (inotify_add_watch(again, path(sub), IN_CREATE) < 0)
			break;
	}
	printf("watches: %d, then %s\n", w, strerrorname_np(errno));
	return 0;
}

/* An add_watch stuck on a share whose server does not answer (the test
 * has stopped its FUSE daemon): the other threads' calls go on. */
static _Atomic pid_t stuck_tid;

static void *stuck_body(void *arg)
{
	stuck_tid = gettid();
	int fd = inotify_init1(IN_CLOEXEC);
	int wd = fd < 0 ? -1 : inotify_add_watch(fd, arg, IN_CREATE);
	printf("slow add_watch: %s\n", wd >= 0 ? "ok" : strerrorname_np(errno));
	return NULL;
}

/* Whether thread tid is in syscall nr, blocked. */
static bool in_syscall(pid_t tid, long nr)
{
	char p[64], text[64] = "";
	snprintf(p, sizeof p, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	bool yes = fgets(text, sizeof text, f) && strtol(text, NULL, 10) == nr;
	fclose(f);
	return yes;
}

static int stuck(char *slow)
{
	pthread_t t;
	if (pthread_create(&t, NULL, stuck_body, slow))
		return 1;
	int i = 0;
	for (; i < 2000 && !(stuck_tid && in_syscall(stuck_tid,
						     SYS_inotify_add_watch));
	     i++)
		usleep(5000);
	printf("slow call waiting: %s\n", i < 2000 ? "yes" : "no");
	int fd = inotify_init1(IN_CLOEXEC);
	int wd = fd < 0 ? -1 : inotify_add_watch(fd, dir, IN_CREATE);
	printf("other calls: %s\n", wd >= 0 ? "ok" : strerrorname_np(errno));
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR MODE [ARG]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = argv[1];
	const char *mode = argv[2], *arg = argc > 3 ? argv[3] : "8";
	if (!strcmp(mode, "sarestart"))
		return sa_restart();
	if (!strcmp(mode, "signal-storm"))
		return signal_storm(atoi(arg));
	if (!strcmp(mode, "killed-reader"))
		return killed_reader();
	if (!strcmp(mode, "threads"))
		return threads(atoi(arg) > 64 ? 64 : atoi(arg));
	if (!strcmp(mode, "processes"))
		return processes(atoi(arg));
	if (!strcmp(mode, "daemon"))
		return daemon_mode(arg);
	if (!strcmp(mode, "enosys"))
		return enosys();
	if (!strcmp(mode, "limits"))
		return limits();
	if (!strcmp(mode, "stuck") && argc > 3)
		return stuck(argv[3]);
	if (!strcmp(mode, "access") && argc > 3)
		return access_mode(argv[3]);
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
