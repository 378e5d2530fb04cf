/*
 * tests/test_source_scan_auto.c - the kernel source and the scanner on one
 * mount (UINOTIFY_SOURCE_AUTO on a FUSE mount): changes made through the
 * bindfs mount reach the kernel source (full fidelity, at once), changes
 * made to the backing directory only the scanner; each must be reported
 * exactly once, never by both.  And the scanner's own directory reads
 * must not show as OPEN/ACCESS/CLOSE_NOWRITE to a watch that asks for
 * those.
 */
#include "test_source_scan.h"

#include <dirent.h>

#include <uinotify/sources.h>

#include "sources/kernel.h"

/* The kinds that both sources can report. */
#define COUNTED                                                              \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM |       \
	 IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_IGNORED |          \
	 IN_MOVE_SELF)

struct want {
	int32_t wd;
	uint32_t mask;
	const char *name;
	int count;
};

/* Every counted event of l must be in w exactly as often as w says. */
static void check_counts(const struct evs *l, struct want *w, size_t nw)
{
	bool bad = false;
	for (size_t i = 0; i < nw; i++)
		w[i].count = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct ev *e = &l->v[i];
		uint32_t m = e->mask & COUNTED;
		if (!m)
			continue;
		size_t j = 0;
		for (; j < nw; j++)
			if (w[j].wd == e->wd && w[j].mask == (m | (e->mask &
								   IN_ISDIR)) &&
			    !strcmp(w[j].name ? w[j].name : "", e->name))
				break;
		if (j == nw) {
			fprintf(stderr, "unexpected: wd=%d mask=%#x %s\n",
				e->wd, e->mask, e->name);
			bad = true;
			continue;
		}
		w[j].count++;
	}
	for (size_t j = 0; j < nw; j++)
		if (w[j].count != 1) {
			fprintf(stderr, "wd=%d mask=%#x %s: %d times\n",
				w[j].wd, w[j].mask, w[j].name ? w[j].name : "",
				w[j].count);
			bad = true;
		}
	if (bad) {
		evs_dump("events", l);
		uin_test_fail(__FILE__, __LINE__, "not exactly once");
	}
}

static void wait_all(int fd, struct evs *l, const struct want *w, size_t nw)
{
	for (size_t j = 0; j < nw; j++)
		if (wait_event(fd, l, w[j].wd, w[j].mask, w[j].name, 8000) < 0) {
			evs_dump("so far", l);
			uin_test_fail(__FILE__, __LINE__,
				      "missing wd=%d mask=%#x %s", w[j].wd,
				      w[j].mask, w[j].name ? w[j].name : "");
		}
	/* Anything doubled shows within a few more ticks (and the
	 * close-write quiet time). */
	CHECK_OK(uin_scan_wait_ticks(8, 5000));
	read_now(fd, true, l);
}

