-- The genealogy columns (0.5.0): sex, GEDCOM dates checked with 22007,
-- places as printable text; update_person and delete_person.
\set VERBOSITY default
SET client_min_messages = warning;
TRUNCATE family.person, family.relationship RESTART IDENTITY;
SELECT family.add_person('Zoë', 'King') AS zoe \gset
UPDATE family.person SET sex = 'F', birth_date = '12 MAR 1850', birth_place = 'Bergen, Norway',
       death_date = 'ABT 1920', death_place = 'Oslo' WHERE id = :zoe;
SELECT sex, birth_date, birth_place, death_date, death_place FROM family.person WHERE id = :zoe;
-- Every form of the grammar is stored as written.
INSERT INTO family.person (first_name, birth_date)
SELECT 'D', d FROM unnest(ARRAY['1850', 'MAR 1850', 'BET 1800 AND 1810', 'FROM 1900 TO 1910',
                                'TO 1910', 'BEF 1850', 'AFT 1850', 'CAL 1850', 'EST 1850',
                                'INT 1850 (about then)', '(during the war)',
                                '@#DJULIAN@ 29 FEB 1700', 'JULIAN 1 MAR 44 BCE',
                                '@#DHEBREW@ 1 TSH 5600', '@#DFRENCH R@ 6 COMP 11',
                                '29 FEB 2000', '1699/00', 'abt 1850']) AS d;
SELECT count(*) FROM family.person WHERE first_name = 'D';
-- What is not a GEDCOM date: 22007, naming the column and why.
\set VERBOSITY verbose
UPDATE family.person SET birth_date = '31 FEB 1850' WHERE id = :zoe;
UPDATE family.person SET death_date = '1850-03-12' WHERE id = :zoe;
INSERT INTO family.person (first_name, birth_date) VALUES ('X', 'yesterday');
INSERT INTO family.person (first_name, death_date) VALUES ('X', '29 FEB 1900');
INSERT INTO family.person (first_name, birth_date) VALUES ('X', 'BET 1800');
INSERT INTO family.person (first_name, birth_date) VALUES ('X', '');
-- Sex is M, F or X; places are printable text of at most 200 characters
-- (23514; terse: the failing row's timestamps would differ in each run).
\set VERBOSITY terse
UPDATE family.person SET sex = 'f' WHERE id = :zoe;
UPDATE family.person SET sex = 'Male' WHERE id = :zoe;
UPDATE family.person SET birth_place = E'Oslo\u202E' WHERE id = :zoe;
UPDATE family.person SET death_place = repeat('x', 201) WHERE id = :zoe;
UPDATE family.person SET death_place = repeat('å', 200) WHERE id = :zoe;
\set VERBOSITY default
SELECT char_length(death_place) FROM family.person WHERE id = :zoe;
-- The rule, for clients that want to check first.
SELECT d, family.is_gedcom_date(d), family.gedcom_date_error(d)
  FROM unnest(ARRAY['12 MAR 1850', '31 FEB 1850', '12 1850', 'ABT', NULL]) AS d;
-- update_person: each key given sets its column; null clears; the rest stay.
SELECT family.add_person('Ann', 'Byron') AS ann, family.add_person('Bob', 'King') AS bob \gset
SELECT family.start_relationship(:ann, :bob);
SELECT family.update_person(:zoe, jsonb_build_object('first_name', 'Zoe', 'death_date', NULL,
                            'mother_id', :ann, 'mother_rank', 4));
SELECT first_name, last_name, sex, death_date, death_place IS NULL AS no_place, mother_id = :ann,
       mother_rank, generation FROM family.person WHERE id = :zoe;
SELECT family.update_person(:zoe, jsonb_build_object('father_id', :bob, 'father_rank', 2));
SELECT generation, ancestor_relationship_rank FROM family.person WHERE id = :zoe;
SELECT family.update_person(:zoe, '{}');
-- With only_child_of, only that parent's child changes: Zoë is Ann's child,
-- not her own.
SELECT family.update_person(:zoe, '{"last_name": "Byron"}', :ann),
       family.update_person(:zoe, '{"first_name": "Nope"}', :zoe);
SELECT first_name, last_name FROM family.person WHERE id = :zoe;
SELECT family.update_person(-1, '{"first_name": "Nobody"}');
-- Every rule applies through it; what it is given must be its columns
-- (terse: no CONTEXT).
\set VERBOSITY terse
SELECT family.update_person(:zoe, '{"birth_date": "someday"}');
SELECT family.update_person(:zoe, '{"father_rank": 9}');
SELECT family.update_person(:zoe, '{"generation": 9}');
SELECT family.update_person(:zoe, '{"nickname": "Z", "age": 3}');
SELECT family.update_person(:zoe, '[1]');
SELECT family.update_person(NULL, '{}');
SELECT family.update_person(:zoe, jsonb_build_object('father_id', :zoe));
SELECT family.update_person(:zoe, '{"father_id": "abc"}');
\set VERBOSITY default
-- delete_person: the children lose that parent.
SELECT family.delete_person(:bob), family.delete_person(:bob);
SELECT father_id, father_rank, generation FROM family.person WHERE id = :zoe;
-- Nobody may call them unless granted (they run as the extension's owner).
SELECT p.proname, p.prosecdef, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname = 'family' AND p.proname IN ('update_person', 'delete_person') ORDER BY 1;
