// tests/cxx/consumer.cpp - a C++11 program using uinotify: every public
// header included, built with -std=c++11 -Wall -Wextra -pedantic, linked
// with the shared library.  It checks that C++ lays the public structs out
// as C does (tests/cxx/layout.c), then drives the engine API (a handle, a
// superblock of its own, hooks, IN_IGNORED) and the inotify API (a real
// directory, one IN_CREATE read back).  Exit 0: pass; 1: fail.
#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>
#include <uinotify/sources.h>
#include <uinotify/version.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define UIN_ALIGNOF(t) alignof(t)
#include "abi_layout.h"

extern "C" {
extern const struct uin_abi_entry uin_abi_layout_c[];
extern const size_t uin_abi_layout_c_n;
}

namespace {

int failures = 0;

void check(bool ok, const std::string &what)
{
	if (!ok) {
		std::fprintf(stderr, "FAIL %s\n", what.c_str());
		failures++;
	}
}

const uin_abi_entry layout_cxx[] = {UIN_ABI_LAYOUT(UIN_ABI_ENTRY)};

void check_layout()
{
	const size_t n = sizeof layout_cxx / sizeof layout_cxx[0];
	check(n == uin_abi_layout_c_n, "layout tables of the same length");
	for (size_t i = 0; i < n && i < uin_abi_layout_c_n; i++) {
		const uin_abi_entry &c = uin_abi_layout_c[i];
		const uin_abi_entry &cxx = layout_cxx[i];
		check(c.value == cxx.value,
		      std::string(cxx.what) + ": C++ " +
			      std::to_string(cxx.value) + ", C " +
			      std::to_string(c.value));
	}
}

// The engine API: a consumer's watch embeds struct uinotify_watch.
struct my_watch {
	uinotify_watch w;
	int id;
};

std::vector<std::string> log_lines;
int destroyed = 0;

void on_event(uinotify_watch *w, int32_t wd, uint32_t mask, uint32_t,
	      const char *name, uinotify_inode *)
{
	char line[128];
	std::snprintf(line, sizeof line, "%d %#x %s", wd, mask,
		      name ? name : "-");
	log_lines.push_back(line);
	if (mask & IN_IGNORED)
		uinotify_watch_put(w);
}

void on_destroy(uinotify_watch *w)
{
	destroyed++;
	delete reinterpret_cast<my_watch *>(w);
}

const uinotify_ops ops = {on_event, on_destroy, nullptr};

void check_engine()
{
	uinotify_sb *sb = nullptr;
	check(uinotify_sb_create(nullptr, nullptr, &sb) == 0, "sb_create");
	uinotify_key key = {1, 2, 0, S_IFDIR, 0};
	uinotify_inode *dir = nullptr;
	check(uinotify_inode_get(sb, &key, &dir) == 1, "inode_get creates");
	check(uinotify_inode_is_dir(dir), "inode_is_dir");

	int user = 42;
	uinotify_handle *h = nullptr;
	check(uinotify_handle_create(&ops, &user, &h) == 0, "handle_create");
	check(uinotify_handle_user(h) == &user, "handle_user");

	my_watch *m = new my_watch();
	uinotify_watch_init(&m->w);
	int32_t wd = uinotify_watch_add(h, &m->w, dir, IN_CREATE | IN_DELETE);
	check(wd == 1, "watch_add gives wd 1");
	check(uinotify_watch_wd(&m->w) == wd, "watch_wd");
	check(uinotify_watch_inode(&m->w) == dir, "watch_inode");
	check(uinotify_watch_handle(&m->w) == h, "watch_handle");
	check(uinotify_handle_watch_count(h) == 1, "watch_count");

	uinotify_hook_dirent(dir, "file", nullptr, IN_CREATE, 0);
	uinotify_hook_dirent(dir, "file", nullptr, IN_DELETE, 0);
	uinotify_hook_dirent(dir, "other", nullptr, IN_MODIFY, 0);
	check(uinotify_watch_rm_wd(h, wd) == 0, "watch_rm_wd");
	check(uinotify_watch_rm_wd(h, wd) == -EINVAL, "watch_rm_wd again");

	const std::vector<std::string> want = {"1 0x100 file", "1 0x200 file",
					       "1 0x8000 -"};
	check(log_lines == want, "the handler's events");
	if (log_lines != want)
		for (const std::string &l : log_lines)
			std::fprintf(stderr, "  event %s\n", l.c_str());
	check(destroyed == 1, "destroy_watch once");

	uinotify_handle_destroy(h);
	uinotify_inode_put(dir);
	uinotify_sb_destroy(sb);
}

// The inotify API, on a real directory.
void check_inotify()
{
	char tmpl[] = "/tmp/uinotify-cxx-XXXXXX";
	const char *tmp = mkdtemp(tmpl);
	check(tmp != nullptr, "mkdtemp");
	if (!tmp)
		return;
	std::string dir = tmp;

	uinotify_inode *in = nullptr;
	check(uinotify_path_inode(dir.c_str(), IN_ONLYDIR, UINOTIFY_SOURCE_AUTO,
				  &in) == 0,
	      "path_inode");
	if (in) {
		check(uinotify_inode_is_dir(in), "path_inode is a directory");
		uinotify_inode_put(in);
	}

	int fd = uinotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	check(fd >= 0, "init1");
	check(uinotify_is_instance(fd) == 1, "is_instance");
	int wd = uinotify_add_watch(fd, dir.c_str(), IN_CREATE);
	check(wd == 1, "add_watch gives wd 1");

	std::string file = dir + "/created";
	int f = open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	check(f >= 0, "create a file");
	if (f >= 0)
		close(f);

	pollfd p = {fd, POLLIN, 0};
	check(poll(&p, 1, 10000) == 1, "poll: readable");
	alignas(inotify_event) char buf[4096];
	ssize_t n = uinotify_read(fd, buf, sizeof buf);
	check(n >= static_cast<ssize_t>(sizeof(inotify_event)), "read");
	if (n >= static_cast<ssize_t>(sizeof(inotify_event))) {
		const inotify_event *ev = reinterpret_cast<inotify_event *>(buf);
		check(ev->wd == wd, "event wd");
		check(ev->mask == IN_CREATE, "event mask IN_CREATE");
		check(ev->len > 0 && std::strcmp(ev->name, "created") == 0,
		      "event name");
	}
	check(uinotify_rm_watch(fd, wd) == 0, "rm_watch");
	check(uinotify_close(fd) == 0, "close");
	unlink(file.c_str());
	rmdir(dir.c_str());
}

} // namespace

int main()
{
	check(std::strcmp(uinotify_version(), UINOTIFY_VERSION_STRING) == 0,
	      std::string("uinotify_version() ") + uinotify_version());
	check_layout();
	check_engine();
	check_inotify();
	if (failures) {
		std::fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	std::printf("ok\n");
	return 0;
}
