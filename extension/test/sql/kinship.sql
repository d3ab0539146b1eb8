-- family.kinship(a, b): how b is related to a by blood, one row per nearest
-- common ancestor, with the terms of SPEC 5a.
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship RESTART IDENTITY;
-- Grandparents 1 x 2; their children 3 (M) and 4 (F); 3 x 5 -> 7 (F), 8;
-- 4 x 6 -> 9 (M); 1 x 10 -> 11 (half-brother of 3 and 4);
-- 7 x 9 (first cousins) -> 12; 13 a stranger.
INSERT INTO family.person (id, first_name, sex) OVERRIDING SYSTEM VALUE
VALUES (1, 'Grandpa', 'M'), (2, 'Grandma', 'F'), (5, 'In-law', 'F'), (6, 'In-law', 'M'),
       (10, 'Second wife', 'F'), (13, 'Stranger', NULL);
SELECT family.start_relationship(1, 2, '1900-01-01'), family.end_relationship(1, '1930-01-01'),
       family.start_relationship(1, 10, '1931-01-01');
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE
VALUES (3, 'Son', 'M', 1, 3, 2, 3), (4, 'Daughter', 'F', 1, 3, 2, 3),
       (11, 'Half-son', 'M', 1, 3, 10, 3);
SELECT family.start_relationship(3, 5), family.start_relationship(6, 4);
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE
VALUES (7, 'Granddaughter', 'F', 3, 4, 5, 4), (8, 'Grandchild', NULL, 3, 4, 5, 4),
       (9, 'Grandson', 'M', 6, 2, 4, 2);
SELECT family.start_relationship(7, 9);
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (12, 'Great-grandchild', 'X', 9, 5, 7, 5);

SELECT a, b, k.*
  FROM (VALUES (3, 3), (3, 1), (3, 2), (1, 3), (1, 8), (1, 12), (12, 1), (3, 4), (4, 3), (3, 11),
               (7, 8), (7, 9), (3, 9), (9, 3), (8, 12), (12, 3), (12, 4), (12, 8), (11, 12), (3, 13))
       AS p(a, b),
       LATERAL family.kinship(p.a, p.b) AS k
 ORDER BY a, b, k.up + k.down, k.ancestor;
-- Full siblings whose mother is their father's daughter: the father is no
-- nearest common ancestor (he is the mother's), yet they are not half-siblings.
INSERT INTO family.person (id, first_name, sex) OVERRIDING SYSTEM VALUE
VALUES (20, 'F', 'M'), (22, 'W', 'F');
SELECT family.start_relationship(20, 22, '1900-01-01') > 0 AS started;
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (21, 'M', 'F', 20, 3, 22, 3);
SELECT family.end_relationship(20, '1920-01-01');
SELECT family.start_relationship(20, 21, '1930-01-01') > 0 AS started;
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (23, 'S', 'M', 20, 3, 21, 3), (24, 'T', 'F', 20, 3, 21, 3);
SELECT * FROM family.kinship(23, 24);

-- Strangers: no row.
SELECT count(*) AS rows FROM family.kinship(3, 13);

-- Errors name what is wrong.
SELECT * FROM family.kinship(3, 99);
SELECT * FROM family.kinship(99, 3);
SELECT * FROM family.kinship(NULL, 3);

-- A line of 3,000 generations: its two ends are related through it.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (100, 'line');
DO $$
BEGIN
    FOR i IN 101..3100 LOOP
        INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
        VALUES (i, 'line', i - 1, 3);
    END LOOP;
END $$;
SELECT * FROM family.kinship(3100, 100);
SELECT * FROM family.kinship(100, 3100);

-- EXECUTE is not granted to PUBLIC, as for the other functions.
CREATE ROLE kinship_stranger;
GRANT USAGE ON SCHEMA family TO kinship_stranger;
SET ROLE kinship_stranger;
SELECT * FROM family.kinship(1, 3);
RESET ROLE;
REVOKE USAGE ON SCHEMA family FROM kinship_stranger;
DROP ROLE kinship_stranger;
