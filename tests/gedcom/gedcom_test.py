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
import unicodedata

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


# What a person and a relationship are, for comparing two imports: each
# person by a key of its own import (its xref), its parents by theirs.
FACTS = """
    SELECT x.xref, p.first_name, p.last_name, p.sex, p.birth_date, p.birth_place, p.death_date,
           p.death_place, fx.xref, p.father_rank, mx.xref, p.mother_rank, p.generation,
           p.ancestor_relationship_rank
      FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
      LEFT JOIN family.gedcom_xref AS fx ON fx.person_id = p.father_id AND fx.import_id = x.import_id
      LEFT JOIN family.gedcom_xref AS mx ON mx.person_id = p.mother_id AND mx.import_id = x.import_id
     WHERE x.import_id = %s"""
COUPLES = """
    SELECT least(a.xref, b.xref), greatest(a.xref, b.xref), r.started_at, r.ended_at
      FROM family.relationship AS r
      JOIN family.gedcom_xref AS a ON a.person_id = r.person_a AND a.import_id = %s
      JOIN family.gedcom_xref AS b ON b.person_id = r.person_b AND b.import_id = %s"""


def facts(conn, import_id, rename=None):
    """The import's persons and relationships as sets of tuples; `rename`
    maps each xref (an exported file's @I<id>@) to another key."""
    key = rename or (lambda x: x)
    persons = {(key(x),) + tuple(r[:7]) + (key(f) if f else None, r[8], key(m) if m else None)
               + tuple(r[10:]) for x, *r in q(conn, FACTS, (import_id,))
               for f, m in [(r[7], r[9])]}
    couples = {tuple(sorted((key(a), key(b)))) + (s, e)
               for a, b, s, e in q(conn, COUPLES, (import_id, import_id))}
    return persons, couples


# GEDCOM 7.0's line grammar and the structures export_gedcom may write:
# each tag and the tags allowed under it (written from the GEDCOM 7.0
# specification, not from the writer).
LINE7 = re.compile(r"^(0|[1-9][0-9]*) (?:(@[A-Z0-9_]+@) )?([A-Z_][A-Z0-9_]*)(?: (.*))?$")
UNDER = {
    None: {"HEAD", "INDI", "FAM", "TRLR"},
    "HEAD": {"GEDC", "SCHMA", "SOUR"}, "HEAD.GEDC": {"VERS"}, "HEAD.SCHMA": {"TAG"},
    "HEAD.SOUR": {"VERS", "NAME"},
    "INDI": {"NAME", "SEX", "BIRT", "DEAT", "FAMC", "FAMS"},
    "INDI.BIRT": {"DATE", "PLAC"}, "INDI.DEAT": {"DATE", "PLAC"},
    "INDI.BIRT.DATE": {"TIME", "PHRASE"}, "INDI.DEAT.DATE": {"TIME", "PHRASE"},
    "INDI.FAMC": {"_FATHER_RANK", "_MOTHER_RANK"},
    "FAM": {"HUSB", "WIFE", "CHIL", "MARR", "DIV", "_CURRENT", "_PARENTS_ONLY"},
    "FAM.MARR": {"DATE"}, "FAM.DIV": {"DATE"}, "FAM.MARR.DATE": {"TIME"}, "FAM.DIV.DATE": {"TIME"},
}
# GEDCOM 7's DATE payload (no 5.5.1 escapes, dual years, B.C. or INT).
DATE7 = re.compile(r"^((?:(?:GREGORIAN|JULIAN|FRENCH_R|HEBREW) )?(?:(?:\d{1,2} )?[A-Z]{3,4} )?\d+(?: BCE)?)$")
RANGE7 = re.compile(r"^(?:(?:BEF|AFT|ABT|CAL|EST|TO) (.+)|FROM (.+?)(?: TO (.+))?|BET (.+) AND (.+))$")


