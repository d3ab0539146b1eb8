#!/usr/bin/python3
"""The whole local stack end to end (SPEC section 8), as `make start` runs it:
PostgreSQL, the SMTP sink, family-web, family-status and nginx, under a
directory of its own with free ports. Requests through nginx reach the API;
stopping one service makes /status/ list exactly that service within one
polling period, and starting it again clears it; the HTML status page renders
in headless Chromium and the screenshot shows the failing service's name.

Usage: stack_test.py [test names...]
Prints one line per test and "stack: N passed, M failed".
"""
import gzip
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RUN_DIR = os.path.join(TOP, ".run", "test", "stack")
INTERVAL = 2  # the status service's polling period here, in seconds
TIMEOUT = 2   # its checks' timeout


def free_port():
    return int(subprocess.run([os.path.join(TOP, "scripts", "free-port.sh")],
                              capture_output=True, text=True, check=True).stdout)


PORTS = {name: free_port() for name in ("PG", "SMTP", "WEB", "STATUS", "NGINX")}
ENV = dict(os.environ, FAMILY_RUN_DIR=RUN_DIR, FAMILY_STATUS_INTERVAL=str(INTERVAL),
           FAMILY_STATUS_TIMEOUT=str(TIMEOUT), FAMILY_PG_FAST="1",
           **{f"FAMILY_{k}_PORT": str(v) for k, v in PORTS.items()})
NGINX = f"http://127.0.0.1:{PORTS['NGINX']}"


def stack(*args):
    r = subprocess.run([os.path.join(TOP, "scripts", "stack.sh"), *args], env=ENV,
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise AssertionError(f"stack.sh {' '.join(args)}: {r.stdout}{r.stderr}")


def fetch(url, method="GET", body=None, headers=None):
    """(status, headers, body bytes), errors included."""
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def login():
    with open(os.path.join(RUN_DIR, "admin-password")) as f:
        password = f.read().strip()
    status, _, body = fetch(f"{NGINX}/api/auth/token", "POST",
                           json.dumps({"email": "admin@localhost.localdomain",
                                       "password": password}).encode())
    assert status == 200, (status, body)
    return json.loads(body)["token"]


def failing(deadline_seconds, expected):
    """Polls /status/ through nginx until its failing services are
    `expected`; returns the report. Fails after deadline_seconds."""
    deadline = time.time() + deadline_seconds
    report = None
    while time.time() < deadline:
        status, headers, body = fetch(f"{NGINX}/status/", headers={"Accept": "application/json"})
        if status == 200:
            report = json.loads(body)
            if sorted(f["service"] for f in report["failing"]) == sorted(expected):
                return report
        time.sleep(0.2)
    raise AssertionError(f"failing is not {expected} after {deadline_seconds} s: {report}")


# One polling period, plus a check's timeout, plus slack for a busy machine.
PERIOD = INTERVAL + TIMEOUT + 3


def test_requests_through_nginx():
    token = login()
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, body = fetch(f"{NGINX}/api/me", headers=auth)
    assert status == 200, (status, body)
    assert json.loads(body)["account"]["is_staff"] is True
    for h, v in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                 ("Referrer-Policy", "no-referrer")):
        assert headers.get(h) == v, (h, headers.get(h))
    assert "nginx/" not in (headers.get("Server") or ""), headers.get("Server")
    # Errors pass through as the service wrote them, with the headers too.
    status, headers, body = fetch(f"{NGINX}/api/persons/999999999", headers=auth)
    assert status == 404 and headers.get("Content-Type") == "application/problem+json", status
    assert headers.get("X-Frame-Options") == "DENY"
    # gzip for a big JSON body.
    status, headers, body = fetch(f"{NGINX}/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip", headers
    assert "paths" in json.loads(gzip.decompress(body))
    # A body over 64 KiB stops at nginx.
    status, _, _ = fetch(f"{NGINX}/api/persons", "POST", b"{" + b" " * 70000 + b"}", auth)
    assert status == 413, status
    # Metrics are for loopback scrapers, not through the proxy.
    status, _, _ = fetch(f"{NGINX}/metrics")
    assert status == 404, status
    # The service sees the client's address (X-Real-IP), not nginx's: a
    # client on 127.0.0.2 shows in its access log as such.
    c = http.client.HTTPConnection("127.0.0.1", PORTS["NGINX"], timeout=10,
                                   source_address=("127.0.0.2", 0))
    c.request("GET", "/api/me?from=127.0.0.2", headers=auth)
    assert c.getresponse().status == 200
    c.close()
    with open(os.path.join(RUN_DIR, "web.log")) as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    remotes = [line["remote"] for line in lines if line["path"] == "/api/me"]
    assert "127.0.0.2" in remotes, remotes


def test_health_everywhere():
    for url in (f"http://127.0.0.1:{PORTS['WEB']}/healthz",
                f"http://127.0.0.1:{PORTS['STATUS']}/healthz",
                f"{NGINX}/nginx/healthz"):
        status, headers, body = fetch(url)
        assert status == 200, (url, status)
        assert headers.get("Content-Type", "").startswith("application/health+json"), (url, headers)
        assert json.loads(body)["status"] == "pass", (url, body)


def test_all_pass():
    failing(PERIOD, [])


def screenshot_text():
    """The status page as headless Chromium renders it, read back by OCR."""
    with tempfile.TemporaryDirectory() as d:
        png = os.path.join(d, "status.png")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={d}/profile",
                        "--window-size=1200,900", f"--screenshot={png}", f"{NGINX}/status/"],
                       capture_output=True, timeout=60, check=True)
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG"
        keep = os.environ.get("FAMILY_STACK_SCREENSHOT")
        if keep:
            subprocess.run(["cp", png, keep], check=True)
        return subprocess.run(["tesseract", png, "-"], capture_output=True, text=True,
                              timeout=60, check=True).stdout


