#!/usr/bin/python3
"""Benchmarks of the family extension on a generated 1M-person genealogy.

Every figure is a ratio of two things measured side by side in this run
(alternating rounds, median), so that a noisy machine still gives stable
numbers. Usage: bench.py DSN_OF_AN_EMPTY_DATABASE [--persons N] [--reuse]
"""
import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
PGBIN = "/usr/lib/postgresql/15/bin"
results = []
PGBENCH_VARIABLES = {}


def report(name, ratio, target, detail, unit="x"):
    ok = target(ratio)
    results.append((name, ratio, ok))
    print(f"  {name:58} {ratio:7.2f}{unit}  {'meets' if ok else 'MISSES'} target  ({detail})",
          flush=True)


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def timed(conn, sql, args=None):
    t = time.perf_counter()
    q(conn, sql, args)
    return time.perf_counter() - t


def pgbench(dsn_args, script, seconds, clients=1, variables=()):
    variables = list(variables) + list(PGBENCH_VARIABLES.items())
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    cmd = [f"{PGBIN}/pgbench", "-n", "-M", "prepared", "-T", str(seconds), "-c", str(clients),
           "-j", str(clients), "-f", f.name] + [f"-D{k}={v}" for k, v in variables] + dsn_args
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"pgbench failed: {run.stderr[-2000:]}")
    out = run.stdout
    os.unlink(f.name)
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(out)


def families(conn, generations, per_generation, cap):
    """(id, descendants) of the first persons with a father of each given
    generation, counted on the plain copy and only up to `cap` (a family
    of millions is not walked whole: it counts as cap + 1)."""
    return q(conn, """
        SELECT c.id, (WITH RECURSIVE d(id) AS (
                          SELECT c.id
                        UNION
                          SELECT p.id FROM d, plain.person AS p
                           WHERE p.father_id = d.id OR p.mother_id = d.id)
                      SELECT count(*) - 1 FROM (SELECT 1 FROM d LIMIT %(cap)s + 2) AS l)
          FROM unnest(%(gens)s::int[]) AS g,
               LATERAL (SELECT id FROM plain.person WHERE generation = g
                         AND father_id IS NOT NULL ORDER BY id LIMIT %(per)s) AS c""",
             {"gens": list(generations), "per": per_generation, "cap": cap})


def closest(candidates, want):
    """The candidate whose family size is nearest `want`, by ratio."""
    return min(candidates, key=lambda c: abs(math.log((c[1] + 1) / (want + 1))))


def sample_waits(conn, run):
    """Runs run() while sampling the pgbench backends' wait events every
    10 ms; returns the share of samples in which one waited on a lock
    (heavyweight or lightweight)."""
    done, counts = threading.Event(), {"all": 0, "lock": 0}

    def sample():
        while not done.is_set():
            for (kind,) in q(conn, "SELECT wait_event_type FROM pg_stat_activity "
                                   "WHERE application_name = 'pgbench' AND state = 'active'"):
                counts["all"] += 1
                counts["lock"] += kind in ("Lock", "LWLock")
            time.sleep(0.01)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    return counts["lock"] / max(counts["all"], 1)


def make_plain_tables(conn):
    """Tables like the extension's, without triggers: the same columns,
    constraints, indexes and keys (schema plain)."""
    q(conn, """
        DROP SCHEMA IF EXISTS plain CASCADE;
        CREATE SCHEMA plain;
        CREATE TABLE plain.person (LIKE family.person INCLUDING ALL);
        ALTER TABLE plain.person
            ADD FOREIGN KEY (father_id) REFERENCES plain.person DEFERRABLE INITIALLY DEFERRED,
            ADD FOREIGN KEY (mother_id) REFERENCES plain.person DEFERRABLE INITIALLY DEFERRED;
        CREATE TABLE plain.relationship (LIKE family.relationship INCLUDING ALL);
        ALTER TABLE plain.relationship
            ADD FOREIGN KEY (person_a) REFERENCES plain.person ON DELETE CASCADE,
            ADD FOREIGN KEY (person_b) REFERENCES plain.person ON DELETE CASCADE;
    """)


def copy_to_plain(conn):
    """The extension's rows, parents first, into fresh plain tables by
    COPY; returns the time of the COPYs in."""
    make_plain_tables(conn)
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o777)
        person_file, rel_file = os.path.join(d, "p.copy"), os.path.join(d, "r.copy")
        q(conn, f"COPY (SELECT * FROM family.person ORDER BY generation, id) TO '{person_file}'")
        q(conn, f"COPY family.relationship TO '{rel_file}'")
        t = time.perf_counter()
        q(conn, f"COPY plain.person FROM '{person_file}'")
        q(conn, f"COPY plain.relationship FROM '{rel_file}'")
        return time.perf_counter() - t


