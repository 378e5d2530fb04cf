/*
 * tests/test_engine_lifetime.c - references, removal and destruction:
 * IN_IGNORED is the last call for a watch, destroy_watch is called once,
 * handle and inode memory lives as long as a reference does.
 */
#include "test_engine.h"

#include <unistd.h>

TEST(remove_from_handler)
{
	struct sbrec *s = sbrec_new();
	struct rec *r1 = rec_new(), *r2 = rec_new(), *r3 = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	TW_ADD(r1, in, IN_MODIFY);
	struct tw *t2 = TW_ADD(r2, in, IN_MODIFY);
	TW_ADD(r3, in, IN_MODIFY);
	t2->remove_in_handler = true;

	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r1, 1);
	EXPECT_N(r2, 2);
	EXPECT_N(r3, 1);
	EXPECT_EV(r1, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r2, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r2, 1, 1, IN_IGNORED, 0, NULL);
	EXPECT_EV(r3, 0, 1, IN_MODIFY, 0, NULL);
	CHECK_EQ(r2->destroyed, 1);
	CHECK_EQ(uinotify_handle_watch_count(r2->h), 0);
	CHECK_EQ(uinotify_watch_rm_wd(r2->h, 1), -EINVAL);

	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r1, 2);
	EXPECT_N(r2, 2);
	EXPECT_N(r3, 2);
	rec_free(r1);
	rec_free(r2);
	rec_free(r3);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* Every watch on the inode removes itself while being delivered. */
