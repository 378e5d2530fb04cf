/*
 * tests/test_instance_efault.c - a buffer the kernel cannot write: EFAULT,
 * never a crash, and the records consumed as Linux consumes them, checked
 * against the kernel's inotify in the same test.  Linux (6.x, measured):
 *
 *   - read() dequeues one event, copies it, goes on while the next fits;
 *     a copy that faults ends the read with -1 EFAULT, even after whole
 *     records were copied.  Those and the one that faulted are lost, the
 *     ones after it stay queued; the bytes before the fault are written.
 *   - a range that wraps or passes the top of user memory (access_ok) is
 *     EFAULT before anything is dequeued, even on an empty queue.
 *   - FIONREAD into memory it cannot write: EFAULT.
 *
 * Every test runs in a child of the runner: a crash fails it.
 */
#include "test_instance_util.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

/* A pointer the compiler cannot see through (no -Wstringop-overflow). */
static void *opaque(uintptr_t a)
{
	__asm__ volatile("" : "+r"(a));
	return (void *)a;
}

static size_t ps(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Pages: 0 read-write, 1 PROT_NONE, 2 PROT_READ, 3 unmapped, 4 PROT_NONE:
 * a one-page hole, which the larger mappings of malloc or a sanitizer's
 * runtime made meanwhile do not fill.
 */
struct pages {
	char *base;
};

static void pages_map(struct pages *m)
{
	m->base = mmap(NULL, 5 * ps(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m->base != MAP_FAILED);
	CHECK_OK(mprotect(m->base + ps(), ps(), PROT_NONE));
	CHECK_OK(mprotect(m->base + 2 * ps(), ps(), PROT_READ));
	CHECK_OK(munmap(m->base + 3 * ps(), ps()));
	CHECK_OK(mprotect(m->base + 4 * ps(), ps(), PROT_NONE));
}

static void pages_unmap(struct pages *m)
{
	CHECK_OK(munmap(m->base, 3 * ps()));
	CHECK_OK(munmap(m->base + 4 * ps(), ps()));
}

/* The end of the read-write page: a buffer at end - n has n good bytes. */
static uintptr_t rw_end(const struct pages *m)
{
	return (uintptr_t)m->base + ps();
}

/*
 * A kernel inotify fd and an instance, each with wd 1 on the same
 * directory for IN_CREATE: created files give the kernel's records, the
 * hooks the same records to the instance (names f00, f01...: 32 bytes).
 */
struct pair {
	int kfd, fd;
	struct uinotify_inode *din;
	char dir[16]; /* relative to the test's directory */
	int seq;
};

static void pair_open(struct pair *p, int flags)
{
	static int pairs;
	memset(p, 0, sizeof *p);
	snprintf(p->dir, sizeof p->dir, "d%d", pairs++);
	const char *dir = make_dir(p->dir);
	p->kfd = (int)CHECK_OK(inotify_init1(flags | IN_CLOEXEC));
	CHECK_EQ(CHECK_OK(inotify_add_watch(p->kfd, dir, IN_CREATE)), 1);
	p->fd = inst_new(flags | IN_CLOEXEC);
	CHECK_EQ(CHECK_OK(uinotify_add_watch(p->fd, dir, IN_CREATE)), 1);
	p->din = none_inode(dir);
}

static void pair_close(struct pair *p)
{
	uinotify_inode_put(p->din);
	CHECK_OK(uinotify_close(p->fd));
	close(p->kfd);
}

static void pair_queue(struct pair *p, int n)
{
	char rel[64], name[16];
	for (int i = 0; i < n; i++, p->seq++) {
		snprintf(name, sizeof name, "f%02d", p->seq);
		snprintf(rel, sizeof rel, "%s/%s", p->dir, name);
		make_file(rel);
		uinotify_hook_dirent(p->din, name, NULL, IN_CREATE, 0);
	}
}

static int kfionread(int kfd)
{
	int n = -1;
	CHECK_OK(ioctl(kfd, FIONREAD, &n));
	return n;
}

/* The names in n bytes of records. */
static void names_of(const char *b, ssize_t n, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	for (ssize_t off = 0; off < n;) {
		const struct inotify_event *ev =
			(const struct inotify_event *)(b + off);
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					len ? " " : "", ev->name);
		off += (ssize_t)sizeof *ev + ev->len;
	}
}

/* Both sides drained (non-blocking fds): the same names, which are left. */
static void expect_left(struct pair *p, const char *left)
{
	char b[4096], kn[512], un[512];
	ssize_t n = read(p->kfd, b, sizeof b);
	names_of(b, n > 0 ? n : 0, kn, sizeof kn);
	n = uinotify_read(p->fd, b, sizeof b);
	names_of(b, n > 0 ? n : 0, un, sizeof un);
	CHECK_STR(kn, left);
	CHECK_STR(un, left);
	expect_empty(p->fd);
}

/*
 * read(buf, count) on both sides: want (a count, or -1 with err), the
 * same FIONREAD after, and the same bytes in the good part of the buffer,
 * [buf, buf + good) (filled with 0x55 before each read).
 */
static void same_read(struct pair *p, uintptr_t buf, size_t count,
		      size_t good, ssize_t want, int err)
{
	static char kbytes[1 << 20];
	CHECK(good <= sizeof kbytes);
	if (good)
		memset(opaque(buf), 0x55, good);
	errno = 0;
	ssize_t kr = read(p->kfd, opaque(buf), count);
	int ke = errno;
	if (good) {
		memcpy(kbytes, opaque(buf), good);
		memset(opaque(buf), 0x55, good);
	}
	errno = 0;
	ssize_t ur = uinotify_read(p->fd, opaque(buf), count);
	int ue = errno;
	CHECK_EQ(kr, want);
	CHECK_EQ(ur, want);
	if (want < 0) {
		CHECK_EQ(ke, err);
		CHECK_EQ(ue, err);
	}
	CHECK_EQ(fionread(p->fd), kfionread(p->kfd));
	if (good)
		CHECK(memcmp(kbytes, opaque(buf), good) == 0);
	expect_tokens_match(p->fd);
}

/* 3 queued; the first record faults: EFAULT, it is lost, 2 stay. */
static void first_record_faults(uintptr_t buf, size_t count, size_t good,
				bool plain)
{
	if (plain)
		uin_instance_debug_plain_pipe(true);
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	pair_queue(&p, 3);
	same_read(&p, buf, count, good, -1, EFAULT);
	CHECK_EQ(fionread(p.fd), 64);
	expect_left(&p, "f01 f02");
	pair_close(&p);
}

TEST(bad_pointer_loses_the_first_record)
{
	struct pages m;
	pages_map(&m);
	first_record_faults(1, 4096, 0, false);
	first_record_faults(0, 4096, 0, false); /* NULL */
	first_record_faults((uintptr_t)m.base + ps(), ps(), 0, false);
	first_record_faults((uintptr_t)m.base + 2 * ps(), ps(), 0, false);
	first_record_faults((uintptr_t)m.base + 3 * ps(), ps(), 0, false);
	/* A first record that straddles into the bad page: its first 8
	 * bytes are written. */
	first_record_faults(rw_end(&m) - 8, 4096, 8, false);
	pages_unmap(&m);
}

TEST(bad_pointer_loses_the_first_record_plain_pipe)
{
	struct pages m;
	pages_map(&m);
	first_record_faults(1, 4096, 0, true);
	first_record_faults((uintptr_t)m.base + 2 * ps(), ps(), 0, true);
	first_record_faults(rw_end(&m) - 8, 4096, 8, true);
	pages_unmap(&m);
}

/*
 * queued records, the buffer's good part ends good bytes in: EFAULT, the
 * records up to the one that faults lost, the bytes before it written.
 */
static void fault_after(const struct pages *m, int queued, size_t good,
			const char *left, bool plain)
{
	if (plain)
		uin_instance_debug_plain_pipe(true);
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	pair_queue(&p, queued);
	same_read(&p, rw_end(m) - good, 4096, good, -1, EFAULT);
	expect_left(&p, left);
	pair_close(&p);
}

TEST(fault_after_whole_records_is_efault_and_loses_them)
{
	struct pages m;
	pages_map(&m);
	fault_after(&m, 3, 32, "f02", false); /* 2nd at the bad page */
	fault_after(&m, 3, 48, "f02", false); /* 2nd's name in it */
	fault_after(&m, 3, 40, "f02", false); /* 2nd's header across */
	fault_after(&m, 4, 64, "f03", false); /* the 3rd */
	fault_after(&m, 4, 64, "f03", true);
	fault_after(&m, 3, 40, "f02", true);
	/* A count that keeps the read in the good part: no fault. */
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	pair_queue(&p, 3);
	same_read(&p, rw_end(&m) - 64, 64, 64, 64, 0);
	expect_left(&p, "f02");
	pair_close(&p);
	pages_unmap(&m);
}

/*
 * A read over many pages (records crossing page boundaries: the buffer
 * starts 16 bytes into one), good_pages of them read-write then, with
 * bad, a PROT_NONE page: the records up to the one across it lost, the
 * 10 after it kept.  More than 64 pages take more than one round of
 * token reads (queue.c, PROOF_IOV).
 */
static void many_pages(size_t good_pages, bool bad)
{
	size_t len = (good_pages + 1) * ps();
	char *big = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED);
	if (bad)
		CHECK_OK(mprotect(big + good_pages * ps(), ps(), PROT_NONE));
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	uintptr_t buf = (uintptr_t)big + 16;
	size_t good = good_pages * ps() - 16;
	int n = (int)(good / 32) + 11;
	pair_queue(&p, n);
	if (bad) {
		/* The record across the bad page is number good / 32. */
		int lost = (int)(good / 32) + 1;
		same_read(&p, buf, (size_t)n * 32, good, -1, EFAULT);
		CHECK_EQ(fionread(p.fd), (n - lost) * 32);
		CHECK_EQ(n - lost, 10);
		expect_tokens_match(p.fd);
		char b[4096];
		CHECK_EQ(read(p.kfd, b, sizeof b), 320);
		CHECK_EQ(uinotify_read(p.fd, b, sizeof b), 320);
	} else {
		/* All of them but the last, which is one byte short. */
		same_read(&p, buf, (size_t)n * 32 - 1, good,
			  (ssize_t)(n - 1) * 32, 0);
		char b[64];
		CHECK_EQ(read(p.kfd, b, sizeof b), 32);
		CHECK_EQ(uinotify_read(p.fd, b, sizeof b), 32);
	}
	expect_empty(p.fd);
	pair_close(&p);
	CHECK_OK(munmap(big, len));
}

