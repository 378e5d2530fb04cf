/*
 * bench/soak.c - a bounded soak: minutes of file churn, locally and behind
 * bindfs, with add/rm_watch churn, checking that nothing leaks and that
 * every local change is reported exactly.  Not a CTest test at its full
 * length (bench/CMakeLists.txt registers a 20 s run, label "soak").
 *
 *   soak [--seconds N] [--seed S] [--dir BASE] [--sample N] [--warmup N]
 *        [--rss-slack KIB] [--fd-slack N] [--local-ms MS] [--no-remote]
 *
 * It runs cycles until --seconds (default 600) have passed:
 *
 *   local    a seeded mix of create (with data), append, rename (files over
 *            new and existing names, directories across the tree), unlink,
 *            mkdir, rmdir, and watch churn (a directory's watch removed and
 *            added again with another mask, watches on files added and
 *            removed, IN_ONESHOT among them), made in two twin trees under
 *            BASE: one watched by the kernel's inotify, the other through
 *            the uinotify API with the default source, every directory
 *            watched (an inotifywait -r).  The same operation is made on
 *            both sides in turn; its results must be equal (wds included),
 *            and after each round of operations FIONREAD and the records
 *            read must be equal, record by record (wd, mask, cookie as the
 *            order of first appearance, len, name).  A third instance adds
 *            and removes watches on the uinotify tree at random meanwhile
 *            (sharing its kernel watches: its masks must not leak into the
 *            main stream).  Every 50 rounds both main instances are closed
 *            and made again.
 *   remote   create, append, rename and unlink of files, mkdir and rmdir
 *            (of a directory emptied just before) made in bindfs's backing
 *            directory at random moments (0-15 ms apart) while a uinotify
 *            instance (default source: the kernel and the scanner) watches
 *            every directory of the mount; then events are read until every
 *            change is accounted for (structure: 10 s at most; a MODIFY:
 *            the scanner's cold period plus 2 s), and two ticks more.  Each
 *            file is touched once a round, so every event names its
 *            cause.  Counted: creations and deletions found (must be all;
 *            also counted: those reported as MOVED_TO or MOVED_FROM, which
 *            is what a delete and a create that reuses the inode number
 *            within one tick look like without a birth time, as behind
 *            bindfs), renames as a MOVED_FROM/MOVED_TO pair or as DELETE +
 *            CREATE, appends with and without MODIFY, and events nothing
 *            explains.
 *            Watch churn there too: a directory's watch removed and added
 *            again now and then, and a second instance adding watches on
 *            files and directories for a tick and removing them.
 *
 * Every --sample seconds (default 10), between cycles and two scanner
 * ticks after the last watch went, it samples the resident set
 * (/proc/self/statm) and the open descriptors (/proc/self/fd).  The
 * scanner holds one descriptor per watched remote directory, and their
 * number moves with mkdir/rmdir: the fd verdict is on the count minus
 * that number.  At the end: local differences (must be 0), the remote
 * figures, RSS and fds (first, after warm-up, last, max) and a verdict.
 * Flat means: the last sample within --rss-slack KiB (default 1024) and
 * --fd-slack descriptors (default 2) of the first sample taken after
 * --warmup seconds (default: a quarter of the run, at most 60 s).  Under
 * ASan or TSan the resident set is reported but not judged (their
 * allocators keep freed memory in quarantine; LeakSanitizer checks
 * leaks at exit there).
 *
 * Exit status: 0 all well; 1 a local difference, a remote creation,
 * deletion, mkdir or rmdir not reported, or growth; 2 the set-up failed.
 * Without bindfs or /dev/fuse the remote part is skipped, said so.
 * Needs a mount namespace of its own for the bindfs mount (root, or
 * fusermount in the caller's namespace); SIGINT ends the run early, with
 * its report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "sources/scan.h"

#include "bench.h"
#include "bindfs.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif

/* Options. */
static long opt_seconds = 600;
static unsigned long opt_seed = 1;
static long opt_sample = 10;
static long opt_warmup = -1;
static long opt_rss_slack = 1024; /* KiB */
static long opt_fd_slack = 2;
static long opt_local_ms = 1000; /* local churn per cycle */
static bool opt_remote = true;
static const char *opt_base;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "soak: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

/* The run's own generator: seeded, and not the program's rand(). */
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static bool chance(unsigned percent)
{
	return pick(100) < percent;
}

/* Records ----------------------------------------------------------------- */

struct rec {
	int32_t wd;
	uint32_t mask, cookie, len;
	unsigned ord; /* the cookie's number (number_cookies) */
	char name[NAME_MAX + 1];
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void recs_push(struct recs *l, const struct inotify_event *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct rec *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			die("out of memory");
		l->v = v;
		l->cap = cap;
	}
	struct rec *r = &l->v[l->n++];
	r->wd = e->wd;
	r->mask = e->mask;
	r->cookie = e->cookie;
	r->len = e->len;
	snprintf(r->name, sizeof r->name, "%s", e->len ? e->name : "");
}

static char rbuf[1 << 16] __attribute__((aligned(8)));

/* Everything fd holds now, appended to l (l may be NULL: discarded). */
static size_t read_all(int fd, bool uin, struct recs *l)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = uin ? uinotify_read(fd, rbuf, sizeof rbuf)
				: read(fd, rbuf, sizeof rbuf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return got;
		if (n <= 0)
			die("read of an inotify instance: %s",
			    n < 0 ? strerror(errno) : "end of file");
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *e = (void *)(rbuf + off);
			if (l)
				recs_push(l, e);
			got++;
			off += (ssize_t)(sizeof *e + e->len);
		}
	}
}

static void mask_str(uint32_t m, char *out, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{IN_ACCESS, "ACCESS"},	       {IN_MODIFY, "MODIFY"},
		{IN_ATTRIB, "ATTRIB"},	       {IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
		{IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
		{IN_CREATE, "CREATE"},	       {IN_DELETE, "DELETE"},
		{IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
		{IN_UNMOUNT, "UNMOUNT"},       {IN_Q_OVERFLOW, "Q_OVERFLOW"},
		{IN_IGNORED, "IGNORED"},       {IN_ISDIR, "ISDIR"},
	};
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if ((m & bits[i].bit) && o < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s",
					      o ? "|" : "", bits[i].name);
	if (!o)
		snprintf(out, len, "%#x", m);
}

static void rec_print(const char *who, const struct rec *r, unsigned cookie)
{
	char m[200];
	mask_str(r->mask, m, sizeof m);
	fprintf(stderr, "    %s wd=%d %s cookie#%u len=%u \"%s\"\n", who, r->wd,
		m, cookie, r->len, r->name);
}

/* Cookies numbered in order of first appearance (what may differ between
 * two instances), into each record's ord. */
static void number_cookies(struct recs *l)
{
	static uint32_t *seen;
	static size_t cap;
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t c = l->v[i].cookie;
		l->v[i].ord = 0;
		if (!c)
			continue;
		size_t j = 0;
		while (j < n && seen[j] != c)
			j++;
		if (j == n) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				uint32_t *s = realloc(seen, cap * sizeof *s);
				if (!s)
					die("out of memory");
				seen = s;
			}
			seen[n++] = c;
		}
		l->v[i].ord = (unsigned)j + 1;
	}
}

