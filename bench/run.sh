#!/usr/bin/env bash
# bench/run.sh [BUILD]  (make bench) - run every benchmark built in
# BUILD/bench (default: build), each printing its own lines, then one table
# of every figure, from the lines the benches print (bench/bench.h):
#
#   RESULT bench|measurement|ours|peer|ratio[|goal]  (ratio = ours / peer)
#
# as a Markdown table with, where an issue sets one, the goal for the ratio
# ("<= 1.02") and whether it is met.
#
# Benches that are not built (bench_run without libseccomp, ...) are simply
# not run.  By default each gets arguments that keep it under about a
# minute, and is stopped after UINOTIFY_BENCH_TIMEOUT seconds (default
# 180; 0: never).  UINOTIFY_BENCH_FULL=1 runs each with its own (long)
# defaults and no time limit unless UINOTIFY_BENCH_TIMEOUT is set;
# UINOTIFY_BENCH_SCALE=N lengthens bench_run; UINOTIFY_BENCH_RESULTS=FILE
# also appends the table's lines to FILE (bench/compare.sh).  Only bash,
# coreutils and awk.
set -u

build=${1:-build}
dir=$build/bench
full=${UINOTIFY_BENCH_FULL:-0}
if [ "$full" = 1 ]; then
	limit=${UINOTIFY_BENCH_TIMEOUT:-0}
else
	limit=${UINOTIFY_BENCH_TIMEOUT:-180}
fi

if ! [ -d "$dir" ]; then
	echo "bench/run.sh: no $dir (configure with -DUINOTIFY_BUILD_BENCH=ON and build)" >&2
	exit 1
fi

# The short run: arguments (and environment) per bench.
quick_args() {
	case $1 in
	bench_fork) echo "0 100 1000" ;;
	bench_scan) echo "--quick" ;;
	*) ;;
	esac
}
quick_env() {
	case $1 in
	bench_fork) echo "UINOTIFY_BENCH_FORKS=40" ;;
	*) ;;
	esac
}

results=$(mktemp)
trap 'rm -f "$results" "$results".out' EXIT
# Line-buffered output when coreutils' stdbuf is there, so that a long
# bench shows its lines as it goes.
buf=()
command -v stdbuf >/dev/null 2>&1 && buf=(stdbuf -oL)
tmo=()
[ "$limit" != 0 ] && command -v timeout >/dev/null 2>&1 &&
	tmo=(timeout -k 10 "$limit")

ran=0 failed=0
start=$(date +%s)
for exe in "$dir"/bench_*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	name=${exe##*/}
	args=() envs=()
	if [ "$full" != 1 ]; then
		read -r -a args <<<"$(quick_args "$name")"
		read -r -a envs <<<"$(quick_env "$name")"
	fi
	echo "=== $name ${args[*]:-}"
	t0=$(date +%s)
	env ${envs[@]+"${envs[@]}"} ${tmo[@]+"${tmo[@]}"} ${buf[@]+"${buf[@]}"} \
		"$exe" ${args[@]+"${args[@]}"} 2>&1 | tee "$results.out" |
		grep -v '^RESULT '
	rc=${PIPESTATUS[0]}
	t1=$(date +%s)
	grep '^RESULT ' "$results.out" | sed 's/^RESULT //' >>"$results"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "$name|(stopped after ${limit} s; UINOTIFY_BENCH_TIMEOUT)|-|-|-" >>"$results"
		failed=$((failed + 1))
	elif [ "$rc" != 0 ]; then
		echo "$name|(failed, exit status $rc)|-|-|-" >>"$results"
		failed=$((failed + 1))
	fi
	echo "=== $name: $((t1 - t0)) s, exit status $rc"
	echo
	ran=$((ran + 1))
done

if [ "$ran" = 0 ]; then
	echo "bench/run.sh: no bench_* executable in $dir" >&2
	exit 1
fi

echo "=== all figures ($ran benches, $(($(date +%s) - start)) s; ratio = uinotify / peer)"
echo
# Markdown, to paste into a note: a goal is the ratio an issue asks for.
awk -F'|' '
	function met(ratio, goal,   op, v) {
		if (goal == "" || ratio == "-") return ""
		op = substr(goal, 1, 2); v = substr(goal, 3) + 0
		if (op == "<=") return (ratio + 0 <= v) ? "yes" : "**no**"
		if (op == ">=") return (ratio + 0 >= v) ? "yes" : "**no**"
		return ""
	}
	BEGIN {
		print "| bench | measurement | uinotify | peer | ratio | goal | met |"
		print "|---|---|---:|---:|---:|---|---|"
	}
	{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, met($5, $6) }
' "$results"
[ -n "${UINOTIFY_BENCH_RESULTS:-}" ] && cat "$results" >>"$UINOTIFY_BENCH_RESULTS"
[ "$failed" = 0 ]
