#!/usr/bin/env bash
# Podman behind a Docker API socket, so that docker-compose runs
# docker-compose.yml on a machine without a Docker engine (what make test
# does here; see README, "Containers"):
#   scripts/podman.sh start DIR   prints DOCKER_HOST=unix://DIR/podman.sock
#   scripts/podman.sh stop DIR
# Everything it writes is under DIR but Podman's own image and container
# store (/var/lib/containers, kept between runs: the layers stay cached).
#  - DIR/containers.conf (CONTAINERS_CONF): runtime runc (crun fails on a
#    cgroup v1/v2 hybrid), and default ulimits within this machine's hard
#    limits (Podman's defaults exceed them: every container would fail with
#    "setrlimit: Operation not permitted").
#  - The base image debian:bookworm-slim, when Podman has none and no
#    registry is reachable: made with debootstrap from Debian's archive.
#  - podman system service, the Docker API on DIR/podman.sock.
#  - A health-check ticker: Podman runs health checks from systemd timers;
#    without systemd, this runs them every 2 s, or depends_on:
#    service_healthy would wait forever.
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")
base=docker.io/library/debian:bookworm-slim
export CONTAINERS_CONF="$dir/containers.conf"

stop_pid() { # file
    [ -f "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

# The hard limit, at most 16384: runc cannot raise a limit to the hard limit
# of the process that starts it (conmon's can be lower than ours).
limit() { local hard; hard=$(ulimit -H "$1"); [ "$hard" = unlimited ] || [ "$hard" -gt 16384 ] && hard=16384; echo "$hard"; }

base_image() {
    podman image exists "$base" && return
    local rootfs="$dir/rootfs"
    echo "podman.sh: making $base with debootstrap (about a minute)" >&2
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 ||
        { echo "podman.sh: debootstrap failed, see $dir/debootstrap.log" >&2; exit 1; }
    # As the published image: the same suites, no documentation, no caches.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
    # The published image's apt settings: no package files kept after an
    # install, no translations.
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" -c . | podman import -q - "$base" >/dev/null
    rm -rf "$rootfs"
}

case "$cmd" in
start)
    mkdir -p "$dir"
    cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$(limit -n):$(limit -n)", "nproc=$(limit -u):$(limit -u)"]
[engine]
runtime = "runc"
CONF
    base_image
    stop_pid "$dir/service.pid"
    rm -f "$dir/podman.sock"
    nohup podman system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 &
    echo $! >"$dir/service.pid"
    for _ in $(seq 100); do [ -S "$dir/podman.sock" ] && break; sleep 0.1; done
    [ -S "$dir/podman.sock" ] || { echo "podman.sh: no API socket, see $dir/service.log" >&2; exit 1; }
    stop_pid "$dir/ticker.pid"
    nohup bash -c 'while true; do
        for c in $(podman ps -q --filter health=starting --filter health=healthy --filter health=unhealthy); do
            podman healthcheck run "$c" >/dev/null 2>&1 || true
        done
        sleep 2
    done' >"$dir/ticker.log" 2>&1 &
    echo $! >"$dir/ticker.pid"
    echo "DOCKER_HOST=unix://$dir/podman.sock"
    ;;
stop)
    stop_pid "$dir/ticker.pid"
    stop_pid "$dir/service.pid"
    ;;
*)
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
    ;;
esac
