/*
 * tests/test_abi_layout.c - the public structs and enums keep 0.1.0's
 * layout (tests/abi_layout.h): a program built against 0.1.0's headers
 * passes and receives the same bytes.
 */
#include "runner.h"

#include <stddef.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>
#include <uinotify/sources.h>

#define UIN_ALIGNOF(t) _Alignof(t)
#include "abi_layout.h"

static const struct uin_abi_entry layout[] = {UIN_ABI_LAYOUT(UIN_ABI_ENTRY)};

TEST(public_structs_as_in_0_1)
{
#if !defined(__linux__) || !defined(__LP64__)
	SKIP("the recorded layout is LP64 Linux's");
#endif
	int bad = 0;
	for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
		if (layout[i].value == layout[i].lp64)
			continue;
		fprintf(stderr, "%s: %lu, was %lu in 0.1.0\n", layout[i].what,
			layout[i].value, layout[i].lp64);
		bad++;
	}
	CHECK_EQ(bad, 0);
}
