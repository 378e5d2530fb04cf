/*
 * tests/test_instance_faults.c - every system call of the library that can
 * fail (the injection points of src/engine/fault.h) fails in turn, with
 * each errno that call can give of EMFILE, ENOMEM, ENOSPC, EINTR, EIO and
 * EAGAIN, under a real scenario: two instances, three watches on one
 * directory (new, widened, changed), a file created, the events read, the
 * watches removed, the instances closed.  Each run is a child of its own
 * with a deadline, so a crash or a hang is a failed run.  In every run:
 *   - a call that fails gives -1 and an errno inotify(7) documents for it
 *     (the injected one where that is one: inotify_init1's EMFILE and
 *     ENOMEM; a descriptor the library could not get for a watch is
 *     ENOSPC, as a resource the kernel failed to get);
 *   - a watch that was added reports the file's IN_CREATE, or its
 *     instance an IN_Q_OVERFLOW (nothing is lost without a word);
 *   - EINTR fails no call (Linux gives it to none of these), and loses
 *     nothing;
 *   - everything is released: engine objects and descriptors.
 * The scenario runs on a local directory (the kernel source), with the
 * scanner forced, and behind a bindfs mount (AUTO: the kernel and the
 * scanner) when bindfs is there.  The fork scenario (fork_points) watches
 * two directories, forks, and fails a call of the child's re-arm (at its
 * first call): a watch the child cannot make again ends there with
 * IN_IGNORED, counted as rearm_lost (docs/preload.md, "fork and exec");
 * the parent's watches are untouched.  Its second run does it without
 * /proc (the fdinfo open failing at every call: the watches are checked by
 * path instead).  every_point_walked checks that the runs of the others
 * fail every point compiled into the library at least once, and prints the
 * coverage.  The drop-in's own points (named preload.*: src/preload, and
 * src/instance/fdtable_preload.c, which only it calls) are walked by
 * test_preload_faults.
 */
#include "test_source_scan.h"

#include <dirent.h>
#include <stdarg.h>
#include <sys/mman.h>

#include <linux/openat2.h>

#include "instance/remote_api.h"
#include "sources/kernel.h"

#define MAX_POINTS 128

enum scen { SC_KERNEL, SC_SCAN, SC_REMOTE, SC_FORK, SC_NOPROC, SC_BINDFS,
	    SC_N };
static const char *const scen_name[SC_N] = {"kernel", "scan",   "remote",
					    "fork",   "noproc", "bindfs"};

struct shared {
	long calls[MAX_POINTS];
	long failed[MAX_POINTS];
	char msg[1024];
};
static struct shared *sh;

/* The errnos each kind of call can give, by the point's last part. */
struct kind {
	const char *suffix;
	int errs[5];
};
static const struct kind kinds[] = {
	{"pipe2", {EMFILE, ENOMEM, EINTR}},
	{"init1", {EMFILE, ENOMEM, EINTR}},
	{"epoll_create1", {EMFILE, ENOMEM, EINTR}},
	{"eventfd", {EMFILE, ENOMEM, EINTR}},
	{"timerfd_create", {EMFILE, ENOMEM, EINTR}},
	{"dup", {EMFILE, EINTR}},
	{"open_iofd", {EMFILE, ENOMEM, EINTR}},
	{"open", {EMFILE, ENOMEM, EINTR, EIO}},
	{"openat", {EMFILE, ENOMEM, EINTR, EIO}},
	{"openat2", {EMFILE, ENOMEM, EINTR, EIO}},
	{"fstat", {ENOMEM, EINTR, EIO}},
	{"statx", {ENOMEM, EINTR, EIO}},
	{"fstatfs", {ENOMEM, EINTR, EIO}},
	{"readlink", {ENOMEM, EINTR, EIO}},
	{"add_watch", {ENOSPC, ENOMEM, EINTR}},
	{"read", {EIO, ENOMEM, EINTR}},
	{"getdents", {EIO, ENOMEM, EINTR}},
	{"write", {EAGAIN, EINTR, EIO}},
	{"epoll_ctl", {ENOSPC, ENOMEM, EINTR}},
	{"epoll_ctl.add", {ENOSPC, ENOMEM, EINTR}},
	{"epoll_ctl.eventfd", {ENOSPC, ENOMEM, EINTR}},
};

