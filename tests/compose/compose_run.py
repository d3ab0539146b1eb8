"""docker-compose.yml for real: the images built and the stack run with
docker-compose against Podman (scripts/podman.sh), as a newcomer would, with
no .env:

  1. build, then up -d with FAMILY_ADMIN_EMAIL/PASSWORD set; every service
     turns healthy;
  2. the REST flow through nginx: staff login, a couple, a child, a rank
     edit, 304 on If-None-Match;
  3. docker-compose exec db psql family: a consistency check ends clean and
     its report mail reaches the sink (named after its run);
  4. /status/ through nginx lists no failing service;
  5. down, then up without FAMILY_ADMIN_*: the data is still there, and the
     default staff account logs in with the password the README says how to
     read;
  6. down -v leaves no volume behind.

Prints one line per check and the figures (build, up to healthy, image
sizes); the last line is "compose-run: N passed, M failed".
    /usr/bin/python3 tests/compose/compose_run.py [--keep]   (--keep: no down -v)
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(TOP, ".run", "compose")
PROJECT = "familytest"
SERVICES = ["db", "smtp", "web", "status", "nginx"]
ADMIN = ("staff@example.org", "compose-staff-password")
passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"ok   {name}", flush=True)


def bad(name, detail=""):
    global failed
    failed += 1
    print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)


def check(name, cond, detail=""):
    ok(name) if cond else bad(name, detail)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Compose:
    def __init__(self, docker_host, port):
        self.port = port
        os.makedirs(RUN, exist_ok=True)
        empty = os.path.join(RUN, "empty.env")
        open(empty, "w").close()  # a developer's .env must not change what is tested
        self.base = ["docker-compose", "--env-file", empty, "-p", PROJECT,
                     "-f", os.path.join(TOP, "docker-compose.yml")]
        self.env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                    "DOCKER_HOST": docker_host,
                    "CONTAINERS_CONF": os.path.join(RUN, "podman", "containers.conf"),
                    "FAMILY_NGINX_PORT": str(port), "FAMILY_STATUS_INTERVAL": "5",
                    # docker-compose 1.29 prints progress bars without a terminal otherwise.
                    "COMPOSE_INTERACTIVE_NO_CLI": "1"}

    def run(self, *args, extra=None, timeout=1200):
        env = dict(self.env, **(extra or {}))
        return subprocess.run(self.base + list(args), env=env, cwd=TOP, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def psql(self, sql):
        # SQL as an argument: docker-compose exec -T never closes the
        # command's standard input under Podman.
        r = self.run("exec", "-T", "db", "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
                     "-c", sql, "family", timeout=300)
        if r.returncode:
            raise AssertionError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def container_ids(self):
        r = subprocess.run(["podman", "ps", "-a", "-q", "--filter",
                            f"label=com.docker.compose.project={PROJECT}"],
                           capture_output=True, text=True, env=self.env)
        return r.stdout.split()

    def health(self):
        """service -> health status of its container."""
        out = {}
        for cid in self.container_ids():
            r = subprocess.run(["podman", "inspect", cid, "--format",
                                '{{index .Config.Labels "com.docker.compose.service"}} '
                                "{{.State.Health.Status}} {{.State.Status}}"],
                               capture_output=True, text=True, env=self.env)
            parts = r.stdout.split()
            if len(parts) >= 2:
                out[parts[0]] = parts[1]
        return out

    def wait_healthy(self, timeout=300):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            h = self.health()
            if set(h) >= set(SERVICES) and all(h[s] == "healthy" for s in SERVICES):
                return time.monotonic() - t0
            time.sleep(1)
        raise AssertionError(f"not healthy after {timeout} s: {self.health()}")

    def logs(self):
        return self.run("logs", "--no-color", "--tail", "30", timeout=60).stdout


class Api:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, dict(r.headers), (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
            return e.code, dict(e.headers), payload

    def login(self, email, password):
        status, _, body = self.call("POST", "/api/auth/token",
                                    {"email": email, "password": password})
        if status != 200:
            raise AssertionError(f"login {email}: {status} {body}")
        return body["token"]


def rest_flow(api):
    """Returns the child's id."""
    staff = api.login(*ADMIN)
    ok("staff logs in with FAMILY_ADMIN_EMAIL/PASSWORD through nginx")
    ids = {}
    for name, email in (("Ada", "ada@example.org"), ("William", "will@example.org")):
        status, _, body = api.call("POST", "/api/persons", {
            "first_name": name, "last_name": "Compose",
            "account": {"email": email, "password": f"{name}-password"}}, staff)
        if not check(f"staff creates {name} with an account (201)", status == 201, f"{status} {body}"):
            raise AssertionError("cannot go on")
        ids[name] = body["id"]
    status, _, body = api.call("POST", "/api/relationships",
                               {"person_a": ids["Ada"], "person_b": ids["William"]}, staff)
    check("staff starts their relationship (201)", status == 201, f"{status} {body}")
    ada = api.login("ada@example.org", "Ada-password")
    status, _, child = api.call("POST", "/api/children", {
        "first_name": "Anne", "last_name": "Compose", "father_id": ids["William"],
        "mother_id": ids["Ada"], "father_rank": 4, "mother_rank": 2}, ada)
    if not check("a parent adds a child of the couple (201)", status == 201, f"{status} {child}"):
        raise AssertionError("cannot go on")
    check("the child's rank is the mean of its parents' ranks",
          child["ancestor_relationship_rank"] == 3, str(child))
    status, _, body = api.call("PATCH", f"/api/children/{child['id']}", {"mother_rank": 5}, ada)
    check("the parent edits a rank (200, rank follows)",
          status == 200 and body["ancestor_relationship_rank"] == 4.5, f"{status} {body}")
    status, headers, body = api.call("GET", f"/api/persons/{child['id']}", token=staff)
    etag = headers.get("ETag")
    check("GET the child: 200 with an ETag", status == 200 and etag, f"{status} {headers}")
    status, _, _ = api.call("GET", f"/api/persons/{child['id']}", token=staff,
                            headers={"If-None-Match": etag})
    check("If-None-Match with that ETag: 304", status == 304, str(status))
    return child["id"]


