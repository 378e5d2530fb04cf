/*
 * bench/bench.h - what the benchmarks share: the clock, the quantile of a
 * set of samples, and the one line every benchmark prints per figure, for
 * bench/run.sh's table:
 *
 *   RESULT bench|measurement|ours|peer|ratio
 *
 * ours and peer are plain numbers in the unit the measurement names (peer
 * is "-" when the peer was not measured), ratio is ours / peer ("-" then
 * too).  The measurement says what the peer is ("vs kernel", "vs plain").
 * No '|' in the text.  Each bench keeps its own human-readable lines.
 */
#ifndef UIN_BENCH_H
#define UIN_BENCH_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC, in ns. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile of v[0..n), nearest rank (sorts v). */
static inline double bench_pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return v[(int)(p * (n - 1) + 0.5)];
}

/*
 * One figure for bench/run.sh's table: RESULT bench|what|ours|peer|ratio
 * and, with bench_result_goal, |goal: the ratio an issue asks for, as
 * "<= 1.02" or ">= 1" (run.sh says whether it is met).
 */
static inline void bench_result_goal(const char *bench, const char *what,
				     double ours, double peer, const char *goal)
{
	printf("RESULT %s|%s|%.6g|", bench, what, ours);
	if (isnan(peer))
		printf("-|-");
	else if (peer == 0)
		printf("%.6g|-", peer);
	else
		printf("%.6g|%.3f", peer, ours / peer);
	printf("|%s\n", goal ? goal : "");
}

static inline void bench_result(const char *bench, const char *what,
				double ours, double peer)
{
	bench_result_goal(bench, what, ours, peer, NULL);
}

#endif