TEST(each_change_once_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600], s2[600], m2[600];
#define SP(rel) (snprintf(s, sizeof s, "%s/%s", src, rel), s)
#define MP(rel) (snprintf(m, sizeof m, "%s/%s", mnt, rel), m)
#define SP2(rel) (snprintf(s2, sizeof s2, "%s/%s", src, rel), s2)
#define MP2(rel) (snprintf(m2, sizeof m2, "%s/%s", mnt, rel), m2)
	CHECK_OK(mkdir(SP("d"), 0755));
	write_text(SP("d/wm"), "watched, changed through the mount", O_CREAT);
	write_text(SP("d/ws"), "watched, changed behind it", O_CREAT);
	write_text(SP("d/em"), "e", O_CREAT);
	write_text(SP("d/es"), "e", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("d"), IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/wm"), IN_ALL_EVENTS), 2);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/ws"), IN_ALL_EVENTS), 3);
	unsigned wanted = 0, active = 0;
	struct evs l = {0};

	/* creations: through the mount (kernel), behind it (scanner) */
	write_text(MP("d/cm"), NULL, O_CREAT);
	write_text(SP("d/cs"), NULL, O_CREAT);
	CHECK_OK(mkdir(MP("d/dm"), 0755));
	CHECK_OK(mkdir(SP("d/ds"), 0755));
	/* writes, attributes */
	write_text(MP("d/wm"), "+", O_APPEND);
	write_text(SP("d/ws"), "+", O_APPEND);
	CHECK_OK(chmod(MP("d/em"), 0600));
	CHECK_OK(chmod(SP("d/es"), 0600));
	static struct want w1[] = {
		{1, IN_CREATE, "cm", 0},
		{1, IN_CLOSE_WRITE, "cm", 0},
		{1, IN_CREATE, "cs", 0},
		{1, IN_CLOSE_WRITE, "cs", 0},
		{1, IN_CREATE | IN_ISDIR, "dm", 0},
		{1, IN_CREATE | IN_ISDIR, "ds", 0},
		{1, IN_MODIFY, "wm", 0},
		{2, IN_MODIFY, NULL, 0},
		{1, IN_CLOSE_WRITE, "wm", 0},
		{2, IN_CLOSE_WRITE, NULL, 0},
		{1, IN_MODIFY, "ws", 0},
		{3, IN_MODIFY, NULL, 0},
		{1, IN_CLOSE_WRITE, "ws", 0},
		{3, IN_CLOSE_WRITE, NULL, 0},
		{1, IN_ATTRIB, "em", 0},
		{1, IN_ATTRIB, "es", 0},
	};
	wait_all(fd, &l, w1, sizeof w1 / sizeof *w1);
	check_counts(&l, w1, sizeof w1 / sizeof *w1);

	/* renames and deletions, both ways */
	l.n = 0;
	CHECK_OK(rename(MP("d/cm"), MP2("d/cm2")));
	CHECK_OK(rename(SP("d/cs"), SP2("d/cs2")));
	CHECK_OK(unlink(MP("d/em")));
	CHECK_OK(unlink(SP("d/es")));
	CHECK_OK(rmdir(MP("d/dm")));
	CHECK_OK(rmdir(SP("d/ds")));
	CHECK_OK(rename(MP("d/wm"), MP2("d/wm2")));
	CHECK_OK(rename(SP("d/ws"), SP2("d/ws2")));
	static struct want w2[] = {
		{1, IN_MOVED_FROM, "cm", 0},
		{1, IN_MOVED_TO, "cm2", 0},
		{1, IN_MOVED_FROM, "cs", 0},
		{1, IN_MOVED_TO, "cs2", 0},
		{1, IN_DELETE, "em", 0},
		{1, IN_DELETE, "es", 0},
		{1, IN_DELETE | IN_ISDIR, "dm", 0},
		{1, IN_DELETE | IN_ISDIR, "ds", 0},
		{1, IN_MOVED_FROM, "wm", 0},
		{1, IN_MOVED_TO, "wm2", 0},
		{2, IN_MOVE_SELF, NULL, 0},
		{1, IN_MOVED_FROM, "ws", 0},
		{1, IN_MOVED_TO, "ws2", 0},
		{3, IN_MOVE_SELF, NULL, 0},
	};
	wait_all(fd, &l, w2, sizeof w2 / sizeof *w2);
	check_counts(&l, w2, sizeof w2 / sizeof *w2);

	/* the watched files deleted, one each way */
	l.n = 0;
	CHECK_OK(unlink(MP("d/wm2")));
	CHECK_OK(unlink(SP("d/ws2")));
	static struct want w3[] = {
		{2, IN_ATTRIB, NULL, 0},
		{2, IN_DELETE_SELF, NULL, 0},
		{2, IN_IGNORED, NULL, 0},
		{1, IN_DELETE, "wm2", 0},
		{3, IN_ATTRIB, NULL, 0},
		{3, IN_DELETE_SELF, NULL, 0},
		{3, IN_IGNORED, NULL, 0},
		{1, IN_DELETE, "ws2", 0},
	};
	wait_all(fd, &l, w3, sizeof w3 / sizeof *w3);
	check_counts(&l, w3, sizeof w3 / sizeof *w3);
	/* the kernel's order for a local unlink of a watched file */
	long at = evs_find(&l, 0, 2, IN_ATTRIB, NULL);
	long ds = evs_find(&l, 0, 2, IN_DELETE_SELF, NULL);
	long de = evs_find(&l, 0, 1, IN_DELETE, "wm2");
	CHECK(at < ds && ds < de);

	struct uinotify_inode *in;
	CHECK_EQ(uinotify_path_inode(MP("d"), 0, UINOTIFY_SOURCE_AUTO, &in), 0);
	CHECK_EQ(uin_inode_sources(in, &wanted, &active), 0);
	uinotify_inode_put(in);
	CHECK_EQ(active, UIN_SRC_KERNEL | UIN_SRC_SCAN);
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	CHECK(st.suppressed > 0); /* the kernel's changes, found again */
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* Many local changes through the mount while the scanner runs fast: the
 * kernel reports each once, and the scanner none of them again. */
TEST(kernel_changes_not_repeated_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	char d[600], path[700], path2[700];
	snprintf(d, sizeof d, "%s/d", mnt);
	CHECK_OK(mkdir(d, 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, d, IN_CREATE | IN_DELETE | IN_MODIFY |
						   IN_ATTRIB | IN_MOVE),
		 1);
	enum { N = 300 };
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%s/f%d", d, i);
		write_text(path, "x", O_CREAT); /* CREATE, MODIFY */
		if (i % 3 == 0)
			CHECK_OK(chmod(path, 0600)); /* ATTRIB */
		if (i % 5 == 0) {
			snprintf(path2, sizeof path2, "%s/g%d", d, i);
			CHECK_OK(rename(path, path2)); /* MOVED_FROM/TO */
		} else if (i % 7 == 0) {
			CHECK_OK(unlink(path)); /* DELETE */
		}
		if (i % 50 == 0)
			uin_scan_wait_ticks(1, 1000); /* ticks in between */
	}
	long expect = 0;
	for (int i = 0; i < N; i++)
		expect += 2 + (i % 3 == 0) + (i % 5 == 0 ? 2 : i % 7 == 0);
	struct evs l = {0};
	read_until(fd, &l, 0, (size_t)expect, 10000);
	CHECK_OK(uin_scan_wait_ticks(6, 5000));
	read_now(fd, true, &l);
	if ((long)l.n != expect) {
		evs_dump("events", &l);
		uin_test_fail(__FILE__, __LINE__, "%zu events, want %ld", l.n,
			      expect);
	}
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* A watch that asks for OPEN/ACCESS/CLOSE_NOWRITE sees the listings of
 * others (through the mount), never the scanner's own. */
