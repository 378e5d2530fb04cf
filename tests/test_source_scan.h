/*
 * tests/test_source_scan.h - helpers shared by the scanner tests
 * (tests/test_source_scan_*.c): event lists, reading with deadlines,
 * bindfs mounts, and the differential against a real kernel instance
 * ("what kernel inotify reports for the same operation done locally,
 * minus what a scanner cannot see", section 1 of linux-semantics.md).
 */
#ifndef UIN_TEST_SOURCE_SCAN_H
#define UIN_TEST_SOURCE_SCAN_H

#include "runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "sources/loop.h"
#include "engine/sanitizers.h"
#include "sources/mounts.h"
#include "sources/scan.h"

#define P(rel) uin_test_path(rel)

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define UIN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define UIN_SANITIZED 1
#endif
#endif
/* Time bounds stretch under the sanitizers (several times slower). */
static inline long slow(long ms)
{
#ifdef UIN_SANITIZED
	return ms * 8;
#else
	return ms;
#endif
}

/* Events ------------------------------------------------------------------ */

struct ev {
	int32_t wd;
	uint32_t mask;
	uint32_t cookie;
	char name[256];
};

struct evs {
	struct ev *v;
	size_t n, cap;
};

static inline void evs_push(struct evs *l, const struct inotify_event *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		CHECK(l->v);
	}
	struct ev *d = &l->v[l->n++];
	d->wd = e->wd;
	d->mask = e->mask;
	d->cookie = e->cookie;
	snprintf(d->name, sizeof d->name, "%s", e->len ? e->name : "");
}

static inline void evs_free(struct evs *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static inline void evs_dump(const char *title, const struct evs *l)
{
	fprintf(stderr, "--- %s (%zu)\n", title, l->n);
	for (size_t i = 0; i < l->n; i++)
		fprintf(stderr, "  wd=%d mask=%#010x cookie=%u %s\n",
			l->v[i].wd, l->v[i].mask, l->v[i].cookie,
			l->v[i].name);
}

static inline uint64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Read what fd holds now (kernel: read(); uinotify: uinotify_read()). */
static inline size_t read_now(int fd, bool uin, struct evs *l)
{
	static char buf[1 << 16] __attribute__((aligned(8)));
	size_t got = 0;
	for (;;) {
		ssize_t n = uin ? uinotify_read(fd, buf, sizeof buf)
				: read(fd, buf, sizeof buf);
		if (n < 0 && errno == EAGAIN)
			return got;
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n > 0);
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (void *)(buf + off);
			evs_push(l, e);
			got++;
			off += (ssize_t)(sizeof *e + e->len);
		}
	}
}

/*
 * Read a uinotify instance until it holds at least `want` events in l
 * (counting from `from`) or timeout_ms passes; returns the count.
 */
static inline size_t read_until(int fd, struct evs *l, size_t from,
				size_t want, long timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;
	for (;;) {
		read_now(fd, true, l);
		if (l->n - from >= want)
			break;
		uint64_t t = ms_now();
		if (t >= end)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, (int)(end - t > 50 ? 50 : end - t));
	}
	return l->n - from;
}

/* The index of the first event (wd, mask with these bits, name) at or
 * after from, or -1. */
static inline long evs_find(const struct evs *l, size_t from, int32_t wd,
			    uint32_t mask, const char *name)
{
	for (size_t i = from; i < l->n; i++)
		if (l->v[i].wd == wd && (l->v[i].mask & mask) == mask &&
		    (!name || !strcmp(l->v[i].name, name)))
			return (long)i;
	return -1;
}

/* Wait until an event (wd, mask, name) arrives; its index or -1. */
static inline long wait_event(int fd, struct evs *l, int32_t wd,
			      uint32_t mask, const char *name,
			      long timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;
	size_t from = 0;
	for (;;) {
		long i = evs_find(l, from, wd, mask, name);
		if (i >= 0)
			return i;
		from = l->n;
		uint64_t t = ms_now();
		if (t >= end)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, (int)(end - t > 50 ? 50 : end - t));
		read_now(fd, true, l);
	}
}

