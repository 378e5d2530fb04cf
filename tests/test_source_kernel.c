/*
 * tests/test_source_kernel.c - the kernel source end to end: a uinotify
 * instance on UINOTIFY_SOURCE_KERNEL and a real kernel inotify instance
 * watch the same files during one workload (test_source_kernel.h); the
 * byte streams read from both must be identical, wd numbers and lengths
 * included, cookies compared by pairing.
 */
#include "test_source_kernel.h"

#include <sys/ioctl.h>
#include <sched.h>
#include <sys/mount.h>

#include <uinotify/inotify.h>

#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/mounts.h"

/*
 * Read a uinotify instance until the marker arrives (5 s at most).  The
 * kernel side is read after the workload, when the kernel has queued (and
 * merged) everything; uin_loop_drain() first gives the uinotify side the
 * same start, instead of racing the loop thread (a read in the middle of
 * delivery sees fewer merges, as a kernel instance read then would).
 * uinotify_read is to do this itself (see docs/sources.md).
 */
static void uin_read_until(int fd, struct stream *s, int32_t wd,
			   const char *marker)
{
	char buf[65536];
	uin_loop_drain();
	while (!stream_has(s, wd, IN_CREATE, marker)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK(poll(&p, 1, 5000) == 1);
		ssize_t n = uinotify_read(fd, buf, sizeof buf);
		if (n < 0 && errno == EAGAIN)
			continue;
		CHECK(n > 0);
		stream_put(s, buf, (size_t)n);
	}
}

static int uin_kernel_instance(int flags)
{
	int fd = CHECK_OK(uinotify_init1(flags));
	CHECK_EQ(uinotify_set_source(fd, UINOTIFY_SOURCE_KERNEL), 0);
	return fd;
}

static void both_empty(int kfd, int ufd)
{
	int kn = -1, un = -1;
	CHECK_OK(ioctl(kfd, FIONREAD, &kn));
	CHECK_OK(uinotify_ioctl(ufd, FIONREAD, &un));
	CHECK_EQ(kn, 0);
	CHECK_EQ(un, 0);
}

static void finish(int kfd, int ufd)
{
	close(kfd);
	CHECK_OK(uinotify_close(ufd));
	uin_loop_drain(); /* no dispatch may still hold an inode */
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.kwatches, 0);
	CHECK_EQ(uin_mounts_count(), 0);
}

TEST(differential)
{
	workload_setup();
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	int ufd = uin_kernel_instance(IN_NONBLOCK | IN_CLOEXEC);
	for (size_t i = 0; i < N_WORKLOAD_WATCHES; i++) {
		const char *p = P(workload_watches[i].rel);
		uint32_t m = workload_watches[i].mask;
		CHECK_EQ(uinotify_add_watch(ufd, p, m),
			 inotify_add_watch(kfd, p, m));
	}
	workload_run();
	struct stream ks = {0}, us = {0};
	kernel_read_until(kfd, &ks, 1, "zz-end");
	uin_read_until(ufd, &us, 1, "zz-end");
	streams_check_equal("instance differential", &ks, &us);
	both_empty(kfd, ufd);
	stream_free(&ks);
	stream_free(&us);
	finish(kfd, ufd);
}

/* The test directory is on a local filesystem: AUTO picks the kernel
 * source there and gives the same stream. */
TEST(differential_auto_local)
{
	int probe = CHECK_OK(open(uin_test_tmpdir(), O_PATH));
	enum uin_mount_class cls = uin_mount_class_of(probe);
	close(probe);
	if (cls != UIN_MOUNT_LOCAL)
		SKIP("the test directory is not on a local filesystem");
	workload_setup();
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ufd = CHECK_OK(uinotify_init1(IN_NONBLOCK));
	CHECK_EQ(uinotify_set_source(ufd, UINOTIFY_SOURCE_AUTO), 0);
	for (size_t i = 0; i < N_WORKLOAD_WATCHES; i++) {
		const char *p = P(workload_watches[i].rel);
		uint32_t m = workload_watches[i].mask;
		CHECK_EQ(uinotify_add_watch(ufd, p, m),
			 inotify_add_watch(kfd, p, m));
	}
	workload_run();
	struct stream ks = {0}, us = {0};
	kernel_read_until(kfd, &ks, 1, "zz-end");
	uin_read_until(ufd, &us, 1, "zz-end");
	streams_check_equal("auto differential", &ks, &us);
	stream_free(&ks);
	stream_free(&us);
	finish(kfd, ufd);
}

/* Two uinotify instances with different masks on the same files, each
 * against its own kernel twin. */