def check_gedcom7(text):
    """The file's shape against GEDCOM 7.0: HEAD first and TRLR last, levels
    one deeper at most, xrefs and tags as the grammar has them, every
    structure where 7.0 (or HEAD.SCHMA, for ours) allows it, every pointer
    to a record of the file, dates in 7.0's grammar, times as hh:mm:ss."""
    lines = text.split("\n")
    assert lines[-1] == "" and lines[0] == "0 HEAD" and lines[-2] == "0 TRLR", (lines[:2], lines[-3:])
    path, records, pointers, declared = [], set(), [], set()
    for n, line in enumerate(lines[:-1], 1):
        m = LINE7.match(line)
        assert m, f"line {n} breaks GEDCOM 7's grammar: {line!r}"
        level, xref, tag, value = int(m[1]), m[2], m[3], m[4]
        assert level <= len(path), f"line {n} skips a level: {line!r}"
        path = path[:level]
        parent = ".".join(path) or None
        assert tag in UNDER.get(parent, ()), f"line {n}: {tag} under {parent}"
        assert level == 0 or xref is None, f"line {n}: an xref below level 0"
        if xref:
            records.add(xref)
        if tag.startswith("_") and parent != "HEAD.SCHMA":
            assert tag in declared, f"line {n}: {tag} not in HEAD.SCHMA"
        if parent == "HEAD.SCHMA":
            name, uri = value.split(" ", 1)
            assert name.startswith("_") and re.match(r"^https?://\S+$", uri), line
            declared.add(name)
        if tag in ("FAMC", "FAMS", "HUSB", "WIFE", "CHIL"):
            assert re.match(r"^@[A-Z0-9_]+@$", value or ""), f"line {n}: pointer {value!r}"
            pointers.append((n, value))
        if tag == "SEX":
            assert value in ("M", "F", "X", "U"), line
        if tag in ("_FATHER_RANK", "_MOTHER_RANK"):
            assert value in "12345" and len(value) == 1, line
        if tag == "DATE" and value:
            r = RANGE7.match(value)
            for part in ([g for g in r.groups() if g] if r else [value]):
                assert DATE7.match(part), f"line {n}: DATE {value!r} is not GEDCOM 7"
        if tag == "TIME":
            assert re.match(r"^\d\d:\d\d:\d\d(\.\d+)?Z$", value), line
        if value and value.startswith("@") and tag not in ("FAMC", "FAMS", "HUSB", "WIFE", "CHIL"):
            assert value.startswith("@@"), f"line {n}: a text starting with @ not escaped"
        path.append(tag)
    for n, pointer in pointers:
        assert pointer in records, f"line {n} points to {pointer}, no record of the file"
    return len(records)


def test_round_trips(conn):
    """Each real file imported, exported (family.export_gedcom) and the
    export imported again: the same persons (names, sex, dates, places),
    parents, ranks, relationships and derived values, and no issue."""
    for name, data in sorted(fetch().items()):
        q(conn, "TRUNCATE family.person, family.relationship, family.gedcom_import CASCADE")
        first, got = import_file(conn, data)
        # Back to the first import's xref through the person's id.
        xref_of = dict(q(conn, "SELECT 'I' || person_id, xref FROM family.gedcom_xref"
                               " WHERE import_id = %s", (first,)))
        text = q(conn, "SELECT family.export_gedcom()")[0][0]
        check_gedcom7(text)
        exported = text.encode()
        second, again = import_file(conn, exported)
        assert again["issues"] == 0, (name, q(conn, "SELECT line, message FROM family.gedcom_issue"
                                                    " WHERE import_id = %s LIMIT 5", (second,)))
        assert (again["persons"], again["relationships"], again["parent_links"]) == \
            (got["persons"], got["relationships"], got["parent_links"]), (name, got, again)
        before, after = facts(conn, first), facts(conn, second, xref_of.__getitem__)
        for what, b, a in (("persons", before[0], after[0]), ("relationships", before[1], after[1])):
            assert b == a, (name, what, sorted(b - a)[:3], sorted(a - b)[:3])
        print(f"     {name}: {len(before[0])} persons, {len(before[1])} relationships the same "
              f"after export and import ({len(exported)} bytes)", flush=True)


def ansel(text):
    """Text in ANSEL (the letters of these tests): a combining mark before its letter."""
    marks = {"\u0301": 0xE2, "\u0300": 0xE1, "\u0302": 0xE3, "\u0303": 0xE4, "\u0308": 0xE8,
             "\u0327": 0xF0}
    out = bytearray()
    for c in unicodedata.normalize("NFD", text):
        if c in marks:
            out.insert(len(out) - 1, marks[c])  # before the letter just written
        else:
            out += c.encode("ascii")
    return bytes(out)


