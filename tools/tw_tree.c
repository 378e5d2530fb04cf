/*
 * tools/tw_tree.c - the watches of one instance and the tree they cover.
 *
 * Watch before listing.  A directory gets its watch first and is listed
 * second, so nothing created in it can fall between the two: what the
 * listing of a directory that appeared after the setup finds is reported as
 * synthetic CREATE events (tw_event.synthetic).  A real CREATE for a name a
 * listing already reported is a duplicate and is dropped: until the name
 * is deleted or moved (DELETE is in the mask under -m -r for this), a real
 * CREATE of it can only be the creation the listing saw.
 *
 * Our own listings.  Opening and reading a watched directory queues
 * OPEN|ISDIR, one ACCESS|ISDIR per getdents64 call and CLOSE_NOWRITE|ISDIR,
 * on the directory's own watch (the "self key": wd, no name) and on its
 * parent's watch (the "parent key": parent wd, name).  Those are not the
 * user's events: after each listing the keys are credited with exactly the
 * events it caused (ACCESS events of a directory without a watched parent
 * merge in the queue: one), and events of those kinds on those keys are
 * dropped while credit remains.  Another process opening the directory at
 * the same moment produces identical lines, so which of the two is dropped
 * does not show.  Credit not used within a few seconds (an event merged
 * away) expires.
 *
 * During the setup there is nothing to suppress: until "Watches
 * established." the watches leave out OPEN, ACCESS and CLOSE_NOWRITE, so the
 * crawl's listings queue nothing, and tw_setup_done() then gives every
 * watch its full mask (about twice as fast as queueing and dropping eight
 * events per directory).
 *
 * Renames.  MOVED_FROM|ISDIR of a watched subdirectory is held until the
 * next record: the MOVED_TO with the same cookie rewrites the paths of the
 * whole moved subtree; anything else means it left the tree, and its
 * watches are removed (after its own MOVE_SELF, which is still reported).
 *
 * Overflow.  IN_Q_OVERFLOW is always passed on.  With --recover the tool
 * then lists every watched directory again and diffs against the names it
 * knew: new names become CREATE, missing ones DELETE, and files whose
 * mtime/ctime is not older than the last moment the queue was seen empty
 * (minus the kernel clock's coarseness) MODIFY/ATTRIB - all synthetic.
 */
#include "tw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SUPPRESS_TTL 5   /* seconds an unused credit lives */
#define DEDUPE_TTL 60    /* seconds a listed name waits for its CREATE */

/* A byte-keyed hash map with chaining. ----------------------------------- */

struct tw_mnode {
	struct tw_mnode *next;
	uint64_t hash;
	void *ptr;
	long val[4];
	time_t born;
	size_t klen;
	char key[];
};

struct tw_map {
	struct tw_mnode **b;
	size_t nb, n;
};

static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;

	while (len--)
		h = (h ^ *p++) * 1099511628211ull;
	return h ^ (h >> 29);
}

static struct tw_map *map_new(void)
{
	struct tw_map *m = calloc(1, sizeof *m);

	if (m && !(m->b = calloc(m->nb = 64, sizeof *m->b))) {
		free(m);
		m = NULL;
	}
	return m;
}

static void map_free(struct tw_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++)
		for (struct tw_mnode *n = m->b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(m->b);
	free(m);
}

static void map_clear(struct tw_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		for (struct tw_mnode *n = m->b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
		m->b[i] = NULL;
	}
	m->n = 0;
}

static struct tw_mnode **map_slot(struct tw_map *m, const void *key,
				  size_t klen, uint64_t h)
{
	struct tw_mnode **pp = &m->b[h & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->klen == klen &&
		    !memcmp((*pp)->key, key, klen))
			break;
	return pp;
}

static struct tw_mnode *map_find(struct tw_map *m, const void *key,
				 size_t klen)
{
	return m && m->n ? *map_slot(m, key, klen, hash_bytes(key, klen)) : NULL;
}

static void map_grow(struct tw_map *m)
{
	size_t nb = m->nb * 2;
	struct tw_mnode **b = calloc(nb, sizeof *b);

	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < m->nb; i++)
		for (struct tw_mnode *n = m->b[i], *next; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* Find or insert (zeroed); NULL only when out of memory. */
static struct tw_mnode *map_put(struct tw_map *m, const void *key, size_t klen)
{
	uint64_t h = hash_bytes(key, klen);
	struct tw_mnode **pp = map_slot(m, key, klen, h), *n;

	if (*pp)
		return *pp;
	if (!(n = calloc(1, sizeof *n + klen + 1)))
		return NULL;
	n->hash = h;
	n->klen = klen;
	memcpy(n->key, key, klen);
	*pp = n;
	if (++m->n > m->nb)
		map_grow(m);
	return n;
}

static void map_del(struct tw_map *m, const void *key, size_t klen)
{
	struct tw_mnode **pp, *n;

	if (!m || !m->n)
		return;
	pp = map_slot(m, key, klen, hash_bytes(key, klen));
	if ((n = *pp)) {
		*pp = n->next;
		free(n);
		m->n--;
	}
}

/* Drop the entries keep() says no to. */
static void map_filter(struct tw_map *m,
		       bool (*keep)(const struct tw_mnode *n, void *arg),
		       void *arg)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++)
		for (struct tw_mnode **pp = &m->b[i], *n; (n = *pp);) {
			if (keep(n, arg)) {
				pp = &n->next;
			} else {
				*pp = n->next;
				free(n);
				m->n--;
			}
		}
}

