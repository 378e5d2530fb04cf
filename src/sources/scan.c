/*
 * src/sources/scan.c - the scanner: finds by looking the changes that the
 * kernel never sees (NFS, SMB, 9p, every FUSE filesystem: changes made on
 * the server, the host, the backing directory) and reports the events the
 * kernel would have reported had the change been made here.
 *
 * WHAT IS OBSERVED.  Every engine inode of a mount record with the
 * scanner gets a struct uin_scan_watch (sw) holding an O_PATH descriptor
 * on the object: scans use *at calls relative to it, so a renamed
 * directory keeps reporting.  A watched directory also holds a snapshot
 * of its entries (48 bytes each plus the name, scan_internal.h).  A
 * watched object knows where it is: its entry in a scanned parent
 * directory (then the parent's comparisons report its renames, P and S
 * in the kernel's order), or a name in an "anchor" directory we hold an
 * O_PATH descriptor on (its renames are found by looking at that name).
 *
 * ONE TICK (every interval on the loop thread, under the dispatch lock):
 *   0. drain the kernel source (its events fill the ledgers, below);
 *   1. structure: statx every watched directory through its descriptor;
 *      read (getdents64) those whose mtime/ctime changed, that are young
 *      (racy: changed within the last 2 s, when a second change may not
 *      move a coarse timestamp), that the kernel reported a change in,
 *      and, on shared mounts where directory times cannot be trusted,
 *      each one once per cold period; compare with the snapshot: names
 *      gone, names new, names whose identity changed;
 *   2. pair what left a name with what appeared under another by
 *      identity (device, inode, birth time, type), across directories;
 *   3. report, deletions first: DELETE (after the S ATTRIB, DELETE_SELF,
 *      IGNORED of a watched object whose last link went), then renames
 *      (MOVED_FROM + MOVED_TO with a fresh cookie, the overwritten
 *      target's ATTRIB, MOVE_SELF, the target's death), then creations
 *      (CREATE, or MOVED_TO for a name whose object was replaced by one
 *      from nowhere we watch: an atomic replace);
 *   4. attributes, by tiers: entries changed within the last 2 s ("hot")
 *      and watched objects on every tick, the others in a rotation that
 *      covers every entry within the cold period, its share of the CPU
 *      bounded; MODIFY / ATTRIB from the rules in scan_snap.c
 *      (uin_scan_classify), P then S; a CLOSE_WRITE once a changed or
 *      new regular file has been quiet for the close-write time.
 * Ticks are due every interval from the start of the last one; one that
 * takes longer than the interval delays the next by its own duration (at
 * most half the time is spent scanning).  Phase 4 runs as a job of the
 * same dispatch round, after the instances' wake-up jobs (tick, below).
 *
 * WITH THE KERNEL SOURCE on the same mount (AUTO on FUSE, NFS...): the
 * kernel reports what is done through this kernel at full fidelity; the
 * scanner must not report it again.  Both run under the dispatch lock.
 * The kernel source hands every event about a scanned inode to
 * uin_scan_kernel_event, which notes its kind in the ledger of that
 * directory (by name) or of the object: a change the scanner then finds
 * on the next tick is taken into the snapshot silently when the kernel
 * reported that kind for that name.  The other way round, the scanner
 * notes in the ledger what it reported on a tick, and a kernel event of
 * that kind for that name read before the next tick is dropped (the
 * scanner saw the change before the kernel's event was read).  Each tick
 * starts with a drain of the kernel queue, so both windows are short.
 * The scanner's own directory reads cause OPEN/ACCESS/CLOSE_NOWRITE|ISDIR
 * on the kernel side; when a kernel watch asks for those, the read is
 * bracketed by drains and its events dropped (kernel.c, mute).
 *
 * RECOVERY.  A snapshot lets the scanner tell what a lost event was:
 * uin_scan_recover (the kernel's IN_Q_OVERFLOW, after the overflow record
 * went out) compares every snapshot of the mount with the disk at once
 * and reports what the kernel did not.  On kernel-only mounts the
 * snapshot is kept for that alone (SHADOW: never scanned on ticks; the
 * ledger collects what the kernel reported, and a ledger that grows too
 * long is resynchronised silently).
 *
 * LIFETIME.  attach (API thread, dispatch lock held) creates the sw and
 * publishes it in si->sw; detach (release_inode, any thread, sources
 * lock) unpublishes it and posts the reap job, which frees it on the
 * loop thread: an sw is freed only under the dispatch lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "engine/lock.h"
#include "instance/config.h"
#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/scan_internal.h"

#define RACY_NS 2000000000LL   /* a directory this young is re-read */
#define MIN_COLD_QUOTA 64      /* entries per tick, whatever the budget */
#define LEDGER_MAX 4096        /* SHADOW: resync when a ledger grows past */
#define GONE_TICKS 3           /* an unexplained stale descriptor: dead */
#define ANCHORS_PER_TICK 16    /* renames of unparented watches looked for */

#define ATTR_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE)

/* Parameters and statistics ------------------------------------------------ */

static atomic_long params[UIN_SCAN_NPARAMS];
static pthread_once_t params_once = PTHREAD_ONCE_INIT;

static const long param_default[UIN_SCAN_NPARAMS] = {
	[UIN_SCAN_INTERVAL_MS] = UIN_SCAN_DEFAULT_INTERVAL_MS,
	[UIN_SCAN_COLD_MS] = UIN_SCAN_DEFAULT_COLD_MS,
	[UIN_SCAN_CLOSE_WRITE_MS] = 500,
	[UIN_SCAN_HOT_MS] = 2000,
	[UIN_SCAN_BUDGET_PPM] = 40000, /* 4 % of a core for the rotation */
	[UIN_SCAN_FORCE_SYNC] = 2,
	[UIN_SCAN_STAT_THREADS] = 4,
	[UIN_SCAN_STAT_WAIT_US] = 100,
};

/* From the environment (instance/config.c: ranges, defaults, and a bad
 * value reported once). */
static void params_init(void)
{
	static const struct {
		enum uin_scan_param p;
		enum uin_env v;
	} from_env[] = {
		{UIN_SCAN_INTERVAL_MS, UIN_ENV_SCAN_INTERVAL_MS},
		{UIN_SCAN_CLOSE_WRITE_MS, UIN_ENV_SCAN_CLOSE_WRITE_MS},
		{UIN_SCAN_COLD_MS, UIN_ENV_SCAN_COLD_MS},
		{UIN_SCAN_FORCE_SYNC, UIN_ENV_SCAN_FORCE_SYNC},
		{UIN_SCAN_STAT_THREADS, UIN_ENV_SCAN_STAT_THREADS},
		{UIN_SCAN_STAT_WAIT_US, UIN_ENV_SCAN_STAT_WAIT_US},
	};
	for (int i = 0; i < UIN_SCAN_NPARAMS; i++)
		atomic_init(&params[i], param_default[i]);
	for (size_t i = 0; i < sizeof from_env / sizeof from_env[0]; i++)
		atomic_store(&params[from_env[i].p], uin_env(from_env[i].v));
}

static long P(enum uin_scan_param p)
{
	pthread_once(&params_once, params_init);
	return atomic_load_explicit(&params[p], memory_order_relaxed);
}

static void arm_soon(void);

long uin_scan_set_param(enum uin_scan_param p, long value)
{
	if ((unsigned)p >= UIN_SCAN_NPARAMS || value < 0)
		return -EINVAL;
	if (p == UIN_SCAN_INTERVAL_MS &&
	    (value < UIN_SCAN_MIN_INTERVAL_MS ||
	     value > UIN_SCAN_MAX_INTERVAL_MS))
		return -EINVAL;
	if ((p == UIN_SCAN_FORCE_SYNC && value > 2) ||
	    (p == UIN_SCAN_LIST_ALWAYS && value > 1) ||
	    (p == UIN_SCAN_STAT_THREADS && value > UIN_SCAN_MAX_STAT_THREADS))
		return -EINVAL;
	pthread_once(&params_once, params_init);
	return atomic_exchange(&params[p], value);
}

long uin_scan_get_param(enum uin_scan_param p)
{
	if ((unsigned)p >= UIN_SCAN_NPARAMS)
		return -EINVAL;
	return P(p);
}

UINOTIFY_EXPORT int uinotify_set_scan_interval(int ms)
{
	if (ms < 0)
		return -EINVAL;
	if (ms == 0)
		return (int)P(UIN_SCAN_INTERVAL_MS);
	if (ms < UIN_SCAN_MIN_INTERVAL_MS)
		ms = UIN_SCAN_MIN_INTERVAL_MS;
	if (ms > UIN_SCAN_MAX_INTERVAL_MS)
		ms = UIN_SCAN_MAX_INTERVAL_MS;
	uin_scan_set_param(UIN_SCAN_INTERVAL_MS, ms);
	return ms;
}

static struct {
	atomic_long ticks, sweeps, overruns, statx, dir_reads, events,
		suppressed, kernel_dropped, recoveries, catch_ups, fds,
		cold_period_ms,
		last_tick_us, last_tick_cpu_us, last_tick_start_us,
		last_events_us;
} st;

#define STAT_ADD(f, n) atomic_fetch_add_explicit(&st.f, (n), memory_order_relaxed)

/* Scanner state -------------------------------------------------------------- */

static void reap_job_fn(struct uin_loop_job *job);

static struct {
	/* [D] */
	struct uin_scan_watch *all_head, *all_tail;
	long nall;
	struct uin_scan_watch **idtab; /* by (mount, ino) */
	uint32_t idcap;
	long idn;
	struct uin_loop_reg *timer;
	struct uin_scan_watch *cold_sw;
	double cpu_ns_per_check;
	bool in_tick;
	bool recover_pending;
	/* A watched object a rename here overwrote: its end waits for the
	 * MOVE_SELF of the object that took its name (uin_scan_kernel_deaths) */
	struct uin_scan_watch *death_pending;
	/* [S] */
	struct uin_loop_job reap_job;
	/* waiting for ticks (tests) */
	uin_mutex_t wait_mu;
	pthread_cond_t wait_cv;
	long ticks_started, ticks_done, sweeps_done; /* [wait_mu] */
} S = {
	.reap_job = {.fn = reap_job_fn},
	.wait_mu = UIN_MUTEX_INITIALIZER(UIN_RANK_SCAN_WAIT),
	.wait_cv = PTHREAD_COND_INITIALIZER,
	.cpu_ns_per_check = 1500.0,
};

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The scanner's clock, in ms (wraps after 49 days; only differences). */
static uint32_t now_ms(void)
{
	return (uint32_t)(mono_ns() / 1000000u);
}

static bool elapsed(uint32_t since, uint32_t now, long ms)
{
	return (uint32_t)(now - since) >= (uint32_t)ms;
}

/* statx ----------------------------------------------------------------------- */

#define SX_MASK                                                              \
	(STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID |       \
	 STATX_ATIME | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE |    \
	 STATX_BTIME)

/*
 * statx of name relative to fd (NULL: fd itself), not following a final
 * symlink nor triggering automounts.  force: bypass the attribute cache
 * (FUSE's attribute timeout, NFS's actimeo); see docs/scanner.md.
 */
int uin_scan_sx(int fd, const char *name, bool force, struct scan_attrs *a)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;
	if (!name) {
		name = "";
		flags |= AT_EMPTY_PATH;
	}
	if (force)
		flags |= AT_STATX_FORCE_SYNC;
	struct statx stx;
	STAT_ADD(statx, 1);
	if (UIN_SYS_RETRY("scan.statx",
			  statx(fd, name, flags, SX_MASK, &stx)) < 0)
		return -errno;
	uin_scan_attrs_from_statx(&stx, a);
	return 0;
}

/* Force for the object's own descriptor (directories, watched files). */
static bool force_self(const struct uin_scan_watch *sw)
{
	return sw->mount->shared && P(UIN_SCAN_FORCE_SYNC) >= 1;
}

/* Force for the entries of a directory. */
static bool force_ents(const struct uin_scan_watch *sw)
{
	return sw->mount->shared && P(UIN_SCAN_FORCE_SYNC) >= 2;
}

static int dup_fd(int fd)
{
	int nfd = UIN_SYS_RETRY("scan.dup", fcntl(fd, F_DUPFD_CLOEXEC, 3));
	if (nfd >= 0)
		STAT_ADD(fds, 1);
	return nfd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		STAT_ADD(fds, -1);
	}
	*fd = -1;
}

static int open_path(int dirfd, const char *name, bool dir)
{
	int fd = UIN_SYS_RETRY("scan.openat",
			       openat(dirfd, name,
				      O_PATH | O_NOFOLLOW | O_CLOEXEC |
					      (dir ? O_DIRECTORY : 0)));
	if (fd >= 0)
		STAT_ADD(fds, 1);
	return fd;
}

/* Engine inodes ------------------------------------------------------------ */

/*
 * A counted reference to sw's engine inode, or NULL when it is released.
 * Looked up by key: the engine inode may be dying while sw still is.
 */
static struct uinotify_inode *sw_inode(struct uin_scan_watch *sw)
{
	if (!sw)
		return NULL;
	struct uinotify_inode *in = NULL;
	bool wrong = false;
	uin_sources_lock();
	if (sw->si && !atomic_load(&sw->dead)) {
		in = uinotify_inode_lookup(sw->mount->sb, &sw->key);
		wrong = in && uinotify_inode_data(in) != sw->si;
	}
	uin_sources_unlock();
	if (wrong) {
		uinotify_inode_put(in); /* a newer inode with the same key */
		in = NULL;
	}
	return in;
}

static void put_inode(struct uinotify_inode *in)
{
	if (in)
		uinotify_inode_put(in);
}

/* Whether the kernel source also feeds this mount (then the ledger
 * matters in both directions). */
static bool with_kernel(const struct uin_scan_watch *sw)
{
	return sw->mount->active & UIN_SRC_KERNEL;
}

/* Reporting ---------------------------------------------------------------- */

static uint32_t isdir_bit(uint32_t mode)
{
	return S_ISDIR(mode) ? IN_ISDIR : 0;
}

