/*
 * tests/test_source_kernel_engine.c - the kernel source seen through the
 * engine API alone (no instance): engine handles whose handler writes the
 * records a Linux inotify queue would hold (with the tail merge rule), fed
 * by the kernel source, compared byte for byte with a real kernel
 * instance watching the same files during the same workload.
 */
#include "test_source_kernel.h"

#include <pthread.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>

#include "sources/kernel.h"
#include "engine/sanitizers.h"
#include "sources/loop.h"
#include "sources/mounts.h"

struct rec {
	pthread_mutex_t mu;
	struct stream s;
	size_t tail; /* offset of the last record, or SIZE_MAX */
	int overflows;
};

struct tw {
	struct uinotify_watch w;
};

static void rec_event(struct uinotify_watch *w, int32_t wd, uint32_t mask,
		      uint32_t cookie, const char *name,
		      struct uinotify_inode *name_inode)
{
	(void)name_inode;
	struct rec *r = uinotify_handle_user(uinotify_watch_handle(w));
	pthread_mutex_lock(&r->mu);
	/* Linux's merge: same wd, mask and name as the unread tail. */
	bool merged = false;
	if (r->tail != SIZE_MAX && !(mask & IN_IGNORED)) {
		const struct inotify_event *t = (void *)(r->s.buf + r->tail);
		merged = t->wd == wd && t->mask == mask &&
			 (name ? t->len && !strcmp(t->name, name) : !t->len);
	}
	if (!merged) {
		r->tail = r->s.len;
		stream_event(&r->s, wd, mask, cookie, name);
	}
	pthread_mutex_unlock(&r->mu);
	if (mask & IN_IGNORED)
		uinotify_watch_put(w);
}

static void rec_destroy(struct uinotify_watch *w)
{
	free((struct tw *)w);
}

static void rec_overflow(struct uinotify_handle *h, void *user)
{
	(void)h;
	struct rec *r = user;
	pthread_mutex_lock(&r->mu);
	r->overflows++;
	pthread_mutex_unlock(&r->mu);
}

static const struct uinotify_ops rec_ops = {rec_event, rec_destroy,
					    rec_overflow};

static struct uinotify_handle *rec_handle(struct rec *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	r->tail = SIZE_MAX;
	struct uinotify_handle *h;
	CHECK_EQ(uinotify_handle_create(&rec_ops, r, &h), 0);
	return h;
}

/*
 * How engine_add hands the watch to the source: with the watch's mask in
 * r.in_flags (MASK_KNOWN), with only DONT_FOLLOW/ONLYDIR as resolve.c
 * passes today (MASK_UNKNOWN), or that and the fd closed before the watch
 * is added (NO_HINT, as uinotify_path_inode does).
 */
enum add_mode { MASK_KNOWN, MASK_UNKNOWN, NO_HINT };
static enum add_mode add_mode = MASK_KNOWN;

/* As an instance's add_watch would: resolve, inode_get, add, release. */
static int32_t engine_add(struct uinotify_handle *h, const char *path,
			  uint32_t mask)
{
	struct uin_resolved r;
	memset(&r, 0, sizeof r);
	r.fd = open(path, O_PATH | O_CLOEXEC |
				  ((mask & IN_DONT_FOLLOW) ? O_NOFOLLOW : 0));
	CHECK(r.fd >= 0);
	CHECK_OK(statx(r.fd, "", AT_EMPTY_PATH,
		       STATX_BASIC_STATS | STATX_BTIME, &r.stx));
	r.key.dev = makedev(r.stx.stx_dev_major, r.stx.stx_dev_minor);
	r.key.ino = r.stx.stx_ino;
	if (r.stx.stx_mask & STATX_BTIME)
		r.key.btime_ns = (uint64_t)r.stx.stx_btime.tv_sec * 1000000000u +
				 r.stx.stx_btime.tv_nsec;
	r.key.type = r.stx.stx_mode & S_IFMT;
	r.path = path;
	r.in_flags = add_mode == MASK_KNOWN
			     ? mask
			     : mask & (IN_DONT_FOLLOW | IN_ONLYDIR);
	struct uinotify_inode *inode;
	CHECK_EQ(uin_source_kernel.inode_get(&r, &inode), 0);
	if (add_mode == NO_HINT) {
		close(r.fd);
		r.fd = -1;
	}
	struct tw *tw = calloc(1, sizeof *tw);
	CHECK(tw);
	uinotify_watch_init(&tw->w);
	int32_t wd = uinotify_watch_find_update(h, inode, mask);
	if (wd == -ENOENT) {
		wd = uinotify_watch_add(h, &tw->w, inode, mask);
		CHECK(wd > 0);
	} else {
		free(tw);
	}
	uinotify_inode_put(inode);
	if (r.fd >= 0)
		close(r.fd);
	return wd;
}

