-- family.import_gedcom: a GEDCOM file becomes persons, links, ranks and
-- relationships in one transaction; what breaks a rule is skipped and
-- listed; a file that is not GEDCOM imports nothing.
CREATE EXTENSION IF NOT EXISTS family;
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship, family.gedcom_import CASCADE;
\set VERBOSITY default

-- A family, the child written first; an extension rank, a default one; a
-- marriage with its time, ended by a death; a link to a family not there.
SELECT family.import_gedcom(convert_to(E'0 HEAD\n1 SOUR Hand\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n'
    '0 @I3@ INDI\n1 NAME Ann /Lee/\n1 SEX F\n1 FAMC @F1@\n2 _FATHER_RANK 4\n2 _MOTHER_RANK 5\n'
    '0 @I1@ INDI\n1 NAME John /Lee/\n1 BIRT\n2 DATE 1840\n2 PLAC York\n'
    '0 @I2@ INDI\n1 NAME Mary /Bell/\n1 DEAT\n2 DATE 1 JAN 1900\n'
    '0 @I5@ INDI\n1 NAME Tom /Lee/\n1 FAMC @F1@\n'
    '0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 CHIL @I3@\n1 CHIL @I5@\n'
    '1 MARR\n2 DATE 12 MAR 1870\n3 TIME 14:30Z\n'
    '0 @I4@ INDI\n1 NAME Zo\u00eb\n1 FAMC @F9@\n0 TRLR\n', 'UTF8'), 2) AS first \gset
SELECT version, charset, source, persons, relationships, parent_links, issues, individuals, links
  FROM family.gedcom_import WHERE id = :first;
SELECT x.xref, p.first_name, p.last_name, p.sex, p.birth_date, p.birth_place, p.death_date,
       fx.xref AS father, p.father_rank, mx.xref AS mother, p.mother_rank, p.generation,
       p.ancestor_relationship_rank
  FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
  LEFT JOIN family.gedcom_xref AS fx ON fx.person_id = p.father_id
  LEFT JOIN family.gedcom_xref AS mx ON mx.person_id = p.mother_id
 WHERE x.import_id = :first ORDER BY x.xref;
SELECT a.xref AS a, b.xref AS b, r.started_at AT TIME ZONE 'UTC' AS started,
       r.ended_at AT TIME ZONE 'UTC' AS ended
  FROM family.relationship AS r
  JOIN family.gedcom_xref AS a ON a.person_id = r.person_a
  JOIN family.gedcom_xref AS b ON b.person_id = r.person_b;
SELECT line, xref, severity, message FROM family.gedcom_issue WHERE import_id = :first;

-- Everything a rule would refuse, skipped and listed with its line; the
-- rest imported. Loops are broken, not raised (no FA001).
SELECT family.import_gedcom(convert_to(E'0 HEAD\n1 GEDC\n2 VERS 7.0\n'
    '0 @A@ INDI\n1 FAMC @FB@\n'
    '0 @B@ INDI\n1 FAMC @FA@\n'
    '0 @A@ INDI\n'
    '0 @C@ INDI\n1 NAME Bad\n2 CONT name\n1 SEX Q\n1 BIRT\n2 DATE 31 FEB 1850\n'
    '1 FAMC @FA@\n2 _FATHER_RANK 9\n'
    '1 FAMC @FB@\n'
    '0 @FA@ FAM\n1 HUSB @A@\n1 CHIL @A@\n'
    '0 @FB@ FAM\n1 WIFE @B@\n1 CHIL @Z@\n'
    '0 TRLR\n', 'UTF8')) AS second \gset
SELECT persons, relationships, parent_links, issues, individuals, links,
       individuals - persons AS skipped_persons, links - parent_links AS skipped_links
  FROM family.gedcom_import WHERE id = :second;
