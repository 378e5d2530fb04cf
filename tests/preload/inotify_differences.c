/*
 * tests/preload/inotify_differences.c - a plain <sys/inotify.h> program
 * that shows, one line per observation, where an instance served by
 * uinotify-run differs from the kernel's (docs/run.md, "What differs from
 * Linux").  test_run_differences runs each mode plainly and under
 * uinotify-run and checks both outputs: Linux's line and ours.
 *
 *   inotify_differences DIR MODE
 *
 * MODE: kind, dup, outside, eintr, readv, fionread, limits, arch, io_uring
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

static char buf[65536] __attribute__((aligned(8)));

static const char *err(ssize_t r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

/* Records in n bytes of buf. */
static int records(ssize_t n)
{
	int count = 0;
	for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;
	     count++) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);
		off += (ssize_t)(sizeof *e + e->len);
	}
	return count;
}

static int watched(int mask)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0 || inotify_add_watch(fd, dir, (uint32_t)mask) != 1) {
		printf("setup failed: %s\n", err(-1));
		exit(1);
	}
	return fd;
}

/* 1. What the descriptor looks like from outside. */
static int kind(void)
{
	int fd = watched(IN_CREATE);
	struct stat st;
	fstat(fd, &st);
	printf("fstat FIFO: %s\n", S_ISFIFO(st.st_mode) ? "yes" : "no");
	char link[64], target[256] = "";
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	target[n > 0 ? n : 0] = 0;
	char *colon = strchr(target, ':');
	if (colon)
		*colon = 0;
	printf("/proc/self/fd: %s\n", target);
	snprintf(link, sizeof link, "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(link, "r");
	bool wd = false;
	while (f && fgets(target, sizeof target, f))
		wd |= !strncmp(target, "inotify wd:", 11);
	if (f)
		fclose(f);
	printf("fdinfo lists the watch: %s\n", wd ? "yes" : "no");
	return 0;
}

/* The lowest free descriptor number right now. */
static int lowest_free(void)
{
	int probe = fcntl(0, F_DUPFD, 0);
	close(probe);
	return probe;
}

/* 2. dup() and F_DUPFD land in the reserved range while it has room. */
static int dup_range(void)
{
	int fd = watched(IN_CREATE);
	for (int i = 1; i <= 3; i++) {
		int low = lowest_free();
		int d = dup(fd);
		printf("dup %d at the lowest free number: %s\n", i,
		       d == low ? "yes" : "no");
	}
	int low = lowest_free();
	int d = fcntl(fd, F_DUPFD, 0);
	printf("F_DUPFD at the lowest free number: %s\n",
	       d == low ? "yes" : "no");
	/* Reads through any of them keep inotify's rules. */
	mkdir(path("a"), 0755);
	mkdir(path("b"), 0755);
	/* A copy outside the range learns of them from the pipe (item 6). */
	struct pollfd p = {.fd = d, .events = POLLIN};
	poll(&p, 1, 10000);
	int avail = 0;
	ioctl(d, FIONREAD, &avail);
	ssize_t n = read(d, buf, sizeof buf);
	printf("through the copy: FIONREAD %d, read %zd, %d records\n", avail,
	       n, records(n));
	return 0;
}

/* 3. A name outside the range, given by dup2: the pipe's own reads. */
static int outside(void)
{
	int fd = watched(IN_CREATE);
	int out = dup2(fd, 500);
	printf("dup2 to 500 = %d\n", out);
	mkdir(path("a"), 0755);
	mkdir(path("b"), 0755);
	mkdir(path("c"), 0755);
	struct pollfd p = {.fd = out, .events = POLLIN};
	printf("poll = %d\n", poll(&p, 1, 10000));
	ssize_t n = read(out, buf, sizeof buf);
	printf("read with room for all: %zd bytes, %d records\n", n,
	       records(n));
	for (int seen = records(n); seen < 3 && poll(&p, 1, 10000) == 1;) {
		ssize_t more = read(out, buf, sizeof buf);
		seen += more > 0 ? records(more) : 0;
	}
	mkdir(path("dddddddd"), 0755);
	printf("poll = %d\n", poll(&p, 1, 10000));
	n = read(out, buf, 16);
	printf("read into 16 bytes = %zd %s\n", n, err(n));
	n = read(out, buf, sizeof buf);
	printf("then: %zd %s\n", n, err(n));
	return 0;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* 4. A signal without SA_RESTART: add_watch may fail with EINTR, never
 * with another error, and the watch is the same one either way. */
static int eintr(void)
{
	int fd = watched(IN_CREATE);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	int other = 0, wrong_wd = 0, n = 0;
	for (; n < 3000; n++) {
		int wd = inotify_add_watch(fd, dir,
					   n & 1 ? IN_CREATE : IN_DELETE);
		if (wd < 0 && errno != EINTR)
			other++;
		else if (wd >= 0 && wd != 1)
			wrong_wd++;
	}
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("%d calls under a signal storm: other errors %d, other wds %d, "
	       "signals %s\n",
	       n, other, wrong_wd, alarms ? "seen" : "none");
	return 0;
}

/* 5. readv on a blocking descriptor, first segment filled exactly, no
 * record for the second: Linux waits (here, for the alarm). */
static int readv_exact(void)
{
	int fd = inotify_init1(IN_CLOEXEC);
	inotify_add_watch(fd, dir, IN_CREATE);
	mkdir(path("abc"), 0755); /* 16 + 16 bytes */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	struct iovec iov[2] = {{buf, 32}, {buf + 32, 100}};
	ssize_t n = readv(fd, iov, 2);
	alarm(0);
	printf("readv = %zd, waited for the alarm: %s\n", n,
	       alarms ? "yes" : "no");
	return 0;
}

/* 6. FIONREAD is exact when the change returns; poll gets there. */
static int fionread(void)
{
	int fd = watched(IN_CREATE);
	int avail = -1;
	mkdir(path("x"), 0755);
	ioctl(fd, FIONREAD, &avail);
	printf("FIONREAD right after mkdir = %d\n", avail);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	printf("poll with a timeout = %d\n", poll(&p, 1, 10000));
	return 0;
}

/* 7. Limits count the processes of the tree. */
static int limits(void)
{
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		return 1;
	pid_t child = fork();
	if (child == 0) {
		int fd = inotify_init1(0);
		char c = fd >= 0 ? '+' : '-';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	printf("child's instance: %s\n", c == '+' ? "ok" : "failed");
	int fd = inotify_init1(0);
	printf("parent's instance = %s\n", err(fd));
	if (write(done[1], "x", 1) != 1)
		return 1;
	waitpid(child, NULL, 0);
	return 0;
}

/* 8. A call through the i386 entry point (int $0x80 from this x86_64
 * program): seccomp sees another architecture. */
static sigjmp_buf no_gate;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(no_gate, 1);
}

static int arch(void)
{
#if defined(__x86_64__)
	/* Some hypervisors close the gate: int $0x80 faults. */
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(no_gate, 1)) {
		printf("no i386 entry point: int $0x80 faults\n");
		return 0;
	}
	long fd;
	/* i386's inotify_init1 is 332. */
	__asm__ volatile("int $0x80"
			 : "=a"(fd)
			 : "a"(332L), "b"((long)IN_CLOEXEC)
			 : "memory", "r8", "r9", "r10", "r11");
	if (fd < 0) {
		printf("no i386 entry point: %s\n", strerrorname_np((int)-fd));
		return 0;
	}
	char link[64], target[256] = "";
	snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	target[n > 0 ? n : 0] = 0;
	printf("i386 inotify_init1: %s\n", target);
#else
	printf("no i386 entry point: not x86_64\n");
#endif
	return 0;
}

/* 9. io_uring reads the descriptor without a system call per read. */
static int io_uring_read(void)
{
	int fd = watched(IN_CREATE);
	mkdir(path("a"), 0755);
	mkdir(path("b"), 0755);
	int avail = 0;
	ioctl(fd, FIONREAD, &avail);
	printf("queued: %d bytes\n", avail);
	struct io_uring_params prm = {0};
	int ring = (int)syscall(SYS_io_uring_setup, 4, &prm);
	if (ring < 0) {
		printf("no io_uring: %s\n", strerrorname_np(errno));
		return 0;
	}
	size_t sq_len = prm.sq_off.array + prm.sq_entries * sizeof(unsigned);
	size_t cq_len = prm.cq_off.cqes +
			prm.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			ring, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes =
		mmap(NULL, prm.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
		     MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		printf("no io_uring: mmap %s\n", strerrorname_np(errno));
		return 0;
	}
	unsigned *tail = (unsigned *)(sq + prm.sq_off.tail);
	unsigned *array = (unsigned *)(sq + prm.sq_off.array);
	memset(&sqes[0], 0, sizeof sqes[0]);
	sqes[0].opcode = IORING_OP_READ;
	sqes[0].fd = fd;
	sqes[0].addr = (uint64_t)(uintptr_t)buf;
	sqes[0].len = sizeof buf;
	sqes[0].off = (uint64_t)-1;
	array[0] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0) {
		printf("io_uring_enter: %s\n", strerrorname_np(errno));
		return 0;
	}
	unsigned head = __atomic_load_n((unsigned *)(cq + prm.cq_off.head),
					__ATOMIC_ACQUIRE);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + prm.cq_off.cqes);
	int res = cqes[head & *(unsigned *)(cq + prm.cq_off.ring_mask)].res;
	printf("io_uring read of two records: %d bytes, %d records\n", res,
	       res > 0 ? records(res) : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: inotify_differences DIR MODE\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{"kind", kind},       {"dup", dup_range},
		{"outside", outside}, {"eintr", eintr},
		{"readv", readv_exact}, {"fionread", fionread},
		{"limits", limits},   {"arch", arch},
		{"io_uring", io_uring_read},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(argv[2], modes[i].name))
			return modes[i].fn();
	fprintf(stderr, "unknown mode %s\n", argv[2]);
	return 2;
}
