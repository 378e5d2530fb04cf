/*
 * src/instance/queue.c - an instance's event queue, its pipe tokens, and
 * read()/FIONREAD, as fs/notify/notification.c (fsnotify_insert_event),
 * inotify_fsnotify.c (inotify_merge) and inotify_user.c (inotify_read,
 * FIONREAD) behave on Linux 6.x.
 *
 * TOKENS (see THE FILE DESCRIPTOR in instance.c).  Every queued event is
 * backed by one unit, which is in exactly one of these places:
 *
 *   pipe_bytes   a byte in the pipe;
 *   W            a byte a blocked reader took with read(fd, &b, 1) and
 *                has not yet settled under q_lock (its "credit");
 *   unsignaled   nowhere: the pipe was full when the event was queued, or
 *                its byte waits for the end of the loop's dispatch round
 *                (signal_locked).
 *
 * and debt counts credits whose event a non-waiting reader dequeued
 * meanwhile (it found fewer bytes than events).  Under q_lock:
 *
 *     pipe_bytes + W + unsignaled == q_len + debt,    debt <= W
 *
 *   queue an event          q_len++ and one byte written (else unsignaled++)
 *   merge / drop an event   nothing
 *   a waiter's read() -> 1  pipe_bytes--, W++        (no lock: sum unchanged)
 *   waiter settles, debt>0  W--, debt--               (its event is gone;
 *                                                     before anything else)
 *   dequeue k events        q_len -= k; W -= credit (0 or 1); then from
 *                           unsignaled, then bytes read without blocking;
 *                           what is still missing goes to debt (held by
 *                           waiters: pipe and unsignaled are both 0 then)
 *   EINVAL with a credit    W--, the byte written back (else unsignaled++)
 *   EFAULT part way         the units of the events left queued after the
 *                           one that faulted come back: as debt forgiven
 *                           (what this read added), then unsignaled++ and
 *                           a byte written
 *
 * Consequences: an empty queue has an empty pipe (pipe_bytes <= q_len +
 * debt - W <= q_len), so poll never sees a stale readable fd; and without
 * waiters, pipe_bytes = q_len - unsignaled, where unsignaled > 0 only
 * while the pipe is full.  Bytes a raw read() steals behave as credits
 * never settled: the readiness of that instance suffers, nothing else.
 */
#include "instance/instance.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/fault.h"
#include "instance/usermem.h"
#include "sources/loop.h"

/* The largest record: a header and NAME_MAX + 1 bytes of name, padded. */
#define UIN_MAX_RECORD                                                       \
	(sizeof(struct inotify_event) + ((NAME_MAX + 1 + 15) & ~(size_t)15))

/* The bits a reader of Linux's inotify may see (inotify_mask_to_arg). */
#define USER_BITS                                                            \
	(IN_ALL_EVENTS | IN_ISDIR | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW)

/* Tokens -------------------------------------------------------------------- */

static void flush_unsignaled_locked(struct uin_instance *inst, size_t room);

/* The loop's job: the bytes of the events one dispatch round queued. */
static void flush_job(struct uin_loop_job *job)
{
	struct uin_instance *inst =
		(struct uin_instance *)((char *)job -
					offsetof(struct uin_instance,
						 flush_job));
	/* The memory is type-stable: a job left from an earlier use of this
	 * struct finds a live instance (then it flushes that one's bytes,
	 * which is right) or a dead one (nothing to do). */
	uin_mutex_lock(&inst->q_lock);
	inst->flush_pending = false;
	if (!inst->dead && inst->iofd >= 0 && inst->unsignaled)
		flush_unsignaled_locked(inst, inst->unsignaled);
	uin_mutex_unlock(&inst->q_lock);
}

/*
 * One byte per queued event.  On the event loop's thread (a source
 * dispatching a batch of kernel events or a scan) the bytes are deferred to
 * the end of the dispatch round and written at once: one syscall per round
 * instead of one per event.  A waiter then sees one wakeup for the round,
 * as it would if the events had been queued before it woke.
 */
