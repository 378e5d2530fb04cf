/*
 * tests/test_preload_compat.c - libuinotify-preload.so against the kernel:
 * the same unmodified <sys/inotify.h> program (tests/preload/inotify_rules.c)
 * must print byte for byte the same with and without LD_PRELOAD on a local
 * directory; the library must export only what it interposes, print nothing
 * unless UINOTIFY_DEBUG asks, and fall back to the kernel's inotify when
 * uinotify cannot start its thread.
 */
#include <elf.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "preload/deny_threads.h"
#include "preload/preload_util.h"

/* Run the rules program in a fresh dir; its stdout and stderr. */
static void run_rules(const char *name, bool preload,
		      const char *const *extra, const char *sections,
		      struct pl_child *c)
{
#ifdef UIN_PRELOAD_RULES
	const char *dir = uin_test_path(name);
	CHECK_OK(mkdir(dir, 0755));
	/* sections: space-separated arguments */
	char *argv[16] = {(char *)UIN_PRELOAD_RULES, (char *)dir};
	char *words = strdup(sections), *save = NULL;
	int argc = 2;
	for (char *w = strtok_r(words, " ", &save); w && argc < 15;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	char **env = pl_env(preload, extra);
	pl_spawn(c, argv, env, NULL);
	free(env);
	free(words);
	int status = pl_wait_exit(c, 60000);
	if (status != 0)
		pl_dump(c, name);
	CHECK_EQ(status, 0);
#else
	(void)name, (void)preload, (void)extra, (void)sections, (void)c;
#endif
}

static void compare_with_kernel(const char *const *extra,
				const char *sections)
{
	pl_require_preload();
	static struct pl_child kernel, preload;
	run_rules("kernel", false, NULL, sections, &kernel);
	run_rules("preload", true, extra, sections, &preload);
	pl_show_difference(&kernel, &preload);
	CHECK_STR(preload.obuf, kernel.obuf);
	CHECK(strstr(kernel.obuf, "== end\n") != NULL);
	/* and the instances were uinotify's, not the kernel's */
	if (!strstr(preload.ebuf, "uinotify instance"))
		fprintf(stderr, "--- preload stderr:\n%s\n", preload.ebuf);
	CHECK(strstr(preload.ebuf, "uinotify instance") != NULL);
	CHECK(strstr(preload.ebuf, "cannot start") == NULL);
}

/*
 * Default source (auto: the kernel source on a local filesystem); every
 * section but fork, which has its own test.
 */
TEST(rules_match_kernel)
{
	const char *extra[] = {"UINOTIFY_DEBUG=1", NULL};
	compare_with_kernel(extra, "-fork -forkwatch -exec");
}

TEST(rules_match_kernel_source_forced)
{
	const char *extra[] = {"UINOTIFY_DEBUG=1", "UINOTIFY_SOURCE=kernel",
			       NULL};
	compare_with_kernel(extra, "-fork -forkwatch -exec");
}

/*
 * fork: the child reads the events queued before the fork, adds a watch
 * and reads its event; the parent keeps working afterwards.
 */
TEST(fork_matches_kernel)
{
	const char *extra[] = {"UINOTIFY_DEBUG=1", NULL};
	compare_with_kernel(extra, "fork");
}

/*
 * A watch added before the fork keeps reporting in the child: the child
 * creates a directory right after fork() returns and reads its event
 * (sources/kernel.c, FORK: the child's kernel watches are made again
 * before fork() returns).
 */
TEST(fork_watch_matches_kernel)
{
#ifdef UIN_PRELOAD_SANITIZE
	/* Sanitized builds start the child's event thread at its first read
	 * (sources/loop.h, UIN_SANITIZED); this child polls first. */
	if (UIN_PRELOAD_SANITIZE[0])
		SKIP("the child's event thread starts at its first read under "
		     "the sanitizers");
#endif
	const char *extra[] = {"UINOTIFY_DEBUG=1", NULL};
	compare_with_kernel(extra, "forkwatch");
}

/*
 * exec with a name that is not close-on-exec: Linux hands the new program a
 * working inotify fd; uinotify a pipe read end with no writer left, which
 * gives the leftover readiness byte, then end of file and POLLHUP
 * (docs/preload.md, "fork and exec").  Both sides checked as documented.
 */
TEST(exec_leaves_bare_pipe)
{
	pl_require_preload();
	static struct pl_child kernel, preload;
	run_rules("kernel", false, NULL, "exec", &kernel);
	run_rules("preload", true, NULL, "exec", &preload);
	CHECK(strstr(kernel.obuf, "exec'd: read = 32\n") != NULL);
	if (!strstr(preload.obuf, "exec'd: read = 1\nexec'd: read = 0\n"))
		pl_dump(&preload, "preload");
	CHECK(strstr(preload.obuf, "exec'd: read = 1\nexec'd: read = 0\n") !=
	      NULL);
	CHECK(strstr(preload.obuf, "exec'd: poll = 1 revents = 0x10\n") !=
	      NULL);
}

/* Nothing on stderr (or stdout) unless UINOTIFY_DEBUG is set. */
TEST(silent_without_debug)
{
	pl_require_preload();
	static struct pl_child c;
	const char *extra[] = {"UINOTIFY_DEBUG=", NULL};
	run_rules("quiet", true, extra, "-fork -forkwatch -exec", &c);
	CHECK_STR(c.ebuf, "");
}

/* The dynamic symbols the library defines: exactly the interposed ones. */
TEST(exports_only_interposers)
{
	pl_require_preload();
#ifdef UIN_PRELOAD_SO
	static const char *const want[] = {
		"inotify_init", "inotify_init1", "inotify_add_watch",
		"inotify_rm_watch", "read", "__read_chk", "readv", "close",
		"__close", "close_range", "closefrom", "ioctl", "fcntl",
		"fcntl64", "dup", "dup2", "dup3", "lseek", "lseek64", "splice",
		"tee", "syscall", "fork", "poll", "__poll_chk", "ppoll",
		"__ppoll_chk", "select", "pselect", "epoll_wait", "epoll_pwait",
		"epoll_pwait2", NULL};
	int fd = CHECK_OK(open(UIN_PRELOAD_SO, O_RDONLY | O_CLOEXEC));
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	const unsigned char *map =
		mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(map != MAP_FAILED);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map;
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		SKIP("not a 64-bit ELF");
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	int defined = 0, matched = 0;
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)(map + sh[i].sh_offset);
		const char *names = (const char *)(map + sh[sh[i].sh_link].sh_offset);
		size_t n = sh[i].sh_size / sizeof *sym;
		for (size_t k = 1; k < n; k++) {
			int bind = ELF64_ST_BIND(sym[k].st_info);
			if (sym[k].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK) ||
			    ELF64_ST_TYPE(sym[k].st_info) == STT_NOTYPE)
				continue;
			const char *name = names + sym[k].st_name;
			bool ok = false;
			for (int w = 0; want[w]; w++)
				ok |= strcmp(want[w], name) == 0;
			if (!ok)
				fprintf(stderr, "unexpected export: %s\n", name);
			CHECK(ok);
			defined++;
			matched++;
		}
	}
	int nwant = 0;
	while (want[nwant])
		nwant++;
	CHECK_EQ(matched, nwant);
	CHECK_EQ(defined, nwant);
	munmap((void *)map, (size_t)st.st_size);
	close(fd);
