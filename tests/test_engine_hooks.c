/*
 * tests/test_engine_hooks.c - the producer hooks of uinotify/hooks.h: what
 * each delivers, in what order, with which names, cookies and IN_ISDIR.
 */
#include "test_engine.h"

#include <limits.h>

TEST(parent_before_child)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	/* S added first: the order still is P then S. */
	TW_ADD(r, f, IN_ALL_EVENTS);
	TW_ADD(r, dir, IN_ALL_EVENTS);
	static const uint32_t kinds[] = {IN_OPEN, IN_ACCESS, IN_MODIFY,
					 IN_ATTRIB, IN_CLOSE_WRITE,
					 IN_CLOSE_NOWRITE};
	for (size_t i = 0; i < 6; i++)
		uinotify_hook_parent(dir, "name", f, kinds[i]);
	EXPECT_N(r, 12);
	for (size_t i = 0; i < 6; i++) {
		EXPECT_EV(r, 2 * i, 2, kinds[i], 0, "name");
		EXPECT_EV(r, 2 * i + 1, 1, kinds[i], 0, NULL);
		CHECK(rec_ev(r, 2 * i).name_inode == f);
	}
	rec_free(r);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(parent_only_or_child_only)
{
	struct sbrec *s = sbrec_new();
	struct rec *rp = rec_new(), *rs = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	TW_ADD(rp, dir, IN_MODIFY);
	TW_ADD(rs, f, IN_MODIFY);
	uinotify_hook_parent(dir, "f", f, IN_MODIFY);
	EXPECT_N(rp, 1);
	EXPECT_N(rs, 1);
	EXPECT_EV(rp, 0, 1, IN_MODIFY, 0, "f");
	EXPECT_EV(rs, 0, 1, IN_MODIFY, 0, NULL);
	CHECK(rec_ev(rp, 0).seq < rec_ev(rs, 0).seq); /* P before S */
	/* Unknown parent: S only. */
	uinotify_hook_parent(NULL, NULL, f, IN_MODIFY);
	EXPECT_N(rp, 1);
	EXPECT_N(rs, 2);
	EXPECT_EV(rs, 1, 1, IN_MODIFY, 0, NULL);
	/* Events outside the masks are not delivered. */
	uinotify_hook_parent(dir, "f", f, IN_OPEN);
	EXPECT_N(rp, 1);
	EXPECT_N(rs, 2);
	rec_free(rp);
	rec_free(rs);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(dirent_events)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	TW_ADD(r, dir, IN_ALL_EVENTS);
	TW_ADD(r, f, IN_ALL_EVENTS); /* S gets no dirent events */
	uinotify_hook_dirent(dir, "f", f, IN_CREATE, 0);
	uinotify_hook_dirent(dir, "f", NULL, IN_DELETE, 0);
	uinotify_hook_dirent(dir, "g", f, IN_MOVED_TO, 77);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 1, IN_CREATE, 0, "f");
	EXPECT_EV(r, 1, 1, IN_DELETE, 0, "f");
	EXPECT_EV(r, 2, 1, IN_MOVED_TO, 77, "g");
	CHECK(rec_ev(r, 0).name_inode == f);
	CHECK(rec_ev(r, 1).name_inode == NULL);
	CHECK(rec_ev(r, 2).name_inode == f);
	rec_free(r);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* A name Linux could never report (empty, over NAME_MAX, with a '/') is
 * refused: no event for the directory, an overflow for its handles; the
 * child's own half still comes, and a name of NAME_MAX bytes is fine. */
