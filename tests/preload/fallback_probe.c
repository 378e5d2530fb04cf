/*
 * tests/preload/fallback_probe.c - the smallest inotify user: one instance,
 * one watch, one change, one read.  test_preload_compat runs it where no
 * thread can be created, with and without the preload library; both runs
 * must print the same.  It creates no thread itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	char path[4096], buf[4096] __attribute__((aligned(8)));
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0) {
		printf("inotify_init1: %s\n", strerror(errno));
		return 1;
	}
	int wd = inotify_add_watch(fd, argv[1], IN_CREATE);
	printf("wd = %d%s%s\n", wd, wd < 0 ? " " : "",
	       wd < 0 ? strerror(errno) : "");
	snprintf(path, sizeof path, "%s/x", argv[1]);
	mkdir(path, 0755);
	ssize_t n = read(fd, buf, sizeof buf);
	printf("read = %zd\n", n);
	if (n >= (ssize_t)sizeof(struct inotify_event)) {
		struct inotify_event *e = (struct inotify_event *)buf;
		printf("wd=%d mask=%#x len=%u name=%s\n", e->wd, e->mask,
		       e->len, e->len ? e->name : "");
	}
	printf("probe: %s\n", n > 0 ? "ok" : "no event");
	return close(fd) == 0 ? 0 : 1;
}
