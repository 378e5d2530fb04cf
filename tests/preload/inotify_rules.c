/*
 * tests/preload/inotify_rules.c - a plain <sys/inotify.h> program that
 * walks through the spec's fd rules and prints what it sees, one line per
 * observation.  test_preload_compat runs it with and without
 * LD_PRELOAD=libuinotify-preload.so on a local directory and compares the
 * two outputs byte for byte.  It links nothing of uinotify.
 *
 *   inotify_rules DIR [SECTION...|-SECTION...]
 *     DIR: an empty directory on a local filesystem; sections: all, only
 *     those named, or all but those named with a leading '-'.
 *
 * It prints nothing that legitimately differs between the kernel and
 * uinotify: no fd numbers (uinotify's pipe takes two), no cookie values
 * (only whether a pair shares one), no /proc links.  Where Linux and
 * uinotify differ by design (fork shares the queue in Linux, copies it in
 * uinotify), the step is arranged so that both print the same, and says so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "probe.h"

#ifndef __GLIBC__
/* musl (tests/run/ builds this with musl-gcc -static) has neither
 * close_range() nor closefrom(): the system call they make in glibc. */
static int close_range(unsigned first, unsigned last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

static void closefrom(int lowfd)
{
	syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0);
}
#endif

static char buf[65536] __attribute__((aligned(8)));

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case EEXIST: return "EEXIST";
	case ENOTTY: return "ENOTTY";
	case ESPIPE: return "ESPIPE";
	case EINTR: return "EINTR";
	case EFAULT: return "EFAULT";
	case EACCES: return "EACCES";
	default: return strerror(e);
	}
}

/* "what = result" or "what = -1 ERRNO". */
static long say(const char *what, long r)
{
	if (r < 0)
		printf("%s = -1 %s\n", what, errname(errno));
	else
		printf("%s = %ld\n", what, r);
	return r;
}

static uint32_t last_cookie;

/* Print the records in b[0..n): "  wd=1 CREATE len=16 "a"". */
static void print_records(const char *b, ssize_t n)
{
	ssize_t off = 0;
	while (off + (ssize_t)sizeof(struct inotify_event) <= n) {
		const struct inotify_event *e =
			(const struct inotify_event *)(b + off);
		char m[160];
		mask_str(e->mask, m, sizeof m);
		const char *ck = "";
		if (e->cookie) {
			ck = e->cookie == last_cookie ? " cookie=same"
						      : " cookie=new";
			last_cookie = e->cookie;
		}
		printf("  wd=%d %s len=%u%s", e->wd, m, e->len, ck);
		if (e->len) {
			/* padding must be zeros */
			size_t nl = strnlen(e->name, e->len);
			int pad_ok = 1;
			for (size_t i = nl; i < e->len; i++)
				pad_ok &= e->name[i] == 0;
			printf(" \"%.*s\"%s", (int)(nl > 40 ? 40 : nl),
			       e->name, pad_ok ? "" : " BADPAD");
		}
		putchar('\n');
		off += (ssize_t)sizeof *e + e->len;
	}
	if (off != n)
		printf("  trailing %zd bytes\n", n - off);
}

/*
 * Wait (up to 5 s) until FIONREAD reports at least want bytes: uinotify's
 * events come from its event thread, the kernel's are there at once (and
 * uinotify may deliver an operation's events in two steps: an unlinked
 * file's IN_IGNORED can follow its IN_ATTRIB a moment later).
 */
static int wait_bytes(int fd, int want)
{
	int have = 0;
	for (int i = 0; i < 2500; i++) {
		if (ioctl(fd, FIONREAD, &have) < 0)
			return -1;
		if (have >= want)
			return have;
		/* poll would return at once: some events are there already */
		usleep(2000);
	}
	return have;
}

