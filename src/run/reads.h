/*
 * src/run/reads.h - reads of instances, blocked reads, the waker thread
 * (reads.c says how).
 */
#ifndef UIN_RUN_READS_H
#define UIN_RUN_READS_H

struct run_inst;

/* A queue's backlog began: push it into the pipe when room appears.
 * May run under engine locks (one epoll_ctl). */
void run_waker_backlog(struct run_inst *ri);

#endif
