/*
 * src/sources/scan.h - the scanner: the changes the kernel never sees,
 * found by looking.  Design, tiers, identity rules and coexistence with
 * the kernel source: the top of scan.c and docs/scanner.md.
 *
 * LOCKS.  The scanner's state has two owners.  What the engine side
 * changes (the link between an engine inode's struct uin_src_inode and
 * its struct uin_scan_watch, the masks) is under the sources lock
 * (mounts.h).  Everything else (descriptors, snapshots, ledgers, the
 * schedule) is touched only under the dispatch lock (loop.h): on the loop
 * thread, or in an API thread between uin_loop_dispatch_enter and _exit.
 * A struct uin_scan_watch is freed only under the dispatch lock, so a
 * dispatcher may keep a pointer to one across a release of the sources
 * lock.  Hooks are called with no lock of ours held but the dispatch lock.
 */
#ifndef UIN_SOURCES_SCAN_H
#define UIN_SOURCES_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sources/mounts.h"
#include "sources/source.h"

/* UINOTIFY_SOURCE_SCAN: the scanner alone, on any filesystem. */
extern const struct uin_source_ops uin_source_scan;

enum uin_scan_mode {
	/* Scanned on every tick: the mount's source, or the kernel's
	 * ENOSPC fallback. */
	UIN_SCAN_TICK = 1,
	/* A snapshot kept for recovery only: compared with the disk after
	 * the kernel source lost events (UIN_MNT_RECOVER). */
	UIN_SCAN_SHADOW = 2,
};

/*
 * Observe si by scanning from now on, starting from a snapshot taken now
 * through r->fd.  A second call for an si the scanner already observes
 * only upgrades SHADOW to TICK (or rebuilds the state a fork child
 * inherited).  Under the dispatch lock, without the sources lock.
 * 0, -ENOSPC (no descriptor left: EMFILE/ENFILE), -ENOMEM.
 */
int uin_scan_attach(struct uin_src_inode *si, const struct uin_resolved *r,
		    enum uin_scan_mode mode);
/* si's need or watched changed (mask_changed).  Under the sources lock. */
void uin_scan_update(struct uin_src_inode *si) UIN_REQUIRES(uin_sources_mu);
/* si is being released (release_inode).  Under the sources lock. */
void uin_scan_detach(struct uin_src_inode *si) UIN_REQUIRES(uin_sources_mu);
/* In a fork child, with the sources lock re-initialised. */
void uin_scan_atfork_child(void);
/* Then, with no lock held: the child's scanning resumes (scan.c). */
void uin_scan_atfork_rearm(void);

/*
 * Ends what uin_scan_kernel_event found dead and kept for the MOVE_SELF
 * that may follow (a rename over a watched object): the kernel source
 * calls it after every event that is not followed by a MOVE_SELF, under
 * the dispatch lock.  Cheap when there is nothing.
 */
void uin_scan_kernel_deaths(void);
/*
 * Ends the watched directories whose parent no kernel watch of ours asks
 * for DELETE (so rmdir tells us nothing) once rmdir has removed them
 * here.  The kernel source calls it on each read, under the dispatch
 * lock.
 */
void uin_scan_kernel_orphans(void);
/*
 * The kernel source read an event about the object sw watches (name:
 * about its child of that name; NULL: about itself).  Records it, so that
 * the scanner does not report the same change again, and returns true
 * when the scanner reported that change first (the caller then drops the
 * kernel's copy).  A kernel DELETE of a watched child whose last link is
 * gone first ends that child (the kernel would have, but the scanner's
 * descriptor keeps the inode alive).  Under the dispatch lock, with no
 * lock of ours held.
 */
bool uin_scan_kernel_event(struct uin_scan_watch *sw, uint32_t mask,
			   const char *name);

/*
 * Events about mount m were lost (a kernel IN_Q_OVERFLOW, already
 * reported to the instances): compare every snapshot of m with the disk
 * at once and report the differences the kernel did not.  Under the
 * dispatch lock, with no lock of ours held.  Nothing on mounts without
 * scanner state.
 */
void uin_scan_recover(struct uin_mount *m);

/* Tuning (process-wide) ------------------------------------------------------ */