TEST(bad_names_refused_with_overflow)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *other = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	struct uinotify_inode *elsewhere = DIR_NEW(s->sb, 3);
	TW_ADD(r, dir, IN_ALL_EVENTS);
	TW_ADD(r, f, IN_ALL_EVENTS);
	TW_ADD(other, elsewhere, IN_ALL_EVENTS);
	char longest[NAME_MAX + 1], too_long[NAME_MAX + 2];
	memset(longest, 'a', NAME_MAX);
	longest[NAME_MAX] = 0;
	memset(too_long, 'b', NAME_MAX + 1);
	too_long[NAME_MAX + 1] = 0;

	uinotify_hook_dirent(dir, too_long, f, IN_CREATE, 0);
	CHECK_EQ(atomic_load(&r->overflows), 1);
	uinotify_hook_dirent(dir, "a/b", NULL, IN_DELETE, 0);
	CHECK_EQ(atomic_load(&r->overflows), 2);
	uinotify_hook_dirent(dir, "", NULL, IN_DELETE, 0);
	CHECK_EQ(atomic_load(&r->overflows), 3);
	EXPECT_N(r, 0);
	/* P refused, S delivered. */
	uinotify_hook_parent(dir, too_long, f, IN_MODIFY);
	CHECK_EQ(atomic_load(&r->overflows), 4);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 2, IN_MODIFY, 0, NULL);
	/* A rename with a bad new name: MOVED_FROM comes, MOVED_TO is lost. */
	uint32_t c = uinotify_hook_move(dir, "f", dir, "x/y", f);
	CHECK_EQ(atomic_load(&r->overflows), 5);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 1, 1, IN_MOVED_FROM, c, "f");
	EXPECT_EV(r, 2, 2, IN_MOVE_SELF, 0, NULL);
	uinotify_hook_dirent(dir, longest, f, IN_CREATE, 0);
	EXPECT_N(r, 4);
	CHECK_EQ(strlen(rec_ev(r, 3).name), sizeof rec_ev(r, 3).name - 1);
	CHECK_EQ(atomic_load(&r->overflows), 5);
	CHECK_EQ(atomic_load(&other->overflows), 0);
	rec_free(r);
	rec_free(other);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	uinotify_inode_put(elsewhere);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(isdir_rules)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *top = DIR_NEW(s->sb, 1);
	struct uinotify_inode *sub = DIR_NEW(s->sb, 2);
	struct uinotify_inode *other = DIR_NEW(s->sb, 3);
	CHECK(uinotify_inode_is_dir(sub));
	TW_ADD(r, top, IN_ALL_EVENTS);   /* wd 1 */
	TW_ADD(r, sub, IN_ALL_EVENTS);   /* wd 2 */
	TW_ADD(r, other, IN_ALL_EVENTS); /* wd 3 */

	uinotify_hook_parent(top, "sub", sub, IN_OPEN);
	uinotify_hook_parent(top, "sub", sub, IN_ACCESS);
	uinotify_hook_parent(top, "sub", sub, IN_CLOSE_NOWRITE);
	EXPECT_N(r, 6);
	EXPECT_EV(r, 0, 1, IN_OPEN | IN_ISDIR, 0, "sub");
	EXPECT_EV(r, 1, 2, IN_OPEN | IN_ISDIR, 0, NULL);
	EXPECT_EV(r, 2, 1, IN_ACCESS | IN_ISDIR, 0, "sub");
	EXPECT_EV(r, 3, 2, IN_ACCESS | IN_ISDIR, 0, NULL);
	EXPECT_EV(r, 4, 1, IN_CLOSE_NOWRITE | IN_ISDIR, 0, "sub");
	EXPECT_EV(r, 5, 2, IN_CLOSE_NOWRITE | IN_ISDIR, 0, NULL);
	rec_clear(r);

	uinotify_hook_dirent(top, "sub", sub, IN_CREATE, 0);
	/* The caller may pass IN_ISDIR when it has no child inode. */
	uinotify_hook_dirent(top, "gone", NULL, IN_DELETE | IN_ISDIR, 0);
	uinotify_hook_dirent(top, "file", NULL, IN_DELETE, 0);
	uinotify_hook_inode(sub, IN_ATTRIB, 0);
	EXPECT_N(r, 4);
	EXPECT_EV(r, 0, 1, IN_CREATE | IN_ISDIR, 0, "sub");
	EXPECT_EV(r, 1, 1, IN_DELETE | IN_ISDIR, 0, "gone");
	EXPECT_EV(r, 2, 1, IN_DELETE, 0, "file");
	EXPECT_EV(r, 3, 2, IN_ATTRIB | IN_ISDIR, 0, NULL);
	rec_clear(r);

	uint32_t c = uinotify_hook_move(top, "sub", other, "moved", sub);
	CHECK(c != 0);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 1, IN_MOVED_FROM | IN_ISDIR, c, "sub");
	EXPECT_EV(r, 1, 3, IN_MOVED_TO | IN_ISDIR, c, "moved");
	EXPECT_EV(r, 2, 2, IN_MOVE_SELF, 0, NULL);
	rec_clear(r);

	/* Never on the self events, even when the caller passes it. */
	uinotify_hook_inode(sub, IN_MOVE_SELF, 0);
	uinotify_hook_inode(sub, IN_MOVE_SELF | IN_ISDIR, 0);
	uinotify_hook_inode(sub, IN_DELETE_SELF | IN_ISDIR, 0);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 2, IN_MOVE_SELF, 0, NULL);
	EXPECT_EV(r, 1, 2, IN_MOVE_SELF, 0, NULL);
	EXPECT_EV(r, 2, 2, IN_DELETE_SELF, 0, NULL);
	rec_clear(r);

	CHECK_EQ(uinotify_watch_rm_wd(r->h, 3), 0);
	uinotify_hook_inode_dead(sub);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 3, IN_IGNORED, 0, NULL);
	EXPECT_EV(r, 1, 2, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(r, 2, 2, IN_IGNORED, 0, NULL);

	rec_free(r);
	uinotify_inode_put(top);
	uinotify_inode_put(sub);
	uinotify_inode_put(other);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(files_never_isdir)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	TW_ADD(r, dir, IN_ALL_EVENTS);
	TW_ADD(r, f, IN_ALL_EVENTS);
	uinotify_hook_parent(dir, "f", f, IN_OPEN);
	uinotify_hook_dirent(dir, "f", f, IN_CREATE, 0);
	uint32_t c = uinotify_hook_move(dir, "f", dir, "g", f);
	uinotify_hook_unmount_inode(f);
	EXPECT_N(r, 8);
	EXPECT_EV(r, 0, 1, IN_OPEN, 0, "f");
	EXPECT_EV(r, 1, 2, IN_OPEN, 0, NULL);
	EXPECT_EV(r, 2, 1, IN_CREATE, 0, "f");
	EXPECT_EV(r, 3, 1, IN_MOVED_FROM, c, "f");
	EXPECT_EV(r, 4, 1, IN_MOVED_TO, c, "g");
	EXPECT_EV(r, 5, 2, IN_MOVE_SELF, 0, NULL);
	EXPECT_EV(r, 6, 2, IN_UNMOUNT, 0, NULL);
	EXPECT_EV(r, 7, 2, IN_IGNORED, 0, NULL);
	rec_free(r);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(move_cookies_and_order)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *d1 = DIR_NEW(s->sb, 1);
	struct uinotify_inode *d2 = DIR_NEW(s->sb, 2);
	struct uinotify_inode *f = FILE_NEW(s->sb, 3);
	TW_ADD(r, d1, IN_MOVED_FROM | IN_MOVED_TO); /* 1 */
	TW_ADD(r, d2, IN_MOVED_FROM | IN_MOVED_TO); /* 2 */
	TW_ADD(r, f, IN_MOVE_SELF);                 /* 3 */
	TW_ADD(r2, d2, IN_MOVED_TO);                /* r2: 1 */

	uint32_t prev = 0;
	for (int i = 0; i < 100; i++) {
		rec_clear(r);
		rec_clear(r2);
		uint32_t c = uinotify_hook_move(d1, "a", d2, "b", f);
		CHECK(c != 0);
		CHECK(c != prev);
		prev = c;
		EXPECT_N(r, 3);
		EXPECT_EV(r, 0, 1, IN_MOVED_FROM, c, "a");
		EXPECT_EV(r, 1, 2, IN_MOVED_TO, c, "b");
		EXPECT_EV(r, 2, 3, IN_MOVE_SELF, 0, NULL);
		CHECK(rec_ev(r, 0).name_inode == f);
		CHECK(rec_ev(r, 1).name_inode == f);
		EXPECT_N(r2, 1);
		EXPECT_EV(r2, 0, 1, IN_MOVED_TO, c, "b");
	}
	/* One side not a producer inode: the other half still arrives. */
	rec_clear(r);
	uint32_t c = uinotify_hook_move(NULL, "x", d2, "y", f);
	CHECK(c != 0 && c != prev);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 2, IN_MOVED_TO, c, "y");
	EXPECT_EV(r, 1, 3, IN_MOVE_SELF, 0, NULL);
	rec_clear(r);
	uint32_t c2 = uinotify_hook_move(d1, "y", NULL, "z", f);
	CHECK(c2 != 0 && c2 != c);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_MOVED_FROM, c2, "y");
	EXPECT_EV(r, 1, 3, IN_MOVE_SELF, 0, NULL);
	/* A rename inside one directory. */
	rec_clear(r);
	uint32_t c3 = uinotify_hook_move(d1, "p", d1, "q", f);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 1, IN_MOVED_FROM, c3, "p");
	EXPECT_EV(r, 1, 1, IN_MOVED_TO, c3, "q");
	EXPECT_EV(r, 2, 3, IN_MOVE_SELF, 0, NULL);

	rec_free(r);
	rec_free(r2);
	uinotify_inode_put(d1);
	uinotify_inode_put(d2);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

