#!/usr/bin/python3
"""End-to-end tests of the consistency check (SPEC section 6) against a real
cluster (PGHOST/PGPORT/PGUSER, database `family`, pg_cron preloaded) and a
real SMTP server (aiosmtpd, in this process).

Usage: check_test.py [--persons N] [test names...]
Prints one line per test and "check: N passed, M failed".
"""
import argparse
import email
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

import psycopg2
from aiosmtpd.controller import Controller

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PGBIN = "/usr/lib/postgresql/15/bin"
DSN = f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} user={os.environ['PGUSER']} dbname=family"


class Sink:
    """An SMTP server keeping every message; stop() and start() take it down and up."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def mail_of(self, run, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.messages:
                if re.search(rf"consistency check run {run} ", m["Subject"]):
                    return m.get_payload(decode=True).decode()
            time.sleep(0.05)
        raise AssertionError(f"no mail for run {run}; subjects: {[m['Subject'] for m in self.messages]}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(retries=100):
    for i in range(retries):
        try:
            conn = psycopg2.connect(DSN)
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError:
            if i == retries - 1:
                raise
            time.sleep(0.2)


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def one(conn, sql, args=None):
    return q(conn, sql, args)[0][0]


def expect_error(conn, sql, sqlstate, pattern=""):
    try:
        q(conn, sql)
    except psycopg2.Error as e:
        assert e.pgcode == sqlstate, f"{sql}: {e.pgcode} {e.pgerror}"
        assert re.search(pattern, e.pgerror), f"{e.pgerror!r} lacks {pattern!r}"
        return e
    raise AssertionError(f"{sql}: no error, expected {sqlstate}")


def last_run(conn):
    return one(conn, "SELECT max(id) FROM family.check_run")


def run_row(conn, run):
    cols = ["status", "error", "findings", "persons_checked", "workers", "mail_status", "mail_error"]
    return dict(zip(cols, q(conn, f"SELECT {', '.join(cols)} FROM family.check_run WHERE id = %s",
                            (run,))[0]))


def findings(conn, run):
    return set(q(conn, "SELECT person_id, kind FROM family.check_finding WHERE run_id = %s", (run,)))


def wait_for(predicate, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def workers_waiting(conn):
    """pids of check workers blocked on a lock."""
    return [r[0] for r in q(conn, """SELECT pid FROM pg_stat_activity
                                      WHERE backend_type = 'family check worker'
                                        AND wait_event_type = 'Lock'""")]


class Background:
    """A statement run in a thread on its own connection; join() gives the outcome."""

    def __init__(self, sql, setup=()):
        self.conn = connect()
        for statement in setup:  # e.g. SET: run_consistency_check() refuses a block
            q(self.conn, statement)
        self.pid = self.conn.get_backend_pid()
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(sql,))
        self.thread.start()

    def _run(self, sql):
        try:
            self.result = q(self.conn, sql)
        except psycopg2.Error as e:
            self.error = e

    def join(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background statement still running"
        self.conn.close()
        return self


class Locked:
    """Holds ACCESS EXCLUSIVE on a table: by default family.relationship,
    which the check workers read and the coordinator does not."""

    def __init__(self, table="family.relationship"):
        self.table = table

    def __enter__(self):
        self.conn = psycopg2.connect(DSN)
        q(self.conn, f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.conn.close()  # ends the transaction, if the server has not already


# ---- tests -----------------------------------------------------------------

def test_clean_run_and_mail(conn, sink):
    run = one(conn, "SELECT family.run_consistency_check(2)")
    row = run_row(conn, run)
    n = one(conn, "SELECT count(*) FROM family.person")
    assert row["status"] == "clean" and row["findings"] == 0, row
    assert row["persons_checked"] == n and row["workers"] == 2, (row, n)
    assert row["mail_status"] == "sent", row
    body = sink.mail_of(run)
    assert f"persons checked   {n}" in body and "clean" in body, body


def test_workers_overlap(conn, sink):
    run = one(conn, "SELECT family.run_consistency_check(2)")
    rows = q(conn, """SELECT started_at, finished_at, persons_checked, pid FROM family.check_worker
                       WHERE run_id = %s""", (run,))
    assert len(rows) == 2 and len({r[3] for r in rows}) == 2, rows
    assert all(r[2] > 0 for r in rows), f"a worker checked nobody: {rows}"
    assert max(r[0] for r in rows) < min(r[1] for r in rows), f"no overlap: {rows}"


def test_default_workers_one_per_cpu(conn, sink):
    q(conn, "SET family.check_workers = 0")
    run = one(conn, "SELECT family.run_consistency_check()")
    assert run_row(conn, run)["workers"] == os.cpu_count()
    q(conn, "SET family.check_workers = 1")
    run = one(conn, "SELECT family.run_consistency_check()")
    assert run_row(conn, run)["workers"] == 1
    q(conn, "RESET family.check_workers")


def test_corruption_found_and_repaired(conn, sink):
    # Three persons with parents, one corrupted column each, behind the
    # triggers' back; one person with a parent that does not exist; a child
    # of two persons who were never a couple.
    # Corrupted persons are childless: a child of one would see its wrong values.
    a, b, c = (r[0] for r in q(conn, """SELECT id FROM family.person p
                                         WHERE father_id IS NOT NULL AND mother_id IS NOT NULL
                                           AND NOT EXISTS (SELECT FROM family.person c
                                                            WHERE p.id IN (c.father_id, c.mother_id))
                                         ORDER BY id LIMIT 3"""))
    x, y = one(conn, "SELECT family.add_person('x', '')"), one(conn, "SELECT family.add_person('y', '')")
    q(conn, "SET session_replication_role = replica")
    q(conn, "UPDATE family.person SET generation = generation + 3 WHERE id = %s", (a,))
    q(conn, "UPDATE family.person SET ancestor_relationship_rank = 0.5 WHERE id = %s", (b,))
    q(conn, "UPDATE family.person SET link_counts[1] = 7 WHERE id = %s", (c,))
    ghost = one(conn, """INSERT INTO family.person (father_id, father_rank, generation,
                                                      link_rank_sums, link_counts)
                          VALUES (999999999, 3, 1, '{3}', '{1}') RETURNING id""")
    # Both parents gone (a restore without them): two findings, both kept.
    orphan = one(conn, """INSERT INTO family.person (father_id, father_rank, mother_id, mother_rank,
                                                      generation, link_rank_sums, link_counts)
                          VALUES (999999997, 3, 999999998, 2, 0, '{}', '{}') RETURNING id""")
    orphan_of_strangers = one(conn, """INSERT INTO family.person
                          (father_id, father_rank, mother_id, mother_rank, generation,
                           link_rank_sums, link_counts, ancestor_relationship_rank)
                          VALUES (%s, 2, %s, 4, 1, '{6}', '{2}', 0) RETURNING id""", (x, y))
    q(conn, "RESET session_replication_role")
    run = one(conn, "SELECT family.run_consistency_check(2)")
    got = findings(conn, run)
    want = {(a, "generation"), (b, "ancestor_rank"), (c, "link_vectors"),
            (ghost, "missing_father"), (ghost, "generation"), (ghost, "link_vectors"),
            (orphan_of_strangers, "couple"), (orphan_of_strangers, "ancestor_rank"),
            (orphan, "missing_father"), (orphan, "missing_mother"), (orphan, "couple")}
    assert got == want, f"unexpected {got - want}, missing {want - got}"
    row = run_row(conn, run)
    assert row["status"] == "findings" and row["findings"] == len(want), row
    body = sink.mail_of(run)
    assert f"person {a}" in body and "missing_father" in body and "family.repair()" in body, body
    # Data repair cannot guess goes first; then repair() fixes the rest.
    q(conn, "DELETE FROM family.person WHERE id IN (%s, %s, %s, %s, %s)",
      (ghost, orphan, orphan_of_strangers, x, y))
    assert one(conn, "SELECT family.repair()") == 3
    run = one(conn, "SELECT family.run_consistency_check(2)")
    assert run_row(conn, run)["status"] == "clean" and not findings(conn, run)


def test_relationships_checked(conn, sink):
    # Behind the triggers' back (and the foreign keys'): a person given a
    # second current relationship, a relationship naming a person who does
    # not exist. The workers check relationships by slices too.
    p, x, y = (one(conn, "SELECT family.add_person(%s, '')", (n,)) for n in ("p", "x", "y"))
    first = one(conn, "SELECT family.start_relationship(%s, %s)", (p, x))
    q(conn, "SET session_replication_role = replica")
    second = one(conn, "INSERT INTO family.relationship (person_a, person_b) VALUES (%s, %s)"
                       " RETURNING id", (y, p))
    dangling = one(conn, "INSERT INTO family.relationship (person_a, person_b, ended_at)"
                         " VALUES (%s, 88888888, now()) RETURNING id", (x,))
    q(conn, "RESET session_replication_role")
    try:
        run = one(conn, "SELECT family.run_consistency_check(2)")
        rows = q(conn, "SELECT person_id, kind, relationship_id, expected, actual"
                       "  FROM family.check_finding WHERE run_id = %s ORDER BY person_id", (run,))
        assert rows == [
            (p, "current_relationships", min(first, second), "at most one current relationship",
             f"current relationships {min(first, second)}, {max(first, second)}"),
            (88888888, "relationship_person", dangling,
             f"person 88888888 of relationship {dangling} exists", "no such person")], rows
        total = one(conn, "SELECT count(*) FROM family.relationship")
        checked = one(conn, "SELECT relationships_checked FROM family.check_run WHERE id = %s", (run,))
        assert checked == total, (checked, total)
        body = sink.mail_of(run)
        assert "current_relationships" in body and "person 88888888" in body, body
        assert f"relationships     {total} checked" in body, body
    finally:
        q(conn, "DELETE FROM family.relationship WHERE id IN (%s, %s)", (second, dangling))
    run = one(conn, "SELECT family.run_consistency_check(2)")
    assert run_row(conn, run)["status"] == "clean" and not findings(conn, run)


def test_rank_pairing(conn, sink):
    # Only a dropped constraint lets a rank go without its parent.
    p = one(conn, "SELECT id FROM family.person WHERE father_id IS NULL ORDER BY id LIMIT 1")
    q(conn, "ALTER TABLE family.person DROP CONSTRAINT person_father_rank_iff_father")
    try:
        q(conn, "SET session_replication_role = replica")
        q(conn, "UPDATE family.person SET father_rank = 3 WHERE id = %s", (p,))
        q(conn, "RESET session_replication_role")
        run = one(conn, "SELECT family.run_consistency_check(2)")
        assert findings(conn, run) == {(p, "father_rank_pairing")}, findings(conn, run)
        assert one(conn, "SELECT actual FROM family.check_finding WHERE run_id = %s",
                   (run,)) == "father_id null, father_rank 3"
    finally:
        q(conn, "RESET session_replication_role")
        q(conn, "UPDATE family.person SET father_rank = NULL WHERE id = %s AND father_id IS NULL", (p,))
        q(conn, """ALTER TABLE family.person ADD CONSTRAINT person_father_rank_iff_father
                   CHECK ((father_id IS NULL) = (father_rank IS NULL))""")


def test_cycle_reported(conn, sink):
    # A person becomes the father of their own grandfather.
    child, grandfather, father_rank = q(conn, """
        SELECT c.id, f.father_id, ff.father_rank FROM family.person c
          JOIN family.person f ON f.id = c.father_id
          JOIN family.person ff ON ff.id = f.father_id
         WHERE ff.father_id IS NULL ORDER BY c.id LIMIT 1""")[0]
    q(conn, "SET session_replication_role = replica")
    q(conn, "UPDATE family.person SET father_id = %s, father_rank = 2 WHERE id = %s",
      (child, grandfather))
    q(conn, "RESET session_replication_role")
    try:
        run = one(conn, "SELECT family.run_consistency_check(2)")
        cycle = {p for p, kind in findings(conn, run) if kind == "cycle"}
        assert grandfather in cycle, findings(conn, run)
        expect_error(conn, "SELECT family.repair()", "FA001", "own ancestors")
        assert "cycle" in sink.mail_of(run)
    finally:
        q(conn, "SET session_replication_role = replica")
        q(conn, "UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = %s",
          (grandfather,))
        q(conn, "RESET session_replication_role")
        q(conn, "SELECT family.repair()")
    assert run_row(conn, one(conn, "SELECT family.run_consistency_check(2)"))["status"] == "clean"


def test_error_in_worker(conn, sink):
    q(conn, "SET family.check_inject = 'error'")
    e = expect_error(conn, "SELECT family.run_consistency_check(2)", "XX000",
                     r"consistency check run \d+ failed: worker 0 .*error injected")
    q(conn, "RESET family.check_inject")
    run = last_run(conn)
    assert str(run) in e.pgerror
    row = run_row(conn, run)
    assert row["status"] == "failed" and "error injected" in row["error"], row
    sqlstate, kind, stack = q(conn, """SELECT sqlstate, exception_type, stack_trace
                                         FROM family.check_error WHERE run_id = %s""", (run,))[0]
    assert sqlstate == "XX000" and "ereport" in kind, kind
    # From the raise up through the worker's body to the process's start
    # (family_check_worker itself is a tail call into run_process).
    assert stack.startswith("#0 errfinish") and "check_slice" in stack, stack
    assert "run_worker" in stack and "run_process" in stack and "StartBackgroundWorker" in stack, stack
    body = sink.mail_of(run)
    assert "error injected in worker 0" in body and "errfinish" in body, body


def test_exception_in_worker(conn, sink):
    q(conn, "SET family.check_inject = 'exception'")
    expect_error(conn, "SELECT family.run_consistency_check(2)", "XX000", "exception injected")
    q(conn, "RESET family.check_inject")
    run = last_run(conn)
    kind, stack = q(conn, "SELECT exception_type, stack_trace FROM family.check_error"
                          " WHERE run_id = %s", (run,))[0]
    assert kind == "C++ std::logic_error", kind
    # The throw site, not the catch (which a stack starting here would be).
    assert not stack.startswith("(thrown inside") and "run_worker" in stack, stack
    body = sink.mail_of(run)
    assert "std::logic_error" in body and "run_worker" in body, body


def test_smtp_down_then_retried(conn, sink):
    sink.stop()
    try:
        run = one(conn, "SELECT family.run_consistency_check(1)")
        row = run_row(conn, run)
        assert row["status"] == "clean" and row["mail_status"] == "failed", row
        assert "connect" in row["mail_error"].lower(), row
    finally:
        sink.start()
    later = one(conn, "SELECT family.run_consistency_check(1)")
    assert run_row(conn, later)["mail_status"] == "sent"
    assert run_row(conn, run)["mail_status"] == "sent", "the failed mail was not retried"
    sink.mail_of(run)
    assert one(conn, "SELECT mail_attempts FROM family.check_run WHERE id = %s", (run,)) == 2


def test_mail_settings(conn, sink):
    q(conn, "SET family.smtp_url = ''")
    run = one(conn, "SELECT family.run_consistency_check(1)")
    row = run_row(conn, run)
    assert row["mail_status"] == "off" and "not set" in row["mail_error"], row
    q(conn, "RESET family.smtp_url")
    q(conn, "SET family.mail_to = ' , '")
    run = one(conn, "SELECT family.run_consistency_check(1)")
    assert "no recipient" in run_row(conn, run)["mail_error"]
    q(conn, "SET family.mail_to = 'dba@example.org, Ops <ops@example.org>'")
    run = one(conn, "SELECT family.run_consistency_check(1)")
    assert run_row(conn, run)["mail_status"] == "sent"
    q(conn, "RESET family.mail_to")


def test_cancelled_worker(conn, sink):
    with Locked():
        call = Background("SELECT family.run_consistency_check(2)")
        wait_for(lambda: len(workers_waiting(conn)) == 2, what="two blocked workers")
        q(conn, "SELECT pg_cancel_backend(%s)", (workers_waiting(conn)[0],))
    call.join()
    assert call.error is not None and call.error.pgcode == "XX000", call.error
    run = last_run(conn)
    assert run_row(conn, run)["status"] == "failed"
    assert one(conn, "SELECT sqlstate || ' ' || message FROM family.check_error WHERE run_id = %s",
               (run,)) == "57014 canceling statement due to user request"
    assert "canceling statement due to user request" in sink.mail_of(run)


def test_cancelled_caller(conn, sink):
    with Locked():
        call = Background("SELECT family.run_consistency_check(2)")
        wait_for(lambda: len(workers_waiting(conn)) == 2, what="two blocked workers")
        q(conn, "SELECT pg_cancel_backend(%s)", (call.pid,))
        call.join()
        assert call.error is not None and call.error.pgcode == "57014", call.error
    run = last_run(conn)
    wait_for(lambda: run_row(conn, run)["status"] != "running", what="the run to end")
    row = run_row(conn, run)
    assert row["status"] == "failed" and "cancelled" in row["error"], row
    assert "cancelled" in sink.mail_of(run)
    # The coordinator and workers exit once the run is recorded and mailed
    # (a moment after): none is left behind.
    wait_for(lambda: not q(conn, "SELECT pid FROM pg_stat_activity"
                                 " WHERE backend_type LIKE 'family check%'"),
             timeout=5, what="the check's processes to exit")


def test_cancelled_while_mail_server_silent(conn, sink):
    """A coordinator asked to stop (its caller cancelled, or a fast shutdown)
    gives a mail server that never answers 5 s, not libcurl's 60: a server's
    shutdown is not held up. The mail stays due for the next run."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing is ever said
    try:
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        with Locked():
            call = Background("SELECT family.run_consistency_check(2)",
                              setup=[f"SET family.smtp_url = '{url}'"])
            wait_for(lambda: len(workers_waiting(conn)) == 2, what="two blocked workers")
            q(conn, "SELECT pg_cancel_backend(%s)", (call.pid,))
            call.join()
        t = time.perf_counter()
        run = last_run(conn)
        wait_for(lambda: not q(conn, "SELECT pid FROM pg_stat_activity"
                                     " WHERE backend_type LIKE 'family check%'"),
                 timeout=30, what="the check's processes to exit")
        waited = time.perf_counter() - t
        assert waited < 10, f"the coordinator took {waited:.1f} s to exit"
        row = run_row(conn, run)
        assert row["status"] == "failed" and row["mail_status"] == "failed", row
        assert "given up" in row["mail_error"] and url in row["mail_error"], row
    finally:
        silent.close()