TEST(many_pages_read_whole_or_up_to_the_fault)
{
	many_pages(5, false);
	many_pages(5, true);
	many_pages(70, false);
	many_pages(70, true);
}

/* access_ok: nothing dequeued, and EFAULT even when empty. */
TEST(range_past_the_top_of_user_memory_dequeues_nothing)
{
	struct pages m;
	pages_map(&m);
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	pair_queue(&p, 3);
	/* Wraps: on any architecture. */
	same_read(&p, (uintptr_t)m.base, SIZE_MAX, 0, -1, EFAULT);
	same_read(&p, UINTPTR_MAX - 100, 4096, 0, -1, EFAULT);
	CHECK_EQ(fionread(p.fd), 96);
#if defined(__x86_64__)
	/* With 4-level paging the top is 0x7ffffffff000 (with 5-level, far
	 * above: then the kernel dequeues, and so must we; same_read
	 * compares). */
	uintptr_t top = (uintptr_t)0x7ffffffff000;
	/* The last page below it made ours, PROT_NONE (without ASLR the
	 * stack may end there: then skip what reads into it). */
#if defined(__SANITIZE_THREAD__)
	/* TSan's shadow forbids a mapping there: it dies on the mmap. */
	void *last = MAP_FAILED;
#else
	void *last = mmap(opaque(top - 4096), 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			  -1, 0);
#endif
	if (last == opaque(top - 4096)) {
		same_read(&p, top - 4096, 4097, 0, -1, EFAULT);
		same_read(&p, top - 4096, 4096, 0, -1, EFAULT);
		CHECK_OK(munmap(last, 4096));
	} else {
		if (last != MAP_FAILED)
			munmap(last, 4096);
		/* As the kernel would have: f00 lost. */
		char b[64];
		CHECK_EQ(read(p.kfd, b, 32), 32);
		CHECK_EQ(uinotify_read(p.fd, b, 32), 32);
	}
	same_read(&p, (uintptr_t)m.base, (size_t)1 << 47, 0, -1, EFAULT);
	same_read(&p, (uintptr_t)0xffff888000000000, 4096, 0, -1, EFAULT);
#endif
	char b[4096], kn[512], un[512];
	ssize_t n = read(p.kfd, b, sizeof b);
	names_of(b, n > 0 ? n : 0, kn, sizeof kn);
	n = uinotify_read(p.fd, b, sizeof b);
	names_of(b, n > 0 ? n : 0, un, sizeof un);
	CHECK_STR(un, kn);
	/* Empty: access_ok comes before EAGAIN, a fault only after it. */
	expect_empty(p.fd);
	same_read(&p, UINTPTR_MAX - 100, 4096, 0, -1, EFAULT);
	same_read(&p, 1, 4096, 0, -1, EAGAIN);
	/* Count 0 fails access_ok for nothing: EAGAIN, and with a record
	 * queued, EINVAL (it does not fit). */
	same_read(&p, 1, 0, 0, -1, EAGAIN);
	pair_queue(&p, 1);
	same_read(&p, 1, 0, 0, -1, EINVAL);
	expect_left(&p, "f03");
	pair_close(&p);
	pages_unmap(&m);
}

