/*
 * tests/preload/inotify_edges.c - a plain <sys/inotify.h> program for the
 * edges inotify_rules.c leaves out: bad pointers (paths, buffers, iovecs,
 * the FIONREAD int), path lengths, O_PATH and non-inotify descriptors,
 * IN_MASK_CREATE, the calls that are not read (preadv2 offsets, lseek,
 * splice, tee, sendfile), and a queue that overflows.  One line per
 * observation, nothing that legitimately differs (no fd numbers, no cookie
 * values).  test_run_errno compares it under uinotify-run with the kernel.
 *
 *   inotify_edges DIR [SECTION...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "probe.h"

static char buf[65536] __attribute__((aligned(8)));

static long say(const char *what, long r)
{
	if (r < 0)
		printf("%s = -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s = %ld\n", what, r);
	return r;
}

static int fionread(int fd)
{
	int n = -1;
	for (int i = 0; i < 2500; i++) {
		if (ioctl(fd, FIONREAD, &n) < 0)
			return -1;
		if (n > 0)
			break;
		usleep(2000);
	}
	return n;
}

/* Wait (up to 5 s) for at least want bytes. */
static int wait_for(int fd, int want)
{
	int n = -1;
	for (int i = 0; i < 2500; i++) {
		if (ioctl(fd, FIONREAD, &n) < 0 || n >= want)
			break;
		usleep(2000);
	}
	return n;
}

static void records(const char *what, ssize_t n)
{
	for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);
		printf("  %s: wd=%d mask=%#x len=%u %s\n", what, e->wd, e->mask,
		       e->len, e->len ? e->name : "");
		off += (ssize_t)sizeof *e + e->len;
	}
}

static void section(const char *name)
{
	printf("== %s\n", name);
}

static void test_paths(void)
{
	section("path arguments");
	int fd = inotify_init1(IN_CLOEXEC);
	say("NULL path", inotify_add_watch(fd, NULL, IN_CREATE));
	say("empty path", inotify_add_watch(fd, "", IN_CREATE));
	/* a string running into an unmapped page */
	long ps = sysconf(_SC_PAGESIZE);
	char *pg = mmap(NULL, 2 * (size_t)ps, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(pg + ps, (size_t)ps);
	memset(pg, '/', (size_t)ps);
	say("path into an unmapped page",
	    inotify_add_watch(fd, pg + ps - 100, IN_CREATE));
	say("a page of '/' (PATH_MAX)", inotify_add_watch(fd, pg, IN_CREATE));
	pg[ps - 1] = 0;
	say("path ending at the page's end",
	    inotify_add_watch(fd, pg + ps - 100, IN_CREATE) > 0);
	munmap(pg, (size_t)ps);
	/* 4095 characters is the longest path; 4096 is ENAMETOOLONG */
	char *p = malloc(PATH_MAX + 2);
	size_t n = 0;
	n += (size_t)snprintf(p, PATH_MAX, "%s", dir);
	while (n < PATH_MAX - 2) {
		p[n++] = '/';
		p[n++] = '.';
	}
	if (n < PATH_MAX - 1)
		p[n++] = '/';
	p[n] = 0;
	printf("length %zu\n", strlen(p));
	say("4095-character path", inotify_add_watch(fd, p, IN_CREATE));
	p[n++] = '.';
	p[n] = 0;
	printf("length %zu\n", strlen(p));
	say("4096-character path", inotify_add_watch(fd, p, IN_CREATE));
	free(p);
	char longname[NAME_MAX + 2];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	say("256-character name", inotify_add_watch(fd, path(longname), IN_CREATE));
	say("missing", inotify_add_watch(fd, path("nope"), IN_CREATE));
	say("missing parent", inotify_add_watch(fd, path("nope/x"), IN_CREATE));
	close(fd);
}

static void test_descriptors(void)
{
	section("descriptors and masks");
	int fd = inotify_init1(IN_CLOEXEC);
	int opath = open(dir, O_PATH | O_CLOEXEC);
	int file = open(path("f"), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	say("add_watch on O_PATH", inotify_add_watch(opath, dir, IN_CREATE));
	say("add_watch on a file", inotify_add_watch(file, dir, IN_CREATE));
	say("add_watch on -1", inotify_add_watch(-1, dir, IN_CREATE));
	say("add_watch bad fd, ADD|CREATE",
	    inotify_add_watch(-1, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE));
	say("add_watch file fd, ADD|CREATE",
	    inotify_add_watch(file, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE));
	say("rm_watch on O_PATH", inotify_rm_watch(opath, 1));
	say("rm_watch on a file", inotify_rm_watch(file, 1));
	say("mask 0", inotify_add_watch(fd, dir, 0));
	say("mask 0x1000", inotify_add_watch(fd, dir, 0x1000));
	say("flags only", inotify_add_watch(fd, dir, IN_ONLYDIR));
	say("IN_MASK_CREATE again",
	    inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE));
	say("IN_MASK_CREATE via ./",
	    inotify_add_watch(fd, path("."), IN_DELETE | IN_MASK_CREATE));
	say("IN_MASK_ADD", inotify_add_watch(fd, dir, IN_DELETE | IN_MASK_ADD));
	say("IN_ONLYDIR on a file",
	    inotify_add_watch(fd, path("f"), IN_CREATE | IN_ONLYDIR));
	symlink("f", path("l"));
	say("symlink followed", inotify_add_watch(fd, path("l"), IN_MODIFY));
	say("symlink itself", inotify_add_watch(fd, path("l"),
						 IN_MODIFY | IN_DONT_FOLLOW));
	say("rm_watch 0", inotify_rm_watch(fd, 0));
	say("rm_watch -1", inotify_rm_watch(fd, -1));
	say("rm_watch 99", inotify_rm_watch(fd, 99));
	unlink(path("l"));
	unlink(path("f"));
	close(file);
	close(opath);
	close(fd);
}

static void test_buffers(void)
{
	section("bad buffers");
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE));
	long ps = sysconf(_SC_PAGESIZE);
	char *ro = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	mkdir(path("b1"), 0755);
	mkdir(path("b2"), 0755);
	mkdir(path("b3"), 0755);
	printf("FIONREAD = %d\n", wait_for(fd, 96));
	say("read into a read-only page", read(fd, ro, (size_t)ps));
	printf("FIONREAD after = %d\n", wait_for(fd, 0));
	void *volatile null = NULL; /* a NULL the compiler cannot see */
	say("read into NULL", read(fd, null, 4096));
	printf("FIONREAD after = %d\n", wait_for(fd, 0));
	say("FIONREAD into a read-only page", ioctl(fd, FIONREAD, ro));
	say("FIONREAD into NULL", ioctl(fd, FIONREAD, NULL));
	/* An address that holds nothing (an offset from ro could land in
	 * another mapping: ASan's shadow, say). */
	void *none = mmap(NULL, (size_t)ps, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("readv with a bad iovec", readv(fd, (struct iovec *)none, 1));
	munmap(none, (size_t)ps);
	struct iovec two[2] = {{buf, 32}, {ro, 64}};
	mkdir(path("b4"), 0755);
	wait_for(fd, 64);
	ssize_t n = say("readv, second segment read-only", readv(fd, two, 2));
	records("readv", n > 0 ? n : 0);
	printf("FIONREAD after = %d\n", wait_for(fd, 0));
	n = say("read the rest", read(fd, buf, sizeof buf));
	records("rest", n > 0 ? n : 0);
	munmap(ro, (size_t)ps);
	rmdir(path("b1"));
	rmdir(path("b2"));
	rmdir(path("b3"));
	rmdir(path("b4"));
	close(fd);
}

