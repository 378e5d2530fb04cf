/*
 * tests/test_source_scan_identity.c - identity = device + inode + birth
 * time + type.  Where a filesystem invents inode numbers (sshfs, rclone,
 * FUSE node ids, CIFS without serverino) the scanner falls back to names:
 * CREATE and DELETE instead of a rename pair, and a name whose number
 * changed is the same file.  (A bindfs mount with subtype=sshfs is
 * classified as sshfs.)  And a reused inode number with a new birth time
 * is a new file, not the old one renamed.
 */
#include "test_source_scan.h"

static bool classify_stable(const char *path)
{
	int fd = CHECK_OK(open(path, O_PATH | O_DIRECTORY));
	struct uin_mount_info info;
	CHECK_EQ(uin_mount_classify(fd, &info), 0);
	close(fd);
	return info.ino_stable;
}

TEST(classification)
{
	CHECK(classify_stable(uin_test_tmpdir()));
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	bool bindfs = classify_stable(mnt);
	bindfs_umount(mnt);
	CHECK(bindfs); /* bindfs passes the backing inode numbers on */
}

TEST(sshfs_subtype_is_not_stable)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount_opts(src, mnt, "subtype=sshfs");
	bool stable = classify_stable(mnt);
	bindfs_umount(mnt);
	CHECK(!stable);
}

/* Names only: renames are a DELETE and a CREATE. */
TEST(name_fallback)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount_opts(src, mnt, "subtype=sshfs");
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	char s[600], m[600], t[600];
	snprintf(s, sizeof s, "%s/d", src);
	CHECK_OK(mkdir(s, 0755));
	snprintf(s, sizeof s, "%s/d/a", src);
	write_text(s, "a", O_CREAT);
	snprintf(s, sizeof s, "%s/d/r", src);
	write_text(s, "r", O_CREAT);
	snprintf(m, sizeof m, "%s/d", mnt);
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, m, IN_ALL_EVENTS), 1);
	struct evs l = {0};
	snprintf(s, sizeof s, "%s/d/a", src);
	snprintf(t, sizeof t, "%s/d/b", src);
	CHECK_OK(rename(s, t));
	CHECK(wait_event(fd, &l, 1, IN_DELETE, "a", 5000) >= 0);
	CHECK(wait_event(fd, &l, 1, IN_CREATE, "b", 5000) >= 0);
	/* replaced under its name: the same file by name, changed */
	snprintf(s, sizeof s, "%s/new", src);
	write_text(s, "replacement", O_CREAT);
	snprintf(t, sizeof t, "%s/d/r", src);
	CHECK_OK(rename(s, t));
	CHECK(wait_event(fd, &l, 1, IN_MODIFY, "r", 5000) >= 0);
	CHECK_OK(uin_scan_wait_ticks(4, 5000));
	read_now(fd, true, &l);
	for (size_t i = 0; i < l.n; i++)
		CHECK(!(l.v[i].mask & (IN_MOVED_FROM | IN_MOVED_TO)));
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* ext4 and others reuse inode numbers at once: a file deleted and another
 * created with its number in one tick are not a rename, by birth time. */
TEST(reused_inode_number_is_new_file)
{
	struct statx stx;
	CHECK_OK(statx(AT_FDCWD, uin_test_tmpdir(), 0, STATX_BTIME, &stx));
	if (!(stx.stx_mask & STATX_BTIME))
		SKIP("no birth time on the test filesystem");
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	CHECK_OK(mkdir(P("d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, P("d"), IN_CREATE | IN_DELETE |
						       IN_MOVE),
		 1);
	struct evs l = {0};
	bool reused = false;
	for (int round = 0; round < 20 && !reused; round++) {
		char a[32], b[32];
		snprintf(a, sizeof a, "d/a%d", round);
		snprintf(b, sizeof b, "d/b%d", round);
		write_text(P(a), NULL, O_CREAT);
		CHECK(wait_event(fd, &l, 1, IN_CREATE, a + 2, 5000) >= 0);
		struct stat sa, sb;
		CHECK_OK(stat(P(a), &sa));
		/* both within one tick: the dispatch lock holds it off */
		uin_loop_dispatch_enter();
		CHECK_OK(unlink(P(a)));
		write_text(P(b), NULL, O_CREAT);
		uin_loop_dispatch_exit();
		CHECK_OK(stat(P(b), &sb));
		CHECK(wait_event(fd, &l, 1, IN_DELETE, a + 2, 5000) >= 0);
		CHECK(wait_event(fd, &l, 1, IN_CREATE, b + 2, 5000) >= 0);
		reused = sa.st_ino == sb.st_ino;
	}
	CHECK_OK(uin_scan_wait_ticks(3, 5000));
	read_now(fd, true, &l);
	for (size_t i = 0; i < l.n; i++)
		CHECK(!(l.v[i].mask & (IN_MOVED_FROM | IN_MOVED_TO)));
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	if (!reused)
		SKIP("the filesystem did not reuse an inode number at once");
}