/* A blocking reader with a bad buffer, woken by one record. */
struct waiter {
	int fd;
	bool kernel;
	uintptr_t buf;
	size_t count;
	pid_t tid;
	pthread_barrier_t started;
	pthread_t thread;
	ssize_t ret;
	int err;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	w->tid = test_gettid();
	pthread_barrier_wait(&w->started);
	errno = 0;
	w->ret = w->kernel ? read(w->fd, opaque(w->buf), w->count)
			   : uinotify_read(w->fd, opaque(w->buf), w->count);
	w->err = errno;
	return NULL;
}

static void waiter_start(struct waiter *w, int fd, bool kernel,
			 uintptr_t buf, size_t count)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->kernel = kernel;
	w->buf = buf;
	w->count = count;
	pthread_barrier_init(&w->started, NULL, 2);
	CHECK_EQ(pthread_create(&w->thread, NULL, waiter_main, w), 0);
	pthread_barrier_wait(&w->started);
	wait_blocked_in_read(w->tid, fd);
}

static void waiter_join(struct waiter *w)
{
	CHECK_EQ(pthread_join(w->thread, NULL), 0);
	pthread_barrier_destroy(&w->started);
}

static void woken_with_bad_buffer(uintptr_t buf, size_t count, int queued)
{
	struct pair p;
	pair_open(&p, 0);
	struct waiter kw, uw;
	waiter_start(&kw, p.kfd, true, buf, count);
	waiter_start(&uw, p.fd, false, buf, count);
	pair_queue(&p, queued);
	waiter_join(&kw);
	waiter_join(&uw);
	CHECK_EQ(kw.ret, -1);
	CHECK_EQ(kw.err, EFAULT);
	CHECK_EQ(uw.ret, -1);
	CHECK_EQ(uw.err, EFAULT);
	CHECK_EQ(fionread(p.fd), kfionread(p.kfd));
	CHECK_EQ(fionread(p.fd), (queued - 1) * 32);
	expect_tokens_match(p.fd);
	pair_close(&p);
}

