/*
 * bench/result.h - the one line every benchmark prints per figure, for
 * bench/run.sh's table:
 *
 *   RESULT bench|measurement|ours|peer|ratio
 *
 * ours and peer are plain numbers in the unit the measurement names (peer
 * is "-" when the peer was not measured), ratio is ours / peer ("-" then
 * too).  The measurement says what the peer is ("vs kernel", "vs plain").
 * No '|' in the text.  Each bench keeps its own human-readable lines.
 */
#ifndef UIN_BENCH_RESULT_H
#define UIN_BENCH_RESULT_H

#include <math.h>
#include <stdio.h>

static inline void bench_result(const char *bench, const char *what,
				double ours, double peer)
{
	if (isnan(peer))
		printf("RESULT %s|%s|%.6g|-|-\n", bench, what, ours);
	else if (peer == 0)
		printf("RESULT %s|%s|%.6g|%.6g|-\n", bench, what, ours, peer);
	else
		printf("RESULT %s|%s|%.6g|%.6g|%.3f\n", bench, what, ours, peer,
		       ours / peer);
}

#endif
