/*
 * tests/test_run_differences.c - what docs/run.md ("What differs from
 * Linux") says remains different under uinotify-run, pinned: each item's
 * program (tests/preload/inotify_differences.c) runs against the kernel
 * and under uinotify-run in the same run, and both outputs are checked,
 * Linux's against what Linux does and ours against what the document
 * says.  A change that removes a difference fails here, so the document
 * is updated with it.
 */
#include <sys/syscall.h>

#include "test_run.h"

#ifndef UIN_PRELOAD_DIFFERENCES
#define UIN_PRELOAD_DIFFERENCES "inotify_differences-not-built"
#endif

static struct pl_child kernel, ours;

/* MODE plainly (unless ours_only) and under uinotify-run with run_opts. */
static void both(const char *mode, const char *run_opts, bool ours_only)
{
	run_require();
	static int round;
	char name[32];
	char *argv[] = {(char *)UIN_PRELOAD_DIFFERENCES, NULL, (char *)mode,
			NULL};
	if (!ours_only) {
		snprintf(name, sizeof name, "k%d", round);
		argv[1] = (char *)run_dir(name);
		CHECK_EQ(run_program(false, NULL, argv, NULL, &kernel, 60000), 0);
	}
	snprintf(name, sizeof name, "u%d", round++);
	argv[1] = (char *)run_dir(name);
	int status = run_program(true, run_opts, argv, NULL, &ours, 60000);
	if (status != 0 || ours.ebuf[0])
		pl_dump(&ours, "uinotify-run");
	CHECK_EQ(status, 0);
}

static void has(const struct pl_child *c, const char *line)
{
	if (!strstr(c->obuf, line))
		fprintf(stderr, "missing \"%s\" in:\n%s", line, c->obuf);
	CHECK(strstr(c->obuf, line) != NULL);
}

/* 1. fstat shows a FIFO, /proc/PID/fd a pipe, fdinfo no watches. */
TEST(descriptor_is_a_pipe)
{
	both("kind", NULL, false);
	has(&kernel, "fstat FIFO: no\n");
	has(&kernel, "/proc/self/fd: anon_inode\n");
	has(&kernel, "fdinfo lists the watch: yes\n");
	has(&ours, "fstat FIFO: yes\n");
	has(&ours, "/proc/self/fd: pipe\n");
	has(&ours, "fdinfo lists the watch: no\n");
}

/* 2. dup and F_DUPFD land in the range while it has room, then as Linux;
 * reads through a copy in the range keep inotify's rules. */
TEST(dup_lands_in_the_range)
{
	both("dup", NULL, false);
	has(&kernel, "dup 1 at the lowest free number: yes\n");
	has(&kernel, "F_DUPFD at the lowest free number: yes\n");
	has(&kernel, "through the copy: FIONREAD 64, read 64, 2 records\n");
	has(&ours, "dup 1 at the lowest free number: no\n");
	has(&ours, "dup 3 at the lowest free number: no\n");
	has(&ours, "F_DUPFD at the lowest free number: no\n");
	has(&ours, "through the copy: FIONREAD 64, read 64, 2 records\n");
}

TEST(dup_when_the_range_is_full_is_linux)
{
	/* Four numbers: the instance and three dups fill them. */
	both("dup", "--fds=64:4", true);
	has(&ours, "dup 3 at the lowest free number: no\n");
	has(&ours, "F_DUPFD at the lowest free number: yes\n");
	/* ... and that copy is a name outside the range (item 3). */
	has(&ours, ", read 32, 1 records\n");
}

/* 3. A name outside the range: one record per read, and a short buffer
 * truncates the record (lost) where Linux says EINVAL and keeps it. */
TEST(outside_the_range_one_record_per_read)
{
	both("outside", NULL, false);
	has(&kernel, "read with room for all: 96 bytes, 3 records\n");
	has(&kernel, "read into 16 bytes = -1 EINVAL\n");
	has(&kernel, "then: 32 ok\n");
	has(&ours, "dup2 to 500 = 500\n");
	has(&ours, "read with room for all: 32 bytes, 1 records\n");
	has(&ours, "read into 16 bytes = 16 ok\n");
	has(&ours, "then: -1 EAGAIN\n");
}

/* 4. Under a signal storm without SA_RESTART: EINTR or the watch, never
 * another error, never another wd. */
TEST(signals_give_eintr_and_nothing_else)
{
	both("eintr", NULL, false);
	has(&kernel, "other errors 0, other wds 0, signals seen\n");
	has(&ours, "other errors 0, other wds 0, signals seen\n");
}

/* 5. readv whose first segment is filled exactly returns at once. */
TEST(readv_returns_what_it_has)
{
	both("readv", NULL, false);
	has(&kernel, "readv = 32, waited for the alarm: yes\n");
	has(&ours, "readv = 32, waited for the alarm: no\n");
}

/* 6. FIONREAD is exact the moment the change returns; poll follows. */
TEST(fionread_exact_poll_follows)
{
	both("fionread", NULL, false);
	has(&kernel, "FIONREAD right after mkdir = 32\n");
	has(&ours, "FIONREAD right after mkdir = 32\n");
	has(&ours, "poll with a timeout = 1\n");
}

/* 7. Limits count the tree: a child's instance counts against its
 * parent's.  (The kernel counts the user's, across trees.) */
TEST(limits_count_the_tree)
{
	both("limits", "--max-user-instances=1", true);
	has(&ours, "child's instance: ok\n");
	has(&ours, "parent's instance = EMFILE\n");
	/* This process is outside the tree: its own instance is the
	 * kernel's, whatever the tree holds. */
	int fd = (int)syscall(SYS_inotify_init1, O_CLOEXEC);
	CHECK(fd >= 0);
	close(fd);
}

/* 8. A call through another architecture's entry point is unserved. */
TEST(other_architectures_reach_the_kernel)
{
	both("arch", NULL, false);
	if (strstr(ours.obuf, "no i386 entry point"))
		SKIP("no i386 entry point here (int $0x80 faults or not x86_64)");
	has(&kernel, "i386 inotify_init1: anon_inode:inotify\n");
	has(&ours, "i386 inotify_init1: anon_inode:inotify\n");
}

/* 9. io_uring reads the pipe itself: one record per read. */
TEST(io_uring_reads_the_pipe)
{
	both("io_uring", NULL, false);
	if (strstr(ours.obuf, "no io_uring") || strstr(kernel.obuf, "no io_uring"))
		SKIP("io_uring is not available here");
	has(&kernel, "queued: 64 bytes\n");
	has(&kernel, "io_uring read of two records: 64 bytes, 2 records\n");
	has(&ours, "queued: 64 bytes\n");
	has(&ours, "io_uring read of two records: 32 bytes, 1 records\n");
}
