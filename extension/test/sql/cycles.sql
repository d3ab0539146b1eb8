-- No cycles (FA001), by any write path, with the persons named.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A line p1 <- p2 <- ... <- p6 (p1 the eldest), single parents.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (1, 'p1');
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
SELECT g, 'p' || g, g - 1, 3 FROM generate_series(2, 6) AS g;
SELECT id, generation FROM family.person ORDER BY id;

-- Parent of oneself's ancestor: 2-cycle and longer ones.
SELECT pg_temp.fails('UPDATE family.person SET mother_id = 2, mother_rank = 1 WHERE id = 1');
SELECT pg_temp.fails('UPDATE family.person SET father_id = 6, father_rank = 1 WHERE id = 1');
SELECT pg_temp.fails('UPDATE family.person SET father_id = 6 WHERE id = 3');
-- Relinking to a descendant when the person already has a parent.
SELECT pg_temp.fails('UPDATE family.person SET father_id = 5 WHERE id = 2');
-- A multi-row UPDATE that closes a cycle between its own rows.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (10, 'x'), (11, 'y');
SELECT pg_temp.fails($$UPDATE family.person SET father_id = CASE id WHEN 10 THEN 11 ELSE 10 END,
                                                 father_rank = 2 WHERE id IN (10, 11)$$);
-- Nothing changed.
SELECT id, father_id, generation FROM family.person ORDER BY id;

-- Legal relinks: to an unrelated person, to a deeper unrelated line, to an ancestor.
UPDATE family.person SET father_id = 10, father_rank = 2 WHERE id = 11;
UPDATE family.person SET father_id = 11 WHERE id = 4;
UPDATE family.person SET father_id = 1 WHERE id = 6;
SELECT id, father_id, generation FROM family.person ORDER BY id;
-- Raising 1 below 11's line shifts every generation under it.
UPDATE family.person SET father_id = 11, father_rank = 4 WHERE id = 1;
SELECT id, father_id, generation FROM family.person ORDER BY id;
SELECT pg_temp.fails('UPDATE family.person SET father_id = 5, father_rank = 1 WHERE id = 10');

-- A multi-row UPDATE whose rows together close a cycle: 1 <- 2 <- 3 <- 4 <- 5,
-- a rank change on 2 and 5 becoming a parent of 4 in one statement.
TRUNCATE family.person, family.relationship;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (1, 'q1');
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
SELECT g, 'q' || g, g - 1, 3 FROM generate_series(2, 5) AS g;
INSERT INTO family.relationship (person_a, person_b) VALUES (3, 5);
SELECT pg_temp.fails($$UPDATE family.person
    SET father_rank = CASE WHEN id = 2 THEN 2 ELSE father_rank END,
        mother_id = CASE WHEN id = 4 THEN 5 END,
        mother_rank = CASE WHEN id = 4 THEN 1 END
  WHERE id IN (2, 4)$$);
SELECT id, father_id, mother_id, generation FROM family.person ORDER BY id;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