TEST(scanner_reads_not_reported_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char d[600], sub[700];
	snprintf(d, sizeof d, "%s/d", mnt);
	snprintf(sub, sizeof sub, "%s/d/sub", mnt);
	CHECK_OK(mkdir(d, 0755));
	CHECK_OK(mkdir(sub, 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, d, IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, sub, IN_ALL_EVENTS), 2);
	struct evs l = {0};
	/* Changes behind the mount make the scanner read both directories
	 * on every tick for a while (racy): plenty of reads. */
	char s[700];
	snprintf(s, sizeof s, "%s/d/x", src);
	write_text(s, NULL, O_CREAT);
	snprintf(s, sizeof s, "%s/d/sub/y", src);
	write_text(s, NULL, O_CREAT);
	CHECK(wait_event(fd, &l, 1, IN_CREATE, "x", 5000) >= 0);
	CHECK(wait_event(fd, &l, 2, IN_CREATE, "y", 5000) >= 0);
	CHECK_OK(uin_scan_wait_ticks(20, 5000));
	read_now(fd, true, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].mask & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE)) {
			evs_dump("events", &l);
			uin_test_fail(__FILE__, __LINE__, "a scanner read");
		}
	/* A listing of our own, with no tick running meanwhile, is real. */
	l.n = 0;
	uin_loop_dispatch_enter();
	DIR *dir = opendir(d);
	CHECK(dir);
	while (readdir(dir))
		;
	closedir(dir);
	uin_loop_dispatch_exit();
	CHECK(wait_event(fd, &l, 1, IN_OPEN | IN_ISDIR, NULL, 5000) >= 0);
	CHECK(wait_event(fd, &l, 1, IN_CLOSE_NOWRITE | IN_ISDIR, NULL, 5000) >=
	      0);
	/* and the parent's P half for the subdirectory's listing */
	l.n = 0;
	uin_loop_dispatch_enter();
	dir = opendir(sub);
	CHECK(dir);
	while (readdir(dir))
		;
	closedir(dir);
	uin_loop_dispatch_exit();
	CHECK(wait_event(fd, &l, 1, IN_OPEN | IN_ISDIR, "sub", 5000) >= 0);
	CHECK(wait_event(fd, &l, 2, IN_OPEN | IN_ISDIR, NULL, 5000) >= 0);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* The wd the kernel source's own instance has for path (its fdinfo). */
static int kernel_wd_of(const char *path)
{
	struct uin_kernel_stats ks;
	uin_kernel_get_stats(&ks);
	struct stat st;
	CHECK_OK(stat(path, &st));
	char p[64], line[512];
	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", ks.fd);
	FILE *f = fopen(p, "r");
	CHECK(f != NULL);
	int wd = -1;
	while (wd < 0 && fgets(line, sizeof line, f)) {
		int w;
		unsigned long ino;
		if (sscanf(line, "inotify wd:%d ino:%lx", &w, &ino) == 2 &&
		    ino == (unsigned long)st.st_ino)
			wd = w;
	}
	fclose(f);
	return wd;
}

/*
 * The scanner finds a new file before the kernel's events for it are read
 * (a local writer on the mount, its create seen by our listing first): it
 * reports the CREATE, and a CLOSE_WRITE is due once the file is quiet.
 * The kernel's own CLOSE_WRITE then comes (a tick later, say): that is the
 * one, and the scanner's must not follow it.  The kernel's late event is
 * injected, the dispatch lock held so that no tick runs meanwhile.
 */
