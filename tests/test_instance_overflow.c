/*
 * tests/test_instance_overflow.c - fsnotify_insert_event's overflow: one
 * preallocated record {wd -1, IN_Q_OVERFLOW, cookie 0, len 0} that counts
 * in q_len, queued once; events (IN_IGNORED too) lost while full;
 * max_queued_events copied at creation; ENOMEM and source overflow queue
 * the record too.
 */
#include "test_instance_util.h"

struct fixture {
	int fd, wd;
	struct uinotify_inode *dir;
};

static void setup(struct fixture *fx, int max_events)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, max_events), 0);
	const char *d = make_dir("d");
	fx->fd = inst_new(IN_NONBLOCK);
	fx->wd = (int)CHECK_OK(uinotify_add_watch(fx->fd, d, IN_ALL_EVENTS));
	fx->dir = none_inode(d);
}

static void create(struct fixture *fx, int i)
{
	char name[16];
	snprintf(name, sizeof name, "f%d", i);
	uinotify_hook_dirent(fx->dir, name, NULL, IN_CREATE, 0);
}

static void teardown(struct fixture *fx)
{
	uinotify_inode_put(fx->dir);
	CHECK_OK(uinotify_close(fx->fd));
}

TEST(limit_0_every_event_is_the_overflow)
{
	struct fixture fx;
	setup(&fx, 0);
	for (int i = 0; i < 5; i++)
		create(&fx, i);
	CHECK_EQ(fionread(fx.fd), 16);
	expect_tokens_match(fx.fd);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	expect_empty(fx.fd);
	create(&fx, 9);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	off = 0;
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	teardown(&fx);
}

TEST(limit_1)
{
	struct fixture fx;
	setup(&fx, 1);
	create(&fx, 0);
	create(&fx, 1);
	create(&fx, 2);
	CHECK_EQ(fionread(fx.fd), 32 + 16);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 48);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(limit_4_fionread_144_and_refill_behind_overflow)
{
	struct fixture fx;
	setup(&fx, 4);
	for (int i = 0; i < 10; i++)
		create(&fx, i);
	CHECK_EQ(fionread(fx.fd), 4 * 32 + 16); /* 144 */
	expect_tokens_match(fx.fd);
	char b[512];
	size_t off = 0;
	/* One read: q_len 4 (overflow counted), still full. */
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 32)), 32);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
	create(&fx, 10);
	CHECK_EQ(fionread(fx.fd), 3 * 32 + 16);
	/* Two reads: room for one, queued behind the overflow record. */
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 32)), 32);
	create(&fx, 11);
	create(&fx, 12);
	off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 2 * 32 + 16 + 32);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f2");
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f3");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f11");
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(overflow_queued_again_after_read)
{
	struct fixture fx;
	setup(&fx, 1);
	char b[256];
	for (int round = 0; round < 3; round++) {
		create(&fx, 0);
		create(&fx, 1);
		size_t off = 0;
		CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 48);
		EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
		EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	}
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(ignored_lost_while_full)
{
	struct fixture fx;
	setup(&fx, 2);
	create(&fx, 0);
	create(&fx, 1);
	CHECK_OK(uinotify_rm_watch(fx.fd, fx.wd));
	CHECK_ERRNO(uinotify_rm_watch(fx.fd, fx.wd), EINVAL);
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.watches, 0); /* the final put happened anyway */
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 80);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f1");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(limit_copied_at_creation)
{
	struct fixture fx;
	setup(&fx, 2);
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 100), 0);
	for (int i = 0; i < 5; i++)
		create(&fx, i);
	CHECK_EQ(fionread(fx.fd), 2 * 32 + 16);
	int fd2 = inst_new(IN_NONBLOCK);
	CHECK_OK(uinotify_add_watch(fd2, uin_test_path("d"), IN_CREATE));
	for (int i = 0; i < 5; i++)
		create(&fx, i + 10);
	CHECK_EQ(fionread(fd2), 5 * 32);
	CHECK_OK(uinotify_close(fd2));
	teardown(&fx);
}

TEST(allocation_failure_queues_overflow)
{
	struct fixture fx;
	setup(&fx, 100);
	create(&fx, 0);
	uinotify_debug_fail_alloc(1, false);
	create(&fx, 1); /* its record cannot be allocated */
	uinotify_debug_fail_alloc(0, false);
	create(&fx, 2);
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 32 + 16 + 32);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f2");
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(source_overflow_queues_the_record_once)
{
	struct fixture fx;
	setup(&fx, 100);
	create(&fx, 0);
	uinotify_hook_overflow(uinotify_inode_sb(fx.dir));
	uinotify_hook_overflow(uinotify_inode_sb(fx.dir));
	/* An instance with no watch on that superblock gets nothing. */
	int other = inst_new(IN_NONBLOCK);
	uinotify_hook_overflow(uinotify_inode_sb(fx.dir));
	expect_empty(other);
	CHECK_OK(uinotify_close(other));
	char b[256];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 48);
	EXPECT_REC(b, &off, fx.wd, IN_CREATE, 0, "f0");
	EXPECT_REC(b, &off, -1, IN_Q_OVERFLOW, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(small_pipe_counts_unsignaled_and_recovers)
{
	/* More events than a 1-page pipe holds: F_SETPIPE_SZ may grow it;
	 * shrink it by hand to force the unsignaled path. */
	struct fixture fx;
	setup(&fx, 10000);
	struct uin_instance *inst;
	CHECK_EQ(uin_instance_get(fx.fd, &inst), 0);
	int cap = fcntl(inst->iofd, F_SETPIPE_SZ, 4096);
	uin_instance_put_user(inst);
	if (cap < 0)
		SKIP("cannot shrink the pipe");
	for (int i = 0; i < 6000; i++)
		create(&fx, i);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fx.fd, &st), 0);
	CHECK_EQ(st.q_len, 6000);
	CHECK_EQ(st.pipe_bytes, cap);
	CHECK_EQ(st.unsignaled, 6000 - cap);
	static char b[65536];
	long events = 0;
	for (;;) {
		ssize_t n = uinotify_read(fx.fd, b, 32 * 1000);
		if (n < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		events += n / 32;
		expect_tokens_match(fx.fd);
	}
	CHECK_EQ(events, 6000);
	expect_empty(fx.fd);
	teardown(&fx);
}
