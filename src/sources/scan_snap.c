/*
 * src/sources/scan_snap.c - the scanner's snapshots: compact directory
 * entries, reading a directory with getdents64, name indexes, the ledger
 * shared with the kernel source, and the rules that turn a change of
 * attributes into the events the kernel would have reported.
 *
 * Only the dispatcher calls these (scan.h, LOCKS); nothing here locks.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "sources/scan_internal.h"

/* Hashes ---------------------------------------------------------------------- */

/* FNV-1a, then a final mix: names are short, this is not the bottleneck. */
uint64_t uin_scan_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3u;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return h | 1; /* 0 marks an empty ledger slot */
}

uint32_t uin_scan_hash32(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15u ^ (b + 0x632be59bd9b4e019u);
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93u;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Attributes -------------------------------------------------------------------- */

static int64_t ts_ns(const struct statx_timestamp *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

void uin_scan_attrs_from_statx(const struct statx *st, struct scan_attrs *a)
{
	a->dev = makedev(st->stx_dev_major, st->stx_dev_minor);
	a->ino = st->stx_ino;
	a->has_btime = st->stx_mask & STATX_BTIME;
	a->btime_ns = a->has_btime ? (uint64_t)ts_ns(&st->stx_btime) : 0;
	a->size = st->stx_size;
	a->atime_ns = ts_ns(&st->stx_atime);
	a->mtime_ns = ts_ns(&st->stx_mtime);
	a->ctime_ns = ts_ns(&st->stx_ctime);
	a->mode = st->stx_mode;
	a->uid = st->stx_uid;
	a->gid = st->stx_gid;
	a->nlink = st->stx_nlink;
}

static uint32_t owner_h(const struct scan_attrs *a)
{
	return uin_scan_hash32(a->uid, (uint64_t)a->gid << 1 | 1);
}

void uin_scan_ent_set(struct scan_ent *e, const struct scan_attrs *a)
{
	e->ino = a->ino;
	e->mtime_ns = a->mtime_ns;
	e->ctime_ns = a->ctime_ns;
	e->size = a->size;
	e->btime_h = uin_scan_btime_h(a);
	e->owner_h = owner_h(a);
	e->mode = (uint16_t)a->mode;
	e->nlink_lo = (uint8_t)a->nlink;
}

/*
 * The kernel names the operation; we see only its result, so:
 *  - size changed, or mtime changed as a write changes it (to the same
 *    instant as ctime, atime left behind): MODIFY;
 *  - mtime set by utimensat (to another instant than ctime: tar, rsync,
 *    touch -d; or, with utimes(NULL)/touch, to "now" together with atime):
 *    ATTRIB, as the kernel reports utimensat of both times;
 *  - mode or owner changed, or ctime alone (chmod to the same mode,
 *    setxattr): ATTRIB; but not when atime moved to ctime's instant,
 *    which is utimensat of atime alone (the kernel says ACCESS, which a
 *    scanner never reports);
 *  - the link count alone (link, unlink of another name): ATTRIB to the
 *    object only, as fsnotify_link_count;
 *  - a directory's mtime follows its entries: no event of its own; its
 *    atime follows our reads, so it is not looked at.
 */
void uin_scan_classify(bool is_dir, const struct scan_ent *old,
		       const struct scan_attrs *now, uint32_t *p,
		       uint32_t *s_only)
{
	*p = 0;
	*s_only = 0;
	bool schg = !is_dir && old->size != now->size;
	bool mchg = old->mtime_ns != now->mtime_ns;
	bool cchg = old->ctime_ns != now->ctime_ns;
	bool meta = old->mode != (uint16_t)now->mode ||
		    old->owner_h != owner_h(now);
	bool lchg = old->nlink_lo != (uint8_t)now->nlink;
	/* A directory's atime moves with our own reads of it, so it tells
	 * nothing there: utimes(NULL) on a directory looks like a change of
	 * its entries (no event), utimensat of its atime alone like chmod. */
	bool touched = !schg && mchg &&
		       (now->mtime_ns != now->ctime_ns ||
			(!is_dir && now->atime_ns == now->mtime_ns));
	if (!is_dir && (schg || (mchg && !touched)))
		*p |= IN_MODIFY;
	bool ctime_only = cchg && !mchg && !schg && !lchg &&
			  (is_dir || now->atime_ns != now->ctime_ns);
	if (meta || touched || ctime_only)
		*p |= IN_ATTRIB;
	if (lchg && !is_dir && !(*p & IN_ATTRIB))
		*s_only |= IN_ATTRIB;
}

/* Reading a directory ------------------------------------------------------ */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int dents_push(struct scan_dents *d, uint64_t ino, uint8_t type,
		      const char *name, size_t len)
{
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		void *v = uin_realloc(d->v, (size_t)cap * sizeof *d->v);
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	if (d->names_len + len + 1 > d->names_cap) {
		uint32_t cap = d->names_cap ? d->names_cap : 1024;
		while (d->names_len + len + 1 > cap)
			cap *= 2;
		char *n = uin_realloc(d->names, cap);
		if (!n)
			return -ENOMEM;
		d->names = n;
		d->names_cap = cap;
	}
	struct scan_dent *e = &d->v[d->n++];
	e->ino = ino;
	e->type = type;
	e->name_len = (uint16_t)len;
	e->name_off = d->names_len;
	memcpy(d->names + d->names_len, name, len);
	d->names[d->names_len + len] = '\0';
	d->names_len += (uint32_t)len + 1;
	return 0;
}

/*
 * 32 KiB per getdents64 call: large enough that a directory of 100
 * entries takes one call, small enough not to make network filesystems
 * fetch far more than asked (kernel commit 7ef5ca4f).  On the heap, not in
 * thread-local storage: this library is preloaded into every program of a
 * container, and glibc carves static TLS out of every thread's stack, so a
 * 32 KiB TLS buffer makes small-stack threads fail to start.
 */
#define DENTS_BUF 32768

int uin_scan_read_dir(int fd, struct scan_dents *out)
{
	out->n = 0;
	out->names_len = 0;
	char *buf = uin_malloc(DENTS_BUF);
	if (!buf)
		return -ENOMEM;
	int dfd = UIN_SYS_RETRY("scan.dir.openat",
				openat(fd, ".", O_RDONLY | O_DIRECTORY |
							O_CLOEXEC));
	if (dfd < 0) {
		int err = -errno;
		uin_free(buf);
		return err;
	}
	int err = 0;
	for (;;) {
		long n = UIN_SYS_RETRY("scan.dir.getdents",
				       syscall(SYS_getdents64, dfd, buf,
					       DENTS_BUF));
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			const char *nm = d->d_name;
			if (nm[0] == '.' &&
			    (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
				continue;
			err = dents_push(out, d->d_ino, d->d_type, nm,
					 strlen(nm));
			if (err)
				break;
		}
		if (err)
			break;
	}
	close(dfd);
	uin_free(buf);
	return err;
}

/*
 * The calling thread's read array, reused from one directory read to the
 * next (it grows to the largest directory read).  Heap memory behind an
 * 8-byte TLS pointer, freed when the thread exits (a key destructor).
 */
static pthread_key_t dents_key;
static pthread_once_t dents_once = PTHREAD_ONCE_INIT;
static bool dents_key_ok;
static __thread struct scan_dents *thread_dents;

static void dents_destroy(void *p)
{
	uin_scan_dents_free(p);
	uin_free(p);
}

static void dents_key_init(void)
{
	dents_key_ok = pthread_key_create(&dents_key, dents_destroy) == 0;
}

struct scan_dents *uin_scan_thread_dents(void)
{
	if (thread_dents)
		return thread_dents;
	pthread_once(&dents_once, dents_key_init);
	if (!dents_key_ok)
		return NULL;
	struct scan_dents *d = uin_calloc(1, sizeof *d);
	if (!d)
		return NULL;
	if (pthread_setspecific(dents_key, d) != 0) {
		uin_free(d);
		return NULL;
	}
	thread_dents = d;
	return d;
}

void uin_scan_dents_free(struct scan_dents *d)
{
	uin_free(d->v);
	uin_free(d->names);
	memset(d, 0, sizeof *d);
}

/* Snapshots ------------------------------------------------------------------ */

int uin_scan_snap_reserve(struct scan_snap *s, uint32_t n, uint32_t names)
{
	if (n > s->cap) {
		void *v = uin_realloc(s->ents, (size_t)n * sizeof *s->ents);
		if (!v)
			return -ENOMEM;
		s->ents = v;
		s->cap = n;
	}
	if (names > s->names_cap) {
		char *c = uin_realloc(s->names, names);
		if (!c)
			return -ENOMEM;
		s->names = c;
		s->names_cap = names;
	}
	return 0;
}

long uin_scan_snap_append(struct scan_snap *s, const struct scan_ent *e,
			  const char *name, size_t len)
{
	if (s->n == s->cap &&
	    uin_scan_snap_reserve(s, s->cap ? s->cap + s->cap / 2 + 8 : 16,
				  s->names_cap))
		return -ENOMEM;
	if (s->names_len + len + 1 > s->names_cap) {
		uint32_t cap = s->names_cap ? s->names_cap : 256;
		while (s->names_len + len + 1 > cap)
			cap += cap / 2 + 64;
		if (uin_scan_snap_reserve(s, s->cap, cap))
			return -ENOMEM;
	}
	struct scan_ent *d = &s->ents[s->n];
	*d = *e;
	d->name_off = s->names_len;
	memcpy(s->names + s->names_len, name, len);
	s->names[s->names_len + len] = '\0';
	s->names_len += (uint32_t)len + 1;
	return s->n++;
}

void uin_scan_snap_free(struct scan_snap *s)
{
	uin_free(s->ents);
	uin_free(s->names);
	memset(s, 0, sizeof *s);
}

size_t uin_scan_snap_bytes(const struct scan_snap *s)
{
	return (size_t)s->cap * sizeof *s->ents + s->names_cap;
}

/* Name indexes ---------------------------------------------------------------- */

int uin_scan_index_build(struct scan_index *ix, const struct scan_snap *s)
{
	uint32_t cap = 16;
	while (cap < s->n * 2u)
		cap *= 2;
	ix->slots = uin_calloc(cap, sizeof *ix->slots);
	ix->hashes = uin_malloc((s->n ? s->n : 1) * sizeof *ix->hashes);
	if (!ix->slots || !ix->hashes) {
		uin_scan_index_free(ix);
		return -ENOMEM;
	}
	ix->cap = cap;
	for (uint32_t i = 0; i < s->n; i++) {
		const char *nm = snap_name(s, i);
		uint64_t h = uin_scan_hash(nm, strlen(nm));
		ix->hashes[i] = h;
		uint32_t j = (uint32_t)h & (cap - 1);
		while (ix->slots[j])
			j = (j + 1) & (cap - 1);
		ix->slots[j] = i + 1;
	}
	return 0;
}

long uin_scan_index_find(const struct scan_index *ix,
			 const struct scan_snap *s, const char *name,
			 uint64_t h)
{
	if (!ix->cap)
		return -1;
	for (uint32_t j = (uint32_t)h & (ix->cap - 1); ix->slots[j];
	     j = (j + 1) & (ix->cap - 1)) {
		uint32_t i = ix->slots[j] - 1;
		if (ix->hashes[i] == h && !strcmp(snap_name(s, i), name))
			return i;
	}
	return -1;
}

void uin_scan_index_free(struct scan_index *ix)
{
	uin_free(ix->slots);
	uin_free(ix->hashes);
	memset(ix, 0, sizeof *ix);
}

/* Ledger --------------------------------------------------------------------- */

static int ledger_grow(struct scan_ledger *l)
{
	uint32_t cap = l->cap ? l->cap * 2 : 16;
	struct scan_ledger_item *items = uin_calloc(cap, sizeof *items);
	if (!items)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->cap; i++) {
		if (!l->items[i].h)
			continue;
		uint32_t j = (uint32_t)l->items[i].h & (cap - 1);
		while (items[j].h)
			j = (j + 1) & (cap - 1);
		items[j] = l->items[i];
	}
	uin_free(l->items);
	l->items = items;
	l->cap = cap;
	return 0;
}

struct scan_ledger_item *uin_scan_ledger_get(struct scan_ledger *l,
					     uint64_t h, bool create)
{
	if (l->cap) {
		for (uint32_t j = (uint32_t)h & (l->cap - 1); l->items[j].h;
		     j = (j + 1) & (l->cap - 1))
			if (l->items[j].h == h)
				return &l->items[j];
	}
	if (!create)
		return NULL;
	if ((l->used + 1) * 4 > l->cap * 3 && ledger_grow(l))
		return NULL;
	uint32_t j = (uint32_t)h & (l->cap - 1);
	while (l->items[j].h)
		j = (j + 1) & (l->cap - 1);
	l->items[j].h = h;
	l->items[j].kernel = l->items[j].scan = 0;
	l->used++;
	return &l->items[j];
}

void uin_scan_ledger_clear(struct scan_ledger *l, bool kernel)
{
	if (!l->used)
		return;
	uint32_t live = 0;
	for (uint32_t i = 0; i < l->cap; i++) {
		struct scan_ledger_item *it = &l->items[i];
		if (!it->h)
			continue;
		if (kernel)
			it->kernel = 0;
		else
			it->scan = 0;
		live += it->kernel || it->scan;
	}
	if (live == l->used)
		return;
	if (!live) {
		memset(l->items, 0, (size_t)l->cap * sizeof *l->items);
		l->used = 0;
		return;
	}
	/* Rehash the survivors (open addressing cannot just drop slots). */
	struct scan_ledger old = *l;
	l->items = uin_calloc(old.cap, sizeof *l->items);
	if (!l->items) {
		*l = old; /* keep the empty items: harmless, found again */
		return;
	}
	l->used = 0;
	for (uint32_t i = 0; i < old.cap; i++) {
		struct scan_ledger_item *it = &old.items[i];
		if (!it->h || (!it->kernel && !it->scan))
			continue;
		uint32_t j = (uint32_t)it->h & (l->cap - 1);
		while (l->items[j].h)
			j = (j + 1) & (l->cap - 1);
		l->items[j] = *it;
		l->used++;
	}
	uin_free(old.items);
}

void uin_scan_ledger_free(struct scan_ledger *l)
{
	uin_free(l->items);
	memset(l, 0, sizeof *l);
}

uint8_t uin_scan_kind_of(uint32_t mask)
{
	uint8_t k = 0;
	if (mask & (IN_CREATE | IN_MOVED_TO))
		k |= LK_APPEAR;
	if (mask & (IN_DELETE | IN_MOVED_FROM))
		k |= LK_VANISH;
	if (mask & IN_MODIFY)
		k |= LK_MODIFY;
	if (mask & IN_ATTRIB)
		k |= LK_ATTRIB;
	if (mask & IN_CLOSE_WRITE)
		k |= LK_CW;
	if (mask & IN_MOVE_SELF)
		k |= LK_MOVE;
	return k;
}
