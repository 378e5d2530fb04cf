#!/usr/bin/env bash
# bench/compare.sh BEFORE AFTER - the benches of two builds (BEFORE/bench,
# AFTER/bench: say, the last release and this change) in one run, each
# bench of one build right after the same bench of the other, then one
# table: every RESULT figure of both, and after / before.
#
#   git worktree add /tmp/before REV && cp -r bench /tmp/before/  # same benches
#   cmake -S /tmp/before -B /tmp/before/build && cmake --build /tmp/before/build
#   bench/compare.sh /tmp/before/build build
#
# The short arguments and time limit of bench/run.sh apply (its
# UINOTIFY_BENCH_* variables too).  Only bash, coreutils and awk.
set -u

if [ $# -ne 2 ]; then
	echo "usage: bench/compare.sh BEFORE_BUILD AFTER_BUILD" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for side in before after; do
	mkdir -p "$out/$side"
	: >"$out/$side/results"
done
rc=0
# One bench at a time, both sides, so that what the machine does meanwhile
# weighs on both alike; which side goes first alternates.
order="before after"
for exe in "$1"/bench/bench_*; do
	name=${exe##*/}
	[ -x "$2/bench/$name" ] || continue
	for side in $order; do
		build=$1
		[ $side = after ] && build=$2
		one=$out/one
		rm -rf "$one" && mkdir -p "$one/bench"
		ln -s "$(cd "$build/bench" && pwd)/$name" "$one/bench/$name"
		echo "=== $side: $name"
		UINOTIFY_BENCH_RESULTS=$out/$side/results \
			"$here/run.sh" "$one" >"$out/$side/$name.log" 2>&1 || rc=1
		grep "^=== $name:" "$out/$side/$name.log"
	done
	[ "$order" = "before after" ] && order="after before" || order="before after"
done

echo
echo "bench | measurement | before | after | after/before"
awk -F'|' '
	FNR == NR { before[$1 "|" $2] = $3; next }
	{
		k = $1 "|" $2
		b = (k in before) ? before[k] : "-"
		r = "-"
		if (b != "-" && $3 != "-" && b + 0 != 0)
			r = sprintf("%.3f", $3 / b)
		printf "%s | %s | %s | %s | %s\n", $1, $2, b, $3, r
	}' "$out/before/results" "$out/after/results"
exit $rc