/* (wd, name) keys. */
struct wdkey {
	size_t len;
	char bytes[sizeof(int) + NAME_MAX + 1];
};

static void wdkey_make(struct wdkey *k, int wd, const char *name)
{
	size_t nl = strlen(name);

	if (nl > NAME_MAX)
		nl = NAME_MAX;
	memcpy(k->bytes, &wd, sizeof wd);
	memcpy(k->bytes + sizeof wd, name, nl);
	k->len = sizeof wd + nl;
}

static int wdkey_wd(const struct tw_mnode *n)
{
	int wd;

	memcpy(&wd, n->key, sizeof wd);
	return wd;
}

/* Watches ------------------------------------------------------------------ */

static const uint32_t dir_ops = IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE;

static struct tw_watch *watch_by_wd_any(struct tw_ctx *ctx, int wd)
{
	return wd > 0 && (size_t)wd < ctx->by_wd_cap ? ctx->by_wd[wd] : NULL;
}

/* The mask to add a watch with now. */
static uint32_t current_mask(const struct tw_ctx *ctx)
{
	return ctx->in_setup ? ctx->mask & ~dir_ops : ctx->mask;
}

static uint32_t watch_flags(const struct tw_watch *w)
{
	return w->root ? 0 : IN_ONLYDIR | IN_DONT_FOLLOW;
}

/* Give a watch added during the setup its full mask, by its path. */
static void upgrade(struct tw_ctx *ctx, struct tw_watch *w)
{
	int wd = tw_add_watch(ctx->fd, w->path, ctx->mask | watch_flags(w));

	if (wd == w->wd) {
		w->reduced = false;
	} else if (wd >= 0 && !watch_by_wd_any(ctx, wd)) {
		/* Something else is at that path now: not ours to watch. */
		tw_rm_watch(ctx->fd, wd);
	}
}

int tw_ctx_init(struct tw_ctx *ctx)
{
	ctx->by_path = map_new();
	ctx->suppress = map_new();
	ctx->dedupe = map_new();
	ctx->names = ctx->recover ? map_new() : NULL;
	ctx->buf_cap = 256 * 1024;
	ctx->buf = malloc(ctx->buf_cap);
	ctx->setup_error = 0;
	clock_gettime(CLOCK_REALTIME, &ctx->quiet);
	ctx->quiet_known = true;
	if (!ctx->by_path || !ctx->suppress || !ctx->dedupe || !ctx->buf ||
	    (ctx->recover && !ctx->names))
		return -ENOMEM;
	return 0;
}

static void watch_free(struct tw_watch *w)
{
	free(w->path);
	free(w);
}

void tw_ctx_free(struct tw_ctx *ctx)
{
	for (size_t i = 0; i < ctx->by_wd_cap; i++)
		if (ctx->by_wd[i])
			watch_free(ctx->by_wd[i]);
	free(ctx->by_wd);
	map_free(ctx->by_path);
	map_free(ctx->suppress);
	map_free(ctx->dedupe);
	map_free(ctx->names);
	free(ctx->buf);
	ctx->by_wd = NULL;
	ctx->by_wd_cap = 0;
	ctx->by_path = ctx->suppress = ctx->dedupe = ctx->names = NULL;
	ctx->buf = NULL;
}

static struct tw_watch *watch_by_wd(struct tw_ctx *ctx, int wd)
{
	return wd > 0 && (size_t)wd < ctx->by_wd_cap ? ctx->by_wd[wd] : NULL;
}

static struct tw_watch *watch_by_path(struct tw_ctx *ctx, const char *path)
{
	struct tw_mnode *n = map_find(ctx->by_path, path, strlen(path));

	return n ? n->ptr : NULL;
}

static struct tw_watch *watch_register(struct tw_ctx *ctx, int wd,
				       const char *path, bool is_dir,
				       bool in_tree)
{
	struct tw_watch *w = watch_by_wd(ctx, wd);
	struct tw_mnode *n;

	if (w)
		return w; /* the same inode by another path keeps its first */
	if ((size_t)wd >= ctx->by_wd_cap) {
		size_t cap = ctx->by_wd_cap ? ctx->by_wd_cap : 256;
		struct tw_watch **grown;

		while (cap <= (size_t)wd)
			cap *= 2;
		if (!(grown = realloc(ctx->by_wd, cap * sizeof *grown)))
			return NULL;
		memset(grown + ctx->by_wd_cap, 0,
		       (cap - ctx->by_wd_cap) * sizeof *grown);
		ctx->by_wd = grown;
		ctx->by_wd_cap = cap;
	}
	if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path))) {
		free(w);
		return NULL;
	}
	w->wd = wd;
	w->path_len = strlen(path);
	w->is_dir = is_dir;
	w->in_tree = in_tree;
	w->seq = ctx->seq++;
	ctx->by_wd[wd] = w;
	ctx->nwatches++;
	if ((n = map_put(ctx->by_path, w->path, w->path_len)))
		n->ptr = w; /* a newer watch at a path takes the path over */
	return w;
}

