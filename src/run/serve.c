/*
 * src/run/serve.c - receiving the trapped calls and answering them.
 *
 * THREADS.  A few receivers block in SECCOMP_IOCTL_NOTIF_RECV
 * (each notification goes to exactly one of them) and serve what they get
 * to the end: an add_watch on a slow share holds one receiver, not the
 * whole tree.  One is started; the last idle one starts another as it
 * takes a call (up to RECEIVERS), so a tree that never watches pays for
 * one thread.  A read that must block is not held by a thread: reads.c
 * parks it and the waker answers it later.  They stop when no process
 * uses the filter any more; the process ends then too (launch.c).
 *
 * ANSWERS.  Every notification gets exactly one answer: a value, an errno,
 * CONTINUE (the kernel runs the call itself: for descriptors that are not
 * ours; never as a security decision, since the program may change its
 * memory between our look and the kernel's), or an fd installed with
 * SECCOMP_ADDFD_FLAG_SEND (install and answer in one step, so a program
 * that dies in between leaks nothing).  An answer to a caller that has
 * gone (dead, or interrupted by a signal) fails with ENOENT; handlers
 * undo what they must then.
 *
 * LOCKS.  replay_lock is a leaf: taken only in run_replay_*, never while
 * a call is served.  A receiver holds a BUSY replay entry from
 * run_replay_begin to run_replay_end (run_replay_keep turns it KEPT); a
 * second notification of the same thread waits on replay_done meanwhile.
 * That wait ends: the busy call's receiver waits for no other receiver.
 */
#include "run/run.h"
#include "engine/lock.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sources/loop.h"

struct run_config run_cfg = {.fd_lo = 896, .fd_count = 128};

/* Enough that one slow add_watch (a share) does not hold the tree. */
#define RECEIVERS 4

/* Messages ------------------------------------------------------------------ */

static atomic_bool quiet;

void run_quiet(void)
{
	atomic_store(&quiet, true);
}

static void vsay(const char *fmt, va_list ap)
{
	if (atomic_load(&quiet))
		return;
	char line[1024];
	int n = snprintf(line, sizeof line, "uinotify-run: ");
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	size_t len = strlen(line);
	if (len < sizeof line - 1)
		line[len++] = '\n';
	/* One write: lines from several threads do not mix. */
	(void)!write(2, line, len);
}

