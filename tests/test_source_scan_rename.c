/*
 * tests/test_source_scan_rename.c - renames through the scanner: pairs
 * with one fresh cookie each, back to back, within a directory and
 * between two; the watched directory itself renamed (MOVE_SELF, and it
 * keeps reporting at its new name) and deleted (its entries' DELETE, then
 * DELETE_SELF and IGNORED); a file replaced atomically.  Each on the local
 * test directory with UINOTIFY_SOURCE_SCAN and behind a bindfs mount with
 * the changes made to the backing directory.
 */
#include "test_source_scan.h"

struct fx {
	const char *src; /* where the changes are made */
	const char *mnt; /* what is watched */
	bool fuse;
};

static void fx_begin(struct fx *f, bool fuse)
{
	f->fuse = fuse;
	if (fuse) {
		f->src = strdup(P("src"));
		f->mnt = strdup(P("mnt"));
		bindfs_mount(f->src, f->mnt);
	} else {
		f->src = f->mnt = strdup(uin_test_tmpdir());
	}
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0); /* not the subject */
}

static void fx_end(struct fx *f)
{
	scan_finish();
	if (f->fuse) {
		bindfs_umount(f->mnt);
		free((char *)f->mnt);
	}
	free((char *)f->src);
}

static const char *S_(struct fx *f, const char *rel)
{
	return diff_path(f->src, rel);
}

static const char *M_(struct fx *f, const char *rel)
{
	return diff_path(f->mnt, rel);
}

/* Wait for (wd, mask, name) and return it; fail after 5 s. */
static struct ev *need(int fd, struct evs *l, int32_t wd, uint32_t mask,
		       const char *name)
{
	long i = wait_event(fd, l, wd, mask, name, 5000);
	if (i < 0) {
		evs_dump("so far", l);
		uin_test_fail(__FILE__, __LINE__, "no wd=%d mask=%#x %s", wd,
			      mask, name ? name : "");
	}
	return &l->v[i];
}

/* Nothing more within two ticks. */
static void quiet(int fd, struct evs *l)
{
	size_t n = l->n;
	CHECK_OK(uin_scan_wait_ticks(3, 5000));
	read_now(fd, true, l);
	if (l->n != n) {
		evs_dump("unexpected", l);
		uin_test_fail(__FILE__, __LINE__, "%zu more events", l->n - n);
	}
}

static void renames_pair(bool fuse)
{
	struct fx f;
	fx_begin(&f, fuse);
	CHECK_OK(mkdir(S_(&f, "a"), 0755));
	CHECK_OK(mkdir(S_(&f, "b"), 0755));
	write_text(S_(&f, "a/f"), "f", O_CREAT);
	write_text(S_(&f, "a/g"), "g", O_CREAT);
	CHECK_OK(mkdir(S_(&f, "a/sub"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "a"), IN_MOVE | IN_CREATE |
							 IN_DELETE),
		 1);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "b"), IN_MOVE | IN_CREATE |
							 IN_DELETE),
		 2);
	struct evs l = {0};
	/* Two renames in one tick: two pairs, two cookies. */
	CHECK_OK(rename(S_(&f, "a/f"), S_(&f, "a/f2")));
	CHECK_OK(rename(S_(&f, "a/g"), S_(&f, "b/g2")));
	CHECK_OK(rename(S_(&f, "a/sub"), S_(&f, "b/sub2")));
	struct ev *from1 = need(fd, &l, 1, IN_MOVED_FROM, "f");
	struct ev *to1 = need(fd, &l, 1, IN_MOVED_TO, "f2");
	struct ev *from2 = need(fd, &l, 1, IN_MOVED_FROM, "g");
	struct ev *to2 = need(fd, &l, 2, IN_MOVED_TO, "g2");
	struct ev *from3 = need(fd, &l, 1, IN_MOVED_FROM | IN_ISDIR, "sub");
	struct ev *to3 = need(fd, &l, 2, IN_MOVED_TO | IN_ISDIR, "sub2");
	CHECK(from1->cookie && from1->cookie == to1->cookie);
	CHECK(from2->cookie && from2->cookie == to2->cookie);
	CHECK(from3->cookie && from3->cookie == to3->cookie);
	CHECK(from1->cookie != from2->cookie && from2->cookie != from3->cookie);
	/* back to back */
	CHECK(to1 == from1 + 1 && to2 == from2 + 1 && to3 == from3 + 1);
	quiet(fd, &l);
	CHECK_EQ(l.n, 6);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	fx_end(&f);
}

