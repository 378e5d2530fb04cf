/*
 * tests/test_tools_compat.c - uinotifywait/uinotifywatch against the real
 * inotifywait/inotifywatch (Debian's inotify-tools), and the behaviours
 * inotify-tools gets wrong.
 *
 * Each comparison builds the same tree, runs the same workload under both
 * programs (uinotifywait on the kernel source: UINOTIFY_SOURCE=kernel) and
 * compares stdout, stderr (program names normalised) and the exit status
 * byte for byte.  Both run in the same directory with relative paths, so
 * paths need no other normalisation.  Synchronisation: a run starts its
 * workload once "Watches established." is on stderr (or, for -q, once the
 * kernel shows every watch in /proc/PID/fdinfo), and ends it with a marker
 * file whose line it waits for on stdout; programs that exit by themselves
 * are waited for.  The comparisons skip when inotify-tools is missing.
 */
#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UIN_TOOLS_DIR
#define UIN_TOOLS_DIR ""
#endif

#define OUT_CAP (1 << 20)

struct run {
	char out[OUT_CAP];
	size_t outlen;
	char err[OUT_CAP];
	size_t errlen;
	int status;
};

static struct run ref_run, our_run;

static char *tool(const char *name)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];

	if (!strncmp(name, "uinotify", 8)) {
		if (!UIN_TOOLS_DIR[0])
			SKIP("built without the tools");
		snprintf(p, sizeof paths[0], "%s/%s", UIN_TOOLS_DIR, name);
	} else {
		snprintf(p, sizeof paths[0], "/usr/bin/%s", name);
		if (access(p, X_OK))
			SKIP("inotify-tools is not installed (apt-get install "
			     "inotify-tools): nothing to compare with");
	}
	return p;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void sh(const char *cwd, const char *script)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (!pid) {
		if (chdir(cwd))
			_exit(126);
		execl("/bin/sh", "sh", "-ec", script, (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		uin_test_fail(__FILE__, __LINE__, "workload failed: %s", script);
}

/* Read what is available from both pipes (up to ms milliseconds). */
static void pump(int outfd, int errfd, struct run *r, int ms)
{
	struct pollfd p[2] = { { outfd, POLLIN, 0 }, { errfd, POLLIN, 0 } };

	if (poll(p, 2, ms) <= 0)
		return;
	if (p[0].revents && r->outlen < OUT_CAP - 1) {
		ssize_t n = read(outfd, r->out + r->outlen, OUT_CAP - 1 - r->outlen);

		if (n > 0)
			r->outlen += (size_t)n;
	}
	if (p[1].revents && r->errlen < OUT_CAP - 1) {
		ssize_t n = read(errfd, r->err + r->errlen, OUT_CAP - 1 - r->errlen);

		if (n > 0)
			r->errlen += (size_t)n;
	}
	r->out[r->outlen] = r->err[r->errlen] = 0;
}

/* Watches the kernel shows for pid (all its inotify fds). */
static int kernel_watches(pid_t pid)
{
	char dir[64], path[512], line[512];
	struct dirent *d;
	DIR *dp;
	int count = 0;

	snprintf(dir, sizeof dir, "/proc/%d/fdinfo", (int)pid);
	if (!(dp = opendir(dir)))
		return -1;
	while ((d = readdir(dp))) {
		FILE *f;

		snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof line, f))
			count += !strncmp(line, "inotify wd:", 11);
		fclose(f);
	}
	closedir(dp);
	return count;
}

struct spec {
	const char *const *argv;  /* argv[0] is replaced by the binary */
	const char *setup;        /* shell, run in a fresh "w" directory */
	const char *const *steps; /* shell steps; each is followed by... */
	const char *const *waits; /* ...waiting for this text on stdout */
	int ready_watches;        /* -q: wait for this many kernel watches */
	bool exits;               /* the program exits by itself */
	int stdin_fd;             /* -1 or an fd for stdin */
};

/* Set: the waits look in this file instead of stdout. */
static const char *wait_file;

static bool file_has(const char *path, const char *text)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	return memmem(buf, (size_t)n, text, strlen(text)) != NULL;
}

static bool seen(const struct run *r, const char *text)
{
	if (wait_file)
		return file_has(wait_file, text);
	return memmem(r->out, r->outlen, text, strlen(text)) != NULL;
}

/* Run bin per spec in <tmp>/w (recreated); fills r. */
static void run_spec(const char *bin, const struct spec *s, bool ours,
		     struct run *r)
{
	char wdir[512], cmd[2048];
	const char *argv[64];
	int outp[2], errp[2];
	pid_t pid;
	long deadline;
	int i = 0;

