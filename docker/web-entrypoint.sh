#!/bin/bash
# family-web in its container. The database password is the one the
# database's entrypoint made up in the secrets volume (db-password); it
# reaches libpq as PGPASSWORD, so that FAMILY_WEB_DSN carries none. Before
# serving, the staff account FAMILY_ADMIN_EMAIL is created if no account has
# that e-mail yet (an existing account keeps its password), with
# FAMILY_ADMIN_PASSWORD (or _FILE) when set, else with a password made up the
# first time and kept in the volume (admin-password, mode 0600):
#   docker-compose exec web cat /var/lib/family/secrets/admin-password
set -euo pipefail
# shellcheck source=docker/secret.sh
. /usr/local/bin/secret.sh
secrets=/var/lib/family/secrets
PGPASSWORD=$(need_secret FAMILY_DB_PASSWORD)
export PGPASSWORD
admin_password=$(secret FAMILY_ADMIN_PASSWORD)
[ -n "$admin_password" ] || admin_password=$(generated_secret "$secrets/admin-password" 0600)
printf "%s\n" "$admin_password" |
    family-web create-staff "${FAMILY_ADMIN_EMAIL:-admin@localhost.localdomain}"
unset FAMILY_ADMIN_PASSWORD admin_password
exec family-web "$@"
