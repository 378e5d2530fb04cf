/*
 * tests/test_run_programs.c - real programs under uinotify-run, each
 * watching a bindfs mount whose backing directory is changed behind its
 * back (invisible to the kernel's inotify on the mount, as on a share):
 * inotifywait (glibc, dynamic), Node's fs.watch (libuv), hugo server (Go,
 * fsnotify), a Go program using fsnotify, and minimal raw watchers built
 * statically with glibc and with musl.  Every remote create, modify,
 * rename and delete is reported, none twice, and a local change as before.
 *
 * The steps wait for each report before the next change (no timing), then
 * the output is read again after a pause longer than the scanner's tick
 * and its CLOSE_WRITE delay: nothing may come late or twice.
 */
#include "test_run.h"

/* Scanner tick for these tests: fast, so that the steps are quick. */
static const char *const env[] = {"UINOTIFY_SCAN_INTERVAL_MS=50", NULL};

struct step {
	const char *what;   /* shell command run in the backing dir (remote)
			       or, with a leading '@', in the mount (local) */
	const char *expect; /* a line the program must print for it */
};

struct count {
	const char *line;
	int n;
};

/* The changes, and what a program must say for each, in its own words. */
struct program {
	const char *name;
	char *argv[12];        /* "%w" is replaced by the watched dir */
	const char *ready;     /* it watches once it printed this */
	bool ready_on_err;
	/* per step below: lines to wait for, each until printed n times
	 * (a remote CLOSE_WRITE comes once the file has been quiet) */
	struct count expect[5][3];
	/* lines that must appear exactly this often in the end */
	struct count exact[10];
};

static const char *const steps[] = {
	"echo hello > r1",   /* remote create (and the write in it) */
	"echo more >> r1",   /* remote modify */
	"mv r1 r2",          /* remote rename */
	"rm r2",             /* remote delete */
	"@touch l1",         /* local create */
	NULL,
};

static int count_lines(const char *text, const char *line)
{
	int n = 0;
	size_t len = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += len)
		if ((p == text || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == 0))
			n++;
	return n;
}

static void run_in(const char *dir, const char *cmd)
{
	char full[1024];
	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	CHECK_EQ(system(full), 0);
}

static const struct program *current;

static void program_body(const char *watch, const char *change)
{
	const struct program *p = current;
	char *argv[16];
	int n = 0;
	argv[n++] = (char *)UIN_RUN_BIN;
	for (int i = 0; p->argv[i]; i++)
		argv[n++] = !strcmp(p->argv[i], "%w") ? (char *)watch
						      : p->argv[i];
	argv[n] = NULL;
	char **e = pl_env(false, env);
	struct pl_child *c = calloc(1, sizeof *c);
	pl_spawn(c, argv, e, NULL);
	free(e);
	if (!pl_wait_for(c, p->ready, p->ready_on_err, 20000)) {
		pl_dump(c, p->name);
		CHECK(!"the program did not start watching");
	}
	for (int i = 0; steps[i]; i++) {
		bool local = steps[i][0] == '@';
		run_in(local ? watch : change, steps[i] + local);
		for (int k = 0; k < 3 && p->expect[i][k].line; k++) {
			const struct count *w = &p->expect[i][k];
			long end = pl_now_ms() + 10000;
			while (count_lines(c->obuf, w->line) < w->n &&
			       pl_now_ms() < end)
				pl_collect(c, 20);
			if (count_lines(c->obuf, w->line) < w->n) {
				pl_dump(c, p->name);
				fprintf(stderr, "after \"%s\": \"%s\" not %d "
						"times\n",
					steps[i], w->line, w->n);
				CHECK(!"a change was not reported");
			}
		}
	}
	/* Longer than a tick and the CLOSE_WRITE delay: anything late or
	 * repeated shows now.  (Not a synchronisation: what is checked is
	 * that nothing more comes.) */
	usleep(1500000);
	pl_collect(c, 0);
	pl_stop(c);
	for (int i = 0; i < 10 && p->exact[i].line; i++) {
		int got = count_lines(c->obuf, p->exact[i].line);
		if (got != p->exact[i].n) {
			pl_dump(c, p->name);
			fprintf(stderr, "\"%s\" %d times, want %d\n",
				p->exact[i].line, got, p->exact[i].n);
		}
		CHECK_EQ(got, p->exact[i].n);
	}
	free(c);
}

static void watch_with(const struct program *p)
{
	run_require();
	current = p;
	pl_with_bindfs(program_body);
}

TEST(inotifywait)
{
	pl_require("inotifywait", "inotify-tools");
	static const struct program p = {
		"inotifywait",
		{(char *)"inotifywait", (char *)"-m", (char *)"-e",
		 (char *)"create,modify,close_write,moved_from,moved_to,delete",
		 (char *)"--format", (char *)"%e %f", (char *)"%w", NULL},
		"Watches established",
		true,
		{{{"CREATE r1", 1}, {"CLOSE_WRITE,CLOSE r1", 1}},
		 {{"MODIFY r1", 1}, {"CLOSE_WRITE,CLOSE r1", 2}},
		 {{"MOVED_TO r2", 1}},
		 {{"DELETE r2", 1}},
		 {{"CREATE l1", 1}}},
		{{"CREATE r1", 1},
		 {"MODIFY r1", 1},
		 {"CLOSE_WRITE,CLOSE r1", 2},
		 {"MOVED_FROM r1", 1},
		 {"MOVED_TO r2", 1},
		 {"DELETE r2", 1},
		 {"CREATE l1", 1},
		 {"CLOSE_WRITE,CLOSE l1", 1}},
	};
	watch_with(&p);
}

