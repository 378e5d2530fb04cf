/*
 * src/sources/kernel.c - the kernel source: Linux's own inotify as a
 * producer for the engine.
 *
 * ONE KERNEL INSTANCE, ONE KERNEL WATCH PER KERNEL INODE.  The process has
 * one inotify fd (opened on first need, closed by the loop thread once no
 * kernel watch is left).  Every kernel inode that some engine inode of ours
 * stands for has one kernel watch (struct uin_kwatch, found by its kernel
 * wd).  Its mask is the union of the masks of all watches on all engine
 * inodes that use it (there are two when instances chose different sources
 * for one file; usually one), never with IN_MASK_ADD semantics except when
 * it is first created, where it must not narrow a watch that exists.
 *
 * WHY THE STREAMS ARE IDENTICAL.  That one instance holds a watch on every
 * inode any uinotify watch is on, with a superset of their masks, so its
 * queue is the kernel's own order of every event any watch could want,
 * P before S as fsnotify queues them.  We forward each kernel event, in
 * that order, to the engine inode(s) of its wd, and the engine filters by
 * each watch's mask: every instance gets exactly the subsequence a kernel
 * instance with the same watches would have got.  Merging is the engine's
 * (the kernel merges only events that are consecutive in our queue, hence
 * also in the application's view).
 *
 * MAPPING, per kernel event (on the loop thread, or in an API thread in
 * uin_loop_drain, always under the dispatch lock):
 *   wd -1, IN_Q_OVERFLOW   -> uin_mounts_overflow(kernel): every handle
 *                             with a watch on a kernel-sourced mount
 *   a name (P half)        -> uinotify_hook_dirent(dir, name, NULL, mask,
 *                             cookie) for every kind of event (OPEN, MODIFY
 *                             ... as well as CREATE, DELETE, MOVED_*): it
 *                             delivers to dir's watches only, with the
 *                             kernel's IN_ISDIR passed through.  The S half
 *                             arrives as its own kernel event on the
 *                             child's wd if the child is watched.
 *   no name (S)            -> uinotify_hook_inode(inode, mask, cookie)
 *   MOVED_FROM / MOVED_TO  -> the kernel cookie renumbered through
 *                             uinotify_cookie_next; both halves of one
 *                             rename map to one new cookie
 *   DELETE_SELF            -> nothing: the IGNORED that the kernel queues
 *                             right after it does it all
 *   IGNORED we did not ask -> uinotify_hook_inode_dead (DELETE_SELF to the
 *                             watches that want it, then IGNORED to all)
 *   UNMOUNT                -> uinotify_hook_unmount_inode (UNMOUNT, ISDIR
 *                             on directories, then IGNORED); the kernel's
 *                             IGNORED after it -> nothing
 *   IGNORED after our own inotify_rm_watch: the wd was forgotten first,
 *                             so it is dropped like any unknown wd.
 *
 * WITH THE SCANNER on the same engine inode (AUTO on shared mounts), each
 * event is first handed to uin_scan_kernel_event (scan.c): the scanner
 * notes what the kernel reported, and the kernel's copy of a change the
 * scanner reported first is dropped.  Events the scanner's own directory
 * reads cause are dropped while it reads (mute, below).
 *
 * IN_EXCL_UNLINK.  User space cannot see d_unlinked(), so the kernel does
 * the filtering: the kernel watch carries IN_EXCL_UNLINK when every watch
 * on it has the flag (then it is exact), and not otherwise (when watches
 * disagree, those with the flag also get the path events of an unlinked
 * file: a documented difference).
 *
 * CHANGING A KERNEL WATCH needs a path to the inode, and we keep no fd:
 * an fd would cost the application a descriptor per watch, and an open
 * O_PATH fd would delay the kernel's DELETE_SELF/IGNORED of an unlinked
 * file until it is closed.  So attach() (called by inode_get, with the
 * resolved O_PATH fd) makes the kernel watch wide enough for the watch
 * about to be added: r->in_flags's event bits when the caller passed the
 * watch's mask there, else every event (IN_ALL_EVENTS).  It leaves a
 * per-thread hint {kw, fd, dev, ino}, which lives until the resolved fd
 * is closed (uin_resolved_release calls uin_kernel_forget_fd: after that
 * the number may be another thread's file); update() (the mask_changed
 * that follows in the same thread, while the caller still holds the
 * resolved fd) makes the kernel watch exact through it, after checking
 * with fstat that the fd still is that inode.  Without a usable hint (a watch removed,
 * a consumer that released the fd first) the kernel mask stays a superset,
 * which costs only filtered events, until the next update with a path.
 * The kernel watch is removed when the last engine inode using it is
 * released.
 *
 * FORK.  The kernel instance is shared with the parent after fork:
 * reading it would steal the parent's events, and changing its watches
 * would change the parent's.  So the child's handler closes its copy and
 * sets the table aside (O(1)); at the child's first settle (loop.h: its
 * first read, FIONREAD, add_watch, rm_watch or close, or, with the drop-in
 * library, fork() returning) it opens its own and makes its kernel
 * watches again: then, or, above REARM_SYNC_MAX watches or as
 * UINOTIFY_FORK_REARM asks, on its loop thread just after; until then
 * every call that changes a kernel watch makes them first (rearm_locked).
 * What happens between the fork and that moment is not seen by the child.
 * For that each kernel watch keeps the path
 * its inode had when the watch was made (the kernel's name for our O_PATH
 * fd, /proc/self/fd/N) and its identity.  The child adds each path again
 * with IN_DONT_FOLLOW, then reads its instance's fdinfo, which names the
 * inode behind every wd, and takes back the watches that landed on
 * another inode: an object renamed or deleted since its watch was made is
 * not found.  A watch that cannot be made again (not at its path, or a
 * call of the child failed: no descriptor for the instance, ENOSPC or
 * ENOMEM from the kernel, no memory) is not left silent: it goes on the
 * lost list, and every engine watch on it ends with IN_IGNORED alone
 * (deliver_lost, with no lock held: at the settle that re-armed, or by the
 * rearm job), as Linux ends a watch it drops; counted as rearm_lost.  The
 * program can tell which wd ended and add its path again.  (An add_watch
 * that makes the kernel watch of a lost one again before that delivery
 * takes its engine inode off it: attach.)  What the kernel had queued but
 * the loop had not read at the fork reaches the parent only (the drop-in's
 * fork() delivers it first, so that the child's copy of each instance
 * holds it too).
 *
 * LOCKS.  All state here is under the sources lock (mounts.h), except the
 * cookie map and the read buffer, which only the dispatcher touches (under
 * the dispatch lock).  Hooks are called with no lock of ours held.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "engine/hooks_private.h"
#include "instance/config.h"
#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/scan.h"

#define KBUF_SIZE (64 * 1024)
#define READ_ROUNDS 16        /* per callback, then let others run */
#define MAX_USERS 8           /* engine inodes per kernel watch (2 today) */
#define COOKIE_SLOTS 32
#define MIN_BUCKETS 64

