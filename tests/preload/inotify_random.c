/*
 * tests/preload/inotify_random.c - a seeded random mix of file operations
 * and inotify calls, printing everything it sees, so that a run against
 * the kernel and a run against uinotify (drop-in library, uinotify-run)
 * can be compared record by record.  It links nothing of uinotify.
 *
 *   inotify_random DIR SEED STEPS [MODE,...]   (nopoll, pollfirst, nolinks)
 *
 * Operations: mkdir, rmdir, create, append, read, list, truncate, chmod,
 * touch, link, rename (over names, across directories), unlink; watch
 * calls: add_watch on any name with a random mask and random flags
 * (IN_ONESHOT, IN_MASK_ADD, IN_MASK_CREATE, IN_DONT_FOLLOW, IN_ONLYDIR,
 * IN_EXCL_UNLINK), rm_watch of any wd; reads with random buffer sizes; two
 * instances.  After every step both instances' FIONREAD and (unless
 * "nopoll") poll(fd, 0) are printed: what a program sees the moment a
 * system call returns ("pollfirst": the poll before FIONREAD, before any
 * other call on the instance).  "nolinks" makes no hard links: on a
 * path-based FUSE filesystem (bindfs) each link is a kernel inode of its
 * own, with its own attribute and page cache, which our own statx
 * refreshes, so that the two sides' files themselves can differ (a read
 * returns other bytes).  At the end both are drained, and then watched for
 * a while longer than a scanner tick: a late or repeated record prints.
 *
 * Built with UIN_RANDOM_API, it calls the library's API (uinotify_init1,
 * uinotify_read, ...) instead of the system calls: the same comparison
 * for C programs that link uinotify.
 *
 * Nothing that legitimately differs is printed: cookies are numbered in
 * the order they first appear; names and wds are the same by the rules.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

#ifdef UIN_RANDOM_API
#include <uinotify/inotify.h>
#define in_init1 uinotify_init1
#define in_add_watch uinotify_add_watch
#define in_rm_watch uinotify_rm_watch
#define in_read uinotify_read
#define in_ioctl uinotify_ioctl
#else
#define in_init1 inotify_init1
#define in_add_watch inotify_add_watch
#define in_rm_watch inotify_rm_watch
#define in_read read
#define in_ioctl ioctl
#endif

static uint64_t rng;
static bool check_poll = true;
static bool poll_first; /* poll(fd, 0) before any other call ("pollfirst") */
static bool no_links;   /* "nolinks" */
static char buf[8192] __attribute__((aligned(8)));

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

/* The names: a few directories, a few files in each. */
static const char *const dirs[] = {".", "d0", "d1", "d0/e"};
#define NDIRS 4
#define NFILES 3

static const char *any_dir(void)
{
	return dirs[pick(NDIRS)];
}

static const char *any_file(void)
{
	static char p[4][64];
	static int i;
	char *out = p[i++ % 4];
	/* One draw a statement: the order of a call's arguments is the
	 * compiler's (gcc's and clang's differ), a seed's sequence not. */
	unsigned f = (unsigned)pick(NFILES);
	const char *d = any_dir();
	snprintf(out, sizeof p[0], "%s/f%u", d, f);
	return out;
}

static const char *any_name(void)
{
	return pick(3) ? any_file() : any_dir();
}

static const char *res(int r)
{
	static char s[32];
	if (r < 0)
		return strerrorname_np(errno);
	snprintf(s, sizeof s, "%d", r);
	return s;
}

/* Cookies in order of first appearance. */
static uint32_t cookies[4096];
static unsigned ncookies;

static unsigned cookie_id(uint32_t c)
{
	if (!c)
		return 0;
	for (unsigned i = 0; i < ncookies; i++)
		if (cookies[i] == c)
			return i + 1;
	if (ncookies < sizeof cookies / sizeof cookies[0])
		cookies[ncookies++] = c;
	return ncookies;
}

static void print_records(char who, ssize_t n)
{
	for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);
		char m[160];
		mask_str(e->mask, m, sizeof m);
		printf("  %c wd=%d %s cookie=%u len=%u \"%s\"\n", who, e->wd, m,
		       cookie_id(e->cookie), e->len, e->len ? e->name : "");
		off += (ssize_t)(sizeof *e + e->len);
	}
}

static int inst[2];

static void do_read(int i, size_t size)
{
	ssize_t n = in_read(inst[i], buf, size);
	printf("read %c %zu = %s\n", 'A' + i, size, res((int)n));
	if (n > 0)
		print_records((char)('A' + i), n);
}

static void state(void)
{
	for (int i = 0; i < 2; i++) {
		int avail = -1, ready = -1;
		struct pollfd p = {.fd = inst[i], .events = POLLIN};
		if (poll_first)
			ready = poll(&p, 1, 0);
		in_ioctl(inst[i], FIONREAD, &avail);
		printf("  %c: FIONREAD %d", 'A' + i, avail);
		if (check_poll && !poll_first)
			ready = poll(&p, 1, 0);
		if (check_poll)
			printf(" poll0 %d", ready);
		printf("\n");
	}
}

static uint32_t random_mask(void)
{
	uint32_t m = 0;
	if (pick(4) == 0)
		m = IN_ALL_EVENTS;
	else
		for (int b = 0; b < 12; b++)
			if (pick(3) == 0)
				m |= 1u << b;
	if (pick(8) == 0)
		m |= IN_ONESHOT;
	if (pick(6) == 0)
		m |= IN_MASK_ADD;
	if (pick(10) == 0)
		m |= IN_MASK_CREATE;
	if (pick(10) == 0)
		m |= IN_DONT_FOLLOW;
	if (pick(10) == 0)
		m |= IN_ONLYDIR;
	if (pick(8) == 0)
		m |= IN_EXCL_UNLINK;
	return m;
}

