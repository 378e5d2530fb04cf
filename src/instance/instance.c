/*
 * src/instance/instance.c - inotify instances: creation, lookup by fd,
 * lifetime, limits and sources.  The queue and read() are in queue.c, the
 * watches in watches.c.  This is what fs/notify/inotify/inotify_user.c is
 * to fsnotify: one consumer of the engine whose handle_event queues and
 * whose destroy_watch frees.
 *
 * THE FILE DESCRIPTOR
 *
 *   The user's fd is the read end of a pipe (O_CLOEXEC only with
 *   IN_CLOEXEC, O_NONBLOCK only with IN_NONBLOCK).  The pipe holds one byte
 *   ("token") per queued event, so the fd is readable exactly while the
 *   queue is non-empty, each queued event is a pipe write (a new EPOLLET
 *   edge and a SIGIO, as Linux gives per queued event; a merged event
 *   writes nothing), and it is never writable.  The records stay in this
 *   process; uinotify_read hands them out.  Our own end, iofd, is the same
 *   pipe reopened O_RDWR|O_NONBLOCK through /proc/self/fd: a writer, and a
 *   reader that never blocks for the token bookkeeping.  Being a reader
 *   too, it keeps the pipe from ever having no reader, so a write can
 *   never raise SIGPIPE, even if the application closes the user's fd
 *   behind our back.  Without /proc, iofd is the plain write end (made
 *   O_NONBLOCK) and bookkeeping reads use preadv2(RWF_NOWAIT) on the
 *   caller's fd, which never blocks whatever its O_NONBLOCK says.
 *
 * LOCKS, in this order (extends the order at the top of engine/watch.c):
 *
 *   inst->add_lock     find-or-add of a watch (the kernel's mark_mutex);
 *                      taken BEFORE any engine call, never inside one
 *     -> engine inode->lock -> engine handle->lock  (handlers run here)
 *       -> inst->q_lock    the queue, its counters and the tokens
 *   reg_lock is a leaf: the live list, the free list, the fd table's
 *   writers.  No engine call and no other lock is taken under it, so a
 *   last put may free an instance from anywhere (even inside a handler).
 *
 * LIFETIME (two counts, like struct file and struct fsnotify_group):
 *
 *   users  the open state (1 from init1 until the last of its fds is
 *          closed with uinotify_close) + 1 per API call in progress (the
 *          fdget of Linux).  The last user put tears the instance down:
 *          handle destroyed (all watches go, no IN_IGNORED), queue freed,
 *          iofd closed.  So a call racing with close, or a read blocked
 *          while another thread closes the fd, keeps the instance working
 *          until it returns, as a file reference does in Linux.
 *   refs   1 while users > 0, + 1 per watch (put by destroy_watch).  The
 *          last put returns the memory to the free list and uncharges the
 *          max_user_instances count (the kernel's group refcount).
 *
 *   Instance memory is type-stable: never returned to malloc, recycled
 *   through a free list.  That lets uin_instance_get read the fd table
 *   without a lock: it loads the slot, raises users only if it is not
 *   zero, then checks the slot still holds that instance (a recycled
 *   instance found through a stale slot fails the check and is put back).
 *   Retired fd tables are kept for the same reason.
 *
 * FDS: the fd init1 returned is in the table; any other fd that reaches
 * the pipe's read end (a dup) is found on a table miss by fstat and the
 * pipe's (st_dev, st_ino).  uinotify_close of one fd keeps the instance
 * while another fd of this process still refers to the pipe (looked for in
 * /proc/self/fd only once a dup has been seen), as Linux keeps the file.
 * The drop-in library knows every name and counts them (inst->named,
 * preload_api.h): its close looks at nothing.
 *
 * The token invariant is at the top of queue.c.
 */
#include "instance/instance.h"
#include "instance/config.h"
#include "instance/preload_api.h"
#include "sources/loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "sources/source.h"

/* Limits and the default source ------------------------------------------ */