struct uin_kwatch {
	int kwd;                     /* -1 once the kernel dropped it; read
					through kw_wd() */
	unsigned epoch;              /* ks.epoch when kwd was set */
	uint32_t kmask;              /* event bits asked of the kernel */
	bool kexcl;                  /* IN_EXCL_UNLINK asked of the kernel */
	bool unmounted;              /* IN_UNMOUNT seen: IGNORED is no death */
	bool deleted;                /* DELETE_SELF seen, IGNORED to follow */
	bool lost;                   /* on ks.lost (fork child) */
	struct uin_src_inode *users; /* via users->kw_next */
	struct uin_kwatch *hash_next; /* by kwd */
	struct uin_kwatch *lost_next; /* on ks.lost */
	/* Where the inode was when the watch was made, for a fork child. */
	char *path;                  /* NULL if it had no name */
	unsigned dev_major, dev_minor;
	uint64_t ino;
};

static void ks_close_job(struct uin_loop_job *job);
static void rearm_job_fn(struct uin_loop_job *job);
static void rearm_locked(void);

static struct {
	int fd;                     /* the kernel instance, or -1 */
	struct uin_loop_reg *reg;
	struct uin_kwatch **buckets; /* by kwd */
	size_t nbuckets;
	long nlive;                 /* kernel watches in the table */
	/* A fork child's inherited table, until rearm has used it. */
	struct uin_kwatch **rearm_buckets;
	size_t rearm_nbuckets;
	long rearm_n;
	/* Inherited watches rearm could not make, their IGNORED still to be
	 * delivered (via lost_next). */
	struct uin_kwatch *lost;
	unsigned epoch;             /* one more in each fork child */
	struct uin_loop_job close_job;
	struct uin_loop_job rearm_job; /* fork child, async */
	atomic_long events, overflows, updates, stale_masks, rearmed,
		rearm_lost;
} ks = {.fd = -1,
	.close_job = {.fn = ks_close_job},
	.rearm_job = {.fn = rearm_job_fn}};

/* Set by attach, used by the update that follows in the same thread. */
static __thread struct {
	struct uin_kwatch *kw;
	int fd;
	dev_t dev;
	ino_t ino;
} hint;

/* The kwd table ------------------------------------------------------------ */

/* kw's kernel wd in this process, or -1: a wd from before a fork is our
 * parent's (no write to kw needed to forget it: see Fork). */
static int kw_wd(const struct uin_kwatch *kw)
{
	return kw->epoch == ks.epoch ? kw->kwd : -1;
}

static size_t kwd_slot(int kwd, size_t n)
{
	return ((uint32_t)kwd * 2654435761u) & (n - 1);
}

static struct uin_kwatch *kw_find(int kwd)
{
	if (!ks.nbuckets)
		return NULL;
	struct uin_kwatch *kw = ks.buckets[kwd_slot(kwd, ks.nbuckets)];
	while (kw && kw->kwd != kwd)
		kw = kw->hash_next;
	return kw;
}

static void kw_grow(void)
{
	size_t n = ks.nbuckets ? ks.nbuckets * 2 : MIN_BUCKETS;
	struct uin_kwatch **b = uin_calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < ks.nbuckets; i++) {
		struct uin_kwatch *kw = ks.buckets[i], *next;
		for (; kw; kw = next) {
			next = kw->hash_next;
			size_t j = kwd_slot(kw->kwd, n);
			kw->hash_next = b[j];
			b[j] = kw;
		}
	}
	uin_free(ks.buckets);
	ks.buckets = b;
	ks.nbuckets = n;
}

static int kw_insert(struct uin_kwatch *kw)
{
	if ((size_t)ks.nlive >= ks.nbuckets)
		kw_grow();
	if (!ks.nbuckets)
		return -ENOMEM;
	size_t j = kwd_slot(kw->kwd, ks.nbuckets);
	kw->epoch = ks.epoch;
	kw->hash_next = ks.buckets[j];
	ks.buckets[j] = kw;
	ks.nlive++;
	return 0;
}

/* Forget kw's kernel wd: later events for it are dropped. */
static void kw_unhash(struct uin_kwatch *kw)
{
	struct uin_kwatch **pp = &ks.buckets[kwd_slot(kw->kwd, ks.nbuckets)];
	while (*pp != kw)
		pp = &(*pp)->hash_next;
	*pp = kw->hash_next;
	kw->hash_next = NULL;
	kw->kwd = -1;
	ks.nlive--;
	if (ks.nlive == 0 && ks.fd >= 0)
		uin_loop_post(&ks.close_job); /* ENOMEM-free; failure: stays */
}

/* The kernel instance ------------------------------------------------------ */

static void ks_read(void *arg, uint32_t events);

/* Give the loop the instance fd (starts the loop thread if needed). */
static int ks_register_locked(int fd)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_loop_reg *reg;
	int err = uin_loop_add_fd(fd, EPOLLIN, UIN_LOOP_DRAIN, ks_read, NULL,
				  &reg);
	if (err)
		return err;
	ks.fd = fd;
	ks.reg = reg;
	return 0;
}

