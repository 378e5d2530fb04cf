/*
 * tests/preload/inotify_efault.c - a plain <sys/inotify.h> program that
 * reads into memory the kernel cannot write: read(), syscall(SYS_read),
 * readv() (bad iovec arrays, bad segments), FIONREAD, and a blocking read
 * woken into a bad buffer.  Each case runs in a child of its own (a crash
 * is a line, "killed by SIGSEGV", not the end of the run) with a fresh
 * instance and prints what it got, the FIONREAD before and after, and the
 * names left queued.  test_preload_efault runs it plainly and under
 * LD_PRELOAD and wants the same lines.
 *
 *   inotify_efault DIR [SECTION...]     sections: read readv ioctl wait
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/* A pointer the compiler cannot see through (no -Wstringop-overflow). */
static void *opaque(uintptr_t a)
{
	__asm__ volatile("" : "+r"(a));
	return (void *)a;
}

static size_t ps;

/* A page that was mapped and is not any more, between two that are. */
static uintptr_t fresh_hole(void)
{
	char *p = mmap(NULL, 3 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED || munmap(p + ps, ps) != 0) {
		perror("mmap");
		exit(1);
	}
	return (uintptr_t)p + ps;
}

/* a, or for GONE_PAGE (defined below) a fresh hole. */
static uintptr_t resolve(uintptr_t a);

/* Page 0 read-write, 1 PROT_NONE, 2 PROT_READ. */
static char *pages;
#define RW_END ((uintptr_t)pages + ps)
#define NONE_PAGE ((uintptr_t)pages + ps)
#define RO_PAGE ((uintptr_t)pages + 2 * ps)
/* Stands for a page unmapped just before the call (fresh_hole): one
 * unmapped at the start would be mapped again by then (a preloaded
 * sanitizer runtime maps single pages in each child). */
#define GONE_PAGE ((uintptr_t)-4096 * 2)
#define KERNEL_ADDR ((uintptr_t)0xffff888000000000)
#define PAGE (SIZE_MAX - 1) /* in a case: a count of one page */

static uintptr_t resolve(uintptr_t a)
{
	return a == GONE_PAGE ? fresh_hole() : a;
}

static int seq; /* names: one letter pair per case, then a digit */

/* " EFAULT" after a failed call's -1, nothing after a count. */
static const char *err_name(long r, int e)
{
	static char b[64];
	snprintf(b, sizeof b, "%s%s", r < 0 ? " " : "",
		 r < 0 ? strerrorname_np(e) : "");
	return b;
}

/* Up to 5 s for want bytes queued (the event source may be a thread). */
static int fionread(int fd, int want)
{
	int n = -1;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ioctl(fd, FIONREAD, &n) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (n >= want || t.tv_sec - t0.tv_sec > 5)
			return n;
		sched_yield();
	}
}

/* An instance watching dir with n events queued (32-byte records). */
static int queued(int n, int flags)
{
	int fd = inotify_init1(flags | IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE) != 1) {
		perror("inotify");
		exit(1);
	}
	char name[16];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%c%c%d", 'a' + seq / 26 % 26,
			 'a' + seq % 26, i);
		int f = open(path(name), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (f < 0) {
			perror(name);
			exit(1);
		}
		close(f);
	}
	fionread(fd, n * 32);
	return fd;
}

/* "; FIONREAD -> N; left: NAMES", and the fd closed. */
static void left(int fd)
{
	int n = fionread(fd, 0);
	static char b[65536];
	char names[1024] = "";
	size_t len = 0;
	ssize_t r = n > 0 ? read(fd, b, sizeof b) : 0;
	for (ssize_t off = 0; off < r;) {
		struct inotify_event *e = (struct inotify_event *)(b + off);
		len += (size_t)snprintf(names + len, sizeof names - len,
					" %s", e->name);
		off += (ssize_t)sizeof *e + e->len;
	}
	printf("; FIONREAD after %d; left:%s\n", n, names);
	close(fd);
}

/* One case in a child: fn prints its line; a crash is said. */
static void one(const char *name, void (*fn)(const void *), const void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		printf("%s: ", name);
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		printf("\n%s: killed by %s\n", name, sigabbrev_np(WTERMSIG(st)));
	else if (WEXITSTATUS(st))
		printf("\n%s: exit %d\n", name, WEXITSTATUS(st));
	seq++;
}

/* read ------------------------------------------------------------------ */