/* The variables of the limits, in the order of enum uinotify_limit. */
static const enum uin_env limit_vars[] = {
	[UINOTIFY_MAX_USER_INSTANCES] = UIN_ENV_MAX_USER_INSTANCES,
	[UINOTIFY_MAX_USER_WATCHES] = UIN_ENV_MAX_USER_WATCHES,
	[UINOTIFY_MAX_QUEUED_EVENTS] = UIN_ENV_MAX_QUEUED_EVENTS,
};
#define NLIMITS (sizeof limit_vars / sizeof limit_vars[0])

static atomic_int limits[NLIMITS];
static atomic_int default_source;
static atomic_bool default_recovery;
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

/* From the environment (instance/config.c: a bad value is reported and
 * the default used; a limit's default is /proc/sys/fs/inotify's). */
static void defaults_init(void)
{
	for (unsigned i = 0; i < NLIMITS; i++)
		atomic_store(&limits[i], (int)uin_env(limit_vars[i]));
	atomic_store(&default_source, (int)uin_env(UIN_ENV_SOURCE));
	atomic_store(&default_recovery, uin_env(UIN_ENV_RECOVER) != 0);
}

static void defaults(void)
{
	pthread_once(&defaults_once, defaults_init);
}

int uin_limit(enum uinotify_limit limit)
{
	defaults();
	return atomic_load(&limits[limit]);
}

UINOTIFY_EXPORT int uinotify_set_limit(enum uinotify_limit limit, int value)
{
	if ((unsigned)limit >= NLIMITS || value < 0)
		return -EINVAL;
	defaults();
	atomic_store(&limits[limit], value);
	return 0;
}

UINOTIFY_EXPORT int uinotify_get_limit(enum uinotify_limit limit)
{
	if ((unsigned)limit >= NLIMITS)
		return -EINVAL;
	return uin_limit(limit);
}

UINOTIFY_EXPORT int uinotify_set_default_source(enum uinotify_source source)
{
	if (!uin_source_name(source))
		return -EINVAL;
	defaults();
	atomic_store(&default_source, (int)source);
	return 0;
}

UINOTIFY_EXPORT enum uinotify_source uinotify_default_source(void)
{
	defaults();
	return (enum uinotify_source)atomic_load(&default_source);
}

/* Per-process counts against the limits (Linux: per user, ucounts).  A
 * charge succeeds only below the limit, as inc_ucount does. */
static atomic_int instances_charged;
static atomic_long watches_charged;

bool uin_instances_charge(void)
{
	int max = uin_limit(UINOTIFY_MAX_USER_INSTANCES);
	int cur = atomic_load(&instances_charged);
	do
		if (cur >= max)
			return false;
	while (!atomic_compare_exchange_weak(&instances_charged, &cur, cur + 1));
	return true;
}

bool uin_watches_charge(void)
{
	long max = uin_limit(UINOTIFY_MAX_USER_WATCHES);
	long cur = atomic_load(&watches_charged);
	do
		if (cur >= max)
			return false;
	while (!atomic_compare_exchange_weak(&watches_charged, &cur, cur + 1));
	return true;
}

void uin_watches_uncharge(void)
{
	atomic_fetch_sub(&watches_charged, 1);
}

/* The registry: live instances, free list, fd table ------------------------ */

struct uin_fdtab {
	struct uin_fdtab *retired_next; /* [reg_lock] */
	size_t size;                    /* constant */
	_Atomic(struct uin_instance *) slot[];
};

static uin_mutex_t reg_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_REG);
static struct uin_instance *live_list;  /* [reg_lock] */
static struct uin_instance *free_list;  /* [reg_lock] */
static atomic_long nlive;               /* instances on live_list */
static _Atomic(struct uin_fdtab *) fdtab; /* writers hold reg_lock */
static struct uin_fdtab *fdtab_retired; /* [reg_lock] kept forever */
static atomic_bool plain_pipe;          /* tests: no /proc reopen */

void uin_instance_debug_plain_pipe(bool on)
{
	atomic_store(&plain_pipe, on);
}