TEST(renames_pair_local)
{
	renames_pair(false);
}

TEST(renames_pair_bindfs)
{
	renames_pair(true);
}

/* The watched directory (its parent unwatched) renamed, twice: MOVE_SELF
 * each time, and its entries still reported under the same wd. */
static void watched_dir_renamed(bool fuse)
{
	struct fx f;
	fx_begin(&f, fuse);
	CHECK_OK(mkdir(S_(&f, "d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "d"), IN_ALL_EVENTS), 1);
	struct evs l = {0};
	CHECK_OK(rename(S_(&f, "d"), S_(&f, "d2")));
	need(fd, &l, 1, IN_MOVE_SELF, NULL);
	quiet(fd, &l);
	write_text(S_(&f, "d2/x"), NULL, O_CREAT);
	need(fd, &l, 1, IN_CREATE, "x");
	quiet(fd, &l);
	l.n = 0; /* the next MOVE_SELF is a new one */
	CHECK_OK(rename(S_(&f, "d2"), S_(&f, "d3")));
	need(fd, &l, 1, IN_MOVE_SELF, NULL);
	CHECK_OK(rename(S_(&f, "d3/x"), S_(&f, "d3/y")));
	struct ev *a = need(fd, &l, 1, IN_MOVED_FROM, "x");
	struct ev *b = need(fd, &l, 1, IN_MOVED_TO, "y");
	CHECK_EQ(a->cookie, b->cookie);
	quiet(fd, &l);
	for (size_t i = 0; i < l.n; i++)
		CHECK(!(l.v[i].mask & IN_MOVE_SELF) || !l.v[i].name[0]);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	fx_end(&f);
}

TEST(watched_dir_renamed_local)
{
	watched_dir_renamed(false);
}

TEST(watched_dir_renamed_bindfs)
{
	watched_dir_renamed(true);
}

/* A watched directory renamed inside a watched parent: the parent's pair,
 * then MOVE_SELF; entries created afterwards come under its own wd. */
static void subdir_renamed(bool fuse)
{
	struct fx f;
	fx_begin(&f, fuse);
	CHECK_OK(mkdir(S_(&f, "p"), 0755));
	CHECK_OK(mkdir(S_(&f, "p/c"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "p"), IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "p/c"), IN_ALL_EVENTS), 2);
	struct evs l = {0};
	CHECK_OK(rename(S_(&f, "p/c"), S_(&f, "p/c2")));
	struct ev *a = need(fd, &l, 1, IN_MOVED_FROM | IN_ISDIR, "c");
	struct ev *b = need(fd, &l, 1, IN_MOVED_TO | IN_ISDIR, "c2");
	struct ev *s = need(fd, &l, 2, IN_MOVE_SELF, NULL);
	CHECK(b == a + 1 && s == b + 1);
	CHECK_EQ(s->mask, IN_MOVE_SELF); /* without ISDIR, as the kernel */
	write_text(S_(&f, "p/c2/new"), NULL, O_CREAT);
	need(fd, &l, 2, IN_CREATE, "new");
	quiet(fd, &l);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	fx_end(&f);
}

TEST(subdir_renamed_local)
{
	subdir_renamed(false);
}

TEST(subdir_renamed_bindfs)
{
	subdir_renamed(true);
}

/* The watched directory emptied and removed: its entries' DELETE, then
 * DELETE_SELF and IGNORED, and its parent's DELETE|ISDIR. */
static void watched_dir_deleted(bool fuse, bool parent_watched)
{
	struct fx f;
	fx_begin(&f, fuse);
	CHECK_OK(mkdir(S_(&f, "p"), 0755));
	CHECK_OK(mkdir(S_(&f, "p/d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	int wd = 1;
	if (parent_watched)
		CHECK_EQ(uinotify_add_watch(fd, M_(&f, "p"), IN_ALL_EVENTS),
			 wd++);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "p/d"), IN_ALL_EVENTS), wd);
	struct evs l = {0};
	write_text(S_(&f, "p/d/x"), NULL, O_CREAT);
	CHECK_OK(mkdir(S_(&f, "p/d/y"), 0755));
	need(fd, &l, wd, IN_CREATE, "x");
	need(fd, &l, wd, IN_CREATE | IN_ISDIR, "y");
	/* rm -r, faster than a tick */
	CHECK_OK(unlink(S_(&f, "p/d/x")));
	CHECK_OK(rmdir(S_(&f, "p/d/y")));
	CHECK_OK(rmdir(S_(&f, "p/d")));
	long dx = wait_event(fd, &l, wd, IN_DELETE, "x", 5000);
	long dy = wait_event(fd, &l, wd, IN_DELETE | IN_ISDIR, "y", 5000);
	long ds = wait_event(fd, &l, wd, IN_DELETE_SELF, NULL, 5000);
	long ig = wait_event(fd, &l, wd, IN_IGNORED, NULL, 5000);
	if (dx < 0 || dy < 0 || ds < 0 || ig < 0) {
		evs_dump("got", &l);
		uin_test_fail(__FILE__, __LINE__, "missing events");
	}
	CHECK(dx < ds && dy < ds && ds + 1 == ig);
	if (parent_watched) {
		long pd = wait_event(fd, &l, 1, IN_DELETE | IN_ISDIR, "d",
				     5000);
		CHECK(pd > ig);
	}
	quiet(fd, &l);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	fx_end(&f);
}

TEST(watched_dir_deleted_local)
{
	watched_dir_deleted(false, false);
}

TEST(watched_dir_deleted_in_watched_parent_local)
{
	watched_dir_deleted(false, true);
}

TEST(watched_dir_deleted_bindfs)
{
	watched_dir_deleted(true, false);
}

TEST(watched_dir_deleted_in_watched_parent_bindfs)
{
	watched_dir_deleted(true, true);
}

/* An editor's save: the new content written elsewhere, renamed over the
 * watched file.  MOVED_TO (cookie set, no MOVED_FROM: its source is not
 * watched), then the old file's ATTRIB, DELETE_SELF, IGNORED. */
static void atomic_replace(bool fuse)
{
	struct fx f;
	fx_begin(&f, fuse);
	CHECK_OK(mkdir(S_(&f, "d"), 0755));
	CHECK_OK(mkdir(S_(&f, "tmp"), 0755));
	write_text(S_(&f, "d/cfg"), "old", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "d"), IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, M_(&f, "d/cfg"), IN_ALL_EVENTS), 2);
	struct evs l = {0};
	write_text(S_(&f, "tmp/cfg.new"), "new content", O_CREAT);
	CHECK_OK(rename(S_(&f, "tmp/cfg.new"), S_(&f, "d/cfg")));
	struct ev *to = need(fd, &l, 1, IN_MOVED_TO, "cfg");
	CHECK(to->cookie != 0);
	long at = wait_event(fd, &l, 2, IN_ATTRIB, NULL, 5000);
	long ds = wait_event(fd, &l, 2, IN_DELETE_SELF, NULL, 5000);
	long ig = wait_event(fd, &l, 2, IN_IGNORED, NULL, 5000);
	CHECK(at > to - l.v && ds > at && ig == ds + 1);
	quiet(fd, &l);
	CHECK_EQ(evs_find(&l, 0, 1, IN_MOVED_FROM, NULL), -1);
	CHECK_EQ(evs_find(&l, 0, 1, IN_CREATE, NULL), -1);
	CHECK_EQ(evs_find(&l, 0, 1, IN_DELETE, NULL), -1);
	/* The new file is watched through d only; a later write: */
	write_text(S_(&f, "d/cfg"), "!", O_APPEND);
	need(fd, &l, 1, IN_MODIFY, "cfg");
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	fx_end(&f);
}

TEST(atomic_replace_local)
{
	atomic_replace(false);
}

TEST(atomic_replace_bindfs)
{
	atomic_replace(true);
}
