#!/usr/bin/python3
"""The load tests with wrk: loadtest/run.sh starts a stack of its own and
calls this with its addresses.

    loadtest.py --web URL --nginx URL --dsn DSN --run-dir DIR PARTS...

PARTS (in the order given):
  seed      families through the API (writes DIR/loadtest/data.lua and data.json)
  compare   the mix through nginx and straight to family-web, alternating rounds
  long      the mix through nginx for LOADTEST_MINUTES (default 10); fails on
            any error
  dangers   measurements behind docs/load-test.md: rank propagation under a
            big family, cache stampede after '*', pool exhaustion and lock
            waits, the consistency check under load

Every figure and the raw numbers go to DIR/loadtest/results.json as well.
Settings (environment): LOADTEST_MINUTES (10), LOADTEST_CONNECTIONS (32),
LOADTEST_THREADS (2), LOADTEST_ROUNDS (5), LOADTEST_ROUND_SECONDS (15),
LOADTEST_FAMILIES (32), LOADTEST_DEPTH (4 generations of couples),
LOADTEST_KIDS (3 seeded children per couple), LOADTEST_DANGERS (which
measurements: "propagation stampede pool check").
"""
import argparse
import calendar
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PASSWORD = "loadtest-password"
EXPECTED = {"200", "201", "202", "204", "304"}
results = {}
failures = []


def env_int(name, default):
    return int(os.environ.get(name) or default)


def say(text=""):
    print(text, flush=True)


# --------------------------------------------------------------------- HTTP