TEST(blocking_read_woken_into_a_bad_buffer)
{
	if (UIN_TSAN)
		SKIP("TSan: wait_blocked_in_read sees its interceptors");
	struct pages m;
	pages_map(&m);
	woken_with_bad_buffer(1, 4096, 1);
	woken_with_bad_buffer(1, 64, 1);
	woken_with_bad_buffer((uintptr_t)m.base + 2 * ps(), ps(), 1);
	woken_with_bad_buffer((uintptr_t)m.base + 2 * ps(), 64, 1);
	/* A first record across the end of the good page. */
	woken_with_bad_buffer(rw_end(&m) - 8, 4096, 1);
	pages_unmap(&m);
}

/* A woken reader's record into good memory, across a page boundary. */
TEST(blocking_read_woken_into_a_good_buffer_across_pages)
{
	if (UIN_TSAN)
		SKIP("TSan: wait_blocked_in_read sees its interceptors");
	char *two = mmap(NULL, 2 * ps(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(two != MAP_FAILED);
	static const size_t offs[] = {8, 16, 20, 28};
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		const char *dir = make_dir(i ? (i == 1 ? "g1" : i == 2 ? "g2"
								      : "g3")
					     : "g0");
		int fd = inst_new(0);
		CHECK_EQ(CHECK_OK(uinotify_add_watch(fd, dir, IN_CREATE)), 1);
		struct uinotify_inode *din = none_inode(dir);
		struct waiter w;
		uintptr_t buf = (uintptr_t)two + ps() - offs[i];
		waiter_start(&w, fd, false, buf, 4096);
		uinotify_hook_dirent(din, "x", NULL, IN_CREATE, 0);
		waiter_join(&w);
		CHECK_EQ(w.ret, 32);
		size_t off = 0;
		EXPECT_REC((char *)buf, &off, 1, IN_CREATE, 0, "x");
		expect_tokens_match(fd);
		uinotify_inode_put(din);
		CHECK_OK(uinotify_close(fd));
	}
	CHECK_OK(munmap(two, 2 * ps()));
}

/*
 * The common reads prove their buffer with the token bytes they read
 * anyway: with getrandom(2) made fatal, a non-blocking read (one record,
 * or 64 KiB over 17 pages) and a blocking read woken by its lone record
 * (the wake-up byte lands in the buffer) still work.
 */
TEST(good_buffers_cost_no_extra_syscall)
{
	if (UIN_TSAN)
		SKIP("TSan: wait_blocked_in_read sees its interceptors");
	const char *dir = make_dir("d");
	int fd = inst_new(IN_NONBLOCK);
	int bfd = inst_new(0);
	CHECK_EQ(CHECK_OK(uinotify_add_watch(fd, dir, IN_CREATE)), 1);
	struct uinotify_inode *din = none_inode(dir);
	const char *bdir = make_dir("b");
	CHECK_EQ(CHECK_OK(uinotify_add_watch(bfd, bdir, IN_CREATE)), 1);
	struct uinotify_inode *bin = none_inode(bdir);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHECK_OK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));

	static char big[65536 + 64];
	char *b = big + 16; /* across 17 pages, not page-aligned */
	char name[32];
	uinotify_hook_dirent(din, "one", NULL, IN_CREATE, 0);
	CHECK_EQ(uinotify_read(fd, b, 4096), 32);
	for (int i = 0; i < 2048; i++) {
		snprintf(name, sizeof name, "n%d", i);
		uinotify_hook_dirent(din, name, NULL, IN_CREATE, 0);
	}
	CHECK_EQ(uinotify_read(fd, b, 65536), 65536);
	size_t off = 65536 - 32;
	EXPECT_REC(b, &off, 1, IN_CREATE, 0, "n2047");
	for (int i = 0; i < 3; i++) {
		struct waiter w;
		waiter_start(&w, bfd, false, (uintptr_t)b, 4096);
		snprintf(name, sizeof name, "w%d", i);
		uinotify_hook_dirent(bin, name, NULL, IN_CREATE, 0);
		waiter_join(&w);
		CHECK_EQ(w.ret, 32);
		off = 0;
		EXPECT_REC(b, &off, 1, IN_CREATE, 0, name);
	}
	/* (Not FIONREAD: its int is checked with getrandom.) */
	expect_tokens_match(bfd);
	expect_tokens_match(fd);
	CHECK_ERRNO(uinotify_read(fd, b, 4096), EAGAIN);
	uinotify_inode_put(din);
	uinotify_inode_put(bin);
	CHECK_OK(uinotify_close(fd));
	CHECK_OK(uinotify_close(bfd));
}