static void rec_wait_marker(struct rec *r, int32_t wd, const char *marker)
{
	uin_loop_drain();
	pthread_mutex_lock(&r->mu);
	bool ok = stream_has(&r->s, wd, IN_CREATE, marker);
	pthread_mutex_unlock(&r->mu);
	CHECK(ok);
}

static void rec_finish(struct uinotify_handle *h, struct rec *r)
{
	uinotify_handle_destroy(h);
	uin_loop_drain();
	stream_free(&r->s);
	pthread_mutex_destroy(&r->mu);
}

static void no_kernel_watch_left(void)
{
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.kwatches, 0);
	CHECK_EQ(uin_mounts_count(), 0);
}

static void differential(void)
{
	workload_setup();
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	for (size_t i = 0; i < N_WORKLOAD_WATCHES; i++) {
		const char *p = P(workload_watches[i].rel);
		int kwd = CHECK_OK(
			inotify_add_watch(kfd, p, workload_watches[i].mask));
		CHECK_EQ(engine_add(h, p, workload_watches[i].mask), kwd);
	}
	workload_run();

	struct stream ks = {0};
	kernel_read_until(kfd, &ks, 1, "zz-end");
	rec_wait_marker(&rec, 1, "zz-end");
	pthread_mutex_lock(&rec.mu);
	streams_check_equal("engine differential", &ks, &rec.s);
	pthread_mutex_unlock(&rec.mu);
	CHECK_EQ(rec.overflows, 0);

	stream_free(&ks);
	close(kfd);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

static void test_two_handles_union(void);
static void test_excl_unlink(void);

TEST(differential)
{
	differential();
}

TEST(differential_mask_unknown)
{
	add_mode = MASK_UNKNOWN;
	differential();
}

TEST(differential_no_hint)
{
	add_mode = NO_HINT;
	differential();
}

TEST(two_handles_union_mask_unknown)
{
	add_mode = MASK_UNKNOWN;
	test_two_handles_union();
}

TEST(excl_unlink_mask_unknown)
{
	add_mode = MASK_UNKNOWN;
	test_excl_unlink();
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* No descriptor per watch: the process holds the kernel instance, the
 * loop's epoll and eventfd, and nothing else, however many watches. */
TEST(no_fd_per_watch)
{
	CHECK_OK(mkdir(P("d"), 0755));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	CHECK_EQ(engine_add(h, P("d"), IN_CREATE), 1);
	int base = count_fds();
	for (int i = 0; i < 200; i++) {
		char rel[32];
		snprintf(rel, sizeof rel, "d/f%d", i);
		make_file(rel, NULL);
		CHECK_EQ(engine_add(h, P(rel), i % 2 ? IN_MODIFY : IN_ATTRIB),
			 i + 2);
	}
	CHECK_EQ(count_fds(), base);
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.kwatches, 201);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/* Two handles with different masks on the same inodes: the kernel watch
 * has the union, each handle gets exactly its own kernel twin's stream. */
TEST(two_handles_union)
{
	workload_setup();
	static const struct watch_spec a[] = {
		{"d", IN_CREATE | IN_DELETE},
		{"d/f", IN_MODIFY},
		{"e", IN_ALL_EVENTS},
	};
	static const struct watch_spec b[] = {
		{"d/f", IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF},
		{"d", IN_ALL_EVENTS},
		{"d/sub", IN_ONLYDIR | IN_ISDIR}, /* flags only: no event */
	};
	int ka = CHECK_OK(inotify_init1(IN_NONBLOCK));
	int kb = CHECK_OK(inotify_init1(IN_NONBLOCK));
	struct rec ra, rb;
	struct uinotify_handle *ha = rec_handle(&ra), *hb = rec_handle(&rb);
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ(engine_add(ha, P(a[i].rel), a[i].mask),
			 inotify_add_watch(ka, P(a[i].rel), a[i].mask));
		CHECK_EQ(engine_add(hb, P(b[i].rel), b[i].mask),
			 inotify_add_watch(kb, P(b[i].rel), b[i].mask));
	}
	/* b narrows its watch on d: the kernel mask may stay wider */
	CHECK_EQ(engine_add(hb, P("d"), IN_CREATE | IN_MOVE | IN_OPEN),
		 inotify_add_watch(kb, P("d"), IN_CREATE | IN_MOVE | IN_OPEN));
	workload_run();
	struct stream sa = {0}, sb = {0};
	kernel_read_until(ka, &sa, 1, "zz-end");
	kernel_read_until(kb, &sb, 2, "zz-end");
	uin_loop_drain();
	streams_check_equal("handle a", &sa, &ra.s);
	streams_check_equal("handle b", &sb, &rb.s);
	stream_free(&sa);
	stream_free(&sb);
	close(ka);
	close(kb);
	rec_finish(ha, &ra);
	rec_finish(hb, &rb);
	no_kernel_watch_left();
}

/* IN_EXCL_UNLINK on every watch: the kernel watch carries it, so the
 * writes and the close after the unlink are suppressed exactly. */
TEST(excl_unlink)
{
	CHECK_OK(mkdir(P("d"), 0755));
	make_file("d/g", "g");
	make_file("d/k", "k");
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	const uint32_t m = IN_ALL_EVENTS | IN_EXCL_UNLINK;
	CHECK_EQ(engine_add(h, P("d"), m), inotify_add_watch(kfd, P("d"), m));
	CHECK_EQ(engine_add(h, P("d/g"), m),
		 inotify_add_watch(kfd, P("d/g"), m));
	/* k without the flag: its kernel watch must not filter */
	CHECK_EQ(engine_add(h, P("d/k"), IN_ALL_EVENTS),
		 inotify_add_watch(kfd, P("d/k"), IN_ALL_EVENTS));
	for (int i = 0; i < 2; i++) {
		const char *rel = i ? "d/k" : "d/g";
		int fd = CHECK_OK(open(P(rel), O_RDWR));
		CHECK_OK(unlink(P(rel)));
		CHECK_EQ(write(fd, "after", 5), 5);
		CHECK_EQ(pread(fd, (char[8]){0}, 8, 0), 5);
		CHECK_OK(close(fd));
	}
	make_marker("d/zz-end");
	struct stream ks = {0};
	kernel_read_until(kfd, &ks, 1, "zz-end");
	rec_wait_marker(&rec, 1, "zz-end");
	streams_check_equal("excl_unlink", &ks, &rec.s);
	stream_free(&ks);
	close(kfd);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/* Adding the same inode again, by another path (a hard link), gives the
 * same wd, as the kernel; IN_MASK_ADD widens, a plain add replaces. */
TEST(readd_and_mask_add)
{
	CHECK_OK(mkdir(P("d"), 0755));
	make_file("d/f", "f");
	CHECK_OK(link(P("d/f"), P("d/f-link")));
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	CHECK_EQ(engine_add(h, P("d"), IN_CREATE),
		 inotify_add_watch(kfd, P("d"), IN_CREATE));
	CHECK_EQ(engine_add(h, P("d/f"), IN_ATTRIB),
		 inotify_add_watch(kfd, P("d/f"), IN_ATTRIB));
	CHECK_EQ(engine_add(h, P("d/f-link"), IN_MODIFY | IN_MASK_ADD),
		 inotify_add_watch(kfd, P("d/f-link"),
				   IN_MODIFY | IN_MASK_ADD));
	CHECK_OK(chmod(P("d/f"), 0600));
	CHECK_OK(truncate(P("d/f"), 0));
	CHECK_EQ(engine_add(h, P("d/f"), IN_OPEN),
		 inotify_add_watch(kfd, P("d/f"), IN_OPEN));
	CHECK_OK(chmod(P("d/f"), 0644)); /* no longer wanted */
	int fd = CHECK_OK(open(P("d/f"), O_RDONLY));
	CHECK_OK(close(fd));
	make_marker("d/zz-end");
	struct stream ks = {0};
	kernel_read_until(kfd, &ks, 1, "zz-end");
	rec_wait_marker(&rec, 1, "zz-end");
	streams_check_equal("readd", &ks, &rec.s);
	stream_free(&ks);
	close(kfd);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/* A tmpfs mounted for the test and unmounted under the watches: UNMOUNT
 * (ISDIR on directories) then IGNORED, in the kernel's order. */
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
	make_file("mnt/dir/inner", "y");
	int kfd = CHECK_OK(inotify_init1(IN_NONBLOCK));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	static const char *const rels[] = {"mnt", "mnt/file", "mnt/dir",
					   "mnt/dir/inner"};
	for (int i = 0; i < 4; i++) {
		/* the file: a flag-only watch, which still gets UNMOUNT */
		uint32_t m = i == 1 ? IN_UNMOUNT : IN_ALL_EVENTS;
		CHECK_EQ(engine_add(h, P(rels[i]), m),
			 inotify_add_watch(kfd, P(rels[i]), m));
	}
	make_file("mnt/dir/new", "z");
	CHECK_OK(umount(P("mnt")));
	/* The last kernel record is the IGNORED of the first inode in the
	 * superblock's list order; read until both sides hold 4 IGNORED. */
	struct stream ks = {0};
	char buf[4096];
	int ignored = 0;
	while (ignored < 4) {
		struct pollfd p = {.fd = kfd, .events = POLLIN};
		CHECK(poll(&p, 1, 5000) == 1);
		ssize_t n = CHECK_OK(read(kfd, buf, sizeof buf));
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (void *)(buf + off);
			ignored += !!(e->mask & IN_IGNORED);
			off += (ssize_t)(sizeof *e + e->len);
		}
		stream_put(&ks, buf, (size_t)n);
	}
	uin_loop_drain();
	streams_check_equal("unmount", &ks, &rec.s);
	stream_free(&ks);
	close(kfd);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/* The loop thread and the kernel instance exist only while needed. */
TEST(loop_starts_and_stops)
{
	CHECK_OK(mkdir(P("d"), 0755));
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.fd, -1);
	CHECK(!uin_loop_running());
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	CHECK_EQ(engine_add(h, P("d"), IN_CREATE), 1);
	uin_kernel_get_stats(&st);
	CHECK(st.fd >= 0);
	CHECK_EQ(st.kwatches, 1);
	CHECK(uin_loop_running());
	rec_finish(h, &rec);
	/* The close job and the thread's exit are asynchronous: wait. */
	for (int i = 0; i < 2000 && uin_loop_running(); i++)
		usleep(1000);
	uin_kernel_get_stats(&st);
	CHECK_EQ(st.fd, -1);
	CHECK(!uin_loop_running());
	no_kernel_watch_left();
	/* and it starts again */
	h = rec_handle(&rec);
	CHECK_EQ(engine_add(h, P("d"), IN_CREATE), 1);
	make_marker("d/zz-end");
	rec_wait_marker(&rec, 1, "zz-end");
	rec_finish(h, &rec);
}

/* d watched for IN_CREATE by a new recording handle (wd 1), then fork()
 * with UINOTIFY_FORK_REARM=mode (NULL: unset). */
static pid_t fork_watching_d(struct rec *rec, struct uinotify_handle **h,
			     const char *mode)
{
	CHECK_OK(mkdir(P("d"), 0755));
	*h = rec_handle(rec);
	CHECK_EQ(engine_add(*h, P("d"), IN_CREATE), 1);
	if (mode)
		CHECK_OK(setenv("UINOTIFY_FORK_REARM", mode, 1));
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	return pid;
}

/* The parent's side: the child exited 0 and the parent's watch still
 * reports. */
static void parent_after_fork(pid_t pid, struct rec *rec)
{
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	unsetenv("UINOTIFY_FORK_REARM");
	make_marker("d/zz-end");
	rec_wait_marker(rec, 1, "zz-end");
}

/*
 * fork(): the fork handlers do nothing but mark the child (no loop thread,
 * nothing re-armed yet); the child's first call re-arms its inherited
 * watch, which then reports what the child does, the child can watch on
 * its own, and the parent's watch is unaffected.
 */
TEST(fork_child)
{
#ifdef UIN_TSAN
	SKIP("ThreadSanitizer cannot start threads in a forked child");
#endif
	struct rec rec;
	struct uinotify_handle *h;
	pid_t pid = fork_watching_d(&rec, &h, NULL);
	if (pid == 0) {
		if (uin_loop_running())
			_exit(14);
		uin_loop_drain(); /* the first use: re-armed before it returns */
		make_file("d/child", NULL);
		uin_loop_drain();
		if (!stream_has(&rec.s, 1, IN_CREATE, "child"))
			_exit(10);
		struct uin_kernel_stats st;
		uin_kernel_get_stats(&st);
		if (st.rearmed != 1 || st.rearm_lost != 0 || st.kwatches != 1)
			_exit(11);
		struct rec cr;
		struct uinotify_handle *ch = rec_handle(&cr);
		if (engine_add(ch, P("d"), IN_CREATE) != 1)
			_exit(12);
		make_file("d/child2", NULL);
		uin_loop_drain();
		if (!stream_has(&cr.s, 1, IN_CREATE, "child2") ||
		    !stream_has(&rec.s, 1, IN_CREATE, "child2"))
			_exit(13);
		uinotify_handle_destroy(ch);
		uin_loop_drain();
		_exit(0);
	}
	/* the parent saw the child's files, and its watch still works */
	parent_after_fork(pid, &rec);
	CHECK(stream_has(&rec.s, 1, IN_CREATE, "child"));
	CHECK(stream_has(&rec.s, 1, IN_CREATE, "child2"));
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/* The child's stats once its rearm has run (async: on its loop thread). */
static bool child_wait_rearmed(long want, long timeout_ms)
{
	struct uin_kernel_stats st;
	for (long i = 0; i < timeout_ms; i++) {
		uin_kernel_get_stats(&st);
		if (st.rearmed + st.rearm_lost >= want)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * UINOTIFY_FORK_REARM=async: the child's loop thread makes the watches
 * again after fork() returned; then they report.  A second fork in the
 * child (a grandchild) inherits them made.
 */
TEST(fork_rearm_async)
{
#ifdef UIN_TSAN
	SKIP("ThreadSanitizer cannot start threads in a forked child");
#endif
	struct rec rec;
	struct uinotify_handle *h;
	pid_t pid = fork_watching_d(&rec, &h, "async");
	if (pid == 0) {
		/* A fork at once, the rearm likely still pending: the
		 * grandchild (sync) inherits the watches made. */
		setenv("UINOTIFY_FORK_REARM", "sync", 1);
		pid_t g = fork();
		if (g == 0) {
			uin_loop_drain(); /* its first use re-arms */
			make_file("d/grandchild", NULL);
			uin_loop_drain();
			_exit(stream_has(&rec.s, 1, IN_CREATE, "grandchild")
				      ? 0
				      : 1);
		}
		int gs;
		if (g < 0 || waitpid(g, &gs, 0) != g || !WIFEXITED(gs) ||
		    WEXITSTATUS(gs) != 0)
			_exit(13);
		if (!child_wait_rearmed(1, 5000))
			_exit(10);
		struct uin_kernel_stats st;
		uin_kernel_get_stats(&st);
		if (st.rearmed != 1 || st.kwatches != 1)
			_exit(11);
		make_file("d/child", NULL);
		uin_loop_drain();
		if (!stream_has(&rec.s, 1, IN_CREATE, "child"))
			_exit(12);
		_exit(0);
	}
	parent_after_fork(pid, &rec);
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/*
 * UINOTIFY_FORK_REARM=off: the inherited watch is silent in the child
 * (counted as lost); adding the path again in the child makes it report.
 */
TEST(fork_rearm_off)
{
#ifdef UIN_TSAN
	SKIP("ThreadSanitizer cannot start threads in a forked child");
#endif
	struct rec rec;
	struct uinotify_handle *h;
	pid_t pid = fork_watching_d(&rec, &h, "off");
	if (pid == 0) {
		struct uin_kernel_stats st;
		uin_kernel_get_stats(&st);
		if (st.rearmed != 0 || st.rearm_lost != 1 || st.kwatches != 0)
			_exit(10);
		make_file("d/unseen", NULL);
		uin_loop_drain();
		if (stream_has(&rec.s, 1, IN_CREATE, "unseen"))
			_exit(11);
		if (engine_add(h, P("d"), IN_CREATE) != 1)
			_exit(12);
		make_file("d/seen", NULL);
		uin_loop_drain();
		if (!stream_has(&rec.s, 1, IN_CREATE, "seen"))
			_exit(13);
		_exit(0);
	}
	parent_after_fork(pid, &rec);
	CHECK(stream_has(&rec.s, 1, IN_CREATE, "unseen"));
	rec_finish(h, &rec);
	no_kernel_watch_left();
}

/*
 * fork() after a watched directory was renamed: its kernel watch cannot be
 * made again in the child (the path it had names another directory now,
 * which must not report to it), so its watch ends there with IN_IGNORED;
 * the other watches work; the parent's watch on the renamed directory
 * still reports.
 */
/* Whether s holds a record (wd, mask) without a name. */
static bool stream_has_self(const struct stream *s, int32_t wd, uint32_t mask)
{
	for (size_t off = 0; off + sizeof(struct inotify_event) <= s->len;) {
		const struct inotify_event *e = (const void *)(s->buf + off);
		if (e->wd == wd && (e->mask & mask) == mask && !e->len)
			return true;
		off += sizeof *e + e->len;
	}
	return false;
}

TEST(fork_child_after_rename)
{
#ifdef UIN_TSAN
	SKIP("ThreadSanitizer cannot start threads in a forked child");
#endif
	CHECK_OK(mkdir(P("d"), 0755));
	CHECK_OK(mkdir(P("e"), 0755));
	struct rec rec;
	struct uinotify_handle *h = rec_handle(&rec);
	CHECK_EQ(engine_add(h, P("d"), IN_CREATE), 1);
	CHECK_EQ(engine_add(h, P("e"), IN_CREATE), 2);
	CHECK_OK(rename(P("e"), P("e-moved")));
	CHECK_OK(mkdir(P("e"), 0755)); /* an impostor at the old path */
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct uin_kernel_stats st;
		uin_kernel_get_stats(&st);
		if (st.rearmed != 1 || st.rearm_lost != 1 || st.kwatches != 1)
			_exit(10);
		make_file("e/impostor", NULL);
		make_file("d/child", NULL);
		uin_loop_drain();
		if (!stream_has(&rec.s, 1, IN_CREATE, "child"))
			_exit(11);
		if (stream_has(&rec.s, 2, IN_CREATE, "impostor"))
			_exit(12);
		if (!stream_has_self(&rec.s, 2, IN_IGNORED))
			_exit(13);
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	make_marker("e-moved/zz-end");
	rec_wait_marker(&rec, 2, "zz-end");
	CHECK(!stream_has(&rec.s, 2, IN_CREATE, "impostor"));
	rec_finish(h, &rec);
	no_kernel_watch_left();
}
