/*
 * tests/test_engine.h - a recording consumer and an application-owned
 * superblock for the engine tests (tests/test_engine_*.c).
 *
 * Each handle gets a struct rec as its user pointer.  Its handler appends
 * every call to an array under the rec's own mutex and checks the contract
 * as it goes: an event for a watch that already had IN_IGNORED, or one
 * whose wd is not the watch's, is counted as a violation (tests assert
 * rec->violations == 0).  On IN_IGNORED the handler makes the final put.
 * destroy_watch marks the embedding struct tw destroyed and frees it, or,
 * in graveyard mode (stress tests), keeps it so that a late event is
 * detected instead of being a use-after-free.
 */
#ifndef UIN_TEST_ENGINE_H
#define UIN_TEST_ENGINE_H

#include "runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>

#define TW_OF(watch_) ((struct tw *)((char *)(watch_) - offsetof(struct tw, w)))

struct ev {
	struct tw *tw;
	int32_t wd;
	uint32_t mask;
	uint32_t cookie;
	bool has_name;
	char name[64];
	struct uinotify_inode *name_inode;
	long seq; /* process-wide order of handler calls */
};

struct rec {
	pthread_mutex_t lock;
	struct uinotify_handle *h;
	struct ev *ev;
	size_t n, cap;
	long violations;
	long destroyed;
	bool graveyard;
	bool keep_events; /* false: count only (stress) */
	long nevents;
	atomic_int overflows;
};

struct tw {
	struct uinotify_watch w;
	struct rec *rec;
	bool remove_in_handler; /* remove_locked on its first event */
	bool removal_reported;  /* an API call said it removed this watch */
	bool defer_put;         /* the test makes the final put itself */
	bool ignored;
	bool destroyed;
	int nevents;
	int nignored;
	struct tw *grave_next;
};

static atomic_long tw_live;   /* allocated and neither destroyed nor freed */
static atomic_long ev_seq;
static pthread_mutex_t grave_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tw *grave_list;

static inline const char *mask_str(uint32_t m)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{IN_ACCESS, "ACCESS"},       {IN_MODIFY, "MODIFY"},
		{IN_ATTRIB, "ATTRIB"},       {IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
		{IN_OPEN, "OPEN"},           {IN_MOVED_FROM, "MOVED_FROM"},
		{IN_MOVED_TO, "MOVED_TO"},   {IN_CREATE, "CREATE"},
		{IN_DELETE, "DELETE"},       {IN_DELETE_SELF, "DELETE_SELF"},
		{IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"},
		{IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
		{IN_ISDIR, "ISDIR"},         {IN_ONESHOT, "ONESHOT"},
		{IN_EXCL_UNLINK, "EXCL_UNLINK"},
	};
	static __thread char buf[8][160];
	static __thread int next;
	char *b = buf[next++ % 8];
	size_t len = 0;
	b[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (m & names[i].bit) {
			len += (size_t)snprintf(b + len, 160 - len, "%s%s",
						len ? "|" : "", names[i].name);
			m &= ~names[i].bit;
		}
	}
	if (m || !len)
		snprintf(b + len, 160 - len, "%s%#x", len ? "|" : "", m);
	return b;
}

static inline void rec_handle_event(struct uinotify_watch *watch, int32_t wd,
				    uint32_t mask, uint32_t cookie,
				    const char *name,
				    struct uinotify_inode *name_inode)
{
	struct tw *t = TW_OF(watch);
	struct rec *r = t->rec;
	bool remove = false, defer_put;

	pthread_mutex_lock(&r->lock);
	defer_put = t->defer_put;
	if (t->ignored || t->destroyed || wd != uinotify_watch_wd(watch)) {
		r->violations++;
		fprintf(stderr, "VIOLATION: wd %d %s after%s%s (watch wd %d)\n",
			wd, mask_str(mask), t->ignored ? " IGNORED" : "",
			t->destroyed ? " destroy" : "",
			uinotify_watch_wd(watch));
	}
	r->nevents++;
	if (r->keep_events) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 64;
			r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
			if (!r->ev)
				abort();
		}
		struct ev *e = &r->ev[r->n++];
		memset(e, 0, sizeof *e);
		e->tw = t;
		e->wd = wd;
		e->mask = mask;
		e->cookie = cookie;
		e->has_name = name != NULL;
		if (name)
			snprintf(e->name, sizeof e->name, "%s", name);
		e->name_inode = name_inode;
		e->seq = atomic_fetch_add(&ev_seq, 1);
	}
	t->nevents++;
	if (mask & IN_IGNORED) {
		t->ignored = true;
		t->nignored++;
	} else if (t->remove_in_handler) {
		t->remove_in_handler = false;
		remove = true;
	}
	pthread_mutex_unlock(&r->lock);

	if (remove)
		uinotify_watch_remove_locked(uinotify_watch_handle(watch),
					     watch);
	if ((mask & IN_IGNORED) && !defer_put)
		uinotify_watch_put(watch); /* the final put: ours after IGNORED */
}

