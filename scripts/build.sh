#!/usr/bin/env bash
# Builds the extension, its unit tests and the services, quietly: the
# compiler's output goes to .run/build.log and is shown only when the build
# fails. Make rebuilds only what changed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log="$top/.run/build.log"
mkdir -p "$top/.run"
jobs=$(nproc)
if ! { make -C "$top/extension" -j"$jobs" &&
       make -C "$top/extension/test/unit" &&
       make -C "$top/web" -j"$jobs" all unit; } >"$log" 2>&1; then
    grep -E "error|Error|undefined reference" "$log" | head -40 >&2
    echo "build failed: the whole output is in $log" >&2
    exit 1
fi