/*
 * The P half of an event on the entry `name` of directory d (din: d's
 * engine inode, may be NULL).  Not reported when the kernel already did
 * (d's ledger); else noted, so that the kernel's copy is dropped.
 * Returns whether it was reported (by us).
 */
static bool emit_p(struct uin_scan_watch *d, struct uinotify_inode *din,
		   const char *name, uint32_t mask, uint32_t cookie)
{
	uint8_t k = uin_scan_kind_of(mask);
	uint64_t h = uin_scan_hash(name, strlen(name));
	struct scan_ledger_item *it = uin_scan_ledger_get(&d->ledger, h, false);
	if (it && (it->kernel & k)) {
		STAT_ADD(suppressed, 1);
		return false;
	}
	if (din) {
		uinotify_hook_dirent(din, name, NULL, mask, cookie);
		STAT_ADD(events, 1);
	}
	if (with_kernel(d)) {
		it = uin_scan_ledger_get(&d->ledger, h, true);
		if (it)
			it->scan |= k;
	}
	return true;
}

/* The S half: an event on the watched object c itself. */
static bool emit_s(struct uin_scan_watch *c, struct uinotify_inode *cin,
		   uint32_t mask)
{
	uint8_t k = uin_scan_kind_of(mask);
	if (c->self_kernel & k) {
		STAT_ADD(suppressed, 1);
		return false;
	}
	if (cin) {
		uinotify_hook_inode(cin, mask, 0);
		STAT_ADD(events, 1);
	}
	if (with_kernel(c))
		c->self_scan |= k;
	return true;
}

/* Whether the kernel reported an event of kind k about name in d. */
static bool kernel_had(struct uin_scan_watch *d, const char *name, uint8_t k)
{
	if (!d->ledger.used)
		return false;
	struct scan_ledger_item *it = uin_scan_ledger_get(
		&d->ledger, uin_scan_hash(name, strlen(name)), false);
	return it && (it->kernel & k);
}

/* Identity table ------------------------------------------------------------ */

static uint32_t id_slot(const struct uin_mount *m, uint64_t ino, uint32_t cap)
{
	return uin_scan_hash32(ino, (uintptr_t)m) & (cap - 1);
}

static void idtab_insert(struct uin_scan_watch *sw)
{
	if ((unsigned long)S.idn + 1 > S.idcap) {
		uint32_t cap = S.idcap ? S.idcap * 2 : 64;
		struct uin_scan_watch **t = uin_calloc(cap, sizeof *t);
		if (t) {
			for (uint32_t i = 0; i < S.idcap; i++) {
				struct uin_scan_watch *w = S.idtab[i], *next;
				for (; w; w = next) {
					next = w->id_next;
					uint32_t j =
						id_slot(w->mount, w->key.ino, cap);
					w->id_next = t[j];
					t[j] = w;
				}
			}
			uin_free(S.idtab);
			S.idtab = t;
			S.idcap = cap;
		}
	}
	if (!S.idcap)
		return; /* no table: found through parents only */
	uint32_t j = id_slot(sw->mount, sw->key.ino, S.idcap);
	sw->id_next = S.idtab[j];
	S.idtab[j] = sw;
	S.idn++;
}

static void idtab_remove(struct uin_scan_watch *sw)
{
	if (!S.idcap)
		return;
	struct uin_scan_watch **pp =
		&S.idtab[id_slot(sw->mount, sw->key.ino, S.idcap)];
	while (*pp && *pp != sw)
		pp = &(*pp)->id_next;
	if (*pp) {
		*pp = sw->id_next;
		S.idn--;
	}
	sw->id_next = NULL;
}

static bool same_type(uint32_t mode_a, uint32_t mode_b)
{
	return (mode_a & S_IFMT) == (mode_b & S_IFMT);
}

/* The live watch of object (m, ino, btime_h, type), or NULL. */
static struct uin_scan_watch *idtab_find(const struct uin_mount *m,
					 uint64_t ino, uint32_t btime_h,
					 uint32_t mode)
{
	if (!S.idcap)
		return NULL;
	for (struct uin_scan_watch *w =
		     S.idtab[id_slot(m, ino, S.idcap)];
	     w; w = w->id_next) {
		if (w->mount != m || w->key.ino != ino ||
		    atomic_load(&w->dead) || w->fd < 0)
			continue;
		uint32_t wb = w->key.btime_ns
				      ? uin_scan_hash32(w->key.btime_ns,
							0x62746d) | 1
				      : 0;
		if (btime_h && wb && wb != btime_h)
			continue;
		if (!same_type(w->key.type, mode))
			continue;
		return w;
	}
	return NULL;
}

/*
 * The watched object at entry `name` of d: by identity where inode
 * numbers are stable, else by name among d's children.
 */
static struct uin_scan_watch *watched_at(struct uin_scan_watch *d,
					 const char *name,
					 const struct scan_ent *e)
{
	if (d->mount->ino_stable)
		return idtab_find(d->mount, e->ino, e->btime_h, e->mode);
	for (struct uin_scan_watch *c = d->child_head; c; c = c->sib_next)
		if (c->pname && !strcmp(c->pname, name) && c->fd >= 0 &&
		    !atomic_load(&c->dead))
			return c;
	return NULL;
}

/* Parents and anchors --------------------------------------------------------- */

static void hot_add(struct uin_scan_watch *d, uint32_t idx, uint32_t now);

static void unlink_parent(struct uin_scan_watch *c)
{
	struct uin_scan_watch *p = c->parent;
	if (!p)
		return;
	if (c->pidx < p->snap.n && p->snap.ents[c->pidx].ino == c->key.ino) {
		p->snap.ents[c->pidx].flags &= ~ENT_SW;
		/* A close-write due still goes to the directory. */
		if (p->snap.ents[c->pidx].flags & ENT_CW)
			hot_add(p, c->pidx, now_ms());
	}
	if (c->sib_prev)
		c->sib_prev->sib_next = c->sib_next;
	else
		p->child_head = c->sib_next;
	if (c->sib_next)
		c->sib_next->sib_prev = c->sib_prev;
	c->sib_next = c->sib_prev = NULL;
	c->parent = NULL;
}

static bool set_pname(struct uin_scan_watch *c, const char *name)
{
	size_t len = strlen(name);
	char *n = uin_malloc(len + 1);
	if (!n)
		return false;
	memcpy(n, name, len + 1);
	uin_free(c->pname);
	c->pname = n;
	return true;
}

/* c is now entry idx (named name) of directory p. */
static void link_parent(struct uin_scan_watch *c, struct uin_scan_watch *p,
			uint32_t idx, const char *name)
{
	if (c->parent != p) {
		unlink_parent(c);
		c->parent = p;
		c->sib_prev = NULL;
		c->sib_next = p->child_head;
		if (p->child_head)
			p->child_head->sib_prev = c;
		p->child_head = c;
	}
	c->pidx = idx;
	if (!c->pname || strcmp(c->pname, name))
		set_pname(c, name);
	close_fd(&c->anchor_fd);
	p->snap.ents[idx].flags |= ENT_SW;
	p->snap.ents[idx].flags &= ~ENT_HOT; /* checked as a child */
}

/*
 * Find where c is from its descriptor (/proc/self/fd/N: the kernel's
 * current path of it): a scanned parent directory holding it, else an
 * anchor.  Without /proc, or for "/", c has no location: its renames are
 * then not reported (docs/scanner.md).
 */
static void locate(struct uin_scan_watch *c)
{
	char link[40], path[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", c->fd);
	ssize_t n = UIN_SYS_RETRY("scan.locate.readlink",
				  readlink(link, path, sizeof path - 1));
	if (n <= 0 || path[0] != '/')
		return;
	path[n] = '\0';
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if ((size_t)n > dl && !strcmp(path + n - dl, deleted))
		return;
	char *slash = strrchr(path, '/');
	if (!slash[1])
		return; /* the root */
	char *base = slash + 1;
	char dirpath[PATH_MAX];
	size_t dlen = slash == path ? 1 : (size_t)(slash - path);
	memcpy(dirpath, path, dlen);
	dirpath[dlen] = '\0';

	struct scan_attrs da;
	int dfd = open_path(AT_FDCWD, dirpath, true);
	if (dfd < 0)
		return;
	if (uin_scan_sx(dfd, NULL, false, &da) < 0) {
		close_fd(&dfd);
		return;
	}
	/* A scanned directory of the same mount record holding c? */
	for (struct uin_scan_watch *p =
		     S.idcap ? S.idtab[id_slot(c->mount, da.ino, S.idcap)]
			     : NULL;
	     p; p = p->id_next) {
		if (p == c || p->mount != c->mount || !p->is_dir ||
		    p->key.ino != da.ino || p->fd < 0 ||
		    atomic_load(&p->dead))
			continue;
		if (!p->ix.cap && uin_scan_index_build(&p->ix, &p->snap))
			continue;
		long i = uin_scan_index_find(&p->ix, &p->snap, base,
					     uin_scan_hash(base, strlen(base)));
		if (i >= 0 && (p->snap.ents[i].ino == c->key.ino ||
			       !c->mount->ino_stable)) {
			link_parent(c, p, (uint32_t)i, base);
			close_fd(&dfd);
			return;
		}
	}
	if (set_pname(c, base)) {
		close_fd(&c->anchor_fd);
		c->anchor_fd = dfd;
		c->anchor_dev = da.dev;
		c->anchor_ino = da.ino;
	} else {
		close_fd(&dfd);
	}
}

/* Snapshots of directories ---------------------------------------------------- */

/* Make entry idx of d hot (changed now). */
static void hot_add(struct uin_scan_watch *d, uint32_t idx, uint32_t now)
{
	struct scan_ent *e = &d->snap.ents[idx];
	if (e->flags & (ENT_HOT | ENT_SW))
		return;
	if (d->nhot == d->hotcap) {
		uint32_t cap = d->hotcap ? d->hotcap * 2 : 8;
		void *v = uin_realloc(d->hot, (size_t)cap * sizeof *d->hot);
		if (!v)
			return; /* stays cold: found again by the rotation */
		d->hot = v;
		d->hotcap = cap;
	}
	d->hot[d->nhot++] = (struct scan_hot){.idx = idx, .changed_ms = now};
	e->flags |= ENT_HOT;
}

/* Per tick: the changes found by reading directories. */
struct rm_rec {
	struct uin_scan_watch *dir;
	struct scan_ent ent;   /* as last known */
	char *name;            /* owned */
	long add;              /* the appearance it pairs with, or -1 */
	long replaced_by;      /* the appearance that took its name, or -1 */
	bool done;
	bool torn;             /* from a read the directory changed under */
	bool deferred;         /* held back from the last tick */
};
struct add_rec {
	struct uin_scan_watch *dir;
	uint32_t idx;          /* in dir->snap */
	long rm;               /* the disappearance it pairs with, or -1 */
	long replaces;         /* the disappearance whose name it took */
	struct scan_attrs a;
	bool torn, deferred, cancelled;
	char *name;            /* owned, while held back */
};
struct changes {
	struct rm_rec *rm;
	size_t nrm, caprm;
	struct add_rec *add;
	size_t nadd, capadd;
	bool lost; /* an allocation failed: some changes went unrecorded */
};

static long ch_rm(struct changes *ch, struct uin_scan_watch *d,
		  const struct scan_ent *e, const char *name)
{
	if (ch->nrm == ch->caprm) {
		size_t cap = ch->caprm ? ch->caprm * 2 : 16;
		void *v = uin_realloc(ch->rm, cap * sizeof *ch->rm);
		if (!v) {
			ch->lost = true;
			return -1;
		}
		ch->rm = v;
		ch->caprm = cap;
	}
	size_t len = strlen(name);
	char *n = uin_malloc(len + 1);
	if (!n) {
		ch->lost = true;
		return -1;
	}
	memcpy(n, name, len + 1);
	ch->rm[ch->nrm] = (struct rm_rec){.dir = d, .ent = *e, .name = n,
					  .add = -1, .replaced_by = -1};
	return (long)ch->nrm++;
}

static long ch_add(struct changes *ch, struct uin_scan_watch *d, uint32_t idx,
		   const struct scan_attrs *a, long replaces)
{
	if (ch->nadd == ch->capadd) {
		size_t cap = ch->capadd ? ch->capadd * 2 : 16;
		void *v = uin_realloc(ch->add, cap * sizeof *ch->add);
		if (!v) {
			ch->lost = true;
			return -1;
		}
		ch->add = v;
		ch->capadd = cap;
	}
	ch->add[ch->nadd] = (struct add_rec){.dir = d, .idx = idx, .rm = -1,
					     .replaces = replaces, .a = *a};
	return (long)ch->nadd++;
}

static void ch_free(struct changes *ch)
{
	for (size_t i = 0; i < ch->nrm; i++)
		uin_free(ch->rm[i].name);
	for (size_t i = 0; i < ch->nadd; i++)
		uin_free(ch->add[i].name);
	uin_free(ch->rm);
	uin_free(ch->add);
	memset(ch, 0, sizeof *ch);
}

/*
 * Held back from the last tick: what a torn read found unpaired (getdents
 * is not atomic: a name renamed while the directory is read may be
 * listed twice or not at all).  One tick later it pairs with what the
 * next read finds, or is reported as it is.  [D]
 */
static struct changes deferred;

/* Forget what is held back about directory d (it is being freed). */
static void deferred_forget(struct uin_scan_watch *d)
{
	size_t n = 0;
	for (size_t i = 0; i < deferred.nrm; i++) {
		if (deferred.rm[i].dir == d)
			uin_free(deferred.rm[i].name);
		else
			deferred.rm[n++] = deferred.rm[i];
	}
	deferred.nrm = n;
	n = 0;
	for (size_t i = 0; i < deferred.nadd; i++) {
		if (deferred.add[i].dir == d)
			uin_free(deferred.add[i].name);
		else
			deferred.add[n++] = deferred.add[i];
	}
	deferred.nadd = n;
}

/*
 * Our read of d causes OPEN/ACCESS/CLOSE_NOWRITE|ISDIR on the kernel side;
 * when a kernel watch reports those, bracket the read with drains and drop
 * them (kernel.c, mute).
 */
/*
 * The name d has now, as the kernel will give it in its parent's P event:
 * the last component of its descriptor's path, which follows renames the
 * scanner has not taken in yet (a local rename the kernel just reported:
 * d->pname is still the old name, d->parent perhaps the old parent).
 * Empty when unknown (no /proc, the root of the mount, deleted).
 */
static void current_name(const struct uin_scan_watch *d, char out[NAME_MAX + 1])
{
	char proc[40], path[PATH_MAX];
	out[0] = 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->fd);
	ssize_t n = UIN_SYS_RETRY("scan.mute.readlink",
				  readlink(proc, path, sizeof path - 1));
	if (n <= 1 || n >= (ssize_t)sizeof path - 1)
		return;
	path[n] = 0;
	if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
		return;
	const char *base = strrchr(path, '/');
	if (base && base[1] && strlen(base + 1) <= NAME_MAX)
		snprintf(out, NAME_MAX + 1, "%s", base + 1);
}

