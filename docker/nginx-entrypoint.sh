#!/bin/bash
# nginx in its container: nginx/nginx.conf.template rendered as
# scripts/nginx.sh does, with the services' names on the compose network,
# logs to the container's output, in the foreground.
#   FAMILY_NGINX_LISTEN (0.0.0.0:8000), FAMILY_NGINX_WEB (web:8080),
#   FAMILY_NGINX_STATUS (status:8090), FAMILY_WEB_IMPORT_MB (64: the largest
#   GEDCOM file POST /api/imports takes, as the web service's own limit)
set -euo pipefail
dir=/var/lib/family-nginx
mkdir -p "$dir/tmp"
sed -e "s|@LISTEN@|${FAMILY_NGINX_LISTEN:-0.0.0.0:8000}|g" \
    -e "s|@WEB@|${FAMILY_NGINX_WEB:-web:8080}|g" \
    -e "s|@STATUS@|${FAMILY_NGINX_STATUS:-status:8090}|g" \
    -e "s|@DIR@|$dir|g" -e "s|@IMPORT_MB@|${FAMILY_WEB_IMPORT_MB:-64}|g" \
    /usr/local/share/family/nginx.conf.template >"$dir/nginx.conf"
ln -sf /dev/stdout "$dir/access.log"
ln -sf /dev/stderr "$dir/error.log"
exec nginx -e /dev/stderr -c "$dir/nginx.conf" -g "daemon off;"