TEST(a_late_kernel_close_is_not_repeated_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 300);
	char s[600], m[600];
	CHECK_OK(mkdir(SP("d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("d"), IN_CREATE | IN_CLOSE_WRITE),
		 1);
	int kwd = kernel_wd_of(MP("d"));
	CHECK(kwd > 0);
	struct evs l = {0};
	bool injected = false;
	/* A round whose scanner CLOSE_WRITE went out before we could say
	 * the kernel's (a stalled test) proves nothing: another name. */
	for (int round = 0; round < 5 && !injected; round++) {
		char name[16];
		snprintf(name, sizeof name, "f%d", round);
		snprintf(s, sizeof s, "%s/d/%s", src, name);
		write_text(s, "behind the mount", O_CREAT);
		CHECK(wait_event(fd, &l, 1, IN_CREATE, name, 8000) >= 0);
		uin_loop_dispatch_enter();
		read_now(fd, true, &l);
		if (evs_find(&l, 0, 1, IN_CLOSE_WRITE, name) < 0) {
			char b[sizeof(struct inotify_event) + 16]
				__attribute__((aligned(8))) = {0};
			struct inotify_event *k = (struct inotify_event *)b;
			k->wd = kwd;
			k->mask = IN_CLOSE_WRITE;
			k->len = 16;
			snprintf(k->name, 16, "%s", name);
			uin_kernel_debug_inject(k);
			injected = true;
		}
		uin_loop_dispatch_exit();
		if (!injected)
			continue;
		/* Past the close-write time, and a few ticks more. */
		CHECK(wait_event(fd, &l, 1, IN_CLOSE_WRITE, name, 8000) >= 0);
		CHECK_OK(uin_scan_wait_ticks(30, 8000));
		read_now(fd, true, &l);
		int cws = 0;
		for (size_t i = 0; i < l.n; i++)
			cws += l.v[i].wd == 1 && (l.v[i].mask & IN_CLOSE_WRITE) &&
			       !strcmp(l.v[i].name, name);
		if (cws != 1)
			evs_dump("events", &l);
		CHECK_EQ(cws, 1);
	}
	CHECK(injected);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A mask that leaves IN_MODIFY or IN_ATTRIB out (entr's among them): the
 * kernel watch is not asked for the writes, so the scanner finds them
 * too.  One local append through the mount gives the kernel's one
 * CLOSE_WRITE and no second, synthesised one; one append behind the mount
 * gives the scanner's one.  Over many ticks and the synthesis delay.
 */
TEST(one_close_write_per_append_whatever_the_mask_bindfs)
{
	static const uint32_t masks[] = {
		/* entr */
		IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
			IN_CREATE | IN_DELETE | IN_DELETE_SELF,
		IN_CLOSE_WRITE,
		IN_CLOSE_WRITE | IN_MODIFY,
		IN_CLOSE_WRITE | IN_ATTRIB,
	};
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600];
	CHECK_OK(mkdir(SP("d"), 0755));
	write_text(SP("d/f"), "first", O_CREAT);
	struct evs l = {0};
	for (size_t i = 0; i < sizeof masks / sizeof *masks; i++) {
		int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
		CHECK_EQ(uinotify_add_watch(fd, MP("d"), masks[i]), 1);
		for (int remote = 0; remote < 2; remote++) {
			l.n = 0;
			write_text(remote ? SP("d/f") : MP("d/f"), "+", O_APPEND);
			CHECK(wait_event(fd, &l, 1, IN_CLOSE_WRITE, "f", 8000) >= 0);
			/* 20 ms ticks; the synthesis delay is 60 ms */
			CHECK_OK(uin_scan_wait_ticks(25, 8000));
			read_now(fd, true, &l);
			int cws = 0;
			for (size_t k = 0; k < l.n; k++)
				cws += (l.v[k].mask & IN_CLOSE_WRITE) != 0;
			if (cws != 1) {
				fprintf(stderr, "mask %#x, %s append:\n", masks[i],
					remote ? "remote" : "local");
				evs_dump("events", &l);
			}
			CHECK_EQ(cws, 1);
		}
		CHECK_OK(uinotify_close(fd));
	}
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A watched file with two links on a bindfs mount, the watched name
 * unlinked through the mount: the kernel gives ATTRIB only (the file lives
 * on under the other name), and so must we, across many ticks.  bindfs
 * works by path: once the name is gone its node answers ENOENT, which must
 * not read as a death.  When the other link goes too (the kernel, whose
 * inode for that name is another, says nothing), the scanner finds the
 * object gone and ends the watch: DELETE_SELF, IGNORED.
 */
TEST(unlinking_one_of_two_links_is_no_death_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600], s2[600], m2[600];
	CHECK_OK(mkdir(SP("d"), 0755));
	write_text(SP("d/a"), "x", O_CREAT);
	CHECK_OK(link(SP("d/a"), SP2("d/b")));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/a"), IN_ATTRIB | IN_DELETE_SELF), 1);
	struct evs l = {0};
	CHECK_OK(unlink(MP("d/a")));
	CHECK_OK(uin_scan_wait_ticks(20, 5000));
	read_now(fd, true, &l);
	if (l.n != 1 || l.v[0].mask != IN_ATTRIB)
		evs_dump("after the first unlink", &l);
	CHECK_EQ(l.n, 1);
	CHECK_HEX(l.v[0].mask, IN_ATTRIB);
	l.n = 0;
	CHECK_OK(unlink(MP2("d/b")));
	CHECK(wait_event(fd, &l, 1, IN_IGNORED, NULL, 8000) >= 0);
	CHECK(evs_find(&l, 0, 1, IN_DELETE_SELF, NULL) >= 0);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A watched file on a bindfs mount, its watch asking for neither ATTRIB
 * nor DELETE_SELF, unlinked through the mount: the kernel has the IN_IGNORED
 * queued when unlink returns, and so must we (FIONREAD counts it, poll
 * says readable), though the scanner's descriptor keeps the kernel's own
 * from coming.
 */
TEST(unlinked_file_ignored_when_unlink_returns_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600];
	CHECK_OK(mkdir(SP("d"), 0755));
	write_text(SP("d/f"), "x", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/f"), IN_MODIFY), 1);
	CHECK_OK(unlink(MP("d/f")));
	/* FIONREAD first: a poll(fd, 0) before any call of ours can still
	 * miss what the kernel source has not handed over (issue 14). */
	int avail = -1;
	CHECK_OK(uinotify_ioctl(fd, FIONREAD, &avail));
	CHECK_EQ(avail, (int)sizeof(struct inotify_event));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 0), 1);
	struct evs l = {0};
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 1);
	CHECK_HEX(l.v[0].mask, IN_IGNORED);
	/* and nothing more, over ticks */
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 1);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A watched directory renamed through the mount, within its parent and
 * into a sibling: the scanner reads it again where it is now, before it
 * has taken the rename in; those reads are ours and must not show as
 * OPEN/ACCESS/CLOSE_NOWRITE under the new name (they did: the mute knew
 * the directory by its old name and parent).  The kernel's MOVED_FROM,
 * MOVED_TO and MOVE_SELF are all there is.
 */