class Api:
    """A client of family-web. Logins carry an X-Real-IP of their own: the
    service trusts it from loopback (FAMILY_WEB_TRUST_PROXY=1, as behind
    nginx), so that seeding many accounts does not trip the 30-logins-a-minute
    throttle per address. Only the seed does this; the mix logs in slowly."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.address = 0

    def call(self, method, path, body=None, token=None, headers=None, expect=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, text, rh = r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            status, text, rh = e.code, e.read().decode(), e.headers
        expected = expect if isinstance(expect, tuple) else (expect,)
        if expect is not None and status not in expected:
            raise RuntimeError(f"{method} {path}: HTTP {status} (expected {expect}): {text}")
        parsed = json.loads(text) if text and "json" in (rh.get("Content-Type") or "") else text
        return status, parsed, rh

    def login(self, email, password):
        self.address += 1
        ip = f"198.18.{self.address // 250}.{self.address % 250 + 1}"
        _, body, _ = self.call("POST", "/api/auth/token", {"email": email, "password": password},
                               headers={"X-Real-IP": ip}, expect=200)
        return body["token"]


def metrics(web):
    """family-web's /metrics as {(name, labels): value}."""
    with urllib.request.urlopen(web + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-z_]+)(\{.*\})? (\S+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(ms, name, labels=""):
    return ms.get((name, labels), 0.0)


def metric_sum(ms, name, pattern=""):
    return sum(v for (n, l), v in ms.items() if n == name and re.search(pattern, l))


def bucket_quantile(before, after, q):
    """The upper bound of the latency bucket holding quantile q of the
    requests answered between two scrapes (all routes together), in ms."""
    buckets = {}
    for (n, l), v in after.items():
        if n == "family_http_request_duration_seconds_bucket":
            le = re.search(r'le="([^"]+)"', l).group(1)
            buckets[le] = buckets.get(le, 0) + v - before.get((n, l), 0)
    total = buckets.get("+Inf", 0)
    if total <= 0:
        return None
    for le in sorted((b for b in buckets if b != "+Inf"), key=float):
        if buckets[le] >= q * total:
            return float(le) * 1000
    return float("inf")


# ---------------------------------------------------------------- processes

class Procs:
    """CPU seconds and memory of the stack's processes (from /proc)."""

    def __init__(self, run_dir):
        self.run_dir = run_dir

    @staticmethod
    def _read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None

    def pid(self, name):
        path = {"web": "web.pid", "nginx": "nginx/nginx.pid", "postgres": "pg/data/postmaster.pid"}
        text = self._read(os.path.join(self.run_dir, path[name]))
        return int(text.split()[0]) if text else None

    @staticmethod
    def children(parent):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                stat = Procs._read(f"/proc/{d}/stat")
                if stat and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                    out.append(int(d))
        return out

    @staticmethod
    def cpu(pid):
        stat = Procs._read(f"/proc/{pid}/stat")
        if not stat:
            return 0.0
        f = stat.rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_of(self, name):
        """CPU seconds of a service with its child processes (nginx workers,
        PostgreSQL backends)."""
        pid = self.pid(name)
        if not pid:
            return 0.0
        return self.cpu(pid) + sum(self.cpu(c) for c in self.children(pid))

    def memory(self, name):
        """VmRSS and VmHWM of a service's main process, in MiB."""
        text = self._read(f"/proc/{self.pid(name)}/status") or ""
        mem = {k: int(v.split()[0]) / 1024 for k, v in
               (line.split(":", 1) for line in text.splitlines() if ":" in line)
               if k in ("VmRSS", "VmHWM")}
        return mem.get("VmRSS", 0.0), mem.get("VmHWM", 0.0)


# ---------------------------------------------------------------------- wrk

def wrk(base, seconds, data_file, connections=None, mix="mixed", timeout="10s"):
    connections = connections or env_int("LOADTEST_CONNECTIONS", 32)
    threads = min(env_int("LOADTEST_THREADS", 2), connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", timeout,
           "-s", os.path.join(HERE, "mix.lua"), base]
    run = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "LOADTEST_DATA": data_file, "LOADTEST_MIX": mix,
                              "LOADTEST_THREADS": str(threads)})
    m = re.search(r"^LOADTEST (\{.*\})$", run.stdout, re.M)
    if run.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed (exit {run.returncode}): {run.stdout}{run.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["bad"] = {k: v for k, v in r["statuses"].items() if k not in EXPECTED and k != "login"}
    if r["errors"]["status"] > sum(r["bad"].values()):  # statuses not counted one by one
        r["bad"] = {">399": r["errors"]["status"]}
    r["socket_errors"] = sum(r["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return r


def ms(us):
    return us / 1000


def describe(r):
    return (f"{r['rps']:,.0f} req/s, p50 {ms(r['p50_us']):.2f} ms, p99 {ms(r['p99_us']):.2f} ms, "
            f"{sum(r['bad'].values())} errors, {r['socket_errors']} socket errors")


def check_clean(r, what):
    if r["bad"] or r["socket_errors"]:
        failures.append(f"{what}: statuses {r['bad']}, socket errors {r['errors']}")


# --------------------------------------------------------------------- seed

def seed(api, args, out_dir):
    """Families through the API as staff: each a line of couples over
    LOADTEST_DEPTH generations (every person with an account; each couple
    formed by partner requests; each couple's spine child is the next
    generation's father), and LOADTEST_KIDS children per couple added by a
    parent."""
    families, depth, kids = (env_int("LOADTEST_FAMILIES", 32), env_int("LOADTEST_DEPTH", 4),
                             env_int("LOADTEST_KIDS", 3))
    started = time.monotonic()
    staff = api.login(args.staff_email, args.staff_password)
    rng = random.Random(7)
    users, hot, logins = [], [], []
    for f in range(families):
        prev = None
        for g in range(depth):
            ids = []
            for side in ("a", "b"):
                email = f"{side}{f}-{g}@loadtest.example"
                _, p, _ = api.call("POST", "/api/persons", {
                    "first_name": f"{side.upper()}{g}", "last_name": f"Family{f}",
                    "account": {"email": email, "password": PASSWORD}}, token=staff, expect=201)
                ids.append(p["id"])
                logins.append({"email": email, "password": PASSWORD})
            a, b = ids
            if prev:
                api.call("PATCH", f"/api/persons/{a}", {
                    "father_id": prev[0]["id"], "mother_id": prev[1]["id"],
                    "father_rank": rng.randint(1, 5), "mother_rank": rng.randint(1, 5)},
                    token=staff, expect=200)
            ta, tb = api.login(f"a{f}-{g}@loadtest.example", PASSWORD), \
                api.login(f"b{f}-{g}@loadtest.example", PASSWORD)
            api.call("PUT", "/api/me/partner-request", {"partner_id": b}, token=ta, expect=202)
            api.call("PUT", "/api/me/partner-request", {"partner_id": a}, token=tb, expect=201)
            children = []
            for k in range(kids):
                _, c, _ = api.call("POST", "/api/children", {
                    "first_name": f"Kid{k}", "last_name": f"Family{f}", "father_id": a,
                    "mother_id": b, "father_rank": rng.randint(1, 5),
                    "mother_rank": rng.randint(1, 5)}, token=ta, expect=201)
                children.append(c["id"])
            couple = [
                {"id": a, "token": ta, "father": a, "mother": b, "rank_field": "father_rank",
                 "children": children, "spine": None, "generation": g, "family": f},
                {"id": b, "token": tb, "father": a, "mother": b, "rank_field": "mother_rank",
                 "children": children, "spine": None, "generation": g, "family": f}]
            if prev:
                prev[0]["spine"] = prev[1]["spine"] = a
            users += couple
            hot += [a, b] + children
            prev = couple
    etags = {}
    for pid in hot:
        _, _, h = api.call("GET", f"/api/persons/{pid}", token=users[0]["token"], expect=200)
        etags[pid] = h["ETag"]
    with psycopg2.connect(args.dsn) as conn, conn.cursor() as cur:
        # The background genealogy (run.sh loaded it) has ids 1..cold_max.
        cur.execute("SELECT coalesce(max(id), 0) FROM family.person "
                    "WHERE id < (SELECT min(person_id) FROM app.account)")
        cold_max = cur.fetchone()[0]
    data = {"users": users, "hot": hot, "etags": etags, "logins": logins, "cold_max": cold_max}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "data.json"), "w") as f:
        json.dump(data, f)
    with open(os.path.join(out_dir, "data.lua"), "w") as f:
        f.write("-- written by loadtest.py seed\nreturn " + lua(data) + "\n")
    took = time.monotonic() - started
    say(f"  seeded {families} families x {depth} generations: {len(users)} accounts, "
        f"{len(hot)} persons, background genealogy of {cold_max} persons ({took:.0f} s)")
    results["seed"] = {"families": families, "depth": depth, "kids": kids,
                       "accounts": len(users), "persons": len(hot), "genealogy": cold_max}
    return data


def lua(value):
    """A Lua literal for JSON-like data (strings are ASCII here)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"[{lua(k) if not isinstance(k, int) else k}]={lua(v)}"
                              for k, v in value.items() if v is not None) + "}"
    if isinstance(value, list):
        return "{" + ",".join(lua(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


# ------------------------------------------------------------------ compare

def compare(args, procs, data_file):
    """The same mix, connections and client through nginx and straight to
    family-web, in alternating rounds; medians."""
    rounds, seconds = env_int("LOADTEST_ROUNDS", 5), env_int("LOADTEST_ROUND_SECONDS", 15)
    targets = {"nginx": args.nginx, "direct": args.web}
    for name, base in targets.items():  # warm-up: caches, connections, pages
        wrk(base, 5, data_file)
    runs = {name: [] for name in targets}
    for r in range(rounds):
        order = ["nginx", "direct"] if r % 2 == 0 else ["direct", "nginx"]
        for name in order:
            cpu = {s: procs.cpu_of(s) for s in ("web", "nginx", "postgres")}
            res = wrk(targets[name], seconds, data_file)
            res["cpu_ms_per_request"] = {
                s: (procs.cpu_of(s) - cpu[s]) * 1000 / max(1, res["requests"]) for s in cpu}
            check_clean(res, f"compare round {r + 1} {name}")
            runs[name].append(res)
            say(f"    round {r + 1} {name:6} {describe(res)}")
    med = {name: {k: statistics.median(x[k] for x in rs) for k in ("rps", "p50_us", "p99_us")}
           for name, rs in runs.items()}
    for name, rs in runs.items():
        med[name]["cpu_ms_per_request"] = {
            s: statistics.median(x["cpu_ms_per_request"][s] for x in rs)
            for s in ("web", "nginx", "postgres")}
    # Each round's pair ran back to back: their ratio is the fairest on a
    # machine whose load drifts (other jobs, the families growing); the
    # headline is the median of those ratios, the ratio of the medians beside it.
    pairs = [n["rps"] / d["rps"] for n, d in zip(runs["nginx"], runs["direct"])]
    ratio = statistics.median(pairs)
    ratio_of_medians = med["nginx"]["rps"] / med["direct"]["rps"]
    cost = 1 - ratio
    ok = cost <= 0.25
    if not ok:
        failures.append(f"nginx costs {cost:.0%} of throughput (target <= 25%)")
    say(f"  through nginx vs direct (same mix, {env_int('LOADTEST_CONNECTIONS', 32)} connections, "
        f"{rounds} alternating {seconds}-s rounds, medians):")
    for name in ("nginx", "direct"):
        m = med[name]
        cpu = m["cpu_ms_per_request"]
        say(f"    {name:6} {m['rps']:8,.0f} req/s   p50 {ms(m['p50_us']):6.2f} ms   "
            f"p99 {ms(m['p99_us']):6.2f} ms   CPU per request: web {cpu['web']:.3f} ms, "
            f"nginx {cpu['nginx']:.3f} ms, postgres {cpu['postgres']:.3f} ms")
    say(f"    throughput through nginx: {ratio:.2f}x of direct (median of the rounds' ratios "
        f"{', '.join(f'{p:.2f}' for p in pairs)}; ratio of the medians {ratio_of_medians:.2f}x): "
        f"nginx costs {cost:.0%} ({'meets' if ok else 'MISSES'} target <= 25%); p99 "
        f"{med['nginx']['p99_us'] / med['direct']['p99_us']:.2f}x")
    results["compare"] = {"rounds": runs, "median": med, "ratio": ratio, "pairs": pairs,
                          "ratio_of_medians": ratio_of_medians, "cost": cost,
                          "seconds": seconds, "connections": env_int("LOADTEST_CONNECTIONS", 32)}


# --------------------------------------------------------------------- long

class Sampler(threading.Thread):
    """Every 0.25 s: backends waiting on a lock; every `every` s: /metrics,
    the service's memory, the database's size."""

    def __init__(self, args, procs, every):
        super().__init__(daemon=True)
        self.args, self.procs, self.every = args, procs, every
        self.stop_event = threading.Event()
        self.lock_samples = []  # (t, waiting, active)
        self.scrapes = []  # (t, metrics, rss)

    def run(self):
        conn = psycopg2.connect(self.args.dsn)
        conn.autocommit = True
        cur = conn.cursor()
        start = time.monotonic()
        next_scrape = start
        while not self.stop_event.is_set():
            now = time.monotonic()
            cur.execute("SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                        "count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                        "WHERE datname = 'family' AND backend_type = 'client backend' "
                        "AND pid <> pg_backend_pid()")
            waiting, active = cur.fetchone()
            self.lock_samples.append((now - start, waiting, active))
            if now >= next_scrape:
                try:
                    self.scrapes.append((now - start, metrics(self.args.web),
                                         self.procs.memory("web")[0]))
                except OSError:
                    pass
                next_scrape += self.every
            self.stop_event.wait(0.25)
        conn.close()

    def stop(self):
        self.stop_event.set()
        self.join()


def count_persons(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM family.person")
        return cur.fetchone()[0]


def grep_count(path, pattern):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if re.search(pattern, line))
    except OSError:
        return 0


def long_run(args, procs, data_file):
    minutes = float(os.environ.get("LOADTEST_MINUTES") or 10)
    seconds = int(minutes * 60)
    persons_before = count_persons(args.dsn)
    before = metrics(args.web)
    pg_log = os.path.join(args.run_dir, "pg", "postgres.log")
    lock_log_before = grep_count(pg_log, r"still waiting for|deadlock detected")
    offset = log_size(args.run_dir)
    sampler = Sampler(args, procs, every=max(5, seconds // 20))
    sampler.start()
    cpu = {s: procs.cpu_of(s) for s in ("web", "nginx", "postgres")}
    res = wrk(args.nginx, seconds, data_file)
    cpu = {s: procs.cpu_of(s) - cpu[s] for s in cpu}
    sampler.stop()
    after = metrics(args.web)
    rss, hwm = procs.memory("web")
    persons_after = count_persons(args.dsn)
    check_clean(res, "long run")

    def delta(name, pattern=""):
        return metric_sum(after, name, pattern) - metric_sum(before, name, pattern)

    hits, misses = delta("family_cache_hits_total"), delta("family_cache_misses_total")
    waits = [w for _, w, _ in sampler.lock_samples]
    lock_samples = sum(1 for w in waits if w > 0)
    served_5xx = delta("family_http_requests_total", r'status="5')
    figures = {
        "minutes": minutes, "wrk": res,
        "cache_hit_ratio": hits / max(1, hits + misses),
        "cache_invalidations": delta("family_cache_invalidations_total"),
        "cache_entries_end": metric(after, "family_cache_entries"),
        "pool_waits": delta("family_pool_waits_total"),
        "pool_timeouts": delta("family_pool_timeouts_total"),
        "pool_connect_failures": delta("family_pool_connect_failures_total"),
        "notification_reconnects": delta("family_notifications_reconnects_total"),
        "service_5xx": served_5xx,
        "web_rss_mib": rss, "web_peak_rss_mib": hwm,
        "web_rss_series_mib": [round(r, 1) for _, _, r in sampler.scrapes],
        "persons_before": persons_before, "persons_after": persons_after,
        "lock_wait_sample_share": lock_samples / max(1, len(waits)),
        "lock_waiters_max": max(waits or [0]),
        "lock_waits_logged": grep_count(pg_log, r"still waiting for|deadlock detected")
                             - lock_log_before,
        "cpu_seconds": cpu,
    }
    series = []
    for (t0, m0, _), (t1, m1, r1) in zip(sampler.scrapes, sampler.scrapes[1:]):
        req = (metric_sum(m1, "family_http_requests_total")
               - metric_sum(m0, "family_http_requests_total"))
        h = metric(m1, "family_cache_hits_total") - metric(m0, "family_cache_hits_total")
        mi = metric(m1, "family_cache_misses_total") - metric(m0, "family_cache_misses_total")
        series.append({"t": round(t1), "rps": req / (t1 - t0),
                       "p99_bucket_ms": bucket_quantile(m0, m1, 0.99),
                       "hit_ratio": h / max(1, h + mi), "rss_mib": r1,
                       "lock_waiters_max": max([w for t, w, _ in sampler.lock_samples
                                                if t0 <= t < t1] or [0])})
    figures["series"] = series
    routes = {}
    for _, took, status, route, size in access_log(args.run_dir, offset, with_bytes=True):
        r = routes.setdefault(route, {"ms": [], "bytes": 0, "5xx": 0})
        r["ms"].append(took)
        r["bytes"] += size
        r["5xx"] += status >= 500
    figures["routes"] = {}
    for route, r in routes.items():
        lat = sorted(r["ms"])
        n = len(lat)
        figures["routes"][route] = {"n": n, "p50_ms": lat[n // 2],
                                    "p99_ms": lat[min(n - 1, int(n * 0.99))], "max_ms": lat[-1],
                                    "bytes": r["bytes"] / n, "5xx": r["5xx"]}
    results["long"] = figures
    say(f"  {minutes:g} minutes of the mix through nginx, "
        f"{env_int('LOADTEST_CONNECTIONS', 32)} connections:")
    say(f"    {describe(res)}")
    say(f"    p90 {ms(res['p90_us']):.2f} ms, p99.9 {ms(res['p999_us']):.2f} ms, "
        f"max {ms(res['max_us']):.0f} ms; statuses {json.dumps(res['statuses'], sort_keys=True)}")
    say(f"    family-web: cache hit ratio {figures['cache_hit_ratio']:.1%}, "
        f"{figures['cache_invalidations']:,.0f} invalidations; pool waits "
        f"{figures['pool_waits']:,.0f}, timeouts {figures['pool_timeouts']:,.0f}; "
        f"5xx {served_5xx:,.0f}; RSS {rss:.0f} MiB (peak {hwm:.0f} MiB)")
    say(f"    database: {persons_before:,} -> {persons_after:,} persons; a backend waiting on a "
        f"lock in {figures['lock_wait_sample_share']:.1%} of samples (at most "
        f"{figures['lock_waiters_max']} at once), {figures['lock_waits_logged']} waits over 1 s")
    say(f"    CPU seconds: web {cpu['web']:.0f}, nginx {cpu['nginx']:.0f}, "
        f"postgres {cpu['postgres']:.0f} (of {2 * seconds} on 2 cores)")
    say("    per route (service time, from family-web's access log):")
    for route, r in sorted(figures["routes"].items(), key=lambda x: -x[1]["n"]):
        say(f"      {route:34} {r['n']:9,}  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.1f} ms  "
            f"max {r['max_ms']:6.0f} ms  {r['bytes']:8,.0f} B")
    say("    per interval:   t    req/s   p99 (bucket)  hit ratio  RSS MiB  lock waiters")
    for s in series:
        p99 = "-" if s["p99_bucket_ms"] is None else f"<= {s['p99_bucket_ms']:g} ms"
        say(f"                {s['t']:4}  {s['rps']:7,.0f}  {p99:>12}  {s['hit_ratio']:9.1%}  "
            f"{s['rss_mib']:7.0f}  {s['lock_waiters_max']:12}")


# ------------------------------------------------------------------ dangers

class Stack:
    """Restarts family-web with other settings, through scripts/stack.sh."""

    def __init__(self, run_dir):
        self.run_dir = run_dir

    def restart_web(self, **settings):
        script = os.path.join(TOP, "scripts", "stack.sh")
        subprocess.run([script, "stop", "web"], check=True)
        # The service drains its requests on SIGTERM: wait until its port is free.
        port = int(os.environ["FAMILY_WEB_PORT"])
        for _ in range(300):
            try:
                socket.create_server(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items()
               if k not in ("FAMILY_WEB_POOL", "FAMILY_WEB_THREADS", "FAMILY_WEB_CACHE_SECONDS")}
        env.update({k: str(v) for k, v in settings.items()})
        subprocess.run([script, "start", "web"], check=True, env=env)


def access_log(run_dir, offset, with_bytes=False):
    """family-web's access log lines written after offset: (epoch s, ms,
    status, route), and the body's bytes if asked."""
    out = []
    with open(os.path.join(run_dir, "web.log"), errors="replace") as f:
        f.seek(offset)
        for line in f:
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            ts = calendar.timegm(time.strptime(r["ts"][:19], "%Y-%m-%dT%H:%M:%S")) \
                + float(r["ts"][19:-1] or 0)
            out.append((ts, r["ms"], r["status"], r["route"], r["bytes"]) if with_bytes
                       else (ts, r["ms"], r["status"], r["route"]))
    return out


