#!/usr/bin/python3
"""End-to-end tests of the status service (SPEC section 8) against a real
cluster (PGHOST/PGPORT/PGUSER, superuser, database `family`, pg_cron
preloaded) and the real binary (FAMILY_STATUS_BIN, default
web/build/family-status), started here on a free port with
FAMILY_STATUS_INTERVAL=1 and FAMILY_STATUS_TIMEOUT=1, connecting as role
family_status over TCP.

The services it watches are stood up in this process: the web service and
nginx are HTTP servers that answer 200, 503 or nothing at all; the SMTP
server is aiosmtpd, stopped and started; pg_cron's runs and the consistency
check's runs are rows written as superuser. A second instance watches
servers that misbehave on purpose (a PostgreSQL port that refuses or never
answers, SMTP servers that reject, stay silent or hang up).

Usage: status_test.py [test names...]
Prints one line per test and "status: N passed, M failed"; exits non-zero on
a failure. The suite installs what it needs (CREATE EXTENSION family and
pg_cron, sql/app.sql, sql/status.sql), reschedules the pg_cron job
'family consistency check' and drops and re-creates pg_cron: run it against a
throwaway cluster (as scripts/test.sh does).
"""
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import suite  # noqa: E402
from aiosmtpd.controller import Controller

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PGBIN = "/usr/lib/postgresql/15/bin"
PGHOST, PGPORT, PGUSER = os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGUSER"]
DSN = f"host={PGHOST} port={PGPORT} user={PGUSER} dbname=family"
STATUS_DSN = f"host=127.0.0.1 port={PGPORT} dbname=family user=family_status"
STATUS_BIN = os.path.join(TOP, os.environ.get("FAMILY_STATUS_BIN", "web/build/family-status"))
TMP = tempfile.mkdtemp(prefix="family-status-test-")
JOB = "family consistency check"
SERVICES = ["postgresql", "web", "nginx", "smtp", "cron", "check"]

INTERVAL, TIMEOUT = 1.0, 1.0
DEADLINE = TIMEOUT + 1  # a round waits this long for its checks
# A change shows at the latest one round later: the next round starts within
# an interval and ends within the deadline (plus polling slack).
WITHIN = INTERVAL + DEADLINE + 1.0
# What a browser sends.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def one(conn, sql, args=None):
    return q(conn, sql, args)[0][0]


def psql_file(path):
    subprocess.run([f"{PGBIN}/psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-d", DSN, "-f", path],
                   check=True, capture_output=True, text=True)


# ---- the watched services, as fakes --------------------------------------------

class FakeHTTP:
    """An HTTP server whose answer to every GET is set by `mode`: "ok" (200
    health+json), "fail" (503 with a body), "hang" (no answer until released)."""

    def __init__(self, name):
        fake = self
        self.name, self.mode, self.release = name, "ok", threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if fake.mode == "hang":
                    fake.release.wait(30)
                    return
                status = 200 if fake.mode == "ok" else 503
                body = json.dumps({"status": "pass" if status == 200 else "fail",
                                   "serviceId": fake.name}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/health+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, mode):
        self.mode = mode
        if mode == "hang":
            self.release.clear()
        else:
            self.release.set()


class Sink:
    """A real SMTP server (aiosmtpd); stop() and start() take it down and up."""

    def __init__(self):
        self.port = free_port()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class RawServer:
    """A TCP port whose behaviour is set by `mode`:
    "closed"    nothing listens (connections are refused)
    "silent"    accepts, reads, never says a word
    "full"      listens but never accepts, its backlog full (connects hang)
    "reject"    SMTP greeting 554
    "hangup"    accepts and closes at once
    "partial"   the first line of a multi-line greeting, then closes
    "multiline" a two-line 220 greeting
    "flood"     20,000 bytes without an end of line"""

    GREETINGS = {"reject": b"554 no service here\r\n", "partial": b"220-first line\r\n",
                 "multiline": b"220-fake.example ESMTP\r\n220 ready\r\n", "hangup": b"",
                 "flood": b"x" * 20000}

    def __init__(self):
        self.port = free_port()
        self.mode = "closed"
        self.listener = None
        self.held = []

    def set(self, mode):
        self._close()
        self.mode = mode
        if mode == "closed":
            return
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        if mode == "full":
            self.listener.listen(0)
            filler = socket.socket()
            filler.settimeout(2)  # a check's connection may have taken the place
            try:
                filler.connect(("127.0.0.1", self.port))  # fills the backlog of one
            except OSError:
                pass
            self.held.append(filler)
            return
        self.listener.listen(16)
        threading.Thread(target=self._serve, args=(self.listener, mode), daemon=True).start()

    def _serve(self, listener, mode):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            if mode == "silent":
                self.held.append(conn)  # kept open, never answered
                continue
            try:
                conn.sendall(self.GREETINGS[mode])
                if mode == "multiline":
                    conn.settimeout(2)
                    conn.recv(100)  # QUIT
            except OSError:
                pass
            conn.close()

    def _close(self):
        if self.listener:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of _serve
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        for s in self.held:
            s.close()
        self.held = []


