/*
 * src/run/instances.c - the served instances and how they end
 * (instances.h has the rules).
 */
#include "run/instances.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "run/reads.h"
#include "run/run.h"

static uin_mutex_t table_lock = UIN_MUTEX_INITIALIZER(UIN_RANK_RUN_TABLE);
static struct run_inst *table;   /* [table_lock] */
static unsigned live;            /* [table_lock] */
static unsigned long next_id = 1; /* [table_lock] */
static int close_fd = -1;        /* the close-detection inotify instance */
/* Instances the program closed that are not freed yet (their limit charge
 * is still held), and the threads reading close events right now. */
static unsigned ending;           /* [table_lock] */
static unsigned reading_closes;   /* [table_lock] */
static unsigned handing_over;     /* [table_lock] */
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;

int ri_init(void)
{
	close_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return close_fd < 0 ? -errno : 0;
}

int ri_close_fd(void)
{
	return close_fd;
}

unsigned ri_count(void)
{
	uin_mutex_lock(&table_lock);
	unsigned n = live;
	uin_mutex_unlock(&table_lock);
	return n;
}

/* The remote instance's sink: under engine locks, never blocks. */
static void sink_event(void *arg, int32_t wd, uint32_t mask, uint32_t cookie,
		       const char *name)
{
	struct run_inst *ri = arg;
	if (rq_event(ri->q, wd, mask, cookie, name))
		run_waker_backlog(ri);
}

static void sink_overflow(void *arg)
{
	struct run_inst *ri = arg;
	if (rq_overflow(ri->q))
		run_waker_backlog(ri);
}

static void destroy(struct run_inst *ri)
{
	if (ri->close_wd >= 0)
		inotify_rm_watch(close_fd, ri->close_wd);
	/* After this no sink call runs: the queue can go. */
	uin_remote_close(ri->ui);
	rq_destroy(ri->q);
	uin_mutex_destroy(&ri->read_lock);
	run_debug("instance %lu ended", ri->id);
	bool was_ending = ri->closed;
	free(ri);
	if (was_ending) {
		uin_mutex_lock(&table_lock);
		ending--;
		pthread_cond_broadcast(&ended);
		uin_mutex_unlock(&table_lock);
	}
}

/*
 * Before saying EMFILE: let what the program has closed so far end.  The
 * kernel queues a description's close event before the close() that
 * released it returns, so after reading the events and waiting for the
 * instances they end (and for a waker thread that is reading them too),
 * the count is exact for every close that happened before this call.
 */
static void settle_closes(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2; /* a reference held by a call in progress */
	uin_mutex_lock(&table_lock);
	while (handing_over &&
	       uin_cond_timedwait(&ended, &table_lock, &until) == 0)
		;
	uin_mutex_unlock(&table_lock);
	ri_handle_close_events();
	uin_mutex_lock(&table_lock);
	while ((ending || reading_closes) &&
	       uin_cond_timedwait(&ended, &table_lock, &until) == 0)
		;
	uin_mutex_unlock(&table_lock);
}

void ri_hand_over_begin(void)
{
	uin_mutex_lock(&table_lock);
	handing_over++;
	uin_mutex_unlock(&table_lock);
}

void ri_hand_over_end(void)
{
	uin_mutex_lock(&table_lock);
	handing_over--;
	pthread_cond_broadcast(&ended);
	uin_mutex_unlock(&table_lock);
}

void ri_get(struct run_inst *ri)
{
	atomic_fetch_add(&ri->refs, 1);
}

void ri_put(struct run_inst *ri)
{
	if (atomic_fetch_sub(&ri->refs, 1) == 1)
		destroy(ri);
}

