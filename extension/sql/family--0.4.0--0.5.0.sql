-- family 0.5.0: the genealogy columns, GEDCOM dates checked, and the SQL API
-- a service uses to change and delete persons without table privileges.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- NULL for a GEDCOM date (5.5 to 7.0: 12 MAR 1850, ABT 1850, BET 1800 AND
-- 1810, FROM 1900 TO 1910, @#DJULIAN@ 1 MAR 1700, (a phrase), ...), else why
-- it is not one.
CREATE FUNCTION family.gedcom_date_error(date text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'family_gedcom_date_error';
CREATE FUNCTION family.is_gedcom_date(date text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN family.gedcom_date_error(date) IS NULL;
-- true for a GEDCOM date, else 22007 naming the column: the CHECK
-- constraints below fail with the date's own SQLSTATE, not 23514.
CREATE FUNCTION family.gedcom_date_check(date text, column_name text) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'family_gedcom_date_check';

ALTER TABLE family.person
    ADD COLUMN sex text CONSTRAINT person_sex CHECK (sex IN ('M', 'F', 'X')),
    ADD COLUMN birth_date text
        CONSTRAINT person_birth_date CHECK (family.gedcom_date_check(birth_date, 'birth_date')),
    ADD COLUMN birth_place text
        CONSTRAINT person_birth_place_printable CHECK (family.printable(birth_place))
        CONSTRAINT person_birth_place_length CHECK (char_length(birth_place) <= 200),
    ADD COLUMN death_date text
        CONSTRAINT person_death_date CHECK (family.gedcom_date_check(death_date, 'death_date')),
    ADD COLUMN death_place text
        CONSTRAINT person_death_place_printable CHECK (family.printable(death_place))
        CONSTRAINT person_death_place_length CHECK (char_length(death_place) <= 200);
COMMENT ON COLUMN family.person.sex IS 'M, F or X (GEDCOM''s SEX), or NULL when unknown';
COMMENT ON COLUMN family.person.birth_date IS 'a GEDCOM date as written (22007 otherwise)';
COMMENT ON COLUMN family.person.death_date IS
    'a GEDCOM date as written (22007 otherwise); a person without one may be living';

-- Changes a person: each key of `changes` sets that column (null clears
-- it), the others stay. Keys: first_name, last_name, sex, birth_date,
-- birth_place, death_date, death_place, father_id, mother_id, father_rank,
-- mother_rank. With only_child_of, only a child of that parent changes (the
-- test is made on the row as it is when written, after any concurrent
-- change of its parents). false when nothing was changed: no such person
-- (or not that parent's child). Every rule of the table and its triggers
-- applies. SECURITY DEFINER: a role may change persons through this
-- function without UPDATE on family.person; EXECUTE is granted to nobody
-- (grant it to whom may change any person).
CREATE FUNCTION family.update_person(person bigint, changes jsonb, only_child_of bigint DEFAULT NULL)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    unknown text;
BEGIN
    IF person IS NULL OR changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'update_person: person must not be null, changes must be a JSON object'
            USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
      FROM jsonb_object_keys(changes) AS k
     WHERE k NOT IN ('first_name', 'last_name', 'sex', 'birth_date', 'birth_place',
                     'death_date', 'death_place', 'father_id', 'mother_id', 'father_rank',
                     'mother_rank');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'update_person: no column %', unknown USING ERRCODE = '22023',
            HINT = 'The columns are first_name, last_name, sex, birth_date, birth_place, '
                   'death_date, death_place, father_id, mother_id, father_rank, mother_rank.';
    END IF;
    UPDATE family.person AS p SET
        first_name = CASE WHEN changes ? 'first_name' THEN changes->>'first_name' ELSE p.first_name END,
        last_name = CASE WHEN changes ? 'last_name' THEN changes->>'last_name' ELSE p.last_name END,
        sex = CASE WHEN changes ? 'sex' THEN changes->>'sex' ELSE p.sex END,
        birth_date = CASE WHEN changes ? 'birth_date' THEN changes->>'birth_date' ELSE p.birth_date END,
        birth_place = CASE WHEN changes ? 'birth_place' THEN changes->>'birth_place' ELSE p.birth_place END,
        death_date = CASE WHEN changes ? 'death_date' THEN changes->>'death_date' ELSE p.death_date END,
        death_place = CASE WHEN changes ? 'death_place' THEN changes->>'death_place' ELSE p.death_place END,
        father_id = CASE WHEN changes ? 'father_id' THEN (changes->>'father_id')::bigint ELSE p.father_id END,
        mother_id = CASE WHEN changes ? 'mother_id' THEN (changes->>'mother_id')::bigint ELSE p.mother_id END,
        father_rank = CASE WHEN changes ? 'father_rank' THEN (changes->>'father_rank')::smallint
                           ELSE p.father_rank END,
        mother_rank = CASE WHEN changes ? 'mother_rank' THEN (changes->>'mother_rank')::smallint
                           ELSE p.mother_rank END
     WHERE p.id = person AND (only_child_of IS NULL OR only_child_of IN (p.father_id, p.mother_id));
    RETURN FOUND;
END $$;

-- Deletes a person (their children lose that parent; their relationships
-- go). false when there is no such person. SECURITY DEFINER, EXECUTE
-- granted to nobody, as update_person.
CREATE FUNCTION family.delete_person(person bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM family.person AS p WHERE p.id = person;
    RETURN FOUND;
END $$;
REVOKE EXECUTE ON FUNCTION family.update_person(bigint, jsonb, bigint), family.delete_person(bigint)
    FROM PUBLIC;
