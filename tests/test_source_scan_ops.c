/*
 * tests/test_source_scan_ops.c - every operation of the spec's table
 * (linux-semantics.md section 1) through the scanner, each compared with
 * what a real kernel instance reports for it, minus what a scanner cannot
 * see (test_source_scan.h, the differential).  On the local test
 * directory and a tmpfs (UINOTIFY_SOURCE_SCAN: the operations are local),
 * and behind a bindfs mount with the operations made to the backing
 * directory (the kernel instance watches the backing directory, the
 * scanner the mount, through which the kernel sees nothing).
 */
#include "test_source_scan.h"

#include <dirent.h>
#include <sys/time.h>
#include <sys/xattr.h>

static int setxattr_ok(const char *path)
{
	return setxattr(path, "user.uinotify", "v", 1, 0);
}

/* The tree, made before any watch exists. */
static void setup(const char *b)
{
	static const char *const dirs[] = {"d", "d/sub", "d/wdir", "e", "uw"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		CHECK_OK(mkdir(diff_path(b, dirs[i]), 0755));
	static const char *const files[] = {"d/f", "d/h", "d/t1", "d/t2",
					    "d/o", "e/x", "d/sub/s", "d/g"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		write_text(diff_path(b, files[i]), files[i], O_CREAT);
	CHECK_OK(symlink("f", diff_path(b, "d/ln")));
}

static bool has_btime(const char *base)
{
	struct statx stx;
	return statx(AT_FDCWD, base, 0, STATX_BTIME, &stx) == 0 &&
	       (stx.stx_mask & STATX_BTIME);
}

static void watches(struct diff *d)
{
	diff_watch(d, "d", IN_ALL_EVENTS);                     /* 1 */
	diff_watch(d, "d/f", IN_ALL_EVENTS);                   /* 2 */
	diff_watch(d, "d/sub", IN_ALL_EVENTS);                 /* 3 */
	diff_watch(d, "e", IN_CREATE | IN_DELETE | IN_MOVE | IN_ONLYDIR);
	diff_watch(d, "d/ln", IN_ALL_EVENTS | IN_DONT_FOLLOW); /* 5 */
	diff_watch(d, "d/h", IN_ALL_EVENTS);                   /* 6 */
	diff_watch(d, "d/t2", IN_ALL_EVENTS);                  /* 7 */
	diff_watch(d, "d/wdir", IN_ALL_EVENTS);                /* 8 */
	diff_watch(d, "e/x", IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
	diff_watch(d, "d/o", IN_MODIFY | IN_ONESHOT);          /* 10 */
	diff_watch(d, "d/g", IN_ALL_EVENTS);                   /* 11 */
}

#define B(rel) diff_path(b, rel)
#define STEP(what, ...)                                                      \
	do {                                                                 \
		__VA_ARGS__;                                                 \
		diff_step(d, what);                                          \
	} while (0)

static void workload(struct diff *d, const char *b)
{
	int fd;
	char buf[64];
	STEP("create", write_text(B("d/new"), NULL, O_CREAT | O_EXCL));
	STEP("write", write_text(B("d/f"), "more", O_APPEND));
	STEP("write twice", {
		fd = CHECK_OK(open(B("d/f"), O_WRONLY));
		CHECK_EQ(write(fd, "x", 1), 1);
		CHECK_EQ(write(fd, "yz", 2), 2);
		CHECK_OK(close(fd));
	});
	STEP("truncate", CHECK_OK(truncate(B("d/f"), 3)));
	STEP("ftruncate same size", {
		fd = CHECK_OK(open(B("d/f"), O_RDWR));
		CHECK_OK(ftruncate(fd, 3));
		CHECK_OK(close(fd));
	});
	STEP("O_TRUNC", {
		fd = CHECK_OK(open(B("d/f"), O_WRONLY | O_TRUNC));
		CHECK_OK(close(fd));
	});
	STEP("read", {
		write_text(B("d/f"), "abcd", 0);
		fd = CHECK_OK(open(B("d/f"), O_RDONLY));
		CHECK_EQ(read(fd, buf, sizeof buf), 4);
		CHECK_OK(close(fd));
	});
	STEP("open write close, no write", {
		fd = CHECK_OK(open(B("d/f"), O_WRONLY));
		CHECK_OK(close(fd));
	});
	STEP("chmod", CHECK_OK(chmod(B("d/f"), 0600)));
	STEP("chmod same mode", CHECK_OK(chmod(B("d/f"), 0600)));
	/* chown(-1, -1) moves ctime without an event: a scanner cannot
	 * tell it from chmod to the same mode, which has one. */
	diff_expect(d, 1, IN_ATTRIB, "f");
	diff_expect(d, 2, IN_ATTRIB, NULL);
	STEP("chown -1 -1", CHECK_OK(chown(B("d/f"), (uid_t)-1, (gid_t)-1)));
	STEP("chown", CHECK_OK(chown(B("d/f"), 1, 1)));
	STEP("utimes now", CHECK_OK(utimes(B("d/f"), NULL)));
	STEP("utimensat past", {
		struct timespec past[2] = {{1000000, 0}, {2000000, 5}};
		CHECK_OK(utimensat(AT_FDCWD, B("d/f"), past, 0));
	});
	STEP("utimensat atime only", {
		struct timespec t[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
		CHECK_OK(utimensat(AT_FDCWD, B("d/f"), t, 0));
	});
	STEP("utimensat mtime only", {
		struct timespec t[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
		CHECK_OK(utimensat(AT_FDCWD, B("d/f"), t, 0));
	});
	/* Without user xattrs here, nothing on both sides. */
	STEP("setxattr", (void)setxattr_ok(B("d/f")));
	STEP("lchown symlink", CHECK_OK(lchown(B("d/ln"), 0, 0)));
	STEP("link", CHECK_OK(link(B("d/f"), B("d/f2"))));
	STEP("unlink other link", CHECK_OK(unlink(B("d/f2"))));
	STEP("unlink watched", CHECK_OK(unlink(B("d/h"))));
	STEP("mkdir", CHECK_OK(mkdir(B("d/nd"), 0755)));
	STEP("rmdir", CHECK_OK(rmdir(B("d/nd"))));
	STEP("rmdir watched", CHECK_OK(rmdir(B("d/wdir"))));
	STEP("symlink", CHECK_OK(symlink("new", B("d/sl"))));
	STEP("mkfifo", CHECK_OK(mkfifo(B("d/fifo"), 0644)));
	STEP("rename within", CHECK_OK(rename(B("d/new"), B("d/new2"))));
	STEP("rename across", CHECK_OK(rename(B("d/new2"), B("e/new3"))));
	STEP("rename back", CHECK_OK(rename(B("e/new3"), B("d/new4"))));
	STEP("rename over watched",
	     CHECK_OK(rename(B("d/t1"), B("d/t2"))));
	STEP("rename watched dir",
	     CHECK_OK(rename(B("d/sub"), B("d/sub2"))));
	diff_moved(d, 3, "d/sub2");
	STEP("create in renamed dir",
	     write_text(B("d/sub2/in-sub"), "1", O_CREAT));
	STEP("rename in renamed dir",
	     CHECK_OK(rename(B("d/sub2/s"), B("d/sub2/s2"))));
	STEP("mkdir to move", CHECK_OK(mkdir(B("d/mv"), 0755)));
	STEP("move dir across", CHECK_OK(rename(B("d/mv"), B("e/mv"))));
	STEP("exchange across", CHECK_OK(syscall(SYS_renameat2, AT_FDCWD,
						 B("d/f"), AT_FDCWD, B("e/x"),
						 2 /* RENAME_EXCHANGE */)));
	STEP("exchange within", CHECK_OK(syscall(SYS_renameat2, AT_FDCWD,
						 B("d/new4"), AT_FDCWD,
						 B("d/sl"), 2)));
	STEP("hard link", CHECK_OK(link(B("d/sl"), B("d/hl"))));
	STEP("rename onto same inode",
	     CHECK_OK(rename(B("d/sl"), B("d/hl"))));
	STEP("tmp file", write_text(B("d/tmp"), "replacement", O_CREAT));
	STEP("rename over moved watched file",
	     CHECK_OK(rename(B("d/tmp"), B("e/x"))));
	STEP("atomic replace from unwatched dir", {
		write_text(B("uw/tmp"), "new content", O_CREAT);
		CHECK_OK(rename(B("uw/tmp"), B("d/g")));
	});
	STEP("file in unwatched dir", {
		write_text(B("uw/in"), "in", O_CREAT);
		usleep(150000); /* older than the scanner's look by 100 ms */
	});
	/* An object born before the scanner's last look at d, renamed in:
	 * MOVED_TO where the birth time tells it, else a creation. */
	if (!has_btime(d->ubase)) {
		diff_expect(d, 1, IN_CREATE, "in");
		diff_expect(d, 1, IN_CLOSE_WRITE, "in");
		d->drop_kernel = IN_MOVED_TO;
	}
	STEP("move in from unwatched dir",
	     CHECK_OK(rename(B("uw/in"), B("d/in"))));
	/* Where an unwatched object went, a scanner cannot know. */
	diff_expect(d, 1, IN_DELETE, "in");
	d->drop_kernel = IN_MOVED_FROM;
	STEP("move out to unwatched dir",
	     CHECK_OK(rename(B("d/in"), B("uw/in"))));
	/* A watched one it follows: MOVED_FROM and MOVE_SELF.  Except
	 * through a FUSE filesystem that works by path (bindfs): its node
	 * answers for the old path only, and the object is lost. */
	if (strcmp(d->kbase, d->ubase)) {
		d->drop_kernel = IN_MOVED_FROM | IN_MOVE_SELF;
		diff_expect(d, 5, IN_ATTRIB, NULL);
		diff_expect(d, 5, IN_DELETE_SELF, NULL);
		diff_expect(d, 5, IN_IGNORED, NULL);
		diff_expect(d, 1, IN_DELETE, "ln");
	}
	STEP("move watched out to unwatched dir",
	     CHECK_OK(rename(B("d/ln"), B("uw/ln"))));
	STEP("oneshot", write_text(B("d/o"), "1", O_APPEND));
	STEP("oneshot again", write_text(B("d/o"), "2", O_APPEND));
	STEP("listing", {
		DIR *dir = opendir(B("d"));
		CHECK(dir);
		while (readdir(dir))
			;
		CHECK_OK(closedir(dir));
	});
	STEP("mkdir then file", {
		CHECK_OK(mkdir(B("d/nd2"), 0755));
		write_text(B("d/nd2/inner"), "z", O_CREAT);
	});
	STEP("delete many", {
		CHECK_OK(unlink(B("d/nd2/inner")));
		CHECK_OK(rmdir(B("d/nd2")));
		CHECK_OK(unlink(B("d/fifo")));
	});
}

static void run_differential(const char *kbase, const char *ubase,
			     enum uinotify_source src)
{
	scan_fast();
	struct diff diff, *d = &diff;
	diff_begin(d, kbase, ubase, src);
	watches(d);
	workload(d, kbase);
	diff_end(d);
	scan_finish();
}

TEST(differential_local)
{
	const char *b = uin_test_tmpdir();
	setup(b);
	run_differential(b, b, UINOTIFY_SOURCE_SCAN);
}

TEST(differential_tmpfs)
{
	if (geteuid() != 0)
		SKIP("needs root to mount a tmpfs");
	const char *mnt = P("tmpfs");
	CHECK_OK(mkdir(mnt, 0755));
	if (mount("uinotify-scan", mnt, "tmpfs", 0, "size=8m") < 0)
		SKIP("cannot mount a tmpfs");
	setup(mnt);
	run_differential(mnt, mnt, UINOTIFY_SOURCE_SCAN);
	CHECK_OK(umount(mnt));
}

/* Behind bindfs, changes made to the backing directory: the scanner on
 * the mount must report what the kernel reports on the backing side. */
TEST(differential_bindfs_scan)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	setup(src);
	run_differential(src, mnt, UINOTIFY_SOURCE_SCAN);
	bindfs_umount(mnt);
}

/* The same through AUTO, which gives the mount the kernel source and the
 * scanner: the kernel sees nothing of these changes, the scanner all. */
TEST(differential_bindfs_auto)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	setup(src);
	run_differential(src, mnt, UINOTIFY_SOURCE_AUTO);
	bindfs_umount(mnt);
}
