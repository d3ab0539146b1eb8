#!/usr/bin/python3
"""Randomized concurrent stress test of the family extension.

Several clients, each on its own connection and at a random isolation level
per transaction, run random valid and invalid operations for a bounded time:
add children, relink parents, change ranks, delete persons, start and end
relationships, and try to close cycles. Then an independent from-scratch
recomputation must agree with every stored value and the graph must have no
cycle. Exit status 0 only if every check holds.

Usage: stress.py DSN [--clients N] [--seconds S] [--seed K]
"""
import argparse
import collections
import random
import sys
import threading
import time

import psycopg2
import psycopg2.errorcodes
import psycopg2.extensions as ext

LEVELS = [ext.ISOLATION_LEVEL_READ_COMMITTED, ext.ISOLATION_LEVEL_REPEATABLE_READ,
          ext.ISOLATION_LEVEL_SERIALIZABLE]
# Errors a correct system may answer to these random operations.
EXPECTED = {
    "FA001",  # cycle
    "FA002",  # parents not a couple
    "FA003",  # already in a relationship
    "40001",  # serialization failure
    "40P01",  # deadlock between two propagations
    "23503",  # a person deleted concurrently
    "22023",  # no current relationship to end
    "23514",  # a rank set on a person whose parent was deleted meanwhile
}


def seed_data(conn, rng):
    """A few generations of couples with children, some single parents."""
    with conn.cursor() as cur:
        cur.execute("TRUNCATE family.person, family.relationship RESTART IDENTITY")
        people = [cur.execute("SELECT family.add_person('p', 'seed')") or cur.fetchone()[0]
                  for _ in range(40)]
        for _generation in range(5):
            rng.shuffle(people)
            children = []
            for i in range(0, len(people) - 1, 2):
                a, b = people[i], people[i + 1]
                cur.execute("SELECT family.start_relationship(%s, %s)", (a, b))
                for _ in range(rng.randint(1, 3)):
                    cur.execute("SELECT family.add_child(%s, %s, %s, %s)",
                                (a, b, rng.randint(1, 5), rng.randint(1, 5)))
                    children.append(cur.fetchone()[0])
                cur.execute("SELECT family.end_relationship(%s)", (a,))
            people = children
    conn.commit()