/* IN_IGNORED arrived (or will not, after an overflow): the watch is over. */
static void watch_forget(struct tw_ctx *ctx, struct tw_watch *w)
{
	struct tw_mnode *n = map_find(ctx->by_path, w->path, w->path_len);

	if (n && n->ptr == w)
		map_del(ctx->by_path, w->path, w->path_len);
	if (ctx->move_from == w)
		ctx->move_from = NULL;
	if (!w->gone)
		ctx->nwatches--;
	if (ctx->keep_dead && !w->gone) {
		w->gone = w->dead = true;
		return;
	}
	ctx->by_wd[w->wd] = NULL;
	watch_free(w);
}

void tw_foreach_watch(struct tw_ctx *ctx,
		      void (*fn)(struct tw_watch *w, void *arg), void *arg)
{
	/* wds grow with creation order, so wd order is creation order. */
	for (size_t i = 0; i < ctx->by_wd_cap; i++) {
		struct tw_watch *w = ctx->by_wd[i];

		if (w && (!w->gone || w->dead))
			fn(w, arg);
	}
}

/* The record stream -------------------------------------------------------- */

/* Read whatever is queued, appending to the unprocessed records. */
static int drain(struct tw_ctx *ctx)
{
	for (;;) {
		long n;

		if (ctx->buf_pos && ctx->buf_pos == ctx->buf_len)
			ctx->buf_pos = ctx->buf_len = 0;
		if (ctx->buf_cap - ctx->buf_len < 64 * 1024) {
			if (ctx->buf_pos) {
				memmove(ctx->buf, ctx->buf + ctx->buf_pos,
					ctx->buf_len - ctx->buf_pos);
				ctx->buf_len -= ctx->buf_pos;
				ctx->buf_pos = 0;
			}
			if (ctx->buf_cap - ctx->buf_len < 64 * 1024) {
				unsigned char *grown =
					realloc(ctx->buf, ctx->buf_cap * 2);

				if (!grown)
					return -ENOMEM;
				ctx->buf = grown;
				ctx->buf_cap *= 2;
			}
		}
		clock_gettime(CLOCK_REALTIME, &ctx->now);
		n = tw_read(ctx->fd, ctx->buf + ctx->buf_len,
			    ctx->buf_cap - ctx->buf_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ctx->quiet = ctx->now;
				ctx->quiet_known = true;
				return 0;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		ctx->buf_len += (size_t)n;
	}
}

/* Watch-limit fallback -------------------------------------------------------- */

/* why: NULL when the scanner took over, else why it could not. */
static void report_enospc(struct tw_ctx *ctx, const char *path,
			  const char *why)
{
	if (!ctx->enospc_reported) {
		ctx->enospc_reported = true;
		tw_error("Failed to watch %s; upper limit on inotify watches "
			 "reached!\n",
			 ctx->setup_root ? ctx->setup_root : path);
		tw_error("Please increase the amount of inotify watches allowed "
			 "per user via `/proc/sys/fs/inotify/max_user_watches'.\n");
	}
	if (!why)
		tw_error("%s: watching %s by scanning instead\n", tw_prog, path);
	else
		tw_error("%s: %s is not watched: %s; continuing with the watches "
			 "established\n", tw_prog, path, why);
}

/* add_watch; on ENOSPC, try the scan source for this one directory. */
static int add_watch_fallback(struct tw_ctx *ctx, const char *path,
			      uint32_t mask)
{
	int wd = tw_add_watch(ctx->fd, path, mask);
	int err = errno;
	char why[160];

	if (wd >= 0 || err != ENOSPC)
		return wd >= 0 ? wd : -err;
	if (ctx->source == UINOTIFY_SOURCE_SCAN) {
		report_enospc(ctx, path, "the scan source is out of watches too");
		return -ENOSPC;
	}
	if (tw_set_source(ctx->fd, UINOTIFY_SOURCE_SCAN) != 0) {
		report_enospc(ctx, path, "falling back to scanning needs the "
					 "scan source, which is not available");
		return -ENOSPC;
	}
	wd = tw_add_watch(ctx->fd, path, mask);
	err = errno;
	tw_set_source(ctx->fd, ctx->source >= 0
				       ? (enum uinotify_source)ctx->source
				       : tw_default_source());
	if (wd >= 0) {
		report_enospc(ctx, path, NULL);
		return wd;
	}
	snprintf(why, sizeof why, "scanning it failed too (%s%s)",
		 strerror(err),
		 err == ENOSPC ? ": see UINOTIFY_MAX_USER_WATCHES" : "");
	report_enospc(ctx, path, why);
	return -ENOSPC;
}

static void rename_subtree(struct tw_ctx *ctx, struct tw_watch *top,
			   const char *newpath);

/* Listing -------------------------------------------------------------------- */

struct pathbuf {
	char s[PATH_MAX + NAME_MAX + 2];
	size_t len;
};

static bool pathbuf_set(struct pathbuf *pb, const char *a, const char *b,
			bool slash)
{
	size_t al = strlen(a), bl = strlen(b);

	if (al + bl + 2 > sizeof pb->s)
		return false;
	memcpy(pb->s, a, al);
	memcpy(pb->s + al, b, bl);
	pb->len = al + bl;
	if (slash)
		pb->s[pb->len++] = '/';
	pb->s[pb->len] = 0;
	return true;
}

static bool pathbuf_push(struct pathbuf *pb, const char *name, bool slash)
{
	size_t nl = strlen(name);

	if (pb->len + nl + 2 > sizeof pb->s)
		return false;
	memcpy(pb->s + pb->len, name, nl);
	pb->len += nl;
	if (slash)
		pb->s[pb->len++] = '/';
	pb->s[pb->len] = 0;
	return true;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The last component of a watch's path, for name globs. */
static const char *base_name(const struct tw_watch *w, char *out)
{
	size_t end = w->path_len, start;

	if (end > 1 && w->path[end - 1] == '/')
		end--;
	start = end;
	while (start && w->path[start - 1] != '/')
		start--;
	if (end - start > NAME_MAX)
		end = start + NAME_MAX;
	memcpy(out, w->path + start, end - start);
	out[end - start] = 0;
	return out;
}

static void emit_synthetic(struct tw_ctx *ctx, struct tw_watch *w,
			   uint32_t mask, const char *name)
{
	struct tw_event ev = {
		.w = w, .wd = w->wd, .mask = mask, .cookie = 0,
		.name = name, .synthetic = true, .when = &ctx->now,
	};
	struct pathbuf pb;
	char base[NAME_MAX + 1];

	if (!pathbuf_set(&pb, w->path, name, false))
		return;
	ev.filtered = tw_filter_check(ctx->filter, pb.s,
				      *name ? name : base_name(w, base));
	ctx->emit(ctx, &ev);
}

/* Credit a key with the events one listing caused on it. */
static void credit(struct tw_ctx *ctx, int wd, const char *name, long opens,
		   long accesses, long closes)
{
	struct wdkey k;
	struct tw_mnode *n;

	if (ctx->in_setup)
		return; /* the setup mask leaves these events out */
	if (!(ctx->mask & IN_OPEN))
		opens = 0;
	if (!(ctx->mask & IN_ACCESS))
		accesses = 0;
	if (!(ctx->mask & IN_CLOSE_NOWRITE))
		closes = 0;
	if (!opens && !accesses && !closes)
		return;
	wdkey_make(&k, wd, name);
	if (!(n = map_put(ctx->suppress, k.bytes, k.len)))
		return;
	n->val[0] += opens;
	n->val[1] += accesses;
	n->val[2] += closes;
	n->born = ctx->now.tv_sec;
}

static void remember_name(struct tw_ctx *ctx, struct tw_map *m, int wd,
			  const char *name, long val)
{
	struct wdkey k;
	struct tw_mnode *n;

	if (!m)
		return;
	wdkey_make(&k, wd, name);
	if ((n = map_put(m, k.bytes, k.len))) {
		n->val[0] = val;
		n->val[1] = (long)ctx->generation;
		n->born = ctx->now.tv_sec;
	}
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *l, const char *name)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;
		char **grown = realloc(l->v, c * sizeof *grown);

		if (!grown)
			return;
		l->v = grown;
		l->cap = c;
	}
	if ((l->v[l->n] = strdup(name)))
		l->n++;
}

