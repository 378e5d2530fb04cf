/*
 * tests/test_source_kernel.h - the differential workload shared by the
 * kernel-source tests: one scripted sequence of every operation of the
 * spec's table (linux-semantics.md section 1), watched at the same time by
 * a real kernel inotify instance and by uinotify on the kernel source, and
 * the byte streams compared (wd numbers and lengths included; cookies
 * compared by pairing: each stream's cookies are renamed to first-seen
 * ordinals).  The workload ends by creating the directory "d/zz-end"; its
 * CREATE on the watch of "d" tells the reader that everything before it
 * has arrived.
 */
#ifndef UIN_TEST_SOURCE_KERNEL_H
#define UIN_TEST_SOURCE_KERNEL_H

#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* A byte stream of inotify records. */
struct stream {
	char *buf;
	size_t len, cap;
};

static inline void stream_put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 4096;
		s->buf = realloc(s->buf, s->cap);
		CHECK(s->buf);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* Append one record as Linux formats it (name padded to 16). */
static inline void stream_event(struct stream *s, int32_t wd, uint32_t mask,
				uint32_t cookie, const char *name)
{
	struct inotify_event e = {.wd = wd, .mask = mask, .cookie = cookie};
	size_t nl = name ? strlen(name) : 0;
	e.len = name ? (uint32_t)((nl + 1 + 15) / 16 * 16) : 0;
	stream_put(s, &e, sizeof e);
	if (e.len) {
		char pad[272] = {0};
		memcpy(pad, name, nl);
		stream_put(s, pad, e.len);
	}
}

static inline void stream_free(struct stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof *s);
}

/* Whether s holds a record (wd, mask with IN_CREATE, name). */
static inline bool stream_has(const struct stream *s, int32_t wd,
			      uint32_t mask, const char *name)
{
	for (size_t off = 0; off + sizeof(struct inotify_event) <= s->len;) {
		const struct inotify_event *e = (const void *)(s->buf + off);
		if (e->wd == wd && (e->mask & mask) == mask && e->len &&
		    !strcmp(e->name, name))
			return true;
		off += sizeof *e + e->len;
	}
	return false;
}

static inline void stream_dump(const char *title, const struct stream *s)
{
	fprintf(stderr, "--- %s (%zu bytes)\n", title, s->len);
	for (size_t off = 0; off + sizeof(struct inotify_event) <= s->len;) {
		const struct inotify_event *e = (const void *)(s->buf + off);
		fprintf(stderr, "  wd=%d mask=%#010x cookie=%u len=%u %s\n",
			e->wd, e->mask, e->cookie, e->len,
			e->len ? e->name : "");
		off += sizeof *e + e->len;
	}
}

/* Cookies renamed to 1, 2, ... in first-seen order. */
static inline void stream_normalise_cookies(struct stream *s)
{
	uint32_t seen[512];
	unsigned n = 0;
	for (size_t off = 0; off + sizeof(struct inotify_event) <= s->len;) {
		struct inotify_event *e = (void *)(s->buf + off);
		if (e->cookie) {
			unsigned i = 0;
			while (i < n && seen[i] != e->cookie)
				i++;
			if (i == n) {
				CHECK(n < 512);
				seen[n++] = e->cookie;
			}
			e->cookie = i + 1;
		}
		off += sizeof *e + e->len;
	}
}

/* The two streams must be identical up to cookie pairing. */
static inline void streams_check_equal(const char *what, struct stream *k,
				       struct stream *u)
{
	stream_normalise_cookies(k);
	stream_normalise_cookies(u);
	if (getenv("UIN_TEST_DUMP"))
		stream_dump(what, k);
	if (k->len != u->len || memcmp(k->buf, u->buf, k->len)) {
		fprintf(stderr, "%s: streams differ\n", what);
		stream_dump("kernel", k);
		stream_dump("uinotify", u);
		uin_test_fail(__FILE__, __LINE__, "%s: streams differ", what);
	}
}

/* Read a kernel inotify fd until the marker arrives (5 s at most). */
static inline void kernel_read_until(int fd, struct stream *s, int32_t wd,
				     const char *marker)
{
	char buf[65536];
	for (int tries = 0; !stream_has(s, wd, IN_CREATE, marker); tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK(poll(&p, 1, 5000) == 1);
		ssize_t n = read(fd, buf, sizeof buf);
		CHECK(n > 0);
		stream_put(s, buf, (size_t)n);
	}
}

