-- family 0.4.0: ids are the database's; names hold printable text only.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- A client cannot choose ids (it could take the ones the sequence hands out
-- next, and every later insert would fail): INSERT without OVERRIDING
-- SYSTEM VALUE refuses an id (428C9). COPY still takes the ids it is given,
-- so pg_dump's restores and bulk loads keep working.
ALTER TABLE family.person ALTER COLUMN id SET GENERATED ALWAYS;
ALTER TABLE family.relationship ALTER COLUMN id SET GENERATED ALWAYS;

-- Names are text to show: no control character (C0, DEL, C1), no line or
-- paragraph separator, no bidirectional embedding, override or isolate
-- (which reorder the text around them on screen). 23514, naming the
-- constraint and, in DETAIL, the row. NOT VALID: rows already stored are
-- not rechecked by the upgrade (every write of them is).
CREATE FUNCTION family.printable(text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN $1 !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]';
COMMENT ON FUNCTION family.printable(text) IS
    'true unless the text holds a control character (C0, DEL, C1), U+2028/U+2029 or a bidi embedding, override or isolate';
ALTER TABLE family.person
    ADD CONSTRAINT person_first_name_printable CHECK (family.printable(first_name)) NOT VALID,
    ADD CONSTRAINT person_last_name_printable CHECK (family.printable(last_name)) NOT VALID,
    -- At most 200 characters each, as the REST service allows.
    ADD CONSTRAINT person_first_name_length CHECK (char_length(first_name) <= 200) NOT VALID,
    ADD CONSTRAINT person_last_name_length CHECK (char_length(last_name) <= 200) NOT VALID;

-- The consistency check checks relationships too (in its workers, by slices
-- of relationship ids): a finding may be about a relationship.
ALTER TABLE family.check_finding ADD COLUMN relationship_id bigint,
    DROP CONSTRAINT check_finding_pkey;
CREATE UNIQUE INDEX check_finding_key
    ON family.check_finding (run_id, person_id, kind, coalesce(relationship_id, 0));
ALTER TABLE family.check_run ADD COLUMN relationships_checked bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN family.check_finding.relationship_id IS
    'the relationship a relationship_person or current_relationships finding is about';