/* Wait for want bytes, then read them all with one big read; print. */
static void expect(int fd, int want, const char *what)
{
	int have = wait_bytes(fd, want);
	printf("%s: FIONREAD = %d\n", what, have);
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0) {
		printf("%s: read = -1 %s\n", what, errname(errno));
		return;
	}
	printf("%s: read = %zd\n", what, n);
	print_records(buf, n);
}

static void touch(const char *rel)
{
	int f = open(path(rel), O_CREAT | O_WRONLY, 0644);
	if (f >= 0)
		close(f);
}

static void section(const char *name)
{
	printf("== %s\n", name);
}

static void test_init(void)
{
	section("init");
	say("inotify_init1(0x10)", inotify_init1(0x10));
	say("inotify_init1(IN_NONBLOCK|0x1)", inotify_init1(IN_NONBLOCK | 1));
	int fd = inotify_init1(IN_CLOEXEC);
	printf("inotify_init1(IN_CLOEXEC) >= 0: %d\n", fd >= 0);
	say("F_GETFD", fcntl(fd, F_GETFD));
	printf("F_GETFL = %#x\n", (unsigned)fcntl(fd, F_GETFL));
	int nb = inotify_init1(IN_NONBLOCK);
	say("nonblock F_GETFD", fcntl(nb, F_GETFD));
	printf("nonblock F_GETFL = %#x\n", (unsigned)fcntl(nb, F_GETFL));
	int plain = inotify_init();
	say("inotify_init F_GETFD", fcntl(plain, F_GETFD));
	say("write", write(fd, "x", 1));
	say("lseek(0, SEEK_CUR)", lseek(fd, 0, SEEK_CUR));
	say("lseek(5, SEEK_SET)", lseek(fd, 5, SEEK_SET));
	say("pread", pread(fd, buf, 16, 0));
	struct termios t;
	say("ioctl(TCGETS)", ioctl(fd, TCGETS, &t));
	say("ioctl(0x5400ff)", ioctl(fd, 0x5400ff, buf));
	say("F_GETPIPE_SZ", fcntl(fd, F_GETPIPE_SZ));
	int q = -1;
	say("FIONREAD empty", ioctl(fd, FIONREAD, &q));
	printf("FIONREAD value = %d\n", q);
	say("FIOCLEX", ioctl(plain, FIOCLEX));
	say("F_GETFD after FIOCLEX", fcntl(plain, F_GETFD));
	int on = 1;
	say("FIONBIO", ioctl(plain, FIONBIO, &on));
	printf("F_GETFL after FIONBIO = %#x\n", (unsigned)fcntl(plain, F_GETFL));
	say("read nonblocking empty", read(nb, buf, sizeof buf));
	say("read(0) nonblocking empty", read(nb, buf, 0));
	struct iovec z = {buf, 0};
	say("readv total 0", readv(nb, &z, 1));
	say("close", close(fd));
	say("close nonblock", close(nb));
	say("close plain", close(plain));
	say("close again", close(plain));
}

static void test_add_watch_errors(void)
{
	section("add_watch / rm_watch errors");
	int fd = inotify_init1(IN_CLOEXEC);
	int p[2];
	if (pipe(p) < 0)
		return;
	touch("file");
	say("mask 0", inotify_add_watch(fd, dir, 0));
	say("mask 0x1000", inotify_add_watch(fd, dir, 0x1000));
	say("bad fd", inotify_add_watch(9999, dir, IN_CREATE));
	say("bad fd, bad mask", inotify_add_watch(9999, dir, 0));
	say("MASK_ADD|MASK_CREATE",
	    inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE));
	say("not inotify", inotify_add_watch(p[0], dir, IN_CREATE));
	say("empty path", inotify_add_watch(fd, "", IN_CREATE));
	say("missing", inotify_add_watch(fd, path("nope"), IN_CREATE));
	say("ONLYDIR file", inotify_add_watch(fd, path("file"),
					       IN_CREATE | IN_ONLYDIR));
	say("wd dir", inotify_add_watch(fd, dir, IN_ALL_EVENTS));
	say("wd dir/.", inotify_add_watch(fd, path("."), IN_CREATE));
	say("MASK_CREATE again",
	    inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE));
	say("wd file", inotify_add_watch(fd, path("file"), IN_ATTRIB));
	say("only flags", inotify_add_watch(fd, path("file"), IN_DONT_FOLLOW));
	say("rm unknown", inotify_rm_watch(fd, 99));
	say("rm 0", inotify_rm_watch(fd, 0));
	say("rm not inotify", inotify_rm_watch(p[0], 1));
	say("rm bad fd", inotify_rm_watch(9999, 1));
	say("rm wd 2", inotify_rm_watch(fd, 2));
	say("rm wd 2 again", inotify_rm_watch(fd, 2));
	expect(fd, 16, "after rm");
	say("wd file again", inotify_add_watch(fd, path("file"), IN_ATTRIB));
	unlink(path("file"));
	expect(fd, 32, "after unlink");
	close(p[0]);
	close(p[1]);
	close(fd);
}