/* The minimum and default tick interval, in milliseconds. */
#define UIN_SCAN_MIN_INTERVAL_MS 10
#define UIN_SCAN_MAX_INTERVAL_MS 60000
#define UIN_SCAN_DEFAULT_INTERVAL_MS 80
/* The default cold period T: a change to any file is reported within
 * T + one interval (1.88 s), under the 2 s users were promised. */
#define UIN_SCAN_DEFAULT_COLD_MS 1800
#define UIN_SCAN_MAX_STAT_THREADS 16

enum uin_scan_param {
	UIN_SCAN_INTERVAL_MS,   /* tick interval (UINOTIFY_SCAN_INTERVAL_MS) */
	UIN_SCAN_COLD_MS,       /* every file checked within this period;
				   0: every file on every tick */
	UIN_SCAN_CLOSE_WRITE_MS,/* quiet time before a synthesised
				   IN_CLOSE_WRITE; 0: none
				   (UINOTIFY_SCAN_CLOSE_WRITE_MS) */
	UIN_SCAN_HOT_MS,        /* a changed file is checked on every tick
				   for this long */
	UIN_SCAN_BUDGET_PPM,    /* CPU share (per million of one core) the
				   cold rotation may take */
	UIN_SCAN_FORCE_SYNC,    /* 0: never, 1: directories on shared
				   mounts, 2: everything on shared mounts */
	UIN_SCAN_LIST_ALWAYS,   /* 1: read every directory on every tick
				   (benchmarks: the same system calls as a
				   plain walk) */
	UIN_SCAN_STAT_THREADS,  /* threads for the cold rotation's statx on
				   shared mounts where a statx waits; 0 or
				   1: the loop thread alone
				   (UINOTIFY_SCAN_STAT_THREADS) */
	UIN_SCAN_STAT_WAIT_US,  /* ... waits: takes at least this long
				   (wall time, per entry); 0: always */
	UIN_SCAN_NPARAMS
};
/* Set a parameter; returns the previous value, or -EINVAL. */
long uin_scan_set_param(enum uin_scan_param p, long value);
long uin_scan_get_param(enum uin_scan_param p);

/* Statistics and test hooks -------------------------------------------------- */

struct uin_scan_stats {
	long watches;        /* scanner watches not yet freed */
	long dirs;           /* of which directories with a snapshot */
	long entries;        /* directory entries in all snapshots */
	size_t snap_bytes;   /* memory of those snapshots (entries + names) */
	size_t name_bytes;   /* of which names (with their NUL) */
	long ticks;          /* ticks completed */
	long sweeps;         /* cold rotations completed */
	long overruns;       /* ticks longer than the interval */
	long statx;          /* statx calls */
	long dir_reads;      /* directories read (getdents) */
	long events;         /* events reported */
	long suppressed;     /* changes not reported: the kernel had */
	long kernel_dropped; /* kernel events dropped: the scanner had */
	long recoveries;     /* rescans after lost events */
	long catch_ups;      /* directories looked at before a watch changed */
	long fds;            /* descriptors held */
	long cold_period_ms; /* current bound for checking every file */
	long last_tick_us;   /* wall time of the last tick */
	long last_tick_cpu_us; /* its CPU time */
	long last_tick_start_us; /* CLOCK_MONOTONIC when it began */
	long last_events_us;   /* CLOCK_MONOTONIC when its structure events
				  had been reported */
	long stat_threads;     /* stat workers started (scan_pool.c) */
};
void uin_scan_get_stats(struct uin_scan_stats *st);

/*
 * For tests: wait until n ticks (sweeps: n complete cold rotations) have
 * started and finished after this call, or timeout_ms passed.  0, or
 * -ETIMEDOUT.  Call with no lock held.
 */
int uin_scan_wait_ticks(long n, long timeout_ms);
int uin_scan_wait_sweeps(long n, long timeout_ms);

/*
 * For tests: free now the watches whose inodes were released (the loop
 * thread does it soon after, but a test that counts what is left must
 * not race it), waiting for a tick in progress.  0, or -ETIMEDOUT.  Call
 * with no lock held.
 */
int uin_scan_settle(long timeout_ms);

#endif