/* Where a buffer is; RW_END_LESS: off bytes before the end of page 0. */
enum where { ONE, NUL, NONE, RO, GONE, RW_END_LESS, KERNEL, PAGES, WRAP };

static uintptr_t at(enum where w, size_t off)
{
	switch (w) {
	case ONE: return 1;
	case NUL: return 0;
	case NONE: return NONE_PAGE;
	case RO: return RO_PAGE;
	case GONE: return GONE_PAGE;
	case RW_END_LESS: return RW_END - off;
	case KERNEL: return KERNEL_ADDR;
	case PAGES: return (uintptr_t)pages;
	case WRAP: return UINTPTR_MAX - 100;
	}
	return 0;
}

struct rd {
	int queued;
	uintptr_t buf;
	size_t count;
	size_t good; /* bytes at buf to print (the good part) */
	bool sys;    /* syscall(SYS_read) */
};

static void do_read(const void *arg)
{
	const struct rd *c = arg;
	int fd = queued(c->queued, IN_NONBLOCK);
	if (c->good)
		memset(opaque(c->buf), 0x55, c->good);
	int before = fionread(fd, 0);
	uintptr_t buf = resolve(c->buf);
	errno = 0;
	long r = c->sys ? syscall(SYS_read, fd, opaque(buf), c->count)
			: (long)read(fd, opaque(buf), c->count);
	int e = errno;
	printf("read = %ld%s; FIONREAD before %d", r, err_name(r, e), before);
	if (c->good) {
		printf("; bytes");
		for (size_t i = 0; i < c->good && i < 48; i++)
			printf(" %02x", ((unsigned char *)opaque(c->buf))[i]);
	}
	left(fd);
}