static int ks_open_locked(void)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	/* UINOTIFY_FORK_REARM read (and a bad value reported) here, before
	 * any fork a watch could be inherited by: not by each child. */
	(void)uin_env(UIN_ENV_FORK_REARM);
	int fd = UIN_SYS_RETRY("kernel.init1",
			       inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	int err = fd < 0 ? -errno : ks_register_locked(fd);
	if (err && fd >= 0)
		close(fd);
	/* No descriptor for the instance (or the loop's epoll and eventfd)
	 * is, for the caller's inotify_add_watch, a resource the kernel
	 * failed to get: ENOSPC, which on AUTO hands the inode to the
	 * scanner.  EMFILE is not an answer inotify_add_watch gives. */
	return err == -EMFILE || err == -ENFILE ? -ENOSPC : err;
}

/* On the loop thread, once nothing is watched: close the instance. */
static void ks_close_job(struct uin_loop_job *job)
{
	(void)job;
	int fd = -1;
	struct uin_loop_reg *reg = NULL;
	uin_sources_lock();
	if (ks.fd >= 0 && ks.nlive == 0) {
		fd = ks.fd;
		reg = ks.reg;
		ks.fd = -1;
		ks.reg = NULL;
		uin_free(ks.buckets);
		ks.buckets = NULL;
		ks.nbuckets = 0;
	}
	uin_sources_unlock();
	if (reg)
		uin_loop_del(reg);
	if (fd >= 0)
		close(fd);
}

/* fp: the call site's injection point (engine/fault.h). */
static int kadd(struct uin_fault_point *fp, int path_fd, uint32_t mask)
{
	char path[40];
	snprintf(path, sizeof path, "/proc/self/fd/%d", path_fd);
	atomic_fetch_add_explicit(&ks.updates, 1, memory_order_relaxed);
	int wd = UIN_SYS_RETRY_AT(fp, inotify_add_watch(ks.fd, path, mask));
	return wd < 0 ? -errno : wd;
}

/* The argument that makes the kernel watch exactly (mask, excl).  A watch
 * with no event bit is legal (it still reports UNMOUNT and IGNORED). */
static uint32_t kernel_arg(uint32_t mask, bool excl)
{
	return mask | (excl ? IN_EXCL_UNLINK : 0) | (mask ? 0 : IN_UNMOUNT);
}

/*
 * What the kernel watch asks for beyond what the watches want, for the
 * scanner beside it (the engine delivers these only to watches that
 * asked):
 * - a scanned object's IN_ATTRIB, which is how a local unlink of a file's
 *   last link, or a rename over a file or directory, shows while the
 *   scanner's descriptor keeps the kernel from saying DELETE_SELF (scan.c,
 *   uin_scan_kernel_event);
 * - its IN_MOVE_SELF, and a scanned directory's CREATE, DELETE and
 *   MOVED_*: what the scanner then finds of this machine's renames,
 *   creations and deletions is in its ledger, whatever the masks asked,
 *   so it is not taken for a change made elsewhere (a rename into a
 *   directory whose watch has no IN_MOVED_TO is no CREATE);
 * - IN_MODIFY where a watch asks for IN_CLOSE_WRITE: a change the scanner
 *   finds of a write the kernel did not report looks remote, and gets a
 *   CLOSE_WRITE synthesised once quiet; a local write with no close
 *   (truncate(2)) or whose close came before the scanner's look must not.
 * Reads, and writes nobody closes for, are not asked: an event per
 * system call.
 */
static uint32_t scanner_needs(const struct uin_src_inode *u)
{
	if (!u->sw)
		return 0;
	uint32_t m = IN_ATTRIB | IN_MOVE_SELF;
	if (u->need & IN_CLOSE_WRITE)
		m |= IN_MODIFY;
	if (uinotify_inode_is_dir(u->inode))
		m |= IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
	return m;
}

/* Attach, update, detach --------------------------------------------------- */

static void unlink_user(struct uin_kwatch *kw, struct uin_src_inode *si)
{
	struct uin_src_inode **pp = &kw->users;
	while (*pp != si)
		pp = &(*pp)->kw_next;
	*pp = si->kw_next;
	si->kw_next = NULL;
	si->kw = NULL;
}

/* kw has no user left: remove it from the kernel and free it. */
static void kw_free(struct uin_kwatch *kw)
{
	if (kw_wd(kw) >= 0) {
		int kwd = kw->kwd;
		kw_unhash(kw);
		inotify_rm_watch(ks.fd, kwd);
	}
	if (kw->lost) {
		struct uin_kwatch **pp = &ks.lost;
		while (*pp != kw)
			pp = &(*pp)->lost_next;
		*pp = kw->lost_next;
	}
	if (hint.kw == kw)
		hint.kw = NULL;
	uin_free(kw->path);
	uin_free(kw);
}

/*
 * Remember where kw's inode is and what it is, for a fork child.  No path
 * (no memory, an unlinked file, no /proc) only means that a fork child
 * cannot re-make this watch.
 */