/*
 * List the open directory dfd of watch w: report its entries (synthetic),
 * remember them (--recover), collect its subdirectories.  Returns the
 * number of getdents64 calls.
 */
static int list_dir(struct tw_ctx *ctx, struct tw_watch *w, int dfd,
		    bool synthetic, struct names *subdirs)
{
	static unsigned char dents[64 * 1024];
	int calls = 0;
	long n;

	while (++calls, (n = syscall(SYS_getdents64, dfd, dents, sizeof dents)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(dents + off);
			const char *ent = d->d_name;
			unsigned char type = d->d_type;

			off += d->d_reclen;
			if (ent[0] == '.' && (!ent[1] || (ent[1] == '.' && !ent[2])))
				continue;
			if (type == DT_UNKNOWN) {
				struct stat st;

				if (fstatat(dfd, ent, &st, AT_SYMLINK_NOFOLLOW))
					continue;
				type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
			}
			if (synthetic) {
				emit_synthetic(ctx, w,
					       IN_CREATE |
						       (type == DT_DIR ? IN_ISDIR : 0),
					       ent);
				remember_name(ctx, ctx->dedupe, w->wd, ent, 1);
			}
			remember_name(ctx, ctx->names, w->wd, ent, type);
			if (type == DT_DIR && subdirs)
				names_add(subdirs, ent);
		}
	}
	return calls;
}

/*
 * Watch the directory at pb (ending in '/'), list it, and do the same for
 * its subdirectories.  synthetic: report what the listings find.
 * parent_fd/name: where to open it from (-1: by path).
 */