TEST(two_instances)
{
	workload_setup();
	/* Both watches on "d" have IN_EXCL_UNLINK: with one without it the
	 * kernel watch could not filter (see docs/sources.md). */
	static const struct watch_spec a[] = {
		{"d", IN_CREATE | IN_DELETE | IN_MOVE | IN_EXCL_UNLINK},
		{"d/f", IN_MODIFY | IN_CLOSE_WRITE},
	};
	static const struct watch_spec b[] = {
		{"d/f", IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF},
		{"d", IN_ALL_EVENTS | IN_EXCL_UNLINK},
	};
	int ka = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int kb = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ua = uin_kernel_instance(IN_NONBLOCK);
	int ub = uin_kernel_instance(IN_NONBLOCK);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(uinotify_add_watch(ua, P(a[i].rel), a[i].mask),
			 inotify_add_watch(ka, P(a[i].rel), a[i].mask));
		CHECK_EQ(uinotify_add_watch(ub, P(b[i].rel), b[i].mask),
			 inotify_add_watch(kb, P(b[i].rel), b[i].mask));
	}
	workload_run();
	struct stream sa = {0}, sb = {0}, va = {0}, vb = {0};
	kernel_read_until(ka, &sa, 1, "zz-end");
	kernel_read_until(kb, &sb, 2, "zz-end");
	uin_read_until(ua, &va, 1, "zz-end");
	uin_read_until(ub, &vb, 2, "zz-end");
	streams_check_equal("instance a", &sa, &va);
	streams_check_equal("instance b", &sb, &vb);
	stream_free(&sa);
	stream_free(&sb);
	stream_free(&va);
	stream_free(&vb);
	close(kb);
	CHECK_OK(uinotify_close(ub));
	finish(ka, ua);
}

/* rm_watch right after events: the events stay and IGNORED follows them,
 * as in the kernel (the source drains before the watch changes). */
TEST(rm_watch_after_events)
{
	CHECK_OK(mkdir(P("d"), 0755));
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ufd = uin_kernel_instance(IN_NONBLOCK);
	CHECK_EQ(uinotify_add_watch(ufd, P("d"), IN_CREATE),
		 inotify_add_watch(kfd, P("d"), IN_CREATE));
	CHECK_EQ(uinotify_add_watch(ufd, P("d"), IN_CREATE | IN_ATTRIB),
		 inotify_add_watch(kfd, P("d"), IN_CREATE | IN_ATTRIB));
	make_file("d/a", NULL);
	CHECK_OK(chmod(P("d/a"), 0600));
	CHECK_OK(inotify_rm_watch(kfd, 1));
	CHECK_OK(uinotify_rm_watch(ufd, 1));
	make_file("d/b", NULL); /* after the removal: nobody sees it */
	CHECK_EQ(uinotify_add_watch(ufd, P("d"), IN_CREATE),
		 inotify_add_watch(kfd, P("d"), IN_CREATE));
	make_marker("d/zz-end");
	struct stream ks = {0}, us = {0};
	kernel_read_until(kfd, &ks, 2, "zz-end");
	uin_read_until(ufd, &us, 2, "zz-end");
	streams_check_equal("rm_watch", &ks, &us);
	stream_free(&ks);
	stream_free(&us);
	finish(kfd, ufd);
}

