/*
 * tests/test_source_scan_recovery.c - lost events found again.  A watch
 * that asks for recovery (UIN_SOURCE_RECOVER) on the kernel source keeps a
 * scanner snapshot; when the kernel's queue overflows, the consumer gets
 * its overflow and then the events a comparison with the disk finds.  On
 * a mount that the scanner watches anyway (AUTO on FUSE), what the kernel
 * lost the scanner reports on its next tick.  The kernel's loss is made
 * by reading its queue away (uin_kernel_debug_lose_events) while the
 * dispatch lock keeps the loop thread from delivering it.
 *
 * Watches that only recover do not tick: the waits below are for the tick
 * in progress or the one an overflow arms, never for more.
 */
#include "test_source_scan.h"

#include <pthread.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>

#include "sources/kernel.h"
#include "sources/source.h"

/* An engine consumer that records events and overflows. */
struct rec {
	pthread_mutex_t mu;
	struct evs l;
	int overflows;
	size_t overflow_at; /* events recorded before the first overflow */
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
	union {
		struct inotify_event e;
		char b[sizeof(struct inotify_event) + 256];
	} ev;
	memset(&ev, 0, sizeof ev);
	ev.e.wd = wd;
	ev.e.mask = mask;
	ev.e.cookie = cookie;
	if (name) {
		snprintf(ev.b + sizeof ev.e, 256, "%s", name);
		ev.e.len = (uint32_t)strlen(name) + 1;
	}
	pthread_mutex_lock(&r->mu);
	evs_push(&r->l, &ev.e);
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
	if (!r->overflows++)
		r->overflow_at = r->l.n;
	pthread_mutex_unlock(&r->mu);
}

static const struct uinotify_ops rec_ops = {rec_event, rec_destroy,
					    rec_overflow};

static int32_t add(struct uinotify_handle *h, const char *path, uint32_t mask,
		   enum uinotify_source src, unsigned flags)
{
	struct uin_resolved r;
	CHECK_EQ(uin_resolve_path(path, mask, &r), 0);
	struct uinotify_inode *inode;
	CHECK_EQ(uin_source_inode_get_ex(src, &r, flags, &inode), 0);
	struct tw *tw = calloc(1, sizeof *tw);
	CHECK(tw);
	uinotify_watch_init(&tw->w);
	int32_t wd = uinotify_watch_add(h, &tw->w, inode, mask);
	CHECK(wd > 0);
	uinotify_inode_put(inode);
	uin_resolved_release(&r);
	return wd;
}

/* Wait until r holds an event (wd, mask, name). */
static long rec_wait(struct rec *r, int32_t wd, uint32_t mask,
		     const char *name)
{
	uint64_t end = ms_now() + 5000;
	for (;;) {
		uin_loop_drain();
		pthread_mutex_lock(&r->mu);
		long i = evs_find(&r->l, 0, wd, mask, name);
		pthread_mutex_unlock(&r->mu);
		if (i >= 0 || ms_now() > end)
			return i;
		uin_scan_wait_ticks(1, 100);
	}
}

/* Inject the kernel's IN_Q_OVERFLOW; return once the rescan it arms has
 * run (the scanner's count of finished ticks moved). */
static void inject_overflow_and_wait(void)
{
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	long before = st.ticks;
	struct inotify_event ov = {.wd = -1, .mask = IN_Q_OVERFLOW};
	uin_loop_dispatch_enter();
	uin_kernel_debug_inject(&ov);
	uin_loop_dispatch_exit();
	for (int i = 0; i < 500; i++) {
		uin_scan_get_stats(&st);
		if (st.ticks > before)
			return;
		uin_scan_wait_ticks(1, 10);
	}
	CHECK(st.ticks > before);
}