static const struct kind *kind_of(const char *point)
{
	const struct kind *best = NULL;
	size_t pl = strlen(point);
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		size_t sl = strlen(kinds[i].suffix);
		if (sl < pl && point[pl - sl - 1] == '.' &&
		    !strcmp(point + pl - sl, kinds[i].suffix) &&
		    (!best || sl > strlen(best->suffix)))
			best = &kinds[i];
	}
	return best;
}

/* A run's failure: said in the shared page, the run ends. */
static const char *run_what;
__attribute__((format(printf, 1, 2), noreturn)) static void bad(
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(sh->msg, sizeof sh->msg, "%s: ", run_what);
	vsnprintf(sh->msg + n, sizeof sh->msg - (size_t)n, fmt, ap);
	va_end(ap);
	_exit(1);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool counts_zero(void)
{
	struct uinotify_debug_counts c;
	uinotify_debug_counts(&c);
	return !c.handles && !c.watches && !c.inodes && !c.sbs && !c.events &&
	       !c.instances;
}

struct watch {
	int fd, wd;
	bool ignored;
};

static bool has(const int *set, int e)
{
	for (; *set; set++)
		if (*set == e)
			return true;
	return false;
}

/* inotify_init1: EMFILE, ENFILE, ENOMEM; the injected one if so. */
static int init(int inj)
{
	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd >= 0)
		return fd;
	int e = errno;
	static const int ok[] = {EMFILE, ENFILE, ENOMEM, 0};
	if (!has(ok, e) || inj == EINTR)
		bad("inotify_init1: %s", strerror(e));
	if (has(ok, inj) && e != inj)
		bad("inotify_init1: %s, not %s", strerror(e), strerror(inj));
	return -1;
}

/* inotify_add_watch: what a fault can make of it. */
static int add(int fd, const char *path, uint32_t mask, int inj)
{
	int wd = uinotify_add_watch(fd, path, mask);
	if (wd >= 0)
		return wd;
	int e = errno;
	static const int ok[] = {ENOMEM, ENOSPC, EIO, 0};
	if (!has(ok, e) || inj == EINTR || (e == EIO && inj != EIO))
		bad("inotify_add_watch(%s): %s", path, strerror(e));
	return -1;
}

/*
 * Read fd until it has reported IN_CREATE of name on every wd of ws (or an
 * overflow), within a deadline: what a silent loss fails.  Watches whose
 * IN_IGNORED arrives (a watch the scanner gave up) are marked.
 */
static void expect_create(int fd, struct watch *ws, int nw, const char *name,
			  int inj)
{
	struct evs l = {0};
	uint64_t end = ms_now() + (uint64_t)slow(10000);
	for (;;) {
		bool all = true;
		for (int i = 0; i < nw; i++)
			if (ws[i].fd == fd && ws[i].wd >= 0 &&
			    evs_find(&l, 0, ws[i].wd, IN_CREATE, name) < 0 &&
			    evs_find(&l, 0, ws[i].wd, IN_IGNORED, NULL) < 0)
				all = false;
		if (evs_find(&l, 0, -1, IN_Q_OVERFLOW, NULL) >= 0) {
			if (inj == EINTR)
				bad("IN_Q_OVERFLOW for EINTR");
			break;
		}
		if (all)
			break;
		if (ms_now() >= end) {
			evs_dump("events", &l);
			bad("no IN_CREATE %s and no IN_Q_OVERFLOW", name);
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 50);
		read_now(fd, true, &l);
	}
	for (int i = 0; i < nw; i++)
		if (ws[i].fd == fd && ws[i].wd >= 0 &&
		    evs_find(&l, 0, ws[i].wd, IN_IGNORED, NULL) >= 0) {
			if (inj == EINTR)
				bad("IN_IGNORED for EINTR");
			ws[i].ignored = true;
		}
	evs_free(&l);
}

/* A remote instance (uinotify-run's): its lookup is openat2's. */
static atomic_bool r_created, r_overflow, r_ignored;