int ri_create(bool nonblock, struct run_inst **out, int *user_fd)
{
	struct run_inst *ri = calloc(1, sizeof *ri);
	if (!ri)
		return -ENOMEM;
	int max = uinotify_get_limit(UINOTIFY_MAX_QUEUED_EVENTS);
	int ret = rq_create(max < 0 ? 16384 : (unsigned)max, nonblock, &ri->q,
			    user_fd, &ri->ino);
	if (ret < 0) {
		free(ri);
		return ret;
	}
	ri->sink = (struct uin_instance_sink){sink_event, sink_overflow, ri};
	ret = uin_remote_create(&ri->sink, &ri->ui);
	if (ret == -EMFILE) {
		settle_closes();
		ret = uin_remote_create(&ri->sink, &ri->ui);
	}
	if (ret < 0) {
		close(*user_fd);
		rq_destroy(ri->q);
		free(ri);
		return ret;
	}
	uin_mutex_init(&ri->read_lock, UIN_RANK_RUN_READ);
	ri->parked_tail = &ri->parked;
	atomic_init(&ri->refs, 2); /* the table's and the caller's */
	ri->opens = 1;             /* the program's description */
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", rq_read_fd(ri->q));
	uin_mutex_lock(&table_lock);
	/* Under the lock: its events are handled under it too, so none can
	 * come for this wd before the instance is in the table. */
	ri->close_wd = inotify_add_watch(close_fd, path,
					 IN_OPEN | IN_CLOSE_NOWRITE |
						 IN_CLOSE_WRITE);
	ri->id = next_id++;
	ri->next = table;
	table = ri;
	live++;
	uin_mutex_unlock(&table_lock);
	if (ri->close_wd < 0)
		run_warn_once("cannot watch an instance's pipe (%s): instances "
			      "closed by the program are freed only when "
			      "uinotify-run ends",
			      strerror(errno));
	*out = ri;
	return 0;
}

struct run_inst *ri_find(ino_t ino)
{
	uin_mutex_lock(&table_lock);
	struct run_inst *ri = table;
	while (ri && ri->ino != ino)
		ri = ri->next;
	if (ri)
		ri_get(ri);
	uin_mutex_unlock(&table_lock);
	return ri;
}

/* Under table_lock: off the table; the caller puts the table's ref. */
static bool unlink_locked(struct run_inst *ri)
	UIN_REQUIRES(table_lock)
{
	uin_assert_held(&table_lock);
	for (struct run_inst **pp = &table; *pp; pp = &(*pp)->next)
		if (*pp == ri) {
			*pp = ri->next;
			live--;
			return true;
		}
	return false;
}

void ri_maybe_end(struct run_inst *ri)
{
	uin_mutex_lock(&ri->read_lock);
	bool waiting = ri->parked != NULL;
	uin_mutex_unlock(&ri->read_lock);
	uin_mutex_lock(&table_lock);
	bool gone = ri->closed && !waiting && unlink_locked(ri);
	if (gone)
		ending++;
	uin_mutex_unlock(&table_lock);
	if (gone)
		ri_put(ri); /* the table's */
}

void ri_abandon(struct run_inst *ri)
{
	uin_mutex_lock(&table_lock);
	ri->closed = true;
	uin_mutex_unlock(&table_lock);
	ri_maybe_end(ri);
}

void ri_handle_close_events(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uin_mutex_lock(&table_lock);
	reading_closes++;
	uin_mutex_unlock(&table_lock);
	for (;;) {
		ssize_t n = read(close_fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof *e + e->len;
			struct run_inst *ended_ri = NULL;
			uin_mutex_lock(&table_lock);
			struct run_inst *ri = table;
			while (ri && ri->close_wd != e->wd)
				ri = ri->next;
			if (ri && (e->mask & IN_OPEN))
				ri->opens++;
			if (ri && (e->mask & (IN_CLOSE_NOWRITE | IN_CLOSE_WRITE)) &&
			    --ri->opens <= 0 && !ri->closed) {
				ri->closed = true;
				ended_ri = ri;
				ri_get(ended_ri);
			}
			uin_mutex_unlock(&table_lock);
			if (ended_ri) {
				run_debug("instance %lu closed by the program",
					  ended_ri->id);
				ri_maybe_end(ended_ri);
				ri_put(ended_ri);
			}
		}
	}
	uin_mutex_lock(&table_lock);
	reading_closes--;
	pthread_cond_broadcast(&ended);
	uin_mutex_unlock(&table_lock);
}
