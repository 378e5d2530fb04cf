/*
 * tests/test_instance_limits.c - max_user_instances (EMFILE),
 * max_user_watches (ENOSPC, counted per process across instances, burning
 * a wd as the kernel does), the defaults from the environment and /proc.
 */
#include "test_instance_util.h"

#include "sources/source.h"

TEST(emfile_at_max_user_instances)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_INSTANCES, 2), 0);
	int a = inst_new(0), b = inst_new(0);
	CHECK_ERRNO(uinotify_init1(0), EMFILE);
	CHECK_ERRNO(uinotify_init(), EMFILE);
	CHECK_OK(uinotify_close(a));
	int c = inst_new(0);
	CHECK_OK(uinotify_close(b));
	CHECK_OK(uinotify_close(c));
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_INSTANCES, 0), 0);
	CHECK_ERRNO(uinotify_init1(0), EMFILE);
}

TEST(enospc_shared_across_instances_updates_free)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_WATCHES, 3), 0);
	const char *f[5];
	char name[8];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "w%d", i);
		f[i] = make_file(name);
	}
	int a = inst_new(0), b = inst_new(0);
	CHECK_EQ(uinotify_add_watch(a, f[0], IN_MODIFY), 1);
	CHECK_EQ(uinotify_add_watch(a, f[1], IN_MODIFY), 2);
	CHECK_EQ(uinotify_add_watch(b, f[0], IN_MODIFY), 1);
	CHECK_ERRNO(uinotify_add_watch(b, f[1], IN_MODIFY), ENOSPC);
	CHECK_ERRNO(uinotify_add_watch(a, f[2], IN_MODIFY), ENOSPC);
	/* Updating an existing watch is not a new one. */
	CHECK_EQ(uinotify_add_watch(a, f[0], IN_ATTRIB | IN_MASK_ADD), 1);
	CHECK_OK(uinotify_close(b)); /* frees its watch */
	CHECK_EQ(uinotify_add_watch(a, f[3], IN_MODIFY), 4);
	CHECK_OK(uinotify_close(a));
}

/* The kernel allocates the wd before it charges the watch: observed on
 * 6.18 with user.max_inotify_watches = 3 in a user namespace: wds 1, 2,
 * 3, ENOSPC, ENOSPC, rm 1, then the next add gets 6. */
TEST(enospc_burns_a_wd_like_the_kernel)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_WATCHES, 3), 0);
	const char *f[5];
	char name[8];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "w%d", i);
		f[i] = make_file(name);
	}
	int fd = inst_new(0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(uinotify_add_watch(fd, f[i], IN_MODIFY), i + 1);
	CHECK_ERRNO(uinotify_add_watch(fd, f[3], IN_MODIFY), ENOSPC);
	CHECK_ERRNO(uinotify_add_watch(fd, f[4], IN_MODIFY), ENOSPC);
	CHECK_OK(uinotify_rm_watch(fd, 1));
	CHECK_EQ(uinotify_add_watch(fd, f[4], IN_MODIFY), 6);
	CHECK_OK(uinotify_close(fd));
}

TEST(watch_counted_until_final_put)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_WATCHES, 1), 0);
	const char *f = make_file("f"), *g = make_file("g");
	int fd = inst_new(IN_NONBLOCK);
	int wd = (int)CHECK_OK(uinotify_add_watch(fd, f, IN_MODIFY));
	struct uinotify_inode *in = none_inode(f);
	/* Pin the watch: its final put comes after rm_watch. */
	struct uin_instance *inst;
	CHECK_EQ(uin_instance_get(fd, &inst), 0);
	struct uinotify_watch *w;
	CHECK_EQ(uinotify_watch_find(inst->handle, in, &w), wd);
	CHECK_OK(uinotify_rm_watch(fd, wd));
	CHECK_ERRNO(uinotify_add_watch(fd, g, IN_MODIFY), ENOSPC);
	uinotify_watch_put(w);
	uin_instance_put_user(inst);
	CHECK_EQ(uinotify_add_watch(fd, g, IN_MODIFY), wd + 2);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(set_and_get_limit)
{
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_WATCHES, -1), -EINVAL);
	CHECK_EQ(uinotify_set_limit((enum uinotify_limit)3, 1), -EINVAL);
	CHECK_EQ(uinotify_set_limit((enum uinotify_limit)-1, 1), -EINVAL);
	CHECK_EQ(uinotify_get_limit((enum uinotify_limit)3), -EINVAL);
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 0), 0);
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_QUEUED_EVENTS), 0);
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_USER_INSTANCES, 7), 0);
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_USER_INSTANCES), 7);
}

static int proc_value(const char *name, int fallback)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/inotify/%s", name);
	FILE *f = fopen(path, "r");
	int v = fallback;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = fallback;
		fclose(f);
	}
	return v;
}

/* Each test runs in a fresh child, so the defaults are read here. */
TEST(defaults_from_proc)
{
	unsetenv("UINOTIFY_MAX_USER_INSTANCES");
	unsetenv("UINOTIFY_MAX_USER_WATCHES");
	unsetenv("UINOTIFY_MAX_QUEUED_EVENTS");
	unsetenv("UINOTIFY_SOURCE");
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_USER_INSTANCES),
		 proc_value("max_user_instances", 128));
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_USER_WATCHES),
		 proc_value("max_user_watches", 8192));
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_QUEUED_EVENTS),
		 proc_value("max_queued_events", 16384));
	CHECK_EQ(uinotify_default_source(), UINOTIFY_SOURCE_AUTO);
}

TEST(defaults_from_environment)
{
	setenv("UINOTIFY_MAX_USER_INSTANCES", "5", 1);
	setenv("UINOTIFY_MAX_USER_WATCHES", "bogus", 1); /* ignored */
	setenv("UINOTIFY_MAX_QUEUED_EVENTS", "3", 1);
	setenv("UINOTIFY_SOURCE", "none", 1);
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_USER_INSTANCES), 5);
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_USER_WATCHES),
		 proc_value("max_user_watches", 8192));
	CHECK_EQ(uinotify_get_limit(UINOTIFY_MAX_QUEUED_EVENTS), 3);
	CHECK_EQ(uinotify_default_source(), UINOTIFY_SOURCE_NONE);
	/* and the queue limit reaches new instances */
	const char *d = make_dir("d");
	int fd = (int)CHECK_OK(uinotify_init1(IN_NONBLOCK));
	CHECK_OK(uinotify_add_watch(fd, d, IN_CREATE));
	struct uinotify_inode *in = none_inode(d);
	for (int i = 0; i < 6; i++) {
		char name[8];
		snprintf(name, sizeof name, "%d", i);
		uinotify_hook_dirent(in, name, NULL, IN_CREATE, 0);
	}
	CHECK_EQ(fionread(fd), 3 * 32 + 16);
	uinotify_inode_put(in);
	CHECK_OK(uinotify_close(fd));
}

TEST(source_names)
{
	static const char *names[] = {"auto", "kernel", "scan", "none"};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(uin_source_from_name(names[i]), i);
		CHECK_STR(uin_source_name((enum uinotify_source)i), names[i]);
	}
	CHECK_EQ(uin_source_from_name("bogus"), -1);
	CHECK_EQ(uin_source_from_name(NULL), -1);
	CHECK(uin_source_name((enum uinotify_source)4) == NULL);
}
