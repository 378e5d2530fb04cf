/*
 * tests/test_instance_read.c - inotify_read: whole records, EINVAL for a
 * first record that does not fit (count 0 too, blocking too), EAGAIN,
 * blocking waits woken by another thread, EINTR and SA_RESTART, O_NONBLOCK
 * set by fcntl, EFAULT, dup()ed fds, concurrent readers.
 */
#include "test_instance_util.h"

struct fixture {
	int fd, wd;
	struct uinotify_inode *file;
};

static void setup(struct fixture *fx, int flags)
{
	const char *f = make_file("f");
	fx->fd = inst_new(flags);
	fx->wd = (int)CHECK_OK(uinotify_add_watch(fx->fd, f, IN_ALL_EVENTS));
	fx->file = none_inode(f);
}

static void teardown(struct fixture *fx)
{
	uinotify_inode_put(fx->file);
	CHECK_OK(uinotify_close(fx->fd));
}

TEST(first_record_too_big_is_einval_and_stays)
{
	const char *d = make_dir("d");
	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	CHECK_OK(inotify_add_watch(kfd, d, IN_CREATE));
	int fd = inst_new(IN_NONBLOCK);
	CHECK_OK(uinotify_add_watch(fd, d, IN_CREATE));
	struct uinotify_inode *din = none_inode(d);
	close(CHECK_OK(open(uin_test_path("d/abc"), O_CREAT | O_WRONLY, 0644)));
	uinotify_hook_dirent(din, "abc", NULL, IN_CREATE, 0);
	char b[64];
	static const size_t sizes[] = {0, 1, 16, 31};
	for (size_t i = 0; i < 4; i++) {
		CHECK_ERRNO(read(kfd, b, sizes[i]), EINVAL);
		CHECK_ERRNO(uinotify_read(fd, b, sizes[i]), EINVAL);
	}
	CHECK_EQ(fionread(fd), 32);
	expect_tokens_match(fd);
	CHECK_EQ(CHECK_OK(uinotify_read(fd, b, 32)), 32);
	expect_empty(fd);
	/* Empty and non-blocking: EAGAIN even for count 0. */
	CHECK_ERRNO(uinotify_read(fd, b, 0), EAGAIN);
	CHECK_ERRNO(read(kfd, b, 0), EINVAL); /* the kernel's still queued */
	uinotify_inode_put(din);
	close(kfd);
	CHECK_OK(uinotify_close(fd));
}

TEST(as_many_whole_records_as_fit)
{
	struct fixture fx;
	setup(&fx, IN_NONBLOCK);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	uinotify_hook_inode(fx.file, IN_ACCESS, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	char b[64];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 40)), 32);
	EXPECT_REC(b, &off, fx.wd, IN_OPEN, 0, NULL);
	EXPECT_REC(b, &off, fx.wd, IN_ACCESS, 0, NULL);
	expect_tokens_match(fx.fd);
	CHECK_EQ(fionread(fx.fd), 16);
	off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 40)), 16);
	EXPECT_REC(b, &off, fx.wd, IN_MODIFY, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(blocking_fd_with_small_buffer_is_einval)
{
	struct fixture fx;
	setup(&fx, 0);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	char b[16];
	CHECK_ERRNO(uinotify_read(fx.fd, b, 0), EINVAL);
	CHECK_ERRNO(uinotify_read(fx.fd, b, 15), EINVAL);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	teardown(&fx);
}

TEST(fcntl_nonblock_gives_eagain)
{
	struct fixture fx;
	setup(&fx, 0);
	int fl = (int)CHECK_OK(fcntl(fx.fd, F_GETFL));
	CHECK_EQ(fl & O_NONBLOCK, 0);
	CHECK_OK(fcntl(fx.fd, F_SETFL, fl | O_NONBLOCK));
	char b[64];
	CHECK_ERRNO(uinotify_read(fx.fd, b, sizeof b), EAGAIN);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	CHECK_ERRNO(uinotify_read(fx.fd, b, sizeof b), EAGAIN);
	teardown(&fx);
}

struct reader {
	int fd;
	size_t count;
	pid_t tid;
	pthread_barrier_t started; /* destroyed after the join */
	pthread_t thread;
	ssize_t ret;
	int err;
	char buf[256];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	r->tid = test_gettid();
	pthread_barrier_wait(&r->started);
	errno = 0;
	r->ret = uinotify_read(r->fd, r->buf, r->count);
	r->err = errno;
	return NULL;
}

/* A thread blocked in uinotify_read(fd), known to be in read(). */
static void start_reader(struct reader *r, int fd, size_t count)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->count = count;
	pthread_barrier_init(&r->started, NULL, 2);
	CHECK_EQ(pthread_create(&r->thread, NULL, reader_main, r), 0);
	pthread_barrier_wait(&r->started);
	wait_blocked_in_read(r->tid, fd);
}