static void test_records(void)
{
	section("records and read sizes");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_ALL_EVENTS));
	int f = open(path("a"), O_CREAT | O_WRONLY, 0644);
	say("write a", write(f, "x", 1));
	say("write a again", write(f, "y", 1)); /* merges */
	close(f);
	int have = wait_bytes(fd, 4 * 32);
	printf("FIONREAD = %d\n", have);
	say("read 0", read(fd, buf, 0));
	say("read 16", read(fd, buf, 16));
	say("read 31", read(fd, buf, 31));
	ssize_t n = say("read 32", read(fd, buf, 32));
	print_records(buf, n);
	n = say("read 63", read(fd, buf, 63));
	print_records(buf, n);
	struct iovec small[2] = {{buf, 10}, {buf + 10, 100}};
	say("readv {10,100}", readv(fd, small, 2));
	struct iovec zero[2] = {{buf, 0}, {buf, 100}};
	say("readv {0,100}", readv(fd, zero, 2));
	struct iovec exact[2] = {{buf, 32}, {buf + 32, 100}};
	n = say("readv {32,100}", readv(fd, exact, 2));
	print_records(buf, n);
	say("FIONREAD", ioctl(fd, FIONREAD, &have));
	printf("FIONREAD value = %d\n", have);

	/* names of 1, 15, 16 and 255 characters */
	char name[256];
	memset(name, 'n', 255);
	int lens[] = {1, 15, 16, 255};
	int want = 0;
	for (int i = 0; i < 4; i++) {
		name[lens[i]] = 0;
		if (mkdir(path(name), 0755) < 0)
			perror("mkdir");
		want += 16 + ((lens[i] + 1 + 15) / 16) * 16;
		name[lens[i]] = 'n';
	}
	expect(fd, want, "name lengths");
	for (int i = 0; i < 4; i++) {
		name[lens[i]] = 0;
		rmdir(path(name));
		name[lens[i]] = 'n';
	}
	expect(fd, want, "rmdir");
	rename(path("a"), path("b"));
	expect(fd, 64, "rename");
	unlink(path("b"));
	expect(fd, 32, "unlink");
	close(fd);
}