# ---- the service ----------------------------------------------------------------

class Service:
    """family-status on a free port; its stderr goes to a log file."""

    def __init__(self, name, env):
        self.name = name
        self.log_path = os.path.join(TMP, f"{name}.log")
        environ = dict(os.environ, FAMILY_STATUS_PORT="0", FAMILY_STATUS_HOST="127.0.0.1",
                       FAMILY_STATUS_INTERVAL=str(INTERVAL), FAMILY_STATUS_TIMEOUT=str(TIMEOUT),
                       FAMILY_STATUS_STARTUP="0")  # test_startup_grace sets it
        environ.update(env)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([STATUS_BIN], env=environ, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        self.rc = None
        deadline = time.time() + 15
        while True:
            m = re.search(r"family-status: listening on http://([^/]+):(\d+)/", self.log())
            if m:
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"{name}: exited with {self.proc.returncode}:\n" + self.tail())
            if time.time() > deadline:
                self.proc.kill()
                raise AssertionError(f"{name}: no 'listening on' line in 15 s:\n" + self.tail())
            time.sleep(0.02)
        self.host, self.port = m.group(1), int(m.group(2))

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def tail(self, lines=30):
        return "".join(f"    | {line}\n" for line in self.log().splitlines()[-lines:])

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """A signal, then wait; asserts exit code 0 (coverage data is written at exit)."""
        if self.rc is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name}: still running {timeout} s after {sig.name}")
        assert self.rc == 0, f"{self.name}: exit code {self.rc}\n{self.tail()}"


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def ctype(self):
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)


def call(svc, method, path, headers=None, body=None):
    c = http.client.HTTPConnection(svc.host, svc.port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    finally:
        c.close()


def status(svc):
    r = call(svc, "GET", "/status/")
    assert r.status == 200 and r.ctype == "application/json", (r.status, r.ctype, r.body)
    return r.json()


def by_service(doc):
    return {s["service"]: s for s in doc["services"]}


def failing(doc):
    return [f["service"] for f in doc["failing"]]


def wait_status(svc, predicate, timeout=WITHIN, what="condition"):
    """Polls /status/ until predicate(doc) holds; returns (doc, seconds waited)."""
    start = time.time()
    doc = None
    while time.time() - start < timeout:
        doc = status(svc)
        if predicate(doc):
            return doc, time.time() - start
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last:\n"
                         + json.dumps(doc, indent=1))


def wait_page(svc, predicate, what, accept=BROWSER):
    """Polls the HTML page until predicate(response) holds."""
    start = time.time()
    while True:
        r = call(svc, "GET", "/status/", {"Accept": accept})
        if predicate(r) or time.time() - start > WITHIN:
            assert predicate(r), f"the page never showed {what}:\n{r.body}"
            return r
        time.sleep(0.05)


def wait_rounds(svc, n):
    """Waits until n more rounds have ended."""
    seen = status(svc)["checked_at"]
    for _ in range(n):
        doc, _ = wait_status(svc, lambda d, s=seen: d["checked_at"] != s, what="a round")
        seen = doc["checked_at"]
    return status(svc)


def fails_with(service, pattern):
    def check(doc):
        s = by_service(doc)[service]
        return s["status"] == "fail" and re.search(pattern, s["error"] or "")
    return check


def fails_only(service):
    """The service fails and nothing else does. Waited for without a time
    bound: on a loaded machine another check may miss its timeout once."""
    return lambda doc: failing(doc) == [service]


def passes(service):
    return lambda doc: by_service(doc)[service]["status"] == "pass"


def all_pass(doc):
    return not doc["failing"] and all(s["status"] == "pass" for s in doc["services"])


def fake_run(conn, status_, findings, error=None):
    """A finished consistency check run, written as superuser: its id."""
    return one(conn, """INSERT INTO family.check_run
                          (workers, workers_requested, persons_checked, findings, status, error,
                           finished_at, mail_status, coordinator_pid, coordinator_started_at)
                        VALUES (0, 0, 10, %s, %s, %s, clock_timestamp(), 'off', 0, now())
                        RETURNING id""", (findings, status_, error))


