-- family 0.6.0: GEDCOM import (and the record of each import), kinship.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- One row per import_gedcom: what the file was and what came of it. Every
-- INDI record is a person or skipped (individuals = persons + skipped
-- ones), every CHIL/FAMC link (a child and a family) is imported or skipped
-- (links = parent_links + skipped ones); each skip is a gedcom_issue.
CREATE TABLE family.gedcom_import (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imported_at timestamptz NOT NULL DEFAULT now(),
    version text NOT NULL,        -- HEAD.GEDC.VERS as written, '' when none
    charset text NOT NULL,        -- as read: UTF-8, UTF-16LE, UTF-16BE, ANSEL, ASCII, ANSI
    source text NOT NULL,         -- HEAD.SOUR: the program that wrote it
    persons integer NOT NULL,
    relationships integer NOT NULL,
    parent_links integer NOT NULL,
    issues integer NOT NULL,
    individuals integer NOT NULL,  -- INDI records in the file
    links integer NOT NULL         -- CHIL/FAMC links in the file
);
-- Which person each INDI became; a person deleted (or truncated) takes
-- their row along. No foreign key: checking one per person would cost an
-- import of a million persons a lock on each (a fifth of its time); the
-- triggers below keep the rows to persons that exist.
CREATE TABLE family.gedcom_xref (
    import_id bigint NOT NULL REFERENCES family.gedcom_import ON DELETE CASCADE,
    xref text COLLATE "C" NOT NULL,
    person_id bigint NOT NULL,
    PRIMARY KEY (import_id, xref)
);
CREATE INDEX gedcom_xref_person ON family.gedcom_xref (person_id);
-- SECURITY DEFINER, as a foreign key's cascade runs as the table's owner: a
-- role allowed to delete persons needs no right on gedcom_xref.
CREATE FUNCTION family.gedcom_xref_forget() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        BEGIN
            TRUNCATE family.gedcom_xref;
        EXCEPTION WHEN object_in_use THEN
            -- Truncated by the same statement (a TRUNCATE ... CASCADE
            -- from family.gedcom_import): nothing is left to take.
            DELETE FROM family.gedcom_xref;
        END;
    ELSE
        DELETE FROM family.gedcom_xref AS x USING family_gone AS g WHERE x.person_id = g.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER gedcom_xref_forget AFTER DELETE ON family.person
    REFERENCING OLD TABLE AS family_gone
    FOR EACH STATEMENT EXECUTE FUNCTION family.gedcom_xref_forget();
CREATE TRIGGER gedcom_xref_forget_all AFTER TRUNCATE ON family.person
    FOR EACH STATEMENT EXECUTE FUNCTION family.gedcom_xref_forget();
REVOKE EXECUTE ON FUNCTION family.gedcom_xref_forget() FROM PUBLIC;
-- What was skipped ('error') or imported otherwise than written ('warning').
CREATE TABLE family.gedcom_issue (
    import_id bigint NOT NULL REFERENCES family.gedcom_import ON DELETE CASCADE,
    line integer NOT NULL,
    xref text NOT NULL,  -- of the record the line is in, '' when none
    severity text NOT NULL CONSTRAINT gedcom_issue_severity CHECK (severity IN ('error', 'warning')),
    message text NOT NULL
);
CREATE INDEX gedcom_issue_import ON family.gedcom_issue (import_id, line);
SELECT pg_catalog.pg_extension_config_dump('family.gedcom_import', '');
SELECT pg_catalog.pg_extension_config_dump('family.gedcom_import_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('family.gedcom_xref', '');
SELECT pg_catalog.pg_extension_config_dump('family.gedcom_issue', '');

-- Imports a GEDCOM file (5.5 to 7.0) in the caller's transaction; returns
-- the family.gedcom_import id. A file that is not GEDCOM imports nothing:
-- 22P02 naming the line. SECURITY DEFINER, EXECUTE granted to nobody: a
-- service is granted it as it is granted the other writing functions.
CREATE FUNCTION family.import_gedcom(gedcom bytea, default_rank integer DEFAULT 3) RETURNS bigint
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'family_import_gedcom';
REVOKE EXECUTE ON FUNCTION family.import_gedcom(bytea, integer) FROM PUBLIC;

-- How b is related to a by blood: one row per nearest common ancestor (a
-- common ancestor, a person counting as their own, that is no ancestor of
-- another), with the fewest steps up from a and down to b, and the term
-- (SPEC 5a). No row for strangers. Walks up from both at once and stops at
-- the nearest common ancestors.
CREATE FUNCTION family.kinship(a bigint, b bigint)
    RETURNS TABLE (ancestor bigint, up integer, down integer, term text)
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'family_kinship';
REVOKE EXECUTE ON FUNCTION family.kinship(bigint, bigint) FROM PUBLIC;