TEST(kernel_overflow_rescan_local)
{
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	CHECK_OK(mkdir(P("d"), 0755));
	write_text(P("d/a"), "a", O_CREAT);
	write_text(P("d/m"), "m", O_CREAT);
	write_text(P("d/old"), "o", O_CREAT);
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct uinotify_handle *h;
	CHECK_EQ(uinotify_handle_create(&rec_ops, &r, &h), 0);
	const uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVE;
	CHECK_EQ(add(h, P("d"), mask, UINOTIFY_SOURCE_KERNEL,
		     UIN_SOURCE_RECOVER),
		 1);
	/* Delivered normally: the kernel's, and never again afterwards. */
	write_text(P("d/seen"), "s", O_CREAT);
	CHECK(rec_wait(&r, 1, IN_CREATE, "seen") >= 0);
	CHECK(rec_wait(&r, 1, IN_MODIFY, "seen") >= 0);

	/* Lost: the kernel queued these, and we lose them all. */
	uin_loop_dispatch_enter();
	write_text(P("d/b"), "b", O_CREAT);
	CHECK_OK(unlink(P("d/a")));
	write_text(P("d/m"), "more", O_APPEND);
	CHECK_OK(rename(P("d/old"), P("d/new")));
	CHECK(uin_kernel_debug_lose_events() >= 5);
	uin_loop_dispatch_exit();

	CHECK(rec_wait(&r, 1, IN_CREATE, "b") >= 0);
	CHECK(rec_wait(&r, 1, IN_DELETE, "a") >= 0);
	if (rec_wait(&r, 1, IN_MODIFY, "m") < 0) {
		evs_dump("recorded", &r.l);
		CHECK(0);
	}
	long from = rec_wait(&r, 1, IN_MOVED_FROM, "old");
	long to = rec_wait(&r, 1, IN_MOVED_TO, "new");
	CHECK(from >= 0 && to == from + 1);
	CHECK_OK(uin_scan_wait_ticks(0, 5000));
	pthread_mutex_lock(&r.mu);
	CHECK_EQ(r.overflows, 1);
	/* the overflow first, then what was found; "seen" not again */
	CHECK(r.overflow_at <= (size_t)evs_find(&r.l, 0, 1, IN_CREATE, "b"));
	size_t n = r.l.n;
	CHECK_EQ(n, r.overflow_at + 5);
	CHECK_EQ(evs_find(&r.l, r.overflow_at, 1, IN_CREATE, "seen"), -1);
	pthread_mutex_unlock(&r.mu);
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	CHECK(st.recoveries >= 1);

	/* A later overflow with nothing lost finds nothing to report. */
	write_text(P("d/after"), NULL, O_CREAT);
	CHECK(rec_wait(&r, 1, IN_CREATE, "after") >= 0);
	inject_overflow_and_wait();
	pthread_mutex_lock(&r.mu);
	CHECK_EQ(r.overflows, 2);
	CHECK_EQ(r.l.n, n + 1);
	pthread_mutex_unlock(&r.mu);

	uinotify_handle_destroy(h);
	evs_free(&r.l);
	uin_loop_drain();
	scan_finish();
}

/*
 * The public face: an instance that asked for recovery
 * (uinotify_set_recovery) reads IN_Q_OVERFLOW, then what was lost; another
 * instance watching the same directory without it reads the overflow
 * only.  Bad descriptors get the error of uinotify_set_source.
 */
TEST(instance_recovery_after_kernel_overflow)
{
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	CHECK_EQ(uinotify_set_recovery(-1, 1), -EBADF);
	CHECK_EQ(uinotify_set_recovery(0, 1), -EINVAL);
	CHECK_OK(mkdir(P("d"), 0755));
	write_text(P("d/a"), "a", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_KERNEL);
	int plain = scan_instance(UINOTIFY_SOURCE_KERNEL);
	CHECK_EQ(uinotify_set_recovery(fd, 1), 0);
	const uint32_t mask = IN_CREATE | IN_DELETE;
	CHECK_EQ(uinotify_add_watch(fd, P("d"), mask), 1);
	CHECK_EQ(uinotify_add_watch(plain, P("d"), mask), 1);

	uin_loop_dispatch_enter();
	write_text(P("d/b"), NULL, O_CREAT);
	CHECK_OK(unlink(P("d/a")));
	CHECK(uin_kernel_debug_lose_events() >= 2);
	uin_loop_dispatch_exit();

	struct evs l = {0}, lp = {0};
	CHECK_EQ(read_until(fd, &l, 0, 3, 5000), 3);
	CHECK_EQ(l.v[0].wd, -1);
	CHECK_HEX(l.v[0].mask, IN_Q_OVERFLOW);
	CHECK(evs_find(&l, 1, 1, IN_CREATE, "b") >= 1);
	CHECK(evs_find(&l, 1, 1, IN_DELETE, "a") >= 1);
	/* The rescan reported what it found in one pass: nothing follows. */
	uin_loop_drain();
	read_now(plain, true, &lp);
	CHECK_EQ(lp.n, 1);
	CHECK_HEX(lp.v[0].mask, IN_Q_OVERFLOW);
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 3);

	CHECK_OK(uinotify_close(fd));
	CHECK_OK(uinotify_close(plain));
	evs_free(&l);
	evs_free(&lp);
	scan_finish();
}

