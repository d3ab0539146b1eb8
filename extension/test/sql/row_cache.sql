-- Within a transaction the person trigger remembers where the parents and
-- couples it locked are; whatever this transaction then does to them, by any
-- path, a child sees them as they are.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- Grandparents 1 and 2 (a couple) and their child 3; 3 and 4 a couple;
-- 5, 6, 7 single. New persons get ids from 100.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE
VALUES (1, 'g1'), (2, 'g2'), (4, 'p4'), (5, 'p5'), (6, 'p6'), (7, 'p7');
SELECT family.start_relationship(1, 2) > 0 AS couple;
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (3, 'p3', 1, 5, 2, 5);
SELECT family.start_relationship(3, 4) > 0 AS couple;
SELECT setval(pg_get_serial_sequence('family.person', 'id'), 99) > 0 AS ids_from_100;

-- A parent's rank changes between two children: the second child sees it.
BEGIN;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('k1', 3, 3, 4, 3);
UPDATE family.person SET father_rank = 1 WHERE id = 3;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('k2', 3, 3, 4, 3);
SELECT first_name, ancestor_relationship_rank,
       ancestor_relationship_rank = family.compute_ancestor_rank(id) AS consistent
  FROM family.person WHERE first_name IN ('k1', 'k2') ORDER BY first_name;
ROLLBACK;

-- A couple whose relationship goes: its next child is refused.
BEGIN;
SELECT family.start_relationship(5, 6) > 0 AS couple;
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (50, 'c', 5, 3, 6, 3);
DELETE FROM family.person WHERE id = 50;
DELETE FROM family.relationship WHERE person_a = 5 AND person_b = 6;
SELECT pg_temp.fails($$INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
                      VALUES ('d', 5, 3, 6, 3)$$);
ROLLBACK;

-- A relationship made in a rolled-back savepoint is gone, with its couple.
BEGIN;
SAVEPOINT s;
SELECT family.start_relationship(5, 7) > 0 AS couple;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('e', 5, 3, 7, 3);
ROLLBACK TO SAVEPOINT s;
SELECT pg_temp.fails($$INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
                      VALUES ('f', 5, 3, 7, 3)$$);
ROLLBACK;

-- TRUNCATE of the relationships in the same transaction.
BEGIN;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('g', 3, 3, 4, 3);
TRUNCATE family.relationship;
SELECT pg_temp.fails($$INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
                      VALUES ('h', 3, 3, 4, 3)$$);
ROLLBACK;

-- TRUNCATE of the persons, then persons made anew with the same ids and
-- another ancestry.
BEGIN;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('g', 3, 3, 4, 3);
SET CONSTRAINTS ALL IMMEDIATE;  -- TRUNCATE waits for no deferred check
TRUNCATE family.person, family.relationship;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (9, 'top');
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (3, 'p3 again', 9, 1);
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('i', 3, 5);
SELECT first_name, generation, ancestor_relationship_rank,
       ancestor_relationship_rank = family.compute_ancestor_rank(id) AS consistent
  FROM family.person WHERE first_name = 'i';
ROLLBACK;

-- A parent whose child goes, then the parent, made again with the same id
-- and another ancestry.
BEGIN;
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (60, 'j', 5, 2);
DELETE FROM family.person WHERE id = 60;
DELETE FROM family.person WHERE id = 5;
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (5, 'p5 again', 3, 4);
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('k', 5, 2);
SELECT first_name, generation, ancestor_relationship_rank,
       ancestor_relationship_rank = family.compute_ancestor_rank(id) AS consistent
  FROM family.person WHERE first_name = 'k';
ROLLBACK;