TEST(scanner_reads_of_a_renamed_dir_not_reported_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600], m2[600];
	CHECK_OK(mkdir(SP("p"), 0755));
	CHECK_OK(mkdir(SP("p/s"), 0755));
	CHECK_OK(mkdir(SP("p/q"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("p"), IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP2("p/s"), IN_ALL_EVENTS), 2);
	CHECK_EQ(uinotify_add_watch(fd, MP("p/q"), IN_ALL_EVENTS), 3);
	struct evs l = {0};
	CHECK_OK(rename(MP("p/s"), MP2("p/t")));
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	CHECK_OK(rename(MP("p/t"), MP2("p/q/t")));
	/* changes behind the mount in it: the scanner reads it, often */
	write_text(SP("p/q/t/x"), NULL, O_CREAT);
	CHECK(wait_event(fd, &l, 2, IN_CREATE, "x", 5000) >= 0);
	CHECK_OK(uin_scan_wait_ticks(20, 5000));
	read_now(fd, true, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].mask & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE)) {
			evs_dump("events", &l);
			uin_test_fail(__FILE__, __LINE__, "a scanner read");
		}
	CHECK(evs_find(&l, 0, 1, IN_MOVED_FROM | IN_ISDIR, "s") >= 0);
	CHECK(evs_find(&l, 0, 1, IN_MOVED_TO | IN_ISDIR, "t") >= 0);
	CHECK(evs_find(&l, 0, 3, IN_MOVED_TO | IN_ISDIR, "t") >= 0);
	CHECK(evs_find(&l, 0, 2, IN_MOVE_SELF, NULL) >= 0);
	/* Someone else's listing of it is real: P half in q, S half. */
	l.n = 0;
	uin_loop_dispatch_enter();
	DIR *dir = opendir(MP("p/q/t"));
	CHECK(dir);
	while (readdir(dir))
		;
	closedir(dir);
	uin_loop_dispatch_exit();
	CHECK(wait_event(fd, &l, 3, IN_OPEN | IN_ISDIR, "t", 5000) >= 0);
	CHECK(wait_event(fd, &l, 2, IN_OPEN | IN_ISDIR, NULL, 5000) >= 0);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* What is reported over ten ticks joins l, which then holds n. */
static void settle_to(int fd, struct evs *l, size_t n)
{
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd, true, l);
	if (l->n != n) {
		evs_dump("events", l);
		uin_test_fail(__FILE__, __LINE__, "%zu events, not %zu", l->n,
			      n);
	}
}

/* Nothing reported over ten ticks (and the read now). */
static void expect_none(int fd, struct evs *l)
{
	settle_to(fd, l, 0);
}

/*
 * A directory made here and watched at once, in a watched parent that asks
 * for reads: the scanner's first read of it (at add_watch, before the
 * parent's snapshot has the name) is not reported in the parent; nor are
 * the reads of later ticks.  The kernel says only CREATE.
 */
TEST(first_read_of_a_new_subdirectory_not_reported_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("p"),
				    IN_ACCESS | IN_CLOSE_NOWRITE | IN_CREATE),
		 1);
	CHECK_OK(mkdir(MP("p/n"), 0755));
	CHECK_EQ(uinotify_add_watch(fd, MP2("p/n"), IN_ONLYDIR | IN_CREATE), 2);
	struct evs l = {0};
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd, true, &l);
	if (l.n != 1) {
		evs_dump("events", &l);
		uin_test_fail(__FILE__, __LINE__, "only CREATE|ISDIR n");
	}
	CHECK(evs_find(&l, 0, 1, IN_CREATE | IN_ISDIR, "n") >= 0);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A rename the scanner has not read yet, then a watch on the object at its
 * new name: the kernel gives that watch no MOVE_SELF (the rename came
 * before it), and neither does the scanner when it reads the parent.
 */
TEST(a_rename_before_the_watch_is_no_move_self_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("p/a"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("p"), IN_CREATE), 1);
	/* No tick between the rename and the watch. */
	uin_loop_dispatch_enter();
	CHECK_OK(rename(MP("p/a"), MP2("p/b")));
	CHECK_EQ(uinotify_add_watch(fd, MP("p/b"), IN_MOVE_SELF | IN_ONLYDIR),
		 2);
	uin_loop_dispatch_exit();
	struct evs l = {0};
	expect_none(fd, &l);
	/* A rename after the watch is one. */
	CHECK_OK(rename(MP("p/b"), MP2("p/c")));
	CHECK(wait_event(fd, &l, 2, IN_MOVE_SELF, NULL, 5000) >= 0);
	settle_to(fd, &l, 1);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A watched directory renamed over (its parent unwatched): the kernel
 * queues ATTRIB|ISDIR, DELETE_SELF and IGNORED before rename returns.
 * The scanner's descriptor keeps the kernel from saying the last two, so
 * the kernel's ATTRIB on the directory must end the watch at once.
 */
TEST(a_directory_renamed_over_ends_when_rename_returns_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	static const char *const dirs[] = {"p/e", "p/d", "p/g", "p/h"};
	for (int i = 0; i < 4; i++)
		CHECK_OK(mkdir(MP(dirs[i]), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("p/e"), IN_ALL_EVENTS), 1);
	/* A watch that does not ask for ATTRIB, of its own kernel watch. */
	int fd2 = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p/g"), IN_DELETE_SELF), 1);
	struct evs l = {0};
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	read_now(fd, true, &l);
	l.n = 0;
	CHECK_OK(rename(MP("p/d"), MP2("p/e")));
	CHECK_OK(rename(MP("p/h"), MP2("p/g")));
	int avail = -1;
	CHECK_OK(uinotify_ioctl(fd2, FIONREAD, &avail));
	CHECK_EQ(avail, 2 * (int)sizeof(struct inotify_event));
	avail = -1;
	CHECK_OK(uinotify_ioctl(fd, FIONREAD, &avail));
	CHECK_EQ(avail, 3 * (int)sizeof(struct inotify_event));
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 3);
	CHECK_HEX(l.v[0].mask, IN_ATTRIB | IN_ISDIR);
	CHECK_HEX(l.v[1].mask, IN_DELETE_SELF);
	CHECK_HEX(l.v[2].mask, IN_IGNORED);
	/* and nothing more, over ticks */
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd, true, &l);
	CHECK_EQ(l.n, 3);
	l.n = 0;
	read_now(fd2, true, &l);
	CHECK_EQ(l.n, 2);
	CHECK_HEX(l.v[0].mask, IN_DELETE_SELF);
	CHECK_HEX(l.v[1].mask, IN_IGNORED);
	CHECK_OK(uinotify_close(fd2));
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * Changes made before a watch's mask asked for them are not reported to
 * it, as with the kernel: a name created here while no watch asked for
 * IN_CREATE, and one created behind the mount just before the widening
 * (reported to the watch that had IN_CREATE then, not to the widened one).
 * What comes after is reported to both.
 */