static void signal_locked(struct uin_instance *inst)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	if (uin_loop_in_dispatch()) {
		inst->unsignaled++;
		if (inst->flush_pending)
			return;
		inst->flush_job.fn = flush_job;
		if (uin_loop_post(&inst->flush_job) == 0) {
			inst->flush_pending = true;
			return;
		}
		flush_unsignaled_locked(inst, inst->unsignaled);
		return;
	}
	if (UIN_SYS("queue.signal.write", write(inst->iofd, "", 1)) != 1)
		inst->unsignaled++;
}

/*
 * Give the pipe the bytes it could not take before, at most room (what
 * this thread just freed).  Halving, because a non-blocking pipe write of
 * <= PIPE_BUF bytes is all or nothing.
 */
static void flush_unsignaled_locked(struct uin_instance *inst, size_t room)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	static const char zeros[4096];
	size_t n = room < sizeof zeros ? room : sizeof zeros;
	while (inst->unsignaled && n) {
		if (n > inst->unsignaled)
			n = inst->unsignaled;
		ssize_t w = UIN_SYS("queue.flush.write",
				    write(inst->iofd, zeros, n));
		if (w > 0)
			inst->unsignaled -= (unsigned long)w;
		else
			n /= 2;
	}
}

/* Token reads never block: on our O_RDWR end, or RWF_NOWAIT on fd. */
static ssize_t token_readv(struct uin_instance *inst, int fd,
			   const struct iovec *iov, int cnt)
{
	if (inst->io_reads)
		return UIN_SYS("queue.token.read",
			       cnt == 1 ? read(inst->iofd, iov[0].iov_base,
					       iov[0].iov_len)
					: readv(inst->iofd, iov, cnt));
	return preadv2(fd, iov, cnt, -1, RWF_NOWAIT);
}

/* Single-byte token reads into one read() buffer, at most, per syscall. */
#define PROOF_IOV 64

/*
 * Take the units of k events about to be dequeued; credit: the caller
 * holds one (a byte it read while waiting).  The bytes read land in
 * [buf, end), the caller's buffer, where the records go next: one at buf
 * and one at the start of each page after it, as far as there are bytes,
 * then the rest after buf.  Every page the kernel wrote a byte into is
 * writable (protection is per page; a page it could not write stops the
 * read there).  [buf, proven) is known writable already.  Returns the end
 * of the prefix of [buf, end) so proven.
 */
static uintptr_t consume_tokens_locked(struct uin_instance *inst, int fd,
				       uintptr_t buf, uintptr_t proven,
				       uintptr_t end, unsigned long k,
				       bool credit,
				       unsigned long *debt_added)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	unsigned long need = k - credit;
	size_t freed = credit; /* pipe room this thread made */
	unsigned long n = need < inst->unsignaled ? need : inst->unsignaled;
	inst->unsignaled -= n;
	need -= n;
	const uintptr_t ps = uin_page_size();
	bool proving = proven < end, scratch_ok = true;
	char stack_buf[256];
	while (need) {
		struct iovec iov[PROOF_IOV + 1];
		int cnt = 0;
		unsigned long pages = 0;
		if (proving) {
			uintptr_t p = proven;
			while (pages < PROOF_IOV && pages < need && p < end) {
				iov[cnt++] = (struct iovec){(void *)p, 1};
				pages++;
				p = (p & ~(ps - 1)) + ps;
			}
			/* The rest: after buf's byte, inside [buf, end)
			 * since every record is 16 bytes or more. */
			if (p >= end && need > pages)
				iov[cnt++] = (struct iovec){(void *)(buf + 1),
							    need - pages};
		} else {
			/* Proven memory (the records overwrite it), or ours. */
			bool user = scratch_ok && proven > buf;
			size_t cap = user ? proven - buf : sizeof stack_buf;
			iov[cnt++] = (struct iovec){
				user ? (void *)buf : stack_buf,
				need < cap ? need : cap};
		}
		ssize_t r = token_readv(inst, fd, iov, cnt);
		if (r > 0) {
			need -= (unsigned long)r;
			freed += (size_t)r;
			if (pages) {
				unsigned long done = (unsigned long)r < pages
							     ? (unsigned long)r
							     : pages;
				proven = (proven & ~(ps - 1)) + done * ps;
				if (proven >= end) {
					proven = end;
					proving = false;
				}
			}
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno == EFAULT && (proving || scratch_ok)) {
			/* A page of the iovecs (the pipe then reads nothing
			 * of the chunk it was copying), or the proven prefix
			 * unmapped meanwhile: the rest goes to our stack. */
			if (!proving)
				scratch_ok = false;
			proving = false;
		} else {
			break; /* empty: the rest is held by waiters */
		}
	}
	inst->debt += need;
	*debt_added = need;
	if (inst->unsignaled)
		flush_unsignaled_locked(inst, freed);
	return proven;
}

