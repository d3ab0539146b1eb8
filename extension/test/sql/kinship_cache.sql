-- family.kinship's copy of every person's parents, kept by the backend
-- between calls: read when walks through the primary key have cost as much
-- (family.kinship_rent_ms = 0: at once), used while family.link_change says
-- no parents changed, read again when they did. Each answer is checked
-- against the walk through the primary key (family.kinship_cache_size = 0).
-- The DEBUG1 lines say when the copy is read and when it is found stale.
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship RESTART IDENTITY;
-- 1 x 2 -> 3, 4; 3 x 5 -> 6; 7 x 4 -> 8 (6 and 8 first cousins).
INSERT INTO family.person (id, first_name, sex) OVERRIDING SYSTEM VALUE
VALUES (1, 'A', 'M'), (2, 'B', 'F'), (5, 'C', 'F'), (7, 'D', 'M');
SELECT family.start_relationship(1, 2) > 0 AS started;
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE
VALUES (3, 'E', 'M', 1, 3, 2, 3), (4, 'F', 'F', 1, 3, 2, 3);
SELECT family.start_relationship(3, 5) > 0 AS started, family.start_relationship(7, 4) > 0 AS too;
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE
VALUES (6, 'G', 'F', 3, 3, 5, 3), (8, 'H', 'M', 7, 3, 4, 3);

-- Both ways for a list of pairs: the rows, once the copy and the primary
-- key gave the same. First every pair through the copy, then, once the
-- transaction has an xid (which sends kinship through the primary key but
-- leaves the copy as it is), every pair again.
CREATE FUNCTION pg_temp.both_ways(pairs bigint[][])
RETURNS TABLE (a bigint, b bigint, ancestor bigint, up int, down int, term text)
LANGUAGE plpgsql AS $$
DECLARE
    by_copy text[];
    by_index text;
BEGIN
    FOR i IN 1 .. array_length(pairs, 1) LOOP
        by_copy[i] := (SELECT string_agg(k::text, ' ' ORDER BY k::text)
                         FROM family.kinship(pairs[i][1], pairs[i][2]) k);
    END LOOP;
    PERFORM pg_current_xact_id();
    FOR i IN 1 .. array_length(pairs, 1) LOOP
        by_index := (SELECT string_agg(k::text, ' ' ORDER BY k::text)
                       FROM family.kinship(pairs[i][1], pairs[i][2]) k);
        IF by_index IS DISTINCT FROM by_copy[i] THEN
            RAISE EXCEPTION 'kinship(%, %): % through the index, % through the copy',
                pairs[i][1], pairs[i][2], by_index, by_copy[i];
        END IF;
        RETURN QUERY SELECT pairs[i][1], pairs[i][2], k.* FROM family.kinship(pairs[i][1], pairs[i][2]) k;
    END LOOP;
END $$;

SET family.kinship_rent_ms = 0;
SET client_min_messages = debug1;
-- Read at the first call; used by the next ones.
SELECT * FROM family.kinship(6, 8);
SELECT * FROM family.kinship(8, 6);
SELECT * FROM family.kinship(6, 1);