static void r_event(void *arg, int32_t wd, uint32_t mask, uint32_t cookie,
		    const char *name)
{
	if ((mask & IN_CREATE) && name && !strcmp(name, "new"))
		atomic_store(&r_created, true);
	if (mask & IN_IGNORED)
		atomic_store(&r_ignored, true);
}

static void r_over(void *arg)
{
	atomic_store(&r_overflow, true);
}

static void scenario_remote(const char *dir, int inj)
{
	static const struct uin_instance_sink sink = {r_event, r_over, NULL};
	struct uin_instance *inst;
	int ret = uin_remote_create(&sink, &inst);
	if (ret < 0) {
		if (ret != -EMFILE && ret != -ENOMEM)
			bad("uin_remote_create: %s", strerror(-ret));
		return;
	}
	int wd = uin_remote_add_watch(inst, AT_FDCWD, dir, IN_CREATE,
				      RESOLVE_NO_MAGICLINKS);
	static const int ok[] = {ENOMEM, ENOSPC, EIO, 0};
	if (wd < 0 && (!has(ok, -wd) || inj == EINTR ||
		       (wd == -EIO && inj != EIO)))
		bad("uin_remote_add_watch: %s", strerror(-wd));
	char path[700];
	snprintf(path, sizeof path, "%s/new", dir);
	write_text(path, NULL, O_CREAT | O_EXCL);
	uint64_t end = ms_now() + (uint64_t)slow(10000);
	while (wd >= 0 && !atomic_load(&r_created) &&
	       !atomic_load(&r_overflow) && !atomic_load(&r_ignored)) {
		if (ms_now() >= end)
			bad("no IN_CREATE new and no overflow");
		uin_remote_drain();
		usleep(2000);
	}
	if (inj == EINTR && (atomic_load(&r_overflow) ||
			     atomic_load(&r_ignored)))
		bad("an overflow or IN_IGNORED for EINTR");
	if (wd >= 0 && !atomic_load(&r_ignored) &&
	    (ret = uin_remote_rm_watch(inst, wd)) < 0)
		bad("uin_remote_rm_watch: %s", strerror(-ret));
	uin_remote_close(inst);
}

/* The point the run fails (-1: none), and the per-point counts of this
 * process merged into sh (a fork child's and its parent's). */
static long run_point = -1;

static void merge_counts(void)
{
	size_t np = uinotify_debug_fault_points();
	for (size_t i = 0; i < np; i++) {
		long c = uinotify_debug_fault_calls(i);
		long f = uinotify_debug_fault_failed(i);
		if (c > sh->calls[i])
			sh->calls[i] = c;
		if (f > sh->failed[i])
			sh->failed[i] = f;
	}
}

/*
 * The fork child of scenario_fork: its first call re-arms the two
 * watches, with run_point failing.  Each then reports the child's file,
 * or ends with IN_IGNORED where its kernel watch could not be made again;
 * not both silent, and the counts agree.  inst_fds: the descriptors of the
 * inherited instance, which its close releases.
 */
