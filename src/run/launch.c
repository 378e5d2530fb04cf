/*
 * src/run/launch.c - starting COMMAND under the supervisor.
 *
 * COMMAND IS uinotify-run.  The process the shell started installs the
 * filters on itself and then execs COMMAND: COMMAND keeps that pid, its
 * parent, its process group, its terminal, its stdio and its place in job
 * control, and its exit status and the signals sent to it are its own, as
 * if it had been started directly.  Nothing is forwarded because nothing
 * stands in between.
 *
 * THE SUPERVISOR is a grandchild made before the filters (so it is not
 * under them), that re-executes this program without LD_PRELOAD (a drop-in
 * library preloaded into uinotify-run would otherwise serve the
 * supervisor's own inotify calls; its settings travel in
 * UINOTIFY_RUN_SUPERVISOR), detached: the child in between exits at once and is reaped
 * before exec, so COMMAND inherits no child it did not make, and the
 * supervisor, in a session of its own, gets no terminal signal and no
 * signal sent to COMMAND's process group.  The filter's listener fd reaches
 * it over a socketpair; it answers with one byte once it serves (or an
 * error text), and only then does exec happen.  It ends when no process
 * uses the filter any more (the listener reports POLLHUP: every process
 * of the tree has exited, daemons included).  It writes to stderr until
 * COMMAND's own process has exited, then stops (so it holds no pipe of a
 * pipeline open for a daemonised tree).
 *
 * If the supervisor dies, every trapped call of the tree fails with
 * ENOSYS (the kernel's answer once a listener is gone): nothing hangs.
 *
 * Reading the memory of a process needs ptrace access to it: the same
 * user, and, under Yama's ptrace_scope >= 1, being its ancestor or having
 * CAP_SYS_PTRACE.  The supervisor is COMMAND's descendant here, so under
 * Yama it needs CAP_SYS_PTRACE (root has it); docs/run.md says what to do.
 */
#include "run/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/instances.h"
#include "run/run.h"

/* Already served by a supervisor (an outer uinotify-run): one answer for
 * every call is enough, so a nested run just execs. */
bool run_supervised(void)
{
	int saved = errno;
	bool yes = syscall(SYS_ioctl, -1, (unsigned long)UIN_RUN_PROBE, 0) ==
		   UIN_RUN_PROBE_REPLY;
	errno = saved;
	return yes;
}

/* The listener fd over the socketpair, with SCM_RIGHTS. */
static int send_fd(int sock, int fd)
{
	char byte = 'L';
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock, int *fd)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

/* The supervisor ------------------------------------------------------------ */

static void say_to_command(int sock, const char *text)
{
	(void)!write(sock, text, strlen(text));
}

_Noreturn void run_supervise(int sock, pid_t command,
			     const struct run_launch_opts *opts)
{
	setsid();
	/* Only the socket and stderr: an inherited pipe held open here would
	 * keep a pipeline or a test harness waiting for its EOF. */
	if (sock != 3) {
		dup2(sock, 3);
		close(sock);
		sock = 3;
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
	}
	prctl(PR_SET_NAME, "uinotify-run", 0, 0, 0);
	/* Watch COMMAND's own process: once it has exited, stderr is left. */
	int cmd_pidfd = (int)syscall(SYS_pidfd_open, command, 0);

	/* Everything that does not need the listener is made while COMMAND's
	 * side builds and loads the filter: the answer comes sooner. */
	char why[256] = "";
	int ret = opts->setup ? opts->setup(why, sizeof why) : 0;
	if (ret == 0 && (ret = ri_init()) < 0)
		snprintf(why, sizeof why, "inotify_init1: %s", strerror(-ret));
	if (ret == 0 && (ret = run_waker_start()) < 0)
		snprintf(why, sizeof why, "starting a thread: %s",
			 strerror(-ret));
	if (ret < 0) {
		say_to_command(sock, why[0] ? why : "cannot start");
		_exit(1);
	}
	int l;
	if (recv_fd(sock, &l) < 0)
		_exit(1); /* COMMAND's side died */
	if ((ret = run_serve_start(l)) < 0) {
		snprintf(why, sizeof why, "starting a thread: %s",
			 strerror(-ret));
		say_to_command(sock, why);
		_exit(1);
	}
	say_to_command(sock, "+");
	close(sock);
	run_debug("serving pid %d (trapped fds %d-%d)", (int)command,
		  run_cfg.fd_lo, run_cfg.fd_lo + run_cfg.fd_count - 1);

	/* Until no process uses the filter: POLLHUP on the listener. */
	struct pollfd p[2] = {{.fd = l}, {.fd = cmd_pidfd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & (POLLHUP | POLLERR))
			break;
		if (p[1].revents) {
			run_debug("pid %d exited; serving its descendants "
				  "silently",
				  (int)command);
			run_quiet();
			if (nul >= 0)
				dup2(nul, 2);
			p[1].fd = -1;
		}
	}
	run_debug("no process left under the filter");
	_exit(0);
}

/* Our environment without LD_PRELOAD, plus the supervisor's settings. */
static char **supervisor_env(const char *settings)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	if (!env)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], "UINOTIFY_RUN_SUPERVISOR=", 24))
			env[j++] = environ[i];
	env[j++] = (char *)settings;
	return env;
}