#define COOKIE_THREADS 4
#define COOKIES_PER_THREAD 50000

static uint32_t cookies[COOKIE_THREADS * COOKIES_PER_THREAD];

static void *cookie_thread(void *arg)
{
	uint32_t *out = arg;
	for (int i = 0; i < COOKIES_PER_THREAD; i++)
		out[i] = uinotify_cookie_next();
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

TEST(cookies_unique_across_threads)
{
	pthread_t t[COOKIE_THREADS];
	for (int i = 0; i < COOKIE_THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, cookie_thread,
					cookies + i * COOKIES_PER_THREAD),
			 0);
	for (int i = 0; i < COOKIE_THREADS; i++)
		pthread_join(t[i], NULL);
	/* Each thread sees increasing cookies. */
	for (int i = 0; i < COOKIE_THREADS; i++)
		for (int k = 1; k < COOKIES_PER_THREAD; k++)
			CHECK(cookies[i * COOKIES_PER_THREAD + k] >
			      cookies[i * COOKIES_PER_THREAD + k - 1]);
	size_t n = COOKIE_THREADS * COOKIES_PER_THREAD;
	qsort(cookies, n, sizeof cookies[0], cmp_u32);
	CHECK(cookies[0] != 0);
	for (size_t i = 1; i < n; i++)
		CHECK(cookies[i] != cookies[i - 1]);
	/* hook_move draws from the same counter. */
	struct sbrec *s = sbrec_new();
	struct uinotify_inode *f = FILE_NEW(s->sb, 1);
	uint32_t a = uinotify_cookie_next();
	uint32_t m = uinotify_hook_move(NULL, "a", NULL, "b", f);
	uint32_t b = uinotify_cookie_next();
	CHECK(a != 0 && m != 0 && b != 0);
	CHECK(a < m && m < b);
	CHECK(a > cookies[n - 1]);
	uinotify_inode_put(f);
	sbrec_free(s);
}