def job_id(conn):
    return one(conn, "SELECT jobid FROM cron.job WHERE jobname = %s", (JOB,))


def fake_cron_run(conn, status_, message):
    q(conn, """INSERT INTO cron.job_run_details
                 (jobid, job_pid, database, username, command, status, return_message,
                  start_time, end_time)
               VALUES (%s, 0, 'family', 'postgres', 'SELECT family.run_consistency_check()',
                       %s, %s, now(), now())""", (job_id(conn), status_, message))


def schedule(conn):
    # February 30th: a job that exists and never fires by itself.
    return one(conn, "SELECT family.schedule_consistency_check('0 0 30 2 *')")


class Ctx:
    conn = None
    svc = None
    web = nginx = sink = None
    services = []  # started by a test, killed after it


# ---- tests -----------------------------------------------------------------------

def test_role_privileges(ctx):
    # What family_status can do: its three queries, and no more.
    conn = psycopg2.connect(STATUS_DSN)
    conn.autocommit = True
    try:
        row = q(conn, "SELECT pg_cron, job_id, active FROM status.cron_last_run()")[0]
        assert row == (True, job_id(ctx.conn), True), row  # pg_cron's row security got past
        q(conn, "SELECT id, status, findings, persons_checked, error, finished_at"
                " FROM family.check_run ORDER BY id DESC LIMIT 1")
        for sql in ["SELECT report FROM family.check_run", "SELECT 1 FROM family.person",
                    "SELECT 1 FROM family.check_finding", "SELECT 1 FROM cron.job",
                    "SELECT 1 FROM app.account", "SELECT family.run_consistency_check()"]:
            try:
                q(conn, sql)
                raise AssertionError(f"family_status may: {sql}")
            except psycopg2.Error as e:
                assert e.pgcode == "42501", (sql, e.pgcode, e.pgerror)
    finally:
        conn.close()


def test_all_pass(ctx):
    doc, _ = wait_status(ctx.svc, all_pass, what="every service to pass")
    assert list(doc) == ["checked_at", "interval_seconds", "failing", "services"], list(doc)
    assert doc["failing"] == [] and doc["interval_seconds"] == 1, doc
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["checked_at"]), doc
    assert [s["service"] for s in doc["services"]] == SERVICES, doc
    for s in doc["services"]:
        assert set(s) == {"service", "status", "since", "error", "detail", "checked_at"}, s
        assert s["status"] == "pass" and s["error"] is None and s["since"] <= s["checked_at"], s
    s = by_service(doc)
    assert s["postgresql"]["detail"].startswith("PostgreSQL 15"), s
    assert s["web"]["detail"] == "HTTP 200", s
    assert s["smtp"]["detail"].startswith("220 "), s
    assert re.search(r"last run started .* succeeded", s["cron"]["detail"]), s
    assert re.match(r"run \d+ clean", s["check"]["detail"]), s
    r = call(ctx.svc, "GET", "/status/")
    assert r.headers.get("vary") == "Accept", r.headers


def test_public_view(ctx):
    # A request a proxy forwarded (X-Real-IP or X-Forwarded-For) is the
    # public's: no detail, errors as a plain word; the operator's has both.
    wait_status(ctx.svc, all_pass, what="every service to pass")
    for h in ("X-Real-IP", "X-Forwarded-For"):
        r = call(ctx.svc, "GET", "/status/", {h: "203.0.113.9"})
        doc = r.json()
        assert all(x["detail"] is None for x in doc["services"]), doc
        assert [x["service"] for x in doc["services"]] == SERVICES, doc
    ctx.sink.stop()
    try:
        wait_status(ctx.svc, fails_only("smtp"), what="smtp failing")
        doc = call(ctx.svc, "GET", "/status/", {"X-Real-IP": "203.0.113.9"}).json()
        assert doc["failing"][0]["error"] == "failing", doc
        page = call(ctx.svc, "GET", "/status/", {"X-Real-IP": "203.0.113.9",
                                                "Accept": BROWSER}).body
        assert "cannot connect" not in page and "smtp" in page, page
        assert "cannot connect" in status(ctx.svc)["failing"][0]["error"]
    finally:
        ctx.sink.start()
    wait_status(ctx.svc, all_pass, what="every service to pass again")


def test_healthz(ctx):
    r = call(ctx.svc, "GET", "/healthz")
    assert r.status == 200 and r.ctype == "application/health+json", (r.status, r.ctype)
    assert r.json() == {"status": "pass", "serviceId": "family-status"}, r.body