SELECT line, xref, severity, message FROM family.gedcom_issue WHERE import_id = :second ORDER BY line;
SELECT x.xref, p.first_name, p.sex, p.birth_date, fx.xref AS father, mx.xref AS mother, p.generation
  FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
  LEFT JOIN family.gedcom_xref AS fx ON fx.person_id = p.father_id AND fx.import_id = :second
  LEFT JOIN family.gedcom_xref AS mx ON mx.person_id = p.mother_id AND mx.import_id = :second
 WHERE x.import_id = :second ORDER BY x.xref;

-- Charsets: UTF-16 (little-endian, with its BOM) and ANSEL, whose marks come
-- before their letter.
SELECT family.import_gedcom(decode('fffe3000200048004500410044000a00310020004300480041005200'
    '200055004e00490043004f00440045000a00300020004000550031004000200049004e00440049000a003100'
    '20004e0041004d00450020005a006f00eb0020002f004c016e006f002f000a0030002000540052004c005200'
    '0a00', 'hex')) AS utf16 \gset
SELECT family.import_gedcom(decode('3020484541440a31204348415220414e53454c0a3020404e314020494e'
    '44490a31204e414d452052656ee265202f4de8756c6c65722f0a302054524c520a', 'hex')) AS ansel \gset
SELECT i.charset, p.first_name, p.last_name, length(p.first_name) AS letters,
       p.first_name = normalize(p.first_name, NFC) AS composed
  FROM family.gedcom_import AS i JOIN family.gedcom_xref AS x ON x.import_id = i.id
  JOIN family.person AS p ON p.id = x.person_id
 WHERE i.id IN (:utf16, :ansel) ORDER BY i.id;

-- In a database of another encoding, text is converted; what it cannot hold
-- is left out, with a warning.
CREATE DATABASE family_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c family_latin1
SET client_min_messages = warning;
CREATE EXTENSION family;
-- UTF-8 bytes of "Zoë /Müller/", then of "Ōno" (no LATIN1 letter).
SELECT family.import_gedcom(decode('3020484541440a30204049314020494e44490a31204e414d45205a6fc3ab202f4dc3bc6c6c65722f0a302054524c520a', 'hex')) AS latin1 \gset
-- The names in LATIN1's bytes (ë is EB, ü is FC).
SELECT convert_to(first_name, 'LATIN1') AS first_name, convert_to(last_name, 'LATIN1') AS last_name
  FROM family.person;
SELECT family.import_gedcom(decode('3020484541440a30204049314020494e44490a31204e414d4520c58c6e6f0a302054524c520a', 'hex')) AS ono \gset
SELECT count(*) AS imports FROM family.gedcom_import;
-- "Ōno" cannot be held: left out of an imported person, with a warning
-- (which writes what it quotes as \u escapes).
SELECT persons, issues FROM family.gedcom_import WHERE id = :ono;
SELECT line, xref, severity, message FROM family.gedcom_issue WHERE import_id = :ono;
SELECT p.first_name = '' AS no_name FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
 WHERE x.import_id = :ono;
\c contrib_regression
DROP DATABASE family_latin1;
SET client_min_messages = warning;

-- Not GEDCOM: nothing imported, 22P02 naming the line.
SELECT count(*) AS imports_before FROM family.gedcom_import \gset
\set VERBOSITY terse
SELECT family.import_gedcom(convert_to('<html><body>family</body></html>', 'UTF8'));
SELECT family.import_gedcom(convert_to(E'0 HEAD\n1 CHAR IBMPC\n0 TRLR\n', 'UTF8'));
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 @I1@ INDI\n2 NAME x\n0 TRLR\n', 'UTF8'));
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 @I1@ INDI\n1 NAME cut short\n', 'UTF8'));
SELECT family.import_gedcom(''::bytea);
SELECT family.import_gedcom(NULL);
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 TRLR\n', 'UTF8'), 0);
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 TRLR\n', 'UTF8'), NULL);
SELECT count(*) = :imports_before AS nothing_imported FROM family.gedcom_import;

