#!/bin/sh
# Run each libFuzzer target briefly on its seed corpus and print TAP.
# The corpus in the source tree is only read: new inputs go to a scratch
# directory that is removed afterwards.  FUZZ_TIME sets the seconds per
# target (default 10).
set -u
src=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${FUZZ_BUILDDIR:-$src/fuzz}
time=${FUZZ_TIME:-10}
targets="packet options netascii path engine"

set -- $targets
echo "1..$#"
n=0
status=0
for t in $targets; do
	n=$((n + 1))
	work=$(mktemp -d) || exit 1
	if "$bin/$t-fuzzer" -max_total_time="$time" -runs=2000000 -print_final_stats=1 \
		-dict="$src/fuzz/$t-fuzzer.dict" -artifact_prefix="$work/" \
		"$work" "$src/fuzz/corpus/$t-fuzzer" >"$work/log" 2>&1; then
		echo "ok $n - $t-fuzzer: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | awk '{print $2}') runs"
	else
		echo "not ok $n - $t-fuzzer"
		sed 's/^/# /' "$work/log" | tail -n 60
		for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -e "$a" ] && echo "# artifact: $(od -An -c "$a" | head -n 8 | tr '\n' ' ')"
		done
		status=1
	fi
	rm -rf "$work"
done
exit $status
