/*
 * tests/test_preload_noharm.c - the drop-in library costs nothing to a
 * program that never watches.  It is meant to be set once for a whole
 * container (ENV LD_PRELOAD=...), so every program pays for it:
 *
 *   - its static TLS stays a few bytes: glibc carves static TLS out of every
 *     thread's stack, so a large block makes threads with 16 KiB stacks fail
 *     with EINVAL (Node printed "pthread_create: Invalid argument" at start);
 *   - until the first inotify call it opens no descriptor, starts no thread
 *     and prints nothing (tests/preload/noharm_probe.c counts them).
 */
#include <elf.h>
#include <sys/mman.h>

#include "preload/preload_util.h"

/* Little enough that no stack notices; tools/CI check the same bound. */
#define STATIC_TLS_MAX 64

/* The PT_TLS segment's memory size of an ELF file, or -1. */
static PL_UNUSED long tls_memsz(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	long ret = -1;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr)) {
		const char *map = mmap(NULL, (size_t)st.st_size, PROT_READ,
				       MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map;
			const Elf64_Phdr *ph =
				(const Elf64_Phdr *)(map + eh->e_phoff);
			ret = 0; /* no PT_TLS: none at all */
			for (int i = 0; i < eh->e_phnum; i++)
				if (ph[i].p_type == PT_TLS)
					ret = (long)ph[i].p_memsz;
			munmap((void *)map, (size_t)st.st_size);
		}
	}
	close(fd);
	return ret;
}

TEST(static_tls_is_a_few_bytes)
{
	pl_require_preload();
#ifdef UIN_PRELOAD_SO
	long n = tls_memsz(UIN_PRELOAD_SO);
	CHECK(n >= 0);
	if (n > STATIC_TLS_MAX)
		uin_test_fail(__FILE__, __LINE__,
			      "static TLS of the drop-in library is %ld bytes "
			      "(at most %d)",
			      n, STATIC_TLS_MAX);
#endif
}

/* The probe's output with and without the library. */
static void run_probe(bool preload, bool watch, struct pl_child *c)
{
#ifdef UIN_PRELOAD_NOHARM
	char *argv[] = {(char *)UIN_PRELOAD_NOHARM, (char *)"--watch",
			(char *)uin_test_tmpdir(), NULL};
	if (!watch)
		argv[1] = NULL;
	char **env = pl_env(preload, NULL);
	pl_spawn(c, argv, env, NULL);
	free(env);
	int status = pl_wait_exit(c, 30000);
	if (status != 0)
		pl_dump(c, preload ? "with the library" : "without");
	CHECK_EQ(status, 0);
#else
	(void)preload, (void)watch, (void)c;
#endif
}

static void require_plain_runtime(void)
{
	pl_require_preload();
#ifdef UIN_PRELOAD_SANITIZE
	/* A sanitizer runtime preloaded first has TLS and threads of its
	 * own: the comparison would measure it, not us. */
	if (UIN_PRELOAD_SANITIZE[0])
		SKIP("a sanitizer runtime would be preloaded too");
#endif
}

TEST(small_stack_threads_start)
{
	require_plain_runtime();
	static struct pl_child with, without;
	run_probe(false, true, &without);
	run_probe(true, true, &with);
	/* Every thread started, before and after the first inotify call. */
	CHECK(strstr(without.obuf, "Invalid argument") == NULL);
	if (strstr(with.obuf, "Invalid argument") ||
	    !strstr(with.obuf, "after: thread with a 16384-byte stack: ok")) {
		pl_dump(&with, "with the library");
		CHECK(!"a small-stack thread failed under the library");
	}
	CHECK(strstr(with.obuf, "watch: fd ok, wd 1") != NULL);
}

TEST(nothing_before_the_first_inotify_call)
{
	require_plain_runtime();
	static struct pl_child with, without;
	run_probe(false, false, &without);
	run_probe(true, false, &with);
	/* Same descriptors, same threads, same lines, and nothing on stderr. */
	CHECK_STR(with.obuf, without.obuf);
	CHECK_STR(with.ebuf, "");
}