static void test_nonblock(void)
{
	section("O_NONBLOCK through fcntl");
	int fd = inotify_init1(0);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	int fl = fcntl(fd, F_GETFL);
	say("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	printf("F_GETFL = %#x\n", (unsigned)fcntl(fd, F_GETFL));
	say("read empty", read(fd, buf, sizeof buf));
	struct iovec v = {buf, sizeof buf};
	say("readv empty", readv(fd, &v, 1));
	mkdir(path("nb"), 0755);
	expect(fd, 32, "mkdir nb");
	say("read empty again", read(fd, buf, sizeof buf));
	say("F_SETFL 0", fcntl(fd, F_SETFL, fl));
	printf("F_GETFL = %#x\n", (unsigned)fcntl(fd, F_GETFL));
	rmdir(path("nb"));
	close(fd);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_eintr(void)
{
	section("blocking read and signals");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
	say("blocking read, SIGALRM without SA_RESTART", read(fd, buf, sizeof buf));
	close(fd);
}

static void *reader(void *arg)
{
	int fd = *(int *)arg;
	ssize_t n = read(fd, buf, sizeof buf);
	return (void *)(intptr_t)n;
}

static void test_thread(void)
{
	section("blocking read woken from another thread's change");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	pthread_t t;
	pthread_create(&t, NULL, reader, &fd);
	usleep(50000); /* not a sync: the result is the same either way */
	mkdir(path("thr"), 0755);
	void *ret;
	pthread_join(t, &ret);
	ssize_t n = (ssize_t)(intptr_t)ret;
	printf("thread read = %zd\n", n);
	print_records(buf, n);
	rmdir(path("thr"));
	close(fd);
}

static void test_dup(void)
{
	section("dup, dup2, dup3, F_DUPFD, close of one name");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE));
	int d = dup(fd);
	printf("dup >= 0: %d\n", d >= 0);
	say("dup F_GETFD", fcntl(d, F_GETFD));
	mkdir(path("d1"), 0755);
	mkdir(path("d2"), 0755);
	int q1 = wait_bytes(fd, 64), q2 = -1;
	ioctl(d, FIONREAD, &q2);
	printf("FIONREAD fd = %d, dup = %d\n", q1, q2);
	ssize_t n = say("read 32 via fd", read(fd, buf, 32));
	print_records(buf, n);
	n = say("read via dup", read(d, buf, sizeof buf));
	print_records(buf, n);
	say("close fd", close(fd));
	say("add_watch via dup", inotify_add_watch(d, path("d1"), IN_CREATE));
	mkdir(path("d1/x"), 0755);
	expect(d, 32, "mkdir d1/x via dup");
	say("rm_watch via dup", inotify_rm_watch(d, 2));
	expect(d, 16, "IN_IGNORED via dup");

	int e = fcntl(d, F_DUPFD_CLOEXEC, 50);
	printf("F_DUPFD_CLOEXEC >= 50: %d\n", e >= 50);
	say("F_DUPFD_CLOEXEC F_GETFD", fcntl(e, F_GETFD));
	int e2 = fcntl(d, F_DUPFD, 70);
	printf("F_DUPFD >= 70: %d\n", e2 >= 70);
	say("dup3(d, 60, O_CLOEXEC)", dup3(d, 60, O_CLOEXEC));
	say("dup3 F_GETFD", fcntl(60, F_GETFD));
	say("dup2(d, 61)", dup2(d, 61));
	say("dup2(61, 61)", dup2(61, 61));
	say("dup3(61, 61, 0)", dup3(61, 61, 0));
	say("dup3 bad flags", dup3(d, 62, 0x1));
	say("close dup", close(d));
	rmdir(path("d1/x"));
	rmdir(path("d1"));
	rmdir(path("d2"));
	/* events visible through every remaining name */
	int q60 = wait_bytes(60, 64), q61 = -1, qe = -1, qe2 = -1;
	ioctl(61, FIONREAD, &q61);
	ioctl(e, FIONREAD, &qe);
	ioctl(e2, FIONREAD, &qe2);
	printf("FIONREAD 60=%d 61=%d e=%d e2=%d\n", q60, q61, qe, qe2);
	n = say("read 32 via 60", read(60, buf, 32));
	print_records(buf, n);
	n = say("read via 61", read(61, buf, sizeof buf));
	print_records(buf, n);
	say("F_SETFL O_NONBLOCK via e", fcntl(e, F_SETFL, O_NONBLOCK));
	say("read via e2, nonblocking through e", read(e2, buf, sizeof buf));
	say("F_SETFL 0 via e2", fcntl(e2, F_SETFL, 0));

	/* dup2 onto a name replaces it; the instance lives in its others */
	int p[2];
	if (pipe(p) < 0)
		return;
	say("dup2(pipe, 61)", dup2(p[0], 61));
	say("add_watch on replaced 61", inotify_add_watch(61, dir, IN_CREATE));
	say("add_watch via 60", inotify_add_watch(60, dir, IN_CREATE));
	say("dup2(bad, 60)", dup2(9999, 60));
	say("add_watch via 60 after failed dup2",
	    inotify_add_watch(60, dir, IN_CREATE));
	/* dup2 of a name onto a plain fd */
	say("dup2(60, pipe write end) == p[1]", dup2(60, p[1]) == p[1]);
	mkdir(path("d3"), 0755);
	expect(p[1], 32, "via the former pipe write end");
	rmdir(path("d3"));
	say("close 60", close(60));
	say("close 61", close(61));
	say("close e", close(e));
	say("close e2", close(e2));
	say("close p[1]", close(p[1]));
	say("add_watch after last close", inotify_add_watch(p[1], dir, IN_CREATE));
	say("close p[0]", close(p[0]));

	/* an instance whose only name is replaced by dup2 is gone */
	int a = inotify_init1(IN_CLOEXEC), b = inotify_init1(IN_CLOEXEC);
	say("wd a", inotify_add_watch(a, dir, IN_CREATE));
	say("wd b", inotify_add_watch(b, dir, IN_CREATE));
	say("dup2(a, b) == b", dup2(a, b) == b);
	mkdir(path("d4"), 0755);
	expect(b, 32, "b reads a's queue");
	say("FIONREAD a after read through b", ioctl(a, FIONREAD, &q1));
	printf("FIONREAD value = %d\n", q1);
	rmdir(path("d4"));
	close(a);
	close(b);
}

