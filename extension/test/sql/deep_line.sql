-- Lines of 10,000 generations: no recursion grows with the data.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- One INSERT; each row's parent comes earlier in the same statement.
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
SELECT g, 'l' || g, nullif(g - 1, 0), CASE WHEN g > 1 THEN 1 + g % 5 END
  FROM generate_series(1, 10000) AS g;
SELECT max(generation), count(*) FROM family.person;
SELECT generation, array_length(link_counts, 1) AS depths,
       ancestor_relationship_rank = family.compute_ancestor_rank(id) AS consistent
  FROM family.person WHERE id = 10000;

-- A child at the bottom, a rank change at the top (reaches 64 generations).
INSERT INTO family.person (id, father_id, father_rank) OVERRIDING SYSTEM VALUE VALUES (10001, 10000, 5);
SELECT generation FROM family.person WHERE id = 10001;
BEGIN;
UPDATE family.person SET father_rank = 5 WHERE id = 2;
SELECT count(*) AS changed, min(id), max(id) FROM family.person WHERE updated_at = now() AND id > 2;
COMMIT;

-- Relinking the top under another line moves all 10,001 generations.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (20000, 'top');
UPDATE family.person SET father_id = 20000, father_rank = 3 WHERE id = 1;
SELECT generation FROM family.person WHERE id = 10001;

-- Closing a 10,001-long cycle fails and changes nothing.
SELECT pg_temp.fails('UPDATE family.person SET father_id = 10001 WHERE id = 1');
SELECT father_id, generation FROM family.person WHERE id = 1;

-- The relatives functions walk it iteratively.
SELECT count(*), max(depth) FROM family.ancestors(10001);
SELECT count(*), max(depth) FROM family.descendants(20000);
SELECT count(*), max(depth) FROM family.descendants(20000, 100);

-- repair() over more than one write batch (10,000 rows) finds nothing to fix.
SELECT count(*) AS persons FROM family.person;
SELECT family.repair() AS repaired;

-- Deleting the middle of the line lowers every generation below it; deleting
-- 10,000 persons in one statement unlinks all their children at once.
DELETE FROM family.person WHERE id = 5000;
SELECT generation FROM family.person WHERE id = 10001;
DELETE FROM family.person WHERE id BETWEEN 2 AND 9999;
SELECT id, father_id, generation FROM family.person ORDER BY id;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE id % 997 = 0 AND ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