static inline void rec_destroy_watch(struct uinotify_watch *watch)
{
	struct tw *t = TW_OF(watch);
	struct rec *r = t->rec;
	bool keep;

	pthread_mutex_lock(&r->lock);
	if (t->destroyed) {
		r->violations++;
		fprintf(stderr, "VIOLATION: destroy_watch twice (wd %d)\n",
			uinotify_watch_wd(watch));
	}
	t->destroyed = true;
	r->destroyed++;
	keep = r->graveyard;
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_sub(&tw_live, 1);
	if (keep) {
		pthread_mutex_lock(&grave_lock);
		t->grave_next = grave_list;
		grave_list = t;
		pthread_mutex_unlock(&grave_lock);
	} else {
		free(t);
	}
}

static inline void rec_queue_overflow(struct uinotify_handle *h, void *user)
{
	struct rec *r = user;
	if (uinotify_handle_user(h) != user)
		r->violations++;
	atomic_fetch_add(&r->overflows, 1);
}

static const struct uinotify_ops rec_ops = {
	.handle_event = rec_handle_event,
	.destroy_watch = rec_destroy_watch,
	.queue_overflow = rec_queue_overflow,
};

static inline struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof *r);
	CHECK(r != NULL);
	pthread_mutex_init(&r->lock, NULL);
	r->keep_events = true;
	CHECK_EQ(uinotify_handle_create(&rec_ops, r, &r->h), 0);
	CHECK(r->h != NULL);
	CHECK(uinotify_handle_user(r->h) == r);
	return r;
}

/* Destroy the handle (if not yet) and free the rec. */
static inline void rec_free(struct rec *r)
{
	if (r->h)
		uinotify_handle_destroy(r->h);
	r->h = NULL;
	CHECK_EQ(r->violations, 0);
	pthread_mutex_destroy(&r->lock);
	free(r->ev);
	free(r);
}

static inline void rec_clear(struct rec *r)
{
	pthread_mutex_lock(&r->lock);
	r->n = 0;
	pthread_mutex_unlock(&r->lock);
}

static inline size_t rec_n(struct rec *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static inline void rec_dump(const char *title, struct rec *r)
{
	pthread_mutex_lock(&r->lock);
	fprintf(stderr, "%s: %zu events\n", title, r->n);
	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		fprintf(stderr, "  [%zu] wd %d %s cookie %u name %s%s%s\n", i,
			e->wd, mask_str(e->mask), e->cookie,
			e->has_name ? "\"" : "", e->has_name ? e->name : "-",
			e->has_name ? "\"" : "");
	}
	pthread_mutex_unlock(&r->lock);
}