def test_smtp_down_and_back(ctx):
    wait_status(ctx.svc, all_pass, what="every service to pass")
    ctx.sink.stop()
    try:
        doc, took = wait_status(ctx.svc, fails_with("smtp", "refused"), what="smtp failing")
        assert took <= WITHIN, took
        doc, _ = wait_status(ctx.svc, fails_only("smtp"), what="only smtp failing")
        f = doc["failing"][0]
        assert set(f) == {"service", "since", "error"}, f
        assert re.search(r"cannot connect to 127\.0\.0\.1:\d+: Connection refused", f["error"]), f
        # Later rounds keep its since-when.
        later = wait_rounds(ctx.svc, 2)
        smtp = by_service(later)["smtp"]
        assert smtp["status"] == "fail" and smtp["since"] == f["since"], later
        assert later["checked_at"] > doc["checked_at"]
    finally:
        ctx.sink.start()
    doc, took = wait_status(ctx.svc, passes("smtp"), what="smtp to pass again")
    assert took <= WITHIN, took
    # Passing since the round after the restart, not since the first round.
    assert by_service(doc)["smtp"]["since"] > f["since"], doc
    wait_status(ctx.svc, all_pass, what="every service to pass")
    assert "smtp fails: cannot connect" in ctx.svc.log() and "smtp passes again" in ctx.svc.log()


def test_web_hang_times_out(ctx):
    wait_status(ctx.svc, all_pass, what="every service to pass")
    ctx.web.set("hang")
    try:
        doc, took = wait_status(ctx.svc, fails_with("web", r"timed out"), what="web to time out")
        assert took <= INTERVAL + DEADLINE + 1.5, took
        s = by_service(doc)
        assert re.search(r"GET http://127\.0\.0\.1:\d+/readyz: Operation timed out after 10\d\d "
                         r"milliseconds", s["web"]["error"]), s["web"]
        # The others ran beside it: they ended well before web gave up.
        for other in ["postgresql", "smtp", "cron", "check"]:
            if s[other]["status"] == "pass":
                assert s[other]["checked_at"] < s["web"]["checked_at"], (other, s)
        # Rounds keep coming, one at most every interval + timeout.
        stamps = [status(ctx.svc)["checked_at"]]
        t = time.time()
        while time.time() - t < 4:
            d = status(ctx.svc)
            if d["checked_at"] != stamps[-1]:
                stamps.append(d["checked_at"])
            time.sleep(0.05)
        assert len(stamps) >= 3, stamps
        # And a failure elsewhere shows as soon as ever.
        ctx.sink.stop()
        try:
            doc, took = wait_status(ctx.svc, lambda d: {"web", "smtp"} <= set(failing(d)),
                                    what="smtp failing beside web")
            assert took <= WITHIN, took
        finally:
            ctx.sink.start()
    finally:
        ctx.web.set("ok")
    wait_status(ctx.svc, all_pass, what="every service to pass again")


def test_web_and_nginx_errors(ctx):
    ctx.web.set("fail")
    try:
        doc, _ = wait_status(ctx.svc, fails_with("web", "answered 503"), what="web failing")
        err = by_service(doc)["web"]["error"]
        assert re.fullmatch(r'GET http://127\.0\.0\.1:\d+/readyz answered 503: '
                            r'\{"status": "fail", "serviceId": "web"\}', err), err
    finally:
        ctx.web.set("ok")
    ctx.nginx.set("fail")
    try:
        doc, _ = wait_status(ctx.svc, fails_only("nginx"), what="nginx failing")
        assert "/nginx/healthz answered 503" in doc["failing"][0]["error"], doc
    finally:
        ctx.nginx.set("ok")
    wait_status(ctx.svc, all_pass, what="every service to pass again")


def test_check_findings_then_a_real_clean_run(ctx):
    run = fake_run(ctx.conn, "findings", 3)
    doc, took = wait_status(ctx.svc, fails_with("check", f"run {run} "), what="check failing")
    assert took <= WITHIN, took
    err = by_service(doc)["check"]["error"]
    assert err.startswith(f"run {run} has findings (10 persons checked, 3 findings, finished "), err
    assert f"family.check_finding WHERE run_id = {run}" in err, err
    # The real thing: the check runs, finds nothing, and "check" passes.
    clean = one(ctx.conn, "SELECT family.run_consistency_check(1)")
    doc, _ = wait_status(ctx.svc, all_pass, what="check passing")
    assert by_service(doc)["check"]["detail"].startswith(f"run {clean} clean ("), doc