/* Under reg_lock. */
static int fdtab_set_locked(int fd, struct uin_instance *inst)
	UIN_REQUIRES(reg_lock)
{
	uin_assert_held(&reg_lock);
	struct uin_fdtab *t = atomic_load_explicit(&fdtab, memory_order_relaxed);
	if (!t || (size_t)fd >= t->size) {
		size_t n = t ? t->size : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct uin_fdtab *nt =
			uin_calloc(1, sizeof *nt + n * sizeof nt->slot[0]);
		if (!nt)
			return -ENOMEM;
		nt->size = n;
		for (size_t i = 0; i < n; i++)
			atomic_init(&nt->slot[i],
				    t && i < t->size
					    ? atomic_load_explicit(
						      &t->slot[i],
						      memory_order_relaxed)
					    : NULL);
		atomic_store_explicit(&fdtab, nt, memory_order_release);
		if (t) {
			t->retired_next = fdtab_retired;
			fdtab_retired = t;
		}
		t = nt;
	}
	atomic_store_explicit(&t->slot[fd], inst, memory_order_release);
	return 0;
}

static void fdtab_clear_locked(int fd)
	UIN_REQUIRES(reg_lock)
{
	uin_assert_held(&reg_lock);
	struct uin_fdtab *t = atomic_load_explicit(&fdtab, memory_order_relaxed);
	if (t && fd >= 0 && (size_t)fd < t->size)
		atomic_store_explicit(&t->slot[fd], NULL, memory_order_release);
}

static bool get_unless_zero(atomic_long *count)
{
	long c = atomic_load(count);
	do
		if (c == 0)
			return false;
	while (!atomic_compare_exchange_weak(count, &c, c + 1));
	return true;
}

/* The lock-free path: the fds init1 returned. */
static struct uin_instance *fdtab_lookup(int fd)
{
	struct uin_fdtab *t = atomic_load_explicit(&fdtab, memory_order_acquire);
	if (!t || fd < 0 || (size_t)fd >= t->size)
		return NULL;
	struct uin_instance *inst =
		atomic_load_explicit(&t->slot[fd], memory_order_acquire);
	if (!inst || !get_unless_zero(&inst->users))
		return NULL;
	/* Recheck in the current table: the instance may have been closed
	 * and recycled since the slot was read. */
	t = atomic_load_explicit(&fdtab, memory_order_acquire);
	if (atomic_load_explicit(&t->slot[fd], memory_order_acquire) != inst) {
		uin_instance_put_user(inst);
		return NULL;
	}
	return inst;
}

/* Any other fd on the pipe's read end: by the pipe's identity. */
static struct uin_instance *lookup_by_pipe(int fd, const struct stat *st)
{
	struct uin_instance *inst;
	uin_mutex_lock(&reg_lock);
	for (inst = live_list; inst; inst = inst->next)
		if (inst->pipe_dev == st->st_dev &&
		    inst->pipe_ino == st->st_ino &&
		    get_unless_zero(&inst->users))
			break;
	if (inst && inst->fd != fd)
		atomic_store(&inst->dup_seen, true);
	uin_mutex_unlock(&reg_lock);
	return inst;
}

/*
 * The instance behind fd, with a user reference.  -EBADF if fd is not an
 * open fd (or an O_PATH one, which fdget refuses too), -EINVAL if it is
 * not an instance.
 */
int uin_instance_get(int fd, struct uin_instance **out)
{
	struct uin_instance *inst = fdtab_lookup(fd);
	if (inst) {
		*out = inst;
		return 0;
	}
	/* The answer is the return value: errno stays the caller's (the
	 * calls that are not inotify's leave it alone). */
	int saved = errno;
	int ret = 0;
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		ret = -EBADF;
	else if (atomic_load(&nlive) == 0)
		ret = -EINVAL;
	else if (fstat(fd, &st) < 0)
		ret = -EBADF;
	else if (!S_ISFIFO(st.st_mode))
		ret = -EINVAL;
	else if (!(inst = lookup_by_pipe(fd, &st)))
		ret = -EINVAL;
	errno = saved;
	if (ret == 0)
		*out = inst;
	return ret;
}

/*
 * For calls that forward to the real call when fd is no instance (read,
 * ioctl, close): no syscall at all while no instance exists.
 */