/* Instances and mounts ------------------------------------------------------ */

static inline int scan_instance(enum uinotify_source src)
{
	int fd = CHECK_OK(uinotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	CHECK_EQ(uinotify_set_source(fd, src), 0);
	return fd;
}

/* Fast settings for tests: short ticks, every file on every tick, a
 * short close-write quiet time. */
static inline void scan_fast(void)
{
	CHECK_EQ(uinotify_set_scan_interval(20), 20);
	uin_scan_set_param(UIN_SCAN_COLD_MS, 0);
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 60);
}

static inline int run_quiet(const char *const argv[])
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Mount src on mnt with bindfs, or skip the test with the reason.  bindfs
 * runs in the foreground as our child, told to stop (and unmount) if the
 * test dies (PR_SET_PDEATHSIG), in a mount namespace of the test's own
 * when it can have one: a failed test leaves no mount behind.  Call
 * bindfs_umount(mnt) on the way out (close the uinotify instances first:
 * the scanner's descriptors keep the mount busy).  Call before anything
 * starts a thread (unshare needs a single-threaded process).
 */
static pid_t bindfs_pid;

static inline void bindfs_mount_opts(const char *src, const char *mnt,
				     const char *opts)
{
	mkdir(src, 0755);
	CHECK_OK(mkdir(mnt, 0755));
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		SKIP("no usable /dev/fuse (FUSE is needed for bindfs)");
	if (unshare(CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		if (opts)
			execlp("bindfs", "bindfs", "-f", "-o", opts, src, mnt,
			       (char *)NULL);
		else
			execlp("bindfs", "bindfs", "-f", src, mnt,
			       (char *)NULL);
		_exit(127);
	}
	bindfs_pid = pid;
	for (int i = 0; i < 500; i++) {
		struct statfs sfs;
		if (statfs(mnt, &sfs) == 0 && sfs.f_type == 0x65735546)
			return;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			bindfs_pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				SKIP("bindfs is not installed (Debian package "
				     "bindfs)");
			SKIP("bindfs could not mount (no FUSE permission?)");
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	SKIP("bindfs did not mount within 5 s");
}

static inline void bindfs_mount(const char *src, const char *mnt)
{
	bindfs_mount_opts(src, mnt, NULL);
}

static inline void bindfs_umount(const char *mnt)
{
	if (umount2(mnt, 0) != 0) {
		const char *const argv[] = {"fusermount", "-u", mnt, NULL};
		if (run_quiet(argv) != 0)
			umount2(mnt, MNT_DETACH);
	}
	if (bindfs_pid > 0) {
		for (int i = 0; i < 300; i++) {
			if (waitpid(bindfs_pid, NULL, WNOHANG) == bindfs_pid) {
				bindfs_pid = 0;
				return;
			}
			usleep(10000);
		}
		kill(bindfs_pid, SIGKILL);
		waitpid(bindfs_pid, NULL, 0);
		bindfs_pid = 0;
	}
}

static inline void write_text(const char *path, const char *text, int flags)
{
	int fd = CHECK_OK(open(path, O_WRONLY | flags, 0644));
	if (text)
		CHECK_EQ(write(fd, text, strlen(text)),
			 (ssize_t)strlen(text));
	CHECK_OK(close(fd));
}

/* Everything released: the scanner's watches too (they go on the loop
 * thread, after the engine inodes). */
static inline void scan_finish(void)
{
	struct uin_scan_stats st;
	for (int i = 0; i < 200; i++) {
		uin_scan_get_stats(&st);
		if (!st.watches && !st.fds)
			break;
		uin_scan_wait_ticks(1, 50);
	}
	CHECK_EQ(st.watches, 0);
	CHECK_EQ(st.fds, 0);
	CHECK_EQ(uin_mounts_count(), 0);
}

/* The differential ---------------------------------------------------------------
 *
 * One step = one operation.  The kernel instance's events for it are read
 * right after it (the kernel queues them in the system call), then turned
 * into what a scanner can know:
 *   - OPEN, ACCESS, CLOSE_NOWRITE go (a scanner cannot see them);
 *   - CLOSE_WRITE goes, and one comes back after the MODIFYs of each name
 *     and after the CREATE of each new regular file (the scanner's
 *     synthesised close, docs/scanner.md);
 *   - MODIFY and ATTRIB of a name created in the same step go (the
 *     scanner's first look at it is after them);
 *   - repeated events collapse (the scanner sees one change of a kind).
 * Both sides are compared as sets of (wd, mask, name), and their renames
 * as sets of (from wd/name, to wd/name) pairs through the cookies.
 */
struct key3 {
	int32_t wd;
	uint32_t mask;
	char name[256];
};

struct diff {
	int kfd, ufd;
	const char *kbase; /* paths the kernel watches ... */
	const char *ubase; /* ... and their uinotify twins */
	int nwd;
	struct {
		int32_t wd;
		char rel[128];
	} wds[32];
	struct evs k, u;  /* this step's */
	struct key3 extra[8]; /* this step's known differences */
	int nextra;
	uint32_t drop_kernel; /* and kernel events of these kinds to drop */
	int steps;
	bool close_write; /* the scanner synthesises CLOSE_WRITE */
};

static inline const char *diff_path(const char *base, const char *rel)
{
	static char bufs[4][768];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, sizeof bufs[0], "%s/%s", base, rel);
	return b;
}

static inline void diff_watch(struct diff *d, const char *rel, uint32_t mask)
{
	int kw = CHECK_OK(inotify_add_watch(d->kfd, diff_path(d->kbase, rel),
					    mask));
	int uw = uinotify_add_watch(d->ufd, diff_path(d->ubase, rel), mask);
	if (uw < 0)
		uin_test_fail(__FILE__, __LINE__, "add_watch %s: %s", rel,
			      strerror(errno));
	CHECK_EQ(uw, kw);
	CHECK(d->nwd < 32);
	d->wds[d->nwd].wd = kw;
	snprintf(d->wds[d->nwd].rel, sizeof d->wds[0].rel, "%s", rel);
	d->nwd++;
}

/* The watched object of wd is now at rel (the test renamed it). */
static inline void diff_moved(struct diff *d, int32_t wd, const char *rel)
{
	for (int i = 0; i < d->nwd; i++)
		if (d->wds[i].wd == wd)
			snprintf(d->wds[i].rel, sizeof d->wds[0].rel, "%s",
				 rel);
}

static inline const char *diff_wd_rel(struct diff *d, int32_t wd)
{
	for (int i = 0; i < d->nwd; i++)
		if (d->wds[i].wd == wd)
			return d->wds[i].rel;
	return NULL;
}

static inline int key3_cmp(const void *a, const void *b)
{
	const struct key3 *x = a, *y = b;
	if (x->wd != y->wd)
		return x->wd < y->wd ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	return strcmp(x->name, y->name);
}

struct pairs {
	char s[64][600];
	int n;
};

static inline int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The renames of l as sorted "fromwd/name>towd/name" strings. */
static inline void evs_pairs(const struct evs *l, struct pairs *p)
{
	p->n = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!(l->v[i].mask & (IN_MOVED_FROM | IN_MOVED_TO)))
			continue;
		CHECK(l->v[i].cookie != 0);
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if ((l->v[j].mask & (IN_MOVED_FROM | IN_MOVED_TO)) &&
			    l->v[j].cookie == l->v[i].cookie)
				seen = true;
		if (seen)
			continue;
		const struct ev *from = NULL, *to = NULL;
		for (size_t j = i; j < l->n; j++) {
			if (l->v[j].cookie != l->v[i].cookie)
				continue;
			if (l->v[j].mask & IN_MOVED_FROM)
				from = &l->v[j];
			if (l->v[j].mask & IN_MOVED_TO)
				to = &l->v[j];
		}
		CHECK(p->n < 64);
		snprintf(p->s[p->n++], sizeof p->s[0], "%d/%s>%d/%s",
			 from ? from->wd : 0, from ? from->name : "-",
			 to ? to->wd : 0, to ? to->name : "-");
	}
	qsort(p->s, (size_t)p->n, sizeof p->s[0], str_cmp);
}