static void join_reader(struct reader *r)
{
	CHECK_EQ(pthread_join(r->thread, NULL), 0);
	pthread_barrier_destroy(&r->started);
}

TEST(blocking_read_woken_by_another_thread)
{
	struct fixture fx;
	setup(&fx, 0);
	struct reader r;
	start_reader(&r, fx.fd, sizeof r.buf);
	uinotify_hook_inode(fx.file, IN_CLOSE_WRITE, 0);
	join_reader(&r);
	CHECK_EQ(r.ret, 16);
	size_t off = 0;
	EXPECT_REC(r.buf, &off, fx.wd, IN_CLOSE_WRITE, 0, NULL);
	CHECK_OK(fcntl(fx.fd, F_SETFL, O_NONBLOCK));
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(blocking_count_0_waits_then_einval_and_event_stays)
{
	struct fixture fx;
	setup(&fx, 0);
	struct reader r;
	start_reader(&r, fx.fd, 0);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	join_reader(&r);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EINVAL);
	/* The waiter's byte was written back. */
	expect_tokens_match(fx.fd);
	CHECK_EQ(fionread(fx.fd), 16);
	char b[16];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	CHECK_OK(fcntl(fx.fd, F_SETFL, O_NONBLOCK));
	expect_empty(fx.fd);
	teardown(&fx);
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void install(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
}

TEST(signal_interrupts_with_eintr)
{
	install(0);
	struct fixture fx;
	setup(&fx, 0);
	struct reader r;
	start_reader(&r, fx.fd, sizeof r.buf);
	pthread_kill(r.thread, SIGUSR1);
	join_reader(&r);
	CHECK(got_signal);
	CHECK_EQ(r.ret, -1);
	CHECK_EQ(r.err, EINTR);
	/* Nothing lost, nothing owed. */
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	expect_tokens_match(fx.fd);
	char b[16];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	teardown(&fx);
}

TEST(sa_restart_restarts_the_wait)
{
	if (UIN_TSAN)
		SKIP("TSan runs the handler only after read() returns");
	install(SA_RESTART);
	struct fixture fx;
	setup(&fx, 0);
	struct reader r;
	start_reader(&r, fx.fd, sizeof r.buf);
	pthread_kill(r.thread, SIGUSR1);
	while (!got_signal)
		sched_yield();
	wait_blocked_in_read(r.tid, fx.fd); /* back in read() */
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	join_reader(&r);
	CHECK_EQ(r.ret, 16);
	teardown(&fx);
}

TEST(null_buffer_is_efault_and_loses_the_event)
{
	struct fixture fx;
	setup(&fx, IN_NONBLOCK);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	uinotify_hook_inode(fx.file, IN_ACCESS, 0);
	CHECK_ERRNO(uinotify_read(fx.fd, NULL, 8), EINVAL);
	CHECK_ERRNO(uinotify_read(fx.fd, NULL, 64), EFAULT);
	char b[64];
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	EXPECT_REC(b, &off, fx.wd, IN_ACCESS, 0, NULL);
	expect_empty(fx.fd);
	teardown(&fx);
}

TEST(write_to_the_fd_is_ebadf_as_kernel)
{
	int kfd = (int)CHECK_OK(inotify_init1(0));
	int fd = inst_new(0);
	CHECK_ERRNO(write(kfd, "x", 1), EBADF);
	CHECK_ERRNO(write(fd, "x", 1), EBADF);
	close(kfd);
	CHECK_OK(uinotify_close(fd));
}

TEST(dup_fd_reads_the_same_queue)
{
	struct fixture fx;
	setup(&fx, IN_NONBLOCK);
	int d = (int)CHECK_OK(dup(fx.fd));
	CHECK(uinotify_is_instance(d));
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	CHECK_EQ(fionread(d), 16);
	char b[64];
	CHECK_EQ(CHECK_OK(uinotify_read(d, b, sizeof b)), 16);
	CHECK_ERRNO(uinotify_read(fx.fd, b, sizeof b), EAGAIN);
	/* add_watch and rm_watch through the dup. */
	int wd2 = (int)CHECK_OK(uinotify_add_watch(d, uin_test_path("."),
						   IN_CREATE));
	CHECK_EQ(uinotify_rm_watch(fx.fd, wd2), 0);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	/* Closing the original keeps the instance: the dup still reads. */
	CHECK_OK(uinotify_close(fx.fd));
	CHECK(uinotify_is_instance(d));
	uinotify_hook_inode(fx.file, IN_ACCESS, 0);
	size_t off = 0;
	CHECK_EQ(CHECK_OK(uinotify_read(d, b, sizeof b)), 16);
	EXPECT_REC(b, &off, fx.wd, IN_ACCESS, 0, NULL);
	uinotify_inode_put(fx.file);
	CHECK_OK(uinotify_close(d));
}

TEST(raw_read_steals_tokens_not_records)
{
	struct fixture fx;
	setup(&fx, IN_NONBLOCK);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	uinotify_hook_inode(fx.file, IN_ACCESS, 0);
	char raw[8];
	CHECK_EQ(read(fx.fd, raw, 1), 1); /* bypasses uinotify */
	char b[64];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 32);
	CHECK_ERRNO(uinotify_read(fx.fd, b, sizeof b), EAGAIN);
	teardown(&fx);
}

