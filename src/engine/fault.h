/*
 * src/engine/fault.h - the library's system calls, as injection points.
 *
 * Every system call of the library whose failure is an error path (not a
 * call on the caller's own descriptor, whose errno is the caller's answer)
 * is made through UIN_SYS or UIN_SYS_RETRY at a named point:
 *
 *	int fd = UIN_SYS_RETRY("resolve.openat", openat(dirfd, path, fl));
 *
 * In the installed libraries the macros are the plain call (no cost, no
 * symbol).  In uinotify_testing (UIN_TEST_HOOKS) each point is a static
 * record in the section uin_fault_points, so that the tests can list every
 * point compiled in (fault.c) whether or not it was reached, count its
 * calls, and make the n-th call at a point (or the n-th call at any point)
 * fail with an errno of their choice without making it
 * (uinotify_debug_fail_syscall, engine/test_hooks.h).
 *
 * UIN_SYS_RETRY repeats a call that failed with EINTR: for the calls whose
 * EINTR is no answer Linux would give the caller (a signal must not make
 * inotify_init1 or inotify_add_watch fail).  UIN_SYS passes EINTR on: for
 * close (never repeated: the descriptor is gone either way) and for calls
 * whose caller handles it.  A point's name must be unique (the test checks).
 */
#ifndef UIN_ENGINE_FAULT_H
#define UIN_ENGINE_FAULT_H

#include <errno.h>

#ifdef UIN_TEST_HOOKS
#include <stdatomic.h>

struct uin_fault_point {
	const char *name;
	atomic_long calls;  /* made or failed at this point */
	atomic_long failed; /* failed by injection */
};

/* 0, or the errno the call at p is to fail with (counted). */
int uin_fault_hit(struct uin_fault_point *p);

/* The point named nm, registered in the section at compile time. */
#define UIN_FP(nm)                                                           \
	({                                                                   \
		static struct uin_fault_point uin_fp_ = {.name = nm};        \
		static struct uin_fault_point *uin_fpp_                      \
			__attribute__((used, section("uin_fault_points"))) = \
				&uin_fp_;                                    \
		(void)uin_fpp_;                                              \
		&uin_fp_;                                                    \
	})
#define UIN_FAULT_AT(fp) uin_fault_hit(fp)
#else
struct uin_fault_point;
#define UIN_FP(nm) ((struct uin_fault_point *)0)
#define UIN_FAULT_AT(fp) ((void)(fp), 0)
#endif

/* call at point fp (UIN_FP), or -1 with the injected errno. */
#define UIN_SYS_AT(fp, call)                                                 \
	({                                                                   \
		int uin_sys_e_ = UIN_FAULT_AT(fp);                           \
		uin_sys_e_ ? (errno = uin_sys_e_, -1) : (call);              \
	})
#define UIN_SYS(nm, call) UIN_SYS_AT(UIN_FP(nm), call)

/* The same, repeated while it fails with EINTR. */
#define UIN_SYS_RETRY_AT(fp, call)                                           \
	({                                                                   \
		struct uin_fault_point *uin_sys_fp_ = (fp);                  \
		__typeof__(call) uin_sys_r_;                                 \
		do                                                           \
			uin_sys_r_ = UIN_SYS_AT(uin_sys_fp_, call);          \
		while (uin_sys_r_ == -1 && errno == EINTR);                  \
		uin_sys_r_;                                                  \
	})
#define UIN_SYS_RETRY(nm, call) UIN_SYS_RETRY_AT(UIN_FP(nm), call)

#endif