static inline void expect_n_at(const char *file, int line, struct rec *r,
			       size_t n)
{
	size_t got = rec_n(r);
	if (got != n) {
		rec_dump("recorded", r);
		uin_test_fail(file, line, "want %zu events, got %zu", n, got);
	}
}
#define EXPECT_N(r, n) expect_n_at(__FILE__, __LINE__, (r), (n))

static inline void expect_ev_at(const char *file, int line, struct rec *r,
				size_t i, int32_t wd, uint32_t mask,
				uint32_t cookie, const char *name)
{
	pthread_mutex_lock(&r->lock);
	bool ok = i < r->n;
	struct ev e = {0};
	if (ok) {
		e = r->ev[i];
		ok = e.wd == wd && e.mask == mask && e.cookie == cookie &&
		     e.has_name == (name != NULL) &&
		     (!name || !strcmp(e.name, name));
	}
	pthread_mutex_unlock(&r->lock);
	if (!ok) {
		rec_dump("recorded", r);
		uin_test_fail(file, line,
			      "event [%zu]: want wd %d %s cookie %u name %s", i,
			      wd, mask_str(mask), cookie,
			      name ? name : "-");
	}
}
/* Event i of r is {wd, mask, cookie, name} (name NULL: no name). */
#define EXPECT_EV(r, i, wd, mask, cookie, name)                              \
	expect_ev_at(__FILE__, __LINE__, (r), (i), (wd), (mask), (cookie),   \
		     (name))

static inline struct ev rec_ev(struct rec *r, size_t i)
{
	pthread_mutex_lock(&r->lock);
	CHECK(i < r->n);
	struct ev e = r->ev[i];
	pthread_mutex_unlock(&r->lock);
	return e;
}

static inline struct tw *tw_new(struct rec *r)
{
	struct tw *t = calloc(1, sizeof *t);
	CHECK(t != NULL);
	t->rec = r;
	uinotify_watch_init(&t->w);
	atomic_fetch_add(&tw_live, 1);
	return t;
}

/* A watch whose add failed is freed directly (never put). */
static inline void tw_free_unadded(struct tw *t)
{
	atomic_fetch_sub(&tw_live, 1);
	free(t);
}

/* Add a watch of r on inode; the wd or the negative errno (t freed). */
static inline int32_t tw_try_add(struct rec *r, struct uinotify_inode *inode,
				 uint32_t mask, struct tw **out)
{
	struct tw *t = tw_new(r);
	int32_t wd = uinotify_watch_add(r->h, &t->w, inode, mask);
	if (wd < 0) {
		tw_free_unadded(t);
		t = NULL;
	}
	if (out)
		*out = t;
	return wd;
}

static inline struct tw *tw_add_at(const char *file, int line, struct rec *r,
				   struct uinotify_inode *inode, uint32_t mask)
{
	struct tw *t;
	int32_t wd = tw_try_add(r, inode, mask, &t);
	if (wd <= 0)
		uin_test_fail(file, line, "uinotify_watch_add(%s) = %d",
			      mask_str(mask), wd);
	CHECK_EQ(uinotify_watch_wd(&t->w), wd);
	CHECK(uinotify_watch_inode(&t->w) == inode);
	CHECK(uinotify_watch_handle(&t->w) == r->h);
	return t;
}
#define TW_ADD(r, inode, mask) tw_add_at(__FILE__, __LINE__, (r), (inode), (mask))

/* Every tw allocated by the test has been destroyed (or freed). */
static inline void tw_check_none_live_at(const char *file, int line)
{
	long live = atomic_load(&tw_live);
	if (live)
		uin_test_fail(file, line, "%ld watches never destroyed", live);
}
#define TW_CHECK_NONE_LIVE() tw_check_none_live_at(__FILE__, __LINE__)

static inline void graveyard_free(void)
{
	pthread_mutex_lock(&grave_lock);
	while (grave_list) {
		struct tw *t = grave_list;
		grave_list = t->grave_next;
		free(t);
	}
	pthread_mutex_unlock(&grave_lock);
}