static void kw_identify(struct uin_kwatch *kw, const struct uin_resolved *r)
{
	kw->dev_major = r->stx.stx_dev_major;
	kw->dev_minor = r->stx.stx_dev_minor;
	kw->ino = r->stx.stx_ino;
	char link[40], buf[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", r->fd);
	ssize_t n = UIN_SYS_RETRY("kernel.identify.readlink",
				  readlink(link, buf, sizeof buf));
	if (n <= 0 || (size_t)n >= sizeof buf || buf[0] != '/')
		return;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if ((size_t)n > dl && !memcmp(buf + n - dl, deleted, dl))
		return; /* or a name that ends so: not worth the doubt */
	kw->path = uin_malloc((size_t)n + 1);
	if (kw->path) {
		memcpy(kw->path, buf, (size_t)n);
		kw->path[n] = '\0';
	}
}

/* Whether every engine watch on kw has IN_EXCL_UNLINK (true if none). */
static bool users_all_excl(const struct uin_kwatch *kw)
{
	for (const struct uin_src_inode *u = kw->users; u; u = u->kw_next)
		if (u->watched && !u->excl_all)
			return false;
	return true;
}

/*
 * The kernel's max_user_watches is reached.  The add fails with ENOSPC,
 * as a kernel instance's would; on a mount record with UIN_MNT_FALLBACK
 * (the AUTO choice) uin_mount_inode_get then hands si to the scanner,
 * which observes it by looking (it must take its snapshot outside the
 * sources lock held here).  Forcing UINOTIFY_SOURCE_KERNEL keeps the
 * kernel's answer.
 */
static int kernel_watch_enospc(struct uin_src_inode *si,
			       const struct uin_resolved *r)
{
	(void)si;
	(void)r;
	return -ENOSPC;
}

int uin_kernel_attach(struct uin_src_inode *si, const struct uin_resolved *r)
{
	uin_assert_held(&uin_sources_mu);
	/* The mask of the watch about to be added, when the caller passed
	 * it; else a superset that update() narrows. */
	uint32_t want = r->in_flags & IN_ALL_EVENTS;
	bool known = want != 0;
	if (!known)
		want = IN_ALL_EVENTS;
	bool want_excl = known && (r->in_flags & IN_EXCL_UNLINK);
	rearm_locked(); /* a fork child's, if still pending */
	struct uin_kwatch *kw = si->kw, *stale = NULL;

	if (kw && kw_wd(kw) < 0) {
		/* The kernel dropped it (death, unmount) or we are a fork
		 * child that left the parent's instance alone: start over.
		 * si leaves the old one only once the new one is made: a
		 * lost one (FORK) must still end si's watches if not. */
		stale = kw;
		kw = NULL;
	}
	if (ks.fd < 0) {
		int err = ks_open_locked();
		if (err)
			return err;
	}
	if (!kw) {
		/* IN_MASK_ADD: the kernel inode may already be watched for
		 * another engine inode, whose mask must not shrink. */
		int wd = kadd(UIN_FP("kernel.attach.add_watch"), r->fd,
			      IN_MASK_ADD | IN_UNMOUNT | want);
		if (wd < 0) {
			if (ks.nlive == 0)
				uin_loop_post(&ks.close_job);
			return wd == -ENOSPC ? kernel_watch_enospc(si, r) : wd;
		}
		kw = kw_find(wd);
		if (!kw) {
			kw = uin_calloc(1, sizeof *kw);
			if (kw) {
				kw->kwd = wd;
				kw->kmask = want;
				kw_identify(kw, r);
				if (kw_insert(kw) < 0) {
					uin_free(kw->path);
					uin_free(kw);
					kw = NULL;
				}
			}
			if (!kw) {
				inotify_rm_watch(ks.fd, wd);
				if (ks.nlive == 0)
					uin_loop_post(&ks.close_job);
				return -ENOMEM;
			}
		} else {
			kw->kmask |= want;
		}
		if (stale) {
			unlink_user(stale, si);
			if (!stale->users)
				kw_free(stale);
		}
		si->kw = kw;
		si->kw_next = kw->users;
		kw->users = si;
	} else if (want & ~kw->kmask) {
		int wd = kadd(UIN_FP("kernel.attach.widen.add_watch"), r->fd,
			      IN_MASK_ADD | want);
		if (wd < 0)
			return wd;
		if (wd == kw_wd(kw))
			kw->kmask |= want;
	}

	/* IN_EXCL_UNLINK only while every watch asks for it; a watch about
	 * to be added without it (or unknown) clears it now, else it would
	 * lose events. */
	bool excl = want_excl && users_all_excl(kw);
	if (excl != kw->kexcl) {
		int wd = kadd(UIN_FP("kernel.attach.excl.add_watch"), r->fd,
			      kernel_arg(kw->kmask, excl));
		if (wd == kw_wd(kw))
			kw->kexcl = excl;
	}

	hint.kw = kw;
	hint.fd = r->fd;
	hint.dev = makedev(r->stx.stx_dev_major, r->stx.stx_dev_minor);
	hint.ino = r->stx.stx_ino;
	return 0;
}

void uin_kernel_forget_fd(int fd)
{
	if (hint.kw && hint.fd == fd)
		hint.kw = NULL;
}

/* An fd that reaches kw's inode now, or -1. */
static int path_fd_for(struct uin_kwatch *kw)
{
	if (hint.kw == kw) {
		struct stat st;
		if (UIN_SYS_RETRY("kernel.hint.fstat",
				  fstat(hint.fd, &st)) == 0 &&
		    st.st_dev == hint.dev &&
		    st.st_ino == hint.ino)
			return hint.fd;
	}
	return -1;
}

void uin_kernel_update(struct uin_src_inode *si)
{
	uin_assert_held(&uin_sources_mu);
	rearm_locked();
	struct uin_kwatch *kw = si->kw;
	if (!kw || kw_wd(kw) < 0 || ks.fd < 0)
		return;
	uint32_t need = 0;
	bool any = false;
	for (struct uin_src_inode *u = kw->users; u; u = u->kw_next) {
		need |= u->need | scanner_needs(u);
		any |= u->watched;
	}
	bool excl = any && users_all_excl(kw);
	if (need != kw->kmask || excl != kw->kexcl) {
		int fd = path_fd_for(kw);
		if (fd >= 0) {
			int wd = kadd(UIN_FP("kernel.update.add_watch"), fd,
				      kernel_arg(need, excl));
			if (wd == kw_wd(kw)) {
				kw->kmask = need;
				kw->kexcl = excl;
			}
		} else if ((need & ~kw->kmask) || (kw->kexcl && !excl)) {
			atomic_fetch_add_explicit(&ks.stale_masks, 1,
						  memory_order_relaxed);
		}
	}
	/* One lookup, one update. */
	if (hint.kw == kw)
		hint.kw = NULL;
}

void uin_kernel_detach(struct uin_src_inode *si)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_kwatch *kw = si->kw;
	if (!kw)
		return;
	rearm_locked(); /* kw may be in the pending table */
	unlink_user(kw, si);
	if (!kw->users)
		kw_free(kw);
}