/*
 * The kernel watch that would report a read of d in its parent, when d is
 * linked to none: a watched parent whose snapshot does not have d's name
 * yet (a directory made here and watched at once: the parent learns the
 * name at its next read) still has a kernel watch that sees the read.
 * Found by the identity of "..".  -1 if none asks for reads.
 */
static int unlinked_parent_kwd(const struct uin_scan_watch *d)
{
	if (!S.idcap || d->fd < 0)
		return -1;
	struct scan_attrs pa;
	if (uin_scan_sx(d->fd, "..", false, &pa) < 0 || pa.ino == d->key.ino)
		return -1;
	int kwd = -1;
	for (struct uin_scan_watch *p =
		     S.idtab[id_slot(d->mount, pa.ino, S.idcap)];
	     p && kwd < 0; p = p->id_next) {
		if (p == d || p->mount != d->mount || !p->is_dir ||
		    p->key.ino != pa.ino || p->key.dev != pa.dev ||
		    atomic_load(&p->dead))
			continue;
		uin_sources_lock();
		kwd = uin_kernel_reads_kwd(p->si);
		uin_sources_unlock();
	}
	return kwd;
}

static int read_dir_quiet(struct uin_scan_watch *d, struct scan_dents *dents)
{
	int self_kwd = -1, parent_kwd = -1;
	if (with_kernel(d)) {
		uin_sources_lock();
		self_kwd = uin_kernel_reads_kwd(d->si);
		if (d->parent && d->pname)
			parent_kwd = uin_kernel_reads_kwd(d->parent->si);
		uin_sources_unlock();
		if (!d->parent)
			parent_kwd = unlinked_parent_kwd(d);
	}
	/* Muted when a kernel watch on d or on the parent we know asks for
	 * reads.  The P half is then matched by name in whichever watched
	 * directory holds d now (UIN_KERNEL_ANY_WD): its parent may have
	 * changed since the scanner last looked. */
	bool mute = self_kwd >= 0 || parent_kwd >= 0;
	char name[NAME_MAX + 1] = "";
	if (mute)
		uin_loop_run_drains();
	if (d->fd < 0)
		return -ENOENT; /* ended by what the kernel said */
	if (mute)
		current_name(d, name);
	if (d->fd < 0)
		return -ENOENT; /* ended by what the kernel said */
	STAT_ADD(dir_reads, 1);
	int err = uin_scan_read_dir(d->fd, dents);
	if (mute) {
		uin_kernel_mute_reads(self_kwd, UIN_KERNEL_ANY_WD,
				      name[0] ? name : NULL);
		uin_loop_run_drains();
		uin_kernel_unmute_reads();
		if (d->fd < 0)
			return -ENOENT;
	}
	return err;
}

/*
 * Read d and compare with its snapshot.  With ch, record what left and
 * what appeared (reported later); without, take the directory as it is
 * (the first snapshot, a silent resync).  Entries that appeared are
 * statx'd now (their identity and first attributes).  0, or -errno (the
 * directory is unreadable: ENOENT/ESTALE when it is gone).
 */
static int read_and_compare(struct uin_scan_watch *d, struct changes *ch)
{
	struct scan_dents *dn = uin_scan_thread_dents();
	if (!dn)
		return -ENOMEM;
	int64_t started = real_ns();
	int err = read_dir_quiet(d, dn);
	if (err)
		return err;
	d->read_this_tick = true;
	d->prev_read_ns = d->last_read_ns;
	d->last_read_ns = started;
	d->prev_read_torn = d->last_read_torn;
	d->last_read_torn = false;
	uin_scan_index_free(&d->ix);

	struct scan_snap *old = &d->snap;
	struct scan_snap ns = {0};
	uint32_t *map = NULL; /* old index -> new index */
	if (uin_scan_snap_reserve(&ns, dn->n ? dn->n : 1,
				  dn->names_len ? dn->names_len : 1))
		goto nomem;
	if (old->n) {
		map = uin_malloc((size_t)old->n * sizeof *map);
		if (!map)
			goto nomem;
		for (uint32_t i = 0; i < old->n; i++) {
			map[i] = UINT32_MAX;
			old->ents[i].flags &= ~ENT_SEEN;
		}
	}
	struct scan_index ix = {0};
	bool slow = false;
	uint32_t j = 0;
	bool stable = d->mount->ino_stable;
	for (uint32_t i = 0; i < dn->n; i++) {
		const struct scan_dent *de = &dn->v[i];
		const char *name = dn->names + de->name_off;
		long oi = -1;
		/* getdents order is stable while a directory does not
		 * change: compare in step, index only after a mismatch. */
		if (!slow && j < old->n && !strcmp(snap_name(old, j), name)) {
			oi = j++;
		} else if (old->n) {
			if (!slow) {
				slow = true;
				if (uin_scan_index_build(&ix, old))
					goto nomem_ix;
			}
			oi = uin_scan_index_find(&ix, old, name,
						 uin_scan_hash(name,
							       de->name_len));
		}
		long replaces = -1;
		if (oi >= 0 && !(old->ents[oi].flags & ENT_SEEN)) {
			struct scan_ent *oe = &old->ents[oi];
			oe->flags |= ENT_SEEN;
			bool type_ok = de->type == DT_UNKNOWN ||
				       DTTOIF(de->type) == (oe->mode & S_IFMT);
			if (type_ok && (!stable || oe->ino == de->ino)) {
				long ni = uin_scan_snap_append(&ns, oe, name,
							       de->name_len);
				if (ni < 0)
					goto nomem_ix;
				ns.ents[ni].flags &= ENT_HOT | ENT_MNT | ENT_CW;
				map[oi] = (uint32_t)ni;
				continue;
			}
			/* Same name, another object. */
			if (ch)
				replaces = ch_rm(ch, d, oe, name);
		}
		struct scan_attrs a;
		int e = uin_scan_sx(d->fd, name, force_self(d), &a);
		if (e < 0 && e != -ENOENT && e != -ENOTDIR) {
			/* FUSE makes a node whose type changed bad (EIO) and
			 * looks the name up afresh on the next call. */
			e = uin_scan_sx(d->fd, name, force_self(d), &a);
		}
		if (e == -ENOENT || e == -ENOTDIR)
			continue; /* gone again already: never seen */
		if (e < 0) {
			/* Unknown for now: keep what we had, look again. */
			d->reread = true;
			if (replaces >= 0) {
				uin_free(ch->rm[replaces].name);
				ch->nrm--;
			}
			if (oi >= 0) {
				long ni = uin_scan_snap_append(
					&ns, &old->ents[oi], name, de->name_len);
				if (ni < 0)
					goto nomem_ix;
				ns.ents[ni].flags &= ENT_HOT | ENT_MNT | ENT_CW;
				map[oi] = (uint32_t)ni;
			}
			continue;
		}
		if (replaces >= 0 && a.ino == ch->rm[replaces].ent.ino &&
		    same_type(a.mode, ch->rm[replaces].ent.mode)) {
			/* getdents' d_ino was not the object's (some FUSE
			 * filesystems): the same one after all. */
			uin_free(ch->rm[replaces].name);
			ch->nrm--;
			replaces = -1;
			struct scan_ent keep = old->ents[oi];
			long ni = uin_scan_snap_append(&ns, &keep, name,
						       de->name_len);
			if (ni < 0)
				goto nomem_ix;
			ns.ents[ni].flags &= ENT_HOT | ENT_MNT | ENT_CW;
			map[oi] = (uint32_t)ni;
			continue;
		}
		struct scan_ent ne = {0};
		uin_scan_ent_set(&ne, &a);
		if (a.dev != d->own.dev)
			ne.flags |= ENT_MNT;
		long ni = uin_scan_snap_append(&ns, &ne, name, de->name_len);
		if (ni < 0)
			goto nomem_ix;
		if (ch) {
			long ai = ch_add(ch, d, (uint32_t)ni, &a, replaces);
			if (replaces >= 0 && ai >= 0)
				ch->rm[replaces].replaced_by = ai;
		}
	}
	uin_scan_index_free(&ix);
	if (ch)
		for (uint32_t i = 0; i < old->n; i++)
			if (!(old->ents[i].flags & ENT_SEEN))
				ch_rm(ch, d, &old->ents[i], snap_name(old, i));

	/* The hot list and the children follow their entries. */
	uint32_t nh = 0;
	for (uint32_t i = 0; i < d->nhot; i++) {
		struct scan_hot h = d->hot[i];
		if (h.idx < old->n && map[h.idx] != UINT32_MAX) {
			h.idx = map[h.idx];
			d->hot[nh++] = h;
		}
	}
	d->nhot = nh;
	for (struct uin_scan_watch *c = d->child_head; c; c = c->sib_next) {
		if (c->pidx < old->n && map[c->pidx] != UINT32_MAX) {
			c->pidx = map[c->pidx];
			ns.ents[c->pidx].flags |= ENT_SW;
			ns.ents[c->pidx].flags &= ~ENT_HOT;
		} else {
			c->pidx = UINT32_MAX; /* its name left: see the rm */
		}
	}
	for (uint32_t i = 0; i < d->nhot; i++)
		if (ns.ents[d->hot[i].idx].flags & ENT_SW)
			d->hot[i].idx = UINT32_MAX;
	nh = 0;
	for (uint32_t i = 0; i < d->nhot; i++)
		if (d->hot[i].idx != UINT32_MAX)
			d->hot[nh++] = d->hot[i];
	d->nhot = nh;
	uin_free(map);
	uin_scan_snap_free(old);
	*old = ns;
	return 0;

nomem_ix:
	uin_scan_index_free(&ix);
nomem:
	uin_free(map);
	uin_scan_snap_free(&ns);
	if (ch)
		ch->lost = true;
	return -ENOMEM;
}

/* Watched objects that a directory's entries turn out to be. */
static void adopt_children(struct uin_scan_watch *d)
{
	if (!S.idn || !d->mount->ino_stable)
		return;
	for (uint32_t i = 0; i < d->snap.n; i++) {
		struct scan_ent *e = &d->snap.ents[i];
		if (e->flags & ENT_SW)
			continue;
		struct uin_scan_watch *c =
			idtab_find(d->mount, e->ino, e->btime_h, e->mode);
		if (c && c != d && !c->parent)
			link_parent(c, d, i, snap_name(&d->snap, i));
	}
}

/* Attach, update, detach, reap ------------------------------------------------- */

static void tick_cb(void *arg, uint32_t events);

/* The tick timer, made if there is none: 0, or -ENOSPC when no
 * descriptor is left for it (a resource, for inotify_add_watch), -ENOMEM. */
static int ensure_timer(void)
{
	if (S.timer)
		return 0;
	int err = uin_loop_add_timer(tick_cb, NULL, &S.timer);
	if (err < 0) {
		S.timer = NULL;
		return err == -EMFILE || err == -ENFILE ? -ENOSPC : err;
	}
	return 0;
}

static void arm(uint64_t delay_ns)
{
	if (ensure_timer() < 0)
		return;
	uin_loop_timer_set(S.timer, delay_ns ? delay_ns : 1, 0);
}

static void arm_soon(void)
{
	if (!S.in_tick)
		arm(1000);
}

static void all_append(struct uin_scan_watch *sw)
{
	sw->all_prev = S.all_tail;
	sw->all_next = NULL;
	if (S.all_tail)
		S.all_tail->all_next = sw;
	else
		S.all_head = sw;
	S.all_tail = sw;
	S.nall++;
}

static void all_remove(struct uin_scan_watch *sw)
{
	if (S.cold_sw == sw)
		S.cold_sw = sw->all_next;
	if (sw->all_prev)
		sw->all_prev->all_next = sw->all_next;
	else
		S.all_head = sw->all_next;
	if (sw->all_next)
		sw->all_next->all_prev = sw->all_prev;
	else
		S.all_tail = sw->all_prev;
	sw->all_next = sw->all_prev = NULL;
	S.nall--;
}

static void sw_free(struct uin_scan_watch *sw)
{
	if (sw->in_table) {
		all_remove(sw);
		idtab_remove(sw);
	}
	/* Children keep their location through an anchor: our directory. */
	while (sw->child_head) {
		struct uin_scan_watch *c = sw->child_head;
		unlink_parent(c);
		if (sw->fd >= 0 && c->anchor_fd < 0 && c->pname) {
			c->anchor_fd = dup_fd(sw->fd);
			c->anchor_dev = sw->key.dev;
			c->anchor_ino = sw->key.ino;
		}
	}
	unlink_parent(sw);
	deferred_forget(sw);
	close_fd(&sw->fd);
	close_fd(&sw->anchor_fd);
	uin_free(sw->pname);
	uin_scan_snap_free(&sw->snap);
	uin_scan_index_free(&sw->ix);
	uin_scan_ledger_free(&sw->ledger);
	uin_free(sw->hot);
	if (sw->mount_pinned)
		uin_mount_unpin(sw->mount); /* may free it: last use */
	uin_free(sw);
}
/*
 * When a directory's first full read falls due, within a second, spread
 * so that many watches added at once do not all read on the same tick.
 * Taken from the directory's identity: the host program's rand() stays
 * its own (its sequence is not advanced, and rand() is not thread-safe).
 */