def test_check_failed_shown_in_html(ctx):
    run = fake_run(ctx.conn, "failed", 0, "worker 0: <script>alert('x')</script> & \"more\"")
    doc, _ = wait_status(ctx.svc, lambda d: fails_with("check", f"run {run} ")(d) and
                         fails_only("check")(d), what="check failing")
    err = doc["failing"][0]["error"]
    assert err.startswith(f"run {run} failed: worker 0: <script>alert('x')</script>"), err
    assert "10 persons checked, 0 findings" in err, err
    r = wait_page(ctx.svc, lambda r: "1 of 6 services failing" in r.body, "check alone failing")
    assert r.status == 200 and r.ctype == "text/html; charset=utf-8", (r.status, r.ctype)
    assert r.headers.get("vary") == "Accept", r.headers
    page = r.body
    assert page.startswith("<!DOCTYPE html>"), page[:100]
    assert "1 of 6 services failing" in page, page
    assert '<td class="service fail">check</td>' in page, page
    assert ("worker 0: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"
            in page), page
    assert "<script" not in page, page
    assert f'<time datetime="{doc["failing"][0]["since"]}">' in page, page
    for name in ["postgresql", "web", "nginx", "smtp", "cron"]:
        assert f'<td class="service pass">{name}</td>' in page, (name, page)
    assert not re.search(r'(src|href)="', page), "the page loads something"
    for accept in ["*/*", "application/json", "", "text/html;q=0.5, application/json"]:
        r = call(ctx.svc, "GET", "/status/", {"Accept": accept} if accept else {})
        assert r.ctype == "application/json", (accept, r.ctype)
    fake_run(ctx.conn, "clean", 0)
    r = wait_page(ctx.svc, lambda r: "All 6 services pass" in r.body, "every service passing",
                  accept="text/html")
    assert "<h2>Failing</h2>" not in r.body, r.body


def test_cron_failed_run(ctx):
    fake_cron_run(ctx.conn, "failed", "ERROR:  consistency check run 77 failed: worker 0: boom")
    doc, took = wait_status(ctx.svc, fails_with("cron", "last run"), what="cron failing")
    assert took <= WITHIN, took
    err = by_service(doc)["cron"]["error"]
    assert re.fullmatch(rf"the last run of job {job_id(ctx.conn)} \(started \S+Z\) failed: "
                        r"ERROR: consistency check run 77 failed: worker 0: boom", err), err
    # A run in progress changes nothing; a run that succeeds clears it.
    fake_cron_run(ctx.conn, "running", None)
    assert by_service(wait_rounds(ctx.svc, 1))["cron"]["error"] == err
    fake_cron_run(ctx.conn, "succeeded", "1 row")
    wait_status(ctx.svc, all_pass, what="cron passing")


def test_cron_job_missing_then_inactive(ctx):
    q(ctx.conn, "SELECT cron.unschedule(%s)", (JOB,))
    try:
        doc, _ = wait_status(ctx.svc, fails_with("cron", "no pg_cron job"), what="cron failing")
        assert by_service(doc)["cron"]["error"] == (
            "no pg_cron job 'family consistency check' in the database: "
            "SELECT family.schedule_consistency_check()"), doc
    finally:
        job = schedule(ctx.conn)
    # Scheduled, never run: passes (see the README).
    doc, _ = wait_status(ctx.svc, all_pass, what="cron passing")
    assert by_service(doc)["cron"]["detail"] == f"job {job} (0 0 30 2 *) has not run yet", doc
    q(ctx.conn, "UPDATE cron.job SET active = false WHERE jobid = %s", (job,))
    try:
        doc, _ = wait_status(ctx.svc, fails_with("cron", "inactive"), what="cron inactive")
        assert by_service(doc)["cron"]["error"] == (
            f"the pg_cron job 'family consistency check' (id {job}) is inactive"), doc
    finally:
        q(ctx.conn, "UPDATE cron.job SET active = true WHERE jobid = %s", (job,))
    wait_status(ctx.svc, all_pass, what="cron passing")
    fake_cron_run(ctx.conn, "succeeded", "1 row")


def test_cron_not_installed(ctx):
    q(ctx.conn, "DROP EXTENSION pg_cron")
    try:
        doc, _ = wait_status(ctx.svc, fails_with("cron", "not installed"), what="cron failing")
        assert by_service(doc)["cron"]["error"] == "pg_cron is not installed in the database", doc
    finally:
        q(ctx.conn, "CREATE EXTENSION pg_cron")
        schedule(ctx.conn)
        fake_cron_run(ctx.conn, "succeeded", "1 row")
    wait_status(ctx.svc, all_pass, what="cron passing")