/* Events --------------------------------------------------------------------- */

/* Dispatcher-only state (under the dispatch lock). */
static struct {
	uint32_t kernel, ours;
} cookie_map[COOKIE_SLOTS];
static unsigned cookie_next_slot;
static union {
	struct inotify_event align;
	char b[KBUF_SIZE];
} kbuf;

/* Kernel cookies are unique, so a hit is the other half of one rename. */
static uint32_t map_cookie(uint32_t kernel)
{
	if (!kernel)
		return 0;
	for (unsigned i = 0; i < COOKIE_SLOTS; i++)
		if (cookie_map[i].kernel == kernel && cookie_map[i].ours)
			return cookie_map[i].ours;
	uint32_t ours = uinotify_cookie_next();
	cookie_map[cookie_next_slot].kernel = kernel;
	cookie_map[cookie_next_slot].ours = ours;
	cookie_next_slot = (cookie_next_slot + 1) % COOKIE_SLOTS;
	return ours;
}

enum ev_kind { EV_EVENT, EV_DEAD, EV_UNMOUNT };

/*
 * Counted references to kw's engine inodes that may want the event (all
 * of them for DEAD/UNMOUNT).  Looked up by key: a pointer in kw->users is
 * valid under the sources lock, but its inode may be dying.
 */
static int collect(struct uin_kwatch *kw, uint32_t mask, enum ev_kind kind,
		   struct uinotify_inode **out, struct uin_scan_watch **sws)
{
	int n = 0;
	for (struct uin_src_inode *u = kw->users; u && n < MAX_USERS;
	     u = u->kw_next) {
		if (kind == EV_EVENT &&
		    !((u->need | scanner_needs(u)) & mask & IN_ALL_EVENTS))
			continue;
		struct uinotify_inode *in =
			uinotify_inode_lookup(uinotify_inode_sb(u->inode),
					      uinotify_inode_key(u->inode));
		if (in) {
			/* The scanner's state lives until the loop thread
			 * (which we are, or hold the lock of) frees it. */
			if (sws)
				sws[n] = u->sw;
			out[n++] = in;
		}
	}
	return n;
}

/* The first kernel watch whose DELETE_SELF was seen, or NULL. */
static struct uin_kwatch *find_deleted(void)
{
	for (size_t i = 0; i < ks.nbuckets; i++)
		for (struct uin_kwatch *kw = ks.buckets[i]; kw;
		     kw = kw->hash_next)
			if (kw->deleted)
				return kw;
	return NULL;
}

/*
 * The kernel's queue overflowed.  It may have swallowed the IGNORED of a
 * deleted inode (the kernel still removed its watch): those whose
 * DELETE_SELF we saw are dead now.  Then every handle with a watch on a
 * kernel-sourced mount gets its overflow.
 */
static void ks_overflow(void)
{
	for (;;) {
		struct uinotify_inode *in[MAX_USERS];
		int n = 0;
		uin_sources_lock();
		struct uin_kwatch *kw = find_deleted();
		if (kw) {
			n = collect(kw, 0, EV_DEAD, in, NULL);
			kw_unhash(kw);
		}
		uin_sources_unlock();
		if (!kw)
			break;
		for (int i = 0; i < n; i++) {
			uinotify_hook_inode_dead(in[i]);
			uinotify_inode_put(in[i]);
		}
	}
	uin_mounts_overflow(UIN_SRC_KERNEL);
}

/*
 * The scanner's own directory reads (open, getdents, close of a directory
 * it scans) cause OPEN, ACCESS and CLOSE_NOWRITE on that directory, which
 * our kernel watch reports when some watch asked for those events.  The
 * scanner drains the kernel queue right before such a read and right
 * after it, with the directory named here: what the second drain finds of
 * those three events on it (S) or on its name in its parent (P) is ours.
 * Dispatcher-only state.
 */
static struct {
	int self_kwd, parent_kwd;
	const char *name;
} mute = {-1, -1, NULL};

void uin_kernel_mute_reads(int self_kwd, int parent_kwd, const char *name)
{
	uin_loop_assert_dispatch();
	mute.self_kwd = self_kwd;
	mute.parent_kwd = parent_kwd;
	mute.name = name;
}

void uin_kernel_unmute_reads(void)
{
	uin_loop_assert_dispatch();
	mute.self_kwd = mute.parent_kwd = -1;
	mute.name = NULL;
}

static bool muted(const struct inotify_event *e)
{
	if (!(e->mask & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE)) ||
	    !(e->mask & IN_ISDIR))
		return false;
	if (!e->len)
		return e->wd == mute.self_kwd;
	return (e->wd == mute.parent_kwd ||
		mute.parent_kwd == UIN_KERNEL_ANY_WD) &&
	       mute.name && !strcmp(e->name, mute.name);
}

int uin_kernel_reads_kwd(const struct uin_src_inode *si)
{
	uin_assert_held(&uin_sources_mu);
	const struct uin_kwatch *kw = si ? si->kw : NULL;
	if (!kw || kw_wd(kw) < 0 ||
	    !(kw->kmask & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE)))
		return -1;
	return kw->kwd;
}