static uint32_t list_spread_ms(const struct uinotify_key *k)
{
	uint64_t h = k->dev * 0x9e3779b97f4a7c15ull ^ k->ino;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)(h % 1000);
}


static void catch_up(struct uin_scan_watch *sw);

int uin_scan_attach(struct uin_src_inode *si, const struct uin_resolved *r,
		    enum uin_scan_mode mode)
{
	uin_loop_assert_dispatch();
	pthread_once(&params_once, params_init);
	uin_sources_lock();
	struct uin_scan_watch *old = si->sw;
	uin_sources_unlock();
	if (old) {
		/* A watch is about to be added to this inode, or changed:
		 * what changed before meets the watches as they are. */
		if (old->is_dir && old->mode == UIN_SCAN_TICK)
			catch_up(old);
		if (mode == UIN_SCAN_TICK && old->mode == UIN_SCAN_SHADOW) {
			int err = ensure_timer();
			if (err)
				return err;
			old->mode = UIN_SCAN_TICK;
			arm_soon();
		}
		return 0;
	}

	struct uin_scan_watch *sw = uin_calloc(1, sizeof *sw);
	if (!sw)
		return -ENOMEM;
	sw->anchor_fd = -1;
	sw->fd = dup_fd(r->fd);
	if (sw->fd < 0) {
		int e = errno;
		uin_free(sw);
		return e == EMFILE || e == ENFILE ? -ENOSPC : -e;
	}
	sw->mount = si->mount;
	sw->key = r->key;
	sw->is_dir = S_ISDIR(r->stx.stx_mode);
	sw->mode = mode;
	sw->pidx = UINT32_MAX;
	static uint32_t slots;
	sw->anchor_slot = slots++;
	atomic_init(&sw->dead, false);
	int err = uin_scan_sx(sw->fd, NULL, force_self(sw), &sw->own);
	if (err) {
		close_fd(&sw->fd);
		uin_free(sw);
		return err == -EMFILE ? -ENOSPC : err;
	}
	/* Known before the first read: the kernel watches (ours and the
	 * parent's) that would report that read (read_dir_quiet). */
	uin_sources_lock();
	sw->si = si;
	sw->mount->pins++; /* dropped in sw_free */
	sw->mount_pinned = true;
	uin_sources_unlock();
	locate(sw);
	if (sw->is_dir) {
		err = read_and_compare(sw, NULL);
		if (err == -ENOMEM) {
			sw_free(sw);
			return -ENOMEM;
		}
		/* Unreadable (EACCES...): an empty snapshot; entries appear
		 * once it can be read. */
		sw->racy_until_ns = sw->own.ctime_ns + RACY_NS;
		sw->next_list_ms = now_ms() + list_spread_ms(&sw->key);
	}
	/* A watch that no tick would ever look at is no watch: the add
	 * fails rather than report nothing. */
	if (mode == UIN_SCAN_TICK && (err = ensure_timer()) < 0) {
		sw_free(sw);
		return err;
	}
	if (sw->is_dir)
		adopt_children(sw);
	all_append(sw);
	idtab_insert(sw);
	sw->in_table = true;

	uin_sources_lock();
	si->sw = sw;
	sw->si = si;
	sw->need = si->need;
	sw->watched = si->watched;
	uin_sources_unlock();
	if (mode == UIN_SCAN_TICK && !S.in_tick)
		arm((uint64_t)P(UIN_SCAN_INTERVAL_MS) * 1000000u);
	return 0;
}

void uin_scan_update(struct uin_src_inode *si)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_scan_watch *sw = si->sw;
	if (!sw)
		return;
	sw->need = si->need;
	sw->watched = si->watched;
}

void uin_scan_detach(struct uin_src_inode *si)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_scan_watch *sw = si->sw;
	if (!sw)
		return;
	sw->si = NULL;
	atomic_store(&sw->dead, true);
	si->sw = NULL;
	uin_loop_post(&S.reap_job); /* ENOMEM-free; failure: next reap */
}

/* On the loop thread: free the watches whose inodes were released. */
static void reap(void)
{
	struct uin_scan_watch *sw = S.all_head, *next;
	for (; sw; sw = next) {
		next = sw->all_next;
		if (atomic_load(&sw->dead))
			sw_free(sw);
	}
	if (!S.all_head && S.timer) {
		uin_loop_del(S.timer);
		S.timer = NULL;
	}
}

static void reap_job_fn(struct uin_loop_job *job)
{
	(void)job;
	if (!S.in_tick)
		reap();
}

/* Deaths and moves ------------------------------------------------------------ */

/*
 * c's object is gone (its last link, or its descriptor reaches nothing):
 * ATTRIB first for a file whose link count dropped (the kernel's unlink),
 * then DELETE_SELF and IGNORED to its watches.
 */
static bool sw_dead(struct uin_scan_watch *c, struct scan_attrs *now);
static void relocate_unknown(struct uin_scan_watch *c);

static void kill_sw(struct uin_scan_watch *c, bool attrib_first)
{
	if (c->fd < 0)
		return;
	struct uinotify_inode *cin = sw_inode(c);
	/* First, so that no child finds its way back here (locate). */
	close_fd(&c->fd);
	close_fd(&c->anchor_fd);
	c->gone = true;
	if (c->is_dir && c->snap.n) {
		/* A directory goes only once empty: the kernel reported each
		 * of its entries' deletion first (and the end of the watched
		 * ones among them), which we have not seen. */
		struct uin_scan_watch *cc;
		while ((cc = c->child_head)) {
			struct scan_attrs now;
			if (sw_dead(cc, &now))
				kill_sw(cc, cc->own.nlink > 0);
			else
				relocate_unknown(cc);
		}
		for (uint32_t i = 0; i < c->snap.n; i++)
			emit_p(c, cin, snap_name(&c->snap, i),
			       IN_DELETE | isdir_bit(c->snap.ents[i].mode), 0);
		uin_scan_snap_free(&c->snap);
		c->nhot = 0;
	}
	if (cin) {
		if (attrib_first && !c->is_dir)
			emit_s(c, cin, IN_ATTRIB);
		uinotify_hook_inode_dead(cin);
		STAT_ADD(events, 1);
		put_inode(cin);
	}
	unlink_parent(c);
}

/* Whether c's object has lost its last link; *now gets its attributes. */
/*
 * Whether the descriptor of c no longer reaches c's object: unlinked for
 * good (nlink 0), a stale handle, or, on FUSE filesystems that work by
 * path (bindfs...), the node now answering for whatever took its name.
 */
static bool stale(const struct uin_scan_watch *c, int err,
		  const struct scan_attrs *now)
{
	if (err)
		return err == -ENOENT || err == -ESTALE || err == -ENOTDIR;
	return now->nlink == 0 || !same_type(now->mode, c->key.type) ||
	       (c->mount->ino_stable && now->ino != c->key.ino);
}

/* Whether c's object is gone (see stale); *now gets its attributes. */
static bool sw_dead(struct uin_scan_watch *c, struct scan_attrs *now)
{
	if (c->fd < 0)
		return true;
	int err = uin_scan_sx(c->fd, NULL, force_self(c), now);
	if (stale(c, err, now))
		return true;
	if (err)
		*now = c->own; /* no answer (EIO, ENOMEM): nothing changed */
	return false;
}

/* A new descriptor for c from its (new) name in dirfd; verifies it. */
static bool reopen_at(struct uin_scan_watch *c, int dirfd, const char *name)
{
	int fd = open_path(dirfd, name, c->is_dir);
	if (fd < 0)
		return false;
	struct scan_attrs a;
	if (uin_scan_sx(fd, NULL, force_self(c), &a) < 0 ||
	    (c->mount->ino_stable && a.ino != c->key.ino) ||
	    !same_type(a.mode, c->key.type)) {
		close_fd(&fd);
		return false;
	}
	close_fd(&c->fd);
	c->fd = fd;
	c->cur = a;
	c->cur_ok = true;
	c->gone = false;
	c->gone_ticks = 0;
	return true;
}

/* c was renamed out of every scanned directory: anchor it where its
 * descriptor says it is now. */
static void relocate_unknown(struct uin_scan_watch *c)
{
	unlink_parent(c);
	close_fd(&c->anchor_fd);
	uin_free(c->pname);
	c->pname = NULL;
	if (c->fd >= 0)
		locate(c);
}

/* Phase 3: report what the directories' comparisons found ------------------- */

/* The engine inode of directory d for this tick (cached in the rm/add
 * walk by the caller). */
struct dcache {
	struct uin_scan_watch *d;
	struct uinotify_inode *in;
};

static struct uinotify_inode *dir_inode(struct dcache *c,
					struct uin_scan_watch *d)
{
	if (c->d != d) {
		put_inode(c->in);
		c->d = d;
		c->in = sw_inode(d);
	}
	return c->in;
}


/*
 * The object that lost name r (not renamed within sight): if it is
 * watched, the kernel would have reported its end first (ATTRIB,
 * DELETE_SELF, IGNORED) or, when only a link went, an ATTRIB; a watched
 * object still alive with as many links was renamed out of sight:
 * MOVED_FROM and MOVE_SELF instead of DELETE.
 */
static void report_vanished(struct rm_rec *r, struct dcache *dc)
{
	struct uin_scan_watch *d = r->dir;
	struct uin_scan_watch *c = watched_at(d, r->name, &r->ent);
	if (c && c != d) {
		struct scan_attrs now;
		if (sw_dead(c, &now)) {
			kill_sw(c, c->own.nlink > 0);
		} else if (now.nlink < c->own.nlink) {
			struct uinotify_inode *cin = sw_inode(c);
			emit_s(c, cin, IN_ATTRIB);
			put_inode(cin);
			c->own.nlink = now.nlink;
		} else if (c->parent == d && c->pname &&
			   !strcmp(c->pname, r->name)) {
			struct uinotify_inode *din = dir_inode(dc, d);
			emit_p(d, din, r->name,
			       IN_MOVED_FROM | isdir_bit(r->ent.mode),
			       uinotify_cookie_next());
			struct uinotify_inode *cin = sw_inode(c);
			emit_s(c, cin, IN_MOVE_SELF);
			put_inode(cin);
			c->own = now; /* the rename's ctime is no ATTRIB */
			c->cur = now;
			relocate_unknown(c);
			return;
		}
	}
	struct uinotify_inode *din = dir_inode(dc, d);
	emit_p(d, din, r->name, IN_DELETE | isdir_bit(r->ent.mode), 0);
}

/* The object that an appearance took the name of (rename over it, or an
 * atomic replace): the kernel gives it ATTRIB (its link went), and its
 * end when that was its last link.  Returns it when it died, so that the
 * caller reports the end after MOVE_SELF, as the kernel orders them. */
static struct uin_scan_watch *report_overwritten(struct rm_rec *o)
{
	o->done = true;
	struct uin_scan_watch *oc = watched_at(o->dir, o->name, &o->ent);
	if (!oc || oc == o->dir)
		return NULL;
	struct scan_attrs now;
	bool dead = sw_dead(oc, &now);
	/* Not for a rename made here: the kernel gave the victim its ATTRIB
	 * then (and ended it, uin_scan_kernel_event); what has its identity
	 * now may be another file (ext4 reuses inode numbers at once, and
	 * FUSE gives no birth time). */
	if (!kernel_had(o->dir, o->name, LK_APPEAR)) {
		struct uinotify_inode *ocin = sw_inode(oc);
		emit_s(oc, ocin, IN_ATTRIB);
		put_inode(ocin);
	}
	if (!dead) {
		oc->own.nlink = now.nlink;
		if (oc->parent == o->dir)
			relocate_unknown(oc);
		return NULL;
	}
	return oc;
}

/* Whether c's anchor directory is d. */
static bool anchored_in(const struct uin_scan_watch *c,
			const struct uin_scan_watch *d)
{
	return c->anchor_fd >= 0 && c->anchor_ino == d->key.ino &&
	       c->anchor_dev == d->key.dev;
}

/*
 * c's object was renamed to a's name.  A watch made after that rename (the
 * parent's snapshot was older than the watch) already has c at the new
 * name: the kernel would have told it nothing, so neither do we.  Nor when
 * not_moved: the pair was an unlink and a link of this machine's.
 */
static void report_moved_sw(struct uin_scan_watch *c, struct add_rec *a,
			    bool not_moved)
{
	const char *name = snap_name(&a->dir->snap, a->idx);
	bool known_there = c->pname && !strcmp(c->pname, name) &&
			   (c->parent == a->dir ||
			    (!c->parent && anchored_in(c, a->dir)));
	if (!known_there && !not_moved) {
		struct uinotify_inode *cin = sw_inode(c);
		emit_s(c, cin, IN_MOVE_SELF);
		put_inode(cin);
	}
	if (c->gone || (c->fd >= 0 && uin_scan_sx(c->fd, NULL, false, &c->cur) < 0))
		reopen_at(c, a->dir->fd, name);
	/* The rename's ctime is no ATTRIB. */
	c->own = a->a;
	c->cur = a->a;
	link_parent(c, a->dir, a->idx, name);
}

/* Bring what the last tick held back into this tick's changes. */
static void merge_deferred(struct changes *ch)
{
	for (size_t i = 0; i < deferred.nrm; i++) {
		struct rm_rec *d = &deferred.rm[i];
		long k = ch_rm(ch, d->dir, &d->ent, d->name);
		if (k >= 0)
			ch->rm[k].deferred = true;
		uin_free(d->name);
	}
	deferred.nrm = 0;
	for (size_t i = 0; i < deferred.nadd; i++) {
		struct add_rec *d = &deferred.add[i];
		struct uin_scan_watch *dir = d->dir;
		long idx = -1;
		if (dir->fd >= 0 &&
		    (dir->ix.cap || !uin_scan_index_build(&dir->ix, &dir->snap)))
			idx = uin_scan_index_find(&dir->ix, &dir->snap, d->name,
						  uin_scan_hash(d->name,
								strlen(d->name)));
		long k = idx < 0 ? -1
				 : ch_add(ch, dir, (uint32_t)idx, &d->a, -1);
		if (k >= 0) {
			ch->add[k].deferred = true;
			ch->add[k].name = d->name;
		} else {
			/* Gone again: its disappearance in this tick's
			 * changes (same identity, same name) meets nothing
			 * and is dropped below. */
			for (size_t j = 0; j < ch->nrm; j++)
				if (ch->rm[j].dir == dir && !ch->rm[j].deferred &&
				    !strcmp(ch->rm[j].name, d->name) &&
				    ch->rm[j].ent.ino == d->a.ino)
					ch->rm[j].done = true;
			uin_free(d->name);
		}
	}
	deferred.nadd = 0;
}

