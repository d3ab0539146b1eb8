#!/usr/bin/python3
"""The whole local stack end to end (SPEC section 8), as `make start` runs it:
PostgreSQL, the SMTP sink, family-web, family-status and nginx, under a
directory of its own with free ports. Requests through nginx reach the API;
stopping one service makes /status/ list exactly that service within one
polling period, and starting it again clears it; the HTML status page renders
in headless Chromium and the screenshot shows the failing service's name;
the family tree page works in headless Chromium (through nginx).

Usage: stack_test.py [test names...]
Prints one line per test and "stack: N passed, M failed".
"""
import gzip
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "readme"))
import readme  # noqa: E402 - the README's examples (tests/readme)

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


def stack(*args, env=None):
    r = subprocess.run([os.path.join(TOP, "scripts", "stack.sh"), *args], env=env or ENV,
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise AssertionError(f"stack.sh {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout


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
    # A GEDCOM file of 2 MiB goes through (POST /api/imports takes up to
    # FAMILY_WEB_IMPORT_MB, 64 MiB); one over that stops at nginx.
    ged = "0 HEAD\n1 GEDC\n2 VERS 7.0\n" + "".join(
        f"0 @I{i}@ INDI\n1 NAME Through /Nginx/\n1 BIRT\n2 PLAC {'x' * 40}\n" for i in range(25000)) \
        + "0 TRLR\n"
    assert len(ged) > 2 << 20, len(ged)
    typed = dict(auth, **{"Content-Type": "text/vnd.familysearch.gedcom"})
    status, _, body = fetch(f"{NGINX}/api/imports", "POST", ged.encode(), typed)
    assert status == 201 and json.loads(body)["persons"] == 25000, (status, body[:300])
    # (Announced, not sent: nginx answers on the Content-Length alone.)
    with socket.create_connection(("127.0.0.1", PORTS["NGINX"]), timeout=10) as sock:
        sock.sendall((f"POST /api/imports HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}"
                      f"\r\nContent-Type: text/plain\r\nContent-Length: {65 << 20}\r\n\r\n").encode())
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 413"), answer
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


def api(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, _, data = fetch(f"{NGINX}{path}", method,
                            json.dumps(body).encode() if body is not None else None, headers)
    assert 200 <= status < 300, (method, path, status, data)
    return json.loads(data) if data else None


def png_size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", png[16:24])


def test_tree_page():
    """The family tree page (SPEC 7b) in headless Chromium, through nginx and
    its CSP: log in, land on one's own person, the SVG holds the person,
    parents, grandparents, partner and child; a click and the keyboard
    recentre; a search finds a person with the accents left out; at 1280 and
    390 px wide the screenshot shows the person's name (read back by OCR) and
    the page does not overflow; no request leaves the origin; no console error."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    staff = login()
    ids = {}

    def person(key, first, last, **extra):
        ids[key] = api("POST", "/api/persons", dict(first_name=first, last_name=last, **extra),
                       staff)["id"]

    person("g1", "Walter", "Weston", sex="M", birth_date="1890", death_date="1961")
    person("g2", "Agnes", "Brontë", sex="F", birth_date="ABT 1892", death_date="BEF 1970")
    person("p1", "Henry", "Weston", sex="M", birth_date="3 MAY 1921")
    person("p2", "Mary", "Hale", sex="F")
    person("me", "Clara", "Weston", sex="F", birth_date="12 MAR 1950", birth_place="Leeds",
           account={"email": "clara@example.org", "password": "clara-secret"})
    person("s", "Oscar", "Lind", sex="M")
    person("k", "Ida", "Lind", sex="F", birth_date="2 JUN 1980")
    person("u", "Paul", "Weston", sex="M")
    person("c", "Rose", "Weston", sex="F")
    for a, b, child in (("g1", "g2", "p1"), ("p1", "p2", "me"), ("s", "me", "k"),
                        ("g1", "g2", "u")):
        if child != "u":  # Henry's brother Paul: his parents are a couple already
            api("POST", "/api/relationships", {"person_a": ids[a], "person_b": ids[b]}, staff)
        api("PATCH", f"/api/persons/{ids[child]}",
            {"father_id": ids[a], "father_rank": 4, "mother_id": ids[b], "mother_rank": 5}, staff)
    # Rose, daughter of Paul (Henry's brother) alone: Clara's first cousin.
    api("PATCH", f"/api/persons/{ids['c']}", {"father_id": ids["u"], "father_rank": 3}, staff)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=1280,900", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    from selenium.webdriver.chrome.service import Service as ChromeService
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"),
                              options=options)
    wait = WebDriverWait(driver, 15)

    def node(pid):
        return driver.find_elements(By.CSS_SELECTOR, f'#chart g[data-person-id="{pid}"]')

    def centred_on(pid):
        # One script: the chart may be drawn again between two calls.
        wait.until(lambda d: d.execute_script(
            f"return !!document.querySelector('#chart g.focus[data-person-id=\"{pid}\"]')"))

    def check_screenshot(width, name):
        driver.set_window_size(width, 900)
        wait.until(lambda d: d.execute_script("return window.innerWidth") == width)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page overflows by {overflow} px at {width} px"
        png = driver.get_screenshot_as_png()
        w, _ = png_size(png)
        assert w == width, (w, width)
        keep = os.environ.get("FAMILY_TREE_SCREENSHOTS")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(keep or d, f"tree-{width}.png")
            with open(path, "wb") as f:
                f.write(png)
            text = subprocess.run(["tesseract", path, "-"], capture_output=True, text=True,
                                  timeout=60, check=True).stdout
        assert name in text, f"{name!r} not read in the {width} px screenshot: {text!r}"

    try:
        driver.get(f"{NGINX}/")
        wait.until(lambda d: d.find_element(By.ID, "email").is_displayed())
        driver.find_element(By.ID, "email").send_keys("clara@example.org")
        driver.find_element(By.ID, "password").send_keys("clara-secret", Keys.ENTER)
        # Logged in: one's own person, drawn with their family.
        centred_on(ids["me"])
        assert driver.execute_script("return sessionStorage.getItem('family-token')")
        for key in ("me", "p1", "p2", "g1", "g2", "s", "k"):
            assert node(ids[key]), f"{key} (person {ids[key]}) is not drawn"
        assert driver.find_element(By.CSS_SELECTOR, "#card h2").text == "Clara Weston"

        def related():  # the card's "Related to you" line (family.kinship)
            return driver.find_element(
                By.XPATH, "//div[@id='card']//dt[.='Related to you']/following-sibling::dd[1]").text
        assert related() == "you", related()
        check_screenshot(1280, "Clara Weston")
        check_screenshot(390, "Clara Weston")
        driver.set_window_size(1280, 900)
        # A click on the father recentres the chart on him.
        driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))",
                              node(ids["p1"])[0])
        centred_on(ids["p1"])
        assert driver.current_url.endswith(f"#/person/{ids['p1']}")
        wait.until(lambda d: related() == "your father")
        assert node(ids["g1"]) and node(ids["me"]), "parents and child of Henry"
        # The keyboard: Enter on a person moves there too.
        driver.execute_script("arguments[0].focus()", node(ids["g2"])[0])
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        centred_on(ids["g2"])
        # A search with the accent left out finds Agnes Brontë.
        box = driver.find_element(By.ID, "q")
        box.send_keys("agnes bronte", Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results a"))
        link = driver.find_element(By.CSS_SELECTOR, "#results a")
        assert link.text.startswith("Agnes Brontë"), link.text
        driver.switch_to.active_element.send_keys(Keys.ENTER)  # the first result has focus
        centred_on(ids["g2"])
        wait.until(lambda d: related() == "your grandmother")
        # A cousin: through both grandparents.
        driver.get(f"{NGINX}/#/person/{ids['c']}")
        centred_on(ids["c"])
        wait.until(lambda d: related() == "your first cousin, through Walter Weston and Agnes Brontë")
        # Nothing but the origin; no console error.
        origin = NGINX + "/"
        urls = set()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                urls.add(msg["params"]["request"]["url"])
        foreign = [u for u in urls if not (u.startswith(origin) or u.startswith("data:"))]
        assert urls and not foreign, f"requests off the origin: {foreign}"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        # Log out: the token is gone, the form is back.
        driver.find_element(By.ID, "logout").click()
        wait.until(lambda d: d.find_element(By.ID, "email").is_displayed())
        assert driver.execute_script("return sessionStorage.getItem('family-token')") is None
    finally:
        driver.quit()


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


def test_readme_examples():
    # First, on the database as make run leaves it: the README's SQL, then
    # its curl walkthrough against the service, as written.
    psql = ["/usr/lib/postgresql/15/bin/psql", "-h", os.path.join(RUN_DIR, "pg"),
            "-p", str(PORTS["PG"]), "-U", "postgres", "-X", "family"]
    expected, actual = readme.run_sql(psql)
    assert expected, "no output shown in Getting started"
    assert actual == expected, "\n".join(
        ["psql printed:"] + actual + ["", "the README shows:"] + expected)
    rc, out, err = readme.run_rest({"http://127.0.0.1:8080": f"http://127.0.0.1:{PORTS['WEB']}",
                                    ".run/admin-password": os.path.join(RUN_DIR, "admin-password")},
                                   dict(os.environ))
    assert rc == 0, f"the walkthrough failed ({rc}):\n{out[-3000:]}\n{err[-2000:]}"


def test_slow_bodies_from_one_address():
    # 2,100 connections from 127.0.0.2 that announce a 60,000-byte body and
    # send a byte of it every 2 s (each read within client_body_timeout):
    # nginx keeps at most 64 of them, and another client's requests go on.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    head = (b"POST /api/persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60000\r\n\r\n{")
    attackers, stop = [], threading.Event()
    for _ in range(2100):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", PORTS["NGINX"]))
            s.sendall(head)
            attackers.append(s)
        except OSError:
            s.close()

    def trickle():
        while not stop.wait(2):
            for s in attackers:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    ok = failed = 0
    try:
        time.sleep(1)
        for _ in range(100):
            try:
                status, _, _ = fetch(f"{NGINX}/healthz")
                ok += status == 200
                failed += status != 200
            except OSError:
                failed += 1
            time.sleep(0.1)
        # How many of the attacker's connections nginx still holds open.
        open_ = sum(1 for s in attackers if _still_open(s))
    finally:
        stop.set()
        t.join()
        for s in attackers:
            s.close()
    assert ok >= 99, f"{ok} of 100 requests of another client succeeded ({failed} failed)"
    assert open_ <= 64, f"nginx keeps {open_} of the attacker's connections open"


def _still_open(s):
    """Whether nginx still holds this connection open (no answer, no close)."""
    try:
        s.setblocking(False)
        s.recv(1, socket.MSG_PEEK)
        return False  # an answer (429) or the close
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_status_details_for_operators_only():
    # Through nginx (anyone): which services pass, no versions, banners or
    # counts. On this host, straight to the service: the details.
    failing(PERIOD, [])
    status, _, body = fetch(f"{NGINX}/status/", headers={"Accept": "application/json"})
    public = json.loads(body)
    assert all(s["detail"] is None for s in public["services"]), public
    status, _, page = fetch(f"{NGINX}/status/", headers={"Accept": "text/html"})
    for secret in (b"PostgreSQL 15", b"220 ", b"persons checked", b"ESMTP"):
        assert secret not in body and secret not in page, secret
    status, _, body = fetch(f"http://127.0.0.1:{PORTS['STATUS']}/status/",
                            headers={"Accept": "application/json"})
    mine = {s["service"]: s for s in json.loads(body)["services"]}
    assert mine["postgresql"]["detail"].startswith("PostgreSQL 15"), mine
    assert mine["smtp"]["detail"].startswith("220 "), mine


def test_second_start_says_up():
    out = stack("start")
    assert out.startswith("family is already up."), out


def test_no_false_alarm_after_start():
    # status and nginx start again; from the first answer on, nothing fails.
    stack("stop", "nginx")
    stack("stop", "status")
    out = stack("start")
    assert out.startswith("family is up."), out
    reports = []
    deadline = time.time() + INTERVAL + 2
    while time.time() < deadline:
        status, _, body = fetch(f"{NGINX}/status/", headers={"Accept": "application/json"})
        assert status == 200, status
        report = json.loads(body)
        reports.append(report)
        assert report["failing"] == [], report
        time.sleep(0.1)
    assert all(s["status"] == "pass" for s in reports[-1]["services"]), reports[-1]


def other_env(name):
    """A second stack's settings: its own directory and free ports."""
    ports = {k: free_port() for k in PORTS}
    return dict(ENV, FAMILY_RUN_DIR=os.path.join(TOP, ".run", "test", name),
                **{f"FAMILY_{k}_PORT": str(v) for k, v in ports.items()}), ports


def leftovers(run_dir):
    """Processes whose command line names run_dir."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if run_dir in line and "ps -eo" not in line]


def test_failed_start_leaves_nothing():
    env, ports = other_env("failed-start")
    run_dir = env["FAMILY_RUN_DIR"]
    # A taken port: refused before anything starts, naming the variable.
    with socket.create_server(("127.0.0.1", ports["NGINX"])):
        r = subprocess.run([os.path.join(TOP, "scripts", "stack.sh"), "start"], env=env,
                           capture_output=True, text=True, timeout=180)
    assert r.returncode != 0, r.stdout
    assert f"port {ports['NGINX']} is taken: set FAMILY_NGINX_PORT" in r.stderr, r.stderr
    assert not leftovers(run_dir), leftovers(run_dir)
    # A service that fails after others started (family-web exits at once,
    # though it creates the staff account): they are stopped again.
    web = os.path.join(TOP, "web", "build", "family-web")
    wrapper = os.path.join(TOP, ".run", "test", "exiting-web")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\n[ "$1" = create-staff ] && exec {web} "$@"\nexit 1\n')
    os.chmod(wrapper, 0o755)
    bad = dict(env, FAMILY_WEB_BIN=wrapper)
    r = subprocess.run([os.path.join(TOP, "scripts", "stack.sh"), "start"], env=bad,
                       capture_output=True, text=True, timeout=180)
    try:
        assert r.returncode != 0, r.stdout
        assert "stopping what it started (smtp postgresql web)" in r.stderr, r.stderr
        assert not leftovers(run_dir), leftovers(run_dir)
    finally:
        stack("stop", env=env)
        subprocess.run(["rm", "-rf", run_dir])


def test_run_stops_everything_on_ctrl_c():
    env, ports = other_env("run")
    run_dir = env["FAMILY_RUN_DIR"]
    # As a terminal does on Ctrl-C: SIGINT to the whole foreground group.
    # (SIGINT as a terminal leaves it, even if this runner ignores it.)
    proc = subprocess.Popen([os.path.join(TOP, "scripts", "stack.sh"), "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        out = ""
        for line in proc.stdout:
            out += line
            if "Press Ctrl-C" in line:
                break
        assert "Press Ctrl-C" in out, out
        os.killpg(proc.pid, signal.SIGINT)
        out += proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, (proc.returncode, out)
        assert "family is stopped." in out, out
        time.sleep(0.5)
        ps = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(proc.pid)],
                            capture_output=True, text=True).stdout
        assert not ps.strip(), f"left behind:\n{ps}"
        assert not leftovers(run_dir), leftovers(run_dir)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        stack("stop", env=env)
        subprocess.run(["rm", "-rf", run_dir])


def test_make_psql_takes_arguments():
    env = {k: v for k, v in ENV.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    r = subprocess.run(["make", "-s", "psql", "ARGS=-Atc 'SELECT 40 + 2'"], cwd=TOP, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "42", (r.returncode, r.stdout, r.stderr)


def test_make_install_only_what_changed():
    # Into a directory of its own (DESTDIR), so that the installed extension
    # (a coverage build, under make coverage) stays as it is: the first
    # install says where it went, the next has nothing to do and says
    # nothing (no compiler lines, no sudo); a changed file installs again.
    # As from a shell: not a sub-make of make test (which prints directories).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    with tempfile.TemporaryDirectory() as d:
        make = ["make", "install", f"DESTDIR={d}"]
        r = subprocess.run(make, cwd=TOP, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("installed the extension into "), (r.stdout, r.stderr)
        r = subprocess.run(make, cwd=TOP, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "" and r.stderr.strip() == "", (r.stdout, r.stderr)
        control = subprocess.run(["find", d, "-name", "family.control"], capture_output=True,
                                 text=True).stdout.split()
        assert len(control) == 1, control
        with open(control[0], "a") as f:
            f.write("# changed\n")
        r = subprocess.run(make, cwd=TOP, env=env, capture_output=True, text=True, timeout=600)
        assert r.stdout.startswith("installed the extension into "), (r.stdout, r.stderr)


def test_check_mail_named_after_its_run():
    r = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-h", os.path.join(RUN_DIR, "pg"),
                        "-p", str(PORTS["PG"]), "-U", "postgres", "-XAtc",
                        "SELECT family.run_consistency_check()", "family"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    run = int(r.stdout)
    path = os.path.join(RUN_DIR, "mail", f"check-run-{run}.eml")
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(path), os.listdir(os.path.join(RUN_DIR, "mail"))
    with open(path) as f:
        assert f"consistency check run {run} " in f.read()


def test_no_binary_committed():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, capture_output=True,
                           check=True).stdout.split(b"\0")
    binaries = []
    for name in filter(None, files):
        path = os.path.join(TOP, name.decode())
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    binaries.append(name.decode())
    assert not binaries, binaries


TESTS = [test_readme_examples, test_requests_through_nginx, test_health_everywhere,
         test_all_pass, test_tree_page, test_slow_bodies_from_one_address, test_status_details_for_operators_only, test_second_start_says_up, test_no_false_alarm_after_start,
         test_web_down_listed_then_cleared, test_smtp_down_listed_then_cleared,
         test_check_mail_named_after_its_run, test_failed_start_leaves_nothing,
         test_run_stops_everything_on_ctrl_c, test_make_psql_takes_arguments,
         test_make_install_only_what_changed, test_no_binary_committed]


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