void run_debug(const char *fmt, ...)
{
	if (!run_cfg.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void run_warn_once(const char *fmt, ...)
{
	static uin_mutex_t lock = UIN_MUTEX_INITIALIZER(UIN_RANK_RUN_WARN);
	static const char *said[16];
	uin_mutex_lock(&lock);
	unsigned i = 0;
	while (i < 16 && said[i] && said[i] != fmt)
		i++;
	bool first = i < 16 && !said[i];
	if (first)
		said[i] = fmt;
	uin_mutex_unlock(&lock);
	if (!first)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

/* Answers ------------------------------------------------------------------- */

static int send_resp(const struct run_call *c, int64_t val, int err,
		     unsigned flags)
{
	struct seccomp_notif_resp resp = {
		.id = c->id, .val = val, .error = -err, .flags = flags};
	for (;;) {
		if (ioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int run_reply(const struct run_call *c, int64_t val)
{
	return send_resp(c, val, 0, 0);
}

int run_reply_err(const struct run_call *c, int err)
{
	return send_resp(c, 0, err, 0);
}

int run_reply_continue(const struct run_call *c)
{
	return send_resp(c, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int run_reply_addfd(const struct run_call *c, int srcfd, int slot,
		    bool cloexec)
{
	struct seccomp_notif_addfd add = {
		.id = c->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND |
			 (slot >= 0 ? SECCOMP_ADDFD_FLAG_SETFD : 0),
		.srcfd = (uint32_t)srcfd,
		.newfd = slot >= 0 ? (uint32_t)slot : 0,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	for (;;) {
		int fd = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
		if (fd >= 0)
			return fd;
		if (errno != EINTR)
			return -errno;
	}
}

bool run_call_valid(const struct run_call *c)
{
	uint64_t id = c->id;
	return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool run_fd_trapped(int fd)
{
	return fd >= run_cfg.fd_lo && fd < run_cfg.fd_lo + run_cfg.fd_count;
}

/* Restarted calls ------------------------------------------------------------
 *
 * A call that changes something (add_watch, rm_watch) is marked busy while
 * it is served.  A signal can interrupt the caller meanwhile: its restart
 * is a new notification, which another receiver may take before the first
 * has finished, or even begun, answering.  A thread makes one call at a
 * time, so a notification from a thread that has one busy means the busy
 * one was interrupted: the new one waits until it is done, then answers
 * with the result kept for it (run_replay_keep), or, when the first ended
 * without doing anything, is served as a call of its own.
 *
 * What this cannot see: the kernel can drop an answer it accepted.  A
 * signal that wakes the caller just before the answer arrives makes it
 * take the interrupted path although SECCOMP_IOCTL_NOTIF_SEND succeeded
 * (seccomp_do_user_notification checks the wait's result, not whether it
 * was answered), so the restart comes as a fresh call, which we cannot
 * tell from the program calling again.  An add_watch served again gives
 * the same wd; an rm_watch gives EINVAL (inotify_faults DIR signal-storm
 * N shows it: a few in thousands with a signal every 50 us).
 *
 * A few entries are enough: at most one busy per receiver, and a kept
 * result lives from a failed answer to the restart that follows at once
 * (or until it is replaced or too old).
 */
#define REPLAYS 16
#define REPLAY_NS 2000000000LL
_Static_assert(REPLAYS > RECEIVERS, "a slot beyond the busy ones");

enum replay_state { REPLAY_FREE, REPLAY_BUSY, REPLAY_KEPT };

static struct replay {
	enum replay_state state;
	uint64_t id; /* REPLAY_BUSY: the notification being served */
	pid_t tid;
	int nr;
	uint64_t args[3];
	int64_t val;
	int err;
	int64_t when;
} replays[REPLAYS];
static uin_mutex_t replay_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_RUN_REPLAY);
static pthread_cond_t replay_done = PTHREAD_COND_INITIALIZER;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool same_call(const struct replay *r, const struct run_call *c)
{
	return r->tid == c->tid && r->nr == c->nr && r->args[0] == c->args[0] &&
	       r->args[1] == c->args[1] && r->args[2] == c->args[2];
}

/* A slot for a new entry (locked): a free one, else the oldest kept. */
static struct replay *replay_slot(void)
{
	struct replay *best = NULL;
	for (unsigned i = 0; i < REPLAYS; i++) {
		struct replay *r = &replays[i];
		if (r->state == REPLAY_FREE)
			return r;
		if (r->state == REPLAY_KEPT && (!best || r->when < best->when))
			best = r;
	}
	return best;
}

bool run_replay_begin(const struct run_call *c, int64_t *val, int *err)
{
	bool kept = false;
	uin_mutex_lock(&replay_lock);
	for (;;) {
		struct replay *busy = NULL;
		for (unsigned i = 0; i < REPLAYS && !busy; i++)
			if (replays[i].state == REPLAY_BUSY &&
			    replays[i].tid == c->tid)
				busy = &replays[i];
		if (!busy)
			break;
		uin_cond_wait(&replay_done, &replay_lock);
	}
	int64_t t = now_ns();
	struct replay *r = NULL;
	for (unsigned i = 0; i < REPLAYS && !r; i++)
		if (replays[i].state == REPLAY_KEPT &&
		    same_call(&replays[i], c) && t - replays[i].when <= REPLAY_NS)
			r = &replays[i];
	if (r) {
		*val = r->val;
		*err = r->err;
		kept = true;
	} else {
		r = replay_slot();
	}
	if (r)
		*r = (struct replay){REPLAY_BUSY, c->id, c->tid, c->nr,
				     {c->args[0], c->args[1], c->args[2]},
				     0, 0, t};
	uin_mutex_unlock(&replay_lock);
	return kept;
}

static struct replay *busy_entry(const struct run_call *c)
{
	for (unsigned i = 0; i < REPLAYS; i++)
		if (replays[i].state == REPLAY_BUSY && replays[i].id == c->id)
			return &replays[i];
	return NULL;
}

void run_replay_keep(const struct run_call *c, int64_t val, int err)
{
	uin_mutex_lock(&replay_lock);
	struct replay *r = busy_entry(c);
	if (!r)
		r = replay_slot();
	if (r)
		*r = (struct replay){REPLAY_KEPT, c->id, c->tid, c->nr,
				     {c->args[0], c->args[1], c->args[2]},
				     val, err, now_ns()};
	pthread_cond_broadcast(&replay_done);
	uin_mutex_unlock(&replay_lock);
}

void run_replay_end(const struct run_call *c)
{
	uin_mutex_lock(&replay_lock);
	struct replay *r = busy_entry(c);
	if (r)
		r->state = REPLAY_FREE;
	pthread_cond_broadcast(&replay_done);
	uin_mutex_unlock(&replay_lock);
}

/* Receivers ----------------------------------------------------------------- */

static bool listener_hung_up(int listener)
{
	struct pollfd p = {.fd = listener, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static int listener = -1;
static size_t notif_size;
static atomic_int receivers, idle;

static void *receive(void *arg);

/* Detached, every signal blocked: they are the main thread's. */
static int start_receiver(void)
{
	return uin_thread_spawn(receive, "uinotify-recv", 0);
}

/* Called by a receiver that took a call when none was left idle. */
static void another_receiver(void)
{
	int n = atomic_load(&receivers);
	while (n < RECEIVERS &&
	       !atomic_compare_exchange_weak(&receivers, &n, n + 1))
		;
	if (n < RECEIVERS && start_receiver() < 0) {
		atomic_fetch_sub(&receivers, 1);
		run_debug("cannot start another receiver; %d serve", n);
	}
}

static void *receive(void *arg)
{
	(void)arg;
	/* The kernel's size, which may be larger than our header's. */
	struct seccomp_notif *req = calloc(1, notif_size);
	if (!req) {
		atomic_fetch_sub(&receivers, 1);
		return NULL;
	}
	for (;;) {
		/* The kernel refuses a request that is not zeroed. */
		memset(req, 0, notif_size);
		atomic_fetch_add(&idle, 1);
		int ret = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req);
		int left = atomic_fetch_sub(&idle, 1) - 1;
		if (ret < 0) {
			/* EINTR; ENOENT: the caller went away before we
			 * took it, or no process uses the filter any more
			 * (the kernel then answers at once, every time: a
			 * receiver that went on would spin until the main
			 * thread exits).  Anything else: the listener is
			 * gone. */
			if (errno == ENOENT && listener_hung_up(listener))
				break;
			if (errno == EINTR || errno == ENOENT)
				continue;
			break;
		}
		if (left == 0)
			another_receiver();
		struct run_call c = {
			.listener = listener,
			.id = req->id,
			.tid = (pid_t)req->pid,
			.nr = req->data.nr,
		};
		for (int i = 0; i < 6; i++)
			c.args[i] = req->data.args[i];
		if (run_is_read(c.nr))
			run_read(&c);
		else
			run_call_dispatch(&c);
	}
	free(req);
	return NULL;
}

int run_serve_start(int l)
{
	struct seccomp_notif_sizes sizes;
	listener = l;
	notif_size = sizeof(struct seccomp_notif);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 &&
	    sizes.seccomp_notif > notif_size)
		notif_size = sizes.seccomp_notif;
	atomic_store(&receivers, 1);
	return start_receiver();
}