/* Workload ----------------------------------------------------------------- */

#define P(rel) uin_test_path(rel)

static inline void make_file(const char *rel, const char *content)
{
	int fd = CHECK_OK(open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644));
	if (content)
		CHECK_EQ(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	CHECK_OK(close(fd));
}

/* The end marker: a directory, whose creation is one single event (a
 * file's would be followed by OPEN and CLOSE_WRITE, which a reader that
 * stops at the CREATE could miss on one side only). */
static inline void make_marker(const char *rel)
{
	CHECK_OK(mkdir(P(rel), 0755));
}

/* The tree the watches are on, made before any watch exists. */
static inline void workload_setup(void)
{
	CHECK_OK(mkdir(P("d"), 0755));
	CHECK_OK(mkdir(P("d/sub"), 0755));
	CHECK_OK(mkdir(P("d/wdir"), 0755));
	CHECK_OK(mkdir(P("e"), 0755));
	make_file("d/f", "hello\n");
	make_file("d/g", "g\n");
	make_file("d/h", "h\n");
	make_file("d/t1", "t1\n");
	make_file("d/t2", "t2\n");
	make_file("d/o", "o\n");
	make_file("e/x", "x\n");
	make_file("d/sub/s", "s\n");
	CHECK_OK(symlink("f", P("d/ln")));
}

struct watch_spec {
	const char *rel;
	uint32_t mask;
};

/* In this order, so that both sides number them 1, 2, ... */
static const struct watch_spec workload_watches[] = {
	{"d", IN_ALL_EVENTS},                      /* 1: P of most things */
	{"d/f", IN_ALL_EVENTS},                    /* 2: S of the main file */
	{"d/sub", IN_ALL_EVENTS},                  /* 3: a subdirectory */
	{"e", IN_CREATE | IN_DELETE | IN_MOVE | IN_ONLYDIR}, /* 4: narrower */
	{"d/ln", IN_ALL_EVENTS | IN_DONT_FOLLOW},  /* 5: the symlink itself */
	{"d/g", IN_ALL_EVENTS},                    /* 6: unlinked while open */
	{"d/h", IN_ALL_EVENTS},                    /* 7: unlinked, not open */
	{"d/t2", IN_ALL_EVENTS},                   /* 8: rename target */
	{"d/wdir", IN_ALL_EVENTS},                 /* 9: rmdir'd */
	{"e/x", IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF}, /* 10 */
	{"d/o", IN_MODIFY | IN_ONESHOT},           /* 11: one-shot */
};
#define N_WORKLOAD_WATCHES                                                   \
	(sizeof workload_watches / sizeof *workload_watches)