def test_no_free_slots(conn, sink):
    with Locked():
        # A run that takes every free slot, its workers blocked.
        hog = Background("SELECT family.run_consistency_check(100)")
        hog_workers = lambda: q(conn, "SELECT pid FROM pg_stat_activity"
                                      " WHERE backend_type = 'family check worker'")
        wait_for(lambda: len(workers_waiting(conn)) >= 2 and
                 len(workers_waiting(conn)) == len(hog_workers()), what="blocked workers")
        time.sleep(0.5)  # let the coordinator try (and fail) the rest
        # No slot left for a coordinator.
        expect_error(conn, "SELECT family.run_consistency_check(1)", "53400",
                     "no free background worker slot")
        # One slot: a coordinator, but no worker.
        victim = hog_workers()[0][0]
        q(conn, "SELECT pg_terminate_backend(%s)", (victim,))
        # The postmaster frees the slot soon after the worker ends.
        def starved_run():
            try:
                q(conn, "SELECT family.run_consistency_check(1)")
            except psycopg2.Error as e:
                if e.pgcode == "53400":
                    return False
                assert e.pgcode == "XX000" and "no check worker could start" in e.pgerror, e.pgerror
                return True
            raise AssertionError("the run started a worker")
        wait_for(starved_run, what="a free slot")
        starved = last_run(conn)
        assert run_row(conn, starved)["workers"] == 0
    hog.join()
    assert hog.error is not None and hog.error.pgcode == "XX000"
    notices = " ".join(hog.conn.notices)
    cap = int(one(conn, "SHOW max_worker_processes")) - 1
    assert f"100 workers requested, capped to {cap}" in notices, notices
    assert "check workers could start" in notices, notices
    run = one(conn, "SELECT max(id) FROM family.check_run WHERE id < %s", (starved,))
    statuses = [r[0] for r in q(conn, "SELECT status FROM family.check_worker WHERE run_id = %s",
                                (run,))]
    assert statuses.count("lost") == 1 and statuses.count("done") == len(statuses) - 1, statuses
    assert "ended without finishing" in sink.mail_of(run)
    # The lost worker's error has the SQLSTATE of a terminated backend.
    assert q(conn, "SELECT sqlstate FROM family.check_error WHERE run_id = %s"
                   "   AND message LIKE 'the worker ended without finishing%%'", (run,)) == [("57P01",)]


