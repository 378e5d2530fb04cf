#!/bin/sh
# tests/install/run.sh MODE CMAKE BUILD SOURCE VERSION CC CXX [FLAGS]
#
# Installs the build BUILD into a fresh temporary prefix (cmake --install
# --prefix) and checks it as a user of the package would:
#
#   files         the files a package needs are there, and nothing of the
#                 tests (uinotify_testing, test_hooks.h)
#   pkg-config    consumer.c (shared and static) and consumer.cpp built with
#                 pkg-config --cflags --libs uinotify, and run
#   find-package  the same through CMake's find_package(uinotify) in
#                 tests/install/project, and run
#
# CXX may be empty (no C++ compiler: the C++ consumer is left out).  FLAGS go
# to every compile and link (the build's sanitizers: a sanitized library
# needs a sanitized program).  Exit 0: pass; 1: fail; 77: skipped.
set -eu
mode=$1 cmake=$2 build=$3 src=$4 version=$5 cc=$6 cxx=$7 flags=${8:-}
here=$src/tests/install

work=$(mktemp -d "${TMPDIR:-/tmp}/uinotify-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
prefix=$work/prefix

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
run() {
	echo "+ $*"
	"$@" || fail "$*"
}

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	fail "cmake --install $build --prefix $prefix"
}
pc=$(find "$prefix" -name uinotify.pc)
[ -n "$pc" ] || fail "no uinotify.pc installed"
pcdir=${pc%/uinotify.pc}
libdir=${pcdir%/pkgconfig}
echo "installed into $prefix (libdir $libdir)"
# Run the consumers on the installed library only.
unset LD_LIBRARY_PATH LD_PRELOAD || true

# The shared library a program needs, if any ("" when linked statically).
needs_libuinotify() {
	if command -v readelf >/dev/null 2>&1; then
		readelf -d "$1" | grep -o 'libuinotify\.so[.0-9]*' || true
	else
		echo unknown
	fi
}

case $mode in
files)
	for h in "$src"/include/uinotify/*.h; do
		f=$prefix/include/uinotify/${h##*/}
		[ -f "$f" ] || fail "missing $f"
		cmp -s "$h" "$f" || fail "$f differs from $h"
	done
	for f in "$prefix"/include/uinotify/*; do
		[ -f "$src/include/uinotify/${f##*/}" ] ||
			fail "installed header not in include/uinotify/: $f"
	done
	[ -f "$libdir/libuinotify.so.$version" ] ||
		fail "missing $libdir/libuinotify.so.$version"
	[ "$(readlink "$libdir/libuinotify.so.0")" = "libuinotify.so.$version" ] ||
		fail "libuinotify.so.0 is not a link to libuinotify.so.$version"
	[ "$(readlink "$libdir/libuinotify.so")" = libuinotify.so.0 ] ||
		fail "libuinotify.so is not a link to libuinotify.so.0"
	[ -f "$libdir/libuinotify.a" ] || fail "missing $libdir/libuinotify.a"
	for f in uinotifyConfig.cmake uinotifyConfigVersion.cmake \
		uinotifyTargets.cmake; do
		[ -f "$libdir/cmake/uinotify/$f" ] ||
			fail "missing $libdir/cmake/uinotify/$f"
	done
	grep -qx "Version: $version" "$pc" || fail "$pc: not Version: $version"
	[ -n "$(find "$prefix" -name uinotify_version.3)" ] ||
		fail "man page uinotify_version(3) not installed"
	leaked=$(find "$prefix" -name '*testing*' -o -name 'test_hooks.h')
	[ -z "$leaked" ] || fail "test files installed: $leaked"
	echo "ok: files"
	;;
pkg-config)
	command -v pkg-config >/dev/null 2>&1 || {
		echo "no pkg-config: skipped"
		exit 77
	}
	PKG_CONFIG_PATH=$pcdir
	export PKG_CONFIG_PATH
	[ "$(pkg-config --variable=pcfiledir uinotify)" = "$pcdir" ] ||
		fail "pkg-config finds another uinotify.pc"
	[ "$(pkg-config --modversion uinotify)" = "$version" ] ||
		fail "pkg-config --modversion uinotify is not $version"
	cflags=$(pkg-config --cflags uinotify)
	libs=$(pkg-config --libs uinotify)
	# shellcheck disable=SC2086 # word splitting of the flags is meant
	run "$cc" -std=c11 -Wall -Wextra -Werror -pedantic $flags $cflags \
		-o "$work/c_shared" "$here/consumer.c" $libs \
		-Wl,-rpath,"$libdir"
	[ "$(needs_libuinotify "$work/c_shared")" = libuinotify.so.0 ] ||
		fail "c_shared does not need libuinotify.so.0"
	run "$work/c_shared" "$version"
	# Static: libuinotify.a, with what Libs.private adds (-pthread).
	# shellcheck disable=SC2046,SC2086
	run "$cc" -std=c11 -Wall -Wextra -Werror -pedantic $flags $cflags \
		-o "$work/c_static" "$here/consumer.c" \
		$(pkg-config --static --libs-only-L uinotify) \
		-Wl,-Bstatic $(pkg-config --static --libs-only-l uinotify) \
		-Wl,-Bdynamic $(pkg-config --static --libs-only-other uinotify)
	[ -z "$(needs_libuinotify "$work/c_static")" ] ||
		fail "c_static needs the shared library"
	run "$work/c_static" "$version"
	if [ -n "$cxx" ]; then
		# shellcheck disable=SC2086
		run "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic $flags \
			$cflags -o "$work/cxx_shared" "$here/consumer.cpp" \
			$libs -Wl,-rpath,"$libdir"
		run "$work/cxx_shared" "$version"
	else
		echo "no C++ compiler: no C++ consumer"
	fi
	echo "ok: pkg-config"
	;;
find-package)
	with_cxx=OFF
	[ -z "$cxx" ] || with_cxx=ON
	run "$cmake" -S "$here/project" -B "$work/project" \
		-DCMAKE_PREFIX_PATH="$prefix" -DUIN_PREFIX="$prefix" \
		-DUIN_EXPECTED_VERSION="$version" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_COMPILER="$cc" ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
		-DUIN_WITH_CXX=$with_cxx -DCMAKE_C_FLAGS="$flags" \
		-DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"
	run "$cmake" --build "$work/project"
	[ "$(needs_libuinotify "$work/project/c_shared")" = libuinotify.so.0 ] ||
		fail "c_shared does not need libuinotify.so.0"
	[ -z "$(needs_libuinotify "$work/project/c_static")" ] ||
		fail "c_static needs the shared library"
	run "$work/project/c_shared" "$version"
	run "$work/project/c_static" "$version"
	if [ -n "$cxx" ]; then
		run "$work/project/cxx_shared" "$version"
	else
		echo "no C++ compiler: no C++ consumer"
	fi
	echo "ok: find_package"
	;;
*)
	fail "unknown mode $mode"
	;;
esac
