#!/usr/bin/python3
"""Real genealogies through family.import_gedcom, checked against an oracle
written from SPEC 5b (not from the importer): the files that ship with
Debian's gramps, libgedcom-perl and lifelines-reports packages (fetched with
apt-get download, nothing of them committed), in a database of their own on
the cluster of PGHOST/PGPORT/PGUSER.

Usage: gedcom_test.py [test names...]
Prints one line per test and "gedcom: N passed, M failed".
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(TOP, ".run", "cache", "gedcom")
PACKAGES = {"gramps": "usr/share/doc/gramps/example/gedcom/sample.ged",
            "libgedcom-perl": "usr/share/doc/libgedcom-perl/examples/royal.ged",
            "lifelines-reports": "usr/share/lifelines/st/ti.ged"}
DB = "family_gedcom"


def dsn(db):
    return (f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
            f"user={os.environ['PGUSER']} dbname={db}")


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def fetch():
    """The three files, from the packages (downloaded once into CACHE)."""
    os.makedirs(CACHE, exist_ok=True)
    files = {}
    for package, path in PACKAGES.items():
        target = os.path.join(CACHE, "x", path)
        if not os.path.exists(target):
            with tempfile.TemporaryDirectory() as d:
                got = subprocess.run(["apt-get", "download", package], cwd=d, capture_output=True,
                                     text=True)
                debs = [f for f in os.listdir(d) if f.endswith(".deb")]
                if got.returncode != 0 or not debs:
                    raise RuntimeError(f"apt-get download {package} failed: {got.stderr[-500:]}")
                subprocess.run(["dpkg", "-x", os.path.join(d, debs[0]), os.path.join(CACHE, "x")],
                               check=True)
        files[os.path.basename(path)] = open(target, "rb").read()
    return files


class Oracle:
    """What SPEC 5b says a file holds, read with no more than a regular
    expression per line: INDI records with their first NAME, FAM records with
    their partners and children, and the child-family links of CHIL and
    FAMC (each pair once)."""

    LINE = re.compile(rb"^\s*(\d+)\s+(?:@([^@]+)@\s+)?(\w+)(?: (.*))?$")

    def __init__(self, data):
        self.indi, self.fam, self.names = [], {}, {}
        self.links = set()
        top = None
        for raw in re.split(rb"\r\n|\n\r|\r|\n", data):
            m = self.LINE.match(raw)
            if not m:
                continue
            level, xref, tag, value = int(m[1]), m[2], m[3], (m[4] or b"").strip()
            if level == 0:
                top = (tag, xref.decode() if xref else None)
                if tag == b"INDI":
                    self.indi.append(top[1])
                if tag == b"FAM":
                    self.fam[top[1]] = {"HUSB": None, "WIFE": None}
                continue
            pointer = value.decode("latin-1").strip("@") if value.startswith(b"@") else None
            if top[0] == b"INDI" and level == 1 and tag == b"NAME" and top[1] not in self.names:
                self.names[top[1]] = value.decode("utf-8", "replace")
            if top[0] == b"INDI" and level == 1 and tag == b"FAMC" and pointer:
                self.links.add((top[1], pointer))
            if top[0] == b"FAM" and level == 1 and tag in (b"HUSB", b"WIFE") and pointer:
                if self.fam[top[1]][tag.decode()] is None:
                    self.fam[top[1]][tag.decode()] = pointer
            if top[0] == b"FAM" and level == 1 and tag == b"CHIL" and pointer:
                self.links.add((pointer, top[1]))


def import_file(conn, data):
    import_id = q(conn, "SELECT family.import_gedcom(%s)", (psycopg2.Binary(data),))[0][0]
    row = q(conn, """SELECT persons, relationships, parent_links, issues, individuals, links, charset
                       FROM family.gedcom_import WHERE id = %s""", (import_id,))[0]
    return import_id, dict(zip(["persons", "relationships", "parent_links", "issues",
                                "individuals", "links", "charset"], row))


def check_against_oracle(conn, name, data):
    oracle = Oracle(data)
    import_id, got = import_file(conn, data)
    assert got["individuals"] == len(oracle.indi), (name, got, len(oracle.indi))
    assert got["links"] == len(oracle.links), (name, got, len(oracle.links))
    skipped = dict(q(conn, """
        SELECT kind, count(*) FROM (
            SELECT CASE WHEN message LIKE 'a second INDI%%' THEN 'persons'
                        WHEN message LIKE 'a second FAM%%' THEN 'families'
                        ELSE 'links' END AS kind
              FROM family.gedcom_issue WHERE import_id = %s AND severity = 'error') AS s
         GROUP BY kind""", (import_id,)))
    # Every INDI a person or skipped; every link imported or skipped.
    assert got["persons"] + skipped.get("persons", 0) == got["individuals"], (name, got, skipped)
    assert got["parent_links"] + skipped.get("links", 0) == got["links"], (name, got, skipped)
    persons = {x: (first, last, father, mother) for x, first, last, father, mother in q(conn, """
        SELECT x.xref, p.first_name, p.last_name, fx.xref, mx.xref
          FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
          LEFT JOIN family.gedcom_xref AS fx ON fx.person_id = p.father_id AND fx.import_id = x.import_id
          LEFT JOIN family.gedcom_xref AS mx ON mx.person_id = p.mother_id AND mx.import_id = x.import_id
         WHERE x.import_id = %s""", (import_id,))}
    assert sorted(persons) == sorted(set(oracle.indi)), name
    # Names: the NAME's words, slashes aside, are the person's.
    for xref, written in oracle.names.items():
        first, last = persons[xref][:2]
        words = " ".join(written.replace("/", " ").split())
        assert " ".join(f"{first} {last}".split()) == words, (name, xref, written, first, last)
    # A child in one family (no issue about it) has that family's partners.
    families_of = {}
    for child, fam in oracle.links:
        families_of.setdefault(child, []).append(fam)
    troubled = {x for (x,) in q(conn, "SELECT xref FROM family.gedcom_issue WHERE import_id = %s",
                                (import_id,))}
    checked = 0
    for child, fams in families_of.items():
        if len(fams) != 1 or child in troubled or fams[0] in troubled:
            continue
        f = oracle.fam[fams[0]]
        assert persons[child][2:] == (f["HUSB"], f["WIFE"]), (name, child, persons[child], f)
        checked += 1
    assert checked > 0, name
    return import_id, got, checked


def test_real_files(conn):
    files = fetch()
    for name, data in sorted(files.items()):
        import_id, got, checked = check_against_oracle(conn, name, data)
        print(f"     {name}: {got['persons']} persons, {got['relationships']} relationships, "
              f"{got['parent_links']} of {got['links']} links, {got['issues']} issues, "
              f"{got['charset']}; {checked} children checked", flush=True)
    # The derived values are what a recomputation from scratch gives.
    assert q(conn, "SELECT family.repair()")[0][0] == 0
    # UTF-8 text as written (Gramps' sample has Swedish places).
    assert q(conn, """SELECT count(*) FROM family.person
                       WHERE birth_place LIKE 'L' || chr(246) || 'derup%'""")[0][0] >= 1


def test_truncated_at_every_line(conn):
    """A file cut after any line imports nothing (22P02), or, cut after its
    TRLR, everything: never part of it."""
    data = fetch()["ti.ged"]
    lines = data.split(b"\n")
    before = q(conn, "SELECT count(*) FROM family.person")[0][0]
    refused = 0
    for n in range(len(lines)):
        cut = b"\n".join(lines[:n])
        try:
            q(conn, "SELECT family.import_gedcom(%s)", (psycopg2.Binary(cut),))
            assert b"0 TRLR" in cut, f"cut after line {n} imported"
        except psycopg2.errors.InvalidTextRepresentation:
            refused += 1
    after = q(conn, "SELECT count(*) FROM family.person")[0][0]
    full = Oracle(data)
    assert refused >= len(lines) - 3
    assert after - before == (len(lines) - refused) * len(full.indi)


TESTS = [test_real_files, test_truncated_at_every_line]


def main():
    names = sys.argv[1:]
    admin = psycopg2.connect(dsn("postgres"))
    admin.autocommit = True
    q(admin, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    q(admin, f"CREATE DATABASE {DB}")
    passed = failed = 0
    try:
        conn = psycopg2.connect(dsn(DB))
        conn.autocommit = True
        q(conn, "CREATE EXTENSION family")
        for test in TESTS:
            if names and test.__name__ not in names:
                continue
            t = time.perf_counter()
            try:
                test(conn)
                passed += 1
                print(f"ok   {test.__name__} ({time.perf_counter() - t:.1f} s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
        conn.close()
    finally:
        q(admin, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.close()
    print(f"gedcom: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