/*
 * Whether a name gone and a name come with one identity can be one rename.
 * The kernel watches ask for the structure of what is scanned, so a rename
 * made here is in both halves' ledgers (MOVED_FROM, MOVED_TO), and one made
 * elsewhere in neither.  When only one half is this machine's, they are two
 * things: say an object overwritten here (its name the kernel reported come
 * again, never gone) that lives on under a link it had.
 */
static bool one_rename(const struct rm_rec *r, const struct add_rec *a)
{
	if (!with_kernel(r->dir))
		return true;
	const char *to = snap_name(&a->dir->snap, a->idx);
	bool gone_here = kernel_had(r->dir, r->name, LK_VANISH);
	bool came_here = kernel_had(a->dir, to, LK_APPEAR);
	if (gone_here || came_here)
		return gone_here && came_here;
	return !kernel_had(r->dir, r->name, LK_APPEAR);
}

static void pair_changes(struct changes *ch)
{
	if (!ch->nrm || !ch->nadd)
		return;
	uint32_t cap = 16;
	while (cap < ch->nrm * 2)
		cap *= 2;
	long *slots = uin_malloc(cap * sizeof *slots);
	if (!slots)
		return; /* reported as DELETE and CREATE */
	for (uint32_t i = 0; i < cap; i++)
		slots[i] = -1;
	for (size_t i = 0; i < ch->nrm; i++) {
		struct rm_rec *r = &ch->rm[i];
		if (!r->dir->mount->ino_stable)
			continue;
		uint32_t j = id_slot(r->dir->mount, r->ent.ino, cap);
		while (slots[j] >= 0)
			j = (j + 1) & (cap - 1);
		slots[j] = (long)i;
	}
	for (size_t ai = 0; ai < ch->nadd; ai++) {
		struct add_rec *a = &ch->add[ai];
		if (!a->dir->mount->ino_stable)
			continue;
		uint32_t bh = uin_scan_btime_h(&a->a);
		for (uint32_t j = id_slot(a->dir->mount, a->a.ino, cap);
		     slots[j] >= 0; j = (j + 1) & (cap - 1)) {
			struct rm_rec *r = &ch->rm[slots[j]];
			if (r->add >= 0 || r->done ||
			    r->dir->mount != a->dir->mount ||
			    r->ent.ino != a->a.ino ||
			    r->ent.btime_h != bh ||
			    !same_type(r->ent.mode, a->a.mode))
				continue;
			if (r->dir == a->dir && a->name &&
			    !strcmp(r->name, a->name)) {
				/* Held back, then gone again: never stable
				 * enough to report. */
				r->done = true;
				a->cancelled = true;
				break;
			}
			if (!one_rename(r, a))
				continue;
			r->add = (long)ai;
			a->rm = slots[j];
			break;
		}
	}
	uin_free(slots);
}

/*
 * Whether a name that appeared in d is an object renamed in from a
 * directory we do not watch (MOVED_TO) rather than a new one (CREATE):
 * it was born before our previous look at d, which did not list it.  A
 * birth time is needed (statx's btime), and is trusted only to the
 * second on shared mounts, whose clocks may differ from ours.  Objects
 * created and renamed in between two looks (or within 100 ms before the
 * first) count as created.
 */
static bool moved_in(const struct uin_scan_watch *d, const struct add_rec *r)
{
	const struct scan_attrs *a = &r->a;
	/* Both looks must be whole: a read the directory changed under may
	 * have missed a name that was there. */
	if (r->torn || r->deferred || d->prev_read_torn)
		return false;
	if (!a->has_btime || !d->prev_read_ns || a->btime_ns == 0)
		return false;
	if (!S_ISDIR(a->mode) && a->nlink != 1)
		return false; /* a new link: CREATE */
	/* File times come from the coarse clock, which lags ours by up to
	 * a jiffy. */
	int64_t margin = d->mount->shared ? 2000000000LL : 100000000LL;
	return (int64_t)a->btime_ns < d->prev_read_ns - margin;
}

static void report_changes(struct changes *ch, uint32_t now)
{
	struct dcache dc = {0}, dc2 = {0};
	bool cw = P(UIN_SCAN_CLOSE_WRITE_MS) > 0;

	/* Deletions first. */
	for (size_t i = 0; i < ch->nrm; i++) {
		struct rm_rec *r = &ch->rm[i];
		if (r->add >= 0 || r->replaced_by >= 0 || r->done)
			continue;
		r->done = true;
		if (r->torn && !r->deferred &&
		    !kernel_had(r->dir, r->name, LK_VANISH)) {
			/* Perhaps renamed: pair it on the next tick (unless
			 * the kernel reported it: then it is covered now). */
			long k = ch_rm(&deferred, r->dir, &r->ent, r->name);
			if (k >= 0)
				continue;
		}
		report_vanished(r, &dc);
	}
	/* Renames, each a MOVED_FROM/MOVED_TO pair with its own cookie. */
	for (size_t i = 0; i < ch->nrm; i++) {
		struct rm_rec *r = &ch->rm[i];
		if (r->add < 0)
			continue;
		r->done = true;
		struct add_rec *a = &ch->add[r->add];
		const char *to = snap_name(&a->dir->snap, a->idx);
		uint32_t isdir = isdir_bit(r->ent.mode);
		/* Both halves this machine's (the kernel watches ask for
		 * the structure and MOVE_SELF of what is scanned): if the
		 * kernel said no MOVE_SELF, the object was not renamed, its
		 * name went and another link of it came (unlink, link). */
		bool local = kernel_had(r->dir, r->name, LK_VANISH) &&
			     kernel_had(a->dir, to, LK_APPEAR);
		uint32_t cookie = uinotify_cookie_next();
		emit_p(r->dir, dir_inode(&dc, r->dir), r->name,
		       IN_MOVED_FROM | isdir, cookie);
		emit_p(a->dir, dir_inode(&dc2, a->dir), to,
		       IN_MOVED_TO | isdir, cookie);
		struct uin_scan_watch *dead = NULL;
		if (a->replaces >= 0 && ch->rm[a->replaces].add < 0)
			dead = report_overwritten(&ch->rm[a->replaces]);
		struct uin_scan_watch *c = NULL;
		if (a->dir->mount->ino_stable)
			c = idtab_find(a->dir->mount, a->a.ino,
				       uin_scan_btime_h(&a->a), a->a.mode);
		if (c && c != a->dir && c != r->dir)
			report_moved_sw(c, a,
					local && !(c->self_kernel & LK_MOVE));
		if (dead)
			kill_sw(dead, false);
		hot_add(a->dir, a->idx, now);
	}
	/* Creations, and names whose object was replaced. */
	for (size_t ai = 0; ai < ch->nadd; ai++) {
		struct add_rec *a = &ch->add[ai];
		if (a->rm >= 0 || a->cancelled)
			continue;
		struct uin_scan_watch *d = a->dir;
		const char *name = snap_name(&d->snap, a->idx);
		if (a->torn && !a->deferred && a->replaces < 0 &&
		    !kernel_had(d, name, LK_APPEAR)) {
			long k = ch_add(&deferred, d, a->idx, &a->a, -1);
			if (k >= 0) {
				size_t len = strlen(name);
				deferred.add[k].name = uin_malloc(len + 1);
				if (deferred.add[k].name) {
					memcpy(deferred.add[k].name, name,
					       len + 1);
					continue;
				}
				deferred.nadd--;
			}
		}
		uint32_t isdir = isdir_bit(a->a.mode);
		struct uin_scan_watch *c = NULL;
		if (d->mount->ino_stable)
			c = idtab_find(d->mount, a->a.ino,
				       uin_scan_btime_h(&a->a), a->a.mode);
		bool created = false;
		if (a->replaces >= 0 && ch->rm[a->replaces].add < 0) {
			emit_p(d, dir_inode(&dc, d), name, IN_MOVED_TO | isdir,
			       uinotify_cookie_next());
			struct uin_scan_watch *dead =
				report_overwritten(&ch->rm[a->replaces]);
			if (dead)
				kill_sw(dead, false);
		} else if (moved_in(d, a)) {
			emit_p(d, dir_inode(&dc, d), name, IN_MOVED_TO | isdir,
			       uinotify_cookie_next());
		} else {
			/* A new link of a watched object: its ATTRIB first,
			 * as fsnotify_link_count comes before the CREATE. */
			if (c && c != d && !c->gone &&
			    a->a.nlink != c->own.nlink) {
				struct uinotify_inode *cin = sw_inode(c);
				emit_s(c, cin, IN_ATTRIB);
				put_inode(cin);
				c->own.nlink = a->a.nlink;
			}
			created = emit_p(d, dir_inode(&dc, d), name,
					 IN_CREATE | isdir, 0);
		}
		if (c && c != d && !c->parent)
			link_parent(c, d, a->idx, name);
		hot_add(d, a->idx, now);
		/* Whoever created a regular file closed it; not so for a new
		 * link (two links or more) nor a name renamed in. */
		if (cw && created && S_ISREG(a->a.mode) && a->a.nlink == 1 &&
		    !kernel_had(d, name, LK_CW) &&
		    (d->snap.ents[a->idx].flags & ENT_HOT))
			d->snap.ents[a->idx].flags |= ENT_CW;
	}
	put_inode(dc.in);
	put_inode(dc2.in);
}

/* Phase 4: attributes ------------------------------------------------------------ */

struct tick_ctx {
	uint32_t now;
	uint32_t tick_no;
	uint32_t anchor_stride; /* anchors are checked 1 tick in this many */
	long cw_ms, hot_ms;
	long checks;     /* entry statx calls of the rotation */
	struct dcache dc;
};

/*
 * Compare entry idx of d with fresh attributes a and report.  c is the
 * watched object at that entry (S events), or NULL.  Returns whether the
 * entry changed.
 */
static bool check_entry(struct tick_ctx *t, struct uin_scan_watch *d,
			uint32_t idx, struct uin_scan_watch *c,
			const struct scan_attrs *a, bool silent)
{
	struct scan_ent *e = &d->snap.ents[idx];
	if (!same_type(e->mode, a->mode) ||
	    (d->mount->ino_stable && a->ino != e->ino)) {
		d->reread = true; /* another object now: next tick */
		return false;
	}
	/* The common case, nothing changed, without hashing the owner: a
	 * chown moves ctime. */
	if (e->ctime_ns == a->ctime_ns && e->mtime_ns == a->mtime_ns &&
	    e->size == a->size && e->mode == (uint16_t)a->mode &&
	    e->nlink_lo == (uint8_t)a->nlink) {
		if (c)
			c->own = *a;
		return false;
	}
	uint32_t p, s_only;
	uin_scan_classify(S_ISDIR(a->mode), e, a, &p, &s_only);
	if (e->flags & ENT_MNT)
		p = s_only = 0; /* the kernel reports no mount root's change
				   to the directory above */
	bool changed = p || s_only || e->ctime_ns != a->ctime_ns ||
		       e->size != a->size || e->mtime_ns != a->mtime_ns;
	uint32_t keep = e->name_off;
	uint8_t flags = e->flags;
	uin_scan_ent_set(e, a);
	e->name_off = keep;
	e->flags = flags;
	if (silent || !(p | s_only)) {
		if (c)
			c->own = *a;
		return changed;
	}
	const char *name = snap_name(&d->snap, idx);
	struct uinotify_inode *din = dir_inode(&t->dc, d);
	struct uinotify_inode *cin = c ? sw_inode(c) : NULL;
	uint32_t isdir = isdir_bit(a->mode);
	bool modified = false;
	if (p & IN_MODIFY) {
		modified = emit_p(d, din, name, IN_MODIFY, 0);
		if (c)
			emit_s(c, cin, IN_MODIFY);
	}
	if (p & IN_ATTRIB) {
		emit_p(d, din, name, IN_ATTRIB | isdir, 0);
		if (c)
			emit_s(c, cin, IN_ATTRIB);
	} else if (c && !c->is_dir && a->nlink != c->own.nlink) {
		emit_s(c, cin, IN_ATTRIB); /* the link count: S only */
	}
	put_inode(cin);
	if (c)
		c->own = *a;
	/* Only after a write we reported: the kernel reports the close of
	 * the writes it saw. */
	if (modified && S_ISREG(a->mode) && t->cw_ms > 0 &&
	    !kernel_had(d, name, LK_CW))
		e->flags |= ENT_CW;
	if (c)
		c->self_changed_ms = t->now;
	return true;
}

/* The synthesised CLOSE_WRITE of entry idx of d, if it is due. */
static void close_write_due(struct tick_ctx *t, struct uin_scan_watch *d,
			    uint32_t idx, struct uin_scan_watch *c)
{
	const char *name = snap_name(&d->snap, idx);
	d->snap.ents[idx].flags &= ~ENT_CW;
	if (kernel_had(d, name, LK_CW | LK_MODIFY))
		return; /* the kernel saw a real close (or is still seeing
			   writes, whose close it will report) */
	emit_p(d, dir_inode(&t->dc, d), name, IN_CLOSE_WRITE, 0);
	if (c) {
		struct uinotify_inode *cin = sw_inode(c);
		emit_s(c, cin, IN_CLOSE_WRITE);
		put_inode(cin);
	}
}

static bool wants_attrs(const struct uin_scan_watch *d)
{
	return (d->need_d & ATTR_EVENTS) || d->child_head;
}