struct uin_instance *uin_instance_find(int fd)
{
	struct uin_instance *inst = fdtab_lookup(fd);
	if (inst || atomic_load(&nlive) == 0)
		return inst;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return NULL;
	return lookup_by_pipe(fd, &st);
}

void uin_instance_get_ref(struct uin_instance *inst)
{
	atomic_fetch_add(&inst->refs, 1);
}

void uin_instance_put_ref(struct uin_instance *inst)
{
	if (atomic_fetch_sub(&inst->refs, 1) != 1)
		return;
	uin_count(UIN_COUNT_INSTANCES, -1);
	uin_instances_uncharge();
	uin_mutex_lock(&reg_lock);
	inst->next = free_list;
	free_list = inst;
	uin_mutex_unlock(&reg_lock);
}

/* The last user is gone: what inotify_release does. */
static void instance_teardown(struct uin_instance *inst)
{
	uin_mutex_lock(&reg_lock);
	if (inst->live) {
		struct uin_instance **pp = &live_list;
		while (*pp != inst)
			pp = &(*pp)->next;
		*pp = inst->next;
		inst->live = false;
		atomic_fetch_sub(&nlive, 1);
	}
	if (inst->fd >= 0) {
		fdtab_clear_locked(inst->fd);
		inst->fd = -1;
	}
	uin_mutex_unlock(&reg_lock);
	/* No IN_IGNORED; the watches' final puts drop their refs. */
	uinotify_handle_destroy(inst->handle);
	uin_queue_drain(inst);
	uin_instance_put_ref(inst); /* the one users > 0 held */
}

void uin_instances_uncharge(void)
{
	atomic_fetch_sub(&instances_charged, 1);
}

void uin_instance_put_user(struct uin_instance *inst)
{
	if (atomic_fetch_sub(&inst->users, 1) == 1)
		instance_teardown(inst);
}

/* Creation ---------------------------------------------------------------- */

struct uin_instance *uin_instance_alloc(void)
{
	uin_mutex_lock(&reg_lock);
	struct uin_instance *inst = free_list;
	if (inst)
		free_list = inst->next;
	uin_mutex_unlock(&reg_lock);
	if (!inst) {
		inst = uin_calloc(1, sizeof *inst);
		if (!inst)
			return NULL;
		uin_mutex_init(&inst->add_lock, UIN_RANK_ADD);
		uin_mutex_init(&inst->q_lock, UIN_RANK_QUEUE);
	}
	/* Under q_lock: a loop job left from the struct's earlier use (the
	 * memory is type-stable, see flush_job in queue.c) may look at it. */
	uin_mutex_lock(&inst->q_lock);
	inst->next = NULL;
	inst->live = false;
	inst->fd = -1;
	inst->handle = NULL;
	atomic_store(&inst->source, (int)uinotify_default_source());
	atomic_store(&inst->recovery, atomic_load(&default_recovery));
	atomic_store(&inst->open, true);
	atomic_store(&inst->dup_seen, false);
	atomic_store(&inst->named, -1);
	inst->wd_cursor = 1;
	inst->head = inst->tail = NULL;
	inst->q_len = 0;
	inst->max_events = (unsigned)uin_limit(UINOTIFY_MAX_QUEUED_EVENTS);
	inst->q_bytes = 0;
	inst->overflow_queued = false;
	inst->dead = false;
	memset(&inst->overflow, 0, sizeof inst->overflow);
	inst->overflow.rec.wd = -1;
	inst->overflow.rec.mask = IN_Q_OVERFLOW;
	inst->iofd = -1;
	inst->io_reads = false;
	inst->sink = NULL;
	inst->unsignaled = 0;
	inst->debt = 0;
	uin_mutex_unlock(&inst->q_lock);
	atomic_store(&inst->refs, 1);
	/* Last: from here a stale lookup may take a user reference, and
	 * its recheck of the fd table sends it away. */
	atomic_store(&inst->users, 1);
	return inst;
}

/* Under q_lock: a loop job left from the struct's earlier use (flush_job
 * in queue.c) reads iofd under it. */
static void set_iofd(struct uin_instance *inst, int fd, bool io_reads)
{
	uin_mutex_lock(&inst->q_lock);
	inst->iofd = fd;
	inst->io_reads = io_reads;
	uin_mutex_unlock(&inst->q_lock);
}