/* What the re-executed supervisor is given, made before any vfork (a
 * vfork child may only make system calls). */
struct reexec {
	char settings[512], sockarg[16], pidarg[16];
	char *argv[5];
	char **env;
};

static void reexec_prepare(struct reexec *r, int sock, pid_t command,
			   const struct run_launch_opts *opts)
{
	snprintf(r->settings, sizeof r->settings, "UINOTIFY_RUN_SUPERVISOR=%s",
		 opts->settings ? opts->settings : "");
	snprintf(r->sockarg, sizeof r->sockarg, "%d", sock);
	snprintf(r->pidarg, sizeof r->pidarg, "%d", (int)command);
	r->argv[0] = (char *)"uinotify-run";
	r->argv[1] = (char *)"--supervise";
	r->argv[2] = r->sockarg;
	r->argv[3] = r->pidarg;
	r->argv[4] = NULL;
	r->env = supervisor_env(r->settings);
}

/*
 * The supervisor as a grandchild, by clone(CLONE_VM | CLONE_VFORK) twice,
 * as posix_spawn makes its child: a fork copies the page tables (most of a
 * millisecond each on a VM), this copies nothing.  Each child runs on a
 * stack of its own (vfork's shared stack would have the two levels, and
 * a sanitizer's vfork interceptor, overwrite each other's frames) and only
 * makes system calls.  When clone returns here the grandchild has exec'd
 * or failed, and the child in between has exited.  A failed exec leaves
 * '!' on the socket.  Returns whether it exec'd.
 */
#define SPAWN_STACK (64 * 1024)
/* Not instrumented: AddressSanitizer would see a call on a stack it does
 * not know (and say so on stderr before _exit). */
#define ON_OWN_STACK __attribute__((no_sanitize_address))

struct spawn {
	struct reexec *r;
	int sock, other;
	char *grandchild_stack;
};

ON_OWN_STACK static int grandchild(void *arg)
{
	struct spawn *sp = arg;
	close(sp->other);
	fcntl(sp->sock, F_SETFD, 0); /* survives the exec */
	execve("/proc/self/exe", sp->r->argv, sp->r->env);
	(void)!write(sp->sock, "!", 1);
	_exit(1);
}

ON_OWN_STACK static int middle(void *arg)
{
	struct spawn *sp = arg;
	/* No SIGCHLD: nobody waits for the grandchild but init. */
	(void)clone(grandchild, sp->grandchild_stack + SPAWN_STACK,
		    CLONE_VM | CLONE_VFORK, sp);
	_exit(0);
}

static bool spawn_supervisor(struct reexec *r, int sock, int other)
{
	if (!r->env)
		return false;
	char *stacks = mmap(NULL, 2 * SPAWN_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stacks == MAP_FAILED)
		return false;
	struct spawn sp = {r, sock, other, stacks + SPAWN_STACK};
	pid_t mid = clone(middle, stacks + SPAWN_STACK,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, &sp);
	if (mid > 0) {
		int st;
		while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
			;
	}
	munmap(stacks, 2 * SPAWN_STACK);
	char c;
	return mid > 0 && recv(other, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 1;
}

/* No /proc or no exec: serve from a forked copy of this process, detached
 * the same way. */
static bool fork_supervisor(int sock, pid_t command,
			    const struct run_launch_opts *opts)
{
	fflush(NULL);
	pid_t mid = fork();
	if (mid < 0)
		return false;
	if (mid == 0) {
		pid_t s = fork();
		if (s == 0)
			run_supervise(sock, command, opts);
		_exit(s < 0 ? 1 : 0);
	}
	int st;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* COMMAND's side ------------------------------------------------------------ */

_Noreturn void run_launch(char *const argv[], const struct run_launch_opts *opts)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "uinotify-run: socketpair: %s\n",
			strerror(errno));
		exit(125);
	}
	pid_t self = getpid();
	struct reexec r;
	reexec_prepare(&r, sv[1], self, opts);
	bool started = spawn_supervisor(&r, sv[1], sv[0]);
	free(r.env);
	if (!started) {
		close(sv[0]);
		close(sv[1]);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
		    !fork_supervisor(sv[1], self, opts)) {
			fprintf(stderr, "uinotify-run: cannot start the "
					"supervisor: %s\n",
				strerror(errno));
			exit(125);
		}
	}
	close(sv[1]);

	int l;
	char why[256] = "";
	if (run_filter_install(&l, why, sizeof why) < 0) {
		fprintf(stderr, "uinotify-run: cannot install the filter: %s\n",
			why);
		exit(125);
	}
	/* A supervisor that failed has said why before closing its end, so
	 * the answer is read even when sending failed. */
	(void)send_fd(sv[0], l);
	close(l);
	char answer[256];
	ssize_t n = read(sv[0], answer, sizeof answer - 1);
	close(sv[0]);
	if (n != 1 || answer[0] != '+') {
		if (n > 0)
			answer[n] = 0;
		fprintf(stderr, "uinotify-run: the supervisor did not start%s%s\n",
			n > 0 ? ": " : "", n > 0 ? answer : "");
		exit(125);
	}
	execvp(argv[0], argv);
	int err = errno;
	fprintf(stderr, "uinotify-run: %s: %s\n", argv[0], strerror(err));
	exit(err == ENOENT ? 127 : 126);
}