TEST(node_fs_watch)
{
	pl_require("node", "nodejs");
	static const struct program p = {
		"node",
		{(char *)"node", (char *)"-e",
		 (char *)"require('fs').watch(process.argv[1], (e, f) => "
			 "console.log(e, f)); console.log('ready')",
		 (char *)"%w", NULL},
		"ready",
		false,
		{{{"rename r1", 1}},
		 {{"change r1", 1}},
		 {{"rename r2", 1}},
		 {{"rename r2", 2}},
		 {{"rename l1", 1}}},
		/* libuv: rename for create, delete and both halves of a
		 * move; change for MODIFY and ATTRIB (touch). */
		{{"rename r1", 2},
		 {"change r1", 1},
		 {"rename r2", 2},
		 {"rename l1", 1},
		 {"change l1", 1}},
	};
	watch_with(&p);
}

TEST(go_fsnotify)
{
#ifndef UIN_RUN_PROG_FSNOTIFY_WATCH_GO
	SKIP("the Go fsnotify watcher is not built (golang-go, "
	     "golang-github-fsnotify-fsnotify-dev)");
#else
	static const struct program p = {
		"fsnotify_watch",
		{(char *)UIN_RUN_PROG_FSNOTIFY_WATCH_GO, (char *)"%w", NULL},
		"ready",
		false,
		{{{"CREATE r1", 1}},
		 {{"WRITE r1", 1}},
		 {{"CREATE r2", 1}},
		 {{"REMOVE r2", 1}},
		 {{"CREATE l1", 1}}},
		{{"CREATE r1", 1},
		 {"WRITE r1", 1},
		 {"RENAME r1", 1},
		 {"CREATE r2", 1},
		 {"REMOVE r2", 1},
		 {"CREATE l1", 1}},
	};
	watch_with(&p);
#endif
}

/* The raw watchers print "<wd> <mask> <cookie!=0> <name>". */
static void raw_watcher(const char *name, const char *prog)
{
	if (!prog)
		SKIP("this static watcher is not built (tests/run/)");
	const struct program p = {
		name,
		{(char *)prog, (char *)"%w", NULL},
		"ready",
		false,
		{{{"1 0x100 0 r1", 1}, {"1 0x8 0 r1", 1}},
		 {{"1 0x2 0 r1", 1}, {"1 0x8 0 r1", 2}},
		 {{"1 0x80 1 r2", 1}},
		 {{"1 0x200 0 r2", 1}},
		 {{"1 0x100 0 l1", 1}}},
		{{"1 0x100 0 r1", 1},
		 {"1 0x2 0 r1", 1},
		 {"1 0x8 0 r1", 2},
		 {"1 0x40 1 r1", 1},
		 {"1 0x80 1 r2", 1},
		 {"1 0x200 0 r2", 1},
		 {"1 0x100 0 l1", 1},
		 {"1 0x8 0 l1", 1}},
	};
	watch_with(&p);
}

#ifndef UIN_RUN_PROG_WATCH_STATIC_GLIBC
#define UIN_RUN_PROG_WATCH_STATIC_GLIBC NULL
#endif
#ifndef UIN_RUN_PROG_WATCH_STATIC_MUSL
#define UIN_RUN_PROG_WATCH_STATIC_MUSL NULL
#endif

TEST(static_glibc_watcher)
{
	raw_watcher("watch_static_glibc", UIN_RUN_PROG_WATCH_STATIC_GLIBC);
}

TEST(static_musl_watcher)
{
	raw_watcher("watch_static_musl", UIN_RUN_PROG_WATCH_STATIC_MUSL);
}

/* hugo server rebuilds a small site on a remote edit of its content. */
static void hugo_body(const char *watch, const char *change)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "mkdir -p site/content site/layouts && "
		 "printf 'baseURL = \"http://127.0.0.1/\"\\ntitle = \"t\"\\n"
		 "disableKinds = [\"taxonomy\", \"term\", \"RSS\", "
		 "\"sitemap\"]\\n' > site/config.toml && "
		 "echo '<p>{{ .Content }}</p>' > site/layouts/index.html && "
		 "echo 'first version' > site/content/_index.md");
	run_in(change, cmd);
	char src[1024], out[1024];
	snprintf(src, sizeof src, "%s/site", watch);
	snprintf(out, sizeof out, "%s", uin_test_path("public"));
	char *argv[] = {(char *)UIN_RUN_BIN, (char *)pl_which("hugo"),
			(char *)"server", (char *)"--source", src,
			(char *)"--renderToDisk", (char *)"--destination", out,
			(char *)"--bind", (char *)"127.0.0.1", (char *)"--port",
			(char *)"0", (char *)"--disableLiveReload", NULL};
	char **e = pl_env(false, env);
	struct pl_child *c = calloc(1, sizeof *c);
	pl_spawn(c, argv, e, NULL);
	free(e);
	bool up = pl_wait_for(c, "Press Ctrl+C to stop", false, 30000);
	if (!up)
		pl_dump(c, "hugo");
	CHECK(up);
	char index[1100];
	snprintf(index, sizeof index, "%s/index.html", out);
	snprintf(cmd, sizeof cmd, "grep -q 'first version' '%s'", index);
	CHECK_EQ(system(cmd), 0);
	run_in(change, "echo 'second version' > site/content/_index.md");
	bool rebuilt = pl_wait_for(c, "Total in", false, 15000) &&
		       strstr(c->obuf, "Change detected");
	if (!rebuilt)
		pl_dump(c, "hugo");
	CHECK(rebuilt);
	snprintf(cmd, sizeof cmd, "grep -q 'second version' '%s'", index);
	CHECK_EQ(system(cmd), 0);
	pl_stop(c);
	free(c);
}

TEST(hugo_server_rebuilds_on_a_remote_edit)
{
	run_require();
	pl_require("hugo", "hugo");
	pl_with_bindfs(hugo_body);
}
