/*
 * tests/install/consumer.c - a C program built against an installed
 * uinotify (tests/install/run.sh), as a user builds one: the public headers
 * only, -std=c11 -pedantic.  argv[1]: the version it must find at run time.
 * It drives the engine API on a superblock of its own and the inotify API
 * on a real directory.  Exit 0 and "ok" on stdout, else 1.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, S_IFDIR */

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>
#include <uinotify/sources.h>
#include <uinotify/version.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,        \
				__LINE__, #cond);                            \
			failures++;                                          \
		}                                                            \
	} while (0)

static int events;

static void on_event(struct uinotify_watch *w, int32_t wd, uint32_t mask,
		     uint32_t cookie, const char *name,
		     struct uinotify_inode *name_inode)
{
	(void)wd, (void)cookie, (void)name_inode;
	if (mask & IN_CREATE)
		events += name && strcmp(name, "f") == 0;
	if (mask & IN_IGNORED) {
		events += 10;
		uinotify_watch_put(w);
	}
}

static void on_destroy(struct uinotify_watch *w)
{
	free(w);
}

static void engine(void)
{
	static const struct uinotify_ops ops = {on_event, on_destroy, NULL};
	struct uinotify_sb *sb;
	struct uinotify_handle *h;
	struct uinotify_inode *dir;
	struct uinotify_key key = {7, 7, 0, S_IFDIR, 0};
	CHECK(uinotify_sb_create(NULL, NULL, &sb) == 0);
	CHECK(uinotify_inode_get(sb, &key, &dir) == 1);
	CHECK(uinotify_handle_create(&ops, NULL, &h) == 0);
	struct uinotify_watch *w = malloc(sizeof *w);
	CHECK(w != NULL);
	uinotify_watch_init(w);
	int32_t wd = uinotify_watch_add(h, w, dir, IN_CREATE);
	CHECK(wd == 1);
	uinotify_hook_dirent(dir, "f", NULL, IN_CREATE, 0);
	CHECK(uinotify_watch_rm_wd(h, wd) == 0);
	CHECK(events == 11);
	uinotify_handle_destroy(h);
	uinotify_inode_put(dir);
	uinotify_sb_destroy(sb);
}

static void instance(void)
{
	char dir[] = "/tmp/uinotify-consumer-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(fd >= 0);
	int wd = uinotify_add_watch(fd, dir, IN_CREATE);
	CHECK(wd == 1);
	char sub[sizeof dir + 8];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	CHECK(mkdir(sub, 0755) == 0);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK(poll(&p, 1, 10000) == 1);
	union {
		struct inotify_event ev;
		char bytes[4096];
	} buf;
	ssize_t n = uinotify_read(fd, &buf, sizeof buf);
	CHECK(n >= (ssize_t)sizeof buf.ev);
	if (n >= (ssize_t)sizeof buf.ev) {
		CHECK(buf.ev.wd == wd);
		CHECK(buf.ev.mask == (IN_CREATE | IN_ISDIR));
		CHECK(buf.ev.len > 0 && strcmp(buf.ev.name, "sub") == 0);
	}
	CHECK(uinotify_close(fd) == 0);
	rmdir(sub);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	CHECK(strcmp(uinotify_version(), UINOTIFY_VERSION_STRING) == 0);
	if (argc > 1)
		CHECK(strcmp(uinotify_version(), argv[1]) == 0);
	engine();
	instance();
	if (failures)
		return 1;
	printf("ok C %s\n", uinotify_version());
	return 0;
}
