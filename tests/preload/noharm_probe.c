/*
 * tests/preload/noharm_probe.c - what a program that never watches would
 * notice of the drop-in library or of uinotify-run: its descriptors, its
 * threads, and whether threads with small stacks start.  test_preload_noharm
 * (and the uinotify-run tests) run it with and without uinotify and compare.
 *
 *   noharm_probe [--watch DIR]
 *
 * Prints the number of open descriptors and of threads, then starts threads
 * with 16 KiB and PTHREAD_STACK_MIN stacks (glibc carves static TLS out of
 * each thread's stack: a library with a large TLS block makes them fail with
 * EINVAL).  With --watch, it then makes one inotify call and starts the small
 * threads again: a library may start its own thread only from that call on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* Entries of a /proc directory, not counting the one a DIR of fd holds. */
static int count_entries(const char *path, int own)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - own;
}

static void *nothing(void *arg)
{
	return arg;
}

static void small_threads(const char *when)
{
	size_t sizes[] = {16384, PTHREAD_STACK_MIN};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		int r = pthread_attr_setstacksize(&a, sizes[i]);
		pthread_t t;
		if (r == 0)
			r = pthread_create(&t, &a, nothing, NULL);
		if (r == 0)
			pthread_join(t, NULL);
		printf("%s: thread with a %zu-byte stack: %s\n", when, sizes[i],
		       r ? strerror(r) : "ok");
		pthread_attr_destroy(&a);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("fds %d\n", count_entries("/proc/self/fd", 1));
	printf("threads %d\n", count_entries("/proc/self/task", 0));
	small_threads("before");
	if (argc == 3 && !strcmp(argv[1], "--watch")) {
		int fd = inotify_init1(IN_CLOEXEC);
		int wd = inotify_add_watch(fd, argv[2], IN_CREATE);
		printf("watch: fd %s, wd %d\n", fd >= 0 ? "ok" : "failed", wd);
		small_threads("after");
		close(fd);
	}
	return 0;
}
