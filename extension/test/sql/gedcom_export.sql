-- family.export_gedcom: GEDCOM 7.0 of everyone or of a person's lines, that
-- import_gedcom reads back as it was: persons, links, ranks, relationships,
-- hence the derived values.
CREATE EXTENSION IF NOT EXISTS family;
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship, family.gedcom_import RESTART IDENTITY CASCADE;
\set VERBOSITY default
SET TimeZone = 'UTC';

-- A family with what GEDCOM makes hard: a remarriage, a couple twice, a
-- current relationship of the dead, a same-sex couple whose children have
-- each as father, single parents, a start unknown, dates in 5.5.1's
-- spellings, a name that starts with @.
SELECT family.add_person('John', 'Lee') AS john, family.add_person('Mary', 'Bell') AS mary,
       family.add_person('Ruth', 'Ames') AS ruth, family.add_person('@Kit', '') AS kit,
       family.add_person('Sam', 'Ray') AS sam, family.add_person('Eve', '') AS eve \gset
UPDATE family.person SET sex = 'M', birth_date = 'abt 1840', birth_place = 'York',
                         death_date = '3 JAN 1900' WHERE id = :john;
UPDATE family.person SET sex = 'F', birth_date = '@#DJULIAN@ 1 JAN 1845',
                         death_date = 'INT 1920 (in the war)', death_place = 'Leeds' WHERE id = :mary;
UPDATE family.person SET sex = 'X', birth_date = '12 MAR 1699/00' WHERE id = :kit;
SELECT family.start_relationship(:john, :mary, '1870-03-12 14:30:05.25+00');
SELECT family.end_relationship(:john, '1880-01-01');
SELECT family.start_relationship(:john, :ruth, '-infinity');
SELECT family.end_relationship(:john, '1885-06-01');
SELECT family.start_relationship(:mary, :john, '1890-01-01');  -- the same two again: current
SELECT family.start_relationship(:kit, :sam, '1900-01-01');
SELECT family.add_child(:john, :mary, 4, 5, 'Ann', 'Lee') AS ann,
       family.add_child(:mary, :john, 2, 3, 'Ned', 'Lee') AS ned,
       family.add_child(:kit, :sam, 1, 2, 'Pip', '') AS pip,
       family.add_child(:sam, :kit, 3, 3, 'Bo', '') AS bo \gset
INSERT INTO family.person (first_name, father_id, father_rank) VALUES ('Only', :john, 5);
INSERT INTO family.person (first_name, mother_id, mother_rank) VALUES ('Solo', :eve, 1);

SELECT family.export_gedcom() AS everyone \gset
\echo :everyone

-- Imported back: the same persons, links, ranks, relationships and derived
-- values (each person found through the xref it was exported with).
SELECT family.import_gedcom(convert_to(:'everyone', 'UTF8')) AS back \gset
SELECT persons, relationships, parent_links, issues FROM family.gedcom_import WHERE id = :back;
CREATE TEMP VIEW facts AS
SELECT coalesce(x.xref, 'I' || p.id) AS who, x.import_id, p.first_name, p.last_name, p.sex,
       p.birth_date, p.birth_place, p.death_date, p.death_place,
       coalesce(fx.xref, 'I' || p.father_id) AS father, p.father_rank,
       coalesce(mx.xref, 'I' || p.mother_id) AS mother, p.mother_rank,
       p.generation, p.ancestor_relationship_rank
  FROM family.person AS p
  LEFT JOIN family.gedcom_xref AS x ON x.person_id = p.id
  LEFT JOIN family.gedcom_xref AS fx ON fx.person_id = p.father_id
  LEFT JOIN family.gedcom_xref AS mx ON mx.person_id = p.mother_id;
CREATE TEMP VIEW couples AS
SELECT least(coalesce(a.xref, 'I' || r.person_a), coalesce(b.xref, 'I' || r.person_b)) AS one,
       greatest(coalesce(a.xref, 'I' || r.person_a), coalesce(b.xref, 'I' || r.person_b)) AS other,
       a.import_id, r.started_at, r.ended_at
  FROM family.relationship AS r
  LEFT JOIN family.gedcom_xref AS a ON a.person_id = r.person_a
  LEFT JOIN family.gedcom_xref AS b ON b.person_id = r.person_b;
SELECT count(*) AS persons_before FROM facts WHERE import_id IS NULL;
(SELECT 'lost' AS what, who, first_name FROM facts WHERE import_id IS NULL
 EXCEPT SELECT 'lost', who, first_name FROM facts WHERE import_id = :back)
UNION ALL
(SELECT 'differs', f.who, f.first_name
   FROM (SELECT * FROM facts WHERE import_id IS NULL) AS f
   JOIN (SELECT * FROM facts WHERE import_id = :back) AS g USING (who)
  WHERE (f.first_name, f.last_name, f.sex, f.birth_date, f.birth_place, f.death_date,
         f.death_place, f.father, f.father_rank, f.mother, f.mother_rank, f.generation,
         f.ancestor_relationship_rank)
        IS DISTINCT FROM
        (g.first_name, g.last_name, g.sex, g.birth_date, g.birth_place, g.death_date,
         g.death_place, g.father, g.father_rank, g.mother, g.mother_rank, g.generation,
         g.ancestor_relationship_rank));
SELECT count(*) AS relationships_before FROM couples WHERE import_id IS NULL;
(SELECT one, other, started_at, ended_at FROM couples WHERE import_id IS NULL
 EXCEPT SELECT one, other, started_at, ended_at FROM couples WHERE import_id = :back)
UNION ALL
(SELECT one, other, started_at, ended_at FROM couples WHERE import_id = :back
 EXCEPT SELECT one, other, started_at, ended_at FROM couples WHERE import_id IS NULL);
DELETE FROM family.person WHERE id IN (SELECT person_id FROM family.gedcom_xref WHERE import_id = :back);

-- Ann's line one generation up and down, with the partners: her parents
-- and their partners (Ruth), not her half-sibling Only.
SELECT family.export_gedcom(:ann, 1);
-- Kit with their partner, Kit's sex and birth withheld (the REST API's
-- privacy of the living).
SELECT family.export_gedcom(:kit, 0, ARRAY[:kit]);
-- An end at infinity: GEDCOM has no such date, a divorce without one.
SELECT family.start_relationship(:eve, :ruth, '1950-01-01');
SELECT family.end_relationship(:eve, 'infinity');
SELECT family.export_gedcom(:eve, 0);

-- Bad arguments.
SELECT family.export_gedcom(0);
SELECT family.export_gedcom(NULL, 2);
SELECT family.export_gedcom(:ann, -1);

-- EXECUTE is granted to nobody; with it, the caller still needs to read
-- the tables, as a query would.
CREATE ROLE gedcom_reader;
GRANT USAGE ON SCHEMA family TO gedcom_reader;
SET ROLE gedcom_reader;
SELECT family.export_gedcom();
RESET ROLE;
GRANT EXECUTE ON FUNCTION family.export_gedcom(bigint, integer, bigint[]) TO gedcom_reader;
SET ROLE gedcom_reader;
SELECT family.export_gedcom();
RESET ROLE;
REVOKE ALL ON FUNCTION family.export_gedcom(bigint, integer, bigint[]) FROM gedcom_reader;
REVOKE USAGE ON SCHEMA family FROM gedcom_reader;
DROP ROLE gedcom_reader;
