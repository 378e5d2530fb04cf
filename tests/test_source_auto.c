/*
 * tests/test_source_auto.c - the automatic choice of sources per mount:
 * classification from statfs and mountinfo, the recorded choice, and the
 * sources an AUTO watch really gets on tmpfs (kernel) and on a FUSE mount
 * made with bindfs (kernel and scanner, both active).
 */
#include "runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uinotify/inotify.h>
#include <uinotify/sources.h>

#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/mounts.h"
#include "sources/scan.h"

TEST(names)
{
	static const struct {
		const char *name;
		enum uin_mount_class cls;
		bool known;
	} cases[] = {
		{"ext4", UIN_MOUNT_LOCAL, true},
		{"xfs", UIN_MOUNT_LOCAL, true},
		{"btrfs", UIN_MOUNT_LOCAL, true},
		{"tmpfs", UIN_MOUNT_LOCAL, true},
		{"overlay", UIN_MOUNT_LOCAL, true},
		{"zfs", UIN_MOUNT_LOCAL, true},
		{"f2fs", UIN_MOUNT_LOCAL, true},
		{"nfs", UIN_MOUNT_SHARED, true},
		{"nfs4", UIN_MOUNT_SHARED, true},
		{"cifs", UIN_MOUNT_SHARED, true},
		{"smb3", UIN_MOUNT_SHARED, true},
		{"9p", UIN_MOUNT_SHARED, true},
		{"virtiofs", UIN_MOUNT_SHARED, true},
		{"ceph", UIN_MOUNT_SHARED, true},
		{"glusterfs", UIN_MOUNT_SHARED, true},
		{"lustre", UIN_MOUNT_SHARED, true},
		{"gpfs", UIN_MOUNT_SHARED, true},
		{"fuse", UIN_MOUNT_SHARED, true},
		{"fuse.sshfs", UIN_MOUNT_SHARED, true},
		{"fuse.bindfs", UIN_MOUNT_SHARED, true},
		{"fuse.rclone", UIN_MOUNT_SHARED, true},
		{"fuseblk", UIN_MOUNT_SHARED, true},
		{"fusectl", UIN_MOUNT_LOCAL, true},
		{"no-such-fs", UIN_MOUNT_LOCAL, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bool known;
		enum uin_mount_class c =
			uin_mount_class_of_name(cases[i].name, &known);
		if (c != cases[i].cls || known != cases[i].known)
			uin_test_fail(__FILE__, __LINE__, "%s: class %d known %d",
				      cases[i].name, c, known);
	}
}

TEST(choice_table)
{
	CHECK_EQ(uin_mount_sources_for(UINOTIFY_SOURCE_AUTO, UIN_MOUNT_LOCAL),
		 UIN_SRC_KERNEL);
	CHECK_EQ(uin_mount_sources_for(UINOTIFY_SOURCE_AUTO, UIN_MOUNT_SHARED),
		 UIN_SRC_KERNEL | UIN_SRC_SCAN);
	CHECK_EQ(uin_mount_sources_for(UINOTIFY_SOURCE_KERNEL,
				       UIN_MOUNT_SHARED),
		 UIN_SRC_KERNEL);
	CHECK_EQ(uin_mount_sources_for(UINOTIFY_SOURCE_SCAN, UIN_MOUNT_LOCAL),
		 UIN_SRC_SCAN);
	CHECK_EQ(uin_mount_sources_for(UINOTIFY_SOURCE_NONE, UIN_MOUNT_LOCAL),
		 0);
}

/* The sources recorded for the engine inode AUTO gives for path. */
static void auto_sources(const char *path, unsigned *wanted,
			 unsigned *active)
{
	struct uinotify_inode *in;
	CHECK_EQ(uinotify_path_inode(path, 0, UINOTIFY_SOURCE_AUTO, &in), 0);
	CHECK_EQ(uin_inode_sources(in, wanted, active), 0);
	uinotify_inode_put(in);
}

static int run(const char *const argv[])
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A local create through the mount reaches an AUTO instance. */
static void local_create_seen(const char *dir)
{
	int ufd = CHECK_OK(uinotify_init1(IN_NONBLOCK));
	CHECK_EQ(uinotify_set_source(ufd, UINOTIFY_SOURCE_AUTO), 0);
	CHECK_EQ(uinotify_add_watch(ufd, dir, IN_CREATE), 1);
	char path[512];
	snprintf(path, sizeof path, "%s/created", dir);
	int fd = CHECK_OK(open(path, O_WRONLY | O_CREAT, 0644));
	CHECK_OK(close(fd));
	struct pollfd p = {.fd = ufd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	char buf[256];
	ssize_t n = CHECK_OK(uinotify_read(ufd, buf, sizeof buf));
	CHECK(n >= (ssize_t)sizeof(struct inotify_event));
	struct inotify_event *e = (void *)buf;
	CHECK_EQ(e->wd, 1);
	CHECK_HEX(e->mask, IN_CREATE);
	CHECK_STR(e->name, "created");
	CHECK_OK(uinotify_close(ufd));
	uin_loop_drain();
}

TEST(tmpfs_gets_kernel_only)
{
	if (geteuid() != 0)
		SKIP("needs root to mount a tmpfs");
	const char *mnt = uin_test_path("mnt");
	CHECK_OK(mkdir(mnt, 0755));
	if (mount("uinotify-test", mnt, "tmpfs", 0, "size=1m") < 0)
		SKIP("cannot mount a tmpfs");
	int fd = CHECK_OK(open(mnt, O_PATH | O_DIRECTORY));
	struct uin_mount_info info;
	CHECK_EQ(uin_mount_classify(fd, &info), 0);
	close(fd);
	CHECK_HEX(info.magic, 0x01021994);
	CHECK_EQ(info.cls, UIN_MOUNT_LOCAL);
	CHECK(info.known);
	CHECK_STR(info.fstype, "tmpfs");
	unsigned wanted, active;
	auto_sources(mnt, &wanted, &active);
	CHECK_EQ(wanted, UIN_SRC_KERNEL);
	CHECK_EQ(active, UIN_SRC_KERNEL);
	local_create_seen(mnt);
	CHECK_EQ(uin_mounts_count(), 0);
	CHECK_OK(umount(mnt));
}

TEST(bindfs_gets_kernel_and_scanner)
{
	const char *src = uin_test_path("src");
	const char *mnt = uin_test_path("mnt");
	CHECK_OK(mkdir(src, 0755));
	CHECK_OK(mkdir(mnt, 0755));
	const char *const bindfs[] = {"bindfs", src, mnt, NULL};
	int rc = run(bindfs);
	if (rc == 127)
		SKIP("bindfs is not installed (Debian package bindfs)");
	if (rc != 0)
		SKIP("bindfs could not mount (no /dev/fuse?)");
	int fd = open(mnt, O_PATH | O_DIRECTORY);
	struct uin_mount_info info;
	int err = fd >= 0 ? uin_mount_classify(fd, &info) : -errno;
	if (fd >= 0)
		close(fd);
	bool ok = err == 0 && info.magic == 0x65735546 &&
		  info.cls == UIN_MOUNT_SHARED &&
		  !strncmp(info.fstype, "fuse", 4);
	unsigned wanted = 0, active = 0;
	if (ok) {
		auto_sources(mnt, &wanted, &active);
		local_create_seen(mnt);
	}
	const char *const unmount[] = {"fusermount", "-u", "-z", mnt, NULL};
	if (run(unmount) != 0)
		umount2(mnt, MNT_DETACH);
	CHECK_EQ(err, 0);
	CHECK_HEX(info.magic, 0x65735546); /* FUSE_SUPER_MAGIC */
	CHECK_EQ(info.cls, UIN_MOUNT_SHARED);
	CHECK(!strncmp(info.fstype, "fuse", 4));
	CHECK_EQ(wanted, UIN_SRC_KERNEL | UIN_SRC_SCAN);
	CHECK_EQ(active, UIN_SRC_KERNEL | UIN_SRC_SCAN);
	CHECK_EQ(uin_scan_settle(5000), 0);
	CHECK_EQ(uin_mounts_count(), 0);
}

/* Forcing KERNEL on a FUSE file and letting AUTO choose give two engine
 * inodes (two superblocks), each with its own recorded choice, sharing one
 * kernel watch. */
TEST(forced_and_auto_are_separate)
{
	const char *src = uin_test_path("src");
	const char *mnt = uin_test_path("mnt");
	CHECK_OK(mkdir(src, 0755));
	CHECK_OK(mkdir(mnt, 0755));
	const char *const bindfs[] = {"bindfs", src, mnt, NULL};
	int rc = run(bindfs);
	if (rc == 127)
		SKIP("bindfs is not installed (Debian package bindfs)");
	if (rc != 0)
		SKIP("bindfs could not mount (no /dev/fuse?)");
	struct uinotify_inode *a = NULL, *k = NULL;
	int ea = uinotify_path_inode(mnt, 0, UINOTIFY_SOURCE_AUTO, &a);
	int ek = uinotify_path_inode(mnt, 0, UINOTIFY_SOURCE_KERNEL, &k);
	unsigned wa = 0, aa = 0, wk = 0, ak = 0;
	if (!ea)
		uin_inode_sources(a, &wa, &aa);
	if (!ek)
		uin_inode_sources(k, &wk, &ak);
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	bool distinct = a != k;
	if (a)
		uinotify_inode_put(a);
	if (k)
		uinotify_inode_put(k);
	const char *const unmount[] = {"fusermount", "-u", "-z", mnt, NULL};
	if (run(unmount) != 0)
		umount2(mnt, MNT_DETACH);
	CHECK_EQ(ea, 0);
	CHECK_EQ(ek, 0);
	CHECK(distinct);
	CHECK_EQ(wa, UIN_SRC_KERNEL | UIN_SRC_SCAN);
	CHECK_EQ(wk, UIN_SRC_KERNEL);
	CHECK_EQ(st.kwatches, 1);
	CHECK_EQ(uin_scan_settle(5000), 0);
	CHECK_EQ(uin_mounts_count(), 0);
}