static const uint32_t path_events[] = {IN_OPEN, IN_ACCESS, IN_MODIFY,
					IN_CLOSE_WRITE, IN_CLOSE_NOWRITE};

TEST(excl_unlink)
{
	struct sbrec *s = sbrec_new();
	struct rec *ex = rec_new(), *plain = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	struct uinotify_inode *g = FILE_NEW(s->sb, 3);
	TW_ADD(ex, dir, IN_ALL_EVENTS | IN_EXCL_UNLINK); /* 1 */
	TW_ADD(ex, f, IN_ALL_EVENTS | IN_EXCL_UNLINK);   /* 2 */
	TW_ADD(plain, dir, IN_ALL_EVENTS);               /* 1 */
	TW_ADD(plain, f, IN_ALL_EVENTS);                 /* 2 */

	uinotify_hook_unlinked(f, true);
	for (size_t i = 0; i < 5; i++) {
		uinotify_hook_parent(dir, "f", f, path_events[i]);
		uinotify_hook_parent(NULL, NULL, f, path_events[i]);
	}
	EXPECT_N(ex, 0);
	EXPECT_N(plain, 15);
	for (size_t i = 0; i < 5; i++) {
		EXPECT_EV(plain, 3 * i, 1, path_events[i], 0, "f");
		EXPECT_EV(plain, 3 * i + 1, 2, path_events[i], 0, NULL);
		EXPECT_EV(plain, 3 * i + 2, 2, path_events[i], 0, NULL);
	}
	rec_clear(plain);

	/* A sibling that still has its name is not affected. */
	uinotify_hook_parent(dir, "g", g, IN_MODIFY);
	EXPECT_N(ex, 1);
	EXPECT_EV(ex, 0, 1, IN_MODIFY, 0, "g");
	rec_clear(ex);
	rec_clear(plain);

	/* ATTRIB and the directory-entry events are not path events. */
	uinotify_hook_parent(dir, "f", f, IN_ATTRIB);
	uinotify_hook_dirent(dir, "f", f, IN_DELETE, 0);
	uint32_t c = uinotify_hook_move(dir, "f", dir, "h", f);
	uinotify_hook_dirent(dir, "f2", f, IN_CREATE, 0);
	EXPECT_N(ex, 7);
	EXPECT_EV(ex, 0, 1, IN_ATTRIB, 0, "f");
	EXPECT_EV(ex, 1, 2, IN_ATTRIB, 0, NULL);
	EXPECT_EV(ex, 2, 1, IN_DELETE, 0, "f");
	EXPECT_EV(ex, 3, 1, IN_MOVED_FROM, c, "f");
	EXPECT_EV(ex, 4, 1, IN_MOVED_TO, c, "h");
	EXPECT_EV(ex, 5, 2, IN_MOVE_SELF, 0, NULL);
	EXPECT_EV(ex, 6, 1, IN_CREATE, 0, "f2");
	EXPECT_N(plain, 7);
	rec_clear(ex);
	rec_clear(plain);

	/* Linked again: delivered again. */
	uinotify_hook_unlinked(f, false);
	uinotify_hook_parent(dir, "f2", f, IN_CLOSE_WRITE);
	EXPECT_N(ex, 2);
	EXPECT_EV(ex, 0, 1, IN_CLOSE_WRITE, 0, "f2");
	EXPECT_EV(ex, 1, 2, IN_CLOSE_WRITE, 0, NULL);
	EXPECT_N(plain, 2);
	rec_clear(ex);
	rec_clear(plain);

	/* The flag ORed in later by IN_MASK_ADD works too. */
	CHECK_EQ(uinotify_watch_find_update(plain->h, f,
					    IN_EXCL_UNLINK | IN_MASK_ADD),
		 2);
	uinotify_hook_unlinked(f, true);
	uinotify_hook_parent(dir, "f2", f, IN_MODIFY);
	EXPECT_N(ex, 0);
	EXPECT_N(plain, 1);
	EXPECT_EV(plain, 0, 1, IN_MODIFY, 0, "f2");
	rec_clear(plain);

	/* The death of an unlinked file is reported to everyone. */
	uinotify_hook_inode_dead(f);
	EXPECT_N(ex, 2);
	EXPECT_EV(ex, 0, 2, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(ex, 1, 2, IN_IGNORED, 0, NULL);
	EXPECT_N(plain, 2);
	EXPECT_EV(plain, 0, 2, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(plain, 1, 2, IN_IGNORED, 0, NULL);

	rec_free(ex);
	rec_free(plain);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	uinotify_inode_put(g);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

static const struct uinotify_ops rec_ops_no_overflow = {
	.handle_event = rec_handle_event,
	.destroy_watch = rec_destroy_watch,
	.queue_overflow = NULL,
};

TEST(overflow_once_per_handle)
{
	struct sbrec *s1 = sbrec_new(), *s2 = sbrec_new();
	struct rec *ra = rec_new(), *rb = rec_new(), *rc = rec_new(),
		   *rd = rec_new();
	struct rec *rn = calloc(1, sizeof *rn);
	CHECK(rn != NULL);
	pthread_mutex_init(&rn->lock, NULL);
	rn->keep_events = true;
	CHECK_EQ(uinotify_handle_create(&rec_ops_no_overflow, rn, &rn->h), 0);

	struct uinotify_inode *a = FILE_NEW(s1->sb, 1);
	struct uinotify_inode *b = DIR_NEW(s1->sb, 2);
	struct uinotify_inode *c = FILE_NEW(s2->sb, 1);
	TW_ADD(ra, a, IN_MODIFY);
	TW_ADD(ra, b, IN_CREATE);
	TW_ADD(rb, c, IN_MODIFY);
	TW_ADD(rd, a, IN_ISDIR); /* empty mask: still a watch on s1 */
	TW_ADD(rn, b, IN_CREATE);

	uinotify_hook_overflow(s1->sb);
	CHECK_EQ(atomic_load(&ra->overflows), 1);
	CHECK_EQ(atomic_load(&rb->overflows), 0);
	CHECK_EQ(atomic_load(&rc->overflows), 0);
	CHECK_EQ(atomic_load(&rd->overflows), 1);
	uinotify_hook_overflow(s2->sb);
	CHECK_EQ(atomic_load(&ra->overflows), 1);
	CHECK_EQ(atomic_load(&rb->overflows), 1);
	uinotify_hook_overflow(s1->sb);
	CHECK_EQ(atomic_load(&ra->overflows), 2);
	CHECK_EQ(atomic_load(&rd->overflows), 2);
	/* No event is delivered for an overflow. */
	EXPECT_N(ra, 0);
	EXPECT_N(rd, 0);

	/* Once rd's watch has gone, rd is not told any more. */
	CHECK_EQ(uinotify_watch_rm_wd(rd->h, 1), 0);
	uinotify_hook_overflow(s1->sb);
	CHECK_EQ(atomic_load(&ra->overflows), 3);
	CHECK_EQ(atomic_load(&rd->overflows), 2);
	CHECK_EQ(atomic_load(&rb->overflows), 1);
	CHECK_EQ(atomic_load(&rc->overflows), 0);

	rec_free(ra);
	rec_free(rb);
	rec_free(rc);
	rec_free(rd);
	rec_free(rn);
	/* No handles left: nothing to call. */
	uinotify_hook_overflow(s1->sb);
	uinotify_inode_put(a);
	uinotify_inode_put(b);
	uinotify_inode_put(c);
	sbrec_free(s1);
	sbrec_free(s2);
	TW_CHECK_NONE_LIVE();
}

TEST(unwatched_hooks_do_nothing)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	struct uinotify_inode *w = FILE_NEW(s->sb, 3);
	TW_ADD(r, w, IN_ALL_EVENTS); /* a watch elsewhere on the same sb */
	int nch = s->nch;

	long calls = uinotify_debug_alloc_calls();
	for (int i = 0; i < 3; i++) {
		uinotify_hook_inode(f, IN_MODIFY, 0);
		uinotify_hook_inode(dir, IN_ATTRIB, 0);
		uinotify_hook_parent(dir, "f", f, IN_MODIFY);
		uinotify_hook_parent(NULL, NULL, f, IN_OPEN);
		uinotify_hook_dirent(dir, "f", f, IN_CREATE, 0);
		uinotify_hook_dirent(dir, "x", NULL, IN_DELETE, 0);
		CHECK(uinotify_hook_move(dir, "f", dir, "g", f) != 0);
		uinotify_hook_unlinked(f, true);
		uinotify_hook_unlinked(f, false);
		uinotify_hook_unmount_inode(f);
	}
	uinotify_hook_inode_dead(f);
	CHECK_EQ(uinotify_debug_alloc_calls(), calls);
	EXPECT_N(r, 0);
	CHECK_EQ(s->nch, nch);
	CHECK(!uinotify_inode_watched(f));
	CHECK_HEX(uinotify_inode_mask(f), 0);

	rec_free(r);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	uinotify_inode_put(w);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

static void expect_changes_at(const char *file, int line, struct sbrec *s,
			      struct uinotify_inode *in,
			      const uint32_t (*want)[2], int nwant)
{
	int k = 0;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nch; i++) {
		if (s->ch[i].inode != in)
			continue;
		if (k >= nwant || s->ch[i].old_mask != want[k][0] ||
		    s->ch[i].new_mask != want[k][1]) {
			for (int j = 0; j < s->nch; j++)
				fprintf(stderr, "  mask_changed %s -> %s\n",
					mask_str(s->ch[j].old_mask),
					mask_str(s->ch[j].new_mask));
			pthread_mutex_unlock(&s->lock);
			uin_test_fail(file, line, "mask_changed call %d", k);
		}
		k++;
	}
	pthread_mutex_unlock(&s->lock);
	if (k != nwant)
		uin_test_fail(file, line, "%d mask_changed calls, want %d", k,
			      nwant);
}
#define EXPECT_CHANGES(s, in, ...)                                           \
	do {                                                                 \
		static const uint32_t want_[][2] = {__VA_ARGS__};            \
		expect_changes_at(__FILE__, __LINE__, (s), (in), want_,      \
				  (int)(sizeof want_ / sizeof want_[0]));    \
	} while (0)

TEST(mask_changed_follows_union)
{
	struct sbrec *s = sbrec_new();
	struct rec *ra = rec_new(), *rb = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	CHECK_EQ(s->nch, 0);
	TW_ADD(ra, in, IN_MODIFY);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY});
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY);
	TW_ADD(rb, in, IN_OPEN | IN_ONESHOT | IN_EXCL_UNLINK);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY}, {IN_MODIFY, IN_MODIFY | IN_OPEN});
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY | IN_OPEN);
	/* No change of the union: no call. */
	CHECK_EQ(uinotify_watch_find_update(ra->h, in, IN_OPEN | IN_MASK_ADD),
		 1);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY}, {IN_MODIFY, IN_MODIFY | IN_OPEN});
	CHECK_EQ(uinotify_watch_find_update(ra->h, in, IN_ACCESS), 1);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY}, {IN_MODIFY, IN_MODIFY | IN_OPEN},
		       {IN_MODIFY | IN_OPEN, IN_ACCESS | IN_OPEN});
	CHECK_EQ(uinotify_watch_rm_wd(ra->h, 1), 0);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY}, {IN_MODIFY, IN_MODIFY | IN_OPEN},
		       {IN_MODIFY | IN_OPEN, IN_ACCESS | IN_OPEN},
		       {IN_ACCESS | IN_OPEN, IN_OPEN});
	CHECK_HEX(uinotify_inode_mask(in), IN_OPEN);
	/* The one-shot watch fires and goes: the last one. */
	uinotify_hook_inode(in, IN_OPEN, 0);
	EXPECT_CHANGES(s, in, {0, IN_MODIFY}, {IN_MODIFY, IN_MODIFY | IN_OPEN},
		       {IN_MODIFY | IN_OPEN, IN_ACCESS | IN_OPEN},
		       {IN_ACCESS | IN_OPEN, IN_OPEN}, {IN_OPEN, 0});
	CHECK_HEX(uinotify_inode_mask(in), 0);
	CHECK(!uinotify_inode_watched(in));
	EXPECT_N(rb, 2);
	rec_free(ra);
	rec_free(rb);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(mask_changed_on_destroy_and_death)
{
	struct sbrec *s = sbrec_new();
	struct rec *ra = rec_new(), *rb = rec_new();
	struct uinotify_inode *a = FILE_NEW(s->sb, 1);
	struct uinotify_inode *b = FILE_NEW(s->sb, 2);
	TW_ADD(ra, a, IN_MODIFY);
	TW_ADD(rb, b, IN_ATTRIB);
	rec_free(ra);
	EXPECT_CHANGES(s, a, {0, IN_MODIFY}, {IN_MODIFY, 0});
	uinotify_hook_inode_dead(b);
	EXPECT_CHANGES(s, b, {0, IN_ATTRIB}, {IN_ATTRIB, 0});
	rec_free(rb);
	uinotify_inode_put(a);
	uinotify_inode_put(b);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(release_inode_when_freed)
{
	struct sbrec *s = sbrec_new();
	static int tag1, tag2;
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	CHECK(uinotify_inode_data(in) == NULL);
	uinotify_inode_set_data(in, &tag1);
	CHECK(uinotify_inode_data(in) == &tag1);
	uinotify_inode_hold(in);
	uinotify_inode_put(in);
	CHECK_EQ(s->released, 0);
	uinotify_inode_put(in);
	CHECK_EQ(s->released, 1);
	CHECK(s->released_data[0] == &tag1);
	struct uinotify_key k = test_key(1, S_IFREG);
	CHECK(uinotify_inode_lookup(s->sb, &k) == NULL);

	/* A watch pins the inode until its final put. */
	struct rec *r = rec_new();
	in = FILE_NEW(s->sb, 1);
	CHECK(uinotify_inode_data(in) == NULL);
	uinotify_inode_set_data(in, &tag2);
	TW_ADD(r, in, IN_MODIFY);
	uinotify_inode_put(in);
	CHECK_EQ(s->released, 1);
	struct uinotify_inode *again = uinotify_inode_lookup(s->sb, &k);
	CHECK(again == in);
	uinotify_inode_put(again);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	CHECK_EQ(s->released, 2);
	CHECK(s->released_data[1] == &tag2);

	/* The superblock outlives its creator's reference while inodes do. */
	in = FILE_NEW(s->sb, 5);
	uinotify_sb_destroy(s->sb);
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.sbs, 1);
	CHECK_EQ(c.inodes, 1);
	uinotify_inode_put(in);
	CHECK_EQ(s->released, 3);
	uinotify_debug_counts(&c);
	CHECK_EQ(c.sbs, 0);
	CHECK_EQ(c.inodes, 0);
	rec_free(r);
	pthread_mutex_destroy(&s->lock);
	free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(inode_death)
{
	struct sbrec *s = sbrec_new();
	struct rec *ra = rec_new(), *rb = rec_new(), *rc = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *other = FILE_NEW(s->sb, 2);
	TW_ADD(ra, other, IN_ALL_EVENTS);                /* ra 1 */
	TW_ADD(ra, dir, IN_DELETE_SELF | IN_MODIFY);     /* ra 2 */
	TW_ADD(rb, dir, IN_MODIFY);                      /* rb 1 */
	TW_ADD(rc, dir, IN_DELETE_SELF | IN_ONESHOT);    /* rc 1 */
	uinotify_hook_inode_dead(dir);
	EXPECT_N(ra, 2);
	EXPECT_EV(ra, 0, 2, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(ra, 1, 2, IN_IGNORED, 0, NULL);
	EXPECT_N(rb, 1);
	EXPECT_EV(rb, 0, 1, IN_IGNORED, 0, NULL);
	EXPECT_N(rc, 2);
	EXPECT_EV(rc, 0, 1, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(rc, 1, 1, IN_IGNORED, 0, NULL);
	CHECK_EQ(ra->destroyed + rb->destroyed + rc->destroyed, 3);
	CHECK(!uinotify_inode_watched(dir));
	CHECK_HEX(uinotify_inode_mask(dir), 0);
	CHECK_EQ(uinotify_handle_watch_count(ra->h), 1);
	CHECK_EQ(uinotify_handle_watch_count(rb->h), 0);
	struct uinotify_watch *w;
	CHECK_EQ(uinotify_watch_find(ra->h, dir, &w), -ENOENT);
	CHECK_EQ(uinotify_watch_rm_wd(ra->h, 2), -EINVAL);
	/* Nothing more for the dead inode; the others are untouched. */
	uinotify_hook_inode(dir, IN_MODIFY, 0);
	uinotify_hook_inode_dead(dir);
	EXPECT_N(ra, 2);
	uinotify_hook_inode(other, IN_MODIFY, 0);
	EXPECT_N(ra, 3);
	EXPECT_EV(ra, 2, 1, IN_MODIFY, 0, NULL);
	rec_free(ra);
	rec_free(rb);
	rec_free(rc);
	uinotify_inode_put(dir);
	uinotify_inode_put(other);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(unmount_newest_first)
{
	struct sbrec *s = sbrec_new(), *s2 = sbrec_new();
	struct rec *ra = rec_new(), *rb = rec_new();
	struct uinotify_inode *a = FILE_NEW(s->sb, 1);
	struct uinotify_inode *b = DIR_NEW(s->sb, 2);
	struct uinotify_inode *c = FILE_NEW(s->sb, 3);
	struct uinotify_inode *d = FILE_NEW(s->sb, 4); /* never watched */
	struct uinotify_inode *e = DIR_NEW(s->sb, 5);
	struct uinotify_inode *x = FILE_NEW(s2->sb, 1); /* other sb */
	TW_ADD(ra, c, IN_MODIFY);     /* 1 */
	TW_ADD(ra, a, IN_MODIFY);     /* 2 */
	TW_ADD(ra, e, IN_CREATE);     /* 3 */
	TW_ADD(ra, b, IN_DELETE_SELF); /* 4 */
	TW_ADD(ra, x, IN_MODIFY);     /* 5 */
	TW_ADD(rb, b, IN_ALL_EVENTS); /* 1 */
	uinotify_hook_unmount(s->sb);
	EXPECT_N(ra, 8);
	EXPECT_EV(ra, 0, 3, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_EV(ra, 1, 3, IN_IGNORED, 0, NULL);
	EXPECT_EV(ra, 2, 1, IN_UNMOUNT, 0, NULL);
	EXPECT_EV(ra, 3, 1, IN_IGNORED, 0, NULL);
	EXPECT_EV(ra, 4, 4, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_EV(ra, 5, 4, IN_IGNORED, 0, NULL);
	EXPECT_EV(ra, 6, 2, IN_UNMOUNT, 0, NULL);
	EXPECT_EV(ra, 7, 2, IN_IGNORED, 0, NULL);
	EXPECT_N(rb, 2);
	EXPECT_EV(rb, 0, 1, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_EV(rb, 1, 1, IN_IGNORED, 0, NULL);
	CHECK_EQ(ra->destroyed, 4);
	CHECK_EQ(rb->destroyed, 1);
	CHECK_EQ(uinotify_handle_watch_count(ra->h), 1);
	CHECK(!uinotify_inode_watched(a) && !uinotify_inode_watched(b) &&
	      !uinotify_inode_watched(c) && !uinotify_inode_watched(e));
	CHECK(uinotify_inode_watched(x));
	rec_clear(ra);
	uinotify_hook_unmount(s->sb); /* again: nothing left */
	uinotify_hook_inode(x, IN_MODIFY, 0);
	EXPECT_N(ra, 1);
	EXPECT_EV(ra, 0, 5, IN_MODIFY, 0, NULL);
	rec_free(ra);
	rec_free(rb);
	struct uinotify_inode *all[] = {a, b, c, d, e, x};
	for (size_t i = 0; i < 6; i++)
		uinotify_inode_put(all[i]);
	sbrec_free(s);
	sbrec_free(s2);
	TW_CHECK_NONE_LIVE();
}

TEST(unmount_one_inode)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *a = DIR_NEW(s->sb, 1);
	struct uinotify_inode *b = FILE_NEW(s->sb, 2);
	TW_ADD(r, a, IN_MODIFY);
	TW_ADD(r, b, IN_MODIFY | IN_ONESHOT);
	uinotify_hook_unmount_inode(a);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	uinotify_hook_unmount_inode(b);
	EXPECT_N(r, 4);
	EXPECT_EV(r, 2, 2, IN_UNMOUNT, 0, NULL);
	EXPECT_EV(r, 3, 2, IN_IGNORED, 0, NULL);
	CHECK_EQ(r->destroyed, 2);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 0);
	rec_free(r);
	uinotify_inode_put(a);
	uinotify_inode_put(b);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}
