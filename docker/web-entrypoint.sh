#!/bin/bash
# family-web in its container. The database password comes from
# FAMILY_DB_PASSWORD (or FAMILY_DB_PASSWORD_FILE) and reaches libpq as
# PGPASSWORD, so that FAMILY_WEB_DSN carries none. Before serving, the staff
# account FAMILY_ADMIN_EMAIL is created with FAMILY_ADMIN_PASSWORD (or
# _FILE) if no account has that e-mail yet (an existing account keeps its
# password).
set -euo pipefail
# shellcheck source=docker/secret.sh
. /usr/local/bin/secret.sh
PGPASSWORD=$(need_secret FAMILY_DB_PASSWORD)
export PGPASSWORD
admin_password=$(need_secret FAMILY_ADMIN_PASSWORD)
printf "%s\n" "$admin_password" |
    family-web create-staff "${FAMILY_ADMIN_EMAIL:-admin@localhost.localdomain}"
unset FAMILY_ADMIN_PASSWORD admin_password
exec family-web "$@"
