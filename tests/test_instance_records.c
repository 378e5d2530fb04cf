/*
 * tests/test_instance_records.c - the bytes of the records, compared with
 * the kernel's own inotify where a real operation can produce the same
 * event; wds, masks, cookies, IN_IGNORED, IN_ONESHOT, IN_UNMOUNT.
 */
#include "test_instance_util.h"

static void name_of_len(char *buf, size_t n, char fill)
{
	memset(buf, fill, n);
	buf[n] = 0;
}

TEST(names_1_15_16_255_match_kernel)
{
	const char *dir = make_dir("d");
	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ufd = inst_new(IN_NONBLOCK);
	CHECK_EQ(inotify_add_watch(kfd, dir, IN_CREATE), 1);
	CHECK_EQ(uinotify_add_watch(ufd, dir, IN_CREATE), 1);
	struct uinotify_inode *d = none_inode(dir);

	static const size_t lens[] = {1, 15, 16, 255};
	char name[256], path[600];
	for (size_t i = 0; i < 4; i++) {
		name_of_len(name, lens[i], (char)('a' + i));
		snprintf(path, sizeof path, "%s/%s", dir, name);
		close(CHECK_OK(open(path, O_CREAT | O_WRONLY, 0644)));
		uinotify_hook_dirent(d, name, NULL, IN_CREATE, 0);
	}
	char kb[4096], ub[4096];
	ssize_t kn = CHECK_OK(read(kfd, kb, sizeof kb));
	ssize_t un = CHECK_OK(uinotify_read(ufd, ub, sizeof ub));
	/* 16+16, 16+16, 16+32, 16+256 */
	CHECK_EQ(kn, 32 + 32 + 48 + 272);
	CHECK_EQ(un, kn);
	CHECK(memcmp(kb, ub, (size_t)kn) == 0);

	size_t off = 0;
	for (size_t i = 0; i < 4; i++) {
		name_of_len(name, lens[i], (char)('a' + i));
		EXPECT_REC(ub, &off, 1, IN_CREATE, 0, name);
	}
	expect_empty(ufd);
	uinotify_inode_put(d);
	close(kfd);
	CHECK_OK(uinotify_close(ufd));
}

TEST(self_events_have_len_0_and_match_kernel)
{
	const char *f = make_file("f");
	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ufd = inst_new(IN_NONBLOCK);
	CHECK_EQ(inotify_add_watch(kfd, f, IN_ATTRIB), 1);
	CHECK_EQ(uinotify_add_watch(ufd, f, IN_ATTRIB), 1);
	struct uinotify_inode *in = none_inode(f);
	CHECK_OK(chmod(f, 0600));
	uinotify_hook_inode(in, IN_ATTRIB, 0);
	char kb[256], ub[256];
	ssize_t kn = CHECK_OK(read(kfd, kb, sizeof kb));
	CHECK_EQ(CHECK_OK(uinotify_read(ufd, ub, sizeof ub)), kn);
	CHECK_EQ(kn, 16);
	CHECK(memcmp(kb, ub, 16) == 0);
	size_t off = 0;
	EXPECT_REC(ub, &off, 1, IN_ATTRIB, 0, NULL);
	uinotify_inode_put(in);
	close(kfd);
	CHECK_OK(uinotify_close(ufd));
}

TEST(isdir_on_directory_subjects)
{
	const char *dir = make_dir("d");
	const char *sub = make_dir("d/sub");
	int fd = inst_new(IN_NONBLOCK);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, dir, IN_ALL_EVENTS));
	int swd = (int)CHECK_OK(uinotify_add_watch(fd, sub, IN_ALL_EVENTS));
	struct uinotify_inode *d = none_inode(dir), *s = none_inode(sub);
	uinotify_hook_dirent(d, "sub", s, IN_CREATE, 0);
	uinotify_hook_parent(d, "sub", s, IN_OPEN);
	uinotify_hook_inode(s, IN_MOVE_SELF, 0);
	char b[512];
	ssize_t n = CHECK_OK(uinotify_read(fd, b, sizeof b));
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_CREATE | IN_ISDIR, 0, "sub");
	EXPECT_REC(b, &off, wd, IN_OPEN | IN_ISDIR, 0, "sub");
	EXPECT_REC(b, &off, swd, IN_OPEN | IN_ISDIR, 0, NULL);
	EXPECT_REC(b, &off, swd, IN_MOVE_SELF, 0, NULL); /* never ISDIR */
	CHECK_EQ(off, (size_t)n);
	expect_empty(fd);
	uinotify_inode_put(d);
	uinotify_inode_put(s);
	CHECK_OK(uinotify_close(fd));
}