class Client(threading.Thread):
    def __init__(self, dsn, seed, deadline, outcomes, failures):
        super().__init__()
        self.conn = psycopg2.connect(dsn)
        self.rng = random.Random(seed)
        self.deadline = deadline
        self.outcomes = outcomes
        self.failures = failures
        self.lock = threading.Lock()

    def one(self, sql, args=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone() if cur.description else None

    def random_person(self, where="true"):
        row = self.one(f"SELECT id FROM family.person WHERE {where} "
                       "ORDER BY random() LIMIT 1")
        return row[0] if row else None

    # Each operation runs in its own transaction; some are meant to fail.
    def op_add_child(self):
        row = self.one("SELECT person_a, person_b FROM family.relationship "
                       "WHERE ended_at IS NULL ORDER BY random() LIMIT 1")
        if row:
            self.one("SELECT family.add_child(%s, %s, %s, %s)",
                     (row[0], row[1], self.rng.randint(1, 5), self.rng.randint(1, 5)))

    def op_add_single_parent_child(self):
        parent = self.random_person()
        if parent:
            self.one("INSERT INTO family.person (father_id, father_rank) VALUES (%s, %s)",
                     (parent, self.rng.randint(1, 5)))

    def op_rank(self):
        child = self.random_person("father_id IS NOT NULL")
        if child:
            self.one("UPDATE family.person SET father_rank = %s WHERE id = %s",
                     (self.rng.randint(1, 5), child))

    def op_relink(self):
        # A person with at most a father gets another father: any person.
        child = self.random_person("mother_id IS NULL")
        parent = self.random_person()
        if child and parent and child != parent:
            self.one("UPDATE family.person SET father_id = %s, father_rank = %s WHERE id = %s",
                     (parent, self.rng.randint(1, 5), child))

    def op_close_cycle(self):
        # Make a descendant of x the father of x: must fail with FA001.
        x = self.random_person("mother_id IS NULL AND EXISTS (SELECT FROM family.person c "
                               "WHERE c.father_id = person.id OR c.mother_id = person.id)")
        if x:
            row = self.one("SELECT person_id FROM family.descendants(%s, 4) "
                           "ORDER BY random() LIMIT 1", (x,))
            if row:
                self.one("UPDATE family.person SET father_id = %s, father_rank = 1 WHERE id = %s",
                         (row[0], x))
                # Reached only if no cycle: a concurrent relink moved it away.

    def op_start(self):
        a = self.random_person("family.partner_of(id) IS NULL")
        b = self.random_person()
        if a and b and a != b:
            self.one("SELECT family.start_relationship(%s, %s)", (a, b))

    def op_end(self):
        a = self.random_person()
        if a:
            self.one("SELECT family.end_relationship(%s)", (a,))

    def op_delete(self):
        a = self.random_person()
        if a:
            self.one("DELETE FROM family.person WHERE id = %s", (a,))

    OPS = [(op_add_child, 30), (op_add_single_parent_child, 10), (op_rank, 25), (op_relink, 15),
           (op_close_cycle, 10), (op_start, 5), (op_end, 3), (op_delete, 2)]

    def run(self):
        ops, weights = zip(*self.OPS)
        while time.monotonic() < self.deadline:
            op = self.rng.choices(ops, weights)[0]
            self.conn.set_session(isolation_level=self.rng.choice(LEVELS))
            try:
                op(self)
                self.conn.commit()
                outcome = "ok"
            except psycopg2.Error as e:
                self.conn.rollback()
                outcome = e.pgcode or "no sqlstate"
                if outcome not in EXPECTED:
                    with self.lock:
                        self.failures.append(f"{op.__name__}: {outcome} {e}")
            with self.lock:
                self.outcomes[(op.__name__, outcome)] += 1
        self.conn.close()


def verify(conn):
    """From-scratch checks; returns a list of problems."""
    problems = []
    conn.set_session(isolation_level=ext.ISOLATION_LEVEL_READ_COMMITTED)
    with conn.cursor() as cur:
        checks = {
            "ranks differing from compute_ancestor_rank":
                "SELECT count(*) FROM family.person WHERE ancestor_relationship_rank "
                "IS DISTINCT FROM family.compute_ancestor_rank(id)",
            "links where the child's generation is not above the parent's":
                "SELECT count(*) FROM family.person c JOIN family.person p "
                "ON p.id IN (c.father_id, c.mother_id) WHERE c.generation <= p.generation",
            "children of two parents that were never a couple":
                "SELECT count(*) FROM family.person c WHERE c.father_id IS NOT NULL "
                "AND c.mother_id IS NOT NULL AND NOT EXISTS (SELECT FROM family.relationship r "
                "WHERE (r.person_a, r.person_b) IN ((c.father_id, c.mother_id), "
                "(c.mother_id, c.father_id)))",
            "persons in more than one current relationship":
                "SELECT count(*) FROM (SELECT p FROM family.relationship, "
                "LATERAL (VALUES (person_a), (person_b)) AS v(p) WHERE ended_at IS NULL "
                "GROUP BY p HAVING count(*) > 1) AS t",
        }
        for name, sql in checks.items():
            cur.execute(sql)
            n = cur.fetchone()[0]
            if n:
                problems.append(f"{n} {name}")
        # For a failure: the stale persons, their links and their parents' values.
        cur.execute("""SELECT p.id, p.father_id, p.father_rank, p.mother_id, p.mother_rank,
                              p.generation, p.link_counts, p.link_rank_sums,
                              p.ancestor_relationship_rank, family.compute_ancestor_rank(p.id),
                              f.generation, f.link_counts, m.generation, m.link_counts,
                              p.updated_at, f.updated_at, m.updated_at
                         FROM family.person p
                         LEFT JOIN family.person f ON f.id = p.father_id
                         LEFT JOIN family.person m ON m.id = p.mother_id
                        WHERE p.ancestor_relationship_rank
                              IS DISTINCT FROM family.compute_ancestor_rank(p.id) LIMIT 5""")
        for row in cur.fetchall():
            problems.append(f"stale person: {row}")
        try:
            cur.execute("SELECT family.repair()")  # from scratch, Kahn: raises FA001 on a cycle
            n = cur.fetchone()[0]
            if n:
                problems.append(f"{n} persons whose stored derived values repair() changed")
        except psycopg2.Error as e:
            problems.append(f"repair failed: {e.pgcode} {e}")
        conn.rollback()
        cur.execute("SELECT count(*), max(generation) FROM family.person")
        persons, depth = cur.fetchone()
    return problems, persons, depth


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--ops", default="", help="comma-separated subset of operations")
    parser.add_argument("--levels", default="rc,rr,sz", help="isolation levels to draw from")
    args = parser.parse_args()

    global LEVELS
    if args.ops:
        Client.OPS = [(op, w) for op, w in Client.OPS if op.__name__[3:] in args.ops.split(",")]
    LEVELS = [dict(rc=LEVELS[0], rr=LEVELS[1], sz=LEVELS[2])[x] for x in args.levels.split(",")]
    conn = psycopg2.connect(args.dsn)
    seed_data(conn, random.Random(args.seed))
    # Kept short so that a lost wakeup shows as a deadlock, not a hang.
    outcomes = collections.Counter()
    failures = []
    deadline = time.monotonic() + args.seconds
    clients = [Client(args.dsn, args.seed + i, deadline, outcomes, failures)
               for i in range(args.clients)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(timeout=args.seconds + 120)
        if c.is_alive():
            failures.append("a client did not finish in time (hang?)")

    problems, persons, depth = verify(conn)
    print(f"stress: {args.clients} clients, {args.seconds:.0f} s, seed {args.seed}: "
          f"{sum(outcomes.values())} operations, {persons} persons, deepest generation {depth}")
    for (op, outcome), n in sorted(outcomes.items()):
        print(f"  {op:28} {outcome:6} {n}")
    done = {op for (op, outcome) in outcomes if outcome == "ok"}
    if "op_add_child" not in done or "op_rank" not in done or "op_relink" not in done:
        problems.append("the run did too little to mean anything")
    if not outcomes[("op_close_cycle", "FA001")]:
        problems.append("no cycle attempt was refused with FA001")
    for f in failures[:20]:
        problems.append(f"unexpected error: {f}")
    for p in problems:
        print(f"FAIL: {p}")
    print("stress: " + ("passed" if not problems else "FAILED"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