def generated_family():
    """A family with what real files hold and importers get wrong:
    remarriages, a same-sex couple, single parents, a child in a birth and
    an adoptive family, accented names, GEDCOM 7 dates and times."""
    return "\n".join([
        "0 HEAD", "1 GEDC", "2 VERS 5.5.1", "1 CHAR {charset}",
        "0 @A@ INDI", "1 NAME Zoë /Müller/", "1 SEX F", "1 BIRT", "2 DATE 12 MAR 1850",
        "2 PLAC Façade", "1 DEAT", "2 DATE 1 JAN 1910",
        "0 @B@ INDI", "1 NAME José /Núñez/", "1 SEX M",
        "0 @C@ INDI", "1 NAME Ana /Núñez/", "1 SEX F", "1 FAMC @F1@",
        "0 @D@ INDI", "1 NAME Mary /Smith/", "1 SEX F",
        "0 @E@ INDI", "1 NAME Eve /Smith/", "1 SEX F",
        "0 @G@ INDI", "1 NAME Kim /Smith/", "1 FAMC @F3@", "1 FAMC @F4@", "2 PEDI adopted",
        "0 @H@ INDI", "1 NAME Solo /Child/", "1 FAMC @F5@",
        "0 @F1@ FAM", "1 HUSB @B@", "1 WIFE @A@", "1 CHIL @C@", "1 MARR", "2 DATE 1870",
        "1 DIV", "2 DATE 1880",
        "0 @F2@ FAM", "1 HUSB @B@", "1 WIFE @D@", "1 MARR", "2 DATE 1885",
        "0 @F3@ FAM", "1 WIFE @D@", "1 WIFE @E@", "1 CHIL @G@",
        "0 @F6@ FAM", "1 HUSB @D@", "1 WIFE @E@", "1 MARR", "2 DATE 1890",
        "0 @F4@ FAM", "1 HUSB @B@", "1 WIFE @D@", "1 CHIL @G@",
        "0 @F5@ FAM", "1 WIFE @A@", "1 CHIL @H@",
        "0 TRLR", ""])


def test_charsets(conn):
    """One family written in UTF-8 (with and without BOM), UTF-16 LE and BE
    (with their BOM) and ANSEL: the same persons, links and relationships
    from each."""
    text = generated_family()
    variants = {
        "UTF-8": text.format(charset="UTF-8").encode(),
        "UTF-8 BOM": b"\xef\xbb\xbf" + text.format(charset="UTF-8").encode(),
        "UTF-16LE": b"\xff\xfe" + text.format(charset="UNICODE").encode("utf-16-le"),
        "UTF-16BE": b"\xfe\xff" + text.format(charset="UNICODE").encode("utf-16-be"),
        "ANSEL": b"\n".join(ansel(line) for line in text.format(charset="ANSEL").split("\n")),
    }
    seen = {}
    for name, data in variants.items():
        import_id, got = import_file(conn, data)
        seen[name] = facts(conn, import_id), got["issues"]
    want = seen["UTF-8"]
    for name, got in seen.items():
        assert got == want, (name, got, want)
    check_gedcom7(q(conn, "SELECT family.export_gedcom()")[0][0])
    persons = {p[0]: p for p in want[0][0]}
    # F3 names two WIFEs (a same-sex couple as GEDCOM 5 writes it): the
    # second is read past (an issue); Kim's birth family is F3.
    assert persons["A"][1:3] == ("Zoë", "Müller") and persons["A"][5] == "Façade", persons["A"]
    assert persons["C"][8] == "B" and persons["C"][10] == "A", persons["C"]
    assert persons["G"][10] == "D" and persons["G"][8] is None, persons["G"]
    assert persons["H"][10] == "A" and persons["H"][8] is None, persons["H"]
    # A relationship per FAM with two partners: B+A (divorced), B+D (F2, and
    # F4, which is Kim's adoptive family), D+E.
    assert len(want[0][1]) == 4, want[0][1]