def test_missing_grant_shows_the_database_error(ctx):
    q(ctx.conn, "REVOKE EXECUTE ON FUNCTION status.cron_last_run() FROM family_status")
    try:
        doc, _ = wait_status(ctx.svc, fails_with("cron", "permission"), what="cron failing")
        assert by_service(doc)["cron"]["error"] == (
            "permission denied for function cron_last_run (SQLSTATE 42501)"), doc
    finally:
        psql_file(os.path.join(TOP, "sql", "status.sql"))  # grants it again
    wait_status(ctx.svc, all_pass, what="cron passing")


def test_query_that_hangs_times_out(ctx):
    # family.check_run locked: the check's query waits, PostgreSQL answers
    # everything else.
    locker = psycopg2.connect(DSN)
    try:
        q(locker, "LOCK TABLE family.check_run IN ACCESS EXCLUSIVE MODE")
        doc, took = wait_status(ctx.svc, fails_with("check", "timed out"), what="check timing out")
        assert took <= INTERVAL + DEADLINE + 1.5, took
        assert by_service(doc)["check"]["error"] == (
            "timed out after 1 s waiting for PostgreSQL's answer"), doc
        # PostgreSQL itself answers.
        wait_status(ctx.svc, lambda d: fails_with("check", "timed out")(d) and
                    passes("postgresql")(d), what="postgresql passing beside check")
    finally:
        locker.close()
    wait_status(ctx.svc, all_pass, what="check passing")


def test_redirects(ctx):
    for path in ["/status", "/"]:
        r = call(ctx.svc, "GET", path)
        assert r.status == 301 and r.headers.get("location") == "/status/", (path, r.status)
    r = call(ctx.svc, "GET", "/status/?x=1")
    assert r.status == 200 and r.ctype == "application/json", r.status


def test_unknown_and_wrong_method(ctx):
    for path in ["/nope", "/status/x", "/healthz/", "/metrics"]:
        r = call(ctx.svc, "GET", path)
        assert r.status == 404 and r.ctype == "application/problem+json", (path, r.status, r.ctype)
        assert r.json()["status"] == 404 and r.json()["title"] == "Not Found", r.body
    for method, path in [("POST", "/status/"), ("DELETE", "/healthz"), ("PUT", "/status"),
                         ("PATCH", "/")]:
        r = call(ctx.svc, method, path, {"Content-Type": "application/json"}, "{}")
        assert r.status == 405 and r.ctype == "application/problem+json", (method, path, r.status)
        assert r.headers.get("allow") == "GET", r.headers


def test_servers_that_misbehave(ctx):
    """A second instance, watching a PostgreSQL port and an SMTP port that
    refuse, stay silent or answer wrongly, and a web service that is gone."""
    pg, smtp = RawServer(), RawServer()
    svc = Service("misbehaving", {
        "FAMILY_STATUS_DSN": f"host=127.0.0.1 port={pg.port} dbname=family user=family_status",
        "FAMILY_STATUS_WEB_URL": f"http://127.0.0.1:{free_port()}/readyz",
        "FAMILY_STATUS_NGINX_URL": f"http://127.0.0.1:{ctx.nginx.port}/nginx/healthz",
        "FAMILY_STATUS_SMTP": f"127.0.0.1:{smtp.port}"})
    ctx.services.append(svc)
    try:
        # Nothing listens.
        doc, _ = wait_status(svc, lambda d: set(failing(d)) == set(SERVICES) - {"nginx"},
                             what="everything but nginx failing")
        s = by_service(doc)
        for name in ["postgresql", "cron", "check"]:
            assert re.search(rf'cannot connect: connection to server at "127\.0\.0\.1", port '
                             rf'{pg.port} failed: Connection refused Is the server running',
                             s[name]["error"]), s[name]
        assert re.search(r"Failed to connect to 127\.0\.0\.1 port \d+", s["web"]["error"]), s["web"]
        assert s["smtp"]["error"] == f"cannot connect to 127.0.0.1:{smtp.port}: Connection refused"
        # Listening, but never a word.
        pg.set("silent")
        smtp.set("silent")
        doc, _ = wait_status(svc, fails_with("postgresql", "timed out"),
                             what="PostgreSQL timing out")
        assert by_service(doc)["postgresql"]["error"] == (
            "timed out after 1 s connecting to PostgreSQL"), doc
        doc, _ = wait_status(svc, fails_with("smtp", "timed out"), what="SMTP timing out")
        assert by_service(doc)["smtp"]["error"] == (
            f"timed out after 1 s waiting for the greeting of 127.0.0.1:{smtp.port}"), doc
        # Connections that never complete.
        smtp.set("full")
        connect_timeout = r"^timed out after 1 s connecting to 127\.0\.0\.1:\d+$"
        wait_status(svc, fails_with("smtp", connect_timeout), what="SMTP connect timing out")
        # Answers that are not SMTP greetings.
        expected = {
            "reject": "unexpected greeting: 554 no service here",
            "hangup": f"127.0.0.1:{smtp.port} closed the connection before its greeting",
            "partial": f"127.0.0.1:{smtp.port} closed the connection before its greeting: "
                       "220-first line",
            "flood": f"127.0.0.1:{smtp.port} sent 16 KiB and no greeting: " + "x" * 60 + "...",
        }
        for mode, error in expected.items():
            smtp.set(mode)
            wait_status(svc, lambda d, e=error: by_service(d)["smtp"]["error"] == e,
                        what=f"smtp error {error!r}")
        smtp.set("multiline")
        doc, _ = wait_status(svc, passes("smtp"), what="a multi-line greeting to pass")
        assert by_service(doc)["smtp"]["detail"] == "220-fake.example ESMTP 220 ready", doc
        svc.stop(signal.SIGINT)
        assert "Interrupt, shutting down" in svc.log(), svc.tail()
    finally:
        pg.set("closed")
        smtp.set("closed")