/* Many blocking readers, one producer: every event read exactly once,
 * and the tokens settle to zero. */
struct crowd {
	int fd;
	atomic_long got;
	long want;
};

static void *crowd_reader(void *arg)
{
	struct crowd *c = arg;
	/* Room for three small records or one stop marker (64 bytes) and
	 * one small record: never for two stop markers. */
	char b[96];
	for (;;) {
		ssize_t n = uinotify_read(c->fd, b, sizeof b);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (void *)1;
		}
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *ev =
				(struct inotify_event *)(b + off);
			if (ev->mask & IN_DELETE) /* the stop marker */
				return NULL;
			atomic_fetch_add(&c->got, 1);
			off += (ssize_t)sizeof *ev + ev->len;
		}
	}
}

static void crowd_run(int flags)
{
	const char *dir = make_dir("d");
	int fd = inst_new(flags);
	CHECK_OK(uinotify_add_watch(fd, dir, IN_CREATE | IN_DELETE));
	struct uinotify_inode *d = none_inode(dir);
	enum { READERS = 4, EVENTS = 20000 };
	struct crowd c = {.fd = fd, .want = EVENTS};
	pthread_t t[READERS];
	for (int i = 0; i < READERS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, crowd_reader, &c), 0);
	char name[32];
	for (int i = 0; i < EVENTS; i++) {
		snprintf(name, sizeof name, "n%d", i);
		uinotify_hook_dirent(d, name, NULL, IN_CREATE, 0);
	}
	/* Wait until all are read, then one stop marker per reader
	 * (distinct names: no merging). */
	while (atomic_load(&c.got) < EVENTS)
		sched_yield();
	char stop[64];
	for (int i = 0; i < READERS; i++) {
		snprintf(stop, sizeof stop, "stop%d-%040d", i, 0);
		uinotify_hook_dirent(d, stop, NULL, IN_DELETE, 0);
	}
	for (int i = 0; i < READERS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		CHECK(ret == NULL);
	}
	CHECK_EQ(atomic_load(&c.got), EVENTS);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fd, &st), 0);
	CHECK_EQ(st.q_len, 0);
	CHECK_EQ(st.pipe_bytes, 0);
	CHECK_EQ(st.debt, 0);
	CHECK_EQ(st.unsignaled, 0);
	uinotify_inode_put(d);
	CHECK_OK(uinotify_close(fd));
}

TEST(concurrent_blocking_readers_settle_tokens)
{
	crowd_run(0);
}

TEST(concurrent_readers_plain_pipe_fallback)
{
	uin_instance_debug_plain_pipe(true);
	int fd = inst_new(0);
	struct uin_instance_stats st;
	CHECK_EQ(uin_instance_stats(fd, &st), 0);
	CHECK(!st.io_reads);
	CHECK_OK(uinotify_close(fd));
	crowd_run(0);
}

TEST(reader_blocked_across_close_still_gets_events)
{
	if (UIN_TSAN)
		SKIP("TSan reports close() during read() of the same fd");
	struct fixture fx;
	setup(&fx, 0);
	struct reader r;
	start_reader(&r, fx.fd, sizeof r.buf);
	/* As in Linux, the read holds the file: the instance lives on. */
	CHECK_OK(uinotify_close(fx.fd));
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	join_reader(&r);
	CHECK_EQ(r.ret, 16);
	size_t off = 0;
	EXPECT_REC(r.buf, &off, fx.wd, IN_OPEN, 0, NULL);
	uinotify_inode_put(fx.file);
}