TEST(remove_all_from_handler)
{
	struct sbrec *s = sbrec_new();
	struct rec *r[6];
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	for (int i = 0; i < 6; i++) {
		r[i] = rec_new();
		TW_ADD(r[i], in, IN_MODIFY)->remove_in_handler = true;
	}
	uinotify_hook_inode(in, IN_MODIFY, 0);
	for (int i = 0; i < 6; i++) {
		EXPECT_N(r[i], 2);
		EXPECT_EV(r[i], 0, 1, IN_MODIFY, 0, NULL);
		EXPECT_EV(r[i], 1, 1, IN_IGNORED, 0, NULL);
		CHECK_EQ(r[i]->destroyed, 1);
	}
	CHECK(!uinotify_inode_watched(in));
	for (int i = 0; i < 6; i++)
		rec_free(r[i]);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* The P watch removes itself: the S watch of the same handle still gets
 * its event, and so does the S watch of another handle. */
TEST(remove_parent_watch_from_handler)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	struct uinotify_inode *dir = DIR_NEW(s->sb, 1);
	struct uinotify_inode *f = FILE_NEW(s->sb, 2);
	TW_ADD(r, dir, IN_OPEN)->remove_in_handler = true; /* 1 */
	TW_ADD(r, f, IN_OPEN);                             /* 2 */
	TW_ADD(r2, dir, IN_OPEN);
	TW_ADD(r2, f, IN_OPEN)->remove_in_handler = true;
	uinotify_hook_parent(dir, "f", f, IN_OPEN);
	EXPECT_N(r, 3);
	EXPECT_EV(r, 0, 1, IN_OPEN, 0, "f");
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	EXPECT_EV(r, 2, 2, IN_OPEN, 0, NULL);
	EXPECT_N(r2, 3);
	EXPECT_EV(r2, 0, 1, IN_OPEN, 0, "f");
	EXPECT_EV(r2, 1, 2, IN_OPEN, 0, NULL);
	EXPECT_EV(r2, 2, 2, IN_IGNORED, 0, NULL);
	rec_free(r);
	rec_free(r2);
	uinotify_inode_put(dir);
	uinotify_inode_put(f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(two_handles_one_inode)
{
	struct sbrec *s = sbrec_new();
	struct rec *r1 = rec_new(), *r2 = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct uinotify_inode *other = FILE_NEW(s->sb, 2);
	TW_ADD(r1, other, IN_MODIFY); /* r1: 1 */
	TW_ADD(r1, in, IN_MODIFY);    /* r1: 2 */
	TW_ADD(r2, in, IN_MODIFY | IN_ATTRIB); /* r2: 1 */
	uinotify_hook_inode(in, IN_MODIFY, 0);
	uinotify_hook_inode(in, IN_ATTRIB, 0);
	EXPECT_N(r1, 1);
	EXPECT_EV(r1, 0, 2, IN_MODIFY, 0, NULL);
	EXPECT_N(r2, 2);
	EXPECT_EV(r2, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r2, 1, 1, IN_ATTRIB, 0, NULL);
	/* Removing one handle's watch leaves the other's. */
	CHECK_EQ(uinotify_watch_rm_wd(r1->h, 2), 0);
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r1, 2);
	EXPECT_EV(r1, 1, 2, IN_IGNORED, 0, NULL);
	EXPECT_N(r2, 3);
	CHECK_HEX(uinotify_inode_mask(in), IN_MODIFY | IN_ATTRIB);
	/* Destroying one handle leaves the other's watches working. */
	rec_free(r1);
	uinotify_hook_inode(in, IN_ATTRIB, 0);
	EXPECT_N(r2, 4);
	rec_free(r2);
	uinotify_inode_put(in);
	uinotify_inode_put(other);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

TEST(destroy_with_live_watches)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in[10];
	for (int i = 0; i < 10; i++) {
		in[i] = (i & 1) ? DIR_NEW(s->sb, (uint64_t)i + 1)
				: FILE_NEW(s->sb, (uint64_t)i + 1);
		TW_ADD(r, in[i], IN_ALL_EVENTS | (i == 3 ? IN_ONESHOT : 0));
		uinotify_inode_put(in[i]); /* the watches pin them */
	}
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.handles, 1);
	CHECK_EQ(c.watches, 10);
	CHECK_EQ(c.inodes, 10);
	uinotify_handle_destroy(r->h);
	r->h = NULL;
	EXPECT_N(r, 0); /* no IN_IGNORED */
	CHECK_EQ(r->destroyed, 10);
	CHECK_EQ(s->released, 10);
	uinotify_debug_counts(&c);
	CHECK_EQ(c.handles, 0);
	CHECK_EQ(c.watches, 0);
	CHECK_EQ(c.inodes, 0);
	/* mask_changed told the producer each inode is no longer observed. */
	int stops = 0;
	for (int i = 0; i < s->nch; i++)
		stops += s->ch[i].new_mask == 0;
	CHECK_EQ(stops, 10);
	rec_free(r);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

struct holder {
	struct rec *r;
	struct uinotify_inode *in;
	struct gate gate;
	struct uinotify_handle *seen_handle;
	void *seen_user;
	int32_t wd;
};

static void *holder_thread(void *arg)
{
	struct holder *ho = arg;
	struct uinotify_watch *w = NULL;
	ho->wd = uinotify_watch_find(ho->r->h, ho->in, &w);
	gate_set(&ho->gate, 1); /* the main thread may destroy now */
	gate_wait(&ho->gate, 2);
	/* The handle has been destroyed; our reference keeps it alive. */
	ho->seen_handle = uinotify_watch_handle(w);
	ho->seen_user = uinotify_handle_user(ho->seen_handle);
	uinotify_watch_put(w); /* match the get of uinotify_watch_find */
	return NULL;
}

TEST(destroy_while_other_thread_holds_reference)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct uinotify_inode *in2 = FILE_NEW(s->sb, 2);
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	TW_ADD(r, in2, IN_MODIFY);
	struct holder ho = {.r = r, .in = in, .gate = GATE_INIT};
	struct uinotify_handle *h = r->h;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, holder_thread, &ho), 0);
	gate_wait(&ho.gate, 1);
	CHECK_EQ(ho.wd, 1);

	uinotify_handle_destroy(h);
	r->h = NULL;
	EXPECT_N(r, 0);
	pthread_mutex_lock(&r->lock);
	CHECK_EQ(r->destroyed, 1); /* in2's watch; in's waits for the holder */
	CHECK(!t->destroyed);
	pthread_mutex_unlock(&r->lock);
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.handles, 1);
	CHECK_EQ(c.watches, 1);
	/* Unlinked already: hooks do not reach it. */
	CHECK(!uinotify_inode_watched(in));
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 0);

	gate_set(&ho.gate, 2);
	pthread_join(th, NULL);
	CHECK(ho.seen_handle == h);
	CHECK(ho.seen_user == r);
	CHECK_EQ(r->destroyed, 2);
	uinotify_debug_counts(&c);
	CHECK_EQ(c.handles, 0);
	CHECK_EQ(c.watches, 0);
	rec_free(r);
	uinotify_inode_put(in);
	uinotify_inode_put(in2);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* A watch reference taken by find outlives rm_wd and the IGNORED put. */