def test_web_down_listed_then_cleared():
    stack("stop", "web")
    try:
        report = failing(PERIOD, ["web"])
        entry = report["failing"][0]
        assert entry["since"] and entry["error"], entry
        # Through nginx the API is now a 502.
        status, _, _ = fetch(f"{NGINX}/api/me")
        assert status == 502, status
        # The rendered page, read back: web under "Failing", nothing else there.
        text = screenshot_text()
        assert "1 of 6 services failing" in text, text
        failing_part = text[text.index("Failing"):text.index("Passing")]
        rows = [line.split()[0] for line in failing_part.splitlines()[1:]
                if line.strip() and not line.startswith(("service", "after"))]
        assert rows[:1] == ["web"] and "smtp" not in failing_part, (rows, text)
    finally:
        stack("start", "web")
    failing(PERIOD, [])


def test_smtp_down_listed_then_cleared():
    stack("stop", "smtp")
    try:
        failing(PERIOD, ["smtp"])
    finally:
        stack("start", "smtp")
    failing(PERIOD, [])


TESTS = [test_requests_through_nginx, test_health_everywhere, test_all_pass,
         test_web_down_listed_then_cleared, test_smtp_down_listed_then_cleared]


def main():
    names = sys.argv[1:]
    passed = failed = 0
    subprocess.run(["rm", "-rf", RUN_DIR])
    try:
        stack("start")
    except Exception:
        print(f"FAIL start\n{traceback.format_exc()}")
        stack("stop")
        print("stack: 0 passed, 1 failed")
        sys.exit(1)
    try:
        for test in TESTS:
            if names and test.__name__ not in names:
                continue
            t = time.perf_counter()
            try:
                test()
                passed += 1
                print(f"ok   {test.__name__} ({time.perf_counter() - t:.1f} s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
    finally:
        stack("stop")
    print(f"stack: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
