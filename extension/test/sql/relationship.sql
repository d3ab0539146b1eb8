-- Relationships: one current per person (FA003), history, couple rule on deletes.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT family.add_person('A', '') AS a, family.add_person('B', '') AS b,
       family.add_person('C', '') AS c \gset
SELECT family.start_relationship(:a, :b, '2000-01-01') AS ab \gset
SELECT family.partner_of(:a) = :b AS a_with_b, family.partner_of(:b) = :a AS b_with_a,
       family.partner_of(:c) IS NULL AS c_single;

-- FA003: either person already in a current relationship, in either column.
SELECT pg_temp.fails(format('SELECT family.start_relationship(%s, %s)', :a, :c));
SELECT pg_temp.fails(format('SELECT family.start_relationship(%s, %s)', :c, :b));
SELECT pg_temp.fails(format('INSERT INTO family.relationship (person_a, person_b) VALUES (%s, %s)', :b, :c));
-- Bad arguments.
SELECT pg_temp.fails(format('SELECT family.start_relationship(%s, %s)', :c, :c));
SELECT pg_temp.fails(format('SELECT family.start_relationship(%s, 999999)', :c));
SELECT pg_temp.fails(format('SELECT family.start_relationship(999999, %s)', :c));
SELECT pg_temp.fails(format('SELECT family.start_relationship(%s, NULL)', :c));
SELECT pg_temp.fails(format('UPDATE family.relationship SET person_b = %s WHERE id = %s', :c, :ab));
SELECT pg_temp.fails(format('SELECT family.end_relationship(%s, ''1999-01-01'')', :a));
SELECT pg_temp.fails(format('SELECT family.end_relationship(%s)', :c));
SELECT pg_temp.fails('SELECT family.end_relationship(999999)');
SELECT pg_temp.fails('SELECT family.end_relationship(NULL)');
SELECT pg_temp.fails('SELECT family.partner_of(999999)');

-- History can be recorded: an ended relationship beside a current one.
INSERT INTO family.relationship (person_a, person_b, started_at, ended_at)
VALUES (:a, :c, '1990-01-01', '1995-01-01') RETURNING ended_at IS NOT NULL AS ended;
SELECT family.partner_of(:a) = :b AS still_with_b;

-- A child of the couple; then the couple ends and both move on.
SELECT family.add_child(:a, :b, 3, 4) AS ab_child \gset
SELECT family.end_relationship(:b, '2010-01-01');
SELECT family.partner_of(:a) IS NULL AS a_single, family.partner_of(:b) IS NULL AS b_single;
SELECT family.start_relationship(:a, :c) IS NOT NULL AS a_with_c;
-- Children of an earlier couple remain valid, and can still be added or relinked.
SELECT family.add_child(:a, :b, 5, 5) IS NOT NULL AS late_child;
UPDATE family.person SET father_rank = 1 WHERE id = :ab_child RETURNING ancestor_relationship_rank;

-- Reopening an ended relationship checks FA003 again.
SELECT pg_temp.fails(format('UPDATE family.relationship SET ended_at = NULL WHERE id = %s', :ab));
-- The relationship that makes a couple's children valid cannot be deleted (FA002).
SELECT pg_temp.fails(format('DELETE FROM family.relationship WHERE id = %s', :ab));
-- One without children can.
SELECT family.add_person('D', '') AS d \gset
SELECT family.end_relationship(:c);
SELECT family.start_relationship(:c, :d) AS cd \gset
DELETE FROM family.relationship WHERE id = :cd;
-- A second relationship row of the same couple justifies the children as well.
SELECT family.start_relationship(:a, :b, '2020-01-01') AS ab2 \gset
DELETE FROM family.relationship WHERE id = :ab;
SELECT count(*) AS relationships_of_a_and_b FROM family.relationship
 WHERE (person_a, person_b) IN ((:a, :b), (:b, :a));

-- Deleting a person takes their relationships along.
DELETE FROM family.person WHERE id = :b;
SELECT count(*) AS relationships_left FROM family.relationship WHERE :b IN (person_a, person_b);
SELECT father_id, mother_id, mother_rank, ancestor_relationship_rank
  FROM family.person WHERE id = :ab_child;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;

-- A column the triggers read, renamed by hand: a clear error naming it, and
-- nothing written.
BEGIN;
ALTER TABLE family.relationship RENAME COLUMN ended_at TO ended_on;
SELECT pg_temp.fails(format('INSERT INTO family.relationship (person_a, person_b) VALUES (%s, %s)', :a, :d));
ROLLBACK;
BEGIN;
ALTER TABLE family.person RENAME COLUMN link_counts TO counts;
SELECT pg_temp.fails($$INSERT INTO family.person (first_name) VALUES ('E')$$);
ROLLBACK;
SELECT count(*) AS persons_named_e FROM family.person WHERE first_name = 'E';
-- An index the triggers read, renamed by hand: a clear error naming it.
BEGIN;
ALTER INDEX family.relationship_person_a RENAME TO relationship_person_a_renamed;
SELECT pg_temp.fails(format('INSERT INTO family.relationship (person_a, person_b) VALUES (%s, %s)', :a, :d));
ROLLBACK;