/* Our end of the pipe: see THE FILE DESCRIPTOR above. */
static int open_iofd(struct uin_instance *inst, int wfd)
{
	if (!atomic_load(&plain_pipe)) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", wfd);
		int fd = UIN_SYS_RETRY("instance.init.open_iofd",
				       open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC));
		if (fd >= 0) {
			close(wfd);
			set_iofd(inst, fd, true);
			return 0;
		}
	}
	int fl = fcntl(wfd, F_GETFL);
	if (fl < 0 || fcntl(wfd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	set_iofd(inst, wfd, false);
	return 0;
}

/*
 * Room for a token per queued event, the overflow record included; the
 * default 64 KiB pipe holds 16384 + 1 already.  Failing to grow is not an
 * error: events beyond the pipe are counted in unsignaled (queue.c).
 */
static void size_pipe(struct uin_instance *inst)
{
	long need = (long)inst->max_events + 1;
	if (need <= 4096)
		return;
	long have = fcntl(inst->iofd, F_GETPIPE_SZ);
	if (have >= 0 && have < need && need <= INT_MAX)
		fcntl(inst->iofd, F_SETPIPE_SZ, (int)need);
}

static int instance_create(int flags)
{
	int ret, p[2];
	if (!uin_instances_charge())
		return -EMFILE;
	struct uin_instance *inst = uin_instance_alloc();
	if (!inst) {
		uin_instances_uncharge();
		return -ENOMEM;
	}
	/* From here the instance is counted; put_ref undoes everything. */
	uin_count(UIN_COUNT_INSTANCES, 1);
	ret = uinotify_handle_create(&uin_instance_ops, inst, &inst->handle);
	if (ret < 0)
		goto put_ref;
	/* O_CLOEXEC first: no window where a concurrent fork+exec inherits
	 * our end. */
	if (UIN_SYS_RETRY("instance.init.pipe2",
			  pipe2(p, O_CLOEXEC | (flags & IN_NONBLOCK))) < 0) {
		ret = -errno;
		goto destroy_handle;
	}
	ret = open_iofd(inst, p[1]);
	if (ret < 0) {
		close(p[1]);
		goto close_read_end;
	}
	if (!(flags & IN_CLOEXEC) && fcntl(p[0], F_SETFD, 0) < 0) {
		ret = -errno;
		goto close_iofd;
	}
	size_pipe(inst);
	struct stat st;
	if (UIN_SYS_RETRY("instance.init.fstat", fstat(p[0], &st)) < 0) {
		ret = -errno;
		goto close_iofd;
	}
	inst->pipe_dev = st.st_dev;
	inst->pipe_ino = st.st_ino;

	uin_mutex_lock(&reg_lock);
	ret = fdtab_set_locked(p[0], inst);
	if (ret == 0) {
		inst->fd = p[0];
		inst->live = true;
		inst->next = live_list;
		live_list = inst;
		atomic_fetch_add(&nlive, 1);
	}
	uin_mutex_unlock(&reg_lock);
	if (ret < 0)
		goto close_iofd;
	return p[0];

close_iofd:
	close(inst->iofd);
	set_iofd(inst, -1, false);
close_read_end:
	close(p[0]);
destroy_handle:
	uinotify_handle_destroy(inst->handle);
put_ref:
	atomic_store(&inst->users, 0);
	uin_instance_put_ref(inst);
	return ret;
}

UINOTIFY_EXPORT int uinotify_init1(int flags)
{
	if (flags & ~(IN_CLOEXEC | IN_NONBLOCK)) {
		errno = EINVAL;
		return -1;
	}
	int ret = instance_create(flags);
	/* What the pipe's making gave that inotify_init1 cannot (EIO from
	 * an fstat): no memory, the one it has for a resource it lacks. */
	if (ret < 0 && ret != -EMFILE && ret != -ENFILE && ret != -ENOMEM)
		ret = -ENOMEM;
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

UINOTIFY_EXPORT int uinotify_init(void)
{
	return uinotify_init1(0);
}

/* Closing ----------------------------------------------------------------- */

/* Whether an fd of this process other than iofd and skip is on the pipe. */
static bool pipe_still_open(struct uin_instance *inst, int skip)
{
	uin_mutex_lock(&reg_lock);
	bool primary = inst->fd >= 0;
	uin_mutex_unlock(&reg_lock);
	if (primary)
		return true;
	int named = atomic_load(&inst->named);
	if (named >= 0)
		return named > 0;
	if (!atomic_load(&inst->dup_seen))
		return false;
	uin_mutex_lock(&inst->q_lock);
	int iofd = inst->iofd;
	uin_mutex_unlock(&inst->q_lock);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || n == dirfd(d) || n == iofd ||
		    n == skip)
			continue;
		struct stat st;
		found = fstat((int)n, &st) == 0 && S_ISFIFO(st.st_mode) &&
			st.st_dev == inst->pipe_dev &&
			st.st_ino == inst->pipe_ino;
	}
	closedir(d);
	return found;
}

