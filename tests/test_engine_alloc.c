/*
 * tests/test_engine_alloc.c - allocation failure: every allocation of a
 * scenario is failed in turn (uinotify_debug_fail_alloc(n, false) for
 * n = 1, 2, ... until the scenario makes fewer than n allocations); each
 * failure must come back as -ENOMEM, leave the engine consistent, and leak
 * nothing (the counts are checked after every round, not only at the end).
 */
#include "test_engine.h"

static void check_counts_zero_at(const char *file, int line, long n)
{
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	if (c.handles || c.watches || c.inodes || c.sbs || c.events ||
	    c.instances || atomic_load(&tw_live))
		uin_test_fail(file, line,
			      "leak after failing allocation %ld: handles %ld "
			      "watches %ld inodes %ld sbs %ld tw %ld",
			      n, c.handles, c.watches, c.inodes, c.sbs,
			      atomic_load(&tw_live));
}
#define CHECK_COUNTS_ZERO(n) check_counts_zero_at(__FILE__, __LINE__, (n))

/*
 * Run scenario with the n-th allocation failing, for n = 1.. until a round
 * makes fewer than n allocations.  scenario returns how many -ENOMEM it saw.
 */
static void fail_each_allocation_at(const char *file, int line,
				    long (*scenario)(void), long min_allocs)
{
	long failures = 0, n;
	for (n = 1;; n++) {
		long before = uinotify_debug_alloc_calls();
		uinotify_debug_fail_alloc(n, false);
		long enomem = scenario();
		uinotify_debug_fail_alloc(0, false);
		long made = uinotify_debug_alloc_calls() - before;
		check_counts_zero_at(file, line, n);
		if (made < n) {
			if (enomem != 0)
				uin_test_fail(file, line,
					      "-ENOMEM without an injected "
					      "failure (round %ld)",
					      n);
			break;
		}
		failures += enomem;
	}
	fprintf(stderr, "%ld allocations failed in turn, %ld -ENOMEM\n", n - 1,
		failures);
	if (n - 1 < min_allocs)
		uin_test_fail(file, line, "only %ld allocations", n - 1);
	if (failures == 0)
		uin_test_fail(file, line, "no failure ever reported");
}
#define FAIL_EACH_ALLOCATION(scenario, min)                                  \
	fail_each_allocation_at(__FILE__, __LINE__, (scenario), (min))

static long scenario_handle(void)
{
	struct uinotify_handle *h = NULL;
	int r = uinotify_handle_create(&rec_ops, NULL, &h);
	if (r == -ENOMEM)
		return 1;
	CHECK_EQ(r, 0);
	uinotify_handle_destroy(h);
	return 0;
}

TEST(handle_create_enomem)
{
	FAIL_EACH_ALLOCATION(scenario_handle, 1);
}

static long scenario_sb(void)
{
	struct uinotify_sb *sb = NULL;
	int r = uinotify_sb_create(NULL, NULL, &sb);
	if (r == -ENOMEM)
		return 1;
	CHECK_EQ(r, 0);
	uinotify_sb_destroy(sb);
	return 0;
}

TEST(sb_create_enomem)
{
	FAIL_EACH_ALLOCATION(scenario_sb, 1);
}

#define NINODES 150

/* Enough inodes to grow the superblock's table more than once. */
static long scenario_inodes(void)
{
	long enomem = 0;
	struct uinotify_sb *sb = NULL;
	int r = uinotify_sb_create(NULL, NULL, &sb);
	if (r == -ENOMEM)
		return 1;
	CHECK_EQ(r, 0);
	struct uinotify_inode *in[NINODES] = {0};
	for (int i = 0; i < NINODES; i++) {
		struct uinotify_key k = test_key((uint64_t)i + 1,
						 i % 4 ? S_IFREG : S_IFDIR);
		r = uinotify_inode_get(sb, &k, &in[i]);
		if (r == -ENOMEM) {
			enomem++;
			in[i] = NULL;
			continue;
		}
		CHECK_EQ(r, 1);
	}
	/* Every inode created is found again, and no other. */
	for (int i = 0; i < NINODES; i++) {
		struct uinotify_key k = test_key((uint64_t)i + 1,
						 i % 4 ? S_IFREG : S_IFDIR);
		struct uinotify_inode *l = uinotify_inode_lookup(sb, &k);
		CHECK(l == in[i]);
		if (l)
			uinotify_inode_put(l);
	}
	for (int i = 0; i < NINODES; i++)
		if (in[i])
			uinotify_inode_put(in[i]);
	uinotify_sb_destroy(sb);
	return enomem;
}

TEST(inode_get_enomem)
{
	FAIL_EACH_ALLOCATION(scenario_inodes, 2);
}

#define NWATCHES 70