static void ks_event(const struct inotify_event *e)
{
	atomic_fetch_add_explicit(&ks.events, 1, memory_order_relaxed);
	uint32_t mask = e->mask;
	if (e->wd < 0) {
		if (mask & IN_Q_OVERFLOW) {
			atomic_fetch_add_explicit(&ks.overflows, 1,
						  memory_order_relaxed);
			ks_overflow();
		}
		return;
	}
	if ((mute.self_kwd >= 0 || mute.parent_kwd != -1) && muted(e))
		return;

	struct uinotify_inode *in[MAX_USERS];
	struct uin_scan_watch *sws[MAX_USERS];
	int n = 0;
	enum ev_kind kind = EV_EVENT;
	uin_sources_lock();
	struct uin_kwatch *kw = kw_find(e->wd);
	if (!kw) {
		/* a wd we removed, or one from before a fork */
	} else if (mask & IN_IGNORED) {
		kind = EV_DEAD;
		if (!kw->unmounted)
			n = collect(kw, 0, kind, in, NULL);
		kw_unhash(kw); /* users keep it until they are released */
	} else if (mask & IN_DELETE_SELF) {
		kw->deleted = true; /* the IGNORED right behind does it */
	} else if (mask & IN_UNMOUNT) {
		kind = EV_UNMOUNT;
		kw->unmounted = true;
		n = collect(kw, 0, kind, in, NULL);
	} else {
		n = collect(kw, mask, kind, in, sws);
	}
	uin_sources_unlock();
	if (!n)
		return;

	uint32_t cookie = mask & (IN_MOVED_FROM | IN_MOVED_TO)
				  ? map_cookie(e->cookie)
				  : 0;
	for (int i = 0; i < n; i++) {
		switch (kind) {
		case EV_DEAD:
			uinotify_hook_inode_dead(in[i]);
			break;
		case EV_UNMOUNT:
			uinotify_hook_unmount_inode(in[i]);
			break;
		case EV_EVENT:
			/* Where the scanner watches the same inode, it learns
			 * what the kernel reported (so that it does not report
			 * it again), and drops what it reported first. */
			if (sws[i] &&
			    uin_scan_kernel_event(sws[i], mask,
						  e->len ? e->name : NULL))
				break;
			if (e->len)
				uinotify_hook_dirent(in[i], e->name, NULL,
						     mask, cookie);
			else
				uinotify_hook_inode(in[i], mask, cookie);
			break;
		}
		uinotify_inode_put(in[i]);
	}
}

static void ks_read_queue(void)
{
	for (int round = 0; round < READ_ROUNDS; round++) {
		uin_sources_lock();
		int fd = ks.fd; /* closed only by the close job, which also
				   runs under the dispatch lock */
		uin_sources_unlock();
		if (fd < 0)
			return;
		ssize_t n = UIN_SYS_RETRY("kernel.read",
					  read(fd, kbuf.b, sizeof kbuf.b));
		if (n < 0 && errno != EAGAIN) {
			/* What the kernel held may be gone with the failed
			 * read: the watches say so, as for the kernel's own
			 * overflow. */
			struct inotify_event ov = {.wd = -1,
						   .mask = IN_Q_OVERFLOW};
			ks_event(&ov);
			return;
		}
		if (n <= 0)
			return;
		for (char *p = kbuf.b; p < kbuf.b + n;) {
			const struct inotify_event *e = (const void *)p;
			p += sizeof *e + e->len;
			ks_event(e);
			/* A rename over a watched object: its end after the
			 * MOVE_SELF of the object that took its name. */
			const struct inotify_event *next = (const void *)p;
			if (p >= kbuf.b + n || !(next->mask & IN_MOVE_SELF))
				uin_scan_kernel_deaths();
		}
		/* A short read means the queue was empty: save a syscall. */
		if ((size_t)n + sizeof(struct inotify_event) + NAME_MAX + 1 <=
		    sizeof kbuf.b)
			return;
	}
}

static void ks_read(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	ks_read_queue();
	/* After what the kernel said: a directory renamed over is ended by
	 * its ATTRIB there, in the kernel's order. */
	uin_scan_kernel_orphans();
}

/* Fork ------------------------------------------------------------------------
 * (FORK above.)  child forgets the parent's instance and keeps the parent's
 * table aside; rearm makes the watches again in the child's own instance.
 * Neither writes to a kernel watch that it does not make again: every page
 * the child writes is copied, and a fork that execs at once should cost
 * little more than the kernel's inotify_add_watch calls.  So the child
 * forgets its parent's wds by moving to a new epoch (kw_wd), not by
 * clearing each.
 */
/*
 * In the child's handler (O(1): no allocation, no loop over the table).
 * The table becomes the rearm table, made again at the child's first
 * settle (uin_kernel_atfork_rearm).  A child that had not re-armed its own
 * inherited table yet when it forked keeps that one: its live table is
 * empty then (every call that adds a kernel watch re-arms first), so the
 * grandchild inherits one table either way.  A torn child (loop.h)
 * forgets the parent's instance too, so that it cannot read it.
 */
void uin_kernel_atfork_child(void)
{
	if (ks.fd >= 0)
		close(ks.fd);
	ks.fd = -1;
	ks.reg = NULL; /* the loop forgets it */
	if (!ks.rearm_buckets) {
		ks.rearm_buckets = ks.buckets;
		ks.rearm_nbuckets = ks.nbuckets;
		ks.rearm_n = ks.nlive;
		ks.buckets = NULL;
		ks.nbuckets = 0;
		ks.nlive = 0;
	}
	ks.epoch++;
	hint.kw = NULL;
	/* Not uin_kernel_unmute_reads: the child's one thread does not hold
	 * the dispatch lock here (re-initialised, or, torn, never taken). */
	mute.self_kwd = mute.parent_kwd = -1;
	mute.name = NULL;
}

struct kfdinfo {
	int wd;
	unsigned major, minor;
	uint64_t ino;
};

static int kfdinfo_cmp(const void *a, const void *b)
{
	int x = ((const struct kfdinfo *)a)->wd;
	int y = ((const struct kfdinfo *)b)->wd;
	return (x > y) - (x < y);
}

/* The hex number after "key:" in line, or false. */
static bool hex_field(const char *line, const char *key,
		      unsigned long long *out)
{
	const char *p = strstr(line, key);
	if (!p)
		return false;
	char *end;
	*out = strtoull(p + strlen(key), &end, 16);
	return end != p + strlen(key);
}

/*
 * The inode behind every wd of our instance, from /proc/self/fdinfo, sorted
 * by wd: lines "inotify wd:%x ino:%lx sdev:%x ...", sdev in the kernel's
 * encoding (major << 20 | minor).  The count, or -1.
 */
