/*
 * tests/preload/preload_util.h - running programs under LD_PRELOAD for the
 * test_preload_* tests: spawn with a chosen environment, collect stdout and
 * stderr, wait for a line with a deadline, stop.
 *
 * Paths come from tests/CMakeLists.txt (the LD_PRELOAD block at its end):
 * UIN_PRELOAD_SO, UIN_PRELOAD_RULES, UIN_PRELOAD_PROBE, UIN_PRELOAD_SCRIPTS,
 * UIN_PRELOAD_SANITIZE, UIN_PRELOAD_RUNTIMES.
 */
#ifndef UIN_TEST_PRELOAD_UTIL_H
#define UIN_TEST_PRELOAD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define PL_UNUSED __attribute__((unused))

extern char **environ;

/* Skip unless the library and the helpers were built for this run. */
static PL_UNUSED void pl_require_preload(void)
{
#ifndef UIN_PRELOAD_SO
	SKIP("libuinotify-preload.so is not built (src/preload)");
#else
	if (UIN_PRELOAD_SANITIZE[0] && !UIN_PRELOAD_RUNTIMES[0])
		SKIP("this sanitizer cannot be preloaded into unsanitized "
		     "programs (only UINOTIFY_SANITIZE=address[,undefined] "
		     "or thread with gcc)");
	if (access(UIN_PRELOAD_SO, R_OK) != 0)
		SKIP("libuinotify-preload.so not found");
#endif
}

static PL_UNUSED const char *pl_which(const char *name);

/* Skip unless prog is installed (from the Debian package). */
static PL_UNUSED void pl_require(const char *prog, const char *package)
{
	if (!pl_which(prog)) {
		char why[256];
		snprintf(why, sizeof why,
			 "%s not installed (apt-get install -y %s)", prog,
			 package);
		SKIP(strdup(why));
	}
}

/* Full path of an executable found in PATH (or given with a slash), or NULL. */
static PL_UNUSED const char *pl_which(const char *name)
{
	static char found[4][1024];
	static int next;
	char *out = found[next++ % 4];
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? name : NULL;
	const char *p = getenv("PATH");
	if (!p)
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t len = strcspn(p, ":");
		snprintf(out, sizeof found[0], "%.*s/%s", (int)len, p, name);
		if (len && access(out, X_OK) == 0)
			return out;
		p += len + (p[len] == ':');
	}
	return NULL;
}

/*
 * The environment for a child: ours without LD_PRELOAD and UINOTIFY_*,
 * plus extra ("NAME=value" strings, NULL-terminated).  preload adds
 * LD_PRELOAD=<the library>.
 */
static PL_UNUSED char **pl_env(bool preload, const char *const *extra)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (extra && extra[k])
		k++;
	char **env = calloc(n + k + 3, sizeof *env);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "LD_PRELOAD=", 11) ||
		    !strncmp(environ[i], "UINOTIFY_", 9) ||
		    (preload && !strncmp(environ[i], "ASAN_OPTIONS=", 13)))
			continue;
		env[j++] = environ[i];
	}
#ifdef UIN_PRELOAD_SO
	/* A sanitized library needs its runtimes first, and the programs
	 * (python, tail) are not leak-clean. */
	if (preload) {
		env[j++] = (char *)"LD_PRELOAD=" UIN_PRELOAD_RUNTIMES
			UIN_PRELOAD_SO;
		if (UIN_PRELOAD_RUNTIMES[0])
			env[j++] = (char *)"ASAN_OPTIONS=detect_leaks=0";
	}
#else
	(void)preload;
#endif
	for (size_t i = 0; i < k; i++)
		env[j++] = (char *)extra[i];
	return env;
}

struct pl_child {
	pid_t pid;
	int out, err;            /* read ends, non-blocking */
	char obuf[65536], ebuf[65536];
	size_t olen, elen;
};

/*
 * Start argv with env; stdin /dev/null.  before_exec (may be NULL) runs in
 * the child just before execve (for seccomp filters).
 */