-- A person added since: not in the copy, read through the primary key
-- with their new ancestors; the copy stays (no parents changed).
INSERT INTO family.person (id, first_name, sex) OVERRIDING SYSTEM VALUE VALUES (9, 'I', 'F');
SELECT family.start_relationship(8, 9) > 0 AS started;
INSERT INTO family.person (id, first_name, sex, father_id, father_rank, mother_id, mother_rank)
OVERRIDING SYSTEM VALUE VALUES (10, 'J', 'M', 8, 3, 9, 3);
INSERT INTO family.person (id, first_name, sex, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (11, 'K', 'F', 10, 3), (12, 'L', 'M', 10, 3);
SELECT * FROM family.kinship(11, 6);
SELECT * FROM family.kinship(6, 11);
SELECT * FROM family.kinship(11, 12);
SELECT * FROM family.kinship(11, 9);

-- A parent changed: the copy is stale, and read again.
UPDATE family.person SET mother_id = NULL, mother_rank = NULL WHERE id = 8;
SELECT * FROM family.kinship(6, 8);

-- A transaction that wrote reads through the primary key: it sees its own
-- change, which no copy holds; rolled back, it leaves the copy fresh.
BEGIN;
UPDATE family.person SET mother_id = 4, mother_rank = 3 WHERE id = 8;
SELECT * FROM family.kinship(6, 8);
ROLLBACK;
SELECT * FROM family.kinship(6, 8);

-- A person deleted, then inserted again under the same id with other
-- parents: the copy does not keep the old ones.
DELETE FROM family.person WHERE id = 12;
SELECT * FROM family.kinship(11, 8);
INSERT INTO family.person (id, first_name, sex, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (12, 'L', 'M', 5, 3);
INSERT INTO family.person (id, first_name, sex, father_id, father_rank) OVERRIDING SYSTEM VALUE
VALUES (13, 'M', 'M', 12, 3);
SELECT * FROM family.kinship(13, 6);

-- repair() may change generations: stale.
SELECT family.repair();
SELECT * FROM family.kinship(13, 6);

SET client_min_messages = warning;
SELECT * FROM pg_temp.both_ways('{{6,8},{8,6},{11,6},{11,12},{13,6},{13,5},{1,13},{3,3}}');

-- Many persons added since the copy was read (a line of 1,100 under 13):
-- the walk reads them through the primary key, then the copy is read again.
DO $$
BEGIN
    FOR i IN 101..1200 LOOP
        INSERT INTO family.person (id, first_name, father_id, father_rank) OVERRIDING SYSTEM VALUE
        VALUES (i, 'line', CASE WHEN i = 101 THEN 13 ELSE i - 1 END, 3);
    END LOOP;
END $$;
SET client_min_messages = debug1;
SELECT * FROM family.kinship(1200, 12);
SELECT * FROM family.kinship(1200, 5);

-- A copy larger than family.kinship_cache_size is not kept.
SET family.kinship_cache_size = '16kB';  -- 819 persons
UPDATE family.person SET father_rank = 4 WHERE id = 6;  -- not a parent: still fresh
SELECT * FROM family.kinship(6, 8);
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 11;
SELECT * FROM family.kinship(6, 8);
SELECT count(*) FROM family.kinship(1200, 1);
RESET family.kinship_cache_size;

-- Stored generations out of order (written behind the triggers' back,
-- which note nothing; a later change of parents makes the copy read them):
-- the flat walk cannot be trusted, and the copy's persons are walked as the
-- primary key's are. Then a parent missing (its foreign key bypassed too):
-- no copy is kept, and the walk through the primary key says who is missing.
SET client_min_messages = warning;
SET session_replication_role = replica;
UPDATE family.person SET generation = 5 WHERE id = 5;
SET session_replication_role = origin;
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 1200;
SET client_min_messages = debug1;
SELECT * FROM family.kinship(6, 13);
SET client_min_messages = warning;
SELECT * FROM pg_temp.both_ways('{{6,13},{13,6},{12,6}}');
SELECT family.repair() AS repaired;
-- The same with a person added since, whose generation is out of order.
SELECT * FROM family.kinship(6, 13);
SET session_replication_role = replica;
INSERT INTO family.person (id, first_name, father_id, father_rank, generation, link_rank_sums, link_counts)
OVERRIDING SYSTEM VALUE VALUES (21, 'early', 13, 3, 0, '{3}', '{1}');
SET session_replication_role = origin;
SELECT * FROM pg_temp.both_ways('{{21,6},{6,21}}');
SELECT family.repair() AS repaired;
SET session_replication_role = replica;
INSERT INTO family.person (id, first_name, father_id, father_rank, generation, link_rank_sums, link_counts)
OVERRIDING SYSTEM VALUE VALUES (20, 'orphan', 99999, 3, 1, '{3}', '{1}');
SET session_replication_role = origin;
SET client_min_messages = debug1;
SELECT * FROM family.kinship(6, 8);
SELECT * FROM family.kinship(20, 8);
SET client_min_messages = warning;
DELETE FROM family.person WHERE id = 20;

-- Without family.link_change (the extension's schema not updated to
-- 0.8.0), nothing tells when a copy is stale: no copy, and no note.
BEGIN;
ALTER TABLE family.link_change RENAME TO link_change_gone;
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 12;
SELECT count(*) AS notes FROM family.link_change_gone WHERE xact = pg_current_xact_id();
SET LOCAL client_min_messages = debug1;
SELECT * FROM family.kinship(6, 8);
ROLLBACK;

-- A change of parents is noted once per transaction; a subtransaction
-- rolled back takes its note along, and the next change notes again.
BEGIN;
SAVEPOINT s;
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 12;
ROLLBACK TO s;
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 12;
UPDATE family.person SET father_id = 5, father_rank = 3 WHERE id = 12;
DELETE FROM family.person WHERE id = 1200;
SELECT count(*) AS notes FROM family.link_change WHERE xact = pg_current_xact_id();
COMMIT;
-- At READ COMMITTED a note deletes the notes every later snapshot sees
-- alike; at REPEATABLE READ it deletes nothing (a row deleted since its
-- snapshot would fail it with 40001).
SELECT max(xact) AS first_note FROM family.link_change \gset
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = 12;
SELECT count(*) AS first_left FROM family.link_change WHERE xact = :'first_note';
SELECT max(xact) AS second_note FROM family.link_change \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
UPDATE family.person SET father_id = 5, father_rank = 3 WHERE id = 12;
COMMIT;
SELECT count(*) AS second_left FROM family.link_change WHERE xact = :'second_note';

-- A user's BEFORE trigger that changes parents after ours has seen the row
-- (triggers fire in name order) is noted too.
CREATE FUNCTION pg_temp.adopt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.first_name = 'adopted' THEN
        NEW.father_id := NULL;
        NEW.father_rank := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER zz_adopt BEFORE UPDATE ON family.person FOR EACH ROW EXECUTE FUNCTION pg_temp.adopt();
SELECT * FROM family.kinship(13, 6);
UPDATE family.person SET first_name = 'adopted' WHERE id = 12;
SET client_min_messages = debug1;
SELECT * FROM family.kinship(13, 6);
SET client_min_messages = warning;
DROP TRIGGER zz_adopt ON family.person;

-- A database that subscribes to a logical publication: its apply worker
-- fires no trigger of ours, so no copy is kept. Publishing every table
-- (family.link_change included) keeps notes working.
SET client_min_messages = error;  -- warnings that depend on wal_level
CREATE PUBLICATION kinship_everything FOR ALL TABLES;
UPDATE family.person SET father_id = 5, father_rank = 3 WHERE id = 12;
DROP PUBLICATION kinship_everything;
CREATE SUBSCRIPTION kinship_from CONNECTION 'dbname=nowhere' PUBLICATION p
    WITH (connect = false, slot_name = NONE, enabled = false);
SET client_min_messages = debug1;
SELECT * FROM family.kinship(13, 6);
SET client_min_messages = warning;
DROP SUBSCRIPTION kinship_from;

-- TRUNCATE is noted too.
UPDATE family.person SET mother_id = 4, mother_rank = 3 WHERE id = 8;
SET client_min_messages = debug1;
SELECT * FROM family.kinship(6, 8);
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (6, 'new'), (8, 'new');
SET client_min_messages = debug1;
SELECT * FROM family.kinship(6, 8);

-- family.person dropped and made again: the copy is of another table.
SET client_min_messages = warning;
DROP EXTENSION family;
CREATE EXTENSION family;
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (6, 'newer'), (8, 'newer');
SET client_min_messages = debug1;
SELECT * FROM family.kinship(6, 8);

-- family.kinship_cache_size = 0 drops the copy; the next call reads it anew.
SET family.kinship_cache_size = 0;
SELECT * FROM family.kinship(6, 8);
RESET family.kinship_cache_size;
SELECT * FROM family.kinship(6, 8);

-- Settings: only a superuser changes them.
SET client_min_messages = warning;
CREATE ROLE kinship_user;
SET ROLE kinship_user;
SET family.kinship_cache_size = '1GB';
RESET ROLE;
DROP ROLE kinship_user;
