#!/usr/bin/env bash
# nginx in front of the services, as the current user, everything under DIR:
#   scripts/nginx.sh start DIR LISTEN WEB STATUS   e.g. 127.0.0.1:8000 127.0.0.1:8080 127.0.0.1:8090
#   scripts/nginx.sh stop DIR
# The configuration is nginx/nginx.conf.template rendered into DIR/nginx.conf;
# POST /api/imports takes up to FAMILY_WEB_IMPORT_MB (64), as family-web does.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")

case "$cmd" in
start)
    listen=${3:?listen address} web=${4:?web address} status=${5:?status address}
    mkdir -p "$dir/tmp"
    sed -e "s|@LISTEN@|$listen|g" -e "s|@WEB@|$web|g" -e "s|@STATUS@|$status|g" \
        -e "s|@DIR@|$dir|g" -e "s|@IMPORT_MB@|${FAMILY_WEB_IMPORT_MB:-64}|g" \
        "$top/nginx/nginx.conf.template" >"$dir/nginx.conf"
    # -e: the error log before the configuration is read (default /var/log/nginx).
    nginx -q -e "$dir/error.log" -c "$dir/nginx.conf" -t
    nginx -e "$dir/error.log" -c "$dir/nginx.conf"
    ;;
stop)
    if [ -f "$dir/nginx.pid" ]; then
        pid=$(cat "$dir/nginx.pid")
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
*)
    echo "usage: $0 start DIR LISTEN WEB STATUS | stop DIR" >&2
    exit 2
    ;;
esac
