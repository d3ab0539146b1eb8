-- Deleting a person unlinks their children and updates every descendant.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
SELECT family.add_person('g1', '') AS g1, family.add_person('g2', '') AS g2 \gset
SELECT family.start_relationship(:g1, :g2) IS NOT NULL;
SELECT family.add_child(:g1, :g2, 5, 1, 'p') AS p \gset
SELECT family.add_person('q', '') AS q \gset
SELECT family.start_relationship(:p, :q) IS NOT NULL;
SELECT family.add_child(:p, :q, 4, 4, 'c1') AS c1, family.add_child(:p, :q, 2, 2, 'c2') AS c2 \gset
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('gc', :c1, 3) RETURNING id AS gc \gset
SELECT id, generation, ancestor_relationship_rank FROM family.person ORDER BY id;

-- Delete the grandmother: p loses its mother and her rank; all below follow.
DELETE FROM family.person WHERE id = :g2;
SELECT id, father_id, mother_id, father_rank, mother_rank, generation, ancestor_relationship_rank
  FROM family.person ORDER BY id;

-- Delete p: the children lose their father; generation drops along the line.
DELETE FROM family.person WHERE id = :p;
SELECT id, father_id, mother_id, generation, ancestor_relationship_rank FROM family.person ORDER BY id;

-- Delete a parent and a child in one statement.
DELETE FROM family.person WHERE id IN (:c1, :q);
SELECT id, father_id, mother_id, generation, ancestor_relationship_rank FROM family.person ORDER BY id;

-- Both parents of a child in one statement.
SELECT family.add_person('m1', '') AS m1, family.add_person('m2', '') AS m2 \gset
SELECT family.start_relationship(:m1, :m2) IS NOT NULL;
SELECT family.add_child(:m1, :m2, 2, 3) AS orphan \gset
INSERT INTO family.person (father_id, father_rank) VALUES (:orphan, 4) RETURNING id AS orphan_child \gset
DELETE FROM family.person WHERE id IN (:m1, :m2);
SELECT father_id, mother_id, father_rank, mother_rank, generation, ancestor_relationship_rank
  FROM family.person WHERE id = :orphan;
SELECT generation, ancestor_relationship_rank FROM family.person WHERE id = :orphan_child;

-- Deleting in a transaction that then rolls back loses nothing.
BEGIN;
DELETE FROM family.person;
SELECT count(*) FROM family.person;
ROLLBACK;
SELECT count(*) AS persons FROM family.person;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
