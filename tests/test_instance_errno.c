/*
 * tests/test_instance_errno.c - every errno of init1, add_watch and
 * rm_watch, each case run side by side on the kernel's inotify and on
 * ours: the kernel is the oracle.  Permission cases run as uid 65534 in a
 * forked child (root only).
 */
#include "test_instance_util.h"

#include <grp.h>
#include <limits.h>
#include <sys/wait.h>

/* One kernel instance and one of ours with the same history. */
struct pair {
	int k, u;
};

static void pair_open(struct pair *p)
{
	p->k = (int)CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	p->u = inst_new(IN_NONBLOCK | IN_CLOEXEC);
}

static void pair_close(struct pair *p)
{
	close(p->k);
	CHECK_OK(uinotify_close(p->u));
}

/* Same return value and, on failure, same errno. */
#define SAME(kcall, ucall)                                                   \
	do {                                                                 \
		errno = 0;                                                   \
		long long kr_ = (long long)(kcall);                          \
		int ke_ = kr_ < 0 ? errno : 0;                               \
		errno = 0;                                                   \
		long long ur_ = (long long)(ucall);                          \
		int ue_ = ur_ < 0 ? errno : 0;                               \
		if (kr_ != ur_ || ke_ != ue_)                                \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s: kernel %lld/%s, ours %lld/%s",    \
				      #ucall, kr_, strerror(ke_), ur_,       \
				      strerror(ue_));                        \
	} while (0)

#define ADD_SAME(p, fdk, fdu, path, mask)                                    \
	SAME(inotify_add_watch((fdk), (path), (mask)),                       \
	     uinotify_add_watch((fdu), (path), (mask)))

TEST(init1_flags)
{
	static const int bad[] = {1, O_RDWR, O_APPEND, IN_CLOEXEC | 4,
				  IN_NONBLOCK | O_SYNC, -1, INT_MIN};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_ERRNO(inotify_init1(bad[i]), EINVAL);
		CHECK_ERRNO(uinotify_init1(bad[i]), EINVAL);
	}
	static const int good[] = {0, IN_CLOEXEC, IN_NONBLOCK,
				   IN_CLOEXEC | IN_NONBLOCK};
	for (size_t i = 0; i < 4; i++) {
		int k = (int)CHECK_OK(inotify_init1(good[i]));
		int u = (int)CHECK_OK(uinotify_init1(good[i]));
		CHECK_EQ(fcntl(u, F_GETFD), fcntl(k, F_GETFD));
		CHECK_EQ(fcntl(u, F_GETFL) & (O_NONBLOCK | O_ACCMODE),
			 fcntl(k, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
		close(k);
		CHECK_OK(uinotify_close(u));
	}
	int u = (int)CHECK_OK(uinotify_init());
	CHECK_EQ(fcntl(u, F_GETFD), 0);
	CHECK_OK(uinotify_close(u));
}

TEST(add_watch_mask_checks)
{
	struct pair p;
	pair_open(&p);
	const char *f = make_file("f");
	static const uint32_t bad[] = {0, 0x1000, 0x08000000, 0x00100000,
				       0x00000000 | 0x20000000};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ADD_SAME(p, p.k, p.u, f, bad[i]);
	/* Flag-only masks are accepted. */
	static const uint32_t flags[] = {IN_ISDIR, IN_DONT_FOLLOW, IN_IGNORED,
					 IN_UNMOUNT, IN_Q_OVERFLOW, IN_ONESHOT,
					 IN_EXCL_UNLINK, IN_MASK_ADD};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		ADD_SAME(p, p.k, p.u, f, flags[i]);
	ADD_SAME(p, p.k, p.u, f, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE);
	ADD_SAME(p, p.k, p.u, f, IN_MODIFY | IN_MASK_CREATE);
	pair_close(&p);
}

TEST(add_watch_fd_checks_in_order)
{
	struct pair p;
	pair_open(&p);
	const char *f = make_file("f");
	int reg = (int)CHECK_OK(open(f, O_RDONLY | O_CLOEXEC));
	int opath = (int)CHECK_OK(open(f, O_PATH | O_CLOEXEC));
	int pp[2];
	CHECK_OK(pipe2(pp, O_CLOEXEC));
	static const int bad_fds[] = {-1, 9999, INT_MAX};
	for (size_t i = 0; i < 3; i++) {
		ADD_SAME(p, bad_fds[i], bad_fds[i], f, IN_MODIFY);
		/* mask before fd */
		ADD_SAME(p, bad_fds[i], bad_fds[i], f, 0x1000);
		/* fd before MASK_ADD|MASK_CREATE */
		ADD_SAME(p, bad_fds[i], bad_fds[i], f,
			 IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE);
		/* fd before path */
		ADD_SAME(p, bad_fds[i], bad_fds[i], NULL, IN_MODIFY);
	}
	const int not_inst[] = {reg, pp[0], pp[1], opath};
	for (size_t i = 0; i < 4; i++) {
		ADD_SAME(p, not_inst[i], not_inst[i], f, IN_MODIFY);
		ADD_SAME(p, not_inst[i], not_inst[i], NULL, IN_MODIFY);
		ADD_SAME(p, not_inst[i], not_inst[i], f,
			 IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE);
	}
	/* A kernel inotify fd is no instance of ours, and the reverse. */
	CHECK_ERRNO(uinotify_add_watch(p.k, f, IN_MODIFY), EINVAL);
	CHECK_ERRNO(inotify_add_watch(p.u, f, IN_MODIFY), EINVAL);
	close(reg);
	close(opath);
	close(pp[0]);
	close(pp[1]);
	pair_close(&p);
}

TEST(add_watch_path_lookup)
{
	struct pair p;
	pair_open(&p);
	const char *f = make_file("f");
	const char *d = make_dir("d");
	const char *ld = uin_test_path("ld"), *lf = uin_test_path("lf");
	const char *dangling = uin_test_path("dangling");
	const char *loop = uin_test_path("loop");
	CHECK_OK(symlink(d, ld));
	CHECK_OK(symlink(f, lf));
	CHECK_OK(symlink(uin_test_path("nowhere"), dangling));
	CHECK_OK(symlink(loop, loop));
	char under_file[600], long_comp[600], long_path[PATH_MAX + 100];
	snprintf(under_file, sizeof under_file, "%s/x", f);
	snprintf(long_comp, sizeof long_comp, "%s/%0256d", d, 0);
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = 0;
	char f_slash[600];
	snprintf(f_slash, sizeof f_slash, "%s/", f);

	const char *paths[] = {NULL,     "",        uin_test_path("missing"),
			       f,        d,         ld,
			       lf,       dangling,  loop,
			       under_file, long_comp, long_path,
			       f_slash,  "/proc/self/fd/0"};
	static const uint32_t masks[] = {
		IN_MODIFY,
		IN_MODIFY | IN_ONLYDIR,
		IN_MODIFY | IN_DONT_FOLLOW,
		IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW,
		IN_MODIFY | IN_MASK_CREATE,
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++)
			ADD_SAME(p, p.k, p.u, paths[i], masks[m]);
	pair_close(&p);
}

TEST(rm_watch_errors)
{
	struct pair p, q;
	pair_open(&p);
	pair_open(&q);
	const char *f = make_file("f");
	const char *g = make_file("g");
	ADD_SAME(p, p.k, p.u, f, IN_MODIFY);
	ADD_SAME(q, q.k, q.u, f, IN_MODIFY);
	ADD_SAME(q, q.k, q.u, g, IN_MODIFY); /* wd 2 exists only in q */
	int reg = (int)CHECK_OK(open(f, O_RDONLY | O_CLOEXEC));
	SAME(inotify_rm_watch(-1, 1), uinotify_rm_watch(-1, 1));
	SAME(inotify_rm_watch(9999, 1), uinotify_rm_watch(9999, 1));
	SAME(inotify_rm_watch(reg, 1), uinotify_rm_watch(reg, 1));
	static const int wds[] = {0, -1, 2, 12345, INT_MIN, INT_MAX};
	for (size_t i = 0; i < sizeof wds / sizeof wds[0]; i++)
		SAME(inotify_rm_watch(p.k, wds[i]),
		     uinotify_rm_watch(p.u, wds[i]));
	SAME(inotify_rm_watch(p.k, 1), uinotify_rm_watch(p.u, 1));
	SAME(inotify_rm_watch(p.k, 1), uinotify_rm_watch(p.u, 1));
	close(reg);
	pair_close(&p);
	pair_close(&q);
}

TEST(ioctl_and_close_on_non_instances_forward)
{
	int pp[2];
	CHECK_OK(pipe2(pp, O_CLOEXEC));
	int fd = inst_new(0); /* so that lookups really run */
	CHECK_EQ(write(pp[1], "abc", 3), 3);
	int n = -1;
	CHECK_OK(uinotify_ioctl(pp[0], FIONREAD, &n));
	CHECK_EQ(n, 3);
	char b[8];
	CHECK_EQ(uinotify_read(pp[0], b, sizeof b), 3);
	CHECK_ERRNO(uinotify_ioctl(-1, FIONREAD, &n), EBADF);
	CHECK_ERRNO(uinotify_read(-1, b, 1), EBADF);
	CHECK(!uinotify_is_instance(pp[0]));
	CHECK(!uinotify_is_instance(-1));
	CHECK(uinotify_is_instance(fd));
	CHECK_OK(uinotify_close(pp[0]));
	CHECK_OK(uinotify_close(pp[1]));
	CHECK_ERRNO(uinotify_close(pp[1]), EBADF);
	CHECK_OK(uinotify_close(fd));
	CHECK(!uinotify_is_instance(fd));
	CHECK_ERRNO(uinotify_add_watch(fd, "/", IN_OPEN), EBADF);
}

/* The calls that are not inotify's answer as the engine does: a negative
 * errno, errno itself untouched (uinotify/inotify.h). */
TEST(set_source_errors)
{
	int fd = inst_new(0);
	int reg = (int)CHECK_OK(open(make_file("f"), O_RDONLY | O_CLOEXEC));
	errno = 1234;
	CHECK_EQ(uinotify_set_source(fd, (enum uinotify_source)99), -EINVAL);
	CHECK_EQ(uinotify_set_limit((enum uinotify_limit)99, 1), -EINVAL);
	CHECK_EQ(uinotify_get_limit((enum uinotify_limit)99), -EINVAL);
	CHECK_EQ(uinotify_set_scan_interval(-5), -EINVAL);
	CHECK_EQ(uinotify_set_recovery(-1, 1), -EBADF);
	CHECK_EQ(errno, 1234);
	CHECK_EQ(uinotify_set_source(-1, UINOTIFY_SOURCE_NONE), -EBADF);
	CHECK_EQ(uinotify_set_source(reg, UINOTIFY_SOURCE_NONE), -EINVAL);
	CHECK_EQ(uinotify_set_source(fd, UINOTIFY_SOURCE_NONE), 0);
	CHECK_EQ(uinotify_set_default_source((enum uinotify_source)-1), -EINVAL);
	close(reg);
	CHECK_OK(uinotify_close(fd));
}

/* Permissions: as uid/gid 65534 in a child, both implementations. */

static int run_as_nobody(void (*fn)(void))
{
	if (geteuid() != 0)
		SKIP("needs root to switch to uid 65534");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setgroups(0, NULL) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		fn();
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static const char *perm_paths[8];
static const uint32_t perm_masks[] = {IN_MODIFY, IN_MODIFY | IN_DONT_FOLLOW,
				      IN_MODIFY | IN_ONLYDIR};

static void nobody_checks(void)
{
	struct pair p;
	pair_open(&p);
	for (size_t i = 0; perm_paths[i]; i++)
		for (size_t m = 0; m < 3; m++)
			ADD_SAME(p, p.k, p.u, perm_paths[i], perm_masks[m]);
	/* Not vacuous: search and read permission both refused. */
	for (size_t i = 0; i < 3; i++) /* closed/f, f0000, f0222 */
		CHECK_ERRNO(uinotify_add_watch(p.u, perm_paths[i], IN_MODIFY),
			    EACCES);
	CHECK_ERRNO(uinotify_add_watch(p.u, perm_paths[4], IN_MODIFY),
		    EACCES); /* d0111 */
	CHECK(uinotify_add_watch(p.u, perm_paths[3], IN_MODIFY) > 0);
	pair_close(&p);
	/* The child's own counts must be clean too. */
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	if (c.watches || c.inodes || c.instances || c.events || c.sbs)
		_exit(4);
}

TEST(permissions_as_nobody)
{
	/* nobody must be able to reach the test dir (mkdtemp gives 0700). */
	char parent[512];
	snprintf(parent, sizeof parent, "%s", uin_test_tmpdir());
	*strrchr(parent, '/') = 0;
	CHECK_OK(chmod(parent, 0755));
	CHECK_OK(chmod(uin_test_tmpdir(), 0755));
	const char *closed = make_dir("closed");
	const char *inside = make_file("closed/f");
	const char *f0000 = make_file("f0000");
	const char *f0222 = make_file("f0222");
	const char *f0444 = make_file("f0444");
	const char *d0111 = make_dir("d0111");
	const char *d0555 = make_dir("d0555");
	const char *lnk = uin_test_path("link0000");
	CHECK_OK(symlink(f0000, lnk));
	CHECK_OK(chmod(closed, 0700));
	CHECK_OK(chmod(f0000, 0000));
	CHECK_OK(chmod(f0222, 0222));
	CHECK_OK(chmod(f0444, 0444));
	CHECK_OK(chmod(d0111, 0111));
	CHECK_OK(chmod(d0555, 0555));
	const char *list[] = {inside, f0000, f0222, f0444, d0111, d0555, lnk,
			      NULL};
	memcpy(perm_paths, list, sizeof list);
	CHECK_EQ(run_as_nobody(nobody_checks), 0);
}