static void crawl(struct tw_ctx *ctx, struct pathbuf *pb,
		  struct tw_watch *parent, const char *name, int parent_fd,
		  bool synthetic, int depth)
{
	uint32_t mask = current_mask(ctx) | IN_ONLYDIR | IN_DONT_FOLLOW;
	struct names subdirs = { 0 };
	struct tw_watch *w;
	int wd, dfd, calls;

	wd = add_watch_fallback(ctx, pb->s, mask);
	if (wd < 0) {
		if (wd != -ENOENT && wd != -EACCES && wd != -ELOOP &&
		    wd != -ENOTDIR && wd != -ENOSPC) {
			if (ctx->in_setup && !ctx->setup_error)
				ctx->setup_error = -wd;
			else if (!ctx->in_setup)
				tw_error("Couldn't watch new directory %s: %s\n",
					 pb->s, strerror(-wd));
		}
		return;
	}
	if ((w = watch_by_wd(ctx, wd)) && !w->gone) {
		/* Already ours, listed when it was watched; if it comes back
		 * under another name (a rename we could not pair), follow. */
		if (!ctx->in_setup && w->in_tree && strcmp(w->path, pb->s))
			rename_subtree(ctx, w, pb->s);
		return;
	}
	if (!(w = watch_register(ctx, wd, pb->s, true, true)))
		return;
	w->post = ctx->post_seq++; /* raised again once its children are in */
	w->reduced = mask != (ctx->mask | IN_ONLYDIR | IN_DONT_FOLLOW);

	dfd = parent_fd >= 0 && depth < 256
		      ? openat(parent_fd, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : open(pb->s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	calls = list_dir(ctx, w, dfd, synthetic, &subdirs);
	/* The parent's events alternate with ours, so none merge. */
	credit(ctx, wd, "", 1, parent ? calls : 1, 1);
	if (parent)
		credit(ctx, parent->wd, name, 1, calls, 1);
	if (ctx->in_setup && ctx->seq % 64 == 0)
		drain(ctx); /* keep the queue from overflowing during setup */

	for (size_t i = 0; i < subdirs.n; i++) {
		size_t len = pb->len;

		if (pathbuf_push(pb, subdirs.v[i], true) &&
		    !tw_filter_prune(ctx->filter, pb->s))
			crawl(ctx, pb, w, subdirs.v[i], dfd, synthetic, depth + 1);
		pb->len = len;
		pb->s[len] = 0;
		free(subdirs.v[i]);
	}
	free(subdirs.v);
	close(dfd);
	w->post = ctx->post_seq++;
}

int tw_watch_path(struct tw_ctx *ctx, const char *path)
{
	struct names subdirs = { 0 };
	struct tw_watch *root;
	struct pathbuf pb;
	struct stat st;
	size_t len = strlen(path);
	int dfd = -1, wd;
	bool is_dir;

	ctx->in_setup = true;
	ctx->setup_root = path;
	ctx->setup_error = 0;
	clock_gettime(CLOCK_REALTIME, &ctx->now);
	if (ctx->recursive) {
		/* opendir() semantics: follows a symlink to a directory. */
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 && errno != ENOTDIR)
			return -errno;
	}
	wd = tw_add_watch(ctx->fd, path, current_mask(ctx));
	if (wd < 0 && errno == ENOSPC)
		wd = add_watch_fallback(ctx, path, current_mask(ctx));
	else if (wd < 0)
		wd = -errno;
	if (wd < 0) {
		if (dfd >= 0)
			close(dfd);
		return wd;
	}
	/* inotifywait ends a directory's %w with '/': by lstat without -r,
	 * by whether opendir worked with -r. */
	is_dir = ctx->recursive ? dfd >= 0
				: (!lstat(path, &st) && S_ISDIR(st.st_mode));
	if (!pathbuf_set(&pb, path, "", is_dir && (!len || path[len - 1] != '/'))) {
		if (dfd >= 0)
			close(dfd);
		return -ENAMETOOLONG;
	}
	if (watch_by_wd(ctx, wd)) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	root = watch_register(ctx, wd, pb.s, is_dir, ctx->recursive && is_dir);
	if (!root) {
		if (dfd >= 0)
			close(dfd);
		return -ENOMEM;
	}
	root->root = true;
	root->reduced = current_mask(ctx) != ctx->mask;
	root->post = ctx->post_seq++;
	if (dfd < 0) {
		if (ctx->names && is_dir && (dfd = open(path, O_RDONLY |
							O_DIRECTORY |
							O_CLOEXEC)) >= 0) {
			list_dir(ctx, root, dfd, false, NULL);
			credit(ctx, wd, "", 1, 1, 1);
			close(dfd);
		}
		return 0;
	}

	/* Opened before its watch: no OPEN; its ACCESS events merge. */
	list_dir(ctx, root, dfd, false, &subdirs);
	credit(ctx, wd, "", 0, 1, 1);
	for (size_t i = 0; i < subdirs.n; i++) {
		size_t l = pb.len;

		if (pathbuf_push(&pb, subdirs.v[i], true) &&
		    !tw_filter_prune(ctx->filter, pb.s))
			crawl(ctx, &pb, root, subdirs.v[i], dfd, false, 1);
		pb.len = l;
		pb.s[l] = 0;
		free(subdirs.v[i]);
	}
	free(subdirs.v);
	close(dfd);
	root->post = ctx->post_seq++;
	drain(ctx);
	return ctx->setup_error ? -ctx->setup_error : 0;
}

int tw_setup_done(struct tw_ctx *ctx)
{
	ctx->in_setup = false;
	ctx->setup_root = NULL;
	for (size_t i = 0; i < ctx->by_wd_cap; i++) {
		struct tw_watch *w = ctx->by_wd[i];

		if (w && !w->gone && w->reduced)
			upgrade(ctx, w);
	}
	return drain(ctx);
}

/* Record processing ------------------------------------------------------------ */

static void remove_subtree(struct tw_ctx *ctx, struct tw_watch *top)
{
	char *prefix = strdup(top->path);
	size_t plen = top->path_len;

	if (!prefix)
		return;
	for (size_t i = 0; i < ctx->by_wd_cap; i++) {
		struct tw_watch *w = ctx->by_wd[i];

		if (!w || w->gone || w->path_len < plen ||
		    memcmp(w->path, prefix, plen))
			continue;
		w->gone = true;
		ctx->nwatches--;
		tw_rm_watch(ctx->fd, w->wd);
	}
	free(prefix);
}

static void rename_subtree(struct tw_ctx *ctx, struct tw_watch *top,
			   const char *newpath)
{
	char *old = strdup(top->path);
	size_t olen = top->path_len, nlen = strlen(newpath);

	if (!old)
		return;
	for (size_t i = 0; i < ctx->by_wd_cap; i++) {
		struct tw_watch *w = ctx->by_wd[i];
		struct tw_mnode *n;
		char *p;

		if (!w || w->gone || w->path_len < olen ||
		    memcmp(w->path, old, olen))
			continue;
		if (!(p = malloc(nlen + w->path_len - olen + 1)))
			continue;
		memcpy(p, newpath, nlen);
		memcpy(p + nlen, w->path + olen, w->path_len - olen + 1);
		if ((n = map_find(ctx->by_path, w->path, w->path_len)) &&
		    n->ptr == w)
			map_del(ctx->by_path, w->path, w->path_len);
		free(w->path);
		w->path = p;
		w->path_len = strlen(p);
		if ((n = map_put(ctx->by_path, w->path, w->path_len)))
			n->ptr = w;
		if (w->reduced && !ctx->in_setup)
			upgrade(ctx, w); /* renamed during the setup */
	}
	free(old);
}

/* One of our own listing's OPEN/ACCESS/CLOSE_NOWRITE|ISDIR?  Uses credit. */
static bool is_own_listing_event(struct tw_ctx *ctx, int wd, uint32_t mask,
				 const char *name)
{
	uint32_t kind = mask & ~IN_ISDIR;
	struct wdkey k;
	struct tw_mnode *n;
	int i;

	if (!(mask & IN_ISDIR) || !ctx->suppress->n)
		return false;
	if (kind == IN_OPEN)
		i = 0;
	else if (kind == IN_ACCESS)
		i = 1;
	else if (kind == IN_CLOSE_NOWRITE)
		i = 2;
	else
		return false;
	wdkey_make(&k, wd, name);
	if (!(n = map_find(ctx->suppress, k.bytes, k.len)) || n->val[i] <= 0)
		return false;
	n->val[i]--;
	if (!n->val[0] && !n->val[1] && !n->val[2])
		map_del(ctx->suppress, k.bytes, k.len);
	return true;
}

static bool young_enough(const struct tw_mnode *n, void *arg)
{
	return n->born >= *(time_t *)arg;
}

static void collect_garbage(struct tw_ctx *ctx)
{
	time_t limit;

	if (ctx->now.tv_sec - ctx->last_gc < SUPPRESS_TTL)
		return;
	ctx->last_gc = ctx->now.tv_sec;
	limit = ctx->now.tv_sec - SUPPRESS_TTL;
	map_filter(ctx->suppress, young_enough, &limit);
	limit = ctx->now.tv_sec - DEDUPE_TTL;
	map_filter(ctx->dedupe, young_enough, &limit);
}

static void recover(struct tw_ctx *ctx);

static void process_record(struct tw_ctx *ctx, const struct inotify_event *e)
{
	const char *name = e->len ? e->name : "";
	struct tw_watch *w = watch_by_wd(ctx, e->wd);
	struct tw_event ev = {
		.w = w, .wd = e->wd, .mask = e->mask, .cookie = e->cookie,
		.name = name, .synthetic = false, .when = &ctx->now,
	};
	char base[NAME_MAX + 1];
	struct pathbuf pb;

	if (e->mask & IN_Q_OVERFLOW) {
		/* What we were waiting for may have been lost with it. */
		ev.w = NULL;
		map_clear(ctx->suppress);
		map_clear(ctx->dedupe);
		ctx->emit(ctx, &ev);
		if (ctx->recover && !ctx->stop)
			recover(ctx);
		return;
	}
	if (!w)
		return; /* a watch we no longer know */
	if (w->gone) {
		if ((e->mask & IN_IGNORED) && !w->dead)
			watch_forget(ctx, w);
		return;
	}

	if (is_own_listing_event(ctx, w->wd, e->mask, name))
		return;

	/* A held MOVED_FROM|ISDIR not followed by its MOVED_TO: it left. */
	if (ctx->move_from &&
	    !((e->mask & IN_MOVED_TO) && e->cookie == ctx->move_cookie)) {
		struct tw_watch *moved = ctx->move_from;

		ctx->move_from = NULL;
		if (w == moved && (e->mask & IN_MOVE_SELF)) {
			ctx->emit(ctx, &ev);
			remove_subtree(ctx, moved);
			return;
		}
		remove_subtree(ctx, moved);
		if (w->gone)
			return;
	}

	if (*name && (e->mask & (IN_CREATE | IN_DELETE | IN_MOVE))) {
		struct wdkey k;

		wdkey_make(&k, w->wd, name);
		if (map_find(ctx->dedupe, k.bytes, k.len)) {
			map_del(ctx->dedupe, k.bytes, k.len);
			if (e->mask & IN_CREATE)
				return; /* already reported by our listing */
		}
		if (ctx->names) {
			if (e->mask & (IN_CREATE | IN_MOVED_TO))
				remember_name(ctx, ctx->names, w->wd, name,
					      e->mask & IN_ISDIR ? DT_DIR
								 : DT_REG);
			else
				map_del(ctx->names, k.bytes, k.len);
		}
	}

	if (!pathbuf_set(&pb, w->path, name, false))
		return;
	ev.filtered = tw_filter_check(ctx->filter, pb.s,
				      *name ? name : base_name(w, base));
	ctx->emit(ctx, &ev);
	/* Excluded: no further trace, so no watch for an excluded new
	 * directory.  Not included: still followed, only not reported. */
	if (ev.filtered == TW_EXCLUDED) {
		if (e->mask & IN_IGNORED)
			watch_forget(ctx, w);
		return;
	}
	if (e->mask & IN_IGNORED) {
		watch_forget(ctx, w);
		return;
	}
	if (!ctx->maintain || !w->in_tree || !(e->mask & IN_ISDIR) || !*name)
		return;
	if (e->mask & IN_MOVED_FROM) {
		struct tw_watch *sub;

		pathbuf_push(&pb, "", true);
		if ((sub = watch_by_path(ctx, pb.s)) && sub != w) {
			ctx->move_from = sub;
			ctx->move_cookie = e->cookie;
		}
		return;
	}
	if ((e->mask & IN_MOVED_TO) && ctx->move_from) {
		struct tw_watch *moved = ctx->move_from;

		ctx->move_from = NULL;
		pathbuf_push(&pb, "", true);
		if (tw_filter_prune(ctx->filter, pb.s))
			remove_subtree(ctx, moved);
		else
			rename_subtree(ctx, moved, pb.s);
		return;
	}
	if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
		if (!pathbuf_push(&pb, "", true) ||
		    tw_filter_prune(ctx->filter, pb.s))
			return;
		crawl(ctx, &pb, w, name, -1, true, 0);
	}
}