def test_startup_grace(ctx):
    # The stack is coming up: web answers 503 when the status service starts.
    # It is "starting", not failing, and the page shows it up within about a
    # second of coming up, though the interval is 30 s.
    env = {"FAMILY_STATUS_DSN": STATUS_DSN, "FAMILY_STATUS_STARTUP": "60",
           "FAMILY_STATUS_INTERVAL": "30",
           "FAMILY_STATUS_WEB_URL": f"http://127.0.0.1:{ctx.web.port}/readyz",
           "FAMILY_STATUS_NGINX_URL": f"http://127.0.0.1:{ctx.nginx.port}/nginx/healthz",
           "FAMILY_STATUS_SMTP": f"127.0.0.1:{ctx.sink.port}"}
    ctx.web.set("fail")
    try:
        svc = Service("startup", env)
        ctx.services.append(svc)
        doc = status(svc)
        assert doc["failing"] == [], doc
        web = by_service(doc)["web"]
        assert web["status"] == "starting" and web["error"] is None, web
        assert web["detail"].startswith("not up yet: GET "), web
        page = call(svc, "GET", "/status/", {"Accept": BROWSER}).body
        assert "1 of 6 services starting" in page and "<h2>Failing</h2>" not in page, page
        ctx.web.set("ok")
        _, waited = wait_status(svc, passes("web"), timeout=5, what="web to pass")
        assert waited < 3, waited
        assert "web fails" not in svc.log(), svc.tail()
        svc.stop()
        # Still not up when the grace ends: failing from then on.
        ctx.web.set("fail")
        svc = Service("startup-over", dict(env, FAMILY_STATUS_STARTUP="1",
                                           FAMILY_STATUS_INTERVAL="0.5"))
        ctx.services.append(svc)
        assert status(svc)["failing"] == [], status(svc)
        wait_status(svc, fails_only("web"), timeout=5, what="web failing after the grace")
        svc.stop()
    finally:
        ctx.web.set("ok")


def test_smtp_addresses_that_cannot_work(ctx):
    # A name that does not resolve; an address TCP cannot connect to at all.
    for i, (address, error) in enumerate([
            ("no-such-host.invalid:25", r"cannot resolve no-such-host\.invalid: "),
            ("255.255.255.255:25",
             r"cannot connect to 255\.255\.255\.255:25: Network is unreachable$")]):
        svc = Service(f"smtp-address-{i}", {"FAMILY_STATUS_DSN": STATUS_DSN,
                                       "FAMILY_STATUS_SMTP": address})
        ctx.services.append(svc)
        doc = status(svc)
        assert re.match(error, by_service(doc)["smtp"]["error"]), doc
        svc.stop()


