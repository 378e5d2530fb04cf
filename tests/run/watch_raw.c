/*
 * tests/run/watch_raw.c - a minimal inotify watcher with nothing but
 * <sys/inotify.h>, built statically with glibc and with musl (no dynamic
 * linker: LD_PRELOAD cannot reach it; uinotify-run can).
 *
 *   watch_raw DIR
 *
 * Watches DIR for creates, modifies, CLOSE_WRITE, both halves of a move
 * and deletes; prints "ready" once the watch is there, then one line per
 * record, "<wd> <mask as 0x%x> <cookie != 0> <name>" (no name: no space),
 * each flushed.  test_run_programs.c reads these lines.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536] __attribute__((aligned(8)));
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0) {
		perror("inotify_init1");
		return 1;
	}
	uint32_t mask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE |
			IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE;
	if (inotify_add_watch(fd, argv[1], mask) < 0) {
		perror("inotify_add_watch");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("read");
			return 1;
		}
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e =
				(const struct inotify_event *)(buf + off);
			printf("%d 0x%x %d%s%.*s\n", e->wd, (unsigned)e->mask,
			       e->cookie != 0, e->len ? " " : "",
			       (int)strnlen(e->name, e->len), e->name);
			fflush(stdout);
			off += (ssize_t)sizeof *e + e->len;
		}
	}
}
