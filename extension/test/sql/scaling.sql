-- The triggers' reads go through indexes whatever the planner would think of
-- the tables: a row's checks cost the same on a table that was empty when the
-- session began as on a large one. (Rules read by a query planned while the
-- tables were empty scanned them whole for every row: a load of 300,000
-- persons took minutes instead of seconds when autovacuum had not analyzed
-- the tables in time.) Autovacuum is kept out of the way, so that nothing
-- re-plans meanwhile.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
ALTER TABLE family.person SET (autovacuum_enabled = false);
ALTER TABLE family.relationship SET (autovacuum_enabled = false);
-- Blocks of family.person a statement read, in this transaction (its
-- triggers' reads included).
CREATE FUNCTION pg_temp.person_blocks(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_stat_get_xact_blocks_fetched('family.person'::regclass);
BEGIN
    EXECUTE sql;
    RETURN pg_stat_get_xact_blocks_fetched('family.person'::regclass) - before;
END $$;
-- Shared buffers a statement touched (its triggers' reads included).
CREATE FUNCTION pg_temp.buffers(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || sql INTO plan;
    RETURN (plan->0->'Plan'->>'Shared Hit Blocks')::bigint
         + (plan->0->'Plan'->>'Shared Read Blocks')::bigint;
END $$;

-- Each rule runs once while the tables are tiny (where a planner would
-- rather scan them whole), then on 10,000 couples added in one statement.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE
SELECT i, 'p' FROM generate_series(1, 4) i;
INSERT INTO family.relationship (id, person_a, person_b) OVERRIDING SYSTEM VALUE
VALUES (1, 1, 2), (2, 3, 4);
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (5, 'c', 1, 3, 2, 4);
DELETE FROM family.relationship WHERE id = 2;
-- A rank change, and the walks of the SQL functions.
UPDATE family.person SET father_rank = 4 WHERE id = 5;
SELECT count(*) FROM family.descendants(1);
SELECT count(*) FROM family.ancestors(5);
SELECT family.compute_ancestor_rank(5);
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE
SELECT i, 'p' FROM generate_series(6, 20005) i;
INSERT INTO family.relationship (id, person_a, person_b) OVERRIDING SYSTEM VALUE
SELECT i, 2 * i, 2 * i + 1 FROM generate_series(3, 10001) i;
SELECT pg_relation_size('family.person') / 8192 > 100 AS person_pages_over_100,
       pg_relation_size('family.relationship') / 8192 > 50 AS relationship_pages_over_50;
-- One more couple, a child of theirs, and a relationship without children
-- deleted: each touches a few dozen buffers, not the table's pages.
SELECT pg_temp.buffers($$INSERT INTO family.relationship (id, person_a, person_b)
                          OVERRIDING SYSTEM VALUE VALUES (20000, 20004, 20005)$$)
       < 60 AS start_is_indexed;
SELECT pg_temp.buffers($$INSERT INTO family.person (id, first_name, father_id, father_rank,
                          mother_id, mother_rank) OVERRIDING SYSTEM VALUE
                          VALUES (20006, 'c', 20004, 3, 20005, 4)$$) < 60 AS child_is_indexed;
INSERT INTO family.relationship (id, person_a, person_b) OVERRIDING SYSTEM VALUE
VALUES (100000, 3, 4);
SELECT pg_temp.buffers('DELETE FROM family.relationship WHERE id = 100000') < 60
       AS delete_is_indexed;
-- A line of 20 generations in the big table: a rank change at its top
-- (propagated to 20 persons), and the SQL functions' walks along it.
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
SELECT 30000 + g, 'l', CASE WHEN g = 1 THEN 20006 ELSE 29999 + g END, 3
  FROM generate_series(1, 20) AS g;
SELECT pg_temp.person_blocks('UPDATE family.person SET father_rank = 1 WHERE id = 30001') < 200
       AS rank_change_is_indexed;
SELECT pg_temp.person_blocks('SELECT count(*) FROM family.descendants(20006)') < 100
       AS descendants_is_indexed;
SELECT pg_temp.person_blocks('SELECT count(*) FROM family.ancestors(30020)') < 100
       AS ancestors_is_indexed;
SELECT pg_temp.person_blocks('SELECT family.compute_ancestor_rank(30020)') < 100
       AS compute_ancestor_rank_is_indexed;
SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id) AND id > 20000;

ALTER TABLE family.person RESET (autovacuum_enabled);
ALTER TABLE family.relationship RESET (autovacuum_enabled);
TRUNCATE family.person, family.relationship RESTART IDENTITY;