TEST(move_cookies)
{
	const char *dir = make_dir("d");
	const char *f = make_file("d/a");
	int fd = inst_new(IN_NONBLOCK);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, dir, IN_ALL_EVENTS));
	int fwd = (int)CHECK_OK(uinotify_add_watch(fd, f, IN_ALL_EVENTS));
	struct uinotify_inode *d = none_inode(dir), *fi = none_inode(f);
	uint32_t c = uinotify_hook_move(d, "a", d, "b", fi);
	CHECK(c != 0);
	char b[512];
	ssize_t n = CHECK_OK(uinotify_read(fd, b, sizeof b));
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_MOVED_FROM, c, "a");
	EXPECT_REC(b, &off, wd, IN_MOVED_TO, c, "b");
	EXPECT_REC(b, &off, fwd, IN_MOVE_SELF, 0, NULL);
	CHECK_EQ(off, (size_t)n);
	uinotify_inode_put(d);
	uinotify_inode_put(fi);
	CHECK_OK(uinotify_close(fd));
}

TEST(rm_watch_queues_ignored_and_keeps_queued_events)
{
	const char *f = make_file("f");
	int fd = inst_new(IN_NONBLOCK);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, f, IN_MODIFY));
	struct uinotify_inode *in = none_inode(f);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	CHECK_OK(uinotify_rm_watch(fd, wd));
	uinotify_hook_inode(in, IN_MODIFY, 0); /* nobody watches now */
	char b[256];
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 32);
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_IGNORED, 0, NULL);
	CHECK_ERRNO(uinotify_rm_watch(fd, wd), EINVAL);
	expect_empty(fd);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(same_inode_any_path_same_wd)
{
	const char *dir = make_dir("d");
	const char *f = make_file("d/f");
	const char *hard = uin_test_path("d/hard");
	const char *sym = uin_test_path("sym");
	CHECK_OK(link(f, hard));
	CHECK_OK(symlink(f, sym));
	char dotted[600];
	snprintf(dotted, sizeof dotted, "%s/./f", dir);

	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	int fd = inst_new(IN_NONBLOCK);
	const char *paths[] = {f, hard, sym, dotted};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(inotify_add_watch(kfd, paths[i], IN_MODIFY), 1);
		CHECK_EQ(uinotify_add_watch(fd, paths[i], IN_MODIFY), 1);
	}
	/* The symlink itself is another inode. */
	CHECK_EQ(inotify_add_watch(kfd, sym, IN_MODIFY | IN_DONT_FOLLOW), 2);
	CHECK_EQ(uinotify_add_watch(fd, sym, IN_MODIFY | IN_DONT_FOLLOW), 2);
	close(kfd);
	CHECK_OK(uinotify_close(fd));
}

