/*
 * tests/test_engine_stress.c - watches added, updated and removed by
 * several threads (each on its own handle and on a shared one) while a
 * producer thread fires every kind of hook at the same inodes.  Then the
 * invariants: no call after IN_IGNORED for any watch, exactly one IGNORED
 * for each watch whose removal the API reported, destroy_watch exactly once
 * for every watch, mask_changed calls chaining (each old mask is the
 * previous new one) and ending at 0, every count back to zero.
 * Bounded by iterations, not time: well under 5 s under TSan on 2 cores.
 */
#include "test_engine.h"

#define NDIRS 4
#define NFILES 8
#define NWORKERS 3
#define WORKER_OPS 30000

struct tracker {
	uint32_t last_new; /* [inode lock: mask_changed runs under it] */
	bool last_excl;    /* [inode lock] */
	long calls;
};

static atomic_long sb_violations;

static void stress_mask_changed(void *user, struct uinotify_inode *inode,
				uint32_t old_mask, uint32_t new_mask)
{
	struct tracker *t = uinotify_inode_data(inode);
	(void)user;
	/* 0 -> 0: a watch with an empty mask came or went (hooks.h). */
	bool excl = uinotify_inode_excl_unlink_all(inode);
	if (!t || old_mask != t->last_new ||
	    (old_mask == new_mask && old_mask != 0 && excl == t->last_excl) ||
	    (new_mask & ~IN_ALL_EVENTS)) {
		fprintf(stderr, "VIOLATION: mask_changed %#x -> %#x (last %#x)\n",
			old_mask, new_mask, t ? t->last_new : 0);
		atomic_fetch_add(&sb_violations, 1);
	}
	if (t) {
		t->last_new = new_mask;
		t->last_excl = excl;
		t->calls++;
	}
}

static const struct uinotify_sb_ops stress_sb_ops = {
	.mask_changed = stress_mask_changed,
	.release_inode = NULL,
};

struct stress {
	struct uinotify_sb *sb;
	struct uinotify_inode *dirs[NDIRS], *files[NFILES];
	struct uinotify_inode *all[NDIRS + NFILES];
	struct tracker trackers[NDIRS + NFILES];
	struct rec *own[NWORKERS], *shared;
	pthread_mutex_t shared_add_lock; /* never taken by a handler */
	atomic_int workers_left;
	struct gate start;
	long fired;
};

struct worker {
	struct stress *st;
	int id;
	unsigned seed;
	long adds, updates, removes, enospc;
};

static const uint32_t masks[] = {
	IN_MODIFY,
	IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE,
	IN_ALL_EVENTS,
	IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO,
	IN_MOVE_SELF | IN_ATTRIB,
	IN_ISDIR, /* flag only */
	IN_MODIFY | IN_ONESHOT,
	IN_ALL_EVENTS | IN_EXCL_UNLINK,
	IN_ACCESS | IN_MASK_ADD,
	IN_DELETE_SELF | IN_ONESHOT,
};
#define NMASKS (sizeof masks / sizeof masks[0])

/* Mark that the API reported this watch's removal: one IGNORED is due. */
static void mark_removed(struct uinotify_watch *w)
{
	struct tw *t = TW_OF(w);
	pthread_mutex_lock(&t->rec->lock);
	/* Two removers may both be told 0, as with Linux's rm_watch. */
	t->removal_reported = true;
	pthread_mutex_unlock(&t->rec->lock);
}

