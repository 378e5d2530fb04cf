/*
 * tests/test_engine_watch.c - watch descriptors, find, find_update, masks,
 * IN_ONESHOT: the consumer API of uinotify/engine.h used directly.
 */
#include "test_engine.h"

TEST(handle_create_needs_ops)
{
	struct uinotify_handle *h = NULL;
	CHECK_EQ(uinotify_handle_create(NULL, NULL, &h), -EINVAL);
	struct rec *r = rec_new();
	CHECK_EQ(uinotify_handle_watch_count(r->h), 0);
	rec_free(r);
}

TEST(wd_starts_at_one_and_increases)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in[5];
	struct tw *t[5];
	for (int i = 0; i < 5; i++) {
		in[i] = FILE_NEW(s->sb, 100 + (uint64_t)i);
		t[i] = TW_ADD(r, in[i], IN_MODIFY);
		CHECK_EQ(uinotify_watch_wd(&t[i]->w), i + 1);
	}
	CHECK_EQ(uinotify_handle_watch_count(r->h), 5);

	/* Removed numbers are not reused before the wrap. */
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 5), 0);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 2), 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 5, IN_IGNORED, 0, NULL);
	EXPECT_EV(r, 1, 2, IN_IGNORED, 0, NULL);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 3);
	struct tw *t5 = TW_ADD(r, in[4], IN_MODIFY);
	CHECK_EQ(uinotify_watch_wd(&t5->w), 6);
	struct tw *t6 = TW_ADD(r, in[1], IN_MODIFY);
	CHECK_EQ(uinotify_watch_wd(&t6->w), 7);

	/* A second handle has its own sequence. */
	struct rec *r2 = rec_new();
	struct tw *u = TW_ADD(r2, in[0], IN_MODIFY);
	CHECK_EQ(uinotify_watch_wd(&u->w), 1);

	rec_free(r2);
	rec_free(r);
	for (int i = 0; i < 5; i++)
		uinotify_inode_put(in[i]);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(wd_wraps_to_lowest_free)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in[8];
	for (int i = 0; i < 8; i++)
		in[i] = FILE_NEW(s->sb, 200 + (uint64_t)i);
	CHECK_EQ(uinotify_handle_set_wd_max(r->h, 0), -EINVAL);
	CHECK_EQ(uinotify_handle_set_wd_max(r->h, -3), -EINVAL);
	CHECK_EQ(uinotify_handle_set_wd_max(r->h, 5), 0);

	for (int i = 0; i < 5; i++)
		CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[i], IN_OPEN)->w),
			 i + 1);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 2), 0);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 4), 0);
	/* Past wd_max: the lowest free number, skipping those in use. */
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[5], IN_OPEN)->w), 2);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[6], IN_OPEN)->w), 4);
	/* Every number in use. */
	CHECK_EQ(tw_try_add(r, in[7], IN_OPEN, NULL), -ENOSPC);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 5);
	CHECK_EQ(uinotify_inode_watched(in[7]), false);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[7], IN_OPEN)->w), 1);
	CHECK_EQ(tw_try_add(r, in[0], IN_OPEN, NULL), -ENOSPC);

	rec_free(r);
	for (int i = 0; i < 8; i++)
		uinotify_inode_put(in[i]);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(wd_max_one)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *a = FILE_NEW(s->sb, 1), *b = FILE_NEW(s->sb, 2);
	CHECK_EQ(uinotify_handle_set_wd_max(r->h, 1), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, a, IN_OPEN)->w), 1);
	CHECK_EQ(tw_try_add(r, b, IN_OPEN, NULL), -ENOSPC);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, b, IN_OPEN)->w), 1);
	rec_free(r);
	uinotify_inode_put(a);
	uinotify_inode_put(b);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(set_next_wd)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in[6];
	for (int i = 0; i < 6; i++)
		in[i] = FILE_NEW(s->sb, 300 + (uint64_t)i);

	CHECK_EQ(uinotify_handle_set_next_wd(r->h, 0), -EINVAL);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, -1), -EINVAL);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, INT32_MIN), -EINVAL);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, INT32_MAX), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[0], IN_OPEN)->w), INT32_MAX);
	/* The counter passed the default wd_max: wrap to 1. */
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[1], IN_OPEN)->w), 1);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, 10), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[2], IN_OPEN)->w), 10);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[3], IN_OPEN)->w), 11);

	/* With a small wd_max the bound moves with it. */
	CHECK_EQ(uinotify_handle_set_wd_max(r->h, 20), 0);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, 21), -EINVAL);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, 20), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[4], IN_OPEN)->w), 20);
	/* Next: past 20 -> lowest free >= 1 is 2 (1, 10, 11 in use). */
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[5], IN_OPEN)->w), 2);

	/* A next wd that is in use is skipped. */
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 2), 0);
	CHECK_EQ(uinotify_handle_set_next_wd(r->h, 10), 0);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in[5], IN_OPEN)->w), 12);

	rec_free(r);
	for (int i = 0; i < 6; i++)
		uinotify_inode_put(in[i]);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(add_bad_masks)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	static const uint32_t bad[] = {0, 0x1000, 0x08000000, 0x00100000,
				       IN_MODIFY | 0x1000};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ(tw_try_add(r, in, bad[i], NULL), -EINVAL);
	CHECK_EQ(uinotify_inode_watched(in), false);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 0);
	CHECK_EQ(s->nch, 0);

	/* A linked watch cannot be added again. */
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	struct uinotify_inode *in2 = FILE_NEW(s->sb, 2);
	CHECK_EQ(uinotify_watch_add(r->h, &t->w, in2, IN_MODIFY), -EINVAL);
	CHECK_EQ(uinotify_watch_wd(&t->w), 1);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 1);
	/* A failed add does not consume a wd. */
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in2, IN_MODIFY)->w), 2);

	rec_free(r);
	uinotify_inode_put(in);
	uinotify_inode_put(in2);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(find_same_inode_same_watch)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 42);

	/* The same key gives the same inode. */
	struct uinotify_key k = test_key(42, S_IFREG);
	struct uinotify_inode *again = NULL;
	CHECK_EQ(uinotify_inode_get(s->sb, &k, &again), 0);
	CHECK(again == in);
	struct uinotify_inode *looked = uinotify_inode_lookup(s->sb, &k);
	CHECK(looked == in);
	uinotify_inode_put(looked);
	uinotify_inode_put(again);
	struct uinotify_key k2 = test_key(43, S_IFREG);
	CHECK(uinotify_inode_lookup(s->sb, &k2) == NULL);
	CHECK(uinotify_inode_key(in)->ino == 42);
	CHECK(uinotify_inode_sb(in) == s->sb);
	CHECK(!uinotify_inode_is_dir(in));

	struct uinotify_watch *w = NULL;
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), -ENOENT);
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), 1);
	CHECK(w == &t->w);
	uinotify_watch_put(w); /* match the get of uinotify_watch_find */
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), 1);
	CHECK(w == &t->w);
	uinotify_watch_put(w);
	CHECK(!t->destroyed);

	w = NULL;
	CHECK_EQ(uinotify_watch_find(r2->h, in, &w), -ENOENT);
	CHECK_EQ(uinotify_watch_find_update(r2->h, in, IN_OPEN), -ENOENT);

	/* After removal, find fails and the next add gets a new wd. */
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), -ENOENT);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), -EINVAL);
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in, IN_MODIFY)->w), 2);

	rec_free(r);
	rec_free(r2);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(rm_wd_unknown)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	TW_ADD(r, in, IN_MODIFY);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 0), -EINVAL);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, -1), -EINVAL);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 2), -EINVAL);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, INT32_MAX), -EINVAL);
	CHECK_EQ(uinotify_watch_rm_wd(r2->h, 1), -EINVAL); /* another's wd */
	EXPECT_N(r, 0);
	EXPECT_N(r2, 0);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 1, IN_IGNORED, 0, NULL);
	rec_free(r);
	rec_free(r2);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(rm_by_pointer)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	struct uinotify_watch *w;
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), 1);
	/* Not r2's watch. */
	CHECK(uinotify_watch_rm(r2->h, w) < 0);
	CHECK_EQ(uinotify_watch_rm(r->h, w), 0);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 1, IN_IGNORED, 0, NULL);
	/* Our find reference keeps it alive past the handler's final put. */
	CHECK(!t->destroyed);
	CHECK_EQ(r->destroyed, 0);
	CHECK(uinotify_watch_rm(r->h, w) < 0); /* already removed */
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), -EINVAL);
	uinotify_watch_put(w);
	CHECK_EQ(r->destroyed, 1);
	rec_free(r);
	rec_free(r2);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(find_update_replace)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *t = TW_ADD(r, in, IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK);
	CHECK_HEX(uinotify_watch_mask(&t->w),
		  IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK);
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY);

	/* Replace: the flags are reset from the new argument. */
	CHECK_EQ(uinotify_watch_find_update(r->h, in, IN_OPEN | IN_ACCESS), 1);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_OPEN | IN_ACCESS);
	CHECK_HEX(uinotify_inode_mask(in), IN_OPEN | IN_ACCESS);

	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 0);
	uinotify_hook_inode(in, IN_OPEN, 0);
	uinotify_hook_inode(in, IN_OPEN, 0); /* no longer one-shot */
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_OPEN, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_OPEN, 0, NULL);

	/* Flags that are not stored are dropped; the wd stays. */
	CHECK_EQ(uinotify_watch_find_update(r->h, in,
					    IN_CLOSE_WRITE | IN_DONT_FOLLOW |
						    IN_ONLYDIR),
		 1);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_CLOSE_WRITE);

	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(find_update_mask_add)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	CHECK_EQ(uinotify_watch_find_update(r->h, in,
					    IN_OPEN | IN_ONESHOT | IN_MASK_ADD),
		 1);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_MODIFY | IN_OPEN | IN_ONESHOT);
	CHECK_EQ(uinotify_watch_find_update(r->h, in,
					    IN_EXCL_UNLINK | IN_MASK_ADD),
		 1);
	CHECK_HEX(uinotify_watch_mask(&t->w),
		  IN_MODIFY | IN_OPEN | IN_ONESHOT | IN_EXCL_UNLINK);
	/* IN_MASK_ADD of nothing new keeps the flags (ORed, never reset). */
	CHECK_EQ(uinotify_watch_find_update(r->h, in, IN_MODIFY | IN_MASK_ADD),
		 1);
	CHECK_HEX(uinotify_watch_mask(&t->w),
		  IN_MODIFY | IN_OPEN | IN_ONESHOT | IN_EXCL_UNLINK);
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY | IN_OPEN);

	/* The one-shot flag ORed in is live. */
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	CHECK_HEX(uinotify_inode_mask(in), 0);

	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(find_update_mask_create_and_errors)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	CHECK_EQ(uinotify_watch_find_update(r->h, in, IN_MODIFY | IN_MASK_CREATE),
		 -ENOENT);
	struct tw *t = TW_ADD(r, in, IN_MODIFY | IN_MASK_CREATE);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_MODIFY);
	CHECK_EQ(uinotify_watch_find_update(r->h, in, IN_OPEN | IN_MASK_CREATE),
		 -EEXIST);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_MODIFY);
	CHECK_EQ(uinotify_watch_find_update(r->h, in, 0), -EINVAL);
	CHECK_EQ(uinotify_watch_find_update(r->h, in, 0x1000), -EINVAL);
	CHECK_EQ(uinotify_watch_find_update(r->h, in, IN_OPEN | 0x08000000),
		 -EINVAL);
	CHECK_HEX(uinotify_watch_mask(&t->w), IN_MODIFY);
	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* Linux accepts a mask made of flag bits only: an empty-mask watch. */