def load(conn, dsn_args, persons):
    """Loads the genealogy through the extension, then the same rows into
    plain tables without triggers; returns both times."""
    script = subprocess.run([sys.executable, os.path.join(HERE, "genealogy.py"), str(persons)],
                            capture_output=True, text=True, check=True).stdout
    t = time.perf_counter()
    subprocess.run([f"{PGBIN}/psql", "-Xq", "-v", "ON_ERROR_STOP=1"] + dsn_args,
                   input=script, text=True, check=True, capture_output=True)
    extension_load = time.perf_counter() - t
    q(conn, "VACUUM ANALYZE family.person")
    q(conn, "VACUUM ANALYZE family.relationship")
    plain_load = copy_to_plain(conn)
    q(conn, "VACUUM ANALYZE plain.person")
    q(conn, "VACUUM ANALYZE plain.relationship")
    return extension_load, plain_load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded genealogy")
    parser.add_argument("--seconds", type=int, default=8, help="per pgbench round")
    parser.add_argument("--only", choices=["check", "write", "import", "kinship"],
                        help="only these benchmarks")
    parser.add_argument("--skip", action="append", choices=["import", "kinship"], default=[],
                        help="leave these benchmarks out (repeatable)")
    args = parser.parse_args()
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    params = dict(p.split("=", 1) for p in args.dsn.split())
    dsn_args = ["-h", params["host"], "-p", params["port"], "-U", params["user"], params["dbname"]]

    print(f"family benchmarks: {args.persons} persons, {os.cpu_count()} CPUs", flush=True)
    loaded = q(conn, "SELECT count(*) FROM family.person")[0][0]
    if args.reuse and loaded and q(conn, "SELECT to_regclass('plain.person') IS NOT NULL")[0][0]:
        print("  (reusing the loaded genealogy: no load figures)")
    else:
        q(conn, "TRUNCATE family.person, family.relationship RESTART IDENTITY")
        ext_s, plain_s = load(conn, dsn_args, args.persons)
        n = q(conn, "SELECT count(*) FROM family.person")[0][0]
        report("load through the extension vs plain COPY (same rows)", ext_s / plain_s,
               lambda r: True, f"{ext_s:.1f} s vs {plain_s:.1f} s for {n} persons, "
               f"{n / ext_s:,.0f} persons/s")
    total, heap, vectors, rels, depth, n = q(conn, """
        SELECT pg_total_relation_size('family.person'), pg_relation_size('family.person'),
               sum(pg_column_size(link_rank_sums) + pg_column_size(link_counts)),
               pg_total_relation_size('family.relationship'), max(generation), count(*)
          FROM family.person""")[0]
    report("on-disk size of family.person vs its heap without the vectors",
           heap / (heap - float(vectors)), lambda r: True,
           f"{total / 2**20:.0f} MiB with indexes, {total / n:.0f} bytes/person; vectors "
           f"{float(vectors) / 2**20:.0f} MiB; relationships {rels / 2**20:.0f} MiB; "
           f"deepest generation {depth}")

    if args.only == "check":
        bench_check(conn)
        return summary()
    if args.only == "kinship":
        bench_kinship(conn, q(conn, "SELECT max(id) FROM family.person WHERE first_name <> 'line'")[0][0])
        return summary()
    # The GEDCOM import at 1M persons at most (a file of 10M is past the
    # 1 GB a bytea holds).
    if args.only == "import" or (args.only is None and "import" not in args.skip):
        bench_import(params, min(args.persons, 1_000_000))
    if args.only == "import":
        return summary()
    bench_write_path(conn)
    if args.only == "write":
        return summary()

    # 1. Insert of a child: trigger path vs plain INSERT into the identical table.
    # The children these two benchmarks add go afterwards, so that the later
    # ones (and a --reuse run) see the generated genealogy only.
    last_loaded = q(conn, "SELECT max(id) FROM family.person")[0][0]
    q(conn, """DROP TABLE IF EXISTS bench_couple;
               CREATE UNLOGGED TABLE bench_couple AS
               SELECT row_number() OVER () AS i, person_a, person_b
                 FROM (SELECT person_a, person_b FROM family.relationship
                        WHERE ended_at IS NULL ORDER BY random() LIMIT 100000) AS c;
               DELETE FROM bench_couple WHERE i > (SELECT count(*) / 2 * 2 FROM bench_couple);
               CREATE UNIQUE INDEX ON bench_couple (i); ANALYZE bench_couple;""")
    # The plain rows carry vectors of the typical length, as the real ones do.
    depth = q(conn, "SELECT round(avg(cardinality(link_counts)))::int FROM family.person")[0][0]
    q(conn, "SELECT setval(pg_get_serial_sequence('plain.person', 'id'), "
            "greatest((SELECT max(id) FROM family.person), (SELECT max(id) FROM plain.person))"
            " + 1000000)")
    PGBENCH_VARIABLES["couples"] = q(conn, "SELECT count(*) FROM bench_couple")[0][0]
    # One statement per child: a client as light as can be.
    insert = """\\set i random(1, :couples)
INSERT INTO {table} (first_name, father_id, father_rank, mother_id, mother_rank{extra})
SELECT 'bench', person_a, 3, person_b, 4{extra_values} FROM bench_couple WHERE i = :i;
"""
    ext_script = insert.format(table="family.person", extra="", extra_values="")
    plain_script = insert.format(table="plain.person",
                                 extra=", generation, link_rank_sums, link_counts",
                                 extra_values=f", 1, array_fill(7.0, ARRAY[{depth}]), "
                                              f"array_fill(2.0, ARRAY[{depth}])")
    ext_tps, plain_tps = [], []
    for _ in range(2):
        ext_tps.append(pgbench(dsn_args, ext_script, args.seconds))
        plain_tps.append(pgbench(dsn_args, plain_script, args.seconds))
    e, p = statistics.median(ext_tps), statistics.median(plain_tps)
    report("insert a child: extension vs plain INSERT (time per insert)", p / e,
           lambda r: r <= 1.5, f"{e:,.0f} vs {p:,.0f} inserts/s, 1 client")

    # 2. Two clients in unrelated families vs one client. Each statement adds
    # ten children of ten couples, so that the server's work, not the
    # client's round trips, is what is measured. Commits do not wait for the
    # disk, autovacuum and checkpoints stay out of the rounds: the question is
    # whether writers queue behind a lock, not how this machine's disk and
    # housekeeping compete for its two cores.
    def split(script):
        return (script.replace("random(1, :couples)",
                               "random(1 + :client_id * :couples / 2, "
                               "(1 + :client_id) * :couples / 2 - 9)")
                .replace("WHERE i = :i", "WHERE i BETWEEN :i AND :i + 9"))
    tables = ("family.person", "plain.person")
    for t in tables:
        q(conn, f"ALTER TABLE {t} SET (autovacuum_enabled = off)")
        q(conn, f"VACUUM ANALYZE {t}")
    os.environ["PGOPTIONS"] = "-c synchronous_commit=off"
    rounds = {k: [] for k in ("one", "two", "plain_one", "plain_two")}
    for _ in range(5):
        for key, script, clients in (("one", ext_script, 1), ("two", ext_script, 2),
                                     ("plain_one", plain_script, 1),
                                     ("plain_two", plain_script, 2)):
            q(conn, "CHECKPOINT")
            rounds[key].append(10 * pgbench(dsn_args, split(script), args.seconds, clients))
    # Where the two clients' backends spend their time: a lock wait would
    # show here.
    waits = sample_waits(conn, lambda: pgbench(dsn_args, split(ext_script), args.seconds, 2))
    del os.environ["PGOPTIONS"]
    q(conn, "DELETE FROM family.person WHERE id > %s", (last_loaded,))
    q(conn, "DELETE FROM plain.person WHERE id > %s", (last_loaded,))
    for t in tables:
        q(conn, f"ALTER TABLE {t} RESET (autovacuum_enabled)")
        q(conn, f"VACUUM ANALYZE {t}")
    one, two, plain_one, plain_two = (statistics.median(rounds[k])
                                      for k in ("one", "two", "plain_one", "plain_two"))
    report("2 clients adding children in unrelated families vs 1 client", two / one,
           lambda r: r >= 1.6, f"{two:,.0f} vs {one:,.0f} children/s; plain INSERT scales "
           f"{plain_two / plain_one:.2f}x ({plain_two:,.0f} vs {plain_one:,.0f}); "
           f"backends waiting on a lock in {waits:.1%} of samples")

    # 3. A rank change on a person with D descendants vs a plain UPDATE of the D rows.
    q(conn, """DROP TABLE IF EXISTS bench_root;
               CREATE UNLOGGED TABLE bench_root (root bigint, ids bigint[]);""")
    # Candidates across generations; their descendant counts, then the
    # closest to each size.
    candidates = families(conn, range(4, 33, 2), 6, 20000)
    for want in (100, 1000, 10000):
        root = closest(candidates, want)[0]
        ids = [r[0] for r in q(conn, "SELECT person_id FROM family.descendants(%s)", (root,))]
        d = len(ids)
        ext, plain = [], []
        for k in range(6):
            ext.append(timed(conn, "UPDATE family.person SET father_rank = %s WHERE id = %s",
                             (1 + 4 * (k % 2), root)))
            plain.append(timed(conn, """UPDATE plain.person
                SET ancestor_relationship_rank = 6 - ancestor_relationship_rank,
                    link_rank_sums = link_rank_sums, updated_at = now()
                WHERE id = ANY(%s)""", (ids + [root],)))
        e, p = statistics.median(ext), statistics.median(plain)
        report(f"rank change, {d} descendants: extension vs plain UPDATE of {d + 1} rows",
               e / p, lambda r: r <= 2, f"{e * 1000:.1f} ms vs {p * 1000:.1f} ms")

    # 4. A childless person gets a parent 10,000 generations deep vs 1 deep.
    q(conn, """DELETE FROM family.person WHERE first_name IN ('line', 'bench-child');
               INSERT INTO family.person (first_name) VALUES ('line');""")
    q(conn, """DO $$
               DECLARE last bigint := (SELECT max(id) FROM family.person WHERE first_name = 'line');
               BEGIN
                 FOR i IN 1..10000 LOOP
                   INSERT INTO family.person (first_name, father_id, father_rank)
                   VALUES ('line', last, 1 + i % 5) RETURNING id INTO last;
                 END LOOP;
               END $$;""")
    deep, shallow = q(conn, """SELECT max(id) FILTER (WHERE generation = 10000),
                                      max(id) FILTER (WHERE generation = 1)
                                 FROM family.person WHERE first_name = 'line'""")[0]
    child = q(conn, "INSERT INTO family.person (first_name) VALUES ('bench-child') RETURNING id")[0][0]
    d_t, s_t = [], []
    for k in range(200):
        d_t.append(timed(conn, "UPDATE family.person SET father_id = %s, father_rank = %s WHERE id = %s",
                         (deep, 1 + k % 5, child)))
        s_t.append(timed(conn, "UPDATE family.person SET father_id = %s, father_rank = %s WHERE id = %s",
                         (shallow, 1 + k % 5, child)))
    e, p = statistics.median(d_t), statistics.median(s_t)
    report("new parent 10,000 generations deep vs 1 deep (childless person)", e / p,
           lambda r: r <= 1.2, f"{e * 1e6:.0f} us vs {p * 1e6:.0f} us")

    # 5. Reading the stored rank vs computing it from scratch.
    read = "\\set id random(1, :maxid)\nSELECT ancestor_relationship_rank FROM family.person WHERE id = :id;\n"
    compute = "\\set id random(1, :maxid)\nSELECT family.compute_ancestor_rank(id) FROM family.person WHERE id = :id;\n"
    # Persons of the generated genealogy only (not the 10,000-generation line).
    PGBENCH_VARIABLES["maxid"] = last_loaded
    r1, c1 = pgbench(dsn_args, read, args.seconds // 2), pgbench(dsn_args, compute, args.seconds // 2)
    report("compute_ancestor_rank from scratch vs reading the stored rank", r1 / c1,
           lambda r: True, f"{c1:,.0f} vs {r1:,.0f} reads/s")

    # 6. Whole recomputation: repair() on the genealogy, and its memory (the
    # backend's private memory, sampled while it runs: shared buffers aside).
    stop = backend_memory_peak(q(conn, "SELECT pg_backend_pid()")[0][0])
    t = time.perf_counter()
    changed = q(conn, "SELECT family.repair()")[0][0]
    repair_s = time.perf_counter() - t
    peak = stop()
    t = time.perf_counter()
    q(conn, "SELECT count(*) FROM family.person")
    scan_s = time.perf_counter() - t
    report("repair() of every person vs counting them", repair_s / scan_s, lambda r: True,
           f"{repair_s:.1f} s, {changed} rows changed, backend private memory peak "
           f"{peak} MiB")

    if "kinship" not in args.skip:
        bench_kinship(conn, last_loaded)
    bench_check(conn)
    summary()


def backend_memory_peak(pid):
    """Starts sampling a backend's private memory (RssAnon: shared buffers
    aside) every 20 ms; returns stop(), which gives the peak in MiB."""
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                with open(f"/proc/{pid}/status") as f:
                    anon = next(int(line.split()[1]) for line in f if line.startswith("RssAnon"))
            except (FileNotFoundError, ProcessLookupError):
                return
            peak[0] = max(peak[0], anon)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def stop():
        done.set()
        sampler.join()
        return peak[0] // 1024
    return stop


def bench_import(params, persons):
    """family.import_gedcom of the benchmark genealogy as a GEDCOM file
    (bench/gedcom.py writes it, not the extension) vs plain COPY of the same
    rows into plain tables, in a database of its own; the importing
    backend's private memory peak."""
    genealogy = subprocess.run([sys.executable, os.path.join(HERE, "genealogy.py"), str(persons)],
                               capture_output=True, check=True).stdout
    ged = subprocess.run([sys.executable, os.path.join(HERE, "gedcom.py")], input=genealogy,
                         capture_output=True, check=True).stdout
    del genealogy
    admin = psycopg2.connect(" ".join(f"{k}={v}" for k, v in {**params, "dbname": "postgres"}.items()))
    admin.autocommit = True
    q(admin, "DROP DATABASE IF EXISTS family_import WITH (FORCE)")
    q(admin, "CREATE DATABASE family_import")
    try:
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)
            path = os.path.join(d, "genealogy.ged")
            with open(path, "wb") as f:
                f.write(ged)
            conn = psycopg2.connect(" ".join(f"{k}={v}" for k, v in
                                             {**params, "dbname": "family_import"}.items()))
            conn.autocommit = True
            q(conn, "CREATE EXTENSION family")
            stop = backend_memory_peak(q(conn, "SELECT pg_backend_pid()")[0][0])
            t = time.perf_counter()
            q(conn, "SELECT family.import_gedcom(pg_read_binary_file(%s))", (path,))
            import_s = time.perf_counter() - t
            peak = stop()
            n, issues = q(conn, "SELECT persons, issues FROM family.gedcom_import")[0]
            plain_s = copy_to_plain(conn)
            bench_export(conn, d)
            conn.close()
    finally:
        q(admin, "DROP DATABASE IF EXISTS family_import WITH (FORCE)")
        admin.close()
    report("GEDCOM import vs plain COPY of the same rows", import_s / plain_s,
           lambda r: r <= 2, f"{import_s:.1f} s vs {plain_s:.1f} s for {n} persons, "
           f"{len(ged) / 2**20:.0f} MiB file, {n / import_s:,.0f} persons/s, {issues} issues; "
           f"backend private memory peak {peak} MiB")