/* Hot entries, entries the kernel reported, and watched children. */
static void check_hot(struct tick_ctx *t, struct uin_scan_watch *d)
{
	bool silent = d->attrs_stale;
	bool force = force_ents(d);
	/* Names the kernel reported a change of: check them now, so that
	 * the change is taken in while the ledger still covers it. */
	if (d->ledger.used) {
		if (!d->ix.cap)
			uin_scan_index_build(&d->ix, &d->snap);
		for (uint32_t i = 0; i < d->ledger.cap && d->ix.cap; i++) {
			struct scan_ledger_item *it = &d->ledger.items[i];
			if (!it->h || !(it->kernel & (LK_MODIFY | LK_ATTRIB |
						      LK_CW | LK_APPEAR)))
				continue;
			for (uint32_t j = (uint32_t)it->h & (d->ix.cap - 1);
			     d->ix.slots[j]; j = (j + 1) & (d->ix.cap - 1)) {
				uint32_t k = d->ix.slots[j] - 1;
				if (d->ix.hashes[k] == it->h) {
					d->snap.ents[k].flags |= ENT_CHECK;
					break;
				}
			}
		}
	}
	uint32_t nh = 0;
	for (uint32_t i = 0; i < d->nhot; i++) {
		struct scan_hot h = d->hot[i];
		struct scan_ent *e = &d->snap.ents[h.idx];
		e->flags &= ~ENT_CHECK;
		struct scan_attrs a;
		int err = uin_scan_sx(d->fd, snap_name(&d->snap, h.idx), force, &a);
		if (err) {
			d->reread = true; /* gone: the next read says how */
			d->hot[nh++] = h;
			continue;
		}
		if (check_entry(t, d, h.idx, NULL, &a, silent)) {
			h.changed_ms = t->now;
		} else if ((e->flags & ENT_CW) &&
			   elapsed(h.changed_ms, t->now, t->cw_ms)) {
			close_write_due(t, d, h.idx, NULL);
		}
		if ((e->flags & ENT_CW) ||
		    !elapsed(h.changed_ms, t->now, t->hot_ms)) {
			d->hot[nh++] = h;
		} else {
			e->flags &= ~ENT_HOT;
		}
	}
	d->nhot = nh;
	/* Entries the kernel reported that were not hot. */
	if (d->ledger.used) {
		for (uint32_t i = 0; i < d->snap.n; i++) {
			struct scan_ent *e = &d->snap.ents[i];
			if (!(e->flags & ENT_CHECK))
				continue;
			e->flags &= ~ENT_CHECK;
			if (e->flags & ENT_SW)
				continue;
			struct scan_attrs a;
			if (uin_scan_sx(d->fd, snap_name(&d->snap, i), force, &a)) {
				d->reread = true;
				continue;
			}
			if (check_entry(t, d, i, NULL, &a, silent))
				hot_add(d, i, t->now);
		}
	}
	/* Watched children: every tick, with their own statx when they
	 * made one (directories do). */
	for (struct uin_scan_watch *c = d->child_head; c; c = c->sib_next) {
		if (c->pidx >= d->snap.n || c->gone || c->fd < 0)
			continue;
		struct scan_attrs a;
		if (c->cur_ok) {
			a = c->cur;
		} else if (uin_scan_sx(d->fd, snap_name(&d->snap, c->pidx),
			      force_self(c), &a)) {
			d->reread = true;
			continue;
		}
		bool changed = check_entry(t, d, c->pidx, c, &a, silent);
		if (!changed && (d->snap.ents[c->pidx].flags & ENT_CW) &&
		    elapsed(c->self_changed_ms, t->now, t->cw_ms))
			close_write_due(t, d, c->pidx, c);
	}
}

/*
 * A watched object with no scanned parent: its own attributes (S events
 * only), and whether it is still at its name in its anchor directory
 * (MOVE_SELF when not).
 */
/* Whether an anchored watch is no longer at its name: then MOVE_SELF, and
 * it is anchored where it is now. */
static bool anchor_moved(struct uin_scan_watch *sw)
{
	if (sw->anchor_fd < 0 || !sw->pname)
		return false;
	struct scan_attrs a;
	int err = uin_scan_sx(sw->anchor_fd, sw->pname, force_self(sw), &a);
	bool here = err == 0 && same_type(a.mode, sw->key.type) &&
		    (!sw->mount->ino_stable || a.ino == sw->key.ino);
	if (here || (err && err != -ENOENT && err != -ENOTDIR))
		return false;
	struct uinotify_inode *in = sw_inode(sw);
	emit_s(sw, in, IN_MOVE_SELF);
	put_inode(in);
	relocate_unknown(sw);
	return true;
}

/*
 * A watched object with no scanned parent: whether it is still at its
 * name in its anchor directory (MOVE_SELF when not), and its own
 * attributes (S events only).  Many such watches (each directory of a tree
 * watched on its own): at most ANCHORS_PER_TICK look at their name on one
 * tick, in turn, and any whose ctime moved (a rename moves it).
 */
static void check_self(struct tick_ctx *t, struct uin_scan_watch *sw)
{
	if (!sw->cur_ok)
		return;
	bool turn = t->anchor_stride <= 1 ||
		    !((sw->anchor_slot + t->tick_no) % t->anchor_stride);
	bool moved = (turn || sw->cur.ctime_ns != sw->own.ctime_ns) &&
		     anchor_moved(sw);
	struct scan_ent old = {0};
	uin_scan_ent_set(&old, &sw->own);
	if (moved || sw->kernel_moved)
		old.ctime_ns = sw->cur.ctime_ns; /* the rename's: no ATTRIB */
	sw->kernel_moved = false;
	uint32_t p, s_only;
	uin_scan_classify(sw->is_dir, &old, &sw->cur, &p, &s_only);
	if (sw->attrs_stale)
		p = s_only = 0;
	if (p | s_only) {
		struct uinotify_inode *in = sw_inode(sw);
		bool modified = (p & IN_MODIFY) && emit_s(sw, in, IN_MODIFY);
		if ((p | s_only) & IN_ATTRIB)
			emit_s(sw, in, IN_ATTRIB);
		put_inode(in);
		sw->self_changed_ms = t->now;
		if (modified && S_ISREG(sw->cur.mode) && t->cw_ms > 0)
			sw->self_cw = true;
	} else if (sw->self_cw &&
		   elapsed(sw->self_changed_ms, t->now, t->cw_ms)) {
		sw->self_cw = false;
		if (!(sw->self_kernel & (LK_CW | LK_MODIFY))) {
			struct uinotify_inode *in = sw_inode(sw);
			emit_s(sw, in, IN_CLOSE_WRITE);
			put_inode(in);
		}
	}
	sw->own = sw->cur;
}

/*
 * The rotation: from where the last tick stopped, statx up to quota
 * entries that were not checked as hot or as watched children; every
 * entry of every directory within the cold period.
 */
/* Fold the wall time per statx of a pass over d into its average. */
static void note_stat_wait(struct uin_scan_watch *d, uint64_t wall_ns,
			   size_t n)
{
	if (!n)
		return;
	uint64_t per = wall_ns / n;
	if (per > UINT32_MAX)
		per = UINT32_MAX;
	d->stat_wait_ns = d->stat_wait_ns
				  ? (uint32_t)((3 * (uint64_t)d->stat_wait_ns +
						per) / 4)
				  : (uint32_t)per;
}

/* Whether d's rotation uses the stat threads: a shared mount where a
 * statx waits (a network round trip, not a local FUSE daemon's CPU: on
 * two cores the threads there cost as much CPU again, and the budget
 * then halves the rotation's pace). */
static bool stat_threads_for(const struct uin_scan_watch *d,
			     unsigned threads)
{
	if (threads < 2 || !d->mount->shared)
		return false;
	uint64_t wait_ns = (uint64_t)P(UIN_SCAN_STAT_WAIT_US) * 1000u;
	return wait_ns == 0 || d->stat_wait_ns >= wait_ns;
}

/* Requests per batch of the cold rotation: enough to keep the stat
 * threads busy, small enough to need no allocation. */
#define COLD_BATCH 64

/*
 * The cold rotation's share of d: up to *quota entries from d->cold_idx,
 * in batches whose statx are made first (by the stat threads where they
 * pay, scan_pool.c) and then compared in order on this thread.
 */
static void cold_dir(struct tick_ctx *t, struct uin_scan_watch *d,
		     long *quota, unsigned threads)
{
	static struct uin_scan_stat_req req[COLD_BATCH]; /* [D] */
	static uint32_t idx[COLD_BATCH];
	bool force = force_ents(d);
	unsigned use = stat_threads_for(d, threads) ? threads : 1;
	while (d->cold_idx < d->snap.n && *quota > 0) {
		size_t n = 0;
		while (n < COLD_BATCH && d->cold_idx < d->snap.n &&
		       *quota > 0) {
			uint32_t i = d->cold_idx++;
			if (d->snap.ents[i].flags & (ENT_HOT | ENT_SW))
				continue;
			(*quota)--;
			t->checks++;
			req[n] = (struct uin_scan_stat_req){
				.dirfd = d->fd,
				.name = snap_name(&d->snap, i),
				.force = force,
			};
			idx[n++] = i;
		}
		uint64_t w0 = mono_ns();
		uin_scan_stat_batch(req, n, use);
		/* per call as if made one after the other */
		if (d->mount->shared)
			note_stat_wait(d, (mono_ns() - w0) *
						  (n < use ? n : use), n);
		for (size_t k = 0; k < n; k++) {
			if (req[k].err) {
				d->reread = true;
				continue;
			}
			if (check_entry(t, d, idx[k], NULL, &req[k].a,
					d->attrs_stale))
				hot_add(d, idx[k], t->now);
		}
	}
}

static void cold_rotation(struct tick_ctx *t, long quota)
{
	unsigned threads = (unsigned)P(UIN_SCAN_STAT_THREADS);
	struct uin_scan_watch *d = S.cold_sw ? S.cold_sw : S.all_head;
	bool wrapped = false;
	long steps = 0;
	while (d && quota > 0 && steps++ <= S.nall + 1) {
		bool ok = d->is_dir && d->mode == UIN_SCAN_TICK &&
			  d->watched_d && !d->gone &&
			  d->fd >= 0 && !atomic_load(&d->dead) &&
			  wants_attrs(d);
		if (ok) {
			cold_dir(t, d, &quota, threads);
			if (d->cold_idx < d->snap.n)
				break; /* the quota ran out inside d */
		}
		d->cold_idx = 0;
		d = d->all_next;
		if (!d) {
			STAT_ADD(sweeps, 1);
			uin_mutex_lock(&S.wait_mu);
			S.sweeps_done++;
			pthread_cond_broadcast(&S.wait_cv);
			uin_mutex_unlock(&S.wait_mu);
			if (wrapped)
				break;
			wrapped = true; /* at most one sweep per tick */
			d = S.all_head;
		}
	}
	S.cold_sw = d;
}

/* The tick ----------------------------------------------------------------------- */

static bool tickable(const struct uin_scan_watch *sw)
{
	if (atomic_load(&sw->dead) || !sw->watched_d ||
	    sw->fd < 0)
		return false;
	return sw->mode == UIN_SCAN_TICK || sw->recover ||
	       sw->silent_refresh;
}

/* Phase 1 for one watch: its own statx, and its directory's entries. */
static void look_at(struct uin_scan_watch *sw, struct changes *ch,
		    int64_t real_now, uint32_t now)
{
	sw->cur_ok = false;
	struct scan_attrs a;
	int err = uin_scan_sx(sw->fd, NULL, force_self(sw), &a);
	if (stale(sw, err, &a)) {
		sw->gone = true;
		sw->gone_ticks++;
		if (!err && a.nlink == 0) {
			sw->cur = a;
			sw->gone_ticks = GONE_TICKS; /* no doubt */
		}
		return;
	}
	if (err)
		return; /* no answer this tick (EIO, ENOMEM): look again */
	sw->gone = false;
	sw->gone_ticks = 0;
	sw->cur = a;
	sw->cur_ok = true;
	if (!sw->is_dir)
		return;
	bool silent = sw->silent_refresh;
	bool read = sw->reread || sw->recover || silent ||
		    P(UIN_SCAN_LIST_ALWAYS) ||
		    a.mtime_ns != sw->own.mtime_ns ||
		    a.ctime_ns != sw->own.ctime_ns || a.ino != sw->own.ino ||
		    real_now < sw->racy_until_ns;
	/* Where directory times cannot be trusted, read each directory
	 * once per cold period anyway. */
	if (!read && sw->mount->shared &&
	    (int32_t)(now - sw->next_list_ms) >= 0)
		read = true;
	if (!read)
		return;
	sw->reread = false;
	if (sw->mount->shared) {
		long period = atomic_load(&st.cold_period_ms);
		if (period < 1000)
			period = 1000;
		sw->next_list_ms = now + (uint32_t)period;
	}
	if (a.ctime_ns + RACY_NS > sw->racy_until_ns)
		sw->racy_until_ns = a.ctime_ns + RACY_NS;
	size_t nrm0 = ch->nrm, nadd0 = ch->nadd;
	err = read_and_compare(sw, silent ? NULL : ch);
	/* Changed while we read it: what the read found unpaired may be
	 * half of a rename whose other half the next read finds. */
	struct scan_attrs post;
	if (!err && !silent && (ch->nrm > nrm0 || ch->nadd > nadd0) &&
	    uin_scan_sx(sw->fd, NULL, force_self(sw), &post) == 0 &&
	    (post.mtime_ns != a.mtime_ns || post.ctime_ns != a.ctime_ns)) {
		sw->last_read_torn = true;
		for (size_t i = nrm0; i < ch->nrm; i++)
			ch->rm[i].torn = true;
		for (size_t i = nadd0; i < ch->nadd; i++)
			ch->add[i].torn = true;
		sw->reread = true;
	}
	if (err == -ENOENT || err == -ESTALE) {
		sw->gone = true;
		sw->cur_ok = false;
		sw->gone_ticks++;
	} else if (err == -ENOMEM) {
		sw->reread = true;
	}
}

