/*
 * src/sources/scan_pool.c - statx in parallel, for the scanner on shared
 * mounts.
 *
 * WHY.  Behind FUSE, NFS or SMB a statx waits for a daemon or a server:
 * 28 µs of wall time per call behind bindfs here, milliseconds over a
 * network.  A tick's cold rotation is a run of independent statx calls, so
 * a few threads overlap the waits (bench/bench_scan_parallel: 0.48× the
 * wall time with 8 threads behind bindfs).  Locally a statx does not
 * wait, and behind a local FUSE daemon it is mostly the daemon's CPU: the
 * scanner uses the threads only for directories whose statx take
 * UIN_SCAN_STAT_WAIT_US or more (scan.c, stat_threads_for).
 *
 * HOW.  A batch is an array of requests; the caller (the loop thread,
 * under the dispatch lock: one batch at a time) publishes it, wakes the
 * workers and takes requests itself; each request is taken once through an
 * atomic index, and the caller waits until every worker has left the
 * batch.  Results are read only after that, in order, by the caller, so
 * the comparison and the events stay on the loop thread exactly as
 * without workers.  The workers' CPU time is added up, so that the
 * rotation's CPU budget counts it.
 *
 * Workers are started at the first batch (every signal blocked) and live
 * as long as the process; a fork child has none and starts its own.  If
 * none can be started the caller does the whole batch.
 *
 * LOCKS.  pool.mu guards the batch publication and the counts; it ranks
 * below everything else (nothing is called with it held).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "engine/lock.h"
#include "sources/loop.h"
#include "sources/scan_internal.h"

static struct {
	uin_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct uin_scan_stat_req *v; /* [mu] the batch */
	size_t n;                    /* [mu] */
	atomic_size_t next;          /* the next request to take */
	unsigned gen;                /* [mu] batches published */
	unsigned busy;               /* [mu] workers inside the batch */
	unsigned started;            /* [mu] workers alive */
	atomic_ullong cpu_ns;        /* workers' CPU in batches */
} pool = {
	.mu = UIN_MUTEX_INITIALIZER(UIN_RANK_SCAN_POOL),
	.work_cv = PTHREAD_COND_INITIALIZER,
	.done_cv = PTHREAD_COND_INITIALIZER,
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void make_request(struct uin_scan_stat_req *q)
{
	q->err = uin_scan_sx(q->dirfd, q->name, q->force, &q->a);
}

static void take_requests(struct uin_scan_stat_req *v, size_t n)
{
	for (size_t i; (i = atomic_fetch_add(&pool.next, 1)) < n;)
		make_request(&v[i]);
}

static void *worker_main(void *arg)
{
	(void)arg;
	unsigned seen = 0;
	uin_mutex_lock(&pool.mu);
	seen = pool.gen;
	for (;;) {
		while (pool.gen == seen)
			uin_cond_wait(&pool.work_cv, &pool.mu);
		seen = pool.gen;
		struct uin_scan_stat_req *v = pool.v;
		size_t n = pool.n;
		pool.busy++;
		uin_mutex_unlock(&pool.mu);
		/* Woken late, after the batch ended: nothing to take (and
		 * `next` is not ours to touch). */
		if (v && n) {
			uint64_t c0 = thread_cpu_ns();
			take_requests(v, n);
			atomic_fetch_add(&pool.cpu_ns, thread_cpu_ns() - c0);
		}
		uin_mutex_lock(&pool.mu);
		if (--pool.busy == 0)
			pthread_cond_signal(&pool.done_cv);
	}
	return NULL;
}

/* Under pool.mu: have `want` workers, as far as they can be started. */
static void start_workers_locked(unsigned want)
	UIN_REQUIRES(pool.mu)
{
	uin_assert_held(&pool.mu);
	while (pool.started < want &&
	       uin_thread_spawn(worker_main, "uinotify-stat", 64 * 1024) == 0)
		pool.started++;
}

/* pool.mu is held or not depending on helpers: not for the analysis. */
void uin_scan_stat_batch(struct uin_scan_stat_req *v, size_t n,
			 unsigned threads) UIN_NO_TSA
{
	unsigned helpers = threads > 1 && n > 1 ? threads - 1 : 0;
	if (helpers) {
		uin_mutex_lock(&pool.mu);
		start_workers_locked(helpers);
		if (!pool.started) {
			uin_mutex_unlock(&pool.mu);
			helpers = 0;
		}
	}
	if (!helpers) {
		for (size_t i = 0; i < n; i++)
			make_request(&v[i]);
		return;
	}
	pool.v = v;
	pool.n = n;
	atomic_store(&pool.next, 0);
	pool.gen++;
	pthread_cond_broadcast(&pool.work_cv);
	uin_mutex_unlock(&pool.mu);

	take_requests(v, n);

	/* Every worker that entered this batch has left it before v may be
	 * reused; one that wakes later finds no request left (next >= n,
	 * and the next batch's gen differs from the one it saw). */
	uin_mutex_lock(&pool.mu);
	while (pool.busy)
		uin_cond_wait(&pool.done_cv, &pool.mu);
	pool.v = NULL;
	pool.n = 0;
	uin_mutex_unlock(&pool.mu);
}

uint64_t uin_scan_pool_cpu_ns(void)
{
	return atomic_load(&pool.cpu_ns);
}

unsigned uin_scan_pool_threads(void)
{
	uin_mutex_lock(&pool.mu);
	unsigned n = pool.started;
	uin_mutex_unlock(&pool.mu);
	return n;
}

void uin_scan_pool_atfork_child(void)
{
	uin_mutex_reinit(&pool.mu);
	pthread_cond_init(&pool.work_cv, NULL);
	pthread_cond_init(&pool.done_cv, NULL);
	pool.v = NULL;
	pool.n = 0;
	pool.busy = 0;
	pool.started = 0; /* the workers stayed in the parent */
}
