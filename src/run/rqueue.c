/*
 * src/run/rqueue.c - the queue a supervised program reads (rqueue.h), with
 * the rules of fs/notify/notification.c and inotify_fsnotify.c.
 *
 * THE PIPE.  The program's descriptor is the read end of a pipe whose
 * write end is O_DIRECT: every record is written as one packet, a read
 * returns one whole packet (or discards the rest of it if the buffer is too
 * short).  The queue is a list; its head (a prefix) is in the pipe, the
 * rest (backlog) waits for room:
 *
 *     head ... [piped records] | [backlog] ... tail
 *
 * Reads the filter traps never touch the pipe from the program's side: we
 * copy records out of the list and then take their packets out of the pipe
 * with our own read descriptor (rfd).  A read through a name the filter
 * does not trap takes packets itself; we notice it because the pipe holds
 * fewer bytes than we put in (FIONREAD), and drop that many records from
 * the head: reconcile_locked.  Raw reads take whole packets, so the
 * difference is always a whole number of head records.
 *
 * MERGING into the tail needs the tail to be unread.  A backlog tail is
 * unread by construction.  A piped tail is unread while the pipe is not
 * empty (it is the last packet, and only we write): the merge decision is
 * taken at the instant the pipe is seen non-empty, so a raw reader that
 * takes the tail a moment later reads the merged record, as it would from
 * Linux; one that took it before finds the new record appended.
 *
 * LOCK: q->lock is a leaf (the producer side runs under engine locks).
 */
#include "run/rqueue.h"
#include "engine/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The bits a reader of Linux's inotify may see (inotify_mask_to_arg). */
#define USER_BITS                                                            \
	(IN_ALL_EVENTS | IN_ISDIR | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW)

/* Packets the pipe may hold (each takes one pipe buffer, a page). */
#define PIPE_PACKETS 64

struct run_rec {
	struct run_rec *next;
	uint64_t seq;       /* order of queueing */
	uint32_t name_len;  /* strlen(name) */
	bool in_pipe;
	struct inotify_event ev;
	/* followed by ev.len bytes of name */
};

static size_t rec_size(const struct run_rec *r)
{
	return sizeof r->ev + r->ev.len;
}

struct run_queue {
	uin_mutex_t lock;
	int wfd, rfd;
	struct run_rec *head, *tail; /* [lock] */
	struct run_rec *unpiped;     /* [lock] first record not in the pipe */
	unsigned q_len;              /* [lock] the overflow record included */
	unsigned max_events;
	size_t q_bytes;              /* [lock] */
	size_t piped_bytes;          /* [lock] what the pipe should hold */
	uint64_t next_seq;           /* [lock] */
	bool overflow_queued;        /* [lock] */
	bool peeking;                /* [lock] a peek is outstanding */
	uint64_t peek_first, peek_end; /* [lock] its seq range */
	unsigned taken;              /* [lock] head records rq_take took */
	struct run_rec *overflow;    /* preallocated IN_Q_OVERFLOW record */
};

/* The pipe ------------------------------------------------------------------ */

static void push_locked(struct run_queue *q)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	while (q->unpiped) {
		struct run_rec *r = q->unpiped;
		ssize_t n = write(q->wfd, &r->ev, rec_size(r));
		if (n != (ssize_t)rec_size(r))
			break; /* full: EAGAIN */
		r->in_pipe = true;
		q->piped_bytes += rec_size(r);
		q->unpiped = r->next;
	}
}

static void free_rec(struct run_queue *q, struct run_rec *r)
{
	if (r != q->overflow)
		free(r);
}

/* Take the head off the list (its packet is gone or taken by the caller). */
static struct run_rec *unlink_head_locked(struct run_queue *q)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	struct run_rec *r = q->head;
	q->head = r->next;
	if (!q->head)
		q->tail = NULL;
	if (q->unpiped == r)
		q->unpiped = r->next;
	q->q_len--;
	q->q_bytes -= rec_size(r);
	if (r->in_pipe)
		q->piped_bytes -= rec_size(r);
	if (r == q->overflow)
		q->overflow_queued = false;
	return r;
}

/* Drop the head records that reads through untrapped names took. */
static void reconcile_locked(struct run_queue *q)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	int have = 0;
	/* More bytes than we account for would mean packets nobody owns
	 * (rq_take keeps that from happening): drop nothing then. */
	if (ioctl(q->rfd, FIONREAD, &have) < 0 || have < 0 ||
	    (size_t)have > q->piped_bytes)
		return;
	size_t stolen = q->piped_bytes - (size_t)have;
	while (stolen && q->head && q->head->in_pipe &&
	       rec_size(q->head) <= stolen) {
		stolen -= rec_size(q->head);
		free_rec(q, unlink_head_locked(q));
	}
	push_locked(q);
}

static size_t pipe_bytes(const struct run_queue *q)
{
	int have = 0;
	return ioctl(q->rfd, FIONREAD, &have) == 0 && have > 0 ? (size_t)have
							       : 0;
}