static void *worker_thread(void *arg)
{
	struct worker *wk = arg;
	struct stress *st = wk->st;
	gate_wait(&st->start, 1);
	for (int i = 0; i < WORKER_OPS; i++) {
		unsigned x = (unsigned)rand_r(&wk->seed);
		bool use_shared = (x & 3) == 0;
		struct rec *r = use_shared ? st->shared : st->own[wk->id];
		struct uinotify_inode *in =
			st->all[(x >> 2) % (NDIRS + NFILES)];
		uint32_t mask = masks[(x >> 8) % NMASKS];
		struct uinotify_watch *w = NULL;
		int32_t wd;

		switch ((x >> 16) % 6) {
		case 0:
		case 1:
		case 2: /* add or update, as inotify_add_watch does */
			if (use_shared)
				pthread_mutex_lock(&st->shared_add_lock);
			wd = uinotify_watch_find_update(r->h, in, mask);
			if (wd == -ENOENT) {
				struct tw *t;
				wd = tw_try_add(r, in, mask, &t);
				if (wd == -ENOSPC)
					wk->enospc++;
				else
					CHECK(wd > 0);
				wk->adds++;
			} else {
				CHECK(wd > 0);
				wk->updates++;
			}
			if (use_shared)
				pthread_mutex_unlock(&st->shared_add_lock);
			break;
		case 3: /* rm by pointer */
			wd = uinotify_watch_find(r->h, in, &w);
			if (wd < 0) {
				CHECK_EQ(wd, -ENOENT);
				break;
			}
			if (uinotify_watch_rm(r->h, w) == 0) {
				mark_removed(w);
				wk->removes++;
			}
			uinotify_watch_put(w);
			break;
		case 4: /* rm by wd; it may race another remover */
			wd = uinotify_watch_find(r->h, in, &w);
			if (wd < 0)
				break;
			int rc = uinotify_watch_rm_wd(r->h, wd);
			CHECK(rc == 0 || rc == -EINVAL);
			if (rc == 0) {
				mark_removed(w);
				wk->removes++;
			}
			uinotify_watch_put(w);
			break;
		default: /* reference churn */
			wd = uinotify_watch_find(r->h, in, &w);
			if (wd > 0) {
				uinotify_watch_get(w);
				CHECK(uinotify_watch_inode(w) == in);
				uinotify_watch_put(w);
				uinotify_watch_put(w);
			}
			break;
		}
	}
	atomic_fetch_sub(&st->workers_left, 1);
	return NULL;
}

static const uint32_t path_events[] = {IN_OPEN, IN_ACCESS, IN_MODIFY,
				       IN_ATTRIB, IN_CLOSE_WRITE,
				       IN_CLOSE_NOWRITE};
static const char *const names[] = {"a", "bb", "ccc", "dddd"};

static void *producer_thread(void *arg)
{
	struct stress *st = arg;
	unsigned seed = 12345;
	gate_wait(&st->start, 1);
	while (atomic_load(&st->workers_left) > 0) {
		unsigned x = (unsigned)rand_r(&seed);
		struct uinotify_inode *d = st->dirs[x % NDIRS];
		struct uinotify_inode *d2 = st->dirs[(x >> 3) % NDIRS];
		int fi = (int)((x >> 6) % NFILES);
		struct uinotify_inode *f = st->files[fi];
		const char *name = names[(x >> 10) % 4];
		switch ((x >> 13) % 8) {
		case 0:
		case 1:
			uinotify_hook_parent(d, name, f,
					     path_events[(x >> 17) % 6]);
			break;
		case 2:
			uinotify_hook_parent(NULL, NULL, d, IN_OPEN);
			uinotify_hook_parent(st->dirs[0], "sub", d,
					     IN_CLOSE_NOWRITE);
			break;
		case 3:
			uinotify_hook_dirent(d, name, (x & 1) ? f : NULL,
					     (x & 2) ? IN_CREATE : IN_DELETE,
					     0);
			break;
		case 4:
			uinotify_hook_inode(f, (x & 1) ? IN_ATTRIB
						       : IN_DELETE_SELF,
					    0);
			break;
		case 5:
			uinotify_hook_move(d, name, d2, names[x % 4],
					   (x & 1) ? f : d2);
			break;
		case 6:
			uinotify_hook_unlinked(f, (x >> 20) & 1);
			break;
		default:
			/* Rarely: the ends of watches the workers do not ask
			 * for (they add again afterwards). */
			switch ((x >> 20) % 64) {
			case 0:
			case 1:
				uinotify_hook_overflow(st->sb);
				break;
			case 2:
				uinotify_hook_inode_dead(f);
				break;
			case 3:
				uinotify_hook_unmount_inode(d);
				break;
			case 4:
				uinotify_hook_unmount(st->sb);
				break;
			default:
				uinotify_hook_inode(d, IN_MOVE_SELF, 0);
				break;
			}
			break;
		}
		st->fired++;
	}
	return NULL;
}

