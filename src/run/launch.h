/*
 * src/run/launch.h - starting COMMAND under the supervisor (launch.c).
 */
#ifndef UIN_RUN_LAUNCH_H
#define UIN_RUN_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_launch_opts {
	/* Runs in the supervisor before it serves: the library's settings
	 * (source, interval, limits).  0, or -errno with a message in why. */
	int (*setup)(char *why, size_t why_len);
	/* The same settings as text, for the re-executed supervisor
	 * (main.c writes and parses it). */
	const char *settings;
};

/* Whether this process is already under a supervisor's filter. */
bool run_supervised(void);

/* The supervisor's side, in its own process: serve, then exit. */
_Noreturn void run_supervise(int sock, pid_t command,
			     const struct run_launch_opts *opts);

/* Start the supervisor, install the filters, exec argv; never returns
 * (exit 125: uinotify-run itself failed; 126/127: exec failed). */
_Noreturn void run_launch(char *const argv[],
			  const struct run_launch_opts *opts);

#endif