/*
 * fd stops naming inst (and is closed with do_close); the instance's open
 * state ends when no other descriptor of this process is on its pipe.
 * Consumes the caller's user reference.
 */
static int release_fd(struct uin_instance *inst, int fd, bool do_close)
{
	bool primary = false;
	uin_mutex_lock(&reg_lock);
	if (inst->fd == fd) {
		/* Before close(): the number may be reused at once. */
		fdtab_clear_locked(fd);
		inst->fd = -1;
		primary = true;
	}
	uin_mutex_unlock(&reg_lock);
	if (!primary) {
		int n = atomic_load(&inst->named);
		while (n > 0 &&
		       !atomic_compare_exchange_weak(&inst->named, &n, n - 1))
			;
	}
	int ret = do_close ? close(fd) : 0;
	int err = errno;
	bool last = !pipe_still_open(inst, do_close ? -1 : fd) &&
		    atomic_exchange(&inst->open, false);
	if (last)
		uin_instance_put_user(inst); /* the open state's */
	uin_instance_put_user(inst);         /* the caller's */
	/* The loop thread may still hold inodes of the watches just removed
	 * (a dispatch in progress): let it finish, so that a caller that
	 * counts objects after close sees them gone.  A name closed while
	 * others remain removed nothing: no wait. */
	if (last)
		uin_loop_drain();
	errno = err;
	return ret;
}

UINOTIFY_EXPORT int uinotify_close(int fd)
{
	struct uin_instance *inst = uin_instance_find(fd);
	if (!inst)
		return close(fd);
	return release_fd(inst, fd, true);
}

int uin_instance_fd_forget(int fd)
{
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	release_fd(inst, fd, false);
	return 0;
}

/* Queries ------------------------------------------------------------------ */

UINOTIFY_EXPORT int uinotify_is_instance(int fd)
{
	struct uin_instance *inst = uin_instance_find(fd);
	if (!inst)
		return 0;
	uin_instance_put_user(inst);
	return 1;
}

UINOTIFY_EXPORT int uinotify_set_source(int fd, enum uinotify_source source)
{
	if (!uin_source_name(source))
		return -EINVAL;
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	atomic_store(&inst->source, (int)source);
	uin_instance_put_user(inst);
	return 0;
}

UINOTIFY_EXPORT int uinotify_set_recovery(int fd, int on)
{
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	atomic_store(&inst->recovery, on != 0);
	uin_instance_put_user(inst);
	return 0;
}

int uin_instance_stats(int fd, struct uin_instance_stats *out)
{
	struct uin_instance *inst;
	int ret = uin_instance_get(fd, &inst);
	if (ret < 0)
		return ret;
	uin_mutex_lock(&inst->q_lock);
	out->q_len = inst->q_len;
	out->q_bytes = inst->q_bytes;
	out->unsignaled = inst->unsignaled;
	out->debt = inst->debt;
	out->io_reads = inst->io_reads;
	int n = 0;
	out->pipe_bytes = inst->dead || ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
	uin_mutex_unlock(&inst->q_lock);
	uin_instance_put_user(inst);
	return 0;
}