static void run_stress(unsigned seed_base)
{
	struct stress *st = calloc(1, sizeof *st);
	CHECK(st != NULL);
	pthread_mutex_init(&st->shared_add_lock, NULL);
	st->start = (struct gate)GATE_INIT;
	CHECK_EQ(uinotify_sb_create(&stress_sb_ops, st, &st->sb), 0);
	for (int i = 0; i < NDIRS + NFILES; i++) {
		struct uinotify_inode *in =
			INODE_NEW(st->sb, (uint64_t)i + 1,
				  i < NDIRS ? S_IFDIR : S_IFREG);
		uinotify_inode_set_data(in, &st->trackers[i]);
		st->all[i] = in;
		if (i < NDIRS)
			st->dirs[i] = in;
		else
			st->files[i - NDIRS] = in;
	}
	for (int i = 0; i < NWORKERS; i++) {
		st->own[i] = rec_new();
		st->own[i]->graveyard = true;
		st->own[i]->keep_events = false;
	}
	st->shared = rec_new();
	st->shared->graveyard = true;
	st->shared->keep_events = false;
	/* Small wd space on one handle: wraps and -ENOSPC under the race. */
	CHECK_EQ(uinotify_handle_set_wd_max(st->own[0]->h, 6), 0);
	atomic_store(&st->workers_left, NWORKERS);

	pthread_t prod, th[NWORKERS];
	struct worker wk[NWORKERS];
	CHECK_EQ(pthread_create(&prod, NULL, producer_thread, st), 0);
	for (int i = 0; i < NWORKERS; i++) {
		wk[i] = (struct worker){.st = st, .id = i,
					.seed = seed_base + (unsigned)i};
		CHECK_EQ(pthread_create(&th[i], NULL, worker_thread, &wk[i]),
			 0);
	}
	gate_set(&st->start, 1);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_join(prod, NULL);

	long adds = 0, removes = 0;
	for (int i = 0; i < NWORKERS; i++) {
		adds += wk[i].adds;
		removes += wk[i].removes;
	}
	CHECK(adds > 100);
	CHECK(removes > 10);
	CHECK(st->fired > 0);

	/* Masks the producer was told match the engine's. */
	for (int i = 0; i < NDIRS + NFILES; i++)
		CHECK_HEX(st->trackers[i].last_new,
			  uinotify_inode_mask(st->all[i]));

	struct rec *recs[NWORKERS + 1];
	for (int i = 0; i < NWORKERS; i++)
		recs[i] = st->own[i];
	recs[NWORKERS] = st->shared;
	long events = 0;
	for (int i = 0; i <= NWORKERS; i++) {
		uinotify_handle_destroy(recs[i]->h);
		recs[i]->h = NULL;
		events += recs[i]->nevents;
	}
	CHECK(events > 0);
	TW_CHECK_NONE_LIVE();
	fprintf(stderr, "adds %ld removes %ld hooks fired %ld events %ld\n",
		adds, removes, st->fired, events);

	/* Every watch was destroyed once and got at most one IGNORED. */
	pthread_mutex_lock(&grave_lock);
	long graves = 0;
	for (struct tw *t = grave_list; t; t = t->grave_next) {
		CHECK(t->destroyed);
		CHECK(t->nignored <= 1);
		if (t->removal_reported)
			CHECK_EQ(t->nignored, 1);
		graves++;
	}
	pthread_mutex_unlock(&grave_lock);
	CHECK(graves > 0);

	for (int i = 0; i < NDIRS + NFILES; i++) {
		CHECK(!uinotify_inode_watched(st->all[i]));
		CHECK_HEX(st->trackers[i].last_new, 0);
		uinotify_inode_put(st->all[i]);
	}
	CHECK_EQ(atomic_load(&sb_violations), 0);
	for (int i = 0; i <= NWORKERS; i++)
		rec_free(recs[i]);
	graveyard_free();
	uinotify_sb_destroy(st->sb);
	pthread_mutex_destroy(&st->shared_add_lock);
	free(st);
}

TEST(add_remove_while_firing)
{
	run_stress(1);
}

TEST(add_remove_while_firing_other_seed)
{
	run_stress(1000);
}