/* A handle, inodes and watches on them, events, removal, destroy. */
static long scenario_watches(void)
{
	long enomem = 0;
	struct uinotify_sb *sb = NULL;
	int r = uinotify_sb_create(NULL, NULL, &sb);
	if (r == -ENOMEM)
		return 1;
	CHECK_EQ(r, 0);
	struct rec *rc = calloc(1, sizeof *rc);
	CHECK(rc != NULL);
	pthread_mutex_init(&rc->lock, NULL);
	rc->keep_events = true;
	r = uinotify_handle_create(&rec_ops, rc, &rc->h);
	if (r == -ENOMEM) {
		rc->h = NULL;
		rec_free(rc);
		uinotify_sb_destroy(sb);
		return 1;
	}
	CHECK_EQ(r, 0);

	struct uinotify_inode *in[NWATCHES] = {0};
	int32_t wds[NWATCHES] = {0};
	int32_t last_wd = 0;
	for (int i = 0; i < NWATCHES; i++) {
		struct uinotify_key k = test_key((uint64_t)i + 1, S_IFREG);
		r = uinotify_inode_get(sb, &k, &in[i]);
		if (r == -ENOMEM) {
			enomem++;
			in[i] = NULL;
			continue;
		}
		int32_t wd = tw_try_add(rc, in[i], IN_MODIFY, NULL);
		if (wd == -ENOMEM) {
			enomem++;
			CHECK(!uinotify_inode_watched(in[i]));
			continue;
		}
		CHECK(wd > last_wd);
		last_wd = wd;
		wds[i] = wd;
	}
	unsigned linked = 0;
	for (int i = 0; i < NWATCHES; i++) {
		if (!in[i])
			continue;
		struct uinotify_watch *w = NULL;
		int32_t wd = uinotify_watch_find(rc->h, in[i], &w);
		if (wds[i]) {
			linked++;
			CHECK_EQ(wd, wds[i]);
			uinotify_watch_put(w);
		} else {
			CHECK_EQ(wd, -ENOENT);
		}
		uinotify_hook_parent(NULL, NULL, in[i], IN_MODIFY);
	}
	CHECK_EQ(uinotify_handle_watch_count(rc->h), linked);
	CHECK_EQ(rec_n(rc), linked);
	for (size_t i = 0; i < rec_n(rc); i++)
		CHECK_HEX(rec_ev(rc, i).mask, IN_MODIFY);
	/* Remove half by wd (IGNORED), destroy the handle with the rest. */
	for (int i = 0; i < NWATCHES; i += 2)
		if (wds[i])
			CHECK_EQ(uinotify_watch_rm_wd(rc->h, wds[i]), 0);
	for (int i = 0; i < NWATCHES; i++)
		if (in[i])
			uinotify_inode_put(in[i]);
	rec_free(rc);
	uinotify_sb_destroy(sb);
	return enomem;
}

TEST(watch_add_enomem)
{
	FAIL_EACH_ALLOCATION(scenario_watches, 3);
}

/* Teardown and delivery under a persistent failure: nothing may need an
 * allocation to release what exists. */
static long scenario_teardown(void)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	struct uinotify_inode *g = FILE_NEW(s->sb, 3);
	TW_ADD(r, dir, IN_ALL_EVENTS);
	TW_ADD(r, f, IN_ALL_EVENTS | IN_ONESHOT);
	TW_ADD(r, g, IN_ALL_EVENTS | IN_EXCL_UNLINK);
	TW_ADD(r2, dir, IN_ALL_EVENTS);
	TW_ADD(r2, g, IN_ALL_EVENTS);

	uinotify_debug_fail_alloc(1, true);
	uinotify_hook_parent(dir, "f", f, IN_MODIFY);
	uinotify_hook_dirent(dir, "x", NULL, IN_CREATE, 0);
	uinotify_hook_move(dir, "g", dir, "h", g);
	uinotify_hook_unlinked(g, true);
	uinotify_hook_parent(dir, "h", g, IN_CLOSE_WRITE);
	uinotify_hook_overflow(s->sb);
	CHECK_EQ(uinotify_watch_rm_wd(r2->h, 1), 0);
	uinotify_hook_inode_dead(g);
	uinotify_hook_unmount_inode(dir);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	uinotify_inode_put(g);
	rec_free(r);
	uinotify_hook_unmount(s->sb);
	rec_free(r2);
	sbrec_free(s);
	uinotify_debug_fail_alloc(0, false);
	return 0;
}

TEST(teardown_needs_no_allocation)
{
	scenario_teardown();
	CHECK_COUNTS_ZERO(0);
	TW_CHECK_NONE_LIVE();
}

TEST(persistent_failure)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *a = FILE_NEW(s->sb, 1);
	uinotify_debug_fail_alloc(1, true);
	struct uinotify_handle *h = NULL;
	CHECK_EQ(uinotify_handle_create(&rec_ops, NULL, &h), -ENOMEM);
	struct uinotify_sb *sb = NULL;
	CHECK_EQ(uinotify_sb_create(NULL, NULL, &sb), -ENOMEM);
	struct uinotify_key k = test_key(99, S_IFREG);
	struct uinotify_inode *in = NULL;
	CHECK_EQ(uinotify_inode_get(s->sb, &k, &in), -ENOMEM);
	CHECK(uinotify_inode_lookup(s->sb, &k) == NULL);
	/* A found inode needs no allocation. */
	struct uinotify_key ka = test_key(1, S_IFREG);
	CHECK_EQ(uinotify_inode_get(s->sb, &ka, &in), 0);
	CHECK(in == a);
	uinotify_inode_put(in);
	/* Updating an existing watch needs none either (Linux: not counted). */
	uinotify_debug_fail_alloc(0, false);
	TW_ADD(r, a, IN_MODIFY);
	uinotify_debug_fail_alloc(1, true);
	CHECK_EQ(uinotify_watch_find_update(r->h, a, IN_OPEN | IN_MASK_ADD), 1);
	uinotify_debug_fail_alloc(0, false);
	rec_free(r);
	uinotify_inode_put(a);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}
