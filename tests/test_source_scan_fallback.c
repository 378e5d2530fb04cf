/*
 * tests/test_source_scan_fallback.c - where the scanner stands in: for
 * the kernel source once max_user_watches is reached (AUTO), on any
 * filesystem when an instance forces UINOTIFY_SOURCE_SCAN, and in a fork
 * child (whose inherited watches stay silent, as with the kernel source,
 * and who can watch again).
 */
#include "test_source_scan.h"

#include <sched.h>

#include "sources/kernel.h"

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* max_inotify_watches lowered to 2 in a user namespace of our own: the
 * third watch of an AUTO instance is the scanner's, and reports. */
TEST(enospc_falls_back_to_scanner)
{
	uid_t uid = geteuid();
	if (unshare(CLONE_NEWUSER) < 0)
		SKIP("no user namespace to lower max_inotify_watches in");
	char map[32];
	snprintf(map, sizeof map, "0 %d 1", (int)uid);
	write_file("/proc/self/setgroups", "deny");
	if (!write_file("/proc/self/uid_map", map))
		SKIP("cannot write a uid_map for a user namespace");
	if (!write_file("/proc/sys/user/max_inotify_watches", "2"))
		SKIP("cannot set max_inotify_watches in a user namespace");
	scan_fast();
	CHECK_OK(mkdir(P("d"), 0755));
	for (int i = 0; i < 4; i++) {
		char rel[16];
		snprintf(rel, sizeof rel, "d/%d", i);
		write_text(P(rel), NULL, O_CREAT);
	}
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, P("d"), IN_CREATE | IN_MODIFY), 1);
	CHECK_EQ(uinotify_add_watch(fd, P("d/0"), IN_MODIFY), 2);
	CHECK_EQ(uinotify_add_watch(fd, P("d/1"), IN_MODIFY), 3);
	CHECK_EQ(uinotify_add_watch(fd, P("d/2"), IN_MODIFY), 4);
	struct uin_kernel_stats ks;
	uin_kernel_get_stats(&ks);
	CHECK_EQ(ks.kwatches, 2);
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	CHECK_EQ(st.watches, 2);
	struct evs l = {0};
	write_text(P("d/1"), "x", O_APPEND);
	write_text(P("d/2"), "y", O_APPEND);
	write_text(P("d/0"), "z", O_APPEND);
	CHECK(wait_event(fd, &l, 3, IN_MODIFY, NULL, 5000) >= 0);
	CHECK(wait_event(fd, &l, 4, IN_MODIFY, NULL, 5000) >= 0);
	CHECK(wait_event(fd, &l, 2, IN_MODIFY, NULL, 5000) >= 0);
	CHECK(wait_event(fd, &l, 1, IN_MODIFY, "0", 5000) >= 0);
	/* the kernel source's own still ENOSPC when forced */
	int kfd = scan_instance(UINOTIFY_SOURCE_KERNEL);
	CHECK_EQ(uinotify_add_watch(kfd, P("d/0"), IN_MODIFY), 1);
	CHECK_ERRNO(uinotify_add_watch(kfd, P("d/3"), IN_MODIFY), ENOSPC);
	CHECK_OK(uinotify_close(kfd));
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	uin_loop_drain();
}

/* SCAN forced on a local filesystem works like anywhere else; the
 * directory's own attributes too (S events of a watched directory). */
TEST(scan_forced_local_self_events)
{
	scan_fast();
	CHECK_OK(mkdir(P("d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, P("d"), IN_ALL_EVENTS), 1);
	struct evs l = {0};
	CHECK_OK(chmod(P("d"), 0700));
	long i = wait_event(fd, &l, 1, IN_ATTRIB, NULL, 5000);
	CHECK(i >= 0);
	CHECK_HEX(l.v[i].mask, IN_ATTRIB | IN_ISDIR);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
}

/* A fork child goes on scanning: the inherited watch reports the child's
 * changes, the parent's too; watching again in the child works. */
TEST(fork_child)
{
#ifdef UIN_TSAN
	SKIP("ThreadSanitizer cannot start threads in a forked child");
#endif
	scan_fast();
	CHECK_OK(mkdir(P("d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, P("d"), IN_CREATE), 1);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	int pipefd[2];
	CHECK_OK(pipe(pipefd));
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* child: its copy of the watch reports */
		struct evs l = {0};
		write_text(P("d/from-child"), NULL, O_CREAT);
		int bad = 0;
		if (wait_event(fd, &l, 1, IN_CREATE, "from-child", 5000) < 0)
			bad |= 1;
		/* a watch added in the child reports */
		int fd2 = scan_instance(UINOTIFY_SOURCE_SCAN);
		if (uinotify_add_watch(fd2, P("d"), IN_CREATE) != 1)
			bad |= 2;
		write_text(P("d/second"), NULL, O_CREAT);
		if (wait_event(fd2, &l, 1, IN_CREATE, "second", 5000) < 0)
			bad |= 4;
		if (wait_event(fd, &l, 1, IN_CREATE, "second", 5000) < 0)
			bad |= 8;
		if (write(pipefd[1], &bad, sizeof bad) != sizeof bad)
			_exit(3);
		_exit(0);
	}
	int bad = -1;
	CHECK_EQ(read(pipefd[0], &bad, sizeof bad), (ssize_t)sizeof bad);
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK_EQ(bad, 0);
	struct evs l = {0};
	CHECK(wait_event(fd, &l, 1, IN_CREATE, "from-child", 5000) >= 0);
	CHECK(wait_event(fd, &l, 1, IN_CREATE, "second", 5000) >= 0);
	close(pipefd[0]);
	close(pipefd[1]);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
}