#endif
}

/*
 * No thread can be created (a seccomp filter refuses clone with
 * CLONE_THREAD, and clone3): uinotify cannot start its event loop, so the
 * library gives the program the kernel's inotify instead, says so under
 * UINOTIFY_DEBUG, and the program sees the same as without the library.
 */
static void run_probe(const char *name, bool preload, struct pl_child *c)
{
#ifdef UIN_PRELOAD_PROBE
	const char *dir = uin_test_path(name);
	CHECK_OK(mkdir(dir, 0755));
	char *argv[] = {(char *)UIN_PRELOAD_PROBE, (char *)dir, NULL};
	const char *extra[] = {"UINOTIFY_DEBUG=1", NULL};
	char **env = pl_env(preload, extra);
	pl_spawn(c, argv, env, deny_threads);
	free(env);
	int status = pl_wait_exit(c, 30000);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		SKIP("cannot install a seccomp filter here");
	if (status != 0)
		pl_dump(c, name);
	CHECK_EQ(status, 0);
#else
	(void)name, (void)preload, (void)c;
#endif
}

TEST(fallback_to_kernel_without_threads)
{
	pl_require_preload();
	static struct pl_child kernel, preload;
	run_probe("kernel", false, &kernel);
	run_probe("preload", true, &preload);
	if (strcmp(kernel.obuf, preload.obuf) != 0 ||
	    !strstr(preload.ebuf, "cannot start"))
		pl_dump(&preload, "preload");
	CHECK_STR(preload.obuf, kernel.obuf);
	CHECK(strstr(kernel.obuf, "probe: ok") != NULL);
	CHECK(strstr(preload.ebuf, "cannot start") != NULL);
}
