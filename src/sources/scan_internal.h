/*
 * src/sources/scan_internal.h - the scanner's structures, shared by
 * scan.c (watches, schedule, events, coexistence) and scan_snap.c
 * (snapshots: storage, directory reads, comparisons).  Private.
 *
 * Locks: see scan.h.  Fields marked [D] are touched only under the
 * dispatch lock, [S] under the sources lock, [A] are atomics.
 */
#ifndef UIN_SOURCES_SCAN_INTERNAL_H
#define UIN_SOURCES_SCAN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uinotify/hooks.h>

#include "sources/scan.h"

/* Snapshots ------------------------------------------------------------------ */

/* Per-entry flags. */
enum {
	ENT_HOT = 1u << 0,   /* on the directory's hot list */
	ENT_MNT = 1u << 1,   /* a mount point: no attribute events */
	ENT_CW = 1u << 2,    /* a synthesised CLOSE_WRITE is due once quiet */
	ENT_SW = 1u << 3,    /* a watched object (has a scanner watch) */
	ENT_SEEN = 1u << 4,  /* scratch: matched during a comparison */
	ENT_CHECK = 1u << 5, /* scratch: to check on this tick */
};

/*
 * One directory entry: 48 bytes plus its name (with a NUL) in the
 * directory's name arena.  Times are kept exactly (compared with !=, in
 * ns); the birth time and the owner only as 32-bit hashes (a collision
 * hides one change with probability 2^-32); the link count as its low
 * byte (it only tells a link-count change, whose S-side event comes from
 * the watched object's own exact count).
 */
struct scan_ent {
	uint64_t ino;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t size;
	uint32_t name_off;  /* into the name arena */
	uint32_t btime_h;   /* hash of the birth time, 0 if none */
	uint32_t owner_h;   /* hash of (uid, gid) */
	uint16_t mode;      /* st_mode, type bits included */
	uint8_t nlink_lo;
	uint8_t flags;      /* ENT_* */
};
_Static_assert(sizeof(struct scan_ent) == 48, "48 bytes per entry");

struct scan_snap {
	struct scan_ent *ents; /* in getdents order */
	uint32_t n, cap;
	char *names;           /* NUL-terminated names, back to back */
	uint32_t names_len, names_cap;
};

static inline const char *snap_name(const struct scan_snap *s, uint32_t i)
{
	return s->names + s->ents[i].name_off;
}

/* A hot entry: checked on every tick while recently changed (or for ever,
 * when it is a watched object: sticky). */
struct scan_hot {
	uint32_t idx;
	uint32_t changed_ms; /* scanner clock of the last change */
	uint8_t sticky;
	uint8_t pad[3];
};

/* The full attributes of a file, from statx. */
struct scan_attrs {
	uint64_t dev, ino, btime_ns, size;
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint32_t mode, uid, gid, nlink;
	bool has_btime;
};

/* Kinds of changes, for the ledger shared with the kernel source.  A
 * rename's halves count as a disappearance and an appearance, so that a
 * kernel MOVED_FROM matches a scanner DELETE and so on. */
enum {
	LK_APPEAR = 1u << 0, /* CREATE, MOVED_TO */
	LK_VANISH = 1u << 1, /* DELETE, MOVED_FROM */
	LK_MODIFY = 1u << 2,
	LK_ATTRIB = 1u << 3,
	LK_CW = 1u << 4,     /* CLOSE_WRITE */
	LK_MOVE = 1u << 5,   /* MOVE_SELF */
	LK_STRUCT = LK_APPEAR | LK_VANISH,
};

/*
 * Names of a directory about which the kernel reported something since
 * the last tick (kernel bits), or about which the scanner reported
 * something on the last tick (scan bits).  Keyed by the name's 64-bit
 * hash.  Open addressing; empty while nothing happens.
 */