	memset(r, 0, sizeof *r);
	snprintf(wdir, sizeof wdir, "%s/w", uin_test_tmpdir());
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", wdir, wdir);
	sh(uin_test_tmpdir(), cmd);
	if (s->setup)
		sh(wdir, s->setup);

	if (s->stdin_fd >= 0)
		lseek(s->stdin_fd, 0, SEEK_SET);
	argv[0] = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
	for (i = 1; s->argv[i - 1] && i < 63; i++)
		argv[i] = s->argv[i - 1];
	argv[i] = NULL;
	CHECK(pipe(outp) == 0 && pipe(errp) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		if (chdir(wdir))
			_exit(126);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		if (s->stdin_fd >= 0)
			dup2(s->stdin_fd, 0);
		close(outp[0]);
		close(errp[0]);
		if (ours)
			setenv("UINOTIFY_SOURCE", "kernel", 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);

	/* Ready? */
	deadline = now_ms() + 20000;
	while (now_ms() < deadline) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			r->status = st;
			pid = -1;
			break;
		}
		if (s->ready_watches
			    ? kernel_watches(pid) >= s->ready_watches
			    : (strstr(r->err, "Watches established.") ||
			       strstr(r->err, "now collecting statistics.")))
			break;
		pump(outp[0], errp[0], r, s->ready_watches ? 5 : 50);
	}
	if (pid > 0 && now_ms() >= deadline) {
		kill(pid, SIGKILL);
		uin_test_fail(__FILE__, __LINE__, "%s never got ready: %s", bin,
			      r->err);
	}

	for (int step = 0; s->steps && s->steps[step]; step++) {
		sh(wdir, s->steps[step]);
		if (!s->waits || !s->waits[step])
			continue;
		deadline = now_ms() + 20000;
		while (!seen(r, s->waits[step]) && now_ms() < deadline)
			pump(outp[0], errp[0], r, 20);
		if (!seen(r, s->waits[step]) && pid > 0)
			kill(pid, SIGKILL);
		if (!seen(r, s->waits[step]))
			uin_test_fail(__FILE__, __LINE__,
				      "%s: no '%s' after step %d; out:\n%s\nerr:\n%s",
				      bin, s->waits[step], step, r->out, r->err);
	}
	if (pid > 0) {
		deadline = now_ms() + 20000;
		if (!s->exits)
			kill(pid, SIGTERM);
		for (;;) {
			int st;

			if (waitpid(pid, &st, WNOHANG) == pid) {
				r->status = st;
				break;
			}
			if (now_ms() > deadline) {
				kill(pid, SIGKILL);
				uin_test_fail(__FILE__, __LINE__, "%s did not exit", bin);
			}
			pump(outp[0], errp[0], r, 20);
		}
	}
	/* Whatever is left in the pipes. */
	for (int k = 0; k < 100; k++) {
		size_t before = r->outlen + r->errlen;

		pump(outp[0], errp[0], r, 0);
		if (r->outlen + r->errlen == before)
			break;
	}
	close(outp[0]);
	close(errp[0]);
}

/* stderr with the program names made equal. */
static void normalise(char *s)
{
	static const char *const names[] = { "uinotifywait", "uinotifywatch" };

	for (size_t i = 0; i < 2; i++) {
		char *p;

		while ((p = strstr(s, names[i])))
			memmove(p, p + 1, strlen(p + 1) + 1);
	}
}

static void show_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (c >= 32 && c < 127))
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
}

static void show_diff(const char *what, const char *a, size_t alen,
		      const char *b, size_t blen)
{
	fprintf(stderr, "--- %s differs\n--- inotify-tools:\n", what);
	show_escaped(a, alen);
	fprintf(stderr, "\n--- ours:\n");
	show_escaped(b, blen);
	fprintf(stderr, "\n");
}

/* Cookies come from a global counter: name "<hex>" tokens by their
 * order of first appearance instead. */
static void number_cookies(struct run *r)
{
	static char out[OUT_CAP];
	char seen[64][16];
	int nseen = 0;
	size_t o = 0;

	for (size_t i = 0; i < r->outlen && o < OUT_CAP - 16; i++) {
		size_t j = i + 1;
		char tok[16];
		int id;

		out[o++] = r->out[i];
		if (r->out[i] != '<')
			continue;
		while (j < r->outlen && j - i < 10 && r->out[j] &&
		       strchr("0123456789abcdef", r->out[j]))
			j++;
		if (j == i + 1 || j >= r->outlen || r->out[j] != '>')
			continue;
		memcpy(tok, r->out + i + 1, j - i - 1);
		tok[j - i - 1] = 0;
		if (!strcmp(tok, "0"))
			continue;
		for (id = 0; id < nseen && strcmp(seen[id], tok); id++)
			;
		if (id == nseen && nseen < 64)
			strcpy(seen[nseen++], tok);
		o += (size_t)snprintf(out + o, 16, "C%d", id);
		i = j - 1;
	}
	memcpy(r->out, out, o);
	r->outlen = o;
	r->out[o] = 0;
}