-- TRUNCATE twice in one transaction: the second truncates in place (same
-- file), and the rows made anew take the old rows' places.
BEGIN;
TRUNCATE family.person, family.relationship;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (1, 'a'), (2, 'b');
SELECT family.start_relationship(1, 2) > 0 AS couple;
INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
VALUES ('l', 1, 3, 2, 3);
SET CONSTRAINTS ALL IMMEDIATE;
TRUNCATE family.person, family.relationship;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (9, 'top');
INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (1, 'a again', 9, 1), (2, 'b again', 9, 5);
SELECT pg_temp.fails($$INSERT INTO family.person (first_name, father_id, father_rank, mother_id, mother_rank)
                      VALUES ('m', 1, 3, 2, 3)$$);
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('n', 2, 3);
SELECT first_name, generation, ancestor_relationship_rank,
       ancestor_relationship_rank = family.compute_ancestor_rank(id) AS consistent
  FROM family.person WHERE first_name = 'n';
ROLLBACK;

-- A parent's stored values changed behind the triggers' back: the next
-- child reads them as they are now.
BEGIN;
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('o', 6, 2);
SET LOCAL session_replication_role = replica;
UPDATE family.person SET generation = 7 WHERE id = 6;
SET LOCAL session_replication_role = origin;
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('p', 6, 2);
SELECT first_name, generation FROM family.person WHERE first_name IN ('o', 'p') ORDER BY 1;
ROLLBACK;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);