def test_coordinator_fails_recording(conn, sink):
    q(conn, "SET family.check_inject = 'coordinator'")
    expect_error(conn, "SELECT family.run_consistency_check(1)", "XX000",
                 "failed: .*error injected in the coordinator's record")
    q(conn, "RESET family.check_inject")
    run = last_run(conn)
    row = run_row(conn, run)
    assert row["status"] == "failed" and "injected" in row["error"], row
    assert row["mail_status"] == "sent" and "injected" in sink.mail_of(run)


def test_mail_bookkeeping_fails(conn, sink):
    # The run is recorded; its mail waits for the next run.
    q(conn, "SET family.check_inject = 'mail'")
    run = one(conn, "SELECT family.run_consistency_check(1)")
    q(conn, "RESET family.check_inject")
    row = run_row(conn, run)
    assert row["status"] == "clean" and row["mail_status"] == "pending", row
    one(conn, "SELECT family.run_consistency_check(1)")
    assert run_row(conn, run)["mail_status"] == "sent"
    sink.mail_of(run)


def test_cancel_while_starting(conn, sink):
    before = last_run(conn)
    with Locked("family.person"):
        call = Background("SELECT family.run_consistency_check(1)")
        wait_for(lambda: q(conn, """SELECT 1 FROM pg_stat_activity
                                     WHERE backend_type = 'family check coordinator'
                                       AND wait_event_type = 'Lock'"""), what="a blocked coordinator")
        q(conn, "SELECT pg_cancel_backend(%s)", (call.pid,))
        call.join()
        assert call.error is not None and call.error.pgcode == "57014", call.error
        # The coordinator stops at once, though the lock is still held.
        wait_for(lambda: not q(conn, """SELECT 1 FROM pg_stat_activity
                                         WHERE backend_type LIKE 'family check%'"""),
                 timeout=5, what="the coordinator to stop")
    assert last_run(conn) == before, "a run was recorded"


