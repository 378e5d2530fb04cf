/*
 * src/run/rqueue.h - the event queue a supervised program reads.
 *
 * One per instance the supervisor serves.  It keeps the instance's records
 * in order with Linux's rules (merge into an unread tail, one IN_Q_OVERFLOW
 * counted in q_len, nothing merged or queued while full) and mirrors its
 * head into a packet pipe (O_DIRECT: one record per packet) whose read end
 * is the program's descriptor.  So the program's fd is readable exactly
 * while records are queued, gets an epoll edge per queued record, counts
 * their bytes in FIONREAD, and even a read() through a name the filter does
 * not trap returns whole records.  The reads the filter traps are served
 * from here by the supervisor: as many whole records as fit, EINVAL when
 * the first does not (rq_peek, then rq_commit once the reply is given).
 *
 * Functions return 0 (or a count) or a negative errno.
 */
#ifndef UIN_RUN_RQUEUE_H
#define UIN_RUN_RQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct run_queue;

/*
 * A queue and its pipe.  *user_fd is the read end for the program
 * (O_NONBLOCK when nonblock; the caller installs it, then closes it);
 * max_events as max_queued_events.  The pipe's inode number identifies
 * the queue in the program's /proc/PID/fd.
 */
int rq_create(unsigned max_events, bool nonblock, struct run_queue **out,
	      int *user_fd, ino_t *ino);
void rq_destroy(struct run_queue *q);

/* Our own read descriptor of the pipe (readable while records are in it). */
int rq_read_fd(const struct run_queue *q);
/* The write end (writable when room for a packet left). */
int rq_write_fd(const struct run_queue *q);

/*
 * Producer side, from the instance's sink: may run under engine locks.
 * true when the record could not go into the pipe (a backlog began): the
 * caller asks the waker to push it when the pipe has room.
 */
bool rq_event(struct run_queue *q, int32_t wd, uint32_t mask,
	      uint32_t cookie, const char *name);
bool rq_overflow(struct run_queue *q);

/* FIONREAD: the bytes of every queued record, the overflow record too. */
size_t rq_nread(struct run_queue *q);
/* Whether records are queued. */
bool rq_has_data(struct run_queue *q);
/* Records that are not yet in the pipe (it was full). */
bool rq_has_backlog(struct run_queue *q);
/* Move backlog into the pipe as far as it has room. */
void rq_push(struct run_queue *q);

/*
 * A read of count bytes: the whole records that fit, from the head, copied
 * into *out (malloc'ed, the caller frees it), without dequeueing them.
 * The byte count; -EAGAIN when empty; -EINVAL when the first record does
 * not fit (also for count 0); -ENOMEM.  Until rq_commit or rq_abort no
 * event merges into the records copied.  One peek at a time per queue (the
 * caller serialises readers).  rq_peek_next goes on after the records of
 * the peek so far (readv's next segment), with the same answers.
 */
ssize_t rq_peek(struct run_queue *q, size_t count, char **out);
ssize_t rq_peek_next(struct run_queue *q, size_t count, char **out);
/*
 * Before the reply: `written` bytes of the peek reached the program; take
 * out of the pipe the packets of every record of the peek that starts at
 * or before that offset (all of them when the copy succeeded; up to and
 * including the one whose copy faulted otherwise, as Linux's read() loses
 * an event whose copy faults).  So once the program has its answer, its
 * descriptor polls as the queue is.  Returns how many records that is.
 */
unsigned rq_take(struct run_queue *q, size_t written);
/* The reply went out: dequeue the records rq_take took. */
void rq_commit(struct run_queue *q);
/* The reply could not be given (the caller was interrupted): keep them,
 * and put their packets back in order. */
void rq_abort(struct run_queue *q);

#endif