/* Run both and compare everything. */
static void compare(const char *ref, const char *ours, const struct spec *s)
{
	run_spec(tool(ref), s, false, &ref_run);
	run_spec(tool(ours), s, true, &our_run);
	normalise(ref_run.err);
	normalise(our_run.err);
	number_cookies(&ref_run);
	number_cookies(&our_run);
	if (ref_run.outlen != our_run.outlen ||
	    memcmp(ref_run.out, our_run.out, ref_run.outlen)) {
		show_diff("stdout", ref_run.out, ref_run.outlen, our_run.out,
			  our_run.outlen);
		CHECK(!"stdout identical");
	}
	if (strcmp(ref_run.err, our_run.err)) {
		show_diff("stderr", ref_run.err, ref_run.errlen, our_run.err,
			  our_run.errlen);
		CHECK(!"stderr identical");
	}
	CHECK_EQ(our_run.status, ref_run.status);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define STEPS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const basic_steps[] = {
	"touch d/a; echo x > 'd/x,y \"q\".txt'; echo y >> d/wf; chmod 600 d/wf; "
	"mv d/a d/b; mkdir d/sub; rmdir d/sub; ln -s b d/link; rm d/b d/link; "
	"echo ' lead' > 'd/ lead'; mkdir d/zmarker",
	NULL,
};
/* One event (CREATE,ISDIR) and the last: every format shows the name. */
static const char *const basic_waits[] = { "zmarker", NULL };

TEST(default_format)
{
	struct spec s = { ARGS("-m", "d", "d/wf"), "mkdir d; touch d/wf",
			  basic_steps, basic_waits, 0, false, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(csv)
{
	struct spec s = { ARGS("-m", "-c", "d", "d/wf"), "mkdir d; touch d/wf",
			  basic_steps, basic_waits, 0, false, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(format_strings)
{
	static const char *const formats[][4] = {
		{ "--format", "%w|%f|%e|%:e|<%c>|%%|%0|%n|%x|%we|%.e", NULL },
		{ "--format", "%T %e %f", "--timefmt", "%Y" },
		{ "--format", "[%f]", NULL },
		{ "--format", "%f %e%", NULL },
		{ "--format", "%w%f %Xe %e", NULL },
	};

	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		const char *argv[8] = { "-m" };
		int n = 1;

		for (int k = 0; k < 4 && formats[i][k]; k++)
			argv[n++] = formats[i][k];
		argv[n++] = "d";
		argv[n] = NULL;
		struct spec s = { argv, "mkdir d; touch d/wf", basic_steps,
				  basic_waits, 0, false, -1 };
		compare("inotifywait", "uinotifywait", &s);
	}
}

TEST(format_no_newline)
{
	struct spec s = { ARGS("-m", "--format", "<%e %f>", "--no-newline", "d"),
			  "mkdir d", STEPS("touch d/marker"),
			  STEPS("CLOSE_WRITE,CLOSE marker>"), 0, false, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(recursive)
{
	/* New directories get their contents only after their creation was
	 * seen, so that inotifywait's recursion race does not show. */
	struct spec s = {
		ARGS("-m", "-r", "-e", "create,delete,modify,attrib,close_write,"
					"moved_from,moved_to,move_self,delete_self",
		     "d"),
		"mkdir -p d/a/b/c d/e; touch d/a/b/c/old",
		STEPS("echo x >> d/a/b/c/old; touch d/a/f; mkdir d/new; touch d/m1",
		      "touch d/new/g; mkdir d/new/deeper; touch d/m2",
		      "touch d/new/deeper/h; mv d/a/f d/e/f2; rm d/e/f2; "
		      "rm d/new/deeper/h; rmdir d/new/deeper; touch d/marker"),
		STEPS("m1", "m2", "CLOSE_WRITE,CLOSE marker"), 0, false, -1,
	};

	compare("inotifywait", "uinotifywait", &s);
}

TEST(recursive_all_events)
{
	/* With every event: only files, so that no listing of a new
	 * directory (inotifywait's shows, ours does not) is involved. */
	struct spec s = { ARGS("-m", "-r", "d"), "mkdir -p d/a/b; touch d/a/b/f",
			  STEPS("echo x >> d/a/b/f; cat d/a/b/f >/dev/null; "
				"chmod 600 d/a/b/f; rm d/a/b/f; touch d/marker"),
			  STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(timeout_exit_codes)
{
	/* Nothing happens: exit 2 after one second. */
	struct spec quiet = { ARGS("-t", "1", "d"), "mkdir d", NULL, NULL, 0,
			      true, -1 };
	/* -m -t: an inactivity timer; the events come first. */
	struct spec monitor = { ARGS("-m", "-t", "1", "d"), "mkdir d",
				STEPS("touch d/a"), STEPS("CLOSE_WRITE,CLOSE a"), 0,
				true, -1 };
	/* The first event, asked for: 0. */
	struct spec first = { ARGS("d"), "mkdir d", STEPS("touch d/a"), NULL, 0,
			      true, -1 };
	/* An event not asked for (the watched file deleted): 1. */
	struct spec other = { ARGS("-e", "modify", "d/f"), "mkdir d; touch d/f",
			      STEPS("rm d/f"), NULL, 0, true, -1 };

	compare("inotifywait", "uinotifywait", &quiet);
	CHECK(WIFEXITED(our_run.status) && WEXITSTATUS(our_run.status) == 2);
	compare("inotifywait", "uinotifywait", &monitor);
	CHECK(WIFEXITED(our_run.status) && WEXITSTATUS(our_run.status) == 2);
	compare("inotifywait", "uinotifywait", &first);
	CHECK(WIFEXITED(our_run.status) && WEXITSTATUS(our_run.status) == 0);
	compare("inotifywait", "uinotifywait", &other);
	CHECK(WIFEXITED(our_run.status) && WEXITSTATUS(our_run.status) == 1);
}

TEST(first_event_then_exit)
{
	struct spec s = { ARGS("-e", "close_write", "d"), "mkdir d",
			  STEPS("mkdir d/x; echo a > d/y; echo b > d/z"), NULL, 0,
			  true, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(event_filter)
{
	struct spec s = { ARGS("-m", "-e", "MODIFY", "-e", "Close_Write,attrib",
			       "d"),
			  "mkdir d; touch d/f",
			  STEPS("echo x >> d/f; cat d/f > /dev/null; chmod 644 d/f; "
				"touch d/marker"),
			  STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1 };

	compare("inotifywait", "uinotifywait", &s);
}

TEST(excludes)
{
	struct spec s = {
		ARGS("-m", "-r", "--exclude", "(skip|\\.tmp$)", "d", "@d/at"),
		"mkdir -p d/keep d/skipme d/at; touch d/keep/k",
		STEPS("touch d/keep/a d/keep/b.tmp d/skipme/c d/at/e d/f.tmp; "
		      "echo x >> d/keep/k; touch d/marker"),
		STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1,
	};

	compare("inotifywait", "uinotifywait", &s);
}

TEST(excludei_include)
{
	struct spec ex = { ARGS("-m", "--excludei", "SKIP", "d"), "mkdir d",
			   STEPS("touch d/skip1 d/Skip2 d/keep; touch d/marker"),
			   STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1 };
	struct spec in = { ARGS("-m", "--include", "(\\.c|marker)$", "d"),
			   "mkdir d",
			   STEPS("touch d/a.c d/a.h d/b.c; touch d/marker"),
			   STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1 };

	compare("inotifywait", "uinotifywait", &ex);
	compare("inotifywait", "uinotifywait", &in);
}

TEST(fromfile)
{
	char list[512];
	int fd;

	snprintf(list, sizeof list, "%s/list", uin_test_tmpdir());
	fd = open(list, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, "d1\n\n@d1/x\nd2/f\n", 15) == 15);
	close(fd);
	fd = open(list, O_RDONLY);
	CHECK(fd >= 0);
	struct spec s = { ARGS("-m", "-r", "--fromfile", "-"),
			  "mkdir -p d1/x d1/y d2; touch d2/f",
			  STEPS("touch d1/x/no d1/y/yes; echo >> d2/f; "
				"touch d1/marker"),
			  STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, fd };

	compare("inotifywait", "uinotifywait", &s);
	lseek(fd, 0, SEEK_SET);
	s.argv = ARGS("-m", "-r", "--fromfile", list);
	s.stdin_fd = -1;
	compare("inotifywait", "uinotifywait", &s);
	close(fd);
}

TEST(quiet)
{
	struct spec q = { ARGS("-m", "-q", "d"), "mkdir d", STEPS("touch d/marker"),
			  STEPS("CLOSE_WRITE,CLOSE marker"), 1, false, -1 };
	struct spec qq = { ARGS("-qq", "-t", "2", "d"), "mkdir d",
			   STEPS("touch d/a"), NULL, 1, true, -1 };

	compare("inotifywait", "uinotifywait", &q);
	compare("inotifywait", "uinotifywait", &qq);
}

TEST(outfile)
{
	char out[512], cmp[4096];

	snprintf(out, sizeof out, "%s/events.log", uin_test_tmpdir());
	struct spec s = { ARGS("-m", "-o", out, "d"), "mkdir d",
			  STEPS("touch d/marker"), STEPS("CLOSE_WRITE,CLOSE marker"),
			  0, false, -1 };

	wait_file = out;

	unlink(out);
	run_spec(tool("inotifywait"), &s, false, &ref_run);
	snprintf(cmp, sizeof cmp, "mv '%s' '%s.ref'", out, out);
	sh(uin_test_tmpdir(), cmp);
	run_spec(tool("uinotifywait"), &s, true, &our_run);
	snprintf(cmp, sizeof cmp, "cmp '%s' '%s.ref' && test ! -s /dev/null && "
		 "test \"$(stat -c %%a '%s')\" = 600", out, out, out);
	sh(uin_test_tmpdir(), cmp);
}

TEST(option_errors)
{
	static const char *const cases[][8] = {
		{ NULL },
		{ "-t", "0.5", "d" },
		{ "-t", "abc", "d" },
		{ "-t", "", "d" },
		{ "-e", "bogus", "d" },
		{ "-e", "modify,bogus", "d" },
		{ "--bogus", "d" },
		{ "-x", "d" },
		{ "-t" },
		{ "missing" },
		{ "-r", "missing" },
		{ "-c", "--format", "%e", "d" },
		{ "--timefmt", "%s", "d" },
		{ "--format", "%T", "d" },
		{ "--no-newline", "d" },
		{ "--format", "%w%f", "--no-newline", "d" },
		{ "--include", "a", "--exclude", "b", "d" },
		{ "--exclude", "(", "d" },
		{ "--include", "[", "d" },
		{ "--fromfile", "x", "--fromfile", "y", "d" },
		{ "-o", "x", "-o", "y", "d" },
		{ "-d", "d" },
		{ "-f", "d" },
		{ "-h" },
		{ "-qmrt", "x", "d" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spec s = { cases[i], "mkdir d", NULL, NULL, 0, true, -1 };
		const char *const *argv = cases[i][0] ? cases[i] : ARGS("");

		s.argv = cases[i][0] ? argv : (const char *const[]){ NULL };
		run_spec(tool("inotifywait"), &s, false, &ref_run);
		run_spec(tool("uinotifywait"), &s, true, &our_run);
		normalise(ref_run.err);
		normalise(our_run.err);
		if (!strcmp(cases[i][0] ? cases[i][0] : "", "-h")) {
			/* Our help lists more options; the status is the same. */
			CHECK_EQ(our_run.status, ref_run.status);
			continue;
		}
		if (strcmp(ref_run.err, our_run.err) ||
		    strcmp(ref_run.out, our_run.out)) {
			fprintf(stderr, "case %zu (%s ...)\n", i,
				cases[i][0] ? cases[i][0] : "");
			show_diff("stderr", ref_run.err, ref_run.errlen,
				  our_run.err, our_run.errlen);
			CHECK(!"same messages");
		}
		CHECK_EQ(our_run.status, ref_run.status);
	}
}

/* uinotifywatch against inotifywatch ---------------------------------------- */

TEST(watch_table)
{
	const char *const *const argvs[] = {
		ARGS("-t", "1", "-r", "d"),
		ARGS("-t", "1", "-r", "-a", "modify", "d"),
		ARGS("-t", "1", "-r", "-d", "close_write", "-z", "d"),
		ARGS("-t", "1", "-e", "modify,attrib", "d", "d/s/f"),
		ARGS("-t", "1", "-r", "--exclude", "s/", "d"),
	};

	for (size_t i = 0; i < sizeof argvs / sizeof argvs[0]; i++) {
		struct spec s = { argvs[i], "mkdir -p d/s/t; touch d/s/f",
				  STEPS("echo x >> d/s/f; touch d/a; echo y >> d/s/f; "
					"chmod 600 d/s/t; touch d/s/t/u; rm d/a"),
				  NULL, 0, true, -1 };

		compare("inotifywatch", "uinotifywatch", &s);
	}
}

TEST(watch_option_errors)
{
	static const char *const cases[][6] = {
		{ NULL },
		{ "-a", "foo", "d" },
		{ "-a", "move", "d" },
		{ "-a", "close", "d" },
		{ "-a", "access", "-e", "modify", "d" },
		{ "-a", "total", "-a", "total", "d" },
		{ "-t", "x", "d" },
		{ "-e", "bad", "d" },
		{ "-x", "d" },
		{ "--exclude", "(", "d" },
		{ "-t", "1", "missing" },
		{ "-t", "1", "d" },
		{ "-t", "1", "-v", "-r", "d" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spec s = { cases[i][0] ? cases[i]
					      : (const char *const[]){ NULL },
				  "mkdir -p d/e", NULL, NULL, 0, true, -1 };

		compare("inotifywatch", "uinotifywatch", &s);
	}
}

/* Better than inotifywait ------------------------------------------------------ */

static bool has_line(const char *out, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = out; (p = strstr(p, line)); p++)
		if ((p == out || p[-1] == '\n') && p[len] == '\n')
			return true;
	return false;
}

static int count_lines(const char *out, const char *line)
{
	size_t len = strlen(line);
	int n = 0;

	for (const char *p = out; (p = strstr(p, line)); p++)
		if ((p == out || p[-1] == '\n') && p[len] == '\n')
			n++;
	return n;
}

TEST(recursion_race_reported)
{
	for (int round = 0; round < 5; round++) {
		struct spec s = {
			ARGS("-m", "-r", "--mark-synthetic", "d"), "mkdir d",
			STEPS("mkdir -p d/x/y/z && touch d/x/y/z/f && touch d/marker"),
			STEPS("CLOSE_WRITE,CLOSE marker"), 0, false, -1,
		};
		static const char *const want[][2] = {
			{ "d/ CREATE,ISDIR x", NULL },
			{ "d/x/ CREATE,ISDIR y", "d/x/ CREATE,ISDIR,SYNTHETIC y" },
			{ "d/x/y/ CREATE,ISDIR z",
			  "d/x/y/ CREATE,ISDIR,SYNTHETIC z" },
			{ "d/x/y/z/ CREATE f", "d/x/y/z/ CREATE,SYNTHETIC f" },
		};

		run_spec(tool("uinotifywait"), &s, true, &our_run);
		for (size_t i = 0; i < 4; i++) {
			int n = count_lines(our_run.out, want[i][0]) +
				(want[i][1] ? count_lines(our_run.out, want[i][1])
					    : 0);

			if (n != 1) {
				fprintf(stderr, "round %d: '%s' %d times in:\n%s\n",
					round, want[i][0], n, our_run.out);
				CHECK(!"each creation reported exactly once");
			}
		}
		/* Our own listings are not reported as the user's events. */
		CHECK(!strstr(our_run.out, "ACCESS,ISDIR"));
	}
}

TEST(synthetic_format_directive)
{
	struct spec s = { ARGS("-m", "-r", "--format", "%S:%w%f", "d"), "mkdir d",
			  STEPS("mkdir -p d/n/m; touch d/marker"),
			  STEPS(":d/marker"), 0, false, -1 };

	run_spec(tool("uinotifywait"), &s, true, &our_run);
	CHECK(has_line(our_run.out, ":d/n"));
	/* m was either seen by the listing of n, or created after it. */
	CHECK(has_line(our_run.out, "SYNTHETIC:d/n/m") ||
	      has_line(our_run.out, ":d/n/m"));
	CHECK(!has_line(our_run.out, "SYNTHETIC:d/n"));
}

TEST(rename_follows_paths)
{
	struct spec s = {
		ARGS("-m", "-r", "-e", "create,moved_from,moved_to", "d"),
		"mkdir -p d/s1/s2 d/other",
		STEPS("mv d/s1 d/t1; touch d/t1/s2/g; touch d/m1",
		      "mv d/t1 d/other/t2; touch d/other/t2/s2/h; touch d/m2",
		      "mv d/other/t2 ../outside; touch ../outside/s2/gone; "
		      "mkdir d/after; touch d/marker"),
		STEPS("CREATE m1", "CREATE m2", "CREATE marker"), 0, false, -1,
	};

	sh(uin_test_tmpdir(), "rm -rf outside");
	run_spec(tool("uinotifywait"), &s, true, &our_run);
	CHECK(has_line(our_run.out, "d/t1/s2/ CREATE g"));
	CHECK(has_line(our_run.out, "d/other/t2/s2/ CREATE h"));
	CHECK(!strstr(our_run.out, "gone")); /* left the tree: not watched */
	CHECK(!strstr(our_run.out, "d/s1/s2/"));
}

TEST(excludes_prune_watches)
{
	/* 201 directories: the regex keeps d100..d199 unwatched, the glob
	 * d19 (and d190..d199 again): 100 watches remain. */
	char wdir[512];
	pid_t pid;
	int outp[2], watches;

	snprintf(wdir, sizeof wdir, "%s/w", uin_test_tmpdir());
	/* Count the kernel watches of a live run. */
	sh(uin_test_tmpdir(), "rm -rf w && mkdir w && cd w && mkdir tree && cd tree "
			      "&& for i in $(seq 0 199); do mkdir d$i; done");
	CHECK(pipe(outp) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		if (chdir(wdir))
			_exit(126);
		dup2(outp[1], 2);
		setenv("UINOTIFY_SOURCE", "kernel", 1);
		execl(tool("uinotifywait"), "uinotifywait", "-m", "-r", "--exclude",
		      "/d1[0-9][0-9]/", "--exclude-glob", "d19*", "tree",
		      (char *)NULL);
		_exit(127);
	}
	close(outp[1]);
	{
		char buf[4096] = "";
		size_t len = 0;
		long deadline = now_ms() + 20000;

		while (!strstr(buf, "Watches established.") && now_ms() < deadline) {
			ssize_t n = read(outp[0], buf + len, sizeof buf - 1 - len);

			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = 0;
		}
		watches = strstr(buf, "Watches established.")
				  ? kernel_watches(pid) : -1;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(outp[0]);
	CHECK_EQ(watches, 100);
}

TEST(ready_fd_and_file)
{
	char ready[512];
	int p[2];

	snprintf(ready, sizeof ready, "%s/ready", uin_test_tmpdir());
	CHECK(pipe(p) == 0);
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid) {
		char fdarg[16];

		close(p[0]);
		snprintf(fdarg, sizeof fdarg, "%d", p[1]);
		if (chdir(uin_test_tmpdir()))
			_exit(126);
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execl(tool("uinotifywait"), "uinotifywait", "-q", "-m",
		      "--ready-fd", fdarg, "--ready-file", ready, ".", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	{
		char buf[16] = "";
		ssize_t n = read(p[0], buf, sizeof buf - 1);
		bool file = access(ready, F_OK) == 0;

		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		close(p[0]);
		CHECK(n == 6 && !strcmp(buf, "ready\n"));
		CHECK(file);
	}
}

TEST(subsecond_timefmt)
{
	struct spec s = { ARGS("-m", "--format", "%T|%f", "--timefmt",
			       "%s.%3N.%N.%%N", "d"),
			  "mkdir d", STEPS("touch d/marker"), STEPS("|marker"), 0,
			  false, -1 };
	long secs, ms, ns;
	char tail[64];

	run_spec(tool("uinotifywait"), &s, true, &our_run);
	CHECK(sscanf(our_run.out, "%ld.%3ld.%9ld.%%N|%63s", &secs, &ms, &ns,
		     tail) == 4);
	CHECK_EQ(ms, ns / 1000000);
}

TEST(watch_limit_fallback)
{
	/* A per-process uinotify limit of 3 watches on a tree of 6
	 * directories: inotifywait's lines, then ours, and the run goes on
	 * with the watches it has. */
	struct spec s = { ARGS("-m", "-r", "t"), "mkdir -p t/a t/b t/c t/d t/e",
			  STEPS("touch t/marker"), STEPS("CLOSE_WRITE,CLOSE marker"),
			  0, false, -1 };

	setenv("UINOTIFY_MAX_USER_WATCHES", "3", 1);
	run_spec(tool("uinotifywait"), &s, true, &our_run);
	unsetenv("UINOTIFY_MAX_USER_WATCHES");
	CHECK(strstr(our_run.err, "Failed to watch t; upper limit on inotify "
				  "watches reached!\nPlease increase the amount "
				  "of inotify watches allowed per user via "
				  "`/proc/sys/fs/inotify/max_user_watches'.\n"));
	CHECK(strstr(our_run.err, "Watches established."));
	CHECK(has_line(our_run.out, "t/ CLOSE_WRITE,CLOSE marker"));
}

TEST(overflow_reported_and_recovered)
{
	char wdir[512];
	int outp[2], errp[2];
	pid_t pid;
	struct run *r = &our_run;
	long deadline;

	memset(r, 0, sizeof *r);
	snprintf(wdir, sizeof wdir, "%s/w", uin_test_tmpdir());
	sh(uin_test_tmpdir(), "rm -rf w && mkdir -p w/d && touch w/d/old");
	CHECK(pipe(outp) == 0 && pipe(errp) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		if (chdir(wdir))
			_exit(126);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		setenv("UINOTIFY_SOURCE", "kernel", 1);
		setenv("UINOTIFY_MAX_QUEUED_EVENTS", "16", 1);
		execl(tool("uinotifywait"), "uinotifywait", "-m", "-r",
		      "--recover", "--mark-synthetic", "d", (char *)NULL);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	deadline = now_ms() + 20000;
	while (!strstr(r->err, "Watches established.") && now_ms() < deadline)
		pump(outp[0], errp[0], r, 50);
	kill(pid, SIGSTOP);
	sh(wdir, "for i in $(seq 1 40); do touch d/f$i; done; rm d/old; "
		 "mkdir d/sub; touch d/sub/inner");
	kill(pid, SIGCONT);
	sh(wdir, "touch d/marker");
	deadline = now_ms() + 20000;
	while (!strstr(r->out, "d/ CLOSE_WRITE,CLOSE marker") &&
	       now_ms() < deadline)
		pump(outp[0], errp[0], r, 50);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	pump(outp[0], errp[0], r, 0);
	close(outp[0]);
	close(errp[0]);

	CHECK(has_line(r->out, " Q_OVERFLOW "));
	CHECK(strstr(r->err, "the event queue overflowed"));
	/* Everything lost comes back from the rescan. */
	for (int i = 1; i <= 40; i++) {
		char a[64], b[64];

		snprintf(a, sizeof a, "d/ CREATE f%d", i);
		snprintf(b, sizeof b, "d/ CREATE,SYNTHETIC f%d", i);
		if (!has_line(r->out, a) && !has_line(r->out, b)) {
			fprintf(stderr, "f%d missing:\n%s\n", i, r->out);
			CHECK(!"every created file reported");
		}
	}
	CHECK(has_line(r->out, "d/ DELETE old") ||
	      has_line(r->out, "d/ DELETE,SYNTHETIC old"));
	CHECK(has_line(r->out, "d/sub/ CREATE inner") ||
	      has_line(r->out, "d/sub/ CREATE,SYNTHETIC inner"));
}

TEST(uinotifywatch_csv)
{
	struct spec s = { ARGS("-t", "1", "-c", "-e", "modify,close_write", "d"),
			  "mkdir d; touch 'd/a,b'",
			  STEPS("echo x >> 'd/a,b'; echo y >> 'd/a,b'"), NULL, 0,
			  true, -1 };

	run_spec(tool("uinotifywatch"), &s, true, &our_run);
	CHECK_STR(our_run.out, "total,modify,close_write,filename\n"
			       "4,2,2,d/\n");
}

TEST(bindfs_backing_change_default_source)
{
	/* Changes made to the backing directory of a bindfs mount never
	 * reach the kernel's inotify on the mount; the default source (auto:
	 * kernel plus scanner on FUSE) reports them. */
	char base[512], cmd[2048], mnt[600];
	int outp[2], errp[2];
	struct run *r = &our_run;
	long deadline;
	pid_t pid;
	bool ok;

	if (access("/usr/bin/bindfs", X_OK))
		SKIP("bindfs is not installed (apt-get install bindfs)");
	snprintf(base, sizeof base, "%s", uin_test_tmpdir());
	snprintf(mnt, sizeof mnt, "%s/mnt", base);
	sh(base, "mkdir -p back mnt");
	snprintf(cmd, sizeof cmd, "bindfs '%s/back' '%s' 2>/dev/null", base, mnt);
	if (system(cmd))
		SKIP("bindfs cannot mount here (needs FUSE)");
	memset(r, 0, sizeof *r);
	CHECK(pipe(outp) == 0 && pipe(errp) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		if (chdir(base))
			_exit(126);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		unsetenv("UINOTIFY_SOURCE");
		execl(tool("uinotifywait"), "uinotifywait", "-m", "-r",
		      "--interval", "50", "mnt", (char *)NULL);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	deadline = now_ms() + 20000;
	while (!strstr(r->err, "Watches established.") && now_ms() < deadline)
		pump(outp[0], errp[0], r, 50);
	sh(base, "touch back/f && mkdir back/sub && echo x > back/sub/g");
	deadline = now_ms() + 10000;
	while (!(has_line(r->out, "mnt/ CREATE f") &&
		 has_line(r->out, "mnt/ CREATE,ISDIR sub") &&
		 has_line(r->out, "mnt/sub/ CREATE g")) &&
	       now_ms() < deadline)
		pump(outp[0], errp[0], r, 50);
	ok = has_line(r->out, "mnt/ CREATE f") &&
	     has_line(r->out, "mnt/ CREATE,ISDIR sub") &&
	     has_line(r->out, "mnt/sub/ CREATE g");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(outp[0]);
	close(errp[0]);
	snprintf(cmd, sizeof cmd, "fusermount -u '%s' 2>/dev/null || umount '%s'",
		 mnt, mnt);
	if (system(cmd))
		fprintf(stderr, "could not unmount %s\n", mnt);
	if (!ok)
		fprintf(stderr, "out:\n%s\nerr:\n%s\n", r->out, r->err);
	CHECK(ok);
}