static void fork_child(int fd, struct watch *ws, const char *dir, int inj,
		       int inst_fds)
{
	alarm((unsigned)slow(30));
	int fds_before = count_fds();
	int n;
	if (uinotify_ioctl(fd, FIONREAD, &n) < 0) /* the first call */
		bad("fork child: FIONREAD: %s", strerror(errno));
	char path[700];
	snprintf(path, sizeof path, "%s/new", dir);
	write_text(path, NULL, O_CREAT | O_EXCL);
	snprintf(path, sizeof path, "%s/s/new", dir);
	write_text(path, NULL, O_CREAT | O_EXCL);
	expect_create(fd, ws, 2, "new", inj);
	int ignored = ws[0].ignored + ws[1].ignored;
	struct uin_kernel_stats st;
	uin_kernel_get_stats(&st);
	if (st.rearmed + st.rearm_lost != 2 || st.rearm_lost != ignored)
		bad("fork child: %ld re-armed, %ld lost, %d IN_IGNORED",
		    st.rearmed, st.rearm_lost, ignored);
	/* Without fdinfo the watches are checked by path: nothing lost.
	 * Otherwise a failure that hit loses a watch, and says so. */
	const char *name = run_point >= 0
				   ? uinotify_debug_fault_name((size_t)run_point)
				   : "";
	bool fallback = strstr(name, ".fdinfo.") != NULL;
	bool hit = run_point >= 0 &&
		   uinotify_debug_fault_failed((size_t)run_point) > 0;
	if (hit && inj != EINTR && !fallback && !ignored)
		bad("fork child: the failure lost no watch");
	if (fallback && ignored)
		bad("fork child: a watch lost where fdinfo failed");
	for (int i = 0; i < 2; i++) {
		int r = uinotify_rm_watch(fd, ws[i].wd);
		if (r < 0 && !(ws[i].ignored && errno == EINVAL))
			bad("fork child: inotify_rm_watch(%d): %s", ws[i].wd,
			    strerror(errno));
		if (r == 0 && ws[i].ignored)
			bad("fork child: wd %d removed after its IN_IGNORED",
			    ws[i].wd);
	}
	if (uinotify_close(fd) < 0)
		bad("fork child: close: %s", strerror(errno));
	for (int i = 0; i < 400; i++) {
		uin_loop_drain();
		if (counts_zero() && count_fds() == fds_before - inst_fds)
			break;
		usleep(5000);
	}
	if (!counts_zero())
		bad("fork child: engine objects left after close");
	if (count_fds() != fds_before - inst_fds)
		bad("fork child: %d descriptors left after close",
		    count_fds() - (fds_before - inst_fds));
	merge_counts();
	_exit(0);
}

/*
 * Whether the loop thread has run: a job it runs writes to a pipe.  The
 * fork must wait for that: a thread still in its start-up may hold the
 * allocator's lock under ASan (gcc's has no fork interceptor), and the
 * child would wait for it forever.
 */
static int loop_ran[2];

static void loop_ran_fn(struct uin_loop_job *job)
{
	(void)job;
	if (write(loop_ran[1], "", 1) != 1)
		bad("write: %s", strerror(errno));
}

static void wait_loop_thread(void)
{
	static struct uin_loop_job job = {.fn = loop_ran_fn};
	char c;
	if (pipe2(loop_ran, O_CLOEXEC) < 0 || uin_loop_post(&job) < 0 ||
	    read(loop_ran[0], &c, 1) != 1)
		bad("the loop thread: %s", strerror(errno));
	close(loop_ran[0]);
	close(loop_ran[1]);
}

/* Two watches, a fork, the child's re-arm (fork_child); then the
 * parent's watches report what the child made. */
static void scenario_fork(const char *dir, int inj)
{
	char sub[700];
	snprintf(sub, sizeof sub, "%s/s", dir);
	CHECK_OK(mkdir(sub, 0755));
	int before = count_fds();
	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		bad("inotify_init1: %s", strerror(errno));
	int inst_fds = count_fds() - before;
	struct watch ws[2] = {
		{fd, uinotify_add_watch(fd, dir, IN_CREATE), false},
		{fd, uinotify_add_watch(fd, sub, IN_CREATE), false},
	};
	if (ws[0].wd < 0 || ws[1].wd < 0)
		bad("inotify_add_watch: %s", strerror(errno));
	wait_loop_thread();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		bad("fork: %s", strerror(errno));
	if (pid == 0)
		fork_child(fd, ws, dir, inj, inst_fds);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		bad("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		bad("fork child: %s", WTERMSIG(status) == SIGALRM
					       ? "hang (deadline)"
					       : strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0)
		_exit(1); /* its message is in sh */
	/* The parent's own watches are as they were: neither an overflow
	 * nor an IN_IGNORED (what expect_create allows for no EINTR). */
	expect_create(fd, ws, 2, "new", EINTR);
	for (int i = 0; i < 2; i++)
		if (uinotify_rm_watch(fd, ws[i].wd) < 0)
			bad("inotify_rm_watch(%d): %s", ws[i].wd,
			    strerror(errno));
	if (uinotify_close(fd) < 0)
		bad("close: %s", strerror(errno));
}

