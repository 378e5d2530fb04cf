/*
 * tests/preload/probe.h - what the plain probe programs in this folder
 * share.  They link nothing of uinotify, and some are also built with
 * musl or statically (tests/run/), so these are static functions in a
 * header, on libc alone.
 *
 * Each program sets dir (its DIR argument) before it calls path().
 */
#ifndef UIN_TESTS_PROBE_H
#define UIN_TESTS_PROBE_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

#define PROBE_UNUSED __attribute__((unused))

static const char *dir;

/* dir/rel; the last four results stay valid, per thread. */
static PROBE_UNUSED const char *path(const char *rel)
{
	static __thread char p[4][PATH_MAX];
	static __thread int next;
	char *out = p[next++ % 4];
	snprintf(out, sizeof p[0], "%s/%s", dir, rel);
	return out;
}

/* "CREATE|ISDIR", bits inotify does not name as "|0x...". */
static PROBE_UNUSED void mask_str(uint32_t m, char *out, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"},
		{IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
		{IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
		{IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"},
		{IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
		{IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
		{IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
	};
	out[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (m & names[i].bit) {
			if (out[0])
				strncat(out, "|", len - strlen(out) - 1);
			strncat(out, names[i].name, len - strlen(out) - 1);
			m &= ~names[i].bit;
		}
	}
	if (m)
		snprintf(out + strlen(out), len - strlen(out), "|%#x", m);
}

#endif