/*
 * Watches whose descriptor reaches nothing, that no comparison explained:
 * dead when the link count says so; else (a stale FUSE path, an NFS
 * handle) found again by name or identity, or dead after GONE_TICKS.
 */
/*
 * Before a watch is added to d's inode or its mask changed (add_watch, in
 * the dispatch lock): read d now if it changed since its last read, and
 * report what it finds to the watches as they are.  Without this, the
 * next tick would report changes made before the watch to the new watch
 * (a name created before IN_CREATE was asked for), which the kernel never
 * does.  One directory only: a rename from or to another directory not
 * yet read comes as DELETE or CREATE (the kernel already reported a local
 * one).
 */
static void refresh_mask_locked(struct uin_scan_watch *sw)
	UIN_REQUIRES(uin_sources_mu);

/*
 * catch_up's half for contents and attributes, which move no directory
 * time: the object's own (check_self) and, for a directory, every entry's
 * (check_entry, as the rotation would), so that an append made before a
 * mask gained IN_MODIFY is not reported to it later.  A statx an entry,
 * as the first snapshot costs.
 */
static void catch_up_attrs(struct uin_scan_watch *d)
{
	struct tick_ctx t = {.now = now_ms(),
			     .cw_ms = P(UIN_SCAN_CLOSE_WRITE_MS),
			     .hot_ms = P(UIN_SCAN_HOT_MS),
			     .tick_no = (uint32_t)S.ticks_started,
			     .anchor_stride = 1};
	check_self(&t, d);
	if (d->is_dir && d->fd >= 0 && !d->gone) {
		bool force = force_ents(d);
		for (uint32_t i = 0; i < d->snap.n; i++) {
			struct scan_attrs a;
			if (!uin_scan_sx(d->fd, snap_name(&d->snap, i), force,
					 &a) &&
			    check_entry(&t, d, i, NULL, &a, false))
				hot_add(d, i, t.now);
		}
	}
	put_inode(t.dc.in);
}

static void catch_up(struct uin_scan_watch *d)
{
	uin_loop_assert_dispatch();
	if (S.in_tick)
		return;
	uin_loop_run_drains();
	/* The masks as they are (a tick takes them in at its start). */
	uin_sources_lock();
	refresh_mask_locked(d);
	uin_sources_unlock();
	if (!tickable(d))
		return;
	struct changes ch = {0};
	look_at(d, &ch, real_ns(), now_ms());
	pair_changes(&ch);
	report_changes(&ch, now_ms());
	if (ch.lost && d->si)
		uinotify_hook_overflow(d->mount->sb);
	ch_free(&ch);
	catch_up_attrs(d);
	/* What the kernel says of an operation that landed during the
	 * read meets what we just reported (the ledger's scan bits, which
	 * drop it); after that, the kernel's events are of operations made
	 * after this look, and none may be dropped for it until the next
	 * tick (a tick clears them at its start). */
	uin_loop_run_drains();
	uin_scan_ledger_clear(&d->ledger, false);
	STAT_ADD(catch_ups, 1);
}

/*
 * An anchored watch whose descriptor went stale (a FUSE filesystem that
 * works by path, whose object was renamed where the kernel did not see
 * it): look for its identity among the anchor directory's entries.
 * 1: found at another name (renamed: MOVE_SELF), 0: not there, -1: the
 * directory cannot be read.
 */
static int find_in_anchor(struct uin_scan_watch *sw)
{
	if (!sw->mount->ino_stable)
		return 0;
	struct scan_dents *dn = uin_scan_thread_dents();
	if (!dn)
		return -1;
	STAT_ADD(dir_reads, 1);
	if (uin_scan_read_dir(sw->anchor_fd, dn))
		return -1;
	for (uint32_t i = 0; i < dn->n; i++) {
		const char *name = dn->names + dn->v[i].name_off;
		if (dn->v[i].ino != sw->key.ino ||
		    (sw->pname && !strcmp(name, sw->pname)))
			continue;
		char copy[NAME_MAX + 1];
		snprintf(copy, sizeof copy, "%s", name);
		if (!reopen_at(sw, sw->anchor_fd, copy))
			continue;
		set_pname(sw, copy);
		sw->own = sw->cur;
		struct uinotify_inode *in = sw_inode(sw);
		emit_s(sw, in, IN_MOVE_SELF);
		put_inode(in);
		return 1;
	}
	return 0;
}

static void settle_gone(struct uin_scan_watch *sw)
{
	if (!sw->gone || sw->fd < 0)
		return;
	bool nlink0 = sw->gone_ticks >= GONE_TICKS && !sw->cur_ok &&
		      sw->cur.nlink == 0 && sw->cur.ino;
	if (!nlink0) {
		/* Still at its name?  Then only the descriptor is stale. */
		if (sw->parent && sw->pname && sw->pidx < sw->parent->snap.n &&
		    reopen_at(sw, sw->parent->fd, sw->pname))
			return;
		if (!sw->parent && sw->anchor_fd >= 0 && sw->pname) {
			if (reopen_at(sw, sw->anchor_fd, sw->pname))
				return;
			int found = find_in_anchor(sw);
			if (found > 0)
				return;
			if (found == 0)
				sw->gone_ticks = GONE_TICKS; /* not there */
		}
		if (sw->parent && !sw->parent->read_this_tick)
			sw->parent->reread = true;
		if (sw->gone_ticks < GONE_TICKS)
			return;
	}
	kill_sw(sw, sw->own.nlink > 0);
}

/* The dispatcher's copy of what sw's watches ask for.  Under the sources
 * lock. */
static void refresh_mask_locked(struct uin_scan_watch *sw)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	uint32_t gained = sw->need & ~sw->need_d;
	/* Attributes not checked so far are stale: take them in silently
	 * before reporting their changes. */
	if ((gained & ATTR_EVENTS) && sw->attrs_unchecked)
		sw->attrs_stale = true;
	sw->need_d = sw->need;
	sw->watched_d = sw->watched && sw->si;
}

static void refresh_masks(void)
{
	uin_sources_lock();
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next)
		refresh_mask_locked(sw);
	uin_sources_unlock();
}

static long cold_quota(long interval_ms)
{
	long total = 0;
	for (struct uin_scan_watch *d = S.all_head; d; d = d->all_next)
		if (d->is_dir && d->mode == UIN_SCAN_TICK && d->watched_d &&
		    wants_attrs(d))
			total += d->snap.n;
	long cold_ms = P(UIN_SCAN_COLD_MS);
	long want = cold_ms <= 0 ? total
				 : (long)((total * interval_ms + cold_ms - 1) /
					  cold_ms);
	long quota = want;
	if (cold_ms > 0) {
		double budget_ns = (double)P(UIN_SCAN_BUDGET_PPM) / 1e6 *
				   (double)interval_ms * 1e6;
		long cap = (long)(budget_ns / S.cpu_ns_per_check);
		if (quota > cap)
			quota = cap;
		if (quota < MIN_COLD_QUOTA)
			quota = MIN_COLD_QUOTA;
	}
	if (quota < 1)
		quota = 1;
	long period = total ? (long)((double)total / (double)quota *
				     (double)interval_ms)
			    : interval_ms;
	if (period < interval_ms)
		period = interval_ms;
	atomic_store(&st.cold_period_ms, period);
	return quota;
}

/*
 * One tick runs in two steps on the loop thread: the structure (phases 1
 * to 3, whose events are what latency is measured on), then, as a job of
 * the same dispatch round, the attributes (phase 4: the rotation is the
 * bulk of the work).  In between, the instance's job that wakes readers
 * runs, so that a new name reaches a reader without waiting for the
 * rotation.  The next tick is due `interval` after this one began.
 */
static struct {
	struct tick_ctx t;
	uint64_t wall0, cpu0;
	long interval;
	bool any_tick, lost;
	struct uin_loop_job attr_job;
} TK;

static void tick_finish(void);

static void attr_job_fn(struct uin_loop_job *job)
{
	(void)job;
	tick_finish();
}

static void tick(void)
{
	TK.wall0 = mono_ns();
	TK.cpu0 = cpu_ns();
	atomic_store(&st.last_tick_start_us, (long)(TK.wall0 / 1000));
	uin_mutex_lock(&S.wait_mu);
	S.ticks_started++;
	uin_mutex_unlock(&S.wait_mu);

	S.in_tick = true;
	/* What the kernel has queued so far fills the ledgers first. */
	uin_loop_run_drains();
	reap();
	refresh_masks();
	TK.interval = P(UIN_SCAN_INTERVAL_MS);
	struct tick_ctx *t = &TK.t;
	*t = (struct tick_ctx){.now = now_ms(),
			       .cw_ms = P(UIN_SCAN_CLOSE_WRITE_MS),
			       .hot_ms = P(UIN_SCAN_HOT_MS),
			       .tick_no = (uint32_t)S.ticks_started};
	long anchored = 0;
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next)
		anchored += !sw->parent && sw->anchor_fd >= 0;
	t->anchor_stride = (uint32_t)((anchored + ANCHORS_PER_TICK - 1) /
				      ANCHORS_PER_TICK);
	int64_t rnow = real_ns();
	TK.any_tick = false;

	/* The scanner's reports of the last tick are older than anything
	 * the kernel says from now on. */
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		uin_scan_ledger_clear(&sw->ledger, false);
		sw->self_scan = 0;
		sw->read_this_tick = false;
		sw->cur_ok = false;
	}

	/* 1. Structure. */
	struct changes ch = {0};
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		if (!tickable(sw))
			continue;
		TK.any_tick |= sw->mode == UIN_SCAN_TICK;
		look_at(sw, &ch, rnow, t->now);
	}
	/* 2, 3. Pairs, then reports. */
	merge_deferred(&ch);
	pair_changes(&ch);
	report_changes(&ch, t->now);
	TK.lost = ch.lost;
	ch_free(&ch);
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next)
		if (tickable(sw))
			settle_gone(sw);

	atomic_store(&st.last_events_us, (long)(mono_ns() / 1000));
	TK.attr_job.fn = attr_job_fn;
	if (uin_loop_post(&TK.attr_job) < 0)
		tick_finish();
}

static void tick_finish(void)
{
	struct tick_ctx *t = &TK.t;
	bool more = false;
	/* 4. Attributes. */
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		if (!tickable(sw) || sw->fd < 0)
			continue;
		if (!sw->parent)
			check_self(t, sw);
		if (sw->is_dir && (wants_attrs(sw) || sw->recover ||
				   sw->silent_refresh))
			check_hot(t, sw);
		/* Entries' attributes not followed on this tick are stale
		 * for a mask that asks for them later. */
		if (sw->is_dir && sw->mode == UIN_SCAN_TICK)
			sw->attrs_unchecked = !wants_attrs(sw);
	}
	uint64_t cpu_cold = cpu_ns(), pool_cold = uin_scan_pool_cpu_ns();
	cold_rotation(t, cold_quota(TK.interval));
	if (t->checks > 0) {
		/* The stat workers' CPU counts against the budget too. */
		double per = (double)(cpu_ns() - cpu_cold +
				      uin_scan_pool_cpu_ns() - pool_cold) /
			     (double)t->checks;
		S.cpu_ns_per_check = 0.8 * S.cpu_ns_per_check + 0.2 * per;
		if (S.cpu_ns_per_check < 100)
			S.cpu_ns_per_check = 100;
	}
	/* Recoveries and resyncs compare every entry, once. */
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		if (!(sw->recover || sw->silent_refresh || sw->attrs_stale) ||
		    !tickable(sw) || !sw->is_dir) {
			sw->attrs_stale = false;
			continue;
		}
		bool silent = sw->silent_refresh || sw->attrs_stale;
		bool force = force_ents(sw);
		for (uint32_t i = 0; i < sw->snap.n; i++) {
			struct scan_ent *e = &sw->snap.ents[i];
			if (e->flags & (ENT_HOT | ENT_SW))
				continue;
			struct scan_attrs a;
			if (!uin_scan_sx(sw->fd, snap_name(&sw->snap, i), force, &a) &&
			    check_entry(t, sw, i, NULL, &a, silent) && !silent)
				hot_add(sw, i, t->now);
		}
		if (sw->recover)
			STAT_ADD(recoveries, 1);
		sw->recover = sw->silent_refresh = sw->attrs_stale = false;
	}
	put_inode(t->dc.in);
	t->dc.in = NULL;
	t->dc.d = NULL;

	/* What the kernel said before this tick is now in the snapshots;
	 * unless the directory was read while it changed: a torn read may
	 * have missed a name the kernel reported, kept for the next read. */
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		if (!(sw->read_this_tick && sw->last_read_torn))
			uin_scan_ledger_clear(&sw->ledger, true);
		sw->self_kernel = 0;
		uin_scan_index_free(&sw->ix);
		more |= sw->mode == UIN_SCAN_TICK && !atomic_load(&sw->dead);
	}
	S.in_tick = false;
	if (TK.lost) {
		/* Changes went unrecorded (no memory): say so, once per
		 * mount record. */
		for (struct uin_scan_watch *sw = S.all_head; sw;
		     sw = sw->all_next) {
			bool first = true;
			for (struct uin_scan_watch *o = S.all_head; o != sw;
			     o = o->all_next)
				first &= o->mount != sw->mount;
			if (first && sw->si && !atomic_load(&sw->dead))
				uinotify_hook_overflow(sw->mount->sb);
		}
	}
	reap();

	uint64_t wall = mono_ns() - TK.wall0;
	atomic_store(&st.last_tick_us, (long)(wall / 1000));
	atomic_store(&st.last_tick_cpu_us,
		     (long)((cpu_ns() - TK.cpu0) / 1000));
	STAT_ADD(ticks, 1);
	uin_mutex_lock(&S.wait_mu);
	S.ticks_done++;
	pthread_cond_broadcast(&S.wait_cv);
	uin_mutex_unlock(&S.wait_mu);

	/* Due `interval` after this tick began; after an overrun, as long
	 * again as the tick took: never scan more than half of the time. */
	uint64_t iv = (uint64_t)TK.interval * 1000000u;
	uint64_t next = wall < iv ? iv - wall : wall;
	if (wall > iv)
		STAT_ADD(overruns, 1);
	if ((more || TK.any_tick) && S.timer)
		uin_loop_timer_set(S.timer, next ? next : 1, 0);
}