static void scenario(enum scen sc, const char *dir, const char *remote,
		     int inj)
{
	int fds_before = count_fds();
	if (sc == SC_FORK || sc == SC_NOPROC) {
		if (sc == SC_NOPROC)
			CHECK_OK(uinotify_debug_fail_always(
				uinotify_debug_fault_find(
					"kernel.rearm.fdinfo.open"),
				ENOENT));
		scenario_fork(dir, inj);
		goto settle;
	}
	if (sc != SC_KERNEL)
		scan_fast();
	if (sc == SC_REMOTE) {
		scenario_remote(dir, inj);
		goto settle;
	}
	int fd1 = init(inj);
	if (fd1 < 0)
		return;
	int fd2 = init(inj);
	if (fd2 < 0) {
		if (uinotify_close(fd1) < 0)
			bad("close: %s", strerror(errno));
		goto settle;
	}
	if (sc == SC_SCAN) {
		CHECK_OK(uinotify_set_source(fd1, UINOTIFY_SOURCE_SCAN));
		CHECK_OK(uinotify_set_source(fd2, UINOTIFY_SOURCE_SCAN));
	}
	struct watch ws[3] = {
		{fd1, add(fd1, dir, IN_CREATE | IN_DELETE | IN_EXCL_UNLINK,
			  inj), false},
		/* the kernel watch widened, its IN_EXCL_UNLINK cleared;
		 * IN_OPEN: the scanner's reads are muted (its readlink) */
		{fd2, add(fd2, dir, IN_CREATE | IN_MODIFY | IN_OPEN, inj),
		 false},
		{-1, -1, false},
	};
	/* fd1's watch changed: the kernel watch made exact again */
	int wd = add(fd1, dir, IN_CREATE | IN_MOVED_TO, inj);
	if (wd >= 0 && ws[0].wd >= 0 && wd != ws[0].wd)
		bad("the same directory got wd %d, then %d", ws[0].wd, wd);
	if (ws[0].wd < 0)
		ws[0].wd = wd;
	/* Made where the change is not the mount's own (behind bindfs: in
	 * the directory it shows, seen only by the scanner). */
	char path[700];
	snprintf(path, sizeof path, "%s/new", remote ? remote : dir);
	write_text(path, NULL, O_CREAT | O_EXCL);
	expect_create(fd1, ws, 2, "new", inj);
	expect_create(fd2, ws, 2, "new", inj);
	for (int i = 0; i < 2; i++) {
		if (ws[i].wd < 0)
			continue;
		int r = uinotify_rm_watch(ws[i].fd, ws[i].wd);
		if (r < 0 && !(ws[i].ignored && errno == EINVAL))
			bad("inotify_rm_watch(%d): %s", ws[i].wd,
			    strerror(errno));
	}
	if (uinotify_close(fd2) < 0 || uinotify_close(fd1) < 0)
		bad("close: %s", strerror(errno));
settle:
	/* The loop thread lets go of the last of it (the kernel instance,
	 * the scanner's descriptors, itself) on its own time. */
	for (int i = 0; i < 400; i++) {
		uin_loop_drain();
		if (counts_zero() && count_fds() == fds_before)
			break;
		uin_scan_wait_ticks(1, 20);
		usleep(5000);
	}
	if (!counts_zero())
		bad("engine objects left after close");
	if (count_fds() != fds_before)
		bad("%d descriptors left after close",
		    count_fds() - fds_before);
}

/* Directories --------------------------------------------------------------- */

static bool have_bindfs;
static char mnt_dir[256], src_dir[256];
static int run_no;

static void setup(bool bindfs)
{
	uin_test_no_leak_check(); /* the runs are children: they check */
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	CHECK(uinotify_debug_fault_points() > 0);
	CHECK(uinotify_debug_fault_points() <= MAX_POINTS);
	if (bindfs) {
		snprintf(src_dir, sizeof src_dir, "%s", P("src"));
		snprintf(mnt_dir, sizeof mnt_dir, "%s", P("mnt"));
		bindfs_mount(src_dir, mnt_dir); /* or skip */
		have_bindfs = true;
	}
}

