#!/usr/bin/env bash
# The services built with AddressSanitizer and UBSan (web/build-asan) and run
# through their end-to-end suites against the cluster of scripts/test.sh
# (PGHOST, PGPORT, PGUSER set): any sanitizer report fails them (ASan ends
# the process with an error; UBSan too, -fno-sanitize-recover). The suites'
# timing and memory bounds are not asserted here (FAMILY_TEST_SANITIZED):
# the sanitizers' own costs would decide them.
# Last line: "sanitize: N passed, M failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out="$top/.run/sanitize"
mkdir -p "$out"
if ! make -s -C web SANITIZE=1 -j"$(nproc)" all >"$out/build.log" 2>&1; then
    cat "$out/build.log"
    echo "sanitize: 0 passed, 1 failed"
    exit 1
fi
# detect_leaks=0: the services' threads and pools live until exit by design;
# exitcode 23: a report is told apart from the suites' own failures.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=23:log_path=$out/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=23:log_path=$out/ubsan"
export FAMILY_TEST_SANITIZED=1
export FAMILY_WEB_BIN="$top/web/build-asan/family-web"
export FAMILY_STATUS_BIN="$top/web/build-asan/family-status"
rm -f "$out"/asan.* "$out"/ubsan.*
passed=0
failed=0
for suite in web status; do
    /usr/bin/python3 "tests/$suite/${suite}_test.py" >"$out/$suite.log" 2>&1
    last=$(tail -1 "$out/$suite.log")
    if [[ $last =~ $suite:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]] && [ "${BASH_REMATCH[2]}" = 0 ]; then
        echo "ok   $suite suite under ASan and UBSan: $last"
        passed=$((passed + 1))
    else
        echo "FAIL $suite suite under ASan and UBSan: $last (log: $out/$suite.log)"
        grep -E "^FAIL" "$out/$suite.log" | head -10
        failed=$((failed + 1))
    fi
done
if ls "$out"/asan.* "$out"/ubsan.* >/dev/null 2>&1; then
    echo "FAIL sanitizer reports:"
    head -40 "$out"/asan.* "$out"/ubsan.* 2>/dev/null
    failed=$((failed + 1))
else
    echo "ok   no sanitizer report"
    passed=$((passed + 1))
fi
echo "sanitize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