/* The process ------------------------------------------------------------- */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (!f)
		die("/proc/self/statm: %s", strerror(errno));
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		die("/proc/self/statm: unreadable");
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("/proc/self/fd: %s", strerror(errno));
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* opendir's own */
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

static void rm_tree(const char *p)
{
	nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *fs_name(const char *path)
{
	struct statfs s;
	if (statfs(path, &s) != 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case 0xef53:
		return "ext4";
	case 0x01021994:
		return "tmpfs";
	case 0x9123683e:
		return "btrfs";
	case 0x58465342:
		return "xfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

static char wbuf[256];

/* One file operation; 0 or -errno. */
static int write_file(const char *path, int flags, size_t n)
{
	int fd = open(path, O_WRONLY | flags, 0644);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (n && write(fd, wbuf, n) != (ssize_t)n)
		r = -errno;
	close(fd);
	return r;
}

static int res(int r)
{
	return r < 0 ? -errno : r;
}

/* Local: twin trees ----------------------------------------------------------
 *
 * The model is the tree both sides hold (they are equal by construction):
 * node 0 is the root; a directory carries the wd of its watch, equal on
 * both sides.  Names are numbered, never reused.
 */
#define L_MAXN 96
#define L_MAXDIRS 10
#define L_MAXFILES 60
#define L_REL 640
#define L_FWATCH 16
#define L_CHURN 8

struct lnode {
	char rel[L_REL];
	bool dir;
	int wd;
};

static struct {
	char kroot[PATH_MAX], uroot[PATH_MAX];
	int kfd, ufd, cfd; /* cfd: the churn instance, uinotify tree */
	struct lnode n[L_MAXN];
	int nn;
	int fwatch[L_FWATCH], nfwatch; /* watches on files (main pair) */
	int churn[L_CHURN], nchurn;
	unsigned long names;
	struct recs k, u;
	/* figures */
	long rounds, bad_rounds, ops, op_diffs, records, fionread_diffs,
		reopens, rewatches, file_watches, churn_adds, churn_errors;
	bool resync;
} L;

static const char *lpath(bool k, const char *rel)
{
	static char bufs[8][PATH_MAX + L_REL + 2];
	static unsigned next;
	char *b = bufs[next++ % 8];
	const char *root = k ? L.kroot : L.uroot;
	if (rel[0])
		snprintf(b, sizeof bufs[0], "%s/%s", root, rel);
	else
		snprintf(b, sizeof bufs[0], "%s", root);
	return b;
}

static int depth(const char *rel)
{
	if (!rel[0])
		return 0;
	int d = 1;
	for (; *rel; rel++)
		d += *rel == '/';
	return d;
}

static void op_diff(const char *what, const char *rel, int rk, int ru)
{
	L.op_diffs++;
	L.resync = true;
	if (L.op_diffs <= 10)
		fprintf(stderr,
			"soak: local round %ld: %s %s: kernel %d, uinotify %d\n",
			L.rounds, what, rel, rk, ru);
}

static int pick_node(bool dir, bool nonroot)
{
	int c[L_MAXN], nc = 0;
	for (int i = nonroot ? 1 : 0; i < L.nn; i++)
		if (L.n[i].dir == dir)
			c[nc++] = i;
	return nc ? c[pick((unsigned)nc)] : -1;
}

static int count_nodes(bool dir)
{
	int c = 0;
	for (int i = 0; i < L.nn; i++)
		c += L.n[i].dir == dir;
	return c;
}

static void drop_node(int i)
{
	L.n[i] = L.n[--L.nn];
}

/* A new name under directory node d: "f12", sometimes long (names of up
 * to 140 bytes: the records' padding). */
static bool new_rel(int d, char file, char *out)
{
	char name[160];
	int len = snprintf(name, sizeof name, "%c%lu", file, ++L.names);
	if (file == 'f' && chance(10)) {
		int pad = (int)pick(130);
		memset(name + len, 'x', (size_t)pad);
		name[len + pad] = 0;
	}
	const char *p = L.n[d].rel;
	int n = p[0] ? snprintf(out, L_REL, "%s/%s", p, name)
		     : snprintf(out, L_REL, "%s", name);
	return n > 0 && n < L_REL;
}

static const uint32_t dir_masks[] = {
	IN_ALL_EVENTS,
	IN_ALL_EVENTS,
	IN_ALL_EVENTS,
	IN_CREATE | IN_DELETE | IN_MOVE | IN_DELETE_SELF | IN_MOVE_SELF,
	IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVE |
		IN_ATTRIB | IN_DELETE_SELF,
	IN_OPEN | IN_CLOSE | IN_MOVED_TO | IN_CREATE,
};

static uint32_t any_mask(void)
{
	return dir_masks[pick(sizeof dir_masks / sizeof dir_masks[0])];
}

/* add_watch on both sides; the wd, or -1 after a difference. */
static int l_watch_both(const char *rel, uint32_t mask)
{
	int rk = res(inotify_add_watch(L.kfd, lpath(true, rel), mask));
	int ru = res(uinotify_add_watch(L.ufd, lpath(false, rel), mask));
	L.ops++;
	if (rk != ru) {
		op_diff("add_watch", rel, rk, ru);
		return -1;
	}
	return rk;
}

static void l_rm_watch_both(int wd, const char *what)
{
	int rk = res(inotify_rm_watch(L.kfd, wd));
	int ru = res(uinotify_rm_watch(L.ufd, wd));
	L.ops++;
	if (rk != ru)
		op_diff("rm_watch", what, rk, ru);
}

static void l_open_instances(void)
{
	L.kfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	L.ufd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (L.kfd < 0 || L.ufd < 0)
		die("inotify_init1: %s", strerror(errno));
	L.nfwatch = 0;
	for (int i = 0; i < L.nn; i++)
		if (L.n[i].dir)
			L.n[i].wd = l_watch_both(L.n[i].rel, IN_ALL_EVENTS);
}

static void l_close_instances(void)
{
	close(L.kfd);
	uinotify_close(L.ufd);
}

/* A local operation on both sides, compared. */
#define BOTH(what, rel, call_k, call_u)                                      \
	do {                                                                 \
		int rk_ = (call_k), ru_ = (call_u);                          \
		L.ops++;                                                     \
		if (rk_ != ru_)                                              \
			op_diff(what, rel, rk_, ru_);                        \
	} while (0)

static void l_create(void)
{
	int d = pick_node(true, false);
	if (L.nn >= L_MAXN || count_nodes(false) >= L_MAXFILES)
		return;
	struct lnode *n = &L.n[L.nn];
	if (!new_rel(d, 'f', n->rel))
		return;
	size_t len = pick(3) ? pick(200) : 0;
	BOTH("create", n->rel,
	     write_file(lpath(true, n->rel), O_CREAT | O_EXCL, len),
	     write_file(lpath(false, n->rel), O_CREAT | O_EXCL, len));
	n->dir = false;
	n->wd = -1;
	L.nn++;
}

static void l_append(void)
{
	int f = pick_node(false, true);
	if (f < 0)
		return;
	size_t len = 1 + pick(100);
	const char *rel = L.n[f].rel;
	BOTH("append", rel, write_file(lpath(true, rel), O_APPEND, len),
	     write_file(lpath(false, rel), O_APPEND, len));
}

static void l_unlink(int f)
{
	const char *rel = L.n[f].rel;
	BOTH("unlink", rel, res(unlink(lpath(true, rel))),
	     res(unlink(lpath(false, rel))));
	drop_node(f);
}

static void l_rename_file(void)
{
	int f = pick_node(false, true);
	if (f < 0)
		return;
	char to[L_REL];
	int over = -1;
	if (chance(25)) {
		over = pick_node(false, true);
		if (over == f)
			return;
		snprintf(to, sizeof to, "%s", L.n[over].rel);
	} else if (!new_rel(pick_node(true, false), 'f', to)) {
		return;
	}
	BOTH("rename", L.n[f].rel,
	     res(rename(lpath(true, L.n[f].rel), lpath(true, to))),
	     res(rename(lpath(false, L.n[f].rel), lpath(false, to))));
	snprintf(L.n[f].rel, sizeof L.n[f].rel, "%s", to);
	if (over >= 0)
		drop_node(over);
}

static bool under(const char *rel, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(rel, dir, n) && (rel[n] == '/' || !rel[n]);
}

static void l_rename_dir(void)
{
	int d = pick_node(true, true);
	int to_dir = pick_node(true, false);
	if (d < 0 || under(L.n[to_dir].rel, L.n[d].rel))
		return;
	char old[L_REL], to[L_REL];
	memcpy(old, L.n[d].rel, sizeof old);
	if (!new_rel(to_dir, 'd', to))
		return;
	/* every path below must still fit */
	size_t grow = strlen(to) > strlen(old) ? strlen(to) - strlen(old) : 0;
	for (int i = 0; i < L.nn; i++)
		if (under(L.n[i].rel, old) && strlen(L.n[i].rel) + grow >= L_REL)
			return;
	BOTH("rename dir", old, res(rename(lpath(true, old), lpath(true, to))),
	     res(rename(lpath(false, old), lpath(false, to))));
	size_t on = strlen(old);
	for (int i = 0; i < L.nn; i++) {
		if (!under(L.n[i].rel, old))
			continue;
		/* fits: checked above */
		char tail[L_REL];
		snprintf(tail, sizeof tail, "%s", L.n[i].rel + on);
		if (snprintf(L.n[i].rel, sizeof L.n[i].rel, "%s%s", to, tail) >=
		    (int)sizeof L.n[i].rel)
			die("%s: too long a path", to);
	}
}

static void l_mkdir(void)
{
	int p = pick_node(true, false);
	if (L.nn >= L_MAXN || count_nodes(true) >= L_MAXDIRS ||
	    depth(L.n[p].rel) >= 3)
		return;
	struct lnode *n = &L.n[L.nn];
	if (!new_rel(p, 'd', n->rel))
		return;
	BOTH("mkdir", n->rel, res(mkdir(lpath(true, n->rel), 0755)),
	     res(mkdir(lpath(false, n->rel), 0755)));
	n->dir = true;
	L.nn++;
	/* watched at once, as inotifywait -r does */
	n->wd = l_watch_both(n->rel, IN_ALL_EVENTS);
}

/* rmdir of a directory without subdirectories, its files unlinked first. */
static void l_rmdir(void)
{
	int c[L_MAXN], nc = 0;
	for (int i = 1; i < L.nn; i++) {
		if (!L.n[i].dir)
			continue;
		bool leaf = true;
		for (int j = 1; j < L.nn && leaf; j++)
			if (j != i && L.n[j].dir && under(L.n[j].rel, L.n[i].rel))
				leaf = false;
		if (leaf)
			c[nc++] = i;
	}
	if (!nc)
		return;
	char rel[L_REL];
	snprintf(rel, sizeof rel, "%s", L.n[c[pick((unsigned)nc)]].rel);
	for (int i = L.nn - 1; i >= 1; i--)
		if (!L.n[i].dir && under(L.n[i].rel, rel))
			l_unlink(i);
	BOTH("rmdir", rel, res(rmdir(lpath(true, rel))),
	     res(rmdir(lpath(false, rel))));
	for (int i = 1; i < L.nn; i++)
		if (L.n[i].dir && !strcmp(L.n[i].rel, rel)) {
			drop_node(i);
			break;
		}
}

static void l_watch_churn(void)
{
	unsigned what = pick(4);
	if (what == 0) {
		/* a directory's watch removed, then added with another mask */
		int d = pick_node(true, false);
		if (L.n[d].wd < 0)
			return;
		l_rm_watch_both(L.n[d].wd, L.n[d].rel);
		L.n[d].wd = l_watch_both(L.n[d].rel, any_mask());
		L.rewatches++;
	} else if (what == 1) {
		/* the mask of a directory's watch changed in place */
		int d = pick_node(true, false);
		uint32_t m = any_mask() | (chance(50) ? IN_MASK_ADD : 0);
		int wd = l_watch_both(L.n[d].rel, m);
		if (wd != L.n[d].wd && wd >= 0)
			op_diff("add_watch (existing)", L.n[d].rel, wd,
				L.n[d].wd);
	} else if (what == 2 && L.nfwatch < L_FWATCH) {
		int f = pick_node(false, true);
		if (f < 0)
			return;
		uint32_t m = any_mask() | (chance(30) ? IN_ONESHOT : 0);
		int wd = l_watch_both(L.n[f].rel, m);
		if (wd >= 0)
			L.fwatch[L.nfwatch++] = wd;
		L.file_watches++;
	} else if (L.nfwatch) {
		/* gone already when its file went, or IN_ONESHOT: EINVAL
		 * on both sides */
		unsigned i = pick((unsigned)L.nfwatch);
		l_rm_watch_both(L.fwatch[i], "(a file's watch)");
		L.fwatch[i] = L.fwatch[--L.nfwatch];
	}
}

/* The third instance: watches on the uinotify tree, added and removed. */
static void l_churn_add(void)
{
	if (L.nchurn >= L_CHURN)
		return;
	int i = (int)pick((unsigned)L.nn);
	int wd = uinotify_add_watch(L.cfd, lpath(false, L.n[i].rel),
				    any_mask() | IN_ALL_EVENTS * chance(20));
	L.churn_adds++;
	if (wd < 0)
		L.churn_errors++;
	else
		L.churn[L.nchurn++] = wd;
}

static void l_churn_clear(void)
{
	for (int i = 0; i < L.nchurn; i++)
		if (uinotify_rm_watch(L.cfd, L.churn[i]) < 0 && errno != EINVAL)
			L.churn_errors++;
	L.nchurn = 0;
	read_all(L.cfd, true, NULL);
}

static void l_show_difference(size_t at)
{
	fprintf(stderr, "soak: local round %ld differs at record %zu "
			"(kernel %zu records, uinotify %zu):\n",
		L.rounds, at, L.k.n, L.u.n);
	size_t from = at > 8 ? at - 8 : 0;
	for (size_t i = from; i < at + 8; i++) {
		if (i < L.k.n)
			rec_print("kernel  ", &L.k.v[i], L.k.v[i].ord);
		if (i < L.u.n)
			rec_print("uinotify", &L.u.v[i], L.u.v[i].ord);
	}
}

/* FIONREAD and every record of this round, both sides. */
static void l_compare(void)
{
	int qk = -1, qu = -1;
	ioctl(L.kfd, FIONREAD, &qk);
	uinotify_ioctl(L.ufd, FIONREAD, &qu);
	L.k.n = L.u.n = 0;
	read_all(L.kfd, false, &L.k);
	read_all(L.ufd, true, &L.u);
	number_cookies(&L.k);
	number_cookies(&L.u);
	L.records += (long)L.k.n;
	bool bad = false;
	if (qk != qu) {
		L.fionread_diffs++;
		bad = true;
		if (L.fionread_diffs <= 5)
			fprintf(stderr, "soak: local round %ld: FIONREAD "
					"kernel %d, uinotify %d\n",
				L.rounds, qk, qu);
	}
	size_t n = L.k.n > L.u.n ? L.k.n : L.u.n;
	for (size_t i = 0; i < n; i++) {
		const struct rec *a = i < L.k.n ? &L.k.v[i] : NULL;
		const struct rec *b = i < L.u.n ? &L.u.v[i] : NULL;
		if (a && b && a->wd == b->wd && a->mask == b->mask &&
		    a->len == b->len && a->ord == b->ord &&
		    !strcmp(a->name, b->name))
			continue;
		bad = true;
		if (L.bad_rounds < 3)
			l_show_difference(i);
		break;
	}
	if (bad)
		L.bad_rounds++;
	if (bad || L.resync) {
		/* start again from equal instances */
		l_close_instances();
		l_open_instances();
		L.resync = false;
	}
}

static void l_setup(const char *dir)
{
	snprintf(L.kroot, sizeof L.kroot, "%s/local-kernel", dir);
	snprintf(L.uroot, sizeof L.uroot, "%s/local-uinotify", dir);
	if (mkdir(L.kroot, 0755) || mkdir(L.uroot, 0755))
		die("mkdir %s: %s", L.kroot, strerror(errno));
	L.nn = 1;
	L.n[0].rel[0] = 0;
	L.n[0].dir = true;
	for (int i = 0; i < 3; i++) {
		struct lnode *n = &L.n[L.nn++];
		new_rel(0, 'd', n->rel);
		n->dir = true;
		if (mkdir(lpath(true, n->rel), 0755) ||
		    mkdir(lpath(false, n->rel), 0755))
			die("mkdir: %s", strerror(errno));
	}
	l_open_instances();
	L.cfd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (L.cfd < 0)
		die("uinotify_init1: %s", strerror(errno));
}

static void l_round(void)
{
	L.rounds++;
	int ops = 60 + (int)pick(80);
	for (int i = 0; i < ops; i++) {
		unsigned p = pick(100);
		if (p < 22)
			l_create();
		else if (p < 46)
			l_append();
		else if (p < 60)
			l_rename_file();
		else if (p < 72) {
			int f = pick_node(false, true);
			if (f >= 0)
				l_unlink(f);
		} else if (p < 78)
			l_mkdir();
		else if (p < 82)
			l_rmdir();
		else if (p < 86)
			l_rename_dir();
		else if (p < 94)
			l_watch_churn();
		else
			l_churn_add();
	}
	l_compare();
	l_churn_clear();
	if (L.rounds % 50 == 0) {
		l_close_instances();
		l_open_instances();
		L.reopens++;
	}
}

static void l_teardown(void)
{
	l_close_instances();
	uinotify_close(L.cfd);
	free(L.k.v);
	free(L.u.v);
}

/* Remote: behind bindfs ------------------------------------------------------
 *
 * A flat tree: the root and up to 6 directories in it, files in each.
 * Changes are made in the backing directory (src), watched through the
 * mount (mnt).
 */
#define R_MAXDIRS 7
#define R_MAXFILES 90

struct rdir {
	char name[32];
	int wd;
};

struct rfile {
	char name[48];
	int dir; /* index in R.d */
	int round; /* last touched in */
};

enum rkind { X_CREATE, X_DELETE, X_RENAME, X_APPEND, X_MKDIR, X_RMDIR };

struct rexp {
	enum rkind kind;
	int wd1, wd2; /* the directory (from); to (rename); the removed
			 directory's own wd (rmdir) */
	char n1[48], n2[48];
	bool created, deleted, from, to, modified, ignored;
	bool as_moved_to, as_moved_from; /* a create, a delete, reported so */
	uint32_t from_cookie, to_cookie;
};

static struct {
	char src[PATH_MAX], mnt[PATH_MAX];
	pid_t bindfs;
	bool on;
	int fd, cfd; /* the watching instance; the churn instance */
	struct rdir d[R_MAXDIRS];
	int nd;
	struct rfile f[R_MAXFILES];
	int nf;
	unsigned long names;
	struct rexp x[64];
	int nx;
	struct recs ev;
	/* figures */
	long rounds, creates, creates_found, creates_as_moved_to, deletes,
		deletes_found, deletes_as_moved_from,
		delete_create_pairs, renames, renames_pair, renames_delcre,
		renames_other, appends, appends_modify, mkdirs, mkdirs_found,
		rmdirs, rmdirs_found, extra_modify, unexpected, rewatches,
		churn_adds, churn_errors, watch_errors;
	double wait_s;
} R;

static const char *rpath(bool backing, int d, const char *file)
{
	static char bufs[8][2 * PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];
	const char *root = backing ? R.src : R.mnt;
	const char *dn = R.d[d].name;
	snprintf(b, sizeof bufs[0], "%s%s%s%s%s", root, dn[0] ? "/" : "", dn,
		 file ? "/" : "", file ? file : "");
	return b;
}

static bool bindfs_mount(void)
{
	const char *why;
	if (bench_bindfs_mount(R.src, R.mnt, &R.bindfs, &why))
		return true;
	printf("remote: not measured (%s)\n", why);
	return false;
}

static void bindfs_umount(void)
{
	bench_bindfs_umount(R.mnt, &R.bindfs);
}

#define R_MASK                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY |   \
	 IN_DELETE_SELF | IN_MOVE_SELF)

static int r_watch(int d)
{
	int wd = uinotify_add_watch(R.fd, rpath(false, d, NULL), R_MASK);
	if (wd < 0) {
		R.watch_errors++;
		fprintf(stderr, "soak: remote add_watch %s: %s\n",
			rpath(false, d, NULL), strerror(errno));
	}
	return wd;
}

/* Before any thread: the mount namespace needs a single thread. */
static void r_mount(const char *dir)
{
	if (snprintf(R.src, sizeof R.src, "%s/remote-backing", dir) >=
		    (int)sizeof R.src ||
	    snprintf(R.mnt, sizeof R.mnt, "%s/remote-mount", dir) >=
		    (int)sizeof R.mnt)
		die("%s: too long a path", dir);
	if (mkdir(R.src, 0755) || mkdir(R.mnt, 0755))
		die("mkdir %s: %s", R.src, strerror(errno));
	/* a mount of our own: nothing left behind if we die */
	if (unshare(CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	R.on = bindfs_mount();
}

static void r_new_file(int d, size_t len)
{
	struct rfile *f = &R.f[R.nf++];
	snprintf(f->name, sizeof f->name, "r%lu", ++R.names);
	f->dir = d;
	f->round = (int)R.rounds;
	if (write_file(rpath(true, d, f->name), O_CREAT | O_EXCL, len) < 0)
		die("create %s: %s", rpath(true, d, f->name), strerror(errno));
}

static void r_setup(void)
{
	R.fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	R.cfd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (R.fd < 0 || R.cfd < 0)
		die("uinotify_init1: %s", strerror(errno));
	R.nd = 4;
	for (int d = 1; d < R.nd; d++) {
		snprintf(R.d[d].name, sizeof R.d[d].name, "rd%lu", ++R.names);
		if (mkdir(rpath(true, d, NULL), 0755))
			die("mkdir: %s", strerror(errno));
	}
	for (int i = 0; i < 40; i++)
		r_new_file(i % R.nd, 1 + pick(100));
	for (int d = 0; d < R.nd; d++)
		R.d[d].wd = r_watch(d);
}

static struct rexp *r_expect(enum rkind kind, int wd1, const char *n1,
			     int wd2, const char *n2)
{
	if (R.nx >= (int)(sizeof R.x / sizeof R.x[0]))
		die("too many changes in a round");
	struct rexp *x = &R.x[R.nx++];
	memset(x, 0, sizeof *x);
	x->kind = kind;
	x->wd1 = wd1;
	x->wd2 = wd2;
	snprintf(x->n1, sizeof x->n1, "%s", n1);
	snprintf(x->n2, sizeof x->n2, "%s", n2 ? n2 : "");
	return x;
}

/* Which change an event is about; false: none. */
static bool r_match(const struct rec *e)
{
	uint32_t m = e->mask;
	bool isdir = m & IN_ISDIR;
	for (int i = 0; i < R.nx; i++) {
		struct rexp *x = &R.x[i];
		bool at1 = e->wd == x->wd1 && !strcmp(e->name, x->n1);
		bool at2 = e->wd == x->wd2 && !strcmp(e->name, x->n2);
		switch (x->kind) {
		case X_CREATE:
			if (at1 && (m & IN_CREATE) && !isdir)
				return x->created = true;
			if (at1 && (m & IN_MOVED_TO)) {
				x->to_cookie = e->cookie;
				return x->created = x->as_moved_to = true;
			}
			if (at1 && (m & IN_MODIFY)) {
				R.extra_modify++;
				return true;
			}
			break;
		case X_DELETE:
			if (at1 && (m & IN_DELETE) && !isdir)
				return x->deleted = true;
			/* paired with a create that got its inode number:
			 * without a birth time, the same identity */
			if (at1 && (m & IN_MOVED_FROM)) {
				x->from_cookie = e->cookie;
				return x->deleted = x->as_moved_from = true;
			}
			break;
		case X_RENAME:
			if (at1 && (m & IN_MOVED_FROM)) {
				x->from_cookie = e->cookie;
				return x->from = true;
			}
			if (at2 && (m & IN_MOVED_TO)) {
				x->to_cookie = e->cookie;
				return x->to = true;
			}
			if (at1 && (m & IN_DELETE))
				return x->deleted = true;
			if (at2 && (m & IN_CREATE))
				return x->created = true;
			if (at2 && (m & IN_MODIFY)) {
				R.extra_modify++;
				return true;
			}
			break;
		case X_APPEND:
			if (at1 && (m & IN_MODIFY)) {
				if (x->modified)
					R.extra_modify++;
				return x->modified = true;
			}
			break;
		case X_MKDIR:
			if (at1 && (m & IN_CREATE) && isdir)
				return x->created = true;
			break;
		case X_RMDIR:
			if (at1 && (m & IN_DELETE) && isdir)
				return x->deleted = true;
			if (e->wd == x->wd2 && (m & IN_IGNORED))
				return x->ignored = true;
			if (e->wd == x->wd2 && (m & IN_DELETE_SELF))
				return true;
			break;
		}
	}
	return false;
}

static bool r_structure_done(void)
{
	for (int i = 0; i < R.nx; i++) {
		const struct rexp *x = &R.x[i];
		switch (x->kind) {
		case X_CREATE:
		case X_MKDIR:
			if (!x->created)
				return false;
			break;
		case X_DELETE:
			if (!x->deleted)
				return false;
			break;
		case X_RENAME:
			if (!(x->from || x->deleted) || !(x->to || x->created))
				return false;
			break;
		case X_RMDIR:
			if (!x->deleted || !x->ignored)
				return false;
			break;
		case X_APPEND:
			break;
		}
	}
	return true;
}

static bool r_appends_done(void)
{
	for (int i = 0; i < R.nx; i++)
		if (R.x[i].kind == X_APPEND && !R.x[i].modified)
			return false;
	return true;
}

static void r_take_events(void)
{
	R.ev.n = 0;
	read_all(R.fd, true, &R.ev);
	for (size_t i = 0; i < R.ev.n; i++) {
		if (r_match(&R.ev.v[i]))
			continue;
		R.unexpected++;
		if (R.unexpected <= 10) {
			fprintf(stderr, "soak: remote round %ld: unexpected:\n",
				R.rounds);
			rec_print("scanner", &R.ev.v[i], R.ev.v[i].cookie);
		}
	}
}

static void r_count(void)
{
	for (int i = 0; i < R.nx; i++) {
		const struct rexp *x = &R.x[i];
		switch (x->kind) {
		case X_CREATE:
			R.creates++;
			R.creates_found += x->created;
			R.creates_as_moved_to += x->as_moved_to;
			break;
		case X_DELETE:
			R.deletes++;
			R.deletes_found += x->deleted;
			R.deletes_as_moved_from += x->as_moved_from;
			for (int j = 0; x->as_moved_from && j < R.nx; j++)
				if (R.x[j].kind == X_CREATE &&
				    R.x[j].as_moved_to &&
				    R.x[j].to_cookie == x->from_cookie)
					R.delete_create_pairs++;
			break;
		case X_RENAME:
			R.renames++;
			if (x->from && x->to && x->from_cookie &&
			    x->from_cookie == x->to_cookie && !x->deleted &&
			    !x->created)
				R.renames_pair++;
			else if (x->deleted && x->created && !x->from && !x->to)
				R.renames_delcre++;
			else {
				R.renames_other++;
				if (R.renames_other <= 10)
					fprintf(stderr,
						"soak: remote round %ld: rename "
						"%d/%s -> %d/%s: from %d, to %d "
						"(cookies %u %u), delete %d, "
						"create %d\n",
						R.rounds, x->wd1, x->n1, x->wd2,
						x->n2, x->from, x->to,
						x->from_cookie, x->to_cookie,
						x->deleted, x->created);
			}
			break;
		case X_APPEND:
			R.appends++;
			R.appends_modify += x->modified;
			break;
		case X_MKDIR:
			R.mkdirs++;
			R.mkdirs_found += x->created;
			break;
		case X_RMDIR:
			R.rmdirs++;
			R.rmdirs_found += x->deleted && x->ignored;
			break;
		}
		bool missed = (x->kind == X_CREATE || x->kind == X_MKDIR)
				      ? !x->created
			      : x->kind == X_DELETE ? !x->deleted
			      : x->kind == X_RMDIR  ? !(x->deleted && x->ignored)
						    : false;
		if (missed)
			fprintf(stderr, "soak: remote round %ld: %s %d/%s not "
					"reported\n",
				R.rounds,
				x->kind == X_CREATE   ? "create"
				: x->kind == X_DELETE ? "delete"
				: x->kind == X_MKDIR  ? "mkdir"
						      : "rmdir",
				x->wd1, x->n1);
	}
}

static void r_drop_file(int i)
{
	R.f[i] = R.f[--R.nf];
}

static int r_pick_file(int not_dir)
{
	int c[R_MAXFILES], nc = 0;
	for (int i = 0; i < R.nf; i++)
		if (R.f[i].round != (int)R.rounds && R.f[i].dir != not_dir)
			c[nc++] = i;
	return nc ? c[pick((unsigned)nc)] : -1;
}

static void r_pause(void)
{
	unsigned us = pick(15000);
	if (us > 1000)
		usleep(us);
}

static void r_round(void)
{
	R.rounds++;
	R.nx = 0;
	int gone = -1, made = -1;
	if (R.nd > 3 && chance(20)) {
		/* an rmdir, its files unlinked just before */
		gone = 1 + (int)pick((unsigned)R.nd - 1);
	}
	int ncreate = R.nf < 30 ? 6 : R.nf > 70 ? 1 : 3;
	int ndelete = R.nf > 50 ? 5 : R.nf < 20 ? 1 : 3;
	int nrename = 4, nappend = 8;
	int nmkdir = R.nd < R_MAXDIRS && gone < 0 && chance(25);
	/* the operations in a random order */
	char order[40];
	int no = 0;
	for (int i = 0; i < ncreate; i++)
		order[no++] = 'c';
	for (int i = 0; i < ndelete; i++)
		order[no++] = 'd';
	for (int i = 0; i < nrename; i++)
		order[no++] = 'r';
	for (int i = 0; i < nappend; i++)
		order[no++] = 'a';
	if (nmkdir)
		order[no++] = 'm';
	if (gone >= 0)
		order[no++] = 'x';
	for (int i = no - 1; i > 0; i--) {
		int j = (int)pick((unsigned)i + 1);
		char t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int o = 0; o < no && !stop; o++) {
		r_pause();
		switch (order[o]) {
		case 'c': {
			if (R.nf >= R_MAXFILES)
				break;
			int d = (int)pick((unsigned)R.nd);
			if (d == gone || d == made)
				d = 0;
			r_new_file(d, pick(3) ? 1 + pick(100) : 0);
			const struct rfile *f = &R.f[R.nf - 1];
			r_expect(X_CREATE, R.d[d].wd, f->name, 0, NULL);
			break;
		}
		case 'd': {
			int i = r_pick_file(gone);
			if (i < 0)
				break;
			struct rfile *f = &R.f[i];
			if (unlink(rpath(true, f->dir, f->name)))
				die("unlink: %s", strerror(errno));
			r_expect(X_DELETE, R.d[f->dir].wd, f->name, 0, NULL);
			r_drop_file(i);
			break;
		}
		case 'r': {
			int i = r_pick_file(gone);
			if (i < 0)
				break;
			struct rfile *f = &R.f[i];
			int to = (int)pick((unsigned)R.nd);
			if (to == gone || to == made)
				to = 0;
			char name[48];
			snprintf(name, sizeof name, "r%lu", ++R.names);
			char from[2 * PATH_MAX];
			snprintf(from, sizeof from, "%s",
				 rpath(true, f->dir, f->name));
			if (rename(from, rpath(true, to, name)))
				die("rename: %s", strerror(errno));
			r_expect(X_RENAME, R.d[f->dir].wd, f->name, R.d[to].wd,
				 name);
			snprintf(f->name, sizeof f->name, "%s", name);
			f->dir = to;
			f->round = (int)R.rounds;
			break;
		}
		case 'a': {
			int i = r_pick_file(gone);
			if (i < 0)
				break;
			struct rfile *f = &R.f[i];
			if (write_file(rpath(true, f->dir, f->name), O_APPEND,
				       1 + pick(100)) < 0)
				die("append: %s", strerror(errno));
			r_expect(X_APPEND, R.d[f->dir].wd, f->name, 0, NULL);
			f->round = (int)R.rounds;
			break;
		}
		case 'm': {
			made = R.nd;
			struct rdir *d = &R.d[R.nd++];
			snprintf(d->name, sizeof d->name, "rd%lu", ++R.names);
			d->wd = -1;
			if (mkdir(rpath(true, made, NULL), 0755))
				die("mkdir: %s", strerror(errno));
			r_expect(X_MKDIR, R.d[0].wd, d->name, 0, NULL);
			break;
		}
		case 'x': {
			for (int i = R.nf - 1; i >= 0; i--) {
				if (R.f[i].dir != gone)
					continue;
				if (unlink(rpath(true, gone, R.f[i].name)))
					die("unlink: %s", strerror(errno));
				r_expect(X_DELETE, R.d[gone].wd, R.f[i].name, 0,
					 NULL);
				r_drop_file(i);
			}
			if (rmdir(rpath(true, gone, NULL)))
				die("rmdir: %s", strerror(errno));
			r_expect(X_RMDIR, R.d[0].wd, R.d[gone].name,
				 R.d[gone].wd, NULL);
			break;
		}
		}
	}
	/* wait until every change is accounted for */
	double t0 = now_s();
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	double modify_by = t0 + (double)st.cold_period_ms / 1000 + 2;
	double structure_by = t0 + 10;
	for (;;) {
		r_take_events();
		bool s = r_structure_done(), a = r_appends_done();
		double t = now_s();
		if ((s && a) || t > structure_by || (s && t > modify_by))
			break;
		struct pollfd p = {.fd = R.fd, .events = POLLIN};
		poll(&p, 1, 50);
	}
	R.wait_s += now_s() - t0;
	/* two ticks more: anything extra shows */
	uin_scan_wait_ticks(2, 5000);
	r_take_events();
	r_count();
	if (made >= 0)
		R.d[made].wd = r_watch(made);
	if (gone >= 0) {
		R.d[gone] = R.d[--R.nd];
		for (int i = 0; i < R.nf; i++)
			if (R.f[i].dir == R.nd)
				R.f[i].dir = gone;
	}
	/* watch churn: a directory's watch removed and added again */
	if (chance(15)) {
		int d = (int)pick((unsigned)R.nd);
		if (R.d[d].wd >= 0 && uinotify_rm_watch(R.fd, R.d[d].wd) < 0)
			R.watch_errors++;
		R.ev.n = 0;
		read_all(R.fd, true, &R.ev);
		for (size_t i = 0; i < R.ev.n; i++)
			if (!(R.ev.v[i].mask & IN_IGNORED) ||
			    R.ev.v[i].wd != R.d[d].wd)
				R.unexpected++;
		R.d[d].wd = r_watch(d);
		R.rewatches++;
	}
	/* and a second instance's watches, for a tick */
	int cw[6], ncw = 0;
	for (int i = 0, n = 1 + (int)pick(5); i < n; i++) {
		int fi = R.nf ? (int)pick((unsigned)R.nf) : -1;
		const char *p = fi >= 0 && chance(70)
					? rpath(false, R.f[fi].dir, R.f[fi].name)
					: rpath(false, (int)pick((unsigned)R.nd),
						NULL);
		int wd = uinotify_add_watch(R.cfd, p, any_mask());
		R.churn_adds++;
		if (wd < 0)
			R.churn_errors++;
		else
			cw[ncw++] = wd;
	}
	uin_scan_wait_ticks(1, 5000);
	for (int i = 0; i < ncw; i++)
		if (uinotify_rm_watch(R.cfd, cw[i]) < 0 && errno != EINVAL)
			R.churn_errors++;
	read_all(R.cfd, true, NULL);
}

static int r_watched_dirs(void)
{
	int n = 0;
	for (int d = 0; d < R.nd; d++)
		n += R.d[d].wd >= 0;
	return n;
}

static void r_teardown(void)
{
	uinotify_close(R.fd);
	uinotify_close(R.cfd);
	free(R.ev.v);
	/* the scanner lets go of its descriptors on its loop thread */
	struct uin_scan_stats st;
	for (int i = 0; i < 100; i++) {
		uin_scan_get_stats(&st);
		if (!st.fds)
			break;
		uin_scan_wait_ticks(1, 100);
	}
}

/* Samples -------------------------------------------------------------------- */

struct sample {
	double t;
	long rss, fds, norm;
};

static struct sample *samples;
static int nsamples, cap_samples;

static void take_sample(double t)
{
	/* the watches that went are released on the loop thread */
	if (R.on)
		uin_scan_wait_ticks(2, 5000);
	if (nsamples == cap_samples) {
		cap_samples = cap_samples ? cap_samples * 2 : 128;
		struct sample *s = realloc(samples, (size_t)cap_samples *
							     sizeof *s);
		if (!s)
			die("out of memory");
		samples = s;
	}
	struct sample *s = &samples[nsamples++];
	s->t = t;
	s->rss = rss_kib();
	s->fds = fd_count();
	s->norm = s->fds - (R.on ? r_watched_dirs() : 0);
	printf("t=%4.0f s  rss %6ld KiB  fds %3ld (%ld without the remote "
	       "directories' scanner descriptors)  local rounds %ld, "
	       "differences %ld  remote rounds %ld\n",
	       t, s->rss, s->fds, s->norm, L.rounds,
	       L.bad_rounds + L.op_diffs, R.rounds);
}

/* Main ----------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: soak [--seconds N] [--seed S] [--dir BASE] "
		"[--sample N] [--warmup N]\n"
		"            [--rss-slack KIB] [--fd-slack N] [--local-ms MS] "
		"[--no-remote]\n");
	exit(2);
}

static long num_arg(int argc, char **argv, int *i, long min)
{
	if (*i + 1 >= argc)
		usage();
	char *end;
	errno = 0;
	long v = strtol(argv[++*i], &end, 10);
	if (errno || *end || end == argv[*i] || v < min)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--seconds"))
			opt_seconds = num_arg(argc, argv, &i, 1);
		else if (!strcmp(a, "--seed"))
			opt_seed = (unsigned long)num_arg(argc, argv, &i, 0);
		else if (!strcmp(a, "--sample"))
			opt_sample = num_arg(argc, argv, &i, 1);
		else if (!strcmp(a, "--warmup"))
			opt_warmup = num_arg(argc, argv, &i, 0);
		else if (!strcmp(a, "--rss-slack"))
			opt_rss_slack = num_arg(argc, argv, &i, 0);
		else if (!strcmp(a, "--fd-slack"))
			opt_fd_slack = num_arg(argc, argv, &i, 0);
		else if (!strcmp(a, "--local-ms"))
			opt_local_ms = num_arg(argc, argv, &i, 1);
		else if (!strcmp(a, "--no-remote"))
			opt_remote = false;
		else if (!strcmp(a, "--dir") && i + 1 < argc)
			opt_base = argv[++i];
		else
			usage();
	}
	if (opt_warmup < 0)
		opt_warmup = opt_seconds / 4 < 60 ? opt_seconds / 4 : 60;
	if (!opt_base)
		opt_base = getenv("TMPDIR") && *getenv("TMPDIR")
				   ? getenv("TMPDIR")
				   : "/tmp";
	rng = (opt_seed + 1) * 0x9E3779B97F4A7C15ULL;
	memset(wbuf, 'w', sizeof wbuf);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/uinotify-soak.%d", opt_base,
		 (int)getpid());
	if (mkdir(dir, 0755))
		die("mkdir %s: %s", dir, strerror(errno));
	printf("soak: %ld s, seed %lu, in %s (%s)\n", opt_seconds, opt_seed,
	       dir, fs_name(dir));
	/* before the library starts its thread */
	if (opt_remote)
		r_mount(dir);
	else
		printf("remote: not measured (--no-remote)\n");
	l_setup(dir);
	if (R.on)
		r_setup();

	double start = now_s(), end = start + (double)opt_seconds;
	double next_sample = start;
	take_sample(0);
	next_sample += (double)opt_sample;
	while (!stop && now_s() < end) {
		double slice = now_s() + (double)opt_local_ms / 1000;
		do
			l_round();
		while (!stop && now_s() < slice && now_s() < end);
		if (R.on && !stop)
			r_round();
		if (now_s() >= next_sample) {
			take_sample(now_s() - start);
			next_sample += (double)opt_sample;
		}
	}
	take_sample(now_s() - start);
	double elapsed = now_s() - start;

	l_teardown();
	if (R.on)
		r_teardown();
	if (R.on)
		bindfs_umount();
	rm_tree(dir);

	/* The report */
	printf("\n=== soak: %.0f s, seed %lu, %s%s\n", elapsed, opt_seed,
	       fs_name(opt_base), R.on ? ", remote behind bindfs" : "");
	long local_bad = L.bad_rounds + L.op_diffs;
	printf("local: %ld rounds, %ld operations, %ld records compared; "
	       "differences: %ld (rounds whose records or FIONREAD differ "
	       "%ld, operations whose results differ %ld)\n",
	       L.rounds, L.ops, L.records, local_bad, L.bad_rounds, L.op_diffs);
	printf("local watch churn: %ld directory watches removed and added "
	       "again, %ld watches on files, %ld instance pairs made again; "
	       "third instance: %ld watches added and removed, %ld errors\n",
	       L.rewatches, L.file_watches, L.reopens, L.churn_adds,
	       L.churn_errors);
	long remote_missed = 0;
	if (R.on) {
		remote_missed = (R.creates - R.creates_found) +
				(R.deletes - R.deletes_found) +
				(R.mkdirs - R.mkdirs_found) +
				(R.rmdirs - R.rmdirs_found);
		printf("remote: %ld rounds (%.2f s a round waiting for "
		       "events)\n",
		       R.rounds, R.rounds ? R.wait_s / (double)R.rounds : 0);
		printf("  creates:  %ld of %ld reported (%ld of them as "
		       "MOVED_TO)\n",
		       R.creates_found, R.creates, R.creates_as_moved_to);
		printf("  deletes:  %ld of %ld reported (%ld of them as "
		       "MOVED_FROM, %ld paired with a create's MOVED_TO)\n",
		       R.deletes_found, R.deletes, R.deletes_as_moved_from,
		       R.delete_create_pairs);
		printf("  mkdir:    %ld of %ld; rmdir: %ld of %ld\n",
		       R.mkdirs_found, R.mkdirs, R.rmdirs_found, R.rmdirs);
		printf("  renames:  %ld of %ld as a MOVED_FROM/MOVED_TO pair, "
		       "%ld as DELETE + CREATE, %ld otherwise\n",
		       R.renames_pair, R.renames, R.renames_delcre,
		       R.renames_other);
		printf("  appends:  %ld of %ld gave MODIFY (%ld without); "
		       "extra MODIFY %ld\n",
		       R.appends_modify, R.appends,
		       R.appends - R.appends_modify, R.extra_modify);
		printf("  events no change explains: %ld; watch errors %ld; "
		       "watch churn: %ld directory watches made again, %ld "
		       "watches of a second instance, %ld errors\n",
		       R.unexpected, R.watch_errors, R.rewatches, R.churn_adds,
		       R.churn_errors);
	}
	/* flat: the last sample against the first after warm-up */
	int w = 0;
	while (w < nsamples - 1 && samples[w].t < (double)opt_warmup)
		w++;
	const struct sample *first = &samples[0], *warm = &samples[w],
			    *last = &samples[nsamples - 1];
	long rss_max = 0, fds_max = 0, norm_max = 0;
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].rss > rss_max)
			rss_max = samples[i].rss;
		if (samples[i].fds > fds_max)
			fds_max = samples[i].fds;
		if (samples[i].norm > norm_max)
			norm_max = samples[i].norm;
	}
	printf("rss KiB: first %ld, after warm-up (t=%.0f s) %ld, last %ld, "
	       "max %ld (%d samples)\n",
	       first->rss, warm->t, warm->rss, last->rss, rss_max, nsamples);
	printf("fds: first %ld, after warm-up %ld, last %ld, max %ld; without "
	       "the remote directories' descriptors: %ld, %ld, %ld, max %ld\n",
	       first->fds, warm->fds, last->fds, fds_max, first->norm,
	       warm->norm, last->norm, norm_max);
#ifdef SOAK_SANITIZED
	bool rss_flat = true;
	const char *rss_said = "not judged under a sanitizer";
#else
	bool rss_flat = last->rss <= warm->rss + opt_rss_slack;
	const char *rss_said = rss_flat ? "flat" : "GROWS";
#endif
	bool fd_flat = last->norm <= warm->norm + opt_fd_slack;
	bool ok = !local_bad && !remote_missed && rss_flat && fd_flat &&
		  !stop;
	printf("verdict: %s (local differences %ld; remote changes not "
	       "reported %ld; rss %s, +%ld KiB after warm-up, bound %ld; fds "
	       "%s, %+ld, bound %ld%s)\n",
	       ok ? "PASS" : "FAIL", local_bad, remote_missed, rss_said,
	       last->rss - warm->rss, opt_rss_slack, fd_flat ? "flat" : "GROW",
	       last->norm - warm->norm, opt_fd_slack,
	       stop ? "; interrupted" : "");
	free(samples);
	return ok ? 0 : 1;
}
