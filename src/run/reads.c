/*
 * src/run/reads.c - read(), readv() and preadv2() on an instance, as
 * inotify_read: whole records while they fit, EINVAL when the first does
 * not (count 0 too), EAGAIN when empty and O_NONBLOCK, a wait otherwise.
 *
 * A READ THAT MUST WAIT is parked, not served by a blocked thread: the
 * caller stays in its syscall (seccomp keeps it there, interruptibly: a
 * signal ends the wait with EINTR or a restart under SA_RESTART, as
 * Linux's wait in inotify_read), and the waker thread answers it when the
 * queue has records.  Parked reads are answered in the order they came.
 * A parked read whose caller went away (signal, death) is noticed when we
 * try to answer it, or when another read parks (ID_VALID).
 *
 * ONE READ AT A TIME per instance (read_lock; FIONREAD takes it too): peek
 * the records, copy them into the caller, take their packets out of the
 * pipe, answer, and only then dequeue (rq_commit).  So the caller's
 * descriptor polls as the queue is the moment it has its answer, and a
 * reply that cannot be given (the caller was interrupted just then) loses
 * nothing (rq_abort puts the packets back).  A copy that faults loses what Linux's loses: the records up to
 * and including the one that faulted; the answer is EFAULT, or the bytes
 * of the segments before it for readv.
 *
 * THE WAKER also moves a queue's backlog into its pipe when room appears
 * (names the filter does not trap read packets themselves), and ends
 * instances the program has closed (instances.c).
 */
#include "run/reads.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "run/instances.h"
#include "run/run.h"
#include "sources/loop.h"
#include "run/target.h"

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x1
#endif

struct seg {
	uint64_t base;
	uint64_t len;
};

struct run_parked {
	struct run_parked *next;
	struct run_call call;
	int nsegs;
	struct seg segs[];
};

static int waker_ep = -1;

/* Serving one read -------------------------------------------------------------
 *
 * Under ri->read_lock.  0: answered (or the caller is gone); -EAGAIN:
 * nothing to read yet (nothing answered).
 */
static int serve_locked(struct run_inst *ri, const struct run_call *c,
			const struct seg *segs, int nsegs, bool nonblock)
	UIN_REQUIRES(ri->read_lock)
{
	uin_assert_held(&ri->read_lock);
	/* Events caused by syscalls that returned before this read must be
	 * there (the kernel source's queue is drained into ours). */
	uin_remote_drain();
	ssize_t total = 0;
	int err = 0;
	size_t written = 0;
	bool faulted = false;
	/* Segment by segment, a later one only after an exactly full one,
	 * as do_loop_readv_writev calls ->read for each. */
	for (int i = 0; i < nsegs; i++) {
		size_t want = (size_t)segs[i].len;
		char *buf;
		ssize_t n = i == 0 ? rq_peek(ri->q, want, &buf)
				   : rq_peek_next(ri->q, want, &buf);
		if (n < 0) {
			err = (int)-n;
			break;
		}
		ssize_t w = tgt_write(c->tid, segs[i].base, buf, (size_t)n);
		free(buf);
		if (w < (ssize_t)n) {
			faulted = true;
			written += w > 0 ? (size_t)w : 0;
			break;
		}
		written += (size_t)n;
		total += n;
		if ((size_t)n != want)
			break;
	}
	if (!total && !faulted && err == EAGAIN && !nonblock) {
		rq_abort(ri->q);
		return -EAGAIN;
	}
	/* Out of the pipe before the answer: once the caller has it, its
	 * descriptor must poll as the queue now is. */
	bool takes = total || faulted;
	if (takes)
		rq_take(ri->q, written);
	int sent;
	if (faulted)
		sent = total ? run_reply(c, total) : run_reply_err(c, EFAULT);
	else if (total)
		sent = run_reply(c, total);
	else
		sent = run_reply_err(c, err);
	if (sent == 0 && takes)
		rq_commit(ri->q);
	else
		rq_abort(ri->q);
	return 0;
}

/* Waiting ------------------------------------------------------------------- */

static void waker_watch_locked(struct run_inst *ri, bool on)
	UIN_REQUIRES(ri->read_lock)
{
	uin_assert_held(&ri->read_lock);
	if (ri->waker_in == on)
		return;
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = (uint64_t)ri->ino << 1};
	epoll_ctl(waker_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
		  rq_read_fd(ri->q), &ev);
	ri->waker_in = on;
}