TEST(changes_before_a_widened_mask_not_reported_to_it_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("q"), 0755));
	int fd1 = scan_instance(UINOTIFY_SOURCE_AUTO);
	int fd2 = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd1, MP("p"), IN_CREATE), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p"), IN_MOVE_SELF), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("q"), IN_MOVE_SELF), 2);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	/* No tick from here to the widening. */
	uin_loop_dispatch_enter();
	write_text(SP("p/remote"), NULL, O_CREAT);
	write_text(MP("q/local"), NULL, O_CREAT);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p"), IN_MASK_ADD | IN_CREATE), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("q"), IN_MASK_ADD | IN_CREATE), 2);
	uin_loop_dispatch_exit();
	struct evs l1 = {0}, l2 = {0};
	CHECK(wait_event(fd1, &l1, 1, IN_CREATE, "remote", 5000) >= 0);
	expect_none(fd2, &l2);
	write_text(SP("p/after"), NULL, O_CREAT);
	write_text(MP("q/after"), NULL, O_CREAT);
	CHECK(wait_event(fd1, &l1, 1, IN_CREATE, "after", 5000) >= 0);
	CHECK(wait_event(fd2, &l2, 1, IN_CREATE, "after", 5000) >= 0);
	CHECK(wait_event(fd2, &l2, 2, IN_CREATE, "after", 5000) >= 0);
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd1, true, &l1);
	read_now(fd2, true, &l2);
	CHECK_EQ(l1.n, 2);
	CHECK_EQ(l2.n, 2);
	CHECK_OK(uinotify_close(fd1));
	CHECK_OK(uinotify_close(fd2));
	evs_free(&l1);
	evs_free(&l2);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * The same for contents, which move no directory time: appends made
 * before a directory's or a file's watch gains IN_MODIFY (here, through
 * the mount, where the kernel watch was not asked for writes, and
 * elsewhere) are not reported to it, as the kernel never would; the first
 * instance, whose mask had IN_MODIFY all along, gets each once.
 */
TEST(appends_before_a_widened_mask_not_reported_to_it_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	write_text(MP("p/remote"), "r", O_CREAT);
	write_text(MP("p/local"), "l", O_CREAT);
	write_text(MP("p/file"), "f", O_CREAT);
	int fd1 = scan_instance(UINOTIFY_SOURCE_AUTO);
	int fd2 = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd1, MP("p"), IN_MODIFY), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p"), IN_MOVE_SELF), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p/file"), IN_MOVE_SELF), 2);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	/* No tick from here to the widening. */
	uin_loop_dispatch_enter();
	write_text(SP("p/remote"), "r", O_APPEND);
	write_text(MP("p/local"), "l", O_APPEND);
	write_text(SP("p/file"), "f", O_APPEND);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p"), IN_MASK_ADD | IN_MODIFY), 1);
	CHECK_EQ(uinotify_add_watch(fd2, MP("p/file"),
				    IN_MASK_ADD | IN_MODIFY),
		 2);
	uin_loop_dispatch_exit();
	struct evs l1 = {0}, l2 = {0};
	CHECK(wait_event(fd1, &l1, 1, IN_MODIFY, "remote", 5000) >= 0);
	CHECK(wait_event(fd1, &l1, 1, IN_MODIFY, "local", 5000) >= 0);
	CHECK(wait_event(fd1, &l1, 1, IN_MODIFY, "file", 5000) >= 0);
	expect_none(fd2, &l2);
	CHECK_EQ(l1.n, 3);
	CHECK_OK(uinotify_close(fd1));
	CHECK_OK(uinotify_close(fd2));
	evs_free(&l1);
	evs_free(&l2);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A directory renamed here into a watched directory whose watch asks only
 * for IN_CREATE: the kernel gives that watch nothing (a MOVED_TO it did
 * not ask for); the scanner, which finds a new name there, must not take
 * it for a creation made elsewhere.  A creation behind the mount is one.
 */
