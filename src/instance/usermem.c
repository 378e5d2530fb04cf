/*
 * src/instance/usermem.c - the caller's memory, checked by the kernel
 * (usermem.h).
 */
#include "instance/usermem.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 0x0001
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

size_t uin_page_size(void)
{
	static atomic_size_t cached;
	size_t ps = atomic_load_explicit(&cached, memory_order_relaxed);
	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
		atomic_store_explicit(&cached, ps, memory_order_relaxed);
	}
	return ps;
}

#if defined(__x86_64__)
/*
 * TASK_SIZE_MAX: (1 << 47) - PAGE_SIZE with 4-level paging, (1 << 56) -
 * PAGE_SIZE with 5-level.  Measured on 6.x: a read whose range ends at
 * 0x7ffffffff000 passes access_ok, one byte more fails it.  Which paging
 * is asked only when a range ends above the 47-bit top: only 5-level
 * paging maps a page there.
 */
#define TOP_47 ((UINT64_C(1) << 47) - 4096)
#define TOP_56 ((UINT64_C(1) << 56) - 4096)

static uintptr_t user_top_slow(void)
{
	static atomic_uintptr_t cached;
	uintptr_t top = atomic_load_explicit(&cached, memory_order_relaxed);
	if (top)
		return top;
	size_t ps = uin_page_size();
	void *hint = (void *)(uintptr_t)(UINT64_C(1) << 47);
	/* The raw call: a sanitizer's mmap interceptor may refuse an
	 * address its shadow memory owns (TSan dies there). */
	void *p = (void *)syscall(SYS_mmap, hint, ps, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS |
					  MAP_FIXED_NOREPLACE,
				  -1, 0);
	if (p == hint || (p == MAP_FAILED && errno == EEXIST))
		top = (uintptr_t)TOP_56;
	else
		top = (uintptr_t)TOP_47;
	if (p != MAP_FAILED)
		syscall(SYS_munmap, p, ps);
	atomic_store_explicit(&cached, top, memory_order_relaxed);
	return top;
}
#endif

bool uin_user_range_ok(uintptr_t p, size_t n)
{
	uintptr_t end = p + n;
	if (end < p)
		return false;
#if defined(__x86_64__)
	if (end <= (uintptr_t)TOP_47)
		return true;
	int saved = errno;
	bool ok = end <= user_top_slow();
	errno = saved;
	return ok;
#else
	return true;
#endif
}

uintptr_t uin_user_writable(uintptr_t p, uintptr_t end)
{
	/* GRND_INSECURE (5.6) never blocks nor fails before the pool is
	 * ready; older kernels refuse it with EINVAL. */
	static atomic_int flags = GRND_INSECURE;
	int saved = errno;
	while (p < end) {
		/* The raw syscall: a vDSO getrandom (glibc 2.41, Linux 6.11)
		 * would write from user space, and fault. */
		int fl = atomic_load_explicit(&flags, memory_order_relaxed);
		long r = syscall(SYS_getrandom, (void *)p, (size_t)(end - p),
				 (unsigned)fl);
		if (r > 0) {
			/* Short only at a fault (the next call says so at
			 * once) or at a page with a signal pending. */
			p += (uintptr_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && fl == GRND_INSECURE) {
			atomic_store_explicit(&flags, GRND_NONBLOCK,
					      memory_order_relaxed);
			continue;
		}
		if (r < 0 && errno == EFAULT)
			break; /* p is the first byte it cannot write */
		/* ENOSYS, EPERM (a seccomp filter), EAGAIN (no entropy yet
		 * on a kernel without GRND_INSECURE): cannot tell. */
		p = end;
	}
	errno = saved;
	return p;
}

int uin_user_put_int(uintptr_t p, int v)
{
	if (!p || uin_user_writable(p, p + sizeof v) != p + sizeof v)
		return -EFAULT;
	memcpy((void *)p, &v, sizeof v);
	return 0;
}

int uin_user_read(void *dst, uintptr_t p, size_t n)
{
	if (!n)
		return 0;
	if (!p)
		return -EFAULT;
	int saved = errno;
	struct iovec local = {dst, n};
	struct iovec remote = {(void *)p, n};
	ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	int err = errno;
	errno = saved;
	if (r == (ssize_t)n)
		return 0;
	if (r >= 0)
		return -EFAULT;
	if (err != ENOSYS && err != EPERM && err != EACCES)
		return -err; /* EFAULT, ENOMEM */
	/* Filtered out (a seccomp policy): read it ourselves. */
	memcpy(dst, (const void *)p, n);
	return 0;
}