/*
 * One run in a child: scenario sc with the nth call at point (-1: none)
 * failing with err.  Its per-point counts land in sh.  true if it passed;
 * else *why says how.
 */
static bool run(enum scen sc, long point, long nth, int err,
		const char **why)
{
	char rel[32];
	snprintf(rel, sizeof rel, "r%d", run_no++);
	char dir[600], remote[600];
	if (sc == SC_BINDFS) {
		snprintf(remote, sizeof remote, "%s/%s", src_dir, rel);
		snprintf(dir, sizeof dir, "%s/%s", mnt_dir, rel);
		CHECK_OK(mkdir(remote, 0755));
	} else {
		snprintf(dir, sizeof dir, "%s", P(rel));
		CHECK_OK(mkdir(dir, 0755));
	}
	memset(sh, 0, sizeof *sh);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		static char what[256];
		snprintf(what, sizeof what, "%s, %s call %ld failing with %s",
			 scen_name[sc],
			 point >= 0 ? uinotify_debug_fault_name((size_t)point)
				    : "nothing",
			 nth, point >= 0 ? strerror(err) : "-");
		run_what = what;
		run_point = point;
		alarm((unsigned)slow(30));
		if (point >= 0)
			CHECK_OK(uinotify_debug_fail_syscall(point, nth, err,
							     false));
		scenario(sc, dir, sc == SC_BINDFS ? remote : NULL, err);
		uinotify_debug_fail_syscall(-1, 0, 0, false);
		merge_counts();
		_exit(0);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	static char buf[1200];
	*why = NULL;
	if (WIFSIGNALED(status)) {
		snprintf(buf, sizeof buf, "%s run, %s call %ld, %s: %s",
			 scen_name[sc],
			 point >= 0 ? uinotify_debug_fault_name((size_t)point)
				    : "nothing",
			 nth, strerror(err),
			 WTERMSIG(status) == SIGALRM ? "hang (deadline)"
						     : strsignal(WTERMSIG(status)));
		*why = buf;
	} else if (WEXITSTATUS(status) != 0) {
		snprintf(buf, sizeof buf, "%s",
			 sh->msg[0] ? sh->msg : "failed (see above)");
		*why = buf;
	}
	return !*why;
}

/*
 * Whether scenario sc can run here: TSan cannot start threads in a fork
 * child of a process with threads (the fork scenarios' child); then the
 * points only they reach (kernel.rearm.*) are not walked.
 */
static bool runs_here(enum scen sc)
{
#ifdef UIN_TSAN
	return sc != SC_FORK && sc != SC_NOPROC;
#else
	(void)sc;
	return true;
#endif
}

/* Points walked elsewhere: the drop-in's (test_preload_faults). */
static bool dropin_point(const char *name)
{
	return !strncmp(name, "preload.", 8);
}

/* The calls at each point of scenario sc, with nothing failed. */
static void census(enum scen sc, long *reached)
{
	if (!runs_here(sc)) {
		memset(reached, 0, sizeof(long) * MAX_POINTS);
		return;
	}
	const char *why;
	if (!run(sc, -1, 0, 0, &why))
		uin_test_fail(__FILE__, __LINE__, "%s", why);
	size_t np = uinotify_debug_fault_points();
	for (size_t i = 0; i < np; i++)
		reached[i] = sh->calls[i];
}

/*
 * The scenario that walks point i: the first (kernel, scan, bindfs) that
 * reaches it; SC_N if none does.
 */
static enum scen walker(long reached[SC_N][MAX_POINTS], size_t i)
{
	for (int sc = 0; sc < SC_N; sc++)
		if (reached[sc][i])
			return (enum scen)sc;
	return SC_N;
}

/*
 * Every point sc walks, with each of its errnos, failing its first call
 * (which must be reached), its second and third, and its last (where the
 * scanner's ticks make another, if they do); every failure listed.
 */