/* Whether the object at uinotify-side rel is a new regular file with one
 * link (whose creation the scanner follows with a CLOSE_WRITE). */
static inline bool new_regular(struct diff *d, int32_t wd, const char *name)
{
	const char *dir = diff_wd_rel(d, wd);
	if (!dir)
		return false;
	char rel[512];
	snprintf(rel, sizeof rel, "%s/%s", dir, name);
	struct stat st;
	return lstat(diff_path(d->kbase, rel), &st) == 0 &&
	       S_ISREG(st.st_mode) && st.st_nlink == 1;
}

static inline size_t expected_set(struct diff *d, struct key3 *out)
{
	size_t n = 0;
	const struct evs *k = &d->k;
	for (size_t i = 0; i < k->n; i++) {
		uint32_t m = k->v[i].mask;
		if (m & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE |
			 IN_CLOSE_WRITE | d->drop_kernel))
			continue;
		if ((m & (IN_MODIFY | IN_ATTRIB)) && k->v[i].name[0]) {
			bool created = false;
			for (size_t j = 0; j < k->n; j++)
				if (k->v[j].wd == k->v[i].wd &&
				    (k->v[j].mask & (IN_CREATE | IN_MOVED_TO)) &&
				    !strcmp(k->v[j].name, k->v[i].name))
					created = true;
			if (created)
				continue;
		}
		out[n].wd = k->v[i].wd;
		out[n].mask = m;
		snprintf(out[n].name, sizeof out[n].name, "%s", k->v[i].name);
		n++;
		bool ignored = false; /* IN_ONESHOT: nothing after it */
		for (size_t j = i; j < k->n; j++)
			if (k->v[j].wd == k->v[i].wd &&
			    (k->v[j].mask & IN_IGNORED))
				ignored = true;
		if (d->close_write && !ignored &&
		    (((m & IN_MODIFY) && !(m & IN_ISDIR)) ||
		     ((m & IN_CREATE) && !(m & IN_ISDIR) &&
		      new_regular(d, k->v[i].wd, k->v[i].name)))) {
			out[n] = out[n - 1];
			out[n].mask = IN_CLOSE_WRITE;
			n++;
		}
	}
	for (int i = 0; i < d->nextra; i++)
		out[n++] = d->extra[i];
	qsort(out, n, sizeof *out, key3_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || key3_cmp(&out[u - 1], &out[i]))
			out[u++] = out[i];
	return u;
}

