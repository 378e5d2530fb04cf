/*
 * tests/runner.h - the test harness: one file per behaviour area, one
 * TEST(name) per behaviour.  Every test runs in a forked child with a
 * timeout; after it returns, every engine object count must be back to zero
 * (uinotify_debug_counts), so a test that leaks a handle, a watch, an inode,
 * an event or an instance fails.  Exit code 77 means skipped.
 *
 *   ./test_area --list        names, one a line
 *   ./test_area NAME...       run those tests
 *   ./test_area               run all, TAP output
 */
#ifndef UIN_TEST_RUNNER_H
#define UIN_TEST_RUNNER_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/test_hooks.h" /* uinotify_debug_counts, ..._fail_alloc */

typedef void (*uin_test_fn)(void);
void uin_test_register(const char *name, uin_test_fn fn);
void uin_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void uin_test_skip(const char *why) __attribute__((noreturn));
/* Turn off the end-of-test leak check for the running test. */
void uin_test_no_leak_check(void);
/* A fresh empty directory for this test, removed after it. */
const char *uin_test_tmpdir(void);
/* Join tmpdir and a relative name (static rotating buffers). */
const char *uin_test_path(const char *rel);

#define TEST(name)                                                           \
	static void test_##name(void);                                       \
	__attribute__((constructor)) static void register_##name(void)       \
	{                                                                    \
		uin_test_register(#name, test_##name);                       \
	}                                                                    \
	static void test_##name(void)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			uin_test_fail(__FILE__, __LINE__, "%s", #cond);      \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_)                                                \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s == %s (%lld != %lld)", #a, #b, a_, \
				      b_);                                   \
	} while (0)

#define CHECK_HEX(a, b)                                                      \
	do {                                                                 \
		unsigned long long a_ = (unsigned long long)(a),             \
				   b_ = (unsigned long long)(b);             \
		if (a_ != b_)                                                \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s == %s (%#llx != %#llx)", #a, #b,   \
				      a_, b_);                               \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if ((a_ == NULL) != (b_ == NULL) ||                          \
		    (a_ && strcmp(a_, b_) != 0))                             \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s == %s (\"%s\" != \"%s\")", #a, #b, \
				      a_ ? a_ : "(null)",                    \
				      b_ ? b_ : "(null)");                   \
	} while (0)

/* A call that must fail with -1 and this errno. */
#define CHECK_ERRNO(call, err)                                               \
	do {                                                                 \
		errno = 0;                                                   \
		long long r_ = (long long)(call);                            \
		int e_ = errno;                                              \
		if (r_ != -1 || e_ != (err))                                 \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s: want -1/%s, got %lld/%s", #call,  \
				      strerror(err), r_, strerror(e_));      \
	} while (0)

/* A call that must succeed (not -1). */
#define CHECK_OK(call)                                                       \
	({                                                                   \
		errno = 0;                                                   \
		long long r_ = (long long)(call);                            \
		if (r_ == -1)                                                \
			uin_test_fail(__FILE__, __LINE__, "%s: %s", #call,   \
				      strerror(errno));                      \
		r_;                                                          \
	})

#define SKIP(why) uin_test_skip(why)

#endif