static void test_other_calls(void)
{
	section("other calls on the descriptor");
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE));
	mkdir(path("c1"), 0755);
	printf("FIONREAD = %d\n", fionread(fd));
	struct iovec v = {buf, sizeof buf};
	say("preadv2 at 0", preadv2(fd, &v, 1, 0, 0));
	say("preadv at 0", preadv(fd, &v, 1, 0));
	say("pread at 0", pread(fd, buf, sizeof buf, 0));
	say("lseek(7, SEEK_SET)", lseek(fd, 7, SEEK_SET));
	say("lseek(0, SEEK_END)", lseek(fd, 0, SEEK_END));
	int p[2];
	if (pipe(p) == 0) {
		say("splice from it", splice(fd, NULL, p[1], NULL, 64, 0));
		say("tee from it", tee(fd, p[1], 64, 0));
		close(p[0]);
		close(p[1]);
	}
	int out = open(path("out"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	say("sendfile from it", sendfile(out, fd, NULL, 64));
	close(out);
	unlink(path("out"));
	say("write to it", write(fd, "x", 1));
	say("preadv2 at -1", preadv2(fd, &v, 1, -1, 0));
	records("preadv2", 32);
	say("preadv2 empty", preadv2(fd, &v, 1, -1, 0));
	rmdir(path("c1"));
	close(fd);
}

/* Past max_queued_events: the overflow record, once, counted in FIONREAD. */
static void test_overflow(void)
{
	section("overflow");
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	int max = 16384;
	if (f) {
		if (fscanf(f, "%d", &max) != 1)
			max = 16384;
		fclose(f);
	}
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	say("wd", inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE));
	/* names of one character pad to 16: each record is 32 bytes */
	int pairs = max / 2 + 8;
	for (int i = 0; i < pairs; i++) {
		mkdir(path("o"), 0755);
		rmdir(path("o"));
	}
	int want = max * 32 + 16;
	printf("FIONREAD = %s\n", wait_for(fd, want) == want ? "max*32+16"
							     : "other");
	long records_n = 0, overflows = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e =
				(struct inotify_event *)(buf + off);
			if (e->mask & IN_Q_OVERFLOW) {
				overflows++;
				printf("overflow record after %ld records: wd=%d "
				       "len=%u\n",
				       records_n, e->wd, e->len);
			}
			records_n++;
			off += (ssize_t)sizeof *e + e->len;
		}
	}
	printf("records = max + %ld, overflows = %ld\n", records_n - max,
	       overflows);
	close(fd);
}

static const struct {
	const char *name;
	void (*fn)(void);
} sections[] = {
	{"paths", test_paths},
	{"descriptors", test_descriptors},
	{"buffers", test_buffers},
	{"calls", test_other_calls},
	{"overflow", test_overflow},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s EMPTY_DIR [SECTION...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = argv[1];
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