struct scan_ledger_item {
	uint64_t h;       /* 0: empty slot */
	uint8_t kernel;
	uint8_t scan;
	uint8_t pad[6];
};
struct scan_ledger {
	struct scan_ledger_item *items;
	uint32_t cap, used;
};

/* scan_snap.c ---------------------------------------------------------------- */

uint64_t uin_scan_hash(const char *s, size_t len);
uint32_t uin_scan_hash32(uint64_t a, uint64_t b);

void uin_scan_attrs_from_statx(const struct statx *st, struct scan_attrs *a);
/* statx of name in fd (NULL: fd itself) with the scanner's mask: 0 or a
 * negative errno.  Any thread. */
int uin_scan_sx(int fd, const char *name, bool force, struct scan_attrs *a);

/* A statx to make in a batch (scan_pool.c). */
struct uin_scan_stat_req {
	int dirfd;
	const char *name;
	bool force;
	int err;              /* out: 0 or a negative errno */
	struct scan_attrs a;  /* out */
};
/* Make every request of v, with up to `threads` threads (the caller's
 * included); on return all are done.  One batch at a time (the dispatch
 * lock). */
void uin_scan_stat_batch(struct uin_scan_stat_req *v, size_t n,
			 unsigned threads);
uint64_t uin_scan_pool_cpu_ns(void); /* the workers' CPU so far */
unsigned uin_scan_pool_threads(void); /* workers started */
void uin_scan_pool_atfork_child(void);
/* Fill an entry's attributes (not its name) from a. */
void uin_scan_ent_set(struct scan_ent *e, const struct scan_attrs *a);
/* The identity of a as the entry stores it. */
static inline uint32_t uin_scan_btime_h(const struct scan_attrs *a)
{
	return a->has_btime ? uin_scan_hash32(a->btime_ns, 0x62746d) | 1 : 0;
}

/*
 * Which events a change of an object's attributes from `old` to `now`
 * gives, as the kernel would have reported the operations that make such
 * a change: *p for the events that reach the parent and the object
 * (MODIFY, ATTRIB), *s_only for the link count (the kernel's
 * fsnotify_link_count reaches the object only).  Nothing for a directory
 * whose entries changed, nor for an atime-only update.
 */
void uin_scan_classify(bool is_dir, const struct scan_ent *old,
		       const struct scan_attrs *now, uint32_t *p,
		       uint32_t *s_only);

/* A read of a directory: (d_ino, d_type, name) in getdents order. */
struct scan_dents {
	struct scan_dent {
		uint64_t ino;
		uint32_t name_off;
		uint16_t name_len;
		uint8_t type;  /* DT_* */
		uint8_t pad;
	} *v;
	uint32_t n, cap;
	char *names;
	uint32_t names_len, names_cap;
};
/* Read the directory that the O_PATH descriptor fd names.  0 or -errno. */
int uin_scan_read_dir(int fd, struct scan_dents *out);
void uin_scan_dents_free(struct scan_dents *d);
/* The calling thread's reusable read array (freed at thread exit), or
 * NULL when it cannot be allocated. */
struct scan_dents *uin_scan_thread_dents(void);

int uin_scan_snap_reserve(struct scan_snap *s, uint32_t n, uint32_t names);
/* Append an entry with this name; its index, or -ENOMEM. */
long uin_scan_snap_append(struct scan_snap *s, const struct scan_ent *e,
			  const char *name, size_t len);
void uin_scan_snap_free(struct scan_snap *s);
size_t uin_scan_snap_bytes(const struct scan_snap *s);

/*
 * A name index over a snapshot or a read, built for one comparison.
 * lookup: the index of name, or -1.
 */
struct scan_index {
	uint32_t *slots; /* index + 1; 0: empty */
	uint64_t *hashes;
	uint32_t cap;
};
int uin_scan_index_build(struct scan_index *ix, const struct scan_snap *s);
long uin_scan_index_find(const struct scan_index *ix,
			 const struct scan_snap *s, const char *name,
			 uint64_t h);