TEST(reference_outlives_removal)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *t = TW_ADD(r, in, IN_MODIFY);
	uinotify_inode_put(in);
	struct uinotify_watch *w;
	CHECK_EQ(uinotify_watch_find(r->h, in, &w), 1);
	uinotify_watch_get(w);
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 1), 0);
	EXPECT_N(r, 1);
	EXPECT_EV(r, 0, 1, IN_IGNORED, 0, NULL);
	CHECK(!t->destroyed);
	/* The inode is pinned by the watch until its final put. */
	CHECK(uinotify_watch_inode(w) == in);
	CHECK_EQ(uinotify_inode_key(uinotify_watch_inode(w))->ino, 1);
	CHECK_EQ(s->released, 0);
	uinotify_watch_put(w);
	CHECK(!t->destroyed);
	uinotify_watch_put(w);
	CHECK_EQ(r->destroyed, 1);
	CHECK_EQ(s->released, 1);
	rec_free(r);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* rm_wd from one thread while another fires hooks on the same inodes. */
struct race {
	struct uinotify_inode *dir, *f;
	atomic_bool stop;
	long fired;
};

static void *race_producer(void *arg)
{
	struct race *ra = arg;
	while (!atomic_load(&ra->stop)) {
		uinotify_hook_parent(ra->dir, "f", ra->f, IN_MODIFY);
		uinotify_hook_inode(ra->f, IN_ATTRIB, 0);
		uinotify_hook_dirent(ra->dir, "g", NULL, IN_CREATE, 0);
		ra->fired++;
	}
	return NULL;
}