/*
 * m of the events consume_tokens_locked took units for stay queued after
 * all: back go their units, first as debt forgiven (the credits of waiters
 * it found short stand for queued events again), then into the pipe.
 */
static void return_tokens_locked(struct uin_instance *inst,
				 unsigned long m, unsigned long debt_added)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	unsigned long d = m < debt_added ? m : debt_added;
	inst->debt -= d;
	m -= d;
	if (m) {
		inst->unsignaled += m;
		flush_unsignaled_locked(inst, m);
	}
}

/* Queueing ------------------------------------------------------------------ */

static void append_locked(struct uin_instance *inst, struct uin_event *e)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	e->next = NULL;
	if (inst->tail)
		inst->tail->next = e;
	else
		inst->head = e;
	inst->tail = e;
	inst->q_len++;
	inst->q_bytes += uin_event_size(e);
	signal_locked(inst);
}

/* Queued only if it is not queued already; counts toward q_len. */
static void overflow_locked(struct uin_instance *inst)
	UIN_REQUIRES(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	if (inst->overflow_queued)
		return;
	inst->overflow_queued = true;
	append_locked(inst, &inst->overflow);
}

void uin_queue_overflow(struct uin_instance *inst)
{
	if (inst->sink) {
		inst->sink->overflow(inst->sink->arg);
		return;
	}
	uin_mutex_lock(&inst->q_lock);
	if (!inst->dead)
		overflow_locked(inst);
	uin_mutex_unlock(&inst->q_lock);
}

/* inotify_merge/event_compare: the tail only, the cookie not compared. */
static bool merges_into_tail(const struct uin_instance *inst, int32_t wd,
			     uint32_t mask, const char *name, size_t nlen)
{
	struct uin_event *t = inst->tail;
	return t && !(t->rec.mask & IN_IGNORED) && t->rec.mask == mask &&
	       t->rec.wd == wd && t->name_len == nlen &&
	       (!nlen || !memcmp(uin_event_name(t), name, nlen));
}

void uin_queue_event(struct uin_instance *inst, int32_t wd, uint32_t mask,
		     uint32_t cookie, const char *name)
{
	if (inst->sink) {
		/* A remote instance (remote.c): its queue is the sink's. */
		inst->sink->event(inst->sink->arg, wd, mask, cookie, name);
		return;
	}
	size_t nlen = name ? strlen(name) : 0;
	mask &= USER_BITS;
	uin_mutex_lock(&inst->q_lock);
	if (inst->dead)
		goto unlock;
	/* Full (q_len counts the overflow record): every event is lost,
	 * IN_IGNORED included, and nothing is merged. */
	if (inst->q_len >= inst->max_events) {
		overflow_locked(inst);
		goto unlock;
	}
	if (merges_into_tail(inst, wd, mask, name, nlen))
		goto unlock;
	size_t len = nlen ? (nlen + 1 + 15) & ~(size_t)15 : 0;
	struct uin_event *e = uin_malloc(sizeof *e + len);
	if (!e) {
		/* "Treat lost event due to ENOMEM the same way as queue
		 * overflow" (inotify_handle_inode_event). */
		overflow_locked(inst);
		goto unlock;
	}
	e->name_len = (uint32_t)nlen;
	e->reserved = 0;
	e->rec.wd = wd;
	e->rec.mask = mask;
	e->rec.cookie = cookie;
	e->rec.len = (uint32_t)len;
	if (len) {
		memcpy(uin_event_name(e), name, nlen);
		memset(uin_event_name(e) + nlen, 0, len - nlen);
	}
	uin_count(UIN_COUNT_EVENTS, 1);
	append_locked(inst, e);
unlock:
	uin_mutex_unlock(&inst->q_lock);
}

