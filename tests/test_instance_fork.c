/*
 * tests/test_instance_fork.c - what fork, vfork, _Fork and posix_spawn do to
 * a process with instances watching through the kernel source
 * (docs/instance.md, "fork"; sources/loop.h, FORK): the fork handlers do
 * no work per watch and wait for nothing a signal handler's thread holds;
 * a fork child re-arms its inherited watches at its first call and then
 * gets its events; the children of vfork, _Fork and posix_spawn leave the
 * parent as it was, and a program they exec can use uinotify itself.
 *
 * A deadlock fails by the runner's timeout (every test runs in a child of
 * its own with an alarm), not by a sleep here.
 */
#include "test_instance_util.h"

#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include "preload/preload_util.h"
#include "sources/kernel.h"
#include "sources/loop.h"
#include "sources/mounts.h"

/* A non-blocking instance watching dir d (made here) for IN_CREATE through
 * the kernel source: wd 1. */
static int watch_d(void)
{
	uinotify_set_default_source(UINOTIFY_SOURCE_KERNEL);
	CHECK_OK(mkdir(uin_test_path("d"), 0755));
	int fd = (int)CHECK_OK(uinotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	CHECK_EQ(uinotify_add_watch(fd, uin_test_path("d"), IN_CREATE), 1);
	return fd;
}

/* Every name an IN_CREATE was read for, "\n"-separated (a read may bring
 * more than the one asked for). */
static char seen[8192] = "\n";

static bool seen_create(const char *name)
{
	char key[NAME_MAX + 3];
	snprintf(key, sizeof key, "\n%s\n", name);
	return strstr(seen, key) != NULL;
}

/*
 * Whether an IN_CREATE of name arrives on fd within ms (or was read
 * already).  Each read also delivers what the sources hold
 * (uin_loop_drain); poll only bounds the wait (a child of a plain fork
 * shares its parent's readiness pipe, so its readiness proves nothing:
 * docs/instance.md).
 */
static bool got_create(int fd, const char *name, int ms)
{
	char buf[4096] __attribute__((aligned(8)));
	for (int waited = 0; waited <= ms; waited += 20) {
		ssize_t n;
		while ((n = uinotify_read(fd, buf, sizeof buf)) > 0) {
			for (char *p = buf; p < buf + n;) {
				struct inotify_event *e = (void *)p;
				p += sizeof *e + e->len;
				size_t l = strlen(seen);
				if ((e->mask & IN_CREATE) && e->len &&
				    l + strlen(e->name) + 2 < sizeof seen)
					snprintf(seen + l, sizeof seen - l,
						 "%s\n", e->name);
			}
		}
		if (seen_create(name))
			return true;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		(void)poll(&pf, 1, 20);
	}
	return false;
}

static void touch(const char *rel)
{
	int f = open(uin_test_path(rel), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(f >= 0);
	close(f);
}

static void expect_exit0(pid_t pid)
{
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/* The parent's watch reports d/name; with tokens, its readiness pipe is
 * as it should be (not after a plain fork, whose child shared it). */
static void parent_still_works(int fd, const char *name, bool tokens)
{
	char rel[64];
	snprintf(rel, sizeof rel, "d/%s", name);
	touch(rel);
	CHECK(got_create(fd, name, 5000));
	if (tokens)
		expect_tokens_match(fd);
}

/* fork() from a signal handler ------------------------------------------- */

static volatile sig_atomic_t handler_pid = -1;

static void fork_in_handler(int sig)
{
	(void)sig;
	pid_t p = fork();
	if (p == 0)
		_exit(0); /* all a child of a signal handler may do */
	handler_pid = p;
}

struct dispatcher {
	int ready[2], go[2];
};

/* Inside the library (holding its dispatch lock), then waiting for the
 * sources lock, which the main thread holds across its signal handler. */
static void *dispatcher_main(void *arg)
{
	struct dispatcher *d = arg;
	char c;
	uin_loop_dispatch_enter();
	if (write(d->ready[1], "r", 1) != 1 || read(d->go[0], &c, 1) != 1)
		abort();
	uin_sources_lock();
	uin_sources_unlock();
	uin_loop_dispatch_exit();
	return NULL;
}

/*
 * A signal interrupts the main thread while it holds the sources lock; its
 * handler forks while another thread holds the dispatch lock and waits for
 * the sources lock.  A prepare handler that waited for the dispatch lock
 * would never return (that thread waits for this one).  The fork takes
 * nothing, its child (torn) only _exits, and the parent goes on.
 */
TEST(fork_in_signal_handler_while_another_thread_is_inside)
{
	if (UIN_TSAN)
		SKIP("ThreadSanitizer defers the handler past the locked region");
	int fd = watch_d();
	struct sigaction sa = {.sa_handler = fork_in_handler};
	sigemptyset(&sa.sa_mask);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	struct dispatcher d;
	CHECK_OK(pipe(d.ready));
	CHECK_OK(pipe(d.go));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, dispatcher_main, &d), 0);
	char c;
	CHECK_EQ(read(d.ready[0], &c, 1), 1);
	uin_sources_lock();
	CHECK_EQ(write(d.go[1], "g", 1), 1);
	fflush(NULL);
	raise(SIGUSR1); /* returns once the handler's fork has returned */
	uin_sources_unlock();
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(handler_pid > 0);
	expect_exit0(handler_pid);
	signal(SIGUSR1, SIG_DFL);
	parent_still_works(fd, "after", true);
	for (int i = 0; i < 2; i++) {
		close(d.ready[i]);
		close(d.go[i]);
	}
	CHECK_OK(uinotify_close(fd));
}

/* fork(): lazy re-arm --------------------------------------------------------- */

/*
 * The fork handlers leave everything for later: the child has no loop
 * thread until its first call, which re-arms the inherited watch before
 * it returns; the child then gets what it does, and what was queued
 * before the fork is in both processes' queues.
 */
TEST(fork_child_gets_events_after_lazy_rearm)
{
	if (UIN_TSAN)
		SKIP("ThreadSanitizer cannot start threads in a forked child");
	int fd = watch_d();
	touch("d/before");
	/* queued (FIONREAD delivers what the kernel holds) */
	CHECK(fionread(fd) > 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (uin_loop_running())
			_exit(10); /* a handler started the thread */
		if (!got_create(fd, "before", 0))
			_exit(11); /* the first call: re-armed now */
		struct uin_kernel_stats st;
		uin_kernel_get_stats(&st);
		if (st.rearmed != 1 || st.rearm_lost != 0 || st.kwatches != 1)
			_exit(12);
		touch("d/child");
		if (!got_create(fd, "child", 5000))
			_exit(13);
		_exit(0);
	}
	expect_exit0(pid);
	CHECK(got_create(fd, "before", 0));
	parent_still_works(fd, "parent", false);
	CHECK_OK(uinotify_close(fd));
}

/*
 * A child that forks again before its first call: the grandchild inherits
 * the watches still to be re-armed, and re-arms them at its own first
 * call.
 */
TEST(fork_twice_before_first_use)
{
	if (UIN_TSAN)
		SKIP("ThreadSanitizer cannot start threads in a forked child");
	int fd = watch_d();
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			(void)got_create(fd, "nothing", 0); /* the first call */
			touch("d/grandchild");
			_exit(got_create(fd, "grandchild", 5000) ? 0 : 1);
		}
		int gs;
		if (g < 0 || waitpid(g, &gs, 0) != g || !WIFEXITED(gs) ||
		    WEXITSTATUS(gs) != 0)
			_exit(10);
		(void)got_create(fd, "nothing", 0);
		touch("d/child");
		_exit(got_create(fd, "child", 5000) ? 0 : 11);
	}
	expect_exit0(pid);
	parent_still_works(fd, "parent", false);
	CHECK_OK(uinotify_close(fd));
}

