/*
 * src/run/instances.h - the instances the supervisor serves.
 *
 * Each is a remote instance of the library (src/instance/remote_api.h: the
 * watches, wds, limits and sources) whose events go into a run_queue
 * (rqueue.h) that the traced programs read through a pipe.  They are found
 * by that pipe's inode number, which is what /proc/PID/fd/N shows for the
 * program's descriptor, whatever process or number holds it.
 *
 * LIFETIME.  An instance lives while some traced process holds its pipe's
 * read end (dup, fork and exec share it, as an inotify file), or a read is
 * parked on it.  We learn of the last close from inotify itself: a watch
 * on the pipe's inode counts IN_OPEN and IN_CLOSE_NOWRITE of its open file
 * descriptions (ours excluded), and the description the program got is
 * closed when that count falls to zero.  References: the table's, one per
 * lookup in progress.
 *
 * HANDING OVER.  A call that gives the program a description (init1, dup)
 * holds its own descriptor of it until just after the answer, so a close
 * the program makes in that window is not the last one: the close event
 * comes when ours goes.  Such calls are counted (ri_hand_over_begin/end),
 * and the EMFILE check waits for them before it reads the close events.
 *
 * LOCKS: table lock (leaf, the list and the counts) ; ri->read_lock
 * serialises the readers of one instance (peek..commit) and guards the
 * parked list; it is taken before any library or queue lock.
 */
#ifndef UIN_RUN_INSTANCES_H
#define UIN_RUN_INSTANCES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "instance/remote_api.h"
#include "engine/lock.h"
#include "run/rqueue.h"

struct run_parked; /* reads.c */

struct run_inst {
	struct run_inst *next;      /* [table lock] */
	atomic_int refs;
	ino_t ino;                  /* the pipe's; constant */
	struct run_queue *q;        /* constant */
	struct uin_instance *ui;    /* constant */
	struct uin_instance_sink sink;
	int close_wd;               /* [table lock] watch on the pipe */
	int opens;                  /* [table lock] descriptions but ours */
	bool closed;                /* [table lock] the program let go */
	uin_mutex_t read_lock;
	struct run_parked *parked;  /* [read_lock] FIFO of blocked reads */
	struct run_parked **parked_tail;
	bool waker_in;              /* [read_lock] rfd/wfd in the waker */
	unsigned long id;           /* for -v lines */
};

/* Start: the close-detection inotify fd (read by the waker). */
int ri_init(void);
int ri_close_fd(void);
/* Handle what the close-detection fd holds (waker thread). */
void ri_handle_close_events(void);

/* A new instance: *user_fd to install in the program (then close ours). */
int ri_create(bool nonblock, struct run_inst **out, int *user_fd);
/* The instance behind a pipe inode, referenced; NULL if none. */
struct run_inst *ri_find(ino_t ino);
void ri_get(struct run_inst *ri);
void ri_put(struct run_inst *ri);
/* The program never got it (installation failed): end it now. */
void ri_abandon(struct run_inst *ri);
/* Called by reads.c when the last parked read of a closed one is gone. */
void ri_maybe_end(struct run_inst *ri);
/* Around a call that holds a descriptor of a description the program has
 * (from before the answer until ours is closed). */
void ri_hand_over_begin(void);
void ri_hand_over_end(void);
/* Instances alive (for -v and tests). */
unsigned ri_count(void);

#endif