static void step(void)
{
	const char *a, *b;
	int r, fd;
	switch (pick(20)) {
	case 0:
		a = any_dir();
		r = mkdir(path(a), 0755);
		printf("mkdir %s = %s\n", a, res(r));
		break;
	case 1:
		a = any_dir();
		r = rmdir(path(a));
		printf("rmdir %s = %s\n", a, res(r));
		break;
	case 2:
	case 3:
		a = any_file();
		fd = open(path(a), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		r = fd;
		if (fd >= 0) {
			r = (int)write(fd, "hello\n", 6);
			close(fd);
		}
		printf("create %s = %s\n", a, res(r));
		break;
	case 4:
		a = any_file();
		fd = open(path(a), O_WRONLY | O_APPEND);
		r = fd;
		if (fd >= 0) {
			r = (int)write(fd, "more\n", 5);
			if (pick(2))
				r = (int)write(fd, "again\n", 6);
			close(fd);
		}
		printf("append %s = %s\n", a, res(r));
		break;
	case 5:
		a = any_file();
		fd = open(path(a), O_RDONLY);
		r = fd;
		if (fd >= 0) {
			r = (int)read(fd, buf, 3);
			close(fd);
		}
		printf("read %s = %s\n", a, res(r));
		break;
	case 6: {
		a = any_dir();
		DIR *d = opendir(path(a));
		int n = 0;
		if (d) {
			while (readdir(d))
				n++;
			closedir(d);
		}
		printf("list %s = %s\n", a, d ? "ok" : strerrorname_np(errno));
		break;
	}
	case 7:
		a = any_file();
		r = truncate(path(a), (off_t)pick(4));
		printf("truncate %s = %s\n", a, res(r));
		break;
	case 8:
		a = any_name();
		r = chmod(path(a), pick(2) ? 0700 : 0755);
		printf("chmod %s = %s\n", a, res(r));
		break;
	case 9:
		a = any_name();
		r = utimensat(AT_FDCWD, path(a), NULL, 0);
		printf("touch %s = %s\n", a, res(r));
		break;
	case 10:
		a = any_file();
		b = any_file();
		if (no_links)
			break;
		r = link(path(a), path(b));
		printf("link %s %s = %s\n", a, b, res(r));
		break;
	case 11:
	case 12:
		a = any_name();
		b = pick(2) ? any_file() : any_dir();
		r = rename(path(a), path(b));
		printf("rename %s %s = %s\n", a, b, res(r));
		break;
	case 13:
		a = any_file();
		r = unlink(path(a));
		printf("unlink %s = %s\n", a, res(r));
		break;
	case 14:
	case 15:
	case 16: {
		int i = (int)pick(2);
		a = any_name();
		uint32_t m = random_mask();
		r = in_add_watch(inst[i], path(a), m);
		printf("add_watch %c %s 0x%x = %s\n", 'A' + i, a, m, res(r));
		break;
	}
	case 17: {
		int i = (int)pick(2), wd = (int)pick(12);
		r = in_rm_watch(inst[i], wd);
		printf("rm_watch %c %d = %s\n", 'A' + i, wd, res(r));
		break;
	}
	default: {
		static const size_t sizes[] = {1, 15, 16, 17, 31, 32, 33,
					       48, 64, 100, 4096, 8192};
		size_t size = sizes[pick(sizeof sizes / sizeof sizes[0])];
		do_read((int)pick(2), size);
		break;
	}
	}
	state();
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: inotify_random DIR SEED STEPS "
				"[nopoll,pollfirst,nolinks]\n");
		return 2;
	}
	dir = argv[1];
	rng = strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
	long steps = strtol(argv[3], NULL, 10);
	const char *mode = argc > 4 ? argv[4] : "";
	check_poll = !strstr(mode, "nopoll");
	poll_first = strstr(mode, "pollfirst") != NULL;
	no_links = strstr(mode, "nolinks") != NULL;
	/* Line by line when asked, so that a library's debug output on
	 * stderr lands beside the step that caused it. */
	if (getenv("UIN_RANDOM_LINES"))
		setvbuf(stdout, NULL, _IOLBF, 0);
	else
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (int i = 0; i < 2; i++) {
		inst[i] = in_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (inst[i] < 0) {
			perror("inotify_init1");
			return 1;
		}
	}
	for (int i = 1; i < NDIRS; i++)
		mkdir(path(dirs[i]), 0755);
	for (long s = 0; s < steps; s++) {
		printf("%ld: ", s);
		step();
	}
	/* Drain, then wait longer than a tick for anything late. */
	for (int i = 0; i < 2; i++) {
		ssize_t n;
		while ((n = in_read(inst[i], buf, sizeof buf)) > 0)
			print_records((char)('A' + i), n);
	}
	printf("drained\n");
	struct pollfd p[2] = {{.fd = inst[0], .events = POLLIN},
			      {.fd = inst[1], .events = POLLIN}};
	int late = poll(p, 2, 400);
	printf("late: %d\n", late);
	for (int i = 0; i < 2 && late > 0; i++) {
		ssize_t n = in_read(inst[i], buf, sizeof buf);
		if (n > 0)
			print_records((char)('A' + i), n);
	}
	return 0;
}