def consistency_check(c):
    run = c.psql("SELECT family.run_consistency_check()")
    row = c.psql(f"SELECT status, mail_status, findings FROM family.check_run WHERE id = {int(run)}")
    check("docker-compose exec db psql family: the check ends clean with its mail sent",
          row == "clean|sent|0", row)
    r = c.run("exec", "-T", "smtp", "ls", "/var/spool/family-mail", timeout=60)
    names = r.stdout.split()
    check(f"the report mail of run {run} is in the sink, named after the run",
          f"check-run-{run}.eml" in names, str(names))


def status_page(api):
    # The status service checks every 5 s here: wait for a round after the
    # whole stack is up, then nothing may be failing.
    deadline = time.monotonic() + 60
    body = None
    while time.monotonic() < deadline:
        status, _, body = api.call("GET", "/status/", headers={"Accept": "application/json"})
        if status == 200 and body and body.get("services") and not body.get("failing") \
                and all(s.get("status") == "pass" for s in body["services"]):
            break
        time.sleep(1)
    check("/status/ through nginx: every service passes, none failing",
          body and not body.get("failing") and body.get("services")
          and all(s.get("status") == "pass" for s in body["services"]), json.dumps(body))


def image_sizes():
    r = subprocess.run(["podman", "images", "--format", "{{.Repository}} {{.Size}}"],
                       capture_output=True, text=True)
    return ", ".join(f"{line.split()[0].rsplit('/', 1)[-1]} {' '.join(line.split()[1:])}"
                     for line in sorted(r.stdout.splitlines()) if "/family/" in line.split()[0])


def main():
    keep = "--keep" in sys.argv
    r = subprocess.run([os.path.join(TOP, "scripts", "podman.sh"), "start",
                        os.path.join(RUN, "podman")], capture_output=True, text=True)
    if r.returncode:
        bad("Podman's Docker API is up (scripts/podman.sh)", r.stderr.strip())
        return
    docker_host = r.stdout.strip().split("=", 1)[1]
    port = free_port()
    c = Compose(docker_host, port)
    api = Api(port)
    admin = {"FAMILY_ADMIN_EMAIL": ADMIN[0], "FAMILY_ADMIN_PASSWORD": ADMIN[1]}
    try:
        c.run("down", "-v", "--remove-orphans", timeout=300)  # a previous run's leftovers
        t = time.monotonic()
        r = c.run("build", timeout=1800)
        build = time.monotonic() - t
        if not check("docker-compose build", r.returncode == 0, r.stderr[-3000:]):
            return
        print(f"     build {build:.0f} s; images: {image_sizes()}")
        t = time.monotonic()
        r = c.run("up", "-d", extra=admin, timeout=900)
        if not check("docker-compose up -d (no .env)", r.returncode == 0, r.stderr[-3000:]):
            return
        c.wait_healthy()
        healthy = time.monotonic() - t
        ok(f"every service healthy, {healthy:.0f} s after up")
        child = rest_flow(api)
        consistency_check(c)
        status_page(api)

        r = c.run("down", timeout=300)
        check("docker-compose down", r.returncode == 0, r.stderr[-2000:])
        t = time.monotonic()
        r = c.run("up", "-d", timeout=900)  # no FAMILY_ADMIN_*: the default account
        check("docker-compose up -d again", r.returncode == 0, r.stderr[-3000:])
        c.wait_healthy()
        print(f"     up to healthy on existing volumes: {time.monotonic() - t:.0f} s")
        staff = api.login(*ADMIN)
        status, _, body = api.call("GET", f"/api/persons/{child}", token=staff)
        check("after down and up the data is still there",
              status == 200 and body["first_name"] == "Anne"
              and body["ancestor_relationship_rank"] == 4.5, f"{status} {body}")
        r = c.run("exec", "-T", "web", "cat", "/var/lib/family/secrets/admin-password", timeout=60)
        password = r.stdout.strip()
        check("the generated staff password is read as the README says",
              r.returncode == 0 and len(password) >= 16, r.stderr)
        try:
            api.login("admin@localhost.localdomain", password)
            ok("admin@localhost.localdomain logs in with it")
        except AssertionError as e:
            bad("admin@localhost.localdomain logs in with it", str(e))
        roles = c.psql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_authid "
                       "WHERE rolname IN ('family_web', 'family_status') AND rolpassword LIKE 'SCRAM%'")
        check("the service roles have (generated) passwords", roles == "family_status,family_web",
              roles)
    except Exception as e:  # noqa: BLE001 - reported with the services' logs
        bad("the compose run", f"{type(e).__name__}: {e}")
    finally:
        if failed:
            print(c.logs())
        if not keep:
            r = c.run("down", "-v", "--remove-orphans", timeout=300)
            vols = subprocess.run(["podman", "volume", "ls", "-q", "--filter",
                                   f"label=com.docker.compose.project={PROJECT}"],
                                  capture_output=True, text=True).stdout.split()
            check("docker-compose down -v removes the containers and volumes",
                  r.returncode == 0 and not vols and not c.container_ids(), f"{r.stderr} {vols}")
        subprocess.run([os.path.join(TOP, "scripts", "podman.sh"), "stop",
                        os.path.join(RUN, "podman")])


if __name__ == "__main__":
    try:
        main()
    finally:
        print(f"compose-run: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