TEST(a_local_rename_in_is_no_create_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char s[600], m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("p/x"), 0755));
	CHECK_OK(mkdir(MP("q"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("q"), IN_CREATE), 1);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	CHECK_OK(rename(MP("p/x"), MP2("q/x")));
	struct evs l = {0};
	expect_none(fd, &l);
	write_text(SP("q/y"), NULL, O_CREAT);
	CHECK(wait_event(fd, &l, 1, IN_CREATE, "y", 5000) >= 0);
	settle_to(fd, &l, 1);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A file renamed over here while it has another link (made here too,
 * before the scanner read either directory): the scanner finds the old
 * object gone from one name and present at another, but that is no
 * rename; the kernel's MOVED_FROM c, MOVED_TO a and CREATE b are all.
 */
TEST(an_overwritten_file_with_another_link_is_no_rename_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("q"), 0755));
	write_text(MP("p/a"), "a", O_CREAT);
	write_text(MP("p/c"), "c", O_CREAT);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	const uint32_t mask = IN_MOVE | IN_CREATE | IN_DELETE;
	CHECK_EQ(uinotify_add_watch(fd, MP("p"), mask), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("q"), mask), 2);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	uin_loop_dispatch_enter(); /* both before any tick */
	CHECK_OK(link(MP("p/a"), MP2("q/b")));
	CHECK_OK(rename(MP("p/c"), MP2("p/a")));
	uin_loop_dispatch_exit();
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	struct evs l = {0};
	read_now(fd, true, &l);
	if (l.n != 3 || evs_find(&l, 0, 1, IN_MOVED_FROM, "c") < 0 ||
	    evs_find(&l, 0, 1, IN_MOVED_TO, "a") < 0 ||
	    evs_find(&l, 0, 2, IN_CREATE, "b") < 0) {
		evs_dump("events", &l);
		uin_test_fail(__FILE__, __LINE__, "the kernel's three only");
	}
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/* The (wd, mask) sequences of a and b are the same. */
static void same_stream(const char *what, const struct evs *k,
			const struct evs *u)
{
	bool same = k->n == u->n;
	for (size_t i = 0; same && i < k->n; i++)
		same = k->v[i].wd == u->v[i].wd &&
		       k->v[i].mask == u->v[i].mask &&
		       !strcmp(k->v[i].name, u->v[i].name);
	if (!same) {
		evs_dump("kernel", k);
		evs_dump("uinotify", u);
		uin_test_fail(__FILE__, __LINE__, "%s: not the kernel's", what);
	}
}

/* Ten ticks more, nothing late on either side (ours read first: on one
 * mount our descriptors can hold back the kernel's own records), then
 * everything closed and the mount gone. */
static void end_as_the_kernel(int k, int fd, struct evs *kl, struct evs *ul,
			      const char *mnt)
{
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(fd, true, ul);
	read_now(k, false, kl);
	same_stream("ten ticks later", kl, ul);
	CHECK_OK(close(k));
	CHECK_OK(uinotify_close(fd));
	evs_free(kl);
	evs_free(ul);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * Two hard links of one file on a bindfs mount: the kernel has an inode
 * per link (FUSE node ids), though both report one st_ino.  A watch on
 * each is a watch of its own (a new wd; IN_MASK_CREATE succeeds), and a
 * change made through one link is reported to that link's watch alone,
 * by the kernel and so by uinotify: the scanner, which sees the change
 * on the other link too, must not report it there.  The kernel's inotify
 * on the same mount is the oracle, in the same run.
 */
TEST(two_links_are_two_inodes_as_the_kernel_has_them_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("d"), 0755));
	write_text(MP("d/a"), "x", O_CREAT);
	CHECK_OK(link(MP("d/a"), MP2("d/b")));
	int k = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(k >= 0);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	const uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE;
	CHECK_EQ(inotify_add_watch(k, MP("d/a"), mask), 1);
	CHECK_EQ(inotify_add_watch(k, MP("d/b"), mask | IN_MASK_CREATE), 2);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/a"), mask), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/b"), mask | IN_MASK_CREATE), 2);
	CHECK_ERRNO(uinotify_add_watch(fd, MP("d/b"), mask | IN_MASK_CREATE),
		    EEXIST);
	struct evs kl = {0}, ul = {0};
	/* A write through a, then a new link of a (its link count: the
	 * kernel's ATTRIB to a alone). */
	write_text(MP("d/a"), "y", O_APPEND);
	CHECK_OK(link(MP("d/a"), MP2("d/c")));
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(k, false, &kl);
	read_now(fd, true, &ul);
	CHECK(evs_find(&kl, 0, 1, IN_MODIFY, NULL) >= 0);
	CHECK(evs_find(&kl, 0, 2, IN_MODIFY, NULL) < 0);
	same_stream("a write and a link through a", &kl, &ul);
	/* The same through b.  (Not an unlink of c: through a link that
	 * nobody watches, the kernel tells a's and b's watches nothing,
	 * while the scanner sees their link count change: docs/scanner.md
	 * §6, what remains.) */
	kl.n = ul.n = 0;
	write_text(MP("d/b"), "z", O_APPEND);
	CHECK_OK(unlink(MP("d/b")));
	CHECK_OK(uin_scan_wait_ticks(10, 5000));
	read_now(k, false, &kl);
	read_now(fd, true, &ul);
	CHECK(evs_find(&kl, 0, 2, IN_MODIFY, NULL) >= 0);
	CHECK(evs_find(&kl, 0, 2, IN_ATTRIB, NULL) >= 0);
	same_stream("a write and an unlink through b", &kl, &ul);
	end_as_the_kernel(k, fd, &kl, &ul, mnt);
}

/*
 * A rename through the mount over a watched file, the renamed file watched
 * too: the kernel gives the victim its ATTRIB, the renamed one its
 * MOVE_SELF, and only then the victim's DELETE_SELF and IGNORED (its inode
 * goes when rename returns).  All of it is queued when rename returns; the
 * scanner ends the victim at the kernel's ATTRIB, and must keep that end
 * behind the MOVE_SELF.
 */