def test_deep_line(conn):
    """A line of 10,000 generations, the youngest first in the file: each
    generation one more than its parent's, the derived values those of a
    recomputation, and it exports and imports again."""
    n = 10000
    lines = ["0 HEAD", "1 GEDC", "2 VERS 7.0"]
    for i in reversed(range(n)):
        lines += [f"0 @L{i}@ INDI", f"1 NAME Gen {i} /Line/"] + ([f"1 FAMC @P{i}@"] if i else [])
        if i:
            lines += [f"0 @P{i}@ FAM", f"1 HUSB @L{i - 1}@", f"1 CHIL @L{i}@"]
    data = "\n".join(lines + ["0 TRLR", ""]).encode()
    q(conn, "TRUNCATE family.person, family.relationship, family.gedcom_import CASCADE")
    import_id, got = import_file(conn, data)
    assert (got["persons"], got["parent_links"], got["issues"]) == (n, n - 1, 0), got
    assert q(conn, """SELECT p.generation FROM family.gedcom_xref AS x
                        JOIN family.person AS p ON p.id = x.person_id
                       WHERE x.import_id = %s AND x.xref = %s""", (import_id, f"L{n - 1}"))[0][0] == n - 1
    assert q(conn, "SELECT family.repair()")[0][0] == 0
    text = q(conn, "SELECT family.export_gedcom()")[0][0]
    assert check_gedcom7(text) == 2 * n - 1  # the persons and the families
    _, again = import_file(conn, text.encode())
    assert (again["persons"], again["parent_links"], again["issues"]) == (n, n - 1, 0), again


def test_hostile_files(conn):
    """Files made to break importers: each imports nothing (22P02) or what
    follows the rules, with every skip listed; no file crashes the backend
    or leaves part of itself."""
    head = b"0 HEAD\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n"
    cases = {
        # A loop of three, and someone their own parent: one link of the
        # loop goes, the self-link goes.
        "loop": (head + b"0 @A@ INDI\n1 FAMC @FA@\n0 @B@ INDI\n1 FAMC @FB@\n0 @C@ INDI\n1 FAMC @FC@\n"
                 b"0 @FA@ FAM\n1 HUSB @B@\n1 CHIL @A@\n0 @FB@ FAM\n1 HUSB @C@\n1 CHIL @B@\n"
                 b"0 @FC@ FAM\n1 HUSB @A@\n1 CHIL @C@\n"
                 b"0 @S@ INDI\n1 FAMC @FS@\n0 @FS@ FAM\n1 WIFE @S@\n1 CHIL @S@\n0 TRLR\n", (4, 2)),
        "dangling pointers": (head + b"0 @A@ INDI\n1 FAMC @NOWHERE@\n0 @F@ FAM\n1 HUSB @GHOST@\n"
                              b"1 CHIL @A@\n1 CHIL @NOBODY@\n0 TRLR\n", (1, 3)),
        "a 1 MB name": (head + b"0 @A@ INDI\n1 NAME " + b"x" * (1 << 20) + b"\n0 TRLR\n", (1, 0)),
        "every byte value": (head + b"0 @A@ INDI\n1 NAME " +
                             bytes(b for b in range(256) if b not in (10, 13)) + b"\n0 TRLR\n", (1, 0)),
        "broken levels": (head + b"0 @A@ INDI\n3 NAME Skipped /Level/\n0 TRLR\n", None),
        "no level": (head + b"@A@ INDI\n0 TRLR\n", None),
        "nothing": (b"", None),
        "binary": (bytes(range(256)) * 64, None),
        "no trailer": (head + b"0 @A@ INDI\n", None),
    }
    for name, (data, want) in cases.items():
        before = q(conn, "SELECT count(*) FROM family.person")[0][0]
        try:
            import_id, got = import_file(conn, data)
        except psycopg2.errors.InvalidTextRepresentation:
            assert want is None, f"{name}: refused"
            assert q(conn, "SELECT count(*) FROM family.person")[0][0] == before, name
            continue
        assert want is not None, f"{name}: imported {got}"
        skipped = q(conn, "SELECT count(*) FROM family.gedcom_issue WHERE import_id = %s"
                          " AND severity = 'error'", (import_id,))[0][0]
        assert (got["persons"], skipped) == want, (name, got, skipped)
        assert got["persons"] + 0 == got["individuals"], (name, got)
    assert q(conn, "SELECT family.repair()")[0][0] == 0


TESTS = [test_real_files, test_truncated_at_every_line, test_round_trips, test_charsets,
         test_deep_line, test_hostile_files]


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