TEST(rm_wd_racing_delivery)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	r->graveyard = true;
	struct race ra = {0};
	ra.dir = DIR_NEW(s->sb, 1);
	ra.f = FILE_NEW(s->sb, 2);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, race_producer, &ra), 0);
	const int rounds = 1000;
	for (int i = 0; i < rounds; i++) {
		struct tw *a = TW_ADD(r, ra.dir, IN_MODIFY | IN_CREATE);
		struct tw *b = TW_ADD(r, ra.f, IN_MODIFY | IN_ATTRIB |
						       (i % 3 == 0 ? IN_ONESHOT
								   : 0));
		if (i & 1)
			sched_yield();
		CHECK_EQ(uinotify_watch_rm_wd(r->h, uinotify_watch_wd(&a->w)),
			 0);
		int rb = uinotify_watch_rm_wd(r->h, uinotify_watch_wd(&b->w));
		/* A one-shot watch may have fired and gone already. */
		CHECK(rb == 0 || (rb == -EINVAL && i % 3 == 0));
	}
	atomic_store(&ra.stop, true);
	pthread_join(th, NULL);

	/* Every watch: exactly one IGNORED, the last of its events. */
	pthread_mutex_lock(&r->lock);
	CHECK_EQ(r->violations, 0);
	CHECK_EQ(r->destroyed, 2 * rounds);
	long ignored = 0;
	for (size_t i = 0; i < r->n; i++)
		ignored += (r->ev[i].mask & IN_IGNORED) != 0;
	CHECK_EQ(ignored, 2 * rounds);
	for (size_t i = 0; i < r->n; i++) {
		struct tw *t = r->ev[i].tw;
		CHECK(t->destroyed);
		CHECK_EQ(t->nignored, 1);
	}
	pthread_mutex_unlock(&r->lock);
	CHECK(!uinotify_inode_watched(ra.dir));
	CHECK(!uinotify_inode_watched(ra.f));
	rec_free(r);
	graveyard_free();
	uinotify_inode_put(ra.dir);
	uinotify_inode_put(ra.f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* Destroying a handle while another thread fires hooks at its watches. */
TEST(destroy_racing_delivery)
{
	struct sbrec *s = sbrec_new();
	struct race ra = {0};
	ra.dir = DIR_NEW(s->sb, 1);
	ra.f = FILE_NEW(s->sb, 2);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, race_producer, &ra), 0);
	for (int i = 0; i < 300; i++) {
		struct rec *r = rec_new();
		r->graveyard = true;
		TW_ADD(r, ra.dir, IN_MODIFY | IN_CREATE);
		TW_ADD(r, ra.f, IN_ATTRIB | IN_MODIFY);
		uinotify_handle_destroy(r->h);
		r->h = NULL;
		pthread_mutex_lock(&r->lock);
		CHECK_EQ(r->destroyed, 2);
		for (size_t k = 0; k < r->n; k++)
			CHECK(!(r->ev[k].mask & IN_IGNORED));
		pthread_mutex_unlock(&r->lock);
		/* Nothing may reach the handler after destroy returned. */
		size_t n = rec_n(r);
		sched_yield();
		CHECK_EQ(rec_n(r), n);
		rec_free(r);
		graveyard_free();
	}
	atomic_store(&ra.stop, true);
	pthread_join(th, NULL);
	uinotify_inode_put(ra.dir);
	uinotify_inode_put(ra.f);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/*
 * No callback after uinotify_handle_destroy has returned: the consumer frees
 * what its user pointer points to right then.  queue_overflow runs without
 * engine locks, so this is where a late call could slip through.
 */
#define OVF_ROUNDS 10000

static atomic_long late_overflow_calls;

struct ovf_user {
	atomic_bool destroyed;
	atomic_long calls;
};

static void ovf_queue_overflow(struct uinotify_handle *h, void *user)
{
	struct ovf_user *u = user;
	(void)h;
	if (atomic_load(&u->destroyed))
		atomic_fetch_add(&late_overflow_calls, 1);
	atomic_fetch_add(&u->calls, 1);
}

static const struct uinotify_ops ovf_ops = {
	.handle_event = rec_handle_event,
	.destroy_watch = rec_destroy_watch,
	.queue_overflow = ovf_queue_overflow,
};

struct ovf_race {
	struct uinotify_sb *sb;
	atomic_bool stop;
};

static void *ovf_producer(void *arg)
{
	struct ovf_race *o = arg;
	while (!atomic_load(&o->stop))
		uinotify_hook_overflow(o->sb);
	return NULL;
}

TEST(no_overflow_callback_after_destroy)
{
	struct sbrec *s = sbrec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct ovf_user *users = calloc(OVF_ROUNDS, sizeof *users);
	struct rec *r = rec_new(); /* only for its handler and lock */
	CHECK(users != NULL);
	struct ovf_race o = {.sb = s->sb};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, ovf_producer, &o), 0);
	long called = 0;
	for (int i = 0; i < OVF_ROUNDS; i++) {
		struct uinotify_handle *h;
		CHECK_EQ(uinotify_handle_create(&ovf_ops, &users[i], &h), 0);
		struct tw *t = tw_new(r);
		CHECK(uinotify_watch_add(h, &t->w, in, IN_MODIFY) > 0);
		sched_yield();
		uinotify_handle_destroy(h);
		atomic_store(&users[i].destroyed, true);
		called += atomic_load(&users[i].calls) > 0;
	}
	atomic_store(&o.stop, true);
	pthread_join(th, NULL);
	fprintf(stderr, "%ld of %d handles saw an overflow\n", called,
		OVF_ROUNDS);
	CHECK_EQ(atomic_load(&late_overflow_calls), 0);
	free(users);
	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* The consumer removes a one-shot watch itself in its one event: one
 * IGNORED, one destroy. */