/* Queueing ------------------------------------------------------------------ */

static void append_locked(struct run_queue *q, struct run_rec *r)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	r->next = NULL;
	r->seq = q->next_seq++;
	r->in_pipe = false;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	if (!q->unpiped)
		q->unpiped = r;
	q->q_len++;
	q->q_bytes += rec_size(r);
	push_locked(q);
}

static void overflow_locked(struct run_queue *q)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	if (q->overflow_queued)
		return;
	q->overflow_queued = true;
	append_locked(q, q->overflow);
}

/* inotify_merge: the tail only, same wd, mask and name; never an
 * IN_IGNORED tail; never a record a reader has already taken. */
static bool tail_matches(const struct run_queue *q, int32_t wd, uint32_t mask,
			 const char *name, size_t nlen)
{
	const struct run_rec *t = q->tail;
	if (!t || (t->ev.mask & IN_IGNORED) || t->ev.mask != mask ||
	    t->ev.wd != wd || t->name_len != nlen ||
	    (nlen && memcmp(t->ev.name, name, nlen)))
		return false;
	return !(q->peeking && t->seq < q->peek_end);
}

static bool merge_locked(struct run_queue *q, int32_t wd, uint32_t mask,
			 const char *name, size_t nlen)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	if (!tail_matches(q, wd, mask, name, nlen))
		return false;
	/* Unread: in the backlog, or in a pipe that is not empty. */
	return !q->tail->in_pipe || pipe_bytes(q) != 0;
}

bool rq_event(struct run_queue *q, int32_t wd, uint32_t mask,
	      uint32_t cookie, const char *name)
{
	size_t nlen = name ? strlen(name) : 0;
	mask &= USER_BITS;
	uin_mutex_lock(&q->lock);
	if (q->q_len >= q->max_events) {
		overflow_locked(q);
	} else if (!merge_locked(q, wd, mask, name, nlen)) {
		size_t len = nlen ? (nlen + 1 + 15) & ~(size_t)15 : 0;
		struct run_rec *r = malloc(sizeof *r + len);
		if (!r) {
			overflow_locked(q);
		} else {
			r->name_len = (uint32_t)nlen;
			r->ev.wd = wd;
			r->ev.mask = mask;
			r->ev.cookie = cookie;
			r->ev.len = (uint32_t)len;
			if (len) {
				memcpy(r->ev.name, name, nlen);
				memset(r->ev.name + nlen, 0, len - nlen);
			}
			append_locked(q, r);
		}
	}
	bool backlog = q->unpiped != NULL;
	uin_mutex_unlock(&q->lock);
	return backlog;
}

bool rq_overflow(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	overflow_locked(q);
	bool backlog = q->unpiped != NULL;
	uin_mutex_unlock(&q->lock);
	return backlog;
}

/* Reading ------------------------------------------------------------------- */

size_t rq_nread(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	reconcile_locked(q);
	size_t n = q->q_bytes;
	uin_mutex_unlock(&q->lock);
	return n;
}

bool rq_has_data(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	reconcile_locked(q);
	bool yes = q->head != NULL;
	uin_mutex_unlock(&q->lock);
	return yes;
}

bool rq_has_backlog(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	bool yes = q->unpiped != NULL;
	uin_mutex_unlock(&q->lock);
	return yes;
}

void rq_push(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	reconcile_locked(q);
	uin_mutex_unlock(&q->lock);
}

/* Copy from `from` while records fit in count; extends the peek. */
static ssize_t copy_locked(struct run_queue *q, struct run_rec *from,
			   size_t count, char **out)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	*out = NULL;
	if (!from)
		return -EAGAIN;
	if (rec_size(from) > count)
		return -EINVAL;
	size_t bytes = 0;
	struct run_rec *r = from;
	for (; r && bytes + rec_size(r) <= count; r = r->next)
		bytes += rec_size(r);
	char *buf = malloc(bytes);
	if (!buf)
		return -ENOMEM;
	bytes = 0;
	for (r = from; r && bytes + rec_size(r) <= count; r = r->next) {
		memcpy(buf + bytes, &r->ev, rec_size(r));
		bytes += rec_size(r);
		q->peek_end = r->seq + 1;
	}
	q->peeking = true;
	*out = buf;
	return (ssize_t)bytes;
}

ssize_t rq_peek(struct run_queue *q, size_t count, char **out)
{
	uin_mutex_lock(&q->lock);
	reconcile_locked(q);
	if (q->head)
		q->peek_first = q->peek_end = q->head->seq;
	ssize_t ret = copy_locked(q, q->head, count, out);
	uin_mutex_unlock(&q->lock);
	return ret;
}

ssize_t rq_peek_next(struct run_queue *q, size_t count, char **out)
{
	uin_mutex_lock(&q->lock);
	struct run_rec *r = q->head;
	while (r && r->seq < q->peek_end)
		r = r->next;
	ssize_t ret = copy_locked(q, r, count, out);
	uin_mutex_unlock(&q->lock);
	return ret;
}