def test_crash_recorded_by_next_run(conn, sink):
    with Locked():
        call = Background("SELECT family.run_consistency_check(2)")
        wait_for(lambda: len(workers_waiting(conn)) == 2, what="two blocked workers")
        run = last_run(conn)
        os.kill(workers_waiting(conn)[0], signal.SIGKILL)  # the postmaster restarts everything
        call.join()
        assert call.error is not None
    # Every session of the old server ends; then the new one accepts connections.
    def old_session_gone():
        try:
            q(conn, "SELECT 1")
            return False
        except psycopg2.Error:
            return True
    wait_for(old_session_gone, what="the crash restart")
    conn = None
    def reconnected():
        nonlocal conn
        try:
            conn = connect(retries=1)
            return q(conn, "SELECT 1") is not None
        except psycopg2.Error:
            return False
    wait_for(reconnected, timeout=60, what="the server to come back")
    assert run_row(conn, run)["status"] == "running"
    later = one(conn, "SELECT family.run_consistency_check(1)")
    row = run_row(conn, run)
    assert row["status"] == "failed" and "is gone" in row["error"], row
    assert row["mail_status"] == "sent" and run_row(conn, later)["status"] == "clean"
    assert "is gone" in sink.mail_of(run)
    return conn


def test_pg_cron_runs_it(conn, sink):
    q(conn, "CREATE EXTENSION IF NOT EXISTS pg_cron")
    job = one(conn, "SELECT family.schedule_consistency_check('* * * * *')")
    assert one(conn, "SELECT family.schedule_consistency_check('* * * * *')") == job  # idempotent
    assert one(conn, "SELECT count(*) FROM cron.job WHERE jobname = 'family consistency check'") == 1
    since = one(conn, "SELECT now()")
    try:
        wait_for(lambda: q(conn, """SELECT 1 FROM cron.job_run_details
                                     WHERE jobid = %s AND status = 'succeeded'
                                       AND start_time > %s""", (job, since)),
                 timeout=150, what="pg_cron to run the job")
        assert one(conn, "SELECT count(*) FROM family.check_run WHERE started_at > %s"
                         " AND status = 'clean'", (since,)) >= 1
    finally:
        q(conn, "SELECT cron.unschedule(%s)", (job,))