static void walk(enum scen sc)
{
	static long reached[SC_N][MAX_POINTS];
	for (int s = 0; s <= (int)sc; s++)
		census((enum scen)s, reached[s]);
	size_t np = uinotify_debug_fault_points();
	int runs = 0, failures = 0, points = 0;
	for (size_t i = 0; i < np; i++) {
		if (walker(reached, i) != sc)
			continue;
		const char *name = uinotify_debug_fault_name(i);
		const struct kind *k = kind_of(name);
		if (!k) {
			fprintf(stderr, "FAIL %s: no errnos for this kind of "
					"call (tests/test_instance_faults.c)\n",
				name);
			failures++;
			continue;
		}
		points++;
		long calls = reached[sc][i];
		long nths[] = {1, 2, 3, calls};
		for (int j = 0; j < 5 && k->errs[j]; j++)
			for (int m = 0; m < 4; m++) {
				long nth = nths[m];
				if (nth > calls || (m == 3 && calls <= 3))
					continue;
				const char *why;
				runs++;
				if (!run(sc, (long)i, nth, k->errs[j], &why)) {
					fprintf(stderr, "FAIL %s\n", why);
					failures++;
				} else if (nth == 1 && sh->failed[i] == 0) {
					fprintf(stderr,
						"FAIL %s (%s): not reached\n",
						name, strerror(k->errs[j]));
					failures++;
				}
			}
	}
	printf("# %s: %d points, %d runs, %d failed\n", scen_name[sc], points,
	       runs, failures);
	if (failures)
		uin_test_fail(__FILE__, __LINE__, "%d of %d runs failed",
			      failures, runs);
}

TEST(kernel_points)
{
	setup(false);
	walk(SC_KERNEL);
}

TEST(scan_points)
{
	setup(false);
	walk(SC_SCAN);
}

TEST(remote_points)
{
	setup(false);
	walk(SC_REMOTE);
}

TEST(fork_points)
{
	if (!runs_here(SC_FORK))
		SKIP("ThreadSanitizer cannot start threads in a forked child");
	setup(false);
	walk(SC_FORK);
}

TEST(noproc_points)
{
	if (!runs_here(SC_NOPROC))
		SKIP("ThreadSanitizer cannot start threads in a forked child");
	setup(false);
	walk(SC_NOPROC);
}

TEST(bindfs_points)
{
	setup(true);
	walk(SC_BINDFS);
}

/*
 * The points, unique by name, and the union of what the three walks fail
 * (each checks that its runs did): every point compiled in.  Points only
 * the bindfs scenario reaches are walked only where bindfs is installed.
 */
TEST(every_point_walked)
{
	bool bindfs = access("/dev/fuse", R_OK | W_OK) == 0 &&
		      run_quiet((const char *const[]){"bindfs", "--version",
						      NULL}) == 0;
	setup(bindfs);
	size_t np = uinotify_debug_fault_points();
	for (size_t i = 0; i < np; i++)
		for (size_t j = i + 1; j < np; j++)
			if (!strcmp(uinotify_debug_fault_name(i),
				    uinotify_debug_fault_name(j)))
				uin_test_fail(__FILE__, __LINE__,
					      "two points named %s",
					      uinotify_debug_fault_name(i));
	static long reached[SC_N][MAX_POINTS];
	for (int sc = 0; sc < SC_N; sc++)
		if (sc != SC_BINDFS || have_bindfs)
			census((enum scen)sc, reached[sc]);
	size_t walked = 0, dropin = 0, excused = 0;
	for (size_t i = 0; i < np; i++) {
		const char *name = uinotify_debug_fault_name(i);
		enum scen sc = walker(reached, i);
		if (dropin_point(name)) {
			dropin++;
		} else if (sc != SC_N && kind_of(name)) {
			walked++;
		} else if (!runs_here(SC_FORK) &&
			   !strncmp(name, "kernel.rearm.", 13)) {
			excused++;
		} else {
			fprintf(stderr, "not walked: %s\n", name);
		}
	}
	printf("# fault-injection coverage: %zu points walked / %zu found%s%s"
	       " (the drop-in's: test_preload_faults)\n",
	       walked, np - dropin, have_bindfs ? "" : " (no bindfs)",
	       excused ? " (no fork scenario under TSan)" : "");
	CHECK_EQ(walked + excused, np - dropin);
}