int tw_pump(struct tw_ctx *ctx, int timeout_ms)
{
	int processed = 0;

	ctx->stop = false;
	if (ctx->buf_pos == ctx->buf_len) {
		struct pollfd pfd = { .fd = ctx->fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout_ms);
		int err;

		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		if (r == 0)
			return 0;
		if ((err = drain(ctx)) < 0)
			return err;
	}
	collect_garbage(ctx);
	while (ctx->buf_pos < ctx->buf_len && !ctx->stop) {
		const struct inotify_event *e =
			(const void *)(ctx->buf + ctx->buf_pos);
		size_t size = sizeof *e + e->len;
		union {
			struct inotify_event e;
			char bytes[sizeof(struct inotify_event) + NAME_MAX + 17];
		} copy;

		/* Processing may read more records into the buffer and
		 * move it: work on a copy. */
		if (size > sizeof copy)
			size = sizeof copy;
		memcpy(&copy, e, size);
		if (copy.e.len)
			copy.bytes[size - 1] = 0; /* even if cut short */
		ctx->buf_pos += sizeof *e + e->len;
		process_record(ctx, &copy.e);
		processed = 1;
	}
	return processed;
}

/* --recover ------------------------------------------------------------------------- */

struct stale_arg {
	struct tw_ctx *ctx;
	unsigned long generation;
};