/* The pipe emptied of our packets and filled again from the head, in
 * order (after an aborted reply took some out of the middle of it). */
static void rebuild_pipe_locked(struct run_queue *q)
	UIN_REQUIRES(q->lock)
{
	uin_assert_held(&q->lock);
	char scratch[sizeof(struct inotify_event) + NAME_MAX + 1 + 16];
	while (read(q->rfd, scratch, sizeof scratch) > 0)
		;
	for (struct run_rec *r = q->head; r; r = r->next)
		r->in_pipe = false;
	q->piped_bytes = 0;
	q->unpiped = q->head;
	push_locked(q);
}

unsigned rq_take(struct run_queue *q, size_t written)
{
	char scratch[sizeof(struct inotify_event) + NAME_MAX + 1 + 16];
	uin_mutex_lock(&q->lock);
	/* Raw reads may have taken some of them meanwhile (delivered twice).
	 * Only a program that reads one instance through a trapped and an
	 * untrapped name at the same moment can cause that, and in that case
	 * a packet may also be taken here for the wrong record: docs/run.md
	 * says reads through both kinds of name at once are not exact. */
	reconcile_locked(q);
	size_t off = 0;
	unsigned k = 0;
	bool backlog_taken = false;
	struct run_rec *r = q->head;
	/* off <= written: a record whose copy faulted part way (or at its
	 * first byte) is lost, as Linux dequeues it before copying. */
	for (; r && r->seq >= q->peek_first && r->seq < q->peek_end &&
	       off <= written;
	     r = r->next) {
		off += rec_size(r);
		k++;
		backlog_taken |= r == q->unpiped;
		/* Its packet is at the pipe's head: one read takes exactly
		 * it (reconcile just saw it there). */
		if (r->in_pipe) {
			(void)!read(q->rfd, scratch, sizeof scratch);
			r->in_pipe = false;
			q->piped_bytes -= rec_size(r);
		}
	}
	/* Records of the range still in the backlog are taken too: they
	 * must not be pushed into the room the reads above made before
	 * rq_commit unlinks them (their packets would stay behind). */
	if (backlog_taken)
		q->unpiped = r;
	q->taken = k;
	uin_mutex_unlock(&q->lock);
	return k;
}

void rq_commit(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	for (; q->taken && q->head; q->taken--)
		free_rec(q, unlink_head_locked(q));
	q->taken = 0;
	q->peeking = false;
	push_locked(q);
	uin_mutex_unlock(&q->lock);
}

void rq_abort(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	if (q->taken)
		rebuild_pipe_locked(q);
	q->taken = 0;
	q->peeking = false;
	uin_mutex_unlock(&q->lock);
}

/* Life ----------------------------------------------------------------------- */

int rq_create(unsigned max_events, bool nonblock, struct run_queue **out,
	      int *user_fd, ino_t *ino)
{
	struct run_queue *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->overflow = calloc(1, sizeof *q->overflow);
	if (!q->overflow) {
		free(q);
		return -ENOMEM;
	}
	q->overflow->ev.wd = -1;
	q->overflow->ev.mask = IN_Q_OVERFLOW;
	q->max_events = max_events;
	q->rfd = q->wfd = -1;
	uin_mutex_init(&q->lock, UIN_RANK_RUN_QUEUE);

	int p[2], ret;
	/* O_DIRECT makes the write end packetised; the read end must not
	 * show it (F_GETFL of an inotify fd is O_RDONLY [| O_NONBLOCK]). */
	if (pipe2(p, O_CLOEXEC | O_DIRECT | O_NONBLOCK) < 0) {
		ret = -errno;
		goto free_q;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	q->rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (q->rfd < 0 || fstat(p[0], &st) < 0 ||
	    fcntl(p[0], F_SETFL, nonblock ? O_NONBLOCK : 0) < 0) {
		ret = -errno;
		goto close_pipe;
	}
	q->wfd = p[1];
	/* Room for PIPE_PACKETS records at once (a page each); beyond it the
	 * backlog waits.  Failing to grow only makes the backlog longer. */
	fcntl(q->wfd, F_SETPIPE_SZ, PIPE_PACKETS * 4096);
	*out = q;
	*user_fd = p[0];
	*ino = st.st_ino;
	return 0;

close_pipe:
	if (q->rfd >= 0)
		close(q->rfd);
	close(p[0]);
	close(p[1]);
free_q:
	free(q->overflow);
	free(q);
	return ret;
}

void rq_destroy(struct run_queue *q)
{
	uin_mutex_lock(&q->lock);
	while (q->head)
		free_rec(q, unlink_head_locked(q));
	uin_mutex_unlock(&q->lock);
	close(q->rfd);
	close(q->wfd);
	uin_mutex_destroy(&q->lock);
	free(q->overflow);
	free(q);
}

int rq_read_fd(const struct run_queue *q)
{
	return q->rfd;
}

int rq_write_fd(const struct run_queue *q)
{
	return q->wfd;
}