def log_size(run_dir):
    return os.path.getsize(os.path.join(run_dir, "web.log"))


def window(lines, t0, t1):
    sel = [x for x in lines if t0 <= x[0] < t1]
    if not sel:
        return {"rps": 0, "p50_ms": None, "p99_ms": None, "n": 0, "5xx": 0}
    lat = sorted(x[1] for x in sel)
    return {"rps": len(sel) / (t1 - t0), "n": len(sel),
            "p50_ms": lat[len(lat) // 2], "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "max_ms": lat[-1], "5xx": sum(1 for x in sel if x[2] >= 500)}


def fmt_window(w):
    if not w["n"]:
        return "no request answered"
    return (f"{w['rps']:,.0f} req/s, p50 {w['p50_ms']:.2f} ms, p99 {w['p99_ms']:.1f} ms, "
            f"max {w['max_ms']:.0f} ms, {w['5xx']} 5xx")


def in_background(fn, *a):
    out = {}

    def body():
        try:
            out["value"] = fn(*a)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out["error"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, out


def propagation(args, api, data):
    """A rank change by a parent over families of 100, 1,000 and 10,000
    descendants, through the API; a childless child's as the baseline. The
    descendants are made in SQL (quicker), the family's founders through the
    API."""
    staff = api.login(args.staff_email, args.staff_password)
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("""
CREATE FUNCTION pg_temp.grow(root bigint, target int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE frontier bigint[] := ARRAY[root]; nxt bigint[]; p bigint; partner bigint; made int := 0;
BEGIN
    WHILE made < target LOOP
        nxt := '{}';
        FOREACH p IN ARRAY frontier LOOP
            partner := family.add_person('In', 'Law');
            PERFORM family.start_relationship(p, partner);
            FOR i IN 1..3 LOOP
                nxt := nxt || family.add_child(p, partner, 3, 4, 'Big', 'Family');
                made := made + 1;
                EXIT WHEN made >= target;
            END LOOP;
            EXIT WHEN made >= target;
        END LOOP;
        frontier := nxt;
    END LOOP;
    RETURN made;
END $$""")
    out = []
    for size in (100, 1000, 10000):
        ids, tokens = [], []
        for side in ("f", "m"):
            email = f"big{size}{side}@loadtest.example"
            _, p, _ = api.call("POST", "/api/persons", {
                "first_name": side, "last_name": f"Big{size}",
                "account": {"email": email, "password": PASSWORD}}, token=staff, expect=201)
            ids.append(p["id"])
            tokens.append(api.login(email, PASSWORD))
        ask = "/api/me/partner-request"
        api.call("PUT", ask, {"partner_id": ids[1]}, token=tokens[0], expect=202)
        api.call("PUT", ask, {"partner_id": ids[0]}, token=tokens[1], expect=201)
        child = {"father_id": ids[0], "mother_id": ids[1], "father_rank": 3, "mother_rank": 3}
        big = api.call("POST", "/api/children", child, token=tokens[0], expect=201)[1]["id"]
        leaf = api.call("POST", "/api/children", child, token=tokens[0], expect=201)[1]["id"]
        cur.execute("SELECT pg_temp.grow(%s, %s)", (big, size))
        cur.execute("SELECT count(*) FROM family.descendants(%s)", (big,))
        descendants = cur.fetchone()[0]
        # A couple at the bottom of the family, for a concurrent insert.
        cur.execute("SELECT r.person_a, r.person_b FROM family.relationship AS r "
                    "JOIN family.descendants(%s) AS d ON d.person_id = r.person_a "
                    "ORDER BY d.depth DESC LIMIT 1", (big,))
        deep = cur.fetchone()
        # Warm the cache with the seeded families, to see what a change drops.
        for pid in data["hot"]:
            api.call("GET", f"/api/persons/{pid}", token=tokens[0])
        times, leaf_times, dropped = [], [], []
        for i in range(5):
            entries = metric(metrics(args.web), "family_cache_entries")
            t = time.perf_counter()
            api.call("PATCH", f"/api/children/{big}", {"father_rank": 2 + 2 * (i % 2)},
                     token=tokens[0], expect=200)
            times.append((time.perf_counter() - t) * 1000)
            dropped.append(entries - metric(metrics(args.web), "family_cache_entries"))
            t = time.perf_counter()
            api.call("PATCH", f"/api/children/{leaf}", {"father_rank": 2 + 2 * (i % 2)},
                     token=tokens[0], expect=200)
            leaf_times.append((time.perf_counter() - t) * 1000)
            for pid in data["hot"][:50]:
                api.call("GET", f"/api/persons/{pid}", token=tokens[0])
        # A child added at the bottom of the family while the change runs:
        # the change locks every row it rewrites until it commits.
        patch, res = in_background(api.call, "PATCH", f"/api/children/{big}",
                                   {"father_rank": 5}, tokens[0], None, 200)
        time.sleep(statistics.median(times) / 2000)  # halfway through the change
        t = time.perf_counter()
        cur.execute("SELECT family.add_child(%s, %s, 3, 3)", deep)
        insert_ms = (time.perf_counter() - t) * 1000
        patch.join()
        row = {"descendants": descendants, "founder": ids[0], "patch_ms": statistics.median(times),
               "leaf_patch_ms": statistics.median(leaf_times),
               "cache_entries_dropped": statistics.median(dropped),
               "concurrent_insert_ms": insert_ms}
        out.append(row)
        say(f"    {descendants:6,} descendants: PATCH /api/children/{{id}} "
            f"{row['patch_ms']:7.1f} ms vs {row['leaf_patch_ms']:.1f} ms for a childless child "
            f"({row['patch_ms'] / row['leaf_patch_ms']:.0f}x); cache entries dropped "
            f"{row['cache_entries_dropped']:.0f}; a child added below meanwhile waited "
            f"{insert_ms:.0f} ms")
    conn.close()
    results.setdefault("dangers", {})["propagation"] = out


def stampede_case(args, data_file, mix, connections=None):
    """Load straight to family-web; NOTIFY family_person '*' (what a change
    over more than 1,000 persons, a bulk load or a lost listen connection
    does) at 12 s and 24 s. Latency per request from the service's access
    log, cache hits and misses from /metrics every 0.25 s."""
    offset = log_size(args.run_dir)
    scrapes = []
    stop = threading.Event()

    def scrape():
        while not stop.is_set():
            scrapes.append((time.time(), metrics(args.web)))
            stop.wait(0.25)
    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    load, res = in_background(wrk, args.web, 36, data_file, connections, mix)
    start = time.time()
    notified = []
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    for at in (12, 24):
        time.sleep(max(0, start + at - time.time()))
        conn.cursor().execute("NOTIFY family_person, '*'")
        notified.append(time.time())
    load.join()
    stop.set()
    scraper.join()
    conn.close()
    if "value" in res:
        check_clean(res["value"], f"stampede ({mix})")
    lines = access_log(args.run_dir, offset)

    def cache(t0, t1):
        inside = [m for t, m in scrapes if t0 <= t <= t1]
        if len(inside) < 2:
            return None, None
        def grew(name):
            return metric(inside[-1], name) - metric(inside[0], name)
        h, mi = grew("family_cache_hits_total"), grew("family_cache_misses_total")
        return h / max(1, h + mi), mi

    rows = []
    for t in notified:
        ratio_before, _ = cache(t - 5, t)
        ratio_first, misses_first = cache(t, t + 1)
        ratio_next, _ = cache(t + 1, t + 3)
        _, misses_3s = cache(t - 0.3, t + 3)
        rows.append({"before": window(lines, t - 5, t),
                     "first_half_second": window(lines, t, t + 0.5),
                     "next_1_5_s": window(lines, t + 0.5, t + 2), "hit_ratio_before": ratio_before,
                     "hit_ratio_first_s": ratio_first, "misses_first_s": misses_first,
                     "misses_3s": misses_3s, "hit_ratio_next_s": ratio_next})
    def pct(x):
        return "-" if x is None else f"{x:.1%}"
    for i, r in enumerate(rows):
        say(f"      '*' #{i + 1}: 5 s before: {fmt_window(r['before'])}, hit ratio "
            f"{pct(r['hit_ratio_before'])}")
        say(f"             first 0.5 s after: {fmt_window(r['first_half_second'])}")
        say(f"             hit ratio in the first second {pct(r['hit_ratio_first_s'])} "
            f"({r['misses_first_s'] or 0:.0f} misses; {r['misses_3s'] or 0:.0f} in 3 s), "
            f"the next two "
            f"{pct(r['hit_ratio_next_s'])}; "
            f"0.5-2 s after: {fmt_window(r['next_1_5_s'])}")
    return rows


def stampede(args, data, data_file):
    out = {}
    say("    browsing (the read part of the mix), 32 connections:")
    out["browsing"] = stampede_case(args, data_file, "read")
    # Everyone reading the same expensive entry: the whole line of the
    # 10,000-descendant family's founder (as a family's home page would).
    big = [r for r in results.get("dangers", {}).get("propagation", [])
           if r["descendants"] >= 10000]
    if big:
        one = dict(data, hot=[big[0]["founder"]], etags={})
        one_file = os.path.join(os.path.dirname(data_file), "data-one-line.lua")
        with open(one_file, "w") as f:
            f.write("return " + lua(one) + "\n")
        say(f"    one expensive entry (GET .../descendants of a {big[0]['descendants']:,}-person "
            f"line), 8 connections:")
        out["one_line"] = stampede_case(args, one_file, "lineage", 8)
    results.setdefault("dangers", {})["stampede"] = out


def hold_founders(args, stack, data, data_file, name, lock_timeout=None, **settings):
    """The mix with 64 connections; after 10 s a transaction locks the
    founders' rows (as a DBA's UPDATE left open, or a long repair, would)
    for 10 s. Throughput and latency from the service's access log."""
    founders = [u["id"] for u in data["users"] if u["generation"] == 0]
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    if lock_timeout:
        cur.execute(f"ALTER ROLE family_web SET lock_timeout = '{lock_timeout}'")
    stack.restart_web(**settings)  # new connections take the role's setting
    try:
        wrk(args.web, 5, data_file, 64)
        offset = log_size(args.run_dir)
        load, res = in_background(wrk, args.web, 30, data_file, 64, "mixed", "20s")
        time.sleep(10)
        holder = psycopg2.connect(args.dsn)
        t0 = time.time()
        holder.cursor().execute("SELECT 1 FROM family.person WHERE id = ANY(%s) FOR UPDATE",
                                (founders,))
        time.sleep(10)
        holder.rollback()
        t1 = time.time()
        holder.close()
        load.join()
    finally:
        cur.execute("ALTER ROLE family_web RESET lock_timeout")
        conn.close()
    lines = access_log(args.run_dir, offset)
    statuses = (res.get("value") or {}).get("statuses")
    row = {"before": window(lines, t0 - 8, t0), "held": window(lines, t0, t1),
           "after": window(lines, t1 + 2, t1 + 8), "statuses": statuses,
           "socket_errors": (res.get("value") or {}).get("errors"),
           "max_ms": ms((res.get("value") or {}).get("max_us", 0))}
    say(f"    founders' rows locked 10 s, {name}:")
    say(f"        before:     {fmt_window(row['before'])}")
    say(f"        while held: {fmt_window(row['held'])}")
    say(f"        after:      {fmt_window(row['after'])}")
    say(f"        the whole run: statuses {json.dumps(statuses, sort_keys=True)}, slowest request "
        f"{ms((res.get('value') or {}).get('max_us', 0)):,.0f} ms")
    return row


def pool(args, stack, data, data_file):
    """FAMILY_WEB_POOL below the thread count (2 per CPU) against the
    default (one connection per thread), 64 connections of the mix; then
    the founders' rows locked for 10 s, with the default pool, with a pool
    of 2, and with lock_timeout on the service's role."""
    out = {}
    for name, settings in (("default pool", {}), ("FAMILY_WEB_POOL=2", {"FAMILY_WEB_POOL": 2}),
                           ("FAMILY_WEB_POOL=1", {"FAMILY_WEB_POOL": 1})):
        stack.restart_web(**settings)
        wrk(args.web, 5, data_file, 64)
        before = metrics(args.web)
        r = wrk(args.web, 20, data_file, 64)
        after = metrics(args.web)
        row = {"wrk": r, "waits": metric(after, "family_pool_waits_total")
               - metric(before, "family_pool_waits_total"),
               "timeouts": metric(after, "family_pool_timeouts_total")
               - metric(before, "family_pool_timeouts_total"),
               "503": r["statuses"].get("503", 0)}
        out[name] = row
        say(f"    {name:18} {describe(r)}; pool waits {row['waits']:,.0f}, "
            f"timeouts {row['timeouts']:,.0f}, 503s {row['503']}")
    out["held, default pool"] = hold_founders(args, stack, data, data_file,
                                              "default pool, no lock_timeout")
    out["held, pool 2"] = hold_founders(args, stack, data, data_file,
                                        "FAMILY_WEB_POOL=2, no lock_timeout", FAMILY_WEB_POOL=2)
    out["held, lock_timeout"] = hold_founders(args, stack, data, data_file,
                                              "default pool, lock_timeout = 1s on family_web",
                                              lock_timeout="1s")
    stack.restart_web()
    results.setdefault("dangers", {})["pool"] = out


def check_under_load(args, data_file):
    """family.run_consistency_check() (what pg_cron runs every 15 minutes)
    alone, then under the mix (10-s windows alternating without and with
    checks running back to back; medians), then several at once."""

    def run_check(workers=None):
        c = psycopg2.connect(args.dsn)
        c.autocommit = True
        k = c.cursor()
        t = time.perf_counter()
        try:
            k.execute("SELECT family.run_consistency_check(%s)", (workers,))
            run = k.fetchone()[0]
            took = time.perf_counter() - t
            k.execute("SELECT status, persons_checked, workers FROM family.check_run WHERE id = %s",
                      (run,))
            status, persons, got = k.fetchone()
            return took, status, persons, got
        finally:
            c.close()

    alone = [run_check() for _ in range(3)]
    took_alone = statistics.median(x[0] for x in alone)
    say(f"    check alone: {took_alone:.2f} s for {alone[0][2]:,} persons "
        f"({alone[0][3]} workers, status {alone[0][1]})")
    windows = {"without": [], "with": []}
    checks = []
    for i in range(6):
        name = "with" if i % 2 else "without"
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                checks.append(run_check())
        looper = threading.Thread(target=loop, daemon=True)
        if name == "with":
            looper.start()
        r = wrk(args.nginx, 10, data_file)
        stop.set()
        if name == "with":
            looper.join()
        check_clean(r, f"check under load, window {i + 1}")
        windows[name].append(r)
    med = {n: {k: statistics.median(x[k] for x in rs) for k in ("rps", "p50_us", "p99_us")}
           for n, rs in windows.items()}
    took_loaded = statistics.median(x[0] for x in checks)
    for n in ("without", "with"):
        say(f"    mix {n:7} checks: {med[n]['rps']:,.0f} req/s, p50 {ms(med[n]['p50_us']):.2f} ms, "
            f"p99 {ms(med[n]['p99_us']):.1f} ms (medians of 3 alternating 10-s windows)")
    say(f"    throughput with checks running {med['with']['rps'] / med['without']['rps']:.2f}x; "
        f"{len(checks)} checks under load, {took_loaded:.2f} s each "
        f"({took_loaded / took_alone:.1f}x "
        f"alone)")

    def at_once(n, workers):
        runs = [in_background(run_check, workers) for _ in range(n)]
        for t, _ in runs:
            t.join()
        out = []
        for _, o in runs:
            if "value" in o:
                out.append(f"{o['value'][0]:.2f} s, {o['value'][1]} with {o['value'][3]} workers")
            else:
                out.append(str(o.get("error")).strip().splitlines()[0])
        return out

    pair = at_once(2, None)
    say("    two checks at once (a manual run during pg_cron's): " + "; ".join(pair))
    conn = psycopg2.connect(args.dsn)
    cur = conn.cursor()
    cur.execute("SHOW max_worker_processes")
    mwp = cur.fetchone()[0]
    conn.close()
    over = at_once(3, 8)
    say(f"    three checks of 8 workers at once (max_worker_processes = {mwp}): " + "; ".join(over))
    results.setdefault("dangers", {})["check"] = {
        "alone_s": took_alone, "persons": alone[0][2], "workers": alone[0][3],
        "under_load_s": took_loaded, "windows": windows, "median": med, "pair": pair,
        "three_of_8": over}


def dangers(args, api, data, data_file):
    which = (os.environ.get("LOADTEST_DANGERS") or "propagation stampede pool check").split()
    if "propagation" in which:
        say("  rank propagation under a big family (through the API, straight to family-web):")
        propagation(args, api, data)
    if "stampede" in which:
        say("  cache stampede after NOTIFY family_person '*' (straight to family-web):")
        stampede(args, data, data_file)
    if "pool" in which:
        say("  pool exhaustion and lock waits (the mix straight to family-web, 64 connections):")
        pool(args, Stack(args.run_dir), data, data_file)
    if "check" in which:
        say("  the consistency check under load (the mix through nginx):")
        check_under_load(args, data_file)


# --------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--web", required=True)
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--dsn", required=True, help="superuser DSN of the stack's database")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--staff-email", required=True)
    parser.add_argument("--staff-password", required=True)
    parser.add_argument("parts", nargs="+", choices=["seed", "compare", "long", "dangers"])
    args = parser.parse_args()
    out_dir = os.path.join(args.run_dir, "loadtest")
    data_file = os.path.join(out_dir, "data.lua")
    api = Api(args.web)
    procs = Procs(args.run_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data = None
    say(f"family load test: {os.cpu_count()} CPUs, wrk {env_int('LOADTEST_THREADS', 2)} threads")
    try:
        for part in args.parts:
            if part == "seed":
                data = seed(api, args, out_dir)
                continue
            if data is None:
                with open(os.path.join(out_dir, "data.json")) as f:
                    data = json.load(f)
            if part == "compare":
                compare(args, procs, data_file)
            elif part == "long":
                long_run(args, procs, data_file)
            elif part == "dangers":
                dangers(args, api, data, data_file)
    except (RuntimeError, OSError, psycopg2.Error) as e:
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        results["failures"] = failures
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)
    say(f"  results: {os.path.join(out_dir, 'results.json')}")
    if failures:
        say("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    say("load test passed")


if __name__ == "__main__":
    main()
