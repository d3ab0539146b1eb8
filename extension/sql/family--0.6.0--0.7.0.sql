-- family 0.7.0: GEDCOM export.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- GEDCOM 7.0 of everyone, or of `person`'s ancestors and descendants
-- within `depth` generations (all of them when null) with their partners,
-- as the caller sees the tables. The sex, birth date and birth place of the
-- persons in `withhold` are left out (the REST API's privacy of the
-- living). Ranks, current relationships and children whose father and
-- mother are the other way round than their parents' family are written in
-- extension tags that HEAD.SCHMA documents; import_gedcom reads them back.
CREATE FUNCTION family.export_gedcom(person bigint DEFAULT NULL, depth integer DEFAULT NULL,
                                     withhold bigint[] DEFAULT NULL)
    RETURNS text LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'family_export_gedcom';
REVOKE EXECUTE ON FUNCTION family.export_gedcom(bigint, integer, bigint[]) FROM PUBLIC;
