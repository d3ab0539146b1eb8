# shellcheck shell=bash
# Sourced by the entrypoints. secret NAME prints the value of variable NAME,
# or the contents of the file named by NAME_FILE (Docker secrets: e.g.
# FAMILY_ADMIN_PASSWORD_FILE=/run/secrets/admin_password), without the
# trailing newline.
secret() {
    local file_var="${1}_FILE"
    if [ -n "${!file_var:-}" ]; then
        local value
        value=$(cat "${!file_var}")
        printf "%s" "$value"
    else
        printf "%s" "${!1:-}"
    fi
}

# need_secret NAME: secret NAME, or exit naming what to set.
need_secret() {
    local value
    value=$(secret "$1")
    if [ -z "$value" ]; then
        echo "$(basename "$0"): set $1 (or ${1}_FILE, a file holding it)" >&2
        exit 1
    fi
    printf "%s" "$value"
}
