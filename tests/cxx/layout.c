/*
 * tests/cxx/layout.c - the public layout as the C compiler sees it, for
 * tests/cxx/consumer.cpp to compare with the C++ compiler's view.
 */
#include <stddef.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/inotify.h>
#include <uinotify/sources.h>

#define UIN_ALIGNOF(t) _Alignof(t)
#include "abi_layout.h"

extern const struct uin_abi_entry uin_abi_layout_c[];
extern const size_t uin_abi_layout_c_n;

const struct uin_abi_entry uin_abi_layout_c[] = {UIN_ABI_LAYOUT(UIN_ABI_ENTRY)};
const size_t uin_abi_layout_c_n =
	sizeof uin_abi_layout_c / sizeof uin_abi_layout_c[0];