-- A line of 2,000 generations, youngest first: parents are written first.
SELECT family.import_gedcom(convert_to(
    E'0 HEAD\n1 GEDC\n2 VERS 5.5.1\n'
    || string_agg(format(E'0 @L%s@ INDI\n%s0 @G%s@ FAM\n1 HUSB @L%s@\n', g,
                         CASE WHEN g < 2000 THEN format(E'1 FAMC @G%s@\n', g + 1) ELSE '' END, g, g),
                  '' ORDER BY g)
    || E'0 TRLR\n', 'UTF8')) AS line
  FROM generate_series(1, 2000) AS g \gset
SELECT persons, parent_links, issues FROM family.gedcom_import WHERE id = :line;
SELECT p.generation FROM family.gedcom_xref AS x JOIN family.person AS p ON p.id = x.person_id
 WHERE x.import_id = :line AND x.xref = 'L1';

-- A role that may delete persons (and so unlink their children) needs no
-- right on gedcom_xref.
CREATE ROLE gedcom_deleter;
GRANT USAGE ON SCHEMA family TO gedcom_deleter;
GRANT SELECT, UPDATE, DELETE ON family.person TO gedcom_deleter;
SET ROLE gedcom_deleter;
DELETE FROM family.person WHERE id = (SELECT max(id) FROM family.person);
RESET ROLE;
REVOKE ALL ON family.person FROM gedcom_deleter;
REVOKE USAGE ON SCHEMA family FROM gedcom_deleter;
DROP ROLE gedcom_deleter;

-- A deleted person takes their xref along; a TRUNCATE of the persons, all.
DELETE FROM family.person
 WHERE id = (SELECT person_id FROM family.gedcom_xref WHERE import_id = :line AND xref = 'L1');
SELECT count(*) AS l1_left FROM family.gedcom_xref WHERE import_id = :line AND xref = 'L1';
SELECT count(*) AS line_left FROM family.gedcom_xref WHERE import_id = :line;

-- The derived values are those a recomputation from scratch gives.
SELECT family.repair() AS rows_repair_changes;

-- In the caller's transaction: rolled back, nothing stays.
BEGIN;
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 @R@ INDI\n0 TRLR\n', 'UTF8')) > 0 AS imported;
ROLLBACK;
SELECT count(*) AS rolled_back FROM family.gedcom_xref WHERE xref = 'R';
BEGIN;
TRUNCATE family.person, family.relationship;
SELECT count(*) AS xrefs_after_truncate FROM family.gedcom_xref;
ROLLBACK;

-- EXECUTE is granted to nobody: a role without it is refused.
CREATE ROLE gedcom_stranger;
GRANT USAGE ON SCHEMA family TO gedcom_stranger;
SET ROLE gedcom_stranger;
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 TRLR\n', 'UTF8'));
RESET ROLE;
REVOKE USAGE ON SCHEMA family FROM gedcom_stranger;
DROP ROLE gedcom_stranger;

-- A write the import makes that fails (here a user's trigger refusing a
-- name) fails the whole import: no person, no record of it stays.
CREATE FUNCTION public.refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no Boom here';
END $$;
CREATE TRIGGER refuse_boom BEFORE INSERT ON family.person
    FOR EACH ROW WHEN (NEW.first_name = 'Boom') EXECUTE FUNCTION public.refuse_boom();
SELECT count(*) AS imports_before FROM family.gedcom_import \gset
\set VERBOSITY terse
SELECT family.import_gedcom(convert_to(E'0 HEAD\n0 @B1@ INDI\n1 NAME Ann /Quorvath/\n0 @B2@ INDI\n1 NAME Boom /Quorvath/\n0 TRLR\n', 'UTF8'));
\set VERBOSITY default
SELECT count(*) - :imports_before AS imports_added FROM family.gedcom_import;
SELECT count(*) AS quorvaths FROM family.person WHERE last_name = 'Quorvath';
DROP TRIGGER refuse_boom ON family.person;
DROP FUNCTION public.refuse_boom();