static bool not_stale(const struct tw_mnode *n, void *arg)
{
	struct stale_arg *a = arg;
	struct tw_watch *w = watch_by_wd(a->ctx, wdkey_wd(n));
	char name[NAME_MAX + 1];
	size_t nl = n->klen - sizeof(int);

	if (!w || w->gone)
		return false; /* its directory is no longer watched */
	if ((unsigned long)n->val[1] == a->generation ||
	    w->generation != a->generation)
		return true; /* seen again, or its directory was not listed */
	memcpy(name, n->key + sizeof(int), nl);
	name[nl] = 0;
	emit_synthetic(a->ctx, w, IN_DELETE | (n->val[0] == DT_DIR ? IN_ISDIR : 0),
		       name);
	return false;
}

static bool changed_since(const struct statx *stx, const struct timespec *t0,
			  bool mtime)
{
	const struct statx_timestamp *ts = mtime ? &stx->stx_mtime
						 : &stx->stx_ctime;

	return ts->tv_sec > t0->tv_sec ||
	       (ts->tv_sec == t0->tv_sec && ts->tv_nsec >= t0->tv_nsec);
}

/* The watch of the directory above w, if we have one; its name in pb. */
static struct tw_watch *parent_of(struct tw_ctx *ctx, struct tw_watch *w,
				  struct pathbuf *name)
{
	struct pathbuf pb;
	size_t end = w->path_len, start;
	struct tw_watch *p;