TEST(the_end_of_a_file_renamed_over_comes_after_move_self_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("d"), 0755));
	write_text(MP("d/a"), "a", O_CREAT);
	write_text(MP("d/v"), "v", O_CREAT);
	int k = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(k >= 0);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	const uint32_t vmask = IN_MODIFY | IN_DELETE_SELF | IN_ATTRIB;
	CHECK_EQ(inotify_add_watch(k, MP("d/v"), vmask), 1);
	CHECK_EQ(inotify_add_watch(k, MP("d/a"), IN_MOVE_SELF), 2);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/v"), vmask), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/a"), IN_MOVE_SELF), 2);
	CHECK_OK(rename(MP("d/a"), MP2("d/v")));
	struct evs kl = {0}, ul = {0};
	/* Ours first: on one mount, our descriptor keeps the victim from
	 * the kernel's instance too, until we have ended it. */
	read_now(fd, true, &ul);
	read_now(k, false, &kl);
	CHECK_EQ(kl.n, 4);
	CHECK(evs_find(&kl, 0, 2, IN_MOVE_SELF, NULL) <
	      evs_find(&kl, 0, 1, IN_DELETE_SELF, NULL));
	same_stream("at rename's return", &kl, &ul);
	end_as_the_kernel(k, fd, &kl, &ul, mnt);
}

/*
 * rmdir through the mount of a watched directory whose parent nobody
 * watches: the kernel has DELETE_SELF and IGNORED queued when rmdir
 * returns, and so must we (FIONREAD counts them, poll says readable),
 * though there is no kernel event to tell us and our descriptor keeps
 * the kernel's own DELETE_SELF from coming.
 */
TEST(a_directory_removed_ends_when_rmdir_returns_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("p/d"), 0755));
	int k = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(k >= 0);
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(inotify_add_watch(k, MP("p/d"), IN_ALL_EVENTS), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("p/d"), IN_ALL_EVENTS), 1);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	struct evs kl = {0}, ul = {0};
	read_now(fd, true, &ul); /* the kernel's first look, if any */
	read_now(k, false, &kl);
	kl.n = ul.n = 0;
	CHECK_OK(rmdir(MP("p/d")));
	int avail = -1;
	CHECK_OK(uinotify_ioctl(fd, FIONREAD, &avail));
	CHECK_EQ(avail, 2 * (int)sizeof(struct inotify_event));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 0), 1);
	/* Ours first: our descriptor keeps the kernel's from coming. */
	read_now(fd, true, &ul);
	read_now(k, false, &kl);
	CHECK(evs_find(&kl, 0, 1, IN_DELETE_SELF, NULL) >= 0);
	same_stream("at rmdir's return", &kl, &ul);
	end_as_the_kernel(k, fd, &kl, &ul, mnt);
}

/*
 * truncate(2) through the mount changes a file's size without opening it:
 * the kernel reports MODIFY to whoever asks for it, and no CLOSE_WRITE.
 * Watches that ask for CLOSE_WRITE but not MODIFY (entr's mask), on the
 * directory and on the file, get nothing, as from the kernel: the scanner,
 * which finds the change, must know it for this machine's (the kernel
 * watch asks for writes where a watch asks for closes) and synthesise no
 * CLOSE_WRITE for it, over ticks and the synthesis delay.
 */
TEST(a_local_truncate_is_no_close_write_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600];
	CHECK_OK(mkdir(MP("d"), 0755));
	write_text(MP("d/f"), "12345", O_CREAT);
	write_text(MP("d/g"), "12345", O_CREAT);
	const uint32_t entr = IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE |
			      IN_CREATE | IN_DELETE | IN_DELETE_SELF |
			      IN_MOVE_SELF;
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("d"), entr), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("d/g"), entr), 2);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	CHECK_OK(truncate(MP("d/f"), 1));
	CHECK_OK(truncate(MP("d/g"), 2));
	struct evs l = {0};
	expect_none(fd, &l);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}

/*
 * A watched directory renamed through the mount into another directory:
 * its ".." changes, and so its ctime, but the kernel says MOVE_SELF and
 * no ATTRIB; nor may the scanner, when it sees the ctime moved.
 */
TEST(a_directory_moved_here_is_no_attrib_bindfs)
{
	const char *src = P("src"), *mnt = P("mnt");
	bindfs_mount(src, mnt);
	scan_fast();
	char m[600], m2[600];
	CHECK_OK(mkdir(MP("p"), 0755));
	CHECK_OK(mkdir(MP("q"), 0755));
	CHECK_OK(mkdir(MP("p/d"), 0755));
	int fd = scan_instance(UINOTIFY_SOURCE_AUTO);
	CHECK_EQ(uinotify_add_watch(fd, MP("p"), IN_MOVE), 1);
	CHECK_EQ(uinotify_add_watch(fd, MP("q"), IN_MOVE), 2);
	CHECK_EQ(uinotify_add_watch(fd, MP("p/d"), IN_ATTRIB | IN_MOVE_SELF), 3);
	CHECK_OK(uin_scan_wait_ticks(2, 5000));
	CHECK_OK(rename(MP("p/d"), MP2("q/d")));
	struct evs l = {0};
	settle_to(fd, &l, 3);
	CHECK(evs_find(&l, 0, 3, IN_MOVE_SELF, NULL) >= 0);
	CHECK(evs_find(&l, 0, 3, IN_ATTRIB, NULL) < 0);
	CHECK_OK(uinotify_close(fd));
	evs_free(&l);
	scan_finish();
	bindfs_umount(mnt);
}