def bench_export(conn, directory):
    """family.export_gedcom of everyone (the genealogy just imported) vs
    COPY of the same rows to a file, persons per second and the exporting
    backend's memory peak; then the exported file imported again: the same
    persons, links and relationships, no issue."""
    q(conn, "VACUUM ANALYZE family.person")
    q(conn, "VACUUM ANALYZE family.relationship")
    n, links, rels = q(conn, """SELECT count(*), count(father_id) + count(mother_id),
                                       (SELECT count(*) FROM family.relationship)
                                  FROM family.person""")[0]
    path = os.path.join(directory, "exported.ged")
    stop = backend_memory_peak(q(conn, "SELECT pg_backend_pid()")[0][0])
    t = time.perf_counter()
    q(conn, "SELECT pg_catalog.octet_length(family.export_gedcom())")
    export_s = time.perf_counter() - t
    peak = stop()
    t = time.perf_counter()
    q(conn, """COPY (SELECT p.id, p.first_name, p.last_name, p.sex, p.birth_date, p.birth_place,
                            p.death_date, p.death_place, p.father_id, p.mother_id,
                            p.father_rank, p.mother_rank FROM family.person AS p ORDER BY p.id)
               TO '/dev/null'""")
    q(conn, "COPY (SELECT * FROM family.relationship ORDER BY id) TO '/dev/null'")
    copy_s = time.perf_counter() - t
    report("GEDCOM export: persons per second (target >= 200,000)", n / export_s,
           lambda r: r >= 200_000, f"{export_s:.1f} s for {n} persons, {export_s / copy_s:.2f}x "
           f"COPY of the same rows to /dev/null ({copy_s:.1f} s); backend private memory peak "
           f"{peak} MiB", unit=" /s")
    # The exported file, imported: everything again, nothing skipped.
    with open(path, "w", encoding="utf-8") as f:
        f.write(q(conn, "SELECT family.export_gedcom()")[0][0])
    q(conn, "TRUNCATE family.person, family.relationship, family.gedcom_import CASCADE")
    t = time.perf_counter()
    q(conn, "SELECT family.import_gedcom(pg_read_binary_file(%s))", (path,))
    reimport_s = time.perf_counter() - t
    got = q(conn, """SELECT (SELECT count(*) FROM family.person),
                            (SELECT count(father_id) + count(mother_id) FROM family.person),
                            (SELECT count(*) FROM family.relationship),
                            (SELECT issues FROM family.gedcom_import)""")[0]
    same = tuple(got) == (n, links, rels, 0)
    report("import of the exported file vs plain COPY of the same rows (target <= 2)",
           reimport_s / copy_to_plain(conn), lambda r: same and r <= 2,
           f"{reimport_s:.1f} s; persons, parent links, relationships and issues "
           f"{'the same as before' if same else f'differ: {got} vs {(n, links, rels, 0)}'}")