static void test_poll_epoll(void)
{
	section("poll, select, epoll");
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	int et = epoll_create1(EPOLL_CLOEXEC), lt = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET};
	say("epoll_ctl ET", epoll_ctl(et, EPOLL_CTL_ADD, fd, &ev));
	ev.events = EPOLLIN | EPOLLOUT;
	say("epoll_ctl LT", epoll_ctl(lt, EPOLL_CTL_ADD, fd, &ev));
	struct epoll_event out;
	say("ET wait empty", epoll_wait(et, &out, 1, 0));
	say("LT wait empty", epoll_wait(lt, &out, 1, 0));
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI};
	say("poll empty", poll(&p, 1, 0));
	mkdir(path("e1"), 0755);
	out.events = 0;
	say("ET wait", epoll_wait(et, &out, 1, 5000));
	printf("ET events = %#x\n", out.events);
	say("ET wait again (no new edge)", epoll_wait(et, &out, 1, 0));
	say("LT wait", epoll_wait(lt, &out, 1, 5000));
	printf("LT events = %#x\n", out.events);
	p.revents = 0;
	say("poll", poll(&p, 1, 5000));
	printf("poll revents = %#x\n", p.revents);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(fd, &r);
	FD_SET(fd, &w);
	struct timeval tv = {5, 0};
	say("select", select(fd + 1, &r, &w, NULL, &tv));
	printf("select readable %d writable %d\n", FD_ISSET(fd, &r) != 0,
	       FD_ISSET(fd, &w) != 0);
	mkdir(path("e2"), 0755);
	say("ET wait second event", epoll_wait(et, &out, 1, 5000));
	expect(fd, 64, "drain");
	say("ET wait drained", epoll_wait(et, &out, 1, 0));
	say("LT wait drained", epoll_wait(lt, &out, 1, 0));
	p.revents = 0;
	say("poll drained", poll(&p, 1, 0));
	rmdir(path("e1"));
	rmdir(path("e2"));
	close(et);
	close(lt);
	close(fd);
}

/* The child's read of a change made after the fork, bounded. */
static void child_read_after_fork(int fd, const char *what)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	if (poll(&pf, 1, 5000) != 1) {
		printf("child: %s: no event within 5 s\n", what);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	printf("child: %s: read = %zd\n", what, n);
	print_records(buf, n);
}