/* Forget parked reads whose caller is gone. */
static void prune_locked(struct run_inst *ri)
	UIN_REQUIRES(ri->read_lock)
{
	uin_assert_held(&ri->read_lock);
	struct run_parked **pp = &ri->parked;
	while (*pp) {
		struct run_parked *p = *pp;
		if (run_call_valid(&p->call)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		free(p);
	}
	ri->parked_tail = pp;
}

static void park_locked(struct run_inst *ri, const struct run_call *c,
			const struct seg *segs, int nsegs)
	UIN_REQUIRES(ri->read_lock)
{
	uin_assert_held(&ri->read_lock);
	prune_locked(ri);
	struct run_parked *p = malloc(sizeof *p + (size_t)nsegs * sizeof *segs);
	if (!p) {
		run_reply_err(c, ENOMEM);
		return;
	}
	p->next = NULL;
	p->call = *c;
	p->nsegs = nsegs;
	memcpy(p->segs, segs, (size_t)nsegs * sizeof *segs);
	*ri->parked_tail = p;
	ri->parked_tail = &p->next;
	waker_watch_locked(ri, true);
	run_debug("[%d] read(%d) waits", (int)c->tid, (int)c->args[0]);
}

/* The waker: answer parked reads, oldest first, while records last. */
static void serve_parked(struct run_inst *ri)
{
	uin_mutex_lock(&ri->read_lock);
	while (ri->parked) {
		struct run_parked *p = ri->parked;
		if (!run_call_valid(&p->call)) {
			ri->parked = p->next;
			free(p);
			continue;
		}
		if (serve_locked(ri, &p->call, p->segs, p->nsegs, false) ==
		    -EAGAIN)
			break;
		ri->parked = p->next;
		free(p);
	}
	if (!ri->parked) {
		ri->parked_tail = &ri->parked;
		waker_watch_locked(ri, false);
	} else {
		prune_locked(ri);
	}
	uin_mutex_unlock(&ri->read_lock);
	ri_maybe_end(ri);
}

/* Entry ------------------------------------------------------------------------ */

static void read_common(const struct run_call *c, struct run_inst *ri,
			const struct seg *segs, int nsegs)
{
	int fl = tgt_fd_flags(c->tid, (int)c->args[0]);
	if (!run_call_valid(c))
		return;
	bool nonblock = fl >= 0 && (fl & O_NONBLOCK);
	uin_mutex_lock(&ri->read_lock);
	/* Parked readers came first: a new one waits behind them. */
	if (ri->parked && !nonblock)
		park_locked(ri, c, segs, nsegs);
	else if (serve_locked(ri, c, segs, nsegs, nonblock) == -EAGAIN)
		park_locked(ri, c, segs, nsegs);
	uin_mutex_unlock(&ri->read_lock);
}

bool run_is_read(int nr)
{
	return nr == SYS_read || nr == SYS_readv || nr == SYS_preadv2;
}

void run_read(const struct run_call *c)
{
	int fd = (int)c->args[0];
	ino_t ino = 0;
	struct run_inst *ri;
	if (tgt_fd_kind(c->tid, fd, &ino) != TGT_FD_PIPE ||
	    !(ri = ri_find(ino))) {
		run_reply_continue(c);
		return;
	}
	if (c->nr == SYS_read) {
		struct seg s = {c->args[1], c->args[2]};
		read_common(c, ri, &s, 1);
		ri_put(ri);
		return;
	}
	/* readv and preadv2 (at offset -1: the current position, a readv;
	 * any other offset: ESPIPE, which the pipe gives too). */
	if (c->nr == SYS_preadv2) {
		if ((int64_t)c->args[3] != -1) {
			run_reply_continue(c);
			ri_put(ri);
			return;
		}
		if (c->args[5] & ~(uint64_t)RWF_HIPRI) {
			run_reply_err(c, EOPNOTSUPP);
			ri_put(ri);
			return;
		}
	}
	long cnt = (long)(int)c->args[2];
	if (cnt < 0 || cnt > IOV_MAX) {
		run_reply_err(c, EINVAL);
		ri_put(ri);
		return;
	}
	struct iovec iov[IOV_MAX];
	struct seg segs[IOV_MAX];
	int err = cnt ? tgt_read(c->tid, c->args[1], iov,
				 (size_t)cnt * sizeof *iov)
		      : 0;
	if (!run_call_valid(c)) {
		ri_put(ri);
		return;
	}
	uint64_t sum = 0;
	for (long i = 0; !err && i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX ||
		    (sum += iov[i].iov_len) > (uint64_t)SSIZE_MAX)
			err = -EINVAL;
		segs[i] = (struct seg){(uint64_t)(uintptr_t)iov[i].iov_base,
				       iov[i].iov_len};
	}
	if (err)
		run_reply_err(c, -err);
	else if (sum == 0)
		run_reply(c, 0); /* no segment is read at all */
	else
		read_common(c, ri, segs, (int)cnt);
	ri_put(ri);
}

/* The waker thread --------------------------------------------------------------- */

void run_waker_backlog(struct run_inst *ri)
{
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT,
				 .data.u64 = (uint64_t)ri->ino << 1 | 1};
	if (epoll_ctl(waker_ep, EPOLL_CTL_MOD, rq_write_fd(ri->q), &ev) < 0)
		epoll_ctl(waker_ep, EPOLL_CTL_ADD, rq_write_fd(ri->q), &ev);
}

static void *waker(void *arg)
{
	(void)arg;
	struct epoll_event evs[32];
	for (;;) {
		int n = epoll_wait(waker_ep, evs, 32, -1);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == UINT64_MAX) {
				ri_handle_close_events();
				continue;
			}
			struct run_inst *ri = ri_find((ino_t)(tag >> 1));
			if (!ri)
				continue;
			if (tag & 1) {
				rq_push(ri->q);
				if (rq_has_backlog(ri->q))
					run_waker_backlog(ri);
			} else {
				serve_parked(ri);
			}
			ri_put(ri);
		}
	}
	return NULL;
}

int run_waker_start(void)
{
	waker_ep = epoll_create1(EPOLL_CLOEXEC);
	if (waker_ep < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	if (epoll_ctl(waker_ep, EPOLL_CTL_ADD, ri_close_fd(), &ev) < 0)
		return -errno;
	/* Detached, every signal blocked: they are the main thread's. */
	return uin_thread_spawn(waker, "uinotify-waker", 0);
}
