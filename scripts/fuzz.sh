#!/usr/bin/env bash
# The fuzzers of what parses untrusted bytes (web/test/fuzz: the request
# framing in front of Pistache's parser, the request body and number
# parsing), built with clang's libFuzzer, AddressSanitizer and UBSan, each
# run for SECONDS (default 30) from a copy of its committed seed corpus.
#   scripts/fuzz.sh [SECONDS]        make fuzz runs it for 10 minutes each
# A crash, a sanitizer report or a broken invariant fails the target; its
# input is kept in .run/fuzz/NAME/ (crash-*). Last line: "fuzz: N passed, M failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
out="$top/.run/fuzz"
mkdir -p "$out"
if ! make -s -C "$top/web" fuzz >"$out/build.log" 2>&1; then
    cat "$out/build.log"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
for bin in "$top"/web/build-fuzz/fuzz-*; do
    name=${bin##*/fuzz-}
    dir="$out/$name"
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    cp "$top/web/test/fuzz/corpus/$name/"* "$dir/corpus/"
    # -timeout: an input that takes a second is a hang, a failure too.
    if (cd "$dir" && "$bin" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=1024 \
            -print_final_stats=1 corpus >"$dir/log" 2>&1); then
        runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$dir/log" | grep -oE "[0-9]+$")
        echo "ok   fuzz-$name: ${runs:-?} inputs in $seconds s, no failure"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz-$name (log and input in $dir):"
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$dir/log" | head -20
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
