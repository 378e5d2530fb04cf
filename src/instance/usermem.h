/*
 * src/instance/usermem.h - memory the caller hands to read(), readv() and
 * FIONREAD, which may not be there: Linux answers EFAULT where a plain
 * memcpy would crash the program.  A library cannot take SIGSEGV over, so
 * the kernel is asked instead: a range is known to be writable once the
 * kernel has written into each of its pages (protection is per page), and
 * user memory is read through process_vm_readv.  See queue.c (READ AND
 * EFAULT) for how read() proves its buffer without an extra syscall.
 *
 * Addresses are uintptr_t: a bad pointer plus a count is not always a
 * pointer C allows.
 */
#ifndef UIN_INSTANCE_USERMEM_H
#define UIN_INSTANCE_USERMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* sysconf(_SC_PAGESIZE), cached. */
size_t uin_page_size(void);

/*
 * The kernel's access_ok(p, n), which read and readv check before anything
 * else (so nothing is dequeued when it fails): [p, p + n) neither wraps nor
 * ends above the top of the user address space.  The top is known on
 * x86_64 (4- or 5-level paging); elsewhere only the wrap is checked.
 */
bool uin_user_range_ok(uintptr_t p, size_t n);

/*
 * The first address of [p, end) that the kernel cannot write (end if it
 * can write them all), found by letting it write there (getrandom(2): no
 * descriptor, exact about where it stopped).  Overwrites the range.  If
 * the kernel cannot be asked (getrandom filtered out), end.
 */
uintptr_t uin_user_writable(uintptr_t p, uintptr_t end);

/* *p = v as put_user: 0, or -EFAULT when the kernel cannot write it. */
int uin_user_put_int(uintptr_t p, int v);

/*
 * n bytes from user memory at p into dst, as copy_from_user: 0, -EFAULT
 * when the kernel cannot read them all, -ENOMEM (process_vm_readv on
 * ourselves; where a seccomp policy filters that out, a plain memcpy).
 */
int uin_user_read(void *dst, uintptr_t p, size_t n);

#endif
