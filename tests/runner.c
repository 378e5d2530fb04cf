/* tests/runner.c - see runner.h. */
#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sources/scan.h"

#include <uinotify/engine.h>

#define MAX_TESTS 512
#define SKIP_CODE 77

static struct {
	const char *name;
	uin_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static bool leak_check = true;
static char tmpdir[256];

void uin_test_register(const char *name, uin_test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void uin_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

void uin_test_skip(const char *why)
{
	fprintf(stderr, "SKIP: %s\n", why);
	fflush(stderr);
	_exit(SKIP_CODE);
}

void uin_test_no_leak_check(void)
{
	leak_check = false;
}

const char *uin_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/uinotify-test-XXXXXX",
			 base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			_exit(2);
		}
	}
	return tmpdir;
}

const char *uin_test_path(const char *rel)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", uin_test_tmpdir(), rel);
	return b;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	remove(path);
	return 0;
}

static void run_in_child(int i)
{
	/* UIN_TEST_TIMEOUT (s): for long runs by hand (many random seeds). */
	const char *t = getenv("UIN_TEST_TIMEOUT");
	long secs = t && *t ? strtol(t, NULL, 10) : 90;
	alarm(secs > 0 ? (unsigned)secs : 90);
	tests[i].fn();
	if (leak_check) {
		/* The scanner frees a released watch on its thread, soon:
		 * in flight is not a leak. */
		uin_scan_settle(5000);
		struct uinotify_debug_counts c;
		uinotify_debug_counts(&c);
		if (c.handles || c.watches || c.inodes || c.sbs || c.events ||
		    c.instances) {
			fprintf(stderr,
				"FAIL leak after test: handles %ld watches %ld "
				"inodes %ld sbs %ld events %ld instances %ld\n",
				c.handles, c.watches, c.inodes, c.sbs,
				c.events, c.instances);
			_exit(1);
		}
	}
	_exit(0);
}

/* 0 pass, 1 fail, 77 skip. */
static int run_one(int i)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		run_in_child(i);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == SKIP_CODE ? SKIP_CODE
		       : WEXITSTATUS(status)            ? 1
							: 0;
	fprintf(stderr, "test %s killed by signal %d%s\n", tests[i].name,
		WTERMSIG(status),
		WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	return 1;
}

static int find(const char *name)
{
	for (int i = 0; i < ntests; i++)
		if (!strcmp(tests[i].name, name))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Each child makes its tmpdir under a per-run parent that we remove. */
	char parent[] = "/tmp/uinotify-run-XXXXXX";
	if (!mkdtemp(parent)) {
		perror("mkdtemp");
		return 2;
	}
	setenv("TMPDIR", parent, 1);

	int failed = 0, passed = 0, skipped = 0, total = 0;
	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (int i = 0; i < ntests; i++)
			printf("%s\n", tests[i].name);
		rmdir(parent);
		return 0;
	}
	int sel[MAX_TESTS], nsel = 0;
	if (argc > 1) {
		for (int a = 1; a < argc; a++) {
			int i = find(argv[a]);
			if (i < 0) {
				fprintf(stderr, "no test named %s\n", argv[a]);
				nftw(parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
				return 2;
			}
			sel[nsel++] = i;
		}
	} else {
		for (int i = 0; i < ntests; i++)
			sel[nsel++] = i;
	}
	printf("1..%d\n", nsel);
	for (int k = 0; k < nsel; k++) {
		int r = run_one(sel[k]);
		total++;
		if (r == 0) {
			passed++;
			printf("ok %d - %s\n", total, tests[sel[k]].name);
		} else if (r == SKIP_CODE) {
			skipped++;
			printf("ok %d - %s # SKIP\n", total,
			       tests[sel[k]].name);
		} else {
			failed++;
			printf("not ok %d - %s\n", total, tests[sel[k]].name);
		}
	}
	nftw(parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (nsel == 1 && skipped == 1)
		return SKIP_CODE;
	return failed ? 1 : 0;
}
