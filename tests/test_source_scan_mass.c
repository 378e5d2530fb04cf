/*
 * tests/test_source_scan_mass.c - a mass change through the scanner:
 * 10 000 files created, written, renamed and deleted in one directory,
 * each change reported exactly once (renames as pairs), locally and
 * behind bindfs.  The writes are found by the default tiers (a rotation
 * that checks every file within its period), not by a full check on
 * every tick: they must all arrive within that period.
 */
#include "test_source_scan.h"

#include <sys/ioctl.h>

#include "instance/instance.h"

#define NFILES 10000

/* Per name, how many events of the kinds we count arrived. */
struct tally {
	uint16_t create, modify, from, to, del;
	uint32_t cookie;
};

static int name_index(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl))
		return -1;
	char *end;
	long i = strtol(name + pl, &end, 10);
	return *end || i < 0 || i >= NFILES ? -1 : (int)i;
}

/* Read until every one of the NFILES names has its `kind` event. */
static void collect(int fd, struct tally *t, const char *prefix,
		    uint32_t kind, long timeout_ms, size_t *events)
{
	struct evs l = {0};
	uint64_t end = ms_now() + (uint64_t)timeout_ms;
	long done = 0;
	uint32_t last_from = 0;
	while (done < NFILES && ms_now() < end) {
		l.n = 0;
		read_until(fd, &l, 0, 1, 200);
		for (size_t i = 0; i < l.n; i++) {
			struct ev *e = &l.v[i];
			CHECK(!(e->mask & IN_Q_OVERFLOW));
			(*events)++;
			const char *pre = (e->mask & IN_MOVED_TO) ? "r" : prefix;
			int k = name_index(e->name, pre);
			if (k < 0)
				continue;
			struct tally *x = &t[k];
			if (e->mask & IN_CREATE)
				x->create++;
			if (e->mask & IN_MODIFY)
				x->modify++;
			if (e->mask & IN_DELETE)
				x->del++;
			if (e->mask & IN_MOVED_FROM) {
				x->from++;
				x->cookie = e->cookie;
			}
			if (e->mask & IN_MOVED_TO) {
				x->to++;
				/* right after its MOVED_FROM */
				CHECK_EQ(e->cookie, x->cookie);
				CHECK_EQ(last_from, e->cookie);
			}
			last_from = (e->mask & IN_MOVED_FROM) ? e->cookie : 0;
			if (e->mask & kind)
				done++;
		}
	}
	evs_free(&l);
	if (done < NFILES) {
		struct uin_scan_stats st;
		uin_scan_get_stats(&st);
		fprintf(stderr, "ticks %ld events %ld suppressed %ld reads %ld "
			"entries %ld\n", st.ticks, st.events, st.suppressed,
			st.dir_reads, st.entries);
		int avail = -1;
		uinotify_ioctl(fd, FIONREAD, &avail);
		struct uin_instance_stats is;
		if (uin_instance_stats(fd, &is) == 0)
			fprintf(stderr, "FIONREAD %d q_len %u unsignaled %lu "
				"debt %lu pipe %ld\n", avail, is.q_len,
				is.unsignaled, is.debt, is.pipe_bytes);
		int shown = 0;
		for (int i = 0; i < NFILES && shown < 5; i++) {
			struct tally *x = &t[i];
			bool miss = (kind & IN_CREATE) ? !x->create
				    : (kind & IN_MODIFY) ? !x->modify
				    : (kind & IN_MOVED_TO) ? !x->to
							   : !x->del;
			if (!miss)
				continue;
			fprintf(stderr,
				"  file %d: create %u modify %u from %u to %u "
				"delete %u\n",
				i, x->create, x->modify, x->from, x->to,
				x->del);
			shown++;
		}
		uin_test_fail(__FILE__, __LINE__,
			      "%ld of %d %#x events within %ld ms", done,
			      NFILES, kind, timeout_ms);
	}
}

static void mass(bool fuse)
{
	const char *src = uin_test_tmpdir(), *mnt = src;
	if (fuse) {
		src = P("src");
		mnt = P("mnt");
		bindfs_mount(src, mnt);
	}
	char dsrc[512], dmnt[512];
	snprintf(dsrc, sizeof dsrc, "%s/d", src);
	snprintf(dmnt, sizeof dmnt, "%s/d", mnt);
	CHECK_OK(mkdir(dsrc, 0755));
	CHECK_EQ(uinotify_set_scan_interval(50), 50);
	uin_scan_set_param(UIN_SCAN_CLOSE_WRITE_MS, 0);
	CHECK_EQ(uinotify_set_limit(UINOTIFY_MAX_QUEUED_EVENTS, 4 * NFILES), 0);
	int fd = scan_instance(UINOTIFY_SOURCE_SCAN);
	CHECK_EQ(uinotify_add_watch(fd, dmnt, IN_CREATE | IN_DELETE |
						      IN_MODIFY | IN_MOVE),
		 1);
	struct tally *t = calloc(NFILES, sizeof *t);
	CHECK(t);
	size_t events = 0;
	char path[600], path2[600];

	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/f%d", dsrc, i);
		write_text(path, NULL, O_CREAT | O_EXCL);
	}
	collect(fd, t, "f", IN_CREATE, 30000, &events);

	/* Writes: found by the rotation within its period (2 s for this
	 * many files at the default budget), plus a tick; the files must
	 * have left the hot tier first (200 ms here). */
	uin_scan_set_param(UIN_SCAN_HOT_MS, 200);
	CHECK_OK(uin_scan_wait_ticks(8, 5000));
	uint64_t t0 = ms_now();
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/f%d", dsrc, i);
		write_text(path, "x", O_APPEND);
	}
	uint64_t written = ms_now() - t0;
	struct uin_scan_stats st;
	uin_scan_get_stats(&st);
	long bound = st.cold_period_ms + 500 + (long)written;
	collect(fd, t, "f", IN_MODIFY, fuse ? 60000 : slow(bound), &events);
	if (!fuse)
		fprintf(stderr, "writes of %d files seen within %llu ms "
			"(cold period %ld ms)\n",
			NFILES, (unsigned long long)(ms_now() - t0),
			st.cold_period_ms);

	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/f%d", dsrc, i);
		snprintf(path2, sizeof path2, "%s/r%d", dsrc, i);
		CHECK_OK(rename(path, path2));
	}
	collect(fd, t, "f", IN_MOVED_TO, 30000, &events);

	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/r%d", dsrc, i);
		CHECK_OK(unlink(path));
	}
	collect(fd, t, "r", IN_DELETE, 30000, &events);
	CHECK_OK(uin_scan_wait_ticks(3, 5000));
	struct evs rest = {0};
	read_now(fd, true, &rest);
	events += rest.n;
	evs_free(&rest);

	for (int i = 0; i < NFILES; i++) {
		struct tally *x = &t[i];
		if (x->create != 1 || x->modify != 1 || x->from != 1 ||
		    x->to != 1 || x->del != 1)
			uin_test_fail(__FILE__, __LINE__,
				      "file %d: create %u modify %u from %u "
				      "to %u delete %u",
				      i, x->create, x->modify, x->from, x->to,
				      x->del);
	}
	CHECK_EQ(events, 5 * NFILES);
	free(t);
	CHECK_OK(uinotify_close(fd));
	scan_finish();
	if (fuse)
		bindfs_umount(mnt);
}

TEST(ten_thousand_local)
{
	mass(false);
}

TEST(ten_thousand_bindfs)
{
	mass(true);
}