def test_bad_settings(ctx):
    cases = [("FAMILY_STATUS_PORT", "http", "FAMILY_STATUS_PORT must be a port number"),
             ("FAMILY_STATUS_INTERVAL", "0", "FAMILY_STATUS_INTERVAL must be a number of seconds"),
             ("FAMILY_STATUS_TIMEOUT", "1s", "FAMILY_STATUS_TIMEOUT must be a number of seconds"),
             ("FAMILY_STATUS_DSN", "host", "FAMILY_STATUS_DSN is not a libpq connection string"),
             ("FAMILY_STATUS_WEB_URL", "localhost:8080", "FAMILY_STATUS_WEB_URL must be an http"),
             ("FAMILY_STATUS_NGINX_URL", "file:///etc/passwd", "FAMILY_STATUS_NGINX_URL must be"),
             ("FAMILY_STATUS_SMTP", "localhost", "FAMILY_STATUS_SMTP must be HOST:PORT"),
             ("FAMILY_STATUS_HOST", "::1", "FAMILY_STATUS_HOST must be a host name, an IPv4 "
                                           "address or an IPv6 address in brackets")]
    for name, value, message in cases:
        p = subprocess.run([STATUS_BIN], env=dict(os.environ, **{name: value}),
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (name, value, p.returncode, p.stderr)
        assert p.stderr.startswith(f"family-status: {message}"), (name, p.stderr)
    p = subprocess.run([STATUS_BIN, "extra"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and p.stderr.startswith("usage: family-status"), p.stderr


def test_cannot_listen(ctx):
    env = dict(os.environ, FAMILY_STATUS_DSN=STATUS_DSN, FAMILY_STATUS_INTERVAL="1",
               FAMILY_STATUS_TIMEOUT="1", FAMILY_STATUS_WEB_URL=f"http://127.0.0.1:{ctx.web.port}/",
               FAMILY_STATUS_NGINX_URL=f"http://127.0.0.1:{ctx.nginx.port}/",
               FAMILY_STATUS_SMTP=f"127.0.0.1:{ctx.sink.port}")
    for host, port in [("127.0.0.1", str(ctx.svc.port)), ("no-such-host.invalid", "0")]:
        p = subprocess.run([STATUS_BIN], env=dict(env, FAMILY_STATUS_HOST=host,
                                                  FAMILY_STATUS_PORT=port),
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 1, (host, port, p.returncode, p.stderr)
        assert f"family-status: cannot listen on {host}:{port}: " in p.stderr, p.stderr


TESTS = [test_role_privileges, test_all_pass, test_public_view, test_healthz, test_smtp_down_and_back,
         test_web_hang_times_out, test_web_and_nginx_errors, test_startup_grace,
         test_check_findings_then_a_real_clean_run, test_check_failed_shown_in_html,
         test_cron_failed_run, test_cron_job_missing_then_inactive, test_cron_not_installed,
         test_missing_grant_shows_the_database_error, test_query_that_hangs_times_out,
         test_redirects, test_unknown_and_wrong_method,
         test_servers_that_misbehave, test_smtp_addresses_that_cannot_work, test_bad_settings,
         test_cannot_listen]


def setup(ctx):
    conn = psycopg2.connect(DSN)
    conn.autocommit = True
    ctx.conn = conn
    q(conn, "SET client_min_messages = warning")
    q(conn, "CREATE EXTENSION IF NOT EXISTS family")
    q(conn, "CREATE EXTENSION IF NOT EXISTS pg_cron")
    psql_file(os.path.join(TOP, "sql", "app.sql"))
    psql_file(os.path.join(TOP, "sql", "status.sql"))
    psql_file(os.path.join(TOP, "sql", "status.sql"))  # idempotent
    schedule(conn)
    fake_cron_run(conn, "succeeded", "1 row")
    fake_run(conn, "clean", 0)
    ctx.web, ctx.nginx, ctx.sink = FakeHTTP("web"), FakeHTTP("nginx"), Sink()
    ctx.sink.start()
    ctx.svc = Service("status", {
        "FAMILY_STATUS_DSN": STATUS_DSN,
        "FAMILY_STATUS_WEB_URL": f"http://127.0.0.1:{ctx.web.port}/readyz",
        "FAMILY_STATUS_NGINX_URL": f"http://127.0.0.1:{ctx.nginx.port}/nginx/healthz",
        "FAMILY_STATUS_SMTP": f"127.0.0.1:{ctx.sink.port}"})


def stopped_on_sigterm(ctx):
    assert "Terminated, shutting down" in ctx.svc.log(), ctx.svc.tail()


def cleanup(ctx, failed):
    ctx.sink.stop()
    ctx.conn.close()


def main():
    suite.run("status", TESTS, Ctx(), setup, __file__, stopped_name="sigterm",
              after_stop=stopped_on_sigterm, cleanup=cleanup)


if __name__ == "__main__":
    main()
