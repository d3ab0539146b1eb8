-- Multi-row writes are handled as one change, whatever the order of their rows.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
-- 1 <- 2 <- 3 (parent <- child); 4 <- 5; 6 has father 3 and mother 5.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (1, 'a'), (4, 'd');
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (2, 'b', 1, 3), (3, 'c', 2, 3), (5, 'e', 4, 3);
INSERT INTO family.relationship (person_a, person_b) VALUES (3, 5);
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank) OVERRIDING SYSTEM VALUE
VALUES (6, 'f', 3, 4, 5, 4);

-- 2 gets a new rank and 4 a new father in one statement; 6 depends on both.
UPDATE family.person
   SET father_rank = CASE WHEN id = 2 THEN 2 ELSE 1 END,
       father_id = CASE WHEN id = 2 THEN 1 ELSE 3 END
 WHERE id IN (2, 4);
SELECT id, father_id, generation, ancestor_relationship_rank FROM family.person ORDER BY id;

-- A parent and its child changed together, in either row order.
UPDATE family.person SET father_rank = 5 WHERE id IN (6, 3, 2);
UPDATE family.person SET father_rank = 1 WHERE id IN (2, 3, 6);

-- Every row of a family at once.
UPDATE family.person SET father_rank = 4 WHERE father_id IS NOT NULL;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
