/*
 * tests/preload/fault_probe.c - a plain <sys/inotify.h> program for
 * test_preload_faults, which runs it under the drop-in's test build with
 * one of the drop-in's system calls failing: one instance and a dup of it,
 * one watch, a change read, a fork whose child reads a change of its own,
 * the watch removed, the instance closed.  It judges what it gets by
 * inotify(7): a call that fails gives an errno Linux gives for it, and a
 * watch that was added reports the change, or its instance IN_Q_OVERFLOW,
 * or the watch IN_IGNORED (never nothing).  "bad: ..." and exit 1 if not;
 * "done" and exit 0 if so.  A deadline of its own makes a hang a failure
 * (SIGALRM).
 *
 *   fault_probe DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

static const char *who = "parent";

__attribute__((noreturn, format(printf, 1, 2))) static void bad(
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("bad (%s): ", who);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	_exit(1);
}

static bool one_of(int e, const int *set)
{
	for (; *set; set++)
		if (*set == e)
			return true;
	return false;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read fd until name's IN_CREATE on wd, an overflow or wd's IN_IGNORED;
 * which one, or "nothing" after the deadline. */
static const char *expect(int fd, int wd, const char *name)
{
	static char buf[65536] __attribute__((aligned(8)));
	long end = now_ms() + 20000;
	while (now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			bad("poll: %s", strerror(errno));
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			bad("read: %s", strerror(errno));
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (void *)(buf + off);
			off += (ssize_t)(sizeof *e + e->len);
			if (e->mask & IN_Q_OVERFLOW)
				return "overflow";
			if (e->wd == wd && (e->mask & IN_IGNORED))
				return "ignored";
			if (e->wd == wd && (e->mask & IN_CREATE) && e->len &&
			    !strcmp(e->name, name))
				return "created";
		}
	}
	return "nothing";
}

static void touch(const char *rel)
{
	int fd = open(path(rel), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
		      0644);
	if (fd < 0)
		bad("create %s: %s", rel, strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	dir = argv[1];
	alarm(60);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		static const int ok[] = {EMFILE, ENFILE, ENOMEM, 0};
		if (!one_of(errno, ok))
			bad("inotify_init1: %s", strerror(errno));
		printf("inotify_init1: %s\ndone\n", strerror(errno));
		return 0;
	}
	int fd2 = dup(fd);
	if (fd2 < 0)
		bad("dup: %s", strerror(errno));
	int wd = inotify_add_watch(fd, dir, IN_CREATE);
	if (wd < 0) {
		static const int ok[] = {ENOMEM, ENOSPC, 0};
		if (!one_of(errno, ok))
			bad("inotify_add_watch: %s", strerror(errno));
		printf("inotify_add_watch: %s\ndone\n", strerror(errno));
		return 0;
	}
	touch("a");
	const char *got = expect(fd, wd, "a");
	printf("a: %s\n", got);
	if (!strcmp(got, "nothing"))
		bad("no event for a");
	bool ignored = !strcmp(got, "ignored");

	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		bad("fork: %s", strerror(errno));
	if (pid == 0) {
		who = "child";
		alarm(60); /* not inherited */
		touch("c");
		/* Through the dup: both numbers are the child's instance. */
		got = ignored ? "ignored" : expect(fd2, wd, "c");
		printf("c: %s\n", got);
		if (!strcmp(got, "nothing"))
			bad("no event for c");
		/* No rm_watch: with the kernel's instance (no threads) the
		 * watch is the parent's too. */
		if (close(fd2) < 0 || close(fd) < 0)
			bad("close: %s", strerror(errno));
		fflush(stdout);
		exit(0); /* exit: the drop-in writes its counts */
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		bad("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bad("the child: status %#x", status);
	int r = inotify_rm_watch(fd, wd);
	if (r < 0 && !(errno == EINVAL && ignored))
		bad("inotify_rm_watch: %s", strerror(errno));
	if (close(fd2) < 0 || close(fd) < 0)
		bad("close: %s", strerror(errno));
	printf("done\n");
	return 0;
}