def bench_kinship(conn, last_loaded):
    """family.kinship on 1,000 random pairs of the generated genealogy (the
    same pairs every run), in a new session: median and p99 of one call.
    The session's first calls read persons through the primary key, until
    they have cost what copying every person's parents is estimated to;
    then the copy is read (its time is in the figures). Beside it: the
    first 200 pairs through the primary key only (family.kinship_cache_size =
    0), the backend's private memory, and both walks alone in memory
    (bench/kinship_walk.cpp), which tells the walk's own cost from the rest."""
    rng = random.Random(7)
    ids = [r[0] for r in q(conn, "SELECT id FROM family.person WHERE id <= %s", (last_loaded,))]
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(1000)]

    def run(pairs, cache_size):
        session = psycopg2.connect(conn.dsn)
        session.autocommit = True
        q(session, "SET family.kinship_cache_size = %s", (cache_size,))
        q(session, "SET client_min_messages = debug2")
        pid = q(session, "SELECT pg_backend_pid()")[0][0]
        anon = lambda: int(next(line.split()[1] for line in open(f"/proc/{pid}/status")
                                if line.startswith("RssAnon:")))
        before = anon()
        times, related, first_copy = [], 0, None
        for a, b in pairs:
            t = time.perf_counter()
            rows = q(session, "SELECT * FROM family.kinship(%s, %s)", (a, b))
            times.append(time.perf_counter() - t)
            related += bool(rows)
            if first_copy is None and any("kinship: in " in n for n in session.notices):
                first_copy = len(times)
        grown = (anon() - before) / 1024
        copies = [float(n.split("in ")[1].split(" ms")[0]) for n in session.notices
                  if "kinship: in " in n]
        session.close()
        ordered = sorted(times)
        return (statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1], ordered[-1],
                related, grown, copies, first_copy)

    median, p99, slowest, related, grown, copies, first_copy = run(pairs, "256MB")
    i_median, i_p99, _, _, i_grown, _, _ = run(pairs[:200], "0")
    t = time.perf_counter()
    for _ in range(200):
        q(conn, "SELECT 1")
    trivial = (time.perf_counter() - t) / 200
    with tempfile.TemporaryDirectory() as d:
        walk = os.path.join(d, "kinship_walk")
        subprocess.run(["g++", "-O2", "-std=c++17", "-I", os.path.join(HERE, "..", "extension", "src"),
                        "-o", walk, os.path.join(HERE, "kinship_walk.cpp"),
                        os.path.join(HERE, "..", "extension", "src", "kinship.cpp")], check=True)
        persons, pair_file = os.path.join(d, "persons.csv"), os.path.join(d, "pairs.txt")
        with open(persons, "w") as f, conn.cursor() as cur:
            cur.copy_expert("COPY (SELECT id, father_id, mother_id, generation FROM family.person)"
                            " TO STDOUT WITH (FORMAT csv)", f)
        with open(pair_file, "w") as f:
            f.writelines(f"{a} {b}\n" for a, b in pairs)
        w_median, w_p99, v_median, v_p99, f_median, f_p99 = subprocess.run(
            [walk, persons, pair_file], capture_output=True, text=True, check=True).stdout.split()
    copy_text = (f"the copy read {len(copies)} time(s), {copies[0]:.0f} ms, at call {first_copy}"
                 if copies else "the copy never read")
    report("kinship of a random pair, p99 (target <= 50 ms)", p99 * 1000, lambda r: r <= 50,
           f"median {median * 1000:.1f} ms, slowest {slowest * 1000:.1f} ms, {related} of "
           f"1000 pairs related; {copy_text}; backend private memory +{grown:.0f} MiB; "
           f"a trivial query {trivial * 1000:.2f} ms", unit=" ms")
    report("kinship p99 through the primary key only vs with the copy", i_p99 / p99,
           lambda r: True,
           f"first 200 pairs with family.kinship_cache_size = 0: median {i_median * 1000:.1f} ms, "
           f"p99 {i_p99 * 1000:.1f} ms, +{i_grown:.0f} MiB; the walks alone in memory: "
           f"GraphWalk median {f_median} ms, p99 {f_p99} ms; nearest_common_ancestors median "
           f"{w_median} ms, p99 {w_p99} ms; persons met median {v_median}, p99 {v_p99}")


