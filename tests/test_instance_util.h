/*
 * tests/test_instance_util.h - helpers shared by tests/test_instance_*.c:
 * instances on the NONE source (events only from the hooks, so every
 * test is deterministic), the engine inode behind a path, record parsing,
 * and waiting until a thread is really blocked in read().
 */
#ifndef UIN_TEST_INSTANCE_UTIL_H
#define UIN_TEST_INSTANCE_UTIL_H

#include "runner.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>

#include "engine/sanitizers.h"
#include "instance/instance.h"
#include "sources/none.h"

/* ThreadSanitizer defers signal handlers until an intercepted syscall
 * returns, and calls close() during a read() on the same fd a race: the
 * tests of those behaviours skip under it.  Here UIN_TSAN is always
 * defined, to 0 without it (the instance tests test its value); the
 * others test whether it is defined, so no file includes both kinds. */
#ifndef UIN_TSAN
#define UIN_TSAN 0
#endif

/* A new instance whose watches use the NONE source. */
static inline int inst_new(int flags)
{
	uinotify_set_default_source(UINOTIFY_SOURCE_NONE);
	return (int)CHECK_OK(uinotify_init1(flags));
}

/* A file (or, with dir, a directory) under the test's temp dir. */
static inline const char *make_file(const char *rel)
{
	const char *p = uin_test_path(rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	return p;
}

static inline const char *make_dir(const char *rel)
{
	const char *p = uin_test_path(rel);
	CHECK(mkdir(p, 0755) == 0);
	return p;
}

/* The NONE source's engine inode for path (put it when done). */
static inline struct uinotify_inode *none_inode(const char *path)
{
	struct uinotify_inode *in = NULL;
	int r = uin_source_none_inode(path, 0, &in);
	if (r < 0)
		uin_test_fail(__FILE__, __LINE__, "none inode %s: %s", path,
			      strerror(-r));
	return in;
}

static inline int fionread(int fd)
{
	int n = -1;
	CHECK_OK(uinotify_ioctl(fd, FIONREAD, &n));
	return n;
}

/* Check the record at buf + *off and step past it. */
#define EXPECT_REC(buf, off, wd_, mask_, cookie_, name_)                     \
	do {                                                                 \
		struct inotify_event *ev_ =                                  \
			(struct inotify_event *)((char *)(buf) + *(off));    \
		CHECK_EQ(ev_->wd, (wd_));                                    \
		CHECK_HEX(ev_->mask, (mask_));                               \
		CHECK_EQ(ev_->cookie, (cookie_));                            \
		const char *n_ = (name_);                                    \
		if (n_) {                                                    \
			size_t l_ = (strlen(n_) + 1 + 15) & ~(size_t)15;     \
			CHECK_EQ(ev_->len, l_);                              \
			CHECK_STR(ev_->name, n_);                            \
			for (size_t i_ = strlen(n_); i_ < l_; i_++)          \
				CHECK_EQ(ev_->name[i_], 0);                  \
		} else {                                                     \
			CHECK_EQ(ev_->len, 0);                               \
		}                                                            \
		*(off) += sizeof *ev_ + ev_->len;                            \
	} while (0)

/* The queue of a non-blocking instance is empty, pipe included. */
static inline void expect_empty(int fd)
{
	char b[64];
	CHECK_EQ(fionread(fd), 0);
	CHECK_ERRNO(uinotify_read(fd, b, sizeof b), EAGAIN);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fd, &st), 0);
	CHECK_EQ(st.q_len, 0);
	CHECK_EQ(st.pipe_bytes, 0);
	CHECK_EQ(st.debt, 0);
	CHECK_EQ(st.unsignaled, 0);
}

/* Pipe bytes == queued events, as the token invariant wants at rest. */
static inline void expect_tokens_match(int fd)
{
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fd, &st), 0);
	CHECK_EQ(st.pipe_bytes + (long)st.unsignaled, (long)st.q_len);
	CHECK_EQ(st.debt, 0);
}

static inline pid_t test_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Wait until thread tid sleeps inside read(fd) (state S, syscall 0 on
 * that fd): a condition, polled, not a guessed delay.
 */
static inline void wait_blocked_in_read(pid_t tid, int fd)
{
	char path[96], buf[256];
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof path, "/proc/self/task/%d/syscall",
			 (int)tid);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		long nr = -1;
		unsigned long arg0 = ~0ul;
		int got = fscanf(f, "%ld 0x%lx", &nr, &arg0);
		fclose(f);
		snprintf(path, sizeof path, "/proc/self/task/%d/stat",
			 (int)tid);
		f = fopen(path, "r");
		CHECK(f != NULL);
		char state = 0;
		if (fgets(buf, sizeof buf, f)) {
			char *p = strrchr(buf, ')');
			if (p && p[1])
				state = p[2];
		}
		fclose(f);
		if (got == 2 && nr == SYS_read && arg0 == (unsigned long)fd &&
		    state == 'S')
			return;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	uin_test_fail(__FILE__, __LINE__, "thread %d never blocked in read",
		      (int)tid);
}

#endif
