#!/usr/bin/python3
"""Benchmarks of the REST service (web/) with wrk on loopback, keep-alive.

Four servers run side by side on one database: family-web with its GET
cache, family-web with FAMILY_WEB_CACHE_SECONDS=0, bench/trivial.cpp (a
Pistache server with the same options and threads answering a constant: the
same server without our code), and the trivial server with 2 threads per CPU
instead of 8 (what family-web's many threads cost a cached GET here). Each figure is a ratio of medians of
alternating rounds in this run, so that a noisy machine still gives stable
numbers. Any non-2xx answer or socket error fails the benchmark.

Usage: web.py --dsn SUPERUSER_DSN --service-dsn DSN --service BIN --trivial BIN
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
STAFF_EMAIL, PASSWORD = "bench-staff@example.org", "bench-password"
results = []
running_wrk = []  # stopped on the way out, whatever happens


class BenchError(RuntimeError):
    pass


def report(name, ratio, target, detail):
    ok = target(ratio)
    results.append((name, ratio, ok))
    mark = "" if target is ANY else ("meets" if ok else "MISSES") + " target"
    print(f"  {name:58} {ratio:7.2f}x  {mark:14} ({detail})", flush=True)


def ANY(_r):
    return True


def figure(name, value, detail):
    print(f"  {name:58} {value:>8}  {'':14} ({detail})", flush=True)


class Server:
    """A server process that prints "listening on http://HOST:PORT/" on stderr."""

    def __init__(self, name, argv, env):
        self.name = name
        self.log_path = os.path.join(os.environ.get("BENCH_WEB_LOGS", "/tmp"), f"{name}.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path) as log:
                m = re.search(r"listening on http://([^/]+)/", log.read())
            if m:
                self.base = f"http://{m.group(1)}"
                return
            time.sleep(0.05)
        self.stop()
        with open(self.log_path) as log:
            raise BenchError(f"{name} did not start: {log.read().strip()}")

    def status(self):
        """VmHWM and VmRSS in KiB, and CPU seconds used so far."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            mem = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f)
                   if k in ("VmHWM", "VmRSS")}
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return mem["VmHWM"], mem["VmRSS"], cpu

    def reset_peak(self):
        """Resets VmHWM to the current resident set (Linux >= 4.0)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def call(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text and "json" in r.headers.get(
                "Content-Type", "") else text)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def must(expect, answer, what):
    status, body = answer
    if status != expect:
        raise BenchError(f"{what}: HTTP {status} (expected {expect}): {body}")
    return body


def wrk_start(server, script, seconds, connections, env):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
           "-s", os.path.join(HERE, script), server.base]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    running_wrk.append(proc)
    return server, script, proc


def wrk_finish(started):
    """wrk's requests/s, p99 in ms and count of requests answered. Fails on any non-2xx answer, socket
    error or a crashed server."""
    server, script, proc = started
    out, err = proc.communicate()
    running_wrk.remove(proc)
    if proc.returncode != 0 or not server.alive():
        raise BenchError(f"wrk against {server.name} failed (exit {proc.returncode}, server "
                         f"{'alive' if server.alive() else 'DEAD'}): {out}{err}"
                         f" (server log {server.log_path})")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise BenchError(f"{server.name} under {script}: "
                         f"{bad.group(0) if bad else ''} {errors.group(0) if errors else ''}\n{out}"
                         f"(server log {server.log_path})")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
    count = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, p99_ms, count


def wrk(server, script, seconds, connections, env):
    return wrk_finish(wrk_start(server, script, seconds, connections, env))


def setup_data(dsn, persons):
    """A small genealogy by SQL: founder couples, their children, and the
    children's couples' children; returns the ids of its persons."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("""
            DO $$
            DECLARE
                couples int := %s / 6;
                f bigint; m bigint; kids bigint[] := '{}';
            BEGIN
                FOR i IN 1..couples LOOP
                    f := family.add_person('Father' || i, 'Bench');
                    m := family.add_person('Mother' || i, 'Bench');
                    PERFORM family.start_relationship(f, m);
                    kids := kids || family.add_child(f, m, 1 + i %% 5, 1 + (i + 2) %% 5,
                                                     'Son' || i, 'Bench')
                                 || family.add_child(f, m, 1 + (i + 1) %% 5, 1 + i %% 5,
                                                     'Daughter' || i, 'Bench');
                END LOOP;
                -- The son of couple i marries the daughter of couple i + 1.
                FOR i IN 1..couples - 1 LOOP
                    PERFORM family.start_relationship(kids[2 * i - 1], kids[2 * i + 2]);
                    PERFORM family.add_child(kids[2 * i - 1], kids[2 * i + 2], 1 + i %% 5,
                                             1 + (i + 3) %% 5, 'Grandchild' || i, 'Bench');
                    PERFORM family.add_child(kids[2 * i - 1], kids[2 * i + 2], 1 + (i + 1) %% 5,
                                             1 + (i + 4) %% 5, 'Grandchild' || i, 'Bench');
                END LOOP;
            END $$""", (persons,))
        cur.execute("VACUUM ANALYZE family.person")
        cur.execute("SELECT id FROM family.person WHERE last_name = 'Bench' ORDER BY id")
        ids = [r[0] for r in cur.fetchall()]
    conn.close()
    return ids


class Client:
    """One keep-alive connection; get() returns (status, ms, body)."""

    def __init__(self, base, token):
        import http.client
        host, port = base.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive",
                        "Cache-Control": "no-cache"}

    def get(self, path):
        t = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        ms = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise BenchError(f"GET {path}: {r.status} {body[:300]!r}")
        return ms, json.loads(body)


def p99(values):
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


big_name = "family-web-lines"


def lines_and_search(args, base_env):
    """SPEC 7a on a generated genealogy (bench/genealogy.py) in a database of
    its own: pages of the descendants of its first founder (the first page,
    and one deep into the line) and searches by name, each uncached
    (Cache-Control: no-cache), against an uncached GET /api/persons/{id}.
    Returns the server, its peak memory in setup and its resident set
    before the mix (KiB), for the memory figures."""
    dsn = args.dsn.replace("dbname=family", "dbname=family_big")
    admin = psycopg2.connect(args.dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS family_big")
        cur.execute("CREATE DATABASE family_big")
    admin.close()
    t0 = time.monotonic()
    script = subprocess.run([sys.executable, os.path.join(HERE, "genealogy.py"),
                             str(args.genealogy)], capture_output=True, check=True).stdout
    psql = ["/usr/lib/postgresql/15/bin/psql", "-Xq", "-v", "ON_ERROR_STOP=1", dsn]
    for extra, data in ((["-c", "CREATE EXTENSION family"], None), (["-f", "-"], script),
                        (["-f", os.path.join(HERE, "..", "sql", "app.sql")], None),
                        (["-c", "VACUUM ANALYZE"], None)):
        r = subprocess.run(psql + extra, input=data, capture_output=True)
        if r.returncode != 0:
            raise BenchError(f"loading the genealogy: {r.stderr.decode()[-500:]}")
    made = subprocess.run([args.service, "create-staff", STAFF_EMAIL], input=PASSWORD + "\n",
                          text=True, capture_output=True, env={**os.environ, "FAMILY_WEB_DSN": dsn})
    if made.returncode != 0:
        raise BenchError(f"create-staff failed: {made.stderr}")
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM family.person")
        persons = cur.fetchone()[0]
        cur.execute("SELECT id FROM family.person ORDER BY id LIMIT 1")
        founder = cur.fetchone()[0]
    conn.close()
    print(f"  (genealogy of {persons:,} persons loaded in {time.monotonic() - t0:.0f} s)",
          flush=True)
    server = Server(big_name, [args.service],
                    {**base_env, "FAMILY_WEB_DSN": args.service_dsn.replace("dbname=family",
                                                                           "dbname=family_big")})
    try:
        return server, *measure_lines_and_search(args, server, founder, persons)
    except BaseException:
        server.stop()
        raise


def measure_lines_and_search(args, server, founder, persons):
    deadline = time.monotonic() + 20
    while call(server.base, "GET", "/readyz")[0] != 200:
        if time.monotonic() > deadline:
            raise BenchError("family-web-lines not ready")
        time.sleep(0.2)
    token = must(200, call(server.base, "POST", "/api/auth/token",
                           {"email": STAFF_EMAIL, "password": PASSWORD}), "staff login")["token"]
    setup_peak = server.status()[0]
    server.reset_peak()  # the login's Argon2id hash stays out of the figure
    idle = server.status()[1]
    client = Client(server.base, token)
    line = f"/api/persons/{founder}/descendants?limit=100"
    # The whole line once: every page's time, and the cursors.
    cursors, walk, count = [None], [], 0
    while True:
        ms, page = client.get(line + (f"&cursor={cursors[-1]}" if cursors[-1] else ""))
        walk.append(ms)
        count += len(page["items"])
        if not page["next"]:
            break
        cursors.append(page["next"])
    deep = cursors[int(len(cursors) * 0.8)]
    reps = max(50, args.seconds * 40)
    rng = __import__("random").Random(7)
    misses = [client.get(f"/api/persons/{rng.randint(founder, founder + persons - 1)}")[0]
              for _ in range(reps)]
    firsts = [client.get(line)[0] for _ in range(reps)]
    deeps = [client.get(f"{line}&cursor={deep}")[0] for _ in range(reps)]
    queries = ["king", "johansson", "ann kin", "zoe", "bronte", "weiss", "cote jean", "odegaard",
               "ingrid sil", "o'brien", "lucia fernandez", "jorg muller", "emil", "hugo lefevre",
               "mar", "nils andersen", "sofia costa", "pal lovgren", "sven virtanen", "ada kowal"]
    searches, found = [], 0
    for k in range(reps):
        ms, page = client.get("/api/persons?limit=20&q=" +
                              urllib.request.quote(queries[k % len(queries)]))
        searches.append(ms)
        found += len(page["items"])
    miss = statistics.median(misses)
    report("first page of a line vs an uncached GET /api/persons/{id}",
           statistics.median(firsts) / miss, lambda r: r <= 2,
           f"target <= 2; descendants of person {founder}: {count:,} in {len(walk)} pages of "
           f"100; {statistics.median(firsts):.1f} vs {miss:.1f} ms median, p99 {p99(firsts):.1f}")
    report("a page 80% into the line vs an uncached GET /api/persons/{id}",
           statistics.median(deeps) / miss, lambda r: r <= 2,
           f"target <= 2; {statistics.median(deeps):.1f} vs {miss:.1f} ms median, p99 "
           f"{p99(deeps):.1f}; walking the whole line: median {statistics.median(walk):.1f}, "
           f"slowest {max(walk):.1f} ms")
    ok = p99(searches) <= 20
    results.append(("search p99 <= 20 ms", p99(searches), ok))
    figure("GET /api/persons?q= (median; p99 target <= 20 ms)",
           f"{statistics.median(searches):.1f} ms",
           f"p99 {p99(searches):.1f} ms {'meets' if ok else 'MISSES'} target; {len(queries)} "
           f"queries, {reps} searches, {found / reps:.1f} persons a page, {persons:,} persons")
    return setup_peak, idle


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True, help="superuser DSN of database family")
    parser.add_argument("--service-dsn", required=True, help="the service's DSN (family_web)")
    parser.add_argument("--service", required=True, help="web/build/family-web")
    parser.add_argument("--trivial", required=True, help="the built bench/trivial.cpp")
    parser.add_argument("--persons", type=int, default=600)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--genealogy", type=int, default=1_000_000,
                        help="persons of the genealogy for lines and search (0: skip)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    cpus = os.cpu_count()
    print(f"family-web benchmarks: wrk -t1 -c{args.connections} on loopback, keep-alive, "
          f"{args.rounds} alternating rounds of {args.seconds} s, {cpus} CPUs", flush=True)
    # The staff account, as an operator makes it.
    made = subprocess.run([args.service, "create-staff", STAFF_EMAIL], input=PASSWORD + "\n",
                          text=True, capture_output=True,
                          env={**os.environ, "FAMILY_WEB_DSN": args.dsn})
    if made.returncode != 0:
        raise BenchError(f"create-staff failed: {made.stderr}")
    ids = setup_data(args.dsn, args.persons)

    base_env = {**os.environ, "FAMILY_WEB_DSN": args.service_dsn, "FAMILY_WEB_PORT": "0",
                "FAMILY_WEB_ACCESS_LOG": "0"}
    servers = []
    try:
        cached = Server("family-web-cached", [args.service], base_env)
        servers.append(cached)
        uncached = Server("family-web-uncached", [args.service],
                          {**base_env, "FAMILY_WEB_CACHE_SECONDS": "0"})
        servers.append(uncached)
        trivial = Server("trivial", [args.trivial], base_env)
        servers.append(trivial)
        # family-web waits for the database on Pistache's threads, hence 8 a
        # CPU; the same trivial server with 2 a CPU shows what that costs.
        trivial_few = Server("trivial-2-threads-per-cpu", [args.trivial],
                             {**base_env, "FAMILY_WEB_THREADS": str(2 * cpus)})
        servers.append(trivial_few)
        for s in (cached, uncached):
            deadline = time.monotonic() + 20
            while call(s.base, "GET", "/readyz")[0] != 200:
                if time.monotonic() > deadline:
                    raise BenchError(f"{s.name} not ready: {call(s.base, 'GET', '/readyz')}")
                time.sleep(0.2)

        # A couple with accounts, made through the API by staff.
        staff = must(200, call(cached.base, "POST", "/api/auth/token",
                               {"email": STAFF_EMAIL, "password": PASSWORD}), "staff login")["token"]
        couple = []
        for who in ("father", "mother"):
            p = must(201, call(cached.base, "POST", "/api/persons",
                               {"first_name": who.title(), "last_name": "Poster",
                                "account": {"email": f"{who}@example.org", "password": PASSWORD}},
                               staff), f"POST /api/persons ({who})")
            couple.append(p["id"])
        must(201, call(cached.base, "POST", "/api/relationships",
                       {"person_a": couple[0], "person_b": couple[1]}, staff),
             "POST /api/relationships")
        father = must(200, call(cached.base, "POST", "/api/auth/token",
                                {"email": "father@example.org", "password": PASSWORD}),
                      "father login")["token"]

        get_env = {"BENCH_TOKEN": staff, "BENCH_IDS": ",".join(map(str, ids))}
        post_env = {"BENCH_TOKEN": father, "BENCH_FATHER": str(couple[0]),
                    "BENCH_MOTHER": str(couple[1])}
        # The setup's peak (Argon2id hashes 64 MiB each) stays out of the
        # figures: the peak is reset before the load.
        setup_peak = {s.name: s.status()[0] for s in servers}
        for s in servers:
            s.reset_peak()
        rss_idle = {s.name: s.status()[1] for s in servers}
        # One request of each kind first: a failure shows its answer.
        for s in (cached, uncached):
            must(200, call(s.base, "GET", f"/api/persons/{ids[0]}", token=staff),
                 f"GET /api/persons/{ids[0]} on {s.name}")
        must(201, call(cached.base, "POST", "/api/children",
                       {"first_name": "Bench", "last_name": "Child", "father_id": couple[0],
                        "mother_id": couple[1], "father_rank": 3, "mother_rank": 4}, father),
             "POST /api/children")

        # Warm-up: connections, sessions, prepared statements, the cache.
        for s in servers:
            wrk(s, "get.lua", 1, args.connections, get_env)

        # GET: the three servers in alternating rounds (the order rotates).
        targets = [cached, uncached, trivial, trivial_few]
        rps = {s.name: [] for s in targets}
        p99 = {s.name: [] for s in targets}
        cpu_per_req = {s.name: [] for s in targets}
        for k in range(args.rounds):
            for s in targets[k % len(targets):] + targets[:k % len(targets)]:
                cpu0 = s.status()[2]
                r, p, n = wrk(s, "get.lua", args.seconds, args.connections, get_env)
                cpu1 = s.status()[2]
                rps[s.name].append(r)
                p99[s.name].append(p)
                cpu_per_req[s.name].append((cpu1 - cpu0) / n * 1e6)
        med = {n: statistics.median(v) for n, v in rps.items()}
        lat = {n: statistics.median(v) for n, v in p99.items()}
        cpr = {n: statistics.median(v) for n, v in cpu_per_req.items()}
        c, u, t, t2 = cached.name, uncached.name, trivial.name, trivial_few.name
        metrics = call(cached.base, "GET", "/metrics")[1]
        hits = float(re.search(r"^family_cache_hits_total (\S+)", metrics, re.M).group(1))
        misses = float(re.search(r"^family_cache_misses_total (\S+)", metrics, re.M).group(1))

        report("GET /api/persons/{id}: cached vs uncached (requests/s)", med[c] / med[u], ANY,
               f"{med[c]:,.0f} vs {med[u]:,.0f} req/s; p99 {lat[c]:.2f} vs {lat[u]:.2f} ms; "
               f"{len(ids)} ids, cache hits {hits / max(hits + misses, 1):.1%}")
        report("GET /api/persons/{id} cached vs a trivial Pistache handler", med[c] / med[t],
               lambda r: r >= 0.8,
               f"target >= 0.8; {med[c]:,.0f} vs {med[t]:,.0f} req/s; p99 {lat[c]:.2f} vs "
               f"{lat[t]:.2f} ms; server CPU per request {cpr[c]:.0f} vs {cpr[t]:.0f} us "
               f"(uncached {cpr[u]:.0f} us); both {8 * cpus} threads")
        report("the trivial handler with 8 threads a CPU vs 2 (as family-web vs at its best)",
               med[t] / med[t2], ANY,
               f"{med[t]:,.0f} vs {med[t2]:,.0f} req/s; server CPU per request {cpr[t]:.0f} vs "
               f"{cpr[t2]:.0f} us")

        # POST /api/children: one couple's children, as the father.
        post_rps, post_p99, answered = [], [], 0
        for _ in range(args.rounds):
            r, p, n = wrk(cached, "post_child.lua", args.seconds, args.connections, post_env)
            post_rps.append(r)
            post_p99.append(p)
            answered += n
        conn = psycopg2.connect(args.dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM family.person WHERE father_id = %s AND mother_id = %s",
                        (couple[0], couple[1]))
            children = cur.fetchone()[0] - 1  # the one added before the load
        conn.close()
        pr, pp = statistics.median(post_rps), statistics.median(post_p99)
        # wrk stops counting at the end of a round with up to one request
        # per connection in flight.
        if not answered <= children <= answered + args.connections * args.rounds:
            raise BenchError(f"POST /api/children: wrk counted {answered} 201s, "
                             f"the database holds {children} children")
        figure("POST /api/children (children/s; p99)", f"{pr:,.0f}",
               f"p99 {pp:.1f} ms; rounds {', '.join(f'{x:,.0f}' for x in post_rps)} /s; "
               f"{children:,} children added, as many as 201s")

        # Cached GETs while children are added: the POSTs through the same
        # process vs through the other one (the same database work either
        # way). Handlers run on Pistache's threads, so a request waiting for
        # the database holds up the requests of its thread's connections.
        mixed = {"same": [], "other": []}
        mixed_p99 = {"same": [], "other": []}
        for k in range(args.rounds):
            for where in (("same", "other") if k % 2 == 0 else ("other", "same")):
                poster = cached if where == "same" else uncached
                g = wrk_start(cached, "get.lua", args.seconds, args.connections, get_env)
                p = wrk_start(poster, "post_child.lua", args.seconds, args.connections, post_env)
                r, l99, _ = wrk_finish(g)
                wrk_finish(p)
                mixed[where].append(r)
                mixed_p99[where].append(l99)
        same, other = statistics.median(mixed["same"]), statistics.median(mixed["other"])
        report("cached GET under POST load: POSTs in another process vs same", other / same,
               ANY, f"{other:,.0f} vs {same:,.0f} req/s; p99 "
               f"{statistics.median(mixed_p99['other']):.1f} vs "
               f"{statistics.median(mixed_p99['same']):.1f} ms")

        if args.genealogy:
            big, setup_peak[big_name], rss_idle[big_name] = lines_and_search(args, base_env)
            servers.append(big)

        # Memory: the peak under the load (VmHWM since the reset) and the
        # resident set before and after it.
        for s in servers:
            hwm, rss, _ = s.status()
            figure(f"resident memory of {s.name} under load (MiB)", f"{hwm / 1024:.1f}",
                   f"VmHWM; VmRSS {rss_idle[s.name] / 1024:.1f} MiB before the load, "
                   f"{rss / 1024:.1f} after; {setup_peak[s.name] / 1024:.1f} MiB peak in setup")
        for s in servers:
            if not s.alive():
                raise BenchError(f"{s.name} died (log {s.log_path})")
    finally:
        for proc in running_wrk:
            proc.kill()
            proc.wait()
        for s in servers:
            s.stop()
    for s in servers:
        with open(s.log_path) as f:
            failures = [line for line in f if "failed" in line or "error" in line.lower()]
        if failures:
            raise BenchError(f"{s.name} logged failures: {''.join(failures[:5])}")
    missed = [name for name, _r, ok in results if not ok]
    print(f"bench-web: {len(results) - len(missed)} of {len(results)} figures meet their targets"
          + (f"; missed: {', '.join(missed)}" if missed else ""), flush=True)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench-web: FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