static PL_UNUSED void pl_spawn(struct pl_child *c, char *const argv[],
			       char **env, void (*before_exec)(void))
{
	int o[2], e[2];
	CHECK_OK(pipe2(o, O_CLOEXEC));
	CHECK_OK(pipe2(e, O_CLOEXEC));
	fflush(NULL);
	c->pid = fork();
	CHECK(c->pid >= 0);
	if (c->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (before_exec)
			before_exec();
		execve(argv[0], argv, env);
		dprintf(2, "execve %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	c->out = o[0];
	c->err = e[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	c->olen = c->elen = 0;
	c->obuf[0] = c->ebuf[0] = 0;
}

static long pl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Collect what is available for up to ms; false once both pipes hit EOF. */
static PL_UNUSED bool pl_collect(struct pl_child *c, int ms)
{
	struct pollfd p[2] = {{.fd = c->out, .events = POLLIN},
			      {.fd = c->err, .events = POLLIN}};
	int nfds = 0;
	if (c->out >= 0)
		nfds++;
	if (c->err >= 0)
		nfds++;
	if (!nfds)
		return false;
	if (c->out < 0)
		p[0].fd = -1;
	if (c->err < 0)
		p[1].fd = -1;
	poll(p, 2, ms);
	for (int i = 0; i < 2; i++) {
		int *fd = i ? &c->err : &c->out;
		char *b = i ? c->ebuf : c->obuf;
		size_t *len = i ? &c->elen : &c->olen;
		if (*fd < 0)
			continue;
		for (;;) {
			ssize_t n = read(*fd, b + *len, sizeof c->obuf - 1 - *len);
			if (n > 0) {
				*len += (size_t)n;
				b[*len] = 0;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
			    *len == sizeof c->obuf - 1) {
				if (n == 0) {
					close(*fd);
					*fd = -1;
				}
			}
			break;
		}
	}
	return c->out >= 0 || c->err >= 0;
}

/* Wait up to ms for needle in stdout (or stderr with from_err). */
static PL_UNUSED bool pl_wait_for(struct pl_child *c, const char *needle,
				  bool from_err, int ms)
{
	long end = pl_now_ms() + ms;
	for (;;) {
		if (strstr(from_err ? c->ebuf : c->obuf, needle))
			return true;
		long left = end - pl_now_ms();
		if (left <= 0)
			return false;
		if (!pl_collect(c, (int)(left < 50 ? left : 50)) &&
		    !strstr(from_err ? c->ebuf : c->obuf, needle)) {
			/* both pipes closed: nothing more can come */
			return false;
		}
	}
}

/* Wait up to ms for the child to exit; its status, or -1 (then killed). */
static PL_UNUSED int pl_wait_exit(struct pl_child *c, int ms)
{
	long end = pl_now_ms() + ms;
	int status;
	for (;;) {
		pl_collect(c, 20);
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid) {
			while (pl_collect(c, 0))
				;
			return status;
		}
		if (pl_now_ms() > end) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			return -1;
		}
	}
}

/* SIGTERM, then collect and reap. */
static PL_UNUSED void pl_stop(struct pl_child *c)
{
	kill(c->pid, SIGTERM);
	if (pl_wait_exit(c, 5000) == -1)
		fprintf(stderr, "child %d needed SIGKILL\n", (int)c->pid);
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	c->out = c->err = -1;
}

/*
 * Run body(watch_dir, change_dir) in a child with a bindfs mount of
 * change_dir on watch_dir, and unmount whatever happens to the child.
 * Changes made in change_dir are invisible to the kernel's inotify on
 * watch_dir, as on a network share.
 */
static PL_UNUSED void pl_with_bindfs(void (*body)(const char *watch,
						   const char *change))
{
	pl_require("bindfs", "bindfs");
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		SKIP("no /dev/fuse");
	char back[512], mnt[512];
	snprintf(back, sizeof back, "%s", uin_test_path("back"));
	snprintf(mnt, sizeof mnt, "%s", uin_test_path("mnt"));
	CHECK_OK(mkdir(back, 0755));
	CHECK_OK(mkdir(mnt, 0755));
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "bindfs '%s' '%s'", back, mnt);
	if (system(cmd) != 0)
		SKIP("bindfs cannot mount here");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		body(mnt, back);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	snprintf(cmd, sizeof cmd, "umount -l '%s' 2>/dev/null || "
		 "fusermount -uz '%s'", mnt, mnt);
	if (system(cmd) != 0)
		fprintf(stderr, "could not unmount %s\n", mnt);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static PL_UNUSED void pl_write_file(const char *path, const char *text,
				    const char *mode)
{
	FILE *f = fopen(path, mode);
	CHECK(f != NULL);
	fputs(text, f);
	CHECK_EQ(fclose(f), 0);
}

/* When the kernel's output and the drop-in's differ: both saved in the
 * test's directory, diff -u of them and the drop-in's stderr on stderr. */
static PL_UNUSED void pl_show_difference(const struct pl_child *kernel,
					 const struct pl_child *preload)
{
	if (strcmp(kernel->obuf, preload->obuf) == 0)
		return;
	pl_write_file(uin_test_path("kernel.txt"), kernel->obuf, "w");
	pl_write_file(uin_test_path("preload.txt"), preload->obuf, "w");
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "diff -u %s %s >&2",
		 uin_test_path("kernel.txt"), uin_test_path("preload.txt"));
	if (system(cmd) < 0)
		perror("diff");
	fprintf(stderr, "--- preload stderr:\n%s\n", preload->ebuf);
}

static PL_UNUSED void pl_dump(const struct pl_child *c, const char *what)
{
	fprintf(stderr, "--- %s stdout:\n%s\n--- %s stderr:\n%s\n---\n", what,
		c->obuf, what, c->ebuf);
}

#endif
