/*
 * src/instance/instance.h - the inotify-compatible consumer, private.
 *
 * The lock order, the lifetime rules and the token invariant are written
 * once, at the top of src/instance/instance.c.
 */
#ifndef UIN_INSTANCE_INSTANCE_H
#define UIN_INSTANCE_INSTANCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>

#include <uinotify/engine.h>
#include <uinotify/inotify.h>

#include "instance/remote_api.h"
#include "sources/loop.h"
#include "engine/lock.h"

/*
 * One queued event.  The record that read() returns (struct inotify_event
 * then the zero-padded name, rec.len bytes) is contiguous from rec, so a
 * read copies it with one memcpy.
 */
struct uin_event {
	struct uin_event *next; /* [q_lock] */
	uint32_t name_len;      /* strlen(name); 0 without a name */
	uint32_t reserved;
	struct uin_record {
		int32_t wd;
		uint32_t mask;
		uint32_t cookie;
		uint32_t len;
	} rec;
	/* followed by rec.len bytes of name (none for the overflow record) */
};

_Static_assert(sizeof(struct uin_record) == sizeof(struct inotify_event),
	       "record header is struct inotify_event");
_Static_assert(sizeof(struct uin_event) ==
		       offsetof(struct uin_event, rec) + sizeof(struct uin_record),
	       "the name follows the header directly");

static inline char *uin_event_name(struct uin_event *e)
{
	return (char *)(e + 1);
}
static inline size_t uin_event_size(const struct uin_event *e)
{
	return sizeof(struct uin_record) + e->rec.len;
}

struct uin_instance {
	/*
	 * Lifetime (see instance.c): users = the open state (1 until the
	 * last fd is closed) + one per API call in progress; refs = 1 while
	 * users > 0, + one per watch.  Both are only ever raised from
	 * non-zero.  The memory is type-stable (recycled through a free list,
	 * never returned to malloc), so that the lock-free fd lookup may try
	 * to raise users on an instance that is being torn down.
	 */
	atomic_long users;
	atomic_long refs;
	atomic_bool open;          /* the open state's user reference is held */
	atomic_bool dup_seen;      /* reached through an fd init1 did not return */
	/* The drop-in library knows every descriptor that names the
	 * instance (preload_api.h): how many besides fd; -1 when nobody
	 * keeps count (the API: dups are found in /proc/self/fd). */
	atomic_int named;

	struct uin_instance *next; /* [reg_lock] live list or free list */
	bool live;                 /* [reg_lock] on the live list */
	int fd;                    /* [reg_lock] init1's fd, -1 once closed */
	dev_t pipe_dev;            /* constant while users > 0 */
	ino_t pipe_ino;            /* constant while users > 0 */

	struct uinotify_handle *handle; /* constant while users > 0 */
	atomic_int source;         /* enum uinotify_source for new watches */
	atomic_bool recovery;      /* new watches: UIN_SOURCE_RECOVER */

	/* Serialises find-or-add, like the kernel's group->mark_mutex. */
	uin_mutex_t add_lock;
	int32_t wd_cursor;         /* [add_lock] our copy of the wd cursor */

	uin_mutex_t q_lock;    /* the queue and the tokens */
	struct uin_event *head;    /* [q_lock] */
	struct uin_event *tail;    /* [q_lock] */
	unsigned q_len;            /* [q_lock] events, overflow record included */
	unsigned max_events;       /* constant while users > 0 */
	size_t q_bytes;            /* [q_lock] FIONREAD */
	bool overflow_queued;      /* [q_lock] */
	bool dead;                 /* [q_lock] torn down: no pipe I/O */
	struct uin_event overflow; /* preallocated IN_Q_OVERFLOW record */

	int iofd;                  /* [q_lock] writer (and reader if io_reads) */
	bool io_reads;             /* iofd is O_RDWR: token reads use it */
	unsigned long unsignaled;  /* [q_lock] queued events with no byte */
	unsigned long debt;        /* [q_lock] bytes taken for gone events */
	/* Deferred bytes of a dispatch round (queue.c).  Never reset by
	 * instance_alloc: a job may still be queued from an earlier use. */
	struct uin_loop_job flush_job;
	bool flush_pending;        /* [q_lock] flush_job is posted */

	/* A remote instance (remote.c) hands its events to this sink
	 * instead of queueing them; constant while users > 0. */
	const struct uin_instance_sink *sink;
};

/* The watch an instance embeds (struct inotify_user_watch of 2006). */
struct uin_iwatch {
	struct uinotify_watch watch;
	struct uin_instance *inst; /* holds a ref */
};

static inline struct uin_iwatch *uin_iwatch_of(struct uinotify_watch *w)
{
	return (struct uin_iwatch *)((char *)w -
				     offsetof(struct uin_iwatch, watch));
}

/* instance.c */
/* Charge one against max_user_instances: false at the limit. */
bool uin_instances_charge(void);
void uin_instances_uncharge(void);
/* A reset instance (users 1, refs 1), or NULL; not yet counted. */
struct uin_instance *uin_instance_alloc(void);
int uin_instance_get(int fd, struct uin_instance **out);
/* The same for calls that forward when fd is no instance: NULL then. */
struct uin_instance *uin_instance_find(int fd);
void uin_instance_put_user(struct uin_instance *inst);
void uin_instance_put_ref(struct uin_instance *inst);
void uin_instance_get_ref(struct uin_instance *inst);
int uin_limit(enum uinotify_limit limit);
/* Per-process watch count, checked against max_user_watches. */
bool uin_watches_charge(void);
void uin_watches_uncharge(void);

/* queue.c */
void uin_queue_event(struct uin_instance *inst, int32_t wd, uint32_t mask,
		     uint32_t cookie, const char *name);
void uin_queue_overflow(struct uin_instance *inst);
/* Frees every queued event; the instance is dead (no more handlers). */
void uin_queue_drain(struct uin_instance *inst);
ssize_t uin_queue_read(struct uin_instance *inst, int fd, void *buf,
		       size_t count);
int uin_queue_nread(struct uin_instance *inst, int *out);

/* watches.c */
extern const struct uinotify_ops uin_instance_ops;
/* inotify_add_watch after its fd checks: the wd, or a negative errno. */
int uin_instance_add_watch_at(struct uin_instance *inst, int dirfd,
			      const char *path, uint32_t mask,
			      uint64_t resolve);
/* inotify_rm_watch after its fd checks: 0 or -EINVAL. */
int uin_instance_rm_wd(struct uin_instance *inst, int wd);
/* INOTIFY_IOC_SETNEXTWD: 0 or -EINVAL. */
int uin_instance_set_next_wd(struct uin_instance *inst, unsigned long next);

/* For tests: the token accounting of the instance behind fd. */
struct uin_instance_stats {
	unsigned q_len;
	size_t q_bytes;
	unsigned long unsignaled;
	unsigned long debt;
	long pipe_bytes; /* FIONREAD of the pipe itself */
	bool io_reads;
};
int uin_instance_stats(int fd, struct uin_instance_stats *out);
/* For tests: make new instances use a plain write end (no /proc reopen). */
void uin_instance_debug_plain_pipe(bool on);

#endif