TEST(oneshot_removed_in_its_handler)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *t = TW_ADD(r, in, IN_MODIFY | IN_ONESHOT);
	t->remove_in_handler = true;
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 0, 1, IN_MODIFY, 0, NULL);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	CHECK_EQ(r->destroyed, 1);
	CHECK(!uinotify_inode_watched(in));
	rec_free(r);
	uinotify_inode_put(in);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* The final put may come later, outside any handler. */
TEST(final_put_outside_handler)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new();
	struct uinotify_inode *in = FILE_NEW(s->sb, 1);
	struct tw *a = TW_ADD(r, in, IN_MODIFY | IN_ONESHOT);
	a->defer_put = true;
	uinotify_hook_inode(in, IN_MODIFY, 0);
	EXPECT_N(r, 2);
	EXPECT_EV(r, 1, 1, IN_IGNORED, 0, NULL);
	CHECK(!a->destroyed);
	struct tw *b = TW_ADD(r, in, IN_MODIFY);
	b->defer_put = true;
	CHECK_EQ(uinotify_watch_rm_wd(r->h, 2), 0);
	CHECK(!b->destroyed);
	/* The handle may even be destroyed first. */
	uinotify_handle_destroy(r->h);
	r->h = NULL;
	CHECK_EQ(r->destroyed, 0);
	CHECK_EQ(s->released, 0);
	uinotify_watch_put(&a->w);
	CHECK_EQ(r->destroyed, 1);
	uinotify_inode_put(in);
	CHECK_EQ(s->released, 0); /* b still pins it */
	uinotify_watch_put(&b->w);
	CHECK_EQ(r->destroyed, 2);
	CHECK_EQ(s->released, 1);
	rec_free(r);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}

/* Unmount of inodes pinned only by their watches: each is freed during the
 * walk (the IGNORED put drops the last reference). */
TEST(unmount_frees_inodes_pinned_by_watches)
{
	struct sbrec *s = sbrec_new();
	struct rec *r = rec_new(), *r2 = rec_new();
	for (int i = 0; i < 40; i++) {
		struct uinotify_inode *in = (i % 3) ? FILE_NEW(s->sb, 1 + i)
						    : DIR_NEW(s->sb, 1 + i);
		if (i % 2 == 0)
			TW_ADD(r, in, IN_ALL_EVENTS | (i % 4 ? IN_ONESHOT : 0));
		if (i % 5 == 0)
			TW_ADD(r2, in, IN_ISDIR);
		uinotify_inode_put(in); /* odd and unwatched ones go now */
	}
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	CHECK_EQ(c.inodes, 24); /* 20 even + 4 odd multiples of 5 */
	uinotify_hook_unmount(s->sb);
	uinotify_debug_counts(&c);
	CHECK_EQ(c.inodes, 0);
	CHECK_EQ(c.watches, 0);
	CHECK_EQ(s->released, 40);
	EXPECT_N(r, 40);
	EXPECT_N(r2, 16);
	/* Newest first: r's wds were given oldest first. */
	for (int k = 0; k < 20; k++) {
		int32_t wd = 20 - k;
		int i = 2 * (wd - 1);
		uint32_t isdir = (i % 3) ? 0 : IN_ISDIR;
		EXPECT_EV(r, 2 * (size_t)k, wd, IN_UNMOUNT | isdir, 0, NULL);
		EXPECT_EV(r, 2 * (size_t)k + 1, wd, IN_IGNORED, 0, NULL);
	}
	rec_free(r);
	rec_free(r2);
	sbrec_free(s);
	TW_CHECK_NONE_LIVE();
}