TEST(mask_replaced_or_ored)
{
	const char *f = make_file("f");
	int fd = inst_new(IN_NONBLOCK);
	struct uinotify_inode *in = none_inode(f);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, f, IN_MODIFY));
	CHECK_EQ(uinotify_add_watch(fd, f, IN_ATTRIB), wd); /* replaced */
	uinotify_hook_inode(in, IN_MODIFY, 0);
	uinotify_hook_inode(in, IN_ATTRIB, 0);
	CHECK_EQ(uinotify_add_watch(fd, f, IN_MODIFY | IN_MASK_ADD), wd);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	uinotify_hook_inode(in, IN_ATTRIB, 0);
	char b[256];
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 48);
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_ATTRIB, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_ATTRIB, 0, NULL);
	/* MASK_CREATE on a watched inode, whatever the path. */
	CHECK_ERRNO(uinotify_add_watch(fd, f, IN_MODIFY | IN_MASK_CREATE),
		    EEXIST);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(oneshot_fires_once_then_ignored)
{
	const char *f = make_file("f");
	int fd = inst_new(IN_NONBLOCK);
	struct uinotify_inode *in = none_inode(f);
	int wd = (int)CHECK_OK(
		uinotify_add_watch(fd, f, IN_MODIFY | IN_ONESHOT));
	uinotify_hook_inode(in, IN_MODIFY, 0);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	char b[256];
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 32);
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_IGNORED, 0, NULL);
	CHECK_ERRNO(uinotify_rm_watch(fd, wd), EINVAL);
	CHECK_EQ(uinotify_add_watch(fd, f, IN_MODIFY), wd + 1);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(flag_only_mask_gets_unmount_and_ignored)
{
	const char *dir = make_dir("d");
	int fd = inst_new(IN_NONBLOCK);
	struct uinotify_inode *in = none_inode(dir);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, dir, IN_DONT_FOLLOW));
	uinotify_hook_inode(in, IN_MODIFY, 0); /* not wanted */
	uinotify_hook_unmount_inode(in);
	char b[256];
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 32);
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_IGNORED, 0, NULL);
	expect_empty(fd);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(delete_self_then_ignored)
{
	const char *f = make_file("f");
	int fd = inst_new(IN_NONBLOCK);
	struct uinotify_inode *in = none_inode(f);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, f, IN_DELETE_SELF));
	uinotify_hook_inode_dead(in);
	char b[256];
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 32);
	size_t off = 0;
	EXPECT_REC(b, &off, wd, IN_DELETE_SELF, 0, NULL);
	EXPECT_REC(b, &off, wd, IN_IGNORED, 0, NULL);
	CHECK_ERRNO(uinotify_rm_watch(fd, wd), EINVAL);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(wds_increase_and_are_not_reused)
{
	const char *a = make_file("a"), *b = make_file("b");
	int kfd = (int)CHECK_OK(inotify_init1(0));
	int fd = inst_new(0);
	for (int round = 0; round < 3; round++) {
		int kw = inotify_add_watch(kfd, a, IN_OPEN);
		CHECK_EQ(uinotify_add_watch(fd, a, IN_OPEN), kw);
		CHECK_EQ(uinotify_rm_watch(fd, kw), inotify_rm_watch(kfd, kw));
	}
	CHECK_EQ(uinotify_add_watch(fd, b, IN_OPEN), 4);
	close(kfd);
	CHECK_OK(uinotify_close(fd));
}

TEST(setnextwd_ioctl_as_kernel)
{
	const char *a = make_file("a"), *b = make_file("b");
	int kfd = (int)CHECK_OK(inotify_init1(0));
	int fd = inst_new(0);
	unsigned long req = _IOW('I', 0, int32_t); /* INOTIFY_IOC_SETNEXTWD */
	int kr = ioctl(kfd, req, 0);
	if (kr < 0 && errno == ENOTTY)
		SKIP("kernel without CONFIG_CHECKPOINT_RESTORE");
	CHECK_ERRNO(uinotify_ioctl(fd, req, 0), EINVAL);
	CHECK_ERRNO(uinotify_ioctl(fd, req, (unsigned long)INT32_MAX + 1),
		    EINVAL);
	CHECK_OK(ioctl(kfd, req, 7));
	CHECK_OK(uinotify_ioctl(fd, req, 7));
	CHECK_EQ(uinotify_add_watch(fd, a, IN_OPEN),
		 inotify_add_watch(kfd, a, IN_OPEN));
	CHECK_OK(ioctl(kfd, req, 7));
	CHECK_OK(uinotify_ioctl(fd, req, 7));
	/* 7 is in use: the next free one up */
	int kw = inotify_add_watch(kfd, b, IN_OPEN);
	CHECK_EQ(kw, 8);
	CHECK_EQ(uinotify_add_watch(fd, b, IN_OPEN), kw);
	CHECK_ERRNO(uinotify_ioctl(fd, TCGETS, NULL), ENOTTY);
	close(kfd);
	CHECK_OK(uinotify_close(fd));
}