TEST(fionread_into_a_bad_pointer_is_efault)
{
	struct pages m;
	pages_map(&m);
	struct pair p;
	pair_open(&p, IN_NONBLOCK);
	pair_queue(&p, 2);
	uintptr_t bad[] = {1, (uintptr_t)m.base + ps(),
			   (uintptr_t)m.base + 2 * ps(),
			   (uintptr_t)m.base + 3 * ps(), rw_end(&m) - 2};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_ERRNO(ioctl(p.kfd, FIONREAD, opaque(bad[i])), EFAULT);
		CHECK_ERRNO(uinotify_ioctl(p.fd, FIONREAD, opaque(bad[i])),
			    EFAULT);
	}
	CHECK_ERRNO(uinotify_ioctl(p.fd, FIONREAD, NULL), EFAULT);
	/* The int may sit anywhere in good memory. */
	void *odd = (void *)(rw_end(&m) - 5);
	CHECK_OK(uinotify_ioctl(p.fd, FIONREAD, odd));
	int v;
	memcpy(&v, odd, sizeof v);
	CHECK_EQ(v, 64);
	expect_left(&p, "f00 f01");
	pair_close(&p);
	pages_unmap(&m);
}

/* The overflow record lost to a fault can be queued again. */
TEST(overflow_record_lost_to_a_fault_is_queued_again)
{
	uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 2);
	const char *dir = make_dir("d");
	int fd = inst_new(IN_NONBLOCK);
	CHECK_EQ(CHECK_OK(uinotify_add_watch(fd, dir, IN_CREATE)), 1);
	struct uinotify_inode *din = none_inode(dir);
	char name[16];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "o%d", i);
		uinotify_hook_dirent(din, name, NULL, IN_CREATE, 0);
	}
	/* o0 o1 overflow */
	char b[256];
	CHECK_EQ(uinotify_read(fd, b, 64), 64);
	CHECK_EQ(fionread(fd), 16);
	CHECK_ERRNO(uinotify_read(fd, opaque(1), sizeof b), EFAULT);
	expect_empty(fd);
	for (int i = 4; i < 8; i++) {
		snprintf(name, sizeof name, "o%d", i);
		uinotify_hook_dirent(din, name, NULL, IN_CREATE, 0);
	}
	CHECK_EQ(uinotify_read(fd, b, sizeof b), 80);
	size_t off = 0;
	EXPECT_REC(b, &off, 1, IN_CREATE, 0, "o4");
	EXPECT_REC(b, &off, 1, IN_CREATE, 0, "o5");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	expect_empty(fd);
	uinotify_inode_put(din);
	CHECK_OK(uinotify_close(fd));
}