static void event_free(struct uin_instance *inst, struct uin_event *e)
{
	if (e == &inst->overflow)
		return;
	uin_free(e);
	uin_count(UIN_COUNT_EVENTS, -1);
}

void uin_queue_drain(struct uin_instance *inst)
{
	uin_mutex_lock(&inst->q_lock);
	inst->dead = true;
	for (struct uin_event *e = inst->head, *next; e; e = next) {
		next = e->next;
		event_free(inst, e);
	}
	inst->head = inst->tail = NULL;
	inst->q_len = 0;
	inst->q_bytes = 0;
	inst->overflow_queued = false;
	/* The last writer: a reader still blocked in read() on a dup of the
	 * fd (the description outlives the teardown) wakes with EOF. */
	if (inst->iofd >= 0)
		close(inst->iofd);
	inst->iofd = -1;
	uin_mutex_unlock(&inst->q_lock);
}

/* read() -------------------------------------------------------------------- */

static ssize_t fail(int err)
{
	errno = err;
	return -1;
}

/*
 * READ AND EFAULT.  inotify_read dequeues one event, copies it, and goes on
 * while the next fits; a copy that faults ends the read with EFAULT (even
 * after whole records were copied: they are lost with it), and the event
 * that faulted is lost, those after it stay queued.  Measured on 6.x: a
 * buffer whose second record would cross into a PROT_NONE page gives
 * EFAULT and leaves the third queued.
 *
 * Here the kernel does what a memcpy cannot: it says where the caller's
 * buffer stops being writable.  The token reads (consume_tokens_locked)
 * put a byte into each page of the records' range for free; what they did
 * not reach (more pages than tokens, a fault) is written by getrandom
 * (uin_user_writable), one syscall.  A woken waiter, whose wait took the
 * only token of a lone record, took it into the buffer (uin_queue_read).  Then memcpy
 * copies what is known to be writable, outside q_lock.  A program that
 * unmaps its buffer while reading into it, from another thread, can still
 * make that memcpy fault: its read was racing with the unmap anyway.
 *
 * Dequeue from the head while records fit in count (the first one does),
 * copy them out, free them; [buf, proven) is known writable.  Called with
 * q_lock held; releases it.
 */
static ssize_t dequeue_unlock(struct uin_instance *inst, int fd,
			      uintptr_t buf, uintptr_t proven, size_t count,
			      bool credit)
	UIN_RELEASE(inst->q_lock)
{
	uin_assert_held(&inst->q_lock);
	struct uin_event *first = inst->head, *e = first;
	struct uin_event *after_overflow = NULL;
	size_t bytes = 0;
	unsigned long k = 0, overflow_at = 0; /* 1 + its index, or 0 */
	while (e && bytes + uin_event_size(e) <= count) {
		bytes += uin_event_size(e);
		k++;
		if (e == &inst->overflow) {
			overflow_at = k;
			after_overflow = e->next;
		}
		e = e->next;
	}
	/* uin_user_range_ok(buf, count): no wrap. */
	const uintptr_t end = buf + bytes;
	unsigned long debt_added;
	uintptr_t ok = consume_tokens_locked(inst, fd, buf,
					     proven < end ? proven : end, end,
					     k, credit, &debt_added);
	if (ok < end)
		ok = uin_user_writable(ok, end);
	const bool fault = ok < end;
	const size_t copy = ok - buf;
	if (fault) {
		/* Up to and including the record that faults. */
		unsigned long taken = 0;
		size_t upto = 0;
		for (e = first; upto <= copy; e = e->next) {
			upto += uin_event_size(e);
			taken++;
		}
		return_tokens_locked(inst, k - taken, debt_added);
		k = taken;
		bytes = upto;
		if (overflow_at > k)
			overflow_at = 0;
	}
	/* The overflow record may be queued again as soon as we unlock:
	 * after_overflow says where the detached run goes on. */
	if (overflow_at)
		inst->overflow_queued = false;
	inst->head = e;
	if (!e)
		inst->tail = NULL;
	inst->q_len -= (unsigned)k;
	inst->q_bytes -= bytes;
	uin_mutex_unlock(&inst->q_lock);

	/* The records, and of the one that faults what Linux copies of it
	 * too: the bytes before the fault. */
	size_t off = 0;
	e = first;
	for (unsigned long i = 0; i < k; i++) {
		struct uin_event *next =
			e == &inst->overflow ? after_overflow : e->next;
		size_t size = uin_event_size(e);
		size_t n = copy - off < size ? copy - off : size;
		if (n)
			memcpy((void *)(buf + off),
			       (const char *)e +
				       offsetof(struct uin_event, rec),
			       n);
		off += size;
		event_free(inst, e);
		e = next;
	}
	return fault ? fail(EFAULT) : (ssize_t)bytes;
}