TEST(flag_only_masks_accepted)
{
	static const uint32_t flag_only[] = {
		IN_ISDIR, IN_DONT_FOLLOW, IN_IGNORED, IN_UNMOUNT,
		IN_ONLYDIR, IN_Q_OVERFLOW, IN_ONESHOT, IN_EXCL_UNLINK,
		IN_MASK_ADD,
	};
	const size_t n = sizeof flag_only / sizeof flag_only[0];
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *in[16];
	for (size_t i = 0; i < n; i++) {
		in[i] = FILE_NEW(s->sb, 10 + i);
		struct tw *t = TW_ADD(r, in[i], flag_only[i]);
		CHECK_HEX(uinotify_watch_mask(&t->w) & IN_ALL_EVENTS, 0);
		CHECK(uinotify_inode_watched(in[i]));
		CHECK_HEX(uinotify_inode_mask(in[i]), 0);
	}
	/* No event reaches them... */
	for (size_t i = 0; i < n; i++) {
		uinotify_hook_inode(in[i], IN_ALL_EVENTS, 0);
		uinotify_hook_parent(dir, "f", in[i], IN_MODIFY);
		uinotify_hook_parent(NULL, NULL, in[i], IN_OPEN);
	}
	EXPECT_N(r, 0);
	/* ...but find_update can turn an empty-mask watch into a real one. */
	CHECK_EQ(uinotify_watch_find_update(r->h, in[0], IN_MODIFY), 1);
	uinotify_hook_inode(in[0], IN_MODIFY, 0);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 1, IN_MODIFY, 0, NULL);
	CHECK_EQ(uinotify_watch_find_update(r->h, in[0], IN_ISDIR), 1);
	CHECK_HEX(uinotify_inode_mask(in[0]), 0);
	CHECK(uinotify_inode_watched(in[0]));
	uinotify_hook_inode(in[0], IN_MODIFY, 0);
	EXPECT_N(r, 1);
	rec_clear(r);

	/* UNMOUNT then IGNORED still arrive, newest inode first. */
	uinotify_hook_unmount(s->sb);
	EXPECT_N(r, 2 * n);
	for (size_t k = 0; k < n; k++) {
		int32_t wd = (int32_t)(n - k);
		EXPECT_EV(r, 2 * k, wd, IN_UNMOUNT, 0, NULL);
		EXPECT_EV(r, 2 * k + 1, wd, IN_IGNORED, 0, NULL);
	}
	CHECK_EQ(r->destroyed, (long)n);
	rec_free(r);
	for (size_t i = 0; i < n; i++)
		uinotify_inode_put(in[i]);
	uinotify_inode_put(dir);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(flag_only_watch_gets_ignored_on_death)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	TW_ADD(r, in, IN_DONT_FOLLOW);
	uinotify_hook_inode_dead(in);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 1, IN_IGNORED, 0, NULL);
	CHECK(!uinotify_inode_watched(in));
	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(oneshot_fires_once_then_ignored)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct uinotify_inode *other = FILE_NEW(s->sb, 2);
	TW_ADD(r, in, IN_MODIFY | IN_ONESHOT);
	TW_ADD(r, other, IN_MODIFY);
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY);

	uinotify_hook_inode(in, IN_OPEN, 0); /* not matching: stays */
	EXPECT_N(r, 0);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	CHECK_EQ(r->destroyed, 1);
	CHECK_HEX(uinotify_inode_mask(in), 0);
	CHECK(!uinotify_inode_watched(in));
	CHECK_EQ(uinotify_handle_watch_count(r->h), 1);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), -EINVAL);
	struct uinotify_watch *w;
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), -ENOENT);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 2);
	/* Adding it again gets a new wd. */
	CHECK_EQ(uinotify_watch_wd(&TW_ADD(r, in, IN_MODIFY)->w), 3);
	/* mask_changed saw 0 -> MODIFY -> 0 -> MODIFY for in. */
	int seen = 0;
	for (int i = 0; i < s->nch; i++) {
		if (s->ch[i].inode != in)
			continue;
		static const uint32_t want[][2] = {
			{0, IN_MODIFY}, {IN_MODIFY, 0}, {0, IN_MODIFY}};
		CHECK(seen < 3);
		CHECK_HEX(s->ch[i].old_mask, want[seen][0]);
		CHECK_HEX(s->ch[i].new_mask, want[seen][1]);
		seen++;
	}
	CHECK_EQ(seen, 3);

	rec_free(r);
	uinotify_inode_put(in);
	uinotify_inode_put(other);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* As Linux: P event, P IGNORED, then the S event (see linux-semantics). */