static void tick_cb(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	tick();
}

/* The kernel source's side ------------------------------------------------------ */

/*
 * After a local unlink or rmdir (the kernel reported it): whether the
 * kernel's own inode for sw has no link left, which is when the kernel
 * would end its watch were our descriptor not holding the inode.  Its
 * cached count, not the server's (AT_STATX_DONT_SYNC): the kernel counted
 * this unlink itself (FUSE and NFS drop the count on the reply).  Asking
 * the server instead misleads on a FUSE filesystem that works by path
 * (bindfs): the name is gone, so the node answers ENOENT, though the file
 * lives on under another link.  Unknown (statx failed): the server's
 * answer, sw_dead.
 */
static bool kernel_unlinked(struct uin_scan_watch *sw)
{
	struct statx stx;
	STAT_ADD(statx, 1);
	if (statx(sw->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_NLINK,
		  &stx) == 0 &&
	    (stx.stx_mask & STATX_NLINK))
		return stx.stx_nlink == 0;
	struct scan_attrs a;
	return sw_dead(sw, &a);
}

/* The watched child of d named name whose last link is gone: end it now,
 * before the kernel's P DELETE goes out (the kernel would have, but our
 * descriptor keeps the inode alive).  Whether there was one. */
static bool kill_dead_child(struct uin_scan_watch *d, const char *name)
{
	/* Not only the first of that name: one renamed away that the
	 * scanner has not relocated yet still has it. */
	for (struct uin_scan_watch *c = d->child_head; c; c = c->sib_next) {
		if (!c->pname || strcmp(c->pname, name) || c->fd < 0)
			continue;
		if (kernel_unlinked(c)) {
			kill_sw(c, false);
			return true;
		}
	}
	return false;
}

/*
 * The kernel saw a write to, or the close of, the entry name of d: the
 * writer is local, and its close is the kernel's to report.  A CLOSE_WRITE
 * the scanner has pending for it (it found the change first) is dropped
 * now, not only while this tick's ledger remembers the kernel's event.
 */
static void kernel_settles_close(struct uin_scan_watch *d, const char *name)
{
	if (!d->nhot && !d->child_head)
		return; /* nothing pending */
	/* By the name index (check_hot builds it for the ledger's names in
	 * this tick anyway): an event's way costs no walk of the children. */
	if (d->ix.cap || !uin_scan_index_build(&d->ix, &d->snap)) {
		long i = uin_scan_index_find(&d->ix, &d->snap, name,
					     uin_scan_hash(name, strlen(name)));
		if (i >= 0)
			d->snap.ents[i].flags &= ~ENT_CW;
		return;
	}
	/* No memory for the index: the pending ones are on the hot list or
	 * watched children. */
	for (uint32_t i = 0; i < d->nhot; i++) {
		struct scan_ent *e = &d->snap.ents[d->hot[i].idx];
		if ((e->flags & ENT_CW) &&
		    !strcmp(snap_name(&d->snap, d->hot[i].idx), name))
			e->flags &= ~ENT_CW;
	}
	for (struct uin_scan_watch *c = d->child_head; c; c = c->sib_next)
		if (c->pidx < d->snap.n && c->pname && !strcmp(c->pname, name))
			d->snap.ents[c->pidx].flags &= ~ENT_CW;
}

/*
 * On a FUSE mount each hard link that was looked up is its own kernel
 * inode (node_keyed): a change made here through one link reaches the
 * kernel watch of that link alone, and the kernel tells the watches of
 * the others nothing.  The scanner sees the change on them too (one
 * file, one st_ino): it is this machine's and the kernel's to report,
 * so the others' ledgers get it as well.
 */
static void kernel_saw_links(struct uin_scan_watch *sw, uint8_t k)
{
	if (!S.idcap)
		return;
	for (struct uin_scan_watch *w =
		     S.idtab[id_slot(sw->mount, sw->key.ino, S.idcap)];
	     w; w = w->id_next)
		if (w != sw && w->mount == sw->mount &&
		    w->key.ino == sw->key.ino && w->key.type == sw->key.type &&
		    !atomic_load(&w->dead))
			w->self_kernel |= k;
}

/*
 * The kernel ends an unlinked inode when its last reference goes: for an
 * unlink, before the DELETE in its parent; for a rename over it, when
 * rename returns, after fsnotify_move's MOVE_SELF of the object that took
 * its name.  Our descriptor keeps the inode, so the scanner ends the watch
 * on the kernel's ATTRIB of that unlink (uin_scan_kernel_event) and the
 * kernel source calls this after each event but a MOVE_SELF right behind
 * it.
 */
void uin_scan_kernel_deaths(void)
{
	struct uin_scan_watch *sw = S.death_pending;
	if (!sw)
		return;
	S.death_pending = NULL;
	kill_sw(sw, false);
}

/*
 * rmdir gives the directory itself no event before its DELETE_SELF, and
 * that waits for our descriptor.  Where the parent is a scanned directory
 * its kernel watch asks for DELETE (kill_dead_child); a watched directory
 * whose parent we do not watch is looked at here instead, on every read
 * of the kernel source (a drain by a reader included): its kernel inode's
 * cached link count (AT_STATX_DONT_SYNC, no server round trip) is 0 once
 * rmdir has returned here.
 */
void uin_scan_kernel_orphans(void)
{
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		if (!sw->is_dir || sw->parent || sw->fd < 0 ||
		    !with_kernel(sw) || atomic_load(&sw->dead))
			continue;
		struct statx stx;
		STAT_ADD(statx, 1);
		if (statx(sw->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
			  STATX_NLINK, &stx) == 0 &&
		    (stx.stx_mask & STATX_NLINK) && stx.stx_nlink == 0)
			kill_sw(sw, false);
	}
}

bool uin_scan_kernel_event(struct uin_scan_watch *sw, uint32_t mask,
			   const char *name)
{
	if (atomic_load(&sw->dead))
		return false;
	uint8_t k = uin_scan_kind_of(mask);
	if (!k)
		return false;
	if (name) {
		if (k & (LK_CW | LK_MODIFY))
			kernel_settles_close(sw, name);
		uint64_t h = uin_scan_hash(name, strlen(name));
		struct scan_ledger_item *it =
			uin_scan_ledger_get(&sw->ledger, h, false);
		if (it && (it->scan & k)) {
			it->scan &= (uint8_t)~k;
			STAT_ADD(kernel_dropped, 1);
			return true;
		}
		/* A directory not linked to d (d's snapshot is older than
		 * it) is an orphan to us: ended here too, before the
		 * kernel's DELETE, as rmdir orders them. */
		if ((k & LK_VANISH) && !kill_dead_child(sw, name) &&
		    (mask & IN_ISDIR))
			uin_scan_kernel_orphans();
		it = uin_scan_ledger_get(&sw->ledger, h, true);
		if (it)
			it->kernel |= k;
		if (k & LK_STRUCT)
			sw->reread = true;
		if (sw->mode == UIN_SCAN_SHADOW &&
		    sw->ledger.used > LEDGER_MAX) {
			sw->silent_refresh = true;
			arm_soon();
		}
		return false;
	}
	/* As kernel_settles_close for a name: the writer is local, its
	 * close the kernel's to report (truncate(2) has none); also the
	 * one pending at its entry in its parent, which the kernel tells
	 * nothing when the parent's watches ask for no writes. */
	if (k & (LK_CW | LK_MODIFY)) {
		sw->self_cw = false;
		struct uin_scan_watch *p = sw->parent;
		if (p && sw->pidx < p->snap.n &&
		    p->snap.ents[sw->pidx].ino == sw->key.ino)
			p->snap.ents[sw->pidx].flags &= ~ENT_CW;
	}
	if (sw->self_scan & k) {
		sw->self_scan &= (uint8_t)~k;
		STAT_ADD(kernel_dropped, 1);
		return true;
	}
	if ((k & LK_ATTRIB) && sw->fd >= 0) {
		/* The unlink of its last link, or a rename over it (a
		 * directory's too: fsnotify_move's ATTRIB on the target):
		 * the kernel's DELETE_SELF waits for our descriptor; give
		 * the ATTRIB, then the end. */
		if (kernel_unlinked(sw)) {
			struct uinotify_inode *in = sw_inode(sw);
			if (in) {
				uinotify_hook_inode(in, mask, 0);
				put_inode(in);
			}
			if (S.death_pending != sw)
				uin_scan_kernel_deaths();
			S.death_pending = sw;
			return true;
		}
	}
	sw->self_kernel |= k;
	if (k & LK_MOVE)
		sw->kernel_moved = true;
	if (sw->mount->node_keyed)
		kernel_saw_links(sw, k);
	return false;
}

void uin_scan_recover(struct uin_mount *m)
{
	bool any = false;
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next)
		if (sw->mount == m && !atomic_load(&sw->dead)) {
			sw->recover = true;
			any = true;
		}
	if (any)
		arm_soon();
}

/* Fork ------------------------------------------------------------------------------
 * A child goes on scanning where its parent was: it has a copy of every
 * snapshot and the same O_PATH descriptors (fork shares them; they close
 * on exec), so a watch needs nothing but a timer in the child's loop,
 * armed at the child's first settle (loop.h), which also compares what
 * changed since the fork.  A tick that the fork cut between its two
 * halves (tick and attr_job) is finished in the child; the parent
 * finishes its own.  The child handler only re-initialises locks.
 */
void uin_scan_atfork_child(void)
{
	uin_scan_pool_atfork_child();
	S.timer = NULL; /* the loop closed the child's copy */
	S.death_pending = NULL;
	uin_mutex_reinit(&S.wait_mu);
	pthread_cond_init(&S.wait_cv, NULL);
}

void uin_scan_atfork_rearm(void)
{
	uin_loop_dispatch_enter();
	bool any = false;
	for (struct uin_scan_watch *sw = S.all_head; sw && !any;
	     sw = sw->all_next)
		any = !atomic_load(&sw->dead);
	if (S.in_tick) {
		arm((uint64_t)P(UIN_SCAN_INTERVAL_MS) * 1000000u);
		if (uin_loop_post(&TK.attr_job) < 0)
			tick_finish();
	} else if (any) {
		arm((uint64_t)P(UIN_SCAN_INTERVAL_MS) * 1000000u);
	} else if (S.all_head) {
		uin_loop_post(&S.reap_job);
	}
	uin_loop_dispatch_exit();
}

/* Statistics ----------------------------------------------------------------------- */

void uin_scan_get_stats(struct uin_scan_stats *out)
{
	memset(out, 0, sizeof *out);
	uin_loop_dispatch_enter();
	for (struct uin_scan_watch *sw = S.all_head; sw; sw = sw->all_next) {
		out->watches++;
		if (atomic_load(&sw->dead))
			continue;
		if (sw->is_dir) {
			out->dirs++;
			out->entries += sw->snap.n;
			out->snap_bytes += uin_scan_snap_bytes(&sw->snap);
			out->name_bytes += sw->snap.names_len;
		}
	}
	uin_loop_dispatch_exit();
	out->ticks = atomic_load(&st.ticks);
	out->sweeps = atomic_load(&st.sweeps);
	out->overruns = atomic_load(&st.overruns);
	out->statx = atomic_load(&st.statx);
	out->dir_reads = atomic_load(&st.dir_reads);
	out->events = atomic_load(&st.events);
	out->suppressed = atomic_load(&st.suppressed);
	out->kernel_dropped = atomic_load(&st.kernel_dropped);
	out->recoveries = atomic_load(&st.recoveries);
	out->catch_ups = atomic_load(&st.catch_ups);
	out->fds = atomic_load(&st.fds);
	out->cold_period_ms = atomic_load(&st.cold_period_ms);
	out->last_tick_us = atomic_load(&st.last_tick_us);
	out->last_tick_cpu_us = atomic_load(&st.last_tick_cpu_us);
	out->last_tick_start_us = atomic_load(&st.last_tick_start_us);
	out->last_events_us = atomic_load(&st.last_events_us);
	out->stat_threads = uin_scan_pool_threads();
}

static int wait_counter(long *counter, long target, long timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	int err = 0;
	uin_mutex_lock(&S.wait_mu);
	while (*counter < target && !err)
		err = uin_cond_timedwait(&S.wait_cv, &S.wait_mu, &dl);
	bool ok = *counter >= target;
	uin_mutex_unlock(&S.wait_mu);
	return ok ? 0 : -ETIMEDOUT;
}

int uin_scan_wait_ticks(long n, long timeout_ms)
{
	uin_mutex_lock(&S.wait_mu);
	long target = S.ticks_started + n;
	uin_mutex_unlock(&S.wait_mu);
	return wait_counter(&S.ticks_done, target, timeout_ms);
}

int uin_scan_settle(long timeout_ms)
{
	for (;;) {
		uin_loop_dispatch_enter();
		bool busy = S.in_tick;
		if (!busy)
			reap();
		uin_loop_dispatch_exit();
		if (!busy)
			return 0;
		/* A tick spans dispatches (its attribute job); it reaps at
		 * its end. */
		uin_mutex_lock(&S.wait_mu);
		long target = S.ticks_started;
		uin_mutex_unlock(&S.wait_mu);
		int err = wait_counter(&S.ticks_done, target, timeout_ms);
		if (err)
			return err;
	}
}

int uin_scan_wait_sweeps(long n, long timeout_ms)
{
	uin_mutex_lock(&S.wait_mu);
	long target = S.sweeps_done + n + 1;
	uin_mutex_unlock(&S.wait_mu);
	return wait_counter(&S.sweeps_done, target, timeout_ms);
}

/* The ops table ---------------------------------------------------------------------- */

static int scan_inode_get(const struct uin_resolved *r,
			  struct uinotify_inode **out)
{
	return uin_mount_inode_get(r, UIN_SRC_SCAN, 0, out);
}

const struct uin_source_ops uin_source_scan = {
	.name = "scan",
	.inode_get = scan_inode_get,
};
