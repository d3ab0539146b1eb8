-- The SQL API's functions and their argument errors.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A family in which one grandparent is reached through two lines.
SELECT family.add_person('gf', '') AS gf, family.add_person('gm', '') AS gm \gset
SELECT family.start_relationship(:gf, :gm) IS NOT NULL;
SELECT family.add_child(:gf, :gm, 3, 3, 'a') AS a, family.add_child(:gf, :gm, 3, 3, 'b') AS b \gset
SELECT family.add_person('x', '') AS x, family.add_person('y', '') AS y \gset
SELECT family.start_relationship(:a, :x) IS NOT NULL, family.start_relationship(:b, :y) IS NOT NULL;
SELECT family.add_child(:a, :x, 4, 4, 'c') AS c, family.add_child(:b, :y, 4, 4, 'd') AS d \gset
SELECT family.start_relationship(:c, :d) IS NOT NULL;
SELECT family.add_child(:c, :d, 2, 2, 'e') AS e \gset

-- Each relative once, at its smallest depth.
SELECT person_id, depth FROM family.ancestors(:e) ORDER BY depth, person_id;
SELECT person_id, depth FROM family.ancestors(:e, 2) ORDER BY depth, person_id;
SELECT count(*) FROM family.ancestors(:e, 0);
SELECT person_id, depth FROM family.descendants(:gf) ORDER BY depth, person_id;
SELECT person_id, depth FROM family.descendants(:gf, 1) ORDER BY depth, person_id;
SELECT count(*) FROM family.descendants(:e);
SELECT pg_temp.fails('SELECT * FROM family.ancestors(999999)');
SELECT pg_temp.fails('SELECT * FROM family.descendants(999999)');
SELECT pg_temp.fails(format('SELECT * FROM family.ancestors(%s, -1)', :e));
SELECT pg_temp.fails('SELECT * FROM family.ancestors(NULL)');
SELECT pg_temp.fails('SELECT * FROM family.descendants(NULL, 3)');

-- compute_ancestor_rank.
SELECT family.compute_ancestor_rank(:e) = ancestor_relationship_rank AS same FROM family.person WHERE id = :e;
SELECT family.compute_ancestor_rank(:gf) IS NULL AS no_parents;
SELECT family.compute_ancestor_rank(NULL) IS NULL AS null_in_null_out;
SELECT pg_temp.fails('SELECT family.compute_ancestor_rank(999999)');

-- add_child's own checks.
SELECT pg_temp.fails(format('SELECT family.add_child(%s, NULL, 3, 3)', :c));
SELECT pg_temp.fails(format('SELECT family.add_child(%s, %s, 3, 9)', :c, :d));
SELECT pg_temp.fails(format('SELECT family.add_child(%s, %s, NULL, 3)', :c, :d));
SELECT pg_temp.fails(format('SELECT family.add_child(%s, %s, 3, 3)', :c, :x));
SELECT pg_temp.fails(format('SELECT family.add_child(%s, 999999, 3, 3)', :c));
SELECT pg_temp.fails(format('SELECT family.add_child(%s, %s, 3, 3)', :c, :c));
SELECT pg_temp.fails('SELECT family.add_person(NULL, NULL)');

-- repair fixes derived values changed behind the triggers' back.
SET session_replication_role = replica;
UPDATE family.person SET generation = 42, ancestor_relationship_rank = 1 WHERE id = :e;
UPDATE family.person SET link_counts = '{7}' WHERE id = :c;
RESET session_replication_role;
SELECT family.repair() AS repaired;
SELECT family.repair() AS repaired_again;
SELECT generation, ancestor_relationship_rank = family.compute_ancestor_rank(:e) AS consistent
  FROM family.person WHERE id = :e;
-- ... and refuses to run on a cycle, naming its persons.
SET session_replication_role = replica;
UPDATE family.person SET father_id = :e, father_rank = 1 WHERE id = :gf;
RESET session_replication_role;
SELECT pg_temp.fails('SELECT family.repair()');
-- A write above such a cycle reports it as it is.
SELECT family.add_person('z', '') AS z \gset
SELECT pg_temp.fails(format('UPDATE family.person SET father_id = %s, father_rank = 2 WHERE id = %s', :z, :gm));
SET session_replication_role = replica;
UPDATE family.person SET father_id = NULL, father_rank = NULL WHERE id = :gf;
RESET session_replication_role;
SELECT family.repair() AS repaired;

-- Not for PUBLIC.
SELECT has_function_privilege('public', 'family.repair()', 'execute') AS public_repair,
       has_schema_privilege('public', 'family', 'usage') AS public_schema;

-- The walks read family.person through its indexes, yet only for those who
-- may read it: EXECUTE without SELECT is refused, as a query would be; and
-- row-level security, which they would not apply, is refused too.
BEGIN;
CREATE ROLE family_walker_test;
GRANT USAGE ON SCHEMA family TO family_walker_test;
GRANT EXECUTE ON FUNCTION family.descendants(bigint, integer), family.ancestors(bigint, integer),
    family.compute_ancestor_rank(bigint) TO family_walker_test;
SET LOCAL ROLE family_walker_test;
SELECT pg_temp.fails(format('SELECT * FROM family.descendants(%s)', :a));
SELECT pg_temp.fails(format('SELECT * FROM family.ancestors(%s)', :e));
SELECT pg_temp.fails(format('SELECT family.compute_ancestor_rank(%s)', :e));
RESET ROLE;
GRANT SELECT ON family.person TO family_walker_test;
ALTER TABLE family.person ENABLE ROW LEVEL SECURITY;
SET LOCAL ROLE family_walker_test;
SELECT pg_temp.fails(format('SELECT * FROM family.descendants(%s)', :a));
RESET ROLE;
-- The derived values of descendants are written without a query, which no
-- policy would filter: under row-level security a change that must write
-- them is refused too.
GRANT UPDATE ON family.person TO family_walker_test;
CREATE POLICY everyone ON family.person USING (true);
SET LOCAL ROLE family_walker_test;
SELECT pg_temp.fails(format('UPDATE family.person SET father_rank = 2 WHERE id = %s', :a));
RESET ROLE;
ALTER TABLE family.person DISABLE ROW LEVEL SECURITY;
SET LOCAL ROLE family_walker_test;
SELECT count(*) > 0 AS walks_with_select FROM family.descendants(:a);
ROLLBACK;