void uin_scan_index_free(struct scan_index *ix);

/* Ledger: the item for hash h (created when create), or NULL. */
struct scan_ledger_item *uin_scan_ledger_get(struct scan_ledger *l,
					     uint64_t h, bool create);
/* Clear kernel bits (kernel) or scan bits (!kernel); drop empty items. */
void uin_scan_ledger_clear(struct scan_ledger *l, bool kernel);
void uin_scan_ledger_free(struct scan_ledger *l);

/* The ledger kind of an event mask (0 for events the scanner never
 * reports: OPEN, ACCESS, CLOSE_NOWRITE...). */
uint8_t uin_scan_kind_of(uint32_t mask);

/* Scanner watches ------------------------------------------------------------ */

struct uin_scan_watch {
	/* sw->mount is pinned (mounts.h pins) from attach to sw_free, so that
	 * the loop thread may read it after the inode was released. */
	bool mount_pinned;
	/* [S] the engine side */
	struct uin_src_inode *si;  /* NULL once released */
	uint32_t need;             /* the union of the watches' masks */
	bool watched;
	atomic_bool dead;          /* [A] released, or the object died */

	/* constant after attach */
	struct uin_mount *mount;
	struct uinotify_key key;
	bool is_dir;

	/* [D] everything below */
	enum uin_scan_mode mode;
	struct uin_scan_watch *all_next, *all_prev; /* every watch */
	struct uin_scan_watch *id_next;             /* identity table */
	bool in_table;             /* on the list and in the table */
	uint32_t need_d;           /* need/watched copied for this tick */
	bool watched_d;

	int fd;                    /* O_PATH on the object, -1 if none */
	/* Where the object is: its name in a scanned parent directory, or
	 * in an anchor directory we hold an O_PATH descriptor on. */
	struct uin_scan_watch *parent;
	struct uin_scan_watch *child_head, *sib_next, *sib_prev;
	uint32_t pidx;             /* its entry in parent's snapshot */
	int anchor_fd;             /* when parent is NULL; -1: unknown */
	uint64_t anchor_dev, anchor_ino; /* anchor_fd's directory */
	uint32_t anchor_slot;      /* its turn among the anchored watches */
	char *pname;               /* its name there (NULL: none) */

	struct scan_attrs own;     /* last known attributes (self events) */
	struct scan_attrs cur;     /* this tick's, when cur_ok */
	bool cur_ok;               /* statx of fd succeeded on this tick */
	bool gone;                 /* fd no longer reaches a live object */
	uint8_t gone_ticks;

	/* directories */
	struct scan_snap snap;
	struct scan_index ix;      /* by name, built on demand, per tick */
	uint32_t cold_idx;         /* where the rotation is in snap */
	uint32_t stat_wait_ns;     /* wall time a statx of an entry takes
				      here (moving average), 0: unknown */
	uint32_t next_list_ms;     /* shared mounts: read at least then */
	struct scan_hot *hot;
	uint32_t nhot, hotcap;
	struct scan_ledger ledger;
	bool reread;               /* read the entries on the next tick */
	bool attrs_stale;          /* refresh every entry silently */
	bool attrs_unchecked;      /* ticks passed without checking them */
	bool silent_refresh;       /* SHADOW: resync silently */
	bool recover;              /* compare everything, report */
	bool read_this_tick;
	int64_t racy_until_ns;     /* re-read while the directory is young */
	int64_t last_read_ns;      /* real time when last read began */
	int64_t prev_read_ns;      /* the read before that one */
	bool last_read_torn;       /* the directory changed during it */
	bool prev_read_torn;

	/* the object's own ledger bits (S events) */
	uint8_t self_kernel, self_scan;
	bool self_cw;              /* a CLOSE_WRITE on itself is due */
	bool kernel_moved;         /* the kernel said MOVE_SELF: the rename's
				      ctime is no ATTRIB */
	uint32_t self_changed_ms;
};

#endif