	if (end > 1 && w->path[end - 1] == '/')
		end--;
	start = end;
	while (start && w->path[start - 1] != '/')
		start--;
	if (!start || end - start > NAME_MAX || start >= sizeof pb.s)
		return NULL;
	memcpy(pb.s, w->path, start);
	pb.s[start] = 0;
	memcpy(name->s, w->path + start, end - start);
	name->s[end - start] = 0;
	p = watch_by_path(ctx, pb.s);
	return p && !p->gone ? p : NULL;
}

static void recover(struct tw_ctx *ctx)
{
	struct timespec t0 = ctx->quiet;
	struct pathbuf pb;
	struct stale_arg stale = { ctx, 0 };
	size_t cap = ctx->by_wd_cap;

	/* File times come from the kernel's coarse clock: allow a tick. */
	if (t0.tv_nsec >= 20000000) {
		t0.tv_nsec -= 20000000;
	} else {
		t0.tv_sec--;
		t0.tv_nsec += 980000000;
	}
	unsigned long first_new = ctx->seq;

	stale.generation = ++ctx->generation;
	for (size_t i = 0; i < cap && i < ctx->by_wd_cap; i++) {
		struct tw_watch *w = ctx->by_wd[i];
		struct statx stx;

		/* Directories this rescan found were listed (and reported)
		 * when they were watched. */
		if (!w || w->gone || w->seq >= first_new)
			continue;
		if (!w->is_dir) {
			if (statx(AT_FDCWD, w->path, 0,
				  STATX_MTIME | STATX_CTIME, &stx))
				continue;
			if (changed_since(&stx, &t0, true))
				emit_synthetic(ctx, w, IN_MODIFY, "");
			else if (changed_since(&stx, &t0, false))
				emit_synthetic(ctx, w, IN_ATTRIB, "");
			continue;
		}
		int dfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		static unsigned char dents[64 * 1024];
		struct names fresh = { 0 };
		long n;

		int calls = 0;
		struct tw_watch *parent;

		if (dfd < 0)
			continue;
		w->generation = ctx->generation;
		while (++calls,
		       (n = syscall(SYS_getdents64, dfd, dents, sizeof dents)) > 0) {
			for (long off = 0; off < n;) {
				struct linux_dirent64 *d = (void *)(dents + off);

				off += d->d_reclen;
				if (d->d_name[0] == '.' &&
				    (!d->d_name[1] ||
				     (d->d_name[1] == '.' && !d->d_name[2])))
					continue;
				names_add(&fresh, d->d_name);
			}
		}
		parent = parent_of(ctx, w, &pb);
		credit(ctx, w->wd, "", 1, parent ? calls : 1, 1);
		if (parent)
			credit(ctx, parent->wd, pb.s, 1, calls, 1);
		for (size_t j = 0; j < fresh.n; j++) {
			const char *ent = fresh.v[j];
			struct wdkey k;
			struct tw_mnode *known;
			bool is_dir;

			if (statx(dfd, ent, AT_SYMLINK_NOFOLLOW,
				  STATX_TYPE | STATX_MTIME | STATX_CTIME, &stx)) {
				free(fresh.v[j]);
				continue;
			}
			is_dir = S_ISDIR(stx.stx_mode);
			wdkey_make(&k, w->wd, ent);
			known = map_find(ctx->names, k.bytes, k.len);
			if (!known) {
				emit_synthetic(ctx, w,
					       IN_CREATE | (is_dir ? IN_ISDIR : 0),
					       ent);
				remember_name(ctx, ctx->names, w->wd, ent,
					      is_dir ? DT_DIR : DT_REG);
				if (is_dir && w->in_tree && ctx->maintain) {
					struct pathbuf sub;

					if (pathbuf_set(&sub, w->path, ent, true) &&
					    !tw_filter_prune(ctx->filter, sub.s))
						crawl(ctx, &sub, w, ent, -1, true, 0);
				}
			} else {
				known->val[1] = (long)ctx->generation;
				if (!is_dir && changed_since(&stx, &t0, true))
					emit_synthetic(ctx, w, IN_MODIFY, ent);
				else if (changed_since(&stx, &t0, false))
					emit_synthetic(ctx, w,
						       IN_ATTRIB |
							       (is_dir ? IN_ISDIR : 0),
						       ent);
			}
			free(fresh.v[j]);
		}
		free(fresh.v);
		close(dfd);
	}
	map_filter(ctx->names, not_stale, &stale);
}
