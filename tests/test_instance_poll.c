/*
 * tests/test_instance_poll.c - readiness: poll/select/epoll see the fd
 * readable exactly while the queue is non-empty, never writable; EPOLLET
 * gets one edge per queued event and none for a merged one; one queued
 * signal (F_SETSIG, O_ASYNC) per queued event.
 */
#include "test_instance_util.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

struct fixture {
	int fd, wd;
	struct uinotify_inode *file;
};

static void setup(struct fixture *fx)
{
	const char *f = make_file("f");
	fx->fd = inst_new(IN_NONBLOCK);
	fx->wd = (int)CHECK_OK(uinotify_add_watch(fx->fd, f, IN_ALL_EVENTS));
	fx->file = none_inode(f);
}

static void teardown(struct fixture *fx)
{
	uinotify_inode_put(fx->file);
	CHECK_OK(uinotify_close(fx->fd));
}

static short revents(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI};
	CHECK_OK(poll(&p, 1, 0));
	return p.revents;
}

TEST(poll_readable_iff_queue_non_empty_never_writable)
{
	struct fixture fx;
	setup(&fx);
	/* The kernel's answer for the same states. */
	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	CHECK_OK(inotify_add_watch(kfd, uin_test_path("f"), IN_ATTRIB));
	CHECK_EQ(revents(kfd), 0);
	CHECK_EQ(revents(fx.fd), 0);
	CHECK_OK(chmod(uin_test_path("f"), 0600));
	uinotify_hook_inode(fx.file, IN_ATTRIB, 0);
	CHECK_HEX(revents(kfd), POLLIN);
	CHECK_HEX(revents(fx.fd), POLLIN);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	char b[64];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	CHECK_HEX(revents(fx.fd), POLLIN); /* one left */
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, sizeof b)), 16);
	CHECK_EQ(revents(fx.fd), 0);
	/* select agrees. */
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(fx.fd, &r);
	FD_SET(fx.fd, &w);
	struct timeval tv = {0, 0};
	CHECK_EQ(select(fx.fd + 1, &r, &w, NULL, &tv), 0);
	close(kfd);
	teardown(&fx);
}

static int edges(int ep)
{
	struct epoll_event ev[4];
	return (int)CHECK_OK(epoll_wait(ep, ev, 4, 0));
}

TEST(epollet_one_edge_per_queued_event_none_when_merged)
{
	struct fixture fx;
	setup(&fx);
	int ep = (int)CHECK_OK(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fx.fd, &ev));
	CHECK_EQ(edges(ep), 0);
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	CHECK_EQ(edges(ep), 1);
	CHECK_EQ(edges(ep), 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	CHECK_EQ(edges(ep), 1);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0); /* merged */
	CHECK_EQ(edges(ep), 0);
	uinotify_hook_inode(fx.file, IN_ATTRIB, 0);
	CHECK_EQ(edges(ep), 1);
	/* Same with the kernel: a queued event is an edge, even unread. */
	int kfd = (int)CHECK_OK(inotify_init1(IN_NONBLOCK));
	const char *f = uin_test_path("f");
	CHECK_OK(inotify_add_watch(kfd, f, IN_ATTRIB | IN_OPEN));
	int kep = (int)CHECK_OK(epoll_create1(EPOLL_CLOEXEC));
	CHECK_OK(epoll_ctl(kep, EPOLL_CTL_ADD, kfd, &ev));
	CHECK_OK(chmod(f, 0600));
	CHECK_EQ(edges(kep), 1);
	CHECK_OK(chmod(f, 0600)); /* merged in the kernel too */
	CHECK_EQ(edges(kep), 0);
	close(CHECK_OK(open(f, O_RDONLY)));
	CHECK_EQ(edges(kep), 1);
	close(kep);
	close(kfd);
	close(ep);
	teardown(&fx);
}

TEST(epoll_level_triggered_until_drained)
{
	struct fixture fx;
	setup(&fx);
	int ep = (int)CHECK_OK(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = {.events = EPOLLIN};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fx.fd, &ev));
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	uinotify_hook_inode(fx.file, IN_ACCESS, 0);
	CHECK_EQ(edges(ep), 1);
	CHECK_EQ(edges(ep), 1);
	char b[64];
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	CHECK_EQ(edges(ep), 1);
	CHECK_EQ(CHECK_OK(uinotify_read(fx.fd, b, 16)), 16);
	CHECK_EQ(edges(ep), 0);
	close(ep);
	teardown(&fx);
}

TEST(one_queued_signal_per_queued_event)
{
	struct fixture fx;
	setup(&fx);
	int sig = SIGRTMIN + 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	CHECK_OK(fcntl(fx.fd, F_SETOWN, getpid()));
	CHECK_OK(fcntl(fx.fd, F_SETSIG, sig));
	int fl = (int)CHECK_OK(fcntl(fx.fd, F_GETFL));
	CHECK_OK(fcntl(fx.fd, F_SETFL, fl | O_ASYNC));
	uinotify_hook_inode(fx.file, IN_OPEN, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0);
	uinotify_hook_inode(fx.file, IN_MODIFY, 0); /* merged: no signal */
	uinotify_hook_inode(fx.file, IN_CLOSE_WRITE, 0);
	struct timespec zero = {0, 0};
	int n = 0;
	siginfo_t si;
	while (sigtimedwait(&set, &si, &zero) == sig) {
		CHECK_EQ(si.si_fd, fx.fd);
		n++;
	}
	CHECK_EQ(n, 3);
	teardown(&fx);
}