static long read_kfdinfo(int ifd, long expect, struct kfdinfo **out)
{
	char name[48];
	snprintf(name, sizeof name, "/proc/self/fdinfo/%d", ifd);
	int fd = UIN_SYS_RETRY("kernel.rearm.fdinfo.open",
			       open(name, O_RDONLY | O_CLOEXEC));
	if (fd < 0)
		return -1;
	/* About 130 bytes a watch; grown if that is short. */
	size_t cap = 4096 + (size_t)expect * 160, len = 0;
	char *text = uin_malloc(cap);
	ssize_t r = 0;
	while (text) {
		if (len + 1 == cap) {
			char *t = uin_realloc(text, cap * 2);
			if (!t) {
				uin_free(text);
				text = NULL;
				break;
			}
			text = t;
			cap *= 2;
		}
		r = UIN_SYS_RETRY("kernel.rearm.fdinfo.read",
				  read(fd, text + len, cap - 1 - len));
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	struct kfdinfo *v = text && r == 0
				    ? uin_malloc(sizeof *v * (size_t)(expect + 1))
				    : NULL;
	if (!v) {
		uin_free(text);
		return -1;
	}
	text[len] = '\0';
	long n = 0;
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		unsigned long long wd, ino, sdev;
		if (strncmp(line, "inotify ", 8) || !hex_field(line, " wd:", &wd) ||
		    !hex_field(line, " ino:", &ino) ||
		    !hex_field(line, " sdev:", &sdev))
			continue;
		if (n == expect + 1)
			break; /* more wds than we made: cannot be ours */
		v[n++] = (struct kfdinfo){.wd = (int)wd,
					  .major = (unsigned)(sdev >> 20),
					  .minor = (unsigned)(sdev & 0xfffff),
					  .ino = ino};
	}
	uin_free(text);
	qsort(v, (size_t)n, sizeof *v, kfdinfo_cmp);
	*out = v;
	return n;
}

/* Whether wd is on kw's inode; without fdinfo, by kw's path. */
static bool rearmed_right(const struct uin_kwatch *kw, int wd,
			  const struct kfdinfo *v, long n)
{
	if (n < 0) {
		struct statx stx;
		return UIN_SYS_RETRY("kernel.rearm.statx",
				     statx(AT_FDCWD, kw->path,
					   AT_SYMLINK_NOFOLLOW, STATX_INO,
					   &stx)) == 0 &&
		       stx.stx_ino == kw->ino &&
		       stx.stx_dev_major == kw->dev_major &&
		       stx.stx_dev_minor == kw->dev_minor;
	}
	struct kfdinfo key = {.wd = wd};
	const struct kfdinfo *e =
		bsearch(&key, v, (size_t)n, sizeof *v, kfdinfo_cmp);
	return e && e->ino == kw->ino && e->major == kw->dev_major &&
	       e->minor == kw->dev_minor;
}

/*
 * UINOTIFY_FORK_REARM: "sync" re-makes the inherited watches at the
 * child's first settle, before the call that settles goes on; "async" on
 * the child's loop thread right after it (the call does not wait for the
 * watches); "off" leaves them silent; "auto" (the default) is sync up to
 * REARM_SYNC_MAX kernel watches, async above.  A child that execs or
 * _exits without a call pays for none of them.
 */
#define REARM_SYNC_MAX 1000
enum rearm_mode {
	REARM_AUTO = UIN_REARM_AUTO,
	REARM_SYNC = UIN_REARM_SYNC,
	REARM_ASYNC = UIN_REARM_ASYNC,
	REARM_OFF = UIN_REARM_OFF,
};

static enum rearm_mode rearm_mode(void)
{
	/* At each fork's settle (a program may change it in between). */
	return (enum rearm_mode)uin_env_fresh(UIN_ENV_FORK_REARM);
}

/* Under the sources lock: the inherited table, now ours to use (NULL if
 * there is none left). */
static struct uin_kwatch **take_rearm_table(size_t *nbuckets, long *n)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	struct uin_kwatch **old = ks.rearm_buckets;
	*nbuckets = ks.rearm_nbuckets;
	*n = ks.rearm_n;
	ks.rearm_buckets = NULL;
	ks.rearm_nbuckets = 0;
	ks.rearm_n = 0;
	return old;
}

/* Under the sources lock: kw, of the old epoch, is not made again. */
static void lose(struct uin_kwatch *kw)
{
	kw->hash_next = NULL;
	kw->lost = true;
	kw->lost_next = ks.lost;
	ks.lost = kw;
}

/*
 * With no lock held: every engine watch on a lost kernel watch ends with
 * IN_IGNORED (FORK above), under the dispatch lock as every delivery.
 */
static void deliver_lost(void)
{
	uin_loop_dispatch_enter();
	for (;;) {
		struct uinotify_inode *in[MAX_USERS];
		int n = 0;
		uin_sources_lock();
		struct uin_kwatch *kw = ks.lost;
		if (kw) {
			ks.lost = kw->lost_next;
			kw->lost_next = NULL;
			kw->lost = false;
			n = collect(kw, 0, EV_DEAD, in, NULL);
		}
		uin_sources_unlock();
		if (!kw)
			break;
		for (int i = 0; i < n; i++) {
			uin_hook_inode_lost(in[i]);
			uinotify_inode_put(in[i]);
		}
	}
	uin_loop_dispatch_exit();
}