def in_transaction(conn, statements):
    """Runs the statements in one transaction, deferred foreign keys checked
    at its end (SET CONSTRAINTS ALL IMMEDIATE), and rolls it back: the time
    is the work's CPU, with no commit to wait for, and the data stays."""
    conn.autocommit = False
    try:
        t = time.perf_counter()
        for sql in statements:
            q(conn, sql)
        q(conn, "SET CONSTRAINTS ALL IMMEDIATE")
        return time.perf_counter() - t
    finally:
        conn.rollback()
        conn.autocommit = True


def bench_write_path(conn, rounds=3):
    """Issue 14's figures: the same writes through the extension and into
    plain tables (same columns, constraints, indexes, deferred keys, no
    triggers), each in one transaction, alternating rounds."""
    depth = q(conn, "SELECT round(avg(cardinality(link_counts)))::int FROM family.person")[0][0]
    arrays = f"array_fill(7.0::float8, ARRAY[{depth}]), array_fill(2.0::float8, ARRAY[{depth}])"
    q(conn, "SELECT setval(pg_get_serial_sequence('plain.person', 'id'), "
            "greatest((SELECT max(id) FROM family.person), (SELECT max(id) FROM plain.person)))")
    q(conn, "SELECT setval(pg_get_serial_sequence('family.person', 'id'), "
            "(SELECT max(id) FROM family.person))")
    q(conn, "SELECT setval(pg_get_serial_sequence('plain.relationship', 'id'), "
            "(SELECT max(id) FROM family.relationship))")
    # 1. 50,000 children, one INSERT each, of couples with 1-4 children.
    q(conn, """DROP TABLE IF EXISTS bench_kids;
               CREATE UNLOGGED TABLE bench_kids AS
               SELECT row_number() OVER (ORDER BY c.n, g) AS i, c.person_a AS f, c.person_b AS m,
                      1 + (c.n + g) % 5 AS fr, 1 + (c.n * 7 + g) % 5 AS mr
                 FROM (SELECT person_a, person_b, row_number() OVER (ORDER BY id) AS n
                         FROM family.relationship WHERE id % 3 = 0) AS c,
                      LATERAL generate_series(1, 1 + (c.n % 4)::int) AS g;
               DELETE FROM bench_kids WHERE i > 50000; ANALYZE bench_kids;""")
    kids = q(conn, "SELECT count(*) FROM bench_kids")[0][0]
    row_by_row = """DO $$ DECLARE k record; BEGIN
        FOR k IN SELECT * FROM bench_kids ORDER BY i LOOP
            INSERT INTO {table} (first_name, father_id, father_rank, mother_id, mother_rank{extra})
            VALUES ('kid', k.f, k.fr, k.m, k.mr{values});
        END LOOP; END $$"""
    ext_rows = row_by_row.format(table="family.person", extra="", values="")
    plain_rows = row_by_row.format(table="plain.person",
                                   extra=", generation, link_rank_sums, link_counts",
                                   values=f", 1, {arrays}")
    # 2. A rank change above as many descendants as the issue measured
    # (46,294 at 1M persons), whatever the genealogy's size: the closest of
    # the first persons of generations 3-24.
    root, d = closest(families(conn, range(3, 25), 6, 200000), 46294)
    q(conn, f"""DROP TABLE IF EXISTS bench_line;
                CREATE UNLOGGED TABLE bench_line AS
                SELECT person_id AS id FROM family.descendants({root}) UNION SELECT {root};""")
    rank = q(conn, "SELECT father_rank FROM family.person WHERE id = %s", (root,))[0][0]
    ext_rank = [f"UPDATE family.person SET father_rank = {1 + rank % 5} WHERE id = {root}"]
    plain_rank = ["""UPDATE plain.person AS p
                        SET ancestor_relationship_rank = 6 - p.ancestor_relationship_rank,
                            link_rank_sums = p.link_rank_sums, updated_at = now()
                       FROM bench_line AS l WHERE p.id = l.id"""]
    # 3. 100,000 persons by INSERT ... SELECT: 20,000 parents, their 10,000
    # couples, then 80,000 children.
    bulk = """
        CREATE TEMP TABLE new_parents ON COMMIT DROP AS
        SELECT g AS n, nextval(pg_get_serial_sequence('{table}', 'id')) AS id
          FROM generate_series(1, 20000) AS g;
        INSERT INTO {table} (id, first_name{extra}) OVERRIDING SYSTEM VALUE
        SELECT id, 'parent'{values} FROM new_parents;
        INSERT INTO {rel} (person_a, person_b)
        SELECT a.id, b.id FROM new_parents AS a JOIN new_parents AS b ON b.n = a.n + 1
         WHERE a.n % 2 = 1;
        INSERT INTO {table} (first_name, father_id, father_rank, mother_id, mother_rank{extra2})
        SELECT 'child', a.id, 1 + g % 5, b.id, 1 + (g * 3) % 5{values2}
          FROM new_parents AS a JOIN new_parents AS b ON b.n = a.n + 1,
               generate_series(1, 8) AS g
         WHERE a.n % 2 = 1"""
    ext_bulk = [bulk.format(table="family.person", rel="family.relationship", extra="",
                            values="", extra2="", values2="")]
    plain_bulk = [bulk.format(table="plain.person", rel="plain.relationship",
                              extra=", generation, link_rank_sums, link_counts",
                              values=", 0, '{}', '{}'",
                              extra2=", generation, link_rank_sums, link_counts",
                              values2=f", 1, {arrays}")]
    steps = [(f"{kids:,} children added row by row (couples, 1-4 children each)",
              [ext_rows], [plain_rows]),
             (f"a rank change above {d:,} descendants vs one UPDATE of as many rows",
              ext_rank, plain_rank),
             ("INSERT ... SELECT of 100,000 persons (10,000 couples, 80,000 children)",
              ext_bulk, plain_bulk)]
    for name, ext, plain in steps:
        e_t, p_t = [], []
        for k in range(rounds):
            for side in ((ext, e_t), (plain, p_t)) if k % 2 == 0 else ((plain, p_t), (ext, e_t)):
                # What the rounds before left (rolled back rows) goes first.
                q(conn, "VACUUM family.person, family.relationship, plain.person, "
                        "plain.relationship")
                side[1].append(in_transaction(conn, side[0]))
        e, p = statistics.median(e_t), statistics.median(p_t)
        report(name + ", in one transaction", e / p, lambda r: r <= 1.5,
               f"{e:.2f} s vs {p:.2f} s; extension vs plain tables, median of {rounds}")
    q(conn, "DROP TABLE bench_kids; DROP TABLE bench_line")