/* Without the flag, an overflow is only an overflow. */
TEST(kernel_overflow_no_rescan_without_flag)
{
	scan_fast();
	CHECK_OK(mkdir(P("d"), 0755));
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct uinotify_handle *h;
	CHECK_EQ(uinotify_handle_create(&rec_ops, &r, &h), 0);
	CHECK_EQ(add(h, P("d"), IN_CREATE, UINOTIFY_SOURCE_KERNEL, 0), 1);
	uin_loop_dispatch_enter();
	write_text(P("d/b"), NULL, O_CREAT);
	uin_kernel_debug_lose_events();
	uin_loop_dispatch_exit();
	uin_loop_drain();
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	CHECK_EQ(st.watches, 0);
	pthread_mutex_lock(&r.mu);
	CHECK_EQ(r.overflows, 1);
	CHECK_EQ(r.l.n, 0);
	pthread_mutex_unlock(&r.mu);
	uinotify_handle_destroy(h);
	evs_free(&r.l);
	uin_loop_drain();
}

/* Many kernel events on a recovering directory: its ledger is resynced
 * silently and stays bounded; nothing is reported twice. */
TEST(shadow_ledger_stays_bounded)
{
	scan_fast();
	CHECK_OK(mkdir(P("d"), 0755));
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 100000), 0);
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct uinotify_handle *h;
	CHECK_EQ(uinotify_handle_create(&rec_ops, &r, &h), 0);
	CHECK_EQ(add(h, P("d"), IN_CREATE, UINOTIFY_SOURCE_KERNEL,
		     UIN_SOURCE_RECOVER),
		 1);
	char path[600];
	for (int i = 0; i < 6000; i++) {
		snprintf(path, sizeof path, "%s/f%d", P("d"), i);
		write_text(path, NULL, O_CREAT);
	}
	CHECK(rec_wait(&r, 1, IN_CREATE, "f5999") >= 0);
	CHECK_OK(uin_scan_wait_ticks(0, 5000));
	inject_overflow_and_wait();
	pthread_mutex_lock(&r.mu);
	CHECK_EQ(r.l.n, 6000);
	CHECK_EQ(r.overflows, 1);
	pthread_mutex_unlock(&r.mu);
	uinotify_handle_destroy(h);
	evs_free(&r.l);
	uin_loop_drain();
	scan_finish();
}

/* AUTO on a FUSE mount: what the kernel source lost (changes made through
 * the mount), the scanner reports, after the overflow record. */
TEST(auto_bindfs_lost_kernel_events_found)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	char d[600], a[700], b[700];
	snprintf(d, sizeof d, "%s/d", mnt);
	snprintf(a, sizeof a, "%s/d/a", mnt);
	snprintf(b, sizeof b, "%s/d/b", mnt);
	CHECK_OK(mkdir(d, 0755));
	write_text(a, "a", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, d, IN_CREATE | IN_DELETE), 1);
	uin_loop_dispatch_enter();
	write_text(b, NULL, O_CREAT);
	CHECK_OK(unlink(a));
	CHECK(uin_kernel_debug_lose_events() >= 2);
	uin_loop_dispatch_exit();
	struct evs l = {0};
	long ov = wait_event(fd, &l, -1, IN_Q_OVERFLOW, NULL, 5000);
	long cb = wait_event(fd, &l, 1, IN_CREATE, "b", 5000);
	long da = wait_event(fd, &l, 1, IN_DELETE, "a", 5000);
	CHECK(ov == 0 && cb > 0 && da > 0);
	CHECK_OK(uin_scan_wait_ticks(4, 5000));
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 3);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}
