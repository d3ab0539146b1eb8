-- family 0.8.0: family.kinship keeps every person's parents in memory
-- between calls, and knows from family.link_change when they may differ
-- from what a query sees.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- Transactions in flight that change parents (with a library older than
-- this script, which notes nothing) end before this one does.
LOCK TABLE family.person IN SHARE ROW EXCLUSIVE MODE;

-- One row per transaction that changed a person's parents (or generation),
-- deleted persons or truncated the table, written by the extension before
-- that transaction commits. A backend's copy of the parents, taken on
-- snapshot S, holds for a query's snapshot Q when every row here that Q sees
-- was seen by S too (src/kinship_function.cpp). Inserting a person needs no
-- row: nobody's parents change. Its xids mean nothing on another server: do
-- not replicate it logically (REPLICA IDENTITY FULL only lets its deletes
-- run in a database whose publication takes all tables).
CREATE TABLE family.link_change (xact xid8 NOT NULL);
CREATE INDEX link_change_xact ON family.link_change (xact);
ALTER TABLE family.link_change REPLICA IDENTITY FULL;
REVOKE ALL ON family.link_change FROM PUBLIC;
-- This transaction, as a change: a snapshot taken before it ends may miss a
-- change made under the older library (which notes nothing), and a copy
-- read on it must look stale.
INSERT INTO family.link_change VALUES (pg_current_xact_id());

-- Notes the current transaction. At READ COMMITTED (and READ UNCOMMITTED,
-- which PostgreSQL runs as READ COMMITTED) it also deletes the rows
-- every snapshot taken from now on sees alike (below the current snapshot's
-- xmin), skipping rows another transaction is deleting: writers never wait
-- for each other here. A copy read before such a row's transaction ended
-- still sees this one's row, which it did not see: stale, as it should be.
-- (At REPEATABLE READ and SERIALIZABLE a row deleted since the snapshot
-- would be a serialization failure: those only insert.) The extension runs
-- it as this table's owner; nobody else needs to.
CREATE FUNCTION family.note_link_change() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH old AS (SELECT ctid FROM family.link_change
                  WHERE xact < pg_snapshot_xmin(pg_current_snapshot())
                    AND current_setting('transaction_isolation') IN ('read committed',
                                                                     'read uncommitted')
                    FOR UPDATE SKIP LOCKED)
    DELETE FROM family.link_change AS c USING old WHERE c.ctid = old.ctid;
    INSERT INTO family.link_change (xact) VALUES (pg_current_xact_id());
$$;
REVOKE EXECUTE ON FUNCTION family.note_link_change() FROM PUBLIC;

-- TRUNCATE fires no row trigger. SECURITY DEFINER: a role allowed to
-- truncate persons needs no right on link_change.
CREATE FUNCTION family.note_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM family.note_link_change();
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION family.note_truncate() FROM PUBLIC;
CREATE TRIGGER note_truncate AFTER TRUNCATE ON family.person
    FOR EACH STATEMENT EXECUTE FUNCTION family.note_truncate();