/*
 * A difference the scanner cannot avoid, expected on the next step: an
 * event it reports that the kernel did not (a ctime-only change whose
 * cause was no attribute change, as chown(-1, -1)).
 */
static inline void diff_expect(struct diff *d, int32_t wd, uint32_t mask,
			       const char *name)
{
	CHECK(d->nextra < 8);
	struct key3 *k = &d->extra[d->nextra++];
	k->wd = wd;
	k->mask = mask;
	snprintf(k->name, sizeof k->name, "%s", name ? name : "");
}

static inline void diff_begin(struct diff *d, const char *kbase,
			      const char *ubase, enum uinotify_source src)
{
	memset(d, 0, sizeof *d);
	d->kbase = kbase;
	d->ubase = ubase;
	d->kfd = CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	d->ufd = scan_instance(src);
	d->close_write = uin_scan_get_param(UIN_SCAN_CLOSE_WRITE_MS) > 0;
}

/*
 * After one operation: read the kernel's events, wait for the scanner's
 * (the expected number, then two more full ticks for any extra), and
 * compare.  what names the step in failures.
 */
static inline void diff_step(struct diff *d, const char *what)
{
	d->steps++;
	d->k.n = d->u.n = 0;
	read_now(d->kfd, false, &d->k);
	static struct key3 want[512], got[512];
	size_t nw = expected_set(d, want);
	read_until(d->ufd, &d->u, 0, nw, 5000);
	/* Two ticks that began after the expected events: extras show. */
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	if (d->close_write)
		CHECK_OK(uin_scan_wait_ticks(4, 5000));
	read_now(d->ufd, true, &d->u);
	/* The scanner's descriptor on a watched object delays the kernel's
	 * DELETE_SELF and IGNORED until the scanner lets go of it: those
	 * arrive on the kernel side only now. */
	if (read_now(d->kfd, false, &d->k)) {
		nw = expected_set(d, want);
		read_until(d->ufd, &d->u, 0, nw, 5000);
	}
	d->nextra = 0;
	uint32_t dropped = d->drop_kernel;
	d->drop_kernel = 0;
	CHECK(d->u.n <= 512);
	for (size_t i = 0; i < d->u.n; i++) {
		got[i].wd = d->u.v[i].wd;
		got[i].mask = d->u.v[i].mask;
		snprintf(got[i].name, sizeof got[i].name, "%s",
			 d->u.v[i].name);
	}
	/* A MODIFY of a name created in this step is the scanner's to give
	 * or not: a tick may look between the create and its write. */
	size_t ng = 0;
	for (size_t i = 0; i < d->u.n; i++) {
		bool optional = got[i].mask == IN_MODIFY;
		bool created = false, wanted = false;
		for (size_t j = 0; optional && j < nw; j++) {
			if (want[j].wd != got[i].wd ||
			    strcmp(want[j].name, got[i].name))
				continue;
			created |= (want[j].mask & (IN_CREATE | IN_MOVED_TO)) != 0;
			wanted |= want[j].mask == IN_MODIFY;
		}
		if (!(optional && created && !wanted))
			got[ng++] = got[i];
	}
	qsort(got, ng, sizeof *got, key3_cmp);
	bool same = nw == ng;
	for (size_t i = 0; same && i < nw; i++)
		same = !key3_cmp(&want[i], &got[i]);
	static struct pairs kp, up;
	evs_pairs(&d->k, &kp);
	if (dropped & (IN_MOVED_FROM | IN_MOVED_TO))
		kp.n = 0;
	evs_pairs(&d->u, &up);
	bool pairs_same = kp.n == up.n;
	for (int i = 0; pairs_same && i < kp.n; i++)
		pairs_same = !strcmp(kp.s[i], up.s[i]);
	/* Order: a rename's two halves back to back; deletions before
	 * creations. */
	bool order = true;
	long last_delete = -1, first_create = -1;
	for (size_t i = 0; i < d->u.n; i++) {
		uint32_t m = d->u.v[i].mask;
		if ((m & IN_MOVED_FROM) && i + 1 < d->u.n &&
		    (d->u.v[i + 1].mask & IN_MOVED_TO) &&
		    d->u.v[i + 1].cookie != d->u.v[i].cookie)
			order = false;
		if (m & IN_DELETE)
			last_delete = (long)i;
		if ((m & IN_CREATE) && first_create < 0)
			first_create = (long)i;
	}
	if (last_delete >= 0 && first_create >= 0 &&
	    last_delete > first_create)
		order = false;
	if (!same || !pairs_same || !order) {
		fprintf(stderr, "step %d (%s): %s\n", d->steps, what,
			!same ? "events differ"
			      : !pairs_same ? "renames differ" : "order");
		evs_dump("kernel (raw)", &d->k);
		evs_dump("scanner", &d->u);
		fprintf(stderr, "--- expected set\n");
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "  wd=%d mask=%#010x %s\n", want[i].wd,
				want[i].mask, want[i].name);
		uin_test_fail(__FILE__, __LINE__, "step %d (%s) differs",
			      d->steps, what);
	}
}

static inline void diff_end(struct diff *d)
{
	close(d->kfd);
	CHECK_OK(uinotify_close(d->ufd));
	evs_free(&d->k);
	evs_free(&d->u);
}

#endif