static inline void workload_run(void)
{
	char buf[64];
	int fd;

	/* create, write, close */
	fd = CHECK_OK(open(P("d/new"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(write(fd, "", 0), 0); /* nothing */
	CHECK_OK(close(fd));
	/* write to a watched file */
	fd = CHECK_OK(open(P("d/f"), O_WRONLY));
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_EQ(write(fd, "y", 1), 1); /* merges with the previous MODIFY */
	CHECK_OK(close(fd));
	/* append */
	fd = CHECK_OK(open(P("d/f"), O_WRONLY | O_APPEND));
	CHECK_EQ(write(fd, "z", 1), 1);
	CHECK_OK(close(fd));
	/* truncate, ftruncate, O_TRUNC */
	CHECK_OK(truncate(P("d/f"), 3));
	fd = CHECK_OK(open(P("d/f"), O_RDWR));
	CHECK_OK(ftruncate(fd, 2));
	CHECK_OK(close(fd));
	fd = CHECK_OK(open(P("d/f"), O_RDONLY | O_TRUNC));
	CHECK_OK(close(fd));
	/* read, read at EOF */
	CHECK_OK(truncate(P("d/f"), 4));
	fd = CHECK_OK(open(P("d/f"), O_RDONLY));
	CHECK_EQ(read(fd, buf, sizeof buf), 4);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_OK(close(fd));
	/* attributes */
	CHECK_OK(chmod(P("d/f"), 0600));
	CHECK_OK(chmod(P("d/f"), 0600)); /* same mode: still ATTRIB */
	CHECK_OK(chown(P("d/f"), (uid_t)-1, (gid_t)-1)); /* nothing */
	CHECK_OK(utimes(P("d/f"), NULL));
	struct timespec only_atime[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	CHECK_OK(utimensat(AT_FDCWD, P("d/f"), only_atime, 0)); /* ACCESS */
	struct timespec only_mtime[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	CHECK_OK(utimensat(AT_FDCWD, P("d/f"), only_mtime, 0)); /* MODIFY */
	/* the symlink itself (DONT_FOLLOW watch), and through it */
	CHECK_OK(lchown(P("d/ln"), 0, 0));
	fd = CHECK_OK(open(P("d/ln"), O_RDONLY)); /* follows: f's OPEN */
	CHECK_OK(close(fd));
	/* link, then unlink while another link remains */
	CHECK_OK(link(P("d/f"), P("d/f2")));
	CHECK_OK(unlink(P("d/f2")));
	/* unlink of the last link while open, then write and close */
	fd = CHECK_OK(open(P("d/g"), O_WRONLY));
	CHECK_OK(unlink(P("d/g")));
	CHECK_EQ(write(fd, "late", 4), 4);
	CHECK_OK(close(fd)); /* CLOSE_WRITE, then DELETE_SELF, IGNORED */
	/* unlink, not open */
	CHECK_OK(unlink(P("d/h")));
	/* mkdir, rmdir; rmdir of a watched directory */
	CHECK_OK(mkdir(P("d/nd"), 0755));
	CHECK_OK(rmdir(P("d/nd")));
	CHECK_OK(rmdir(P("d/wdir")));
	/* symlink, mkfifo */
	CHECK_OK(symlink("new", P("d/sl")));
	CHECK_OK(mkfifo(P("d/fifo"), 0644));
	/* rename within one directory, across two, back */
	CHECK_OK(rename(P("d/new"), P("d/new2")));
	CHECK_OK(rename(P("d/new2"), P("e/new3")));
	CHECK_OK(rename(P("e/new3"), P("d/new4")));
	/* rename over an existing (watched) target */
	CHECK_OK(rename(P("d/t1"), P("d/t2")));
	/* rename of a watched directory; then work inside it */
	CHECK_OK(rename(P("d/sub"), P("d/sub2")));
	make_file("d/sub2/in-sub", "1");
	CHECK_OK(rename(P("d/sub2/s"), P("d/sub2/s2")));
	/* a directory moved between watched directories */
	CHECK_OK(mkdir(P("d/mv"), 0755));
	CHECK_OK(rename(P("d/mv"), P("e/mv")));
	/* RENAME_EXCHANGE, across directories and within one */
	CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, P("d/f"), AT_FDCWD,
			 P("e/x"), 2 /* RENAME_EXCHANGE */));
	CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, P("d/new4"), AT_FDCWD,
			 P("d/sl"), 2));
	/* rename onto a hard link of the same inode: nothing */
	CHECK_OK(link(P("d/new4"), P("d/hl")));
	CHECK_OK(rename(P("d/new4"), P("d/hl")));
	/* atomic replace of a watched file (now at e/x after the exchange) */
	make_file("d/tmp", "replacement");
	CHECK_OK(rename(P("d/tmp"), P("d/x")));
	CHECK_OK(rename(P("d/x"), P("e/x"))); /* over the watched inode */
	/* one-shot: two MODIFYs, only the first reported, then IGNORED */
	fd = CHECK_OK(open(P("d/o"), O_WRONLY | O_APPEND));
	CHECK_EQ(write(fd, "1", 1), 1);
	CHECK_OK(close(fd));
	fd = CHECK_OK(open(P("d/o"), O_WRONLY | O_APPEND));
	CHECK_EQ(write(fd, "2", 1), 1);
	CHECK_OK(close(fd));
	/* a directory listing: OPEN, ACCESS per getdents (incl. the last),
	 * CLOSE_NOWRITE, all with ISDIR */
	DIR *dir = opendir(P("d"));
	CHECK(dir);
	while (readdir(dir))
		;
	CHECK_OK(closedir(dir));
	/* the marker */
	make_marker("d/zz-end");
}

#endif
