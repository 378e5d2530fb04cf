// tests/install/consumer.cpp - a C++11 program built against an installed
// uinotify (tests/install/run.sh): the public headers only, -std=c++11
// -pedantic.  argv[1]: the version it must find at run time.  The engine
// API with a C++ watch type, and the inotify API on a real directory.
// Exit 0 and "ok" on stdout, else 1.
#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>
#include <uinotify/sources.h>
#include <uinotify/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

int failures = 0;

void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "FAIL %s\n", what);
		failures++;
	}
}

struct named_watch {
	uinotify_watch w; // first: the engine's pointer is ours
	std::vector<std::string> *names;
};

void on_event(uinotify_watch *w, int32_t, uint32_t mask, uint32_t,
	      const char *name, uinotify_inode *)
{
	named_watch *nw = reinterpret_cast<named_watch *>(w);
	nw->names->push_back(name ? name : "(self)");
	if (mask & IN_IGNORED)
		uinotify_watch_put(w);
}

void on_destroy(uinotify_watch *w)
{
	delete reinterpret_cast<named_watch *>(w);
}

void engine()
{
	static const uinotify_ops ops = {on_event, on_destroy, nullptr};
	std::vector<std::string> names;
	uinotify_sb *sb = nullptr;
	uinotify_handle *h = nullptr;
	uinotify_inode *dir = nullptr;
	const uinotify_key key = {8, 8, 0, S_IFDIR, 0};
	check(uinotify_sb_create(nullptr, nullptr, &sb) == 0, "sb_create");
	check(uinotify_inode_get(sb, &key, &dir) == 1, "inode_get");
	check(uinotify_handle_create(&ops, nullptr, &h) == 0, "handle_create");
	named_watch *nw = new named_watch{uinotify_watch(), &names};
	uinotify_watch_init(&nw->w);
	int32_t wd = uinotify_watch_add(h, &nw->w, dir, IN_CREATE | IN_DELETE);
	check(wd == 1, "watch_add");
	uinotify_hook_dirent(dir, "a", nullptr, IN_CREATE, 0);
	uinotify_hook_dirent(dir, "a", nullptr, IN_DELETE, 0);
	check(uinotify_watch_rm_wd(h, wd) == 0, "watch_rm_wd");
	check(names == std::vector<std::string>({"a", "a", "(self)"}),
	      "the handler's events");
	uinotify_handle_destroy(h);
	uinotify_inode_put(dir);
	uinotify_sb_destroy(sb);
}

void instance()
{
	char tmpl[] = "/tmp/uinotify-consumer-XXXXXX";
	const char *dir = mkdtemp(tmpl);
	check(dir != nullptr, "mkdtemp");
	if (!dir)
		return;
	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	check(fd >= 0, "init1");
	int wd = uinotify_add_watch(fd, dir, IN_CREATE);
	check(wd == 1, "add_watch");
	const std::string sub = std::string(dir) + "/sub";
	check(mkdir(sub.c_str(), 0755) == 0, "mkdir");
	pollfd p = {fd, POLLIN, 0};
	check(poll(&p, 1, 10000) == 1, "poll");
	alignas(inotify_event) char buf[4096];
	ssize_t n = uinotify_read(fd, buf, sizeof buf);
	check(n >= static_cast<ssize_t>(sizeof(inotify_event)), "read");
	if (n >= static_cast<ssize_t>(sizeof(inotify_event))) {
		const inotify_event *ev = reinterpret_cast<inotify_event *>(buf);
		check(ev->wd == wd, "event wd");
		check(ev->mask == (IN_CREATE | IN_ISDIR), "event mask");
		check(ev->len > 0 && std::strcmp(ev->name, "sub") == 0,
		      "event name");
	}
	check(uinotify_close(fd) == 0, "close");
	rmdir(sub.c_str());
	rmdir(dir);
}

} // namespace

int main(int argc, char **argv)
{
	check(std::strcmp(uinotify_version(), UINOTIFY_VERSION_STRING) == 0,
	      "uinotify_version() is the headers'");
	if (argc > 1)
		check(std::strcmp(uinotify_version(), argv[1]) == 0,
		      "uinotify_version() is the installed version");
	engine();
	instance();
	if (failures)
		return 1;
	std::printf("ok C++ %s\n", uinotify_version());
	return 0;
}
