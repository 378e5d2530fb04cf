/*
 * tests/test_instance_merge.c - inotify_merge: only into the tail, same
 * wd, same full mask, same name, cookie not compared, never into
 * IN_IGNORED, never while full.
 */
#include "test_instance_util.h"

struct fixture {
	int fd, dwd, fwd;
	struct uinotify_inode *dir, *file;
};

static void setup(struct fixture *fx, uint32_t mask)
{
	const char *d = make_dir("d");
	const char *f = make_file("d/f");
	fx->fd = inst_new(IN_NONBLOCK);
	fx->dwd = (int)CHECK_OK(uinotify_add_watch(fx->fd, d, mask));
	fx->fwd = (int)CHECK_OK(uinotify_add_watch(fx->fd, f, mask));
	fx->dir = none_inode(d);
	fx->file = none_inode(f);
}

static void teardown(struct fixture *fx)
{
	uinotify_inode_put(fx->dir);
	uinotify_inode_put(fx->file);
	CHECK_OK(uinotify_close(fx->fd));
}

TEST(same_event_merges_into_tail)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_CREATE, 0);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_CREATE, 0);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16 + 32);
	EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, fx.dwd, IN_CREATE, 0, "x");
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(alternating_parent_and_self_never_merge)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	for (int i = 0; i < 3; i++)
		uinotify_hook_parent(fx.dir, "f", fx.file, IN_MODIFY);
	char b[512];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 3 * (32 + 16));
	for (int i = 0; i < 3; i++) {
		EXPECT_REC(b, &off, fx.dwd, IN_MODIFY, 0, "f");
		EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	}
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(event_already_read_absorbs_nothing)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	char b[256];
	size_t off = 0;
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	/* Only the tail: a read of the head leaves the tail to merge with. */
	uinotify_hook_inode(fx.file, IN_ATTRIB, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	off = 0;
	EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(cookie_not_compared)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_MOVED_FROM, 11);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_MOVED_FROM, 22);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 32);
	EXPECT_REC(b, &off, fx.dwd, IN_MOVED_FROM, 11, "x");
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(mask_name_and_wd_must_match)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_CREATE, 0);
	uinotify_hook_dirent(fx.dir, "x", NULL, IN_CREATE | IN_ISDIR, 0);
	uinotify_hook_dirent(fx.dir, "y", NULL, IN_CREATE | IN_ISDIR, 0);
	uinotify_hook_dirent(fx.dir, "xy", NULL, IN_CREATE | IN_ISDIR, 0);
	uinotify_hook_inode(fx.dir, IN_ATTRIB, 0);
	uinotify_hook_inode(fx.file, IN_ATTRIB, 0);
	char b[512];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 4 * 32 + 2 * 16);
	EXPECT_REC(b, &off, fx.dwd, IN_CREATE, 0, "x");
	EXPECT_REC(b, &off, fx.dwd, IN_CREATE | IN_ISDIR, 0, "x");
	EXPECT_REC(b, &off, fx.dwd, IN_CREATE | IN_ISDIR, 0, "y");
	EXPECT_REC(b, &off, fx.dwd, IN_CREATE | IN_ISDIR, 0, "xy");
	EXPECT_REC(b, &off, fx.dwd, IN_ATTRIB | IN_ISDIR, 0, NULL);
	EXPECT_REC(b, &off, fx.fwd, IN_ATTRIB, 0, NULL);
	teardown(&fx);
}

TEST(ignored_never_absorbs)
{
	int fd = inst_new(IN_NONBLOCK);
	struct uin_instance *inst;
	CHECK_EQ(uin_instance_get(fd, &inst), 0);
	/* Two IGNOREDs for one wd cannot come from the engine: queue them
	 * directly, as inotify_merge sees them. */
	uin_queue_event(inst, 5, IN_IGNORED, 0, NULL);
	uin_queue_event(inst, 5, IN_IGNORED, 0, NULL);
	uin_queue_event(inst, 5, IN_MODIFY, 0, NULL);
	uin_queue_event(inst, 5, IN_MODIFY, 0, NULL);
	uin_instance_put_user(inst);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, sizeof b)), 48);
	EXPECT_REC(b, &off, 5, IN_IGNORED, 0, NULL);
	EXPECT_REC(b, &off, 5, IN_IGNORED, 0, NULL);
	EXPECT_REC(b, &off, 5, IN_MODIFY, 0, NULL);
	CHECK_OK(uinotify_close(fd));
}

TEST(two_move_self_merge)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	uinotify_hook_inode(fx.file, IN_MOVE_SELF, 0);
	uinotify_hook_inode(fx.file, IN_MOVE_SELF, 0);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	EXPECT_REC(b, &off, fx.fwd, IN_MOVE_SELF, 0, NULL);
	teardown(&fx);
}

TEST(no_merge_while_full)
{
	uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 1);
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0); /* full: overflow */
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 32);
	EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	teardown(&fx);
}

TEST(oneshot_merged_first_event_still_ends_watch)
{
	struct fixture fx;
	setup(&fx, IN_MODIFY);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(uinotify_add_watch(fx.fd, uin_test_path("d/f"),
				    IN_MODIFY | IN_ONESHOT),
		 fx.fwd);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0); /* merges, then ends */
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 32);
	EXPECT_REC(b, &off, fx.fwd, IN_MODIFY, 0, NULL);
	EXPECT_REC(b, &off, fx.fwd, IN_IGNORED, 0, NULL);
	teardown(&fx);
}

TEST(merged_event_writes_no_token)
{
	struct fixture fx;
	setup(&fx, IN_ALL_EVENTS);
	for (int i = 0; i < 10; i++)
		uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fx.fd, &st), 0);
	CHECK_EQ(st.q_len, 1);
	CHECK_EQ(st.pipe_bytes, 1);
	char b[64];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	expect_empty(fx.fd);
	teardown(&fx);
}