/* vfork, _Fork, posix_spawn ------------------------------------------------- */

/* The output of the probe (tests/preload/fallback_probe.c: one watch on
 * dir, one change, one read) run by spawn under the drop-in library. */
#ifdef UIN_PRELOAD_PROBE
static char **probe_argv(const char *dir)
{
	static char *argv[3];
	argv[0] = (char *)UIN_PRELOAD_PROBE;
	argv[1] = (char *)dir;
	argv[2] = NULL;
	return argv;
}

static void read_all(int fd, char *out, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	while (len + 1 < cap && (n = read(fd, out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
}
#endif

#ifdef UIN_PRELOAD_PROBE
/*
 * The probe started by vfork or posix_spawn, its stdout on out[1]: it
 * said ok and exited 0; the parent's instance fd still has what came
 * before and reports what comes after.  Ends fd.
 */
static void probe_done(int fd, int out[2], pid_t pid, char **env)
{
	close(out[1]);
	char text[4096];
	read_all(out[0], text, sizeof text);
	close(out[0]);
	expect_exit0(pid);
	if (!strstr(text, "probe: ok"))
		uin_test_fail(__FILE__, __LINE__, "probe said: %s", text);
	CHECK(got_create(fd, "before", 0));
	parent_still_works(fd, "after", true);
	free(env);
	CHECK_OK(uinotify_close(fd));
}
#endif

/*
 * vfork(): no fork handler runs and the child shares our memory until it
 * execs; a program that uses the drop-in library runs normally, and the
 * parent's watch and queue are as they were.
 */
TEST(vfork_exec)
{
#ifndef UIN_PRELOAD_PROBE
	SKIP("the drop-in library is not built");
#else
	pl_require_preload();
	int fd = watch_d();
	CHECK_OK(mkdir(uin_test_path("p"), 0755));
	char **env = pl_env(true, NULL);
	char **argv = probe_argv(uin_test_path("p"));
	int out[2];
	CHECK_OK(pipe2(out, O_CLOEXEC));
	touch("d/before");
	CHECK(fionread(fd) > 0);
	fflush(NULL);
	pid_t pid = vfork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (dup2(out[1], 1) == 1)
			execve(argv[0], argv, env);
		_exit(127);
	}
	probe_done(fd, out, pid, env);
#endif
}

/*
 * posix_spawn() (clone(CLONE_VM | CLONE_VFORK) in glibc): no fork handler
 * runs; the program spawned uses the drop-in library, and the parent is
 * unaffected.
 */
TEST(posix_spawn_of_a_program_using_the_dropin)
{
#ifndef UIN_PRELOAD_PROBE
	SKIP("the drop-in library is not built");
#else
	pl_require_preload();
	int fd = watch_d();
	CHECK_OK(mkdir(uin_test_path("p"), 0755));
	char **env = pl_env(true, NULL);
	int out[2];
	CHECK_OK(pipe2(out, O_CLOEXEC));
	posix_spawn_file_actions_t fa;
	CHECK_EQ(posix_spawn_file_actions_init(&fa), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, out[1], 1), 0);
	touch("d/before");
	CHECK(fionread(fd) > 0);
	pid_t pid;
	CHECK_EQ(posix_spawn(&pid, UIN_PRELOAD_PROBE, &fa, NULL,
			     probe_argv(uin_test_path("p")), env),
		 0);
	posix_spawn_file_actions_destroy(&fa);
	probe_done(fd, out, pid, env);
#endif
}

/*
 * _Fork() (glibc 2.34): no fork handler runs, so the child is not told; it
 * calls only async-signal-safe functions (as POSIX asks of it) and
 * _exits, or execs.  The parent is unaffected.
 */
TEST(underscore_fork_child_is_async_signal_safe)
{
#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 34)
	SKIP("no _Fork before glibc 2.34");
#else
	int fd = watch_d();
	touch("d/before");
	CHECK(fionread(fd) > 0);
	int p[2];
	CHECK_OK(pipe2(p, O_CLOEXEC));
	fflush(NULL);
	pid_t pid = _Fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* async-signal-safe only: a file, a byte, _exit */
		int f = open(uin_test_path("d/from-child"),
			     O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		char ok = f >= 0 ? 'k' : 'f';
		if (f >= 0)
			close(f);
		ssize_t w = write(p[1], &ok, 1);
		_exit(w == 1 ? 0 : 1);
	}
	close(p[1]);
	char c = 0;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(c, 'k');
	close(p[0]);
	expect_exit0(pid);
	/* The parent's watch saw the child's file: nothing of ours moved. */
	CHECK(got_create(fd, "before", 0));
	CHECK(got_create(fd, "from-child", 5000));
	parent_still_works(fd, "after", true);
	CHECK_OK(uinotify_close(fd));
#endif
}