def summary():
    missed = [name for name, _r, ok in results if not ok]
    print(f"bench: {len(results) - len(missed)} of {len(results)} figures meet their targets"
          + (f"; missed: {', '.join(missed)}" if missed else ""))


def cpu_times():
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def worker_private_kib():
    """Largest private memory (RssAnon: shared buffers aside) among running
    check workers."""
    peak = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if not f.read().startswith(b"postgres: family check worker"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                peak = max(peak, next(int(line.split()[1]) for line in f
                                      if line.startswith("RssAnon")))
        except (OSError, StopIteration):
            continue
    return peak


def bench_check(conn):
    """7. The consistency check: 2 workers vs 1, all workers vs one parallel
    SELECT reading the same columns, and how busy the CPUs are meanwhile."""
    q(conn, "SET family.smtp_url = ''")
    n = q(conn, "SELECT count(*) FROM family.person")[0][0]
    cpus = os.cpu_count()
    # The same columns the check reads, every person joined to its parents,
    # by a parallel plan with as many processes as the check has workers.
    q(conn, f"SET max_parallel_workers_per_gather = {cpus - 1}")
    plain = """SELECT count(*), sum(p.generation + coalesce(f.generation, 0) + coalesce(m.generation, 0)),
                      sum(p.ancestor_relationship_rank),
                      sum(cardinality(p.link_rank_sums) + cardinality(p.link_counts)
                          + coalesce(cardinality(f.link_rank_sums) + cardinality(f.link_counts), 0)
                          + coalesce(cardinality(m.link_rank_sums) + cardinality(m.link_counts), 0))
                 FROM family.person p
                 LEFT JOIN family.person f ON f.id = p.father_id
                 LEFT JOIN family.person m ON m.id = p.mother_id"""
    one, two, every, select, busy, peak = [], [], [], [], [], [0]
    select_one, select_two = [], []
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], worker_private_kib())
            time.sleep(0.05)

    q(conn, "SELECT family.run_consistency_check(0)")  # warm the cache
    for k in range(5):
        # Alternating which goes first: drift of the machine cancels out.
        for workers in ((1, 2) if k % 2 == 0 else (2, 1)):
            (one if workers == 1 else two).append(
                timed(conn, f"SELECT family.run_consistency_check({workers})"))
        b0, t0 = cpu_times()
        every.append(timed(conn, "SELECT family.run_consistency_check(0)"))
        b1, t1 = cpu_times()
        busy.append((b1 - b0) / (t1 - t0))
        select.append(timed(conn, plain))
        # The machine's own scaling on the same data: the parallel SELECT
        # with 2 processes vs 1 (what 2 workers vs 1 can hope for).
        for procs in ((1, 2) if k % 2 == 0 else (2, 1)):
            q(conn, f"SET max_parallel_workers_per_gather = {procs - 1}")
            (select_one if procs == 1 else select_two).append(timed(conn, plain))
        q(conn, f"SET max_parallel_workers_per_gather = {cpus - 1}")
    # Memory in a run of its own: sampling /proc costs CPU the timed runs need.
    sampler = threading.Thread(target=sample)
    sampler.start()
    q(conn, "SELECT family.run_consistency_check(0)")
    done.set()
    sampler.join()
    findings = q(conn, "SELECT sum(findings) FROM family.check_run WHERE status <> 'running'"
                       " AND id > (SELECT max(id) - 17 FROM family.check_run)")[0][0]
    o, t, e, s = (statistics.median(x) for x in (one, two, every, select))
    report("consistency check: 2 workers vs 1 (speed-up)", o / t, lambda r: r >= 1.8,
           f"{t:.2f} s vs {o:.2f} s for {n:,} persons, {findings} findings")
    s1, s2 = statistics.median(select_one), statistics.median(select_two)
    report("control: the parallel SELECT, 2 processes vs 1 (speed-up)", s1 / s2, lambda r: True,
           f"{s2:.2f} s vs {s1:.2f} s")
    report(f"consistency check, {cpus} workers vs a parallel SELECT of the same columns", e / s,
           lambda r: r <= 2, f"{e:.2f} s vs {s:.2f} s; check worker private memory peak {peak[0] // 1024} MiB")
    u = statistics.median(busy)
    report("CPU busy during the check (all cores = 1.00)", u, lambda r: r >= 0.9,
           f"{u * cpus:.1f} of {cpus} cores")


if __name__ == "__main__":
    main()
