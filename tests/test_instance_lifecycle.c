/*
 * tests/test_instance_lifecycle.c - close removes every watch without
 * IN_IGNORED and frees the queue; instances are recycled; dup()ed fds keep
 * an instance alive; every allocation failure is an error, not a crash or
 * a leak; the NONE source's superblocks go with their last inode.
 */
#include "test_instance_util.h"

TEST(close_frees_watches_queue_and_instance)
{
	const char *d = make_dir("d");
	const char *f = make_file("d/f");
	int fd = inst_new(IN_NONBLOCK);
	CHECK_OK(uinotify_add_watch(fd, d, IN_ALL_EVENTS));
	CHECK_OK(uinotify_add_watch(fd, f, IN_ALL_EVENTS));
	struct uinotify_inode *din = none_inode(d), *fin = none_inode(f);
	/* A second instance on the same inodes sees no IN_IGNORED. */
	int other = inst_new(IN_NONBLOCK);
	int owd = (int)CHECK_OK(uinotify_add_watch(other, f, IN_ALL_EVENTS));
	uinotify_hook_parent(din, "f", fin, IN_MODIFY);
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.instances, 2);
	CHECK_EQ(c.watches, 3);
	CHECK_EQ(c.events, 3);
	CHECK_OK(uinotify_close(fd));
	uinotify_debug_counts(&c);
	CHECK_EQ(c.instances, 1);
	CHECK_EQ(c.watches, 1);
	CHECK_EQ(c.events, 1);
	char b[64];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(other, b, sizeof b)), 16);
	EXPECT_REC(b, &off, owd, IN_MODIFY, 0, NULL);
	expect_empty(other);
	uinotify_inode_put(din);
	uinotify_inode_put(fin);
	CHECK_OK(uinotify_close(other));
	CHECK_EQ(uin_source_none_sb_count(), 0);
}

TEST(closed_fd_is_no_instance_and_number_reuse_is_safe)
{
	int fd = inst_new(0);
	CHECK_OK(uinotify_close(fd));
	CHECK_ERRNO(uinotify_rm_watch(fd, 1), EBADF);
	/* The same number, now a regular file. */
	int reg = (int)CHECK_OK(open(make_file("f"), O_RDONLY));
	CHECK_EQ(reg, fd);
	CHECK_ERRNO(uinotify_rm_watch(reg, 1), EINVAL);
	CHECK(!uinotify_is_instance(reg));
	close(reg);
}

TEST(many_instances_recycled)
{
	const char *f = make_file("f");
	for (int round = 0; round < 300; round++) {
		int fds[8];
		for (int i = 0; i < 8; i++) {
			fds[i] = inst_new(IN_NONBLOCK);
			CHECK_EQ(uinotify_add_watch(fds[i], f, IN_OPEN), 1);
		}
		for (int i = 0; i < 8; i++)
			CHECK_OK(uinotify_close(fds[i]));
	}
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.instances, 0);
}

TEST(high_fd_numbers)
{
	/* The fd table grows past its first size. */
	int fd = inst_new(IN_NONBLOCK);
	int high = (int)CHECK_OK(fcntl(fd, F_DUPFD_CLOEXEC, 900));
	CHECK(uinotify_is_instance(high));
	CHECK_OK(uinotify_close(fd));
	CHECK(uinotify_is_instance(high));
	int fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = inst_new(0);
	CHECK_OK(uinotify_close(high));
	for (int i = 0; i < 3; i++)
		CHECK_OK(uinotify_close(fds[i]));
}

TEST(close_dup_then_original)
{
	int fd = inst_new(IN_NONBLOCK);
	int d = (int)CHECK_OK(dup(fd));
	CHECK(uinotify_is_instance(d));
	CHECK_OK(uinotify_close(d));
	CHECK(uinotify_is_instance(fd));
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.instances, 1);
	CHECK_OK(uinotify_close(fd));
}

TEST(none_source_superblocks_go_with_their_inodes)
{
	const char *f = make_file("f");
	CHECK_EQ(uin_source_none_sb_count(), 0);
	struct uinotify_inode *a = none_inode(f), *b = none_inode(f);
	CHECK(a == b);
	CHECK_EQ(uin_source_none_sb_count(), 1);
	uinotify_inode_put(a);
	CHECK_EQ(uin_source_none_sb_count(), 1);
	uinotify_inode_put(b);
	CHECK_EQ(uin_source_none_sb_count(), 0);
	/* /proc is another device: another superblock. */
	struct uinotify_inode *c = none_inode(f), *p = none_inode("/proc");
	CHECK_EQ(uin_source_none_sb_count(), 2);
	uinotify_inode_put(c);
	uinotify_inode_put(p);
	CHECK_EQ(uin_source_none_sb_count(), 0);
}

/* Fail the n-th allocation of a whole scenario, for every n. */
static void scenario(void)
{
	const char *d = uin_test_path("d");
	int fd = uinotify_init1(IN_NONBLOCK);
	if (fd < 0) {
		CHECK(errno == ENOMEM);
		return;
	}
	int wd = uinotify_add_watch(fd, d, IN_ALL_EVENTS);
	CHECK(wd == 1 || (wd == -1 && errno == ENOMEM));
	struct uinotify_inode *in = NULL;
	int r = uin_source_none_inode(d, 0, &in);
	CHECK(r == 0 || r == -ENOMEM);
	if (in) {
		uinotify_hook_dirent(in, "a", NULL, IN_CREATE, 0);
		uinotify_hook_dirent(in, "b", NULL, IN_CREATE, 0);
	}
	char b[256];
	ssize_t n = uinotify_read(fd, b, sizeof b);
	if (in && wd == 1) {
		/* both events, or one of them replaced by the overflow */
		CHECK(n == 64 || n == 48 || n == 16);
	}
	if (wd == 1)
		CHECK(uinotify_rm_watch(fd, wd) == 0);
	if (in)
		uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(every_allocation_failure_is_clean)
{
	make_dir("d");
	uinotify_set_default_source(UINOTIFY_SOURCE_NONE);
	scenario(); /* warm up: the fd table, the free list */
	long before = uinotify_debug_alloc_calls();
	scenario();
	long per_run = uinotify_debug_alloc_calls() - before;
	CHECK(per_run > 3);
	for (long n = 1; n <= per_run + 1; n++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			uinotify_debug_fail_alloc(n, persistent);
			scenario();
			uinotify_debug_fail_alloc(0, false);
			struct uinotify_debug_counts c;
			uinotify_debug_counts(&c);
			if (c.handles || c.watches || c.inodes || c.sbs ||
			    c.events || c.instances)
				uin_test_fail(__FILE__, __LINE__,
					      "leak failing alloc %ld (%s)", n,
					      persistent ? "persistent" : "once");
		}
	}
}