/* Under the sources lock: make the inherited watches, if any are left. */
static void rearm_locked(void)
	UIN_REQUIRES(uin_sources_mu)
{
	uin_assert_held(&uin_sources_mu);
	size_t nold;
	long n;
	struct uin_kwatch **old = take_rearm_table(&nold, &n);
	if (!old)
		return;

	/* The inherited watches, in one array (the hash chains are about to
	 * be reused by the new table). */
	struct rearm {
		struct uin_kwatch *kw;
		int wd;
	} *all = n > 0 ? uin_malloc(sizeof *all * (size_t)n) : NULL;
	long nall = 0, right = 0, lost = 0;
	for (size_t b = 0; b < nold; b++) {
		struct uin_kwatch *kw = old[b], *next;
		for (; kw; kw = next) {
			next = kw->hash_next;
			if (all && nall < n) {
				all[nall++] = (struct rearm){kw, -1};
			} else {
				lose(kw); /* no memory */
				lost++;
			}
		}
	}
	uin_free(old);
	/* The instance is given to the loop (whose thread starts then) only
	 * once the watches are made: while the child has one thread, the
	 * copy-on-write faults of this pass need no TLB shootdown. */
	int newfd = -1;
	if (nall && ks.fd < 0)
		newfd = UIN_SYS_RETRY("kernel.rearm.init1",
				      inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	int fd = ks.fd >= 0 ? ks.fd : newfd;
	bool on = fd >= 0;

	/* Every path first; IN_MASK_ADD, so that two paths that now reach
	 * one inode do not narrow each other's mask. */
	long added = 0;
	for (long i = 0; on && i < nall; i++) {
		struct uin_kwatch *kw = all[i].kw;
		if (kw->path && !kw->deleted && !kw->unmounted)
			all[i].wd = UIN_SYS_RETRY(
				"kernel.rearm.add_watch",
				inotify_add_watch(
					fd, kw->path,
					IN_MASK_ADD | IN_DONT_FOLLOW |
						kernel_arg(kw->kmask,
							   kw->kexcl)));
		added += all[i].wd >= 0;
	}
	/* Then which inode each wd is on.  A watch on another inode is
	 * taken back unless a watch that is right holds its wd. */
	struct kfdinfo *v = NULL;
	long nv = added ? read_kfdinfo(fd, added, &v) : 0;
	if (newfd >= 0 && ks_register_locked(newfd) < 0) {
		close(newfd); /* no loop: nothing can be made */
		for (long i = 0; i < nall; i++)
			all[i].wd = -1;
	}
	for (long i = 0; i < nall; i++) {
		struct uin_kwatch *kw = all[i].kw;
		if (all[i].wd >= 0 && rearmed_right(kw, all[i].wd, v, nv) &&
		    !kw_find(all[i].wd)) {
			int parents = kw->kwd;
			kw->kwd = all[i].wd;
			if (kw_insert(kw) == 0) {
				right++;
				all[i].kw = NULL;
				continue;
			}
			kw->kwd = parents; /* still of the old epoch */
		}
		lose(kw);
		lost++;
	}
	for (long i = 0; i < nall; i++)
		if (all[i].kw && all[i].wd >= 0 && !kw_find(all[i].wd))
			inotify_rm_watch(ks.fd, all[i].wd);
	uin_free(v);
	uin_free(all);
	if (ks.fd >= 0 && ks.nlive == 0)
		uin_loop_post(&ks.close_job);
	atomic_fetch_add(&ks.rearmed, right);
	atomic_fetch_add(&ks.rearm_lost, lost);
}

static void rearm_job_fn(struct uin_loop_job *job)
{
	(void)job;
	uin_sources_lock();
	rearm_locked();
	bool lost = ks.lost != NULL;
	uin_sources_unlock();
	if (lost)
		deliver_lost();
}

void uin_kernel_atfork_rearm(void)
{
	uin_sources_lock();
	enum rearm_mode mode = ks.rearm_buckets ? rearm_mode() : REARM_OFF;
	if (mode == REARM_AUTO)
		mode = ks.rearm_n <= REARM_SYNC_MAX ? REARM_SYNC : REARM_ASYNC;
	if (mode == REARM_ASYNC && uin_loop_post(&ks.rearm_job) < 0)
		mode = REARM_SYNC;
	if (mode == REARM_SYNC) {
		rearm_locked();
	} else if (mode == REARM_OFF && ks.rearm_buckets) {
		/* Forgotten by the epoch; nothing to write. */
		size_t nold;
		long n;
		uin_free(take_rearm_table(&nold, &n));
		atomic_fetch_add(&ks.rearm_lost, n);
	}
	/* A grandchild may inherit a list its parent had not delivered. */
	bool lost = ks.lost != NULL;
	uin_sources_unlock();
	if (lost)
		deliver_lost();
}

void uin_kernel_debug_inject(const struct inotify_event *e)
{
	/* As the loop thread's read would: under the dispatch lock. */
	uin_loop_dispatch_enter();
	ks_event(e);
	uin_loop_dispatch_exit();
}

long uin_kernel_debug_lose_events(void)
{
	long lost = 0;
	uin_loop_dispatch_enter();
	for (;;) {
		uin_sources_lock();
		int fd = ks.fd;
		uin_sources_unlock();
		if (fd < 0)
			break;
		ssize_t n = read(fd, kbuf.b, sizeof kbuf.b);
		if (n <= 0)
			break;
		for (char *p = kbuf.b; p < kbuf.b + n; lost++) {
			const struct inotify_event *e = (const void *)p;
			p += sizeof *e + e->len;
		}
	}
	struct inotify_event ov = {.wd = -1, .mask = IN_Q_OVERFLOW};
	ks_event(&ov);
	uin_loop_dispatch_exit();
	return lost;
}

void uin_kernel_get_stats(struct uin_kernel_stats *s)
{
	uin_loop_fork_settle(true); /* a fork child's figures include its rearm */
	uin_sources_lock();
	s->fd = ks.fd;
	s->kwatches = ks.nlive;
	uin_sources_unlock();
	s->events = atomic_load(&ks.events);
	s->overflows = atomic_load(&ks.overflows);
	s->updates = atomic_load(&ks.updates);
	s->stale_masks = atomic_load(&ks.stale_masks);
	s->rearmed = atomic_load(&ks.rearmed);
	s->rearm_lost = atomic_load(&ks.rearm_lost);
}

/* The ops table ------------------------------------------------------------- */

static int kernel_inode_get(const struct uin_resolved *r,
			    struct uinotify_inode **out)
{
	return uin_mount_inode_get(r, UIN_SRC_KERNEL, 0, out);
}

const struct uin_source_ops uin_source_kernel = {
	.name = "kernel",
	.inode_get = kernel_inode_get,
};