/* A tmpfs mounted for the test, watched, then unmounted. */
TEST(unmount)
{
	if (geteuid() != 0)
		SKIP("unmount test needs root (mount -t tmpfs)");
	CHECK_OK(mkdir(P("mnt"), 0755));
	if (mount("uinotify-test", P("mnt"), "tmpfs", 0, "size=1m") < 0) {
		char why[128];
		snprintf(why, sizeof why, "cannot mount tmpfs: %s",
			 strerror(errno));
		SKIP(why);
	}
	CHECK_OK(mkdir(P("mnt/dir"), 0755));
	make_file("mnt/file", "x");
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int ufd = uin_kernel_instance(IN_NONBLOCK);
	static const char *const rels[] = {"mnt", "mnt/file", "mnt/dir"};
	for (int i = 0; i < 3; i++)
		CHECK_EQ(uinotify_add_watch(ufd, P(rels[i]), IN_ALL_EVENTS),
			 inotify_add_watch(kfd, P(rels[i]), IN_ALL_EVENTS));
	make_file("mnt/dir/new", "z");
	CHECK_OK(umount(P("mnt")));
	struct stream ks = {0}, us = {0};
	char buf[4096];
	int ignored = 0;
	for (int side = 0; side < 2; side++) {
		int fd = side ? ufd : kfd;
		struct stream *s = side ? &us : &ks;
		for (ignored = 0; ignored < 3;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			CHECK(poll(&p, 1, 5000) == 1);
			ssize_t n = side ? uinotify_read(fd, buf, sizeof buf)
					 : read(fd, buf, sizeof buf);
			if (n < 0 && errno == EAGAIN)
				continue;
			CHECK(n > 0);
			for (ssize_t off = 0; off < n;) {
				struct inotify_event *e = (void *)(buf + off);
				ignored += !!(e->mask & IN_IGNORED);
				off += (ssize_t)(sizeof *e + e->len);
			}
			stream_put(s, buf, (size_t)n);
		}
	}
	streams_check_equal("unmount", &ks, &us);
	both_empty(kfd, ufd);
	stream_free(&ks);
	stream_free(&us);
	finish(kfd, ufd);
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/*
 * The kernel's ENOSPC (max_user_watches) reaches uinotify_add_watch.  The
 * limit is lowered in a user namespace of our own (its
 * /proc/sys/user/max_inotify_watches), so that no other process on the
 * machine is affected.  unshare(CLONE_NEWUSER) needs a single-threaded
 * process: it runs before anything starts uinotify's loop thread.
 */
TEST(enospc_from_kernel)
{
	uid_t uid = geteuid(); /* the overflow uid once unshared */
	if (unshare(CLONE_NEWUSER) < 0)
		SKIP("no user namespace to lower max_inotify_watches in");
	char map[32];
	snprintf(map, sizeof map, "0 %d 1", (int)uid);
	write_file("/proc/self/setgroups", "deny");
	if (!write_file("/proc/self/uid_map", map))
		SKIP("cannot write a uid_map for a user namespace");
	if (!write_file("/proc/sys/user/max_inotify_watches", "2")) {
		char why[128];
		snprintf(why, sizeof why,
			 "cannot set max_inotify_watches in a user "
			 "namespace: %s",
			 strerror(errno));
		SKIP(why);
	}
	CHECK_OK(mkdir(P("d"), 0755));
	int ufd = uin_kernel_instance(0);
	int added = 0, err = 0;
	for (int i = 0; i < 4 && !err; i++) {
		char rel[16];
		snprintf(rel, sizeof rel, "d/%d", i);
		make_file(rel, NULL);
		if (uinotify_add_watch(ufd, P(rel), IN_MODIFY) < 0)
			err = errno;
		else
			added++;
	}
	CHECK_EQ(added, 2);
	CHECK_EQ(err, ENOSPC);
	/* an existing watch can still be updated */
	CHECK_EQ(uinotify_add_watch(ufd, P("d/0"), IN_ATTRIB), 1);
	CHECK_OK(uinotify_close(ufd));
	uin_loop_drain();
}

/* A kernel queue overflow reaches every instance with a watch on a
 * kernel-sourced mount as one IN_Q_OVERFLOW record, and no other. */
TEST(kernel_overflow)
{
	CHECK_OK(mkdir(P("d"), 0755));
	int u1 = uin_kernel_instance(IN_NONBLOCK);
	int u2 = uin_kernel_instance(IN_NONBLOCK); /* no watch */
	int u3 = CHECK_OK(uinotify_init1(IN_NONBLOCK));
	CHECK_EQ(uinotify_set_source(u3, UINOTIFY_SOURCE_NONE), 0);
	CHECK_EQ(uinotify_add_watch(u1, P("d"), IN_CREATE), 1);
	CHECK_EQ(uinotify_add_watch(u3, P("d"), IN_CREATE), 1);
	struct inotify_event ov = {.wd = -1, .mask = IN_Q_OVERFLOW};
	uin_kernel_debug_inject(&ov);
	char buf[256];
	ssize_t n = uinotify_read(u1, buf, sizeof buf);
	CHECK_EQ(n, (ssize_t)sizeof(struct inotify_event));
	struct inotify_event *e = (void *)buf;
	CHECK_EQ(e->wd, -1);
	CHECK_HEX(e->mask, IN_Q_OVERFLOW);
	CHECK_EQ(e->cookie, 0);
	CHECK_EQ(e->len, 0);
	CHECK_ERRNO(uinotify_read(u2, buf, sizeof buf), EAGAIN);
	CHECK_ERRNO(uinotify_read(u3, buf, sizeof buf), EAGAIN);
	CHECK_OK(uinotify_close(u2));
	CHECK_OK(uinotify_close(u3));
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.overflows, 1);
	CHECK_OK(uinotify_close(u1));
	uin_loop_drain();
}