/*
 * Blocking readers, some of whose buffers fault part way, against one
 * producer: whatever the interleaving (a reader short of tokens leaves
 * debt, a fault gives back what it did not take), the token counts
 * settle to the queue once the readers are gone.
 */
struct mob {
	int fd;
	atomic_int stop;
	atomic_long faults, records;
};

struct mob_reader {
	struct mob *c;
	struct pages m; /* its own: no two threads write one buffer */
};

static void *mob_reader(void *arg)
{
	struct mob_reader *r = arg;
	struct mob *c = r->c;
	char good[512];
	for (unsigned i = 0; !atomic_load(&c->stop); i++) {
		char *b = good;
		if (i % 3 == 1)
			b = (char *)rw_end(&r->m) - 48; /* the 2nd faults */
		else if (i % 3 == 2)
			b = opaque(1);
		ssize_t n = uinotify_read(c->fd, b, sizeof good);
		if (n < 0) {
			if (errno == EFAULT)
				atomic_fetch_add(&c->faults, 1);
			else if (errno != EINTR)
				return (void *)1;
			continue;
		}
		atomic_fetch_add(&c->records, n / 32);
	}
	return NULL;
}

static void mob_run(void)
{
	const char *dir = make_dir("d");
	int fd = inst_new(0);
	CHECK_OK(uinotify_add_watch(fd, dir, IN_CREATE));
	struct uinotify_inode *d = none_inode(dir);
	enum { READERS = 4, EVENTS = 20000 };
	struct mob c = {.fd = fd};
	struct mob_reader r[READERS];
	pthread_t t[READERS];
	for (int i = 0; i < READERS; i++) {
		r[i].c = &c;
		pages_map(&r[i].m);
		CHECK_EQ(pthread_create(&t[i], NULL, mob_reader, &r[i]), 0);
	}
	char name[32];
	for (int i = 0; i < EVENTS; i++) {
		snprintf(name, sizeof name, "n%d", i % 100);
		uinotify_hook_dirent(d, name, NULL, IN_CREATE, 0);
	}
	atomic_store(&c.stop, 1);
	/* Wake each reader until it has seen stop (a wake may be lost to a
	 * fault, so as many as it takes). */
	int joined = 0, w = 0;
	bool done[READERS] = {false};
	while (joined < READERS) {
		snprintf(name, sizeof name, "w%d", w++ % 100);
		uinotify_hook_dirent(d, name, NULL, IN_CREATE, 0);
		for (int i = 0; i < READERS; i++) {
			void *ret;
			if (!done[i] && pthread_tryjoin_np(t[i], &ret) == 0) {
				CHECK(ret == NULL);
				done[i] = true;
				joined++;
			}
		}
		sched_yield();
	}
	CHECK(atomic_load(&c.faults) > 0);
	CHECK(atomic_load(&c.records) > 0);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fd, &st), 0);
	CHECK_EQ(st.debt, 0);
	CHECK_EQ(st.pipe_bytes + (long)st.unsignaled, (long)st.q_len);
	CHECK_EQ(fionread(fd), (long)st.q_len * 32);
	uinotify_inode_put(d);
	CHECK_OK(uinotify_close(fd));
	for (int i = 0; i < READERS; i++)
		pages_unmap(&r[i].m);
}

TEST(concurrent_readers_with_bad_buffers_settle_tokens)
{
	mob_run();
}

TEST(concurrent_readers_with_bad_buffers_plain_pipe)
{
	uin_instance_debug_plain_pipe(true);
	mob_run();
}
