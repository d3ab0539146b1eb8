-- Persons: defaults, derived columns, validation, every write path.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A person without parents.
SELECT family.add_person('Ada', 'Root') AS ada \gset
SELECT first_name, last_name, father_id, mother_id, generation, ancestor_relationship_rank,
       link_rank_sums, link_counts, created_at = updated_at AS never_updated
  FROM family.person WHERE id = :ada;
INSERT INTO family.person DEFAULT VALUES RETURNING first_name = '' AND last_name = '' AS empty_names, generation;

-- Derived columns cannot be written (428C9), on INSERT or UPDATE.
SELECT pg_temp.fails($$INSERT INTO family.person (generation) VALUES (3)$$);
SELECT pg_temp.fails($$INSERT INTO family.person (ancestor_relationship_rank) VALUES (2.5)$$);
SELECT pg_temp.fails($$INSERT INTO family.person (link_counts) VALUES ('{1}')$$);
SELECT pg_temp.fails(format('UPDATE family.person SET generation = 1 WHERE id = %s', :ada));
SELECT pg_temp.fails(format('UPDATE family.person SET ancestor_relationship_rank = 1 WHERE id = %s', :ada));
SELECT pg_temp.fails(format('UPDATE family.person SET link_rank_sums = ''{4}'' WHERE id = %s', :ada));
-- Writing a derived column to its own value changes nothing: allowed.
UPDATE family.person SET generation = generation, first_name = 'Ada' WHERE id = :ada;
-- Other columns update and bump updated_at.
UPDATE family.person SET last_name = 'Lovelace' WHERE id = :ada RETURNING last_name, updated_at = now() AS bumped;

-- A couple and their child.
SELECT family.add_person('Bob', 'Root') AS bob \gset
SELECT family.start_relationship(:ada, :bob) IS NOT NULL AS started;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('Cy', :bob, 4, :ada, 2) RETURNING id AS cy \gset
SELECT generation, ancestor_relationship_rank, link_rank_sums, link_counts FROM family.person WHERE id = :cy;

-- Validation: each rule with its SQLSTATE, naming the ids.
SELECT pg_temp.fails(format('UPDATE family.person SET father_id = %s WHERE id = %s', :cy, :cy));
SELECT pg_temp.fails(format('UPDATE family.person SET mother_id = id, mother_rank = 3 WHERE id = %s', :cy));
SELECT pg_temp.fails(format('INSERT INTO family.person (father_id, father_rank, mother_id, mother_rank) VALUES (%s, 3, %s, 3)', :bob, :bob));
SELECT pg_temp.fails(format('INSERT INTO family.person (father_id, father_rank) VALUES (%s, 6)', :bob));
SELECT pg_temp.fails(format('INSERT INTO family.person (father_id, father_rank) VALUES (%s, 0)', :bob));
SELECT pg_temp.fails(format('INSERT INTO family.person (father_id) VALUES (%s)', :bob));
SELECT pg_temp.fails('INSERT INTO family.person (mother_rank) VALUES (3)');
SELECT pg_temp.fails('INSERT INTO family.person (father_id, father_rank) VALUES (999999, 3)');
SELECT pg_temp.fails(format('UPDATE family.person SET mother_id = 999998 WHERE id = %s', :cy));
SELECT pg_temp.fails(format('UPDATE family.person SET mother_rank = NULL WHERE id = %s', :cy));
-- Nothing was lost by the failures.
SELECT count(*) AS persons FROM family.person;
SELECT father_id = :bob AS father_kept, mother_id = :ada AS mother_kept, father_rank, mother_rank
  FROM family.person WHERE id = :cy;

-- Two known parents must be a couple (FA002); one known parent is fine.
SELECT family.add_person('Dee', 'Other') AS dee \gset
SELECT pg_temp.fails(format('INSERT INTO family.person (father_id, father_rank, mother_id, mother_rank) VALUES (%s, 3, %s, 3)', :bob, :dee));
SELECT pg_temp.fails(format('UPDATE family.person SET mother_id = %s WHERE id = %s', :dee, :cy));
INSERT INTO family.person (first_name, mother_id, mother_rank) VALUES ('Eve', :dee, 5)
RETURNING generation, ancestor_relationship_rank;

-- Rank changes reach the row and its descendants.
SELECT family.add_person('Fay', 'Other') AS fay \gset
SELECT family.start_relationship(:cy, :fay) IS NOT NULL AS started;
SELECT family.add_child(:cy, :fay, 5, 5, 'Gil') AS gil \gset
SELECT ancestor_relationship_rank FROM family.person WHERE id = :gil;
UPDATE family.person SET father_rank = 1, mother_rank = 1 WHERE id = :cy;
SELECT id = :cy AS is_cy, ancestor_relationship_rank FROM family.person WHERE id IN (:cy, :gil) ORDER BY id;

-- COPY keeps derived values too, including rows whose parents come earlier in the same COPY.
COPY family.person (id, first_name, father_id, father_rank, mother_id, mother_rank) FROM stdin;
100	Copy1	\N	\N	\N	\N
101	Copy2	100	3	\N	\N
102	Copy3	101	5	\N	\N
\.
SELECT id, generation, ancestor_relationship_rank FROM family.person WHERE id >= 100 ORDER BY id;
-- COPY giving a derived column fails like INSERT.
SELECT pg_temp.fails($$COPY family.person (id, generation) FROM PROGRAM 'echo 200,1' WITH (FORMAT csv)$$);

-- A person's id cannot change (children and relationships refer to it):
-- PostgreSQL refuses a value (the id is GENERATED ALWAYS), the trigger the
-- next one from the sequence.
SELECT pg_temp.fails(format('UPDATE family.person SET id = 5000 WHERE id = %s', :ada));
SELECT pg_temp.fails(format('UPDATE family.person SET id = DEFAULT WHERE id = %s', :ada));
-- NULL ids are refused by the primary key.
SELECT pg_temp.fails('INSERT INTO family.person (id) VALUES (NULL)');

-- The triggers' SQL resolves operators in pg_catalog, whatever the caller's
-- search_path: a hostile = on float8[] is never called.
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.eq(float8[], float8[]) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'hostile operator called'; END $$;
CREATE OPERATOR hostile.= (LEFTARG = float8[], RIGHTARG = float8[], FUNCTION = hostile.eq);
SET search_path = hostile, public;
UPDATE family.person SET father_rank = 2 WHERE id = :gil;
SELECT family.repair() AS repaired;
RESET search_path;
DROP SCHEMA hostile CASCADE;

-- Oracle: stored values equal a from-scratch recomputation.
SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