-- While the extension writes derived values (a rank change's descendants),
-- only those rows pass its triggers unchecked: a user's trigger fired by
-- that write, changing another person's link, is checked and propagated as
-- any write.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE
VALUES (1, 'a'), (2, 'b'), (4, 'd'), (6, 'f'), (7, 'g');
INSERT INTO family.relationship (person_a, person_b) VALUES (1, 2), (6, 7);
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (3, 'c', 1, 3, 2, 3), (8, 'h', 6, 3, 7, 3);
INSERT INTO family.relationship (person_a, person_b) VALUES (3, 4);
INSERT INTO family.person (id, first_name, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (5, 'e', 3, 3, 4, 3), (9, 'i', 8, 3, NULL, NULL);
CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE family.person SET father_rank = 1 WHERE id = 8 AND father_rank <> 1;
    RETURN NULL;
END $$;
CREATE TRIGGER meddle AFTER UPDATE ON family.person
    FOR EACH ROW WHEN (NEW.id = 5) EXECUTE FUNCTION public.meddle();
-- 3's rank change rewrites 5 (a batch), whose trigger relinks 8 (and so 9).
UPDATE family.person SET father_rank = 5 WHERE id = 3;
DROP TRIGGER meddle ON family.person;
DROP FUNCTION public.meddle();
SELECT id, father_rank, ancestor_relationship_rank FROM family.person WHERE id IN (3, 5, 8, 9)
 ORDER BY id;
-- A user's trigger writing a derived column of a row the batch writes is
-- refused like any such write, and the whole statement goes.
CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE family.person SET generation = 99 WHERE id = 5;
    RETURN NULL;
END $$;
CREATE TRIGGER meddle AFTER UPDATE ON family.person
    FOR EACH ROW WHEN (NEW.id = 5 AND NEW.generation <> 99) EXECUTE FUNCTION public.meddle();
SELECT pg_temp.fails('UPDATE family.person SET father_rank = 4 WHERE id = 3');
DROP TRIGGER meddle ON family.person;
DROP FUNCTION public.meddle();
SELECT id, father_rank, generation FROM family.person WHERE id IN (3, 5) ORDER BY id;
-- Statement triggers run for statements: a user's sees the row of the rank
-- change, not the descendants the extension rewrites without a statement
-- (a row trigger sees those).
CREATE TABLE public.seen (kind text, n bigint);
CREATE FUNCTION public.count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen SELECT 'statement', count(*) FROM changed;
    RETURN NULL;
END $$;
CREATE FUNCTION public.count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen VALUES ('row', NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER count_statement AFTER UPDATE ON family.person REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION public.count_statement();
CREATE TRIGGER count_row AFTER UPDATE ON family.person
    FOR EACH ROW EXECUTE FUNCTION public.count_row();
UPDATE family.person SET father_rank = 2 WHERE id = 3;
SELECT kind, n FROM public.seen ORDER BY kind, n;
DROP TABLE public.seen;
DROP TRIGGER count_statement ON family.person;
DROP TRIGGER count_row ON family.person;
DROP FUNCTION public.count_statement();
DROP FUNCTION public.count_row();
-- A user's BEFORE row trigger gets the extension's writes too, and may skip
-- one (returning NULL): that row keeps its values until repair().
CREATE TABLE public.seen (id bigint, generation int, rank float8);
CREATE FUNCTION public.before_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen VALUES (NEW.id, NEW.generation, NEW.ancestor_relationship_rank);
    RETURN CASE WHEN NEW.id = 9 THEN NULL ELSE NEW END;
END $$;
CREATE TRIGGER before_row BEFORE UPDATE ON family.person
    FOR EACH ROW EXECUTE FUNCTION public.before_row();
UPDATE family.person SET father_rank = 4 WHERE id = 8;
SELECT id, generation, rank FROM public.seen ORDER BY id;
SELECT id, ancestor_relationship_rank FROM family.person WHERE id IN (6, 8, 9) ORDER BY id;
DROP TRIGGER before_row ON family.person;
SELECT family.repair() AS repaired;
-- With a user's BEFORE trigger in place, a user's trigger still cannot set a
-- derived column of a row the extension writes.
CREATE OR REPLACE FUNCTION public.before_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END $$;
CREATE TRIGGER before_row BEFORE UPDATE ON family.person
    FOR EACH ROW EXECUTE FUNCTION public.before_row();
CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE family.person SET generation = 99 WHERE id = 9;
    RETURN NULL;
END $$;
CREATE TRIGGER meddle AFTER UPDATE ON family.person
    FOR EACH ROW WHEN (NEW.id = 9 AND NEW.generation <> 99) EXECUTE FUNCTION public.meddle();
SELECT pg_temp.fails('UPDATE family.person SET father_rank = 2 WHERE id = 8');
-- Nor of a row the batch does not write (8, whose values its own UPDATE
-- already set).
CREATE OR REPLACE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE family.person SET generation = 99 WHERE id = 8;
    RETURN NULL;
END $$;
SELECT pg_temp.fails('UPDATE family.person SET father_rank = 2 WHERE id = 8');
DROP TRIGGER meddle ON family.person;
DROP FUNCTION public.meddle();
-- A user's BEFORE trigger may not change the links of a row the extension
-- writes (its descendants would keep values derived from the old ones).
CREATE FUNCTION public.relink() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 9 THEN
        NEW.father_rank := 1 + NEW.father_rank % 5;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER relink BEFORE UPDATE ON family.person
    FOR EACH ROW EXECUTE FUNCTION public.relink();
SELECT pg_temp.fails('UPDATE family.person SET father_rank = 2 WHERE id = 8');
DROP TRIGGER relink ON family.person;
DROP FUNCTION public.relink();
DROP TRIGGER before_row ON family.person;
DROP FUNCTION public.before_row();
DROP TABLE public.seen;
SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
-- A user's trigger on a derived column (UPDATE OF) fires for the
-- extension's writes of it.
CREATE TABLE public.seen (id bigint);
CREATE FUNCTION public.rank_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER rank_changed AFTER UPDATE OF ancestor_relationship_rank ON family.person
    FOR EACH ROW EXECUTE FUNCTION public.rank_changed();
UPDATE family.person SET father_rank = 3 WHERE id = 8;
SELECT id FROM public.seen ORDER BY id;
DROP TRIGGER rank_changed ON family.person;
DROP FUNCTION public.rank_changed();
DROP TABLE public.seen;
-- A stored generated column of the user's follows the derived values the
-- extension writes.
ALTER TABLE family.person ADD COLUMN rank_x10 float8
    GENERATED ALWAYS AS (round(ancestor_relationship_rank * 10)) STORED;
UPDATE family.person SET father_rank = 5 WHERE id = 8;
SELECT id, rank_x10, round(ancestor_relationship_rank * 10) AS expected
  FROM family.person WHERE id IN (8, 9) ORDER BY id;
ALTER TABLE family.person DROP COLUMN rank_x10;
SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