ssize_t uin_queue_read(struct uin_instance *inst, int fd, void *buf,
		       size_t count)
{
	/* vfs_read's access_ok, before anything is dequeued (even before
	 * EAGAIN): a range that wraps or passes the top of user memory. */
	if (!uin_user_range_ok((uintptr_t)buf, count))
		return fail(EFAULT);
	/*
	 * A wait takes its byte into the buffer, where the records go next,
	 * when count holds any record (so that EINVAL cannot follow): the
	 * page it lands in is then known writable, which spares a woken
	 * reader's lone record the getrandom of dequeue_unlock.  The byte
	 * (a NUL) stays in buf[0] only if no record follows after all: the
	 * instance torn down, or another reader took the event and the next
	 * wait ends in EAGAIN (fcntl) or EINTR.
	 */
	bool wait_in_buf = buf && count >= UIN_MAX_RECORD;
	uintptr_t proven = (uintptr_t)buf;
	bool credit = false;
	for (;;) {
		uin_mutex_lock(&inst->q_lock);
		if (inst->dead) {
			uin_mutex_unlock(&inst->q_lock);
			return fail(EBADF);
		}
		if (credit && inst->debt) {
			/* A reader that found the pipe short took the event
			 * this byte stood for: settle first, or the byte of
			 * a later event would be left in the pipe with its
			 * event gone (debt <= W would no longer hold). */
			inst->debt--;
			credit = false;
		}
		if (inst->head) {
			if (uin_event_size(inst->head) <= count)
				return dequeue_unlock(inst, fd,
						      (uintptr_t)buf, proven,
						      count, credit);
			/* The event stays; so does its byte. */
			if (credit)
				signal_locked(inst);
			uin_mutex_unlock(&inst->q_lock);
			return fail(EINVAL);
		}
		/* (A credit with an empty queue and no debt cannot be: the
		 * sum says its event is queued.  Drop it all the same.) */
		credit = false;
		uin_mutex_unlock(&inst->q_lock);
		/*
		 * Wait in the kernel, on the caller's own fd: O_NONBLOCK (as
		 * fcntl left it) gives EAGAIN, a signal gives EINTR or a
		 * restart under SA_RESTART, exactly as for a real read.
		 */
		char byte;
		ssize_t n = read(fd, wait_in_buf ? buf : &byte, 1);
		if (n == 1) {
			credit = true;
			if (wait_in_buf) {
				uintptr_t ps = uin_page_size();
				proven = ((uintptr_t)buf & ~(ps - 1)) + ps;
			}
			continue;
		}
		if (n < 0 && errno == EFAULT && wait_in_buf) {
			/* The byte stays in the pipe: wait on our own. */
			wait_in_buf = false;
			continue;
		}
		/* 0: no writer left, the instance was torn down under us. */
		return n == 0 ? fail(EBADF) : -1;
	}
}

int uin_queue_nread(struct uin_instance *inst, int *out)
{
	uin_mutex_lock(&inst->q_lock);
	bool dead = inst->dead;
	int bytes = (int)inst->q_bytes;
	/* What FIONREAD counts, poll sees from now on: the bytes a dispatch
	 * round still under way (a drain, the loop thread) would write at
	 * its end are written now. */
	if (!dead && inst->iofd >= 0 && inst->unsignaled)
		flush_unsignaled_locked(inst, inst->unsignaled);
	uin_mutex_unlock(&inst->q_lock);
	*out = bytes;
	return dead ? -EBADF : 0;
}
