#!/usr/bin/env bash
# docker-compose.yml and docker/: first checked statically (the file passes
# `docker-compose config` with nothing set and no .env, and its structure
# holds what the deployment relies on: health checks the images can run with
# plain arguments, start order on health, the named volumes, loopback-only
# ports, restart policies, stages that exist, the same SQL and nginx
# placeholders as the local stack), then for real: compose_run.py builds the
# images and runs the stack with docker-compose against Podman.
# Last line: "compose: N passed, M failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.env"  # a developer's .env must not change what is tested
compose() { # VAR=value... -- docker-compose arguments
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${vars[@]}" \
        docker-compose --env-file "$tmp/empty.env" -f docker-compose.yml "$@"
}

if ! command -v docker-compose >/dev/null; then
    bad "docker-compose is installed" "apt-get install docker-compose"
    echo "compose: $passed passed, $failed failed"
    exit 1
fi

if out=$(compose -- config -q 2>&1); then
    ok "docker-compose config -q passes with nothing set and no .env"
else
    bad "docker-compose config -q passes with nothing set and no .env" "$out"
fi
if grep -nE '\$\{[A-Z_]+:?\?' docker-compose.yml; then
    bad "docker-compose.yml requires no variable"
else
    ok "docker-compose.yml requires no variable"
fi

for f in docker/*.sh docker/http-check docker/smtp-check scripts/podman.sh; do
    if out=$(bash -n "$f" 2>&1); then ok "bash -n $f"; else bad "bash -n $f" "$out"; fi
done

compose -- config >"$tmp/config.yml" 2>"$tmp/config.err" ||
    bad "docker-compose config prints the resolved file" "$(cat "$tmp/config.err")"

# Structure, on the resolved file.
/usr/bin/python3 - "$tmp/config.yml" >"$tmp/structure.out" <<'PY'
import glob
import os
import re
import sys

import yaml

config = yaml.safe_load(open(sys.argv[1]))
services = config["services"]


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond or not detail else ": " + detail))


# Stages of docker/Dockerfile: name -> (base, text of the stage).
stages, current = {}, None
for line in open("docker/Dockerfile"):
    m = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.I)
    if m:
        current = m.group(2)
        stages[current] = [m.group(1), ""]
    elif current:
        stages[current][1] += line


def stage_text(name):
    """A stage's text with its base stages'."""
    text = ""
    while name in stages:
        text += stages[name][1]
        name = stages[name][0]
    return text


def copied_sources(text):
    out = []
    for m in re.finditer(r"^COPY\s+(?!--from)(.+)$", text, re.M):
        out += m.group(1).split()[:-1]
    return out


check("the five services", set(services) == {"db", "web", "status", "nginx", "smtp"},
      str(sorted(services)))
for name, s in services.items():
    hc = s.get("healthcheck") or {}
    test = hc.get("test")
    check(f"{name}: has a health check", bool(test) and not hc.get("disable"), str(hc))
    check(f"{name}: restart policy", s.get("restart") in ("always", "unless-stopped", "on-failure"),
          str(s.get("restart")))
    build = s.get("build") or {}
    target = build.get("target")
    check(f"{name}: built from docker/Dockerfile, stage {target}",
          build.get("dockerfile") == "docker/Dockerfile" and target in stages,
          f"build {build}, stages {sorted(stages)}")
    # Podman's Docker API splits a CMD argument at its spaces.
    check(f"{name}: health check arguments hold no space",
          bool(test) and test[0] == "CMD" and not any(" " in a for a in test[1:]), str(test))
    if test and target in stages:
        command = test[1] if test[0] in ("CMD", "CMD-SHELL") else test[0]
        command = command.split()[0]
        text = stage_text(target)
        if os.path.exists(os.path.join("docker", command)):
            present = any(src == f"docker/{command}" for src in copied_sources(text))
        else:  # from a Debian package the stage installs
            package = {"pg_isready": "postgresql-15", "python3": "python3"}.get(command, command)
            present = re.search(rf"apt-get install[^\n]*(\\\n[^\n]*)*{re.escape(package)}",
                                text) is not None
        check(f"{name}: its image has the health check's {command}", present)
    for dep, cond in (s.get("depends_on") or {}).items():
        check(f"{name}: waits for {dep} to be healthy",
              isinstance(cond, dict) and cond.get("condition") == "service_healthy", str(cond))
    for p in s.get("ports") or []:
        check(f"{name}: port {p} published on loopback only",
              isinstance(p, str) and p.startswith("127.0.0.1:"), str(p))
check("only nginx is published", [n for n, s in services.items() if s.get("ports")] == ["nginx"])
for volume in ("pgdata", "mail", "web-secrets", "status-secrets"):
    check(f"named volume {volume} declared", volume in (config.get("volumes") or {}))
check("web and status read their database passwords from their secrets volumes",
      all(services[s]["environment"].get("FAMILY_DB_PASSWORD_FILE")
          == "/var/lib/family/secrets/db-password" for s in ("web", "status")))
check("the database's data in the named volume pgdata",
      any(v.startswith("pgdata:/var/lib/postgresql/data")
          for v in services["db"].get("volumes", [])),
      str(services["db"].get("volumes")))
check("every dependency is a service of the file",
      all(dep in services for s in services.values() for dep in (s.get("depends_on") or {})))

# The files the Dockerfile copies exist.
text = open("docker/Dockerfile").read()
for src in copied_sources(text):
    check(f"Dockerfile copies {src}, which exists", os.path.exists(src.rstrip("/")))

# The database applies the same SQL files as the local stack.
stack_sql = set(re.findall(r"sql/(\w+\.sql)", open("scripts/stack.sh").read()))
db_sql = set(re.findall(r"\$sql/(\w+\.sql)", open("docker/db-entrypoint.sh").read()))
check("the db image applies the SQL files scripts/stack.sh applies",
      stack_sql and stack_sql <= db_sql, f"stack {sorted(stack_sql)}, image {sorted(db_sql)}")

# nginx renders every placeholder of the template.
placeholders = set(re.findall(r"@[A-Z]+@", open("nginx/nginx.conf.template").read()))
rendered = set(re.findall(r"s\|(@[A-Z]+@)\|", open("docker/nginx-entrypoint.sh").read()))
check("the nginx image renders every placeholder of the template", placeholders <= rendered,
      f"template {sorted(placeholders)}, rendered {sorted(rendered)}")

# Every variable docker-compose.yml reads is in docker/env.example.
used = set(re.findall(r"\$\{(\w+)", open("docker-compose.yml").read()))
example = set(re.findall(r"^#?(\w+)=", open("docker/env.example").read(), re.M))
check("docker/env.example names every variable the file reads", used <= example,
      f"missing {sorted(used - example)}")
PY
cat "$tmp/structure.out"
passed=$((passed + $(grep -c '^ok ' "$tmp/structure.out")))
failed=$((failed + $(grep -c '^FAIL' "$tmp/structure.out")))
[ -s "$tmp/structure.out" ] || bad "structure checks ran"

# The images built and the stack run (tests/compose/compose_run.py).
/usr/bin/python3 tests/compose/compose_run.py | tee "$tmp/run.out"
if [[ $(tail -1 "$tmp/run.out") =~ compose-run:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
else
    bad "compose_run.py reported its counts"
fi

echo "compose: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