TEST(oneshot_parent_then_child)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	TW_ADD(r, dir, IN_MODIFY | IN_ONESHOT);
	TW_ADD(r, f, IN_MODIFY | IN_ONESHOT);
	uinotify_hook_parent(dir, "f", f, IN_MODIFY);
	EXPECT_N(r, 4);
	EXPECT_EV(r, 0, 1, IN_MODIFY, 0, "f");
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	EXPECT_EV(r, 2, 2, IN_MODIFY, 0, NULL);
	EXPECT_EV(r, 3, 2, IN_IGNORED, 0, NULL);
	uinotify_hook_parent(dir, "f", f, IN_MODIFY);
	EXPECT_N(r, 4);
	CHECK_EQ(uinotify_handle_watch_count(r->h), 0);
	rec_free(r);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(oneshot_on_death_and_unmount)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *a = FILE_NEW(s->sb, 1);
	struct uinotify_inode *b = DIR_NEW(s->sb, 2);
	struct uinotify_inode *c = FILE_NEW(s->sb, 3);
	TW_ADD(r, a, IN_ALL_EVENTS | IN_ONESHOT);
	TW_ADD(r, b, IN_ALL_EVENTS | IN_ONESHOT);
	TW_ADD(r, c, IN_ONESHOT); /* flag only */
	uinotify_hook_inode_dead(a);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_DELETE_SELF, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	rec_clear(r);
	/* The 2006 use-after-free: a one-shot watch unlinked by its UNMOUNT. */
	uinotify_hook_unmount(s->sb);
	EXPECT_N(r, 4);
	EXPECT_EV(r, 0, 3, IN_UNMOUNT, 0, NULL);
	EXPECT_EV(r, 1, 3, IN_IGNORED, 0, NULL);
	EXPECT_EV(r, 2, 2, IN_UNMOUNT | IN_ISDIR, 0, NULL);
	EXPECT_EV(r, 3, 2, IN_IGNORED, 0, NULL);
	CHECK_EQ(r->destroyed, 3);
	rec_free(r);
	uinotify_inode_put(a);
	uinotify_inode_put(b);
	uinotify_inode_put(c);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(event_mask_filtering)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	TW_ADD(r, in, IN_OPEN | IN_CLOSE_WRITE);
	static const uint32_t all[] = {
		IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE,
		IN_CLOSE_NOWRITE, IN_OPEN, IN_DELETE_SELF, IN_MOVE_SELF};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		uinotify_hook_inode(in, all[i], 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_CLOSE_WRITE, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_OPEN, 0, NULL);
	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}