/* Superblock ---------------------------------------------------------------- */

struct mask_change {
	struct uinotify_inode *inode;
	uint32_t old_mask, new_mask;
	bool excl_all; /* uinotify_inode_excl_unlink_all at the call */
};

struct sbrec {
	pthread_mutex_t lock;
	struct uinotify_sb *sb;
	struct mask_change ch[256];
	int nch;
	long bad; /* calls that changed nothing (old == new, same EXCL_UNLINK) */
	int released;
	void *released_data[64];
};

static inline void sbrec_mask_changed(void *user, struct uinotify_inode *inode,
				      uint32_t old_mask, uint32_t new_mask)
{
	struct sbrec *s = user;
	bool excl = uinotify_inode_excl_unlink_all(inode);
	pthread_mutex_lock(&s->lock);
	bool prev_excl = false;
	for (int i = s->nch - 1; i >= 0; i--)
		if (s->ch[i].inode == inode) {
			prev_excl = s->ch[i].excl_all;
			break;
		}
	/* old == new is a presence change (0 -> 0) or an EXCL_UNLINK one. */
	if (old_mask == new_mask && old_mask != 0 && excl == prev_excl)
		s->bad++;
	if (s->nch < 256)
		s->ch[s->nch++] =
			(struct mask_change){inode, old_mask, new_mask, excl};
	pthread_mutex_unlock(&s->lock);
}

static inline void sbrec_release_inode(void *user, struct uinotify_inode *inode)
{
	struct sbrec *s = user;
	pthread_mutex_lock(&s->lock);
	if (s->released < 64)
		s->released_data[s->released] = uinotify_inode_data(inode);
	s->released++;
	pthread_mutex_unlock(&s->lock);
}

static const struct uinotify_sb_ops sbrec_ops = {
	.mask_changed = sbrec_mask_changed,
	.release_inode = sbrec_release_inode,
};

static inline struct sbrec *sbrec_new(void)
{
	struct sbrec *s = calloc(1, sizeof *s);
	CHECK(s != NULL);
	pthread_mutex_init(&s->lock, NULL);
	CHECK_EQ(uinotify_sb_create(&sbrec_ops, s, &s->sb), 0);
	CHECK(uinotify_sb_user(s->sb) == s);
	return s;
}

static inline void sbrec_free(struct sbrec *s)
{
	uinotify_sb_destroy(s->sb);
	CHECK_EQ(s->bad, 0);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static inline struct uinotify_key test_key(uint64_t ino, uint32_t type)
{
	struct uinotify_key k = {.dev = 7, .ino = ino, .btime_ns = 0,
				 .type = type, .reserved = 0};
	return k;
}

/* A new inode of sb: the caller holds the returned reference. */
static inline struct uinotify_inode *inode_new_at(const char *file, int line,
						  struct uinotify_sb *sb,
						  uint64_t ino, uint32_t type)
{
	struct uinotify_key k = test_key(ino, type);
	struct uinotify_inode *in = NULL;
	int r = uinotify_inode_get(sb, &k, &in);
	if (r != 1 || !in)
		uin_test_fail(file, line, "uinotify_inode_get(ino %llu) = %d",
			      (unsigned long long)ino, r);
	return in;
}
#define INODE_NEW(sb, ino, type) inode_new_at(__FILE__, __LINE__, (sb), (ino), (type))
#define FILE_NEW(sb, ino) INODE_NEW((sb), (ino), S_IFREG)
#define DIR_NEW(sb, ino) INODE_NEW((sb), (ino), S_IFDIR)

/* A start line for threads. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int value;
};
#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static inline void gate_set(struct gate *g, int v)
{
	pthread_mutex_lock(&g->lock);
	g->value = v;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static inline void gate_wait(struct gate *g, int v)
{
	pthread_mutex_lock(&g->lock);
	while (g->value < v)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

#endif