/*
 * Linux shares one queue between parent and child: the child consumed what
 * it read.  uinotify's child had a copy, so the parent still holds those
 * events.  Drain without printing; what the parent sees from then on is the
 * same in both.
 */
static void parent_drain_unprinted(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	usleep(100000);
	while (read(fd, buf, sizeof buf) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

/* fork: the queue as it was, a watch added in the child, the parent after. */
static void test_fork(void)
{
	section("fork");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	mkdir(path("f1"), 0755);
	mkdir(path("f2"), 0755);
	wait_bytes(fd, 64);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int q = -1;
		ioctl(fd, FIONREAD, &q);
		printf("child: FIONREAD = %d\n", q);
		ssize_t n = read(fd, buf, 32);
		printf("child: read = %zd\n", n);
		print_records(buf, n);
		say("child: F_GETFD", fcntl(fd, F_GETFD));
		say("child: add_watch f1", inotify_add_watch(fd, path("f1"),
							      IN_CREATE));
		mkdir(path("f1/x"), 0755);
		expect(fd, 64, "child: f2 and f1/x");
		/* adding a watched path again (same wd) */
		say("child: add_watch dir again", inotify_add_watch(fd, dir,
								     IN_CREATE));
		mkdir(path("f4"), 0755);
		expect(fd, 32, "child: f4");
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		say("child: poll drained", poll(&pf, 1, 0));
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit = %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	parent_drain_unprinted(fd);
	mkdir(path("f3"), 0755);
	expect(fd, 32, "parent: f3");
	/* Not compared: a watch the parent adds now gets wd 3 from Linux
	 * (the child's add took 2 in the shared instance) and 2 from
	 * uinotify (each process allocates its own from the fork on). */
	rmdir(path("f1/x"));
	rmdir(path("f1"));
	rmdir(path("f2"));
	rmdir(path("f3"));
	rmdir(path("f4"));
	close(fd);
}

/* fork: a watch from before the fork keeps reporting in the child. */
static void test_fork_watch(void)
{
	section("forkwatch");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		mkdir(path("g1"), 0755);
		child_read_after_fork(fd, "g1");
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit = %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	parent_drain_unprinted(fd);
	mkdir(path("g2"), 0755);
	expect(fd, 32, "parent: g2");
	rmdir(path("g1"));
	rmdir(path("g2"));
	close(fd);
}

static void test_close_range(void)
{
	section("close_range, closefrom");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	say("dup2(fd, 40) == 40", dup2(fd, 40) == 40);
	say("close_range(40, 40, CLOEXEC)",
	    syscall(SYS_close_range, 40, 40, 4 /* CLOSE_RANGE_CLOEXEC */));
	say("close_range(40, 40, 0)", close_range(40, 40, 0));
	say("add_watch via 40", inotify_add_watch(40, dir, IN_CREATE));
	mkdir(path("c1"), 0755);
	expect(fd, 32, "still there via fd");
	say("dup2(fd, 200) == 200", dup2(fd, 200) == 200);
	say("close fd", close(fd));
	mkdir(path("c2"), 0755);
	expect(200, 32, "via 200");
	closefrom(200);
	say("add_watch via 200 after closefrom",
	    inotify_add_watch(200, dir, IN_CREATE));
	say("F_GETFD 200", fcntl(200, F_GETFD));
	rmdir(path("c1"));
	rmdir(path("c2"));
}

/*
 * exec with a name that is not close-on-exec.  Linux: the new program
 * inherits a working inotify fd.  uinotify: the bare read end of a pipe
 * with no writer (docs/preload.md).  Not compared; test_preload_compat
 * checks each side.
 */
static void test_exec(void)
{
	section("exec");
	int fd = inotify_init1(0);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	mkdir(path("x1"), 0755);
	wait_bytes(fd, 32);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char num[16];
		snprintf(num, sizeof num, "%d", fd);
		execl("/proc/self/exe", "inotify_rules", "--exec-probe", num,
		      (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("exec'd exit = %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	rmdir(path("x1"));
	close(fd);
}

/* The exec'd side: read the inherited fd without blocking. */
static int exec_probe(int fd)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0)
			printf("exec'd: read = -1 %s\n", errname(errno));
		else
			printf("exec'd: read = %zd\n", n);
		if (n <= 0)
			break;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, 0);
	printf("exec'd: poll = %d revents = %#x\n", r, p.revents);
	return 0;
}

static void test_oneshot_and_rm(void)
{
	section("IN_ONESHOT, rm_watch with queued events");
	int fd = inotify_init1(IN_CLOEXEC);
	say("wd oneshot", inotify_add_watch(fd, dir, IN_CREATE | IN_ONESHOT));
	mkdir(path("o1"), 0755);
	mkdir(path("o2"), 0755);
	expect(fd, 48, "oneshot");
	say("rm fired oneshot", inotify_rm_watch(fd, 1));
	say("wd again", inotify_add_watch(fd, dir, IN_DELETE));
	rmdir(path("o1"));
	wait_bytes(fd, 32);
	say("rm with a queued event", inotify_rm_watch(fd, 2));
	expect(fd, 48, "queued event then IGNORED");
	rmdir(path("o2"));
	close(fd);
}

static void test_syscall(void)
{
	section("syscall()");
	say("syscall(getpid) == getpid()", syscall(SYS_getpid) == getpid());
	int fd = (int)syscall(SYS_inotify_init1, IN_CLOEXEC);
	printf("SYS_inotify_init1 >= 0: %d\n", fd >= 0);
	say("SYS_inotify_init1(bad)", syscall(SYS_inotify_init1, 0x10));
	say("SYS_inotify_add_watch",
	    syscall(SYS_inotify_add_watch, fd, dir, IN_CREATE));
	mkdir(path("s1"), 0755);
	wait_bytes(fd, 32);
	ssize_t n = say("SYS_read", syscall(SYS_read, fd, buf, sizeof buf));
	print_records(buf, n);
	say("SYS_inotify_rm_watch", syscall(SYS_inotify_rm_watch, fd, 1));
	say("SYS_inotify_rm_watch again", syscall(SYS_inotify_rm_watch, fd, 1));
	int q = -1;
	wait_bytes(fd, 16);
	say("SYS_ioctl FIONREAD", syscall(SYS_ioctl, fd, FIONREAD, &q));
	printf("FIONREAD value = %d\n", q);
	say("SYS_close", syscall(SYS_close, fd));
	say("SYS_close again", syscall(SYS_close, fd));
	rmdir(path("s1"));
}

static const struct {
	const char *name;
	void (*fn)(void);
} sections[] = {
	{"init", test_init},
	{"errors", test_add_watch_errors},
	{"records", test_records},
	{"nonblock", test_nonblock},
	{"eintr", test_eintr},
	{"thread", test_thread},
	{"dup", test_dup},
	{"poll", test_poll_epoll},
	{"fork", test_fork},
	{"forkwatch", test_fork_watch},
	{"closerange", test_close_range},
	{"exec", test_exec},
	{"oneshot", test_oneshot_and_rm},
	{"syscall", test_syscall},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s EMPTY_DIR [SECTION|-SECTION...]\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "--exec-probe") && argc == 3)
		return exec_probe(atoi(argv[2]));
	dir = argv[1];
	/* no section names: all; "-name": all but those; "name": those */
	int n = (int)(sizeof sections / sizeof sections[0]);
	for (int i = 0; i < n; i++) {
		int run = argc == 2 || argv[2][0] == '-';
		for (int a = 2; a < argc; a++) {
			if (argv[a][0] == '-' && !strcmp(argv[a] + 1, sections[i].name))
				run = 0;
			if (!strcmp(argv[a], sections[i].name))
				run = 1;
		}
		if (run)
			sections[i].fn();
	}
	printf("== end\n");
	return 0;
}