static void section_read(void)
{
	printf("== read\n");
	static const struct {
		const char *name;
		int queued;
		enum where where;
		size_t off, count, good;
		bool sys;
	} cases[] = {
		{"(void *)1", 3, ONE, 0, 4096, 0, false},
		{"NULL", 3, NUL, 0, 4096, 0, false},
		{"PROT_NONE page", 3, NONE, 0, PAGE, 0, false},
		{"read-only page", 3, RO, 0, PAGE, 0, false},
		{"unmapped page", 3, GONE, 0, PAGE, 0, false},
		{"1st record across the bad page", 3, RW_END_LESS, 8, 4096, 8,
		 false},
		{"2nd record at the bad page", 3, RW_END_LESS, 32, 4096, 32,
		 false},
		{"2nd record's name in the bad page", 3, RW_END_LESS, 48, 4096,
		 48, false},
		{"2nd record's header across", 3, RW_END_LESS, 40, 4096, 40,
		 false},
		{"3rd record at the bad page", 4, RW_END_LESS, 64, 4096, 64,
		 false},
		{"count keeps to the good part", 3, RW_END_LESS, 64, 64, 64,
		 false},
		{"kernel address", 3, KERNEL, 0, 4096, 0, false},
		{"count SIZE_MAX", 3, PAGES, 0, SIZE_MAX, 0, false},
		{"count 1 << 47", 3, PAGES, 0, (size_t)1 << 47, 0, false},
		{"count 0, (void *)1", 3, ONE, 0, 0, 0, false},
		{"empty, (void *)1", 0, ONE, 0, 4096, 0, false},
		{"empty, kernel address", 0, KERNEL, 0, 4096, 0, false},
		{"empty, wraps", 0, WRAP, 0, 4096, 0, false},
		{"syscall(SYS_read), read-only page", 3, RO, 0, PAGE, 0, true},
		{"syscall(SYS_read), 2nd record's header across", 3,
		 RW_END_LESS, 40, 4096, 40, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rd c = {cases[i].queued, at(cases[i].where, cases[i].off),
			       cases[i].count, cases[i].good, cases[i].sys};
		if (c.count == PAGE)
			c.count = ps;
		one(cases[i].name, do_read, &c);
	}
	/* The top of user memory (x86_64, 4-level paging): a range ending
	 * at 0x7ffffffff000 passes access_ok and faults, one byte more
	 * does not.  The page below is made ours, PROT_NONE, first. */
#if defined(__x86_64__)
	uintptr_t top = (uintptr_t)0x7ffffffff000;
	void *last = mmap(opaque(top - 4096), 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			  -1, 0);
	if (last == opaque(top - 4096)) {
		struct rd a = {3, top - 4096, 4096, 0, false};
		one("range ends at the top", do_read, &a);
		struct rd b = {3, top - 4096, 4097, 0, false};
		one("range ends past the top", do_read, &b);
		munmap(last, 4096);
	} else {
		if (last != MAP_FAILED)
			munmap(last, 4096);
		printf("(the page below the top is taken: not tried)\n");
	}
#endif
}

/* readv ----------------------------------------------------------------- */

struct rv {
	int queued;
	const struct iovec *iov; /* NULL: iov_at */
	uintptr_t iov_at;
	int cnt;
	bool sys;
};

static void do_readv(const void *arg)
{
	const struct rv *c = arg;
	int fd = queued(c->queued, IN_NONBLOCK);
	int before = fionread(fd, 0);
	const struct iovec *iov = c->iov ? c->iov : opaque(resolve(c->iov_at));
	errno = 0;
	long r = c->sys ? syscall(SYS_readv, fd, iov, c->cnt)
			: (long)readv(fd, iov, c->cnt);
	int e = errno;
	printf("readv = %ld%s; FIONREAD before %d", r, err_name(r, e), before);
	left(fd);
}

static void section_readv(void)
{
	printf("== readv\n");
	static char b[64], b2[64];
	struct iovec seg0_bad[2] = {{opaque(1), 64}, {b, 64}};
	struct iovec seg1_ro[2] = {{b, 32}, {opaque(RO_PAGE), 64}};
	struct iovec seg1_kernel[2] = {{b, 32}, {opaque(KERNEL_ADDR), 64}};
	struct iovec seg1_across[2] = {{b, 32}, {opaque(RW_END - 40), 64}};
	struct iovec third_bad[3] = {{b, 32}, {b2, 32}, {opaque(1), 64}};
	struct iovec neg_len[2] = {{opaque(KERNEL_ADDR), 64},
				   {b, (size_t)SSIZE_MAX + 1}};
	struct iovec zero_len[2] = {{opaque(1), 0}, {opaque(KERNEL_ADDR), 0}};
	static struct iovec many[20];
	for (int i = 0; i < 20; i++)
		many[i] = (struct iovec){b, 32};
	many[18].iov_base = opaque(RO_PAGE);
	struct iovec at_end[1] = {{b, 32}};
	/* The iovec array itself: its second entry on the PROT_NONE page. */
	struct iovec *split = (struct iovec *)(RW_END - sizeof *split);
	split[0] = (struct iovec){b, 32};
	static const struct iovec rodata[1] = {{b2, sizeof b2}};
	struct {
		const char *name;
		struct rv c;
	} cases[] = {
		{"iovec array unmapped", {3, NULL, GONE_PAGE, 1, false}},
		{"iovec array NULL", {3, NULL, 0, 1, false}},
		{"iovec array (void *)1", {3, NULL, 1, 1, false}},
		{"iovec array across into PROT_NONE",
		 {3, NULL, (uintptr_t)split, 2, false}},
		{"iovec array read-only (fine)", {3, rodata, 0, 1, false}},
		{"segment 0 bad", {3, seg0_bad, 0, 2, false}},
		{"segment 0 full, segment 1 read-only", {3, seg1_ro, 0, 2, false}},
		{"segment 1 kernel address", {3, seg1_kernel, 0, 2, false}},
		{"segment 1's 2nd record across",
		 {3, seg1_across, 0, 2, false}},
		{"2 full, 3rd bad, 3 queued", {3, third_bad, 0, 3, false}},
		{"2 full, 3rd bad, 2 queued", {2, third_bad, 0, 3, false}},
		{"negative length after a kernel address",
		 {3, neg_len, 0, 2, false}},
		{"zero lengths, bad bases", {3, zero_len, 0, 2, false}},
		{"20 segments, the 19th read-only", {20, many, 0, 20, false}},
		{"iovcnt 0, bad array", {3, NULL, 1, 0, false}},
		{"iovcnt -1", {3, at_end, 0, -1, false}},
		{"iovcnt IOV_MAX + 1", {3, at_end, 0, IOV_MAX + 1, false}},
		{"syscall(SYS_readv), array unmapped",
		 {3, NULL, GONE_PAGE, 1, true}},
		{"syscall(SYS_readv), segment 1 read-only",
		 {3, seg1_ro, 0, 2, true}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		one(cases[i].name, do_readv, &cases[i].c);
}

/* ioctl ----------------------------------------------------------------- */

struct io {
	uintptr_t arg;
	bool sys;
};

static void do_fionread(const void *arg)
{
	const struct io *c = arg;
	int fd = queued(2, IN_NONBLOCK);
	uintptr_t p = resolve(c->arg);
	errno = 0;
	long r = c->sys ? syscall(SYS_ioctl, fd, FIONREAD, opaque(p))
			: (long)ioctl(fd, FIONREAD, opaque(p));
	int e = errno;
	printf("ioctl = %ld%s", r, err_name(r, e));
	if (r == 0) {
		int v;
		memcpy(&v, opaque(c->arg), sizeof v);
		printf(" (%d)", v);
	}
	left(fd);
}

static void section_ioctl(void)
{
	printf("== ioctl\n");
	struct {
		const char *name;
		struct io c;
	} cases[] = {
		{"FIONREAD into (void *)1", {1, false}},
		{"FIONREAD into NULL", {0, false}},
		{"FIONREAD into a read-only page", {RO_PAGE, false}},
		{"FIONREAD into PROT_NONE", {NONE_PAGE, false}},
		{"FIONREAD into an unmapped page", {GONE_PAGE, false}},
		{"FIONREAD across into PROT_NONE", {RW_END - 2, false}},
		{"FIONREAD unaligned, good", {RW_END - 5, false}},
		{"syscall(SYS_ioctl) FIONREAD read-only", {RO_PAGE, true}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		one(cases[i].name, do_fionread, &cases[i].c);
}

/* A blocking read woken into a bad buffer ----------------------------------- */

struct wt {
	uintptr_t buf;
	size_t count;
	int queue; /* events made once the reader waits */
};

static int waiter_fd;
static pid_t waiter_tid;
static int waiter_queue;

/* Until the reader sleeps in read(waiter_fd): /proc, not a delay. */
static void *waker(void *arg)
{
	(void)arg;
	char p[96];
	snprintf(p, sizeof p, "/proc/self/task/%d/syscall", (int)waiter_tid);
	for (;;) {
		FILE *f = fopen(p, "r");
		long nr = -1;
		unsigned long a0 = ~0ul;
		if (f) {
			if (fscanf(f, "%ld 0x%lx", &nr, &a0) != 2)
				nr = -1;
			fclose(f);
		}
		if (nr == SYS_read && a0 == (unsigned long)waiter_fd)
			break;
		sched_yield();
	}
	char name[16];
	for (int i = 0; i < waiter_queue; i++) {
		snprintf(name, sizeof name, "%c%cw%d", 'a' + seq / 26 % 26,
			 'a' + seq % 26, i);
		int f = open(path(name), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (f >= 0)
			close(f);
	}
	return NULL;
}

static void do_wait(const void *arg)
{
	const struct wt *c = arg;
	int fd = queued(0, 0);
	waiter_fd = fd;
	waiter_tid = (pid_t)syscall(SYS_gettid);
	waiter_queue = c->queue;
	pthread_t t;
	pthread_create(&t, NULL, waker, NULL);
	errno = 0;
	long r = read(fd, opaque(c->buf), c->count);
	int e = errno;
	pthread_join(t, NULL);
	printf("read = %ld%s", r, err_name(r, e));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	left(fd);
}

static void section_wait(void)
{
	printf("== wait\n");
	struct {
		const char *name;
		struct wt c;
	} cases[] = {
		{"woken into (void *)1", {1, 4096, 1}},
		{"woken into (void *)1, count 64", {1, 64, 1}},
		{"woken into a read-only page", {RO_PAGE, 4096, 1}},
		{"woken, 1st record across", {RW_END - 8, 4096, 1}},
		{"woken into the good part", {RW_END - 64, 64, 1}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		one(cases[i].name, do_wait, &cases[i].c);
}

static const struct {
	const char *name;
	void (*fn)(void);
} sections[] = {
	{"read", section_read},
	{"readv", section_readv},
	{"ioctl", section_ioctl},
	{"wait", section_wait},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s EMPTY_DIR [SECTION...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = argv[1];
	ps = (size_t)sysconf(_SC_PAGESIZE);
	pages = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mprotect(pages + ps, ps, PROT_NONE);
	mprotect(pages + 2 * ps, ps, PROT_READ);
	for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		int run = argc == 2;
		for (int a = 2; a < argc; a++)
			run |= !strcmp(argv[a], sections[i].name);
		if (run)
			sections[i].fn();
	}
	printf("== end\n");
	return 0;
}