def test_writers_not_blocked(conn, sink):
    """Checks back to back while writers add children, change ranks and
    relink: every check is clean, and no write waits on a check."""
    stop = threading.Event()
    stats = {"ops": 0, "max_latency": 0.0, "errors": []}
    couples = q(conn, """SELECT person_a, person_b FROM family.relationship
                          WHERE ended_at IS NULL ORDER BY id LIMIT 200""")

    def writer(k):
        w = connect()
        i = k
        while not stop.is_set():
            i += 2
            a, b = couples[i % len(couples)]
            t = time.perf_counter()
            try:
                child = one(w, "SELECT family.add_child(%s, %s, 3, 4)", (a, b))
                q(w, "UPDATE family.person SET father_rank = %s"
                     " WHERE id = %s AND father_id IS NOT NULL", (1 + i % 5, a))
                q(w, "UPDATE family.person SET mother_id = NULL, mother_rank = NULL"
                     " WHERE id = %s", (child,))
            except psycopg2.Error as e:
                if e.pgcode not in ("40P01", "40001"):
                    stats["errors"].append(e.pgerror)
            stats["max_latency"] = max(stats["max_latency"], time.perf_counter() - t)
            stats["ops"] += 1
        w.close()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    try:
        runs = [one(conn, "SELECT family.run_consistency_check(2)") for _ in range(4)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not stats["errors"], stats["errors"][:3]
    assert stats["ops"] > 20, stats
    for run in runs:
        assert run_row(conn, run)["status"] == "clean", (run, findings(conn, run))
    assert stats["max_latency"] < 1.0, stats


TESTS = [test_clean_run_and_mail, test_workers_overlap, test_default_workers_one_per_cpu,
         test_corruption_found_and_repaired, test_relationships_checked, test_rank_pairing, test_cycle_reported,
         test_error_in_worker, test_exception_in_worker, test_smtp_down_then_retried,
         test_mail_settings, test_cancelled_worker, test_cancelled_caller,
         test_cancelled_while_mail_server_silent, test_no_free_slots,
         test_coordinator_fails_recording, test_mail_bookkeeping_fails, test_cancel_while_starting,
         test_writers_not_blocked, test_pg_cron_runs_it, test_crash_recorded_by_next_run]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    sink = Sink()
    sink.start()
    conn = connect()
    q(conn, "CREATE EXTENSION IF NOT EXISTS family")
    if one(conn, "SELECT count(*) FROM family.person") == 0:
        script = subprocess.run([sys.executable, os.path.join(TOP, "bench", "genealogy.py"),
                                 str(args.persons)], capture_output=True, text=True,
                                check=True).stdout
        subprocess.run([f"{PGBIN}/psql", "-Xq", "-v", "ON_ERROR_STOP=1", DSN], input=script,
                       text=True, check=True, capture_output=True)
        q(conn, "VACUUM ANALYZE family.person")
    # Every session (pg_cron's too) mails to the sink.
    q(conn, f"ALTER DATABASE family SET family.smtp_url = 'smtp://127.0.0.1:{sink.port}'")
    conn.close()
    passed = failed = 0
    for test in TESTS:
        if args.names and test.__name__ not in args.names:
            continue
        # A session per test, closed at its end: its backend exits normally
        # (and writes its coverage data) before the crash test kills the rest.
        conn = connect()
        t = time.perf_counter()
        try:
            conn = test(conn, sink) or conn
            passed += 1
            print(f"ok   {test.__name__} ({time.perf_counter() - t:.1f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
        finally:
            conn.close()
    sink.stop()
    print(f"check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
